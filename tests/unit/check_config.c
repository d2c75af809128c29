/*
 * check_config.c: config_load() on real files, valid and invalid; every
 * invalid kind is checked for its exact message, file and line included.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "suites.h"
#include "transform.h"

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

/* The sample config, with module_dir set to the modules just built. */
START_TEST(test_sample_config)
{
	const char dir[] = "module_dir = \"" ECHOD_BUILT_MODULES "\";\n";
	const struct echod_listener_config *lc;
	struct echod_config *conf;
	char name[64], text[16384];
	size_t n;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(ECHOD_SAMPLE_CONF, "r"));
	memcpy(text, dir, sizeof(dir));
	n = fread(text + sizeof(dir) - 1, 1, sizeof(text) - sizeof(dir), fp);
	ck_assert(feof(fp));
	text[sizeof(dir) - 1 + n] = '\0';
	fclose(fp);
	conf = expect_ok(text);
	ck_assert_uint_eq(conf->nlisteners, 9);
	ck_assert_uint_eq(conf->transforms->nmodules, 2);
	lc = &conf->listeners[0];
	ck_assert_int_eq(lc->protocol, ECHOD_PROTO_UDP);
	ck_assert_str_eq(lc->address, "::");
	ck_assert_int_eq(lc->port_min, 12000);
	ck_assert_int_eq(lc->port_max, 12000);
	ck_assert_str_eq(config_transform_name(lc), "upper");
	ck_assert_int_eq(conf->listeners[1].protocol, ECHOD_PROTO_TCP);
	ck_assert_str_eq(config_transform_name(&conf->listeners[3]), "rot13");
	ck_assert_str_eq(config_listener_name(&conf->listeners[1], name,
	    sizeof(name)), "tcp [::]:12000");
	ck_assert(conf->listeners[4].close_after_reply);
	ck_assert_str_eq(config_listener_name(&conf->listeners[4], name,
	    sizeof(name)), "tcp 127.0.0.1:12007");
	ck_assert_str_eq(config_transform_name(&conf->listeners[5]),
	    "caesar(shift=3), upper");
	ck_assert_int_eq(conf->listeners[6].framing, ECHOD_FRAMING_LINE);
	ck_assert(conf->listeners[7].transform->message);
	lc = &conf->listeners[8];
	ck_assert_str_eq(config_listener_name(lc, name, sizeof(name)),
	    "tcp [::]:22400-22499");
	ck_assert(lc->log_messages);
	config_unref(conf);
}
END_TEST

START_TEST(test_defaults)
{
	struct echod_config *conf = expect_ok(
	    "listeners = ( { protocol = \"udp\"; port = 7; } );\n");

	const struct echod_listener_config *lc = &conf->listeners[0];

	ck_assert_uint_eq(conf->nlisteners, 1);
	ck_assert_str_eq(lc->address, "::");
	ck_assert_uint_eq(lc->transform->nsteps, 0);
	ck_assert_str_eq(config_transform_name(lc), "echo");
	ck_assert(!lc->close_after_reply);
	ck_assert(!lc->ipv6_only);
	ck_assert(!lc->same_port);
	ck_assert_int_eq(lc->framing, ECHOD_FRAMING_STREAM);
	ck_assert_int_eq(lc->max_line, 65536);
	ck_assert(!lc->log_messages);
	ck_assert_int_eq(lc->log_length, 200);
	ck_assert_int_eq(lc->line, 1);
	ck_assert_str_eq(conf->module_dir, ECHOD_MODULE_DIR);
	ck_assert_uint_eq(conf->transforms->nmodules, 0);
	ck_assert_int_eq(conf->workers, 0); /* one per CPU */
	ck_assert_int_eq(conf->limits.max_connections, 4096);
	ck_assert_int_eq(conf->limits.max_connections_per_ip, 256);
	ck_assert_int_eq(conf->limits.idle_timeout, 300);
	ck_assert_int_eq(conf->limits.max_pending, 256 * 1024);
	ck_assert_mem_eq(&lc->limits, &conf->limits, sizeof(lc->limits));
	ck_assert_uint_eq(lc->acl.allow.n + lc->acl.deny.n, 0);
	ck_assert_int_eq(conf->udp_rate, 100);
	ck_assert_int_eq(conf->udp_burst, 200);
	ck_assert_int_eq(conf->ipv6_prefix, 64);
	ck_assert_int_eq(conf->limits.log_rate, 20);
	ck_assert_int_eq(conf->limits.log_burst, 40);
	ck_assert_str_eq(conf->user, "nobody");
	ck_assert_str_eq(conf->group, "nogroup");
	config_unref(conf);
}
END_TEST

