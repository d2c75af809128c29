/*
 * check_ring.c: the console's ring of messages and its scoreboard,
 * without a socket: what a cursor reads and skips, what a viewer that
 * fell behind is told, what a resize keeps, the texts' bound, the wake-up
 * written once until read, and the scoreboard's counts and bounds.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "suites.h"
#include "util.h"

static union sockaddr_any
peer(const char *text, int port)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.sin.sin_addr) == 1) {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons((uint16_t)port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a.sin6.sin6_addr),
		    1);
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons((uint16_t)port);
	}
	return a;
}

static unsigned char *
key_of(const char *text, unsigned char key[16])
{
	union sockaddr_any a = peer(text, 1);

	addr_key(&a.sa, key);
	return key;
}

/* Push text from addr on listener name, answered in upper case. */
static void
push(struct ring *r, struct ring_source *src, const char *name,
    const char *addr, const char *text)
{
	union sockaddr_any a = peer(addr, 40000);
	unsigned char reply[256];
	size_t i, len = strlen(text);

	for (i = 0; i < len; i++)
		reply[i] = (unsigned char)(text[i] >= 'a' && text[i] <= 'z' ?
		    text[i] - 32 : text[i]);
	ring_push(r, src, name, name, "upper", &a.sa,
	    (const unsigned char *)text, reply, len);
}

START_TEST(test_ring_cursor)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	unsigned char me[16];
	struct ring_msg m;
	uint64_t cursor = 0, missed;

	ck_assert_ptr_nonnull(r);
	/* Off: pushes are ignored. */
	push(r, &src, "udp 127.0.0.1:12000", "127.0.0.1", "lost");
	ck_assert_uint_eq(ring_newest(r), 0);
	ck_assert_int_eq(ring_resize(r, 4), 0);
	ck_assert(ring_on(r));
	push(r, &src, "udp 127.0.0.1:12000", "127.0.0.1", "one");
	push(r, &src, "udp 127.0.0.1:12000", "127.0.0.2", "two");
	push(r, &src, "udp 127.0.0.1:12000", "127.0.0.1", "three");
	/* A student's cursor skips another address's message. */
	key_of("127.0.0.1", me);
	ck_assert(ring_next(r, &cursor, me, &m, &missed));
	ck_assert_uint_eq(m.id, 1);
	ck_assert_uint_eq(missed, 0);
	ck_assert_int_eq(memcmp(m.message, "one", 3), 0);
	ck_assert_int_eq(memcmp(m.reply, "ONE", 3), 0);
	ck_assert_uint_eq(m.from_port, 40000);
	ck_assert_str_eq(ring_listener(r, m.listener)->name,
	    "udp 127.0.0.1:12000");
	ck_assert_str_eq(ring_listener(r, m.listener)->transform, "upper");
	ck_assert(ring_next(r, &cursor, me, &m, &missed));
	ck_assert_uint_eq(m.id, 3);
	ck_assert(!ring_next(r, &cursor, me, &m, &missed));
	ck_assert_uint_eq(cursor, 3);
	/* An instructor's sees every one. */
	cursor = 0;
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 2);
	ck_assert_int_eq(memcmp(m.message, "two", 3), 0);
	ring_free(r);
	close(fd);
}
END_TEST

