/*
 * probe.c: the integration tests' network tool, for what echod-tcp and
 * echod-udp cannot do: binary payloads, many connections at once,
 * half-close, resets, and a client that never reads.
 *
 *   probe free-port             free-range 1: one port
 *   probe ipv6                  exit 0 if ::1 can be bound
 *   probe tcp [-c N] [-n] [-w S] HOST PORT
 *       send standard input on N connections at once, shut each one's
 *       write side (not with -n), read each to EOF; every reply must be
 *       the same; print it.
 *   probe reset HOST PORT       send standard input, then reset (RST)
 *   probe udp [-w S] HOST PORT  standard input as one datagram; print
 *                               the reply
 *   probe flood HOST PORT BYTES send without reading until BYTES are sent,
 *       nothing moves for a second, or the server closes; print the
 *       count, then hold the connection until killed.
 *   probe sink PORT             a server on 127.0.0.1 that never answers:
 *       binds TCP (listening) and UDP, prints "ready", sleeps until killed.
 *   probe free-range N          the first port of N consecutive ones, below
 *       the kernel's ephemeral range (ip_local_port_range), that TCP and
 *       UDP find free on 127.0.0.1, ::1 and the wildcard addresses;
 *       random, so that tests running at once pick apart.
 *   probe scan HOST LOW HIGH    a plain connect() to each port; print
 *       those that accept, one a line (what nmap -sT does).
 *   probe hold HOST PORT N      open N connections, send a byte on each,
 *       and print "answered A refused R waiting W" once each is answered
 *       or closed, or after -w seconds; then hold them until killed.
 *   probe chat HOST PORT N STOPFILE  open N connections and, round after
 *       round, send a lowercase line on each and read its reply, which
 *       must be that line in upper case; print "up" after the first
 *       round, and once STOPFILE exists (or -w seconds pass) "rounds R
 *       replies M wrong W lost L".  Exit 0 only if every reply came and
 *       was right.
 *   probe udpburst HOST PORT N MARK  N datagrams from one socket, then
 *       one from another bound to address MARK; once that one's reply
 *       comes, print "R W": the replies to the N (the ones already
 *       here: an echod with one worker answers in order) and the
 *       milliseconds from the first send to the marker's reply.
 *   probe free-low-port         a port below 1024 that TCP and UDP find
 *       free on 127.0.0.1 (binding it needs root).
 *
 * -b ADDR sends from that local address, -p PORT from that local port
 * (tcp, udp, hold, udpburst).
 *
 * Every wait is bounded by -w seconds (default 30).  Exit 0 on success,
 * 1 on failure (with a message), 2 on usage.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct buf {
	unsigned char *data;
	size_t len, cap;
};

static double timeout = 30;
static const char *source_addr, *source_port; /* -b, -p */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return; /* b->data may still be NULL */
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->data = realloc(b->data, b->cap)) == NULL)
			die("out of memory");
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
read_stdin(struct buf *b)
{
	unsigned char chunk[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, n);
	if (n == -1)
		die("stdin: %s", strerror(errno));
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bind fd to -b and -p's address and port. */
static void
bind_source(int fd, int family, int socktype)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = socktype,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	int rc, on = 1;

	rc = getaddrinfo(source_addr, source_port != NULL ? source_port : "0",
	    &hints, &res);
	if (rc != 0)
		die("-b %s -p %s: %s", source_addr ? source_addr : "any",
		    source_port ? source_port : "any", gai_strerror(rc));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		die("bind -b %s -p %s: %s", source_addr ? source_addr : "any",
		    source_port ? source_port : "any", strerror(errno));
	freeaddrinfo(res);
}

/* A connected (TCP) or connected datagram socket to host:port. */
static int
dial(const char *host, const char *port, int socktype)
{
	struct addrinfo hints = { .ai_socktype = socktype }, *res, *ai;
	int fd = -1, rc;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd != -1 && (source_addr != NULL || source_port != NULL))
			bind_source(fd, ai->ai_family, socktype);
		if (fd != -1 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		die("%s port %s: %s", host, port, strerror(errno));
	return fd;
}

