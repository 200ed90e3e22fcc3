// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <uthash.h>

#include "log.h"
#include "oui.h"
#include "utf8.h"

#define FIELD_MAX 256 /* bytes of a CSV field looked at; the rest is ignored */

struct oui_entry {
	uint32_t prefix;
	uint32_t name; /* offset in the name pool */
};

/* Load-time only: one copy of each maker's name (Cisco alone owns hundreds of prefixes). */
struct name_ref {
	uint32_t off;
	UT_hash_handle hh;
};

static struct {
	struct oui_entry *e;
	unsigned int n;
	char *pool;
	struct oui_stats st;
} oui;

void oui_destroy(void)
{
	free(oui.e);
	free(oui.pool);
	memset(&oui, 0, sizeof(oui));
}

static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	struct stat sb;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > OUI_FILE_MAX) {
		err = S_ISREG(sb.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	*buf = malloc((size_t)sb.st_size + 1);
	if (!*buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) /* shrunk while reading: take what is there */
			break;
		got += (size_t)r;
	}
	*len = got;
out:
	close(fd);
	return err;
}

/*
 * One CSV field (RFC 4180 quoting, "" inside quotes) at *p: at most FIELD_MAX - 1 bytes go to
 * out, NUL-terminated. Returns what ended it: ',', '\n' or 0 (end of the file).
 */
static int csv_field(const char **p, const char *end, char out[FIELD_MAX])
{
	const char *s = *p;
	bool quoted = s < end && *s == '"';
	size_t n = 0;

	if (quoted)
		s++;
	for (; s < end; s++) {
		char c = *s;

		if (quoted && c == '"') {
			if (s + 1 < end && s[1] == '"') {
				s++;
			} else {
				quoted = false;
				continue;
			}
		} else if (!quoted && (c == ',' || c == '\n')) {
			*p = s + 1;
			out[n] = '\0';
			return c;
		} else if (!quoted && c == '\r') {
			continue;
		}
		if (n + 1 < FIELD_MAX)
			out[n++] = c;
	}
	*p = end;
	out[n] = '\0';
	return 0;
}

static int skip_record(const char **p, const char *end, int term)
{
	char junk[FIELD_MAX];

	while (term == ',')
		term = csv_field(p, end, junk);
	return term;
}

/* Control characters become spaces, runs of spaces one, the ends are trimmed, and the name is
 * cut to OUI_NAME_MAX bytes at a character boundary. Returns false if nothing usable is left. */
static bool clean_name(char *s)
{
	size_t w = 0;

	for (size_t r = 0; s[r]; r++) {
		char c = (unsigned char)s[r] < 0x20 || s[r] == 0x7f ? ' ' : s[r];

		if (c == ' ' && (w == 0 || s[w - 1] == ' '))
			continue;
		s[w++] = c;
	}
	if (w > OUI_NAME_MAX) {
		w = OUI_NAME_MAX;
		while (w > 0 && ((unsigned char)s[w] & 0xc0) == 0x80)
			w--;
	}
	while (w > 0 && s[w - 1] == ' ')
		w--;
	s[w] = '\0';
	return w > 0 && utf8_valid(s, strlen(s)) && strcmp(s, "Private") != 0;
}

