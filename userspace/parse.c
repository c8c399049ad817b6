// SPDX-License-Identifier: GPL-2.0
/*
 * Parser for the text format of /dev/tcptrace; the grammar and the
 * extension rule it follows are in Documentation/tcptrace.rst.
 *
 * Strict about what format 1 defines (a line that does not follow it is an
 * error with a message naming the problem), lenient about what the
 * extension rule allows to appear later: unknown keys, step flags and
 * record kinds are skipped.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* At most this much of an offending token is quoted in a message. */
#define QUOTE_MAX	40

static const char *const state_names[] = TCPTRACE_STATE_NAMES;
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == TCPTRACE_NR_STATES,
	       "TCPTRACE_STATE_NAMES and TCPTRACE_NR_STATES disagree");

#define HEADER_KEY(name) { #name, offsetof(struct tt_header, name) }
const struct tt_header_key tt_header_keys[] = {
	HEADER_KEY(format),
	HEADER_KEY(now),
	HEADER_KEY(live),
	HEADER_KEY(live_max),
	HEADER_KEY(done),
	HEADER_KEY(ring_size),
	HEADER_KEY(events),
	HEADER_KEY(created),
	HEADER_KEY(completed),
	HEADER_KEY(drop_table_full),
	HEADER_KEY(drop_steps_full),
	HEADER_KEY(ring_overwritten),
	HEADER_KEY(mem_bytes),
};
const size_t tt_nr_header_keys = sizeof(tt_header_keys) / sizeof(tt_header_keys[0]);

/* A piece of the line being parsed; lines are not NUL-terminated. */
struct span {
	const char *s;
	size_t len;
};

/* For "'%.*s'" in messages: the token, cut to QUOTE_MAX characters. */
#define QUOTED(sp) (int)((sp).len < QUOTE_MAX ? (sp).len : QUOTE_MAX), (sp).s

static bool span_is(struct span sp, const char *str)
{
	return sp.len == strlen(str) && memcmp(sp.s, str, sp.len) == 0;
}

/* Write a message to @err; returns false so callers can "return set_error()". */
__attribute__((format(printf, 2, 3)))
static bool set_error(char err[TT_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TT_ERR_MAX, fmt, ap);
	va_end(ap);
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

enum number_result {
	NUMBER_OK,
	NUMBER_BAD,		/* empty, or not only decimal digits */
	NUMBER_OVERFLOW,	/* does not fit in 64 bits */
};

/* Decimal digits and nothing else: no sign, no spaces, no base prefix. */
static enum number_result parse_u64(struct span sp, uint64_t *out)
{
	uint64_t value = 0;
	size_t i;

	if (sp.len == 0)
		return NUMBER_BAD;
	for (i = 0; i < sp.len; i++) {
		unsigned int digit;

		if (!is_digit(sp.s[i]))
			return NUMBER_BAD;
		digit = sp.s[i] - '0';
		if (value > (UINT64_MAX - digit) / 10)
			return NUMBER_OVERFLOW;
		value = value * 10 + digit;
	}
	*out = value;
	return NUMBER_OK;
}

/* Parse the value of key=value field @name; @prefix starts the message. */
static bool parse_value(const char *prefix, const char *name,
			struct span value, uint64_t *out, char err[TT_ERR_MAX])
{
	switch (parse_u64(value, out)) {
	case NUMBER_OK:
		return true;
	case NUMBER_OVERFLOW:
		return set_error(err, "%s%s: number overflows u64", prefix, name);
	default:
		return set_error(err, "%s%s: expected a decimal number, got '%.*s'",
			     prefix, name, QUOTED(value));
	}
}

/*
 * Fields are separated by exactly one space, so two spaces in a row or a
 * trailing space make an empty field, which callers reject.
 */
struct fields {
	const char *pos;
	const char *end;
	bool done;
	int index;		/* 1-based number of the field last taken */
};

static struct fields fields_of(const char *start, const char *end)
{
	return (struct fields){ .pos = start, .end = end };
}

static bool next_field(struct fields *fs, struct span *field)
{
	const char *space;

	if (fs->done)
		return false;
	space = memchr(fs->pos, ' ', fs->end - fs->pos);
	field->s = fs->pos;
	field->len = (space ? space : fs->end) - fs->pos;
	if (space)
		fs->pos = space + 1;
	else
		fs->done = true;
	fs->index++;
	return true;
}

static bool empty_field_error(const struct fields *fs, const char *prefix,
			      char err[TT_ERR_MAX])
{
	return set_error(err, "%sfield %d: empty (fields are separated by one space)",
		     prefix, fs->index);
}

/* Split "key=value"; false if there is no '=' or nothing before it. */
static bool split_key_value(struct span field, struct span *key,
			    struct span *value)
{
	const char *eq = memchr(field.s, '=', field.len);

	if (!eq || eq == field.s)
		return false;
	key->s = field.s;
	key->len = eq - field.s;
	value->s = eq + 1;
	value->len = field.s + field.len - value->s;
	return true;
}

const char *tt_state_name(unsigned int state)
{
	return state < TCPTRACE_NR_STATES ? state_names[state] : state_names[0];
}

static bool lookup_state(struct span name, uint8_t *state)
{
	unsigned int i;

	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		if (span_is(name, state_names[i])) {
			*state = (uint8_t)i;	/* i < TCPTRACE_NR_STATES */
			return true;
		}
	}
	return false;
}

