// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "bus.h"
#include "capture.h"
#include "devcap.h"
#include "dns.h"
#include "events.h"
#include "flows.h"
#include "httpd.h"
#include "kernel.h"
#include "lan.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "names.h"
#include "neigh.h"
#include "netif.h"
#include "nodes.h"
#include "oui.h"
#include "pidfile.h"
#include "policy.h"
#include "rpc.h"
#include "stats.h"
#include "spind.h"
#include "traffic.h"

/* Flows without packets for this long leave the kernel table (their totals were reported). */
#define FLOW_IDLE_S    120
#define FLOWS_SNAPSHOT "flows.snapshot" /* in state_dir */

static struct {
	const struct spin_config *cfg;
	struct netif_set ifs;
	struct loop_timer *tick;
	struct loop_timer *relink; /* debounces link events before re-attaching */
	unsigned int ticks;
	bool kernel_open;
} app;

/* Passive mode (spind -r FILE [-F], spind -P -i IF): set by spind_set_passive(). */
static struct {
	bool on;
	const char *file; /* -r; NULL: live capture on the one interface */
	bool fast;
	struct loop_timer *wait; /* a replay waiting for the MQTT connection */
} passive;

static void start_replay(void);

void spind_set_passive(const char *file, bool live, bool fast)
{
	passive.on = file || live;
	passive.file = file;
	passive.fast = fast;
}

/* The clock of nodes and DNS: the capture's in passive mode (a replay keeps its own time). */
static time_t spind_now(void)
{
	return passive.on ? capture_now() : time(NULL);
}

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

static const char *on_node_vendor(const uint8_t mac[6], void *ctx)
{
	return oui_vendor(mac);
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
	time_t now = spind_now();
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
	struct node *n = nodes_add_domain(addr, name, spind_now());

	if (!n)
		return;
	names_apply(n);
	/* A blocked service's new address is blocked before the device can use it. */
	n = nodes_by_ip(addr);
	if (n)
		policy_node_changed(n);
}

/* The LAN, the gateway's own addresses and the devices: DNS answers never name them. */
static bool dns_addr_local(const struct spin_addr *a, void *ctx)
{
	return lan_is_own(a) || is_local(a, NULL);
}

/* --- devices --- */

/* Only neighbours on the LAN side: the WAN link's link-local peers are not devices. */
static bool neigh_wanted(const struct spin_addr *ip, int ifindex, void *ctx)
{
	bool lan_side = false;

	for (int i = 0; i < app.ifs.n; i++)
		lan_side |= app.ifs.ifs[i].ifindex == ifindex ||
			    app.ifs.ifs[i].master_ifindex == ifindex;
	return lan_side && lan_contains(ip) && !lan_is_own(ip);
}

static void on_mac_learned(const struct spin_addr *ip, const uint8_t mac[6], void *ctx)
{
	time_t now = spind_now();
	struct node *n = nodes_set_mac(ip, mac, now);

	if (!n)
		return;
	names_apply(n);
	n = nodes_set_mac(ip, mac, now);
	if (n)
		policy_node_changed(n);
}

/*
 * A station a LAN bridge learned on one of SPIN's bridge ports: a device, even before it has
 * an address or sends anything SPIN counts (nodeInfo with "ips": []). Its addresses join it
 * when a flow or a neighbour entry names them (same MAC, same node).
 */
static void on_fdb_learned(const uint8_t mac[6], int ifindex, void *ctx)
{
	struct node *n;
	bool port = false;

	for (int i = 0; i < app.ifs.n; i++)
		port |= app.ifs.ifs[i].ifindex == ifindex && app.ifs.ifs[i].master_ifindex != 0;
	if (!port || nodes_by_mac(mac))
		return;
	n = nodes_get_mac(mac, spind_now());
	if (!n)
		return;
	names_apply(n);
	/* Published at once, unlike an address nothing referred to: a station on the LAN is news. */
	nodes_publish_pending(n, spind_now());
}

/*
 * A new flow's first packet from the LAN side: its source MAC and address, as a neighbour
 * entry would say. A bridge that does not route has no neighbour entries for the devices
 * behind it; this is how they get their MACs there.
 */
static void on_flow_mac(const struct spin_addr *ip, const uint8_t mac[6], uint32_t ifindex,
			void *ctx)
{
	if ((mac[0] & 1) || !neigh_wanted(ip, (int)ifindex, NULL))
		return;
	on_mac_learned(ip, mac, NULL);
}

static void on_node_seen(struct node *n, void *ctx)
{
	names_apply(n);
}

struct id_list {
	uint32_t ids[1024];
	unsigned int n;
	bool devices_only;
};

