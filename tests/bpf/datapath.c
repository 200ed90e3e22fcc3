// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet-level tests of the data path: crafted frames through the real spin_tc_ingress,
 * spin_tc_egress and spin_xdp programs, checking the verdict, the flow entry, every stats
 * counter and the ring buffer. Rows run in order against one set of maps: flow counters in the
 * expectations are cumulative.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "harness.h"

#define V4A    "192.0.2.10"
#define V4B    "198.51.100.1"
#define V6A    "2001:db8::10"
#define V6B    "2001:db8:1::1"
#define TCP    6
#define UDP    17
#define ICMP   1
#define ICMP6  58
#define SYN    0x02
#define SYNACK 0x12
#define PSHACK 0x18

struct row {
	const char *name;
	struct pb_spec pkt;
	enum h_hook hook;
	uint32_t in_if; /* skb->ingress_ifindex */
	uint32_t gso_segs;
	int verdict;
	long long st[SPIN_STAT_MAX]; /* expected stats deltas (PACKETS is implied at TC) */
	int skipped;		     /* egress skip: PACKETS does not move */
	int no_packet;		     /* not run at all (test_run refuses it): PACKETS stays */
	struct h_key key;	     /* flow to check (key.a == NULL: none) */
	int absent;		     /* the key must not exist */
	uint64_t b_ab, b_ba, p_ab, p_ba, blk_b, blk_p;
	int init; /* 0: unchecked, else 1 + expected initiator */
	uint8_t flags;
	int mac;  /* 0: unchecked, -1: no MAC, else 1 + the side the packet's MAC belongs to */
	int mac2; /* 0: unchecked, -1: no mac2, 1: the other side's MAC is the frame's source */
	int dns;  /* DNS events expected */
	uint16_t l3, l4, dns_off, cap;
	void (*setup)(struct h_env *e); /* policy changes before the packet */
};

/* A DNS query header + question for example.com. */
static const uint8_t dns_query[] = {0x12, 0x34, 0x01, 0x00, 0,	 1,   0,   0,	0,   0,
				    0,	  0,	7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',
				    3,	  'c',	'o',  'm',  0,	 0,   1,   0,	1};

