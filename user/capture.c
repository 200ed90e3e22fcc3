// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <pcap/pcap.h>
#include <uthash.h>

#include "capture.h"
#include "copies.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "spin_parse.h"

/* Link types by number: older libpcap headers lack some of the names. */
#define LT_NULL	  0
#define LT_EN10MB 1
#define LT_RAW	  12
#define LT_RAW14  14 /* DLT_RAW on OpenBSD */
#define LT_LOOP	  108
#define LT_SLL	  113
#define LT_IPV4	  228
#define LT_IPV6	  229
#define LT_SLL2	  276

#define SLL_HDR_LEN	  16
#define SLL2_HDR_LEN	  20
#define LOOP_HDR_LEN	  4
#define SLL_OUTGOING	  4 /* PACKET_OUTGOING, the cooked headers' packet type */
#define ARPHRD_ETHER_	  1
#define ETH_P_ARP_	  0x0806
#define ARP_LEN		  28 /* Ethernet/IPv4 ARP */
#define ND_NA		  136
#define ND_NA_LEN	  24 /* ICMPv6 header, flags, target */
#define ND_OPT_TLLA	  2
#define ND_MAX_OPTS	  8
#define DNS_PORT	  53
#define DNS_HDR_LEN	  12
#define TCP_LEN_PREFIX	  2
#define TCP_SYN		  0x02
#define TCP_ACK		  0x10
#define FULL_PERCENT	  90 /* above this fill, flows quiet for one interval are removed */
#define US_PER_S	  1000000LL
#define DECODE_UNKNOWN_LT (-2) /* decode(): a link type not decoded */

struct cflow {
	struct spin_flow_key key;
	uint64_t bytes[2]; /* this interval, per enum spin_flow_dir */
	uint64_t packets[2];
	uint32_t first_seen, last_seen; /* capture seconds */
	uint8_t initiator, flags;
	bool dirty;
	bool mac_known[2];
	uint8_t mac[2][6]; /* the latest source MAC per direction: learning reports changes only */
	struct cflow *next_dirty;
	struct cflow *lru_prev, *lru_next; /* least recently seen first */
	UT_hash_handle hh;
};

struct cfrag {
	struct spin_frag_key key;
	struct spin_frag_val val;
	UT_hash_handle hh;
};

struct cmac {
	struct spin_addr ip;
	uint8_t mac[6];
	UT_hash_handle hh;
};

static struct {
	pcap_t *pc;
	char name[256];
	struct capture_ops ops;
	struct capture_opts opts;
	bool live;
	struct loop_timer *timer; /* file: next batch or paced wait; live: the 1 s tick */
	struct loop_watch *watch; /* live: libpcap's selectable fd */
	unsigned int ifindex;	  /* live: the interface's index when it was opened */
	bool lost;		  /* live: the handle failed; the tick reopens it */
	bool read_failed;	  /* live: it failed on a read error, not a lost interface */
	uint64_t packets_at_open; /* live: st.packets when it was reopened */

	/* The capture's clock. */
	time_t now;	     /* capture seconds */
	time_t interval_end; /* end of the open interval; 0 before the first packet */
	bool started;
	int64_t ts0_us;	  /* first packet's timestamp (paced replay) */
	int64_t mono0_us; /* CLOCK_MONOTONIC when it was replayed */
	struct pcap_pkthdr *pend_hdr;
	const u_char *pend_data; /* valid until the next pcap_next_ex */
	bool pending;

	struct cflow *flows;
	struct cflow *dirty;
	struct cflow *lru_head, *lru_tail;
	unsigned int n_flows;
	struct cfrag *frags;
	unsigned int n_frags;
	struct cmac *macs;
	struct copies *copies; /* cooked link types only: an "any" capture */
	unsigned int n_macs;

	struct capture_stats st;
} cap;

/* --- the clock and the intervals --- */

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

static int64_t tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * US_PER_S + tv->tv_usec;
}

/* The paced replay's clock: the first packet's time plus the wall time since it was read. */
static int64_t paced_us(void)
{
	return cap.ts0_us + (mono_us() - cap.mono0_us);
}

static void lru_unlink(struct cflow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		cap.lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		cap.lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct cflow *f)
{
	f->lru_prev = cap.lru_tail;
	f->lru_next = NULL;
	if (cap.lru_tail)
		cap.lru_tail->lru_next = f;
	else
		cap.lru_head = f;
	cap.lru_tail = f;
}

static void flow_free(struct cflow *f)
{
	HASH_DEL(cap.flows, f);
	lru_unlink(f);
	free(f);
	cap.n_flows--;
}

/*
 * Flows already reported and quiet for idle_s leave the table (and, above FULL_PERCENT,
 * every flow quiet for this interval): their counters were handed on, only the initiator is
 * forgotten. The LRU list makes this O(removed).
 */
