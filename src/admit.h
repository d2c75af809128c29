/*
 * admit.h: who gets a TCP connection.  The main thread accepts; these
 * are its books, touched by it alone: how many connections are open in
 * all, per listener and per client address, and whether accepting is
 * paused because descriptors ran short.  A worker closing a connection
 * hands it back to the main thread (tcp_conn_release), which settles
 * the books, so no counter here is shared between threads.  The books
 * themselves (struct admission) are in server_state.h, inside struct
 * echod_server.
 */
#ifndef ECHOD_ADMIT_H
#define ECHOD_ADMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct admission;
struct echod_server;
struct guard_refusal;
struct listener;
struct sockaddr;
struct peer;

/* Descriptors kept free for echod's own use (reading the config,
 * loading modules, the log) however many clients there are. */
#define ADMIT_FD_RESERVE 16
/* After EMFILE or ENFILE, try accepting again this soon. */
#define ADMIT_RETRY_MS 100

/* Set up srv's books; -1 if out of resources. */
int admit_init(struct echod_server *srv);
/* Work out how many connections the descriptors allow, once the
 * listeners are open (again after a reload); -1 (logged) if none. */
int admit_size(struct echod_server *srv);
/* Descriptors open now, counted in /proc; -1 where there is none. */
int64_t admit_fds_in_use(void);
/* How long accepting has paused in all, the pause under way included. */
uint64_t admit_paused_ms(const struct admission *adm);
/* Is accepting paused (every listener that admits connections)? */
bool admit_paused(const struct echod_server *srv);
/* Log how often and how long accepting paused, if it did; free. */
void admit_fini(struct echod_server *srv);
/*
 * What admit_client weighs.  A plain connection is weighed whole.  On a
 * listener with proxy_protocol, in two steps: as it is accepted, the
 * connection (the counts in all and the listener's), and once its
 * PROXY header has named the client, the client (allow/deny and
 * max_connections_per_ip, under the header's address).
 */
enum admit_step {
	ADMIT_ALL,
	ADMIT_CONNECTION,
	ADMIT_PEER,
};

/*
 * May the client at sa, just accepted on l, stay (guard.c decides), as
 * far as step weighs it?  True if so; then, unless step is
 * ADMIT_CONNECTION, it is counted under count_key, its address or its
 * IPv6 prefix as ipv6_prefix had it then (ADMIT_CONNECTION counts no
 * address: such a connection is released with NULL).  False with *r
 * filled in if not.
 */
bool admit_client(struct listener *l, const struct sockaddr *sa,
    unsigned char count_key[16], struct guard_refusal *r,
    enum admit_step step);
/* A connection admitted on l has closed: uncount it from count_key,
 * what admit_client counted it under, whatever ipv6_prefix is now; NULL
 * if it was counted under no address (ADMIT_CONNECTION only). */
void admit_release(struct listener *l, const unsigned char count_key[16]);
/* Pause accepting: accept(2) failed with why (EMFILE, ENFILE...), to be
 * tried again on a timer; or, with why 0, every connection the
 * descriptors allow is open, until one closes. */
void admit_pause(struct echod_server *srv, int why);

#endif
