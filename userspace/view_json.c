// SPDX-License-Identifier: GPL-2.0
/*
 * --json: one JSON object per socket, one per line (JSON Lines). The
 * members are listed in tcptrace(1); "schema" is TT_JSON_SCHEMA.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "model.h"
#include "views.h"

/*
 * The members are written a piece at a time with the tt_put_*(): each
 * piece has room asked for at most PIECE_MAX bytes, which its numbers
 * (20 digits at most), names and words of the format's own fit in. Text
 * from the input (comm, host, addresses) goes through tt_out_json_string().
 */
#define PIECE_MAX	512

/* ",\"NAME\":" and a number. */
#define PUT_NUMBER(p, name, value) \
	tt_put_u64(tt_put_lit(p, ",\"" name "\":"), value)

/* A number member, if the record has it. */
#define PUT_OPTIONAL(p, r, bit, name, value) \
	((r)->has & (bit) ? PUT_NUMBER(p, name, value) : (p))

/* ",\"NAME\":" and true or false. */
#define PUT_BOOL(p, name, value)					\
	((value) ? tt_put_lit(p, ",\"" name "\":true") :		\
		   tt_put_lit(p, ",\"" name "\":false"))

/* ",\"NAME\":\"" a word that needs no escape "\"". */
#define PUT_WORD(p, name, word) \
	tt_put_lit(tt_put_str(tt_put_lit(p, ",\"" name "\":\""), word), "\"")

static void print_endpoint(struct tt_out *o, const char *name,
			   const struct tt_endpoint *ep)
{
	char *p = tt_out_room(o, PIECE_MAX);

	/* ",\"%s\":{\"addr\":" */
	p = tt_put_lit(p, ",\"");
	p = tt_put_str(p, name);
	p = tt_put_lit(p, "\":{\"addr\":");
	tt_out_put_end(o, p);
	tt_out_json_string(o, ep->addr);
	p = tt_out_room(o, PIECE_MAX);
	p = PUT_NUMBER(p, "port", ep->port);
	p = tt_put_lit(p, "}");
	tt_out_put_end(o, p);
}

/* State names are plain ASCII words: no escaping needed. */
static void print_step(struct tt_out *o, const struct tt_step *step)
{
	char *p = tt_out_room(o, PIECE_MAX);

	p = tt_put_lit(p, "{\"from\":\"");
	p = tt_put_str(p, tt_state_name(step->old_state));
	p = tt_put_lit(p, "\"");
	p = PUT_WORD(p, "to", tt_state_name(step->new_state));
	p = PUT_NUMBER(p, "t_ns", step->t_ns);
	p = PUT_BOOL(p, "softirq", step->softirq);
	p = PUT_BOOL(p, "gap", step->gap);
	p = PUT_BOOL(p, "unexpected", step->unexpected);
	p = PUT_BOOL(p, "derived", step->derived);
	p = PUT_BOOL(p, "timewait", step->timewait);
	p = tt_put_lit(p, "}");
	tt_out_put_end(o, p);
}

static void print_owner(struct tt_out *o, const struct tt_record *r)
{
	char *p = tt_out_room(o, PIECE_MAX);

	p = PUT_OPTIONAL(p, r, TT_HAS_NETNS, "netns", r->netns);
	p = PUT_OPTIONAL(p, r, TT_HAS_UID, "uid", r->uid);
	p = PUT_OPTIONAL(p, r, TT_HAS_PID, "pid", r->pid);
	p = PUT_OPTIONAL(p, r, TT_HAS_TGID, "tgid", r->tgid);
	tt_out_put_end(o, p);
	if (r->has & TT_HAS_COMM) {
		tt_out_lit(o, ",\"comm\":");
		tt_out_json_string(o, r->comm);
	}
}

