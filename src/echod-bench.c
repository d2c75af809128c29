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
 *   udp      C sockets, each with up to W datagrams in flight (1 by
 *            default: ping-pong); a reply not back within the time-out
 *            is counted lost and another message sent in its place;
 *            replies read and messages sent up to UDP_BATCH a call
 *   idle     open C connections, check each with one message, then hold
 *            them all for the duration (for measuring server memory)
 *
 * One thread, one epoll set, non-blocking sockets.  The expected reply
 * is the message put through --expect (echo, upper or rot13).
 *
 * With --tls every TCP mode runs over TLS (OpenSSL 3): a connection
 * connects, then handshakes (S_HANDSHAKE), then goes on as before.  No
 * session is ever resumed, so connect mode's messages/s are full
 * handshakes a second.  slot_recv and slot_xmit stand for recv and send;
 * as OpenSSL may need to write to read or to read to write, a slot keeps
 * which event its next read and its next write wait for (read_on,
 * write_on), and a write that could not finish is called again with the
 * same length (wlen).  Bytes OpenSSL has already taken off the socket do
 * not make it readable, so a read goes on while SSL_has_pending.
 *
 * In udp mode each message carries its number in its first bytes, and a
 * socket keeps its W messages in flight in a ring indexed by number mod
 * W (struct flight): a reply is matched by its number, whatever the
 * order, and the oldest numbers are the first to time out.
 *
 * With --proxy each TCP connection starts with a PROXY header (v1 or
 * v2), as soon as it is up: in the same write as the first message, as
 * a balancer that has the client's first bytes sends them, but alone
 * before a TLS ClientHello or a stream; each datagram starts with one (v2 DGRAM, or the TCP4/TCP6
 * line nginx sends).  It names --proxy-source plus the slot's number mod
 * --proxy-sources, and the socket's own port.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

#ifdef HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#endif

#include "tls_reason.h"
#include "util.h"

#define PATTERN_LEN 61		/* prime: a shifted stream cannot match */
#define RBUF_SIZE (64 * 1024)
#define SEQ_DIGITS 8		/* udp: a message's number, in its first bytes */
#define UDP_BATCH 16		/* udp: datagrams a sendmmsg() or recvmmsg() */
#define HIST_SIZE (1024 + 40 * 128)
#define IDLE_RAMP 256		/* idle: connections being opened at a time */
#define UDP_WINDOW_MAX 65536	/* udp: -w, datagrams in flight per socket */
#define UDP_PAYLOAD_MAX 65507	/* the most an IPv4 datagram carries */
#define PROXY_MAX 108		/* a v1 line (107) or a v2 header (52) */
#define PROXY_SOURCE "192.0.2.1" /* TEST-NET-1: nobody's address */

enum mode { MODE_TCP, MODE_STREAM, MODE_CONNECT, MODE_UDP, MODE_IDLE };
static const char *const mode_names[] = { "tcp", "stream", "connect",
	"udp", "idle" };

enum slot_state { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_WAITING, S_HELD,
	S_DEAD };

/* udp: a message in flight, at its number mod -w in its socket's ring. */
struct flight {
	uint64_t seq;		/* its number */
	double t0;		/* when it was sent */
	bool out;		/* awaited: neither answered nor lost yet */
};

struct slot {
	int fd;
	enum slot_state state;
	uint64_t sent, received; /* this message's, or the stream's, bytes */
	uint64_t seq;		 /* udp: the next message's number */
	uint64_t oldest;	 /* udp: no number below it is awaited */
	struct flight *win;	 /* udp: the ring, -w long */
	unsigned char *phdr;	 /* udp --proxy: every datagram's header */
	size_t phdr_len;
	double t0;		 /* when the message (or connect) started */
	uint32_t read_on;	 /* the event the next read (or handshake
				    step) waits for: EPOLLIN but under TLS */
	uint32_t write_on;	 /* the next write's: EPOLLOUT but under TLS */
	uint32_t watched;	 /* the events epoll has for it */
#ifdef HAVE_OPENSSL
	SSL *ssl;		 /* --tls: the session */
	bool tls_broken;	 /* it failed: no close_notify */
	size_t wlen;		 /* a write to call again with this length */
#endif
};

/* --tls-version; TLS_ANY: 1.2 or 1.3. */
enum tls_version { TLS_ANY, TLS_1_2, TLS_1_3 };

