// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * spinctl: SPIN from the command line. Talks JSON-RPC to spind's web API over plain HTTP (a
 * small HTTP/1.1 client; for TLS use curl, see spinctl(1)), and, when spind is down, reads and
 * changes the pinned block maps directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "nodes.h"
#include "spin_common.h"

#define DEFAULT_URL  "http://127.0.0.1:13026"
#define RESP_MAX     (64 * 1024 * 1024)
#define IO_TIMEOUT_S 10
#define PASSWORD_ENV "SPINCTL_PASSWORD"

static struct {
	const char *url;
	const char *user;
	const char *pin_dir;
	bool json;
} opt = {.url = DEFAULT_URL, .pin_dir = SPIN_PIN_DIR};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: spinctl [options] command [args]\n"
		"  status                     daemon health (version, interfaces, maps, broker)\n"
		"  devices                    local devices\n"
		"  flows <mac>                a device's recent flows\n"
		"  block|unblock <node|ip>    block list (a node id or an IP address)\n"
		"  allow|unallow <node|ip>    allow list (overrides every block)\n"
		"  ignore|unignore <node|ip>  ignore list (hidden from traffic reports)\n"
		"  name <node> <name>         name a node (\"\" clears)\n"
		"  rpc <method> [name value]...  any JSON-RPC method; integer-looking values are\n"
		"                             sent as integers\n"
		"  maps list | maps block|unblock <ip>   the pinned maps, while spind is stopped\n"
		"options:\n"
		"  -u, --url URL       web API (default " DEFAULT_URL ")\n"
		"  -U, --user NAME     Basic auth user; the password is read from $" PASSWORD_ENV
		"\n"
		"  -j, --json          print the raw JSON answer\n"
		"  -p, --pin-dir DIR   pinned maps for 'maps' (default " SPIN_PIN_DIR ")\n"
		"  -h, --help\n");
}

/* --- a small HTTP/1.1 client --- */

struct url {
	char host[256];
	char port[8];
	char path[256];
};

static int parse_url(const char *s, struct url *u)
{
	const char *p, *slash, *colon;

	if (strncmp(s, "https://", 8) == 0) {
		fprintf(stderr, "spinctl: https is not built in; use curl (see spinctl(1))\n");
		return -EPROTONOSUPPORT;
	}
	if (strncmp(s, "http://", 7) != 0) {
		fprintf(stderr, "spinctl: --url must start with http://, got '%s'\n", s);
		return -EPROTONOSUPPORT; /* said; not "cannot parse" on top */
	}
	p = s + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if (*p == '[') { /* [IPv6]:port */
		const char *end = memchr(p, ']', (size_t)(slash - p));

		if (!end || (size_t)(end - p - 1) >= sizeof(u->host))
			return -EINVAL;
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(end - p - 1), p + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		if ((size_t)((colon ? colon : slash) - p) >= sizeof(u->host))
			return -EINVAL;
		snprintf(u->host, sizeof(u->host), "%.*s", (int)((colon ? colon : slash) - p), p);
	}
	if (colon && (slash - colon - 1 < 1 || slash - colon - 1 > 5))
		return -EINVAL;
	snprintf(u->port, sizeof(u->port), "%.*s", colon ? (int)(slash - colon - 1) : 2,
		 colon ? colon + 1 : "80");
	snprintf(u->path, sizeof(u->path), "%s", *slash ? slash : "");
	/* A trailing slash on the base URL would make "//spin_api". */
	if (u->path[0] && u->path[strlen(u->path) - 1] == '/')
		u->path[strlen(u->path) - 1] = '\0';
	return u->host[0] ? 0 : -EINVAL;
}

static int dial(const struct url *u)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int fd = -1, err;

	err = getaddrinfo(u->host, u->port, &hints, &res);
	if (err) {
		fprintf(stderr, "spinctl: %s: %s\n", u->host, gai_strerror(err));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "spinctl: cannot connect to %s port %s: %s (is spind running?)\n",
			u->host, u->port, strerror(errno));
	return fd < 0 ? -ECONNREFUSED : fd;
}

