// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/dns.c: real DNS messages (built with ldns, or captured from dnsmasq 2.89 answering
 * drill) through dns_handle_message, checking the reported queries and answers and every
 * rejection counter.
 */
#include <errno.h>
#include <stdlib.h>
#include <ldns/ldns.h>

#include "check.h"
#include "dns.h"
#include "nodes.h"

/* dnsmasq --host-record=www.x.example,203.0.113.5,2001:db8::5 --local-ttl=60
 *         --cname=alias.x.example,www.x.example --address=/nx.example/ ; drill -w */
static const uint8_t cap_a[] = {
	0xdd, 0xb4, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x77, 0x77, 0x77, 0x01, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xcb, 0x00, 0x71, 0x05,
};
static const uint8_t cap_aaaa[] = {
	0x16, 0x86, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77,
	0x77, 0x01, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x1c, 0x00,
	0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x10, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
};
static const uint8_t cap_cname[] = {
	0x4d, 0xbc, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x61,
	0x6c, 0x69, 0x61, 0x73, 0x01, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
	0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x3c, 0x00, 0x06, 0x03, 0x77, 0x77, 0x77, 0xc0, 0x12, 0xc0, 0x2d, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xcb, 0x00, 0x71, 0x05,
};
static const uint8_t cap_nx[] = {
	0xe3, 0x31, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x02, 0x6e, 0x78, 0x07, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x01, 0x00, 0x01,
};

#define MAX_REC 128

struct rec_answer {
	char client[NODES_ADDR_STRLEN];
	char name[1100];
	char addr[NODES_ADDR_STRLEN];
	uint32_t ttl;
};

struct rec_query {
	char client[NODES_ADDR_STRLEN];
	char name[1100];
	uint16_t qtype;
};

static struct rec_answer answers[MAX_REC];
static int n_answers;
static struct rec_query queries[MAX_REC];
static int n_queries;

static void on_query(const struct spin_addr *client, const char *qname, uint16_t qtype, void *ctx)
{
	struct rec_query *q;

	if (n_queries >= MAX_REC)
		return;
	q = &queries[n_queries++];
	nodes_addr_str(client, q->client);
	snprintf(q->name, sizeof(q->name), "%s", qname);
	q->qtype = qtype;
}

static void on_answer(const struct spin_addr *client, const char *name,
		      const struct spin_addr *addr, uint32_t ttl, void *ctx)
{
	struct rec_answer *a;

	if (n_answers >= MAX_REC)
		return;
	a = &answers[n_answers++];
	nodes_addr_str(client, a->client);
	snprintf(a->name, sizeof(a->name), "%s", name);
	nodes_addr_str(addr, a->addr);
	a->ttl = ttl;
}

/* As spind's: the LAN 192.0.2.0/24 and 2001:db8:1::/64, and the gateway's WAN address. */
static bool on_is_local(const struct spin_addr *a, void *ctx)
{
	static const uint8_t lan4[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2};
	static const uint8_t lan6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};
	static const uint8_t wan[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2};

	return !memcmp(a->a, lan4, sizeof(lan4)) || !memcmp(a->a, lan6, sizeof(lan6)) ||
	       !memcmp(a->a, wan, sizeof(wan));
}

static const struct dns_ops ops = {.query = on_query, .answer = on_answer};
static const struct dns_ops ops_local = {
	.query = on_query, .answer = on_answer, .is_local = on_is_local};

static void reset_ops(const struct dns_ops *o, unsigned int ttl_floor)
{
	dns_init(o, ttl_floor);
	n_answers = 0;
	n_queries = 0;
}

static void reset(unsigned int ttl_floor)
{
	reset_ops(&ops, ttl_floor);
}

static struct spin_addr addr(const char *s)
{
	struct spin_addr a;

	if (nodes_addr_parse(s, &a))
		abort();
	return a;
}

#define CLIENT	 "192.0.2.10"
#define RESOLVER "192.0.2.1"
#define CPORT	 40000

/* A query from CLIENT:CPORT to RESOLVER:53, and the way back. */
static struct dns_endpoints ep_query(void)
{
	struct dns_endpoints ep = {.saddr = addr(CLIENT),
				   .daddr = addr(RESOLVER),
				   .sport = CPORT,
				   .dport = 53,
				   .client_is_lan = true};
	return ep;
}

