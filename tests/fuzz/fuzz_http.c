// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Raw bytes as one HTTP connection to the real web API: the httpd runs in this process, in
 * spind's loop, on 127.0.0.1 with Basic auth, a web root with a symlink out of it and a dot-file,
 * a node cache and policy lists (no kernel: user/nokernel.c answers for it, so the capture and
 * status routes run their kernel branches). Per input: connect, send, half-close, run the loop
 * until the server closes (or an event stream's headers arrive), close.
 *
 * Invariants besides "no crash, leak or undefined behaviour":
 *  - every answer starts with "HTTP/1.<d> <3 digits> ";
 *  - no answer carries the canary of the file outside the web root (reached through traversal
 *    or the symlink) or of the dot-file inside it, unless the input itself holds the text;
 *  - the policy lists change only when the input has the right Basic credentials, a JSON
 *    Content-Type, and no foreign Origin in the requests that could have done it.
 * The last check reads the request bytes with a deliberately lenient parser: it only flags what
 * no reading of the bytes could allow.
 */
// fuzz-sources: user/httpd.c user/authcache.c user/ratelimit.c user/bytequeue.c user/stats.c user/events.c user/dns.c user/neigh.c user/names.c user/capture.c user/copies.c user/rpc.c user/nodes.c user/policy.c user/traffic.c user/lan.c user/log.c user/nokernel.c user/devcap.c user/netif.c user/mqtt.c user/loop.c user/bus.c user/config.c user/statefile.c user/utf8.c
// fuzz-options: -max_len=8192 -dict=tests/fuzz/corpus/http.dict
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "bus.h"
#include "config.h"
#include "httpd.h"
#include "lan.h"
#include "log.h"
#include "loop.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"
#include "traffic.h"

#define ANSWER_MAX  (1024 * 1024)
#define TICK_MS	    1
#define DEADLINE_MS 2000 /* a server still sending after this long is a finding */
#define USER	    "fuzz"
#define PASS	    "secret"
/*
 * base64("fuzz:secret") is "ZnV6ejpzZWNyZXQ="; the last digit before '=' carries 2 spare bits,
 * so Q, R, S and T all decode to the same credentials.
 */
#define CRED_B64_STEM "ZnV6ejpzZWNyZX"

static const char canary_out[] = "CANARY-outside-the-web-root-5c1d";
static const char canary_dot[] = "CANARY-dot-file-in-the-web-root-9e42";

static char tmpdir[] = "/tmp/spin-fuzz-http.XXXXXX";
static struct sockaddr_in server;

struct answer {
	char *buf;
	size_t len;
	size_t seen; /* len at the last tick */
	unsigned int ticks;
	bool eof, stream, deadline, half_closed;
};

static struct answer ans;
static int verbose; /* FUZZ_HTTP_VERBOSE=1: a line per input, 2: the whole answer */

/* --- setup --- */

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

static void make_tree(void)
{
	char path[256], line[256];
	struct crypt_data cd = {};
	const char *hash;

	if (!mkdtemp(tmpdir))
		abort();
	snprintf(path, sizeof(path), "%s/www", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/www/sub", tmpdir);
	mkdir(path, 0755);
	write_file("secret.txt", canary_out);
	write_file("www/.hidden", canary_dot);
	write_file("www/index.html", "<!doctype html><title>SPIN</title>");
	write_file("www/app.js", "console.log(1);");
	write_file("www/sub/page.html", "<p>sub</p>");
	snprintf(path, sizeof(path), "%s/www/link.txt", tmpdir);
	if (symlink("../secret.txt", path))
		abort();
	snprintf(path, sizeof(path), "%s/www/sub/up", tmpdir);
	if (symlink("../..", path))
		abort();
	/* A cheap hash: every authenticated request pays for it. */
	hash = crypt_r(PASS, "$5$rounds=1000$fuzzsalt$", &cd);
	if (!hash || hash[0] == '*')
		abort();
	snprintf(line, sizeof(line), "# fuzz\n%s:%s\n", USER, hash);
	write_file("passwd", line);
}

static void cleanup(void)
{
	static const char *const files[] = {
		"www/sub/up",	  "www/sub/page.html", "www/link.txt", "www/app.js",
		"www/index.html", "www/.hidden",       "secret.txt",   "passwd"};
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/www/sub", tmpdir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/www", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
}

static void add_nodes(void)
{
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0x10};
	struct spin_addr a;
	struct node *n;

	nodes_addr_parse("192.0.2.10", &a);
	n = nodes_set_mac(&a, mac, time(NULL));
	if (!n)
		abort();
	nodes_set_name(node_id(n), "thermo");
	nodes_addr_parse("203.0.113.10", &a);
	nodes_get_ip(&a, time(NULL));
	nodes_addr_parse("2001:db8::53", &a);
	nodes_add_domain(&a, "dns.example.", time(NULL));
}

/* As spind does: list changes go to the bus, so live event-stream messages are formatted. */
static void on_list_changed(enum policy_list l, void *ctx)
{
	cJSON *env = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(env, "command", policy_list_name(l));
	cJSON_AddItemToObject(env, "result", policy_list_json(l));
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (s)
		bus_publish(bus_traffic_topic(), s, false);
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct policy_ops po = {.list_changed = on_list_changed};
	struct traffic_ops to = {};
	struct httpd_stats st;
	struct spin_config cfg;
	struct httpd_opts o = {
		.cfg = &cfg,
		.kernel = true,
		.limits = {.max_body = 4096,
			   .timeout_s = 5,
			   .rate_per_s = 1000000,
			   .rate_burst = 1000000,
			   .rate_loopback = true,
			   /* A suspended event stream notices its client left only when a
			    * keepalive wakes it: often, or they hold the per-address slots. */
			   .sse_keepalive_ms = 20},
	};

	signal(SIGPIPE, SIG_IGN);
	verbose = atoi(getenv("FUZZ_HTTP_VERBOSE") ? getenv("FUZZ_HTTP_VERBOSE") : "0");
	log_init("fuzz_http", false, LOG_LVL_ERR, NULL);
	make_tree();
	atexit(cleanup);
	config_defaults(&cfg);
	snprintf(cfg.web_root, sizeof(cfg.web_root), "%s/www", tmpdir);
	snprintf(cfg.spinweb_password_file, sizeof(cfg.spinweb_password_file), "%s/passwd", tmpdir);
	snprintf(cfg.spinweb_interfaces, sizeof(cfg.spinweb_interfaces), "127.0.0.1");
	cfg.spinweb_port = 0;
	if (loop_init() || bus_init(NULL) || nodes_init(&(struct nodes_ops){}, 0, 1024) ||
	    policy_init(NULL, false, &po) || traffic_init(&to, false) || lan_init(&cfg, NULL) ||
	    rpc_init(NULL, true))
		abort();
	add_nodes();
	if (httpd_start(&o))
		abort();
	httpd_get_stats(&st);
	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server.sin_port = htons(st.port);
	ans.buf = malloc(ANSWER_MAX);
	if (!ans.buf)
		abort();
	return 0;
}

/* --- one exchange --- */

static void on_client(int fd, uint32_t events, void *ctx)
{
	for (;;) {
		ssize_t n = recv(fd, ans.buf + ans.len, ANSWER_MAX - ans.len, 0);

		if (n > 0) {
			ans.len += (size_t)n;
			if (ans.len < ANSWER_MAX)
				continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else if (n < 0 && errno == EINTR) {
			continue;
		}
		ans.eof = true; /* closed, reset or more than we keep */
		loop_stop();
		return;
	}
	/* An event stream never ends: its status line and headers are the answer. */
	if (memmem(ans.buf, ans.len, "\r\n\r\n", 4) &&
	    memmem(ans.buf, ans.len, "text/event-stream", 17)) {
		ans.stream = true;
		loop_stop();
	}
}

/*
 * The server runs in this thread and loopback delivers at once, so a tick without new bytes
 * means it has said all it will for now: then we half-close (MHD closes a half-closed
 * connection only after answering what it has, so pipelined requests are sent before the FIN),
 * and the next quiet tick ends the exchange (a keep-alive connection may stay open).
 */
static void on_tick(void *ctx)
{
	int fd = *(int *)ctx;

	if (++ans.ticks >= DEADLINE_MS / TICK_MS) {
		ans.deadline = true;
		loop_stop();
	} else if (ans.len != ans.seen) {
		ans.seen = ans.len;
	} else if (!ans.half_closed) {
		shutdown(fd, SHUT_WR);
		ans.half_closed = true;
	} else {
		loop_stop();
	}
}

static void on_settled(void *ctx)
{
	loop_stop();
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * libFuzzer's timeout watchdog is a SIGALRM without SA_RESTART: a connect() it interrupts
 * goes on in the background, so wait for that instead of calling it a dead listener.
 */
static int connect_server(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int err = 0;

	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

static void exchange(const uint8_t *data, size_t size)
{
	struct loop_watch *w;
	struct loop_timer *t;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ans.len = ans.seen = 0;
	ans.ticks = 0;
	ans.eof = ans.stream = ans.deadline = ans.half_closed = false;
	if (fd < 0 || connect_server(fd) < 0) {
		fprintf(stderr, "fuzz_http: cannot connect to the web API: %s\n", strerror(errno));
		abort(); /* the listener is gone: a finding in itself */
	}
	/* Inputs are at most -max_len bytes: they fit in the socket buffers unread. */
	send_all(fd, data, size);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	w = loop_watch_fd(fd, EPOLLIN, on_client, NULL);
	t = loop_timer_add(TICK_MS, on_tick, &fd);
	if (!w || !t)
		abort();
	loop_run();
	loop_unwatch(w);
	loop_timer_del(t);
	close(fd);
	/* Let the server see the close (and finish what it had) before the state is compared. */
	t = loop_timer_once(TICK_MS, on_settled, NULL);
	if (!t)
		abort();
	loop_run();
	loop_timer_del(t);
}

/* --- invariants --- */

static void fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "INVARIANT: %s\n--- answer (%zu bytes) ---\n%.*s\n---\n", what, ans.len,
		(int)(ans.len < 2048 ? ans.len : 2048), ans.buf);
	abort();
}

static void check_status_line(const uint8_t *data, size_t size)
{
	const char *b = ans.buf;

	if (!ans.len)
		return; /* nothing complete to answer */
	if (ans.len < 13 || memcmp(b, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)b[7]) ||
	    b[8] != ' ' || !isdigit((unsigned char)b[9]) || !isdigit((unsigned char)b[10]) ||
	    !isdigit((unsigned char)b[11]) || b[12] != ' ')
		fail("the answer does not start with \"HTTP/1.x NNN \"", data, size);
	if (b[9] < '1' || b[9] > '5')
		fail("status code outside 100..599", data, size);
}

static void check_canaries(const uint8_t *data, size_t size)
{
	static const char *const canaries[] = {canary_out, canary_dot};

	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(canaries[i]);

		/* A server that echoes the request may repeat what the input holds. */
		if (memmem(ans.buf, ans.len, canaries[i], n) && !memmem(data, size, canaries[i], n))
			fail(i ? "the dot-file's content was served"
			       : "a file outside the web root was served",
			     data, size);
	}
}

