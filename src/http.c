/*
 * http.c: an HTTP listener (see http.h) on libmicrohttpd 0.9.75 in its
 * external-epoll mode, without threads of its own.  The main loop
 * watches the daemon's epoll descriptor and keeps one timer, and
 * http_run() calls MHD_run() and re-arms the timer from
 * MHD_get_timeout() after every turn: 0.9.75 has no way to wake the
 * loop itself.
 *
 * echod accepts (an evconnlistener on the socket) and hands each client
 * to MHD_add_connection(), which applies the limits on connections in
 * all and per address and the accept policy (allow/deny).  Left to
 * accept by itself, 0.9.75 spins when accept(2) fails for want of
 * descriptors with no connection open, and once it has dropped its
 * listening socket, it takes it back only on some later turn that may
 * not come.  Here, at the connection limit accepting stops (clients
 * wait in the kernel's queue) until one closes, and out of descriptors
 * it pauses and is retried from a timer, as echo clients are.
 *
 * libmicrohttpd's timeout is one of silence: a client that trickles its
 * headers a byte at a time keeps its connection for as long as its
 * memory pool lasts.  Each connection therefore has a deadline for its
 * request's headers, checked once a second: past it, the connection is
 * shut down and libmicrohttpd closes it.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "http.h"
#include "log.h"
#include "util.h"

#ifdef HAVE_LIBMICROHTTPD
#include <microhttpd.h>

/* After accept(2) failed for want of descriptors, try again this soon. */
#define HTTP_RETRY_MS 100
/* Run the daemon at least this often, whatever it says. */
#define HTTP_TICK_MS 1000

/* A connection, for its deadline. */
struct http_conn {
	LIST_ENTRY(http_conn) entry;
	int fd;
	uint64_t since_ms; /* waiting for a request's headers since */
	bool requested;	   /* they are in; being answered */
};

/* A streamed answer (http_reply_stream). */
struct http_stream {
	LIST_ENTRY(http_stream) entry;
	struct http *h;
	struct MHD_Connection *conn;
	http_fill_cb fill;
	void (*done)(void *);
	void *arg;
	struct event *watch;	/* has the client gone while it slept? */
	int fd;			/* the connection's socket */
	bool asleep;		/* suspended until http_stream_wake */
	bool gone;		/* to end: its client left while it slept,
				 * or http_stream_end */
};

struct http {
	struct MHD_Daemon *daemon;
	struct event_base *base;
	LIST_HEAD(, http_conn) conns;
	LIST_HEAD(, http_stream) streams;
	int sndbuf;
	uint64_t deadline_ms;	    /* for a request's headers */
	uint64_t swept_ms;	    /* when deadlines were last checked */
	struct evconnlistener *evl; /* ours: accepting */
	struct event *ready;	    /* the daemon's epoll descriptor */
	struct event *timer;	    /* MHD_get_timeout's, or HTTP_TICK_MS */
	struct event *retry;	    /* accepting again after EMFILE */
	http_admit_cb admit;
	http_get_cb get;
	void *arg;
	unsigned int open, limit;   /* connections, MHD's count of them */
	bool full;		    /* accepting stopped at the limit */
	bool closing;		    /* in http_free: accept nothing more */
	struct log_limit accept_log, mhd_log, slow_log;
	char name[96];
};

/* The request being answered, for http_reply. */
struct http_request {
	struct http *h;
	struct MHD_Connection *conn;
	bool answered;
};

bool
http_available(const char **why)
{
	*why = NULL;
	return true;
}

/* libmicrohttpd's own messages, into echod's log at a bounded rate. */
static void __attribute__((format(printf, 2, 0)))
http_log_cb(void *arg, const char *fmt, va_list ap)
{
	struct http *h = arg;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Mostly a client gone mid-answer (a page closed): echod's own
	 * lines say what an admin needs. */
	log_limited(&h->mhd_log, ECHOD_LOG_DEBUG, "%s: %s", h->name, msg);
}

/* A broken invariant inside libmicrohttpd: it must not return. */
static void
http_panic_cb(void *arg, const char *file, unsigned int line,
    const char *reason)
{
	(void)arg;
	fatalx("libmicrohttpd %s:%u: %s", file, line,
	    reason != NULL ? reason : "panic");
}

/* Shut down every connection whose request is late; libmicrohttpd
 * then reads its end and closes it. */
static void
http_sweep(struct http *h, uint64_t now)
{
	struct http_conn *hc;

	h->swept_ms = now;
	LIST_FOREACH(hc, &h->conns, entry)
		if (!hc->requested && now - hc->since_ms > h->deadline_ms &&
		    shutdown(hc->fd, SHUT_RDWR) == 0)
			log_limited(&h->slow_log, ECHOD_LOG_INFO, "%s: closing "
			    "a client that took over %llu s to send its "
			    "request", h->name,
			    (unsigned long long)(h->deadline_ms / 1000));
}

