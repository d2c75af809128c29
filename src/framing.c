/*
 * framing.c: finding lines (see framing.h).
 */
#include <string.h>

#include "framing.h"

enum framing_result
framing_lines(unsigned char *p, size_t n, size_t from, size_t max_line,
    framing_line_cb line, void *arg, size_t *end)
{
	unsigned char *nl;
	size_t start = 0, len;
	bool stop;

	*end = 0;
	while (from < n && (nl = memchr(p + from, '\n', n - from)) != NULL) {
		len = nl - (p + start);
		if (len > 0 && p[start + len - 1] == '\r')
			len--; /* "\r\n": the terminator, not the message */
		if (len > max_line)
			return FRAMING_TOO_LONG;
		stop = !line(arg, p + start, len);
		start = from = *end = nl + 1 - p;
		if (stop)
			return FRAMING_STOPPED;
	}
	/* One more byte may be the '\r' of "\r\n". */
	return n - start > max_line + 1 ? FRAMING_TOO_LONG : FRAMING_MORE;
}
