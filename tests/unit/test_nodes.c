// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/nodes.c: creation, merging (survivor, callbacks and their order), devices that never
 * merge, retention, eviction, publishing rules and the exact nodeInfo JSON.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "nodes.h"

/* Every callback, in order, as "publish 1,merged 2->1,deleted 3". */
static char events[4096];
static uint32_t protected_id; /* ops->protected_node says yes for this id */
static bool flag_blocked, flag_excepted;

static void event(const char *fmt, uint32_t a, uint32_t b)
{
	size_t len = strlen(events);

	snprintf(events + len, sizeof(events) - len, len ? "," : "");
	len = strlen(events);
	snprintf(events + len, sizeof(events) - len, fmt, a, b);
}

static void on_publish(const struct node *n, void *ctx)
{
	event("publish %u", node_id(n), 0);
}

static void on_merged(uint32_t old_id, uint32_t new_id, void *ctx)
{
	event("merged %u->%u", old_id, new_id);
}

static void on_deleted(uint32_t id, void *ctx)
{
	event("deleted %u", id, 0);
}

static bool on_protected(const struct node *n, void *ctx)
{
	return node_id(n) == protected_id;
}

static void on_flags(const struct node *n, bool *blocked, bool *excepted, void *ctx)
{
	*blocked = flag_blocked;
	*excepted = flag_excepted;
}

static const struct nodes_ops ops = {
	.publish = on_publish,
	.merged = on_merged,
	.deleted = on_deleted,
	.protected_node = on_protected,
	.flags = on_flags,
};

static void reset(unsigned int retain, unsigned int max)
{
	nodes_init(&ops, retain, max);
	events[0] = 0;
	protected_id = 0;
	flag_blocked = flag_excepted = false;
}

static struct spin_addr ip(const char *s)
{
	struct spin_addr a;

	if (nodes_addr_parse(s, &a))
		abort();
	return a;
}

