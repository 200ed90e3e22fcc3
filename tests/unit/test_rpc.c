// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON-RPC dispatcher without a kernel (policy kernel=false): every method of protocol.md
 * section 3, then every way a request can be wrong (parse errors, invalid requests, unknown
 * methods, missing/extra/duplicate/mistyped parameters naming the parameter, unknown nodes,
 * bad IPs and MACs, injection strings, markup in names, huge bodies), and that none of those
 * changed any state.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "check.h"
#include "config.h"
#include "lan.h"
#include "log.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"
#include "traffic.h"

#define DEV_MAC "02:00:00:00:00:10"

static int names_set;

static void on_flags(const struct node *n, bool *blocked, bool *excepted, void *ctx)
{
	*blocked = policy_node_on(POLICY_BLOCK, n);
	*excepted = policy_node_on(POLICY_ALLOW, n);
}

static void on_name_set(const struct node *n, const char *name, void *ctx)
{
	names_set++;
}

static cJSON *call_raw(const char *body, size_t len)
{
	char *out = rpc_handle(body, len);
	cJSON *j = out ? cJSON_Parse(out) : NULL;

	if (!j)
		printf("# unparsable answer: %s\n", out ? out : "(null)");
	free(out);
	return j;
}

static cJSON *call(const char *method, const char *params)
{
	char *body = NULL;
	cJSON *j;

	if (asprintf(&body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}", method,
		     params ? ",\"params\":" : "", params ? params : "") < 0)
		return NULL;
	j = call_raw(body, strlen(body));
	free(body);
	return j;
}

static int err_code(const cJSON *j)
{
	return (int)cJSON_GetNumberValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code"));
}

static const char *err_msg(const cJSON *j)
{
	const char *m = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message"));

	return m ? m : "";
}

static char *result_text(const cJSON *j)
{
	static char buf[4096];
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "result"));

	snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
	free(s);
	return buf;
}

/* A call that must fail with code and a message containing msg. */
static void expect_error(const char *name, const char *method, const char *params, int code,
			 const char *msg)
{
	cJSON *j = call(method, params);
	char n[300];

	snprintf(n, sizeof(n), "%s: error %d", name, code);
	CHECK_INT(err_code(j), code, n);
	snprintf(n, sizeof(n), "%s: message names '%s'", name, msg);
	if (!CHECK(strstr(err_msg(j), msg) != NULL, n))
		printf("#   message was: %s\n", err_msg(j));
	snprintf(n, sizeof(n), "%s: no result member", name);
	CHECK(!cJSON_GetObjectItem(j, "result"), n);
	cJSON_Delete(j);
}

/* A call that must succeed with exactly this result text. */
static void expect_result(const char *name, const char *method, const char *params,
			  const char *result)
{
	cJSON *j = call(method, params);

	if (cJSON_GetObjectItem(j, "error"))
		printf("#   %s: error %s\n", name, err_msg(j));
	CHECK_STR(result_text(j), result, name);
	cJSON_Delete(j);
}

/* Every list and the flow blocks, as one text: the state errors must not change. */
static char *state_text(void)
{
	cJSON *all = cJSON_CreateObject();
	char *s;

	for (int l = 0; l < POLICY_NLISTS; l++)
		cJSON_AddItemToObject(all, policy_list_name(l), policy_list_json(l));
	cJSON_AddItemToObject(all, "flows", policy_flow_blocks_json());
	for (uint32_t id = 1; id < 10; id++) {
		struct node *n = nodes_by_id(id);
		char key[16];

		snprintf(key, sizeof(key), "n%u", id);
		if (n)
			cJSON_AddItemToObject(all, key, node_to_json(n));
	}
	s = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return s;
}

static uint32_t dev, remote, remote6;

static void setup_nodes(void)
{
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0x10};
	struct spin_addr a;
	time_t now = time(NULL);

	nodes_addr_parse("192.0.2.10", &a);
	dev = node_id(nodes_set_mac(&a, mac, now));
	nodes_addr_parse("203.0.113.10", &a);
	remote = node_id(nodes_get_ip(&a, now));
	nodes_addr_parse("2001:db8::53", &a);
	remote6 = node_id(nodes_add_domain(&a, "dns.example.", now));
}

