/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS events: a copy of every DNS packet (UDP or TCP, port 53 on either side) to user space,
 * which names remote addresses from the answers. The packet itself is never held up or dropped
 * for the event's sake; a full ring buffer is counted.
 */
#ifndef SPIN_DNS_BPF_H
#define SPIN_DNS_BPF_H

#include "spin_maps.bpf.h"
#include "spin_parse.h"

#define SPIN_DNS_PORT	    53
#define SPIN_DNS_HDR_LEN    12
#define SPIN_TCP_LEN_PREFIX 2

/* L4 payload bytes of the packet, from the IP length when it is known. */
static __always_inline __s32 spin_l4_payload(__u32 skb_len, const struct spin_pkt *pkt)
{
	__s32 hdrs = pkt->l4_off + pkt->l4_hdr_len;

	if (pkt->ip_len)
		return (__s32)pkt->ip_len - (hdrs - pkt->l3_off);
	return (__s32)skb_len - hdrs;
}

/*
 * Copies the packet's first min(skb_len, max) bytes to dst; returns how many, 0 on failure.
 * max is a constant once inlined. Verifier: the copy size must be provably within [1, max]
 * in the register passed to the helpers. clang folds a combined range check into
 * (cap - 1) > max - 1 on a copy, which bounds the copy, not cap; the empty asm statements keep
 * the two checks separate and on cap itself, which is 64-bit because a 32-bit value is checked
 * on a zero-extended copy the helper never sees.
 */
static __always_inline __u64 spin_copy_head(struct __sk_buff *skb, __u32 skb_len, void *dst,
					    const __u32 max)
{
	__u64 cap = skb_len < max ? skb_len : max;

	asm volatile("" : "+r"(cap));
	if (cap > max)
		return 0;
	asm volatile("" : "+r"(cap));
	if (cap < 1)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, dst, cap))
		return 0;
	return cap;
}

/*
 * skb_len and ifindex are read by the caller at its start: clang otherwise keeps a pointer
 * into the context (skb + offset) across calls, and the verifier rejects a modified ctx
 * pointer.
 */
static __always_inline void spin_dns_event(struct __sk_buff *skb, __u32 skb_len, __u32 ifindex,
					   const struct spin_pkt *pkt, __u8 hook)
{
	struct spin_dns_scratch *s;
	struct spin_dns_event *ev;
	__u32 zero = 0, len;
	__u64 cap;
	__s32 payload;
	__u16 dns_off;

	if (!spin_dns_enabled || !pkt->l4_off)
		return; /* disabled, or a later fragment (no L4 header) */
	if (pkt->proto != IPPROTO_UDP && pkt->proto != IPPROTO_TCP)
		return;
	if (pkt->sport != spin_htons(SPIN_DNS_PORT) && pkt->dport != spin_htons(SPIN_DNS_PORT))
		return;
	payload = spin_l4_payload(skb_len, pkt);
	dns_off = pkt->l4_off + pkt->l4_hdr_len;
	if (pkt->proto == IPPROTO_TCP) {
		/*
		 * Handshake and bare ACK segments carry no message: no event. Otherwise the
		 * segment is taken to start a message behind its 2-byte length prefix; user
		 * space checks the prefix against the length before trusting it.
		 */
		if (payload < SPIN_TCP_LEN_PREFIX + SPIN_DNS_HDR_LEN)
			return;
		dns_off += SPIN_TCP_LEN_PREFIX;
	}

	s = bpf_map_lookup_elem(&spin_scratch, &zero);
	if (!s)
		return;
	ev = (struct spin_dns_event *)s->buf;
	len = skb_len;
	cap = spin_copy_head(skb, len, ev->data, SPIN_DNS_CAP);
	if (!cap || cap > SPIN_DNS_CAP)
		return;
	ev->type = SPIN_EV_DNS;
	ev->ifindex = ifindex;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pkt_len = len;
	ev->cap_len = cap;
	ev->l3_off = pkt->l3_off;
	ev->l4_off = pkt->l4_off;
	ev->dns_off = dns_off;
	ev->family = pkt->family;
	ev->proto = pkt->proto;
	ev->hook = hook;
	ev->pad = 0;
	if (bpf_ringbuf_output(&spin_events, ev, sizeof(*ev) + cap, 0)) {
		spin_stat_add(SPIN_STAT_RINGBUF_FULL, 1);
		return;
	}
	spin_stat_add(SPIN_STAT_DNS_EVENTS, 1);
	if (len > cap)
		spin_stat_add(SPIN_STAT_DNS_TRUNC, 1);
}

#endif /* SPIN_DNS_BPF_H */
