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
#include <grp.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "ring.h"
#include "tls.h"
#include "util.h"

#define container_of(ptr, type, member)                                \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct config_parser {
	const char *path;
	struct echod_config *conf; /* being filled */
	FILE *errors;		   /* one line per problem */
	int nerrors;
};

/*
 * A setting a group may hold.  The value is type-checked against type
 * and, for integers, min and max; then parse, if set, turns it into the
 * field at offset, else it is stored there as is (int, bool or a copied
 * string).  Settings are taken in the table's order, whatever the
 * file's, so that modules are loaded before the listeners that name
 * their transforms.
 */
struct config_option {
	const char *name;
	int type; /* CONFIG_TYPE_INT, _BOOL, _STRING, _LIST; _NONE: parse checks */
	size_t offset;
	long long min, max;
	int required;
	void (*parse)(struct config_parser *, const config_setting_t *,
	    void *field);
};

static void parse_protocol(struct config_parser *, const config_setting_t *,
    void *);
static void parse_port(struct config_parser *, const config_setting_t *,
    void *);
static void parse_framing(struct config_parser *, const config_setting_t *,
    void *);
static void parse_transform(struct config_parser *, const config_setting_t *,
    void *);
static void parse_modules(struct config_parser *, const config_setting_t *,
    void *);
static void parse_listeners(struct config_parser *, const config_setting_t *,
    void *);
static void parse_acl(struct config_parser *, const config_setting_t *,
    void *);
static void parse_ignore_ports(struct config_parser *,
    const config_setting_t *, void *);
static void parse_metrics(struct config_parser *, const config_setting_t *,
    void *);
static void parse_console(struct config_parser *, const config_setting_t *,
    void *);
static void parse_log_level(struct config_parser *, const config_setting_t *,
    void *);
static void parse_tls(struct config_parser *, const config_setting_t *,
    void *);

/* The limits, at the top level (defaults) and in a listener alike. */
#define LIMIT_OPTIONS(FIELD)                                           \
	{ .name = "max_connections", .type = CONFIG_TYPE_INT,          \
	    .offset = FIELD(limits.max_connections),                   \
	    .max = ECHOD_COUNT_LIMIT },                                \
	{ .name = "max_connections_per_ip", .type = CONFIG_TYPE_INT,   \
	    .offset = FIELD(limits.max_connections_per_ip),            \
	    .max = ECHOD_COUNT_LIMIT },                                \
	{ .name = "idle_timeout", .type = CONFIG_TYPE_INT,             \
	    .offset = FIELD(limits.idle_timeout),                      \
	    .max = ECHOD_IDLE_LIMIT },                                 \
	{ .name = "max_pending", .type = CONFIG_TYPE_INT,              \
	    .offset = FIELD(limits.max_pending), .min = 1,             \
	    .max = ECHOD_PENDING_LIMIT },                              \
	{ .name = "log_rate", .type = CONFIG_TYPE_INT,                 \
	    .offset = FIELD(limits.log_rate),                          \
	    .max = ECHOD_COUNT_LIMIT },                                \
	{ .name = "log_burst", .type = CONFIG_TYPE_INT,                \
	    .offset = FIELD(limits.log_burst), .min = 1,               \
	    .max = ECHOD_COUNT_LIMIT }

#define LISTENER_FIELD(f) offsetof(struct echod_listener_config, f)

static const struct config_option listener_options[] = {
	{ .name = "protocol", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(protocol), .required = 1,
	    .parse = parse_protocol },
	{ .name = "address", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(address) },
	{ .name = "port", .type = CONFIG_TYPE_NONE,
	    .offset = LISTENER_FIELD(port_min), .required = 1,
	    .parse = parse_port },
	{ .name = "same_port", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(same_port) },
	{ .name = "transform", .type = CONFIG_TYPE_NONE,
	    .offset = LISTENER_FIELD(transform), .parse = parse_transform },
	{ .name = "framing", .type = CONFIG_TYPE_STRING,
	    .offset = LISTENER_FIELD(framing), .parse = parse_framing },
	{ .name = "max_line", .type = CONFIG_TYPE_INT,
	    .offset = LISTENER_FIELD(max_line), .min = 1,
	    .max = ECHOD_MAX_LINE_LIMIT },
	{ .name = "close_after_reply", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(close_after_reply) },
	{ .name = "ipv6_only", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(ipv6_only) },
	{ .name = "log_messages", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(log_messages) },
	{ .name = "log_length", .type = CONFIG_TYPE_INT,
	    .offset = LISTENER_FIELD(log_length), .min = 1,
	    .max = ECHOD_LOG_LENGTH_LIMIT },
	LIMIT_OPTIONS(LISTENER_FIELD),
	{ .name = "allow", .type = CONFIG_TYPE_NONE,
	    .offset = LISTENER_FIELD(acl.allow), .parse = parse_acl },
	{ .name = "deny", .type = CONFIG_TYPE_NONE,
	    .offset = LISTENER_FIELD(acl.deny), .parse = parse_acl },
	{ .name = "tls", .type = CONFIG_TYPE_GROUP,
	    .offset = LISTENER_FIELD(tls), .parse = parse_tls },
	{ .name = "proxy_protocol", .type = CONFIG_TYPE_BOOL,
	    .offset = LISTENER_FIELD(proxy_protocol) },
	{ .name = "proxy_from", .type = CONFIG_TYPE_NONE,
	    .offset = LISTENER_FIELD(proxy_from), .parse = parse_acl },
	{ .name = NULL },
};

