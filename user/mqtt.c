// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libmosquitto driven by spind's epoll loop instead of its own thread: the socket is watched
 * for EPOLLIN (plus EPOLLOUT while the library has queued bytes), and a 1 s timer runs
 * keepalives, the connect timeout and the reconnect backoff.
 *
 * libmosquitto closes its socket inside our calls (on errors, on reconnect), and the next
 * socket may get the same number. The watch is therefore dropped whenever the connection
 * ends and created afresh for every new socket, never kept across connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <mosquitto.h>

#include "log.h"
#include "loop.h"
#include "mqtt.h"

#define MQTT_BACKOFF_MIN_S     1
#define MQTT_BACKOFF_MAX_S     30
#define MQTT_CONNECT_TIMEOUT_S 10
#define MQTT_MAX_PACKETS       16 /* per read/write call, so one busy socket cannot hog the loop */

struct mqtt_sub {
	char topic[CONFIG_TOPIC_MAX];
	mqtt_msg_cb cb;
	void *ctx;
	enum mqtt_sub_kind kind;
};

enum mqtt_state {
	MQ_IDLE,       /* waiting for the next attempt */
	MQ_CONNECTING, /* TCP connect or CONNECT/CONNACK in flight */
	MQ_CONNECTED,
};

static struct {
	struct mosquitto *mosq;
	bool started;
	bool ever_connected;
	bool tried_once;  /* connect_async done once: later attempts use reconnect_async */
	bool fail_logged; /* this outage was logged once already */
	enum mqtt_state state;
	char host[CONFIG_HOST_MAX];
	int port;
	int keepalive;
	struct loop_watch *watch;
	int watch_fd;
	uint32_t watch_events;
	struct loop_timer *tick;
	struct loop_timer *retry; /* one-shot: the next attempt, exactly after the backoff */
	unsigned int backoff_s;
	int64_t next_attempt;  /* monotonic ms */
	int64_t attempt_start; /* monotonic ms */
	void (*on_connect)(void *ctx);
	void *ctx;
	struct mqtt_sub subs[MQTT_MAX_SUBS];
	unsigned int n_subs;
	struct mqtt_stats st;
} mq = {.watch_fd = -1};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *mosq_err(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void drop_watch(void)
{
	loop_unwatch(mq.watch);
	mq.watch = NULL;
	mq.watch_fd = -1;
	mq.watch_events = 0;
}

static void on_socket(int fd, uint32_t events, void *ctx);

/* Matches the loop's watch to libmosquitto's current socket and its wish to write. */
static void sync_socket(void)
{
	int fd = mosquitto_socket(mq.mosq);
	uint32_t want;

	if (fd < 0) {
		drop_watch();
		return;
	}
	want = EPOLLIN | (mosquitto_want_write(mq.mosq) ? EPOLLOUT : 0);
	if (mq.watch && mq.watch_fd != fd)
		drop_watch();
	if (!mq.watch) {
		mq.watch = loop_watch_fd(fd, want, on_socket, NULL);
		if (!mq.watch) {
			pr_err("mqtt: cannot watch the broker socket: %s", strerror(errno));
			return;
		}
		mq.watch_fd = fd;
		mq.watch_events = want;
	} else if (want != mq.watch_events) {
		if (!loop_watch_modify(mq.watch, want))
			mq.watch_events = want;
	}
}

static void on_retry(void *ctx);

/* The connection ended or never came up: wait, then try again, waiting longer each time. */
static void schedule_retry(void)
{
	drop_watch();
	mq.state = MQ_IDLE;
	mq.next_attempt = now_ms() + mq.backoff_s * 1000;
	/* Without the one-shot timer the 1 s tick still retries, just less precisely. */
	if (!mq.retry)
		mq.retry = loop_timer_once(mq.backoff_s * 1000, on_retry, NULL);
	else
		loop_timer_arm(mq.retry, mq.backoff_s * 1000);
	pr_debug("mqtt: next connection attempt in %u s", mq.backoff_s);
	mq.backoff_s *= 2;
	if (mq.backoff_s > MQTT_BACKOFF_MAX_S)
		mq.backoff_s = MQTT_BACKOFF_MAX_S;
}

static void attempt_connect(void)
{
	int rc;

	/* reconnect_async closes the previous socket, whose number may come back at once. */
	drop_watch();
	mq.st.attempts++;
	if (!mq.tried_once) {
		mq.tried_once = true;
		rc = mosquitto_connect_async(mq.mosq, mq.host, mq.port, mq.keepalive);
	} else {
		rc = mosquitto_reconnect_async(mq.mosq);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		/* One warning per outage; every retry would flood the log. */
		log_print(mq.fail_logged ? LOG_LVL_DEBUG : LOG_LVL_WARN,
			  "mqtt: cannot connect to %s:%d: %s; retrying", mq.host, mq.port,
			  mosq_err(rc));
		mq.fail_logged = true;
		schedule_retry();
		return;
	}
	mq.state = MQ_CONNECTING;
	mq.attempt_start = now_ms();
	sync_socket();
}

static void on_retry(void *ctx)
{
	if (mq.started && mq.state == MQ_IDLE)
		attempt_connect();
}

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc)
{
	unsigned int i;

	if (rc) {
		pr_warn("mqtt: broker %s:%d refused the connection: %s", mq.host, mq.port,
			mosquitto_connack_string(rc));
		schedule_retry();
		return;
	}
	pr_info("mqtt: connected to %s:%d", mq.host, mq.port);
	mq.state = MQ_CONNECTED;
	mq.backoff_s = MQTT_BACKOFF_MIN_S;
	mq.fail_logged = false;
	if (mq.ever_connected)
		mq.st.reconnects++;
	mq.ever_connected = true;
	for (i = 0; i < mq.n_subs; i++) {
		rc = mosquitto_subscribe(mosq, NULL, mq.subs[i].topic, 0);
		if (rc)
			pr_warn("mqtt: cannot subscribe to %s: %s", mq.subs[i].topic, mosq_err(rc));
	}
	if (mq.on_connect)
		mq.on_connect(mq.ctx);
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc)
{
	if (!mq.started)
		return;
	if (mq.state == MQ_CONNECTED) {
		pr_warn("mqtt: lost the connection to %s:%d: %s", mq.host, mq.port,
			rc ? mosq_err(rc) : "closed");
		mq.fail_logged = true;
	}
	schedule_retry();
}

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	unsigned int i;
	bool match;

	for (i = 0; i < mq.n_subs; i++) {
		if (mosquitto_topic_matches_sub(mq.subs[i].topic, m->topic, &match) || !match)
			continue;
		if ((mq.subs[i].kind == MQTT_SUB_RETAINED && !m->retain) ||
		    (mq.subs[i].kind == MQTT_SUB_LIVE && m->retain))
			continue;
		mq.subs[i].cb(m->topic, m->payload, m->payloadlen > 0 ? (size_t)m->payloadlen : 0,
			      mq.subs[i].ctx);
	}
}

