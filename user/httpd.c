// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <utlist.h>

#include "bus.h"
#include "bytequeue.h"
#include "devcap.h"
#include "dns.h"
#include "flows.h"
#include "authcache.h"
#include "httpd.h"
#include "kernel.h"
#include "log.h"
#include "version.h"
#include "loop.h"
#include "mqtt.h"
#include "nodes.h"
#include "policy.h"
#include "ratelimit.h"
#include "rpc.h"
#include "stats.h"
#include "traffic.h"

#define URI_MAX	    2048 /* bytes of a request target; 414 above */
#define FILE_MAX    (64 * 1024)
#define MAX_USERS   64
#define USER_MAX    64
#define HASH_MAX    256
#define RATE_SLOTS  256
#define SSE_MSG_MAX (4 * 1024 * 1024)
#define HOST_NAMES  (CONFIG_MAX_WEB_NAMES + 4) /* localhost, this machine's names, the config's */
#define CSP                                                                                        \
	"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "      \
	"form-action 'self'"

struct user {
	char name[USER_MAX + 1];
	char hash[HASH_MAX + 1];
};

struct sse_client {
	struct sse_client *next, *prev;
	struct MHD_Connection *conn;
	struct bytequeue q; /* pending bytes */
	size_t replay_left; /* bytes of the connect-time replay not sent yet (not bounded) */
	bool suspended;
	bool dead; /* overflowed or shutting down: the reader ends the stream */
};

/* A packet capture download: reads a devcap stream, suspended while it has nothing queued. */
struct cap_client {
	struct cap_client *next, *prev;
	struct MHD_Connection *conn;
	struct devcap_stream *s;
	bool suspended;
	bool dead; /* shutting down: the reader ends the stream */
};

enum route { R_NONE, R_RPC };

/* Per request: the raw target (before MHD unescapes it) and the body being received. */
struct req {
	char raw[URI_MAX + 1];
	bool raw_too_long;
	bool started;
	enum route route;
	char *body;
	size_t len, cap;
	bool too_large;
	const char *csrf_why; /* a JSON-RPC request without the CSRF headers: only reads may run */
};

/*
 * One open connection. idle_ms is when it last had no request in progress (accepted, or its last
 * answer done), 0 while it is answering one (an event stream, a capture, a request body).
 */
struct conn {
	struct conn *prev, *next;
	MHD_socket fd;
	uint64_t idle_ms;
	bool evicted; /* shut down by evict_idle(), not yet closed by libmicrohttpd */
};

/* Connections shut down for newer ones that libmicrohttpd may not have closed yet. */
#define EVICT_MAX 16

struct daemon_slot {
	struct MHD_Daemon *d;
	struct loop_watch *w;
};

static struct {
	struct httpd_opts o;
	struct httpd_limits lim;
	struct daemon_slot ds[CONFIG_MAX_WEB_IFS];
	int n;
	struct loop_timer *run_timer;
	struct loop_timer *keepalive;
	char root[PATH_MAX];
	size_t root_len;
	bool tls;
	char *cert, *key;
	struct user users[MAX_USERS];
	int n_users;
	bool auth;
	struct addr_bucket rate[RATE_SLOTS]; /* a request budget per client address */
	struct sse_client *clients;
	struct cap_client *caps;
	struct httpd_stats st;
	bool listening;
	bool public;				 /* a listener beyond loopback */
	char names[HOST_NAMES][CONFIG_HOST_MAX]; /* names a Host header may carry */
	int n_names;
	unsigned int conns, max_conns; /* open connections of all listeners, and their limit */
	struct conn *conn_list;	       /* every open connection */
	unsigned int evicting;	       /* of conns: shut down, closing */
} h;

static struct crypt_data crypt_buf; /* large; one request at a time in the loop thread */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- responses --- */

static void security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned int status,
			     struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	security_headers(resp);
	if (status >= 400 && status < 500)
		h.st.rejected_4xx++;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Takes ownership of text (malloc'd). */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *type,
				  char *text)
{
	struct MHD_Response *resp;

	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return queue(c, status, resp);
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned int status, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	return reply_text(c, status, "application/json", s);
}

/* {"error":{"code":<HTTP status>,"message":...}}: the same shape as a JSON-RPC error. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int status,
				   const char *message)
{
	cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");

	cJSON_AddNumberToObject(e, "code", status);
	cJSON_AddStringToObject(e, "message", message);
	return reply_json(c, status, j);
}

static enum MHD_Result reply_405(struct MHD_Connection *c, const char *allow)
{
	cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");
	char *s, msg[96];
	struct MHD_Response *resp;

	snprintf(msg, sizeof(msg), "Method not allowed: use %s", allow);
	cJSON_AddNumberToObject(e, "code", 405);
	cJSON_AddStringToObject(e, "message", msg);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Allow", allow);
	return queue(c, 405, resp);
}

/* The client's address, IPv4 as IPv4-mapped IPv6; false (and ::) when it cannot be told. */
static bool client_addr(struct MHD_Connection *c, struct in6_addr *out)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(out, 0, sizeof(*out));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	if (sa->sa_family == AF_INET) {
		out->s6_addr[10] = out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	return false;
}

/* --- authentication --- */

static bool ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	/* Compares as many bytes as the stored hash has, whatever the candidate's length. */
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return d == 0;
}

static const struct user *find_user(const char *name)
{
	for (int i = 0; i < h.n_users; i++)
		if (strcmp(h.users[i].name, name) == 0)
			return &h.users[i];
	return NULL;
}

enum auth_result {
	AUTH_OK,
	AUTH_REFUSED, /* 401 */
	AUTH_BUSY,    /* 429: no crypt spent (authcache.h) */
};

/* crypt against the user's hash; the caller budgets it. */
static bool password_matches(const char *name, const char *pass)
{
	const struct user *u = find_user(name);
	/*
	 * An unknown user is checked against the first user's hash, then fails: the same method
	 * and cost (a yescrypt hash is ten times the work of a SHA-512 one), so the time of a 401
	 * does not tell whether the name exists.
	 */
	const char *hash = u ? u->hash : h.users[0].hash;
	const char *out = crypt_r(pass, hash, &crypt_buf);
	bool match = out && out[0] != '*' && ct_equal(out, hash);

	return u && match;
}

static enum auth_result auth_check(struct MHD_Connection *c)
{
	enum auth_result res = AUTH_REFUSED;
	struct in6_addr client = IN6ADDR_LOOPBACK_INIT;
	char *pass = NULL, *name;
	uint64_t now = now_ms();

	if (!h.auth)
		return AUTH_OK;
	name = MHD_basic_auth_get_username_password(c, &pass);
	if (name && pass && strlen(pass) <= 1024) {
		client_addr(c, &client);
		if (authcache_hit(name, pass, now)) {
			res = AUTH_OK;
		} else if (!authbudget_take(&client, now)) {
			res = AUTH_BUSY;
		} else if (password_matches(name, pass)) {
			authcache_put(name, pass, now);
			res = AUTH_OK;
		} else {
			authbudget_failed(&client, now);
		}
	}
	if (name)
		MHD_free(name);
	if (pass)
		MHD_free(pass);
	return res;
}

