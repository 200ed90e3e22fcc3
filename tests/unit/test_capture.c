// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/capture.c: captures written here from crafted packets (pcap_dump for pcap, by hand for
 * pcapng and broken files) replayed through the capture module with the real DNS module
 * behind it. Checks flows and byte counts per interval, initiators, DNS names, devices' MACs,
 * IPv4 and IPv6, every link type, and that bad input is counted and skipped. As root, a live
 * capture on a veth in a network namespace of its own, deleted and re-created under it.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <sys/socket.h>

#include "capture.h"
#include "check.h"
#include "dns.h"
#include "loop.h"
#include "spin_parse.h"

#define T0 1700000000 /* capture start, Unix seconds */

enum l2 { L2_ETH, L2_QINQ, L2_SLL, L2_SLL2, L2_RAW };

static char dir[] = "/tmp/test_capture.XXXXXX";

/* What cooked headers say: the interface (SLL2) and the packet type (4: outgoing). */
static int sll_ifindex = 2, sll_pkttype;

/* --- what the module reported --- */

#define MAX_DELTAS 4096
static struct delta_rec {
	struct spin_flow_key key;
	uint8_t initiator;
	uint64_t bytes[2], packets[2];
	time_t end;
} deltas[MAX_DELTAS];
static int n_deltas;
static time_t cur_end;
static int n_begin, n_end;
static bool interval_open;

static struct {
	struct spin_addr ip;
	uint8_t mac[6];
} macs[64];
static int n_macs;

static char names[32][300];
static struct spin_addr name_addr[32];
static int n_names;
static int n_done, done_err;

static void on_delta(const struct flow_delta *d, void *ctx)
{
	if (n_deltas < MAX_DELTAS && interval_open) {
		struct delta_rec *r = &deltas[n_deltas++];

		r->key = *d->key;
		r->initiator = d->initiator;
		memcpy(r->bytes, d->bytes, sizeof(r->bytes));
		memcpy(r->packets, d->packets, sizeof(r->packets));
		r->end = cur_end;
	}
}

static void on_interval(time_t end, bool begin, void *ctx)
{
	if (begin) {
		n_begin++;
		cur_end = end;
		interval_open = true;
	} else {
		n_end++;
		interval_open = false;
		dns_tick(end);
	}
}

static bool parse_addr(const char *s, struct spin_addr *a)
{
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		spin_addr_from_v4(a, v4.s_addr);
		return true;
	}
	return inet_pton(AF_INET6, s, a->a) == 1;
}

/* LAN: 192.0.2.0/24, 2001:db8:1::/64 (the lab's) and link-local fe80::/10. */
static bool is_lan(const struct spin_addr *a, void *ctx)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t v6[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};

	if (!memcmp(a->a, v4, 12))
		return a->a[12] == 192 && a->a[13] == 0 && a->a[14] == 2;
	return !memcmp(a->a, v6, 8) || (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80);
}

static void on_mac(const struct spin_addr *ip, const uint8_t mac[6], void *ctx)
{
	if (n_macs < 64) {
		macs[n_macs].ip = *ip;
		memcpy(macs[n_macs].mac, mac, 6);
		n_macs++;
	}
}

static void on_done(int err, void *ctx)
{
	n_done++;
	done_err = err;
	if (ctx)
		loop_stop();
}

static void on_answer(const struct spin_addr *client, const char *name,
		      const struct spin_addr *addr, uint32_t ttl, void *ctx)
{
	if (n_names < 32) {
		snprintf(names[n_names], sizeof(names[0]), "%s", name);
		name_addr[n_names++] = *addr;
	}
}

static const struct capture_ops ops = {
	.delta = on_delta,
	.interval = on_interval,
	.is_lan = is_lan,
	.learn_mac = on_mac,
	.done = on_done,
};

static void reset(void)
{
	n_deltas = n_begin = n_end = n_macs = n_names = n_done = 0;
	done_err = 0;
	interval_open = false;
	dns_destroy();
	dns_init(&(struct dns_ops){.answer = on_answer}, 0);
}

/* The key and the direction index of traffic from a to b. */
static int key_of(const char *a, uint16_t pa, const char *b, uint16_t pb, uint8_t proto,
		  struct spin_flow_key *key)
{
	struct spin_pkt p = {};

	parse_addr(a, &p.saddr);
	parse_addr(b, &p.daddr);
	p.sport = htons(pa);
	p.dport = htons(pb);
	p.proto = proto;
	p.family = strchr(a, ':') ? 6 : 4;
	memset(key, 0, sizeof(*key));
	return spin_flow_key_from_pkt(&p, key);
}

struct flow_sum {
	uint64_t bytes_fwd, bytes_rev, pkts_fwd, pkts_rev;
	int deltas;
	int initiator_fwd; /* 1 if the last delta named a as the initiator */
};

static struct flow_sum sum_flow(const char *a, uint16_t pa, const char *b, uint16_t pb,
				uint8_t proto)
{
	struct spin_flow_key key;
	int d = key_of(a, pa, b, pb, proto, &key);
	struct flow_sum s = {};

	for (int i = 0; i < n_deltas; i++) {
		if (memcmp(&deltas[i].key, &key, sizeof(key)))
			continue;
		s.bytes_fwd += deltas[i].bytes[d];
		s.bytes_rev += deltas[i].bytes[!d];
		s.pkts_fwd += deltas[i].packets[d];
		s.pkts_rev += deltas[i].packets[!d];
		s.deltas++;
		s.initiator_fwd = deltas[i].initiator == d;
	}
	return s;
}

static const uint8_t *mac_of(const char *ip)
{
	struct spin_addr a;

	parse_addr(ip, &a);
	for (int i = n_macs - 1; i >= 0; i--)
		if (!memcmp(&macs[i].ip, &a, sizeof(a)))
			return macs[i].mac;
	return NULL;
}

