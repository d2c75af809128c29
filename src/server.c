/*
 * server.c: the server's life (start-up, reload, shutdown), with its
 * workers, listeners and signals.  Teardown runs in the reverse order
 * of set-up.
 */
#include <sys/eventfd.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "admit.h"
#include "config.h"
#include "console.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "ring.h"
#include "server.h"
#include "server_state.h"
#include "sockets.h"
#include "systemd.h"
#include "transform.h"
#include "worker.h"

/* Tell systemd echod serves (at start-up, and after a reload); -1 if
 * that could not be sent. */
static int
server_notify_ready(const struct echod_server *srv)
{
	const struct listener *l;
	unsigned int n = 0;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		n++;
	return systemd_notify("READY=1\nSTATUS=serving %u listeners", n);
}

static void server_shutdown(struct echod_server *, const char *why);

static void
server_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	server_shutdown(arg, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct echod_server *srv = arg;

	(void)sig;
	(void)what;
	if (srv->stopping)
		return;
	/* A switch still under way on some worker: after it, not during. */
	if (srv->errands > 0) {
		log_info("SIGHUP: reloading once the last reload is done");
		srv->reload_wanted = true;
		return;
	}
	(void)server_reload(srv);
}

static void
server_usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	metrics_log(arg);
}

void
server_errands_done(struct echod_server *srv)
{
	if (srv->reload_wanted && !srv->stopping) {
		srv->reload_wanted = false;
		(void)server_reload(srv);
	}
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

/* Messages came into the ring. */
static void
server_ring_cb(evutil_socket_t fd, short what, void *arg)
{
	struct echod_server *srv = arg;

	(void)fd;
	(void)what;
	ring_woken(srv->ring);
	if (srv->console != NULL)
		console_notify(srv->console);
}

struct echod_server *
server_new(struct echod_config *conf, int log_level)
{
	struct echod_server *srv;
	unsigned int i;

	server_raise_nofile();
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->config = conf;
	srv->log_level = log_level;
	srv->ring_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &srv->started);
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->retired);
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
	if (admit_init(srv) == -1 || (srv->sockets = sockets_new()) == NULL)
		goto fail;
	/* Made even without a console: a reload may add one. */
	if ((srv->ring_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (srv->ring = ring_new(srv->ring_fd)) == NULL ||
	    (srv->ring_ev = event_new(srv->base, srv->ring_fd,
	    EV_READ | EV_PERSIST, server_ring_cb, srv)) == NULL ||
	    event_add(srv->ring_ev, NULL) == -1)
		goto fail;
	/* Made even if udp_rate is 0: a reload may set it. */
	if ((srv->udp_rate = rate_table_new(conf->udp_rate, conf->udp_burst)) ==
	    NULL)
		goto fail;
	srv->sigint = evsignal_new(srv->base, SIGINT, server_stop_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, server_stop_cb, srv);
	srv->sighup = evsignal_new(srv->base, SIGHUP, server_hup_cb, srv);
	srv->sigusr1 = evsignal_new(srv->base, SIGUSR1, server_usr1_cb, srv);
	if (srv->sigint == NULL || srv->sigterm == NULL ||
	    srv->sighup == NULL || srv->sigusr1 == NULL ||
	    evsignal_add(srv->sigint, NULL) == -1 ||
	    evsignal_add(srv->sigterm, NULL) == -1 ||
	    evsignal_add(srv->sighup, NULL) == -1 ||
	    evsignal_add(srv->sigusr1, NULL) == -1)
		goto fail;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

/* What a listener serves, in the log, as it opens or a reload changes
 * it; from then on its totals are logged when it closes. */
static void
server_announce(struct listener *l, const char *verb)
{
	const struct echod_listener_config *lc = l->conf;
	char range[32] = "";

	if (config_port_is_range(lc))
		snprintf(range, sizeof(range), " (picked from %d-%d)",
		    lc->port_min, lc->port_max);
	log_info("%s %s%s%s, transform %s%s%s%s", verb, l->name, range,
	    lc->tls != NULL ? ", TLS" : "", config_transform_name(lc),
	    lc->framing == ECHOD_FRAMING_LINE ? ", framing line" : "",
	    lc->close_after_reply ? ", close after reply" : "",
	    lc->log_messages ? ", logging messages" : "");
	l->announced = true;
}

/* Start serving a newly opened l; -1 (logged) if it cannot. */
static int
server_start(struct listener *l)
{
	if (listener_start(l) == -1)
		return -1;
	server_announce(l, "listening on");
	return 0;
}

/*
 * Open listener i of conf into list, and with it those that share its
 * pick, at one port of its range that is free for all of them, tried in
 * the order sockets_pick() gives; only at port, if that is not 0 (a
 * reload keeps a pick).  A fixed port is a range of one.
 */
static int
server_open_range(struct echod_server *srv, const struct echod_config *conf,
    struct listener_list *list, size_t i, bool *opened, int port)
{
	const struct echod_listener_config *lc = &conf->listeners[i];
	struct listener *mark = TAILQ_LAST(list, listener_list);
	char err[512], name[ECHOD_ADDRSTRLEN + 16];
	struct port_walk walk;
	bool in_use = false;
	size_t j;

	sockets_pick(srv->sockets, listener_ops_for(lc)->socktype, lc->port_min,
	    lc->port_max, port, &walk);
	while ((port = port_walk_next(&walk)) != 0) {
		for (j = i; j < conf->nlisteners; j++) {
			if (j != i && (opened[j] ||
			    !config_same_pick(lc, &conf->listeners[j])))
				continue;
			if (listener_open(srv, list, &conf->listeners[j], port,
			    &in_use, err, sizeof(err)) == -1)
				break;
		}
		if (j == conf->nlisteners) {
			for (j = i; j < conf->nlisteners; j++)
				if (j == i ||
				    config_same_pick(lc, &conf->listeners[j]))
					opened[j] = true;
			return 0;
		}
		listener_close_after(list, mark);
		if (!in_use)
			break;
	}
	if (walk.n > 1 && in_use)
		log_errorx("%s: every port of the range is in use",
		    config_listener_name(lc, name, sizeof(name)));
	else
		log_errorx("%s", err);
	return -1;
}

/*
 * Open every listener of conf not already open (opened[i]) into list:
 * fixed ports first, so that no range takes one of them.  A range whose
 * pick srv already holds for a listener that shares it keeps that port.
 */
static int
server_open_all(struct echod_server *srv, const struct echod_config *conf,
    struct listener_list *list, bool *opened)
{
	const struct echod_listener_config *lc;
	const struct listener *kept;
	size_t i;
	int pass, port;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < conf->nlisteners; i++) {
			lc = &conf->listeners[i];
			if (opened[i] || config_port_is_range(lc) != pass)
				continue;
			port = 0;
			TAILQ_FOREACH(kept, &srv->listeners, entry)
				if (kept->next != NULL &&
				    config_same_pick(kept->next, lc))
					port = kept->port;
			if (server_open_range(srv, conf, list, i, opened,
			    port) == -1)
				return -1;
		}
	return 0;
}

