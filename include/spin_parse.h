/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one packet parser, shared by the BPF programs (clang -target bpf) and user space (DNS
 * events, passive capture). It works on (data, data_end) with a bounds check before every
 * header read, the pattern the verifier understands, and every loop has a compile-time bound.
 * Only UAPI headers: the packet path must not depend on kernel BTF.
 */
#ifndef SPIN_PARSE_H
#define SPIN_PARSE_H

#ifndef __bpf__
/*
 * User space: glibc's <netinet/in.h> first, so that the UAPI headers below see it and do not
 * redefine struct in6_addr (linux/libc-compat.h only handles this order).
 */
#include <netinet/in.h>
#else
#include <linux/in.h>
#endif
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>

#include "spin_common.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Loops have compile-time bounds; clang unrolls them for the verifier, gcc decides itself. */
#ifdef __clang__
#define SPIN_UNROLL _Pragma("unroll")
#else
#define SPIN_UNROLL
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define spin_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define spin_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define spin_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#else
#define spin_ntohs(x) ((__u16)(x))
#define spin_htons(x) ((__be16)(x))
#define spin_ntohl(x) ((__u32)(x))
#endif

enum spin_parse_rc {
	SPIN_PARSE_OK = 0,
	SPIN_PARSE_NOT_IP = 1, /* ARP, LLDP...: not an error */
	SPIN_PARSE_ERR = -1,   /* truncated or malformed headers */
};

enum spin_frag_kind {
	SPIN_FRAG_NONE = 0,
	SPIN_FRAG_FIRST = 1, /* offset 0, more fragments follow: carries the L4 header */
	SPIN_FRAG_LATER = 2, /* offset > 0: no L4 header */
};

#define SPIN_MAX_VLANS	 2 /* 802.1Q, or 802.1ad + 802.1Q (QinQ) */
#define SPIN_MAX_EXTHDRS 6 /* IPv6 extension headers followed before giving up */

struct spin_pkt {
	struct spin_addr saddr, daddr; /* IPv4 stored IPv4-mapped ::ffff:a.b.c.d */
	__be16 sport, dport;	       /* 0 for ICMP and unknown protocols */
	__u8 family;		       /* 4 or 6 */
	__u8 proto;		       /* final L4 protocol after IPv6 extension headers */
	__u8 icmp_type, icmp_code;     /* as on the wire (no folding) */
	__u8 tcp_flags;
	__u8 frag; /* enum spin_frag_kind */
	__u8 n_vlan;
	__u8 pad;
	__u16 vlan_id[SPIN_MAX_VLANS];
	__u16 l3_off, l4_off; /* offsets from data; l4_off is 0 if there is no L4 header */
	__u16 l4_hdr_len;     /* TCP incl. options, UDP 8, ICMP 8, 0 if no L4 header */
	__u16 pad2;
	__u32 ip_len; /* IP total length (v6: 40 + payload length); 0 if the header says 0 */
	__u32 frag_id;
};

/* VLAN tag as it follows the MAC addresses (not in the UAPI headers). */
struct spin_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The generic IPv6 extension header start (hop-by-hop, routing, destination options, AH). */
struct spin_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct spin_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3, bit 0: more fragments */
	__be32 id;
};

/*
 * ICMPv4's first 8 bytes. <linux/icmp.h> pulls <linux/if.h>, which collides with glibc's
 * <net/if.h> in user space and needs libc headers in BPF, so the two bytes we read are
 * described here.
 */
struct spin_icmp_hdr {
	__u8 type;
	__u8 code;
	__be16 csum;
	__be32 rest;
};

#define SPIN_ICMP_ECHO_REPLY	0
#define SPIN_ICMP_ECHO		8
#define SPIN_ICMP6_ECHO_REQUEST 128
#define SPIN_ICMP6_ECHO_REPLY	129
#define SPIN_IPPROTO_ICMPV6	58
#define SPIN_IPPROTO_HOPOPTS	0
#define SPIN_IPPROTO_ROUTING	43
#define SPIN_IPPROTO_FRAGMENT	44
#define SPIN_IPPROTO_AH		51
#define SPIN_IPPROTO_DSTOPTS	60
#define SPIN_ETH_P_8021Q	0x8100
#define SPIN_ETH_P_8021AD	0x88A8
#define SPIN_IPV4_MF		0x2000
#define SPIN_IPV4_OFFSET_MASK	0x1fff
#define SPIN_IPV6_FRAG_OFF_MASK 0xfff8
#define SPIN_IPV6_FRAG_MF	0x0001

static __always_inline void spin_addr_from_v4(struct spin_addr *a, __be32 v4)
{
	__builtin_memset(a, 0, 10);
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	__builtin_memcpy(&a->a[12], &v4, 4);
}

