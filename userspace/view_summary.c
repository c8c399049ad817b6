// SPDX-License-Identifier: GPL-2.0
/*
 * --summary: what the histories have in common, in fixed memory: counts by
 * end reason, by the kernel's reason for the RSTs sent, and by lifecycle
 * shape (the path without its times), handshake retransmissions, time in
 * each state, handshake and TIME_WAIT times as histograms, half-open
 * requests that never completed, anomalies, and the module's counters.
 *
 * Shapes past the first TT_SUMMARY_SHAPES distinct ones are counted
 * together. Percentiles are read from the fine log-linear buckets, within
 * 0.78% of the true ones (model.h); the bucket listings, text and JSON,
 * add those up by octave, so that they stay a screenful and keep the
 * shape they had when the buckets were log2 ones.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "views.h"

/* TCP state numbers, as in TCPTRACE_STATE_NAMES. */
enum {
	ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
	CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
};

/*
 * A shape's key: the first state, then per step ['/' state +] new state.
 * The JSON's is the path as the device writes it, without times and
 * flags. The text's is the path as the table shows it: a hand-over that
 * stays in its state is no step of its own, and the state in which a
 * timewait socket took over has HANDOVER_MARK (tt_state_handed_over()).
 */
#define SHAPE_KEY_MAX	(1 + 2 * TCPTRACE_MAX_STEPS)
#define GAP_MARK	0x80	/* on a '/' state in a key */
#define HANDOVER_MARK	0x40	/* text only: on a state, " w" after it */
#define SHAPE_SLOTS	(2 * TT_SUMMARY_SHAPES)	/* hash slots, half full at most */

/* Width of the bars of the histograms. */
#define BAR_WIDTH	40

struct shape {
	uint8_t len;
	uint8_t key[SHAPE_KEY_MAX];
	uint64_t count;
};

struct summary_view {
	struct tt_view v;
	bool json;

	uint64_t histories, done, live;
	uint64_t ends[TCPTRACE_NR_ENDS];
	uint64_t no_end;		/* done records without end= (format 1) */

	struct tt_rst_reasons rst_reasons;
	uint64_t rst_not_given;		/* reset_sent, aborted: no rst_reason= */
	uint64_t syn_retrans_histories, syn_retrans_total, syn_retrans_max;

	unsigned int nr_shapes;
	struct shape shapes[TT_SUMMARY_SHAPES];	/* in order of first sight */
	uint16_t slots[SHAPE_SLOTS];		/* 1 + index in shapes[], 0 free */
	uint64_t other_shapes;

	struct tt_histogram states[TCPTRACE_NR_STATES];
	struct tt_histogram handshake_client, handshake_server;
	uint64_t timewait_expired, timewait_killed;

	uint64_t halfopen_failed, halfopen_pending;
	uint64_t halfopen_ends[TCPTRACE_NR_ENDS];

	uint64_t unexpected_histories, unexpected_steps;
	uint64_t unexpected_transitions[TCPTRACE_NR_STATES][TCPTRACE_NR_STATES];
	uint64_t gap_histories, gap_steps;
	uint64_t dropped_histories, dropped_steps;
	uint64_t midlife, seen_at_load;

	uint64_t lost;
	bool lost_unknown;
};

/* ---- counting ------------------------------------------------------- */

/* The state @r is in after @n steps, for the key: marked if @text says. */
static uint8_t key_state(const struct tt_record *r, unsigned int n, bool text)
{
	uint8_t state = n ? r->steps[n - 1].new_state : r->first_state;

	return text && tt_state_handed_over(r, n) ? state | HANDOVER_MARK : state;
}

static size_t shape_key(const struct tt_record *r, bool json,
			uint8_t key[SHAPE_KEY_MAX])
{
	size_t len = 0;
	unsigned int i;

	key[len++] = key_state(r, 0, !json);
	for (i = 0; i < r->nr_steps; i++) {
		if (!json && tt_step_handover_stays(r, i))
			continue;
		if (r->steps[i].gap)
			key[len++] = GAP_MARK | r->steps[i].old_state;
		key[len++] = key_state(r, i + 1, !json);
	}
	return len;
}