static const uint8_t mac1[6] = {0x26, 0x9c, 0x97, 0x4c, 0xb0, 0x3a};
static const uint8_t mac2[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

static struct node *get(const char *s, time_t now)
{
	struct spin_addr a = ip(s);

	return nodes_get_ip(&a, now);
}

static uint32_t id_of_ip(const char *s)
{
	struct spin_addr a = ip(s);
	struct node *n = nodes_by_ip(&a);

	return n ? node_id(n) : 0;
}

static struct node *add_domain(const char *s, const char *domain, time_t now)
{
	struct spin_addr a = ip(s);

	return nodes_add_domain(&a, domain, now);
}

static struct node *set_mac(const char *s, const uint8_t *mac, time_t now)
{
	struct spin_addr a = ip(s);

	return nodes_set_mac(&a, mac, now);
}

static struct node *add_ip(uint32_t id, const char *s, time_t now)
{
	struct spin_addr a = ip(s);

	return nodes_add_ip(id, &a, now);
}

static struct nodes_stats stats(void)
{
	struct nodes_stats st;

	nodes_get_stats(&st);
	return st;
}

/* The node's JSON, compact; a static buffer. */
static const char *json(const struct node *n)
{
	static char buf[4096];
	cJSON *o = node_to_json(n);
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	cJSON_Delete(o);
	return buf;
}

static void test_create_and_domain(void)
{
	struct node *n;

	reset(0, 0);
	n = get("203.0.113.5", 100);
	CHECK_INT(n ? node_id(n) : 0, 1, "create: first id is 1");
	CHECK_INT(id_of_ip("203.0.113.5"), 1, "create: found by IP");
	CHECK_INT(node_lastseen(n), 100, "create: lastseen");
	CHECK(node_mac(n) == NULL, "create: remote node has no MAC");
	CHECK_STR(events, "", "create: not published before anyone refers to it");
	nodes_publish_pending(n, 100);
	CHECK_STR(events, "publish 1", "publish_pending: first publication");
	events[0] = 0;
	nodes_publish_pending(n, 101);
	CHECK_STR(events, "", "publish_pending: unchanged node not republished");

	n = add_domain("203.0.113.5", "www.example.com.", 102);
	CHECK_INT(n ? node_id(n) : 0, 1, "add_domain: joins the IP's node");
	CHECK_INT(node_domain_count(n), 1, "add_domain: one domain");
	CHECK(nodes_by_domain("www.example.com.") == n, "add_domain: found by domain");
	nodes_publish_pending(n, 102);
	CHECK_STR(events, "publish 1", "publish_pending: changed node republished");

	n = add_domain("2001:db8::5", "www.example.com.", 103);
	CHECK_INT(n ? node_id(n) : 0, 1, "add_domain: new IP joins the domain's node");
	CHECK_INT(node_ip_count(n), 2, "add_domain: two IPs");
	n = add_domain("198.51.100.1", "new.example.", 104);
	CHECK_INT(n ? node_id(n) : 0, 2, "add_domain: unknown IP and domain make a new node");
	CHECK(add_domain("198.51.100.1", "no-trailing-dot", 104) == NULL && errno == EINVAL,
	      "add_domain: domain without trailing dot refused");
	CHECK(add_domain("198.51.100.1", "sp ace.", 104) == NULL, "add_domain: space refused");
	CHECK(nodes_get_domain("", 104) == NULL, "get_domain: empty refused");

	n = nodes_get_domain("queried.example.", 105);
	CHECK_INT(n ? node_id(n) : 0, 3, "get_domain: creates a node without IPs");
	CHECK_INT(n ? node_ip_count(n) : 9, 0, "get_domain: no IPs");
	CHECK(nodes_get_domain("queried.example.", 106) == n, "get_domain: finds it again");
	CHECK_INT(stats().nodes, 3, "stats: nodes");
	CHECK_INT(stats().created, 3, "stats: created");
}

static void test_merge(void)
{
	struct node *n;

	reset(0, 0);
	get("203.0.113.5", 100); /* 1 */
	get("203.0.113.6", 100); /* 2 */
	add_domain("203.0.113.5", "cdn.example.", 100);
	n = add_domain("203.0.113.6", "cdn.example.", 101);
	CHECK_INT(n ? node_id(n) : 0, 1, "merge by domain: lowest id survives");
	CHECK_STR(events, "publish 1,merged 2->1", "merge: nodeInfo of survivor, then nodeMerged");
	CHECK(nodes_by_id(2) == NULL, "merge: victim gone");
	CHECK_INT(id_of_ip("203.0.113.6"), 1, "merge: victim's IP moved to survivor");
	CHECK_INT(node_ip_count(n), 2, "merge: survivor has both IPs");
	CHECK_INT(stats().merged, 1, "merge: counted");

	/* A victim with many more entries than the survivor has room for (found by fuzzing). */
	char dom[32];
	get("203.0.113.20", 100); /* 3 */
	for (int i = 0; i < 20; i++) {
		snprintf(dom, sizeof(dom), "m%d.example.", i);
		add_domain("203.0.113.20", dom, 100);
	}
	n = add_domain("203.0.113.5", "m0.example.", 102);
	CHECK_INT(n ? node_id(n) : 0, 1, "merge of a large node: lowest id survives");
	CHECK_INT(n ? node_domain_count(n) : 0, 21, "merge of a large node: every domain kept");
	CHECK(n && nodes_by_domain("m19.example.") == n, "merge of a large node: index updated");

	/* By shared IP through node_add_ip; survivor is the lower id whichever is named. */
	reset(0, 0);
	get("203.0.113.7", 100);	     /* 1 */
	nodes_get_domain("x.example.", 100); /* 2 */
	events[0] = 0;
	n = add_ip(2, "203.0.113.7", 101);
	CHECK_INT(n ? node_id(n) : 0, 1, "merge by IP: lowest id survives");
	CHECK_STR(events, "publish 1,merged 2->1", "merge by IP: callbacks");
	CHECK(n && nodes_by_domain("x.example.") == n, "merge by IP: domain moved");
	CHECK(add_ip(99, "203.0.113.8", 101) == NULL && errno == ENOENT, "add_ip: unknown id");
	n = add_ip(0, "203.0.113.8", 101);
	CHECK_INT(n ? node_id(n) : 0, 3, "add_ip 0: new node");
	n = add_ip(0, "203.0.113.7", 101);
	CHECK_INT(n ? node_id(n) : 0, 1, "add_ip 0: existing IP returns its node");

	/* By MAC: the device survives even with a higher id. */
	reset(0, 0);
	add_domain("192.0.2.21", "printer.lan.", 100); /* 1, remote */
	set_mac("192.0.2.20", mac1, 100);	       /* 2, device */
	events[0] = 0;
	n = set_mac("192.0.2.21", mac1, 101);
	CHECK_INT(n ? node_id(n) : 0, 2, "merge by MAC: the device survives");
	CHECK_STR(events, "publish 2,merged 1->2", "merge by MAC: callbacks");
	CHECK(n && nodes_by_domain("printer.lan.") == n, "merge by MAC: domain joined the device");
	CHECK_INT(n ? node_ip_count(n) : 0, 2, "merge by MAC: both IPs");

	/* A node first seen by traffic becomes a device in place. */
	reset(0, 0);
	get("192.0.2.10", 100);
	n = set_mac("192.0.2.10", mac1, 101);
	CHECK_INT(n ? node_id(n) : 0, 1, "set_mac: traffic node becomes the device");
	CHECK(n && nodes_by_mac(mac1) == n, "set_mac: found by MAC");
	CHECK_INT(stats().merged, 0, "set_mac: no merge");
}

static void test_devices_never_merge(void)
{
	struct node *d1, *d2, *n;

	reset(0, 0);
	d1 = set_mac("192.0.2.30", mac1, 100);
	d2 = set_mac("192.0.2.31", mac2, 100);
	CHECK(d1 && d2 && d1 != d2, "two devices");
	events[0] = 0;
	n = set_mac("192.0.2.30", mac2, 101);
	CHECK(n == nodes_by_mac(mac2), "IP moves to the new device");
	CHECK_INT(id_of_ip("192.0.2.30"), node_id(nodes_by_mac(mac2)), "IP now on device 2");
	CHECK_INT(node_ip_count(nodes_by_mac(mac1)), 0, "device 1 kept, without the IP");
	CHECK_INT(stats().nodes, 2, "both devices still exist");
	CHECK_INT(stats().merged, 0, "no merge");
	CHECK_INT(stats().moved, 1, "move counted");
	CHECK(strstr(events, "merged") == NULL, "no nodeMerged");

	add_domain("192.0.2.31", "laptop.lan.", 102); /* device 2 */
	set_mac("192.0.2.32", mac1, 102);
	n = add_domain("192.0.2.32", "laptop.lan.", 103); /* now device 1's address */
	CHECK(n == nodes_by_mac(mac1), "domain moves between devices");
	CHECK(nodes_by_domain("laptop.lan.") == nodes_by_mac(mac1), "domain on device 1");
	n = add_ip(node_id(nodes_by_mac(mac1)), "192.0.2.31", 104);
	CHECK(n == nodes_by_mac(mac1), "node_add_ip between devices moves the IP");
	CHECK_INT(stats().nodes, 2, "still two devices");
	CHECK_INT(stats().merged, 0, "still no merge");

	/* A MAC that appears for an IP held by another device: a new device node. */
	uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 3};
	n = set_mac("192.0.2.31", mac3, 105);
	CHECK(n && node_id(n) != node_id(nodes_by_mac(mac1)), "new MAC on a device's IP: new node");
	CHECK_INT(id_of_ip("192.0.2.31"), n ? node_id(n) : 0, "new MAC: IP moved to it");
}

