// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include <uthash.h>

#include "log.h"
#include "names.h"
#include "statefile.h"

#define NAMES_FILE	"names.json"
#define NAMES_FILE_MAX	(4 * 1024 * 1024)
#define NAMES_MAX	65536
#define LEASES_FILE_MAX (4 * 1024 * 1024)

/* key: "mac:aa:bb:.." or "ip:<address text>" */
struct name_entry {
	char key[64];
	char name[NODE_NAME_MAX + 1];
	UT_hash_handle hh;
};

static struct {
	struct name_entry *user;
	struct name_entry *dhcp;
	struct name_entry *dhcp_prev; /* the lease file's names before its last change */
	unsigned int n_user;
	/* Bumped by every change of either table: a node looked up in this generation without a
	 * match is not looked up again (names_apply runs for every flow end every second) until
	 * the tables change or it gains an address or a MAC. Never 0 (a node's "not yet"). */
	uint32_t gen;
	char path[PATH_MAX];
	char leases[PATH_MAX];
	struct timespec leases_mtime;
	off_t leases_size;
} nm;

static void mac_key(const uint8_t *mac, char *key, size_t len)
{
	snprintf(key, len, "mac:%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static void ip_key(const struct spin_addr *a, char *key, size_t len)
{
	char buf[NODES_ADDR_STRLEN];

	snprintf(key, len, "ip:%s", nodes_addr_str(a, buf));
}

static const char *lookup(struct name_entry *table, const char *key)
{
	struct name_entry *e;

	HASH_FIND_STR(table, key, e);
	return e ? e->name : NULL;
}

static void tables_changed(void)
{
	if (++nm.gen == 0)
		nm.gen = 1;
}

static int put(struct name_entry **table, const char *key, const char *name, unsigned int *count)
{
	struct name_entry *e;

	tables_changed();
	HASH_FIND_STR(*table, key, e);
	if (!name || !*name) {
		if (e) {
			HASH_DEL(*table, e);
			free(e);
			if (count)
				(*count)--;
		}
		return 0;
	}
	if (!e) {
		if (count && *count >= NAMES_MAX)
			return -ENOSPC;
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		snprintf(e->key, sizeof(e->key), "%s", key);
		HASH_ADD_STR(*table, key, e);
		if (count)
			(*count)++;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 0;
}

static void clear(struct name_entry **table)
{
	struct name_entry *e, *tmp;

	tables_changed();
	HASH_ITER(hh, *table, e, tmp)
	{
		HASH_DEL(*table, e);
		free(e);
	}
}

static int save(void)
{
	cJSON *root;
	char *text;
	int err;

	if (!nm.path[0])
		return 0;
	root = cJSON_CreateObject();
	for (struct name_entry *e = nm.user; e; e = e->hh.next)
		cJSON_AddStringToObject(root, e->key, e->name);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	err = statefile_write(nm.path, text);
	free(text);
	if (err)
		pr_err("cannot save %s: %s", nm.path, strerror(-err));
	return err;
}

static int load(void)
{
	cJSON *root, *it;
	char *text;
	int err;

	text = statefile_read(nm.path, NAMES_FILE_MAX, &err);
	if (!text)
		return err == -ENOENT ? 0 : err;
	root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(root)) {
		pr_err("%s: not a JSON object; move it away to start without saved names", nm.path);
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, root)
	{
		if (cJSON_IsString(it) &&
		    strlen(it->string) < sizeof(((struct name_entry *)0)->key))
			put(&nm.user, it->string, it->valuestring, &nm.n_user);
	}
	cJSON_Delete(root);
	return 0;
}

int names_init(const char *state_dir, const char *leases_file)
{
	memset(&nm, 0, sizeof(nm));
	if (leases_file)
		snprintf(nm.leases, sizeof(nm.leases), "%s", leases_file);
	if (state_dir && *state_dir) {
		snprintf(nm.path, sizeof(nm.path), "%s/%s", state_dir, NAMES_FILE);
		return load();
	}
	return 0;
}

void names_destroy(void)
{
	clear(&nm.user);
	clear(&nm.dhcp);
	clear(&nm.dhcp_prev);
}

static const char *name_for(const struct node *n)
{
	char key[64];
	const char *name;

	if (node_mac(n)) {
		mac_key(node_mac(n), key, sizeof(key));
		name = lookup(nm.user, key);
		if (name)
			return name;
		name = lookup(nm.dhcp, key);
		if (name)
			return name;
	}
	for (unsigned int i = 0; i < node_ip_count(n); i++) {
		ip_key(node_ip(n, i), key, sizeof(key));
		name = lookup(nm.user, key);
		if (name)
			return name;
	}
	return NULL;
}

/*
 * A device named by its lease follows the lease: when the host name the device asks for
 * changes, so does its name. A name the user gave (kept by MAC) is never replaced, and a
 * lease that ends takes no name away.
 */
static const char *lease_rename(const struct node *n)
{
	const char *prev, *cur;
	char key[64];

	if (!node_mac(n) || !node_name(n))
		return NULL;
	mac_key(node_mac(n), key, sizeof(key));
	if (lookup(nm.user, key))
		return NULL;
	prev = lookup(nm.dhcp_prev, key);
	cur = lookup(nm.dhcp, key);
	if (!prev || !cur || strcmp(node_name(n), prev) || !strcmp(prev, cur))
		return NULL;
	return cur;
}

void names_apply(struct node *n)
{
	const char *name;

	if (!n || (!nm.user && !nm.dhcp) || node_names_gen(n) == nm.gen)
		return;
	name = node_name(n) ? lease_rename(n) : name_for(n);
	if (name)
		nodes_set_name(node_id(n), name);
	node_set_names_gen(n, nm.gen);
}

int names_remember(const struct node *n, const char *name)
{
	char key[64];
	int err = 0;

	if (node_mac(n)) {
		mac_key(node_mac(n), key, sizeof(key));
		err = put(&nm.user, key, name, &nm.n_user);
	} else {
		for (unsigned int i = 0; i < node_ip_count(n) && !err; i++) {
			ip_key(node_ip(n, i), key, sizeof(key));
			err = put(&nm.user, key, name, &nm.n_user);
		}
	}
	return err ? err : save();
}

/* dnsmasq: "<expiry> <mac> <ip> <hostname|*> <client-id|*>" per line. */
static void parse_lease_line(char *line)
{
	char *save = NULL, *expiry, *mac, *ip, *host;
	uint8_t m[6];
	char key[64];

	expiry = strtok_r(line, " \t\n", &save);
	mac = strtok_r(NULL, " \t\n", &save);
	ip = strtok_r(NULL, " \t\n", &save);
	host = strtok_r(NULL, " \t\n", &save);
	if (!expiry || !mac || !ip || !host || strcmp(host, "*") == 0)
		return;
	if (nodes_mac_parse(mac, m))
		return;
	/* A DHCP host name is what the device says: keep only harmless characters. */
	for (char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return;
	if (strlen(host) > NODE_NAME_MAX)
		return;
	mac_key(m, key, sizeof(key));
	put(&nm.dhcp, key, host, NULL);
}

int names_poll_leases(void)
{
	struct stat st;
	char *text, *line, *save = NULL;
	int err, n;

	if (!nm.leases[0] || stat(nm.leases, &st) < 0)
		return 0;
	if (st.st_mtim.tv_sec == nm.leases_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == nm.leases_mtime.tv_nsec && st.st_size == nm.leases_size)
		return 0;
	nm.leases_mtime = st.st_mtim;
	nm.leases_size = st.st_size;
	text = statefile_read(nm.leases, LEASES_FILE_MAX, &err);
	if (!text) {
		pr_warn("cannot read DHCP leases %s: %s", nm.leases, strerror(-err));
		return 0;
	}
	clear(&nm.dhcp_prev);
	nm.dhcp_prev = nm.dhcp;
	nm.dhcp = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_lease_line(line);
	free(text);
	n = (int)HASH_COUNT(nm.dhcp);
	pr_debug("DHCP leases: %d host names from %s", n, nm.leases);
	return n;
}