static void base64(const char *in, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static int auth_header(char *out, size_t len)
{
	const char *pw = getenv(PASSWORD_ENV);
	char cred[512], enc[700];

	out[0] = '\0';
	if (!opt.user)
		return 0;
	if (!pw) {
		fprintf(stderr, "spinctl: --user needs the password in $%s\n", PASSWORD_ENV);
		return -EINVAL;
	}
	if (snprintf(cred, sizeof(cred), "%s:%s", opt.user, pw) >= (int)sizeof(cred))
		return -E2BIG;
	base64(cred, enc);
	snprintf(out, len, "Authorization: Basic %s\r\n", enc);
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decodes a chunked body in place; returns its length or -EINVAL. */
static ssize_t dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long size = strtoul(b + in, &end, 16);
		char *crlf = memmem(b + in, n - in, "\r\n", 2);

		if (!crlf || end == b + in)
			return -EINVAL;
		in = (size_t)(crlf + 2 - b);
		if (!size)
			return (ssize_t)out;
		if (size > n - in)
			return -EINVAL;
		memmove(b + out, b + in, size);
		out += size;
		in += size + 2;
		if (in > n)
			return -EINVAL;
	}
}

/* One request; *body gets the response body (caller frees). Returns the HTTP status. */
static int http(const char *method, const char *path, const char *body, char **resp)
{
	struct url u;
	char auth[800], *head = NULL, *buf = NULL, *sep;
	size_t got = 0, cap = 65536;
	int fd, err, status, n;

	*resp = NULL;
	err = parse_url(opt.url, &u);
	if (err) {
		if (err == -EINVAL)
			fprintf(stderr, "spinctl: cannot parse --url '%s'\n", opt.url);
		return err;
	}
	err = auth_header(auth, sizeof(auth));
	if (err)
		return err;
	n = asprintf(&head,
		     "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nConnection: close\r\n"
		     "User-Agent: spinctl\r\n%s%sContent-Length: %zu\r\n\r\n",
		     method, u.path, path, strchr(u.host, ':') ? "[" : "", u.host,
		     strchr(u.host, ':') ? "]" : "", u.port, auth,
		     body ? "Content-Type: application/json\r\n" : "", body ? strlen(body) : 0);
	if (n < 0)
		return -ENOMEM;
	fd = dial(&u);
	if (fd < 0) {
		free(head);
		return fd;
	}
	err = send_all(fd, head, (size_t)n);
	if (!err && body)
		err = send_all(fd, body, strlen(body));
	free(head);
	buf = err ? NULL : malloc(cap + 1);
	while (buf) {
		ssize_t r = recv(fd, buf + got, cap - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == cap) {
			char *b = cap < RESP_MAX ? realloc(buf, cap * 2 + 1) : NULL;

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf) {
		fprintf(stderr, "spinctl: request to %s failed\n", opt.url);
		return -EIO;
	}
	buf[got] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || !sep || got < 12) {
		fprintf(stderr, "spinctl: %s did not answer HTTP\n", opt.url);
		free(buf);
		return -EPROTO;
	}
	status = atoi(buf + 9);
	*sep = '\0';
	{
		size_t off = (size_t)(sep + 4 - buf), blen = got - off;

		if (strcasestr(buf, "\r\nTransfer-Encoding: chunked")) {
			ssize_t d = dechunk(sep + 4, blen);

			blen = d < 0 ? 0 : (size_t)d;
		}
		memmove(buf, sep + 4, blen);
		buf[blen] = '\0';
	}
	*resp = buf;
	return status;
}

/* --- JSON-RPC --- */

static bool looks_int(const char *s)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	(void)strtoll(s, &end, 10);
	return !*end && !errno && s[strspn(s, " ")] != '+';
}

/* Calls method; returns the result (caller frees) or NULL after printing the error. */
static cJSON *call(const char *method, cJSON *params)
{
	cJSON *req = cJSON_CreateObject(), *ans, *res, *err;
	char *body, *resp = NULL;
	int status;

	cJSON_AddStringToObject(req, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "method", method);
	if (params)
		cJSON_AddItemToObject(req, "params", params);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	status = body ? http("POST", "/spin_api/jsonrpc", body, &resp) : -ENOMEM;
	free(body);
	if (status < 0)
		return NULL;
	ans = cJSON_Parse(resp);
	err = cJSON_GetObjectItem(ans, "error");
	if (status != 200 || err) {
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(err, "message"));

		fprintf(stderr, "spinctl: %s: %s%s(HTTP %d, code %d)\n", method, msg ? msg : "",
			msg ? " " : "", status,
			(int)cJSON_GetNumberValue(cJSON_GetObjectItem(err, "code")));
		cJSON_Delete(ans);
		free(resp);
		return NULL;
	}
	free(resp);
	res = cJSON_DetachItemFromObject(ans, "result");
	cJSON_Delete(ans);
	return res ? res : cJSON_CreateNull();
}

static int print_json(cJSON *j)
{
	char *s = cJSON_Print(j);

	printf("%s\n", s ? s : "null");
	free(s);
	return 0;
}

