// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* TCP state numbers (include/net/tcp_states.h), as in TCPTRACE_STATE_NAMES. */
enum {
	ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
	CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
};

#define BIT(state)	(1u << (state))

/* The states of a connection once its handshake is done. */
#define SYNCHRONIZED	(BIT(ESTABLISHED) | BIT(FIN_WAIT1) | BIT(FIN_WAIT2) | \
			 BIT(TIME_WAIT) | BIT(CLOSE_WAIT) | BIT(LAST_ACK) | \
			 BIT(CLOSING))

/* Past the scan of this many candidates, a record stays unpaired. */
#define PAIR_SCAN_MAX	1024

uint64_t tt_record_lifetime(const struct tt_record *r)
{
	return r->nr_steps ? r->steps[r->nr_steps - 1].t_ns : 0;
}

static uint32_t state_bit(unsigned int state)
{
	return state < 32 ? BIT(state) : 0;
}

uint32_t tt_record_visited(const struct tt_record *r)
{
	uint32_t visited = state_bit(r->first_state);
	unsigned int i;

	for (i = 0; i < r->nr_steps; i++) {
		visited |= state_bit(r->steps[i].new_state);
		if (r->steps[i].gap)
			visited |= state_bit(r->steps[i].old_state);
	}
	return visited;
}

enum tt_role tt_record_role(const struct tt_record *r)
{
	uint32_t visited = tt_record_visited(r);

	if (visited & BIT(SYN_SENT))
		return TT_ROLE_CLIENT;
	if (visited & (BIT(SYN_RECV) | BIT(NEW_SYN_RECV)))
		return TT_ROLE_SERVER;
	if (visited & BIT(LISTEN))
		return TT_ROLE_LISTENER;
	return TT_ROLE_UNKNOWN;
}

const char *tt_role_name(enum tt_role role)
{
	switch (role) {
	case TT_ROLE_CLIENT:
		return "client";
	case TT_ROLE_SERVER:
		return "server";
	case TT_ROLE_LISTENER:
		return "listener";
	default:
		return "unknown";
	}
}

/* Does entering @state start the handshake of a @role? */
static bool starts_handshake(enum tt_role role, unsigned int state, bool started)
{
	if (role == TT_ROLE_CLIENT)
		return state == SYN_SENT;
	if (role == TT_ROLE_SERVER)
		return state == NEW_SYN_RECV || (state == SYN_RECV && !started);
	return false;
}

bool tt_record_handshake(const struct tt_record *r, uint64_t *ns)
{
	enum tt_role role = tt_record_role(r);
	bool started = false;
	uint64_t start = 0;
	unsigned int i;

	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		if (step->gap)
			started = false;
		if (starts_handshake(role, step->new_state, started)) {
			started = true;
			start = step->t_ns;
		} else if (step->new_state == ESTABLISHED && started) {
			*ns = step->t_ns >= start ? step->t_ns - start : 0;
			return true;
		} else if (step->new_state == CLOSE) {
			started = false;
		}
	}
	return false;
}

uint64_t tt_record_unexpected(const struct tt_record *r)
{
	uint64_t flagged = 0;
	unsigned int i;

	for (i = 0; i < r->nr_steps; i++)
		flagged += r->steps[i].unexpected;
	return flagged > r->unexpected ? flagged : r->unexpected;
}

unsigned int tt_record_gaps(const struct tt_record *r)
{
	unsigned int gaps = 0, i;

	for (i = 0; i < r->nr_steps; i++)
		gaps += r->steps[i].gap;
	return gaps;
}

bool tt_record_anomalous(const struct tt_record *r)
{
	return tt_record_unexpected(r) || tt_record_gaps(r) || r->dropped;
}

bool tt_step_stays(const struct tt_record *r, unsigned int i)
{
	unsigned int before;

	if (i >= r->nr_steps || r->steps[i].gap)
		return false;
	before = i ? r->steps[i - 1].new_state : r->first_state;
	return r->steps[i].new_state == before;
}

bool tt_step_handover_stays(const struct tt_record *r, unsigned int i)
{
	return tt_step_stays(r, i) && r->steps[i].timewait &&
	       !r->steps[i].unexpected;
}

bool tt_state_handed_over(const struct tt_record *r, unsigned int n)
{
	return (n && n <= r->nr_steps && r->steps[n - 1].timewait) ||
	       tt_step_handover_stays(r, n);
}

