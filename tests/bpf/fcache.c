// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow cache (bpf/spin_fcache.bpf.h) through the real programs: which packets it takes,
 * what stays in the flow maps, that a policy change still reaches cached flows at once, that
 * the per-CPU timer moves every count into the flow maps (recreating an entry spind removed,
 * overflowing into the stats when the map is full), and that totals stay exact throughout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "harness.h"

#define V4A "192.0.2.10"
#define V4B "198.51.100.1"
#define V6A "2001:db8::10"
#define V6B "2001:db8:1::1"
#define SYN 0x02

/* a TCP flow; a is the lower address (the canonical key's endpoint A) */
#define KEY(a_, pa_, b_, pb_)                                                                      \
	{                                                                                          \
		.proto = 6, .a = a_, .pa = pa_, .b = b_, .pb = pb_                                 \
	}

#define FLUSH_NS (50ULL * 1000000ULL) /* a short period for the flush cases */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* CPU 0's slot for a flow (the test runs there): 0 when the flow holds it, 1 when not. */
static int slot_of(struct h_env *e, const struct h_key *ks, struct spin_fc_count *c)
{
	struct spin_flow_key key;
	struct spin_flow_key4 k4;
	int v4, r;

	h_make_key(&key, ks);
	v4 = flows_key_to4(&key, &k4) == 0;
	r = h_fc_read(e, &key, &k4, v4, 0, c);
	return r < 0 ? r : !r;
}

/* Packets of a flow in the flow map alone (CPU sums), without the cache. */
static uint64_t map_packets(struct h_env *e, const struct h_key *ks)
{
	struct h_flow f;

	if (h_flow_map(e, ks, &f))
		return UINT64_MAX;
	return f.packets[0] + f.packets[1];
}

/* Removes an IPv4 flow's entry from spin_flows4, as spind's idle expiry does. */
static int remove_flow4(struct h_env *e, const struct h_key *ks)
{
	struct spin_flow_key key;
	struct spin_flow_key4 k4;

	h_make_key(&key, ks);
	flows_key_to4(&key, &k4);
	return bpf_map_delete_elem(bpf_map__fd(e->skel->maps.spin_flows4), &k4);
}

static int send_hook(struct h_env *e, enum h_hook hook, const char *src, const char *dst,
		     uint16_t sport, uint16_t dport, uint8_t flags)
{
	struct pb_spec s = {.family = strchr(src, ':') ? 6 : 4,
			    .src = src,
			    .dst = dst,
			    .proto = 6,
			    .sport = sport,
			    .dport = dport,
			    .tcp_flags = flags,
			    .payload_len = 20};
	uint8_t buf[PB_MAX];
	size_t len = pb_build(&s, buf);

	return h_run(e, hook, buf, len, 0, 0);
}

static int send_pkt(struct h_env *e, const char *src, const char *dst, uint16_t sport,
		    uint16_t dport, uint8_t flags)
{
	return send_hook(e, H_IN, src, dst, sport, dport, flags);
}

static void check_total(struct h_env *e, const struct h_key *k, uint64_t p_ab, uint64_t p_ba,
			const char *what)
{
	struct h_flow f;
	char name[160];

	snprintf(name, sizeof(name), "%s: flow found", what);
	if (!CHECK_INT(h_flow(e, k, &f), 0, name))
		return;
	snprintf(name, sizeof(name), "%s: packets A->B (map + cache)", what);
	CHECK_INT(f.packets[0], p_ab, name);
	snprintf(name, sizeof(name), "%s: packets B->A (map + cache)", what);
	CHECK_INT(f.packets[1], p_ba, name);
}

