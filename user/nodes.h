/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node cache: everything known about each endpoint (a local device or a remote service),
 * with SPIN's semantics (docs/names-and-nodes.md, protocol.md sections 1 and 2).
 *
 * - A node has an id (>= 1, never reused in a run), an optional name, a MAC iff it is a local
 *   device, any number of addresses and domain names, and lastseen.
 * - Every address, domain and MAC belongs to at most one node; lookups by each are O(1).
 * - Information that shares an address, a domain or a MAC with existing nodes joins them into
 *   one: the survivor is the node with a MAC, else the lowest id. Two nodes that both have a
 *   MAC are never merged: the address (or domain) moves, the nodes stay.
 * - Idle remote nodes are deleted after retain_s seconds unless ops->protected_node says no;
 *   at max_nodes the least recently seen unprotected remote node is evicted.
 * - nodeInfo is published lazily: a node is first published when the caller is about to
 *   refer to it (nodes_publish_pending), then again on every change and, when only lastseen
 *   moved, at most once per NODES_REFRESH_S.
 *
 * Pointers to nodes are valid until the next call that can merge or delete nodes (every
 * mutating call and nodes_tick); keep ids across calls, not pointers. Single-threaded.
 */
#ifndef SPIN_NODES_H
#define SPIN_NODES_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "spin_common.h"

#define NODES_RETAIN_DEFAULT 1800  /* node_cache_retain_time */
#define NODES_MAX_DEFAULT    65536 /* nodes kept at most */
#define NODES_REFRESH_S	     60	   /* republish a node whose lastseen moved, at most this often */
#define NODE_MAX_IPS	     128   /* addresses per node; the oldest is dropped beyond */
#define NODE_MAX_DOMAINS     128   /* domains per node; the oldest is dropped beyond */
#define NODE_NAME_MAX	     64	   /* bytes of a user-set name, without the NUL */
#define NODE_DOMAIN_MAX	     1024  /* bytes of a domain in presentation form (escapes included) */

struct node;

struct nodes_ops {
	/* nodeInfo: publish node_to_json(n) on SPIN/traffic/node/<id> (retained). */
	void (*publish)(const struct node *n, void *ctx);
	/* old_id was merged into new_id; called after new_id's fresh publish(). */
	void (*merged)(uint32_t old_id, uint32_t new_id, void *ctx);
	/* id was deleted (idle or evicted); the node is gone when this is called. */
	void (*deleted)(uint32_t id, void *ctx);
	/* true keeps an idle remote node (on a list, part of a flow block). May be NULL. */
	bool (*protected_node)(const struct node *n, void *ctx);
	/* is_blocked / is_excepted for the JSON. May be NULL (both false). */
	void (*flags)(const struct node *n, bool *blocked, bool *excepted, void *ctx);
	/* The maker of a device's MAC for the JSON's "vendor" (NULL: none). May be NULL. */
	const char *(*vendor)(const uint8_t mac[6], void *ctx);
	void *ctx;
};

struct nodes_stats {
	uint64_t nodes;	    /* nodes now */
	uint64_t created;   /* nodes created */
	uint64_t merged;    /* nodes merged into another */
	uint64_t deleted;   /* idle remote nodes deleted by retention */
	uint64_t evicted;   /* remote nodes evicted because max_nodes was reached */
	uint64_t full;	    /* creations refused: max_nodes reached, nothing evictable */
	uint64_t moved;	    /* addresses/domains moved between two devices */
	uint64_t trimmed;   /* addresses/domains dropped beyond NODE_MAX_IPS/NODE_MAX_DOMAINS */
	uint64_t published; /* publish() calls */
};

/* ops is copied; retain_s 0 = NODES_RETAIN_DEFAULT, max_nodes 0 = NODES_MAX_DEFAULT. */
int nodes_init(const struct nodes_ops *ops, unsigned int retain_s, unsigned int max_nodes);
/* Frees every node without calling any callback. */
void nodes_destroy(void);

struct node *nodes_by_id(uint32_t id);
struct node *nodes_by_ip(const struct spin_addr *ip);
struct node *nodes_by_mac(const uint8_t mac[6]);
struct node *nodes_by_domain(const char *domain);

