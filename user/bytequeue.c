// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytequeue.h"

#define BYTEQUEUE_MIN_CAP 4096

int bytequeue_reserve(struct bytequeue *q, size_t n)
{
	size_t cap;
	uint8_t *buf;

	/* Slide the queued bytes to the front before growing: the reader usually keeps up. */
	if (q->head && q->head + q->len + n > q->cap) {
		memmove(q->buf, q->buf + q->head, q->len);
		q->head = 0;
	}
	if (q->len + n <= q->cap)
		return 0;
	for (cap = q->cap ? q->cap : BYTEQUEUE_MIN_CAP; cap < q->len + n;)
		cap *= 2;
	buf = realloc(q->buf, cap);
	if (!buf)
		return -ENOMEM;
	q->buf = buf;
	q->cap = cap;
	return 0;
}

int bytequeue_append(struct bytequeue *q, const void *data, size_t n)
{
	int err;

	if (!n)
		return 0; /* data may be NULL */
	err = bytequeue_reserve(q, n);
	if (err)
		return err;
	memcpy(q->buf + q->head + q->len, data, n);
	q->len += n;
	return 0;
}

size_t bytequeue_take(struct bytequeue *q, void *out, size_t max)
{
	size_t n = q->len < max ? q->len : max;

	memcpy(out, q->buf + q->head, n);
	q->head += n;
	q->len -= n;
	if (!q->len)
		q->head = 0;
	return n;
}

void bytequeue_free(struct bytequeue *q)
{
	free(q->buf);
	*q = (struct bytequeue){0};
}
