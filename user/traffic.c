// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <uthash.h>

#include "log.h"
#include "nodes.h"
#include "traffic.h"

#define HISTORY_MAX_PER_DEVICE 4096

/* One row of a traffic (or blocked) message: flows folded by ids, protocol and ports. */
struct agg_key {
	uint32_t from;
	uint32_t to;
	uint16_t from_port;
	uint16_t to_port;
	uint8_t proto;
	uint8_t pad[3];
};

struct agg {
	struct agg_key key;
	uint64_t size;
	uint64_t count;
	uint32_t seen; /* the last interval that added to it */
	/* Where its flows' bytes also go, worked out once (see cached_agg()); NULL: nowhere. */
	struct hist *hist;
	struct minutes *minutes[2];
	UT_hash_handle hh;
};

/* list_device_flows: per device, per (remote node, destination port, ICMP type). */
struct hist_key {
	uint32_t to;
	uint16_t dst_port;
	uint8_t icmp_type;
	uint8_t pad;
};

struct hist {
	struct hist_key key;
	uint64_t packets;
	uint64_t bytes;
	time_t lastseen;
	UT_hash_handle hh;
};

/* A device's last hour, one bucket per minute of the traffic clock: index minute % 60. */
struct minutes {
	int64_t last; /* the newest bucket's minute (Unix time / 60) */
	uint64_t bytes[TRAFFIC_MINUTES];
	uint64_t packets[TRAFFIC_MINUTES];
};

struct device_hist {
	uint32_t device;
	unsigned int n;
	struct hist *rows;
	struct minutes *minutes; /* NULL until it has traffic (or beyond the cap) */
	UT_hash_handle hh;
};

static struct {
	struct traffic_ops ops;
	bool local_mode;
	time_t now;
	struct agg *interval; /* kept across intervals: see flush_traffic() */
	uint32_t interval_no;
	uint32_t gen; /* bumped when history rows or devices go: per-flow caches are void */
	struct agg *blocked;
	struct agg *spare; /* emptied aggregates for the next interval (via hh.next) */
	unsigned int n_spare;
	struct device_hist *devices;
	struct traffic_stats st;
} t;

int traffic_init(const struct traffic_ops *ops, bool local_mode)
{
	t.ops = *ops;
	t.local_mode = local_mode;
	return 0;
}

/*
 * Emptied aggregates are kept for reuse instead of going back to malloc, up to a bound. The
 * traffic aggregates themselves live on while their flow does: a flow that was counted in
 * the last AGG_KEEP_INTERVALS intervals finds its aggregate again instead of rebuilding it
 * (10k flows: 10k insertions and the index regrowing from nothing, every second).
 */
#define AGG_SPARE_MAX	   65536
#define AGG_KEEP_INTERVALS 10

/* An aggregate out of its table becomes a spare (or is freed). */
static void agg_release(struct agg *a)
{
	if (t.n_spare < AGG_SPARE_MAX) {
		a->hh.next = t.spare;
		t.spare = a;
		t.n_spare++;
	} else {
		free(a);
	}
}

/* Empties a table: the index goes at once, the entries become spares (or are freed). */
static void agg_free(struct agg **table)
{
	struct agg *a = *table, *next;

	HASH_CLEAR(hh, *table); /* frees the buckets only; the entries stay chained */
	for (; a; a = next) {
		next = a->hh.next;
		agg_release(a);
	}
}

/* After a flush: counters back to zero, aggregates of flows gone quiet dropped. */
static void agg_age(void)
{
	struct agg *a, *tmp;

	HASH_ITER(hh, t.interval, a, tmp)
	{
		if (!a->count && t.interval_no - a->seen >= AGG_KEEP_INTERVALS) {
			HASH_DEL(t.interval, a);
			agg_release(a);
			continue;
		}
		a->size = 0;
		a->count = 0;
	}
	t.interval_no++;
}

static void agg_spares_free(void)
{
	struct agg *a, *next;

	for (a = t.spare; a; a = next) {
		next = a->hh.next;
		free(a);
	}
	t.spare = NULL;
	t.n_spare = 0;
}

static struct agg *agg_new(void)
{
	struct agg *a = t.spare;

	if (!a)
		return calloc(1, sizeof(*a));
	t.spare = a->hh.next;
	t.n_spare--;
	memset(a, 0, sizeof(*a));
	return a;
}

