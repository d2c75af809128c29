/*
 * server.h: the workers and everything they serve, from start-up to
 * shutdown.  All run-time state hangs off struct echod_server, which
 * server_state.h defines for the modules the server holds.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

struct echod_config;
struct echod_server;

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
void server_free(struct echod_server *);

#endif