/* Every list and the flow blocks, as text. */
static char *policy_snapshot(void)
{
	cJSON *all = cJSON_CreateArray();
	char *s;

	for (int l = 0; l < POLICY_NLISTS; l++)
		cJSON_AddItemToArray(all, policy_list_json(l));
	cJSON_AddItemToArray(all, policy_flow_blocks_json());
	s = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	if (!s)
		abort();
	return s;
}

/* What a lenient reading of the request bytes allows. */
struct scan {
	bool json_type; /* a Content-Type line says application/json */
	bool folded;	/* a line starts with blank: obsolete header folding */
	bool pipelined; /* after the first header block, something that may be a request */
	int origins, foreign_origins; /* in the first header block */
	char hosts[8][256];
	int n_hosts;
};

/* "name [blanks] : [blanks] value [blanks]": the value, or NULL when the line is not that. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name), i;

	if (len < n || strncasecmp(line, name, n) != 0)
		return NULL;
	for (i = n; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len || line[i] != ':')
		return NULL;
	for (i++; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*vlen = len - i;
	return line + i;
}

static bool is_header_line(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] != ':' && line[i] != ' ' && line[i] != '\t')
		i++;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

static void scan_line(struct scan *s, const char *line, size_t len)
{
	static const char json[] = "application/json";
	const char *v;
	size_t vl;

	if (!len)
		return;
	if (line[0] == ' ' || line[0] == '\t') {
		s->folded = true;
		return;
	}
	if (!is_header_line(line, len))
		return;
	if ((v = header_value(line, len, "content-type", &vl))) {
		size_t n = sizeof(json) - 1, i = n;

		if (vl >= n && strncasecmp(v, json, n) == 0) {
			while (i < vl && (v[i] == ' ' || v[i] == '\t'))
				i++;
			if (i == vl || v[i] == ';')
				s->json_type = true;
		}
	} else if ((v = header_value(line, len, "host", &vl))) {
		if (s->n_hosts < 8 && vl < sizeof(s->hosts[0])) {
			memcpy(s->hosts[s->n_hosts], v, vl);
			s->hosts[s->n_hosts++][vl] = '\0';
		}
	}
}

static bool origin_foreign(const struct scan *s, const char *v, size_t vl)
{
	char own[300];

	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (int i = 0; i < s->n_hosts; i++) {
		int n = snprintf(own, sizeof(own), "http://%s", s->hosts[i]);

		if ((size_t)n == vl && strncasecmp(own, v, vl) == 0)
			return false;
	}
	return true;
}

/*
 * Each pass splits lines the way that flags least: for the headers that allow a change
 * (Content-Type, Host) at CR, LF or NUL, which finds more of them than the server does; for
 * Origin, which forbids one, only at LF (a bare CR stays inside a value), with the name right
 * before the colon and the value cut at a NUL, as the server's string compare sees it, and
 * only in the first request's header block: a later request may carry none.
 */
