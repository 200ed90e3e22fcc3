// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/flows.c against a real per-CPU hash (no BPF program): every byte counted in the map is
 * reported exactly once while flows come, change, vanish (deleted behind the sweep's back),
 * go idle (removed by the sweep with lookup-and-delete) and come back, over many sweeps; the
 * order guesses hit when the table stands still and never touch a freed flow (run under
 * AddressSanitizer in make test). Needs root (BPF maps).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "flows.h"

#define N_KEYS	 3000 /* the universe of flows the test draws from */
#define MAX_MAP	 4096
#define IDLE_S	 5
#define N_ROUNDS 40

static struct {
	int fd;
	int ncpus;
	struct spin_flow_val *vals;  /* one flow's per-CPU values */
	uint64_t in_map[N_KEYS];     /* bytes the map's entry holds now (0: absent) */
	uint32_t last_seen[N_KEYS];  /* clock of its last growth */
	unsigned long long counted;  /* bytes ever put into the map */
	unsigned long long lost;     /* bytes deleted from the map unreported (vanished) */
	unsigned long long reported; /* bytes the sweeps reported */
	unsigned int bad_keys;
	int gone_round[N_KEYS]; /* the round it vanished in, + 1 (0: never) */
} t;

static uint64_t reported_of[N_KEYS]; /* bytes reported of the flow's current map entry */

static void make_key(unsigned int i, struct spin_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr_a.a[0] = 0x20; /* 2001:db8:1::/64 device, 2001:db8:ff::/64 remote */
	k->addr_a.a[1] = 0x01;
	k->addr_a.a[2] = 0x0d;
	k->addr_a.a[3] = 0xb8;
	k->addr_a.a[5] = 0x01;
	k->addr_a.a[15] = (uint8_t)(i % 200);
	memcpy(&k->addr_b, &k->addr_a, 16);
	k->addr_b.a[5] = 0xff;
	k->addr_b.a[14] = (uint8_t)(i >> 8);
	k->addr_b.a[15] = (uint8_t)i;
	k->port_a = htons((uint16_t)(1024 + i));
	k->port_b = htons(443);
	k->proto = 6;
	k->family = 6;
}

static unsigned int key_index(const struct spin_flow_key *k)
{
	return ntohs(k->port_a) - 1024;
}

/* Puts `bytes` more into flow i (on CPU slot i % ncpus), as the data path would. */
static int grow(unsigned int i, uint64_t bytes, uint32_t clock)
{
	struct spin_flow_key k;
	int c = (int)(i % (unsigned int)t.ncpus);

	make_key(i, &k);
	memset(t.vals, 0, sizeof(*t.vals) * (size_t)t.ncpus);
	if (t.in_map[i] && bpf_map_lookup_elem(t.fd, &k, t.vals))
		return -errno;
	t.vals[c].bytes[SPIN_DIR_AB] += bytes;
	t.vals[c].packets[SPIN_DIR_AB] += 1;
	t.vals[c].ifindex = 2;
	t.vals[c].first_seen = t.vals[c].first_seen ? t.vals[c].first_seen : clock;
	t.vals[c].last_seen = clock;
	t.vals[c].flags |= t.in_map[i] ? 0 : SPIN_FLOW_F_CREATED;
	if (bpf_map_update_elem(t.fd, &k, t.vals, BPF_ANY))
		return -errno;
	t.in_map[i] += bytes;
	t.last_seen[i] = clock;
	t.counted += bytes;
	return 0;
}

/* Deletes flow i from the map behind the sweep's back (its unreported bytes are gone). */
static void vanish(unsigned int i, uint64_t *reported_of, int round)
{
	struct spin_flow_key k;

	make_key(i, &k);
	if (bpf_map_delete_elem(t.fd, &k) == 0) {
		t.lost += t.in_map[i] - reported_of[i];
		t.in_map[i] = 0;
		reported_of[i] = 0;
		t.gone_round[i] = round + 1;
	}
}

static void on_delta(const struct flow_delta *d, void *ctx)
{
	unsigned int i = key_index(d->key);

	if (i >= N_KEYS) {
		t.bad_keys++;
		return;
	}
	t.reported += d->bytes[0] + d->bytes[1];
	reported_of[i] += d->bytes[0] + d->bytes[1];
}

/* After a sweep: flows the sweep removed are no longer in the map. */
static void sync_removed(void)
{
	struct spin_flow_key k;

	for (unsigned int i = 0; i < N_KEYS; i++) {
		if (!t.in_map[i])
			continue;
		make_key(i, &k);
		if (bpf_map_lookup_elem(t.fd, &k, t.vals) && errno == ENOENT) {
			t.in_map[i] = 0;
			reported_of[i] = 0;
		}
	}
}

static void test_churn(void)
{
	const struct flows_stats *st = flows_get_stats();
	uint32_t clock = 100;
	uint64_t guessed, removed0 = st->removed;
	int n = 0, err = 0;

	srandom(1);
	/* A steady table first: the second sweep finds every flow where the first left it. */
	for (unsigned int i = 0; i < 1000 && !err; i++)
		err = grow(i, 100, clock);
	CHECK_INT(err, 0, "1000 flows put into the map");
	CHECK_INT(flows_sweep(clock, on_delta, NULL), 1000, "first sweep sees 1000 flows");
	for (unsigned int i = 0; i < 1000; i++)
		grow(i, 10, clock + 1);
	guessed = st->guessed;
	CHECK_INT(flows_sweep(clock + 1, on_delta, NULL), 1000, "second sweep sees 1000 flows");
	CHECK_INT((long long)(st->guessed - guessed), 1000, "every flow found by the order guess");
	clock += 2;

	/* Then churn: growth, new flows, flows deleted behind the sweep, idle ones removed. */
	for (int r = 0; r < N_ROUNDS && !err && n >= 0; r++, clock++) {
		for (int j = 0; j < 400 && !err; j++) {
			unsigned int i = (unsigned int)random() % N_KEYS;

			if (!t.in_map[i] && r % 10 > 6)
				continue; /* quiet rounds: only old flows grow, others go idle */
			/* A flow deleted behind the sweep's back and grown again before the sweep
			 * noticed looks like the old one grown: not what the kernel ever does. */
			if (t.gone_round[i] && r + 1 - t.gone_round[i] < 2)
				continue;
			err = grow(i, 1 + (uint64_t)(random() % 1500), clock);
		}
		for (int j = 0; j < 20; j++)
			vanish((unsigned int)random() % N_KEYS, reported_of, r);
		n = flows_sweep(clock, on_delta, NULL);
		sync_removed();
	}
	CHECK_INT(err, 0, "churn: every map update worked");
	CHECK(n >= 0, "churn: every sweep worked");
	CHECK(st->removed > removed0, "churn: idle flows were removed by the sweep");
	/* A last sweep reports what the last round put in. */
	n = flows_sweep(clock, on_delta, NULL);
	CHECK(n >= 0, "final sweep");
	CHECK_INT(t.bad_keys, 0, "every delta names a key of the test");
	CHECK_INT((long long)(t.reported + t.lost), (long long)t.counted,
		  "every byte counted is reported once (or vanished unreported)");
	printf("# %llu bytes counted, %llu reported, %llu vanished; %llu flows removed, %llu "
	       "guessed\n",
	       t.counted, t.reported, t.lost, (unsigned long long)(st->removed - removed0),
	       (unsigned long long)st->guessed);
}

/* Adds bytes (one packet) to flow i of map fd, creating it. */
static int put(int fd, unsigned int i, uint64_t bytes)
{
	struct spin_flow_key k;

	make_key(i, &k);
	memset(t.vals, 0, sizeof(*t.vals) * (size_t)t.ncpus);
	if (bpf_map_lookup_elem(fd, &k, t.vals) && errno != ENOENT)
		return -errno;
	t.vals[0].bytes[SPIN_DIR_AB] += bytes;
	t.vals[0].packets[SPIN_DIR_AB] += 1;
	t.vals[0].ifindex = 2;
	t.vals[0].first_seen = 1;
	t.vals[0].last_seen = 1;
	return bpf_map_update_elem(fd, &k, t.vals, BPF_ANY) ? -errno : 0;
}

static unsigned long long snap_reported;

static void on_snap_delta(const struct flow_delta *d, void *ctx)
{
	snap_reported += d->bytes[0] + d->bytes[1];
}

static int snap_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "test_snap", sizeof(struct spin_flow_key),
			      sizeof(struct spin_flow_val), 64, NULL);
}

