// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The web API in-process, without a kernel: spind's loop runs in a second thread with the
 * httpd, the node cache and the policy lists (kernel=false), and this thread speaks raw HTTP to
 * it over 127.0.0.1 (and curl for TLS). Static files, traversal tricks, methods, CSRF rules,
 * body limits, the event stream (replay, live, clearing, keepalive, slow client), status,
 * metrics, Basic auth, TLS and the rate limit.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>

#include "bus.h"
#include "check.h"
#include "config.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"

extern char **environ;

static char tmpdir[] = "/tmp/spin-test-httpd.XXXXXX";
static char root[128];
static uint16_t port;
static pthread_t loop_thread;

/* ---- running things inside the loop thread ---- */

static pthread_mutex_t mb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mb_cond = PTHREAD_COND_INITIALIZER;
static void (*mb_fn)(void *);
static void *mb_arg;

static void on_mailbox(void *ctx)
{
	pthread_mutex_lock(&mb_lock);
	if (mb_fn) {
		mb_fn(mb_arg);
		mb_fn = NULL;
		pthread_cond_broadcast(&mb_cond);
	}
	pthread_mutex_unlock(&mb_lock);
}

/* Runs fn(arg) in the loop thread and waits for it. */
static void in_loop(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&mb_lock);
	mb_fn = fn;
	mb_arg = arg;
	while (mb_fn)
		pthread_cond_wait(&mb_cond, &mb_lock);
	pthread_mutex_unlock(&mb_lock);
}

static void *loop_main(void *arg)
{
	loop_run();
	return NULL;
}

static void do_stop(void *arg)
{
	loop_stop();
}

struct pub {
	const char *topic, *payload;
	bool retain;
};

static void do_publish(void *arg)
{
	struct pub *p = arg;

	bus_publish(p->topic, p->payload, p->retain);
}

static void do_stats(void *arg)
{
	httpd_get_stats(arg);
}

static void on_list_changed(enum policy_list l, void *ctx)
{
	cJSON *env = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(env, "command", policy_list_name(l));
	cJSON_AddItemToObject(env, "result", policy_list_json(l));
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	bus_publish(bus_traffic_topic(), s, false);
	free(s);
}

static int server_start(struct spin_config *cfg, const struct httpd_limits *lim)
{
	struct httpd_opts o = {.cfg = cfg};
	struct httpd_stats st;
	int err;

	if (lim)
		o.limits = *lim;
	cfg->spinweb_port = 0;
	err = httpd_start(&o);
	if (err)
		return err;
	httpd_get_stats(&st);
	port = st.port;
	return pthread_create(&loop_thread, NULL, loop_main, NULL) ? -EAGAIN : 0;
}

static void server_stop(void)
{
	in_loop(do_stop, NULL);
	pthread_join(loop_thread, NULL);
	httpd_stop();
}

/* ---- a raw HTTP client ---- */

struct resp {
	int status;
	char head[8192];
	char *body;
	size_t len;
};

static int connect_port(int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* Sends raw request bytes, reads until the server closes (requests say Connection: close). */
static int http_raw(const char *req, size_t len, struct resp *r)
{
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap + 1), *sep;
	int fd = connect_port(0);
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (send_all(fd, req, len) == 0) {
		while ((n = recv(fd, buf + got, cap - got, 0)) > 0) {
			got += (size_t)n;
			if (got == cap) {
				cap *= 2;
				buf = realloc(buf, cap + 1);
			}
		}
	}
	close(fd);
	buf[got] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0 || !sep) {
		free(buf);
		return -1;
	}
	r->status = atoi(buf + 9);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->len = got - (size_t)(sep + 4 - buf);
	r->body = malloc(r->len + 1);
	memcpy(r->body, sep + 4, r->len);
	r->body[r->len] = '\0';
	free(buf);
	return 0;
}

/* A request with this Host header (NULL: none, as HTTP/1.0 allows). */
static int http_host(const char *method, const char *path, const char *host, const char *extra,
		     const char *body, struct resp *r)
{
	char *req = NULL, hosthdr[512] = "";
	int n, ret;

	if (host)
		snprintf(hosthdr, sizeof(hosthdr), "Host: %s\r\n", host);
	n = asprintf(&req,
		     "%s %s HTTP/1.%d\r\n%sConnection: close\r\n%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, path, host ? 1 : 0, hosthdr, extra ? extra : "",
		     body ? strlen(body) : 0, body ? body : "");
	if (n < 0)
		return -1;
	ret = http_raw(req, (size_t)n, r);
	free(req);
	return ret;
}

static int http(const char *method, const char *path, const char *extra, const char *body,
		struct resp *r)
{
	char host[64];

	snprintf(host, sizeof(host), "127.0.0.1:%u", port);
	return http_host(method, path, host, extra, body, r);
}

static const char *header(const struct resp *r, const char *name, char *out, size_t len)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	p = strcasestr(r->head, key);
	if (!p)
		return NULL;
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\r"), p);
	return out;
}

#define JSON_CT "Content-Type: application/json\r\n"

/* An RPC call through HTTP; the parsed answer (caller frees) or NULL. */
static cJSON *rpc(const char *method, const char *params, int *status)
{
	char body[4096];
	struct resp r;
	cJSON *j = NULL;

	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}", method,
		 params ? ",\"params\":" : "", params ? params : "");
	if (http("POST", "/spin_api/jsonrpc", JSON_CT, body, &r) == 0)
		j = cJSON_Parse(r.body);
	if (status)
		*status = r.status;
	resp_free(&r);
	return j;
}

/* ---- fixtures ---- */

