/*
 * listener.h: one open socket serving one configured listener.  A
 * listener whose address is a host name gets one of these per address
 * the name resolves to.  The protocol-specific half (listener_tcp.c,
 * listener_udp.c) is reached through struct listener_ops.
 */
#ifndef ECHOD_LISTENER_H
#define ECHOD_LISTENER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard.h" /* enum refusal */
#include "log.h"
#include "ring.h"
#include "util.h"
#include "worker.h"

struct echod_server;
struct echod_listener_config;
struct listener;
struct listener_list;
struct listener_stats;
struct conn;
struct shard;
struct sockets;
struct worker;

/*
 * What a protocol does its own way.  One const struct per protocol
 * (listener_tcp.c, listener_udp.c), listed in listener.c's
 * listener_ops_table[] under the name the config's protocol setting
 * gives; a new protocol is one more of these, not a branch at each
 * caller.
 */
struct listener_ops {
	const char *name; /* "tcp": the config's protocol, and in l->name */
	int socktype;	  /* SOCK_STREAM, SOCK_DGRAM */
	/* Clients are connections, each a descriptor, on admit.c's books:
	 * its descriptor cap and accept pauses apply. */
	bool connections;
	/* Each worker reads a socket of its own (sh->fd), in one
	 * SO_REUSEPORT group (sockets_group): the kernel hands each
	 * datagram to one of them, so it wakes one worker.  Else l->fd is
	 * served as the protocol sees fit. */
	bool socket_per_worker;
	/* LISTENER_COUNTS_* of the counters this protocol keeps, and
	 * 1 << enum refusal of each reason it turns clients away for. */
	unsigned int counts;
	unsigned int refusals;
	/*
	 * Start serving l->fd, bound and listening, on l->server's loops.
	 * On failure: -1 with err set; l stays for listener_free.
	 */
	int (*start)(struct listener *, char *err, size_t errlen);
	/* Take no new clients; those being served stay.  Another thread
	 * may still be at work on l until l->busy is 0. */
	void (*retire)(struct listener *);
	/* l->next is l->conf's successor, which l now serves: hand it to
	 * what needs it beyond the main thread (NULL: nothing does). */
	void (*switch_conf)(struct listener *);
	/* Release what start took, l->fd included; every loop at rest. */
	void (*stop)(struct listener *);
	/* Shutting down, an errand on each worker: every client of sh is
	 * finished off.  NULL: nothing to finish; served until the loops
	 * stop. */
	void (*wind_down)(struct shard *sh);
	/* Stop (true) or resume (false) taking clients, for a while;
	 * NULL if l cannot pause. */
	void (*pause)(struct listener *l, bool paused);
	/* st in words, for the log: "3 connections (1 open), ...". */
	void (*stats_text)(const struct listener_stats *st, char *buf,
	    size_t len);
};

/* Counters a protocol may keep, for ops->counts. */
#define LISTENER_COUNTS_CONNECTIONS (1u << 0) /* accepted, open */
#define LISTENER_COUNTS_TRAFFIC (1u << 1) /* messages, bytes, replies */
#define LISTENER_COUNTS_DROPPED (1u << 2) /* replies the kernel refused */
#define LISTENER_COUNTS_IDLE (1u << 3)	  /* closed by idle_timeout */

extern const struct listener_ops listener_tcp_ops;
extern const struct listener_ops listener_udp_ops;