static bool has_name(const char *name, const char *ip)
{
	struct spin_addr a;

	parse_addr(ip, &a);
	for (int i = 0; i < n_names; i++)
		if (!strcmp(names[i], name) && !memcmp(&name_addr[i], &a, sizeof(a)))
			return true;
	return false;
}

/* --- crafted packets --- */

static const uint8_t mac_gw[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac_thermo[6] = {2, 0, 0, 0, 0, 0x10};
static const uint8_t mac_camera[6] = {2, 0, 0, 0, 0, 0x11};
static const uint8_t mac_tv[6] = {2, 0, 0, 0, 0, 0x12};

struct pktspec {
	enum l2 l2;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	const uint8_t *payload;
	size_t plen;
	size_t pad_to;	     /* Ethernet: frame padded to this length (padding is not IP) */
	const uint8_t *smac; /* default mac_gw */
	uint16_t frag;	     /* IPv4 frag_off field (host order) */
	uint16_t ip_id;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t l2_header(uint8_t *b, enum l2 l2, uint16_t etype, const uint8_t *smac)
{
	switch (l2) {
	case L2_ETH:
	case L2_QINQ:
		memcpy(b, mac_gw, 6);
		memcpy(b + 6, smac, 6);
		if (l2 == L2_QINQ) {
			put16(b + 12, SPIN_ETH_P_8021AD);
			put16(b + 14, 100);
			put16(b + 16, SPIN_ETH_P_8021Q);
			put16(b + 18, 200);
			put16(b + 20, etype);
			return 22;
		}
		put16(b + 12, etype);
		return 14;
	case L2_SLL:
		memset(b, 0, 16);
		put16(b, (uint16_t)sll_pkttype);
		put16(b + 2, 1);
		put16(b + 4, 6);
		memcpy(b + 6, smac, 6);
		put16(b + 14, etype);
		return 16;
	case L2_SLL2:
		memset(b, 0, 20);
		put16(b, etype);
		b[7] = (uint8_t)sll_ifindex;
		put16(b + 8, 1);
		b[10] = (uint8_t)sll_pkttype;
		b[11] = 6;
		memcpy(b + 12, smac, 6);
		return 20;
	case L2_RAW:
		return 0;
	}
	return 0;
}

static size_t build(uint8_t *b, const struct pktspec *s)
{
	bool v6 = strchr(s->src, ':') != NULL;
	struct spin_addr sa, da;
	size_t off, l4len, iplen;
	uint8_t *ip, *l4;

	parse_addr(s->src, &sa);
	parse_addr(s->dst, &da);
	off = l2_header(b, s->l2, v6 ? ETH_P_IPV6 : ETH_P_IP, s->smac ? s->smac : mac_gw);
	ip = b + off;
	l4 = ip + (v6 ? 40 : 20);
	l4len = s->proto == IPPROTO_TCP ? 20 : 8;
	memset(l4, 0, l4len);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
	}
	if (s->proto == IPPROTO_TCP) {
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
	} else if (s->proto == IPPROTO_UDP) {
		put16(l4 + 4, (uint16_t)(8 + s->plen));
	} else {
		l4[0] = (uint8_t)s->sport; /* ICMP type */
	}
	if (s->payload)
		memcpy(l4 + l4len, s->payload, s->plen);
	else
		memset(l4 + l4len, 0xab, s->plen);
	iplen = (size_t)(l4 - ip) + l4len + s->plen;
	if (v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(iplen - 40));
		ip[6] = s->proto;
		ip[7] = 64;
		memcpy(ip + 8, sa.a, 16);
		memcpy(ip + 24, da.a, 16);
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 4, s->ip_id);
		put16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, &sa.a[12], 4);
		memcpy(ip + 16, &da.a[12], 4);
	}
	off += iplen;
	if (s->pad_to > off) {
		memset(b + off, 0, s->pad_to - off);
		off = s->pad_to;
	}
	return off;
}

/* A DNS message: one question; with an address, a response carrying one A/AAAA answer. */
static size_t dns_msg(uint8_t *m, uint16_t id, const char *name, bool v6, const char *answer)
{
	size_t n = 12;
	const char *p = name;

	memset(m, 0, 12);
	put16(m, id);
	put16(m + 2, answer ? 0x8180 : 0x0100);
	put16(m + 4, 1);
	put16(m + 6, answer ? 1 : 0);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		m[n++] = (uint8_t)len;
		memcpy(m + n, p, len);
		n += len;
		p += len + (dot ? 1 : 0);
	}
	m[n++] = 0;
	put16(m + n, v6 ? 28 : 1);
	put16(m + n + 2, 1);
	n += 4;
	if (answer) {
		struct spin_addr a;

		parse_addr(answer, &a);
		put16(m + n, 0xc00c);
		put16(m + n + 2, v6 ? 28 : 1);
		put16(m + n + 4, 1);
		put16(m + n + 6, 0);
		put16(m + n + 8, 3600);
		put16(m + n + 10, v6 ? 16 : 4);
		n += 12;
		memcpy(m + n, v6 ? a.a : &a.a[12], v6 ? 16 : 4);
		n += v6 ? 16 : 4;
	}
	return n;
}

/* --- writing captures --- */

struct writer {
	pcap_t *dead;
	pcap_dumper_t *d;
	char path[256];
};

static void w_open(struct writer *w, const char *name, int dlt, int snaplen)
{
	snprintf(w->path, sizeof(w->path), "%s/%s", dir, name);
	w->dead = pcap_open_dead(dlt, snaplen);
	w->d = pcap_dump_open(w->dead, w->path);
	if (!w->d) {
		printf("not ok - pcap_dump_open %s: %s\n", w->path, pcap_geterr(w->dead));
		exit(1);
	}
}

