// SPDX-License-Identifier: GPL-2.0
/*
 * --metrics: the histories and the module's counters as an OpenMetrics
 * text exposition, for Prometheus or node_exporter's textfile collector.
 *
 * Durations come from the same model.c helpers as --summary, so both
 * views agree; they go into fixed buckets in seconds (not the log2 ones
 * of --summary) because a Prometheus histogram's bounds must not change
 * from one scrape to the next. Every label has a small, fixed set of
 * values (state, end reason, side, family, the kernel's reset reason): a
 * per-socket label would make a new series per connection.
 *
 * With --metrics-netns (by_netns), the families computed from records
 * are counted per network namespace and get a netns="INODE" label first:
 * at most TT_METRICS_NETNS inodes, those seen first; the records of any
 * other are counted under netns="other", those without netns= under
 * netns="unknown". Each namespace's counts are allocated when first seen,
 * about 9 KiB of them: 2.3 MiB at most for the 258 label values.
 * The module's counters and the lost histories stay without the label:
 * they are the whole module's, of no one namespace.
 *
 * The TYPE line of a counter names it with its _total suffix: that is
 * what the Prometheus text parser (and promtool check metrics) matches
 * against the samples; OpenMetrics parsers accept it too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "views.h"

/* TCP state numbers, as in TCPTRACE_STATE_NAMES. */
enum { TIME_WAIT = 6 };

/*
 * Bucket bounds: 1, 2.5 and 5 per decade from 10us to 100s, in
 * nanoseconds and as written in le="...". Documented in tcptrace.1 and
 * Documentation/tcptrace.rst: changing them breaks stored series.
 */
static const struct {
	uint64_t ns;
	const char *le;
} bounds[] = {
	{ 10000ULL, "1e-05" }, { 25000ULL, "2.5e-05" }, { 50000ULL, "5e-05" },
	{ 100000ULL, "0.0001" }, { 250000ULL, "0.00025" }, { 500000ULL, "0.0005" },
	{ 1000000ULL, "0.001" }, { 2500000ULL, "0.0025" }, { 5000000ULL, "0.005" },
	{ 10000000ULL, "0.01" }, { 25000000ULL, "0.025" }, { 50000000ULL, "0.05" },
	{ 100000000ULL, "0.1" }, { 250000000ULL, "0.25" }, { 500000000ULL, "0.5" },
	{ 1000000000ULL, "1" }, { 2500000000ULL, "2.5" }, { 5000000000ULL, "5" },
	{ 10000000000ULL, "10" }, { 25000000000ULL, "25" }, { 50000000000ULL, "50" },
	{ 100000000000ULL, "100" },
};
#define NR_BOUNDS	(sizeof(bounds) / sizeof(bounds[0]))

/* Non-cumulative counts: buckets[NR_BOUNDS] holds those above 100s. */
struct metrics_hist {
	uint64_t count;
	uint64_t sum_ns;	/* saturates rather than wrap: 584 years */
	uint64_t buckets[NR_BOUNDS + 1];
};

#define NR_FAMILIES	2

/* What the records give: of all of them, or of one netns label's. */
struct metrics_counts {
	uint64_t ends[NR_FAMILIES][TCPTRACE_NR_ENDS];
	uint64_t live[NR_FAMILIES];
	uint64_t unexpected[TCPTRACE_NR_STATES][TCPTRACE_NR_STATES];
	struct metrics_hist states[TCPTRACE_NR_STATES];
	struct metrics_hist handshake[2];	/* client, server */
	struct metrics_hist lifetime[NR_FAMILIES];
	struct tt_rst_reasons rst_reasons;
	uint64_t syn_retrans;	/* saturates rather than wrap */
};

/* The netns label's values, in the order printed. */
enum netns_kind { NETNS_INODE, NETNS_UNKNOWN, NETNS_OTHER };

struct metrics_group {
	enum netns_kind kind;
	uint64_t inode;		/* NETNS_INODE */
	char label[32];		/* 'netns="INODE",', or "" without by_netns */
	struct metrics_counts c;
};

/* The inodes, "unknown" and "other". */
#define MAX_GROUPS	(TT_METRICS_NETNS + 2)

struct metrics_view {
	struct tt_view v;
	bool by_netns;
	/* By kind, then inode; one, without a label, without by_netns. */
	struct metrics_group *groups[MAX_GROUPS];
	unsigned int nr_groups;
	unsigned int nr_inodes;	/* groups of kind NETNS_INODE */
	uint64_t lost;
};

