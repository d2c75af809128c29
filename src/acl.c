/*
 * acl.c: address prefixes and the allow/deny decision (see acl.h).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "util.h"

/* Is bit i of addr set? */
static int
bit(const unsigned char *addr, int i)
{
	return addr[i / 8] >> (7 - i % 8) & 1;
}

int
acl_prefix_parse(const char *text, struct acl_prefix *p, char *err,
    size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hostlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	char *end;
	long bits;
	int i, max;

	memset(p, 0, sizeof(*p));
	if (hostlen >= sizeof(host))
		goto bad;
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, host, p->addr) == 1)
		p->family = AF_INET6;
	else
		goto bad;
	max = p->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			goto bad;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			goto bad;
	}
	p->bits = (int)bits;
	for (i = p->bits; i < max; i++)
		if (bit(p->addr, i)) {
			snprintf(err, errlen, "\"%s\" has bits set past its "
			    "/%d prefix", text, p->bits);
			return -1;
		}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8. */
	if (p->family == AF_INET6 && p->bits >= 96 &&
	    addr_key_is_ipv4(p->addr)) {
		memmove(p->addr, p->addr + 12, 4);
		memset(p->addr + 4, 0, 12);
		p->family = AF_INET;
		p->bits -= 96;
	}
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not an address or an address/bits "
	    "prefix", text);
	return -1;
}

/* How many leading bits a and b share, up to n. */
static int
common_bits(const unsigned char *a, const unsigned char *b, int n)
{
	int i;

	for (i = 0; i < n && bit(a, i) == bit(b, i); i++)
		;
	return i;
}

/*
 * The length of the longest prefix in list that holds the address, or
 * -1 if none does.  The lists are a class's worth, so a scan will do.
 */
static int
longest_match(const struct acl_list *list, int family,
    const unsigned char *addr)
{
	const struct acl_prefix *p;
	int best = -1;
	size_t i;

	for (i = 0; i < list->n; i++) {
		p = &list->prefixes[i];
		if (p->family == family && p->bits > best &&
		    common_bits(p->addr, addr, p->bits) == p->bits)
			best = p->bits;
	}
	return best;
}

/* The family and the address bytes the rules compare key with. */
static const unsigned char *
key_address(const unsigned char key[16], int *family)
{
	*family = addr_key_is_ipv4(key) ? AF_INET : AF_INET6;
	return *family == AF_INET ? key + 12 : key;
}

bool
acl_list_holds(const struct acl_list *list, const unsigned char key[16])
{
	int family;
	const unsigned char *addr = key_address(key, &family);

	return longest_match(list, family, addr) != -1;
}

bool
acl_permits(const struct acl *acl, const unsigned char key[16])
{
	const unsigned char *addr;
	int family, allow, deny;

	if (acl->allow.n == 0 && acl->deny.n == 0)
		return true;
	addr = key_address(key, &family);
	allow = longest_match(&acl->allow, family, addr);
	deny = longest_match(&acl->deny, family, addr);
	if (allow == -1 && deny == -1)
		return acl->allow.n == 0;
	return allow > deny;
}

void
acl_free(struct acl *acl)
{
	free(acl->allow.prefixes);
	free(acl->deny.prefixes);
	acl->allow.prefixes = acl->deny.prefixes = NULL;
	acl->allow.n = acl->deny.n = 0;
}