/* Can a socket of this type bind this port on loopback, or (any) on
 * the wildcard address?  :: is dual-stack, so it clashes with IPv4
 * sockets too. */
static int
bindable(int family, int type, int port, int any)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, ok;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(any ? INADDR_ANY :
		    INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = any ? in6addr_any : in6addr_loopback;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	if ((fd = socket(family, type, 0)) == -1)
		return 0;
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

/* Is port free for TCP and UDP on 127.0.0.1 and the IPv4 wildcard and,
 * if the host has IPv6, on ::1 and ::?  The wildcards too, since some
 * tests bind 0.0.0.0 or :: and those clash with any address's socket. */
static int
port_free(int port, int v6)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!bindable(AF_INET, types[i], port, 0) ||
		    !bindable(AF_INET, types[i], port, 1) ||
		    (v6 && (!bindable(AF_INET6, types[i], port, 0) ||
			       !bindable(AF_INET6, types[i], port, 1))))
			return 0;
	return 1;
}

/* The low end of the kernel's ephemeral range, where connect() and
 * bind(0) take ports from; Linux's default if it cannot be read. */
static int
ephemeral_low(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int low = 32768;

	if (f != NULL) {
		if (fscanf(f, "%d", &low) != 1)
			low = 32768;
		fclose(f);
	}
	return low;
}

/*
 * The first of n consecutive free ports (port_free), below the ephemeral
 * range: a client socket of a test running alongside, which the kernel
 * gives an ephemeral port, can then never take one between this pick and
 * echod's bind.  Random, so that tests running at once pick apart; from
 * 20000 up when there is room, to stay clear of well-known services.
 */
static int
free_ports(int n)
{
	int low = ephemeral_low(), least = 20000, tries, base, p;
	int v6 = bindable(AF_INET6, SOCK_STREAM, 0, 0);
	struct timespec ts;

	if (low - least < 10 * n)
		least = 1024;
	if (low - least < n)
		die("no room for %d ports between %d and the ephemeral range "
		    "(from %d)", n, least, low);
	clock_gettime(CLOCK_REALTIME, &ts);
	srand((unsigned)getpid() ^ (unsigned)ts.tv_sec ^ (unsigned)ts.tv_nsec);
	for (tries = 0; tries < 100; tries++) {
		base = least + rand() % (low - least - n + 1);
		for (p = base; p < base + n; p++)
			if (!port_free(p, v6))
				break;
		if (p == base + n)
			return base;
	}
	die("no %d free ports below %d in 100 tries", n, low);
}

static int
cmd_free_range(const char *count)
{
	int n = atoi(count);

	if (n < 1 || n > 1000)
		die("free-range: N must be 1-1000");
	printf("%d\n", free_ports(n));
	return 0;
}

static int
cmd_scan(const char *host, const char *low, const char *high)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct sockaddr_storage ss;
	int p, fd, rc;

	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		die("%s: %s", host, gai_strerror(rc));
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	for (p = atoi(low); p <= atoi(high); p++) {
		/* sin_port and sin6_port sit at the same offset. */
		((struct sockaddr_in *)&ss)->sin_port = htons(p);
		if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&ss, res->ai_addrlen) == 0)
			printf("%d\n", p);
		close(fd);
	}
	freeaddrinfo(res);
	return 0;
}

struct tcp_conn {
	int fd;
	size_t sent;
	int shut, eof;
	struct buf reply;
};