unsigned int tt_record_spans(const struct tt_record *r,
			     struct tt_span spans[TCPTRACE_MAX_STEPS + 1])
{
	unsigned int state = r->first_state, n = 0, i;
	bool known = false;	/* was the entry into @state seen? */
	uint64_t start = 0;

	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		if (tt_step_stays(r, i))
			continue;
		if (known && !step->gap)
			spans[n++] = (struct tt_span){
				.state = (uint8_t)state,
				.start = start,
				.duration = step->t_ns >= start ? step->t_ns - start : 0,
			};
		state = step->new_state;
		start = step->t_ns;
		known = true;
	}
	return n;
}

/* ---- relative sequence numbers -------------------------------------- */

/* Has @r a step from @from (any state if -1) into @to that is not derived? */
static bool has_step(const struct tt_record *r, int from, unsigned int to)
{
	unsigned int i;

	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		if (step->new_state == to && !step->derived &&
		    (from < 0 || step->old_state == from))
			return true;
	}
	return false;
}

/*
 * Are @r's counters @has (TT_HAS_BYTES_*) worth reading: was it done by a
 * close of its own kind, every step seen and none unexpected? A history
 * that was reset, aborted, refused or timed out may have been cut short
 * anywhere; a live one has no counters.
 */
static bool counters_trusted(const struct tt_record *r, unsigned int has)
{
	if (r->kind != TT_KIND_DONE || (r->has & (has | TT_HAS_END)) != (has | TT_HAS_END) ||
	    (r->has & TT_HAS_RST_REASON) || tt_record_anomalous(r))
		return false;
	return r->end == TCPTRACE_END_ACTIVE_CLOSE ||
	       r->end == TCPTRACE_END_PASSIVE_CLOSE ||
	       r->end == TCPTRACE_END_SIMULTANEOUS_CLOSE;
}

/*
 * The counters are the kernel's tp->bytes_acked and tp->bytes_received,
 * read once, when the socket reached CLOSE: for an active closer, when
 * it was handed over to a timewait socket. bytes_acked grows with every
 * advance of snd_una (tcp_snd_una_update()), bytes_received with every
 * advance of rcv_nxt by tcp_rcv_nxt_update(), which counts a FIN it
 * receives (its end_seq does). Of the SYNs, only the client's
 * bytes_acked counts one, its own: its snd_una starts at its ISN and the
 * SYN,ACK advances it by 1. Its rcv_nxt is set to the server's ISN + 1,
 * and a server's child starts with snd_una = its ISN + 1 and rcv_nxt =
 * the client's ISN + 1. So with c bytes of data from the client and s
 * from the server, once both FINs were sent and acknowledged:
 *
 *	client: bytes_acked = 1 + c + 1		bytes_received = s + 1
 *	server: bytes_acked = s + 1		bytes_received = c + 1
 *
 * and the client's FIN has the relative sequence number u = 1 + c (its
 * SYN takes 0), the server's w = 1 + s. That is:
 *
 * 1. @r's FIN is at @peer's bytes_received, if @peer had received it
 *    when its counters were read: it went into CLOSE_WAIT or CLOSING, or
 *    into TIME_WAIT by a step of its own, not a derived one. (A socket
 *    handed over in FIN_WAIT2 read its counters before the FIN came:
 *    its timewait socket's FIN_WAIT2>TIME_WAIT is derived.)
 * 2. Else at @r's own bytes_acked, less 1 for a client's SYN, if @r's FIN
 *    had been acknowledged when its counters were read: it went into
 *    FIN_WAIT2, from CLOSING into TIME_WAIT, or from LAST_ACK into CLOSE.
 *    Without a known role, there is no telling whether a SYN is counted.
 *
 * The counters must be trusted (counters_trusted()) and count the FIN at
 * least. Relative numbers are modulo 2^32, as on the wire.
 */
bool tt_fin_seq(const struct tt_record *r, const struct tt_record *peer,
		uint32_t *seq)
{
	enum tt_role role = tt_record_role(r);
	uint64_t syn = role == TT_ROLE_CLIENT;

	if (counters_trusted(peer, TT_HAS_BYTES_RECEIVED) && peer->bytes_received >= 1 &&
	    (tt_record_visited_state(peer, CLOSE_WAIT) ||
	     tt_record_visited_state(peer, CLOSING) ||
	     has_step(peer, -1, TIME_WAIT))) {
		*seq = (uint32_t)peer->bytes_received;
		return true;
	}
	if ((role == TT_ROLE_CLIENT || role == TT_ROLE_SERVER) &&
	    counters_trusted(r, TT_HAS_BYTES_ACKED) && r->bytes_acked >= syn + 1 &&
	    (has_step(r, -1, FIN_WAIT2) || has_step(r, CLOSING, TIME_WAIT) ||
	     has_step(r, LAST_ACK, CLOSE))) {
		*seq = (uint32_t)(r->bytes_acked - syn);
		return true;
	}
	return false;
}