static void device_free(struct device_hist *d)
{
	struct hist *h, *tmp;

	if (d->minutes)
		t.st.minutes_devices--;
	free(d->minutes);
	HASH_ITER(hh, d->rows, h, tmp)
	{
		HASH_DEL(d->rows, h);
		free(h);
	}
	free(d);
}

void traffic_destroy(void)
{
	struct device_hist *d, *tmp;

	agg_free(&t.interval);
	agg_free(&t.blocked);
	agg_spares_free();
	HASH_ITER(hh, t.devices, d, tmp)
	{
		HASH_DEL(t.devices, d);
		device_free(d);
	}
}

static struct agg *agg_add(struct agg **table, const struct agg_key *key, uint64_t size,
			   uint64_t count)
{
	struct agg *a;

	HASH_FIND(hh, *table, key, sizeof(*key), a);
	if (!a) {
		a = agg_new();
		if (!a)
			return NULL;
		a->key = *key;
		HASH_ADD(hh, *table, key, sizeof(a->key), a);
	}
	a->size += size;
	a->count += count;
	a->seen = t.interval_no;
	return a;
}

static struct device_hist *device_get(uint32_t device, bool create)
{
	struct device_hist *d;

	HASH_FIND(hh, t.devices, &device, sizeof(device), d);
	if (d || !create)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->device = device;
	HASH_ADD(hh, t.devices, device, sizeof(d->device), d);
	return d;
}

/* Returns the row added to, NULL if there is none (the device's rows are at their bound). */
static struct hist *hist_add(uint32_t device, const struct hist_key *key, uint64_t bytes,
			     uint64_t packets, time_t now)
{
	struct device_hist *d = device_get(device, true);
	struct hist *h;

	if (!d)
		return NULL;
	HASH_FIND(hh, d->rows, key, sizeof(*key), h);
	if (!h) {
		if (d->n >= HISTORY_MAX_PER_DEVICE)
			return NULL;
		h = calloc(1, sizeof(*h));
		if (!h)
			return NULL;
		h->key = *key;
		HASH_ADD(hh, d->rows, key, sizeof(h->key), h);
		d->n++;
		t.st.history_entries++;
	}
	h->bytes += bytes;
	h->packets += packets;
	h->lastseen = now;
	return h;
}

static int64_t minute_of(time_t when)
{
	return (int64_t)when / 60;
}

/* Adds to minute m, moving the window forward if m is newer; older than the hour is dropped. */
static void minutes_add(struct minutes *mh, int64_t m, uint64_t bytes, uint64_t packets)
{
	if (m > mh->last) {
		for (int64_t i = mh->last + 1; i <= m && i <= mh->last + TRAFFIC_MINUTES; i++) {
			mh->bytes[i % TRAFFIC_MINUTES] = 0;
			mh->packets[i % TRAFFIC_MINUTES] = 0;
		}
		mh->last = m;
	} else if (mh->last - m >= TRAFFIC_MINUTES) {
		return;
	}
	mh->bytes[m % TRAFFIC_MINUTES] += bytes;
	mh->packets[m % TRAFFIC_MINUTES] += packets;
}

static struct minutes *minutes_get(uint32_t device)
{
	struct device_hist *d = device_get(device, true);

	if (!d || d->minutes)
		return d ? d->minutes : NULL;
	if (t.st.minutes_devices >= TRAFFIC_MINUTES_DEVICES) {
		t.st.minutes_full++;
		return NULL;
	}
	d->minutes = calloc(1, sizeof(*d->minutes));
	if (d->minutes)
		t.st.minutes_devices++;
	return d->minutes;
}

static struct minutes *minutes_count(uint32_t device, uint64_t bytes, uint64_t packets)
{
	struct minutes *mh = minutes_get(device);

	if (mh)
		minutes_add(mh, minute_of(t.now), bytes, packets);
	return mh;
}

/* Bucket i (oldest first) of the hour ending with minute 'now_m'; 0 outside the window. */
static void minutes_read(const struct minutes *mh, int64_t now_m, unsigned int i, uint64_t *bytes,
			 uint64_t *packets)
{
	int64_t m = now_m - (TRAFFIC_MINUTES - 1) + i;

	*bytes = *packets = 0;
	if (!mh || m > mh->last || mh->last - m >= TRAFFIC_MINUTES)
		return;
	*bytes = mh->bytes[m % TRAFFIC_MINUTES];
	*packets = mh->packets[m % TRAFFIC_MINUTES];
}

