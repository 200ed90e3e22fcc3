// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "lan.h"
#include "log.h"
#include "mqtt.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"
#include "utf8.h"
#include "traffic.h"

enum arg_type { ARG_INT, ARG_STRING, ARG_COMPLEX };

struct rpc_arg {
	const char *name;
	enum arg_type type;
};

#define RPC_MAX_ARGS 3

/* A method's outcome: result (may be NULL = JSON null) or an error code and message. */
struct rpc_reply {
	cJSON *result;
	int code;
	char message[160];
};

/* What a method does: only RPC_READS may be called without the CSRF headers (httpd.c). */
enum rpc_effect {
	RPC_READS,  /* reads state, changes nothing */
	RPC_WRITES, /* changes state other than the policy (names, nodes) */
	RPC_POLICY, /* changes the policy: refused when not enforcing (passive mode) */
};

struct rpc_method {
	const char *name;
	struct rpc_arg args[RPC_MAX_ARGS];
	const char *result_type;
	enum rpc_effect effect;
	void (*fn)(const cJSON *params, struct rpc_reply *r);
};

static struct {
	struct rpc_ops ops;
	bool enforcing;
	struct rpc_stats st;
} rpc;

static void fail(struct rpc_reply *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct rpc_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

static int int_param(const cJSON *params, const char *name)
{
	return (int)cJSON_GetObjectItemCaseSensitive(params, name)->valuedouble;
}

static const char *str_param(const cJSON *params, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(params, name)->valuestring;
}

static struct node *node_param(const cJSON *params, const char *name, struct rpc_reply *r)
{
	struct node *n = nodes_by_id((uint32_t)int_param(params, name));

	if (!n)
		fail(r, RPC_METHOD_ERROR, "Unknown node id");
	return n;
}

static int list_param(const cJSON *params, struct rpc_reply *r)
{
	int l = policy_list_from_name(str_param(params, "list"));

	if (l < 0)
		fail(r, RPC_METHOD_ERROR,
		     "Unknown ip list name, should be 'ignore', 'block', or 'allow'");
	return l;
}

static struct node *device_param(const cJSON *params, const char *name, struct rpc_reply *r)
{
	uint8_t mac[6];
	struct node *n;

	if (nodes_mac_parse(str_param(params, name), mac)) {
		fail(r, RPC_INVALID_PARAMS, "Invalid params: %s must be a MAC address", name);
		return NULL;
	}
	n = nodes_by_mac(mac);
	if (!n)
		fail(r, RPC_METHOD_ERROR, "Device not found");
	return n;
}

static void policy_result(struct rpc_reply *r, int err)
{
	if (err == -ENOSPC)
		fail(r, RPC_METHOD_ERROR, "List is full");
	else if (err)
		fail(r, RPC_METHOD_ERROR, "Policy update failed: %s", strerror(-err));
}

/* --- methods --- */

static void m_list_rpc_methods(const cJSON *params, struct rpc_reply *r);

static void add_device(struct node *n, void *ctx)
{
	if (node_mac(n))
		cJSON_AddItemToArray(ctx, node_to_json(n));
}

static void m_list_devices(const cJSON *params, struct rpc_reply *r)
{
	r->result = cJSON_CreateArray();
	nodes_foreach(add_device, r->result);
}

static void m_get_device_data(const cJSON *params, struct rpc_reply *r)
{
	struct node *n = node_param(params, "node", r);

	if (n)
		r->result = node_to_json(n);
}

static void add_blocked_peer(uint32_t peer, void *ctx)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "to", peer);
	cJSON_AddNumberToObject(o, "dst_port", 0);
	cJSON_AddNumberToObject(o, "icmp_type", 0);
	cJSON_AddNumberToObject(o, "blocked", 1);
	cJSON_AddItemToArray(ctx, o);
}

static void m_list_device_flows(const cJSON *params, struct rpc_reply *r)
{
	struct node *n = device_param(params, "device", r);

	if (!n)
		return;
	r->result = traffic_device_flows(node_id(n));
	policy_foreach_flow_peer(node_id(n), add_blocked_peer, r->result);
}

