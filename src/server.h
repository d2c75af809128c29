/*
 * server.h: the workers and everything they serve.  All run-time state
 * hangs off struct echod_server.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <time.h>

#include "admit.h"
#include "config.h"
#include "listener.h"

/* The largest UDP payload over IPv6 without jumbograms; IPv4's is 65,507. */
#define ECHOD_DGRAM_MAX 65535

struct listener;
struct metrics;
struct rate_table;
struct worker;

/* A socket handed over by systemd (LISTEN_FDS), for the listener that
 * asks for its type and address. */
struct passed_socket {
	int fd;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;
	bool taken;
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
	struct passed_socket *passed;
	size_t npassed;
	struct worker *workers;
	unsigned int nworkers;
	unsigned int next_worker; /* the next connection's, round robin */
	struct admission adm;	  /* tcp: who is connected, from where */
	struct rate_table *udp_rate; /* udp: per source; NULL if no limit */
};

/* The workers for conf, with the main loop's signal handlers; NULL if
 * out of resources.  No thread runs yet.  srv takes conf's reference;
 * log_level is -1, or the level -d or -v set, which no reload changes. */
struct echod_server *server_new(struct echod_config *conf, int log_level);
/* Open every configured listener, and size the books by the
 * descriptors left; -1 (logged) if any cannot be. */
int server_open(struct echod_server *);
/* Start the worker threads and serve until SIGINT or SIGTERM; SIGUSR1
 * logs the counters. */
int server_run(struct echod_server *);
/* Apply the config file again (SIGHUP); on any error keep the one in
 * use.  0 if applied, -1 (logged) if not. */
int server_reload(struct echod_server *);
/* Every errand a listener sent to the workers is done. */
void server_errands_done(struct echod_server *);
/* A connection has closed (on the main thread's books). */
void server_conn_closed(struct echod_server *);
/* The socket passed by systemd for a listener of type at sa; -1 if
 * none.  It is taken: no other listener gets it. */
int server_passed_socket(struct echod_server *, int type,
    const struct sockaddr *sa);
void server_free(struct echod_server *);

#endif