/* One record at T0 + ms milliseconds; caplen = min(len, cut) if cut. */
static void w_put(struct writer *w, long ms, const uint8_t *b, size_t len, size_t cut)
{
	struct pcap_pkthdr h = {
		.ts = {T0 + ms / 1000, (ms % 1000) * 1000},
		.caplen = (bpf_u_int32)(cut && cut < len ? cut : len),
		.len = (bpf_u_int32)len,
	};

	pcap_dump((u_char *)w->d, &h, b);
}

static void w_pkt(struct writer *w, long ms, const struct pktspec *s)
{
	uint8_t b[2048];

	w_put(w, ms, b, build(b, s), 0);
}

static void w_close(struct writer *w)
{
	pcap_dump_close(w->d);
	pcap_close(w->dead);
}

static long replay(const char *path, const struct capture_opts *o)
{
	long n;

	reset();
	if (capture_open_file(path, o, &ops))
		return -1;
	n = capture_run();
	return n;
}

/* --- the cases --- */

#define DEV4 "192.0.2.10"
#define SRV4 "203.0.113.10"
#define DNS4 "198.51.100.1"
#define DEV6 "2001:db8:1::10"
#define SRV6 "2001:db8:203::10"
#define GW4  "192.0.2.1"
#define GW6  "2001:db8:1::1"
#define DNS6 "2001:db8:100::1"

/*
 * A device resolves a name and fetches over TCP, over three seconds: SYN, SYN-ACK, data both
 * ways, a padded pure ACK. Sizes are IP lengths.
 */
static void write_session(struct writer *w, enum l2 l2, bool v6)
{
	long t = v6 ? 3000 : 0; /* the IPv6 session follows the IPv4 one */
	const char *dev = v6 ? DEV6 : DEV4, *srv = v6 ? SRV6 : SRV4, *dns = v6 ? DNS6 : DNS4;
	uint8_t q[300], r[300];
	size_t ql = dns_msg(q, 0x1234, "api.thermo.example", v6, NULL);
	size_t rl = dns_msg(r, 0x1234, "api.thermo.example", v6, srv);
	struct pktspec s = {.l2 = l2, .smac = mac_thermo};

	s.src = dev, s.dst = dns, s.proto = IPPROTO_UDP, s.sport = 5353, s.dport = 53;
	s.payload = q, s.plen = ql;
	w_pkt(w, t + 0, &s);
	s.src = dns, s.dst = dev, s.sport = 53, s.dport = 5353, s.payload = r, s.plen = rl;
	s.smac = mac_gw;
	w_pkt(w, t + 10, &s);

	s = (struct pktspec){.l2 = l2, .proto = IPPROTO_TCP, .smac = mac_thermo};
	s.src = dev, s.dst = srv, s.sport = 40000, s.dport = 80, s.tcp_flags = 0x02;
	w_pkt(w, t + 100, &s);
	s.src = srv, s.dst = dev, s.sport = 80, s.dport = 40000, s.tcp_flags = 0x12;
	s.smac = mac_gw;
	w_pkt(w, t + 110, &s);
	s.src = dev, s.dst = srv, s.sport = 40000, s.dport = 80, s.tcp_flags = 0x10;
	s.smac = mac_thermo, s.plen = 100;
	w_pkt(w, t + 1200, &s);
	for (int i = 0; i < 5; i++) {
		s.src = srv, s.dst = dev, s.sport = 80, s.dport = 40000, s.smac = mac_gw;
		s.plen = 1000;
		w_pkt(w, t + 1300 + i, &s);
	}
	/* a pure ACK in a minimum-size frame: 20 + 20 (+ 20 for IPv6) IP bytes, padded */
	s.src = dev, s.dst = srv, s.sport = 40000, s.dport = 80, s.smac = mac_thermo, s.plen = 0;
	s.pad_to = 60;
	w_pkt(w, t + 2500, &s);
}

/* Expected IP bytes of write_session's TCP flow: device->server, server->device. */
static void session_bytes(bool v6, uint64_t *fwd, uint64_t *rev)
{
	uint64_t ip = v6 ? 40 : 20, tcp = 20;

	*fwd = (ip + tcp) + (ip + tcp + 100) + (ip + tcp);
	*rev = (ip + tcp) + 5 * (ip + tcp + 1000);
}

static void check_session(const char *what, bool v6, bool macs_expected)
{
	const char *dev = v6 ? DEV6 : DEV4, *srv = v6 ? SRV6 : SRV4;
	struct flow_sum f = sum_flow(dev, 40000, srv, 80, IPPROTO_TCP);
	uint64_t fwd, rev;
	char name[160];
	const uint8_t *m;

	session_bytes(v6, &fwd, &rev);
	snprintf(name, sizeof(name), "%s: device->server bytes", what);
	CHECK_INT(f.bytes_fwd, fwd, name);
	snprintf(name, sizeof(name), "%s: server->device bytes", what);
	CHECK_INT(f.bytes_rev, rev, name);
	snprintf(name, sizeof(name), "%s: packets both ways", what);
	CHECK_INT(f.pkts_fwd * 100 + f.pkts_rev, 3 * 100 + 6, name);
	snprintf(name, sizeof(name), "%s: the flow changed in 3 intervals", what);
	CHECK_INT(f.deltas, 3, name);
	snprintf(name, sizeof(name), "%s: the SYN names the device as initiator", what);
	CHECK_INT(f.initiator_fwd, 1, name);
	snprintf(name, sizeof(name), "%s: DNS names the server api.thermo.example.", what);
	CHECK(has_name("api.thermo.example.", srv), name);
	if (macs_expected) {
		m = mac_of(dev);
		snprintf(name, sizeof(name), "%s: the device's MAC is learned", what);
		CHECK(m && !memcmp(m, mac_thermo, 6), name);
		snprintf(name, sizeof(name), "%s: no MAC for the (remote) server", what);
		CHECK(!mac_of(srv), name);
	}
}