START_TEST(test_ring_behind)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	unsigned char me[16];
	struct ring_msg m;
	uint64_t cursor = 1, missed;
	char text[16];
	int i;

	ck_assert_int_eq(ring_resize(r, 4), 0);
	for (i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		push(r, &src, "tcp [::]:12000", i % 2 ? "::1" : "127.0.0.1",
		    text);
	}
	/* Held: 7..10.  From 1, 2..6 are gone: 5 missed. */
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(missed, 5);
	ck_assert_uint_eq(m.id, 7);
	ck_assert_int_eq(memcmp(m.message, "m7", 2), 0);
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(missed, 0);
	ck_assert_uint_eq(m.id, 8);
	/* A student's: told of the gap too, then only their own. */
	cursor = 1;
	ck_assert(ring_next(r, &cursor, key_of("::1", me), &m, &missed));
	ck_assert_uint_eq(missed, 5);
	ck_assert_uint_eq(m.id, 7);
	ck_assert(ring_next(r, &cursor, me, &m, &missed));
	ck_assert_uint_eq(m.id, 9);
	ck_assert(!ring_next(r, &cursor, me, &m, &missed));
	/* An id from before a restart starts at the newest. */
	cursor = 1000;
	ck_assert(!ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(cursor, 10);
	/* A new reader (cursor 0) starts at the oldest held and has missed
	 * nothing. */
	cursor = 0;
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 7);
	ck_assert_uint_eq(missed, 0);
	/* Smaller: the newest kept, ids go on. */
	ck_assert_int_eq(ring_resize(r, 2), 0);
	cursor = 0;
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 9);
	ck_assert_uint_eq(missed, 0);
	cursor = 7;
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 9);
	ck_assert_uint_eq(missed, 1);
	ck_assert_int_eq(ring_resize(r, 8), 0);
	push(r, &src, "tcp [::]:12000", "::1", "m11");
	cursor = 0;
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 9);
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.id, 11);
	/* Off: nothing kept, nothing read. */
	ck_assert_int_eq(ring_resize(r, 0), 0);
	ck_assert(!ring_on(r));
	cursor = 0;
	ck_assert(!ring_next(r, &cursor, NULL, &m, &missed));
	ring_free(r);
	close(fd);
}
END_TEST

START_TEST(test_ring_text_and_wake)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	union sockaddr_any a = peer("127.0.0.1", 1);
	unsigned char big[1000];
	struct ring_msg m;
	uint64_t cursor = 0, missed, n;

	ck_assert_int_eq(ring_resize(r, 8), 0);
	memset(big, 'x', sizeof(big));
	ring_push(r, &src, "k", "tcp 127.0.0.1:1", "echo", &a.sa, big, big,
	    sizeof(big));
	ring_push(r, &src, "k", "tcp 127.0.0.1:1", "echo", &a.sa, big, big,
	    0);
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.kept, RING_TEXT);
	ck_assert_uint_eq(m.length, sizeof(big));
	ck_assert(ring_next(r, &cursor, NULL, &m, &missed));
	ck_assert_uint_eq(m.kept, 0);
	ck_assert_uint_eq(m.length, 0);
	/* Two pushes, one wake-up; after ring_woken, the next push wakes
	 * again. */
	ck_assert_int_eq(read(fd, &n, sizeof(n)), sizeof(n));
	ck_assert_uint_eq(n, 1);
	ring_woken(r);
	ck_assert_int_eq(read(fd, &n, sizeof(n)), -1);
	ring_push(r, &src, "k", "tcp 127.0.0.1:1", "echo", &a.sa, big, big,
	    1);
	ck_assert_int_eq(read(fd, &n, sizeof(n)), sizeof(n));
	ring_free(r);
	close(fd);
}
END_TEST

