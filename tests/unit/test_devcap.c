// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The capture module without a kernel: SPIN_EV_CAPTURE records go in through
 * devcap_handle_record() as the ring buffer would hand them over, the pcap bytes come out of
 * devcap_read() and libpcap itself reads them back. Also the MAC parser, the headers' bytes,
 * the byte, time, queue and stream limits, and capture_stop.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <pcap/pcap.h>

#include "check.h"
#include "devcap.h"
#include "loop.h"
#include "nodes.h"
#include "spin_common.h"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x02};
static const uint8_t mac_gw[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe};

static int wakes;

static void on_wake(void *ctx)
{
	wakes++;
}

/* A record as the kernel writes it: a frame from src to dst of len bytes, cap_len copied. */
static size_t make_record(uint8_t *out, const uint8_t dst[6], const uint8_t src[6],
			  uint32_t pkt_len, uint16_t cap_len, uint8_t fill)
{
	struct spin_cap_event ev = {.type = SPIN_EV_CAPTURE,
				    .ifindex = 3,
				    .pkt_len = pkt_len,
				    .cap_len = cap_len,
				    .hook = SPIN_HOOK_TC_INGRESS};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ev.ts_ns = (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	memcpy(ev.mac, dst, 6);
	memcpy(out, &ev, sizeof(ev));
	memset(out + sizeof(ev), fill, cap_len);
	memcpy(out + sizeof(ev), dst, 6);
	memcpy(out + sizeof(ev) + 6, src, 6);
	return sizeof(ev) + cap_len;
}

static uint8_t rec[sizeof(struct spin_cap_event) + SPIN_CAP_SNAPLEN];

static void feed(const uint8_t dst[6], const uint8_t src[6], uint32_t pkt_len, uint16_t cap_len,
		 uint8_t fill)
{
	size_t n = make_record(rec, dst, src, pkt_len, cap_len, fill);

	devcap_handle_record(rec, n);
}

/* Everything queued on s, up to max bytes; *eof tells whether the stream said it ended. */
static size_t drain(struct devcap_stream *s, uint8_t *buf, size_t max, int *eof)
{
	size_t got = 0;
	ssize_t n;

	*eof = 0;
	while (got < max &&
	       (n = devcap_read(s, buf + got, max - got > 100 ? 100 : max - got)) != 0) {
		if (n == DEVCAP_EOF) {
			*eof = 1;
			break;
		}
		got += (size_t)n;
	}
	return got;
}

static void test_parse_mac(void)
{
	static const char *const bad[] = {
		"",
		"02:00:5e:00:53:0",
		"02:00:5e:00:53:011",
		"02-00-5e-00-53-01",
		"02:00:5e:00:53:0g",
		"02:00:5e:00:53:01;rm -rf /",
		"02:00:5e:00:53:01\n",
		"$(reboot)00:53:01",
		"'; DROP TABLE x;--",
		"02:00:5e:00:53:0\xc3",
		" 02:00:5e:00:53:01",
		"02::0:5e:00:53:01",
	};
	uint8_t mac[6];
	char name[96];

	CHECK(nodes_mac_parse("02:00:5e:00:53:01", mac) == 0 && memcmp(mac, mac_a, 6) == 0,
	      "parse_mac: lower case");
	CHECK(nodes_mac_parse("02:00:5E:00:53:FE", mac) == 0 && memcmp(mac, mac_gw, 6) == 0,
	      "parse_mac: upper case");
	CHECK_INT(nodes_mac_parse(NULL, mac), -EINVAL, "parse_mac: missing parameter");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "parse_mac: refuses bad string %zu", i);
		CHECK_INT(nodes_mac_parse(bad[i], mac), -EINVAL, name);
	}
}

static void test_headers(void)
{
	uint8_t h[DEVCAP_PCAP_HDR_LEN], r[DEVCAP_REC_HDR_LEN];
	uint32_t u32[4];
	uint16_t u16[2];

	devcap_pcap_header(h, SPIN_CAP_SNAPLEN);
	memcpy(u32, h, 4);
	CHECK_INT(u32[0], 0xa1b2c3d4, "pcap header: magic (microseconds, host order)");
	memcpy(u16, h + 4, 4);
	CHECK_INT(u16[0] * 100 + u16[1], 204, "pcap header: version 2.4");
	memcpy(u32, h + 8, 16);
	CHECK_INT(u32[0] | u32[1], 0, "pcap header: thiszone and sigfigs zero");
	CHECK_INT(u32[2], SPIN_CAP_SNAPLEN, "pcap header: snap length");
	CHECK_INT(u32[3], 1, "pcap header: DLT_EN10MB");

	/* monotonic 5.000123456 s + offset 1700000000 s - 1 ns */
	devcap_pcap_record_header(r, 5000123456ULL, 1700000000LL * 1000000000 - 1, 60, 1500);
	memcpy(u32, r, 16);
	CHECK_INT(u32[0], 1700000005, "record header: wall-clock seconds");
	CHECK_INT(u32[1], 123, "record header: microseconds");
	CHECK_INT(u32[2], 60, "record header: incl_len is the copy");
	CHECK_INT(u32[3], 1500, "record header: orig_len is the frame");
}