/*
 * A clean stop, traffic while no daemon runs, a start on the same maps: the snapshot makes the
 * first sweep report exactly what was counted meanwhile; a snapshot of other maps, or no
 * snapshot at all, is not taken; a snapshot is used once.
 */
static void test_snapshot(void)
{
	char path[] = "/tmp/test_flows.snapshot.XXXXXX";
	int fd = snap_map(), other = snap_map(), tmp = mkstemp(path), err = 0;
	FILE *junk;

	CHECK(fd >= 0 && other >= 0 && tmp >= 0, "snapshot: two maps and a file");
	if (fd < 0 || other < 0 || tmp < 0)
		return;
	close(tmp);
	CHECK_INT(flows_init(fd, -1, IDLE_S, false), 0, "snapshot: flows_init");
	for (unsigned int i = 0; i < 10 && !err; i++)
		err = put(fd, i, 100);
	snap_reported = 0;
	flows_sweep(1, on_snap_delta, NULL);
	CHECK_INT((int)snap_reported, 1000, "snapshot: the first run reports its traffic");
	CHECK_INT(flows_save(path), 0, "snapshot: flows_save");
	flows_destroy();

	for (unsigned int i = 0; i < 5 && !err; i++) /* while no daemon runs */
		err = put(fd, i, 50);
	for (unsigned int i = 10; i < 12 && !err; i++)
		err = put(fd, i, 70);
	CHECK_INT(err, 0, "snapshot: traffic while no daemon runs");
	CHECK_INT(flows_init(fd, -1, IDLE_S, true), 0, "snapshot: flows_init on reused maps");
	CHECK_INT(flows_load(path), 10, "snapshot: flows_load takes the 10 flows over");
	CHECK(access(path, F_OK) != 0, "snapshot: flows_load removes the snapshot");
	snap_reported = 0;
	flows_sweep(2, on_snap_delta, NULL);
	CHECK_INT((int)snap_reported, 5 * 50 + 2 * 70,
		  "snapshot: the next run reports exactly what was counted meanwhile");
	CHECK_INT(flows_load(path), -ENOENT, "snapshot: a snapshot is used once");
	CHECK_INT(flows_save(path), 0, "snapshot: flows_save again");
	flows_destroy();

	CHECK_INT(flows_init(other, -1, IDLE_S, true), 0, "snapshot: flows_init on other maps");
	CHECK_INT(flows_load(path), -ESTALE, "snapshot: one of other maps is refused");
	CHECK(access(path, F_OK) != 0, "snapshot: a refused snapshot is removed too");
	junk = fopen(path, "w");
	if (junk) {
		fputs("SPINFLW1 but not a snapshot", junk);
		fclose(junk);
	}
	CHECK_INT(flows_load(path), -EBADMSG, "snapshot: a damaged file is refused");
	flows_destroy();
	unlink(path);
	close(fd);
	close(other);
}

