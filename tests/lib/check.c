// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>

#include "check.h"

int check_failures;

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path))
		perror(path);
	return 0;
}

void check_rm_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
