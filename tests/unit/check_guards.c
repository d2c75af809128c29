/*
 * check_guards.c: the pieces of echod's guards that need no socket:
 * allow/deny prefixes and their decision, the sources never answered,
 * the per-address token buckets and the log's rate limit.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "acl.h"
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
	suite_add_tcase(s, tc);
	return s;
}
