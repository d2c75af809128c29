/*
 * ring.c: the console's ring of messages and its scoreboard (ring.h).
 *
 * One mutex guards both.  Workers hold it for a copy of at most
 * 2 * RING_TEXT bytes and a scoreboard update; the main thread for one
 * message's copy per ring_next, or one scoreboard snapshot.  The
 * listener names never change once made and their array never moves,
 * so the main thread reads them without the lock.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

/* A listener's entry in the scoreboard: its addresses in the order they
 * came, and an open-addressing index into them by hash. */
struct ring_listener {
	struct ring_listener_info info;
	uint64_t messages, unlisted;
	struct ring_address *addrs;
	size_t naddrs, cap;
	uint32_t *index;	/* position + 1 in addrs; 0: empty */
	size_t index_size;	/* a power of two, twice cap at least */
};

struct ring {
	pthread_mutex_t lock;
	struct ring_msg *slots;
	size_t size;		/* slots; 0: off */
	uint64_t newest;	/* the last id pushed */
	uint64_t held;		/* messages in slots: min(newest, size) */
	bool on;		/* size > 0, read without the lock */
	bool wake_pending;	/* wake_fd written, ring_woken not yet */
	int wake_fd;
	uint64_t seed;		/* for the address index */
	size_t naddrs;		/* over every listener */
	struct ring_listener *listeners[RING_LISTENERS];
	uint32_t nlisteners;
};

struct ring *
ring_new(int wake_fd)
{
	struct ring *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->wake_fd = wake_fd;
	if (getrandom(&r->seed, sizeof(r->seed), 0) != sizeof(r->seed))
		r->seed = (uint64_t)getpid();
	return r;
}

void
ring_free(struct ring *r)
{
	uint32_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nlisteners; i++) {
		free(r->listeners[i]->addrs);
		free(r->listeners[i]->index);
		free(r->listeners[i]);
	}
	free(r->slots);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int
