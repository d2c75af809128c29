/*
 * config.c: reads echod.conf with libconfig into struct echod_config.
 *
 * Two passes.  The first walks each group against a table of the
 * settings it may hold (name, type, range, where the value goes), so
 * unknown names, wrong types and out-of-range numbers are all caught in
 * one place.  The second checks what involves several settings at once,
 * such as two listeners on the same socket.  Every problem is reported
 * as FILE:LINE: SETTING: reason, all of them in one run, and strings are
 * copied out before libconfig's tree is destroyed.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

#define container_of(ptr, type, member)                                \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct config_parser {
	const char *path;
	FILE *errors;		/* one line per problem */
	int nerrors;
};

/*
 * A setting a group may hold.  The value is type-checked against type
 * and, for integers, min and max; then parse, if set, turns it into the
 * field at offset, else it is stored there as is (int, bool or a copied
 * string).
 */
struct config_option {
	const char *name;
	int type; /* CONFIG_TYPE_INT, _BOOL, _STRING or _LIST */
	size_t offset;
	long long min, max;
	int required;
	void (*parse)(struct config_parser *, const config_setting_t *,
	    void *field);
};

static void parse_protocol(struct config_parser *, const config_setting_t *,
    void *);
static void parse_transform(struct config_parser *, const config_setting_t *,
    void *);
static void parse_listeners(struct config_parser *, const config_setting_t *,
    void *);

#define LISTENER_FIELD(f) offsetof(struct echod_listener_config, f)

static const struct config_option listener_options[] = {
	{ .name = "protocol", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(protocol), .required = 1,
	    .parse = parse_protocol },
	{ .name = "address", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(address) },
	{ .name = "port", .type = CONFIG_TYPE_INT,
	    .offset = LISTENER_FIELD(port), .min = 1, .max = 65535,
	    .required = 1 },
	{ .name = "transform", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(transform), .parse = parse_transform },
	{ .name = "close_after_reply", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(close_after_reply) },
	{ .name = "ipv6_only", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(ipv6_only) },
	{ .name = NULL },
};

static const struct config_option root_options[] = {
	{ .name = "listeners", .type = CONFIG_TYPE_LIST,
	    .offset = offsetof(struct echod_config, listeners), .required = 1,
	    .parse = parse_listeners },
	{ .name = NULL },
};

/* Every default of a listener, in one place. */
static int
config_listener_defaults(struct echod_listener_config *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->protocol = ECHOD_PROTO_TCP;
	lc->address = strdup("::");
	lc->port = 0; /* required */
	lc->transform = &transform_echo;
	lc->close_after_reply = false;
	lc->ipv6_only = false;
	return lc->address == NULL ? -1 : 0;
}

/* "listeners[1].port": where a setting sits in the file's tree. */
static size_t
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;
	int m;

	if (parent == NULL) {
		buf[0] = '\0';
		return 0;
	}
	n = setting_path(parent, buf, len);
	if (n >= len)
		return n;
	if (config_setting_name(s) != NULL)
		m = snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "",
		    config_setting_name(s));
	else
		m = snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
	return m < 0 ? len : n + m;
}

/* Report a problem with setting s; its file, line and path lead. */
static void __attribute__((format(printf, 3, 4)))
parser_error(struct config_parser *p, const config_setting_t *s,
    const char *fmt, ...)
{
	const char *file = config_setting_source_file(s);
	char where[256];
	va_list ap;

	fputs(file != NULL ? file : p->path, p->errors);
	/* The top of the file has neither a line nor a name. */
	if (config_setting_source_line(s) > 0)
		fprintf(p->errors, ":%d", config_setting_source_line(s));
	if (setting_path(s, where, sizeof(where)) > 0)
		fprintf(p->errors, ": %s", where);
	fputs(": ", p->errors);
	va_start(ap, fmt);
	vfprintf(p->errors, fmt, ap);
	va_end(ap);
	fputc('\n', p->errors);
	p->nerrors++;
}

static const char *
type_expected(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
		return "an integer";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_STRING:
		return "a string in double quotes";
	case CONFIG_TYPE_LIST:
		return "a list in parentheses";
	default:
		return "a group in braces";
	}
}