START_TEST(test_guard_settings)
{
	struct echod_config *conf = expect_ok(
	    "max_connections = 100; max_connections_per_ip = 4;\n"
	    "idle_timeout = 0; max_pending = 4096;\n"
	    "udp_rate = 0; udp_burst = 1; udp_ignore_ports = ( 2049, 11211 );\n"
	    "user = \"root\"; group = \"root\"; ipv6_prefix = 48;\n"
	    "log_rate = 5; log_burst = 7;\n"
	    "listeners = (\n"
	    "  { protocol = \"tcp\"; port = 7; max_connections = 10;\n"
	    "    log_rate = 0; log_burst = 3;\n"
	    "    idle_timeout = 60; allow = ( \"10.0.0.0/8\" );\n"
	    "    deny = ( \"10.0.5.0/24\", \"::1\" ); },\n"
	    "  { protocol = \"udp\"; port = \"30000-30002\"; }\n"
	    ");\n");
	const struct echod_listener_config *tcp = &conf->listeners[0];
	const struct echod_listener_config *udp = &conf->listeners[1];

	/* A listener's own value, else the top level's. */
	ck_assert_int_eq(tcp->limits.max_connections, 10);
	ck_assert_int_eq(tcp->limits.idle_timeout, 60);
	ck_assert_int_eq(tcp->limits.max_connections_per_ip, 4);
	ck_assert_int_eq(tcp->limits.max_pending, 4096);
	ck_assert_int_eq(udp->limits.idle_timeout, 0);
	ck_assert_int_eq(conf->ipv6_prefix, 48);
	ck_assert_int_eq(tcp->limits.log_rate, 0);
	ck_assert_int_eq(tcp->limits.log_burst, 3);
	ck_assert_int_eq(udp->limits.log_rate, 5);
	ck_assert_int_eq(udp->limits.log_burst, 7);
	ck_assert_uint_eq(tcp->acl.allow.n, 1);
	ck_assert_uint_eq(tcp->acl.deny.n, 2);
	ck_assert_int_eq(conf->udp_rate, 0);
	ck_assert_int_eq((int)conf->uid, 0);
	ck_assert_int_eq((int)conf->gid, 0);
	/* Ports never answered: below 1024, the list, echod's own udp. */
	ck_assert(config_udp_port_ignored(conf, 0));
	ck_assert(config_udp_port_ignored(conf, 7));
	ck_assert(config_udp_port_ignored(conf, 1023));
	ck_assert(!config_udp_port_ignored(conf, 1024));
	ck_assert(config_udp_port_ignored(conf, 2049));
	ck_assert(config_udp_port_ignored(conf, 11211));
	ck_assert(config_udp_port_ignored(conf, 30000));
	ck_assert(config_udp_port_ignored(conf, 30002));
	ck_assert(!config_udp_port_ignored(conf, 30003));
	ck_assert(!config_udp_port_ignored(conf, 54321));
	config_unref(conf);
}
END_TEST

START_TEST(test_guard_errors)
{
	expect_errors("max_pending = 0; udp_burst = 0; ipv6_prefix = 129;\n"
		      "udp_ignore_ports = ( 80, 70000, \"x\" );\n"
		      "listeners = (\n"
		      "  { protocol = \"udp\"; port = 5; idle_timeout = 3;\n"
		      "    max_connections = 3; log_burst = 0; },\n"
		      "  { protocol = \"tcp\"; port = 6;\n"
		      "    allow = ( \"10.1.0.0/8\", \"lab\", 3 ); deny = \"::1\";\n"
		      "    idle_timeout = 86401; }\n"
		      ");\n",
	    "@:1: udp_burst: 0 is out of range (1-1000000)\n"
	    "@:1: ipv6_prefix: 129 is out of range (1-128)\n"
	    "@:2: udp_ignore_ports[1]: 70000 is out of range (1-65535)\n"
	    "@:2: udp_ignore_ports[2]: expected a port number\n"
	    "@:1: max_pending: 0 is out of range (1-1073741824)\n"
	    "@:5: listeners[0].log_burst: 0 is out of range (1-1000000)\n"
	    "@:8: listeners[1].idle_timeout: 86401 is out of range (0-86400)\n"
	    "@:7: listeners[1].allow[0]: \"10.1.0.0/8\" has bits set past "
	    "its /8 prefix\n"
	    "@:7: listeners[1].allow[1]: \"lab\" is not an address or an "
	    "address/bits prefix\n"
	    "@:7: listeners[1].allow[2]: expected an address or a prefix in "
	    "double quotes\n"
	    "@:7: listeners[1].deny: expected a list of addresses or prefixes "
	    "in parentheses, such as ( \"10.0.0.0/8\" )\n");
	/* Second pass: only once the first is clean. */
	expect_errors("listeners = (\n"
		      "  { protocol = \"udp\"; port = 5; idle_timeout = 3;\n"
		      "    max_connections = 3; max_pending = 9; }\n"
		      ");\n",
	    "@:3: listeners[0].max_connections: applies only to tcp listeners\n"
	    "@:2: listeners[0].idle_timeout: applies only to tcp listeners\n"
	    "@:3: listeners[0].max_pending: applies only to tcp listeners\n");
	expect_errors("user = \"no-such-user-here\"; group = \"nogroup\";\n"
		      "listeners = ( { protocol = \"tcp\"; port = 5; } );\n",
	    "@:1: user: no user \"no-such-user-here\"\n");
	expect_errors("group = \"no-such-group-here\";\n"
		      "listeners = ( { protocol = \"tcp\"; port = 5; } );\n",
	    "@:1: group: no group \"no-such-group-here\"\n");
}
END_TEST