static void expire(time_t now)
{
	unsigned int idle = cap.opts.idle_s;
	unsigned int full = (unsigned int)((uint64_t)cap.opts.max_flows * FULL_PERCENT / 100);

	while (cap.lru_head && !cap.lru_head->dirty) {
		struct cflow *f = cap.lru_head;
		bool idle_out = (time_t)f->last_seen + (time_t)idle <= now;
		bool room_out = cap.n_flows > full && (time_t)f->last_seen < now - 1;

		if (!idle_out && !room_out)
			break;
		flow_free(f);
		cap.st.removed++;
	}
}

static void flush(time_t end)
{
	struct cflow *f, *next;

	if (cap.ops.interval)
		cap.ops.interval(end, true, cap.ops.ctx);
	for (f = cap.dirty; f; f = next) {
		struct flow_delta d = {
			.key = &f->key,
			.initiator = f->initiator,
			.bytes = {f->bytes[0], f->bytes[1]},
			.packets = {f->packets[0], f->packets[1]},
			.first_seen = f->first_seen,
			.last_seen = f->last_seen,
		};

		next = f->next_dirty;
		if (cap.ops.delta)
			cap.ops.delta(&d, cap.ops.ctx);
		memset(f->bytes, 0, sizeof(f->bytes));
		memset(f->packets, 0, sizeof(f->packets));
		f->dirty = false;
		f->next_dirty = NULL;
	}
	cap.dirty = NULL;
	if (cap.ops.interval)
		cap.ops.interval(end, false, cap.ops.ctx);
	cap.st.intervals++;
}

/* The capture's time reached t: the open interval ends if t is past it. */
static void advance(time_t t)
{
	if (t > cap.now)
		cap.now = t;
	if (!cap.interval_end) {
		cap.interval_end = cap.now + 1;
		return;
	}
	if (cap.now >= cap.interval_end) {
		flush(cap.interval_end);
		expire(cap.now);
		cap.interval_end = cap.now + 1;
	}
}

/* --- devices' MACs --- */

static bool mac_usable(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0; /* not group, not unset */
}

/* Reports (ip, mac) if it is new or changed and ip is a LAN address. */
static void learn(const struct spin_addr *ip, const uint8_t *mac)
{
	struct cmac *m;

	if (!cap.ops.learn_mac || !mac_usable(mac))
		return;
	HASH_FIND(hh, cap.macs, ip, sizeof(*ip), m);
	if (m && !memcmp(m->mac, mac, 6))
		return;
	if (!cap.ops.is_lan(ip, cap.ops.ctx))
		return;
	if (!m) {
		if (cap.n_macs >= CAPTURE_MAC_CACHE) {
			struct cmac *oldest = cap.macs; /* uthash keeps insertion order */

			HASH_DEL(cap.macs, oldest);
			free(oldest);
			cap.n_macs--;
		}
		m = calloc(1, sizeof(*m));
		if (!m)
			return;
		m->ip = *ip;
		HASH_ADD(hh, cap.macs, ip, sizeof(m->ip), m);
		cap.n_macs++;
	}
	memcpy(m->mac, mac, 6);
	cap.st.macs_learned++;
	cap.ops.learn_mac(ip, mac, cap.ops.ctx);
}

/* ARP replies and announcements name their sender. */
static void handle_arp(const uint8_t *arp, const uint8_t *end)
{
	struct spin_addr ip;
	uint16_t op;
	__be32 spa, tpa;

	if (arp + ARP_LEN > end)
		return;
	/* Ethernet hardware, IPv4 protocol, 6- and 4-byte addresses */
	if (arp[0] != 0 || arp[1] != ARPHRD_ETHER_ || arp[2] != 0x08 || arp[3] != 0x00 ||
	    arp[4] != 6 || arp[5] != 4)
		return;
	op = (uint16_t)(arp[6] << 8 | arp[7]);
	memcpy(&spa, arp + 14, 4);
	memcpy(&tpa, arp + 24, 4);
	if (!spa || (op != 2 && !(op == 1 && spa == tpa)))
		return;
	cap.st.arp++;
	spin_addr_from_v4(&ip, spa);
	learn(&ip, arp + 8);
}

/* A neighbour advertisement's target link-layer address option names the target's MAC. */
static void handle_na(const uint8_t *data, const uint8_t *end, const struct spin_pkt *pkt)
{
	const uint8_t *icmp = data + pkt->l4_off, *opt = icmp + ND_NA_LEN;
	struct spin_addr target;

	if (pkt->ip_len && data + pkt->l3_off + pkt->ip_len < end)
		end = data + pkt->l3_off + pkt->ip_len;
	if (icmp + ND_NA_LEN > end)
		return;
	memcpy(&target, icmp + 8, sizeof(target));
	for (int i = 0; i < ND_MAX_OPTS && opt + 2 <= end; i++) {
		size_t len = (size_t)opt[1] * 8;

		if (!len || opt + len > end)
			return;
		if (opt[0] == ND_OPT_TLLA && len >= 8) {
			cap.st.ndp++;
			learn(&target, opt + 2);
			return;
		}
		opt += len;
	}
}

/* --- flows --- */