/* Counters, written by one thread each and read by any (the metrics). */
#define COUNT(field, n)                                                \
	__atomic_store_n(&(field), __atomic_load_n(&(field),           \
	    __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define COUNTED(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/*
 * One listener's part on one worker: what that worker watches and
 * counts.  Each sits on cache lines of its own, so that workers counting
 * messages never write to a line another worker reads.
 */
struct shard {
	struct worker_task job;	 /* the main thread's errand to the worker */
	void (*errand)(struct shard *);
	struct listener *listener;
	struct worker *worker;
	/* udp: the settings this worker serves by, and the one it is
	 * switching to (after the switch, from): each holds a reference. */
	const struct echod_listener_config *lc, *next_lc;
	int fd;			 /* socket_per_worker: its socket, or -1 */
	struct event *read_ev;	 /* udp: this worker's watch on fd */
	LIST_HEAD(, conn) conns; /* tcp: this worker's connections */
	uint64_t messages_in;	 /* tcp: reads or lines; udp: datagrams */
	uint64_t bytes_in;
	uint64_t messages_out;	 /* replies made */
	uint64_t bytes_out;	 /* reply bytes the kernel took */
	uint64_t dropped;	 /* udp: replies the kernel refused */
	uint64_t idle_closed;	 /* tcp: closed by idle_timeout */
	uint64_t unlogged;	 /* log_messages: over log_rate */
	uint64_t refused[REFUSED_KINDS]; /* tcp: on worker 0's shard */
	struct log_limit refused_log[REFUSED_KINDS];
	struct log_limit idle_log;
	struct log_limit long_log; /* tcp: lines over max_line */
	struct log_limit oom_log;  /* out of memory for a client */
	struct ring_source ring_src; /* log_messages: the console's memo */
} __attribute__((aligned(64)));

/*
 * A listener lives from listener_open to listener_free, on the main
 * thread.  A reload that keeps it changes its conf; one that drops it
 * retires it: it takes no more clients, and is freed once its
 * connections have closed and every worker has let go of it.
 */
struct listener {
	TAILQ_ENTRY(listener) entry; /* on srv->listeners or srv->retired */
	struct echod_server *server;
	/* For new clients; holds a reference. */
	const struct echod_listener_config *conf;
	const struct echod_listener_config *next; /* during switch_conf */
	const struct listener_ops *ops;
	char name[ECHOD_ADDRSTRLEN + 16]; /* "tcp [::]:12000" */
	int fd;
	int port;	/* the one bound (a range's pick) */
	bool wildcard;	/* bound to 0.0.0.0 or :: */
	bool started;	/* ops->start succeeded */
	bool retired;	/* gone from the config, on srv->retired */
	bool announced; /* "listening on" was logged */
	unsigned int busy; /* errands sent to workers, not yet done */
	uint64_t accepted; /* tcp: admitted (main thread) */
	uint64_t open;	   /* tcp: admitted and not yet closed */
	struct shard *shards; /* one per worker */
	/* log_messages: log_rate's buckets, per address or IPv6 prefix;
	 * the workers share it under its lock. */
	struct rate_table *log_rate;

	struct evconnlistener *evl; /* tcp: accepting, on the main thread */
	/* tcp with proxy_protocol: connections whose PROXY header the main
	 * thread is reading, before any worker has them. */
	LIST_HEAD(, conn) proxy_waiting;
};

#ifndef TAILQ_FOREACH_SAFE /* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                     \
	for ((var) = TAILQ_FIRST(head);                                \
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);     \
	    (var) = (tvar))
#endif

/* The ops of lc's protocol. */
const struct listener_ops *listener_ops_for(
    const struct echod_listener_config *lc);
/*
 * Bind lc's sockets at port, and listen on them if tcp: one listener
 * per address that lc's address resolves to, each added to list, not
 * yet started.  On failure none of them stays, err says "tcp
 * 0.0.0.0:12000: Address already in use" or the like, and *in_use
 * says whether that was why.
 */
int listener_open(struct echod_server *srv, struct listener_list *list,
    const struct echod_listener_config *lc, int port, bool *in_use,
    char *err, size_t errlen);
/* Start serving l; -1 (logged) if it cannot be. */
int listener_start(struct listener *l);
/* Serve new clients by lc from now on; those being served keep theirs. */
void listener_switch(struct listener *l,
    const struct echod_listener_config *lc);
/* Take l off srv->listeners: no new clients, freed when done. */
void listener_retire(struct listener *l);
/* A retired l with nothing left to serve or wait for is freed. */
void listener_settle(struct listener *l);
/* Send errand to run on every worker for its shard of l, then come
 * back to the main thread (listener_settle).  One at a time: until l->busy
 * is 0 again (srv->errands, for all listeners), send no other. */
void listener_errand(struct listener *l, void (*errand)(struct shard *));
/*
 * log_messages: "Received from 127.0.0.1#54321: TEXT", at most
 * log_rate lines a second from one address (IPv6: prefix), counted on sh
 * when over.  buf holds the message's first lc->log_length bytes at
 * least; len is its whole length.
 */
void listener_log_message(struct shard *sh,
    const struct echod_listener_config *lc, const struct sockaddr *peer,
    const unsigned char *buf, size_t len);
/*
 * Answer msg[0..len-1] from peer in place with lc's transform; with
 * log_messages, log it (listener_log_message) and show it and its reply
 * on the console.  peer NULL: a balancer's own check (a PROXY LOCAL
 * header), answered but not the class's, so neither logged nor shown.
 */
void listener_answer(struct shard *sh, const struct echod_listener_config *lc,
    const struct sockaddr *peer, unsigned char *msg, size_t len);
/* Count a client turned away from sh for why, logging at a bounded rate
 * what it was ("max_connections (4096) reached"). */
void listener_refused(struct shard *sh, const struct sockaddr *peer,
    enum refusal why, const char *what);
/* A listener's counters, summed over its shards as they stand. */
struct listener_stats {
	uint64_t accepted, open; /* tcp */
	uint64_t messages_in, bytes_in, messages_out, bytes_out;
	uint64_t dropped;	 /* udp */
	uint64_t idle_closed;	 /* tcp */
	uint64_t unlogged;
	uint64_t refused[REFUSED_KINDS];
	bool proxy, tls; /* its settings now: proxy_protocol, a tls group */
};
/* l's counters now (main thread: l->accepted and l->open are its). */
void listener_stats(const struct listener *l, struct listener_stats *st);
/* The refusals that only some listeners make, for the end of a stats
 * line's list: ", 2 for PROXY, 1 for TLS", each where the listener is
 * set for it or counted some; empty if neither. */
char *listener_refused_more(const struct listener_stats *st, char *buf,
    size_t len);
/* st in words, for the log: "3 connections (1 open), 9 messages ...". */
char *listener_stats_text(const struct listener *l,
    const struct listener_stats *st, char *buf, size_t len);
/* Stop l at once, close its connections and free it: every loop is at
 * rest, or l never started.  l is on no list any more. */
void listener_free(struct listener *l);
/* Shutting down: if l's protocol has clients to finish off, retire l
 * and send each worker its wind_down errand; else leave l be. */
void listener_wind_down(struct listener *l);
/* Free every listener of list after mark (NULL: all of them); none of
 * them has started. */
void listener_close_after(struct listener_list *list, struct listener *mark);

#endif
