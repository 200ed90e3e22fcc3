// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>

#include "log.h"
#include "loop.h"
#include "netif.h"

#define NETIF_MAX_LINKS 1024

struct link_info {
	int ifindex;
	int master;
	bool is_bridge;
	char name[IFNAMSIZ];
};

struct link_table {
	struct link_info links[NETIF_MAX_LINKS];
	int n;
};

static int linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
	    mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0 &&
	    strcmp(mnl_attr_get_str(attr), "bridge") == 0)
		li->is_bridge = true;
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
			snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(attr));
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			li->master = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(attr, linkinfo_attr_cb, li);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_table *t = data;
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct link_info *li;

	if (t->n >= NETIF_MAX_LINKS)
		return MNL_CB_OK;
	li = &t->links[t->n];
	memset(li, 0, sizeof(*li));
	li->ifindex = ifm->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, li);
	t->n++;
	return MNL_CB_OK;
}

static int link_dump(struct link_table *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	unsigned int seq = (unsigned int)time(NULL), portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_PACKET;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	t->n = 0;
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0) {
			ret = ret < 0 ? -errno : -EIO;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, link_msg_cb, t);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static const struct link_info *link_by_name(const struct link_table *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->links[i].name, name) == 0)
			return &t->links[i];
	return NULL;
}

static int set_add(struct netif_set *out, const struct link_info *li, bool port)
{
	for (int i = 0; i < out->n; i++)
		if (out->ifs[i].ifindex == li->ifindex)
			return 0;
	if (out->n >= SPIN_MAX_IFACES)
		return -E2BIG;
	out->ifs[out->n].ifindex = li->ifindex;
	out->ifs[out->n].is_bridge_port = port;
	out->ifs[out->n].master_ifindex = li->master;
	snprintf(out->ifs[out->n].name, IFNAMSIZ, "%s", li->name);
	out->n++;
	return 0;
}

static int add_bridge_ports(const struct link_table *t, const struct link_info *br,
			    struct netif_set *out, char *err, size_t errlen)
{
	int added = 0, ret;

	for (int i = 0; i < t->n; i++) {
		if (t->links[i].master != br->ifindex)
			continue;
		ret = set_add(out, &t->links[i], true);
		if (ret)
			return ret;
		added++;
	}
	if (!added) {
		snprintf(err, errlen, "bridge %s has no ports to attach to", br->name);
		return -ENODEV;
	}
	return 0;
}

int netif_resolve(const char *names, struct netif_set *out, char *err, size_t errlen)
{
	struct link_table *t;
	char *copy, *tok, *save = NULL;
	int ret;

	out->n = 0;
	t = calloc(1, sizeof(*t));
	copy = strdup(names ? names : "");
	if (!t || !copy) {
		ret = -ENOMEM;
		goto out;
	}
	ret = link_dump(t);
	if (ret) {
		snprintf(err, errlen, "cannot list interfaces: %s", strerror(-ret));
		goto out;
	}
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		const struct link_info *li = link_by_name(t, tok);

		if (!li) {
			snprintf(err, errlen, "no interface named '%s'", tok);
			ret = -ENODEV;
			goto out;
		}
		ret = li->is_bridge ? add_bridge_ports(t, li, out, err, errlen)
				    : set_add(out, li, false);
		if (ret == -E2BIG)
			snprintf(err, errlen, "more than %d interfaces", SPIN_MAX_IFACES);
		if (ret)
			goto out;
	}
	if (!out->n) {
		snprintf(err, errlen, "no interface given");
		ret = -ENODEV;
	}
out:
	free(copy);
	free(t);
	return ret;
}

bool netif_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname((unsigned int)ifindex, name) != NULL;
}

static struct {
	struct mnl_socket *nl;
	struct loop_watch *watch;
	netif_change_cb cb;
	void *ctx;
} mon;

static int monitor_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct link_info li = {};

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, &li);
	mon.cb(ifm->ifi_index, li.name, nlh->nlmsg_type == RTM_DELLINK, mon.ctx);
	return MNL_CB_OK;
}

static void monitor_readable(int fd, uint32_t events, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			/* Lost events: report "something changed" so the caller re-reads. */
			mon.cb(0, "", false, mon.ctx);
			continue;
		}
		if (n <= 0)
			return;
		mnl_cb_run(buf, (size_t)n, 0, 0, monitor_msg_cb, NULL);
	}
}

int netif_monitor_start(netif_change_cb cb, void *ctx)
{
	int err;

	mon.cb = cb;
	mon.ctx = ctx;
	mon.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!mon.nl)
		return -errno;
	if (mnl_socket_bind(mon.nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		netif_monitor_stop();
		return err;
	}
	mon.watch = loop_watch_fd(mnl_socket_get_fd(mon.nl), EPOLLIN, monitor_readable, NULL);
	if (!mon.watch) {
		err = -errno;
		netif_monitor_stop();
		return err;
	}
	return 0;
}

void netif_monitor_stop(void)
{
	loop_unwatch(mon.watch);
	mon.watch = NULL;
	if (mon.nl)
		mnl_socket_close(mon.nl);
	mon.nl = NULL;
}