static const struct row basic[] = {
	{"v4 TCP SYN creates the flow, initiator A",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = TCP,
	  .sport = 40000,
	  .dport = 443,
	  .tcp_flags = SYN},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 40000, V4B, 443},
	 .b_ab = 40,
	 .p_ab = 1,
	 .init = 1 + SPIN_DIR_AB,
	 .flags = SPIN_FLOW_F_SYN_SEEN | SPIN_FLOW_F_CREATED,
	 .mac = 1 + SPIN_DIR_AB},
	{"v4 TCP SYN-ACK at egress folds into the same flow (B->A)",
	 {.family = 4,
	  .src = V4B,
	  .dst = V4A,
	  .proto = TCP,
	  .sport = 443,
	  .dport = 40000,
	  .tcp_flags = SYNACK,
	  .payload_len = 10},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {TCP, V4A, 40000, V4B, 443},
	 .b_ab = 40,
	 .b_ba = 50,
	 .p_ab = 1,
	 .p_ba = 1,
	 .init = 1 + SPIN_DIR_AB},
	{"v4 TCP SYN from the higher address: initiator B",
	 {.family = 4,
	  .src = "198.51.100.200",
	  .dst = V4A,
	  .proto = TCP,
	  .sport = 50000,
	  .dport = 22,
	  .tcp_flags = SYN},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 22, "198.51.100.200", 50000},
	 .b_ba = 40,
	 .p_ba = 1,
	 .init = 1 + SPIN_DIR_BA,
	 .flags = SPIN_FLOW_F_SYN_SEEN | SPIN_FLOW_F_CREATED,
	 .mac = 1 + SPIN_DIR_BA},
	{"v4 UDP from A at ingress: A's MAC, none of B yet",
	 {.family = 4,
	  .src = V4A,
	  .dst = "203.0.113.31",
	  .proto = UDP,
	  .sport = 5100,
	  .dport = 6100},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 5100, "203.0.113.31", 6100},
	 .b_ab = 28,
	 .p_ab = 1,
	 .mac = 1 + SPIN_DIR_AB,
	 .mac2 = -1},
	{"v4 UDP answer from B at ingress (flow-map path): B's MAC as mac2",
	 {.family = 4,
	  .src = "203.0.113.31",
	  .dst = V4A,
	  .proto = UDP,
	  .sport = 6100,
	  .dport = 5100},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {UDP, V4A, 5100, "203.0.113.31", 6100},
	 .b_ab = 28,
	 .b_ba = 28,
	 .p_ab = 1,
	 .p_ba = 1,
	 .flags = SPIN_FLOW_F_MAC2,
	 .mac = 1 + SPIN_DIR_AB,
	 .mac2 = 1},
	{"v6 UDP created at egress: no MAC",
	 {.family = 6,
	  .src = "2001:db8:203::31",
	  .dst = V6A,
	  .proto = UDP,
	  .sport = 6200,
	  .dport = 5200},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V6A, 5200, "2001:db8:203::31", 6200},
	 .b_ba = 48,
	 .p_ba = 1,
	 .mac = -1},
	{"v6 UDP answer at ingress: the answering side's MAC",
	 {.family = 6,
	  .src = V6A,
	  .dst = "2001:db8:203::31",
	  .proto = UDP,
	  .sport = 5200,
	  .dport = 6200},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {UDP, V6A, 5200, "2001:db8:203::31", 6200},
	 .b_ab = 48,
	 .b_ba = 48,
	 .p_ab = 1,
	 .p_ba = 1,
	 .mac = 1 + SPIN_DIR_AB,
	 .mac2 = -1},
	{"v4 UDP with Ethernet padding counts IP bytes only",
	 {.family = 4,
	  .src = V4A,
	  .dst = "203.0.113.9",
	  .proto = UDP,
	  .sport = 5000,
	  .dport = 6000,
	  .payload_len = 100,
	  .trailer = 10},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 5000, "203.0.113.9", 6000},
	 .b_ab = 128,
	 .p_ab = 1},
	{"v4 ICMP echo request",
	 {.family = 4,
	  .src = V4A,
	  .dst = "203.0.113.5",
	  .proto = ICMP,
	  .icmp_type = 8,
	  .payload_len = 56},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {ICMP, V4A, 0, "203.0.113.5", 0, 8},
	 .b_ab = 84,
	 .p_ab = 1},
	{"v4 ICMP echo reply folds onto the request",
	 {.family = 4,
	  .src = "203.0.113.5",
	  .dst = V4A,
	  .proto = ICMP,
	  .icmp_type = 0,
	  .payload_len = 56},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {ICMP, V4A, 0, "203.0.113.5", 0, 8},
	 .b_ab = 84,
	 .b_ba = 84,
	 .p_ab = 1,
	 .p_ba = 1},
	{"v4 ICMP unreachable is its own flow (type 3 code 3)",
	 {.family = 4,
	  .src = "203.0.113.5",
	  .dst = V4A,
	  .proto = ICMP,
	  .icmp_type = 3,
	  .icmp_code = 3,
	  .payload_len = 28},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {ICMP, V4A, 0, "203.0.113.5", 0, 3, 3},
	 .b_ba = 56,
	 .p_ba = 1},
	{"v6 TCP",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = TCP,
	  .sport = 40000,
	  .dport = 443,
	  .tcp_flags = SYN,
	  .tcp_opt_len = 20},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V6A, 40000, V6B, 443},
	 .b_ab = 80,
	 .p_ab = 1,
	 .init = 1 + SPIN_DIR_AB},
	{"v6 TCP reply folds",
	 {.family = 6,
	  .src = V6B,
	  .dst = V6A,
	  .proto = TCP,
	  .sport = 443,
	  .dport = 40000,
	  .tcp_flags = SYNACK},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {TCP, V6A, 40000, V6B, 443},
	 .b_ab = 80,
	 .b_ba = 60,
	 .p_ab = 1,
	 .p_ba = 1,
	 .init = 1 + SPIN_DIR_AB},
	{"v6 UDP",
	 {.family = 6,
	  .src = V6B,
	  .dst = V6A,
	  .proto = UDP,
	  .sport = 123,
	  .dport = 123,
	  .payload_len = 48},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V6A, 123, V6B, 123},
	 .b_ba = 96,
	 .p_ba = 1},
	{"v6 ICMPv6 echo request",
	 {.family = 6, .src = V6A, .dst = V6B, .proto = ICMP6, .icmp_type = 128, .payload_len = 16},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {ICMP6, V6A, 0, V6B, 0, 128},
	 .b_ab = 64,
	 .p_ab = 1},
	{"v6 ICMPv6 echo reply folds onto the request",
	 {.family = 6, .src = V6B, .dst = V6A, .proto = ICMP6, .icmp_type = 129, .payload_len = 16},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .key = {ICMP6, V6A, 0, V6B, 0, 128},
	 .b_ab = 64,
	 .b_ba = 64,
	 .p_ab = 1,
	 .p_ba = 1},
	{"802.1Q VLAN v4 UDP",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = UDP,
	  .sport = 1111,
	  .dport = 2222,
	  .n_vlan = 1,
	  .payload_len = 4},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 1111, V4B, 2222},
	 .b_ab = 32,
	 .p_ab = 1},
	{"QinQ (802.1ad + 802.1Q) v6 TCP",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = TCP,
	  .sport = 3333,
	  .dport = 80,
	  .n_vlan = 2,
	  .outer_tpid = 0x88a8},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V6A, 3333, V6B, 80},
	 .b_ab = 60,
	 .p_ab = 1},
	{"three VLAN tags are not followed: not IP",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = UDP, .sport = 1, .dport = 2, .n_vlan = 3},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_NOT_IP] = 1}},
	{"v6 hop-by-hop + destination options + UDP",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .sport = 7000,
	  .dport = 7001,
	  .ext = {PB_HOPOPTS, PB_DSTOPTS},
	  .n_ext = 2,
	  .payload_len = 8},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V6A, 7000, V6B, 7001},
	 .b_ab = 88,
	 .p_ab = 1},
	{"v6 routing header + TCP",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = TCP,
	  .sport = 7002,
	  .dport = 7003,
	  .ext = {PB_ROUTING},
	  .n_ext = 1},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V6A, 7002, V6B, 7003},
	 .b_ab = 76,
	 .p_ab = 1},
	{"v6 six extension headers (the limit) + UDP",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .sport = 1,
	  .dport = 2,
	  .ext = {0, 60, 60, 60, 60, 60},
	  .n_ext = 6},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V6A, 1, V6B, 2},
	 .b_ab = 144,
	 .p_ab = 1},
	{"v6 seven extension headers: parse error, passed",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .sport = 1,
	  .dport = 2,
	  .ext = {0, 60, 60, 60, 60, 60, 60},
	  .n_ext = 7},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"v4 with options (IHL 6) + UDP",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = UDP,
	  .sport = 8000,
	  .dport = 8001,
	  .ip4_opt_len = 4,
	  .payload_len = 2},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 8000, V4B, 8001},
	 .b_ab = 34,
	 .p_ab = 1},
	{"ARP is not IP: passed, not counted",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = UDP, .ethertype = 0x0806},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_NOT_IP] = 1}},
	{"bad IHL (3): parse error, passed",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = UDP, .ihl = 3},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"IHL beyond the packet: parse error",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = 50, .ihl = 15},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"IPv4 ethertype with version 6: parse error",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = UDP, .version = 6},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	/* in a VLAN: test_run itself refuses an untagged IPv6 frame shorter than 54 bytes */
	{"short IPv6 header (VLAN-tagged): parse error",
	 {.family = 6, .src = V6A, .dst = V6B, .proto = UDP, .n_vlan = 1, .truncate = 18 + 30},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"truncated TCP header: parse error",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = TCP,
	  .sport = 1,
	  .dport = 2,
	  .truncate = 14 + 20 + 12},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"TCP data offset beyond the packet: parse error",
	 {.family = 4, .src = V4A, .dst = V4B, .proto = TCP, .sport = 1, .dport = 2, .doff = 15},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"truncated v6 extension header: parse error",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .ext = {PB_HOPOPTS},
	  .n_ext = 1,
	  .truncate = 14 + 40 + 10},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_PARSE_ERR] = 1}},
	{"GSO: 40 segments count 40 packets and 40 IP+TCP headers",
	 {.family = 4,
	  .src = V4A,
	  .dst = "203.0.113.40",
	  .proto = TCP,
	  .sport = 40040,
	  .dport = 443,
	  .payload_len = 1000},
	 H_OUT,
	 .gso_segs = 40,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 40040, "203.0.113.40", 443},
	 .b_ab = 1040 + 39 * 40,
	 .p_ab = 40},
	{"GSO v6 with TCP options: headers of 72 bytes per extra segment",
	 {.family = 6,
	  .src = V6B,
	  .dst = V6A,
	  .proto = TCP,
	  .sport = 443,
	  .dport = 40041,
	  .tcp_opt_len = 12,
	  .payload_len = 1000},
	 H_IN,
	 .gso_segs = 3,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V6A, 40041, V6B, 443},
	 .b_ba = 1072 + 2 * 72,
	 .p_ba = 3},
	{"egress of a packet that came in on an attached interface: skipped",
	 {.family = 4, .src = V4A, .dst = "203.0.113.77", .proto = UDP, .sport = 9, .dport = 9},
	 H_OUT,
	 .in_if = H_ATTACHED_IF,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_SKIPPED_EGRESS] = 1},
	 .skipped = 1,
	 .key = {UDP, V4A, 9, "203.0.113.77", 9},
	 .absent = 1},
	{"egress of a packet routed from a non-attached interface: counted",
	 {.family = 4, .src = V4A, .dst = "203.0.113.77", .proto = UDP, .sport = 9, .dport = 9},
	 H_OUT,
	 .in_if = 3,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 9, "203.0.113.77", 9},
	 .b_ab = 28,
	 .p_ab = 1},
	{"v4 first fragment carries the ports",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = UDP,
	  .sport = 4444,
	  .dport = 5555,
	  .ip_id = 77,
	  .frag = 0x2000,
	  .payload_len = 96},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_FRAGMENTS] = 1},
	 .key = {UDP, V4A, 4444, V4B, 5555},
	 .b_ab = 124,
	 .p_ab = 1,
	 .flags = SPIN_FLOW_F_FRAG},
	{"v4 later fragment joins the first fragment's flow",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = UDP,
	  .ip_id = 77,
	  .frag = 13,
	  .payload_len = 50},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FRAGMENTS] = 1},
	 .key = {UDP, V4A, 4444, V4B, 5555},
	 .b_ab = 124 + 70,
	 .p_ab = 2,
	 .flags = SPIN_FLOW_F_FRAG},
	{"v4 later fragment without its first: ports 0, frag_unknown",
	 {.family = 4,
	  .src = V4A,
	  .dst = V4B,
	  .proto = UDP,
	  .ip_id = 78,
	  .frag = 13,
	  .payload_len = 50},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_FRAGMENTS] = 1, [SPIN_STAT_FRAG_UNKNOWN] = 1},
	 .key = {UDP, V4A, 0, V4B, 0},
	 .b_ab = 70,
	 .p_ab = 1},
	{"v6 first fragment (fragment header) carries the ports",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .sport = 4444,
	  .dport = 5555,
	  .ext = {PB_FRAGMENT},
	  .n_ext = 1,
	  .frag6_id = 0xabcdef,
	  .frag6_mf = 1,
	  .payload_len = 96},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_FRAGMENTS] = 1},
	 .key = {UDP, V6A, 4444, V6B, 5555},
	 .b_ab = 152,
	 .p_ab = 1},
	{"v6 hop-by-hop + later fragment joins the flow",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .ext = {PB_HOPOPTS, PB_FRAGMENT},
	  .n_ext = 2,
	  .frag6_id = 0xabcdef,
	  .frag6_off = 13,
	  .payload_len = 40},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FRAGMENTS] = 1},
	 .key = {UDP, V6A, 4444, V6B, 5555},
	 .b_ab = 152 + 104,
	 .p_ab = 2},
	{"v6 later fragment without its first: frag_unknown",
	 {.family = 6,
	  .src = V6A,
	  .dst = V6B,
	  .proto = UDP,
	  .ext = {PB_FRAGMENT},
	  .n_ext = 1,
	  .frag6_id = 0x99,
	  .frag6_off = 13,
	  .payload_len = 40},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_FRAGMENTS] = 1, [SPIN_STAT_FRAG_UNKNOWN] = 1},
	 .key = {UDP, V6A, 0, V6B, 0},
	 .b_ab = 88,
	 .p_ab = 1},
	{"DNS query over UDP/IPv4: one event",
	 {.family = 4,
	  .src = V4A,
	  .dst = "192.0.2.53",
	  .proto = UDP,
	  .sport = 33333,
	  .dport = 53,
	  .payload = dns_query,
	  .payload_len = sizeof(dns_query)},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DNS_EVENTS] = 1},
	 .key = {UDP, V4A, 33333, "192.0.2.53", 53},
	 .b_ab = 57,
	 .p_ab = 1,
	 .dns = 1,
	 .l3 = 14,
	 .l4 = 34,
	 .dns_off = 42,
	 .cap = 71},
	{"DNS answer over UDP/IPv6 in a VLAN: one event",
	 {.family = 6,
	  .src = "2001:db8::53",
	  .dst = V6A,
	  .proto = UDP,
	  .sport = 53,
	  .dport = 33333,
	  .n_vlan = 1,
	  .payload = dns_query,
	  .payload_len = sizeof(dns_query)},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DNS_EVENTS] = 1},
	 .key = {UDP, V6A, 33333, "2001:db8::53", 53},
	 .b_ba = 77,
	 .p_ba = 1,
	 .dns = 1,
	 .l3 = 18,
	 .l4 = 58,
	 .dns_off = 66,
	 .cap = 95},
	{"DNS over TCP/IPv4: event after the length prefix",
	 {.family = 4,
	  .src = V4A,
	  .dst = "192.0.2.53",
	  .proto = TCP,
	  .sport = 33334,
	  .dport = 53,
	  .tcp_flags = PSHACK,
	  .payload_len = 31},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DNS_EVENTS] = 1},
	 .key = {TCP, V4A, 33334, "192.0.2.53", 53},
	 .b_ab = 71,
	 .p_ab = 1,
	 .dns = 1,
	 .l3 = 14,
	 .l4 = 34,
	 .dns_off = 56,
	 .cap = 85},
	{"DNS over TCP/IPv6 with options",
	 {.family = 6,
	  .src = "2001:db8::53",
	  .dst = V6A,
	  .proto = TCP,
	  .sport = 53,
	  .dport = 33335,
	  .tcp_flags = PSHACK,
	  .tcp_opt_len = 12,
	  .payload_len = 40},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DNS_EVENTS] = 1},
	 .key = {TCP, V6A, 33335, "2001:db8::53", 53},
	 .b_ba = 112,
	 .p_ba = 1,
	 .dns = 1,
	 .l3 = 14,
	 .l4 = 54,
	 .dns_off = 88,
	 .cap = 126},
	{"TCP SYN to port 53 carries no message: no event",
	 {.family = 4,
	  .src = V4A,
	  .dst = "192.0.2.53",
	  .proto = TCP,
	  .sport = 33336,
	  .dport = 53,
	  .tcp_flags = SYN},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 33336, "192.0.2.53", 53},
	 .b_ab = 40,
	 .p_ab = 1},
	{"non-DNS UDP (mDNS 5353): no event",
	 {.family = 4,
	  .src = V4A,
	  .dst = "192.0.2.53",
	  .proto = UDP,
	  .sport = 5353,
	  .dport = 5353,
	  .payload = dns_query,
	  .payload_len = sizeof(dns_query)},
	 H_IN,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {UDP, V4A, 5353, "192.0.2.53", 5353},
	 .b_ab = 57,
	 .p_ab = 1},
	{"large DNS answer: copy cut at SPIN_DNS_CAP, counted as truncated",
	 {.family = 4,
	  .src = "192.0.2.53",
	  .dst = V4A,
	  .proto = UDP,
	  .sport = 53,
	  .dport = 33337,
	  .payload_len = 1800},
	 H_OUT,
	 .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DNS_EVENTS] = 1, [SPIN_STAT_DNS_TRUNC] = 1},
	 .key = {UDP, V4A, 33337, "192.0.2.53", 53},
	 .mac = -1, /* egress: the source MAC is the gateway's own */
	 .b_ba = 1828,
	 .p_ba = 1,
	 .dns = 1,
	 .l3 = 14,
	 .l4 = 34,
	 .dns_off = 42,
	 .cap = SPIN_DNS_CAP},
};

