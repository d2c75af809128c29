/*
 * acl.h: a listener's allow and deny lists of address prefixes, and the
 * one rule that decides between them: the longest prefix that matches
 * the client's address wins; at equal length deny wins; no match at all
 * lets the client in only when there is no allow list.  IPv4-mapped IPv6
 * addresses (::ffff:10.0.0.1) are IPv4 addresses here, in rules and
 * clients alike.
 */
#ifndef ECHOD_ACL_H
#define ECHOD_ACL_H

#include <stdbool.h>
#include <stddef.h>

/* One prefix: the first bits bits of addr (4 or 16 bytes). */
struct acl_prefix {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct acl_list {
	struct acl_prefix *prefixes;
	size_t n;
};

struct acl {
	struct acl_list allow, deny;
};

/*
 * "10.0.0.0/8", "2001:db8::/32", or an address alone (every bit).  -1 if
 * text is neither, with a reason in err.  Bits set beyond the prefix are
 * an error too: "10.1.0.0/8" is more likely a typing slip than meant.
 */
int acl_prefix_parse(const char *text, struct acl_prefix *, char *err,
    size_t errlen);
/* May the client at key (its address as addr_key() gives it) come in?
 * Always true for an empty acl. */
bool acl_permits(const struct acl *, const unsigned char key[16]);
/* Does a prefix of list hold the address at key? */
bool acl_list_holds(const struct acl_list *, const unsigned char key[16]);
void acl_free(struct acl *);

#endif
