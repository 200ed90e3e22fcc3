/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The MQTT client (libmosquitto) inside spind's event loop: non-blocking, QoS 0, reconnects by
 * itself with exponential backoff (1 s doubling to 30 s). While the broker is away publishes
 * are dropped and counted; nothing else in spind waits for it. Optionally runs a private
 * mosquitto (pubsub_run_mosquitto).
 */
#ifndef SPIN_MQTT_H
#define SPIN_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define MQTT_MAX_SUBS 16

typedef void (*mqtt_msg_cb)(const char *topic, const void *payload, size_t len, void *ctx);

/*
 * Creates the client and starts connecting to pubsub_host:pubsub_port (loop_init() first).
 * on_connect (may be NULL) runs after every successful (re)connection, inside the loop, so the
 * daemon can publish its state again. Returns 0 or -errno; a broker that is down is not an
 * error (the module keeps retrying).
 */
int mqtt_start(const struct spin_config *cfg, void (*on_connect)(void *ctx), void *ctx);
/* Disconnects and frees everything; fine to call when never started. */
void mqtt_stop(void);

/* QoS 0. Returns 0, -ENOTCONN (dropped and counted while disconnected), -EINVAL, -EIO. */
int mqtt_publish(const char *topic, const void *payload, size_t len, bool retain);
/* Subscribes now if connected, and again after every reconnection. topic may hold wildcards. */
int mqtt_subscribe(const char *topic, mqtt_msg_cb cb, void *ctx);
/* Which messages of the topic a subscription delivers. */
enum mqtt_sub_kind {
	MQTT_SUB_ALL,
	/* only what the broker kept (sent at subscription, retain flag set) */
	MQTT_SUB_RETAINED,
	/* only live publications: a retained message is replayed at every (re)subscription, so a
	 * request kept on a command topic would run again after each reconnection or restart */
	MQTT_SUB_LIVE,
};
int mqtt_subscribe_opts(const char *topic, mqtt_msg_cb cb, void *ctx, enum mqtt_sub_kind kind);
bool mqtt_connected(void);
/*
 * Is host (pubsub_host, pubsub_websocket_host) a loopback address or name, so the private
 * broker's listener there is reachable from this machine only? Without pubsub_run_password_file
 * spind warns at start about every listener that is not.
 */
bool mqtt_host_is_loopback(const char *host);

struct mqtt_stats {
	uint64_t published;  /* handed to the socket layer */
	uint64_t dropped;    /* refused while disconnected or on a send error */
	uint64_t reconnects; /* successful connections after the first */
	uint64_t attempts;   /* connection attempts */
	bool connected;
};
void mqtt_get_stats(struct mqtt_stats *st);

/*
 * pubsub_run_mosquitto: writes <run_dir>/mosquitto.conf (a listener on pubsub_host:pubsub_port,
 * a WebSocket listener on pubsub_websocket_host:pubsub_websocket_port unless that port is 0,
 * the password file if configured), starts mosquitto with it and waits (at most 5 s) until it
 * accepts connections. Returns 0 or -errno. mqtt_broker_stop() ends it by its PID.
 */
int mqtt_broker_start(const struct spin_config *cfg);
void mqtt_broker_stop(void);
/* The private broker's PID, or 0. */
pid_t mqtt_broker_pid(void);

#endif