#define BLK4 "203.0.113.66"
#define BLK6 "2001:db8:bad::1"
#define OK4  "192.0.2.99" /* on the allow list */

static uint32_t gen = 1;
static struct spin_cfg cur_cfg;

static void set_cfg(struct h_env *e, uint32_t n_block, uint32_t n_allow, uint32_t n_prefix,
		    uint32_t n_pair)
{
	cur_cfg = (struct spin_cfg){.layout_version = SPIN_LAYOUT_VERSION,
				    .policy_gen = ++gen,
				    .clock_sec = 100,
				    .n_addr_block = n_block,
				    .n_addr_allow = n_allow,
				    .n_prefix = n_prefix,
				    .n_pair = n_pair};
	CHECK_INT(h_cfg(e, &cur_cfg), 0, "write spin_cfg");
}

static void setup_policy(struct h_env *e)
{
	int err = 0;

	err |= h_pol_addr(e, BLK4, SPIN_POL_BLOCK);
	err |= h_pol_addr(e, BLK6, SPIN_POL_BLOCK);
	err |= h_pol_addr(e, OK4, SPIN_POL_ALLOW);
	err |= h_pol_addr(e, "198.51.100.178", SPIN_POL_ALLOW);
	err |= h_pol_prefix(e, "198.51.100.128", 25, SPIN_POL_BLOCK);
	err |= h_pol_prefix(e, "2001:db8:dead::", 48, SPIN_POL_BLOCK);
	err |= h_pol_pair(e, "192.0.2.20", "203.0.113.20");
	CHECK_INT(err, 0, "write the policy maps");
	set_cfg(e, 2, 2, 2, 1);
}