/* A bridge FDB entry: a device by MAC alone, which its addresses join later. */
static void test_mac_only_device(void)
{
	struct node *d, *n, *t;
	uint32_t id;

	reset(1800, 0);
	d = nodes_get_mac(mac1, 100);
	CHECK(d != NULL, "MAC-only device created");
	id = d ? node_id(d) : 0;
	CHECK(d && node_mac(d) && node_ip_count(d) == 0, "a device with no address");
	CHECK(d && strstr(json(d), "\"ips\":[]") != NULL, "its nodeInfo has an empty ips array");
	CHECK(nodes_get_mac(mac1, 101) == d, "the same MAC finds the same device");
	CHECK_INT(d ? node_lastseen(d) : 0, 101, "and touches it");
	n = set_mac("192.0.2.40", mac1, 102);
	CHECK(n == d, "a neighbour entry's address joins it");
	CHECK_INT(id_of_ip("192.0.2.40"), id, "its address names it");
	t = get("2001:db8:1::40", 103); /* seen in traffic first */
	events[0] = 0;
	n = set_mac("2001:db8:1::40", mac1, 104);
	CHECK(n == d && node_ip_count(d) == 2, "a traffic node with its MAC merges into it");
	CHECK(t && strstr(events, "merged") != NULL, "announced as a merge");
	nodes_tick(100 + 3600);
	CHECK(nodes_by_id(id) != NULL, "a device is not retired by the idle-node retention");
}

