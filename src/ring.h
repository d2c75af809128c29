/*
 * ring.h: the class console's memory of messages.  Workers push each
 * message of a listener with log_messages, and the reply echod made to
 * it, into a ring of a fixed number of slots; the console's viewers, on
 * the main thread, read it through cursors (a message's id), so that
 * nothing is copied per viewer and a viewer that falls behind the ring
 * only learns how many messages it missed.  Alongside, a scoreboard
 * counts, per listener, the messages and the addresses that sent them,
 * for the instructor's page: who found which port.
 *
 * Every bound is fixed: RING_TEXT bytes of a message and of its reply,
 * the history the config asks for, RING_LISTENERS listeners and
 * RING_ADDRESSES addresses in the scoreboard (beyond, only counted).
 */
#ifndef ECHOD_RING_H
#define ECHOD_RING_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_TEXT 128		/* bytes kept of a message and of its reply */
#define RING_HISTORY_LIMIT 100000 /* history's ceiling */
#define RING_LISTENERS 1024	/* in the scoreboard */
#define RING_ADDRESSES 65536	/* in the scoreboard, over every listener */
#define RING_SCAN 4096		/* messages ring_next looks at in one go */

struct ring;

/* One message as it was answered. */
struct ring_msg {
	uint64_t id;		  /* 1, 2, ...: one sequence for all */
	int64_t time_ms;	  /* wall clock, when it was answered */
	unsigned char from[16];	  /* the sender, as addr_key() gives it */
	uint16_t from_port;
	uint16_t kept;		  /* bytes of message and reply kept */
	uint32_t length;	  /* the message's whole length */
	uint32_t listener;	  /* ring_listener()'s index */
	unsigned char message[RING_TEXT], reply[RING_TEXT];
};

/* A listener as the console names it; never changes once made. */
struct ring_listener_info {
	char name[80];		/* "udp 127.0.0.1:12000", as in the log */
	char transform[64];	/* "upper", a chain "upper,rot13" */
};

/* A worker's memo of which scoreboard entry its listener is, so that a
 * push need not look it up: zero it to start. */
struct ring_source {
	const void *key;	/* what the memo is for (a listener config) */
	uint32_t index;		/* its entry, plus one; 0: none yet */
};

/* A ring that keeps nothing until ring_resize; wake_fd (an eventfd the
 * caller watches) is written when messages come in, at most once until
 * ring_woken.  NULL if out of memory. */
struct ring *ring_new(int wake_fd);
void ring_free(struct ring *);
/* Keep history messages from now on, the newest of those held kept;
 * 0 keeps none and pushes are ignored.  -1 if out of memory (then
 * nothing changed). */
int ring_resize(struct ring *, size_t history);
/* Is anything kept?  Cheap, for the workers' hot path. */
bool ring_on(const struct ring *);

/*
 * A worker: message msg[0..len-1] from peer was answered with reply
 * (of the same length) by the listener named name with transform; the
 * first RING_TEXT bytes of each are kept.  src memoizes the listener's
 * entry for key.
 */
void ring_push(struct ring *, struct ring_source *src, const void *key,
    const char *name, const char *transform, const struct sockaddr *peer,
    const unsigned char *msg, const unsigned char *reply, size_t len);
/* The main thread, when wake_fd was written: push may write it again. */
void ring_woken(struct ring *);

/*
 * The first message after *cursor sent from the address from (NULL:
 * any), copied into m: true, and *cursor is its id.  False when there
 * is none among the next RING_SCAN messages: *cursor is then the last
 * one looked at, the newest id unless ring_newest() says more are left
 * to look at (so the next call looks only at what came since).  A
 * cursor of 0 starts at the oldest message held.  If messages after *cursor are gone from the ring, *missed says
 * how many (from any sender), and reading goes on from the oldest held.
 */
bool ring_next(struct ring *, uint64_t *cursor, const unsigned char *from,
    struct ring_msg *m, uint64_t *missed);
/* The newest id pushed (0: none yet). */
uint64_t ring_newest(struct ring *);
/* Listener index's name and transform. */
const struct ring_listener_info *ring_listener(const struct ring *,
    uint32_t index);

/* The scoreboard, read at once under the ring's lock. */
struct ring_address {
	unsigned char addr[16];
	uint64_t messages;
	int64_t first_ms, last_ms;
};
struct ring_score {
	const struct ring_listener_info *info;
	uint64_t messages;
	uint64_t unlisted;	/* messages from addresses past the bound */
	size_t naddrs;		/* distinct addresses listed in addrs */
	struct ring_address *addrs; /* in the order they first came */
};
/* Every listener's score, in a new array of *n (free it with
 * ring_scores_free); -1 if out of memory. */
int ring_scores(struct ring *, struct ring_score **scores, size_t *n);
void ring_scores_free(struct ring_score *scores, size_t n);

#endif