static enum MHD_Result reply_401(struct MHD_Connection *c)
{
	static const char body[] =
		"{\"error\":{\"code\":401,\"message\":\"Authentication required\"}}";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	h.st.auth_failures++;
	h.st.rejected_4xx++;
	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	security_headers(resp);
	ret = MHD_queue_basic_auth_fail_response(c, "SPIN", resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A request whose credentials did not pass (401), or could not be checked now (429). */
static enum MHD_Result reply_auth(struct MHD_Connection *c, enum auth_result res)
{
	if (res == AUTH_REFUSED)
		return reply_401(c);
	h.st.auth_throttled++;
	return reply_error(c, 429,
			   "Too many failed logins: try again in a few seconds (spind limits "
			   "password checks per client and in total; docs/security.md)");
}

/*
 * A complete crypt(3) hash this system can check: "$id$" (letters, digits), a setting, and the
 * hash proper after the last '$' (crypt's base64 alphabet); crypt_r with it as the setting must
 * give back a string as long, with the same setting. "$6$" or "$6$salt$" alone are not hashes:
 * no password would ever match them.
 */
static bool valid_hash(const char *hash)
{
	const char *last = strrchr(hash, '$'), *p, *out;

	if (hash[0] != '$' || !last || !last[1])
		return false;
	for (p = hash + 1; isalnum((unsigned char)*p); p++)
		;
	if (p == hash + 1 || *p != '$' || p == last)
		return false;
	for (p = last + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '/')
			return false;
	out = crypt_r("", hash, &crypt_buf);
	return out && out[0] != '*' && strlen(out) == strlen(hash) &&
	       !strncmp(out, hash, (size_t)(last - hash) + 1);
}

static int load_passwords(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[USER_MAX + HASH_MAX + 8];
	int lineno = 0, err = 0, ret;
	struct stat st;
	size_t len;

	if (!f) {
		err = -errno;
		pr_err("spinweb_password_file: cannot open %s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		pr_err("spinweb_password_file: %s is a directory, not a password file", path);
		fclose(f);
		return -EISDIR;
	}
	while ((ret = config_read_line(f, line, sizeof(line), &len)) != 0) {
		char *colon;

		lineno++;
		if (ret == -E2BIG) {
			pr_err("spinweb_password_file: %s:%d: line longer than %zu bytes", path,
			       lineno, sizeof(line) - 1);
			err = -E2BIG;
			break;
		}
		if (ret == -EILSEQ) {
			pr_err("spinweb_password_file: %s:%d: contains a NUL byte (not a text "
			       "file?)",
			       path, lineno);
			err = -EINVAL;
			break;
		}
		if (ret < 0) {
			pr_err("spinweb_password_file: %s: read error after line %d: %s", path,
			       lineno - 1, strerror(-ret));
			err = ret;
			break;
		}
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line || colon - line > USER_MAX || !colon[1] ||
		    strlen(colon + 1) > HASH_MAX || colon[1] != '$') {
			pr_err("spinweb_password_file: %s:%d: expected user:crypt-hash "
			       "(a $id$ hash from mkpasswd or openssl passwd)",
			       path, lineno);
			err = -EINVAL;
			break;
		}
		*colon = '\0';
		if (!valid_hash(colon + 1)) {
			pr_err("spinweb_password_file: %s:%d: user %s: not a complete hash "
			       "crypt(3) can check (make one with mkpasswd or openssl passwd)",
			       path, lineno, line);
			err = -EINVAL;
			break;
		}
		if (h.n_users >= MAX_USERS) {
			pr_err("spinweb_password_file: %s: more than %d users", path, MAX_USERS);
			err = -E2BIG;
			break;
		}
		memcpy(h.users[h.n_users].name, line, (size_t)(colon - line) + 1);
		memcpy(h.users[h.n_users].hash, colon + 1, strlen(colon + 1) + 1);
		h.n_users++;
	}
	fclose(f);
	if (!err && !h.n_users) {
		pr_err("spinweb_password_file: %s has no user", path);
		err = -EINVAL;
	}
	return err;
}

/*
 * --- DNS rebinding: the Host header must name this server ---
 *
 * A page of evil.example whose name the attacker then points at the gateway's address is,
 * for the browser, still evil.example: it may read the answers, and its Origin matches its
 * Host. What it cannot change is the Host header: evil.example. So only names that are this
 * server's are answered: any IP literal (no page can rebind an address: its origin is the
 * address itself), localhost, this machine's name (with and without its domain, and
 * name.local for mDNS) and the names in spinweb_hostnames.
 */

static void add_name(const char *name, size_t len)
{
	if (len && name[len - 1] == '.')
		len--;
	if (!len || len >= CONFIG_HOST_MAX || h.n_names >= HOST_NAMES)
		return;
	for (int i = 0; i < h.n_names; i++)
		if (strlen(h.names[i]) == len && strncasecmp(h.names[i], name, len) == 0)
			return;
	memcpy(h.names[h.n_names], name, len);
	h.names[h.n_names][len] = '\0';
	h.n_names++;
}

static void host_names(const struct spin_config *cfg)
{
	char self[CONFIG_HOST_MAX] = "", local[CONFIG_HOST_MAX + 8];
	const char *p = cfg->spinweb_hostnames, *end;
	size_t short_len;

	h.n_names = 0;
	add_name("localhost", strlen("localhost"));
	if (gethostname(self, sizeof(self) - 1) == 0 && self[0]) {
		short_len = strcspn(self, ".");
		add_name(self, strlen(self));
		add_name(self, short_len);
		snprintf(local, sizeof(local), "%.*s.local", (int)short_len, self);
		add_name(local, strlen(local));
	}
	/* config.c has checked and normalised the list: "name,name". */
	for (; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		add_name(p, (size_t)(end - p));
	}
}

static bool is_port(const char *p)
{
	size_t n = strlen(p);

	return n >= 1 && n <= 5 && strspn(p, "0123456789") == n;
}

/* host[:port], [v6][:port]: the name or address must be this server's. */
static bool host_ok(struct MHD_Connection *c)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char name[CONFIG_HOST_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon;
	size_t len;

	/* Every browser sends Host (HTTP/1.1 requires it and MHD refuses a request without). */
	if (!host)
		return true;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		len = close ? (size_t)(close - host - 1) : 0;
		if (!len || len >= sizeof(name) ||
		    (close[1] && (close[1] != ':' || !is_port(close + 2))))
			return false;
		memcpy(name, host + 1, len);
		name[len] = '\0';
		return inet_pton(AF_INET6, name, &a6) == 1;
	}
	colon = strchr(host, ':');
	len = colon ? (size_t)(colon - host) : strlen(host);
	if (!len || len >= sizeof(name) || (colon && !is_port(colon + 1)))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (inet_pton(AF_INET, name, &a4) == 1)
		return true;
	if (name[len - 1] == '.')
		name[--len] = '\0';
	for (int i = 0; i < h.n_names; i++)
		if (strcasecmp(h.names[i], name) == 0)
			return true;
	return false;
}

/* --- CSRF: only a same-origin page (or a non-browser client) may change state --- */

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!ct || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static bool origin_ok(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char own[CONFIG_HOST_MAX + 16];

	if (!origin)
		return true;
	if (!host || strlen(host) > CONFIG_HOST_MAX)
		return false;
	snprintf(own, sizeof(own), "%s://%s", h.tls ? "https" : "http", host);
	return strcasecmp(origin, own) == 0;
}

/* NULL when the request may change state, else why not. */
static const char *csrf_refusal(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");

	if (!is_json_type(ct))
		return "Forbidden: Content-Type must be application/json";
	if (!origin_ok(c))
		return "Forbidden: the Origin header does not match this server";
	return NULL;
}

/* --- rate limit --- */

static bool rate_ok(struct MHD_Connection *c)
{
	struct in6_addr a;
	uint64_t now = now_ms();

	if (!client_addr(c, &a))
		return true;
	/* Local processes (spinctl, scripts, a reverse proxy) are as trusted as the host. */
	if (!h.lim.rate_loopback && addr_is_loopback(&a))
		return true;
	return tbucket_take(addr_bucket(h.rate, RATE_SLOTS, &a, h.lim.rate_burst, now),
			    h.lim.rate_per_s, h.lim.rate_burst, now);
}

/* --- connections: http_max_connections --- */

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* A request starts (its headers are in) or ends on the connection. */
static void conn_busy(struct MHD_Connection *c, bool busy)
{
	struct conn *k = conn_of(c);

	if (k)
		k->idle_ms = busy ? 0 : now_ms();
}

/*
 * Makes room for a new connection: shuts down the one idle the longest (no request in progress:
 * still sending its headers, or kept alive between requests), which libmicrohttpd then closes.
 * Without this, a few connections that trickle a header line now and then, from two addresses
 * (32 each), would hold every slot for as long as they like, the owner's included.
 */
static bool evict_idle(void)
{
	struct conn *victim = NULL;

	if (h.evicting >= EVICT_MAX)
		return false;
	for (struct conn *k = h.conn_list; k; k = k->next)
		if (!k->evicted && k->idle_ms && (!victim || k->idle_ms < victim->idle_ms))
			victim = k;
	if (!victim)
		return false;
	shutdown(victim->fd, SHUT_RDWR);
	victim->evicted = true;
	h.evicting++;
	h.st.idle_evicted++;
	return true;
}

/*
 * http_max_connections is a total: libmicrohttpd's limit is per daemon (one per listener), so
 * the connections of all listeners are counted here. One beyond the limit takes the place of
 * the longest idle connection; it is refused only when every connection is answering a request.
 */
static enum MHD_Result accept_ok(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	if (h.conns - h.evicting >= h.max_conns && !evict_idle()) {
		pr_debug("web API: %u connections open (http_max_connections), none idle: "
			 "refused one",
			 h.conns);
		return MHD_NO;
	}
	return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct conn *k = *socket_ctx;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		h.conns++;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k = ci ? calloc(1, sizeof(*k)) : NULL;
		if (!k)
			return; /* not tracked: never evicted */
		k->fd = ci->connect_fd;
		k->idle_ms = now_ms();
		DL_PREPEND(h.conn_list, k);
		*socket_ctx = k;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	if (h.conns)
		h.conns--;
	if (!k)
		return;
	if (k->evicted && h.evicting)
		h.evicting--;
	DL_DELETE(h.conn_list, k);
	free(k);
	*socket_ctx = NULL;
}

/* --- the event loop --- */

static void rearm(void)
{
	uint64_t min = 1000;

	for (int i = 0; i < h.n; i++) {
		MHD_UNSIGNED_LONG_LONG to;

		if (MHD_get_timeout(h.ds[i].d, &to) == MHD_YES && to < min)
			min = to;
	}
	loop_timer_arm(h.run_timer, (unsigned int)min);
}

static void run_all(void)
{
	for (int i = 0; i < h.n; i++)
		MHD_run(h.ds[i].d);
	rearm();
}

static void on_mhd_fd(int fd, uint32_t events, void *ctx)
{
	MHD_run(ctx);
	rearm();
}

static void on_run_timer(void *ctx)
{
	run_all();
}

/* --- the event stream --- */

static void sse_wake(struct sse_client *cl)
{
	if (!cl->suspended)
		return;
	cl->suspended = false;
	MHD_resume_connection(cl->conn);
	loop_timer_arm(h.run_timer, 0);
}

static void sse_kill(struct sse_client *cl)
{
	cl->dead = true;
	sse_wake(cl);
}

static int sse_append(struct sse_client *cl, const char *data, size_t n, bool bounded)
{
	if (cl->dead)
		return -EPIPE;
	if (bounded && cl->q.len + n > h.lim.sse_queue + cl->replay_left) {
		h.st.sse_slow_drops++;
		pr_info("event stream client too slow (%zu bytes queued): disconnected", cl->q.len);
		sse_kill(cl);
		return -ENOBUFS;
	}
	if (bytequeue_append(&cl->q, data, n)) {
		sse_kill(cl);
		return -ENOMEM;
	}
	if (!bounded)
		cl->replay_left += n;
	sse_wake(cl);
	return 0;
}

/* "data: {"topic":..,"retain":..,"payload":..}\n\n"; NULL on allocation failure. */
static char *sse_format(const char *topic, const char *payload, size_t len, bool retain)
{
	cJSON *j = cJSON_CreateObject(), *p;
	char *s, *out = NULL;

	cJSON_AddStringToObject(j, "topic", topic);
	cJSON_AddBoolToObject(j, "retain", retain);
	if (!len)
		p = cJSON_CreateNull();
	else if (!(p = cJSON_ParseWithLength(payload, len)))
		p = cJSON_CreateString(""); /* not JSON: never happens for spind's messages */
	cJSON_AddItemToObject(j, "payload", p);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (s && asprintf(&out, "data: %s\n\n", s) < 0)
		out = NULL;
	free(s);
	return out;
}

static void on_bus(const char *topic, const char *payload, size_t len, bool retain, void *ctx)
{
	struct sse_client *cl, *next;
	char *msg;
	size_t n;

	if (!h.clients || len > SSE_MSG_MAX)
		return;
	msg = sse_format(topic, payload, len, retain);
	if (!msg)
		return;
	n = strlen(msg);
	for (cl = h.clients; cl; cl = next) {
		next = cl->next;
		if (sse_append(cl, msg, n, true) == 0)
			h.st.sse_messages++;
	}
	free(msg);
}

static void on_keepalive(void *ctx)
{
	static const char ka[] = ": keepalive\n\n";

	for (struct sse_client *cl = h.clients; cl; cl = cl->next)
		sse_append(cl, ka, sizeof(ka) - 1, true);
}

static void replay_json(struct sse_client *cl, const char *topic, const char *cmd, cJSON *result)
{
	cJSON *env = cJSON_CreateObject();
	char *s, *msg;

	cJSON_AddStringToObject(env, "command", cmd);
	cJSON_AddItemToObject(env, "result", result ? result : cJSON_CreateNull());
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (!s)
		return;
	msg = sse_format(topic, s, strlen(s), true);
	free(s);
	if (msg)
		sse_append(cl, msg, strlen(msg), false);
	free(msg);
}

static void replay_node(struct node *n, void *ctx)
{
	char topic[160];

	replay_json(ctx, bus_node_topic(node_id(n), topic, sizeof(topic)), "nodeInfo",
		    node_to_json(n));
}

/* What an MQTT subscriber has on connecting: every node's nodeInfo and the three lists. */
static void sse_replay(struct sse_client *cl)
{
	nodes_foreach(replay_node, cl);
	for (int l = 0; l < POLICY_NLISTS; l++)
		replay_json(cl, bus_traffic_topic(), policy_list_name(l), policy_list_json(l));
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_client *cl = cls;
	size_t n;

	if (cl->dead)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (!cl->q.len) {
		cl->suspended = true;
		MHD_suspend_connection(cl->conn);
		return 0;
	}
	n = bytequeue_take(&cl->q, buf, max);
	cl->replay_left -= cl->replay_left < n ? cl->replay_left : n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse_client *cl = cls;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		h.clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	bytequeue_free(&cl->q);
	free(cl);
	h.st.sse_clients--;
}

/* HEAD: the stream's headers only (no client, no replay: it would hold a slot with no body). */
static enum MHD_Result serve_events_head(struct MHD_Connection *c)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return queue(c, 200, resp);
}

