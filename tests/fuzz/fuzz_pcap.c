// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// fuzz-sources: user/capture.c user/copies.c user/events.c user/dns.c user/log.c user/loop.c
// fuzz-options: -max_len=65536
/*
 * libFuzzer target for user/capture.c: each input is a whole capture file (pcap or pcapng,
 * any link type), opened with pcap_fopen_offline on fmemopen and replayed to its end through
 * the flow table, MAC learning and the DNS module, as spind -r FILE --fast does. Deltas and
 * learned MACs are checked: every counted packet and byte is handed on in a delta, no group
 * MAC is ever learned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dns.h"
#include "log.h"

static uint64_t delta_bytes, delta_packets;

static void on_delta(const struct flow_delta *d, void *ctx)
{
	delta_bytes += d->bytes[0] + d->bytes[1];
	delta_packets += d->packets[0] + d->packets[1];
}

static void on_interval(time_t end, bool begin, void *ctx)
{
	if (!begin)
		dns_tick(end);
}

/* Every other address is "LAN", so that both sides of learning and DNS are reached. */
static bool is_lan(const struct spin_addr *a, void *ctx)
{
	return a->a[15] & 1;
}

static void on_mac(const struct spin_addr *ip, const uint8_t mac[6], void *ctx)
{
	if (mac[0] & 1)
		abort(); /* group MACs are never a device's */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_pcap", false, LOG_LVL_ERR - 1, NULL); /* quiet */
	dns_init(&(struct dns_ops){0}, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_ops ops = {
		.delta = on_delta,
		.interval = on_interval,
		.is_lan = is_lan,
		.learn_mac = on_mac,
	};
	struct capture_opts opts = {.fast = true, .max_flows = 64, .idle_s = 5};
	struct capture_stats st;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	delta_bytes = delta_packets = 0;
	if (capture_open_stream(f, "fuzz", &opts, &ops))
		return 0;
	capture_run();
	capture_get_stats(&st);
	/* what was handed on is what was counted, and no more than the input could carry */
	if (delta_packets != st.ip_packets || delta_bytes != st.bytes ||
	    st.ip_packets + st.map_full > st.packets)
		abort();
	capture_close();
	return 0;
}
