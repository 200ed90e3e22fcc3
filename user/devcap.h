/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet capture of one device, produced in the kernel: a capture stream puts the device's MAC
 * in spin_capmac (and counts it in spin_cfg.n_capture), the TC programs copy its frames to the
 * ring buffer (SPIN_EV_CAPTURE), and each record becomes a pcap record (libpcap's format,
 * DLT_EN10MB) queued on every stream of that MAC. A stream ends on devcap_stop(), on its byte
 * or time limit, or when its reader closes it; the MAC leaves the map when its last stream
 * ends. The HTTP side (user/httpd.c) reads the queue; this module never blocks.
 */
#ifndef SPIN_DEVCAP_H
#define SPIN_DEVCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DEVCAP_PCAP_HDR_LEN    24 /* the pcap global header */
#define DEVCAP_REC_HDR_LEN     16 /* a pcap record header */
#define DEVCAP_MAX_STREAMS     8  /* open streams, all devices together */
#define DEVCAP_DEF_MAX_BYTES   (64ULL * 1024 * 1024)
#define DEVCAP_DEF_MAX_SECONDS 600
#define DEVCAP_DEF_QUEUE       (4 * 1024 * 1024)

/* devcap_read()'s answer once a stream has ended and everything queued was read. */
#define DEVCAP_EOF (-1)

struct devcap_opts {
	uint64_t max_bytes;	  /* pcap bytes per stream, headers included; 0: default */
	unsigned int max_seconds; /* per stream; 0: default */
	size_t queue_max;	  /* bytes queued for a slow reader; records beyond are dropped */
	/*
	 * Program spin_capmac and spin_cfg (kernel_capmac_fd(), kernel_cfg_*()). False only in
	 * tests, which feed records to devcap_handle_record() themselves.
	 */
	bool kernel;
};

struct devcap_stats {
	uint64_t streams;     /* open now */
	uint64_t started;     /* ever */
	uint64_t records;     /* pcap records queued (one per stream that wanted the frame) */
	uint64_t queue_drops; /* records dropped because a reader was too slow */
	uint64_t limit_ends;  /* streams ended by their byte or time limit */
	uint64_t malformed;   /* ring-buffer records that did not check out */
};

/* Why a stream ended (devcap_end_reason). */
enum devcap_end {
	DEVCAP_RUNNING = 0,
	DEVCAP_END_STOP,    /* devcap_stop() or module shutdown */
	DEVCAP_END_BYTES,   /* max_bytes reached */
	DEVCAP_END_SECONDS, /* max_seconds passed */
	DEVCAP_END_ERROR,   /* out of memory, or the kernel map could not be set */
};

struct devcap_stream;

/* Called (in the loop) when a stream has new bytes or has ended: the reader should read. */
typedef void (*devcap_wake_cb)(void *ctx);

/* loop_init() first (the time limits are loop timers). Returns 0 or -errno. */
int devcap_init(const struct devcap_opts *opts);
/* Ends every stream (readers see the end) and removes every MAC from the kernel map. */
void devcap_destroy(void);

/*
 * Starts a stream of the frames to and from mac. The pcap global header is queued at once.
 * Returns 0 and *out, or -EBUSY (too many streams or devices), -ENOMEM, -ENODEV (module not
 * initialised), or the map update's -errno.
 */
int devcap_open(const uint8_t mac[6], devcap_wake_cb wake, void *ctx, struct devcap_stream **out);
/*
 * Copies up to max queued bytes: returns the count, 0 when nothing is queued yet (wait for the
 * wake callback), or DEVCAP_EOF when the stream has ended and is drained.
 */
ssize_t devcap_read(struct devcap_stream *s, void *buf, size_t max);
/* The reader is gone: ends the stream if it still runs and frees it. NULL is fine. */
void devcap_close(struct devcap_stream *s);
enum devcap_end devcap_end_reason(const struct devcap_stream *s);

/* Ends every stream of mac (capture_stop). Returns the number of streams ended. */
int devcap_stop(const uint8_t mac[6]);

/* One SPIN_EV_CAPTURE ring-buffer record (from user/events.c). 0 or -EINVAL. */
int devcap_handle_record(const void *data, size_t size);

void devcap_get_stats(struct devcap_stats *st);

/* --- helpers, exposed for the HTTP layer and for tests --- */

/* Exactly "xx:xx:xx:xx:xx:xx" (hex, either case). 0 or -EINVAL. */

/* The libpcap file header: magic 0xa1b2c3d4 in host order, version 2.4, DLT_EN10MB. */
void devcap_pcap_header(uint8_t out[DEVCAP_PCAP_HDR_LEN], uint32_t snaplen);
/* A record header; mono_to_real_ns is added to the CLOCK_MONOTONIC ts_ns for wall-clock time. */
void devcap_pcap_record_header(uint8_t out[DEVCAP_REC_HDR_LEN], uint64_t ts_ns,
			       int64_t mono_to_real_ns, uint32_t cap_len, uint32_t pkt_len);

#endif