/* ---- reset reasons -------------------------------------------------- */

void tt_rst_reasons_add(struct tt_rst_reasons *c, const struct tt_record *r)
{
	unsigned int i;

	if (!(r->has & TT_HAS_RST_REASON))
		return;
	/* Linear: a host sees a handful of reasons. */
	for (i = 0; i < c->nr; i++) {
		if (strcmp(c->reasons[i].name, r->rst_reason) == 0) {
			c->reasons[i].count++;
			return;
		}
	}
	if (c->nr == TT_RST_REASONS) {
		c->other++;
		return;
	}
	strcpy(c->reasons[c->nr].name, r->rst_reason);
	c->reasons[c->nr++].count = 1;
}

/* Does reason @a come before @b? */
static bool rst_reason_before(const struct tt_rst_reasons *c, bool by_count,
			      unsigned int a, unsigned int b)
{
	if (by_count && c->reasons[a].count != c->reasons[b].count)
		return c->reasons[a].count > c->reasons[b].count;
	return strcmp(c->reasons[a].name, c->reasons[b].name) < 0;
}

void tt_rst_reasons_sort(const struct tt_rst_reasons *c, bool by_count,
			 unsigned int order[])
{
	unsigned int i, j;

	/* Insertion sort: there are few. */
	for (i = 0; i < c->nr; i++) {
		for (j = i; j > 0 && rst_reason_before(c, by_count, i, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

/* ---- log-linear histograms ----------------------------------------- */

/* 63 - clz: the e of 2^e <= @value < 2^(e+1); @value must not be 0. */
static unsigned int log2_floor(uint64_t value)
{
	return 63 - (unsigned int)__builtin_clzll(value);
}

unsigned int tt_histogram_bucket(uint64_t value)
{
	unsigned int e, shift;

	if (value < 2 * TT_HISTOGRAM_SUB)
		return (unsigned int)value;
	/* TT_HISTOGRAM_SUB buckets in [2^e, 2^(e+1)): the top SUB_BITS + 1 bits. */
	e = log2_floor(value);
	shift = e - TT_HISTOGRAM_SUB_BITS;
	return 2 * TT_HISTOGRAM_SUB + (e - TT_HISTOGRAM_SUB_BITS - 1) * TT_HISTOGRAM_SUB +
	       (unsigned int)(value >> shift) - TT_HISTOGRAM_SUB;
}

/* How far bucket @k's values are shifted: log2 of its width. */
static unsigned int bucket_shift(unsigned int k)
{
	return k < 2 * TT_HISTOGRAM_SUB ? 0 : (k - 2 * TT_HISTOGRAM_SUB) / TT_HISTOGRAM_SUB + 1;
}

uint64_t tt_histogram_bucket_low(unsigned int k)
{
	if (k < 2 * TT_HISTOGRAM_SUB)
		return k;
	return (uint64_t)(TT_HISTOGRAM_SUB + (k - 2 * TT_HISTOGRAM_SUB) % TT_HISTOGRAM_SUB) <<
	       bucket_shift(k);
}

uint64_t tt_histogram_bucket_last(unsigned int k)
{
	/* The last bucket ends at UINT64_MAX exactly: no overflow. */
	return tt_histogram_bucket_low(k) + (((uint64_t)1 << bucket_shift(k)) - 1);
}

void tt_histogram_add(struct tt_histogram *h, uint64_t value)
{
	h->count++;
	if (value > h->max)
		h->max = value;
	h->buckets[tt_histogram_bucket(value)]++;
}

uint64_t tt_histogram_percentile(const struct tt_histogram *h, unsigned int pct)
{
	uint64_t rank, seen = 0, last;
	unsigned int k;

	if (!h->count)
		return 0;
	/* The rank of the percentile, 1-based: ceil(count * pct / 100). */
	rank = h->count / 100 * pct + (h->count % 100 * pct + 99) / 100;
	if (rank == 0)
		rank = 1;
	for (k = 0; k < TT_HISTOGRAM_BUCKETS - 1; k++) {
		seen += h->buckets[k];
		if (seen >= rank)
			break;
	}
	/*
	 * The rank-th value is in bucket k, at most its last value and at
	 * most the maximum: never below the true value, and above it by less
	 * than the bucket's width, which is at most 1/TT_HISTOGRAM_SUB of it.
	 */
	last = tt_histogram_bucket_last(k);
	return last < h->max ? last : h->max;
}

unsigned int tt_histogram_octave(uint64_t value)
{
	return value ? log2_floor(value) + 1 : 0;
}

uint64_t tt_histogram_octave_low(unsigned int o)
{
	return o ? (uint64_t)1 << (o - 1) : 0;
}

uint64_t tt_histogram_octave_high(unsigned int o)
{
	if (o >= 64)
		return UINT64_MAX;
	return (uint64_t)1 << o;
}

uint64_t tt_histogram_octave_count(const struct tt_histogram *h, unsigned int o)
{
	unsigned int first, last, k;
	uint64_t sum = 0;

	if (o >= TT_HISTOGRAM_OCTAVES)
		return 0;
	first = tt_histogram_bucket(tt_histogram_octave_low(o));
	last = o >= 64 ? TT_HISTOGRAM_BUCKETS - 1 :
			 tt_histogram_bucket(tt_histogram_octave_high(o) - 1);
	for (k = first; k <= last; k++)
		sum += h->buckets[k];
	return sum;
}

/* ---- addresses and pairing ------------------------------------------ */

static const unsigned char v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

void tt_endpoint_addr(const struct tt_endpoint *ep, enum tt_family family,
		      struct tt_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (family == TT_FAMILY_IPV4) {
		addr->len = 4;
		memcpy(addr->bytes, ep->bin, 4);
	} else if (memcmp(ep->bin, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		addr->len = 4;
		memcpy(addr->bytes, ep->bin + 12, 4);
	} else {
		addr->len = 16;
		memcpy(addr->bytes, ep->bin, 16);
	}
}

/* An address and port, ready to compare. */
struct pair_endpoint {
	struct tt_addr addr;
	uint16_t port;
};

/* A record that may pair, by the connection it belongs to. */
struct pair_item {
	size_t index;			/* in the records given */
	unsigned int group;		/* only one group's records pair */
	uint64_t netns;
	struct pair_endpoint lo, hi;	/* its two endpoints, ordered */
	bool local_is_lo;		/* which side of the connection it is */
	bool synchronized;
	bool paired;
	uint64_t start, end;		/* when it lived, in CLOCK_MONOTONIC ns */
};

static int compare_endpoints(const struct pair_endpoint *a,
			     const struct pair_endpoint *b)
{
	int diff;

	if (a->addr.len != b->addr.len)
		return a->addr.len < b->addr.len ? -1 : 1;
	diff = memcmp(a->addr.bytes, b->addr.bytes, a->addr.len);
	if (diff)
		return diff;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

/* Same group, netns and two endpoints: the same connection's records. */
static int compare_connection(const struct pair_item *a, const struct pair_item *b)
{
	int diff;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	diff = compare_endpoints(&a->lo, &b->lo);
	return diff ? diff : compare_endpoints(&a->hi, &b->hi);
}

static int compare_items(const void *pa, const void *pb)
{
	const struct pair_item *a = pa, *b = pb;
	int diff = compare_connection(a, b);

	if (diff)
		return diff;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Fill @item from @r; false if @r has no remote end to pair with. */
static bool make_item(const struct tt_record *r, size_t index,
		      unsigned int group, struct pair_item *item)
{
	struct pair_endpoint local, remote;
	uint64_t lifetime = tt_record_lifetime(r);

	if (r->local.port == 0 || r->remote.port == 0)
		return false;
	tt_endpoint_addr(&r->local, r->family, &local.addr);
	local.port = r->local.port;
	tt_endpoint_addr(&r->remote, r->family, &remote.addr);
	remote.port = r->remote.port;

	*item = (struct pair_item){
		.index = index,
		.group = group,
		.netns = r->has & TT_HAS_NETNS ? r->netns : 0,
		.local_is_lo = compare_endpoints(&local, &remote) <= 0,
		.synchronized = tt_record_visited(r) & SYNCHRONIZED,
		.start = r->t0,
	};
	item->lo = item->local_is_lo ? local : remote;
	item->hi = item->local_is_lo ? remote : local;
	if (r->kind == TT_KIND_LIVE || r->t0 > UINT64_MAX - lifetime)
		item->end = UINT64_MAX;
	else
		item->end = r->t0 + lifetime;
	return true;
}

static bool can_pair(const struct pair_item *a, const struct pair_item *b,
		     bool synchronized_only)
{
	if (a == b || b->paired || a->local_is_lo == b->local_is_lo)
		return false;
	if (synchronized_only && !b->synchronized)
		return false;
	return a->start <= b->end && b->start <= a->end;
}

/* Which of two paired records opened the connection (the left column). */
static bool is_client(const struct tt_record *a, const struct tt_record *b)
{
	enum tt_role ra = tt_record_role(a), rb = tt_record_role(b);

	if ((ra == TT_ROLE_CLIENT) != (rb == TT_ROLE_CLIENT))
		return ra == TT_ROLE_CLIENT;
	if ((ra == TT_ROLE_SERVER) != (rb == TT_ROLE_SERVER))
		return rb == TT_ROLE_SERVER;
	/* No telling: the ephemeral port is usually the higher one. */
	if (a->local.port != b->local.port)
		return a->local.port > b->local.port;
	return a->t0 <= b->t0;
}

static void add_pair(const struct tt_record *records, struct pair_item *a,
		     struct pair_item *b, struct tt_pair *pair)
{
	bool a_client = is_client(&records[a->index], &records[b->index]);

	a->paired = b->paired = true;
	pair->client = a_client ? a->index : b->index;
	pair->server = a_client ? b->index : a->index;
	pair->group = a->group;
	pair->start = a->start < b->start ? a->start : b->start;
}

/* Pair within one connection's items, sorted by start. */
static size_t pair_group(const struct tt_record *records, struct pair_item *group,
			 size_t n, bool synchronized_only, struct tt_pair *pairs)
{
	size_t nr_pairs = 0, i, j;

	for (i = 0; i < n; i++) {
		unsigned int scanned = 0;

		if (group[i].paired || (synchronized_only && !group[i].synchronized))
			continue;
		for (j = 0; j < n && scanned < PAIR_SCAN_MAX; j++, scanned++) {
			if (can_pair(&group[i], &group[j], synchronized_only)) {
				add_pair(records, &group[i], &group[j], &pairs[nr_pairs++]);
				break;
			}
		}
	}
	return nr_pairs;
}

static int compare_pairs(const void *pa, const void *pb)
{
	const struct tt_pair *a = pa, *b = pb;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->client < b->client ? -1 : a->client > b->client;
}

bool tt_pair_records(const struct tt_record *records, const unsigned int *groups,
		     size_t n, struct tt_pair *pairs, size_t *nr_pairs,
		     size_t *unpaired, size_t *nr_unpaired)
{
	struct pair_item *items = NULL;
	size_t nr_items = 0, i, start, end;
	bool *paired = NULL;
	int pass;

	*nr_pairs = *nr_unpaired = 0;
	if (n) {
		items = calloc(n, sizeof(*items));
		paired = calloc(n, sizeof(*paired));
		if (!items || !paired) {
			free(items);
			free(paired);
			errno = ENOMEM;
			return false;
		}
	}
	for (i = 0; i < n; i++)
		nr_items += make_item(&records[i], i, groups ? groups[i] : 0,
				      &items[nr_items]);
	if (nr_items)
		qsort(items, nr_items, sizeof(*items), compare_items);

	/* Synchronized ones first: a connection beats a request that failed. */
	for (pass = 0; pass < 2; pass++) {
		for (start = 0; start < nr_items; start = end) {
			for (end = start + 1; end < nr_items &&
			     compare_connection(&items[start], &items[end]) == 0; end++)
				;
			*nr_pairs += pair_group(records, items + start, end - start,
						pass == 0, pairs + *nr_pairs);
		}
	}
	if (*nr_pairs)
		qsort(pairs, *nr_pairs, sizeof(*pairs), compare_pairs);

	for (i = 0; i < nr_items; i++)
		paired[items[i].index] = items[i].paired;
	for (i = 0; i < n; i++)
		if (!paired[i])
			unpaired[(*nr_unpaired)++] = i;
	free(items);
	free(paired);
	return true;
}
