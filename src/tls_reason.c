/*
 * tls_reason.c: see tls_reason.h.  Empty without OpenSSL: nothing calls
 * it then.
 */
#include "tls_reason.h"

#ifdef HAVE_OPENSSL

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

const char *
tls_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	const char *r = ERR_reason_error_string(e);

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else if (ERR_SYSTEM_ERROR(e))
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (r != NULL)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

#endif