/* A block added without a policy_gen bump: existing flows keep their cached verdict. */
static void setup_block_no_bump(struct h_env *e)
{
	CHECK_INT(h_pol_addr(e, "203.0.113.30", SPIN_POL_BLOCK), 0, "block 203.0.113.30");
	cur_cfg.n_addr_block = 3;
	CHECK_INT(h_cfg(e, &cur_cfg), 0, "write spin_cfg, same policy_gen");
}

static void setup_bump(struct h_env *e)
{
	set_cfg(e, 3, 2, 2, 1);
}

static void setup_unblock_bump(struct h_env *e)
{
	CHECK_INT(h_pol_addr(e, "203.0.113.30", 0), 0, "unblock 203.0.113.30");
	set_cfg(e, 2, 2, 2, 1);
}

/* All counts zero: the maps still hold entries, but nothing is enforced. */
static void setup_empty(struct h_env *e)
{
	set_cfg(e, 0, 0, 0, 0);
}

#define T4(s, d, sp, dp) .family = 4, .src = s, .dst = d, .proto = TCP, .sport = sp, .dport = dp
#define U6(s, d, sp, dp) .family = 6, .src = s, .dst = d, .proto = UDP, .sport = sp, .dport = dp

static const struct row policy[] = {
	{"block by v4 address: TC drops, blk counters", .setup = setup_policy,
	 .pkt = {T4(V4A, BLK4, 1000, 80), .tcp_flags = SYN}, H_IN, .verdict = TC_ACT_SHOT,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, V4A, 1000, BLK4, 80}, .blk_b = 40, .blk_p = 1},
	{"block by v4 address: the other direction too", .pkt = {T4(BLK4, V4A, 80, 1000)}, H_OUT,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_DROP_TC] = 1}, .key = {TCP, V4A, 1000, BLK4, 80},
	 .blk_b = 80, .blk_p = 2},
	{"block by v4 address: ICMP too",
	 .pkt = {.family = 4, .src = V4A, .dst = BLK4, .proto = ICMP, .icmp_type = 8}, H_OUT,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {ICMP, V4A, 0, BLK4, 0, 8}, .blk_b = 28, .blk_p = 1},
	{"block by v6 address", .pkt = {U6(V6A, BLK6, 5000, 53)}, H_OUT, .verdict = TC_ACT_SHOT,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {UDP, V6A, 5000, BLK6, 53}, .blk_b = 48, .blk_p = 1},
	{"block by v6 address: ICMPv6 too",
	 .pkt = {.family = 6, .src = BLK6, .dst = V6A, .proto = ICMP6, .icmp_type = 128}, H_IN,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {ICMP6, V6A, 0, BLK6, 0, 128}, .blk_b = 48, .blk_p = 1},
	{"block by v4 prefix (/25)", .pkt = {T4(V4A, "198.51.100.177", 1001, 443)}, H_IN,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, V4A, 1001, "198.51.100.177", 443}, .blk_b = 40, .blk_p = 1},
	{"outside the v4 prefix passes", .pkt = {T4(V4A, "198.51.100.100", 1002, 443)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 1002, "198.51.100.100", 443}, .b_ab = 40, .p_ab = 1},
	{"block by v6 prefix (/48)", .pkt = {U6("2001:db8:dead:1::5", V6A, 443, 5001)}, H_IN,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {UDP, V6A, 5001, "2001:db8:dead:1::5", 443}, .blk_b = 48, .blk_p = 1},
	{"allowed address inside a blocked prefix passes",
	 .pkt = {T4(V4A, "198.51.100.178", 1003, 443)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1}, .key = {TCP, V4A, 1003, "198.51.100.178", 443},
	 .b_ab = 40, .p_ab = 1},
	{"allowed device talking to a blocked address passes", .pkt = {T4(OK4, BLK4, 1004, 80)},
	 H_IN, .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, OK4, 1004, BLK4, 80}, .b_ab = 40, .p_ab = 1},
	{"pair block: A to B dropped", .pkt = {T4("192.0.2.20", "203.0.113.20", 1005, 80)}, H_IN,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, "192.0.2.20", 1005, "203.0.113.20", 80}, .blk_b = 40, .blk_p = 1},
	{"pair block: B to A dropped (new flow)",
	 .pkt = {T4("203.0.113.20", "192.0.2.20", 22, 1006)}, H_OUT, .verdict = TC_ACT_SHOT,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, "192.0.2.20", 1006, "203.0.113.20", 22}, .blk_b = 40, .blk_p = 1},
	{"pair block: a third address to B passes",
	 .pkt = {T4("192.0.2.21", "203.0.113.20", 1007, 80)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1}, .key = {TCP, "192.0.2.21", 1007, "203.0.113.20", 80},
	 .b_ab = 40, .p_ab = 1},
	{"pair block: A to a third address passes",
	 .pkt = {T4("192.0.2.20", "203.0.113.21", 1008, 80)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1}, .key = {TCP, "192.0.2.20", 1008, "203.0.113.21", 80},
	 .b_ab = 40, .p_ab = 1},
	{"XDP drops a blocked address and creates the flow",
	 .pkt = {T4(V4A, BLK4, 2000, 80), .tcp_flags = SYN}, H_XDP, .verdict = XDP_DROP,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_XDP] = 1},
	 .key = {TCP, V4A, 2000, BLK4, 80}, .blk_b = 40, .blk_p = 1, .mac = 1 + SPIN_DIR_AB},
	{"XDP drops a blocked v6 prefix", .pkt = {U6("2001:db8:dead::9", V6A, 443, 5002)}, H_XDP,
	 .verdict = XDP_DROP, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_XDP] = 1},
	 .key = {UDP, V6A, 5002, "2001:db8:dead::9", 443}, .blk_b = 48, .blk_p = 1},
	{"XDP passes allowed traffic without counting it",
	 .pkt = {T4(V4A, "203.0.113.99", 2001, 80)}, H_XDP, .verdict = XDP_PASS,
	 .key = {TCP, V4A, 2001, "203.0.113.99", 80}, .absent = 1},
	{"XDP passes a malformed packet", .pkt = {T4(V4A, BLK4, 1, 2), .ihl = 3}, H_XDP,
	 .verdict = XDP_PASS},
	{"established flow passes", .pkt = {T4("192.0.2.30", "203.0.113.30", 3000, 80)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, "192.0.2.30", 3000, "203.0.113.30", 80}, .b_ab = 40, .p_ab = 1},
	{"block without a policy_gen bump: cached verdict still passes",
	 .setup = setup_block_no_bump, .pkt = {T4("192.0.2.30", "203.0.113.30", 3000, 80)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .key = {TCP, "192.0.2.30", 3000, "203.0.113.30", 80}, .b_ab = 80,
	 .p_ab = 2},
	{"policy_gen bump: the existing flow is now dropped", .setup = setup_bump,
	 .pkt = {T4("203.0.113.30", "192.0.2.30", 80, 3000)}, H_OUT, .verdict = TC_ACT_SHOT,
	 .st = {[SPIN_STAT_DROP_TC] = 1}, .key = {TCP, "192.0.2.30", 3000, "203.0.113.30", 80},
	 .b_ab = 80, .p_ab = 2, .blk_b = 40, .blk_p = 1},
	{"XDP drops the existing flow from its cached verdict",
	 .pkt = {T4("203.0.113.30", "192.0.2.30", 80, 3000)}, H_XDP, .verdict = XDP_DROP,
	 .st = {[SPIN_STAT_DROP_XDP] = 1}, .key = {TCP, "192.0.2.30", 3000, "203.0.113.30", 80},
	 .b_ab = 80, .p_ab = 2, .blk_b = 80, .blk_p = 2},
	{"unblock + bump: the flow passes again", .setup = setup_unblock_bump,
	 .pkt = {T4("192.0.2.30", "203.0.113.30", 3000, 80)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .key = {TCP, "192.0.2.30", 3000, "203.0.113.30", 80}, .b_ab = 120, .p_ab = 3, .blk_b = 80,
	 .blk_p = 2},
	{"empty policy: XDP exits at once (blocked entry left in the map)", .setup = setup_empty,
	 .pkt = {T4(V4A, BLK4, 2002, 80)}, H_XDP, .verdict = XDP_PASS,
	 .key = {TCP, V4A, 2002, BLK4, 80}, .absent = 1},
	{"empty policy: TC passes and counts the formerly blocked flow",
	 .pkt = {T4(V4A, BLK4, 1000, 80)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .key = {TCP, V4A, 1000, BLK4, 80}, .b_ab = 40, .p_ab = 1, .blk_b = 80, .blk_p = 2},
};

/* pb_build()'s frames: destination 02:00:00:00:00:01, source 02:00:00:00:00:02. */
static const uint8_t pb_frame_dmac[6] = {0x02, 0, 0, 0, 0, 1},
		     pb_frame_smac[6] = {0x02, 0, 0, 0, 0, 2};

static void set_macs(struct h_env *e, uint32_t n_mac)
{
	cur_cfg.n_mac = n_mac;
	cur_cfg.policy_gen = ++gen;
	CHECK_INT(h_cfg(e, &cur_cfg), 0, "write spin_cfg.n_mac");
}

/* A blocked device (by MAC), with no address of it listed: the rest of the policy is empty. */
static void setup_mac_block_src(struct h_env *e)
{
	CHECK_INT(h_pol_mac(e, pb_frame_smac, SPIN_POL_BLOCK), 0, "block the source MAC");
	set_macs(e, 1);
}

static void setup_mac_block_dst(struct h_env *e)
{
	CHECK_INT(h_pol_mac(e, pb_frame_smac, 0), 0, "unblock the source MAC");
	CHECK_INT(h_pol_mac(e, pb_frame_dmac, SPIN_POL_BLOCK), 0, "block the destination MAC");
	set_macs(e, 1);
}

static void setup_mac_unblock(struct h_env *e)
{
	CHECK_INT(h_pol_mac(e, pb_frame_dmac, 0), 0, "unblock the destination MAC");
	set_macs(e, 0);
}

static const struct row device_policy[] = {
	{"device block: an address of a blocked device nobody listed is dropped (source MAC)",
	 .setup = setup_mac_block_src, .pkt = {T4("192.0.2.123", "203.0.113.77", 4000, 80)}, H_IN,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, "192.0.2.123", 4000, "203.0.113.77", 80}, .blk_b = 40, .blk_p = 1},
	{"device block: XDP drops it too (only a MAC on the lists)",
	 .pkt = {T4("192.0.2.124", "203.0.113.77", 4001, 80)}, H_XDP, .verdict = XDP_DROP,
	 .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_XDP] = 1},
	 .key = {TCP, "192.0.2.124", 4001, "203.0.113.77", 80}, .blk_b = 40, .blk_p = 1},
	{"device block: a frame to the blocked device is dropped (destination MAC)",
	 .setup = setup_mac_block_dst, .pkt = {T4("203.0.113.78", "192.0.2.125", 80, 4002)}, H_OUT,
	 .verdict = TC_ACT_SHOT, .st = {[SPIN_STAT_FLOW_NEW] = 1, [SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, "192.0.2.125", 4002, "203.0.113.78", 80}, .blk_b = 40, .blk_p = 1},
	{"device unblocked + bump: its flow passes and counts again", .setup = setup_mac_unblock,
	 .pkt = {T4("192.0.2.123", "203.0.113.77", 4000, 80)}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .key = {TCP, "192.0.2.123", 4000, "203.0.113.77", 80}, .b_ab = 40, .p_ab = 1, .blk_b = 40,
	 .blk_p = 1},
};