/* Let the daemon do what it can now, then wait for its next moment. */
static void
http_run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms = HTTP_TICK_MS;
	struct timeval tv;
	uint64_t now = clock_ms();

	if (now - h->swept_ms >= HTTP_TICK_MS)
		http_sweep(h, now);
	(void)MHD_run(h->daemon);
	if (MHD_get_timeout(h->daemon, &ms) != MHD_YES || ms > HTTP_TICK_MS)
		ms = HTTP_TICK_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	evtimer_add(h->timer, &tv);
}

static void
http_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_run(arg);
}

/* Accept again: room came back, or the retry timer ran out. */
static void
http_resume(struct http *h)
{
	/* Stopping, libmicrohttpd says each connection closed; the
	 * listener is gone by then. */
	if (h->closing)
		return;
	if (h->open < h->limit && evtimer_pending(h->retry, NULL) == 0) {
		h->full = false;
		evconnlistener_enable(h->evl);
	}
}

static void
http_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_resume(arg);
}

/*
 * MHD counts a connection in or out: accepting follows the limit, and
 * the deadline starts.  One there is no memory to watch is shut down at
 * once: unwatched, it could trickle for ever.
 */
static void
http_notify_cb(void *arg, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct http *h = arg;
	struct http_conn *hc = *socket_ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		h->open++;
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if ((hc = calloc(1, sizeof(*hc))) == NULL) {
			if (ci != NULL)
				(void)shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		hc->fd = ci != NULL ? ci->connect_fd : -1;
		hc->since_ms = clock_ms();
		LIST_INSERT_HEAD(&h->conns, hc, entry);
		*socket_ctx = hc;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	if (hc != NULL) {
		LIST_REMOVE(hc, entry);
		free(hc);
		*socket_ctx = NULL;
	}
	if (h->open > 0)
		h->open--;
	if (h->full)
		http_resume(h);
}

/* A request is answered: the next one on the connection has its own
 * deadline. */
static void
http_completed_cb(void *arg, struct MHD_Connection *conn, void **req_ctx,
    enum MHD_RequestTerminationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct http_conn *hc;

	(void)arg;
	(void)req_ctx;
	(void)code;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && (hc = ci->socket_context) != NULL) {
		hc->requested = false;
		hc->since_ms = clock_ms();
	}
}

static void
http_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http *h = arg;

	(void)evl;
	if (h->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &h->sndbuf,
		    sizeof(h->sndbuf));
	/* Refused (limits, allow/deny): closed by libmicrohttpd. */
	(void)MHD_add_connection(h->daemon, fd, sa, (socklen_t)salen);
	if (h->open >= h->limit) {
		h->full = true;
		evconnlistener_disable(h->evl);
	}
	http_run(h);
}

/* accept(2) failed for good (EMFILE, ENFILE...): an enabled listener
 * would be woken again at once, so rest it a while. */
static void
http_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct timeval tv = { 0, HTTP_RETRY_MS * 1000 };
	struct http *h = arg;
	int err = EVUTIL_SOCKET_ERROR();

	log_limited(&h->accept_log, ECHOD_LOG_WARNING, "%s: accept: %s; "
	    "pausing for %d ms", h->name, strerror(err), HTTP_RETRY_MS);
	evconnlistener_disable(evl);
	evtimer_add(h->retry, &tv);
}

static enum MHD_Result
http_policy_cb(void *arg, const struct sockaddr *sa, socklen_t salen)
{
	struct http *h = arg;

	(void)salen;
	return h->admit(h->arg, sa) ? MHD_YES : MHD_NO;
}

/* The headers every response carries. */
static int
http_headers(struct MHD_Response *r)
{
	static const char *const headers[][2] = {
		{ "Content-Security-Policy", "default-src 'self'" },
		{ "X-Content-Type-Options", "nosniff" },
		{ "Cache-Control", "no-store" },
		{ "Referrer-Policy", "no-referrer" },
	};
	size_t i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (MHD_add_response_header(r, headers[i][0], headers[i][1]) !=
		    MHD_YES)
			return -1;
	return 0;
}

int
http_reply(struct http_request *req, unsigned int status,
    const char *content_type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result queued;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL || http_headers(r) == -1 || (content_type != NULL &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    content_type) != MHD_YES)) {
		if (r != NULL)
			MHD_destroy_response(r);
		return -1;
	}
	queued = MHD_queue_response(req->conn, status, r);
	MHD_destroy_response(r);
	req->answered = queued == MHD_YES;
	return req->answered ? 0 : -1;
}

