// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "bus.h"
#include "capture.h"
#include "dns.h"
#include "events.h"
#include "flows.h"
#include "kernel.h"
#include "mqtt.h"
#include "neigh.h"
#include "nodes.h"
#include "policy.h"
#include "stats.h"
#include "traffic.h"

typedef void (*emit_fn)(const struct stat_value *v, void *ctx);

struct emitter {
	emit_fn cb;
	void *ctx;
	const char *module;
};

static void emit(struct emitter *e, const char *name, uint64_t value, enum stat_type type)
{
	struct stat_value v = {e->module, name, type, value};

	e->cb(&v, e->ctx);
}

static void collect_kernel(struct emitter *e)
{
	static const char *const names[] = SPIN_STAT_NAMES;
	__u64 vals[SPIN_STAT_MAX];

	e->module = "kernel";
	if (kernel_read_stats(vals))
		return;
	for (int i = 0; i < SPIN_STAT_MAX; i++)
		emit(e, names[i], vals[i], STAT_TOTAL);
	e->module = "flows";
	const struct flows_stats *fs = flows_get_stats();

	emit(e, "sweeps", fs->sweeps, STAT_TOTAL);
	emit(e, "flows", fs->flows, STAT_MAX);
	emit(e, "flows4", fs->flows4, STAT_MAX);
	emit(e, "flows6", fs->flows6, STAT_MAX);
	emit(e, "max_flows", kernel_max_flows(), STAT_MAX);
	emit(e, "removed", fs->removed, STAT_TOTAL);
	emit(e, "macs", fs->macs, STAT_TOTAL);
	emit(e, "guessed", fs->guessed, STAT_TOTAL);
	emit(e, "last_sweep_us", fs->last_sweep_us, STAT_MAX);
	emit(e, "max_sweep_us", fs->max_sweep_us, STAT_MAX);

	struct events_stats es;

	events_get_stats(&es);
	e->module = "events";
	emit(e, "events", es.events, STAT_TOTAL);
	emit(e, "dns_messages", es.dns_messages, STAT_TOTAL);
	emit(e, "malformed", es.malformed, STAT_TOTAL);
	emit(e, "dns_rejected", es.dns_rejected, STAT_TOTAL);
}

static void collect_user(struct emitter *e)
{
	struct nodes_stats ns;
	struct dns_stats ds;
	struct traffic_stats ts;
	struct mqtt_stats ms;
	struct neigh_stats nb;

	nodes_get_stats(&ns);
	e->module = "node_cache";
	emit(e, "nodes", ns.nodes, STAT_MAX);
	emit(e, "created", ns.created, STAT_TOTAL);
	emit(e, "merged", ns.merged, STAT_TOTAL);
	emit(e, "deleted", ns.deleted, STAT_TOTAL);
	emit(e, "evicted", ns.evicted, STAT_TOTAL);
	emit(e, "full", ns.full, STAT_TOTAL);
	emit(e, "moved", ns.moved, STAT_TOTAL);
	emit(e, "trimmed", ns.trimmed, STAT_TOTAL);
	emit(e, "published", ns.published, STAT_TOTAL);

	dns_get_stats(&ds);
	e->module = "dns";
	emit(e, "messages", ds.messages, STAT_TOTAL);
	emit(e, "queries", ds.queries, STAT_TOTAL);
	emit(e, "queries_reported", ds.queries_reported, STAT_TOTAL);
	emit(e, "queries_folded", ds.queries_folded, STAT_TOTAL);
	emit(e, "queries_not_lan", ds.queries_not_lan, STAT_TOTAL);
	emit(e, "expired", ds.expired, STAT_TOTAL);
	emit(e, "responses", ds.responses, STAT_TOTAL);
	emit(e, "answers", ds.answers, STAT_TOTAL);
	emit(e, "unmatched", ds.unmatched, STAT_TOTAL);
	emit(e, "bad_rcode", ds.bad_rcode, STAT_TOTAL);
	emit(e, "tc_set", ds.tc_set, STAT_TOTAL);
	emit(e, "malformed", ds.malformed, STAT_TOTAL);
	emit(e, "unsupported", ds.unsupported, STAT_TOTAL);
	emit(e, "cname_too_deep", ds.cname_too_deep, STAT_TOTAL);
	emit(e, "pending_full", ds.pending_full, STAT_TOTAL);
	emit(e, "addrs_refused", ds.addrs_refused, STAT_TOTAL);
	emit(e, "addrs_capped", ds.addrs_capped, STAT_TOTAL);
	emit(e, "pending", dns_pending_count(), STAT_MAX);

	traffic_get_stats(&ts);
	e->module = "traffic";
	emit(e, "messages", ts.messages, STAT_TOTAL);
	emit(e, "flows_reported", ts.flows_reported, STAT_TOTAL);
	emit(e, "flows_ignored", ts.flows_ignored, STAT_TOTAL);
	emit(e, "flows_remote", ts.flows_remote, STAT_TOTAL);
	emit(e, "blocked_messages", ts.blocked_messages, STAT_TOTAL);
	emit(e, "bytes", ts.bytes_reported, STAT_TOTAL);
	emit(e, "packets", ts.packets_reported, STAT_TOTAL);

	mqtt_get_stats(&ms);
	e->module = "mqtt";
	emit(e, "published", ms.published, STAT_TOTAL);
	emit(e, "dropped", ms.dropped, STAT_TOTAL);
	emit(e, "reconnects", ms.reconnects, STAT_TOTAL);
	emit(e, "connected", ms.connected, STAT_MAX);

	neigh_get_stats(&nb);
	e->module = "neigh";
	emit(e, "learned", nb.learned, STAT_TOTAL);
	emit(e, "fdb", nb.fdb, STAT_TOTAL);
	emit(e, "overruns", nb.overruns, STAT_TOTAL);

	e->module = "policy";
	emit(e, "block", policy_list_count(POLICY_BLOCK), STAT_MAX);
	emit(e, "allow", policy_list_count(POLICY_ALLOW), STAT_MAX);
	emit(e, "ignore", policy_list_count(POLICY_IGNORE), STAT_MAX);
	emit(e, "save_errors", policy_save_errors(), STAT_TOTAL);
}

