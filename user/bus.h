/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where SPIN's messages go: MQTT (the integration bus) and every local subscriber (the web
 * API's event stream). Topics are relative to the traffic channel (pubsub_channel_traffic,
 * "SPIN/traffic" by default), so the channel is configurable in one place.
 */
#ifndef SPIN_BUS_H
#define SPIN_BUS_H

#include <stdbool.h>
#include <stddef.h>

/* A local subscriber sees every message as (full topic, payload, retain). */
typedef void (*bus_listener)(const char *topic, const char *payload, size_t len, bool retain,
			     void *ctx);

int bus_init(const char *traffic_channel);
void bus_destroy(void);
int bus_add_listener(bus_listener fn, void *ctx);
void bus_remove_listener(bus_listener fn, void *ctx);

/* Full topics. */
const char *bus_traffic_topic(void); /* SPIN/traffic */
const char *bus_admin_topic(void);   /* SPIN/traffic/admin */
/* SPIN/traffic/node/<id> into buf. */
const char *bus_node_topic(unsigned int id, char *buf, size_t len);

/* Publishes on a full topic (MQTT QoS 0 and the local listeners). 0 or -errno. */
int bus_publish(const char *topic, const char *payload, bool retain);
/* An empty retained payload: clears a retained topic. */
int bus_clear(const char *topic);

#endif
