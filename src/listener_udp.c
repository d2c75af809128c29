/*
 * listener_udp.c: UDP echo.  Every datagram gets exactly one reply, the
 * transformed bytes, sent from the socket it came in on to the sender.
 * Each worker reads a socket of its own, one of a SO_REUSEPORT group
 * bound to the listener's address (listener.c, sockets_group): the
 * kernel hands each datagram, by its flow, to one socket, so one worker
 * wakes for it, reads a batch with one recvmmsg() and answers it with
 * one sendmmsg().  Where systemd passed fewer sockets than there are
 * workers and echod cannot bind more (PrivateNetwork=), each socket is
 * still read by one worker alone; the rest serve other listeners.
 *
 * No datagram is answered that could start a loop or a reflection:
 * none from a source port below 1024 or in udp_ignore_ports or one of
 * echod's own (echo answering echo, or chargen, for ever: CERT
 * CA-1996-01), none from a multicast, broadcast or unspecified address,
 * none over a source address's udp_rate, none that allow/deny refuse.
 * A reply is never larger than its request.
 *
 * With proxy_protocol, each datagram must come from one of proxy_from's
 * balancers and start with a PROXY header (v2 DGRAM, or the v1 line
 * nginx sends); the client it names is the sender for the guards, the
 * log and the console, and the reply, the rest transformed, goes back
 * to the balancer without a header.  Any other datagram is dropped and
 * counted as a PROXY refusal.
 *
 * A socket bound to a wildcard address asks the kernel for each
 * datagram's destination (IP_PKTINFO, IPV6_PKTINFO) and sends the reply
 * from it: left to routing, the source could be another of the host's
 * addresses, and a client with a connected socket would discard it.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "acl.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "ratelimit.h"
#include "server_state.h"
#include "transform.h"
#include "worker.h"

/* The largest UDP payload over IPv6 without jumbograms; IPv4's is 65,507. */
#define ECHOD_DGRAM_MAX 65535

/* Datagrams per call, so one busy socket cannot starve the rest. */
#define UDP_BATCH 32

/* Room for the destination address of one datagram, IPv4 or IPv6. */
union udp_control {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) +
	    CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/*
 * A worker's arrays for one batch.  The buffers are address space more
 * than memory: a page is touched only by a datagram that reaches it.
 */
struct udp_batch {
	struct mmsghdr msgs[UDP_BATCH];	   /* as received */
	struct mmsghdr replies[UDP_BATCH]; /* the ones to answer */
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	union udp_control control[UDP_BATCH];
	unsigned char data[UDP_BATCH][ECHOD_DGRAM_MAX];
};

#ifndef HAVE_RECVMMSG
/* One datagram per call, where the batched calls are missing. */
static int
recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags, void *tmo)
{
	ssize_t r;

	(void)n;
	(void)tmo;
	if ((r = recvmsg(fd, &m->msg_hdr, flags)) == -1)
		return -1;
	m->msg_len = r;
	return 1;
}
#endif
#ifndef HAVE_SENDMMSG
static int
sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
	ssize_t r;

	(void)n;
	if ((r = sendmsg(fd, &m->msg_hdr, flags)) == -1)
		return -1;
	m->msg_len = r;
	return 1;
}
#endif

/* Turn the received destination into the reply's source, in place. */
static void
udp_reply_source(struct msghdr *msg)
{
	struct cmsghdr *cm;
	struct in_pktinfo *pi;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			pi = (struct in_pktinfo *)(void *)CMSG_DATA(cm);
			pi->ipi_spec_dst = pi->ipi_addr;
			/* Let routing pick the interface. */
			pi->ipi_ifindex = 0;
		}
		/* IPV6_PKTINFO already names the address (and the interface,
		 * which a link-local one needs). */
	}
}

/*
 * Make ready slot i of b to receive a datagram.  Every slot has room for
 * the destination address; on a socket that does not ask for it (not a
 * wildcard one) the kernel returns none.
 */
static void
udp_batch_arm(struct udp_batch *b, int i)
{
	struct msghdr *h = &b->msgs[i].msg_hdr;

	b->iov[i].iov_base = b->data[i];
	b->iov[i].iov_len = ECHOD_DGRAM_MAX;
	h->msg_name = &b->peers[i];
	h->msg_namelen = sizeof(b->peers[i]);
	h->msg_iov = &b->iov[i];
	h->msg_iovlen = 1;
	h->msg_control = b->control[i].buf;
	h->msg_controllen = sizeof(b->control[i].buf);
	h->msg_flags = 0;
}

/* A worker's batch, every slot ready. */
static struct udp_batch *
udp_batch_new(void)
{
	struct udp_batch *b;
	int i;

	if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	for (i = 0; i < UDP_BATCH; i++)
		udp_batch_arm(b, i);
	return b;
}