static struct dns_endpoints ep_resp(void)
{
	struct dns_endpoints ep = {.saddr = addr(RESOLVER),
				   .daddr = addr(CLIENT),
				   .sport = 53,
				   .dport = CPORT,
				   .client_is_lan = true};
	return ep;
}

/*
 * Builds a message with ldns. question: "name. IN TYPE"; rrs: NULL-terminated answer
 * records in zone-file form. Returns its length (aborts on error: a broken test).
 */
static size_t build(uint8_t *out, size_t cap, uint16_t id, bool qr, ldns_pkt_rcode rcode,
		    const char *question, const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr;
	uint8_t *wire;
	size_t len;

	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, qr);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_rcode(p, rcode);
	if (ldns_rr_new_question_frm_str(&rr, question, NULL, NULL) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr);
	for (; rrs && *rrs; rrs++) {
		if (ldns_rr_new_frm_str(&rr, *rrs, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK || len > cap)
		abort();
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static int send_query(uint16_t id, const char *question, time_t now)
{
	struct dns_endpoints ep = ep_query();
	uint8_t buf[512];
	size_t len = build(buf, sizeof(buf), id, false, LDNS_RCODE_NOERROR, question, NULL);

	return dns_handle_message(buf, len, &ep, now);
}

static int send_resp(uint16_t id, ldns_pkt_rcode rcode, const char *question,
		     const char *const *rrs, time_t now)
{
	struct dns_endpoints ep = ep_resp();
	uint8_t buf[4096];
	size_t len = build(buf, sizeof(buf), id, true, rcode, question, rrs);

	return dns_handle_message(buf, len, &ep, now);
}

static struct dns_stats stats(void)
{
	struct dns_stats st;

	dns_get_stats(&st);
	return st;
}

/* The query a captured answer replies to, sent first so that the answer matches. */
static void query_for(const uint8_t *resp, const char *question, time_t now)
{
	send_query((uint16_t)(resp[0] << 8 | resp[1]), question, now);
}

static void test_captured(void)
{
	struct dns_endpoints ep = ep_resp();

	reset(0);
	query_for(cap_a, "www.x.example. IN A", 1000);
	CHECK_INT(n_queries, 1, "query: reported");
	CHECK_STR(queries[0].name, "www.x.example.", "query: name");
	CHECK_STR(queries[0].client, CLIENT, "query: client");
	CHECK_INT(queries[0].qtype, LDNS_RR_TYPE_A, "query: type");
	CHECK_INT(dns_handle_message(cap_a, sizeof(cap_a), &ep, 1000), 0, "A: accepted");
	CHECK_INT(n_answers, 1, "A: one answer");
	CHECK_STR(answers[0].name, "www.x.example.", "A: name");
	CHECK_STR(answers[0].addr, "203.0.113.5", "A: address");
	CHECK_STR(answers[0].client, CLIENT, "A: client");
	CHECK_INT(answers[0].ttl, 300, "A: TTL 60 raised to the floor");
	CHECK_INT(dns_pending_count(), 0, "A: query consumed");

	reset(30);
	query_for(cap_aaaa, "www.x.example. IN AAAA", 1000);
	CHECK_INT(dns_handle_message(cap_aaaa, sizeof(cap_aaaa), &ep, 1000), 0, "AAAA: accepted");
	CHECK_INT(n_answers, 1, "AAAA: one answer");
	CHECK_STR(answers[0].addr, "2001:db8::5", "AAAA: address in RFC 5952 form");
	CHECK_INT(answers[0].ttl, 60, "AAAA: TTL above a floor of 30 kept");

	reset(0);
	query_for(cap_cname, "alias.x.example. IN A", 1000);
	CHECK_INT(dns_handle_message(cap_cname, sizeof(cap_cname), &ep, 1000), 0,
		  "CNAME (dnsmasq): accepted");
	CHECK_INT(n_answers, 2, "CNAME (dnsmasq): both names named");
	CHECK_STR(answers[0].name, "alias.x.example.", "CNAME (dnsmasq): alias");
	CHECK_STR(answers[1].name, "www.x.example.", "CNAME (dnsmasq): target");
	CHECK_STR(answers[1].addr, "203.0.113.5", "CNAME (dnsmasq): address");

	reset(0);
	query_for(cap_nx, "host.nx.example. IN A", 1000);
	CHECK_INT(dns_handle_message(cap_nx, sizeof(cap_nx), &ep, 1000), 0, "NXDOMAIN: ignored");
	CHECK_INT(n_answers, 0, "NXDOMAIN: no answer");
	CHECK_INT(stats().bad_rcode, 1, "NXDOMAIN: counted");
}

static void test_cname_chain(void)
{
	const char *rrs[] = {
		"a.example.com. 3600 IN CNAME b.example.net.",
		"other.example. 3600 IN A 198.51.100.9", /* not on the chain */
		"b.example.net. 600 IN CNAME c.example.org.",
		"c.example.org. 3600 IN A 203.0.113.7",
		"c.example.org. 7200 IN AAAA 2001:db8::7",
		NULL,
	};
	static const char *const names[] = {"a.example.com.", "b.example.net.", "c.example.org."};
	int i, hits = 0;

	reset(0);
	send_query(7, "a.example.com. IN A", 1000);
	CHECK_INT(send_resp(7, LDNS_RCODE_NOERROR, "a.example.com. IN A", rrs, 1000), 0,
		  "chain: accepted");
	CHECK_INT(n_answers, 6, "chain: 3 names x 2 addresses");
	for (i = 0; i < n_answers && i < 6; i++) {
		const char *want_addr = i < 3 ? "203.0.113.7" : "2001:db8::7";

		hits += !strcmp(answers[i].name, names[i % 3]) &&
			!strcmp(answers[i].addr, want_addr);
	}
	CHECK_INT(hits, 6, "chain: every name maps to every address");
	CHECK_INT(answers[0].ttl, 600, "chain: TTL is the smallest along the chain");

	/* A loop (x -> y -> x) ends the chain without addresses. */
	const char *loop[] = {"x.example. 60 IN CNAME y.example.",
			      "y.example. 60 IN CNAME x.example.", NULL};
	reset(0);
	send_query(8, "x.example. IN A", 1000);
	CHECK_INT(send_resp(8, LDNS_RCODE_NOERROR, "x.example. IN A", loop, 1000), 0,
		  "CNAME loop: handled");
	CHECK_INT(n_answers, 0, "CNAME loop: no answer");

	/* Longer than DNS_MAX_CNAME: cut and counted, the addresses are not reached. */
	char buf[DNS_MAX_CNAME + 2][64];
	const char *deep[DNS_MAX_CNAME + 3];
	for (i = 0; i <= DNS_MAX_CNAME; i++) {
		snprintf(buf[i], sizeof(buf[i]), "n%d.example. 60 IN CNAME n%d.example.", i, i + 1);
		deep[i] = buf[i];
	}
	snprintf(buf[i], sizeof(buf[i]), "n%d.example. 60 IN A 203.0.113.9", i);
	deep[i] = buf[i];
	deep[i + 1] = NULL;
	reset(0);
	send_query(9, "n0.example. IN A", 1000);
	send_resp(9, LDNS_RCODE_NOERROR, "n0.example. IN A", deep, 1000);
	CHECK_INT(n_answers, 0, "deep chain: not followed to the end");
	CHECK_INT(stats().cname_too_deep, 1, "deep chain: counted");

	/* An address owned by a name off the chain names nothing. */
	const char *off[] = {"evil.example. 60 IN A 203.0.113.66", NULL};
	reset(0);
	send_query(10, "good.example. IN A", 1000);
	send_resp(10, LDNS_RCODE_NOERROR, "good.example. IN A", off, 1000);
	CHECK_INT(n_answers, 0, "off-chain address: ignored");
}

static void test_ttl(void)
{
	const char *rrs_short[] = {"t.example. 5 IN A 203.0.113.1", NULL};
	const char *rrs_long[] = {"t.example. 999999 IN A 203.0.113.1", NULL};

	reset(120);
	send_query(1, "t.example. IN A", 1000);
	send_resp(1, LDNS_RCODE_NOERROR, "t.example. IN A", rrs_short, 1000);
	CHECK_INT(n_answers ? answers[0].ttl : 0, 120, "TTL floor: configured floor applied");
	reset(0);
	send_query(1, "t.example. IN A", 1000);
	send_resp(1, LDNS_RCODE_NOERROR, "t.example. IN A", rrs_long, 1000);
	CHECK_INT(n_answers ? answers[0].ttl : 0, DNS_TTL_CAP, "TTL cap: one day at most");
}

static void test_spoofing(void)
{
	const char *rrs[] = {"bank.example. 60 IN A 203.0.113.66", NULL};
	struct dns_endpoints ep;
	uint8_t buf[512];
	size_t len;

	reset(0);
	CHECK_INT(send_resp(5, LDNS_RCODE_NOERROR, "bank.example. IN A", rrs, 1000), -EPERM,
		  "unsolicited answer: rejected");
	send_query(5, "bank.example. IN A", 1000);
	CHECK_INT(send_resp(6, LDNS_RCODE_NOERROR, "bank.example. IN A", rrs, 1000), -EPERM,
		  "wrong DNS id: rejected");
	CHECK_INT(send_resp(5, LDNS_RCODE_NOERROR, "other.example. IN A", rrs, 1000), -EPERM,
		  "wrong question: rejected");

	len = build(buf, sizeof(buf), 5, true, LDNS_RCODE_NOERROR, "bank.example. IN A", rrs);
	ep = ep_resp();
	ep.saddr = addr("198.51.100.53");
	CHECK_INT(dns_handle_message(buf, len, &ep, 1000), -EPERM, "wrong resolver: rejected");
	ep = ep_resp();
	ep.dport = CPORT + 1;
	CHECK_INT(dns_handle_message(buf, len, &ep, 1000), -EPERM, "wrong client port: rejected");
	ep = ep_resp();
	ep.sport = 5353;
	CHECK_INT(dns_handle_message(buf, len, &ep, 1000), -EPERM, "wrong resolver port: rejected");
	CHECK_INT(n_answers, 0, "spoofed answers: nothing named");
	CHECK_INT(stats().unmatched, 6, "spoofed answers: counted");

	/* Case differences (0x20 randomisation) still match; names come out lower-case. */
	CHECK_INT(send_resp(5, LDNS_RCODE_NOERROR, "BaNk.ExAmPlE. IN A", rrs, 1000), 0,
		  "mixed-case echo: accepted");
	CHECK_STR(n_answers ? answers[0].name : NULL, "bank.example.", "mixed-case: lower-cased");
	CHECK_INT(send_resp(5, LDNS_RCODE_NOERROR, "bank.example. IN A", rrs, 1000), -EPERM,
		  "second answer to one query: rejected");

	/* A query from a non-LAN host is not remembered: its answer is unmatched. */
	reset(0);
	len = build(buf, sizeof(buf), 11, false, LDNS_RCODE_NOERROR, "wan.example. IN A", NULL);
	ep = ep_query();
	ep.client_is_lan = false;
	CHECK_INT(dns_handle_message(buf, len, &ep, 1000), 0, "non-LAN query: ignored");
	CHECK_INT(n_queries, 0, "non-LAN query: not reported");
	CHECK_INT(stats().queries_not_lan, 1, "non-LAN query: counted");
	CHECK_INT(send_resp(11, LDNS_RCODE_NOERROR, "wan.example. IN A", rrs, 1000), -EPERM,
		  "answer to non-LAN query: rejected");
}

static void test_rcode_tc(void)
{
	const char *rrs[] = {"r.example. 60 IN A 203.0.113.3", NULL};
	struct dns_endpoints ep = ep_resp();
	uint8_t buf[512];
	size_t len;

	reset(0);
	send_query(3, "r.example. IN A", 1000);
	CHECK_INT(send_resp(3, LDNS_RCODE_SERVFAIL, "r.example. IN A", rrs, 1000), 0,
		  "SERVFAIL with records: ignored");
	CHECK_INT(n_answers, 0, "SERVFAIL: nothing named");
	CHECK_INT(stats().bad_rcode, 1, "SERVFAIL: counted");

	send_query(4, "r.example. IN A", 1000);
	len = build(buf, sizeof(buf), 4, true, LDNS_RCODE_NOERROR, "r.example. IN A", rrs);
	buf[2] |= 0x02; /* TC */
	CHECK_INT(dns_handle_message(buf, len, &ep, 1000), 0, "TC=1: ignored");
	CHECK_INT(n_answers, 0, "TC=1: nothing named");
	CHECK_INT(stats().tc_set, 1, "TC=1: counted");
}

static void test_malformed(void)
{
	struct dns_endpoints ep = ep_resp();
	struct dns_endpoints eq = ep_query();
	uint64_t before;
	size_t cut, ok = 0;

	reset(0);
	CHECK_INT(dns_handle_message(cap_a, 5, &ep, 1000), -EINVAL, "shorter than a header");
	CHECK_INT(dns_handle_message(NULL, 0, &ep, 1000), -EINVAL, "NULL message");

	/* Every cut of a valid answer, after its query was remembered, is rejected. */
	before = stats().malformed;
	for (cut = 0; cut < sizeof(cap_cname); cut++) {
		query_for(cap_cname, "alias.x.example. IN A", 1000);
		ok += dns_handle_message(cap_cname, cut, &ep, 1000) == -EINVAL;
	}
	CHECK_INT(ok, sizeof(cap_cname), "every truncation rejected as malformed");
	CHECK_INT(stats().malformed - before, sizeof(cap_cname), "every truncation counted");
	CHECK_INT(n_answers, 0, "truncations: nothing named");

	n_queries = 0;
	/* Header claims 65535 answers in 20 bytes: refused before ldns sees it. */
	uint8_t absurd[20] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0xff, 0xff};
	CHECK_INT(dns_handle_message(absurd, sizeof(absurd), &ep, 1000), -EINVAL, "absurd counts");

	/* Question name: a compression pointer to itself. */
	uint8_t self[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0,    0,	  0,
			  0,	0,    0,    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01};
	CHECK_INT(dns_handle_message(self, sizeof(self), &eq, 1000), -EINVAL,
		  "compression loop (self)");
	/* Two pointers pointing at each other. */
	uint8_t pair[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0,    0,	  0,	0,    0,
			  0,	0x01, 0x61, 0xc0, 0x10, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01};
	CHECK_INT(dns_handle_message(pair, sizeof(pair), &eq, 1000), -EINVAL,
		  "compression loop (pair)");
	/* A pointer past the end. */
	uint8_t past[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0,    0,	  0,
			  0,	0,    0,    0xc3, 0xff, 0x00, 0x01, 0x00, 0x01};
	CHECK_INT(dns_handle_message(past, sizeof(past), &eq, 1000), -EINVAL,
		  "pointer past the end");

	/* A 64-byte label (0x40 is not a length: reserved label type). */
	uint8_t lab[12 + 1 + 64 + 1 + 4] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01};
	lab[12] = 64;
	memset(lab + 13, 'a', 64);
	lab[13 + 64] = 0;
	lab[14 + 64 + 1] = 1; /* qtype A */
	lab[14 + 64 + 3] = 1; /* class IN */
	CHECK_INT(dns_handle_message(lab, sizeof(lab), &eq, 1000), -EINVAL, "label over 63");

	/* Five 63-byte labels: a 321-byte name. */
	uint8_t longname[12 + 5 * 64 + 1 + 4] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01};
	for (int i = 0; i < 5; i++) {
		longname[12 + i * 64] = 63;
		memset(longname + 13 + i * 64, 'b', 63);
	}
	longname[sizeof(longname) - 3] = 1;
	longname[sizeof(longname) - 1] = 1;
	CHECK_INT(dns_handle_message(longname, sizeof(longname), &eq, 1000), -EINVAL,
		  "name over 255");
	CHECK_INT(n_queries, 0, "malformed queries: not reported");
	CHECK_INT(stats().malformed, 3 + sizeof(cap_cname) + 5, "malformed: all counted");

	/* Two questions, or a NOTIFY: parseable but not ours. */
	uint8_t two[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0,	   0,	 0,
			 0,    0,    0,	   0x01, 0x61, 0x00, 0x00, 0x01, 0x00,
			 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01};
	CHECK_INT(dns_handle_message(two, sizeof(two), &eq, 1000), -EOPNOTSUPP, "two questions");
	uint8_t notify[] = {0x12, 0x34, 0x20, 0x00, 0x00, 0x01, 0,    0,    0,	 0,
			    0,	  0,	0x01, 0x61, 0x00, 0x00, 0x06, 0x00, 0x01};
	CHECK_INT(dns_handle_message(notify, sizeof(notify), &eq, 1000), -EOPNOTSUPP, "NOTIFY");
	uint8_t chaos[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0,    0,	   0,	0,
			   0,	 0,    0x01, 0x61, 0x00, 0x00, 0x10, 0x00, 0x03};
	CHECK_INT(dns_handle_message(chaos, sizeof(chaos), &eq, 1000), -EOPNOTSUPP, "CHAOS class");
	CHECK_INT(stats().unsupported, 3, "unsupported: counted");
}

