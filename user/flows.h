/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow sweep: reads the kernel's per-CPU flow table in batches once a second, turns the
 * running counters into per-interval deltas, and removes idle flows with lookup-and-delete so
 * that not one counted byte is lost between the last read and the removal.
 */
#ifndef SPIN_FLOWS_H
#define SPIN_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "spin_common.h"

/*
 * What the consumer of the deltas keeps per flow (traffic.c: where the flow's bytes go); flows.c
 * only stores it with the flow, zeroed when the flow is new, and forgets it with the flow.
 */
struct flow_cookie {
	void *ptr;
	uint32_t gen[3];
};

/* What one flow did since the previous sweep (only flows that changed are reported). */
struct flow_delta {
	const struct spin_flow_key *key;
	struct flow_cookie *cookie; /* NULL: none kept (passive mode) */
	uint8_t initiator;	    /* enum spin_flow_dir */
	uint32_t ifindex;
	uint64_t bytes[2]; /* per enum spin_flow_dir */
	uint64_t packets[2];
	uint64_t blk_bytes;
	uint64_t blk_packets;
	uint32_t first_seen; /* spin_cfg clock */
	uint32_t last_seen;
};

typedef void (*flows_delta_cb)(const struct flow_delta *d, void *ctx);

/*
 * A new flow whose first packet at an ingress hook came from the endpoint addr with the
 * Ethernet source mac, on the attached interface ifindex.
 */
typedef void (*flows_mac_cb)(const struct spin_addr *addr, const uint8_t mac[6], uint32_t ifindex,
			     void *ctx);

struct flows_stats {
	uint64_t sweeps;
	uint64_t flows;	  /* flows in the kernel tables (both) at the last sweep */
	uint64_t flows4;  /* of which in spin_flows4 (IPv4) */
	uint64_t flows6;  /* of which in spin_flows (IPv6) */
	uint64_t removed; /* idle flows removed */
	uint64_t last_sweep_us;
	uint64_t max_sweep_us;
	uint64_t batch_fallbacks; /* sweeps that had to use get_next_key */
	uint64_t macs;		  /* new flows that named their source's MAC */
	uint64_t guessed;	  /* flows found where the last sweep's order put them */
};

/*
 * map_fd: spin_flows (IPv6 flows, struct spin_flow_key); map4_fd: spin_flows4 (IPv4 flows,
 * struct spin_flow_key4); either may be -1 (not swept). Both are swept with batch reads and
 * their capacities are taken from the maps. Deltas always carry a struct spin_flow_key (IPv4
 * ones IPv4-mapped, family 4). idle_s: a flow without packets for this long is removed
 * (sooner when its table is over 90% full). baseline: the maps survived a restart, so the
 * first sweep only records the counters it finds instead of reporting them as new traffic.
 */
int flows_init(int map_fd, int map4_fd, unsigned int idle_s, bool baseline);
/* Who hears of the MACs new flows carry (NULL: nobody). */
void flows_set_mac_cb(flows_mac_cb cb, void *ctx);
/* now: the clock written to spin_cfg.clock_sec. Returns flows seen, or -errno. */
int flows_sweep(uint32_t now, flows_delta_cb cb, void *ctx);
const struct flows_stats *flows_get_stats(void);
/* spin_flows4's compact key from the full key: -EINVAL unless family is 4. The other way is
 * spin_flow_key_from4() in spin_parse.h, shared with the BPF programs. */
int flows_key_to4(const struct spin_flow_key *key, struct spin_flow_key4 *k4);
/*
 * What was reported of each flow, to path (atomically), for the next spind on the same pinned
 * maps: spind writes it when it stops. 0 or -errno.
 */
int flows_save(const char *path);
/*
 * Before the first sweep: takes a snapshot flows_save() wrote of these very maps (same boot,
 * same map ids) as what was reported, so the first sweep reports everything counted since,
 * while no daemon ran too, and removes it (a snapshot is used once). Returns the flows it
 * holds, -ENOENT (none), -ESTALE (of other maps), -EBADMSG (not a snapshot), or -errno.
 */
int flows_load(const char *path);
void flows_destroy(void);

#endif
