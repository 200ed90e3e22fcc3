// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <netinet/in.h>

#include "dns.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "spin_parse.h"

static struct {
	struct events_ops ops;
	struct events_stats st;
} ev;

int events_dns_packet(const struct events_dns_pkt *p, const struct events_ops *ops, time_t now,
		      int *dns_rc)
{
	const struct spin_pkt *pkt = p->pkt;
	struct dns_endpoints ep = {};
	size_t msg_end = p->len, msg_len;

	if (!pkt->l4_off || p->dns_off > p->len)
		return -EINVAL;
	/* The message ends where the IP packet ends (Ethernet padding is not DNS). */
	if (pkt->ip_len && pkt->l3_off + pkt->ip_len < msg_end)
		msg_end = pkt->l3_off + pkt->ip_len;
	if (pkt->proto == IPPROTO_TCP && p->dns_off >= 2 && p->dns_off <= msg_end) {
		size_t prefix = (size_t)p->data[p->dns_off - 2] << 8 | p->data[p->dns_off - 1];

		if (p->dns_off + prefix < msg_end)
			msg_end = p->dns_off + prefix;
	}
	if (p->dns_off >= msg_end)
		return -EINVAL;
	msg_len = msg_end - p->dns_off;
	ep.saddr = pkt->saddr;
	ep.daddr = pkt->daddr;
	ep.sport = spin_ntohs(pkt->sport);
	ep.dport = spin_ntohs(pkt->dport);
	/* The client sends to port 53 and gets answers from it. */
	ep.client_is_lan = ops->is_lan(ep.dport == 53 ? &ep.saddr : &ep.daddr, ops->ctx);
	/* A query from a LAN device, untagged, on the device's own segment: the frame's source
	 * MAC is the device's. (Behind a router hop it would be the router's: those are not
	 * LAN addresses.) */
	if (ep.dport == 53 && ep.client_is_lan && ops->learn_mac && p->src_mac)
		ops->learn_mac(&ep.saddr, p->src_mac, ops->ctx);
	*dns_rc = dns_handle_message(p->data + p->dns_off, msg_len, &ep, now);
	return 0;
}

/*
 * The parser reads headers through their UAPI structs, which want 4-byte alignment; in the
 * record the IP header sits 14 bytes into the frame. A copy that starts 2 bytes into an
 * aligned buffer puts it (and the IP header after one or two VLAN tags) on a 4-byte boundary.
 */
#define FRAME_SHIFT 2
static __u8 frame_buf[FRAME_SHIFT + SPIN_DNS_CAP] __attribute__((aligned(8)));

static int handle_dns(const struct spin_dns_event *e, size_t size)
{
	const __u8 *frame = frame_buf + FRAME_SHIFT;
	struct spin_pkt pkt;
	struct events_dns_pkt p = {
		.data = frame,
		.pkt = &pkt,
	};
	int err, dns_rc = 0;

	if (sizeof(*e) + e->cap_len > size || e->cap_len > SPIN_DNS_CAP || e->dns_off > e->cap_len)
		return -EINVAL;
	memcpy(frame_buf + FRAME_SHIFT, e->data, e->cap_len);
	p.len = e->cap_len;
	p.dns_off = e->dns_off;
	p.src_mac = e->hook != SPIN_HOOK_TC_EGRESS ? frame + 6 : NULL;
	if (spin_parse_eth(frame, frame + e->cap_len, &pkt) != SPIN_PARSE_OK)
		return -EINVAL;
	err = events_dns_packet(&p, &ev.ops, time(NULL), &dns_rc);
	if (err)
		return err;
	ev.st.dns_messages++;
	if (dns_rc)
		ev.st.dns_rejected++;
	return 0;
}

int events_handle_record(const void *data, size_t size)
{
	const struct spin_dns_event *e = data;
	int err = -EINVAL;

	ev.st.events++;
	if (size >= sizeof(__u32) && e->type == SPIN_EV_DNS && size >= sizeof(*e))
		err = handle_dns(e, size);
	else if (size >= sizeof(__u32) && e->type == SPIN_EV_CAPTURE && ev.ops.capture)
		err = ev.ops.capture(data, size);
	if (err)
		ev.st.malformed++;
	return 0; /* a bad record never stops the consumer */
}

int events_init(const struct events_ops *ops)
{
	ev.ops = *ops;
	return 0;
}

void events_get_stats(struct events_stats *st)
{
	*st = ev.st;
}