/* After any call into libmosquitto: notice a socket it closed without telling us. */
static void after_io(int rc)
{
	if (!mq.started)
		return;
	if (mq.state != MQ_IDLE && mosquitto_socket(mq.mosq) < 0) {
		if (mq.state == MQ_CONNECTED)
			pr_warn("mqtt: lost the connection to %s:%d: %s", mq.host, mq.port,
				mosq_err(rc));
		schedule_retry();
		return;
	}
	if (mq.state != MQ_IDLE)
		sync_socket();
}

static void on_socket(int fd, uint32_t events, void *ctx)
{
	int rc = MOSQ_ERR_SUCCESS;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = mosquitto_loop_read(mq.mosq, MQTT_MAX_PACKETS);
	if (rc == MOSQ_ERR_SUCCESS && (events & EPOLLOUT) && mosquitto_socket(mq.mosq) >= 0)
		rc = mosquitto_loop_write(mq.mosq, MQTT_MAX_PACKETS);
	after_io(rc);
}

static void on_tick(void *ctx)
{
	int64_t now = now_ms();
	int rc;

	switch (mq.state) {
	case MQ_CONNECTED:
		rc = mosquitto_loop_misc(mq.mosq); /* keepalive PINGREQ, keepalive timeout */
		after_io(rc);
		break;
	case MQ_CONNECTING:
		if (now - mq.attempt_start >= MQTT_CONNECT_TIMEOUT_S * 1000) {
			pr_warn("mqtt: no answer from %s:%d within %d s", mq.host, mq.port,
				MQTT_CONNECT_TIMEOUT_S);
			schedule_retry();
		}
		break;
	case MQ_IDLE:
		if (now >= mq.next_attempt + 1000)
			attempt_connect();
		break;
	}
}

