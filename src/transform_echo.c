/*
 * transform_echo.c: the identity, RFC 862's echo.  Without apply() there
 * is nothing to run: a chain drops it, and echo costs no pass over the
 * bytes.
 */
#include "transform.h"

const struct echod_transform transform_echo = {
	.name = "echo",
	.description = "every byte back unchanged (RFC 862)",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
};
