/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Network interfaces by rtnetlink: names to indexes, and a bridge to its ports. */
#ifndef SPIN_NETIF_H
#define SPIN_NETIF_H

#include <linux/if.h>
#include <stdbool.h>

#include "spin_common.h"

struct netif {
	int ifindex;
	char name[IFNAMSIZ];
	int master_ifindex;  /* the bridge this interface is a port of, 0 if none */
	bool is_bridge_port; /* attached because it is a port of a named bridge */
};

struct netif_set {
	struct netif ifs[SPIN_MAX_IFACES];
	int n;
};

/*
 * Resolves a comma-separated list of interface names. A name that is a Linux bridge stands for
 * all of its ports (bridge mode: SPIN sees bridged traffic on the ports). Duplicates are
 * dropped. Returns 0, -ENODEV naming the missing interface in err, or -E2BIG.
 */
int netif_resolve(const char *names, struct netif_set *out, char *err, size_t errlen);

/* Does the interface exist now (with this index)? */
bool netif_exists(int ifindex);

/* Link changes (RTM_NEWLINK / RTM_DELLINK) as they happen, through the event loop. */
typedef void (*netif_change_cb)(int ifindex, const char *name, bool deleted, void *ctx);
int netif_monitor_start(netif_change_cb cb, void *ctx);
void netif_monitor_stop(void);

#endif
