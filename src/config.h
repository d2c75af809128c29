/*
 * config.h: echod's configuration as plain C structs.  config.c is the
 * only file that knows libconfig; everything else reads these structs.
 */
#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "transform.h"

enum echod_protocol {
	ECHOD_PROTO_TCP,
	ECHOD_PROTO_UDP,
};

struct echod_listener_config {
	int protocol;		/* enum echod_protocol */
	char *address;		/* numeric IPv4/IPv6 or a host name */
	int port;
	const struct echod_transform *transform;
	bool close_after_reply; /* tcp: answer the first read, then close */
	bool ipv6_only;		/* IPV6_V6ONLY on IPv6 sockets */
	int line;		/* where it was defined, for messages */
};

struct echod_config {
	char *path;
	struct echod_listener_config *listeners;
	size_t nlisteners;
};

/*
 * Read and validate the file at path.  Returns the config, or NULL with
 * *errors set to one "FILE:LINE: SETTING: reason" line per problem
 * (newline-separated, to be freed by the caller).
 */
struct echod_config *config_load(const char *path, char **errors);
void config_free(struct echod_config *);

/* "tcp" or "udp". */
const char *config_protocol_name(int protocol);
/* "tcp [::]:12000", the listener's name in messages. */
char *config_listener_name(const struct echod_listener_config *, char *buf,
    size_t len);

#endif
