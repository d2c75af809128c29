/*
 * transform_rot13.c: rotate ASCII letters by 13 places, the lab's
 * extra-credit server.  Its own inverse; every other byte is unchanged.
 */
#include "transform.h"

/* Rotate c by 13 within the 26 letters that start at base. */
static unsigned char
rot13_letter(unsigned char c, unsigned char base)
{
	return base + (c - base + 13) % 26;
}

static void
rot13_apply(void *state, unsigned char *buf, size_t len)
{
	size_t i;

	(void)state;
	for (i = 0; i < len; i++) {
		if ((unsigned char)(buf[i] - 'a') < 26)
			buf[i] = rot13_letter(buf[i], 'a');
		else if ((unsigned char)(buf[i] - 'A') < 26)
			buf[i] = rot13_letter(buf[i], 'A');
	}
}

const struct echod_transform transform_rot13 = {
	.name = "rot13",
	.description = "ASCII letters rotated by 13 places",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
	.apply = rot13_apply,
};
