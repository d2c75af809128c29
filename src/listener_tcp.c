/*
 * listener_tcp.c: TCP echo.  With framing "stream" (RFC 862), bytes go
 * back as they arrive, transformed in place, each read's worth handed to
 * the kernel as one write; nothing is added and nothing waits for a
 * newline.  With framing "line", each line is one message: its reply is
 * the transformed line and the same terminator ("\n" or "\r\n").  A
 * line longer than max_line closes the connection; at EOF an
 * unterminated last line is answered as it is.
 *
 * The main thread accepts and hands each connection to a worker, round
 * robin.  The data path is the worker's own, on one event per
 * connection: read up to WORKER_READ_SIZE bytes into the worker's
 * buffer, transform them there, write them back with one send.  Only
 * what the kernel does not take at once is copied, into a buffer of the
 * connection's own; while it waits, the connection is not read, so a
 * client that does not read holds at most one read's worth.  A partial
 * line waits in a second such buffer.  Both are freed once empty: an
 * idle connection holds no buffer memory.
 *
 * A connection's life:
 *   PROXY     proxy_protocol only, on the main thread before any worker
 *             has it: its PROXY header, whole, under a deadline of
 *             ECHOD_PROXY_SECONDS; then it is weighed again as the
 *             client the header names (admit.h), and handed over.
 *   HANDSHAKE TLS only: the handshake, under its own deadline
 *             (handshake_timeout); a failure is counted as a refusal.
 *   OPEN      reading and echoing (or sending what is pending).
 *   FLUSHING  the client sent EOF: send what is pending, then close.
 *   REPLIED   no more replies (close_after_reply answered its first
 *             message, or a line was longer than max_line): once what is
 *             pending is sent, shut the write side and linger.
 *   LINGERING discard input until the client closes (bounded in time and
 *             bytes), so that closing never resets a reply still in
 *             flight to the client.
 *
 * On SIGTERM no connection is cut short while the client still talks to
 * it.  One that is settled (no input unread or held, no reply waiting,
 * and nothing received for TCP_SETTLED_MS, so that none can be on its
 * way) closes at once, and so does each one that settles later; the
 * others are read and answered as before until the client shuts down
 * its side.  When the server's shutdown_timeout runs
 * out, a connection still holding input it has not answered is reset
 * (SO_LINGER 0), never closed with a FIN: a clean close must mean the
 * echo is complete.  REPLIED and LINGERING connections end as they
 * would have, lingering only until the client has acknowledged every
 * reply (SIOCOUTQ).
 *
 * The bytes move through the connection's conn_io (conn_io.h): the
 * state machine here never calls recv, send or shutdown itself, and
 * runs the same over plain TCP and TLS.  Two things differ, and are
 * asked of the conn_io: which readiness a read or a write waits for
 * (TLS may read to write, or write to read), and input that the socket
 * does not show (TLS: decrypted already), for which the connection's
 * event is made active rather than waited for.  A clean end (nothing
 * owed, no line cut short) sends TLS's close_notify; any other never
 * does, so that a client cannot take a cut-short echo for a whole one.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "admit.h"
#include "config.h"
#include "conn_io.h"
#include "framing.h"
#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "server_state.h"
#include "tls.h"
#include "transform.h"
#include "worker.h"

#define TCP_LINGER_SECONDS 5		 /* how long to wait for the peer's FIN */
#define TCP_LINGER_MAX (64 * 1024)	 /* how much to discard meanwhile */
#define TCP_WIND_DOWN_POLL_MS 100	 /* shutting down: look again */
#define TCP_SETTLED_MS 500		 /* quiet for this long: nothing in flight */

enum conn_state {
	CONN_PROXY,
	CONN_HANDSHAKE,
	CONN_OPEN,
	CONN_FLUSHING,
	CONN_REPLIED,
	CONN_LINGERING,
};

