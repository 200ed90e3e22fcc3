/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow accounting: one per-CPU entry per canonical flow key, with the policy verdict cached
 * in it for the current policy_gen. The common path is one hash lookup and plain adds.
 */
#ifndef SPIN_FLOW_BPF_H
#define SPIN_FLOW_BPF_H

#include "spin_maps.bpf.h"
#include "spin_policy.bpf.h"
#include "spin_fcache.bpf.h"
#include "spin_parse.h"

#define SPIN_EEXIST 17 /* no errno.h in BPF programs */

#define SPIN_TCP_SYN 0x02
#define SPIN_TCP_ACK 0x10

/* What one packet contributes to its flow. */
struct spin_acct {
	__u64 bytes;
	__u32 pkts;
	__u32 ifindex;
	__u8 dir;   /* enum spin_flow_dir */
	__u8 syn;   /* TCP SYN without ACK: this direction opened the flow */
	__u8 frag;  /* the packet is a fragment */
	__u8 count; /* 0: only blocked packets are counted (XDP, which leaves passes to TC) */
	__u8 xdp;   /* frame and ctx are an xdp_md, else an __sk_buff */
	/* at an ingress hook, the program's context: a new slot reads the Ethernet source */
	void *frame;
	/* the program's context at every hook: the device policy reads the frame's MACs */
	void *ctx;
};

/*
 * Fragments: the first one records its ports (ICMP: type and code) under (addresses, id,
 * protocol), so later fragments, which carry no L4 header, join the same flow. record is 0 at
 * XDP, which only reads the table.
 */
static __always_inline void spin_frag_ports(struct spin_pkt *pkt, int record)
{
	struct spin_frag_key fk = {};
	struct spin_frag_val *fv;
	int icmp = pkt->proto == IPPROTO_ICMP || pkt->proto == SPIN_IPPROTO_ICMPV6;

	if (pkt->frag == SPIN_FRAG_NONE)
		return;
	if (record)
		spin_stat_add(SPIN_STAT_FRAGMENTS, 1);
	__builtin_memcpy(&fk.saddr, &pkt->saddr, sizeof(fk.saddr));
	__builtin_memcpy(&fk.daddr, &pkt->daddr, sizeof(fk.daddr));
	fk.id = pkt->frag_id;
	fk.proto = pkt->proto;
	if (pkt->frag == SPIN_FRAG_FIRST) {
		struct spin_frag_val nv = {pkt->sport, pkt->dport};

		if (icmp) {
			nv.sport = pkt->icmp_type;
			nv.dport = pkt->icmp_code;
		}
		if (record)
			bpf_map_update_elem(&spin_frags, &fk, &nv, BPF_ANY);
		return;
	}
	fv = bpf_map_lookup_elem(&spin_frags, &fk);
	if (!fv) {
		if (record)
			spin_stat_add(SPIN_STAT_FRAG_UNKNOWN, 1);
		return; /* counted under ports 0 */
	}
	if (icmp) {
		pkt->icmp_type = fv->sport;
		pkt->icmp_code = fv->dport;
	} else {
		pkt->sport = fv->sport;
		pkt->dport = fv->dport;
	}
}

static __always_inline void spin_slot_count(const struct spin_cfg *cfg, struct spin_flow_val *val,
					    const struct spin_acct *a, __u8 verdict)
{
	if (verdict == SPIN_VERDICT_DROP) {
		val->blk_bytes += a->bytes;
		val->blk_packets += a->pkts;
	} else if (a->count) {
		/* two branches, not bytes[dir]: a constant index needs no verifier bounds proof */
		if (a->dir == SPIN_DIR_AB) {
			val->bytes[SPIN_DIR_AB] += a->bytes;
			val->packets[SPIN_DIR_AB] += a->pkts;
		} else {
			val->bytes[SPIN_DIR_BA] += a->bytes;
			val->packets[SPIN_DIR_BA] += a->pkts;
		}
	} else {
		return;
	}
	if (val->last_seen != cfg->clock_sec)
		val->last_seen = cfg->clock_sec;
	if (a->syn && !(val->flags & SPIN_FLOW_F_SYN_SEEN)) {
		val->initiator = a->dir;
		val->flags |= SPIN_FLOW_F_SYN_SEEN;
	}
	if (a->frag)
		val->flags |= SPIN_FLOW_F_FRAG;
}

