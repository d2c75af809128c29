/*
 * metrics.c: echod's counters for its admin, in the log (SIGUSR1) and
 * over HTTP (the metrics group).  Everything here runs on the main
 * thread: the listeners' main-thread counters are read as they are, the
 * workers' through COUNTED().
 *
 * libevent 2.1's evhttp has no cap on connections, so the HTTP side is
 * bounded otherwise: a connection silent for METRICS_TIMEOUT seconds is
 * closed, a request may have METRICS_HEADERS bytes of headers and no
 * body, only GET is served, and accept(2) failing for want of
 * descriptors pauses the listener instead of spinning on it.  What that
 * leaves open: evhttp 2.1 has no hook at accept time (allow/deny is
 * checked per request) and no deadline for a whole request, so a client
 * that trickles its headers keeps its connection; hence loopback unless
 * configured otherwise.  Closing it takes libevent 2.2's
 * evhttp_set_max_connections, or a hook at accept time that 2.1 lacks
 * (its bevcb sees neither the socket nor the peer).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "acl.h"
#include "admit.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server_state.h"
#include "sockets.h"
#include "util.h"

#define METRICS_TIMEOUT 10	/* seconds of silence */
#define METRICS_HEADERS 8192	/* bytes of request headers */

struct metrics {
	LIST_ENTRY(metrics) entry; /* on metrics_open_list */
	struct echod_server *srv;
	struct evhttp *http;
	struct evconnlistener *evl; /* evhttp's, for pausing it */
	struct event *retry;	    /* after accept failed */
	struct log_limit accept_log, refused_log;
	char name[ECHOD_ADDRSTRLEN];
};

/* evhttp hands its listener's error callback the evhttp, not ours:
 * the open ones are looked up here (one, but two during a reload). */
static LIST_HEAD(, metrics) metrics_open_list =
    LIST_HEAD_INITIALIZER(metrics_open_list);

/* --- The numbers ----------------------------------------------------- */

/* The per-listener families: which field of struct listener_stats, for
 * listeners whose ops->counts has which LISTENER_COUNTS_ bit. */
#define CONNECTIONS LISTENER_COUNTS_CONNECTIONS
#define TRAFFIC LISTENER_COUNTS_TRAFFIC
#define STAT(f) offsetof(struct listener_stats, f)
static const struct {
	const char *name, *type, *help;
	unsigned int counts;
	size_t offset;
} listener_families[] = {
	{ "echod_connections_accepted_total", "counter",
	    "TCP connections admitted.", CONNECTIONS, STAT(accepted) },
	{ "echod_connections_active", "gauge",
	    "TCP connections open now.", CONNECTIONS, STAT(open) },
	{ "echod_messages_received_total", "counter",
	    "Messages received: TCP reads or lines, UDP datagrams.",
	    TRAFFIC, STAT(messages_in) },
	{ "echod_received_bytes_total", "counter", "Bytes received.",
	    TRAFFIC, STAT(bytes_in) },
	{ "echod_replies_sent_total", "counter", "Replies made.",
	    TRAFFIC, STAT(messages_out) },
	{ "echod_messages_unlogged_total", "counter",
	    "Messages log_messages left out, over log_rate.", TRAFFIC,
	    STAT(unlogged) },
	{ "echod_sent_bytes_total", "counter",
	    "Reply bytes the kernel took.", TRAFFIC,
	    STAT(bytes_out) },
	{ "echod_replies_dropped_total", "counter",
	    "UDP replies the kernel refused.", LISTENER_COUNTS_DROPPED,
	    STAT(dropped) },
	{ "echod_idle_closed_total", "counter",
	    "TCP connections closed by idle_timeout.", LISTENER_COUNTS_IDLE,
	    STAT(idle_closed) },
};
#undef STAT
#undef TRAFFIC
#undef CONNECTIONS

/* Why clients were turned away, as the reason label says it; a
 * listener has those its ops->refusals names. */
static const char *const refusals[REFUSED_KINDS] = {
	[REFUSED_ACL] = "acl",
	[REFUSED_LIMIT] = "limit",
	[REFUSED_RATE] = "rate",
	[REFUSED_LOOP] = "loop",
};

/* A label's value, with the three characters the format escapes. */
static char *
label_escape(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 3 < len; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n')
			out[n++] = '\\';
		out[n++] = *in == '\n' ? 'n' : *in;
	}
	out[n] = '\0';
	return out;
}

static void
family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* One family of a single sample, skipped if value is negative. */
static void
sample(struct evbuffer *out, const char *name, const char *type,
    const char *help, double value)
{
	if (value < 0)
		return;
	family(out, name, type, help);
	evbuffer_add_printf(out, "%s %.15g\n", name, value);
}

/* A listener as the log names it, and its counters, taken once. */
struct listener_sample {
	const struct listener *l;
	struct listener_stats st;
	char label[2 * sizeof(((struct listener *)0)->name)];
};

