/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Files in the state directory: written atomically (a crash leaves the old or the new file,
 * never a mix), read with a size bound. */
#ifndef SPIN_STATEFILE_H
#define SPIN_STATEFILE_H

#include <stddef.h>

/* Writes text to path via path.tmp + fsync + rename + fsync of the directory. 0 or -errno. */
int statefile_write(const char *path, const char *text);
/* The same for len bytes of any content. */
int statefile_write_data(const char *path, const void *data, size_t len);
/* Reads a whole file (NUL-terminated, caller frees). NULL with *err = -errno, or -EFBIG. */
char *statefile_read(const char *path, size_t max, int *err);
/* The same, with the file's length in *len (the content may hold NUL bytes). */
char *statefile_read_data(const char *path, size_t max, size_t *len, int *err);

#endif
