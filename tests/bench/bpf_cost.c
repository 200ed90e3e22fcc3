// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of the data path, measured with bpf_prog_test_run_opts (the kernel runs the
 * program `repeat` times on one prepared skb and reports the mean). Every program is measured
 * in each round, and its ratio is taken to the empty TC program of the same round, so drift
 * between rounds cancels. Prints a markdown table (median ns, min-max, median ratio).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "../bpf/harness.h"
#include "bench.skel.h"

#define REPEAT	 1000000
#define ROUNDS	 7
#define N_BLOCKS 10000

enum { P_TC, P_XDP };

struct bench_case {
	const char *name;
	int prog_kind; /* P_TC or P_XDP */
	int (*prog_fd)(void);
	struct pb_spec pkt;
};

static struct h_env env;
static struct bench_bpf *bench;
static volatile int stop_consumer;

static int fd_tc_empty(void)
{
	return bpf_program__fd(bench->progs.bench_tc_empty);
}
static int fd_xdp_empty(void)
{
	return bpf_program__fd(bench->progs.bench_xdp_empty);
}
static int fd_tc_parse(void)
{
	return bpf_program__fd(bench->progs.bench_tc_parse);
}
static int fd_tc_lk40(void)
{
	return bpf_program__fd(bench->progs.bench_tc_lk40);
}
static int fd_tc_lk16(void)
{
	return bpf_program__fd(bench->progs.bench_tc_lk16);
}
static int fd_spin_in(void)
{
	return bpf_program__fd(env.skel->progs.spin_tc_ingress);
}
static int fd_spin_xdp(void)
{
	return bpf_program__fd(env.skel->progs.spin_xdp);
}

#define TCP4 .family = 4, .src = "192.0.2.10", .dst = "198.51.100.1", .proto = 6
#define TCP6 .family = 6, .src = "2001:db8::10", .dst = "2001:db8:1::1", .proto = 6

static struct bench_case cases[] = {
	{"empty TC program", P_TC, fd_tc_empty, {TCP4, .sport = 1, .dport = 2, .payload_len = 64}},
	{"empty XDP program",
	 P_XDP,
	 fd_xdp_empty,
	 {TCP4, .sport = 1, .dport = 2, .payload_len = 64}},
	{"parse only (IPv4 TCP)",
	 P_TC,
	 fd_tc_parse,
	 {TCP4, .sport = 1, .dport = 2, .payload_len = 64}},
	{"parse only (IPv6 TCP)",
	 P_TC,
	 fd_tc_parse,
	 {TCP6, .sport = 1, .dport = 2, .payload_len = 64}},
	{"parse + flow lookup only, 40-byte key (IPv4 TCP)",
	 P_TC,
	 fd_tc_lk40,
	 {TCP4, .sport = 40000, .dport = 443, .payload_len = 64}},
	{"parse + flow lookup only, 40-byte key (IPv6 TCP)",
	 P_TC,
	 fd_tc_lk40,
	 {TCP6, .sport = 40000, .dport = 443, .payload_len = 64}},
	{"parse + flow lookup only, 16-byte IPv4 key",
	 P_TC,
	 fd_tc_lk16,
	 {TCP4, .sport = 40000, .dport = 443, .payload_len = 64}},
	{"full TC ingress, IPv4 TCP, warm flow (flow cache)",
	 P_TC,
	 fd_spin_in,
	 {TCP4, .sport = 40000, .dport = 443, .payload_len = 64}},
	{"full TC ingress, IPv6 TCP, warm flow (flow cache)",
	 P_TC,
	 fd_spin_in,
	 {TCP6, .sport = 40000, .dport = 443, .payload_len = 64}},
	/* a TCP SYN never takes the flow cache: the flow-map path, as every packet of a flow
	 * whose slot another flow holds */
	{"full TC ingress, IPv4 TCP, flow-map path (SYN)",
	 P_TC,
	 fd_spin_in,
	 {TCP4, .sport = 40000, .dport = 443, .tcp_flags = 0x02, .payload_len = 64}},
	{"full TC ingress, IPv6 TCP, flow-map path (SYN)",
	 P_TC,
	 fd_spin_in,
	 {TCP6, .sport = 40000, .dport = 443, .tcp_flags = 0x02, .payload_len = 64}},
	{"full TC ingress, IPv4, 10k blocks (no match)",
	 P_TC,
	 fd_spin_in,
	 {TCP4, .sport = 40001, .dport = 443, .payload_len = 64}},
	{"full XDP, IPv4, 10k blocks (no match)",
	 P_XDP,
	 fd_spin_xdp,
	 {TCP4, .sport = 40001, .dport = 443, .payload_len = 64}},
	{"DNS path (UDP/IPv4 answer to the ring buffer)",
	 P_TC,
	 fd_spin_in,
	 {.family = 4,
	  .src = "192.0.2.53",
	  .dst = "192.0.2.10",
	  .proto = 17,
	  .sport = 53,
	  .dport = 33333,
	  .payload_len = 100}},
};
#define N_CASES	 (sizeof(cases) / sizeof(cases[0]))
#define I_BLOCKS 11 /* cases from here on run with the 10k-entry block list */