/*
 * The metrics listener conf asks for: the one srv has if it asks for
 * the same socket, a new one, or none (NULL).  -1 (logged) if a new one
 * cannot open.
 */
static int
server_open_metrics(struct echod_server *srv, const struct echod_config *conf,
    struct metrics **m)
{
	char err[512];

	*m = NULL;
	if (conf->metrics.port == 0)
		return 0;
	if (srv->metrics != NULL &&
	    metrics_same_socket(&srv->config->metrics, &conf->metrics)) {
		*m = srv->metrics;
		return 0;
	}
	if ((*m = metrics_open(srv, &conf->metrics, err, sizeof(err))) ==
	    NULL) {
		log_errorx("%s", err);
		return -1;
	}
	return 0;
}

/*
 * The console conf asks for: the one srv has if it asks for the same
 * socket and limits; one with new limits on the same socket; a new one;
 * or none (NULL).  -1 (logged) if a new one cannot open.
 */
static int
server_open_console(struct echod_server *srv, const struct echod_config *conf,
    struct console **c)
{
	char err[512];
	int fd = -1;

	*c = NULL;
	if (conf->console.port == 0)
		return 0;
	if (srv->console != NULL &&
	    console_same_socket(&srv->config->console, &conf->console)) {
		if (console_same_limits(&srv->config->console,
		    &conf->console)) {
			*c = srv->console;
			return 0;
		}
		/* libmicrohttpd's limits are set at its start: a new one
		 * takes over the socket, and pages reconnect to it. */
		if ((fd = dup(console_fd(srv->console))) == -1) {
			log_errorx("console %s: %s", console_name(srv->console),
			    strerror(errno));
			return -1;
		}
	}
	if ((*c = console_open(srv, &conf->console, fd, err, sizeof(err))) ==
	    NULL) {
		log_errorx("%s", err);
		return -1;
	}
	return 0;
}

