/*
 * util.h: small helpers shared by the daemon and the clients.
 */
#ifndef ECHOD_UTIL_H
#define ECHOD_UTIL_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

/* Room for "[ffff:...:ffff%ifname]:65535". */
#define ECHOD_ADDRSTRLEN 80

/* "127.0.0.1:7" or "[::1]:7" into buf; returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* "HOST:PORT" with IPv6 literals in brackets, for names in messages. */
char *hostport_format(const char *host, int port, char *buf, size_t len);
/* True for 0.0.0.0 and ::, the addresses that mean every interface. */
bool addr_is_wildcard(const struct sockaddr *sa);
/* True when two socket addresses are the same family, address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
