// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * spind's flow sweep at scale: a spin_flows-compatible per-CPU hash (no pinning) holding N
 * flows, every flow changed between sweeps, and the sweep run as spind runs it: flows_sweep()
 * feeding traffic_add() with the node cache behind it, then traffic_flush() building the
 * traffic message. Prints one result line per size and checks that every byte was reported.
 *
 *   spind_sweep [-r ROUNDS] [FLOWS...]     default: 5 rounds of 10000 100000 1000000
 *
 * Output lines: "sweep FLOWS ROUND MS FLUSH_MS RSS_KB" (MS: the whole sweep, FLUSH_MS: the part
 * building the traffic message), one per round for tests/bench/spind.sh, then
 * "ok - ..." / "not ok - ..." checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "flows.h"
#include "nodes.h"
#include "traffic.h"

#define MAX_ROUNDS   50
#define MAX_SIZES    8
#define N_DEVICES    50	 /* 192.0.2.10 .. 192.0.2.59: a busy home */
#define N_REMOTES    512 /* 203.0.113.0/24 and 198.51.100.0/24 */
#define UPDATE_CHUNK 8192

static struct {
	int fd;
	int ncpus;
	struct spin_flow_key *keys;
	struct spin_flow_val *vals;
	unsigned long long published_bytes;
	unsigned long messages;
} b = {.fd = -1};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void v4(struct spin_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, sizeof(*a));
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	a->a[12] = x;
	a->a[13] = y;
	a->a[14] = z;
	a->a[15] = w;
}

/* Flow i: device i % N_DEVICES to remote (i / N_DEVICES) % N_REMOTES, distinct source port. */
static void make_key(unsigned int i, struct spin_flow_key *k)
{
	unsigned int r = (i / N_DEVICES) % N_REMOTES;
	unsigned int port = i / (N_DEVICES * N_REMOTES);

	memset(k, 0, sizeof(*k));
	v4(&k->addr_a, 192, 0, 2, (uint8_t)(10 + i % N_DEVICES));
	if (r < 256)
		v4(&k->addr_b, 203, 0, 113, (uint8_t)r);
	else
		v4(&k->addr_b, 198, 51, 100, (uint8_t)(r - 256));
	k->port_a = htons((uint16_t)(1024 + port));
	k->port_b = htons(443);
	k->proto = 6;
	k->family = 4;
}

/* Every CPU slot of every flow: bytes grow by 'gen' units each round, last_seen = clock. */
static int fill(unsigned int n, unsigned int gen, uint32_t clock)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (unsigned int base = 0; base < n; base += UPDATE_CHUNK) {
		__u32 count = n - base < UPDATE_CHUNK ? n - base : UPDATE_CHUNK;

		for (__u32 i = 0; i < count; i++) {
			make_key(base + i, &b.keys[i]);
			for (int c = 0; c < b.ncpus; c++) {
				struct spin_flow_val *v = &b.vals[(size_t)i * b.ncpus + c];

				memset(v, 0, sizeof(*v));
				v->bytes[SPIN_DIR_AB] = 100ull * gen;
				v->bytes[SPIN_DIR_BA] = 1000ull * gen;
				v->packets[SPIN_DIR_AB] = gen;
				v->packets[SPIN_DIR_BA] = gen;
				v->first_seen = 1;
				v->last_seen = clock;
				v->ifindex = 2;
				v->flags = c == 0 ? SPIN_FLOW_F_CREATED : 0;
			}
		}
		if (bpf_map_update_batch(b.fd, b.keys, b.vals, &count, &opts))
			return -errno;
	}
	return 0;
}

static bool is_local(const struct spin_addr *a, void *ctx)
{
	return a->a[12] == 192 && a->a[13] == 0 && a->a[14] == 2;
}

static bool is_ignored(const struct spin_addr *a, void *ctx)
{
	return false;
}

static void publish(const char *json, void *ctx)
{
	b.messages++;
	(void)strlen(json); /* the message is built; a broker would copy it once */
}

static void node_publish(const struct node *n, void *ctx)
{
	cJSON_Delete(node_to_json(n)); /* the cost spind pays for nodeInfo */
}