static void test_retention(void)
{
	struct node *n;
	uint32_t id;

	reset(1800, 0);
	get("203.0.113.1", 100);	  /* 1: idle remote */
	set_mac("192.0.2.10", mac1, 100); /* 2: device */
	get("203.0.113.2", 100);	  /* 3: protected */
	n = get("203.0.113.4", 100);	  /* 4: active */
	protected_id = 3;
	nodes_touch(n, 1000);
	nodes_tick(1899);
	CHECK_STR(events, "", "retention: nothing before retain_time");
	nodes_tick(1900);
	CHECK_STR(events, "deleted 1", "retention: idle remote node deleted");
	CHECK(nodes_by_id(2) != NULL, "retention: device kept");
	CHECK(nodes_by_id(3) != NULL, "retention: protected node kept");
	CHECK(nodes_by_id(4) != NULL, "retention: recently seen node kept");
	CHECK_INT(id_of_ip("203.0.113.1"), 0, "retention: its IP is forgotten");
	CHECK_INT(stats().deleted, 1, "retention: counted");
	n = get("203.0.113.1", 1901);
	id = n ? node_id(n) : 0;
	CHECK_INT(id, 5, "retention: ids are not reused");
}

static void test_eviction(void)
{
	struct node *n;

	reset(0, 3);
	get("203.0.113.1", 10);
	get("203.0.113.2", 11);
	get("203.0.113.3", 12);
	nodes_touch(nodes_by_id(1), 13); /* 2 is now the least recently seen */
	n = get("203.0.113.4", 14);
	CHECK_INT(n ? node_id(n) : 0, 4, "evict: new node created at max_nodes");
	CHECK_STR(events, "deleted 2", "evict: least recently seen deleted");
	CHECK_INT(stats().evicted, 1, "evict: counted");
	CHECK_INT(stats().nodes, 3, "evict: bounded");

	protected_id = 3;
	events[0] = 0;
	get("203.0.113.5", 15);
	CHECK_STR(events, "deleted 1", "evict: protected node skipped");

	reset(0, 2);
	set_mac("192.0.2.1", mac1, 10);
	set_mac("192.0.2.2", mac2, 10);
	CHECK(get("203.0.113.1", 11) == NULL, "evict: devices are never evicted");
	CHECK_INT(stats().full, 1, "evict: refusal counted");

	reset(0, 1);
	get("203.0.113.1", 20);
	CHECK(get("203.0.113.2", 20) == NULL, "evict: a node seen this second is spared");
	CHECK(get("203.0.113.2", 21) != NULL, "evict: next second it goes");
}

