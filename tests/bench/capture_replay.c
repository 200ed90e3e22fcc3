// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Passive replay speed (issue 10): user/capture.c replaying a capture as fast as possible, on
 * one core, from a file in the page cache. Two captures are written first with libpcap:
 * many small flows (64-byte UDP frames over 100k flows) and a few bulk flows (1514-byte TCP
 * frames over 4 flows). Every flow delta goes through the same callback type the kernel sweep
 * uses; the count of deltas and of packets handed on is checked against what was written.
 *
 *   capture_replay [PACKETS] [ROUNDS]     (defaults 1000000, 3)
 * Prints a markdown table: capture, packets, median Mpps (min - max), max RSS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "dns.h"
#include "log.h"

static uint64_t delta_packets;

static void on_delta(const struct flow_delta *d, void *ctx)
{
	delta_packets += d->packets[0] + d->packets[1];
}

static bool is_lan(const struct spin_addr *a, void *ctx)
{
	return a->a[12] == 192 && a->a[13] == 0 && a->a[14] == 2;
}

/* An Ethernet + IPv4 + UDP/TCP frame of len bytes from 192.0.2.x to 203.0.113.y. */
static void frame(uint8_t *p, size_t len, int tcp, uint32_t flow)
{
	uint16_t ip_len = (uint16_t)(len - 14), sport = (uint16_t)(1024 + flow % 60000);

	memset(p, 0, len);
	memcpy(p, "\x02\x00\x00\x00\x01\x01\x02\x00\x00\x00\x00\x10\x08\x00", 14);
	p[14] = 0x45;
	p[16] = (uint8_t)(ip_len >> 8);
	p[17] = (uint8_t)ip_len;
	p[22] = 64;
	p[23] = tcp ? 6 : 17;
	memcpy(p + 26, "\xc0\x00\x02", 3);
	p[29] = (uint8_t)(10 + flow / 60000 % 200);
	memcpy(p + 30, "\xcb\x00\x71", 3);
	p[33] = (uint8_t)(10 + flow % 7);
	p[34] = (uint8_t)(sport >> 8);
	p[35] = (uint8_t)sport;
	p[36] = tcp ? 0 : 0x1f;
	p[37] = tcp ? 80 : 0x90;
	if (tcp) {
		p[46] = 0x50; /* data offset 5 */
		p[47] = 0x10; /* ACK */
	} else {
		p[38] = (uint8_t)((ip_len - 20) >> 8);
		p[39] = (uint8_t)(ip_len - 20);
	}
}

static int write_capture(const char *path, long packets, size_t len, int tcp, uint32_t flows)
{
	pcap_t *pc = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pc ? pcap_dump_open(pc, path) : NULL;
	uint8_t buf[1514];
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};

	if (!d) {
		fprintf(stderr, "capture_replay: cannot write %s: %s\n", path,
			pc ? pcap_geterr(pc) : "pcap_open_dead failed");
		if (pc)
			pcap_close(pc);
		return -EIO;
	}
	for (long i = 0; i < packets; i++) {
		h.ts.tv_sec = 1700000000 + i / 100000; /* 100k packets per captured second */
		h.ts.tv_usec = (suseconds_t)(i % 100000) * 10;
		frame(buf, len, tcp, (uint32_t)(i % flows));
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(pc);
	return 0;
}

static double replay(const char *path, long *packets)
{
	struct capture_ops ops = {.delta = on_delta, .is_lan = is_lan};
	struct capture_opts o = {.fast = true, .max_flows = 262144};
	struct timespec a, b;

	delta_packets = 0;
	if (capture_open_file(path, &o, &ops))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	*packets = capture_run();
	clock_gettime(CLOCK_MONOTONIC, &b);
	capture_close();
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int bench(const char *name, const char *path, long packets, int rounds)
{
	double mpps[16];
	struct rusage ru;
	long got = 0;

	for (int r = 0; r < rounds; r++) {
		double s = replay(path, &got);

		if (s <= 0 || got != packets || delta_packets != (uint64_t)packets) {
			printf("| %s | replay failed: %ld of %ld packets read, %llu handed on |\n",
			       name, got, packets, (unsigned long long)delta_packets);
			return 1;
		}
		mpps[r] = (double)got / s / 1e6;
	}
	qsort(mpps, (size_t)rounds, sizeof(mpps[0]), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("| %s | %ld | %.2f (%.2f - %.2f) | %ld |\n", name, packets, mpps[rounds / 2],
	       mpps[0], mpps[rounds - 1], ru.ru_maxrss / 1024);
	return 0;
}

int main(int argc, char **argv)
{
	long packets = argc > 1 ? atol(argv[1]) : 1000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3, rc = 0;
	char small[] = "/tmp/spin-replay-small-XXXXXX", bulk[] = "/tmp/spin-replay-bulk-XXXXXX";
	int fd1 = mkstemp(small), fd2 = mkstemp(bulk);

	if (packets <= 0 || rounds < 1 || rounds > 16 || fd1 < 0 || fd2 < 0) {
		fprintf(stderr, "usage: capture_replay [PACKETS] [ROUNDS<=16]\n");
		return 2;
	}
	close(fd1);
	close(fd2);
	log_init("capture_replay", false, LOG_LVL_ERR, NULL);
	dns_init(&(struct dns_ops){0}, 0);
	if (write_capture(small, packets, 64, 0, 100000) ||
	    write_capture(bulk, packets, 1514, 1, 4)) {
		rc = 1;
		goto out;
	}
	printf("| capture | packets | Mpps on one core (median, min - max) | max RSS MiB |\n");
	printf("|---|---:|---:|---:|\n");
	rc |= bench("100k small UDP flows, 64-byte frames", small, packets, rounds);
	rc |= bench("4 bulk TCP flows, 1514-byte frames", bulk, packets, rounds);
out:
	dns_destroy();
	unlink(small);
	unlink(bulk);
	return rc;
}
