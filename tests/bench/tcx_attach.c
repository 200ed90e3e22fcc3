// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Hooks a pinned TC program onto an interface through a TCX link and pins the link, for the
 * bench's "empty program over TCX" configuration (Debian 12's bpftool 7.1 cannot). Unpinning
 * the link detaches the program.
 *
 *   tcx_attach ingress|egress IFACE PROG-PIN LINK-PIN
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>

#define TCX_INGRESS 46 /* enum bpf_attach_type: newer than Debian 12's UAPI headers */
#define TCX_EGRESS  47

int main(int argc, char **argv)
{
	unsigned int ifindex;
	int prog, link;

	if (argc != 5 || (strcmp(argv[1], "ingress") && strcmp(argv[1], "egress"))) {
		fprintf(stderr, "usage: tcx_attach ingress|egress IFACE PROG-PIN LINK-PIN\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "tcx_attach: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	prog = bpf_obj_get(argv[3]);
	if (prog < 0) {
		fprintf(stderr, "tcx_attach: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	link = bpf_link_create(prog, (int)ifindex,
			       strcmp(argv[1], "ingress") == 0 ? TCX_INGRESS : TCX_EGRESS, NULL);
	if (link < 0 || bpf_obj_pin(link, argv[4])) {
		fprintf(stderr, "tcx_attach: %s %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
