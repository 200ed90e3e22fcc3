/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the BPF programs and user space share: map names, capacities, keys, values and event
 * records. Fixed-width types and explicit padding only, so the bytes are the same on x86-64,
 * arm64 and 32-bit ARM user space; every struct carries a size assertion.
 */
#ifndef SPIN_COMMON_H
#define SPIN_COMMON_H

#include <linux/types.h>

#ifndef __cplusplus
#define SPIN_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout")
#else
#define SPIN_ASSERT_SIZE(type, size) static_assert(sizeof(type) == (size), #type " layout")
#endif

/*
 * Bumped whenever a pinned map's key, value or meaning changes. spind compares it with the
 * version stored in the pinned spin_cfg map and recreates the pins (policy is reloaded from
 * the state directory) instead of misreading old layouts.
 */
#define SPIN_LAYOUT_VERSION 7

#define SPIN_PIN_DIR "/sys/fs/bpf/spin"

/* Map and program names: 15 characters at most (the kernel cuts longer ones). */
#define SPIN_MAP_FLOWS	 "spin_flows"
#define SPIN_MAP_FLOWS4	 "spin_flows4"
#define SPIN_MAP_CFG	 "spin_cfg"
#define SPIN_MAP_ADDRPOL "spin_addrpol"
#define SPIN_MAP_PFXPOL	 "spin_pfxpol"
#define SPIN_MAP_PAIRPOL "spin_pairpol"
#define SPIN_MAP_STATS	 "spin_stats"
#define SPIN_MAP_EVENTS	 "spin_events"
#define SPIN_MAP_FRAGS	 "spin_frags"
#define SPIN_MAP_CAPMAC	 "spin_capmac"
#define SPIN_MAP_MACPOL	 "spin_macpol"
#define SPIN_MAP_FC4	 "spin_fc4"
#define SPIN_MAP_FC6	 "spin_fc6"
#define SPIN_PROG_TC_IN	 "spin_tc_ingress"
#define SPIN_PROG_TC_OUT "spin_tc_egress"
#define SPIN_PROG_XDP	 "spin_xdp"
#define SPIN_PROG_FC_ARM "spin_fc_arm"

/* Capacities; tests and small routers override them at build time. */
#ifndef SPIN_MAX_FLOWS
#define SPIN_MAX_FLOWS 65536
#endif
#ifndef SPIN_MAX_ADDRS
#define SPIN_MAX_ADDRS 65536
#endif
#ifndef SPIN_MAX_PREFIXES
#define SPIN_MAX_PREFIXES 4096
#endif
#ifndef SPIN_MAX_PAIRS
#define SPIN_MAX_PAIRS 16384
#endif
#ifndef SPIN_MAX_MACS
#define SPIN_MAX_MACS 4096 /* devices on the block or allow list (spin_macpol) */
#endif
#ifndef SPIN_MAX_FRAGS
#define SPIN_MAX_FRAGS 1024
#endif
/*
 * Flow cache slots per CPU and family; a power of two. Few enough that a CPU's slots span few
 * pages (IPv4 16, IPv6 32): each packet touches the slot of its flow, and with 4096 per row the
 * busy flows' slots were spread over 4 times as many pages, which cost about a fifth of the
 * program's time on the wire (docs/benchmarks.md, "Where the cost goes"). A flow whose slot is
 * taken is counted in the flow map instead, exactly.
 */
#ifndef SPIN_FC_SLOTS
#define SPIN_FC_SLOTS 1024
#endif
#define SPIN_FC_MAX_CPUS 256 /* CPUs beyond it run without the flow cache */
/*
 * DNS events are ~200 bytes: 16 MiB hold about 1.5 s of a 25,000 queries/s burst (query and
 * answer each) while spind waits for a CPU; 4 MiB lost answers to such waits in the bench.
 */
#ifndef SPIN_EVENTS_BYTES
#define SPIN_EVENTS_BYTES (16 * 1024 * 1024)
#endif
/* Interfaces one spind attaches to (LAN interfaces, or bridge ports). */
#define SPIN_MAX_IFACES 16
/* Bytes of a DNS packet copied to user space: a 1232-byte EDNS answer plus L2-L4 headers. */
#define SPIN_DNS_CAP 1408
/* Devices captured at once (spin_capmac entries). */
#define SPIN_MAX_CAPTURES 16
/* Bytes of a captured frame copied to user space: a full-size Ethernet frame without FCS. */
#define SPIN_CAP_SNAPLEN 1514

