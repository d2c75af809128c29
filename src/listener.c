/*
 * listener.c: turns a configured listener into bound sockets.  Name
 * resolution lives here, the socket comes from sockets.c, and serving is
 * left to the protocol's ops, found in listener_ops_table[].
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "ratelimit.h"
#include "server_state.h"
#include "sockets.h"
#include "worker.h"

/* Every protocol echod serves, by the name the config gives it. */
static const struct listener_ops *const listener_ops_table[] = {
	&listener_tcp_ops,
	&listener_udp_ops,
	NULL,
};

/* Looked up by name: a new protocol is one more entry in the table. */
const struct listener_ops *
listener_ops_for(const struct echod_listener_config *lc)
{
	const char *name = config_protocol_name(lc->protocol);
	size_t i;

	for (i = 0; listener_ops_table[i] != NULL; i++)
		if (strcmp(listener_ops_table[i]->name, name) == 0)
			return listener_ops_table[i];
	fatalx("protocol %s: no listener serves it", name);
}

/* A listener with a zeroed shard for each of srv's workers. */
static struct listener *
listener_new(struct echod_server *srv)
{
	struct listener *l;
	unsigned int i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->server = srv;
	l->fd = -1;
	l->shards = aligned_alloc(_Alignof(struct shard),
	    srv->nworkers * sizeof(*l->shards));
	if (l->shards == NULL) {
		free(l);
		return NULL;
	}
	memset(l->shards, 0, srv->nworkers * sizeof(*l->shards));
	for (i = 0; i < srv->nworkers; i++) {
		l->shards[i].listener = l;
		l->shards[i].worker = &srv->workers[i];
		l->shards[i].fd = -1;
		LIST_INIT(&l->shards[i].conns);
	}
	return l;
}


/*
 * socket_per_worker: l->fd (passed by systemd if passed) and the rest of
 * its group to the shards, one each.  Where there are fewer sockets than workers, the first goes to
 * worker port % workers, so that several such listeners spread out.
 * -1 if out of memory.
 */
static int
listener_group(struct listener *l, bool passed)
{
	unsigned int n = l->server->nworkers, k, j, first;
	int *fds;

	if ((fds = calloc(n, sizeof(*fds))) == NULL)
		return -1;
	k = sockets_group(l->server->sockets, l->fd, passed, fds, n, l->name);
	first = k < n ? (unsigned int)l->port % n : 0;
	for (j = 0; j < k; j++)
		l->shards[(first + j) % n].fd = fds[j];
	free(fds);
	return 0;
}

/* True if ai's address already appears earlier in the list from head. */
static bool
addrinfo_seen(const struct addrinfo *head, const struct addrinfo *ai)
{
	for (; head != ai; head = head->ai_next)
		if (addr_equal(head->ai_addr, ai->ai_addr))
			return true;
	return false;
}

int
listener_open(struct echod_server *srv, struct listener_list *list,
    const struct echod_listener_config *lc, int port, bool *in_use,
    char *err, size_t errlen)
{
	const struct listener_ops *ops = listener_ops_for(lc);
	struct addrinfo hints, *res, *ai;
	struct listener *l, *mark = TAILQ_LAST(list, listener_list);
	char name[ECHOD_ADDRSTRLEN + 16], service[8], addr[ECHOD_ADDRSTRLEN];
	bool passed;
	int rc, fd;

	*in_use = false;
	config_listener_name(lc, name, sizeof(name));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = ops->socktype;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(lc->address, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", name,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (addrinfo_seen(res, ai))
			continue;
		addr_format(ai->ai_addr, addr, sizeof(addr));
		snprintf(name, sizeof(name), "%s %s", ops->name, addr);
		if ((fd = sockets_open(srv->sockets, ai->ai_socktype,
		    ai->ai_addr, ai->ai_addrlen, lc->ipv6_only, &passed, name,
		    err, errlen)) == -1) {
			*in_use = errno == EADDRINUSE;
			break;
		}
		if ((l = listener_new(srv)) == NULL) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			close(fd);
			break;
		}
		l->conf = lc;
		config_ref(lc->config);
		l->fd = fd;
		l->port = port;
		l->ops = ops;
		if ((l->log_rate = rate_table_new(lc->limits.log_rate,
		    lc->limits.log_burst)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			listener_free(l); /* closes fd */
			break;
		}
		l->wildcard = addr_is_wildcard(ai->ai_addr);
		snprintf(l->name, sizeof(l->name), "%s", name);
		if (ops->socket_per_worker && listener_group(l, passed) == -1) {
			snprintf(err, errlen, "%s: out of memory", name);
			listener_free(l);
			break;
		}
		TAILQ_INSERT_TAIL(list, l, entry);
	}
	freeaddrinfo(res);
	if (ai == NULL)
		return 0;
	/* All of the name's addresses or none. */
	listener_close_after(list, mark);
	return -1;
}

