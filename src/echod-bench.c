/*
 * echod-bench: load for an echo server, every reply checked.
 *
 *   tcp      C connections, each sends an S-byte message and waits for
 *            its reply before the next (ping-pong)
 *   stream   C connections send without waiting, up to W bytes in
 *            flight each, and check the bytes that come back
 *   connect  C at a time: connect, send one message, read the reply,
 *            close (with a reset, so that no TIME_WAIT piles up): what
 *            the lab's client does
 *   udp      C sockets, ping-pong; a reply not back within the time-out
 *            is counted lost and the next message sent
 *   idle     open C connections, check each with one message, then hold
 *            them all for the duration (for measuring server memory)
 *
 * One thread, one epoll set, non-blocking sockets.  The expected reply
 * is the message put through --expect (echo, upper or rot13).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_LEN 61		/* prime: a shifted stream cannot match */
#define RBUF_SIZE (64 * 1024)
#define SEQ_DIGITS 8		/* udp: a message's number, in its first bytes */
#define HIST_SIZE (1024 + 40 * 128)
#define IDLE_RAMP 256		/* idle: connections being opened at a time */

enum mode { MODE_TCP, MODE_STREAM, MODE_CONNECT, MODE_UDP, MODE_IDLE };
static const char *const mode_names[] = { "tcp", "stream", "connect",
	"udp", "idle" };

enum slot_state { S_IDLE, S_CONNECTING, S_WAITING, S_HELD, S_DEAD };

struct slot {
	int fd;
	enum slot_state state;
	uint64_t sent, received; /* this message's, or the stream's, bytes */
	uint64_t seq;		 /* udp: the message awaited */
	double t0;		 /* when the message (or connect) started */
};

static struct {
	enum mode mode;
	int conns, size, window, sources;
	double duration, timeout;
	bool json, quiet;
	const char *expect, *host, *port;
} opt = { .conns = 1, .size = 64, .window = 256 * 1024, .sources = 1,
	.duration = 10, .timeout = 1, .expect = "echo" };

static struct {
	uint64_t messages, bytes, errors, mismatches, lost, held;
	uint64_t hist[HIST_SIZE];
} stats;

static struct addrinfo *target;
static unsigned char table[256];	/* the expected transform */
static unsigned char *msg, *want;	/* a message and its reply */
static unsigned char *stream, *stream_want; /* the stream, repeated */
static unsigned char rbuf[RBUF_SIZE];
static struct slot *slots;
static int nidle, ndead; /* slots to reconnect; slots given up */
static int nstarted;	 /* idle: slots opened so far */
static int ep;
static volatile sig_atomic_t interrupted;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("echod-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Latency histogram: 1 us steps to 1 ms, then 128 steps per doubling. */
static void
hist_add(double seconds)
{
	uint64_t us = (uint64_t)(seconds * 1e6);
	int msb, i;

	if (us < 1024)
		i = (int)us;
	else {
		msb = 63 - __builtin_clzll(us);
		i = 1024 + (msb - 10) * 128 + (int)((us >> (msb - 7)) & 127);
		if (i >= HIST_SIZE)
			i = HIST_SIZE - 1;
	}
	stats.hist[i]++;
}

static double
hist_value(int i)
{
	int k;

	if (i < 1024)
		return i;
	k = (i - 1024) / 128;
	return (double)((128 + (i - 1024) % 128)) * (double)(1ULL << (k + 3));
}

/* The latency below which fraction q of the messages came back, in us. */
static double
hist_quantile(double q)
{
	uint64_t total = 0, rank, seen = 0;
	int i;

	for (i = 0; i < HIST_SIZE; i++)
		total += stats.hist[i];
	if (total == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)total);
	for (i = 0; i < HIST_SIZE; i++)
		if ((seen += stats.hist[i]) >= rank)
			return hist_value(i);
	return hist_value(HIST_SIZE - 1);
}