static void test_folding(void)
{
	struct dns_endpoints ep = ep_query();
	uint8_t buf[512];
	size_t len;

	reset(0);
	send_query(20, "f.example. IN A", 1000);
	send_query(21, "f.example. IN AAAA", 1000);
	send_query(22, "F.EXAMPLE. IN A", 1000);
	CHECK_INT(n_queries, 1, "fold: repeats within the second folded");
	CHECK_INT(stats().queries_folded, 2, "fold: counted");
	CHECK_INT(dns_pending_count(), 3, "fold: folded queries still remembered");
	send_query(23, "g.example. IN A", 1000);
	CHECK_INT(n_queries, 2, "fold: another name reported");
	len = build(buf, sizeof(buf), 24, false, LDNS_RCODE_NOERROR, "f.example. IN A", NULL);
	ep.saddr = addr("2001:db8::10");
	dns_handle_message(buf, len, &ep, 1000);
	CHECK_INT(n_queries, 3, "fold: another device reported");
	CHECK_STR(queries[2].client, "2001:db8::10", "fold: IPv6 client");
	send_query(25, "f.example. IN A", 1001);
	CHECK_INT(n_queries, 4, "fold: next second reported again");
	dns_tick(1005);
	send_query(26, "f.example. IN A", 1005);
	CHECK_INT(n_queries, 5, "fold: after tick reported again");
}

