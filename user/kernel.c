// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "log.h"
#include "loop.h"
#include "spin.skel.h"

/* Our TC filter's identity on every interface: 'SP' and a priority of its own, so restarts
 * replace exactly our filter and detaching never touches anyone else's. */
#define SPIN_TC_HANDLE 0x5350
#define SPIN_TC_PRIO   0x5350

static struct {
	struct spin_bpf *skel;
	char pin_dir[256];
	int lock_fd;
	struct kernel_iface_state ifs[SPIN_MAX_IFACES];
	int n_ifs;
	enum spin_xdp_mode xdp_mode;
	enum spin_tc_mode tc_mode;
	bool reused;
	int ncpus;
	int fc_cpus; /* CPUs whose flow cache timer is armed */
} k = {.lock_fd = -1};

static const char *const map_names[] = {
	SPIN_MAP_FLOWS,	  SPIN_MAP_FLOWS4, SPIN_MAP_CFG,    SPIN_MAP_ADDRPOL, SPIN_MAP_PFXPOL,
	SPIN_MAP_PAIRPOL, SPIN_MAP_STATS,  SPIN_MAP_EVENTS, SPIN_MAP_FRAGS,   SPIN_MAP_CAPMAC,
	SPIN_MAP_FC4,	  SPIN_MAP_FC6,	   SPIN_MAP_MACPOL,
};

/* The BPF filesystem's standard mount point: the only place spind mounts one itself. */
#define BPFFS_MOUNT "/sys/fs/bpf"

/* Is this process in a mount namespace of its own (ip netns exec makes one)? */
static bool private_mount_ns(void)
{
	struct stat self, init;

	return stat("/proc/self/ns/mnt", &self) == 0 && stat("/proc/1/ns/mnt", &init) == 0 &&
	       (self.st_ino != init.st_ino || self.st_dev != init.st_dev);
}

static int ensure_bpffs(const char *pin_dir)
{
	struct statfs st;
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) == 0 && (unsigned long)st.f_type == (unsigned long)BPF_FS_MAGIC)
		goto mk;
	/* Never over any other directory: a pin_dir of /etc/x would hide /etc. */
	if (strcmp(parent, BPFFS_MOUNT) != 0) {
		pr_err("pin_dir %s: %s is not a BPF filesystem (use a directory under " BPFFS_MOUNT
		       ", or mount one there first: mount -t bpf bpf %s)",
		       pin_dir, parent, parent);
		return -ENOTDIR;
	}
	/* Not a bpffs (e.g. a fresh mount namespace): mount one so pins can exist at all. */
	if (mount("bpf", parent, "bpf", 0, "mode=0700") < 0) {
		pr_err("%s is not a BPF filesystem and mounting one failed: %s", parent,
		       strerror(errno));
		return -errno;
	}
	if (private_mount_ns())
		pr_warn("mounted a BPF filesystem on %s in a private mount namespace (ip netns "
			"exec "
			"makes one): the pins, and the blocks they keep in force, end with spind; "
			"run it with nsenter --net=/run/netns/NAME instead",
			parent);
	else
		pr_info("mounted a BPF filesystem on %s", parent);