/* FNV-1a. */
static unsigned int hash_key(const uint8_t *key, size_t len)
{
	uint32_t hash = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		hash = (hash ^ key[i]) * 16777619u;
	return hash % SHAPE_SLOTS;
}

static void count_shape(struct summary_view *s, const struct tt_record *r)
{
	uint8_t key[SHAPE_KEY_MAX];
	size_t len = shape_key(r, s->json, key);
	unsigned int slot = hash_key(key, len);
	struct shape *shape;

	for (; s->slots[slot]; slot = (slot + 1) % SHAPE_SLOTS) {
		shape = &s->shapes[s->slots[slot] - 1];
		if (shape->len == len && memcmp(shape->key, key, len) == 0) {
			shape->count++;
			return;
		}
	}
	if (s->nr_shapes == TT_SUMMARY_SHAPES) {
		s->other_shapes++;
		return;
	}
	shape = &s->shapes[s->nr_shapes++];
	shape->len = (uint8_t)len;
	memcpy(shape->key, key, len);
	shape->count = 1;
	s->slots[slot] = (uint16_t)s->nr_shapes;
}

static void count_times(struct summary_view *s, const struct tt_record *r)
{
	struct tt_span spans[TCPTRACE_MAX_STEPS + 1];
	unsigned int n = tt_record_spans(r, spans), i;
	uint64_t handshake;

	for (i = 0; i < n; i++)
		if (spans[i].state < TCPTRACE_NR_STATES)
			tt_histogram_add(&s->states[spans[i].state], spans[i].duration);
	if (tt_record_handshake(r, &handshake))
		tt_histogram_add(tt_record_role(r) == TT_ROLE_CLIENT ?
			    &s->handshake_client : &s->handshake_server, handshake);
	if (r->has & TT_HAS_TIMEWAIT) {
		if (r->timewait == TT_TIMEWAIT_KILLED)
			s->timewait_killed++;
		else
			s->timewait_expired++;
	}
}

/* A request (NEW_SYN_RECV) that never got its child. */
static void count_halfopen(struct summary_view *s, const struct tt_record *r)
{
	uint32_t visited = tt_record_visited(r);

	if (!(visited & (1u << NEW_SYN_RECV)) ||
	    (visited & ((1u << SYN_RECV) | (1u << ESTABLISHED))))
		return;
	if (r->kind == TT_KIND_LIVE) {
		s->halfopen_pending++;
		return;
	}
	s->halfopen_failed++;
	if (r->has & TT_HAS_END)
		s->halfopen_ends[r->end]++;
}

static void count_anomalies(struct summary_view *s, const struct tt_record *r)
{
	uint64_t unexpected = tt_record_unexpected(r);
	unsigned int gaps = tt_record_gaps(r), i;

	if (unexpected) {
		s->unexpected_histories++;
		s->unexpected_steps += unexpected;
	}
	for (i = 0; i < r->nr_steps; i++)
		if (r->steps[i].unexpected)
			s->unexpected_transitions[r->steps[i].old_state % TCPTRACE_NR_STATES]
						 [r->steps[i].new_state % TCPTRACE_NR_STATES]++;
	if (gaps) {
		s->gap_histories++;
		s->gap_steps += gaps;
	}
	if (r->dropped) {
		s->dropped_histories++;
		s->dropped_steps += r->dropped;
	}
	if (r->first_state != CLOSE && r->first_state != LISTEN)
		s->midlife++;
	s->seen_at_load += r->seen_at_load;
}