static void minutes_merge(uint32_t into, const struct minutes *from)
{
	struct minutes *mh;

	if (!from)
		return;
	mh = minutes_get(into);
	for (unsigned int i = 0; mh && i < TRAFFIC_MINUTES; i++) {
		uint64_t b, p;

		minutes_read(from, from->last, i, &b, &p);
		if (b || p)
			minutes_add(mh, from->last - (TRAFFIC_MINUTES - 1) + i, b, p);
	}
}

/* node_seen may change the node, never free or merge it (traffic.h): its id stays good. */
static uint32_t node_for(const struct spin_addr *a)
{
	struct node *n = nodes_get_ip(a, t.now);

	if (!n)
		return 0;
	if (t.ops.node_seen)
		t.ops.node_seen(n, t.ops.ctx);
	return node_id(n);
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/*
 * A flow whose last delta went to aggregate a needs none of the work below again: the same
 * addresses give the same nodes, the same aggregate, history row and charts, as long as no
 * address moved to another node (nodes_map_generation()), no row or device went and the
 * ignore list did not change (t.gen, traffic_invalidate()), and the aggregate still exists:
 * one that a flow added to within AGG_KEEP_INTERVALS has not been dropped (agg_age()).
 */
static struct agg *cached_agg(const struct flow_cookie *c)
{
	if (!c || !c->ptr || c->gen[0] != t.gen || c->gen[1] != nodes_map_generation() ||
	    t.interval_no - c->gen[2] >= AGG_KEEP_INTERVALS)
		return NULL;
	return c->ptr;
}

static void cache_agg(struct flow_cookie *c, struct agg *a)
{
	if (!c)
		return;
	c->ptr = a;
	c->gen[0] = t.gen;
	c->gen[1] = nodes_map_generation();
	c->gen[2] = t.interval_no;
}

static void add_cached(struct agg *a, const struct flow_delta *d, uint64_t bytes, uint64_t packets)
{
	a->size += bytes;
	a->count += packets;
	a->seen = t.interval_no;
	if (a->hist) {
		a->hist->bytes += bytes;
		a->hist->packets += packets;
		a->hist->lastseen = t.now;
	}
	for (int i = 0; i < 2; i++)
		if (a->minutes[i])
			minutes_add(a->minutes[i], minute_of(t.now), bytes, packets);
	d->cookie->gen[2] = t.interval_no;
}

void traffic_add(const struct flow_delta *d, void *ctx)
{
	const struct spin_flow_key *k = d->key;
	uint64_t bytes = d->bytes[0] + d->bytes[1], packets = d->packets[0] + d->packets[1];
	struct agg *a = d->blk_packets || !packets ? NULL : cached_agg(d->cookie);
	bool ab = d->initiator == SPIN_DIR_AB;
	const struct spin_addr *src = ab ? &k->addr_a : &k->addr_b;
	const struct spin_addr *dst = ab ? &k->addr_b : &k->addr_a;
	bool src_local, dst_local;
	struct agg_key key = {.proto = k->proto};
	struct hist_key hk = {};

	if (a) {
		add_cached(a, d, bytes, packets);
		return;
	}
	src_local = t.ops.is_local(src, t.ops.ctx);
	dst_local = t.ops.is_local(dst, t.ops.ctx);
	if (!src_local && !dst_local && !t.local_mode) {
		t.st.flows_remote++;
		return;
	}
	if (t.ops.is_ignored(src, t.ops.ctx) || t.ops.is_ignored(dst, t.ops.ctx)) {
		t.st.flows_ignored++;
		return;
	}
	key.from = node_for(src);
	key.to = node_for(dst);
	if (!key.from || !key.to)
		return;
	if (!is_icmp(k->proto)) {
		key.from_port = ntohs(ab ? k->port_a : k->port_b);
		key.to_port = ntohs(ab ? k->port_b : k->port_a);
	}
	if (packets)
		a = agg_add(&t.interval, &key, bytes, packets);
	if (d->blk_packets)
		agg_add(&t.blocked, &key, d->blk_bytes, d->blk_packets);
	if (!packets)
		return;
	hk.dst_port = key.to_port;
	hk.icmp_type = is_icmp(k->proto) ? k->icmp_type : 0;
	hk.to = src_local ? key.to : key.from;
	if (a) {
		a->hist = hist_add(src_local ? key.from : key.to, &hk, bytes, packets, t.now);
		/* Both ends' charts count a flow between two devices, as the live UI does. */
		a->minutes[0] = src_local ? minutes_count(key.from, bytes, packets) : NULL;
		a->minutes[1] = dst_local && key.to != key.from
					? minutes_count(key.to, bytes, packets)
					: NULL;
		/* ICMP flows of one aggregate differ in their history rows (the type). */
		if (!is_icmp(k->proto))
			cache_agg(d->cookie, a);
	}
}

void traffic_invalidate(void)
{
	t.gen++;
}

void traffic_begin(time_t now)
{
	t.now = now;
}

static void touch_and_publish(uint32_t id)
{
	struct node *n = nodes_by_id(id);

	if (!n)
		return;
	nodes_touch(n, t.now);
	nodes_publish_pending(n, t.now);
}

static cJSON *flow_json(const struct agg *a)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "from", a->key.from);
	cJSON_AddNumberToObject(o, "to", a->key.to);
	cJSON_AddNumberToObject(o, "protocol", a->key.proto);
	cJSON_AddNumberToObject(o, "from_port", a->key.from_port);
	cJSON_AddNumberToObject(o, "to_port", a->key.to_port);
	cJSON_AddNumberToObject(o, "size", (double)a->size);
	cJSON_AddNumberToObject(o, "count", (double)a->count);
	return o;
}