static void
make_table(const char *name)
{
	int c;

	for (c = 0; c < 256; c++)
		table[c] = (unsigned char)c;
	if (strcmp(name, "upper") == 0) {
		for (c = 'a'; c <= 'z'; c++)
			table[c] = (unsigned char)(c - 'a' + 'A');
	} else if (strcmp(name, "rot13") == 0) {
		for (c = 0; c < 26; c++) {
			table['a' + c] = (unsigned char)('a' + (c + 13) % 26);
			table['A' + c] = (unsigned char)('A' + (c + 13) % 26);
		}
	} else if (strcmp(name, "echo") != 0)
		die("--expect: \"%s\" is not echo, upper or rot13", name);
}

/* The pattern: letters of both cases, digits and a space. */
static unsigned char
pattern(size_t i)
{
	static const char p[PATTERN_LEN + 1] =
	    "the quick brown fox jumps over THE LAZY DOG 0123456789 abcdef";

	return (unsigned char)p[i % PATTERN_LEN];
}

static void
make_messages(void)
{
	size_t i, n = (size_t)opt.size + PATTERN_LEN + RBUF_SIZE;

	if ((msg = malloc(opt.size)) == NULL || (want = malloc(opt.size)) ==
	    NULL || (stream = malloc(n)) == NULL ||
	    (stream_want = malloc(n)) == NULL)
		die("out of memory");
	for (i = 0; i < (size_t)opt.size; i++)
		want[i] = table[msg[i] = pattern(i)];
	for (i = 0; i < n; i++)
		stream_want[i] = table[stream[i] = pattern(i)];
}

/*
 * udp: number message seq in its first SEQ_DIGITS bytes (digits: no
 * transform changes them), so that a late reply is told from the one
 * awaited.  Returns how many bytes carry the number.
 */
static size_t
number_message(uint64_t seq, unsigned char *buf)
{
	char digits[SEQ_DIGITS + 1];
	size_t n = opt.size < SEQ_DIGITS ? (size_t)opt.size : SEQ_DIGITS;

	snprintf(digits, sizeof(digits), "%0*llu", SEQ_DIGITS,
	    (unsigned long long)(seq % 100000000));
	memcpy(buf, digits, n);
	return n;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rlim_t)opt.conns + 16 > rl.rlim_cur)
		die("%d connections need more descriptors than the limit, %llu",
		    opt.conns, (unsigned long long)rl.rlim_cur);
}

