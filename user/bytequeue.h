/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A byte FIFO for data produced in the loop and handed out in pieces to a reader that drains it
 * at its own pace (an event stream, a capture download). Grows on demand; its owner bounds it.
 */
#ifndef SPIN_BYTEQUEUE_H
#define SPIN_BYTEQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct bytequeue {
	uint8_t *buf;
	size_t head, len, cap; /* queued bytes are buf[head .. head + len) */
};

/* Room for n more bytes, so the appends that follow cannot fail. 0 or -ENOMEM. */
int bytequeue_reserve(struct bytequeue *q, size_t n);
/* Appends n bytes. 0 or -ENOMEM (nothing appended). */
int bytequeue_append(struct bytequeue *q, const void *data, size_t n);
/* Moves up to max of the oldest bytes to out; returns how many. */
size_t bytequeue_take(struct bytequeue *q, void *out, size_t max);
void bytequeue_free(struct bytequeue *q);

#endif