struct conn {
	struct worker_task handoff; /* from the acceptor to the worker */
	LIST_ENTRY(conn) entry;
	struct shard *shard;
	/* Its listener's settings when it was accepted: a reload changes
	 * them for new connections only.  Holds a reference. */
	const struct echod_listener_config *lc;
	const struct timeval *idle; /* lc's idle_timeout on this loop */
	struct conn_io io;	    /* its socket, and how bytes move on it */
	short watching; /* EV_READ or EV_WRITE: what ev waits for */
	enum conn_state state;
	bool winding_down;   /* echod is shutting down */
	bool cut_short;	     /* input went unanswered (a line too long) */
	bool quiet;	     /* a balancer's health check: not logged */
	bool peer_counted;   /* counted under count_key (admit_client) */
	/* framing "line": a line not yet ended (PROXY: the header so far) */
	struct framing_hold in;
	struct framing_buf out; /* reply bytes the kernel did not take yet */
	union {
		size_t discarded;   /* LINGERING: input thrown away */
		/* PROXY, HANDSHAKE: clock_ms() the header or the handshake
		 * is due, however many bytes trickle in meanwhile */
		uint64_t deadline;
	};
	union sockaddr_any peer;
	unsigned char count_key[16]; /* admitted under it (admit_client) */
	/* The connection's one event, event_get_struct_event_size() bytes:
	 * allocated with the connection, not apart from it. */
	alignas(max_align_t) unsigned char ev[];
};

#define CONN_EV(c) ((struct event *)(void *)(c)->ev)

static void tcp_conn_cb(evutil_socket_t, short, void *);

