/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data path's maps and load-time constants. Every map is pinned by name, so spind finds
 * them under SPIN_PIN_DIR and enforcement survives a daemon restart.
 */
#ifndef SPIN_MAPS_BPF_H
#define SPIN_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "spin_common.h"

/*
 * The attached interfaces (egress skips what one of them received: it was counted there).
 * Writable (.bss, which spind maps): when a port joins a bridge or an interface is re-created,
 * spind rewrites the list and attaches the programs it has, in milliseconds, instead of
 * loading new ones (seconds of verification during which the new port went unwatched).
 */
volatile __u32 spin_ifindexes[SPIN_MAX_IFACES];
volatile __u32 spin_n_ifaces;
const volatile __u8 spin_dns_enabled = 1;
/* How often each CPU's timer moves its flow cache counts into the flow maps (tests lengthen it). */
const volatile __u64 spin_fc_flush_ns = 250000000ULL; /* a quarter second */

/*
 * Per-CPU so the fast path needs no atomics; preallocated and not LRU, because eviction would
 * lose counters silently: user space deletes idle flows, a full map is counted. IPv6 flows
 * live in spin_flows, IPv4 flows in spin_flows4 with a 16-byte key (the hash lookup is most of
 * the per-packet cost, and it grows with the key); each holds SPIN_MAX_FLOWS.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SPIN_MAX_FLOWS);
	__type(key, struct spin_flow_key);
	__type(value, struct spin_flow_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SPIN_MAX_FLOWS);
	__type(key, struct spin_flow_key4);
	__type(value, struct spin_flow_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_flows4 SEC(".maps");

/*
 * The flow cache in front of the flow maps (include/spin_common.h): SPIN_FC_SLOTS slots per
 * CPU, CPU after CPU; user space sets max_entries (spin_fc_entries()). Pinned, so counts not
 * yet flushed survive a daemon restart: the next programs' timers flush them. BPF_F_MMAPABLE
 * only for its page-aligned values, which keep every slot on whole cache lines.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPIN_FC_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct spin_fc4_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_fc4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPIN_FC_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct spin_fc6_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_fc6 SEC(".maps");

enum spin_fc_state {
	SPIN_FC_OFF = 0,    /* not armed on this CPU: no flow takes a slot */
	SPIN_FC_ARMED = 1,  /* this CPU's flush timer runs */
	SPIN_FC_FAILED = 2, /* the kernel cannot pin a BPF timer to a CPU (before 6.7) */
};

/*
 * One flush timer per CPU, indexed by CPU number. Not pinned: a timer belongs to the program
 * that armed it, so each load arms its own (spin_fc_arm, run by spind on every CPU).
 */
struct spin_fc_timer {
	struct bpf_timer timer;
	__u32 state; /* enum spin_fc_state */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPIN_FC_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct spin_fc_timer);
} spin_fctimer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spin_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPIN_MAX_ADDRS);
	__type(key, struct spin_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_addrpol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SPIN_MAX_PREFIXES);
	__type(key, struct spin_lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_pfxpol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPIN_MAX_PAIRS);
	__type(key, struct spin_pair_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_pairpol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPIN_MAX_MACS);
	__type(key, struct spin_mac_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_macpol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPIN_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SPIN_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_events SEC(".maps");

/* LRU: a fragment train that never completes must not pin an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SPIN_MAX_FRAGS);
	__type(key, struct spin_frag_key);
	__type(value, struct spin_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_frags SEC(".maps");

/*
 * A DNS event is assembled here, not on the 512-byte stack, then copied into the ring buffer
 * with its real size (bpf_ringbuf_output), so small DNS packets take little ring space.
 */
struct spin_dns_scratch {
	/* a struct spin_dns_event and its data[] (a flexible array cannot be a member) */
	__u64 buf[(sizeof(struct spin_dns_event) + SPIN_DNS_CAP) / sizeof(__u64)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spin_dns_scratch);
} spin_scratch SEC(".maps");

/*
 * Per-stage costs (make bench-full, tests/bench/run's "where the time goes"): built with
 * -DSPIN_STAGE_STOP=n, the TC programs end after stage n (enum spin_stage) and return ret;
 * keep, what the stage computed, goes into an empty asm so the compiler still computes it.
 * A real build defines no SPIN_STAGE_STOP: the macro is empty.
 */
enum spin_stage {
	SPIN_STAGE_ENTRY = 1,  /* nothing: the program's call and return */
	SPIN_STAGE_CONFIG = 2, /* + spin_cfg, the capture check, the packets counter */
	SPIN_STAGE_PARSE = 3,  /* + Ethernet, IP and L4 headers */
	SPIN_STAGE_PACKET = 4, /* + fragment check, TCP flags, sizes (skb->gso_segs) */
	SPIN_STAGE_KEY = 5,    /* + the canonical flow key */
	SPIN_STAGE_SLOT = 6,   /* + the flow-cache slot index (hash); the rest is the slot itself */
};

#ifdef SPIN_STAGE_STOP
#define SPIN_STAGE_END(stage, ret, keep)                                                           \
	do {                                                                                       \
		if (SPIN_STAGE_STOP == (stage)) {                                                  \
			__u64 k_ = (__u64)(keep);                                                  \
			asm volatile("" : : "r"(k_));                                              \
			return (ret);                                                              \
		}                                                                                  \
	} while (0)
#else
#define SPIN_STAGE_END(stage, ret, keep)                                                           \
	do {                                                                                       \
	} while (0)
#endif

static __always_inline void spin_stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&spin_stats, &idx);

	if (v)
		*v += n; /* per-CPU slot: no atomic needed */
}

static __always_inline struct spin_cfg *spin_get_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&spin_cfg, &zero);
}

#endif /* SPIN_MAPS_BPF_H */