/* The RSTs sent, by the kernel's reason, and the handshake's retransmissions. */
static void count_resets(struct summary_view *s, const struct tt_record *r)
{
	tt_rst_reasons_add(&s->rst_reasons, r);
	if (!(r->has & TT_HAS_RST_REASON) && r->kind == TT_KIND_DONE &&
	    (r->has & TT_HAS_END) && (r->end == TCPTRACE_END_RESET_SENT ||
				      r->end == TCPTRACE_END_ABORTED))
		s->rst_not_given++;
	if (r->syn_retrans) {
		uint64_t total = s->syn_retrans_total + r->syn_retrans;

		s->syn_retrans_histories++;
		/* Saturates rather than wrap. */
		s->syn_retrans_total = total < r->syn_retrans ? UINT64_MAX : total;
		if (r->syn_retrans > s->syn_retrans_max)
			s->syn_retrans_max = r->syn_retrans;
	}
}

static bool summary_record(struct tt_view *v, const struct tt_record *r)
{
	struct summary_view *s = (struct summary_view *)v;

	s->histories++;
	if (r->kind == TT_KIND_DONE) {
		s->done++;
		if (r->has & TT_HAS_END)
			s->ends[r->end]++;
		else
			s->no_end++;
	} else {
		s->live++;
	}
	count_resets(s, r);
	count_shape(s, r);
	count_times(s, r);
	count_halfopen(s, r);
	count_anomalies(s, r);
	return true;
}

static void summary_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	struct summary_view *s = (struct summary_view *)v;

	(void)next_seq;
	if (known)
		s->lost += n;
	else
		s->lost_unknown = true;
}

/* Shapes by count, the first seen first among equals. */
static void sort_shapes(const struct summary_view *s, unsigned int order[])
{
	unsigned int i, j;

	for (i = 0; i < s->nr_shapes; i++) {
		unsigned int k = i;

		/* Insertion sort: stable, and there are few shapes. */
		for (j = i; j > 0 && s->shapes[order[j - 1]].count < s->shapes[k].count; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
}

/*
 * "CLOSE > SYN_SENT / ESTABLISHED > FIN_WAIT2 w > ..." (text) or
 * "CLOSE>SYN_SENT/ESTABLISHED>FIN_WAIT2>FIN_WAIT2>..." (JSON).
 */
static void format_shape(const struct tt_style *style, const struct shape *shape,
			 bool json, char *buf, size_t size)
{
	size_t len = 0, i;

	for (i = 0; i < shape->len && len < size; i++) {
		bool gap = shape->key[i] & GAP_MARK;
		bool handover = shape->key[i] & HANDOVER_MARK;
		unsigned int state = shape->key[i] & ~(GAP_MARK | HANDOVER_MARK);
		const char *name = json ? tt_state_name(state) : tt_style_state(style, state);
		const char *sep = i == 0 ? "" : gap ? (json ? "/" : " / ") :
				  json ? ">" : " > ";

		len += snprintf(buf + len, size - len, "%s%s%s", sep, name,
				handover ? " w" : "");
	}
}

/* ---- text ----------------------------------------------------------- */

static void print_title(struct tt_view *v, const char *title)
{
	tt_color(v->out, v->style, TT_BOLD, title);
	fputc('\n', v->out);
}

static void print_ends(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	unsigned int i;

	print_title(v, "end reasons");
	for (i = 0; i < TCPTRACE_NR_ENDS; i++)
		if (s->ends[i])
			fprintf(v->out, "  %-20s %10" PRIu64 "\n", tt_end_name(i), s->ends[i]);
	if (s->no_end)
		fprintf(v->out, "  %-20s %10" PRIu64 "\n", "(not given)", s->no_end);
	if (s->live)
		fprintf(v->out, "  %-20s %10" PRIu64 "\n", "(live)", s->live);
}

static void print_resets(struct summary_view *s)
{
	unsigned int order[TT_RST_REASONS], i;
	struct tt_view *v = &s->v;

	print_title(v, "resets sent, by the kernel's reason");
	tt_rst_reasons_sort(&s->rst_reasons, true, order);
	for (i = 0; i < s->rst_reasons.nr; i++)
		fprintf(v->out, "  %-24s %10" PRIu64 "\n",
			s->rst_reasons.reasons[order[i]].name,
			s->rst_reasons.reasons[order[i]].count);
	if (s->rst_reasons.other)
		fprintf(v->out, "  %-24s %10" PRIu64 "\n", "(other reasons)",
			s->rst_reasons.other);
	if (s->rst_not_given)
		fprintf(v->out, "  %-24s %10" PRIu64 "\n", "(not given)", s->rst_not_given);
	fputc('\n', v->out);
	print_title(v, "handshake retransmissions");
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "histories", s->syn_retrans_histories);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "total", s->syn_retrans_total);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "max", s->syn_retrans_max);
}