/* Reads a pcap held in memory with libpcap; checks each packet against the expectations. */
struct want_pkt {
	uint32_t caplen, len;
	uint8_t fill;
};

static void check_with_libpcap(const char *what, uint8_t *buf, size_t n,
			       const struct want_pkt *want, int n_want)
{
	char err[PCAP_ERRBUF_SIZE], name[160];
	FILE *f = fmemopen(buf, n, "r");
	pcap_t *p = f ? pcap_fopen_offline(f, err) : NULL;
	struct pcap_pkthdr *ph;
	const u_char *data;
	time_t now = time(NULL);
	int i = 0, rc;

	snprintf(name, sizeof(name), "%s: libpcap opens the stream", what);
	if (!CHECK(p, name)) {
		if (f)
			fclose(f);
		return;
	}
	snprintf(name, sizeof(name), "%s: link type and snap length", what);
	CHECK_INT(pcap_datalink(p) * 100000 + pcap_snapshot(p), DLT_EN10MB * 100000 + 1514, name);
	while ((rc = pcap_next_ex(p, &ph, &data)) == 1) {
		if (i < n_want) {
			snprintf(name, sizeof(name), "%s: packet %d caplen/len", what, i);
			CHECK_INT((long long)ph->caplen * 100000 + ph->len,
				  (long long)want[i].caplen * 100000 + want[i].len, name);
			snprintf(name, sizeof(name), "%s: packet %d time is now", what, i);
			CHECK(ph->ts.tv_sec >= now - 5 && ph->ts.tv_sec <= now + 1, name);
			snprintf(name, sizeof(name), "%s: packet %d bytes", what, i);
			CHECK(ph->caplen > 12 && data[12] == want[i].fill &&
				      data[ph->caplen - 1] == want[i].fill,
			      name);
		}
		i++;
	}
	snprintf(name, sizeof(name), "%s: the file ends cleanly after its packets", what);
	CHECK_INT(rc, PCAP_ERROR_BREAK, name);
	snprintf(name, sizeof(name), "%s: packet count", what);
	CHECK_INT(i, n_want, name);
	pcap_close(p); /* closes f */
}

static uint8_t out[1 << 20];

static void test_stream(void)
{
	struct devcap_stream *s = NULL, *s2 = NULL;
	struct want_pkt want[3] = {
		{100, 100, 0xa1}, {SPIN_CAP_SNAPLEN, 9000, 0xa2}, {60, 60, 0xa3}};
	struct devcap_stats st;
	size_t n;
	int eof;

	CHECK_INT(devcap_init(&(struct devcap_opts){.kernel = false}), 0, "init without a kernel");
	CHECK_INT(devcap_open(mac_a, on_wake, NULL, &s), 0, "open a stream of A");
	n = drain(s, out, sizeof(out), &eof);
	CHECK_INT(n, DEVCAP_PCAP_HDR_LEN, "the global header is queued at once");
	CHECK_INT(devcap_read(s, out, sizeof(out)), 0, "then nothing: the reader waits");

	wakes = 0;
	feed(mac_a, mac_gw, 100, 100, 0xa1);		   /* to A */
	feed(mac_gw, mac_a, 9000, SPIN_CAP_SNAPLEN, 0xa2); /* from A, a GSO super-packet */
	feed(mac_b, mac_gw, 100, 100, 0xb1);		   /* B's: not in A's file */
	CHECK_INT(devcap_handle_record(rec, sizeof(struct spin_cap_event) + 10), -EINVAL,
		  "a record shorter than its cap_len is refused");
	rec[0] = 9;
	CHECK_INT(devcap_handle_record(rec, sizeof(rec)), -EINVAL, "a record of another type");
	feed(mac_a, mac_b, 60, 60, 0xa3); /* A and B talking */
	CHECK_INT(wakes, 3, "the reader is woken for each of A's frames");

	devcap_pcap_header(out, SPIN_CAP_SNAPLEN);
	n = DEVCAP_PCAP_HDR_LEN + drain(s, out + DEVCAP_PCAP_HDR_LEN, sizeof(out), &eof);
	CHECK_INT(n, DEVCAP_PCAP_HDR_LEN + 3 * DEVCAP_REC_HDR_LEN + 100 + SPIN_CAP_SNAPLEN + 60,
		  "stream bytes: header and three records");
	CHECK(!eof, "the stream still runs");
	check_with_libpcap("A's capture", out, n, want, 3);

	CHECK_INT(devcap_open(mac_b, on_wake, NULL, &s2), 0, "a second stream, of B");
	CHECK_INT(devcap_stop(mac_a), 1, "capture_stop of A ends one stream");
	CHECK_INT(devcap_stop(mac_a), 0, "a second capture_stop finds none");
	CHECK_INT(devcap_end_reason(s), DEVCAP_END_STOP, "A ended by stop");
	feed(mac_a, mac_gw, 100, 100, 0xa4);
	drain(s, out, sizeof(out), &eof);
	CHECK(eof, "A's reader sees the end, and no frame after the stop");
	CHECK_INT(devcap_end_reason(s2), DEVCAP_RUNNING, "B still runs");
	drain(s2, out, sizeof(out), &eof);
	CHECK_INT(drain(s2, out, sizeof(out), &eof), 0,
		  "B's frames before it started are not in it");
	devcap_close(s);
	devcap_close(s2);
	devcap_get_stats(&st);
	CHECK_INT(st.streams, 0, "stats: no stream open after close");
	CHECK_INT(st.malformed, 2, "stats: malformed records counted");
	devcap_destroy();
}

