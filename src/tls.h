/*
 * tls.h: TLS for tcp listeners with a tls group, on OpenSSL 3.  A
 * listener's certificate, key and key log make one context, built when
 * its config is loaded and freed with it, so that a connection keeps
 * the context it was accepted under across reloads.  A connection's
 * TLS is a conn_io (conn_io.h): the state machine in listener_tcp.c
 * runs unchanged over it.
 */
#ifndef ECHOD_TLS_H
#define ECHOD_TLS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct conn_io;
struct tls_context;

/* Can echod serve TLS at all?  If not, *why says why. */
bool tls_available(const char **why);

/* The setting a context could not be built from. */
enum tls_setting {
	TLS_CERTIFICATE,
	TLS_KEY,
	TLS_KEYLOG,
};

/*
 * Build the context of a tls group: read its certificate (chain) and
 * key, check that they match, and open its key log (NULL: none),
 * created mode 0600 and, when echod runs as root, given to uid and gid
 * (who echod will run as), so that a reload after the drop can open it
 * again.  NULL on failure, with the setting at fault in *which and why
 * in err.
 */
struct tls_context *tls_context_new(const char *certificate,
    const char *key, const char *keylog, uid_t uid, gid_t gid,
    enum tls_setting *which, char *err, size_t errlen);
void tls_context_free(struct tls_context *ctx);
/* When the certificate stops being valid. */
time_t tls_context_not_after(const struct tls_context *ctx);

/* Make io a TLS server connection on fd under ctx (which the
 * connection's config keeps alive); -1 if out of memory. */
int conn_io_tls_init(struct conn_io *io, struct tls_context *ctx, int fd);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384": what a ready connection speaks. */
const char *conn_io_tls_describe(const struct conn_io *io, char *buf,
    size_t len);

#endif
