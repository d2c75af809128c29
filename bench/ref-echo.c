/*
 * ref-echo: the yardstick for `make bench`.  A minimal single-threaded
 * echo server on epoll, with no framework: what one core can do.  It
 * does what echod's data path does and nothing more: TCP (level-
 * triggered, 64 KiB reads, the transform applied in place, one send,
 * the unsent rest kept while reading pauses) and UDP (recvmmsg and
 * sendmmsg, 32 datagrams a call), both on one port of 127.0.0.1.
 *
 * With -1, UDP goes one datagram per call instead: one recvfrom() and
 * one sendto() each time epoll says the socket is readable, in place of
 * the default's one recvmmsg() and one sendmmsg(): a batch of 1, the
 * rest as it is.  With -l as well, up to the same 32 datagrams are read
 * for each time epoll wakes it, one call each, so that only the system
 * calls' batching differs from the default.  `make bench`'s UDP flood
 * compares the three.
 *
 * usage: ref-echo [-1 [-l]] [-u | -r] PORT     (-u: upper, -r: rot13)
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RBUF_SIZE (64 * 1024)
#define BATCH 32
#define DGRAM_MAX 65535

struct conn {
	int fd;
	unsigned char *pending; /* unsent reply bytes */
	size_t off, len;
};

static unsigned char table[256];
static int identity = 1; /* echo: no pass over the bytes */
static unsigned char rbuf[RBUF_SIZE];
static int ep;
static int one_by_one; /* -1: UDP one datagram per call */
static int one_batch = 1; /* -l: BATCH of them for each readiness */
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
apply(unsigned char *p, size_t n)
{
	size_t i;

	if (identity)
		return;
	for (i = 0; i < n; i++)
		p[i] = table[p[i]];
}

static void
conn_close(struct conn *c)
{
	close(c->fd);
	free(c->pending);
	free(c);
}

static void
conn_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_read(struct conn *c)
{
	ssize_t n, w;

	if ((n = recv(c->fd, rbuf, sizeof(rbuf), 0)) <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
	apply(rbuf, n);
	if ((w = send(c->fd, rbuf, n, MSG_NOSIGNAL)) == -1) {
		if (errno != EAGAIN) {
			conn_close(c);
			return;
		}
		w = 0;
	}
	if (w < n) {
		c->len = n - w;
		c->off = 0;
		if ((c->pending = malloc(c->len)) == NULL) {
			conn_close(c);
			return;
		}
		memcpy(c->pending, rbuf + w, c->len);
		conn_events(c, EPOLLOUT);
	}
}

static void
conn_write(struct conn *c)
{
	ssize_t w;

	if ((w = send(c->fd, c->pending + c->off, c->len, MSG_NOSIGNAL)) ==
	    -1) {
		if (errno != EAGAIN)
			conn_close(c);
		return;
	}
	c->off += w;
	if ((c->len -= w) == 0) {
		free(c->pending);
		c->pending = NULL;
		conn_events(c, EPOLLIN);
	}
}

static void
tcp_accept(int lfd)
{
	struct epoll_event ev;
	struct conn *c;
	int fd, on = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	    -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void
udp_read(int fd)
{
	static unsigned char data[BATCH][DGRAM_MAX];
	static struct sockaddr_storage peers[BATCH];
	static struct iovec iov[BATCH];
	static struct mmsghdr msgs[BATCH];
	int i, n;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = data[i];
		iov[i].iov_len = DGRAM_MAX;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &peers[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		apply(data[i], msgs[i].msg_len);
		iov[i].iov_len = msgs[i].msg_len;
	}
	sendmmsg(fd, msgs, n, MSG_DONTWAIT);
}

/* -1: one recvfrom() and one sendto(); -l: up to BATCH such pairs. */
static void
udp_read_one(int fd)
{
	static unsigned char data[DGRAM_MAX];
	struct sockaddr_storage peer;
	socklen_t peerlen;
	ssize_t n;
	int i;

	for (i = 0; i < one_batch; i++) {
		peerlen = sizeof(peer);
		if ((n = recvfrom(fd, data, sizeof(data), MSG_DONTWAIT,
		    (struct sockaddr *)&peer, &peerlen)) == -1)
			return;
		apply(data, n);
		sendto(fd, data, n, MSG_DONTWAIT, (struct sockaddr *)&peer,
		    peerlen);
	}
}

static int
listen_on(int type, int port)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 1024) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char *argv[])
{
	static int tfd, ufd;
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	int bad = 0, c, i, n, port;

	for (c = 0; c < 256; c++)
		table[c] = (unsigned char)c;
	while ((c = getopt(argc, argv, "1lur")) != -1)
		switch (c) {
		case '1':
			one_by_one = 1;
			break;
		case 'l':
			one_batch = BATCH;
			break;
		case 'u':
			bad |= !identity; /* -u or -r, once */
			for (i = 'a'; i <= 'z'; i++)
				table[i] = (unsigned char)(i - 32);
			identity = 0;
			break;
		case 'r':
			bad |= !identity;
			for (i = 0; i < 26; i++) {
				table['a' + i] =
				    (unsigned char)('a' + (i + 13) % 26);
				table['A' + i] =
				    (unsigned char)('A' + (i + 13) % 26);
			}
			identity = 0;
			break;
		default:
			bad = 1;
			break;
		}
	if (bad || optind != argc - 1 || (one_batch > 1 && !one_by_one)) {
		fprintf(stderr, "usage: ref-echo [-1 [-l]] [-u | -r] port\n");
		return 1;
	}
	port = atoi(argv[optind]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if ((tfd = listen_on(SOCK_STREAM, port)) == -1 ||
	    (ufd = listen_on(SOCK_DGRAM, port)) == -1) {
		perror("ref-echo: bind");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.ptr = &ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	fprintf(stderr, "ref-echo: ready on 127.0.0.1:%d\n", port);
	while (!stop) {
		if ((n = epoll_wait(ep, evs, 256, -1)) == -1)
			continue;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &tfd)
				tcp_accept(tfd);
			else if (evs[i].data.ptr == &ufd && one_by_one)
				udp_read_one(ufd);
			else if (evs[i].data.ptr == &ufd)
				udp_read(ufd);
			else if (evs[i].events & EPOLLOUT)
				conn_write(evs[i].data.ptr);
			else
				conn_read(evs[i].data.ptr);
		}
	}
	return 0;
}
