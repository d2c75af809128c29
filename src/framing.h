/*
 * framing.h: framing "line" without the socket: where the lines of a
 * buffer end, what is a terminator ("\n" or "\r\n") and what is too
 * long.  listener_tcp.c calls it on each read; the message fuzzer calls
 * it on whatever libFuzzer makes up.
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

/*
 * Call line for each complete line at the start of p[0..n-1], the first
 * from bytes being known to hold no '\n'.  *end is set to where the last
 * line handed over ends, terminator included: p[0..*end-1] is the reply
 * to send.  A line longer than max_line, or a rest that can no longer
 * become a line short enough, ends it with FRAMING_TOO_LONG.
 */
enum framing_result framing_lines(unsigned char *p, size_t n, size_t from,
    size_t max_line, framing_line_cb line, void *arg, size_t *end);

#endif