static void test_methods(void)
{
	char p[256];
	cJSON *j;

	j = call("list_rpc_methods", NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "result")), 16,
		  "list_rpc_methods lists the 16 methods");
	CHECK(strstr(result_text(j),
		     "{\"rpc-name\":\"set_device_flow_block\",\"rpc-args\":["
		     "{\"rpc-arg-name\":\"device\",\"rpc-arg-type\":\"string\"},") != NULL,
	      "list_rpc_methods describes set_device_flow_block's arguments");
	cJSON_Delete(j);

	j = call("list_devices", NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "result")), 1,
		  "list_devices: only the node with a MAC");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetArrayItem(cJSON_GetObjectItem(j, "result"), 0), "mac")),
		  DEV_MAC, "list_devices: the device's MAC");
	cJSON_Delete(j);

	snprintf(p, sizeof(p), "{\"node\":%u}", remote);
	j = call("get_device_data", p);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "id")),
		  remote, "get_device_data works for any node");
	cJSON_Delete(j);

	expect_result("list_device_flows: a device without flows", "list_device_flows",
		      "{\"device\":\"" DEV_MAC "\"}", "[]");
	expect_result("list_iplist block is empty", "list_iplist", "{\"list\":\"block\"}", "[]");

	snprintf(p, sizeof(p), "{\"list\":\"block\",\"node\":%u}", remote6);
	expect_result("add_iplist_node block", "add_iplist_node", p, "null");
	expect_result("the node's address is on the block list", "list_iplist",
		      "{\"list\":\"block\"}", "[\"2001:db8::53\"]");
	snprintf(p, sizeof(p), "{\"node\":%u}", remote6);
	j = call("get_device_data", p);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "is_blocked")),
	      "get_device_data: is_blocked after add_iplist_node");
	cJSON_Delete(j);
	snprintf(p, sizeof(p), "{\"list\":\"block\",\"node\":%u}", remote6);
	expect_result("remove_iplist_node block", "remove_iplist_node", p, "null");
	expect_result("the block list is empty again", "list_iplist", "{\"list\":\"block\"}", "[]");

	expect_result("add_iplist_ip allow IPv4", "add_iplist_ip",
		      "{\"list\":\"allow\",\"ip\":\"198.51.100.1\"}", "null");
	expect_result("add_iplist_ip allow IPv6", "add_iplist_ip",
		      "{\"list\":\"allow\",\"ip\":\"2001:DB8:0:0::1\"}", "null");
	expect_result("list_iplist allow (IPv6 in RFC 5952 form)", "list_iplist",
		      "{\"list\":\"allow\"}", "[\"198.51.100.1\",\"2001:db8::1\"]");
	expect_result("remove_iplist_ip allow", "remove_iplist_ip",
		      "{\"list\":\"allow\",\"ip\":\"198.51.100.1\"}", "null");
	expect_result("list_iplist allow after the removal", "list_iplist", "{\"list\":\"allow\"}",
		      "[\"2001:db8::1\"]");
	expect_result("reset_iplist_ignore", "reset_iplist_ignore", NULL, "null");

	snprintf(p, sizeof(p), "{\"node\":%u,\"name\":\"Thermostat Zo\\u00eb\"}", dev);
	expect_result("set_device_name", "set_device_name", p, "null");
	CHECK_STR(node_name(nodes_by_id(dev)), "Thermostat Zo\xc3\xab", "the name is stored");
	CHECK_INT(names_set, 1, "set_device_name told the persistence hook");

	expect_result("node_add_ip to a new node", "node_add_ip",
		      "{\"node\":0,\"ipaddr\":\"198.51.100.20\"}", "4");
	snprintf(p, sizeof(p), "{\"node\":%u,\"ipaddr\":\"203.0.113.11\"}", remote);
	expect_result("node_add_ip to an existing node returns its id", "node_add_ip", p, "2");

	snprintf(p, sizeof(p), "{\"node1\":%u,\"node2\":%u,\"block\":1}", remote, dev);
	expect_result("set_flow_block", "set_flow_block", p, "null");
	expect_result("get_flow_block: node1 < node2", "get_flow_block", NULL,
		      "[{\"node1\":1,\"node2\":2}]");
	snprintf(p, sizeof(p), "{\"node1\":%u,\"node2\":%u,\"block\":0}", dev, remote);
	expect_result("set_flow_block 0", "set_flow_block", p, "null");
	expect_result("get_flow_block is empty", "get_flow_block", NULL, "[]");
	snprintf(p, sizeof(p), "{\"device\":\"" DEV_MAC "\",\"node\":%u,\"block\":1}", remote6);
	expect_result("set_device_flow_block", "set_device_flow_block", p, "null");
	expect_result("list_device_flows shows the blocked peer", "list_device_flows",
		      "{\"device\":\"" DEV_MAC "\"}",
		      "[{\"to\":3,\"dst_port\":0,\"icmp_type\":0,\"blocked\":1}]");
}