mk:
	if (mkdir(pin_dir, 0700) < 0 && errno != EEXIST) {
		pr_err("cannot create pin directory %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* One spind per pin directory (xdp-tools style lock), held for the daemon's lifetime. */
static int lock_pin_dir(const char *pin_dir)
{
	k.lock_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k.lock_fd < 0)
		return -errno;
	if (flock(k.lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int err = -errno;

		pr_err("%s is locked: is another spind running?", pin_dir);
		close(k.lock_fd);
		k.lock_fd = -1;
		return err;
	}
	return 0;
}

#define TCX_PIN_PREFIX "tcx_"
#define XDP_PIN_PREFIX "xdp_"
#define CLS_PIN_PREFIX "cls_"

static bool iface_pin(const char *name)
{
	return strncmp(name, TCX_PIN_PREFIX, strlen(TCX_PIN_PREFIX)) == 0 ||
	       strncmp(name, XDP_PIN_PREFIX, strlen(XDP_PIN_PREFIX)) == 0 ||
	       strncmp(name, CLS_PIN_PREFIX, strlen(CLS_PIN_PREFIX)) == 0;
}

/* The interface a link or program pin names by its trailing _<ifindex>, or 0. */
static int iface_pin_ifindex(const char *name)
{
	const char *us = iface_pin(name) ? strrchr(name, '_') : NULL;
	char *end;
	long ifindex;

	if (!us)
		return 0;
	errno = 0;
	ifindex = strtol(us + 1, &end, 10);
	if (errno || end == us + 1 || *end || ifindex <= 0 || ifindex > INT_MAX)
		return 0;
	return (int)ifindex;
}

/* Does the pin name an interface that no longer exists? */
static bool iface_pin_gone(const char *name)
{
	int ifindex = iface_pin_ifindex(name);

	return ifindex && !netif_exists(ifindex);
}

/*
 * Unpinning a TCX link detaches it (spind keeps no link fd open). An XDP or cls_bpf program
 * pin only names the program attached there (prog_pin_path); the attachment holds its own
 * reference. gone_only: just the pins of interfaces deleted while spind was not running, each
 * of which would otherwise keep a program, and the maps it uses, in the kernel for nothing.
 */
static void unpin_links(const char *pin_dir, bool gone_only)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(pin_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!iface_pin(de->d_name) || (gone_only && !iface_pin_gone(de->d_name)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT)
			pr_warn("cannot unpin %s: %s", path, strerror(errno));
		else if (gone_only)
			pr_info("unpinned %s: its interface is gone", path);
	}
	closedir(d);
}

/*
 * The maps only: TCX links stay pinned, so the programs attached now keep running (on the maps
 * they hold) until the new ones replace them with a link update; unpinning a link detaches it.
 */
static void unpin_maps(const char *pin_dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_names[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			pr_warn("cannot unpin %s: %s", path, strerror(errno));
	}
}

static void unpin_all(const char *pin_dir)
{
	unpin_maps(pin_dir);
	unpin_links(pin_dir, false);
}

/* Returns 1 if compatible pins exist, 0 if none (or incompatible ones were removed). */
static int check_pinned_layout(const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	struct spin_cfg cfg = {};
	char path[PATH_MAX];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, SPIN_MAP_CFG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(cfg) &&
	     bpf_map_lookup_elem(fd, &key, &cfg) == 0 && cfg.layout_version == SPIN_LAYOUT_VERSION;
	close(fd);
	if (ok)
		return 1;
	pr_warn("pinned maps in %s have layout %u, this spind uses %u: recreating them (policy is "
		"reloaded from the state directory)",
		pin_dir, cfg.layout_version, SPIN_LAYOUT_VERSION);
	unpin_maps(pin_dir);
	return 0;
}

static int open_and_load(const struct kernel_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = k.pin_dir);
	int err;

	k.skel = spin_bpf__open_opts(&oo);
	if (!k.skel)
		return -errno;
	k.skel->rodata->spin_dns_enabled = o->dns_events;
	if (o->max_flows) { /* per family: IPv6 in spin_flows, IPv4 in spin_flows4 */
		bpf_map__set_max_entries(k.skel->maps.spin_flows, o->max_flows);
		bpf_map__set_max_entries(k.skel->maps.spin_flows4, o->max_flows);
	}
	bpf_map__set_max_entries(k.skel->maps.spin_fc4, spin_fc_entries(k.ncpus));
	bpf_map__set_max_entries(k.skel->maps.spin_fc6, spin_fc_entries(k.ncpus));
	err = spin_bpf__load(k.skel);
	if (err) {
		spin_bpf__destroy(k.skel);
		k.skel = NULL;
	}
	return err;
}

/*
 * The programs' list of attached interfaces, in their .bss (mapped into spind): read by every
 * egress packet, so the count is stored last; a packet that races a change is at worst counted
 * at both hooks or at neither, once.
 */
static void write_iface_list(void)
{
	volatile __u32 *idx = k.skel->bss->spin_ifindexes;

	for (int i = 0; i < k.n_ifs; i++)
		idx[i] = (__u32)k.ifs[i].nif.ifindex;
	__atomic_store_n(&k.skel->bss->spin_n_ifaces, (__u32)k.n_ifs, __ATOMIC_RELEASE);
}

static int init_cfg(void)
{
	struct spin_cfg cfg = {
		.layout_version = SPIN_LAYOUT_VERSION,
		.policy_gen = 1,
	};

	return kernel_cfg_write(&cfg);
}

/*
 * Arms the flow cache's flush timer on every CPU we may run on: spin_fc_arm is run once on
 * each (bpf_prog_test_run runs a program on the calling CPU). A CPU left out (outside our
 * affinity, or a kernel before 6.7 that cannot pin the timer) keeps its cache off: its packets
 * all take the flow maps, which is slower but exact.
 */
static void arm_flow_cache(void)
{
	int fd = bpf_program__fd(k.skel->progs.spin_fc_arm), armed = 0, failed = 0;
	cpu_set_t old, one;
	__u8 frame[14] = {0}; /* an Ethernet header: the least test_run takes */

	if (sched_getaffinity(0, sizeof(old), &old)) {
		pr_warn("flow cache off: sched_getaffinity: %s", strerror(errno));
		return;
	}
	for (int cpu = 0; cpu < k.ncpus && cpu < SPIN_FC_MAX_CPUS; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
			    .repeat = 1);

		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue; /* offline */
		if (bpf_prog_test_run_opts(fd, &run) || run.retval)
			failed++;
		else
			armed++;
	}
	if (sched_setaffinity(0, sizeof(old), &old))
		pr_warn("restoring the CPU affinity: %s", strerror(errno));
	k.fc_cpus = armed;
	if (armed)
		pr_info("flow cache on for %d CPU(s)%s", armed,
			failed ? ", off for the others (see docs/datapath.md)" : "");
	else
		pr_warn("flow cache off: this kernel cannot pin BPF timers to a CPU (Linux 6.7+); "
			"every packet uses the flow maps");
}

