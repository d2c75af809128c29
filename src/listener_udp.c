/*
 * listener_udp.c: UDP echo.  Every datagram gets exactly one reply, the
 * transformed bytes, sent from the listening socket to the sender.
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
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "transform.h"

/* Datagrams read per wake-up, so one busy socket cannot starve the rest. */
#define UDP_BATCH 64

/* Room for the destination address of one datagram, IPv4 or IPv6. */
union udp_control {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) +
	    CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

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

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	union udp_control control;
	struct sockaddr_storage peer;
	struct iovec iov;
	struct msghdr msg;
	char name[ECHOD_ADDRSTRLEN];
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < UDP_BATCH; i++) {
		iov.iov_base = l->server->dgram_buf;
		iov.iov_len = ECHOD_DGRAM_MAX;
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &peer;
		msg.msg_namelen = sizeof(peer);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (l->wildcard) {
			msg.msg_control = control.buf;
			msg.msg_controllen = sizeof(control.buf);
		}
		if ((n = recvmsg(fd, &msg, 0)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EINTR, or an ICMP error from an earlier reply. */
			log_debug("%s: recvmsg: %s", l->name, strerror(errno));
			continue;
		}
		l->messages++;
		l->bytes += n;
		if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			l->dropped++;
			continue;
		}
		if (l->conf->log_messages)
			listener_log_message(l, (struct sockaddr *)&peer,
			    iov.iov_base, n);
		transform_chain_apply(l->conf->transform, iov.iov_base, n);
		iov.iov_len = n;
		if (msg.msg_controllen > 0)
			udp_reply_source(&msg);
		else
			msg.msg_control = NULL;
		if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
			l->dropped++;
			log_debug("%s: reply to %s: %s", l->name,
			    addr_format((struct sockaddr *)&peer, name,
				sizeof(name)), strerror(errno));
		}
	}
}

static int
udp_start(struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int on = 1, rc = 0;

	if (l->wildcard && getsockname(l->fd, (struct sockaddr *)&ss,
	    &sslen) == 0) {
		/* A dual-stack IPv6 socket sees IPv4 datagrams too. */
		rc = setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
		if (rc == 0 && ss.ss_family == AF_INET6)
			rc = setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
			    &on, sizeof(on));
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s: PKTINFO: %s", l->name,
		    strerror(errno));
		return -1;
	}
	l->read_ev = event_new(l->server->base, l->fd, EV_READ | EV_PERSIST,
	    udp_read_cb, l);
	if (l->read_ev == NULL || event_add(l->read_ev, NULL) == -1) {
		snprintf(err, errlen, "%s: cannot watch the socket", l->name);
		if (l->read_ev != NULL)
			event_free(l->read_ev);
		return -1;
	}
	return 0;
}

static void
udp_stop(struct listener *l)
{
	event_free(l->read_ev);
	close(l->fd);
}

const struct listener_ops listener_udp_ops = {
	.start = udp_start,
	.stop = udp_stop,
};