#define TLS_FIELD(f) offsetof(struct echod_tls_config, f)

static const struct config_option tls_options[] = {
	{ .name = "certificate", .type = CONFIG_TYPE_STRING,
	    .offset = TLS_FIELD(certificate), .required = 1 },
	{ .name = "key", .type = CONFIG_TYPE_STRING,
	    .offset = TLS_FIELD(key), .required = 1 },
	{ .name = "handshake_timeout", .type = CONFIG_TYPE_INT,
	    .offset = TLS_FIELD(handshake_timeout), .min = 1,
	    .max = ECHOD_HANDSHAKE_LIMIT },
	{ .name = "keylog", .type = CONFIG_TYPE_STRING,
	    .offset = TLS_FIELD(keylog) },
	{ .name = NULL },
};

#define METRICS_FIELD(f) offsetof(struct echod_metrics_config, f)

static const struct config_option metrics_options[] = {
	{ .name = "address", .type = CONFIG_TYPE_STRING,
	    .offset = METRICS_FIELD(address) },
	{ .name = "port", .type = CONFIG_TYPE_INT,
	    .offset = METRICS_FIELD(port), .required = 1, .min = 1,
	    .max = 65535 },
	{ .name = "allow", .type = CONFIG_TYPE_NONE,
	    .offset = METRICS_FIELD(acl.allow), .parse = parse_acl },
	{ .name = "deny", .type = CONFIG_TYPE_NONE,
	    .offset = METRICS_FIELD(acl.deny), .parse = parse_acl },
	{ .name = NULL },
};

#define CONSOLE_FIELD(f) offsetof(struct echod_console_config, f)

static const struct config_option console_options[] = {
	{ .name = "address", .type = CONFIG_TYPE_STRING,
	    .offset = CONSOLE_FIELD(address) },
	{ .name = "port", .type = CONFIG_TYPE_INT,
	    .offset = CONSOLE_FIELD(port), .required = 1, .min = 1,
	    .max = 65535 },
	{ .name = "allow", .type = CONFIG_TYPE_NONE,
	    .offset = CONSOLE_FIELD(acl.allow), .parse = parse_acl },
	{ .name = "deny", .type = CONFIG_TYPE_NONE,
	    .offset = CONSOLE_FIELD(acl.deny), .parse = parse_acl },
	{ .name = "instructors", .type = CONFIG_TYPE_NONE,
	    .offset = CONSOLE_FIELD(instructors), .parse = parse_acl },
	{ .name = "max_viewers", .type = CONFIG_TYPE_INT,
	    .offset = CONSOLE_FIELD(max_viewers), .min = 1,
	    .max = ECHOD_COUNT_LIMIT },
	{ .name = "max_viewers_per_ip", .type = CONFIG_TYPE_INT,
	    .offset = CONSOLE_FIELD(max_viewers_per_ip), .min = 1,
	    .max = ECHOD_COUNT_LIMIT },
	{ .name = "history", .type = CONFIG_TYPE_INT,
	    .offset = CONSOLE_FIELD(history), .min = 1,
	    .max = RING_HISTORY_LIMIT },
	{ .name = NULL },
};

#define CONFIG_FIELD(f) offsetof(struct echod_config, f)

