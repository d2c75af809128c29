/*
 * ratelimit.h: a token bucket per source address (or IPv6 prefix): for
 * UDP, udp_rate datagrams a second, udp_burst at once; for the message
 * log, log_rate lines a second, log_burst at once.  The table has a fixed size;
 * when it is full, the address seen least recently in a slot's set gives
 * way, so memory stays bounded however many addresses (spoofed ones
 * included) send.  Shared by the workers under one lock.
 */
#ifndef ECHOD_RATELIMIT_H
#define ECHOD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct rate_table;

/* Addresses tracked in each set of the table. */
#define RATE_TABLE_WAYS 4

/* A table for rate datagrams/s per address, burst at most; NULL if out
 * of memory. */
struct rate_table *rate_table_new(int rate, int burst);
void rate_table_free(struct rate_table *);
/* New rate and burst (a reload); safe from any thread. */
void rate_table_set(struct rate_table *, int rate, int burst);
/* May one more datagram from key (see addr_key) pass at now_ms, a
 * monotonic clock in milliseconds?  Safe from any thread. */
bool rate_table_take(struct rate_table *, const unsigned char key[16],
    uint64_t now_ms);
/* The same; on a pass, *missed is how many times key was refused since
 * its last pass (while the table kept it). */
bool rate_table_take_counted(struct rate_table *,
    const unsigned char key[16], uint64_t now_ms, uint64_t *missed);
/* The set key falls in: for the tests, which need keys that compete for
 * one set's RATE_TABLE_WAYS entries. */
size_t rate_table_set_index(const struct rate_table *,
    const unsigned char key[16]);

#endif
