/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel side of spind: loads the BPF programs, pins (or reuses) their maps under the pin
 * directory, attaches them to the interfaces, and detaches only when asked to. Programs stay
 * attached and maps stay pinned when spind exits, so enforcement outlives the daemon.
 */
#ifndef SPIN_KERNEL_H
#define SPIN_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "netif.h"
#include "spin_common.h"

struct kernel_opts {
	const char *pin_dir; /* SPIN_PIN_DIR unless testing */
	const struct netif_set *ifaces;
	enum spin_xdp_mode xdp_mode;
	enum spin_tc_mode tc_mode;
	unsigned int max_flows; /* 0: SPIN_MAX_FLOWS */
	bool dns_events;
};

/* What ended up attached where, for status and logs. */
struct kernel_iface_state {
	struct netif nif;
	bool tc_attached;
	bool tcx;	  /* through pinned TCX links, else cls_bpf filters on clsact */
	int xdp_attached; /* 0: none, else SPIN_XDP_NATIVE / SPIN_XDP_GENERIC */
};

int kernel_open(const struct kernel_opts *opts);
int kernel_attach(void);
/*
 * The set of interfaces changed (a port joined or left a bridge, an interface was re-created):
 * the loaded programs are attached to the new ones and taken off those that left, with no
 * reload, so counting and enforcement go on. 0, or the first attach error (the others are
 * still attached).
 */
int kernel_set_ifaces(const struct netif_set *now);
/*
 * Removes SPIN's TC programs (TCX links, cls_bpf filters) and XDP programs from the interfaces;
 * unpins the maps (and every TCX link left in pin_dir) if unpin.
 */
int kernel_detach(const struct netif_set *ifaces, const char *pin_dir, bool unpin);
/* Frees user-space handles; attachments and pins stay. Accepts being called when not open. */
void kernel_close(void);

/* Map fds (valid after kernel_open). */
/* spin_flows (IPv6 flows) and spin_flows4 (IPv4 flows, struct spin_flow_key4). */
int kernel_flows_fd(void);
int kernel_flows4_fd(void);
int kernel_cfg_fd(void);
int kernel_addrpol_fd(void);
int kernel_pfxpol_fd(void);
int kernel_pairpol_fd(void);
int kernel_stats_fd(void);
int kernel_events_fd(void);
/* spin_capmac; -EBADF when the kernel side is not open (user/devcap.c). */
int kernel_capmac_fd(void);
/* The capacity of each flow table (IPv4 and IPv6 have one each). */
unsigned int kernel_max_flows(void);
/* CPUs whose flow cache is on (its flush timer armed; 0: off) and the flush period, ms. */
int kernel_fc_cpus(void);
unsigned int kernel_fc_flush_ms(void);
/* True when the maps were reused from a previous run (policy and counters survived). */
bool kernel_maps_reused(void);
const struct kernel_iface_state *kernel_iface_state(int *n);

/* spin_cfg access: reads, changes and writes back the single entry. */
int kernel_cfg_read(struct spin_cfg *cfg);
int kernel_cfg_write(const struct spin_cfg *cfg);
/* Refreshes spin_cfg.clock_sec; called every second. */
int kernel_cfg_set_clock(__u32 now);

/*
 * Policy and capture maps, as verbs: user space changes the kernel only through this module
 * (a build without the kernel data path has none of it).
 */
/* flags: SPIN_POL_BLOCK / SPIN_POL_ALLOW; 0 removes the address. */
int kernel_addrpol_set(const struct spin_addr *a, __u32 flags);
/* Removes every address for which keep() says false. */
int kernel_addrpol_prune(bool (*keep)(const struct spin_addr *a, void *ctx), void *ctx);
int kernel_pairpol_set(const struct spin_pair_key *k, bool on);
int kernel_pairpol_clear(void);
/* A device's policy flags by MAC (SPIN_POL_*; 0 removes it); get: -ENOENT when absent. */
int kernel_macpol_get(const __u8 mac[6], __u32 *flags);
int kernel_macpol_set(const __u8 mac[6], __u32 flags);
int kernel_macpol_count(void);
/* streams: how many captures of mac run; 0 removes the MAC. */
int kernel_capmac_set(const __u8 mac[6], __u32 streams);
int kernel_capmac_clear(void);

/* Consumes the ring buffer in the event loop: on_record for every record. 0 or -errno. */
int kernel_events_start(int (*on_record)(const void *data, size_t size));
void kernel_events_stop(void);

/* Sums spin_stats over CPUs into out[SPIN_STAT_MAX]. */
int kernel_read_stats(__u64 *out);

#endif