static enum MHD_Result serve_events(struct MHD_Connection *c, const char *method)
{
	struct sse_client *cl;
	struct MHD_Response *resp;

	if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return serve_events_head(c);
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return MHD_NO;
	cl->conn = c;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, cl,
						 sse_free);
	if (!resp) {
		free(cl);
		return MHD_NO;
	}
	cl->next = h.clients;
	if (h.clients)
		h.clients->prev = cl;
	h.clients = cl;
	h.st.sse_clients++;
	h.st.sse_connects++;
	sse_replay(cl);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return queue(c, 200, resp);
}

/* --- packet capture downloads --- */

static void cap_wake(void *ctx)
{
	struct cap_client *cl = ctx;

	if (!cl->suspended)
		return;
	cl->suspended = false;
	MHD_resume_connection(cl->conn);
	loop_timer_arm(h.run_timer, 0);
}

static ssize_t cap_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cap_client *cl = cls;
	ssize_t n;

	if (cl->dead)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = devcap_read(cl->s, buf, max);
	if (n == DEVCAP_EOF)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		cl->suspended = true;
		MHD_suspend_connection(cl->conn);
	}
	return n;
}

static void cap_free(void *cls)
{
	struct cap_client *cl = cls;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		h.caps = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	devcap_close(cl->s); /* the last stream of a MAC takes it out of the kernel map */
	free(cl);
}

