/*
 * transform.c: the registry of transforms a configuration can name: the
 * built-ins, listed once here, and those of the modules it loads.
 *
 * A module is checked whole before any of its transforms is registered,
 * so a bad one leaves the registry as it was.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform.h"

static const struct echod_transform *const transform_builtins[] = {
	&transform_echo,
	&transform_upper,
	&transform_rot13,
	NULL,
};

/* Register def, from module (NULL for a built-in); -1 if out of memory. */
static int
registry_add(struct transform_registry *reg,
    const struct echod_transform *def, const char *module)
{
	struct transform_entry *e;

	e = reallocarray(reg->entries, reg->nentries + 1, sizeof(*e));
	if (e == NULL)
		return -1;
	reg->entries = e;
	e[reg->nentries].def = def;
	e[reg->nentries].module = module;
	reg->nentries++;
	return 0;
}

struct transform_registry *
transform_registry_new(void)
{
	struct transform_registry *reg;
	size_t i;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return NULL;
	for (i = 0; transform_builtins[i] != NULL; i++)
		if (registry_add(reg, transform_builtins[i], NULL) == -1) {
			transform_registry_free(reg);
			return NULL;
		}
	return reg;
}

const struct transform_entry *
transform_registry_find(const struct transform_registry *reg,
    const char *name)
{
	size_t i;

	for (i = 0; i < reg->nentries; i++)
		if (strcmp(reg->entries[i].def->name, name) == 0)
			return &reg->entries[i];
	return NULL;
}

void
transform_registry_names(const struct transform_registry *reg, char *buf,
    size_t len)
{
	size_t i, n = 0;
	int m;

	buf[0] = '\0';
	for (i = 0; i < reg->nentries && n < len; i++) {
		m = snprintf(buf + n, len - n, "%s%s", i > 0 ? ", " : "",
		    reg->entries[i].def->name);
		if (m < 0)
			break;
		n += (size_t)m;
	}
}

/* A name the config can write unquoted and the logs show plainly. */
static bool
transform_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", name[i]) ==
		    NULL)
			return false;
	return true;
}

/* Is mod's list of transforms fit to register?  If not, err says why. */
static int
module_check(const struct transform_registry *reg,
    const struct echod_module *mod, char *err, size_t errlen)
{
	const struct echod_transform *t;
	const struct transform_entry *e;
	size_t i, j;

	if (mod->abi != ECHOD_TRANSFORM_ABI) {
		snprintf(err, errlen, "built for transform ABI %u; this echod "
		    "has ABI %u (rebuild the module against its header)",
		    mod->abi, (unsigned)ECHOD_TRANSFORM_ABI);
		return -1;
	}
	if (mod->transforms == NULL || mod->transforms[0] == NULL) {
		snprintf(err, errlen, "defines no transforms");
		return -1;
	}
	for (i = 0; (t = mod->transforms[i]) != NULL; i++) {
		if (!transform_name_ok(t->name)) {
			snprintf(err, errlen, "transform %zu has no usable name "
			    "(1 to 64 of a-z, 0-9, _ and -)", i + 1);
			return -1;
		}
		if (t->kind != ECHOD_TRANSFORM_BYTEWISE &&
		    t->kind != ECHOD_TRANSFORM_MESSAGE) {
			snprintf(err, errlen, "%s: kind %d is neither "
			    "ECHOD_TRANSFORM_BYTEWISE nor ECHOD_TRANSFORM_MESSAGE",
			    t->name, t->kind);
			return -1;
		}
		if ((e = transform_registry_find(reg, t->name)) != NULL) {
			snprintf(err, errlen, "transform \"%s\" is already "
			    "defined %s%s", t->name,
			    e->module != NULL ? "by " : "as a built-in",
			    e->module != NULL ? e->module : "");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(mod->transforms[j]->name, t->name) == 0) {
				snprintf(err, errlen, "defines \"%s\" twice",
				    t->name);
				return -1;
			}
	}
	return 0;
}

int
transform_registry_load(struct transform_registry *reg, const char *path,
    char *err, size_t errlen)
{
	const struct echod_module *mod;
	struct transform_module *m;
	const char *why;
	void *handle;
	size_t i, n = strlen(path);

	/* RTLD_NOW: an unresolved symbol shows now, not mid-reply. */
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		if (why == NULL)
			why = "cannot be loaded";
		/* dlerror() leads with the path, which the caller gives. */
		if (strncmp(why, path, n) == 0 && strncmp(why + n, ": ", 2) == 0)
			why += n + 2;
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	mod = dlsym(handle, ECHOD_MODULE_SYMBOL);
	if (mod == NULL) {
		snprintf(err, errlen, "no entry point: the module defines no "
		    "\"%s\" (write ECHOD_MODULE(...) in it)",
		    ECHOD_MODULE_SYMBOL);
		goto fail;
	}
	if (module_check(reg, mod, err, errlen) == -1)
		goto fail;
	m = reallocarray(reg->modules, reg->nmodules + 1, sizeof(*m));
	if (m == NULL)
		goto oom;
	reg->modules = m;
	m += reg->nmodules;
	if ((m->path = strdup(path)) == NULL)
		goto oom;
	m->handle = handle;
	reg->nmodules++;
	/* From here the module is the registry's, registered or not. */
	for (i = 0; mod->transforms[i] != NULL; i++)
		if (registry_add(reg, mod->transforms[i], m->path) == -1) {
			reg->nentries -= i;
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	dlclose(handle);
	return -1;
}

void
transform_registry_free(struct transform_registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	free(reg->entries);
	for (i = 0; i < reg->nmodules; i++) {
		dlclose(reg->modules[i].handle);
		free(reg->modules[i].path);
	}
	free(reg->modules);
	free(reg);
}
