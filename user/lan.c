// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "lan.h"
#include "log.h"

static struct {
	struct spin_prefix pfx[CONFIG_MAX_LAN_PFX];
	int n_pfx;
	struct spin_addr own[LAN_MAX_OWN];
	int n_own;
} lan;

static void addr_from_sockaddr(const struct sockaddr *sa, struct spin_addr *a, int *family)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->a[10] = 0xff;
		a->a[11] = 0xff;
		memcpy(&a->a[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
	} else {
		memcpy(a->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		*family = AF_INET6;
	}
}

static int mask_len(const struct sockaddr *mask)
{
	const unsigned char *b;
	int n = 0, bytes;

	if (mask->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr;
		bytes = 4;
	} else {
		b = (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		bytes = 16;
	}
	for (int i = 0; i < bytes; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

/* Prefix match over the IPv4-mapped form: an IPv4 /24 compares 96 + 24 bits. */
static bool prefix_match(const struct spin_prefix *p, const struct spin_addr *a)
{
	unsigned int bits = p->family == AF_INET ? 96u + p->len : p->len;
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(p->addr.a, a->a, full))
		return false;
	if (!rest)
		return true;
	return ((p->addr.a[full] ^ a->a[full]) & (0xff << (8 - rest))) == 0;
}

static bool is_link_local6(const struct spin_addr *a)
{
	return a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}

static bool lan_side(const struct spin_config *cfg, const struct netif_set *ifs, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	for (unsigned int i = 0; i < cfg->n_interfaces; i++)
		if (strcmp(cfg->interfaces[i], ifname) == 0)
			return true;
	for (int i = 0; ifs && ifindex && i < ifs->n; i++)
		if (ifs->ifs[i].ifindex == ifindex || ifs->ifs[i].master_ifindex == ifindex)
			return true;
	return false;
}

static void add_prefix(const struct spin_addr *a, int family, int len)
{
	struct spin_prefix p = {.family = family, .addr = *a, .len = (uint8_t)len};
	unsigned int bits = family == AF_INET ? 96u + (unsigned int)len : (unsigned int)len;

	for (unsigned int i = bits; i < 128; i++)
		p.addr.a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	for (int i = 0; i < lan.n_pfx; i++)
		if (lan.pfx[i].len == p.len && !memcmp(&lan.pfx[i].addr, &p.addr, sizeof(p.addr)))
			return;
	if (lan.n_pfx < CONFIG_MAX_LAN_PFX)
		lan.pfx[lan.n_pfx++] = p;
}

int lan_init(const struct spin_config *cfg, const struct netif_set *ifs)
{
	struct ifaddrs *ifa, *i;
	bool derive = cfg->n_lan_prefixes == 0;

	lan.n_own = 0;
	lan.n_pfx = 0;
	for (unsigned int p = 0; p < cfg->n_lan_prefixes && p < CONFIG_MAX_LAN_PFX; p++)
		lan.pfx[lan.n_pfx++] = cfg->lan_prefixes[p];
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct spin_addr a;
		int family;

		if (!i->ifa_addr ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (strcmp(i->ifa_name, "lo") == 0)
			continue;
		addr_from_sockaddr(i->ifa_addr, &a, &family);
		if (lan.n_own < LAN_MAX_OWN)
			lan.own[lan.n_own++] = a;
		if (derive && lan_side(cfg, ifs, i->ifa_name) && i->ifa_netmask &&
		    !is_link_local6(&a))
			add_prefix(&a, family, mask_len(i->ifa_netmask));
	}
	freeifaddrs(ifa);
	for (int p = 0; p < lan.n_pfx; p++) {
		char buf[INET6_ADDRSTRLEN];
		const void *src = lan.pfx[p].family == AF_INET
					  ? (const void *)&lan.pfx[p].addr.a[12]
					  : (const void *)lan.pfx[p].addr.a;

		inet_ntop(lan.pfx[p].family, src, buf, sizeof(buf));
		pr_info("LAN prefix %s/%u%s", buf, lan.pfx[p].len,
			derive ? " (from interfaces)" : "");
	}
	if (!lan.n_pfx)
		pr_warn("no LAN prefix known (none configured in lan_prefixes, no address on the "
			"interfaces): devices are recognised by their MAC only");
	return 0;
}

bool lan_contains(const struct spin_addr *a)
{
	if (is_link_local6(a))
		return true;
	for (int i = 0; i < lan.n_pfx; i++)
		if (prefix_match(&lan.pfx[i], a))
			return true;
	return false;
}

int lan_own_addrs(struct spin_addr *out, int max)
{
	int n = lan.n_own < max ? lan.n_own : max;

	memcpy(out, lan.own, (size_t)n * sizeof(*out));
	return n;
}

bool lan_is_own(const struct spin_addr *a)
{
	for (int i = 0; i < lan.n_own; i++)
		if (!memcmp(&lan.own[i], a, sizeof(*a)))
			return true;
	return false;
}

int lan_prefixes(const struct spin_prefix **out)
{
	*out = lan.pfx;
	return lan.n_pfx;
}