static void m_get_device_history(const cJSON *params, struct rpc_reply *r)
{
	struct node *n = node_param(params, "node", r);

	if (!n)
		return;
	r->result = traffic_device_history(node_id(n));
	if (!r->result)
		fail(r, RPC_METHOD_ERROR, "Out of memory");
}

static void m_list_iplist(const cJSON *params, struct rpc_reply *r)
{
	int l = list_param(params, r);

	if (l >= 0)
		r->result = policy_list_json(l);
}

static void iplist_node(const cJSON *params, struct rpc_reply *r, bool add)
{
	int l = list_param(params, r);
	struct node *n;

	if (l < 0)
		return;
	n = node_param(params, "node", r);
	if (!n)
		return;
	/*
	 * The lists hold addresses: a node without any (a queried name not resolved yet, a
	 * device known only by its MAC) would be listed by nothing, and the addresses it gains
	 * later would pass. Say so rather than answer success.
	 */
	if (add && !node_ip_count(n)) {
		fail(r, RPC_METHOD_ERROR, "Node has no IP address to put on the list (yet)");
		return;
	}
	policy_result(r, add ? policy_add_node(l, n) : policy_remove_node(l, n));
	nodes_mark_changed(n);
}

static void m_add_iplist_node(const cJSON *params, struct rpc_reply *r)
{
	iplist_node(params, r, true);
}

static void m_remove_iplist_node(const cJSON *params, struct rpc_reply *r)
{
	iplist_node(params, r, false);
}

static void iplist_ip(const cJSON *params, struct rpc_reply *r, bool add)
{
	int l = list_param(params, r);
	struct spin_addr a;
	struct node *n;

	if (l < 0)
		return;
	if (nodes_addr_parse(str_param(params, "ip"), &a)) {
		fail(r, RPC_METHOD_ERROR, "Invalid IP address");
		return;
	}
	n = nodes_by_ip(&a);
	if (!n) {
		policy_result(r, add ? policy_add_addr(l, &a) : policy_remove_addr(l, &a));
		return;
	}
	/*
	 * A node on a list has all its addresses there (protocol.md), and any listed address puts
	 * its node on the list: an address of a known node lists or un-lists the whole node at
	 * once. Listing one address alone left the others passing until the node's next change
	 * spread the list to them, and that change undid an unblock of one address.
	 */
	policy_result(r, add ? policy_add_node(l, n) : policy_remove_node(l, n));
	nodes_mark_changed(n);
}

static void m_add_iplist_ip(const cJSON *params, struct rpc_reply *r)
{
	iplist_ip(params, r, true);
}

static void m_remove_iplist_ip(const cJSON *params, struct rpc_reply *r)
{
	iplist_ip(params, r, false);
}

static void m_reset_iplist_ignore(const cJSON *params, struct rpc_reply *r)
{
	struct spin_addr own[LAN_MAX_OWN];
	int n = lan_own_addrs(own, LAN_MAX_OWN);

	policy_result(r, policy_set_list(POLICY_IGNORE, own, n));
}

static void m_set_device_name(const cJSON *params, struct rpc_reply *r)
{
	struct node *n = node_param(params, "node", r);
	int err;

	if (!n)
		return;
	err = nodes_set_name(node_id(n), str_param(params, "name"));
	if (err == -EINVAL) {
		fail(r, RPC_INVALID_PARAMS,
		     "Invalid params: name must be at most %d bytes of text without < > \" ' &",
		     NODE_NAME_MAX);
		return;
	}
	if (err) {
		fail(r, RPC_METHOD_ERROR, "Unknown node id");
		return;
	}
	if (rpc.ops.name_set)
		rpc.ops.name_set(nodes_by_id(node_id(n)), str_param(params, "name"), rpc.ops.ctx);
}

static void m_node_add_ip(const cJSON *params, struct rpc_reply *r)
{
	int id = int_param(params, "node");
	struct spin_addr a;
	struct node *n;

	if (id < 0 || (id > 0 && !nodes_by_id((uint32_t)id))) {
		fail(r, RPC_METHOD_ERROR, "Unknown node id");
		return;
	}
	if (nodes_addr_parse(str_param(params, "ipaddr"), &a)) {
		fail(r, RPC_METHOD_ERROR, "Invalid IP address");
		return;
	}
	n = nodes_add_ip((uint32_t)id, &a, time(NULL));
	if (!n) {
		fail(r, RPC_METHOD_ERROR, "Node cache full");
		return;
	}
	policy_node_changed(n);
	r->result = cJSON_CreateNumber(node_id(n));
}