static void test_envelope(void)
{
	static const struct {
		const char *name, *body;
		int code;
		const char *id; /* the id echoed, as JSON */
	} cases[] = {
		{"empty body", "", RPC_PARSE_ERROR, "null"},
		{"truncated JSON", "{\"jsonrpc\":\"2.0\"", RPC_PARSE_ERROR, "null"},
		{"trailing garbage", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}x",
		 RPC_PARSE_ERROR, "null"},
		{"two JSON texts", "{}{}", RPC_PARSE_ERROR, "null"},
		{"an array (batch)", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}]",
		 RPC_INVALID_REQUEST, "null"},
		{"a string", "\"list_devices\"", RPC_INVALID_REQUEST, "null"},
		{"null", "null", RPC_INVALID_REQUEST, "null"},
		{"no jsonrpc member", "{\"id\":3,\"method\":\"list_devices\"}", RPC_INVALID_REQUEST,
		 "3"},
		{"jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"list_devices\"}",
		 RPC_INVALID_REQUEST, "3"},
		{"no method", "{\"jsonrpc\":\"2.0\",\"id\":\"x\"}", RPC_INVALID_REQUEST, "\"x\""},
		{"method is a number", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
		 RPC_INVALID_REQUEST, "1"},
		{"method given twice",
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\",\"method\":"
		 "\"reset_iplist_ignore\"}",
		 RPC_INVALID_REQUEST, "null"},
		{"unknown method", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system.exec\"}",
		 RPC_METHOD_NOT_FOUND, "1"},
		{"method with a NUL",
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\\u0000x\"}",
		 RPC_INVALID_REQUEST, "null"},
		{"a MAC with a NUL",
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_device_flows\",\"params\":{"
		 "\"device\":\"02:00:00:00:00:10\\u0000x\"}}",
		 RPC_INVALID_REQUEST, "null"},
		{"params is an array",
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get_device_data\",\"params\":[1]}",
		 RPC_INVALID_PARAMS, "1"},
		{"params is a string",
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\",\"params\":\"x\"}",
		 RPC_INVALID_PARAMS, "1"},
		/* JSON-RPC 2.0: an id is a string, a number or null; else the request is invalid
		 * and must not run (these would block an address). */
		{"id is an object",
		 "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"add_iplist_ip\",\"params\":{"
		 "\"list\":\"block\",\"ip\":\"192.0.2.99\"}}",
		 RPC_INVALID_REQUEST, "null"},
		{"id is an array",
		 "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"add_iplist_ip\",\"params\":{"
		 "\"list\":\"block\",\"ip\":\"192.0.2.99\"}}",
		 RPC_INVALID_REQUEST, "null"},
		{"id is true",
		 "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"add_iplist_ip\",\"params\":{"
		 "\"list\":\"block\",\"ip\":\"192.0.2.99\"}}",
		 RPC_INVALID_REQUEST, "null"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = call_raw(cases[i].body, strlen(cases[i].body));
		char n[200], *id = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "id"));

		snprintf(n, sizeof(n), "%s: error %d", cases[i].name, cases[i].code);
		CHECK_INT(err_code(j), cases[i].code, n);
		snprintf(n, sizeof(n), "%s: id %s", cases[i].name, cases[i].id);
		CHECK_STR(id, cases[i].id, n);
		snprintf(n, sizeof(n), "%s: jsonrpc 2.0", cases[i].name);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "jsonrpc")), "2.0", n);
		free(id);
		cJSON_Delete(j);
	}
	{
		const char *b = "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"list_devices\"}";
		cJSON *j = call_raw(b, strlen(b));

		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")), "abc",
			  "a string id is echoed");
		cJSON_Delete(j);
		/* Every integer a JavaScript client can hold (up to 2^53 - 1) comes back as sent:
		 * cJSON's own printing rounds these to 15 digits (9.00719925474099e+15). */
		static const char *const ids[] = {"9007199254740991",
						  "-9007199254740991",
						  "1795748790123456",
						  "4294967296",
						  "0.1",
						  "-0"};
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			char body[128], want[128], *out;

			snprintf(body, sizeof(body),
				 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"get_flow_block\"}",
				 ids[i]);
			snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,", ids[i]);
			/* the wire text: parsing it back with cJSON would round again */
			out = rpc_handle(body, strlen(body));
			if (out && strlen(out) > strlen(want))
				out[strlen(want)] = '\0';
			CHECK_STR(out, want, "a number id is echoed exactly");
			free(out);
		}
		b = "{\"jsonrpc\":\"2.0\",\"method\":\"list_devices\"}";
		j = call_raw(b, strlen(b));
		CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "result")),
		      "a notification (no id) is answered");
		cJSON_Delete(j);
	}
}

