/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive mode's packet source: a capture file (pcap or pcapng) or a live interface (a mirror
 * port), read through libpcap. It does in user space what the BPF programs do on the kernel
 * path, with the same parser (spin_parse.h) and the same canonical flow keys: per-direction IP
 * bytes and packets per flow, DNS packets to the DNS module (events_dns_packet, as the ring
 * buffer's records), and devices' MACs. Once per second of capture time it hands every flow
 * that changed to the same flows_delta_cb the kernel sweep feeds (traffic_add), so that
 * everything after this boundary is shared. Needs no libbpf and no kernel.c/flows.c symbol.
 *
 * Time is the capture's: packet timestamps drive the one-second intervals, and the 'now'
 * passed on (interval ends, DNS) is the capture's Unix time (capture_now()). A file is
 * replayed at the pace it was recorded, or as fast as possible (fast); its last partial
 * interval is flushed at end of file. Reading never blocks the event loop: a file is read in
 * batches of CAPTURE_BATCH packets per loop iteration, a live capture through libpcap's
 * selectable fd in non-blocking mode.
 *
 * Link types: Ethernet (with 802.1Q / QinQ tags), Linux cooked SLL and SLL2, raw IP
 * (DLT_RAW, DLT_IPV4, DLT_IPV6) and BSD loopback (DLT_NULL, DLT_LOOP). A pcapng file with
 * several interfaces is read whole when they share one link type; libpcap 1.10 cannot read
 * pcapng interfaces of different link types in one file (it stops at the first interface
 * whose type differs from the first one's): the packets before it are used, the error is
 * logged and counted (read_errors) - split such a file per interface first.
 *
 * Bytes are the IP length from the IP header (Ethernet padding left out), bounded by the
 * packet's original length, as the kernel counts; a packet cut by the snap length (caplen <
 * len) is still counted from its IP header's length (counted in snap_cut). Bad input is
 * counted in capture_stats and skipped, never trusted: truncated files, unknown link types,
 * absurd record lengths, malformed headers. Single-threaded, one capture at a time.
 *
 * A live interface that goes away (deleted, or down where libpcap reports it) ends its handle:
 * one warning, the handle closed, the event counted (iface_lost); the flow table, the MACs and
 * the counters stay, and the one-second tick opens the interface again once it exists and is
 * up (same name, any ifindex), with one line when it does.
 */
#ifndef SPIN_CAPTURE_H
#define SPIN_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "flows.h"
#include "spin_common.h"

#define CAPTURE_BATCH	     4096      /* packets read per loop iteration */
#define CAPTURE_SNAPLEN	     65535     /* live capture: whole packets (DNS answers are parsed) */
#define CAPTURE_MAX_WIRE_LEN (1 << 20) /* a record claiming a longer packet is absurd */
#define CAPTURE_MAX_CAPLEN   262144    /* libpcap's own bound on a record's captured bytes */
#define CAPTURE_HDR_COPY     512       /* bytes parsed before the payload is needed */
#define CAPTURE_IDLE_S	     120       /* a flow without packets this long leaves the table */
#define CAPTURE_MAX_FRAGS    SPIN_MAX_FRAGS
#define CAPTURE_MAC_CACHE    4096 /* (address, MAC) pairs remembered to report changes only */

/*
 * The LAN prefixes passive mode assumes when none are configured: private and link-local
 * ranges, and the documentation ranges the lab's LAN uses.
 */
#define CAPTURE_DEFAULT_LAN                                                                        \
	"10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,192.0.2.0/24,fc00::/7,"            \
	"fe80::/10,2001:db8:1::/64"

struct capture_ops {
	/* One flow's counters for the interval that is ending (only flows that changed). */
	flows_delta_cb delta;
	/*
	 * An interval ending at 'end' (capture time): called with begin=true before its deltas
	 * (traffic_begin), with begin=false after them (traffic_flush, DNS and node ticks).
	 */
	void (*interval)(time_t end, bool begin, void *ctx);
	/* Is this address a LAN device's? (MAC learning, which side of DNS is the client) */
	bool (*is_lan)(const struct spin_addr *a, void *ctx);
	/* A LAN address was seen with this MAC (frame source, ARP, NDP). May be NULL. */
	void (*learn_mac)(const struct spin_addr *ip, const uint8_t mac[6], void *ctx);
	/* The file ended (or failed) and its last interval was flushed. May be NULL. */
	void (*done)(int err, void *ctx);
	void *ctx;
};

struct capture_opts {
	bool fast;		/* files: as fast as possible instead of the recorded pace */
	unsigned int max_flows; /* 0: SPIN_MAX_FLOWS */
	unsigned int idle_s;	/* 0: CAPTURE_IDLE_S */
};

struct capture_stats {
	uint64_t packets;	   /* records read */
	uint64_t ip_packets;	   /* packets counted into flows */
	uint64_t bytes;		   /* IP bytes counted into flows */
	uint64_t not_ip;	   /* ARP, LLDP...: not counted */
	uint64_t parse_error;	   /* malformed or truncated headers: skipped */
	uint64_t snap_cut;	   /* caplen < len: counted from the IP header's length */
	uint64_t absurd;	   /* record lengths no packet has (caplen > len, len > 1 MiB) */
	uint64_t unknown_linktype; /* packets of a link type not decoded */
	uint64_t fragments;
	uint64_t frag_unknown; /* later fragments whose first fragment was not seen */
	uint64_t copies;       /* "any" captures: a packet seen again on another interface */
	uint64_t flow_new;
	uint64_t map_full; /* packets that found no flow entry and could not create one */
	uint64_t overflow_bytes;
	uint64_t overflow_packets;
	uint64_t flows;	  /* flows in the table now */
	uint64_t removed; /* idle flows removed */
	uint64_t dns_packets;
	uint64_t dns_malformed; /* port 53, but no DNS message in it */
	uint64_t dns_rejected;	/* dns_handle_message refused the message */
	uint64_t dns_snap_cut;	/* DNS packets cut by the snap length */
	uint64_t arp;		/* ARP replies and announcements used */
	uint64_t ndp;		/* neighbour advertisements used */
	uint64_t macs_learned;	/* learn_mac calls (new or changed pairs) */
	uint64_t intervals;
	uint64_t read_errors; /* the file ended in an error: truncated, bad block; live: a
				 read failed otherwise (the capture is reopened) */
	uint64_t iface_lost;  /* live: the interface went down or away (reopened when back) */
	int linktype;	      /* DLT_* of the capture */
	bool eof;	      /* the file is done (its last interval flushed) */
};

/* capture -r FILE: pcap or pcapng ("-" is stdin). 0 or -errno (the cause is logged). */
int capture_open_file(const char *path, const struct capture_opts *opts,
		      const struct capture_ops *ops);
/* The same on an open stream (taken over; closed by capture_close()). name for messages. */
int capture_open_stream(FILE *f, const char *name, const struct capture_opts *opts,
			const struct capture_ops *ops);
/* capture -P -i IF: a live interface, promiscuous. 0 or -errno. */
int capture_open_live(const char *ifname, const struct capture_opts *opts,
		      const struct capture_ops *ops);

/*
 * Hooks the opened capture into the event loop (loop_init() first): a file is read in
 * batches, a live interface when its fd is readable, and intervals end once a second.
 */
int capture_start(void);

/*
 * Without the event loop (tests, fuzzing, benchmarks): reads an opened file to its end, as
 * fast as possible, then flushes its last interval. Returns the records read or -errno.
 */
long capture_run(void);

/* The capture's current time (Unix seconds): the latest packet's, paced replay's clock. */
time_t capture_now(void);
void capture_get_stats(struct capture_stats *st);
/* Is a capture open (a file, or a live interface even while it is away)? */
bool capture_is_open(void);
/*
 * Logs the statistics in one line (at end of file; spind: on exit from a live capture).
 * Nothing without an open capture.
 */
void capture_log_stats(void);
/* Frees everything, the flow table included. Safe without an open capture. */
void capture_close(void);

#endif
