// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The MQTT module against a real mosquitto on 127.0.0.1 (free high ports): publish, retained
 * flag, subscribe, broker loss (publishes refused at once, the loop keeps running), automatic
 * reconnection with on_connect again, a broker that is down at start, and the private broker
 * of pubsub_run_mosquitto. An independent libmosquitto client (its own thread) observes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <mosquitto.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"

static char tmpdir[] = "/tmp/spin-test-mqtt.XXXXXX";
static pid_t test_broker = -1;

/* ---- helpers ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Listening sockets on port whose address is not 127.0.0.1 (from /proc/net/tcp and tcp6). */
static int listeners_not_loopback(int port)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	char line[512], local[64], want[8];
	unsigned int st;
	int i, n = 0;
	FILE *f;

	snprintf(want, sizeof(want), ":%04X", port);
	for (i = 0; i < 2; i++) {
		f = fopen(files[i], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%*d: %63s %*s %x", local, &st) != 2 || st != 0x0A)
				continue;
			if (strlen(local) < 5 || strcmp(local + strlen(local) - 5, want))
				continue;
			if (strcmp(local, "0100007F") && strncmp(local, "0100007F:", 9))
				n++;
		}
		fclose(f);
	}
	return n;
}

static void stop_test_broker(void)
{
	int status;

	if (test_broker > 0) {
		kill(test_broker, SIGTERM);
		waitpid(test_broker, &status, 0);
	}
	test_broker = -1;
}

static int start_test_broker(int port)
{
	char conf[256];
	FILE *f;
	int i;

	snprintf(conf, sizeof(conf), "%s/test-broker.conf", tmpdir);
	f = fopen(conf, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
		"log_dest stderr\nlog_type error\n",
		port);
	/* As root mosquitto would switch users, which clears the parent-death signal below. */
	if (geteuid() == 0)
		fprintf(f, "user root\n");
	fclose(f);
	test_broker = fork();
	if (test_broker < 0)
		return -errno;
	if (test_broker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 250; i++) {
		if (port_accepts(port))
			return 0;
		usleep(20000);
	}
	stop_test_broker();
	return -ETIMEDOUT;
}

static void cleanup(void)
{
	stop_test_broker();
	mqtt_broker_stop();
	check_rm_tree(tmpdir);
}

static void on_signal(int sig)
{
	/* Only async-signal-safe calls: kill the broker by PID and leave. */
	if (test_broker > 0)
		kill(test_broker, SIGKILL);
	if (mqtt_broker_pid() > 0)
		kill(mqtt_broker_pid(), SIGKILL);
	_exit(128 + sig);
}

static bool (*until_pred)(void);

static void until_tick(void *ctx)
{
	if (until_pred())
		loop_stop();
}

static void until_guard(void *ctx)
{
	loop_stop();
}

/* Runs the loop until pred() holds or timeout_ms passed; returns pred(). */
static bool run_until(bool (*pred)(void), unsigned int timeout_ms)
{
	struct loop_timer *tick, *guard;

	until_pred = pred;
	tick = loop_timer_add(10, until_tick, NULL);
	guard = loop_timer_once(timeout_ms, until_guard, NULL);
	if (!pred())
		loop_run();
	loop_timer_del(tick);
	loop_timer_del(guard);
	return pred();
}

static bool never(void)
{
	return false;
}

/* ---- the observer: an independent client in its own thread ---- */

#define OBS_MAX 32

struct observer {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	bool subscribed;
	int n;
	struct {
		char topic[128];
		char payload[256];
		bool retain;
	} msgs[OBS_MAX];
};

static void obs_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	if (!rc)
		mosquitto_subscribe(mosq, NULL, "SPIN/test/#", 0);
}

static void obs_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *qos)
{
	struct observer *o = obj;

	pthread_mutex_lock(&o->lock);
	o->subscribed = true;
	pthread_mutex_unlock(&o->lock);
}