/*
 * An address of either family. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that the policy
 * maps and user space have one key format for both families (only spin_flows4 is IPv4-only).
 * 4-byte aligned, as in an IPv6 header: the BPF compiler then copies and compares addresses a
 * word at a time instead of a byte at a time (and what it stores word by word, the CPU can
 * hand to the word loads that follow).
 */
struct spin_addr {
	__u8 a[16];
} __attribute__((aligned(4)));
SPIN_ASSERT_SIZE(struct spin_addr, 16);

/*
 * A flow, in canonical order: endpoint A is the one with the lower (address, port), so both
 * directions of a conversation find the same entry. For ICMP the ports are zero and the
 * type/code of the request are kept (a reply is folded onto its request type).
 */
struct spin_flow_key {
	struct spin_addr addr_a;
	struct spin_addr addr_b;
	__be16 port_a;
	__be16 port_b;
	__u8 proto;
	__u8 family; /* 4 or 6 */
	__u8 icmp_type;
	__u8 icmp_code;
};
SPIN_ASSERT_SIZE(struct spin_flow_key, 40);

/*
 * The key of IPv4 flows, in spin_flows4: the same canonical flow as struct spin_flow_key with
 * the addresses' last 4 bytes (family 4 is implied). 16 bytes instead of 40 make the per-packet
 * hash lookup ~15 ns cheaper; spin_flows keeps only IPv6 flows.
 */
struct spin_flow_key4 {
	__be32 addr_a;
	__be32 addr_b;
	__be16 port_a;
	__be16 port_b;
	__u8 proto;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad; /* zero */
};
SPIN_ASSERT_SIZE(struct spin_flow_key4, 16);

enum spin_flow_dir {
	SPIN_DIR_AB = 0, /* from endpoint A to endpoint B */
	SPIN_DIR_BA = 1,
};

enum spin_verdict {
	SPIN_VERDICT_PASS = 0,
	SPIN_VERDICT_DROP = 1,
};

/* spin_flow_val.flags */
#define SPIN_FLOW_F_SYN_SEEN 0x01 /* initiator known from a TCP SYN (without ACK) */
#define SPIN_FLOW_F_FRAG     0x02 /* fragments were attributed to this flow */
/*
 * This CPU's slot created the flow, so its initiator is the first packet's direction. Slots
 * of other CPUs are initialised on their first packet and only guess the initiator.
 */
#define SPIN_FLOW_F_CREATED 0x04
/*
 * mac holds the Ethernet source of the packet that created this CPU's slot, received at an
 * ingress hook from the side mac_dir names (its source address): how spind learns a LAN
 * address's MAC when no neighbour entry tells it (a bridge that does not route).
 */
#define SPIN_FLOW_F_MAC 0x08
/*
 * mac2 holds the Ethernet source of the other side (the one mac_dir does not name), from the
 * first packet of that side this CPU's slot received at an ingress hook on the flow-map path
 * (a flow's second packet, its reply, takes that path): a LAN host that only answers, such as
 * the receiver of a flow between two devices behind a bridge, gets its MAC too.
 */
#define SPIN_FLOW_F_MAC2 0x10

/*
 * Per-CPU counters of one flow (spin_flows is a per-CPU hash, so the fast path needs no atomic
 * operations); user space sums the CPUs. Bytes are IP bytes (IP header included), as on the
 * wire: a GSO/GRO super-packet counts as its segments.
 */