static void print_shapes(struct summary_view *s)
{
	unsigned int order[TT_SUMMARY_SHAPES], i;
	struct tt_view *v = &s->v;
	char path[SHAPE_KEY_MAX * 24];

	print_title(v, "lifecycle shapes");
	sort_shapes(s, order);
	for (i = 0; i < s->nr_shapes; i++) {
		format_shape(v->style, &s->shapes[order[i]], false, path, sizeof(path));
		fprintf(v->out, "  %10" PRIu64 "  %s\n", s->shapes[order[i]].count, path);
	}
	if (s->other_shapes)
		fprintf(v->out, "  %10" PRIu64 "  (other shapes, past the first %d)\n",
			s->other_shapes, TT_SUMMARY_SHAPES);
}

/* "  SYN_SENT   12   65.536us   131.072us ...": count, p50, p90, p99, max. */
static void print_stats_row(struct tt_view *v, const char *name,
			    const struct tt_histogram *h)
{
	static const unsigned int pcts[] = { 50, 90, 99 };
	char value[TT_DURATION_MAX];
	size_t i;

	fprintf(v->out, "  %-24s %10" PRIu64, name, h->count);
	if (!h->count) {
		fputc('\n', v->out);
		return;
	}
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		tt_format_duration(tt_histogram_percentile(h, pcts[i]), value);
		fprintf(v->out, " %12s", value);
	}
	tt_format_duration(h->max, value);
	fprintf(v->out, " %12s\n", value);
}

static void print_stats_heading(struct tt_view *v, const char *title)
{
	char line[128];

	snprintf(line, sizeof(line), "%-26s %10s %12s %12s %12s %12s", title,
		 "count", "p50", "p90", "p99", "max");
	print_title(v, line);
}

static void print_times(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	unsigned int i;

	print_stats_heading(v, "time in state");
	for (i = 0; i < TCPTRACE_NR_STATES; i++)
		if (s->states[i].count)
			print_stats_row(v, tt_style_state(v->style, i), &s->states[i]);
	fputc('\n', v->out);
	print_stats_heading(v, "handshake");
	print_stats_row(v, "client", &s->handshake_client);
	print_stats_row(v, "server", &s->handshake_server);
	fputc('\n', v->out);
	print_stats_heading(v, "timewait");
	print_stats_row(v, tt_style_state(v->style, TIME_WAIT), &s->states[TIME_WAIT]);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "expired", s->timewait_expired);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "killed", s->timewait_killed);
}

/*
 * "[65.536us, 131.072us)   12 |#####...|" for each octave from the first
 * used to the last: the fine buckets are too many to list.
 */
static void print_histogram(struct tt_view *v, const char *name,
			    const struct tt_histogram *h)
{
	unsigned int first = TT_HISTOGRAM_OCTAVES, last = 0, o;
	uint64_t counts[TT_HISTOGRAM_OCTAVES], most = 0;

	if (!h->count)
		return;
	for (o = 0; o < TT_HISTOGRAM_OCTAVES; o++) {
		counts[o] = tt_histogram_octave_count(h, o);
		if (!counts[o])
			continue;
		first = o < first ? o : first;
		last = o;
		most = counts[o] > most ? counts[o] : most;
	}
	fprintf(v->out, "\n%s\n", name);
	for (o = first; o <= last; o++) {
		char low[TT_DURATION_MAX], high[TT_DURATION_MAX], range[64];
		unsigned int bar = (unsigned int)((counts[o] * BAR_WIDTH + most - 1) / most);

		tt_format_duration(tt_histogram_octave_low(o), low);
		tt_format_duration(tt_histogram_octave_high(o), high);
		snprintf(range, sizeof(range), "[%s, %s)", low, high);
		fprintf(v->out, "  %-26s %10" PRIu64 " |%-*.*s|\n", range, counts[o],
			BAR_WIDTH, bar,
			"########################################");
	}
}