static const struct config_option root_options[] = {
	{ .name = "workers", .type = CONFIG_TYPE_INT,
	    .offset = CONFIG_FIELD(workers), .min = 1,
	    .max = ECHOD_WORKERS_LIMIT },
	{ .name = "module_dir", .type = CONFIG_TYPE_STRING,
	    .offset = CONFIG_FIELD(module_dir) },
	{ .name = "modules", .type = CONFIG_TYPE_NONE,
	    .offset = CONFIG_FIELD(transforms), .parse = parse_modules },
	{ .name = "user", .type = CONFIG_TYPE_STRING,
	    .offset = CONFIG_FIELD(user) },
	{ .name = "group", .type = CONFIG_TYPE_STRING,
	    .offset = CONFIG_FIELD(group) },
	{ .name = "udp_rate", .type = CONFIG_TYPE_INT,
	    .offset = CONFIG_FIELD(udp_rate), .max = ECHOD_COUNT_LIMIT },
	{ .name = "udp_burst", .type = CONFIG_TYPE_INT,
	    .offset = CONFIG_FIELD(udp_burst), .min = 1,
	    .max = ECHOD_COUNT_LIMIT },
	{ .name = "ipv6_prefix", .type = CONFIG_TYPE_INT,
	    .offset = CONFIG_FIELD(ipv6_prefix), .min = 1, .max = 128 },
	{ .name = "udp_ignore_ports", .type = CONFIG_TYPE_NONE,
	    .offset = CONFIG_FIELD(udp_ignore), .parse = parse_ignore_ports },
	{ .name = "shutdown_timeout", .type = CONFIG_TYPE_INT,
	    .offset = CONFIG_FIELD(shutdown_timeout),
	    .max = ECHOD_SHUTDOWN_LIMIT },
	{ .name = "log_level", .type = CONFIG_TYPE_STRING,
	    .offset = CONFIG_FIELD(log_level), .parse = parse_log_level },
	{ .name = "metrics", .type = CONFIG_TYPE_GROUP,
	    .offset = CONFIG_FIELD(metrics), .parse = parse_metrics },
	{ .name = "console", .type = CONFIG_TYPE_GROUP,
	    .offset = CONFIG_FIELD(console), .parse = parse_console },
	/* Before the listeners, which take them as their defaults. */
	LIMIT_OPTIONS(CONFIG_FIELD),
	{ .name = "listeners", .type = CONFIG_TYPE_LIST,
	    .offset = CONFIG_FIELD(listeners), .required = 1,
	    .parse = parse_listeners },
	{ .name = NULL },
};

/* Every default of a listener, in one place; its limits are the top
 * level's. */
static int
config_listener_defaults(const struct echod_config *conf,
    struct echod_listener_config *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->config = (struct echod_config *)conf;
	lc->protocol = ECHOD_PROTO_TCP;
	lc->address = strdup("::");
	lc->port_min = lc->port_max = 0; /* required */
	lc->same_port = false;
	lc->transform = transform_chain_new(); /* empty: echo */
	lc->framing = ECHOD_FRAMING_STREAM;
	lc->max_line = 64 * 1024;
	lc->close_after_reply = false;
	lc->ipv6_only = false;
	lc->log_messages = false;
	lc->log_length = 200;
	lc->limits = conf->limits;
	return lc->address == NULL || lc->transform == NULL ? -1 : 0;
}