/*
 * The device parameter: exactly one MAC of a known device. Answers the request itself (400,
 * 404) and returns false when it is not.
 */
static enum MHD_Result count_device(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	if (strcmp(key, "device") == 0)
		(*(int *)cls)++;
	return MHD_YES;
}

static bool cap_device(struct MHD_Connection *c, uint8_t mac[6], enum MHD_Result *ret)
{
	const char *dev = NULL;
	size_t len = 0;
	int n = 0;

	/* One device, and its decoded length is the string's: an encoded NUL ends nothing. */
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_device, &n);
	if (n != 1 ||
	    MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "device", 6, &dev, &len) !=
		    MHD_YES ||
	    !dev || len != strlen(dev) || nodes_mac_parse(dev, mac)) {
		*ret = reply_error(c, 400,
				   "Bad request: device must be a MAC address (xx:xx:xx:xx:xx:xx)");
		return false;
	}
	if (!nodes_by_mac(mac)) {
		*ret = reply_error(c, 404, "No device with this MAC address");
		return false;
	}
	return true;
}

/*
 * A GET that changes state: a page of another site may not trigger it (browsers say where a
 * request comes from in Sec-Fetch-Site, and in Origin when they send one).
 */
static const char *cap_csrf_refusal(struct MHD_Connection *c)
{
	const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return "Forbidden: capture requests must come from this server's pages";
	if (!origin_ok(c))
		return "Forbidden: the Origin header does not match this server";
	return NULL;
}

static enum MHD_Result capture_start(struct MHD_Connection *c, const uint8_t mac[6])
{
	struct cap_client *cl = calloc(1, sizeof(*cl));
	struct MHD_Response *resp;
	char disp[64];
	int err;

	if (!cl)
		return MHD_NO;
	cl->conn = c;
	err = devcap_open(mac, cap_wake, cl, &cl->s);
	if (err) {
		free(cl);
		if (err == -EBUSY)
			return reply_error(c, 503, "Too many packet captures running; try later");
		pr_warn("capture: cannot start: %s", strerror(-err));
		return reply_error(c, 500, "Cannot start the packet capture");
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, cap_read, cl,
						 cap_free);
	if (!resp) {
		devcap_close(cl->s);
		free(cl);
		return MHD_NO;
	}
	cl->next = h.caps;
	if (h.caps)
		h.caps->prev = cl;
	h.caps = cl;
	/* The capture's own time limit ends a quiet stream, not the idle timeout. */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	snprintf(disp, sizeof(disp), "attachment; filename=\"spin-%02x%02x%02x%02x%02x%02x.pcap\"",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	MHD_add_response_header(resp, "Content-Type", "application/vnd.tcpdump.pcap");
	MHD_add_response_header(resp, "Content-Disposition", disp);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return queue(c, 200, resp);
}

static enum MHD_Result capture_stop(struct MHD_Connection *c, const uint8_t mac[6])
{
	cJSON *j = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(j, "result");
	char m[18];

	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	cJSON_AddStringToObject(r, "device", m);
	cJSON_AddNumberToObject(r, "stopped", devcap_stop(mac));
	return reply_json(c, 200, j);
}

/* GET /spin_api/capture_start?device=<mac> and capture_stop?device=<mac>. */
static enum MHD_Result serve_capture(struct MHD_Connection *c, const char *url, const char *method)
{
	enum auth_result ar;
	bool start = strcmp(url, HTTPD_API_PREFIX "capture_start") == 0;
	enum MHD_Result ret = MHD_NO;
	const char *why;
	uint8_t mac[6];

