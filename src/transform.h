/*
 * transform.h: what a listener does to the bytes it echoes.
 *
 * A transform is a name and a function that rewrites a byte buffer in
 * place without changing its length.  Byte-wise transforms see the data
 * in whatever pieces the network delivered it, so apply() must give the
 * same result however the bytes are split.  Built-in transforms are
 * listed in transform.c; plug-in modules will register through this
 * same structure.
 */
#ifndef ECHOD_TRANSFORM_H
#define ECHOD_TRANSFORM_H

#include <stddef.h>

struct echod_transform {
	const char *name;
	const char *description;
	void (*apply)(unsigned char *buf, size_t len);
};

extern const struct echod_transform transform_echo;
extern const struct echod_transform transform_upper;
extern const struct echod_transform transform_rot13;

/* The transform registered as name, or NULL. */
const struct echod_transform *transform_find(const char *name);
/* The i-th registered transform, or NULL past the end. */
const struct echod_transform *transform_at(size_t i);

#endif
