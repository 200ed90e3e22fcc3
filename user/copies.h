/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet copies in a capture of Linux's "any" device (cooked SLL/SLL2 link types): such a
 * capture sees a forwarded packet once per interface it crosses (arriving on the LAN port,
 * leaving on the WAN one; on a bridged gateway also on the bridge). Counting every copy would
 * double the forwarded flows. A copy is the same IP packet with a lower TTL or hop limit (and
 * so another IPv4 checksum) seen within COPIES_WINDOW_US on another interface.
 */
#ifndef SPIN_COPIES_H
#define SPIN_COPIES_H

#include <stdbool.h>
#include <stdint.h>

#define COPIES_WINDOW_US 10000 /* forwarding takes microseconds; a retransmission 200 ms+ */
#define COPIES_SLOTS	 4096  /* packets remembered: more than cross a gateway in 10 ms */
#define COPIES_SIG_L4	 32    /* bytes after the IP header in the signature: ports, seq, id */

struct copies;

struct copies *copies_new(void);
void copies_free(struct copies *c);
/*
 * ip: the IP header, avail bytes of it captured; ip_len the packet's IP length; ifindex the
 * interface it was captured on (SLL2), or -1 when the capture does not say (SLL); outgoing:
 * the packet was leaving that interface. True if it is a copy of a packet seen before: on
 * another interface, or (SLL) leaving after it arrived. The caller skips it. Otherwise it is
 * remembered.
 */
bool copies_is_copy(struct copies *c, const uint8_t *ip, uint32_t avail, uint32_t ip_len,
		    int ifindex, bool outgoing, int64_t ts_us);

#endif
