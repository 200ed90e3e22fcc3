// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
#include <uthash.h>

#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "statefile.h"

#define POLICY_FILE	    "policy.json"
#define POLICY_FILE_MAX	    (8 * 1024 * 1024)
#define POLICY_FILE_VERSION 1 /* what save() writes and load() reads */

struct addr_item {
	struct spin_addr a;
	UT_hash_handle hh;
};

struct pair_item {
	uint64_t key; /* lo id << 32 | hi id */
	UT_hash_handle hh;
};

/* An address pair installed in spin_pairpol. */
struct kpair_item {
	struct spin_pair_key key;
	bool wanted;
	UT_hash_handle hh;
};

static struct {
	struct addr_item *lists[POLICY_NLISTS];
	unsigned int count[POLICY_NLISTS];
	struct pair_item *pairs;
	struct kpair_item *kpairs;
	unsigned int n_kpairs;
	int n_kmacs; /* entries in spin_macpol */
	bool kernel;
	bool loading;
	char path[PATH_MAX];
	struct policy_ops ops;
	uint64_t save_errors;
} pol;

static const char *const list_names[POLICY_NLISTS] = {"block", "allow", "ignore"};

int policy_list_from_name(const char *name)
{
	for (int i = 0; name && i < POLICY_NLISTS; i++)
		if (strcmp(name, list_names[i]) == 0)
			return i;
	return -1;
}

const char *policy_list_name(enum policy_list l)
{
	return list_names[l];
}

static struct addr_item *find(enum policy_list l, const struct spin_addr *a)
{
	struct addr_item *it;

	HASH_FIND(hh, pol.lists[l], a, sizeof(*a), it);
	return it;
}

bool policy_has(enum policy_list l, const struct spin_addr *a)
{
	return find(l, a) != NULL;
}

bool policy_node_on(enum policy_list l, const struct node *n)
{
	for (unsigned int i = 0; n && i < node_ip_count(n); i++)
		if (find(l, node_ip(n, i)))
			return true;
	return false;
}

/*
 * A device on the block or allow list is enforced by its MAC as well (spin_macpol), so that a
 * blocked device stays blocked from an address spind has not seen yet (the kernel checks the
 * frame's MACs where it evaluates the policy). Only devices spind knows are changed: the entry
 * of one not (yet) in the node cache, after a restart, stays until its node shows up.
 * Returns true when the device's entry changed.
 */
static bool kernel_sync_mac(const struct node *n)
{
	const uint8_t *mac = node_mac(n);
	__u32 want, have = 0;
	bool present;
	int err;

	if (!pol.kernel || !mac)
		return false;
	want = (policy_node_on(POLICY_BLOCK, n) ? SPIN_POL_BLOCK : 0) |
	       (policy_node_on(POLICY_ALLOW, n) ? SPIN_POL_ALLOW : 0);
	present = kernel_macpol_get(mac, &have) == 0;
	if ((present ? have : 0) == want)
		return false;
	err = kernel_macpol_set(mac, want);
	if (err) {
		pr_warn("policy: device %02x:%02x:%02x:%02x:%02x:%02x not enforced by MAC: %s "
			"(its addresses still are)",
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], strerror(-err));
		return false;
	}
	pol.n_kmacs += !present ? 1 : !want ? -1 : 0;
	return true;
}

static void sync_mac_of(struct node *n, void *ctx)
{
	kernel_sync_mac(n);
}

/* Bumps the generation after the maps changed: every flow re-checks on its next packet. */
static int kernel_commit(void)
{
	struct spin_cfg cfg;
	int err;

	if (!pol.kernel)
		return 0;
	nodes_foreach(sync_mac_of, NULL);
	err = kernel_cfg_read(&cfg);
	if (err)
		return err;
	cfg.policy_gen++;
	cfg.n_addr_block = pol.count[POLICY_BLOCK];
	cfg.n_addr_allow = pol.count[POLICY_ALLOW];
	cfg.n_pair = pol.n_kpairs;
	cfg.n_mac = pol.n_kmacs > 0 ? (__u32)pol.n_kmacs : 0;
	return kernel_cfg_write(&cfg);
}

static int kernel_sync_addr(const struct spin_addr *a)
{
	__u32 flags = (policy_has(POLICY_BLOCK, a) ? SPIN_POL_BLOCK : 0) |
		      (policy_has(POLICY_ALLOW, a) ? SPIN_POL_ALLOW : 0);

	return pol.kernel ? kernel_addrpol_set(a, flags) : 0;
}