/* Passive mode's packet source (user/capture.c) in the kernel's place. */
static void collect_passive(struct emitter *e)
{
	struct capture_stats s;

	capture_get_stats(&s);
	e->module = "passive";
	emit(e, "packets", s.packets, STAT_TOTAL);
	emit(e, "ip_packets", s.ip_packets, STAT_TOTAL);
	emit(e, "bytes", s.bytes, STAT_TOTAL);
	emit(e, "not_ip", s.not_ip, STAT_TOTAL);
	emit(e, "parse_error", s.parse_error, STAT_TOTAL);
	emit(e, "snap_cut", s.snap_cut, STAT_TOTAL);
	emit(e, "absurd", s.absurd, STAT_TOTAL);
	emit(e, "unknown_linktype", s.unknown_linktype, STAT_TOTAL);
	emit(e, "fragments", s.fragments, STAT_TOTAL);
	emit(e, "frag_unknown", s.frag_unknown, STAT_TOTAL);
	emit(e, "copies", s.copies, STAT_TOTAL);
	emit(e, "flow_new", s.flow_new, STAT_TOTAL);
	emit(e, "map_full", s.map_full, STAT_TOTAL);
	emit(e, "overflow_bytes", s.overflow_bytes, STAT_TOTAL);
	emit(e, "overflow_packets", s.overflow_packets, STAT_TOTAL);
	emit(e, "flows", s.flows, STAT_MAX);
	emit(e, "removed", s.removed, STAT_TOTAL);
	emit(e, "dns_packets", s.dns_packets, STAT_TOTAL);
	emit(e, "dns_malformed", s.dns_malformed, STAT_TOTAL);
	emit(e, "dns_rejected", s.dns_rejected, STAT_TOTAL);
	emit(e, "dns_snap_cut", s.dns_snap_cut, STAT_TOTAL);
	emit(e, "arp", s.arp, STAT_TOTAL);
	emit(e, "ndp", s.ndp, STAT_TOTAL);
	emit(e, "macs_learned", s.macs_learned, STAT_TOTAL);
	emit(e, "intervals", s.intervals, STAT_TOTAL);
	emit(e, "read_errors", s.read_errors, STAT_TOTAL);
	emit(e, "iface_lost", s.iface_lost, STAT_TOTAL);
}

void stats_collect(bool with_kernel, emit_fn cb, void *ctx)
{
	struct emitter e = {.cb = cb, .ctx = ctx};

	if (with_kernel)
		collect_kernel(&e);
	else if (capture_is_open())
		collect_passive(&e);
	collect_user(&e);
}

/* What was published last for each counter. */
struct last {
	char key[96];
	uint64_t value;
	uint64_t count;
	UT_hash_handle hh;
};

static struct last *published;

static void publish_if_changed(const struct stat_value *v, void *ctx)
{
	char key[96], topic[192];
	struct last *l;
	cJSON *o;
	char *s;

	snprintf(key, sizeof(key), "%s/%s", v->module, v->name);
	HASH_FIND_STR(published, key, l);
	if (l && l->value == v->value)
		return;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return;
		snprintf(l->key, sizeof(l->key), "%s", key);
		HASH_ADD_STR(published, key, l);
	}
	l->value = v->value;
	l->count++;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "module", v->module);
	cJSON_AddStringToObject(o, "name", v->name);
	cJSON_AddNumberToObject(o, "type", v->type);
	cJSON_AddNumberToObject(o, "value", (double)v->value);
	cJSON_AddNumberToObject(o, "count", (double)l->count);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return;
	/* SPIN/stat is the first SPIN's fixed topic: it does not follow pubsub_channel_traffic. */
	snprintf(topic, sizeof(topic), "SPIN/stat/%s", key);
	bus_publish(topic, s, true);
	free(s);
}

void stats_publish_changed(bool with_kernel)
{
	stats_collect(with_kernel, publish_if_changed, NULL);
}

static void add_json(const struct stat_value *v, void *ctx)
{
	cJSON *root = ctx, *mod = cJSON_GetObjectItemCaseSensitive(root, v->module);

	if (!mod)
		mod = cJSON_AddObjectToObject(root, v->module);
	cJSON_AddNumberToObject(mod, v->name, (double)v->value);
}

cJSON *stats_json(bool with_kernel)
{
	cJSON *root = cJSON_CreateObject();

	stats_collect(with_kernel, add_json, root);
	return root;
}

void stats_destroy(void)
{
	struct last *l, *tmp;

	HASH_ITER(hh, published, l, tmp)
	{
		HASH_DEL(published, l);
		free(l);
	}
}
