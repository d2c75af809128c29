/*
 * sockets.h: where a listener's socket comes from.  The sockets systemd
 * passed (LISTEN_FDS), read once at start-up and each taken by the one
 * listener that asks for its type and address; else a socket bound here.
 * And the order in which a port range's ports are tried.
 */
#ifndef ECHOD_SOCKETS_H
#define ECHOD_SOCKETS_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

struct sockets;

/* The ports of a range to try, in order: see sockets_pick(). */
struct port_walk {
	int port_min, port_max;
	unsigned int start; /* offset of the first port to try */
	unsigned int n;	    /* how many ports to try */
	unsigned int k;	    /* how many were handed out */
};

/* The sockets systemd passed, each noted with its type and address; NULL
 * if out of memory.  None passed is an empty inventory. */
struct sockets *sockets_new(void);
/*
 * A socket of type (SOCK_STREAM: listening) at sa: the one systemd
 * passed for it, taken so that no other listener gets it, or else a new
 * non-blocking one bound there, named name in errors; v6only for
 * IPV6_V6ONLY; *passed (if not NULL) says which.  -1 with err, and errno
 * as the failing call left it.
 */
int sockets_open(struct sockets *, int type, const struct sockaddr *sa,
    socklen_t salen, bool v6only, bool *passed, const char *name, char *err,
    size_t errlen);
/*
 * Sockets for n workers at fd's address, one each, into fds[0..n-1];
 * fds[0] is fd.  A socket that systemd passed comes with the others it
 * passed for that address (a socket unit with ReusePort=yes may list it
 * more than once), and no more: they are used as systemd set them up.
 * A socket that echod bound, without SO_REUSEPORT, takes it only now,
 * and new ones are bound beside it in its group, so that another
 * process that binds the address (a second echod) still fails with
 * EADDRINUSE.  Returns how many there are: fewer than n (logged) where
 * no more were passed or could be bound.
 */
unsigned int sockets_group(struct sockets *, int fd, bool passed, int *fds,
    unsigned int n, const char *name);
/* sockets_open for a listening TCP socket at a numeric address and
 * port (an HTTP listener's). */
int sockets_open_numeric(struct sockets *, const char *address, int port,
    const char *name, char *err, size_t errlen);
/*
 * Where to start in port_min-port_max for sockets of type: at port if
 * that is not 0 (and only there), else at a passed socket's port in the
 * range, else at a random one.  A fixed port is a range of one.
 */
void sockets_pick(const struct sockets *, int type, int port_min,
    int port_max, int port, struct port_walk *walk);
/* The next port of walk to try, round the range; 0 once all were. */
int port_walk_next(struct port_walk *walk);
/* Every passed socket was taken by a listener: 0; else -1, and the first
 * one left is logged as matching nothing in the config at path. */
int sockets_all_taken(const struct sockets *, const char *path);
/* Close the passed sockets no listener took; free. */
void sockets_free(struct sockets *);

#endif
