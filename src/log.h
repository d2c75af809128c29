/*
 * log.h: echod's log.  Messages go to standard error, one line each,
 * prefixed with the program name and, below info, the level; or, for a
 * daemon, to syslog (facility daemon), where the journal picks them up.
 * The _warn and fatal forms append strerror(errno); the x forms do not.
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum echod_log_level {
	ECHOD_LOG_ERROR,
	ECHOD_LOG_WARNING,
	ECHOD_LOG_INFO,
	ECHOD_LOG_DEBUG,
};

/* Start logging as progname at the given level, to standard error or
 * to syslog; routes libevent's log here too. */
void log_init(const char *progname, int level, bool to_stderr);
/* The current level; messages above it are dropped.  Safe from any
 * thread, and so is setting it. */
int log_get_level(void);
void log_set_level(int level);
/* "error", "warning", "info" or "debug" as a level; -1 if none. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/*
 * One kind of event that a client can repeat at will (a refusal, a
 * dropped datagram): at most one line per LOG_LIMIT_SECONDS, which says
 * how many were left out since the line before.  Each thread keeps its
 * own, so no lock is taken.
 */
#define LOG_LIMIT_SECONDS 10
struct log_limit {
	int64_t next; /* monotonic seconds: when a line may be logged again */
	uint64_t held; /* events left out since the last line */
};
/* Log this event?  If so, *held is how many were left out before it. */
bool log_limit_pass(struct log_limit *, uint64_t *held);
/* Log at level through ll: the line, if it passes, ends in "(and N more
 * in the last 10 s)" when some were left out. */
void log_limited(struct log_limit *ll, int level, const char *, ...)
    __attribute__((format(printf, 3, 4)));
/* Log each line of text (NULL: none) at level, after prefix. */
void log_lines(int level, const char *prefix, const char *text);

void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* What the admin asked for (kill -USR1): logged whatever the level,
 * at syslog's notice. */
void log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
