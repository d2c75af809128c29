/*
 * echod-udp.c: the UDP client.  Each message is one datagram and its
 * reply the next datagram from the server.  The socket is connected, so
 * replies from anyone else are ignored and, where the server's host
 * answers with ICMP, a closed port reads as "Connection refused".
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>

#include "client.h"

static int
udp_exchange(struct client *c, const char *msg, size_t len, char *reply,
    size_t cap, size_t *rlen)
{
	ssize_t n;
	int rc;

	if (send(client_fd(c), msg, len, 0) == -1)
		return CLIENT_ERROR;
	for (;;) {
		if ((rc = client_wait(c, POLLIN)) != CLIENT_OK)
			return rc;
		n = recv(client_fd(c), reply, cap, 0);
		if (n >= 0) {
			*rlen = n;
			return CLIENT_OK;
		}
		if (errno != EAGAIN && errno != EINTR)
			return CLIENT_ERROR;
	}
}

static const struct client_ops udp_ops = {
	.progname = "echod-udp",
	.socktype = SOCK_DGRAM,
	.exchange = udp_exchange,
};

int
main(int argc, char *argv[])
{
	return client_main(argc, argv, &udp_ops);
}