	if (!h.o.kernel)
		return reply_error(c, 501,
				   "Packet capture needs the kernel data path: not available in "
				   "passive mode");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply_405(c, "GET");
	if ((ar = auth_check(c)) != AUTH_OK)
		return reply_auth(c, ar);
	why = cap_csrf_refusal(c);
	if (why) {
		h.st.csrf_rejected++;
		return reply_error(c, 403, why);
	}
	if (!cap_device(c, mac, &ret))
		return ret;
	return start ? capture_start(c, mac) : capture_stop(c, mac);
}

/* --- status and metrics --- */

static const char *const stat_names[SPIN_STAT_MAX] = SPIN_STAT_NAMES;

static cJSON *status_interfaces(void)
{
	cJSON *a = cJSON_CreateArray();
	const struct kernel_iface_state *s;
	int n = 0;

	if (!h.o.kernel)
		return a;
	s = kernel_iface_state(&n);
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		int x = s[i].xdp_attached;

		cJSON_AddStringToObject(o, "name", s[i].nif.name);
		cJSON_AddNumberToObject(o, "ifindex", s[i].nif.ifindex);
		cJSON_AddBoolToObject(o, "tc", s[i].tc_attached);
		if (s[i].tc_attached)
			cJSON_AddStringToObject(o, "tc_hook", s[i].tcx ? "tcx" : "clsact");
		cJSON_AddStringToObject(o, "xdp",
					x == SPIN_XDP_NATIVE	? "native"
					: x == SPIN_XDP_GENERIC ? "generic"
								: "off");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *fill(uint64_t used, uint64_t max)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "used", (double)used);
	cJSON_AddNumberToObject(o, "max", (double)max);
	return o;
}

static unsigned int flow_block_count(void)
{
	cJSON *a = policy_flow_blocks_json();
	unsigned int n = (unsigned int)cJSON_GetArraySize(a);

	cJSON_Delete(a);
	return n;
}

/* The UI shows "Download capture" when available is true. */
static cJSON *status_capture(void)
{
	cJSON *o = cJSON_CreateObject();
	struct devcap_stats ds;

	devcap_get_stats(&ds);
	cJSON_AddBoolToObject(o, "available", h.o.kernel);
	cJSON_AddNumberToObject(o, "streams", (double)ds.streams);
	cJSON_AddNumberToObject(o, "started", (double)ds.started);
	cJSON_AddNumberToObject(o, "records", (double)ds.records);
	cJSON_AddNumberToObject(o, "queue_drops", (double)ds.queue_drops);
	cJSON_AddNumberToObject(o, "limit_ends", (double)ds.limit_ends);
	return o;
}

static cJSON *status_json(void)
{
	cJSON *j = cJSON_CreateObject(), *maps, *k, *m, *web;
	struct mqtt_stats ms;
	struct nodes_stats ns;
	struct rpc_stats rs;
	__u64 stats[SPIN_STAT_MAX];

	cJSON_AddStringToObject(j, "version", SPIN_VERSION);
	cJSON_AddItemToObject(j, "interfaces", status_interfaces());
	maps = cJSON_AddObjectToObject(j, "maps");
	if (h.o.kernel) {
		const struct flows_stats *fs = flows_get_stats();

		/* "flows": the fuller of the two tables, which is the one that overflows first. */
		cJSON_AddItemToObject(maps, "flows",
				      fill(fs->flows4 > fs->flows6 ? fs->flows4 : fs->flows6,
					   kernel_max_flows()));
		cJSON_AddItemToObject(maps, "flows4", fill(fs->flows4, kernel_max_flows()));
		cJSON_AddItemToObject(maps, "flows6", fill(fs->flows6, kernel_max_flows()));
		m = cJSON_AddObjectToObject(j, "flow_cache");
		cJSON_AddNumberToObject(m, "cpus", kernel_fc_cpus());
		cJSON_AddNumberToObject(m, "flush_ms", kernel_fc_flush_ms());
	}
	for (int l = 0; l < POLICY_NLISTS; l++)
		cJSON_AddItemToObject(maps, policy_list_name(l),
				      fill(policy_list_count(l), POLICY_MAX_ADDRS));
	cJSON_AddItemToObject(maps, "flow_blocks", fill(flow_block_count(), POLICY_MAX_PAIRS));
	if (h.o.kernel && kernel_read_stats(stats) == 0) {
		k = cJSON_AddObjectToObject(j, "kernel");
		for (int i = 0; i < SPIN_STAT_MAX; i++)
			cJSON_AddNumberToObject(k, stat_names[i], (double)stats[i]);
		cJSON_AddNumberToObject(j, "ringbuf_drops", (double)stats[SPIN_STAT_RINGBUF_FULL]);
	} else {
		cJSON_AddNullToObject(j, "kernel");
		cJSON_AddNullToObject(j, "ringbuf_drops");
	}
	mqtt_get_stats(&ms);
	m = cJSON_AddObjectToObject(j, "mqtt");
	cJSON_AddBoolToObject(m, "connected", ms.connected);
	cJSON_AddNumberToObject(m, "published", (double)ms.published);
	cJSON_AddNumberToObject(m, "dropped", (double)ms.dropped);
	cJSON_AddNumberToObject(m, "reconnects", (double)ms.reconnects);
	nodes_get_stats(&ns);
	cJSON_AddNumberToObject(j, "nodes", (double)ns.nodes);
	rpc_get_stats(&rs);
	web = cJSON_AddObjectToObject(j, "web");
	cJSON_AddNumberToObject(web, "requests", (double)h.st.requests);
	cJSON_AddNumberToObject(web, "rpc_requests", (double)rs.requests);
	cJSON_AddNumberToObject(web, "rpc_errors", (double)rs.errors);
	cJSON_AddNumberToObject(web, "rejected", (double)h.st.rejected_4xx);
	cJSON_AddNumberToObject(web, "event_clients", (double)h.st.sse_clients);
	cJSON_AddNumberToObject(web, "event_slow_drops", (double)h.st.sse_slow_drops);
	cJSON_AddNumberToObject(web, "idle_evicted", (double)h.st.idle_evicted);
	cJSON_AddNumberToObject(web, "auth_throttled", (double)h.st.auth_throttled);
	cJSON_AddItemToObject(j, "capture", status_capture());
	cJSON_AddBoolToObject(web, "tls", h.tls);
	cJSON_AddBoolToObject(web, "auth", h.auth);
	/* Every module's counters now, as SPIN/stat publishes them every 30 s. */
	cJSON_AddItemToObject(j, "stats", stats_json(h.o.kernel));
	return j;
}

/* A growing text buffer for the metrics page. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		char *b = realloc(t->s, t->cap * 2 + (size_t)n);

		if (!b) {
			t->oom = true;
			return;
		}
		t->s = b;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static void metric(struct text *t, const char *name, const char *type, const char *help, double v)
{
	tprintf(t, "# HELP %s %s\n# TYPE %s %s\n%s %.0f\n", name, help, name, type, name, v);
}

/* Prometheus label values escape backslash, quote and newline. */
static void label_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static void device_metric(struct node *n, void *ctx)
{
	struct text *t = ctx;
	const uint8_t *m = node_mac(n);
	char name[NODE_NAME_MAX * 2 + 1] = "";
	uint64_t bytes = 0, packets = 0;
	cJSON *rows, *r;

	if (!m)
		return;
	if (node_name(n))
		label_escape(node_name(n), name, sizeof(name));
	rows = traffic_device_flows(node_id(n));
	cJSON_ArrayForEach(r, rows)
	{
		bytes += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "bytes"));
		packets += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "packets"));
	}
	cJSON_Delete(rows);
