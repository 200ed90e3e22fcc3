/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet capture of chosen devices: every frame whose Ethernet source or destination MAC is in
 * spin_capmac is copied (up to SPIN_CAP_SNAPLEN bytes) to the ring buffer as a SPIN_EV_CAPTURE
 * record; spind turns the records into a pcap stream. Only TC captures, after the egress
 * "already counted" skip, so every frame is copied once. spin_cfg.n_capture gates it: with no
 * capture running the fast path pays one compare.
 */
#ifndef SPIN_CAPTURE_BPF_H
#define SPIN_CAPTURE_BPF_H

#include "spin_dns.bpf.h"
#include "spin_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPIN_MAX_CAPTURES);
	__type(key, struct spin_mac_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} spin_capmac SEC(".maps");

/* The record is assembled here (1.5 KiB does not fit the 512-byte stack). */
struct spin_cap_scratch {
	__u64 buf[(sizeof(struct spin_cap_event) + SPIN_CAP_SNAPLEN + 7) / sizeof(__u64)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spin_cap_scratch);
} spin_capbuf SEC(".maps");

/* 1 with the matching key in *key (destination first), 0 when neither MAC is captured. */
static __always_inline int spin_cap_match(struct __sk_buff *skb, struct spin_mac_key *key)
{
	__u8 macs[12];

	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return 0; /* shorter than two MACs: not a frame of anyone's */
	__builtin_memset(key, 0, sizeof(*key));
	__builtin_memcpy(key->mac, macs, 6);
	if (bpf_map_lookup_elem(&spin_capmac, key))
		return 1;
	__builtin_memcpy(key->mac, macs + 6, 6);
	return bpf_map_lookup_elem(&spin_capmac, key) != NULL;
}

/*
 * skb_len and ifindex are read by the caller at its start, for the reason given at
 * spin_dns_event(): a ctx pointer kept across calls is rejected by the verifier.
 */
static __always_inline void spin_capture(struct __sk_buff *skb, __u32 skb_len, __u32 ifindex,
					 __u8 hook)
{
	struct spin_cap_scratch *s;
	struct spin_cap_event *ev;
	struct spin_mac_key key;
	__u32 zero = 0;
	__u64 cap;

	if (!spin_cap_match(skb, &key))
		return;
	s = bpf_map_lookup_elem(&spin_capbuf, &zero);
	if (!s)
		return;
	ev = (struct spin_cap_event *)s->buf;
	cap = spin_copy_head(skb, skb_len, ev->data, SPIN_CAP_SNAPLEN);
	if (!cap || cap > SPIN_CAP_SNAPLEN)
		return;
	ev->type = SPIN_EV_CAPTURE;
	ev->ifindex = ifindex;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pkt_len = skb_len;
	ev->cap_len = cap;
	ev->hook = hook;
	ev->pad = 0;
	__builtin_memcpy(ev->mac, key.mac, 6);
	ev->pad2[0] = 0;
	ev->pad2[1] = 0;
	if (bpf_ringbuf_output(&spin_events, ev, sizeof(*ev) + cap, 0)) {
		spin_stat_add(SPIN_STAT_CAPTURE_LOST, 1);
		return;
	}
	spin_stat_add(SPIN_STAT_CAPTURED, 1);
}

#endif /* SPIN_CAPTURE_BPF_H */