static void setup_small_block(struct h_env *e)
{
	CHECK_INT(h_pol_addr(e, BLK4, SPIN_POL_BLOCK), 0, "block " BLK4);
	set_cfg(e, 1, 0, 0, 0);
}

/* Run against a second load with spin_flows shrunk to 4 entries and DNS events off. */
static const struct row small[] = {
	{"small map: flow 1", .pkt = {T4(V4A, "203.0.113.1", 1, 80)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1},
	 .key = {TCP, V4A, 1, "203.0.113.1", 80}, .b_ab = 40, .p_ab = 1},
	{"small map: flow 2", .pkt = {T4(V4A, "203.0.113.2", 1, 80)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1}},
	{"small map: flow 3", .pkt = {T4(V4A, "203.0.113.3", 1, 80)}, H_IN,
	 .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1}},
	{"small map: DNS with events disabled: no event, flow 4",
	 .pkt = {.family = 4,
		 .src = V4A,
		 .dst = "192.0.2.53",
		 .proto = UDP,
		 .sport = 33333,
		 .dport = 53,
		 .payload = dns_query,
		 .payload_len = sizeof(dns_query)},
	 H_IN, .verdict = TC_ACT_UNSPEC, .st = {[SPIN_STAT_FLOW_NEW] = 1}},
	{"map full: the packet goes to the overflow counters",
	 .pkt = {T4(V4A, "203.0.113.5", 1, 80), .payload_len = 100}, H_IN, .verdict = TC_ACT_UNSPEC,
	 .st = {[SPIN_STAT_FLOW_MAP_FULL] = 1,
		[SPIN_STAT_OVERFLOW_BYTES] = 140,
		[SPIN_STAT_OVERFLOW_PKTS] = 1},
	 .key = {TCP, V4A, 1, "203.0.113.5", 80}, .absent = 1},
	{"map full: existing flows still count", .pkt = {T4("203.0.113.1", V4A, 80, 1)}, H_OUT,
	 .verdict = TC_ACT_UNSPEC, .key = {TCP, V4A, 1, "203.0.113.1", 80}, .b_ab = 40, .b_ba = 40,
	 .p_ab = 1, .p_ba = 1},
	{"map full: a blocked packet is still dropped", .setup = setup_small_block,
	 .pkt = {T4(V4A, BLK4, 1, 80)}, H_IN, .verdict = TC_ACT_SHOT,
	 .st = {[SPIN_STAT_FLOW_MAP_FULL] = 1,
		[SPIN_STAT_OVERFLOW_BYTES] = 40,
		[SPIN_STAT_OVERFLOW_PKTS] = 1,
		[SPIN_STAT_DROP_TC] = 1},
	 .key = {TCP, V4A, 1, BLK4, 80}, .absent = 1},
	{"map full: XDP still drops a blocked packet", .pkt = {T4(V4A, BLK4, 2, 80)}, H_XDP,
	 .verdict = XDP_DROP,
	 .st = {[SPIN_STAT_FLOW_MAP_FULL] = 1,
		[SPIN_STAT_OVERFLOW_BYTES] = 40,
		[SPIN_STAT_OVERFLOW_PKTS] = 1,
		[SPIN_STAT_DROP_XDP] = 1}},
};

