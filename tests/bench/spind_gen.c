// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Load generators for tests/bench/spind.sh, run inside a lab device's namespace:
 *
 *   spind_gen dns SERVER RATE SECONDS FIRST COUNT
 *       AAAA queries for n<i>.bench.example (i = FIRST + k % COUNT) from one UDP socket, paced
 *       at RATE per second in 1 ms slices; answers are read on the same socket.
 *       Prints "sent N answered M seconds S".
 *   spind_gen flows DST[,DST...] PORT0 RATE SECONDS [CYCLE]
 *       one UDP datagram per new flow (destination port PORT0 + k % (65536 - PORT0), destination
 *       address rotating once the ports are used up) at RATE per second; with CYCLE, the same
 *       CYCLE flows over and over (RATE = CYCLE keeps each flow active once a second).
 *       Prints "sent N seconds S".
 *
 * Addresses are IPv4 or IPv6 text. Pacing is by the monotonic clock, so a slow machine sends
 * fewer packets than asked, and the report says how many really went out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH	  256
#define QBUF	  96
#define MAX_DSTS  32
#define MAX_RATE  2000000
#define MAX_SECS  3600
#define DNS_PORT  53
#define SLICE_NS  1000000L
#define DRAIN_SEC 3 /* late answers still count as received */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, uint16_t port, struct target *t)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->ss;

	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		t->len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		t->len = sizeof(*a6);
		return 0;
	}
	fprintf(stderr, "spind_gen: not an IP address: '%s'\n", s);
	return -EINVAL;
}

static void set_port(struct target *t, uint16_t port)
{
	if (t->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&t->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&t->ss)->sin6_port = htons(port);
}

static long parse_num(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "spind_gen: %s: %ld to %ld, got '%s'\n", what, lo, hi, s);
		exit(2);
	}
	return v;
}

/* A DNS query for n<i>.bench.example AAAA; returns its length. */
static size_t build_query(uint8_t *q, unsigned long i, uint16_t id)
{
	char label[24];
	size_t o = 12;
	int n = snprintf(label, sizeof(label), "n%lu", i);

	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01; /* RD */
	q[5] = 1;    /* QDCOUNT */
	q[o++] = (uint8_t)n;
	memcpy(q + o, label, (size_t)n);
	o += (size_t)n;
	memcpy(q + o,
	       "\x05"
	       "bench"
	       "\x07"
	       "example"
	       "\x00",
	       15);
	o += 15;
	q[o++] = 0;
	q[o++] = 28; /* AAAA */
	q[o++] = 0;
	q[o++] = 1; /* IN */
	return o;
}

static unsigned long drain(int fd)
{
	static uint8_t buf[BATCH][512];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long got = 0;
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	while ((n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL)) > 0)
		got += (unsigned long)n;
	return got;
}

/* Sends up to 'want' datagrams built by 'build' in batches; returns how many went out. */
typedef size_t (*build_fn)(uint8_t *buf, unsigned long k, struct target *dst, void *ctx);

static unsigned long send_some(int fd, unsigned long k0, unsigned long want, build_fn build,
			       void *ctx)
{
	static uint8_t bufs[BATCH][QBUF];
	static struct target dsts[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long sent = 0;

	while (sent < want) {
		unsigned int n = want - sent < BATCH ? (unsigned int)(want - sent) : BATCH;
		int r;

		for (unsigned int i = 0; i < n; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = build(bufs[i], k0 + sent + i, &dsts[i], ctx);
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &dsts[i].ss,
							       .msg_namelen = dsts[i].len,
							       .msg_iov = &iov[i],
							       .msg_iovlen = 1}};
		}
		r = sendmmsg(fd, msgs, n, 0);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EPERM &&
			    errno != ECONNREFUSED)
				perror("spind_gen: sendmmsg");
			break;
		}
		sent += (unsigned long)r;
	}
	return sent;
}

/* Paces send_some() at rate per second for secs; 'idle' runs between slices. */
static unsigned long paced(int fd, long rate, long secs, build_fn build, void *ctx,
			   void (*idle)(int fd, void *ctx))
{
	double start = now_s(), end = start + (double)secs;
	unsigned long sent = 0;
	struct timespec slice = {0, SLICE_NS / 4};

	for (;;) {
		double t = now_s();
		unsigned long due;

		if (t >= end)
			break;
		due = (unsigned long)((t - start) * (double)rate);
		if (due > sent)
			sent += send_some(fd, sent, due - sent, build, ctx);
		if (idle)
			idle(fd, ctx);
		nanosleep(&slice, NULL);
	}
	return sent;
}