/* Every default of the file's top level, in one place. */
static int
config_defaults(struct echod_config *conf)
{
	unsigned int port;

	conf->refs = 1;
	conf->workers = 0; /* one per online CPU, counted at start-up */
	conf->module_dir = strdup(ECHOD_MODULE_DIR);
	conf->transforms = transform_registry_new();
	/* As nginx does; "nogroup" is Debian's name for nobody's group. */
	conf->user = strdup("nobody");
	conf->group = strdup("nogroup");
	conf->limits.max_connections = 4096;
	conf->limits.max_connections_per_ip = 256;
	conf->limits.idle_timeout = 300; /* a student typing, thinking */
	conf->limits.max_pending = 256 * 1024;
	/* A class's messages, not one client's flood, in the journal. */
	conf->limits.log_rate = 20;
	conf->limits.log_burst = 40;
	conf->udp_rate = 100;
	conf->udp_burst = 200;
	conf->ipv6_prefix = 64; /* what one IPv6 host usually holds */
	conf->shutdown_timeout = 10;
	conf->log_level = ECHOD_LOG_INFO;
	conf->metrics.address = strdup("127.0.0.1"); /* loopback only */
	conf->console.address = strdup("127.0.0.1");
	conf->console.max_viewers = 1000;    /* a class's tabs, and more */
	conf->console.max_viewers_per_ip = 16; /* a browser opens 6 */
	conf->console.history = 1000;
	/* The reserved ports (OpenBSD's inetd drops them too): echo,
	 * chargen, daytime, DNS, NTP and friends, which answer anything. */
	for (port = 0; port < 1024; port++)
		conf->udp_ignore[port / 64] |= UINT64_C(1) << (port % 64);
	return conf->module_dir == NULL || conf->transforms == NULL ||
	    conf->user == NULL || conf->group == NULL ||
	    conf->metrics.address == NULL || conf->console.address == NULL ?
	    -1 : 0;
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

/* "FILE:LINE: PATH", where setting s is: what leads a message on it.
 * The top of the file has neither a line nor a name. */
static char *
setting_lead(const struct config_parser *p, const config_setting_t *s,
    char *buf, size_t len)
{
	const char *file = config_setting_source_file(s);
	char where[256];
	size_t n;

	n = (size_t)snprintf(buf, len, "%s", file != NULL ? file : p->path);
	if (n < len && config_setting_source_line(s) > 0)
		n += (size_t)snprintf(buf + n, len - n, ":%d",
		    config_setting_source_line(s));
	if (n < len && setting_path(s, where, sizeof(where)) > 0)
		snprintf(buf + n, len - n, ": %s", where);
	return buf;
}

/* Report a problem with setting s; its file, line and path lead. */
static void __attribute__((format(printf, 3, 4)))
parser_error(struct config_parser *p, const config_setting_t *s,
    const char *fmt, ...)
{
	char lead[PATH_MAX + 300];
	va_list ap;

	fprintf(p->errors, "%s: ", setting_lead(p, s, lead, sizeof(lead)));
	va_start(ap, fmt);
	vfprintf(p->errors, fmt, ap);
	va_end(ap);
	fputc('\n', p->errors);
	p->nerrors++;
}

/* A warning about setting s, led as an error is: it goes to the log,
 * and the file loads all the same. */
static void __attribute__((format(printf, 3, 4)))
parser_warning(struct config_parser *p, const config_setting_t *s,
    const char *fmt, ...)
{
	char lead[PATH_MAX + 300], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", setting_lead(p, s, lead, sizeof(lead)), msg);
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
	if (opt->type != CONFIG_TYPE_NONE && type != opt->type) {
		parser_error(p, s, "expected %s", type_expected(opt->type));
		return;
	}
	if (opt->type == CONFIG_TYPE_INT) {
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

/* Fill base from group, following the table opts in its order. */
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
	}
	for (opt = opts; opt->name != NULL; opt++) {
		if ((s = config_setting_get_member(group, opt->name)) != NULL)
			parse_option(p, s, opt, (char *)base + opt->offset);
		else if (opt->required)
			parser_error(p, group, "missing required setting \"%s\"",
			    opt->name);
	}
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

/* A port number, from an integer or a string of digits; -1 if not. */
static long
port_number(const char *text, const char **end)
{
	char *e;
	long v;

	if (*text < '0' || *text > '9')
		return -1;
	v = strtol(text, &e, 10);
	*end = e;
	return v >= 1 && v <= 65535 && e - text <= 5 ? v : -1;
}

/* port = 12000, "12000" or "22400-22499". */
static void
parse_port(struct config_parser *p, const config_setting_t *s, void *field)
{
	struct echod_listener_config *lc =
	    container_of(field, struct echod_listener_config, port_min);
	const char *text, *end;
	long long v;
	long lo, hi;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		if (v < 1 || v > 65535) {
			parser_error(p, s, "%lld is out of range (1-65535)", v);
			return;
		}
		lc->port_min = lc->port_max = (int)v;
		return;
	case CONFIG_TYPE_STRING:
		text = config_setting_get_string(s);
		if ((lo = port_number(text, &end)) == -1)
			break;
		hi = lo;
		if (*end == '-' && (hi = port_number(end + 1, &end)) == -1)
			break;
		if (*end != '\0' || hi < lo)
			break;
		lc->port_min = (int)lo;
		lc->port_max = (int)hi;
		return;
	default:
		parser_error(p, s, "expected a port number or a range in "
		    "double quotes (\"22400-22499\")");
		return;
	}
	parser_error(p, s, "\"%s\" is neither a port nor a range of ports "
	    "(LOW-HIGH, 1-65535, LOW <= HIGH)", text);
}

static void
parse_framing(struct config_parser *p, const config_setting_t *s,
    void *field)
{
	const char *text = config_setting_get_string(s);

	if (strcmp(text, "stream") == 0)
		*(int *)field = ECHOD_FRAMING_STREAM;
	else if (strcmp(text, "line") == 0)
		*(int *)field = ECHOD_FRAMING_LINE;
	else
		parser_error(p, s, "\"%s\" is neither \"stream\" nor \"line\"",
		    text);
}

/* One parameter of a transform group, in libconfig's terms. */
static int
transform_param(struct config_parser *p, const config_setting_t *s,
    struct echod_param *param)
{
	param->name = config_setting_name(s);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		param->type = ECHOD_PARAM_INT;
		param->number = config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_BOOL:
		param->type = ECHOD_PARAM_BOOL;
		param->number = config_setting_get_bool(s) != 0;
		return 0;
	case CONFIG_TYPE_STRING:
		param->type = ECHOD_PARAM_STRING;
		param->string = config_setting_get_string(s);
		return 0;
	default:
		parser_error(p, s, "a parameter is an integer, true or false, "
		    "or a string");
		return -1;
	}
}

