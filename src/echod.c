/*
 * echod.c: the daemon's main: options, configuration, the loop, and
 * teardown.  echod never forks: systemd (or a terminal) supervises it.
 * It logs to standard error when asked to (-d, -F) or when that is a
 * terminal, and to syslog otherwise.
 */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "server.h"

#ifndef ECHOD_CONFIG_PATH
#define ECHOD_CONFIG_PATH "/etc/echod/echod.conf"
#endif

static void __attribute__((noreturn))
usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: echod [-dFhtVv] [-f file]\n"
	    "  -d       log to standard error at debug level\n"
	    "  -F       log to standard error, not syslog\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -h       show this help\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       show the version\n"
	    "  -v       more verbose (twice: libevent's debug log too)\n",
	    ECHOD_CONFIG_PATH);
	exit(status);
}

/*
 * Started as root (to bind port 7, say): with every socket bound, become
 * the configured user and group for good, before any thread starts, so
 * that every thread has dropped.  Under systemd with only
 * CAP_NET_BIND_SERVICE echod is never root, and this does nothing.
 */
static void
drop_privileges(const struct echod_config *conf)
{
	if (geteuid() != 0)
		return;
	if (conf->uid == 0) {
		log_warnx("running as root, as user = \"%s\" asks: a bug in "
		    "echod would have every privilege", conf->user);
		return;
	}
	if (initgroups(conf->user, conf->gid) == -1)
		fatal("initgroups %s", conf->user);
	if (setresgid(conf->gid, conf->gid, conf->gid) == -1)
		fatal("setresgid %s", conf->group);
	if (setresuid(conf->uid, conf->uid, conf->uid) == -1)
		fatal("setresuid %s", conf->user);
	/* There must be no way back. */
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    getuid() != conf->uid || geteuid() != conf->uid ||
	    getgid() != conf->gid || getegid() != conf->gid)
		fatalx("dropping privileges to %s:%s did not hold", conf->user,
		    conf->group);
	log_info("running as user %s, group %s", conf->user, conf->group);
}

int
main(int argc, char *argv[])
{
	const char *path = ECHOD_CONFIG_PATH;
	struct echod_config *conf;
	struct echod_server *srv;
	char *errors;
	int ch, test = 0, verbose = 0, level = -1, to_stderr = 0;

	while ((ch = getopt(argc, argv, "dFf:htVv")) != -1) {
		switch (ch) {
		case 'd':
			level = ECHOD_LOG_DEBUG;
			to_stderr = 1;
			break;
		case 'F':
			to_stderr = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 't':
			test = 1;
			to_stderr = 1;
			break;
		case 'V':
			printf("echod %s\n", PACKAGE_VERSION);
			return 0;
		case 'v':
			verbose++;
			level = ECHOD_LOG_DEBUG;
			break;
		default:
			usage(stderr, 1);
		}
	}
	if (optind != argc)
		usage(stderr, 1);
	log_init("echod", level != -1 ? level : ECHOD_LOG_INFO,
	    to_stderr || isatty(STDERR_FILENO));
	if (verbose > 1)
		event_enable_debug_logging(EVENT_DBG_ALL);

	if ((conf = config_load(path, &errors)) == NULL) {
		log_lines(ECHOD_LOG_ERROR, "", errors);
		free(errors);
		return 1;
	}
	if (level == -1)
		log_set_level(conf->log_level);
	if (test) {
		fprintf(stderr, "configuration OK\n");
		config_unref(conf);
		return 0;
	}

	/* A client that goes away mid-reply must cost one connection only. */
	signal(SIGPIPE, SIG_IGN);
	/* From here srv holds conf, and a reload may replace it. */
	if ((srv = server_new(conf, level)) == NULL)
		fatalx("cannot set up the event loop");
	if (server_open(srv) == -1) {
		server_free(srv);
		return 1;
	}
	drop_privileges(conf);
	if (server_run(srv) == -1)
		log_warnx("the event loop failed");
	server_free(srv);
	log_info("stopped");
	return 0;
}
