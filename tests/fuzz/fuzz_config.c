// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// fuzz-sources: user/config.c user/log.c
// fuzz-options: -max_len=4096
/*
 * Arbitrary bytes as spind.conf. Beyond "no crash, no sanitizer report": the error text is
 * always terminated, a failed load leaves the config untouched, and a successful one survives
 * config_print -> load -> config_print unchanged (what -C prints must load back).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static char *print(const struct spin_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		abort();
	config_print(cfg, out);
	fclose(out);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spin_config cfg, before, again;
	char err[256], *text1, *text2;
	FILE *in;
	int ret;

	log_set_level(LOG_LVL_ERR); /* warnings are expected here; keep the output readable */
	if (!size)
		return 0;
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	config_defaults(&cfg);
	before = cfg;
	memset(err, 'x', sizeof(err));
	ret = config_load_stream(&cfg, in, "fuzz.conf", err, sizeof(err));
	fclose(in);
	if (ret) {
		if (!memchr(err, '\0', sizeof(err)) || memcmp(&cfg, &before, sizeof(cfg)))
			abort();
		return 0;
	}
	text1 = print(&cfg);
	in = fmemopen(text1, strlen(text1), "r");
	config_defaults(&again);
	if (!in || config_load_stream(&again, in, "printed", err, sizeof(err)))
		abort(); /* config_print wrote something the loader refuses */
	fclose(in);
	text2 = print(&again);
	if (strcmp(text1, text2))
		abort();
	free(text1);
	free(text2);
	return 0;
}
