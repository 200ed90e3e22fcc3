// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for tests/bench/bpf_cost.c: the floor of the test harness (empty TC and
 * XDP programs), the cost of parsing alone with the same spin_parse.h the data path uses, and
 * of the flow-table lookup alone.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "spin_parse.h"

SEC("tc")
int bench_tc_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("xdp")
int bench_xdp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int bench_tc_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct spin_flow_key key;
	struct spin_pkt pkt;

	if (spin_parse_eth(data, data_end, &pkt) != SPIN_PARSE_OK)
		return TC_ACT_OK;
	/* the key is part of parsing's cost; the result keeps it from being optimised away */
	return spin_flow_key_from_pkt(&pkt, &key) + key.proto > 255 ? TC_ACT_SHOT : TC_ACT_OK;
}

/*
 * Where the data path's time goes: the flow-table lookup alone, with SPIN's 40-byte key and
 * with a 16-byte IPv4-only key (the "compact key" alternative), in maps shaped like
 * spin_flows (per-CPU hash, preallocated). Each program parses, builds the key, looks the flow
 * up (creating it on the first run) and counts the packet.
 */
struct bench_key16 {
	__be32 addr_a, addr_b;
	__be16 port_a, port_b;
	__u8 proto, family, icmp_type, icmp_code;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SPIN_MAX_FLOWS);
	__type(key, struct spin_flow_key);
	__type(value, struct spin_flow_val);
} bench_flows40 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SPIN_MAX_FLOWS);
	__type(key, struct bench_key16);
	__type(value, struct spin_flow_val);
} bench_flows16 SEC(".maps");

static __always_inline int bench_count(void *map, const void *key)
{
	struct spin_flow_val *v = bpf_map_lookup_elem(map, key);

	if (!v) {
		struct spin_flow_val nv = {.packets = {1}};

		bpf_map_update_elem(map, key, &nv, BPF_NOEXIST);
		return TC_ACT_OK;
	}
	v->packets[0]++;
	return TC_ACT_OK;
}

SEC("tc")
int bench_tc_lk40(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct spin_flow_key key;
	struct spin_pkt pkt;

	if (spin_parse_eth(data, data_end, &pkt) != SPIN_PARSE_OK)
		return TC_ACT_OK;
	spin_flow_key_from_pkt(&pkt, &key);
	return bench_count(&bench_flows40, &key);
}

SEC("tc")
int bench_tc_lk16(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct spin_flow_key key;
	struct bench_key16 k16;
	struct spin_pkt pkt;

	if (spin_parse_eth(data, data_end, &pkt) != SPIN_PARSE_OK || pkt.family != 4)
		return TC_ACT_OK;
	spin_flow_key_from_pkt(&pkt, &key);
	__builtin_memcpy(&k16.addr_a, &key.addr_a.a[12], 4);
	__builtin_memcpy(&k16.addr_b, &key.addr_b.a[12], 4);
	k16.port_a = key.port_a;
	k16.port_b = key.port_b;
	k16.proto = key.proto;
	k16.family = key.family;
	k16.icmp_type = key.icmp_type;
	k16.icmp_code = key.icmp_code;
	return bench_count(&bench_flows16, &k16);
}

char LICENSE[] SEC("license") = "GPL";