/* Which packets the cache takes, per family; the timer never fires here. */
static void cache_path(struct h_env *e, const char *a, const char *b, const char *fam)
{
	struct h_key k = KEY(a, 40000, b, 443);
	struct spin_fc_count c;
	char name[160];
	int r;

#define NAME(s) (snprintf(name, sizeof(name), "%s: %s", fam, s), name)
	CHECK_INT(send_pkt(e, a, b, 40000, 443, 0), TC_ACT_UNSPEC, NAME("first packet passes"));
	CHECK_INT(map_packets(e, &k), 1, NAME("the first packet creates the flow in the map"));
	r = slot_of(e, &k, &c);
	CHECK(r != 0 || c.policy_gen == 0, NAME("a new flow does not take its slot yet"));
	send_pkt(e, a, b, 40000, 443, 0);
	CHECK_INT(map_packets(e, &k), 2, NAME("the second packet is counted in the map"));
	r = slot_of(e, &k, &c);
	CHECK_INT(r, 0, NAME("the second packet gives the flow its slot"));
	CHECK_INT(c.policy_gen, 1, NAME("the slot is valid for policy generation 1"));
	CHECK_INT(c.packets[0] + c.packets[1], 0, NAME("the slot starts empty"));
	send_pkt(e, a, b, 40000, 443, 0);
	send_pkt(e, b, a, 443, 40000, 0);
	send_pkt(e, b, a, 443, 40000, 0);
	CHECK_INT(map_packets(e, &k), 2, NAME("later packets leave the map alone"));
	slot_of(e, &k, &c);
	CHECK_INT(c.packets[0], 1, NAME("the slot counts A->B"));
	CHECK_INT(c.packets[1], 2, NAME("the slot counts B->A"));
	CHECK_INT(c.bytes[0] + c.bytes[1], 3 * (c.bytes[0] / (c.packets[0] ? c.packets[0] : 1)),
		  NAME("the slot counts bytes per packet"));
	check_total(e, &k, 3, 2, NAME("after 5 packets"));
	send_pkt(e, a, b, 40000, 443, SYN);
	CHECK_INT(map_packets(e, &k), 3, NAME("a SYN takes the flow map (it sets flags)"));
	check_total(e, &k, 4, 2, NAME("after the SYN"));
#undef NAME
}

/* A block with a generation bump reaches a cached flow at its next packet. */
static void cache_policy(struct h_env *e)
{
	struct h_key k = KEY(V4A, 40000, V4B, 443);
	struct spin_cfg cfg = {
		.layout_version = SPIN_LAYOUT_VERSION, .policy_gen = 2, .n_addr_block = 1};
	struct h_flow f;

	CHECK_INT(h_pol_addr(e, V4B, SPIN_POL_BLOCK), 0, "block " V4B);
	CHECK_INT(send_hook(e, H_XDP, V4A, V4B, 40000, 443, 0), XDP_PASS,
		  "policy: blocked without a bump, XDP still passes the cached flow");
	CHECK_INT(h_cfg(e, &cfg), 0, "bump policy_gen to 2");
	CHECK_INT(send_hook(e, H_XDP, V4A, V4B, 40000, 443, 0), XDP_DROP,
		  "policy: after the bump XDP drops the cached flow at once");
	CHECK_INT(send_pkt(e, V4A, V4B, 40000, 443, 0), TC_ACT_SHOT,
		  "policy: the cached flow is dropped at its next packet");
	CHECK_INT(h_flow(e, &k, &f), 0, "policy: flow found");
	CHECK_INT(f.blk_packets, 2, "policy: both drops (XDP, TC) are counted in the map");
	CHECK_INT(f.packets[0] + f.packets[1], 6, "policy: passed packets unchanged (map + cache)");
	CHECK_INT(h_pol_addr(e, V4B, 0), 0, "unblock " V4B);
	cfg.policy_gen = 3;
	cfg.n_addr_block = 0;
	CHECK_INT(h_cfg(e, &cfg), 0, "bump policy_gen to 3");
	CHECK_INT(send_pkt(e, V4A, V4B, 40000, 443, 0), TC_ACT_UNSPEC,
		  "policy: unblocked, the flow passes again");
	check_total(e, &k, 5, 2, "policy: after the unblock");
}

/* Two flows sharing a slot: the first keeps it, the second is counted in the map. */
static void cache_collision(struct h_env *e)
{
	struct spin_flow_key key;
	struct spin_flow_key4 k4;
	struct h_key k1 = KEY(V4A, 41000, V4B, 80), k2 = KEY(V4A, 0, V4B, 80);
	struct spin_fc_count c;
	uint32_t want;
	int i;

	h_make_key(&key, &k1);
	flows_key_to4(&key, &k4);
	want = spin_fc_index4(&k4);
	for (k2.pa = 41001; k2.pa < 65535; k2.pa++) {
		h_make_key(&key, &k2);
		flows_key_to4(&key, &k4);
		if (spin_fc_index4(&k4) == want)
			break;
	}
	if (!CHECK(k2.pa < 65535, "collision: found a second flow for the same slot"))
		return;
	for (i = 0; i < 3; i++)
		send_pkt(e, V4A, V4B, k1.pa, 80, 0);
	for (i = 0; i < 4; i++)
		send_pkt(e, V4A, V4B, k2.pa, 80, 0);
	CHECK_INT(slot_of(e, &k1, &c), 0, "collision: the first flow keeps the slot");
	CHECK_INT(map_packets(e, &k2), 4, "collision: the second flow is counted in the map");
	check_total(e, &k1, 3, 0, "collision: first flow");
	check_total(e, &k2, 4, 0, "collision: second flow");
}

