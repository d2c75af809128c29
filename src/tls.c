/*
 * tls.c: TLS contexts and connections on OpenSSL 3 (tls.h), used
 * directly, not through libevent's bufferevent_openssl: the data path
 * stays listener_tcp.c's, and libevent 2.1's layer neither takes OpenSSL
 * 3's unexpected EOF as an EOF nor sends close_notify.
 *
 * The non-blocking rules (PITFALLS.md): SSL_read may need to write and
 * SSL_write to read (conn_io's *_wants_* flags carry that to the event
 * loop); bytes OpenSSL has decrypted but not handed over do not make
 * the socket readable (the pending op); a write OpenSSL could not finish
 * is retried from the connection's own buffer, which may have moved and
 * grown (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER); a peer that closes
 * without close_notify is an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF).  The
 * error queue is per thread: it is emptied before each call, so that a
 * connection never reads another's error.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_io.h"
#include "tls.h"

#ifdef HAVE_OPENSSL

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_context {
	SSL_CTX *ssl_ctx;
	int keylog_fd; /* -1: no key log */
	time_t not_after;
};

bool
tls_available(const char **why)
{
	*why = NULL;
	return true;
}

/* OpenSSL's newest error in words, the queue emptied. */
static void
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = ERR_reason_error_string(e);

	snprintf(buf, len, "%s", reason != NULL ? reason : "unknown error");
	ERR_clear_error();
}

/* SSL_CTX_set_keylog_callback's: one NSS key log line, written whole
 * (O_APPEND: lines from several workers never interleave). */
static void
tls_keylog(const SSL *ssl, const char *line)
{
	const struct tls_context *ctx =
	    SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct iovec iov[2] = {
		{ (void *)line, strlen(line) }, { (void *)"\n", 1 },
	};

	if (ctx->keylog_fd != -1)
		(void)!writev(ctx->keylog_fd, iov, 2);
}

/* SSL_CTX_set_info_callback's: a client's renegotiation, refused with
 * a no_renegotiation alert, breaks its connection (tls_recv), so that it
 * is counted and logged as any other violation. */
static void
tls_info(const SSL *ssl, int where, int ret)
{
	struct conn_io *io;

	if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT &&
	    (ret & 0xff) == SSL_AD_NO_RENEGOTIATION &&
	    (io = SSL_get_app_data(ssl)) != NULL)
		io->violation = "renegotiation refused";
}

/* Can path be opened for reading?  If not, why in err. */
static bool
readable(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/*
 * The key log file, appended to.  One echod creates is mode 0600 and,
 * when echod runs as root, the user's it drops to, so that a reload can
 * open it again; one that is there already is left as it is.
 */
static int
keylog_open(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC, fd, e;

	if ((fd = open(path, flags | O_CREAT | O_EXCL, 0600)) != -1 &&
	    geteuid() == 0 && fchown(fd, uid, gid) == -1) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	} else if (fd == -1 && errno == EEXIST)
		fd = open(path, flags);
	if (fd == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

/* The certificate's notAfter, as a time_t. */
static time_t
cert_not_after(SSL_CTX *ssl_ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ssl_ctx);
	struct tm tm;

	if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return timegm(&tm);
}

struct tls_context *
tls_context_new(const char *certificate, const char *key, const char *keylog,
    uid_t uid, gid_t gid, enum tls_setting *which, char *err, size_t errlen)
{
	struct tls_context *ctx;
	SSL_CTX *s;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		*which = TLS_CERTIFICATE;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctx->keylog_fd = -1;
	ERR_clear_error();
	if ((ctx->ssl_ctx = s = SSL_CTX_new(TLS_server_method())) == NULL) {
		*which = TLS_CERTIFICATE;
		tls_error(err, errlen);
		goto fail;
	}
	SSL_CTX_set_app_data(s, ctx);
	/* TLS 1.2 and 1.3, default ciphers, at security level 2 (RSA of
	 * 2048 bits or more, or P-256) whatever openssl.cnf says. */
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_security_level(s, 2);
	/* A renegotiation is refused; a missing close_notify is an EOF. */
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	/* Replies go out as the kernel takes them, retried from the
	 * connection's buffer; an idle connection holds no buffers. */
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* A record's header and body, and the records after it, in one read
	 * of the socket (tls_recv). */
	SSL_CTX_set_read_ahead(s, 1);
	/* Each connection is its own: no session cache to grow. */
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(s, 0);
	SSL_CTX_set_info_callback(s, tls_info);

	*which = TLS_CERTIFICATE;
	if (!readable(certificate, err, errlen))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(s, certificate) != 1) {
		tls_error(err, errlen);
		goto fail;
	}
	*which = TLS_KEY;
	if (!readable(key, err, errlen))
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
		tls_error(err, errlen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(s) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match the certificate %s",
		    key, certificate);
		goto fail;
	}
	ctx->not_after = cert_not_after(s);
	if (keylog != NULL) {
		*which = TLS_KEYLOG;
		if ((ctx->keylog_fd = keylog_open(keylog, uid, gid, err,
		    errlen)) == -1)
			goto fail;
		SSL_CTX_set_keylog_callback(s, tls_keylog);
	}
	return ctx;