/* The IPv4 key as two words, so it is stored (and read back by the flow cache) 8 bytes at a time. */
union spin_flow_key4_words {
	struct spin_flow_key4 k;
	__u64 w[2];
};

/*
 * The IPv4 key, built straight from the packet: the same canonical order as
 * spin_flow_key_from_pkt() (the IPv4-mapped addresses differ only in their last 4 bytes, whose
 * byte-wise order is that of the host-order value), the same ICMP echo folding. Returns the
 * packet's enum spin_flow_dir. Built in a local and copied out whole: field-wise stores read
 * back as 64-bit words defeat the CPU's store-to-load forwarding.
 */
static __always_inline int spin_flow_key4_from_pkt(const struct spin_pkt *pkt,
						   union spin_flow_key4_words *out)
{
	union spin_flow_key4_words u;
	struct spin_flow_key4 *k = &u.k;
	__be32 s, d;
	__u32 hs, hd;
	int ab;

	__builtin_memcpy(&s, &pkt->saddr.a[12], 4);
	__builtin_memcpy(&d, &pkt->daddr.a[12], 4);
	hs = spin_ntohl(s);
	hd = spin_ntohl(d);
	ab = hs < hd || (hs == hd && spin_ntohs(pkt->sport) <= spin_ntohs(pkt->dport));
	if (ab) {
		k->addr_a = s;
		k->addr_b = d;
		k->port_a = pkt->sport;
		k->port_b = pkt->dport;
	} else {
		k->addr_a = d;
		k->addr_b = s;
		k->port_a = pkt->dport;
		k->port_b = pkt->sport;
	}
	k->proto = pkt->proto;
	k->icmp_type = pkt->icmp_type;
	k->icmp_code = pkt->icmp_code;
	k->pad = 0;
	if (pkt->proto == IPPROTO_ICMP && pkt->icmp_type == SPIN_ICMP_ECHO_REPLY)
		k->icmp_type = SPIN_ICMP_ECHO;
	__builtin_memcpy(out, &u, sizeof(u));
	return ab ? SPIN_DIR_AB : SPIN_DIR_BA;
}

/*
 * Policy flags of a device on a list whose MAC is the frame's source or destination: a
 * blocked device stays blocked from an address spind has not seen yet (a new IPv6 privacy
 * address). Two lookups, only where the policy is evaluated and only with such devices.
 */
static __always_inline __u32 spin_frame_mac_flags(const struct spin_cfg *cfg,
						  const struct spin_acct *a)
{
	struct spin_mac_key k = {};
	__u32 flags = 0, *f;
	__u8 macs[12]; /* destination, source */
	long err;

	if (!cfg->n_mac || !a->ctx)
		return 0;
	if (a->xdp)
		err = bpf_xdp_load_bytes(a->ctx, 0, macs, sizeof(macs));
	else
		err = bpf_skb_load_bytes(a->ctx, 0, macs, sizeof(macs));
	if (err)
		return 0;
	__builtin_memcpy(k.mac, macs, 6);
	f = bpf_map_lookup_elem(&spin_macpol, &k);
	if (f)
		flags |= *f;
	__builtin_memcpy(k.mac, macs + 6, 6);
	f = bpf_map_lookup_elem(&spin_macpol, &k);
	if (f)
		flags |= *f;
	return flags;
}

/*
 * The policy verdict of a flow whose map key is mkey, for this packet's frame: in spin_flows4
 * (v4) the full key is built only here, off the common path (new flow, new slot, policy
 * change).
 */
static __always_inline __u8 spin_flow_policy(const struct spin_cfg *cfg, const void *mkey, int v4,
					     const struct spin_acct *a)
{
	struct spin_flow_key key;
	__u32 mac_flags = spin_frame_mac_flags(cfg, a);

	if (!v4)
		return spin_policy_eval(cfg, mkey, mac_flags);
	spin_flow_key_from4(mkey, &key);
	return spin_policy_eval(cfg, &key, mac_flags);
}