static void write_file(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void make_tree(void)
{
	char a[1024], b[1024];

	snprintf(root, sizeof(root), "%s/web", tmpdir);
	mkdir(root, 0755);
	snprintf(a, sizeof(a), "%s/sub", root);
	mkdir(a, 0755);
	write_file("web/index.html", "<!doctype html><title>SPIN</title>");
	write_file("web/app.js", "console.log(1);");
	write_file("web/style.css", "body{}");
	write_file("web/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
	write_file("web/data.json", "{}");
	write_file("web/blob.xyz", "?");
	write_file("web/.htpasswd", "secret");
	write_file("web/sub/page.html", "<p>sub</p>");
	snprintf(a, sizeof(a), "%s/.hid", root);
	mkdir(a, 0755);
	write_file("web/.hid/x.txt", "hidden");
	snprintf(a, sizeof(a), "%s/sub/.git", root);
	mkdir(a, 0755);
	write_file("web/sub/.git/config", "hidden");
	write_file("secret.txt", "TOP-SECRET");
	snprintf(a, sizeof(a), "%s/secret.txt", tmpdir);
	snprintf(b, sizeof(b), "%s/link.txt", root);
	if (symlink(a, b))
		perror("symlink");
	snprintf(a, sizeof(a), "%s/web/app.js", tmpdir);
	snprintf(b, sizeof(b), "%s/inside.js", root);
	if (symlink(a, b))
		perror("symlink");
}

/* ---- static files ---- */

static void check_static(const char *path, int status, const char *type, const char *body)
{
	char name[256], v[256];
	struct resp r;

	http("GET", path, NULL, NULL, &r);
	snprintf(name, sizeof(name), "GET %s is %d", path, status);
	CHECK_INT(r.status, status, name);
	if (type) {
		snprintf(name, sizeof(name), "GET %s Content-Type", path);
		CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), type, name);
		snprintf(name, sizeof(name), "GET %s has nosniff", path);
		CHECK_STR(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff", name);
	}
	if (body) {
		snprintf(name, sizeof(name), "GET %s body", path);
		CHECK_STR(r.body, body, name);
	}
	if (status != 200) {
		snprintf(name, sizeof(name), "GET %s does not leak the secret", path);
		CHECK(!r.body || !strstr(r.body, "TOP-SECRET"), name);
	}
	resp_free(&r);
}

static void test_static(void)
{
	char v[256];
	struct resp r;

	check_static("/", 200, "text/html; charset=utf-8", "<!doctype html><title>SPIN</title>");
	check_static("/index.html", 200, "text/html; charset=utf-8", NULL);
	check_static("/app.js", 200, "text/javascript; charset=utf-8", "console.log(1);");
	check_static("/style.css", 200, "text/css; charset=utf-8", NULL);
	check_static("/logo.svg", 200, "image/svg+xml", NULL);
	check_static("/data.json", 200, "application/json", NULL);
	check_static("/blob.xyz", 200, "application/octet-stream", NULL);
	check_static("/sub/page.html", 200, "text/html; charset=utf-8", NULL);
	check_static("/inside.js", 200, "text/javascript; charset=utf-8", NULL);
	check_static("/missing.html", 404, NULL, NULL);
	check_static("/sub/", 404, NULL, NULL); /* no index, no listing */
	check_static("/sub", 404, NULL, NULL);
	check_static("/.htpasswd", 404, NULL, NULL);
	check_static("/.hid/x.txt", 404, NULL, NULL); /* a file in a dot-directory */
	check_static("/sub/.git/config", 404, NULL, NULL);
	check_static("/.hid/", 404, NULL, NULL);
	check_static("/link.txt", 404, NULL, NULL); /* symlink out of the root */
	check_static("/../secret.txt", 400, NULL, NULL);
	check_static("/sub/../../secret.txt", 400, NULL, NULL);
	check_static("/%2e%2e/secret.txt", 400, NULL, NULL);
	check_static("/%2E%2E/secret.txt", 400, NULL, NULL);
	check_static("/sub%2f..%2f..%2fsecret.txt", 400, NULL, NULL);
	check_static("/..%5csecret.txt", 400, NULL, NULL);
	check_static("/index.html%00.js", 400, NULL, NULL);
	check_static("/sub/..", 400, NULL, NULL);

	http("GET", "/", NULL, NULL, &r);
	CHECK(header(&r, "Content-Security-Policy", v, sizeof(v)) &&
		      strstr(v, "default-src 'self'"),
	      "static files carry a Content-Security-Policy with default-src 'self'");
	resp_free(&r);
	http("POST", "/index.html", JSON_CT, "{}", &r);
	CHECK_INT(r.status, 405, "POST on a static file is 405");
	resp_free(&r);
	http("DELETE", "/index.html", NULL, NULL, &r);
	CHECK_INT(r.status, 405, "DELETE on a static file is 405");
	resp_free(&r);
	http("GET", "/spin_api/nothing", NULL, NULL, &r);
	CHECK_INT(r.status, 404, "an unknown API path is 404");
	resp_free(&r);
}

/* ---- JSON-RPC over HTTP: methods, CSRF, sizes ---- */

static void test_rpc_http(void)
{
	/* changes state (the ignore list), so it needs the CSRF headers */
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"add_iplist_ip\","
				   "\"params\":{\"list\":\"ignore\",\"ip\":\"192.0.2.98\"}}";
	/* only reads: answered without them (protocol.md asks them of state-changing calls) */
	static const char rbody[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list_iplist\","
				    "\"params\":{\"list\":\"block\"}}";
	char v[256], extra[256], *big;
	struct resp r;
	cJSON *j;
	int st;

	http("GET", "/spin_api/jsonrpc", NULL, NULL, &r);
	CHECK_INT(r.status, 405, "GET /spin_api/jsonrpc is 405");
	CHECK_STR(header(&r, "Allow", v, sizeof(v)), "POST", "405 names the allowed method");
	resp_free(&r);
	http("PUT", "/spin_api/jsonrpc", JSON_CT, body, &r);
	CHECK_INT(r.status, 405, "PUT /spin_api/jsonrpc is 405");
	resp_free(&r);

	http("POST", "/spin_api/jsonrpc", NULL, body, &r);
	CHECK_INT(r.status, 403, "POST without Content-Type is 403");
	CHECK(strstr(r.body, "\"code\":403") && strstr(r.body, "Content-Type"),
	      "the 403 is a JSON error naming Content-Type");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", "Content-Type: text/plain\r\n", body, &r);
	CHECK_INT(r.status, 403, "POST with text/plain is 403");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", "Content-Type: application/x-www-form-urlencoded\r\n",
	     body, &r);
	CHECK_INT(r.status, 403, "POST with a form content type is 403");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", "Content-Type: application/jsonp\r\n", body, &r);
	CHECK_INT(r.status, 403, "POST with application/jsonp is 403");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", "Content-Type: application/json; charset=utf-8\r\n", body,
	     &r);
	CHECK_INT(r.status, 200, "POST with application/json; charset=utf-8 is 200");
	CHECK_STR(r.body, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":null}",
		  "the answer is complete");
	CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "application/json",
		  "the answer is application/json");
	resp_free(&r);

	http("POST", "/spin_api/jsonrpc", JSON_CT "Origin: http://evil.example\r\n", body, &r);
	CHECK_INT(r.status, 403, "a foreign Origin is 403");
	CHECK(strstr(r.body, "Origin") != NULL, "the 403 names the Origin");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", JSON_CT "Origin: null\r\n", body, &r);
	CHECK_INT(r.status, 403, "Origin: null is 403");
	resp_free(&r);
	snprintf(extra, sizeof(extra), JSON_CT "Origin: https://127.0.0.1:%u\r\n", port);
	http("POST", "/spin_api/jsonrpc", extra, body, &r);
	CHECK_INT(r.status, 403, "the same host with another scheme is 403");
	resp_free(&r);
	snprintf(extra, sizeof(extra), JSON_CT "Origin: http://127.0.0.1:%u\r\n", port);
	http("POST", "/spin_api/jsonrpc", extra, body, &r);
	CHECK_INT(r.status, 200, "the server's own Origin is 200");
	resp_free(&r);

	/* Calls that only read need neither header: another site's page cannot read the answer. */
	http("POST", "/spin_api/jsonrpc", NULL, rbody, &r);
	CHECK_INT(r.status, 200, "a read-only call without Content-Type is 200");
	CHECK_STR(r.body, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[]}", "and answered in full");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc",
	     "Content-Type: text/plain\r\nOrigin: http://evil.example\r\n", rbody, &r);
	CHECK_INT(r.status, 200, "a read-only call with text/plain and a foreign Origin is 200");
	resp_free(&r);
	/* A second "method" member cannot pass a write off as a read. */
	http("POST", "/spin_api/jsonrpc", NULL,
	     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\",\"method\":\"add_iplist_"
	     "ip\","
	     "\"params\":{\"list\":\"block\",\"ip\":\"192.0.2.99\"}}",
	     &r);
	CHECK_INT(r.status, 403, "a duplicated method member without Content-Type is 403");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", NULL, "not json", &r);
	CHECK_INT(r.status, 403, "a body that is not JSON, without Content-Type, is 403");
	resp_free(&r);

	/* A refused request leaves state unchanged. */
	http("POST", "/spin_api/jsonrpc", "Content-Type: text/plain\r\n",
	     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add_iplist_ip\","
	     "\"params\":{\"list\":\"block\",\"ip\":\"192.0.2.99\"}}",
	     &r);
	resp_free(&r);
	j = rpc("list_iplist", "{\"list\":\"block\"}", &st);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "result")), 0,
		  "a refused add_iplist_ip changed nothing");
	cJSON_Delete(j);

	/* 413: announced by Content-Length, and streamed (chunked) past the limit. */
	{
		char req[512];
		int n = snprintf(req, sizeof(req),
				 "POST /spin_api/jsonrpc HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
				 "Connection: close\r\n" JSON_CT
				 "Content-Length: 10000000\r\n\r\n{",
				 port);

		http_raw(req, (size_t)n, &r);
		CHECK_INT(r.status, 413, "a Content-Length over the limit is 413");
		resp_free(&r);
	}
	{
		size_t chunk = 8192, total = 70 * 1024, off = 0;
		char *req = malloc(total * 2 + 4096);
		int n = sprintf(req,
				"POST /spin_api/jsonrpc HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
				"Connection: close\r\n" JSON_CT
				"Transfer-Encoding: chunked\r\n\r\n",
				port);

		for (off = 0; off < total; off += chunk) {
			n += sprintf(req + n, "%zx\r\n", chunk);
			memset(req + n, ' ', chunk);
			n += (int)chunk;
			n += sprintf(req + n, "\r\n");
		}
		n += sprintf(req + n, "0\r\n\r\n");
		http_raw(req, (size_t)n, &r);
		CHECK_INT(r.status, 413, "a chunked body over the limit is 413");
		resp_free(&r);
		free(req);
	}
	/* Just under the limit is accepted and answered (a parse error here: it is spaces). */
	big = malloc(60 * 1024 + 1);
	memset(big, ' ', 60 * 1024);
	big[60 * 1024] = '\0';
	http("POST", "/spin_api/jsonrpc", JSON_CT, big, &r);
	CHECK_INT(r.status, 200, "a 60 KiB body is accepted");
	CHECK(r.body && strstr(r.body, "-32700"), "and answered with a parse error");
	resp_free(&r);
	free(big);

	/* A big answer arrives whole: 1000 addresses on the block list. */
	{
		int bad = 0, size;
		char params[128];

		for (int i = 0; i < 1000; i++) {
			snprintf(params, sizeof(params),
				 "{\"list\":\"block\",\"ip\":\"2001:db8:ffff::%x\"}", i + 1);
			j = rpc("add_iplist_ip", params, &st);
			bad += st != 200 || !cJSON_IsNull(cJSON_GetObjectItem(j, "result"));
			cJSON_Delete(j);
		}
		CHECK_INT(bad, 0, "1000 add_iplist_ip calls succeed");
		j = rpc("list_iplist", "{\"list\":\"block\"}", &st);
		size = cJSON_GetArraySize(cJSON_GetObjectItem(j, "result"));
		CHECK_INT(size, 1000, "list_iplist returns all 1000 addresses in one answer");
		cJSON_Delete(j);
		j = rpc("reset_iplist_ignore", NULL, &st);
		cJSON_Delete(j);
	}
	j = rpc("no_such_method", NULL, &st);
	CHECK_INT(
		cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")),
		-32601, "an unknown method is -32601 over HTTP");
	cJSON_Delete(j);
}

