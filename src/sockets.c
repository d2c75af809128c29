/*
 * sockets.c: the sockets systemd passed, binding new ones, and picking a
 * port range's first port.  Everything here runs on the main thread.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sockets.h"
#include "systemd.h"
#include "util.h"

/* A full accept queue loses handshakes silently; SOMAXCONN may cap it. */
#define LISTENER_BACKLOG 1024

/* A socket handed over by systemd (LISTEN_FDS), for the listener that
 * asks for its type and address. */
struct passed_socket {
	int fd;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;
	bool taken;
};

/* The inventory of passed sockets. */
struct sockets {
	struct passed_socket *passed;
	size_t npassed;
};

/* Take the sockets systemd passed, noting what each one is. */
struct sockets *
sockets_new(void)
{
	struct sockets *s;
	struct passed_socket *ps;
	socklen_t len;
	int n = systemd_listen_fds(), i, off = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (n == 0)
		return s;
	if ((s->passed = calloc((size_t)n, sizeof(*s->passed))) == NULL) {
		free(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		ps = &s->passed[s->npassed++];
		ps->fd = SYSTEMD_LISTEN_FDS_START + i;
		len = sizeof(ps->type);
		if (getsockopt(ps->fd, SOL_SOCKET, SO_TYPE, &ps->type, &len) ==
		    -1) {
			log_warn("descriptor %d passed by systemd", ps->fd);
			ps->type = -1;
			continue;
		}
		len = sizeof(ps->addr);
		if (getsockname(ps->fd, (struct sockaddr *)&ps->addr, &len) == -1)
			ps->type = -1;
		/* systemd sets SO_REUSEADDR on datagram sockets too: there
		 * it would let a program of any user that sets it as well
		 * bind the port beside echod and take its datagrams. */
		if (ps->type == SOCK_DGRAM && setsockopt(ps->fd, SOL_SOCKET,
		    SO_REUSEADDR, &off, sizeof(off)) == -1)
			log_warn("SO_REUSEADDR off on descriptor %d", ps->fd);
		/* libevent and the UDP path want it non-blocking. */
		(void)fcntl(ps->fd, F_SETFL, fcntl(ps->fd, F_GETFL) | O_NONBLOCK);
	}
	log_info("%zu socket%s passed by systemd", s->npassed,
	    s->npassed == 1 ? "" : "s");
	return s;
}

/* A socket passed by systemd for type at sa, taken already or not as
 * taken says; NULL if none. */
static struct passed_socket *
sockets_find(const struct sockets *s, int type, const struct sockaddr *sa,
    bool taken)
{
	size_t i;

	for (i = 0; i < s->npassed; i++)
		if (s->passed[i].taken == taken && s->passed[i].type == type &&
		    addr_equal((struct sockaddr *)&s->passed[i].addr, sa))
			return &s->passed[i];
	return NULL;
}

/* The socket passed by systemd for type at sa, taken; -1 if none. */
static int
sockets_take(struct sockets *s, int type, const struct sockaddr *sa)
{
	struct passed_socket *ps = sockets_find(s, type, sa, false);

	if (ps == NULL)
		return -1;
	ps->taken = true;
	return ps->fd;
}

/*
 * A bound, non-blocking socket of type (SOCK_STREAM: listening too) at
 * sa, named name in errors; v6only for IPV6_V6ONLY; reuseport to join
 * the SO_REUSEPORT group of a socket already there.  -1 with err, and
 * errno as the failing call left it.
 */
static int
sockets_bind(int type, const struct sockaddr *sa, socklen_t salen,
    bool v6only, bool reuseport, const char *name, char *err, size_t errlen)
{
	int fd, on = 1, v6 = v6only, saved;
	const char *what;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		what = "socket: ";
		goto fail;
	}
	/* A restart must not fail on the last run's TIME_WAIT sockets. */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		what = "SO_REUSEADDR: ";
		goto fail;
	}
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		what = "SO_REUSEPORT: ";
		goto fail;
	}
	/* Set either way: the system default (bindv6only) varies. */
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) == -1) {
		what = "IPV6_V6ONLY: ";
		goto fail;
	}
	if (bind(fd, sa, salen) == -1) {
		what = "";
		goto fail;
	}
	/* Here, not when serving starts: this can fail in use too. */
	if (type == SOCK_STREAM && listen(fd, LISTENER_BACKLOG) == -1) {
		what = "listen: ";
		goto fail;
	}
	return fd;
fail:
	saved = errno; /* the caller tells EADDRINUSE apart */
	snprintf(err, errlen, "%s: %s%s", name, what, strerror(saved));
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

/* A passed socket first, else a new one. */
int
sockets_open(struct sockets *s, int type, const struct sockaddr *sa,
    socklen_t salen, bool v6only, bool *passed, const char *name, char *err,
    size_t errlen)
{
	int fd;

	if ((fd = sockets_take(s, type, sa)) != -1) {
		if (passed != NULL)
			*passed = true;
		return fd;
	}
	if (passed != NULL)
		*passed = false;
	return sockets_bind(type, sa, salen, v6only, false, name, err, errlen);
}

