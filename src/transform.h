/*
 * transform.h: the transforms a configuration can name, and the chains
 * its listeners apply.
 *
 * A registry holds the built-in transforms (transform_*.c) and
 * those of the modules the config loads.  A chain is what one listener
 * applies: one or more registered transforms, each with the state its
 * init() built from the listener's parameters, run in order.
 */
#ifndef ECHOD_TRANSFORM_H
#define ECHOD_TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>

#include <echod/transform.h>

/* The built-ins, one file each, listed in transform.c. */
extern const struct echod_transform transform_echo;
extern const struct echod_transform transform_upper;
extern const struct echod_transform transform_rot13;

struct transform_entry {
	const struct echod_transform *def;
	const char *module; /* the file it came from; NULL if built in */
};

struct transform_module {
	void *handle; /* from dlopen, closed when the registry is freed */
	char *path;
};

struct transform_registry {
	struct transform_entry *entries;
	size_t nentries;
	struct transform_module *modules;
	size_t nmodules;
};

/* A registry of the built-ins; NULL if out of memory. */
struct transform_registry *transform_registry_new(void);
/*
 * dlopen the module at path and register its transforms.  -1 with err
 * set to the reason (missing, no entry point, another ABI, a name that
 * is taken) and nothing registered.
 */
int transform_registry_load(struct transform_registry *, const char *path,
    char *err, size_t errlen);
/* The transform registered as name, or NULL. */
const struct transform_entry *transform_registry_find(
    const struct transform_registry *, const char *name);
/* "echo, upper, rot13, caesar", for messages. */
void transform_registry_names(const struct transform_registry *, char *buf,
    size_t len);
void transform_registry_free(struct transform_registry *);

struct transform_step {
	const struct echod_transform *def;
	void *state;
};

struct transform_chain {
	struct transform_step *steps; /* only those that change bytes */
	size_t nsteps;
	/* The first step that needs whole messages, or NULL. */
	const struct echod_transform *message;
	char *name;	/* "rot13 | caesar", for the logs */
};

/* An empty chain: the bytes go back unchanged until steps are added. */
struct transform_chain *transform_chain_new(void);
/*
 * Append e, set up by its init() with params.  -1 with err set to why
 * not (init's own message, or that e takes no parameters).
 */
int transform_chain_add(struct transform_chain *,
    const struct transform_entry *e, const struct echod_param *params,
    size_t nparams, char *err, size_t errlen);
void transform_chain_free(struct transform_chain *);

/* Apply every step to buf[0..len-1], in order. */
static inline void
transform_chain_apply(const struct transform_chain *chain,
    unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < chain->nsteps; i++)
		chain->steps[i].def->apply(chain->steps[i].state, buf, len);
}

#endif