#define DEV_LABELS "{mac=\"%02x:%02x:%02x:%02x:%02x:%02x\",name=\"%s\"}"
#define DEV_ARGS   m[0], m[1], m[2], m[3], m[4], m[5], name
	tprintf(t, "spin_device_info" DEV_LABELS " %u\n", DEV_ARGS, node_id(n));
	tprintf(t, "spin_device_last_seen_seconds" DEV_LABELS " %lld\n", DEV_ARGS,
		(long long)node_lastseen(n));
	tprintf(t, "spin_device_flow_bytes" DEV_LABELS " %llu\n", DEV_ARGS,
		(unsigned long long)bytes);
	tprintf(t, "spin_device_flow_packets" DEV_LABELS " %llu\n", DEV_ARGS,
		(unsigned long long)packets);
	tprintf(t, "spin_device_blocked" DEV_LABELS " %d\n", DEV_ARGS,
		policy_node_on(POLICY_BLOCK, n));
#undef DEV_LABELS
#undef DEV_ARGS
}

static char *metrics_text(void)
{
	struct text t = {.s = malloc(8192), .cap = 8192};
	struct mqtt_stats ms;
	struct nodes_stats ns;
	struct dns_stats ds;
	struct rpc_stats rs;
	__u64 stats[SPIN_STAT_MAX];

	if (!t.s)
		return NULL;
	t.s[0] = '\0';
	tprintf(&t, "# HELP spin_build_info SPIN's version.\n# TYPE spin_build_info gauge\n"
		    "spin_build_info{version=\"" SPIN_VERSION "\"} 1\n");
	if (h.o.kernel && kernel_read_stats(stats) == 0) {
		tprintf(&t, "# HELP spin_kernel_events_total Counters of the BPF programs.\n"
			    "# TYPE spin_kernel_events_total counter\n");
		for (int i = 0; i < SPIN_STAT_MAX; i++)
			tprintf(&t, "spin_kernel_events_total{counter=\"%s\"} %llu\n",
				stat_names[i], (unsigned long long)stats[i]);
		metric(&t, "spin_flows", "gauge", "Flows in the kernel tables.",
		       (double)flows_get_stats()->flows);
		metric(&t, "spin_flows_max", "gauge",
		       "Capacity of each kernel flow table (IPv4, IPv6).", kernel_max_flows());
	}
	tprintf(&t, "# HELP spin_policy_entries Addresses on each list.\n"
		    "# TYPE spin_policy_entries gauge\n");
	for (int l = 0; l < POLICY_NLISTS; l++)
		tprintf(&t, "spin_policy_entries{list=\"%s\"} %u\n", policy_list_name(l),
			policy_list_count(l));
	metric(&t, "spin_flow_blocks", "gauge", "Flow blocks between two nodes.",
	       flow_block_count());
	nodes_get_stats(&ns);
	metric(&t, "spin_nodes", "gauge", "Nodes in the node cache.", (double)ns.nodes);
	dns_get_stats(&ds);
	tprintf(&t,
		"# HELP spin_dns_addrs_ignored_total A/AAAA records of DNS answers not used, by "
		"reason.\n"
		"# TYPE spin_dns_addrs_ignored_total counter\n"
		"spin_dns_addrs_ignored_total{reason=\"refused\"} %llu\n"
		"spin_dns_addrs_ignored_total{reason=\"capped\"} %llu\n",
		(unsigned long long)ds.addrs_refused, (unsigned long long)ds.addrs_capped);
	mqtt_get_stats(&ms);
	metric(&t, "spin_mqtt_connected", "gauge", "1 while connected to the broker.",
	       ms.connected);
	metric(&t, "spin_mqtt_published_total", "counter", "MQTT messages published.",
	       (double)ms.published);
	metric(&t, "spin_mqtt_dropped_total", "counter", "MQTT messages dropped.",
	       (double)ms.dropped);
	rpc_get_stats(&rs);
	metric(&t, "spin_rpc_requests_total", "counter", "JSON-RPC requests.", (double)rs.requests);
	metric(&t, "spin_rpc_errors_total", "counter", "JSON-RPC error answers.",
	       (double)rs.errors);
	metric(&t, "spin_http_requests_total", "counter", "HTTP requests.", (double)h.st.requests);
	tprintf(&t,
		"# HELP spin_http_rejected_total HTTP requests refused, by reason.\n"
		"# TYPE spin_http_rejected_total counter\n"
		"spin_http_rejected_total{reason=\"auth\"} %llu\n"
		"spin_http_rejected_total{reason=\"csrf\"} %llu\n"
		"spin_http_rejected_total{reason=\"rate\"} %llu\n"
		"spin_http_rejected_total{reason=\"too_large\"} %llu\n"
		"spin_http_rejected_total{reason=\"host\"} %llu\n"
		"spin_http_rejected_total{reason=\"auth_throttled\"} %llu\n",
		(unsigned long long)h.st.auth_failures, (unsigned long long)h.st.csrf_rejected,
		(unsigned long long)h.st.rate_limited, (unsigned long long)h.st.too_large,
		(unsigned long long)h.st.host_rejected, (unsigned long long)h.st.auth_throttled);
	metric(&t, "spin_event_clients", "gauge", "Event-stream clients connected.",
	       (double)h.st.sse_clients);
	metric(&t, "spin_event_slow_disconnects_total", "counter",
	       "Event-stream clients disconnected for not keeping up.",
	       (double)h.st.sse_slow_drops);
	tprintf(&t, "# HELP spin_device_info A local device (value: its node id).\n"
		    "# TYPE spin_device_info gauge\n");
	nodes_foreach(device_metric, &t);
	if (t.oom) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

/* --- static files --- */

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".htm", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".json", "application/json"},
		{".map", "application/json"},
		{".webmanifest", "application/manifest+json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},
		{".gif", "image/gif"},
		{".ico", "image/x-icon"},
		{".webp", "image/webp"},
		{".woff", "font/woff"},
		{".woff2", "font/woff2"},
		{".ttf", "font/ttf"},
		{".txt", "text/plain; charset=utf-8"},
		{".wasm", "application/wasm"},
	};
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* The decoded path has no "..", hidden or empty tricks; control bytes are refused. */
static bool path_clean(const char *url)
{
	const char *seg = url;

	if (url[0] != '/')
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	while ((seg = strchr(seg, '/'))) {
		seg++;
		if (seg[0] == '.' && (seg[1] == '.' || seg[1] == '/' || seg[1] == '\0'))
			return false;
	}
	return true;
}

static enum MHD_Result serve_static(struct MHD_Connection *c, const char *url)
{
	char path[PATH_MAX * 2], real[PATH_MAX];
	struct MHD_Response *resp;
	struct stat st;
	int fd;

	if (!path_clean(url))
		return reply_error(c, 400, "Bad request: invalid path");
	if (!h.root_len)
		return reply_error(c, 404, "Not found");
	/* A dot-file or anything in a dot-directory (.htpasswd, .git/config) is never the app's. */
	if (strstr(url, "/."))
		return reply_error(c, 404, "Not found");
	snprintf(path, sizeof(path), "%s%s%s", h.root, url,
		 url[strlen(url) - 1] == '/' ? "index.html" : "");
	if (!realpath(path, real) || strncmp(real, h.root, h.root_len) != 0 ||
	    (real[h.root_len] != '/' && real[h.root_len] != '\0'))
		return reply_error(c, 404, "Not found");
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return reply_error(c, 404, "Not found");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return reply_error(c, 404, "Not found");
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", content_type(real));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	return queue(c, 200, resp);
}