START_TEST(test_workers)
{
	struct echod_config *conf = expect_ok("workers = 1;\n"
	    "listeners = ( { protocol = \"udp\"; port = 7; } );\n");

	ck_assert_int_eq(conf->workers, 1);
	config_unref(conf);
	conf = expect_ok("workers = 256;\n"
	    "listeners = ( { protocol = \"udp\"; port = 7; } );\n");
	ck_assert_int_eq(conf->workers, 256);
	config_unref(conf);
	expect_errors("workers = 0;\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: workers: 0 is out of range (1-256)\n");
	expect_errors("workers = 257;\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: workers: 257 is out of range (1-256)\n");
	expect_errors("workers = \"all\";\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: workers: expected an integer\n");
}
END_TEST

/* The operations settings, and what a reload relies on: references,
 * and which listeners keep their sockets. */
START_TEST(test_operations)
{
	struct echod_config *conf = expect_ok(
	    "shutdown_timeout = 0; log_level = \"warning\";\n"
	    "listeners = ( { protocol = \"tcp\"; port = 7; },\n"
	    "  { protocol = \"udp\"; port = 7; } );\n");
	struct echod_config *other;

	ck_assert_int_eq(conf->shutdown_timeout, 0);
	ck_assert_int_eq(conf->log_level, ECHOD_LOG_WARNING);
	ck_assert_ptr_eq(conf->listeners[0].config, conf);
	ck_assert_int_eq(conf->listeners[0].idle.tv_sec, 300);
	ck_assert(!config_same_bind(&conf->listeners[0], &conf->listeners[1]));
	/* "::" and "::0" are one address; a transform is no socket's. */
	other = expect_ok("listeners = ( { protocol = \"tcp\"; address = "
	    "\"::0\"; port = 7; transform = \"upper\"; },\n"
	    "  { protocol = \"udp\"; port = 7; ipv6_only = true; } );\n");
	ck_assert(config_same_bind(&conf->listeners[0], &other->listeners[0]));
	ck_assert(!config_same_bind(&conf->listeners[1], &other->listeners[1]));
	config_unref(other);
	/* A reference keeps it; the last one frees it (ASan would see). */
	ck_assert_ptr_eq(config_ref(conf), conf);
	ck_assert_int_eq(conf->refs, 2);
	config_unref(conf);
	ck_assert_int_eq(conf->refs, 1);
	config_unref(conf);

	conf = expect_ok("listeners = ( { protocol = \"tcp\"; port = 7; } );\n");
	ck_assert_int_eq(conf->shutdown_timeout, 10);
	ck_assert_int_eq(conf->log_level, ECHOD_LOG_INFO);
	config_unref(conf);
	expect_errors("shutdown_timeout = 3601; log_level = \"loud\";\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: shutdown_timeout: 3601 is out of range (0-3600)\n"
	    "@:1: log_level: \"loud\" is none of \"error\", \"warning\", "
	    "\"info\" and \"debug\"\n");
}
END_TEST

/* The metrics group: off unless given, loopback unless told; an error,
 * saying why, where there is no HTTP. */
START_TEST(test_metrics)
{
	const char one[] = "listeners = ( { protocol = \"tcp\"; port = 7; } );\n";
	struct echod_config *conf = expect_ok(one);
	char text[512];

	ck_assert_int_eq(conf->metrics.port, 0);
	ck_assert_str_eq(conf->metrics.address, "127.0.0.1");
	config_unref(conf);
#ifndef HAVE_LIBMICROHTTPD
	snprintf(text, sizeof(text), "metrics = { port = 9464; };\n%s", one);
	expect_errors(text, "@:1: metrics: echod was built without "
	    "libmicrohttpd (configure --with-microhttpd): no HTTP listener "
	    "can serve it\n");
	return;
#endif
	snprintf(text, sizeof(text), "metrics = { port = 9464; address = "
	    "\"::1\"; allow = ( \"::1\" ); deny = ( \"::1/128\" ); };\n%s",
	    one);
	conf = expect_ok(text);
	ck_assert_int_eq(conf->metrics.port, 9464);
	ck_assert_str_eq(conf->metrics.address, "::1");
	ck_assert_uint_eq(conf->metrics.acl.allow.n, 1);
	ck_assert_uint_eq(conf->metrics.acl.deny.n, 1);
	config_unref(conf);

	snprintf(text, sizeof(text), "metrics = { address = \"localhost\"; "
	    "port = 0; colour = 1; };\n%s", one);
	expect_errors(text,
	    "@:1: metrics.colour: unknown setting\n"
	    "@:1: metrics.port: 0 is out of range (1-65535)\n"
	    "@:1: metrics.address: \"localhost\" is not a numeric IPv4 or "
	    "IPv6 address\n");
	snprintf(text, sizeof(text), "metrics = { };\n%s", one);
	expect_errors(text, "@:1: metrics: missing required setting \"port\"\n");
	snprintf(text, sizeof(text), "metrics = 9464;\n%s", one);
	expect_errors(text, "@:1: metrics: expected a group in braces\n");
}
END_TEST

