/*
 * check_framing.c: framing_lines, the line framing without a socket:
 * which lines a buffer holds, their terminators, what is kept for the
 * next read, the callback stopping it, and max_line at its edge; and
 * framing_read/framing_eof, which hold a line across reads as a
 * connection does.
 */
#include <string.h>

#include "framing.h"
#include "suites.h"

#define SEEN_MAX 8

/* The lines framing_lines handed over, copied as they came. */
struct seen {
	char line[SEEN_MAX][32];
	size_t len[SEEN_MAX];
	int n;
	int stop_at; /* return false for this line (1 is the first); 0: never */
};

static bool
seen_line(void *arg, unsigned char *line, size_t len)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, SEEN_MAX);
	ck_assert_uint_lt(len, sizeof(s->line[0]));
	memcpy(s->line[s->n], line, len);
	s->line[s->n][len] = '\0';
	s->len[s->n] = len;
	s->n++;
	return s->n != s->stop_at;
}

/* framing_lines on a copy of text (without its NUL), lines into s. */
static enum framing_result
frame(const char *text, size_t from, size_t max_line, struct seen *s,
    size_t *end)
{
	static unsigned char buf[64];
	size_t n = strlen(text);

	ck_assert_uint_le(n, sizeof(buf));
	memcpy(buf, text, n);
	*end = 12345; /* framing_lines must set it, whatever the result */
	return framing_lines(buf, n, from, max_line, seen_line, s, end);
}

START_TEST(test_framing_several_lines)
{
	struct seen s = { 0 };
	size_t end;

	/* LF and CRLF in one buffer; neither terminator is in the line. */
	ck_assert_int_eq(frame("one\ntwo\r\nthree\n", 0, 100, &s, &end),
	    FRAMING_MORE);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.line[0], "one");
	ck_assert_str_eq(s.line[1], "two");
	ck_assert_str_eq(s.line[2], "three");
	ck_assert_uint_eq(end, 15);

	/* A '\r' inside a line is the line's, only the one before '\n' is
	 * the terminator's. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("a\rb\r\r\n", 0, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.len[0], 4);
	ck_assert_str_eq(s.line[0], "a\rb\r");
	ck_assert_uint_eq(end, 6);
}
END_TEST

static bool
upper_line(void *arg, unsigned char *line, size_t len)
{
	size_t i;

	(void)arg;
	for (i = 0; i < len; i++)
		if (line[i] >= 'a' && line[i] <= 'z')
			line[i] -= 'a' - 'A';
	return true;
}

START_TEST(test_framing_in_place)
{
	unsigned char buf[] = "one\r\ntwo\nrest";
	size_t end;

	/* Lines are handed over inside the buffer: p[0..end-1] is the
	 * reply, terminators untouched, the unended rest too. */
	ck_assert_int_eq(framing_lines(buf, sizeof(buf) - 1, 0, 100,
	    upper_line, NULL, &end), FRAMING_MORE);
	ck_assert_uint_eq(end, 9);
	ck_assert_mem_eq(buf, "ONE\r\nTWO\nrest", sizeof(buf) - 1);
}
END_TEST

