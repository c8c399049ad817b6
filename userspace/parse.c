// SPDX-License-Identifier: GPL-2.0
/*
 * Parser for the text format of /dev/tcptrace; the grammar and the
 * extension rule it follows are in Documentation/tcptrace.rst.
 *
 * Strict about what formats 1 and 2 define (a line that does not follow
 * them is an error with a message naming the problem), lenient about what
 * the extension rule allows to appear later: unknown keys, step flags and
 * record kinds are skipped.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "parse.h"

/* At most this much of an offending token is quoted in a message. */
#define QUOTE_MAX	40

static const char *const state_names[] = TCPTRACE_STATE_NAMES;
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == TCPTRACE_NR_STATES,
	       "TCPTRACE_STATE_NAMES and TCPTRACE_NR_STATES disagree");

static const char *const end_names[] = TCPTRACE_END_NAMES;
_Static_assert(sizeof(end_names) / sizeof(end_names[0]) == TCPTRACE_NR_ENDS,
	       "TCPTRACE_END_NAMES and TCPTRACE_NR_ENDS disagree");

#define HEADER_KEY(name, required) \
	{ #name, offsetof(struct tt_header, name), required }
const struct tt_header_key tt_header_keys[] = {
	HEADER_KEY(format, true),
	HEADER_KEY(now, true),
	HEADER_KEY(live, true),
	HEADER_KEY(live_max, false),
	HEADER_KEY(done, true),
	HEADER_KEY(ring_size, false),
	HEADER_KEY(events, true),
	HEADER_KEY(created, true),
	HEADER_KEY(completed, true),
	HEADER_KEY(drop_table_full, true),
	HEADER_KEY(drop_steps_full, true),
	HEADER_KEY(ring_overwritten, true),
	HEADER_KEY(unexpected, false),
	HEADER_KEY(syncookies, false),
	HEADER_KEY(kprobe_missed, false),
	HEADER_KEY(filtered, false),
	HEADER_KEY(filter_ports, false),
	HEADER_KEY(filter_netns, false),
	HEADER_KEY(evicted, false),
	HEADER_KEY(mem_bytes, false),
	HEADER_KEY(timewait, false),
	HEADER_KEY(halfopen, false),
	HEADER_KEY(rst_reasons, false),
};
const size_t tt_nr_header_keys = sizeof(tt_header_keys) / sizeof(tt_header_keys[0]);
_Static_assert(sizeof(tt_header_keys) / sizeof(tt_header_keys[0]) <= 32,
	       "tt_header.has has a bit per key");

/* Keys seen so far, beyond tt_record.has: those without a TT_HAS_* bit. */
enum {
	SEEN_T0 = 1u << 30,
	SEEN_PATH = 1u << 31,
};

/* What a record key's value is, and so how it is parsed. */
enum key_type {
	KEY_NUMBER,		/* decimal, into the uint64_t at offset */
	KEY_COMM,
	KEY_END,
	KEY_RST_REASON,
	KEY_TIMEWAIT,
	KEY_SEEN_AT_LOAD,
	KEY_PATH,
};

/* A record key this version knows (match_record_key() has them all). */
struct record_key {
	const char *name;
	size_t len;		/* strlen(name) */
	enum key_type type;
	size_t offset;		/* KEY_NUMBER: of its value in struct tt_record */
	unsigned int bit;	/* TT_HAS_*, SEEN_T0 or SEEN_PATH: seen once */
};

/* A piece of the line being parsed; lines are not NUL-terminated. */
struct span {
	const char *s;
	size_t len;
};

/* For "'%.*s'" in messages: the token, cut to QUOTE_MAX characters. */
#define QUOTED(sp) (int)((sp).len < QUOTE_MAX ? (sp).len : QUOTE_MAX), (sp).s

/*
 * Is @sp the string @str? Compared as they go: most names differ from the
 * first character, and strlen() would cost more than the comparison.
 */
static bool span_is(struct span sp, const char *str)
{
	size_t i;

	for (i = 0; i < sp.len; i++)
		if (str[i] != sp.s[i] || str[i] == '\0')
			return false;
	return str[i] == '\0';
}

/* Is @sp string literal @lit? Compared as a whole, at a known length. */
#define SPAN_IS(sp, lit) \
	((sp).len == sizeof(lit) - 1 && memcmp((sp).s, lit, sizeof(lit) - 1) == 0)

/* Do the @left bytes at @p start with string literal @lit? */
#define STARTS_WITH(p, left, lit) \
	((left) >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0)

bool tt_set_error(char err[TT_ERR_MAX], const char *fmt, ...)
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

/*
 * The decimal digits at @p, up to the first other character or @end, into
 * *@out: where they stop, or NULL when their number overflows 64 bits.
 */
static inline const char *scan_u64(const char *p, const char *end,
				   uint64_t *out)
{
	/* Up to 19 digits always fit: only the ones after are checked. */
	const char *unchecked_end = end - p > 19 ? p + 19 : end;
	uint64_t value = 0;

	for (; p < unchecked_end; p++) {
		unsigned int digit = (unsigned char)*p - '0';

		if (digit > 9)
			break;
		value = value * 10 + digit;
	}
	for (; p < end && is_digit(*p); p++) {
		unsigned int digit = *p - '0';

		if (value > (UINT64_MAX - digit) / 10)
			return NULL;
		value = value * 10 + digit;
	}
	*out = value;
	return p;
}

/* Decimal digits and nothing else: no sign, no spaces, no base prefix. */
static enum number_result parse_u64(struct span sp, uint64_t *out)
{
	const char *end = sp.s + sp.len;
	const char *stop;
	uint64_t value;

	if (sp.len == 0)
		return NUMBER_BAD;
	/* A digit string that overflows, even if something else follows. */
	stop = scan_u64(sp.s, end, &value);
	if (!stop)
		return NUMBER_OVERFLOW;
	if (stop != end)
		return NUMBER_BAD;
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
		return tt_set_error(err, "%s%s: number overflows u64", prefix, name);
	default:
		return tt_set_error(err, "%s%s: expected a decimal number, got '%.*s'",
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
	return tt_set_error(err, "%sfield %d: empty (fields are separated by one space)",
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

const char *tt_end_name(unsigned int end)
{
	return end < TCPTRACE_NR_ENDS ? end_names[end] : end_names[0];
}

static int lookup_end(struct span name)
{
	unsigned int i;

	/* Most names differ in their first letter: looked at first. */
	for (i = 0; i < TCPTRACE_NR_ENDS; i++)
		if (name.len && end_names[i][0] == name.s[0] &&
		    span_is(name, end_names[i]))
			return (int)i;
	return -1;
}

int tt_end_lookup(const char *name)
{
	return lookup_end((struct span){ name, strlen(name) });
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

int tt_state_number(const char *name)
{
	uint8_t state;

	return lookup_state((struct span){ name, strlen(name) }, &state) ? state : -1;
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

static bool is_path_delimiter(char c)
{
	return c == '/' || c == '>' || c == '@';
}

/*
 * The state named at @c, if it is one of today's and a path delimiter (or
 * the end) follows: its number, the name's length in *@len. Looks at the
 * few names the first letter allows, not at all of them; -1 for anything
 * else, left to the search of parse_state().
 */
static int match_state(const struct cursor *c, size_t *len)
{
	size_t left = c->end - c->pos;
	const char *p = c->pos;

#define STATE(name, number)						\
	do {								\
		if (STARTS_WITH(p, left, name) &&			\
		    (left == sizeof(name) - 1 ||			\
		     is_path_delimiter(p[sizeof(name) - 1]))) {		\
			*len = sizeof(name) - 1;			\
			return number;					\
		}							\
	} while (0)

	/* The numbers of include/net/tcp_states.h, TCPTRACE_STATE_NAMES' order. */
	switch (left ? *p : 0) {
	case 'B':
		STATE("BOUND_INACTIVE", 13);
		break;
	case 'C':
		STATE("CLOSE", 7);
		STATE("CLOSE_WAIT", 8);
		STATE("CLOSING", 11);
		break;
	case 'E':
		STATE("ESTABLISHED", 1);
		break;
	case 'F':
		STATE("FIN_WAIT1", 4);
		STATE("FIN_WAIT2", 5);
		break;
	case 'L':
		STATE("LAST_ACK", 9);
		STATE("LISTEN", 10);
		break;
	case 'N':
		STATE("NEW_SYN_RECV", 12);
		break;
	case 'S':
		STATE("SYN_SENT", 2);
		STATE("SYN_RECV", 3);
		break;
	case 'T':
		STATE("TIME_WAIT", 6);
		break;
	case 'U':
		STATE("UNKNOWN", 0);
		break;
	}
#undef STATE
	return -1;
}

/*
 * A state name runs up to the next path delimiter; reading the whole token
 * (rather than only [A-Z0-9_]) lets the message quote what was written.
 * @where says what came before, for the message when the name is missing.
 * The names of today's states are recognized where they stand first.
 */
static inline bool parse_state(struct cursor *c, const char *where,
			       uint8_t *state, struct span *name,
			       char err[TT_ERR_MAX])
{
	int known = match_state(c, &name->len);

	name->s = c->pos;
	if (known >= 0) {
		c->pos += name->len;
		*state = (uint8_t)known;
		return true;
	}
	while (!at_end(c) && !is_path_delimiter(*c->pos))
		c->pos++;
	name->len = c->pos - name->s;
	if (name->len == 0)
		return tt_set_error(err, "bad path: expected a state %s", where);
	if (!lookup_state(*name, state))
		return tt_set_error(err, "unknown state '%.*s'", QUOTED(*name));
	return true;
}

/* "@NSEC *FLAG" after the new state @name of @step. */
static bool parse_step_time(struct cursor *c, struct span name,
			    struct tt_step *step, char err[TT_ERR_MAX])
{
	const char *digits;

	if (!take(c, '@'))
		return tt_set_error(err, "bad path: expected '@' after state '%.*s'",
			     QUOTED(name));
	digits = c->pos;
	c->pos = scan_u64(c->pos, c->end, &step->t_ns);
	if (!c->pos)
		return tt_set_error(err, "bad path: time of state '%.*s' overflows u64",
			     QUOTED(name));
	if (c->pos == digits)
		return tt_set_error(err, "bad path: expected a time after '%.*s@'",
			     QUOTED(name));
	/* Flags are lowercase letters; the extension rule says skip unknown. */
	while (!at_end(c) && is_lower(*c->pos)) {
		switch (*c->pos) {
		case TCPTRACE_STEP_SOFTIRQ:
			step->softirq = true;
			break;
		case TCPTRACE_STEP_UNEXPECTED:
			step->unexpected = true;
			break;
		case TCPTRACE_STEP_DERIVED:
			step->derived = true;
			break;
		case TCPTRACE_STEP_TIMEWAIT:
			step->timewait = true;
			break;
		}
		c->pos++;
	}
	if (!at_end(c) && *c->pos != '/' && *c->pos != '>')
		return tt_set_error(err, "bad path: unexpected '%c' after the time of state '%.*s'",
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
			return tt_set_error(err, "bad path: more than %d steps",
				     TCPTRACE_MAX_STEPS);
		if (take(&c, '/')) {
			step.gap = true;
			if (!parse_state(&c, "after '/'", &step.old_state,
					 &name, err))
				return false;
		}
		if (!take(&c, '>'))
			return tt_set_error(err, "bad path: expected '>' after state '%.*s'",
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
		return tt_set_error(err, "field %d: missing %s", fs->index + 1, what);
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
 * The dotted quads the module writes, "%pI4": four numbers from 0 to 255,
 * without leading zeros. inet_pton() takes every one of them, to the same
 * address; it costs more than the rest of the line, so it is asked only
 * about anything else.
 */
static bool parse_ipv4(struct span addr, unsigned char bin[4])
{
	const char *p = addr.s, *end = addr.s + addr.len;
	unsigned int i, n;

	for (i = 0; i < 4; i++) {
		unsigned int value;

		if (i > 0 && (p == end || *p++ != '.'))
			return false;
		if (p == end || !is_digit(*p))
			return false;
		value = *p++ - '0';
		/* After a 0, a digit is a leading zero: the '.' check fails. */
		for (n = 1; value && n < 3 && p < end && is_digit(*p); n++)
			value = value * 10 + (*p++ - '0');
		if (value > 255)
			return false;
		bin[i] = (unsigned char)value;
	}
	return p == end;
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
	size_t i;

	for (i = field.len; i > 0; i--) {
		if (field.s[i - 1] == ':') {
			colon = field.s + i - 1;
			break;
		}
	}
	if (!colon)
		return tt_set_error(err, "field %d: expected %s, got '%.*s'", index,
			     expected, QUOTED(field));
	addr = (struct span){ field.s, colon - field.s };
	port = (struct span){ colon + 1, field.s + field.len - (colon + 1) };

	if (family == TT_FAMILY_IPV6) {
		if (addr.len < 2 || addr.s[0] != '[' || addr.s[addr.len - 1] != ']')
			return tt_set_error(err, "field %d: expected %s, got '%.*s'",
				     index, expected, QUOTED(field));
		addr.s++;
		addr.len -= 2;
	}
	if (addr.len >= sizeof(ep->addr))
		return tt_set_error(err, "field %d: bad %s address '%.*s'", index,
			     family == TT_FAMILY_IPV4 ? "IPv4" : "IPv6", QUOTED(addr));
	memcpy(ep->addr, addr.s, addr.len);
	ep->addr[addr.len] = '\0';
	if (!(family == TT_FAMILY_IPV4 && parse_ipv4(addr, ep->bin)) &&
	    inet_pton(family == TT_FAMILY_IPV4 ? AF_INET : AF_INET6,
		      ep->addr, ep->bin) != 1)
		return tt_set_error(err, "field %d: bad %s address '%.*s'", index,
			     family == TT_FAMILY_IPV4 ? "IPv4" : "IPv6", QUOTED(addr));
	if (!parse_port(port, &ep->port))
		return tt_set_error(err, "field %d: bad port '%.*s'", index, QUOTED(port));
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
		return tt_set_error(err, "field 2: socket id overflows u64");
	default:
		return tt_set_error(err, "field 2: expected a decimal socket id, got '%.*s'",
			     QUOTED(f));
	}

	if (!positional_field(fs, "family", &f, err))
		return false;
	if (SPAN_IS(f, "ipv4"))
		r->family = TT_FAMILY_IPV4;
	else if (SPAN_IS(f, "ipv6"))
		r->family = TT_FAMILY_IPV6;
	else
		return tt_set_error(err, "field 3: expected ipv4 or ipv6, got '%.*s'",
			     QUOTED(f));

	if (!positional_field(fs, "local address", &f, err) ||
	    !parse_endpoint(f, 4, r->family, &r->local, err))
		return false;
	if (!positional_field(fs, "remote address", &f, err) ||
	    !parse_endpoint(f, 5, r->family, &r->remote, err))
		return false;
	return true;
}

/* ---- comm --------------------------------------------------------- */

int tt_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of "\xHH" at @s (@len bytes left), or -1 if it is not one. */
static int escaped_byte(const char *s, size_t len)
{
	int hi, lo;

	if (len < 4 || s[0] != '\\' || s[1] != 'x')
		return -1;
	hi = tt_hex_digit(s[2]);
	lo = tt_hex_digit(s[3]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int tt_comm_decode(const char *text, size_t len, char *buf, size_t size)
{
	size_t i = 0, n = 0;

	while (i < len) {
		int byte = escaped_byte(text + i, len - i);

		if (n == size)
			return -1;
		if (byte >= 0) {
			buf[n++] = (char)byte;
			i += 4;
		} else {
			buf[n++] = text[i++];
		}
	}
	return (int)n;
}

void tt_comm_encode(const char *comm, size_t len, char out[TT_COMM_TEXT_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 <= TT_COMM_TEXT_MAX; i++) {
		unsigned char c = comm[i];

		if (c > ' ' && c < 0x7f && c != '\\') {
			out[n++] = (char)c;
		} else {
			/* "\\x%02x" */
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
		}
	}
	out[n] = '\0';
}

/*
 * Decode @value, bytes from '!' to '~' with a backslash only as "\xHH",
 * into @decoded (room for @max bytes): its length, or -1 after writing
 * the message, which starts with @what.
 */
static int decode_escaped(struct span value, char *decoded, size_t max,
			  const char *what, char err[TT_ERR_MAX])
{
	size_t i = 0, n = 0;

	while (i < value.len) {
		int byte = escaped_byte(value.s + i, value.len - i);

		if (value.s[i] == '\\' && byte < 0) {
			tt_set_error(err, "%s: bad escape '%.*s' (expected \\xHH)", what,
				  (int)(value.len - i < 4 ? value.len - i : 4),
				  value.s + i);
			return -1;
		}
		if (n == max) {
			tt_set_error(err, "%s: longer than %zu bytes", what, max);
			return -1;
		}
		if (byte >= 0) {
			decoded[n++] = (char)byte;
			i += 4;
		} else {
			decoded[n++] = value.s[i++];
		}
	}
	return (int)n;
}

bool tt_name_canonical(const char *text, size_t len, size_t max,
		       char out[TT_COMM_TEXT_MAX], const char *what,
		       char err[TT_ERR_MAX])
{
	char decoded[TT_COMM_TEXT_MAX];
	size_t i;
	int n;

	for (i = 0; i < len; i++)
		if (text[i] <= ' ' || text[i] >= 0x7f)
			return tt_set_error(err, "%s: byte 0x%02x (expected '!' to '~', others as \\xHH)",
					    what, (unsigned char)text[i]);
	if (max > sizeof(decoded))
		max = sizeof(decoded);
	n = decode_escaped((struct span){ text, len }, decoded, max, what, err);
	if (n < 0)
		return false;
	tt_comm_encode(decoded, n, out);
	return true;
}

/*
 * comm=: bytes from '!' to '~', a backslash only as "\xHH". Kept in the
 * canonical form, so that two spellings of one name compare equal.
 */
static bool parse_comm(struct span value, struct tt_record *r,
		       char err[TT_ERR_MAX])
{
	/*
	 * Most names have no escape: bytes from '!' to '~' (the line is
	 * printable, and a field has no space) but the backslash are their
	 * own canonical form.
	 */
	if (value.len <= TT_COMM_MAX && !memchr(value.s, '\\', value.len)) {
		memcpy(r->comm, value.s, value.len);
		r->comm[value.len] = '\0';
		return true;
	}
	return tt_name_canonical(value.s, value.len, TT_COMM_MAX, r->comm, "comm", err);
}

/* ---- record keys -------------------------------------------------- */

/*
 * The known key at @p, followed by '=', or NULL. Every field of every line
 * starts with a key: a switch on its first letter and a comparison with
 * the one or few keys of that letter find it at a fraction of the cost of
 * cutting the key out and comparing it with each in turn.
 */
static const struct record_key *match_record_key(const char *p, const char *end)
{
	size_t left = end - p;

#define KEY(name, type, offset, bit)					\
	do {								\
		static const struct record_key key = {			\
			#name, sizeof(#name) - 1, type, offset, bit,	\
		};							\
		if (STARTS_WITH(p, left, #name "="))			\
			return &key;					\
	} while (0)
#define NUMBER_KEY(name, bit) \
	KEY(name, KEY_NUMBER, offsetof(struct tt_record, name), bit)
#define OTHER_KEY(name, type, bit)	KEY(name, type, 0, bit)

	switch (left ? *p : 0) {
	case 'b':
		NUMBER_KEY(bytes_acked, TT_HAS_BYTES_ACKED);
		NUMBER_KEY(bytes_received, TT_HAS_BYTES_RECEIVED);
		break;
	case 'c':
		OTHER_KEY(comm, KEY_COMM, TT_HAS_COMM);
		break;
	case 'd':
		NUMBER_KEY(dropped, TT_HAS_DROPPED);
		break;
	case 'e':
		OTHER_KEY(end, KEY_END, TT_HAS_END);
		break;
	case 'n':
		NUMBER_KEY(netns, TT_HAS_NETNS);
		break;
	case 'p':
		NUMBER_KEY(pid, TT_HAS_PID);
		OTHER_KEY(path, KEY_PATH, SEEN_PATH);
		break;
	case 'r':
		NUMBER_KEY(retrans, TT_HAS_RETRANS);
		OTHER_KEY(rst_reason, KEY_RST_REASON, TT_HAS_RST_REASON);
		break;
	case 's':
		NUMBER_KEY(seq, TT_HAS_SEQ);
		NUMBER_KEY(srtt_us, TT_HAS_SRTT_US);
		NUMBER_KEY(syn_retrans, TT_HAS_SYN_RETRANS);
		OTHER_KEY(seen_at_load, KEY_SEEN_AT_LOAD, TT_HAS_SEEN_AT_LOAD);
		break;
	case 't':
		NUMBER_KEY(t0, SEEN_T0);
		NUMBER_KEY(tgid, TT_HAS_TGID);
		OTHER_KEY(timewait, KEY_TIMEWAIT, TT_HAS_TIMEWAIT);
		break;
	case 'u':
		NUMBER_KEY(uid, TT_HAS_UID);
		NUMBER_KEY(unexpected, TT_HAS_UNEXPECTED);
		break;
	}
#undef OTHER_KEY
#undef NUMBER_KEY
#undef KEY
	return NULL;
}

/* A key may appear once: @bit of @seen says it did. */
static bool first_time(unsigned int *seen, unsigned int bit, const char *name,
		       char err[TT_ERR_MAX])
{
	if (*seen & bit)
		return tt_set_error(err, "duplicate key '%s'", name);
	*seen |= bit;
	return true;
}

static bool parse_end(struct span value, struct tt_record *r,
		      char err[TT_ERR_MAX])
{
	int end = lookup_end(value);

	if (end < 0)
		return tt_set_error(err, "unknown end reason '%.*s'", QUOTED(value));
	r->end = (unsigned int)end;
	return true;
}

static bool parse_timewait(struct span value, struct tt_record *r,
			   char err[TT_ERR_MAX])
{
	if (SPAN_IS(value, "expired"))
		r->timewait = TT_TIMEWAIT_EXPIRED;
	else if (SPAN_IS(value, "killed"))
		r->timewait = TT_TIMEWAIT_KILLED;
	else
		return tt_set_error(err, "timewait: expected expired or killed, got '%.*s'",
			     QUOTED(value));
	return true;
}

static bool parse_seen_at_load(struct span value, struct tt_record *r,
			       char err[TT_ERR_MAX])
{
	if (!SPAN_IS(value, "0") && !SPAN_IS(value, "1"))
		return tt_set_error(err, "seen_at_load: expected 0 or 1, got '%.*s'",
			     QUOTED(value));
	r->seen_at_load = value.s[0] == '1';
	return true;
}

bool tt_rst_reason_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > TT_RST_REASON_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!(name[i] >= 'A' && name[i] <= 'Z') && !is_digit(name[i]) &&
		    name[i] != '_')
			return false;
	return true;
}

/* rst_reason=: a word of the kernel's, kept as written. */
static bool parse_rst_reason(struct span value, struct tt_record *r,
			     char err[TT_ERR_MAX])
{
	if (!tt_rst_reason_valid(value.s, value.len))
		return tt_set_error(err, "rst_reason: expected 1 to %d characters of [A-Z0-9_], got '%.*s'",
			     TT_RST_REASON_MAX, QUOTED(value));
	memcpy(r->rst_reason, value.s, value.len);
	r->rst_reason[value.len] = '\0';
	return true;
}

/*
 * The rest of the current field from @from, which is in it, as its value;
 * the fields go on after it. (next_field() after the '=' of the field.)
 */
static struct span rest_of_field(struct fields *fs, const char *from)
{
	const char *space = memchr(from, ' ', fs->end - from);
	struct span value = { from, (space ? space : fs->end) - from };

	if (space)
		fs->pos = space + 1;
	else
		fs->done = true;
	return value;
}

/*
 * The value of known key @k, whose field starts at the fields' position.
 * A number is read as the field is scanned, without looking for its end
 * first; anything unusual about it is left to parse_value().
 */
static bool parse_record_value(struct fields *fs, const struct record_key *k,
			       struct tt_record *r, char err[TT_ERR_MAX])
{
	const char *from = fs->pos + k->len + 1;
	uint64_t *number = (uint64_t *)(void *)((char *)r + k->offset);
	struct span value;

	fs->index++;
	if (k->type == KEY_NUMBER) {
		const char *stop = scan_u64(from, fs->end, number);

		if (stop && stop != from && (stop == fs->end || *stop == ' ')) {
			if (stop == fs->end)
				fs->done = true;
			else
				fs->pos = stop + 1;
			return true;
		}
	}
	value = rest_of_field(fs, from);
	switch (k->type) {
	case KEY_NUMBER:
		return parse_value("", k->name, value, number, err);
	case KEY_COMM:
		return parse_comm(value, r, err);
	case KEY_END:
		return parse_end(value, r, err);
	case KEY_RST_REASON:
		return parse_rst_reason(value, r, err);
	case KEY_TIMEWAIT:
		return parse_timewait(value, r, err);
	case KEY_SEEN_AT_LOAD:
		return parse_seen_at_load(value, r, err);
	case KEY_PATH:
		return parse_path(value, r, err);
	}
	return true;
}

/* The key=value fields after the positional ones. */
static bool parse_record_keys(struct fields *fs, struct tt_record *r,
			      char err[TT_ERR_MAX])
{
	struct span f, key, value;
	unsigned int seen = 0;

	while (!fs->done) {
		const struct record_key *known = match_record_key(fs->pos, fs->end);

		if (known) {
			if (!first_time(&seen, known->bit, known->name, err) ||
			    !parse_record_value(fs, known, r, err))
				return false;
			continue;
		}
		/*
		 * Not a key this version knows: a key from a later version,
		 * skipped, if the field is key=value at all.
		 */
		next_field(fs, &f);
		if (f.len == 0)
			return empty_field_error(fs, "", err);
		if (!split_key_value(f, &key, &value))
			return tt_set_error(err, "field %d: expected key=value, got '%.*s'",
				     fs->index, QUOTED(f));
	}
	r->has = seen & ~(SEEN_T0 | SEEN_PATH);

	if (!(seen & SEEN_PATH))
		return tt_set_error(err, "missing path=");
	if (!(seen & SEEN_T0))
		return tt_set_error(err, "missing t0=");
	if (r->kind == TT_KIND_DONE && !(r->has & TT_HAS_SEQ))
		return tt_set_error(err, "missing seq= (required on done records)");
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
	if (SPAN_IS(kind, TCPTRACE_KIND_DONE)) {
		r->kind = TT_KIND_DONE;
	} else if (SPAN_IS(kind, TCPTRACE_KIND_LIVE)) {
		r->kind = TT_KIND_LIVE;
	} else if (is_kind_word(kind)) {
		return TT_LINE_UNKNOWN_KIND;	/* a kind from a later version */
	} else {
		tt_set_error(err, "field 1: bad record kind '%.*s'", QUOTED(kind));
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

const struct tt_header_key *tt_header_key(const char *name)
{
	return lookup_header_key((struct span){ name, strlen(name) });
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
		if (!split_key_value(f, &key, &value) || !SPAN_IS(key, "format"))
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
	tt_set_error(err, "header: missing format=");
	return TT_LINE_ERROR;
}

/* The key=value fields after TCPTRACE_HEADER_TAG and its space. */
static bool parse_header_keys(const char *start, const char *end,
			      struct tt_header *h, char err[TT_ERR_MAX])
{
	struct fields fs = fields_of(start, end);
	struct span f, key, value;
	size_t i;

	while (next_field(&fs, &f)) {
		const struct tt_header_key *known;
		void *counter;

		if (f.len == 0)
			return empty_field_error(&fs, "header: ", err);
		if (!split_key_value(f, &key, &value))
			return tt_set_error(err, "header: field %d: expected key=value, got '%.*s'",
				     fs.index, QUOTED(f));
		known = lookup_header_key(key);
		if (!known)
			continue;	/* a counter from a later version */
		i = known - tt_header_keys;
		if (h->has & (1u << i))
			return tt_set_error(err, "header: duplicate key '%s'", known->name);
		h->has |= 1u << i;
		counter = (char *)h + known->offset;
		if (!parse_value("header: ", known->name, value, counter, err))
			return false;
	}
	for (i = 0; i < tt_nr_header_keys; i++)
		if (tt_header_keys[i].required && !(h->has & (1u << i)))
			return tt_set_error(err, "header: missing %s=", tt_header_keys[i].name);
	return true;
}

static enum tt_line_type parse_header(const char *start, const char *end,
				      struct tt_header *h, char err[TT_ERR_MAX])
{
	enum tt_line_type type;

	memset(h, 0, sizeof(*h));
	start += strlen(TCPTRACE_HEADER_TAG);
	if (start == end) {
		tt_set_error(err, "header: missing format=");
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

/* ---- origin line -------------------------------------------------- */

/*
 * The origin line, a comment that readers may use (Documentation/tcptrace.rst):
 *
 *   origin  = "# origin" 1*(" " field)
 *   field   = "host=" HOST / "boot_id=" UUID / KEY "=" VALUE
 *   HOST    = 1 to TT_HOST_MAX bytes, written as comm= is
 *   UUID    = 8HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 12HEXDIG
 *
 * host= is required, boot_id= optional; other keys, from later versions,
 * are skipped. No key twice.
 */

bool tt_boot_id_valid(const char *text, size_t len)
{
	size_t i;

	if (len != TT_BOOT_ID_TEXT_MAX - 1)
		return false;
	for (i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? text[i] != '-' : tt_hex_digit(text[i]) < 0)
			return false;
	}
	return true;
}

static bool parse_origin_host(struct span value, struct tt_origin *o,
			      char err[TT_ERR_MAX])
{
	_Static_assert(TT_HOST_TEXT_MAX == TT_COMM_TEXT_MAX,
		       "host= is encoded by tt_comm_encode()");
	if (value.len == 0)
		return tt_set_error(err, "origin: host: empty");
	return tt_name_canonical(value.s, value.len, TT_HOST_MAX, o->host,
				 "origin: host", err);
}

static bool parse_origin_boot_id(struct span value, struct tt_origin *o,
				 char err[TT_ERR_MAX])
{
	size_t i;

	if (!tt_boot_id_valid(value.s, value.len))
		return tt_set_error(err, "origin: boot_id: expected a UUID, got '%.*s'",
			     QUOTED(value));
	for (i = 0; i < value.len; i++)
		o->boot_id[i] = value.s[i] >= 'A' && value.s[i] <= 'F' ?
				value.s[i] - 'A' + 'a' : value.s[i];
	o->boot_id[i] = '\0';
	return true;
}

static enum tt_line_type parse_origin(const char *start, const char *end,
				      struct tt_origin *o, char err[TT_ERR_MAX])
{
	struct fields fs;
	struct span f, key, value;
	bool host = false, boot_id = false;

	memset(o, 0, sizeof(*o));
	start += strlen(TCPTRACE_ORIGIN_TAG);
	if (start == end) {
		tt_set_error(err, "origin: missing host=");
		return TT_LINE_ERROR;
	}
	fs = fields_of(start + 1, end);
	while (next_field(&fs, &f)) {
		bool ok = true;

		if (f.len == 0) {
			empty_field_error(&fs, "origin: ", err);
			return TT_LINE_ERROR;
		}
		if (!split_key_value(f, &key, &value)) {
			tt_set_error(err, "origin: field %d: expected key=value, got '%.*s'",
				  fs.index, QUOTED(f));
			return TT_LINE_ERROR;
		}
		if (SPAN_IS(key, "host")) {
			ok = !host ? parse_origin_host(value, o, err) :
			     tt_set_error(err, "origin: duplicate key 'host'");
			host = true;
		} else if (SPAN_IS(key, "boot_id")) {
			ok = !boot_id ? parse_origin_boot_id(value, o, err) :
			     tt_set_error(err, "origin: duplicate key 'boot_id'");
			boot_id = true;
		}
		if (!ok)
			return TT_LINE_ERROR;
	}
	if (!host) {
		tt_set_error(err, "origin: missing host=");
		return TT_LINE_ERROR;
	}
	return TT_LINE_ORIGIN;
}

/* ---- lines -------------------------------------------------------- */

bool tt_is_header_line(const char *line, size_t len)
{
	size_t tag_len = strlen(TCPTRACE_HEADER_TAG);

	return len >= tag_len && memcmp(line, TCPTRACE_HEADER_TAG, tag_len) == 0 &&
	       (len == tag_len || line[tag_len] == ' ' || line[tag_len] == '\n');
}

bool tt_is_origin_line(const char *line, size_t len)
{
	size_t tag_len = strlen(TCPTRACE_ORIGIN_TAG);

	return len >= tag_len && memcmp(line, TCPTRACE_ORIGIN_TAG, tag_len) == 0 &&
	       (len == tag_len || line[tag_len] == ' ' || line[tag_len] == '\n');
}

/* Eight copies of byte @b. */
#define BYTES(b)	(0x0101010101010101ull * (b))

/*
 * The bytes of @w below ' ' or above '~' have their high bit set in the
 * result (its other bits mean nothing): (w - BYTES(0x20)) & ~w sets it
 * for those below 0x20, (w + BYTES(1)) | w for those above 0x7e. A borrow
 * or a carry into the next byte may mark a good one too, but only next to
 * a bad one: the answer to "any?" is exact.
 */
static uint64_t unprintable_bytes(uint64_t w)
{
	return ((w - BYTES(0x20)) & ~w) | (w + BYTES(1)) | w;
}

static bool is_printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * The format promises printable ASCII; say where it is broken. Every byte
 * of every line is checked, sixteen at a time as two words; only a line
 * that has a bad one is looked at again, a byte at a time, to say which.
 */
static bool check_printable(const char *start, const char *end,
			    char err[TT_ERR_MAX])
{
	const char *p = start;
	uint64_t bad = 0;

	for (; end - p >= 16; p += 16) {
		uint64_t w[2];

		memcpy(w, p, sizeof(w));
		bad |= unprintable_bytes(w[0]) | unprintable_bytes(w[1]);
	}
	for (; p < end; p++)
		if (!is_printable(*p))
			bad = BYTES(0x80);
	if (!(bad & BYTES(0x80)))
		return true;
	for (p = start; p < end && is_printable(*p); p++)
		;
	return tt_set_error(err, "non-printable byte 0x%02x at column %zu",
			 (unsigned char)*p, (size_t)(p - start) + 1);
}

static enum tt_line_type classify_and_parse(const char *line, size_t len,
					    struct tt_line *out,
					    char err[TT_ERR_MAX])
{
	const char *end;

	if (len > TCPTRACE_LINE_MAX) {
		tt_set_error(err, "line too long (more than %d bytes)", TCPTRACE_LINE_MAX);
		return TT_LINE_ERROR;
	}
	if (len == 0 || line[len - 1] != '\n') {
		tt_set_error(err, "truncated line (no newline)");
		return TT_LINE_ERROR;
	}
	end = line + len - 1;	/* at the '\n' */
	if (line == end)
		return TT_LINE_BLANK;
	if (line[0] == '#' && !tt_is_header_line(line, len) &&
	    !tt_is_origin_line(line, len))
		return TT_LINE_COMMENT;		/* free text: not checked */
	if (!check_printable(line, end, err))
		return TT_LINE_ERROR;
	if (tt_is_origin_line(line, len))
		return parse_origin(line, end, &out->origin, err);
	if (line[0] == '#')
		return parse_header(line, end, &out->header, err);
	return parse_record(line, end, &out->record, err);
}

enum tt_line_type tt_parse_line(const char *line, size_t len,
				struct tt_line *out, char err[TT_ERR_MAX])
{
	if (len && line[0] == '{')
		return tt_json_parse_line(line, len, out, err);
	out->json = false;
	out->type = classify_and_parse(line, len, out, err);
	out->has_origin = out->type == TT_LINE_ORIGIN;
	return out->type;
}
