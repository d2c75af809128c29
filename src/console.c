/*
 * console.c: the class console (console.h).
 *
 * A page is a few static files compiled in (web.h) and one stream of
 * Server-Sent Events.  A viewer, the stream's state, is only a cursor
 * into the ring: each time the client can take more, fill() copies the
 * next message the viewer may see out of the ring and formats it into
 * libmicrohttpd's buffer, so nothing waits in memory per viewer.  With
 * nothing more, the stream sleeps (http_stream_wake wakes it):
 *
 * - when messages come in: console_notify, which the server calls on
 *   the ring's wake-up, starts a short timer (CONSOLE_BATCH_MS), and at
 *   its end every instructor's stream and the streams of the addresses
 *   that sent something are woken, all at once;
 * - for a heartbeat: a viewer that has sent nothing for
 *   CONSOLE_HEARTBEAT_MS is woken to send a comment, which keeps
 *   proxies from closing it and tells echod soon if the client is gone
 *   (a sleeping stream does not notice).
 *
 * A viewer that stops reading fills its socket's small send buffer
 * (CONSOLE_SNDBUF), cannot be written to, and is closed after
 * CONSOLE_TIMEOUT seconds of that; its memory never grows.
 */
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "acl.h"
#include "config.h"
#include "console.h"
#include "http.h"
#include "log.h"
#include "ring.h"
#include "server_state.h"
#include "sockets.h"
#include "util.h"
#include "web.h"

#define CONSOLE_TIMEOUT 30	/* seconds a connection may not move */
#define CONSOLE_DEADLINE 10	/* seconds to send a request's headers */
#define CONSOLE_POOL (8 * 1024) /* a connection's request and buffer */
#define CONSOLE_SNDBUF (8 * 1024) /* the kernel doubles it */
#define CONSOLE_BATCH_MS 50	/* messages are sent on this often */
#define CONSOLE_HEARTBEAT_MS 15000
#define CONSOLE_TICK_MS 5000	/* heartbeats are looked for this often */
/* Past this many senders in one batch, every stream is woken. */
#define CONSOLE_SENDERS 64
/* One event: two escaped texts of RING_TEXT bytes, and the rest. */
#define CONSOLE_EVENT_MAX (2 * 5 * RING_TEXT + 1024)
/* The newest events, formatted once for every page that shows them. */
#define CONSOLE_CACHE 128

struct viewer {
	LIST_ENTRY(viewer) entry;
	struct console *con;
	struct http_stream *st;
	unsigned char addr[16]; /* its own, as addr_key() gives it */
	uint64_t hash;		/* addr's, under the console's seed */
	bool all;		/* /class/events: every message */
	bool greeted;		/* the hello event is out */
	uint64_t cursor;	/* the last message id sent, or skipped */
	uint64_t wrote_ms;	/* when it was last sent anything */
};

struct console {
	struct echod_server *srv;
	struct http *http;
	LIST_HEAD(, viewer) viewers;
	unsigned int nviewers;	/* on viewers */
	struct event *batch;	/* CONSOLE_BATCH_MS after messages came */
	struct event *tick;	/* heartbeats */
	uint64_t batched;	/* the newest id the last batch woke for */
	uint64_t seed;		/* for the batch's set of senders */
	uint64_t cached[CONSOLE_CACHE]; /* the id in each slot; 0: none */
	size_t cached_len[CONSOLE_CACHE];
	char *cache;		/* CONSOLE_CACHE slots of CONSOLE_EVENT_MAX */
	struct log_limit refused_log;
	char name[ECHOD_ADDRSTRLEN];
};

/* --- Events ---------------------------------------------------------- */

/* s as a JSON string's inside: quote, backslash and controls escaped
 * (str_escape has left no controls, but a name might have). */
