/*
 * guard.c: the decisions of guard.h.  Nothing here touches a socket, a
 * counter or the log, so tests can drive every reason and every order
 * with made-up inputs.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>

#include "acl.h"
#include "config.h"
#include "guard.h"
#include "ratelimit.h"
#include "util.h"

/* Fill in r; false, for the caller to return. */
static bool __attribute__((format(printf, 3, 4)))
guard_refuse(struct guard_refusal *r, enum refusal why, const char *fmt, ...)
{
	va_list ap;

	r->why = why;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	return false;
}

/* Is open at max, a limit of 0 being none? */
static bool
guard_full(uint64_t open, uint64_t max)
{
	return max > 0 && open >= max;
}

bool
guard_tcp_client(const struct guard_tcp *g, const unsigned char addr[16],
    struct guard_refusal *r)
{
	if (!acl_permits(g->acl, addr))
		return guard_refuse(r, REFUSED_ACL, "not allowed by allow/deny");
	if (guard_full(g->open, g->max))
		return guard_refuse(r, REFUSED_LIMIT, "max_connections (%llu) "
		    "reached", (unsigned long long)g->max);
	if (guard_full(g->listener_open, g->listener_max))
		return guard_refuse(r, REFUSED_LIMIT, "this listener's "
		    "max_connections (%llu) reached",
		    (unsigned long long)g->listener_max);
	if (guard_full(g->peer_open, g->peer_max))
		return guard_refuse(r, REFUSED_LIMIT, "max_connections_per_ip "
		    "(%llu) reached", (unsigned long long)g->peer_max);
	return true;
}

bool
guard_udp_source(const struct echod_config *config,
    const struct sockaddr *src, struct guard_refusal *r)
{
	/* sin_port and sin6_port sit at the same offset. */
	unsigned int port = ntohs(((const struct sockaddr_in *)(const void *)
	    src)->sin_port);
	unsigned char addr[16];

	if (config_udp_port_ignored(config, port))
		return guard_refuse(r, REFUSED_LOOP, "source port %u is never "
		    "answered", port);
	addr_key(src, addr);
	if (addr_key_is_bogus_source(addr))
		return guard_refuse(r, REFUSED_LOOP, "a multicast, broadcast "
		    "or unspecified source is never answered");
	return true;
}

bool
guard_udp_datagram(const struct guard_udp *g, const struct sockaddr *src,
    struct guard_refusal *r)
{
	unsigned char addr[16];

	if (!guard_udp_source(g->config, src, r))
		return false;
	addr_key(src, addr);
	if (!acl_permits(g->acl, addr))
		return guard_refuse(r, REFUSED_ACL, "not allowed by allow/deny");
	if (g->config->udp_rate == 0)
		return true;
	addr_key_prefix(addr, g->config->ipv6_prefix, addr);
	if (!rate_table_take(g->rate, addr, g->now_ms))
		return guard_refuse(r, REFUSED_RATE, "over udp_rate");
	return true;
}