/* Send the first n replies of b; those the kernel refuses are dropped. */
static void
udp_send(struct shard *sh, int fd, struct udp_batch *b, int n)
{
	char name[ECHOD_ADDRSTRLEN];
	uint64_t bytes = 0;
	int i = 0, k, sent;

	while (i < n) {
		sent = sendmmsg(fd, b->replies + i, n - i,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			for (k = i; k < i + sent; k++)
				bytes += b->replies[k].msg_len;
			i += sent;
			continue;
		}
		/* The reply at i failed; the kernel says why. */
		COUNT(sh->dropped, 1);
		log_debug("%s: reply to %s: %s", sh->listener->name,
		    addr_format(b->replies[i].msg_hdr.msg_name, name,
			sizeof(name)), strerror(errno));
		i++;
	}
	COUNT(sh->bytes_out, bytes);
}

/*
 * proxy_protocol: the header at the start of msg[0..len-1], from the
 * balancer at from.  Its length, with the client it names in *client
 * (from itself for LOCAL: *local set), or -1 if the datagram is to be
 * dropped (counted and logged here).
 */
static int
udp_proxy(struct shard *sh, const struct echod_listener_config *lc,
    const struct sockaddr *from, const unsigned char *msg, size_t len,
    union sockaddr_any *client, bool *local)
{
	struct proxy_header h;
	unsigned char key[16];
	const char *why;
	int r;

	addr_key(from, key);
	if (!acl_list_holds(&lc->proxy_from, key)) {
		listener_refused(sh, from, REFUSED_PROXY,
		    "not one of proxy_from's balancers");
		return -1;
	}
	if ((r = proxy_parse(msg, len, true, &h, &why)) <= 0) {
		listener_refused(sh, from, REFUSED_PROXY, r == 0 ?
		    "a datagram shorter than its PROXY header" : why);
		return -1;
	}
	*local = h.local;
	if (h.local)
		memcpy(client, from, sizeof(*client));
	else
		*client = h.src;
	return r;
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shard *sh = arg;
	const struct listener *l = sh->listener;
	const struct echod_listener_config *lc = sh->lc;
	struct udp_batch *b = sh->worker->udp;
	struct msghdr *h;
	struct guard_udp g;
	struct guard_refusal no;
	union sockaddr_any named;
	const struct sockaddr *client;
	unsigned char *msg;
	bool local;
	size_t len;
	int i, n, r, skip;

	(void)what;
	if ((n = recvmmsg(fd, b->msgs, UDP_BATCH, MSG_DONTWAIT, NULL)) == -1) {
		/* EINTR, or an ICMP error from an earlier reply. */
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_debug("%s: recvmmsg: %s", l->name, strerror(errno));
		return;
	}
	g.config = lc->config;
	g.acl = &lc->acl;
	g.rate = l->server->udp_rate;
	g.now_ms = lc->config->udp_rate > 0 ? clock_ms() : 0;
	for (i = 0, r = 0; i < n; i++) {
		h = &b->msgs[i].msg_hdr;
		len = b->msgs[i].msg_len;
		COUNT(sh->messages_in, 1);
		COUNT(sh->bytes_in, len);
		if (h->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			COUNT(sh->dropped, 1);
			continue;
		}
		client = h->msg_name;
		msg = b->data[i];
		local = false;
		if (lc->proxy_protocol) {
			/* The reply goes to the balancer's address and
			 * port, whoever the header names: never to one
			 * that could make a loop. */
			if (!guard_udp_source(lc->config, h->msg_name, &no)) {
				listener_refused(sh, h->msg_name, no.why,
				    no.what);
				continue;
			}
			if ((skip = udp_proxy(sh, lc, h->msg_name, msg, len,
			    &named, &local)) == -1)
				continue;
			client = &named.sa;
			msg += skip;
			len -= (size_t)skip;
		}
		/* A balancer's own check (LOCAL) is the trusted balancer's:
		 * not weighed as a client, nor shown as the class's. */
		if (!local && !guard_udp_datagram(&g, client, &no)) {
			listener_refused(sh, client, no.why, no.what);
			continue;
		}
		listener_answer(sh, lc, local ? NULL : client, msg, len);
		b->iov[i].iov_base = msg;
		b->iov[i].iov_len = len;
		if (h->msg_controllen > 0)
			udp_reply_source(h);
		else
			h->msg_control = NULL;
		b->replies[r++].msg_hdr = *h;
	}
	COUNT(sh->messages_out, r);
	udp_send(sh, fd, b, r);
	/* Only the slots just used were changed. */
	for (i = 0; i < n; i++)
		udp_batch_arm(b, i);
}