static size_t
json_escape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < len; s++) {
		if (*s == '"' || *s == '\\') {
			out[n++] = '\\';
			out[n++] = *s;
		} else if ((unsigned char)*s < 0x20) {
			n += (size_t)snprintf(out + n, len - n, "\\u%04x",
			    (unsigned char)*s);
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
	return n;
}

/* "2026-11-30T19:52:44.123Z" */
static void
iso_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/* A key as text: "127.0.0.1" or "::1". */
static void
key_text(const unsigned char key[16], char *buf, size_t len)
{
	union sockaddr_any sa;

	memset(&sa, 0, sizeof(sa));
	if (addr_key_is_ipv4(key)) {
		sa.sin.sin_family = AF_INET;
		memcpy(&sa.sin.sin_addr, key + 12, 4);
		inet_ntop(AF_INET, &sa.sin.sin_addr, buf, (socklen_t)len);
	} else
		inet_ntop(AF_INET6, key, buf, (socklen_t)len);
}

/* A listener's name, "udp 127.0.0.1:12000" or "tcp [::]:12000", taken
 * apart: protocol, address without brackets, port. */
static void
listener_parts(const char *name, char *proto, size_t plen, char *addr,
    size_t alen, int *port)
{
	const char *sp = strchr(name, ' '), *colon = strrchr(name, ':');
	const char *a;
	size_t n;

	*port = 0;
	proto[0] = addr[0] = '\0';
	if (sp == NULL || colon == NULL || colon < sp)
		return;
	snprintf(proto, plen, "%.*s", (int)(sp - name), name);
	a = sp + 1;
	n = (size_t)(colon - a);
	if (*a == '[' && n >= 2 && a[n - 1] == ']') {
		a++;
		n -= 2;
	}
	snprintf(addr, alen, "%.*s", (int)n, a);
	*port = atoi(colon + 1);
}

/* Message m as an event into out (len bytes): its length, 0 if it does
 * not fit. */
static size_t
event_message(const struct console *con, const struct ring_msg *m,
    char *out, size_t len)
{
	const struct ring_listener_info *li = ring_listener(con->srv->ring,
	    m->listener);
	char text[ESCAPE_BUFSIZE(RING_TEXT)], msg[5 * RING_TEXT + 32],
	    reply[5 * RING_TEXT + 32], name[2 * sizeof(li->name)],
	    transform[2 * sizeof(li->transform)], proto[8],
	    addr[ECHOD_ADDRSTRLEN], from[ECHOD_ADDRSTRLEN], when[32];
	int port, n;

	json_escape(str_escape(m->message, m->kept, m->kept, text), msg,
	    sizeof(msg));
	json_escape(str_escape(m->reply, m->kept, m->kept, text), reply,
	    sizeof(reply));
	json_escape(li->name, name, sizeof(name));
	json_escape(li->transform, transform, sizeof(transform));
	listener_parts(li->name, proto, sizeof(proto), addr, sizeof(addr),
	    &port);
	key_text(m->from, from, sizeof(from));
	iso_time(m->time_ms, when, sizeof(when));
	n = snprintf(out, len, "id: %" PRIu64 "\nevent: message\ndata: "
	    "{\"id\":%" PRIu64 ",\"time\":\"%s\",\"listener\":\"%s\","
	    "\"protocol\":\"%s\",\"address\":\"%s\",\"port\":%d,"
	    "\"transform\":\"%s\",\"from\":\"%s\",\"from_port\":%u,"
	    "\"message\":\"%s\",\"reply\":\"%s\",\"length\":%" PRIu32 ","
	    "\"cut\":%s}\n\n", m->id, m->id, when, name, proto, addr, port,
	    transform, from, (unsigned int)m->from_port, msg, reply,
	    m->length, m->kept < m->length ? "true" : "false");
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* Message m as an event, formatted on its first showing: an instructor
 * page shows every message, and a few of them cost no more than one. */
static const char *
event_text(struct console *con, const struct ring_msg *m, size_t *len)
{
	size_t slot = (size_t)(m->id % CONSOLE_CACHE);
	char *text = con->cache + slot * CONSOLE_EVENT_MAX;

	if (con->cached[slot] != m->id) {
		con->cached_len[slot] = event_message(con, m, text,
		    CONSOLE_EVENT_MAX);
		con->cached[slot] = m->id;
	}
	*len = con->cached_len[slot];
	return text;
}

/* The next bytes of v's stream (http_fill_cb). */
static long
viewer_fill(void *arg, char *buf, size_t max)
{
	struct viewer *v = arg;
	struct console *con = v->con;
	char addr[ECHOD_ADDRSTRLEN];
	const char *event;
	struct ring_msg m;
	uint64_t cursor, missed;
	size_t n = 0, k;
	bool more;
	int w;

	if (!v->greeted) {
		key_text(v->addr, addr, sizeof(addr));
		w = snprintf(buf, max, "retry: 3000\nevent: hello\ndata: "
		    "{\"address\":\"%s\",\"history\":%d,\"class\":%s}\n\n",
		    addr, con->srv->config->console.history,
		    v->all ? "true" : "false");
		if (w < 0 || (size_t)w >= max)
			return -1; /* a pool its own request filled */
		n = (size_t)w;
		v->greeted = true;
	}
	for (;;) {
		cursor = v->cursor;
		more = ring_next(con->srv->ring, &cursor, v->all ? NULL :
		    v->addr, &m, &missed);
		if (missed > 0) {
			w = snprintf(buf + n, max - n, "event: behind\ndata: "
			    "{\"missed\":%" PRIu64 "}\n\n", missed);
			if (w < 0 || (size_t)w >= max - n)
				break;
			n += (size_t)w;
		}
		if (!more) {
			v->cursor = cursor;
			/* A long ring is looked through a piece at a time,
			 * letting go of its lock in between. */
			if (cursor < ring_newest(con->srv->ring))
				continue;
			break;
		}
		event = event_text(con, &m, &k);
		if (k == 0 || k > max - n) {
			/* Not now: from the one before it, next time; if it
			 * cannot ever fit, the stream ends. */
			v->cursor = m.id - 1;
			if (n == 0)
				return -1;
			break;
		}
		memcpy(buf + n, event, k);
		n += k;
		v->cursor = m.id;
	}
	if (n == 0 && clock_ms() - v->wrote_ms >= CONSOLE_HEARTBEAT_MS &&
	    max > 16) {
		memcpy(buf, ": heartbeat\n\n", 13);
		n = 13;
	}
	if (n > 0)
		v->wrote_ms = clock_ms();
	return (long)n;
}

/* The stream is over: the client went, or the console closed. */
static void
viewer_done(void *arg)
{
	struct viewer *v = arg;

	LIST_REMOVE(v, entry);
	v->con->nviewers--;
	free(v);
}

/* --- Waking streams -------------------------------------------------- */

void
console_notify(struct console *con)
{
	struct timeval tv = { 0, CONSOLE_BATCH_MS * 1000 };

	if (!evtimer_pending(con->batch, NULL))
		evtimer_add(con->batch, &tv);
}

/* The addresses that sent something in a batch: an open-addressing
 * set of at most CONSOLE_SENDERS, so that each page asks it once. */
struct senders {
	unsigned char key[2 * CONSOLE_SENDERS][16];
	bool used[2 * CONSOLE_SENDERS];
	size_t n;
	uint64_t seed;
};

/* Is key (its hash under set->seed) in set?  If not and add, put it in:
 * false if it was full. */
static bool
senders_has(struct senders *set, const unsigned char key[16], uint64_t hash,
    bool add)
{
	size_t h = (size_t)hash & (2 * CONSOLE_SENDERS - 1);

	for (; set->used[h]; h = (h + 1) & (2 * CONSOLE_SENDERS - 1))
		if (memcmp(set->key[h], key, 16) == 0)
			return true;
	if (!add || set->n == CONSOLE_SENDERS)
		return false;
	set->used[h] = true;
	memcpy(set->key[h], key, 16);
	set->n++;
	return true;
}

/*
 * The batch is in: wake the instructors, and the students among the
 * batch's senders (everyone, if there were many or the batch outran the
 * ring).  A student with nothing in the batch has its cursor moved past
 * it: a page asleep while the class sends more than the ring holds has
 * missed nothing of its own, and must not be told it fell behind.
 */
static void
console_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console *con = arg;
	struct senders set;
	struct ring_msg m;
	struct viewer *v;
	uint64_t start = con->batched, cursor = start, missed;
	bool all = false;

	(void)fd;
	(void)what;
	memset(set.used, 0, sizeof(set.used));
	set.n = 0;
	set.seed = con->seed;
	while (!all && ring_next(con->srv->ring, &cursor, NULL, &m, &missed))
		all = missed > 0 || !senders_has(&set, m.from,
		    addr_key_hash(m.from, set.seed), true);
	con->batched = all ? ring_newest(con->srv->ring) : cursor;
	LIST_FOREACH(v, &con->viewers, entry) {
		if (all || v->all || senders_has(&set, v->addr, v->hash,
		    false))
			http_stream_wake(v->st);
		else if (v->cursor >= start && v->cursor < con->batched)
			v->cursor = con->batched;
	}
}

/* Wake the streams that owe a heartbeat. */
static void
console_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console *con = arg;
	struct viewer *v;
	uint64_t now = clock_ms();

	(void)fd;
	(void)what;
	LIST_FOREACH(v, &con->viewers, entry)
		if (now - v->wrote_ms >= CONSOLE_HEARTBEAT_MS)
			http_stream_wake(v->st);
}

