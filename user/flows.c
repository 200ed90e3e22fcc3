// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* First: it brings <netinet/in.h> in before libbpf pulls in the UAPI headers. */
#include "spin_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "flows.h"
#include "log.h"
#include "statefile.h"

#define FLOWS_CHUNK 4096

/* The kernel's two flow tables: IPv6 flows in spin_flows, IPv4 flows in spin_flows4. */
enum { FM_FLOWS, FM_FLOWS4, FM_N };

struct flow_map {
	int fd;	     /* -1: absent */
	uint32_t id; /* the kernel's map id: a snapshot of other maps is not ours */
	unsigned int max_flows;
	uint64_t seen; /* entries found in this map by the current sweep */
};

/* The totals last reported for one kernel flow; deltas are taken against these. */
struct flow_entry {
	struct spin_flow_key key;
	uint64_t bytes[2];
	uint64_t packets[2];
	uint64_t blk_bytes;
	uint64_t blk_packets;
	uint32_t seen_sweep;
	uint32_t order_sweep; /* the sweep that put it at order_idx of f.order */
	uint32_t order_idx;
	uint8_t mac_told; /* bit 1 << side: that side's MAC went to mac_cb */
	struct flow_cookie cookie;
	UT_hash_handle hh;
};

static struct {
	struct flow_map maps[FM_N];
	unsigned int idle_s;
	bool baseline;
	int ncpus;
	uint32_t sweep_no;
	struct flow_entry *table;
	/*
	 * The kernel hands the flows over in the same order every sweep (bucket order), so the
	 * flow after entry e is most likely the one that followed e last time: f.prev is the last
	 * sweep's order, f.order this one's, f.guess the index in f.prev to try next. A right
	 * guess costs a key compare instead of hashing the key and walking the index.
	 */
	struct flow_entry **order, **prev;
	size_t n_order, n_prev, cap_order, cap_prev, guess;
	struct spin_flow_key *keys; /* batch keys of either map (a key4 is smaller) */
	struct spin_flow_val *vals; /* chunk * ncpus values */
	struct spin_flow_key *doomed;
	size_t n_doomed;
	struct flows_stats st;
	flows_mac_cb mac_cb;
	void *mac_ctx;
} f = {.maps = {{.fd = -1}, {.fd = -1}}};

int flows_key_to4(const struct spin_flow_key *key, struct spin_flow_key4 *k4)
{
	if (key->family != 4)
		return -EINVAL;
	memset(k4, 0, sizeof(*k4));
	memcpy(&k4->addr_a, &key->addr_a.a[12], 4);
	memcpy(&k4->addr_b, &key->addr_b.a[12], 4);
	k4->port_a = key->port_a;
	k4->port_b = key->port_b;
	k4->proto = key->proto;
	k4->icmp_type = key->icmp_type;
	k4->icmp_code = key->icmp_code;
	return 0;
}

/* Checks that fd is a per-CPU hash with the expected key and value and takes its capacity. */
static int map_open(struct flow_map *m, int fd, size_t key_size, const char *what)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	m->fd = -1;
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_PERCPU_HASH || info.key_size != key_size ||
	    info.value_size != sizeof(struct spin_flow_val) || !info.max_entries) {
		pr_err("flows: %s is not a per-CPU hash of %zu-byte keys and %zu-byte values", what,
		       key_size, sizeof(struct spin_flow_val));
		return -EINVAL;
	}
	m->fd = fd;
	m->id = info.id;
	m->max_flows = info.max_entries;
	return 0;
}

