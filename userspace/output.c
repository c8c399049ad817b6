// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "output.h"

/* Service names longer than this are left as numbers. */
#define SERVICE_NAME_MAX	32

struct service {
	uint16_t port;
	unsigned int order;		/* its place in the database */
	char name[SERVICE_NAME_MAX];
};

struct tt_services {
	size_t count;
	struct service *entries;	/* sorted by port, one per port */
};

static const char *const ss_state_names[] = {
	"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	"NEW-SYN-RECV", "BOUND-INACTIVE",
};
_Static_assert(sizeof(ss_state_names) / sizeof(ss_state_names[0]) == TCPTRACE_NR_STATES,
	       "a ss name for each state");

/* ---- services ----------------------------------------------------- */

static int compare_ports(const void *pa, const void *pb)
{
	const struct service *a = pa, *b = pb;

	return (a->port > b->port) - (a->port < b->port);
}

static int compare_services(const void *pa, const void *pb)
{
	const struct service *a = pa, *b = pb;

	if (a->port != b->port)
		return compare_ports(pa, pb);
	return (a->order > b->order) - (a->order < b->order);
}

/* Keep the first name of each port, as getservbyport() would. */
static void dedup_services(struct tt_services *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->count; i++)
		if (n == 0 || s->entries[n - 1].port != s->entries[i].port)
			s->entries[n++] = s->entries[i];
	s->count = n;
}

static bool add_service(struct tt_services *s, size_t *room,
			const struct servent *se)
{
	struct service *entry;

	if (strcmp(se->s_proto, "tcp") != 0 || strlen(se->s_name) >= SERVICE_NAME_MAX)
		return true;
	if (s->count == *room) {
		size_t more = *room ? 2 * *room : 256;
		struct service *grown = realloc(s->entries, more * sizeof(*grown));

		if (!grown)
			return false;
		s->entries = grown;
		*room = more;
	}
	entry = &s->entries[s->count];
	entry->order = (unsigned int)s->count++;
	entry->port = ntohs((uint16_t)se->s_port);
	strcpy(entry->name, se->s_name);
	return true;
}

struct tt_services *tt_services_load(void)
{
	struct tt_services *s = calloc(1, sizeof(*s));
	const struct servent *se;
	size_t room = 0;

	if (!s)
		return NULL;
	setservent(1);
	while ((se = getservent())) {
		if (!add_service(s, &room, se)) {
			endservent();
			tt_services_free(s);
			return NULL;
		}
	}
	endservent();
	if (s->count) {
		qsort(s->entries, s->count, sizeof(*s->entries), compare_services);
		dedup_services(s);
	}
	return s;
}

void tt_services_free(struct tt_services *services)
{
	if (!services)
		return;
	free(services->entries);
	free(services);
}

const char *tt_service_name(const struct tt_services *services, uint16_t port)
{
	struct service key = { .port = port };
	const struct service *found;

	if (!services || !services->count)
		return NULL;
	found = bsearch(&key, services->entries, services->count,
			sizeof(key), compare_ports);
	return found ? found->name : NULL;
}

/* ---- the writer --------------------------------------------------- */

void tt_out_flush(struct tt_out *o)
{
	if (o->len)
		fwrite(o->buf, 1, o->len, o->file);
	o->len = 0;
}

void tt_out_big(struct tt_out *o, const char *s, size_t n)
{
	tt_out_flush(o);
	if (n > TT_OUT_BUF) {
		fwrite(s, 1, n, o->file);
		return;
	}
	memcpy(o->buf, s, n);
	o->len = n;
}

void tt_out_spaces(struct tt_out *o, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t chunk = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		tt_out_mem(o, spaces, chunk);
		n -= chunk;
	}
}

/* "00" to "99": two digits at a time take half the divisions. */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t tt_format_u64(uint64_t value, char buf[TT_U64_MAX])
{
	uint64_t rest = value;
	size_t len = 1;
	char *p;

	/* Its length first, then the digits from the last. */
	for (; rest >= 10000; rest /= 10000)
		len += 4;
	len += (rest >= 10) + (rest >= 100) + (rest >= 1000);
	p = buf + len;
	*p = '\0';
	/* Four digits a 64-bit division, then two of them at a time. */
	while (value >= 10000) {
		unsigned int four = value % 10000;

		value /= 10000;
		p -= 4;
		memcpy(p, digit_pairs + four / 100 * 2, 2);
		memcpy(p + 2, digit_pairs + four % 100 * 2, 2);
	}
	if (value >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + value % 100 * 2, 2);
		value /= 100;
	}
	if (value >= 10)
		memcpy(p - 2, digit_pairs + value * 2, 2);
	else
		p[-1] = (char)('0' + value);
	return len;
}

/* ---- durations, endpoints, states, owners --------------------------- */

/* Copy NUL-terminated @s to @buf with its NUL; its length. */
static size_t copy_str(char *buf, const char *s)
{
	size_t len = strlen(s);

	memcpy(buf, s, len + 1);
	return len;
}