static void test_json(void)
{
	struct node *n;
	struct spin_addr a;

	reset(0, 0);
	add_domain("203.0.113.5", "www.example.com.", 1700000000); /* 1 */
	add_domain("203.0.113.5", "cdn.example.net.", 1700000000);
	nodes_get_domain("only.example.", 1700000001); /* 2 */
	set_mac("192.0.2.10", mac1, 1795584575);       /* 3 */
	n = add_ip(3, "2001:db8:1::10", 1795584575);
	CHECK_INT(nodes_set_name(3, "test-client"), 0, "set_name");
	/* The protocol's spin-samples/nodeInfo.json result, byte for byte. */
	CHECK_STR(json(n),
		  "{\"id\":3,\"name\":\"test-client\",\"mac\":\"26:9c:97:4c:b0:3a\","
		  "\"lastseen\":1795584575,\"ips\":[\"192.0.2.10\",\"2001:db8:1::10\"],"
		  "\"domains\":[]}",
		  "json: device as in nodeInfo.json");
	flag_blocked = flag_excepted = true;
	CHECK_STR(json(n),
		  "{\"id\":3,\"name\":\"test-client\",\"mac\":\"26:9c:97:4c:b0:3a\","
		  "\"is_blocked\":true,\"is_excepted\":true,\"lastseen\":1795584575,"
		  "\"ips\":[\"192.0.2.10\",\"2001:db8:1::10\"],\"domains\":[]}",
		  "json: flags from the callback");
	flag_blocked = flag_excepted = false;
	CHECK_STR(json(nodes_by_id(1)),
		  "{\"id\":1,\"lastseen\":1700000000,\"ips\":[\"203.0.113.5\"],"
		  "\"domains\":[\"www.example.com.\",\"cdn.example.net.\"]}",
		  "json: remote node");
	CHECK_STR(json(nodes_by_id(2)),
		  "{\"id\":2,\"lastseen\":1700000001,\"ips\":[],\"domains\":[\"only.example.\"]}",
		  "json: empty ips array present");
	nodes_addr_parse("::ffff:198.51.100.7", &a);
	n = nodes_get_ip(&a, 1700000002);
	CHECK_STR(json(n),
		  "{\"id\":4,\"lastseen\":1700000002,\"ips\":[\"198.51.100.7\"],\"domains\":[]}",
		  "json: IPv4-mapped printed as IPv4");
	CHECK_INT(nodes_addr_parse("2001:db8::zz", &a), -EINVAL, "addr_parse: bad text refused");
}

static void test_names(void)
{
	char longname[NODE_NAME_MAX + 2];

	reset(0, 0);
	get("192.0.2.10", 1);
	CHECK_INT(nodes_set_name(1, "<script>"), -EINVAL, "name: < > refused");
	CHECK_INT(nodes_set_name(1, "a&b"), -EINVAL, "name: & refused");
	CHECK_INT(nodes_set_name(1, "say \"hi\""), -EINVAL, "name: \" refused");
	CHECK_INT(nodes_set_name(1, "it's"), -EINVAL, "name: ' refused");
	CHECK_INT(nodes_set_name(1, "tab\there"), -EINVAL, "name: control character refused");
	CHECK_INT(nodes_set_name(1, "bad\xff"), -EINVAL, "name: invalid UTF-8 refused");
	CHECK_INT(nodes_set_name(1, "\xc0\xaf"), -EINVAL, "name: overlong UTF-8 refused");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_INT(nodes_set_name(1, longname), -EINVAL, "name: too long refused");
	CHECK(node_name(nodes_by_id(1)) == NULL, "name: refused names leave none");
	CHECK_INT(nodes_set_name(1, "K\xc3\xbc"
				    "che TV"),
		  0, "name: UTF-8 accepted");
	CHECK_STR(node_name(nodes_by_id(1)),
		  "K\xc3\xbc"
		  "che TV",
		  "name: stored");
	CHECK_INT(nodes_set_name(2, "x"), -ENOENT, "name: unknown node");
	CHECK_INT(nodes_set_name(1, ""), 0, "name: empty clears");
	CHECK(node_name(nodes_by_id(1)) == NULL, "name: cleared");
}

