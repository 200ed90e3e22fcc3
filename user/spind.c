// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "bus.h"
#include "dns.h"
#include "events.h"
#include "flows.h"
#include "kernel.h"
#include "lan.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "names.h"
#include "neigh.h"
#include "netif.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"
#include "stats.h"
#include "spind.h"
#include "traffic.h"

/* Flows without packets for this long leave the kernel table (their totals were reported). */
#define FLOW_IDLE_S 120

static struct {
	const struct spin_config *cfg;
	struct netif_set ifs;
	struct loop_timer *tick;
	unsigned int ticks;
	bool kernel_open;
} app;

static uint32_t boottime_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Publishes {"command":cmd,"result":result} (result is consumed). */
static void publish_cmd(const char *topic, const char *cmd, cJSON *result, bool retain)
{
	cJSON *env = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(env, "command", cmd);
	if (result)
		cJSON_AddItemToObject(env, "result", result);
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (!s)
		return;
	bus_publish(topic, s, retain);
	free(s);
}

/* --- node cache callbacks --- */

static void on_node_publish(const struct node *n, void *ctx)
{
	char topic[160];

	publish_cmd(bus_node_topic(node_id(n), topic, sizeof(topic)), "nodeInfo", node_to_json(n),
		    true);
}

static void on_node_merged(uint32_t old_id, uint32_t new_id, void *ctx)
{
	cJSON *r = cJSON_CreateObject();
	char topic[160];

	cJSON_AddNumberToObject(r, "id", old_id);
	cJSON_AddNumberToObject(r, "merged-to", new_id);
	publish_cmd(bus_admin_topic(), "nodeMerged", r, false);
	bus_clear(bus_node_topic(old_id, topic, sizeof(topic)));
	traffic_node_merged(old_id, new_id);
	policy_node_merged(old_id, new_id);
}

static void on_node_deleted(uint32_t id, void *ctx)
{
	cJSON *r = cJSON_CreateObject();
	char topic[160];

	cJSON_AddNumberToObject(r, "id", id);
	publish_cmd(bus_admin_topic(), "nodeDeleted", r, false);
	bus_clear(bus_node_topic(id, topic, sizeof(topic)));
	traffic_node_deleted(id);
	policy_node_deleted(id);
}

static bool on_node_protected(const struct node *n, void *ctx)
{
	for (int l = 0; l < POLICY_NLISTS; l++)
		if (policy_node_on(l, n))
			return true;
	return policy_node_in_flow_block(node_id(n));
}

static void on_node_flags(const struct node *n, bool *blocked, bool *excepted, void *ctx)
{
	*blocked = policy_node_on(POLICY_BLOCK, n);
	*excepted = policy_node_on(POLICY_ALLOW, n);
}

/* --- what is local --- */

static bool is_local(const struct spin_addr *a, void *ctx)
{
	struct node *n;

	if (lan_contains(a))
		return true;
	n = nodes_by_ip(a);
	return n && node_mac(n);
}

static bool is_ignored(const struct spin_addr *a, void *ctx)
{
	return policy_has(POLICY_IGNORE, a);
}

static void publish_traffic(const char *json, void *ctx)
{
	bus_publish(bus_traffic_topic(), json, false);
}

/* --- DNS callbacks --- */

static void on_dns_query(const struct spin_addr *client, const char *qname, uint16_t qtype,
			 void *ctx)
{
	time_t now = time(NULL);
	struct node *dev, *q;
	uint32_t dev_id;
	cJSON *r;

	dev = nodes_get_ip(client, now);
	if (!dev)
		return;
	dev_id = node_id(dev);
	q = nodes_get_domain(qname, now);
	dev = nodes_by_id(dev_id);
	if (!q || !dev)
		return;
	nodes_publish_pending(dev, now);
	nodes_publish_pending(q, now);
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "from", dev_id);
	cJSON_AddNumberToObject(r, "queriednode", node_id(q));
	cJSON_AddStringToObject(r, "query", qname);
	publish_cmd(bus_traffic_topic(), "dnsquery", r, false);
}

static void on_dns_answer(const struct spin_addr *client, const char *name,
			  const struct spin_addr *addr, uint32_t ttl, void *ctx)
{
	struct node *n = nodes_add_domain(addr, name, time(NULL));

	if (!n)
		return;
	names_apply(n);
	/* A blocked service's new address is blocked before the device can use it. */
	n = nodes_by_ip(addr);
	if (n)
		policy_node_changed(n);
}