static const char *const family_names[NR_FAMILIES] = { "ipv4", "ipv6" };
static const char *const side_names[2] = { "client", "server" };

static void hist_add(struct metrics_hist *h, uint64_t ns)
{
	unsigned int k = 0;

	while (k < NR_BOUNDS && ns > bounds[k].ns)	/* le: bound included */
		k++;
	h->buckets[k]++;
	h->count++;
	h->sum_ns = h->sum_ns + ns < h->sum_ns ? UINT64_MAX : h->sum_ns + ns;
}

/* Order of the groups: NETNS_INODE by inode, then unknown, then other. */
static int group_cmp(enum netns_kind kind, uint64_t inode, const struct metrics_group *g)
{
	if (kind != g->kind)
		return kind < g->kind ? -1 : 1;
	if (inode != g->inode)
		return inode < g->inode ? -1 : 1;
	return 0;
}

/* The group of @kind and @inode, new at @at if not there; NULL: ENOMEM. */
static struct metrics_group *group_insert(struct metrics_view *m, unsigned int at,
					  enum netns_kind kind, uint64_t inode)
{
	struct metrics_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->kind = kind;
	g->inode = inode;
	if (kind == NETNS_INODE)
		snprintf(g->label, sizeof(g->label), "netns=\"%" PRIu64 "\",", inode);
	else
		snprintf(g->label, sizeof(g->label), "netns=\"%s\",",
			 kind == NETNS_OTHER ? "other" : "unknown");
	memmove(&m->groups[at + 1], &m->groups[at],
		(m->nr_groups - at) * sizeof(m->groups[0]));
	m->groups[at] = g;
	m->nr_groups++;
	m->nr_inodes += kind == NETNS_INODE;
	return g;
}

/* Where @r is counted. NULL: out of memory. */
static struct metrics_counts *counts_of(struct metrics_view *m, const struct tt_record *r)
{
	enum netns_kind kind = r->has & TT_HAS_NETNS ? NETNS_INODE : NETNS_UNKNOWN;
	uint64_t inode = kind == NETNS_INODE ? r->netns : 0;
	unsigned int lo = 0, hi = m->nr_groups, mid;
	struct metrics_group *g;
	int cmp;

	if (!m->by_netns)
		return &m->groups[0]->c;
	for (;;) {
		/* Binary search: the groups are in group_cmp() order. */
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			cmp = group_cmp(kind, inode, m->groups[mid]);
			if (!cmp)
				return &m->groups[mid]->c;
			if (cmp < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (kind != NETNS_INODE || m->nr_inodes < TT_METRICS_NETNS)
			break;
		/* No room for another inode: under "other". */
		kind = NETNS_OTHER;
		inode = 0;
		lo = 0;
		hi = m->nr_groups;
	}
	g = group_insert(m, lo, kind, inode);
	return g ? &g->c : NULL;
}

static bool metrics_record(struct tt_view *v, const struct tt_record *r)
{
	struct metrics_view *mv = (struct metrics_view *)v;
	struct metrics_counts *m = counts_of(mv, r);
	struct tt_span spans[TCPTRACE_MAX_STEPS + 1];
	unsigned int family = r->family == TT_FAMILY_IPV6, n, i;
	uint64_t handshake, syn_retrans;

	if (!m) {
		fprintf(stderr, "tcptrace: --metrics: %s\n", strerror(ENOMEM));
		return false;
	}
	syn_retrans = m->syn_retrans + r->syn_retrans;

	if (r->kind == TT_KIND_DONE) {
		/* Format 1 has no end=: "none", the format's "no reason". */
		m->ends[family][r->has & TT_HAS_END ? r->end : TCPTRACE_END_NONE]++;
		/* A lifetime is only known once the history is done. */
		if (r->nr_steps)
			hist_add(&m->lifetime[family], tt_record_lifetime(r));
	} else {
		m->live[family]++;
	}
	n = tt_record_spans(r, spans);
	for (i = 0; i < n; i++)
		if (spans[i].state < TCPTRACE_NR_STATES)
			hist_add(&m->states[spans[i].state], spans[i].duration);
	if (tt_record_handshake(r, &handshake))
		hist_add(&m->handshake[tt_record_role(r) != TT_ROLE_CLIENT], handshake);
	tt_rst_reasons_add(&m->rst_reasons, r);
	m->syn_retrans = syn_retrans < r->syn_retrans ? UINT64_MAX : syn_retrans;
	for (i = 0; i < r->nr_steps; i++)
		if (r->steps[i].unexpected)
			m->unexpected[r->steps[i].old_state % TCPTRACE_NR_STATES]
				     [r->steps[i].new_state % TCPTRACE_NR_STATES]++;
	return true;
}

static void metrics_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	struct metrics_view *m = (struct metrics_view *)v;

