/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test harness for the data-path programs: loads build/include/spin.skel.h with no pinning (so
 * tests never touch /sys/fs/bpf/spin), runs packets through bpf_prog_test_run_opts, and reads
 * the maps and the ring buffer back.
 */
#ifndef SPIN_TEST_HARNESS_H
#define SPIN_TEST_HARNESS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "spin_common.h"
#include "flows.h"
#include "spin.skel.h"
#include "pktbuild.h"

#define H_ATTACHED_IF 7 /* a fake attached interface: egress packets from it are skipped */

enum h_hook { H_IN = 0, H_OUT, H_XDP };

struct h_env {
	struct spin_bpf *skel;
	struct ring_buffer *rb;
	int ncpu;
	int n_events;
	struct spin_dns_event last_ev;
	uint32_t last_ev_size;
	uint8_t last_ev_data[SPIN_DNS_CAP];
};

struct h_flow {
	uint64_t bytes[2], packets[2], blk_bytes, blk_packets;
	uint8_t initiator, flags, verdict; /* from the slot that created the flow */
	uint8_t mac_dir, mac[6], mac2[6];
	uint32_t first_seen, last_seen; /* the CPUs' earliest and latest */
};

static inline int h_on_event(void *ctx, void *data, size_t size)
{
	struct h_env *e = ctx;

	e->n_events++;
	e->last_ev_size = size;
	memset(&e->last_ev, 0, sizeof(e->last_ev));
	memcpy(&e->last_ev, data, size < sizeof(e->last_ev) ? size : sizeof(e->last_ev));
	if (size > sizeof(e->last_ev))
		memcpy(e->last_ev_data, (uint8_t *)data + sizeof(e->last_ev),
		       size - sizeof(e->last_ev) < SPIN_DNS_CAP ? size - sizeof(e->last_ev)
								: SPIN_DNS_CAP);
	return 0;
}

static inline int h_cfg(struct h_env *e, const struct spin_cfg *cfg)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.spin_cfg), &zero, cfg, BPF_ANY);
}

/* Arms the flow cache's flush timer of the CPU we run on; the program's answer (0: armed). */
static inline int h_fc_arm(struct h_env *e)
{
	uint8_t frame[14] = {0}; /* an Ethernet header: the least test_run takes */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(e->skel->progs.spin_fc_arm), &opts);

	return err ? err : (int)opts.retval;
}

/*
 * max_flows: 0 keeps SPIN_MAX_FLOWS. fc_flush_ns: the flow cache's flush period; h_flow()
 * adds what waits in the cache, so the packet tests use a period that never ends during a
 * test. Returns 0 or -errno.
 */
static inline int h_open_fc(struct h_env *e, uint32_t max_flows, int dns_enabled,
			    uint64_t fc_flush_ns)
{
	struct bpf_map *map;
	cpu_set_t set;
	int err;

	memset(e, 0, sizeof(*e));
	/* one CPU: per-CPU slots stay in one place and the flow checks are exact */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	e->ncpu = libbpf_num_possible_cpus();
	e->skel = spin_bpf__open();
	if (!e->skel)
		return -errno;
	bpf_object__for_each_map(map, e->skel->obj)
	{
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	e->skel->bss->spin_ifindexes[0] = H_ATTACHED_IF;
	e->skel->bss->spin_n_ifaces = 1;
	e->skel->rodata->spin_dns_enabled = dns_enabled;
	e->skel->rodata->spin_fc_flush_ns = fc_flush_ns;
	/* as spind sizes them: a row of slots per CPU */
	err = bpf_map__set_max_entries(e->skel->maps.spin_fc4, spin_fc_entries(e->ncpu));
	if (!err)
		err = bpf_map__set_max_entries(e->skel->maps.spin_fc6, spin_fc_entries(e->ncpu));
	if (err)
		return err;
	if (max_flows) { /* both flow maps, as spind does */
		err = bpf_map__set_max_entries(e->skel->maps.spin_flows, max_flows);
		if (!err)
			err = bpf_map__set_max_entries(e->skel->maps.spin_flows4, max_flows);
		if (err)
			return err;
	}
	err = spin_bpf__load(e->skel);
	if (err)
		return err;
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.spin_events), h_on_event, e, NULL);
	if (!e->rb)
		return -errno;
	/* as spind starts: generation 1, so flows can take flow-cache slots */
	if (h_cfg(e, &(struct spin_cfg){.layout_version = SPIN_LAYOUT_VERSION, .policy_gen = 1}))
		return -errno;
	return h_fc_arm(e) == 0 ? 0 : -ENOTSUP;
}

