// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "loop.h"
#include "neigh.h"

static struct {
	struct mnl_socket *nl;
	struct loop_watch *watch;
	struct neigh_ops ops;
	struct neigh_stats st;
	unsigned int seq;
	/*
	 * One dump at a time per socket (the kernel answers a second with EBUSY): the neighbour
	 * tables' (AF_UNSPEC: ARP and NDP), then the bridges' forwarding databases (AF_BRIDGE,
	 * which the first does not include). A refresh asked for meanwhile runs after them.
	 */
	enum { DUMP_NONE, DUMP_NEIGH, DUMP_FDB } dumping;
	bool dump_again;
} nb;

struct neigh_attrs {
	const struct nlattr *dst;
	const struct nlattr *lladdr;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct neigh_attrs *a = data;

	if (mnl_attr_get_type(attr) == NDA_DST)
		a->dst = attr;
	else if (mnl_attr_get_type(attr) == NDA_LLADDR)
		a->lladdr = attr;
	return MNL_CB_OK;
}

static bool mac_usable(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) && !(mac[0] & 1);
}

/*
 * A bridge FDB entry. Only what the bridge learned from frames (NUD_REACHABLE, or NUD_STALE
 * once aged) or was told statically (NUD_NOARP): NUD_PERMANENT ones are the bridge's and its
 * ports' own addresses, NTF_SELF ones a port device's own address lists.
 */
static void fdb_msg(const struct ndmsg *nd, const struct neigh_attrs *a)
{
	const uint8_t *mac;

	if (!nb.ops.fdb_learned || (nd->ndm_flags & NTF_SELF) ||
	    !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_NOARP)) || !a->lladdr ||
	    mnl_attr_get_payload_len(a->lladdr) != 6)
		return;
	mac = mnl_attr_get_payload(a->lladdr);
	if (!mac_usable(mac)) {
		nb.st.ignored++;
		return;
	}
	nb.st.fdb++;
	nb.ops.fdb_learned(mac, nd->ndm_ifindex, nb.ops.ctx);
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	struct neigh_attrs a = {};
	struct spin_addr ip = {};
	const uint8_t *mac;

	nb.st.events++;
	if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
		return MNL_CB_OK;
	if (nd->ndm_family == AF_BRIDGE) {
		mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &a);
		fdb_msg(nd, &a);
		return MNL_CB_OK;
	}
	if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &a);
	if (!a.dst || !a.lladdr || mnl_attr_get_payload_len(a.lladdr) != 6)
		return MNL_CB_OK;
	if (nd->ndm_family == AF_INET && mnl_attr_get_payload_len(a.dst) == 4) {
		ip.a[10] = 0xff;
		ip.a[11] = 0xff;
		memcpy(&ip.a[12], mnl_attr_get_payload(a.dst), 4);
	} else if (nd->ndm_family == AF_INET6 && mnl_attr_get_payload_len(a.dst) == 16) {
		memcpy(ip.a, mnl_attr_get_payload(a.dst), 16);
	} else {
		return MNL_CB_OK;
	}
	mac = mnl_attr_get_payload(a.lladdr);
	if (!mac_usable(mac) || !nb.ops.wanted(&ip, nd->ndm_ifindex, nb.ops.ctx)) {
		nb.st.ignored++;
		return MNL_CB_OK;
	}
	nb.st.learned++;
	nb.ops.learned(&ip, mac, nb.ops.ctx);
	return MNL_CB_OK;
}

static int send_dump(uint8_t family)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++nb.seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = family;
	return mnl_socket_sendto(nb.nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

/* Reads both tables again (after the one in flight, if any). */
static int request_dump(void)
{
	int err;

	if (nb.dumping != DUMP_NONE) {
		nb.dump_again = true;
		return 0;
	}
	err = send_dump(AF_UNSPEC);
	nb.dumping = err ? DUMP_NONE : DUMP_NEIGH;
	return err;
}

/* A dump ended (NLMSG_DONE, or its error): start the next one. */
static void dump_done(void)
{
	int err = 0;

	if (nb.dumping == DUMP_NEIGH) {
		err = send_dump(AF_BRIDGE);
		nb.dumping = err ? DUMP_NONE : DUMP_FDB;
	} else {
		nb.dumping = DUMP_NONE;
		if (nb.dump_again) {
			nb.dump_again = false;
			err = request_dump();
		}
	}
	if (err)
		pr_warn("neighbour table: dump request failed: %s", strerror(-err));
}

void neigh_refresh(void)
{
	int err = nb.nl ? request_dump() : 0;

	if (err)
		pr_warn("neighbour table: dump request failed: %s", strerror(-err));
}

static void on_readable(int fd, uint32_t events, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Events were lost: the table itself is the truth, read it again. */
				nb.st.overruns++;
				request_dump();
				continue;
			}
			return;
		}
		if (n == 0)
			return;
		/* seq 0 and portid 0: accept both the dump's answers and the events. */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, msg_cb, NULL) <= MNL_CB_STOP &&
		    nb.dumping != DUMP_NONE)
			dump_done(); /* NLMSG_DONE (or an error answer) ends a dump */
	}
}

int neigh_init(const struct neigh_ops *ops)
{
	int err;

	nb.ops = *ops;
	nb.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nb.nl)
		return -errno;
	if (mnl_socket_bind(nb.nl, RTMGRP_NEIGH, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	nb.seq = (unsigned int)time(NULL);
	err = request_dump();
	if (err)
		goto fail;
	nb.watch = loop_watch_fd(mnl_socket_get_fd(nb.nl), EPOLLIN, on_readable, NULL);
	if (!nb.watch) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	pr_err("neighbour table: %s", strerror(-err));
	neigh_destroy();
	return err;
}

void neigh_destroy(void)
{
	loop_unwatch(nb.watch);
	nb.watch = NULL;
	if (nb.nl)
		mnl_socket_close(nb.nl);
	nb.nl = NULL;
	nb.dumping = DUMP_NONE;
	nb.dump_again = false;
}

void neigh_get_stats(struct neigh_stats *st)
{
	*st = nb.st;
}