static int client_create(const struct spin_config *cfg)
{
	char id[64];
	int rc;

	snprintf(id, sizeof(id), "spind-%ld", (long)getpid());
	mq.mosq = mosquitto_new(id, true, NULL);
	if (!mq.mosq)
		return -errno ?: -ENOMEM;
	mosquitto_int_option(mq.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if (cfg->pubsub_username[0]) {
		rc = mosquitto_username_pw_set(mq.mosq, cfg->pubsub_username,
					       cfg->pubsub_password[0] ? cfg->pubsub_password
								       : NULL);
		if (rc) {
			pr_err("mqtt: pubsub_username: %s", mosq_err(rc));
			return -EINVAL;
		}
	}
	mosquitto_connect_callback_set(mq.mosq, on_connect_cb);
	mosquitto_disconnect_callback_set(mq.mosq, on_disconnect_cb);
	mosquitto_message_callback_set(mq.mosq, on_message_cb);
	return 0;
}

int mqtt_start(const struct spin_config *cfg, void (*on_connect)(void *ctx), void *ctx)
{
	int err;

	if (mq.started)
		return -EALREADY;
	mosquitto_lib_init();
	memset(&mq.st, 0, sizeof(mq.st));
	snprintf(mq.host, sizeof(mq.host), "%s", cfg->pubsub_host);
	mq.port = (int)cfg->pubsub_port;
	mq.keepalive = (int)cfg->pubsub_timeout;
	mq.on_connect = on_connect;
	mq.ctx = ctx;
	mq.backoff_s = MQTT_BACKOFF_MIN_S;
	mq.ever_connected = false;
	mq.tried_once = false;
	mq.fail_logged = false;
	mq.state = MQ_IDLE;
	err = client_create(cfg);
	if (err)
		goto fail;
	mq.tick = loop_timer_add(1000, on_tick, NULL);
	if (!mq.tick) {
		err = -errno;
		pr_err("mqtt: cannot create the timer: %s", strerror(-err));
		goto fail;
	}
	mq.started = true;
	attempt_connect();
	return 0;
fail:
	mqtt_stop();
	return err;
}

void mqtt_stop(void)
{
	bool was_connected = mq.state == MQ_CONNECTED;

	mq.started = false;
	if (mq.mosq && was_connected) {
		/* Best effort: a DISCONNECT lets the broker drop our session at once. */
		mosquitto_disconnect(mq.mosq);
		mosquitto_loop_write(mq.mosq, 1);
	}
	drop_watch();
	loop_timer_del(mq.tick);
	mq.tick = NULL;
	loop_timer_del(mq.retry);
	mq.retry = NULL;
	if (mq.mosq) {
		mosquitto_destroy(mq.mosq);
		mosquitto_lib_cleanup();
	}
	mq.mosq = NULL;
	mq.state = MQ_IDLE;
	mq.n_subs = 0;
	mq.st.connected = false;
}

int mqtt_publish(const char *topic, const void *payload, size_t len, bool retain)
{
	int rc;

	if (!topic || !*topic || len > INT32_MAX || (len && !payload))
		return -EINVAL;
	if (!mq.started || mq.state != MQ_CONNECTED) {
		mq.st.dropped++;
		return -ENOTCONN;
	}
	rc = mosquitto_publish(mq.mosq, NULL, topic, (int)len, payload, 0, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		mq.st.dropped++;
		if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ||
		    rc == MOSQ_ERR_MALFORMED_UTF8)
			return -EINVAL;
		/* The library found the socket dead while writing. */
		after_io(rc);
		return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? -ENOTCONN : -EIO;
	}
	mq.st.published++;
	/* Whatever did not fit into the socket is queued: ask for EPOLLOUT. */
	sync_socket();
	return 0;
}

int mqtt_subscribe(const char *topic, mqtt_msg_cb cb, void *ctx)
{
	return mqtt_subscribe_opts(topic, cb, ctx, MQTT_SUB_ALL);
}