	(void)next_seq;
	/* An unknown number is at least one. */
	m->lost += known ? n : 1;
}

/* ---- output --------------------------------------------------------- */

static void print_meta(FILE *out, const char *name, const char *type,
		       const char *unit, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (unit)
		fprintf(out, "# UNIT %s %s\n", name, unit);
}

/*
 * One sample: @labels is "" or 'name="value",' pairs, each with its
 * trailing comma, and @suffix ends the name (_sum, _count, or "").
 */
static void print_sample(FILE *out, const char *name, const char *suffix,
			 const char *labels, uint64_t value)
{
	/* The label list without its trailing comma, or none at all. */
	if (*labels)
		fprintf(out, "%s%s{%.*s} %" PRIu64 "\n", name, suffix,
			(int)strlen(labels) - 1, labels, value);
	else
		fprintf(out, "%s%s %" PRIu64 "\n", name, suffix, value);
}

/* @labels: as for print_sample(). */
static void print_hist(FILE *out, const char *name, const char *labels,
		       const struct metrics_hist *h)
{
	uint64_t cumulative = 0;
	unsigned int k;

	for (k = 0; k < NR_BOUNDS; k++) {
		cumulative += h->buckets[k];
		fprintf(out, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name, labels,
			bounds[k].le, cumulative);
	}
	fprintf(out, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, h->count);
	if (*labels)
		fprintf(out, "%s_sum{%.*s} %" PRIu64 ".%09" PRIu64 "\n", name,
			(int)strlen(labels) - 1, labels, h->sum_ns / 1000000000,
			h->sum_ns % 1000000000);
	else
		fprintf(out, "%s_sum %" PRIu64 ".%09" PRIu64 "\n", name,
			h->sum_ns / 1000000000, h->sum_ns % 1000000000);
	print_sample(out, name, "_count", labels, h->count);
}

/*
 * Only the reasons seen: the kernel's enum, a few dozen names at most, so
 * few series. Past TT_RST_REASONS distinct names, reason="other".
 */
static void print_resets(struct metrics_view *m)
{
	unsigned int order[TT_RST_REASONS], i, g;
	FILE *out = m->v.out;
	char labels[128];

	print_meta(out, "tcptrace_resets_sent_total", "counter", NULL,
		   "RSTs the histories sent, by the kernel's reason (kernels 6.10 and later give one).");
	for (g = 0; g < m->nr_groups; g++) {
		const struct tt_rst_reasons *c = &m->groups[g]->c.rst_reasons;

		tt_rst_reasons_sort(c, false, order);
		for (i = 0; i < c->nr; i++) {
			snprintf(labels, sizeof(labels), "%sreason=\"%s\",",
				 m->groups[g]->label, c->reasons[order[i]].name);
			print_sample(out, "tcptrace_resets_sent_total", "", labels,
				     c->reasons[order[i]].count);
		}
		if (c->other) {
			snprintf(labels, sizeof(labels), "%sreason=\"other\",",
				 m->groups[g]->label);
			print_sample(out, "tcptrace_resets_sent_total", "", labels, c->other);
		}
	}
	print_meta(out, "tcptrace_handshake_retransmissions_total", "counter", NULL,
		   "Retransmissions of SYNs and SYN-ACKs before the handshakes ended.");
	for (g = 0; g < m->nr_groups; g++)
		print_sample(out, "tcptrace_handshake_retransmissions_total", "",
			     m->groups[g]->label, m->groups[g]->c.syn_retrans);
}

