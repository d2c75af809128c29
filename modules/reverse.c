/*
 * reverse.c: each message backwards, a module of echod.  It works on
 * characters, not bytes: a valid UTF-8 sequence keeps its bytes in
 * order, so "héllo" comes back as "olléh", still valid UTF-8.  Bytes
 * that are not part of a valid sequence count as one character each.
 *
 * It needs whole messages: UDP datagrams, or framing = "line" on TCP.
 */
#include <stddef.h>

#include <echod/transform.h>

#include "utf8.h" /* echod's own, compiled into this module */

/* Reverse buf[0..len-1]. */
static void
reverse_bytes(unsigned char *buf, size_t len)
{
	unsigned char t;
	size_t i, j;

	for (i = 0, j = len; i + 1 < j; i++, j--) {
		t = buf[i];
		buf[i] = buf[j - 1];
		buf[j - 1] = t;
	}
}

/* Reverse each character's bytes, then the whole: characters reversed. */
static void
reverse_apply(void *state, unsigned char *buf, size_t len)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < len; i += n)
		if ((n = utf8_length(buf + i, len - i)) > 1)
			reverse_bytes(buf + i, n);
	reverse_bytes(buf, len);
}

static const struct echod_transform reverse = {
	.name = "reverse",
	.description = "each message's characters in reverse order",
	.kind = ECHOD_TRANSFORM_MESSAGE,
	.apply = reverse_apply,
};

ECHOD_MODULE(&reverse);