int flows_init(int map_fd, int map4_fd, unsigned int idle_s, bool baseline)
{
	int err;

	err = map_open(&f.maps[FM_FLOWS], map_fd, sizeof(struct spin_flow_key), "spin_flows");
	if (!err)
		err = map_open(&f.maps[FM_FLOWS4], map4_fd, sizeof(struct spin_flow_key4),
			       "spin_flows4");
	if (err)
		return err;
	f.idle_s = idle_s ? idle_s : 1;
	f.baseline = baseline;
	f.ncpus = libbpf_num_possible_cpus();
	if (f.ncpus <= 0)
		return -EINVAL;
	f.keys = calloc(FLOWS_CHUNK, sizeof(*f.keys));
	f.vals = calloc((size_t)FLOWS_CHUNK * (size_t)f.ncpus, sizeof(*f.vals));
	f.doomed = calloc(FLOWS_CHUNK, sizeof(*f.doomed));
	if (!f.keys || !f.vals || !f.doomed) {
		flows_destroy();
		return -ENOMEM;
	}
	return 0;
}

void flows_destroy(void)
{
	struct flow_entry *e, *tmp;

	HASH_ITER(hh, f.table, e, tmp)
	{
		HASH_DEL(f.table, e);
		free(e);
	}
	free(f.order);
	free(f.prev);
	f.order = f.prev = NULL;
	f.n_order = f.n_prev = f.cap_order = f.cap_prev = f.guess = 0;
	free(f.keys);
	free(f.vals);
	free(f.doomed);
	f.keys = NULL;
	f.vals = NULL;
	f.doomed = NULL;
}

const struct flows_stats *flows_get_stats(void)
{
	return &f.st;
}

void flows_set_mac_cb(flows_mac_cb cb, void *ctx)
{
	f.mac_cb = cb;
	f.mac_ctx = ctx;
}

/* Folds the per-CPU values of one flow into one. The initiator is the one a TCP SYN named,
 * else the one recorded by the CPU that created the entry. MACs: for each side, the creating
 * slot's, else the first one a slot recorded (as mac or as mac2); mac_dir names the side of
 * mac, and mac2 (SPIN_FLOW_F_MAC2) is the other side's. */
static void sum_cpus(const struct spin_flow_val *v, struct spin_flow_val *out)
{
	int created = -1, syn = -1, best;
	const uint8_t *side_mac[2] = {NULL, NULL};
	bool side_created[2] = {false, false};

	memset(out, 0, sizeof(*out));
	for (int c = 0; c < f.ncpus; c++) {
		const struct spin_flow_val *p = &v[c];
		bool cr = p->flags & SPIN_FLOW_F_CREATED;

		if (!p->ifindex)
			continue; /* this CPU never saw the flow */
		for (int d = 0; d < 2; d++) {
			out->bytes[d] += p->bytes[d];
			out->packets[d] += p->packets[d];
		}
		out->blk_bytes += p->blk_bytes;
		out->blk_packets += p->blk_packets;
		if (p->last_seen > out->last_seen)
			out->last_seen = p->last_seen;
		if (!out->first_seen || p->first_seen < out->first_seen)
			out->first_seen = p->first_seen;
		if (cr && created < 0)
			created = c;
		if ((p->flags & SPIN_FLOW_F_SYN_SEEN) && syn < 0)
			syn = c;
		if (p->flags & SPIN_FLOW_F_MAC) {
			int d = p->mac_dir & 1;

			if (!side_mac[d] || (cr && !side_created[d])) {
				side_mac[d] = p->mac;
				side_created[d] = cr;
			}
			if ((p->flags & SPIN_FLOW_F_MAC2) &&
			    (!side_mac[!d] || (cr && !side_created[!d]))) {
				side_mac[!d] = p->mac2;
				side_created[!d] = cr;
			}
		}
	}
	best = syn >= 0 ? syn : created;
	if (best >= 0) {
		out->initiator = v[best].initiator;
		out->ifindex = v[best].ifindex;
		out->flags = v[best].flags & ~(SPIN_FLOW_F_MAC | SPIN_FLOW_F_MAC2);
	}
	/* mac: the creating slot's side when it has one, else whichever side is known */
	if (created >= 0 && (v[created].flags & SPIN_FLOW_F_MAC) &&
	    side_mac[v[created].mac_dir & 1])
		out->mac_dir = v[created].mac_dir & 1;
	else
		out->mac_dir = side_mac[SPIN_DIR_AB] ? SPIN_DIR_AB : SPIN_DIR_BA;
	if (side_mac[out->mac_dir]) {
		out->flags |= SPIN_FLOW_F_MAC;
		memcpy(out->mac, side_mac[out->mac_dir], sizeof(out->mac));
		if (side_mac[!out->mac_dir]) {
			out->flags |= SPIN_FLOW_F_MAC2;
			memcpy(out->mac2, side_mac[!out->mac_dir], sizeof(out->mac2));
		}
	}
}

