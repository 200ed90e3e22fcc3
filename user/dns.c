// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNS messages -> query reports and (name, address) answers. ldns does the wire parsing
 * (names, compression pointers, label and name lengths); this module bounds the work before
 * ldns sees a message, matches responses to remembered queries and follows CNAME chains.
 *
 * There is no separate address -> names cache with TTL expiry: the node cache keeps every
 * (address, domain) pair for the life of the node, and an idle remote node lives for
 * node_cache_retain_time (1800 s) after its last traffic, longer than any floored TTL, so a
 * second map would only duplicate it. The floored TTL is still reported for callers that
 * want it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ldns/ldns.h>
#include <uthash.h>
#include <utlist.h>

#include "dns.h"

#define DNS_HDR_LEN	 12
#define DNS_MIN_QUESTION 5  /* root name + type + class */
#define DNS_MIN_RR	 11 /* root name + type + class + ttl + rdlength */
#define DNAME_WIRE_MAX	 255

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* A name in canonical (lower-case) uncompressed wire form, zero-padded for hashing. */
struct wname {
	uint8_t len;
	uint8_t data[DNAME_WIRE_MAX];
};

struct pending_key {
	struct spin_addr client;
	struct spin_addr resolver;
	uint16_t client_port;
	uint16_t resolver_port;
	uint16_t id;
	struct wname qname;
};

struct pending {
	struct pending_key key;
	time_t expires;
	UT_hash_handle hh;
	struct pending *prev, *next; /* oldest first: the expiry order */
};

struct fold_key {
	struct spin_addr client;
	struct wname qname;
};

struct fold {
	struct fold_key key;
	time_t reported;
	UT_hash_handle hh;
	struct fold *prev, *next; /* least recently reported first */
};

static struct {
	struct dns_ops ops;
	unsigned int ttl_floor;
	struct pending *pending; /* hash */
	struct pending *pending_fifo;
	unsigned int n_pending;
	struct fold *folds; /* hash */
	struct fold *fold_fifo;
	unsigned int n_folds;
	struct dns_stats st;
} ds;

/* ---- remembered queries ---- */

static void pending_del(struct pending *p)
{
	HASH_DEL(ds.pending, p);
	DL_DELETE(ds.pending_fifo, p);
	ds.n_pending--;
	free(p);
}