/* ---- status and metrics ---- */

static void test_status_metrics(void)
{
	struct resp r;
	cJSON *j;

	http("GET", "/spin_api/status", NULL, NULL, &r);
	CHECK_INT(r.status, 200, "GET /spin_api/status is 200");
	j = cJSON_Parse(r.body);
	CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "version")), "status has a version");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "nodes")), 2,
		  "status counts the 2 nodes");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(j, "maps"), "block"), "used")),
		  1000, "status shows the block list's fill level");
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "mqtt")), "status has the broker connection");
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "interfaces")), "status lists interfaces");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(
		      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stats"), "dns"),
		      "addrs_refused")),
	      "status has stats.dns.addrs_refused");
	cJSON_Delete(j);
	resp_free(&r);
	http("POST", "/spin_api/status", JSON_CT, "{}", &r);
	CHECK_INT(r.status, 405, "POST /spin_api/status is 405");
	resp_free(&r);

	http("GET", "/metrics", NULL, NULL, &r);
	CHECK_INT(r.status, 200, "GET /metrics is 200");
	CHECK(strstr(r.body, "\nspin_nodes 2\n") != NULL, "metrics have spin_nodes 2");
	CHECK(strstr(r.body, "spin_policy_entries{list=\"block\"} 1000") != NULL,
	      "metrics have the list sizes");
	CHECK(strstr(r.body, "\nspin_dns_addrs_ignored_total{reason=\"refused\"} 0\n") &&
		      strstr(r.body, "\nspin_dns_addrs_ignored_total{reason=\"capped\"} 0\n"),
	      "metrics have the DNS records refused and capped");
	CHECK(strstr(r.body, "spin_device_info{mac=\"02:00:00:00:00:10\",name=\"thermo\"}") != NULL,
	      "metrics label a device by MAC and name");
	CHECK(!strstr(r.body, "192.0.2") && !strstr(r.body, "2001:db8"),
	      "metrics have no label with an address");
	resp_free(&r);
}

