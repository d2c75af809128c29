/*
 * admit.c: the main thread's books on TCP connections (see admit.h), and
 * pausing accept(2) when descriptors run short.  Out of descriptors, a
 * pending connection keeps the listening socket readable, and libevent's
 * evconnlistener would call accept() again at once, for ever: every
 * listener that admits connections is paused instead (ops->pause),
 * until a connection closes or, after EMFILE, a timer says to try again.
 */
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "acl.h"
#include "admit.h"
#include "guard.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "server_state.h"
#include "util.h"

/* Open connections from one address. */
struct peer {
	struct peer *next;
	unsigned char addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	uint64_t count;
};

/* Buckets of the address table: a class, or a scan, fits in a few per
 * bucket; entries exist only while connections do. */
#define PEER_BUCKETS 4096

static void
admit_retry_cb(evutil_socket_t fd, short what, void *arg);

int
admit_init(struct echod_server *srv)
{
	struct admission *adm = &srv->adm;

	adm->peers = calloc(PEER_BUCKETS, sizeof(*adm->peers));
	adm->retry = evtimer_new(srv->base, admit_retry_cb, srv);
	if (getrandom(&adm->seed, sizeof(adm->seed), 0) != sizeof(adm->seed))
		adm->seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15;
	adm->fd_cap = UINT64_MAX;
	return adm->peers == NULL || adm->retry == NULL ? -1 : 0;
}

int64_t
admit_fds_in_use(void)
{
	DIR *d;
	int64_t n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and d's own */
}

int
admit_size(struct echod_server *srv)
{
	struct admission *adm = &srv->adm;
	const struct listener *l;
	int64_t counted = admit_fds_in_use();
	uint64_t in_use = counted >= 0 ? (uint64_t)counted : 64, max;
	struct rlimit rl;
	bool tcp = false;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		tcp = tcp || l->ops->connections;
	if (!tcp || getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return 0;
	/* After a reload, connections are open: they count as room. */
	in_use = in_use > adm->open ? in_use - adm->open : 0;
	if (rl.rlim_cur <= in_use + ADMIT_FD_RESERVE) {
		log_errorx("descriptor limit %llu leaves no room for "
		    "connections: %llu in use, %d kept in reserve",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)in_use, ADMIT_FD_RESERVE);
		return -1;
	}
	adm->fd_cap = rl.rlim_cur - in_use - ADMIT_FD_RESERVE;
	max = (uint64_t)srv->config->limits.max_connections;
	if (max == 0 || max > adm->fd_cap)
		log_warnx("descriptors allow %llu connections, fewer than "
		    "max_connections (%s): accepting will pause there",
		    (unsigned long long)adm->fd_cap,
		    max == 0 ? "no limit" : "more");
	else
		log_debug("descriptors allow %llu connections",
		    (unsigned long long)adm->fd_cap);
	/* The console's pages take descriptors from the same pool. */
	max = (uint64_t)srv->config->console.max_viewers;
	if (srv->config->console.port != 0 && max > adm->fd_cap / 2)
		log_warnx("console: max_viewers (%llu) may take more than half "
		    "the descriptors echo clients need (room for %llu "
		    "connections in all): lower it, or raise the descriptor "
		    "limit", (unsigned long long)max,
		    (unsigned long long)adm->fd_cap);
	return 0;
}

uint64_t
admit_paused_ms(const struct admission *adm)
{
	struct timespec now;

	if (!adm->pausing)
		return adm->paused_ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return adm->paused_ms + (uint64_t)(now.tv_sec -
	    adm->pause_began.tv_sec) * 1000 +
	    (now.tv_nsec - adm->pause_began.tv_nsec) / 1000000;
}

/* A pause is over (a connection was accepted, or echod stops). */
static void
admit_pause_over(struct admission *adm)
{
	adm->paused_ms = admit_paused_ms(adm);
	adm->pausing = false;
}