/* Serve c from now on, and close the console served before; keep
 * history messages (none without a console). */
static void
server_set_console(struct echod_server *srv, struct console *c, int history)
{
	if (ring_resize(srv->ring, c != NULL ? (size_t)history : 0) == -1)
		log_warnx("console: out of memory for a history of %d; "
		    "keeping the one before", history);
	if (c == srv->console)
		return;
	if (srv->console != NULL)
		log_info("closing the console on %s",
		    console_name(srv->console));
	console_free(srv->console);
	srv->console = c;
	if (c != NULL)
		log_info("console on http://%s/", console_name(c));
}

/* Serve m's metrics from now on, and close those served before. */
static void
server_set_metrics(struct echod_server *srv, struct metrics *m)
{
	if (m == srv->metrics)
		return;
	if (srv->metrics != NULL)
		log_info("closing metrics on %s", metrics_name(srv->metrics));
	metrics_free(srv->metrics);
	srv->metrics = m;
	if (m != NULL)
		log_info("metrics on http://%s/metrics", metrics_name(m));
}

int
server_open(struct echod_server *srv)
{
	const struct echod_config *conf = srv->config;
	struct listener *l;
	struct metrics *m;
	struct console *c;
	bool *opened;
	int rc;

	if ((opened = calloc(conf->nlisteners + 1, sizeof(*opened))) == NULL) {
		log_errorx("out of memory");
		return -1;
	}
	rc = server_open_all(srv, conf, &srv->listeners, opened);
	free(opened);
	if (rc == 0 && (rc = server_open_metrics(srv, conf, &m)) == 0)
		server_set_metrics(srv, m);
	if (rc == 0 && (rc = server_open_console(srv, conf, &c)) == 0)
		server_set_console(srv, c, conf->console.history);
	if (rc == 0)
		rc = sockets_all_taken(srv->sockets, conf->path);
	TAILQ_FOREACH(l, &srv->listeners, entry)
		if (rc == 0)
			rc = server_start(l);
	if (rc == 0)
		rc = admit_size(srv);
	return rc;
}

/*
 * WatchdogSec=: tell systemd every loop still turns.  The main loop
 * does if this runs; each worker's, if it ran the question this posted
 * to it the time before.  One that has not gets no more pings, and
 * systemd restarts echod when WatchdogSec= runs out.
 */
static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct echod_server *srv = arg;
	struct worker *w;
	unsigned int i, late = 0;
	bool answers;

	(void)fd;
	(void)what;
	for (i = 1; i < srv->nworkers; i++) {
		w = &srv->workers[i];
		answers = worker_answers(w, &srv->workers[0]);
		if (!answers && !w->late)
			log_errorx("worker %u has not answered the watchdog "
			    "for %.1f s: not telling systemd echod is alive", i,
			    srv->watchdog_usec / 2e6);
		else if (answers && w->late)
			log_warnx("worker %u answers the watchdog again", i);
		w->late = !answers;
		late += !answers;
	}
	if (late == 0)
		(void)systemd_notify("WATCHDOG=1");
}

int
server_run(struct echod_server *srv)
{
	uint64_t usec = srv->watchdog_usec = systemd_watchdog_usec();
	struct timeval half = { (time_t)(usec / 2000000),
		(suseconds_t)(usec / 2 % 1000000) };
	unsigned int i;
	int rc;

	for (i = 1; i < srv->nworkers; i++)
		if (worker_start(&srv->workers[i]) == -1) {
			log_warn("worker %u", i);
			break;
		}
	if (usec > 0 && (srv->watchdog = event_new(srv->base, -1, EV_PERSIST,
	    server_watchdog_cb, srv)) != NULL)
		event_add(srv->watchdog, &half);
	if (i == srv->nworkers) {
		log_info("echod %s ready, %u worker%s", PACKAGE_VERSION,
		    srv->nworkers, srv->nworkers == 1 ? "" : "s");
		if (server_notify_ready(srv) == -1)
			log_warn("telling systemd echod is ready");
		rc = event_base_dispatch(srv->base);
	} else
		rc = -1;
	for (i = 1; i < srv->nworkers; i++)
		worker_stop(&srv->workers[i]);
	/* Last: connections the others closed on their way out. */
	worker_stop(&srv->workers[0]);
	return rc;
}

