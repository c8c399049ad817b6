// SPDX-License-Identifier: GPL-2.0
/*
 * The lines of "tcptrace --json" read back (view_json.c writes them; the
 * members are listed in tcptrace(1)): each history into the tt_record its
 * text line gives, each "lost" object into a tt_lost.
 *
 * Members come in any order. Those this reader does not know, which a
 * later version of the same schema may add, are skipped, and so are the
 * ones computed from the others (role, lifetime_ns, handshake_ns): the
 * views compute them again. Strict otherwise, as the text parser is: a
 * value of the wrong type or range, a member twice, a missing one, or
 * steps that do not follow each other is an error naming it.
 *
 * A fixed-size parser: no allocation, strings decoded into the record's
 * own buffers, and values nested at most NEST_MAX deep.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* Objects and arrays in skipped values: deeper is an error. */
#define NEST_MAX	32

/* At most this much of an offending value is quoted in a message. */
#define QUOTE_MAX	40

/* Longest member name compared with the known ones (others are skipped). */
#define NAME_MAX_LEN	32

struct json {
	const char *start;	/* of the line, for columns in messages */
	const char *p, *end;	/* what is left of it, up to its '\n' */
	char *err;
};

/* "column N: ..." */
__attribute__((format(printf, 2, 3)))
static bool syntax_error(struct json *j, const char *fmt, ...)
{
	char what[TT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tt_set_error(j->err, "JSON: column %zu: %s", (size_t)(j->p - j->start) + 1,
			    what);
}

static void skip_space(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

/* The next byte after blanks, or 0 at the end of the line. */
static char peek(struct json *j)
{
	skip_space(j);
	return j->p < j->end ? *j->p : '\0';
}

static bool take(struct json *j, char c)
{
	if (peek(j) != c)
		return false;
	j->p++;
	return true;
}

/* What is at p, for "expected X, got Y". */
static const char *what_is_here(struct json *j)
{
	switch (peek(j)) {
	case '\0':
		return "the end of the line";
	case '"':
		return "a string";
	case '{':
		return "an object";
	case '[':
		return "an array";
	case 't':
	case 'f':
		return "a boolean";
	case 'n':
		return "null";
	case '}':
		return "'}'";
	case ']':
		return "']'";
	case ',':
		return "','";
	case ':':
		return "':'";
	default:
		return strchr("-0123456789", *j->p) ? "a number" : "something else";
	}
}

/* ---- strings ------------------------------------------------------------ */

/* The 4 hex digits of "\uXXXX" at p (after the 'u'), or -1. */
static long hex4(struct json *j)
{
	long v = 0;
	int i;

	if (j->end - j->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int d = tt_hex_digit(j->p[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	j->p += 4;
	return v;
}

/* Code point @cp as UTF-8 at @out (4 bytes of room): how many bytes. */
static size_t utf8(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* After a backslash: the code point of "\uXXXX" (a surrogate pair too). */
static long unicode_escape(struct json *j)
{
	long hi = hex4(j), lo;

	if (hi < 0)
		return -1;
	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
		return -1;	/* a lone surrogate */
	j->p += 2;
	lo = hex4(j);
	if (lo < 0xdc00 || lo > 0xdfff)
		return -1;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* The bytes that end a run of a string's plain bytes. */
static const bool ends_run[256] = {
	[0 ... 0x1f] = true, ['"'] = true, ['\\'] = true,
};

/*
 * The string at p, decoded into @buf (@size bytes, NUL added) if @buf is
 * not NULL; its decoded length in *@len, which may be more than fits
 * (size - 1 bytes are kept: the caller says "too long").
 */
static bool string(struct json *j, char *buf, size_t size, size_t *len)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t n = 0;

	if (!take(j, '"'))
		return syntax_error(j, "expected a string, got %s", what_is_here(j));
	for (;;) {
		const char *plain = j->p;
		char bytes[4];
		size_t count = 1, i;
		const char *e;

		/* Most strings have no escape: copied a run at a time. */
		while (j->p < j->end && !ends_run[(unsigned char)*j->p])
			j->p++;
		if (buf && n + 1 < size) {
			size_t room = size - 1 - n, run = j->p - plain;

			memcpy(buf + n, plain, run < room ? run : room);
		}
		n += j->p - plain;
		if (j->p == j->end)
			return syntax_error(j, "unterminated string");
		bytes[0] = *j->p++;
		if (bytes[0] == '"')
			break;
		if ((unsigned char)bytes[0] < 0x20) {
			j->p--;
			return syntax_error(j, "control byte 0x%02x in a string (expected an escape)",
					    (unsigned char)bytes[0]);
		}
		if (bytes[0] == '\\') {
			long cp;

			if (j->p == j->end)
				return syntax_error(j, "unterminated string");
			if (*j->p == 'u') {
				j->p++;
				cp = unicode_escape(j);
				if (cp < 0)
					return syntax_error(j, "bad \\u escape (expected 4 hex digits, surrogates in pairs)");
				count = utf8((unsigned long)cp, bytes);
			} else {
				for (e = escapes; *e && *e != *j->p; e += 2)
					;
				if (!*e)
					return syntax_error(j, "bad escape '\\%c'", *j->p);
				bytes[0] = e[1];
				j->p++;
			}
		}
		for (i = 0; i < count; i++, n++)
			if (buf && n + 1 < size)
				buf[n] = bytes[i];
	}
	if (buf)
		buf[n < size ? n : size - 1] = '\0';
	*len = n;
	return true;
}

/* ---- numbers and the other values --------------------------------------- */

/* A number the writer writes: decimal digits, no sign, fraction or exponent. */
static bool u64(struct json *j, const char *name, uint64_t *out)
{
	const char *digits;
	uint64_t v = 0;

	skip_space(j);
	digits = j->p;
	for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; j->p++) {
		unsigned int d = *j->p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return tt_set_error(j->err, "JSON: \"%s\": number overflows u64", name);
		v = v * 10 + d;
	}
	if (j->p == digits || (*digits == '0' && j->p - digits > 1) ||
	    (j->p < j->end && strchr(".eE", *j->p))) {
		size_t len;

		/* The value, up to what ends it. */
		for (len = 0; digits + len < j->end && len < QUOTE_MAX &&
			      !strchr(",]} ", digits[len]); len++)
			;
		return tt_set_error(j->err, "JSON: \"%s\": expected a whole number (0 to 2^64-1), got '%.*s'",
				    name, (int)len, digits);
	}
	*out = v;
	return true;
}

/* A number at most @max. */
static bool u64_max(struct json *j, const char *name, uint64_t max, uint64_t *out)
{
	if (!u64(j, name, out))
		return false;
	if (*out > max)
		return tt_set_error(j->err, "JSON: \"%s\": %" PRIu64 " is more than %" PRIu64,
				    name, *out, max);
	return true;
}

static bool literal(struct json *j, const char *word)
{
	size_t len = strlen(word);

	skip_space(j);
	if ((size_t)(j->end - j->p) < len || memcmp(j->p, word, len) != 0)
		return false;
	j->p += len;
	return true;
}

static bool boolean(struct json *j, const char *name, bool *out)
{
	if (literal(j, "true")) {
		*out = true;
		return true;
	}
	if (literal(j, "false")) {
		*out = false;
		return true;
	}
	return tt_set_error(j->err, "JSON: \"%s\": expected true or false, got %s",
			    name, what_is_here(j));
}

/* Any JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool skip_number(struct json *j)
{
	const char *p = j->p;
	size_t digits;

	if (p < j->end && *p == '-')
		p++;
	for (digits = 0; p < j->end && *p >= '0' && *p <= '9'; p++)
		digits++;
	if (!digits || (digits > 1 && p[-(long)digits] == '0'))
		return syntax_error(j, "expected a value");
	if (p < j->end && *p == '.') {
		for (p++, digits = 0; p < j->end && *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!digits)
			return syntax_error(j, "bad number");
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		for (digits = 0; p < j->end && *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!digits)
			return syntax_error(j, "bad number");
	}
	j->p = p;
	return true;
}

static bool skip_value(struct json *j, unsigned int depth);

/* The members (object) or elements (array) of a skipped value. */
static bool skip_items(struct json *j, char close, unsigned int depth)
{
	size_t len;

	if (depth >= NEST_MAX)
		return syntax_error(j, "values nested more than %d deep", NEST_MAX);
	if (take(j, close))
		return true;
	do {
		if (close == '}' && !string(j, NULL, 0, &len))
			return false;
		if (close == '}' && !take(j, ':'))
			return syntax_error(j, "expected ':' after a member name");
		if (!skip_value(j, depth + 1))
			return false;
	} while (take(j, ','));
	if (!take(j, close))
		return syntax_error(j, "expected ',' or '%c'", close);
	return true;
}

/* A value of a member this reader does not know, checked and passed over. */
static bool skip_value(struct json *j, unsigned int depth)
{
	size_t len;

	switch (peek(j)) {
	case '"':
		return string(j, NULL, 0, &len);
	case '{':
		j->p++;
		return skip_items(j, '}', depth);
	case '[':
		j->p++;
		return skip_items(j, ']', depth);
	default:
		if (literal(j, "true") || literal(j, "false") || literal(j, "null"))
			return true;
		return skip_number(j);
	}
}

/*
 * The members of the object at p: @member is called with each one's name
 * (cut to NAME_MAX_LEN) and p at its value, which it parses or skips.
 */
static bool object(struct json *j, void *ctx,
		   bool (*member)(struct json *j, void *ctx, const char *name))
{
	char name[NAME_MAX_LEN + 1];
	size_t len;

	if (!take(j, '{'))
		return syntax_error(j, "expected an object, got %s", what_is_here(j));
	if (take(j, '}'))
		return true;
	do {
		if (!string(j, name, sizeof(name), &len))
			return false;
		if (len > NAME_MAX_LEN)
			name[0] = '\0';		/* no known member has such a name */
		if (!take(j, ':'))
			return syntax_error(j, "expected ':' after a member name");
		if (!member(j, ctx, name))
			return false;
	} while (take(j, ','));
	if (!take(j, '}'))
		return syntax_error(j, "expected ',' or '}'");
	return true;
}

/* A string member of a few known words: its index in @words, or -1. */
static int word(struct json *j, const char *const *words, size_t nr_words,
		char buf[NAME_MAX_LEN + 1])
{
	size_t len, i;

	if (!string(j, buf, NAME_MAX_LEN + 1, &len))
		return -2;
	for (i = 0; i < nr_words && len <= NAME_MAX_LEN; i++)
		if (strcmp(buf, words[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- a history ---------------------------------------------------------- */

/* The members a history must have, and that may come only once. */
enum member_bit {
	M_SCHEMA	= 1u << 0,
	M_KIND		= 1u << 1,
	M_ID		= 1u << 2,
	M_FAMILY	= 1u << 3,
	M_LOCAL		= 1u << 4,
	M_REMOTE	= 1u << 5,
	M_T0		= 1u << 6,
	M_FIRST_STATE	= 1u << 7,
	M_STEPS		= 1u << 8,
	M_HOST		= 1u << 9,
	M_BOOT_ID	= 1u << 10,
	M_LOST		= 1u << 11,
	M_NEXT_SEQ	= 1u << 12,
	M_OTHER		= 1u << 13,	/* any other member of a history */
};

#define M_REQUIRED	(M_SCHEMA | M_KIND | M_ID | M_FAMILY | M_LOCAL | M_REMOTE | \
			 M_T0 | M_FIRST_STATE | M_STEPS)

struct history {
	struct tt_line *out;
	unsigned int seen;	/* M_* */
	unsigned int has;	/* TT_HAS_* seen, for duplicates */
	bool unknown_kind;	/* a kind from a later version */
	bool lost_null;		/* "lost":null */
	/* Until "family" is known, whenever it comes. */
	char addr[2][INET6_ADDRSTRLEN];
	int family;		/* AF_INET, AF_INET6 */
};

/* @name's index among the @n @names, or -1. */
static int lookup(const char *name, const char *const *names, size_t n)
{
	size_t i;

	/* The first byte tells most names apart: strcmp() only on a match. */
	for (i = 0; i < n; i++)
		if (names[i][0] == name[0] && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

#define LOOKUP(name, names)	lookup(name, names, sizeof(names) / sizeof(names[0]))

/* The numbers of a history: where they go, and their TT_HAS_ bit. */
struct number_member {
	const char *name;
	size_t offset;		/* in struct tt_record */
	unsigned int bit;
	bool only_if_nonzero;	/* absent in the text means 0: no bit for 0 */
};

#define NUMBER(name, bit, nonzero) \
	{ #name, offsetof(struct tt_record, name), bit, nonzero }

static const struct number_member number_members[] = {
	NUMBER(seq, TT_HAS_SEQ, false),
	NUMBER(netns, TT_HAS_NETNS, false),
	NUMBER(uid, TT_HAS_UID, false),
	NUMBER(pid, TT_HAS_PID, false),
	NUMBER(tgid, TT_HAS_TGID, false),
	NUMBER(bytes_acked, TT_HAS_BYTES_ACKED, false),
	NUMBER(bytes_received, TT_HAS_BYTES_RECEIVED, false),
	NUMBER(retrans, TT_HAS_RETRANS, false),
	NUMBER(srtt_us, TT_HAS_SRTT_US, false),
	NUMBER(syn_retrans, TT_HAS_SYN_RETRANS, true),
	NUMBER(unexpected, TT_HAS_UNEXPECTED, true),
	NUMBER(dropped, TT_HAS_DROPPED, true),
};

static bool twice(struct json *j, const char *name)
{
	return tt_set_error(j->err, "JSON: member \"%s\" twice", name);
}

/* A member bit seen for the first time, or an error. */
static bool first(struct json *j, struct history *h, unsigned int bit, const char *name)
{
	if (h->seen & bit)
		return twice(j, name);
	h->seen |= bit;
	return true;
}

static bool number_member(struct json *j, struct history *h,
			  const struct number_member *m)
{
	uint64_t *field = (uint64_t *)((char *)&h->out->record + m->offset);

	if (h->has & m->bit)
		return twice(j, m->name);
	h->has |= m->bit;
	h->seen |= M_OTHER;
	if (!u64(j, m->name, field))
		return false;
	if (!m->only_if_nonzero || *field)
		h->out->record.has |= m->bit;
	return true;
}

/* A state name, into *@state. */
static bool state(struct json *j, const char *name, uint8_t *state)
{
	char buf[NAME_MAX_LEN + 1];
	size_t len;
	int n;

	if (!string(j, buf, sizeof(buf), &len))
		return false;
	n = len <= NAME_MAX_LEN ? tt_state_number(buf) : -1;
	if (n < 0)
		return tt_set_error(j->err, "JSON: \"%s\": unknown state \"%.40s\"", name, buf);
	*state = (uint8_t)n;
	return true;
}

struct endpoint {
	struct tt_endpoint *ep;
	char *addr;
	unsigned int seen;	/* 1: addr, 2: port */
	const char *name;
};

static bool endpoint_member(struct json *j, void *ctx, const char *name)
{
	struct endpoint *e = ctx;
	uint64_t port;
	size_t len;

	if (strcmp(name, "addr") == 0) {
		if (e->seen & 1)
			return twice(j, "addr");
		e->seen |= 1;
		if (!string(j, e->addr, INET6_ADDRSTRLEN, &len))
			return false;
		if (len >= INET6_ADDRSTRLEN)
			return tt_set_error(j->err, "JSON: \"%s\": addr: longer than an address", e->name);
		return true;
	}
	if (strcmp(name, "port") == 0) {
		if (e->seen & 2)
			return twice(j, "port");
		e->seen |= 2;
		if (!u64_max(j, "port", UINT16_MAX, &port))
			return false;
		e->ep->port = (uint16_t)port;
		return true;
	}
	return skip_value(j, 1);
}

static bool endpoint(struct json *j, struct history *h, int index, const char *name)
{
	struct endpoint e = {
		.ep = index ? &h->out->record.remote : &h->out->record.local,
		.addr = h->addr[index],
		.name = name,
	};

	if (!object(j, &e, endpoint_member))
		return false;
	if (e.seen != 3)
		return tt_set_error(j->err, "JSON: \"%s\": missing \"%s\"", name,
				    e.seen & 1 ? "port" : "addr");
	return true;
}

struct step {
	struct tt_step *step;
	unsigned int seen;	/* 1: from, 2: to, 4: t_ns, then the flags */
};

static bool step_member(struct json *j, void *ctx, const char *name)
{
	/* The bit of each in step.seen is 1 << its index. */
	static const char *const names[] = {
		"from", "to", "t_ns", "softirq", "gap", "unexpected", "derived", "timewait",
	};
	struct step *s = ctx;
	bool *flags[] = {
		&s->step->softirq, &s->step->gap, &s->step->unexpected,
		&s->step->derived, &s->step->timewait,
	};
	int i = LOOKUP(name, names);

	if (i < 0)
		return skip_value(j, 2);
	if (s->seen & (1u << i))
		return twice(j, name);
	s->seen |= 1u << i;
	switch (i) {
	case 0:
		return state(j, name, &s->step->old_state);
	case 1:
		return state(j, name, &s->step->new_state);
	case 2:
		return u64(j, name, &s->step->t_ns);
	default:
		return boolean(j, name, flags[i - 3]);
	}
}

/* "steps": an array of objects, at most TCPTRACE_MAX_STEPS. */
static bool steps(struct json *j, struct history *h)
{
	struct tt_record *r = &h->out->record;

	if (!take(j, '['))
		return tt_set_error(j->err, "JSON: \"steps\": expected an array, got %s",
				    what_is_here(j));
	if (take(j, ']'))
		return true;
	do {
		struct step s = { .step = &r->steps[r->nr_steps] };

		if (r->nr_steps == TCPTRACE_MAX_STEPS)
			return tt_set_error(j->err, "JSON: \"steps\": more than %d steps",
					    TCPTRACE_MAX_STEPS);
		memset(s.step, 0, sizeof(*s.step));
		if (!object(j, &s, step_member))
			return false;
		if ((s.seen & 7) != 7)
			return tt_set_error(j->err, "JSON: step %u: missing \"%s\"", r->nr_steps + 1,
					    !(s.seen & 1) ? "from" : !(s.seen & 2) ? "to" : "t_ns");
		r->nr_steps++;
	} while (take(j, ','));
	if (!take(j, ']'))
		return syntax_error(j, "expected ',' or ']'");
	return true;
}

/* "host" or "comm": a name written as the text writes it. */
static bool name_member(struct json *j, const char *name, size_t max, char out[TT_COMM_TEXT_MAX])
{
	char text[TT_COMM_TEXT_MAX];
	char what[NAME_MAX_LEN + 8];
	size_t len;

	if (!string(j, text, sizeof(text), &len))
		return false;
	snprintf(what, sizeof(what), "JSON: \"%s\"", name);
	if (len >= sizeof(text))
		return tt_set_error(j->err, "%s: longer than %zu bytes", what, max);
	if (len == 0)
		return tt_set_error(j->err, "%s: empty", what);
	return tt_name_canonical(text, len, max, out, what, j->err);
}

static bool boot_id(struct json *j, struct tt_origin *o)
{
	size_t len, i;

	if (!string(j, o->boot_id, sizeof(o->boot_id), &len))
		return false;
	if (len != TT_BOOT_ID_TEXT_MAX - 1 || !tt_boot_id_valid(o->boot_id, len))
		return tt_set_error(j->err, "JSON: \"boot_id\": expected a UUID");
	for (i = 0; i < len; i++)
		if (o->boot_id[i] >= 'A' && o->boot_id[i] <= 'F')
			o->boot_id[i] += 'a' - 'A';
	return true;
}

static bool end_member(struct json *j, struct tt_record *r)
{
	char buf[NAME_MAX_LEN + 1];
	size_t len;
	int end;

	if (!string(j, buf, sizeof(buf), &len))
		return false;
	end = len <= NAME_MAX_LEN ? tt_end_lookup(buf) : -1;
	if (end < 0)
		return tt_set_error(j->err, "JSON: \"end\": unknown end reason \"%.40s\"", buf);
	r->end = (unsigned int)end;
	return true;
}

static bool rst_reason(struct json *j, struct tt_record *r)
{
	size_t len;

	if (!string(j, r->rst_reason, sizeof(r->rst_reason), &len))
		return false;
	if (len >= sizeof(r->rst_reason) || !tt_rst_reason_valid(r->rst_reason, len))
		return tt_set_error(j->err, "JSON: \"rst_reason\": expected 1 to %d characters of [A-Z0-9_]",
				    TT_RST_REASON_MAX);
	return true;
}

/* A member with a TT_HAS_ bit of its own, parsed by its own code. */
static bool has_member(struct json *j, struct history *h, unsigned int bit,
		       const char *name)
{
	struct tt_record *r = &h->out->record;
	static const char *const kinds[] = { "expired", "killed" };
	char buf[NAME_MAX_LEN + 1];
	bool ok;
	int w;

	if (h->has & bit)
		return twice(j, name);
	h->has |= bit;
	h->seen |= M_OTHER;
	switch (bit) {
	case TT_HAS_COMM:
		ok = name_member(j, name, TT_COMM_MAX, r->comm);
		break;
	case TT_HAS_END:
		ok = end_member(j, r);
		break;
	case TT_HAS_TIMEWAIT:
		w = word(j, kinds, 2, buf);
		if (w == -1)
			return tt_set_error(j->err, "JSON: \"timewait\": expected \"expired\" or \"killed\", got \"%.40s\"", buf);
		ok = w >= 0;
		r->timewait = w == 0 ? TT_TIMEWAIT_EXPIRED : TT_TIMEWAIT_KILLED;
		break;
	case TT_HAS_RST_REASON:
		ok = rst_reason(j, r);
		break;
	default:	/* TT_HAS_SEEN_AT_LOAD: as the text, a bit only if true */
		ok = boolean(j, name, &r->seen_at_load);
		if (ok && r->seen_at_load)
			r->has |= bit;
		return ok;
	}
	if (ok)
		r->has |= bit;
	return ok;
}

/* The members of a history but its numbers, with code of their own. */
enum history_member_id {
	HM_SCHEMA, HM_HOST, HM_BOOT_ID, HM_KIND, HM_ID, HM_FAMILY, HM_LOCAL,
	HM_REMOTE, HM_T0, HM_COMM, HM_END, HM_TIMEWAIT, HM_RST_REASON,
	HM_SEEN_AT_LOAD, HM_FIRST_STATE, HM_STEPS, HM_LOST, HM_NEXT_SEQ,
};

static const char *const history_names[] = {
	[HM_SCHEMA] = "schema", [HM_HOST] = "host", [HM_BOOT_ID] = "boot_id",
	[HM_KIND] = "kind", [HM_ID] = "id", [HM_FAMILY] = "family",
	[HM_LOCAL] = "local", [HM_REMOTE] = "remote", [HM_T0] = "t0",
	[HM_COMM] = "comm", [HM_END] = "end", [HM_TIMEWAIT] = "timewait",
	[HM_RST_REASON] = "rst_reason", [HM_SEEN_AT_LOAD] = "seen_at_load",
	[HM_FIRST_STATE] = "first_state", [HM_STEPS] = "steps", [HM_LOST] = "lost",
	[HM_NEXT_SEQ] = "next_seq",
};

static bool schema(struct json *j, struct history *h, const char *name)
{
	uint64_t n;

	if (!first(j, h, M_SCHEMA, name) || !u64(j, name, &n))
		return false;
	/* Another schema may mean anything: its objects are not read. */
	if (n != TT_JSON_SCHEMA)
		return tt_set_error(j->err, "JSON: schema %" PRIu64 " (this tcptrace reads schema %d)",
				    n, TT_JSON_SCHEMA);
	return true;
}

static bool kind(struct json *j, struct history *h, const char *name)
{
	static const char *const kinds[] = { "done", "live" };
	char buf[NAME_MAX_LEN + 1];
	int w;

	if (!first(j, h, M_KIND, name))
		return false;
	w = word(j, kinds, 2, buf);
	if (w == -2)
		return false;
	h->out->record.kind = w == 1 ? TT_KIND_LIVE : TT_KIND_DONE;
	h->unknown_kind = w < 0;	/* a kind from a later version */
	return true;
}

static bool family(struct json *j, struct history *h, const char *name)
{
	static const char *const families[] = { "ipv4", "ipv6" };
	char buf[NAME_MAX_LEN + 1];
	int w;

	if (!first(j, h, M_FAMILY, name))
		return false;
	w = word(j, families, 2, buf);
	if (w == -1)
		return tt_set_error(j->err, "JSON: \"family\": expected \"ipv4\" or \"ipv6\", got \"%.40s\"", buf);
	h->out->record.family = w == 1 ? TT_FAMILY_IPV6 : TT_FAMILY_IPV4;
	h->family = w == 1 ? AF_INET6 : AF_INET;
	return w >= 0;
}

static bool lost(struct json *j, struct history *h, const char *name)
{
	if (!first(j, h, M_LOST, name))
		return false;
	if (literal(j, "null")) {
		h->lost_null = true;
		return true;
	}
	return u64(j, name, &h->out->lost.n);
}

static bool history_member(struct json *j, void *ctx, const char *name)
{
	struct history *h = ctx;
	struct tt_record *r = &h->out->record;
	size_t i;

	for (i = 0; i < sizeof(number_members) / sizeof(number_members[0]); i++)
		if (number_members[i].name[0] == name[0] &&
		    strcmp(number_members[i].name, name) == 0)
			return number_member(j, h, &number_members[i]);
	switch (LOOKUP(name, history_names)) {
	case HM_SCHEMA:
		return schema(j, h, name);
	case HM_HOST:
		return first(j, h, M_HOST, name) &&
		       name_member(j, name, TT_HOST_MAX, h->out->origin.host);
	case HM_BOOT_ID:
		return first(j, h, M_BOOT_ID, name) && boot_id(j, &h->out->origin);
	case HM_KIND:
		return kind(j, h, name);
	case HM_ID:
		return first(j, h, M_ID, name) && u64(j, name, &r->id);
	case HM_FAMILY:
		return family(j, h, name);
	case HM_LOCAL:
		return first(j, h, M_LOCAL, name) && endpoint(j, h, 0, name);
	case HM_REMOTE:
		return first(j, h, M_REMOTE, name) && endpoint(j, h, 1, name);
	case HM_T0:
		return first(j, h, M_T0, name) && u64(j, name, &r->t0);
	case HM_COMM:
		return has_member(j, h, TT_HAS_COMM, name);
	case HM_END:
		return has_member(j, h, TT_HAS_END, name);
	case HM_TIMEWAIT:
		return has_member(j, h, TT_HAS_TIMEWAIT, name);
	case HM_RST_REASON:
		return has_member(j, h, TT_HAS_RST_REASON, name);
	case HM_SEEN_AT_LOAD:
		return has_member(j, h, TT_HAS_SEEN_AT_LOAD, name);
	case HM_FIRST_STATE:
		return first(j, h, M_FIRST_STATE, name) && state(j, name, &r->first_state);
	case HM_STEPS:
		return first(j, h, M_STEPS, name) && steps(j, h);
	case HM_LOST:
		return lost(j, h, name);
	case HM_NEXT_SEQ:
		return first(j, h, M_NEXT_SEQ, name) && u64(j, name, &h->out->lost.next_seq);
	default:
		/* role, lifetime_ns, handshake_ns, and a later version's members. */
		return skip_value(j, 1);
	}
}

/* An address as the family says, into its text and binary forms. */
static bool address(struct json *j, const struct history *h, int index,
		    struct tt_endpoint *ep)
{
	if (inet_pton(h->family, h->addr[index], ep->bin) != 1)
		return tt_set_error(j->err, "JSON: \"%s\": addr: not an %s address: \"%.46s\"",
				    index ? "remote" : "local",
				    h->family == AF_INET ? "IPv4" : "IPv6", h->addr[index]);
	strcpy(ep->addr, h->addr[index]);
	return true;
}

/* The path: each step from the state the one before went to, or a gap. */
static bool check_steps(struct json *j, const struct tt_record *r)
{
	unsigned int i;
	uint8_t prev = r->first_state;

	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *s = &r->steps[i];

		if (!s->gap && s->old_state != prev)
			return tt_set_error(j->err, "JSON: step %u: from %s, but the path was in %s (and \"gap\" is false)",
					    i + 1, tt_state_name(s->old_state), tt_state_name(prev));
		prev = s->new_state;
	}
	return true;
}

/* The members all parsed: what the object is. */
static enum tt_line_type finish(struct json *j, struct history *h)
{
	static const char *const required[] = {
		"schema", "kind", "id", "family", "local", "remote", "t0",
		"first_state", "steps",
	};
	struct tt_line *out = h->out;
	struct tt_record *r = &out->record;
	unsigned int i;

	if (h->seen & M_LOST) {
		if (h->seen & ~(M_LOST | M_NEXT_SEQ) || (h->lost_null != !!(h->seen & M_NEXT_SEQ))) {
			tt_set_error(j->err, "JSON: a \"lost\" object is {\"lost\":N} or {\"lost\":null,\"next_seq\":SEQ}");
			return TT_LINE_ERROR;
		}
		out->lost.known = !h->lost_null;
		return TT_LINE_LOST;
	}
	if (!(h->seen & M_SCHEMA)) {
		tt_set_error(j->err, "JSON: no \"schema\": not a line of tcptrace --json");
		return TT_LINE_ERROR;
	}
	if (!(h->seen & M_KIND)) {
		tt_set_error(j->err, "JSON: no \"kind\": not a history (tcptrace --json writes one a line)");
		return TT_LINE_ERROR;
	}
	if (h->unknown_kind)
		return TT_LINE_UNKNOWN_KIND;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!(h->seen & (1u << i))) {
			tt_set_error(j->err, "JSON: missing member \"%s\"", required[i]);
			return TT_LINE_ERROR;
		}
	}
	if (h->seen & M_NEXT_SEQ) {
		tt_set_error(j->err, "JSON: \"next_seq\" in a history");
		return TT_LINE_ERROR;
	}
	if (r->kind == TT_KIND_DONE && !(r->has & TT_HAS_SEQ)) {
		tt_set_error(j->err, "JSON: missing member \"seq\" (required in done histories)");
		return TT_LINE_ERROR;
	}
	if ((h->seen & M_BOOT_ID) && !(h->seen & M_HOST)) {
		tt_set_error(j->err, "JSON: \"boot_id\" without \"host\"");
		return TT_LINE_ERROR;
	}
	if (!address(j, h, 0, &r->local) || !address(j, h, 1, &r->remote) ||
	    !check_steps(j, r))
		return TT_LINE_ERROR;
	out->has_origin = h->seen & M_HOST;
	return TT_LINE_RECORD;
}

enum tt_line_type tt_json_parse_line(const char *line, size_t len,
				     struct tt_line *out, char err[TT_ERR_MAX])
{
	struct json j = { .start = line, .p = line, .end = line + len - 1, .err = err };
	struct history h = { .out = out, .family = AF_INET };

	_Static_assert(M_REQUIRED == (1u << 9) - 1, "finish()'s required[] is in bit order");
	out->json = true;
	out->has_origin = false;
	memset(&out->record, 0, sizeof(out->record));
	memset(&out->origin, 0, sizeof(out->origin));
	err[0] = '\0';
	if (len > TT_JSON_LINE_MAX) {
		tt_set_error(err, "JSON line too long (more than %d bytes)", TT_JSON_LINE_MAX);
		return out->type = TT_LINE_ERROR;
	}
	if (len == 0 || line[len - 1] != '\n') {
		tt_set_error(err, "truncated line (no newline)");
		return out->type = TT_LINE_ERROR;
	}
	if (!object(&j, &h, history_member))
		return out->type = TT_LINE_ERROR;
	if (peek(&j) != '\0') {
		syntax_error(&j, "something after the object");
		return out->type = TT_LINE_ERROR;
	}
	return out->type = finish(&j, &h);
}