static int block_param(const cJSON *params, struct rpc_reply *r)
{
	int b = int_param(params, "block");

	if (b != 0 && b != 1) {
		fail(r, RPC_INVALID_PARAMS, "Invalid params: block must be 0 or 1");
		return -1;
	}
	return b;
}

static void flow_block(struct node *a, struct node *b, int block, struct rpc_reply *r)
{
	if (a == b) {
		fail(r, RPC_METHOD_ERROR, "A node cannot be blocked from itself");
		return;
	}
	policy_result(r, policy_set_flow_block(a, b, block));
	nodes_mark_changed(a);
	nodes_mark_changed(b);
}

static void m_set_flow_block(const cJSON *params, struct rpc_reply *r)
{
	int block = block_param(params, r);
	struct node *a, *b;
	uint32_t ida;

	if (block < 0)
		return;
	a = node_param(params, "node1", r);
	if (!a)
		return;
	ida = node_id(a);
	b = node_param(params, "node2", r);
	a = nodes_by_id(ida);
	if (a && b)
		flow_block(a, b, block, r);
}

static void m_set_device_flow_block(const cJSON *params, struct rpc_reply *r)
{
	int block = block_param(params, r);
	struct node *dev, *peer;

	if (block < 0)
		return;
	dev = device_param(params, "device", r);
	if (!dev)
		return;
	peer = node_param(params, "node", r);
	if (peer)
		flow_block(dev, peer, block, r);
}

static void m_get_flow_block(const cJSON *params, struct rpc_reply *r)
{
	r->result = policy_flow_blocks_json();
}

static const struct rpc_method methods[] = {
	{"list_rpc_methods", {}, "complex", RPC_READS, m_list_rpc_methods},
	{"list_devices", {}, "complex", RPC_READS, m_list_devices},
	{"get_device_data", {{"node", ARG_INT}}, "complex", RPC_READS, m_get_device_data},
	{"list_device_flows", {{"device", ARG_STRING}}, "complex", RPC_READS, m_list_device_flows},
	{"get_device_history", {{"node", ARG_INT}}, "complex", RPC_READS, m_get_device_history},
	{"list_iplist", {{"list", ARG_STRING}}, "complex", RPC_READS, m_list_iplist},
	{"add_iplist_node",
	 {{"list", ARG_STRING}, {"node", ARG_INT}},
	 "none",
	 RPC_POLICY,
	 m_add_iplist_node},
	{"remove_iplist_node",
	 {{"list", ARG_STRING}, {"node", ARG_INT}},
	 "none",
	 RPC_POLICY,
	 m_remove_iplist_node},
	{"add_iplist_ip",
	 {{"list", ARG_STRING}, {"ip", ARG_STRING}},
	 "none",
	 RPC_POLICY,
	 m_add_iplist_ip},
	{"remove_iplist_ip",
	 {{"list", ARG_STRING}, {"ip", ARG_STRING}},
	 "none",
	 RPC_POLICY,
	 m_remove_iplist_ip},
	{"reset_iplist_ignore", {}, "none", RPC_POLICY, m_reset_iplist_ignore},
	{"set_device_name",
	 {{"node", ARG_INT}, {"name", ARG_STRING}},
	 "none",
	 RPC_WRITES,
	 m_set_device_name},
	{"node_add_ip",
	 {{"node", ARG_INT}, {"ipaddr", ARG_STRING}},
	 "integer",
	 RPC_WRITES,
	 m_node_add_ip},
	{"set_flow_block",
	 {{"node1", ARG_INT}, {"node2", ARG_INT}, {"block", ARG_INT}},
	 "none",
	 RPC_POLICY,
	 m_set_flow_block},
	{"set_device_flow_block",
	 {{"device", ARG_STRING}, {"node", ARG_INT}, {"block", ARG_INT}},
	 "none",
	 RPC_POLICY,
	 m_set_device_flow_block},
	{"get_flow_block", {}, "complex", RPC_READS, m_get_flow_block},
};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static const char *type_name(enum arg_type t)
{
	return t == ARG_INT ? "integer" : t == ARG_STRING ? "string" : "complex";
}

