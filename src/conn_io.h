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
 *
 * What a call waits on when it cannot go on is not always what it
 * seems: TLS may need to write before a recv can return anything, or
 * to read before a send can.  So after EAGAIN, recv_wants_write and
 * send_wants_read say which readiness to wait for, and the caller
 * watches the socket for that, not for the obvious one.
 */
#ifndef ECHOD_CONN_IO_H
#define ECHOD_CONN_IO_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct conn_io;

struct conn_io_ops {
	/* Before any recv or send: 1 once the connection is ready, 0 if
	 * still under way (wait as recv_wants_write says), -1 if it failed,
	 * with why in words.  NULL: nothing to do first (plain TCP). */
	int (*handshake)(struct conn_io *, char *why, size_t len);
	/* Read up to n bytes into p. */
	ssize_t (*recv)(struct conn_io *, void *p, size_t n);
	/* Hand up to n bytes of p to the peer; the count taken. */
	ssize_t (*send)(struct conn_io *, const void *p, size_t n);
	/* No more replies: end the write side (a FIN).  clean as for
	 * close: may the end say the exchange is complete?  -1 if it
	 * failed. */
	int (*shutdown)(struct conn_io *, bool clean);
	/* Bytes the peer sent that echod has not read yet. */
	size_t (*unread)(const struct conn_io *);
	/* Whether recv has input for the next call that the socket will
	 * not announce (TLS: records OpenSSL read ahead, left when recv's
	 * buffer filled); not 0 is yes.  NULL: never any. */
	size_t (*pending)(const struct conn_io *);
	/* Has the peer acknowledged every byte sent to it?  (True if that
	 * cannot be told: then closing can cut nothing short.) */
	bool (*all_acked)(const struct conn_io *);
	/* Release the connection's socket and all else it holds.  clean:
	 * the caller owes the peer nothing, so the end may say the
	 * exchange is complete (TLS: close_notify); else it must not. */
	void (*close)(struct conn_io *, bool clean);
};

struct conn_io {
	const struct conn_io_ops *ops;
	int fd;
	bool recv_wants_write;	/* recv (or handshake) waits to write */
	bool send_wants_read;	/* send waits to read */
	bool more;		/* TLS: recv filled its buffer, more is held */
	void *tls;		/* TLS: its SSL */
	/* TLS: why the connection broke, when the peer broke the protocol
	 * (a bad record, a renegotiation); NULL otherwise. */
	const char *violation;
};

extern const struct conn_io_ops conn_io_plain;

/* For each implementation: what the socket itself has unread, and
 * whether the peer has acknowledged all it was sent. */
size_t conn_io_socket_unread(int fd);
bool conn_io_socket_acked(int fd);

#endif