static void
watch(struct slot *s, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(ep, op, s->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* Close s; a TCP one with a reset, so that it leaves no TIME_WAIT. */
static void
slot_close(struct slot *s, enum slot_state next)
{
	struct linger lg = { 1, 0 };

	if (s->fd != -1) {
		if (opt.mode != MODE_UDP)
			(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		close(s->fd);
	}
	s->fd = -1;
	s->state = next;
	nidle += next == S_IDLE;
	ndead += next == S_DEAD;
}

/*
 * idle: open the next connection.  A few hundred at a time, not all at
 * once, so that no accept queue overflows: Linux then drops the
 * handshake's last ACK and the connection hangs for seconds.
 */
static void slot_connect(struct slot *);
static void
idle_ramp(void)
{
	if (nstarted < opt.conns)
		slot_connect(&slots[nstarted++]);
}

static void
slot_error(struct slot *s)
{
	stats.errors++;
	slot_close(s, opt.mode == MODE_CONNECT ? S_IDLE : S_DEAD);
	if (opt.mode == MODE_IDLE)
		idle_ramp();
}

/* Start a connection (or a UDP socket) for slot s. */
static void
slot_connect(struct slot *s)
{
	struct sockaddr_in src;
	int on = 1, type = opt.mode == MODE_UDP ? SOCK_DGRAM : SOCK_STREAM;

	s->fd = socket(target->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (s->fd == -1)
		die("socket: %s", strerror(errno));
	if (type == SOCK_STREAM)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	if (opt.sources > 1 && target->ai_family == AF_INET) {
		/* More than one loopback source: more than 28,000 ports. */
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001 +
		    (uint32_t)((s - slots) % opt.sources));
#ifdef IP_BIND_ADDRESS_NO_PORT
		(void)setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &on, sizeof(on));
#endif
		if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) == -1)
			die("bind 127.0.0.%d: %s",
			    (int)(1 + (s - slots) % opt.sources),
			    strerror(errno));
	}
	s->sent = s->received = 0;
	s->t0 = now();
	if (connect(s->fd, target->ai_addr, target->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		slot_error(s);
		return;
	}
	s->state = S_CONNECTING;
	watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Send the message (or, in stream mode, what the window allows). */
static void
slot_send(struct slot *s)
{
	const unsigned char *p = msg;
	size_t n = opt.size;
	ssize_t w;

	if (opt.mode == MODE_STREAM) {
		p = stream + s->sent % PATTERN_LEN;
		n = opt.window - (s->sent - s->received);
		if (n > (size_t)opt.size)
			n = opt.size;
		if (n == 0)
			return;
	} else {
		if (opt.mode == MODE_UDP)
			number_message(s->seq, msg);
		p += s->sent;
		n -= s->sent;
		if (s->sent == 0 && opt.mode != MODE_CONNECT)
			s->t0 = now();
	}
	if ((w = send(s->fd, p, n, MSG_NOSIGNAL)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    (opt.mode == MODE_UDP && errno == ECONNREFUSED))
			w = 0;
		else {
			slot_error(s);
			return;
		}
	}
	s->sent += w;
	if (opt.mode == MODE_UDP && w == 0)
		s->sent = opt.size; /* counted lost when the time-out passes */
}

/* Which events s waits for now. */
static uint32_t
slot_events(const struct slot *s)
{
	if (opt.mode == MODE_STREAM)
		return EPOLLIN | (s->sent - s->received < (uint64_t)opt.window ?
		    EPOLLOUT : 0);
	return s->sent < (uint64_t)opt.size ? EPOLLOUT : EPOLLIN;
}

/* A whole reply is in: count it and go on. */
static void
slot_replied(struct slot *s)
{
	stats.messages++;
	hist_add(now() - s->t0);
	s->sent = s->received = 0;
	switch (opt.mode) {
	case MODE_CONNECT:
		slot_close(s, S_IDLE);
		return;
	case MODE_IDLE:
		s->state = S_HELD;
		stats.held++;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		idle_ramp();
		return;
	case MODE_UDP:
		s->seq++;
		break;
	default:
		break;
	}
	slot_send(s);
}

static void
slot_read(struct slot *s)
{
	const unsigned char *expected;
	unsigned char seq[SEQ_DIGITS];
	ssize_t n;
	size_t left, k;

	if ((n = recv(s->fd, rbuf, sizeof(rbuf), 0)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (opt.mode == MODE_UDP && errno == ECONNREFUSED)
			return; /* an earlier datagram's ICMP; the time-out counts */
		slot_error(s);
		return;
	}
	if (n == 0 || s->state == S_HELD) {
		/* EOF, or bytes nobody asked for. */
		if (n > 0)
			stats.mismatches++;
		slot_error(s);
		return;
	}
	stats.bytes += n;
	if (opt.mode == MODE_STREAM) {
		if (memcmp(rbuf, stream_want + s->received % PATTERN_LEN, n)) {
			stats.mismatches++;
			slot_error(s);
			return;
		}
		s->received += n;
		return;
	}
	if (opt.mode == MODE_UDP) {
		k = number_message(s->seq, seq);
		if ((size_t)n != (size_t)opt.size ||
		    memcmp(rbuf + k, want + k, n - k) != 0)
			stats.mismatches++;
		else if (memcmp(rbuf, seq, k) == 0)
			slot_replied(s);
		/* else a late reply to a message already counted lost */
		return;
	}
	left = (size_t)opt.size - s->received;
	expected = want + s->received;
	if ((size_t)n > left || memcmp(rbuf, expected, n)) {
		stats.mismatches++;
		slot_error(s);
		return;
	}
	s->received += n;
	if (s->received == (uint64_t)opt.size)
		slot_replied(s);
}

static void
slot_event(struct slot *s, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->state == S_CONNECTING) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			slot_error(s);
			return;
		}
		s->state = S_WAITING;
		if (opt.mode != MODE_CONNECT)
			s->t0 = now();
		slot_send(s);
	} else {
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			slot_read(s);
		if (s->state == S_WAITING && (events & EPOLLOUT))
			slot_send(s);
	}
	if (s->state == S_WAITING || s->state == S_CONNECTING)
		watch(s, slot_events(s), EPOLL_CTL_MOD);
}