/* True when s (n bytes) is UTF-8 text: what every answer must be. */
static bool is_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		size_t more = p[i] < 0x80		     ? 0
			      : p[i] >= 0xc2 && p[i] <= 0xdf ? 1
			      : p[i] >= 0xe0 && p[i] <= 0xef ? 2
			      : p[i] >= 0xf0 && p[i] <= 0xf4 ? 3
							     : 9;

		if (more == 9 || i + more >= n)
			return false;
		for (; more; more--)
			if ((p[++i] & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/*
 * Bytes JSON forbids and cJSON takes: raw control characters (a NUL would cut the string, so
 * the MAC before it would pass) and text that is not UTF-8 (it would be echoed in "id"). Each is
 * a parse error with a null id, and its answer is UTF-8. Lengths are explicit: NUL included.
 */
#define RAW(s) s, sizeof(s) - 1
static void test_raw_bytes(void)
{
	static const struct {
		const char *name, *body;
		size_t len;
		const char *msg;
	} cases[] = {
		{"a raw NUL after a valid MAC",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_device_flows\",\"params\":{"
		     "\"device\":\"02:00:00:00:00:10\0; rm -rf /\"}}"),
		 "control character 0x00"},
		{"a raw NUL in a name",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_device_name\",\"params\":{"
		     "\"node\":1,\"name\":\"Laptop\0<script>\"}}"),
		 "control character 0x00"},
		{"a raw NUL in the method",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\0x\"}"),
		 "control character 0x00"},
		{"a raw 0x01 in a string",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"a\x01\",\"method\":\"list_devices\"}"),
		 "control character 0x01"},
		{"a raw newline in a string",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_device_name\",\"params\":{"
		     "\"node\":1,\"name\":\"Lap\ntop\"}}"),
		 "control character 0x0a"},
		{"a raw 0x1f between members",
		 RAW("{\"jsonrpc\":\"2.0\",\x1f\"id\":1,\"method\":\"list_devices\"}"),
		 "control character 0x1f"},
		{"a backslash before a raw control byte",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"a\\\x02\",\"method\":\"list_devices\"}"),
		 "control character 0x02"},
		{"invalid UTF-8 in the id",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"list_devices\"}"),
		 "not valid UTF-8"},
		{"invalid UTF-8 in the method",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\xc3\x28\"}"),
		 "not valid UTF-8"},
		{"an overlong '/' in a string",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"\xc0\xaf\",\"method\":\"list_devices\"}"),
		 "not valid UTF-8"},
		{"a UTF-16 surrogate in a string",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"list_devices\"}"),
		 "not valid UTF-8"},
		{"a code point above U+10FFFF",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":\"\xf4\x90\x80\x80\",\"method\":\"list_"
		     "devices\"}"),
		 "not valid UTF-8"},
		{"a sequence cut by the end of the body",
		 RAW("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}\xe2\x82"),
		 "not valid UTF-8"},
	};
	static const char ok_body[] =
		"{\"jsonrpc\":\"2.0\",\r\n\t\"id\":\"caf\xc3\xa9 \xe2\x9c\x93 "
		"\xf0\x9f\x98\x80\",\n\"method\":\"list_devices\"}\n";
	int before = names_set;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = rpc_handle(cases[i].body, cases[i].len);
		cJSON *j = out ? cJSON_Parse(out) : NULL;
		char n[200];

		snprintf(n, sizeof(n), "%s: parse error", cases[i].name);
		CHECK_INT(err_code(j), RPC_PARSE_ERROR, n);
		snprintf(n, sizeof(n), "%s: message names '%s'", cases[i].name, cases[i].msg);
		if (!CHECK(strstr(err_msg(j), cases[i].msg) != NULL, n))
			printf("#   message was: %s\n", err_msg(j));
		snprintf(n, sizeof(n), "%s: id null", cases[i].name);
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "id")), n);
		snprintf(n, sizeof(n), "%s: the answer is UTF-8", cases[i].name);
		CHECK(out && is_utf8(out, strlen(out)), n);
		cJSON_Delete(j);
		free(out);
	}
	CHECK_INT(names_set, before, "no name was set from a body with raw bytes");
	{
		cJSON *j = call_raw(ok_body, sizeof(ok_body) - 1);

		CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "result")),
		      "UTF-8 text and tab, CR, LF between tokens are accepted");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")),
			  "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
			  "a UTF-8 id is echoed as is");
		cJSON_Delete(j);
	}
}
#undef RAW

