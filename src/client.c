/*
 * client.c: the body of echod-tcp and echod-udp.
 *
 * Input comes from -m, from a person at a terminal (the lab clients'
 * prompt), or one message per line from a pipe.  Each message's reply is
 * awaited, up to -w seconds, before the next is sent.  A server that
 * closes after each reply (close_after_reply) is reconnected to, and a
 * refused address gives way to the next one the name resolved to.
 *
 * With --tls (echod-tcp) each connection is a TLS session: the handshake
 * is part of connecting, and close_notify goes before each close.  The
 * plain client never half-closes, so neither does the TLS one: it sends
 * close_notify when it is done and closes, as the plain one closes.
 */
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

#define CLIENT_DEFAULT_PORT "12000"
#define CLIENT_DEFAULT_WAIT 2.0
#define CLIENT_REPLY_MIN 65536 /* room for any datagram */
#define CLIENT_PROMPT "Input lowercase sentence: "

struct client {
	const struct client_ops *ops;
	const char *host;
	const char *port;
	int family;
	double wait;		  /* seconds for a connect or a reply */
	bool line;		  /* -l: each message ends in "\n" */
	char *msg;		  /* -l: the message and its "\n" */
	size_t msgcap;
	struct addrinfo *addrs;	  /* what host resolved to */
	struct addrinfo *cur;	  /* the one in use */
	int fd;
	unsigned replies;	  /* received on this connection */
	struct timespec deadline; /* of the exchange under way */
	char *reply;
	size_t replycap;
	bool tls;		  /* --tls */
	struct client_tls_options tlsopt;
	char tls_why[256];	  /* CLIENT_TLS's cause */
};

/* The long options, echod-tcp's only: values beyond any char. */
enum {
	CLIENT_OPT_TLS = 256,
	CLIENT_OPT_CAFILE,
	CLIENT_OPT_INSECURE,
	CLIENT_OPT_SERVERNAME,
	CLIENT_OPT_TLS_VERSION,
};

static void __attribute__((noreturn))
usage(const struct client_ops *ops, FILE *out, int status)
{
	static const char tls_help[] =
	    "  --tls       speak TLS 1.2 or 1.3, verifying the server's\n"
	    "              certificate against the system's CAs\n"
	    "  --cafile file\n"
	    "              against the CA certificates in file instead\n"
	    "  --insecure  do not verify the certificate (and say so)\n"
	    "  --servername name\n"
	    "              the name to verify and send (SNI); default host\n"
	    "  --tls-version 1.2|1.3\n"
	    "              allow only this version of TLS\n";
	bool tcp = ops->socktype == SOCK_STREAM;

	fprintf(out,
	    "usage: %s [-4|-6]%s [-w seconds] [-m message]%s host [port]\n"
	    "  -4, -6      use IPv4 or IPv6 only\n"
	    "%s"
	    "  -m message  send this one message and print the reply\n"
	    "  -w seconds  how long to wait for a reply (default %g)\n"
	    "  port        default %s\n"
	    "%s"
	    "Without -m, each line of input is one message.\n",
	    ops->progname, tcp ? " [-l]" : "",
	    tcp ? "\n       [--tls [--cafile file | --insecure] "
		  "[--servername name]\n        [--tls-version 1.2|1.3]]" : "",
	    tcp ? "  -l          end each message with a newline, for a tcp\n"
		  "              listener with framing = \"line\"\n" : "",
	    CLIENT_DEFAULT_WAIT, CLIENT_DEFAULT_PORT,
	    tcp ? tls_help : "");
	exit(status);
}

int
client_fd(const struct client *c)
{
	return c->fd;
}

int
client_tls_failed(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->tls_why, sizeof(c->tls_why), fmt, ap);
	va_end(ap);
	return CLIENT_TLS;
}

static void
client_start_deadline(struct client *c)
{
	double whole, frac = modf(c->wait, &whole);

	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += (time_t)whole;
	c->deadline.tv_nsec += (long)(frac * 1e9);
	if (c->deadline.tv_nsec >= 1000000000L) {
		c->deadline.tv_sec++;
		c->deadline.tv_nsec -= 1000000000L;
	}
}

