/*
 * listener.h: one open socket serving one configured listener.  A
 * listener whose address is a host name gets one of these per address
 * the name resolves to.  The protocol-specific half (listener_tcp.c,
 * listener_udp.c) is reached through struct listener_ops.
 */
#ifndef ECHOD_LISTENER_H
#define ECHOD_LISTENER_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct echod_server;
struct echod_listener_config;
struct listener;
struct conn;

struct listener_ops {
	/*
	 * Start serving l->fd on l->server's loop.  On failure: -1 with err
	 * set, anything taken released, l->fd left open for the caller.
	 */
	int (*start)(struct listener *, char *err, size_t errlen);
	/* Stop serving and release what start took, l->fd included. */
	void (*stop)(struct listener *);
};

extern const struct listener_ops listener_tcp_ops;
extern const struct listener_ops listener_udp_ops;

struct listener {
	TAILQ_ENTRY(listener) entry;
	struct echod_server *server;
	const struct echod_listener_config *conf;
	const struct listener_ops *ops;
	char name[ECHOD_ADDRSTRLEN + 16]; /* "tcp [::]:12000" */
	int fd;
	bool wildcard;	/* bound to 0.0.0.0 or :: */
	bool announced; /* "listening on" was logged */

	/* tcp */
	struct evconnlistener *evl;
	struct event *accept_retry; /* re-arms accept after EMFILE */
	bool accept_paused;
	LIST_HEAD(, conn) conns;

	/* udp */
	struct event *read_ev;

	/* counters, reported when the listener closes */
	uint64_t connections;	/* tcp: accepted */
	uint64_t messages;	/* tcp: reads; udp: datagrams */
	uint64_t bytes;		/* received and echoed */
	uint64_t dropped;	/* udp: replies the kernel refused */
	uint64_t accept_pauses; /* tcp: times out of descriptors */
};

/*
 * Open lc on srv at port: resolve its address, bind a socket for each
 * result and start serving each; the listeners join srv->listeners.  On
 * failure none of them stays open, err says "tcp 0.0.0.0:12000: Address
 * already in use" or the like, and *in_use says whether that was why.
 */
int listener_open(struct echod_server *srv,
    const struct echod_listener_config *lc, int port, bool *in_use,
    char *err, size_t errlen);
/*
 * log_messages: "Received from 127.0.0.1#54321: TEXT".  buf holds the
 * message's first log_length bytes at least; len is its whole length.
 */
void listener_log_message(const struct listener *l,
    const struct sockaddr *peer, const unsigned char *buf, size_t len);
/* Stop l, close its connections and free it. */
void listener_free(struct listener *l);
/* Free every listener of srv after mark (NULL: all of them). */
void listener_close_after(struct echod_server *srv, struct listener *mark);

#endif
