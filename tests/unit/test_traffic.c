// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/traffic.c: flow deltas to traffic messages, device history and charts, with the per-flow
 * cache (flow_cookie) that skips the node and aggregate lookups. Whatever the cache holds, the
 * messages must say what the uncached path would: an address that moves to another device,
 * a node merged away, the ignore list, ICMP flows of different types, and flows that go quiet
 * long enough for their aggregate to be dropped (under ASan: never a dangling aggregate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "check.h"
#include "flows.h"
#include "nodes.h"
#include "traffic.h"

static char last_msg[65536];
static unsigned int n_msgs;
static struct spin_addr ignored;
static bool ignoring;

static bool is_local(const struct spin_addr *a, void *ctx)
{
	struct node *n = nodes_by_ip(a);

	return (a->a[10] == 0xff && a->a[12] == 192 && a->a[13] == 0 && a->a[14] == 2) ||
	       (n && node_mac(n));
}

static bool is_ignored(const struct spin_addr *a, void *ctx)
{
	return ignoring && memcmp(a, &ignored, sizeof(*a)) == 0;
}

static void publish(const char *json, void *ctx)
{
	snprintf(last_msg, sizeof(last_msg), "%s", json);
	n_msgs++;
}

static struct spin_addr ip(const char *s)
{
	struct spin_addr a;

	if (nodes_addr_parse(s, &a))
		abort();
	return a;
}

struct flow {
	struct spin_flow_key key;
	struct flow_cookie cookie;
};

static void flow_init(struct flow *f, const char *dev, const char *remote, uint8_t proto,
		      uint16_t dport, uint8_t icmp_type)
{
	memset(f, 0, sizeof(*f));
	f->key.addr_a = ip(dev);
	f->key.addr_b = ip(remote);
	f->key.port_a = htons(proto == 6 ? 40000 : 0);
	f->key.port_b = htons(dport);
	f->key.proto = proto;
	f->key.icmp_type = icmp_type;
	f->key.family = 4;
}

/* One interval in which each flow sends `bytes` (one packet) from its device side. */
static void interval(time_t now, struct flow **flows, int n, uint64_t bytes)
{
	traffic_begin(now);
	for (int i = 0; i < n; i++) {
		struct flow_delta d = {
			.key = &flows[i]->key,
			.cookie = &flows[i]->cookie,
			.initiator = SPIN_DIR_AB,
			.bytes = {bytes, 0},
			.packets = {1, 0},
		};

		traffic_add(&d, NULL);
	}
	traffic_flush();
}

/* "from>to:size" of every flow of the last message, sorted, in out. */
static const char *flows_of_last(char *out, size_t len)
{
	cJSON *m = cJSON_Parse(last_msg), *f;
	char items[64][48];
	int n = 0;

	out[0] = 0;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(cJSON_GetObjectItem(m, "result"), "flows"))
	{
		if (n < 64)
			snprintf(items[n++], sizeof(items[0]), "%d>%d:%d",
				 cJSON_GetObjectItem(f, "from")->valueint,
				 cJSON_GetObjectItem(f, "to")->valueint,
				 cJSON_GetObjectItem(f, "size")->valueint);
	}
	qsort(items, (size_t)n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", items[i]);
	cJSON_Delete(m);
	return out;
}

static uint32_t id_of(const char *s)
{
	struct spin_addr a = ip(s);
	struct node *n = nodes_by_ip(&a);

	return n ? node_id(n) : 0;
}

static uint64_t history_bytes(uint32_t device)
{
	cJSON *rows = traffic_device_flows(device), *r;
	uint64_t sum = 0;

	cJSON_ArrayForEach(r, rows) sum += (uint64_t)cJSON_GetObjectItem(r, "bytes")->valuedouble;
	cJSON_Delete(rows);
	return sum;
}

int main(void)
{
	static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 0x10}, mac2[6] = {0x02, 0, 0, 0, 0, 0x20};
	struct traffic_ops ops = {
		.is_local = is_local, .is_ignored = is_ignored, .publish = publish};
	struct flow web, ping, unreach, *all[3] = {&web, &ping, &unreach};
	struct spin_addr a;
	char buf[1024], want[256];
	uint32_t dev1, srv, early;
	time_t now = 1000000;

	nodes_init(&(struct nodes_ops){0}, 0, 0);
	traffic_init(&ops, false);
	a = ip("192.0.2.10");
	nodes_set_mac(&a, mac1, now);
	a = ip("198.51.100.7");
	early = node_id(nodes_get_ip(&a, now));
	flow_init(&web, "192.0.2.10", "203.0.113.5", 6, 443, 0);
	flow_init(&ping, "192.0.2.10", "203.0.113.5", 1, 0, 8);
	flow_init(&unreach, "192.0.2.10", "203.0.113.5", 1, 0, 3);

	for (int r = 0; r < 3; r++)
		interval(now++, all, 3, 100);
	dev1 = id_of("192.0.2.10");
	srv = id_of("203.0.113.5");
	snprintf(want, sizeof(want), "%u>%u:100 %u>%u:200", dev1, srv, dev1, srv);
	CHECK_STR(flows_of_last(buf, sizeof(buf)), want,
		  "three intervals: the TCP flow and the two ICMP flows (one aggregate)");
	CHECK(web.cookie.ptr != NULL, "the TCP flow's aggregate is cached");
	CHECK(ping.cookie.ptr == NULL, "ICMP flows are not cached (their history rows differ)");
	CHECK_INT((long long)history_bytes(dev1), 900,
		  "history: every byte of the three intervals");

	/* The device's address moves to another device: the cached flow must follow it. */
	a = ip("192.0.2.10");
	nodes_set_mac(&a, mac2, now);
	interval(now++, all, 1, 100);
	snprintf(want, sizeof(want), "%u>%u:100", id_of("192.0.2.10"), srv);
	CHECK(id_of("192.0.2.10") != dev1, "the address is now the second device's");
	CHECK_STR(flows_of_last(buf, sizeof(buf)), want, "after a move, the flow counts for it");
	CHECK_INT((long long)history_bytes(id_of("192.0.2.10")), 100,
		  "and the new device's history has it");
	CHECK_INT((long long)history_bytes(dev1), 900, "the old device's history is unchanged");

	/* The remote node is merged into an older one (the survivor): its id from now on. */
	a = ip("203.0.113.5");
	CHECK(nodes_add_ip(early, &a, now) != NULL, "the remote's address joins an older node");
	traffic_node_merged(srv, early);
	CHECK_INT(id_of("203.0.113.5"), early, "the older node survives the merge");
	interval(now++, all, 1, 100);
	snprintf(want, sizeof(want), "%u>%u:100", id_of("192.0.2.10"), early);
	CHECK_STR(flows_of_last(buf, sizeof(buf)), want, "after a merge, the survivor's id");

	/* Quiet long enough for the aggregate to go, then active again: counted, no stale
	 * aggregate (ASan would see one). */
	for (int r = 0; r < 15; r++)
		interval(now++, all, 0, 0);
	interval(now++, all, 1, 77);
	snprintf(want, sizeof(want), "%u>%u:77", id_of("192.0.2.10"), id_of("203.0.113.5"));
	CHECK_STR(flows_of_last(buf, sizeof(buf)), want,
		  "a flow quiet for 15 intervals is counted again when it comes back");
	/* The remote goes on the ignore list. */
	ignored = ip("203.0.113.5");
	ignoring = true;
	traffic_invalidate();
	n_msgs = 0;
	interval(now++, all, 1, 100);
	CHECK_INT(n_msgs, 0, "an ignored remote's flow is left out at once");
	ignoring = false;
	traffic_invalidate();

	traffic_destroy();
	nodes_destroy();
	return check_exit();
}