/* --- Requests -------------------------------------------------------- */

/* At accept: may the client at sa open the console at all? */
static bool
console_admit(void *arg, const struct sockaddr *sa)
{
	struct console *con = arg;
	char from[ECHOD_ADDRSTRLEN];
	unsigned char key[16];

	addr_key(sa, key);
	if (acl_permits(&con->srv->config->console.acl, key))
		return true;
	log_limited(&con->refused_log, ECHOD_LOG_INFO, "console %s: refused "
	    "%s: allow/deny", con->name,
	    addr_format_peer(sa, from, sizeof(from)));
	return false;
}

/* May the client at key open /class? */
static bool
console_instructor(const struct console *con, const unsigned char key[16])
{
	const struct echod_console_config *cc = &con->srv->config->console;

	return acl_list_holds(&cc->instructors, key);
}

/* A stream of events for the client at key: its messages, or all. */
static void
console_events(struct console *con, struct http_request *req,
    const unsigned char key[16], bool all)
{
	const char *last = http_header(req, "Last-Event-ID");
	struct viewer *v;
	char *end;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return; /* a 500 */
	v->con = con;
	memcpy(v->addr, key, 16);
	v->hash = addr_key_hash(key, con->seed);
	v->all = all;
	v->wrote_ms = clock_ms();
	/* A browser coming back goes on where it was; a new page starts
	 * with what the ring still holds. */
	if (last != NULL && last[0] >= '0' && last[0] <= '9') {
		errno = 0;
		v->cursor = strtoull(last, &end, 10);
		if (errno != 0 || *end != '\0')
			v->cursor = 0;
	}
	if ((v->st = http_reply_stream(req, "text/event-stream; "
	    "charset=utf-8", viewer_fill, viewer_done, v)) == NULL) {
		free(v);
		return;
	}
	LIST_INSERT_HEAD(&con->viewers, v, entry);
	con->nviewers++;
}

