/*
 * console.h: the class console, a web page over HTTP (http.c) on the
 * main thread.  At / a student sees, live, the messages echod received
 * from their own address and the replies it made; at /class an
 * instructor sees every message and, per listener, who has reached it.
 * Both read the server's ring (ring.h), which the workers fill from the
 * listeners with log_messages; pages follow it with Server-Sent Events.
 */
#ifndef ECHOD_CONSOLE_H
#define ECHOD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct console;
struct echod_console_config;
struct echod_server;

/*
 * Serve cc's console for srv on fd, a listening socket it takes, or if
 * fd is -1 on one bound at cc's address and port (or passed by systemd
 * for it).  Who may open it, and /class, is srv->config's at each
 * accept and request.  NULL with err if it cannot.
 */
struct console *console_open(struct echod_server *srv,
    const struct echod_console_config *cc, int fd, char *err,
    size_t errlen);
/* Do a and b ask for the same socket?  And for the same limits too?
 * A reload keeps the console then, or only its socket. */
bool console_same_socket(const struct echod_console_config *a,
    const struct echod_console_config *b);
bool console_same_limits(const struct echod_console_config *a,
    const struct echod_console_config *b);
/* The listening socket, to hand on to a console with new limits. */
int console_fd(const struct console *);
/* Pages open now (event streams). */
unsigned int console_viewers(const struct console *);
/* "127.0.0.1:8080", for the log. */
const char *console_name(const struct console *);
/* After a reload: end the pages the config no longer lets their
 * viewer open (allow/deny, instructors); browsers ask again, and are
 * answered as the new config says. */
void console_recheck(struct console *);
/* Messages came into the ring: the pages that show them are told. */
void console_notify(struct console *);
/* Close it, and every page open on it. */
void console_free(struct console *);

#endif
