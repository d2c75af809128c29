/*
 * framing.c: finding lines, and holding the unfinished one between
 * reads (see framing.h).  The worker's read buffer is answered in place;
 * only a line still waiting for its end is copied, and a line that
 * arrives in many small reads is searched for '\n' once, not once a read.
 */
#include <stdlib.h>
#include <string.h>

#include "framing.h"

int
framing_buf_add(struct framing_buf *b, const unsigned char *p, size_t n)
{
	unsigned char *d;
	size_t cap;

	if (n == 0)
		return 0;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		cap = b->cap < 256 ? 256 : b->cap * 2;
		if (cap < b->len + n)
			cap = b->len + n;
		if ((d = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
framing_buf_consume(struct framing_buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		framing_buf_free(b);
}

void
framing_buf_free(struct framing_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

enum framing_result
framing_lines(unsigned char *p, size_t n, size_t from, size_t max_line,
    framing_line_cb line, void *arg, size_t *end)
{
	unsigned char *nl;
	size_t start = 0, len, rest;
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
	/* Only a '\r' past max_line can still end a line short enough. */
	rest = n - start;
	return rest > max_line + 1 || (rest == max_line + 1 && p[n - 1] != '\r') ?
	    FRAMING_TOO_LONG : FRAMING_MORE;
}

int
framing_read(struct framing_hold *h, unsigned char *p, size_t n,
    size_t max_line, framing_line_cb line, framing_reply_cb reply, void *arg,
    enum framing_result *r)
{
	bool held = h->buf.len > 0;
	size_t end;
	int rc;

	/* A line already waiting: this read's bytes go on its end. */
	if (held) {
		if (framing_buf_add(&h->buf, p, n) == -1)
			return -1;
		p = h->buf.data + h->buf.off;
		n = h->buf.len;
	}
	*r = framing_lines(p, n, h->scanned, max_line, line, arg, &end);
	rc = end > 0 ? reply(arg, p, end) : 0;
	if (rc == -1 || *r != FRAMING_MORE) {
		framing_buf_free(&h->buf);
		h->scanned = 0;
		return rc;
	}
	h->scanned = n - end;
	if (held) {
		framing_buf_consume(&h->buf, end);
		return 0;
	}
	return framing_buf_add(&h->buf, p + end, n - end);
}

int
framing_eof(struct framing_hold *h, size_t max_line, framing_line_cb line,
    framing_reply_cb reply, void *arg, enum framing_result *r)
{
	size_t n = h->buf.len;
	unsigned char *p;
	int rc = 0;

	*r = FRAMING_MORE;
	if (n > max_line)
		*r = FRAMING_TOO_LONG;
	else if (n > 0) {
		p = h->buf.data + h->buf.off; /* data is NULL while empty */
		(void)line(arg, p, n);
		rc = reply(arg, p, n);
	}
	framing_buf_free(&h->buf);
	h->scanned = 0;
	return rc;
}