/* ---- path= -------------------------------------------------------- */

struct cursor {
	const char *pos;
	const char *end;
};

static bool at_end(const struct cursor *c)
{
	return c->pos == c->end;
}

/* Take @c if it is the next character. */
static bool take(struct cursor *c, char ch)
{
	if (at_end(c) || *c->pos != ch)
		return false;
	c->pos++;
	return true;
}

/*
 * A state name runs up to the next path delimiter; reading the whole token
 * (rather than only [A-Z0-9_]) lets the message quote what was written.
 * @where says what came before, for the message when the name is missing.
 */
static bool parse_state(struct cursor *c, const char *where, uint8_t *state,
			struct span *name, char err[TT_ERR_MAX])
{
	name->s = c->pos;
	while (!at_end(c) && !strchr("/>@", *c->pos))
		c->pos++;
	name->len = c->pos - name->s;
	if (name->len == 0)
		return set_error(err, "bad path: expected a state %s", where);
	if (!lookup_state(*name, state))
		return set_error(err, "unknown state '%.*s'", QUOTED(*name));
	return true;
}

/* "@NSEC *FLAG" after the new state @name of @step. */
static bool parse_step_time(struct cursor *c, struct span name,
			    struct tt_step *step, char err[TT_ERR_MAX])
{
	struct span digits = { c->pos, 0 };

	if (!take(c, '@'))
		return set_error(err, "bad path: expected '@' after state '%.*s'",
			     QUOTED(name));
	digits.s = c->pos;
	while (!at_end(c) && is_digit(*c->pos))
		c->pos++;
	digits.len = c->pos - digits.s;
	switch (parse_u64(digits, &step->t_ns)) {
	case NUMBER_OK:
		break;
	case NUMBER_OVERFLOW:
		return set_error(err, "bad path: time of state '%.*s' overflows u64",
			     QUOTED(name));
	default:
		return set_error(err, "bad path: expected a time after '%.*s@'",
			     QUOTED(name));
	}
	/* Flags are lowercase letters; the extension rule says skip unknown. */
	while (!at_end(c) && is_lower(*c->pos)) {
		if (*c->pos == TCPTRACE_STEP_SOFTIRQ)
			step->softirq = true;
		c->pos++;
	}
	if (!at_end(c) && *c->pos != '/' && *c->pos != '>')
		return set_error(err, "bad path: unexpected '%c' after the time of state '%.*s'",
			     *c->pos, QUOTED(name));
	return true;
}

/* path = STATE *step;  step = ["/" STATE] ">" STATE "@" NSEC *FLAG */
static bool parse_path(struct span value, struct tt_record *r,
		       char err[TT_ERR_MAX])
{
	struct cursor c = { value.s, value.s + value.len };
	uint8_t prev_state;
	struct span name;

	if (!parse_state(&c, "at the start", &r->first_state, &name, err))
		return false;
	prev_state = r->first_state;

	while (!at_end(&c)) {
		struct tt_step step = { .old_state = prev_state };

		if (r->nr_steps == TCPTRACE_MAX_STEPS)
			return set_error(err, "bad path: more than %d steps",
				     TCPTRACE_MAX_STEPS);
		if (take(&c, '/')) {
			step.gap = true;
			if (!parse_state(&c, "after '/'", &step.old_state,
					 &name, err))
				return false;
		}
		if (!take(&c, '>'))
			return set_error(err, "bad path: expected '>' after state '%.*s'",
				     QUOTED(name));
		if (!parse_state(&c, "after '>'", &step.new_state, &name, err) ||
		    !parse_step_time(&c, name, &step, err))
			return false;
		r->steps[r->nr_steps++] = step;
		prev_state = step.new_state;
	}
	return true;
}

