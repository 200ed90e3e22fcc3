// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The OUI registry: a small CSV written here in Debian's oui.csv layout (quoting, CRLF, bad
 * and repeated rows, long and hostile names) loads into the right vendors; locally
 * administered and group MACs have none; a missing file means no vendors; nodes' JSON (and so
 * get_device_data) carries "vendor" only for devices with a known maker. Debian's own file is
 * loaded too when ieee-data is installed.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "check.h"
#include "log.h"
#include "nodes.h"
#include "oui.h"
#include "rpc.h"
#include "traffic.h"

static const char csv[] =
	"Registry,Assignment,Organization Name,Organization Address\n"
	"MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248 \n"
	"MA-L,F4BD9E,\"Cisco Systems, Inc\",80 West Tasman Drive San Jose CA US 94568 \n"
	"MA-L,5885E9,Realme Chongqing,\"No.24 Nichang Boulevard, Yubei District\"\r\n"
	"MA-L,a4c138,lower case hex,Somewhere\n"
	"MA-L,00000C,\"The \"\"Quoted\"\" Maker\",Somewhere\n"
	"MA-L,00000C,A Later Row For The Same Prefix,Somewhere\n"
	"MA-M,00D0EF1,Not A 24-bit Assignment,Somewhere\n"
	"MA-L,00D0E,Five Digits,Somewhere\n"
	"MA-L,00D0GG,Not Hex,Somewhere\n"
	"MA-L,0050C2,Private,\n"
	"MA-L,001122,\"  Tabs\tand\nnewlines  \",Somewhere\n"
	"MA-L,001123,\"\xff\xfe not UTF-8\",Somewhere\n"
	"MA-L,001124,   ,Somewhere\n"
	"\n"
	"MA-L,001125,"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"x,Long Name\n"
	"MA-L,F4BD9F,\"Cisco Systems, Inc\",a second prefix of the same maker\n"
	"MA-L,FCFCFC,No Newline At The End,Somewhere";

static char path[] = "/tmp/spin-test-oui-XXXXXX";

static int write_csv(const char *text, size_t len)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return close(fd) ? -errno : 0;
}

static const char *vendor_of(uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t mac[6] = {a, b, c, 0x12, 0x34, 0x56};

	return oui_vendor(mac);
}

static void test_small_csv(void)
{
	struct oui_stats st;
	char name[128];

	CHECK_INT(oui_load(path), 0, "the test CSV loads");
	oui_get_stats(&st);
	CHECK_INT(st.entries, 9, "9 usable prefixes");
	CHECK_INT(st.duplicate, 1, "one repeated prefix");
	CHECK_INT(st.skipped, 7,
		  "header, MA-M, short, non-hex, Private, bad UTF-8, blank name: skipped");
	CHECK_STR(vendor_of(0x00, 0x22, 0x72), "American Micro-Fuel Device Corp.", "plain row");
	CHECK_STR(vendor_of(0xf4, 0xbd, 0x9e), "Cisco Systems, Inc", "quoted name with a comma");
	CHECK_STR(vendor_of(0xf4, 0xbd, 0x9f), "Cisco Systems, Inc",
		  "a maker's second prefix has the same name");
	CHECK(vendor_of(0xf4, 0xbd, 0x9e) == vendor_of(0xf4, 0xbd, 0x9f),
	      "a maker's name is stored once");
	CHECK_STR(vendor_of(0x58, 0x85, 0xe9), "Realme Chongqing",
		  "CRLF row with a quoted address");
	CHECK_STR(vendor_of(0xa4, 0xc1, 0x38), "lower case hex", "lower-case assignment");
	CHECK_STR(vendor_of(0x00, 0x00, 0x0c), "The \"Quoted\" Maker",
		  "doubled quotes; the first row of a repeated prefix wins");
	CHECK_STR(vendor_of(0x00, 0x11, 0x22), "Tabs and newlines",
		  "control characters become single spaces, ends trimmed");
	CHECK_STR(vendor_of(0x00, 0x11, 0x23), NULL, "invalid UTF-8 name: no vendor");
	CHECK_STR(vendor_of(0x00, 0x11, 0x24), NULL, "blank name: no vendor");
	CHECK_STR(vendor_of(0x00, 0x50, 0xc2), NULL, "\"Private\" is no maker");
	CHECK_STR(vendor_of(0xfc, 0xfc, 0xfc), "No Newline At The End", "last row without newline");
	CHECK(vendor_of(0x00, 0x11, 0x25) && strlen(vendor_of(0x00, 0x11, 0x25)) == 80,
	      "a long name is cut to 80 bytes at a character boundary");
	snprintf(name, sizeof(name), "%s", vendor_of(0x00, 0x11, 0x25) ?: "");
	CHECK_STR(name + 78, "\xc3\xa9", "the cut keeps whole characters");
	CHECK_STR(vendor_of(0x00, 0x22, 0x73), NULL, "unknown prefix: no vendor");
	CHECK_STR(vendor_of(0x02, 0x22, 0x72), NULL, "locally administered MAC: no vendor");
	CHECK_STR(vendor_of(0x01, 0x22, 0x72), NULL, "group (multicast) MAC: no vendor");
	CHECK_STR(vendor_of(0xff, 0xff, 0xff), NULL, "broadcast: no vendor");
}