/* The console group: off unless given; loopback and loopback's
 * instructors unless told; an empty instructors list is no one; an
 * error where there is no HTTP. */
START_TEST(test_console)
{
	const char one[] = "listeners = ( { protocol = \"tcp\"; port = 7; } );\n";
	struct echod_config *conf = expect_ok(one);
	char text[512];

	ck_assert_int_eq(conf->console.port, 0);
	ck_assert_str_eq(conf->console.address, "127.0.0.1");
	ck_assert_int_eq(conf->console.max_viewers, 1000);
	ck_assert_int_eq(conf->console.max_viewers_per_ip, 16);
	ck_assert_int_eq(conf->console.history, 1000);
	config_unref(conf);
#ifndef HAVE_LIBMICROHTTPD
	snprintf(text, sizeof(text), "console = { port = 8080; };\n%s", one);
	expect_errors(text, "@:1: console: echod was built without "
	    "libmicrohttpd (configure --with-microhttpd): no HTTP listener "
	    "can serve it\n");
	return;
#endif
	snprintf(text, sizeof(text), "console = { port = 8080; };\n%s", one);
	conf = expect_ok(text);
	ck_assert_uint_eq(conf->console.instructors.n, 2);
	config_unref(conf);
	snprintf(text, sizeof(text), "console = { port = 8080; address = "
	    "\"::\"; allow = ( \"10.0.0.0/8\" ); deny = ( ); instructors = ( "
	    "\"10.0.0.5\" ); max_viewers = 5; max_viewers_per_ip = 2; "
	    "history = 7; };\n%s", one);
	conf = expect_ok(text);
	ck_assert_int_eq(conf->console.port, 8080);
	ck_assert_str_eq(conf->console.address, "::");
	ck_assert_uint_eq(conf->console.acl.allow.n, 1);
	ck_assert_uint_eq(conf->console.instructors.n, 1);
	ck_assert_int_eq(conf->console.max_viewers, 5);
	ck_assert_int_eq(conf->console.max_viewers_per_ip, 2);
	ck_assert_int_eq(conf->console.history, 7);
	config_unref(conf);
	snprintf(text, sizeof(text), "console = { port = 8080; instructors "
	    "= ( ); };\n%s", one);
	conf = expect_ok(text);
	ck_assert_uint_eq(conf->console.instructors.n, 0);
	config_unref(conf);

	snprintf(text, sizeof(text), "console = { address = \"lab\"; "
	    "port = 8080; history = 0; max_viewers = 0; instructors = "
	    "( \"10.0.0.5/8\" ); };\n%s", one);
	expect_errors(text,
	    "@:1: console.instructors[0]: \"10.0.0.5/8\" has bits set "
	    "past its /8 prefix\n"
	    "@:1: console.max_viewers: 0 is out of range (1-1000000)\n"
	    "@:1: console.history: 0 is out of range (1-100000)\n"
	    "@:1: console.address: \"lab\" is not a numeric IPv4 or IPv6 "
	    "address\n");
	snprintf(text, sizeof(text), "console = { };\n%s", one);
	expect_errors(text, "@:1: console: missing required setting \"port\"\n");
}
END_TEST

/* A tls group's own errors, found before any file is read (040 tests
 * the files: a missing one, a key that does not match). */
START_TEST(test_tls)
{
#ifndef HAVE_OPENSSL
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 7; tls = "
	    "{ certificate = \"/c\"; key = \"/k\"; }; } );\n",
	    "@:1: listeners[0].tls: echod was built without OpenSSL: no "
	    "listener can serve TLS\n");
	return;
#endif
	expect_errors("listeners = ( { protocol = \"udp\"; port = 7; tls = "
	    "{ certificate = \"/c\"; key = \"/k\"; }; } );\n",
	    "@:1: listeners[0].tls: TLS is for tcp listeners\n");
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 7; tls = "
	    "{ key = \"k.pem\"; handshake_timeout = 0; }; } );\n",
	    "@:1: listeners[0].tls: missing required setting "
	    "\"certificate\"\n"
	    "@:1: listeners[0].tls.handshake_timeout: 0 is out of range "
	    "(1-3600)\n"
	    "@:1: listeners[0].tls.key: \"k.pem\" is not an absolute path\n");
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 7; tls = "
	    "\"yes\"; } );\n",
	    "@:1: listeners[0].tls: expected a group in braces\n");
}
END_TEST

