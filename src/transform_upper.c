/*
 * transform_upper.c: ASCII a-z to A-Z, as the lab's servers answer.
 * Only those 26 bytes change, so UTF-8 and binary data pass through; no
 * locale is consulted.
 */
#include "ascii_swar.h"
#include "transform.h"

static void
upper_apply(void *state, unsigned char *buf, size_t len)
{
	size_t i;
	uint64_t x;

	(void)state;
	for (i = 0; i + 8 <= len; i += 8) {
		x = swar_load(buf + i);
		/* 'a'..'z' have bit 5 set; clearing it gives 'A'..'Z'. */
		swar_store(buf + i, x ^ swar_letters(x, 0) >> 2);
	}
	for (; i < len; i++)
		if ((unsigned char)(buf[i] - 'a') < 26)
			buf[i] -= 'a' - 'A';
}

const struct echod_transform transform_upper = {
	.name = "upper",
	.description = "ASCII letters a-z to upper case",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
	.apply = upper_apply,
};
