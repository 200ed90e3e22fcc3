/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * From flow deltas to SPIN's messages: each sweep's deltas become one `traffic` message (flows
 * named by node ids, initiator first) and one `blocked` message per flow that had drops, and
 * feed each device's flow history (list_device_flows).
 */
#ifndef SPIN_TRAFFIC_H
#define SPIN_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "flows.h"

struct node;

struct traffic_ops {
	/* Is this address a local device's (LAN prefix or a node with a MAC)? */
	bool (*is_local)(const struct spin_addr *a, void *ctx);
	/* Is this address on the ignore list? */
	bool (*is_ignored)(const struct spin_addr *a, void *ctx);
	/* A node took part in a flow (gives it a remembered name); it must not free or merge the
	 * node. May be NULL. */
	void (*node_seen)(struct node *n, void *ctx);
	/* Publishes one message (a complete envelope) on the traffic channel. */
	void (*publish)(const char *json, void *ctx);
	void *ctx;
};

struct traffic_stats {
	uint64_t messages;
	uint64_t flows_reported;
	uint64_t flows_ignored; /* an end on the ignore list */
	uint64_t flows_remote;	/* neither end local (left out unless local_mode) */
	uint64_t blocked_messages;
	uint64_t bytes_reported;
	uint64_t packets_reported;
	uint64_t history_entries;
	uint64_t minutes_devices; /* devices with a per-minute history now */
	uint64_t minutes_full;	  /* per-minute histories refused at TRAFFIC_MINUTES_DEVICES */
};

/* get_device_history: per device, bytes and packets per minute over the last hour. */
#define TRAFFIC_MINUTES 60
#ifndef TRAFFIC_MINUTES_DEVICES
#define TRAFFIC_MINUTES_DEVICES 4096 /* devices with one (~1 kB each) at most */
#endif

int traffic_init(const struct traffic_ops *ops, bool local_mode);
void traffic_destroy(void);
/* A flows_delta_cb: ctx is unused (pass NULL); uses the clock given to traffic_begin(). */
void traffic_add(const struct flow_delta *d, void *ctx);
/* Starts an interval ending at now (Unix seconds). */
void traffic_begin(time_t now);
/* Publishes the interval's traffic and blocked messages. */
void traffic_flush(void);
/* list_device_flows' rows for a device (array; caller owns it). */
cJSON *traffic_device_flows(uint32_t device_id);
/*
 * get_device_history's result for a device (any node id: one without traffic has zeros):
 * {"interval":60,"end":E,"bytes":[60],"packets":[60],"updated":U}, oldest minute first; the
 * last bucket is the current minute [E-60, E), on the traffic clock (traffic_begin()). U is
 * the timestamp of the last interval counted: traffic messages after it are not in it yet.
 */
cJSON *traffic_device_history(uint32_t device_id);
/* A node disappeared or was merged into another: move or drop its history. */
/* What decides a flow's fate outside the node cache changed (the ignore list): every flow is
 * worked out again at its next delta. */
void traffic_invalidate(void);
void traffic_node_merged(uint32_t old_id, uint32_t new_id);
void traffic_node_deleted(uint32_t id);
void traffic_get_stats(struct traffic_stats *st);

#endif