static void test_params(void)
{
	char p[512];

	expect_error("missing node", "get_device_data", "{}", RPC_INVALID_PARAMS,
		     "missing parameter 'node'");
	expect_error("no params at all", "get_device_data", NULL, RPC_INVALID_PARAMS,
		     "missing parameter 'node'");
	expect_error("extra parameter", "get_device_data", "{\"node\":1,\"force\":true}",
		     RPC_INVALID_PARAMS, "unexpected parameter 'force'");
	expect_error("extra parameter on a method without any", "list_devices", "{\"x\":1}",
		     RPC_INVALID_PARAMS, "unexpected parameter 'x'");
	expect_error("duplicate parameter", "get_device_data", "{\"node\":1,\"node\":2}",
		     RPC_INVALID_PARAMS, "'node' given twice");
	expect_error("node as a string", "get_device_data", "{\"node\":\"1\"}", RPC_INVALID_PARAMS,
		     "'node' must be an integer");
	expect_error("node as a fraction", "get_device_data", "{\"node\":1.5}", RPC_INVALID_PARAMS,
		     "'node' must be an integer");
	expect_error("node beyond 32 bits", "get_device_data", "{\"node\":1e12}",
		     RPC_INVALID_PARAMS, "'node' must be an integer");
	expect_error("node as null", "get_device_data", "{\"node\":null}", RPC_INVALID_PARAMS,
		     "'node' must be an integer");
	expect_error("list as a number", "list_iplist", "{\"list\":5}", RPC_INVALID_PARAMS,
		     "'list' must be a string");
	expect_error("list as an object", "list_iplist", "{\"list\":{\"a\":1}}", RPC_INVALID_PARAMS,
		     "'list' must be a string");
	expect_error("block 2", "set_flow_block", "{\"node1\":1,\"node2\":2,\"block\":2}",
		     RPC_INVALID_PARAMS, "block must be 0 or 1");
	expect_error("block true", "set_flow_block", "{\"node1\":1,\"node2\":2,\"block\":true}",
		     RPC_INVALID_PARAMS, "'block' must be an integer");

	expect_error("unknown node", "get_device_data", "{\"node\":999}", RPC_METHOD_ERROR,
		     "Unknown node id");
	expect_error("negative node", "get_device_data", "{\"node\":-1}", RPC_METHOD_ERROR,
		     "Unknown node id");
	expect_error("node 0", "add_iplist_node", "{\"list\":\"block\",\"node\":0}",
		     RPC_METHOD_ERROR, "Unknown node id");
	/* The first SPIN's message, word for word (spin-samples/rpc-examples.md, entry 24). */
	expect_error("unknown list", "list_iplist", "{\"list\":\"Block\"}", RPC_METHOD_ERROR,
		     "Unknown ip list name, should be 'ignore', 'block', or 'allow'");
	expect_error("unknown list on add", "add_iplist_ip",
		     "{\"list\":\"deny\",\"ip\":\"192.0.2.1\"}", RPC_METHOD_ERROR,
		     "Unknown ip list name");
	expect_error("a node blocked from itself", "set_flow_block",
		     "{\"node1\":1,\"node2\":1,\"block\":1}", RPC_METHOD_ERROR, "itself");
	expect_error("node_add_ip to an unknown node", "node_add_ip",
		     "{\"node\":999,\"ipaddr\":\"192.0.2.5\"}", RPC_METHOD_ERROR,
		     "Unknown node id");
	expect_error("unknown device", "list_device_flows", "{\"device\":\"02:00:00:00:00:99\"}",
		     RPC_METHOD_ERROR, "Device not found");

	static const char *const bad_ips[] = {
		"",	      "999.1.1.1",     "192.0.2",      "192.0.2.1/24", "192.0.2.1 ",
		" 192.0.2.1", "192.0.2.1; ls", "2001:db8:::1", "localhost",    "0x7f.1",
		"::ffff:zz",  "192.0.2.1\\n",  "$(reboot)",    "../../etc",
	};
	for (size_t i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		char n[128];

		snprintf(p, sizeof(p), "{\"list\":\"block\",\"ip\":\"%s\"}", bad_ips[i]);
		snprintf(n, sizeof(n), "add_iplist_ip \"%s\"", bad_ips[i]);
		expect_error(n, "add_iplist_ip", p, RPC_METHOD_ERROR, "Invalid IP address");
	}
	expect_error("node_add_ip with a bad address", "node_add_ip",
		     "{\"node\":0,\"ipaddr\":\"300.0.0.1\"}", RPC_METHOD_ERROR,
		     "Invalid IP address");

	/* Shell, path, format-string and SQL tricks as a MAC never get past the parser. */
	static const char *const bad_macs[] = {
		"02:00:00:00:00:10; rm -rf /",
		"$(reboot)",
		"`id`",
		"../../../etc/passwd",
		"%s%s%s%n",
		"' OR 1=1 --",
		"02-00-00-00-00-10",
		"0200.0000.0010",
		"02:00:00:00:00:1g",
		"2:0:0:0:0:10",
		" 2:00:00:00:00:10",
		"+2:00:00:00:00:10",
		"02:00:00:00:00:10\\u0030",
		"02:00:00:00:00:100",
		"",
		"0x:00:00:00:00:10",
		"02:00:00:00:00: a",
		"<script>alert(1)</script>",
	};
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		char n[128];

		snprintf(p, sizeof(p), "{\"device\":\"%s\"}", bad_macs[i]);
		snprintf(n, sizeof(n), "MAC \"%s\"", bad_macs[i]);
		expect_error(n, "list_device_flows", p, RPC_INVALID_PARAMS,
			     "device must be a MAC address");
		snprintf(p, sizeof(p), "{\"device\":\"%s\",\"node\":2,\"block\":1}", bad_macs[i]);
		snprintf(n, sizeof(n), "set_device_flow_block MAC \"%s\"", bad_macs[i]);
		expect_error(n, "set_device_flow_block", p, RPC_INVALID_PARAMS,
			     "device must be a MAC address");
	}

	/* Markup and control characters in names are refused; the old name stays. */
	static const char *const bad_names[] = {
		"<script>alert(1)</script>",
		"a\\\"b",
		"Tom & Jerry",
		"it's",
		"line\\nbreak",
		"tab\\there",
		"bad \\u0001",
		"<img src=x onerror=alert(1)>",
	};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		char n[128];

		snprintf(p, sizeof(p), "{\"node\":%u,\"name\":\"%s\"}", dev, bad_names[i]);
		snprintf(n, sizeof(n), "name \"%s\"", bad_names[i]);
		expect_error(n, "set_device_name", p, RPC_INVALID_PARAMS, "name must be");
	}
	memset(p, 'a', 300);
	p[300] = '\0';
	{
		char *params = NULL;

		if (asprintf(&params, "{\"node\":%u,\"name\":\"%.*s\"}", dev, NODE_NAME_MAX + 1,
			     p) > 0)
			expect_error("a name one byte too long", "set_device_name", params,
				     RPC_INVALID_PARAMS, "at most 64 bytes");
		free(params);
	}
}