/* The Ethernet source pb_build() writes. */
static const uint8_t pb_smac[6] = {0x02, 0, 0, 0, 0, 2};

static void check_flow_mac(const struct row *r, const struct h_flow *f)
{
	char name[256];

	snprintf(name, sizeof(name), "%s: MAC %s", r->name, r->mac > 0 ? "recorded" : "absent");
	CHECK_INT(!!(f->flags & SPIN_FLOW_F_MAC), r->mac > 0, name);
	if (r->mac < 0)
		return;
	snprintf(name, sizeof(name), "%s: MAC side", r->name);
	CHECK_INT(f->mac_dir, r->mac - 1, name);
	snprintf(name, sizeof(name), "%s: MAC is the frame's source", r->name);
	CHECK(memcmp(f->mac, pb_smac, 6) == 0, name);
	if (!r->mac2)
		return;
	snprintf(name, sizeof(name), "%s: other side's MAC %s", r->name,
		 r->mac2 > 0 ? "recorded" : "absent");
	CHECK_INT(!!(f->flags & SPIN_FLOW_F_MAC2), r->mac2 > 0, name);
	if (r->mac2 > 0) {
		snprintf(name, sizeof(name), "%s: other side's MAC is the frame's source", r->name);
		CHECK(memcmp(f->mac2, pb_smac, 6) == 0, name);
	}
}

