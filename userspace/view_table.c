// SPDX-License-Identifier: GPL-2.0
/*
 * The default view: one row per socket, printed as it is read. Columns
 * have fixed widths, so rows need not wait for the widest value; a longer
 * value (most IPv6 addresses) pushes the rest of its row. PATH comes last
 * because its length varies most.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "model.h"
#include "views.h"

#define ID_WIDTH	8
#define KIND_WIDTH	4
#define ENDPOINT_WIDTH	21
#define LIFETIME_WIDTH	9
#define END_WIDTH	18	/* "simultaneous_close" */
/*
 * Where the kernel gives reset reasons (the header's rst_reasons=1), END
 * also shows the reason for a RST the socket sent, "reset_sent(TCP_STATE)":
 * wide enough for reset_sent with the longest name of today's kernels,
 * "reset_sent(TCP_DISCONNECT_WITH_DATA)". Elsewhere END stays as it was.
 */
#define END_REASON_WIDTH	36
#define OWNER_WIDTH	16

/* "reset_sent(" reason ")", NUL included. */
#define END_TEXT_MAX	(END_WIDTH + TT_RST_REASON_TEXT_MAX + 2)

struct table_view {
	struct tt_view v;
	bool heading_printed;
	int end_width;		/* END_WIDTH or END_REASON_WIDTH */
};

static void print_heading(struct table_view *t)
{
	char line[160];

	if (t->heading_printed)
		return;
	t->heading_printed = true;
	/* Decided once, by the first header: the widths never change. */
	t->end_width = t->v.has_header && t->v.header.rst_reasons ?
		       END_REASON_WIDTH : END_WIDTH;
	if (t->v.style->no_heading)
		return;
	snprintf(line, sizeof(line), "%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s",
		 ID_WIDTH, "ID", KIND_WIDTH, "KIND", ENDPOINT_WIDTH, "LOCAL",
		 ENDPOINT_WIDTH, "REMOTE", LIFETIME_WIDTH, "LIFETIME",
		 t->end_width, "END", OWNER_WIDTH, "OWNER", "PATH");
	tt_color(t->v.out, t->v.style, TT_BOLD, line);
	fputc('\n', t->v.out);
}

static void table_header(struct tt_view *v, const struct tt_header *h)
{
	(void)h;
	/* An empty snapshot still shows the heading row. */
	print_heading((struct table_view *)v);
}

/* "active_close", "reset_sent(TCP_STATE)", "-", "(TCP_STATE)" for a live one. */
static void format_end(const struct tt_record *r, bool has_end,
		       char buf[END_TEXT_MAX])
{
	const char *end = has_end ? tt_end_name(r->end) : "-";

	if (r->has & TT_HAS_RST_REASON)
		snprintf(buf, END_TEXT_MAX, "%s(%s)", has_end ? end : "",
			 r->rst_reason);
	else
		snprintf(buf, END_TEXT_MAX, "%s", end);
}

static bool table_record(struct tt_view *v, const struct tt_record *r)
{
	struct table_view *t = (struct table_view *)v;
	const struct tt_style *style = v->style;
	char id[24], local[TT_ENDPOINT_MAX], remote[TT_ENDPOINT_MAX];
	char lifetime[TT_DURATION_MAX], owner[TT_OWNER_MAX], end[END_TEXT_MAX];
	bool has_end = r->kind == TT_KIND_DONE && (r->has & TT_HAS_END);

	print_heading(t);
	snprintf(id, sizeof(id), "%" PRIu64, r->id);
	tt_format_endpoint(style, &r->local, r->family, local);
	tt_format_endpoint(style, &r->remote, r->family, remote);
	tt_format_duration(tt_record_lifetime(r), lifetime);
	tt_format_owner(r, owner);
	format_end(r, has_end, end);
	fprintf(v->out, "%-*s  %-*s  %-*s  %-*s  %-*s  ", ID_WIDTH, id,
		KIND_WIDTH, tt_kind_name(r->kind), ENDPOINT_WIDTH, local,
		ENDPOINT_WIDTH, remote, LIFETIME_WIDTH, lifetime);
	tt_color_pad(v->out, style, has_end ? tt_end_color(r->end) : NULL, end,
		     t->end_width);
	fprintf(v->out, "  %-*s  ", OWNER_WIDTH, owner);
	tt_print_path(v->out, style, r);
	fputc('\n', v->out);
	return true;
}

static void table_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	tt_print_lost(v->out, v->style, known, n, next_seq);
}

static void table_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops table_ops = {
	.header = table_header,
	.record = table_record,
	.lost = table_lost,
	.destroy = table_destroy,
};

struct tt_view *tt_table_view(FILE *out, const struct tt_style *style)
{
	struct table_view *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->v = (struct tt_view){ .ops = &table_ops, .out = out, .style = style };
	return &t->v;
}
