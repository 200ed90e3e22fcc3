// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Configuration: one table describes every key (type, bounds, default, help). Defaults are
 * applied by parsing the default strings through the same setters, and config_print() writes
 * the same syntax the loader reads, so defaults, files, -o overrides and -C agree by
 * construction.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"

enum opt_type {
	OPT_BOOL,
	OPT_UINT,
	OPT_PATH,     /* a file or directory name; empty means "none" */
	OPT_HOST,     /* a DNS name or an address literal */
	OPT_TOPIC,    /* an MQTT topic to publish on: no wildcards */
	OPT_TEXT,     /* printable text (user names, passwords) */
	OPT_ENUM,     /* one of names[] */
	OPT_IFACES,   /* comma-separated interface names */
	OPT_PREFIXES, /* comma-separated CIDR prefixes */
	OPT_ADDRS,    /* comma-separated address literals */
	OPT_NAMES,    /* comma-separated DNS names */
	OPT_LEGACY,   /* first SPIN's iptables/NFQUEUE-era keys: accepted, ignored */
};

struct option {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size; /* string buffer size */
	unsigned int min, max;
	const char *const *names;
	const char *def;
	const char *help;
};

static const char *const mode_names[] = {"router", "bridge", NULL};
static const char *const xdp_names[] = {"auto", "native", "generic", "off", NULL};
static const char *const tc_names[] = {"auto", "tcx", "clsact", NULL};

#define STR(s)	 #s
#define XSTR(s)	 STR(s)
#define F(field) offsetof(struct spin_config, field), sizeof(((struct spin_config *)0)->field)

