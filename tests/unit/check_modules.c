/*
 * check_modules.c: the shipped modules (caesar, reverse) loaded with
 * dlopen as echod loads them, and each way a module can be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "transform.h"

static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static struct transform_registry *
registry_with(const char *dir, const char *file)
{
	struct transform_registry *reg = transform_registry_new();
	char path[512], err[512];

	ck_assert_ptr_nonnull(reg);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_msg(transform_registry_load(reg, path, err, sizeof(err)) == 0,
	    "%s: %s", path, err);
	return reg;
}

/* Load file from dir: it must be refused with exactly want. */
static void
expect_refused(const char *dir, const char *file, const char *want)
{
	struct transform_registry *reg = transform_registry_new();
	char path[512], err[512];
	size_t before = reg->nentries;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_int_eq(transform_registry_load(reg, path, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(reg->nentries, before);
	ck_assert_uint_eq(reg->nmodules, 0);
	transform_registry_free(reg);
}

/* A chain of one transform with one integer parameter (name NULL: none). */
static int
chain_with(struct transform_registry *reg, const char *transform,
    const char *param, long long value, struct transform_chain **chainp,
    char *err, size_t errlen)
{
	const struct echod_param p = { .name = param, .type = ECHOD_PARAM_INT,
		.number = value };
	struct transform_chain *chain = transform_chain_new();
	int rc;

	rc = transform_chain_add(chain, transform_registry_find(reg, transform),
	    &p, param != NULL ? 1 : 0, err, errlen);
	*chainp = chain;
	return rc;
}

START_TEST(test_caesar_every_shift)
{
	struct transform_registry *reg = registry_with(ECHOD_BUILT_MODULES,
	    "caesar.so");
	struct transform_chain *chain;
	unsigned char buf[256];
	char err[128];
	int shift = _i, i, want;

	ck_assert_int_eq(chain_with(reg, "caesar", "shift", shift, &chain, err,
	    sizeof(err)), 0);
	for (i = 0; i < 256; i++)
		buf[i] = (unsigned char)i;
	transform_chain_apply(chain, buf, sizeof(buf));
	for (i = 0; i < 256; i++) {
		if (strchr(lower, i) != NULL && i != 0)
			want = lower[(i - 'a' + shift) % 26];
		else if (strchr(upper, i) != NULL && i != 0)
			want = upper[(i - 'A' + shift) % 26];
		else
			want = i;
		ck_assert_msg(buf[i] == want, "shift %d: 0x%02x became 0x%02x",
		    shift, i, buf[i]);
	}
	transform_chain_free(chain);
	transform_registry_free(reg);
}
END_TEST

START_TEST(test_caesar_13_is_rot13)
{
	struct transform_registry *reg = registry_with(ECHOD_BUILT_MODULES,
	    "caesar.so");
	struct transform_chain *caesar, *rot13;
	unsigned char a[256], b[256];
	char err[128];
	int i;

	ck_assert_int_eq(chain_with(reg, "caesar", "shift", 13, &caesar, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(chain_with(reg, "rot13", NULL, 0, &rot13, err,
	    sizeof(err)), 0);
	for (i = 0; i < 256; i++)
		a[i] = b[i] = (unsigned char)i;
	transform_chain_apply(caesar, a, sizeof(a));
	transform_chain_apply(rot13, b, sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_str_eq(caesar->name, "caesar(shift=13)");
	transform_chain_free(caesar);
	transform_chain_free(rot13);
	transform_registry_free(reg);
}
END_TEST

START_TEST(test_caesar_default_and_errors)
{
	struct transform_registry *reg = registry_with(ECHOD_BUILT_MODULES,
	    "caesar.so");
	struct transform_chain *chain;
	unsigned char msg[] = "Veni, vidi, vici";
	char err[128];

	ck_assert_int_eq(chain_with(reg, "caesar", NULL, 0, &chain, err,
	    sizeof(err)), 0);
	transform_chain_apply(chain, msg, sizeof(msg) - 1);
	ck_assert_str_eq((char *)msg, "Yhql, ylgl, ylfl");
	transform_chain_free(chain);

	ck_assert_int_eq(chain_with(reg, "caesar", "shift", 26, &chain, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "shift: expected a whole number from 0 to 25");
	transform_chain_free(chain);
	ck_assert_int_eq(chain_with(reg, "caesar", "shift", -1, &chain, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "shift: expected a whole number from 0 to 25");
	transform_chain_free(chain);
	ck_assert_int_eq(chain_with(reg, "caesar", "shfit", 3, &chain, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown parameter \"shfit\" (caesar takes shift)");
	transform_chain_free(chain);
	transform_registry_free(reg);
}
END_TEST

/* reverse over in must give want (both NUL-terminated). */
static void
check_reverse(const char *in, const char *want)
{
	struct transform_registry *reg = registry_with(ECHOD_BUILT_MODULES,
	    "reverse.so");
	struct transform_chain *chain;
	char buf[64], err[128];

	ck_assert_int_eq(chain_with(reg, "reverse", NULL, 0, &chain, err,
	    sizeof(err)), 0);
	ck_assert(chain->message);
	snprintf(buf, sizeof(buf), "%s", in);
	transform_chain_apply(chain, (unsigned char *)buf, strlen(buf));
	ck_assert_str_eq(buf, want);
	transform_chain_free(chain);
	transform_registry_free(reg);
}

START_TEST(test_reverse)
{
	check_reverse("", "");
	check_reverse("a", "a");
	check_reverse("hello world", "dlrow olleh");
	/* Characters, not bytes: é (2 bytes), ✓ (3), 😀 (4). */
	check_reverse("h\xc3\xa9llo", "oll\xc3\xa9h");
	check_reverse("a\xe2\x9c\x93" "b\xf0\x9f\x98\x80" "c",
	    "c\xf0\x9f\x98\x80" "b\xe2\x9c\x93" "a");
	/* Not valid UTF-8: each such byte is a character of its own. */
	check_reverse("a\xff\xfe" "b", "b\xfe\xff" "a");
	check_reverse("a\xc3", "\xc3" "a");		/* cut short */
	check_reverse("\xc0\xaf" "x", "x\xaf\xc0");	/* overlong '/' */
	check_reverse("\xed\xa0\x80" "x", "x\x80\xa0\xed"); /* surrogate */
}
END_TEST

START_TEST(test_missing_module)
{
	expect_refused(ECHOD_TEST_MODULES, "nonexistent.so",
	    "cannot open shared object file: No such file or directory");
}
END_TEST

START_TEST(test_no_entry_point)
{
	expect_refused(ECHOD_TEST_MODULES, "faulty_no_entry.so",
	    "no entry point: the module defines no \"echod_module\" (write "
	    "ECHOD_MODULE(...) in it)");
}
END_TEST

START_TEST(test_wrong_abi)
{
	char want[128];

	snprintf(want, sizeof(want), "built for transform ABI %d; this echod "
	    "has ABI %d (rebuild the module against its header)",
	    ECHOD_TRANSFORM_ABI + 1, ECHOD_TRANSFORM_ABI);
	expect_refused(ECHOD_TEST_MODULES, "faulty_abi.so", want);
}
END_TEST

START_TEST(test_name_clash_builtin)
{
	expect_refused(ECHOD_TEST_MODULES, "faulty_clash.so",
	    "transform \"upper\" is already defined as a built-in");
}
END_TEST

START_TEST(test_bad_name)
{
	expect_refused(ECHOD_TEST_MODULES, "faulty_name.so",
	    "transform 1 has no usable name (1 to 64 of a-z, 0-9, _ and -)");
}
END_TEST

START_TEST(test_name_clash_module)
{
	struct transform_registry *reg = registry_with(ECHOD_BUILT_MODULES,
	    "caesar.so");
	char err[512], want[512];

	ck_assert_int_eq(transform_registry_load(reg,
	    ECHOD_BUILT_MODULES "/caesar.so", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "transform \"caesar\" is already defined "
	    "by %s/caesar.so", ECHOD_BUILT_MODULES);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(reg->nmodules, 1);
	ck_assert_str_eq(transform_registry_find(reg, "caesar")->module,
	    ECHOD_BUILT_MODULES "/caesar.so");
	transform_registry_free(reg);
}
END_TEST

Suite *
modules_suite(void)
{
	Suite *s = suite_create("modules");
	TCase *shipped = tcase_create("shipped");
	TCase *refused = tcase_create("refused");

	tcase_add_loop_test(shipped, test_caesar_every_shift, 0, 26);
	tcase_add_test(shipped, test_caesar_13_is_rot13);
	tcase_add_test(shipped, test_caesar_default_and_errors);
	tcase_add_test(shipped, test_reverse);
	suite_add_tcase(s, shipped);
	tcase_add_test(refused, test_missing_module);
	tcase_add_test(refused, test_no_entry_point);
	tcase_add_test(refused, test_wrong_abi);
	tcase_add_test(refused, test_name_clash_builtin);
	tcase_add_test(refused, test_bad_name);
	tcase_add_test(refused, test_name_clash_module);
	suite_add_tcase(s, refused);
	return s;
}
