/*
 * systemd.c: the notify and socket-passing protocols (see systemd.h).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "systemd.h"

#ifdef HAVE_LIBSYSTEMD
static int
notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

int
systemd_listen_fds(void)
{
	int n = sd_listen_fds(1);

	return n < 0 ? 0 : n;
}

uint64_t
systemd_watchdog_usec(void)
{
	uint64_t usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
#else
/* A datagram to the path (or, after '@', the abstract name) in
 * $NOTIFY_SOCKET. */
static int
notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	ssize_t n;
	int fd, saved;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	if ((len = strlen(path)) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* An abstract name's length is exact; a path's may take a NUL. */
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/')));
	saved = errno;
	close(fd);
	errno = saved;
	return n == -1 ? -1 : 0;
}

/* $name as a number, if it is one; -1 if not set or not a number. */
static long long
env_number(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' || v < 0 ? -1 : v;
}

int
systemd_listen_fds(void)
{
	long long pid = env_number("LISTEN_PID"), n = env_number("LISTEN_FDS");
	int fd;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	/* Meant for this process, and a sane count. */
	if (pid != (long long)getpid() || n <= 0 || n > 4096)
		return 0;
	for (fd = SYSTEMD_LISTEN_FDS_START; fd < SYSTEMD_LISTEN_FDS_START + n;
	    fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return (int)n;
}

uint64_t
systemd_watchdog_usec(void)
{
	long long pid = env_number("WATCHDOG_PID"),
	    usec = env_number("WATCHDOG_USEC");

	if (usec <= 0 || (pid != -1 && pid != (long long)getpid()))
		return 0;
	return (uint64_t)usec;
}
#endif

int
systemd_notify(const char *fmt, ...)
{
	char state[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	return notify_send(state);
}

int
systemd_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return systemd_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
}