static void test_ethernet(void)
{
	struct writer w;
	struct capture_stats st;

	w_open(&w, "eth.pcap", DLT_EN10MB, 65535);
	write_session(&w, L2_ETH, false);
	write_session(&w, L2_ETH, true);
	w_close(&w);
	CHECK_INT(replay(w.path, NULL), 2 * 11, "ethernet: every record read");
	capture_get_stats(&st);
	check_session("ethernet ipv4", false, true);
	check_session("ethernet ipv6", true, true);
	CHECK_INT(n_begin, 6, "ethernet: six intervals (the last, partial one at end of file)");
	CHECK_INT(n_end, n_begin, "ethernet: every interval began and ended");
	CHECK_INT(deltas[0].end, T0 + 1, "ethernet: the first interval ends at T0 + 1");
	CHECK_INT(deltas[n_deltas - 1].end, T0 + 6, "ethernet: the last interval ends at T0 + 6");
	CHECK_INT(n_done, 1, "ethernet: done reported once");
	CHECK_INT(done_err, 0, "ethernet: done without error");
	CHECK(st.eof, "ethernet: end of file reached");
	CHECK_INT(st.dns_packets, 4, "ethernet: DNS packets");
	CHECK_INT(st.dns_malformed + st.dns_rejected, 0, "ethernet: DNS messages all used");
	CHECK_INT(st.flows, 4, "ethernet: flows in the table (2 DNS, 2 TCP)");
	CHECK_INT(st.parse_error + st.absurd + st.read_errors + st.snap_cut, 0,
		  "ethernet: no bad input counted");
	CHECK_INT(capture_now(), T0 + 5, "ethernet: capture_now is the last packet's second");
	capture_close();
}

static void test_linktypes(void)
{
	static const struct {
		const char *name;
		int dlt;
		enum l2 l2;
		bool macs;
	} lt[] = {
		{"qinq", DLT_EN10MB, L2_QINQ, true},
		{"sll", DLT_LINUX_SLL, L2_SLL, true},
		{"sll2", DLT_LINUX_SLL2, L2_SLL2, true},
		{"raw", DLT_RAW, L2_RAW, false},
	};

	for (size_t i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		struct writer w;
		char file[64], name[96];

		snprintf(file, sizeof(file), "%s.pcap", lt[i].name);
		w_open(&w, file, lt[i].dlt, 65535);
		write_session(&w, lt[i].l2, false);
		write_session(&w, lt[i].l2, true);
		w_close(&w);
		snprintf(name, sizeof(name), "%s: every record read", lt[i].name);
		CHECK_INT(replay(w.path, NULL), 22, name);
		snprintf(name, sizeof(name), "%s ipv4", lt[i].name);
		check_session(name, false, lt[i].macs);
		snprintf(name, sizeof(name), "%s ipv6", lt[i].name);
		check_session(name, true, lt[i].macs);
		if (!lt[i].macs) {
			snprintf(name, sizeof(name), "%s: no MAC without a link layer", lt[i].name);
			CHECK_INT(n_macs, 0, name);
		}
		capture_close();
	}
}

/* ARP replies and neighbour advertisements name devices that send nothing else. */
static void test_arp_ndp(void)
{
	uint8_t b[256], *p;
	struct writer w;
	struct pktspec s = {.l2 = L2_ETH, .proto = SPIN_IPPROTO_ICMPV6, .smac = mac_gw};
	struct spin_addr t;
	size_t n;

	w_open(&w, "arp.pcap", DLT_EN10MB, 65535);
	n = l2_header(b, L2_ETH, 0x0806, mac_tv);
	p = b + n;
	memset(p, 0, 28);
	put16(p, 1);
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 2); /* reply */
	memcpy(p + 8, mac_tv, 6);
	p[14] = 192, p[15] = 0, p[16] = 2, p[17] = 12;
	memcpy(p + 18, mac_gw, 6);
	p[24] = 192, p[25] = 0, p[26] = 2, p[27] = 1;
	w_put(&w, 0, b, 60, 0);
	/* an ARP reply for an address outside the LAN: not learned */
	p[14] = 198, p[15] = 51, p[16] = 100, p[17] = 7;
	w_put(&w, 1, b, 60, 0);

	/* NA from the router's link-local address; target 2001:db8:1::11, its MAC in the
	 * target link-layer address option (ICMPv6 + 24) */
	s.src = "fe80::1", s.dst = "ff02::1", s.sport = 136, s.plen = 24;
	n = build(b, &s);
	p = b + 14 + 40;
	memset(p + 4, 0, 4);
	parse_addr("2001:db8:1::11", &t);
	memcpy(p + 8, t.a, 16);
	p[24] = 2;
	p[25] = 1;
	memcpy(p + 26, mac_camera, 6);
	w_put(&w, 2, b, n, 0);
	w_close(&w);
	replay(w.path, NULL);
	CHECK(mac_of("192.0.2.12") && !memcmp(mac_of("192.0.2.12"), mac_tv, 6),
	      "arp: a reply names the sender's MAC");
	CHECK(!mac_of("198.51.100.7"), "arp: a non-LAN sender is not learned");
	CHECK(mac_of("2001:db8:1::11") && !memcmp(mac_of("2001:db8:1::11"), mac_camera, 6),
	      "ndp: an advertisement names the target's MAC");
	CHECK(mac_of("fe80::1") && !memcmp(mac_of("fe80::1"), mac_gw, 6),
	      "ndp: the link-local sender is learned from the frame's source");
	{
		struct capture_stats st;

		capture_get_stats(&st);
		CHECK_INT(st.arp, 2, "arp: replies seen");
		CHECK_INT(st.ndp, 1, "ndp: advertisements used");
		CHECK_INT(st.not_ip, 2, "arp: ARP is not IP");
	}
	capture_close();
}