/* Errands, on each shard's worker. */
static void
udp_watch(struct shard *sh)
{
	if (sh->read_ev != NULL && event_add(sh->read_ev, NULL) == -1)
		log_warnx("%s: worker %u cannot watch the socket",
		    sh->listener->name, sh->worker->id);
}

static void
udp_unwatch(struct shard *sh)
{
	if (sh->read_ev != NULL)
		event_free(sh->read_ev);
	sh->read_ev = NULL;
}

/* The settings the main thread put in next_lc are this worker's now;
 * the old ones go back in next_lc, to be let go of. */
static void
udp_switch(struct shard *sh)
{
	const struct echod_listener_config *old = sh->lc;

	sh->lc = sh->next_lc;
	sh->next_lc = old;
}

/* A wildcard socket reports each datagram's destination; -1 if not. */
static int
udp_pktinfo(int fd, int family)
{
	int on = 1;

	/* A dual-stack IPv6 socket sees IPv4 datagrams too. */
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) == -1)
		return -1;
	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on));
	return 0;
}

/*
 * Each worker with a socket watches it, with an event on its own loop:
 * made here, added there.  Every worker keeps the settings, and a
 * udp_batch, made here before it has a socket to read, so never while
 * it reads one.
 */
static int
udp_start(struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct shard *sh;
	unsigned int i;

	if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "%s: %s", l->name, strerror(errno));
		return -1;
	}
	for (i = 0; i < l->server->nworkers; i++) {
		sh = &l->shards[i];
		if (sh->fd != -1 && l->wildcard &&
		    udp_pktinfo(sh->fd, ss.ss_family) == -1) {
			snprintf(err, errlen, "%s: PKTINFO: %s", l->name,
			    strerror(errno));
			return -1;
		}
		if (sh->worker->udp == NULL &&
		    (sh->worker->udp = udp_batch_new()) == NULL)
			break;
		if (sh->fd != -1 && (sh->read_ev = event_new(sh->worker->base,
		    sh->fd, EV_READ | EV_PERSIST, udp_read_cb, sh)) == NULL)
			break;
		sh->lc = l->conf;
		config_ref(l->conf->config);
	}
	if (i < l->server->nworkers) {
		snprintf(err, errlen, "%s: cannot watch the socket", l->name);
		return -1;
	}
	listener_errand(l, udp_watch);
	return 0;
}

static void
udp_retire(struct listener *l)
{
	/* The socket closes in udp_stop, once no worker can be reading. */
	listener_errand(l, udp_unwatch);
}

static void
udp_switch_conf(struct listener *l)
{
	unsigned int i;

	for (i = 0; i < l->server->nworkers; i++) {
		l->shards[i].next_lc = l->next;
		config_ref(l->next->config);
	}
	listener_errand(l, udp_switch);
}

static void
udp_stop(struct listener *l)
{
	struct shard *sh;
	unsigned int i;

	for (i = 0; i < l->server->nworkers; i++) {
		sh = &l->shards[i];
		if (sh->read_ev != NULL) {
			event_free(sh->read_ev);
			sh->read_ev = NULL;
		}
		if (sh->fd != -1 && sh->fd != l->fd)
			close(sh->fd);
		sh->fd = -1;
	}
	close(l->fd);
}

/* A udp listener's counters, in words. */
static void
udp_stats_text(const struct listener_stats *st, char *buf, size_t len)
{
	char more[64];

#define N(x) ((unsigned long long)(x))
	snprintf(buf, len, "%llu datagrams (%llu bytes), %llu replies "
	    "(%llu bytes), %llu dropped; refused %llu by allow/deny, "
	    "%llu over udp_rate, %llu from a source never answered%s; "
	    "%llu over log_rate not logged",
	    N(st->messages_in), N(st->bytes_in), N(st->messages_out),
	    N(st->bytes_out), N(st->dropped),
	    N(st->refused[REFUSED_ACL]), N(st->refused[REFUSED_RATE]),
	    N(st->refused[REFUSED_LOOP]),
	    listener_refused_more(st, more, sizeof(more)), N(st->unlogged));
#undef N
}

const struct listener_ops listener_udp_ops = {
	.name = "udp",
	.socktype = SOCK_DGRAM,
	.socket_per_worker = true,
	.counts = LISTENER_COUNTS_TRAFFIC | LISTENER_COUNTS_DROPPED,
	.refusals = 1u << REFUSED_ACL | 1u << REFUSED_RATE |
	    1u << REFUSED_LOOP | 1u << REFUSED_PROXY,
	.start = udp_start,
	.retire = udp_retire,
	.switch_conf = udp_switch_conf,
	.stop = udp_stop,
	.stats_text = udp_stats_text,
};