int mqtt_subscribe_opts(const char *topic, mqtt_msg_cb cb, void *ctx, enum mqtt_sub_kind kind)
{
	struct mqtt_sub *s;
	int rc;

	if (!topic || !cb || strlen(topic) >= CONFIG_TOPIC_MAX ||
	    mosquitto_sub_topic_check(topic) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	if (mq.n_subs >= MQTT_MAX_SUBS)
		return -ENOSPC;
	s = &mq.subs[mq.n_subs++];
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->cb = cb;
	s->ctx = ctx;
	s->kind = kind;
	if (mq.started && mq.state == MQ_CONNECTED) {
		rc = mosquitto_subscribe(mq.mosq, NULL, topic, 0);
		if (rc)
			pr_warn("mqtt: cannot subscribe to %s now: %s; retrying on reconnect",
				topic, mosq_err(rc));
		sync_socket();
	}
	return 0;
}

bool mqtt_connected(void)
{
	return mq.started && mq.state == MQ_CONNECTED;
}

void mqtt_get_stats(struct mqtt_stats *st)
{
	*st = mq.st;
	st->connected = mqtt_connected();
}

/* ---- the private broker (pubsub_run_mosquitto) ---- */

static struct {
	pid_t pid;
	char conf[CONFIG_PATH_MAX + 32];
	char pidfile[CONFIG_PATH_MAX + 32];
} broker;

pid_t mqtt_broker_pid(void)
{
	return broker.pid;
}

/*
 * mosquitto's WebSocket listener (libwebsockets) ignores the host part of "listener" and
 * listens on every address; bind_interface with the interface holding that address keeps it
 * where the configuration says.
 */
static void ws_bind_lines(const char *host, FILE *f)
{
	struct ifaddrs *ifs, *i;
	struct in6_addr a6;
	struct in_addr a4;
	bool v4 = inet_pton(AF_INET, host, &a4) == 1;
	bool v6 = !v4 && inet_pton(AF_INET6, host, &a6) == 1;
	const char *found = NULL;

	if ((v4 && a4.s_addr == htonl(INADDR_ANY)) || (v6 && IN6_IS_ADDR_UNSPECIFIED(&a6)))
		return;
	if ((!v4 && !v6) || getifaddrs(&ifs)) {
		pr_warn("mqtt: pubsub_websocket_host %s is not a local address; the WebSocket "
			"listener listens on all addresses",
			host);
		return;
	}
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (v4 && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a4.s_addr)
			found = i->ifa_name;
		if (v6 && i->ifa_addr->sa_family == AF_INET6 &&
		    !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, &a6, sizeof(a6)))
			found = i->ifa_name;
	}
	if (found)
		fprintf(f, "bind_interface %s\nsocket_domain %s\n", found, v4 ? "ipv4" : "ipv6");
	else
		pr_warn("mqtt: no interface has pubsub_websocket_host %s; the WebSocket listener "
			"listens on all addresses",
			host);
	freeifaddrs(ifs);
}

static int write_broker_conf(const struct spin_config *cfg, const char *path)
{
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	fprintf(f, "# Generated by spind from its configuration; rewritten at every start.\n");
	fprintf(f, "per_listener_settings false\npersistence false\n");
	fprintf(f, "log_dest stderr\nlog_type error\nlog_type warning\n");
	if (cfg->pubsub_run_password_file[0])
		fprintf(f, "allow_anonymous false\npassword_file %s\n",
			cfg->pubsub_run_password_file);
	else
		fprintf(f, "allow_anonymous true\n");
	fprintf(f, "\nlistener %u %s\nprotocol mqtt\n", cfg->pubsub_port, cfg->pubsub_host);
	if (cfg->pubsub_websocket_port) {
		fprintf(f, "\nlistener %u %s\nprotocol websockets\n", cfg->pubsub_websocket_port,
			cfg->pubsub_websocket_host);
		ws_bind_lines(cfg->pubsub_websocket_host, f);
	}
	if (fclose(f))
		return -errno;
	return 0;
}

static bool port_accepts(const char *host, unsigned int port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char service[8];
	bool ok;
	int fd;

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &res))
		return false;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = fd >= 0 && !connect(fd, res->ai_addr, res->ai_addrlen);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ok;
}

/* Startup only (before the loop runs): polls until the listeners accept, or the broker died. */
static int wait_for_broker(const struct spin_config *cfg)
{
	int i, status;

	for (i = 0; i < 250; i++) {
		if (waitpid(broker.pid, &status, WNOHANG) == broker.pid) {
			broker.pid = 0;
			return -ECHILD;
		}
		if (port_accepts(cfg->pubsub_host, cfg->pubsub_port) &&
		    (!cfg->pubsub_websocket_port ||
		     port_accepts(cfg->pubsub_websocket_host, cfg->pubsub_websocket_port)))
			return 0;
		poll(NULL, 0, 20);
	}
	return -ETIMEDOUT;
}

static int spawn_broker(const char *conf)
{
	char *argv[] = {"mosquitto", "-c", (char *)conf, NULL};
	sigset_t none;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The loop blocks SIGTERM/SIGINT for its signalfd; the broker must see them. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* A crashed spind takes its private broker along instead of leaving the port taken. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execvp(argv[0], argv);
		_exit(127);
	}
	broker.pid = pid;
	return 0;
}

/*
 * mosquitto drops root for its own user, which clears the parent-death signal, so a crashed
 * spind leaves its broker behind, holding the ports. The PID recorded at the last start ends
 * it, if that process still runs our configuration.
 */
