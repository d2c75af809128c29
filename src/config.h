/*
 * config.h: echod's configuration as plain C structs.  config.c is the
 * only file that knows libconfig; everything else reads these structs.
 */
#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/time.h>
#include <sys/types.h>

#include "acl.h"
#include "transform.h"

#define ECHOD_MAX_LINE_LIMIT (16 * 1024 * 1024) /* max_line's ceiling */
#define ECHOD_LOG_LENGTH_LIMIT 1024 /* log_length's ceiling */
#define ECHOD_WORKERS_LIMIT 256		/* workers' ceiling */
#define ECHOD_COUNT_LIMIT 1000000	/* connection and rate ceilings */
#define ECHOD_IDLE_LIMIT 86400		/* idle_timeout's ceiling, a day */
#define ECHOD_PENDING_LIMIT (1024 * 1024 * 1024) /* max_pending's */
#define ECHOD_SHUTDOWN_LIMIT 3600	/* shutdown_timeout's ceiling */
#define ECHOD_HANDSHAKE_LIMIT 3600	/* handshake_timeout's ceiling */
#define ECHOD_CERT_WARN_DAYS 14		/* warn of a certificate's end */
#define ECHOD_PROXY_SECONDS 5		/* to send the whole PROXY header */

enum echod_protocol {
	ECHOD_PROTO_TCP,
	ECHOD_PROTO_UDP,
};

enum echod_framing {
	ECHOD_FRAMING_STREAM, /* RFC 862: bytes back as they come */
	ECHOD_FRAMING_LINE,   /* each line one message */
};

/*
 * What a listener's clients may take (all but the log's: TCP only).
 * The file's top level sets the defaults, which a listener may
 * override.  0 means no limit.
 */
struct echod_limits {
	int max_connections;	    /* open at once (top level: in all) */
	int max_connections_per_ip; /* open at once from one address */
	int idle_timeout;	    /* seconds without input or progress */
	int max_pending;	    /* bytes of replies held for a client */
	int log_rate, log_burst;    /* log_messages lines/s per address */
};

struct echod_config;
struct tls_context;

/* A tcp listener's tls group (tls.c). */
struct echod_tls_config {
	char *certificate;	/* PEM: the certificate, then its chain */
	char *key;		/* PEM: its private key */
	char *keylog;		/* NSS key log for the lab; NULL: none */
	int handshake_timeout;	/* seconds to finish the handshake */
	struct tls_context *ctx; /* built from them when the file loads */
};

struct echod_listener_config {
	struct echod_config *config; /* the file it came from */
	int protocol;		/* enum echod_protocol */
	char *address;		/* numeric IPv4/IPv6 or a host name */
	int port_min, port_max; /* equal unless a range */
	bool same_port;		/* share one pick with same-range listeners */
	struct transform_chain *transform;
	int framing;		/* enum echod_framing; tcp only */
	int max_line;		/* framing "line": longest line, in bytes */
	bool close_after_reply; /* tcp: answer the first message, then close */
	bool ipv6_only;		/* IPV6_V6ONLY on IPv6 sockets */
	bool log_messages;	/* one log line per message */
	int log_length;		/* bytes of a message shown in the log */
	struct echod_limits limits; /* tcp */
	struct timeval idle;	/* limits.idle_timeout, for libevent */
	struct acl acl;		/* who may connect or send */
	struct echod_tls_config *tls; /* tcp: NULL unless it has a tls group */
	/* Each client comes through a balancer in proxy_from, which says
	 * who the client is in a PROXY protocol header first. */
	bool proxy_protocol;
	struct acl_list proxy_from;
	int line;		/* where it was defined, for messages */
};

/* The metrics listener: the counters, in Prometheus's text format, over
 * HTTP at /metrics.  Off unless the file has a metrics group. */
struct echod_metrics_config {
	char *address;	/* numeric; "127.0.0.1" unless set */
	int port;	/* 0: no metrics listener */
	struct acl acl;	/* who may read them */
};

/* The class console (console.c): a web page of the messages of the
 * listeners with log_messages.  Off unless the file has a console
 * group. */
struct echod_console_config {
	char *address;		/* numeric; "127.0.0.1" unless set */
	int port;		/* 0: no console */
	struct acl acl;		/* who may open it at all */
	struct acl_list instructors; /* who may open /class; none: nobody */
	int max_viewers;	/* HTTP connections open at once, in all */
	int max_viewers_per_ip;	/* and from one address */
	int history;		/* messages kept for a page opened late */
};

/*
 * A loaded file.  A reload makes a new one; the old one lives on while
 * anything still points into it (a connection accepted under it, a
 * worker that has not switched yet): each such pointer holds a
 * reference, taken and dropped on the main thread only.
 */
struct echod_config {
	int refs;
	char *path;
	char *module_dir;		/* where relative module names are */
	int workers;			/* threads; 0: one per online CPU */
	struct echod_limits limits;	/* defaults for every tcp listener */
	int udp_rate, udp_burst;	/* per source address; rate 0: none */
	int ipv6_prefix;		/* bits of an IPv6 client counted */
	/* Source ports never answered: below 1024, udp_ignore_ports, and
	 * every port of echod's own udp listeners; a bit per port. */
	uint64_t udp_ignore[65536 / 64];
	int shutdown_timeout;		/* seconds to let replies finish */
	int log_level;			/* enum echod_log_level */
	struct echod_metrics_config metrics;
	struct echod_console_config console;
	char *user, *group;		/* who to run as, when started as root */
	uid_t uid;			/* theirs, looked up when loaded */
	gid_t gid;
	struct transform_registry *transforms; /* built-ins and modules */
	struct echod_listener_config *listeners;
	size_t nlisteners;
};

/*
 * Read and validate the file at path.  Returns the config, or NULL with
 * *errors set to one "FILE:LINE: SETTING: reason" line per problem
 * (newline-separated, to be freed by the caller).
 */
struct echod_config *config_load(const char *path, char **errors);
/* Take one more reference to conf; drop one, freeing it at the last. */
struct echod_config *config_ref(struct echod_config *conf);
void config_unref(struct echod_config *conf);

/* Is a datagram from this source port never to be answered? */
static inline bool
config_udp_port_ignored(const struct echod_config *conf, unsigned int port)
{
	return conf->udp_ignore[port / 64] >> (port % 64) & 1;
}

/* Is lc's port a range to pick from, rather than one port? */
static inline bool
config_port_is_range(const struct echod_listener_config *lc)
{
	return lc->port_min != lc->port_max;
}
/* Do a and b ask for the same sockets: same protocol, address, ports
 * and socket options?  A reload keeps such a listener open. */
bool config_same_bind(const struct echod_listener_config *a,
    const struct echod_listener_config *b);
/* Do a and b get one pick of a port: same range, both same_port? */
bool config_same_pick(const struct echod_listener_config *a,
    const struct echod_listener_config *b);
/* The settings the file may have, for the man page's test: where is
 * "" (the top level), "listeners", "tls" (a listener's), "metrics" or
 * "console"; NULL after
 * the last. */
const char *config_option_name(const char *where, size_t i);
/* The chain's name for the logs: "echo" when it is empty. */
const char *config_transform_name(const struct echod_listener_config *);
/* "tcp" or "udp". */
const char *config_protocol_name(int protocol);
/* "tcp [::]:12000" or "tcp [::]:22400-22499", for messages. */
char *config_listener_name(const struct echod_listener_config *, char *buf,
    size_t len);

#endif