int kernel_open(const struct kernel_opts *o)
{
	int err;

	snprintf(k.pin_dir, sizeof(k.pin_dir), "%s", o->pin_dir ? o->pin_dir : SPIN_PIN_DIR);
	k.xdp_mode = o->xdp_mode;
	k.tc_mode = o->tc_mode;
	k.ncpus = libbpf_num_possible_cpus();
	if (k.ncpus <= 0)
		return k.ncpus ? k.ncpus : -EINVAL;
	err = ensure_bpffs(k.pin_dir);
	if (err)
		return err;
	err = lock_pin_dir(k.pin_dir);
	if (err)
		return err;
	k.reused = check_pinned_layout(k.pin_dir) == 1;
	unpin_links(k.pin_dir, true);
	err = open_and_load(o);
	if (err && k.reused) {
		/* Same layout version but other parameters (e.g. max_flows changed): start over. */
		pr_warn("cannot reuse the pinned maps (%s): recreating them", strerror(-err));
		unpin_maps(k.pin_dir);
		k.reused = false;
		err = open_and_load(o);
	}
	if (err) {
		pr_err("loading the BPF programs failed: %s", strerror(-err));
		return err;
	}
	k.n_ifs = o->ifaces->n;
	for (int i = 0; i < k.n_ifs; i++)
		k.ifs[i].nif = o->ifaces->ifs[i];
	write_iface_list();
	if (!k.reused)
		err = init_cfg();
	pr_info("BPF programs loaded, maps %s in %s", k.reused ? "reused" : "created", k.pin_dir);
	if (!err)
		arm_flow_cache();
	return err;
}

/*
 * Each XDP and cls_bpf program spind attaches is pinned as xdp_<ifindex>, cls_ingress_<ifindex>
 * or cls_egress_<ifindex>: the packaged unit runs without CAP_SYS_ADMIN, which
 * BPF_PROG_GET_FD_BY_ID needs, so the pin is how spind knows the program attached there is its
 * own (same id), on a restart and for 'spind -x' on an interface no longer listed.
 */
#define XDP_HOOK "xdp"

static const char *cls_hook(enum bpf_tc_attach_point where)
{
	return where == BPF_TC_INGRESS ? CLS_PIN_PREFIX "ingress" : CLS_PIN_PREFIX "egress";
}

static void prog_pin_path(char *buf, size_t len, const char *pin_dir, const char *hook, int ifindex)
{
	snprintf(buf, len, "%s/%s_%d", pin_dir, hook, ifindex);
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static bool prog_pinned_is(const char *pin_dir, const char *hook, int ifindex, __u32 prog_id)
{
	char path[PATH_MAX];
	bool same;
	int fd;

	prog_pin_path(path, sizeof(path), pin_dir, hook, ifindex);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	same = prog_id_of(fd) == prog_id;
	close(fd);
	return same;
}

static void prog_unpin(const char *pin_dir, const char *hook, int ifindex)
{
	char path[PATH_MAX];

	prog_pin_path(path, sizeof(path), pin_dir, hook, ifindex);
	if (unlink(path) < 0 && errno != ENOENT)
		pr_warn("cannot unpin %s: %s", path, strerror(errno));
}

static void prog_pin(const char *hook, int ifindex, int prog_fd)
{
	char path[PATH_MAX];

	prog_unpin(k.pin_dir, hook, ifindex);
	prog_pin_path(path, sizeof(path), k.pin_dir, hook, ifindex);
	if (bpf_obj_pin(prog_fd, path))
		pr_warn("cannot pin %s: %s (without CAP_SYS_ADMIN spind will not recognise this "
			"program as its own)",
			path, strerror(errno));
}

static int tc_attach_one(int ifindex, int prog_fd, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SPIN_TC_HANDLE, .priority = SPIN_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

static int print_nothing(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* A query of a device without clsact fails, and libbpf would log the kernel's complaint. */
static int tc_query_quiet(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	libbpf_print_fn_t prev = libbpf_set_print(print_nothing);
	int err = bpf_tc_query(hook, opts);

	libbpf_set_print(prev);
	return err;
}

/* The clsact qdisc holds both hooks; it exists already after a restart (or for others). */
static int tc_ensure_clsact(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = SPIN_TC_HANDLE, .priority = SPIN_TC_PRIO);
	int err;

	/* A query answers -EINVAL when there is no clsact yet. */
	err = tc_query_quiet(&hook, &q);
	if (err != -EINVAL)
		return 0;
	err = bpf_tc_hook_create(&hook);
	return err == -EEXIST ? 0 : err;
}

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SPIN_TC_HANDLE, .priority = SPIN_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

/* Our cls_bpf filter, if there is one (an older spind's, or with TCX in use, none). */
static int tc_detach_if_there(const char *pin_dir, int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = SPIN_TC_HANDLE, .priority = SPIN_TC_PRIO);
	int err = 0;

	if (!tc_query_quiet(&hook, &q)) /* else no clsact, or no filter of ours on it */
		err = tc_detach_one(ifindex, where);
	if (!err)
		prog_unpin(pin_dir, cls_hook(where), ifindex);
	return err;
}

/*
 * TCX (kernel 6.6+): the programs hang off the device through BPF links, with no clsact
 * qdisc and cls_bpf classifier in between: about 3 points of small-packet forwarding here
 * (docs/benchmarks.md). Debian 12's UAPI headers predate it, hence the numbers. The links are
 * pinned, so enforcement outlives spind as with clsact; a restart swaps the program in the
 * pinned link atomically.
 */
#define SPIN_BPF_TCX_INGRESS 46 /* enum bpf_attach_type */
#define SPIN_BPF_TCX_EGRESS  47

static void tcx_pin_path(char *buf, size_t len, const char *pin_dir, int ifindex, bool ingress)
{
	snprintf(buf, len, "%s/" TCX_PIN_PREFIX "%s_%d", pin_dir, ingress ? "ingress" : "egress",
		 ifindex);
}

static int tcx_attach_one(int ifindex, int prog_fd, bool ingress)
{
	char path[PATH_MAX];
	int fd, err;

	tcx_pin_path(path, sizeof(path), k.pin_dir, ifindex, ingress);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		err = bpf_link_update(fd, prog_fd, NULL);
		close(fd);
		if (!err)
			return 0;
		unlink(path); /* its interface went away: a new link below */
	}
	fd = bpf_link_create(prog_fd, ifindex, ingress ? SPIN_BPF_TCX_INGRESS : SPIN_BPF_TCX_EGRESS,
			     NULL);
	if (fd < 0)
		return -errno;
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd); /* without the pin this detaches again */
	return err;
}