static void test_pending(void)
{
	const char *rrs[] = {"p.example. 60 IN A 203.0.113.4", NULL};
	unsigned int i;

	reset(0);
	send_query(30, "p.example. IN A", 1000);
	dns_tick(1000 + DNS_QUERY_TIMEOUT - 1);
	CHECK_INT(dns_pending_count(), 1, "pending: kept before the timeout");
	dns_tick(1000 + DNS_QUERY_TIMEOUT);
	CHECK_INT(dns_pending_count(), 0, "pending: expired at the timeout");
	CHECK_INT(stats().expired, 1, "pending: expiry counted");
	CHECK_INT(send_resp(30, LDNS_RCODE_NOERROR, "p.example. IN A", rrs, 1020), -EPERM,
		  "pending: late answer rejected");

	reset(0);
	for (i = 0; i <= DNS_MAX_PENDING; i++)
		send_query((uint16_t)i, "p.example. IN A", 2000);
	CHECK_INT(dns_pending_count(), DNS_MAX_PENDING, "pending: bounded");
	CHECK_INT(stats().pending_full, 1, "pending: overflow counted");
	CHECK_INT(send_resp(0, LDNS_RCODE_NOERROR, "p.example. IN A", rrs, 2000), -EPERM,
		  "pending: oldest dropped");
	CHECK_INT(send_resp(DNS_MAX_PENDING, LDNS_RCODE_NOERROR, "p.example. IN A", rrs, 2000), 0,
		  "pending: newest kept");
}