/* proxy_protocol needs proxy_from, and proxy_from proxy_protocol. */
START_TEST(test_proxy)
{
	struct echod_config *conf = expect_ok("listeners = ( { protocol = "
	    "\"udp\"; port = 7; proxy_protocol = true; proxy_from = ( "
	    "\"127.0.0.1\", \"10.0.0.0/8\" ); } );\n");

	ck_assert(conf->listeners[0].proxy_protocol);
	ck_assert_uint_eq(conf->listeners[0].proxy_from.n, 2);
	config_unref(conf);
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 7; "
	    "proxy_protocol = true; } );\n",
	    "@:1: listeners[0].proxy_protocol: needs proxy_from: the "
	    "balancers' addresses, the only ones whose headers are "
	    "believed\n");
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 7; "
	    "proxy_from = ( \"10.0.0.1\" ); } );\n",
	    "@:1: listeners[0].proxy_from: applies only with proxy_protocol "
	    "= true\n");
}
END_TEST

/* What the man page's test walks: every table, and nothing else. */
START_TEST(test_option_names)
{
	const char *name;
	size_t i;
	bool metrics = false;

	for (i = 0; (name = config_option_name("", i)) != NULL; i++)
		metrics = metrics || strcmp(name, "metrics") == 0;
	ck_assert(metrics);
	ck_assert_uint_gt(i, 10);
	ck_assert_str_eq(config_option_name("listeners", 0), "protocol");
	ck_assert_str_eq(config_option_name("metrics", 1), "port");
	ck_assert_ptr_null(config_option_name("metrics", 4));
	ck_assert_ptr_null(config_option_name("nowhere", 0));
}
END_TEST

/*
 * echod.conf(5) documents exactly the settings the code accepts: in the
 * section for its place in the file, each as ".It Cm NAME Ar TYPE",
 * with a default (or "Required") and, for an integer, its range.
 */
static void
check_man_section(FILE *fp, const char *heading, const char *where)
{
	char line[512], name[64], body[4096] = "", it[512] = "";
	bool in_section = false, in_list = false, documented[64] = { false };
	const char *opt;
	size_t i;

	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".Sh ", 4) == 0) {
			in_section = strcmp(line + 4, heading) == 0;
			continue;
		}
		if (!in_section)
			continue;
		if (in_list && (strncmp(line, ".It ", 4) == 0 ||
		    strcmp(line, ".El") == 0)) {
			/* The entry before this line is complete. */
			ck_assert_msg(sscanf(it, ".It Cm %63s", name) == 1,
			    "%s: not a setting: %s", heading, it);
			for (i = 0; (opt = config_option_name(where, i)) != NULL;
			    i++)
				if (strcmp(opt, name) == 0)
					break;
			ck_assert_msg(opt != NULL, "%s: %s is no setting of "
			    "the code's", heading, name);
			documented[i] = true;
			ck_assert_msg(strstr(it, " Ar ") != NULL,
			    "%s: %s has no type", heading, name);
			ck_assert_msg(strstr(body, "Default") != NULL,
			    "%s: %s has no default", heading, name);
			ck_assert_msg(strstr(it, "Ar integer") == NULL ||
			    strstr(body, "Range") != NULL,
			    "%s: %s has no range", heading, name);
		}
		if (strncmp(line, ".It ", 4) == 0) {
			snprintf(it, sizeof(it), "%s", line);
			body[0] = '\0';
			in_list = true;
		} else if (strcmp(line, ".El") == 0)
			in_list = false;
		else if (strlen(body) + strlen(line) + 2 < sizeof(body)) {
			strcat(body, line);
			strcat(body, " ");
		}
	}
	for (i = 0; (opt = config_option_name(where, i)) != NULL; i++)
		ck_assert_msg(documented[i], "echod.conf(5), %s: %s is missing",
		    heading, opt);
	ck_assert_uint_gt(i, 0);
}

START_TEST(test_man_page)
{
	FILE *fp = fopen(ECHOD_CONF_MAN, "r");

	ck_assert_msg(fp != NULL, "%s: cannot open", ECHOD_CONF_MAN);
	check_man_section(fp, "TOP-LEVEL SETTINGS", "");
	check_man_section(fp, "LISTENER SETTINGS", "listeners");
	check_man_section(fp, "METRICS SETTINGS", "metrics");
	check_man_section(fp, "CONSOLE SETTINGS", "console");
	check_man_section(fp, "TLS SETTINGS", "tls");
	fclose(fp);
}
END_TEST

