/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What is "local": the LAN prefixes (configured, else those of the addresses on the LAN
 * interfaces and bridges spind attaches to) and the gateway's own addresses.
 */
#ifndef SPIN_LAN_H
#define SPIN_LAN_H

#include <stdbool.h>

#include "config.h"

#define LAN_MAX_OWN 64

/* names: the configured interface names (bridges included). Uses cfg->lan_prefixes if set. */
int lan_init(const struct spin_config *cfg);
bool lan_contains(const struct spin_addr *a);
/* The gateway's own addresses (every interface, loopback excluded). */
int lan_own_addrs(struct spin_addr *out, int max);
bool lan_is_own(const struct spin_addr *a);
/* The prefixes in use, for logs and status. */
int lan_prefixes(const struct spin_prefix **out);

#endif