static void stop_stale_broker(void)
{
	char path[64], cmdline[CONFIG_PATH_MAX + 64];
	size_t n, i;
	FILE *f;
	long pid = 0;
	int tries;

	f = fopen(broker.pidfile, "re");
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || pid > INT32_MAX)
		pid = 0;
	fclose(f);
	unlink(broker.pidfile);
	if (!pid)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
	fclose(f);
	for (i = 0; i < n; i++)
		if (!cmdline[i])
			cmdline[i] = ' ';
	cmdline[n] = '\0';
	if (!strstr(cmdline, "mosquitto") || !strstr(cmdline, broker.conf))
		return;
	pr_warn("mqtt: stopping mosquitto (pid %ld) left by a previous spind", pid);
	kill((pid_t)pid, SIGTERM);
	for (tries = 0; tries < 100 && !kill((pid_t)pid, 0); tries++)
		poll(NULL, 0, 20);
}

static void write_pidfile(void)
{
	FILE *f = fopen(broker.pidfile, "we");

	if (!f) {
		pr_warn("mqtt: cannot write %s: %s", broker.pidfile, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)broker.pid);
	fclose(f);
}

bool mqtt_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!strcmp(host, "localhost") || !strcmp(host, "ip6-localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * An anonymous broker on the LAN lets any device read every flow and, with jsonrpc_mqtt, change
 * the lists: said at start, as the web API says it of its own listeners.
 */
static void warn_if_open(const struct spin_config *cfg)
{
	if (cfg->pubsub_run_password_file[0])
		return;
	if (!mqtt_host_is_loopback(cfg->pubsub_host))
		pr_warn("mqtt: the private broker listens on %s without pubsub_run_password_file: "
			"anyone who reaches it reads all traffic%s (see docs/security.md)",
			cfg->pubsub_host,
			cfg->jsonrpc_mqtt ? " and controls SPIN (jsonrpc_mqtt)" : "");
	if (cfg->pubsub_websocket_port && !mqtt_host_is_loopback(cfg->pubsub_websocket_host))
		pr_warn("mqtt: the private broker's WebSocket listener is on %s without "
			"pubsub_run_password_file: anyone who reaches it reads all traffic%s (see "
			"docs/security.md)",
			cfg->pubsub_websocket_host,
			cfg->jsonrpc_mqtt ? " and controls SPIN (jsonrpc_mqtt)" : "");
}

int mqtt_broker_start(const struct spin_config *cfg)
{
	int err;

	if (broker.pid)
		return -EALREADY;
	if (mkdir(cfg->run_dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("mqtt: run_dir %s: %s", cfg->run_dir, strerror(-err));
		return err;
	}
	snprintf(broker.conf, sizeof(broker.conf), "%s/mosquitto.conf", cfg->run_dir);
	snprintf(broker.pidfile, sizeof(broker.pidfile), "%s/mosquitto.pid", cfg->run_dir);
	stop_stale_broker();
	err = write_broker_conf(cfg, broker.conf);
	if (err) {
		pr_err("mqtt: cannot write %s: %s", broker.conf, strerror(-err));
		return err;
	}
	err = spawn_broker(broker.conf);
	if (err) {
		pr_err("mqtt: cannot start mosquitto: %s", strerror(-err));
		return err;
	}
	write_pidfile();
	warn_if_open(cfg);
	err = wait_for_broker(cfg);
	if (err) {
		pr_err("mqtt: the private mosquitto %s (configuration %s)",
		       err == -ECHILD ? "exited at once" : "does not accept connections",
		       broker.conf);
		mqtt_broker_stop();
		return err;
	}
	pr_info("mqtt: started mosquitto (pid %d) on %s:%u", (int)broker.pid, cfg->pubsub_host,
		cfg->pubsub_port);
	return 0;
}

void mqtt_broker_stop(void)
{
	int i, status;

	if (broker.pid > 0) {
		kill(broker.pid, SIGTERM);
		for (i = 0; i < 100; i++) {
			if (waitpid(broker.pid, &status, WNOHANG) != 0)
				break;
			poll(NULL, 0, 20);
		}
		if (i == 100) {
			pr_warn("mqtt: mosquitto (pid %d) ignored SIGTERM; killing it",
				(int)broker.pid);
			kill(broker.pid, SIGKILL);
			waitpid(broker.pid, &status, 0);
		}
	}
	broker.pid = 0;
	if (broker.conf[0])
		unlink(broker.conf);
	if (broker.pidfile[0])
		unlink(broker.pidfile);
	broker.conf[0] = '\0';
	broker.pidfile[0] = '\0';
}