static uint64_t sub(uint64_t now, uint64_t before)
{
	/* A smaller total means the kernel entry was recreated: all of it is new. */
	return now >= before ? now - before : now;
}

static void report(struct flow_entry *e, const struct spin_flow_val *sum, flows_delta_cb cb,
		   void *ctx)
{
	struct flow_delta d = {
		.key = &e->key,
		.cookie = &e->cookie,
		.initiator = sum->initiator,
		.ifindex = sum->ifindex,
		.first_seen = sum->first_seen,
		.last_seen = sum->last_seen,
	};
	bool changed = false;

	for (int i = 0; i < 2; i++) {
		d.bytes[i] = sub(sum->bytes[i], e->bytes[i]);
		d.packets[i] = sub(sum->packets[i], e->packets[i]);
		changed |= d.packets[i] != 0;
		e->bytes[i] = sum->bytes[i];
		e->packets[i] = sum->packets[i];
	}
	d.blk_bytes = sub(sum->blk_bytes, e->blk_bytes);
	d.blk_packets = sub(sum->blk_packets, e->blk_packets);
	changed |= d.blk_packets != 0;
	e->blk_bytes = sum->blk_bytes;
	e->blk_packets = sum->blk_packets;
	if (changed && cb)
		cb(&d, ctx);
}

static struct flow_entry *entry_guess(const struct spin_flow_key *key)
{
	struct flow_entry *e = f.guess < f.n_prev ? f.prev[f.guess] : NULL;

	/* the ports differ for most wrong guesses: a cheap reject before the whole key */
	if (!e || e->key.port_a != key->port_a)
		return NULL;
	return memcmp(&e->key, key, sizeof(*key)) == 0 ? e : NULL;
}

/* Records e as the next flow of this sweep and guesses the one after it. */
static void entry_ordered(struct flow_entry *e)
{
	if (e->order_sweep == f.sweep_no - 1)
		f.guess = e->order_idx + 1;
	if (f.n_order == f.cap_order) {
		size_t cap = f.cap_order ? f.cap_order * 2 : 1024;
		struct flow_entry **p = realloc(f.order, cap * sizeof(*p));

		if (!p)
			return; /* only guesses are lost */
		f.order = p;
		f.cap_order = cap;
	}
	f.order[f.n_order] = e;
	e->order_idx = (uint32_t)f.n_order++;
	e->order_sweep = f.sweep_no;
}

/* Only this sweep's order can still be read (as the next sweep's guesses). */
static void entry_free(struct flow_entry *e)
{
	if (e->order_sweep == f.sweep_no && e->order_idx < f.n_order)
		f.order[e->order_idx] = NULL;
	HASH_DEL(f.table, e);
	free(e);
}

/* A new sweep: this order becomes the guesses, the old guesses' buffer is reused. */
static void order_begin(void)
{
	struct flow_entry **p = f.prev;
	size_t cap = f.cap_prev;

	f.prev = f.order;
	f.cap_prev = f.cap_order;
	f.n_prev = f.n_order;
	f.order = p;
	f.cap_order = cap;
	f.n_order = 0;
	f.guess = 0;
}

static struct flow_entry *entry_get(const struct spin_flow_key *key, bool *created)
{
	struct flow_entry *e = entry_guess(key);