size_t tt_format_duration(uint64_t ns, char buf[TT_DURATION_MAX])
{
	static const struct {
		char name[3];	/* NUL-padded: copied whole */
		size_t len;
	} units[] = { { "us", 2 }, { "ms", 2 }, { "s", 1 } };
	uint64_t milli, whole, frac;
	int decimals = 3, d;
	unsigned int unit;
	size_t len;

	if (ns < 1000) {
		len = tt_format_u64(ns, buf);
		memcpy(buf + len, "ns", 3);
		return len + 2;
	}
	/*
	 * The duration in thousandths of the largest unit that leaves at
	 * least 1 before the point, rounded half up; 999.9996ms rounds to
	 * 1000.000ms: say 1s instead.
	 */
	unit = 0;
	milli = ns;
	if (milli >= 1000 * 1000) {
		unit = 1;
		milli = ns / 1000 + (ns % 1000 >= 500);
	}
	if (milli >= 1000 * 1000) {
		unit = 2;
		milli = ns / 1000000 + (ns % 1000000 >= 500000);
	}
	whole = milli / 1000;
	frac = milli % 1000;
	len = tt_format_u64(whole, buf);
	if (frac != 0) {
		while (frac % 10 == 0) {
			frac /= 10;
			decimals--;
		}
		/* ".%0*" PRIu64: frac has at most @decimals digits. */
		buf[len++] = '.';
		for (d = decimals - 1; d >= 0; d--) {
			buf[len + d] = (char)('0' + frac % 10);
			frac /= 10;
		}
		len += decimals;
	}
	memcpy(buf + len, units[unit].name, sizeof(units[unit].name));
	return len + units[unit].len;
}

size_t tt_format_endpoint(const struct tt_style *style,
			  const struct tt_endpoint *ep, enum tt_family family,
			  char buf[TT_ENDPOINT_MAX])
{
	const char *service = style->numeric ? NULL :
			      tt_service_name(style->services, ep->port);
	size_t len = 0;

	/*
	 * What fits: an address of at most INET6_ADDRSTRLEN - 1 characters,
	 * a port of 5 digits or a name shorter than SERVICE_NAME_MAX.
	 */
	_Static_assert(TT_ENDPOINT_MAX >= INET6_ADDRSTRLEN + 3 + SERVICE_NAME_MAX,
		       "an endpoint fits in TT_ENDPOINT_MAX");
	if (family == TT_FAMILY_IPV6)
		buf[len++] = '[';
	len += copy_str(buf + len, ep->addr);
	if (family == TT_FAMILY_IPV6)
		buf[len++] = ']';
	buf[len++] = ':';
	if (service)
		return len + copy_str(buf + len, service);
	return len + tt_format_u64(ep->port, buf + len);
}

const char *tt_ss_state_name(unsigned int state)
{
	return state < TCPTRACE_NR_STATES ? ss_state_names[state] : ss_state_names[0];
}

const char *tt_style_state(const struct tt_style *style, unsigned int state)
{
	return style->ss_names ? tt_ss_state_name(state) : tt_state_name(state);
}

size_t tt_format_owner(const struct tt_record *r, char buf[TT_OWNER_MAX])
{
	uint64_t pid = r->has & TT_HAS_TGID ? r->tgid : r->pid;
	bool has_pid = r->has & (TT_HAS_TGID | TT_HAS_PID);
	size_t len = 0;

	/* A comm of TT_COMM_TEXT_MAX - 1 bytes, '/' and a pid fit. */
	_Static_assert(TT_OWNER_MAX >= TT_COMM_TEXT_MAX + TT_U64_MAX,
		       "an owner fits in TT_OWNER_MAX");
	if (!(r->has & TT_HAS_COMM) && !has_pid)
		return copy_str(buf, "-");
	if (r->has & TT_HAS_COMM) {
		len = strnlen(r->comm, TT_COMM_TEXT_MAX - 1);
		memcpy(buf, r->comm, len);
		buf[len] = '\0';
		if (has_pid)
			buf[len++] = '/';
	}
	if (has_pid)
		len += tt_format_u64(pid, buf + len);
	return len;
}

const char *tt_kind_name(enum tt_kind kind)
{
	return kind == TT_KIND_DONE ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE;
}

const char *tt_family_name(enum tt_family family)
{
	return family == TT_FAMILY_IPV4 ? "ipv4" : "ipv6";
}

