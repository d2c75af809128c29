/*
 * check_proxy.c: the PROXY protocol's header parser, without a socket:
 * both versions, every family it takes, LOCAL and UNKNOWN with their
 * lengths honoured, TLVs skipped, each header fed one byte more at a
 * time (a beginning until its last byte), and what it refuses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "proxy.h"
#include "suites.h"

/* Parse buf whole; check that every beginning shorter than the header
 * asks for more, and every longer one reads the same header. */
static int
parse_all(const void *buf, size_t len, bool dgram, struct proxy_header *h)
{
	struct proxy_header part;
	const char *why;
	size_t i;
	int r = proxy_parse(buf, len, dgram, h, &why), k;

	for (i = 0; i < len; i++) {
		k = proxy_parse(buf, i, dgram, &part, &why);
		if (r > 0 && i >= (size_t)r)
			ck_assert_int_eq(k, r);
		else if (r > 0)
			ck_assert_msg(k == 0, "%zu of %zu bytes: %d (%s)", i,
			    len, k, why != NULL ? why : "");
	}
	return r;
}

static void
expect_v4(const struct proxy_header *h, const char *addr, int port)
{
	char text[INET_ADDRSTRLEN];

	ck_assert(!h->local);
	ck_assert_int_eq(h->src.sa.sa_family, AF_INET);
	inet_ntop(AF_INET, &h->src.sin.sin_addr, text, sizeof(text));
	ck_assert_str_eq(text, addr);
	ck_assert_int_eq(ntohs(h->src.sin.sin_port), port);
}

START_TEST(test_v1)
{
	static const char tcp4[] = "PROXY TCP4 192.0.2.7 10.0.0.1 40112 "
	    "12000\r\nhello";
	static const char tcp6[] = "PROXY TCP6 2001:db8::7 2001:db8::1 "
	    "65535 0\r\n";
	static const char unknown[] = "PROXY UNKNOWN ff ee dd\r\n";
	struct proxy_header h;
	char text[INET6_ADDRSTRLEN];

	/* The header's length, not the bytes after it. */
	ck_assert_int_eq(parse_all(tcp4, strlen(tcp4), false, &h),
	    (int)strlen(tcp4) - 5);
	ck_assert_int_eq(h.version, 1);
	expect_v4(&h, "192.0.2.7", 40112);
	ck_assert_int_eq(parse_all(tcp6, strlen(tcp6), false, &h),
	    (int)strlen(tcp6));
	ck_assert(!h.local);
	ck_assert_int_eq(h.src.sa.sa_family, AF_INET6);
	inet_ntop(AF_INET6, &h.src.sin6.sin6_addr, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8::7");
	ck_assert_int_eq(ntohs(h.src.sin6.sin6_port), 65535);
	ck_assert_int_eq(parse_all(unknown, strlen(unknown), false, &h),
	    (int)strlen(unknown));
	ck_assert(h.local);
	ck_assert_int_eq(parse_all("PROXY UNKNOWN\r\n", 15, false, &h), 15);
	ck_assert(h.local);
	/* nginx puts the v1 line on each datagram too. */
	ck_assert_int_eq(parse_all(tcp4, strlen(tcp4), true, &h),
	    (int)strlen(tcp4) - 5);
	expect_v4(&h, "192.0.2.7", 40112);
}
END_TEST

START_TEST(test_v1_refused)
{
	static const char *const bad[] = {
		"GET / HTTP/1.0\r\n",
		"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
		"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n",
		"PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
		"PROXY UNKNOWNISH\r\n",
		"proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
	};
	struct proxy_header h;
	char line[200];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(proxy_parse((const unsigned char *)bad[i],
		    strlen(bad[i]), false, &h, &why) == -1, "%s", bad[i]);
		ck_assert(why != NULL);
	}
	/* No CRLF within 107 bytes: refused, not waited for. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(proxy_parse((const unsigned char *)line, 106, false,
	    &h, &why), 0);
	ck_assert_int_eq(proxy_parse((const unsigned char *)line, 107, false,
	    &h, &why), -1);
	/* 107 bytes with the CRLF are the most; 108 are refused. */
	line[105] = '\r';
	line[106] = '\n';
	ck_assert_int_eq(proxy_parse((const unsigned char *)line, 107, false,
	    &h, &why), 107);
	line[105] = 'x';
	line[106] = '\r';
	ck_assert_int_eq(proxy_parse((const unsigned char *)line, 107, false,
	    &h, &why), -1);
	/* A wrong first byte is known at once. */
	ck_assert_int_eq(proxy_parse((const unsigned char *)"\x16\x03", 2,
	    false, &h, &why), -1);
}
END_TEST