START_TEST(test_every_setting)
{
	struct echod_config *conf = expect_ok(
	    "listeners = (\n"
	    "  { protocol = \"tcp\"; address = \"::1\"; port = 65535;\n"
	    "    transform = \"rot13\"; close_after_reply = true;\n"
	    "    ipv6_only = true; framing = \"line\"; max_line = 10;\n"
	    "    log_messages = true; log_length = 1024; },\n"
	    "  { protocol = \"udp\"; address = \"::1\"; port = 65535; },\n"
	    "  { protocol = \"tcp\"; address = \"localhost\"; port = 1L; }\n"
	    ");\n");
	const struct echod_listener_config *lc = &conf->listeners[0];

	ck_assert_uint_eq(conf->nlisteners, 3);
	ck_assert_str_eq(lc->address, "::1");
	ck_assert_int_eq(lc->port_min, 65535);
	ck_assert_int_eq(lc->port_max, 65535);
	ck_assert_str_eq(config_transform_name(lc), "rot13");
	ck_assert(lc->close_after_reply);
	ck_assert(lc->ipv6_only);
	ck_assert_int_eq(lc->framing, ECHOD_FRAMING_LINE);
	ck_assert_int_eq(lc->max_line, 10);
	ck_assert(lc->log_messages);
	ck_assert_int_eq(lc->log_length, 1024);
	ck_assert_int_eq(lc->line, 2);
	ck_assert_int_eq(conf->listeners[1].line, 6);
	ck_assert_int_eq(conf->listeners[2].port_min, 1);
	config_unref(conf);
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
	expect_errors("threads = 4;\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: threads: unknown setting\n");
}
END_TEST

START_TEST(test_wrong_types)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = true; },\n"
		      "  { protocol = 6; port = 2; },\n"
		      "  { protocol = \"udp\"; port = 3.5; transform = 3.5; }\n"
		      ");\n",
	    "@:2: listeners[0].port: expected a port number or a range in "
	    "double quotes (\"22400-22499\")\n"
	    "@:3: listeners[1].protocol: expected a string in double quotes\n"
	    "@:4: listeners[2].port: expected a port number or a range in "
	    "double quotes (\"22400-22499\")\n"
	    "@:4: listeners[2].transform: expected a transform's name, a group "
	    "{ name = \"...\"; ... } or a list of those\n");
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
	config_unref(expect_ok("listeners = (\n"
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
	    "@:5: extra: unknown setting\n"
	    "@:2: listeners[0].port: 0 is out of range (1-65535)\n"
	    "@:3: listeners[1].transform: unknown transform \"x\" "
	    "(known: echo, upper, rot13)\n");
}
END_TEST

START_TEST(test_port_ranges)
{
	struct echod_config *conf = expect_ok(
	    "listeners = (\n"
	    "  { protocol = \"tcp\"; port = \"22400-22499\"; same_port = true; },\n"
	    "  { protocol = \"udp\"; port = \"22400-22499\"; same_port = true; },\n"
	    "  { protocol = \"tcp\"; port = \"12000\"; },\n"
	    "  { protocol = \"tcp\"; port = \"1-65535\"; },\n"
	    "  { protocol = \"tcp\"; port = \"22450\"; }\n"
	    ");\n");

	ck_assert_int_eq(conf->listeners[0].port_min, 22400);
	ck_assert_int_eq(conf->listeners[0].port_max, 22499);
	ck_assert(conf->listeners[0].same_port);
	ck_assert_int_eq(conf->listeners[2].port_min, 12000);
	ck_assert_int_eq(conf->listeners[2].port_max, 12000);
	ck_assert_int_eq(conf->listeners[3].port_max, 65535);
	config_unref(conf);
}
END_TEST

START_TEST(test_port_range_errors)
{
	const char *bad[] = { "", "abc", "22499-22400", "0-10", "1-70000",
		"12000-", "-5", "1 - 5", "12x", "000012000", NULL };
	char text[256], want[256];
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		snprintf(text, sizeof(text), "listeners = ( { protocol = "
		    "\"tcp\"; port = \"%s\"; } );\n", bad[i]);
		snprintf(want, sizeof(want), "@:1: listeners[0].port: \"%s\" is "
		    "neither a port nor a range of ports (LOW-HIGH, 1-65535, "
		    "LOW <= HIGH)\n", bad[i]);
		expect_errors(text, want);
	}
}
END_TEST

START_TEST(test_same_port_errors)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = 5; same_port = true; },\n"
		      "  { protocol = \"tcp\"; port = \"6-9\"; same_port = true; },\n"
		      "  { protocol = \"udp\"; port = \"6-10\"; same_port = true; }\n"
		      ");\n",
	    "@:2: listeners[0].same_port: applies only to a port range\n"
	    "@:3: listeners[1].same_port: no other listener has port range "
	    "6-9 and same_port\n"
	    "@:4: listeners[2].same_port: no other listener has port range "
	    "6-10 and same_port\n");
}
END_TEST

