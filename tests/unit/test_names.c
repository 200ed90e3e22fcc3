// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/names.c: DHCP lease names and user-set names reach the right nodes, a user name wins,
 * names survive a restart through names.json, and a node looked up without a match is looked up
 * again exactly when it matters: the tables changed, or it gained a MAC or an address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "names.h"
#include "nodes.h"

static char dir[64];
static char leases[128];

static const uint8_t mac_cam[6] = {0x02, 0, 0, 0, 0, 0x11};
static const uint8_t mac_tv[6] = {0x02, 0, 0, 0, 0, 0x12};

static struct spin_addr ip(const char *s)
{
	struct spin_addr a;

	if (nodes_addr_parse(s, &a))
		abort();
	return a;
}

static struct node *device(const char *addr, const uint8_t *mac, time_t now)
{
	struct spin_addr a = ip(addr);

	return nodes_set_mac(&a, mac, now);
}

static struct node *remote(const char *addr, time_t now)
{
	struct spin_addr a = ip(addr);

	return nodes_get_ip(&a, now);
}

static void write_leases(const char *text)
{
	FILE *f = fopen(leases, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static const char *name_of(const struct node *n)
{
	const char *s = n ? node_name(n) : NULL;

	return s ? s : "(none)";
}

static void test_leases_and_user_names(void)
{
	struct node *cam, *tv, *srv;

	write_leases("9999999999 02:00:00:00:00:11 192.0.2.11 doorbell-cam 01:02:00:00:00:00:11\n"
		     "9999999999 02:00:00:00:00:12 192.0.2.12 * *\n"
		     "9999999999 02:00:00:00:00:13 192.0.2.13 bad<name> *\n");
	CHECK_INT(names_init(dir, leases), 0, "names_init with a state dir and a lease file");
	CHECK_INT(names_poll_leases(), 1, "one usable lease name ('*' and markup are skipped)");
	cam = device("192.0.2.11", mac_cam, 100);
	names_apply(cam);
	CHECK_STR(name_of(cam), "doorbell-cam", "a device gets its DHCP name by MAC");
	tv = device("192.0.2.12", mac_tv, 100);
	names_apply(tv);
	CHECK_STR(name_of(tv), "(none)", "no name for a lease without a host name");

	CHECK_INT(nodes_set_name(node_id(tv), "living-room-tv"), 0, "user names the TV");
	CHECK_INT(names_remember(tv, "living-room-tv"), 0, "and it is remembered");
	srv = remote("203.0.113.10", 100);
	CHECK_INT(nodes_set_name(node_id(srv), "nas-backup"), 0, "user names a remote node");
	CHECK_INT(names_remember(srv, "nas-backup"), 0, "remembered by its address");
	CHECK_INT(nodes_set_name(node_id(cam), "front-door"), 0, "user renames the camera");
	CHECK_INT(names_remember(cam, "front-door"), 0, "remembered by its MAC");
	names_destroy();
	nodes_destroy();

	/* A restart: names.json and the lease file give the same names again; the user's wins. */
	nodes_init(&(struct nodes_ops){0}, 0, 0);
	CHECK_INT(names_init(dir, leases), 0, "names_init again after a restart");
	names_poll_leases();
	cam = device("192.0.2.11", mac_cam, 200);
	tv = device("192.0.2.12", mac_tv, 200);
	srv = remote("203.0.113.10", 200);
	names_apply(cam);
	names_apply(tv);
	names_apply(srv);
	CHECK_STR(name_of(cam), "front-door",
		  "after a restart: the user's name beats the DHCP one");
	CHECK_STR(name_of(tv), "living-room-tv", "after a restart: a device's user name by MAC");
	CHECK_STR(name_of(srv), "nas-backup", "after a restart: a remote node's name by address");
	names_destroy();
}

static void test_lookup_generation(void)
{
	struct node *n;
	struct spin_addr a;

	nodes_destroy();
	nodes_init(&(struct nodes_ops){0}, 0, 0);
	write_leases("9999999999 02:00:00:00:00:12 192.0.2.12 tv-from-dhcp *\n");
	CHECK_INT(names_init("", leases), 0, "names_init in memory only");
	names_poll_leases();

	/* A node first seen by its traffic: no MAC yet, so no DHCP name can match. */
	n = remote("192.0.2.12", 300);
	names_apply(n);
	CHECK_STR(name_of(n), "(none)", "no name for an address alone");
	CHECK(node_names_gen(n) != 0, "the miss is remembered for this table generation");
	/* It turns out to be the TV: the MAC resets the memo, the next apply finds the name. */
	n = device("192.0.2.12", mac_tv, 301);
	CHECK_INT(node_names_gen(n), 0, "a new MAC: looked up again");
	names_apply(n);
	CHECK_STR(name_of(n), "tv-from-dhcp", "then named from the lease");

	/* An unnamed remote node: looked up once, then skipped until something changes. */
	n = remote("198.51.100.7", 302);
	names_apply(n);
	CHECK(node_names_gen(n) != 0, "remote node: miss remembered");
	a = ip("198.51.100.8");
	n = nodes_add_ip(node_id(n), &a, 303);
	CHECK(n && node_names_gen(n) == 0, "a new address: looked up again");
	names_apply(n);
	CHECK(node_names_gen(n) != 0, "remembered again after the lookup");
	/* The tables change: every memo is stale. A user name for its address (names_remember
	 * changes the table only) must reach it at the next apply. */
	CHECK_INT(names_remember(n, "cdn-edge"), 0, "a name is remembered for its addresses");
	CHECK_STR(name_of(n), "(none)", "not applied yet");
	names_apply(n);
	CHECK_STR(name_of(n), "cdn-edge", "the changed table is looked up despite the memo");
	/* A lease file that changes is read again, and its names reach devices. */
	write_leases("9999999999 02:00:00:00:00:12 192.0.2.12 tv-from-dhcp *\n"
		     "9999999999 02:00:00:00:00:11 192.0.2.11 cam-from-dhcp *\n");
	CHECK_INT(names_poll_leases(), 2, "the changed lease file is read again");
	n = device("192.0.2.11", mac_cam, 304);
	names_apply(n);
	CHECK_STR(name_of(n), "cam-from-dhcp", "a device the new lease names gets it");
	names_destroy();
}

/* A device named by its lease follows the lease; a user's name or a lease's end does not. */
static void test_lease_changes(void)
{
	struct node *cam, *tv;

	nodes_destroy();
	nodes_init(&(struct nodes_ops){0}, 0, 0);
	write_leases("9999999999 02:00:00:00:00:11 192.0.2.11 cam-old *\n"
		     "9999999999 02:00:00:00:00:12 192.0.2.12 tv-old *\n");
	CHECK_INT(names_init("", leases), 0, "names_init in memory only");
	names_poll_leases();
	cam = device("192.0.2.11", mac_cam, 400);
	tv = device("192.0.2.12", mac_tv, 400);
	names_apply(cam);
	names_apply(tv);
	CHECK_STR(name_of(tv), "tv-old", "the TV is named by its lease");
	CHECK_INT(nodes_set_name(node_id(cam), "front-door"), 0, "user names the camera");
	CHECK_INT(names_remember(cam, "front-door"), 0, "remembered by its MAC");

	write_leases("9999999999 02:00:00:00:00:11 192.0.2.11 cam-renamed *\n"
		     "9999999999 02:00:00:00:00:12 192.0.2.12 tv-renamed-by-owner *\n");
	CHECK_INT(names_poll_leases(), 2, "the changed lease file is read again");
	names_apply(cam);
	names_apply(tv);
	CHECK_STR(name_of(tv), "tv-renamed-by-owner", "a new host name in the lease renames");
	CHECK_STR(name_of(cam), "front-door", "a user's name is never replaced by a lease");

	write_leases("9999999999 02:00:00:00:00:11 192.0.2.11 cam-renamed *\n");
	CHECK_INT(names_poll_leases(), 1, "the TV's lease ended");
	names_apply(tv);
	CHECK_STR(name_of(tv), "tv-renamed-by-owner", "an ended lease takes no name away");
	write_leases("9999999999 02:00:00:00:00:12 192.0.2.12 tv-again *\n");
	names_poll_leases();
	names_apply(tv);
	CHECK_STR(name_of(tv), "tv-renamed-by-owner",
		  "a lease after a gap names only unnamed devices: the name it gave is kept");
	names_destroy();
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/spin-test-names.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(leases, sizeof(leases), "%s/dnsmasq.leases", dir);
	nodes_init(&(struct nodes_ops){0}, 0, 0);
	test_leases_and_user_names();
	test_lookup_generation();
	test_lease_changes();
	nodes_destroy();
	check_rm_tree(dir);
	return check_exit();
}
