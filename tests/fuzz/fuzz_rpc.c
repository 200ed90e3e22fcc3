// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Arbitrary bodies into the JSON-RPC dispatcher, with a node cache and policy lists to act on
 * (no kernel). Every answer must be a JSON object with "jsonrpc":"2.0" and exactly one of
 * result/error; anything else, a crash, a leak or undefined behaviour is a finding.
 */
// fuzz-sources: user/rpc.c user/nodes.c user/policy.c user/traffic.c user/lan.c user/log.c user/kernel.c user/netif.c user/mqtt.c user/loop.c user/config.c user/statefile.c user/utf8.c
// fuzz-options: -max_len=4096 -dict=tests/fuzz/corpus/rpc.dict
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "lan.h"
#include "log.h"
#include "nodes.h"
#include "policy.h"
#include "rpc.h"
#include "traffic.h"

static void setup(void)
{
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0x10};
	struct traffic_ops to = {};
	struct spin_config cfg;
	struct spin_addr a;

	log_init("fuzz_rpc", false, LOG_LVL_ERR, NULL);
	config_defaults(&cfg);
	if (nodes_init(&(struct nodes_ops){}, 0, 1024) || policy_init(NULL, false, NULL) ||
	    traffic_init(&to, false) || lan_init(&cfg, NULL) || rpc_init(NULL, true))
		abort();
	nodes_addr_parse("192.0.2.10", &a);
	nodes_set_mac(&a, mac, 1000);
	nodes_addr_parse("203.0.113.10", &a);
	nodes_get_ip(&a, 1000);
	nodes_addr_parse("2001:db8::53", &a);
	nodes_add_domain(&a, "dns.example.", 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *out;
	cJSON *j;

	if (!ready) {
		setup();
		ready = 1;
	}
	out = rpc_handle((const char *)data, size);
	if (!out)
		abort();
	j = cJSON_Parse(out);
	if (!cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItem(j, "jsonrpc")) ||
	    !!cJSON_GetObjectItem(j, "result") == !!cJSON_GetObjectItem(j, "error"))
		abort();
	cJSON_Delete(j);
	free(out);
	return 0;
}
