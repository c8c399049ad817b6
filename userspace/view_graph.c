// SPDX-License-Identifier: GPL-2.0
/*
 * --graph: the state machine the histories went through, as a Graphviz DOT
 * graph. A node per state seen, an edge per transition seen, labelled with
 * how many times: dashed if a kprobe derived it ('d'), red if it was
 * unexpected ('x'), marked "(w)" for a timewait hand-over, and dotted from
 * a state to the one a '/' names, for transitions missed in between.
 * Counted in fixed memory, drawn at the end.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "views.h"

/* The kinds of one transition, counted apart: bits of the edge index. */
enum {
	EDGE_DERIVED	= 1 << 0,
	EDGE_TIMEWAIT	= 1 << 1,
	EDGE_UNEXPECTED	= 1 << 2,
	EDGE_KINDS	= 1 << 3,
};

#define NR	TCPTRACE_NR_STATES

struct graph_view {
	struct tt_view v;
	uint32_t nodes;			/* bit per state seen */
	uint64_t edges[NR][NR][EDGE_KINDS];
	uint64_t missed[NR][NR];	/* last state seen -> the '/' state */
	uint64_t lost;			/* histories lost while following */
	bool lost_unknown;
};

static unsigned int state_of(unsigned int state)
{
	return state < NR ? state : 0;	/* UNKNOWN */
}

static bool graph_record(struct tt_view *v, const struct tt_record *r)
{
	struct graph_view *g = (struct graph_view *)v;
	unsigned int prev = state_of(r->first_state), i;

	g->nodes |= 1u << prev;
	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];
		unsigned int from = state_of(step->old_state), to = state_of(step->new_state);
		unsigned int kind = (step->derived ? EDGE_DERIVED : 0) |
				    (step->timewait ? EDGE_TIMEWAIT : 0) |
				    (step->unexpected ? EDGE_UNEXPECTED : 0);

		if (step->gap)
			g->missed[prev][from]++;
		g->edges[from][to][kind]++;
		g->nodes |= 1u << from | 1u << to;
		prev = to;
	}
	return true;
}

static void graph_lost(struct tt_view *v, bool known, uint64_t n, uint64_t next_seq)
{
	struct graph_view *g = (struct graph_view *)v;

	(void)next_seq;
	if (known)
		g->lost += n;
	else
		g->lost_unknown = true;
}

static void print_edge(struct tt_view *v, unsigned int from, unsigned int to,
		       unsigned int kind, uint64_t count)
{
	fprintf(v->out, "\t\"%s\" -> \"%s\" [label=\"%" PRIu64 "%s\"%s%s];\n",
		tt_style_state(v->style, from), tt_style_state(v->style, to), count,
		kind & EDGE_TIMEWAIT ? " (w)" : "",
		kind & EDGE_DERIVED ? ", style=dashed" : "",
		kind & EDGE_UNEXPECTED ? ", color=red, fontcolor=red" : "");
}

static bool graph_finish(struct tt_view *v)
{
	struct graph_view *g = (struct graph_view *)v;
	unsigned int from, to, kind;

	fputs("digraph tcptrace {\n\trankdir=LR;\n\tnode [shape=box];\n", v->out);
	for (from = 0; from < NR; from++)
		if (g->nodes & (1u << from))
			fprintf(v->out, "\t\"%s\";\n", tt_style_state(v->style, from));
	for (from = 0; from < NR; from++) {
		for (to = 0; to < NR; to++) {
			for (kind = 0; kind < EDGE_KINDS; kind++)
				if (g->edges[from][to][kind])
					print_edge(v, from, to, kind, g->edges[from][to][kind]);
			if (g->missed[from][to])
				fprintf(v->out, "\t\"%s\" -> \"%s\" [label=\"%" PRIu64
					" missed\", style=dotted];\n",
					tt_style_state(v->style, from),
					tt_style_state(v->style, to), g->missed[from][to]);
		}
	}
	if (g->lost || g->lost_unknown)
		fprintf(v->out, "\t// lost %" PRIu64 "%s histories while following\n",
			g->lost, g->lost_unknown ? " or more" : "");
	fputs("}\n", v->out);
	return true;
}

static void graph_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops graph_ops = {
	.record = graph_record,
	.lost = graph_lost,
	.finish = graph_finish,
	.destroy = graph_destroy,
};

struct tt_view *tt_graph_view(FILE *out, const struct tt_style *style)
{
	struct graph_view *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->v = (struct tt_view){ .ops = &graph_ops, .out = out, .style = style };
	return &g->v;
}
