// SPDX-License-Identifier: GPL-2.0
/*
 * --ladder: the two ends of each connection on the traced host side by
 * side, as the textbook draws TCP: the client on the left, the server on
 * the right, time flowing down, each row a state change of one side at its
 * time since the pair's first step. Between them, the segment each change
 * implies: a client entering SYN_SENT has sent a SYN, a server entering
 * NEW_SYN_RECV has answered with a SYN,ACK, and so on. The segments are
 * inferred from the states, not observed. Their labels have the relative
 * sequence and acknowledgment numbers a textbook writes there, where
 * they are known for sure (see struct ladder_numbers).
 *
 * Pairing needs every record, so they are held until the end of the
 * input, at most TT_LADDER_MAX of them.
 *
 * Several captures may be read at once (of many hosts): each record is
 * held with its group, one per origin (host and boot id) and one per
 * section of unknown origin, and only records of one group pair.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "origin.h"
#include "views.h"

#define TIME_WIDTH	12
#define SIDE_WIDTH	17	/* "BOUND_INACTIVE dx" */
#define ARROW_WIDTH	28	/* the longest label, "SYN,ACK seq=0 ack=1", with room */
/* "--- " and " -->", or "<-- " and " ---", around the label. */
#define LABEL_MAX	(ARROW_WIDTH - 8)

/* TCP state numbers, as in TCPTRACE_STATE_NAMES. */
enum {
	ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
	CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
};

/* The records of one host's boot, or of one section of unknown origin. */
struct ladder_group {
	bool known;
	struct tt_origin origin;
};

struct ladder_view {
	struct tt_view v;
	struct tt_record *records;
	unsigned int *groups;	/* of each record, in groups[] below */
	size_t count, room;
	struct ladder_group *group;
	unsigned int nr_groups, group_room;
	unsigned int section;	/* of the current group: v.sections then */
	unsigned int current;	/* the current section's group */
	uint64_t lost;		/* histories lost while following */
	bool lost_unknown;
};

/* ---- holding the records -------------------------------------------- */

/*
 * The group of the records of the current section: that of an earlier
 * section of the same origin, else a new one. False if out of memory.
 */
static bool find_group(struct ladder_view *l)
{
	const struct tt_view *v = &l->v;
	unsigned int i;

	if (l->nr_groups && l->section == v->sections)
		return true;
	for (i = 0; i < l->nr_groups && v->has_origin; i++) {
		if (l->group[i].known && tt_origin_same(&l->group[i].origin, &v->origin)) {
			l->current = i;
			l->section = v->sections;
			return true;
		}
	}
	if (l->nr_groups == l->group_room) {
		unsigned int room = l->group_room ? 2 * l->group_room : 4;
		struct ladder_group *grown = realloc(l->group, room * sizeof(*grown));

		if (!grown)
			return false;
		l->group = grown;
		l->group_room = room;
	}
	l->group[l->nr_groups].known = v->has_origin;
	if (v->has_origin)
		l->group[l->nr_groups].origin = v->origin;
	l->current = l->nr_groups++;
	l->section = v->sections;
	return true;
}

static bool ladder_record(struct tt_view *v, const struct tt_record *r)
{
	struct ladder_view *l = (struct ladder_view *)v;

	if (l->count == TT_LADDER_MAX) {
		fprintf(stderr, "tcptrace: --ladder holds at most %d histories, and the input has more\n",
			TT_LADDER_MAX);
		return false;
	}
	if (l->count == l->room) {
		size_t room = l->room ? 2 * l->room : 64;
		struct tt_record *grown;
		unsigned int *groups;

		if (room > TT_LADDER_MAX)
			room = TT_LADDER_MAX;
		grown = realloc(l->records, room * sizeof(*grown));
		if (grown)
			l->records = grown;
		groups = grown ? realloc(l->groups, room * sizeof(*groups)) : NULL;
		if (groups)
			l->groups = groups;
		if (!groups)
			goto nomem;
		l->room = room;
	}
	if (!find_group(l))
		goto nomem;
	l->groups[l->count] = l->current;
	l->records[l->count++] = *r;
	return true;
nomem:
	fprintf(stderr, "tcptrace: --ladder: %s\n", strerror(ENOMEM));
	return false;
}

