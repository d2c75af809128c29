/*
 * framing.h: framing "line" without the socket: where the lines of a
 * buffer end, what is a terminator ("\n" or "\r\n") and what is too
 * long, and what a connection holds between reads: the start of a line
 * not yet ended.  listener_tcp.c calls framing_read on each read and
 * framing_eof at the client's EOF; the message fuzzer calls the same two
 * on whatever libFuzzer makes up.
 */
#ifndef ECHOD_FRAMING_H
#define ECHOD_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

enum framing_result {
	FRAMING_MORE,	  /* the rest is the start of a line: keep it */
	FRAMING_STOPPED,  /* the line callback said to stop */
	FRAMING_TOO_LONG, /* a line, ended or not, is over max_line */
};

/* A line without its terminator, to be changed in place; false: stop. */
typedef bool (*framing_line_cb)(void *arg, unsigned char *line, size_t len);
/* Bytes to send back: answered lines with their terminators; -1 if
 * they cannot be (the connection is broken). */
typedef int (*framing_reply_cb)(void *arg, const unsigned char *p,
    size_t len);

/* Bytes held between events, growing by doubling; no memory while
 * empty. */
struct framing_buf {
	unsigned char *data;
	size_t off, len; /* the bytes are data[off .. off+len-1] */
	size_t cap;
};

/* The start of a line not yet ended, held between reads. */
struct framing_hold {
	struct framing_buf buf;
	size_t scanned; /* buf.len known to hold no '\n' */
};

/* Append p[0..n-1] to b; -1 if out of memory. */
int framing_buf_add(struct framing_buf *b, const unsigned char *p, size_t n);
/* Drop the first n bytes of b, freeing it once empty. */
void framing_buf_consume(struct framing_buf *b, size_t n);
void framing_buf_free(struct framing_buf *b);

/*
 * Call line for each complete line at the start of p[0..n-1], the first
 * from bytes being known to hold no '\n'.  *end is set to where the last
 * line handed over ends, terminator included: p[0..*end-1] is the reply
 * to send.  A line longer than max_line, or a rest that can no longer
 * become a line short enough, ends it with FRAMING_TOO_LONG.
 */
enum framing_result framing_lines(unsigned char *p, size_t n, size_t from,
    size_t max_line, framing_line_cb line, void *arg, size_t *end);
/*
 * One read, p[0..n-1] (changed in place), following what h holds: each
 * line it completes goes to line, then all of them at once to reply;
 * the rest is held.  *r says how it ended; unless FRAMING_MORE, h is
 * emptied, since nothing more is answered.  -1 if reply failed or
 * memory ran out.
 */
int framing_read(struct framing_hold *h, unsigned char *p, size_t n,
    size_t max_line, framing_line_cb line, framing_reply_cb reply, void *arg,
    enum framing_result *r);
/*
 * The client's EOF: a last line h holds without a terminator goes to
 * line and reply as it is, or *r is FRAMING_TOO_LONG if it is over
 * max_line.  h is emptied.  -1 if reply failed.
 */
int framing_eof(struct framing_hold *h, size_t max_line, framing_line_cb line,
    framing_reply_cb reply, void *arg, enum framing_result *r);

#endif
