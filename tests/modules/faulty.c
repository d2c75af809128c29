/*
 * faulty.c: modules that are wrong in one way each, for the tests of
 * echod's module errors.  Built once per FAULTY_* define (Makefile.am).
 */
#include <echod/transform.h>

static const struct echod_transform faulty = {
#if defined(FAULTY_CLASH)
	.name = "upper", /* a built-in's name */
#elif defined(FAULTY_NAME)
	.name = "Bad Name",
#else
	.name = "faulty",
#endif
	.description = "a module that echod must refuse",
	.kind = ECHOD_TRANSFORM_BYTEWISE,
};

#if defined(FAULTY_ABI)
__attribute__((visibility("default"))) const struct echod_module
    echod_module = { ECHOD_TRANSFORM_ABI + 1,
	(const struct echod_transform *const[]) { &faulty, NULL } };
#elif defined(FAULTY_NO_ENTRY)
/* Exports something, but not echod_module. */
__attribute__((visibility("default"))) const struct echod_transform
    *faulty_transform = &faulty;
#else
ECHOD_MODULE(&faulty);
#endif