static void test_byte_limit(void)
{
	struct devcap_stream *s = NULL;
	struct want_pkt want[2] = {{100, 100, 0xc1}, {100, 100, 0xc2}};
	uint64_t max = DEVCAP_PCAP_HDR_LEN + 2 * (DEVCAP_REC_HDR_LEN + 100) + 50;
	size_t n;
	int eof;

	devcap_init(&(struct devcap_opts){.kernel = false, .max_bytes = max});
	devcap_open(mac_a, on_wake, NULL, &s);
	feed(mac_a, mac_gw, 100, 100, 0xc1);
	feed(mac_a, mac_gw, 100, 100, 0xc2);
	wakes = 0;
	feed(mac_a, mac_gw, 100, 100, 0xc3);
	CHECK_INT(devcap_end_reason(s), DEVCAP_END_BYTES, "byte limit: the third frame ends it");
	CHECK_INT(wakes, 1, "byte limit: the reader is woken for the end");
	n = drain(s, out, sizeof(out), &eof);
	CHECK(eof && n <= max, "byte limit: the file is within capture_max_bytes, then EOF");
	check_with_libpcap("byte limit", out, n, want, 2);
	devcap_close(s);
	devcap_destroy();
}

static void test_queue_limit(void)
{
	struct devcap_stream *s = NULL;
	struct want_pkt want[2] = {{100, 100, 0xd1}, {100, 100, 0xd3}};
	struct devcap_stats st;
	size_t n;
	int eof;

	devcap_init(&(struct devcap_opts){.kernel = false, .queue_max = 200});
	devcap_open(mac_a, on_wake, NULL, &s);
	feed(mac_a, mac_gw, 100, 100, 0xd1);
	feed(mac_a, mac_gw, 100, 100, 0xd2); /* 24 + 2 * 116 > 200: left out */
	n = drain(s, out, sizeof(out), &eof);
	feed(mac_a, mac_gw, 100, 100, 0xd3); /* the reader caught up */
	n += drain(s, out + n, sizeof(out) - n, &eof);
	devcap_get_stats(&st);
	CHECK_INT(st.queue_drops, 1, "queue limit: a slow reader loses whole records");
	check_with_libpcap("queue limit", out, n, want, 2);
	devcap_close(s);
	devcap_destroy();
}

static void test_stream_limit(void)
{
	struct devcap_stream *s[DEVCAP_MAX_STREAMS + 1] = {};
	int ok = 0;

	devcap_init(&(struct devcap_opts){.kernel = false});
	for (int i = 0; i < DEVCAP_MAX_STREAMS; i++)
		ok += devcap_open(mac_a, on_wake, NULL, &s[i]) == 0;
	CHECK_INT(ok, DEVCAP_MAX_STREAMS, "streams up to the limit open");
	CHECK_INT(devcap_open(mac_b, on_wake, NULL, &s[DEVCAP_MAX_STREAMS]), -EBUSY,
		  "one more is refused");
	CHECK_INT(devcap_stop(mac_a), DEVCAP_MAX_STREAMS, "capture_stop ends every stream of A");
	for (int i = 0; i < DEVCAP_MAX_STREAMS; i++)
		devcap_close(s[i]);
	devcap_destroy();
	CHECK_INT(devcap_open(mac_a, on_wake, NULL, &s[0]), -ENODEV, "no stream after destroy");
}

static void on_stop(void *ctx)
{
	loop_stop();
}

static void test_time_limit(void)
{
	struct devcap_stream *s = NULL;
	struct loop_timer *t;
	struct timespec a, b;
	double el;
	int eof;

	devcap_init(&(struct devcap_opts){.kernel = false, .max_seconds = 1});
	clock_gettime(CLOCK_MONOTONIC, &a);
	devcap_open(mac_a, on_wake, NULL, &s);
	t = loop_timer_once(1500, on_stop, NULL);
	wakes = 0;
	loop_run();
	clock_gettime(CLOCK_MONOTONIC, &b);
	el = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_INT(devcap_end_reason(s), DEVCAP_END_SECONDS, "time limit ends the stream");
	CHECK(wakes == 1 && el >= 1.0, "time limit: after a second, with a wake-up");
	drain(s, out, sizeof(out), &eof);
	CHECK(eof, "time limit: the reader sees the end");
	loop_timer_del(t);
	devcap_close(s);
	devcap_destroy();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!CHECK_INT(loop_init(), 0, "loop_init"))
		return check_exit();
	test_parse_mac();
	test_headers();
	test_stream();
	test_byte_limit();
	test_queue_limit();
	test_stream_limit();
	test_time_limit();
	loop_destroy();
	return check_exit();
}