/* A pcapng file with two Ethernet interfaces, written block by block. */
static void put32le(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* x86/arm little-endian hosts write their own byte order */
}

static size_t ng_block(uint8_t *out, uint32_t type, const uint8_t *body, size_t len)
{
	size_t total = 12 + ((len + 3) & ~(size_t)3);

	put32le(out, type);
	put32le(out + 4, (uint32_t)total);
	memset(out + 8, 0, total - 12);
	memcpy(out + 8, body, len);
	put32le(out + total - 4, (uint32_t)total);
	return total;
}

static size_t ng_shb(uint8_t *out)
{
	uint8_t body[16];

	put32le(body, 0x1A2B3C4D);
	body[4] = 1, body[5] = 0, body[6] = 0, body[7] = 0; /* version 1.0 */
	memset(body + 8, 0xff, 8);			    /* section length unknown */
	return ng_block(out, 0x0A0D0D0A, body, sizeof(body));
}

static size_t ng_idb(uint8_t *out, uint16_t linktype)
{
	uint8_t body[8] = {0};

	memcpy(body, &linktype, 2);
	put32le(body + 4, 65535);
	return ng_block(out, 1, body, sizeof(body));
}

static size_t ng_epb(uint8_t *out, uint32_t ifid, long ms, const uint8_t *pkt, size_t len)
{
	uint8_t body[2100];
	uint64_t ts = (uint64_t)T0 * 1000000 + (uint64_t)ms * 1000;

	put32le(body, ifid);
	put32le(body + 4, (uint32_t)(ts >> 32));
	put32le(body + 8, (uint32_t)ts);
	put32le(body + 12, (uint32_t)len);
	put32le(body + 16, (uint32_t)len);
	memcpy(body + 20, pkt, len);
	return ng_block(out, 6, body, 20 + len);
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b, 1, len, f) != len) {
		printf("not ok - write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void test_pcapng(void)
{
	static uint8_t file[65536];
	uint8_t pkt[2048];
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_thermo};
	struct capture_stats st;
	char path[256];
	size_t n = 0, len;
	struct flow_sum f;

	n += ng_shb(file + n);
	n += ng_idb(file + n, DLT_EN10MB);
	n += ng_idb(file + n, DLT_EN10MB);
	/* the same flow seen on interface 0 (LAN side) and 1 (a second LAN) */
	s.src = DEV4, s.dst = SRV4, s.sport = 1000, s.dport = 2000, s.plen = 72;
	len = build(pkt, &s);
	for (int i = 0; i < 4; i++)
		n += ng_epb(file + n, (uint32_t)(i & 1), 100 * i, pkt, len);
	s.src = DEV6, s.dst = SRV6, s.smac = mac_camera;
	len = build(pkt, &s);
	n += ng_epb(file + n, 1, 1500, pkt, len);
	snprintf(path, sizeof(path), "%s/two-if.pcapng", dir);
	write_file(path, file, n);
	CHECK_INT(replay(path, NULL), 5, "pcapng two interfaces: every record read");
	f = sum_flow(DEV4, 1000, SRV4, 2000, IPPROTO_UDP);
	CHECK_INT(f.bytes_fwd, 4 * (20 + 8 + 72), "pcapng two interfaces: ipv4 bytes");
	f = sum_flow(DEV6, 1000, SRV6, 2000, IPPROTO_UDP);
	CHECK_INT(f.bytes_fwd, 40 + 8 + 72, "pcapng two interfaces: ipv6 bytes");
	capture_get_stats(&st);
	CHECK_INT(st.read_errors, 0, "pcapng two interfaces: read without error");
	capture_close();

	/* interfaces of different link types: libpcap 1.10 stops at the second one's packets */
	n = 0;
	n += ng_shb(file + n);
	n += ng_idb(file + n, DLT_EN10MB);
	s.src = DEV4, s.dst = SRV4, s.smac = mac_thermo;
	len = build(pkt, &s);
	n += ng_epb(file + n, 0, 0, pkt, len);
	n += ng_idb(file + n, DLT_RAW);
	n += ng_epb(file + n, 1, 10, pkt + 14, len - 14);
	n += ng_epb(file + n, 0, 20, pkt, len);
	snprintf(path, sizeof(path), "%s/mixed.pcapng", dir);
	write_file(path, file, n);
	replay(path, NULL);
	capture_get_stats(&st);
	f = sum_flow(DEV4, 1000, SRV4, 2000, IPPROTO_UDP);
	CHECK(st.eof && n_done == 1, "pcapng mixed link types: ends, last interval flushed");
	/* libpcap 1.10: "an interface has a type 12 different from the type of the first
	 * interface" when the second IDB is read; the packet before it is kept */
	CHECK_INT(st.read_errors, 1, "pcapng mixed link types: the stop is reported");
	CHECK_INT(f.pkts_fwd, st.ip_packets, "pcapng mixed link types: what was read is counted");
	CHECK_INT(st.parse_error, 0, "pcapng mixed link types: no packet misparsed");
	capture_close();
}

/* Cut short in the middle of a packet: what came before is counted, the end is reported. */
static void test_truncated_file(void)
{
	struct writer w;
	struct capture_stats st;
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_thermo};
	struct flow_sum f;
	FILE *fp;
	long size;

	w_open(&w, "cut.pcap", DLT_EN10MB, 65535);
	s.src = DEV4, s.dst = SRV4, s.sport = 1000, s.dport = 2000, s.plen = 500;
	for (int i = 0; i < 3; i++)
		w_pkt(&w, 1000 * i, &s);
	w_close(&w);
	fp = fopen(w.path, "rb+");
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fclose(fp);
	CHECK(truncate(w.path, size - 200) == 0, "truncated: file cut in its last packet");
	CHECK_INT(replay(w.path, NULL), 2, "truncated: the whole packets are read");
	capture_get_stats(&st);
	f = sum_flow(DEV4, 1000, SRV4, 2000, IPPROTO_UDP);
	CHECK_INT(f.bytes_fwd, 2 * 528, "truncated: the whole packets are counted");
	CHECK_INT(st.read_errors, 1, "truncated: the cut is reported");
	CHECK_INT(done_err, -EIO, "truncated: done reports the error");
	CHECK_INT(n_begin, 2, "truncated: the last interval is flushed");
	capture_close();

	/* a file cut inside its global header does not open */
	truncate(w.path, 10);
	reset();
	CHECK_INT(capture_open_file(w.path, NULL, &ops), -EINVAL, "truncated header: refused");
	capture_close();
}