static int tcx_detach_one(const char *pin_dir, int ifindex, bool ingress)
{
	char path[PATH_MAX];

	tcx_pin_path(path, sizeof(path), pin_dir, ifindex, ingress);
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* 0, or -EOPNOTSUPP when this kernel has no TCX (so clsact is the way). */
static int tcx_attach(struct kernel_iface_state *st, int in_fd, int out_fd)
{
	int ifindex = st->nif.ifindex;
	int err = tcx_attach_one(ifindex, in_fd, true);

	if (!err)
		err = tcx_attach_one(ifindex, out_fd, false);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		tcx_detach_one(k.pin_dir, ifindex, true);
		return -EOPNOTSUPP;
	}
	if (err)
		return err;
	tc_detach_if_there(k.pin_dir, ifindex, BPF_TC_INGRESS);
	tc_detach_if_there(k.pin_dir, ifindex, BPF_TC_EGRESS);
	st->tcx = true;
	return 0;
}

static int clsact_attach(struct kernel_iface_state *st, int in_fd, int out_fd)
{
	int ifindex = st->nif.ifindex;
	int err = tc_ensure_clsact(ifindex);

	if (!err)
		err = tc_attach_one(ifindex, in_fd, BPF_TC_INGRESS);
	if (!err)
		err = tc_attach_one(ifindex, out_fd, BPF_TC_EGRESS);
	if (!err) { /* a TCX link of ours would count every packet twice */
		prog_pin(cls_hook(BPF_TC_INGRESS), ifindex, in_fd);
		prog_pin(cls_hook(BPF_TC_EGRESS), ifindex, out_fd);
		tcx_detach_one(k.pin_dir, ifindex, true);
		tcx_detach_one(k.pin_dir, ifindex, false);
		st->tcx = false;
	}
	return err;
}

static int tc_attach(struct kernel_iface_state *st, int in_fd, int out_fd)
{
	int err;

	if (k.tc_mode == SPIN_TC_CLSACT)
		return clsact_attach(st, in_fd, out_fd);
	err = tcx_attach(st, in_fd, out_fd);
	if (err == -EOPNOTSUPP && k.tc_mode == SPIN_TC_AUTO)
		return clsact_attach(st, in_fd, out_fd);
	return err;
}

/* Ours: the program pinned for this interface, or (with CAP_SYS_ADMIN) one by our name. */
static bool prog_is_ours(const char *pin_dir, int ifindex, __u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	if (prog_pinned_is(pin_dir, XDP_HOOK, ifindex, prog_id))
		return true;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       strcmp(info.name, SPIN_PROG_XDP) == 0;
	close(fd);
	return ours;
}

