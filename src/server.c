/*
 * server.c: the workers, the listeners and the signals.  Teardown runs
 * in the reverse order of set-up.
 */
#include <sys/random.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "admit.h"
#include "listener.h"
#include "log.h"
#include "ratelimit.h"
#include "server.h"
#include "transform.h"
#include "worker.h"

static void
server_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct echod_server *srv = arg;

	(void)what;
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(srv->base);
}

/*
 * Applying a new configuration is not built yet; what SIGHUP does so far
 * is read and check the file again (modules included), as whoever echod
 * now runs as, so that an admin learns now, not at the next restart,
 * that it is broken or no longer readable.
 */
static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct echod_server *srv = arg;
	struct echod_config *conf;
	char *errors;

	(void)sig;
	(void)what;
	if ((conf = config_load(srv->config->path, &errors)) == NULL) {
		log_lines(ECHOD_LOG_WARNING, "SIGHUP: ", errors);
		free(errors);
		log_warnx("SIGHUP: %s has errors; echod runs on as it was",
		    srv->config->path);
		return;
	}
	config_free(conf);
	log_warnx("SIGHUP: %s is valid, but applying it without a restart is "
	    "not implemented yet; restart echod to apply it",
	    srv->config->path);
}

/*
 * Each connection is a descriptor: take all the system allows this
 * process.  A refusal (systemd's SystemCallFilter=~@resources, say) is
 * a fact to log, not a reason to stop.
 */
static void
server_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if ((was = rl.rlim_cur) < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("cannot raise the descriptor limit from %llu",
			    (unsigned long long)was);
			return;
		}
	}
	log_info("descriptor limit %llu%s", (unsigned long long)rl.rlim_cur,
	    was < rl.rlim_cur ? " (raised to the hard limit)" : "");
}

/* The configured number of workers, or one per online CPU. */
static unsigned int
server_nworkers(const struct echod_config *conf)
{
	long n = conf->workers;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > ECHOD_WORKERS_LIMIT ? ECHOD_WORKERS_LIMIT :
	    (unsigned int)n;
}