/* End names and reset reasons ([A-Z0-9_]) need no escape. */
static void print_end(struct tt_out *o, const struct tt_record *r)
{
	char *p = tt_out_room(o, PIECE_MAX);

	if (r->has & TT_HAS_END)
		p = PUT_WORD(p, "end", tt_end_name(r->end));
	if (r->has & TT_HAS_TIMEWAIT)
		p = PUT_WORD(p, "timewait",
			     r->timewait == TT_TIMEWAIT_KILLED ? "killed" : "expired");
	p = PUT_OPTIONAL(p, r, TT_HAS_BYTES_ACKED, "bytes_acked", r->bytes_acked);
	p = PUT_OPTIONAL(p, r, TT_HAS_BYTES_RECEIVED, "bytes_received",
			 r->bytes_received);
	p = PUT_OPTIONAL(p, r, TT_HAS_RETRANS, "retrans", r->retrans);
	p = PUT_OPTIONAL(p, r, TT_HAS_SRTT_US, "srtt_us", r->srtt_us);
	/* Absent from the line means 0: always a number here. */
	p = PUT_NUMBER(p, "syn_retrans", r->syn_retrans);
	if (r->has & TT_HAS_RST_REASON)
		p = PUT_WORD(p, "rst_reason", r->rst_reason);
	tt_out_put_end(o, p);
}

static void print_derived(struct tt_out *o, const struct tt_record *r)
{
	char *p = tt_out_room(o, PIECE_MAX);
	uint64_t handshake;

	p = PUT_WORD(p, "role", tt_role_name(tt_record_role(r)));
	p = PUT_NUMBER(p, "lifetime_ns", tt_record_lifetime(r));
	if (tt_record_handshake(r, &handshake))
		p = PUT_NUMBER(p, "handshake_ns", handshake);
	tt_out_put_end(o, p);
}

/* Where the record comes from, when known. */
static void print_origin(struct tt_out *o, const struct tt_origin *origin)
{
	char *p;

	if (!origin)
		return;
	tt_out_lit(o, ",\"host\":");
	tt_out_json_string(o, origin->host);
	/* A UUID: no escaping needed. */
	if (origin->boot_id[0]) {
		p = tt_out_room(o, PIECE_MAX);
		p = PUT_WORD(p, "boot_id", origin->boot_id);
		tt_out_put_end(o, p);
	}
}

static void print_record(struct tt_out *o, const struct tt_record *r,
			 const struct tt_origin *origin)
{
	unsigned int i;
	char *p;

	p = tt_out_room(o, PIECE_MAX);
	p = tt_put_lit(p, "{\"schema\":");
	p = tt_put_u64(p, TT_JSON_SCHEMA);
	tt_out_put_end(o, p);
	print_origin(o, origin);
	p = tt_out_room(o, PIECE_MAX);
	p = PUT_WORD(p, "kind", tt_kind_name(r->kind));
	p = PUT_NUMBER(p, "id", r->id);
	p = PUT_WORD(p, "family", tt_family_name(r->family));
	tt_out_put_end(o, p);
	print_endpoint(o, "local", &r->local);
	print_endpoint(o, "remote", &r->remote);
	p = tt_out_room(o, PIECE_MAX);
	p = PUT_OPTIONAL(p, r, TT_HAS_SEQ, "seq", r->seq);
	p = PUT_NUMBER(p, "t0", r->t0);
	tt_out_put_end(o, p);
	print_owner(o, r);
	print_end(o, r);
	p = tt_out_room(o, PIECE_MAX);
	p = PUT_BOOL(p, "seen_at_load", r->seen_at_load);
	p = PUT_NUMBER(p, "unexpected", r->unexpected);
	p = PUT_NUMBER(p, "dropped", r->dropped);
	tt_out_put_end(o, p);
	print_derived(o, r);
	/* State names are plain ASCII words: no escaping needed. */
	p = tt_out_room(o, PIECE_MAX);
	p = PUT_WORD(p, "first_state", tt_state_name(r->first_state));
	p = tt_put_lit(p, ",\"steps\":[");
	tt_out_put_end(o, p);
	for (i = 0; i < r->nr_steps; i++) {
		if (i)
			tt_out_char(o, ',');
		print_step(o, &r->steps[i]);
	}
	tt_out_lit(o, "]}");
}

void tt_print_record_json(FILE *out, const struct tt_record *r,
			  const struct tt_origin *origin)
{
	struct tt_out o;

	tt_out_init(&o, out);
	print_record(&o, r, origin);
	tt_out_flush(&o);
}

static bool json_record(struct tt_view *v, const struct tt_record *r)
{
	struct tt_out o;

	tt_out_init(&o, v->out);
	print_record(&o, r, v->has_origin ? &v->origin : NULL);
	tt_out_char(&o, '\n');
	tt_out_flush(&o);
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