fail:
	tls_context_free(ctx);
	return NULL;
}

void
tls_context_free(struct tls_context *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	if (ctx->keylog_fd != -1)
		close(ctx->keylog_fd);
	free(ctx);
}

time_t
tls_context_not_after(const struct tls_context *ctx)
{
	return ctx->not_after;
}

/*
 * What a failed SSL_read (reading) or SSL_write with result r means, as
 * a conn_io call's result: -1 with errno EAGAIN, having noted when the
 * call waits on the other direction; 0 for an EOF (a close_notify, or a
 * close without one); or -1 with errno for the end of the connection.
 */
static int
tls_result(struct conn_io *io, int r, bool reading)
{
	unsigned long e;

	switch (SSL_get_error(io->tls, r)) {
	case SSL_ERROR_WANT_READ:
		if (!reading)
			io->send_wants_read = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			io->recv_wants_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno == 0 ? 0 : -1;
	default:
		e = ERR_peek_last_error();
		io->violation = ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "a TLS protocol error";
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static int
tls_handshake(struct conn_io *io, char *why, size_t len)
{
	BIO *rbio;
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(io->tls)) == 1) {
		io->recv_wants_write = false;
		return 1;
	}
	switch (SSL_get_error(io->tls, r)) {
	case SSL_ERROR_WANT_READ:
		io->recv_wants_write = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		io->recv_wants_write = true;
		return 0;
	case SSL_ERROR_SSL:
		tls_error(why, len);
		return -1;
	default:
		/* Gone: a scan or a health check that sent nothing is no
		 * failure worth a word (why empty). */
		ERR_clear_error();
		rbio = SSL_get_rbio(io->tls);
		if (rbio != NULL && BIO_number_read(rbio) == 0)
			snprintf(why, len, "%s", "");
		else
			snprintf(why, len, "%s", errno != 0 ? strerror(errno) :
			    "the client closed the connection mid-handshake");
		return -1;
	}
}

/*
 * Up to n bytes, asking the socket as seldom as it can: OpenSSL reads
 * ahead (a record's header, its body and what follows, in one read),
 * and the records it holds are taken without asking again.  Once n
 * bytes are taken, whatever it still holds is io->more, for pending:
 * epoll cannot know of it.  So is an EOF (a close_notify) or an error
 * read with the last bytes: the next call returns it.
 */
static ssize_t
tls_recv(struct conn_io *io, void *p, size_t n)
{
	size_t got = 0, want;
	int r;

	io->recv_wants_write = io->more = false;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		want = n - got > INT_MAX ? INT_MAX : n - got;
		r = SSL_read(io->tls, (char *)p + got, (int)want);
		if (io->violation != NULL) { /* tls_info: a renegotiation */
			errno = EPROTO;
			return -1;
		}
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == n) {
			io->more = SSL_has_pending(io->tls) == 1;
			return (ssize_t)got;
		}
		if (SSL_has_pending(io->tls) != 1)
			return (ssize_t)got;
	}
	if (got > 0) {
		/* An EOF or error comes with the next call, which nothing
		 * else would bring about: OpenSSL has read it already. */
		io->more = SSL_get_error(io->tls, r) != SSL_ERROR_WANT_READ;
		ERR_clear_error();
		return (ssize_t)got;
	}
	return tls_result(io, r, true);
}