int
client_wait(struct client *c, short events)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	struct timespec now;
	long long ms;
	int n;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (c->deadline.tv_sec - now.tv_sec) * 1000LL +
		    (c->deadline.tv_nsec - now.tv_nsec) / 1000000L;
		if (ms <= 0)
			return CLIENT_TIMEOUT;
		n = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
		if (n > 0)
			return CLIENT_OK; /* errors show in the next call */
		if (n == -1 && errno != EINTR)
			return CLIENT_ERROR;
	}
}

/* Describe a failure with the server; errno holds CLIENT_ERROR's cause. */
static void
client_report(const struct client *c, int rc)
{
	const char *p = c->ops->progname;

	switch (rc) {
	case CLIENT_TIMEOUT:
		fprintf(stderr, "%s: no reply from %s port %s within %g s\n", p,
		    c->host, c->port, c->wait);
		break;
	case CLIENT_CLOSED:
		fprintf(stderr, "%s: %s port %s closed the connection before "
		    "the reply was complete\n", p, c->host, c->port);
		break;
	case CLIENT_TLS:
		fprintf(stderr, "%s: %s port %s: %s\n", p, c->host, c->port,
		    c->tls_why);
		break;
	default:
		fprintf(stderr, "%s: %s port %s: %s\n", p, c->host, c->port,
		    strerror(errno));
		break;
	}
}

/* One connect(2) of fd to ai within the deadline; errno says why not. */
static int
client_try_connect(struct client *c, int fd, const struct addrinfo *ai)
{
	socklen_t len;
	int err, rc;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return CLIENT_OK;
	if (errno != EINPROGRESS)
		return CLIENT_ERROR;
	if ((rc = client_wait(c, POLLOUT)) != CLIENT_OK)
		return rc;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return CLIENT_ERROR;
	if (err != 0) {
		errno = err;
		return CLIENT_ERROR;
	}
	return CLIENT_OK;
}

/* Close the current connection, if any; under TLS after close_notify. */
static void
client_close(struct client *c)
{
	if (c->fd == -1)
		return;
	if (c->tls) {
		client_start_deadline(c);
		c->ops->tls->stop(c);
	}
	close(c->fd);
	c->fd = -1;
}

/*
 * Connect to c->cur or, failing that, the addresses after it; a failure
 * leaves c->cur on the last address, and the last one's result stands.
 * Under TLS the handshake follows, within what is left of the connect's
 * deadline; a failed one is not retried at another address.
 */
static int
client_connect(struct client *c)
{
	int rc;

	client_close(c);
	c->replies = 0;
	for (; c->cur != NULL; c->cur = c->cur->ai_next) {
		c->fd = socket(c->cur->ai_family,
		    c->cur->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    c->cur->ai_protocol);
		if (c->fd == -1)
			return CLIENT_ERROR;
		client_start_deadline(c);
		rc = client_try_connect(c, c->fd, c->cur);
		if (rc == CLIENT_OK && c->tls)
			return c->ops->tls->start(c);
		if (rc == CLIENT_OK || c->cur->ai_next == NULL)
			return rc;
		close(c->fd);
		c->fd = -1;
	}
	errno = EHOSTUNREACH;
	return CLIENT_ERROR;
}

/*
 * After rc, is it worth connecting again?  Yes when the server closed
 * a connection that had answered (it closes after each reply), and when
 * this address refused and the name has others.
 */
static bool
client_should_retry(struct client *c, int rc)
{
	if (c->ops->socktype == SOCK_STREAM && c->replies > 0 &&
	    (rc == CLIENT_CLOSED ||
		(rc == CLIENT_ERROR && (errno == EPIPE || errno == ECONNRESET))))
		return true;
	if (rc == CLIENT_ERROR && errno == ECONNREFUSED && c->replies == 0 &&
	    c->cur->ai_next != NULL) {
		c->cur = c->cur->ai_next;
		return true;
	}
	return false;
}

/* -l: msg with its newline, in c->msg; NULL if out of memory. */
static const char *
client_line(struct client *c, const char *msg, size_t len)
{
	char *p;

	if (len + 1 > c->msgcap) {
		if ((p = realloc(c->msg, len + 1)) == NULL)
			return NULL;
		c->msg = p;
		c->msgcap = len + 1;
	}
	memcpy(c->msg, msg, len);
	c->msg[len] = '\n';
	return c->msg;
}