/* --- MACs: each side of a flow whose MAC a slot recorded goes to mac_cb, once --- */

static struct {
	int calls;
	uint8_t side_mac[2][6]; /* by the side of the key the address is (a: 0, b: 1) */
	int side_calls[2];
	const struct spin_flow_key *key;
} mc;

static void on_mac(const struct spin_addr *ip, const uint8_t mac[6], uint32_t ifindex, void *ctx)
{
	int side = memcmp(ip, &mc.key->addr_a, sizeof(*ip)) == 0 ? 0 : 1;

	mc.calls++;
	mc.side_calls[side]++;
	memcpy(mc.side_mac[side], mac, 6);
}

static void noop_delta(const struct flow_delta *d, void *ctx)
{
}

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0xa}, mac_b[6] = {2, 0, 0, 0, 0, 0xb};

static void test_macs(void)
{
	int fd = snap_map();
	struct spin_flow_key k;

	CHECK(fd >= 0, "macs: a map");
	if (fd < 0)
		return;
	make_key(7, &k);
	mc.key = &k;
	CHECK_INT(flows_init(fd, -1, IDLE_S, false), 0, "macs: flows_init");
	flows_set_mac_cb(on_mac, NULL);

	/* the creating slot knows side A only */
	memset(t.vals, 0, sizeof(*t.vals) * (size_t)t.ncpus);
	t.vals[0].ifindex = 2;
	t.vals[0].last_seen = 1;
	t.vals[0].flags = SPIN_FLOW_F_CREATED | SPIN_FLOW_F_MAC;
	t.vals[0].mac_dir = SPIN_DIR_AB;
	memcpy(t.vals[0].mac, mac_a, 6);
	CHECK_INT(bpf_map_update_elem(fd, &k, t.vals, BPF_ANY), 0, "macs: a flow with A's MAC");
	flows_sweep(1, noop_delta, NULL);
	CHECK_INT(mc.calls, 1, "macs: A's MAC told");
	CHECK(mc.side_calls[0] == 1 && memcmp(mc.side_mac[0], mac_a, 6) == 0,
	      "macs: ... for address A");

	/* the answer gave the same slot B's MAC (mac2): told once, for B */
	t.vals[0].flags |= SPIN_FLOW_F_MAC2;
	memcpy(t.vals[0].mac2, mac_b, 6);
	CHECK_INT(bpf_map_update_elem(fd, &k, t.vals, BPF_ANY), 0, "macs: B's MAC as mac2");
	flows_sweep(2, noop_delta, NULL);
	flows_sweep(3, noop_delta, NULL);
	CHECK_INT(mc.calls, 2, "macs: B's MAC told, each side once");
	CHECK(mc.side_calls[1] == 1 && memcmp(mc.side_mac[1], mac_b, 6) == 0,
	      "macs: ... for address B");
	flows_destroy();

	/* another CPU's slot, first reached by B's answer, holds B's MAC as its mac */
	if (t.ncpus > 1) {
		memset(&mc.side_calls, 0, sizeof(mc.side_calls));
		mc.calls = 0;
		CHECK_INT(bpf_map_delete_elem(fd, &k), 0, "macs: flow removed");
		CHECK_INT(flows_init(fd, -1, IDLE_S, false), 0, "macs: flows_init again");
		flows_set_mac_cb(on_mac, NULL);
		t.vals[0].flags &= (uint8_t)~SPIN_FLOW_F_MAC2;
		t.vals[1].ifindex = 2;
		t.vals[1].last_seen = 1;
		t.vals[1].flags = SPIN_FLOW_F_MAC;
		t.vals[1].mac_dir = SPIN_DIR_BA;
		memcpy(t.vals[1].mac, mac_b, 6);
		CHECK_INT(bpf_map_update_elem(fd, &k, t.vals, BPF_ANY), 0,
			  "macs: B's MAC on another CPU");
		flows_sweep(4, noop_delta, NULL);
		CHECK(mc.calls == 2 && mc.side_calls[0] == 1 && mc.side_calls[1] == 1 &&
			      memcmp(mc.side_mac[0], mac_a, 6) == 0 &&
			      memcmp(mc.side_mac[1], mac_b, 6) == 0,
		      "macs: both sides told when two CPUs each know one");
		flows_destroy();
	}
	flows_set_mac_cb(NULL, NULL);
	close(fd);
}

int main(void)
{
	int err;

	t.ncpus = libbpf_num_possible_cpus();
	t.fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "test_flows", sizeof(struct spin_flow_key),
			      sizeof(struct spin_flow_val), MAX_MAP, NULL);
	if (t.fd < 0 || t.ncpus <= 0) {
		printf("not ok - a per-CPU hash map for the test: %s (needs root)\n",
		       strerror(errno));
		return 1;
	}
	t.vals = calloc((size_t)t.ncpus, sizeof(*t.vals));
	err = flows_init(t.fd, -1, IDLE_S, false);
	CHECK_INT(err, 0, "flows_init on a per-CPU hash of spin_flow_key");
	if (!err && t.vals)
		test_churn();
	flows_destroy();
	if (t.vals) {
		test_snapshot();
		test_macs();
	}
	free(t.vals);
	return check_exit();
}
