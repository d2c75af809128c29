/*
 * systemd.h: what echod tells its service manager, and the sockets it
 * is handed.  Both follow systemd's documented protocols (sd_notify(3),
 * sd_listen_fds(3)): with libsystemd (configure --with-systemd) through
 * its calls, without it through a few lines of our own, so that either
 * build works under systemd and is tested the same way.  Outside systemd
 * none of it does anything.
 */
#ifndef ECHOD_SYSTEMD_H
#define ECHOD_SYSTEMD_H

#include <stdint.h>

/* The first descriptor passed, as in sd_listen_fds(3). */
#define SYSTEMD_LISTEN_FDS_START 3

/* Send one state ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET, if
 * set; -1 (errno set) if it could not be sent. */
int systemd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "RELOADING=1" with the MONOTONIC_USEC= that systemd 253 asks for. */
int systemd_notify_reloading(void);
/* How many sockets were passed to this process, from descriptor 3 on;
 * the variables that said so are removed, so no child sees them. */
int systemd_listen_fds(void);
/* The watchdog interval in microseconds if systemd asks for pings
 * (WatchdogSec=), else 0. */
uint64_t systemd_watchdog_usec(void);

#endif
