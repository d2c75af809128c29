/*
 * check_util.c: the log escaping that keeps clients from forging log
 * lines, and the peer format of the classroom log.
 */
#include <arpa/inet.h>

#include <string.h>

#include "suites.h"
#include "util.h"

/* str_escape over len bytes of in, showing at most max. */
static void
check_escape(const char *in, size_t len, size_t max, const char *want)
{
	char out[ESCAPE_BUFSIZE(64)];

	ck_assert_uint_le(max, 64);
	ck_assert_str_eq(str_escape((const unsigned char *)in, len, max, out),
	    want);
}

START_TEST(test_escape)
{
	check_escape("hello world", 11, 64, "hello world");
	check_escape("", 0, 64, "");
	/* Line breaks and other controls cannot start a line. */
	check_escape("a\nb\r\tc\x1b[2J\x7f", 11, 64,
	    "a\\x0Ab\\x0D\\x09c\\x1B[2J\\x7F");
	check_escape("a\0b", 3, 64, "a\\x00b");
	/* A backslash is doubled, so "\x0A" typed by a client is told apart. */
	check_escape("\\x0A", 4, 64, "\\\\x0A");
	/* Valid UTF-8 stays readable; C1 controls and broken bytes do not. */
	check_escape("h\xc3\xa9llo \xe2\x9c\x93", 10, 64, "h\xc3\xa9llo \xe2\x9c\x93");
	check_escape("\xc2\x85x", 3, 64, "\\xC2\\x85x");
	check_escape("\xff\xc3(", 3, 64, "\\xFF\\xC3(");
	/* U+2028 LINE SEPARATOR and U+202E RIGHT-TO-LEFT OVERRIDE. */
	check_escape("\xe2\x80\xa8|\xe2\x80\xae", 7, 64,
	    "\\xE2\\x80\\xA8|\\xE2\\x80\\xAE");
	check_escape("\xe2\x80\x94", 3, 64, "\xe2\x80\x94"); /* an em dash */
}
END_TEST

START_TEST(test_escape_cut)
{
	check_escape("abcdefgh", 8, 5, "abcde... (8 bytes)");
	check_escape("abcde", 5, 5, "abcde");
	/* A character cut by the limit shows as bytes. */
	check_escape("ab\xc3\xa9", 4, 3, "ab\\xC3... (4 bytes)");
	/* The worst case fits the buffer: every byte escaped. */
	check_escape("\n\n\n\n\n\n\n\n\n\n", 10, 10,
	    "\\x0A\\x0A\\x0A\\x0A\\x0A\\x0A\\x0A\\x0A\\x0A\\x0A");
}
END_TEST

START_TEST(test_peer_format)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons(54321) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
		.sin6_port = htons(7) };
	char buf[ECHOD_ADDRSTRLEN];

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_str_eq(addr_format_peer((struct sockaddr *)&sin, buf,
	    sizeof(buf)), "127.0.0.1#54321");
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	ck_assert_str_eq(addr_format_peer((struct sockaddr *)&sin6, buf,
	    sizeof(buf)), "::1#7");
	/* A dual-stack socket's IPv4 client is shown as IPv4. */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	ck_assert_str_eq(addr_format_peer((struct sockaddr *)&sin6, buf,
	    sizeof(buf)), "10.1.2.3#7");
}
END_TEST

Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_escape_cut);
	tcase_add_test(tc, test_peer_format);
	suite_add_tcase(s, tc);
	return s;
}