/* Addresses no name may have: refused and counted, whoever answers; the good one is used. */
static void test_refused_addrs(void)
{
	const char *rrs[] = {
		"r.example. 60 IN A 0.0.0.0",
		"r.example. 60 IN A 0.1.2.3",
		"r.example. 60 IN A 255.255.255.255",
		"r.example. 60 IN A 240.0.0.1",
		"r.example. 60 IN A 127.0.0.1",
		"r.example. 60 IN A 127.1.2.3",
		"r.example. 60 IN A 169.254.1.1",
		"r.example. 60 IN A 224.0.0.251",
		"r.example. 60 IN A 239.255.255.250",
		"r.example. 60 IN AAAA ::",
		"r.example. 60 IN AAAA ::1",
		"r.example. 60 IN AAAA fe80::1",
		"r.example. 60 IN AAAA febf::1",
		"r.example. 60 IN AAAA ff02::fb",
		"r.example. 60 IN AAAA ::ffff:127.0.0.1",
		"r.example. 60 IN AAAA ::ffff:0.0.0.0",
		"r.example. 60 IN A 203.0.113.8", /* the one good address */
		NULL,
	};
	const char *local[] = {
		"l.example. 60 IN A 192.0.2.10",	   /* the asking device itself */
		"l.example. 60 IN A 192.0.2.1",		   /* the gateway's LAN address */
		"l.example. 60 IN A 198.51.100.2",	   /* the gateway's WAN address */
		"l.example. 60 IN AAAA 2001:db8:1::10",	   /* a LAN device, IPv6 */
		"l.example. 60 IN AAAA ::ffff:192.0.2.11", /* a LAN device, IPv4-mapped */
		"l.example. 60 IN AAAA 2001:db8:203::8",   /* the one good address */
		NULL,
	};

	reset(0);
	send_query(40, "r.example. IN A", 1000);
	CHECK_INT(send_resp(40, LDNS_RCODE_NOERROR, "r.example. IN A", rrs, 1000), 0,
		  "refused addresses: answer used");
	CHECK_INT(n_answers, 1, "refused addresses: only the good address named");
	CHECK_STR(n_answers ? answers[0].addr : NULL, "203.0.113.8",
		  "refused addresses: the good address");
	CHECK_INT(stats().addrs_refused, 16, "refused addresses: every one counted");

	/* Without is_local the LAN is not known here: only the good ones and the LAN pass. */
	reset(0);
	send_query(41, "l.example. IN A", 1000);
	send_resp(41, LDNS_RCODE_NOERROR, "l.example. IN A", local, 1000);
	CHECK_INT(n_answers, 6, "local addresses without is_local: all named");
	reset_ops(&ops_local, 0);
	send_query(41, "l.example. IN A", 1000);
	send_resp(41, LDNS_RCODE_NOERROR, "l.example. IN A", local, 1000);
	CHECK_INT(n_answers, 1, "LAN and gateway addresses: not named");
	CHECK_STR(n_answers ? answers[0].addr : NULL, "2001:db8:203::8",
		  "LAN and gateway addresses: the remote one named");
	CHECK_INT(stats().addrs_refused, 5, "LAN and gateway addresses: counted");
}

