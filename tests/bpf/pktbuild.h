/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small packet builder for the data-path tests: Ethernet, 802.1Q / QinQ tags, IPv4 (options,
 * fragments), IPv6 (hop-by-hop, routing, destination options, fragment headers), TCP (options),
 * UDP, ICMP, ICMPv6. Checksums are left zero: the programs under test never read them.
 * Written independently of include/spin_parse.h, so that the tests check the parser against
 * packets laid out by hand, not against itself.
 */
#ifndef SPIN_PKTBUILD_H
#define SPIN_PKTBUILD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PB_MAX 3000

#define PB_HOPOPTS  0
#define PB_ROUTING  43
#define PB_FRAGMENT 44
#define PB_DSTOPTS  60

struct pb_spec {
	int family; /* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;	       /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, other: raw payload */
	uint16_t sport, dport; /* host order */
	uint8_t tcp_flags;     /* TCP: default ACK if 0 */
	uint8_t tcp_opt_len;   /* TCP option bytes, multiple of 4 */
	uint8_t icmp_type, icmp_code;
	uint8_t n_vlan;	      /* 0..3 */
	uint16_t outer_tpid;  /* first tag's TPID: 0x8100 (default) or 0x88a8 */
	uint16_t payload_len; /* L4 payload bytes */
	const void *payload;  /* NULL: a byte pattern */
	uint16_t ip_id;
	uint16_t frag;	/* IPv4 frag_off field (host order): 0x2000 MF | offset/8 */
	uint8_t ext[8]; /* IPv6 extension headers, in order */
	uint8_t n_ext;
	uint32_t frag6_id;
	uint16_t frag6_off; /* IPv6 fragment offset, 8-byte units */
	uint8_t frag6_mf;
	uint8_t ihl;	     /* non-zero: written instead of the right IHL */
	uint8_t ip4_opt_len; /* IPv4 option bytes, multiple of 4 */
	uint8_t doff;	     /* non-zero: written instead of the right TCP data offset */
	uint16_t ethertype;  /* non-zero: replaces the IP ethertype (ARP...) */
	uint16_t trailer;    /* bytes after the IP packet (Ethernet padding) */
	uint16_t truncate;   /* non-zero: the frame is cut to this length */
	uint8_t version;     /* non-zero: written instead of the IP version */
};

static inline void pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, v >> 16);
	pb_put16(p + 2, v & 0xffff);
}

static inline int pb_is_later_frag(const struct pb_spec *s)
{
	int i;

	if (s->family == 4)
		return (s->frag & 0x1fff) != 0;
	for (i = 0; i < s->n_ext; i++)
		if (s->ext[i] == PB_FRAGMENT && s->frag6_off)
			return 1;
	return 0;
}

/* Writes the L4 header and payload at p; returns the bytes written. */
static inline size_t pb_l4(const struct pb_spec *s, uint8_t *p)
{
	size_t hl = 0, i;

	if (pb_is_later_frag(s)) {
		hl = 0;
	} else if (s->proto == 6) {
		hl = 20 + s->tcp_opt_len;
		memset(p, 0, hl);
		pb_put16(p, s->sport);
		pb_put16(p + 2, s->dport);
		pb_put32(p + 4, 1000);
		p[12] = (s->doff ? s->doff : hl / 4) << 4;
		p[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		pb_put16(p + 14, 65535);
		for (i = 20; i < hl; i++)
			p[i] = 1; /* NOP options */
	} else if (s->proto == 17) {
		hl = 8;
		pb_put16(p, s->sport);
		pb_put16(p + 2, s->dport);
		pb_put16(p + 4, 8 + s->payload_len);
		pb_put16(p + 6, 0);
	} else if (s->proto == 1 || s->proto == 58) {
		hl = 8;
		memset(p, 0, hl);
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		pb_put16(p + 4, 0x1234); /* echo identifier */
		pb_put16(p + 6, 1);
	}
	for (i = 0; i < s->payload_len; i++)
		p[hl + i] = s->payload ? ((const uint8_t *)s->payload)[i] : (uint8_t)(i * 7 + 3);
	return hl + s->payload_len;
}

static inline size_t pb_ip6_ext(const struct pb_spec *s, uint8_t *p, uint8_t *first_next)
{
	size_t off = 0;
	int i;

	*first_next = s->n_ext ? s->ext[0] : s->proto;
	for (i = 0; i < s->n_ext; i++) {
		uint8_t next = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;

		if (s->ext[i] == PB_FRAGMENT) {
			p[off] = next;
			p[off + 1] = 0;
			pb_put16(p + off + 2, (s->frag6_off << 3) | (s->frag6_mf ? 1 : 0));
			pb_put32(p + off + 4, s->frag6_id);
			off += 8;
		} else {
			/* 16 bytes (hdrlen 1) of PadN, to exercise the length arithmetic */
			memset(p + off, 0, 16);
			p[off] = next;
			p[off + 1] = 1;
			p[off + 2] = 1;	 /* PadN */
			p[off + 3] = 12; /* its length */
			off += 16;
		}
	}
	return off;
}

/* Builds the frame into buf (PB_MAX bytes); returns its length. */
static inline size_t pb_build(const struct pb_spec *s, uint8_t *buf)
{
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 1}, smac[6] = {0x02, 0, 0, 0, 0, 2};
	size_t off = 12, l3, len;
	uint16_t ethertype;
	int i;

	memset(buf, 0, PB_MAX);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	ethertype = s->ethertype ? s->ethertype : s->family == 4 ? 0x0800 : 0x86dd;
	for (i = 0; i < s->n_vlan; i++) {
		pb_put16(buf + off, i == 0 && s->outer_tpid ? s->outer_tpid : 0x8100);
		pb_put16(buf + off + 2, 100 + i);
		off += 4;
	}
	pb_put16(buf + off, ethertype);
	l3 = off + 2;
	if (s->family == 4) {
		size_t hl = 20 + s->ip4_opt_len;
		uint8_t *ip = buf + l3;

		ip[0] = ((s->version ? s->version : 4) << 4) | (s->ihl ? s->ihl : hl / 4);
		pb_put16(ip + 4, s->ip_id);
		pb_put16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		memset(ip + 20, 1, s->ip4_opt_len); /* NOP options */
		len = hl + pb_l4(s, ip + hl);
		pb_put16(ip + 2, len);
	} else {
		uint8_t *ip = buf + l3;
		size_t ext;

		ip[0] = (s->version ? s->version : 6) << 4;
		ip[7] = 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
		ext = pb_ip6_ext(s, ip + 40, &ip[6]);
		len = 40 + ext + pb_l4(s, ip + 40 + ext);
		pb_put16(ip + 4, len - 40);
	}
	len += l3 + s->trailer;
	if (s->truncate && s->truncate < len)
		len = s->truncate;
	return len;
}

#endif /* SPIN_PKTBUILD_H */
