// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytequeue.h"
#include "devcap.h"
#include "kernel.h"
#include "log.h"
#include "loop.h"
#include "spin_common.h"

#define PCAP_MAGIC	0xa1b2c3d4u /* microsecond timestamps */
#define PCAP_DLT_EN10MB 1
#define MAX_SECONDS	(7 * 24 * 3600) /* loop timers take milliseconds in 32 bits */

struct devcap_stream {
	struct devcap_stream *next;
	uint8_t mac[6];
	devcap_wake_cb wake; /* NULL once the reader has closed */
	void *ctx;
	struct bytequeue q; /* pcap bytes not read yet */
	uint64_t written;   /* pcap bytes accepted, headers included */
	struct loop_timer *timer;
	enum devcap_end end;
};

static struct {
	struct devcap_opts o;
	struct devcap_stream *streams;
	struct devcap_stats st;
	bool on;
} dc;

/* --- pcap --- */

void devcap_pcap_header(uint8_t out[DEVCAP_PCAP_HDR_LEN], uint32_t snaplen)
{
	uint32_t magic = PCAP_MAGIC, zero = 0, link = PCAP_DLT_EN10MB;
	uint16_t major = 2, minor = 4;

	memcpy(out, &magic, 4);
	memcpy(out + 4, &major, 2);
	memcpy(out + 6, &minor, 2);
	memcpy(out + 8, &zero, 4);  /* thiszone: timestamps are UTC */
	memcpy(out + 12, &zero, 4); /* sigfigs */
	memcpy(out + 16, &snaplen, 4);
	memcpy(out + 20, &link, 4);
}

void devcap_pcap_record_header(uint8_t out[DEVCAP_REC_HDR_LEN], uint64_t ts_ns,
			       int64_t mono_to_real_ns, uint32_t cap_len, uint32_t pkt_len)
{
	uint64_t t = (uint64_t)((int64_t)ts_ns + mono_to_real_ns);
	uint32_t sec = (uint32_t)(t / 1000000000u), usec = (uint32_t)(t % 1000000000u / 1000);

	memcpy(out, &sec, 4);
	memcpy(out + 4, &usec, 4);
	memcpy(out + 8, &cap_len, 4);
	memcpy(out + 12, &pkt_len, 4);
}

static int64_t mono_to_real_ns(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000 + (r.tv_nsec - m.tv_nsec);
}

/* --- the kernel map --- */

static unsigned int active_streams(const uint8_t mac[6])
{
	unsigned int n = 0;

	for (struct devcap_stream *s = dc.streams; s; s = s->next)
		if (s->end == DEVCAP_RUNNING && (!mac || memcmp(s->mac, mac, 6) == 0))
			n++;
	return n;
}

/* Distinct MACs with a running stream. */
static unsigned int active_macs(void)
{
	unsigned int n = 0;

	for (struct devcap_stream *s = dc.streams; s; s = s->next) {
		struct devcap_stream *t;

		if (s->end != DEVCAP_RUNNING)
			continue;
		for (t = dc.streams; t != s; t = t->next)
			if (t->end == DEVCAP_RUNNING && memcmp(t->mac, s->mac, 6) == 0)
				break;
		n += t == s;
	}
	return n;
}

static int set_n_capture(unsigned int n)
{
	struct spin_cfg cfg;
	int err = kernel_cfg_read(&cfg);

	if (err)
		return err;
	if (cfg.n_capture == n)
		return 0;
	cfg.n_capture = n;
	return kernel_cfg_write(&cfg);
}

/*
 * Makes spin_capmac and spin_cfg.n_capture match the running streams of mac. The entry goes
 * in before the gate opens and the gate closes before the entry goes, though either order
 * only costs a lookup.
 */
static int kernel_sync(const uint8_t mac[6])
{
	__u32 n = active_streams(mac);
	int err;

	if (!dc.o.kernel)
		return 0;
	if (n) {
		err = kernel_capmac_set(mac, n);
		return err ? err : set_n_capture(active_macs());
	}
	err = set_n_capture(active_macs());
	n = (__u32)kernel_capmac_set(mac, 0);
	return err ? err : (int)n;
}

/* Removes what a previous spind left behind (it may have died mid-capture). */
static int kernel_clear(void)
{
	int err = kernel_capmac_clear();

	return err ? err : set_n_capture(0);
}

/* --- streams --- */

static void wake(struct devcap_stream *s)
{
	if (s->wake)
		s->wake(s->ctx);
}

static void end_stream(struct devcap_stream *s, enum devcap_end why)
{
	char m[18];
	int err;

	if (s->end != DEVCAP_RUNNING)
		return;
	s->end = why;
	loop_timer_del(s->timer);
	s->timer = NULL;
	if (why == DEVCAP_END_BYTES || why == DEVCAP_END_SECONDS)
		dc.st.limit_ends++;
	err = kernel_sync(s->mac);
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1], s->mac[2],
		 s->mac[3], s->mac[4], s->mac[5]);
	if (err)
		pr_warn("capture of %s: cannot update %s: %s", m, SPIN_MAP_CAPMAC, strerror(-err));
	pr_info("capture of %s ended (%s) after %llu bytes", m,
		why == DEVCAP_END_BYTES	    ? "capture_max_bytes"
		: why == DEVCAP_END_SECONDS ? "capture_max_seconds"
		: why == DEVCAP_END_ERROR   ? "error"
					    : "stopped",
		(unsigned long long)s->written);
	wake(s);
}

static int enqueue(struct devcap_stream *s, const void *a, size_t na, const void *b, size_t nb)
{
	/* both parts or neither: a record without its data would break the file */
	int err = bytequeue_reserve(&s->q, na + nb);

	if (err)
		return err;
	bytequeue_append(&s->q, a, na);
	bytequeue_append(&s->q, b, nb);
	s->written += na + nb;
	return 0;
}

