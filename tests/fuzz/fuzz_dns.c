// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// fuzz-sources: user/dns.c user/nodes.c user/utf8.c
// fuzz-options: -max_len=1408
/*
 * libFuzzer target for user/dns.c: each input is one DNS message, handled as a query from a
 * LAN device and then as the response to a query that matches it (same id and question,
 * remembered first), so that the answer path (CNAME chains, address records) is reached.
 * Reported names and addresses go into the node cache, as in spind, and out as JSON.
 */
#include <stdlib.h>
#include <string.h>
#include <ldns/ldns.h>

#include "dns.h"
#include "nodes.h"

static time_t now = 1000000;

static void on_query(const struct spin_addr *client, const char *qname, uint16_t qtype, void *ctx)
{
	nodes_get_ip(client, now);
	nodes_get_domain(qname, now);
}

static void on_answer(const struct spin_addr *client, const char *name,
		      const struct spin_addr *addr, uint32_t ttl, void *ctx)
{
	struct node *n = nodes_add_domain(addr, name, now);
	cJSON *j;
	char *s;

	if (!n)
		return;
	nodes_publish_pending(n, now);
	j = node_to_json(n);
	s = j ? cJSON_PrintUnformatted(j) : NULL;
	free(s);
	cJSON_Delete(j);
}

static void on_publish(const struct node *n, void *ctx)
{
}

static const struct dns_ops dns_ops = {.query = on_query, .answer = on_answer};
static const struct nodes_ops nodes_ops = {.publish = on_publish};

static const struct dns_endpoints ep_query = {
	.saddr = {.a = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 10}},
	.daddr = {.a = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 1}},
	.sport = 40000,
	.dport = 53,
	.client_is_lan = true,
};

static const struct dns_endpoints ep_resp = {
	.saddr = {.a = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 1}},
	.daddr = {.a = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 10}},
	.sport = 53,
	.dport = 40000,
	.client_is_lan = true,
};

/* Sends the query that 'resp' answers, if ldns can read its question. */
static void remember_query_for(const uint8_t *data, size_t size)
{
	ldns_pkt *resp = NULL, *q = NULL;
	const ldns_rr *rr;
	uint8_t *wire = NULL;
	size_t len;

	if (ldns_wire2pkt(&resp, data, size) != LDNS_STATUS_OK)
		return;
	if (ldns_rr_list_rr_count(ldns_pkt_question(resp)) < 1)
		goto out;
	rr = ldns_rr_list_rr(ldns_pkt_question(resp), 0);
	q = ldns_pkt_query_new(ldns_rdf_clone(ldns_rr_owner(rr)), ldns_rr_get_type(rr),
			       ldns_rr_get_class(rr), LDNS_RD);
	if (!q)
		goto out;
	ldns_pkt_set_id(q, ldns_pkt_id(resp));
	if (ldns_pkt2wire(&wire, q, &len) == LDNS_STATUS_OK)
		dns_handle_message(wire, len, &ep_query, now);
out:
	free(wire);
	ldns_pkt_free(q);
	ldns_pkt_free(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		dns_init(&dns_ops, 0);
		nodes_init(&nodes_ops, 60, 512);
		ready = true;
	}
	now++;
	dns_handle_message(data, size, &ep_query, now);
	remember_query_for(data, size);
	dns_handle_message(data, size, &ep_resp, now);
	if (now % 64 == 0) {
		dns_tick(now);
		nodes_tick(now);
	}
	return 0;
}
