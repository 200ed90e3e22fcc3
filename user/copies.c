// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "copies.h"

#define IPV4_MAX_HDR 60
#define IPV6_HDR     40

struct copy_slot {
	uint32_t hash;
	uint32_t ip_len;
	int64_t ts_us;
	int ifindex;
	bool outgoing;
	bool used;
};

struct copies {
	struct copy_slot slot[COPIES_SLOTS];
};

struct copies *copies_new(void)
{
	return calloc(1, sizeof(struct copies));
}

void copies_free(struct copies *c)
{
	free(c);
}

/*
 * The packet as every interface sees it: the IP header without the fields a router changes
 * (TTL or hop limit, the IPv4 checksum), and the first bytes after it (ports, TCP sequence
 * numbers, ICMP ids), which tell two packets of one flow apart. 0 if too short.
 */
static uint32_t signature(const uint8_t *ip, uint32_t avail, uint32_t *hash)
{
	uint8_t buf[IPV4_MAX_HDR + COPIES_SIG_L4];
	uint32_t hlen, n;

	if (avail < 1)
		return 0;
	hlen = (ip[0] >> 4) == 4 ? (uint32_t)(ip[0] & 0x0f) * 4 : IPV6_HDR;
	if (hlen < 20 || avail < hlen)
		return 0;
	n = avail - hlen < COPIES_SIG_L4 ? avail : hlen + COPIES_SIG_L4;
	memcpy(buf, ip, n);
	if (hlen == IPV6_HDR && (ip[0] >> 4) == 6) {
		buf[7] = 0; /* hop limit */
	} else {
		buf[8] = 0; /* TTL */
		buf[10] = buf[11] = 0;
	}
	HASH_VALUE(buf, n, *hash);
	return n;
}

/*
 * Where a copy can be told: SLL2 names the interface, so a copy is the packet on another one.
 * SLL does not: only a packet leaving that arrived before is known to be a copy (two
 * identical packets arriving 1 ms apart may be two packets).
 */
static bool elsewhere(const struct copy_slot *s, int ifindex, bool outgoing)
{
	if (ifindex >= 0 && s->ifindex >= 0)
		return ifindex != s->ifindex;
	return outgoing && !s->outgoing;
}

bool copies_is_copy(struct copies *c, const uint8_t *ip, uint32_t avail, uint32_t ip_len,
		    int ifindex, bool outgoing, int64_t ts_us)
{
	struct copy_slot *s;
	uint32_t hash;

	if (!c || !signature(ip, avail, &hash))
		return false;
	s = &c->slot[hash % COPIES_SLOTS];
	/* Not forgotten after a match: a routed packet on a bridged gateway has three copies. */
	if (s->used && s->hash == hash && s->ip_len == ip_len && ts_us >= s->ts_us &&
	    ts_us - s->ts_us <= COPIES_WINDOW_US && elsewhere(s, ifindex, outgoing))
		return true;
	*s = (struct copy_slot){.hash = hash,
				.ip_len = ip_len,
				.ts_us = ts_us,
				.ifindex = ifindex,
				.outgoing = outgoing,
				.used = true};
	return false;
}
