/*
 * fuzz_proxy.c: libFuzzer on the PROXY protocol's header parser, the
 * call a listener with proxy_protocol makes on a connection's first
 * bytes (again as more arrive) and on each datagram.  Besides crashes it
 * checks what the listeners rely on: a header's length is within the
 * bytes given and PROXY_HEADER_MAX; every beginning shorter than a
 * header asks for more, and one refused stays refused however many
 * bytes follow; a header is the same with or without what comes after
 * it; an address it hands over is IPv4 or IPv6.
 *
 * Input: byte 0's low bit says datagram; the rest is what arrived.
 */
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h, again;
	const char *why;
	bool dgram;
	size_t i;
	int r, k;

	if (size < 1 || size > PROXY_HEADER_MAX + 64)
		return 0;
	dgram = data[0] & 1;
	data++;
	size--;
	r = proxy_parse(data, size, dgram, &h, &why);
	if (r < -1 || r > (int)size || r > PROXY_HEADER_MAX)
		abort();
	if (r == -1 && why == NULL)
		abort();
	if (r > 0 && !h.local && h.src.sa.sa_family != AF_INET &&
	    h.src.sa.sa_family != AF_INET6)
		abort();
	/* Each beginning: more wanted, until the header or the refusal. */
	for (i = 0; i < size; i++) {
		k = proxy_parse(data, i, dgram, &again, &why);
		if (k == -1) {
			if (r != -1)
				abort(); /* refused early, taken later */
			break;
		}
		if (k > 0) {
			if (k != r)
				abort(); /* a header shorter than the whole */
			break;
		}
		if (r > 0 && i >= (size_t)r)
			abort(); /* the whole header there, more wanted */
	}
	/* The header alone reads the same. */
	if (r > 0 && (proxy_parse(data, (size_t)r, dgram, &again, &why) != r ||
	    again.local != h.local ||
	    memcmp(&again.src, &h.src, sizeof(h.src)) != 0))
		abort();
	return 0;
}