static struct {
	enum mode mode;
	int conns, size, window, sources;
	double duration, timeout;
	bool json, quiet;
	const char *expect, *host, *port;
	bool tls, insecure;	/* --tls, --insecure */
	const char *cafile;	/* --cafile: NULL for the system's CAs */
	const char *servername; /* --servername: NULL for the host */
	enum tls_version tls_version;
	int proxy;		/* --proxy: 0 (none), 1 or 2 */
	const char *proxy_source; /* --proxy-source: NULL for PROXY_SOURCE */
	int proxy_sources;	/* --proxy-sources */
} opt = { .conns = 1, .size = 64, .sources = 1, .duration = 10,
	.timeout = 1, .expect = "echo", .proxy_sources = 1 };

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
static char tls_protocol[32], tls_cipher[64]; /* the first handshake's */
static size_t seq_len;	 /* udp: the digits of a message's number */
static uint64_t seq_mod; /* udp: 10 to the seq_len: numbers wrap there */
static struct flight *flights;	 /* udp: every socket's ring */
static unsigned char *phdrs;	 /* udp --proxy: every socket's header */
static unsigned char *ubufs;	 /* udp: UDP_BATCH replies, -s + 1 each */
static int proxy_af;		 /* --proxy-source's family */
static unsigned char proxy_base[16]; /* its address, 4 or 16 bytes */
static char proxy_first[INET6_ADDRSTRLEN], proxy_last[INET6_ADDRSTRLEN];

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
 * udp: number message seq in its first seq_len bytes (digits: no
 * transform changes them), so that a reply is matched with its message
 * and a late one told from the ones awaited.  A message shorter than
 * SEQ_DIGITS carries the number's last digits.
 */
static void
number_message(uint64_t seq, unsigned char *buf)
{
	char digits[SEQ_DIGITS + 1];

	snprintf(digits, sizeof(digits), "%0*llu", (int)seq_len,
	    (unsigned long long)(seq % seq_mod));
	memcpy(buf, digits, seq_len);
}