static int
cmd_tcp(const char *host, const char *port, int nconns, int halfclose)
{
	struct buf payload = { 0 };
	struct tcp_conn *c;
	struct pollfd *pfd;
	unsigned char chunk[65536];
	double deadline;
	int i, left, n;
	ssize_t r;

	read_stdin(&payload);
	if ((c = calloc(nconns, sizeof(*c))) == NULL ||
	    (pfd = calloc(nconns, sizeof(*pfd))) == NULL)
		die("out of memory");
	/* Every connection is open before any byte is sent. */
	for (i = 0; i < nconns; i++)
		c[i].fd = dial(host, port, SOCK_STREAM);
	deadline = now() + timeout;
	for (left = nconns; left > 0;) {
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = c[i].eof ? -1 : c[i].fd;
			pfd[i].events = POLLIN;
			if (c[i].sent < payload.len)
				pfd[i].events |= POLLOUT;
		}
		if (now() > deadline)
			die("timed out with %d of %d connections unfinished",
			    left, nconns);
		if ((n = poll(pfd, nconns, 1000)) == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < nconns && n > 0; i++) {
			if (pfd[i].revents & POLLOUT) {
				r = send(c[i].fd, payload.data + c[i].sent,
				    payload.len - c[i].sent, MSG_NOSIGNAL);
				if (r == -1)
					die("send: %s", strerror(errno));
				c[i].sent += r;
			}
			if (c[i].sent == payload.len && halfclose && !c[i].shut) {
				shutdown(c[i].fd, SHUT_WR);
				c[i].shut = 1;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				r = recv(c[i].fd, chunk, sizeof(chunk), 0);
				if (r == -1)
					die("recv: %s", strerror(errno));
				if (r == 0) {
					c[i].eof = 1;
					left--;
				}
				buf_append(&c[i].reply, chunk, r);
			}
		}
	}
	for (i = 0; i < nconns; i++) {
		if (c[i].reply.len != c[0].reply.len ||
		    (c[0].reply.len > 0 && memcmp(c[i].reply.data, c[0].reply.data,
			c[0].reply.len) != 0))
			die("connection %d's reply differs from connection 0's", i);
	}
	fwrite(c[0].reply.data, 1, c[0].reply.len, stdout);
	for (i = 0; i < nconns; i++) {
		close(c[i].fd);
		free(c[i].reply.data);
	}
	free(c);
	free(pfd);
	free(payload.data);
	return 0;
}

