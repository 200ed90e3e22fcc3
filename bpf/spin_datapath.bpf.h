/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hooks' shared logic: parse once, account the flow, enforce the cached verdict, copy DNS.
 * TC counts every IP packet exactly once; XDP only drops early what policy blocks.
 */
#ifndef SPIN_DATAPATH_BPF_H
#define SPIN_DATAPATH_BPF_H

#include <linux/pkt_cls.h>

#include "spin_maps.bpf.h"
#include "spin_flow.bpf.h"
#include "spin_dns.bpf.h"
#include "spin_capture.bpf.h"
#include "spin_parse.h"

/*
 * Bytes pulled into the linear area when the headers are not all there: Ethernet, two VLAN
 * tags, IPv6 with extension headers and TCP with options fit; pulling the whole skb would
 * linearise 64 KiB GSO packets.
 */
#define SPIN_PULL_LEN 256

/*
 * A packet we let through goes on to whatever else is hooked there: the next TCX program and
 * the clsact filters (TCX_NEXT), or the next cls_bpf filter. TC_ACT_OK would end the chain
 * (TCX_PASS), and with TCX, which runs before clsact, skip every other tool's filters.
 */
#define SPIN_TC_PASS TC_ACT_UNSPEC

/* Was the packet received on one of the attached interfaces (so already counted there)? */
static __always_inline int spin_is_attached(__u32 ifindex)
{
	__u32 n = spin_n_ifaces; /* spind may rewrite the list: read it once */
	int i;

	if (!ifindex)
		return 0; /* locally generated */
	for (i = 0; i < SPIN_MAX_IFACES; i++) {
		if (i >= n)
			break;
		if (spin_ifindexes[i] == ifindex)
			return 1;
	}
	return 0;
}

#ifdef SPIN_STAGE_STOP
/*
 * A parsed packet's ports, protocol and the last word of each address, folded into one word
 * (stage end points only): what the IPv4 key reads; an IPv6 key's other address words are
 * then loaded by the key stage.
 */
static __always_inline __u64 spin_stage_pkt(const struct spin_pkt *pkt)
{
	__u32 s, d;

	__builtin_memcpy(&s, &pkt->saddr.a[12], 4);
	__builtin_memcpy(&d, &pkt->daddr.a[12], 4);
	return (__u64)s << 32 ^ d ^ (__u64)pkt->sport << 16 ^ pkt->dport ^ (__u64)pkt->proto << 40 ^
	       pkt->family ^ pkt->icmp_type;
}
#endif

static __always_inline int spin_tc_parse(struct __sk_buff *skb, struct spin_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 len;
	int rc;

	rc = spin_parse_eth(data, data_end, pkt);
	if (rc != SPIN_PARSE_ERR || data_end - data >= skb->len)
		return rc;
	/* headers beyond the linear part: pull once (it invalidates data) and re-parse */
	len = skb->len < SPIN_PULL_LEN ? skb->len : SPIN_PULL_LEN;
	if (bpf_skb_pull_data(skb, len))
		return SPIN_PARSE_ERR;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	return spin_parse_eth(data, data_end, pkt);
}

/*
 * IP bytes as on the wire. A GSO/GRO super-packet counts as its segments, each with its own
 * IP and L4 header; otherwise the IP length, which leaves out Ethernet padding (and is capped
 * by what the skb really holds).
 */
static __always_inline void spin_tc_size(const struct __sk_buff *skb, const struct spin_pkt *pkt,
					 struct spin_acct *a)
{
	__u32 l3_len = skb->len - pkt->l3_off;
	__u32 segs = skb->gso_segs;

	a->pkts = 1;
	if (segs > 1) {
		__u32 hdrs = pkt->l4_off ? pkt->l4_off - pkt->l3_off + pkt->l4_hdr_len : 0;

		a->pkts = segs;
		a->bytes = l3_len + (__u64)(segs - 1) * hdrs;
	} else if (pkt->ip_len && pkt->ip_len <= l3_len) {
		a->bytes = pkt->ip_len;
	} else {
		a->bytes = l3_len; /* IPv6 BIG TCP (payload length 0), or a lying header */
	}
}