static void scan_request(const uint8_t *data, size_t size, struct scan *s)
{
	const char *end = (const char *)data + size;

	memset(s, 0, sizeof(*s));
	for (int pass = 0; pass < 2; pass++) {
		for (const char *l = (const char *)data; l < end;) {
			const char *e = l, *v;
			size_t vl;

			while (e < end && *e != '\n' && (pass || (*e != '\r' && *e != '\0')))
				e++;
			/* a line that starts with CR or NUL may end the headers (a C string) */
			if (pass == 1 && (e == l || *l == '\r' || *l == '\0')) {
				s->pipelined = e < end && memmem(e, (size_t)(end - e), "HTTP/", 5);
				break;
			}
			if (pass == 0) {
				scan_line(s, l, (size_t)(e - l));
			} else if (e - l > 7 && strncasecmp(l, "origin:", 7) == 0 &&
				   (v = header_value(l, (size_t)(e - l), "origin", &vl))) {
				s->origins++;
				vl = strnlen(v, vl);
				if (vl && v[vl - 1] == '\r')
					vl--;
				s->foreign_origins += origin_foreign(s, v, vl);
			}
			l = e + 1;
		}
	}
}

static bool contains_nocase(const uint8_t *data, size_t size, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= size; i++)
		if (strncasecmp((const char *)data + i, needle, n) == 0)
			return true;
	return false;
}

