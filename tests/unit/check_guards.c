/*
 * check_guards.c: the pieces of echod's guards that need no socket:
 * allow/deny prefixes and their decision, the sources never answered,
 * the per-address token buckets and the log's rate limit, IPv6
 * prefixes, and guard.c's decisions: every reason, in their order.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "acl.h"
#include "config.h"
#include "guard.h"
#include "log.h"
#include "ratelimit.h"
#include "suites.h"
#include "util.h"

/* A socket address for text, IPv4 or IPv6. */
static union sockaddr_any
sa(const char *text)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.sin.sin_addr) == 1)
		a.sin.sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a.sin6.sin6_addr), 1);
		a.sin6.sin6_family = AF_INET6;
	}
	return a;
}

/* An acl from two NULL-ended lists of prefixes. */
static struct acl
acl_of(const char *const *allow, const char *const *deny)
{
	static struct acl_prefix a[8], d[8];
	struct acl acl = { { a, 0 }, { d, 0 } };
	char err[128];

	for (; allow != NULL && *allow != NULL; allow++)
		ck_assert_int_eq(acl_prefix_parse(*allow, &a[acl.allow.n++],
		    err, sizeof(err)), 0);
	for (; deny != NULL && *deny != NULL; deny++)
		ck_assert_int_eq(acl_prefix_parse(*deny, &d[acl.deny.n++], err,
		    sizeof(err)), 0);
	return acl;
}

static bool
permits(const struct acl *acl, const char *client)
{
	union sockaddr_any a = sa(client);
	unsigned char key[16];

	addr_key(&a.sa, key);
	return acl_permits(acl, key);
}