/* Removes our XDP program (any mode); leaves a foreign one alone. */
static int xdp_detach_ours(const char *pin_dir, int ifindex, const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 flags;
	int err;

	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id) {
		prog_unpin(pin_dir, XDP_HOOK, ifindex);
		return 0;
	}
	if (!prog_is_ours(pin_dir, ifindex, q.prog_id)) {
		pr_warn("%s: a foreign XDP program (id %u) is attached; leaving it", ifname,
			q.prog_id);
		return -EBUSY;
	}
	flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_detach(ifindex, flags, NULL);
	if (!err)
		prog_unpin(pin_dir, XDP_HOOK, ifindex);
	return err;
}

/* The interface's driver name (ethtool), or "" when it cannot be told. */
static void driver_name(const char *ifname, char *out, size_t len)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(out, len, "%s", info.driver);
	close(fd);
}

/*
 * In auto mode XDP is used only where it is cheap: a driver's native XDP. Not on veth, whose
 * native XDP turns off GSO/TSO on the peer (bulk TCP through the lab fell to ~0.3 of its
 * rate), and never generic XDP, which linearises every GRO super-packet: there, dropping at TC
 * ingress costs less. xdp_mode native/generic force it.
 */
static bool xdp_worth_it(const char *ifname)
{
	char drv[32];

	driver_name(ifname, drv, sizeof(drv));
	if (strcmp(drv, "veth") == 0) {
		pr_info("%s: veth: no XDP in auto mode (it would disable the peer's GSO); blocked "
			"packets are dropped at TC ingress (xdp_mode=native forces XDP)",
			ifname);
		return false;
	}
	return true;
}

