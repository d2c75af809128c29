/*
 * http.h: one HTTP listener on the main loop, served by libmicrohttpd
 * (HACKING.md says why that library and how it is driven).  echod
 * accepts, so that running out of descriptors pauses accepting as it
 * does for echo clients instead of spinning; libmicrohttpd parses and
 * answers, within limits on connections in all and per address, a
 * timeout of silence and a memory pool per connection.  Only GET (and
 * HEAD) is served, and a request has no body.  Every response carries
 * the headers that keep a browser from reading more into it than it
 * says (no sniffing, no caching, no referrer, nothing from elsewhere).
 *
 * Built without libmicrohttpd, http_open fails and says so; config.c
 * refuses the settings that would need it before that.
 */
#ifndef ECHOD_HTTP_H
#define ECHOD_HTTP_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct http;
struct http_request;
struct http_stream;

/* What one HTTP listener's clients may take. */
struct http_limits {
	unsigned int connections; /* open at once, in all */
	unsigned int per_ip;	  /* open at once from one address */
	unsigned int timeout;	  /* seconds without a byte either way */
	unsigned int deadline;	  /* seconds to send a request's headers,
				   * however slowly they trickle in */
	size_t memory;		  /* a connection's pool: request, headers,
				   * reply headers; over it, 431 or 414 */
	int sndbuf;		  /* SO_SNDBUF of each connection; 0: the
				   * kernel's own, which grows to MBs */
};

/* May the client at sa connect at all?  Asked right after accept(2),
 * before it has sent anything; false closes it at once. */
typedef bool (*http_admit_cb)(void *arg, const struct sockaddr *sa);
/* A GET for path from the client at sa: answer with http_reply. */
typedef void (*http_get_cb)(void *arg, struct http_request *req,
    const char *path, const struct sockaddr *sa);

/* Is HTTP built in?  If not, why not, for config errors. */
bool http_available(const char **why);
/*
 * Serve HTTP on fd, a bound, listening, non-blocking socket that the
 * listener takes (it closes it, whatever happens), on base, named name
 * in the log ("metrics 127.0.0.1:9464").  NULL with err if it cannot.
 */
struct http *http_open(struct event_base *base, int fd, const char *name,
    const struct http_limits *lim, http_admit_cb admit, http_get_cb get,
    void *arg, char *err, size_t errlen);
/* Answer req with status and len bytes of body of type content_type
 * (NULL for none); -1 if out of memory, and the client gets a 500. */
int http_reply(struct http_request *req, unsigned int status,
    const char *content_type, const char *body, size_t len);
/* The value of req's header name, or NULL if it has none. */
const char *http_header(struct http_request *req, const char *name);

/*
 * A stream's next bytes: at most max into buf, and the count written;
 * 0 when there is nothing to send now (the stream sleeps until
 * http_stream_wake); -1 to end it.  max is at least HTTP_STREAM_MIN
 * unless the client's own request left too little room in its pool.
 */
typedef long (*http_fill_cb)(void *arg, char *buf, size_t max);
#define HTTP_STREAM_MIN 2048
/*
 * Answer req with a 200 stream of content_type, its body fill's bytes as
 * the client takes them, for as long as fill has more.  done(arg) is
 * called once when it is over, whatever ended it (NULL if the stream
 * could not start: then -1, and done is not called).
 */
struct http_stream *http_reply_stream(struct http_request *req,
    const char *content_type, http_fill_cb fill, void (*done)(void *),
    void *arg);
/* Call a sleeping stream's fill again soon; nothing if it is awake. */
void http_stream_wake(struct http_stream *);
/* End the stream at its next turn, whatever fill has; done follows. */
void http_stream_end(struct http_stream *);

/* The listening socket, still h's. */
int http_fd(const struct http *h);
/* Close the listener and every connection; h may be NULL. */
void http_free(struct http *h);

#endif
