/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The owner's policy: the block, allow and ignore lists (addresses) and flow blocks (pairs of
 * nodes). Changes go into the kernel's policy maps and bump spin_cfg.policy_gen before the call
 * returns, so enforcement is in effect when the caller answers. The state directory keeps them
 * (atomic writes), and they are pushed into the maps at start.
 *
 * A node is on a list when one of its addresses is; a listed node that gains an address has it
 * listed too (policy_node_changed), so blocking a node covers addresses it learns later.
 */
#ifndef SPIN_POLICY_H
#define SPIN_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nodes.h"
#include "spin_common.h"

enum policy_list {
	POLICY_BLOCK = 0,
	POLICY_ALLOW,
	POLICY_IGNORE,
	POLICY_NLISTS,
};

#define POLICY_MAX_ADDRS 16384 /* addresses per list */
#define POLICY_MAX_PAIRS 4096  /* flow blocks */

struct policy_ops {
	/* A list changed: publish it (block/allow/ignore message). */
	void (*list_changed)(enum policy_list l, void *ctx);
	void *ctx;
};

/*
 * state_dir: where policy.json lives ("" keeps everything in memory). kernel: false in passive
 * mode (lists are kept, nothing is enforced). Returns 0 or -errno (a corrupt file is an error
 * naming the file; it is left in place).
 */
int policy_init(const char *state_dir, bool kernel, const struct policy_ops *ops);
void policy_destroy(void);

/* "block", "allow", "ignore" -> list; -1 for anything else. */
int policy_list_from_name(const char *name);
const char *policy_list_name(enum policy_list l);

bool policy_has(enum policy_list l, const struct spin_addr *a);
bool policy_node_on(enum policy_list l, const struct node *n);
int policy_add_addr(enum policy_list l, const struct spin_addr *a);
int policy_remove_addr(enum policy_list l, const struct spin_addr *a);
int policy_add_node(enum policy_list l, const struct node *n);
int policy_remove_node(enum policy_list l, const struct node *n);
/* Replaces a list with the given addresses (reset_iplist_ignore). */
int policy_set_list(enum policy_list l, const struct spin_addr *addrs, int n);
/* JSON array of the list's addresses as text. */
cJSON *policy_list_json(enum policy_list l);
unsigned int policy_list_count(enum policy_list l);

/* Flow blocks between two nodes, by id (node1 < node2 after normalisation). */
int policy_set_flow_block(const struct node *a, const struct node *b, bool block);
bool policy_flow_blocked(uint32_t id1, uint32_t id2);
/* [{"node1":a,"node2":b}] with a < b. */
cJSON *policy_flow_blocks_json(void);
/* Calls cb for each flow-blocked peer of node id. */
void policy_foreach_flow_peer(uint32_t id, void (*cb)(uint32_t peer, void *ctx), void *ctx);
bool policy_node_in_flow_block(uint32_t id);

/* A node gained addresses or was merged: extends its lists and flow blocks to them. */
void policy_node_changed(const struct node *n);
void policy_node_merged(uint32_t old_id, uint32_t new_id);
void policy_node_deleted(uint32_t id);

/* Errors writing the state directory so far (status, stats). */
uint64_t policy_save_errors(void);

#endif
