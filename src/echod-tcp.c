/*
 * echod-tcp.c: the TCP client.  One connection carries every message;
 * the reply to a message is as many bytes as the message had, since
 * echod's transforms keep lengths.
 *
 * With --tls the same exchange runs over a TLS session (OpenSSL 3, TLS
 * 1.2 or 1.3): the certificate is verified against the system's CAs or
 * --cafile and against the server's name, which goes out as SNI unless
 * it is an address.  The socket stays non-blocking, so each SSL call
 * that cannot go on says what to wait for, and waits end at the same
 * deadlines as the plain client's.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#endif

#include "client.h"
#include "tls_reason.h"
#include "util.h"

#ifdef HAVE_OPENSSL
/* One client, one connection at a time. */
static struct {
	SSL_CTX *ctx;
	SSL *ssl;	  /* the current connection's session */
	bool broken;	  /* ssl failed: no close_notify on it */
	bool verify;	  /* not --insecure */
	bool numeric;	  /* name is an address: no SNI */
	const char *name; /* --servername, or the host */
} tls;

static void
tcp_tls_done(void)
{
	SSL_CTX_free(tls.ctx);
	tls.ctx = NULL;
}

static int
tcp_tls_init(const struct client_tls_options *o, const char *progname)
{
	char why[256];
	int lo = TLS1_2_VERSION, hi = TLS1_3_VERSION;

	/* OpenSSL writes to the socket without MSG_NOSIGNAL: a server
	 * gone would kill the client where the plain one sees EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (o->version == 12)
		hi = TLS1_2_VERSION;
	else if (o->version == 13)
		lo = TLS1_3_VERSION;
	if ((tls.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(tls.ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(tls.ctx, hi) != 1) {
		fprintf(stderr, "%s: TLS: %s\n", progname,
		    tls_reason(why, sizeof(why)));
		tcp_tls_done();
		return -1;
	}
	/* A server that closes without close_notify has still closed; a
	 * reply cut short shows as a short reply all the same. */
	SSL_CTX_set_options(tls.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_TICKET);
	tls.verify = !o->insecure;
	tls.name = o->servername;
	tls.numeric = addr_is_numeric(o->servername);
	if (!tls.verify) {
		fprintf(stderr, "%s: warning: --insecure: the server's "
		    "certificate is not verified\n", progname);
		SSL_CTX_set_verify(tls.ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_CTX_set_verify(tls.ctx, SSL_VERIFY_PEER, NULL);
	if (o->cafile != NULL ?
	    SSL_CTX_load_verify_locations(tls.ctx, o->cafile, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(tls.ctx) != 1) {
		fprintf(stderr, "%s: %s%s: %s\n", progname,
		    o->cafile != NULL ? "--cafile " : "the system's CAs",
		    o->cafile != NULL ? o->cafile : "",
		    tls_reason(why, sizeof(why)));
		tcp_tls_done();
		return -1;
	}
	return 0;
}

/*
 * After an SSL call returned ret: wait for what it wants (CLIENT_OK to
 * call again), or say how it failed, what first.  err is errno as the
 * call left it.
 */
static int
tls_wait(struct client *c, int ret, int err, const char *what)
{
	char why[256];

	switch (SSL_get_error(tls.ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return client_wait(c, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return client_wait(c, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		return CLIENT_CLOSED; /* close_notify, or EOF */
	case SSL_ERROR_SYSCALL:
		tls.broken = true;
		if (err == 0 && ERR_peek_error() == 0)
			return CLIENT_CLOSED;
		if (err == 0)
			return client_tls_failed(c, "%s: %s", what,
			    tls_reason(why, sizeof(why)));
		errno = err;
		return CLIENT_ERROR;
	default:
		tls.broken = true;
		return client_tls_failed(c, "%s: %s", what,
		    tls_reason(why, sizeof(why)));
	}
}

/* Why the handshake failed (rc), for the report. */
static int
tls_handshake_failed(struct client *c, int rc)
{
	long v = SSL_get_verify_result(tls.ssl);
	bool mismatch = v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH;

	tls.broken = true;
	if (tls.verify && v != X509_V_OK)
		return client_tls_failed(c, "certificate verification failed: "
		    "%s%s%s", X509_verify_cert_error_string(v),
		    mismatch ? ": the certificate is not for " : "",
		    mismatch ? tls.name : "");
	switch (rc) {
	case CLIENT_CLOSED:
		return client_tls_failed(c, "TLS handshake: the server closed "
		    "the connection");
	case CLIENT_ERROR:
		return client_tls_failed(c, "TLS handshake: %s",
		    strerror(errno));
	default:
		return rc; /* CLIENT_TLS, with why; CLIENT_TIMEOUT */
	}
}

static int
tcp_tls_start(struct client *c)
{
	char why[256];
	int n, err, rc;

	ERR_clear_error();
	tls.broken = false;
	if ((tls.ssl = SSL_new(tls.ctx)) == NULL ||
	    SSL_set_fd(tls.ssl, client_fd(c)) != 1 ||
	    (!tls.numeric &&
		SSL_set_tlsext_host_name(tls.ssl, tls.name) != 1) ||
	    (tls.verify && SSL_set1_host(tls.ssl, tls.name) != 1)) {
		tls.broken = true;
		return client_tls_failed(c, "TLS: %s",
		    tls_reason(why, sizeof(why)));
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_connect(tls.ssl)) == 1)
			return CLIENT_OK;
		err = errno;
		if ((rc = tls_wait(c, n, err, "TLS handshake")) != CLIENT_OK)
			return tls_handshake_failed(c, rc);
	}
}

static void
tcp_tls_stop(struct client *c)
{
	int n;

	if (tls.ssl == NULL)
		return;
	while (!tls.broken && SSL_is_init_finished(tls.ssl)) {
		ERR_clear_error();
		if ((n = SSL_shutdown(tls.ssl)) >= 0 ||
		    SSL_get_error(tls.ssl, n) != SSL_ERROR_WANT_WRITE ||
		    client_wait(c, POLLOUT) != CLIENT_OK)
			break;
	}
	ERR_clear_error();
	SSL_free(tls.ssl);
	tls.ssl = NULL;
}

/* tcp_exchange over the session: whole message out, whole reply in. */
static int
tls_exchange(struct client *c, const char *msg, size_t len, char *reply,
    size_t *rlen)
{
	size_t sent = 0, n;
	int ok, err, rc;

	/* A write that must be called again is, with the same bytes. */
	while (sent < len) {
		ERR_clear_error();
		errno = 0;
		ok = SSL_write_ex(tls.ssl, msg + sent, len - sent, &n);
		err = errno;
		if (ok)
			sent += n;
		else if ((rc = tls_wait(c, ok, err, "TLS")) != CLIENT_OK)
			return rc;
	}
	for (*rlen = 0; *rlen < len;) {
		ERR_clear_error();
		errno = 0;
		ok = SSL_read_ex(tls.ssl, reply + *rlen, len - *rlen, &n);
		err = errno;
		if (ok)
			*rlen += n;
		else if ((rc = tls_wait(c, ok, err, "TLS")) != CLIENT_OK)
			return rc;
	}
	return CLIENT_OK;
}

static const struct client_tls_ops tcp_tls_ops = {
	.init = tcp_tls_init,
	.start = tcp_tls_start,
	.stop = tcp_tls_stop,
	.done = tcp_tls_done,
};
#endif

static int
tcp_exchange(struct client *c, const char *msg, size_t len, char *reply,
    size_t cap, size_t *rlen)
{
	size_t sent = 0;
	ssize_t n;
	int rc;

	(void)cap;
#ifdef HAVE_OPENSSL
	if (tls.ssl != NULL)
		return tls_exchange(c, msg, len, reply, rlen);
#endif
	while (sent < len) {
		if ((rc = client_wait(c, POLLOUT)) != CLIENT_OK)
			return rc;
		n = send(client_fd(c), msg + sent, len - sent, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return CLIENT_ERROR;
		if (n > 0)
			sent += n;
	}
	for (*rlen = 0; *rlen < len;) {
		if ((rc = client_wait(c, POLLIN)) != CLIENT_OK)
			return rc;
		n = recv(client_fd(c), reply + *rlen, len - *rlen, 0);
		if (n == 0)
			return CLIENT_CLOSED;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return CLIENT_ERROR;
		if (n > 0)
			*rlen += n;
	}
	return CLIENT_OK;
}

static const struct client_ops tcp_ops = {
	.progname = "echod-tcp",
	.socktype = SOCK_STREAM,
	.exchange = tcp_exchange,
#ifdef HAVE_OPENSSL
	.tls = &tcp_tls_ops,
#endif
};

int
main(int argc, char *argv[])
{
	return client_main(argc, argv, &tcp_ops);
}