static cJSON *node_ips_json(uint32_t id)
{
	struct node *n = nodes_by_id(id);
	cJSON *arr = cJSON_CreateArray();
	char buf[NODES_ADDR_STRLEN];

	for (unsigned int i = 0; n && i < node_ip_count(n); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(nodes_addr_str(node_ip(n, i), buf)));
	return arr;
}

/*
 * The lists hold addresses, but the user lists a node: all of its addresses, joined by DNS
 * answers. Those joins are lost with a restart, so each listed node with more than one
 * address is saved as a group ("nodes"), and made one node again at start: unlisting it
 * after a restart takes all its addresses off, not only the one a client names it by (and
 * DNS would otherwise join them again and put the rest back). Readers that do not know
 * "nodes" (the same file version) ignore it.
 */
static void add_group(struct node *n, void *ctx)
{
	bool listed = false;

	for (int l = 0; l < POLICY_NLISTS && !listed; l++)
		listed = policy_node_on(l, n);
	if (listed && node_ip_count(n) > 1)
		cJSON_AddItemToArray(ctx, node_ips_json(node_id(n)));
}

static int save(void)
{
	cJSON *root;
	char *text;
	int err;

	if (!pol.path[0] || pol.loading)
		return 0;
	root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", POLICY_FILE_VERSION);
	for (int l = 0; l < POLICY_NLISTS; l++)
		cJSON_AddItemToObject(root, list_names[l], policy_list_json(l));
	nodes_foreach(add_group, cJSON_AddArrayToObject(root, "nodes"));
	cJSON *pairs = cJSON_AddArrayToObject(root, "flow_blocks");
	for (struct pair_item *p = pol.pairs; p; p = p->hh.next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "a", node_ips_json((uint32_t)(p->key >> 32)));
		cJSON_AddItemToObject(o, "b", node_ips_json((uint32_t)p->key));
		cJSON_AddItemToArray(pairs, o);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	err = statefile_write(pol.path, text);
	free(text);
	if (err) {
		pol.save_errors++;
		pr_err("cannot save %s: %s (the change is in effect but will not survive a "
		       "restart)",
		       pol.path, strerror(-err));
	}
	return err;
}

static void changed(enum policy_list l)
{
	if (pol.ops.list_changed && !pol.loading)
		pol.ops.list_changed(l, pol.ops.ctx);
}

static int add_one(enum policy_list l, const struct spin_addr *a)
{
	struct addr_item *it;

	if (find(l, a))
		return 0;
	if (pol.count[l] >= POLICY_MAX_ADDRS)
		return -ENOSPC;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->a = *a;
	HASH_ADD(hh, pol.lists[l], a, sizeof(it->a), it);
	pol.count[l]++;
	return l == POLICY_IGNORE ? 0 : kernel_sync_addr(a);
}

static int remove_one(enum policy_list l, const struct spin_addr *a)
{
	struct addr_item *it = find(l, a);

	if (!it)
		return 0;
	HASH_DEL(pol.lists[l], it);
	free(it);
	pol.count[l]--;
	return l == POLICY_IGNORE ? 0 : kernel_sync_addr(a);
}

static int finish(enum policy_list l, int err)
{
	int e2 = kernel_commit();

	changed(l);
	if (!err)
		err = e2;
	if (!err)
		err = save();
	return err;
}

int policy_add_addr(enum policy_list l, const struct spin_addr *a)
{
	return finish(l, add_one(l, a));
}

int policy_remove_addr(enum policy_list l, const struct spin_addr *a)
{
	return finish(l, remove_one(l, a));
}

int policy_add_node(enum policy_list l, const struct node *n)
{
	int err = 0;

	for (unsigned int i = 0; i < node_ip_count(n) && !err; i++)
		err = add_one(l, node_ip(n, i));
	return finish(l, err);
}

int policy_remove_node(enum policy_list l, const struct node *n)
{
	int err = 0;

	for (unsigned int i = 0; i < node_ip_count(n) && !err; i++)
		err = remove_one(l, node_ip(n, i));
	return finish(l, err);
}