/* A debug line about c, its peer's address formatted only if shown. */
static void __attribute__((format(printf, 2, 3)))
conn_debug(const struct conn *c, const char *fmt, ...)
{
	char peer[ECHOD_ADDRSTRLEN], msg[256];
	va_list ap;

	if (log_get_level() < ECHOD_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("%s: %s: %s", c->shard->listener->name,
	    addr_format(&c->peer.sa, peer, sizeof(peer)), msg);
}

/* Release what a closed connection held on its worker.  Only one that
 * holds nothing unanswered ends in a way that says it is complete. */
static void
conn_close(struct conn *c)
{
	conn_debug(c, "closed");
	LIST_REMOVE(c, entry);
	if (c->watching != 0)
		event_del(CONN_EV(c));
	c->io.ops->close(&c->io, c->state != CONN_HANDSHAKE && !c->cut_short &&
	    c->out.len == 0 && c->in.buf.len == 0);
	framing_buf_free(&c->in.buf);
	framing_buf_free(&c->out);
}

/* On the main thread: take a closed connection off the books. */
static void
tcp_conn_forget(struct conn *c)
{
	admit_release(c->shard->listener, c->peer_counted ? c->count_key :
	    NULL);
	config_unref(c->lc->config);
	free(c);
}

static void
tcp_conn_release(struct worker_task *t)
{
	struct conn *c = (struct conn *)(void *)t;
	struct listener *l = c->shard->listener;
	struct echod_server *srv = l->server;

	tcp_conn_forget(c);
	listener_settle(l);
	server_conn_closed(srv);
}

/* Close c, and hand it back to the main thread, which admitted it. */
static void
conn_free(struct conn *c)
{
	struct worker *self = c->shard->worker;

	conn_close(c);
	c->handoff.run = tcp_conn_release;
	worker_post(&self->server->workers[0], self, &c->handoff);
}

/* What is left of c's deadline, at least 1 ms: a persistent event's
 * timeout starts again each time it fires, and the deadline must not. */
static const struct timeval *
conn_time_left(const struct conn *c, struct timeval *tv)
{
	uint64_t now = clock_ms(), ms = c->deadline > now ?
	    c->deadline - now : 1;

	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
	return tv;
}

/* The readiness a read waits for: EV_READ, unless TLS must write
 * first.  And a write's: EV_WRITE, unless TLS must read first. */
static short
conn_read_event(const struct conn *c)
{
	return c->io.recv_wants_write ? EV_WRITE : EV_READ;
}

static short
conn_write_event(const struct conn *c)
{
	return c->io.send_wants_read ? EV_READ : EV_WRITE;
}

/*
 * Wait for what (EV_READ, EV_WRITE or both), with the listener's
 * idle_timeout; while lingering, for TCP_LINGER_SECONDS instead.  The
 * event persists, and libevent restarts a persistent event's timeout
 * each time it fires, so the idle timer costs nothing per message.
 */
static int
conn_watch(struct conn *c, short what)
{
	static const struct timeval linger = { TCP_LINGER_SECONDS, 0 },
	    poll = { 0, TCP_WIND_DOWN_POLL_MS * 1000 };
	bool lingering = c->state == CONN_LINGERING;
	bool handshake = c->state == CONN_HANDSHAKE;
	const struct timeval *tv = c->idle;
	struct timeval left;

	if (c->watching == what && !lingering && !handshake &&
	    !c->winding_down)
		return 0;
	if (c->watching != 0)
		event_del(CONN_EV(c));
	c->watching = what;
	event_assign(CONN_EV(c), c->shard->worker->base, c->io.fd,
	    what | EV_PERSIST, tcp_conn_cb, c);
	if (c->winding_down)
		tv = &poll;
	else if (lingering)
		tv = &linger;
	else if (handshake)
		tv = conn_time_left(c, &left);
	return event_add(CONN_EV(c), tv);
}

/* One send: the bytes the kernel took (0 if none now), -1 if broken. */
static ssize_t
conn_write(struct conn *c, const unsigned char *p, size_t n)
{
	ssize_t w;

	if ((w = c->io.ops->send(&c->io, p, n)) != -1) {
		COUNT(c->shard->bytes_out, w);
		return w;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	conn_debug(c, "send: %s", strerror(errno));
	return -1;
}

/*
 * Send p[0..n-1], keeping what the kernel does not take.  -1 if the
 * connection is broken (the caller frees it).
 */
static int
conn_send(struct conn *c, const unsigned char *p, size_t n)
{
	ssize_t w = 0;

	if (n == 0)
		return 0;
	if (c->out.len == 0 && (w = conn_write(c, p, n)) == -1)
		return -1;
	if ((size_t)w < n && framing_buf_add(&c->out, p + w, n - w) == -1) {
		log_limited(&c->shard->oom_log, ECHOD_LOG_WARNING, "%s: no "
		    "memory for a reply; closing", c->shard->listener->name);
		c->cut_short = true; /* the reply is not whole */
		return -1;
	}
	return 0;
}

/* Send what is pending; -1 if the connection is broken. */
static int
conn_flush(struct conn *c)
{
	ssize_t w;

	if ((w = conn_write(c, c->out.data + c->out.off, c->out.len)) == -1)
		return -1;
	framing_buf_consume(&c->out, (size_t)w);
	return 0;
}

/* Winding down: has the client acknowledged every byte sent to it?
 * Closing can then reset nothing it has not got. */
static bool
conn_all_acked(const struct conn *c)
{
	return c->io.ops->all_acked(&c->io);
}

/* Does c hold input it has not answered: read or not, or replied to
 * but not yet handed to the kernel? */
static bool
conn_owes(const struct conn *c)
{
	return c->out.len > 0 || c->in.buf.len > 0 ||
	    c->io.ops->unread(&c->io) > 0;
}

/*
 * Shutting down: can c close now without cutting its client short?
 * Only if it owes nothing and has been quiet long enough that no input
 * can still be on its way (held back by a full receive window, say):
 * what arrived after the close would be lost behind a clean FIN.
 */
static bool
conn_settled(const struct conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (conn_owes(c))
		return false;
	if (getsockopt(c->io.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return true; /* broken: nothing more will come */
	return ti.tcpi_last_data_recv >= TCP_SETTLED_MS;
}

/* The reply is sent: send FIN, then wait for the peer's. */
static void
conn_linger(struct conn *c)
{
	c->state = CONN_LINGERING;
	c->discarded = 0; /* shares its room with PROXY's deadline */
	framing_buf_free(&c->in.buf);
	if (c->io.ops->shutdown(&c->io, !c->cut_short) == -1 ||
	    (c->winding_down && conn_all_acked(c)) ||
	    conn_watch(c, EV_READ) == -1)
		conn_free(c);
}

/*
 * After an event: wait for what the state needs next, or close.  A
 * client is read while less than max_pending bytes of replies wait for
 * it, so one that does not read holds that much at most.  Input the
 * socket will not announce (TLS: decrypted already) is read at the
 * loop's next turn, and only while reading: so never in a spin.
 */
static void
conn_next(struct conn *c)
{
	size_t max = (size_t)c->lc->limits.max_pending;
	short what = 0;
	bool reading = false;

	if (c->out.len > 0) {
		what = conn_write_event(c);
		reading = c->state == CONN_OPEN && c->out.len < max;
	} else
		switch (c->state) {
		case CONN_HANDSHAKE: /* shutting down: it is owed nothing */
		case CONN_OPEN:
			if (c->winding_down && (c->state == CONN_HANDSHAKE ||
			    conn_settled(c))) {
				conn_free(c);
				return;
			}
			reading = true;
			break;
		case CONN_FLUSHING:
			conn_free(c);
			return;
		case CONN_PROXY: /* the main thread's, never a worker's */
		case CONN_REPLIED:
			conn_linger(c);
			return;
		case CONN_LINGERING:
			return;
		}
	if (reading)
		what |= conn_read_event(c);
	if (conn_watch(c, what) == -1) {
		conn_free(c);
		return;
	}
	if (reading && c->io.ops->pending != NULL &&
	    c->io.ops->pending(&c->io) > 0)
		event_active(CONN_EV(c), conn_read_event(c), 0);
}

/* Answer one message (a read, or a line) in place, counted and logged;
 * false once no more are to be answered.  framing_lines' callback. */
static bool
tcp_conn_message(void *arg, unsigned char *p, size_t len)
{
	struct conn *c = arg;
	const struct echod_listener_config *lc = c->lc;

	COUNT(c->shard->messages_in, 1);
	COUNT(c->shard->messages_out, 1);
	listener_answer(c->shard, lc, c->quiet ? NULL : &c->peer.sa, p, len);
	if (lc->close_after_reply)
		c->state = CONN_REPLIED;
	return c->state == CONN_OPEN;
}

/* framing "stream": each read is one message. */
static int
tcp_conn_stream(struct conn *c, unsigned char *p, size_t n)
{
	COUNT(c->shard->bytes_in, n);
	(void)tcp_conn_message(c, p, n);
	return conn_send(c, p, n);
}

/*
 * framing "line": a line too long to answer ends the connection, the
 * way close_after_reply does, so that replies already queued still
 * arrive instead of being cut off by a reset.
 */
static void
tcp_conn_too_long(struct conn *c)
{
	char peer[ECHOD_ADDRSTRLEN];

	log_limited(&c->shard->long_log, ECHOD_LOG_INFO, "%s: %s: a line "
	    "longer than max_line (%d bytes); closing",
	    c->shard->listener->name,
	    addr_format(&c->peer.sa, peer, sizeof(peer)), c->lc->max_line);
	c->state = CONN_REPLIED;
	c->cut_short = true;
}


/* framing "line": the bytes of the lines just answered go back. */
static int
tcp_conn_reply(void *arg, const unsigned char *p, size_t n)
{
	struct conn *c = arg;

	COUNT(c->shard->bytes_in, n);
	return conn_send(c, p, n);
}

/* framing "line": answer every line p[0..n-1] completes with one send,
 * and hold the unfinished last one. */
static int
tcp_conn_lines(struct conn *c, unsigned char *p, size_t n)
{
	enum framing_result r;

	if (framing_read(&c->in, p, n, (size_t)c->lc->max_line,
	    tcp_conn_message, tcp_conn_reply, c, &r) == -1)
		return -1;
	if (r == FRAMING_TOO_LONG)
		tcp_conn_too_long(c);
	return 0;
}

/* EOF from the client: answer an unterminated last line, then close. */
static void
tcp_conn_eof(struct conn *c)
{
	enum framing_result r;

	if (c->state == CONN_OPEN) {
		if (framing_eof(&c->in, (size_t)c->lc->max_line,
		    tcp_conn_message, tcp_conn_reply, c, &r) == -1) {
			conn_free(c);
			return;
		}
		if (r == FRAMING_TOO_LONG)
			tcp_conn_too_long(c);
	}
	if (c->state == CONN_LINGERING || c->out.len == 0) {
		conn_free(c);
		return;
	}
	/* Half-closed: send the rest, then close. */
	c->state = CONN_FLUSHING;
	conn_next(c);
}

/* Read what the client sent and answer it; c may be freed. */
static void
tcp_conn_read(struct conn *c)
{
	const struct echod_listener_config *lc = c->lc;
	unsigned char *p = c->shard->worker->rbuf;
	size_t room = WORKER_READ_SIZE;
	char what[128];
	ssize_t n;
	int rc;

	/* Never more than max_pending can come to wait in out. */
	if (c->state != CONN_LINGERING) {
		if (c->out.len >= (size_t)lc->limits.max_pending) {
			conn_next(c);
			return;
		}
		if ((size_t)lc->limits.max_pending - c->out.len < room)
			room = (size_t)lc->limits.max_pending - c->out.len;
	}
	if ((n = c->io.ops->recv(&c->io, p, room)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			conn_next(c);
			return;
		}
		if (c->io.violation != NULL) {
			snprintf(what, sizeof(what), "TLS: %s",
			    c->io.violation);
			listener_refused(c->shard, &c->peer.sa, REFUSED_TLS,
			    what);
		} else
			conn_debug(c, "%s", strerror(errno));
		conn_free(c);
		return;
	}
	if (n == 0) {
		tcp_conn_eof(c);
		return;
	}
	if (c->state == CONN_LINGERING) {
		c->discarded += n;
		if (c->winding_down ? conn_all_acked(c) :
		    c->discarded > TCP_LINGER_MAX)
			conn_free(c);
		return;
	}
	if (lc->framing == ECHOD_FRAMING_STREAM)
		rc = tcp_conn_stream(c, p, n);
	else
		rc = tcp_conn_lines(c, p, n);
	if (rc == -1)
		conn_free(c);
	else
		conn_next(c);
}

/* TLS: the handshake, as far as it can go now; then the first read. */
static void
tcp_conn_handshake(struct conn *c)
{
	char why[128], what[160];
	int r;

	if ((r = c->io.ops->handshake(&c->io, why, sizeof(why))) == 0) {
		conn_next(c);
		return;
	}
	if (r == -1) {
		/* Empty why: gone before a word, as a port scan is. */
		if (why[0] != '\0') {
			snprintf(what, sizeof(what), "TLS handshake: %s", why);
			listener_refused(c->shard, &c->peer.sa, REFUSED_TLS,
			    what);
		} else
			conn_debug(c, "gone before the TLS handshake");
		conn_free(c);
		return;
	}
	if (log_get_level() >= ECHOD_LOG_DEBUG)
		conn_debug(c, "%s", conn_io_tls_describe(&c->io, why,
		    sizeof(why)));
	c->state = CONN_OPEN;
	c->idle = worker_timeout(c->shard->worker, &c->lc->idle);
	if (c->watching != 0) /* a new timeout: conn_watch adds it again */
		event_del(CONN_EV(c));
	c->watching = 0;
	/* The client may have sent its first message with its last
	 * handshake flight: read now rather than wait to be told. */
	tcp_conn_read(c);
}

/* The TLS handshake took longer than handshake_timeout. */
static void
tcp_conn_handshake_late(struct conn *c)
{
	char what[64];

	snprintf(what, sizeof(what), "TLS handshake not done in %d s",
	    c->lc->tls->handshake_timeout);
	listener_refused(c->shard, &c->peer.sa, REFUSED_TLS, what);
	conn_free(c);
}

/* idle_timeout: nothing came in, and no reply moved, for that long. */
static void
tcp_conn_idle(struct conn *c)
{
	char peer[ECHOD_ADDRSTRLEN];
	struct shard *sh = c->shard;

	COUNT(sh->idle_closed, 1);
	log_limited(&sh->idle_log, ECHOD_LOG_INFO, "%s: %s: idle for %d s; "
	    "closing", sh->listener->name,
	    addr_format_peer(&c->peer.sa, peer, sizeof(peer)),
	    c->lc->limits.idle_timeout);
	conn_free(c);
}

static void
tcp_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->state == CONN_HANDSHAKE) {
		if (what & EV_TIMEOUT)
			tcp_conn_handshake_late(c);
		else
			tcp_conn_handshake(c);
		return;
	}
	if (what & EV_TIMEOUT) {
		if (c->state == CONN_LINGERING) {
			if (c->winding_down && !conn_all_acked(c))
				return; /* the shutdown's deadline bounds it */
			conn_debug(c, "no FIN from the client");
			conn_free(c);
		} else if (c->winding_down)
			conn_next(c); /* settled yet? */
		else
			tcp_conn_idle(c);
		return;
	}
	if ((what & conn_write_event(c)) && c->out.len > 0 &&
	    conn_flush(c) == -1) {
		conn_free(c);
		return;
	}
	if (what & conn_read_event(c))
		tcp_conn_read(c);
	else
		conn_next(c);
}

/* SIGTERM, on sh's worker: each connection closes once it is settled,
 * and is served until then (see the top of this file). */
static void
tcp_wind_down(struct shard *sh)
{
	struct conn *c, *next;

	for (c = LIST_FIRST(&sh->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		c->winding_down = true;
		if (c->state != CONN_LINGERING)
			conn_next(c);
	}
}

/* On the worker's thread: start serving a handed-over connection. */
static void
tcp_conn_start(struct worker_task *t)
{
	struct conn *c = (struct conn *)(void *)t;

	const struct echod_tls_config *tls = c->lc->tls;

	LIST_INSERT_HEAD(&c->shard->conns, c, entry);
	conn_debug(c, "connected, worker %u", c->shard->worker->id);
	if (tls == NULL) {
		c->idle = worker_timeout(c->shard->worker, &c->lc->idle);
		if (conn_watch(c, EV_READ) == -1)
			conn_free(c);
		return;
	}
	c->state = CONN_HANDSHAKE;
	c->deadline = clock_ms() + (uint64_t)tls->handshake_timeout * 1000;
	if (conn_io_tls_init(&c->io, tls->ctx, c->io.fd) == -1) {
		log_limited(&c->shard->oom_log, ECHOD_LOG_WARNING, "%s: no "
		    "memory for a TLS connection; closing it",
		    c->shard->listener->name);
		conn_free(c);
		return;
	}
	tcp_conn_handshake(c);
}

/* --- proxy_protocol: the header, read on the main thread ---------- */

static void tcp_proxy_cb(evutil_socket_t, short, void *);

/* Hand c to its worker (CONN_PROXY: its header read, its client in). */
static void
tcp_conn_hand_over(struct conn *c)
{
	struct echod_server *srv = c->shard->listener->server;

	c->state = CONN_OPEN;
	c->handoff.run = tcp_conn_start;
	worker_post(c->shard->worker, &srv->workers[0], &c->handoff);
}

/* Close c, waiting for its header, and take it off the main thread's
 * list; what holds it on the books stays for the caller to release. */
static void
tcp_proxy_close(struct conn *c)
{
	LIST_REMOVE(c, entry);
	if (c->watching != 0)
		event_del(CONN_EV(c));
	framing_buf_free(&c->in.buf);
	close(c->io.fd);
}

/* Close c, not handed over yet, and take it off the books: refused for
 * why if given (a PROXY refusal, counted and logged), else quietly. */
static void
tcp_proxy_drop(struct conn *c, const char *why)
{
	struct listener *l = c->shard->listener;

	if (why != NULL)
		listener_refused(&l->shards[0], &c->peer.sa, REFUSED_PROXY,
		    why);
	else
		conn_debug(c, "closed before a whole PROXY header");
	tcp_proxy_close(c);
	tcp_conn_release(&c->handoff);
}

/* The header is in: weigh the client it names, then hand c over. */
static void
tcp_proxy_client(struct conn *c, const struct proxy_header *h)
{
	struct listener *l = c->shard->listener;
	struct guard_refusal no;
	unsigned char key[16];

	/* A balancer's own check (LOCAL, UNKNOWN): served, as the balancer
	 * proxy_from trusts, not weighed as a client nor shown as the
	 * class's; counted under no address. */
	c->quiet = h->local;
	if (!h->local) {
		addr_key(&h->src.sa, key);
		if (addr_key_is_bogus_source(key)) {
			tcp_proxy_drop(c, "a PROXY header naming no client");
			return;
		}
		c->peer = h->src;
		if (!admit_client(l, &c->peer.sa, key, &no, ADMIT_PEER)) {
			listener_refused(&l->shards[0], &c->peer.sa, no.why,
			    no.what);
			tcp_proxy_close(c);
			tcp_conn_release(&c->handoff);
			return;
		}
		memcpy(c->count_key, key, sizeof(c->count_key));
		c->peer_counted = true;
	}
	LIST_REMOVE(c, entry);
	if (c->watching != 0)
		event_del(CONN_EV(c));
	c->watching = 0;
	framing_buf_free(&c->in.buf);
	tcp_conn_hand_over(c);
}

/*
 * More of c's header may be in.  It is looked at, not taken, so that
 * what follows it stays in the socket for the worker (or for TLS); what
 * is only the beginning of a header is taken, so that the socket does
 * not stay readable (and the loop spin) until the rest comes.  True if
 * c waits for more; false once it is handed over or gone.
 */
static bool
tcp_proxy_read(struct conn *c)
{
	unsigned char buf[PROXY_HEADER_MAX], sink[PROXY_HEADER_MAX];
	size_t have = c->in.buf.len;
	struct proxy_header h;
	const char *why;
	ssize_t n;
	int r;

	if (have > 0)
		memcpy(buf, c->in.buf.data, have);
	n = recv(c->io.fd, buf + have, sizeof(buf) - have, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) { /* closed: a balancer's connect-only check, say */
		tcp_proxy_drop(c, have > 0 ? "closed in its PROXY header" :
		    NULL);
		return false;
	}
	if ((r = proxy_parse(buf, have + (size_t)n, false, &h, &why)) == -1) {
		tcp_proxy_drop(c, why);
		return false;
	}
	/* Take the header's bytes (all of them there, if r == 0). */
	n = r == 0 ? n : r - (ssize_t)have;
	if (recv(c->io.fd, sink, (size_t)n, 0) != n ||
	    (r == 0 && framing_buf_add(&c->in.buf, buf + have,
	    (size_t)n) == -1)) {
		tcp_proxy_drop(c, "out of memory or a read error");
		return false;
	}
	if (r == 0)
		return true;
	tcp_proxy_client(c, &h);
	return false;
}

/* Wait for (more of) c's header, until its deadline. */
static void
tcp_proxy_wait(struct conn *c)
{
	struct timeval left;

	if (clock_ms() >= c->deadline) {
		tcp_proxy_drop(c, "no whole PROXY header in time");
		return;
	}
	event_assign(CONN_EV(c), c->shard->listener->server->base, c->io.fd,
	    EV_READ, tcp_proxy_cb, c);
	c->watching = EV_READ;
	if (event_add(CONN_EV(c), conn_time_left(c, &left)) == -1)
		tcp_proxy_drop(c, "out of memory");
}

static void
tcp_proxy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	c->watching = 0; /* not persistent: done */
	if (what & EV_TIMEOUT)
		tcp_proxy_drop(c, "no whole PROXY header in time");
	else if (tcp_proxy_read(c))
		tcp_proxy_wait(c);
}

/* proxy_protocol: c's header first, the main thread reading it. */
static void
tcp_proxy_start(struct conn *c)
{
	struct listener *l = c->shard->listener;

	c->state = CONN_PROXY;
	c->deadline = clock_ms() + ECHOD_PROXY_SECONDS * 1000;
	LIST_INSERT_HEAD(&l->proxy_waiting, c, entry);
	/* A balancer often sends the header at once, or with the client's
	 * first bytes: it may be in already, and no wait is needed. */
	if (tcp_proxy_read(c))
		tcp_proxy_wait(c);
}

/* Is the peer at sa one of proxy_from's balancers? */
static bool
tcp_proxy_trusted(const struct listener *l, const struct sockaddr *sa)
{
	unsigned char key[16];

	addr_key(sa, key);
	return acl_list_holds(&l->conf->proxy_from, key);
}

/* Every connection waiting for its header, closed and off the books,
 * l left for its caller to settle (main thread). */
static void
tcp_proxy_close_all(struct listener *l)
{
	struct conn *c;

	while ((c = LIST_FIRST(&l->proxy_waiting)) != NULL) {
		tcp_proxy_close(c);
		tcp_conn_forget(c);
	}
	server_conn_closed(l->server);
}

/* ------------------------------------------------------------------ */

static void
tcp_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct echod_server *srv = l->server;
	bool proxied = l->conf->proxy_protocol;
	struct worker *w;
	struct conn *c;
	struct guard_refusal no;
	unsigned char key[16];
	int on = 1;

	(void)evl;
	/* Turned away at once: closed, so the client is not left waiting. */
	if (proxied && !tcp_proxy_trusted(l, sa)) {
		close(fd);
		listener_refused(&l->shards[0], sa, REFUSED_PROXY,
		    "not one of proxy_from's balancers");
		return;
	}
	if (!admit_client(l, sa, key, &no, proxied ? ADMIT_CONNECTION :
	    ADMIT_ALL)) {
		close(fd);
		listener_refused(&l->shards[0], sa, no.why, no.what);
		return;
	}
	if ((c = calloc(1, sizeof(*c) + event_get_struct_event_size())) ==
	    NULL) {
		/* Worker 0's shard: this is its thread. */
		log_limited(&l->shards[0].oom_log, ECHOD_LOG_WARNING, "%s: no "
		    "memory for a connection; closing it", l->name);
		close(fd);
		admit_release(l, proxied ? NULL : key);
		return;
	}
	w = &srv->workers[srv->next_worker];
	if (++srv->next_worker == srv->nworkers)
		srv->next_worker = 0;
	c->shard = &l->shards[w->id];
	c->lc = l->conf;
	config_ref(l->conf->config);
	c->io.ops = &conn_io_plain;
	c->io.fd = fd;
	memcpy(c->count_key, key, sizeof(c->count_key));
	c->peer_counted = !proxied;
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen :
	    sizeof(c->peer));
	/* Replies are small and awaited: never hold them back (Nagle). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (proxied)
		tcp_proxy_start(c);
	else
		tcp_conn_hand_over(c);
}

/*
 * accept(2) failed in a way libevent does not retry.  Out of
 * descriptors or memory, the pending connection stays queued and the
 * socket stays readable, so accepting again at once would spin: pause.
 */
static void
tcp_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	static struct log_limit ll;
	int err = EVUTIL_SOCKET_ERROR();

	(void)evl;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		admit_pause(l->server, err);
	else
		log_limited(&ll, ECHOD_LOG_WARNING, "%s: accept: %s", l->name,
		    strerror(err));
}