/*
 * Mutators. Each returns the node now holding the information, or NULL when it could not be
 * created (max_nodes reached and nothing evictable; counted as 'full') or an argument is
 * invalid (errno EINVAL). Each marks the node seen at 'now'.
 */
/* Traffic: the node of ip, created if unknown. */
struct node *nodes_get_ip(const struct spin_addr *ip, time_t now);
/* DNS answer: domain resolves to ip. Joins the node of ip and the node of domain. */
struct node *nodes_add_domain(const struct spin_addr *ip, const char *domain, time_t now);
/* DNS query: the node holding domain, created (without addresses) if unknown. */
struct node *nodes_get_domain(const char *domain, time_t now);
/* Neighbour table: ip is used by the device mac. */
struct node *nodes_set_mac(const struct spin_addr *ip, const uint8_t mac[6], time_t now);
/* The device with this MAC, created without an address if there is none (a bridge FDB entry:
 * a station seen before any address of it is); its lastseen is now. NULL and errno on failure. */
struct node *nodes_get_mac(const uint8_t mac[6], time_t now);
/* JSON-RPC node_add_ip: ip belongs to node id; id 0 = a new node (or ip's existing node). */
struct node *nodes_add_ip(uint32_t id, const struct spin_addr *ip, time_t now);

/*
 * Sets (or, with "" or NULL, clears) a node's name. Returns 0, -ENOENT (unknown id) or
 * -EINVAL (longer than NODE_NAME_MAX, markup < > " ' &, control characters, invalid UTF-8).
 */
int nodes_set_name(uint32_t id, const char *name);

/* Traffic seen at 'now' (lastseen only moves forward). */
void nodes_touch(struct node *n, time_t now);
/* The caller's flags (lists) changed for n: republish it at the next opportunity. */
void nodes_mark_changed(struct node *n);
/* Call before publishing a message that refers to n: publishes nodeInfo if due. */
void nodes_publish_pending(struct node *n, time_t now);
/* Once a second or so: retention, republishing changed and refresh-due published nodes. */
void nodes_tick(time_t now);
/* cb must not add, merge or delete nodes. */
void nodes_foreach(void (*cb)(struct node *n, void *ctx), void *ctx);
void nodes_get_stats(struct nodes_stats *st);

uint32_t node_id(const struct node *n);
const char *node_name(const struct node *n);   /* NULL if none */
const uint8_t *node_mac(const struct node *n); /* 6 bytes, NULL if not a device */
time_t node_lastseen(const struct node *n);
/*
 * Changes whenever an address may map to another node id than before, or a node becomes a
 * device: a node freed (merged, deleted, evicted), an address moved or dropped, a MAC set. Not
 * when a new node or a new address appears. traffic.c keeps per-flow results while it holds.
 */
uint32_t nodes_map_generation(void);
/* For names.c: the name-table generation the node was last looked up in; 0 after the node
 * gained an address or a MAC (so it is looked up again). */
uint32_t node_names_gen(const struct node *n);
void node_set_names_gen(struct node *n, uint32_t gen);
unsigned int node_ip_count(const struct node *n);
const struct spin_addr *node_ip(const struct node *n, unsigned int i); /* oldest first */
unsigned int node_domain_count(const struct node *n);
const char *node_domain(const struct node *n, unsigned int i); /* oldest first */

/* The protocol's node object; NULL on allocation failure. */
cJSON *node_to_json(const struct node *n);

/* Address text as the protocol wants it: IPv4-mapped prints as dotted IPv4, IPv6 as RFC 5952. */
#define NODES_ADDR_STRLEN 46
const char *nodes_addr_str(const struct spin_addr *a, char buf[NODES_ADDR_STRLEN]);
/* Parses dotted IPv4 (stored IPv4-mapped) or IPv6 text. Returns 0 or -EINVAL. */
int nodes_addr_parse(const char *s, struct spin_addr *a);
/* Exactly "xx:xx:xx:xx:xx:xx" (hex digits, either case): nothing else is a MAC. 0 or -EINVAL. */
int nodes_mac_parse(const char *s, uint8_t mac[6]);

#endif
