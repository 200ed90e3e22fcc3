/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel side of spind: loads the BPF programs, pins (or reuses) their maps under the pin
 * directory, attaches them to the interfaces, and detaches only when asked to. Programs stay
 * attached and maps stay pinned when spind exits, so enforcement outlives the daemon.
 */
#ifndef SPIN_KERNEL_H
#define SPIN_KERNEL_H

#include <stdbool.h>

#include "config.h"
#include "netif.h"
#include "spin_common.h"

struct kernel_opts {
	const char *pin_dir; /* SPIN_PIN_DIR unless testing */
	const struct netif_set *ifaces;
	enum spin_xdp_mode xdp_mode;
	unsigned int max_flows; /* 0: SPIN_MAX_FLOWS */
	bool dns_events;
};

/* What ended up attached where, for status and logs. */
struct kernel_iface_state {
	struct netif nif;
	bool tc_attached;
	int xdp_attached; /* 0: none, else SPIN_XDP_NATIVE / SPIN_XDP_GENERIC */
};

int kernel_open(const struct kernel_opts *opts);
int kernel_attach(void);
/* Removes SPIN's TC filters and XDP programs from the interfaces; unpins the maps if unpin. */
int kernel_detach(const struct netif_set *ifaces, const char *pin_dir, bool unpin);
/* Frees user-space handles; attachments and pins stay. Accepts being called when not open. */
void kernel_close(void);

/* Map fds (valid after kernel_open). */
int kernel_flows_fd(void);
int kernel_cfg_fd(void);
int kernel_addrpol_fd(void);
int kernel_pfxpol_fd(void);
int kernel_pairpol_fd(void);
int kernel_stats_fd(void);
int kernel_events_fd(void);
unsigned int kernel_max_flows(void);
/* True when the maps were reused from a previous run (policy and counters survived). */
bool kernel_maps_reused(void);
const struct kernel_iface_state *kernel_iface_state(int *n);

/* spin_cfg access: reads, changes and writes back the single entry. */
int kernel_cfg_read(struct spin_cfg *cfg);
int kernel_cfg_write(const struct spin_cfg *cfg);
/* Refreshes spin_cfg.clock_sec; called every second. */
int kernel_cfg_set_clock(__u32 now);

/* Sums spin_stats over CPUs into out[SPIN_STAT_MAX]. */
int kernel_read_stats(__u64 *out);

#endif
