/*
 * server.h: one event loop and everything it serves.  All run-time
 * state hangs off struct echod_server, so that a worker thread can own
 * one of its own later.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <sys/queue.h>

#include "config.h"

/* The largest UDP payload over IPv6 without jumbograms; IPv4's is 65,507. */
#define ECHOD_DGRAM_MAX 65535

struct listener;

struct echod_server {
	struct event_base *base;
	const struct echod_config *config;
	TAILQ_HEAD(listener_list, listener) listeners;
	struct event *sigint, *sigterm, *sighup;
	unsigned char *dgram_buf; /* one datagram, for this loop's UDP */
};

/* A loop for conf, with its signal handlers; NULL if out of resources. */
struct echod_server *server_new(const struct echod_config *conf);
/* Open every configured listener; -1 (logged) if any cannot be. */
int server_open(struct echod_server *);
/* Serve until SIGINT or SIGTERM. */
int server_run(struct echod_server *);
void server_free(struct echod_server *);

#endif
