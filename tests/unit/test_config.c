// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The configuration loader: defaults, every key, syntax, exact error texts, warnings, bounds. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "check.h"
#include "config.h"
#include "log.h"

static char logpath[] = "/tmp/spin-test-config-log.XXXXXX";

/* Loads text as a file named "spind.conf" on top of cfg. */
static int load(struct spin_config *cfg, const char *text, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		return -errno;
	err[0] = '\0';
	ret = config_load_stream(cfg, f, "spind.conf", err, errlen);
	fclose(f);
	return ret;
}

/* The log written since the last call (warnings go there). */
static const char *log_text(void)
{
	static char buf[8192];
	static long done;
	FILE *f = fopen(logpath, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return buf;
	fseek(f, done, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	done += (long)n;
	fclose(f);
	return buf;
}

static void test_defaults(void)
{
	struct spin_config c;

	config_defaults(&c);
	CHECK_INT(c.log_usesyslog, 0, "default log_usesyslog");
	CHECK_INT(c.log_loglevel, 6, "default log_loglevel");
	CHECK_STR(c.log_file, "", "default log_file");
	CHECK_STR(c.pubsub_host, "127.0.0.1", "default pubsub_host");
	CHECK_INT(c.pubsub_port, 1883, "default pubsub_port");
	CHECK_STR(c.pubsub_websocket_host, "127.0.0.1", "default pubsub_websocket_host");
	CHECK_INT(c.pubsub_websocket_port, 1884, "default pubsub_websocket_port");
	CHECK_STR(c.pubsub_channel_traffic, "SPIN/traffic", "default pubsub_channel_traffic");
	CHECK_INT(c.pubsub_timeout, 60, "default pubsub_timeout");
	CHECK_INT(c.pubsub_run_mosquitto, 0, "default pubsub_run_mosquitto");
	CHECK_INT(c.node_cache_retain_time, 1800, "default node_cache_retain_time");
	CHECK_STR(c.spinweb_interfaces, "127.0.0.1", "default spinweb_interfaces");
	CHECK_INT(c.spinweb_port, 13026, "default spinweb_port");
	CHECK_INT(c.n_interfaces, 0, "default interfaces: none");
	CHECK_INT(c.mode, SPIN_MODE_ROUTER, "default mode");
	CHECK_INT(c.xdp_mode, SPIN_XDP_AUTO, "default xdp_mode");
	CHECK_STR(c.state_dir, "/var/lib/spin", "default state_dir");
	CHECK_STR(c.run_dir, "/run/spin", "default run_dir");
	CHECK_STR(c.pin_dir, SPIN_PIN_DIR, "default pin_dir");
	CHECK_INT(c.max_flows, SPIN_MAX_FLOWS, "default max_flows");
	CHECK_INT(c.local_mode, 0, "default local_mode");
	CHECK_INT(c.jsonrpc_mqtt, 0, "default jsonrpc_mqtt (off)");
	CHECK_INT(c.dns_ttl_floor, 300, "default dns_ttl_floor");
	CHECK_STR(c.dhcp_leases_file, "/var/lib/misc/dnsmasq.leases", "default dhcp_leases_file");
	CHECK_INT(c.n_lan_prefixes, 0, "default lan_prefixes: none");
	CHECK_STR(c.web_root, CONFIG_DEFAULT_WEB_ROOT, "default web_root");
	CHECK_INT(c.http_max_connections, 64, "default http_max_connections");
	CHECK_INT(c.warnings, 0, "defaults produce no warnings");
}

static const char every_key[] = "log_usesyslog = 1\n"
				"log_loglevel = 7\n"
				"log_file = /var/log/spind.log\n"
				"pid_file = /run/spind.pid\n"
				"pubsub_host = 192.0.2.1\n"
				"pubsub_port = 11883\n"
				"pubsub_websocket_host = 0.0.0.0\n"
				"pubsub_websocket_port = 11884\n"
				"pubsub_channel_traffic = HOME/traffic\n"
				"pubsub_timeout = 30\n"
				"pubsub_run_mosquitto = 1\n"
				"pubsub_run_password_file = /etc/spin/mqtt.passwd\n"
				"pubsub_username = spind\n"
				"pubsub_password = s3cret pass\n"
				"node_cache_retain_time = 3600\n"
				"spinweb_interfaces = 127.0.0.1, ::1 ,192.0.2.1\n"
				"spinweb_port = 8080\n"
				"spinweb_tls_certificate_file = /etc/spin/cert.pem\n"
				"spinweb_tls_key_file = /etc/spin/key.pem\n"
				"spinweb_password_file = /etc/spin/web.passwd\n"
				"interfaces = br-lan, eth1\n"
				"mode = bridge\n"
				"xdp_mode = generic\n"
				"state_dir = /srv/spin\n"
				"run_dir = /tmp/spin-run\n"
				"pin_dir = /sys/fs/bpf/spin-test\n"
				"max_flows = 4096\n"
				"local_mode = 1\n"
				"jsonrpc_mqtt = yes\n"
				"dns_ttl_floor = 60\n"
				"dhcp_leases_file = /tmp/leases\n"
				"lan_prefixes = 192.0.2.77/24, 2001:db8:1::5/48, 198.51.100.1\n"
				"web_root = /srv/spin/web\n"
				"http_max_connections = 8\n";

static void test_every_key(void)
{
	struct spin_config c;
	char err[512], buf[64];
	int ret;

	config_defaults(&c);
	ret = load(&c, every_key, err, sizeof(err));
	CHECK_INT(ret, 0, "file setting every key loads");
	if (ret)
		printf("# %s\n", err);
	CHECK_INT(c.log_usesyslog, 1, "log_usesyslog");
	CHECK_INT(c.log_loglevel, 7, "log_loglevel");
	CHECK_STR(c.log_file, "/var/log/spind.log", "log_file");
	CHECK_STR(c.pid_file, "/run/spind.pid", "pid_file");
	CHECK_STR(c.pubsub_host, "192.0.2.1", "pubsub_host");
	CHECK_INT(c.pubsub_port, 11883, "pubsub_port");
	CHECK_STR(c.pubsub_websocket_host, "0.0.0.0", "pubsub_websocket_host");
	CHECK_INT(c.pubsub_websocket_port, 11884, "pubsub_websocket_port");
	CHECK_STR(c.pubsub_channel_traffic, "HOME/traffic", "pubsub_channel_traffic");
	CHECK_INT(c.pubsub_timeout, 30, "pubsub_timeout");
	CHECK_INT(c.pubsub_run_mosquitto, 1, "pubsub_run_mosquitto");
	CHECK_STR(c.pubsub_run_password_file, "/etc/spin/mqtt.passwd", "pubsub_run_password_file");
	CHECK_STR(c.pubsub_username, "spind", "pubsub_username");
	CHECK_STR(c.pubsub_password, "s3cret pass", "pubsub_password keeps inner blanks");
	CHECK_INT(c.node_cache_retain_time, 3600, "node_cache_retain_time");
	CHECK_STR(c.spinweb_interfaces, "127.0.0.1,::1,192.0.2.1", "spinweb_interfaces normalised");
	CHECK_INT(c.spinweb_port, 8080, "spinweb_port");
	CHECK_STR(c.spinweb_tls_certificate_file, "/etc/spin/cert.pem",
		  "spinweb_tls_certificate_file");
	CHECK_STR(c.spinweb_tls_key_file, "/etc/spin/key.pem", "spinweb_tls_key_file");
	CHECK_STR(c.spinweb_password_file, "/etc/spin/web.passwd", "spinweb_password_file");
	CHECK_INT(c.n_interfaces, 2, "interfaces: two");
	CHECK_STR(c.interfaces[0], "br-lan", "interfaces[0]");
	CHECK_STR(c.interfaces[1], "eth1", "interfaces[1]");
	CHECK_INT(c.mode, SPIN_MODE_BRIDGE, "mode");
	CHECK_INT(c.xdp_mode, SPIN_XDP_GENERIC, "xdp_mode");
	CHECK_STR(c.state_dir, "/srv/spin", "state_dir");
	CHECK_STR(c.run_dir, "/tmp/spin-run", "run_dir");
	CHECK_STR(c.pin_dir, "/sys/fs/bpf/spin-test", "pin_dir");
	CHECK_INT(c.max_flows, 4096, "max_flows");
	CHECK_INT(c.local_mode, 1, "local_mode");
	CHECK_INT(c.jsonrpc_mqtt, 1, "jsonrpc_mqtt (yes)");
	CHECK_INT(c.dns_ttl_floor, 60, "dns_ttl_floor");
	CHECK_STR(c.dhcp_leases_file, "/tmp/leases", "dhcp_leases_file");
	CHECK_STR(c.web_root, "/srv/spin/web", "web_root");
	CHECK_INT(c.http_max_connections, 8, "http_max_connections");
	CHECK_INT(c.n_lan_prefixes, 3, "lan_prefixes: three");
	CHECK_INT(c.lan_prefixes[0].family, AF_INET, "lan_prefixes[0] is IPv4");
	CHECK_INT(c.lan_prefixes[0].len, 24, "lan_prefixes[0] length");
	inet_ntop(AF_INET, &c.lan_prefixes[0].addr.a[12], buf, sizeof(buf));
	CHECK_STR(buf, "192.0.2.0", "lan_prefixes[0] host bits cleared");
	CHECK_INT(c.lan_prefixes[0].addr.a[10] == 0xff && c.lan_prefixes[0].addr.a[11] == 0xff, 1,
		  "lan_prefixes[0] stored IPv4-mapped");
	inet_ntop(AF_INET6, c.lan_prefixes[1].addr.a, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8:1::", "lan_prefixes[1] host bits cleared");
	CHECK_INT(c.lan_prefixes[1].len, 48, "lan_prefixes[1] length");
	CHECK_INT(c.lan_prefixes[2].len, 32, "a bare address is a /32");
	CHECK_INT(c.warnings, 0, "no warnings for known keys");
}

static void test_syntax(void)
{
	struct spin_config c;
	char err[512];

	config_defaults(&c);
	CHECK_INT(load(&c,
		       "# comment\n"
		       "   # indented comment = with equals\n"
		       "\n"
		       "  \t \n"
		       "pubsub_port=1999\r\n"
		       "\tspinweb_port\t=\t2999   \n"
		       "pubsub_timeout 45\n"
		       "log_file = /tmp/a#b\n"
		       "pid_file =\n"
		       "mode = bridge",
		       err, sizeof(err)),
		  0, "comments, blanks, CRLF, tabs, key=value, key value, no final newline");
	CHECK_INT(c.pubsub_port, 1999, "key=value without spaces");
	CHECK_INT(c.spinweb_port, 2999, "tabs and trailing blanks");
	CHECK_INT(c.pubsub_timeout, 45, "\"key value\" form of the first SPIN");
	CHECK_STR(c.log_file, "/tmp/a#b", "'#' inside a value is not a comment");
	CHECK_STR(c.pid_file, "", "empty value clears a file name");
	CHECK_INT(c.mode, SPIN_MODE_BRIDGE, "last line without newline");
	CHECK_INT(load(&c, "", err, sizeof(err)), 0, "empty file");
}

struct bad_case {
	const char *text;
	int ret;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{"# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n# 10\n# 11\npubsub_port = abc\n", -EINVAL,
	 "spind.conf:12: pubsub_port: expected an integer 1-65535, got \"abc\""},
	{"pubsub_port = 70000\n", -EINVAL,
	 "spind.conf:1: pubsub_port: expected an integer 1-65535, got \"70000\""},
	{"pubsub_port = 0\n", -EINVAL,
	 "spind.conf:1: pubsub_port: expected an integer 1-65535, got \"0\""},
	{"pubsub_port = -1\n", -EINVAL,
	 "spind.conf:1: pubsub_port: expected an integer 1-65535, got \"-1\""},
	{"pubsub_port = 99999999999999999999999\n", -EINVAL,
	 "spind.conf:1: pubsub_port: expected an integer 1-65535, got \"99999999999999999999999\""},
	{"pubsub_port =\n", -EINVAL,
	 "spind.conf:1: pubsub_port: expected an integer 1-65535, got \"\""},
	{"pubsub_timeout = 1\n", -EINVAL,
	 "spind.conf:1: pubsub_timeout: expected an integer 5-65535, got \"1\""},
	{"log_loglevel = 8\n", -EINVAL,
	 "spind.conf:1: log_loglevel: expected an integer 0-7, got \"8\""},
	{"\nlocal_mode = maybe\n", -EINVAL,
	 "spind.conf:2: local_mode: expected 0 or 1, got \"maybe\""},
	{"mode = switch\n", -EINVAL,
	 "spind.conf:1: mode: expected one of router|bridge, got \"switch\""},
	{"xdp_mode = fast\n", -EINVAL,
	 "spind.conf:1: xdp_mode: expected one of auto|native|generic|off, got \"fast\""},
	{"pubsub_channel_traffic = SPIN/#\n", -EINVAL,
	 "spind.conf:1: pubsub_channel_traffic: expected an MQTT topic of 1-127 characters without "
	 "'+', '#' or a trailing '/', got \"SPIN/#\""},
	{"pubsub_host = bad host\n", -EINVAL,
	 "spind.conf:1: pubsub_host: expected a host name or address of 1-253 characters, got "
	 "\"bad host\""},
	{"interfaces = eth0,averyveryverylongname\n", -EINVAL,
	 "spind.conf:1: interfaces: expected a comma-separated list of at most 16 distinct "
	 "interface names of 1-15 characters, got \"eth0,averyveryverylongname\""},
	{"interfaces = eth0,eth0\n", -EINVAL,
	 "spind.conf:1: interfaces: expected a comma-separated list of at most 16 distinct "
	 "interface names of 1-15 characters, got \"eth0,eth0\""},
	{"interfaces = eth0,,eth1\n", -EINVAL,
	 "spind.conf:1: interfaces: expected a comma-separated list of at most 16 distinct "
	 "interface names of 1-15 characters, got \"eth0,,eth1\""},
	{"lan_prefixes = 192.0.2.0/33\n", -EINVAL,
	 "spind.conf:1: lan_prefixes: expected a comma-separated list of at most 32 prefixes such "
	 "as 192.0.2.0/24,2001:db8::/32, got \"192.0.2.0/33\""},
	{"lan_prefixes = 2001:db8::/x\n", -EINVAL,
	 "spind.conf:1: lan_prefixes: expected a comma-separated list of at most 32 prefixes such "
	 "as 192.0.2.0/24,2001:db8::/32, got \"2001:db8::/x\""},
	{"spinweb_interfaces = localhost\n", -EINVAL,
	 "spind.conf:1: spinweb_interfaces: expected a comma-separated list of at most 8 IPv4 or "
	 "IPv6 addresses, got \"localhost\""},
	{"spinweb_hostnames = spin.home.arpa,evil_name\n", -EINVAL,
	 "spind.conf:1: spinweb_hostnames: expected a comma-separated list of at most 16 DNS names "
	 "such as spin.home.arpa, got \"spin.home.arpa,evil_name\""},
	{"spinweb_hostnames = -gw.lan\n", -EINVAL,
	 "spind.conf:1: spinweb_hostnames: expected a comma-separated list of at most 16 DNS names "
	 "such as spin.home.arpa, got \"-gw.lan\""},
	{"spinweb_hostnames = gw..lan\n", -EINVAL,
	 "spind.conf:1: spinweb_hostnames: expected a comma-separated list of at most 16 DNS names "
	 "such as spin.home.arpa, got \"gw..lan\""},
	{"log_file = /tmp/\x01x\n", -EINVAL,
	 "spind.conf:1: log_file: expected a file name of at most 255 bytes, got \"/tmp/\\x01x\""},
	{"pubsub_port\n", -EINVAL, "spind.conf:1: expected \"key = value\", got \"pubsub_port\""},
	{"= 5\n", -EINVAL, "spind.conf:1: expected \"key = value\", got \"= 5\""},
	{"pubsub-port = 5\n", -EINVAL,
	 "spind.conf:1: expected \"key = value\", got \"pubsub-port = 5\""},
};

static void test_bad_values(void)
{
	struct spin_config c, before;
	char err[512], name[64];
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		config_defaults(&c);
		before = c;
		snprintf(name, sizeof(name), "bad case %zu returns -EINVAL", i);
		CHECK_INT(load(&c, bad_cases[i].text, err, sizeof(err)), bad_cases[i].ret, name);
		snprintf(name, sizeof(name), "bad case %zu message", i);
		CHECK_STR(err, bad_cases[i].err, name);
		snprintf(name, sizeof(name), "bad case %zu leaves the config unchanged", i);
		CHECK(!memcmp(&c, &before, sizeof(c)), name);
	}

	/* An error after good lines discards them too. */
	config_defaults(&c);
	load(&c, "pubsub_port = 2000\nspinweb_port = x\n", err, sizeof(err));
	CHECK_INT(c.pubsub_port, 1883, "a failed load applies none of its lines");

	/* A NUL byte inside a line. */
	{
		static const char nul[] = "pubsub_port = 1\0 2\n";
		FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");

		CHECK_INT(config_load_stream(&c, f, "spind.conf", err, sizeof(err)), -EINVAL,
			  "NUL byte refused");
		CHECK_STR(err, "spind.conf:1: line contains a NUL byte", "NUL byte message");
		fclose(f);
	}
	/* 17 interfaces: one more than SPIN_MAX_IFACES. */
	{
		char text[512] = "interfaces = ";

		for (i = 0; i <= SPIN_MAX_IFACES; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%seth%zu",
				 i ? "," : "", i);
		CHECK_INT(load(&c, text, err, sizeof(err)), -EINVAL,
			  "more than SPIN_MAX_IFACES interfaces refused");
		text[strrchr(text, ',') - text] = '\0';
		CHECK_INT(load(&c, text, err, sizeof(err)), 0,
			  "SPIN_MAX_IFACES interfaces accepted");
		CHECK_INT(c.n_interfaces, SPIN_MAX_IFACES, "SPIN_MAX_IFACES interfaces stored");
	}
}

static void test_warnings(void)
{
	struct spin_config c;
	char err[512];
	const char *log;

	log_text();
	config_defaults(&c);
	CHECK_INT(load(&c,
		       "pubsub_port = 1884\n"
		       "\n"
		       "no_such_key = 1\n"
		       "iptable_queue_dns = 1\n"
		       "iptable_queue_block = 2\n"
		       "iptable_place_dns = 0\n"
		       "iptable_place_block = 0\n"
		       "iptable_debug = /tmp/block_commands\n"
		       "pubsub_channel_commands = SPIN/commands\n"
		       "dots_enabled = 0\n"
		       "pubsub_port = 1885\n",
		       err, sizeof(err)),
		  0, "unknown, legacy and repeated keys load");
	CHECK_INT(c.pubsub_port, 1885, "the last of a repeated key wins");
	CHECK_INT(c.warnings, 9, "one warning each: unknown, 7 legacy, repeated");
	log = log_text();
	CHECK(strstr(log, "spind.conf:3: unknown key \"no_such_key\"; ignored") != NULL,
	      "unknown key warning names the line");
	CHECK(strstr(log, "spind.conf:4: iptable_queue_dns: has no meaning in the eBPF edition") !=
		      NULL,
	      "legacy key warning says it has no meaning");
	CHECK(strstr(log, "spind.conf:11: pubsub_port: also set on line 1") != NULL,
	      "repeated key warning names both lines");
}

static void test_oversize(void)
{
	struct spin_config c;
	char err[512], *text;
	size_t n = CONFIG_LINE_MAX;

	text = malloc(3 * n + 64);
	/* A comment of exactly CONFIG_LINE_MAX bytes is fine. */
	memset(text, '#', n);
	strcpy(text + n, "\npubsub_port = 1999\n");
	config_defaults(&c);
	CHECK_INT(load(&c, text, err, sizeof(err)), 0, "line of CONFIG_LINE_MAX bytes accepted");
	CHECK_INT(c.pubsub_port, 1999, "the line after it is read");
	strcpy(text, "pubsub_port = 2\n");
	memset(text + strlen(text), 'x', 2 * n);
	text[16 + 2 * n] = '\0';
	strcat(text, "\nspinweb_port = 1\n");
	CHECK_INT(load(&c, text, err, sizeof(err)), -E2BIG, "oversize line refused");
	CHECK_STR(err, "spind.conf:2: line longer than 1024 bytes", "oversize line message");
	free(text);

	/* Values longer than their field. */
	{
		char line[400] = "log_file = /";

		memset(line + strlen(line), 'a', 300);
		line[12 + 300] = '\0';
		CHECK_INT(load(&c, line, err, sizeof(err)), -EINVAL,
			  "path longer than 255 refused");
		CHECK(strstr(err, "log_file: expected a file name of at most 255 bytes") != NULL,
		      "long path message names the bound");
		CHECK(strstr(err, "...\"") != NULL, "long value is cut in the message");
	}
}

static void test_missing_file(void)
{
	struct spin_config c;
	char err[512];

	config_defaults(&c);
	CHECK_INT(config_load_file(&c, "/nonexistent/spind.conf", err, sizeof(err)), -ENOENT,
		  "missing file returns -ENOENT");
	CHECK_STR(err, "/nonexistent/spind.conf: cannot open: No such file or directory",
		  "missing file message");
}

/* A stream of 'left' copies of one byte, counting what is read (a /dev/zero that ends). */
struct endless {
	int byte;
	size_t left;
	size_t read;
};

static ssize_t endless_read(void *cookie, char *buf, size_t size)
{
	struct endless *e = cookie;
	size_t n = size < e->left ? size : e->left;

	memset(buf, e->byte, n);
	e->left -= n;
	e->read += n;
	return (ssize_t)n;
}

/* No newline for megabytes, NUL bytes, a directory: refused at once, naming what is wrong. */
static void test_not_a_config(void)
{
	struct spin_config c;
	char err[512];
	struct endless e;
	FILE *f;

	config_defaults(&c);
	e = (struct endless){.byte = 'a', .left = 8 << 20};
	f = fopencookie(&e, "r", (cookie_io_functions_t){.read = endless_read});
	CHECK_INT(config_load_stream(&c, f, "big.conf", err, sizeof(err)), -E2BIG,
		  "8 MiB without a newline: refused");
	CHECK_STR(err, "big.conf:1: line longer than 1024 bytes",
		  "8 MiB without a newline: message");
	CHECK(e.read <= 64 * 1024, "8 MiB without a newline: reading stops at the line limit");
	fclose(f);

	e = (struct endless){.byte = 0, .left = 8 << 20};
	f = fopencookie(&e, "r", (cookie_io_functions_t){.read = endless_read});
	CHECK_INT(config_load_stream(&c, f, "zero", err, sizeof(err)), -EINVAL,
		  "NUL bytes without a newline: refused");
	CHECK_STR(err, "zero:1: line contains a NUL byte", "NUL bytes: message");
	CHECK(e.read <= 64 * 1024, "NUL bytes: reading stops at the first");
	fclose(f);

	CHECK_INT(config_load_file(&c, "/dev/zero", err, sizeof(err)), -EINVAL,
		  "/dev/zero: refused (does not hang)");
	CHECK_STR(err, "/dev/zero:1: line contains a NUL byte", "/dev/zero: message");
	CHECK_INT(config_load_file(&c, "/tmp", err, sizeof(err)), -EISDIR, "a directory: refused");
	CHECK_STR(err, "/tmp: is a directory, not a configuration file", "a directory: message");
}

static void test_set(void)
{
	struct spin_config c;
	char err[512];

	config_defaults(&c);
	CHECK_INT(config_set_assignment(&c, "pubsub_port=1884", err, sizeof(err)), 0,
		  "-o key=value");
	CHECK_INT(c.pubsub_port, 1884, "-o applied");
	CHECK_INT(config_set_assignment(&c, "mode = bridge", err, sizeof(err)), 0,
		  "-o with spaces around '='");
	CHECK_INT(c.mode, SPIN_MODE_BRIDGE, "-o with spaces applied");
	CHECK_INT(config_set(&c, "spinweb_port", "abc", err, sizeof(err)), -EINVAL,
		  "config_set bad value");
	CHECK_STR(err, "spinweb_port: expected an integer 1-65535, got \"abc\"",
		  "config_set message has no file prefix");
	CHECK_INT(config_set(&c, "no_such", "1", err, sizeof(err)), -ENOENT,
		  "config_set unknown key is an error");
	CHECK_STR(err, "unknown key \"no_such\"", "unknown key message");
	CHECK_INT(config_set_assignment(&c, "pubsub_port", err, sizeof(err)), -EINVAL,
		  "-o without '=' refused");
	CHECK_STR(err, "expected key=value, got \"pubsub_port\"", "-o without '=' message");
	CHECK_INT(config_set(&c, "spinweb_hostnames", " spin.home.arpa , Gw-1.local. ", err,
			     sizeof(err)),
		  0, "spinweb_hostnames accepted");
	CHECK_STR(c.spinweb_hostnames, "spin.home.arpa,Gw-1.local.",
		  "spinweb_hostnames normalised");
	CHECK_INT(config_set(&c, "spinweb_hostnames", "", err, sizeof(err)), 0,
		  "spinweb_hostnames may be empty");
	CHECK_STR(c.spinweb_hostnames, "", "spinweb_hostnames emptied");
	CHECK_INT(config_set(&c, "iptable_debug", "/tmp/x", err, sizeof(err)), 0,
		  "config_set legacy key accepted");
}

static void test_round_trip(void)
{
	struct spin_config a, b;
	char err[512], *text1 = NULL, *text2 = NULL;
	size_t len1 = 0, len2 = 0;
	FILE *out;
	int ret;

	config_defaults(&a);
	load(&a, every_key, err, sizeof(err));
	out = open_memstream(&text1, &len1);
	config_print(&a, out);
	fclose(out);

	config_defaults(&b);
	ret = load(&b, text1, err, sizeof(err));
	CHECK_INT(ret, 0, "config_print output loads");
	if (ret)
		printf("# %s\n", err);
	a.warnings = b.warnings = 0;
	CHECK(!memcmp(&a, &b, sizeof(a)), "reloaded config equals the printed one");
	out = open_memstream(&text2, &len2);
	config_print(&b, out);
	fclose(out);
	CHECK_STR(text2, text1, "printing the reloaded config gives the same text");
	CHECK(strstr(text1, "\nlan_prefixes = 192.0.2.0/24,2001:db8:1::/48,198.51.100.1/32\n") !=
		      NULL,
	      "prefixes printed in canonical form");
	CHECK(strstr(text1, "\ninterfaces = br-lan,eth1\n") != NULL, "interfaces printed");
	CHECK(strstr(text1, "\njsonrpc_mqtt = 1\n") != NULL, "booleans printed as 0/1");
	CHECK(strstr(text1, "iptable") == NULL, "legacy keys not printed");
	free(text1);
	free(text2);

	/* Defaults round-trip as well (the -C output of a fresh install). */
	config_defaults(&a);
	out = open_memstream(&text1, &len1);
	config_print(&a, out);
	fclose(out);
	config_defaults(&b);
	b.pubsub_port = 1; /* must be overwritten by the printed default */
	CHECK_INT(load(&b, text1, err, sizeof(err)), 0, "default config_print output loads");
	CHECK(!memcmp(&a, &b, sizeof(a)), "defaults round-trip");
	free(text1);
}

/* docs/spind.conf.example loads as is and with every key uncommented (it lists every key). */
static void test_example(void)
{
	const char *top = getenv("SPIN_TOP");
	char path[512], err[512], line[CONFIG_LINE_MAX + 2], *text = NULL;
	struct spin_config c, d;
	size_t len = 0;
	FILE *f, *out;
	int keys = 0;

	snprintf(path, sizeof(path), "%s/docs/spind.conf.example", top ? top : ".");
	config_defaults(&c);
	CHECK_INT(config_load_file(&c, path, err, sizeof(err)), 0, "spind.conf.example loads");
	config_defaults(&d);
	CHECK(!memcmp(&c, &d, sizeof(c)), "spind.conf.example changes no default");
	f = fopen(path, "r");
	out = open_memstream(&text, &len);
	while (f && fgets(line, sizeof(line), f)) {
		/* "#key = value" lines are the commented-out settings. */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strchr(line, '=')) {
			fputs(line + 1, out);
			keys++;
		}
	}
	if (f)
		fclose(f);
	fclose(out);
	CHECK_INT(load(&c, text, err, sizeof(err)), 0, "uncommented spind.conf.example loads");
	CHECK(!memcmp(&c, &d, sizeof(c)), "the example's values are the defaults");
	CHECK(keys >= 34, "the example lists every key");
	free(text);

	/* Each key config_print() writes has its commented-out line in the example. */
	text = NULL;
	out = open_memstream(&text, &len);
	config_print(&d, out);
	fclose(out);
	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		char key[128], want[140], *eq;
		bool found = false;

		nl = strchr(p, '\n');
		eq = strstr(p, " =");
		if (*p == '#' || *p == '\n' || !eq || (nl && eq > nl) || eq - p >= (int)sizeof(key))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
		snprintf(want, sizeof(want), "#%s =", key);
		f = fopen(path, "r");
		while (f && !found && fgets(line, sizeof(line), f))
			found = !strncmp(line, want, strlen(want));
		if (f)
			fclose(f);
		if (!found)
			printf("  spind.conf.example lacks \"%s\"\n", key);
		CHECK(found, "spind.conf.example lists a key config_print() prints");
	}
	free(text);
}

int main(void)
{
	int fd = mkstemp(logpath);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	log_init("test_config", false, LOG_LVL_INFO, logpath);
	test_defaults();
	test_every_key();
	test_syntax();
	test_bad_values();
	test_warnings();
	test_oversize();
	test_missing_file();
	test_not_a_config();
	test_set();
	test_round_trip();
	test_example();
	log_close();
	unlink(logpath);
	return check_exit();
}
