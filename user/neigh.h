/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Devices from the kernel's neighbour tables (ARP and NDP): a dump at start (and when the
 * attached ports change), then rtnetlink events (no polling). Each reachable entry on a LAN address says "this IP is used by this MAC".
 * The same socket carries the bridge forwarding database (AF_BRIDGE neighbour messages): a MAC
 * a bridge learned on a port says "a station is behind this port", before it has an address.
 */
#ifndef SPIN_NEIGH_H
#define SPIN_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "spin_common.h"

struct neigh_ops {
	/* Should a neighbour entry count (a LAN address on a LAN-side interface)? */
	bool (*wanted)(const struct spin_addr *ip, int ifindex, void *ctx);
	void (*learned)(const struct spin_addr *ip, const uint8_t mac[6], void *ctx);
	/* A bridge learned MAC on port ifindex (optional; dynamic and static entries only). */
	void (*fdb_learned)(const uint8_t mac[6], int ifindex, void *ctx);
	void *ctx;
};

struct neigh_stats {
	uint64_t events;
	uint64_t learned;
	uint64_t ignored;
	uint64_t overruns; /* the socket's buffer overflowed: a fresh dump was requested */
	uint64_t fdb;	   /* bridge FDB entries handed on */
};

int neigh_init(const struct neigh_ops *ops);
void neigh_destroy(void);
/* Reads the neighbour tables and bridge FDBs again: the set of attached ports changed. */
void neigh_refresh(void);
void neigh_get_stats(struct neigh_stats *st);

#endif