static void print_histograms(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	char name[64];
	unsigned int i;

	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		snprintf(name, sizeof(name), "time in %s", tt_style_state(v->style, i));
		print_histogram(v, name, &s->states[i]);
	}
	print_histogram(v, "client handshake", &s->handshake_client);
	print_histogram(v, "server handshake", &s->handshake_server);
}

static void print_halfopen(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	unsigned int i;

	print_title(v, "half-open requests that never completed");
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "done", s->halfopen_failed);
	for (i = 0; i < TCPTRACE_NR_ENDS; i++)
		if (s->halfopen_ends[i])
			fprintf(v->out, "    %-22s %10" PRIu64 "\n", tt_end_name(i),
				s->halfopen_ends[i]);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "pending (live)", s->halfopen_pending);
}

static void print_anomalies(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	unsigned int i, j;

	print_title(v, "anomalies                  histories      steps");
	fprintf(v->out, "  %-24s %10" PRIu64 " %10" PRIu64 "\n", "unexpected steps",
		s->unexpected_histories, s->unexpected_steps);
	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		for (j = 0; j < TCPTRACE_NR_STATES; j++) {
			char transition[48];

			if (!s->unexpected_transitions[i][j])
				continue;
			snprintf(transition, sizeof(transition), "%s > %s",
				 tt_style_state(v->style, i), tt_style_state(v->style, j));
			fprintf(v->out, "    %-33s %10" PRIu64 "\n", transition,
				s->unexpected_transitions[i][j]);
		}
	}
	fprintf(v->out, "  %-24s %10" PRIu64 " %10" PRIu64 "\n", "missed transitions",
		s->gap_histories, s->gap_steps);
	fprintf(v->out, "  %-24s %10" PRIu64 " %10" PRIu64 "\n", "dropped steps",
		s->dropped_histories, s->dropped_steps);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "first seen mid-life", s->midlife);
	fprintf(v->out, "  %-24s %10" PRIu64 "\n", "seen at load", s->seen_at_load);
}

/* The header counters a summary reports: drops, overruns, probes. */
static const char *const module_counters[] = {
	"events", "created", "completed", "drop_table_full", "drop_steps_full",
	"ring_overwritten", "unexpected", "syncookies", "kprobe_missed",
	"filtered", "evicted", "timewait", "halfopen", "rst_reasons",
};
#define NR_MODULE_COUNTERS	(sizeof(module_counters) / sizeof(module_counters[0]))

static void print_module(struct summary_view *s)
{
	struct tt_view *v = &s->v;
	size_t i;

	print_title(v, "module");
	/* Several captures are several modules: see --stats for each. */
	if (v->sections > 1)
		fprintf(v->out, "  %-24s %10u (their counters: tcptrace --stats)\n",
			"captures", v->sections);
	for (i = 0; i < NR_MODULE_COUNTERS && v->has_header && v->sections <= 1; i++) {
		const struct tt_header_key *key = tt_header_key(module_counters[i]);

		if (key && tt_header_has(&v->header, key))
			fprintf(v->out, "  %-24s %10" PRIu64 "\n", key->name,
				tt_header_value(&v->header, key));
	}
	if (s->lost || s->lost_unknown)
		fprintf(v->out, "  %-24s %10" PRIu64 "%s\n", "lost while following",
			s->lost, s->lost_unknown ? " or more" : "");
}