void tt_out_path(struct tt_out *o, const struct tt_style *style,
		 const struct tt_record *r)
{
	unsigned int i;

	tt_out_str(o, tt_style_state(style, r->first_state));
	if (tt_state_handed_over(r, 0))
		tt_out_lit(o, " w");
	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		/* Marked on the state before it. */
		if (tt_step_handover_stays(r, i))
			continue;
		if (step->gap) {
			tt_out_lit(o, " / ");
			tt_out_str(o, tt_style_state(style, step->old_state));
		}
		tt_out_lit(o, " > ");
		if (step->unexpected) {
			const char *state = tt_style_state(style, step->new_state);
			size_t len = strlen(state);
			char text[32];

			/* "%s!" of a state name (at most 14 characters). */
			if (len > sizeof(text) - 2)
				len = sizeof(text) - 2;
			memcpy(text, state, len);
			text[len++] = '!';
			tt_out_color(o, style, TT_RED, text, len);
		} else {
			tt_out_str(o, tt_style_state(style, step->new_state));
		}
		if (tt_state_handed_over(r, i + 1))
			tt_out_lit(o, " w");
	}
	if (r->dropped) {
		tt_out_lit(o, " (+");
		tt_out_u64(o, r->dropped);
		tt_out_lit(o, " dropped)");
	}
}

void tt_print_path(FILE *out, const struct tt_style *style,
		   const struct tt_record *r)
{
	struct tt_out o;

	tt_out_init(&o, out);
	tt_out_path(&o, style, r);
	tt_out_flush(&o);
}

/* ---- colours ------------------------------------------------------ */

void tt_color(FILE *out, const struct tt_style *style, const char *sgr,
	      const char *text)
{
	if (style->color && sgr)
		fprintf(out, "\033[%sm%s\033[0m", sgr, text);
	else
		fputs(text, out);
}

void tt_out_sgr(struct tt_out *o, const char *sgr, const char *text, size_t len)
{
	tt_out_lit(o, "\033[");
	tt_out_str(o, sgr);
	tt_out_char(o, 'm');
	tt_out_mem(o, text, len);
	tt_out_lit(o, "\033[0m");
}

void tt_out_color_pad(struct tt_out *o, const struct tt_style *style,
		      const char *sgr, const char *text, size_t len, size_t width)
{
	tt_out_color(o, style, sgr, text, len);
	if (len < width)
		tt_out_spaces(o, width - len);
}

void tt_color_pad(FILE *out, const struct tt_style *style, const char *sgr,
		  const char *text, int width)
{
	int len = (int)strlen(text);

	tt_color(out, style, sgr, text);
	if (len < width)
		fprintf(out, "%*s", width - len, "");
}

const char *tt_end_color(unsigned int end)
{
	switch (end) {
	case TCPTRACE_END_ACTIVE_CLOSE:
	case TCPTRACE_END_PASSIVE_CLOSE:
	case TCPTRACE_END_SIMULTANEOUS_CLOSE:
	case TCPTRACE_END_LISTENER_CLOSED:
		return TT_GREEN;
	case TCPTRACE_END_CLOSED:
	case TCPTRACE_END_SYNCOOKIE:
		return TT_YELLOW;
	default:
		return TT_RED;
	}
}

/* ---- JSON ----------------------------------------------------------- */

/* Does @c need an escape in a JSON string? */
static bool json_special(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20;
}

void tt_out_json_string(struct tt_out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t plain;

	tt_out_char(o, '"');
	for (plain = 0; s[plain] && !json_special(s[plain]); plain++)
		;
	tt_out_mem(o, s, plain);
	for (s += plain; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			tt_out_char(o, '\\');
			tt_out_char(o, (char)c);
		} else if (c < 0x20) {
			/* "\\u%04x" */
			tt_out_lit(o, "\\u00");
			tt_out_char(o, hex[c >> 4]);
			tt_out_char(o, hex[c & 0xf]);
		} else {
			tt_out_char(o, (char)c);
		}
	}
	tt_out_char(o, '"');
}

void tt_json_string(FILE *out, const char *s)
{
	struct tt_out o;

	tt_out_init(&o, out);
	tt_out_json_string(&o, s);
	tt_out_flush(&o);
}

/* ---- --stats ------------------------------------------------------ */

void tt_print_stats(FILE *out, const struct tt_header *h,
		    const struct tt_origin *origin)
{
	size_t i;

	for (i = 0; i < tt_nr_header_keys; i++)
		if (tt_header_has(h, &tt_header_keys[i]))
			fprintf(out, "%s %" PRIu64 "\n", tt_header_keys[i].name,
				tt_header_value(h, &tt_header_keys[i]));
	if (origin)
		fprintf(out, "host %s\n", origin->host);
	if (origin && origin->boot_id[0])
		fprintf(out, "boot_id %s\n", origin->boot_id);
}

void tt_print_stats_json(FILE *out, const struct tt_header *h,
			 const struct tt_origin *origin)
{
	const char *sep = "";
	size_t i;

	fputc('{', out);
	for (i = 0; i < tt_nr_header_keys; i++) {
		if (!tt_header_has(h, &tt_header_keys[i]))
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, sep, tt_header_keys[i].name,
			tt_header_value(h, &tt_header_keys[i]));
		sep = ",";
	}
	if (origin) {
		fprintf(out, "%s\"host\":", sep);
		tt_json_string(out, origin->host);
	}
	if (origin && origin->boot_id[0])
		fprintf(out, ",\"boot_id\":\"%s\"", origin->boot_id);
	fputs("}\n", out);
}