START_TEST(test_transform_forms)
{
	struct echod_config *conf = expect_ok(
	    "listeners = (\n"
	    "  { protocol = \"udp\"; port = 1; transform = ( \"rot13\", \"upper\" ); },\n"
	    "  { protocol = \"udp\"; port = 2; transform = [ \"upper\", \"echo\" ]; },\n"
	    "  { protocol = \"udp\"; port = 3; transform = { name = \"rot13\"; }; },\n"
	    "  { protocol = \"udp\"; port = 4; transform = ( { name = \"upper\"; } ); }\n"
	    ");\n");

	ck_assert_str_eq(config_transform_name(&conf->listeners[0]),
	    "rot13, upper");
	ck_assert_uint_eq(conf->listeners[0].transform->nsteps, 2);
	ck_assert_str_eq(config_transform_name(&conf->listeners[1]),
	    "upper, echo");
	ck_assert_uint_eq(conf->listeners[1].transform->nsteps, 1);
	ck_assert_str_eq(config_transform_name(&conf->listeners[2]), "rot13");
	ck_assert_str_eq(config_transform_name(&conf->listeners[3]), "upper");
	config_unref(conf);
}
END_TEST

START_TEST(test_transform_errors)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"udp\"; port = 1; transform = ( ); },\n"
		      "  { protocol = \"udp\"; port = 2; transform = { shift = 3; }; },\n"
		      "  { protocol = \"udp\"; port = 3; transform = ( \"upper\", \"nope\" ); },\n"
		      "  { protocol = \"udp\"; port = 4; transform = { name = \"upper\"; x = 1; }; },\n"
		      "  { protocol = \"udp\"; port = 5; transform = ( ( \"upper\" ) ); },\n"
		      "  { protocol = \"udp\"; port = 6;\n"
		      "    transform = { name = \"upper\"; list = ( 1 ); }; }\n"
		      ");\n",
	    "@:2: listeners[0].transform: an empty list; leave transform out "
	    "for \"echo\"\n"
	    "@:3: listeners[1].transform: a transform with parameters needs "
	    "name = \"...\";\n"
	    "@:4: listeners[2].transform[1]: unknown transform \"nope\" "
	    "(known: echo, upper, rot13)\n"
	    "@:5: listeners[3].transform: upper: upper takes no parameters "
	    "(\"x\" given)\n"
	    "@:6: listeners[4].transform[0]: expected a transform's name, a "
	    "group { name = \"...\"; ... } or a list of those\n"
	    "@:8: listeners[5].transform.list: a parameter is an integer, true "
	    "or false, or a string\n");
}
END_TEST

START_TEST(test_framing)
{
	expect_errors("listeners = (\n"
		      "  { protocol = \"tcp\"; port = 1; framing = \"lines\"; },\n"
		      "  { protocol = \"udp\"; port = 2; framing = \"line\"; },\n"
		      "  { protocol = \"tcp\"; port = 3; max_line = 10; },\n"
		      "  { protocol = \"tcp\"; port = 4; framing = \"line\"; max_line = 0; }\n"
		      ");\n",
	    "@:2: listeners[0].framing: \"lines\" is neither \"stream\" nor "
	    "\"line\"\n"
	    "@:5: listeners[3].max_line: 0 is out of range (1-16777216)\n");
	expect_errors("listeners = (\n"
		      "  { protocol = \"udp\"; port = 2; framing = \"line\"; },\n"
		      "  { protocol = \"tcp\"; port = 3; max_line = 10; }\n"
		      ");\n",
	    "@:2: listeners[0].framing: udp takes each datagram as one "
	    "message; framing is for tcp\n"
	    "@:3: listeners[1].max_line: applies only with framing = "
	    "\"line\"\n");
}
END_TEST

START_TEST(test_log_length)
{
	expect_errors("listeners = ( { protocol = \"tcp\"; port = 1; "
		      "log_length = 1025; } );\n",
	    "@:1: listeners[0].log_length: 1025 is out of range (1-1024)\n");
}
END_TEST

START_TEST(test_modules)
{
	struct echod_config *conf = expect_ok(
	    "module_dir = \"" ECHOD_BUILT_MODULES "\";\n"
	    "modules = ( \"caesar.so\", \"" ECHOD_BUILT_MODULES "/reverse.so\" );\n"
	    "listeners = (\n"
	    "  { protocol = \"udp\"; port = 1;\n"
	    "    transform = ( \"reverse\", { name = \"caesar\"; shift = 1; } ); },\n"
	    "  { protocol = \"tcp\"; port = 1; framing = \"line\";\n"
	    "    transform = \"reverse\"; }\n"
	    ");\n");
	const struct transform_entry *e;

	ck_assert_str_eq(conf->module_dir, ECHOD_BUILT_MODULES);
	ck_assert_uint_eq(conf->transforms->nmodules, 2);
	e = transform_registry_find(conf->transforms, "caesar");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->module, ECHOD_BUILT_MODULES "/caesar.so");
	ck_assert_str_eq(config_transform_name(&conf->listeners[0]),
	    "reverse, caesar(shift=1)");
	ck_assert(conf->listeners[0].transform->message);
	config_unref(conf);
}
END_TEST