static void run_row(struct h_env *e, const struct row *r)
{
	uint64_t before[SPIN_STAT_MAX], after[SPIN_STAT_MAX];
	uint8_t buf[PB_MAX];
	char name[256];
	size_t len;
	int rc, i;

	if (r->setup)
		r->setup(e);
	len = pb_build(&r->pkt, buf);
	h_consume(e);
	h_stats(e, before);
	rc = h_run(e, r->hook, buf, len, r->in_if, r->gso_segs);
	h_stats(e, after);
	h_consume(e);

	snprintf(name, sizeof(name), "%s: verdict", r->name);
	CHECK_INT(rc, r->verdict, name);
	for (i = 0; i < SPIN_STAT_MAX; i++) {
		static const char *names[] = SPIN_STAT_NAMES;
		long long want = r->st[i];

		if (i == SPIN_STAT_PACKETS && r->hook != H_XDP && !r->skipped && !r->no_packet)
			want = 1;
		if ((long long)(after[i] - before[i]) != want) {
			snprintf(name, sizeof(name), "%s: stat %s", r->name, names[i]);
			CHECK_INT(after[i] - before[i], want, name);
		}
	}
	snprintf(name, sizeof(name), "%s: stats deltas", r->name);
	CHECK(1, name); /* any wrong delta was reported above */

	if (r->key.a) {
		struct h_flow f;
		int err = h_flow(e, &r->key, &f);

		snprintf(name, sizeof(name), "%s: flow %s", r->name,
			 r->absent ? "absent" : "present");
		if (CHECK_INT(err, r->absent ? -ENOENT : 0, name) && !r->absent) {
			uint64_t got[6] = {f.bytes[0],	 f.bytes[1],  f.packets[0],
					   f.packets[1], f.blk_bytes, f.blk_packets};
			uint64_t want[6] = {r->b_ab, r->b_ba, r->p_ab, r->p_ba, r->blk_b, r->blk_p};
			static const char *what[6] = {"bytes A->B",   "bytes B->A", "packets A->B",
						      "packets B->A", "blk_bytes",  "blk_packets"};

			for (i = 0; i < 6; i++) {
				snprintf(name, sizeof(name), "%s: %s", r->name, what[i]);
				CHECK_INT(got[i], want[i], name);
			}
			if (r->init) {
				snprintf(name, sizeof(name), "%s: initiator", r->name);
				CHECK_INT(f.initiator, r->init - 1, name);
			}
			if (r->flags) {
				snprintf(name, sizeof(name), "%s: flags", r->name);
				CHECK_INT(f.flags & r->flags, r->flags, name);
			}
			if (r->mac)
				check_flow_mac(r, &f);
		}
	}
	snprintf(name, sizeof(name), "%s: DNS events", r->name);
	CHECK_INT(e->n_events, r->dns, name);
	if (r->dns && e->n_events) {
		const struct spin_dns_event *ev = &e->last_ev;
		long long got[8] = {ev->type,	 ev->l3_off,	  ev->l4_off,  ev->dns_off,
				    ev->cap_len, e->last_ev_size, ev->pkt_len, ev->hook};
		long long want[8] = {
			SPIN_EV_DNS, r->l3,
			r->l4,	     r->dns_off,
			r->cap,	     sizeof(*ev) + r->cap,
			len,	     r->hook == H_IN ? SPIN_HOOK_TC_INGRESS : SPIN_HOOK_TC_EGRESS};
		static const char *what[8] = {"type",	 "l3_off",	"l4_off",  "dns_off",
					      "cap_len", "record size", "pkt_len", "hook"};

		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "%s: event %s", r->name, what[i]);
			CHECK_INT(got[i], want[i], name);
		}
		snprintf(name, sizeof(name), "%s: event data is the frame", r->name);
		CHECK(memcmp(e->last_ev_data, buf, ev->cap_len) == 0, name);
		snprintf(name, sizeof(name), "%s: event family/proto", r->name);
		CHECK_INT(ev->family * 1000 + ev->proto, r->pkt.family * 1000 + r->pkt.proto, name);
	}
}

/* --- capture: frames to or from a MAC in spin_capmac become SPIN_EV_CAPTURE records --- */

static const uint8_t cap_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x0a};
static const uint8_t other_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x0b};

struct cap_row {
	const char *name;
	enum h_hook hook;
	uint32_t in_if;
	int to_cap, from_cap; /* the captured MAC as destination / source */
	uint32_t n_capture;   /* spin_cfg.n_capture (the entry stays in the map) */
	uint16_t payload_len;
	uint16_t ethertype;
	int events;	  /* capture records expected */
	uint16_t cap_len; /* 0: the whole frame */
};

static const struct cap_row cap_rows[] = {
	{"capture: frame to the MAC at ingress", H_IN, 0, 1, 0, 1, 100, 0, 1, 0},
	{"capture: frame from the MAC at egress", H_OUT, 0, 0, 1, 1, 100, 0, 1, 0},
	{"capture: the MAC on both sides, one record", H_IN, 0, 1, 1, 1, 10, 0, 1, 0},
	{"capture: non-IP frame (ARP ethertype) to the MAC", H_IN, 0, 1, 0, 1, 10, 0x0806, 1, 0},
	{"capture: 2000-byte frame cut at the snap length", H_IN, 0, 1, 0, 1, 1946, 0, 1,
	 SPIN_CAP_SNAPLEN},
	{"capture: other MACs give no record", H_IN, 0, 0, 0, 1, 100, 0, 0, 0},
	{"capture: n_capture 0 gives no record", H_IN, 0, 1, 0, 0, 100, 0, 0, 0},
	{"capture: egress already counted at ingress, no second record", H_OUT, H_ATTACHED_IF, 0, 1,
	 1, 100, 0, 0, 0},
	{"capture: XDP never captures", H_XDP, 0, 1, 0, 1, 100, 0, 0, 0},
};

