/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The views: what tcptrace makes of the records it reads. Each is fed the
 * header line, the selected records and, when following the device, the
 * histories lost, then finished at the end of the input.
 *
 * table, json and timeline print each record as it comes; summary, graph
 * and metrics keep fixed-size counts; ladder holds the records, up to
 * TT_LADDER_MAX, to pair them at the end.
 */
#ifndef TCPTRACE_VIEWS_H
#define TCPTRACE_VIEWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "output.h"
#include "parse.h"

/* The most records --ladder holds; past it, it gives up (exit status 1). */
#define TT_LADDER_MAX	100000

/* The most distinct lifecycle shapes --summary counts one by one. */
#define TT_SUMMARY_SHAPES	256

/*
 * The most network namespaces --metrics --metrics-netns labels one by one;
 * the records of any other count under netns="other".
 */
#define TT_METRICS_NETNS	256

struct tt_view;

struct tt_view_ops {
	/* A header line: the first line of the input, and of each capture in it. */
	void (*header)(struct tt_view *v, const struct tt_header *h);
	/* A record that passed the filters. False: stop (the view said why). */
	bool (*record)(struct tt_view *v, const struct tt_record *r);
	/*
	 * Following: histories overwritten before they were read, @n of
	 * them, or an unknown number if !@known; @next_seq is the seq= of
	 * the first record after them.
	 */
	void (*lost)(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq);
	/* The input ended (or following was stopped). False: it failed. */
	bool (*finish)(struct tt_view *v);
	void (*destroy)(struct tt_view *v);
};

struct tt_view {
	const struct tt_view_ops *ops;
	FILE *out;
	const struct tt_style *style;
	/* The latest header line seen; has_header false before the first. */
	bool has_header;
	struct tt_header header;
	/*
	 * Sections of the input begun so far (tt_view_section()): a file,
	 * or a capture in it, from its header line on. 0 before the first.
	 */
	unsigned int sections;
	/* The current section's origin, when known (tt_view_origin()). */
	bool has_origin;
	struct tt_origin origin;
};

/* Each returns NULL (errno ENOMEM) if it cannot allocate its state. */
struct tt_view *tt_table_view(FILE *out, const struct tt_style *style);
struct tt_view *tt_json_view(FILE *out, const struct tt_style *style);
struct tt_view *tt_timeline_view(FILE *out, const struct tt_style *style);
struct tt_view *tt_ladder_view(FILE *out, const struct tt_style *style);
struct tt_view *tt_summary_view(FILE *out, const struct tt_style *style, bool json);
struct tt_view *tt_graph_view(FILE *out, const struct tt_style *style);
/*
 * @out NULL: finish prints nothing, tt_metrics_print() does when asked.
 * @by_netns: the series of the records get a netns label (--metrics-netns).
 */
struct tt_view *tt_metrics_view(FILE *out, const struct tt_style *style, bool by_netns);

/* The exposition of a tt_metrics_view() so far, to @out. */
void tt_metrics_print(struct tt_view *v, FILE *out);

/* Calls through the ops; header() and lost() also keep what views share. */
void tt_view_header(struct tt_view *v, const struct tt_header *h);
/*
 * A new section begins (a new file, or a header line after the first
 * line of a file), of unknown origin until tt_view_origin() says.
 */
void tt_view_section(struct tt_view *v);
void tt_view_origin(struct tt_view *v, const struct tt_origin *o);
bool tt_view_record(struct tt_view *v, const struct tt_record *r);
void tt_view_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq);
bool tt_view_finish(struct tt_view *v);
void tt_view_destroy(struct tt_view *v);

/* For the views: "-- lost N histories --" and its JSON form. */
void tt_print_lost(FILE *out, const struct tt_style *style, bool known,
		   uint64_t n, uint64_t next_seq);
void tt_print_lost_json(FILE *out, bool known, uint64_t n, uint64_t next_seq);

/*
 * One record as a JSON object, without newline (--json and the tests),
 * with "host" and "boot_id" from @origin unless it is NULL.
 */
void tt_print_record_json(FILE *out, const struct tt_record *r,
			  const struct tt_origin *origin);

#endif /* TCPTRACE_VIEWS_H */
