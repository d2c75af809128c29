/*
 * echod-tcp.c: the TCP client.  One connection carries every message;
 * the reply to a message is as many bytes as the message had, since
 * echod's transforms keep lengths.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>

#include "client.h"

static int
tcp_exchange(struct client *c, const char *msg, size_t len, char *reply,
    size_t cap, size_t *rlen)
{
	size_t sent = 0;
	ssize_t n;
	int rc;

	(void)cap;
	while (sent < len) {
		if ((rc = client_wait(c, POLLOUT)) != CLIENT_OK)
			return rc;
		n = send(client_fd(c), msg + sent, len - sent, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return CLIENT_ERROR;
		if (n > 0)
			sent += n;
	}
	for (*rlen = 0; *rlen < len;) {
		if ((rc = client_wait(c, POLLIN)) != CLIENT_OK)
			return rc;
		n = recv(client_fd(c), reply + *rlen, len - *rlen, 0);
		if (n == 0)
			return CLIENT_CLOSED;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return CLIENT_ERROR;
		if (n > 0)
			*rlen += n;
	}
	return CLIENT_OK;
}

static const struct client_ops tcp_ops = {
	.progname = "echod-tcp",
	.socktype = SOCK_STREAM,
	.exchange = tcp_exchange,
};

int
main(int argc, char *argv[])
{
	return client_main(argc, argv, &tcp_ops);
}
