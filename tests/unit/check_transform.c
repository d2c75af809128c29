/*
 * check_transform.c: the built-in transforms over every byte value, the
 * registry that finds them, and chains.  The expected bytes come from
 * the alphabets written out, not from the code under test's arithmetic.
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

/* A chain of the named built-ins, in order. */
static struct transform_chain *
test_chain(const char *const *names)
{
	struct transform_registry *reg = transform_registry_new();
	struct transform_chain *chain = transform_chain_new();
	char err[128];

	ck_assert_ptr_nonnull(reg);
	ck_assert_ptr_nonnull(chain);
	for (; *names != NULL; names++)
		ck_assert_int_eq(transform_chain_add(chain,
		    transform_registry_find(reg, *names), NULL, 0, err,
		    sizeof(err)), 0);
	/* Built-ins outlive any registry. */
	transform_registry_free(reg);
	return chain;
}

/*
 * Run the chain of the given steps over the 256 byte values: eight
 * times, each value at another place in an 8-byte word (the built-ins
 * work a word at a time), with a tail of 0 to 7 bytes after the words.
 */
static void
check_every_byte(const char *const *names, const unsigned char expect[256])
{
	struct transform_chain *chain = test_chain(names);
	unsigned char buf[256 + 8];
	int i, shift;

	for (shift = 0; shift < 8; shift++) {
		for (i = 0; i < 256 + shift; i++)
			buf[i] = (unsigned char)(i + shift);
		transform_chain_apply(chain, buf, 256 + shift);
		for (i = 0; i < 256 + shift; i++)
			ck_assert_msg(buf[i] == expect[(i + shift) & 0xff],
			    "%s: byte 0x%02x became 0x%02x, expected 0x%02x",
			    chain->name, (i + shift) & 0xff, buf[i],
			    expect[(i + shift) & 0xff]);
	}
	transform_chain_free(chain);
}

START_TEST(test_echo_every_byte)
{
	const char *const names[] = { "echo", NULL };
	unsigned char expect[256];

	identity(expect);
	check_every_byte(names, expect);
}
END_TEST

START_TEST(test_echo_is_free)
{
	const char *const names[] = { "echo", "echo", NULL };
	struct transform_chain *chain = test_chain(names);

	/* Nothing to run per message, and the logs still name it. */
	ck_assert_uint_eq(chain->nsteps, 0);
	ck_assert_str_eq(chain->name, "echo, echo");
	ck_assert(!chain->message);
	transform_chain_free(chain);
}
END_TEST

START_TEST(test_upper_every_byte)
{
	const char *const names[] = { "upper", NULL };
	unsigned char expect[256];

	identity(expect);
	mapping(expect, lower, upper);
	check_every_byte(names, expect);
}
END_TEST

START_TEST(test_rot13_every_byte)
{
	const char *const names[] = { "rot13", NULL };
	unsigned char expect[256];

	identity(expect);
	mapping(expect, lower, lower13);
	mapping(expect, upper, upper13);
	check_every_byte(names, expect);
}
END_TEST

START_TEST(test_chain_letters)
{
	/* Letter rotations and case commute: both orders give the same. */
	const char *const ru[] = { "rot13", "upper", NULL };
	const char *const ur[] = { "upper", "rot13", NULL };
	unsigned char expect[256];

	identity(expect);
	mapping(expect, lower, upper13);
	mapping(expect, upper, upper13);
	check_every_byte(ru, expect);
	check_every_byte(ur, expect);
}
END_TEST

/* A message transform whose order against upper shows: first byte 'x'. */
static void
first_x_apply(void *state, unsigned char *buf, size_t len)
{
	(void)state;
	if (len > 0)
		buf[0] = 'x';
}

static const struct echod_transform first_x = {
	.name = "first-x",
	.description = "the first byte becomes x",
	.kind = ECHOD_TRANSFORM_MESSAGE,
	.apply = first_x_apply,
};

START_TEST(test_chain_in_order)
{
	const struct transform_entry x = { .def = &first_x };
	const struct transform_entry up = { .def = &transform_upper };
	struct transform_chain *a = transform_chain_new();
	struct transform_chain *b = transform_chain_new();
	unsigned char ma[] = "abc", mb[] = "abc";
	char err[64];

	ck_assert_int_eq(transform_chain_add(a, &x, NULL, 0, err, 64), 0);
	ck_assert_int_eq(transform_chain_add(a, &up, NULL, 0, err, 64), 0);
	ck_assert_int_eq(transform_chain_add(b, &up, NULL, 0, err, 64), 0);
	ck_assert_int_eq(transform_chain_add(b, &x, NULL, 0, err, 64), 0);
	transform_chain_apply(a, ma, 3);
	transform_chain_apply(b, mb, 3);
	ck_assert_str_eq((char *)ma, "XBC");
	ck_assert_str_eq((char *)mb, "xBC");
	/* One message step makes the chain need whole messages. */
	ck_assert(a->message);
	ck_assert_str_eq(a->name, "first-x, upper");
	transform_chain_free(a);
	transform_chain_free(b);
}
END_TEST