/* ---- DNS rebinding: the Host header ---- */

static void check_host(const char *path, const char *host, const char *extra, const char *body,
		       int status)
{
	char name[700];
	struct resp r;

	http_host(body ? "POST" : "GET", path, host, extra, body, &r);
	snprintf(name, sizeof(name), "%s %s with Host '%s' is %d", body ? "POST" : "GET", path,
		 host ? host : "(none)", status);
	CHECK_INT(r.status, status, name);
	if (status == 403) {
		snprintf(name, sizeof(name), "the 403 for Host '%s' names spinweb_hostnames", host);
		CHECK(r.body && strstr(r.body, "spinweb_hostnames"), name);
		snprintf(name, sizeof(name), "Host '%s' gets no data", host);
		CHECK(r.body && !strstr(r.body, "\"result\"") && !strstr(r.body, "thermo") &&
			      !strstr(r.body, "SPIN</title>"),
		      name);
	}
	resp_free(&r);
}

/* The status of a GET whose answer may never end (the event stream): one read, then close. */
static int first_status(const char *path, const char *host)
{
	char req[512], buf[4096];
	int fd = connect_port(0),
	    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
	ssize_t got = -1;

	if (fd < 0)
		return -1;
	if (send_all(fd, req, (size_t)n) == 0)
		got = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (got < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	buf[got] = '\0';
	return atoi(buf + 9);
}

/*
 * A page of evil.example rebound to the gateway's address sends Host: evil.example and an
 * Origin that matches it. Only this server's names are answered, on every path.
 */
static void test_host(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}";
	static const char *const foreign[] = {
		"evil.example",
		"evil.example:13226",
		"127.0.0.1.evil.example",
		"localhost.evil.example",
		"localhostx",
		"127.0.0.1:abc",
		"127.0.0.1:",
		"127.0.0.1:123456",
		"::1",
		"[::1",
		"[::1]x",
		"[evil.example]",
		"2130706433",
		"",
		"spin.home.arpa.evil.example",
	};
	char host[300], origin[400], self[256] = "", short_name[256];
	struct httpd_stats st;

	/* The rebinding page: foreign Host, matching Origin. */
	snprintf(host, sizeof(host), "evil.example:%u", port);
	snprintf(origin, sizeof(origin), JSON_CT "Origin: http://evil.example:%u\r\n", port);
	check_host("/spin_api/jsonrpc", host, origin, body, 403);
	check_host("/spin_api/jsonrpc", host, JSON_CT, body, 403);
	check_host("/spin_api/status", host, NULL, NULL, 403);
	check_host("/metrics", host, NULL, NULL, 403);
	CHECK_INT(first_status("/spin_api/events", host), 403,
		  "GET /spin_api/events with Host 'evil.example' is 403");
	check_host("/spin_api/capture_stop?device=02:00:00:00:00:10", host, NULL, NULL, 403);
	check_host("/", host, NULL, NULL, 403);
	check_host("/app.js", host, NULL, NULL, 403);
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		check_host("/spin_api/status", foreign[i], NULL, NULL, 403);
	in_loop(do_stats, &st);
	CHECK(st.host_rejected >= 7 + sizeof(foreign) / sizeof(foreign[0]),
	      "refused Host headers are counted");

	/* This server's names: addresses, localhost, the machine's name, spinweb_hostnames. */
	snprintf(host, sizeof(host), "127.0.0.1:%u", port);
	snprintf(origin, sizeof(origin), JSON_CT "Origin: http://127.0.0.1:%u\r\n", port);
	check_host("/spin_api/jsonrpc", host, origin, body, 200);
	check_host("/spin_api/status", "127.0.0.1", NULL, NULL, 200);
	check_host("/spin_api/status", "192.0.2.1:8080", NULL, NULL, 200); /* NAT, port forward */
	check_host("/spin_api/status", "[::1]:13026", NULL, NULL, 200);
	check_host("/spin_api/status", "[2001:db8::1]", NULL, NULL, 200);
	check_host("/", "localhost", NULL, NULL, 200);
	snprintf(host, sizeof(host), "LocalHost:%u", port);
	snprintf(origin, sizeof(origin), JSON_CT "Origin: http://LocalHost:%u\r\n", port);
	check_host("/spin_api/jsonrpc", host, origin, body, 200);
	check_host("/spin_api/status", "spin.home.arpa", NULL, NULL, 200);
	check_host("/spin_api/status", "SPIN.Home.Arpa.:443", NULL, NULL, 200);
	check_host("/spin_api/status", "gw.example", NULL, NULL, 200);
	check_host("/spin_api/status", NULL, NULL, NULL, 200); /* HTTP/1.0, no Host: no browser */
	if (gethostname(self, sizeof(self) - 1) == 0 && self[0]) {
		snprintf(short_name, sizeof(short_name), "%.*s", (int)strcspn(self, "."), self);
		check_host("/spin_api/status", self, NULL, NULL, 200);
		if (strcmp(short_name, self) != 0)
			check_host("/spin_api/status", short_name, NULL, NULL, 200);
		snprintf(host, sizeof(host), "%s.local:%u", short_name, port);
		check_host("/spin_api/status", host, NULL, NULL, 200);
	}
}

/* ---- the event stream ---- */

struct sse {
	int fd;
	char *buf; /* de-chunked body */
	size_t len, cap;
	char raw[65536];
	size_t rlen;
	bool in_body;
};

static int sse_open(struct sse *s, int rcvbuf)
{
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "GET /spin_api/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", port);

	memset(s, 0, sizeof(*s));
	s->fd = connect_port(rcvbuf);
	s->cap = 65536;
	s->buf = calloc(1, s->cap + 1);
	return s->fd < 0 ? -1 : send_all(s->fd, req, (size_t)n);
}

/* Moves complete chunks from raw to buf. */
static void sse_dechunk(struct sse *s)
{
	for (;;) {
		char *end;
		size_t size, hdr;

		if (!s->in_body) {
			char *sep = memmem(s->raw, s->rlen, "\r\n\r\n", 4);

			if (!sep)
				return;
			hdr = (size_t)(sep + 4 - s->raw);
			memmove(s->raw, s->raw + hdr, s->rlen - hdr);
			s->rlen -= hdr;
			s->in_body = true;
		}
		end = memmem(s->raw, s->rlen, "\r\n", 2);
		if (!end)
			return;
		size = strtoul(s->raw, NULL, 16);
		hdr = (size_t)(end + 2 - s->raw);
		if (s->rlen < hdr + size + 2)
			return;
		while (s->len + size > s->cap) {
			s->cap *= 2;
			s->buf = realloc(s->buf, s->cap + 1);
		}
		memcpy(s->buf + s->len, s->raw + hdr, size);
		s->len += size;
		s->buf[s->len] = '\0';
		memmove(s->raw, s->raw + hdr + size + 2, s->rlen - hdr - size - 2);
		s->rlen -= hdr + size + 2;
	}
}