static __always_inline int spin_addr_is_v4(const struct spin_addr *a)
{
	int i;

	SPIN_UNROLL
	for (i = 0; i < 10; i++)
		if (a->a[i])
			return 0;
	return a->a[10] == 0xff && a->a[11] == 0xff;
}

/*
 * Byte-wise (memcmp) order of two addresses: <0, 0, >0. Loaded as big-endian 32-bit words, so
 * the order is the same on every host; user space builds pair keys with it too.
 */
static __always_inline int spin_addr_cmp(const struct spin_addr *x, const struct spin_addr *y)
{
	int i;

	SPIN_UNROLL
	for (i = 0; i < 4; i++) {
		__u32 p, q;

		/* memcpy: user space may hand in unaligned addresses */
		__builtin_memcpy(&p, &x->a[i * 4], 4);
		__builtin_memcpy(&q, &y->a[i * 4], 4);
		p = spin_ntohl(p);
		q = spin_ntohl(q);
		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

static __always_inline int spin_parse_l4(const void *data, const void *data_end, const void *l4,
					 struct spin_pkt *pkt)
{
	if (pkt->frag == SPIN_FRAG_LATER)
		return SPIN_PARSE_OK; /* only the first fragment carries the L4 header */

	if (pkt->proto == IPPROTO_TCP) {
		const struct tcphdr *th = l4;
		__u16 len;

		if ((const void *)(th + 1) > data_end)
			return SPIN_PARSE_ERR;
		len = th->doff * 4;
		if (len < sizeof(*th) || l4 + len > data_end)
			return SPIN_PARSE_ERR;
		pkt->sport = th->source;
		pkt->dport = th->dest;
		pkt->tcp_flags = ((const __u8 *)th)[13];
		pkt->l4_hdr_len = len;
	} else if (pkt->proto == IPPROTO_UDP) {
		const struct udphdr *uh = l4;

		if ((const void *)(uh + 1) > data_end)
			return SPIN_PARSE_ERR;
		pkt->sport = uh->source;
		pkt->dport = uh->dest;
		pkt->l4_hdr_len = sizeof(*uh);
	} else if (pkt->proto == IPPROTO_ICMP || pkt->proto == SPIN_IPPROTO_ICMPV6) {
		const struct spin_icmp_hdr *ih = l4;

		if ((const void *)(ih + 1) > data_end)
			return SPIN_PARSE_ERR;
		pkt->icmp_type = ih->type;
		pkt->icmp_code = ih->code;
		pkt->l4_hdr_len = sizeof(*ih);
	} else {
		return SPIN_PARSE_OK; /* other protocols: addresses only */
	}
	pkt->l4_off = l4 - data;
	return SPIN_PARSE_OK;
}

static __always_inline int spin_parse_ip4(const void *data, const void *data_end, const void *l3,
					  struct spin_pkt *pkt)
{
	const struct iphdr *iph = l3;
	__u16 hlen, frag_off;

	if ((const void *)(iph + 1) > data_end)
		return SPIN_PARSE_ERR;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph) || l3 + hlen > data_end)
		return SPIN_PARSE_ERR;
	pkt->ip_len = spin_ntohs(iph->tot_len);
	/* 0 is legal for IPv4 BIG TCP super-packets; the caller then uses the skb length */
	if (pkt->ip_len && pkt->ip_len < hlen)
		return SPIN_PARSE_ERR;
	pkt->family = 4;
	pkt->proto = iph->protocol;
	spin_addr_from_v4(&pkt->saddr, iph->saddr);
	spin_addr_from_v4(&pkt->daddr, iph->daddr);
	frag_off = spin_ntohs(iph->frag_off);
	if (frag_off & SPIN_IPV4_OFFSET_MASK)
		pkt->frag = SPIN_FRAG_LATER;
	else if (frag_off & SPIN_IPV4_MF)
		pkt->frag = SPIN_FRAG_FIRST;
	pkt->frag_id = spin_ntohs(iph->id);
	return spin_parse_l4(data, data_end, l3 + hlen, pkt);
}

static __always_inline int spin_parse_ip6(const void *data, const void *data_end, const void *l3,
					  struct spin_pkt *pkt)
{
	const struct ipv6hdr *ip6h = l3;
	const void *cur = ip6h + 1;
	__u8 nexthdr;
	int i;

