/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SPIN's JSON-RPC 2.0 methods (protocol.md section 3), independent of the transport: the web
 * API and JSON-RPC over MQTT both hand a request body here and send back what it returns.
 * Every parameter is checked (present once, right type, nothing extra) before a method runs,
 * and a method either completes or changes nothing.
 */
#ifndef SPIN_RPC_H
#define SPIN_RPC_H

#include <stdbool.h>
#include <stddef.h>

struct node;

#define RPC_MAX_BODY (1024 * 1024)

#define RPC_PARSE_ERROR	     -32700
#define RPC_INVALID_REQUEST  -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS   -32602
#define RPC_METHOD_ERROR     -1

struct rpc_ops {
	/* set_device_name gave node n this name ("" clears): persist it. May be NULL. */
	void (*name_set)(const struct node *n, const char *name, void *ctx);
	void *ctx;
};

struct rpc_stats {
	unsigned long long requests;
	unsigned long long errors;
};

int rpc_init(const struct rpc_ops *ops, bool enforcing);
/* Handles one request body; returns the response text (caller frees), never NULL except on
 * allocation failure. Notifications (no id) are executed and answered like requests. */
char *rpc_handle(const char *body, size_t len);
/*
 * Whether body is a well-formed request of a method that only reads (list_*, get_*): the web
 * API answers those without the CSRF headers, as protocol.md asks them of state-changing
 * requests only.
 */
bool rpc_only_reads(const char *body, size_t len);
void rpc_get_stats(struct rpc_stats *st);

/* JSON-RPC over MQTT (config jsonrpc_mqtt): each request on RPC_MQTT_QUERY is answered on
 * RPC_MQTT_ANSWER. Call after mqtt_start(); the subscription survives reconnections. */
#define RPC_MQTT_QUERY	"SPIN/jsonrpc/q"
#define RPC_MQTT_ANSWER "SPIN/jsonrpc/a"
int rpc_serve_mqtt(void);

#endif
