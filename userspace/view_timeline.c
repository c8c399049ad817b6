// SPDX-License-Identifier: GPL-2.0
/*
 * --timeline: per socket, a line saying which socket it is, then one row
 * per state: when it was entered (since t0), the state, and how long it
 * lasted. Printed as each record is read.
 *
 * After that line, one for each of what the history adds: the kernel's
 * reason for a RST the socket sent, the retransmissions of its handshake.
 * Notes after a row say how its state was entered, and where a timewait
 * socket took over: a hand-over that stays in the state is no row of its
 * own, but a note on the state's, with its time.
 *
 *   4099 done 127.0.0.1:47104 > 127.0.0.1:8080 active_close curl/1234
 *                   CLOSE
 *             +0ns  SYN_SENT        for 71.312us
 *        +71.312us  ESTABLISHED     for 1.042ms
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "views.h"

#define AT_WIDTH	15	/* "+18446744073.71s", indented */
#define STATE_WIDTH	14	/* "BOUND_INACTIVE" */
#define FOR_WIDTH	16
/* Room for "(derived, timewait hand-over at +18446744073.71s, unexpected)". */
#define NOTES_MAX	80

struct timeline_view {
	struct tt_view v;
	bool first_done;	/* a block was printed: separate the next */
	struct tt_out out;	/* the record being written */
};

static struct tt_out *out_of(struct tt_view *v)
{
	return &((struct timeline_view *)v)->out;
}

/* The socket's line: which one it is, how it ended, whose it is. */
static void print_title(struct tt_view *v, const struct tt_record *r)
{
	const struct tt_style *style = v->style;
	char title[2 * TT_ENDPOINT_MAX + 64], owner[TT_OWNER_MAX];
	struct tt_out *o = out_of(v);
	char *p = title;

	/* "%" PRIu64 " %s %s > %s": at most 20 + 6 + 2 * 85 + 3 bytes. */
	p = tt_put_u64(p, r->id);
	p = tt_put_lit(p, " ");
	p = tt_put_str(p, tt_kind_name(r->kind));
	p = tt_put_lit(p, " ");
	p += tt_format_endpoint(style, &r->local, r->family, p);
	p = tt_put_lit(p, " > ");
	p += tt_format_endpoint(style, &r->remote, r->family, p);
	tt_out_color(o, style, TT_BOLD, title, p - title);
	if (r->kind == TT_KIND_DONE && (r->has & TT_HAS_END)) {
		tt_out_char(o, ' ');
		tt_out_color(o, style, tt_end_color(r->end), tt_end_name(r->end),
			     strlen(tt_end_name(r->end)));
	}
	if (r->has & (TT_HAS_COMM | TT_HAS_PID | TT_HAS_TGID)) {
		tt_out_char(o, ' ');
		tt_out_mem(o, owner, tt_format_owner(r, owner));
	}
	if (r->seen_at_load)
		tt_out_lit(o, " seen-at-load");
	if (r->dropped) {
		tt_out_lit(o, " (+");
		tt_out_u64(o, r->dropped);
		tt_out_lit(o, " dropped)");
	}
	tt_out_char(o, '\n');
	if (r->has & TT_HAS_RST_REASON) {
		tt_out_lit(o, "  RST sent, reason: ");
		tt_out_str(o, r->rst_reason);
		tt_out_char(o, '\n');
	}
	if (r->syn_retrans) {
		tt_out_lit(o, "  handshake retransmissions: ");
		tt_out_u64(o, r->syn_retrans);
		tt_out_char(o, '\n');
	}
}

/*
 * One row. @at and @lasted may be empty; @notes, coloured with @sgr, go
 * last. No trailing spaces.
 */
static void print_row(struct tt_view *v, const char *at, const char *state,
		      const char *lasted, const char *notes, const char *sgr)
{
	struct tt_out *o = out_of(v);
	/* @at, @state and @lasted are at most 24, 14 and 47 characters. */
	char *row = tt_out_room(o, AT_WIDTH + STATE_WIDTH + FOR_WIDTH + 64);
	char *p = row;

	/* "%*s  %-*s  %-*s  " */
	p = tt_put_rpad(p, at, strlen(at), AT_WIDTH);
	p = tt_put_lit(p, "  ");
	p = tt_put_pad(p, state, strlen(state), STATE_WIDTH);
	p = tt_put_lit(p, "  ");
	p = tt_put_pad(p, lasted, strlen(lasted), FOR_WIDTH);
	p = tt_put_lit(p, "  ");
	if (!*notes) {
		while (p > row && p[-1] == ' ')
			p--;
	}
	tt_out_put_end(o, p);
	tt_out_color(o, v->style, sgr, notes, strlen(notes));
	tt_out_char(o, '\n');
}

static void format_at(uint64_t ns, char *buf)
{
	buf[0] = '+';
	tt_format_duration(ns, buf + 1);	/* "+%s": buf has TT_DURATION_MAX + 1 */
}

/* Add @text to the notes in @buf: "(derived", then ", unexpected". */
static void add_note(char buf[NOTES_MAX], const char *text)
{
	size_t len = strlen(buf);

	snprintf(buf + len, NOTES_MAX - len, "%s%s", len ? ", " : "(", text);
}