/* Add one step, "name" or { name = "..."; params... }, to chain. */
static void
parse_transform_step(struct config_parser *p, const config_setting_t *s,
    struct transform_chain *chain)
{
	const struct transform_entry *e;
	const config_setting_t *m, *name_setting;
	struct echod_param *params = NULL;
	const char *name;
	char known[256], err[256];
	int i, n = 0;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		name = config_setting_get_string(s);
	else if (config_setting_is_group(s)) {
		name_setting = config_setting_get_member(s, "name");
		if (name_setting == NULL ||
		    config_setting_type(name_setting) != CONFIG_TYPE_STRING) {
			parser_error(p, s, "a transform with parameters needs "
			    "name = \"...\";");
			return;
		}
		name = config_setting_get_string(name_setting);
		params = calloc(config_setting_length(s), sizeof(*params));
		if (params == NULL) {
			parser_error(p, s, "out of memory");
			return;
		}
		for (i = 0; (m = config_setting_get_elem(s, i)) != NULL; i++)
			if (m != name_setting &&
			    transform_param(p, m, &params[n++]) == -1)
				goto done;
	} else {
		parser_error(p, s, "expected a transform's name, a group "
		    "{ name = \"...\"; ... } or a list of those");
		return;
	}
	if ((e = transform_registry_find(p->conf->transforms, name)) == NULL) {
		transform_registry_names(p->conf->transforms, known,
		    sizeof(known));
		parser_error(p, s, "unknown transform \"%s\" (known: %s)", name,
		    known);
	} else if (transform_chain_add(chain, e, params, n, err,
	    sizeof(err)) == -1) {
		if (e->module != NULL)
			parser_error(p, s, "%s (%s): %s", name, e->module, err);
		else
			parser_error(p, s, "%s: %s", name, err);
	}
done:
	free(params);
}

/* transform = "upper", { name = ...; }, or a list of those. */
static void
parse_transform(struct config_parser *p, const config_setting_t *s,
    void *field)
{
	struct transform_chain *chain = *(struct transform_chain **)field;
	const config_setting_t *step;
	int i;

	if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
		parse_transform_step(p, s, chain);
		return;
	}
	if (config_setting_length(s) == 0)
		parser_error(p, s, "an empty list; leave transform out for "
		    "\"echo\"");
	for (i = 0; (step = config_setting_get_elem(s, i)) != NULL; i++)
		parse_transform_step(p, step, chain);
}

/* modules = ( "caesar.so", "/abs/path/x.so" ): load each, in order. */
static void
parse_modules(struct config_parser *p, const config_setting_t *list,
    void *field)
{
	struct transform_registry *reg = *(struct transform_registry **)field;
	const config_setting_t *s;
	const char *name;
	char *path, err[512];
	int i;

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		parser_error(p, list, "expected a list of file names in "
		    "parentheses");
		return;
	}
	for (i = 0; (s = config_setting_get_elem(list, i)) != NULL; i++) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING ||
		    (name = config_setting_get_string(s))[0] == '\0') {
			parser_error(p, s, "expected a file name in double "
			    "quotes");
			continue;
		}
		if (name[0] == '/')
			path = strdup(name);
		else if (asprintf(&path, "%s/%s", p->conf->module_dir,
		    name) == -1)
			path = NULL;
		if (path == NULL) {
			parser_error(p, s, "out of memory");
			continue;
		}
		if (transform_registry_load(reg, path, err, sizeof(err)) == -1)
			parser_error(p, s, "%s: %s", path, err);
		free(path);
	}
}

/* allow or deny = ( "10.0.0.0/8", "::1" ): prefixes, any order. */
static void
parse_acl(struct config_parser *p, const config_setting_t *list, void *field)
{
	struct acl_list *acl = field;
	const config_setting_t *s;
	char err[256];
	int i, n;

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		parser_error(p, list, "expected a list of addresses or "
		    "prefixes in parentheses, such as ( \"10.0.0.0/8\" )");
		return;
	}
	n = config_setting_length(list);
	if (n > 0 && (acl->prefixes = calloc(n, sizeof(*acl->prefixes))) ==
	    NULL) {
		parser_error(p, list, "out of memory");
		return;
	}
	for (i = 0; (s = config_setting_get_elem(list, i)) != NULL; i++) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			parser_error(p, s, "expected an address or a prefix in "
			    "double quotes");
		else if (acl_prefix_parse(config_setting_get_string(s),
		    &acl->prefixes[acl->n], err, sizeof(err)) == -1)
			parser_error(p, s, "%s", err);
		else
			acl->n++;
	}
}

/* udp_ignore_ports = ( 2049, 11211 ): added to the ports below 1024. */
static void
parse_ignore_ports(struct config_parser *p, const config_setting_t *list,
    void *field)
{
	uint64_t *bits = field;
	const config_setting_t *s;
	long long port;
	int i;

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		parser_error(p, list, "expected a list of port numbers in "
		    "parentheses");
		return;
	}
	for (i = 0; (s = config_setting_get_elem(list, i)) != NULL; i++) {
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64) {
			parser_error(p, s, "expected a port number");
			continue;
		}
		port = config_setting_get_int64(s);
		if (port < 1 || port > 65535) {
			parser_error(p, s, "%lld is out of range (1-65535)", port);
			continue;
		}
		bits[port / 64] |= UINT64_C(1) << (port % 64);
	}
}