static void obs_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct observer *o = obj;

	pthread_mutex_lock(&o->lock);
	if (o->n < OBS_MAX) {
		snprintf(o->msgs[o->n].topic, sizeof(o->msgs[0].topic), "%s", m->topic);
		snprintf(o->msgs[o->n].payload, sizeof(o->msgs[0].payload), "%.*s", m->payloadlen,
			 (const char *)m->payload);
		o->msgs[o->n].retain = m->retain;
		o->n++;
	}
	pthread_mutex_unlock(&o->lock);
}

static struct observer *observer_new(int port)
{
	struct observer *o = calloc(1, sizeof(*o));

	pthread_mutex_init(&o->lock, NULL);
	o->mosq = mosquitto_new(NULL, true, o);
	mosquitto_connect_callback_set(o->mosq, obs_on_connect);
	mosquitto_subscribe_callback_set(o->mosq, obs_on_subscribe);
	mosquitto_message_callback_set(o->mosq, obs_on_message);
	if (mosquitto_connect(o->mosq, "127.0.0.1", port, 30) || mosquitto_loop_start(o->mosq))
		fprintf(stderr, "observer cannot connect to port %d\n", port);
	return o;
}

static void observer_free(struct observer *o)
{
	if (!o)
		return;
	mosquitto_disconnect(o->mosq);
	mosquitto_loop_stop(o->mosq, true);
	mosquitto_destroy(o->mosq);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* Index of the first message on topic, or -1. */
static int observer_find(struct observer *o, const char *topic)
{
	int i, found = -1;

	pthread_mutex_lock(&o->lock);
	for (i = 0; i < o->n && found < 0; i++)
		if (!strcmp(o->msgs[i].topic, topic))
			found = i;
	pthread_mutex_unlock(&o->lock);
	return found;
}

static struct observer *obs;
static const char *obs_topic;

static bool obs_subscribed(void)
{
	bool s;

	pthread_mutex_lock(&obs->lock);
	s = obs->subscribed;
	pthread_mutex_unlock(&obs->lock);
	return s;
}

static bool obs_got_topic(void)
{
	return observer_find(obs, obs_topic) >= 0;
}

/* ---- the module's callbacks ---- */

static int connects;
static int connects_published; /* publishes from inside on_connect that succeeded */
static int sub_calls;
static char sub_payload[64];
static char sub_topic[64];

static void on_connect(void *ctx)
{
	connects++;
	/* What spind does here: publish its state again; must work from inside the callback. */
	static const char msg[] = "{\"command\":\"serverRestart\"}";

	connects_published += mqtt_publish("SPIN/test/restart", msg, sizeof(msg) - 1, false) == 0;
}

static void on_rpc(const char *topic, const void *payload, size_t len, void *ctx)
{
	sub_calls++;
	snprintf(sub_topic, sizeof(sub_topic), "%s", topic);
	snprintf(sub_payload, sizeof(sub_payload), "%.*s", (int)len, (const char *)payload);
}

static bool connected_once(void)
{
	return connects >= 1;
}

static bool connected_twice(void)
{
	return connects >= 2;
}

static bool disconnected(void)
{
	return !mqtt_connected();
}

static bool is_connected(void)
{
	return mqtt_connected();
}

static int sub_calls_wanted;

static bool got_sub(void)
{
	return sub_calls >= sub_calls_wanted;
}

static int ticks;

static void count_tick(void *ctx)
{
	ticks++;
}

static void on_puback(struct mosquitto *m, void *obj, int mid)
{
	*(bool *)obj = true;
}

/*
 * QoS 1 when retained: returns after the broker's PUBACK, so the message is kept before anyone
 * subscribes (else it may arrive after a subscription, as a live one).
 */
static void publish_retain(int port, const char *topic, const char *payload, bool retain)
{
	bool acked = false;
	struct mosquitto *m = mosquitto_new(NULL, true, &acked);

	mosquitto_publish_callback_set(m, on_puback);
	if (!mosquitto_connect(m, "127.0.0.1", port, 30)) {
		mosquitto_publish(m, NULL, topic, (int)strlen(payload), payload, retain ? 1 : 0,
				  retain);
		mosquitto_loop(m, 100, 1);
		for (int i = 0; retain && !acked && i < 30; i++)
			mosquitto_loop(m, 100, 1);
		mosquitto_disconnect(m);
		mosquitto_loop(m, 100, 1);
	}
	mosquitto_destroy(m);
}

static void publish_from_observer(int port, const char *topic, const char *payload)
{
	publish_retain(port, topic, payload, false);
}

/* ---- the tests ---- */

static void test_not_started(void)
{
	struct mqtt_stats st;

	mqtt_stop();
	CHECK(!mqtt_connected(), "not connected before mqtt_start");
	CHECK_INT(mqtt_publish("SPIN/test/x", "x", 1, false), -ENOTCONN,
		  "publish before mqtt_start is refused");
	mqtt_get_stats(&st);
	CHECK_INT(st.dropped, 1, "refused publish counted as dropped");
}

static void test_publish(struct spin_config *cfg, int port)
{
	struct observer *late, *first;
	struct mqtt_stats st;
	int i;

	CHECK_INT(mqtt_start(cfg, on_connect, NULL), 0, "mqtt_start");
	CHECK_INT(mqtt_start(cfg, on_connect, NULL), -EALREADY, "second mqtt_start refused");
	CHECK(run_until(connected_once, 5000), "connected through the loop, on_connect called");
	CHECK(mqtt_connected(), "mqtt_connected() after on_connect");

	obs = observer_new(port);
	CHECK(run_until(obs_subscribed, 5000), "observer subscribed");

	CHECK_INT(mqtt_publish("SPIN/test/live", "hello", 5, false), 0, "publish returns 0");
	obs_topic = "SPIN/test/live";
	CHECK(run_until(obs_got_topic, 3000), "observer received the message");
	i = observer_find(obs, "SPIN/test/live");
	if (i >= 0) {
		CHECK_STR(obs->msgs[i].payload, "hello", "payload arrived intact");
		CHECK_INT(obs->msgs[i].retain, 0, "non-retained message has no retain flag");
	}

	CHECK_INT(mqtt_publish("SPIN/test/node/7", "{\"id\":7}", 8, true), 0,
		  "retained publish returns 0");
	obs_topic = "SPIN/test/node/7";
	CHECK(run_until(obs_got_topic, 3000), "observer received the retained message live");

	/* Only a subscriber that arrives later sees the retain flag. */
	first = obs;
	late = observer_new(port);
	obs = late;
	CHECK(run_until(obs_got_topic, 3000), "late subscriber received the retained message");
	i = observer_find(late, "SPIN/test/node/7");
	if (i >= 0) {
		CHECK_STR(late->msgs[i].payload, "{\"id\":7}", "retained payload intact");
		CHECK_INT(late->msgs[i].retain, 1, "retained message carries the retain flag");
	}
	observer_free(late);
	obs = first;

	CHECK_INT(mqtt_publish("SPIN/test/big", NULL, 1, false), -EINVAL,
		  "payload NULL with length refused");
	CHECK_INT(mqtt_publish("SPIN/test/+", "x", 1, false), -EINVAL, "wildcard topic refused");
	mqtt_get_stats(&st);
	CHECK(st.published >= 3, "published counter counts");
}

static void test_subscribe(int port)
{
	CHECK_INT(mqtt_subscribe("SPIN/jsonrpc/q", on_rpc, NULL), 0, "mqtt_subscribe");
	CHECK_INT(mqtt_subscribe("SPIN/#/bad", on_rpc, NULL), -EINVAL, "bad filter refused");
	run_until(never, 300); /* let the SUBACK come back */
	publish_from_observer(port, "SPIN/jsonrpc/q", "{\"jsonrpc\":\"2.0\",\"id\":1}");
	sub_calls_wanted = 1;
	CHECK(run_until(got_sub, 3000), "subscription callback called");
	CHECK_STR(sub_topic, "SPIN/jsonrpc/q", "callback got the topic");
	CHECK_STR(sub_payload, "{\"jsonrpc\":\"2.0\",\"id\":1}", "callback got the payload");
}

static int live_calls, all_calls;
static char live_payload[64];

static void on_live(const char *topic, const void *payload, size_t len, void *ctx)
{
	live_calls++;
	snprintf(live_payload, sizeof(live_payload), "%.*s", (int)len, (const char *)payload);
}

static void on_all(const char *topic, const void *payload, size_t len, void *ctx)
{
	all_calls++;
}

static bool got_all(void)
{
	return all_calls >= 1;
}

static bool got_live(void)
{
	return live_calls >= 1;
}

/*
 * A request kept by the broker (published with the retain flag) reaches a live-only subscriber
 * never: the broker hands it out again at every subscription, so after each reconnection or
 * restart spind would carry it out once more (JSON-RPC over MQTT).
 */
static void test_subscribe_live(int port)
{
	publish_retain(port, "SPIN/test/q", "kept", true);
	CHECK_INT(mqtt_subscribe_opts("SPIN/test/q", on_live, NULL, MQTT_SUB_LIVE), 0,
		  "live-only subscription");
	CHECK_INT(mqtt_subscribe_opts("SPIN/test/q", on_all, NULL, MQTT_SUB_ALL), 0,
		  "subscription to everything on the same topic");
	CHECK(run_until(got_all, 3000), "the broker sent its retained message at subscription");
	run_until(never, 300);
	CHECK_INT(live_calls, 0,
		  "the retained message is not delivered to the live-only subscriber");
	publish_from_observer(port, "SPIN/test/q", "live");
	CHECK(run_until(got_live, 3000), "a live publication is delivered");
	CHECK_STR(live_payload, "live", "live-only subscriber got the live payload");
	publish_retain(port, "SPIN/test/q", "", true); /* clears the retained message */
}

static void test_broker_loss(int port)
{
	struct loop_timer *t;
	struct mqtt_stats st;
	double t0, dt, cpu;
	uint64_t attempts;
	int ret;

	observer_free(obs);
	obs = NULL;
	stop_test_broker();
	CHECK(run_until(disconnected, 5000), "broker loss noticed");

	t0 = now_ms();
	ret = mqtt_publish("SPIN/test/live", "lost", 4, false);
	dt = now_ms() - t0;
	CHECK_INT(ret, -ENOTCONN, "publish while the broker is down returns -ENOTCONN");
	CHECK(dt < 5, "and returns at once (under 5 ms)");
	mqtt_get_stats(&st);
	CHECK(st.dropped >= 1 && !st.connected, "dropped counted, stats say disconnected");

	ticks = 0;
	attempts = st.attempts;
	t = loop_timer_add(100, count_tick, NULL);
	cpu = cpu_ms();
	run_until(never, 1500);
	cpu = cpu_ms() - cpu;
	loop_timer_del(t);
	mqtt_get_stats(&st);
	CHECK(st.attempts > attempts, "reconnection attempted while the broker is down");
	printf("# 1.5 s with the broker down: %d ticks of a 100 ms timer, %.1f ms CPU\n", ticks,
	       cpu);
	CHECK(ticks >= 12, "other timers keep running while the broker is down");
	CHECK(cpu < 150, "no busy loop while the broker is down (under 150 ms CPU in 1.5 s)");
}

static void test_reconnect(int port)
{
	struct mqtt_stats st;
	double t0 = now_ms();

	CHECK_INT(start_test_broker(port), 0, "broker restarted on the same port");
	CHECK(run_until(connected_twice, 20000), "reconnected by itself, on_connect called again");
	printf("# reconnected %.0f ms after the broker came back\n", now_ms() - t0);
	mqtt_get_stats(&st);
	printf("# %llu connection attempts so far\n", (unsigned long long)st.attempts);
	CHECK_INT(st.reconnects, 1, "reconnects counter");

	obs = observer_new(port);
	CHECK(run_until(obs_subscribed, 5000), "observer subscribed after the restart");
	CHECK_INT(mqtt_publish("SPIN/test/again", "back", 4, false), 0,
		  "publish after reconnect returns 0");
	obs_topic = "SPIN/test/again";
	CHECK(run_until(obs_got_topic, 3000), "message after reconnect arrives");
	observer_free(obs);
	obs = NULL;

	publish_from_observer(port, "SPIN/jsonrpc/q", "second");
	sub_calls_wanted = 2;
	CHECK(run_until(got_sub, 3000), "subscription renewed after reconnect");
	CHECK_STR(sub_payload, "second", "renewed subscription got the payload");

	mqtt_stop();
	CHECK(!mqtt_connected(), "mqtt_stop disconnects");
	mqtt_stop();
	stop_test_broker();
}

static void test_broker_down_at_start(struct spin_config *cfg)
{
	int port = free_port();

	connects = 0;
	cfg->pubsub_port = (unsigned int)port;
	CHECK_INT(mqtt_start(cfg, on_connect, NULL), 0, "mqtt_start with the broker down");
	run_until(never, 300);
	CHECK(!mqtt_connected(), "not connected while no broker listens");
	CHECK_INT(start_test_broker(port), 0, "broker started late");
	CHECK(run_until(is_connected, 10000), "connected once the broker appeared");
	CHECK_INT(connects, 1, "on_connect called once");
	mqtt_stop();
	stop_test_broker();
}

/* A broker left by a crashed spind (not our child: double fork) is stopped by its PID file. */
static void test_stale_broker(struct spin_config *cfg)
{
	char conf[300], pidfile[300];
	pid_t child, stale = 0;
	int pfd[2], status, i;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", cfg->run_dir);
	snprintf(pidfile, sizeof(pidfile), "%s/mosquitto.pid", cfg->run_dir);
	f = fopen(conf, "w");
	if (!f || pipe(pfd)) {
		CHECK(0, "stale broker set up");
		return;
	}
	fprintf(f, "listener %u 127.0.0.1\nallow_anonymous true\nuser root\n", cfg->pubsub_port);
	fclose(f);
	child = fork();
	if (child == 0) {
		pid_t g = fork();

		if (g == 0) {
			execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
			_exit(127);
		}
		if (write(pfd[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	waitpid(child, &status, 0);
	if (read(pfd[0], &stale, sizeof(stale)) != sizeof(stale))
		stale = 0;
	close(pfd[0]);
	close(pfd[1]);
	for (i = 0; i < 250 && !port_accepts((int)cfg->pubsub_port); i++)
		usleep(20000);
	f = fopen(pidfile, "w");
	if (f) {
		fprintf(f, "%d\n", (int)stale);
		fclose(f);
	}
	CHECK(stale > 0 && port_accepts((int)cfg->pubsub_port), "stale broker holds the port");
	CHECK_INT(mqtt_broker_start(cfg), 0, "mqtt_broker_start replaces a stale broker");
	CHECK(kill(stale, 0) < 0 && errno == ESRCH, "stale broker stopped by its recorded PID");
	if (kill(stale, 0) == 0)
		kill(stale, SIGKILL);
	mqtt_broker_stop();
}

/* Which listener hosts make spind warn about an anonymous broker (none of these is bound). */
static void test_loopback_hosts(void)
{
	static const char *const local[] = {"127.0.0.1", "127.0.0.53", "::1", "localhost"};
	static const char *const open[] = {
		"0.0.0.0",	   "::", "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1",
		"gateway.example", ""};

	char name[96];

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		snprintf(name, sizeof(name), "broker host '%s' is loopback: no warning", local[i]);
		CHECK(mqtt_host_is_loopback(local[i]), name);
	}
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		snprintf(name, sizeof(name), "broker host '%s' is not loopback: warned", open[i]);
		CHECK(!mqtt_host_is_loopback(open[i]), name);
	}
}

static void test_private_broker(struct spin_config *cfg)
{
	char path[300];
	struct stat sb;
	pid_t pid;
	int blocker, port, recorded = 0;
	FILE *f;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	cfg->pubsub_run_mosquitto = true;
	cfg->pubsub_port = (unsigned int)free_port();
	cfg->pubsub_websocket_port = (unsigned int)free_port();
	snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s/run", tmpdir);
	CHECK_INT(mqtt_broker_start(cfg), 0, "mqtt_broker_start");
	pid = mqtt_broker_pid();
	CHECK(pid > 0 && kill(pid, 0) == 0, "private broker runs with a recorded PID");
	CHECK(port_accepts((int)cfg->pubsub_port), "private broker listens on pubsub_port");
	CHECK(port_accepts((int)cfg->pubsub_websocket_port),
	      "private broker listens on pubsub_websocket_port");
	CHECK_INT(listeners_not_loopback((int)cfg->pubsub_port), 0,
		  "MQTT listener bound to 127.0.0.1 only");
	CHECK_INT(listeners_not_loopback((int)cfg->pubsub_websocket_port), 0,
		  "WebSocket listener bound to 127.0.0.1 only");
	snprintf(path, sizeof(path), "%s/mosquitto.conf", cfg->run_dir);
	CHECK_INT(stat(path, &sb), 0, "broker configuration written to run_dir");
	CHECK_INT(sb.st_mode & 0777, 0600, "broker configuration is private (0600)");
	CHECK_INT(mqtt_broker_start(cfg), -EALREADY, "second mqtt_broker_start refused");
	snprintf(path, sizeof(path), "%s/mosquitto.pid", cfg->run_dir);
	f = fopen(path, "r");
	CHECK(f && fscanf(f, "%d", &recorded) == 1 && recorded == pid,
	      "broker PID recorded in run_dir/mosquitto.pid");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", cfg->run_dir);

	connects = 0;
	CHECK_INT(mqtt_start(cfg, on_connect, NULL), 0, "mqtt_start against the private broker");
	CHECK(run_until(is_connected, 5000), "connected to the private broker");
	mqtt_stop();

	mqtt_broker_stop();
	CHECK(kill(pid, 0) < 0 && errno == ESRCH, "mqtt_broker_stop ended the broker");
	CHECK(stat(path, &sb) < 0 && errno == ENOENT, "broker configuration removed");
	CHECK_INT(mqtt_broker_pid(), 0, "no broker PID after stop");
	mqtt_broker_stop();

	test_stale_broker(cfg);

	/* A port that is taken: the broker exits and the start reports it. */
	port = free_port();
	a.sin_port = htons((uint16_t)port);
	blocker = socket(AF_INET, SOCK_STREAM, 0);
	/* Bound but not listening: mosquitto cannot bind, and probes are refused. */
	if (blocker < 0 || bind(blocker, (struct sockaddr *)&a, sizeof(a))) {
		CHECK(0, "blocking socket bound");
		return;
	}
	cfg->pubsub_port = (unsigned int)port;
	CHECK(mqtt_broker_start(cfg) < 0, "mqtt_broker_start fails when the port is taken");
	CHECK_INT(mqtt_broker_pid(), 0, "no broker PID after a failed start");
	close(blocker);
}

int main(void)
{
	struct spin_config cfg;
	int port;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_mqtt", false, getenv("SPIN_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN,
		 NULL);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mosquitto_lib_init();
	CHECK_INT(loop_init(), 0, "loop_init");

	port = free_port();
	if (!CHECK_INT(start_test_broker(port), 0, "test broker started"))
		return check_exit();
	config_defaults(&cfg);
	snprintf(cfg.pubsub_host, sizeof(cfg.pubsub_host), "127.0.0.1");
	cfg.pubsub_port = (unsigned int)port;
	cfg.pubsub_timeout = 5;

	test_not_started();
	test_publish(&cfg, port);
	test_subscribe(port);
	test_subscribe_live(port);
	test_broker_loss(port);
	test_reconnect(port);
	test_broker_down_at_start(&cfg);
	test_loopback_hosts();
	test_private_broker(&cfg);

	loop_destroy();
	mosquitto_lib_cleanup();
	return check_exit();
}
