/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's ring buffer: DNS packets the BPF programs copied. Each is parsed with the same
 * header parser the kernel used (spin_parse.h) and handed to the DNS module.
 */
#ifndef SPIN_EVENTS_H
#define SPIN_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "spin_common.h"

struct events_ops {
	/* Is this address a LAN device's? (decides which side of a DNS exchange is the client) */
	bool (*is_lan)(const struct spin_addr *a, void *ctx);
	/* A LAN device's query showed its MAC (the frame's source). May be NULL. */
	void (*learn_mac)(const struct spin_addr *ip, const uint8_t mac[6], void *ctx);
	void *ctx;
};

struct events_stats {
	uint64_t events;
	uint64_t dns_messages;
	uint64_t malformed; /* records or packets that did not parse */
	uint64_t dns_rejected;
};

/* Registers the ring buffer with the event loop. 0 or -errno. */
int events_init(int ringbuf_fd, const struct events_ops *ops);
void events_destroy(void);
/* Handles one record (exposed for tests and for replaying captured records). */
int events_handle_record(const void *data, size_t size);
void events_get_stats(struct events_stats *st);

#endif