static void test_name_limit(void)
{
	char *params = NULL, p[NODE_NAME_MAX + 1];

	memset(p, 'a', NODE_NAME_MAX);
	p[NODE_NAME_MAX] = '\0';
	if (asprintf(&params, "{\"node\":%u,\"name\":\"%s\"}", dev, p) > 0)
		expect_result("a name of exactly 64 bytes", "set_device_name", params, "null");
	free(params);
	CHECK_STR(node_name(nodes_by_id(dev)), p, "the 64-byte name is stored");
}

/*
 * The lists hold addresses. A node without any (a queried name not resolved yet, a device
 * known only by its MAC) cannot be put on one: the call says so instead of answering success
 * while nothing is listed (the addresses it gains later would pass).
 */
static void test_no_address(void)
{
	static const char *const lists[] = {"block", "allow", "ignore"};
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0x20};
	time_t now = time(NULL);
	uint32_t ids[2];
	char p[128], n[128];

	ids[0] = node_id(nodes_get_domain("nx.example.", now));
	ids[1] = node_id(nodes_get_mac(mac, now));
	for (int i = 0; i < 2; i++) {
		for (int l = 0; l < 3; l++) {
			snprintf(p, sizeof(p), "{\"list\":\"%s\",\"node\":%u}", lists[l], ids[i]);
			snprintf(n, sizeof(n), "add_iplist_node %s: a %s without addresses",
				 lists[l], i ? "device" : "name");
			expect_error(n, "add_iplist_node", p, RPC_METHOD_ERROR, "no IP address");
			snprintf(n, sizeof(n), "remove_iplist_node %s: a %s without addresses",
				 lists[l], i ? "device" : "name");
			expect_result(n, "remove_iplist_node", p, "null");
		}
	}
}

