/*
 * metrics.h: the numbers an admin can see.  The same counters go to the
 * log on SIGUSR1 and, if the config has a metrics group, to an HTTP
 * listener on the main thread that serves them in Prometheus's text
 * format at /metrics (http.c).
 */
#ifndef ECHOD_METRICS_H
#define ECHOD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct echod_metrics_config;
struct echod_server;
struct evbuffer;
struct metrics;

/* Bind and listen at mc's address and port (or take the socket systemd
 * passed for it), serving srv's counters; NULL with err if that fails.
 * Who may read them is srv->config's metrics ACL at each accept. */
struct metrics *metrics_open(struct echod_server *srv,
    const struct echod_metrics_config *mc, char *err, size_t errlen);
/* Do a and b ask for the same socket?  A reload keeps it open then. */
bool metrics_same_socket(const struct echod_metrics_config *a,
    const struct echod_metrics_config *b);
/* "127.0.0.1:9464", for the log. */
const char *metrics_name(const struct metrics *);
/* Close it, and the scrapes under way with it. */
void metrics_free(struct metrics *);

/* Every counter of srv, as Prometheus text, appended to out; -1 if out
 * of memory. */
int metrics_write(struct echod_server *srv, struct evbuffer *out);
/* Every counter of srv in the log, whatever its level (SIGUSR1). */
void metrics_log(struct echod_server *srv);

#endif
