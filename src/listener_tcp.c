/*
 * listener_tcp.c: TCP echo.  With framing "stream" (RFC 862), bytes go
 * back as they arrive, transformed in place, each read's worth handed to
 * the kernel as one write; nothing is added and nothing waits for a
 * newline.  With framing "line", each line is one message: its reply is
 * the transformed line and the same terminator ("\n" or "\r\n").  A
 * line longer than max_line closes the connection; at EOF an
 * unterminated last line is answered as it is.
 *
 * A connection's life:
 *   OPEN      reading and echoing.  Reading pauses while more than
 *             TCP_HIGH_WATER bytes wait for a client that does not read,
 *             and resumes once they are sent, so memory stays bounded.
 *   FLUSHING  the client sent EOF: send what is pending, then close.
 *   REPLIED   no more replies (close_after_reply answered its first
 *             message, or a line was longer than max_line): once what is
 *             pending is sent, shut the write side and linger.
 *   LINGERING discard input until the client closes (bounded in time and
 *             bytes), so that closing never resets a reply still in
 *             flight to the client.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "transform.h"

#define TCP_BACKLOG 1024		 /* SOMAXCONN may cap it */
#define TCP_HIGH_WATER (256 * 1024)	 /* pending output that pauses reads */
#define TCP_LINGER_SECONDS 5		 /* how long to wait for the peer's FIN */
#define TCP_LINGER_MAX (64 * 1024)	 /* how much to discard meanwhile */
#define TCP_ACCEPT_RETRY_MS 100		 /* after EMFILE, try accept again */

enum conn_state {
	CONN_OPEN,
	CONN_FLUSHING,
	CONN_REPLIED,
	CONN_LINGERING,
};

struct conn {
	LIST_ENTRY(conn) entry;
	struct listener *listener;
	struct bufferevent *bev;
	enum conn_state state;
	size_t discarded; /* LINGERING: input thrown away */
	size_t scanned;	  /* framing "line": input known to hold no '\n' */
	union sockaddr_any peer;
};

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
	log_debug("%s: %s: %s", c->listener->name,
	    addr_format(&c->peer.sa, peer, sizeof(peer)), msg);
}

/* Resume accepting on l if running out of descriptors had paused it. */
static void
tcp_accept_resume(struct listener *l)
{
	if (!l->accept_paused)
		return;
	l->accept_paused = false;
	evtimer_del(l->accept_retry);
	evconnlistener_enable(l->evl);
}

static void
conn_free(struct conn *c)
{
	struct listener *l = c->listener;

	conn_debug(c, "closed");
	LIST_REMOVE(c, entry);
	bufferevent_free(c->bev);
	free(c);
	/* A descriptor was just released. */
	tcp_accept_resume(l);
}

/* Apply a byte-wise chain to every byte in buf, in place, extent by extent. */
static void
transform_evbuffer(const struct transform_chain *chain, struct evbuffer *buf)
{
	struct evbuffer_iovec v[16];
	struct evbuffer_ptr pos;
	size_t left = evbuffer_get_length(buf), done;
	int i, n;

	if (chain->nsteps == 0)
		return;
	evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET);
	while (left > 0) {
		n = evbuffer_peek(buf, left, &pos, v, 16);
		if (n <= 0)
			break;
		for (i = 0, done = 0; i < n && i < 16; i++) {
			transform_chain_apply(chain, v[i].iov_base,
			    v[i].iov_len);
			done += v[i].iov_len;
		}
		left -= done;
		evbuffer_ptr_set(buf, &pos, done, EVBUFFER_PTR_ADD);
	}
}