/* One answer names at most DNS_MAX_ADDRS distinct addresses: it cannot merge 64 nodes. */
static void test_addr_cap(void)
{
	char buf[70][64];
	const char *rrs[71];
	int i, n = 0;

	for (i = 0; i < 64; i++) {
		snprintf(buf[n], sizeof(buf[n]), "m.example. 60 IN A 203.0.113.%d", 100 + i);
		rrs[n] = buf[n];
		n++;
	}
	rrs[n] = NULL;
	reset(0);
	send_query(50, "m.example. IN A", 1000);
	CHECK_INT(send_resp(50, LDNS_RCODE_NOERROR, "m.example. IN A", rrs, 1000), 0,
		  "64 addresses: answer used");
	CHECK_INT(n_answers, DNS_MAX_ADDRS, "64 addresses: DNS_MAX_ADDRS named");
	CHECK_STR(answers[DNS_MAX_ADDRS - 1].addr, "203.0.113.115", "64 addresses: the first ones");
	CHECK_INT(stats().addrs_capped, 64 - DNS_MAX_ADDRS, "64 addresses: the rest counted");

	/* Repeats of one address take no room; refused ones neither. */
	n = 0;
	for (i = 0; i < 20; i++) {
		snprintf(buf[n], sizeof(buf[n]), "m.example. %d IN A 203.0.113.1", 600 + i);
		rrs[n] = buf[n];
		n++;
		snprintf(buf[n], sizeof(buf[n]), "m.example. 60 IN A 127.0.0.%d", i + 1);
		rrs[n] = buf[n];
		n++;
	}
	snprintf(buf[n], sizeof(buf[n]), "m.example. 60 IN A 203.0.113.2");
	rrs[n] = buf[n];
	rrs[n + 1] = NULL;
	reset(1);
	send_query(51, "m.example. IN A", 1000);
	send_resp(51, LDNS_RCODE_NOERROR, "m.example. IN A", rrs, 1000);
	CHECK_INT(n_answers, 2, "repeated address: named once");
	CHECK_INT(n_answers ? answers[0].ttl : 0, 600, "repeated address: the smallest TTL");
	CHECK_INT(stats().addrs_capped, 0, "repeated and refused addresses: take no room");
	CHECK_INT(stats().addrs_refused, 20, "repeated and refused addresses: refused counted");
}

