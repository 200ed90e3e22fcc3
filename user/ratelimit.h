/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token buckets, alone or one per client address in a small table whose least recently used
 * slot goes when a new address comes: the web API's request limit and the password-check
 * budgets. Times are milliseconds on a monotonic clock, passed in.
 */
#ifndef SPIN_RATELIMIT_H
#define SPIN_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct tbucket {
	double tokens;
	uint64_t last_ms;
};

struct addr_bucket {
	struct in6_addr addr;
	struct tbucket b;
	bool used;
};

/* Full: burst tokens. */
void tbucket_init(struct tbucket *b, double burst, uint64_t now_ms);
/* Adds what per_s gave since the last call, up to burst. */
void tbucket_refill(struct tbucket *b, double per_s, double burst, uint64_t now_ms);
/* Refills, then spends one token if there is a whole one: false if not. */
bool tbucket_take(struct tbucket *b, double per_s, double burst, uint64_t now_ms);

/* The bucket of address a in table[n]: a full one for an address not there. */
struct tbucket *addr_bucket(struct addr_bucket *table, size_t n, const struct in6_addr *a,
			    double burst, uint64_t now_ms);
/* ::1, or 127.0.0.0/8 as an IPv4-mapped address. */
bool addr_is_loopback(const struct in6_addr *a);

#endif
