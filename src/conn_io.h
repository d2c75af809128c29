/*
 * conn_io.h: how a TCP connection's bytes move, between the connection's
 * state machine (listener_tcp.c) and its socket, as memcached's
 * c->read/c->sendmsg and nginx's c->recv/c->send do it.  Plain TCP
 * (conn_io_plain) is one implementation; TLS will be another, behind
 * the same calls, so that every framing, transform, limit and guard
 * works the same over both.
 *
 * The calls keep the system calls' conventions: a count, 0 at EOF for
 * recv, or -1 with errno (EAGAIN and EWOULDBLOCK: nothing now).
 */
#ifndef ECHOD_CONN_IO_H
#define ECHOD_CONN_IO_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct conn_io;

struct conn_io_ops {
	/* Read up to n bytes into p. */
	ssize_t (*recv)(struct conn_io *, void *p, size_t n);
	/* Hand up to n bytes of p to the peer; the count taken. */
	ssize_t (*send)(struct conn_io *, const void *p, size_t n);
	/* No more replies: end the write side (a FIN).  -1 if it failed. */
	int (*shutdown)(struct conn_io *);
	/* Bytes the peer sent that echod has not read yet. */
	size_t (*unread)(const struct conn_io *);
	/* Has the peer acknowledged every byte sent to it?  (True if that
	 * cannot be told: then closing can cut nothing short.) */
	bool (*all_acked)(const struct conn_io *);
	/* Release the connection's socket and all else it holds. */
	void (*close)(struct conn_io *);
};

struct conn_io {
	const struct conn_io_ops *ops;
	int fd;
};

extern const struct conn_io_ops conn_io_plain;

#endif
