// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "pidfile.h"

#define PIDFILE_MAX 32 /* bytes a PID file may have: a number and a newline */

static struct {
	char path[PATH_MAX];
	pid_t pid;
} pf;

/*
 * What path holds: 0 and *pid (0 if the file does not exist or is empty), or -EINVAL if it is
 * not a PID file, or -errno.
 */
static int read_pid(const char *path, long *pid)
{
	char buf[PIDFILE_MAX + 1], *end;
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PIDFILE_MAX) {
		err = -EINVAL;
		goto cleanup;
	}
	n = read(fd, buf, PIDFILE_MAX);
	if (n < 0) {
		err = -errno;
		goto cleanup;
	}
	buf[n] = '\0';
	if (n == 0)
		goto cleanup;
	errno = 0;
	*pid = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (!isdigit((unsigned char)buf[0]) || *end || errno || *pid <= 0 || *pid > INT_MAX)
		err = -EINVAL;
cleanup:
	close(fd);
	return err;
}

/* pid is a running spind (another than us). */
static bool is_spind(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid == (long)getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return true; /* alive but unreadable: assume the worst */
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "spind\n") == 0;
}

int pidfile_create(const char *path)
{
	char tmp[PATH_MAX + 32], buf[PIDFILE_MAX];
	long old;
	int fd, err, len;

	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(pf.path))
		return -ENAMETOOLONG;
	err = read_pid(path, &old);
	if (err == -EINVAL) {
		pr_err("pid_file: %s exists and is not a PID file (a regular file holding one "
		       "number); not overwriting it",
		       path);
		return err;
	}
	if (err) {
		pr_err("pid_file: cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (old && is_spind(old)) {
		pr_err("pid_file: %s: spind is already running (pid %ld); stop it first", path,
		       old);
		return -EEXIST;
	}
	if (old)
		pr_info("pid_file: %s: replacing the stale PID %ld (no such spind runs)", path,
			old);

	/* Written beside it and renamed into place: a reader never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_err("pid_file: cannot create %s: %s", tmp, strerror(-err));
		return err;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		err = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		pr_err("pid_file: cannot write %s: %s", tmp, strerror(-err));
		return err;
	}
	close(fd);
	/* No file before: link() fails if another spind created one meanwhile. */
	if (old ? rename(tmp, path) : link(tmp, path)) {
		err = -errno;
		unlink(tmp);
		if (err == -EEXIST)
			pr_err("pid_file: %s appeared while spind started: another spind is "
			       "starting",
			       path);
		else
			pr_err("pid_file: cannot write %s: %s", path, strerror(-err));
		return err;
	}
	if (!old)
		unlink(tmp);
	snprintf(pf.path, sizeof(pf.path), "%s", path);
	pf.pid = getpid();
	return 0;
}

void pidfile_remove(void)
{
	long pid;

	if (!pf.path[0])
		return;
	if (read_pid(pf.path, &pid) == 0 && pid == (long)pf.pid)
		unlink(pf.path);
	pf.path[0] = '\0';
}