static void
parse_log_level(struct config_parser *p, const config_setting_t *s,
    void *field)
{
	int level = log_level_parse(config_setting_get_string(s));

	if (level == -1)
		parser_error(p, s, "\"%s\" is none of \"error\", \"warning\", "
		    "\"info\" and \"debug\"", config_setting_get_string(s));
	else
		*(int *)field = level;
}

/*
 * An HTTP listener's group (metrics, console), read with opts where echod
 * can serve HTTP at all, its *address numeric, so that which interfaces
 * can reach it is plain in the file.  False if it was not read.
 */
static bool
parse_http_group(struct config_parser *p, const config_setting_t *group,
    const struct config_option *opts, void *field, char *const *address)
{
	union sockaddr_any sa;
	const char *why;

	if (!http_available(&why)) {
		parser_error(p, group, "%s: no HTTP listener can serve it", why);
		return false;
	}
	parse_group(p, group, opts, field);
	if (addr_numeric(*address, 0, &sa) == 0)
		parser_error(p, config_setting_get_member(group, "address"),
		    "\"%s\" is not a numeric IPv4 or IPv6 address", *address);
	return true;
}

/* metrics = { port = 9464; }. */
static void
parse_metrics(struct config_parser *p, const config_setting_t *group,
    void *field)
{
	struct echod_metrics_config *m = field;

	(void)parse_http_group(p, group, metrics_options, m, &m->address);
}

/* console = { port = 8080; }: and the instructors are loopback unless
 * the group names them. */
static void
parse_console(struct config_parser *p, const config_setting_t *group,
    void *field)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1" };
	struct echod_console_config *c = field;
	char err[64];
	size_t i;

	if (!parse_http_group(p, group, console_options, c, &c->address))
		return;
	if (config_setting_get_member(group, "instructors") != NULL)
		return;
	if ((c->instructors.prefixes = calloc(2,
	    sizeof(*c->instructors.prefixes))) == NULL) {
		parser_error(p, group, "out of memory");
		return;
	}
	for (i = 0; i < 2; i++)
		if (acl_prefix_parse(loopback[i],
		    &c->instructors.prefixes[c->instructors.n], err,
		    sizeof(err)) == 0)
			c->instructors.n++;
}

/* tls = { certificate = "..."; key = "..."; }: read here, and made
 * into a context once the user echod runs as is known (config_tls). */
static void
parse_tls(struct config_parser *p, const config_setting_t *group, void *field)
{
	static const char *const paths[] = { "certificate", "key", "keylog" };
	struct echod_tls_config **tls = field, *tc;
	const config_setting_t *s;
	const char *why;
	size_t i;

	if (!tls_available(&why)) {
		parser_error(p, group, "%s: no listener can serve TLS", why);
		return;
	}
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		parser_error(p, group, "out of memory");
		return;
	}
	*tls = tc;
	tc->handshake_timeout = 10;
	parse_group(p, group, tls_options, tc);
	/* Not relative to wherever echod was started from. */
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if ((s = config_setting_get_member(group, paths[i])) != NULL &&
		    config_setting_type(s) == CONFIG_TYPE_STRING &&
		    config_setting_get_string(s)[0] != '/')
			parser_error(p, s, "\"%s\" is not an absolute path",
			    config_setting_get_string(s));
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
		conf->nlisteners++; /* from here config_unref frees it */
		if (config_listener_defaults(conf, &conf->listeners[i]) == -1) {
			parser_error(p, s, "out of memory");
			return;
		}
		conf->listeners[i].line = config_setting_source_line(s);
		if (!config_setting_is_group(s)) {
			parser_error(p, s, "expected a group in braces");
			continue;
		}
		parse_group(p, s, listener_options, &conf->listeners[i]);
		conf->listeners[i].idle.tv_sec =
		    conf->listeners[i].limits.idle_timeout;
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

/* Do a and b ask for the same socket? */
static bool
same_socket(const struct echod_listener_config *a,
    const struct echod_listener_config *b)
{
	/* A range picks around what is taken, so only fixed ports clash. */
	return a->protocol == b->protocol && !config_port_is_range(a) &&
	    !config_port_is_range(b) && a->port_min == b->port_min &&
	    same_address(a->address, b->address);
}

bool
config_same_bind(const struct echod_listener_config *a,
    const struct echod_listener_config *b)
{
	return a->protocol == b->protocol && a->port_min == b->port_min &&
	    a->port_max == b->port_max && a->same_port == b->same_port &&
	    a->ipv6_only == b->ipv6_only && same_address(a->address, b->address);
}

bool
config_same_pick(const struct echod_listener_config *a,
    const struct echod_listener_config *b)
{
	return a->same_port && b->same_port && a->port_min == b->port_min &&
	    a->port_max == b->port_max;
}

