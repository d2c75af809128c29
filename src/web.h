/*
 * web.h: the console's pages, compiled in.  The HTML, CSS and JS of web/
 * are turned into web_files.c at build time (web/embed.sh),
 * so that echod serves nothing from disk and nothing from elsewhere.
 */
#ifndef ECHOD_WEB_H
#define ECHOD_WEB_H

#include <stddef.h>

struct web_file {
	const char *path;	   /* "/", "/class", "/console.js" */
	const char *type;	   /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Every file, ending with one whose path is NULL. */
extern const struct web_file web_files[];

/* The file served at path, or NULL. */
const struct web_file *web_find(const char *path);

#endif
