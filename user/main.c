// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* spind: SPIN's daemon. Parses the command line and the configuration, then runs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "log.h"
#include "version.h"
#include "spind.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: spind [options]\n"
		"  -i, --interface IF[,IF]  LAN interface(s) to attach to; a bridge means its "
		"ports\n"
		"  -m, --mode MODE          router (default) or bridge\n"
		"  -c, --config FILE        configuration file (default %s)\n"
		"  -o, --option KEY=VALUE   set any configuration key (repeatable)\n"
		"  -s, --state-dir DIR      where lists, flow blocks and names are kept\n"
		"  -r, --read FILE          passive: replay a capture file (pcap, pcapng; - for "
		"stdin)\n"
		"  -F, --fast               with -r: as fast as possible, not at the recorded "
		"pace\n"
		"  -P, --passive            passive: watch the -i interface (a mirror port) with "
		"libpcap\n"
		"  -x, --detach             remove SPIN's programs from the interfaces, unpin, "
		"exit\n"
		"  -C, --print-config       print every option with its value and exit\n"
		"  -d, --debug              debug logging (twice: libbpf's too)\n"
		"  -l, --syslog             log to syslog instead of stderr\n"
		"  -v, --version            print the version\n"
		"  -h, --help               this text\n",
		CONFIG_DEFAULT_FILE);
}

struct cmdline {
	const char *config_file;
	bool config_given;
	bool print_config;
	bool detach;
	int debug;
	const char *read_file; /* -r */
	bool fast;	       /* -F */
	bool passive;	       /* -P */
};

static int apply(struct spin_config *cfg, const char *key, const char *value)
{
	char err[256];

	if (config_set(cfg, key, value, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "spind: %s\n", err);
	return -EINVAL;
}

/* -r / -P: consistent flags, and LAN prefixes (no interface addresses to derive them from). */
static int check_passive(struct spin_config *cfg, const struct cmdline *cl)
{
	if (cl->read_file && cl->passive) {
		fprintf(stderr,
			"spind: -r (replay a file) and -P (watch an interface) exclude each "
			"other\n");
		return -EINVAL;
	}
	if (cl->fast && !cl->read_file) {
		fprintf(stderr, "spind: -F (fast replay) needs -r FILE\n");
		return -EINVAL;
	}
	if ((cl->read_file || cl->passive) && cl->detach) {
		fprintf(stderr, "spind: -x (detach) does not go with passive mode\n");
		return -EINVAL;
	}
	if ((cl->read_file || cl->passive) && !cfg->n_lan_prefixes)
		return apply(cfg, "lan_prefixes", CAPTURE_DEFAULT_LAN);
	return 0;
}

/* Two passes: the config file first, then every flag on top of it. */
static int parse_args(int argc, char **argv, struct spin_config *cfg, struct cmdline *cl)
{
	static const struct option opts[] = {
		{"interface", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},
		{"config", required_argument, NULL, 'c'},
		{"option", required_argument, NULL, 'o'},
		{"state-dir", required_argument, NULL, 's'},
		{"detach", no_argument, NULL, 'x'},
		{"read", required_argument, NULL, 'r'},
		{"fast", no_argument, NULL, 'F'},
		{"passive", no_argument, NULL, 'P'},
		{"print-config", no_argument, NULL, 'C'},
		{"debug", no_argument, NULL, 'd'},
		{"syslog", no_argument, NULL, 'l'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *shortopts = "i:m:c:o:s:xr:FPCdlvh";
	char err[512];
	int c, ret;

	cl->config_file = CONFIG_DEFAULT_FILE;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'c') {
			cl->config_file = optarg;
			cl->config_given = true;
		} else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else if (c == 'v') {
			printf("spind %s\n", SPIN_VERSION);
			exit(0);
		} else if (c == '?') {
			usage(stderr);
			return -EINVAL;
		}
	}
	ret = config_load_file(cfg, cl->config_file, err, sizeof(err));
	if (ret && !(ret == -ENOENT && !cl->config_given)) {
		fprintf(stderr, "spind: %s\n", err);
		return ret;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		ret = 0;
		switch (c) {
		case 'i':
			ret = apply(cfg, "interfaces", optarg);
			break;
		case 'm':
			ret = apply(cfg, "mode", optarg);
			break;
		case 's':
			ret = apply(cfg, "state_dir", optarg);
			break;
		case 'o':
			if (config_set_assignment(cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "spind: -o %s: %s\n", optarg, err);
				ret = -EINVAL;
			}
			break;
		case 'x':
			cl->detach = true;
			break;
		case 'r':
			cl->read_file = optarg;
			break;
		case 'F':
			cl->fast = true;
			break;
		case 'P':
			cl->passive = true;
			break;
		case 'C':
			cl->print_config = true;
			break;
		case 'd':
			cl->debug++;
			break;
		case 'l':
			cfg->log_usesyslog = true;
			break;
		}
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "spind: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return check_passive(cfg, cl);
}

int main(int argc, char **argv)
{
	static struct spin_config cfg;
	struct cmdline cl = {};
	int err, level;

	config_defaults(&cfg);
	if (parse_args(argc, argv, &cfg, &cl))
		return 2;
	if (cl.print_config) {
		config_print(&cfg, stdout);
		return 0;
	}
	level = cl.debug ? LOG_LVL_DEBUG + cl.debug - 1 : (int)cfg.log_loglevel;
	err = log_init("spind", cfg.log_usesyslog, level, cfg.log_file[0] ? cfg.log_file : NULL);
	if (err) {
		fprintf(stderr, "spind: cannot open log file %s: %s\n", cfg.log_file,
			strerror(-err));
		return 1;
	}
	log_route_libbpf();
	spind_set_passive(cl.read_file, cl.passive, cl.fast);
	err = cl.detach ? spind_detach(&cfg) : spind_run(&cfg);
	log_close();
	/* 2: the configuration is wrong (a service manager should not retry); 1: anything else,
	 * e.g. an interface that is not there yet. */
	return err == -EINVAL ? 2 : err ? 1 : 0;
}
