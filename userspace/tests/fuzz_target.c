// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "../filter.h"
#include "../views.h"
#include "fuzz_target.h"

enum { NR_VIEWS = 9 };

static void make_views(FILE *sink, const struct tt_style *style,
		       struct tt_view *views[NR_VIEWS])
{
	views[0] = tt_table_view(sink, style);
	views[1] = tt_json_view(sink, style);
	views[2] = tt_timeline_view(sink, style);
	views[3] = tt_ladder_view(sink, style);
	views[4] = tt_summary_view(sink, style, false);
	views[5] = tt_summary_view(sink, style, true);
	views[6] = tt_graph_view(sink, style);
	views[7] = tt_metrics_view(sink, style, false);
	views[8] = tt_metrics_view(sink, style, true);
}

/* A filter with a condition of each kind, so that matching runs them all. */
static void make_filter(struct tt_filter *f)
{
	char err[TT_FILTER_ERR_MAX];

	memset(f, 0, sizeof(*f));
	tt_filter_ports(&f->local_ports, "-L", "0-40000,50000", err);
	tt_filter_addr(f, "10.0.0.0/7", err);
	tt_filter_state(f, "ESTAB,CLOSE", err);
	tt_filter_pid(f, "1,2,3", err);
	tt_filter_comm(f, "a\\x20b", err);
	tt_filter_netns(f, "4026531840", err);
	tt_filter_min_lifetime(f, "1us", err);
	tt_filter_end(f, "active_close,syncookie", err);
	tt_filter_rst_reason(f, "tcp_state,NOT_SPECIFIED", err);
	f->anomalies = true;
}

/* One line: to the parser, then to the views. */
static void feed(const char *line, size_t len, struct tt_view *views[NR_VIEWS],
		 const struct tt_filter *filter, size_t *records)
{
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	size_t i;

	switch (tt_parse_line(line, len, &parsed, err)) {
	case TT_LINE_HEADER:
		for (i = 0; i < NR_VIEWS; i++)
			if (views[i])
				tt_view_header(views[i], &parsed.header);
		break;
	case TT_LINE_ORIGIN:
		/* A new section each time, of this origin: as main.c would. */
		for (i = 0; i < NR_VIEWS; i++) {
			if (views[i]) {
				tt_view_section(views[i]);
				tt_view_origin(views[i], &parsed.origin);
			}
		}
		break;
	case TT_LINE_RECORD:
		(*records)++;
		tt_filter_match(filter, &parsed.record);
		for (i = 0; i < NR_VIEWS; i++)
			if (views[i])
				tt_view_record(views[i], &parsed.record);
		if (parsed.record.seq % 7 == 3)
			for (i = 0; i < NR_VIEWS; i++)
				if (views[i])
					tt_view_lost(views[i], parsed.record.seq % 2,
						     parsed.record.id, parsed.record.seq);
		break;
	default:
		break;
	}
}

size_t tt_fuzz_one(const uint8_t *data, size_t size, FILE *sink)
{
	struct tt_style style = {
		.numeric = true,
		.ss_names = size % 2,
		.color = size % 3 == 0,
		.no_heading = size % 5 == 0,
	};
	const char *text = (const char *)data, *end = text + size;
	struct tt_filter *filter = malloc(sizeof(*filter));	/* 60 KiB */
	struct tt_view *views[NR_VIEWS];
	size_t records = 0, i;

	if (!filter)
		return 0;
	make_filter(filter);
	make_views(sink, &style, views);
	while (text < end) {
		const char *newline = memchr(text, '\n', end - text);
		size_t len = newline ? (size_t)(newline - text) + 1 : (size_t)(end - text);

		feed(text, len, views, filter, &records);
		text += len;
	}
	for (i = 0; i < NR_VIEWS; i++) {
		if (views[i])
			tt_view_finish(views[i]);
		tt_view_destroy(views[i]);
	}
	free(filter);
	return records;
}