/* --- devices --- */

static bool neigh_wanted(const struct spin_addr *ip, void *ctx)
{
	return lan_contains(ip) && !lan_is_own(ip);
}

static void on_mac_learned(const struct spin_addr *ip, const uint8_t mac[6], void *ctx)
{
	time_t now = time(NULL);
	struct node *n = nodes_set_mac(ip, mac, now);

	if (!n)
		return;
	names_apply(n);
	n = nodes_set_mac(ip, mac, now);
	if (n)
		policy_node_changed(n);
}

static void on_node_seen(struct node *n, void *ctx)
{
	names_apply(n);
}

struct id_list {
	uint32_t ids[1024];
	unsigned int n;
};

static void collect_unnamed_device(struct node *n, void *ctx)
{
	struct id_list *l = ctx;

	if (node_mac(n) && !node_name(n) && l->n < sizeof(l->ids) / sizeof(l->ids[0]))
		l->ids[l->n++] = node_id(n);
}

/* New DHCP leases may name devices we already know. */
static void refresh_lease_names(void)
{
	static struct id_list l;

	if (names_poll_leases() <= 0)
		return;
	l.n = 0;
	nodes_foreach(collect_unnamed_device, &l);
	for (unsigned int i = 0; i < l.n; i++)
		names_apply(nodes_by_id(l.ids[i]));
}

static void on_name_set(const struct node *n, const char *name, void *ctx)
{
	if (n)
		names_remember(n, name);
}

/* --- policy --- */

static void on_list_changed(enum policy_list l, void *ctx)
{
	publish_cmd(bus_traffic_topic(), policy_list_name(l), policy_list_json(l), false);
}

/* --- MQTT (re)connection: the whole state again, as after a restart --- */

static void republish_node(struct node *n, void *ctx)
{
	on_node_publish(n, NULL);
}

static void on_mqtt_connect(void *ctx)
{
	publish_cmd(bus_traffic_topic(), "serverRestart", NULL, false);
	for (int l = 0; l < POLICY_NLISTS; l++)
		on_list_changed(l, NULL);
	nodes_foreach(republish_node, NULL);
	/* The broker may be new: statistics are all published again at the next interval. */
	stats_destroy();
}

/*
 * Retained nodeInfo of nodes this run does not have (left by a previous run or a crash) is
 * cleared, so clients never see ghosts. Our own publications come back here too: they name
 * nodes that exist and are left alone.
 */
static void on_retained_node(const char *topic, const void *payload, size_t len, void *ctx)
{
	const char *slash = strrchr(topic, '/');
	char *end;
	unsigned long id;

	if (!len || !slash)
		return;
	id = strtoul(slash + 1, &end, 10);
	if (*end || !id || id > UINT32_MAX || nodes_by_id((uint32_t)id))
		return;
	bus_clear(topic);
}

/* --- the one-second tick --- */

static void on_tick(void *ctx)
{
	time_t now = time(NULL);
	uint32_t clock = boottime_sec();
	int n;

	if (app.kernel_open) {
		kernel_cfg_set_clock(clock);
		traffic_begin(now);
		n = flows_sweep(clock, traffic_add, NULL);
		if (n < 0)
			pr_warn("flow sweep failed: %s", strerror(-n));
		traffic_flush();
	}
	dns_tick(now);
	nodes_tick(now);
	if (++app.ticks % 10 == 0)
		refresh_lease_names();
	if (app.ticks % STATS_INTERVAL_S == 0)
		stats_publish_changed(app.kernel_open);
}

static int start_kernel(const struct spin_config *cfg)
{
	struct kernel_opts ko = {
		.pin_dir = cfg->pin_dir[0] ? cfg->pin_dir : SPIN_PIN_DIR,
		.ifaces = &app.ifs,
		.xdp_mode = cfg->xdp_mode,
		.max_flows = cfg->max_flows,
		.dns_events = true,
	};
	struct events_ops eo = {
		.is_lan = is_local,
		.learn_mac = on_mac_learned,
	};
	int err;

	err = kernel_open(&ko);
	if (err)
		return err;
	app.kernel_open = true;
	err = kernel_attach();
	if (err)
		return err;
	kernel_cfg_set_clock(boottime_sec());
	err = flows_init(kernel_flows_fd(), kernel_max_flows(), FLOW_IDLE_S, kernel_maps_reused());
	if (err)
		return err;
	return events_init(kernel_events_fd(), &eo);
}

