// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "statefile.h"

static void sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int statefile_write(const char *path, const char *text)
{
	return statefile_write_data(path, text, strlen(text));
}

int statefile_write_data(const char *path, const void *data, size_t len)
{
	const char *text = data;
	char tmp[PATH_MAX];
	size_t done = 0;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	sync_parent_dir(path);
	return 0;
}

char *statefile_read(const char *path, size_t max, int *err)
{
	size_t len;

	return statefile_read_data(path, max, &len, err);
}

char *statefile_read_data(const char *path, size_t max, size_t *len, int *err)
{
	FILE *f = fopen(path, "re");
	size_t n, cap = max;
	struct stat st;
	char *buf;

	if (!f) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fclose(f);
			*err = -EISDIR;
			return NULL;
		}
		/* a bound, not a size to allocate: a small file takes a small buffer */
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < cap)
			cap = (size_t)st.st_size;
	}
	buf = malloc(cap + 2);
	if (!buf) {
		fclose(f);
		*err = -ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, cap + 1, f); /* one byte more: a file larger than expected */
	*err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!*err && n > cap)
		*err = cap < max ? -EAGAIN /* it grew since fstat: read it again later */ : -EFBIG;
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
