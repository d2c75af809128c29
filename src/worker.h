/*
 * worker.h: one event loop on one thread.  Worker 0 runs on the main
 * thread, which also accepts TCP connections and takes the signals;
 * workers 1..n-1 run threads of their own.  A worker's event_base has no
 * locks: nothing but its own thread touches it once it runs.  Work
 * reaches it from other threads through its inbox, a mutex-guarded list
 * plus an eventfd wake-up, taken once per connection and never per
 * message.
 */
#ifndef ECHOD_WORKER_H
#define ECHOD_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct echod_server;
struct timeval;
struct udp_batch;

/* A piece of work posted to a worker; embedded in what it carries. */
struct worker_task {
	struct worker_task *next;
	void (*run)(struct worker_task *);
};

/* One TCP read: larger than libevent's 4 KiB, as large as a socket
 * buffer usually holds. */
#define WORKER_READ_SIZE (64 * 1024)

struct worker {
	struct echod_server *server;
	unsigned int id; /* 0 is the main thread */
	struct event_base *base;
	pthread_t thread;
	bool started;		 /* thread running (id > 0) */
	unsigned char *rbuf;	 /* tcp: WORKER_READ_SIZE bytes, one read */
	struct udp_batch *udp;	 /* udp: recvmmsg arrays, made on first use */

	/* The inbox: posted by other threads, drained by this one. */
	pthread_mutex_t lock;
	struct worker_task *inbox, **inbox_tail;
	bool stopping;
	int wake_fd; /* eventfd */
	struct event *wake_ev;

	/* The watchdog's question, "does your loop still turn?": posted
	 * by the main thread, answered by running here. */
	struct worker_task beat;
	bool beat_asked; /* posted, not yet run (atomic) */
	bool late;	 /* last asked, not answered (main thread only) */
};

/* Set up a zeroed w (base, buffers, inbox); -1 if out of resources.
 * worker_fini undoes it, whether it failed or not. */
int worker_init(struct worker *w, struct echod_server *srv, unsigned int id);
/* Start w's thread (id > 0), with every signal blocked in it. */
int worker_start(struct worker *w);
/* Run t on w: at once if w is the calling thread's, else via the inbox. */
void worker_post(struct worker *w, struct worker *self,
    struct worker_task *t);
/* For the watchdog, on the main thread: has w run the last question
 * posted to it?  Then post the next and return true; else false, and w's
 * loop has not turned since the last call. */
bool worker_answers(struct worker *w, struct worker *self);
/* tv (seconds) as a timeout on w's loop, shared by every event that
 * uses the same one, so that libevent keeps them in a queue instead of
 * its heap; NULL for none if tv is zero.  On w's thread. */
const struct timeval *worker_timeout(struct worker *w,
    const struct timeval *tv);
/* Ask w's loop to return and wait for its thread, then run what is
 * left in its inbox, so that what the tasks carry is not lost.  For
 * worker 0, whose loop has returned, only the last part. */
void worker_stop(struct worker *w);
/* Release what worker_init took; w's loop must not be running. */
void worker_fini(struct worker *w);

#endif