/* Later fragments carry no ports: they take those their first fragment recorded. */
static void frag_ports(struct spin_pkt *pkt)
{
	bool icmp = pkt->proto == IPPROTO_ICMP || pkt->proto == SPIN_IPPROTO_ICMPV6;
	struct spin_frag_key k = {};
	struct cfrag *fr;

	if (pkt->frag == SPIN_FRAG_NONE)
		return;
	cap.st.fragments++;
	k.saddr = pkt->saddr;
	k.daddr = pkt->daddr;
	k.id = pkt->frag_id;
	k.proto = pkt->proto;
	HASH_FIND(hh, cap.frags, &k, sizeof(k), fr);
	if (pkt->frag == SPIN_FRAG_FIRST) {
		if (!fr) {
			if (cap.n_frags >= CAPTURE_MAX_FRAGS) {
				struct cfrag *oldest = cap.frags;

				HASH_DEL(cap.frags, oldest);
				free(oldest);
				cap.n_frags--;
			}
			fr = calloc(1, sizeof(*fr));
			if (!fr)
				return;
			fr->key = k;
			HASH_ADD(hh, cap.frags, key, sizeof(fr->key), fr);
			cap.n_frags++;
		}
		fr->val.sport = icmp ? pkt->icmp_type : pkt->sport;
		fr->val.dport = icmp ? pkt->icmp_code : pkt->dport;
		return;
	}
	if (!fr) {
		cap.st.frag_unknown++;
		return; /* counted under ports 0, as the kernel does */
	}
	if (icmp) {
		pkt->icmp_type = (uint8_t)fr->val.sport;
		pkt->icmp_code = (uint8_t)fr->val.dport;
	} else {
		pkt->sport = fr->val.sport;
		pkt->dport = fr->val.dport;
	}
}

static struct cflow *flow_get(const struct spin_flow_key *key, int dir, uint32_t now)
{
	struct cflow *f;

	HASH_FIND(hh, cap.flows, key, sizeof(*key), f);
	if (f)
		return f;
	if (cap.n_flows >= cap.opts.max_flows)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *key;
	f->initiator = (uint8_t)dir;
	f->first_seen = now;
	f->last_seen = now;
	f->flags = SPIN_FLOW_F_CREATED;
	HASH_ADD(hh, cap.flows, key, sizeof(f->key), f);
	lru_append(f);
	cap.n_flows++;
	cap.st.flow_new++;
	return f;
}

static void account(struct spin_pkt *pkt, uint32_t wire_len, const uint8_t *src_mac)
{
	struct spin_flow_key key = {};
	uint32_t l3_len = wire_len - pkt->l3_off, now = (uint32_t)cap.now;
	uint64_t bytes;
	struct cflow *f;
	int dir;

	frag_ports(pkt);
	dir = spin_flow_key_from_pkt(pkt, &key);
	/* The IP length leaves out Ethernet padding; 0 (BIG TCP, jumbogram) or a lying header
	 * falls back to what the packet really was. */
	bytes = pkt->ip_len && pkt->ip_len <= l3_len ? pkt->ip_len : l3_len;
	f = flow_get(&key, dir, now);
	if (!f) {
		cap.st.map_full++;
		cap.st.overflow_bytes += bytes;
		cap.st.overflow_packets++;
		if (src_mac)
			learn(&pkt->saddr, src_mac);
		return;
	}
	cap.st.ip_packets++;
	cap.st.bytes += bytes;
	f->bytes[dir] += bytes;
	f->packets[dir]++;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
	    !(f->flags & SPIN_FLOW_F_SYN_SEEN)) {
		f->initiator = (uint8_t)dir;
		f->flags |= SPIN_FLOW_F_SYN_SEEN;
	}
	if (pkt->frag != SPIN_FRAG_NONE)
		f->flags |= SPIN_FLOW_F_FRAG;
	if (f->last_seen != now || f != cap.lru_tail) {
		if (now > f->last_seen)
			f->last_seen = now;
		lru_unlink(f);
		lru_append(f);
	}
	if (!f->dirty) {
		f->dirty = true;
		f->next_dirty = cap.dirty;
		cap.dirty = f;
	}
	if (src_mac && (!f->mac_known[dir] || memcmp(f->mac[dir], src_mac, 6))) {
		memcpy(f->mac[dir], src_mac, 6);
		f->mac_known[dir] = true;
		learn(&pkt->saddr, src_mac);
	}
}

