/*
 * server_state.h: struct echod_server, where all run-time state hangs,
 * for the modules the server holds (listeners, admission, metrics): what
 * they read of it, and the few calls they make back into server.c.  The
 * server's life (start, reload, stop) is in server.h, for main alone.
 * Apart from server.h so that a module the server calls can see its
 * state without including the header of server.c.
 */
#ifndef ECHOD_SERVER_STATE_H
#define ECHOD_SERVER_STATE_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

struct console;
struct echod_config;
struct listener;
struct metrics;
struct peer;
struct rate_table;
struct ring;
struct sockets;
struct worker;

TAILQ_HEAD(listener_list, listener);

/*
 * admit.c's books on TCP connections (see admit.h), touched by the main
 * thread alone.
 */
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

struct echod_server {
	struct event_base *base; /* the main thread's: worker 0's */
	struct echod_config *config; /* the current one; holds a reference */
	int log_level;		     /* from -d or -v; -1: the config's */
	struct listener_list listeners; /* the config's */
	struct listener_list retired;	/* dropped by a reload, not done yet */
	unsigned int errands; /* sent to workers by listeners, not yet done */
	struct event *sigint, *sigterm, *sighup, *sigusr1;
	struct event *watchdog;	 /* pings systemd, if it asks */
	uint64_t watchdog_usec;	 /* WatchdogSec=; pings at half of it */
	struct event *deadline;	 /* shutdown_timeout */
	struct timespec started;
	bool stopping;		 /* SIGTERM: finishing replies */
	bool reload_wanted;	 /* SIGHUP while errands were under way */
	uint64_t reloads, reloads_failed; /* SIGHUPs acted on */
	struct metrics *metrics; /* the metrics listener; NULL if none */
	struct console *console; /* the class console; NULL if none */
	/* The console's messages: written by the workers whatever the
	 * config, kept only while a console is configured.  The ring
	 * writes ring_fd (an eventfd) when messages came in. */
	struct ring *ring;
	int ring_fd;
	struct event *ring_ev;
	struct sockets *sockets; /* those systemd passed */
	struct worker *workers;
	unsigned int nworkers;
	unsigned int next_worker; /* the next connection's, round robin */
	struct admission adm;	  /* tcp: who is connected, from where */
	struct rate_table *udp_rate; /* udp: per source; NULL if no limit */
};

/* The process's side of the counters, as it stands. */
struct server_stats {
	double uptime;	    /* seconds */
	double started;	    /* seconds since the epoch */
	unsigned int workers;
	int64_t fds;	    /* descriptors open; -1 if unknown */
	int64_t max_fds;    /* RLIMIT_NOFILE; -1 if none */
	uint64_t tcp_open;  /* connections, every listener's */
	uint64_t tcp_room;  /* as many as the descriptors allow */
	uint64_t pauses, paused_ms;
	uint64_t reloads, reloads_failed;
	int64_t console_viewers; /* pages open; -1 without a console */
};

/* srv's process-wide counters now (main thread). */
void server_stats(const struct echod_server *srv, struct server_stats *st);
/* Every errand a listener sent to the workers is done. */
void server_errands_done(struct echod_server *);
/* A connection has closed (on the main thread's books). */
void server_conn_closed(struct echod_server *);

#endif