/* udp: messages not answered within the time-out are lost. */
static void
check_lost(double t)
{
	int i;

	for (i = 0; i < opt.conns; i++)
		if (slots[i].state == S_WAITING && t - slots[i].t0 >
		    opt.timeout) {
			stats.lost++;
			slots[i].seq++;
			slots[i].sent = 0;
			slot_send(&slots[i]);
			watch(&slots[i], slot_events(&slots[i]),
			    EPOLL_CTL_MOD);
		}
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
report(double elapsed)
{
	double mps = elapsed > 0 ? stats.messages / elapsed : 0;
	double mbs = elapsed > 0 ? stats.bytes / elapsed / 1e6 : 0;

	if (opt.mode == MODE_STREAM) {
		/* Messages: the writes' worth that came back. */
		stats.messages = stats.bytes / opt.size;
		mps = elapsed > 0 ? stats.messages / elapsed : 0;
	}
	if (opt.json) {
		printf("{\"mode\": \"%s\", \"connections\": %d, \"size\": %d, "
		    "\"expect\": \"%s\", \"seconds\": %.3f, \"messages\": %llu, "
		    "\"messages_per_s\": %.1f, \"mb_per_s\": %.3f, "
		    "\"latency_us\": {\"p50\": %.0f, \"p99\": %.0f, "
		    "\"p999\": %.0f}, \"errors\": %llu, \"mismatches\": %llu, "
		    "\"lost\": %llu, \"held\": %llu}\n",
		    mode_names[opt.mode], opt.conns, opt.size, opt.expect,
		    elapsed, (unsigned long long)stats.messages, mps, mbs,
		    hist_quantile(0.5), hist_quantile(0.99),
		    hist_quantile(0.999), (unsigned long long)stats.errors,
		    (unsigned long long)stats.mismatches,
		    (unsigned long long)stats.lost,
		    (unsigned long long)stats.held);
		return;
	}
	printf("%s: %d connection%s, %d-byte messages, expect %s, %.1f s\n",
	    mode_names[opt.mode], opt.conns, opt.conns == 1 ? "" : "s",
	    opt.size, opt.expect, elapsed);
	if (opt.mode == MODE_IDLE)
		printf("  held        %llu\n", (unsigned long long)stats.held);
	printf("  messages/s  %.0f\n  MB/s        %.2f\n", mps, mbs);
	if (opt.mode != MODE_STREAM)
		printf("  latency     p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n",
		    hist_quantile(0.5), hist_quantile(0.99),
		    hist_quantile(0.999));
	printf("  errors      %llu\n  mismatches  %llu\n",
	    (unsigned long long)stats.errors,
	    (unsigned long long)stats.mismatches);
	if (opt.mode == MODE_UDP)
		printf("  lost        %llu\n", (unsigned long long)stats.lost);
}

static void __attribute__((noreturn))
usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: echod-bench [-jq] [-c conns] [-d seconds] [-e transform]\n"
	    "                   [-S sources] [-s size] [-t timeout] [-w window]\n"
	    "                   tcp|stream|connect|udp|idle host port\n"
	    "  -c, --connections N  connections or UDP sockets (default 1)\n"
	    "  -d, --duration S     seconds to run (default 10)\n"
	    "  -e, --expect T       echo, upper or rot13 (default echo)\n"
	    "  -j, --json           one JSON object instead of text\n"
	    "  -q, --quiet          no progress line\n"
	    "  -S, --sources N      IPv4 loopback only: connect from\n"
	    "                       127.0.0.1 to 127.0.0.N, for more than\n"
	    "                       28,000 connections (default 1)\n"
	    "  -s, --size N         bytes per message, stream: per write\n"
	    "                       (default 64)\n"
	    "  -t, --timeout S      udp: a reply later than this is lost\n"
	    "                       (default 1)\n"
	    "  -w, --window N       stream: bytes in flight per connection\n"
	    "                       (default 262144)\n");
	exit(status);
}

static long
number(const char *arg, const char *name, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || v < lo || v > hi)
		die("%s: \"%s\" is not a number from %ld to %ld", name, arg, lo,
		    hi);
	return v;
}