int
metrics_write(struct echod_server *srv, struct evbuffer *out)
{
	struct listener_sample *ls;
	struct server_stats ps;
	const struct listener *l;
	char transform[256];
	size_t i, k, n = 0;
	uint64_t v;

	server_stats(srv, &ps);
	TAILQ_FOREACH(l, &srv->listeners, entry)
		n++;
	if ((ls = calloc(n + 1, sizeof(*ls))) == NULL)
		return -1;
	n = 0;
	TAILQ_FOREACH(l, &srv->listeners, entry) {
		ls[n].l = l;
		listener_stats(l, &ls[n].st);
		label_escape(l->name, ls[n].label, sizeof(ls[n].label));
		n++;
	}

	family(out, "echod_build_info", "gauge", "echod's version.");
	evbuffer_add_printf(out, "echod_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	sample(out, "echod_start_time_seconds", "gauge",
	    "When echod started, in seconds since the epoch.", ps.started);
	sample(out, "echod_uptime_seconds", "gauge",
	    "Seconds since echod started.", ps.uptime);
	sample(out, "echod_workers", "gauge", "Worker threads.",
	    ps.workers);
	sample(out, "echod_open_fds", "gauge", "Descriptors open.",
	    (double)ps.fds);
	sample(out, "echod_max_fds", "gauge",
	    "Descriptors the process may open (RLIMIT_NOFILE).",
	    (double)ps.max_fds);
	sample(out, "echod_tcp_connections_open", "gauge",
	    "TCP connections open, on every listener, those a reload "
	    "dropped included.", (double)ps.tcp_open);
	if (ps.tcp_room != UINT64_MAX)
		sample(out, "echod_tcp_connections_room", "gauge",
		    "TCP connections the descriptors allow.",
		    (double)ps.tcp_room);
	sample(out, "echod_accept_pauses_total", "counter",
	    "Times accepting paused for want of descriptors.",
	    (double)ps.pauses);
	sample(out, "echod_accept_paused_seconds_total", "counter",
	    "Seconds accepting was paused, in all.",
	    (double)ps.paused_ms / 1000);
	family(out, "echod_reloads_total", "counter",
	    "SIGHUP reloads, by result.");
	evbuffer_add_printf(out, "echod_reloads_total{result=\"applied\"} "
	    "%llu\n", (unsigned long long)(ps.reloads - ps.reloads_failed));
	evbuffer_add_printf(out, "echod_reloads_total{result=\"failed\"} "
	    "%llu\n", (unsigned long long)ps.reloads_failed);

	family(out, "echod_listener_info", "gauge",
	    "What each listener serves.");
	for (i = 0; i < n; i++)
		evbuffer_add_printf(out, "echod_listener_info{listener=\"%s\","
		    "transform=\"%s\",framing=\"%s\"} 1\n", ls[i].label,
		    label_escape(config_transform_name(ls[i].l->conf),
			transform, sizeof(transform)),
		    ls[i].l->conf->framing == ECHOD_FRAMING_LINE ? "line" :
		    "stream");
	for (k = 0; k < sizeof(listener_families) /
	    sizeof(listener_families[0]); k++) {
		family(out, listener_families[k].name,
		    listener_families[k].type, listener_families[k].help);
		for (i = 0; i < n; i++) {
			if (!(listener_families[k].counts &
			    ls[i].l->ops->counts))
				continue;
			memcpy(&v, (const char *)&ls[i].st +
			    listener_families[k].offset, sizeof(v));
			evbuffer_add_printf(out, "%s{listener=\"%s\"} %llu\n",
			    listener_families[k].name, ls[i].label,
			    (unsigned long long)v);
		}
	}
	family(out, "echod_refused_total", "counter",
	    "Clients turned away, by reason: acl (allow/deny), limit "
	    "(max_connections...), rate (udp_rate), loop (a source never "
	    "answered).");
	for (i = 0; i < n; i++)
		for (k = 0; k < REFUSED_KINDS; k++)
			if (ls[i].l->ops->refusals & 1u << k)
				evbuffer_add_printf(out, "echod_refused_total{"
				    "listener=\"%s\",reason=\"%s\"} %llu\n",
				    ls[i].label, refusals[k],
				    (unsigned long long)ls[i].st.refused[k]);
	free(ls);
	return 0;
}

void
metrics_log(struct echod_server *srv)
{
	struct listener_stats st;
	struct server_stats ps;
	const struct listener *l;
	char fds[64] = "", room[64] = "", text[512];

	server_stats(srv, &ps);
	if (ps.fds >= 0)
		snprintf(fds, sizeof(fds), "; %lld of %lld descriptors open",
		    (long long)ps.fds, (long long)ps.max_fds);
	if (ps.tcp_room != UINT64_MAX)
		snprintf(room, sizeof(room), " (room for %llu)",
		    (unsigned long long)ps.tcp_room);
	log_notice("SIGUSR1: up %.0f s, %u workers%s; %llu tcp connections "
	    "open%s; accepting paused %llu times, %llu ms in all; %llu "
	    "reloads, %llu failed", ps.uptime, ps.workers, fds,
	    (unsigned long long)ps.tcp_open, room,
	    (unsigned long long)ps.pauses, (unsigned long long)ps.paused_ms,
	    (unsigned long long)ps.reloads,
	    (unsigned long long)ps.reloads_failed);
	TAILQ_FOREACH(l, &srv->listeners, entry) {
		listener_stats(l, &st);
		log_notice("SIGUSR1: %s: %s", l->name,
		    listener_stats_text(l, &st, text, sizeof(text)));
	}
	TAILQ_FOREACH(l, &srv->retired, entry) {
		listener_stats(l, &st);
		log_notice("SIGUSR1: %s (closing): %s", l->name,
		    listener_stats_text(l, &st, text, sizeof(text)));
	}
}