/* Reply sent under close_after_reply: send FIN, then wait for the peer's. */
static void
conn_linger(struct conn *c)
{
	struct timeval tv = { TCP_LINGER_SECONDS, 0 };

	if (shutdown(bufferevent_getfd(c->bev), SHUT_WR) == -1) {
		conn_free(c);
		return;
	}
	c->state = CONN_LINGERING;
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

/* close_after_reply: the first message is answered; read no more. */
static void
conn_replied(struct conn *c, struct evbuffer *in)
{
	c->state = CONN_REPLIED;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* framing "stream": everything read so far is one message. */
static void
tcp_conn_stream(struct conn *c, struct evbuffer *in, struct evbuffer *out)
{
	struct listener *l = c->listener;
	unsigned char head[ECHOD_LOG_LENGTH_LIMIT];
	size_t len = evbuffer_get_length(in);

	l->messages++;
	l->bytes += len;
	if (l->conf->log_messages) {
		evbuffer_copyout(in, head, len < sizeof(head) ? len :
		    sizeof(head));
		listener_log_message(l, &c->peer.sa, head, len);
	}
	transform_evbuffer(l->conf->transform, in);
	evbuffer_add_buffer(out, in);
	if (l->conf->close_after_reply)
		conn_replied(c, in);
}

/*
 * framing "line": a line too long to answer ends the connection, the
 * way close_after_reply does, so that replies already queued still
 * arrive instead of being cut off by a reset.
 */
static void
tcp_conn_too_long(struct conn *c, struct evbuffer *in)
{
	char peer[ECHOD_ADDRSTRLEN];

	log_info("%s: %s: a line longer than max_line (%d bytes); closing",
	    c->listener->name, addr_format(&c->peer.sa, peer, sizeof(peer)),
	    c->listener->conf->max_line);
	conn_replied(c, in);
}

/*
 * framing "line": answer the first n bytes of in, then the terminator
 * of term bytes that follows them ("\n"; 0 for a last line at EOF).
 */
static void
tcp_conn_line(struct conn *c, struct evbuffer *in, struct evbuffer *out,
    size_t n, size_t term)
{
	struct listener *l = c->listener;
	unsigned char *line;
	size_t len = n;

	if ((line = evbuffer_pullup(in, n + term)) == NULL)
		return;
	if (term > 0 && len > 0 && line[len - 1] == '\r')
		len--; /* "\r\n": the terminator, not the message */
	if (len > (size_t)l->conf->max_line) {
		tcp_conn_too_long(c, in);
		return;
	}
	l->messages++;
	l->bytes += n + term;
	if (l->conf->log_messages)
		listener_log_message(l, &c->peer.sa, line, len);
	transform_chain_apply(l->conf->transform, line, len);
	evbuffer_add(out, line, n + term);
	evbuffer_drain(in, n + term);
	if (l->conf->close_after_reply)
		conn_replied(c, in);
}

/* framing "line": answer every complete line in the input. */
static void
tcp_conn_lines(struct conn *c, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_ptr pos;
	size_t len;

	while (c->state == CONN_OPEN && (len = evbuffer_get_length(in)) > 0) {
		/* Search only what arrived since the last search. */
		evbuffer_ptr_set(in, &pos, c->scanned, EVBUFFER_PTR_SET);
		pos = evbuffer_search(in, "\n", 1, &pos);
		if (pos.pos == -1) {
			c->scanned = len;
			/* One more byte may be the '\r' of "\r\n". */
			if (len > (size_t)c->listener->conf->max_line + 1)
				tcp_conn_too_long(c, in);
			return;
		}
		c->scanned = 0;
		tcp_conn_line(c, in, out, (size_t)pos.pos, 1);
	}
}

static void
tcp_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t len = evbuffer_get_length(in);

	switch (c->state) {
	case CONN_LINGERING:
		evbuffer_drain(in, len);
		c->discarded += len;
		if (c->discarded > TCP_LINGER_MAX)
			conn_free(c);
		return;
	case CONN_OPEN:
		break;
	default:
		/* Reading is off; what was already read is not wanted. */
		evbuffer_drain(in, len);
		return;
	}
	if (c->listener->conf->framing == ECHOD_FRAMING_LINE)
		tcp_conn_lines(c, in, out);
	else
		tcp_conn_stream(c, in, out);
	if (c->state == CONN_REPLIED && evbuffer_get_length(out) == 0)
		conn_linger(c); /* nothing left to send: no write callback */
	else if (c->state == CONN_OPEN &&
	    evbuffer_get_length(out) >= TCP_HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

/* The output buffer is empty (the write low watermark is 0). */
static void
tcp_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_OPEN:
		if ((bufferevent_get_enabled(bev) & EV_READ) == 0)
			bufferevent_enable(bev, EV_READ);
		break;
	case CONN_FLUSHING:
		conn_free(c);
		break;
	case CONN_REPLIED:
		conn_linger(c);
		break;
	case CONN_LINGERING:
		break;
	}
}

/* EOF, errors and the linger timeout all end here. */
static void
tcp_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in;

	if (what & BEV_EVENT_ERROR) {
		conn_debug(c, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_free(c);
		return;
	}
	in = bufferevent_get_input(bev);
	if ((what & BEV_EVENT_EOF) && c->state == CONN_OPEN &&
	    evbuffer_get_length(in) > 0) {
		/* framing "line": the last line had no terminator. */
		tcp_conn_line(c, in, bufferevent_get_output(bev),
		    evbuffer_get_length(in), 0);
	}
	if ((what & BEV_EVENT_EOF) && c->state != CONN_LINGERING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		/* Half-closed: send the rest; the write callback closes. */
		c->state = CONN_FLUSHING;
		return;
	}
	conn_free(c);
}

static void
tcp_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct conn *c;
	int on = 1;

	(void)evl;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: connection", l->name);
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(l->server->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("%s: cannot set up a connection", l->name);
		close(fd);
		free(c);
		return;
	}
	c->listener = l;
	c->state = CONN_OPEN;
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen :
	    sizeof(c->peer));
	/* Replies are small and awaited: never hold them back (Nagle). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	bufferevent_setcb(c->bev, tcp_conn_read_cb, tcp_conn_write_cb,
	    tcp_conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	LIST_INSERT_HEAD(&l->conns, c, entry);
	l->connections++;
	conn_debug(c, "connected");
}

/*
 * accept(2) failed in a way libevent does not retry.  Out of
 * descriptors, the pending connection stays queued and the socket stays
 * readable, so accepting again at once would spin: pause instead, until
 * a connection closes or the retry timer fires.
 */