static void print_histories(struct metrics_view *m)
{
	unsigned int g, f, e, i, j;
	FILE *out = m->v.out;
	char labels[128];

	/* Every end reason, zero or not: a series that appears late breaks rate(). */
	print_meta(out, "tcptrace_histories_total", "counter", NULL,
		   "Done socket histories read, by address family and end reason.");
	for (g = 0; g < m->nr_groups; g++)
		for (f = 0; f < NR_FAMILIES; f++)
			for (e = 0; e < TCPTRACE_NR_ENDS; e++) {
				snprintf(labels, sizeof(labels), "%sfamily=\"%s\",end=\"%s\",",
					 m->groups[g]->label, family_names[f], tt_end_name(e));
				print_sample(out, "tcptrace_histories_total", "", labels,
					     m->groups[g]->c.ends[f][e]);
			}
	print_meta(out, "tcptrace_live_histories", "gauge", NULL,
		   "Live socket histories read, by address family.");
	for (g = 0; g < m->nr_groups; g++)
		for (f = 0; f < NR_FAMILIES; f++) {
			snprintf(labels, sizeof(labels), "%sfamily=\"%s\",",
				 m->groups[g]->label, family_names[f]);
			print_sample(out, "tcptrace_live_histories", "", labels,
				     m->groups[g]->c.live[f]);
		}
	print_meta(out, "tcptrace_unexpected_transitions_total", "counter", NULL,
		   "Steps flagged as transitions RFC 9293 and Linux do not make, by old and new state.");
	for (g = 0; g < m->nr_groups; g++)
		for (i = 0; i < TCPTRACE_NR_STATES; i++)
			for (j = 0; j < TCPTRACE_NR_STATES; j++) {
				if (!m->groups[g]->c.unexpected[i][j])
					continue;
				snprintf(labels, sizeof(labels), "%sfrom=\"%s\",to=\"%s\",",
					 m->groups[g]->label, tt_state_name(i), tt_state_name(j));
				print_sample(out, "tcptrace_unexpected_transitions_total", "",
					     labels, m->groups[g]->c.unexpected[i][j]);
			}
	print_resets(m);
	print_meta(out, "tcptrace_lost_histories_total", "counter", NULL,
		   "Histories overwritten in the ring before --follow read them (an unknown number counts as 1).");
	fprintf(out, "tcptrace_lost_histories_total %" PRIu64 "\n", m->lost);
}

static void print_durations(struct metrics_view *m)
{
	FILE *out = m->v.out;
	unsigned int g, i;
	char labels[128];

	print_meta(out, "tcptrace_handshake_seconds", "histogram", "seconds",
		   "Handshake time, from SYN_SENT (client) or the request (server) to ESTABLISHED.");
	for (g = 0; g < m->nr_groups; g++)
		for (i = 0; i < 2; i++) {
			snprintf(labels, sizeof(labels), "%sside=\"%s\",",
				 m->groups[g]->label, side_names[i]);
			print_hist(out, "tcptrace_handshake_seconds", labels,
				   &m->groups[g]->c.handshake[i]);
		}
	/* Only the states seen: most of the 14 never are for most hosts. */
	print_meta(out, "tcptrace_state_seconds", "histogram", "seconds",
		   "Time spent in each state, where both its start and end were seen.");
	for (g = 0; g < m->nr_groups; g++)
		for (i = 0; i < TCPTRACE_NR_STATES; i++) {
			if (!m->groups[g]->c.states[i].count)
				continue;
			snprintf(labels, sizeof(labels), "%sstate=\"%s\",",
				 m->groups[g]->label, tt_state_name(i));
			print_hist(out, "tcptrace_state_seconds", labels,
				   &m->groups[g]->c.states[i]);
		}
	print_meta(out, "tcptrace_timewait_seconds", "histogram", "seconds",
		   "Time spent in TIME_WAIT (the TIME_WAIT series of tcptrace_state_seconds).");
	for (g = 0; g < m->nr_groups; g++)
		print_hist(out, "tcptrace_timewait_seconds", m->groups[g]->label,
			   &m->groups[g]->c.states[TIME_WAIT]);
	print_meta(out, "tcptrace_lifetime_seconds", "histogram", "seconds",
		   "Lifetime of done histories, from their first to their last step.");
	for (g = 0; g < m->nr_groups; g++)
		for (i = 0; i < NR_FAMILIES; i++) {
			snprintf(labels, sizeof(labels), "%sfamily=\"%s\",",
				 m->groups[g]->label, family_names[i]);
			print_hist(out, "tcptrace_lifetime_seconds", labels,
				   &m->groups[g]->c.lifetime[i]);
		}
}

