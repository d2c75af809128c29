/*
 * proxy.h: the PROXY protocol's header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2), by which a load balancer tells echod the address
 * of the client it stands for.  Parsing only: no sockets, so that the
 * fuzzer and the unit tests call what the listeners call.
 */
#ifndef ECHOD_PROXY_H
#define ECHOD_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h" /* union sockaddr_any */

/* The most bytes a header may take: a v1 line is at most 107, and a v2
 * header's addresses and TLVs have to fit in this too. */
#define PROXY_HEADER_MAX 1024

/* What the header says. */
struct proxy_header {
	/* LOCAL (a balancer's own health check), UNKNOWN, or an address
	 * family echod does not serve (AF_UNIX): the connection's own
	 * addresses stand. */
	bool local;
	union sockaddr_any src; /* the client, unless local */
	int version;		/* 1 or 2 */
};

/*
 * Read a header from the first len bytes of a connection or datagram.
 * Returns the header's length once buf holds all of it (the bytes after
 * it are the client's), 0 if buf is a proper beginning of one and more
 * must come, or -1 if buf cannot start a valid header, with why in
 * words.  dgram: the header came on a datagram (v2 must then say DGRAM,
 * and a v1 line is taken as nginx sends it, TCP4 or TCP6); else STREAM.
 */
int proxy_parse(const unsigned char *buf, size_t len, bool dgram,
    struct proxy_header *h, const char **why);

#endif