static void
tcp_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { 0, TCP_ACCEPT_RETRY_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		if (!l->accept_paused) {
			log_warnx("%s: accept: %s; pausing new connections",
			    l->name, strerror(err));
			l->accept_pauses++;
		}
		l->accept_paused = true;
		evconnlistener_disable(evl);
		evtimer_add(l->accept_retry, &tv);
		return;
	}
	log_warnx("%s: accept: %s", l->name, strerror(err));
}

static void
tcp_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tcp_accept_resume(arg);
}

static int
tcp_start(struct listener *l, char *err, size_t errlen)
{
	l->accept_retry = evtimer_new(l->server->base, tcp_accept_retry_cb, l);
	if (l->accept_retry == NULL) {
		snprintf(err, errlen, "%s: cannot create a timer", l->name);
		return -1;
	}
	l->evl = evconnlistener_new(l->server->base, tcp_accept_cb, l,
	    LEV_OPT_CLOSE_ON_EXEC, TCP_BACKLOG, l->fd);
	if (l->evl == NULL) {
		snprintf(err, errlen, "%s: listen: %s", l->name, strerror(errno));
		event_free(l->accept_retry);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, tcp_accept_error_cb);
	return 0;
}

static void
tcp_stop(struct listener *l)
{
	while (!LIST_EMPTY(&l->conns))
		conn_free(LIST_FIRST(&l->conns));
	evconnlistener_free(l->evl);
	event_free(l->accept_retry);
	close(l->fd);
}

const struct listener_ops listener_tcp_ops = {
	.start = tcp_start,
	.stop = tcp_stop,
};
