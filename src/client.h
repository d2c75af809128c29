/*
 * client.h: what echod-tcp and echod-udp share.  Each supplies only how
 * one message and its reply cross the network (struct client_ops);
 * options, name resolution, connecting, the three input modes and error
 * reporting are common.
 */
#ifndef ECHOD_CLIENT_H
#define ECHOD_CLIENT_H

#include <stddef.h>

/* Results of client_ops.exchange and client_wait. */
#define CLIENT_OK 0
#define CLIENT_ERROR (-1)   /* errno says why */
#define CLIENT_CLOSED (-2)  /* the server closed before the reply was whole */
#define CLIENT_TIMEOUT (-3) /* no (whole) reply within -w seconds */

struct client;

struct client_ops {
	const char *progname; /* "echod-tcp" */
	int socktype;	      /* SOCK_STREAM or SOCK_DGRAM */
	/*
	 * Send msg and read its reply into reply (room for cap bytes,
	 * cap >= len), setting *rlen.  One of the CLIENT_ results.
	 */
	int (*exchange)(struct client *, const char *msg, size_t len,
	    char *reply, size_t cap, size_t *rlen);
};

/* The socket of the current connection. */
int client_fd(const struct client *);
/* Wait until the socket is ready for events (POLLIN, POLLOUT) or the
 * reply's deadline passes: CLIENT_OK, CLIENT_TIMEOUT or CLIENT_ERROR. */
int client_wait(struct client *, short events);
/* The whole client: parse argv, talk, report; returns the exit status. */
int client_main(int argc, char *argv[], const struct client_ops *ops);

#endif