/* Reads until the de-chunked stream contains want (or 5 s pass). */
static bool sse_wait(struct sse *s, const char *want)
{
	time_t end = time(NULL) + 5;

	while (!strstr(s->buf, want) && time(NULL) < end) {
		ssize_t n = recv(s->fd, s->raw + s->rlen, sizeof(s->raw) - s->rlen, 0);

		if (n <= 0)
			return false;
		s->rlen += (size_t)n;
		sse_dechunk(s);
	}
	return strstr(s->buf, want) != NULL;
}

static void sse_close(struct sse *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
}

static void test_events(void)
{
	struct pub live = {"SPIN/traffic/node/99",
			   "{\"command\":\"nodeInfo\",\"result\":{\"id\":99}}", true};
	struct pub clear = {"SPIN/traffic/node/99", "", true};
	struct httpd_stats st;
	struct sse s;
	char *big;
	cJSON *j;

	{ /* HEAD: the headers, no stream (it was one: a client that could never read a byte) */
		struct httpd_stats before, after;
		struct resp r;
		char ct[64];

		httpd_get_stats(&before);
		CHECK_INT(http("HEAD", "/spin_api/events", NULL, NULL, &r), 0,
			  "HEAD /spin_api/events answers");
		CHECK_INT(r.status, 200, "HEAD /spin_api/events is 200");
		CHECK_STR(header(&r, "Content-Type", ct, sizeof(ct)), "text/event-stream",
			  "HEAD /spin_api/events says text/event-stream");
		CHECK_INT((long)r.len, 0, "HEAD /spin_api/events has no body");
		free(r.body);
		httpd_get_stats(&after);
		CHECK_INT((long)(after.sse_connects - before.sse_connects), 0,
			  "HEAD /spin_api/events opens no event stream");
	}
	CHECK_INT(sse_open(&s, 0), 0, "event stream: connect");
	CHECK(sse_wait(&s, "data: {\"topic\":\"SPIN/traffic/node/1\",\"retain\":true,\"payload\":"
			   "{\"command\":\"nodeInfo\",\"result\":{\"id\":1,"),
	      "event stream: replays node 1's nodeInfo on connect");
	CHECK(sse_wait(&s, "\"payload\":{\"command\":\"block\",\"result\":[\"2001:db8:ffff::1\""),
	      "event stream: replays the block list");
	CHECK(sse_wait(&s, "\"payload\":{\"command\":\"ignore\",\"result\":"),
	      "event stream: replays the ignore list");
	CHECK(strstr(s.buf, "HTTP/") == NULL && !strstr(s.buf, "\n\n\n"),
	      "event stream: messages are framed by one blank line");

	in_loop(do_publish, &live);
	CHECK(sse_wait(&s, "data: {\"topic\":\"SPIN/traffic/node/99\",\"retain\":true,\"payload\":"
			   "{\"command\":\"nodeInfo\",\"result\":{\"id\":99}}}\n\n"),
	      "event stream: a live message arrives");
	in_loop(do_publish, &clear);
	CHECK(sse_wait(&s, "data: {\"topic\":\"SPIN/traffic/node/99\",\"retain\":true,"
			   "\"payload\":null}\n\n"),
	      "event stream: a clearing (empty) payload arrives as null");
	j = rpc("add_iplist_ip", "{\"list\":\"allow\",\"ip\":\"198.51.100.7\"}", NULL);
	CHECK(j != NULL, "add to the allow list over HTTP");
	cJSON_Delete(j);
	CHECK(sse_wait(&s, "\"payload\":{\"command\":\"allow\",\"result\":[\"198.51.100.7\"]}"),
	      "event stream: the allow list change arrives");
	CHECK(sse_wait(&s, ": keepalive\n\n"), "event stream: keepalive comment");
	sse_close(&s);

	/* A client that reads nothing is dropped once its queue overflows; spind goes on. */
	CHECK_INT(sse_open(&s, 4096), 0, "slow event client: connect");
	usleep(200 * 1000);
	{
		static const char pre[] = "{\"command\":\"traffic\",\"result\":\"";
		size_t np = sizeof(pre) - 1, nx = 64 * 1024;

		big = malloc(np + nx + 3);
		memcpy(big, pre, np);
		memset(big + np, 'x', nx);
		strcpy(big + np + nx, "\"}");
	}
	for (int i = 0; i < 200; i++) {
		struct pub p = {"SPIN/traffic", big, false};

		in_loop(do_publish, &p);
		in_loop(do_stats, &st);
		if (st.sse_slow_drops)
			break;
	}
	free(big);
	in_loop(do_stats, &st);
	CHECK_INT(st.sse_slow_drops, 1, "slow event client: disconnected (counted)");
	sse_close(&s);
	{
		struct resp r;

		http("GET", "/spin_api/status", NULL, NULL, &r);
		CHECK_INT(r.status, 200, "the server still answers after dropping a slow client");
		resp_free(&r);
	}
}

/* ---- auth and TLS ---- */

static int run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0)
		waitpid(pid, &st, 0);
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 65536);

	if (f) {
		if (!fread(s, 1, 65535, f))
			s[0] = '\0';
		fclose(f);
	}
	return s;
}

/* curl's HTTP status for a URL (-k is not used: the test's own CA file is). */
static int curl_status(const char *url, const char *user, const char *cafile, const char *extra)
{
	char out[600], *code;
	char *argv[16];
	int a = 0, status;

	snprintf(out, sizeof(out), "%s/curl.out", tmpdir);
	argv[a++] = "curl";
	argv[a++] = "-s";
	argv[a++] = "-o";
	argv[a++] = "/dev/null";
	argv[a++] = "-w";
	argv[a++] = "%{http_code}";
	argv[a++] = "--max-time";
	argv[a++] = "5";
	if (cafile) {
		argv[a++] = "--cacert";
		argv[a++] = (char *)cafile;
	}
	if (user) {
		argv[a++] = "-u";
		argv[a++] = (char *)user;
	}
	if (extra) {
		argv[a++] = "-H";
		argv[a++] = (char *)extra;
	}
	argv[a++] = (char *)url;
	argv[a] = NULL;
	run(argv, out);
	code = slurp(out);
	status = atoi(code);
	free(code);
	return status;
}

/*
 * A password file spind must refuse at start: httpd_start fails with err and the log says
 * what is wrong, naming want. len: the file's bytes (NULs allowed); path NULL: tmpdir/badpw.
 */
