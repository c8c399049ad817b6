// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "views.h"

void tt_view_header(struct tt_view *v, const struct tt_header *h)
{
	v->has_header = true;
	v->header = *h;
	if (v->ops->header)
		v->ops->header(v, h);
}

void tt_view_section(struct tt_view *v)
{
	v->sections++;
	v->has_origin = false;
}

void tt_view_origin(struct tt_view *v, const struct tt_origin *o)
{
	v->has_origin = true;
	v->origin = *o;
}

bool tt_view_record(struct tt_view *v, const struct tt_record *r)
{
	return v->ops->record(v, r);
}

void tt_view_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	if (v->ops->lost)
		v->ops->lost(v, known, n, next_seq);
}

bool tt_view_finish(struct tt_view *v)
{
	return v->ops->finish ? v->ops->finish(v) : true;
}

void tt_view_destroy(struct tt_view *v)
{
	if (v)
		v->ops->destroy(v);
}

void tt_print_lost(FILE *out, const struct tt_style *style, bool known,
		   uint64_t n, uint64_t next_seq)
{
	char text[80];

	if (known)
		snprintf(text, sizeof(text), "-- lost %" PRIu64 " histor%s --", n,
			 n == 1 ? "y" : "ies");
	else
		snprintf(text, sizeof(text), "-- lost histories before seq %" PRIu64 " --",
			 next_seq);
	tt_color(out, style, TT_RED, text);
	fputc('\n', out);
}

void tt_print_lost_json(FILE *out, bool known, uint64_t n, uint64_t next_seq)
{
	if (known)
		fprintf(out, "{\"lost\":%" PRIu64 "}\n", n);
	else
		fprintf(out, "{\"lost\":null,\"next_seq\":%" PRIu64 "}\n", next_seq);
}