/* The raw target, before MHD decodes it: encoded NUL, slash, backslash or dot are tricks. */
static bool raw_ok(const struct req *r)
{
	static const char *const bad[] = {"%00", "%2f", "%5c", "%2e"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *q = strchr(r->raw, '?');
		const char *hit = strcasestr(r->raw, bad[i]);

		if (hit && (!q || hit < q))
			return false;
	}
	return true;
}

/* --- routing --- */

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result start_rpc(struct MHD_Connection *c, struct req *r, const char *method)
{
	enum auth_result ar;
	const char *cl;

	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return reply_405(c, "POST");
	if ((ar = auth_check(c)) != AUTH_OK)
		return reply_auth(c, ar);
	/* decided with the body: protocol.md asks the CSRF headers of state-changing calls only */
	r->csrf_why = csrf_refusal(c);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > h.lim.max_body) {
		h.st.too_large++;
		return reply_error(c, 413, "Payload too large");
	}
	r->route = R_RPC;
	h.st.rpc_requests++;
	return MHD_YES;
}

static enum MHD_Result route(struct MHD_Connection *c, struct req *r, const char *url,
			     const char *method)
{
	enum auth_result ar;
	if (r->raw_too_long)
		return reply_error(c, 414, "URI too long");
	if (!raw_ok(r))
		return reply_error(c, 400,
				   "Bad request: encoded '.', '/', '\\' or NUL in the path");
	if (strcmp(url, HTTPD_API_PREFIX "jsonrpc") == 0)
		return start_rpc(c, r, method);
	if (strcmp(url, HTTPD_API_PREFIX "events") == 0 ||
	    strcmp(url, HTTPD_API_PREFIX "status") == 0 || strcmp(url, "/metrics") == 0) {
		if (!is_get(method))
			return reply_405(c, "GET");
		if ((ar = auth_check(c)) != AUTH_OK)
			return reply_auth(c, ar);
		if (url[1] == 'm')
			return reply_text(c, 200, "text/plain; version=0.0.4; charset=utf-8",
					  metrics_text());
		if (strcmp(url, HTTPD_API_PREFIX "status") == 0)
			return reply_json(c, 200, status_json());
		return serve_events(c, method);
	}
	if (strcmp(url, HTTPD_API_PREFIX "capture_start") == 0 ||
	    strcmp(url, HTTPD_API_PREFIX "capture_stop") == 0)
		return serve_capture(c, url, method);
	if (strncmp(url, HTTPD_API_PREFIX, strlen(HTTPD_API_PREFIX)) == 0) {
		if ((ar = auth_check(c)) != AUTH_OK)
			return reply_auth(c, ar);
		return reply_error(c, 404, "No such API endpoint");
	}
	if (!is_get(method))
		return reply_405(c, "GET, HEAD");
	return serve_static(c, url);
}

static enum MHD_Result body_chunk(struct req *r, const char *data, size_t n)
{
	if (r->too_large || r->len + n > h.lim.max_body) {
		r->too_large = true;
		return MHD_YES; /* keep reading to answer 413, store nothing */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b)
			return MHD_NO;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return MHD_YES;
}

static enum MHD_Result finish_rpc(struct MHD_Connection *c, struct req *r)
{
	char *out;

	if (r->too_large) {
		h.st.too_large++;
		return reply_error(c, 413, "Payload too large");
	}
	/*
	 * Without the headers a page on another site could have sent it (a "simple" request);
	 * a call that only reads is harmless, as that page cannot read the answer.
	 */
	if (r->csrf_why && !rpc_only_reads(r->body ? r->body : "", r->len)) {
		h.st.csrf_rejected++;
		return reply_error(c, 403, r->csrf_why);
	}
	out = rpc_handle(r->body ? r->body : "", r->len);
	return reply_text(c, 200, "application/json", out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;

	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		conn_busy(c, true);
		h.st.requests++;
		if (!rate_ok(c)) {
			h.st.rate_limited++;
			return reply_error(c, 429, "Too many requests");
		}
		if (!host_ok(c)) {
			h.st.host_rejected++;
			return reply_error(
				c, 403,
				"Forbidden: the Host header does not name this server. Use "
				"its address, localhost or its host name, or add the name "
				"to spinweb_hostnames in spind.conf");
		}
		return route(c, r, url, method);
	}
	if (r->route != R_RPC)
		return MHD_NO;
	if (*upload_size) {
		enum MHD_Result ret = body_chunk(r, upload, *upload_size);

		*upload_size = 0;
		return ret;
	}
	return finish_rpc(c, r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *r = calloc(1, sizeof(*r));
	size_t n = strlen(uri);

	if (!r)
		return NULL;
	if (n > URI_MAX)
		r->raw_too_long = true;
	else
		memcpy(r->raw, uri, n + 1);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	conn_busy(c, false);
	if (!r)
		return;
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* --- start and stop --- */

static char *read_pem(const char *key, const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		pr_err("%s: cannot open %s: %s", key, path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, FILE_MAX + 1);
	n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n == 0 || n > FILE_MAX || !strstr(buf, "-----BEGIN ")) {
		pr_err("%s: %s is not a PEM file of at most %d bytes", key, path, FILE_MAX);
		free(buf);
		return NULL;
	}
	return buf;
}

static void pick_root(const char *web_root)
{
	struct stat st;
	const char *dir = web_root;

	if (!dir[0] || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		/* Run from a build tree: the UI that make built. */
		if (stat("build/web", &st) == 0 && S_ISDIR(st.st_mode)) {
			pr_info("web_root %s does not exist: serving ./build/web instead",
				dir[0] ? dir : "(empty)");
			dir = "build/web";
		} else {
			pr_warn("web_root %s does not exist (nor ./build/web): no static files",
				dir[0] ? dir : "(empty)");
			return;
		}
	}
	if (!realpath(dir, h.root)) {
		pr_warn("web_root %s: %s", dir, strerror(errno));
		return;
	}
	h.root_len = strlen(h.root);
	if (h.root_len == 1) /* "/" as the root: the prefix check needs no trailing slash */
		h.root_len = 0, h.root[0] = '\0', pr_warn("web_root is '/': refusing to serve it");
}

static void set_limits(const struct httpd_limits *in)
{
	h.lim = *in;
#define DEF(f, v) h.lim.f = h.lim.f ? h.lim.f : (v)
	DEF(max_body, HTTPD_DEF_MAX_BODY);
	DEF(header_mem, HTTPD_DEF_HEADER_MEM);
	DEF(per_ip_conns, HTTPD_DEF_PER_IP_CONNS);
	DEF(timeout_s, HTTPD_DEF_TIMEOUT_S);
	DEF(rate_per_s, HTTPD_DEF_RATE_PER_S);
	DEF(rate_burst, HTTPD_DEF_RATE_BURST);
	DEF(sse_queue, HTTPD_DEF_SSE_QUEUE);
	DEF(sse_keepalive_ms, HTTPD_DEF_SSE_KEEPALIVE_MS);
#undef DEF
	if (h.lim.max_body > RPC_MAX_BODY)
		h.lim.max_body = RPC_MAX_BODY;
}

static int parse_listen(const char *text, struct sockaddr_storage *ss, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char a[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);

	memset(ss, 0, sizeof(*ss));
	/* "[::1]" and "::1" both mean an IPv6 literal. */
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']')
		snprintf(a, sizeof(a), "%.*s", (int)(n - 2), text + 1);
	else
		snprintf(a, sizeof(a), "%s", text);
	if (n > INET6_ADDRSTRLEN + 1)
		return -EINVAL;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	/* Mostly clients going away or speaking garbage: not the operator's concern. */
	pr_debug("libmicrohttpd: %s", msg);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int start_one(const char *addr_text, uint16_t port)
{
	const struct spin_config *cfg = h.o.cfg;
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	struct daemon_slot *s = &h.ds[h.n];
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};

