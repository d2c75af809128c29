/*
 * stall.c: a transform that hangs the worker running it, for the test
 * of the watchdog (033).  apply() waits until the file named by `until`
 * exists, looking every 10 ms for at most 60 s, then leaves the bytes
 * as they are.  Never load it anywhere else.
 *
 *	transform = { name = "stall"; until = "/tmp/go"; };
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <echod/transform.h>

static int
stall_init(void **state, const struct echod_param *params, size_t nparams,
    char *err, size_t errlen)
{
	if (nparams != 1 || strcmp(params[0].name, "until") != 0 ||
	    params[0].type != ECHOD_PARAM_STRING) {
		snprintf(err, errlen, "stall takes until, a path, and nothing else");
		return -1;
	}
	if ((*state = strdup(params[0].string)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
stall_apply(void *state, unsigned char *buf, size_t len)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int i;

	(void)buf;
	(void)len;
	for (i = 0; i < 6000 && access(state, F_OK) == -1; i++)
		nanosleep(&tick, NULL);
}

static void
stall_fini(void *state)
{
	free(state);
}

static const struct echod_transform stall = {
	.name = "stall",
	.description = "waits for a file before it answers (tests only)",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
	.init = stall_init,
	.apply = stall_apply,
	.fini = stall_fini,
};

ECHOD_MODULE(&stall);
