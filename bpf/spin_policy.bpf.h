/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy evaluation: address lists, prefix lists and flow (address pair) blocks. Allow wins
 * over every block. Only called when a flow's cached verdict is stale (policy_gen moved) or
 * the flow is new, never per packet on the common path.
 */
#ifndef SPIN_POLICY_BPF_H
#define SPIN_POLICY_BPF_H

#include "spin_maps.bpf.h"

static __always_inline __u32 spin_addr_flags(const struct spin_cfg *cfg, const struct spin_addr *a)
{
	__u32 flags = 0, *f;

	if (cfg->n_addr_block || cfg->n_addr_allow) {
		f = bpf_map_lookup_elem(&spin_addrpol, a);
		if (f)
			flags |= *f;
	}
	if (cfg->n_prefix) {
		struct spin_lpm_key lk = {.prefixlen = 128};

		__builtin_memcpy(&lk.addr, a, sizeof(lk.addr));
		f = bpf_map_lookup_elem(&spin_pfxpol, &lk);
		if (f)
			flags |= *f;
	}
	return flags;
}

/* key: canonical flow key, so addr_a <= addr_b and the pair key needs no sorting. */
/* mac_flags: those of the frame's devices (spin_macpol), 0 without any */
static __always_inline __u8 spin_policy_eval(const struct spin_cfg *cfg,
					     const struct spin_flow_key *key, __u32 mac_flags)
{
	__u32 flags = mac_flags;

	flags |= spin_addr_flags(cfg, &key->addr_a) | spin_addr_flags(cfg, &key->addr_b);
	if (cfg->n_pair && !(flags & SPIN_POL_ALLOW)) {
		struct spin_pair_key pk;

		__builtin_memcpy(&pk.lo, &key->addr_a, sizeof(pk.lo));
		__builtin_memcpy(&pk.hi, &key->addr_b, sizeof(pk.hi));
		if (bpf_map_lookup_elem(&spin_pairpol, &pk))
			flags |= SPIN_POL_BLOCK;
	}
	if (flags & SPIN_POL_ALLOW)
		return SPIN_VERDICT_PASS;
	return (flags & SPIN_POL_BLOCK) ? SPIN_VERDICT_DROP : SPIN_VERDICT_PASS;
}

static __always_inline int spin_policy_empty(const struct spin_cfg *cfg)
{
	return !(cfg->n_addr_block | cfg->n_addr_allow | cfg->n_prefix | cfg->n_pair | cfg->n_mac);
}

#endif /* SPIN_POLICY_BPF_H */