static void pending_add(const struct pending_key *key, time_t now)
{
	struct pending *p;

	HASH_FIND(hh, ds.pending, key, sizeof(*key), p);
	if (p) {
		/* A retransmission: same query, later deadline. */
		DL_DELETE(ds.pending_fifo, p);
	} else {
		if (ds.n_pending >= DNS_MAX_PENDING) {
			ds.st.pending_full++;
			pending_del(ds.pending_fifo);
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->key = *key;
		HASH_ADD(hh, ds.pending, key, sizeof(p->key), p);
		ds.n_pending++;
	}
	p->expires = now + DNS_QUERY_TIMEOUT;
	DL_APPEND(ds.pending_fifo, p);
}

/* ---- folding of repeated queries ---- */

static void fold_del(struct fold *f)
{
	HASH_DEL(ds.folds, f);
	DL_DELETE(ds.fold_fifo, f);
	ds.n_folds--;
	free(f);
}

/* true when (client, qname) was reported less than a second ago. */
static bool fold_seen(const struct spin_addr *client, const struct wname *qname, time_t now)
{
	struct fold_key key;
	struct fold *f;

	memset(&key, 0, sizeof(key));
	key.client = *client;
	key.qname = *qname;
	HASH_FIND(hh, ds.folds, &key, sizeof(key), f);
	if (f && now - f->reported < 1)
		return true;
	if (f) {
		DL_DELETE(ds.fold_fifo, f);
	} else {
		if (ds.n_folds >= DNS_MAX_PENDING)
			fold_del(ds.fold_fifo);
		f = calloc(1, sizeof(*f));
		if (!f)
			return false;
		f->key = key;
		HASH_ADD(hh, ds.folds, key, sizeof(f->key), f);
		ds.n_folds++;
	}
	f->reported = now;
	DL_APPEND(ds.fold_fifo, f);
	return false;
}

/* ---- parsing ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Rejects what cannot be a DNS message before ldns allocates anything for it: shorter than
 * a header, or more records than the bytes could hold.
 */
static int precheck(const uint8_t *msg, size_t len)
{
	size_t need;

	if (len < DNS_HDR_LEN)
		return -EINVAL;
	need = DNS_HDR_LEN + (size_t)get16(msg + 4) * DNS_MIN_QUESTION +
	       ((size_t)get16(msg + 6) + get16(msg + 8) + get16(msg + 10)) * DNS_MIN_RR;
	return need > len ? -EINVAL : 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The offset after the (possibly compressed) name at pos; 0 if it runs past the end. */
static size_t skip_name(const uint8_t *msg, size_t len, size_t pos)
{
	for (int labels = 0; labels < 128 && pos < len; labels++) {
		uint8_t b = msg[pos];

		if (b == 0)
			return pos + 1;
		if ((b & 0xc0) == 0xc0)
			return pos + 2 <= len ? pos + 2 : 0;
		if (b & 0xc0)
			return 0;
		pos += 1u + b;
	}
	return 0;
}

/*
 * ldns reads as many rdata fields as a record type has and does not check that they fill the
 * record's rdlength: an A record with 16 bytes of data comes out as the address in its first 4,
 * and the next record is then read from the middle of that data. So the answer section is
 * walked here by rdlength: an A record must carry exactly 4 bytes, an AAAA exactly 16, and
 * every record must be the one ldns saw at that place (type, class, TTL; A/AAAA: the address).
 */
static int check_answer_wire(const uint8_t *msg, size_t len, const ldns_pkt *pkt)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t pos = DNS_HDR_LEN, i, qd = get16(msg + 4), n_an = get16(msg + 6);

	for (i = 0; i < qd; i++) {
		pos = skip_name(msg, len, pos);
		if (!pos || len - pos < 4)
			return -EINVAL;
		pos += 4;
	}
	if (ldns_rr_list_rr_count(an) != n_an)
		return -EINVAL;
	for (i = 0; i < n_an; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		uint16_t type, rdlen;

		pos = skip_name(msg, len, pos);
		if (!pos || len - pos < 10)
			return -EINVAL;
		type = get16(msg + pos);
		rdlen = get16(msg + pos + 8);
		if (ldns_rr_get_type(rr) != type || ldns_rr_get_class(rr) != get16(msg + pos + 2) ||
		    ldns_rr_ttl(rr) != get32(msg + pos + 4))
			return -EINVAL;
		pos += 10;
		if (rdlen > len - pos)
			return -EINVAL;
		if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA) {
			const ldns_rdf *rd = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;

			if (rdlen != (type == LDNS_RR_TYPE_A ? 4 : 16) || !rd ||
			    ldns_rdf_size(rd) != rdlen ||
			    memcmp(ldns_rdf_data(rd), msg + pos, rdlen))
				return -EINVAL;
		}
		pos += rdlen;
	}
	return 0;
}

/* A canonical copy of a name rdf in wire form; -EINVAL if it is not a name. */
static int to_wname(const ldns_rdf *rdf, struct wname *w)
{
	size_t len;

	memset(w, 0, sizeof(*w));
	if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return -EINVAL;
	len = ldns_rdf_size(rdf);
	if (len == 0 || len > DNAME_WIRE_MAX)
		return -EINVAL;
	memcpy(w->data, ldns_rdf_data(rdf), len);
	w->len = (uint8_t)len;
	/* Lower-case the label bytes (not the length bytes). */
	for (size_t i = 0; i < len && w->data[i];) {
		size_t lab = w->data[i], j;

		for (j = i + 1; j <= i + lab && j < len; j++)
			if (w->data[j] >= 'A' && w->data[j] <= 'Z')
				w->data[j] += 'a' - 'A';
		i += lab + 1;
	}
	return 0;
}

/* Presentation form of a wire name; NULL on allocation failure. Free with free(). */
static char *wname_str(const struct wname *w)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, w->len, w->data);
	char *s;

	if (!rdf)
		return NULL;
	s = ldns_rdf2str(rdf);
	ldns_rdf_deep_free(rdf);
	return s;
}