struct echod_server *
server_new(const struct echod_config *conf)
{
	struct echod_server *srv;
	unsigned int i;

	server_raise_nofile();
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->config = conf;
	TAILQ_INIT(&srv->listeners);
	srv->nworkers = server_nworkers(conf);
	if ((srv->workers = calloc(srv->nworkers, sizeof(*srv->workers))) ==
	    NULL) {
		free(srv);
		return NULL;
	}
	for (i = 0; i < srv->nworkers; i++)
		if (worker_init(&srv->workers[i], srv, i) == -1)
			goto fail;
	srv->base = srv->workers[0].base;
	if (admit_init(srv) == -1)
		goto fail;
	if (conf->udp_rate > 0 &&
	    (srv->udp_rate = rate_table_new(conf->udp_rate, conf->udp_burst)) ==
	    NULL)
		goto fail;
	srv->sigint = evsignal_new(srv->base, SIGINT, server_stop_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, server_stop_cb, srv);
	srv->sighup = evsignal_new(srv->base, SIGHUP, server_hup_cb, srv);
	if (srv->sigint == NULL || srv->sigterm == NULL ||
	    srv->sighup == NULL || evsignal_add(srv->sigint, NULL) == -1 ||
	    evsignal_add(srv->sigterm, NULL) == -1 ||
	    evsignal_add(srv->sighup, NULL) == -1)
		goto fail;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

/* Log what a listener serves, once every listener is open. */
static void
server_announce(struct echod_server *srv)
{
	const struct echod_listener_config *lc;
	struct listener *l;
	char range[32];

	TAILQ_FOREACH(l, &srv->listeners, entry) {
		lc = l->conf;
		range[0] = '\0';
		if (config_port_is_range(lc))
			snprintf(range, sizeof(range), " (picked from %d-%d)",
			    lc->port_min, lc->port_max);
		log_info("listening on %s%s, transform %s%s%s%s", l->name,
		    range, config_transform_name(lc),
		    lc->framing == ECHOD_FRAMING_LINE ? ", framing line" : "",
		    lc->close_after_reply ? ", close after reply" : "",
		    lc->log_messages ? ", logging messages" : "");
		l->announced = true;
	}
}

/*
 * Open listener i, and with it those that share its pick, at one port
 * of its range that is free for all of them, starting from a random
 * one.  A fixed port is a range of one.
 */
static int
server_open_range(struct echod_server *srv, size_t i, bool *opened)
{
	const struct echod_config *conf = srv->config;
	const struct echod_listener_config *lc = &conf->listeners[i];
	unsigned int n = lc->port_max - lc->port_min + 1, start = 0, k;
	struct listener *mark = TAILQ_LAST(&srv->listeners, listener_list);
	char err[512], name[ECHOD_ADDRSTRLEN + 16];
	bool in_use = false;
	size_t j;

	if (n > 1 && getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = (unsigned int)getpid();
	for (k = 0; k < n; k++) {
		for (j = i; j < conf->nlisteners; j++) {
			if (j != i && (opened[j] ||
			    !config_same_pick(lc, &conf->listeners[j])))
				continue;
			if (listener_open(srv, &conf->listeners[j],
			    lc->port_min + (start + k) % n, &in_use, err,
			    sizeof(err)) == -1)
				break;
		}
		if (j == conf->nlisteners) {
			for (j = i; j < conf->nlisteners; j++)
				if (j == i ||
				    config_same_pick(lc, &conf->listeners[j]))
					opened[j] = true;
			return 0;
		}
		listener_close_after(srv, mark);
		if (!in_use)
			break;
	}
	if (n > 1 && in_use)
		log_errorx("%s: every port of the range is in use",
		    config_listener_name(lc, name, sizeof(name)));
	else
		log_errorx("%s", err);
	return -1;
}

int
server_open(struct echod_server *srv)
{
	const struct echod_config *conf = srv->config;
	bool *opened;
	size_t i;
	int pass, rc = 0;

	if ((opened = calloc(conf->nlisteners + 1, sizeof(*opened))) == NULL) {
		log_errorx("out of memory");
		return -1;
	}
	/* Fixed ports (pass 0) first, so that no range takes one of them. */
	for (pass = 0; pass < 2 && rc == 0; pass++)
		for (i = 0; i < conf->nlisteners && rc == 0; i++)
			if (!opened[i] &&
			    config_port_is_range(&conf->listeners[i]) == pass)
				rc = server_open_range(srv, i, opened);
	free(opened);
	if (rc == 0)
		rc = admit_size(srv);
	if (rc == 0)
		server_announce(srv);
	return rc;
}

int
server_run(struct echod_server *srv)
{
	unsigned int i;
	int rc;

	for (i = 1; i < srv->nworkers; i++)
		if (worker_start(&srv->workers[i]) == -1) {
			log_warn("worker %u", i);
			break;
		}
	if (i == srv->nworkers) {
		log_info("echod %s ready, %u worker%s", PACKAGE_VERSION,
		    srv->nworkers, srv->nworkers == 1 ? "" : "s");
		rc = event_base_dispatch(srv->base);
	} else
		rc = -1;
	for (i = 1; i < srv->nworkers; i++)
		worker_stop(&srv->workers[i]);
	/* Last: connections the others closed on their way out. */
	worker_stop(&srv->workers[0]);
	return rc;
}

void
server_free(struct echod_server *srv)
{
	unsigned int i;

	if (srv == NULL)
		return;
	while (!TAILQ_EMPTY(&srv->listeners))
		listener_free(TAILQ_FIRST(&srv->listeners));
	admit_fini(srv);
	rate_table_free(srv->udp_rate);
	if (srv->sighup != NULL)
		event_free(srv->sighup);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	for (i = 0; i < srv->nworkers; i++)
		worker_fini(&srv->workers[i]);
	free(srv->workers);
	free(srv);
}