static void print_text(struct summary_view *s)
{
	struct tt_view *v = &s->v;

	fprintf(v->out, "%-26s %10" PRIu64 "  (%" PRIu64 " done, %" PRIu64 " live)\n\n",
		"histories", s->histories, s->done, s->live);
	print_ends(s);
	fputc('\n', v->out);
	print_resets(s);
	fputc('\n', v->out);
	print_shapes(s);
	fputc('\n', v->out);
	print_times(s);
	fputc('\n', v->out);
	print_halfopen(s);
	fputc('\n', v->out);
	print_anomalies(s);
	fputc('\n', v->out);
	print_module(s);
	print_histograms(s);
}

/* ---- JSON ----------------------------------------------------------- */

static void json_hist(FILE *out, const struct tt_histogram *h)
{
	const char *sep = "";
	unsigned int o;

	fprintf(out, "{\"count\":%" PRIu64, h->count);
	if (h->count)
		fprintf(out, ",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64
			",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64,
			tt_histogram_percentile(h, 50), tt_histogram_percentile(h, 90),
			tt_histogram_percentile(h, 99), h->max);
	/* By octave, the used ones: the fine buckets are many and mostly empty. */
	fputs(",\"buckets\":[", out);
	for (o = 0; o < TT_HISTOGRAM_OCTAVES; o++) {
		uint64_t count = tt_histogram_octave_count(h, o);

		if (!count)
			continue;
		fprintf(out, "%s{\"low_ns\":%" PRIu64 ",\"high_ns\":%" PRIu64
			",\"count\":%" PRIu64 "}", sep, tt_histogram_octave_low(o),
			tt_histogram_octave_high(o), count);
		sep = ",";
	}
	fputs("]}", out);
}

/* {"name":count,...} of the nonzero @counts, by end reason. */
static void json_ends(FILE *out, const uint64_t counts[TCPTRACE_NR_ENDS])
{
	const char *sep = "";
	unsigned int i;

	fputc('{', out);
	for (i = 0; i < TCPTRACE_NR_ENDS; i++) {
		if (!counts[i])
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, sep, tt_end_name(i), counts[i]);
		sep = ",";
	}
	fputc('}', out);
}

static void json_resets(struct summary_view *s)
{
	unsigned int order[TT_RST_REASONS], i;
	FILE *out = s->v.out;

	tt_rst_reasons_sort(&s->rst_reasons, true, order);
	fputs(",\"resets_sent\":{\"reasons\":{", out);
	/* Names of [A-Z0-9_]: no escaping needed. */
	for (i = 0; i < s->rst_reasons.nr; i++)
		fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "",
			s->rst_reasons.reasons[order[i]].name,
			s->rst_reasons.reasons[order[i]].count);
	fprintf(out, "},\"other_reasons\":%" PRIu64 ",\"not_given\":%" PRIu64
		"},\"handshake_retransmissions\":{\"histories\":%" PRIu64
		",\"total\":%" PRIu64 ",\"max\":%" PRIu64 "}",
		s->rst_reasons.other, s->rst_not_given, s->syn_retrans_histories,
		s->syn_retrans_total, s->syn_retrans_max);
}

static void json_shapes(struct summary_view *s)
{
	unsigned int order[TT_SUMMARY_SHAPES], i;
	char path[SHAPE_KEY_MAX * 24];
	FILE *out = s->v.out;

	sort_shapes(s, order);
	fputs(",\"shapes\":[", out);
	for (i = 0; i < s->nr_shapes; i++) {
		format_shape(s->v.style, &s->shapes[order[i]], true, path, sizeof(path));
		fprintf(out, "%s{\"path\":", i ? "," : "");
		tt_json_string(out, path);
		fprintf(out, ",\"count\":%" PRIu64 "}", s->shapes[order[i]].count);
	}
	fprintf(out, "],\"other_shapes\":%" PRIu64, s->other_shapes);
}