#define SPIN_ETH_SRC_OFF 6

/*
 * Only when a slot is initialised, with a helper: copying the MAC per packet would cost the
 * common path, and a packet pointer kept until here loses its bounds proof.
 */
static __always_inline void spin_slot_mac(struct spin_flow_val *val, const struct spin_acct *a)
{
	long err;

	if (!a->frame)
		return;
	if (a->xdp)
		err = bpf_xdp_load_bytes(a->frame, SPIN_ETH_SRC_OFF, val->mac, sizeof(val->mac));
	else
		err = bpf_skb_load_bytes(a->frame, SPIN_ETH_SRC_OFF, val->mac, sizeof(val->mac));
	if (err)
		return;
	val->mac_dir = a->dir;
	val->flags |= SPIN_FLOW_F_MAC;
}

/*
 * An existing slot on the flow-map path, at an ingress hook: the MAC of a side it has none of
 * yet. A slot first seen at egress takes this packet's as its mac; a slot holding the other
 * side's takes it as mac2. Never on the flow-cache path: a flow's second packet, usually the
 * first of its reply, takes the flow map, which is what gives the answering side its MAC.
 */
static __always_inline void spin_slot_mac_more(struct spin_flow_val *val, const struct spin_acct *a)
{
	long err;

	if (!a->frame || (val->flags & SPIN_FLOW_F_MAC2))
		return;
	if (!(val->flags & SPIN_FLOW_F_MAC)) {
		spin_slot_mac(val, a);
		return;
	}
	if (val->mac_dir == a->dir)
		return;
	if (a->xdp)
		err = bpf_xdp_load_bytes(a->frame, SPIN_ETH_SRC_OFF, val->mac2, sizeof(val->mac2));
	else
		err = bpf_skb_load_bytes(a->frame, SPIN_ETH_SRC_OFF, val->mac2, sizeof(val->mac2));
	if (!err)
		val->flags |= SPIN_FLOW_F_MAC2;
}

/*
 * The verdict of an existing flow for this CPU's slot: cached unless policy_gen moved. A slot
 * with ifindex 0 was never touched on this CPU (the flow was created on another one): it is
 * initialised here and always evaluated, so a zero policy_gen cannot pass for a cached one.
 */
static __always_inline __u8 spin_slot_verdict(const struct spin_cfg *cfg, const void *mkey, int v4,
					      struct spin_flow_val *val, const struct spin_acct *a)
{
	__u32 gen = cfg->policy_gen;

	if (val->ifindex && val->policy_gen == gen)
		return val->verdict;
	if (!val->ifindex) {
		val->ifindex = a->ifindex;
		val->first_seen = cfg->clock_sec;
		val->last_seen = cfg->clock_sec;
		val->initiator = a->dir;
		spin_slot_mac(val, a);
	}
	val->verdict = spin_flow_policy(cfg, mkey, v4, a);
	val->policy_gen = gen;
	return val->verdict;
}

/* Counts a packet that found no flow entry and could not create one: totals stay exact. */
static __always_inline void spin_flow_overflow(const struct spin_acct *a)
{
	spin_stat_add(SPIN_STAT_FLOW_MAP_FULL, 1);
	spin_stat_add(SPIN_STAT_OVERFLOW_BYTES, a->bytes);
	spin_stat_add(SPIN_STAT_OVERFLOW_PKTS, a->pkts);
}

/* Creates the flow with this packet already counted. Returns 0 or the map's -errno. */
static __always_inline int spin_flow_create(void *map, const void *mkey, const struct spin_cfg *cfg,
					    const struct spin_acct *a, __u8 verdict)
{
	struct spin_flow_val nv = {};
	int err;

	nv.first_seen = cfg->clock_sec;
	nv.ifindex = a->ifindex;
	nv.policy_gen = cfg->policy_gen;
	nv.verdict = verdict;
	nv.initiator = a->dir;
	nv.flags = SPIN_FLOW_F_CREATED;
	spin_slot_mac(&nv, a);
	spin_slot_count(cfg, &nv, a, verdict);
	err = bpf_map_update_elem(map, mkey, &nv, BPF_NOEXIST);
	if (!err)
		spin_stat_add(SPIN_STAT_FLOW_NEW, 1);
	return err;
}

