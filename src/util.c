/*
 * util.c: formatting and comparing socket addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "utf8.h"
#include "util.h"

char *
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, len, "(address family %d)", sa->sa_family);
		break;
	}
	return buf;
}

socklen_t
addr_numeric(const char *address, int port, union sockaddr_any *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, address, &sa->sin.sin_addr) == 1) {
		sa->sin.sin_family = AF_INET;
		sa->sin.sin_port = htons((uint16_t)port);
		return sizeof(sa->sin);
	}
	if (inet_pton(AF_INET6, address, &sa->sin6.sin6_addr) == 1) {
		sa->sin6.sin6_family = AF_INET6;
		sa->sin6.sin6_port = htons((uint16_t)port);
		return sizeof(sa->sin6);
	}
	return 0;
}

bool
addr_is_numeric(const char *address)
{
	union sockaddr_any sa;

	return addr_numeric(address, 0, &sa) != 0;
}

bool
addr_numeric_same(const char *a, int port_a, const char *b, int port_b)
{
	union sockaddr_any sa, sb;

	return addr_numeric(a, port_a, &sa) != 0 &&
	    addr_numeric(b, port_b, &sb) != 0 && addr_equal(&sa.sa, &sb.sa);
}

char *
hostport_format(const char *host, int port, char *buf, size_t len)
{
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", host, port);
	else
		snprintf(buf, len, "%s:%d", host, port);
	return buf;
}

bool
addr_is_wildcard(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return false;
}

uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &sin6->sin6_addr, 16);
		return;
	}
	key[10] = key[11] = 0xff;
	if (sa->sa_family == AF_INET)
		memcpy(key + 12, &sin->sin_addr, 4);
}

uint64_t
addr_key_hash(const unsigned char key[16], uint64_t seed)
{
	uint64_t h = seed, w;
	int i;

	for (i = 0; i < 16; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15;
		h ^= h >> 29;
	}
	/* Spread the high bits, where an IPv4 address's last bytes are,
	 * into the low ones that tables index by. */
	h *= 0xbf58476d1ce4e5b9;
	h ^= h >> 31;
	return h;
}

void
addr_key_prefix(const unsigned char key[16], int ipv6_prefix,
    unsigned char out[16])
{
	int n = ipv6_prefix < 0 ? 0 : ipv6_prefix / 8;

	memmove(out, key, 16);
	if (addr_key_is_ipv4(out) || ipv6_prefix >= 128)
		return;
	if (ipv6_prefix % 8 != 0)
		out[n++] &= (unsigned char)(0xff << (8 - ipv6_prefix % 8));
	memset(out + n, 0, 16 - (size_t)n);
}

bool
addr_key_is_ipv4(const unsigned char key[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xff, 0xff };

	return memcmp(key, mapped, sizeof(mapped)) == 0;
}

bool
addr_key_is_bogus_source(const unsigned char key[16])
{
	static const unsigned char zero[16];

	if (addr_key_is_ipv4(key))
		return key[12] == 0 || key[12] >= 224;
	return memcmp(key, zero, 16) == 0 || key[0] == 0xff;
}

bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) &&
		    a6->sin6_scope_id == b6->sin6_scope_id;
	return false;
}

char *
addr_format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s#%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host,
			    sizeof(host));
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    sizeof(host));
		snprintf(buf, len, "%s#%u", host, ntohs(sin6->sin6_port));
	} else
		addr_format(sa, buf, len);
	return buf;
}

/*
 * Is the valid sequence of n bytes at p a character a log must not show
 * raw: a C1 control (U+0080-U+009F), a line or paragraph separator
 * (U+2028, U+2029) or a bidirectional override (U+202A-U+202E,
 * U+2066-U+2069), which can make a line read as something else?
 */
static bool
utf8_is_control(const unsigned char *p, size_t n)
{
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x80)
		return p[2] >= 0xa8 && p[2] <= 0xae;
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x81)
		return p[2] >= 0xa6 && p[2] <= 0xa9;
	return false;
}

char *
str_escape(const unsigned char *in, size_t len, size_t max, char *out)
{
	size_t i, n, shown = len < max ? len : max;
	char *o = out;

	for (i = 0; i < shown; i += n) {
		n = utf8_length(in + i, shown - i);
		if (n > 1 && !utf8_is_control(in + i, n)) {
			memcpy(o, in + i, n);
			o += n;
		} else if (in[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			n = 1;
		} else if (in[i] >= 0x20 && in[i] < 0x7f) {
			*o++ = (char)in[i];
			n = 1;
		} else {
			o += sprintf(o, "\\x%02X", in[i]);
			n = 1;
		}
	}
	if (len > shown)
		sprintf(o, "... (%zu bytes)", len);
	else
		*o = '\0';
	return out;
}