START_TEST(test_ring_scores)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source udp = { 0 }, tcp = { 0 };
	struct ring_score *s;
	unsigned char key[16];
	char addr[64];
	size_t n;
	int i;

	ck_assert_int_eq(ring_resize(r, 2), 0);
	push(r, &udp, "udp 127.0.0.1:12000", "127.0.0.1", "a");
	push(r, &udp, "udp 127.0.0.1:12000", "127.0.0.2", "b");
	push(r, &udp, "udp 127.0.0.1:12000", "127.0.0.1", "c");
	push(r, &tcp, "tcp 127.0.0.1:12042", "::1", "d");
	/* More addresses than the ring holds messages: all counted. */
	for (i = 0; i < 3000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
		push(r, &tcp, "tcp 127.0.0.1:12042", addr, "e");
	}
	ck_assert_int_eq(ring_scores(r, &s, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(s[0].info->name, "udp 127.0.0.1:12000");
	ck_assert_uint_eq(s[0].messages, 3);
	ck_assert_uint_eq(s[0].naddrs, 2);
	ck_assert_uint_eq(s[0].unlisted, 0);
	/* In the order they first came, with their counts. */
	ck_assert_int_eq(memcmp(s[0].addrs[0].addr,
	    key_of("127.0.0.1", key), 16), 0);
	ck_assert_uint_eq(s[0].addrs[0].messages, 2);
	ck_assert_int_eq(memcmp(s[0].addrs[1].addr,
	    key_of("127.0.0.2", key), 16), 0);
	ck_assert_uint_eq(s[0].addrs[1].messages, 1);
	ck_assert_uint_eq(s[1].messages, 3001);
	ck_assert_uint_eq(s[1].naddrs, 3001);
	ck_assert_int_eq(memcmp(s[1].addrs[3000].addr,
	    key_of("10.0.11.249", key), 16), 0);
	ring_scores_free(s, n);
	/* Another transform on the same socket (a reload) is its own
	 * line. */
	ring_push(r, &udp, "udp 127.0.0.1:12000", "udp 127.0.0.1:12000",
	    "rot13", &(union sockaddr_any){ .sin = { .sin_family = AF_INET }
	    }.sa, (const unsigned char *)"x", (const unsigned char *)"k", 1);
	ck_assert_int_eq(ring_scores(r, &s, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(s[2].info->transform, "rot13");
	ck_assert_uint_eq(s[0].messages, 3);
	ring_scores_free(s, n);
	ring_free(r);
	close(fd);
}
END_TEST

/* A long ring is looked through RING_SCAN messages at a time: a student
 * whose message is far along comes to it in several calls. */
START_TEST(test_ring_scan_bound)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	unsigned char me[16];
	struct ring_msg m;
	uint64_t cursor = 0, missed;
	int i, calls = 0;

	ck_assert_int_eq(ring_resize(r, 3 * RING_SCAN), 0);
	for (i = 0; i < 2 * RING_SCAN + 10; i++)
		push(r, &src, "udp 127.0.0.1:1", "127.0.0.2", "other");
	push(r, &src, "udp 127.0.0.1:1", "127.0.0.1", "mine");
	key_of("127.0.0.1", me);
	while (!ring_next(r, &cursor, me, &m, &missed)) {
		ck_assert_uint_lt(cursor, ring_newest(r));
		ck_assert_int_lt(++calls, 10);
	}
	ck_assert_int_eq(calls, 2);
	ck_assert_uint_eq(m.id, 2 * RING_SCAN + 11);
	ck_assert_int_eq(memcmp(m.message, "mine", 4), 0);
	ring_free(r);
	close(fd);
}
END_TEST

/* A transform's name longer than the scoreboard keeps is one entry, not
 * one per message. */
START_TEST(test_ring_long_names)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	union sockaddr_any a = peer("127.0.0.1", 1);
	char chain[400];
	struct ring_score *s;
	size_t n;
	int i;

	memset(chain, 'u', sizeof(chain) - 1);
	chain[sizeof(chain) - 1] = '\0';
	ck_assert_int_eq(ring_resize(r, 4), 0);
	for (i = 0; i < 2000; i++)
		ring_push(r, &src, "k", "tcp 127.0.0.1:1", chain, &a.sa,
		    (const unsigned char *)"x", (const unsigned char *)"x", 1);
	ck_assert_int_eq(ring_scores(r, &s, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].messages, 2000);
	ring_scores_free(s, n);
	ring_free(r);
	close(fd);
}
END_TEST

/* The scoreboard's bound: RING_ADDRESSES over all listeners; past it,
 * messages are counted but their senders not listed. */
START_TEST(test_ring_scores_bound)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	struct ring *r = ring_new(fd);
	struct ring_source src = { 0 };
	union sockaddr_any a = peer("10.0.0.0", 1);
	struct ring_score *s;
	uint32_t i, ip;
	size_t n;

	ck_assert_int_eq(ring_resize(r, 1), 0);
	for (i = 0; i < RING_ADDRESSES + 10; i++) {
		ip = 0x0a000000u + i;
		a.sin.sin_addr.s_addr = htonl(ip);
		ring_push(r, &src, "k", "udp 0.0.0.0:7", "echo", &a.sa,
		    (const unsigned char *)"x", (const unsigned char *)"x", 1);
	}
	ck_assert_int_eq(ring_scores(r, &s, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].naddrs, RING_ADDRESSES);
	ck_assert_uint_eq(s[0].unlisted, 10);
	ck_assert_uint_eq(s[0].messages, RING_ADDRESSES + 10);
	ring_scores_free(s, n);
	ring_free(r);
	close(fd);
}
END_TEST

Suite *
ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, test_ring_cursor);
	tcase_add_test(tc, test_ring_behind);
	tcase_add_test(tc, test_ring_text_and_wake);
	tcase_add_test(tc, test_ring_scores);
	tcase_add_test(tc, test_ring_scores_bound);
	tcase_add_test(tc, test_ring_scan_bound);
	tcase_add_test(tc, test_ring_long_names);
	suite_add_tcase(s, tc);
	return s;
}