#define H_FC_NEVER (3600ULL * 1000000000ULL)

static inline int h_open(struct h_env *e, uint32_t max_flows, int dns_enabled)
{
	return h_open_fc(e, max_flows, dns_enabled, H_FC_NEVER);
}

static inline void h_close(struct h_env *e)
{
	ring_buffer__free(e->rb);
	spin_bpf__destroy(e->skel);
}

/* Runs one frame through a hook; returns the program's verdict, or -errno. */
/* h_run() answers the program's verdict (TC_ACT_UNSPEC is -1), or H_RUN_ERR - errno. */
#define H_RUN_ERR (-1000)

static inline int h_run(struct h_env *e, enum h_hook hook, const void *pkt, size_t len,
			uint32_t ingress_ifindex, uint32_t gso_segs)
{
	struct __sk_buff skb = {.ifindex = 1, .ingress_ifindex = ingress_ifindex};
	struct xdp_md xdp = {.ingress_ifindex = 1};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .repeat = 1);
	struct bpf_program *prog;
	int err;

	if (gso_segs) {
		skb.gso_segs = gso_segs;
		skb.gso_size = 1000;
	}
	if (hook == H_XDP) {
		xdp.data_end = len; /* test_run takes the frame's extent from the context */
		prog = e->skel->progs.spin_xdp;
		opts.ctx_in = &xdp;
		opts.ctx_size_in = sizeof(xdp);
	} else {
		prog = hook == H_IN ? e->skel->progs.spin_tc_ingress
				    : e->skel->progs.spin_tc_egress;
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		return H_RUN_ERR - errno;
	return (int)opts.retval;
}

static inline void h_stats(struct h_env *e, uint64_t out[SPIN_STAT_MAX])
{
	uint64_t vals[e->ncpu];
	uint32_t i;
	int c;

	for (i = 0; i < SPIN_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.spin_stats), &i, vals))
			continue;
		for (c = 0; c < e->ncpu; c++)
			out[i] += vals[c];
	}
}

static inline void h_addr(struct spin_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':')) {
		inet_pton(AF_INET6, s, a->a);
	} else {
		a->a[10] = a->a[11] = 0xff;
		inet_pton(AF_INET, s, &a->a[12]);
	}
}

struct h_key {
	uint8_t proto;
	const char *a;
	uint16_t pa;
	const char *b;
	uint16_t pb;
	uint8_t icmp_type, icmp_code;
};

static inline void h_make_key(struct spin_flow_key *k, const struct h_key *s)
{
	memset(k, 0, sizeof(*k));
	h_addr(&k->addr_a, s->a);
	h_addr(&k->addr_b, s->b);
	k->port_a = htons(s->pa);
	k->port_b = htons(s->pb);
	k->proto = s->proto;
	k->family = strchr(s->a, ':') ? 6 : 4;
	k->icmp_type = s->icmp_type;
	k->icmp_code = s->icmp_code;
}

/*
 * The flow-cache slot of a flow (key, or k4 when v4) on one CPU into *c. Returns 1 when the
 * flow holds it, 0 when another flow (or none) does, or -errno.
 */
static inline int h_fc_read(struct h_env *e, const struct spin_flow_key *key,
			    const struct spin_flow_key4 *k4, int v4, int cpu,
			    struct spin_fc_count *c)
{
	struct spin_fc6_slot s6;
	struct spin_fc4_slot s4;
	uint32_t idx =
		(uint32_t)cpu * SPIN_FC_SLOTS + (v4 ? spin_fc_index4(k4) : spin_fc_index6(key));

	if (bpf_map_lookup_elem(bpf_map__fd(v4 ? e->skel->maps.spin_fc4 : e->skel->maps.spin_fc6),
				&idx, v4 ? (void *)&s4 : (void *)&s6))
		return -errno;
	*c = v4 ? s4.c : s6.c;
	return v4 ? !memcmp(&s4.key, k4, sizeof(*k4)) : !memcmp(&s6.key, key, sizeof(*key));
}

