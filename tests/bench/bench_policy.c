// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy driver for tests/bench/run, working on the pinned maps of a running data path (spind
 * or not), the way spind's policy module does: update spin_addrpol, then bump
 * spin_cfg.policy_gen and keep n_addr_block right.
 *
 *   bench_policy PIN_DIR fill FILE      block every address in FILE (one per line)
 *   bench_policy PIN_DIR clear FILE     remove them again
 *   bench_policy PIN_DIR latency ADDR   block ADDR and time the first drop, then unblock
 *
 * latency needs traffic to ADDR flowing through the data path; it prints the time the map
 * update and generation bump took, and the time until spin_stats showed the first drop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "spin_common.h"

#define MAX_LINE	   128
#define LATENCY_TIMEOUT_NS 2000000000ULL

struct maps {
	int addrpol, cfg, stats;
	int ncpu;
};

static int open_pin(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "bench_policy: %s: %s\n", path, strerror(errno));
	return fd;
}

static int parse_addr(const char *s, struct spin_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, a->a) == 1 ? 0 : -EINVAL;
	a->a[10] = a->a[11] = 0xff;
	return inet_pton(AF_INET, s, &a->a[12]) == 1 ? 0 : -EINVAL;
}

/* Adds delta to n_addr_block and bumps policy_gen: flows re-check on their next packet. */
static int commit(const struct maps *m, int delta)
{
	struct spin_cfg cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->cfg, &zero, &cfg))
		return -errno;
	if (delta < 0 && cfg.n_addr_block < (__u32)-delta)
		cfg.n_addr_block = 0;
	else
		cfg.n_addr_block += delta;
	cfg.policy_gen++;
	return bpf_map_update_elem(m->cfg, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

static int fill_or_clear(const struct maps *m, const char *file, int fill)
{
	char line[MAX_LINE];
	__u32 flags = SPIN_POL_BLOCK;
	int n = 0, lineno = 0, err = 0;
	FILE *f = fopen(file, "r");

	if (!f) {
		fprintf(stderr, "bench_policy: %s: %s\n", file, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		struct spin_addr a;

		lineno++;
		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0])
			continue;
		if (parse_addr(line, &a)) {
			fprintf(stderr, "bench_policy: %s:%d: not an address: %s\n", file, lineno,
				line);
			err = -EINVAL;
			break;
		}
		if (fill ? bpf_map_update_elem(m->addrpol, &a, &flags, BPF_NOEXIST)
			 : bpf_map_delete_elem(m->addrpol, &a)) {
			fprintf(stderr, "bench_policy: %s:%d: %s %s: %s\n", file, lineno,
				fill ? "adding" : "removing", line, strerror(errno));
			err = -errno;
			break;
		}
		n++;
	}
	fclose(f);
	if (n) {
		int cerr = commit(m, fill ? n : -n);

		err = err ? err : cerr;
	}
	if (!err)
		printf("%s %d addresses\n", fill ? "blocked" : "unblocked", n);
	return err;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __u64 drops(const struct maps *m)
{
	__u32 idx[] = {SPIN_STAT_DROP_XDP, SPIN_STAT_DROP_TC};
	__u64 vals[m->ncpu], sum = 0;
	int i, c;

	for (i = 0; i < 2; i++) {
		if (bpf_map_lookup_elem(m->stats, &idx[i], vals))
			continue;
		for (c = 0; c < m->ncpu; c++)
			sum += vals[c];
	}
	return sum;
}

static int latency(const struct maps *m, const char *s)
{
	__u32 flags = SPIN_POL_BLOCK;
	__u64 base, t0, t1, t2;
	struct spin_addr a;
	int err;

	if (parse_addr(s, &a)) {
		fprintf(stderr, "bench_policy: not an address: %s\n", s);
		return -EINVAL;
	}
	base = drops(m);
	t0 = now_ns();
	if (bpf_map_update_elem(m->addrpol, &a, &flags, BPF_NOEXIST))
		return -errno;
	err = commit(m, 1);
	t1 = now_ns();
	if (err)
		return err;
	do {
		t2 = now_ns();
	} while (drops(m) == base && t2 - t1 < LATENCY_TIMEOUT_NS);
	bpf_map_delete_elem(m->addrpol, &a);
	commit(m, -1);
	if (t2 - t1 >= LATENCY_TIMEOUT_NS) {
		fprintf(stderr, "bench_policy: no drop within 2 s of blocking %s\n", s);
		return -ETIMEDOUT;
	}
	/* microseconds: the update and bump, and the request until the first drop was counted */
	printf("%.1f %.1f\n", (t1 - t0) / 1e3, (t2 - t0) / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	struct maps m;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_policy PIN_DIR fill|clear FILE | latency ADDR\n");
		return 2;
	}
	m.addrpol = open_pin(argv[1], SPIN_MAP_ADDRPOL);
	m.cfg = open_pin(argv[1], SPIN_MAP_CFG);
	m.stats = open_pin(argv[1], SPIN_MAP_STATS);
	m.ncpu = libbpf_num_possible_cpus();
	if (m.addrpol < 0 || m.cfg < 0 || m.stats < 0 || m.ncpu <= 0)
		return 1;
	if (!strcmp(argv[2], "fill") || !strcmp(argv[2], "clear"))
		err = fill_or_clear(&m, argv[3], argv[2][0] == 'f');
	else if (!strcmp(argv[2], "latency"))
		err = latency(&m, argv[3]);
	else
		err = -EINVAL;
	if (err == -EINVAL && strcmp(argv[2], "fill") && strcmp(argv[2], "clear") &&
	    strcmp(argv[2], "latency"))
		fprintf(stderr, "bench_policy: unknown command %s\n", argv[2]);
	else if (err && err != -EINVAL && err != -ETIMEDOUT)
		fprintf(stderr, "bench_policy: %s: %s\n", argv[2], strerror(-err));
	return err ? 1 : 0;
}