static void pw_refused(struct spin_config *cfg, const char *path, const char *text, size_t len,
		       int err, const char *want, const char *name)
{
	char file[200], logf[200], log[2048] = "";
	FILE *f;
	size_t n = 0;

	snprintf(file, sizeof(file), "%s/badpw", tmpdir);
	if (!path) {
		f = fopen(file, "w");
		if (f) {
			fwrite(text, 1, len, f);
			fclose(f);
		}
		path = file;
	}
	snprintf(logf, sizeof(logf), "%s/pw.log", tmpdir);
	unlink(logf);
	log_init("test_httpd", false, LOG_LVL_WARN, logf);
	snprintf(cfg->spinweb_password_file, sizeof(cfg->spinweb_password_file), "%s", path);
	CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), err, name);
	cfg->spinweb_password_file[0] = '\0';
	log_close();
	log_init("test_httpd", false, LOG_LVL_WARN, NULL);
	f = fopen(logf, "r");
	if (f) {
		n = fread(log, 1, sizeof(log) - 1, f);
		fclose(f);
	}
	log[n] = '\0';
	if (!CHECK(strstr(log, want) != NULL, name))
		printf("# log: %s# wanted: %s\n", log, want);
}

static void test_bad_password_files(struct spin_config *cfg, const char *hash)
{
	static const char nul[] = "admin:$6$abc\0def\n";
	char text[512];

	pw_refused(cfg, NULL, "admin:$6$\n", 10, -EINVAL,
		   "badpw:1: user admin: not a complete hash crypt(3) can check",
		   "admin:$6$ is refused");
	pw_refused(cfg, NULL, "admin:$6$testsalt$\n", 19, -EINVAL,
		   "badpw:1: user admin: not a complete hash crypt(3) can check",
		   "a hash with a salt and nothing after it is refused");
	snprintf(text, sizeof(text), "# ok\nadmin:%s\nbob:$6$testsalt$abc\n", hash);
	pw_refused(cfg, NULL, text, strlen(text), -EINVAL,
		   "badpw:3: user bob: not a complete hash crypt(3) can check",
		   "a cut-short hash is refused");
	snprintf(text, sizeof(text), "admin:%s!\n", hash);
	pw_refused(cfg, NULL, text, strlen(text), -EINVAL,
		   "badpw:1: user admin: not a complete hash crypt(3) can check",
		   "a hash with a byte outside crypt's alphabet is refused");
	pw_refused(cfg, NULL, "admin:$9$salt$abcdef\n", 21, -EINVAL,
		   "badpw:1: user admin: not a complete hash crypt(3) can check",
		   "a hash of an unknown method is refused");
	pw_refused(cfg, NULL, nul, sizeof(nul) - 1, -EINVAL, "badpw:1: contains a NUL byte",
		   "a NUL byte is reported as such");
	pw_refused(cfg, tmpdir, NULL, 0, -EISDIR, "is a directory, not a password file",
		   "a directory is reported as such");
	/* CR-LF line ends are fine. */
	snprintf(text, sizeof(text), "admin:%s\r\n", hash);
	write_file("crlf", text);
	snprintf(cfg->spinweb_password_file, sizeof(cfg->spinweb_password_file), "%s/crlf", tmpdir);
	if (CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), 0,
		      "a password file with CR-LF line ends is accepted"))
		httpd_stop();
	cfg->spinweb_password_file[0] = '\0';
}

static void test_auth_tls(struct spin_config *cfg)
{
	char cert[128], key[128], pw[128], url[256], origin[256], line[512],
		subj[] = "/CN=127.0.0.1";
	struct crypt_data cd = {};
	const char *hash = crypt_r("s3cret pass", "$6$testsalt$", &cd);
	char *openssl[] = {"openssl",
			   "req",
			   "-x509",
			   "-newkey",
			   "ec",
			   "-pkeyopt",
			   "ec_paramgen_curve:prime256v1",
			   "-nodes",
			   "-keyout",
			   key,
			   "-out",
			   cert,
			   "-days",
			   "1",
			   "-subj",
			   subj,
			   "-addext",
			   "subjectAltName=IP:127.0.0.1",
			   NULL};
	struct resp r;
	char v[256];

	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(pw, sizeof(pw), "%s/passwd", tmpdir);
	snprintf(line, sizeof(line), "# SPIN users\nadmin:%s\n", hash);
	write_file("passwd", line);
	CHECK_INT(run(openssl, NULL), 0, "openssl makes a self-signed certificate");
	snprintf(cfg->spinweb_password_file, sizeof(cfg->spinweb_password_file), "%s", pw);
	snprintf(cfg->spinweb_tls_certificate_file, sizeof(cfg->spinweb_tls_certificate_file), "%s",
		 cert);
	snprintf(cfg->spinweb_tls_key_file, sizeof(cfg->spinweb_tls_key_file), "%s", key);
	if (!CHECK_INT(server_start(cfg, NULL), 0, "httpd starts with TLS and a password file"))
		return;

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/spin_api/status", port);
	CHECK_INT(curl_status(url, NULL, cert, NULL), 401,
		  "TLS: status without credentials is 401");
	CHECK_INT(curl_status(url, "admin:wrong", cert, NULL), 401, "TLS: a wrong password is 401");
	CHECK_INT(curl_status(url, "nobody:s3cret pass", cert, NULL), 401,
		  "TLS: an unknown user is 401");
	CHECK_INT(curl_status(url, "admin:s3cret pass", cert, NULL), 200,
		  "TLS: the right password is 200");
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/metrics", port);
	CHECK_INT(curl_status(url, NULL, cert, NULL), 401, "TLS: metrics need credentials");
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/app.js", port);
	CHECK_INT(curl_status(url, NULL, cert, NULL), 200,
		  "TLS: static assets need no credentials");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/app.js", port);
	CHECK(curl_status(url, NULL, NULL, NULL) != 200, "plain HTTP to the TLS port gets nothing");
	/* The server's own origin is https://host:port under TLS (a call that changes state). */
	{
		char out[600],
			body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_device_name\","
				 "\"params\":{\"node\":1,\"name\":\"tls\"}}";
		char *argv[] = {"curl",	      "-s",
				"--max-time", "5",
				"--cacert",   cert,
				"-u",	      "admin:s3cret pass",
				"-H",	      "Content-Type: application/json",
				"-H",	      origin,
				"-d",	      body,
				url,	      NULL};
		char *got;

		snprintf(origin, sizeof(origin), "Origin: https://127.0.0.1:%u", port);
		snprintf(url, sizeof(url), "https://127.0.0.1:%u/spin_api/jsonrpc", port);
		snprintf(out, sizeof(out), "%s/rpc.out", tmpdir);
		run(argv, out);
		got = slurp(out);
		CHECK(strstr(got, "\"result\":null") != NULL,
		      "TLS: JSON-RPC with auth and the https Origin answers");
		free(got);
		snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%u", port);
		run(argv, out);
		got = slurp(out);
		CHECK(strstr(got, "\"code\":403") && strstr(got, "Origin"),
		      "TLS: the http:// Origin is foreign (403)");
		free(got);
	}
	server_stop();

	/* Auth without TLS, over the raw client: the 401 carries the challenge. */
	cfg->spinweb_tls_certificate_file[0] = cfg->spinweb_tls_key_file[0] = '\0';
	if (!CHECK_INT(server_start(cfg, NULL), 0, "httpd starts with a password file"))
		return;
	http("GET", "/spin_api/status", NULL, NULL, &r);
	CHECK_INT(r.status, 401, "status without credentials is 401");
	CHECK(header(&r, "WWW-Authenticate", v, sizeof(v)) && strstr(v, "Basic"),
	      "the 401 asks for Basic auth");
	resp_free(&r);
	/* admin:s3cret pass */
	http("GET", "/spin_api/status", "Authorization: Basic YWRtaW46czNjcmV0IHBhc3M=\r\n", NULL,
	     &r);
	CHECK_INT(r.status, 200, "status with the right credentials is 200");
	resp_free(&r);
	/* admin:s3cret pas */
	http("GET", "/spin_api/status", "Authorization: Basic YWRtaW46czNjcmV0IHBhcw==\r\n", NULL,
	     &r);
	CHECK_INT(r.status, 401, "a password one byte short is 401");
	resp_free(&r);
	http("POST", "/spin_api/jsonrpc", JSON_CT "Authorization: Basic Zm9v\r\n",
	     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}", &r);
	CHECK_INT(r.status, 401, "a malformed Authorization header is 401");
	resp_free(&r);
	http("GET", "/spin_api/events", NULL, NULL, &r);
	CHECK_INT(r.status, 401, "the event stream needs credentials");
	resp_free(&r);
	server_stop();
	cfg->spinweb_password_file[0] = '\0';

	/* Bad security settings are refused at start with a reason. */
	snprintf(cfg->spinweb_tls_certificate_file, sizeof(cfg->spinweb_tls_certificate_file), "%s",
		 cert);
	CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), -EINVAL,
		  "a certificate without a key is refused");
	snprintf(cfg->spinweb_tls_key_file, sizeof(cfg->spinweb_tls_key_file), "%s", pw);
	CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), -EINVAL,
		  "a key file that is not PEM is refused");
	cfg->spinweb_tls_certificate_file[0] = cfg->spinweb_tls_key_file[0] = '\0';
	write_file("badpw", "admin\n");
	snprintf(cfg->spinweb_password_file, sizeof(cfg->spinweb_password_file), "%s/badpw",
		 tmpdir);
	CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), -EINVAL,
		  "a password file line without a hash is refused");
	cfg->spinweb_password_file[0] = '\0';
	test_bad_password_files(cfg, hash);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median time of n failed logins with this Authorization header. */