static void m_list_rpc_methods(const cJSON *params, struct rpc_reply *r)
{
	r->result = cJSON_CreateArray();
	for (size_t i = 0; i < N_METHODS; i++) {
		cJSON *m = cJSON_CreateObject(), *args = cJSON_CreateArray();

		cJSON_AddStringToObject(m, "rpc-name", methods[i].name);
		for (int a = 0; a < RPC_MAX_ARGS && methods[i].args[a].name; a++) {
			cJSON *arg = cJSON_CreateObject();

			cJSON_AddStringToObject(arg, "rpc-arg-name", methods[i].args[a].name);
			cJSON_AddStringToObject(arg, "rpc-arg-type",
						type_name(methods[i].args[a].type));
			cJSON_AddItemToArray(args, arg);
		}
		cJSON_AddItemToObject(m, "rpc-args", args);
		cJSON_AddStringToObject(m, "rpc-result-type", methods[i].result_type);
		cJSON_AddItemToArray(r->result, m);
	}
}

/* --- request checking --- */

static bool type_ok(const cJSON *v, enum arg_type t)
{
	if (t == ARG_STRING)
		return cJSON_IsString(v) && v->valuestring;
	if (t == ARG_INT)
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		       v->valuedouble >= -2147483648.0 && v->valuedouble <= 2147483647.0;
	return true;
}

static const struct rpc_arg *find_arg(const struct rpc_method *m, const char *name)
{
	for (int a = 0; a < RPC_MAX_ARGS && m->args[a].name; a++)
		if (strcmp(m->args[a].name, name) == 0)
			return &m->args[a];
	return NULL;
}

static int check_params(const struct rpc_method *m, const cJSON *params, struct rpc_reply *r)
{
	const cJSON *p;

	if (params && !cJSON_IsObject(params)) {
		fail(r, RPC_INVALID_PARAMS, "Invalid params: params must be an object");
		return -1;
	}
	for (p = params ? params->child : NULL; p; p = p->next) {
		const struct rpc_arg *a = find_arg(m, p->string);

		if (!a) {
			fail(r, RPC_INVALID_PARAMS, "Invalid params: unexpected parameter '%.64s'",
			     p->string);
			return -1;
		}
		for (const cJSON *q = params->child; q != p; q = q->next)
			if (strcmp(q->string, p->string) == 0) {
				fail(r, RPC_INVALID_PARAMS,
				     "Invalid params: parameter '%s' given twice", a->name);
				return -1;
			}
		if (!type_ok(p, a->type)) {
			fail(r, RPC_INVALID_PARAMS, "Invalid params: '%s' must be %s %s", a->name,
			     a->type == ARG_INT ? "an" : "a", type_name(a->type));
			return -1;
		}
	}
	for (int i = 0; i < RPC_MAX_ARGS && m->args[i].name; i++)
		if (!cJSON_GetObjectItemCaseSensitive(params, m->args[i].name)) {
			fail(r, RPC_INVALID_PARAMS, "Invalid params: missing parameter '%s'",
			     m->args[i].name);
			return -1;
		}
	return 0;
}