int
listener_start(struct listener *l)
{
	char err[512];

	if (l->ops->start(l, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}
	l->started = true;
	return 0;
}

void
listener_switch(struct listener *l, const struct echod_listener_config *lc)
{
	const struct echod_listener_config *old = l->conf;

	l->next = lc;
	config_ref(lc->config);
	rate_table_set(l->log_rate, lc->limits.log_rate, lc->limits.log_burst);
	if (l->started && l->ops->switch_conf != NULL)
		l->ops->switch_conf(l);
	l->conf = lc;
	l->next = NULL;
	config_unref(old->config);
}

void
listener_retire(struct listener *l)
{
	struct echod_server *srv = l->server;

	TAILQ_REMOVE(&srv->listeners, l, entry);
	TAILQ_INSERT_TAIL(&srv->retired, l, entry);
	l->retired = true;
	if (l->started)
		l->ops->retire(l);
	listener_settle(l);
}

void
listener_settle(struct listener *l)
{
	if (l->retired && l->busy == 0 && l->open == 0) {
		TAILQ_REMOVE(&l->server->retired, l, entry);
		listener_free(l);
	}
}

/* Back on the main thread: the errand is done. */
static void
shard_errand_done(struct worker_task *t)
{
	struct shard *sh = (struct shard *)(void *)t;
	struct listener *l = sh->listener;
	struct echod_server *srv = l->server;

	/* What the worker switched from, or was never handed. */
	if (sh->next_lc != NULL) {
		config_unref(sh->next_lc->config);
		sh->next_lc = NULL;
	}
	if (--l->busy == 0)
		listener_settle(l);
	if (--srv->errands == 0)
		server_errands_done(srv);
}

/* On the shard's worker. */
static void
shard_errand_run(struct worker_task *t)
{
	struct shard *sh = (struct shard *)(void *)t;
	struct echod_server *srv = sh->listener->server;

	sh->errand(sh);
	sh->job.run = shard_errand_done;
	worker_post(&srv->workers[0], sh->worker, &sh->job);
}

void
listener_errand(struct listener *l, void (*errand)(struct shard *))
{
	struct echod_server *srv = l->server;
	struct shard *sh;
	unsigned int i;

	/* One errand at a time: each shard has one job to send. */
	if (l->busy > 0)
		fatalx("%s: an errand while one is under way", l->name);
	for (i = 0; i < srv->nworkers; i++) {
		sh = &l->shards[i];
		sh->errand = errand;
		sh->job.run = shard_errand_run;
		l->busy++;
		srv->errands++;
		worker_post(sh->worker, &srv->workers[0], &sh->job);
	}
}

/* Protocols with nothing to finish off stop with the loops. */
void
listener_wind_down(struct listener *l)
{
	if (l->ops->wind_down == NULL)
		return;
	listener_errand(l, l->ops->wind_down);
	listener_retire(l);
}

void
listener_close_after(struct listener_list *list, struct listener *mark)
{
	struct listener *l;

	while ((l = TAILQ_LAST(list, listener_list)) != mark) {
		TAILQ_REMOVE(list, l, entry);
		listener_free(l);
	}
}

void
listener_log_message(struct shard *sh, const struct echod_listener_config *lc,
    const struct sockaddr *peer, const unsigned char *buf, size_t len)
{
	char from[ECHOD_ADDRSTRLEN], text[ESCAPE_BUFSIZE(ECHOD_LOG_LENGTH_LIMIT)];
	char missed[96] = "";
	unsigned char key[16];
	uint64_t n = 0;

	if (lc->limits.log_rate > 0) {
		addr_key(peer, key);
		addr_key_prefix(key, lc->config->ipv6_prefix, key);
		if (!rate_table_take_counted(sh->listener->log_rate, key,
		    clock_ms(), &n)) {
			COUNT(sh->unlogged, 1);
			return;
		}
		if (n > 0)
			snprintf(missed, sizeof(missed), " (%llu earlier "
			    "message%s over log_rate not logged)",
			    (unsigned long long)n, n == 1 ? "" : "s");
	}
	log_info("%s: Received from %s: %s%s", sh->listener->name,
	    addr_format_peer(peer, from, sizeof(from)),
	    str_escape(buf, len, lc->log_length, text), missed);
}

void
listener_answer(struct shard *sh, const struct echod_listener_config *lc,
    const struct sockaddr *peer, unsigned char *msg, size_t len)
{
	struct ring *ring = sh->listener->server->ring;
	unsigned char kept[RING_TEXT];
	bool logged = lc->log_messages && peer != NULL;
	bool show = logged && ring_on(ring);

	if (logged)
		listener_log_message(sh, lc, peer, msg, len);
	if (show)
		memcpy(kept, msg, len < RING_TEXT ? len : RING_TEXT);
	transform_chain_apply(lc->transform, msg, len);
	if (show)
		ring_push(ring, &sh->ring_src, lc, sh->listener->name,
		    config_transform_name(lc), peer, kept, msg, len);
}

void
listener_refused(struct shard *sh, const struct sockaddr *peer,
    enum refusal why, const char *what)
{
	char from[ECHOD_ADDRSTRLEN];

	COUNT(sh->refused[why], 1);
	log_limited(&sh->refused_log[why], ECHOD_LOG_INFO, "%s: refused %s: %s",
	    sh->listener->name, addr_format_peer(peer, from, sizeof(from)),
	    what);
}

void
listener_stats(const struct listener *l, struct listener_stats *st)
{
	const struct shard *sh;
	unsigned int i, k;

	memset(st, 0, sizeof(*st));
	st->accepted = l->accepted;
	st->open = l->open;
	st->proxy = l->conf->proxy_protocol;
	st->tls = l->conf->tls != NULL;
	for (i = 0; i < l->server->nworkers; i++) {
		sh = &l->shards[i];
		st->messages_in += COUNTED(sh->messages_in);
		st->bytes_in += COUNTED(sh->bytes_in);
		st->messages_out += COUNTED(sh->messages_out);
		st->bytes_out += COUNTED(sh->bytes_out);
		st->dropped += COUNTED(sh->dropped);
		st->idle_closed += COUNTED(sh->idle_closed);
		st->unlogged += COUNTED(sh->unlogged);
		for (k = 0; k < REFUSED_KINDS; k++)
			st->refused[k] += COUNTED(sh->refused[k]);
	}
}

char *
listener_refused_more(const struct listener_stats *st, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (st->proxy || st->refused[REFUSED_PROXY] > 0)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
		    ", %llu for PROXY",
		    (unsigned long long)st->refused[REFUSED_PROXY]);
	if (st->tls || st->refused[REFUSED_TLS] > 0)
		(void)snprintf(buf + n, n < len ? len - n : 0, ", %llu for TLS",
		    (unsigned long long)st->refused[REFUSED_TLS]);
	return buf;
}

char *
listener_stats_text(const struct listener *l, const struct listener_stats *st,
    char *buf, size_t len)
{
	l->ops->stats_text(st, buf, len);
	return buf;
}

void
listener_free(struct listener *l)
{
	struct echod_server *srv = l->server;
	struct listener_stats st;
	char text[512];
	unsigned int i;

	l->ops->stop(l);
	/* Never served: nothing to report. */
	if (l->announced) {
		listener_stats(l, &st);
		log_info("closed %s: %s", l->name,
		    listener_stats_text(l, &st, text, sizeof(text)));
	}
	for (i = 0; i < srv->nworkers; i++) {
		if (l->shards[i].lc != NULL)
			config_unref(l->shards[i].lc->config);
		if (l->shards[i].next_lc != NULL)
			config_unref(l->shards[i].next_lc->config);
	}
	config_unref(l->conf->config);
	rate_table_free(l->log_rate);
	free(l->shards);
	free(l);
}