START_TEST(test_rot13_twice_is_identity)
{
	const char *const names[] = { "rot13", "rot13", NULL };
	unsigned char expect[256];

	identity(expect);
	check_every_byte(names, expect);
}
END_TEST

START_TEST(test_utf8_survives)
{
	const char *const names[] = { "upper", NULL };
	struct transform_chain *chain = test_chain(names);
	/* "héllo wörld ✓": only the ASCII letters may change. */
	unsigned char buf[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
	const unsigned char want[] = "H\xc3\xa9LLO W\xc3\xb6RLD \xe2\x9c\x93";

	transform_chain_apply(chain, buf, sizeof(buf) - 1);
	ck_assert_mem_eq(buf, want, sizeof(want));
	transform_chain_free(chain);
}
END_TEST

static const char *const builtin_names[] = { "echo", "upper", "rot13" };

/* The network splits data anywhere: pieces must give the whole's result. */
START_TEST(test_split_anywhere)
{
	const char *const names[] = { builtin_names[_i], NULL };
	struct transform_chain *chain = test_chain(names);
	unsigned char whole[1000], pieces[1000];
	size_t i, off, n;

	srand(42);
	for (i = 0; i < sizeof(whole); i++)
		whole[i] = (unsigned char)rand();
	memcpy(pieces, whole, sizeof(whole));
	transform_chain_apply(chain, whole, sizeof(whole));
	for (off = 0; off < sizeof(pieces); off += n) {
		n = 1 + (size_t)rand() % 37;
		if (n > sizeof(pieces) - off)
			n = sizeof(pieces) - off;
		transform_chain_apply(chain, pieces + off, n);
	}
	ck_assert_mem_eq(whole, pieces, sizeof(whole));
	transform_chain_free(chain);
}
END_TEST

START_TEST(test_builtins_are_bytewise)
{
	struct transform_registry *reg = transform_registry_new();
	const struct transform_entry *e;

	e = transform_registry_find(reg, builtin_names[_i]);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->def->kind, ECHOD_TRANSFORM_BYTEWISE);
	ck_assert_ptr_null(e->module);
	ck_assert_ptr_nonnull(e->def->description);
	transform_registry_free(reg);
}
END_TEST

START_TEST(test_find)
{
	struct transform_registry *reg = transform_registry_new();
	char names[64];

	ck_assert_ptr_eq(transform_registry_find(reg, "echo")->def,
	    &transform_echo);
	ck_assert_ptr_eq(transform_registry_find(reg, "upper")->def,
	    &transform_upper);
	ck_assert_ptr_eq(transform_registry_find(reg, "rot13")->def,
	    &transform_rot13);
	ck_assert_ptr_null(transform_registry_find(reg, "UPPER"));
	ck_assert_ptr_null(transform_registry_find(reg, ""));
	ck_assert_ptr_null(transform_registry_find(reg, "rot"));
	transform_registry_names(reg, names, sizeof(names));
	ck_assert_str_eq(names, "echo, upper, rot13");
	transform_registry_free(reg);
}
END_TEST

START_TEST(test_builtin_takes_no_parameters)
{
	struct transform_registry *reg = transform_registry_new();
	struct transform_chain *chain = transform_chain_new();
	const struct echod_param p = { .name = "shift",
		.type = ECHOD_PARAM_INT, .number = 1 };
	char err[128];

	ck_assert_int_eq(transform_chain_add(chain,
	    transform_registry_find(reg, "upper"), &p, 1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "upper takes no parameters (\"shift\" given)");
	ck_assert_uint_eq(chain->nsteps, 0);
	transform_chain_free(chain);
	transform_registry_free(reg);
}
END_TEST

Suite *
transform_suite(void)
{
	Suite *s = suite_create("transform");
	TCase *tc = tcase_create("builtin");

	tcase_add_test(tc, test_echo_every_byte);
	tcase_add_test(tc, test_echo_is_free);
	tcase_add_test(tc, test_upper_every_byte);
	tcase_add_test(tc, test_rot13_every_byte);
	tcase_add_test(tc, test_chain_letters);
	tcase_add_test(tc, test_chain_in_order);
	tcase_add_test(tc, test_rot13_twice_is_identity);
	tcase_add_test(tc, test_utf8_survives);
	tcase_add_loop_test(tc, test_split_anywhere, 0, 3);
	tcase_add_loop_test(tc, test_builtins_are_bytewise, 0, 3);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_builtin_takes_no_parameters);
	suite_add_tcase(s, tc);
	return s;
}
