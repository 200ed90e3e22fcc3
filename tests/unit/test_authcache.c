// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the web API spends on password checks (user/authcache.c): credentials that passed are
 * remembered (by a keyed digest) for AUTHCACHE_TTL_MS and no longer; failed checks are
 * budgeted per client address and crypt calls in total, loopback exempt, both refilling with
 * time. Clock values are passed in, so nothing here waits.
 */
#include <arpa/inet.h>
#include <string.h>

#include "authcache.h"
#include "check.h"

static struct in6_addr addr(const char *text)
{
	struct in6_addr a = {0};

	if (inet_pton(AF_INET6, text, &a) != 1) {
		struct in_addr v4;

		if (inet_pton(AF_INET, text, &v4) == 1) {
			a.s6_addr[10] = a.s6_addr[11] = 0xff;
			memcpy(&a.s6_addr[12], &v4, 4);
		}
	}
	return a;
}

static void test_cache(void)
{
	uint64_t t = 1000;
	char longpass[2048];

	authcache_reset();
	CHECK(!authcache_hit("admin", "s3cret", t), "cache: empty at first");
	authcache_put("admin", "s3cret", t);
	CHECK(authcache_hit("admin", "s3cret", t + 1), "cache: credentials that passed are known");
	CHECK(!authcache_hit("admin", "s3cret ", t + 1), "cache: another password is not");
	CHECK(!authcache_hit("admin2", "s3cret", t + 1), "cache: another name is not");
	CHECK(!authcache_hit("admi", "ns3cret", t + 1),
	      "cache: name and password are kept apart (no 'admi'+'ns3cret')");
	CHECK(authcache_hit("admin", "s3cret", t + AUTHCACHE_TTL_MS - 1),
	      "cache: still known just before the TTL");
	CHECK(!authcache_hit("admin", "s3cret", t + AUTHCACHE_TTL_MS),
	      "cache: forgotten after the TTL");
	authcache_put("admin", "s3cret", t);
	authcache_reset();
	CHECK(!authcache_hit("admin", "s3cret", t + 1), "cache: a reset (new users) forgets all");

	for (int i = 0; i < 40; i++) { /* more than the slots: the oldest go */
		char name[16];

		snprintf(name, sizeof(name), "user%d", i);
		authcache_put(name, "pw", t + (uint64_t)i);
	}
	CHECK(authcache_hit("user39", "pw", t + 50), "cache: the newest of many is kept");
	CHECK(!authcache_hit("user0", "pw", t + 50), "cache: the oldest of many made room");
	memset(longpass, 'x', sizeof(longpass) - 1);
	longpass[sizeof(longpass) - 1] = '\0';
	authcache_put("admin", longpass, t);
	CHECK(!authcache_hit("admin", longpass, t + 1),
	      "cache: credentials beyond the input bound are never cached");
}

static void test_budget_per_client(void)
{
	struct in6_addr lan = addr("192.0.2.66"), other = addr("2001:db8::66");
	struct in6_addr lo4 = addr("127.0.0.1"), lo6 = addr("::1");
	uint64_t t = 5000;
	int taken = 0;

	authcache_reset();
	for (int i = 0; i < 10; i++) {
		if (!authbudget_take(&lan, t))
			break;
		taken++;
		authbudget_failed(&lan, t);
	}
	CHECK_INT(taken, AUTH_FAIL_BURST, "per client: a burst of failed checks, then none");
	CHECK(authbudget_take(&other, t), "per client: another address still gets its check");
	CHECK(!authbudget_take(&lan, t + AUTH_FAIL_REFILL_MS - 1),
	      "per client: no check before one refill period");
	CHECK(authbudget_take(&lan, t + AUTH_FAIL_REFILL_MS),
	      "per client: one more check after a refill period");
	for (int i = 0; i < 100; i++) {
		authbudget_failed(&lo4, t);
		authbudget_failed(&lo6, t);
	}
	CHECK(authbudget_take(&lo4, t) && authbudget_take(&lo6, t),
	      "per client: loopback (spinctl, scripts) is never refused");
}

static void test_budget_total(void)
{
	uint64_t t = 9000;
	int taken = 0;
	struct in6_addr a;

	authcache_reset();
	for (int i = 0; i < 100; i++) { /* one check each from many addresses, all in one instant */
		char text[32];

		snprintf(text, sizeof(text), "2001:db8::%x", i + 1);
		a = addr(text);
		taken += authbudget_take(&a, t);
	}
	CHECK_INT(taken, AUTH_CRYPT_BURST, "total: a burst of checks, whatever the addresses");
	a = addr("2001:db8::1:1");
	CHECK(!authbudget_take(&a, t + 1000 / AUTH_CRYPT_PER_S - 1),
	      "total: none before the next token");
	CHECK(authbudget_take(&a, t + 1000 / AUTH_CRYPT_PER_S),
	      "total: AUTH_CRYPT_PER_S a second after that");
	a = addr("::1");
	CHECK(authbudget_take(&a, t + 1000 / AUTH_CRYPT_PER_S),
	      "total: loopback is not counted against it");
}

int main(void)
{
	test_cache();
	test_budget_per_client();
	test_budget_total();
	return check_exit();
}
