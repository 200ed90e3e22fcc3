/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The daemon: wires the modules together in order and tears them down in reverse. */
#ifndef SPIN_SPIND_H
#define SPIN_SPIND_H

#include "config.h"

/*
 * Passive mode, before spind_run(): file replays a capture (-r; fast: -F), live watches the
 * one configured interface through libpcap (-P). No BPF is loaded, nothing is enforced.
 */
void spind_set_passive(const char *file, bool live, bool fast);
/* Runs until SIGINT/SIGTERM. Returns 0 or -errno (the cause is logged). */
int spind_run(const struct spin_config *cfg);
/* Explicit detach: removes SPIN's programs from the configured interfaces and the pins. */
int spind_detach(const struct spin_config *cfg);

#endif
