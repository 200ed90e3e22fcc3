/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-CPU flow cache in front of the flow maps (docs/datapath.md, "Flow cache"): a passed
 * packet of a flow that holds its slot is counted there, with an array lookup instead of the
 * flow-table hash lookup; a per-CPU timer moves the counts into the flow maps every
 * spin_fc_flush_ns. Everything that needs a decision (a new flow, a policy change, a TCP SYN,
 * a fragment, a blocked packet) takes the flow-map path, which then hands the flow its slot.
 *
 * The slot, the flow maps' per-CPU values and the timer of one CPU are only touched on that
 * CPU, in softirq context or with softirqs off (TC hooks, the timer's callback), so none of
 * it needs atomics or locks.
 */
#ifndef SPIN_FCACHE_BPF_H
#define SPIN_FCACHE_BPF_H

#include "spin_maps.bpf.h"
#include "spin_parse.h"

/* Newer than Debian 12's UAPI headers: the timer fires on the CPU that armed it (6.7+). */
#define SPIN_BPF_F_TIMER_CPU_PIN (1ULL << 1)
#define SPIN_CLOCK_MONOTONIC	 1

/*
 * Word by word as each key was stored: the IPv4 key in 64-bit words, the IPv6 one (4-byte
 * aligned) in 32-bit words, ORed so the compiler keeps one branch.
 */
static __always_inline int spin_fc_key_eq(const void *x, const void *y, int v4)
{
	const __u64 *a = x, *b = y;
	const __u32 *c = x, *d = y;
	__u32 diff = 0;
	int i;

	if (v4)
		return a[0] == b[0] && a[1] == b[1];
	SPIN_UNROLL
	for (i = 0; i < 10; i++)
		diff |= c[i] ^ d[i];
	return !diff;
}

/* This CPU's slot for the flow whose map key is mkey; its key goes to *skey. */
static __always_inline struct spin_fc_count *spin_fc_slot(const void *mkey, int v4, void **skey)
{
	/* a CPU beyond the maps' SPIN_FC_MAX_CPUS finds no slot */
	__u32 idx = bpf_get_smp_processor_id() * SPIN_FC_SLOTS;

	if (v4) {
		struct spin_fc4_slot *s;

		idx += spin_fc_index4(mkey);
		s = bpf_map_lookup_elem(&spin_fc4, &idx);
		if (!s)
			return NULL;
		*skey = &s->key;
		return &s->c;
	} else {
		struct spin_fc6_slot *s;

		idx += spin_fc_index6(mkey);
		s = bpf_map_lookup_elem(&spin_fc6, &idx);
		if (!s)
			return NULL;
		*skey = &s->key;
		return &s->c;
	}
}

/* Does the flow hold its slot under the current policy (so it passes)? */
static __always_inline int spin_fc_holds(const struct spin_fc_count *c, const void *skey,
					 const void *mkey, int v4, const struct spin_cfg *cfg)
{
	return c->policy_gen == cfg->policy_gen && spin_fc_key_eq(skey, mkey, v4);
}

/* No last_seen per packet: the flush stamps the flow with the clock of its 250 ms. */
static __always_inline void spin_fc_add(struct spin_fc_count *c, __u8 dir, __u64 bytes, __u32 pkts)
{
	if (dir == SPIN_DIR_AB) {
		c->bytes[SPIN_DIR_AB] += bytes;
		c->packets[SPIN_DIR_AB] += pkts;
	} else {
		c->bytes[SPIN_DIR_BA] += bytes;
		c->packets[SPIN_DIR_BA] += pkts;
	}
}

static __always_inline int spin_fc_armed(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct spin_fc_timer *t = bpf_map_lookup_elem(&spin_fctimer, &cpu);

	return t && t->state == SPIN_FC_ARMED;
}

/*
 * Gives the slot to a flow that passes under the current policy, unless counts of another
 * flow wait in it for the flush (no eviction on the packet path: two busy flows sharing a
 * slot take turns once per flush). val: this CPU's entry of the flow.
 */
static __always_inline void spin_fc_take(struct spin_fc_count *c, void *skey, const void *mkey,
					 int v4, const struct spin_cfg *cfg,
					 const struct spin_flow_val *val)
{
	if (c->packets[SPIN_DIR_AB] | c->packets[SPIN_DIR_BA])
		return;
	if (!cfg->policy_gen || !spin_fc_armed())
		return;
	if (v4)
		__builtin_memcpy(skey, mkey, sizeof(struct spin_flow_key4));
	else
		__builtin_memcpy(skey, mkey, sizeof(struct spin_flow_key));
	c->bytes[SPIN_DIR_AB] = 0;
	c->bytes[SPIN_DIR_BA] = 0;
	c->policy_gen = cfg->policy_gen;
	c->ifindex = val->ifindex;
	c->flags = val->flags & (SPIN_FLOW_F_SYN_SEEN | SPIN_FLOW_F_MAC);
	if (val->initiator == SPIN_DIR_BA)
		c->flags |= SPIN_FC_F_INIT_BA;
	if (val->mac_dir == SPIN_DIR_BA)
		c->flags |= SPIN_FC_F_MAC_BA;
	__builtin_memcpy(c->mac, val->mac, sizeof(c->mac));
}

/* What one timer run flushes: this CPU's slots, stamped with the clock of the flush. */
struct spin_fc_flush_ctx {
	__u32 base; /* this CPU's first slot */
	__u32 clock_sec;
};

/* A flush found no entry (spind removed the idle flow, and it came back): recreate it. */
static __always_inline int spin_fc_recreate(void *map, const void *key,
					    const struct spin_fc_count *c, __u32 clock_sec)
{
	struct spin_flow_val nv = {};

	nv.bytes[SPIN_DIR_AB] = c->bytes[SPIN_DIR_AB];
	nv.bytes[SPIN_DIR_BA] = c->bytes[SPIN_DIR_BA];
	nv.packets[SPIN_DIR_AB] = c->packets[SPIN_DIR_AB];
	nv.packets[SPIN_DIR_BA] = c->packets[SPIN_DIR_BA];
	nv.first_seen = clock_sec;
	nv.last_seen = clock_sec;
	nv.ifindex = c->ifindex;
	nv.initiator = c->flags & SPIN_FC_F_INIT_BA ? SPIN_DIR_BA : SPIN_DIR_AB;
	nv.flags = SPIN_FLOW_F_CREATED | (c->flags & (SPIN_FLOW_F_SYN_SEEN | SPIN_FLOW_F_MAC));
	nv.mac_dir = c->flags & SPIN_FC_F_MAC_BA ? SPIN_DIR_BA : SPIN_DIR_AB;
	__builtin_memcpy(nv.mac, c->mac, sizeof(nv.mac));
	/* policy_gen 0: the next packet on the flow-map path evaluates the policy again */
	if (bpf_map_update_elem(map, key, &nv, BPF_NOEXIST))
		return -1;
	spin_stat_add(SPIN_STAT_FLOW_NEW, 1);
	return 0;
}

static __always_inline void spin_fc_add_to(struct spin_flow_val *val, const struct spin_fc_count *c,
					   __u32 clock_sec)
{
	val->bytes[SPIN_DIR_AB] += c->bytes[SPIN_DIR_AB];
	val->bytes[SPIN_DIR_BA] += c->bytes[SPIN_DIR_BA];
	val->packets[SPIN_DIR_AB] += c->packets[SPIN_DIR_AB];
	val->packets[SPIN_DIR_BA] += c->packets[SPIN_DIR_BA];
	if (clock_sec > val->last_seen)
		val->last_seen = clock_sec;
	if (!val->ifindex) { /* this CPU's part of an entry another CPU recreated */
		val->ifindex = c->ifindex;
		val->first_seen = clock_sec;
		val->initiator = c->flags & SPIN_FC_F_INIT_BA ? SPIN_DIR_BA : SPIN_DIR_AB;
	}
}

/* Moves a slot's counts into this CPU's value of its flow in map; a full map overflows. */
static __always_inline void spin_fc_flush(void *map, const void *key, struct spin_fc_count *c,
					  __u32 clock_sec)
{
	struct spin_flow_val *val = bpf_map_lookup_elem(map, key);
	int done = 0;

	if (!val) {
		done = !spin_fc_recreate(map, key, c, clock_sec);
		if (!done) /* another CPU recreated it first, or the map is full */
			val = bpf_map_lookup_elem(map, key);
	}
	if (val) {
		spin_fc_add_to(val, c, clock_sec);
	} else if (!done) {
		spin_stat_add(SPIN_STAT_FLOW_MAP_FULL, 1);
		spin_stat_add(SPIN_STAT_OVERFLOW_BYTES,
			      c->bytes[SPIN_DIR_AB] + c->bytes[SPIN_DIR_BA]);
		spin_stat_add(SPIN_STAT_OVERFLOW_PKTS,
			      c->packets[SPIN_DIR_AB] + c->packets[SPIN_DIR_BA]);
		c->policy_gen = 0; /* no entry to flush into: the flow-map path counts it */
	}
	c->bytes[SPIN_DIR_AB] = 0;
	c->bytes[SPIN_DIR_BA] = 0;
	c->packets[SPIN_DIR_AB] = 0;
	c->packets[SPIN_DIR_BA] = 0;
}

static long spin_fc4_flush_one(__u32 i, void *ctx)
{
	const struct spin_fc_flush_ctx *f = ctx;
	__u32 idx = f->base + i;
	struct spin_fc4_slot *s = bpf_map_lookup_elem(&spin_fc4, &idx);

	if (s && (s->c.packets[SPIN_DIR_AB] | s->c.packets[SPIN_DIR_BA]))
		spin_fc_flush(&spin_flows4, &s->key, &s->c, f->clock_sec);
	return 0;
}

static long spin_fc6_flush_one(__u32 i, void *ctx)
{
	const struct spin_fc_flush_ctx *f = ctx;
	__u32 idx = f->base + i;
	struct spin_fc6_slot *s = bpf_map_lookup_elem(&spin_fc6, &idx);

	if (s && (s->c.packets[SPIN_DIR_AB] | s->c.packets[SPIN_DIR_BA]))
		spin_fc_flush(&spin_flows, &s->key, &s->c, f->clock_sec);
	return 0;
}

/* The timer's callback, in softirq context on the CPU it is pinned to: flush, then re-arm. */
static int spin_fc_timer_fire(void *map, __u32 *key, struct spin_fc_timer *t)
{
	struct spin_fc_flush_ctx f = {.base = bpf_get_smp_processor_id() * SPIN_FC_SLOTS};
	struct spin_cfg *cfg = spin_get_cfg();

	if (cfg)
		f.clock_sec = cfg->clock_sec;
	bpf_loop(SPIN_FC_SLOTS, spin_fc4_flush_one, &f, 0);
	bpf_loop(SPIN_FC_SLOTS, spin_fc6_flush_one, &f, 0);
	bpf_timer_start(&t->timer, spin_fc_flush_ns, SPIN_BPF_F_TIMER_CPU_PIN);
	return 0;
}

/*
 * Arms this CPU's flush timer (spind runs spin_fc_arm once on every CPU after loading).
 * Returns 0 when armed, 1 when this kernel cannot pin the timer to the CPU (the flow cache
 * then stays off on it: every packet takes the flow-map path), 2 for a CPU beyond the map.
 */
static __always_inline int spin_fc_arm_cpu(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct spin_fc_timer *t = bpf_map_lookup_elem(&spin_fctimer, &cpu);
	long err;

	if (!t)
		return 2;
	if (t->state == SPIN_FC_ARMED)
		return 0;
	err = bpf_timer_init(&t->timer, &spin_fctimer, SPIN_CLOCK_MONOTONIC);
	if (!err || err == -16 /* EBUSY: initialised by an earlier, failed attempt */) {
		bpf_timer_set_callback(&t->timer, spin_fc_timer_fire);
		err = bpf_timer_start(&t->timer, spin_fc_flush_ns, SPIN_BPF_F_TIMER_CPU_PIN);
	}
	t->state = err ? SPIN_FC_FAILED : SPIN_FC_ARMED;
	return err ? 1 : 0;
}

#endif /* SPIN_FCACHE_BPF_H */
