/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef SPIN_VERSION_H
#define SPIN_VERSION_H

/* The release; the Makefile may override it (e.g. from git describe). */
#ifndef SPIN_VERSION
#define SPIN_VERSION "0.1.0"
#endif

#endif
