/*
 * <echod/transform.h>: how echod and its transforms talk, for the
 * built-in transforms and for modules loaded from the config alike.
 *
 * A transform rewrites the bytes of a reply in place; it never changes
 * how many there are.  It is either
 *   byte-wise  (ECHOD_TRANSFORM_BYTEWISE): each output byte depends on
 *              its input byte only, so echod may hand over the bytes in
 *              whatever pieces the network delivered them, and the
 *              transform serves every listener; or
 *   message    (ECHOD_TRANSFORM_MESSAGE): apply() sees one whole message
 *              at a time (a UDP datagram, or one line of a TCP listener
 *              with framing = "line"), never the line's terminator.
 *
 * A module is a shared object that defines one struct echod_module
 * with ECHOD_MODULE().  A complete one:
 *
 *	#include <echod/transform.h>
 *
 *	static void
 *	swapcase_apply(void *state, unsigned char *buf, size_t len)
 *	{
 *		size_t i;
 *
 *		(void)state;
 *		for (i = 0; i < len; i++)
 *			if ((buf[i] | 0x20) >= 'a' && (buf[i] | 0x20) <= 'z')
 *				buf[i] ^= 0x20;
 *	}
 *
 *	static const struct echod_transform swapcase = {
 *		.name = "swapcase",
 *		.description = "ASCII letters change case",
 *		.kind = ECHOD_TRANSFORM_BYTEWISE,
 *		.apply = swapcase_apply,
 *	};
 *
 *	ECHOD_MODULE(&swapcase);
 *
 * Build it with
 *	cc -shared -fPIC $(pkg-config --cflags echod) -o swapcase.so swapcase.c
 * and name it in echod.conf: modules = ( "/path/to/swapcase.so" );
 * examples/ holds this module with its Makefile; man 3 echod-transform
 * says the same at more length.
 *
 * Parameters.  In the config a transform is a name ("caesar") or a
 * group with parameters ({ name = "caesar"; shift = 3; }).  echod calls
 * init() once per use in the config, with the parameters in file order;
 * init() must refuse any it does not know.  A transform without init()
 * takes no parameters and its apply() gets a NULL state.
 *
 * Threads.  apply() may run on several threads at once with the same
 * state: treat the state as read-only after init().
 *
 * Versions.  ECHOD_TRANSFORM_ABI changes whenever these structures
 * change; echod refuses a module built against another value.
 */
#ifndef ECHOD_TRANSFORM_API_H
#define ECHOD_TRANSFORM_API_H

#include <stddef.h>

#define ECHOD_TRANSFORM_ABI 1

/* struct echod_transform.kind */
#define ECHOD_TRANSFORM_BYTEWISE 0
#define ECHOD_TRANSFORM_MESSAGE 1

/* struct echod_param.type */
#define ECHOD_PARAM_INT 0    /* in number */
#define ECHOD_PARAM_BOOL 1   /* in number: 0 or 1 */
#define ECHOD_PARAM_STRING 2 /* in string */

/* One parameter from the config, as in "shift = 3;". */
struct echod_param {
	const char *name;
	int type;
	long long number;
	const char *string;
};

struct echod_transform {
	const char *name;	 /* as the config names it: [a-z0-9_-]+ */
	const char *description; /* one line, for -h and the logs */
	int kind;		 /* ECHOD_TRANSFORM_BYTEWISE or _MESSAGE */

	/*
	 * Optional.  Check params[0..nparams-1] and set up *state.  On
	 * a bad parameter, write a one-line reason to err (errlen bytes,
	 * for example "shift: 30 is not in 0-25" or "unknown parameter
	 * \"shfit\"") and return -1; else return 0.
	 */
	int (*init)(void **state, const struct echod_param *params,
	    size_t nparams, char *err, size_t errlen);

	/* Rewrite buf[0..len-1] in place.  NULL leaves the bytes alone. */
	void (*apply)(void *state, unsigned char *buf, size_t len);

	/* Optional.  Release what init() set up. */
	void (*fini)(void *state);
};

/* What a module exports, under the symbol name ECHOD_MODULE_SYMBOL. */
struct echod_module {
	unsigned int abi; /* ECHOD_TRANSFORM_ABI when the module was built */
	const struct echod_transform *const *transforms; /* NULL-terminated */
};

#define ECHOD_MODULE_SYMBOL "echod_module"

/* Define the module's entry point: ECHOD_MODULE(&a, &b); */
#define ECHOD_MODULE(...)                                                    \
	__attribute__((visibility("default"))) const struct echod_module      \
	    echod_module = { ECHOD_TRANSFORM_ABI,                             \
		(const struct echod_transform *const[]) { __VA_ARGS__, NULL } }

/* Declared here so that -Wmissing-variable-declarations stays quiet. */
extern const struct echod_module echod_module;

#endif