	if (parse_listen(addr_text, &ss, port)) {
		pr_err("spinweb_interfaces: '%s' is not an IPv4 or IPv6 address", addr_text);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!is_loopback(&ss))
		h.public = true;
	if (h.tls) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h.cert};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h.key};
	}
	h.max_conns = cfg->http_max_connections ? cfg->http_max_connections : 64;
	s->d = MHD_start_daemon(
		flags, port, accept_ok, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_CONNECTION_LIMIT, h.max_conns + EVICT_MAX, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, NULL, MHD_OPTION_PER_IP_CONNECTION_LIMIT, h.lim.per_ip_conns,
		MHD_OPTION_CONNECTION_TIMEOUT, h.lim.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)h.lim.header_mem, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!s->d) {
		pr_err("web API: cannot listen on %s port %u (spinweb_interfaces, spinweb_port)%s",
		       addr_text, port, h.tls ? " with TLS (check the certificate and key)" : "");
		return -EADDRNOTAVAIL;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
	s->w = di ? loop_watch_fd(di->epoll_fd, EPOLLIN, on_mhd_fd, s->d) : NULL;
	if (!s->w) {
		MHD_stop_daemon(s->d);
		s->d = NULL;
		return -errno ? -errno : -EIO;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	h.st.port = di ? di->port : port;
	h.n++;
	pr_info("web API on %s%s%s:%u%s%s", ss.ss_family == AF_INET6 ? "[" : "", addr_text,
		ss.ss_family == AF_INET6 ? "]" : "", h.st.port, h.tls ? " (TLS)" : "",
		h.auth ? " (Basic auth)" : "");
	return 0;
}

static int start_security(const struct spin_config *cfg)
{
	int err;

	if (!!cfg->spinweb_tls_certificate_file[0] != !!cfg->spinweb_tls_key_file[0]) {
		pr_err("spinweb_tls_certificate_file and spinweb_tls_key_file must be set "
		       "together");
		return -EINVAL;
	}
	if (cfg->spinweb_tls_certificate_file[0]) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			pr_err("spinweb_tls_*: this libmicrohttpd has no TLS support");
			return -ENOTSUP;
		}
		h.cert =
			read_pem("spinweb_tls_certificate_file", cfg->spinweb_tls_certificate_file);
		h.key = read_pem("spinweb_tls_key_file", cfg->spinweb_tls_key_file);
		if (!h.cert || !h.key)
			return -EINVAL;
		h.tls = true;
	}
	if (cfg->spinweb_password_file[0]) {
		err = load_passwords(cfg->spinweb_password_file);
		authcache_reset();
		if (err)
			return err;
		h.auth = true;
	}
	return 0;
}

static int start_listeners(const struct spin_config *cfg)
{
	char list[CONFIG_LIST_MAX], *save = NULL, *tok;
	uint16_t port = (uint16_t)cfg->spinweb_port;
	int err = 0;

	snprintf(list, sizeof(list), "%s",
		 cfg->spinweb_interfaces[0] ? cfg->spinweb_interfaces : "127.0.0.1");
	for (tok = strtok_r(list, ", ", &save); tok && !err; tok = strtok_r(NULL, ", ", &save)) {
		if (h.n >= CONFIG_MAX_WEB_IFS) {
			pr_err("spinweb_interfaces: more than %d addresses", CONFIG_MAX_WEB_IFS);
			return -E2BIG;
		}
		err = start_one(tok, port);
		/* Port 0 (tests): every address shares the port the first one got. */
		port = h.st.port;
	}
	return err;
}

int httpd_start(const struct httpd_opts *opts)
{
	int err;

	memset(&h, 0, sizeof(h));
	h.o = *opts;
	set_limits(&opts->limits);
	h.run_timer = loop_timer_once(1000, on_run_timer, NULL);
	h.keepalive = loop_timer_add(h.lim.sse_keepalive_ms, on_keepalive, NULL);
	if (!h.run_timer || !h.keepalive) {
		err = -errno;
		goto fail;
	}
	pick_root(opts->cfg->web_root);
	host_names(opts->cfg);
	err = start_security(opts->cfg);
	if (!err)
		err = bus_add_listener(on_bus, NULL);
	if (!err) {
		h.listening = true;
		err = start_listeners(opts->cfg);
	}
	if (err)
		goto fail;
	if (h.public && !h.auth)
		pr_warn("web API listens on %s without spinweb_password_file: anyone who reaches "
			"it "
			"controls SPIN (see docs/security.md)",
			opts->cfg->spinweb_interfaces);
	if (h.public && !h.tls)
		pr_warn("web API listens on %s without TLS: passwords cross the network in clear",
			opts->cfg->spinweb_interfaces);
	rearm();
	return 0;
fail:
	httpd_stop();
	return err;
}

void httpd_stop(void)
{
	for (struct sse_client *cl = h.clients; cl; cl = cl->next)
		sse_kill(cl);
	for (struct cap_client *cl = h.caps; cl; cl = cl->next) {
		cl->dead = true;
		cap_wake(cl);
	}
	/* Resumed connections must be processed (and closed) before MHD_stop_daemon. */
	for (int i = 0; i < h.n; i++)
		MHD_run(h.ds[i].d);
	for (int i = 0; i < h.n; i++) {
		loop_unwatch(h.ds[i].w);
		MHD_stop_daemon(h.ds[i].d);
	}
	h.n = 0;
	if (h.listening)
		bus_remove_listener(on_bus, NULL);
	h.listening = false;
	loop_timer_del(h.run_timer);
	loop_timer_del(h.keepalive);
	h.run_timer = h.keepalive = NULL;
	free(h.cert);
	free(h.key);
	h.cert = h.key = NULL;
	explicit_bzero(h.users, sizeof(h.users));
	h.n_users = 0;
	authcache_reset();
}

void httpd_get_stats(struct httpd_stats *st)
{
	*st = h.st;
}