static int bench_size(unsigned int n, int rounds)
{
	struct nodes_ops no = {.publish = node_publish};
	struct traffic_ops to = {
		.is_local = is_local, .is_ignored = is_ignored, .publish = publish};
	struct traffic_stats before, after;
	uint32_t clock = 1000;
	uint64_t guessed = 0;
	char name[128];
	int err;

	b.fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "spin_flows", sizeof(struct spin_flow_key),
			      sizeof(struct spin_flow_val), n, NULL);
	if (b.fd < 0) {
		fprintf(stderr, "spind_sweep: cannot create a %u-flow map: %s\n", n,
			strerror(errno));
		return -errno;
	}
	err = nodes_init(&no, 0, 0);
	if (!err)
		err = traffic_init(&to, false);
	if (!err)
		err = flows_init(b.fd, -1, 120, false);
	if (err)
		goto out;
	/* Round 0 creates the spind-side table and the nodes; it is not timed. */
	for (int r = 0; r <= rounds && !err; r++) {
		uint64_t t0, t1;

		err = fill(n, (unsigned int)r + 1, clock);
		if (err)
			break;
		traffic_get_stats(&before);
		guessed = flows_get_stats()->guessed;
		t0 = now_us();
		traffic_begin(time(NULL));
		err = flows_sweep(clock, traffic_add, NULL);
		t1 = now_us();
		guessed = flows_get_stats()->guessed - guessed;
		traffic_flush();
		if (err >= 0)
			err = err == (int)n ? 0 : -EIO;
		if (r > 0)
			printf("sweep %u %d %.2f %.2f %ld\n", n, r,
			       (double)(now_us() - t0) / 1000.0, (double)(now_us() - t1) / 1000.0,
			       rss_kb());
		traffic_get_stats(&after);
		nodes_tick(time(NULL));
		clock++;
	}
	snprintf(name, sizeof(name), "%u flows: every flow seen by the last sweep", n);
	CHECK_INT(err, 0, name);
	/* The table did not change between the last two sweeps: the order guesses all hit. */
	snprintf(name, sizeof(name), "%u flows: every flow found by the sweep order guess", n);
	CHECK_INT(rounds > 1 ? (long long)guessed : (long long)n, (long long)n, name);
	/* Each round grows every flow by 1100 bytes per CPU slot. */
	snprintf(name, sizeof(name), "%u flows: every byte of the last round reported", n);
	CHECK_INT(after.bytes_reported - before.bytes_reported, (long long)n * 1100 * b.ncpus,
		  name);
out:
	flows_destroy();
	traffic_destroy();
	nodes_destroy();
	close(b.fd);
	b.fd = -1;
	return err;
}

int main(int argc, char **argv)
{
	unsigned int sizes[MAX_SIZES] = {10000, 100000, 1000000};
	int nsizes = 3, rounds = 5, opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r') {
			fprintf(stderr, "usage: spind_sweep [-r ROUNDS] [FLOWS...]\n");
			return 2;
		}
		rounds = atoi(optarg);
		if (rounds < 1 || rounds > MAX_ROUNDS) {
			fprintf(stderr, "spind_sweep: -r: 1 to %d rounds\n", MAX_ROUNDS);
			return 2;
		}
	}
	if (optind < argc) {
		nsizes = 0;
		for (int i = optind; i < argc && nsizes < MAX_SIZES; i++) {
			long v = strtol(argv[i], NULL, 10);

			if (v < 1 || v > 16 * 1024 * 1024) {
				fprintf(stderr, "spind_sweep: FLOWS: 1 to 16777216, got '%s'\n",
					argv[i]);
				return 2;
			}
			sizes[nsizes++] = (unsigned int)v;
		}
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	b.ncpus = libbpf_num_possible_cpus();
	if (b.ncpus <= 0)
		return 1;
	b.keys = calloc(UPDATE_CHUNK, sizeof(*b.keys));
	b.vals = calloc((size_t)UPDATE_CHUNK * b.ncpus, sizeof(*b.vals));
	if (!b.keys || !b.vals)
		return 1;
	for (int s = 0; s < nsizes; s++)
		bench_size(sizes[s], rounds);
	free(b.keys);
	free(b.vals);
	return check_exit();
}
