// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#ifndef SPIN_PASSIVE_ONLY
#include <bpf/libbpf.h>
#endif

#include "log.h"

static struct {
	int level;
	bool use_syslog;
	FILE *file; /* NULL: stderr */
	const char *ident;
} log_state = {.level = LOG_LVL_INFO, .ident = "spind"};

int log_init(const char *ident, bool use_syslog, int level, const char *file)
{
	log_close();
	log_state.ident = ident;
	log_state.level = level;
	log_state.use_syslog = use_syslog;
	if (use_syslog) {
		openlog(ident, LOG_PID, LOG_DAEMON);
		return 0;
	}
	if (file && *file) {
		log_state.file = fopen(file, "ae");
		if (!log_state.file)
			return -errno;
		setvbuf(log_state.file, NULL, _IOLBF, 0);
	}
	return 0;
}

void log_set_level(int level)
{
	log_state.level = level;
}

int log_get_level(void)
{
	return log_state.level;
}

void log_close(void)
{
	if (log_state.file)
		fclose(log_state.file);
	log_state.file = NULL;
	if (log_state.use_syslog)
		closelog();
	log_state.use_syslog = false;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_LVL_ERR:
		return "error";
	case LOG_LVL_WARN:
		return "warning";
	case LOG_LVL_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void log_vprint(int level, const char *fmt, va_list ap)
{
	FILE *out = log_state.file ? log_state.file : stderr;
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (level > log_state.level)
		return;
	if (log_state.use_syslog) {
		vsyslog(level, fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "%s.%03ld %s %s: ", stamp, ts.tv_nsec / 1000000, log_state.ident,
		level_name(level));
	vfprintf(out, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', out);
}

void log_print(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

#ifndef SPIN_PASSIVE_ONLY
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBBPF_WARN	  ? LOG_LVL_WARN
		   : level == LIBBPF_INFO ? LOG_LVL_DEBUG
					  : LOG_LVL_DEBUG + 1;

	/* libbpf's debug output is very verbose; it only shows with -d -d. */
	if (ours <= log_state.level)
		log_vprint(ours > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : ours, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
#else
void log_route_libbpf(void)
{
	/* no libbpf in a passive-only build */
}
#endif