/*
 * Each CPU counts in its own row of slots (entry cpu * SPIN_FC_SLOTS + slot): a flow seen on
 * CPU 1 takes its slot there and leaves CPU 0's row alone.
 */
static void cache_rows(struct h_env *e)
{
	struct h_key k = KEY(V4A, 44000, V4B, 443);
	struct spin_flow_key key;
	struct spin_flow_key4 k4;
	struct spin_fc_count c;
	cpu_set_t set;
	int i;

	if (e->ncpu < 2) {
		CHECK(1, "rows: one CPU only, nothing to compare (not run)");
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (!CHECK_INT(sched_setaffinity(0, sizeof(set), &set), 0, "rows: move to CPU 1"))
		return;
	CHECK_INT(h_fc_arm(e), 0, "rows: arm CPU 1's flush timer");
	for (i = 0; i < 5; i++)
		send_pkt(e, V4A, V4B, 44000, 443, 0);
	h_make_key(&key, &k);
	flows_key_to4(&key, &k4);
	CHECK_INT(h_fc_read(e, &key, &k4, 1, 1, &c), 1,
		  "rows: the flow holds its slot in CPU 1's row");
	CHECK_INT(c.packets[0], 3, "rows: CPU 1's slot counts the packets after the second");
	CHECK_INT(h_fc_read(e, &key, &k4, 1, 0, &c), 0, "rows: CPU 0's row does not hold the flow");
	check_total(e, &k, 5, 0, "rows: total");
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK_INT(sched_setaffinity(0, sizeof(set), &set), 0, "rows: back to CPU 0");
}

/* The timer moves the cache into the flow maps, stamped with the clock of the flush. */
static void cache_flush(void)
{
	struct h_key k4 = KEY(V4A, 42000, V4B, 443), k6 = KEY(V6A, 42000, V6B, 443);
	struct h_key kb = KEY(V4A, 42001, V4B, 443);
	struct spin_cfg cfg = {.layout_version = SPIN_LAYOUT_VERSION, .policy_gen = 1};
	struct spin_fc_count c;
	struct h_env e;
	struct h_flow f;
	int i;

	if (!CHECK_INT(h_open_fc(&e, 0, 0, FLUSH_NS), 0, "flush: load with a 50 ms flush period"))
		return;
	cfg.clock_sec = 100;
	CHECK_INT(h_cfg(&e, &cfg), 0, "flush: clock at 100 s");
	for (i = 0; i < 10; i++) {
		send_pkt(&e, V4A, V4B, 42000, 443, 0);
		send_pkt(&e, V6A, V6B, 42000, 443, 0);
	}
	sleep_ms(300);
	CHECK_INT(map_packets(&e, &k4), 10, "flush: IPv4, every packet is in the map");
	CHECK_INT(map_packets(&e, &k6), 10, "flush: IPv6, every packet is in the map");
	slot_of(&e, &k4, &c);
	CHECK_INT(c.packets[0] + c.packets[1], 0, "flush: the IPv4 slot is empty");
	CHECK_INT(c.policy_gen, 1, "flush: the IPv4 flow keeps its slot");
	check_total(&e, &k4, 10, 0, "flush: IPv4 total");

	/* the clock moves on (spind's once a second): a flush of packets raises last_seen */
	cfg.clock_sec = 103;
	CHECK_INT(h_cfg(&e, &cfg), 0, "flush: clock at 103 s");
	send_pkt(&e, V6B, V6A, 443, 42000, 0);
	sleep_ms(300);
	CHECK_INT(h_flow(&e, &k6, &f), 0, "flush: IPv6 flow found");
	CHECK_INT(f.last_seen, 103,
		  "flush: last_seen is the clock of the flush that carried packets");
	CHECK_INT(f.first_seen, 100, "flush: first_seen stays");

	/* spind removed the flow as idle, then it came back: the flush recreates the entry */
	send_pkt(&e, V4A, V4B, 42000, 443, 0);
	CHECK_INT(remove_flow4(&e, &k4), 0,
		  "flush: remove the flow from the map (as spind's expiry)");
	send_pkt(&e, V4A, V4B, 42000, 443, 0);
	sleep_ms(300);
	CHECK_INT(map_packets(&e, &k4), 2,
		  "flush: the entry is recreated with what waited and came after");
	CHECK_INT(h_flow(&e, &k4, &f), 0, "flush: recreated flow found");
	CHECK(f.flags & SPIN_FLOW_F_CREATED, "flush: the recreated entry is marked created");
	CHECK(f.flags & SPIN_FLOW_F_MAC, "flush: the recreated entry keeps the device's MAC");
	CHECK_INT(f.mac_dir, SPIN_DIR_AB, "flush: ... and whose side it is");
	CHECK_INT(f.initiator, SPIN_DIR_AB, "flush: the recreated entry keeps the initiator");
	CHECK_INT(f.last_seen, 103, "flush: the recreated entry is stamped with the flush's clock");

	/* the same for a flow that B opened: the directions survive the slot's packed flags */
	for (i = 0; i < 3; i++)
		send_pkt(&e, V4B, V4A, 443, 42001, 0);
	sleep_ms(150);
	CHECK_INT(remove_flow4(&e, &kb), 0, "flush: remove a B->A flow");
	send_pkt(&e, V4B, V4A, 443, 42001, 0);
	sleep_ms(300);
	CHECK_INT(h_flow(&e, &kb, &f), 0, "flush: B->A flow recreated");
	CHECK_INT(f.initiator, SPIN_DIR_BA, "flush: the recreated B->A flow keeps its initiator");
	CHECK_INT(f.mac_dir, SPIN_DIR_BA, "flush: ... and the MAC's side");
	h_close(&e);
}

/* A flush that finds the map full counts the packets as overflow: nothing lost silently. */
static void cache_flush_full(void)
{
	struct h_key k = KEY(V4A, 43000, V4B, 443);
	uint64_t before[SPIN_STAT_MAX], after[SPIN_STAT_MAX], full;
	struct h_env e;
	int i;

	if (!CHECK_INT(h_open_fc(&e, 2, 0, FLUSH_NS), 0, "full: load with 2 flow entries"))
		return;
	for (i = 0; i < 2; i++)
		send_pkt(&e, V4A, V4B, 43000, 443, 0); /* flow and slot */
	sleep_ms(150);
	CHECK_INT(remove_flow4(&e, &k), 0, "full: remove the cached flow from the map");
	send_pkt(&e, V4A, V4B, 50001, 443, 0);
	send_pkt(&e, V4A, V4B, 50002, 443, 0); /* the map is full again */
	h_stats(&e, before);
	for (i = 0; i < 3; i++)
		send_pkt(&e, V4A, V4B, 43000, 443, 0);
	sleep_ms(300);
	h_stats(&e, after);
	CHECK_INT(after[SPIN_STAT_OVERFLOW_PKTS] - before[SPIN_STAT_OVERFLOW_PKTS], 3,
		  "full: the cached packets went to the overflow counters");
	/*
	 * Once, by the flush that fails to recreate the entry; a flush that lands between the
	 * three sends (a busy machine delays them past the 50 ms period) leaves the later ones to
	 * the flow-map path, where each failed creation counts too: 1 to 3, never 0.
	 */
	full = after[SPIN_STAT_FLOW_MAP_FULL] - before[SPIN_STAT_FLOW_MAP_FULL];
	CHECK(full >= 1 && full <= 3, "full: the failed recreation is counted (1-3 times)");
	send_pkt(&e, V4A, V4B, 43000, 443, 0);
	h_stats(&e, before);
	CHECK_INT(before[SPIN_STAT_OVERFLOW_PKTS] - after[SPIN_STAT_OVERFLOW_PKTS], 1,
		  "full: the flow left the cache: its next packet overflows at once");
	h_close(&e);
}

int main(void)
{
	struct h_env e;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = h_open(&e, 0, 0);
	if (!CHECK_INT(err, 0, "load the spin skeleton unpinned, flow cache armed"))
		return check_exit();
	cache_path(&e, V4A, V4B, "IPv4");
	cache_path(&e, V6A, V6B, "IPv6");
	cache_policy(&e);
	cache_collision(&e);
	cache_rows(&e);
	h_close(&e);
	cache_flush();
	cache_flush_full();
	return check_exit();
}
