/*
 * utf8.c: where a UTF-8 character ends.
 */
#include "utf8.h"

size_t
utf8_length(const unsigned char *p, size_t left)
{
	unsigned long cp;
	size_t n, i;

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