static void json_states(struct summary_view *s)
{
	FILE *out = s->v.out;
	const char *sep = "";
	unsigned int i;

	fputs(",\"states\":{", out);
	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		if (!s->states[i].count)
			continue;
		fprintf(out, "%s\"%s\":", sep, tt_state_name(i));
		json_hist(out, &s->states[i]);
		sep = ",";
	}
	fputs("},\"handshake\":{\"client\":", out);
	json_hist(out, &s->handshake_client);
	fputs(",\"server\":", out);
	json_hist(out, &s->handshake_server);
	fprintf(out, "},\"timewait\":{\"expired\":%" PRIu64 ",\"killed\":%" PRIu64
		",\"time\":", s->timewait_expired, s->timewait_killed);
	json_hist(out, &s->states[TIME_WAIT]);
	fputc('}', out);
}

static void json_anomalies(struct summary_view *s)
{
	FILE *out = s->v.out;
	const char *sep = "";
	unsigned int i, j;

	fprintf(out, ",\"halfopen_failed\":{\"done\":%" PRIu64 ",\"ends\":",
		s->halfopen_failed);
	json_ends(out, s->halfopen_ends);
	fprintf(out, ",\"pending\":%" PRIu64 "}", s->halfopen_pending);
	fprintf(out, ",\"anomalies\":{\"unexpected_histories\":%" PRIu64
		",\"unexpected_steps\":%" PRIu64 ",\"unexpected_transitions\":[",
		s->unexpected_histories, s->unexpected_steps);
	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		for (j = 0; j < TCPTRACE_NR_STATES; j++) {
			if (!s->unexpected_transitions[i][j])
				continue;
			fprintf(out, "%s{\"from\":\"%s\",\"to\":\"%s\",\"count\":%" PRIu64 "}",
				sep, tt_state_name(i), tt_state_name(j),
				s->unexpected_transitions[i][j]);
			sep = ",";
		}
	}
	fprintf(out, "],\"gap_histories\":%" PRIu64 ",\"gap_steps\":%" PRIu64
		",\"dropped_histories\":%" PRIu64 ",\"dropped_steps\":%" PRIu64
		",\"midlife\":%" PRIu64 ",\"seen_at_load\":%" PRIu64 "}",
		s->gap_histories, s->gap_steps, s->dropped_histories,
		s->dropped_steps, s->midlife, s->seen_at_load);
}

static void json_module(struct summary_view *s)
{
	const struct tt_header *h = &s->v.header;
	FILE *out = s->v.out;
	const char *sep = "";
	size_t i;

	if (s->lost_unknown)
		fputs(",\"lost\":null", out);
	else
		fprintf(out, ",\"lost\":%" PRIu64, s->lost);
	if (s->v.sections > 1)
		fprintf(out, ",\"captures\":%u", s->v.sections);
	fputs(",\"module\":{", out);
	for (i = 0; i < tt_nr_header_keys && s->v.has_header && s->v.sections <= 1; i++) {
		if (!tt_header_has(h, &tt_header_keys[i]))
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, sep, tt_header_keys[i].name,
			tt_header_value(h, &tt_header_keys[i]));
		sep = ",";
	}
	fputc('}', out);
}

static void print_json(struct summary_view *s)
{
	FILE *out = s->v.out;

	fprintf(out, "{\"schema\":%d,\"histories\":%" PRIu64 ",\"done\":%" PRIu64
		",\"live\":%" PRIu64 ",\"ends\":", TT_JSON_SCHEMA, s->histories,
		s->done, s->live);
	json_ends(out, s->ends);
	json_resets(s);
	json_shapes(s);
	json_states(s);
	json_anomalies(s);
	json_module(s);
	fputs("}\n", out);
}

static bool summary_finish(struct tt_view *v)
{
	struct summary_view *s = (struct summary_view *)v;

	if (s->json)
		print_json(s);
	else
		print_text(s);
	return true;
}

static void summary_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops summary_ops = {
	.record = summary_record,
	.lost = summary_lost,
	.finish = summary_finish,
	.destroy = summary_destroy,
};

struct tt_view *tt_summary_view(FILE *out, const struct tt_style *style, bool json)
{
	struct summary_view *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->v = (struct tt_view){ .ops = &summary_ops, .out = out, .style = style };
	s->json = json;
	return &s->v;
}