static void ladder_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	struct ladder_view *l = (struct ladder_view *)v;

	(void)next_seq;
	if (known)
		l->lost += n;
	else
		l->lost_unknown = true;
}

/* ---- segments ------------------------------------------------------- */

enum segment {
	SEG_NONE,
	SEG_SYN,
	SEG_SYN_ACK,
	SEG_ACK_SYN_ACK,	/* the handshake's last ACK */
	SEG_FIN,
	SEG_ACK_FIN,		/* the ACK of the other side's FIN */
	SEG_RST,
};

/* The segment a side sends as it takes @step. */
static enum segment step_segment(const struct tt_record *r, unsigned int i)
{
	const struct tt_step *step = &r->steps[i];
	unsigned int from = step->old_state, to = step->new_state;

	if (to == SYN_SENT)
		return SEG_SYN;
	if (to == NEW_SYN_RECV || (from == SYN_SENT && to == SYN_RECV))
		return SEG_SYN_ACK;
	if (from == SYN_SENT && to == ESTABLISHED)
		return SEG_ACK_SYN_ACK;
	if (to == FIN_WAIT1 && from != FIN_WAIT1)
		return SEG_FIN;
	if (from == CLOSE_WAIT && to == LAST_ACK)
		return SEG_FIN;
	if (to == CLOSE_WAIT || (from == FIN_WAIT1 && to == CLOSING))
		return SEG_ACK_FIN;
	if (to == TIME_WAIT && (from == FIN_WAIT1 || from == FIN_WAIT2))
		return SEG_ACK_FIN;
	if (to == CLOSE && i + 1 == r->nr_steps && r->kind == TT_KIND_DONE &&
	    (((r->has & TT_HAS_END) && (r->end == TCPTRACE_END_RESET_SENT ||
					r->end == TCPTRACE_END_ABORTED)) ||
	     (r->has & TT_HAS_RST_REASON)))
		return SEG_RST;
	return SEG_NONE;
}

/*
 * The numbers of a pair's segments, relative to each side's initial
 * sequence number (0), as Wireshark shows them. The handshake's are the
 * same for every connection: SYN seq=0, SYN,ACK seq=0 ack=1, ACK seq=1
 * ack=1, written once a side saw it complete. Each FIN's comes from the
 * byte counters (tt_fin_seq()), and the ACK of a FIN at seq=u has ack=u+1.
 * A number not known for sure is left out, not guessed.
 */
struct ladder_numbers {
	bool handshake;
	bool fin_known[2];	/* [0] the client's FIN, [1] the server's */
	uint32_t fin[2];
};

static void pair_numbers(const struct tt_record *c, const struct tt_record *s,
			 struct ladder_numbers *n)
{
	uint64_t ns;

	n->handshake = tt_record_handshake(c, &ns) || tt_record_handshake(s, &ns);
	n->fin_known[0] = tt_fin_seq(c, s, &n->fin[0]);
	n->fin_known[1] = tt_fin_seq(s, c, &n->fin[1]);
}

/*
 * "SYN seq=0", "FIN seq=78", "ACK ack=1026", or the bare name: the label
 * of @segment sent by the client (@side 0) or the server (1).
 */
static void format_label(enum segment segment, const struct ladder_numbers *n,
			 unsigned int side, char buf[LABEL_MAX + 1])
{
	switch (segment) {
	case SEG_SYN:
		snprintf(buf, LABEL_MAX + 1, "SYN%s", n->handshake ? " seq=0" : "");
		break;
	case SEG_SYN_ACK:
		snprintf(buf, LABEL_MAX + 1, "SYN,ACK%s", n->handshake ? " seq=0 ack=1" : "");
		break;
	case SEG_ACK_SYN_ACK:
		snprintf(buf, LABEL_MAX + 1, "ACK%s", n->handshake ? " seq=1 ack=1" : "");
		break;
	case SEG_FIN:
		if (n->fin_known[side])
			snprintf(buf, LABEL_MAX + 1, "FIN seq=%" PRIu32, n->fin[side]);
		else
			snprintf(buf, LABEL_MAX + 1, "FIN");
		break;
	case SEG_ACK_FIN:
		if (n->fin_known[!side])
			snprintf(buf, LABEL_MAX + 1, "ACK ack=%" PRIu32,
				 (uint32_t)(n->fin[!side] + 1));
		else
			snprintf(buf, LABEL_MAX + 1, "ACK");
		break;
	case SEG_RST:
		snprintf(buf, LABEL_MAX + 1, "RST");
		break;
	default:
		buf[0] = '\0';
	}
}

