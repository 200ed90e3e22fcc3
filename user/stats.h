/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SPIN/stat/<module>/<name>: every counter of every module (the kernel's spin_stats included),
 * published retained when it changed, at most every STATS_INTERVAL_S seconds.
 */
#ifndef SPIN_STATS_H
#define SPIN_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define STATS_INTERVAL_S 30

enum stat_type { STAT_TOTAL = 0, STAT_MAX = 1 };

/* One counter as read now. */
struct stat_value {
	const char *module;
	const char *name;
	enum stat_type type;
	uint64_t value;
};

/* Calls cb for every counter; with_kernel false in passive mode. */
void stats_collect(bool with_kernel, void (*cb)(const struct stat_value *v, void *ctx), void *ctx);
/* Publishes the counters that changed since the last call. */
void stats_publish_changed(bool with_kernel);
/* {"module":{"name":value,...},...} for the status API. */
cJSON *stats_json(bool with_kernel);
void stats_destroy(void);

#endif