/* Whether list_iplist of list names addr. */
static bool listed(const char *list, const char *addr)
{
	char p[64], quoted[64];
	cJSON *j;
	bool on;

	snprintf(p, sizeof(p), "{\"list\":\"%s\"}", list);
	snprintf(quoted, sizeof(quoted), "\"%s\"", addr);
	j = call("list_iplist", p);
	on = strstr(result_text(j), quoted) != NULL;
	cJSON_Delete(j);
	return on;
}

/*
 * A node on a list has all its addresses there: add_iplist_ip / remove_iplist_ip of one
 * address of a known node list or un-list the whole node; an address of no node alone.
 */
static void test_iplist_ip_node(void)
{
	time_t now = time(NULL);
	struct spin_addr a4, a6;

	nodes_addr_parse("198.51.100.40", &a4);
	nodes_addr_parse("2001:db8::40", &a6);
	nodes_add_domain(&a4, "cdn.example.", now);
	nodes_add_domain(&a6, "cdn.example.", now);
	CHECK(nodes_by_ip(&a4) == nodes_by_ip(&a6), "one node with an IPv4 and an IPv6 address");
	expect_result("add_iplist_ip block: one address of the node", "add_iplist_ip",
		      "{\"list\":\"block\",\"ip\":\"198.51.100.40\"}", "null");
	CHECK(listed("block", "198.51.100.40") && listed("block", "2001:db8::40"),
	      "add_iplist_ip: both addresses of the node are on the block list");
	expect_result("remove_iplist_ip block: the other address", "remove_iplist_ip",
		      "{\"list\":\"block\",\"ip\":\"2001:db8::40\"}", "null");
	CHECK(!listed("block", "198.51.100.40") && !listed("block", "2001:db8::40"),
	      "remove_iplist_ip: neither address is left on the block list");
	expect_result("add_iplist_ip block: an address of no node", "add_iplist_ip",
		      "{\"list\":\"block\",\"ip\":\"203.0.113.99\"}", "null");
	CHECK(listed("block", "203.0.113.99") && !listed("block", "198.51.100.40"),
	      "add_iplist_ip: an address of no node is listed alone");
	expect_result("remove_iplist_ip block: the address of no node", "remove_iplist_ip",
		      "{\"list\":\"block\",\"ip\":\"203.0.113.99\"}", "null");
	CHECK(!listed("block", "203.0.113.99"), "remove_iplist_ip: and un-listed");
}