START_TEST(test_framing_partial)
{
	struct seen s = { 0 };
	size_t end;

	/* The unended rest is kept: *end is where the last line ended. */
	ck_assert_int_eq(frame("one\ntw", 0, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.line[0], "one");
	ck_assert_uint_eq(end, 4);

	/* No line at all, a CRLF cut after its '\r', an empty buffer. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("two", 0, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(frame("two\r", 0, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(frame("", 0, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(end, 0);
}
END_TEST

START_TEST(test_framing_from)
{
	struct seen s = { 0 };
	size_t end;

	/* "abc" was searched before; the line still starts at 0. */
	ck_assert_int_eq(frame("abcdef\nxy", 3, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.line[0], "abcdef");
	ck_assert_uint_eq(end, 7);

	/* A CRLF split between two reads: the '\r' held, the '\n' new. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("abc\r\n", 4, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.line[0], "abc");
	ck_assert_uint_eq(end, 5);

	/* Everything searched already: nothing new. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("abc", 3, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(end, 0);

	/* The prefix is not searched again: a '\n' planted in it (which the
	 * caller promises is not there) is not found. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("ab\ncd\n", 3, 100, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.line[0], "ab\ncd");
	ck_assert_uint_eq(end, 6);
}
END_TEST

START_TEST(test_framing_stopped)
{
	struct seen s = { .stop_at = 2 };
	size_t end;

	/* Stopped after the second line: the third is not handed over and
	 * *end is the end of the second. */
	ck_assert_int_eq(frame("a\nb\r\nc\n", 0, 100, &s, &end),
	    FRAMING_STOPPED);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.line[1], "b");
	ck_assert_uint_eq(end, 5);

	/* Stopped on the last line: still STOPPED, not MORE. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	ck_assert_int_eq(frame("a\n", 0, 100, &s, &end), FRAMING_STOPPED);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(end, 2);
}
END_TEST

START_TEST(test_framing_max_line)
{
	struct seen s = { 0 };
	size_t end;

	/* Ended, exactly max_line (4) long, with either terminator. */
	ck_assert_int_eq(frame("abcd\n", 0, 4, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(frame("abcd\r\n", 0, 4, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.line[0], "abcd");
	ck_assert_str_eq(s.line[1], "abcd");
	ck_assert_uint_eq(end, 6);

	/* Ended, one byte over: refused, and not handed over. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(frame("abcde\n", 0, 4, &s, &end), FRAMING_TOO_LONG);
	ck_assert_int_eq(frame("abcde\r\n", 0, 4, &s, &end), FRAMING_TOO_LONG);
	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(end, 0);

	/* Unended, exactly max_line: it may still end well. */
	ck_assert_int_eq(frame("abcd", 0, 4, &s, &end), FRAMING_MORE);
	/* Unended, one byte over that may be the '\r' of a CRLF: too. */
	ck_assert_int_eq(frame("abcd\r", 0, 4, &s, &end), FRAMING_MORE);
	/* Unended, one over and not a '\r', or two over: it can no longer
	 * become a short enough line. */
	ck_assert_int_eq(frame("abcde", 0, 4, &s, &end), FRAMING_TOO_LONG);
	ck_assert_int_eq(frame("abcdef", 0, 4, &s, &end), FRAMING_TOO_LONG);
	ck_assert_int_eq(s.n, 0);

	/* A good line, then a long one: the good one is answered and *end
	 * says so, ended or not. */
	ck_assert_int_eq(frame("ok\nabcde\n", 0, 4, &s, &end),
	    FRAMING_TOO_LONG);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.line[0], "ok");
	ck_assert_uint_eq(end, 3);
	ck_assert_int_eq(frame("ok\nabcdefgh", 0, 4, &s, &end),
	    FRAMING_TOO_LONG);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(end, 3);
}
END_TEST

START_TEST(test_framing_empty_line)
{
	struct seen s = { 0 };
	size_t end;

	/* An empty line is a line, with either terminator. */
	ck_assert_int_eq(frame("\n\r\nx\n", 0, 1, &s, &end), FRAMING_MORE);
	ck_assert_int_eq(s.n, 3);
	ck_assert_uint_eq(s.len[0], 0);
	ck_assert_uint_eq(s.len[1], 0);
	ck_assert_str_eq(s.line[2], "x");
	ck_assert_uint_eq(end, 5);
}
END_TEST

/* framing_read's replies, one string. */
static int
seen_reply(void *arg, const unsigned char *p, size_t len)
{
	char *out = arg;
	size_t have = strlen(out);

	ck_assert_uint_lt(have + len, 64);
	memcpy(out + have, p, len);
	out[have + len] = '\0';
	return 0;
}

/* Each line upper-cased, as a transform would. */
static bool
upper_each(void *arg, unsigned char *line, size_t len)
{
	(void)arg;
	for (; len > 0; len--, line++)
		if (*line >= 'a' && *line <= 'z')
			*line -= 'a' - 'A';
	return true;
}

/* One read of text through h; the replies appended to out. */
static enum framing_result
feed(struct framing_hold *h, const char *text, size_t max_line, char *out)
{
	unsigned char buf[64];
	enum framing_result r;
	size_t n = strlen(text);

	memcpy(buf, text, n);
	ck_assert_int_eq(framing_read(h, buf, n, max_line, upper_each,
	    seen_reply, out, &r), 0);
	return r;
}

START_TEST(test_framing_read_holds)
{
	struct framing_hold h = { 0 };
	char out[64] = "";
	enum framing_result r;

	/* A line in pieces, one a byte, the CRLF split across reads. */
	ck_assert_int_eq(feed(&h, "ab", 8, out), FRAMING_MORE);
	ck_assert_int_eq(feed(&h, "c", 8, out), FRAMING_MORE);
	ck_assert_int_eq(feed(&h, "\r", 8, out), FRAMING_MORE);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(h.buf.len, 4);
	ck_assert_int_eq(feed(&h, "\nde\nf", 8, out), FRAMING_MORE);
	ck_assert_str_eq(out, "ABC\r\nDE\n");
	ck_assert_uint_eq(h.buf.len, 1);
	/* Held bytes already searched are not searched again. */
	ck_assert_uint_eq(h.scanned, 1);
	/* EOF: the unended last line is answered as it is. */
	ck_assert_int_eq(framing_eof(&h, 8, upper_each, seen_reply, out, &r),
	    0);
	ck_assert_int_eq(r, FRAMING_MORE);
	ck_assert_str_eq(out, "ABC\r\nDE\nF");
	ck_assert_ptr_null(h.buf.data);

	/* A held line that grows too long: nothing more, nothing held. */
	out[0] = '\0';
	ck_assert_int_eq(feed(&h, "ok\nabc", 4, out), FRAMING_MORE);
	ck_assert_int_eq(feed(&h, "de", 4, out), FRAMING_TOO_LONG);
	ck_assert_str_eq(out, "OK\n");
	ck_assert_ptr_null(h.buf.data);
	ck_assert_uint_eq(h.scanned, 0);
	/* At EOF, a held line over max_line is not answered. */
	ck_assert_int_eq(feed(&h, "abcd\r", 4, out), FRAMING_MORE);
	ck_assert_int_eq(framing_eof(&h, 4, upper_each, seen_reply, out, &r),
	    0);
	ck_assert_int_eq(r, FRAMING_TOO_LONG);
	ck_assert_str_eq(out, "OK\n");
	ck_assert_ptr_null(h.buf.data);
}
END_TEST

Suite *
framing_suite(void)
{
	Suite *s = suite_create("framing");
	TCase *tc = tcase_create("framing");

	tcase_add_test(tc, test_framing_several_lines);
	tcase_add_test(tc, test_framing_in_place);
	tcase_add_test(tc, test_framing_partial);
	tcase_add_test(tc, test_framing_from);
	tcase_add_test(tc, test_framing_stopped);
	tcase_add_test(tc, test_framing_max_line);
	tcase_add_test(tc, test_framing_empty_line);
	tcase_add_test(tc, test_framing_read_holds);
	suite_add_tcase(s, tc);
	return s;
}
