/*
 * transform_rot13.c: rotate ASCII letters by 13 places, the lab's
 * extra-credit server.  Its own inverse; every other byte is unchanged.
 */
#include "ascii_swar.h"
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
	uint64_t x, letters, second;
	size_t i;

	(void)state;
	for (i = 0; i + 8 <= len; i += 8) {
		x = swar_load(buf + i);
		letters = swar_letters(x, 1);
		/* n..z and N..Z go back 13 places, the other letters on. */
		second = letters & swar_ge((x | 0x20 * SWAR_ONES) & ~SWAR_HIGH,
		    'n');
		/* No byte carries into the next: each stays a letter. */
		x += ((letters & ~second) >> 7) * 13;
		x -= (second >> 7) * 13;
		swar_store(buf + i, x);
	}
	for (; i < len; i++) {
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
