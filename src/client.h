/*
 * client.h: what echod-tcp and echod-udp share.  Each supplies only how
 * one message and its reply cross the network (struct client_ops);
 * options, name resolution, connecting, the three input modes and error
 * reporting are common.  A stream client may add TLS under all of it
 * (struct client_tls_ops): a session begun after each connect and ended
 * before each close.
 */
#ifndef ECHOD_CLIENT_H
#define ECHOD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Results of client_ops.exchange, client_tls_ops.start and client_wait. */
#define CLIENT_OK 0
#define CLIENT_ERROR (-1)   /* errno says why */
#define CLIENT_CLOSED (-2)  /* the server closed before the reply was whole */
#define CLIENT_TIMEOUT (-3) /* no (whole) reply within -w seconds */
#define CLIENT_TLS (-4)	    /* TLS failed; client_tls_failed was told why */

struct client;

/* What --tls and the options that go with it asked for. */
struct client_tls_options {
	const char *cafile;	/* NULL: the system's trust store */
	const char *servername; /* verified, and sent unless an address */
	int version;		/* 12 or 13: that version only; 0: either */
	bool insecure;		/* the certificate is not verified */
};

struct client_tls_ops {
	/* Before any connection: 0, or -1 with why on stderr. */
	int (*init)(const struct client_tls_options *, const char *progname);
	/* The handshake on a fresh connection, within its deadline. */
	int (*start)(struct client *);
	/* Before the close: close_notify if the session is sound, then the
	 * session freed.  Waits at most until the deadline. */
	void (*stop)(struct client *);
	/* What init made, freed. */
	void (*done)(void);
};

struct client_ops {
	const char *progname; /* "echod-tcp" */
	int socktype;	      /* SOCK_STREAM or SOCK_DGRAM */
	/*
	 * Send msg and read its reply into reply (room for cap bytes,
	 * cap >= len), setting *rlen.  One of the CLIENT_ results.
	 */
	int (*exchange)(struct client *, const char *msg, size_t len,
	    char *reply, size_t cap, size_t *rlen);
	/* A stream client's TLS; NULL when built without OpenSSL (the TLS
	 * options then say so). */
	const struct client_tls_ops *tls;
};

/* The socket of the current connection. */
int client_fd(const struct client *);
/* Wait until the socket is ready for events (POLLIN, POLLOUT) or the
 * reply's deadline passes: CLIENT_OK, CLIENT_TIMEOUT or CLIENT_ERROR. */
int client_wait(struct client *, short events);
/* Keep why TLS failed, for the report; returns CLIENT_TLS. */
int client_tls_failed(struct client *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The whole client: parse argv, talk, report; returns the exit status. */
int client_main(int argc, char *argv[], const struct client_ops *ops);

#endif
