// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <sys/random.h>
#include <ldns/sha2.h>

#include "authcache.h"

#define CACHE_SLOTS 16 /* a household's browsers and scripts */
#define FAIL_SLOTS  64
#define DIGEST_LEN  32 /* SHA-256 */
#define INPUT_MAX   (32 + 64 + 1 + 1024 + 1)

struct cached {
	unsigned char digest[DIGEST_LEN];
	uint64_t until_ms;
};

struct fail_slot {
	struct in6_addr addr;
	double tokens;
	uint64_t last_ms;
	bool used;
};

static struct {
	unsigned char key[32];
	struct cached cache[CACHE_SLOTS];
	struct fail_slot fails[FAIL_SLOTS];
	double crypt_tokens;
	uint64_t crypt_ms;
	bool crypt_started;
} a;

void authcache_reset(void)
{
	memset(&a, 0, sizeof(a));
	/* without entropy the key is zero: the digests still never hold a password */
	if (getrandom(a.key, sizeof(a.key), GRND_NONBLOCK) != sizeof(a.key))
		memset(a.key, 0, sizeof(a.key));
}

/* SHA-256 of key, name, NUL, password: false when they do not fit (nothing cached then). */
static bool digest_of(const char *name, const char *pass, unsigned char out[DIGEST_LEN])
{
	unsigned char in[INPUT_MAX];
	size_t ln = strlen(name), lp = strlen(pass), n = sizeof(a.key);

	if (n + ln + 1 + lp > sizeof(in))
		return false;
	memcpy(in, a.key, n);
	memcpy(in + n, name, ln + 1);
	memcpy(in + n + ln + 1, pass, lp);
	ldns_sha256(in, (unsigned int)(n + ln + 1 + lp), out);
	memset(in, 0, sizeof(in));
	return true;
}

bool authcache_hit(const char *name, const char *pass, uint64_t now_ms)
{
	unsigned char d[DIGEST_LEN];

	if (!digest_of(name, pass, d))
		return false;
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (a.cache[i].until_ms > now_ms && memcmp(a.cache[i].digest, d, sizeof(d)) == 0)
			return true;
	return false;
}

void authcache_put(const char *name, const char *pass, uint64_t now_ms)
{
	struct cached *slot = &a.cache[0];
	unsigned char d[DIGEST_LEN];

	if (!digest_of(name, pass, d))
		return;
	for (int i = 0; i < CACHE_SLOTS; i++) { /* the same credentials, else the oldest */
		if (memcmp(a.cache[i].digest, d, sizeof(d)) == 0) {
			slot = &a.cache[i];
			break;
		}
		if (a.cache[i].until_ms < slot->until_ms)
			slot = &a.cache[i];
	}
	memcpy(slot->digest, d, sizeof(d));
	slot->until_ms = now_ms + AUTHCACHE_TTL_MS;
}

static bool is_loopback(const struct in6_addr *c)
{
	return IN6_IS_ADDR_LOOPBACK(c) || (IN6_IS_ADDR_V4MAPPED(c) && c->s6_addr[12] == 127);
}

/* The client's failure bucket, refilled to now; the least recently used slot goes. */
static struct fail_slot *fail_slot(const struct in6_addr *c, uint64_t now_ms)
{
	struct fail_slot *s = NULL, *lru = &a.fails[0];

	for (int i = 0; i < FAIL_SLOTS && !s; i++) {
		if (a.fails[i].used && memcmp(&a.fails[i].addr, c, sizeof(*c)) == 0)
			s = &a.fails[i];
		else if (!a.fails[i].used || (lru->used && a.fails[i].last_ms < lru->last_ms))
			lru = &a.fails[i];
	}
	if (!s) {
		s = lru;
		s->addr = *c;
		s->tokens = AUTH_FAIL_BURST;
		s->last_ms = now_ms;
		s->used = true;
	}
	if (now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) / AUTH_FAIL_REFILL_MS;
		if (s->tokens > AUTH_FAIL_BURST)
			s->tokens = AUTH_FAIL_BURST;
	}
	s->last_ms = now_ms;
	return s;
}

bool authbudget_take(const struct in6_addr *client, uint64_t now_ms)
{
	if (is_loopback(client))
		return true;
	if (fail_slot(client, now_ms)->tokens < 1.0)
		return false;
	if (!a.crypt_started) {
		a.crypt_tokens = AUTH_CRYPT_BURST;
		a.crypt_ms = now_ms;
		a.crypt_started = true;
	}
	if (now_ms > a.crypt_ms) {
		a.crypt_tokens += (double)(now_ms - a.crypt_ms) * AUTH_CRYPT_PER_S / 1000.0;
		if (a.crypt_tokens > AUTH_CRYPT_BURST)
			a.crypt_tokens = AUTH_CRYPT_BURST;
	}
	a.crypt_ms = now_ms;
	if (a.crypt_tokens < 1.0)
		return false;
	a.crypt_tokens -= 1.0;
	return true;
}

void authbudget_failed(const struct in6_addr *client, uint64_t now_ms)
{
	struct fail_slot *s;

	if (is_loopback(client))
		return;
	s = fail_slot(client, now_ms);
	if (s->tokens >= 1.0)
		s->tokens -= 1.0;
}