/*
 * Send one message and get its reply into c->reply.  With -l the
 * message goes with a newline, and the reply's is not part of the reply.
 */
static int
client_exchange(struct client *c, const char *msg, size_t len, size_t *rlen)
{
	size_t need;
	char *p;
	int rc;

	if (c->line) {
		if ((msg = client_line(c, msg, len)) == NULL)
			return CLIENT_ERROR;
		len++;
	}
	need = len > CLIENT_REPLY_MIN ? len : CLIENT_REPLY_MIN;
	if (need > c->replycap) {
		if ((p = realloc(c->reply, need)) == NULL)
			return CLIENT_ERROR;
		c->reply = p;
		c->replycap = need;
	}
	for (;;) {
		*rlen = 0;
		client_start_deadline(c);
		rc = c->ops->exchange(c, msg, len, c->reply, c->replycap, rlen);
		if (rc == CLIENT_OK) {
			c->replies++;
			if (c->line && *rlen > 0 && c->reply[*rlen - 1] == '\n')
				(*rlen)--;
			return rc;
		}
		/*
		 * Bounded: a refusal moves on to an address not yet tried, and
		 * a close is retried only on a connection that had answered,
		 * which the fresh one has not.
		 */
		if (*rlen > 0 || !client_should_retry(c, rc))
			return rc;
		if ((rc = client_connect(c)) != CLIENT_OK)
			return rc;
	}
}

/* Print a reply as interactive users or scripts expect it. */
static void
client_print(const char *reply, size_t len, bool interactive)
{
	if (interactive)
		fputs("Returned from server: ", stdout);
	fwrite(reply, 1, len, stdout);
	putchar('\n');
	fflush(stdout);
}

/* One message per line of standard input, prompting at a terminal. */
static int
client_lines(struct client *c, bool interactive)
{
	char *line = NULL, addr[ECHOD_ADDRSTRLEN];
	size_t cap = 0, rlen;
	ssize_t n;
	int rc = CLIENT_OK;

	if (interactive)
		printf("Sending to %s port %s (%s)\n", c->host, c->port,
		    addr_format(c->cur->ai_addr, addr, sizeof(addr)));
	for (;;) {
		if (interactive) {
			fputs(CLIENT_PROMPT, stdout);
			fflush(stdout);
		}
		if ((n = getline(&line, &cap, stdin)) == -1)
			break;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((rc = client_exchange(c, line, n, &rlen)) != CLIENT_OK) {
			client_report(c, rc);
			break;
		}
		client_print(c->reply, rlen, interactive);
	}
	if (interactive && rc == CLIENT_OK)
		putchar('\n');
	free(line);
	return rc == CLIENT_OK ? 0 : 1;
}

/* TLS option ch (--name): only where there is TLS; usage errors exit 2. */
static void
client_tls_option(struct client *c, int ch, const char *name, const char *arg)
{
	const char *p = c->ops->progname;

	if (c->ops->tls == NULL) {
		fprintf(stderr, "%s: --%s: built without OpenSSL\n", p, name);
		exit(2);
	}
	switch (ch) {
	case CLIENT_OPT_TLS:
		c->tls = true;
		break;
	case CLIENT_OPT_CAFILE:
		c->tlsopt.cafile = arg;
		break;
	case CLIENT_OPT_INSECURE:
		c->tlsopt.insecure = true;
		break;
	case CLIENT_OPT_SERVERNAME:
		if (*arg == '\0') {
			fprintf(stderr, "%s: --servername: empty\n", p);
			exit(2);
		}
		c->tlsopt.servername = arg;
		break;
	case CLIENT_OPT_TLS_VERSION:
		if (strcmp(arg, "1.2") == 0)
			c->tlsopt.version = 12;
		else if (strcmp(arg, "1.3") == 0)
			c->tlsopt.version = 13;
		else {
			fprintf(stderr, "%s: --tls-version: not 1.2 or "
			    "1.3: %s\n", p, arg);
			exit(2);
		}
		break;
	}
}