static int xdp_attach_one(struct kernel_iface_state *st, int prog_fd)
{
	const char *name = st->nif.name;
	int ifindex = st->nif.ifindex, err;

	err = xdp_detach_ours(k.pin_dir, ifindex, name);
	if (err)
		return err;
	if (k.xdp_mode == SPIN_XDP_AUTO && !xdp_worth_it(name))
		return 0;
	if (k.xdp_mode == SPIN_XDP_AUTO || k.xdp_mode == SPIN_XDP_NATIVE) {
		err = bpf_xdp_attach(ifindex, prog_fd,
				     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (!err) {
			st->xdp_attached = SPIN_XDP_NATIVE;
			prog_pin(XDP_HOOK, ifindex, prog_fd);
			return 0;
		}
		if (k.xdp_mode == SPIN_XDP_NATIVE)
			return err;
		pr_info("%s: the driver has no native XDP (%s): blocked packets are dropped at TC "
			"ingress (generic XDP would cost more; xdp_mode=generic forces it)",
			name, strerror(-err));
		return 0;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_SKB_MODE, NULL);
	if (!err) {
		st->xdp_attached = SPIN_XDP_GENERIC;
		prog_pin(XDP_HOOK, ifindex, prog_fd);
	}
	return err;
}

static int attach_iface(struct kernel_iface_state *st)
{
	int in_fd = bpf_program__fd(k.skel->progs.spin_tc_ingress);
	int out_fd = bpf_program__fd(k.skel->progs.spin_tc_egress);
	int err;

	err = tc_attach(st, in_fd, out_fd);
	if (err) {
		pr_err("%s: attaching TC programs failed: %s%s", st->nif.name, strerror(-err),
		       err == -EOPNOTSUPP ? " (tc_mode=tcx needs kernel 6.6 or later)" : "");
		return err;
	}
	st->tc_attached = true;
	if (k.xdp_mode == SPIN_XDP_OFF)
		xdp_detach_ours(k.pin_dir, st->nif.ifindex, st->nif.name);
	else if ((err = xdp_attach_one(st, bpf_program__fd(k.skel->progs.spin_xdp))))
		pr_warn("%s: no XDP (%s): blocked packets are dropped at TC ingress", st->nif.name,
			strerror(-err));
	pr_info("%s: attached (TC ingress+egress by %s, XDP %s)", st->nif.name,
		st->tcx ? "TCX" : "clsact",
		st->xdp_attached == SPIN_XDP_NATIVE    ? "native"
		: st->xdp_attached == SPIN_XDP_GENERIC ? "generic"
						       : "off");
	return 0;
}

static const struct kernel_iface_state *find_iface(int ifindex)
{
	for (int i = 0; i < k.n_ifs; i++)
		if (k.ifs[i].nif.ifindex == ifindex)
			return &k.ifs[i];
	return NULL;
}

static bool in_set(const struct netif_set *set, int ifindex)
{
	for (int i = 0; i < set->n; i++)
		if (set->ifs[i].ifindex == ifindex)
			return true;
	return false;
}

/*
 * Interfaces this pin dir's programs still hang on that the configuration no longer names (a
 * port taken out of the bridge, -i changed while spind was stopped): taken off, or they would
 * go on counting and enforcing beside the configured ones, on a policy nobody sees.
 */
static void detach_unlisted(void)
{
	struct netif_set stale = {.n = 0};
	struct dirent *de;
	DIR *d = opendir(k.pin_dir);

	if (!d)
		return;
	while ((de = readdir(d)) && stale.n < SPIN_MAX_IFACES) {
		int ifindex = iface_pin_ifindex(de->d_name);
		struct netif *nif = &stale.ifs[stale.n];

		if (!ifindex || find_iface(ifindex) || in_set(&stale, ifindex) ||
		    !netif_exists(ifindex))
			continue;
		nif->ifindex = ifindex;
		if (!if_indextoname((unsigned int)ifindex, nif->name))
			snprintf(nif->name, sizeof(nif->name), "ifindex %d", ifindex);
		stale.n++;
	}
	closedir(d);
	for (int i = 0; i < stale.n; i++)
		pr_info("%s: SPIN's programs are still attached but it is not configured any more: "
			"detaching",
			stale.ifs[i].name);
	if (stale.n)
		kernel_detach(&stale, NULL, false);
}

int kernel_attach(void)
{
	for (int i = 0; i < k.n_ifs; i++) {
		int err = attach_iface(&k.ifs[i]);

		if (err)
			return err;
	}
	detach_unlisted();
	return 0;
}

int kernel_set_ifaces(const struct netif_set *now)
{
	struct kernel_iface_state next[SPIN_MAX_IFACES] = {0};
	struct netif_set gone = {.n = 0};
	int err = 0, n_new = 0;

	for (int i = 0; i < k.n_ifs; i++) {
		int ifindex = k.ifs[i].nif.ifindex;

		if (in_set(now, ifindex))
			continue;
		if (netif_exists(ifindex)) {
			gone.ifs[gone.n++] = k.ifs[i].nif;
		} else { /* deleted: the kernel took its hooks, its link and program pins are left */
			tcx_detach_one(k.pin_dir, ifindex, true);
			tcx_detach_one(k.pin_dir, ifindex, false);
			prog_unpin(k.pin_dir, XDP_HOOK, ifindex);
			prog_unpin(k.pin_dir, cls_hook(BPF_TC_INGRESS), ifindex);
			prog_unpin(k.pin_dir, cls_hook(BPF_TC_EGRESS), ifindex);
		}
	}
	if (gone.n)
		kernel_detach(&gone, NULL, false);
	for (int i = 0; i < now->n; i++) {
		const struct kernel_iface_state *old = find_iface(now->ifs[i].ifindex);

		if (old)
			next[i] = *old;
		next[i].nif = now->ifs[i]; /* a port's bridge may have changed */
		n_new += !old;
	}
	/* listed before attaching: a new port's packets are never counted at two hooks */
	memcpy(k.ifs, next, sizeof(next));
	k.n_ifs = now->n;
	write_iface_list();
	for (int i = 0; i < k.n_ifs; i++) {
		int e = k.ifs[i].tc_attached ? 0 : attach_iface(&k.ifs[i]);

		err = err ? err : e;
	}
	pr_info("interfaces: %d attached (%d new, %d left), same programs", k.n_ifs, n_new, gone.n);
	return err;
}

/* The id of the spin_cfg map pinned in dir, or 0. */
static __u32 pinned_cfg_id(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, SPIN_MAP_CFG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* Does the program use the map (so it is one this pin directory's spind attached)? */
static bool prog_uses_map(__u32 prog_id, __u32 map_id)
{
	__u32 ids[64], len;
	struct bpf_prog_info info;
	bool uses = false;
	int fd;

	if (!prog_id || !map_id)
		return false;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
			uses |= ids[i] == map_id;
	close(fd);
	return uses;
}

/* Our cls_bpf filter on one hook, when its program is the one pinned there or uses map_id. */
static bool tc_filter_uses(const char *dir, int ifindex, enum bpf_tc_attach_point where,
			   __u32 map_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = SPIN_TC_HANDLE, .priority = SPIN_TC_PRIO);

	return !tc_query_quiet(&hook, &q) &&
	       (prog_pinned_is(dir, cls_hook(where), ifindex, q.prog_id) ||
		prog_uses_map(q.prog_id, map_id));
}

static bool perm_error(int err)
{
	return err == -EPERM || err == -EACCES;
}

/*
 * Every interface of this network namespace whose XDP program or cls_bpf filters are the ones
 * pinned in dir, or (with CAP_SYS_ADMIN, for pins of an older spind) use the maps pinned there,
 * whatever the configuration names: an interface renamed, or a name mistyped on the command
 * line, must not leave programs enforcing maps nobody can reach any more. (TCX links need no
 * search: they are pinned in dir and go with the pins.)
 */
static int detach_by_maps(const char *dir, const struct netif_set *done)
{
	__u32 map_id = pinned_cfg_id(dir);
	struct if_nameindex *all, *i;
	int ret = 0;

	if (!map_id || !(all = if_nameindex()))
		return 0;
	for (i = all; i->if_index; i++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, xq);
		int ifindex = (int)i->if_index, err;
		bool seen = false;

		for (int j = 0; done && j < done->n; j++)
			seen |= done->ifs[j].ifindex == ifindex;
		if (seen)
			continue;
		if (!bpf_xdp_query(ifindex, 0, &xq) && xq.prog_id &&
		    (prog_pinned_is(dir, XDP_HOOK, ifindex, xq.prog_id) ||
		     prog_uses_map(xq.prog_id, map_id))) {
			err = xdp_detach_ours(dir, ifindex, i->if_name);
			ret = ret ? ret : err;
			if (!err)
				pr_info("%s: SPIN's XDP program detached (not in the interface "
					"list)",
					i->if_name);
		}
		if (tc_filter_uses(dir, ifindex, BPF_TC_INGRESS, map_id) ||
		    tc_filter_uses(dir, ifindex, BPF_TC_EGRESS, map_id)) {
			err = tc_detach_if_there(dir, ifindex, BPF_TC_INGRESS);
			err = err ? err : tc_detach_if_there(dir, ifindex, BPF_TC_EGRESS);
			ret = ret ? ret : err;
			if (!err)
				pr_info("%s: SPIN's TC filters detached (not in the interface "
					"list)",
					i->if_name);
		}
		if (perm_error(ret)) {
			pr_err("%s: cannot detach SPIN's programs: %s (needs CAP_NET_ADMIN and "
			       "CAP_BPF: run spind -x as root)",
			       i->if_name, strerror(-ret));
			break;
		}
	}
	if_freenameindex(all);
	return ret;
}

int kernel_detach(const struct netif_set *ifaces, const char *pin_dir, bool unpin)
{
	int ret = 0;

	const char *dir = pin_dir ? pin_dir : k.pin_dir[0] ? k.pin_dir : SPIN_PIN_DIR;

	for (int i = 0; ifaces && i < ifaces->n; i++) {
		const struct netif *nif = &ifaces->ifs[i];
		int e1 = tc_detach_if_there(dir, nif->ifindex, BPF_TC_INGRESS);
		int e2 = tc_detach_if_there(dir, nif->ifindex, BPF_TC_EGRESS);
		int e3 = xdp_detach_ours(dir, nif->ifindex, nif->name);
		int err;

		e3 = e3 ? e3 : tcx_detach_one(dir, nif->ifindex, true);
		e3 = e3 ? e3 : tcx_detach_one(dir, nif->ifindex, false);
		err = e1 && e1 != -ENOENT ? e1 : e2 && e2 != -ENOENT ? e2 : e3;
		ret = ret ? ret : err;
		if (!err)
			pr_info("%s: SPIN programs detached", nif->name);
		else if (perm_error(err))
			pr_err("%s: cannot detach SPIN's programs: %s (needs CAP_NET_ADMIN and "
			       "CAP_BPF: run spind -x as root)",
			       nif->name, strerror(-err));
		else
			pr_warn("%s: detaching: %s", nif->name, strerror(-err));
	}
	if (unpin && !perm_error(ret)) {
		int err = detach_by_maps(dir, ifaces);

		ret = ret ? ret : perm_error(err) ? err : 0;
	}
	/* Programs still attached: the pins are how a spind -x that may detach finds them. */
	if (unpin && perm_error(ret))
		pr_err("pins in %s kept: SPIN is still attached", dir);
	else if (unpin) {
		unpin_all(pin_dir ? pin_dir : SPIN_PIN_DIR);
		if (rmdir(pin_dir ? pin_dir : SPIN_PIN_DIR) < 0 && errno != ENOENT)
			pr_warn("cannot remove %s: %s", pin_dir, strerror(errno));
	}
	return ret;
}

void kernel_close(void)
{
	spin_bpf__destroy(k.skel);
	k.skel = NULL;
	if (k.lock_fd >= 0)
		close(k.lock_fd);
	k.lock_fd = -1;
	k.n_ifs = 0;
}

int kernel_flows_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_flows);
}