ring_resize(struct ring *r, size_t history)
{
	struct ring_msg *slots = NULL;
	uint64_t id;
	size_t keep;

	if (history > RING_HISTORY_LIMIT)
		history = RING_HISTORY_LIMIT;
	if (history > 0 &&
	    (slots = calloc(history, sizeof(*slots))) == NULL)
		return -1;
	pthread_mutex_lock(&r->lock);
	keep = r->held < history ? (size_t)r->held : history;
	for (id = r->newest - keep + 1; id <= r->newest && keep > 0; id++)
		slots[id % history] = r->slots[id % r->size];
	free(r->slots);
	r->slots = slots;
	r->size = history;
	r->held = keep;
	__atomic_store_n(&r->on, history > 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

bool
ring_on(const struct ring *r)
{
	return __atomic_load_n(&r->on, __ATOMIC_RELAXED);
}

/* Under the lock: the scoreboard entry for name and transform, made if
 * new; NULL past RING_LISTENERS or out of memory. */
static struct ring_listener *
ring_listener_find(struct ring *r, struct ring_source *src, const void *key,
    const char *full_name, const char *full_transform)
{
	struct ring_listener_info want;
	const char *name = want.name, *transform = want.transform;
	struct ring_listener *rl;
	uint32_t i;

	/* Compared as kept: a long chain's name is cut to fit. */
	snprintf(want.name, sizeof(want.name), "%s", full_name);
	snprintf(want.transform, sizeof(want.transform), "%s",
	    full_transform);

	/* A hint: a reload may make a new config where an old one was. */
	if (src->key == key && src->index > 0 &&
	    strcmp(r->listeners[src->index - 1]->info.transform,
	    transform) == 0)
		return r->listeners[src->index - 1];
	for (i = 0; i < r->nlisteners; i++) {
		rl = r->listeners[i];
		if (strcmp(rl->info.name, name) == 0 &&
		    strcmp(rl->info.transform, transform) == 0)
			break;
	}
	if (i == r->nlisteners) {
		if (i == RING_LISTENERS ||
		    (rl = calloc(1, sizeof(*rl))) == NULL)
			return NULL;
		rl->info = want;
		r->listeners[r->nlisteners++] = rl;
	}
	src->key = key;
	src->index = i + 1;
	return r->listeners[i];
}

/* Under the lock: make rl's index twice as large, or start it. */
static int
ring_index_grow(struct ring_listener *rl, uint64_t seed)
{
	size_t size = rl->index_size == 0 ? 32 : rl->index_size * 2, i, h;
	struct ring_address *addrs;
	uint32_t *index;

	if ((index = calloc(size, sizeof(*index))) == NULL ||
	    (addrs = realloc(rl->addrs, size / 2 * sizeof(*addrs))) == NULL) {
		free(index);
		return -1;
	}
	for (i = 0; i < rl->naddrs; i++) {
		h = addr_key_hash(addrs[i].addr, seed) & (size - 1);
		while (index[h] != 0)
			h = (h + 1) & (size - 1);
		index[h] = (uint32_t)i + 1;
	}
	free(rl->index);
	rl->index = index;
	rl->index_size = size;
	rl->addrs = addrs;
	rl->cap = size / 2;
	return 0;
}

/* Under the lock: count a message from key on rl. */
static void
ring_count(struct ring *r, struct ring_listener *rl, const unsigned char *key,
    int64_t now)
{
	struct ring_address *a;
	size_t h;

	rl->messages++;
	if (rl->index_size > 0) {
		h = addr_key_hash(key, r->seed) & (rl->index_size - 1);
		for (; rl->index[h] != 0; h = (h + 1) & (rl->index_size - 1)) {
			a = &rl->addrs[rl->index[h] - 1];
			if (memcmp(a->addr, key, 16) == 0) {
				a->messages++;
				a->last_ms = now;
				return;
			}
		}
	}
	if (r->naddrs >= RING_ADDRESSES || (rl->naddrs == rl->cap &&
	    ring_index_grow(rl, r->seed) == -1)) {
		rl->unlisted++;
		return;
	}
	h = addr_key_hash(key, r->seed) & (rl->index_size - 1);
	while (rl->index[h] != 0)
		h = (h + 1) & (rl->index_size - 1);
	a = &rl->addrs[rl->naddrs++];
	rl->index[h] = (uint32_t)rl->naddrs;
	r->naddrs++;
	memcpy(a->addr, key, 16);
	a->messages = 1;
	a->first_ms = a->last_ms = now;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ring_push(struct ring *r, struct ring_source *src, const void *key,
    const char *name, const char *transform, const struct sockaddr *peer,
    const unsigned char *msg, const unsigned char *reply, size_t len)
{
	const uint64_t one = 1;
	struct ring_listener *rl;
	struct ring_msg *m;
	unsigned char from[16];
	int64_t now = wall_ms();
	bool wake;

	addr_key(peer, from);
	pthread_mutex_lock(&r->lock);
	if (r->size == 0 || (rl = ring_listener_find(r, src, key, name,
	    transform)) == NULL) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	ring_count(r, rl, from, now);
	m = &r->slots[++r->newest % r->size];
	if (r->held < r->size)
		r->held++;
	m->id = r->newest;
	m->time_ms = now;
	memcpy(m->from, from, 16);
	m->from_port = ntohs(peer->sa_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)peer)->sin6_port :
	    ((const struct sockaddr_in *)peer)->sin_port);
	m->length = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	m->kept = (uint16_t)(len < RING_TEXT ? len : RING_TEXT);
	m->listener = src->index - 1;
	memcpy(m->message, msg, m->kept);
	memcpy(m->reply, reply, m->kept);
	wake = !r->wake_pending;
	r->wake_pending = true;
	pthread_mutex_unlock(&r->lock);
	/* Full only if the main thread is stuck; it is woken anyway. */
	if (wake && write(r->wake_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		return;
}

void
ring_woken(struct ring *r)
{
	uint64_t n;

	if (read(r->wake_fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->lock);
	r->wake_pending = false;
	pthread_mutex_unlock(&r->lock);
}

bool
ring_next(struct ring *r, uint64_t *cursor, const unsigned char *from,
    struct ring_msg *m, uint64_t *missed)
{
	uint64_t id, oldest;
	bool found = false;

	*missed = 0;
	pthread_mutex_lock(&r->lock);
	if (r->size == 0) {
		*cursor = r->newest;
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	if (*cursor > r->newest) /* a Last-Event-ID from before a restart */
		*cursor = r->newest;
	oldest = r->newest - r->held + 1;
	if (*cursor == 0) /* a reader new to the ring: nothing missed */
		*cursor = oldest - 1;
	if (*cursor + 1 < oldest) {
		*missed = oldest - *cursor - 1;
		*cursor = oldest - 1;
	}
	/* At most RING_SCAN slots under the lock the workers wait on. */
	for (id = *cursor + 1; id <= r->newest && id <= *cursor + RING_SCAN;
	    id++) {
		if (from == NULL ||
		    memcmp(r->slots[id % r->size].from, from, 16) == 0) {
			*m = r->slots[id % r->size];
			found = true;
			break;
		}
	}
	*cursor = found ? id : id - 1;
	pthread_mutex_unlock(&r->lock);
	return found;
}

uint64_t
ring_newest(struct ring *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->newest;
	pthread_mutex_unlock(&r->lock);
	return n;
}

const struct ring_listener_info *
ring_listener(const struct ring *r, uint32_t index)
{
	return &r->listeners[index]->info;
}

int
ring_scores(struct ring *r, struct ring_score **scores, size_t *n)
{
	struct ring_listener *rl;
	struct ring_score *s;
	uint32_t i;

	*scores = NULL;
	*n = 0;
	pthread_mutex_lock(&r->lock);
	if (r->nlisteners > 0 &&
	    (*scores = calloc(r->nlisteners, sizeof(**scores))) == NULL)
		goto fail;
	for (i = 0; i < r->nlisteners; i++) {
		rl = r->listeners[i];
		s = &(*scores)[i];
		s->info = &rl->info;
		s->messages = rl->messages;
		s->unlisted = rl->unlisted;
		if (rl->naddrs > 0 && (s->addrs = malloc(rl->naddrs *
		    sizeof(*s->addrs))) == NULL)
			goto fail;
		memcpy(s->addrs, rl->addrs, rl->naddrs * sizeof(*s->addrs));
		s->naddrs = rl->naddrs;
		(*n)++;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
fail:
	pthread_mutex_unlock(&r->lock);
	ring_scores_free(*scores, *n);
	*scores = NULL;
	*n = 0;
	return -1;
}

void
ring_scores_free(struct ring_score *scores, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(scores[i].addrs);
	free(scores);
}
