/*
 * utf8.h: telling UTF-8 characters apart, for the log's escaping and for
 * the reverse module, which is built from the same file.
 */
#ifndef ECHOD_UTF8_H
#define ECHOD_UTF8_H

#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at p (at most left bytes, left
 * >= 1), or 1 for a byte that does not start one.  Overlong forms,
 * surrogates and values past U+10FFFF are not valid.
 */
size_t utf8_length(const unsigned char *p, size_t left);

#endif
