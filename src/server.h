/*
 * server.h: the workers and everything they serve.  All run-time state
 * hangs off struct echod_server.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <sys/queue.h>

#include "admit.h"
#include "config.h"

/* The largest UDP payload over IPv6 without jumbograms; IPv4's is 65,507. */
#define ECHOD_DGRAM_MAX 65535

struct listener;
struct rate_table;
struct worker;

struct echod_server {
	struct event_base *base; /* the main thread's: worker 0's */
	const struct echod_config *config;
	TAILQ_HEAD(listener_list, listener) listeners;
	struct event *sigint, *sigterm, *sighup;
	struct worker *workers;
	unsigned int nworkers;
	unsigned int next_worker; /* the next connection's, round robin */
	struct admission adm;	  /* tcp: who is connected, from where */
	struct rate_table *udp_rate; /* udp: per source; NULL if no limit */
};

/* The workers for conf, with the main loop's signal handlers; NULL if
 * out of resources.  No thread runs yet. */
struct echod_server *server_new(const struct echod_config *conf);
/* Open every configured listener, and size the books by the
 * descriptors left; -1 (logged) if any cannot be. */
int server_open(struct echod_server *);
/* Start the worker threads and serve until SIGINT or SIGTERM. */
int server_run(struct echod_server *);
void server_free(struct echod_server *);

#endif
