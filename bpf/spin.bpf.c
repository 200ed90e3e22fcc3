// SPDX-License-Identifier: GPL-2.0-only
/*
 * SPIN's data path: per-flow counting at TC ingress and egress of the attached interfaces,
 * policy enforcement (TC, and early at XDP), DNS packets to user space. The entry programs
 * are thin; the logic lives in the bpf/ *.bpf.h headers, the parser in include/spin_parse.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "spin_datapath.bpf.h"

SEC("tc")
int spin_tc_ingress(struct __sk_buff *skb)
{
	return spin_tc_handle(skb, SPIN_HOOK_TC_INGRESS);
}

SEC("tc")
int spin_tc_egress(struct __sk_buff *skb)
{
	return spin_tc_handle(skb, SPIN_HOOK_TC_EGRESS);
}

SEC("xdp")
int spin_xdp(struct xdp_md *ctx)
{
	return spin_xdp_handle(ctx);
}

/*
 * Run by spind (bpf_prog_test_run) once on every CPU after loading: arms that CPU's flow
 * cache flush timer. Never attached.
 */
SEC("tc")
int spin_fc_arm(struct __sk_buff *skb)
{
	return spin_fc_arm_cpu();
}

/* GPL: bpf_skb_pull_data and friends are GPL-only helpers on some kernels. */
char LICENSE[] SEC("license") = "GPL";
