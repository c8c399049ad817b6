// SPDX-License-Identifier: GPL-2.0
/*
 * --json: one JSON object per socket, one per line (JSON Lines). The
 * members are listed in tcptrace(1); "schema" is TT_JSON_SCHEMA.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "model.h"
#include "views.h"

static const char *json_bool(bool value)
{
	return value ? "true" : "false";
}

static void print_endpoint(FILE *out, const char *name,
			   const struct tt_endpoint *ep)
{
	fprintf(out, ",\"%s\":{\"addr\":", name);
	tt_json_string(out, ep->addr);
	fprintf(out, ",\"port\":%u}", ep->port);
}

/* State names are plain ASCII words: no escaping needed. */
static void print_step(FILE *out, const struct tt_step *step)
{
	fprintf(out, "{\"from\":\"%s\",\"to\":\"%s\",\"t_ns\":%" PRIu64
		",\"softirq\":%s,\"gap\":%s,\"unexpected\":%s,\"derived\":%s"
		",\"timewait\":%s}", tt_state_name(step->old_state),
		tt_state_name(step->new_state), step->t_ns, json_bool(step->softirq),
		json_bool(step->gap), json_bool(step->unexpected),
		json_bool(step->derived), json_bool(step->timewait));
}

/* A number member, if the record has it. */
static void print_optional(FILE *out, const struct tt_record *r,
			   unsigned int bit, const char *name, uint64_t value)
{
	if (r->has & bit)
		fprintf(out, ",\"%s\":%" PRIu64, name, value);
}

static void print_owner(FILE *out, const struct tt_record *r)
{
	print_optional(out, r, TT_HAS_NETNS, "netns", r->netns);
	print_optional(out, r, TT_HAS_UID, "uid", r->uid);
	print_optional(out, r, TT_HAS_PID, "pid", r->pid);
	print_optional(out, r, TT_HAS_TGID, "tgid", r->tgid);
	if (r->has & TT_HAS_COMM) {
		fputs(",\"comm\":", out);
		tt_json_string(out, r->comm);
	}
}

static void print_end(FILE *out, const struct tt_record *r)
{
	if (r->has & TT_HAS_END) {
		fputs(",\"end\":", out);
		tt_json_string(out, tt_end_name(r->end));
	}
	if (r->has & TT_HAS_TIMEWAIT)
		fprintf(out, ",\"timewait\":\"%s\"",
			r->timewait == TT_TIMEWAIT_KILLED ? "killed" : "expired");
	print_optional(out, r, TT_HAS_BYTES_ACKED, "bytes_acked", r->bytes_acked);
	print_optional(out, r, TT_HAS_BYTES_RECEIVED, "bytes_received",
		       r->bytes_received);
	print_optional(out, r, TT_HAS_RETRANS, "retrans", r->retrans);
	print_optional(out, r, TT_HAS_SRTT_US, "srtt_us", r->srtt_us);
	/* Absent from the line means 0: always a number here. */
	fprintf(out, ",\"syn_retrans\":%" PRIu64, r->syn_retrans);
	/* [A-Z0-9_] only: no escaping needed. */
	if (r->has & TT_HAS_RST_REASON)
		fprintf(out, ",\"rst_reason\":\"%s\"", r->rst_reason);
}

static void print_derived(FILE *out, const struct tt_record *r)
{
	uint64_t handshake;

	fprintf(out, ",\"role\":\"%s\",\"lifetime_ns\":%" PRIu64,
		tt_role_name(tt_record_role(r)), tt_record_lifetime(r));
	if (tt_record_handshake(r, &handshake))
		fprintf(out, ",\"handshake_ns\":%" PRIu64, handshake);
}

/* Where the record comes from, when known. */
static void print_origin(FILE *out, const struct tt_origin *origin)
{
	if (!origin)
		return;
	fputs(",\"host\":", out);
	tt_json_string(out, origin->host);
	/* A UUID: no escaping needed. */
	if (origin->boot_id[0])
		fprintf(out, ",\"boot_id\":\"%s\"", origin->boot_id);
}

void tt_print_record_json(FILE *out, const struct tt_record *r,
			  const struct tt_origin *origin)
{
	unsigned int i;

	fprintf(out, "{\"schema\":%d", TT_JSON_SCHEMA);
	print_origin(out, origin);
	fprintf(out, ",\"kind\":\"%s\",\"id\":%" PRIu64 ",\"family\":\"%s\"",
		tt_kind_name(r->kind), r->id, tt_family_name(r->family));
	print_endpoint(out, "local", &r->local);
	print_endpoint(out, "remote", &r->remote);
	print_optional(out, r, TT_HAS_SEQ, "seq", r->seq);
	fprintf(out, ",\"t0\":%" PRIu64, r->t0);
	print_owner(out, r);
	print_end(out, r);
	fprintf(out, ",\"seen_at_load\":%s,\"unexpected\":%" PRIu64
		",\"dropped\":%" PRIu64, json_bool(r->seen_at_load),
		r->unexpected, r->dropped);
	print_derived(out, r);
	fputs(",\"first_state\":", out);
	tt_json_string(out, tt_state_name(r->first_state));
	fputs(",\"steps\":[", out);
	for (i = 0; i < r->nr_steps; i++) {
		if (i)
			fputc(',', out);
		print_step(out, &r->steps[i]);
	}
	fputs("]}", out);
}

static bool json_record(struct tt_view *v, const struct tt_record *r)
{
	tt_print_record_json(v->out, r, v->has_origin ? &v->origin : NULL);
	fputc('\n', v->out);
	return true;
}

static void json_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	tt_print_lost_json(v->out, known, n, next_seq);
}

static void json_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops json_ops = {
	.record = json_record,
	.lost = json_lost,
	.destroy = json_destroy,
};

struct tt_view *tt_json_view(FILE *out, const struct tt_style *style)
{
	struct tt_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	*v = (struct tt_view){ .ops = &json_ops, .out = out, .style = style };
	return v;
}