/* UDP or TCP with port 53 on either side: the message goes to the DNS module. */
static void handle_dns(const uint8_t *data, uint32_t caplen, uint32_t wire_len,
		       const struct spin_pkt *pkt, const uint8_t *src_mac)
{
	size_t hdrs = (size_t)pkt->l4_off + pkt->l4_hdr_len, dns_off = hdrs;
	long payload;
	struct events_dns_pkt p = {.data = data, .len = caplen, .pkt = pkt, .src_mac = src_mac};
	struct events_ops eo = {.is_lan = cap.ops.is_lan, .learn_mac = NULL, .ctx = cap.ops.ctx};
	int rc = 0;

	if (!pkt->l4_off || (pkt->proto != IPPROTO_UDP && pkt->proto != IPPROTO_TCP))
		return;
	if (pkt->sport != spin_htons(DNS_PORT) && pkt->dport != spin_htons(DNS_PORT))
		return;
	payload = pkt->ip_len ? (long)pkt->ip_len - (long)(hdrs - pkt->l3_off)
			      : (long)wire_len - (long)hdrs;
	if (pkt->proto == IPPROTO_TCP) {
		/* handshakes and bare ACKs carry no message (the kernel sends no event) */
		if (payload < TCP_LEN_PREFIX + DNS_HDR_LEN)
			return;
		dns_off += TCP_LEN_PREFIX;
	}
	cap.st.dns_packets++;
	if (hdrs + (payload > 0 ? (size_t)payload : 0) > caplen)
		cap.st.dns_snap_cut++;
	/* MACs go through learn() (reports changes only), not through events' callback. */
	if (src_mac && pkt->dport == spin_htons(DNS_PORT))
		learn(&pkt->saddr, src_mac);
	p.dns_off = dns_off;
	if (events_dns_packet(&p, &eo, cap.now, &rc))
		cap.st.dns_malformed++;
	else if (rc)
		cap.st.dns_rejected++;
}

/* --- packets --- */

static bool linktype_known(int lt)
{
	switch (lt) {
	case LT_NULL:
	case LT_EN10MB:
	case LT_RAW:
	case LT_RAW14:
	case LT_LOOP:
	case LT_SLL:
	case LT_IPV4:
	case LT_IPV6:
	case LT_SLL2:
		return true;
	}
	return false;
}

static uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The EtherType after up to SPIN_MAX_VLANS tags, and where its payload starts. */
static uint16_t eth_inner(const uint8_t *data, const uint8_t *end, const uint8_t **payload)
{
	const uint8_t *cur = data + 12;
	uint16_t proto = be16_at(cur);

	cur += 2;
	for (int i = 0; i < SPIN_MAX_VLANS; i++) {
		if (proto != SPIN_ETH_P_8021Q && proto != SPIN_ETH_P_8021AD)
			break;
		if (cur + 4 > end)
			return 0;
		proto = be16_at(cur + 2);
		cur += 4;
	}
	*payload = cur;
	return proto;
}

/*
 * A cooked (SLL/SLL2) header: the protocol, and the sender's MAC if the header carries an
 * Ethernet address. Returns the L3 offset, or 0 if the frame is too short.
 */
static unsigned int cooked(const uint8_t *data, uint32_t caplen, bool v2, uint16_t *proto,
			   const uint8_t **mac)
{
	uint16_t hatype, halen;
	const uint8_t *addr;

	if (caplen < (v2 ? SLL2_HDR_LEN : SLL_HDR_LEN))
		return 0;
	if (v2) {
		*proto = be16_at(data);
		hatype = be16_at(data + 8);
		halen = data[11];
		addr = data + 12;
	} else {
		hatype = be16_at(data + 2);
		halen = be16_at(data + 4);
		addr = data + 6;
		*proto = be16_at(data + 14);
	}
	*mac = hatype == ARPHRD_ETHER_ && halen == 6 ? addr : NULL;
	return v2 ? SLL2_HDR_LEN : SLL_HDR_LEN;
}

/* Where the IP header usually starts: the copy below aligns it. */
static unsigned int l3_guess(int lt)
{
	switch (lt) {
	case LT_EN10MB:
		return ETH_HLEN; /* VLAN tags add 4 each: the alignment stays */
	case LT_SLL:
		return SLL_HDR_LEN;
	case LT_SLL2:
		return SLL2_HDR_LEN;
	case LT_NULL:
	case LT_LOOP:
		return LOOP_HDR_LEN;
	}
	return 0;
}

/*
 * The parser reads headers through struct pointers, which need their natural alignment
 * (strict-alignment CPUs, UBSan); libpcap hands out records at its buffer's start, which puts
 * an IP header after a 14-byte Ethernet header on a 2-byte boundary. Such packets are copied
 * so that the IP header lands on a 4-byte boundary.
 */
static const uint8_t *aligned(const uint8_t *data, uint32_t caplen, int lt)
{
	static uint8_t buf[CAPTURE_MAX_CAPLEN + 8] __attribute__((aligned(8)));
	unsigned int l3 = l3_guess(lt), pad = (4 - l3 % 4) % 4;

	if (!(((uintptr_t)data + l3) & 3))
		return data;
	memcpy(buf + pad, data, caplen);
	return buf + pad;
}

/*
 * The link layer and the parse, on the first len bytes of the packet. Returns a
 * spin_parse_rc, or DECODE_UNKNOWN_LT for a link type not decoded; *mac: the frame's source MAC, if any.
 */
