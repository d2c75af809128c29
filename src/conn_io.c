/*
 * conn_io.c: plain TCP under conn_io.h's calls: each is the one system
 * call it stands for.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <unistd.h>

#include "conn_io.h"

static ssize_t
plain_recv(struct conn_io *io, void *p, size_t n)
{
	return recv(io->fd, p, n, 0);
}

static ssize_t
plain_send(struct conn_io *io, const void *p, size_t n)
{
	/* MSG_NOSIGNAL: a peer gone is an error here, not a SIGPIPE. */
	return send(io->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int
plain_shutdown(struct conn_io *io, bool clean)
{
	(void)clean; /* a FIN either way */
	return shutdown(io->fd, SHUT_WR);
}

size_t
conn_io_socket_unread(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == -1 || n < 0 ? 0 : (size_t)n;
}

bool
conn_io_socket_acked(int fd)
{
	int unacked = 0;

	return ioctl(fd, SIOCOUTQ, &unacked) == -1 || unacked == 0;
}

static size_t
plain_unread(const struct conn_io *io)
{
	return conn_io_socket_unread(io->fd);
}

static bool
plain_all_acked(const struct conn_io *io)
{
	return conn_io_socket_acked(io->fd);
}

static void
plain_close(struct conn_io *io, bool clean)
{
	(void)clean; /* a FIN either way; SO_LINGER 0 makes it a reset */
	close(io->fd);
	io->fd = -1;
}

const struct conn_io_ops conn_io_plain = {
	.recv = plain_recv,
	.send = plain_send,
	.shutdown = plain_shutdown,
	.unread = plain_unread,
	.all_acked = plain_all_acked,
	.close = plain_close,
};
