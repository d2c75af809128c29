/*
 * ratelimit.c: per-address token buckets in a set-associative table
 * (see ratelimit.h).  Tokens are kept in thousandths, so that a rate of
 * a few datagrams a second still refills a little every millisecond.
 */
#include <sys/random.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"
#include "util.h"

#define RATE_SETS 1024
#define RATE_WAYS RATE_TABLE_WAYS /* 4096 addresses tracked, 160 KiB */

struct rate_entry {
	unsigned char key[16];
	uint64_t last_ms; /* 0: unused */
	uint64_t tokens;  /* thousandths of a datagram */
	uint64_t missed;  /* refused since the last pass */
};

struct rate_table {
	pthread_mutex_t lock;
	uint64_t rate, burst; /* burst in thousandths */
	uint64_t seed;
	struct rate_entry sets[RATE_SETS][RATE_WAYS];
};

struct rate_table *
rate_table_new(int rate, int burst)
{
	struct rate_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->rate = (uint64_t)rate;
	t->burst = (uint64_t)burst * 1000;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)getpid();
	return t;
}

void
rate_table_set(struct rate_table *t, int rate, int burst)
{
	pthread_mutex_lock(&t->lock);
	t->rate = (uint64_t)rate;
	t->burst = (uint64_t)burst * 1000;
	pthread_mutex_unlock(&t->lock);
}

void
rate_table_free(struct rate_table *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* key's entry in set, or the one it replaces, started with a full
 * bucket. */
static struct rate_entry *
rate_entry(struct rate_table *t, struct rate_entry *set,
    const unsigned char key[16], uint64_t now_ms)
{
	struct rate_entry *e, *oldest = &set[0];

	for (e = set; e < set + RATE_WAYS; e++) {
		if (e->last_ms != 0 && memcmp(e->key, key, 16) == 0)
			return e;
		if (e->last_ms < oldest->last_ms)
			oldest = e;
	}
	memcpy(oldest->key, key, 16);
	oldest->last_ms = now_ms;
	oldest->tokens = t->burst;
	oldest->missed = 0;
	return oldest;
}

bool
rate_table_take(struct rate_table *t, const unsigned char key[16],
    uint64_t now_ms)
{
	return rate_table_take_counted(t, key, now_ms, NULL);
}

bool
rate_table_take_counted(struct rate_table *t, const unsigned char key[16],
    uint64_t now_ms, uint64_t *missed)
{
	struct rate_entry *e;
	bool pass;

	now_ms++; /* never 0, which marks an unused entry */
	pthread_mutex_lock(&t->lock);
	e = rate_entry(t, t->sets[rate_table_set_index(t, key)], key, now_ms);
	if (now_ms > e->last_ms) {
		e->tokens += (now_ms - e->last_ms) * t->rate;
		if (e->tokens > t->burst)
			e->tokens = t->burst;
		e->last_ms = now_ms;
	}
	if ((pass = e->tokens >= 1000)) {
		e->tokens -= 1000;
		if (missed != NULL)
			*missed = e->missed;
		e->missed = 0;
	} else
		e->missed++;
	pthread_mutex_unlock(&t->lock);
	return pass;
}

size_t
rate_table_set_index(const struct rate_table *t, const unsigned char key[16])
{
	return addr_key_hash(key, t->seed) % RATE_SETS;
}