/* --- The HTTP listener ----------------------------------------------- */

/* The client's address as an ACL key; false if evhttp has none. */
static bool
metrics_peer(struct evhttp_request *req, unsigned char key[16],
    char *from, size_t fromlen)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa;

	if (evcon == NULL || (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return false;
	addr_key(sa, key);
	addr_format_peer(sa, from, fromlen);
	return true;
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	char from[ECHOD_ADDRSTRLEN];
	unsigned char key[16];
	struct evbuffer *body;

	if (!metrics_peer(req, key, from, sizeof(from))) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (!acl_permits(&m->srv->config->metrics.acl, key)) {
		log_limited(&m->refused_log, ECHOD_LOG_INFO,
		    "metrics %s: refused %s: allow/deny", m->name, from);
		evhttp_send_error(req, 403, "Forbidden");
		return;
	}
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	if ((body = evbuffer_new()) == NULL ||
	    metrics_write(m->srv, body) == -1) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		if (body != NULL)
			evbuffer_free(body);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

/* accept(2) failed for good (EMFILE, ENFILE, ENOBUFS...): a listener
 * left enabled would be woken again at once, so rest it a while. */
static void
metrics_accept_error(struct evconnlistener *evl, void *arg)
{
	struct timeval tv = { 0, ADMIT_RETRY_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();
	struct metrics *m;

	(void)arg;
	LIST_FOREACH(m, &metrics_open_list, entry)
		if (m->evl == evl)
			break;
	if (m == NULL)
		return;
	log_limited(&m->accept_log, ECHOD_LOG_WARNING,
	    "metrics %s: accept: %s; pausing for %d ms", m->name,
	    strerror(err), ADMIT_RETRY_MS);
	evconnlistener_disable(evl);
	evtimer_add(m->retry, &tv);
}

static void
metrics_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(m->evl);
}

/* mc's address and port as a socket address; 0 if not numeric. */
static socklen_t
metrics_sockaddr(const struct echod_metrics_config *mc,
    union sockaddr_any *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, mc->address, &sa->sin.sin_addr) == 1) {
		sa->sin.sin_family = AF_INET;
		sa->sin.sin_port = htons((uint16_t)mc->port);
		return sizeof(sa->sin);
	}
	if (inet_pton(AF_INET6, mc->address, &sa->sin6.sin6_addr) == 1) {
		sa->sin6.sin6_family = AF_INET6;
		sa->sin6.sin6_port = htons((uint16_t)mc->port);
		return sizeof(sa->sin6);
	}
	return 0;
}

struct metrics *
metrics_open(struct echod_server *srv, const struct echod_metrics_config *mc,
    char *err, size_t errlen)
{
	struct evhttp_bound_socket *bound = NULL;
	union sockaddr_any sa;
	char label[ECHOD_ADDRSTRLEN + 16];
	struct metrics *m;
	socklen_t salen;
	int fd;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "metrics: %s", strerror(errno));
		return NULL;
	}
	LIST_INSERT_HEAD(&metrics_open_list, m, entry);
	m->srv = srv;
	hostport_format(mc->address, mc->port, m->name, sizeof(m->name));
	snprintf(label, sizeof(label), "metrics %s", m->name);
	if ((salen = metrics_sockaddr(mc, &sa)) == 0) {
		snprintf(err, errlen, "%s: not a numeric address", label);
		goto fail;
	}
	if ((fd = sockets_open(srv->sockets, SOCK_STREAM, &sa.sa, salen, false,
	    label, err, errlen)) == -1)
		goto fail;
	if ((m->http = evhttp_new(srv->base)) == NULL ||
	    (m->retry = evtimer_new(srv->base, metrics_retry_cb, m)) == NULL ||
	    (bound = evhttp_accept_socket_with_handle(m->http, fd)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", label);
		evutil_closesocket(fd); /* not evhttp's yet */
		goto fail;
	}
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(m->http, metrics_request, m);
	m->evl = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(m->evl, metrics_accept_error);
	return m;
fail:
	metrics_free(m);
	return NULL;
}

bool
metrics_same_socket(const struct echod_metrics_config *a,
    const struct echod_metrics_config *b)
{
	union sockaddr_any sa, sb;

	return a->port == b->port && metrics_sockaddr(a, &sa) != 0 &&
	    metrics_sockaddr(b, &sb) != 0 && addr_equal(&sa.sa, &sb.sa);
}

const char *
metrics_name(const struct metrics *m)
{
	return m->name;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	LIST_REMOVE(m, entry);
	if (m->http != NULL)
		evhttp_free(m->http); /* its listener and socket with it */
	if (m->retry != NULL)
		event_free(m->retry);
	free(m);
}
