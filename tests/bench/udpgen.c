// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Small-packet generator for tests/bench/run: minimum-size UDP frames over 256 flows (source
 * ports 10000-10255), sent with AF_PACKET and sendmmsg, bypassing the qdisc. Unlike trafgen,
 * it keeps going when the device pushes back (a veth with XDP returns EAGAIN when its ring is
 * full): a refused frame is simply not counted as sent.
 *
 *   udpgen IFACE DST_MAC SRC_IP DST_IP SECONDS [PPS]
 *
 * Prints the frames sent. PPS paces the sender (0 or absent: as fast as possible).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "nodes.h"

#define N_FLOWS	   256
#define BASE_PORT  10000
#define DST_PORT   9
#define BATCH	   64
#define FRAME_MAX  64
#define V4_PAYLOAD 18 /* 14 + 20 + 8 + 18 = 60 bytes, the Ethernet minimum */

static uint8_t frames[N_FLOWS][FRAME_MAX];
static size_t frame_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* One frame per flow: Ethernet, IPv4 or IPv6, UDP with a valid checksum. */
static void build(const uint8_t *dmac, const uint8_t *smac, int family, const void *saddr,
		  const void *daddr)
{
	size_t alen = family == 4 ? 4 : 16, l3 = ETH_HLEN, l4, payload;
	int f;

	l4 = l3 + (family == 4 ? 20 : 40);
	payload = family == 4 ? V4_PAYLOAD : 0;
	frame_len = l4 + 8 + payload;
	for (f = 0; f < N_FLOWS; f++) {
		uint8_t *p = frames[f];
		uint32_t sum;

		memset(p, 0, FRAME_MAX);
		memcpy(p, dmac, ETH_ALEN);
		memcpy(p + ETH_ALEN, smac, ETH_ALEN);
		put16(p + 12, family == 4 ? ETH_P_IP : ETH_P_IPV6);
		if (family == 4) {
			p[l3] = 0x45;
			put16(p + l3 + 2, frame_len - l3);
			p[l3 + 8] = 64;
			p[l3 + 9] = IPPROTO_UDP;
			memcpy(p + l3 + 12, saddr, 4);
			memcpy(p + l3 + 16, daddr, 4);
			put16(p + l3 + 10, csum_fold(csum_add(0, p + l3, 20)));
		} else {
			p[l3] = 0x60;
			put16(p + l3 + 4, 8 + payload);
			p[l3 + 6] = IPPROTO_UDP;
			p[l3 + 7] = 64;
			memcpy(p + l3 + 8, saddr, 16);
			memcpy(p + l3 + 24, daddr, 16);
		}
		put16(p + l4, BASE_PORT + f);
		put16(p + l4 + 2, DST_PORT);
		put16(p + l4 + 4, 8 + payload);
		/* pseudo header: addresses, protocol, UDP length */
		sum = csum_add(0, saddr, alen);
		sum = csum_add(sum, daddr, alen);
		sum += IPPROTO_UDP + 8 + payload;
		sum = csum_add(sum, p + l4, 8 + payload);
		put16(p + l4 + 6, csum_fold(sum) ? csum_fold(sum) : 0xffff);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_socket(const char *ifname, uint8_t *smac)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = 0};
	struct ifreq ifr = {0};
	int one = 1, fd;

	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, receive nothing */
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(smac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	/* straight to the driver, as trafgen does: the generator must not be the bottleneck */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -errno;
}

int main(int argc, char **argv)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t dmac[ETH_ALEN], smac[ETH_ALEN], saddr[16], daddr[16];
	double secs, pps = 0, t0, deadline;
	unsigned long long sent = 0;
	int fd, family, next = 0, i;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: udpgen IFACE DST_MAC SRC_IP DST_IP SECONDS [PPS]\n");
		return 2;
	}
	family = strchr(argv[3], ':') ? 6 : 4;
	if (nodes_mac_parse(argv[2], dmac) ||
	    inet_pton(family == 4 ? AF_INET : AF_INET6, argv[3], saddr) != 1 ||
	    inet_pton(family == 4 ? AF_INET : AF_INET6, argv[4], daddr) != 1) {
		fprintf(stderr, "udpgen: bad MAC or addresses (both of one family)\n");
		return 2;
	}
	secs = atof(argv[5]);
	if (argc == 7)
		pps = atof(argv[6]);
	fd = open_socket(argv[1], smac);
	if (fd < 0) {
		fprintf(stderr, "udpgen: %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	build(dmac, smac, family, saddr, daddr);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_len = frame_len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	deadline = t0 + secs;
	while (!stop) {
		int batch = pps > 0 ? 1 : BATCH, n;
		double t = now_s();

		if (t >= deadline)
			break;
		if (pps > 0 && sent > (t - t0) * pps)
			continue; /* paced: spin until the next frame is due */
		for (i = 0; i < batch; i++)
			iov[i].iov_base = frames[(next + i) % N_FLOWS];
		n = sendmmsg(fd, msgs, batch, 0);
		if (n > 0) {
			sent += n;
			next = (next + n) % N_FLOWS;
		} else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
			fprintf(stderr, "udpgen: sendmmsg: %s\n", strerror(errno));
			break;
		}
	}
	printf("%llu\n", sent);
	close(fd);
	return 0;
}
