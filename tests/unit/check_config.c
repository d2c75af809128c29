/*
 * check_config.c: config_load() on real files, valid and invalid; every
 * invalid kind is checked for its exact message, file and line included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "suites.h"

static char conf_path[64];

/* Write text to a fresh temporary file named in conf_path. */
static void
write_conf(const char *text)
{
	int fd;

	strcpy(conf_path, "/tmp/echod-check-XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load text; it must fail with exactly want, where "@" is the file. */
static void
expect_errors(const char *text, const char *want)
{
	char expanded[2048], *errors = NULL;
	struct echod_config *conf;
	size_t n = 0;

	write_conf(text);
	conf = config_load(conf_path, &errors);
	unlink(conf_path);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_nonnull(errors);
	for (; *want != '\0' && n + sizeof(conf_path) < sizeof(expanded); want++)
		if (*want == '@')
			n += (size_t)snprintf(expanded + n, sizeof(expanded) - n,
			    "%s", conf_path);
		else
			expanded[n++] = *want;
	expanded[n] = '\0';
	ck_assert_str_eq(errors, expanded);
	free(errors);
}

/* Load text; it must succeed. */
static struct echod_config *
expect_ok(const char *text)
{
	struct echod_config *conf;
	char *errors = NULL;

	write_conf(text);
	conf = config_load(conf_path, &errors);
	unlink(conf_path);
	ck_assert_msg(conf != NULL, "unexpected errors: %s", errors);
	ck_assert_ptr_null(errors);
	return conf;
}

START_TEST(test_sample_config)
{
	struct echod_config *conf;
	char *errors = NULL, name[64];

	conf = config_load(ECHOD_SAMPLE_CONF, &errors);
	ck_assert_msg(conf != NULL, "sample config: %s", errors);
	ck_assert_uint_eq(conf->nlisteners, 5);
	ck_assert_int_eq(conf->listeners[0].protocol, ECHOD_PROTO_UDP);
	ck_assert_str_eq(conf->listeners[0].address, "::");
	ck_assert_int_eq(conf->listeners[0].port, 12000);
	ck_assert_ptr_eq(conf->listeners[0].transform, &transform_upper);
	ck_assert_int_eq(conf->listeners[1].protocol, ECHOD_PROTO_TCP);
	ck_assert_ptr_eq(conf->listeners[3].transform, &transform_rot13);
	ck_assert_str_eq(config_listener_name(&conf->listeners[1], name,
	    sizeof(name)), "tcp [::]:12000");
	ck_assert(conf->listeners[4].close_after_reply);
	ck_assert_str_eq(config_listener_name(&conf->listeners[4], name,
	    sizeof(name)), "tcp 127.0.0.1:12007");
	config_free(conf);
}
END_TEST

START_TEST(test_defaults)
{
	struct echod_config *conf = expect_ok(
	    "listeners = ( { protocol = \"udp\"; port = 7; } );\n");

	ck_assert_uint_eq(conf->nlisteners, 1);
	ck_assert_str_eq(conf->listeners[0].address, "::");
	ck_assert_ptr_eq(conf->listeners[0].transform, &transform_echo);
	ck_assert(!conf->listeners[0].close_after_reply);
	ck_assert(!conf->listeners[0].ipv6_only);
	ck_assert_int_eq(conf->listeners[0].line, 1);
	config_free(conf);
}
END_TEST

START_TEST(test_every_setting)
{
	struct echod_config *conf = expect_ok(
	    "listeners = (\n"
	    "  { protocol = \"tcp\"; address = \"::1\"; port = 65535;\n"
	    "    transform = \"rot13\"; close_after_reply = true;\n"
	    "    ipv6_only = true; },\n"
	    "  { protocol = \"udp\"; address = \"::1\"; port = 65535; },\n"
	    "  { protocol = \"tcp\"; address = \"localhost\"; port = 1L; }\n"
	    ");\n");
	const struct echod_listener_config *lc = &conf->listeners[0];

	ck_assert_uint_eq(conf->nlisteners, 3);
	ck_assert_str_eq(lc->address, "::1");
	ck_assert_int_eq(lc->port, 65535);
	ck_assert_ptr_eq(lc->transform, &transform_rot13);
	ck_assert(lc->close_after_reply);
	ck_assert(lc->ipv6_only);
	ck_assert_int_eq(lc->line, 2);
	ck_assert_int_eq(conf->listeners[1].line, 5);
	ck_assert_int_eq(conf->listeners[2].port, 1);
	config_free(conf);
}
END_TEST

START_TEST(test_missing_file)
{
	char *errors = NULL;

	ck_assert_ptr_null(config_load("/nonexistent/echod.conf", &errors));
	ck_assert_str_eq(errors,
	    "/nonexistent/echod.conf: No such file or directory\n");
	free(errors);
}
END_TEST

START_TEST(test_syntax_error)
{
	expect_errors("listeners = (\n  { protocol = \"tcp\"; port = ; }\n);\n",
	    "@:2: syntax error\n");
}
END_TEST

START_TEST(test_unknown_setting)
{
	expect_errors("listeners = (\n  { protocol = \"tcp\"; port = 1;\n"
		      "    colour = \"red\"; }\n);\n",
	    "@:3: listeners[0].colour: unknown setting\n");
}
END_TEST

START_TEST(test_unknown_top_setting)
{
	expect_errors("workers = 4;\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: workers: unknown setting\n");
}
END_TEST

START_TEST(test_wrong_types)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = \"12000\"; },\n"
		      "  { protocol = 6; port = 2; },\n"
		      "  { protocol = \"udp\"; port = 3.5; transform = [\"echo\"]; }\n"
		      ");\n",
	    "@:2: listeners[0].port: expected an integer\n"
	    "@:3: listeners[1].protocol: expected a string in double quotes\n"
	    "@:4: listeners[2].port: expected an integer\n"
	    "@:4: listeners[2].transform: expected a string in double quotes\n");
}
END_TEST