/* udp: the number in a reply's first seq_len bytes, or -1. */
static int64_t
reply_number(const unsigned char *buf, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len < seq_len)
		return -1;
	for (i = 0; i < seq_len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	return (int64_t)v;
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

	/* A udp flood changes nothing on most events: no call for that. */
	if (op == EPOLL_CTL_MOD && events == s->watched)
		return;
	if (epoll_ctl(ep, op, s->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	s->watched = events;
}

/* a + n into out, a and out len bytes in network order; false if it
 * passes the end of the address space. */
static bool
proxy_addr_add(const unsigned char *a, size_t len, uint32_t n,
    unsigned char *out)
{
	uint64_t carry = n;
	size_t i = len;

	memcpy(out, a, len);
	while (i-- > 0 && carry != 0) {
		carry += out[i];
		out[i] = (unsigned char)(carry & 0xff);
		carry >>= 8;
	}
	return carry == 0;
}

/* --proxy-source and --proxy-sources, checked and kept. */
static void
proxy_setup(void)
{
	const char *src = opt.proxy_source != NULL ? opt.proxy_source :
	    PROXY_SOURCE;
	unsigned char last[16];
	size_t len;

	if (inet_pton(AF_INET, src, proxy_base) == 1)
		proxy_af = AF_INET;
	else if (inet_pton(AF_INET6, src, proxy_base) == 1)
		proxy_af = AF_INET6;
	else
		die("--proxy-source: \"%s\" is not an IPv4 or IPv6 address",
		    src);
	len = proxy_af == AF_INET ? 4 : 16;
	if (!proxy_addr_add(proxy_base, len,
	    (uint32_t)(opt.proxy_sources - 1), last))
		die("--proxy-sources: %d addresses from %s pass the end of "
		    "the address space", opt.proxy_sources, src);
	inet_ntop(proxy_af, proxy_base, proxy_first, sizeof(proxy_first));
	inet_ntop(proxy_af, last, proxy_last, sizeof(proxy_last));
}

/* An address of family af (4 or 16 bytes at a) as 16 bytes of IPv6,
 * IPv4 mapped (::ffff:a.b.c.d). */
static void
proxy_map6(int af, const void *a, unsigned char out[16])
{
	if (af == AF_INET6) {
		memcpy(out, a, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 10 + 2, a, 4);
}

/*
 * The PROXY header for slot s (its datagrams in udp mode) into buf, at
 * least PROXY_MAX bytes; returns its length.  The source is
 * --proxy-source plus the slot's number mod --proxy-sources, with the
 * socket's own port; the destination is the target.  When the two
 * families differ both go as IPv6, the IPv4 one mapped, as HAProxy
 * sends them.
 */
static size_t
proxy_header(const struct slot *s, unsigned char *buf)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
		0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	union sockaddr_any local, *dst = (union sockaddr_any *)
	    (void *)target->ai_addr;
	socklen_t len = sizeof(local);
	unsigned char src[16], s6[16], d6[16];
	const unsigned char *sa = src, *da;
	char stext[INET6_ADDRSTRLEN], dtext[INET6_ADDRSTRLEN];
	in_port_t sport = 0, dport;
	bool six = proxy_af == AF_INET6 || target->ai_family == AF_INET6;
	size_t alen = six ? 16 : 4;
	int n;

	(void)proxy_addr_add(proxy_base, proxy_af == AF_INET ? 4 : 16,
	    (uint32_t)((size_t)(s - slots) % (size_t)opt.proxy_sources), src);
	if (getsockname(s->fd, &local.sa, &len) == 0)
		sport = local.sa.sa_family == AF_INET6 ?
		    local.sin6.sin6_port : local.sin.sin_port;
	if (target->ai_family == AF_INET6) {
		da = dst->sin6.sin6_addr.s6_addr;
		dport = dst->sin6.sin6_port;
	} else {
		da = (const unsigned char *)&dst->sin.sin_addr;
		dport = dst->sin.sin_port;
	}
	if (six) {
		proxy_map6(proxy_af, src, s6);
		proxy_map6(target->ai_family, da, d6);
		sa = s6;
		da = d6;
	}
	if (opt.proxy == 1) {
		inet_ntop(six ? AF_INET6 : AF_INET, sa, stext, sizeof(stext));
		inet_ntop(six ? AF_INET6 : AF_INET, da, dtext, sizeof(dtext));
		n = snprintf((char *)buf, PROXY_MAX, "PROXY TCP%c %s %s %u %u"
		    "\r\n", six ? '6' : '4', stext, dtext, ntohs(sport),
		    ntohs(dport));
		return n > 0 && n < PROXY_MAX ? (size_t)n : 0;
	}
	memcpy(buf, sig, sizeof(sig));
	buf[12] = 0x21;	/* version 2, PROXY */
	buf[13] = (unsigned char)((six ? 0x20 : 0x10) |
	    (opt.mode == MODE_UDP ? 0x02 : 0x01));
	buf[14] = 0;
	buf[15] = (unsigned char)(2 * alen + 4);
	memcpy(buf + 16, sa, alen);
	memcpy(buf + 16 + alen, da, alen);
	memcpy(buf + 16 + 2 * alen, &sport, 2);
	memcpy(buf + 16 + 2 * alen + 2, &dport, 2);
	return 16 + 2 * alen + 4;
}

#ifdef HAVE_OPENSSL
static SSL_CTX *tls_ctx;
static const char *tls_name; /* verified, and sent unless an address */
static bool tls_numeric;     /* it is an address: no SNI */
static bool tls_told;	     /* a failure has been told */

/* Say why the first session failed: where one fails, all usually do,
 * and the errors count alone would not say why. */
static void __attribute__((format(printf, 1, 2)))
tls_tell(const char *fmt, ...)
{
	va_list ap;

	if (tls_told)
		return;
	tls_told = true;
	fprintf(stderr, "echod-bench: %s port %s: ", opt.host, opt.port);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The context every session is made from: no session is kept, so every
 * handshake is a full one. */
static void
tls_setup(void)
{
	char why[256];
	int lo = opt.tls_version == TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
	int hi = opt.tls_version == TLS_1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(tls_ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(tls_ctx, hi) != 1)
		die("TLS: %s", tls_reason(why, sizeof(why)));
	SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
	/* A record's header and body in one read of the socket, and the
	 * records after it: slot_read takes them while any is held. */
	SSL_CTX_set_read_ahead(tls_ctx, 1);
	SSL_CTX_set_options(tls_ctx, SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Partial writes count as send's do; idle sessions hold no
	 * buffers. */
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	tls_name = opt.servername != NULL ? opt.servername : opt.host;
	tls_numeric = addr_is_numeric(tls_name);
	if (opt.insecure) {
		fprintf(stderr, "echod-bench: warning: --insecure: the "
		    "server's certificate is not verified\n");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
		return;
	}
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
	if (opt.cafile != NULL ?
	    SSL_CTX_load_verify_locations(tls_ctx, opt.cafile, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(tls_ctx) != 1)
		die("%s%s: %s", opt.cafile != NULL ? "--cafile " :
		    "the system's CAs", opt.cafile != NULL ? opt.cafile : "",
		    tls_reason(why, sizeof(why)));
}

/*
 * What a failed SSL call (ret; err, errno just after it) means, as recv
 * and send would say it: -1 and EAGAIN to wait for s->read_on or
 * s->write_on (*on), 0 at the end of the stream, -1 and errno on an error.
 */
static ssize_t
tls_failed(struct slot *s, int ret, int err, uint32_t *on)
{
	char why[256];

	switch (SSL_get_error(s->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		*on = EPOLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*on = EPOLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify, or EOF */
	case SSL_ERROR_SYSCALL:
		s->tls_broken = true;
		if (err == 0 && ERR_peek_error() == 0)
			return 0;
		errno = err == 0 || err == EAGAIN || err == EINTR ? EIO : err;
		ERR_clear_error();
		return -1;
	default:
		s->tls_broken = true;
		tls_tell("TLS%s: %s", SSL_is_init_finished(s->ssl) ? "" :
		    " handshake", tls_reason(why, sizeof(why)));
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
tls_recv(struct slot *s, void *buf, size_t len)
{
	size_t n;

	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(s->ssl, buf, len, &n) == 1) {
		s->read_on = EPOLLIN;
		return (ssize_t)n;
	}
	return tls_failed(s, 0, errno, &s->read_on);
}

static ssize_t
tls_send(struct slot *s, const void *buf, size_t len)
{
	size_t n;

	/* OpenSSL wants a write that could not go called again with the
	 * same bytes: the window may have grown since, the bytes not. */
	if (s->wlen != 0)
		len = s->wlen;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(s->ssl, buf, len, &n) == 1) {
		s->wlen = 0;
		s->write_on = EPOLLOUT;
		return (ssize_t)n;
	}
	s->wlen = len;
	if (tls_failed(s, 0, errno, &s->write_on) == 0)
		errno = EPIPE; /* the server has closed */
	return -1;
}

/* A session's end: close_notify if it is sound (the reset follows). */
static void
tls_close(struct slot *s)
{
	if (s->ssl == NULL)
		return;
	ERR_clear_error();
	if (!s->tls_broken && SSL_is_init_finished(s->ssl))
		(void)SSL_shutdown(s->ssl);
	ERR_clear_error();
	SSL_free(s->ssl);
	s->ssl = NULL;
	s->wlen = 0;
}
#endif

/* recv(2) on s, through its session under --tls. */
static ssize_t
slot_recv(struct slot *s, void *buf, size_t len)
{
#ifdef HAVE_OPENSSL
	if (s->ssl != NULL)
		return tls_recv(s, buf, len);
#endif
	return recv(s->fd, buf, len, 0);
}

/* send(2) on s, through its session under --tls. */
static ssize_t
slot_xmit(struct slot *s, const void *buf, size_t len)
{
#ifdef HAVE_OPENSSL
	if (s->ssl != NULL)
		return tls_send(s, buf, len);
#endif
	return send(s->fd, buf, len, MSG_NOSIGNAL);
}

/* Has s's session bytes from the socket that a read would return? */
static bool
slot_pending(const struct slot *s)
{
#ifdef HAVE_OPENSSL
	return s->ssl != NULL && SSL_has_pending(s->ssl) == 1;
#else
	(void)s;
	return false;
#endif
}

/* Close s; a TCP one with a reset, so that it leaves no TIME_WAIT. */
static void
slot_close(struct slot *s, enum slot_state next)
{
	struct linger lg = { 1, 0 };

#ifdef HAVE_OPENSSL
	tls_close(s);
#endif
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
	int64_t room;
	int rcvbuf, on = 1;
	int type = opt.mode == MODE_UDP ? SOCK_DGRAM : SOCK_STREAM;

	s->fd = socket(target->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (s->fd == -1)
		die("socket: %s", strerror(errno));
	if (type == SOCK_STREAM)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	if (type == SOCK_DGRAM && opt.window > 1) {
		/* Room for every reply in flight (as far as rmem_max
		 * allows), so that what is lost is lost by the server. */
		room = (int64_t)opt.window * (opt.size + 1024);
		rcvbuf = room > INT32_MAX / 2 ? INT32_MAX / 2 : (int)room;
		(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	}
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
	s->read_on = EPOLLIN;
	s->write_on = EPOLLOUT;
	s->t0 = now();
	if (connect(s->fd, target->ai_addr, target->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		slot_error(s);
		return;
	}
	s->state = S_CONNECTING;
	watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

/*
 * udp: send messages until -w are in flight or the socket is full, up
 * to UDP_BATCH with each sendmmsg(), so that the load costs as little
 * CPU as it can beside the server.  The next number's place in the ring
 * is free only when fewer than -w are.  A datagram is s's PROXY header
 * (if any: an empty iovec is none), its number, and the rest of msg.
 */
static void
udp_send(struct slot *s)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH][3];
	unsigned char digits[UDP_BATCH][SEQ_DIGITS];
	struct flight *f;
	double t = now();
	int k, i, sent;

	for (;;) {
		for (k = 0; k < UDP_BATCH; k++) {
			f = &s->win[(s->seq + (uint64_t)k) %
			    (uint64_t)opt.window];
			if (f->out || (uint64_t)k >= (uint64_t)opt.window)
				break;
			number_message(s->seq + (uint64_t)k, digits[k]);
			iov[k][0].iov_base = s->phdr;
			iov[k][0].iov_len = s->phdr_len;
			iov[k][1].iov_base = digits[k];
			iov[k][1].iov_len = seq_len;
			iov[k][2].iov_base = msg + seq_len;
			iov[k][2].iov_len = (size_t)opt.size - seq_len;
			memset(&mm[k], 0, sizeof(mm[k]));
			mm[k].msg_hdr.msg_iov = iov[k];
			mm[k].msg_hdr.msg_iovlen = 3;
		}
		if (k == 0)
			return;
		if ((sent = sendmmsg(s->fd, mm, (unsigned int)k,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* until EPOLLOUT */
			/* An earlier datagram's ICMP: the first counts lost
			 * when its time-out passes, as if sent. */
			if (errno != ECONNREFUSED) {
				slot_error(s);
				return;
			}
			sent = 1;
		}
		for (i = 0; i < sent; i++) {
			f = &s->win[s->seq % (uint64_t)opt.window];
			f->t0 = t;
			f->seq = s->seq++;
			f->out = true;
		}
	}
}

/* Send the message (or, in stream mode, what the window allows). */
static void
slot_send(struct slot *s)
{
	const unsigned char *p = msg;
	size_t n = opt.size;
	ssize_t w;

	if (opt.mode == MODE_UDP) {
		udp_send(s);
		return;
	}
	if (opt.mode == MODE_STREAM) {
		p = stream + s->sent % PATTERN_LEN;
		n = opt.window - (s->sent - s->received);
		if (n > (size_t)opt.size)
			n = opt.size;
		if (n == 0)
			return;
	} else {
		if (s->sent >= (uint64_t)opt.size)
			return; /* TLS: woken for a read that wanted to write */
		p += s->sent;
		n -= s->sent;
		if (s->sent == 0 && opt.mode != MODE_CONNECT)
			s->t0 = now();
	}
	if ((w = slot_xmit(s, p, n)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			w = 0;
		else {
			slot_error(s);
			return;
		}
	}
	s->sent += w;
}

/* Which events s waits for now. */
static uint32_t
slot_events(const struct slot *s)
{
	if (s->state == S_HANDSHAKE || s->state == S_HELD)
		return s->read_on;
	if (opt.mode == MODE_UDP)
		return s->read_on | (s->win[s->seq % (uint64_t)opt.window].out ?
		    0 : s->write_on);
	if (opt.mode == MODE_STREAM)
		return s->read_on | (s->sent - s->received <
		    (uint64_t)opt.window ? s->write_on : 0);
	return s->sent < (uint64_t)opt.size ? s->write_on : s->read_on;
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
	default:
		break;
	}
	slot_send(s);
}

/* udp: the message in flight on s that number names, if any.  Those in
 * flight are the -w numbers below s->seq at most, and -w < seq_mod. */
static struct flight *
udp_awaited(struct slot *s, int64_t number)
{
	uint64_t back, seq;
	struct flight *f;

	if (number < 0)
		return NULL;
	back = (s->seq % seq_mod + seq_mod - (uint64_t)number) % seq_mod;
	if (back == 0 || back > (uint64_t)opt.window || back > s->seq)
		return NULL;
	seq = s->seq - back;
	f = &s->win[seq % (uint64_t)opt.window];
	return f->out && f->seq == seq ? f : NULL;
}

/* udp: a reply of n bytes at buf on s (truncated: longer than any
 * reply): its message's place is free for the next, whether the reply
 * is right or not. */
static void
udp_reply(struct slot *s, const unsigned char *buf, size_t n,
    bool truncated, double t)
{
	int64_t number = reply_number(buf, n);
	struct flight *f = udp_awaited(s, number);
	bool right = !truncated && number >= 0 && n == (size_t)opt.size &&
	    memcmp(buf + seq_len, want + seq_len, n - seq_len) == 0;

	if (!right)
		stats.mismatches++;
	if (f == NULL)
		return; /* late: its message was counted lost */
	f->out = false;
	if (right) {
		stats.messages++;
		hist_add(t - f->t0);
	}
}

/* udp: the replies waiting on s, up to UDP_BATCH with each recvmmsg()
 * and 64 in all, then as many messages in their place. */
static void
udp_read(struct slot *s)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	int i, n, got = 0;
	double t;

	while (got < 64) {
		for (i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = ubufs + (size_t)i * ((size_t)opt.size + 1);
			iov[i].iov_len = (size_t)opt.size + 1;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = recvmmsg(s->fd, mm, UDP_BATCH, MSG_DONTWAIT,
		    NULL)) == -1) {
			/* ECONNREFUSED: an earlier datagram's ICMP; the
			 * time-out counts. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNREFUSED) {
				slot_error(s);
				return;
			}
			break;
		}
		t = now();
		for (i = 0; i < n; i++) {
			stats.bytes += mm[i].msg_len;
			udp_reply(s, iov[i].iov_base, mm[i].msg_len,
			    mm[i].msg_len > (unsigned int)opt.size, t);
		}
		got += n;
		if (n < UDP_BATCH)
			break;
	}
	udp_send(s);
}

/* One read on s: true if it took bytes and s goes on reading. */
static bool
slot_read_once(struct slot *s)
{
	const unsigned char *expected;
	ssize_t n;
	size_t left;

	if ((n = slot_recv(s, rbuf, sizeof(rbuf))) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return false;
		/* udp: an earlier datagram's ICMP; the time-out counts. */
		if (opt.mode == MODE_UDP && errno == ECONNREFUSED)
			return false;
		slot_error(s);
		return false;
	}
	if (n == 0 || s->state == S_HELD) {
		/* EOF, or bytes nobody asked for. */
		if (n > 0)
			stats.mismatches++;
		slot_error(s);
		return false;
	}
	stats.bytes += n;
	if (opt.mode == MODE_STREAM) {
		if (memcmp(rbuf, stream_want + s->received % PATTERN_LEN, n)) {
			stats.mismatches++;
			slot_error(s);
			return false;
		}
		s->received += n;
		return true;
	}
	left = (size_t)opt.size - s->received;
	expected = want + s->received;
	if ((size_t)n > left || memcmp(rbuf, expected, n)) {
		stats.mismatches++;
		slot_error(s);
		return false;
	}
	s->received += n;
	if (s->received == (uint64_t)opt.size)
		slot_replied(s);
	return s->fd != -1;
}

/* Read what s has: under TLS also what its session took off the socket
 * already, which epoll cannot tell of; in udp mode, up to 64 replies,
 * not one an epoll_wait. */
static void
slot_read(struct slot *s)
{
	if (opt.mode == MODE_UDP) {
		udp_read(s);
		return;
	}
	while (slot_read_once(s) && slot_pending(s))
		continue;
}

/* s is connected (and under TLS, its handshake done): the first message. */
static void
slot_ready(struct slot *s)
{
	s->state = S_WAITING;
	if (opt.mode != MODE_CONNECT)
		s->t0 = now();
	if (opt.mode == MODE_UDP && opt.proxy != 0) {
		s->phdr_len = proxy_header(s, s->phdr);
		if (s->phdr_len + (size_t)opt.size > UDP_PAYLOAD_MAX)
			die("-s: %d bytes after a %zu-byte PROXY header pass "
			    "a datagram's %d", opt.size, s->phdr_len,
			    UDP_PAYLOAD_MAX);
	}
	slot_send(s);
}

/* TCP --proxy: the header, before anything else, with the first message
 * in the same write (what of it went counts as sent), but alone before
 * a TLS ClientHello or a stream.  A new connection's buffer takes the
 * header whole. */
static bool
proxy_send(struct slot *s)
{
	unsigned char buf[PROXY_MAX];
	size_t n = proxy_header(s, buf);
	struct iovec iov[2] = {
		{ .iov_base = buf, .iov_len = n },
		{ .iov_base = msg, .iov_len = (size_t)opt.size },
	};
	struct msghdr mh = { .msg_iov = iov,
	    .msg_iovlen = opt.tls || opt.mode == MODE_STREAM ? 1 : 2 };
	ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL);

	if (w < (ssize_t)n) {
		slot_error(s);
		return false;
	}
	s->sent = (uint64_t)w - n;
	return true;
}

#ifdef HAVE_OPENSSL
/* One step of s's handshake; once it is done, the first message. */
static void
slot_handshake(struct slot *s)
{
	ssize_t r;
	long v;
	int n, err;
	bool mismatch;

	ERR_clear_error();
	errno = 0;
	if ((n = SSL_connect(s->ssl)) == 1) {
		if (tls_protocol[0] == '\0') {
			snprintf(tls_protocol, sizeof(tls_protocol), "%s",
			    SSL_get_version(s->ssl));
			snprintf(tls_cipher, sizeof(tls_cipher), "%s",
			    SSL_get_cipher_name(s->ssl));
		}
		s->read_on = EPOLLIN;
		slot_ready(s);
		return;
	}
	err = errno;
	/* A certificate that fails will fail every handshake: stop. */
	v = SSL_get_verify_result(s->ssl);
	mismatch = v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH;
	if (!opt.insecure && v != X509_V_OK)
		die("%s port %s: certificate verification failed: %s%s%s",
		    opt.host, opt.port, X509_verify_cert_error_string(v),
		    mismatch ? ": the certificate is not for " : "",
		    mismatch ? tls_name : "");
	if ((r = tls_failed(s, n, err, &s->read_on)) == -1 && errno == EAGAIN)
		return;
	s->tls_broken = true;
	if (r == 0)
		tls_tell("TLS handshake: the server closed the connection");
	else if (errno != EPROTO) /* which tls_failed told */
		tls_tell("TLS handshake: %s", strerror(errno));
	slot_error(s);
}

/* s is connected: begin its session. */
static void
slot_tls_start(struct slot *s)
{
	char why[256];

	ERR_clear_error();
	if ((s->ssl = SSL_new(tls_ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1 ||
	    (!tls_numeric && SSL_set_tlsext_host_name(s->ssl, tls_name) != 1) ||
	    (!opt.insecure && SSL_set1_host(s->ssl, tls_name) != 1))
		die("TLS: %s", tls_reason(why, sizeof(why)));
	s->tls_broken = false;
	s->wlen = 0;
	s->state = S_HANDSHAKE;
	slot_handshake(s);
}
#else
/* Without OpenSSL --tls is refused: no slot comes here. */
static void
slot_handshake(struct slot *s)
{
	slot_error(s);
}

static void
slot_tls_start(struct slot *s)
{
	slot_error(s);
}
#endif

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
		if (opt.proxy != 0 && opt.mode != MODE_UDP && !proxy_send(s))
			return;
		if (opt.tls)
			slot_tls_start(s);
		else
			slot_ready(s);
	} else if (s->state == S_HANDSHAKE) {
		slot_handshake(s);
	} else {
		if (events & (s->read_on | EPOLLERR | EPOLLHUP))
			slot_read(s);
		if (s->state == S_WAITING && (events & s->write_on))
			slot_send(s);
	}
	/* A held session may be left wanting to write. */
	if (s->state == S_WAITING || s->state == S_CONNECTING ||
	    s->state == S_HANDSHAKE || (s->state == S_HELD && opt.tls))
		watch(s, slot_events(s), EPOLL_CTL_MOD);
}

/* udp: messages not answered within the time-out are lost, and others
 * go in their place.  They were sent in the order of their numbers, so
 * each socket's look stops at its first one still in time. */
static void
check_lost(double t)
{
	struct slot *s;
	struct flight *f;
	uint64_t lost;
	int i;

	for (i = 0; i < opt.conns; i++) {
		s = &slots[i];
		if (s->state != S_WAITING)
			continue;
		lost = stats.lost;
		for (; s->oldest < s->seq; s->oldest++) {
			f = &s->win[s->oldest % (uint64_t)opt.window];
			if (!f->out || f->seq != s->oldest)
				continue; /* answered */
			if (t - f->t0 <= opt.timeout)
				break;
			f->out = false;
			stats.lost++;
		}
		if (stats.lost == lost)
			continue;
		udp_send(s);
		if (s->state == S_WAITING)
			watch(s, slot_events(s), EPOLL_CTL_MOD);
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
	char tls[160] = "", win[48] = "", proxy[160] = "";

	if (opt.mode == MODE_UDP && opt.window > 1)
		snprintf(win, sizeof(win), opt.json ? "\"window\": %d, " :
		    ", %d in flight", opt.window);
	if (opt.proxy != 0 && opt.json)
		snprintf(proxy, sizeof(proxy), "\"proxy\": \"v%d\", "
		    "\"proxy_source\": \"%s\", \"proxy_sources\": %d, ",
		    opt.proxy, proxy_first, opt.proxy_sources);
	else if (opt.proxy != 0)
		snprintf(proxy, sizeof(proxy), ", PROXY v%d from %s%s%s",
		    opt.proxy, proxy_first, opt.proxy_sources > 1 ? " to " : "",
		    opt.proxy_sources > 1 ? proxy_last : "");
	if (opt.tls && opt.json)
		snprintf(tls, sizeof(tls), "\"tls_protocol\": \"%s\", "
		    "\"tls_cipher\": \"%s\", ", tls_protocol, tls_cipher);
	else if (opt.tls && tls_protocol[0] != '\0')
		snprintf(tls, sizeof(tls), ", %s %s", tls_protocol,
		    tls_cipher);
	else if (opt.tls)
		snprintf(tls, sizeof(tls), ", TLS (no handshake completed)");

	if (opt.mode == MODE_STREAM) {
		/* Messages: the writes' worth that came back. */
		stats.messages = stats.bytes / opt.size;
		mps = elapsed > 0 ? stats.messages / elapsed : 0;
	}
	if (opt.json) {
		printf("{\"mode\": \"%s\", \"connections\": %d, \"size\": %d, "
		    "\"expect\": \"%s\", %s%s%s\"seconds\": %.3f, "
		    "\"messages\": %llu, \"messages_per_s\": %.1f, "
		    "\"mb_per_s\": %.3f, "
		    "\"latency_us\": {\"p50\": %.0f, \"p99\": %.0f, "
		    "\"p999\": %.0f}, \"errors\": %llu, \"mismatches\": %llu, "
		    "\"lost\": %llu, \"held\": %llu}\n",
		    mode_names[opt.mode], opt.conns, opt.size, opt.expect, tls,
		    win, proxy, elapsed, (unsigned long long)stats.messages, mps,
		    mbs,
		    hist_quantile(0.5), hist_quantile(0.99),
		    hist_quantile(0.999), (unsigned long long)stats.errors,
		    (unsigned long long)stats.mismatches,
		    (unsigned long long)stats.lost,
		    (unsigned long long)stats.held);
		return;
	}
	printf("%s: %d connection%s, %d-byte messages, expect %s, %.1f s%s%s%s"
	    "\n", mode_names[opt.mode], opt.conns, opt.conns == 1 ? "" : "s",
	    opt.size, opt.expect, elapsed, win, tls, proxy);
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
	    "                   [--proxy v1|v2 [--proxy-source address]\n"
	    "                   [--proxy-sources n]]\n"
	    "                   [--tls [--cafile file | --insecure]\n"
	    "                   [--servername name] [--tls-version 1.2|1.3]]\n"
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
	    "                       (default 262144); udp: datagrams in\n"
	    "                       flight per socket (default 1)\n"
	    "  --proxy V            v1 or v2: a PROXY header first on every\n"
	    "                       connection, on every datagram in udp\n"
	    "  --proxy-source ADDR  the client it names (default 192.0.2.1)\n"
	    "  --proxy-sources N    connection i names ADDR + i mod N\n"
	    "                       (default 1)\n"
	    "  --tls                TCP modes over TLS (1.2 or 1.3), the\n"
	    "                       certificate verified against the\n"
	    "                       system's CAs; no session is resumed\n"
	    "  --cafile FILE        against the CAs in FILE instead\n"
	    "  --insecure           do not verify the certificate\n"
	    "  --servername NAME    the name to verify and send (SNI)\n"
	    "                       (default host)\n"
	    "  --tls-version V      1.2 or 1.3 only\n");
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

/* The long options without a letter: values beyond any char. */
enum {
	OPT_TLS = 256,
	OPT_CAFILE,
	OPT_INSECURE,
	OPT_SERVERNAME,
	OPT_TLS_VERSION,
	OPT_PROXY,
	OPT_PROXY_SOURCE,
	OPT_PROXY_SOURCES,
};

/* A TLS option, where there is TLS. */
static void
tls_option(int ch, const char *name, const char *arg)
{
#ifndef HAVE_OPENSSL
	die("--%s: built without OpenSSL", name);
#endif
	switch (ch) {
	case OPT_TLS:
		opt.tls = true;
		break;
	case OPT_CAFILE:
		opt.cafile = arg;
		break;
	case OPT_INSECURE:
		opt.insecure = true;
		break;
	case OPT_SERVERNAME:
		if (*arg == '\0')
			die("--servername: empty");
		opt.servername = arg;
		break;
	case OPT_TLS_VERSION:
		if (strcmp(arg, "1.2") == 0)
			opt.tls_version = TLS_1_2;
		else if (strcmp(arg, "1.3") == 0)
			opt.tls_version = TLS_1_3;
		else
			die("--tls-version: \"%s\" is not 1.2 or 1.3", arg);
		break;
	}
	(void)name;
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
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "cafile", required_argument, NULL, OPT_CAFILE },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "servername", required_argument, NULL, OPT_SERVERNAME },
		{ "tls-version", required_argument, NULL, OPT_TLS_VERSION },
		{ "proxy", required_argument, NULL, OPT_PROXY },
		{ "proxy-source", required_argument, NULL, OPT_PROXY_SOURCE },
		{ "proxy-sources", required_argument, NULL, OPT_PROXY_SOURCES },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i, li;
	bool sources_given = false;

	while ((ch = getopt_long(argc, argv, "c:d:e:hjqS:s:t:w:", longopts,
	    &li)) != -1) {
		switch (ch) {
		case OPT_TLS:
		case OPT_CAFILE:
		case OPT_INSECURE:
		case OPT_SERVERNAME:
		case OPT_TLS_VERSION:
			tls_option(ch, longopts[li].name, optarg);
			break;
		case OPT_PROXY:
			if (strcmp(optarg, "v1") == 0)
				opt.proxy = 1;
			else if (strcmp(optarg, "v2") == 0)
				opt.proxy = 2;
			else
				die("--proxy: \"%s\" is not v1 or v2", optarg);
			break;
		case OPT_PROXY_SOURCE:
			opt.proxy_source = optarg;
			break;
		case OPT_PROXY_SOURCES:
			opt.proxy_sources = (int)number(optarg, "proxy-sources",
			    1, 1000000);
			sources_given = true;
			break;
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
	if (!opt.tls && (opt.cafile != NULL || opt.insecure ||
	    opt.servername != NULL || opt.tls_version != TLS_ANY))
		die("--%s: only with --tls", opt.cafile != NULL ? "cafile" :
		    opt.insecure ? "insecure" : opt.servername != NULL ?
		    "servername" : "tls-version");
	if (opt.cafile != NULL && opt.insecure)
		die("--cafile and --insecure: one or the other");
	if (opt.tls && opt.mode == MODE_UDP)
		die("--tls: not in udp mode");
	if (opt.proxy == 0 && (opt.proxy_source != NULL || sources_given))
		die("--%s: only with --proxy", opt.proxy_source != NULL ?
		    "proxy-source" : "proxy-sources");
	if (opt.proxy != 0)
		proxy_setup();
	seq_len = opt.size < SEQ_DIGITS ? (size_t)opt.size : SEQ_DIGITS;
	for (seq_mod = 1, i = 0; i < (int)seq_len; i++)
		seq_mod *= 10;
	if (opt.mode == MODE_UDP && opt.window == 0)
		opt.window = 1;
	else if (opt.window == 0)
		opt.window = 256 * 1024;
	else if (opt.mode == MODE_UDP && opt.window > UDP_WINDOW_MAX)
		die("window: udp: %d datagrams in flight: at most %d",
		    opt.window, UDP_WINDOW_MAX);
	else if (opt.mode == MODE_UDP && (uint64_t)opt.window >= seq_mod)
		die("window: udp: %d datagrams in flight need messages of "
		    "more than %d bytes (-s), whose first bytes number them",
		    opt.window, opt.size);
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
	if (opt.mode == MODE_UDP && (flights = calloc((size_t)opt.conns *
	    (size_t)opt.window, sizeof(*flights))) == NULL)
		die("out of memory");
	if (opt.mode == MODE_UDP && opt.proxy != 0 &&
	    (phdrs = malloc((size_t)opt.conns * PROXY_MAX)) == NULL)
		die("out of memory");
	if (opt.mode == MODE_UDP && (ubufs = malloc(UDP_BATCH *
	    ((size_t)opt.size + 1))) == NULL)
		die("out of memory");
#ifdef HAVE_OPENSSL
	if (opt.tls)
		tls_setup();
#endif
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
		if (flights != NULL)
			slots[i].win = flights + (size_t)i * opt.window;
		if (phdrs != NULL)
			slots[i].phdr = phdrs + (size_t)i * PROXY_MAX;
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
	free(flights);
	free(phdrs);
	free(ubufs);
#ifdef HAVE_OPENSSL
	SSL_CTX_free(tls_ctx);
#endif
	freeaddrinfo(target);
	free(msg);
	free(want);
	free(stream);
	free(stream_want);
	close(ep);
	return stats.errors + stats.mismatches > 0 ? 2 : 0;
}