START_TEST(test_module_errors)
{
	/* Each refusal names the file, the line, the module and the reason. */
	expect_errors("module_dir = \"" ECHOD_TEST_MODULES "\";\n"
		      "modules = ( \"faulty_abi.so\",\n"
		      "  \"faulty_no_entry.so\", \"faulty_clash.so\",\n"
		      "  \"/nonexistent/x.so\", 7 );\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:2: modules[0]: " ECHOD_TEST_MODULES "/faulty_abi.so: built for "
	    "transform ABI 2; this echod has ABI 1 (rebuild the module against "
	    "its header)\n"
	    "@:3: modules[1]: " ECHOD_TEST_MODULES "/faulty_no_entry.so: no "
	    "entry point: the module defines no \"echod_module\" (write "
	    "ECHOD_MODULE(...) in it)\n"
	    "@:3: modules[2]: " ECHOD_TEST_MODULES "/faulty_clash.so: "
	    "transform \"upper\" is already defined as a built-in\n"
	    "@:4: modules[3]: /nonexistent/x.so: cannot open shared object "
	    "file: No such file or directory\n"
	    "@:4: modules[4]: expected a file name in double quotes\n");
	expect_errors("modules = \"caesar.so\";\n"
		      "listeners = ( { protocol = \"tcp\"; port = 1; } );\n",
	    "@:1: modules: expected a list of file names in parentheses\n");
}
END_TEST

START_TEST(test_module_transform_errors)
{
	expect_errors("module_dir = \"" ECHOD_BUILT_MODULES "\";\n"
		      "modules = ( \"caesar.so\", \"reverse.so\" );\n"
		      "listeners = (\n"
		      "  { protocol = \"udp\"; port = 1;\n"
		      "    transform = { name = \"caesar\"; shift = 30; }; },\n"
		      "  { protocol = \"udp\"; port = 2;\n"
		      "    transform = { name = \"caesar\"; shfit = 3; }; }\n"
		      ");\n",
	    "@:5: listeners[0].transform: caesar (" ECHOD_BUILT_MODULES
	    "/caesar.so): shift: expected a whole number from 0 to 25\n"
	    "@:7: listeners[1].transform: caesar (" ECHOD_BUILT_MODULES
	    "/caesar.so): unknown parameter \"shfit\" (caesar takes shift)\n");
	/* A message transform needs messages: not on a tcp stream. */
	expect_errors("module_dir = \"" ECHOD_BUILT_MODULES "\";\n"
		      "modules = ( \"reverse.so\" );\n"
		      "listeners = (\n"
		      "  { protocol = \"tcp\"; port = 3; transform = \"reverse\"; },\n"
		      "  { protocol = \"tcp\"; port = 4;\n"
		      "    transform = ( \"upper\", \"reverse\" ); },\n"
		      "  { protocol = \"udp\"; port = 4; transform = \"reverse\"; }\n"
		      ");\n",
	    "@:4: listeners[0].transform: reverse works on whole messages, "
	    "which a stream does not have; set framing = \"line\"\n"
	    "@:6: listeners[1].transform: reverse works on whole messages, "
	    "which a stream does not have; set framing = \"line\"\n");
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
	tcase_add_test(valid, test_guard_settings);
	tcase_add_test(invalid, test_guard_errors);
	suite_add_tcase(s, valid);

	tcase_add_test(invalid, test_missing_file);
	tcase_add_test(invalid, test_syntax_error);
	tcase_add_test(invalid, test_unknown_setting);
	tcase_add_test(invalid, test_unknown_top_setting);
	tcase_add_test(invalid, test_workers);
	tcase_add_test(invalid, test_operations);
	tcase_add_test(invalid, test_metrics);
	tcase_add_test(invalid, test_console);
	tcase_add_test(invalid, test_tls);
	tcase_add_test(invalid, test_proxy);
	tcase_add_test(valid, test_option_names);
	tcase_add_test(valid, test_man_page);
	tcase_add_test(invalid, test_wrong_types);
	tcase_add_test(invalid, test_more_wrong_types);
	tcase_add_test(invalid, test_port_range);
	tcase_add_test(invalid, test_unknown_transform);
	tcase_add_test(invalid, test_bad_protocol);
	tcase_add_test(invalid, test_missing_settings);
	tcase_add_test(invalid, test_duplicates);
	tcase_add_test(invalid, test_close_after_reply_udp);
	tcase_add_test(invalid, test_all_errors_at_once);
	tcase_add_test(valid, test_port_ranges);
	tcase_add_test(invalid, test_port_range_errors);
	tcase_add_test(invalid, test_same_port_errors);
	tcase_add_test(valid, test_transform_forms);
	tcase_add_test(invalid, test_transform_errors);
	tcase_add_test(invalid, test_framing);
	tcase_add_test(invalid, test_log_length);
	tcase_add_test(valid, test_modules);
	tcase_add_test(invalid, test_module_errors);
	tcase_add_test(invalid, test_module_transform_errors);
	suite_add_tcase(s, invalid);
	return s;
}