int
sockets_open_numeric(struct sockets *s, const char *address, int port,
    const char *name, char *err, size_t errlen)
{
	union sockaddr_any sa;
	socklen_t salen;

	if ((salen = addr_numeric(address, port, &sa)) == 0) {
		snprintf(err, errlen, "%s: not a numeric address", name);
		return -1;
	}
	return sockets_open(s, SOCK_STREAM, &sa.sa, salen, false, NULL, name,
	    err, errlen);
}

unsigned int
sockets_group(struct sockets *s, int fd, bool passed, int *fds,
    unsigned int n, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), vlen;
	unsigned int k = 1;
	char err[512];
	int type, on = 1, v6 = 0, more;

	fds[0] = fd;
	vlen = sizeof(type);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &vlen) == -1)
		return k;
	if (passed) {
		/* Used as systemd set them up (owner, device, buffers):
		 * more can come only from the unit. */
		while (k < n && (more = sockets_take(s, type,
		    (struct sockaddr *)&ss)) != -1)
			fds[k++] = more;
		if (k < n)
			log_info("%s: %u socket%s passed by systemd for %u "
			    "workers, each read by one worker; a socket unit "
			    "with ReusePort=yes may list it once a worker",
			    name, k, k == 1 ? "" : "s", n);
		return k;
	}
	/* fd was bound without SO_REUSEPORT: whoever binds the address
	 * from now on without it is still refused. */
	vlen = sizeof(v6);
	if (ss.ss_family == AF_INET6)
		(void)getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, &vlen);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		log_warn("%s: SO_REUSEPORT; one worker reads it", name);
		return k;
	}
	for (; k < n; k++) {
		if ((more = sockets_bind(type, (struct sockaddr *)&ss, len,
		    v6 != 0, true, name, err, sizeof(err))) == -1) {
			/* Not a reason to refuse the listener: fewer
			 * workers serve it, each socket by one. */
			log_warnx("%s; %u of %u workers serve it, each "
			    "with a socket of its own", err, k, n);
			break;
		}
		fds[k] = more;
	}
	return k;
}

/* The port of a passed socket that the range could take; 0 if none. */
static int
sockets_passed_port(const struct sockets *s, int type, int port_min,
    int port_max)
{
	const struct passed_socket *ps;
	size_t i;
	int port;

	for (i = 0; i < s->npassed; i++) {
		ps = &s->passed[i];
		port = ntohs(((const struct sockaddr_in *)(const void *)
		    &ps->addr)->sin_port);
		if (!ps->taken && ps->type == type && port >= port_min &&
		    port <= port_max)
			return port;
	}
	return 0;
}

/* A pick that a reload keeps, a passed socket's, or a random one. */
void
sockets_pick(const struct sockets *s, int type, int port_min, int port_max,
    int port, struct port_walk *walk)
{
	unsigned int n = port_max - port_min + 1, start = 0;

	if (port != 0) {
		start = (unsigned int)(port - port_min);
		n = 1;
	} else if ((port = sockets_passed_port(s, type, port_min,
	    port_max)) != 0)
		start = (unsigned int)(port - port_min);
	else if (n > 1 && getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = (unsigned int)getpid();
	walk->port_min = port_min;
	walk->port_max = port_max;
	walk->start = start;
	walk->n = n;
	walk->k = 0;
}

/* From the pick, port by port, wrapping at the range's end. */
int
port_walk_next(struct port_walk *walk)
{
	unsigned int k;

	if (walk->k == walk->n)
		return 0;
	k = walk->k++;
	return walk->port_min + (int)((walk->start + k) %
	    (unsigned int)(walk->port_max - walk->port_min + 1));
}

/* Each passed socket must serve a listener. */
int
sockets_all_taken(const struct sockets *s, const char *path)
{
	char name[ECHOD_ADDRSTRLEN + 16];
	size_t i;

	for (i = 0; i < s->npassed; i++) {
		if (s->passed[i].taken)
			continue;
		addr_format((struct sockaddr *)&s->passed[i].addr, name,
		    sizeof(name));
		/* udp: another for its address was taken, one a
		 * worker, and this is one more than they could take. */
		if (s->passed[i].type == SOCK_DGRAM && sockets_find(s,
		    SOCK_DGRAM, (struct sockaddr *)&s->passed[i].addr,
		    true) != NULL)
			log_errorx("%s: systemd passed the udp socket %s more "
			    "times than echod has workers; list it at most "
			    "that many times", path, name);
		else
			log_errorx("%s: the %s socket %s passed by systemd "
			    "matches no listener; add one with that protocol, "
			    "address and port", path,
			    s->passed[i].type == SOCK_DGRAM ? "udp" : "tcp",
			    name);
		return -1;
	}
	return 0;
}

/* What no listener took is closed here; the rest is theirs. */
void
sockets_free(struct sockets *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->npassed; i++)
		if (!s->passed[i].taken)
			close(s->passed[i].fd);
	free(s->passed);
	free(s);
}
