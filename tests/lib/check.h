/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal check macros for the C suites. Each check prints one line the runner counts:
 * "ok - <name>" or "not ok - <name>: actual <a>, expected <e>". A test program returns
 * check_exit() from main.
 */
#ifndef SPIN_TEST_CHECK_H
#define SPIN_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int check_failures;

/* Removes a test's temporary directory and everything in it (no shell). */
void check_rm_tree(const char *dir);

#define CHECK(cond, name)                                                                          \
	({                                                                                         \
		int ok__ = !!(cond);                                                               \
		if (ok__)                                                                          \
			printf("ok - %s\n", name);                                                 \
		else {                                                                             \
			printf("not ok - %s: '%s' is false (%s:%d)\n", name, #cond, __FILE__,      \
			       __LINE__);                                                          \
			check_failures++;                                                          \
		}                                                                                  \
		ok__;                                                                              \
	})

#define CHECK_INT(actual, expected, name)                                                          \
	({                                                                                         \
		long long a__ = (long long)(actual), e__ = (long long)(expected);                  \
		if (a__ == e__)                                                                    \
			printf("ok - %s\n", name);                                                 \
		else {                                                                             \
			printf("not ok - %s: actual %lld, expected %lld (%s:%d)\n", name, a__,     \
			       e__, __FILE__, __LINE__);                                           \
			check_failures++;                                                          \
		}                                                                                  \
		a__ == e__;                                                                        \
	})

#define CHECK_STR(actual, expected, name)                                                          \
	({                                                                                         \
		const char *a__ = (actual), *e__ = (expected);                                     \
		int ok__ = (a__ && e__) ? strcmp(a__, e__) == 0 : a__ == e__;                      \
		if (ok__)                                                                          \
			printf("ok - %s\n", name);                                                 \
		else {                                                                             \
			printf("not ok - %s: actual \"%s\", expected \"%s\" (%s:%d)\n", name,      \
			       a__ ? a__ : "(null)", e__ ? e__ : "(null)", __FILE__, __LINE__);    \
			check_failures++;                                                          \
		}                                                                                  \
		ok__;                                                                              \
	})

static inline int check_exit(void)
{
	fflush(stdout);
	return check_failures ? 1 : 0;
}

#endif
