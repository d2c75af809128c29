/*
 * worker.c: worker threads, their loops and their inboxes.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

/* Run every task in w's inbox, in the order they were posted. */
static void
worker_drain(struct worker *w)
{
	struct worker_task *t, *next;

	pthread_mutex_lock(&w->lock);
	t = w->inbox;
	w->inbox = NULL;
	w->inbox_tail = &w->inbox;
	pthread_mutex_unlock(&w->lock);
	for (; t != NULL; t = next) {
		next = t->next;
		t->run(t);
	}
}

/* Make w's loop run worker_wake_cb. */
static void
worker_wake(struct worker *w)
{
	static const uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: wake-up", w->id);
}

static void
worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t n;
	bool stopping;

	(void)what;
	/* Reset the count before taking the list: a post that lands in
	 * between then wakes the loop again instead of being missed. */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %u: wake-up", w->id);
	worker_drain(w);
	pthread_mutex_lock(&w->lock);
	stopping = w->stopping;
	pthread_mutex_unlock(&w->lock);
	if (stopping)
		event_base_loopbreak(w->base);
}

int
worker_init(struct worker *w, struct echod_server *srv, unsigned int id)
{
	struct event_config *cfg;

	w->server = srv;
	w->id = id;
	w->wake_fd = -1;
	w->inbox_tail = &w->inbox;
	pthread_mutex_init(&w->lock, NULL);
	if ((w->rbuf = malloc(WORKER_READ_SIZE)) == NULL ||
	    (cfg = event_config_new()) == NULL)
		return -1;
	/* Only this worker's thread will touch the base: no locks. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		return -1;
	/* Worker 0's inbox takes connections that workers have closed. */
	if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST,
	    worker_wake_cb, w);
	if (w->wake_ev == NULL || event_add(w->wake_ev, NULL) == -1)
		return -1;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	if (event_base_dispatch(w->base) == -1)
		log_warnx("worker %u: the event loop failed", w->id);
	return NULL;
}

int
worker_start(struct worker *w)
{
	sigset_t all, old;
	int rc;

	/* Signals belong to the main thread's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	w->started = true;
	return 0;
}

void
worker_post(struct worker *w, struct worker *self, struct worker_task *t)
{
	bool was_empty;

	if (w == self) {
		t->run(t);
		return;
	}
	t->next = NULL;
	pthread_mutex_lock(&w->lock);
	was_empty = w->inbox == NULL;
	*w->inbox_tail = t;
	w->inbox_tail = &t->next;
	pthread_mutex_unlock(&w->lock);
	/* An inbox that was not empty has a wake-up on its way already. */
	if (was_empty)
		worker_wake(w);
}

/* On w's thread: its loop turns. */
static void
worker_beat_run(struct worker_task *t)
{
	struct worker *w = (struct worker *)(void *)((char *)t -
	    offsetof(struct worker, beat));

	__atomic_store_n(&w->beat_asked, false, __ATOMIC_RELEASE);
}

bool
worker_answers(struct worker *w, struct worker *self)
{
	if (__atomic_load_n(&w->beat_asked, __ATOMIC_ACQUIRE))
		return false;
	/* Set before the post: the worker may run it at once. */
	__atomic_store_n(&w->beat_asked, true, __ATOMIC_RELAXED);
	w->beat.run = worker_beat_run;
	worker_post(w, self, &w->beat);
	return true;
}

const struct timeval *
worker_timeout(struct worker *w, const struct timeval *tv)
{
	const struct timeval *common;

	if (tv->tv_sec == 0 && tv->tv_usec == 0)
		return NULL;
	/* Found again if made before; a plain timeout past libevent's 256
	 * shared ones (a reload at a time, each with a new value). */
	common = event_base_init_common_timeout(w->base, tv);
	return common != NULL ? common : tv;
}

void
worker_stop(struct worker *w)
{
	if (!w->started) {
		worker_drain(w); /* worker 0: on its own thread, at rest */
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_mutex_unlock(&w->lock);
	worker_wake(w);
	pthread_join(w->thread, NULL);
	w->started = false;
	/* Posted after the loop's last look: run here, on a loop at rest. */
	worker_drain(w);
}

void
worker_fini(struct worker *w)
{
	if (w->server == NULL)
		return; /* server_new failed before worker_init reached it */
	if (w->wake_ev != NULL)
		event_free(w->wake_ev);
	if (w->wake_fd != -1)
		close(w->wake_fd);
	if (w->base != NULL)
		event_base_free(w->base);
	free(w->rbuf);
	free(w->udp);
	pthread_mutex_destroy(&w->lock);
}