static double login_ms(const char *authz, int n)
{
	double t[9];
	struct resp r;

	for (int i = 0; i < n && i < 9; i++) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		http("GET", "/spin_api/status", authz, NULL, &r);
		t[i] = ms_since(&t0);
		if (r.status != 401)
			t[i] = -1;
		resp_free(&r);
	}
	qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
	return t[n / 2];
}

/*
 * A yescrypt user ($y$, Debian mkpasswd's default: about 20 ms of work) next to a SHA-512 one:
 * a wrong password for a known name and any password for an unknown name cost the same, so
 * timing a 401 does not reveal which names exist.
 */
static void test_auth_timing(struct spin_config *cfg)
{
	struct crypt_data cd = {};
	const char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	char line[1024], hash[CRYPT_OUTPUT_SIZE] = "";
	double known, unknown;

	if (salt && crypt_r("s3cret pass", salt, &cd))
		snprintf(hash, sizeof(hash), "%s", cd.output);
	free((void *)salt);
	if (!CHECK(strncmp(hash, "$y$", 3) == 0, "libcrypt makes a yescrypt hash"))
		return;
	snprintf(line, sizeof(line), "admin:%s\nbackup:%s\n", hash,
		 crypt_r("other", "$6$testsalt$", &cd));
	write_file("passwd-y", line);
	snprintf(cfg->spinweb_password_file, sizeof(cfg->spinweb_password_file), "%s/passwd-y",
		 tmpdir);
	if (!CHECK_INT(server_start(cfg, NULL), 0, "httpd starts with a yescrypt user"))
		goto out;
	/* admin:wrong pass, then nobody:wrong pass */
	login_ms("Authorization: Basic YWRtaW46d3JvbmcgcGFzcw==\r\n", 1); /* warm up */
	known = login_ms("Authorization: Basic YWRtaW46d3JvbmcgcGFzcw==\r\n", 7);
	unknown = login_ms("Authorization: Basic bm9ib2R5Ondyb25nIHBhc3M=\r\n", 7);
	printf("# login: known user %.1f ms, unknown user %.1f ms (medians of 7)\n", known,
	       unknown);
	CHECK(known > 0 && unknown > 0, "both logins are refused (401)");
	/*
	 * One-sided and loose on purpose (a busy machine varies each run): what it guards against
	 * is an unknown name answered without the first user's crypt, about 10x faster here.
	 */
	CHECK(unknown >= known / 3,
	      "an unknown user's 401 costs the first user's crypt (at least a third of a known "
	      "user's time)");
	/* nobody:s3cret pass: the first user's password with another name is no login. */
	{
		struct resp r;

		http("GET", "/spin_api/status", "Authorization: Basic bm9ib2R5OnMzY3JldCBwYXNz\r\n",
		     NULL, &r);
		CHECK_INT(r.status, 401, "an unknown name with the first user's password is 401");
		resp_free(&r);
	}
	server_stop();
out:
	cfg->spinweb_password_file[0] = '\0';
}

/* ---- rate limit ---- */

static void test_rate(struct spin_config *cfg)
{
	struct httpd_limits lim = {.rate_per_s = 1, .rate_burst = 5, .rate_loopback = true};
	int ok = 0, limited = 0;
	struct resp r;

	if (!CHECK_INT(server_start(cfg, &lim), 0, "httpd starts with a 5-request burst"))
		return;
	for (int i = 0; i < 10; i++) {
		http("GET", "/app.js", NULL, NULL, &r);
		ok += r.status == 200;
		limited += r.status == 429;
		resp_free(&r);
	}
	CHECK_INT(ok, 5, "rate limit: the burst of 5 is served");
	CHECK_INT(limited, 5, "rate limit: the rest is 429");
	sleep(2);
	http("GET", "/app.js", NULL, NULL, &r);
	CHECK_INT(r.status, 200, "rate limit: tokens come back over time");
	resp_free(&r);
	server_stop();
}