static const char *ago(double t, char *buf, size_t len)
{
	long d = (long)(time(NULL) - (time_t)t);

	if (t <= 0)
		snprintf(buf, len, "-");
	else if (d < 120)
		snprintf(buf, len, "%lds ago", d < 0 ? 0 : d);
	else if (d < 7200)
		snprintf(buf, len, "%ldm ago", d / 60);
	else
		snprintf(buf, len, "%ldh ago", d / 3600);
	return buf;
}

static void join_strings(const cJSON *a, char *out, size_t len)
{
	const cJSON *e;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(e, a)
	{
		const char *s = cJSON_GetStringValue(e);

		if (s && o < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", s);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

static int show_devices(cJSON *r)
{
	const cJSON *d;
	char ips[256], when[32];

	printf("%-6s %-17s %-24s %-12s %s\n", "NODE", "MAC", "NAME", "SEEN", "ADDRESSES");
	cJSON_ArrayForEach(d, r)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(d, "name"));

		join_strings(cJSON_GetObjectItem(d, "ips"), ips, sizeof(ips));
		printf("%-6d %-17s %-24s %-12s %s%s\n",
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "id")),
		       cJSON_GetStringValue(cJSON_GetObjectItem(d, "mac")), name ? name : "-",
		       ago(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "lastseen")), when,
			   sizeof(when)),
		       ips, cJSON_IsTrue(cJSON_GetObjectItem(d, "is_blocked")) ? " [blocked]" : "");
	}
	return 0;
}

static int show_flows(cJSON *r)
{
	const cJSON *f;
	char when[32];

	printf("%-6s %-8s %-5s %10s %12s  %s\n", "TO", "PORT", "ICMP", "PACKETS", "BYTES", "SEEN");
	cJSON_ArrayForEach(f, r)
	{
		int to = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "to"));
		int port = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "dst_port"));
		int icmp = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "icmp_type"));

		if (cJSON_GetObjectItem(f, "blocked")) {
			printf("%-6d %-8d %-5d %10s %12s  blocked\n", to, port, icmp, "-", "-");
			continue;
		}
		printf("%-6d %-8d %-5d %10.0f %12.0f  %s\n", to, port, icmp,
		       cJSON_GetNumberValue(cJSON_GetObjectItem(f, "packets")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(f, "bytes")),
		       ago(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "lastseen")), when,
			   sizeof(when)));
	}
	return 0;
}

static int show_status(cJSON *s)
{
	const cJSON *i, *m, *maps = cJSON_GetObjectItem(s, "maps");

	printf("version      %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(s, "version")));
	printf("nodes        %.0f\n", cJSON_GetNumberValue(cJSON_GetObjectItem(s, "nodes")));
	printf("broker       %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "mqtt"), "connected"))
		       ? "connected"
		       : "disconnected");
	cJSON_ArrayForEach(i, cJSON_GetObjectItem(s, "interfaces"))
	{
		const char *hook = cJSON_GetStringValue(cJSON_GetObjectItem(i, "tc_hook"));

		printf("interface    %-12s tc %s%s%s%s, xdp %s\n",
		       cJSON_GetStringValue(cJSON_GetObjectItem(i, "name")),
		       cJSON_IsTrue(cJSON_GetObjectItem(i, "tc")) ? "on" : "off", hook ? " (" : "",
		       hook ? hook : "", hook ? ")" : "",
		       cJSON_GetStringValue(cJSON_GetObjectItem(i, "xdp")));
	}
	cJSON_ArrayForEach(m, maps) printf("map          %-12s %.0f / %.0f\n", m->string,
					   cJSON_GetNumberValue(cJSON_GetObjectItem(m, "used")),
					   cJSON_GetNumberValue(cJSON_GetObjectItem(m, "max")));
	if (cJSON_IsNumber(cJSON_GetObjectItem(s, "ringbuf_drops")))
		printf("ringbuf drops %.0f\n",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(s, "ringbuf_drops")));
	return 0;
}

static int cmd_status(void)
{
	char *resp = NULL;
	int status = http("GET", "/spin_api/status", NULL, &resp), ret = 1;
	cJSON *s;

	if (status < 0)
		return 1;
	s = cJSON_Parse(resp);
	if (status != 200 || !s) {
		fprintf(stderr, "spinctl: status: HTTP %d %s\n", status, resp ? resp : "");
	} else {
		ret = opt.json ? print_json(s) : show_status(s);
	}
	cJSON_Delete(s);
	free(resp);
	return ret;
}

