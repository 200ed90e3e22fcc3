/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the web API spends on password checks. crypt(3) costs 2 ms (SHA-512) to 20 ms
 * (yescrypt, Debian's default) and runs in spind's one event loop, so wrong passwords sent
 * fast from the LAN would stall everything else. Credentials that passed are remembered for a
 * while (a keyed SHA-256 of name and password, never the password), so a signed-in browser
 * costs one crypt, not one per request; new checks are budgeted per client address and in
 * total. Times are milliseconds on a monotonic clock, passed in.
 */
#ifndef SPIN_AUTHCACHE_H
#define SPIN_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* How long a check that passed is remembered. */
#define AUTHCACHE_TTL_MS (10 * 60 * 1000)
/* Failed checks per client address: a burst, then one per AUTH_FAIL_REFILL_MS. */
#define AUTH_FAIL_BURST	    5
#define AUTH_FAIL_REFILL_MS 2000
/* crypt calls in total, for clients beyond loopback: a burst, then this many a second. */
#define AUTH_CRYPT_BURST 20
#define AUTH_CRYPT_PER_S 10

/* Forgets everything and draws a new key (at start, and when the users change). */
void authcache_reset(void);
/* Did name and password pass a check less than AUTHCACHE_TTL_MS ago? */
bool authcache_hit(const char *name, const char *pass, uint64_t now_ms);
void authcache_put(const char *name, const char *pass, uint64_t now_ms);

/*
 * May a crypt be spent on this client's credentials now? false: its failures or the total
 * are over budget (answer 429, no crypt). Loopback clients are not budgeted.
 */
bool authbudget_take(const struct in6_addr *client, uint64_t now_ms);
/* The check failed: counts against the client's budget. */
void authbudget_failed(const struct in6_addr *client, uint64_t now_ms);

#endif /* SPIN_AUTHCACHE_H */
