// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The node cache. Four uthash indexes (id, MAC, address, domain) point at the nodes; each
 * node owns the index entries of its addresses and domains (in arrays, oldest first, so that
 * moving an entry to another node is a pointer move and never a re-hash). Remote nodes also
 * sit on an LRU list (least recently seen first) that eviction walks.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "nodes.h"
#include "utf8.h"

/* Eviction looks at this many LRU candidates at most before giving up (all protected). */
#define EVICT_SCAN 1024

struct ip_ent {
	struct spin_addr addr; /* key */
	struct node *node;
	UT_hash_handle hh;
};

struct dom_ent {
	struct node *node;
	UT_hash_handle hh;
	char name[]; /* key */
};

struct node {
	uint32_t id;
	bool has_mac;
	uint8_t mac[6];
	char *name;
	time_t lastseen;
	uint32_t names_gen; /* names.c's table generation this node was last matched against */
	struct ip_ent **ips;
	unsigned int n_ips, cap_ips;
	struct dom_ent **doms;
	unsigned int n_doms, cap_doms;
	/* Publishing state: what the subscribers last saw. */
	bool published;
	bool dirty;
	time_t pub_time;
	time_t pub_lastseen;
	UT_hash_handle hh_id;
	UT_hash_handle hh_mac;
	struct node *prev, *next; /* LRU list, remote nodes only */
};

static struct {
	struct nodes_ops ops;
	unsigned int retain_s;
	unsigned int max_nodes;
	uint32_t next_id;
	uint32_t map_gen; /* see nodes_map_generation() */
	struct node *by_id;
	struct node *by_mac;
	struct ip_ent *by_ip;
	struct dom_ent *by_dom;
	struct node *lru;
	struct nodes_stats st;
} nc;

/* ---- small helpers ---- */