/* ---- record lines ------------------------------------------------- */

/* Record kinds, known or future, are lowercase words. */
static bool is_kind_word(struct span sp)
{
	size_t i;

	if (sp.len == 0 || !is_lower(sp.s[0]))
		return false;
	for (i = 1; i < sp.len; i++)
		if (!is_lower(sp.s[i]) && !is_digit(sp.s[i]) && sp.s[i] != '_')
			return false;
	return true;
}

/* Take positional field @what, which must be there and not be empty. */
static bool positional_field(struct fields *fs, const char *what,
			     struct span *field, char err[TT_ERR_MAX])
{
	if (!next_field(fs, field))
		return set_error(err, "field %d: missing %s", fs->index + 1, what);
	if (field->len == 0)
		return empty_field_error(fs, "", err);
	return true;
}

static bool parse_port(struct span sp, uint16_t *port)
{
	uint64_t value;

	if (parse_u64(sp, &value) != NUMBER_OK || value > UINT16_MAX)
		return false;
	*port = (uint16_t)value;
	return true;
}

/*
 * "A.B.C.D:PORT" or "[IPV6]:PORT". The address is kept as written; it only
 * has to be one inet_pton() accepts for the record's family.
 */
static bool parse_endpoint(struct span field, int index, enum tt_family family,
			   struct tt_endpoint *ep, char err[TT_ERR_MAX])
{
	const char *expected = family == TT_FAMILY_IPV4 ? "A.B.C.D:PORT" : "[IPV6]:PORT";
	const char *colon = NULL;
	struct span addr, port;
	unsigned char binary[sizeof(struct in6_addr)];
	size_t i;

	for (i = field.len; i > 0; i--) {
		if (field.s[i - 1] == ':') {
			colon = field.s + i - 1;
			break;
		}
	}
	if (!colon)
		return set_error(err, "field %d: expected %s, got '%.*s'", index,
			     expected, QUOTED(field));
	addr = (struct span){ field.s, colon - field.s };
	port = (struct span){ colon + 1, field.s + field.len - (colon + 1) };

	if (family == TT_FAMILY_IPV6) {
		if (addr.len < 2 || addr.s[0] != '[' || addr.s[addr.len - 1] != ']')
			return set_error(err, "field %d: expected %s, got '%.*s'",
				     index, expected, QUOTED(field));
		addr.s++;
		addr.len -= 2;
	}
	if (addr.len >= sizeof(ep->addr))
		return set_error(err, "field %d: bad %s address '%.*s'", index,
			     family == TT_FAMILY_IPV4 ? "IPv4" : "IPv6", QUOTED(addr));
	memcpy(ep->addr, addr.s, addr.len);
	ep->addr[addr.len] = '\0';
	if (inet_pton(family == TT_FAMILY_IPV4 ? AF_INET : AF_INET6,
		      ep->addr, binary) != 1)
		return set_error(err, "field %d: bad %s address '%.*s'", index,
			     family == TT_FAMILY_IPV4 ? "IPv4" : "IPv6", QUOTED(addr));
	if (!parse_port(port, &ep->port))
		return set_error(err, "field %d: bad port '%.*s'", index, QUOTED(port));
	return true;
}

/* The five positional fields after the kind: id, family, local, remote. */
static bool parse_positional(struct fields *fs, struct tt_record *r,
			     char err[TT_ERR_MAX])
{
	struct span f;

	if (!positional_field(fs, "socket id", &f, err))
		return false;
	switch (parse_u64(f, &r->id)) {
	case NUMBER_OK:
		break;
	case NUMBER_OVERFLOW:
		return set_error(err, "field 2: socket id overflows u64");
	default:
		return set_error(err, "field 2: expected a decimal socket id, got '%.*s'",
			     QUOTED(f));
	}

	if (!positional_field(fs, "family", &f, err))
		return false;
	if (span_is(f, "ipv4"))
		r->family = TT_FAMILY_IPV4;
	else if (span_is(f, "ipv6"))
		r->family = TT_FAMILY_IPV6;
	else
		return set_error(err, "field 3: expected ipv4 or ipv6, got '%.*s'",
			     QUOTED(f));

	if (!positional_field(fs, "local address", &f, err) ||
	    !parse_endpoint(f, 4, r->family, &r->local, err))
		return false;
	if (!positional_field(fs, "remote address", &f, err) ||
	    !parse_endpoint(f, 5, r->family, &r->remote, err))
		return false;
	return true;
}