/* The TLS options hang together: usage errors exit 2. */
static void
client_tls_check(const struct client *c)
{
	const char *p = c->ops->progname;
	const struct client_tls_options *o = &c->tlsopt;

	if (!c->tls && (o->cafile != NULL || o->insecure ||
	    o->servername != NULL || o->version != 0)) {
		fprintf(stderr, "%s: --%s: only with --tls\n", p,
		    o->cafile != NULL ? "cafile" : o->insecure ? "insecure" :
		    o->servername != NULL ? "servername" : "tls-version");
		exit(2);
	}
	if (o->cafile != NULL && o->insecure) {
		fprintf(stderr, "%s: --cafile and --insecure: one or the "
		    "other\n", p);
		exit(2);
	}
}

int
client_main(int argc, char *argv[], const struct client_ops *ops)
{
	static const struct option tls_longopts[] = {
		{ "tls", no_argument, NULL, CLIENT_OPT_TLS },
		{ "cafile", required_argument, NULL, CLIENT_OPT_CAFILE },
		{ "insecure", no_argument, NULL, CLIENT_OPT_INSECURE },
		{ "servername", required_argument, NULL,
		    CLIENT_OPT_SERVERNAME },
		{ "tls-version", required_argument, NULL,
		    CLIENT_OPT_TLS_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	static const char shortopts[] = "46hlm:w:";
	bool tcp = ops->socktype == SOCK_STREAM;
	struct client c = {
		.ops = ops,
		.port = CLIENT_DEFAULT_PORT,
		.family = AF_UNSPEC,
		.wait = CLIENT_DEFAULT_WAIT,
		.fd = -1,
	};
	struct addrinfo hints;
	const char *message = NULL;
	char *end;
	size_t rlen;
	int ch, li, rc, status;

	/* The UDP client has no long options, so parses as it always has. */
	while ((ch = tcp ? getopt_long(argc, argv, shortopts, tls_longopts,
	    &li) : getopt(argc, argv, shortopts)) != -1) {
		switch (ch) {
		case CLIENT_OPT_TLS:
		case CLIENT_OPT_CAFILE:
		case CLIENT_OPT_INSECURE:
		case CLIENT_OPT_SERVERNAME:
		case CLIENT_OPT_TLS_VERSION:
			client_tls_option(&c, ch, tls_longopts[li].name,
			    optarg);
			break;
		case '4':
			c.family = AF_INET;
			break;
		case '6':
			c.family = AF_INET6;
			break;
		case 'h':
			usage(ops, stdout, 0);
		case 'l':
			if (ops->socktype != SOCK_STREAM) {
				fprintf(stderr, "%s: -l: each datagram is one "
				    "message already\n", ops->progname);
				exit(2);
			}
			c.line = true;
			break;
		case 'm':
			message = optarg;
			break;
		case 'w':
			c.wait = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(c.wait > 0) ||
			    c.wait > 86400) {
				fprintf(stderr, "%s: -w: not a number of seconds "
				    "between 0 and 86400: %s\n", ops->progname,
				    optarg);
				exit(2);
			}
			break;
		default:
			usage(ops, stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		usage(ops, stderr, 2);
	c.host = argv[0];
	if (argc == 2)
		c.port = argv[1];
	client_tls_check(&c);
	if (c.tls && c.tlsopt.servername == NULL)
		c.tlsopt.servername = c.host;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = c.family;
	hints.ai_socktype = ops->socktype;
	if ((rc = getaddrinfo(c.host, c.port, &hints, &c.addrs)) != 0) {
		fprintf(stderr, "%s: %s port %s: %s\n", ops->progname, c.host,
		    c.port, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return 1;
	}
	if (c.tls && ops->tls->init(&c.tlsopt, ops->progname) == -1) {
		freeaddrinfo(c.addrs);
		return 1;
	}
	c.cur = c.addrs;
	/* Like the lab's client, connect before the first prompt. */
	if ((rc = client_connect(&c)) != CLIENT_OK) {
		client_report(&c, rc);
		status = 1;
	} else if (message != NULL) {
		rc = client_exchange(&c, message, strlen(message), &rlen);
		if (rc == CLIENT_OK)
			client_print(c.reply, rlen, false);
		else
			client_report(&c, rc);
		status = rc == CLIENT_OK ? 0 : 1;
	} else
		status = client_lines(&c, isatty(STDIN_FILENO));
	client_close(&c);
	if (c.tls)
		ops->tls->done();
	freeaddrinfo(c.addrs);
	free(c.reply);
	free(c.msg);
	return status;
}