/* Scoreboard lines by protocol, address, port, transform. */
static int
score_cmp(const void *a, const void *b)
{
	const struct ring_score *x = a, *y = b;
	char px[8], py[8], ax[ECHOD_ADDRSTRLEN], ay[ECHOD_ADDRSTRLEN];
	int portx, porty, d;

	listener_parts(x->info->name, px, sizeof(px), ax, sizeof(ax), &portx);
	listener_parts(y->info->name, py, sizeof(py), ay, sizeof(ay), &porty);
	if ((d = strcmp(px, py)) != 0 || (d = strcmp(ax, ay)) != 0)
		return d;
	if (portx != porty)
		return portx < porty ? -1 : 1;
	return strcmp(x->info->transform, y->info->transform);
}

/* The scoreboard, as JSON. */
static void
console_scores(struct console *con, struct http_request *req)
{
	char name[2 * sizeof(((struct ring_listener_info *)0)->name)],
	    transform[2 * sizeof(((struct ring_listener_info *)0)->transform)],
	    proto[8], addr[ECHOD_ADDRSTRLEN], first[32], last[32];
	struct ring_score *s;
	struct evbuffer *out;
	size_t n, i, k;
	int port;

	if (ring_scores(con->srv->ring, &s, &n) == -1 ||
	    (out = evbuffer_new()) == NULL) {
		ring_scores_free(s, n);
		return;
	}
	qsort(s, n, sizeof(*s), score_cmp);
	evbuffer_add_printf(out, "{\"listeners\":[");
	for (i = 0; i < n; i++) {
		json_escape(s[i].info->name, name, sizeof(name));
		json_escape(s[i].info->transform, transform,
		    sizeof(transform));
		listener_parts(s[i].info->name, proto, sizeof(proto), addr,
		    sizeof(addr), &port);
		evbuffer_add_printf(out, "%s\n{\"listener\":\"%s\","
		    "\"protocol\":\"%s\",\"address\":\"%s\",\"port\":%d,"
		    "\"transform\":\"%s\",\"messages\":%" PRIu64 ","
		    "\"clients\":%zu,\"more\":%" PRIu64 ",\"addresses\":[",
		    i == 0 ? "" : ",", name, proto, addr, port, transform,
		    s[i].messages, s[i].naddrs, s[i].unlisted);
		for (k = 0; k < s[i].naddrs; k++) {
			key_text(s[i].addrs[k].addr, addr, sizeof(addr));
			iso_time(s[i].addrs[k].first_ms, first, sizeof(first));
			iso_time(s[i].addrs[k].last_ms, last, sizeof(last));
			evbuffer_add_printf(out, "%s{\"address\":\"%s\","
			    "\"messages\":%" PRIu64 ",\"first\":\"%s\","
			    "\"last\":\"%s\"}", k == 0 ? "" : ",", addr,
			    s[i].addrs[k].messages, first, last);
		}
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "]}\n");
	(void)http_reply(req, 200, "application/json",
	    (const char *)evbuffer_pullup(out, -1), evbuffer_get_length(out));
	evbuffer_free(out);
	ring_scores_free(s, n);
}