/* A known key may appear once; parse its value into @out. */
static bool parse_key_once(const char *name, struct span value, bool *seen,
			   uint64_t *out, char err[TT_ERR_MAX])
{
	if (*seen)
		return set_error(err, "duplicate key '%s'", name);
	*seen = true;
	return parse_value("", name, value, out, err);
}

/* The key=value fields after the positional ones. */
static bool parse_record_keys(struct fields *fs, struct tt_record *r,
			      char err[TT_ERR_MAX])
{
	bool seen_t0 = false, seen_dropped = false, seen_path = false;
	struct span f, key, value;

	while (next_field(fs, &f)) {
		bool ok = true;

		if (f.len == 0)
			return empty_field_error(fs, "", err);
		if (!split_key_value(f, &key, &value))
			return set_error(err, "field %d: expected key=value, got '%.*s'",
				     fs->index, QUOTED(f));

		if (span_is(key, "seq")) {
			ok = parse_key_once("seq", value, &r->has_seq, &r->seq, err);
		} else if (span_is(key, "t0")) {
			ok = parse_key_once("t0", value, &seen_t0, &r->t0, err);
		} else if (span_is(key, "dropped")) {
			ok = parse_key_once("dropped", value, &seen_dropped,
					    &r->dropped, err);
		} else if (span_is(key, "path")) {
			if (seen_path)
				return set_error(err, "duplicate key 'path'");
			seen_path = true;
			ok = parse_path(value, r, err);
		}
		/* Any other key is from a later version: skip it. */
		if (!ok)
			return false;
	}

	if (!seen_path)
		return set_error(err, "missing path=");
	if (!seen_t0)
		return set_error(err, "missing t0=");
	if (r->kind == TT_KIND_DONE && !r->has_seq)
		return set_error(err, "missing seq= (required on done records)");
	return true;
}

static enum tt_line_type parse_record(const char *start, const char *end,
				      struct tt_record *r, char err[TT_ERR_MAX])
{
	struct fields fs = fields_of(start, end);
	struct span kind;

	memset(r, 0, sizeof(*r));
	next_field(&fs, &kind);
	if (kind.len == 0) {
		empty_field_error(&fs, "", err);
		return TT_LINE_ERROR;
	}
	if (span_is(kind, TCPTRACE_KIND_DONE)) {
		r->kind = TT_KIND_DONE;
	} else if (span_is(kind, TCPTRACE_KIND_LIVE)) {
		r->kind = TT_KIND_LIVE;
	} else if (is_kind_word(kind)) {
		return TT_LINE_UNKNOWN_KIND;	/* a kind from a later version */
	} else {
		set_error(err, "field 1: bad record kind '%.*s'", QUOTED(kind));
		return TT_LINE_ERROR;
	}

	if (!parse_positional(&fs, r, err) || !parse_record_keys(&fs, r, err))
		return TT_LINE_ERROR;
	return TT_LINE_RECORD;
}

/* ---- header line -------------------------------------------------- */

static const struct tt_header_key *lookup_header_key(struct span name)
{
	size_t i;

	for (i = 0; i < tt_nr_header_keys; i++)
		if (span_is(name, tt_header_keys[i].name))
			return &tt_header_keys[i];
	return NULL;
}

/*
 * The format decides how to read everything else, so it is looked for
 * before anything else is parsed: a header of a newer format is refused as
 * such even if the rest of it would not parse as this one.
 */