/* Unnamed nodes, or every device: a device named by its lease follows the lease. */
static void collect_nameable(struct node *n, void *ctx)
{
	struct id_list *l = ctx;

	if ((l->devices_only ? node_mac(n) != NULL : !node_name(n)) &&
	    l->n < sizeof(l->ids) / sizeof(l->ids[0]))
		l->ids[l->n++] = node_id(n);
}

/* Gives the nodes without a name their stored one; devices_only: the ones a lease can name. */
static void apply_names(bool devices_only)
{
	static struct id_list l;

	l.n = 0;
	l.devices_only = devices_only;
	nodes_foreach(collect_nameable, &l);
	for (unsigned int i = 0; i < l.n; i++)
		names_apply(nodes_by_id(l.ids[i]));
}

/*
 * The nodes the policy brought back at start (flow blocks are stored by address) take the
 * names the user gave them, before they are first published.
 */
static void name_restored_nodes(void)
{
	apply_names(false);
}

/* New DHCP leases may name devices we already know. */
static void refresh_lease_names(void)
{
	if (names_poll_leases() > 0)
		apply_names(true);
}

static void on_name_set(const struct node *n, const char *name, void *ctx)
{
	if (n)
		names_remember(n, name);
}

/* --- policy --- */

static void on_list_changed(enum policy_list l, void *ctx)
{
	if (l == POLICY_IGNORE) /* flows to or from it are left out from now on */
		traffic_invalidate();
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
	start_replay(); /* passive -r: the replay was waiting for the broker */
}

/*
 * Retained nodeInfo of nodes this run does not have (left by a previous run or a crash) is
 * cleared, so clients never see ghosts. Only what the broker kept arrives here (retain flag),
 * not our own live publications.
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
	if (!passive.on) { /* passive: the capture's intervals tick them (on_capture_interval) */
		dns_tick(now);
		nodes_tick(now);
	}
	if (++app.ticks % 10 == 0)
		refresh_lease_names();
	if (app.ticks % STATS_INTERVAL_S == 0)
		stats_publish_changed(app.kernel_open);
}

/* What was reported of each flow, kept for the next run on the same pinned maps. */
static bool flows_snapshot_path(const struct spin_config *cfg, char *path, size_t size)
{
	return cfg->state_dir[0] &&
	       snprintf(path, size, "%s/%s", cfg->state_dir, FLOWS_SNAPSHOT) < (int)size;
}

static void save_flows(const struct spin_config *cfg)
{
	char path[PATH_MAX];
	int err;

	if (!app.kernel_open || !flows_snapshot_path(cfg, path, sizeof(path)))
		return;
	err = flows_save(path);
	if (err)
		pr_warn("cannot save %s: %s (the next start reports only what is counted after it)",
			path, strerror(-err));
}

/* True when the snapshot of the previous run was taken over. */
static bool load_flows(const struct spin_config *cfg)
{
	char path[PATH_MAX];
	int n;

	if (!flows_snapshot_path(cfg, path, sizeof(path)))
		return false;
	n = flows_load(path);
	if (n >= 0) {
		pr_info("flows: %d reported totals taken over from %s", n, path);
		return true;
	}
	if (n == -ENOENT)
		pr_info("flows: no snapshot of a clean stop: what was counted before this start "
			"and not reported is not reported");
	else
		pr_warn("flows: %s not used: %s", path,
			n == -ESTALE ? "taken of other flow maps" : strerror(-n));
	return false;
}

/*
 * attach false: the caller attaches once the policy is in the maps (new maps start empty, and
 * the programs attached until then keep enforcing the old ones).
 */
static int start_kernel(const struct spin_config *cfg, bool attach)
{
	struct kernel_opts ko = {
		.pin_dir = cfg->pin_dir[0] ? cfg->pin_dir : SPIN_PIN_DIR,
		.ifaces = &app.ifs,
		.xdp_mode = cfg->xdp_mode,
		.tc_mode = cfg->tc_mode,
		.max_flows = cfg->max_flows,
		.dns_events = true,
	};
	struct events_ops eo = {
		.is_lan = is_local,
		.learn_mac = on_mac_learned,
		.capture = devcap_handle_record,
	};
	int err;

	err = kernel_open(&ko);
	if (err)
		return err;
	app.kernel_open = true;
	if (attach) {
		err = kernel_attach();
		if (err)
			return err;
	}
	kernel_cfg_set_clock(boottime_sec());
	err = flows_init(kernel_flows_fd(), kernel_flows4_fd(), FLOW_IDLE_S, kernel_maps_reused());
	if (err)
		return err;
	/*
	 * Reused maps hold what a previous run counted. What it reported is in its snapshot, if
	 * it stopped cleanly: everything counted since, while no daemon ran too, is reported.
	 * Without one (a crash), the totals found now are the baseline.
	 */
	if (kernel_maps_reused() && !load_flows(cfg)) {
		err = flows_sweep(boottime_sec(), NULL, NULL);
		if (err < 0)
			return err;
	}
	err = events_init(&eo);
	return err ? err : kernel_events_start(events_handle_record);
}