static void
parse_options(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sources", required_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i;

	while ((ch = getopt_long(argc, argv, "c:d:e:hjqS:s:t:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.conns = (int)number(optarg, "connections", 1,
			    1000000);
			break;
		case 'd':
			opt.duration = (double)number(optarg, "duration", 1,
			    86400);
			break;
		case 'e':
			opt.expect = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'j':
			opt.json = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'S':
			opt.sources = (int)number(optarg, "sources", 1, 254);
			break;
		case 's':
			opt.size = (int)number(optarg, "size", 1, 65507);
			break;
		case 't':
			opt.timeout = (double)number(optarg, "timeout", 1, 60);
			break;
		case 'w':
			opt.window = (int)number(optarg, "window", 1,
			    64 * 1024 * 1024);
			break;
		default:
			usage(stderr, 1);
		}
	}
	if (argc - optind != 3)
		usage(stderr, 1);
	for (i = 0; i <= MODE_IDLE; i++)
		if (strcmp(argv[optind], mode_names[i]) == 0)
			break;
	if (i > MODE_IDLE)
		die("\"%s\" is not a mode: tcp, stream, connect, udp or idle",
		    argv[optind]);
	opt.mode = (enum mode)i;
	opt.host = argv[optind + 1];
	opt.port = argv[optind + 2];
}

int
main(int argc, char *argv[])
{
	struct addrinfo hints;
	struct epoll_event evs[256];
	double start, t, last_progress, end;
	int i, n, rc;
	bool holding = false;

	parse_options(argc, argv);
	make_table(opt.expect);
	make_messages();
	raise_nofile();
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = opt.mode == MODE_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if ((rc = getaddrinfo(opt.host, opt.port, &hints, &target)) != 0)
		die("%s port %s: %s", opt.host, opt.port, gai_strerror(rc));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((slots = calloc(opt.conns, sizeof(*slots))) == NULL)
		die("out of memory");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (isatty(STDERR_FILENO) == 0)
		opt.quiet = true;

	start = last_progress = now();
	end = start + opt.duration;
	for (i = 0; i < opt.conns; i++) {
		slots[i].fd = -1;
		slots[i].state = S_DEAD; /* idle: not opened yet */
	}
	for (i = 0; i < opt.conns; i++)
		if (opt.mode != MODE_IDLE)
			slot_connect(&slots[i]);
		else if (i < IDLE_RAMP)
			idle_ramp();
	for (t = start; t < end && !interrupted; t = now()) {
		n = epoll_wait(ep, evs, 256, 10);
		for (i = 0; i < n; i++)
			slot_event(evs[i].data.ptr, evs[i].events);
		for (i = 0; nidle > 0 && i < opt.conns; i++)
			if (slots[i].state == S_IDLE) {
				nidle--;
				slot_connect(&slots[i]);
			}
		if (ndead == opt.conns)
			break; /* every connection failed */
		if (opt.mode == MODE_IDLE && nstarted < opt.conns)
			continue;
		if (opt.mode == MODE_UDP)
			check_lost(t);
		if (opt.mode == MODE_IDLE && !holding &&
		    stats.held + ndead == (uint64_t)opt.conns) {
			/* Scripts wait for this line. */
			fprintf(stderr, "echod-bench: holding %llu connections\n",
			    (unsigned long long)stats.held);
			holding = true;
		}
		if (!opt.quiet && t - last_progress >= 1) {
			last_progress = t;
			fprintf(stderr, "\r%4.0f s: %llu messages, %.2f MB, "
			    "%llu errors   ", t - start,
			    (unsigned long long)stats.messages,
			    stats.bytes / 1e6, (unsigned long long)stats.errors);
		}
	}
	if (!opt.quiet)
		fputc('\n', stderr);
	report(now() - start);
	for (i = 0; i < opt.conns; i++)
		slot_close(&slots[i], S_DEAD);
	free(slots);
	freeaddrinfo(target);
	free(msg);
	free(want);
	free(stream);
	free(stream_want);
	close(ep);
	return stats.errors + stats.mismatches > 0 ? 2 : 0;
}