static int resolve_interfaces(const struct spin_config *cfg)
{
	char names[SPIN_MAX_IFACES * (CONFIG_IFNAME_MAX + 1)] = "";
	char err[256];
	int ret;

	if (!cfg->n_interfaces) {
		pr_err("no interface to attach to: give -i IFACE or 'interfaces = ...' in the "
		       "configuration");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->n_interfaces; i++) {
		strcat(names, i ? "," : "");
		strcat(names, cfg->interfaces[i]);
	}
	ret = netif_resolve(names, &app.ifs, err, sizeof(err));
	if (ret)
		pr_err("%s", err);
	return ret;
}

static int start_modules(const struct spin_config *cfg)
{
	struct nodes_ops no = {
		.publish = on_node_publish,
		.merged = on_node_merged,
		.deleted = on_node_deleted,
		.protected_node = on_node_protected,
		.flags = on_node_flags,
	};
	struct traffic_ops to = {
		.is_local = is_local,
		.is_ignored = is_ignored,
		.node_seen = on_node_seen,
		.publish = publish_traffic,
	};
	struct dns_ops dops = {.query = on_dns_query, .answer = on_dns_answer};
	struct policy_ops po = {.list_changed = on_list_changed};
	int err;

	err = bus_init(cfg->pubsub_channel_traffic);
	if (!err)
		err = nodes_init(&no, cfg->node_cache_retain_time, 0);
	if (!err)
		err = traffic_init(&to, cfg->local_mode);
	if (!err)
		err = dns_init(&dops, cfg->dns_ttl_floor);
	if (!err)
		err = names_init(cfg->state_dir, cfg->dhcp_leases_file);
	if (!err)
		err = lan_init(cfg);
	if (!err)
		err = start_kernel(cfg);
	if (!err)
		err = policy_init(cfg->state_dir, true, &po);
	if (!err)
		err = rpc_init(&(struct rpc_ops){.name_set = on_name_set}, true);
	if (!err)
		refresh_lease_names();
	if (!err)
		err = neigh_init(
			&(struct neigh_ops){.wanted = neigh_wanted, .learned = on_mac_learned});
	return err;
}

static void stop_modules(void)
{
	neigh_destroy();
	events_destroy();
	flows_destroy();
	policy_destroy();
	if (app.kernel_open)
		kernel_close();
	app.kernel_open = false;
	dns_destroy();
	traffic_destroy();
	names_destroy();
	stats_destroy();
	nodes_destroy();
	bus_destroy();
}

int spind_run(const struct spin_config *cfg)
{
	int err;

	app.cfg = cfg;
	err = loop_init();
	if (err)
		return err;
	err = loop_handle_signals(NULL, NULL);
	if (!err)
		err = resolve_interfaces(cfg);
	if (!err)
		err = start_modules(cfg);
	if (!err && cfg->pubsub_run_mosquitto)
		err = mqtt_broker_start(cfg);
	if (!err)
		err = mqtt_start(cfg, on_mqtt_connect, NULL);
	if (!err) {
		char topic[192];

		snprintf(topic, sizeof(topic), "%s/node/+", bus_traffic_topic());
		err = mqtt_subscribe(topic, on_retained_node, NULL);
	}
	if (!err) {
		app.tick = loop_timer_add(1000, on_tick, NULL);
		if (!app.tick)
			err = -errno;
	}
	if (!err) {
		pr_info("spind running on %d interface(s)", app.ifs.n);
		err = loop_run();
	}
	pr_info("spind stopping%s%s", err ? ": " : "", err ? strerror(-err) : "");
	loop_timer_del(app.tick);
	mqtt_stop();
	mqtt_broker_stop();
	stop_modules();
	loop_destroy();
	return err;
}

int spind_detach(const struct spin_config *cfg)
{
	int err = resolve_interfaces(cfg);

	if (err)
		return err;
	return kernel_detach(&app.ifs, cfg->pin_dir[0] ? cfg->pin_dir : SPIN_PIN_DIR, true);
}