static void test_bad_records(void)
{
	struct writer w;
	struct capture_stats st;
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_TCP, .smac = mac_thermo};
	uint8_t b[2048], q[300];
	size_t n;
	struct flow_sum f;

	w_open(&w, "bad.pcap", DLT_EN10MB, 65535);
	s.src = DEV4, s.dst = SRV4, s.sport = 40000, s.dport = 80, s.plen = 1000;
	n = build(b, &s);
	w_put(&w, 0, b, n, 64); /* snap-cut: counted from the IP header's length */
	w_put(&w, 1, b, n, 20); /* cut inside the IP header: a parse error */
	b[14] = 0x43;		/* IHL 3: malformed */
	w_put(&w, 2, b, n, 0);
	b[14] = 0x45;
	{
		struct pcap_pkthdr h = {.ts = {T0, 3000}, .caplen = 64, .len = 2 << 20};

		pcap_dump((u_char *)w.d, &h, b); /* a 2 MiB packet: absurd */
	}
	/* a DNS response cut by the snap length */
	s = (struct pktspec){.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_gw};
	s.src = DNS4, s.dst = DEV4, s.sport = 53, s.dport = 5353;
	s.payload = q, s.plen = dns_msg(q, 7, "cut.example", false, SRV4);
	n = build(b, &s);
	w_put(&w, 4, b, n, n - 10);
	/* UDP to port 53 with no room for a message */
	s.payload = NULL, s.plen = 0;
	n = build(b, &s);
	w_put(&w, 5, b, n, 0);
	w_close(&w);
	replay(w.path, NULL);
	capture_get_stats(&st);
	f = sum_flow(DEV4, 40000, SRV4, 80, IPPROTO_TCP);
	CHECK_INT(f.bytes_fwd, 20 + 20 + 1000, "snap-cut: bytes from the IP header's length");
	CHECK_INT(st.snap_cut, 2, "snap-cut: counted (TCP and DNS)");
	CHECK_INT(st.parse_error, 2, "malformed: cut IP header and IHL 3 counted");
	CHECK_INT(st.absurd, 1, "absurd length: counted and skipped");
	CHECK_INT(st.dns_snap_cut, 1, "DNS cut by the snap length: counted");
	CHECK_INT(st.dns_malformed, 1, "DNS without a message: counted");
	CHECK(!has_name("cut.example.", SRV4), "DNS cut by the snap length: no name from it");
	capture_close();

	/* a link type not decoded (802.11): every packet counted as such */
	w_open(&w, "wifi.pcap", DLT_IEEE802_11, 65535);
	w_put(&w, 0, b, 60, 0);
	w_put(&w, 1, b, 60, 0);
	w_close(&w);
	CHECK_INT(replay(w.path, NULL), 2, "unknown link type: the file is read");
	capture_get_stats(&st);
	CHECK_INT(st.unknown_linktype, 2, "unknown link type: packets counted");
	CHECK_INT(n_deltas, 0, "unknown link type: no flow");
	capture_close();
}

/* A bounded table: overflow counted; idle flows leave; fragments join their flow. */
static void test_table(void)
{
	struct capture_opts o = {.fast = true, .max_flows = 4, .idle_s = 3};
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_thermo};
	struct writer w;
	struct capture_stats st;
	struct flow_sum f;

	w_open(&w, "table.pcap", DLT_EN10MB, 65535);
	s.src = DEV4, s.dst = SRV4, s.dport = 2000, s.plen = 12;
	for (int i = 0; i < 10; i++) {
		s.sport = (uint16_t)(1000 + i);
		w_pkt(&w, i, &s);
	}
	/* ten seconds later: the first four are idle and leave, new flows fit again */
	s.sport = 3000;
	w_pkt(&w, 10000, &s);
	w_pkt(&w, 12000, &s);
	s.sport = 3001;
	w_pkt(&w, 12001, &s);
	/* a fragmented datagram: the later fragment joins the first's ports */
	s.sport = 4000, s.ip_id = 77, s.frag = SPIN_IPV4_MF, s.plen = 992;
	w_pkt(&w, 13000, &s);
	/* the later fragment: offset 1000 (in 8-byte units), its first 8 bytes are payload */
	s.frag = 1000 / 8, s.plen = 100;
	{
		uint8_t b[2048];
		size_t n = build(b, &s);

		w_put(&w, 13001, b, n, 0);
	}
	w_close(&w);
	replay(w.path, &o);
	capture_get_stats(&st);
	CHECK_INT(st.flow_new, 4 + 2 + 1, "table: flows created up to the bound, then again");
	CHECK_INT(st.map_full, 6, "table: packets over the bound counted");
	CHECK_INT(st.overflow_bytes, 6 * 40, "table: their bytes counted");
	CHECK(st.removed >= 4, "table: idle flows removed");
	f = sum_flow(DEV4, 3000, SRV4, 2000, IPPROTO_UDP);
	CHECK_INT(f.pkts_fwd, 2, "table: a flow after the idle gap is counted");
	f = sum_flow(DEV4, 4000, SRV4, 2000, IPPROTO_UDP);
	CHECK_INT(f.pkts_fwd, 2, "fragments: the later fragment joins the flow");
	CHECK_INT(f.bytes_fwd, (20 + 8 + 992) + (20 + 8 + 100), "fragments: bytes of both");
	CHECK_INT(st.fragments, 2, "fragments: counted");
	CHECK_INT(st.frag_unknown, 0, "fragments: none unknown");
	capture_close();
}