	*created = false;
	if (e)
		f.st.guessed++;
	else
		HASH_FIND(hh, f.table, key, sizeof(*key), e);
	if (e) {
		entry_ordered(e);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *key;
	HASH_ADD(hh, f.table, key, sizeof(e->key), e);
	*created = true;
	entry_ordered(e);
	return e;
}

static bool is_idle(const struct spin_flow_val *sum, uint32_t now, const struct flow_map *m,
		    uint64_t n_flows)
{
	uint32_t limit = f.idle_s;

	/* Under pressure, make room sooner: a full table sends new flows to the overflow. */
	if (n_flows * 10 >= (uint64_t)m->max_flows * 9)
		limit = limit > 10 ? 10 : limit;
	return now >= sum->last_seen && now - sum->last_seen >= limit;
}

/* Once per flow and side, even one this run found (a restart) before it had a mac_cb. */
static void tell_mac(struct flow_entry *e, const struct spin_flow_key *key, int side,
		     const uint8_t mac[6], uint32_t ifindex)
{
	if (e->mac_told & (1u << side))
		return;
	e->mac_told |= 1u << side;
	f.st.macs++;
	f.mac_cb(side == SPIN_DIR_AB ? &key->addr_a : &key->addr_b, mac, ifindex, f.mac_ctx);
}

/* key: the full key (an IPv4 one converted from spin_flows4's). */
static void process_one(const struct spin_flow_key *key, const struct spin_flow_val *vals,
			uint32_t now, const struct flow_map *m, uint64_t n_flows, flows_delta_cb cb,
			void *ctx)
{
	struct spin_flow_val sum;
	struct flow_entry *e;
	bool created;

	sum_cpus(vals, &sum);
	e = entry_get(key, &created);
	if (!e)
		return;
	e->seen_sweep = f.sweep_no;
	if ((sum.flags & SPIN_FLOW_F_MAC) && f.mac_cb) {
		int d = sum.mac_dir & 1;

		tell_mac(e, key, d, sum.mac, sum.ifindex);
		if (sum.flags & SPIN_FLOW_F_MAC2)
			tell_mac(e, key, !d, sum.mac2, sum.ifindex);
	}
	if (created && f.baseline) {
		memcpy(e->bytes, sum.bytes, sizeof(e->bytes));
		memcpy(e->packets, sum.packets, sizeof(e->packets));
		e->blk_bytes = sum.blk_bytes;
		e->blk_packets = sum.blk_packets;
	} else {
		report(e, &sum, cb, ctx);
	}
	if (is_idle(&sum, now, m, n_flows) && f.n_doomed < FLOWS_CHUNK)
		f.doomed[f.n_doomed++] = *key;
}

/* Removes idle flows; lookup-and-delete hands back what arrived since the read. */
static void remove_doomed(flows_delta_cb cb, void *ctx)
{
	for (size_t i = 0; i < f.n_doomed; i++) {
		struct spin_flow_key *key = &f.doomed[i];
		struct spin_flow_key4 k4;
		struct flow_entry *e;
		struct spin_flow_val sum;
		const void *mkey = key;
		int fd = f.maps[FM_FLOWS].fd;

		if (flows_key_to4(key, &k4) == 0) {
			mkey = &k4;
			fd = f.maps[FM_FLOWS4].fd;
		}
		HASH_FIND(hh, f.table, key, sizeof(*key), e);
		if (bpf_map_lookup_and_delete_elem(fd, mkey, f.vals) == 0) {
			sum_cpus(f.vals, &sum);
			if (e)
				report(e, &sum, cb, ctx);
		} else if (bpf_map_delete_elem(fd, mkey) && errno != ENOENT) {
			continue;
		}
		if (e)
			entry_free(e);
		f.st.removed++;
	}
	f.n_doomed = 0;
}

/* The full key of entry i of a batch read from map m. */
static const struct spin_flow_key *batch_key(const struct flow_map *m, const void *keys, size_t i,
					     struct spin_flow_key *tmp)
{
	if (m != &f.maps[FM_FLOWS4])
		return (const struct spin_flow_key *)keys + i;
	spin_flow_key_from4((const struct spin_flow_key4 *)keys + i, tmp);
	return tmp;
}

static int sweep_get_next_key(struct flow_map *m, uint32_t now, flows_delta_cb cb, void *ctx)
{
	union {
		struct spin_flow_key k;
		struct spin_flow_key4 k4;
	} cur, next;
	struct spin_flow_key tmp;
	void *prev = NULL;

	f.st.batch_fallbacks++;
	while (bpf_map_get_next_key(m->fd, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(m->fd, &cur, f.vals))
			continue;
		process_one(batch_key(m, &cur, 0, &tmp), f.vals, now, m, m->seen, cb, ctx);
		m->seen++;
		if (f.n_doomed == FLOWS_CHUNK)
			break;
	}
	return 0;
}

static int sweep_batches(struct flow_map *m, uint32_t now, flows_delta_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	struct spin_flow_key tmp;

	while (!done) {
		__u32 count = FLOWS_CHUNK;
		int err = bpf_map_lookup_batch(m->fd, first ? NULL : &in_batch, &out_batch, f.keys,
					       f.vals, &count, &opts);

		if (err) {
			err = -errno;
			if (err != -ENOENT)
				return first ? err : 0;
			done = true;
		}
		for (__u32 i = 0; i < count; i++)
			process_one(batch_key(m, f.keys, i, &tmp),
				    &f.vals[(size_t)i * (size_t)f.ncpus], now, m, m->seen + count,
				    cb, ctx);
		m->seen += count;
		in_batch = out_batch;
		first = false;
	}
	return 0;
}

static int sweep_map(struct flow_map *m, uint32_t now, flows_delta_cb cb, void *ctx)
{
	int err;

	m->seen = 0;
	if (m->fd < 0)
		return 0;
	err = sweep_batches(m, now, cb, ctx);
	if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP) {
		m->seen = 0;
		err = sweep_get_next_key(m, now, cb, ctx);
	}
	return err;
}

