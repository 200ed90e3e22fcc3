// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Each device's last hour (get_device_history): flow deltas through traffic_add() land in the
 * bucket of their minute on the traffic clock; the window slides with the clock and forgets
 * what is over an hour old; a flow between two devices counts for both; merged nodes' minutes
 * add up, deleted nodes' go; the number of devices with a history is capped; the JSON-RPC
 * method checks its parameter like the others and is listed by list_rpc_methods.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>

#include "check.h"
#include "log.h"
#include "nodes.h"
#include "rpc.h"
#include "traffic.h"

#define T0 ((time_t)1700000000 / 60 * 60 + 10) /* 10 s into a minute */

/* The LAN: 192.0.2.0/24 (IPv4-mapped) and 2001:db8:1::/48. */
static bool is_local(const struct spin_addr *a, void *ctx)
{
	static const uint8_t v4[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2};
	static const uint8_t v6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};

	return !memcmp(a->a, v4, sizeof(v4)) || !memcmp(a->a, v6, sizeof(v6));
}

static bool is_ignored(const struct spin_addr *a, void *ctx)
{
	return false;
}

static void publish(const char *json, void *ctx)
{
}

/* One sweep at 'now': from -> to, TCP to port 443, bytes/packets in the forward direction. */
static void flow(time_t now, const char *from, const char *to, uint64_t bytes, uint64_t packets)
{
	struct spin_flow_key k = {.proto = IPPROTO_TCP, .family = 4};
	struct flow_delta d = {.key = &k, .initiator = SPIN_DIR_AB};

	nodes_addr_parse(from, &k.addr_a);
	nodes_addr_parse(to, &k.addr_b);
	k.family = strchr(from, ':') ? 6 : 4;
	k.port_a = htons(40000);
	k.port_b = htons(443);
	d.bytes[0] = bytes;
	d.packets[0] = packets;
	traffic_begin(now);
	traffic_add(&d, NULL);
	traffic_flush();
}

static void tick(time_t now)
{
	traffic_begin(now);
	traffic_flush();
}

static uint32_t id_of(const char *ip)
{
	struct spin_addr a;
	struct node *n;

	nodes_addr_parse(ip, &a);
	n = nodes_by_ip(&a);
	return n ? node_id(n) : 0;
}

static cJSON *call(const char *params)
{
	char body[256];
	char *out;
	cJSON *j;

	snprintf(body, sizeof(body),
		 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"get_device_history\"%s%s}",
		 params ? ",\"params\":" : "", params ? params : "");
	out = rpc_handle(body, strlen(body));
	j = out ? cJSON_Parse(out) : NULL;
	free(out);
	return j;
}

static cJSON *history(uint32_t id)
{
	char p[64];
	cJSON *j, *r;

	snprintf(p, sizeof(p), "{\"node\":%u}", id);
	j = call(p);
	r = cJSON_DetachItemFromObject(j, "result");
	cJSON_Delete(j);
	return r;
}

static double at(const cJSON *h, const char *series, int i)
{
	return cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(h, series), i));
}

static double sum(const cJSON *h, const char *series)
{
	double s = 0;

	for (int i = 0; i < cJSON_GetArraySize(cJSON_GetObjectItem(h, series)); i++)
		s += at(h, series, i);
	return s;
}

static void test_window(void)
{
	uint32_t dev;
	cJSON *h;

	flow(T0, "192.0.2.10", "203.0.113.10", 1000, 10);
	flow(T0 + 20, "192.0.2.10", "203.0.113.10", 500, 5); /* same minute */
	flow(T0 + 60, "192.0.2.10", "203.0.113.11", 300, 3); /* next minute */
	dev = id_of("192.0.2.10");
	h = history(dev);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(h, "interval")), 60, "interval is 60 s");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(h, "end")), T0 - 10 + 120,
		  "end: the end of the traffic clock's current minute");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(h, "updated")), T0 + 60,
		  "updated: the last interval counted");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(h, "bytes")), 60, "60 byte buckets");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(h, "packets")), 60, "60 packet buckets");
	CHECK_INT(at(h, "bytes", 59), 300, "newest bucket: this minute's bytes");
	CHECK_INT(at(h, "packets", 59), 3, "newest bucket: this minute's packets");
	CHECK_INT(at(h, "bytes", 58), 1500, "previous minute: both sweeps added up");
	CHECK_INT(at(h, "packets", 58), 15, "previous minute's packets");
	CHECK_INT(sum(h, "bytes"), 1800, "nothing else in the hour");
	cJSON_Delete(h);

	tick(T0 + 30 * 60);
	h = history(dev);
	CHECK_INT(at(h, "bytes", 29), 1500, "30 minutes on, the old minute moved 29 buckets back");
	CHECK_INT(at(h, "bytes", 30), 300, "and the next one with it");
	CHECK_INT(sum(h, "bytes"), 1800, "still all in the hour");
	cJSON_Delete(h);

	tick(T0 + 60 * 60);
	h = history(dev);
	CHECK_INT(at(h, "bytes", 0), 300, "an hour on, only the second minute is left (oldest)");
	CHECK_INT(sum(h, "bytes"), 300, "the first minute is forgotten");
	cJSON_Delete(h);

	flow(T0 + 60 * 60 + 5, "192.0.2.10", "203.0.113.10", 70, 1);
	tick(T0 + 3 * 3600);
	h = history(dev);
	CHECK_INT(sum(h, "bytes") + sum(h, "packets"), 0, "three hours on: all zero");
	cJSON_Delete(h);
}

