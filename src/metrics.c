/*
 * metrics.c: echod's counters for its admin, in the log (SIGUSR1) and
 * over HTTP (the metrics group).  Everything here runs on the main
 * thread: the listeners' main-thread counters are read as they are, the
 * workers' through COUNTED().
 *
 * The HTTP side is an http.c listener with small limits: METRICS_CONNS
 * connections open at once, METRICS_PER_IP from one address, closed
 * after METRICS_TIMEOUT seconds of silence or when its request's headers
 * are not all in after as long, METRICS_POOL bytes for a request's line
 * and headers (over it, 431), only GET, allow/deny decided at accept
 * time.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "acl.h"
#include "config.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server_state.h"
#include "sockets.h"
#include "util.h"

#define METRICS_CONNS 64	/* open at once, in all */
#define METRICS_PER_IP 16	/* open at once from one address */
#define METRICS_TIMEOUT 10	/* seconds of silence */
#define METRICS_POOL (16 * 1024) /* bytes for a request and its reply's
				  * headers */

struct metrics {
	struct echod_server *srv;
	struct http *http;
	struct log_limit refused_log;
	char name[ECHOD_ADDRSTRLEN];
};

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
	[REFUSED_TLS] = "tls",
	[REFUSED_PROXY] = "proxy",
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
	sample(out, "echod_console_viewers", "gauge",
	    "Console pages open (event streams).",
	    (double)ps.console_viewers);
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
	    "answered), proxy (no valid PROXY header from proxy_from), tls "
	    "(a TLS handshake that failed, or a later violation).");
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
	if (ps.console_viewers >= 0)
		log_notice("SIGUSR1: console: %lld pages open",
		    (long long)ps.console_viewers);
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

/* At accept: may the client at sa read the counters at all? */
static bool
metrics_admit(void *arg, const struct sockaddr *sa)
{
	struct metrics *m = arg;
	char from[ECHOD_ADDRSTRLEN];
	unsigned char key[16];

	addr_key(sa, key);
	if (acl_permits(&m->srv->config->metrics.acl, key))
		return true;
	log_limited(&m->refused_log, ECHOD_LOG_INFO, "metrics %s: refused "
	    "%s: allow/deny", m->name, addr_format_peer(sa, from, sizeof(from)));
	return false;
}

/* GET path: the counters at /metrics, nothing anywhere else. */
static void
metrics_get(void *arg, struct http_request *req, const char *path,
    const struct sockaddr *sa)
{
	static const char not_found[] = "not found; try /metrics\n";
	struct metrics *m = arg;
	struct evbuffer *body;

	(void)sa;
	if (strcmp(path, "/metrics") != 0) {
		(void)http_reply(req, 404, "text/plain; charset=utf-8",
		    not_found, sizeof(not_found) - 1);
		return;
	}
	if ((body = evbuffer_new()) == NULL ||
	    metrics_write(m->srv, body) == -1 ||
	    http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (const char *)evbuffer_pullup(body, -1),
	    evbuffer_get_length(body)) == -1)
		log_warnx("metrics %s: out of memory for a scrape", m->name);
	if (body != NULL)
		evbuffer_free(body);
}

struct metrics *
metrics_open(struct echod_server *srv, const struct echod_metrics_config *mc,
    char *err, size_t errlen)
{
	static const struct http_limits lim = {
		.connections = METRICS_CONNS,
		.per_ip = METRICS_PER_IP,
		.timeout = METRICS_TIMEOUT,
		.deadline = METRICS_TIMEOUT,
		.memory = METRICS_POOL,
	};
	char label[ECHOD_ADDRSTRLEN + 16];
	struct metrics *m;
	int fd;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "metrics: %s", strerror(errno));
		return NULL;
	}
	m->srv = srv;
	hostport_format(mc->address, mc->port, m->name, sizeof(m->name));
	snprintf(label, sizeof(label), "metrics %s", m->name);
	if ((fd = sockets_open_numeric(srv->sockets, mc->address, mc->port,
	    label, err, errlen)) == -1 ||
	    (m->http = http_open(srv->base, fd, label, &lim, metrics_admit,
	    metrics_get, m, err, errlen)) == NULL)
		goto fail;
	return m;
fail:
	metrics_free(m);
	return NULL;
}

bool
metrics_same_socket(const struct echod_metrics_config *a,
    const struct echod_metrics_config *b)
{
	return addr_numeric_same(a->address, a->port, b->address, b->port);
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
	http_free(m->http); /* its socket and connections with it */
	free(m);
}