/* GET path from the client at sa. */
static void
console_get(void *arg, struct http_request *req, const char *path,
    const struct sockaddr *sa)
{
	static const char forbidden[] = "only an instructor may open "
	    "/class\n", not_found[] = "not found; try /\n";
	struct console *con = arg;
	const struct web_file *f;
	unsigned char key[16];

	addr_key(sa, key);
	if (strcmp(path, "/events") == 0) {
		console_events(con, req, key, false);
		return;
	}
	if (strncmp(path, "/class", 6) == 0 &&
	    (path[6] == '\0' || path[6] == '/') &&
	    !console_instructor(con, key)) {
		(void)http_reply(req, 403, "text/plain; charset=utf-8",
		    forbidden, sizeof(forbidden) - 1);
		return;
	}
	if (strcmp(path, "/class/events") == 0) {
		console_events(con, req, key, true);
		return;
	}
	if (strcmp(path, "/class/listeners") == 0) {
		console_scores(con, req);
		return;
	}
	if ((f = web_find(path)) != NULL) {
		(void)http_reply(req, 200, f->type, (const char *)f->data,
		    f->len);
		return;
	}
	(void)http_reply(req, 404, "text/plain; charset=utf-8", not_found,
	    sizeof(not_found) - 1);
}

/* --- The listener ---------------------------------------------------- */

