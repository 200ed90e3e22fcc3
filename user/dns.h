/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS messages seen on the wire -> queries of LAN devices and names for addresses.
 *
 * Queries (QR=0) from a LAN device are remembered (DNS_MAX_PENDING entries, DNS_QUERY_TIMEOUT
 * seconds, keyed by client address/port, resolver address/port, DNS id and question name) and
 * reported through ops->query, with repeats of the same (client, name) within one second
 * folded here: the caller publishes every report it gets.
 *
 * A response is used only when it matches a remembered query (a LAN host cannot name
 * addresses with spoofed answers), has opcode QUERY, RCODE NOERROR and TC=0. The answer
 * section's CNAME chain is followed from the question name (DNS_MAX_CNAME links); every name
 * in the chain is reported with every A/AAAA address at its end through ops->answer, except
 * addresses no name may ever be attached to (unspecified, broadcast and reserved, multicast,
 * loopback, link-local, and whatever ops->is_local says: the LAN, the gateway itself), and at
 * most DNS_MAX_ADDRS distinct addresses per answer. An A record whose data is not 4 bytes, an
 * AAAA not 16, makes the message malformed.
 *
 * Names are reported lower-case in presentation form with the trailing dot ("example.com."),
 * as ldns prints them (bytes outside printable ASCII and special characters escaped \DDD).
 * Every rejection is counted (dns_get_stats). Single-threaded.
 */
#ifndef SPIN_DNS_H
#define SPIN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "spin_common.h"

#define DNS_MAX_PENDING	  8192	/* queries remembered at most */
#define DNS_QUERY_TIMEOUT 10	/* seconds a query waits for its answer */
#define DNS_MAX_CNAME	  8	/* CNAME links followed from the question name */
#define DNS_TTL_FLOOR	  300	/* default floor of reported TTLs */
#define DNS_TTL_CAP	  86400 /* reported TTLs are capped at one day */
#define DNS_MAX_ADDRS	  16	/* distinct addresses used from one answer; the rest ignored */

/* The packet around the message, from the shared L2-L4 parser. Ports in host order. */
struct dns_endpoints {
	struct spin_addr saddr;
	struct spin_addr daddr;
	uint16_t sport;
	uint16_t dport;
	/* The client side (source of a query, destination of a response) is a LAN device. */
	bool client_is_lan;
};

struct dns_ops {
	/* A LAN device asked for qname (qtype: LDNS_RR_TYPE_A, _AAAA, ...). Folded per second. */
	void (*query)(const struct spin_addr *client, const char *qname, uint16_t qtype, void *ctx);
	/*
	 * name resolves to addr (IPv4-mapped for A), ttl already floored and capped; client is
	 * the device that asked. Called for each (name in the CNAME chain, address) pair.
	 */
	void (*answer)(const struct spin_addr *client, const char *name,
		       const struct spin_addr *addr, uint32_t ttl, void *ctx);
	/*
	 * addr is on the LAN or the gateway's own: a DNS answer never names it (a LAN host or a
	 * resolver could otherwise attach names to a device or to the gateway). NULL: none is.
	 */
	bool (*is_local)(const struct spin_addr *addr, void *ctx);
	void *ctx;
};

struct dns_stats {
	uint64_t messages;	   /* dns_handle_message calls */
	uint64_t queries;	   /* queries from LAN devices remembered */
	uint64_t queries_reported; /* ops->query calls */
	uint64_t queries_folded;   /* repeats within one second, not reported */
	uint64_t queries_not_lan;  /* queries from non-LAN clients, ignored */
	uint64_t pending_full;	   /* remembered queries dropped to make room */
	uint64_t expired;	   /* remembered queries never answered */
	uint64_t responses;	   /* responses matching a remembered query */
	uint64_t answers;	   /* ops->answer calls */
	uint64_t unmatched;	   /* responses matching no remembered query (or spoofed) */
	uint64_t bad_rcode;	   /* matched responses with RCODE other than NOERROR */
	uint64_t tc_set;	   /* matched responses with TC=1 (the retry over TCP is used) */
	uint64_t malformed;	   /* not parseable: short, absurd counts, bad names, overruns */
	uint64_t unsupported;	   /* parseable but not a single IN-class QUERY question */
	uint64_t cname_too_deep;   /* CNAME chains cut at DNS_MAX_CNAME */
	uint64_t addrs_refused;	   /* A/AAAA records naming an address no name may have */
	uint64_t addrs_capped;	   /* A/AAAA records beyond DNS_MAX_ADDRS in one answer, ignored */
};

/* ops is copied; ttl_floor 0 = DNS_TTL_FLOOR. Returns 0 or -errno. */
int dns_init(const struct dns_ops *ops, unsigned int ttl_floor);
void dns_destroy(void);

/*
 * One DNS message (from the DNS header on, without the TCP length prefix). Returns 0 (used or
 * ignored: not a LAN query, folded, error RCODE, TC), -EINVAL (malformed), -EPERM (response
 * matching no remembered query), -EOPNOTSUPP (not a single IN-class QUERY question).
 */
int dns_handle_message(const uint8_t *msg, size_t len, const struct dns_endpoints *ep, time_t now);
/* Once a second or so: expires remembered queries and folding state. */
void dns_tick(time_t now);
void dns_get_stats(struct dns_stats *st);
/* Remembered queries now. */
unsigned int dns_pending_count(void);

#endif