static int decode(const uint8_t *data, uint32_t len, struct spin_pkt *pkt, const uint8_t **mac)
{
	const uint8_t *end = data + len, *l2p;
	int rc, lt = cap.st.linktype;
	unsigned int off;
	uint16_t proto = 0;

	*mac = NULL;
	switch (lt) {
	case LT_EN10MB:
		rc = spin_parse_eth(data, end, pkt);
		if (len >= ETH_HLEN)
			*mac = data + 6;
		if (rc == SPIN_PARSE_NOT_IP && eth_inner(data, end, &l2p) == ETH_P_ARP_)
			handle_arp(l2p, end);
		return rc;
	case LT_SLL:
	case LT_SLL2:
		off = cooked(data, len, lt == LT_SLL2, &proto, mac);
		if (!off)
			return SPIN_PARSE_ERR;
		if (proto == ETH_P_IP || proto == ETH_P_IPV6)
			return spin_parse_ip(data, end, (uint16_t)off, pkt);
		if (proto == ETH_P_ARP_)
			handle_arp(data + off, end);
		return SPIN_PARSE_NOT_IP;
	case LT_RAW:
	case LT_RAW14:
	case LT_IPV4:
	case LT_IPV6:
		return spin_parse_ip(data, end, 0, pkt);
	case LT_NULL:
	case LT_LOOP:
		return spin_parse_ip(data, end, LOOP_HDR_LEN, pkt);
	}
	return DECODE_UNKNOWN_LT;
}

static bool needs_payload(const struct spin_pkt *pkt)
{
	if (!pkt->l4_off)
		return false;
	if (pkt->proto == SPIN_IPPROTO_ICMPV6)
		return pkt->icmp_type == ND_NA;
	return (pkt->proto == IPPROTO_UDP || pkt->proto == IPPROTO_TCP) &&
	       (pkt->sport == spin_htons(DNS_PORT) || pkt->dport == spin_htons(DNS_PORT));
}

/* The interface an SLL2 record was captured on; -1 for SLL, which does not say. */
static int cooked_ifindex(const uint8_t *data, uint32_t len)
{
	if (cap.st.linktype != LT_SLL2 || len < SLL2_HDR_LEN)
		return -1;
	return (int)((uint32_t)be16_at(data + 4) << 16 | be16_at(data + 6));
}

/* The cooked header's packet type says PACKET_OUTGOING: the packet was leaving. */
static bool cooked_outgoing(const uint8_t *data, uint32_t len)
{
	if (cap.st.linktype == LT_SLL2)
		return len >= SLL2_HDR_LEN && data[10] == SLL_OUTGOING;
	return len >= SLL_HDR_LEN && be16_at(data) == SLL_OUTGOING;
}

static bool is_copy(const struct pcap_pkthdr *h, const uint8_t *data, uint32_t len,
		    const struct spin_pkt *pkt)
{
	uint32_t ip_len = pkt->ip_len ? pkt->ip_len : h->len - pkt->l3_off;

	if (!cap.copies ||
	    !copies_is_copy(cap.copies, data + pkt->l3_off, len - pkt->l3_off, ip_len,
			    cooked_ifindex(data, len), cooked_outgoing(data, len), tv_us(&h->ts)))
		return false;
	cap.st.copies++;
	return true;
}

static void handle_packet(const struct pcap_pkthdr *h, const uint8_t *orig)
{
	uint32_t len = h->caplen < CAPTURE_HDR_COPY ? h->caplen : CAPTURE_HDR_COPY;
	const uint8_t *data, *mac;
	struct spin_pkt pkt;
	int rc, lt = cap.st.linktype;

	cap.st.packets++;
	if (h->caplen > h->len || h->len > CAPTURE_MAX_WIRE_LEN || h->caplen > CAPTURE_MAX_CAPLEN) {
		cap.st.absurd++;
		return;
	}
	advance(h->ts.tv_sec);
	/* The headers first; the rest is copied (same buffer, same offsets) only if needed. */
	data = aligned(orig, len, lt);
	rc = decode(data, len, &pkt, &mac);
	if (rc == SPIN_PARSE_ERR && len < h->caplen) { /* long IPv6 extension headers */
		len = h->caplen;
		data = aligned(orig, len, lt);
		rc = decode(data, len, &pkt, &mac);
	}
	if (rc == DECODE_UNKNOWN_LT) {
		cap.st.unknown_linktype++;
		return;
	}
	if (rc == SPIN_PARSE_NOT_IP) {
		cap.st.not_ip++;
		return;
	}
	if (rc != SPIN_PARSE_OK) {
		cap.st.parse_error++;
		return;
	}
	if (is_copy(h, data, len, &pkt))
		return;
	if (h->caplen < h->len)
		cap.st.snap_cut++;
	if (mac && !mac_usable(mac))
		mac = NULL;
	if (needs_payload(&pkt)) {
		if (len < h->caplen) {
			len = h->caplen;
			/* the same buffer and offset: data and mac stay valid */
			data = aligned(orig, len, lt);
		}
		if (pkt.proto == SPIN_IPPROTO_ICMPV6)
			handle_na(data, data + len, &pkt);
		else
			handle_dns(data, len, h->len, &pkt, mac);
	}
	account(&pkt, h->len, mac);
}