static int grow(void **arr, unsigned int *cap, unsigned int need)
{
	unsigned int ncap;
	void *p;

	if (need <= *cap)
		return 0;
	for (ncap = *cap ? *cap : 4; ncap < need; ncap *= 2)
		;
	p = realloc(*arr, ncap * sizeof(void *));
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static bool is_protected(const struct node *n)
{
	return nc.ops.protected_node && nc.ops.protected_node(n, nc.ops.ctx);
}

static void lru_to_tail(struct node *n)
{
	if (n->has_mac)
		return;
	DL_DELETE(nc.lru, n);
	DL_APPEND(nc.lru, n);
}

static void touch(struct node *n, time_t now)
{
	if (now > n->lastseen)
		n->lastseen = now;
	lru_to_tail(n);
}

static void publish(struct node *n, time_t now)
{
	n->published = true;
	n->dirty = false;
	n->pub_time = now;
	n->pub_lastseen = n->lastseen;
	nc.st.published++;
	if (nc.ops.publish)
		nc.ops.publish(n, nc.ops.ctx);
}

static bool refresh_due(const struct node *n, time_t now)
{
	return n->lastseen != n->pub_lastseen && now - n->pub_time >= NODES_REFRESH_S;
}

/* ---- node life cycle ---- */

static void node_free(struct node *n)
{
	unsigned int i;

	for (i = 0; i < n->n_ips; i++) {
		HASH_DEL(nc.by_ip, n->ips[i]);
		free(n->ips[i]);
	}
	for (i = 0; i < n->n_doms; i++) {
		HASH_DEL(nc.by_dom, n->doms[i]);
		free(n->doms[i]);
	}
	if (n->has_mac)
		HASH_DELETE(hh_mac, nc.by_mac, n);
	else
		DL_DELETE(nc.lru, n);
	HASH_DELETE(hh_id, nc.by_id, n);
	nc.map_gen++;
	free(n->ips);
	free(n->doms);
	free(n->name);
	free(n);
	nc.st.nodes--;
}

static void node_delete(struct node *n)
{
	uint32_t id = n->id;

	node_free(n);
	if (nc.ops.deleted)
		nc.ops.deleted(id, nc.ops.ctx);
}

/*
 * Frees room for one node. Nodes seen at 'now' are spared: the caller may hold pointers to
 * the nodes of the packet or answer it is handling.
 */
static int evict_one(time_t now)
{
	struct node *n, *next;
	int scanned = 0;

	for (n = nc.lru; n && scanned < EVICT_SCAN; n = next, scanned++) {
		next = n->next;
		if (n->lastseen >= now)
			continue;
		if (is_protected(n)) {
			/* Look at others first next time. */
			lru_to_tail(n);
			continue;
		}
		nc.st.evicted++;
		node_delete(n);
		return 0;
	}
	return -ENOSPC;
}

static struct node *node_new(time_t now)
{
	struct node *n;

	if (nc.st.nodes >= nc.max_nodes && evict_one(now)) {
		nc.st.full++;
		errno = ENOSPC;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->id = nc.next_id++;
	n->lastseen = now;
	n->dirty = true;
	HASH_ADD(hh_id, nc.by_id, id, sizeof(n->id), n);
	DL_APPEND(nc.lru, n);
	nc.st.nodes++;
	nc.st.created++;
	return n;
}

static void node_set_mac(struct node *n, const uint8_t mac[6])
{
	DL_DELETE(nc.lru, n);
	n->has_mac = true;
	n->names_gen = 0; /* a new key for the name tables */
	nc.map_gen++;	  /* its addresses are now a device's */
	memcpy(n->mac, mac, 6);
	HASH_ADD(hh_mac, nc.by_mac, mac, 6, n);
	n->dirty = true;
}

/* ---- addresses and domains of a node ---- */

static void ip_attach(struct node *n, struct ip_ent *e)
{
	if (n->n_ips >= NODE_MAX_IPS) {
		struct ip_ent *old = n->ips[0];

		HASH_DEL(nc.by_ip, old);
		free(old);
		memmove(n->ips, n->ips + 1, --n->n_ips * sizeof(n->ips[0]));
		nc.st.trimmed++;
		nc.map_gen++;
	}
	e->node = n;
	n->ips[n->n_ips++] = e;
	n->names_gen = 0;
	n->dirty = true;
}

static void ip_detach(struct ip_ent *e)
{
	struct node *n = e->node;
	unsigned int i;

	for (i = 0; i < n->n_ips && n->ips[i] != e; i++)
		;
	if (i == n->n_ips)
		return;
	memmove(n->ips + i, n->ips + i + 1, (n->n_ips - i - 1) * sizeof(n->ips[0]));
	n->n_ips--;
	n->dirty = true;
	e->node = NULL;
	nc.map_gen++;
}

static int ip_add(struct node *n, const struct spin_addr *ip)
{
	struct ip_ent *e;

	if (grow((void **)&n->ips, &n->cap_ips, n->n_ips + 1))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->addr = *ip;
	HASH_ADD(hh, nc.by_ip, addr, sizeof(e->addr), e);
	ip_attach(n, e);
	return 0;
}

/* An address moves from one node to another (two devices: the nodes themselves stay). */
static int ip_move(struct ip_ent *e, struct node *to)
{
	if (grow((void **)&to->ips, &to->cap_ips, to->n_ips + 1))
		return -ENOMEM;
	ip_detach(e);
	ip_attach(to, e);
	nc.st.moved++;
	return 0;
}

static void dom_attach(struct node *n, struct dom_ent *e)
{
	if (n->n_doms >= NODE_MAX_DOMAINS) {
		struct dom_ent *old = n->doms[0];

		HASH_DEL(nc.by_dom, old);
		free(old);
		memmove(n->doms, n->doms + 1, --n->n_doms * sizeof(n->doms[0]));
		nc.st.trimmed++;
	}
	e->node = n;
	n->doms[n->n_doms++] = e;
	n->dirty = true;
}

static void dom_detach(struct dom_ent *e)
{
	struct node *n = e->node;
	unsigned int i;

	for (i = 0; i < n->n_doms && n->doms[i] != e; i++)
		;
	if (i == n->n_doms)
		return;
	memmove(n->doms + i, n->doms + i + 1, (n->n_doms - i - 1) * sizeof(n->doms[0]));
	n->n_doms--;
	n->dirty = true;
	e->node = NULL;
}

static int dom_add(struct node *n, const char *domain)
{
	size_t len = strlen(domain);
	struct dom_ent *e;

	if (grow((void **)&n->doms, &n->cap_doms, n->n_doms + 1))
		return -ENOMEM;
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->name, domain, len + 1);
	HASH_ADD_KEYPTR(hh, nc.by_dom, e->name, len, e);
	dom_attach(n, e);
	return 0;
}

static int dom_move(struct dom_ent *e, struct node *to)
{
	if (grow((void **)&to->doms, &to->cap_doms, to->n_doms + 1))
		return -ENOMEM;
	dom_detach(e);
	dom_attach(to, e);
	nc.st.moved++;
	return 0;
}

static struct ip_ent *ip_find(const struct spin_addr *ip)
{
	struct ip_ent *e;

	HASH_FIND(hh, nc.by_ip, ip, sizeof(*ip), e);
	return e;
}

static struct dom_ent *dom_find(const char *domain)
{
	struct dom_ent *e;

	HASH_FIND(hh, nc.by_dom, domain, strlen(domain), e);
	return e;
}

/* ---- merging ---- */

/*
 * Joins two nodes (not both devices): the one with a MAC survives, else the lowest id. The
 * victim's id is returned in *old_id; the caller finishes its change and then calls
 * merge_announce(), so that subscribers see the complete survivor before nodeMerged.
 */
static struct node *merge(struct node *a, struct node *b, uint32_t *old_id)
{
	struct node *s = a, *v = b;
	unsigned int i;

	if (v->has_mac || (!s->has_mac && v->id < s->id)) {
		s = b;
		v = a;
	}
	if (grow((void **)&s->ips, &s->cap_ips, s->n_ips + v->n_ips) ||
	    grow((void **)&s->doms, &s->cap_doms, s->n_doms + v->n_doms))
		return NULL;
	for (i = 0; i < v->n_ips; i++)
		ip_attach(s, v->ips[i]);
	for (i = 0; i < v->n_doms; i++)
		dom_attach(s, v->doms[i]);
	v->n_ips = 0;
	v->n_doms = 0;
	if (!s->name) {
		s->name = v->name;
		v->name = NULL;
	}
	if (v->lastseen > s->lastseen)
		s->lastseen = v->lastseen;
	s->dirty = true;
	*old_id = v->id;
	node_free(v);
	nc.st.merged++;
	return s;
}

static void merge_announce(struct node *s, uint32_t old_id, time_t now)
{
	publish(s, now);
	if (nc.ops.merged)
		nc.ops.merged(old_id, s->id, nc.ops.ctx);
}

/* ---- validation ---- */

static bool valid_domain(const char *d)
{
	size_t len;
	const char *p;

	if (!d)
		return false;
	len = strnlen(d, NODE_DOMAIN_MAX + 1);
	if (len == 0 || len > NODE_DOMAIN_MAX || d[len - 1] != '.')
		return false;
	/* Presentation form: ldns escapes everything else as \DDD. */
	for (p = d; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

static bool valid_name(const char *name)
{
	const char *p;

	if (strlen(name) > NODE_NAME_MAX)
		return false;
	for (p = name; *p; p++) {
		unsigned char c = *p;

		if (c < 0x20 || c == 0x7f || strchr("<>\"'&", c))
			return false;
	}
	return utf8_valid(name, strlen(name));
}

/* ---- public API ---- */

int nodes_init(const struct nodes_ops *ops, unsigned int retain_s, unsigned int max_nodes)
{
	nodes_destroy();
	if (ops)
		nc.ops = *ops;
	nc.retain_s = retain_s ? retain_s : NODES_RETAIN_DEFAULT;
	nc.max_nodes = max_nodes ? max_nodes : NODES_MAX_DEFAULT;
	nc.next_id = 1;
	return 0;
}

void nodes_destroy(void)
{
	struct node *n, *tmp;

	HASH_ITER(hh_id, nc.by_id, n, tmp)
	node_free(n);
	memset(&nc, 0, sizeof(nc));
}

struct node *nodes_by_id(uint32_t id)
{
	struct node *n;

	HASH_FIND(hh_id, nc.by_id, &id, sizeof(id), n);
	return n;
}

struct node *nodes_by_ip(const struct spin_addr *ip)
{
	struct ip_ent *e = ip_find(ip);

	return e ? e->node : NULL;
}

struct node *nodes_by_mac(const uint8_t mac[6])
{
	struct node *n;

	HASH_FIND(hh_mac, nc.by_mac, mac, 6, n);
	return n;
}

struct node *nodes_by_domain(const char *domain)
{
	struct dom_ent *e = domain ? dom_find(domain) : NULL;

	return e ? e->node : NULL;
}

/* A new node holding ip (and domain, if not NULL). */
static struct node *node_new_with(const struct spin_addr *ip, const char *domain, time_t now)
{
	struct node *n = node_new(now);

	if (!n)
		return NULL;
	if ((ip && ip_add(n, ip)) || (domain && dom_add(n, domain))) {
		node_free(n);
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

struct node *nodes_get_ip(const struct spin_addr *ip, time_t now)
{
	struct ip_ent *e = ip_find(ip);

	if (e) {
		touch(e->node, now);
		return e->node;
	}
	return node_new_with(ip, NULL, now);
}

struct node *nodes_get_domain(const char *domain, time_t now)
{
	struct dom_ent *e;

	if (!valid_domain(domain)) {
		errno = EINVAL;
		return NULL;
	}
	e = dom_find(domain);
	if (e) {
		touch(e->node, now);
		return e->node;
	}
	return node_new_with(NULL, domain, now);
}

struct node *nodes_add_domain(const struct spin_addr *ip, const char *domain, time_t now)
{
	struct ip_ent *ie;
	struct dom_ent *de;
	struct node *n;
	uint32_t old_id = 0;

	if (!valid_domain(domain)) {
		errno = EINVAL;
		return NULL;
	}
	ie = ip_find(ip);
	de = dom_find(domain);
	if (!ie && !de)
		return node_new_with(ip, domain, now);
	if (ie && !de)
		n = dom_add(ie->node, domain) ? NULL : ie->node;
	else if (!ie)
		n = ip_add(de->node, ip) ? NULL : de->node;
	else if (ie->node == de->node)
		n = ie->node;
	else if (ie->node->has_mac && de->node->has_mac)
		/* The name now points at the other device: it moves, the devices stay. */
		n = dom_move(de, ie->node) ? NULL : ie->node;
	else
		n = merge(ie->node, de->node, &old_id);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	touch(n, now);
	if (old_id)
		merge_announce(n, old_id, now);
	return n;
}

struct node *nodes_set_mac(const struct spin_addr *ip, const uint8_t mac[6], time_t now)
{
	struct node *nm = nodes_by_mac(mac);
	struct ip_ent *ie = ip_find(ip);
	struct node *n;
	uint32_t old_id = 0;
	int err = 0;

	if (!nm && ie && !ie->node->has_mac) {
		/* A node first seen by its traffic turns out to be a device. */
		n = ie->node;
		node_set_mac(n, mac);
	} else if (!nm) {
		n = node_new(now);
		if (!n)
			return NULL;
		node_set_mac(n, mac);
		err = ie ? ip_move(ie, n) : ip_add(n, ip);
	} else if (!ie) {
		n = nm;
		err = ip_add(n, ip);
	} else if (ie->node == nm) {
		n = nm;
	} else if (ie->node->has_mac) {
		n = nm;
		err = ip_move(ie, n);
	} else {
		n = merge(nm, ie->node, &old_id);
	}
	if (!n || err) {
		errno = ENOMEM;
		return NULL;
	}
	touch(n, now);
	if (old_id)
		merge_announce(n, old_id, now);
	return n;
}

struct node *nodes_get_mac(const uint8_t mac[6], time_t now)
{
	struct node *n = nodes_by_mac(mac);

	if (!n) {
		n = node_new(now);
		if (!n)
			return NULL;
		node_set_mac(n, mac);
	}
	touch(n, now);
	return n;
}

struct node *nodes_add_ip(uint32_t id, const struct spin_addr *ip, time_t now)
{
	struct ip_ent *ie = ip_find(ip);
	struct node *n;
	uint32_t old_id = 0;
	int err = 0;

	if (id == 0)
		return nodes_get_ip(ip, now);
	n = nodes_by_id(id);
	if (!n) {
		errno = ENOENT;
		return NULL;
	}
	if (!ie)
		err = ip_add(n, ip);
	else if (ie->node == n)
		;
	else if (ie->node->has_mac && n->has_mac)
		err = ip_move(ie, n);
	else
		n = merge(n, ie->node, &old_id);
	if (!n || err) {
		errno = ENOMEM;
		return NULL;
	}
	touch(n, now);
	if (old_id)
		merge_announce(n, old_id, now);
	return n;
}

int nodes_set_name(uint32_t id, const char *name)
{
	struct node *n = nodes_by_id(id);
	char *copy = NULL;

	if (!n)
		return -ENOENT;
	if (name && *name) {
		if (!valid_name(name))
			return -EINVAL;
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
	}
	free(n->name);
	n->name = copy;
	n->dirty = true;
	return 0;
}

void nodes_touch(struct node *n, time_t now)
{
	touch(n, now);
}

void nodes_mark_changed(struct node *n)
{
	n->dirty = true;
}

void nodes_publish_pending(struct node *n, time_t now)
{
	if (!n->published || n->dirty || refresh_due(n, now))
		publish(n, now);
}

void nodes_tick(time_t now)
{
	struct node *n, *tmp;

	HASH_ITER(hh_id, nc.by_id, n, tmp)
	{
		if (!n->has_mac && now - n->lastseen >= (time_t)nc.retain_s && !is_protected(n)) {
			nc.st.deleted++;
			node_delete(n);
			continue;
		}
		/* Nodes nobody referred to yet stay unpublished (nodes_publish_pending). */
		if (n->published && (n->dirty || refresh_due(n, now)))
			publish(n, now);
	}
}

void nodes_foreach(void (*cb)(struct node *n, void *ctx), void *ctx)
{
	struct node *n, *tmp;

	HASH_ITER(hh_id, nc.by_id, n, tmp)
	cb(n, ctx);
}

void nodes_get_stats(struct nodes_stats *st)
{
	*st = nc.st;
}

uint32_t node_id(const struct node *n)
{
	return n->id;
}

const char *node_name(const struct node *n)
{
	return n->name;
}

const uint8_t *node_mac(const struct node *n)
{
	return n->has_mac ? n->mac : NULL;
}

uint32_t node_names_gen(const struct node *n)
{
	return n->names_gen;
}

void node_set_names_gen(struct node *n, uint32_t gen)
{
	n->names_gen = gen;
}

uint32_t nodes_map_generation(void)
{
	return nc.map_gen;
}

time_t node_lastseen(const struct node *n)
{
	return n->lastseen;
}

unsigned int node_ip_count(const struct node *n)
{
	return n->n_ips;
}

const struct spin_addr *node_ip(const struct node *n, unsigned int i)
{
	return i < n->n_ips ? &n->ips[i]->addr : NULL;
}

unsigned int node_domain_count(const struct node *n)
{
	return n->n_doms;
}

const char *node_domain(const struct node *n, unsigned int i)
{
	return i < n->n_doms ? n->doms[i]->name : NULL;
}

/* ---- JSON and addresses ---- */

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

const char *nodes_addr_str(const struct spin_addr *a, char buf[NODES_ADDR_STRLEN])
{
	if (!memcmp(a->a, v4_mapped, sizeof(v4_mapped)))
		return inet_ntop(AF_INET, a->a + 12, buf, NODES_ADDR_STRLEN);
	return inet_ntop(AF_INET6, a->a, buf, NODES_ADDR_STRLEN);
}

int nodes_addr_parse(const char *s, struct spin_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a + 12) == 1) {
		memcpy(a->a, v4_mapped, sizeof(v4_mapped));
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1)
		return 0;
	return -EINVAL;
}

cJSON *node_to_json(const struct node *n)
{
	cJSON *o = cJSON_CreateObject(), *ips, *doms;
	bool blocked = false, excepted = false;
	char buf[NODES_ADDR_STRLEN];
	const char *vendor;
	unsigned int i;
	bool ok;

	if (!o)
		return NULL;
	if (nc.ops.flags)
		nc.ops.flags(n, &blocked, &excepted, nc.ops.ctx);
	ok = cJSON_AddNumberToObject(o, "id", n->id) != NULL;
	if (n->name)
		ok = ok && cJSON_AddStringToObject(o, "name", n->name) != NULL;
	if (n->has_mac) {
		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		ok = ok && cJSON_AddStringToObject(o, "mac", buf) != NULL;
		vendor = nc.ops.vendor ? nc.ops.vendor(n->mac, nc.ops.ctx) : NULL;
		if (vendor)
			ok = ok && cJSON_AddStringToObject(o, "vendor", vendor) != NULL;
	}
	if (blocked)
		ok = ok && cJSON_AddTrueToObject(o, "is_blocked") != NULL;
	if (excepted)
		ok = ok && cJSON_AddTrueToObject(o, "is_excepted") != NULL;
	ok = ok && cJSON_AddNumberToObject(o, "lastseen", (double)n->lastseen) != NULL;
	ips = cJSON_AddArrayToObject(o, "ips");
	doms = cJSON_AddArrayToObject(o, "domains");
	ok = ok && ips && doms;
	for (i = 0; ok && i < n->n_ips; i++) {
		cJSON *s = cJSON_CreateString(nodes_addr_str(&n->ips[i]->addr, buf));

		ok = s && cJSON_AddItemToArray(ips, s);
	}
	for (i = 0; ok && i < n->n_doms; i++) {
		cJSON *s = cJSON_CreateString(n->doms[i]->name);

		ok = s && cJSON_AddItemToArray(doms, s);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nodes_mac_parse(const char *s, uint8_t mac[6])
{
	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