static const struct rpc_method *find_method(const char *name)
{
	for (size_t i = 0; i < N_METHODS; i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

/*
 * The id to echo. cJSON prints a number with 15 significant digits when that is within its
 * epsilon of the value, so 9007199254740991 (a JavaScript safe integer) would come back as
 * 9.00719925474099e+15 and the client would not match the answer: print the shortest form
 * that reads back as exactly the same double.
 */
static cJSON *id_copy(const cJSON *id)
{
	char num[32];

	if (!id)
		return cJSON_CreateNull();
	if (!cJSON_IsNumber(id) || !isfinite(id->valuedouble))
		return cJSON_Duplicate(id, true);
	snprintf(num, sizeof(num), "%.15g", id->valuedouble);
	if (strtod(num, NULL) != id->valuedouble)
		snprintf(num, sizeof(num), "%.17g", id->valuedouble);
	return cJSON_CreateRaw(num);
}

static cJSON *answer(const cJSON *id, struct rpc_reply *r)
{
	cJSON *resp = cJSON_CreateObject();

	cJSON_AddStringToObject(resp, "jsonrpc", "2.0");
	cJSON_AddItemToObject(resp, "id", id_copy(id));
	if (r->code) {
		cJSON *e = cJSON_AddObjectToObject(resp, "error");

		cJSON_AddNumberToObject(e, "code", r->code);
		cJSON_AddStringToObject(e, "message", r->message);
		cJSON_Delete(r->result);
		rpc.st.errors++;
	} else {
		cJSON_AddItemToObject(resp, "result", r->result ? r->result : cJSON_CreateNull());
	}
	return resp;
}

static bool is_ignore_list(const cJSON *params)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(params, "list");

	return cJSON_IsString(l) && strcmp(l->valuestring, "ignore") == 0;
}

static void dispatch(const cJSON *req, struct rpc_reply *r, const cJSON **id_out)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(req, "jsonrpc");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const struct rpc_method *m;

	/* JSON-RPC 2.0 allows a string, a number or null: any other id makes the request
	 * invalid, so it must not run (it is answered with a null id, as it cannot be echoed). */
	if (id && !cJSON_IsNumber(id) && !cJSON_IsString(id) && !cJSON_IsNull(id)) {
		*id_out = NULL;
		fail(r, RPC_INVALID_REQUEST,
		     "Invalid request: id must be a string, a number or null");
		return;
	}
	*id_out = id;
	if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0 ||
	    !cJSON_IsString(method)) {
		fail(r, RPC_INVALID_REQUEST,
		     "Invalid request: needs \"jsonrpc\":\"2.0\" and a "
		     "method name");
		return;
	}
	m = find_method(method->valuestring);
	if (!m) {
		fail(r, RPC_METHOD_NOT_FOUND, "Method not found: %.64s", method->valuestring);
		return;
	}
	if (check_params(m, params, r))
		return;
	m->fn(params, r);
	/* Passive mode keeps the lists (a user can prepare them) but says nothing is enforced. */
	if (!r->code && m->effect == RPC_POLICY && !rpc.enforcing && !is_ignore_list(params)) {
		cJSON_Delete(r->result);
		r->result = NULL;
		fail(r, RPC_METHOD_ERROR,
		     "Passive mode: the change is kept in the lists but nothing is enforced");
	}
}

/*
 * cJSON ends a string at an escaped NUL (\u0000): "02:00:00:00:00:10\u0000junk" would reach a
 * method as a valid MAC. No SPIN parameter has a use for NUL, so a body with one is refused.
 */
static bool has_escaped_nul(const char *body, size_t len)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_str) {
			in_str = body[i] == '"';
			continue;
		}
		if (body[i] == '"') {
			in_str = false;
		} else if (body[i] == '\\' && i + 1 < len) {
			if (body[i + 1] == 'u' && i + 5 < len &&
			    memcmp(body + i + 2, "0000", 4) == 0)
				return true;
			i++;
		}
	}
	return false;
}

/*
 * What JSON's grammar asks and cJSON does not check, before cJSON sees the body: UTF-8 text
 * (else an "id" or "method" would go back out as invalid bytes) and no raw control character
 * (below 0x20) inside a string, nor outside one except the whitespace tab, LF and CR. cJSON
 * takes raw control bytes into strings and a raw NUL ends the C string there:
 * "02:00:00:00:00:10<NUL>; rm -rf /" would reach a method as a valid MAC. 0 or fails r.
 */
static int check_text(const char *body, size_t len, struct rpc_reply *r)
{
	const unsigned char *b = (const unsigned char *)body;
	bool in_str = false;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(b + i, len - i);

		if (!n) {
			fail(r, RPC_PARSE_ERROR,
			     "Parse error: the body is not valid UTF-8 (byte %zu)", i);
			return -EILSEQ;
		}
		if (b[i] < 0x20 && (in_str || (b[i] != '\t' && b[i] != '\n' && b[i] != '\r'))) {
			fail(r, RPC_PARSE_ERROR,
			     "Parse error: raw control character 0x%02x at byte %zu (JSON strings "
			     "must escape it)",
			     b[i], i);
			return -EILSEQ;
		}
		if (b[i] == '"')
			in_str = !in_str;
		else if (b[i] == '\\' && in_str && i + 1 < len && b[i + 1] >= 0x20 &&
			 b[i + 1] < 0x80)
			n = 2; /* an escape: the next byte never ends the string */
		i += n;
	}
	return 0;
}