static int
cmd_reset(const char *host, const char *port)
{
	struct linger lg = { 1, 0 };
	struct buf payload = { 0 };
	int fd = dial(host, port, SOCK_STREAM);

	read_stdin(&payload);
	if (send(fd, payload.data, payload.len, MSG_NOSIGNAL) == -1)
		die("send: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	free(payload.data);
	return 0;
}

static int
cmd_udp(const char *host, const char *port)
{
	static unsigned char reply[65536];
	struct buf payload = { 0 };
	struct pollfd pfd;
	ssize_t n;

	read_stdin(&payload);
	pfd.fd = dial(host, port, SOCK_DGRAM);
	pfd.events = POLLIN;
	if (send(pfd.fd, payload.data, payload.len, 0) == -1)
		die("send: %s", strerror(errno));
	if (poll(&pfd, 1, (int)(timeout * 1000)) != 1)
		die("no reply within %g s", timeout);
	if ((n = recv(pfd.fd, reply, sizeof(reply), 0)) == -1)
		die("recv: %s", strerror(errno));
	fwrite(reply, 1, n, stdout);
	close(pfd.fd);
	free(payload.data);
	return 0;
}

static int
cmd_flood(const char *host, const char *port, const char *bytes)
{
	static unsigned char chunk[65536];
	unsigned long long total = strtoull(bytes, NULL, 10), sent = 0;
	struct pollfd pfd = { .events = POLLOUT };
	double deadline = now() + timeout;
	ssize_t n;

	pfd.fd = dial(host, port, SOCK_STREAM);
	memset(chunk, 'a', sizeof(chunk));
	while (sent < total && now() < deadline) {
		if (poll(&pfd, 1, 1000) == 0)
			break; /* nothing moved for a second: stalled */
		n = send(pfd.fd, chunk, total - sent < sizeof(chunk) ?
		    total - sent : sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			break; /* the server closed it */
		if (n == -1 && errno != EAGAIN)
			die("send: %s", strerror(errno));
		if (n > 0)
			sent += n;
	}
	printf("%llu\n", sent);
	fflush(stdout);
	for (;;)
		pause();
}

static int
cmd_hold(const char *host, const char *port, const char *count)
{
	int i, n = atoi(count), answered = 0, refused = 0, left;
	struct pollfd *pfd;
	double deadline;
	char byte;
	ssize_t r;

	if (n < 1 || (pfd = calloc(n, sizeof(*pfd))) == NULL)
		die("hold: N must be 1 or more");
	for (i = 0; i < n; i++) {
		pfd[i].fd = dial(host, port, SOCK_STREAM);
		pfd[i].events = POLLIN;
		if (send(pfd[i].fd, "h", 1, MSG_NOSIGNAL) == -1) {
			refused++; /* reset already */
			pfd[i].fd = -pfd[i].fd - 1;
		}
	}
	deadline = now() + timeout;
	for (left = n - refused; left > 0 && now() < deadline;) {
		if (poll(pfd, n, 200) == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, &byte, 1, 0);
			if (r == 1)
				answered++;
			else
				refused++;
			/* Settled: kept open, no longer watched. */
			pfd[i].fd = -pfd[i].fd - 1;
			left--;
		}
	}
	printf("answered %d refused %d waiting %d\n", answered, refused,
	    n - answered - refused);
	fflush(stdout);
	for (;;)
		pause();
}

/* Read exactly n bytes from fd by deadline; -1 if they do not come. */
static int
read_exact(int fd, char *buf, size_t n, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (now() >= deadline || poll(&pfd, 1, 200) == -1)
			return -1;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = recv(fd, buf + got, n - got, 0)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int
cmd_chat(const char *host, const char *port, const char *count,
    const char *stopfile)
{
	int i, n = atoi(count), *fds, wrong = 0, lost = 0;
	long rounds = 0, replies = 0;
	double end = now() + timeout;
	char msg[64], want[64], got[64];
	size_t len, k;

	if (n < 1 || (fds = calloc(n, sizeof(*fds))) == NULL)
		die("chat: N must be 1 or more");
	for (i = 0; i < n; i++)
		fds[i] = dial(host, port, SOCK_STREAM);
	while (now() < end && access(stopfile, F_OK) == -1 && lost == 0) {
		for (i = 0; i < n; i++) {
			len = (size_t)snprintf(msg, sizeof(msg),
			    "chat round %ld on connection %d\n", rounds, i);
			for (k = 0; k < len; k++)
				want[k] = (char)(msg[k] >= 'a' && msg[k] <= 'z' ?
				    msg[k] - 'a' + 'A' : msg[k]);
			if (send(fds[i], msg, len, MSG_NOSIGNAL) != (ssize_t)len ||
			    read_exact(fds[i], got, len, now() + 10) == -1) {
				lost++;
				break;
			}
			if (memcmp(got, want, len) != 0)
				wrong++;
			replies++;
		}
		if (rounds++ == 0) {
			printf("up\n");
			fflush(stdout);
		}
		usleep(20000);
	}
	printf("rounds %ld replies %ld wrong %d lost %d\n", rounds, replies,
	    wrong, lost);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return wrong == 0 && lost == 0 ? 0 : 1;
}

/*
 * N datagrams from one socket, then a marker from a second one bound to
 * MARK (another address, so another rate bucket).  An echod with one
 * worker answers in the order it reads, so once the marker's reply is
 * here every reply to the N is too, without waiting for silence.
 */
static int
cmd_udpburst(const char *host, const char *port, const char *count,
    const char *mark)
{
	struct pollfd pfd = { .events = POLLIN };
	int i, n = atoi(count), fd, replies = 0;
	double start;
	char reply[64];

	if (n < 1)
		die("udpburst: N must be 1 or more");
	fd = dial(host, port, SOCK_DGRAM);
	source_addr = mark; /* -b and -p were the burst's */
	source_port = NULL;
	pfd.fd = dial(host, port, SOCK_DGRAM);
	start = now();
	for (i = 0; i < n; i++)
		if (send(fd, "burst", 5, 0) == -1)
			die("send: %s", strerror(errno));
	if (send(pfd.fd, "mark", 4, 0) == -1)
		die("send: %s", strerror(errno));
	if (poll(&pfd, 1, (int)(timeout * 1000)) != 1 ||
	    recv(pfd.fd, reply, sizeof(reply), 0) == -1)
		die("udpburst: no reply to the marker from %s within %g s",
		    mark, timeout);
	while (recv(fd, reply, sizeof(reply), MSG_DONTWAIT) > 0)
		replies++;
	printf("%d %.0f\n", replies, (now() - start) * 1000);
	close(pfd.fd);
	close(fd);
	return 0;
}

static int
cmd_free_low_port(void)
{
	int tries, p;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (tries = 0; tries < 200; tries++) {
		p = 600 + rand() % (1024 - 600);
		if (bindable(AF_INET, SOCK_STREAM, p, 0) &&
		    bindable(AF_INET, SOCK_DGRAM, p, 0)) {
			printf("%d\n", p);
			return 0;
		}
	}
	die("free-low-port: none found (binding below 1024 needs root)");
}

static int
cmd_sink(const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int tcp, udp, on = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(atoi(port));
	if ((tcp = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(tcp, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(tcp, 16) == -1 ||
	    (udp = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(udp, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("sink: %s", strerror(errno));
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static void __attribute__((noreturn))
usage(void)
{
	fputs("usage: probe free-port | ipv6 | tcp [-c N] [-n] [-w S] HOST "
	      "PORT | reset HOST PORT | udp [-w S] HOST PORT | flood HOST "
	      "PORT BYTES | sink PORT | free-range N | scan HOST LOW HIGH | "
	      "hold HOST PORT N | chat HOST PORT N STOPFILE | udpburst HOST PORT N "
	      "MARK | "
	      "free-low-port\n"
	      "  -b ADDR, -p PORT: the local address and port to send from\n",
	    stderr);
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *cmd;
	int ch, nconns = 1, halfclose = 1;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "b:c:np:w:")) != -1) {
		switch (ch) {
		case 'b':
			source_addr = optarg;
			break;
		case 'p':
			source_port = optarg;
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'n':
			halfclose = 0;
			break;
		case 'w':
			timeout = atof(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "free-port") == 0 && argc == 0)
		return cmd_free_range("1");
	if (strcmp(cmd, "ipv6") == 0)
		return bindable(AF_INET6, SOCK_STREAM, 0, 0) ? 0 : 1;
	if (strcmp(cmd, "tcp") == 0 && argc == 2 && nconns > 0)
		return cmd_tcp(argv[0], argv[1], nconns, halfclose);
	if (strcmp(cmd, "reset") == 0 && argc == 2)
		return cmd_reset(argv[0], argv[1]);
	if (strcmp(cmd, "udp") == 0 && argc == 2)
		return cmd_udp(argv[0], argv[1]);
	if (strcmp(cmd, "sink") == 0 && argc == 1)
		return cmd_sink(argv[0]);
	if (strcmp(cmd, "free-range") == 0 && argc == 1)
		return cmd_free_range(argv[0]);
	if (strcmp(cmd, "scan") == 0 && argc == 3)
		return cmd_scan(argv[0], argv[1], argv[2]);
	if (strcmp(cmd, "flood") == 0 && argc == 3)
		return cmd_flood(argv[0], argv[1], argv[2]);
	if (strcmp(cmd, "hold") == 0 && argc == 3)
		return cmd_hold(argv[0], argv[1], argv[2]);
	if (strcmp(cmd, "chat") == 0 && argc == 4)
		return cmd_chat(argv[0], argv[1], argv[2], argv[3]);
	if (strcmp(cmd, "udpburst") == 0 && argc == 4)
		return cmd_udpburst(argv[0], argv[1], argv[2], argv[3]);
	if (strcmp(cmd, "free-low-port") == 0 && argc == 0)
		return cmd_free_low_port();
	usage();
}