static void test_refresh(void)
{
	struct node *n;

	reset(100000, 0);
	n = get("203.0.113.9", 1000);
	nodes_publish_pending(n, 1000);
	events[0] = 0;
	nodes_touch(n, 1010);
	nodes_publish_pending(n, 1010);
	CHECK_STR(events, "", "refresh: lastseen alone not published within 60 s");
	nodes_tick(1059);
	CHECK_STR(events, "", "refresh: tick before 60 s publishes nothing");
	nodes_tick(1060);
	CHECK_STR(events, "publish 1", "refresh: tick at 60 s publishes the new lastseen");
	events[0] = 0;
	nodes_touch(n, 1061);
	nodes_tick(1100);
	nodes_publish_pending(n, 1100);
	CHECK_STR(events, "", "refresh: at most once per 60 s");
	nodes_publish_pending(n, 1120);
	CHECK_STR(events, "publish 1", "refresh: publish_pending when due");
	events[0] = 0;
	nodes_tick(1500);
	CHECK_STR(events, "", "refresh: nothing when lastseen did not move");
	nodes_set_name(1, "tv");
	nodes_tick(1501);
	CHECK_STR(events, "publish 1", "refresh: a change is published at the next tick");
	events[0] = 0;
	nodes_mark_changed(n);
	nodes_publish_pending(n, 1502);
	CHECK_STR(events, "publish 1", "refresh: mark_changed republishes");
	events[0] = 0;
	get("203.0.113.10", 1502);
	set_mac("192.0.2.50", mac1, 1502);
	nodes_tick(1503);
	CHECK_STR(events, "", "refresh: never-referenced nodes stay unpublished");
}

static void test_caps(void)
{
	char buf[64];
	struct node *n;
	int i;

	reset(0, 0);
	n = get("2001:db8::1000", 1);
	for (i = 1; i <= NODE_MAX_IPS + 1; i++) {
		snprintf(buf, sizeof(buf), "2001:db8::%x", 0x1000 + i);
		n = add_ip(1, buf, 1);
	}
	CHECK_INT(n ? node_ip_count(n) : 0, NODE_MAX_IPS, "caps: IPs per node bounded");
	CHECK_INT(stats().trimmed, 2, "caps: trimming counted");
	CHECK_INT(id_of_ip("2001:db8::1000"), 0, "caps: oldest IP dropped");
	CHECK_INT(id_of_ip("2001:db8::1081"), 1, "caps: newest IP kept");
	for (i = 0; i <= NODE_MAX_DOMAINS; i++) {
		snprintf(buf, sizeof(buf), "d%d.example.", i);
		add_domain("2001:db8::1081", buf, 1);
	}
	CHECK_INT(node_domain_count(nodes_by_id(1)), NODE_MAX_DOMAINS, "caps: domains bounded");
	CHECK(nodes_by_domain("d0.example.") == NULL, "caps: oldest domain dropped");
}

static void count_cb(struct node *n, void *ctx)
{
	(*(int *)ctx)++;
}

static void test_foreach(void)
{
	int count = 0;

	reset(0, 0);
	get("203.0.113.1", 1);
	get("203.0.113.2", 1);
	set_mac("192.0.2.1", mac1, 1);
	nodes_foreach(count_cb, &count);
	CHECK_INT(count, 3, "foreach: every node");
}

int main(void)
{
	test_create_and_domain();
	test_merge();
	test_devices_never_merge();
	test_mac_only_device();
	test_retention();
	test_eviction();
	test_json();
	test_names();
	test_refresh();
	test_caps();
	test_foreach();
	nodes_destroy();
	return check_exit();
}