static void test_missing(void)
{
	CHECK_INT(oui_load("/nonexistent/spin/oui.csv"), -ENOENT, "missing file: -ENOENT");
	CHECK_STR(vendor_of(0x00, 0x22, 0x72), NULL, "after a failed load no vendor is known");
	CHECK_INT(oui_load("/tmp"), -EINVAL, "a directory is refused");
}

static const char *on_vendor(const uint8_t mac[6], void *ctx)
{
	return oui_vendor(mac);
}

static cJSON *rpc_result(const char *body)
{
	char *out = rpc_handle(body, strlen(body));
	cJSON *j = out ? cJSON_Parse(out) : NULL;
	cJSON *r = cJSON_DetachItemFromObject(j, "result");

	free(out);
	cJSON_Delete(j);
	return r;
}

static void test_node_json(void)
{
	uint8_t cisco[6] = {0xf4, 0xbd, 0x9e, 0, 0, 1}, local[6] = {0x02, 0, 0, 0, 0, 0x10};
	struct spin_addr a;
	time_t now = time(NULL);
	uint32_t dev, lab, remote;
	char body[128];
	cJSON *j;

	nodes_addr_parse("192.0.2.10", &a);
	dev = node_id(nodes_set_mac(&a, cisco, now));
	nodes_addr_parse("192.0.2.11", &a);
	lab = node_id(nodes_set_mac(&a, local, now));
	nodes_addr_parse("203.0.113.10", &a);
	remote = node_id(nodes_get_ip(&a, now));

	snprintf(body, sizeof(body),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get_device_data\",\"params\":{"
		 "\"node\":%u}}",
		 dev);
	j = rpc_result(body);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "vendor")), "Cisco Systems, Inc",
		  "get_device_data: a device with a registered MAC has its vendor");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "mac")), "f4:bd:9e:00:00:01",
		  "get_device_data: the MAC is still there");
	cJSON_Delete(j);
	j = node_to_json(nodes_by_id(lab));
	CHECK(j && !cJSON_GetObjectItem(j, "vendor"),
	      "node JSON: a locally administered MAC has no vendor field");
	cJSON_Delete(j);
	j = node_to_json(nodes_by_id(remote));
	CHECK(j && !cJSON_GetObjectItem(j, "vendor"), "node JSON: a remote node has no vendor");
	cJSON_Delete(j);
	j = rpc_result("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list_devices\"}");
	CHECK_INT(cJSON_GetArraySize(j), 2, "list_devices: both devices");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "vendor")),
		  "Cisco Systems, Inc", "list_devices carries the vendor");
	cJSON_Delete(j);
}

/* Debian's file, when ieee-data is installed (tools/install-deps installs it). */
static void test_debian(void)
{
	struct timespec t0, t1;
	struct oui_stats st;
	double ms;

	if (access(OUI_DEFAULT_PATH, R_OK)) {
		printf("# %s missing (package ieee-data): Debian's registry not checked\n",
		       OUI_DEFAULT_PATH);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(oui_load(NULL), 0, "Debian's oui.csv loads");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	oui_get_stats(&st);
	printf("# %u prefixes, %u skipped, %u duplicates, loaded in %.1f ms\n", st.entries,
	       st.skipped, st.duplicate, ms);
	CHECK(st.entries > 20000, "Debian's oui.csv has over 20,000 prefixes");
	CHECK(vendor_of(0x00, 0x00, 0x0c) && strstr(vendor_of(0x00, 0x00, 0x0c), "Cisco"),
	      "00:00:0c is Cisco's");
	CHECK(ms < 1000, "loads in under a second");
}

int main(void)
{
	struct traffic_ops to = {};

	log_init("test_oui", false, LOG_LVL_ERR, NULL);
	if (write_csv(csv, sizeof(csv) - 1)) {
		printf("not ok - write the test CSV to %s\n", path);
		return 1;
	}
	test_small_csv();
	if (nodes_init(&(struct nodes_ops){.vendor = on_vendor}, 0, 0) ||
	    traffic_init(&to, false) || rpc_init(NULL, true)) {
		printf("not ok - setup of nodes and rpc failed\n");
		unlink(path);
		return 1;
	}
	test_node_json();
	test_missing();
	test_debian();
	oui_destroy();
	traffic_destroy();
	nodes_destroy();
	unlink(path);
	return check_exit();
}