/* Settings a running echod cannot take: say so, keep the old ones. */
static void
server_reload_warn(const struct echod_config *old, struct echod_config *conf)
{
	if (conf->workers != old->workers)
		log_warnx("SIGHUP: workers changed; that takes a restart");
	if (strcmp(conf->user, old->user) != 0 ||
	    strcmp(conf->group, old->group) != 0)
		log_warnx("SIGHUP: user or group changed; that takes a restart");
}

int
server_reload(struct echod_server *srv)
{
	struct echod_config *conf, *old = srv->config;
	struct listener_list opened_now = TAILQ_HEAD_INITIALIZER(opened_now);
	struct listener *l, *next;
	struct metrics *m = NULL;
	struct console *c = NULL;
	unsigned int kept = 0, added = 0, closed = 0;
	char *errors;
	bool *opened = NULL;
	size_t i;
	int rc = -1;

	(void)systemd_notify_reloading();
	srv->reloads++;
	log_info("SIGHUP: reloading %s", old->path);
	if ((conf = config_load(old->path, &errors)) == NULL) {
		log_lines(ECHOD_LOG_WARNING, "SIGHUP: ", errors);
		free(errors);
		log_warnx("SIGHUP: %s has errors; nothing changed", old->path);
		goto done;
	}
	if ((opened = calloc(conf->nlisteners + 1, sizeof(*opened))) == NULL) {
		log_errorx("SIGHUP: out of memory; nothing changed");
		goto done;
	}
	/* Which listeners stay: the same sockets asked for.  l->next is the
	 * plan until it is carried out. */
	TAILQ_FOREACH(l, &srv->listeners, entry) {
		l->next = NULL;
		for (i = 0; i < conf->nlisteners && l->next == NULL; i++)
			if (config_same_bind(l->conf, &conf->listeners[i])) {
				l->next = &conf->listeners[i];
				opened[i] = true;
			}
	}
	/* The new ones first: if one cannot open, nothing has changed. */
	if (server_open_all(srv, conf, &opened_now, opened) == -1 ||
	    server_open_metrics(srv, conf, &m) == -1 ||
	    server_open_console(srv, conf, &c) == -1) {
		if (m != srv->metrics)
			metrics_free(m);
		listener_close_after(&opened_now, NULL);
		TAILQ_FOREACH(l, &srv->listeners, entry)
			l->next = NULL;
		log_warnx("SIGHUP: nothing changed");
		goto done;
	}
	server_reload_warn(old, conf);
	TAILQ_FOREACH_SAFE(l, &srv->listeners, entry, next) {
		if (l->next == NULL) {
			log_info("closing %s: no longer in %s", l->name,
			    conf->path);
			listener_retire(l);
			closed++;
			continue;
		}
		listener_switch(l, l->next);
		server_announce(l, "serving");
		kept++;
	}
	while ((l = TAILQ_FIRST(&opened_now)) != NULL) {
		TAILQ_REMOVE(&opened_now, l, entry);
		/* Out of memory only: that listener is not served. */
		if (server_start(l) == -1) {
			listener_free(l);
			continue;
		}
		TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
		added++;
	}
	server_set_metrics(srv, m);
	server_set_console(srv, c, conf->console.history);
	srv->config = conf;
	if (srv->console != NULL)
		console_recheck(srv->console);
	conf = old; /* let go of below */
	rate_table_set(srv->udp_rate, srv->config->udp_rate,
	    srv->config->udp_burst);
	if (srv->log_level == -1)
		log_set_level(srv->config->log_level);
	(void)admit_size(srv);
	log_info("SIGHUP: reloaded %s: %u listener%s kept, %u opened, "
	    "%u closed", srv->config->path, kept, kept == 1 ? "" : "s", added,
	    closed);
	rc = 0;
done:
	if (rc == -1)
		srv->reloads_failed++;
	free(opened);
	config_unref(conf);
	(void)server_notify_ready(srv);
	return rc;
}

