/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maker of a device from its MAC: the IEEE MA-L (24-bit OUI) registry as Debian's
 * ieee-data package ships it (/usr/share/ieee-data/oui.csv). Loaded once into a sorted array;
 * lookups are a binary search. Without the file there are no vendors, nothing else changes.
 */
#ifndef SPIN_OUI_H
#define SPIN_OUI_H

#include <stddef.h>
#include <stdint.h>

#define OUI_DEFAULT_PATH "/usr/share/ieee-data/oui.csv"
#define OUI_FILE_MAX	 (32 * 1024 * 1024) /* bytes read at most (Debian's file: ~3 MB) */
#define OUI_MAX_ENTRIES	 (1 << 17)	    /* rows kept at most (Debian's file: ~32,000) */
#define OUI_NAME_MAX	 80		    /* bytes of a vendor name kept, cut at a character */

struct oui_stats {
	unsigned int entries;	/* prefixes with a vendor */
	unsigned int skipped;	/* rows that are not a usable MA-L row (header, bad text) */
	unsigned int duplicate; /* a prefix given twice: the first row wins */
};

/*
 * Loads path (NULL = OUI_DEFAULT_PATH), replacing what was loaded. Returns 0 or -errno
 * (-ENOENT missing, -EFBIG over OUI_FILE_MAX, ...), with a warning naming the file; on error
 * no vendors are known.
 */
int oui_load(const char *path);
/* The maker of mac, or NULL: unknown prefix, nothing loaded, or a locally administered
 * (bit 0x02 of the first byte) or group (0x01) address, which no maker owns. */
const char *oui_vendor(const uint8_t mac[6]);
void oui_get_stats(struct oui_stats *st);
void oui_destroy(void);

#endif
