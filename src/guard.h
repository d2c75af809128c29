/*
 * guard.h: whether a client is served, decided in one place.  For a new
 * TCP connection and for each UDP datagram, one function takes plain
 * inputs (the client's address, the settings, the counts the caller
 * keeps) and says yes, or no with the reason.  It does no I/O, counts
 * nothing and logs nothing: the callers (admit.c, listener_udp.c) do.
 * The order in which the guards apply is here and nowhere else.
 */
#ifndef ECHOD_GUARD_H
#define ECHOD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct acl;
struct echod_config;
struct rate_table;
struct sockaddr;

/* Why a client was turned away; the counters are per listener. */
enum refusal {
	REFUSED_ACL,   /* allow/deny */
	REFUSED_LIMIT, /* max_connections, max_connections_per_ip */
	REFUSED_RATE,  /* udp: udp_rate */
	REFUSED_LOOP,  /* udp: source port or address never answered */
	REFUSED_TLS,   /* tcp with tls: the handshake failed or timed out,
			* or the client broke the protocol later */
	REFUSED_PROXY, /* proxy_protocol: not from proxy_from, or no valid
			* header in time */
	REFUSED_KINDS,
};

/* A refusal: the reason's kind, and the words for the log. */
struct guard_refusal {
	enum refusal why;
	char what[96]; /* "max_connections_per_ip (16) reached" */
};

/*
 * What decides a new TCP client.  Each max is 0 for no limit; each open
 * is the count before this client.  peer_open counts the client's
 * address, or its IPv6 prefix (ipv6_prefix).
 */
struct guard_tcp {
	const struct acl *acl;		 /* the listener's allow/deny */
	uint64_t open, max;		 /* every listener's connections */
	uint64_t listener_open, listener_max; /* the configured listener's */
	uint64_t peer_open, peer_max;	 /* max_connections_per_ip */
};

/* What decides a UDP datagram. */
struct guard_udp {
	const struct echod_config *config; /* udp_ignore_ports, udp_rate */
	const struct acl *acl;		   /* the listener's allow/deny */
	struct rate_table *rate;	   /* udp_rate's buckets */
	uint64_t now_ms;		   /* a monotonic clock, for rate */
};

/*
 * Does the client at addr (addr_key) get a connection?  In this order:
 * allow/deny, max_connections in all, the listener's, then per address.
 * False with *r filled in if not.
 */
bool guard_tcp_client(const struct guard_tcp *g, const unsigned char addr[16],
    struct guard_refusal *r);
/*
 * Is a datagram from src answered?  In this order: a source port never
 * answered, a source address no host sends from, allow/deny, then
 * udp_rate, whose bucket (src's address, or its IPv6 prefix) gives up a
 * token only when every other guard has passed.  False with *r filled
 * in if not.
 */
bool guard_udp_datagram(const struct guard_udp *g, const struct sockaddr *src,
    struct guard_refusal *r);
/* The first two of those alone: may a reply go to src at all?  (With
 * proxy_protocol, the balancer a reply goes to, whoever it names.) */
bool guard_udp_source(const struct echod_config *config,
    const struct sockaddr *src, struct guard_refusal *r);

#endif