/* block/allow/ignore (and un-): a node id is a node, anything else must be an address. */
static int cmd_list(const char *list, bool add, const char *target)
{
	cJSON *p = cJSON_CreateObject(), *r;
	const char *method;

	cJSON_AddStringToObject(p, "list", list);
	if (looks_int(target)) {
		method = add ? "add_iplist_node" : "remove_iplist_node";
		cJSON_AddNumberToObject(p, "node", atof(target));
	} else {
		method = add ? "add_iplist_ip" : "remove_iplist_ip";
		cJSON_AddStringToObject(p, "ip", target);
	}
	r = call(method, p);
	if (!r)
		return 1;
	if (opt.json)
		print_json(r);
	else
		printf("%s %s %s list\n", target, add ? "added to the" : "removed from the", list);
	cJSON_Delete(r);
	return 0;
}

static int cmd_name(const char *node, const char *name)
{
	cJSON *p = cJSON_CreateObject(), *r;

	cJSON_AddNumberToObject(p, "node", atof(node));
	cJSON_AddStringToObject(p, "name", name);
	r = call("set_device_name", p);
	if (!r)
		return 1;
	if (opt.json)
		print_json(r);
	else if (name[0])
		printf("node %s named '%s'\n", node, name);
	else
		printf("node %s: name cleared\n", node);
	cJSON_Delete(r);
	return 0;
}

static int cmd_rpc(int argc, char **argv)
{
	cJSON *p = argc > 1 ? cJSON_CreateObject() : NULL, *r;

	if (argc % 2 == 0) {
		fprintf(stderr, "spinctl: rpc: parameters come in name value pairs\n");
		cJSON_Delete(p);
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		if (looks_int(argv[i + 1]))
			cJSON_AddNumberToObject(p, argv[i], atof(argv[i + 1]));
		else
			cJSON_AddStringToObject(p, argv[i], argv[i + 1]);
	}
	r = call(argv[0], p);
	if (!r)
		return 1;
	print_json(r);
	cJSON_Delete(r);
	return 0;
}

static int cmd_result(const char *method, cJSON *params, int (*show)(cJSON *))
{
	cJSON *r = call(method, params);
	int ret;

	if (!r)
		return 1;
	ret = opt.json || !show ? print_json(r) : show(r);
	cJSON_Delete(r);
	return ret;
}

/* --- the pinned maps, spind stopped --- */

static int pin_open(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "spinctl: cannot open %s: %s (did spind ever run here?)\n", path,
			strerror(errno));
	return fd;
}

/* Recounts the address flags and bumps policy_gen: every flow re-checks its verdict. */
static int commit(int pol_fd)
{
	struct spin_addr key, next;
	struct spin_cfg cfg;
	__u32 zero = 0, flags, nb = 0, na = 0;
	void *prev = NULL;
	int cfg_fd = pin_open(SPIN_MAP_CFG), err = 0;

	if (cfg_fd < 0)
		return 1;
	while (bpf_map_get_next_key(pol_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(pol_fd, &key, &flags) == 0) {
			nb += !!(flags & SPIN_POL_BLOCK);
			na += !!(flags & SPIN_POL_ALLOW);
		}
	}
	if (bpf_map_lookup_elem(cfg_fd, &zero, &cfg) < 0) {
		err = -errno;
	} else {
		cfg.policy_gen++;
		cfg.n_addr_block = nb;
		cfg.n_addr_allow = na;
		if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY) < 0)
			err = -errno;
	}
	if (err)
		fprintf(stderr, "spinctl: cannot update %s: %s\n", SPIN_MAP_CFG, strerror(-err));
	close(cfg_fd);
	return err ? 1 : 0;
}

static int maps_list(int fd)
{
	struct spin_addr key, next;
	char text[NODES_ADDR_STRLEN];
	void *prev = NULL;
	__u32 flags;

	if (opt.json)
		printf("[");
	for (bool first = true; bpf_map_get_next_key(fd, prev, &next) == 0; first = false) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &flags))
			continue;
		nodes_addr_str(&key, text);
		if (opt.json)
			printf("%s{\"ip\":\"%s\",\"block\":%s,\"allow\":%s}", first ? "" : ",",
			       text, flags & SPIN_POL_BLOCK ? "true" : "false",
			       flags & SPIN_POL_ALLOW ? "true" : "false");
		else
			printf("%-40s %s%s\n", text, flags & SPIN_POL_BLOCK ? "block " : "",
			       flags & SPIN_POL_ALLOW ? "allow" : "");
	}
	if (opt.json)
		printf("]\n");
	return 0;
}