/* Adds what waits in the flow cache for the flow (any CPU) to f. */
static inline void h_flow_cached(struct h_env *e, const struct spin_flow_key *key,
				 const struct spin_flow_key4 *k4, int v4, struct h_flow *f)
{
	struct spin_fc_count n = {0};
	int c;

	for (c = 0; c < e->ncpu; c++) {
		if (h_fc_read(e, key, k4, v4, c, &n) != 1)
			continue;
		f->bytes[0] += n.bytes[0];
		f->bytes[1] += n.bytes[1];
		f->packets[0] += n.packets[0];
		f->packets[1] += n.packets[1];
	}
}

/* Sums a flow's entry in its family's flow map over the CPUs. Returns 0 or -ENOENT. */
static inline int h_flow_map(struct h_env *e, const struct h_key *ks, struct h_flow *f)
{
	struct spin_flow_val vals[e->ncpu];
	struct spin_flow_key key;
	struct spin_flow_key4 k4;
	int c, err;

	memset(f, 0, sizeof(*f));
	h_make_key(&key, ks);
	/* IPv4 flows live in spin_flows4 under the compact key; IPv6 ones in spin_flows */
	if (flows_key_to4(&key, &k4) == 0)
		err = bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.spin_flows4), &k4, vals);
	else
		err = bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.spin_flows), &key, vals);
	if (err)
		return -errno;
	for (c = 0; c < e->ncpu; c++) {
		const struct spin_flow_val *v = &vals[c];

		f->bytes[0] += v->bytes[0];
		f->bytes[1] += v->bytes[1];
		f->packets[0] += v->packets[0];
		f->packets[1] += v->packets[1];
		f->blk_bytes += v->blk_bytes;
		f->blk_packets += v->blk_packets;
		if (v->ifindex && (!f->first_seen || v->first_seen < f->first_seen))
			f->first_seen = v->first_seen;
		if (v->last_seen > f->last_seen)
			f->last_seen = v->last_seen;
		if (v->flags & SPIN_FLOW_F_CREATED) {
			f->initiator = v->initiator;
			f->flags = v->flags;
			f->verdict = v->verdict;
			f->mac_dir = v->mac_dir;
			memcpy(f->mac, v->mac, sizeof(f->mac));
			memcpy(f->mac2, v->mac2, sizeof(f->mac2));
		}
	}
	return 0;
}

/* A flow's totals: its flow-map entry and what waits in the flow cache. 0 or -ENOENT. */
static inline int h_flow(struct h_env *e, const struct h_key *ks, struct h_flow *f)
{
	struct spin_flow_key key;
	struct spin_flow_key4 k4;
	int err = h_flow_map(e, ks, f);

	if (err)
		return err;
	h_make_key(&key, ks);
	h_flow_cached(e, &key, &k4, flows_key_to4(&key, &k4) == 0, f);
	return 0;
}

static inline int h_consume(struct h_env *e)
{
	e->n_events = 0;
	return ring_buffer__consume(e->rb);
}

/* Policy helpers: write the maps, then the cfg with its counts and generation. */
static inline int h_pol_addr(struct h_env *e, const char *addr, uint32_t flags)
{
	struct spin_addr a;

	h_addr(&a, addr);
	if (!flags)
		return bpf_map_delete_elem(bpf_map__fd(e->skel->maps.spin_addrpol), &a);
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.spin_addrpol), &a, &flags, BPF_ANY);
}

static inline int h_pol_prefix(struct h_env *e, const char *addr, uint32_t plen, uint32_t flags)
{
	struct spin_lpm_key k = {.prefixlen = strchr(addr, ':') ? plen : 96 + plen};

	h_addr(&k.addr, addr);
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.spin_pfxpol), &k, &flags, BPF_ANY);
}

static inline int h_pol_mac(struct h_env *e, const uint8_t mac[6], uint32_t flags)
{
	struct spin_mac_key k = {};
	int fd = bpf_map__fd(e->skel->maps.spin_macpol);

	memcpy(k.mac, mac, sizeof(k.mac));
	if (!flags)
		return bpf_map_delete_elem(fd, &k);
	return bpf_map_update_elem(fd, &k, &flags, BPF_ANY);
}

static inline int h_pol_pair(struct h_env *e, const char *x, const char *y)
{
	struct spin_pair_key k;
	uint32_t one = 1;

	h_addr(&k.lo, x);
	h_addr(&k.hi, y);
	if (memcmp(&k.lo, &k.hi, sizeof(k.lo)) > 0) {
		struct spin_addr t = k.lo;

		k.lo = k.hi;
		k.hi = t;
	}
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.spin_pairpol), &k, &one, BPF_ANY);
}

#endif /* SPIN_TEST_HARNESS_H */
