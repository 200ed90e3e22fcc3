// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "mqtt.h"

#define BUS_MAX_LISTENERS 8
#define BUS_TOPIC_MAX	  160

static struct {
	char traffic[BUS_TOPIC_MAX];
	char admin[BUS_TOPIC_MAX];
	struct {
		bus_listener fn;
		void *ctx;
	} listeners[BUS_MAX_LISTENERS];
	int n;
} bus;

int bus_init(const char *traffic_channel)
{
	const char *ch = traffic_channel && *traffic_channel ? traffic_channel : "SPIN/traffic";

	if (strlen(ch) > BUS_TOPIC_MAX - 32)
		return -ENAMETOOLONG;
	snprintf(bus.traffic, sizeof(bus.traffic), "%s", ch);
	snprintf(bus.admin, sizeof(bus.admin), "%s/admin", ch);
	bus.n = 0;
	return 0;
}

void bus_destroy(void)
{
	bus.n = 0;
}

int bus_add_listener(bus_listener fn, void *ctx)
{
	if (bus.n >= BUS_MAX_LISTENERS)
		return -ENOSPC;
	bus.listeners[bus.n].fn = fn;
	bus.listeners[bus.n].ctx = ctx;
	bus.n++;
	return 0;
}

void bus_remove_listener(bus_listener fn, void *ctx)
{
	for (int i = 0; i < bus.n; i++) {
		if (bus.listeners[i].fn != fn || bus.listeners[i].ctx != ctx)
			continue;
		bus.listeners[i] = bus.listeners[--bus.n];
		return;
	}
}

const char *bus_traffic_topic(void)
{
	return bus.traffic;
}

const char *bus_admin_topic(void)
{
	return bus.admin;
}

const char *bus_node_topic(unsigned int id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/node/%u", bus.traffic, id);
	return buf;
}

int bus_publish(const char *topic, const char *payload, bool retain)
{
	size_t len = strlen(payload);

	for (int i = 0; i < bus.n; i++)
		bus.listeners[i].fn(topic, payload, len, retain, bus.listeners[i].ctx);
	return mqtt_publish(topic, payload, len, retain);
}

int bus_clear(const char *topic)
{
	return bus_publish(topic, "", true);
}