static ssize_t
tls_send(struct conn_io *io, const void *p, size_t n)
{
	int r;

	ERR_clear_error();
	errno = 0;
	io->send_wants_read = false;
	if ((r = SSL_write(io->tls, p, n > INT_MAX ? INT_MAX : (int)n)) > 0)
		return r;
	if ((r = tls_result(io, r, false)) == 0) {
		errno = EPIPE; /* closed: nothing more can be sent */
		r = -1;
	}
	return r;
}

/* close_notify, at most once, and only on a connection still sound. */
static void
tls_notify(struct conn_io *io)
{
	SSL *ssl = io->tls;

	if (!SSL_is_init_finished(ssl) ||
	    (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0)
		return;
	ERR_clear_error();
	/* 0: sent, the peer's not yet come; -1: the socket is full or
	 * broken, and then no more can be done for it here. */
	(void)SSL_shutdown(ssl);
	ERR_clear_error();
}

static int
tls_shutdown(struct conn_io *io, bool clean)
{
	if (clean)
		tls_notify(io);
	return shutdown(io->fd, SHUT_WR);
}

/* What recv left in OpenSSL's hands for want of room. */
static size_t
tls_pending(const struct conn_io *io)
{
	return io->more ? 1 : 0;
}

/* The socket's unread bytes, and OpenSSL's (at least 1 if it holds any,
 * decrypted or not). */
static size_t
tls_unread(const struct conn_io *io)
{
	int n = SSL_pending(io->tls);

	if (n <= 0)
		n = SSL_has_pending(io->tls) == 1;
	return conn_io_socket_unread(io->fd) + (size_t)n;
}

static bool
tls_all_acked(const struct conn_io *io)
{
	return conn_io_socket_acked(io->fd);
}

static void
tls_close(struct conn_io *io, bool clean)
{
	/* Input not answered: a close_notify would call it complete. */
	if (clean && tls_unread(io) == 0)
		tls_notify(io);
	SSL_free(io->tls);
	io->tls = NULL;
	close(io->fd);
	io->fd = -1;
}

static const struct conn_io_ops conn_io_tls = {
	.handshake = tls_handshake,
	.recv = tls_recv,
	.send = tls_send,
	.shutdown = tls_shutdown,
	.unread = tls_unread,
	.pending = tls_pending,
	.all_acked = tls_all_acked,
	.close = tls_close,
};

int
conn_io_tls_init(struct conn_io *io, struct tls_context *ctx, int fd)
{
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(ctx->ssl_ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(ssl);
	SSL_set_app_data(ssl, io);
	io->ops = &conn_io_tls;
	io->fd = fd;
	io->tls = ssl;
	io->recv_wants_write = io->send_wants_read = io->more = false;
	io->violation = NULL;
	return 0;
}

const char *
conn_io_tls_describe(const struct conn_io *io, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", SSL_get_version(io->tls),
	    SSL_get_cipher_name(io->tls));
	return buf;
}

#else /* !HAVE_OPENSSL */

bool
tls_available(const char **why)
{
	*why = "echod was built without OpenSSL";
	return false;
}

struct tls_context *
tls_context_new(const char *certificate, const char *key, const char *keylog,
    uid_t uid, gid_t gid, enum tls_setting *which, char *err, size_t errlen)
{
	const char *why;

	(void)certificate;
	(void)key;
	(void)keylog;
	(void)uid;
	(void)gid;
	(void)tls_available(&why);
	*which = TLS_CERTIFICATE;
	snprintf(err, errlen, "%s", why);
	return NULL;
}

void
tls_context_free(struct tls_context *ctx)
{
	(void)ctx;
}

time_t
tls_context_not_after(const struct tls_context *ctx)
{
	(void)ctx;
	return 0;
}

int
conn_io_tls_init(struct conn_io *io, struct tls_context *ctx, int fd)
{
	(void)io;
	(void)ctx;
	(void)fd;
	errno = ENOSYS;
	return -1;
}

const char *
conn_io_tls_describe(const struct conn_io *io, char *buf, size_t len)
{
	(void)io;
	snprintf(buf, len, "%s", "no TLS");
	return buf;
}

#endif /* HAVE_OPENSSL */
