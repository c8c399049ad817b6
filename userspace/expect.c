// SPDX-License-Identifier: GPL-2.0
/*
 * --expect: does the input hold sockets that went through these paths?
 *
 * Layout:
 *
 *   struct tt_expect_set          items[0] ... items[count - 1]
 *     |                              |
 *     '-> struct tt_expect  (one per --expect, parsed from its text)
 *           text        "-L 80: 2 CLOSE>SYN_SENT>CLOSE|CLOSE>LISTEN end=refused"
 *           filter      -L 80            (tt_filter_parse_args(): FILTERS)
 *           quantifier  exactly, n = 2
 *           exact       false: repeated states folded
 *           paths[]     the '|' alternatives, as arrays of elements
 *           ends        bit per end reason; 0: any end, live or done
 *           selected, matched, shown[]   what the input held
 *
 * An element of a path is a state number, or a state number with
 * ELEM_GAP for the "/STATE" of a step whose old state the kernel reported
 * apart from the previous new state (a transition missed in between).
 * Folding drops from the socket's path each step that stays in its state
 * (tt_step_stays(): FIN_WAIT1>FIN_WAIT1 of close() after shutdown(),
 * FIN_WAIT2>FIN_WAIT2 of the hand-over to a timewait socket), and from the
 * expected one each element equal to the one before it, which is the same.
 *
 * Memory: each expectation keeps a filter, its counts and the raw lines of
 * TT_EXPECT_SHOWN selected sockets, whatever the input's size: the first
 * ones that count against it (without the path; with it, for "none"),
 * then the first others, so that a failure always shows its culprits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "expect.h"
#include "filter.h"
#include "model.h"

/* The most states an expected path may name, and alternatives in PATHS. */
#define PATH_MAX_ELEMS	32
#define ALTS_MAX	16

/* A socket's path has at most this many elements: first state, 2 a step. */
#define RECORD_MAX_ELEMS	(1 + 2 * TCPTRACE_MAX_STEPS)

#define ELEM_GAP	0x100

/* Longest text quoted in a message: the expectation, or a word of it. */
#define QUOTE_MAX	200
#define WORD_MAX	60

enum quantifier {
	Q_ANY,		/* at least one selected socket has the path */
	Q_ALL,		/* every selected socket, and at least one selected */
	Q_NONE,		/* no selected socket */
	Q_EXACTLY,	/* exactly n selected sockets */
};

struct path {
	unsigned int len;
	uint16_t elems[PATH_MAX_ELEMS];
};

struct tt_expect {
	const char *text;
	struct tt_filter filter;
	enum quantifier quantifier;
	uint64_t n;
	bool exact;
	unsigned int nr_paths;
	struct path paths[ALTS_MAX];
	uint32_t ends;

	uint64_t selected, matched;
	unsigned int nr_shown, nr_against;	/* the first nr_against: against it */
	char *shown[TT_EXPECT_SHOWN];
};

struct tt_expect_set {
	unsigned int count;
	struct tt_expect **items;
};

bool tt_expect_add(struct tt_expect_set **setp, const char *text)
{
	struct tt_expect_set *set = *setp;
	struct tt_expect **items, *e;

	if (!set) {
		set = calloc(1, sizeof(*set));
		if (!set)
			return false;
		*setp = set;
	}
	items = realloc(set->items, (set->count + 1) * sizeof(*items));
	if (!items)
		return false;
	set->items = items;
	e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	e->text = text;
	set->items[set->count++] = e;
	return true;
}

void tt_expect_free(struct tt_expect_set *set)
{
	unsigned int i, j;

	if (!set)
		return;
	for (i = 0; i < set->count; i++) {
		for (j = 0; j < set->items[i]->nr_shown; j++)
			free(set->items[i]->shown[j]);
		free(set->items[i]);
	}
	free(set->items);
	free(set);
}

