/*
 * log.c: the daemon's log, and the bridge that brings libevent's own
 * warnings into it.  On standard error each message is written with one
 * write(2), so that lines from different threads never interleave;
 * syslog(3) is safe from any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

static const char *log_progname = "echod";
static int log_level = ECHOD_LOG_INFO; /* read and set atomically */
static bool log_stderr = true;

static const struct {
	const char *name, *prefix;
	int priority;
} log_levels[] = {
	[ECHOD_LOG_ERROR] = { "error", "error: ", LOG_ERR },
	[ECHOD_LOG_WARNING] = { "warning", "warning: ", LOG_WARNING },
	[ECHOD_LOG_INFO] = { "info", "", LOG_INFO },
	[ECHOD_LOG_DEBUG] = { "debug", "debug: ", LOG_DEBUG },
};

/* Format one line and write it at syslog's priority, or to standard
 * error after prefix; errnum >= 0 appends its strerror. */
static void __attribute__((format(printf, 4, 0)))
log_emit(int priority, const char *prefix, int errnum, const char *fmt,
    va_list ap)
{
	char msg[8192], line[8448];
	int n;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_stderr) {
		syslog(priority, "%s%s%s", msg, errnum >= 0 ? ": " : "",
		    errnum >= 0 ? strerror(errnum) : "");
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %s%s%s%s\n", log_progname,
	    prefix, msg, errnum >= 0 ? ": " : "",
	    errnum >= 0 ? strerror(errnum) : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, n);
}

/* One line at level, if the level lets it through. */
static void __attribute__((format(printf, 3, 0)))
log_vwrite(int level, int errnum, const char *fmt, va_list ap)
{
	if (level <= log_get_level())
		log_emit(log_levels[level].priority, log_levels[level].prefix,
		    errnum, fmt, ap);
}

static void __attribute__((format(printf, 2, 3)))
log_write(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, -1, fmt, ap);
	va_end(ap);
}

/* libevent's severities mapped onto ours. */
static void
log_libevent_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

void
log_init(const char *progname, int level, bool to_stderr)
{
	log_progname = progname;
	log_set_level(level);
	log_stderr = to_stderr;
	/* Connect now, while /dev/log is certainly reachable. */
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	event_set_log_callback(log_libevent_cb);
}

int
log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void
log_set_level(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcmp(name, log_levels[i].name) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	return log_levels[level].name;
}

bool
log_limit_pass(struct log_limit *ll, uint64_t *held)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec < ll->next) {
		ll->held++;
		return false;
	}
	ll->next = ts.tv_sec + LOG_LIMIT_SECONDS;
	*held = ll->held;
	ll->held = 0;
	return true;
}

void
log_limited(struct log_limit *ll, int level, const char *fmt, ...)
{
	char msg[4096], more[64] = "";
	uint64_t held;
	va_list ap;

	if (level > log_get_level() || !log_limit_pass(ll, &held))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held > 0)
		snprintf(more, sizeof(more), " (and %llu more in the last %d s)",
		    (unsigned long long)held, LOG_LIMIT_SECONDS);
	log_write(level, "%s%s", msg, more);
}

void
log_lines(int level, const char *prefix, const char *text)
{
	const char *next;

	for (; text != NULL && *text != '\0'; text = next) {
		if ((next = strchr(text, '\n')) == NULL)
			next = text + strlen(text);
		log_write(level, "%s%.*s", prefix, (int)(next - text), text);
		if (*next == '\n')
			next++;
	}
}

#define LOG_FORWARD(level, errnum)                                     \
	do {                                                           \
		va_list ap;                                            \
		va_start(ap, fmt);                                     \
		log_vwrite((level), (errnum), fmt, ap);                \
		va_end(ap);                                            \
	} while (0)

void
log_errorx(const char *fmt, ...)
{
	LOG_FORWARD(ECHOD_LOG_ERROR, -1);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_FORWARD(ECHOD_LOG_WARNING, saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_FORWARD(ECHOD_LOG_WARNING, -1);
}

void
log_info(const char *fmt, ...)
{
	LOG_FORWARD(ECHOD_LOG_INFO, -1);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_NOTICE, "", -1, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	LOG_FORWARD(ECHOD_LOG_DEBUG, -1);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_FORWARD(ECHOD_LOG_ERROR, saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_FORWARD(ECHOD_LOG_ERROR, -1);
	exit(1);
}
