/*
 * ascii_swar.h: ASCII letter tests on 8 bytes at once, in a uint64_t
 * ("SIMD within a register").  Compilers at -O2 do not vectorize the
 * byte loops of upper and rot13, and a word at a time streams about
 * five times faster; the tail is left to the byte loop.
 */
#ifndef ECHOD_ASCII_SWAR_H
#define ECHOD_ASCII_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL

/* High bit of each byte set where that byte of h (each < 0x80) >= k. */
static inline uint64_t
swar_ge(uint64_t h, unsigned char k)
{
	return (h + (0x80 - k) * SWAR_ONES) & SWAR_HIGH;
}

/* High bit set in each byte of x that is a lower-case ASCII letter,
 * or, with fold, an ASCII letter of either case. */
static inline uint64_t
swar_letters(uint64_t x, int fold)
{
	uint64_t h = (fold ? x | 0x20 * SWAR_ONES : x) & ~SWAR_HIGH;

	return swar_ge(h, 'a') & ~swar_ge(h, 'z' + 1) & ~x & SWAR_HIGH;
}

static inline uint64_t
swar_load(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return x;
}

static inline void
swar_store(unsigned char *p, uint64_t x)
{
	memcpy(p, &x, sizeof(x));
}

#endif