/* --- reading --- */

static void finish(int err)
{
	if (cap.st.eof)
		return;
	if (cap.interval_end)
		flush(cap.interval_end); /* the last, partial interval */
	cap.st.eof = true;
	capture_log_stats();
	if (cap.ops.done)
		cap.ops.done(err, cap.ops.ctx);
}

/* One record from the file: 1, 0 at end of file, -EIO on a read error (logged). */
static int next_record(void)
{
	int rc;

	if (cap.pending)
		return 1;
	rc = pcap_next_ex(cap.pc, &cap.pend_hdr, &cap.pend_data);
	if (rc == 1) {
		cap.pending = true;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	cap.st.read_errors++;
	pr_warn("capture %s: reading stopped after %llu packets: %s", cap.name,
		(unsigned long long)cap.st.packets, pcap_geterr(cap.pc));
	return -EIO;
}

static void take_pending(void)
{
	cap.pending = false;
	handle_packet(cap.pend_hdr, cap.pend_data);
}

long capture_run(void)
{
	int rc;

	if (!cap.pc || cap.live)
		return -EINVAL;
	while ((rc = next_record()) == 1)
		take_pending();
	finish(rc);
	return (long)cap.st.packets;
}

/* Milliseconds until capture time us (rounded up, at least 1). */
static unsigned int ms_until(int64_t us, int64_t clock)
{
	int64_t ms = (us - clock + 999) / 1000;

	return ms < 1 ? 1 : ms > 60000 ? 60000 : (unsigned int)ms;
}

static void on_file_timer(void *ctx)
{
	int rc = 0;

	for (int i = 0; i < CAPTURE_BATCH; i++) {
		rc = next_record();
		if (rc != 1)
			break;
		if (!cap.opts.fast) {
			int64_t ts = tv_us(&cap.pend_hdr->ts), clock;

			if (!cap.started) {
				cap.started = true;
				cap.ts0_us = ts;
				cap.mono0_us = mono_us();
			}
			clock = paced_us();
			if (ts > clock) {
				/* Wait for the packet's time; close intervals on the way. */
				advance((time_t)(clock / US_PER_S));
				if (cap.interval_end && cap.interval_end * US_PER_S < ts)
					ts = cap.interval_end * US_PER_S;
				loop_timer_arm(cap.timer, ms_until(ts, clock));
				return;
			}
		}
		take_pending();
	}
	if (rc == 1) {
		loop_timer_arm(cap.timer, 0); /* more: the next batch after other events */
		return;
	}
	finish(rc);
}

static void on_live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	handle_packet(h, data);
}

/*
 * Is ifname there and up? A reopen is tried only then: on a missing interface it would fail,
 * and a handle on a down one would only report it down again.
 */
static bool iface_up(const char *ifname)
{
	struct ifreq ifr = {};
	size_t len = strnlen(ifname, IFNAMSIZ);
	int fd, rc;

	if (len >= IFNAMSIZ)
		return false;
	memcpy(ifr.ifr_name, ifname, len);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return rc == 0 && (ifr.ifr_flags & IFF_UP);
}

/*
 * Did a read error mean that the interface went down or away? libpcap says so in words only
 * ("The interface disappeared", "The interface went down") or with PCAP_ERROR_IFACE_NOT_UP;
 * what the interface is now settles it (gone, down, or a new one under the same name).
 */
static bool iface_went_away(int rc, const char *msg)
{
	if (rc == PCAP_ERROR_IFACE_NOT_UP || !iface_up(cap.name) ||
	    if_nametoindex(cap.name) != cap.ifindex)
		return true;
	return strstr(msg, "disappeared") || strstr(msg, "went down") ||
	       strstr(msg, "Network is down") || strstr(msg, "No such device");
}

/*
 * The handle is dead: a socket bound to a vanished interface never reads again, and its fd
 * would stay quiet or report the same error on every call. It is closed (one warning), the
 * flow table, MACs and counters stay, and the 1 s tick opens the interface again.
 */
static void live_lost(int rc)
{
	char msg[PCAP_ERRBUF_SIZE];

	snprintf(msg, sizeof(msg), "%s", pcap_geterr(cap.pc));
	if (iface_went_away(rc, msg)) {
		cap.st.iface_lost++;
		pr_warn("capture %s: the interface went away (%s); capturing again when it comes "
			"back",
			cap.name, msg);
		cap.read_failed = false;
	} else {
		/* The same error again right after a reopen is said once, not every second. */
		bool again = cap.read_failed && cap.st.packets == cap.packets_at_open;

		cap.st.read_errors++;
		log_print(again ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  "capture %s: reading failed (%s); opening the interface again", cap.name,
			  msg);
		cap.read_failed = true;
	}
	loop_unwatch(cap.watch);
	cap.watch = NULL;
	pcap_close(cap.pc);
	cap.pc = NULL;
	cap.lost = true;
}