static int maps_change(int fd, const char *ip, bool block)
{
	struct spin_addr a;
	__u32 flags = 0;

	if (nodes_addr_parse(ip, &a)) {
		fprintf(stderr, "spinctl: maps: '%s' is not an IPv4 or IPv6 address\n", ip);
		return 2;
	}
	bpf_map_lookup_elem(fd, &a, &flags);
	flags = block ? flags | SPIN_POL_BLOCK : flags & ~(__u32)SPIN_POL_BLOCK;
	if ((flags ? bpf_map_update_elem(fd, &a, &flags, BPF_ANY)
		   : (bpf_map_delete_elem(fd, &a) && errno != ENOENT ? -1 : 0)) < 0) {
		fprintf(stderr, "spinctl: maps: cannot update %s: %s\n", SPIN_MAP_ADDRPOL,
			strerror(errno));
		return 1;
	}
	if (commit(fd))
		return 1;
	printf("%s %s in %s/%s\n", ip, block ? "blocked" : "unblocked", opt.pin_dir,
	       SPIN_MAP_ADDRPOL);
	return 0;
}

static int cmd_maps(int argc, char **argv)
{
	int dir_fd, fd, ret;
	bool change;

	if (argc < 1 || (strcmp(argv[0], "list") && argc != 2) ||
	    (strcmp(argv[0], "list") && strcmp(argv[0], "block") && strcmp(argv[0], "unblock"))) {
		fprintf(stderr, "spinctl: usage: maps list | maps block|unblock <ip>\n");
		return 2;
	}
	change = strcmp(argv[0], "list") != 0;
	dir_fd = open(opt.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		fprintf(stderr, "spinctl: %s: %s\n", opt.pin_dir, strerror(errno));
		return 1;
	}
	/* spind holds this lock while it runs; its policy would silently undo our change. */
	if (change && flock(dir_fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr,
			"spinctl: spind is running (%s is locked): use 'spinctl %s %s' "
			"through the API instead\n",
			opt.pin_dir, argv[0], argv[1]);
		close(dir_fd);
		return 1;
	}
	fd = pin_open(SPIN_MAP_ADDRPOL);
	if (fd < 0) {
		close(dir_fd);
		return 1;
	}
	ret = change ? maps_change(fd, argv[1], strcmp(argv[0], "block") == 0) : maps_list(fd);
	close(fd);
	close(dir_fd);
	return ret;
}

/* --- main --- */

static int need(int argc, int n, const char *usage_line)
{
	if (argc == n)
		return 0;
	fprintf(stderr, "spinctl: usage: spinctl %s\n", usage_line);
	return 2;
}

static int dispatch(int argc, char **argv)
{
	const char *c = argv[0];
	static const char *const lists[][3] = {
		{"block", "unblock", "block"},
		{"allow", "unallow", "allow"},
		{"ignore", "unignore", "ignore"},
	};
	cJSON *p;

	if (!strcmp(c, "status"))
		return need(argc, 1, "status") ?: cmd_status();
	if (!strcmp(c, "devices"))
		return need(argc, 1, "devices") ?: cmd_result("list_devices", NULL, show_devices);
	if (!strcmp(c, "flows")) {
		if (need(argc, 2, "flows <mac>"))
			return 2;
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "device", argv[1]);
		return cmd_result("list_device_flows", p, show_flows);
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (!strcmp(c, lists[i][0]) || !strcmp(c, lists[i][1])) {
			if (need(argc, 2, "block|unblock|allow|unallow|ignore|unignore <node|ip>"))
				return 2;
			return cmd_list(lists[i][2], !strcmp(c, lists[i][0]), argv[1]);
		}
	if (!strcmp(c, "name")) {
		if (need(argc, 3, "name <node> <name>"))
			return 2;
		if (!looks_int(argv[1])) {
			fprintf(stderr, "spinctl: name: the node must be a node id, got '%s'\n",
				argv[1]);
			return 2;
		}
		return cmd_name(argv[1], argv[2]);
	}
	if (!strcmp(c, "rpc")) {
		if (argc < 2)
			return need(argc, 2, "rpc <method> [name value]...");
		return cmd_rpc(argc - 1, argv + 1);
	}
	if (!strcmp(c, "maps"))
		return cmd_maps(argc - 1, argv + 1);
	fprintf(stderr, "spinctl: unknown command '%s' (see spinctl --help)\n", c);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'}, {"user", required_argument, NULL, 'U'},
		{"json", no_argument, NULL, 'j'},      {"pin-dir", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},      {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+u:U:jp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			opt.url = optarg;
			break;
		case 'U':
			opt.user = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'p':
			opt.pin_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	return dispatch(argc - optind, argv + optind);
}