static void test_clock_back(void)
{
	uint32_t dev;
	cJSON *h;
	time_t t = T0 + 4 * 3600;

	flow(t, "192.0.2.20", "203.0.113.10", 100, 1);
	flow(t - 120, "192.0.2.20", "203.0.113.10", 40, 1); /* the clock stepped back 2 min */
	flow(t - 2 * 3600, "192.0.2.20", "203.0.113.10", 9, 1);
	dev = id_of("192.0.2.20");
	tick(t);
	h = history(dev);
	CHECK_INT(at(h, "bytes", 59), 100, "clock back: the newest minute is kept");
	CHECK_INT(at(h, "bytes", 57), 40,
		  "clock back: an earlier minute in the hour gets its bytes");
	CHECK_INT(sum(h, "bytes"), 140, "clock back beyond the hour: dropped");
	cJSON_Delete(h);
}

static void test_two_devices_merge_delete(void)
{
	time_t t = T0 + 6 * 3600;
	uint32_t a, b, remote;
	cJSON *h;

	flow(t, "192.0.2.30", "192.0.2.31", 800, 8);
	a = id_of("192.0.2.30");
	b = id_of("192.0.2.31");
	h = history(b);
	CHECK_INT(at(h, "bytes", 59), 800, "a flow between two devices counts for the receiver");
	cJSON_Delete(h);
	h = history(a);
	CHECK_INT(at(h, "bytes", 59), 800, "and for the sender");
	cJSON_Delete(h);

	flow(t + 60, "192.0.2.31", "203.0.113.10", 200, 2);
	traffic_node_merged(b, a);
	h = history(a);
	CHECK_INT(at(h, "bytes", 58), 1600, "merge: the minutes of both add up");
	CHECK_INT(at(h, "bytes", 59), 200, "merge: the newer minute moves over");
	cJSON_Delete(h);
	h = history(b);
	CHECK_INT(sum(h, "bytes"), 0, "merge: the merged-away id has none");
	cJSON_Delete(h);

	traffic_node_deleted(a);
	h = history(a);
	CHECK_INT(sum(h, "bytes"), 0, "delete: the history goes with the node");
	cJSON_Delete(h);

	remote = id_of("203.0.113.10");
	h = history(remote);
	CHECK_INT(sum(h, "bytes"), 0, "a remote node has no history (zeros)");
	cJSON_Delete(h);
}

static void test_cap(void)
{
	struct traffic_stats st;
	time_t t = T0 + 8 * 3600;
	char ip[64];
	cJSON *h;

	for (int i = 1; i <= TRAFFIC_MINUTES_DEVICES + 5; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:1::%x", i);
		flow(t, ip, "2001:db8:ff::1", 10, 1);
	}
	traffic_get_stats(&st);
	CHECK_INT(st.minutes_devices, TRAFFIC_MINUTES_DEVICES,
		  "devices with a per-minute history stop at TRAFFIC_MINUTES_DEVICES");
	CHECK(st.minutes_full >= 5, "the devices beyond it are counted as refused");
	h = history(id_of(ip));
	CHECK(h && cJSON_GetArraySize(cJSON_GetObjectItem(h, "bytes")) == 60 && !sum(h, "bytes"),
	      "a device beyond the cap still gets an answer (zeros)");
	cJSON_Delete(h);
	h = history(id_of("2001:db8:1::1"));
	CHECK_INT(at(h, "bytes", 59), 10, "the first devices keep theirs");
	cJSON_Delete(h);
}

static void test_params(void)
{
	struct {
		const char *params, *msg;
		int code;
	} bad[] = {
		{NULL, "missing parameter 'node'", RPC_INVALID_PARAMS},
		{"{}", "missing parameter 'node'", RPC_INVALID_PARAMS},
		{"{\"node\":\"1\"}", "'node' must be an integer", RPC_INVALID_PARAMS},
		{"{\"node\":1.5}", "'node' must be an integer", RPC_INVALID_PARAMS},
		{"{\"node\":1,\"x\":1}", "unexpected parameter 'x'", RPC_INVALID_PARAMS},
		{"{\"node\":99999}", "Unknown node id", RPC_METHOD_ERROR},
		{"{\"node\":-1}", "Unknown node id", RPC_METHOD_ERROR},
		{"[1]", "params must be an object", RPC_INVALID_PARAMS},
	};
	const char *list = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_rpc_methods\"}";
	char *out;
	cJSON *j;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const cJSON *e;
		char name[160];

		j = call(bad[i].params);
		e = cJSON_GetObjectItem(j, "error");
		snprintf(name, sizeof(name), "get_device_history %s: error %d",
			 bad[i].params ? bad[i].params : "without params", bad[i].code);
		CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "code")), bad[i].code, name);
		snprintf(name, sizeof(name), "get_device_history %s: message says %s",
			 bad[i].params ? bad[i].params : "without params", bad[i].msg);
		CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")) ?: "",
			     bad[i].msg),
		      name);
		cJSON_Delete(j);
	}
	out = rpc_handle(list, strlen(list));
	CHECK(out && strstr(out, "{\"rpc-name\":\"get_device_history\",\"rpc-args\":[{\"rpc-arg-"
				 "name\":\"node\",\"rpc-arg-type\":\"integer\"}],\"rpc-result-"
				 "type\":\"complex\"}"),
	      "list_rpc_methods describes get_device_history");
	free(out);
}

int main(void)
{
	struct traffic_ops to = {
		.is_local = is_local, .is_ignored = is_ignored, .publish = publish};

	log_init("test_history", false, LOG_LVL_ERR, NULL);
	if (nodes_init(&(struct nodes_ops){}, 100000, 0) || traffic_init(&to, false) ||
	    rpc_init(NULL, true)) {
		printf("not ok - setup failed\n");
		return 1;
	}
	test_window();
	test_clock_back();
	test_two_devices_merge_delete();
	test_cap();
	test_params();
	traffic_destroy();
	nodes_destroy();
	return check_exit();
}