static void live_dispatch(void)
{
	int n = pcap_dispatch(cap.pc, CAPTURE_BATCH, on_live_packet, NULL);

	if (n < 0 && n != PCAP_ERROR_BREAK)
		live_lost(n);
}

static void on_live_readable(int fd, uint32_t events, void *ctx)
{
	if (cap.pc)
		live_dispatch();
}

/*
 * A live handle on ifname: promiscuous, whole packets, non-blocking. NULL with -errno in *err;
 * the cause is logged as an error, or only for debugging when quiet (a reopen that will be
 * tried again).
 */
static pcap_t *live_handle(const char *ifname, bool quiet, int *err)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int lvl = quiet ? LOG_LVL_DEBUG : LOG_LVL_ERR;
	pcap_t *pc;
	int rc;

	pc = pcap_create(ifname, errbuf);
	if (!pc) {
		log_print(lvl, "capture %s: %s", ifname, errbuf);
		*err = -ENODEV;
		return NULL;
	}
	pcap_set_snaplen(pc, CAPTURE_SNAPLEN);
	pcap_set_promisc(pc, 1);
	pcap_set_timeout(pc, 100);
	rc = pcap_activate(pc);
	if (rc < 0) {
		/* The packaged unit gives neither: say what to add rather than just EPERM. */
		log_print(lvl, "capture %s: %s%s", ifname, pcap_geterr(pc),
			  rc == PCAP_ERROR_PERM_DENIED
				  ? " (passive mode needs CAP_NET_RAW and AF_PACKET sockets: under "
				    "the packaged spind.service, add both in an override, see "
				    "docs/install.md)"
				  : "");
		pcap_close(pc);
		*err = rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
		       : rc == PCAP_ERROR_PERM_DENIED  ? -EPERM
						       : -EIO;
		return NULL;
	}
	if (rc > 0)
		log_print(quiet ? LOG_LVL_DEBUG : LOG_LVL_WARN, "capture %s: %s", ifname,
			  pcap_geterr(pc));
	if (pcap_setnonblock(pc, 1, errbuf) < 0) {
		log_print(lvl, "capture %s: %s", ifname, errbuf);
		pcap_close(pc);
		*err = -EIO;
		return NULL;
	}
	return pc;
}

/* The tick, while the interface is away: silent until it is back and open again. */
static void live_reopen(void)
{
	struct loop_watch *w;
	pcap_t *pc;
	int err, fd, lt;

	if (!iface_up(cap.name))
		return;
	pc = live_handle(cap.name, true, &err);
	if (!pc)
		return;
	fd = pcap_get_selectable_fd(pc);
	w = fd >= 0 ? loop_watch_fd(fd, EPOLLIN, on_live_readable, NULL) : NULL;
	if (!w) {
		pr_debug("capture %s: cannot watch the reopened capture", cap.name);
		pcap_close(pc);
		return;
	}
	lt = pcap_datalink(pc);
	if (lt != cap.st.linktype)
		pr_warn("capture %s: the link type is now %d (was %d)", cap.name, lt,
			cap.st.linktype);
	cap.st.linktype = lt;
	cap.pc = pc;
	cap.watch = w;
	cap.ifindex = if_nametoindex(cap.name);
	cap.lost = false;
	cap.packets_at_open = cap.st.packets;
	if (!cap.read_failed)
		pr_info("capture %s: interface is back, capturing again", cap.name);
}

/* Once a second: packets the poll missed, and the interval ends without packets too. */
static void on_live_tick(void *ctx)
{
	if (cap.lost)
		live_reopen();
	if (cap.pc)
		live_dispatch();
	advance(time(NULL));
}

/* --- opening --- */

static int setup(pcap_t *pc, const char *name, bool live, const struct capture_opts *opts,
		 const struct capture_ops *ops)
{
	int lt = pcap_datalink(pc);

	capture_close();
	cap.pc = pc;
	cap.live = live;
	snprintf(cap.name, sizeof(cap.name), "%s", name);
	cap.ops = *ops;
	cap.opts = opts ? *opts : (struct capture_opts){};
	if (!cap.opts.max_flows)
		cap.opts.max_flows = SPIN_MAX_FLOWS;
	if (!cap.opts.idle_s)
		cap.opts.idle_s = CAPTURE_IDLE_S;
	cap.st.linktype = lt;
	if (lt == LT_SLL || lt == LT_SLL2)
		cap.copies = copies_new(); /* without it (no memory) copies are counted */
	if (!linktype_known(lt))
		pr_warn("capture %s: link type %s (%d) is not decoded: its packets are counted as "
			"unknown_linktype",
			name, pcap_datalink_val_to_name(lt) ? pcap_datalink_val_to_name(lt) : "?",
			lt);
	else
		pr_info("capture %s: link type %s", name, pcap_datalink_val_to_name(lt));
	return 0;
}

