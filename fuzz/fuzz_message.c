/*
 * fuzz_message.c: libFuzzer on the message path of a line-framed
 * listener: the bytes arrive in reads of made-up sizes and go through
 * framing_read() and, at the end, framing_eof(), the two calls
 * listener_tcp.c makes (an unfinished line held over to the next read),
 * each line through a chain of built-in transforms.  The replies must be
 * exactly what a plain reading of the input says: every line up to the
 * first one longer than max_line, transformed, with its own terminator;
 * and what is held between reads is never more than a line may be.
 *
 * Input: byte 0 picks the chain (three steps of two bits: none, echo,
 * upper, rot13), byte 1 max_line (1-256), byte 2 the read sizes; the
 * rest is what the client sends.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const unsigned char *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static const struct transform_chain *chain;

static bool
line_cb(void *arg, unsigned char *p, size_t len)
{
	(void)arg;
	transform_chain_apply(chain, p, len);
	return true;
}

/* What the connection would send: kept to compare. */
static int
reply_cb(void *arg, const unsigned char *p, size_t len)
{
	bytes_add(arg, p, len);
	return 0;
}

/* What echod should answer to in[0..n-1], read plainly. */
static void
expected(const unsigned char *in, size_t n, size_t max_line,
    struct bytes *out)
{
	const unsigned char *nl;
	unsigned char *copy;
	size_t start = 0, len, term;

	for (; start < n; start += len + term) {
		nl = memchr(in + start, '\n', n - start);
		len = nl != NULL ? (size_t)(nl - (in + start)) : n - start;
		term = nl != NULL;
		if (term && len > 0 && in[start + len - 1] == '\r') {
			len--;
			term = 2;
		}
		if (len > max_line)
			return;
		if ((copy = malloc(len + term + 1)) == NULL)
			abort();
		memcpy(copy, in + start, len + term);
		transform_chain_apply(chain, copy, len);
		bytes_add(out, copy, len + term);
		free(copy);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { NULL, "echo", "upper", "rot13" };
	static struct transform_registry *reg;
	struct transform_chain *c;
	struct framing_hold hold = { 0 };
	struct bytes out = { 0 }, want = { 0 }, work = { 0 };
	const unsigned char *in;
	size_t n, max_line, off, k;
	enum framing_result r = FRAMING_MORE;
	unsigned int seed, step;
	char err[128];

	if (size < 3)
		return -1;
	if (reg == NULL && (reg = transform_registry_new()) == NULL)
		abort();
	if ((c = transform_chain_new()) == NULL)
		abort();
	for (step = 0; step < 3; step++)
		if (names[data[0] >> (2 * step) & 3] != NULL &&
		    transform_chain_add(c, transform_registry_find(reg,
			names[data[0] >> (2 * step) & 3]), NULL, 0, err,
			sizeof(err)) == -1)
			abort();
	chain = c;
	max_line = 1 + data[1];
	seed = data[2] | 1;
	in = data + 3;
	n = size - 3;

	for (off = 0; off < n && r == FRAMING_MORE; off += k) {
		seed = seed * 1103515245 + 12345;
		k = 1 + (seed >> 16) % 300;
		if (k > n - off)
			k = n - off;
		/* The worker's read buffer: answered in place. */
		work.len = 0;
		bytes_add(&work, in + off, k);
		if (framing_read(&hold, work.p, k, max_line, line_cb, reply_cb,
		    &out, &r) == -1)
			abort();
		/* What a connection may hold: a line not yet too long. */
		if (hold.buf.len > max_line + 1 ||
		    (r != FRAMING_MORE && hold.buf.len > 0))
			abort();
	}
	/* EOF: an unterminated last line is answered as it is. */
	if (r == FRAMING_MORE && framing_eof(&hold, max_line, line_cb,
	    reply_cb, &out, &r) == -1)
		abort();
	expected(in, n, max_line, &want);
	if (out.len != want.len ||
	    (out.len > 0 && memcmp(out.p, want.p, out.len) != 0))
		abort();
	framing_buf_free(&hold.buf);
	free(out.p);
	free(want.p);
	free(work.p);
	transform_chain_free(c);
	return 0;
}
