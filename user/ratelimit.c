// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "ratelimit.h"

void tbucket_init(struct tbucket *b, double burst, uint64_t now_ms)
{
	b->tokens = burst;
	b->last_ms = now_ms;
}

void tbucket_refill(struct tbucket *b, double per_s, double burst, uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * per_s / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now_ms;
}

bool tbucket_take(struct tbucket *b, double per_s, double burst, uint64_t now_ms)
{
	tbucket_refill(b, per_s, burst, now_ms);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

struct tbucket *addr_bucket(struct addr_bucket *table, size_t n, const struct in6_addr *a,
			    double burst, uint64_t now_ms)
{
	struct addr_bucket *lru = &table[0];

	for (size_t i = 0; i < n; i++) {
		struct addr_bucket *s = &table[i];

		if (s->used && memcmp(&s->addr, a, sizeof(*a)) == 0)
			return &s->b;
		if (!s->used || (lru->used && s->b.last_ms < lru->b.last_ms))
			lru = s;
	}
	lru->used = true;
	lru->addr = *a;
	tbucket_init(&lru->b, burst, now_ms);
	return &lru->b;
}

bool addr_is_loopback(const struct in6_addr *a)
{
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}