int policy_set_list(enum policy_list l, const struct spin_addr *addrs, int n)
{
	struct addr_item *it, *tmp;
	int err = 0;

	HASH_ITER(hh, pol.lists[l], it, tmp)
	{
		struct spin_addr a = it->a;

		remove_one(l, &a);
	}
	for (int i = 0; i < n && !err; i++)
		err = add_one(l, &addrs[i]);
	return finish(l, err);
}

cJSON *policy_list_json(enum policy_list l)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[NODES_ADDR_STRLEN];

	for (struct addr_item *it = pol.lists[l]; it; it = it->hh.next)
		cJSON_AddItemToArray(arr, cJSON_CreateString(nodes_addr_str(&it->a, buf)));
	return arr;
}

unsigned int policy_list_count(enum policy_list l)
{
	return pol.count[l];
}

static uint64_t pair_key(uint32_t a, uint32_t b)
{
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;

	return (uint64_t)lo << 32 | hi;
}

bool policy_flow_blocked(uint32_t id1, uint32_t id2)
{
	uint64_t key = pair_key(id1, id2);
	struct pair_item *p;

	HASH_FIND(hh, pol.pairs, &key, sizeof(key), p);
	return p != NULL;
}

static bool is_v4_mapped(const struct spin_addr *a)
{
	static const __u8 prefix[12] = {[10] = 0xff, [11] = 0xff};

	return memcmp(a->a, prefix, sizeof(prefix)) == 0;
}

static void kpair_want(const struct spin_addr *x, const struct spin_addr *y)
{
	struct spin_pair_key key;
	struct kpair_item *k;

	/* The families must match: a v4 address never talks to a v6 one. */
	if (is_v4_mapped(x) != is_v4_mapped(y))
		return;
	if (memcmp(x, y, sizeof(*x)) <= 0) {
		key.lo = *x;
		key.hi = *y;
	} else {
		key.lo = *y;
		key.hi = *x;
	}
	HASH_FIND(hh, pol.kpairs, &key, sizeof(key), k);
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return;
		k->key = key;
		HASH_ADD(hh, pol.kpairs, key, sizeof(k->key), k);
	}
	k->wanted = true;
}

/* Recomputes spin_pairpol from the node pairs: every address of one with every of the other. */
static int kernel_sync_pairs(void)
{
	struct kpair_item *k, *tmp;
	int err = 0, e;

	for (k = pol.kpairs; k; k = k->hh.next)
		k->wanted = false;
	for (struct pair_item *p = pol.pairs; p; p = p->hh.next) {
		struct node *a = nodes_by_id((uint32_t)(p->key >> 32));
		struct node *b = nodes_by_id((uint32_t)p->key);

		for (unsigned int i = 0; a && b && i < node_ip_count(a); i++)
			for (unsigned int j = 0; j < node_ip_count(b); j++)
				kpair_want(node_ip(a, i), node_ip(b, j));
	}
	pol.n_kpairs = 0;
	HASH_ITER(hh, pol.kpairs, k, tmp)
	{
		if (!k->wanted) {
			e = pol.kernel ? kernel_pairpol_set(&k->key, false) : 0;
			err = err ? err : e;
			HASH_DEL(pol.kpairs, k);
			free(k);
			continue;
		}
		e = pol.kernel ? kernel_pairpol_set(&k->key, true) : 0;
		err = err ? err : e;
		pol.n_kpairs++;
	}
	return err;
}

int policy_set_flow_block(const struct node *a, const struct node *b, bool block)
{
	uint64_t key = pair_key(node_id(a), node_id(b));
	struct pair_item *p;
	int err;

	HASH_FIND(hh, pol.pairs, &key, sizeof(key), p);
	if (block && !p) {
		if (HASH_COUNT(pol.pairs) >= POLICY_MAX_PAIRS)
			return -ENOSPC;
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->key = key;
		HASH_ADD(hh, pol.pairs, key, sizeof(p->key), p);
	} else if (!block && p) {
		HASH_DEL(pol.pairs, p);
		free(p);
	}
	err = kernel_sync_pairs();
	if (!err)
		err = kernel_commit();
	if (!err)
		err = save();
	return err;
}

