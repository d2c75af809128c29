/*
 * fuzz_config.c: libFuzzer on config_load(), both passes.  Whatever the
 * file holds, config_load returns a config or an error text, and frees
 * everything it took (LeakSanitizer watches).  The input is written to
 * a memfd and read back through /proc, as a file would be.
 *
 * Inputs naming modules or @include are skipped: they would make the
 * fuzzer dlopen() or read any file on the machine, which tests nothing
 * of echod's and could run code that is not echod's.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct echod_config *conf;
	char path[64], *errors = NULL;
	int fd;

	if (memmem(data, size, "modules", 7) != NULL ||
	    memmem(data, size, "@include", 8) != NULL)
		return -1; /* not added to the corpus */
	if ((fd = memfd_create("echod-fuzz.conf", MFD_CLOEXEC)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	conf = config_load(path, &errors);
	/* Exactly one of the two. */
	if ((conf == NULL) == (errors == NULL))
		abort();
	if (errors != NULL && strstr(errors, path) != errors)
		abort(); /* every error text starts with the file */
	config_unref(conf);
	free(errors);
	close(fd);
	return 0;
}
