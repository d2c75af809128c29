/*
 * transform.c: the registry of transforms, looked up by name from the
 * config.
 */
#include <string.h>

#include "transform.h"

static const struct echod_transform *const transform_table[] = {
	&transform_echo,
	&transform_upper,
	&transform_rot13,
	NULL,
};

const struct echod_transform *
transform_find(const char *name)
{
	const struct echod_transform *const *t;

	for (t = transform_table; *t != NULL; t++)
		if (strcmp((*t)->name, name) == 0)
			return *t;
	return NULL;
}

const struct echod_transform *
transform_at(size_t i)
{
	if (i >= sizeof(transform_table) / sizeof(transform_table[0]))
		return NULL;
	return transform_table[i];
}