/*
 * "--- SYN seq=0 --------------->" or "<--- SYN,ACK seq=0 ack=1 ---":
 * ARROW_WIDTH columns, the label near the sender's end. A label has at
 * most LABEL_MAX characters, so it fits.
 */
static void format_arrow(const char *segment, bool rightwards,
			 char buf[ARROW_WIDTH + 1])
{
	size_t label = strlen(segment) + 2;
	size_t before = rightwards ? 3 : ARROW_WIDTH - label - 3;

	memset(buf, '-', ARROW_WIDTH);
	buf[ARROW_WIDTH] = '\0';
	if (rightwards)
		buf[ARROW_WIDTH - 1] = '>';
	else
		buf[0] = '<';
	buf[before] = ' ';
	memcpy(buf + before + 1, segment, label - 2);
	buf[before + label - 1] = ' ';
}

/* ---- drawing -------------------------------------------------------- */

/*
 * A row: time, the client's cell, the arrow, the server's cell. A client's
 * cell longer than its column ("done simultaneous_close") takes the room
 * of an arrow the row does not have, so that the server's column stays
 * where it is; next to an arrow, it pushes the rest of its row right.
 */
static void print_row(struct tt_view *v, const char *time, const char *client,
		      const char *client_sgr, const char *arrow,
		      const char *server, const char *server_sgr)
{
	char line[TIME_WIDTH + 4];
	int width = SIDE_WIDTH;

	snprintf(line, sizeof(line), "%*s  ", TIME_WIDTH, time);
	fputs(line, v->out);
	if (!*arrow && !*server) {
		tt_color(v->out, v->style, client_sgr, client);
		fputc('\n', v->out);
		return;
	}
	if (!*arrow)
		width = SIDE_WIDTH + 1 + ARROW_WIDTH;
	else if ((int)strlen(client) > width)
		width = (int)strlen(client);
	tt_color_pad(v->out, v->style, client_sgr, client, width);
	fputc(' ', v->out);
	if (!*server) {
		fprintf(v->out, "%s\n", arrow);
		return;
	}
	if (*arrow)
		fprintf(v->out, "%-*s ", ARROW_WIDTH, arrow);
	tt_color(v->out, v->style, server_sgr, server);
	fputc('\n', v->out);
}

/*
 * "ESTABLISHED", "NEW_SYN_RECV d": the state step @i of @r enters and its
 * flags; 'w' also when a timewait socket took over later in that state
 * (a hand-over that stays in it is no row of its own).
 */
static void format_cell(const struct tt_style *style, const struct tt_record *r,
			unsigned int i, char *buf, size_t size)
{
	const struct tt_step *step = &r->steps[i];
	bool handover = tt_state_handed_over(r, i + 1);

	snprintf(buf, size, "%s%s%s%s%s", tt_style_state(style, step->new_state),
		 step->derived || handover || step->unexpected ? " " : "",
		 step->derived ? "d" : "", handover ? "w" : "",
		 step->unexpected ? "x" : "");
}

/* The state a side starts in: "FIN_WAIT2 w" if a timewait socket took over in it. */
static void format_first_cell(const struct tt_style *style, const struct tt_record *r,
			      char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", tt_style_state(style, r->first_state),
		 tt_state_handed_over(r, 0) ? " w" : "");
}

static const char *cell_color(const struct tt_step *step)
{
	return step->unexpected ? TT_RED : NULL;
}

/* Absolute time of step @i of @r, saturated. */
static uint64_t step_time(const struct tt_record *r, unsigned int i)
{
	uint64_t t = r->steps[i].t_ns;

	return r->t0 > UINT64_MAX - t ? UINT64_MAX : r->t0 + t;
}