START_TEST(test_prefix_parse)
{
	struct acl_prefix p;
	char err[128];

	ck_assert_int_eq(acl_prefix_parse("10.0.0.0/8", &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_int_eq(p.bits, 8);
	ck_assert_int_eq(acl_prefix_parse("::1", &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_int_eq(p.bits, 128);
	ck_assert_int_eq(acl_prefix_parse("0.0.0.0/0", &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.bits, 0);
	/* An IPv4-mapped prefix is an IPv4 one. */
	ck_assert_int_eq(acl_prefix_parse("::ffff:10.0.0.0/104", &p, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_int_eq(p.bits, 8);
	ck_assert_int_eq(p.addr[0], 10);

	ck_assert_int_eq(acl_prefix_parse("10.1.0.0/8", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"10.1.0.0/8\" has bits set past its /8 prefix");
	ck_assert_int_eq(acl_prefix_parse("10.0.0.0/33", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"10.0.0.0/33\" is not an address or an "
	    "address/bits prefix");
	ck_assert_int_eq(acl_prefix_parse("10.0.0.0/", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(acl_prefix_parse("10.0.0.0/-1", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(acl_prefix_parse("lab-vm/24", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(acl_prefix_parse("", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(acl_prefix_parse("::/129", &p, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_acl_decision)
{
	static const char *const lab[] = { "10.0.0.0/8", "2001:db8::/32", NULL };
	static const char *const bad[] = { "10.0.5.0/24", "2001:db8::66", NULL };
	static const char *const exception[] = { "10.0.5.7", NULL };
	static const char *const tie[] = { "10.0.5.0/24", NULL };
	struct acl none = { { NULL, 0 }, { NULL, 0 } }, acl;

	ck_assert(permits(&none, "192.0.2.1"));
	ck_assert(permits(&none, "::1"));

	acl = acl_of(lab, bad);
	ck_assert(permits(&acl, "10.1.2.3"));
	ck_assert(!permits(&acl, "10.0.5.9"));	/* /24 deny beats /8 allow */
	ck_assert(!permits(&acl, "192.0.2.1")); /* an allow list: no match */
	ck_assert(permits(&acl, "2001:db8::1"));
	ck_assert(!permits(&acl, "2001:db8::66"));
	ck_assert(!permits(&acl, "2001:db9::1"));
	/* A dual-stack socket's IPv4 client matches IPv4 rules. */
	ck_assert(permits(&acl, "::ffff:10.1.2.3"));
	ck_assert(!permits(&acl, "::ffff:10.0.5.9"));

	/* A longer allow wins back one address of a denied /24. */
	acl = acl_of(exception, bad);
	ck_assert(permits(&acl, "10.0.5.7"));
	ck_assert(!permits(&acl, "10.0.5.8"));

	/* Deny only: everyone else is let in. */
	acl = acl_of(NULL, bad);
	ck_assert(permits(&acl, "192.0.2.1"));
	ck_assert(!permits(&acl, "10.0.5.1"));

	/* The same prefix in both: deny wins the tie. */
	acl = acl_of(tie, tie);
	ck_assert(!permits(&acl, "10.0.5.1"));
}
END_TEST

static bool
bogus(const char *text)
{
	union sockaddr_any a = sa(text);
	unsigned char key[16];

	addr_key(&a.sa, key);
	return addr_key_is_bogus_source(key);
}

START_TEST(test_bogus_sources)
{
	ck_assert(bogus("0.0.0.0"));
	ck_assert(bogus("0.1.2.3"));
	ck_assert(bogus("224.0.0.1"));
	ck_assert(bogus("239.255.255.250"));
	ck_assert(bogus("255.255.255.255"));
	ck_assert(bogus("::"));
	ck_assert(bogus("ff02::1"));
	ck_assert(bogus("::ffff:224.0.0.1"));
	/* Loopback clients are the lab's own: answered. */
	ck_assert(!bogus("127.0.0.1"));
	ck_assert(!bogus("::1"));
	ck_assert(!bogus("10.0.0.1"));
	ck_assert(!bogus("223.255.255.255"));
	ck_assert(!bogus("fe80::1"));
	ck_assert(!bogus("::ffff:127.0.0.1"));
}
END_TEST

START_TEST(test_addr_key)
{
	union sockaddr_any v4 = sa("192.0.2.7"), mapped = sa("::ffff:192.0.2.7");
	unsigned char a[16], b[16];

	addr_key(&v4.sa, a);
	addr_key(&mapped.sa, b);
	/* One client, whichever socket it reached. */
	ck_assert_mem_eq(a, b, 16);
	ck_assert_uint_eq(addr_key_hash(a, 1), addr_key_hash(b, 1));
	ck_assert_uint_ne(addr_key_hash(a, 1), addr_key_hash(a, 2));
}
END_TEST

START_TEST(test_rate_table)
{
	struct rate_table *t = rate_table_new(10, 3);
	union sockaddr_any one = sa("192.0.2.1"), two = sa("192.0.2.2");
	unsigned char k1[16], k2[16];
	uint64_t now = 1000000;
	int i, passed;

	ck_assert_ptr_nonnull(t);
	addr_key(&one.sa, k1);
	addr_key(&two.sa, k2);
	/* A burst of 3, then nothing until time passes. */
	for (i = 0, passed = 0; i < 10; i++)
		passed += rate_table_take(t, k1, now);
	ck_assert_int_eq(passed, 3);
	/* Another address has a bucket of its own. */
	ck_assert(rate_table_take(t, k2, now));
	/* 10 a second: one more every 100 ms, never more than the burst. */
	ck_assert(!rate_table_take(t, k1, now + 99));
	ck_assert(rate_table_take(t, k1, now + 100));
	ck_assert(!rate_table_take(t, k1, now + 100));
	for (i = 0, passed = 0; i < 10; i++)
		passed += rate_table_take(t, k1, now + 60000);
	ck_assert_int_eq(passed, 3);
	rate_table_free(t);
}
END_TEST

/*
 * Keys of n addresses from 10.0.0.0 up that fall in one set of t: the set
 * of the first.  About one address in 1024 does, so the search is
 * bounded well above what n needs.
 */
static void
rate_set_keys(const struct rate_table *t, unsigned char keys[][16], int n)
{
	union sockaddr_any a = sa("10.0.0.0");
	size_t set = 0;
	uint32_t i;
	int found = 0;

	for (i = 0; i < (1u << 24) && found < n; i++) {
		a.sin.sin_addr.s_addr = htonl(0x0a000000 + i);
		addr_key(&a.sa, keys[found]);
		if (found == 0)
			set = rate_table_set_index(t, keys[0]);
		if (rate_table_set_index(t, keys[found]) == set)
			found++;
	}
	ck_assert_int_eq(found, n);
}

/*
 * The table has a fixed size, yet an address that keeps sending stays
 * tracked while far more new ones than its set holds churn through it:
 * its drained bucket is remembered, so it stays refused.  A policy that
 * evicts a fixed slot, the most recent entry, or at random forgets it,
 * and it would pass again with a full bucket.  All within a second, at
 * one datagram a second, so no bucket refills.
 */
START_TEST(test_rate_table_bounded)
{
	struct rate_table *t = rate_table_new(1, 1);
	unsigned char keys[200][16];
	uint64_t now = 5000;
	int i;

	ck_assert_ptr_nonnull(t);
	rate_set_keys(t, keys, 200);
	ck_assert(rate_table_take(t, keys[0], now++));
	ck_assert(!rate_table_take(t, keys[0], now++));
	for (i = 1; i < 200; i++) {
		/* Each newcomer starts with a full bucket... */
		ck_assert(rate_table_take(t, keys[i], now++));
		/* ...and the one that keeps sending is still held back. */
		ck_assert_msg(!rate_table_take(t, keys[0], now++),
		    "the sending address was forgotten after %d newcomers", i);
	}
	ck_assert_uint_lt(now, 5000 + 1000);
	rate_table_free(t);
}
END_TEST

/*
 * A full set forgets the address seen least recently, not the one put in
 * first: fill a set, send again from its first address, and a newcomer
 * evicts the second.  Every address drained its bucket of one, so a
 * remembered one is refused and a forgotten one passes again.
 */
START_TEST(test_rate_table_least_recent)
{
	struct rate_table *t = rate_table_new(1, 1);
	unsigned char keys[RATE_TABLE_WAYS + 1][16];
	uint64_t now = 5000;
	int i;

	ck_assert_ptr_nonnull(t);
	rate_set_keys(t, keys, RATE_TABLE_WAYS + 1);
	for (i = 0; i < RATE_TABLE_WAYS; i++)
		ck_assert(rate_table_take(t, keys[i], now++));
	/* Seen again: keys[1] is now the least recent. */
	ck_assert(!rate_table_take(t, keys[0], now++));
	ck_assert(rate_table_take(t, keys[RATE_TABLE_WAYS], now++));
	/* Refused, so remembered: every one but keys[1].  (Asking about
	 * keys[1] first would put it back, evicting another.) */
	ck_assert(!rate_table_take(t, keys[0], now++));
	for (i = 2; i <= RATE_TABLE_WAYS; i++)
		ck_assert_msg(!rate_table_take(t, keys[i], now++),
		    "address %d of the set was forgotten", i);
	ck_assert_msg(rate_table_take(t, keys[1], now++),
	    "the least recently seen address was not the one forgotten");
	rate_table_free(t);
}
END_TEST

START_TEST(test_log_limit)
{
	struct log_limit ll = { 0 };
	uint64_t held = 99;
	int i;

	ck_assert(log_limit_pass(&ll, &held));
	ck_assert_uint_eq(held, 0);
	/* Within LOG_LIMIT_SECONDS: counted, not logged. */
	for (i = 0; i < 5; i++)
		ck_assert(!log_limit_pass(&ll, &held));
	ll.next = 0; /* as if the interval had passed */
	ck_assert(log_limit_pass(&ll, &held));
	ck_assert_uint_eq(held, 5);
}
END_TEST

START_TEST(test_rate_table_missed)
{
	struct rate_table *t = rate_table_new(1, 2);
	unsigned char k[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint64_t now = 5000, missed = 99;
	int i;

	ck_assert_ptr_nonnull(t);
	ck_assert(rate_table_take_counted(t, k, now, &missed));
	ck_assert_uint_eq(missed, 0);
	ck_assert(rate_table_take_counted(t, k, now, &missed));
	for (i = 0; i < 7; i++)
		ck_assert(!rate_table_take_counted(t, k, now, &missed));
	/* A second later, one token: the pass reports the 7 refused. */
	ck_assert(rate_table_take_counted(t, k, now + 1000, &missed));
	ck_assert_uint_eq(missed, 7);
	ck_assert(!rate_table_take_counted(t, k, now + 1000, &missed));
	ck_assert(rate_table_take_counted(t, k, now + 2000, &missed));
	ck_assert_uint_eq(missed, 1);
	rate_table_free(t);
}
END_TEST

/* text's key cut to prefix bits, as text. */
static const char *
prefixed(const char *text, int prefix)
{
	static char out[INET6_ADDRSTRLEN];
	union sockaddr_any a = sa(text);
	unsigned char key[16];

	addr_key(&a.sa, key);
	addr_key_prefix(key, prefix, key);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET6, key, out, sizeof(out)));
	return out;
}

START_TEST(test_addr_key_prefix)
{
	ck_assert_str_eq(prefixed("2001:db8:1:2:3:4:5:6", 64), "2001:db8:1:2::");
	ck_assert_str_eq(prefixed("2001:db8:1:2:3:4:5:6", 48), "2001:db8:1::");
	ck_assert_str_eq(prefixed("2001:db8:1:2ff::", 60), "2001:db8:1:2f0::");
	ck_assert_str_eq(prefixed("2001:db8:1:2:3:4:5:6", 1), "::");
	ck_assert_str_eq(prefixed("ffff:db8::", 1), "8000::");
	ck_assert_str_eq(prefixed("2001:db8:1:2:3:4:5:6", 128),
	    "2001:db8:1:2:3:4:5:6");
	/* IPv4 (and IPv4-mapped) clients are counted per address. */
	ck_assert_str_eq(prefixed("192.0.2.7", 64), "::ffff:192.0.2.7");
	ck_assert_str_eq(prefixed("::ffff:192.0.2.7", 1), "::ffff:192.0.2.7");
}
END_TEST

/* guard_tcp_client on a client at text. */
static bool
tcp_served(const struct guard_tcp *g, const char *text,
    struct guard_refusal *r)
{
	union sockaddr_any a = sa(text);
	unsigned char key[16];

	addr_key(&a.sa, key);
	return guard_tcp_client(g, key, r);
}

START_TEST(test_guard_tcp)
{
	static const char *const deny[] = { "10.0.0.0/8", NULL };
	struct acl acl = acl_of(NULL, deny);
	/* Every limit reached at once: the order decides the reason. */
	struct guard_tcp g = { .acl = &acl, .open = 5, .max = 5,
		.listener_open = 3, .listener_max = 3,
		.peer_open = 2, .peer_max = 2 };
	struct guard_refusal r;

	ck_assert(!tcp_served(&g, "10.1.2.3", &r));
	ck_assert_int_eq(r.why, REFUSED_ACL);
	ck_assert_str_eq(r.what, "not allowed by allow/deny");
	ck_assert(!tcp_served(&g, "192.0.2.1", &r));
	ck_assert_int_eq(r.why, REFUSED_LIMIT);
	ck_assert_str_eq(r.what, "max_connections (5) reached");
	g.open = 4;
	ck_assert(!tcp_served(&g, "192.0.2.1", &r));
	ck_assert_int_eq(r.why, REFUSED_LIMIT);
	ck_assert_str_eq(r.what, "this listener's max_connections (3) reached");
	g.listener_open = 2;
	ck_assert(!tcp_served(&g, "192.0.2.1", &r));
	ck_assert_int_eq(r.why, REFUSED_LIMIT);
	ck_assert_str_eq(r.what, "max_connections_per_ip (2) reached");
	g.peer_open = 1;
	ck_assert(tcp_served(&g, "192.0.2.1", &r));
	/* A limit of 0 is none, however many are open. */
	g = (struct guard_tcp){ .acl = &acl, .open = UINT64_MAX - 1,
		.listener_open = 1000000, .peer_open = 1000000 };
	ck_assert(tcp_served(&g, "2001:db8::1", &r));
	ck_assert(!tcp_served(&g, "::ffff:10.0.0.1", &r));
	ck_assert_int_eq(r.why, REFUSED_ACL);
}
END_TEST

/* guard_udp_datagram on a datagram from text, port. */
static bool
udp_served(const struct guard_udp *g, const char *text, unsigned int port,
    struct guard_refusal *r)
{
	union sockaddr_any a = sa(text);

	/* sin_port and sin6_port sit at the same offset. */
	a.sin.sin_port = htons(port);
	return guard_udp_datagram(g, &a.sa, r);
}

/* A config with just what the UDP guard reads. */
static struct echod_config *
udp_config(int rate, int prefix)
{
	static struct echod_config conf;
	unsigned int port;

	memset(&conf, 0, sizeof(conf));
	for (port = 0; port < 1024; port++)
		conf.udp_ignore[port / 64] |= UINT64_C(1) << (port % 64);
	conf.udp_rate = rate;
	conf.ipv6_prefix = prefix;
	return &conf;
}

START_TEST(test_guard_udp)
{
	static const char *const deny[] = { "10.0.0.0/8", "224.0.0.0/4",
		NULL };
	struct acl acl = acl_of(NULL, deny);
	struct rate_table *t = rate_table_new(1, 1);
	struct guard_udp g = { .config = udp_config(1, 64), .acl = &acl,
		.rate = t, .now_ms = 1000 };
	struct guard_refusal r;
	int i;

	ck_assert_ptr_nonnull(t);
	/* A reserved source port comes first, whatever else is wrong. */
	ck_assert(!udp_served(&g, "224.0.0.1", 7, &r));
	ck_assert_int_eq(r.why, REFUSED_LOOP);
	ck_assert_str_eq(r.what, "source port 7 is never answered");
	/* Then a source no host sends from, even one deny names. */
	ck_assert(!udp_served(&g, "224.0.0.1", 5000, &r));
	ck_assert_int_eq(r.why, REFUSED_LOOP);
	ck_assert_str_eq(r.what, "a multicast, broadcast or unspecified "
	    "source is never answered");
	/* Then allow/deny; none of these took a token. */
	for (i = 0; i < 5; i++) {
		ck_assert(!udp_served(&g, "10.0.0.9", 5000, &r));
		ck_assert_int_eq(r.why, REFUSED_ACL);
	}
	ck_assert(!udp_served(&g, "::ffff:10.0.0.9", 5000, &r));
	ck_assert_int_eq(r.why, REFUSED_ACL);
	/* Then the rate: 10.0.0.9's refusals spent nothing of its own
	 * bucket or of another's. */
	ck_assert(udp_served(&g, "192.0.2.1", 5000, &r));
	ck_assert(!udp_served(&g, "192.0.2.1", 5000, &r));
	ck_assert_int_eq(r.why, REFUSED_RATE);
	ck_assert_str_eq(r.what, "over udp_rate");
	ck_assert(udp_served(&g, "192.0.2.2", 5000, &r));
	/* udp_rate 0: no limit, the table untouched. */
	g.config = udp_config(0, 64);
	for (i = 0; i < 10; i++)
		ck_assert(udp_served(&g, "192.0.2.1", 5000, &r));
	rate_table_free(t);
}
END_TEST

START_TEST(test_guard_udp_prefix)
{
	struct acl acl = acl_of(NULL, NULL);
	struct rate_table *t = rate_table_new(1, 2);
	struct guard_udp g = { .config = udp_config(1, 64), .acl = &acl,
		.rate = t, .now_ms = 1000 };
	struct guard_refusal r;

	ck_assert_ptr_nonnull(t);
	/* Two addresses of one /64 share a bucket; a third /64 does not. */
	ck_assert(udp_served(&g, "2001:db8:1::a", 5000, &r));
	ck_assert(udp_served(&g, "2001:db8:1::b", 5000, &r));
	ck_assert(!udp_served(&g, "2001:db8:1::c", 5000, &r));
	ck_assert_int_eq(r.why, REFUSED_RATE);
	ck_assert(udp_served(&g, "2001:db8:2::a", 5000, &r));
	/* ipv6_prefix 128: each address alone. */
	g.config = udp_config(1, 128);
	ck_assert(udp_served(&g, "2001:db8:3::a", 5000, &r));
	ck_assert(udp_served(&g, "2001:db8:3::a", 5000, &r));
	ck_assert(!udp_served(&g, "2001:db8:3::a", 5000, &r));
	ck_assert(udp_served(&g, "2001:db8:3::b", 5000, &r));
	rate_table_free(t);
}
END_TEST

Suite *
guards_suite(void)
{
	Suite *s = suite_create("guards");
	TCase *tc = tcase_create("guards");

	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_acl_decision);
	tcase_add_test(tc, test_bogus_sources);
	tcase_add_test(tc, test_addr_key);
	tcase_add_test(tc, test_rate_table);
	tcase_add_test(tc, test_rate_table_bounded);
	tcase_add_test(tc, test_rate_table_least_recent);
	tcase_add_test(tc, test_log_limit);
	tcase_add_test(tc, test_rate_table_missed);
	tcase_add_test(tc, test_addr_key_prefix);
	tcase_add_test(tc, test_guard_tcp);
	tcase_add_test(tc, test_guard_udp);
	tcase_add_test(tc, test_guard_udp_prefix);
	suite_add_tcase(s, tc);
	return s;
}