/* ---- parsing ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static bool fail(char err[TT_EXPECT_ERR_MAX], const char *text, const char *fmt, ...)
{
	char what[TT_EXPECT_ERR_MAX / 2];
	size_t len = strlen(text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, TT_EXPECT_ERR_MAX, "--expect: %s in '%.*s%s'", what,
		 QUOTE_MAX, text, len > QUOTE_MAX ? "..." : "");
	return false;
}

static const char blanks[] = " \t\n";

/* Split @s in place into its whitespace-separated words. */
static unsigned int split_words(char *s, char *words[], unsigned int max)
{
	unsigned int n = 0;
	char *save, *w;

	for (w = strtok_r(s, blanks, &save); w && n < max; w = strtok_r(NULL, blanks, &save))
		words[n++] = w;
	return n;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/*
 * Is @w, the first word after FILTERS, meant as a quantifier? Quantifiers
 * are lowercase words and numbers; paths have a '>', '|' or '/', or are
 * one state (whose name may be in lowercase too).
 */
static bool looks_like_quantifier(const char *w)
{
	const char *c;

	if (strpbrk(w, ">|/") || strcmp(w, "exact") == 0 ||
	    strncmp(w, "end=", 4) == 0 || tt_state_lookup(w) >= 0)
		return false;
	for (c = w; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			return false;
	return true;
}

static bool parse_quantifier(struct tt_expect *e, const char *w,
			     char err[TT_EXPECT_ERR_MAX])
{
	char *end;

	if (strcmp(w, "any") == 0) {
		e->quantifier = Q_ANY;
	} else if (strcmp(w, "all") == 0) {
		e->quantifier = Q_ALL;
	} else if (strcmp(w, "none") == 0) {
		e->quantifier = Q_NONE;
	} else if (all_digits(w)) {
		errno = 0;
		e->n = strtoull(w, &end, 10);
		if (errno)
			return fail(err, e->text, "bad quantifier '%.*s' (too large)",
				    WORD_MAX, w);
		e->quantifier = Q_EXACTLY;
	} else {
		return fail(err, e->text,
			    "bad quantifier '%.*s' (any, all, none or a number)",
			    WORD_MAX, w);
	}
	return true;
}

/* One state name of @len bytes at @s, into @elem; false if unknown. */
static bool parse_state(struct tt_expect *e, const char *s, size_t len,
			const char *alt, uint16_t *elem, char err[TT_EXPECT_ERR_MAX])
{
	char name[WORD_MAX + 1];
	int state = -1;

	if (len == 0)
		return fail(err, e->text, "empty state in path '%.*s'", QUOTE_MAX, alt);
	if (len <= WORD_MAX) {
		memcpy(name, s, len);
		name[len] = '\0';
		state = tt_state_lookup(name);
	}
	if (state < 0)
		return fail(err, e->text, "unknown state '%.*s'",
			    (int)(len < WORD_MAX ? len : WORD_MAX), s);
	*elem = (uint16_t)state;
	return true;
}

static bool add_elem(struct tt_expect *e, struct path *p, uint16_t elem,
		     const char *alt, char err[TT_EXPECT_ERR_MAX])
{
	if (p->len == PATH_MAX_ELEMS)
		return fail(err, e->text, "path '%.*s' longer than %d states",
			    WORD_MAX, alt, PATH_MAX_ELEMS);
	p->elems[p->len++] = elem;
	return true;
}

/*
 * One alternative, STATE ["/" STATE] ">" STATE ... as path= writes it
 * without times and flags.
 */
static bool parse_path(struct tt_expect *e, const char *alt, struct path *p,
		       char err[TT_EXPECT_ERR_MAX])
{
	const char *s = alt, *slash;
	size_t len, state_len;
	/* Set by parse_state() before any use, which gcc -O3 does not see. */
	uint16_t elem = 0;

	if (!*alt)
		return fail(err, e->text, "empty path");
	for (;;) {
		len = strcspn(s, ">");
		slash = memchr(s, '/', len);
		state_len = slash ? (size_t)(slash - s) : len;
		if (!parse_state(e, s, state_len, alt, &elem, err) ||
		    !add_elem(e, p, elem, alt, err))
			return false;
		if (slash) {
			/* "/OLD": the old state of the next step, after a gap. */
			if (!s[len] || memchr(slash + 1, '/', len - state_len - 1))
				return fail(err, e->text,
					    "bad step '%.*s' (a '/STATE' comes right before a '>')",
					    (int)(len < WORD_MAX ? len : WORD_MAX), s);
			if (!parse_state(e, slash + 1, len - state_len - 1, alt, &elem, err) ||
			    !add_elem(e, p, elem | ELEM_GAP, alt, err))
				return false;
		}
		if (!s[len])
			return true;
		s += len + 1;
	}
}

/*
 * Drop each element equal to the one before it: an expected path's steps
 * that stay in their state, as tt_step_stays() tells a socket's.
 */
static void fold(uint16_t elems[], unsigned int *len)
{
	unsigned int i, kept = 0;

	for (i = 0; i < *len; i++)
		if (kept == 0 || elems[i] != elems[kept - 1])
			elems[kept++] = elems[i];
	*len = kept;
}

/* PATHS, joined from its words: alternatives separated by '|'. */
static bool parse_paths(struct tt_expect *e, char *paths, char err[TT_EXPECT_ERR_MAX])
{
	char *alt = paths, *bar;

	for (;;) {
		struct path *p = &e->paths[e->nr_paths];

		bar = strchr(alt, '|');
		if (bar)
			*bar = '\0';
		if (e->nr_paths == ALTS_MAX)
			return fail(err, e->text, "more than %d alternatives", ALTS_MAX);
		memset(p, 0, sizeof(*p));
		if (!parse_path(e, alt, p, err))
			return false;
		if (!e->exact)
			fold(p->elems, &p->len);
		e->nr_paths++;
		if (!bar)
			return true;
		alt = bar + 1;
	}
}

static bool parse_ends(struct tt_expect *e, char *list, char err[TT_EXPECT_ERR_MAX])
{
	char *save, *item;
	int end;

	/* strtok_r() would skip empty items: check for them first. */
	if (!*list || *list == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		return fail(err, e->text, "empty end reason in 'end=%.*s'", WORD_MAX, list);
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		end = tt_end_lookup(item);
		if (end < 0)
			return fail(err, e->text, "unknown end reason '%.*s'", WORD_MAX, item);
		e->ends |= 1u << end;
	}
	return true;
}

/* The words of PATHS may be apart only around a '|', '>' or '/'. */
static bool joins(const char *before, const char *word)
{
	size_t len = strlen(before);

	return strchr("|>/", before[len - 1]) || strchr("|>/", word[0]);
}

/*
 * [QUANTIFIER] ['exact'] PATHS ['end=' REASONS]: the words after FILTERS,
 * @buf being room for PATHS joined.
 */
static bool parse_assertion(struct tt_expect *e, char *words[], unsigned int n,
			    char *buf, char err[TT_EXPECT_ERR_MAX])
{
	unsigned int i = 0;

	e->quantifier = Q_ANY;
	if (i < n && words[i][0] == '-' && !all_digits(words[i] + 1))
		return fail(err, e->text, "option '%.*s' after the path (FILTERS end with ':')",
			    WORD_MAX, words[i]);
	if (i < n && looks_like_quantifier(words[i]) &&
	    !parse_quantifier(e, words[i++], err))
		return false;
	if (i < n && strcmp(words[i], "exact") == 0) {
		e->exact = true;
		i++;
		if (i < n && looks_like_quantifier(words[i]))
			return fail(err, e->text,
				    "quantifier '%.*s' after 'exact' (the quantifier comes first)",
				    WORD_MAX, words[i]);
	}
	*buf = '\0';
	for (; i < n && strncmp(words[i], "end=", 4) != 0; i++) {
		if (*buf && !joins(buf, words[i]))
			return fail(err, e->text, "unexpected '%.*s' after the path",
				    WORD_MAX, words[i]);
		strcat(buf, words[i]);
	}
	if (!*buf)
		return fail(err, e->text, "empty path");
	if (!parse_paths(e, buf, err))
		return false;
	if (i < n && !parse_ends(e, words[i++] + 4, err))
		return false;
	if (i < n)
		return fail(err, e->text, "unexpected '%.*s' after %s", WORD_MAX, words[i],
			    words[i - 1]);
	return true;
}

static bool compile_one(struct tt_expect *e, char err[TT_EXPECT_ERR_MAX])
{
	size_t len = strlen(e->text);
	char *copy = malloc(len + 1), *buf = malloc(len + 1);
	/* At most a word for every two bytes, and "--expect" before them. */
	char **words = malloc((len / 2 + 2) * sizeof(*words));
	static char argv0[] = "--expect";
	char ferr[TT_FILTER_ERR_MAX], *rest;
	unsigned int nr_filters = 0, n;
	bool ok = false;

	if (!copy || !buf || !words) {
		snprintf(err, TT_EXPECT_ERR_MAX, "--expect: %s", strerror(ENOMEM));
		goto out;
	}
	memcpy(copy, e->text, len + 1);
	/* The last ':': FILTERS may hold IPv6 addresses, PATHS has none. */
	rest = strrchr(copy, ':');
	if (rest) {
		*rest++ = '\0';
		words[0] = argv0;
		nr_filters = split_words(copy, words + 1, len / 2 + 1);
		if (!tt_filter_parse_args(&e->filter, nr_filters + 1, words, ferr)) {
			fail(err, e->text, "%s", ferr);
			goto out;
		}
	} else {
		rest = copy;
	}
	n = split_words(rest, words, len / 2 + 2);
	ok = parse_assertion(e, words, n, buf, err);
out:
	free(words);
	free(buf);
	free(copy);
	return ok;
}

bool tt_expect_compile(struct tt_expect_set *set, char err[TT_EXPECT_ERR_MAX])
{
	unsigned int i;

	for (i = 0; set && i < set->count; i++)
		if (!compile_one(set->items[i], err))
			return false;
	return true;
}

/* ---- checking ------------------------------------------------------------- */

/* The socket's path as elements; folded unless @exact. */
static unsigned int record_path(const struct tt_record *r, bool exact,
				uint16_t elems[RECORD_MAX_ELEMS])
{
	unsigned int len = 0, i;

	elems[len++] = r->first_state;
	for (i = 0; i < r->nr_steps; i++) {
		if (!exact && tt_step_stays(r, i))
			continue;
		if (r->steps[i].gap)
			elems[len++] = r->steps[i].old_state | ELEM_GAP;
		elems[len++] = r->steps[i].new_state;
	}
	return len;
}

static bool has_path(const struct tt_expect *e, const struct tt_record *r)
{
	uint16_t elems[RECORD_MAX_ELEMS];
	unsigned int len = record_path(r, e->exact, elems), i;

	if (e->ends && !(r->kind == TT_KIND_DONE && (r->has & TT_HAS_END) &&
			 (e->ends >> r->end & 1)))
		return false;
	for (i = 0; i < e->nr_paths; i++)
		if (e->paths[i].len == len &&
		    memcmp(e->paths[i].elems, elems, len * sizeof(elems[0])) == 0)
			return true;
	return false;
}

static bool holds(const struct tt_expect *e)
{
	switch (e->quantifier) {
	case Q_ALL:
		return e->selected > 0 && e->matched == e->selected;
	case Q_NONE:
		return e->matched == 0;
	case Q_EXACTLY:
		return e->matched == e->n;
	default:
		return e->matched > 0;
	}
}

struct expect_view {
	struct tt_view v;
	struct tt_expect_set *set;
	const struct tt_input *in;
};

/* Whether a selected socket, with or without the path, counts against @e. */
static bool counts_against(const struct tt_expect *e, bool with_path)
{
	return e->quantifier == Q_NONE ? with_path : !with_path;
}

/* Whether a record, @against @e or not, is kept among those it shows. */
static bool shows(const struct tt_expect *e, bool against)
{
	return e->nr_shown < TT_EXPECT_SHOWN || (against && e->nr_against < TT_EXPECT_SHOWN);
}

/*
 * Keep @line among @e's shown records (shows() said so): those against
 * it first, then the others, each in input order; one against it takes
 * the place of the last other one when all places are taken.
 */
static bool keep_shown(struct tt_expect *e, const char *line, size_t len, bool against)
{
	unsigned int at;
	char *copy;

	if (e->nr_shown == TT_EXPECT_SHOWN)
		free(e->shown[--e->nr_shown]);
	copy = strndup(line, len && line[len - 1] == '\n' ? len - 1 : len);
	if (!copy) {
		fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
		return false;
	}
	at = against ? e->nr_against++ : e->nr_shown;
	memmove(&e->shown[at + 1], &e->shown[at], (e->nr_shown - at) * sizeof(e->shown[0]));
	e->shown[at] = copy;
	e->nr_shown++;
	return true;
}

static bool expect_record(struct tt_view *v, const struct tt_record *r)
{
	struct expect_view *x = (struct expect_view *)v;
	const char *line = x->in->item == TT_ITEM_LINE && !tt_input_is_json(x->in) ?
			   x->in->line : NULL;
	size_t len = x->in->len;
	char rendered[TT_RENDER_MAX];
	unsigned int i;

	for (i = 0; x->set && i < x->set->count; i++) {
		struct tt_expect *e = x->set->items[i];
		bool with_path, against;

		if (!tt_filter_match(&e->filter, r))
			continue;
		e->selected++;
		with_path = has_path(e, r);
		e->matched += with_path;
		against = counts_against(e, with_path);
		if (!shows(e, against))
			continue;
		/* A binary or JSON record, as the line the module writes for it. */
		if (!line) {
			len = tt_binary_render(r, rendered);
			line = rendered;
		}
		if (!keep_shown(e, line, len, against))
			return false;
	}
	return true;
}

/* @text, and a newline: a result is one line, whatever blanks it holds. */
static void print_one_line(FILE *out, const char *text)
{
	const char *c;

	for (c = text; *c; c++)
		fputc(strchr("\n\r\t\v\f", *c) ? ' ' : *c, out);
	fputc('\n', out);
}

static bool expect_finish(struct tt_view *v)
{
	struct expect_view *x = (struct expect_view *)v;
	unsigned int count = x->set ? x->set->count : 0, i, j;
	bool all_hold = true;

	fprintf(v->out, "KTAP version 1\n1..%u\n", count);
	for (i = 0; i < count; i++) {
		const struct tt_expect *e = x->set->items[i];
		bool ok = holds(e);

		all_hold &= ok;
		fprintf(v->out, "%sok %u - ", ok ? "" : "not ", i + 1);
		print_one_line(v->out, e->text);
		fprintf(v->out, "# %" PRIu64 " selected, %" PRIu64 " with this path\n",
			e->selected, e->matched);
		for (j = 0; j < e->nr_shown; j++)
			fprintf(v->out, "# %s\n", e->shown[j]);
		if (e->selected > e->nr_shown)
			fprintf(v->out, "# ... and %" PRIu64 " more\n",
				e->selected - e->nr_shown);
	}
	return all_hold;
}

static void expect_destroy(struct tt_view *v)
{
	free(v);
}

static const struct tt_view_ops expect_ops = {
	.record = expect_record,
	.finish = expect_finish,
	.destroy = expect_destroy,
};

struct tt_view *tt_expect_view(FILE *out, const struct tt_style *style,
			       struct tt_expect_set *set, const struct tt_input *in)
{
	struct expect_view *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->v.ops = &expect_ops;
	x->v.out = out;
	x->v.style = style;
	x->set = set;
	x->in = in;
	return &x->v;
}