static bool has_credentials(const uint8_t *data, size_t size)
{
	const size_t n = sizeof(CRED_B64_STEM) - 1;
	const uint8_t *p = data, *end = data + size;

	while ((p = memmem(p, (size_t)(end - p), CRED_B64_STEM, n)) && p + n < end) {
		if (p[n] >= 'Q' && p[n] <= 'T')
			return true;
		p++;
	}
	return false;
}

static void check_policy(const char *before, const char *after, const uint8_t *data, size_t size)
{
	struct scan s;

	if (strcmp(before, after) == 0)
		return;
	scan_request(data, size, &s);
	if (!has_credentials(data, size))
		fail("the policy changed without the Basic credentials", data, size);
	if (!s.json_type && !(s.folded && contains_nocase(data, size, "application/json")))
		fail("the policy changed without Content-Type: application/json", data, size);
	/* One request, and every Origin it carries is foreign. */
	if (!s.folded && !s.pipelined && s.origins && s.foreign_origins == s.origins)
		fail("the policy changed on a request with a foreign Origin", data, size);
}

/* Back to empty lists, so that each input starts from the same policy. */
static void policy_reset(void)
{
	for (int l = 0; l < POLICY_NLISTS; l++)
		policy_set_list(l, NULL, 0);
}

static size_t first_line_len(void)
{
	const char *eol = memchr(ans.buf, '\r', ans.len);

	return eol ? (size_t)(eol - ans.buf) : ans.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *before = policy_snapshot(), *after;

	exchange(data, size);
	after = policy_snapshot();
	if (verbose)
		fprintf(stderr, "fuzz_http: %zu bytes in, %zu out%s%s%s%s: %.*s\n", size, ans.len,
			ans.eof ? ", closed" : "", ans.stream ? ", event stream" : "",
			ans.deadline ? ", DEADLINE" : "",
			strcmp(before, after) ? ", policy changed" : "",
			(int)(verbose > 1 ? ans.len : first_line_len()), ans.buf);
	check_status_line(data, size);
	check_canaries(data, size);
	check_policy(before, after, data, size);
	if (strcmp(before, after) != 0)
		policy_reset();
	free(before);
	free(after);
	return 0;
}