static const struct option options[] = {
	{"log_usesyslog", OPT_BOOL, F(log_usesyslog), 0, 1, NULL, "0",
	 "1: log to syslog, 0: to log_file or stderr"},
	{"log_loglevel", OPT_UINT, F(log_loglevel), 0, 7, NULL, "6",
	 "syslog priority: 3 errors, 4 warnings, 6 info, 7 debug"},
	{"log_file", OPT_PATH, F(log_file), 0, 0, NULL, "",
	 "log file when not using syslog; empty: stderr"},
	{"pid_file", OPT_PATH, F(pid_file), 0, 0, NULL, "",
	 "file to write spind's PID to; empty: none"},
	{"pubsub_host", OPT_HOST, F(pubsub_host), 0, 0, NULL, "127.0.0.1", "MQTT broker address"},
	{"pubsub_port", OPT_UINT, F(pubsub_port), 1, 65535, NULL, "1883", "MQTT broker port"},
	{"pubsub_websocket_host", OPT_HOST, F(pubsub_websocket_host), 0, 0, NULL, "127.0.0.1",
	 "WebSocket listener address of the broker spind starts (pubsub_run_mosquitto)"},
	{"pubsub_websocket_port", OPT_UINT, F(pubsub_websocket_port), 0, 65535, NULL, "1884",
	 "WebSocket listener port of the broker spind starts; 0: no WebSocket listener"},
	{"pubsub_channel_traffic", OPT_TOPIC, F(pubsub_channel_traffic), 0, 0, NULL, "SPIN/traffic",
	 "MQTT topic for traffic messages; node, admin topics hang below it"},
	{"pubsub_timeout", OPT_UINT, F(pubsub_timeout), 5, 65535, NULL, "60",
	 "MQTT keepalive in seconds"},
	{"pubsub_run_mosquitto", OPT_BOOL, F(pubsub_run_mosquitto), 0, 1, NULL, "0",
	 "1: spind starts and stops a private mosquitto with the pubsub_* listeners"},
	{"pubsub_run_password_file", OPT_PATH, F(pubsub_run_password_file), 0, 0, NULL, "",
	 "mosquitto password file for the private broker; empty: anonymous access"},
	{"pubsub_username", OPT_TEXT, F(pubsub_username), 0, 0, NULL, "",
	 "user name spind logs in to the broker with; empty: none"},
	{"pubsub_password", OPT_TEXT, F(pubsub_password), 0, 0, NULL, "",
	 "password for pubsub_username"},
	{"node_cache_retain_time", OPT_UINT, F(node_cache_retain_time), 10, 2592000, NULL, "1800",
	 "seconds an idle remote node is kept"},
	{"spinweb_interfaces", OPT_ADDRS, F(spinweb_interfaces), 0, 0, NULL, "127.0.0.1",
	 "addresses the web API listens on, comma-separated"},
	{"spinweb_port", OPT_UINT, F(spinweb_port), 1, 65535, NULL, "13026", "web API port"},
	{"spinweb_tls_certificate_file", OPT_PATH, F(spinweb_tls_certificate_file), 0, 0, NULL, "",
	 "PEM certificate; with spinweb_tls_key_file enables HTTPS"},
	{"spinweb_tls_key_file", OPT_PATH, F(spinweb_tls_key_file), 0, 0, NULL, "",
	 "PEM private key"},
	{"spinweb_password_file", OPT_PATH, F(spinweb_password_file), 0, 0, NULL, "",
	 "user:crypt-hash lines for HTTP Basic authentication; empty: none"},
	{"spinweb_hostnames", OPT_NAMES, F(spinweb_hostnames), 0, 0, NULL, "",
	 "host names the web API answers to besides addresses, localhost and this machine's name, "
	 "comma-separated"},
	{"interfaces", OPT_IFACES, F(interfaces), 0, 0, NULL, "",
	 "LAN interfaces (or bridge ports) to attach to, comma-separated"},
	{"mode", OPT_ENUM, F(mode), 0, 0, mode_names, "router",
	 "where spind runs, for the record: router or bridge; spind works the same in both (a "
	 "bridge named in interfaces means its ports)"},
	{"xdp_mode", OPT_ENUM, F(xdp_mode), 0, 0, xdp_names, "auto",
	 "XDP attachment: auto, native, generic, or off (TC only)"},
	{"tc_mode", OPT_ENUM, F(tc_mode), 0, 0, tc_names, "auto",
	 "TC attachment: auto (TCX where the kernel has it, else clsact), tcx or clsact"},
	{"state_dir", OPT_PATH, F(state_dir), 0, 0, NULL, "/var/lib/spin",
	 "persistent state (lists, names, blocks)"},
	{"run_dir", OPT_PATH, F(run_dir), 0, 0, NULL, "/run/spin",
	 "runtime files (the private broker's configuration)"},
	{"pin_dir", OPT_PATH, F(pin_dir), 0, 0, NULL, SPIN_PIN_DIR, "where BPF maps are pinned"},
	{"max_flows", OPT_UINT, F(max_flows), 1024, 16777216, NULL, XSTR(SPIN_MAX_FLOWS),
	 "capacity of the flow map"},
	{"local_mode", OPT_BOOL, F(local_mode), 0, 1, NULL, "0",
	 "1: also report flows where neither end is a local device"},
	{"jsonrpc_mqtt", OPT_BOOL, F(jsonrpc_mqtt), 0, 1, NULL, "0",
	 "1: answer JSON-RPC on SPIN/jsonrpc/q (anyone on the broker can then change policy)"},
	{"dns_ttl_floor", OPT_UINT, F(dns_ttl_floor), 0, 86400, NULL, "300",
	 "seconds a name learned from DNS is kept at least, whatever its TTL"},
	{"dhcp_leases_file", OPT_PATH, F(dhcp_leases_file), 0, 0, NULL,
	 "/var/lib/misc/dnsmasq.leases", "dnsmasq leases file for device names; empty: none"},
	{"lan_prefixes", OPT_PREFIXES, F(lan_prefixes), 0, 0, NULL, "",
	 "local networks, comma-separated CIDRs; empty: the interfaces' own prefixes"},
	{"web_root", OPT_PATH, F(web_root), 0, 0, NULL, CONFIG_DEFAULT_WEB_ROOT,
	 "directory of the browser app"},
	{"http_max_connections", OPT_UINT, F(http_max_connections), 1, 1024, NULL, "64",
	 "concurrent web API connections, all listeners together"},
	{"capture_max_bytes", OPT_UINT, F(capture_max_bytes), 4096, 1073741824, NULL, "67108864",
	 "bytes of one packet capture download (pcap headers included); it ends there"},
	{"capture_max_seconds", OPT_UINT, F(capture_max_seconds), 1, 86400, NULL, "600",
	 "seconds a packet capture download runs at most"},

	{"iptable_queue_dns", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables NFQUEUE/NFLOG number"},
	{"iptable_nflog_dns_group", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables NFLOG group"},
	{"iptable_queue_block", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables NFQUEUE number"},
	{"iptable_place_dns", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables rule position"},
	{"iptable_place_block", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables rule position"},
	{"iptable_debug", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "iptables command log"},
	{"pubsub_channel_commands", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL,
	 "the old command topic; commands go through JSON-RPC"},
	{"pubsub_run_pid_file", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL,
	 "spind records the private broker's PID itself"},
	{"spinweb_pid_file", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "the web API is part of spind"},
	{"dots_enabled", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "DOTS is not part of this edition"},
	{"dots_log_only", OPT_LEGACY, 0, 0, 0, 0, NULL, NULL, "DOTS is not part of this edition"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

/* The offending value for a message: escaped, cut at 64 bytes. */
static void quote(const char *v, char *out, size_t outlen)
{
	size_t o = 0, i;

	for (i = 0; v[i] && o + 8 < outlen; i++) {
		unsigned char c = v[i];

		if (i == 64) {
			o += snprintf(out + o, outlen - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += snprintf(out + o, outlen - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
}

static int bad_value(const struct option *o, const char *v, const char *expected, char *err,
		     size_t errlen)
{
	char got[300];

	quote(v, got, sizeof(got));
	fmt(err, errlen, "%s: expected %s, got \"%s\"", o->name, expected, got);
	return -EINVAL;
}

static const struct option *find_option(const char *key)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, key))
			return &options[i];
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_uint(const char *v, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long long n = 0;
	const char *p = v;

	if (!*p)
		return -EINVAL;
	/* Digits only: no sign, no hex, no trailing text; overflow caught before it happens. */
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		n = n * 10 + (unsigned int)(*p - '0');
		if (n > max)
			return -ERANGE;
	}
	if (n < min)
		return -ERANGE;
	*out = (unsigned int)n;
	return 0;
}

static bool has_ctrl(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return true;
	return false;
}

static bool valid_host(const char *v)
{
	const char *p;

	if (!*v)
		return false;
	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:_%", *p))
			return false;
	return true;
}

static bool valid_topic(const char *v)
{
	return *v && !strpbrk(v, "+#") && v[strlen(v) - 1] != '/';
}

static bool valid_ifname(const char *v, size_t len)
{
	size_t i;

	if (!len || len >= CONFIG_IFNAME_MAX)
		return false;
	if ((len == 1 && v[0] == '.') || (len == 2 && v[0] == '.' && v[1] == '.'))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f || v[i] == '/' ||
		    v[i] == ':' || v[i] == ',')
			return false;
	return true;
}

/* Calls fn(item, len) for every comma-separated item, blanks trimmed; stops at an error. */
static int for_each_item(const char *v, int (*fn)(const char *item, size_t len, void *arg),
			 void *arg)
{
	const char *p = v, *end, *s, *e;
	int err;

	if (!*v)
		return 0;
	for (;;) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		for (s = p; s < end && isspace((unsigned char)*s); s++)
			;
		for (e = end; e > s && isspace((unsigned char)e[-1]); e--)
			;
		err = fn(s, (size_t)(e - s), arg);
		if (err)
			return err;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int add_iface(const char *item, size_t len, void *arg)
{
	struct spin_config *cfg = arg;
	unsigned int i;

	if (!valid_ifname(item, len) || cfg->n_interfaces >= SPIN_MAX_IFACES)
		return -EINVAL;
	for (i = 0; i < cfg->n_interfaces; i++)
		if (strlen(cfg->interfaces[i]) == len && !memcmp(cfg->interfaces[i], item, len))
			return -EINVAL;
	memcpy(cfg->interfaces[cfg->n_interfaces], item, len);
	cfg->interfaces[cfg->n_interfaces][len] = '\0';
	cfg->n_interfaces++;
	return 0;
}

static int parse_addr(const char *s, int *family, struct spin_addr *a)
{
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		a->a[10] = 0xff;
		a->a[11] = 0xff;
		memcpy(&a->a[12], &v4, 4);
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static void mask_prefix(struct spin_prefix *p)
{
	unsigned int bits = p->family == AF_INET ? 96u + p->len : p->len, i;

	for (i = bits; i < 128; i++)
		p->addr.a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

static int add_prefix(const char *item, size_t len, void *arg)
{
	struct spin_config *cfg = arg;
	struct spin_prefix *p;
	char buf[64], *slash;
	unsigned int plen, max;

	if (!len || len >= sizeof(buf) || cfg->n_lan_prefixes >= CONFIG_MAX_LAN_PFX)
		return -EINVAL;
	memcpy(buf, item, len);
	buf[len] = '\0';
	p = &cfg->lan_prefixes[cfg->n_lan_prefixes];
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_addr(buf, &p->family, &p->addr))
		return -EINVAL;
	max = p->family == AF_INET ? 32 : 128;
	plen = max;
	if (slash && parse_uint(slash + 1, 0, max, &plen))
		return -EINVAL;
	p->len = (uint8_t)plen;
	mask_prefix(p);
	cfg->n_lan_prefixes++;
	return 0;
}

struct addr_list {
	char *out;
	size_t size;
	size_t used;
	unsigned int n;
};

static int add_web_addr(const char *item, size_t len, void *arg)
{
	struct addr_list *l = arg;
	struct spin_addr a;
	char buf[INET6_ADDRSTRLEN];
	int family;

	if (!len || len >= sizeof(buf) || l->n >= CONFIG_MAX_WEB_IFS)
		return -EINVAL;
	memcpy(buf, item, len);
	buf[len] = '\0';
	if (parse_addr(buf, &family, &a))
		return -EINVAL;
	if (l->used + len + 2 > l->size)
		return -EINVAL;
	l->used +=
		(size_t)snprintf(l->out + l->used, l->size - l->used, "%s%s", l->n ? "," : "", buf);
	l->n++;
	return 0;
}

/* A DNS name: labels of letters, digits and '-' (not at either end), one trailing dot allowed. */
static bool valid_dns_name(const char *v, size_t len)
{
	size_t label = 0;

	if (len && v[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || v[i] == '.') {
			if (!label || label > 63 || v[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)v[i]) && !(v[i] == '-' && label))
			return false;
		label++;
	}
	return true;
}

static int add_web_name(const char *item, size_t len, void *arg)
{
	struct addr_list *l = arg;

	if (!valid_dns_name(item, len) || l->n >= CONFIG_MAX_WEB_NAMES ||
	    l->used + len + 2 > l->size)
		return -EINVAL;
	l->used += (size_t)snprintf(l->out + l->used, l->size - l->used, "%s%.*s", l->n ? "," : "",
				    (int)len, item);
	l->n++;
	return 0;
}

static int set_string(const struct option *o, char *dst, const char *v, char *err, size_t errlen)
{
	char expected[128];
	bool ok;

	switch (o->type) {
	case OPT_HOST:
		ok = valid_host(v);
		snprintf(expected, sizeof(expected), "a host name or address of 1-%zu characters",
			 o->size - 1);
		break;
	case OPT_TOPIC:
		ok = valid_topic(v);
		snprintf(expected, sizeof(expected),
			 "an MQTT topic of 1-%zu characters without '+', '#' or a trailing '/'",
			 o->size - 1);
		break;
	default:
		ok = !has_ctrl(v);
		snprintf(expected, sizeof(expected),
			 o->type == OPT_PATH ? "a file name of at most %zu bytes"
					     : "text of at most %zu bytes",
			 o->size - 1);
		break;
	}
	if (!ok || strlen(v) >= o->size)
		return bad_value(o, v, expected, err, errlen);
	strcpy(dst, v);
	return 0;
}

static int set_enum(const struct option *o, void *dst, const char *v, char *err, size_t errlen)
{
	char expected[96] = "one of ";
	size_t i;

	for (i = 0; o->names[i]; i++) {
		if (!strcmp(v, o->names[i])) {
			*(int *)dst = (int)i;
			return 0;
		}
	}
	for (i = 0; o->names[i]; i++) {
		if (i)
			strcat(expected, "|");
		strcat(expected, o->names[i]);
	}
	return bad_value(o, v, expected, err, errlen);
}

static int set_list(const struct option *o, struct spin_config *cfg, const char *v, char *err,
		    size_t errlen)
{
	char expected[160];
	struct spin_config tmp;

	/* Parse into a copy so a bad item leaves the previous list intact. */
	tmp = *cfg;
	switch (o->type) {
	case OPT_IFACES:
		tmp.n_interfaces = 0;
		memset(tmp.interfaces, 0, sizeof(tmp.interfaces));
		if (strlen(v) < CONFIG_LIST_MAX && !for_each_item(v, add_iface, &tmp))
			break;
		snprintf(expected, sizeof(expected),
			 "a comma-separated list of at most %d distinct interface names of 1-%d "
			 "characters",
			 SPIN_MAX_IFACES, CONFIG_IFNAME_MAX - 1);
		return bad_value(o, v, expected, err, errlen);
	case OPT_PREFIXES:
		tmp.n_lan_prefixes = 0;
		memset(tmp.lan_prefixes, 0, sizeof(tmp.lan_prefixes));
		if (strlen(v) < CONFIG_LIST_MAX && !for_each_item(v, add_prefix, &tmp))
			break;
		snprintf(expected, sizeof(expected),
			 "a comma-separated list of at most %d prefixes such as "
			 "192.0.2.0/24,2001:db8::/32",
			 CONFIG_MAX_LAN_PFX);
		return bad_value(o, v, expected, err, errlen);
	case OPT_NAMES: {
		struct addr_list l = {.out = tmp.spinweb_hostnames,
				      .size = sizeof(tmp.spinweb_hostnames)};

		tmp.spinweb_hostnames[0] = '\0';
		if (!for_each_item(v, add_web_name, &l))
			break;
		snprintf(expected, sizeof(expected),
			 "a comma-separated list of at most %d DNS names such as spin.home.arpa",
			 CONFIG_MAX_WEB_NAMES);
		return bad_value(o, v, expected, err, errlen);
	}
	default: {
		struct addr_list l = {.out = tmp.spinweb_interfaces,
				      .size = sizeof(tmp.spinweb_interfaces)};

		tmp.spinweb_interfaces[0] = '\0';
		if (!for_each_item(v, add_web_addr, &l))
			break;
		snprintf(expected, sizeof(expected),
			 "a comma-separated list of at most %d IPv4 or IPv6 addresses",
			 CONFIG_MAX_WEB_IFS);
		return bad_value(o, v, expected, err, errlen);
	}
	}
	*cfg = tmp;
	return 0;
}

static int set_option(struct spin_config *cfg, const struct option *o, const char *v, char *err,
		      size_t errlen)
{
	void *dst = (char *)cfg + o->off;
	char expected[64];
	int ret;

	switch (o->type) {
	case OPT_BOOL:
		if (parse_bool(v, dst))
			return bad_value(o, v, "0 or 1", err, errlen);
		return 0;
	case OPT_UINT:
		ret = parse_uint(v, o->min, o->max, dst);
		if (ret) {
			snprintf(expected, sizeof(expected), "an integer %u-%u", o->min, o->max);
			return bad_value(o, v, expected, err, errlen);
		}
		return 0;
	case OPT_PATH:
	case OPT_HOST:
	case OPT_TOPIC:
	case OPT_TEXT:
		return set_string(o, dst, v, err, errlen);
	case OPT_ENUM:
		return set_enum(o, dst, v, err, errlen);
	case OPT_IFACES:
	case OPT_PREFIXES:
	case OPT_ADDRS:
	case OPT_NAMES:
		return set_list(o, cfg, v, err, errlen);
	case OPT_LEGACY:
		pr_warn("%s: has no meaning in the eBPF edition (%s); ignored", o->name, o->help);
		cfg->warnings++;
		return 0;
	}
	return -EINVAL;
}

void config_defaults(struct spin_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < N_OPTIONS; i++)
		if (options[i].type != OPT_LEGACY)
			set_option(cfg, &options[i], options[i].def, NULL, 0);
}

int config_set(struct spin_config *cfg, const char *key, const char *value, char *err,
	       size_t errlen)
{
	const struct option *o = find_option(key);
	char got[300];

	if (!o) {
		quote(key, got, sizeof(got));
		fmt(err, errlen, "unknown key \"%s\"", got);
		return -ENOENT;
	}
	return set_option(cfg, o, value, err, errlen);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Splits "key = value" (or "key value", as the first SPIN's files had) in place. */
static int split_line(char *line, char **key, char **value)
{
	char *p = line;

	while (*p && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	if (p == line)
		return -EINVAL;
	*key = line;
	if (*p == '=') {
		*p = '\0';
		*value = trim(p + 1);
		return 0;
	}
	if (!isspace((unsigned char)*p))
		return -EINVAL;
	*p++ = '\0';
	p = trim(p);
	if (*p == '=')
		p = trim(p + 1);
	else if (!*p)
		return -EINVAL; /* a bare key */
	*value = p;
	return 0;
}

int config_set_assignment(struct spin_config *cfg, const char *assignment, char *err, size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *key, *value;
	char got[300];

	if (strlen(assignment) > CONFIG_LINE_MAX || !strchr(assignment, '=')) {
		quote(assignment, got, sizeof(got));
		fmt(err, errlen, "expected key=value, got \"%s\"", got);
		return -EINVAL;
	}
	strcpy(buf, assignment);
	if (split_line(trim(buf), &key, &value)) {
		quote(assignment, got, sizeof(got));
		fmt(err, errlen, "expected key=value, got \"%s\"", got);
		return -EINVAL;
	}
	return config_set(cfg, key, value, err, errlen);
}

int config_read_line(FILE *in, char *buf, size_t size, size_t *len)
{
	size_t n = 0;
	int c;

	*len = 0;
	buf[0] = '\0';
	errno = 0;
	/* Stops at the limit or at a NUL: /dev/zero or a huge file without newline is not read. */
	while ((c = getc(in)) != EOF && c != '\n') {
		if (c == '\0')
			return -EILSEQ;
		if (n + 1 >= size)
			return -E2BIG;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	*len = n;
	if (ferror(in))
		return errno ? -errno : -EIO;
	if (c == EOF && !n)
		return 0;
	return 1;
}

static int load_line(struct spin_config *cfg, char *line, const char *name, unsigned int lineno,
		     unsigned int *seen, char *err, size_t errlen)
{
	char msg[512], *key, *value;
	const struct option *o;
	int ret;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	if (split_line(line, &key, &value)) {
		quote(line, msg, sizeof(msg));
		fmt(err, errlen, "%s:%u: expected \"key = value\", got \"%s\"", name, lineno, msg);
		return -EINVAL;
	}
	o = find_option(key);
	if (!o) {
		pr_warn("%s:%u: unknown key \"%s\"; ignored", name, lineno, key);
		cfg->warnings++;
		return 0;
	}
	if (seen[o - options]) {
		pr_warn("%s:%u: %s: also set on line %u; the last one wins", name, lineno, key,
			seen[o - options]);
		cfg->warnings++;
	}
	seen[o - options] = lineno;
	if (o->type == OPT_LEGACY) {
		pr_warn("%s:%u: %s: has no meaning in the eBPF edition (%s); ignored", name, lineno,
			key, o->help);
		cfg->warnings++;
		return 0;
	}
	ret = set_option(cfg, o, value, msg, sizeof(msg));
	if (ret)
		fmt(err, errlen, "%s:%u: %s", name, lineno, msg);
	return ret;
}

int config_load_stream(struct spin_config *cfg, FILE *in, const char *name, char *err,
		       size_t errlen)
{
	unsigned int seen[N_OPTIONS] = {0}, lineno = 0;
	char line[CONFIG_LINE_MAX + 2];
	struct spin_config tmp = *cfg;
	size_t len;
	int ret;

	for (;;) {
		ret = config_read_line(in, line, sizeof(line) - 1, &len);
		if (ret == 0)
			break;
		lineno++;
		if (ret == -E2BIG) {
			fmt(err, errlen, "%s:%u: line longer than %d bytes", name, lineno,
			    CONFIG_LINE_MAX);
			return ret;
		}
		if (ret == -EILSEQ) {
			fmt(err, errlen, "%s:%u: line contains a NUL byte", name, lineno);
			return -EINVAL;
		}
		if (ret < 0) {
			fmt(err, errlen, "%s: read error after line %u: %s", name, lineno - 1,
			    strerror(-ret));
			return ret;
		}
		ret = load_line(&tmp, line, name, lineno, seen, err, errlen);
		if (ret)
			return ret;
	}
	*cfg = tmp;
	return 0;
}

int config_load_file(struct spin_config *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *in;
	int ret;

	in = fopen(path, "re");
	if (!in) {
		ret = -errno;
		fmt(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	/* fopen() opens a directory; reading it then fails with a bare "Input/output error". */
	if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
		fmt(err, errlen, "%s: is a directory, not a configuration file", path);
		fclose(in);
		return -EISDIR;
	}
	ret = config_load_stream(cfg, in, path, err, errlen);
	fclose(in);
	return ret;
}

const char *config_mode_name(enum spin_mode mode)
{
	return (unsigned int)mode < 2 ? mode_names[mode] : "?";
}

const char *config_xdp_mode_name(enum spin_xdp_mode mode)
{
	return (unsigned int)mode < 4 ? xdp_names[mode] : "?";
}

static void print_prefix(const struct spin_prefix *p, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (p->family == AF_INET)
		inet_ntop(AF_INET, &p->addr.a[12], buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, p->addr.a, buf, sizeof(buf));
	fprintf(out, "%s/%u", buf, p->len);
}

static void print_value(const struct spin_config *cfg, const struct option *o, FILE *out)
{
	const void *src = (const char *)cfg + o->off;
	unsigned int i;

	switch (o->type) {
	case OPT_BOOL:
		fprintf(out, "%d", *(const bool *)src ? 1 : 0);
		break;
	case OPT_UINT:
		fprintf(out, "%u", *(const unsigned int *)src);
		break;
	case OPT_ENUM:
		fputs(o->names[*(const int *)src], out);
		break;
	case OPT_IFACES:
		for (i = 0; i < cfg->n_interfaces; i++)
			fprintf(out, "%s%s", i ? "," : "", cfg->interfaces[i]);
		break;
	case OPT_PREFIXES:
		for (i = 0; i < cfg->n_lan_prefixes; i++) {
			if (i)
				fputc(',', out);
			print_prefix(&cfg->lan_prefixes[i], out);
		}
		break;
	case OPT_LEGACY:
		break;
	default:
		fputs((const char *)src, out);
		break;
	}
}

void config_print(const struct spin_config *cfg, FILE *out)
{
	size_t i;

	fprintf(out, "# spind configuration (spind -C); see docs/configuration.md\n");
	for (i = 0; i < N_OPTIONS; i++) {
		const struct option *o = &options[i];

		if (o->type == OPT_LEGACY)
			continue;
		char *val = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&val, &len);

		if (!mem)
			continue;
		print_value(cfg, o, mem);
		fclose(mem);
		fprintf(out, "\n# %s (default: \"%s\")\n%s =%s%s\n", o->help, o->def, o->name,
			*val ? " " : "", val);
		free(val);
	}
}