/* One step of one side, with the '/' row before it if transitions were missed. */
static void print_step(struct tt_view *v, const struct tt_record *r,
		       unsigned int i, bool client, uint64_t base,
		       const struct ladder_numbers *numbers)
{
	const struct tt_step *step = &r->steps[i];
	enum segment segment = step_segment(r, i);
	char time[TT_DURATION_MAX + 1], duration[TT_DURATION_MAX];
	char cell[48], arrow[ARROW_WIDTH + 1] = "", label[LABEL_MAX + 1];

	/* Marked on the state before it. */
	if (tt_step_handover_stays(r, i))
		return;
	if (step->gap) {
		snprintf(cell, sizeof(cell), "/ %s", tt_style_state(v->style, step->old_state));
		if (client)
			print_row(v, "", cell, TT_YELLOW, "", "", NULL);
		else
			print_row(v, "", "", NULL, "", cell, TT_YELLOW);
	}
	tt_format_duration(step_time(r, i) - base, duration);
	snprintf(time, sizeof(time), "+%s", duration);
	format_cell(v->style, r, i, cell, sizeof(cell));
	if (segment != SEG_NONE) {
		format_label(segment, numbers, !client, label);
		format_arrow(label, client, arrow);
	}
	if (client)
		print_row(v, time, cell, cell_color(step), arrow, "", NULL);
	else
		print_row(v, time, "", NULL, arrow, cell, cell_color(step));
}

/* "done " end "(" reason ")", NUL included. */
#define END_TEXT_MAX	(24 + TT_RST_REASON_TEXT_MAX + 2)

/*
 * "done active_close", "done reset_sent(TCP_STATE)", "live": how each side
 * ended, with the kernel's reason for a RST it sent.
 */
static void format_end(const struct tt_record *r, char buf[END_TEXT_MAX])
{
	int len;

	if (r->kind == TT_KIND_DONE && (r->has & TT_HAS_END))
		len = snprintf(buf, END_TEXT_MAX, "done %s", tt_end_name(r->end));
	else
		len = snprintf(buf, END_TEXT_MAX, "%s", tt_kind_name(r->kind));
	if (r->has & TT_HAS_RST_REASON)
		snprintf(buf + len, END_TEXT_MAX - len, "(%s)", r->rst_reason);
}

/* " host NAME" after a pair's title or an unpaired record, when known. */
static void format_host(const struct ladder_view *l, size_t index, char *buf,
			size_t size)
{
	const struct ladder_group *g = &l->group[l->groups[index]];

	if (g->known)
		snprintf(buf, size, " host %s", g->origin.host);
	else if (size)
		buf[0] = '\0';
}

static void print_pair_heading(struct tt_view *v, const struct tt_record *c,
			       const struct tt_record *s, const char *host)
{
	char local[TT_ENDPOINT_MAX], remote[TT_ENDPOINT_MAX];
	char left[TT_OWNER_MAX + 32], right[TT_OWNER_MAX + 32];
	char title[2 * TT_ENDPOINT_MAX + 48 + TT_HOST_TEXT_MAX];

	tt_format_endpoint(v->style, &c->local, c->family, local);
	tt_format_endpoint(v->style, &c->remote, c->family, remote);
	snprintf(title, sizeof(title), "%s > %s", local, remote);
	if (c->has & TT_HAS_NETNS)
		snprintf(title + strlen(title), sizeof(title) - strlen(title),
			 " netns %" PRIu64, c->netns);
	snprintf(title + strlen(title), sizeof(title) - strlen(title), "%s", host);
	tt_color(v->out, v->style, TT_BOLD, title);
	fputc('\n', v->out);

	snprintf(left, sizeof(left), "client %" PRIu64, c->id);
	snprintf(right, sizeof(right), "server %" PRIu64, s->id);
	print_row(v, "", left, TT_BOLD, "", right, TT_BOLD);
	tt_format_owner(c, left);
	tt_format_owner(s, right);
	print_row(v, "", left, NULL, "", right, NULL);
	format_first_cell(v->style, c, left, sizeof(left));
	format_first_cell(v->style, s, right, sizeof(right));
	print_row(v, "", left, NULL, "", right, NULL);
}

