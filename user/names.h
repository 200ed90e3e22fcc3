/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Names for nodes that outlive a restart: user-set names (set_device_name), kept by MAC for
 * devices and by address for remote nodes in <state_dir>/names.json, and host names from the
 * DHCP server's lease file (dnsmasq format). A user-set name wins over a DHCP name.
 */
#ifndef SPIN_NAMES_H
#define SPIN_NAMES_H

#include <time.h>

#include "nodes.h"

/* state_dir "" keeps names in memory only; leases_file "" reads no leases. 0 or -errno. */
int names_init(const char *state_dir, const char *leases_file);
void names_destroy(void);
/*
 * Gives a node without a name the one remembered for its MAC or one of its addresses, and a
 * device still named by an earlier lease the host name its lease has now.
 */
void names_apply(struct node *n);
/* Remembers the name set on node n (by MAC, else by each address) and saves. 0 or -errno. */
int names_remember(const struct node *n, const char *name);
/* Re-reads the lease file if it changed; returns how many device names it gave. */
int names_poll_leases(void);

#endif