/* Does another listener share a's pick of a port? */
static bool
has_same_port_partner(const struct echod_config *conf,
    const struct echod_listener_config *a)
{
	size_t i;

	for (i = 0; i < conf->nlisteners; i++)
		if (&conf->listeners[i] != a &&
		    config_same_pick(a, &conf->listeners[i]))
			return true;
	return false;
}

/* Second pass: settings that only make sense together. */
static void
validate_listener(struct config_parser *p, const config_setting_t *s,
    const struct echod_config *conf, const struct echod_listener_config *a)
{
	bool tcp = a->protocol == ECHOD_PROTO_TCP;

#define MEMBER(name) config_setting_get_member(s, name)
	static const char *const tcp_only[] = { "max_connections",
		"max_connections_per_ip", "idle_timeout", "max_pending" };
	size_t i;

	for (i = 0; i < sizeof(tcp_only) / sizeof(tcp_only[0]); i++)
		if (!tcp && MEMBER(tcp_only[i]) != NULL)
			parser_error(p, MEMBER(tcp_only[i]), "applies only to "
			    "tcp listeners");
	if (MEMBER("tls") != NULL && !tcp)
		parser_error(p, MEMBER("tls"), "TLS is for tcp listeners");
	if (a->proxy_protocol && a->proxy_from.n == 0)
		parser_error(p, MEMBER("proxy_protocol"), "needs proxy_from: "
		    "the balancers' addresses, the only ones whose headers "
		    "are believed");
	if (!a->proxy_protocol && MEMBER("proxy_from") != NULL)
		parser_error(p, MEMBER("proxy_from"), "applies only with "
		    "proxy_protocol = true");
	if (a->close_after_reply && !tcp)
		parser_error(p, MEMBER("close_after_reply"),
		    "only tcp listeners close");
	if (MEMBER("framing") != NULL && !tcp)
		parser_error(p, MEMBER("framing"), "udp takes each datagram as "
		    "one message; framing is for tcp");
	if (MEMBER("max_line") != NULL && a->framing != ECHOD_FRAMING_LINE)
		parser_error(p, MEMBER("max_line"), "applies only with "
		    "framing = \"line\"");
	if (tcp && a->framing == ECHOD_FRAMING_STREAM &&
	    a->transform->message != NULL)
		parser_error(p, MEMBER("transform"), "%s works on whole "
		    "messages, which a stream does not have; set framing = "
		    "\"line\"", a->transform->message->name);
	if (a->same_port && !config_port_is_range(a))
		parser_error(p, MEMBER("same_port"), "applies only to a port "
		    "range");
	else if (a->same_port && !has_same_port_partner(conf, a))
		parser_error(p, MEMBER("same_port"), "no other listener has "
		    "port range %d-%d and same_port", a->port_min, a->port_max);
#undef MEMBER
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
		validate_listener(p, s, conf, a);
		for (j = 0; j < i; j++) {
			b = &conf->listeners[j];
			if (same_socket(a, b))
				parser_error(p, s, "same protocol, address and "
				    "port as listeners[%zu] at line %d", j,
				    b->line);
		}
	}
}

/*
 * Second pass: who to run as.  Looked up now, so that a user that does
 * not exist is found by echod -t, not at the next start as root.
 */
static void
config_identity(struct config_parser *p, const config_setting_t *root,
    struct echod_config *conf)
{
	const config_setting_t *us = config_setting_get_member(root, "user");
	const config_setting_t *gs = config_setting_get_member(root, "group");
	struct passwd *pw;
	struct group *gr;

	if ((pw = getpwnam(conf->user)) == NULL) {
		parser_error(p, us != NULL ? us : root, "no user \"%s\"%s",
		    conf->user, us != NULL ? "" : " (the default); set user");
		return;
	}
	conf->uid = pw->pw_uid;
	if ((gr = getgrnam(conf->group)) != NULL)
		conf->gid = gr->gr_gid;
	else if (gs == NULL)
		conf->gid = pw->pw_gid; /* no "nogroup" here: the user's own */
	else
		parser_error(p, gs, "no group \"%s\"", conf->group);
}

/*
 * Second pass: each tls group's context, once the user to run as is
 * known (the key log becomes theirs).  Built at every load, so that -t
 * finds an unreadable or mismatched key, and a reload reads the files
 * again; a certificate near its end or past it is only a warning.
 */
