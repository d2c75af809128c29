/*
 * listener_tcp.c: TCP echo, RFC 862 style: bytes go back as they arrive,
 * transformed in place, each read's worth handed to the kernel as one
 * write.  Nothing is added and nothing waits for a newline.
 *
 * A connection's life:
 *   OPEN      reading and echoing.  Reading pauses while more than
 *             TCP_HIGH_WATER bytes wait for a client that does not read,
 *             and resumes once they are sent, so memory stays bounded.
 *   FLUSHING  the client sent EOF: send what is pending, then close.
 *   REPLIED   close_after_reply: the first read was answered; once it is
 *             sent, shut the write side and linger.
 *   LINGERING discard input until the client closes (bounded in time and
 *             bytes), so that closing never resets a reply still in
 *             flight to the client.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
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
	size_t discarded;
	char peer[ECHOD_ADDRSTRLEN];
};

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

	log_debug("%s: %s closed", l->name, c->peer);
	LIST_REMOVE(c, entry);
	bufferevent_free(c->bev);
	free(c);
	/* A descriptor was just released. */
	tcp_accept_resume(l);
}

/* Apply t to every byte in buf, in place, extent by extent. */
static void
transform_evbuffer(const struct echod_transform *t, struct evbuffer *buf)
{
	struct evbuffer_iovec v[16];
	struct evbuffer_ptr pos;
	size_t left = evbuffer_get_length(buf), done;
	int i, n;

	evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET);
	while (left > 0) {
		n = evbuffer_peek(buf, left, &pos, v, 16);
		if (n <= 0)
			break;
		for (i = 0, done = 0; i < n && i < 16; i++) {
			t->apply(v[i].iov_base, v[i].iov_len);
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

static void
tcp_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct listener *l = c->listener;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t len = evbuffer_get_length(in);

	if (c->state == CONN_LINGERING) {
		evbuffer_drain(in, len);
		c->discarded += len;
		if (c->discarded > TCP_LINGER_MAX)
			conn_free(c);
		return;
	}
	l->messages++;
	l->bytes += len;
	transform_evbuffer(l->conf->transform, in);
	evbuffer_add_buffer(out, in);
	if (l->conf->close_after_reply) {
		c->state = CONN_REPLIED;
		bufferevent_disable(bev, EV_READ);
	} else if (evbuffer_get_length(out) >= TCP_HIGH_WATER)
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

	if (what & BEV_EVENT_ERROR) {
		log_debug("%s: %s: %s", c->listener->name, c->peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_free(c);
		return;
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
	(void)salen;
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
	addr_format(sa, c->peer, sizeof(c->peer));
	/* Replies are small and awaited: never hold them back (Nagle). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	bufferevent_setcb(c->bev, tcp_conn_read_cb, tcp_conn_write_cb,
	    tcp_conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	LIST_INSERT_HEAD(&l->conns, c, entry);
	l->connections++;
	log_debug("%s: connection from %s", l->name, c->peer);
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
