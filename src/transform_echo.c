/*
 * transform_echo.c: the identity, RFC 862's echo.
 */
#include "transform.h"

/* Nothing to do: the bytes go back as they came. */
static void
echo_apply(unsigned char *buf, size_t len)
{
	(void)buf;
	(void)len;
}

const struct echod_transform transform_echo = {
	.name = "echo",
	.description = "every byte back unchanged (RFC 862)",
	.apply = echo_apply,
};
