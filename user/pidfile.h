/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * spind's PID file (the pid_file key): written atomically at start, removed at a clean stop.
 * A file naming a running spind stops a second one from starting; a stale one (its process
 * gone, or not a spind) is replaced, with a note in the log. A file that does not look like a
 * PID file (more than a number) is never overwritten: pid_file may be mistyped.
 */
#ifndef SPIN_PIDFILE_H
#define SPIN_PIDFILE_H

/*
 * Writes our PID to path (empty or NULL: nothing). 0, -EEXIST (a spind runs: its PID is
 * logged), -EINVAL (the file is not a PID file, or path is a directory), other -errno.
 */
int pidfile_create(const char *path);
/* Removes the file if it still holds our PID. */
void pidfile_remove(void);

#endif