/* MACs are printed in lower case and accepted in either (this one has hex letters). */
static void test_mac_case(void)
{
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0xab};

	nodes_get_mac(mac, time(NULL));
	expect_result("list_device_flows: the MAC in upper case", "list_device_flows",
		      "{\"device\":\"02:00:00:00:00:AB\"}", "[]");
	expect_result("list_device_flows: the MAC in mixed case", "list_device_flows",
		      "{\"device\":\"02:00:00:00:00:aB\"}", "[]");
}

static void test_huge(void)
{
	size_t n = RPC_MAX_BODY + 1;
	char *b = malloc(n + 64);
	cJSON *j;

	memset(b, ' ', n);
	j = call_raw(b, n);
	CHECK_INT(err_code(j), RPC_INVALID_REQUEST, "a body over RPC_MAX_BODY is refused");
	CHECK(strstr(err_msg(j), "body over") != NULL, "the message says the body is too big");
	cJSON_Delete(j);
	/* Deep nesting ends in a parse error, not a stack overflow. */
	memset(b, '[', n - 1);
	j = call_raw(b, n - 1);
	CHECK_INT(err_code(j), RPC_PARSE_ERROR, "a megabyte of '[' is a parse error");
	cJSON_Delete(j);
	/* A huge string parameter is checked, not truncated into something valid. */
	n = (size_t)sprintf(b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_device_name\","
			       "\"params\":{\"node\":1,\"name\":\"");
	memset(b + n, 'x', 900000);
	n += 900000;
	n += (size_t)sprintf(b + n, "\"}}");
	j = call_raw(b, n);
	CHECK_INT(err_code(j), RPC_INVALID_PARAMS, "a 900 kB name is invalid params");
	cJSON_Delete(j);
	free(b);
}

static void test_passive(void)
{
	cJSON *j;

	rpc_init(NULL, false);
	j = call("add_iplist_ip", "{\"list\":\"block\",\"ip\":\"192.0.2.77\"}");
	CHECK_INT(err_code(j), RPC_METHOD_ERROR, "passive mode: a block is an error");
	CHECK(strstr(err_msg(j), "Passive mode") != NULL, "passive mode: the message says so");
	cJSON_Delete(j);
	expect_result("passive mode: the ignore list still works", "add_iplist_ip",
		      "{\"list\":\"ignore\",\"ip\":\"192.0.2.78\"}", "null");
}

int main(void)
{
	struct rpc_ops ops = {.name_set = on_name_set};
	struct traffic_ops to = {};
	struct spin_config cfg;
	char *before, *after;

	log_init("test_rpc", false, LOG_LVL_ERR, NULL);
	config_defaults(&cfg);
	if (nodes_init(&(struct nodes_ops){.flags = on_flags}, 0, 0) ||
	    policy_init(NULL, false, NULL) || traffic_init(&to, false) || lan_init(&cfg, NULL) ||
	    rpc_init(&ops, true)) {
		printf("not ok - setup failed\n");
		return 1;
	}
	setup_nodes();
	CHECK(dev == 1 && remote == 2 && remote6 == 3, "three nodes to work with");
	test_methods();

	before = state_text();
	test_envelope();
	test_raw_bytes();
	test_params();
	test_huge();
	after = state_text();
	CHECK_STR(after, before, "no refused request changed any list, flow block or node");
	free(before);
	free(after);
	test_name_limit();
	test_no_address();
	test_mac_case();
	test_iplist_ip_node();
	test_passive();

	traffic_destroy();
	policy_destroy();
	nodes_destroy();
	return check_exit();
}
