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

#include "admit.h"
#include "log.h"
#include "util.h"

struct echod_server;
struct echod_listener_config;
struct listener;
struct conn;
struct worker;

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

/*
 * One listener's part on one worker: what that worker watches and
 * counts.  Each sits on cache lines of its own, so that workers counting
 * messages never write to a line another worker reads.
 */
struct shard {
	struct listener *listener;
	struct worker *worker;
	struct event *read_ev;	 /* udp: this worker's watch on the socket */
	LIST_HEAD(, conn) conns; /* tcp: this worker's connections */
	uint64_t connections;	 /* tcp: accepted */
	uint64_t messages;	 /* tcp: reads or lines; udp: datagrams */
	uint64_t bytes;		 /* received and echoed */
	uint64_t dropped;	 /* udp: replies the kernel refused */
	uint64_t idle_closed;	 /* tcp: closed by idle_timeout */
	uint64_t refused[REFUSED_KINDS]; /* tcp: on worker 0's shard */
	struct log_limit refused_log[REFUSED_KINDS];
	struct log_limit idle_log;
	const struct timeval *idle; /* tcp: idle_timeout on this loop */
} __attribute__((aligned(64)));

struct listener {
	TAILQ_ENTRY(listener) entry;
	struct echod_server *server;
	const struct echod_listener_config *conf;
	const struct listener_ops *ops;
	char name[ECHOD_ADDRSTRLEN + 16]; /* "tcp [::]:12000" */
	int fd;
	bool wildcard;	/* bound to 0.0.0.0 or :: */
	bool announced; /* "listening on" was logged */
	struct shard *shards; /* one per worker */

	struct evconnlistener *evl; /* tcp: accepting, on the main thread */
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
/* Count a client turned away from sh for why, logging at a bounded rate
 * what it was ("max_connections (4096) reached"). */
void listener_refused(struct shard *sh, const struct sockaddr *peer,
    enum refusal why, const char *what);
/* Stop l, close its connections and free it. */
void listener_free(struct listener *l);
/* Free every listener of srv after mark (NULL: all of them). */
void listener_close_after(struct echod_server *srv, struct listener *mark);

#endif
