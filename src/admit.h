/*
 * admit.h: who gets a TCP connection.  The main thread accepts; these
 * are its books, touched by it alone: how many connections are open in
 * all, per listener and per client address, and whether accepting is
 * paused because descriptors ran short.  A worker closing a connection
 * hands it back to the main thread (tcp_conn_release), which settles
 * the books, so no counter here is shared between threads.
 */
#ifndef ECHOD_ADMIT_H
#define ECHOD_ADMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

struct echod_server;
struct listener;
struct sockaddr;
struct peer;

/* Descriptors kept free for echod's own use (reading the config,
 * loading modules, the log) however many clients there are. */
#define ADMIT_FD_RESERVE 16
/* After EMFILE or ENFILE, try accepting again this soon. */
#define ADMIT_RETRY_MS 100

struct admission {
	uint64_t open;	  /* tcp connections, every listener */
	uint64_t fd_cap;  /* as many as the descriptors allow */
	struct peer **peers; /* open connections per address, hashed */
	uint64_t seed;	  /* the hash's key, random */
	struct event *retry;
	bool paused;	  /* every tcp listener disabled */
	bool pausing;	  /* no connection accepted since the pause began */
	struct timespec pause_began;
	uint64_t pauses;  /* how often accepting paused */
	uint64_t paused_ms; /* and for how long in all */
	struct log_limit pause_log[2]; /* at the cap; on accept errors */
};

/* Why a client was turned away; the counters are per listener. */
enum refusal {
	REFUSED_ACL,   /* allow/deny */
	REFUSED_LIMIT, /* max_connections, max_connections_per_ip */
	REFUSED_RATE,  /* udp: udp_rate */
	REFUSED_LOOP,  /* udp: source port or address never answered */
	REFUSED_KINDS,
};

/* Set up srv's books; -1 if out of resources. */
int admit_init(struct echod_server *srv);
/* Work out how many connections the descriptors allow, once the
 * listeners are open (again after a reload); -1 (logged) if none. */
int admit_size(struct echod_server *srv);
/* Descriptors open now, counted in /proc; -1 where there is none. */
int64_t admit_fds_in_use(void);
/* How long accepting has paused in all, the pause under way included. */
uint64_t admit_paused_ms(const struct admission *adm);
/* Log how often and how long accepting paused, if it did; free. */
void admit_fini(struct echod_server *srv);
/*
 * May the client at sa, just accepted on l, stay?  True if so, and it is
 * counted; false with *why (and a reason for the log in what) if not.
 */
bool admit_client(struct listener *l, const struct sockaddr *sa,
    enum refusal *why, char *what, size_t whatlen);
/* A connection admitted on l has closed: uncount it. */
void admit_release(struct listener *l, const struct sockaddr *sa);
/* Pause accepting: accept(2) failed with why (EMFILE, ENFILE...), to be
 * tried again on a timer; or, with why 0, every connection the
 * descriptors allow is open, until one closes. */
void admit_pause(struct echod_server *srv, int why);

#endif