static enum tt_line_type check_header_format(const char *start, const char *end,
					     char err[TT_ERR_MAX])
{
	struct fields fs = fields_of(start, end);
	struct span f, key, value;
	uint64_t format = 0;	/* set by parse_value(); silences -O3 */

	while (next_field(&fs, &f)) {
		if (!split_key_value(f, &key, &value) || !span_is(key, "format"))
			continue;
		if (!parse_value("header: ", "format", value, &format, err))
			return TT_LINE_ERROR;
		/* Each format only adds to the one before: read them all. */
		if (format < 1 || format > TCPTRACE_FORMAT_VERSION) {
			snprintf(err, TT_ERR_MAX,
				 "unsupported format %" PRIu64 " (this tcptrace reads formats 1 to %d)",
				 format, TCPTRACE_FORMAT_VERSION);
			return TT_LINE_UNSUPPORTED;
		}
		return TT_LINE_HEADER;
	}
	set_error(err, "header: missing format=");
	return TT_LINE_ERROR;
}

/* The key=value fields after TCPTRACE_HEADER_TAG and its space. */
static bool parse_header_keys(const char *start, const char *end,
			      struct tt_header *h, char err[TT_ERR_MAX])
{
	bool seen[sizeof(tt_header_keys) / sizeof(tt_header_keys[0])] = { false };
	struct fields fs = fields_of(start, end);
	struct span f, key, value;
	size_t i;

	while (next_field(&fs, &f)) {
		const struct tt_header_key *known;
		void *counter;

		if (f.len == 0)
			return empty_field_error(&fs, "header: ", err);
		if (!split_key_value(f, &key, &value))
			return set_error(err, "header: field %d: expected key=value, got '%.*s'",
				     fs.index, QUOTED(f));
		known = lookup_header_key(key);
		if (!known)
			continue;	/* a counter from a later version */
		i = known - tt_header_keys;
		if (seen[i])
			return set_error(err, "header: duplicate key '%s'", known->name);
		seen[i] = true;
		counter = (char *)h + known->offset;
		if (!parse_value("header: ", known->name, value, counter, err))
			return false;
	}
	for (i = 0; i < tt_nr_header_keys; i++)
		if (!seen[i])
			return set_error(err, "header: missing %s=", tt_header_keys[i].name);
	return true;
}

static enum tt_line_type parse_header(const char *start, const char *end,
				      struct tt_header *h, char err[TT_ERR_MAX])
{
	enum tt_line_type type;

	memset(h, 0, sizeof(*h));
	start += strlen(TCPTRACE_HEADER_TAG);
	if (start == end) {
		set_error(err, "header: missing format=");
		return TT_LINE_ERROR;
	}
	start++;		/* the space after the tag */

	type = check_header_format(start, end, err);
	if (type != TT_LINE_HEADER)
		return type;
	if (!parse_header_keys(start, end, h, err))
		return TT_LINE_ERROR;
	return TT_LINE_HEADER;
}

/* ---- lines -------------------------------------------------------- */

bool tt_is_header_line(const char *line, size_t len)
{
	size_t tag_len = strlen(TCPTRACE_HEADER_TAG);

	return len >= tag_len && memcmp(line, TCPTRACE_HEADER_TAG, tag_len) == 0 &&
	       (len == tag_len || line[tag_len] == ' ' || line[tag_len] == '\n');
}

/* The format promises printable ASCII; say where it is broken. */
static bool check_printable(const char *start, const char *end,
			    char err[TT_ERR_MAX])
{
	const char *p;

	for (p = start; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			return set_error(err, "non-printable byte 0x%02x at column %zu",
				     (unsigned char)*p, (size_t)(p - start) + 1);
	return true;
}

static enum tt_line_type classify_and_parse(const char *line, size_t len,
					    struct tt_line *out,
					    char err[TT_ERR_MAX])
{
	const char *end;

	if (len > TCPTRACE_LINE_MAX) {
		set_error(err, "line too long (more than %d bytes)", TCPTRACE_LINE_MAX);
		return TT_LINE_ERROR;
	}
	if (len == 0 || line[len - 1] != '\n') {
		set_error(err, "truncated line (no newline)");
		return TT_LINE_ERROR;
	}
	end = line + len - 1;	/* at the '\n' */
	if (line == end)
		return TT_LINE_BLANK;
	if (line[0] == '#' && !tt_is_header_line(line, len))
		return TT_LINE_COMMENT;		/* free text: not checked */
	if (!check_printable(line, end, err))
		return TT_LINE_ERROR;
	if (line[0] == '#')
		return parse_header(line, end, &out->header, err);
	return parse_record(line, end, &out->record, err);
}

enum tt_line_type tt_parse_line(const char *line, size_t len,
				struct tt_line *out, char err[TT_ERR_MAX])
{
	out->type = classify_and_parse(line, len, out, err);
	return out->type;
}