static void forget_vanished(void)
{
	struct flow_entry *e, *tmp;

	HASH_ITER(hh, f.table, e, tmp)
	{
		if (e->seen_sweep != f.sweep_no)
			entry_free(e);
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int flows_sweep(uint32_t now, flows_delta_cb cb, void *ctx)
{
	uint64_t start = now_us(), seen = 0;
	int err = 0;

	f.sweep_no++;
	f.n_doomed = 0;
	order_begin();
	for (int i = 0; i < FM_N && !err; i++) {
		err = sweep_map(&f.maps[i], now, cb, ctx);
		seen += f.maps[i].seen;
	}
	if (err)
		return err;
	remove_doomed(cb, ctx);
	forget_vanished();
	f.baseline = false;
	f.st.sweeps++;
	f.st.flows = seen;
	f.st.flows4 = f.maps[FM_FLOWS4].seen;
	f.st.flows6 = f.maps[FM_FLOWS].seen;
	f.st.last_sweep_us = now_us() - start;
	if (f.st.last_sweep_us > f.st.max_sweep_us)
		f.st.max_sweep_us = f.st.last_sweep_us;
	return (int)(seen > INT32_MAX ? INT32_MAX : seen);
}

/*
 * The snapshot: what was reported of every flow, for the next spind on the same (pinned) maps,
 * so that what the kernel counts while no daemon runs is reported after the restart instead of
 * being taken as the new baseline.
 */
#define SNAP_MAGIC "SPINFLW1"

struct snap_head {
	char magic[8];
	char boot_id[40]; /* /proc/sys/kernel/random/boot_id: map ids restart with the kernel */
	uint32_t map_id[FM_N];
	uint32_t key_size;
	uint32_t rec_size;
	uint64_t n;
};

struct snap_rec {
	struct spin_flow_key key;
	uint64_t bytes[2];
	uint64_t packets[2];
	uint64_t blk_bytes;
	uint64_t blk_packets;
};

static void snap_head_init(struct snap_head *h)
{
	FILE *bf = fopen("/proc/sys/kernel/random/boot_id", "re");

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SNAP_MAGIC, sizeof(h->magic));
	if (bf) {
		if (!fgets(h->boot_id, sizeof(h->boot_id), bf))
			h->boot_id[0] = '\0';
		fclose(bf);
	}
	for (int i = 0; i < FM_N; i++)
		h->map_id[i] = f.maps[i].fd >= 0 ? f.maps[i].id : 0;
	h->key_size = sizeof(struct spin_flow_key);
	h->rec_size = sizeof(struct snap_rec);
}

int flows_save(const char *path)
{
	size_t n = HASH_COUNT(f.table), i = 0;
	struct snap_head *h;
	struct snap_rec *r;
	struct flow_entry *e, *tmp;
	int err;

	h = malloc(sizeof(*h) + n * sizeof(*r));
	if (!h)
		return -ENOMEM;
	snap_head_init(h);
	h->n = n;
	r = (struct snap_rec *)(h + 1);
	HASH_ITER(hh, f.table, e, tmp)
	{
		r[i].key = e->key;
		memcpy(r[i].bytes, e->bytes, sizeof(r[i].bytes));
		memcpy(r[i].packets, e->packets, sizeof(r[i].packets));
		r[i].blk_bytes = e->blk_bytes;
		r[i].blk_packets = e->blk_packets;
		i++;
	}
	err = statefile_write_data(path, h, sizeof(*h) + n * sizeof(*r));
	free(h);
	return err;
}

static int snap_check(const struct snap_head *h, size_t len)
{
	struct snap_head now;

	snap_head_init(&now);
	if (len < sizeof(*h) || memcmp(h->magic, now.magic, sizeof(h->magic)) ||
	    h->key_size != now.key_size || h->rec_size != now.rec_size ||
	    h->n != (len - sizeof(*h)) / sizeof(struct snap_rec) ||
	    (len - sizeof(*h)) % sizeof(struct snap_rec))
		return -EBADMSG;
	if (memcmp(h->boot_id, now.boot_id, sizeof(h->boot_id)) ||
	    memcmp(h->map_id, now.map_id, sizeof(h->map_id)))
		return -ESTALE; /* taken of other maps, or before a reboot */
	return 0;
}

static void snap_apply(const struct snap_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct flow_entry *e;

		HASH_FIND(hh, f.table, &r[i].key, sizeof(r[i].key), e);
		if (e)
			continue;
		e = calloc(1, sizeof(*e));
		if (!e)
			return; /* the rest is reported whole, as new flows */
		e->key = r[i].key;
		memcpy(e->bytes, r[i].bytes, sizeof(e->bytes));
		memcpy(e->packets, r[i].packets, sizeof(e->packets));
		e->blk_bytes = r[i].blk_bytes;
		e->blk_packets = r[i].blk_packets;
		HASH_ADD(hh, f.table, key, sizeof(e->key), e);
	}
}

int flows_load(const char *path)
{
	size_t max = sizeof(struct snap_head), len = 0;
	struct snap_head *h;
	int err;

	for (int i = 0; i < FM_N; i++)
		max += (size_t)f.maps[i].max_flows * sizeof(struct snap_rec);
	h = (struct snap_head *)statefile_read_data(path, max, &len, &err);
	if (!h)
		return err;
	err = snap_check(h, len);
	/* used once: a later start (after a crash) must not take these totals again */
	if (unlink(path) < 0 && errno != ENOENT && !err)
		err = -errno;
	if (!err) {
		snap_apply((const struct snap_rec *)(h + 1), h->n);
		f.baseline = false;
		err = (int)(h->n > INT32_MAX ? INT32_MAX : h->n);
	}
	free(h);
	return err;
}
