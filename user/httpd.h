/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The web API (libmicrohttpd) inside spind's one event loop: JSON-RPC, the Server-Sent Events
 * stream of SPIN's messages, status, Prometheus metrics and the browser app's static files.
 * No MHD thread: each daemon's epoll fd is watched by the loop. Every rule a security reviewer
 * asks for lives here: TLS, Basic authentication, Host and CSRF checks, path confinement, and
 * limits on body and header size, connections and request rate. See docs/api.md and
 * docs/security.md.
 */
#ifndef SPIN_HTTPD_H
#define SPIN_HTTPD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define HTTPD_API_PREFIX "/spin_api/"

/* Tunables; zero fields take the defaults below (tests shrink them). */
struct httpd_limits {
	unsigned int max_body;	       /* bytes of a request body; <= RPC_MAX_BODY; 413 above */
	unsigned int header_mem;       /* per-connection memory for headers (MHD memory limit) */
	unsigned int per_ip_conns;     /* simultaneous connections from one address */
	unsigned int timeout_s;	       /* idle connection timeout (not the event stream) */
	unsigned int rate_per_s;       /* requests per second per client address (sustained) */
	unsigned int rate_burst;       /* requests a client may make at once; 429 beyond */
	unsigned int sse_queue;	       /* bytes queued per event-stream client; disconnect above */
	unsigned int sse_keepalive_ms; /* ": keepalive" comment interval */
	bool rate_loopback;	       /* rate-limit loopback clients too (local tools are not) */
};

#define HTTPD_DEF_MAX_BODY	   (256 * 1024)
#define HTTPD_DEF_HEADER_MEM	   (32 * 1024)
#define HTTPD_DEF_PER_IP_CONNS	   32
#define HTTPD_DEF_TIMEOUT_S	   30
#define HTTPD_DEF_RATE_PER_S	   200
#define HTTPD_DEF_RATE_BURST	   400
#define HTTPD_DEF_SSE_QUEUE	   (1024 * 1024)
#define HTTPD_DEF_SSE_KEEPALIVE_MS 5000 /* also how soon a gone client frees its slot */

struct httpd_opts {
	const struct spin_config *cfg; /* spinweb_*, web_root, http_max_connections */
	struct httpd_limits limits;
	bool kernel; /* the kernel side is open: status and metrics read its maps */
};

struct httpd_stats {
	uint64_t requests;
	uint64_t rpc_requests;
	uint64_t rejected_4xx;	 /* every 4xx answer */
	uint64_t auth_failures;	 /* 401 */
	uint64_t auth_throttled; /* 429: password checks over budget (authcache.h) */
	uint64_t csrf_rejected;	 /* 403 on content type or Origin */
	uint64_t host_rejected;	 /* 403: a Host header that does not name this server */
	uint64_t rate_limited;	 /* 429 */
	uint64_t too_large;	 /* 413 */
	uint64_t sse_clients;	 /* connected now */
	uint64_t sse_connects;	 /* ever */
	uint64_t sse_messages;	 /* messages queued to clients */
	uint64_t sse_slow_drops; /* clients disconnected because their queue overflowed */
	uint64_t idle_evicted;	 /* idle connections closed to make room for a new one */
	uint16_t port;		 /* the port actually bound (spinweb_port 0 picks a free one) */
};

/*
 * Starts one MHD daemon per address in cfg->spinweb_interfaces on cfg->spinweb_port, with TLS
 * when both spinweb_tls_* files are set and Basic auth when spinweb_password_file is set.
 * loop_init() and bus_init() first. Returns 0 or -errno (the cause is logged, naming the
 * setting).
 */
int httpd_start(const struct httpd_opts *opts);
/* Disconnects every client and frees everything; fine to call when never started. */
void httpd_stop(void);
void httpd_get_stats(struct httpd_stats *st);

#endif
