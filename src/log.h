/*
 * log.h: echod's log.  Messages go to standard error, one line each,
 * prefixed with the program name and, below info, the level.  The
 * _warn and fatal forms append strerror(errno); the x forms do not.
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

enum echod_log_level {
	ECHOD_LOG_ERROR,
	ECHOD_LOG_WARNING,
	ECHOD_LOG_INFO,
	ECHOD_LOG_DEBUG,
};

/* Start logging as progname at the given level; routes libevent's log. */
void log_init(const char *progname, int level);
/* The current level; messages above it are dropped. */
int log_get_level(void);

void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
