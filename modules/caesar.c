/*
 * caesar.c: the Caesar cipher, a module of echod.  ASCII letters move
 * `shift` places along the alphabet (default 3, as Caesar wrote); every
 * other byte is unchanged.  shift = 13 is rot13.
 *
 *	transform = { name = "caesar"; shift = 3; };
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <echod/transform.h>

#define CAESAR_DEFAULT_SHIFT 3

/* The state: what each byte becomes. */
struct caesar {
	unsigned char map[256];
};

static int
caesar_init(void **state, const struct echod_param *params, size_t nparams,
    char *err, size_t errlen)
{
	long long shift = CAESAR_DEFAULT_SHIFT;
	struct caesar *c;
	size_t i;

	for (i = 0; i < nparams; i++) {
		if (strcmp(params[i].name, "shift") != 0) {
			snprintf(err, errlen, "unknown parameter \"%s\" (caesar "
			    "takes shift)", params[i].name);
			return -1;
		}
		if (params[i].type != ECHOD_PARAM_INT ||
		    params[i].number < 0 || params[i].number > 25) {
			snprintf(err, errlen, "shift: expected a whole number "
			    "from 0 to 25");
			return -1;
		}
		shift = params[i].number;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < 256; i++)
		c->map[i] = (unsigned char)i;
	for (i = 0; i < 26; i++) {
		c->map['a' + i] = (unsigned char)('a' + (i + shift) % 26);
		c->map['A' + i] = (unsigned char)('A' + (i + shift) % 26);
	}
	*state = c;
	return 0;
}

static void
caesar_apply(void *state, unsigned char *buf, size_t len)
{
	const struct caesar *c = state;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = c->map[buf[i]];
}

static void
caesar_fini(void *state)
{
	free(state);
}

static const struct echod_transform caesar = {
	.name = "caesar",
	.description = "ASCII letters moved shift places along the alphabet",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
	.init = caesar_init,
	.apply = caesar_apply,
	.fini = caesar_fini,
};

ECHOD_MODULE(&caesar);