static bool parse_prefix(const char *s, uint32_t *prefix)
{
	uint32_t v = 0;

	if (strlen(s) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*prefix = v;
	return true;
}

static uint32_t pool_add(char *pool, size_t *used, struct name_ref **names, const char *name)
{
	size_t len = strlen(name);
	uint32_t off = (uint32_t)*used;
	struct name_ref *ref;

	HASH_FIND(hh, *names, name, len, ref);
	if (ref)
		return ref->off;
	memcpy(pool + off, name, len + 1);
	*used += len + 1;
	ref = malloc(sizeof(*ref));
	if (ref) { /* without it the name is only not shared */
		ref->off = off;
		HASH_ADD_KEYPTR(hh, *names, pool + off, len, ref);
	}
	return off;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct oui_entry *x = a, *y = b;

	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

/* A row while loading: its number keeps the first row of a repeated prefix the winner. */
struct load_row {
	uint32_t prefix;
	uint32_t row;
	uint32_t name;
};

static int cmp_row(const void *a, const void *b)
{
	const struct load_row *x = a, *y = b;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Sorted, one entry per prefix, in an array of exactly the size needed. */
static int keep_rows(struct load_row *rows, unsigned int n)
{
	unsigned int w = 0;

	qsort(rows, n, sizeof(*rows), cmp_row);
	oui.e = malloc((n ? n : 1) * sizeof(*oui.e));
	if (!oui.e)
		return -ENOMEM;
	for (unsigned int r = 0; r < n; r++) {
		if (w && oui.e[w - 1].prefix == rows[r].prefix) {
			oui.st.duplicate++;
			continue;
		}
		oui.e[w].prefix = rows[r].prefix;
		oui.e[w++].name = rows[r].name;
	}
	oui.n = w;
	oui.st.entries = w;
	return 0;
}

static int add_row(struct load_row **rows, unsigned int *n, unsigned int *cap, uint32_t prefix,
		   uint32_t name)
{
	if (*n == OUI_MAX_ENTRIES)
		return -E2BIG;
	if (*n == *cap) {
		unsigned int c = *cap ? *cap * 2 : 4096;
		struct load_row *r = realloc(*rows, (c > OUI_MAX_ENTRIES ? OUI_MAX_ENTRIES : c) *
							    sizeof(**rows));

		if (!r)
			return -ENOMEM;
		*rows = r;
		*cap = c > OUI_MAX_ENTRIES ? OUI_MAX_ENTRIES : c;
	}
	(*rows)[*n] = (struct load_row){.prefix = prefix, .row = *n, .name = name};
	(*n)++;
	return 0;
}

static void free_names(struct name_ref **names)
{
	struct name_ref *ref, *tmp;

	HASH_ITER(hh, *names, ref, tmp)
	{
		HASH_DEL(*names, ref);
		free(ref);
	}
}

/* pool_cap: the file's size + 1; a name is never longer than the row it came from. */
static int parse(const char *buf, size_t len, size_t pool_cap)
{
	const char *p = buf, *end = buf + len;
	char reg[FIELD_MAX], assign[FIELD_MAX], name[FIELD_MAX];
	struct name_ref *names = NULL;
	struct load_row *rows = NULL;
	unsigned int n = 0, cap = 0;
	size_t used = 0;
	int err = 0;

	oui.pool = malloc(pool_cap);
	if (!oui.pool)
		return -ENOMEM;
	while (p < end && !err) {
		uint32_t prefix;
		int term = csv_field(&p, end, reg);

		if (term == ',')
			term = csv_field(&p, end, assign);
		if (term == ',')
			term = csv_field(&p, end, name);
		if (term != ',' || strcmp(reg, "MA-L") != 0 || !parse_prefix(assign, &prefix) ||
		    !clean_name(name)) {
			oui.st.skipped += !(term != ',' && !reg[0]); /* blank lines are no rows */
			skip_record(&p, end, term);
			continue;
		}
		skip_record(&p, end, term);
		err = add_row(&rows, &n, &cap, prefix, pool_add(oui.pool, &used, &names, name));
	}
	free_names(&names);
	if (err != -ENOMEM) {
		int e = keep_rows(rows, n);
		char *shrunk = realloc(oui.pool, used ? used : 1);

		if (shrunk)
			oui.pool = shrunk;
		err = e ? e : err;
	}
	free(rows);
	return err;
}

int oui_load(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!path)
		path = OUI_DEFAULT_PATH;
	oui_destroy();
	err = read_file(path, &buf, &len);
	if (!err)
		err = parse(buf, len, len + 1);
	free(buf);
	if (err == -E2BIG) {
		pr_warn("oui: %s has more than %d rows: the rest are ignored", path,
			OUI_MAX_ENTRIES);
		err = 0;
	}
	if (err) {
		pr_warn("oui: cannot load the vendor registry %s: %s; devices are shown without "
			"their maker (install Debian's ieee-data package)",
			path, strerror(-err));
		oui_destroy();
		return err;
	}
	if (!oui.n)
		pr_warn("oui: %s has no MA-L rows: no vendors", path);
	else
		pr_debug("oui: %u vendor prefixes from %s (%u rows skipped, %u duplicates)", oui.n,
			 path, oui.st.skipped, oui.st.duplicate);
	return 0;
}

const char *oui_vendor(const uint8_t mac[6])
{
	struct oui_entry key, *e;

	if (!oui.n || (mac[0] & 0x03))
		return NULL;
	key.prefix = (uint32_t)mac[0] << 16 | (uint32_t)mac[1] << 8 | mac[2];
	e = bsearch(&key, oui.e, oui.n, sizeof(*oui.e), cmp_entry);
	return e ? oui.pool + e->name : NULL;
}

void oui_get_stats(struct oui_stats *st)
{
	*st = oui.st;
}