cJSON *policy_flow_blocks_json(void)
{
	cJSON *arr = cJSON_CreateArray();

	for (struct pair_item *p = pol.pairs; p; p = p->hh.next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "node1", (double)(p->key >> 32));
		cJSON_AddNumberToObject(o, "node2", (double)(uint32_t)p->key);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void policy_foreach_flow_peer(uint32_t id, void (*cb)(uint32_t peer, void *ctx), void *ctx)
{
	for (struct pair_item *p = pol.pairs; p; p = p->hh.next) {
		uint32_t lo = (uint32_t)(p->key >> 32), hi = (uint32_t)p->key;

		if (lo == id)
			cb(hi, ctx);
		else if (hi == id)
			cb(lo, ctx);
	}
}

bool policy_node_in_flow_block(uint32_t id)
{
	for (struct pair_item *p = pol.pairs; p; p = p->hh.next)
		if ((uint32_t)(p->key >> 32) == id || (uint32_t)p->key == id)
			return true;
	return false;
}

void policy_node_changed(const struct node *n)
{
	bool dirty = false;

	for (int l = 0; l < POLICY_NLISTS; l++) {
		unsigned int before = pol.count[l];

		if (!policy_node_on(l, n))
			continue;
		for (unsigned int i = 0; i < node_ip_count(n); i++)
			add_one(l, node_ip(n, i));
		if (pol.count[l] != before) {
			changed(l);
			dirty = true;
		}
	}
	if (policy_node_in_flow_block(node_id(n))) {
		kernel_sync_pairs();
		dirty = true;
	}
	dirty |= kernel_sync_mac(n);
	if (dirty) {
		kernel_commit();
		save();
	}
}

static void rekey_pairs(uint32_t old_id, uint32_t new_id)
{
	struct pair_item *p, *tmp;
	uint64_t keys[POLICY_MAX_PAIRS];
	int n = 0;

	HASH_ITER(hh, pol.pairs, p, tmp)
	{
		uint32_t lo = (uint32_t)(p->key >> 32), hi = (uint32_t)p->key;

		if (lo != old_id && hi != old_id)
			continue;
		HASH_DEL(pol.pairs, p);
		free(p);
		if (new_id && n < POLICY_MAX_PAIRS)
			keys[n++] =
				pair_key(lo == old_id ? new_id : lo, hi == old_id ? new_id : hi);
	}
	for (int i = 0; i < n; i++) {
		if ((uint32_t)(keys[i] >> 32) == (uint32_t)keys[i])
			continue; /* both ends merged into one node */
		HASH_FIND(hh, pol.pairs, &keys[i], sizeof(keys[i]), p);
		if (p)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			continue;
		p->key = keys[i];
		HASH_ADD(hh, pol.pairs, key, sizeof(p->key), p);
	}
}

void policy_node_merged(uint32_t old_id, uint32_t new_id)
{
	if (!policy_node_in_flow_block(old_id))
		return;
	rekey_pairs(old_id, new_id);
	kernel_sync_pairs();
	kernel_commit();
	save();
}

void policy_node_deleted(uint32_t id)
{
	/* Nodes in flow blocks are protected from deletion; this is for evictions. */
	policy_node_merged(id, 0);
}

uint64_t policy_save_errors(void)
{
	return pol.save_errors;
}

static int load_addrs(enum policy_list l, const cJSON *arr, const char *path)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		struct spin_addr a;

		if (!cJSON_IsString(it) || nodes_addr_parse(it->valuestring, &a)) {
			pr_err("%s: %s: not an IP address: %s", path, list_names[l],
			       cJSON_IsString(it) ? it->valuestring : "(not a string)");
			return -EINVAL;
		}
		add_one(l, &a);
	}
	return 0;
}

/* Flow blocks are stored by addresses (node ids do not survive a restart). */
static struct node *node_from_ips(const cJSON *arr)
{
	struct node *n = NULL;
	const cJSON *it;
	time_t now = time(NULL);

	cJSON_ArrayForEach(it, arr)
	{
		struct spin_addr a;

		if (!cJSON_IsString(it) || nodes_addr_parse(it->valuestring, &a))
			continue;
		n = nodes_add_ip(n ? node_id(n) : 0, &a, now);
	}
	return n;
}

/* Listed nodes with several addresses, as saved (add_group): one node each again. */
static void load_groups(const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) node_from_ips(it);
}

static int load_pairs(const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		struct node *a = node_from_ips(cJSON_GetObjectItemCaseSensitive(it, "a"));
		uint32_t ida = a ? node_id(a) : 0;
		struct node *b = node_from_ips(cJSON_GetObjectItemCaseSensitive(it, "b"));

		a = nodes_by_id(ida);
		if (a && b && a != b)
			policy_set_flow_block(a, b, true);
	}
	return 0;
}