/* Through the event loop: fast replay, and paced replay taking the recorded time. */
static void test_loop(void)
{
	struct writer w;
	struct timespec a, b;
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_thermo};
	double secs;
	struct flow_sum f;

	w_open(&w, "paced.pcap", DLT_EN10MB, 65535);
	s.src = DEV4, s.dst = SRV4, s.sport = 1000, s.dport = 2000, s.plen = 12;
	for (int i = 0; i <= 12; i++)
		w_pkt(&w, i * 100, &s); /* 1.2 s of capture */
	for (int i = 0; i < 3 * CAPTURE_BATCH; i++)
		w_pkt(&w, 1200, &s); /* several batches */
	w_close(&w);

	for (int fast = 1; fast >= 0; fast--) {
		struct capture_opts o = {.fast = fast};
		char name[96];

		reset();
		loop_init();
		capture_open_file(w.path, &o,
				  &(struct capture_ops){.delta = on_delta,
							.interval = on_interval,
							.is_lan = is_lan,
							.learn_mac = on_mac,
							.done = on_done,
							.ctx = &w});
		clock_gettime(CLOCK_MONOTONIC, &a);
		snprintf(name, sizeof(name), "loop %s: capture_start", fast ? "fast" : "paced");
		CHECK_INT(capture_start(), 0, name);
		loop_run();
		clock_gettime(CLOCK_MONOTONIC, &b);
		secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		f = sum_flow(DEV4, 1000, SRV4, 2000, IPPROTO_UDP);
		snprintf(name, sizeof(name), "loop %s: every packet counted",
			 fast ? "fast" : "paced");
		CHECK_INT(f.pkts_fwd, 13 + 3 * CAPTURE_BATCH, name);
		snprintf(name, sizeof(name), "loop %s: two intervals", fast ? "fast" : "paced");
		CHECK_INT(n_begin, 2, name);
		if (fast) {
			CHECK(secs < 1.0, "loop fast: faster than the recording");
		} else {
			printf("# paced replay of 1.2 s took %.2f s\n", secs);
			CHECK(secs >= 1.1 && secs < 3.0, "loop paced: takes the recorded 1.2 s");
		}
		capture_close();
		loop_destroy();
	}
}

/*
 * tcpdump -i any on a router: every forwarded packet twice, arriving on lan0 and leaving on
 * wan0 with its TTL (hop limit) one lower. Each is counted once; a packet repeated 300 ms later
 * (a retransmission) and a packet only leaving (the gateway's own) are counted.
 */
static void write_forwarded(struct writer *w, enum l2 l2, bool v6, long t)
{
	struct pktspec s = {.l2 = l2, .proto = IPPROTO_UDP, .sport = 4000, .dport = 9000};
	size_t ip_off = l2 == L2_SLL2 ? 20 : 16, n;
	uint8_t b[256];

	s.src = v6 ? DEV6 : DEV4, s.dst = v6 ? SRV6 : SRV4, s.plen = 100, s.smac = mac_thermo;
	for (int i = 0; i < 3; i++) {
		s.ip_id = (uint16_t)(i + 1);
		sll_ifindex = 2, sll_pkttype = 0;
		n = build(b, &s);
		w_put(w, t + 100 * i, b, n, 0);
		b[ip_off + (v6 ? 7 : 8)]--; /* the router's hop */
		if (!v6)
			b[ip_off + 10] ^= 0x01; /* and so another checksum */
		sll_ifindex = 3, sll_pkttype = 4;
		n = l2_header(b, l2, v6 ? ETH_P_IPV6 : ETH_P_IP, mac_gw) + (n - ip_off);
		w_put(w, t + 100 * i, b, n, 0);
	}
	s.ip_id = 3; /* the last packet again, 300 ms later on lan0: a packet of its own */
	sll_ifindex = 2, sll_pkttype = 0;
	n = build(b, &s);
	w_put(w, t + 500, b, n, 0);
	s.src = v6 ? GW6 : GW4, s.ip_id = 9; /* the gateway's own, leaving only */
	sll_ifindex = 3, sll_pkttype = 4;
	n = build(b, &s);
	w_put(w, t + 600, b, n, 0);
	sll_ifindex = 2, sll_pkttype = 0;
}

