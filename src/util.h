/*
 * util.h: small helpers shared by the daemon and the clients.
 */
#ifndef ECHOD_UTIL_H
#define ECHOD_UTIL_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for "[ffff:...:ffff%ifname]:65535". */
#define ECHOD_ADDRSTRLEN 80

/* Room for any address echod serves. */
union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* "127.0.0.1:7" or "[::1]:7" into buf; returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* "HOST:PORT" with IPv6 literals in brackets, for names in messages. */
char *hostport_format(const char *host, int port, char *buf, size_t len);
/* A numeric address and port as a socket address: its length, or 0 if
 * address is not a numeric IPv4 or IPv6 address. */
socklen_t addr_numeric(const char *address, int port, union sockaddr_any *sa);
/* Is address a numeric IPv4 or IPv6 address, not a name? */
bool addr_is_numeric(const char *address);
/* Are both numeric and the same address and port (spelt alike or not)? */
bool addr_numeric_same(const char *a, int port_a, const char *b, int port_b);
/* "127.0.0.1#54321" or "::1#54321", IPv4-mapped shown as IPv4, as the
 * lab's servers printed a client. */
char *addr_format_peer(const struct sockaddr *sa, char *buf, size_t len);
/* True for 0.0.0.0 and ::, the addresses that mean every interface. */
bool addr_is_wildcard(const struct sockaddr *sa);
/* True when two socket addresses are the same family, address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* A monotonic clock in milliseconds, coarse (a tick or so). */
uint64_t clock_ms(void);

/* sa's address as 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so that a client is one key whichever socket it reached. */
void addr_key(const struct sockaddr *sa, unsigned char key[16]);
/* key as a client is counted: an IPv6 address cut to its first
 * ipv6_prefix bits (the rest zero), since one host usually holds a
 * whole /64; an IPv4 one as it is.  key and out may be the same. */
void addr_key_prefix(const unsigned char key[16], int ipv6_prefix,
    unsigned char out[16]);
/* Is key an IPv4 address, ::ffff:a.b.c.d (its last 4 bytes)? */
bool addr_key_is_ipv4(const unsigned char key[16]);
/* A hash of key under a secret seed, so that clients cannot choose
 * addresses that collide. */
uint64_t addr_key_hash(const unsigned char key[16], uint64_t seed);
/* True for a source no single host sends from: unspecified (0.0.0.0/8,
 * ::), multicast, or IPv4's class E and broadcast (240.0.0.0/4). */
bool addr_key_is_bogus_source(const unsigned char key[16]);

/*
 * Write in[0..len-1] into out for a log line: printable ASCII and valid
 * UTF-8 as they are, a backslash doubled, anything else (control bytes,
 * C1 controls, bytes of no valid sequence) as \xNN, so that no input
 * can start a line of its own.  At most max input bytes are shown; a
 * longer input ends in "... (N bytes)".  out needs
 * ESCAPE_BUFSIZE(max) bytes.
 */
#define ESCAPE_BUFSIZE(max) (4 * (size_t)(max) + 32)
char *str_escape(const unsigned char *in, size_t len, size_t max, char *out);

#endif