/* Time is up: close what is left. */
static void
server_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct echod_server *srv = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout (%d s): closing %llu connections that "
	    "are not done", srv->config->shutdown_timeout,
	    (unsigned long long)srv->adm.open);
	event_base_loopbreak(srv->base);
}

/*
 * SIGTERM: accept no more, answer no new input, let every connection
 * send what is pending and close, for up to shutdown_timeout; then
 * stop.  A second signal stops at once.
 */
static void
server_shutdown(struct echod_server *srv, const char *why)
{
	struct timeval tv = { srv->config->shutdown_timeout, 0 };
	struct listener *l, *next;

	if (srv->stopping) {
		log_info("%s: stopping now", why);
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = true;
	(void)systemd_notify("STOPPING=1");
	log_info("%s: shutting down; %llu connections to finish, for up to "
	    "%d s", why, (unsigned long long)srv->adm.open,
	    srv->config->shutdown_timeout);
	TAILQ_FOREACH_SAFE(l, &srv->listeners, entry, next)
		listener_wind_down(l);
	if ((srv->deadline = evtimer_new(srv->base, server_deadline_cb, srv)) ==
	    NULL || evtimer_add(srv->deadline, &tv) == -1)
		event_base_loopbreak(srv->base);
	server_conn_closed(srv);
}

/* Read by metrics.c, for the log and for /metrics. */
void
server_stats(const struct echod_server *srv, struct server_stats *st)
{
	struct timespec now, wall;
	struct rlimit rl;

	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_REALTIME, &wall);
	st->uptime = (double)(now.tv_sec - srv->started.tv_sec) +
	    (double)(now.tv_nsec - srv->started.tv_nsec) / 1e9;
	st->started = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9 -
	    st->uptime;
	st->workers = srv->nworkers;
	st->fds = admit_fds_in_use();
	st->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY ? (int64_t)rl.rlim_cur : -1;
	st->tcp_open = srv->adm.open;
	st->tcp_room = srv->adm.fd_cap;
	st->pauses = srv->adm.pauses;
	st->paused_ms = admit_paused_ms(&srv->adm);
	st->reloads = srv->reloads;
	st->reloads_failed = srv->reloads_failed;
	st->console_viewers = srv->console != NULL ?
	    (int64_t)console_viewers(srv->console) : -1;
}

void
server_conn_closed(struct echod_server *srv)
{
	if (srv->stopping && srv->adm.open == 0)
		event_base_loopbreak(srv->base);
}

void
server_free(struct echod_server *srv)
{
	struct listener *l;
	unsigned int i;

	if (srv == NULL)
		return;
	metrics_free(srv->metrics);
	console_free(srv->console);
	/* Errands still in an inbox (a start that failed) run first. */
	for (i = 0; i < srv->nworkers && srv->workers != NULL; i++)
		if (srv->workers[i].base != NULL)
			worker_stop(&srv->workers[i]);
	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL ||
	    (l = TAILQ_FIRST(&srv->retired)) != NULL) {
		TAILQ_REMOVE(l->retired ? &srv->retired : &srv->listeners, l,
		    entry);
		listener_free(l);
	}
	sockets_free(srv->sockets);
	admit_fini(srv);
	rate_table_free(srv->udp_rate);
	if (srv->ring_ev != NULL)
		event_free(srv->ring_ev);
	ring_free(srv->ring);
	if (srv->ring_fd != -1)
		close(srv->ring_fd);
	if (srv->deadline != NULL)
		event_free(srv->deadline);
	if (srv->watchdog != NULL)
		event_free(srv->watchdog);
	if (srv->sigusr1 != NULL)
		event_free(srv->sigusr1);
	if (srv->sighup != NULL)
		event_free(srv->sighup);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	for (i = 0; i < srv->nworkers; i++)
		worker_fini(&srv->workers[i]);
	free(srv->workers);
	config_unref(srv->config);
	free(srv);
}
