// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <sys/random.h>
#include <ldns/sha2.h>

#include "authcache.h"
#include "ratelimit.h"

#define CACHE_SLOTS 16 /* a household's browsers and scripts */
#define FAIL_SLOTS  64
#define DIGEST_LEN  32 /* SHA-256 */
#define INPUT_MAX   (32 + 64 + 1 + 1024 + 1)

struct cached {
	unsigned char digest[DIGEST_LEN];
	uint64_t until_ms;
};

static struct {
	unsigned char key[32];
	struct cached cache[CACHE_SLOTS];
	struct addr_bucket fails[FAIL_SLOTS];
	struct tbucket crypt;
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

#define FAIL_PER_S (1000.0 / AUTH_FAIL_REFILL_MS)

/* The client's failure bucket, refilled to now. */
static struct tbucket *fails_of(const struct in6_addr *c, uint64_t now_ms)
{
	struct tbucket *b = addr_bucket(a.fails, FAIL_SLOTS, c, AUTH_FAIL_BURST, now_ms);

	tbucket_refill(b, FAIL_PER_S, AUTH_FAIL_BURST, now_ms);
	return b;
}

bool authbudget_take(const struct in6_addr *client, uint64_t now_ms)
{
	if (addr_is_loopback(client))
		return true;
	if (fails_of(client, now_ms)->tokens < 1.0)
		return false;
	if (!a.crypt_started) {
		tbucket_init(&a.crypt, AUTH_CRYPT_BURST, now_ms);
		a.crypt_started = true;
	}
	return tbucket_take(&a.crypt, AUTH_CRYPT_PER_S, AUTH_CRYPT_BURST, now_ms);
}

void authbudget_failed(const struct in6_addr *client, uint64_t now_ms)
{
	if (!addr_is_loopback(client))
		tbucket_take(fails_of(client, now_ms), FAIL_PER_S, AUTH_FAIL_BURST, now_ms);
}