/* Check one setting against its option and store it into field. */
static void
parse_option(struct config_parser *p, const config_setting_t *s,
    const struct config_option *opt, void *field)
{
	int type = config_setting_type(s);
	long long v = 0;
	char *copy;

	if (type == CONFIG_TYPE_INT64)
		type = CONFIG_TYPE_INT;
	if (type != opt->type) {
		parser_error(p, s, "expected %s", type_expected(opt->type));
		return;
	}
	if (type == CONFIG_TYPE_INT) {
		v = config_setting_get_int64(s);
		if (v < opt->min || v > opt->max) {
			parser_error(p, s, "%lld is out of range (%lld-%lld)", v,
			    opt->min, opt->max);
			return;
		}
	}
	if (opt->parse != NULL) {
		opt->parse(p, s, field);
		return;
	}
	switch (type) {
	case CONFIG_TYPE_INT:
		*(int *)field = (int)v;
		break;
	case CONFIG_TYPE_BOOL:
		*(bool *)field = config_setting_get_bool(s) != 0;
		break;
	case CONFIG_TYPE_STRING:
		if (config_setting_get_string(s)[0] == '\0') {
			parser_error(p, s, "must not be empty");
			return;
		}
		if ((copy = strdup(config_setting_get_string(s))) == NULL) {
			parser_error(p, s, "out of memory");
			return;
		}
		free(*(char **)field);
		*(char **)field = copy;
		break;
	}
}

/* Fill base from group, following the table opts. */
static void
parse_group(struct config_parser *p, const config_setting_t *group,
    const struct config_option *opts, void *base)
{
	const struct config_option *opt;
	const config_setting_t *s;
	int i;

	for (i = 0; (s = config_setting_get_elem(group, i)) != NULL; i++) {
		for (opt = opts; opt->name != NULL; opt++)
			if (strcmp(opt->name, config_setting_name(s)) == 0)
				break;
		if (opt->name == NULL)
			parser_error(p, s, "unknown setting");
		else
			parse_option(p, s, opt, (char *)base + opt->offset);
	}
	for (opt = opts; opt->name != NULL; opt++)
		if (opt->required &&
		    config_setting_get_member(group, opt->name) == NULL)
			parser_error(p, group, "missing required setting \"%s\"",
			    opt->name);
}

static void
parse_protocol(struct config_parser *p, const config_setting_t *s,
    void *field)
{
	const char *text = config_setting_get_string(s);

	if (strcmp(text, "tcp") == 0)
		*(int *)field = ECHOD_PROTO_TCP;
	else if (strcmp(text, "udp") == 0)
		*(int *)field = ECHOD_PROTO_UDP;
	else
		parser_error(p, s, "\"%s\" is neither \"tcp\" nor \"udp\"", text);
}

static void
parse_transform(struct config_parser *p, const config_setting_t *s,
    void *field)
{
	const char *text = config_setting_get_string(s);
	const struct echod_transform *t;
	char known[256];
	size_t i, n = 0;

	if ((t = transform_find(text)) != NULL) {
		*(const struct echod_transform **)field = t;
		return;
	}
	known[0] = '\0';
	for (i = 0; (t = transform_at(i)) != NULL && n < sizeof(known); i++)
		n += snprintf(known + n, sizeof(known) - n, "%s%s",
		    i > 0 ? ", " : "", t->name);
	parser_error(p, s, "unknown transform \"%s\" (known: %s)", text, known);
}

static void
parse_listeners(struct config_parser *p, const config_setting_t *list,
    void *field)
{
	struct echod_config *conf =
	    container_of(field, struct echod_config, listeners);
	const config_setting_t *s;
	size_t i, n = (size_t)config_setting_length(list);

	if (n == 0) {
		parser_error(p, list, "no listeners defined");
		return;
	}
	if ((conf->listeners = calloc(n, sizeof(*conf->listeners))) == NULL) {
		parser_error(p, list, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, i);
		if (config_listener_defaults(&conf->listeners[i]) == -1) {
			parser_error(p, s, "out of memory");
			return;
		}
		conf->nlisteners++;
		conf->listeners[i].line = config_setting_source_line(s);
		if (!config_setting_is_group(s)) {
			parser_error(p, s, "expected a group in braces");
			continue;
		}
		parse_group(p, s, listener_options, &conf->listeners[i]);
	}
}