START_TEST(test_more_wrong_types)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = 2; close_after_reply = 1; }\n"
		      ");\n",
	    "@:2: listeners[0].close_after_reply: expected true or false\n");
	expect_errors("listeners = { protocol = \"tcp\"; port = 1; };\n",
	    "@:1: listeners: expected a list in parentheses\n");
	expect_errors("listeners = ( \"tcp\" );\n",
	    "@:1: listeners[0]: expected a group in braces\n");
}
END_TEST

START_TEST(test_port_range)
{
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 70000; } );\n",
	    "@:1: listeners[0].port: 70000 is out of range (1-65535)\n");
	expect_errors("listeners = ( { protocol = \"udp\"; port = 0; } );\n",
	    "@:1: listeners[0].port: 0 is out of range (1-65535)\n");
	expect_errors("listeners = ( { protocol = \"udp\"; port = -7; } );\n",
	    "@:1: listeners[0].port: -7 is out of range (1-65535)\n");
}
END_TEST

START_TEST(test_unknown_transform)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = 1; transform = \"shout\"; }\n"
		      ");\n",
	    "@:2: listeners[0].transform: unknown transform \"shout\" "
	    "(known: echo, upper, rot13)\n");
}
END_TEST

START_TEST(test_bad_protocol)
{
	expect_errors("listeners = ( { protocol = \"sctp\"; port = 1; } );\n",
	    "@:1: listeners[0].protocol: \"sctp\" is neither \"tcp\" nor "
	    "\"udp\"\n");
}
END_TEST

START_TEST(test_missing_settings)
{
	expect_errors("listeners = (\n  { protocol = \"tcp\"; }\n);\n",
	    "@:2: listeners[0]: missing required setting \"port\"\n");
	expect_errors("# nothing here\n",
	    "@: missing required setting \"listeners\"\n");
	expect_errors("listeners = ( );\n",
	    "@:1: listeners: no listeners defined\n");
	expect_errors("listeners = ( { protocol = \"tcp\"; address = \"\"; "
		      "port = 1; } );\n",
	    "@:1: listeners[0].address: must not be empty\n");
}
END_TEST

START_TEST(test_duplicates)
{
	/* "::" and "0::0" are one address; tcp and udp may share a port. */
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; address = \"::\"; port = 5; },\n"
		      "  { protocol = \"udp\"; address = \"::\"; port = 5; },\n"
		      "  { protocol = \"tcp\"; address = \"0::0\"; port = 5; }\n"
		      ");\n",
	    "@:4: listeners[2]: same protocol, address and port as "
	    "listeners[0] at line 2\n");
	expect_errors("listeners = (\n"
		      "  { protocol = \"udp\"; address = \"LocalHost\"; port = 5; },\n"
		      "  { protocol = \"udp\"; address = \"localhost\"; port = 5; }\n"
		      ");\n",
	    "@:3: listeners[1]: same protocol, address and port as "
	    "listeners[0] at line 2\n");
	config_free(expect_ok("listeners = (\n"
			      "  { protocol = \"tcp\"; address = \"::1\"; port = 5; },\n"
			      "  { protocol = \"tcp\"; address = \"127.0.0.1\"; port = 5; },\n"
			      "  { protocol = \"tcp\"; address = \"::1\"; port = 6; }\n"
			      ");\n"));
}
END_TEST

START_TEST(test_close_after_reply_udp)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"udp\"; port = 5;\n"
		      "    close_after_reply = true; }\n"
		      ");\n",
	    "@:3: listeners[0].close_after_reply: only tcp listeners close\n");
}
END_TEST

START_TEST(test_all_errors_at_once)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = 0; },\n"
		      "  { protocol = \"udp\"; port = 1; transform = \"x\"; }\n"
		      ");\n"
		      "extra = true;\n",
	    "@:2: listeners[0].port: 0 is out of range (1-65535)\n"
	    "@:3: listeners[1].transform: unknown transform \"x\" "
	    "(known: echo, upper, rot13)\n"
	    "@:5: extra: unknown setting\n");
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *valid = tcase_create("valid");
	TCase *invalid = tcase_create("invalid");

	tcase_add_test(valid, test_sample_config);
	tcase_add_test(valid, test_defaults);
	tcase_add_test(valid, test_every_setting);
	suite_add_tcase(s, valid);

	tcase_add_test(invalid, test_missing_file);
	tcase_add_test(invalid, test_syntax_error);
	tcase_add_test(invalid, test_unknown_setting);
	tcase_add_test(invalid, test_unknown_top_setting);
	tcase_add_test(invalid, test_wrong_types);
	tcase_add_test(invalid, test_more_wrong_types);
	tcase_add_test(invalid, test_port_range);
	tcase_add_test(invalid, test_unknown_transform);
	tcase_add_test(invalid, test_bad_protocol);
	tcase_add_test(invalid, test_missing_settings);
	tcase_add_test(invalid, test_duplicates);
	tcase_add_test(invalid, test_close_after_reply_udp);
	tcase_add_test(invalid, test_all_errors_at_once);
	suite_add_tcase(s, invalid);
	return s;
}