struct dns_ctx {
	struct target server;
	unsigned long first, count;
	unsigned long answered;
};

static size_t build_dns(uint8_t *buf, unsigned long k, struct target *dst, void *ctx)
{
	struct dns_ctx *c = ctx;

	*dst = c->server;
	return build_query(buf, c->first + k % c->count, (uint16_t)k);
}

static void dns_idle(int fd, void *ctx)
{
	((struct dns_ctx *)ctx)->answered += drain(fd);
}

static int open_udp(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 8 << 20;

	if (fd < 0) {
		perror("spind_gen: socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	return fd;
}

static int run_dns(int argc, char **argv)
{
	struct dns_ctx c = {0};
	long rate, secs;
	double t0, t1;
	unsigned long sent;
	int fd;

	if (argc != 7 || parse_addr(argv[2], DNS_PORT, &c.server))
		return 2;
	rate = parse_num(argv[3], "RATE", 1, MAX_RATE);
	secs = parse_num(argv[4], "SECONDS", 1, MAX_SECS);
	c.first = (unsigned long)parse_num(argv[5], "FIRST", 0, 100000000);
	c.count = (unsigned long)parse_num(argv[6], "COUNT", 1, 100000000);
	fd = open_udp(c.server.ss.ss_family);
	t0 = now_s();
	sent = paced(fd, rate, secs, build_dns, &c, dns_idle);
	t1 = now_s();
	while (now_s() < t1 + DRAIN_SEC) {
		struct timespec ms = {0, SLICE_NS};

		c.answered += drain(fd);
		nanosleep(&ms, NULL);
	}
	printf("sent %lu answered %lu seconds %.3f\n", sent, c.answered, t1 - t0);
	close(fd);
	return 0;
}

struct flow_ctx {
	struct target dst[MAX_DSTS];
	int ndst;
	long port0;
	unsigned long cycle;
};

static size_t build_flow(uint8_t *buf, unsigned long k, struct target *dst, void *ctx)
{
	struct flow_ctx *c = ctx;
	unsigned long ports = 65536ul - (unsigned long)c->port0;

	if (c->cycle)
		k %= c->cycle;
	*dst = c->dst[(k / ports) % (unsigned long)c->ndst];
	set_port(dst, (uint16_t)(c->port0 + (long)(k % ports)));
	memset(buf, 'f', 32);
	return 32;
}

static int run_flows(int argc, char **argv)
{
	struct flow_ctx c = {0};
	char *list, *tok, *save = NULL;
	long rate, secs;
	double t0;
	unsigned long sent;
	int fd;

	if (argc != 6 && argc != 7)
		return 2;
	list = strdup(argv[2]);
	for (tok = strtok_r(list, ",", &save); tok && c.ndst < MAX_DSTS;
	     tok = strtok_r(NULL, ",", &save))
		if (parse_addr(tok, 0, &c.dst[c.ndst++]))
			return 2;
	free(list);
	for (int i = 1; i < c.ndst; i++)
		if (c.dst[i].ss.ss_family != c.dst[0].ss.ss_family) {
			fprintf(stderr, "spind_gen: flows: one address family for all DST\n");
			return 2;
		}
	c.port0 = parse_num(argv[3], "PORT0", 1, 65535);
	rate = parse_num(argv[4], "RATE", 1, MAX_RATE);
	secs = parse_num(argv[5], "SECONDS", 1, MAX_SECS);
	if (argc == 7)
		c.cycle = (unsigned long)parse_num(argv[6], "CYCLE", 1, 100000000);
	fd = open_udp(c.dst[0].ss.ss_family);
	t0 = now_s();
	sent = paced(fd, rate, secs, build_flow, &c, NULL);
	printf("sent %lu seconds %.3f\n", sent, now_s() - t0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc > 1 && strcmp(argv[1], "dns") == 0)
		rc = run_dns(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "flows") == 0)
		rc = run_flows(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: spind_gen dns SERVER RATE SECONDS FIRST COUNT\n"
				"       spind_gen flows DST[,DST...] PORT0 RATE SECONDS [CYCLE]\n");
	return rc;
}
