// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/policy.c's state file: lists saved are read back after a restart; a file another
 * version of spind wrote, or one that is not valid, is refused and left as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodes.h"
#include "policy.h"
#include "statefile.h"

static char dir[] = "/tmp/spin-test-policy.XXXXXX";
static char path[128];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static char *read_file(void)
{
	int err;

	return statefile_read(path, 1 << 20, &err);
}

static bool blocked(const char *addr)
{
	struct spin_addr a;

	return !nodes_addr_parse(addr, &a) && policy_has(POLICY_BLOCK, &a);
}

/* spind's start: the node cache, then the policy from dir. */
static int start(void)
{
	nodes_init(&(struct nodes_ops){0}, 0, 0);
	return policy_init(dir, false, NULL);
}

static void stop(void)
{
	policy_destroy();
	nodes_destroy();
}

static void refused(const char *text, const char *what)
{
	char name[160], *after;

	write_file(text);
	snprintf(name, sizeof(name), "%s: refused", what);
	CHECK_INT(start(), -EINVAL, name);
	stop();
	after = read_file();
	snprintf(name, sizeof(name), "%s: the file is left as it was", what);
	CHECK_STR(after ? after : "(gone)", text, name);
	free(after);
}

int main(void)
{
	struct spin_addr a;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/policy.json", dir);

	CHECK_INT(start(), 0, "no file: empty lists");
	nodes_addr_parse("203.0.113.7", &a);
	CHECK_INT(policy_add_addr(POLICY_BLOCK, &a), 0, "block 203.0.113.7 (saved)");
	stop();
	CHECK_INT(start(), 0, "a restart reads the saved file");
	CHECK(blocked("203.0.113.7"), "the block is back");
	stop();

	/* A node of two addresses (joined by DNS) is listed: after a restart it is one node
	 * again, and unlisting it by either address takes both off. */
	{
		struct spin_addr v4, v6;
		struct node *n;

		stop();
		CHECK_INT(start(), 0, "start again");
		nodes_addr_parse("198.51.100.20", &v4);
		nodes_addr_parse("2001:db8:51::20", &v6);
		n = nodes_get_ip(&v4, 100);
		n = n ? nodes_add_ip(node_id(n), &v6, 100) : NULL;
		CHECK(n && node_ip_count(n) == 2, "a remote node with two addresses");
		CHECK_INT(policy_add_node(POLICY_BLOCK, n), 0, "the node is blocked");
		stop();
		CHECK_INT(start(), 0, "restart");
		n = nodes_get_ip(&v4, 200);
		CHECK_INT(n ? (long long)node_ip_count(n) : -1, 2,
			  "after the restart the node has both addresses again");
		CHECK_INT(n ? policy_remove_node(POLICY_BLOCK, n) : -1, 0,
			  "unblock it by its node");
		CHECK(!blocked("198.51.100.20") && !blocked("2001:db8:51::20"),
		      "both addresses are off the block list");
		stop();
	}

	write_file("{\"block\":[\"198.51.100.9\"]}");
	CHECK_INT(start(), 0, "a file without a version (older spind) is read");
	CHECK(blocked("198.51.100.9"), "its block is back");
	stop();

	refused("{\"version\":2,\"block\":[\"198.51.100.9\"],\"future\":{}}",
		"a newer spind's file (version 2)");
	refused("{\"version\":\"1\",\"block\":[]}", "a version that is not a number");
	refused("{\"block\":[\"not-an-address\"]}", "a bad address");
	refused("[1,2", "not JSON");

	check_rm_tree(dir);
	return check_exit();
}