/* A JSON text is one value: anything but whitespace after it makes the body invalid. */
static cJSON *parse_body(const char *body, size_t len, struct rpc_reply *r)
{
	const char *end = NULL;
	cJSON *req;

	if (check_text(body, len, r))
		return NULL;
	req = cJSON_ParseWithLengthOpts(body, len, &end, false);
	for (; req && end && end < body + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(req);
			req = NULL;
		}
	if (!req)
		fail(r, RPC_PARSE_ERROR, "Parse error: the body is not valid JSON");
	return req;
}

/* The request's own members, once each (a second "method" must not hide behind the first). */
static bool has_duplicate_member(const cJSON *req)
{
	for (const cJSON *p = req->child; p; p = p->next)
		for (const cJSON *q = req->child; q != p; q = q->next)
			if (strcmp(q->string, p->string) == 0)
				return true;
	return false;
}

/* A parsed body: the request's shape, then the method. */
static void handle_request(const cJSON *req, const char *body, size_t len, struct rpc_reply *r,
			   const cJSON **id)
{
	if (has_escaped_nul(body, len))
		fail(r, RPC_INVALID_REQUEST,
		     "Invalid request: strings must not contain NUL (\\u0000)");
	else if (!cJSON_IsObject(req))
		fail(r, RPC_INVALID_REQUEST, "Invalid request: not a JSON object");
	else if (has_duplicate_member(req))
		fail(r, RPC_INVALID_REQUEST, "Invalid request: a member is given twice");
	else
		dispatch(req, r, id);
}

bool rpc_only_reads(const char *body, size_t len)
{
	struct rpc_reply r = {};
	const struct rpc_method *m = NULL;
	const cJSON *method;
	cJSON *req;

	if (len > RPC_MAX_BODY || !(req = parse_body(body, len, &r)))
		return false;
	method = cJSON_GetObjectItemCaseSensitive(req, "method");
	if (cJSON_IsObject(req) && !has_duplicate_member(req) && cJSON_IsString(method))
		m = find_method(method->valuestring);
	cJSON_Delete(req);
	return m && m->effect == RPC_READS;
}

char *rpc_handle(const char *body, size_t len)
{
	struct rpc_reply r = {};
	const cJSON *id = NULL;
	cJSON *req = NULL, *resp;
	char *out;

	rpc.st.requests++;
	if (len > RPC_MAX_BODY)
		fail(&r, RPC_INVALID_REQUEST, "Invalid request: body over %d bytes", RPC_MAX_BODY);
	else if ((req = parse_body(body, len, &r)))
		handle_request(req, body, len, &r, &id);
	resp = answer(id, &r);
	out = cJSON_PrintUnformatted(resp);
	cJSON_Delete(resp);
	cJSON_Delete(req);
	return out;
}

static void on_mqtt_query(const char *topic, const void *payload, size_t len, void *ctx)
{
	char *out = rpc_handle(payload, len);

	if (!out)
		return;
	mqtt_publish(RPC_MQTT_ANSWER, out, strlen(out), false);
	free(out);
}

int rpc_serve_mqtt(void)
{
	/* A request someone published with the retain flag is answered once, when it is sent, not
	 * again at every reconnection or restart of spind (an "unblock" would not last). */
	return mqtt_subscribe_opts(RPC_MQTT_QUERY, on_mqtt_query, NULL, MQTT_SUB_LIVE);
}

int rpc_init(const struct rpc_ops *ops, bool enforcing)
{
	if (ops)
		rpc.ops = *ops;
	rpc.enforcing = enforcing;
	return 0;
}

void rpc_get_stats(struct rpc_stats *st)
{
	*st = rpc.st;
}