/* A v2 header: signature, ver_cmd, fam, length, then body. */
static size_t
v2(unsigned char *out, unsigned int ver_cmd, unsigned int fam,
    const void *body, size_t n)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
		0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

	memcpy(out, sig, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(n >> 8);
	out[15] = (unsigned char)n;
	if (n > 0) /* body may be NULL then */
		memmove(out + 16, body, n);
	return 16 + n;
}

START_TEST(test_v2)
{
	/* 192.0.2.7:40112 -> 10.0.0.1:12000, then a TLV (type 1, ALPN). */
	static const unsigned char ip4[] = { 192, 0, 2, 7, 10, 0, 0, 1,
		0x9c, 0xb0, 0x2e, 0xe0, 0x01, 0x00, 0x02, 'h', '2' };
	unsigned char ip6[36] = { 0x20, 0x01, 0x0d, 0xb8 }, buf[1100];
	unsigned char health[40] = { 0 };
	struct proxy_header h;
	char text[INET6_ADDRSTRLEN];
	size_t n;

	n = v2(buf, 0x21, 0x11, ip4, sizeof(ip4));
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert_int_eq(h.version, 2);
	expect_v4(&h, "192.0.2.7", 40112);
	/* The same on a datagram must say DGRAM. */
	ck_assert_int_eq(parse_all(buf, n, true, &h), -1);
	n = v2(buf, 0x21, 0x12, ip4, sizeof(ip4));
	ck_assert_int_eq(parse_all(buf, n, true, &h), (int)n);
	expect_v4(&h, "192.0.2.7", 40112);

	ip6[15] = 7;
	ip6[32] = 0x30;
	ip6[33] = 0x39; /* port 12345 */
	n = v2(buf, 0x21, 0x21, ip6, sizeof(ip6));
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert_int_eq(h.src.sa.sa_family, AF_INET6);
	inet_ntop(AF_INET6, &h.src.sin6.sin6_addr, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8::7");
	ck_assert_int_eq(ntohs(h.src.sin6.sin6_port), 12345);

	/* LOCAL with a length, as some balancers send: all of it skipped. */
	n = v2(buf, 0x20, 0x00, health, sizeof(health));
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert(h.local);
	n = v2(buf, 0x20, 0x11, ip4, sizeof(ip4));
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert(h.local);
	/* PROXY for an unspecified or a UNIX family: the socket's own. */
	n = v2(buf, 0x21, 0x00, NULL, 0);
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert(h.local);
	n = v2(buf, 0x21, 0x31, health, sizeof(health));
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
	ck_assert(h.local);
	/* The largest taken, and one byte more. */
	memset(buf + 16, 0, PROXY_HEADER_MAX - 16);
	n = v2(buf, 0x20, 0x00, buf + 16, PROXY_HEADER_MAX - 16);
	ck_assert_int_eq(parse_all(buf, n, false, &h), (int)n);
}
END_TEST

START_TEST(test_v2_refused)
{
	static const unsigned char ip4[12] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned char buf[1100];
	struct proxy_header h;
	const char *why;
	size_t n;

	n = v2(buf, 0x11, 0x11, ip4, sizeof(ip4)); /* version 1 */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	n = v2(buf, 0x22, 0x11, ip4, sizeof(ip4)); /* command 2 */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	n = v2(buf, 0x21, 0x41, ip4, sizeof(ip4)); /* family 4 */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	n = v2(buf, 0x21, 0x11, ip4, 11); /* too short for IPv4 */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	n = v2(buf, 0x21, 0x21, ip4, 12); /* too short for IPv6 */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	n = v2(buf, 0x21, 0x10, ip4, sizeof(ip4)); /* no transport */
	ck_assert_int_eq(proxy_parse(buf, n, false, &h, &why), -1);
	/* Longer than PROXY_HEADER_MAX: refused from its first 16 bytes. */
	(void)v2(buf, 0x21, 0x11, ip4, sizeof(ip4));
	buf[14] = 0x04;
	buf[15] = 0x00;
	ck_assert_int_eq(proxy_parse(buf, 16, false, &h, &why), -1);
	/* A signature gone wrong at its last byte. */
	(void)v2(buf, 0x21, 0x11, ip4, sizeof(ip4));
	buf[11] = 0x0b;
	ck_assert_int_eq(proxy_parse(buf, 12, false, &h, &why), -1);
}
END_TEST

Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v1_refused);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_v2_refused);
	suite_add_tcase(s, tc);
	return s;
}