static bool wname_eq(const struct wname *a, const struct wname *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* The single IN-class question of a QUERY message. */
static int question(const ldns_pkt *pkt, struct wname *qname, uint16_t *qtype)
{
	const ldns_rr *q;

	if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY || ldns_pkt_qdcount(pkt) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
		return -EOPNOTSUPP;
	q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (ldns_rr_get_class(q) != LDNS_RR_CLASS_IN)
		return -EOPNOTSUPP;
	*qtype = ldns_rr_get_type(q);
	return to_wname(ldns_rr_owner(q), qname);
}

/* ---- queries ---- */

static int handle_query(const ldns_pkt *pkt, const struct dns_endpoints *ep,
			const struct wname *qname, uint16_t qtype, time_t now)
{
	struct pending_key key;
	char *name;

	if (!ep->client_is_lan) {
		ds.st.queries_not_lan++;
		return 0;
	}
	memset(&key, 0, sizeof(key));
	key.client = ep->saddr;
	key.client_port = ep->sport;
	key.resolver = ep->daddr;
	key.resolver_port = ep->dport;
	key.id = ldns_pkt_id(pkt);
	key.qname = *qname;
	pending_add(&key, now);
	ds.st.queries++;

	if (fold_seen(&ep->saddr, qname, now)) {
		ds.st.queries_folded++;
		return 0;
	}
	name = wname_str(qname);
	if (!name)
		return -ENOMEM;
	ds.st.queries_reported++;
	if (ds.ops.query)
		ds.ops.query(&ep->saddr, name, qtype, ds.ops.ctx);
	free(name);
	return 0;
}

/* ---- responses ---- */

static uint32_t clamp_ttl(uint32_t ttl)
{
	if (ttl < ds.ttl_floor)
		ttl = ds.ttl_floor;
	return ttl > DNS_TTL_CAP ? DNS_TTL_CAP : ttl;
}

/* The CNAME from 'owner' in the answer section, or NULL. */
static const ldns_rr *find_cname(const ldns_rr_list *an, const struct wname *owner)
{
	struct wname w;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 1)
			continue;
		if (!to_wname(ldns_rr_owner(rr), &w) && wname_eq(&w, owner))
			return rr;
	}
	return NULL;
}

/*
 * Follows the chain from the question name; chain[0] is the question name. Returns the
 * number of names and the smallest TTL of the links in *ttl.
 */
static int follow_cnames(const ldns_rr_list *an, struct wname *chain, uint32_t *ttl)
{
	int n = 1;

	while (n < DNS_MAX_CNAME + 1) {
		const ldns_rr *rr = find_cname(an, &chain[n - 1]);
		int i;

		if (!rr || to_wname(ldns_rr_rdf(rr, 0), &chain[n]))
			return n;
		for (i = 0; i < n && !wname_eq(&chain[i], &chain[n]); i++)
			;
		if (i < n) /* a loop: the names so far are all there is */
			return n;
		if (ldns_rr_ttl(rr) < *ttl)
			*ttl = ldns_rr_ttl(rr);
		n++;
	}
	if (find_cname(an, &chain[n - 1]))
		ds.st.cname_too_deep++;
	return n;
}

/*
 * Addresses no name may ever be attached to, whoever answers: unspecified, "this network"
 * (0/8), loopback, link-local, multicast, and 240/4 (reserved, with the limited broadcast
 * 255.255.255.255). IPv4 is checked in its IPv4-mapped form, so an AAAA record of
 * ::ffff:127.0.0.1 is refused like an A record of 127.0.0.1.
 */
static bool never_named(const struct spin_addr *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a->a, v4_mapped, sizeof(v4_mapped))) {
		const uint8_t *v4 = a->a + 12;

		return v4[0] == 0 || v4[0] == 127 || (v4[0] == 169 && v4[1] == 254) || v4[0] >= 224;
	}
	if (!memcmp(a->a, zero, 15)) /* :: and ::1 */
		return a->a[15] <= 1;
	return a->a[0] == 0xff || (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80);
}

/*
 * The distinct addresses of the A/AAAA records owned by 'owner', at most DNS_MAX_ADDRS, with
 * their TTLs. Refused and surplus records are counted. Returns how many were stored.
 */
static int collect_addrs(const ldns_rr_list *an, const struct wname *owner, struct spin_addr *addrs,
			 uint32_t *ttls)
{
	struct spin_addr a;
	struct wname w;
	size_t i;
	int n = 0, j;

	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		const ldns_rdf *rd;

		if ((t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 1)
			continue;
		if (to_wname(ldns_rr_owner(rr), &w) || !wname_eq(&w, owner))
			continue;
		rd = ldns_rr_rdf(rr, 0);
		memset(&a, 0, sizeof(a));
		if (t == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4) {
			memcpy(a.a, v4_mapped, sizeof(v4_mapped));
			memcpy(a.a + 12, ldns_rdf_data(rd), 4);
		} else if (t == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
			memcpy(a.a, ldns_rdf_data(rd), 16);
		} else {
			continue; /* check_answer_wire() made the message malformed already */
		}
		if (never_named(&a) || (ds.ops.is_local && ds.ops.is_local(&a, ds.ops.ctx))) {
			ds.st.addrs_refused++;
			continue;
		}
		for (j = 0; j < n && memcmp(&addrs[j], &a, sizeof(a)); j++)
			;
		if (j < n) { /* a repeat: the smaller TTL */
			if (ldns_rr_ttl(rr) < ttls[j])
				ttls[j] = ldns_rr_ttl(rr);
			continue;
		}
		if (n >= DNS_MAX_ADDRS) {
			ds.st.addrs_capped++;
			continue;
		}
		addrs[n] = a;
		ttls[n++] = ldns_rr_ttl(rr);
	}
	return n;
}