static void test_listen_errors(struct spin_config *cfg)
{
	snprintf(cfg->spinweb_interfaces, sizeof(cfg->spinweb_interfaces), "127.0.0.1,not-an-ip");
	CHECK_INT(httpd_start(&(struct httpd_opts){.cfg = cfg}), -EINVAL,
		  "spinweb_interfaces with a non-address is refused");
	snprintf(cfg->spinweb_interfaces, sizeof(cfg->spinweb_interfaces), "127.0.0.1,::1");
	if (CHECK_INT(server_start(cfg, NULL), 0, "IPv4 and IPv6 listeners start together")) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_addr = IN6ADDR_LOOPBACK_INIT,
					 .sin6_port = htons(port)};
		int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

		CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
		      "the [::1] listener accepts on the same port");
		if (fd >= 0)
			close(fd);
		server_stop();
	}
	snprintf(cfg->spinweb_interfaces, sizeof(cfg->spinweb_interfaces), "127.0.0.1");
}

/* GET /app.js over [::1]: the status, or -1 when the server closes without an answer. */
static int v6_status(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				 .sin6_port = htons(port)};
	static const char req[] =
		"GET /app.js HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
	struct timeval tv = {.tv_sec = 3};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    send_all(fd, req, sizeof(req) - 1) == 0 &&
	    (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 12) {
		buf[n] = '\0';
		if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
			status = atoi(buf + 9);
	}
	close(fd);
	return status;
}

/* A connection answering an event stream (a request in progress), or -1. */
static int open_stream(void)
{
	char req[128], buf[512];
	int fd = connect_port(0);
	ssize_t n;

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET /spin_api/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
		 port);
	if (send_all(fd, req, strlen(req)) || (n = recv(fd, buf, sizeof(buf) - 1, 0)) < 12 ||
	    strncmp(buf, "HTTP/1.1 200", 12) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when the server has closed fd (EOF or reset), 0 when it is still open. */
static int closed_by_server(int fd)
{
	struct timeval tv = {.tv_usec = 500 * 1000};
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &c, 1, 0) <= 0 && errno != EAGAIN ? 1 : 0;
}

/*
 * http_max_connections counts the connections of every listener together. When all are taken,
 * a new one takes the place of the connection idle the longest (a slow client trickling its
 * headers holds no slot against others); it is refused only when every one answers a request.
 */
static void test_conn_limit(struct spin_config *cfg)
{
	/* A closed event stream is noticed at its next keepalive. */
	struct httpd_limits lim = {.sse_keepalive_ms = 100};
	struct httpd_stats st;
	int fd[2];

	snprintf(cfg->spinweb_interfaces, sizeof(cfg->spinweb_interfaces), "127.0.0.1,::1");
	cfg->http_max_connections = 2;
	if (!CHECK_INT(server_start(cfg, &lim), 0, "httpd starts with http_max_connections 2"))
		goto out;
	CHECK_INT(v6_status(), 200, "connection limit: [::1] answers while nothing else is open");
	fd[0] = open_stream();
	fd[1] = open_stream();
	CHECK(fd[0] >= 0 && fd[1] >= 0, "connection limit: two event streams open");
	usleep(300 * 1000);
	CHECK_INT(v6_status(), -1,
		  "connection limit: two streams on 127.0.0.1 leave none for [::1] (a total)");
	close(fd[0]);
	usleep(300 * 1000);
	CHECK_INT(v6_status(), 200, "connection limit: a closed connection frees its slot");
	close(fd[1]);
	usleep(300 * 1000);

	/* Two connections that sent half a request (slowloris): the older one makes room. */
	fd[0] = connect_port(0);
	usleep(50 * 1000);
	fd[1] = connect_port(0);
	send_all(fd[0], "GET / HTTP/1.1\r\n", 16);
	send_all(fd[1], "GET / HTTP/1.1\r\n", 16);
	usleep(300 * 1000);
	CHECK_INT(v6_status(), 200,
		  "connection limit: two half-sent requests do not lock [::1] out");
	CHECK_INT(closed_by_server(fd[0]), 1,
		  "connection limit: the connection idle the longest was closed for it");
	CHECK_INT(closed_by_server(fd[1]), 0, "connection limit: the other one is still open");
	in_loop(do_stats, &st);
	CHECK_INT((int)st.idle_evicted, 1, "connection limit: idle_evicted counts it");
	close(fd[0]);
	close(fd[1]);
	server_stop();
out:
	cfg->http_max_connections = 64;
	snprintf(cfg->spinweb_interfaces, sizeof(cfg->spinweb_interfaces), "127.0.0.1");
}

static void cleanup(void)
{
	char *argv[] = {"rm", "-rf", tmpdir, NULL};

	run(argv, NULL);
}

int main(void)
{
	struct httpd_limits lim = {.max_body = 64 * 1024,
				   .rate_burst = 100000,
				   .rate_per_s = 100000,
				   .sse_keepalive_ms = 300};
	struct policy_ops po = {.list_changed = on_list_changed};
	struct spin_config cfg;
	struct spin_addr a;
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0x10};
	struct node *n;

	signal(SIGPIPE, SIG_IGN);
	log_init("test_httpd", false, LOG_LVL_WARN, NULL);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	make_tree();
	config_defaults(&cfg);
	snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", root);
	snprintf(cfg.spinweb_interfaces, sizeof(cfg.spinweb_interfaces), "127.0.0.1");
	snprintf(cfg.spinweb_hostnames, sizeof(cfg.spinweb_hostnames), "spin.home.arpa,gw.example");

	if (loop_init() || bus_init(NULL) || nodes_init(&(struct nodes_ops){}, 0, 0) ||
	    policy_init(NULL, false, &po) || rpc_init(NULL, true)) {
		printf("not ok - setup failed\n");
		return 1;
	}
	loop_timer_add(10, on_mailbox, NULL);
	nodes_addr_parse("192.0.2.10", &a);
	n = nodes_set_mac(&a, mac, time(NULL));
	nodes_set_name(node_id(n), "thermo");
	nodes_addr_parse("203.0.113.10", &a);
	nodes_get_ip(&a, time(NULL));

	if (CHECK_INT(server_start(&cfg, &lim), 0, "httpd starts on 127.0.0.1")) {
		CHECK(port != 0, "httpd reports the port it bound");
		test_static();
		test_host();
		test_rpc_http();
		test_status_metrics();
		test_events();
		server_stop();
	}
	test_auth_tls(&cfg);
	test_auth_timing(&cfg);
	test_rate(&cfg);
	test_listen_errors(&cfg);
	test_conn_limit(&cfg);

	policy_destroy();
	nodes_destroy();
	bus_destroy();
	loop_destroy();
	cleanup();
	return check_exit();
}
