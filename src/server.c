/*
 * server.c: the event loop, its listeners and its signals.  Teardown runs
 * in the reverse order of set-up.
 */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "server.h"

static void
server_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct echod_server *srv = arg;

	(void)what;
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(srv->base);
}

static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	/* Not killed by it, so that a reflexive reload does no harm. */
	log_warnx("SIGHUP: reloading is not implemented yet; restart echod "
	    "to apply a new configuration");
}

struct echod_server *
server_new(const struct echod_config *conf)
{
	struct echod_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->config = conf;
	TAILQ_INIT(&srv->listeners);
	if ((srv->dgram_buf = malloc(ECHOD_DGRAM_MAX)) == NULL ||
	    (srv->base = event_base_new()) == NULL)
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

int
server_open(struct echod_server *srv)
{
	char err[512];
	size_t i;

	for (i = 0; i < srv->config->nlisteners; i++) {
		if (listener_open(srv, &srv->config->listeners[i], err,
		    sizeof(err)) == -1) {
			log_errorx("%s", err);
			return -1;
		}
	}
	return 0;
}

int
server_run(struct echod_server *srv)
{
	return event_base_dispatch(srv->base);
}

void
server_free(struct echod_server *srv)
{
	if (srv == NULL)
		return;
	while (!TAILQ_EMPTY(&srv->listeners))
		listener_free(TAILQ_FIRST(&srv->listeners));
	if (srv->sighup != NULL)
		event_free(srv->sighup);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(srv->dgram_buf);
	free(srv);
}