/* Close the notes: "(derived, unexpected)"; "" stays "". */
static void end_notes(char buf[NOTES_MAX])
{
	size_t len = strlen(buf);

	if (len)
		snprintf(buf + len, NOTES_MAX - len, ")");
}

/*
 * The hand-over to a timewait socket in the state @r is in after @n
 * steps: "timewait hand-over" when the step into the state was it, "...
 * at +5.215ms" when it came later, in a step that stays in the state.
 */
static void note_handover(const struct tt_record *r, unsigned int n,
			  char buf[NOTES_MAX])
{
	char at[TT_DURATION_MAX + 1], text[TT_DURATION_MAX + 32];

	if (n && r->steps[n - 1].timewait) {
		add_note(buf, "timewait hand-over");
	} else if (tt_step_handover_stays(r, n)) {
		format_at(r->steps[n].t_ns, at);
		snprintf(text, sizeof(text), "timewait hand-over at %s", at);
		add_note(buf, text);
	}
}

/* "for 1.042ms"; for a live socket's last state, how long so far. */
static void format_lasted(struct tt_view *v, const struct tt_record *r,
			  unsigned int next, uint64_t entered, char *buf, size_t size)
{
	uint64_t until;
	size_t len;

	buf[0] = '\0';
	/* A hand-over that stays in the state does not end it. */
	while (tt_step_handover_stays(r, next))
		next++;
	if (next < r->nr_steps) {
		if (r->steps[next].gap)
			return;	/* left at some time we did not see */
		until = r->steps[next].t_ns;
	} else if (r->kind == TT_KIND_LIVE && v->has_header &&
		   v->header.now >= r->t0 && v->header.now - r->t0 >= entered) {
		until = v->header.now - r->t0;
	} else {
		return;
	}
	/* "for %s%s": the callers' buffers have room for the longest. */
	if (size < sizeof("for ") + TT_DURATION_MAX + sizeof(" so far"))
		return;
	len = tt_str_append(buf, size, 0, "for ");
	len += tt_format_duration(until >= entered ? until - entered : 0, buf + len);
	if (next >= r->nr_steps)
		tt_str_append(buf, size, len, " so far");
}

/* The state the history starts in: entered before t0, or at the load. */
static void print_first_state(struct tt_view *v, const struct tt_record *r)
{
	const char *state = tt_style_state(v->style, r->first_state);
	char at[TT_DURATION_MAX + 1], lasted[FOR_WIDTH + 32], notes[NOTES_MAX] = "";

	if (r->seen_at_load)
		add_note(notes, "seen at load");
	note_handover(r, 0, notes);
	end_notes(notes);
	if (!r->seen_at_load) {
		print_row(v, "", state, "", notes, *notes ? TT_DIM : NULL);
		return;
	}
	format_at(0, at);
	format_lasted(v, r, 0, 0, lasted, sizeof(lasted));
	print_row(v, at, state, lasted, notes, TT_DIM);
}

static void print_step(struct tt_view *v, const struct tt_record *r, unsigned int i)
{
	const struct tt_step *step = &r->steps[i];
	char at[TT_DURATION_MAX + 1], lasted[FOR_WIDTH + 32], notes[NOTES_MAX] = "";

	/* Noted on the state before it. */
	if (tt_step_handover_stays(r, i))
		return;
	if (step->gap)
		print_row(v, "", tt_style_state(v->style, step->old_state), "",
			  "(transitions missed)", TT_YELLOW);
	format_at(step->t_ns, at);
	format_lasted(v, r, i + 1, step->t_ns, lasted, sizeof(lasted));
	if (step->derived)
		add_note(notes, "derived");
	note_handover(r, i + 1, notes);
	if (step->unexpected)
		add_note(notes, "unexpected");
	end_notes(notes);
	print_row(v, at, tt_style_state(v->style, step->new_state), lasted, notes,
		  step->unexpected ? TT_RED : TT_DIM);
}

static bool timeline_record(struct tt_view *v, const struct tt_record *r)
{
	struct timeline_view *t = (struct timeline_view *)v;
	unsigned int i;

	tt_out_init(&t->out, v->out);
	if (t->first_done)
		tt_out_char(&t->out, '\n');
	t->first_done = true;
	print_title(v, r);
	print_first_state(v, r);
	for (i = 0; i < r->nr_steps; i++)
		print_step(v, r, i);
	tt_out_flush(&t->out);
	return true;
}

static void timeline_lost(struct tt_view *v, bool known, uint64_t n,
			  uint64_t next_seq)
{
	struct timeline_view *t = (struct timeline_view *)v;

	if (t->first_done)
		fputc('\n', v->out);
	t->first_done = false;
	tt_print_lost(v->out, v->style, known, n, next_seq);
	fputc('\n', v->out);
}

static void timeline_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops timeline_ops = {
	.record = timeline_record,
	.lost = timeline_lost,
	.destroy = timeline_destroy,
};

struct tt_view *tt_timeline_view(FILE *out, const struct tt_style *style)
{
	struct timeline_view *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->v = (struct tt_view){ .ops = &timeline_ops, .out = out, .style = style };
	return &t->v;
}
