/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What is "local": the LAN prefixes (configured, else those of the addresses on the LAN
 * interfaces and bridges spind attaches to) and the gateway's own addresses.
 */
#ifndef SPIN_LAN_H
#define SPIN_LAN_H

#include <stdbool.h>

#include "config.h"
#include "netif.h"

#define LAN_MAX_OWN 64

/*
 * Uses cfg->lan_prefixes if set, else the prefixes of the addresses on the attached interfaces
 * and on the bridges they are ports of (bridge mode: the LAN address sits on the bridge).
 * ifs may be NULL (passive mode: the configured names are used).
 */
int lan_init(const struct spin_config *cfg, const struct netif_set *ifs);
bool lan_contains(const struct spin_addr *a);
/* The gateway's own addresses (every interface, loopback excluded). */
int lan_own_addrs(struct spin_addr *out, int max);
bool lan_is_own(const struct spin_addr *a);
/* The prefixes in use, for logs and status. */
int lan_prefixes(const struct spin_prefix **out);

#endif
