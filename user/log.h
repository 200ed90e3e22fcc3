/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one logging module: stderr, a file or syslog; libbpf's output is routed into it. */
#ifndef SPIN_LOG_H
#define SPIN_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 3, /* the same numbers as syslog's priorities */
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* ident: program name; file: NULL for stderr. Returns 0 or -errno (file not writable). */
int log_init(const char *ident, bool use_syslog, int level, const char *file);
void log_set_level(int level);
int log_get_level(void);
void log_close(void);
/* Routes libbpf's messages (warnings as warnings, debug only at LOG_LVL_DEBUG) into the log. */
void log_route_libbpf(void);

void log_print(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_print(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...)  log_print(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_print(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