static void publish_envelope(const char *command, cJSON *result, bool with_argument)
{
	cJSON *env = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(env, "command", command);
	if (with_argument)
		cJSON_AddStringToObject(env, "argument", "");
	cJSON_AddItemToObject(env, "result", result);
	s = cJSON_PrintUnformatted(env);
	if (s)
		t.ops.publish(s, t.ops.ctx);
	free(s);
	cJSON_Delete(env);
}

/*
 * The traffic message is written by hand: it holds nothing but integers, and cJSON's number
 * printing (printf and a scanf round trip per number) was most of a sweep's cost with 10k
 * flows. Everything else still goes through cJSON.
 */
struct textbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void tb_put(struct textbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_str(struct textbuf *b, const char *s)
{
	tb_put(b, s, strlen(s));
}

static void tb_u64(struct textbuf *b, uint64_t v)
{
	char digits[21];
	int i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	tb_put(b, digits + i, sizeof(digits) - (size_t)i);
}

static void tb_field(struct textbuf *b, const char *name, uint64_t v)
{
	tb_str(b, name);
	tb_u64(b, v);
}

static void flow_text(struct textbuf *b, const struct agg *a)
{
	tb_field(b, "{\"from\":", a->key.from);
	tb_field(b, ",\"to\":", a->key.to);
	tb_field(b, ",\"protocol\":", a->key.proto);
	tb_field(b, ",\"from_port\":", a->key.from_port);
	tb_field(b, ",\"to_port\":", a->key.to_port);
	tb_field(b, ",\"size\":", a->size);
	tb_field(b, ",\"count\":", a->count);
	tb_str(b, "}");
}

static void flush_traffic(void)
{
	uint64_t total_size = 0, total_count = 0;
	struct textbuf b = {};
	bool any = false, first = true;
	struct agg *a;

	for (a = t.interval; a; a = a->hh.next) {
		if (!a->count)
			continue; /* kept from an earlier interval, nothing this time */
		touch_and_publish(a->key.from);
		touch_and_publish(a->key.to);
		total_size += a->size;
		total_count += a->count;
		any = true;
	}
	if (!any) {
		agg_age();
		return;
	}
	tb_field(&b, "{\"command\":\"traffic\",\"argument\":\"\",\"result\":{\"timestamp\":",
		 (uint64_t)t.now);
	tb_field(&b, ",\"total_size\":", total_size);
	tb_field(&b, ",\"total_count\":", total_count);
	tb_str(&b, ",\"flows\":[");
	for (a = t.interval; a; a = a->hh.next) {
		if (!a->count)
			continue;
		if (!first)
			tb_str(&b, ",");
		first = false;
		flow_text(&b, a);
		t.st.flows_reported++;
	}
	tb_str(&b, "]}}");
	t.st.bytes_reported += total_size;
	t.st.packets_reported += total_count;
	t.st.messages++;
	if (!b.failed)
		t.ops.publish(b.p, t.ops.ctx);
	free(b.p);
	agg_age();
}

static void flush_blocked(void)
{
	struct agg *a;

	for (a = t.blocked; a; a = a->hh.next) {
		touch_and_publish(a->key.from);
		touch_and_publish(a->key.to);
		publish_envelope("blocked", flow_json(a), false);
		t.st.blocked_messages++;
	}
	agg_free(&t.blocked);
}

void traffic_flush(void)
{
	flush_traffic();
	flush_blocked();
}

cJSON *traffic_device_flows(uint32_t device_id)
{
	struct device_hist *d = device_get(device_id, false);
	cJSON *arr = cJSON_CreateArray();
	struct hist *h;

	if (!d || !arr)
		return arr;
	for (h = d->rows; h; h = h->hh.next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "to", h->key.to);
		cJSON_AddNumberToObject(o, "dst_port", h->key.dst_port);
		cJSON_AddNumberToObject(o, "icmp_type", h->key.icmp_type);
		cJSON_AddNumberToObject(o, "packets", (double)h->packets);
		cJSON_AddNumberToObject(o, "bytes", (double)h->bytes);
		cJSON_AddNumberToObject(o, "lastseen", (double)h->lastseen);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *traffic_device_history(uint32_t device_id)
{
	struct device_hist *d = device_get(device_id, false);
	time_t now = t.now ? t.now : time(NULL);
	cJSON *o = cJSON_CreateObject(), *b = cJSON_AddArrayToObject(o, "bytes"),
	      *p = cJSON_AddArrayToObject(o, "packets");
	bool ok = o && b && p;

	ok = ok && cJSON_AddNumberToObject(o, "interval", 60);
	ok = ok && cJSON_AddNumberToObject(o, "end", (double)((minute_of(now) + 1) * 60));
	ok = ok && cJSON_AddNumberToObject(o, "updated", (double)t.now);
	for (unsigned int i = 0; ok && i < TRAFFIC_MINUTES; i++) {
		uint64_t vb, vp;

		minutes_read(d ? d->minutes : NULL, minute_of(now), i, &vb, &vp);
		ok = cJSON_AddItemToArray(b, cJSON_CreateNumber((double)vb)) &&
		     cJSON_AddItemToArray(p, cJSON_CreateNumber((double)vp));
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Rows keyed by a remote that went away are re-keyed (merge) or dropped (deletion). */
static void rekey_remote(struct device_hist *d, uint32_t old_id, uint32_t new_id)
{
	struct hist *h, *tmp, *moved = NULL;

	HASH_ITER(hh, d->rows, h, tmp)
	{
		if (h->key.to != old_id)
			continue;
		HASH_DEL(d->rows, h);
		if (!new_id) {
			free(h);
			d->n--;
			continue;
		}
		h->key.to = new_id;
		h->hh.next = moved;
		moved = h;
	}
	while (moved) {
		struct hist *next = moved->hh.next, *same;

		HASH_FIND(hh, d->rows, &moved->key, sizeof(moved->key), same);
		if (same) {
			same->bytes += moved->bytes;
			same->packets += moved->packets;
			if (moved->lastseen > same->lastseen)
				same->lastseen = moved->lastseen;
			free(moved);
			d->n--;
		} else {
			HASH_ADD(hh, d->rows, key, sizeof(moved->key), moved);
		}
		moved = next;
	}
}

void traffic_node_merged(uint32_t old_id, uint32_t new_id)
{
	struct device_hist *d, *tmp, *old = device_get(old_id, false);

	t.gen++; /* rows and devices are about to be moved or freed */
	HASH_ITER(hh, t.devices, d, tmp)
	{
		rekey_remote(d, old_id, new_id);
	}
	if (!old)
		return;
	/* A merged-away node with history was a device-side address: its rows move over. */
	HASH_DEL(t.devices, old);
	minutes_merge(new_id, old->minutes);
	for (struct hist *h = old->rows, *next; h; h = next) {
		next = h->hh.next;
		hist_add(new_id, &h->key, h->bytes, h->packets, h->lastseen);
	}
	device_free(old);
}

void traffic_node_deleted(uint32_t id)
{
	struct device_hist *d, *tmp;

	t.gen++;
	HASH_ITER(hh, t.devices, d, tmp)
	{
		rekey_remote(d, id, 0);
	}
	d = device_get(id, false);
	if (d) {
		HASH_DEL(t.devices, d);
		device_free(d);
	}
}

void traffic_get_stats(struct traffic_stats *st)
{
	*st = t.st;
}
