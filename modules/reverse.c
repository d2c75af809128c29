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

/*
 * The length of the valid UTF-8 sequence at p (at most left bytes), or
 * 1 for a byte that does not start one.  Overlong forms, surrogates and
 * values past U+10FFFF are not valid.
 */
static size_t
utf8_length(const unsigned char *p, size_t left)
{
	size_t n, i;
	unsigned long cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 1; /* ASCII, a continuation byte, or never valid */
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n > left)
		return 1;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 1;
	return n;
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