/* --- passive mode: the capture is the packet source --- */

static void on_capture_interval(time_t end, bool begin, void *ctx)
{
	if (begin) {
		traffic_begin(end);
		return;
	}
	traffic_flush();
	dns_tick(end);
	nodes_tick(end);
}

static void on_capture_done(int err, void *ctx)
{
	pr_info("capture %s: replay finished%s%s; spind keeps serving what it learned",
		passive.file, err ? " early: " : "", err ? strerror(-err) : "");
}

/* Starts a waiting replay (MQTT connected, or the wait is over). */
static void start_replay(void)
{
	int err;

	if (!passive.wait)
		return;
	loop_timer_del(passive.wait);
	passive.wait = NULL;
	err = capture_start();
	if (err)
		pr_err("capture %s: cannot start the replay: %s", passive.file, strerror(-err));
}

static void on_replay_wait(void *ctx)
{
	pr_warn("capture %s: no MQTT broker after 3 s, replaying without one", passive.file);
	start_replay();
}

static bool capture_lan(const struct spin_addr *a, void *ctx)
{
	return lan_contains(a);
}

static int start_capture(const struct spin_config *cfg)
{
	struct capture_opts co = {.fast = passive.fast, .max_flows = cfg->max_flows};
	struct capture_ops ops = {
		.delta = traffic_add,
		.interval = on_capture_interval,
		.is_lan = capture_lan,
		.learn_mac = on_mac_learned,
		.done = on_capture_done,
	};
	int err;

	if (passive.file) {
		err = capture_open_file(passive.file, &co, &ops);
	} else if (cfg->n_interfaces != 1) {
		pr_err("passive capture (-P) needs exactly one interface (-i IF), got %u",
		       cfg->n_interfaces);
		return -EINVAL;
	} else {
		err = capture_open_live(cfg->interfaces[0], &co, &ops);
	}
	if (err || !passive.file)
		return err ? err : capture_start();
	/* A fast replay is over in moments: it waits for the broker (or 3 s without one). */
	passive.wait = loop_timer_once(3000, on_replay_wait, NULL);
	return passive.wait ? 0 : -errno;
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

/* Each configured name on its own, skipping the ones that do not exist right now. */
static int resolve_present(const struct spin_config *cfg, struct netif_set *out)
{
	char err[256];

	out->n = 0;
	for (unsigned int i = 0; i < cfg->n_interfaces; i++) {
		struct netif_set one;

		if (netif_resolve(cfg->interfaces[i], &one, err, sizeof(err))) {
			pr_warn("%s: %s", cfg->interfaces[i], err);
			continue;
		}
		for (int j = 0; j < one.n && out->n < SPIN_MAX_IFACES; j++)
			out->ifs[out->n++] = one.ifs[j];
	}
	return out->n;
}

static bool same_ifaces(const struct netif_set *a, const struct netif_set *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->ifs[i].ifindex != b->ifs[i].ifindex)
			return false;
	return true;
}

/*
 * An attached interface was deleted and re-created (a new ifindex), or a bridge gained or lost
 * a port: the loaded programs go onto the new set and off ports that left; nothing is
 * reloaded, so counting and enforcement go on. Only a spind whose programs are not loaded
 * (none of its interfaces existed, or loading failed) starts the kernel side here.
 */
static void on_relink(void *ctx)
{
	const struct spin_config *cfg = app.cfg;
	struct netif_set now;
	int err;

	resolve_present(cfg, &now);
	if (same_ifaces(&now, &app.ifs))
		return;
	if (!now.n) {
		pr_warn("none of the configured interfaces exists now: nothing is counted until "
			"one comes back");
		return;
	}
	pr_info("interfaces changed (%d attached before, %d now): re-attaching", app.ifs.n, now.n);
	if (app.kernel_open) {
		err = kernel_set_ifaces(&now);
		if (!err) /* else the next link event finds the set changed, and tries again */
			app.ifs = now;
	} else {
		app.ifs = now;
		err = start_kernel(cfg, true);
	}
	if (err)
		pr_err("re-attaching failed: %s; %s", strerror(-err),
		       app.kernel_open ? "the interfaces attached before stay so (the next link "
					 "change tries again)"
				       : "nothing is counted (restart spind to retry)");
	else /* stations a new port's bridge learned before it was ours */
		neigh_refresh();
}

/*
 * Link events come in bursts (a new port: created, enslaved, up); the re-attach is cheap and
 * idempotent, so a short wait gathers a burst without leaving a new port unwatched for long.
 */
#define RELINK_DEBOUNCE_MS 100

static void on_link_change(int ifindex, const char *name, bool deleted, void *ctx)
{
	if (app.relink)
		loop_timer_arm(app.relink, RELINK_DEBOUNCE_MS);
}