static int
tcp_start(struct listener *l, char *err, size_t errlen)
{
	LIST_INIT(&l->proxy_waiting);
	/* Backlog 0: listener_open has called listen() already. */
	l->evl = evconnlistener_new(l->server->base, tcp_accept_cb, l,
	    LEV_OPT_CLOSE_ON_EXEC, 0, l->fd);
	if (l->evl == NULL) {
		snprintf(err, errlen, "%s: %s", l->name, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, tcp_accept_error_cb);
	if (admit_paused(l->server))
		evconnlistener_disable(l->evl);
	return 0;
}

/* Accept no more; the connections stay on their workers (those still
 * in their PROXY header, never served, are closed). */
static void
tcp_retire(struct listener *l)
{
	tcp_proxy_close_all(l);
	evconnlistener_free(l->evl);
	l->evl = NULL;
	close(l->fd);
	l->fd = -1;
}

/*
 * Every worker is at rest: their connections can be closed from here.
 * Any left are cut off by shutdown_timeout or a second signal: one that
 * holds input it has not answered is reset, so that its client cannot
 * mistake what it got for the whole echo.
 */
static void
tcp_stop(struct listener *l)
{
	static const struct linger reset = { 1, 0 };
	struct conn *c;
	unsigned int i, resets = 0;

	for (i = 0; i < l->server->nworkers; i++)
		while ((c = LIST_FIRST(&l->shards[i].conns)) != NULL) {
			if (c->state != CONN_LINGERING && conn_owes(c) &&
			    setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &reset,
			    sizeof(reset)) == 0)
				resets++;
			conn_close(c);
			tcp_conn_forget(c);
		}
	if (resets > 0)
		log_info("%s: reset %u connection%s with input not answered",
		    l->name, resets, resets == 1 ? "" : "s");
	if (l->started)
		tcp_proxy_close_all(l);
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->fd != -1)
		close(l->fd);
}