struct console *
console_open(struct echod_server *srv, const struct echod_console_config *cc,
    int fd, char *err, size_t errlen)
{
	const struct http_limits lim = {
		.connections = (unsigned int)cc->max_viewers,
		.per_ip = (unsigned int)cc->max_viewers_per_ip,
		.timeout = CONSOLE_TIMEOUT,
		.deadline = CONSOLE_DEADLINE,
		.memory = CONSOLE_POOL,
		.sndbuf = CONSOLE_SNDBUF,
	};
	const struct timeval tick = { CONSOLE_TICK_MS / 1000, 0 };
	char label[ECHOD_ADDRSTRLEN + 16];
	struct console *con;

	if ((con = calloc(1, sizeof(*con))) == NULL ||
	    (con->cache = malloc(CONSOLE_CACHE * CONSOLE_EVENT_MAX)) == NULL) {
		snprintf(err, errlen, "console: out of memory");
		if (fd != -1)
			close(fd);
		free(con);
		return NULL;
	}
	con->srv = srv;
	LIST_INIT(&con->viewers);
	con->batched = ring_newest(srv->ring);
	if (getrandom(&con->seed, sizeof(con->seed), 0) != sizeof(con->seed))
		con->seed = (uint64_t)getpid();
	hostport_format(cc->address, cc->port, con->name, sizeof(con->name));
	snprintf(label, sizeof(label), "console %s", con->name);
	if (fd == -1 && (fd = sockets_open_numeric(srv->sockets, cc->address,
	    cc->port, label, err, errlen)) == -1)
		goto fail;
	if ((con->http = http_open(srv->base, fd, label, &lim, console_admit,
	    console_get, con, err, errlen)) == NULL)
		goto fail;
	con->batch = evtimer_new(srv->base, console_batch_cb, con);
	con->tick = event_new(srv->base, -1, EV_PERSIST, console_tick_cb,
	    con);
	if (con->batch == NULL || con->tick == NULL ||
	    event_add(con->tick, &tick) == -1) {
		snprintf(err, errlen, "%s: out of memory", label);
		goto fail;
	}
	return con;
fail:
	console_free(con);
	return NULL;
}

bool
console_same_socket(const struct echod_console_config *a,
    const struct echod_console_config *b)
{
	return addr_numeric_same(a->address, a->port, b->address, b->port);
}

bool
console_same_limits(const struct echod_console_config *a,
    const struct echod_console_config *b)
{
	return a->max_viewers == b->max_viewers &&
	    a->max_viewers_per_ip == b->max_viewers_per_ip;
}

int
console_fd(const struct console *con)
{
	return http_fd(con->http);
}

void
console_recheck(struct console *con)
{
	const struct acl *acl = &con->srv->config->console.acl;
	struct viewer *v;

	LIST_FOREACH(v, &con->viewers, entry)
		if (!acl_permits(acl, v->addr) ||
		    (v->all && !console_instructor(con, v->addr)))
			http_stream_end(v->st);
}

unsigned int
console_viewers(const struct console *con)
{
	return con->nviewers;
}

const char *
console_name(const struct console *con)
{
	return con->name;
}

void
console_free(struct console *con)
{
	if (con == NULL)
		return;
	/* Its streams end with it: each viewer_done frees its viewer. */
	http_free(con->http);
	if (con->batch != NULL)
		event_free(con->batch);
	if (con->tick != NULL)
		event_free(con->tick);
	free(con->cache);
	free(con);
}
