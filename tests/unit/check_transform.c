/*
 * check_transform.c: the built-in transforms over every byte value.  The
 * expected bytes come from the alphabets written out, not from the code
 * under test's arithmetic.
 */
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "transform.h"

static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char lower13[] = "nopqrstuvwxyzabcdefghijklm";
static const char upper13[] = "NOPQRSTUVWXYZABCDEFGHIJKLM";

/* expect[b]: b mapped through from[i] -> to[i] pairs, else unchanged. */
static void
mapping(unsigned char expect[256], const char *from, const char *to)
{
	size_t i;

	for (i = 0; from[i] != '\0'; i++)
		expect[(unsigned char)from[i]] = (unsigned char)to[i];
}

static void
identity(unsigned char v[256])
{
	int i;

	for (i = 0; i < 256; i++)
		v[i] = (unsigned char)i;
}

/* Apply t to the 256 byte values and compare with expect. */
static void
check_every_byte(const struct echod_transform *t,
    const unsigned char expect[256])
{
	unsigned char buf[256];
	int i;

	identity(buf);
	t->apply(buf, sizeof(buf));
	for (i = 0; i < 256; i++)
		ck_assert_msg(buf[i] == expect[i],
		    "%s: byte 0x%02x became 0x%02x, expected 0x%02x", t->name,
		    i, buf[i], expect[i]);
}

START_TEST(test_echo_every_byte)
{
	unsigned char expect[256];

	identity(expect);
	check_every_byte(&transform_echo, expect);
}
END_TEST

START_TEST(test_upper_every_byte)
{
	unsigned char expect[256];

	identity(expect);
	mapping(expect, lower, upper);
	check_every_byte(&transform_upper, expect);
}
END_TEST

START_TEST(test_rot13_every_byte)
{
	unsigned char expect[256];

	identity(expect);
	mapping(expect, lower, lower13);
	mapping(expect, upper, upper13);
	check_every_byte(&transform_rot13, expect);
}
END_TEST

START_TEST(test_rot13_twice_is_identity)
{
	unsigned char buf[256], orig[256];

	identity(orig);
	memcpy(buf, orig, sizeof(buf));
	transform_rot13.apply(buf, sizeof(buf));
	ck_assert_mem_ne(buf, orig, sizeof(buf));
	transform_rot13.apply(buf, sizeof(buf));
	ck_assert_mem_eq(buf, orig, sizeof(buf));
}
END_TEST

START_TEST(test_utf8_survives)
{
	/* "héllo wörld ✓": only the ASCII letters may change. */
	unsigned char buf[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
	const unsigned char want[] = "H\xc3\xa9LLO W\xc3\xb6RLD \xe2\x9c\x93";

	transform_upper.apply(buf, sizeof(buf) - 1);
	ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST

/* The network splits data anywhere: pieces must give the whole's result. */
START_TEST(test_split_anywhere)
{
	const struct echod_transform *t = transform_at((size_t)_i);
	unsigned char whole[1000], pieces[1000];
	size_t i, off, n;

	srand(42);
	for (i = 0; i < sizeof(whole); i++)
		whole[i] = (unsigned char)rand();
	memcpy(pieces, whole, sizeof(whole));
	t->apply(whole, sizeof(whole));
	for (off = 0; off < sizeof(pieces); off += n) {
		n = 1 + (size_t)rand() % 37;
		if (n > sizeof(pieces) - off)
			n = sizeof(pieces) - off;
		t->apply(pieces + off, n);
	}
	ck_assert_mem_eq(whole, pieces, sizeof(whole));
}
END_TEST

START_TEST(test_empty_buffer)
{
	const struct echod_transform *t = transform_at((size_t)_i);
	unsigned char canary = 'x';

	t->apply(&canary, 0);
	ck_assert_int_eq(canary, 'x');
}
END_TEST

START_TEST(test_find)
{
	ck_assert_ptr_eq(transform_find("echo"), &transform_echo);
	ck_assert_ptr_eq(transform_find("upper"), &transform_upper);
	ck_assert_ptr_eq(transform_find("rot13"), &transform_rot13);
	ck_assert_ptr_null(transform_find("UPPER"));
	ck_assert_ptr_null(transform_find(""));
	ck_assert_ptr_null(transform_find("rot"));
	ck_assert_ptr_null(transform_at(3));
}
END_TEST

Suite *
transform_suite(void)
{
	Suite *s = suite_create("transform");
	TCase *tc = tcase_create("builtin");

	tcase_add_test(tc, test_echo_every_byte);
	tcase_add_test(tc, test_upper_every_byte);
	tcase_add_test(tc, test_rot13_every_byte);
	tcase_add_test(tc, test_rot13_twice_is_identity);
	tcase_add_test(tc, test_utf8_survives);
	tcase_add_loop_test(tc, test_split_anywhere, 0, 3);
	tcase_add_loop_test(tc, test_empty_buffer, 0, 3);
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);
	return s;
}
