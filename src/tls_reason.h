/*
 * tls_reason.h: the clients' words for an OpenSSL failure (echod-tcp
 * and echod-bench, each its own program).
 */
#ifndef ECHOD_TLS_REASON_H
#define ECHOD_TLS_REASON_H

#include <stddef.h>

/* The reason of the oldest error OpenSSL queued, in buf, and the queue
 * cleared; buf is returned. */
const char *tls_reason(char *buf, size_t len);

#endif
