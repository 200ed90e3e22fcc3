// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for tests/bench/bpf_cost.c: the floor of the test harness (empty TC and
 * XDP programs) and the cost of parsing alone with the same spin_parse.h the data path uses.
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

char LICENSE[] SEC("license") = "GPL";