	if (cur > data_end)
		return SPIN_PARSE_ERR;
	if (ip6h->version != 6)
		return SPIN_PARSE_ERR;
	pkt->family = 6;
	pkt->ip_len = spin_ntohs(ip6h->payload_len);
	/* payload length 0: a jumbogram or a BIG TCP super-packet; the caller uses skb->len */
	if (pkt->ip_len)
		pkt->ip_len += sizeof(*ip6h);
	__builtin_memcpy(&pkt->saddr, &ip6h->saddr, sizeof(pkt->saddr));
	__builtin_memcpy(&pkt->daddr, &ip6h->daddr, sizeof(pkt->daddr));
	nexthdr = ip6h->nexthdr;

	SPIN_UNROLL
	for (i = 0; i < SPIN_MAX_EXTHDRS; i++) {
		if (nexthdr == SPIN_IPPROTO_FRAGMENT) {
			const struct spin_frag_hdr *fh = cur;
			__u16 off;

			if ((const void *)(fh + 1) > data_end)
				return SPIN_PARSE_ERR;
			off = spin_ntohs(fh->frag_off);
			pkt->frag_id = spin_ntohl(fh->id);
			nexthdr = fh->nexthdr;
			cur = fh + 1;
			if (off & SPIN_IPV6_FRAG_OFF_MASK) {
				/* later fragment: what follows is payload, not headers */
				pkt->frag = SPIN_FRAG_LATER;
				break;
			}
			if (off & SPIN_IPV6_FRAG_MF)
				pkt->frag = SPIN_FRAG_FIRST;
		} else if (nexthdr == SPIN_IPPROTO_HOPOPTS || nexthdr == SPIN_IPPROTO_ROUTING ||
			   nexthdr == SPIN_IPPROTO_DSTOPTS || nexthdr == SPIN_IPPROTO_AH) {
			const struct spin_ext_hdr *eh = cur;
			__u16 len;

			if ((const void *)(eh + 1) > data_end)
				return SPIN_PARSE_ERR;
			/* AH counts 4-byte units minus 2, the others 8-byte units minus 1 */
			if (nexthdr == SPIN_IPPROTO_AH)
				len = (eh->hdrlen + 2) * 4;
			else
				len = (eh->hdrlen + 1) * 8;
			if (cur + len > data_end)
				return SPIN_PARSE_ERR;
			nexthdr = eh->nexthdr;
			cur += len;
		} else {
			break;
		}
	}
	pkt->proto = nexthdr;
	if (pkt->frag != SPIN_FRAG_LATER &&
	    (nexthdr == SPIN_IPPROTO_HOPOPTS || nexthdr == SPIN_IPPROTO_ROUTING ||
	     nexthdr == SPIN_IPPROTO_DSTOPTS || nexthdr == SPIN_IPPROTO_AH ||
	     nexthdr == SPIN_IPPROTO_FRAGMENT))
		return SPIN_PARSE_ERR; /* more extension headers than we follow */
	return spin_parse_l4(data, data_end, cur, pkt);
}

/*
 * The L3 step, on a zeroed pkt. Takes a pointer, not an offset: the verifier loses the
 * packet range of data + (16-bit offset) (its bound, 0xffff, is not below MAX_PACKET_OFF).
 */
static __always_inline int spin_parse_l3(const void *data, const void *data_end, const void *l3,
					 struct spin_pkt *pkt)
{
	if (l3 + 1 > data_end)
		return SPIN_PARSE_ERR;
	pkt->l3_off = l3 - data;
	if ((*(const __u8 *)l3 >> 4) == 4)
		return spin_parse_ip4(data, data_end, l3, pkt);
	if ((*(const __u8 *)l3 >> 4) == 6)
		return spin_parse_ip6(data, data_end, l3, pkt);
	return SPIN_PARSE_ERR;
}

/* Largest L3 offset spin_parse_ip accepts (cooked captures use 16; it bounds the verifier). */
#define SPIN_MAX_L3_OFF 256

/*
 * data + off points at an IPv4 or IPv6 header (raw IP or Linux cooked captures). pkt is filled
 * from scratch. Returns SPIN_PARSE_OK or SPIN_PARSE_ERR.
 */
static __always_inline int spin_parse_ip(const void *data, const void *data_end, __u16 off,
					 struct spin_pkt *pkt)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	if (off > SPIN_MAX_L3_OFF)
		return SPIN_PARSE_ERR;
	return spin_parse_l3(data, data_end, data + off, pkt);
}

/*
 * data points at an Ethernet header, with up to two VLAN tags (802.1Q, 802.1ad QinQ).
 * Returns SPIN_PARSE_OK, SPIN_PARSE_NOT_IP or SPIN_PARSE_ERR.
 */