static void print_pair(struct tt_view *v, const struct tt_record *c,
		       const struct tt_record *s, const char *host)
{
	uint64_t base = c->t0 < s->t0 ? c->t0 : s->t0;
	unsigned int i = 0, j = 0;
	char left[END_TEXT_MAX], right[END_TEXT_MAX];
	struct ladder_numbers numbers;

	pair_numbers(c, s, &numbers);
	print_pair_heading(v, c, s, host);
	/* Merge the two sides by time; the client first at equal times. */
	while (i < c->nr_steps || j < s->nr_steps) {
		if (j == s->nr_steps ||
		    (i < c->nr_steps && step_time(c, i) <= step_time(s, j)))
			print_step(v, c, i++, true, base, &numbers);
		else
			print_step(v, s, j++, false, base, &numbers);
	}
	format_end(c, left);
	format_end(s, right);
	print_row(v, "", left, c->kind == TT_KIND_DONE && (c->has & TT_HAS_END) ?
		  tt_end_color(c->end) : NULL, "", right,
		  s->kind == TT_KIND_DONE && (s->has & TT_HAS_END) ?
		  tt_end_color(s->end) : NULL);
}

/*
 * An unpaired record, on one line: "4101 done A > B refused curl/9: PATH",
 * with " host NAME" before the colon when its origin is known.
 */
static void print_unpaired(struct tt_view *v, const struct tt_record *r,
			   const char *host)
{
	char local[TT_ENDPOINT_MAX], remote[TT_ENDPOINT_MAX], owner[TT_OWNER_MAX];
	char end[END_TEXT_MAX];

	tt_format_endpoint(v->style, &r->local, r->family, local);
	tt_format_endpoint(v->style, &r->remote, r->family, remote);
	tt_format_owner(r, owner);
	format_end(r, end);
	fprintf(v->out, "  %" PRIu64 " %s > %s %s %s%s: ", r->id, local, remote,
		end, owner, host);
	tt_print_path(v->out, v->style, r);
	fputc('\n', v->out);
}

static bool ladder_finish(struct tt_view *v)
{
	struct ladder_view *l = (struct ladder_view *)v;
	size_t nr_pairs, nr_unpaired, i;
	char host[TT_HOST_TEXT_MAX + 8];
	struct tt_pair *pairs;
	size_t *unpaired;
	bool ok;

	pairs = malloc((l->count / 2 + 1) * sizeof(*pairs));
	unpaired = malloc((l->count + 1) * sizeof(*unpaired));
	ok = pairs && unpaired &&
	     tt_pair_records(l->records, l->groups, l->count, pairs, &nr_pairs,
			     unpaired, &nr_unpaired);
	if (!ok) {
		fprintf(stderr, "tcptrace: --ladder: %s\n", strerror(ENOMEM));
		free(pairs);
		free(unpaired);
		return false;
	}
	for (i = 0; i < nr_pairs; i++) {
		if (i)
			fputc('\n', v->out);
		format_host(l, pairs[i].client, host, sizeof(host));
		print_pair(v, &l->records[pairs[i].client], &l->records[pairs[i].server],
			   host);
	}
	if (nr_unpaired) {
		if (nr_pairs)
			fputc('\n', v->out);
		tt_color(v->out, v->style, TT_BOLD, "unpaired");
		fputc('\n', v->out);
		for (i = 0; i < nr_unpaired; i++) {
			format_host(l, unpaired[i], host, sizeof(host));
			print_unpaired(v, &l->records[unpaired[i]], host);
		}
	}
	if (l->lost || l->lost_unknown) {
		char text[64];

		if (nr_pairs || nr_unpaired)
			fputc('\n', v->out);
		snprintf(text, sizeof(text), "-- lost %" PRIu64 "%s histories --",
			 l->lost, l->lost_unknown ? " or more" : "");
		tt_color(v->out, v->style, TT_RED, text);
		fputc('\n', v->out);
	}
	free(pairs);
	free(unpaired);
	return true;
}

static void ladder_destroy(struct tt_view *v)
{
	struct ladder_view *l = (struct ladder_view *)v;

	free(l->records);
	free(l->groups);
	free(l->group);
	free(l);
}

static const struct tt_view_ops ladder_ops = {
	.record = ladder_record,
	.lost = ladder_lost,
	.finish = ladder_finish,
	.destroy = ladder_destroy,
};

struct tt_view *tt_ladder_view(FILE *out, const struct tt_style *style)
{
	struct ladder_view *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->v = (struct tt_view){ .ops = &ladder_ops, .out = out, .style = style };
	return &l->v;
}