static double ns[N_CASES][ROUNDS], ratio[N_CASES][ROUNDS];

static int run_case(struct bench_case *c, double *ns)
{
	struct __sk_buff skb = {.ifindex = 1};
	struct xdp_md xdp = {.ingress_ifindex = 1};
	uint8_t buf[PB_MAX];
	size_t len = pb_build(&c->pkt, buf);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len, .repeat = REPEAT);

	if (c->prog_kind == P_XDP) {
		xdp.data_end = len;
		opts.ctx_in = &xdp;
		opts.ctx_size_in = sizeof(xdp);
	} else {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(c->prog_fd(), &opts))
		return -errno;
	*ns = opts.duration; /* mean ns per run */
	return 0;
}

/* Drains the ring buffer on the other CPU so the DNS case measures real event output. */
static void *consumer(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	while (!stop_consumer)
		ring_buffer__poll(env.rb, 10);
	return NULL;
}

static int add_blocks(void)
{
	struct spin_cfg cfg = {
		.layout_version = SPIN_LAYOUT_VERSION, .policy_gen = 2, .n_addr_block = N_BLOCKS};
	char a[64];
	int i, err;

	for (i = 0; i < N_BLOCKS; i++) {
		snprintf(a, sizeof(a), "2001:db8:ffff::%x:%x", i >> 8, i & 0xff);
		err = h_pol_addr(&env, a, SPIN_POL_BLOCK);
		if (err)
			return err;
	}
	return h_cfg(&env, &cfg);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v)
{
	double s[ROUNDS];

	memcpy(s, v, sizeof(s));
	qsort(s, ROUNDS, sizeof(double), cmp_double);
	return s[ROUNDS / 2];
}

static double vmin(const double *v)
{
	double m = v[0];
	int i;

	for (i = 1; i < ROUNDS; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v)
{
	double m = v[0];
	int i;

	for (i = 1; i < ROUNDS; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

int main(void)
{
	uint64_t before[SPIN_STAT_MAX], after[SPIN_STAT_MAX];
	pthread_t tid;
	size_t i;
	int r, err;

	err = h_open(&env, 0, 1);
	if (err) {
		fprintf(stderr, "bpf_cost: loading spin.bpf.o: %s\n", strerror(-err));
		return 1;
	}
	bench = bench_bpf__open_and_load();
	if (!bench) {
		fprintf(stderr, "bpf_cost: loading bench.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	if (pthread_create(&tid, NULL, consumer, NULL)) {
		fprintf(stderr, "bpf_cost: consumer thread failed\n");
		return 1;
	}
	h_stats(&env, before);
	for (i = 0; i < N_CASES; i++) {
		if (i == I_BLOCKS && (err = add_blocks())) {
			fprintf(stderr, "bpf_cost: filling spin_addrpol: %s\n", strerror(-err));
			return 1;
		}
		/* warm: the flow exists and its verdict is cached before timing */
		for (r = 0; r < ROUNDS; r++) {
			double empty;

			if (run_case(&cases[0], &empty) || run_case(&cases[i], &ns[i][r])) {
				fprintf(stderr, "bpf_cost: test run of '%s' failed\n",
					cases[i].name);
				return 1;
			}
			ratio[i][r] = empty > 0 ? ns[i][r] / empty : 0;
		}
	}
	h_stats(&env, after);
	stop_consumer = 1;
	pthread_join(tid, NULL);

	printf("| program | ns/packet (median) | min - max | ratio to empty TC |\n");
	printf("|---|---:|---:|---:|\n");
	for (i = 0; i < N_CASES; i++)
		printf("| %s | %.1f | %.0f - %.0f | %.2f |\n", cases[i].name, median(ns[i]),
		       vmin(ns[i]), vmax(ns[i]), median(ratio[i]));
	printf("\n%d rounds of %d runs each; ratio: against the empty TC program of the same "
	       "round.\n",
	       ROUNDS, REPEAT);
	printf("DNS events: %llu written, %llu lost to a full ring buffer.\n",
	       (unsigned long long)(after[SPIN_STAT_DNS_EVENTS] - before[SPIN_STAT_DNS_EVENTS]),
	       (unsigned long long)(after[SPIN_STAT_RINGBUF_FULL] -
				    before[SPIN_STAT_RINGBUF_FULL]));
	bench_bpf__destroy(bench);
	h_close(&env);
	return 0;
}