static __always_inline int spin_parse_eth(const void *data, const void *data_end,
					  struct spin_pkt *pkt)
{
	const struct ethhdr *eth = data;
	const void *cur = eth + 1;
	__u16 vlan_id[SPIN_MAX_VLANS] = {};
	__u16 proto;
	__u8 n_vlan = 0;
	int i, rc;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if (cur > data_end)
		return SPIN_PARSE_ERR;
	proto = spin_ntohs(eth->h_proto);

	SPIN_UNROLL
	for (i = 0; i < SPIN_MAX_VLANS; i++) {
		const struct spin_vlan_hdr *vh = cur;

		if (proto != SPIN_ETH_P_8021Q && proto != SPIN_ETH_P_8021AD)
			break;
		if ((const void *)(vh + 1) > data_end)
			return SPIN_PARSE_ERR;
		vlan_id[i] = spin_ntohs(vh->tci) & 0x0fff;
		proto = spin_ntohs(vh->proto);
		cur = vh + 1;
		n_vlan++;
	}
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return SPIN_PARSE_NOT_IP; /* includes a third VLAN tag: not followed */

	rc = spin_parse_l3(data, data_end, cur, pkt);
	pkt->n_vlan = n_vlan;
	pkt->vlan_id[0] = vlan_id[0];
	pkt->vlan_id[1] = vlan_id[1];
	return rc;
}

/*
 * The canonical flow key of a parsed packet: endpoint A is the lower (address, port), so both
 * directions share one key. An ICMP echo reply is folded onto the request type. Returns the
 * packet's direction (SPIN_DIR_AB if it travels from A to B).
 */
static __always_inline int spin_flow_key_from_pkt(const struct spin_pkt *pkt,
						  struct spin_flow_key *key)
{
	/*
	 * Ports, protocol and ICMP fields assembled in registers and stored as two words: the
	 * flow cache reads the key back 32 bits at a time, and a load of several narrower stores
	 * just made stalls the CPU.
	 */
	union {
		struct {
			__be16 port_a, port_b;
			__u8 proto, family, icmp_type, icmp_code;
		} f;
		__u32 w[2];
	} tail;
	int cmp = spin_addr_cmp(&pkt->saddr, &pkt->daddr);
	int dir;

	if (cmp == 0)
		cmp = spin_ntohs(pkt->sport) <= spin_ntohs(pkt->dport) ? -1 : 1;
	dir = cmp < 0 ? SPIN_DIR_AB : SPIN_DIR_BA;
	if (dir == SPIN_DIR_AB) {
		__builtin_memcpy(&key->addr_a, &pkt->saddr, sizeof(key->addr_a));
		__builtin_memcpy(&key->addr_b, &pkt->daddr, sizeof(key->addr_b));
		tail.f.port_a = pkt->sport;
		tail.f.port_b = pkt->dport;
	} else {
		__builtin_memcpy(&key->addr_a, &pkt->daddr, sizeof(key->addr_a));
		__builtin_memcpy(&key->addr_b, &pkt->saddr, sizeof(key->addr_b));
		tail.f.port_a = pkt->dport;
		tail.f.port_b = pkt->sport;
	}
	tail.f.proto = pkt->proto;
	tail.f.family = pkt->family;
	tail.f.icmp_type = pkt->icmp_type;
	tail.f.icmp_code = pkt->icmp_code;
	if (pkt->proto == IPPROTO_ICMP && pkt->icmp_type == SPIN_ICMP_ECHO_REPLY)
		tail.f.icmp_type = SPIN_ICMP_ECHO;
	else if (pkt->proto == SPIN_IPPROTO_ICMPV6 && pkt->icmp_type == SPIN_ICMP6_ECHO_REPLY)
		tail.f.icmp_type = SPIN_ICMP6_ECHO_REQUEST;
	__builtin_memcpy((__u8 *)key + __builtin_offsetof(struct spin_flow_key, port_a), &tail,
			 sizeof(tail));
	return dir;
}

/* The full key of an IPv4 flow (IPv4-mapped addresses), as the policy maps
 * are keyed and as user space reports flows. */
static __always_inline void spin_flow_key_from4(const struct spin_flow_key4 *k4,
						struct spin_flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->addr_a.a[10] = 0xff;
	key->addr_a.a[11] = 0xff;
	key->addr_b.a[10] = 0xff;
	key->addr_b.a[11] = 0xff;
	__builtin_memcpy(&key->addr_a.a[12], &k4->addr_a, 4);
	__builtin_memcpy(&key->addr_b.a[12], &k4->addr_b, 4);
	key->port_a = k4->port_a;
	key->port_b = k4->port_b;
	key->proto = k4->proto;
	key->family = 4;
	key->icmp_type = k4->icmp_type;
	key->icmp_code = k4->icmp_code;
}

#endif /* SPIN_PARSE_H */
