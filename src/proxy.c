/*
 * proxy.c: the PROXY protocol's header, versions 1 and 2 (proxy.h).
 *
 * Version 1 is one line of printable ASCII, at most 107 bytes with its
 * CRLF: "PROXY TCP4 SRC DST SPORT DPORT", TCP6 alike, or "PROXY UNKNOWN"
 * followed by anything.  Version 2 is a 12-byte signature, a version
 * and command byte (0x20 LOCAL, 0x21 PROXY), a family and transport
 * byte, a 16-bit big-endian length, then that many bytes: the addresses
 * and ports, and TLVs, which are skipped.  A header split anywhere is
 * only a beginning (0) until the last byte of it is there; whatever
 * cannot begin a header is refused at once, so that a client that is
 * not a balancer is told apart as early as its bytes allow.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "proxy.h"

#define V1_MAX 107 /* the longest line, CRLF included */

static const unsigned char v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static int
refuse(const char **why, const char *what)
{
	*why = what;
	return -1;
}

/* A port as v1 writes it: 0-65535, no sign, no leading zero. */
static bool
v1_port(const char *s, size_t n, in_port_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = htons((in_port_t)v);
	return true;
}

/* An address of family af, from n bytes of text. */
static bool
v1_address(int af, const char *s, size_t n, void *out)
{
	char text[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(af, text, out) == 1;
}

/* The next field of line (up to a space or its end) as [*s, *s + *n). */
static bool
v1_field(const char **p, const char *end, const char **s, size_t *n)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	*s = *p;
	*n = (size_t)((sp != NULL ? sp : end) - *p);
	*p = sp != NULL ? sp + 1 : end;
	return sp != NULL;
}

/* The line of a version 1 header, CRLF excluded, "PROXY " included. */
static int
v1_line(const char *line, size_t len, struct proxy_header *h,
    const char **why)
{
	const char *p = line + 6, *end = line + len, *s[4];
	struct in6_addr dst; /* checked, not kept: echod knows its own */
	in_port_t dport;
	size_t n[4], i;
	int af;

	if (len >= 13 && memcmp(p, "UNKNOWN", 7) == 0 &&
	    (len == 13 || line[13] == ' ')) {
		h->local = true; /* and whatever follows is ignored */
		return 0;
	}
	if (len < 11 || (memcmp(p, "TCP4 ", 5) != 0 &&
	    memcmp(p, "TCP6 ", 5) != 0))
		return refuse(why, "v1: neither TCP4, TCP6 nor UNKNOWN");
	af = p[3] == '4' ? AF_INET : AF_INET6;
	p += 5;
	for (i = 0; i < 4; i++)
		if (v1_field(&p, end, &s[i], &n[i]) != (i < 3))
			return refuse(why, "v1: not four fields after the "
			    "protocol");
	if (af == AF_INET) {
		h->src.sin.sin_family = AF_INET;
		if (!v1_address(af, s[0], n[0], &h->src.sin.sin_addr) ||
		    !v1_address(af, s[1], n[1], &dst))
			return refuse(why, "v1: an address is not IPv4");
		if (!v1_port(s[2], n[2], &h->src.sin.sin_port))
			return refuse(why, "v1: a bad source port");
	} else {
		h->src.sin6.sin6_family = AF_INET6;
		if (!v1_address(af, s[0], n[0], &h->src.sin6.sin6_addr) ||
		    !v1_address(af, s[1], n[1], &dst))
			return refuse(why, "v1: an address is not IPv6");
		if (!v1_port(s[2], n[2], &h->src.sin6.sin6_port))
			return refuse(why, "v1: a bad source port");
	}
	if (!v1_port(s[3], n[3], &dport))
		return refuse(why, "v1: a bad destination port");
	return 0;
}

static int
v1_parse(const unsigned char *buf, size_t len, struct proxy_header *h,
    const char **why)
{
	size_t i;

	for (i = 0; i < len && i < V1_MAX; i++) {
		if (i < 6 && buf[i] != (unsigned char)"PROXY "[i])
			return refuse(why, "not a PROXY header");
		if (buf[i] == '\r') {
			if (i + 2 > V1_MAX)
				return refuse(why, "v1: no CRLF in 107 bytes");
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n')
				return refuse(why, "v1: a CR without LF");
			h->version = 1;
			h->local = false;
			if (v1_line((const char *)buf, i, h, why) == -1)
				return -1;
			return (int)i + 2;
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return refuse(why, "v1: a byte that is not printable "
			    "ASCII");
	}
	if (len >= V1_MAX)
		return refuse(why, "v1: no CRLF in 107 bytes");
	return 0;
}

static int
v2_parse(const unsigned char *buf, size_t len, bool dgram,
    struct proxy_header *h, const char **why)
{
	size_t total, sig = len < 12 ? len : 12;
	unsigned int family, transport;

	if (memcmp(buf, v2_signature, sig) != 0)
		return refuse(why, "not a PROXY header");
	if (len < 16)
		return 0;
	if (buf[12] >> 4 != 2)
		return refuse(why, "v2: a version other than 2");
	if ((buf[12] & 0x0f) > 1)
		return refuse(why, "v2: a command other than LOCAL or PROXY");
	total = 16 + ((size_t)buf[14] << 8 | buf[15]);
	if (total > PROXY_HEADER_MAX)
		return refuse(why, "v2: longer than 1024 bytes");
	if (len < total)
		return 0;
	h->version = 2;
	h->local = true;
	if ((buf[12] & 0x0f) == 0) /* LOCAL: whatever its length holds */
		return (int)total;
	family = buf[13] >> 4;
	transport = buf[13] & 0x0f;
	if (family == 0 || family == 3) /* UNSPEC, or AF_UNIX */
		return (int)total;
	if (family > 3)
		return refuse(why, "v2: an unknown address family");
	if (transport != (dgram ? 2u : 1u))
		return refuse(why, dgram ? "v2: not DGRAM on a datagram" :
		    "v2: not STREAM on a connection");
	if (family == 1) {
		if (total < 16 + 12)
			return refuse(why, "v2: too short for IPv4");
		h->src.sin.sin_family = AF_INET;
		memcpy(&h->src.sin.sin_addr, buf + 16, 4);
		memcpy(&h->src.sin.sin_port, buf + 24, 2);
	} else {
		if (total < 16 + 36)
			return refuse(why, "v2: too short for IPv6");
		h->src.sin6.sin6_family = AF_INET6;
		memcpy(&h->src.sin6.sin6_addr, buf + 16, 16);
		memcpy(&h->src.sin6.sin6_port, buf + 48, 2);
	}
	h->local = false;
	return (int)total;
}

int
proxy_parse(const unsigned char *buf, size_t len, bool dgram,
    struct proxy_header *h, const char **why)
{
	*why = NULL;
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	if (buf[0] == 'P')
		return v1_parse(buf, len, h, why);
	if (buf[0] == v2_signature[0])
		return v2_parse(buf, len, dgram, h, why);
	return refuse(why, "not a PROXY header");
}