static void on_timeout(void *ctx)
{
	end_stream(ctx, DEVCAP_END_SECONDS);
}

int devcap_open(const uint8_t mac[6], devcap_wake_cb wake_cb, void *ctx, struct devcap_stream **out)
{
	uint8_t hdr[DEVCAP_PCAP_HDR_LEN];
	struct devcap_stream *s;
	int err;

	if (!dc.on)
		return -ENODEV;
	if (active_streams(NULL) >= DEVCAP_MAX_STREAMS)
		return -EBUSY;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s->mac, mac, 6);
	s->wake = wake_cb;
	s->ctx = ctx;
	devcap_pcap_header(hdr, SPIN_CAP_SNAPLEN);
	s->timer = loop_timer_once(dc.o.max_seconds * 1000, on_timeout, s);
	if (!s->timer || enqueue(s, hdr, sizeof(hdr), NULL, 0)) {
		err = s->timer ? -ENOMEM : -errno;
		goto fail;
	}
	s->next = dc.streams;
	dc.streams = s;
	err = kernel_sync(mac);
	if (err) {
		dc.streams = s->next;
		kernel_sync(mac);
		goto fail;
	}
	dc.st.streams++;
	dc.st.started++;
	*out = s;
	return 0;
fail:
	loop_timer_del(s->timer);
	bytequeue_free(&s->q);
	free(s);
	return err;
}

ssize_t devcap_read(struct devcap_stream *s, void *buf, size_t max)
{
	if (!s->q.len)
		return s->end != DEVCAP_RUNNING ? DEVCAP_EOF : 0;
	return (ssize_t)bytequeue_take(&s->q, buf, max);
}

void devcap_close(struct devcap_stream *s)
{
	struct devcap_stream **pp;

	if (!s)
		return;
	s->wake = NULL; /* the reader is gone: nobody to tell */
	end_stream(s, DEVCAP_END_STOP);
	for (pp = &dc.streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			dc.st.streams--;
			break;
		}
	}
	bytequeue_free(&s->q);
	free(s);
}

enum devcap_end devcap_end_reason(const struct devcap_stream *s)
{
	return s->end;
}

int devcap_stop(const uint8_t mac[6])
{
	int n = 0;

	for (struct devcap_stream *s = dc.streams; s; s = s->next) {
		if (s->end == DEVCAP_RUNNING && memcmp(s->mac, mac, 6) == 0) {
			end_stream(s, DEVCAP_END_STOP);
			n++;
		}
	}
	return n;
}

/* Queues one frame on a stream, or ends the stream at its byte limit. */
static void stream_record(struct devcap_stream *s, const struct spin_cap_event *e, int64_t off)
{
	uint8_t rh[DEVCAP_REC_HDR_LEN];
	size_t n = sizeof(rh) + e->cap_len;

	if (s->written + n > dc.o.max_bytes) {
		end_stream(s, DEVCAP_END_BYTES);
		return;
	}
	if (s->q.len + n > dc.o.queue_max) {
		dc.st.queue_drops++; /* the file stays valid: a whole record is left out */
		return;
	}
	devcap_pcap_record_header(rh, e->ts_ns, off, e->cap_len, e->pkt_len);
	if (enqueue(s, rh, sizeof(rh), e->data, e->cap_len)) {
		end_stream(s, DEVCAP_END_ERROR);
		return;
	}
	dc.st.records++;
	wake(s);
}

int devcap_handle_record(const void *data, size_t size)
{
	const struct spin_cap_event *e = data;
	int64_t off;

	if (size < sizeof(*e) || e->type != SPIN_EV_CAPTURE || e->cap_len > SPIN_CAP_SNAPLEN ||
	    e->cap_len < 12 || sizeof(*e) + e->cap_len > size || e->pkt_len < e->cap_len) {
		dc.st.malformed++;
		return -EINVAL;
	}
	off = mono_to_real_ns();
	/* The frame's own MACs decide, not e->mac: two captured devices may talk. */
	for (struct devcap_stream *s = dc.streams; s; s = s->next) {
		if (s->end != DEVCAP_RUNNING)
			continue;
		if (memcmp(e->data, s->mac, 6) == 0 || memcmp(e->data + 6, s->mac, 6) == 0)
			stream_record(s, e, off);
	}
	return 0;
}

void devcap_get_stats(struct devcap_stats *st)
{
	*st = dc.st;
}

int devcap_init(const struct devcap_opts *opts)
{
	int err;

	memset(&dc, 0, sizeof(dc));
	dc.o = *opts;
	if (!dc.o.max_bytes)
		dc.o.max_bytes = DEVCAP_DEF_MAX_BYTES;
	if (!dc.o.max_seconds)
		dc.o.max_seconds = DEVCAP_DEF_MAX_SECONDS;
	if (dc.o.max_seconds > MAX_SECONDS)
		dc.o.max_seconds = MAX_SECONDS;
	if (!dc.o.queue_max)
		dc.o.queue_max = DEVCAP_DEF_QUEUE;
	if (dc.o.kernel) {
		err = kernel_clear();
		if (err) {
			pr_err("capture: cannot clear %s: %s", SPIN_MAP_CAPMAC, strerror(-err));
			return err;
		}
	}
	dc.on = true;
	return 0;
}

void devcap_destroy(void)
{
	if (!dc.on)
		return;
	/* Readers still connected see the end; each frees its stream with devcap_close(). */
	for (struct devcap_stream *s = dc.streams; s; s = s->next)
		end_stream(s, DEVCAP_END_STOP);
	dc.on = false;
}