/* a->dir is set by spin_flow_pkt(), which builds the key. */
static __always_inline void spin_acct_init(struct spin_acct *a, const struct spin_pkt *pkt,
					   __u32 ifindex, __u8 count)
{
	a->ifindex = ifindex;
	a->count = count;
	a->syn = pkt->proto == IPPROTO_TCP &&
		 (pkt->tcp_flags & (SPIN_TCP_SYN | SPIN_TCP_ACK)) == SPIN_TCP_SYN;
	a->frag = pkt->frag != SPIN_FRAG_NONE;
}

static __always_inline int spin_tc_handle(struct __sk_buff *skb, __u8 hook)
{
	struct spin_acct a = {};
	struct spin_pkt pkt;
	struct spin_cfg *cfg;
	__u32 ifindex = skb->ifindex;
	__u8 verdict;
	int rc;

	SPIN_STAGE_END(SPIN_STAGE_ENTRY, SPIN_TC_PASS, 0);
	if (hook == SPIN_HOOK_TC_EGRESS && spin_is_attached(skb->ingress_ifindex)) {
		spin_stat_add(SPIN_STAT_SKIPPED_EGRESS, 1);
		return SPIN_TC_PASS;
	}
	cfg = spin_get_cfg();
	if (!cfg)
		return SPIN_TC_PASS; /* cannot happen: a one-entry array */
	if (cfg->n_capture)	     /* every frame once, before any parse */
		spin_capture(skb, skb->len, ifindex, hook);
	spin_stat_add(SPIN_STAT_PACKETS, 1);
	SPIN_STAGE_END(SPIN_STAGE_CONFIG, SPIN_TC_PASS, cfg->policy_gen);
	rc = spin_tc_parse(skb, &pkt);
	if (rc == SPIN_PARSE_NOT_IP) {
		spin_stat_add(SPIN_STAT_NOT_IP, 1);
		return SPIN_TC_PASS;
	}
	if (rc != SPIN_PARSE_OK) {
		spin_stat_add(SPIN_STAT_PARSE_ERR, 1);
		return SPIN_TC_PASS;
	}

	SPIN_STAGE_END(SPIN_STAGE_PARSE, SPIN_TC_PASS, spin_stage_pkt(&pkt));
	spin_frag_ports(&pkt, 1);
	spin_acct_init(&a, &pkt, ifindex, 1);
	spin_tc_size(skb, &pkt, &a);
	SPIN_STAGE_END(SPIN_STAGE_PACKET, SPIN_TC_PASS,
		       spin_stage_pkt(&pkt) ^ a.bytes ^ a.pkts ^ a.syn ^ a.frag);
	if (hook == SPIN_HOOK_TC_INGRESS)
		a.frame = skb;
	a.ctx = skb;
	verdict = spin_flow_pkt(cfg, &pkt, &a);
	if (verdict == SPIN_VERDICT_DROP) {
		spin_stat_add(SPIN_STAT_DROP_TC, a.pkts);
		return TC_ACT_SHOT;
	}
	spin_dns_event(skb, skb->len, ifindex, &pkt, hook);
	return SPIN_TC_PASS;
}

static __always_inline int spin_xdp_handle(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct spin_acct a = {};
	struct spin_pkt pkt;
	struct spin_cfg *cfg;
	__u32 l3_len;

	cfg = spin_get_cfg();
	if (!cfg || spin_policy_empty(cfg))
		return XDP_PASS; /* nothing to enforce: TC does all the counting */
	/* malformed and non-IP packets pass: TC counts them as such */
	if (spin_parse_eth(data, data_end, &pkt) != SPIN_PARSE_OK)
		return XDP_PASS;

	spin_frag_ports(&pkt, 0);
	spin_acct_init(&a, &pkt, ctx->ingress_ifindex, 0);
	a.frame = ctx;
	a.ctx = ctx;
	a.xdp = 1;
	l3_len = data_end - data - pkt.l3_off;
	a.pkts = 1;
	a.bytes = pkt.ip_len && pkt.ip_len <= l3_len ? pkt.ip_len : l3_len;
	if (spin_flow_pkt(cfg, &pkt, &a) != SPIN_VERDICT_DROP)
		return XDP_PASS;
	spin_stat_add(SPIN_STAT_DROP_XDP, 1);
	return XDP_DROP;
}

#endif /* SPIN_DATAPATH_BPF_H */