int capture_open_stream(FILE *f, const char *name, const struct capture_opts *opts,
			const struct capture_ops *ops)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc;

	if (!f || !ops || !ops->is_lan)
		return -EINVAL;
	pc = pcap_fopen_offline(f, errbuf);
	if (!pc) {
		pr_err("capture %s: %s", name, errbuf);
		fclose(f);
		return -EINVAL;
	}
	return setup(pc, name, false, opts, ops);
}

int capture_open_file(const char *path, const struct capture_opts *opts,
		      const struct capture_ops *ops)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;

	if (!f) {
		int err = -errno;

		pr_err("capture %s: %s", path, strerror(-err));
		return err;
	}
	return capture_open_stream(f, path, opts, ops);
}

int capture_open_live(const char *ifname, const struct capture_opts *opts,
		      const struct capture_ops *ops)
{
	pcap_t *pc;
	int err;

	if (!ops || !ops->is_lan)
		return -EINVAL;
	pc = live_handle(ifname, false, &err);
	if (!pc)
		return err;
	err = setup(pc, ifname, true, opts, ops);
	if (err)
		return err;
	cap.ifindex = if_nametoindex(ifname);
	return 0;
}

int capture_start(void)
{
	int fd;

	if (!cap.pc)
		return -EINVAL;
	if (!cap.live) {
		cap.timer = loop_timer_once(0, on_file_timer, NULL);
		return cap.timer ? 0 : -errno;
	}
	fd = pcap_get_selectable_fd(cap.pc);
	if (fd < 0) {
		pr_err("capture %s: no selectable fd", cap.name);
		return -EOPNOTSUPP;
	}
	cap.watch = loop_watch_fd(fd, EPOLLIN, on_live_readable, NULL);
	if (!cap.watch)
		return -errno;
	cap.timer = loop_timer_add(1000, on_live_tick, NULL);
	return cap.timer ? 0 : -errno;
}

/* --- the rest --- */

time_t capture_now(void)
{
	if (!cap.opts.fast && !cap.live && cap.started && !cap.st.eof) {
		time_t t = (time_t)(paced_us() / US_PER_S);

		if (t > cap.now)
			return t;
	}
	return cap.now ? cap.now : time(NULL);
}

void capture_get_stats(struct capture_stats *st)
{
	*st = cap.st;
	st->flows = cap.n_flows;
}

bool capture_is_open(void)
{
	return cap.name[0] != '\0';
}

void capture_log_stats(void)
{
	const struct capture_stats *s = &cap.st;

	if (!capture_is_open())
		return;
	pr_info("capture %s%s: %llu packets, %llu counted (%llu bytes) in %u flows (%llu new, "
		"%llu removed), %llu intervals; not IP %llu, parse errors %llu, snap-cut %llu, "
		"absurd lengths %llu, unknown link type %llu, read errors %llu, interface lost "
		"%llu; fragments %llu (%llu unknown); copies %llu; table full %llu (%llu bytes); "
		"DNS %llu (%llu malformed, %llu "
		"rejected, %llu snap-cut); ARP %llu, NDP %llu, MACs %llu",
		cap.name, s->eof ? " (end)" : "", (unsigned long long)s->packets,
		(unsigned long long)s->ip_packets, (unsigned long long)s->bytes, cap.n_flows,
		(unsigned long long)s->flow_new, (unsigned long long)s->removed,
		(unsigned long long)s->intervals, (unsigned long long)s->not_ip,
		(unsigned long long)s->parse_error, (unsigned long long)s->snap_cut,
		(unsigned long long)s->absurd, (unsigned long long)s->unknown_linktype,
		(unsigned long long)s->read_errors, (unsigned long long)s->iface_lost,
		(unsigned long long)s->fragments, (unsigned long long)s->frag_unknown,
		(unsigned long long)s->copies, (unsigned long long)s->map_full,
		(unsigned long long)s->overflow_bytes, (unsigned long long)s->dns_packets,
		(unsigned long long)s->dns_malformed, (unsigned long long)s->dns_rejected,
		(unsigned long long)s->dns_snap_cut, (unsigned long long)s->arp,
		(unsigned long long)s->ndp, (unsigned long long)s->macs_learned);
}

void capture_close(void)
{
	struct cflow *f, *ftmp;
	struct cfrag *fr, *frtmp;
	struct cmac *m, *mtmp;

	loop_unwatch(cap.watch);
	loop_timer_del(cap.timer);
	if (cap.pc)
		pcap_close(cap.pc);
	copies_free(cap.copies);
	HASH_ITER(hh, cap.flows, f, ftmp)
	{
		HASH_DEL(cap.flows, f);
		free(f);
	}
	HASH_ITER(hh, cap.frags, fr, frtmp)
	{
		HASH_DEL(cap.frags, fr);
		free(fr);
	}
	HASH_ITER(hh, cap.macs, m, mtmp)
	{
		HASH_DEL(cap.macs, m);
		free(m);
	}
	memset(&cap, 0, sizeof(cap));
}