/*
 * rdlength must fit the type. ldns reads the first 4 bytes of an A record's 16 and would name
 * 1.1.1.1; it then reads the next record from the middle of that data.
 */
static void test_bad_rdlength(void)
{
	struct dns_endpoints ep = ep_resp();
	static const uint8_t hdr[] = {0x00, 0x3c, 0x81, 0x80, 0, 1, 0, 1, 0, 0,
				      0,    0,	  1,	'a',  0, 0, 1, 0, 1};
	uint8_t msg[128];
	size_t len;

	/* A with 16 bytes of 0x01. */
	reset(0);
	memcpy(msg, hdr, sizeof(hdr));
	len = sizeof(hdr);
	memcpy(msg + len, (uint8_t[]){0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 16}, 12);
	len += 12;
	memset(msg + len, 1, 16);
	len += 16;
	send_query(60, "a. IN A", 1000);
	CHECK_INT(dns_handle_message(msg, len, &ep, 1000), -EINVAL, "A with 16 bytes: malformed");
	CHECK_INT(n_answers, 0, "A with 16 bytes: nothing named");
	CHECK_INT(stats().malformed, 1, "A with 16 bytes: counted");

	/* The same, then a good A record: ldns would read the second from inside the first. */
	msg[7] = 2;
	memcpy(msg + len, (uint8_t[]){0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 9, 9, 9, 9}, 16);
	CHECK_INT(dns_handle_message(msg, len + 16, &ep, 1000), -EINVAL,
		  "A with 16 bytes, then another A: malformed");

	/* A with 3 bytes (ldns reads on into the next record's bytes), AAAA with 4. */
	msg[7] = 1;
	len = sizeof(hdr);
	memcpy(msg + len, (uint8_t[]){0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 9, 9, 9, 9}, 16);
	CHECK_INT(dns_handle_message(msg, len + 16, &ep, 1000), -EINVAL,
		  "A with 3 bytes: malformed");
	msg[18] = 28;
	memcpy(msg + len, (uint8_t[]){0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 60, 0, 4, 9, 9, 9, 9}, 16);
	send_query(60, "a. IN AAAA", 1000);
	CHECK_INT(dns_handle_message(msg, len + 16, &ep, 1000), -EINVAL,
		  "AAAA with 4 bytes: malformed");
	CHECK_INT(n_answers, 0, "bad rdlengths: nothing named");

	/* Control: the same bytes with rdlength 4 are a good A record. */
	msg[18] = 1;
	memcpy(msg + len, (uint8_t[]){0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 9, 9, 9, 9}, 16);
	CHECK_INT(dns_handle_message(msg, len + 16, &ep, 1000), 0, "A with 4 bytes: used");
	CHECK_STR(n_answers ? answers[0].addr : NULL, "9.9.9.9", "A with 4 bytes: named");
}

int main(void)
{
	test_captured();
	test_cname_chain();
	test_ttl();
	test_spoofing();
	test_rcode_tc();
	test_malformed();
	test_folding();
	test_pending();
	test_refused_addrs();
	test_addr_cap();
	test_bad_rdlength();
	dns_destroy();
	return check_exit();
}
