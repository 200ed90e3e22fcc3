/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates (U+D800-U+DFFF), nothing
 * above U+10FFFF. One checker for every text that comes from outside (JSON-RPC bodies, names,
 * the vendor table).
 */
#ifndef SPIN_UTF8_H
#define SPIN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the sequence at p (n >= 1 bytes available), or 0 when it is not a valid one. */
size_t utf8_seq_len(const unsigned char *p, size_t n);
/* Are the n bytes at s valid UTF-8 (a NUL byte is U+0000: valid)? */
bool utf8_valid(const char *s, size_t n);

#endif