void
admit_fini(struct echod_server *srv)
{
	struct admission *adm = &srv->adm;
	struct peer *p, *next;
	size_t i;

	admit_pause_over(adm);
	if (adm->pauses > 0)
		log_info("accepting paused %llu times, %llu ms in all",
		    (unsigned long long)adm->pauses,
		    (unsigned long long)adm->paused_ms);

	for (i = 0; adm->peers != NULL && i < PEER_BUCKETS; i++)
		for (p = adm->peers[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	free(adm->peers);
	if (adm->retry != NULL)
		event_free(adm->retry);
}

/* The bucket of key. */
static struct peer **
peer_bucket(struct admission *adm, const unsigned char key[16])
{
	return &adm->peers[addr_key_hash(key, adm->seed) % PEER_BUCKETS];
}

/* The entry for key; with create, made if missing (NULL if no memory). */
static struct peer *
peer_find(struct admission *adm, const unsigned char key[16], bool create)
{
	struct peer **b, *p;

	b = peer_bucket(adm, key);
	for (p = *b; p != NULL; p = p->next)
		if (memcmp(p->addr, key, 16) == 0)
			return p;
	if (!create || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	memcpy(p->addr, key, 16);
	p->next = *b;
	*b = p;
	return p;
}

static void
peer_forget(struct admission *adm, struct peer *gone)
{
	struct peer **pp;

	for (pp = peer_bucket(adm, gone->addr); *pp != gone; pp = &(*pp)->next)
		;
	*pp = gone->next;
	free(gone);
}

/* Enable or disable every listener's accepting, where it can pause. */
static void
admit_listen(struct echod_server *srv, bool on)
{
	struct listener *l;

	srv->adm.paused = !on;
	TAILQ_FOREACH(l, &srv->listeners, entry)
		if (l->ops->pause != NULL)
			l->ops->pause(l, !on);
}

/* For a listener starting while paused. */
bool
admit_paused(const struct echod_server *srv)
{
	return srv->adm.paused;
}

static void
admit_resume(struct echod_server *srv)
{
	if (!srv->adm.paused)
		return;
	evtimer_del(srv->adm.retry);
	admit_listen(srv, true);
}

static void
admit_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	admit_resume(arg);
}

void
admit_pause(struct echod_server *srv, int why)
{
	struct admission *adm = &srv->adm;
	struct timeval tv = { 0, ADMIT_RETRY_MS * 1000 };
	uint64_t held;

	if (!adm->pausing) {
		adm->pausing = true;
		adm->pauses++;
		clock_gettime(CLOCK_MONOTONIC, &adm->pause_began);
		if (log_limit_pass(&adm->pause_log[why != 0], &held))
			log_warnx("accept: %s; pausing new connections (%llu "
			    "pauses so far)", why != 0 ? strerror(why) :
			    "descriptors for connections all in use",
			    (unsigned long long)adm->pauses);
	}
	if (!adm->paused)
		admit_listen(srv, false);
	if (why != 0)
		evtimer_add(adm->retry, &tv);
}

bool
admit_client(struct listener *l, const struct sockaddr *sa,
    unsigned char count_key[16], struct guard_refusal *r,
    enum admit_step step)
{
	static const struct acl anyone;
	struct echod_server *srv = l->server;
	struct admission *adm = &srv->adm;
	const struct echod_limits *lim = &l->conf->limits;
	const struct listener *sib;
	struct guard_tcp g = {
		.acl = step == ADMIT_CONNECTION ? &anyone : &l->conf->acl,
		.open = adm->open,
	};
	unsigned char key[16];
	struct peer *p = NULL;

	admit_pause_over(adm);
	addr_key(sa, key);
	memset(count_key, 0, 16);
	if (step != ADMIT_PEER) {
		g.max = (uint64_t)srv->config->limits.max_connections;
		g.listener_max = (uint64_t)lim->max_connections;
	}
	/* The configured listener's: a name may have several addresses. */
	if (g.listener_max > 0)
		TAILQ_FOREACH(sib, &srv->listeners, entry)
			if (sib->conf == l->conf)
				g.listener_open += sib->open;
	if (step != ADMIT_CONNECTION) {
		g.peer_max = (uint64_t)lim->max_connections_per_ip;
		addr_key_prefix(key, srv->config->ipv6_prefix, count_key);
		if ((p = peer_find(adm, count_key, false)) != NULL)
			g.peer_open = p->count;
	}
	if (!guard_tcp_client(&g, key, r))
		return false;
	if (step != ADMIT_CONNECTION) {
		if (p == NULL &&
		    (p = peer_find(adm, count_key, true)) == NULL) {
			r->why = REFUSED_LIMIT;
			snprintf(r->what, sizeof(r->what), "out of memory");
			return false;
		}
		p->count++;
	}
	if (step == ADMIT_PEER)
		return true; /* counted as a connection when accepted */
	l->open++;
	l->accepted++;
	if (++adm->open >= adm->fd_cap)
		admit_pause(srv, 0);
	return true;
}

void
admit_release(struct listener *l, const unsigned char count_key[16])
{
	struct echod_server *srv = l->server;
	struct admission *adm = &srv->adm;
	struct peer *p;

	adm->open--;
	l->open--;
	if (count_key != NULL && (p = peer_find(adm, count_key, false)) !=
	    NULL && --p->count == 0)
		peer_forget(adm, p);
	/* A descriptor is free again. */
	if (adm->open < adm->fd_cap)
		admit_resume(srv);
}
