/*
 * swapcase.c: an echod transform module written outside echod's tree,
 * as a student would.  ASCII letters change case; nothing else does.
 *
 * Build:  make            (see Makefile: one command, via pkg-config)
 * Use:    modules = ( "/path/to/swapcase.so" );  in echod.conf, then
 *         transform = "swapcase"; on a listener.
 */
#include <echod/transform.h>

static void
swapcase_apply(void *state, unsigned char *buf, size_t len)
{
	size_t i;

	(void)state;
	for (i = 0; i < len; i++)
		if ((buf[i] | 0x20) >= 'a' && (buf[i] | 0x20) <= 'z')
			buf[i] ^= 0x20;
}

static const struct echod_transform swapcase = {
	.name = "swapcase",
	.description = "ASCII letters change case",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
	.apply = swapcase_apply,
};

ECHOD_MODULE(&swapcase);
