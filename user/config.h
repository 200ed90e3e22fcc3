/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * spind's configuration: /etc/spin/spind.conf ("key = value" lines, '#' comments), then
 * command-line overrides through config_set(). Every key of the first SPIN is accepted; the
 * ones that configured iptables/NFQUEUE are accepted with a warning. See docs/configuration.md.
 */
#ifndef SPIN_CONFIG_H
#define SPIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "spin_common.h"

#define CONFIG_DEFAULT_FILE "/etc/spin/spind.conf"
#ifndef CONFIG_DEFAULT_WEB_ROOT
#define CONFIG_DEFAULT_WEB_ROOT "/usr/local/share/spin/web"
#endif

#define CONFIG_LINE_MAX	     1024 /* bytes per line, newline excluded */
#define CONFIG_PATH_MAX	     256  /* file names, directories */
#define CONFIG_HOST_MAX	     254  /* a DNS name (253) or an address literal, plus NUL */
#define CONFIG_TOPIC_MAX     128
#define CONFIG_SECRET_MAX    128
#define CONFIG_IFNAME_MAX    16 /* IFNAMSIZ */
#define CONFIG_MAX_LAN_PFX   32
#define CONFIG_MAX_WEB_IFS   8
#define CONFIG_MAX_WEB_NAMES 16
#define CONFIG_LIST_MAX	     512 /* the text of a comma-separated list */

enum spin_mode {
	SPIN_MODE_ROUTER,
	SPIN_MODE_BRIDGE,
};

enum spin_xdp_mode {
	SPIN_XDP_AUTO, /* native if the driver supports it, else generic */
	SPIN_XDP_NATIVE,
	SPIN_XDP_GENERIC,
	SPIN_XDP_OFF, /* TC only */
};

/* How the TC programs are hooked in. */
enum spin_tc_mode {
	SPIN_TC_AUTO,	/* TCX links where the kernel has them (6.6+), else clsact */
	SPIN_TC_TCX,	/* TCX links only */
	SPIN_TC_CLSACT, /* cls_bpf filters on a clsact qdisc only */
};

/* An IPv4 or IPv6 prefix; addr holds IPv4 IPv4-mapped (::ffff:a.b.c.d), len is as written. */
struct spin_prefix {
	int family; /* AF_INET or AF_INET6 */
	struct spin_addr addr;
	uint8_t len; /* 0-32 for IPv4, 0-128 for IPv6; host bits are cleared */
};

struct spin_config {
	/* Kept from SPIN. */
	bool log_usesyslog;
	unsigned int log_loglevel; /* syslog priority 0-7 */
	char log_file[CONFIG_PATH_MAX];
	char pid_file[CONFIG_PATH_MAX];
	char pubsub_host[CONFIG_HOST_MAX];
	unsigned int pubsub_port;
	char pubsub_websocket_host[CONFIG_HOST_MAX];
	unsigned int pubsub_websocket_port;
	char pubsub_channel_traffic[CONFIG_TOPIC_MAX];
	unsigned int pubsub_timeout; /* MQTT keepalive, seconds */
	bool pubsub_run_mosquitto;
	char pubsub_run_password_file[CONFIG_PATH_MAX];
	unsigned int node_cache_retain_time;	  /* seconds */
	char spinweb_interfaces[CONFIG_LIST_MAX]; /* comma-separated addresses */
	unsigned int spinweb_port;
	char spinweb_tls_certificate_file[CONFIG_PATH_MAX];
	char spinweb_tls_key_file[CONFIG_PATH_MAX];
	char spinweb_password_file[CONFIG_PATH_MAX];
	char spinweb_hostnames[CONFIG_LIST_MAX]; /* extra names the web API answers to */

	/* New in the eBPF edition. */
	char interfaces[SPIN_MAX_IFACES][CONFIG_IFNAME_MAX];
	unsigned int n_interfaces;
	enum spin_mode mode;
	enum spin_xdp_mode xdp_mode;
	enum spin_tc_mode tc_mode;
	char state_dir[CONFIG_PATH_MAX];
	char run_dir[CONFIG_PATH_MAX];
	char pin_dir[CONFIG_PATH_MAX];
	unsigned int max_flows;
	bool local_mode;
	bool jsonrpc_mqtt;
	unsigned int dns_ttl_floor; /* seconds */
	char dhcp_leases_file[CONFIG_PATH_MAX];
	struct spin_prefix lan_prefixes[CONFIG_MAX_LAN_PFX];
	unsigned int n_lan_prefixes;
	char web_root[CONFIG_PATH_MAX];
	unsigned int http_max_connections;
	unsigned int capture_max_bytes;	  /* pcap bytes per capture stream */
	unsigned int capture_max_seconds; /* duration of a capture stream */
	char pubsub_username[CONFIG_SECRET_MAX];
	char pubsub_password[CONFIG_SECRET_MAX];

	unsigned int warnings; /* unknown, legacy and repeated keys seen by the loaders */
};

void config_defaults(struct spin_config *cfg);

/*
 * Loads a file on top of cfg. On error cfg is unchanged and err holds one line naming the
 * file, line, key and expected form, e.g.
 *   spind.conf:12: pubsub_port: expected an integer 1-65535, got "abc"
 * Unknown and legacy keys are warnings (logged, counted in cfg->warnings), not errors.
 * Returns 0, -ENOENT (and others from fopen), -EISDIR (path is a directory), -EINVAL (syntax,
 * value, a NUL byte), -E2BIG (line too long; nothing after the limit is read).
 */
int config_load_file(struct spin_config *cfg, const char *path, char *err, size_t errlen);
/* The same on an open stream; name is used in messages. */
int config_load_stream(struct spin_config *cfg, FILE *in, const char *name, char *err,
		       size_t errlen);
/*
 * One line of at most size - 1 bytes into buf, without its newline. 1: a line, 0: end of file,
 * -E2BIG: longer, -EILSEQ: a NUL byte (in both cases reading stops there), other -errno: read
 * error. For every line-based file spind reads.
 */
int config_read_line(FILE *in, char *buf, size_t size, size_t *len);

/* One key (for "-o key=value"); err reads "key: expected ..., got ...". 0 or -EINVAL. */
int config_set(struct spin_config *cfg, const char *key, const char *value, char *err,
	       size_t errlen);
/* Parses "key=value" (spaces around '=' allowed) and calls config_set(). */
int config_set_assignment(struct spin_config *cfg, const char *assignment, char *err,
			  size_t errlen);

/* Every option with its value, as a file config_load_stream() reads back to the same config. */
void config_print(const struct spin_config *cfg, FILE *out);

/* Names for messages and -C output. */
const char *config_mode_name(enum spin_mode mode);
const char *config_xdp_mode_name(enum spin_xdp_mode mode);

#endif