int kernel_flows4_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_flows4);
}

int kernel_cfg_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_cfg);
}

int kernel_addrpol_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_addrpol);
}

int kernel_pfxpol_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_pfxpol);
}

int kernel_pairpol_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_pairpol);
}

int kernel_stats_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_stats);
}

int kernel_capmac_fd(void)
{
	return k.skel ? bpf_map__fd(k.skel->maps.spin_capmac) : -EBADF;
}

int kernel_events_fd(void)
{
	return bpf_map__fd(k.skel->maps.spin_events);
}

unsigned int kernel_max_flows(void)
{
	/* Each family has a table of this size (spin_flows4, spin_flows). */
	return bpf_map__max_entries(k.skel->maps.spin_flows4);
}

int kernel_fc_cpus(void)
{
	return k.fc_cpus;
}

unsigned int kernel_fc_flush_ms(void)
{
	return k.skel ? (unsigned int)(k.skel->rodata->spin_fc_flush_ns / 1000000) : 0;
}

bool kernel_maps_reused(void)
{
	return k.reused;
}

const struct kernel_iface_state *kernel_iface_state(int *n)
{
	*n = k.n_ifs;
	return k.ifs;
}

int kernel_cfg_read(struct spin_cfg *cfg)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(kernel_cfg_fd(), &key, cfg) ? -errno : 0;
}

