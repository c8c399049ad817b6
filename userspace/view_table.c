// SPDX-License-Identifier: GPL-2.0
/*
 * The default view: one row per socket, printed as it is read. Columns
 * have fixed widths, so rows need not wait for the widest value; a longer
 * value (most IPv6 addresses) pushes the rest of its row. PATH comes last
 * because its length varies most.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * "active_close", "reset_sent(TCP_STATE)", "-", "(TCP_STATE)" for a live
 * one; its length.
 */
static size_t format_end(const struct tt_record *r, bool has_end,
			 char buf[END_TEXT_MAX])
{
	const char *end = has_end ? tt_end_name(r->end) : "-";
	size_t len = 0, n;

	if (r->has & TT_HAS_RST_REASON) {
		if (has_end) {
			n = strlen(end);
			memcpy(buf, end, n);
			len = n;
		}
		buf[len++] = '(';
		n = strnlen(r->rst_reason, TT_RST_REASON_MAX);
		memcpy(buf + len, r->rst_reason, n);
		len += n;
		buf[len++] = ')';
	} else {
		len = strlen(end);
		memcpy(buf, end, len);
	}
	buf[len] = '\0';
	return len;
}

static bool table_record(struct tt_view *v, const struct tt_record *r)
{
	struct table_view *t = (struct table_view *)v;
	const struct tt_style *style = v->style;
	char id[TT_U64_MAX], local[TT_ENDPOINT_MAX], remote[TT_ENDPOINT_MAX];
	char lifetime[TT_DURATION_MAX], owner[TT_OWNER_MAX], end[END_TEXT_MAX];
	bool has_end = r->kind == TT_KIND_DONE && (r->has & TT_HAS_END);
	const char *kind = tt_kind_name(r->kind);
	size_t end_len;
	struct tt_out o;

	print_heading(t);
	tt_out_init(&o, v->out);
	/* "%-*s  %-*s  %-*s  %-*s  %-*s  " */
	tt_out_pad(&o, id, tt_format_u64(r->id, id), ID_WIDTH);
	tt_out_lit(&o, "  ");
	tt_out_pad(&o, kind, strlen(kind), KIND_WIDTH);
	tt_out_lit(&o, "  ");
	tt_out_pad(&o, local, tt_format_endpoint(style, &r->local, r->family, local),
		   ENDPOINT_WIDTH);
	tt_out_lit(&o, "  ");
	tt_out_pad(&o, remote, tt_format_endpoint(style, &r->remote, r->family, remote),
		   ENDPOINT_WIDTH);
	tt_out_lit(&o, "  ");
	tt_out_pad(&o, lifetime, tt_format_duration(tt_record_lifetime(r), lifetime),
		   LIFETIME_WIDTH);
	tt_out_lit(&o, "  ");
	end_len = format_end(r, has_end, end);
	tt_out_color_pad(&o, style, has_end ? tt_end_color(r->end) : NULL, end,
			 end_len, t->end_width);
	/* "  %-*s  " */
	tt_out_lit(&o, "  ");
	tt_out_pad(&o, owner, tt_format_owner(r, owner), OWNER_WIDTH);
	tt_out_lit(&o, "  ");
	tt_out_path(&o, style, r);
	tt_out_char(&o, '\n');
	tt_out_flush(&o);
	return true;
}

static void table_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	/* Under the heading, whether a record came first or not (JSON has no header). */
	print_heading((struct table_view *)v);
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