/*
 * A file another version of spind wrote may mean what this one cannot read (a downgrade):
 * it is refused, so it is never rewritten with less than it holds. No version: the files
 * before the field, read as version 1.
 */
static int check_version(const cJSON *root)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");

	if (!v || (cJSON_IsNumber(v) && v->valuedouble == POLICY_FILE_VERSION))
		return 0;
	if (cJSON_IsNumber(v))
		pr_err("%s: file version %g, this spind reads version %d: run the spind that "
		       "wrote it, or move the file away to start with empty lists",
		       pol.path, v->valuedouble, POLICY_FILE_VERSION);
	else
		pr_err("%s: \"version\" is not a number; move the file away to start with empty "
		       "lists",
		       pol.path);
	return -EINVAL;
}

static int load(void)
{
	cJSON *root;
	char *text;
	int err;

	text = statefile_read(pol.path, POLICY_FILE_MAX, &err);
	if (!text)
		return err == -ENOENT ? 0 : err;
	root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(root)) {
		pr_err("%s: not valid JSON; move it away to start with empty lists", pol.path);
		cJSON_Delete(root);
		return -EINVAL;
	}
	err = check_version(root);
	if (err) {
		cJSON_Delete(root);
		return err;
	}
	pol.loading = true;
	for (int l = 0; l < POLICY_NLISTS && !err; l++)
		err = load_addrs(l, cJSON_GetObjectItemCaseSensitive(root, list_names[l]),
				 pol.path);
	if (!err)
		load_groups(cJSON_GetObjectItemCaseSensitive(root, "nodes"));
	if (!err)
		err = load_pairs(cJSON_GetObjectItemCaseSensitive(root, "flow_blocks"));
	pol.loading = false;
	cJSON_Delete(root);
	return err;
}

static bool listed(const struct spin_addr *a, void *ctx)
{
	return policy_has(POLICY_BLOCK, a) || policy_has(POLICY_ALLOW, a);
}

/* Pushes the whole policy into the (possibly reused) maps: stale entries go. */
static int kernel_push_all(void)
{
	struct kpair_item *k, *tmp;
	int err;

	pol.n_kmacs = kernel_macpol_count(); /* a previous run's devices, kept until seen */
	err = pol.n_kmacs < 0 ? pol.n_kmacs : kernel_addrpol_prune(listed, NULL);
	for (int l = POLICY_BLOCK; l <= POLICY_ALLOW && !err; l++)
		for (struct addr_item *it = pol.lists[l]; it && !err; it = it->hh.next)
			err = kernel_sync_addr(&it->a);
	if (!err)
		err = kernel_pairpol_clear();
	pol.n_kpairs = 0;
	HASH_ITER(hh, pol.kpairs, k, tmp)
	{
		HASH_DEL(pol.kpairs, k);
		free(k);
	}
	if (!err)
		err = kernel_sync_pairs();
	return err ? err : kernel_commit();
}
int policy_init(const char *state_dir, bool kernel, const struct policy_ops *ops)
{
	int err;

	memset(&pol, 0, sizeof(pol));
	pol.kernel = kernel;
	if (ops)
		pol.ops = *ops;
	if (state_dir && *state_dir) {
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
			pr_err("cannot create state directory %s: %s", state_dir, strerror(errno));
			return -errno;
		}
		snprintf(pol.path, sizeof(pol.path), "%s/%s", state_dir, POLICY_FILE);
		err = load();
		if (err)
			return err;
	}
	return kernel ? kernel_push_all() : 0;
}

void policy_destroy(void)
{
	struct addr_item *it, *tmp;
	struct pair_item *p, *ptmp;
	struct kpair_item *k, *ktmp;

	for (int l = 0; l < POLICY_NLISTS; l++) {
		HASH_ITER(hh, pol.lists[l], it, tmp)
		{
			HASH_DEL(pol.lists[l], it);
			free(it);
		}
	}
	HASH_ITER(hh, pol.pairs, p, ptmp)
	{
		HASH_DEL(pol.pairs, p);
		free(p);
	}
	HASH_ITER(hh, pol.kpairs, k, ktmp)
	{
		HASH_DEL(pol.kpairs, k);
		free(k);
	}
}