/* Out of descriptors (admit.c): the accept queue waits meanwhile. */
static void
tcp_pause(struct listener *l, bool paused)
{
	if (l->evl == NULL)
		return;
	if (paused)
		evconnlistener_disable(l->evl);
	else
		evconnlistener_enable(l->evl);
}

/* A tcp listener's counters, in words. */
static void
tcp_stats_text(const struct listener_stats *st, char *buf, size_t len)
{
	char more[64];

#define N(x) ((unsigned long long)(x))
	snprintf(buf, len, "%llu connections (%llu open), %llu "
	    "messages (%llu bytes), %llu replies (%llu bytes), %llu "
	    "closed idle; refused %llu by allow/deny, %llu at a limit%s; "
	    "%llu messages over log_rate not logged",
	    N(st->accepted), N(st->open), N(st->messages_in),
	    N(st->bytes_in), N(st->messages_out), N(st->bytes_out),
	    N(st->idle_closed), N(st->refused[REFUSED_ACL]),
	    N(st->refused[REFUSED_LIMIT]),
	    listener_refused_more(st, more, sizeof(more)), N(st->unlogged));
#undef N
}

const struct listener_ops listener_tcp_ops = {
	.name = "tcp",
	.socktype = SOCK_STREAM,
	.connections = true,
	.counts = LISTENER_COUNTS_CONNECTIONS | LISTENER_COUNTS_TRAFFIC |
	    LISTENER_COUNTS_IDLE,
	.refusals = 1u << REFUSED_ACL | 1u << REFUSED_LIMIT |
	    1u << REFUSED_PROXY | 1u << REFUSED_TLS,
	.start = tcp_start,
	.retire = tcp_retire,
	.stop = tcp_stop,
	.wind_down = tcp_wind_down,
	.pause = tcp_pause,
	.stats_text = tcp_stats_text,
};