static int report_answers(const ldns_pkt *pkt, const struct wname *qname,
			  const struct spin_addr *client)
{
	struct wname chain[DNS_MAX_CNAME + 1];
	struct spin_addr addrs[DNS_MAX_ADDRS];
	uint32_t ttls[DNS_MAX_ADDRS];
	char *names[DNS_MAX_CNAME + 1] = {0};
	uint32_t chain_ttl = UINT32_MAX;
	int n_names, n_addrs, i, j, err = 0;

	chain[0] = *qname;
	n_names = follow_cnames(ldns_pkt_answer(pkt), chain, &chain_ttl);
	n_addrs = collect_addrs(ldns_pkt_answer(pkt), &chain[n_names - 1], addrs, ttls);
	if (!n_addrs)
		return 0;
	for (i = 0; i < n_names; i++) {
		names[i] = wname_str(&chain[i]);
		if (!names[i]) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (j = 0; j < n_addrs; j++) {
		uint32_t ttl = clamp_ttl(ttls[j] < chain_ttl ? ttls[j] : chain_ttl);

		for (i = 0; i < n_names; i++) {
			ds.st.answers++;
			if (ds.ops.answer)
				ds.ops.answer(client, names[i], &addrs[j], ttl, ds.ops.ctx);
		}
	}
cleanup:
	for (i = 0; i < n_names; i++)
		free(names[i]);
	return err;
}

static int handle_response(const ldns_pkt *pkt, const struct dns_endpoints *ep,
			   const struct wname *qname)
{
	struct pending_key key;
	struct pending *p;

	memset(&key, 0, sizeof(key));
	key.client = ep->daddr;
	key.client_port = ep->dport;
	key.resolver = ep->saddr;
	key.resolver_port = ep->sport;
	key.id = ldns_pkt_id(pkt);
	key.qname = *qname;
	HASH_FIND(hh, ds.pending, &key, sizeof(key), p);
	if (!p) {
		ds.st.unmatched++;
		return -EPERM;
	}
	/* One answer per query: a second (spoofed or duplicated) one finds nothing. */
	pending_del(p);
	ds.st.responses++;
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		ds.st.bad_rcode++;
		return 0;
	}
	if (ldns_pkt_tc(pkt)) {
		ds.st.tc_set++;
		return 0;
	}
	return report_answers(pkt, qname, &ep->daddr);
}

/* ---- public API ---- */

int dns_init(const struct dns_ops *ops, unsigned int ttl_floor)
{
	dns_destroy();
	if (ops)
		ds.ops = *ops;
	ds.ttl_floor = ttl_floor ? ttl_floor : DNS_TTL_FLOOR;
	return 0;
}

void dns_destroy(void)
{
	while (ds.pending_fifo)
		pending_del(ds.pending_fifo);
	while (ds.fold_fifo)
		fold_del(ds.fold_fifo);
	memset(&ds, 0, sizeof(ds));
}

int dns_handle_message(const uint8_t *msg, size_t len, const struct dns_endpoints *ep, time_t now)
{
	ldns_pkt *pkt = NULL;
	struct wname qname;
	uint16_t qtype = 0;
	int err;

	ds.st.messages++;
	if (!msg || precheck(msg, len) || ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK) {
		ds.st.malformed++;
		return -EINVAL;
	}
	if (check_answer_wire(msg, len, pkt)) {
		ds.st.malformed++;
		err = -EINVAL;
		goto cleanup;
	}
	err = question(pkt, &qname, &qtype);
	if (err) {
		if (err == -EOPNOTSUPP)
			ds.st.unsupported++;
		else
			ds.st.malformed++;
		goto cleanup;
	}
	if (ldns_pkt_qr(pkt))
		err = handle_response(pkt, ep, &qname);
	else
		err = handle_query(pkt, ep, &qname, qtype, now);
cleanup:
	ldns_pkt_free(pkt);
	return err;
}

void dns_tick(time_t now)
{
	while (ds.pending_fifo && ds.pending_fifo->expires <= now) {
		ds.st.expired++;
		pending_del(ds.pending_fifo);
	}
	while (ds.fold_fifo && now - ds.fold_fifo->reported >= 1)
		fold_del(ds.fold_fifo);
}

void dns_get_stats(struct dns_stats *st)
{
	*st = ds.st;
}

unsigned int dns_pending_count(void)
{
	return ds.n_pending;
}
