/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's ring buffer: DNS packets the BPF programs copied. Each is parsed with the same
 * header parser the kernel used (spin_parse.h) and handed to the DNS module. Frames of
 * captured devices (SPIN_EV_CAPTURE) go to user/devcap.c.
 */
#ifndef SPIN_EVENTS_H
#define SPIN_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "spin_common.h"

struct spin_pkt;

struct events_ops {
	/* Is this address a LAN device's? (decides which side of a DNS exchange is the client) */
	bool (*is_lan)(const struct spin_addr *a, void *ctx);
	/* A LAN device's query showed its MAC (the frame's source). May be NULL. */
	void (*learn_mac)(const struct spin_addr *ip, const uint8_t mac[6], void *ctx);
	/* A SPIN_EV_CAPTURE record (a captured device's frame). May be NULL. 0 or -EINVAL. */
	int (*capture)(const void *data, size_t size);
	void *ctx;
};

struct events_stats {
	uint64_t events;
	uint64_t dns_messages;
	uint64_t malformed; /* records or packets that did not parse */
	uint64_t dns_rejected;
};

/*
 * One DNS packet, as the kernel path and the passive capture (user/capture.c) both hand it
 * over: a frame parsed by spin_parse.h, whatever its link layer.
 */
struct events_dns_pkt {
	const uint8_t *data;	    /* the frame as parsed (offsets in pkt are into it) */
	size_t len;		    /* bytes available at data */
	const struct spin_pkt *pkt; /* the parse: addresses, ports, l3/l4 offsets, ip_len */
	size_t dns_off;		    /* the DNS message (after TCP's 2-byte length prefix) */
	/* The frame's source MAC when it is the sender's own (untagged ingress), else NULL. */
	const uint8_t *src_mac;
};

/*
 * Frames the DNS message (it ends where the IP packet ends, or where the TCP length prefix
 * says), decides which side is the LAN client with ops->is_lan, learns a LAN client's MAC
 * from its query (ops->learn_mac, if src_mac), and calls dns_handle_message(). Returns 0 when
 * the message was handed over (*dns_rc: dns_handle_message's result) or -EINVAL when the
 * packet holds no DNS message.
 */
int events_dns_packet(const struct events_dns_pkt *p, const struct events_ops *ops, time_t now,
		      int *dns_rc);

/* The records come from kernel_events_start(events_handle_record) (the ring buffer). */
int events_init(const struct events_ops *ops);
/* Handles one record (exposed for tests and for replaying captured records). */
int events_handle_record(const void *data, size_t size);
void events_get_stats(struct events_stats *st);

#endif