struct spin_flow_val {
	__u64 bytes[2];	  /* indexed by enum spin_flow_dir */
	__u64 packets[2]; /* indexed by enum spin_flow_dir */
	__u64 blk_bytes;  /* dropped by policy, both directions */
	__u64 blk_packets;
	__u32 first_seen; /* spin_cfg.clock_sec when this CPU first saw the flow */
	__u32 last_seen;  /* spin_cfg.clock_sec at this CPU's latest packet */
	__u32 policy_gen; /* spin_cfg.policy_gen that 'verdict' was computed for */
	__u32 ifindex;	  /* attached interface where the flow was first seen */
	__u8 verdict;	  /* enum spin_verdict, cached for policy_gen */
	__u8 initiator;	  /* enum spin_flow_dir of the side that opened the flow */
	__u8 flags;	  /* SPIN_FLOW_F_* */
	__u8 mac_dir;	  /* enum spin_flow_dir of the endpoint 'mac' belongs to */
	__u8 mac[6];	  /* with SPIN_FLOW_F_MAC: that endpoint's Ethernet address */
	__u8 mac2[6];	  /* with SPIN_FLOW_F_MAC2: the other endpoint's */
};
SPIN_ASSERT_SIZE(struct spin_flow_val, 80);

/*
 * The flow cache (spin_fc4, spin_fc6; docs/datapath.md "Flow cache"): per CPU, one slot per
 * hash of the flow key, holding the packets of one flow counted since the last flush. A
 * packet whose flow sits in its slot for the current policy_gen (so it passes) costs an array
 * lookup and a few adds instead of the flow-table hash lookup. A per-CPU BPF timer adds the
 * counts into the flow maps every spin_fc_flush_ns (a quarter second) and zeroes them; user
 * space reads the flow maps only, which therefore trail the wire by up to that period.
 *
 * The maps are plain arrays of SPIN_FC_SLOTS slots per CPU, CPU after CPU (entry
 * cpu * SPIN_FC_SLOTS + slot; user space sizes them with spin_fc_entries()), not per-CPU
 * arrays: a per-CPU array reaches a value through a table of per-CPU pointers, one more
 * dependent cache miss per packet. An IPv4 slot is one 64-byte cache line, an IPv6 slot two
 * (the arrays are page-aligned: BPF_F_MMAPABLE). The fields a packet touches come first.
 */
struct spin_fc_count {
	__u64 bytes[2]; /* since the last flush, by enum spin_flow_dir */
	__u64 packets[2];
	__u32 policy_gen; /* 0: no flow; else the generation under which the flow passed */
	/* what a flush needs to recreate the flow entry if spind removed it meanwhile */
	__u32 ifindex;
	__u8 flags; /* SPIN_FLOW_F_SYN_SEEN, SPIN_FLOW_F_MAC of the entry; SPIN_FC_F_* */
	__u8 mac[6];
	__u8 pad;
};
SPIN_ASSERT_SIZE(struct spin_fc_count, 48);

/* spin_fc_count.flags besides the entry's: the entry's initiator and mac_dir are SPIN_DIR_BA */
#define SPIN_FC_F_INIT_BA 0x40
#define SPIN_FC_F_MAC_BA  0x80

struct spin_fc4_slot {
	struct spin_flow_key4 key;
	struct spin_fc_count c;
};
SPIN_ASSERT_SIZE(struct spin_fc4_slot, 64);

struct spin_fc6_slot {
	struct spin_flow_key key;
	struct spin_fc_count c;
	__u8 pad[40]; /* two whole cache lines */
};
SPIN_ASSERT_SIZE(struct spin_fc6_slot, 128);

/* Entries of spin_fc4 / spin_fc6 for ncpus possible CPUs. */
static inline __u32 spin_fc_entries(int ncpus)
{
	return (__u32)(ncpus < SPIN_FC_MAX_CPUS ? ncpus : SPIN_FC_MAX_CPUS) * SPIN_FC_SLOTS;
}

/*
 * Slot of a flow (the same in BPF and C): from the key's fields or the 32-bit words it is
 * stored in, never from wider loads of a key just written by narrower stores (the CPU cannot
 * forward those from its store buffer and stalls).
 */
static inline __u32 spin_fc_mix(__u64 h)
{
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (__u32)(h >> 40) & (SPIN_FC_SLOTS - 1);
}

/*
 * IPv4: multiplicative, so consecutive ports land in distinct slots. The words are those of
 * the key's memory on a little-endian machine (port_a in the low half of the second, proto in
 * its fifth byte), built from the fields.
 */
static inline __u32 spin_fc_index4(const struct spin_flow_key4 *k)
{
	__u64 w0 = (__u64)k->addr_b << 32 | k->addr_a;
	__u64 w1 = (__u64)((__u32)k->icmp_code << 16 | (__u32)k->icmp_type << 8 | k->proto) << 32 |
		   (__u32)k->port_b << 16 | k->port_a;

	return spin_fc_mix(w0 * 0x9e3779b97f4a7c15ULL ^ w1);
}