static int start_modules(const struct spin_config *cfg)
{
	struct nodes_ops no = {
		.publish = on_node_publish,
		.merged = on_node_merged,
		.deleted = on_node_deleted,
		.protected_node = on_node_protected,
		.flags = on_node_flags,
		.vendor = on_node_vendor,
	};
	struct traffic_ops to = {
		.is_local = is_local,
		.is_ignored = is_ignored,
		.node_seen = on_node_seen,
		.publish = publish_traffic,
	};
	struct dns_ops dops = {
		.query = on_dns_query, .answer = on_dns_answer, .is_local = dns_addr_local};
	struct policy_ops po = {.list_changed = on_list_changed};
	int err;

	oui_load(NULL); /* without it devices have no "vendor"; it says so */
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
		err = lan_init(cfg, &app.ifs);
	if (!err)
		err = passive.on ? start_capture(cfg) : start_kernel(cfg, false);
	if (!err && !passive.on) /* after the kernel: it clears what a previous run left */
		err = devcap_init(&(struct devcap_opts){.max_bytes = cfg->capture_max_bytes,
							.max_seconds = cfg->capture_max_seconds,
							.kernel = true});
	if (!err)
		err = policy_init(cfg->state_dir, !passive.on, &po);
	if (!err && !passive.on) /* with the policy in the maps, fresh ones included */
		err = kernel_attach();
	if (!err)
		name_restored_nodes();
	if (!err)
		err = rpc_init(&(struct rpc_ops){.name_set = on_name_set}, !passive.on);
	if (!err)
		refresh_lease_names();
	if (!err && !passive.on) /* the host's neighbours are not the observed LAN's */
		err = neigh_init(&(struct neigh_ops){.wanted = neigh_wanted,
						     .learned = on_mac_learned,
						     .fdb_learned = on_fdb_learned});
	if (!err && !passive.on) /* now that the node cache and the policy are up */
		flows_set_mac_cb(on_flow_mac, NULL);
	return err;
}

static void stop_modules(void)
{
	flows_set_mac_cb(NULL, NULL);
	neigh_destroy();
	loop_timer_del(passive.wait);
	passive.wait = NULL;
	if (passive.on && !passive.file) /* a file's were logged at its end */
		capture_log_stats();
	capture_close();
	devcap_destroy(); /* before kernel_close(): it empties spin_capmac */
	kernel_events_stop();
	save_flows(app.cfg);
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
	oui_destroy();
	bus_destroy();
}

/* state_dir is a directory (created if missing): said here, naming the key and the path. */
static int check_state_dir(const char *dir)
{
	struct stat st;
	int err;

	if (!dir[0])
		return 0;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		pr_err("state_dir: %s is not a directory", dir);
		return -EINVAL;
	}
	if (errno == ENOENT && mkdir(dir, 0700) == 0)
		return 0;
	err = -errno;
	pr_err("state_dir: %s: %s", dir, strerror(-err));
	return err == -ENOTDIR ? -EINVAL : err;
}

int spind_run(const struct spin_config *cfg)
{
	int err;

	app.cfg = cfg;
	err = check_state_dir(cfg->state_dir);
	/* Before anything touches the interfaces or the pinned maps a running spind uses. */
	if (!err)
		err = pidfile_create(cfg->pid_file);
	if (err)
		return err;
	err = loop_init();
	if (err) {
		pidfile_remove();
		return err;
	}
	err = loop_handle_signals(NULL, NULL);
	if (!err && !passive.file)
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
		err = mqtt_subscribe_opts(topic, on_retained_node, NULL, MQTT_SUB_RETAINED);
	}
	if (!err && cfg->jsonrpc_mqtt)
		err = rpc_serve_mqtt();
	if (!err)
		err = httpd_start(&(struct httpd_opts){.cfg = cfg, .kernel = app.kernel_open});
	if (!err && app.kernel_open) {
		app.relink = loop_timer_once(3600 * 1000, on_relink, NULL);
		err = app.relink ? netif_monitor_start(on_link_change, NULL) : -errno;
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
	netif_monitor_stop();
	loop_timer_del(app.relink);
	app.relink = NULL;
	httpd_stop();
	mqtt_stop();
	mqtt_broker_stop();
	stop_modules();
	loop_destroy();
	pidfile_remove();
	return err;
}

/*
 * -x: off the configured interfaces that exist (a missing one is named in a warning: the kernel
 * took SPIN's hooks with it), then off any other interface whose programs use this pin
 * directory's maps, then the pins. So it also cleans up after an interface that is gone.
 */
int spind_detach(const struct spin_config *cfg)
{
	resolve_present(cfg, &app.ifs);
	return kernel_detach(&app.ifs, cfg->pin_dir[0] ? cfg->pin_dir : SPIN_PIN_DIR, true);
}
