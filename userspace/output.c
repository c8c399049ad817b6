// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "model.h"
#include "output.h"

/*
 * Table columns. Widths fit the common case (IPv4 endpoints, cookies up to
 * 8 digits); a longer value pushes the rest of its row rather than being
 * cut. Rows are printed as they are read, so widths cannot adapt to the
 * data. PATH comes last because its length varies most.
 */
#define TABLE_FORMAT	"%-8s  %-4s  %-21s  %-21s  %-9s  %s"

/* "[" IPv6 "]:" port, NUL included. */
#define ENDPOINT_MAX	(INET6_ADDRSTRLEN + sizeof("[]:65535"))

void tt_format_duration(uint64_t ns, char buf[TT_DURATION_MAX])
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "us", 1000 },
		{ "ms", 1000 * 1000 },
		{ "s", 1000 * 1000 * 1000 },
	};
	size_t i;

	if (ns < 1000) {
		snprintf(buf, TT_DURATION_MAX, "%" PRIu64 "ns", ns);
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		/* The duration in thousandths of the unit, rounded half up. */
		uint64_t step = units[i].ns / 1000;
		uint64_t milli = ns / step + (ns % step * 2 >= step);
		uint64_t whole = milli / 1000, frac = milli % 1000;
		int decimals = 3;

		/* 999.9996ms rounds to 1000.000ms: say 1s instead. */
		if (milli >= 1000 * 1000 && i + 1 < sizeof(units) / sizeof(units[0]))
			continue;
		if (frac == 0) {
			snprintf(buf, TT_DURATION_MAX, "%" PRIu64 "%s", whole,
				 units[i].name);
			return;
		}
		while (frac % 10 == 0) {
			frac /= 10;
			decimals--;
		}
		snprintf(buf, TT_DURATION_MAX, "%" PRIu64 ".%0*" PRIu64 "%s",
			 whole, decimals, frac, units[i].name);
		return;
	}
}

static const char *const ss_state_names[] = {
	"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	"NEW-SYN-RECV", "BOUND-INACTIVE",
};
_Static_assert(sizeof(ss_state_names) / sizeof(ss_state_names[0]) == TCPTRACE_NR_STATES,
	       "a ss name for each state");

const char *tt_ss_state_name(unsigned int state)
{
	return state < TCPTRACE_NR_STATES ? ss_state_names[state] : ss_state_names[0];
}

static const char *kind_name(enum tt_kind kind)
{
	return kind == TT_KIND_DONE ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE;
}

static const char *family_name(enum tt_family family)
{
	return family == TT_FAMILY_IPV4 ? "ipv4" : "ipv6";
}

/* As the format writes it: "127.0.0.1:8080", "[::1]:8080". */
static void format_endpoint(const struct tt_endpoint *ep, enum tt_family family,
			    char buf[ENDPOINT_MAX])
{
	if (family == TT_FAMILY_IPV6)
		snprintf(buf, ENDPOINT_MAX, "[%s]:%u", ep->addr, ep->port);
	else
		snprintf(buf, ENDPOINT_MAX, "%s:%u", ep->addr, ep->port);
}

void tt_print_table_heading(FILE *out)
{
	fprintf(out, TABLE_FORMAT "\n", "ID", "KIND", "LOCAL", "REMOTE",
		"LIFETIME", "PATH");
}

/* "CLOSE > SYN_SENT / ESTABLISHED > ...": '/' where transitions were missed. */
static void print_path(FILE *out, const struct tt_record *r)
{
	unsigned int i;

	fputs(tt_state_name(r->first_state), out);
	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		if (step->gap)
			fprintf(out, " / %s", tt_state_name(step->old_state));
		fprintf(out, " > %s", tt_state_name(step->new_state));
	}
	if (r->dropped)
		fprintf(out, " (+%" PRIu64 " dropped)", r->dropped);
}

void tt_print_table_row(FILE *out, const struct tt_record *r)
{
	char id[24], local[ENDPOINT_MAX], remote[ENDPOINT_MAX];
	char lifetime[TT_DURATION_MAX];

	snprintf(id, sizeof(id), "%" PRIu64, r->id);
	format_endpoint(&r->local, r->family, local);
	format_endpoint(&r->remote, r->family, remote);
	tt_format_duration(tt_record_lifetime(r), lifetime);
	fprintf(out, TABLE_FORMAT, id, kind_name(r->kind), local, remote,
		lifetime, "");
	print_path(out, r);
	fputc('\n', out);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void print_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_json_endpoint(FILE *out, const char *name,
				const struct tt_endpoint *ep)
{
	fprintf(out, "\"%s\":{\"addr\":", name);
	print_json_string(out, ep->addr);
	fprintf(out, ",\"port\":%u}", ep->port);
}

static void print_json_step(FILE *out, const struct tt_step *step)
{
	fputs("{\"from\":", out);
	print_json_string(out, tt_state_name(step->old_state));
	fputs(",\"to\":", out);
	print_json_string(out, tt_state_name(step->new_state));
	fprintf(out, ",\"t_ns\":%" PRIu64 ",\"softirq\":%s,\"gap\":%s}",
		step->t_ns, step->softirq ? "true" : "false",
		step->gap ? "true" : "false");
}

void tt_print_record_json(FILE *out, const struct tt_record *r)
{
	unsigned int i;

	fputs("{\"kind\":", out);
	print_json_string(out, kind_name(r->kind));
	fprintf(out, ",\"id\":%" PRIu64 ",\"family\":", r->id);
	print_json_string(out, family_name(r->family));
	fputc(',', out);
	print_json_endpoint(out, "local", &r->local);
	fputc(',', out);
	print_json_endpoint(out, "remote", &r->remote);
	if (r->kind == TT_KIND_DONE)
		fprintf(out, ",\"seq\":%" PRIu64, r->seq);
	fprintf(out, ",\"t0\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"lifetime_ns\":%" PRIu64 ",\"steps\":[",
		r->t0, r->dropped, tt_record_lifetime(r));
	for (i = 0; i < r->nr_steps; i++) {
		if (i)
			fputc(',', out);
		print_json_step(out, &r->steps[i]);
	}
	fputs("]}\n", out);
}

/* The counters the header has, in the format's order. */
void tt_print_stats(FILE *out, const struct tt_header *h)
{
	size_t i;

	for (i = 0; i < tt_nr_header_keys; i++)
		if (tt_header_has(h, &tt_header_keys[i]))
			fprintf(out, "%s %" PRIu64 "\n", tt_header_keys[i].name,
				tt_header_value(h, &tt_header_keys[i]));
}

void tt_print_stats_json(FILE *out, const struct tt_header *h)
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
	fputs("}\n", out);
}