/* Same host, textually or, for numeric addresses, in binary. */
static bool
same_address(const char *a, const char *b)
{
	unsigned char ba[16], bb[16];

	if (inet_pton(AF_INET6, a, ba) == 1 && inet_pton(AF_INET6, b, bb) == 1)
		return memcmp(ba, bb, 16) == 0;
	if (inet_pton(AF_INET, a, ba) == 1 && inet_pton(AF_INET, b, bb) == 1)
		return memcmp(ba, bb, 4) == 0;
	return strcasecmp(a, b) == 0;
}

/* Second pass: what no single setting shows. */
static void
config_validate(struct config_parser *p, const config_setting_t *list,
    const struct echod_config *conf)
{
	const struct echod_listener_config *a, *b;
	const config_setting_t *s;
	size_t i, j;

	for (i = 0; i < conf->nlisteners; i++) {
		a = &conf->listeners[i];
		s = config_setting_get_elem(list, i);
		if (a->close_after_reply && a->protocol != ECHOD_PROTO_TCP)
			parser_error(p, config_setting_get_member(s,
			    "close_after_reply"), "only tcp listeners close");
		for (j = 0; j < i; j++) {
			b = &conf->listeners[j];
			if (a->protocol == b->protocol && a->port == b->port &&
			    same_address(a->address, b->address))
				parser_error(p, s, "same protocol, address and "
				    "port as listeners[%zu] at line %d", j,
				    b->line);
		}
	}
}

/* Parse an open libconfig tree into conf, both passes. */
static void
config_parse(struct config_parser *p, config_t *cf, struct echod_config *conf)
{
	parse_group(p, config_root_setting(cf), root_options, conf);
	if (p->nerrors == 0)
		config_validate(p, config_lookup(cf, "listeners"), conf);
}

struct echod_config *
config_load(const char *path, char **errors)
{
	struct config_parser p = { .path = path };
	struct echod_config *conf = NULL;
	char *dir = NULL, *err_text = NULL;
	size_t err_len;
	config_t cf;
	FILE *fp;

	*errors = NULL;
	if ((p.errors = open_memstream(&err_text, &err_len)) == NULL)
		return NULL;
	config_init(&cf);
	if ((conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(path)) == NULL ||
	    (dir = strdup(path)) == NULL) {
		fprintf(p.errors, "%s: out of memory\n", path);
		p.nerrors++;
		goto done;
	}
	/* @include names are relative to the config's own directory. */
	config_set_include_dir(&cf, dirname(dir));
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(p.errors, "%s: %s\n", path, strerror(errno));
		p.nerrors++;
		goto done;
	}
	if (config_read(&cf, fp) == CONFIG_FALSE) {
		fprintf(p.errors, "%s:%d: %s\n",
		    config_error_file(&cf) != NULL ? config_error_file(&cf) : path,
		    config_error_line(&cf), config_error_text(&cf));
		p.nerrors++;
	} else
		config_parse(&p, &cf, conf);
	fclose(fp);
done:
	config_destroy(&cf);
	free(dir);
	fclose(p.errors);
	if (p.nerrors == 0) {
		free(err_text);
		return conf;
	}
	config_free(conf);
	*errors = err_text;
	return NULL;
}

void
config_free(struct echod_config *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nlisteners; i++)
		free(conf->listeners[i].address);
	free(conf->listeners);
	free(conf->path);
	free(conf);
}

const char *
config_protocol_name(int protocol)
{
	return protocol == ECHOD_PROTO_UDP ? "udp" : "tcp";
}

char *
config_listener_name(const struct echod_listener_config *lc, char *buf,
    size_t len)
{
	char hostport[ECHOD_ADDRSTRLEN + 8];

	snprintf(buf, len, "%s %s", config_protocol_name(lc->protocol),
	    hostport_format(lc->address, lc->port, hostport, sizeof(hostport)));
	return buf;
}