/* The header's counters and gauges, under their names in the format. */
static const struct {
	const char *key;
	bool counter;
	const char *unit;
	const char *help;
} module_metrics[] = {
	{ "events", true, NULL, "State change events the module saw." },
	{ "created", true, NULL, "Histories the module started." },
	{ "completed", true, NULL, "Histories the module completed." },
	{ "drop_table_full", true, NULL, "Events not recorded: the live table was full." },
	{ "drop_steps_full", true, NULL, "Steps not recorded: their history held TCPTRACE_MAX_STEPS steps." },
	{ "ring_overwritten", true, NULL, "Done histories overwritten in the ring." },
	{ "unexpected", true, NULL, "Steps the module flagged as unexpected transitions." },
	{ "syncookies", true, NULL, "SYNs answered with a SYN cookie." },
	{ "kprobe_missed", true, NULL, "Probe hits that could not be handled." },
	{ "filtered", true, NULL, "Events left out by the runtime filter." },
	{ "evicted", true, NULL, "Live histories ended early to make room in a full table." },
	{ "live", false, NULL, "Live histories in the module's table." },
	{ "live_max", false, NULL, "Size of the module's live table." },
	{ "ring_size", false, NULL, "Size of the module's ring of done histories." },
	{ "mem_bytes", false, "bytes", "Memory the module holds for histories." },
	{ "timewait", false, NULL, "1 if TIME_WAIT is followed with kprobes, else 0." },
	{ "halfopen", false, NULL, "1 if the half-open phase is followed, else 0." },
	{ "rst_reasons", false, NULL, "1 if the kernel gives the reason of each RST sent, else 0." },
};
#define NR_MODULE_METRICS	(sizeof(module_metrics) / sizeof(module_metrics[0]))

/*
 * Those of the header line; a key it did not have is left out. Several
 * captures (sections) are several modules, whose counters do not add up
 * to one: then none (tcptrace --stats shows each).
 */
static void print_module(struct metrics_view *m)
{
	FILE *out = m->v.out;
	char name[64];
	size_t i;

	for (i = 0; i < NR_MODULE_METRICS && m->v.has_header && m->v.sections <= 1; i++) {
		const struct tt_header_key *key = tt_header_key(module_metrics[i].key);

		if (!key || !tt_header_has(&m->v.header, key))
			continue;
		snprintf(name, sizeof(name), "tcptrace_%s%s", key->name,
			 module_metrics[i].counter ? "_total" : "");
		print_meta(out, name, module_metrics[i].counter ? "counter" : "gauge",
			   module_metrics[i].unit, module_metrics[i].help);
		fprintf(out, "%s %" PRIu64 "\n", name, tt_header_value(&m->v.header, key));
	}
}

void tt_metrics_print(struct tt_view *v, FILE *out)
{
	struct metrics_view *m = (struct metrics_view *)v;
	FILE *saved = v->out;

	/* The printers write to v->out: point it at @out for this once. */
	v->out = out;
	print_histories(m);
	print_durations(m);
	print_module(m);
	fputs("# EOF\n", out);
	v->out = saved;
}

/* Without an output (--metrics-file), main.c writes the file itself. */
static bool metrics_finish(struct tt_view *v)
{
	if (v->out)
		tt_metrics_print(v, v->out);
	return true;
}

static void metrics_destroy(struct tt_view *v)
{
	struct metrics_view *m = (struct metrics_view *)v;
	unsigned int g;

	for (g = 0; g < m->nr_groups; g++)
		free(m->groups[g]);
	free(m);
}

static const struct tt_view_ops metrics_ops = {
	.record = metrics_record,
	.lost = metrics_lost,
	.finish = metrics_finish,
	.destroy = metrics_destroy,
};

struct tt_view *tt_metrics_view(FILE *out, const struct tt_style *style, bool by_netns)
{
	struct metrics_view *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->v = (struct tt_view){ .ops = &metrics_ops, .out = out, .style = style };
	m->by_netns = by_netns;
	/* Without by_netns, the one group, unlabelled, even without records. */
	if (!by_netns) {
		m->groups[0] = calloc(1, sizeof(*m->groups[0]));
		if (!m->groups[0]) {
			free(m);
			return NULL;
		}
		m->nr_groups = 1;
	}
	return &m->v;
}