static void
config_tls(struct config_parser *p, const config_setting_t *list,
    const struct echod_config *conf)
{
	static const char *const setting[] = { [TLS_CERTIFICATE] =
		"certificate", [TLS_KEY] = "key", [TLS_KEYLOG] = "keylog" };
	const config_setting_t *group, *s;
	struct echod_tls_config *tc;
	enum tls_setting which;
	char err[512], date[32];
	time_t end, now = time(NULL);
	struct tm tm;
	size_t i;

	for (i = 0; i < conf->nlisteners; i++) {
		if ((tc = conf->listeners[i].tls) == NULL)
			continue;
		group = config_setting_get_member(
		    config_setting_get_elem(list, i), "tls");
		if ((tc->ctx = tls_context_new(tc->certificate, tc->key,
		    tc->keylog, conf->uid, conf->gid, &which, err,
		    sizeof(err))) == NULL) {
			s = config_setting_get_member(group, setting[which]);
			parser_error(p, s != NULL ? s : group, "%s", err);
			continue;
		}
		end = tls_context_not_after(tc->ctx);
		if (end < now + ECHOD_CERT_WARN_DAYS * 86400) {
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC",
			    gmtime_r(&end, &tm));
			parser_warning(p, config_setting_get_member(group,
			    "certificate"), "%s %s on %s", tc->certificate,
			    end <= now ? "expired" : "expires", date);
		}
		if (tc->keylog != NULL)
			parser_warning(p, config_setting_get_member(group,
			    "keylog"), "each session's keys go to %s: whoever "
			    "can read it can decrypt this listener's traffic",
			    tc->keylog);
	}
}

/* Second pass: a datagram from one of echod's own udp ports is never
 * answered, so that two listeners cannot echo each other forever. */
static void
config_ignore_own_ports(struct echod_config *conf)
{
	const struct echod_listener_config *lc;
	size_t i;
	int port;

	for (i = 0; i < conf->nlisteners; i++) {
		lc = &conf->listeners[i];
		if (lc->protocol != ECHOD_PROTO_UDP)
			continue;
		for (port = lc->port_min; port <= lc->port_max; port++)
			conf->udp_ignore[port / 64] |= UINT64_C(1) << (port % 64);
	}
}

/* Parse an open libconfig tree into conf, both passes. */
static void
config_parse(struct config_parser *p, config_t *cf, struct echod_config *conf)
{
	parse_group(p, config_root_setting(cf), root_options, conf);
	if (p->nerrors > 0)
		return;
	config_validate(p, config_lookup(cf, "listeners"), conf);
	config_identity(p, config_root_setting(cf), conf);
	if (p->nerrors == 0)
		config_tls(p, config_lookup(cf, "listeners"), conf);
	config_ignore_own_ports(conf);
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
	if ((p.conf = conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(path)) == NULL ||
	    config_defaults(conf) == -1 || (dir = strdup(path)) == NULL) {
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
	config_unref(conf);
	*errors = err_text;
	return NULL;
}

static void
config_tls_free(struct echod_tls_config *tc)
{
	if (tc == NULL)
		return;
	tls_context_free(tc->ctx);
	free(tc->certificate);
	free(tc->key);
	free(tc->keylog);
	free(tc);
}

struct echod_config *
config_ref(struct echod_config *conf)
{
	conf->refs++;
	return conf;
}

void
config_unref(struct echod_config *conf)
{
	size_t i;

	if (conf == NULL || --conf->refs > 0)
		return;
	for (i = 0; i < conf->nlisteners; i++) {
		free(conf->listeners[i].address);
		transform_chain_free(conf->listeners[i].transform);
		acl_free(&conf->listeners[i].acl);
		free(conf->listeners[i].proxy_from.prefixes);
		config_tls_free(conf->listeners[i].tls);
	}
	free(conf->listeners);
	free(conf->metrics.address);
	acl_free(&conf->metrics.acl);
	free(conf->console.address);
	acl_free(&conf->console.acl);
	free(conf->console.instructors.prefixes);
	/* After the chains: their fini() may live in a module. */
	transform_registry_free(conf->transforms);
	free(conf->module_dir);
	free(conf->user);
	free(conf->group);
	free(conf->path);
	free(conf);
}

const char *
config_option_name(const char *where, size_t i)
{
	const struct config_option *opts = where[0] == '\0' ? root_options :
	    strcmp(where, "listeners") == 0 ? listener_options :
	    strcmp(where, "tls") == 0 ? tls_options :
	    strcmp(where, "metrics") == 0 ? metrics_options :
	    strcmp(where, "console") == 0 ? console_options : NULL;
	size_t n;

	for (n = 0; opts != NULL && opts[n].name != NULL; n++)
		if (n == i)
			return opts[n].name;
	return NULL;
}

const char *
config_transform_name(const struct echod_listener_config *lc)
{
	return lc->transform->name != NULL ? lc->transform->name : "echo";
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
	char hostport[ECHOD_ADDRSTRLEN + 16];

	hostport_format(lc->address, lc->port_min, hostport, sizeof(hostport));
	if (config_port_is_range(lc))
		snprintf(hostport + strlen(hostport),
		    sizeof(hostport) - strlen(hostport), "-%d", lc->port_max);
	snprintf(buf, len, "%s %s", config_protocol_name(lc->protocol),
	    hostport);
	return buf;
}