const char *
http_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Has the stream's client closed or reset its connection?  (Not when
 * it has sent something unread first: the heartbeat finds that one.) */
static bool
http_stream_peer_gone(const struct http_stream *st)
{
	char c;
	ssize_t n;

	n = recv(st->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

/* libmicrohttpd asks for more of a stream.  With nothing to send, the
 * connection is suspended: in external mode, a reader that returns 0
 * without suspending is asked again on every turn. */
static ssize_t
http_stream_reader(void *arg, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *st = arg;
	long n;

	(void)pos;
	if (st->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = st->fill(st->arg, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		/* A client gone while the stream was awake left no edge for
		 * the watch to see: look before sleeping. */
		if (http_stream_peer_gone(st))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		MHD_suspend_connection(st->conn);
		st->asleep = true;
	}
	return n;
}

/*
 * Something came on a stream's socket (edge-triggered: once per
 * arrival, so that nothing left unread can make it spin, and watched
 * for the stream's life, so that sleeping costs no system call).  While
 * the stream is awake, libmicrohttpd reads it.  libmicrohttpd watches
 * no suspended connection, so a client that left a sleeping stream
 * would hold its place (and count against its address's limit) until
 * the next heartbeat: on its EOF or reset, the stream ends now.
 * Anything else it sent is left for libmicrohttpd.
 */
static void
http_stream_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_stream *st = arg;

	(void)fd;
	(void)what;
	if (st->asleep && http_stream_peer_gone(st)) {
		st->gone = true;
		http_stream_wake(st);
	}
}

/* The stream is over, and its response freed. */
static void
http_stream_free(void *arg)
{
	struct http_stream *st = arg;

	LIST_REMOVE(st, entry);
	if (st->watch != NULL)
		event_free(st->watch);
	if (st->done != NULL)
		st->done(st->arg);
	free(st);
}

struct http_stream *
http_reply_stream(struct http_request *req, const char *content_type,
    http_fill_cb fill, void (*done)(void *), void *arg)
{
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *r;
	struct http_stream *st;

	ci = MHD_get_connection_info(req->conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || (st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	/* Without it (out of memory), a heartbeat finds the client gone. */
	st->watch = event_new(req->h->base, ci->connect_fd,
	    EV_READ | EV_PERSIST | EV_ET, http_stream_watch_cb, st);
	if (st->watch != NULL && event_add(st->watch, NULL) == -1) {
		event_free(st->watch);
		st->watch = NULL;
	}
	st->h = req->h;
	st->fd = ci->connect_fd;
	st->conn = req->conn;
	st->fill = fill;
	st->arg = arg;
	LIST_INSERT_HEAD(&req->h->streams, st, entry);
	/* The block is what HTTP/1.0 clients are sent from (HTTP/1.1 ones,
	 * chunked, from the connection's pool). */
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    HTTP_STREAM_MIN, http_stream_reader, st, http_stream_free);
	if (r == NULL) {
		LIST_REMOVE(st, entry);
		free(st);
		return NULL;
	}
	if (http_headers(r) == 0 &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    content_type) == MHD_YES &&
	    MHD_queue_response(req->conn, MHD_HTTP_OK, r) == MHD_YES) {
		req->answered = true;
		st->done = done; /* from now on, done is owed */
	}
	/* If queued, st lives on with the connection's reference; if
	 * not, this frees it (http_stream_free, done not called). */
	MHD_destroy_response(r);
	return req->answered ? st : NULL;
}

void
http_stream_end(struct http_stream *st)
{
	st->gone = true;
	http_stream_wake(st);
}

void
http_stream_wake(struct http_stream *st)
{
	if (!st->asleep)
		return;
	st->asleep = false;
	MHD_resume_connection(st->conn);
	/* 0.9.75 cannot wake the loop: run it soon, once for all. */
	event_active(st->h->timer, EV_TIMEOUT, 1);
}

/* A plain answer with no body but its reason. */
static enum MHD_Result
http_status(struct MHD_Connection *conn, unsigned int status,
    const char *text)
{
	struct http_request req = { NULL, conn, false };

	(void)http_reply(&req, status, "text/plain; charset=utf-8", text,
	    strlen(text));
	return req.answered ? MHD_YES : MHD_NO;
}

static enum MHD_Result
http_request_cb(void *arg, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **req_ctx)
{
	struct http *h = arg;
	const union MHD_ConnectionInfo *ci;
	struct http_request req = { h, conn, false };

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_ctx;
	/* The headers are in: the deadline is met. */
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && ci->socket_context != NULL)
		((struct http_conn *)ci->socket_context)->requested = true;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_status(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "only GET\n");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return MHD_NO;
	h->get(h->arg, &req, url, ci->client_addr);
	if (!req.answered)
		return http_status(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "no answer\n");
	return MHD_YES;
}

struct http *
http_open(struct event_base *base, int fd, const char *name,
    const struct http_limits *lim, http_admit_cb admit, http_get_cb get,
    void *arg, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *di;
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->admit = admit;
	h->get = get;
	h->arg = arg;
	h->base = base;
	h->limit = lim->connections;
	h->sndbuf = lim->sndbuf;
	LIST_INIT(&h->streams);
	h->deadline_ms = (uint64_t)lim->deadline * 1000;
	LIST_INIT(&h->conns);
	/* Process-wide, and the same every time. */
	MHD_set_panic_func(http_panic_cb, NULL);
	h->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, http_policy_cb, h, http_request_cb, h,
	    /* First, so that every message comes here. */
	    MHD_OPTION_EXTERNAL_LOGGER, http_log_cb, h,
	    MHD_OPTION_CONNECTION_LIMIT, lim->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->memory,
	    MHD_OPTION_NOTIFY_CONNECTION, http_notify_cb, h,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed_cb, h,
	    MHD_OPTION_END);
	if (h->daemon == NULL ||
	    (di = MHD_get_daemon_info(h->daemon,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		snprintf(err, errlen, "%s: libmicrohttpd would not start",
		    name);
		close(fd);
		http_free(h);
		return NULL;
	}
	h->evl = evconnlistener_new(base, http_accept_cb, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (h->evl == NULL) {
		close(fd);
		goto fail;
	}
	evconnlistener_set_error_cb(h->evl, http_accept_error_cb);
	h->ready = event_new(base, di->epoll_fd, EV_READ | EV_PERSIST,
	    http_ready_cb, h);
	h->timer = evtimer_new(base, http_ready_cb, h);
	h->retry = evtimer_new(base, http_retry_cb, h);
	if (h->ready == NULL || h->timer == NULL || h->retry == NULL ||
	    event_add(h->ready, NULL) == -1)
		goto fail;
	http_run(h);
	return h;
fail:
	snprintf(err, errlen, "%s: out of memory", name);
	http_free(h);
	return NULL;
}

int
http_fd(const struct http *h)
{
	return evconnlistener_get_fd(h->evl);
}

void
http_free(struct http *h)
{
	struct http_stream *st;
	struct http_conn *hc;

	if (h == NULL)
		return;
	h->closing = true;
	if (h->evl != NULL)
		evconnlistener_free(h->evl); /* and the socket */
	h->evl = NULL;
	/* Before the daemon, which closes the descriptor it watches. */
	if (h->ready != NULL)
		event_free(h->ready);
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->retry != NULL)
		event_free(h->retry);
	/* libmicrohttpd will not stop with a connection suspended; each
	 * stream's done is called as it stops. */
	LIST_FOREACH(st, &h->streams, entry)
		if (st->asleep) {
			st->asleep = false;
			MHD_resume_connection(st->conn);
		}
	if (h->daemon != NULL)
		MHD_stop_daemon(h->daemon);
	/* Any libmicrohttpd closed without a word. */
	while ((hc = LIST_FIRST(&h->conns)) != NULL) {
		LIST_REMOVE(hc, entry);
		free(hc);
	}
	free(h);
}

#else /* !HAVE_LIBMICROHTTPD */

bool
http_available(const char **why)
{
	*why = "echod was built without libmicrohttpd (configure "
	    "--with-microhttpd)";
	return false;
}

struct http *
http_open(struct event_base *base, int fd, const char *name,
    const struct http_limits *lim, http_admit_cb admit, http_get_cb get,
    void *arg, char *err, size_t errlen)
{
	const char *why;

	(void)base;
	(void)lim;
	(void)admit;
	(void)get;
	(void)arg;
	(void)http_available(&why);
	snprintf(err, errlen, "%s: %s", name, why);
	close(fd);
	return NULL;
}

int
http_reply(struct http_request *req, unsigned int status,
    const char *content_type, const char *body, size_t len)
{
	(void)req;
	(void)status;
	(void)content_type;
	(void)body;
	(void)len;
	return -1;
}

const char *
http_header(struct http_request *req, const char *name)
{
	(void)req;
	(void)name;
	return NULL;
}

struct http_stream *
http_reply_stream(struct http_request *req, const char *content_type,
    http_fill_cb fill, void (*done)(void *), void *arg)
{
	(void)req;
	(void)content_type;
	(void)fill;
	(void)done;
	(void)arg;
	return NULL;
}

void
http_stream_wake(struct http_stream *st)
{
	(void)st;
}

void
http_stream_end(struct http_stream *st)
{
	(void)st;
}

int
http_fd(const struct http *h)
{
	(void)h;
	return -1;
}

void
http_free(struct http *h)
{
	(void)h;
}

#endif