int kernel_cfg_write(const struct spin_cfg *cfg)
{
	__u32 key = 0;

	return bpf_map_update_elem(kernel_cfg_fd(), &key, cfg, BPF_ANY) ? -errno : 0;
}

int kernel_cfg_set_clock(__u32 now)
{
	struct spin_cfg cfg;
	int err = kernel_cfg_read(&cfg);

	if (err)
		return err;
	cfg.clock_sec = now;
	return kernel_cfg_write(&cfg);
}

int kernel_read_stats(__u64 *out)
{
	__u64 *vals = calloc((size_t)k.ncpus, sizeof(*vals));
	int fd = kernel_stats_fd(), err = 0;

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < SPIN_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < k.ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
	return err;
}

int kernel_addrpol_set(const struct spin_addr *a, __u32 flags)
{
	int fd = kernel_addrpol_fd();

	if (flags)
		return bpf_map_update_elem(fd, a, &flags, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(fd, a) && errno != ENOENT)
		return -errno;
	return 0;
}

int kernel_addrpol_prune(bool (*keep)(const struct spin_addr *a, void *ctx), void *ctx)
{
	struct spin_addr key, next;
	void *prev = NULL;
	int fd = kernel_addrpol_fd();

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (keep(&key, ctx))
			continue;
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
		prev = NULL; /* the walk starts over after a deletion */
	}
	return 0;
}

int kernel_pairpol_set(const struct spin_pair_key *k, bool on)
{
	__u32 one = 1;
	int fd = kernel_pairpol_fd();

	if (on)
		return bpf_map_update_elem(fd, k, &one, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(fd, k) && errno != ENOENT)
		return -errno;
	return 0;
}

int kernel_pairpol_clear(void)
{
	struct spin_pair_key key;
	int fd = kernel_pairpol_fd();

	while (bpf_map_get_next_key(fd, NULL, &key) == 0)
		if (bpf_map_delete_elem(fd, &key))
			return -errno;
	return 0;
}

static int macpol_fd(void)
{
	return k.skel ? bpf_map__fd(k.skel->maps.spin_macpol) : -EBADF;
}

int kernel_macpol_get(const __u8 mac[6], __u32 *flags)
{
	struct spin_mac_key key = {};
	int fd = macpol_fd();

	if (fd < 0)
		return fd;
	memcpy(key.mac, mac, sizeof(key.mac));
	return bpf_map_lookup_elem(fd, &key, flags) ? -errno : 0;
}

/* The two maps keyed by MAC (spin_macpol, spin_capmac): a value, or 0 to remove the MAC. */
static int mac_map_set(int fd, const __u8 mac[6], __u32 value)
{
	struct spin_mac_key key = {};

	if (fd < 0)
		return fd;
	memcpy(key.mac, mac, sizeof(key.mac));
	if (value)
		return bpf_map_update_elem(fd, &key, &value, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int kernel_macpol_set(const __u8 mac[6], __u32 flags)
{
	return mac_map_set(macpol_fd(), mac, flags);
}

int kernel_macpol_count(void)
{
	struct spin_mac_key key, next;
	void *prev = NULL;
	int fd = macpol_fd(), n = 0;

	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

int kernel_capmac_set(const __u8 mac[6], __u32 streams)
{
	return mac_map_set(kernel_capmac_fd(), mac, streams);
}

int kernel_capmac_clear(void)
{
	struct spin_mac_key key;
	int fd = kernel_capmac_fd();

	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, NULL, &key) == 0)
		if (bpf_map_delete_elem(fd, &key))
			return -errno;
	return 0;
}

static struct {
	struct ring_buffer *rb;
	struct loop_watch *watch;
	int (*on_record)(const void *data, size_t size);
} rbuf;

static int ring_record(void *ctx, void *data, size_t size)
{
	rbuf.on_record(data, size);
	return 0; /* a bad record never stops the consumer */
}

static void ring_readable(int fd, uint32_t events, void *ctx)
{
	int n = ring_buffer__consume(rbuf.rb);

	if (n < 0)
		pr_warn("ring buffer: %s", strerror(-n));
}

int kernel_events_start(int (*on_record)(const void *data, size_t size))
{
	int err;

	rbuf.on_record = on_record;
	rbuf.rb = ring_buffer__new(kernel_events_fd(), ring_record, NULL, NULL);
	if (!rbuf.rb)
		return -errno;
	rbuf.watch = loop_watch_fd(ring_buffer__epoll_fd(rbuf.rb), EPOLLIN, ring_readable, NULL);
	if (!rbuf.watch) {
		err = -errno;
		kernel_events_stop();
		return err;
	}
	return 0;
}

void kernel_events_stop(void)
{
	loop_unwatch(rbuf.watch);
	rbuf.watch = NULL;
	ring_buffer__free(rbuf.rb);
	rbuf.rb = NULL;
}