#ifdef SPIN_STAGE_STOP
/* A flow key folded into one word, as the flow cache reads it (stage end points only). */
static __always_inline __u64 spin_stage_key(const void *mkey, int v4)
{
	const __u32 *w = mkey;
	__u64 k = 0;
	int i;

	SPIN_UNROLL
	for (i = 0; i < 10; i++)
		if (!v4 || i < 4)
			k ^= (__u64)w[i] << (i & 1 ? 32 : 0);
	return k;
}
#endif

/*
 * Accounts one packet to its flow in map (spin_flows4 with v4 set, else spin_flows) and
 * returns the verdict. A passed packet of a flow that holds its flow-cache slot is counted
 * there; the rest take the flow map. With a->count == 0 (XDP) a flow is only created, and the
 * packet only counted, when it is dropped. Always inlined with a constant map, so the
 * verifier inlines the lookups.
 */
static __always_inline __u8 spin_flow_account(void *map, const void *mkey, int v4,
					      const struct spin_cfg *cfg, const struct spin_acct *a)
{
	struct spin_fc_count *fc = NULL;
	struct spin_flow_val *val;
	void *fkey = NULL;
	__u8 verdict;
	int err;

	SPIN_STAGE_END(SPIN_STAGE_KEY, SPIN_VERDICT_PASS, spin_stage_key(mkey, v4) ^ a->bytes);
	SPIN_STAGE_END(SPIN_STAGE_SLOT, SPIN_VERDICT_PASS,
		       (v4 ? spin_fc_index4(mkey) : spin_fc_index6(mkey)) ^ a->bytes);
	/* a SYN or a fragment updates the flow's flags: those take the flow map */
	if (!a->syn && !a->frag) {
		fc = spin_fc_slot(mkey, v4, &fkey);
		if (fc && spin_fc_holds(fc, fkey, mkey, v4, cfg)) {
			if (a->count) /* XDP only learns that the flow passes */
				spin_fc_add(fc, a->dir, a->bytes, a->pkts);
			return SPIN_VERDICT_PASS;
		}
	}
	val = bpf_map_lookup_elem(map, mkey);
	if (!val) {
		verdict = spin_flow_policy(cfg, mkey, v4, a);
		if (!a->count && verdict == SPIN_VERDICT_PASS)
			return verdict;
		err = spin_flow_create(map, mkey, cfg, a, verdict);
		if (!err)
			return verdict; /* the next packet takes the slot */
		/* -EEXIST: another CPU inserted the flow since our lookup; use its entry */
		if (err == -SPIN_EEXIST)
			val = bpf_map_lookup_elem(map, mkey);
		if (!val) {
			spin_flow_overflow(a);
			return verdict;
		}
	}
	verdict = spin_slot_verdict(cfg, mkey, v4, val, a);
	spin_slot_mac_more(val, a);
	spin_slot_count(cfg, val, a, verdict);
	if (fc && a->count && verdict == SPIN_VERDICT_PASS)
		spin_fc_take(fc, fkey, mkey, v4, cfg, val);
	return verdict;
}

/*
 * Accounts the packet to its flow, in its family's map, and returns the verdict. Sets a->dir;
 * a's other fields are the caller's.
 */
static __always_inline __u8 spin_flow_pkt(const struct spin_cfg *cfg, const struct spin_pkt *pkt,
					  struct spin_acct *a)
{
	if (pkt->family == 4) {
		union spin_flow_key4_words k4;

		a->dir = spin_flow_key4_from_pkt(pkt, &k4);
		return spin_flow_account(&spin_flows4, &k4.k, 1, cfg, a);
	} else {
		struct spin_flow_key key;

		a->dir = spin_flow_key_from_pkt(pkt, &key);
		return spin_flow_account(&spin_flows, &key, 0, cfg, a);
	}
}

#endif /* SPIN_FLOW_BPF_H */