static void run_cap_row(struct h_env *e, const struct cap_row *r)
{
	struct pb_spec spec = {.family = 4,
			       .src = V4A,
			       .dst = V4B,
			       .proto = TCP,
			       .sport = 40000,
			       .dport = 443,
			       .payload_len = r->payload_len,
			       .ethertype = r->ethertype};
	uint64_t before[SPIN_STAT_MAX], after[SPIN_STAT_MAX];
	uint8_t buf[PB_MAX];
	char name[256];
	size_t len, want_cap;

	cur_cfg.n_capture = r->n_capture;
	CHECK_INT(h_cfg(e, &cur_cfg), 0, "write spin_cfg.n_capture");
	len = pb_build(&spec, buf);
	memcpy(buf, r->to_cap ? cap_mac : other_mac, 6);
	memcpy(buf + 6, r->from_cap ? cap_mac : other_mac, 6);
	h_consume(e);
	e->n_events = 0;
	h_stats(e, before);
	h_run(e, r->hook, buf, len, r->in_if, 0);
	h_stats(e, after);
	h_consume(e);

	snprintf(name, sizeof(name), "%s: records", r->name);
	CHECK_INT(e->n_events, r->events, name);
	snprintf(name, sizeof(name), "%s: stat captured", r->name);
	CHECK_INT(after[SPIN_STAT_CAPTURED] - before[SPIN_STAT_CAPTURED], r->events, name);
	snprintf(name, sizeof(name), "%s: stat capture_lost", r->name);
	CHECK_INT(after[SPIN_STAT_CAPTURE_LOST] - before[SPIN_STAT_CAPTURE_LOST], 0, name);
	if (!r->events || !e->n_events)
		return;
	/* struct spin_cap_event has the same 32-byte head as the harness's copy */
	const struct spin_cap_event *ev = (const void *)&e->last_ev;
	want_cap = r->cap_len ? r->cap_len : len;
	long long got[6] = {ev->type,	     ev->cap_len, ev->pkt_len,
			    e->last_ev_size, ev->hook,	  ev->ifindex};
	long long want[6] = {SPIN_EV_CAPTURE,
			     want_cap,
			     len,
			     sizeof(*ev) + want_cap,
			     r->hook == H_IN ? SPIN_HOOK_TC_INGRESS : SPIN_HOOK_TC_EGRESS,
			     1};
	static const char *what[6] = {"type",	     "cap_len", "pkt_len",
				      "record size", "hook",	"ifindex"};

	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "%s: record %s", r->name, what[i]);
		CHECK_INT(got[i], want[i], name);
	}
	snprintf(name, sizeof(name), "%s: record MAC is the captured one", r->name);
	CHECK(memcmp(ev->mac, cap_mac, 6) == 0 && !ev->pad2[0] && !ev->pad2[1], name);
	snprintf(name, sizeof(name), "%s: record data is the frame", r->name);
	CHECK(memcmp(e->last_ev_data, buf, want_cap < SPIN_DNS_CAP ? want_cap : SPIN_DNS_CAP) == 0,
	      name);
}

static void capture_cases(struct h_env *e)
{
	struct spin_mac_key key = {};
	uint32_t one = 1;

	memcpy(key.mac, cap_mac, 6);
	set_cfg(e, 0, 0, 0, 0);
	CHECK_INT(bpf_map_update_elem(bpf_map__fd(e->skel->maps.spin_capmac), &key, &one, BPF_ANY),
		  0, "capture: add the MAC to spin_capmac");
	for (size_t i = 0; i < sizeof(cap_rows) / sizeof(cap_rows[0]); i++)
		run_cap_row(e, &cap_rows[i]);
	cur_cfg.n_capture = 0;
	h_cfg(e, &cur_cfg);
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

/*
 * Random frames (a third with an IPv4, a third with an IPv6 ethertype, so the parser gets
 * deep) through all three hooks, with a policy loaded so XDP parses too: no load error, no
 * drop (no random address is on the lists), never a crash.
 */
static void random_frames(struct h_env *e)
{
	int bad_rc = 0, drops = 0, i, h;
	uint8_t buf[512];

	srand(4242);
	for (i = 0; i < 3000; i++) {
		size_t len = 60 + rand() % (sizeof(buf) - 60), j;

		for (j = 0; j < len; j++)
			buf[j] = rand();
		if (i % 3 == 0)
			pb_put16(buf + 12, 0x0800), buf[14] = 0x40 | (buf[14] & 0xf);
		else if (i % 3 == 1)
			pb_put16(buf + 12, 0x86dd), buf[14] = 0x60 | (buf[14] & 0xf);
		for (h = H_IN; h <= H_XDP; h++) {
			int rc = h_run(e, h, buf, len, 0, 0);

			if (rc <= H_RUN_ERR)
				bad_rc++;
			else if (rc != (h == H_XDP ? XDP_PASS : TC_ACT_UNSPEC))
				drops++;
		}
	}
	CHECK_INT(bad_rc, 0, "random frames: every test run succeeded");
	CHECK_INT(drops, 0, "random frames: none dropped");
	h_consume(e);
}

/*
 * After the rows: IPv4 flows only in spin_flows4 (with a zero pad), IPv6 flows only in
 * spin_flows, and both maps used.
 */
static void map_split(struct h_env *e)
{
	struct spin_flow_key k, kn;
	struct spin_flow_key4 k4, k4n;
	int fd = bpf_map__fd(e->skel->maps.spin_flows), n6 = 0, not6 = 0, n4 = 0, bad4 = 0;
	int fd4 = bpf_map__fd(e->skel->maps.spin_flows4);

	for (void *prev = NULL; bpf_map_get_next_key(fd, prev, &kn) == 0; prev = &k) {
		k = kn;
		n6++;
		not6 += k.family != 6;
	}
	for (void *prev = NULL; bpf_map_get_next_key(fd4, prev, &k4n) == 0; prev = &k4) {
		k4 = k4n;
		n4++;
		bad4 += k4.pad != 0;
	}
	CHECK(n6 > 0, "map split: spin_flows holds the IPv6 flows");
	CHECK_INT(not6, 0, "map split: spin_flows holds no IPv4 flow");
	CHECK(n4 > 0, "map split: spin_flows4 holds the IPv4 flows");
	CHECK_INT(bad4, 0, "map split: spin_flows4 keys have a zero pad");
}

int main(void)
{
	struct h_env e;
	size_t i;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = h_open(&e, 0, 1);
	if (!CHECK_INT(err, 0, "load the spin skeleton unpinned"))
		return check_exit();
	for (i = 0; i < N(basic); i++)
		run_row(&e, &basic[i]);
	for (i = 0; i < N(policy); i++)
		run_row(&e, &policy[i]);
	for (i = 0; i < N(device_policy); i++)
		run_row(&e, &device_policy[i]);
	map_split(&e);
	setup_policy(&e);
	random_frames(&e);
	h_close(&e);

	err = h_open(&e, 0, 1);
	if (!CHECK_INT(err, 0, "load again for the capture cases"))
		return check_exit();
	capture_cases(&e);
	h_close(&e);

	err = h_open(&e, 4, 0);
	if (!CHECK_INT(err, 0, "load with spin_flows of 4 entries, DNS off"))
		return check_exit();
	for (i = 0; i < N(small); i++)
		run_row(&e, &small[i]);
	h_close(&e);
	return check_exit();
}