static void test_any_copies(void)
{
	static const struct {
		const char *name;
		int dlt;
		enum l2 l2;
	} lt[] = {{"any sll", DLT_LINUX_SLL, L2_SLL}, {"any sll2", DLT_LINUX_SLL2, L2_SLL2}};

	for (size_t i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		struct capture_stats st;
		struct flow_sum f4, f6;
		struct writer w;
		char name[96];

		w_open(&w, lt[i].l2 == L2_SLL ? "any.pcap" : "any2.pcap", lt[i].dlt, 65535);
		write_forwarded(&w, lt[i].l2, false, 0);
		write_forwarded(&w, lt[i].l2, true, 2000);
		w_close(&w);
		CHECK_INT(replay(w.path, NULL), 16, lt[i].name);
		f4 = sum_flow(DEV4, 4000, SRV4, 9000, IPPROTO_UDP);
		f6 = sum_flow(DEV6, 4000, SRV6, 9000, IPPROTO_UDP);
		snprintf(name, sizeof(name), "%s: forwarded IPv4 packets counted once", lt[i].name);
		CHECK_INT(f4.pkts_fwd * 1000 + f4.bytes_fwd, 4 * 1000 + 4 * 128, name);
		snprintf(name, sizeof(name), "%s: forwarded IPv6 packets counted once", lt[i].name);
		CHECK_INT(f6.pkts_fwd * 1000 + f6.bytes_fwd, 4 * 1000 + 4 * 148, name);
		snprintf(name, sizeof(name), "%s: the gateway's own packets are counted",
			 lt[i].name);
		CHECK_INT(sum_flow(GW4, 4000, SRV4, 9000, IPPROTO_UDP).pkts_fwd +
				  sum_flow(GW6, 4000, SRV6, 9000, IPPROTO_UDP).pkts_fwd,
			  2, name);
		capture_get_stats(&st);
		snprintf(name, sizeof(name), "%s: copies counted", lt[i].name);
		CHECK_INT(st.copies, 6, name);
		capture_close();
	}
}

/* --- live: the interface goes away and comes back (root: a namespace and a veth) --- */

#define LIVE_IF	  "spincap0"
#define LIVE_PEER "spincap1"

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		printf("# '%s' exited with %d\n", cmd, rc);
	return rc;
}

static int live_veth(void)
{
	return sh("ip link add " LIVE_IF " type veth peer name " LIVE_PEER
		  " && ip link set " LIVE_IF " up && ip link set " LIVE_PEER " up");
}

/* n UDP packets from the device to the server, sent into the peer: they arrive on LIVE_IF. */
static int live_send(int n)
{
	struct pktspec s = {.l2 = L2_ETH, .proto = IPPROTO_UDP, .smac = mac_thermo};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_halen = 6};
	uint8_t b[256];
	size_t len;
	int fd, sent = 0;

	s.src = DEV4, s.dst = SRV4, s.sport = 4000, s.dport = 5000, s.plen = 100;
	len = build(b, &s);
	sll.sll_ifindex = (int)if_nametoindex(LIVE_PEER);
	memcpy(sll.sll_addr, mac_gw, 6);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || !sll.sll_ifindex)
		goto out;
	for (int i = 0; i < n; i++)
		if (sendto(fd, b, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)len)
			sent++;
out:
	if (fd >= 0)
		close(fd);
	return sent;
}

/* The steps, each polled every 100 ms until its condition holds (or 5 s pass). */
static struct {
	int step;
	int polls;
	struct loop_timer *t;
	struct capture_stats st, before; /* now, and when the interface was deleted */
	uint64_t pkts;
} lv;

static uint64_t live_pkts(void)
{
	return sum_flow(DEV4, 4000, SRV4, 5000, IPPROTO_UDP).pkts_fwd;
}

static void live_step(void *ctx)
{
	bool done = false;

	capture_get_stats(&lv.st);
	lv.pkts = live_pkts();
	switch (lv.step) {
	case 0: /* captured and handed on */
		done = lv.pkts == 3;
		lv.before = lv.st;
		if (done)
			done = sh("ip link del " LIVE_IF) == 0;
		break;
	case 1: /* the loss noticed */
		done = lv.st.iface_lost == 1;
		if (done)
			done = live_veth() == 0;
		break;
	case 2: /* reopened: packets sent now are counted */
		if (lv.polls % 5 == 0)
			live_send(1);
		done = lv.pkts > 3;
		break;
	}
	if (done) {
		lv.step++;
		lv.polls = 0;
	} else if (++lv.polls > 50) {
		printf("# live: step %d gave up after 5 s\n", lv.step);
		lv.step = -1;
	}
	if (lv.step < 0 || lv.step > 2)
		loop_stop();
	else
		loop_timer_arm(lv.t, 100);
}

static void test_live_iface_lost(void)
{
	if (geteuid() != 0) {
		printf("ok - live capture: # SKIP needs root (a network namespace)\n");
		return;
	}
	/* IPv6 off: the new veths' router solicitations would be flows and MACs of their own */
	if (unshare(CLONE_NEWNET) ||
	    sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null || true") ||
	    live_veth()) {
		printf("not ok - live capture: no namespace or veth: %s\n", strerror(errno));
		check_failures++;
		return;
	}
	reset();
	loop_init();
	CHECK_INT(capture_open_live(LIVE_IF, NULL, &ops), 0, "live: capture_open_live");
	CHECK_INT(capture_start(), 0, "live: capture_start");
	CHECK_INT(live_send(3), 3, "live: 3 packets sent into the peer");
	lv.t = loop_timer_once(100, live_step, NULL);
	loop_run();
	CHECK_INT(lv.step, 3, "live: every step reached");
	CHECK_INT(lv.st.iface_lost, 1, "live: the deleted interface counted once (iface_lost)");
	CHECK_INT(lv.st.read_errors, 0, "live: not counted as a read error");
	CHECK(lv.pkts > 3, "live: packets after the interface came back are counted");
	CHECK_INT(lv.before.flow_new, 1, "live: one flow before the interface went away");
	CHECK_INT(lv.st.flow_new, lv.before.flow_new,
		  "live: the flow table was kept (the same flow goes on)");
	CHECK_INT(lv.st.macs_learned, lv.before.macs_learned,
		  "live: the MACs were kept (the device is not learned again)");
	loop_timer_del(lv.t);
	capture_close();
	loop_destroy();
	sh("ip link del " LIVE_IF);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_ethernet();
	test_linktypes();
	test_any_copies();
	test_arp_ndp();
	test_pcapng();
	test_truncated_file();
	test_bad_records();
	test_table();
	test_loop();
	test_live_iface_lost(); /* last: it moves the process into a namespace of its own */
	dns_destroy();
	check_rm_tree(dir);
	return check_exit();
}