/*
 * Multilinear over the key's ten 32-bit words (one odd constant each), slot from the top bits
 * of the sum. 32-bit words because that is how the key is stored (struct spin_addr is 4-byte
 * aligned): a 64-bit load of two 32-bit stores just made would stall the CPU, and the ten
 * products do not wait for each other as a chained hash would.
 */
static inline __u32 spin_fc_index6(const struct spin_flow_key *k)
{
	static const __u64 mul[10] = {
		0x71e273a87984a8abULL, 0x9fb93534081c5253ULL, 0xf93fe42eabd2d9f3ULL,
		0xdb149e4714be09abULL, 0x5323451b4a95902bULL, 0x3994693ea3ae6e69ULL,
		0xa061ae14a1dbf721ULL, 0x1aa615a94b6a5551ULL, 0x5856c32a687b253bULL,
		0x8b3a15353f137b71ULL,
	};
	__u32 w[10];
	__u64 h = 0;
	int i;

	__builtin_memcpy(w, k, sizeof(w));
	for (i = 0; i < 10; i++)
		h += w[i] * mul[i];
	return (__u32)(h >> (64 - __builtin_ctz(SPIN_FC_SLOTS)));
}

/*
 * The single entry of spin_cfg: written by spind, read by every packet. Policy changes bump
 * policy_gen after the policy maps are updated, which makes every flow re-evaluate its cached
 * verdict on its next packet; the n_* counts let the fast path skip empty policy maps.
 */
struct spin_cfg {
	__u32 layout_version; /* SPIN_LAYOUT_VERSION of whoever created the pins */
	__u32 policy_gen;
	__u32 clock_sec; /* spind's coarse clock (CLOCK_BOOTTIME seconds), refreshed each second */
	__u32 n_addr_block; /* entries in spin_addrpol with SPIN_POL_BLOCK */
	__u32 n_addr_allow; /* entries in spin_addrpol with SPIN_POL_ALLOW */
	__u32 n_prefix;	    /* entries in spin_pfxpol */
	__u32 n_pair;	    /* entries in spin_pairpol */
	__u32 n_capture;    /* entries in spin_capmac: 0 keeps capture off the fast path */
	__u32 n_mac;	    /* entries in spin_macpol */
	__u32 pad;
};
SPIN_ASSERT_SIZE(struct spin_cfg, 40);

/* Policy flags: values of spin_addrpol and spin_pfxpol. Allow overrides block. */
#define SPIN_POL_BLOCK 0x1
#define SPIN_POL_ALLOW 0x2

struct spin_lpm_key {
	__u32 prefixlen; /* over the IPv4-mapped address: an IPv4 /24 is 96 + 24 */
	struct spin_addr addr;
};
SPIN_ASSERT_SIZE(struct spin_lpm_key, 20);

/* A flow block between two addresses, lower address first; value is unused (1). */
struct spin_pair_key {
	struct spin_addr lo;
	struct spin_addr hi;
};
SPIN_ASSERT_SIZE(struct spin_pair_key, 32);

/* Remembers the ports of a fragmented datagram so that later fragments join its flow. */
struct spin_frag_key {
	struct spin_addr saddr;
	struct spin_addr daddr;
	__u32 id; /* IPv4 id (16 bits) or IPv6 fragment identification */
	__u8 proto;
	__u8 pad[3];
};
SPIN_ASSERT_SIZE(struct spin_frag_key, 40);

struct spin_frag_val {
	__be16 sport;
	__be16 dport;
};
SPIN_ASSERT_SIZE(struct spin_frag_val, 4);

/* Indexes of spin_stats (per-CPU array of __u64). Every failure in the kernel is counted. */
enum spin_stat {
	SPIN_STAT_PACKETS = 0,	  /* packets seen by the counting hooks */
	SPIN_STAT_NOT_IP,	  /* not IPv4/IPv6 (ARP, LLDP...): passed, not counted */
	SPIN_STAT_PARSE_ERR,	  /* malformed or truncated headers */
	SPIN_STAT_FRAGMENTS,	  /* IP fragments seen */
	SPIN_STAT_FRAG_UNKNOWN,	  /* non-first fragment whose first fragment was not seen */
	SPIN_STAT_FLOW_NEW,	  /* flows created */
	SPIN_STAT_FLOW_MAP_FULL,  /* flow creation failed: counters went to the overflow */
	SPIN_STAT_OVERFLOW_BYTES, /* bytes of packets that found no flow entry */
	SPIN_STAT_OVERFLOW_PKTS,
	SPIN_STAT_DROP_XDP,	  /* packets dropped by policy at XDP */
	SPIN_STAT_DROP_TC,	  /* packets dropped by policy at TC */
	SPIN_STAT_DNS_EVENTS,	  /* DNS packets sent to user space */
	SPIN_STAT_RINGBUF_FULL,	  /* events lost because the ring buffer was full */
	SPIN_STAT_DNS_TRUNC,	  /* DNS packets longer than SPIN_DNS_CAP (copy cut short) */
	SPIN_STAT_SKIPPED_EGRESS, /* egress packets already counted at an attached ingress */
	SPIN_STAT_CAPTURED,	  /* frames of captured devices sent to user space */
	SPIN_STAT_CAPTURE_LOST,	  /* frames of captured devices lost (ring buffer full) */
	SPIN_STAT_MAX
};

#define SPIN_STAT_NAMES                                                                            \
	{                                                                                          \
		"packets", "not_ip", "parse_error", "fragments", "frag_unknown", "flow_new",       \
			"map_full", "overflow_bytes", "overflow_packets", "drop_xdp", "drop_tc",   \
			"dns_events", "ringbuf_full", "dns_truncated", "skipped_egress",           \
			"captured", "capture_lost"                                                 \
	}

/* Ring-buffer records. Every record starts with the type. */
enum spin_event_type {
	SPIN_EV_DNS = 1,
	SPIN_EV_CAPTURE = 2,
};

enum spin_hook {
	SPIN_HOOK_TC_INGRESS = 0,
	SPIN_HOOK_TC_EGRESS = 1,
	SPIN_HOOK_XDP = 2,
};

/*
 * A DNS packet (UDP or TCP, port 53 on either side), copied from its first byte (Ethernet
 * header) for cap_len bytes. The offsets are into data[]; user space parses the headers with
 * the same parser the kernel used (spin_parse.h).
 */
struct spin_dns_event {
	__u32 type; /* SPIN_EV_DNS */
	__u32 ifindex;
	__u64 ts_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 pkt_len; /* length of the whole packet */
	__u16 cap_len; /* bytes in data[] */
	__u16 l3_off;  /* IP header */
	__u16 l4_off;  /* UDP/TCP header */
	__u16 dns_off; /* DNS message (after the TCP length prefix, for TCP) */
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 hook;     /* enum spin_hook */
	__u8 pad;
	__u8 data[];
};
SPIN_ASSERT_SIZE(struct spin_dns_event, 32);

/*
 * A device's MAC as a map key. spin_capmac: the value (__u32) is the number of capture streams
 * using it. spin_macpol: policy flags (SPIN_POL_*) of a device on a list, so that its frames
 * are blocked (or allowed) whatever address they carry, even one spind has not seen yet.
 */
struct spin_mac_key {
	__u8 mac[6];
	__u8 pad[2]; /* zero */
};
SPIN_ASSERT_SIZE(struct spin_mac_key, 8);

/*
 * A frame to or from a captured device, copied from its first byte (Ethernet header) for
 * cap_len bytes. At TC a GSO/GRO super-packet is one skb: the copy is its first cap_len bytes
 * and pkt_len is the super-packet's length.
 */
struct spin_cap_event {
	__u32 type; /* SPIN_EV_CAPTURE */
	__u32 ifindex;
	__u64 ts_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 pkt_len; /* length of the whole frame */
	__u16 cap_len; /* bytes in data[], at most SPIN_CAP_SNAPLEN */
	__u8 hook;     /* enum spin_hook */
	__u8 pad;
	__u8 mac[6]; /* the spin_capmac key that matched (destination checked first) */
	__u8 pad2[2];
	__u8 data[];
};
SPIN_ASSERT_SIZE(struct spin_cap_event, 32);

#endif /* SPIN_COMMON_H */
