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

/* ---- durations, endpoints, states, owners --------------------------- */

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

void tt_format_endpoint(const struct tt_style *style,
			const struct tt_endpoint *ep, enum tt_family family,
			char buf[TT_ENDPOINT_MAX])
{
	const char *service = style->numeric ? NULL :
			      tt_service_name(style->services, ep->port);
	char port[8];

	snprintf(port, sizeof(port), "%u", ep->port);
	if (family == TT_FAMILY_IPV6)
		snprintf(buf, TT_ENDPOINT_MAX, "[%s]:%s", ep->addr,
			 service ? service : port);
	else
		snprintf(buf, TT_ENDPOINT_MAX, "%s:%s", ep->addr,
			 service ? service : port);
}

const char *tt_ss_state_name(unsigned int state)
{
	return state < TCPTRACE_NR_STATES ? ss_state_names[state] : ss_state_names[0];
}

const char *tt_style_state(const struct tt_style *style, unsigned int state)
{
	return style->ss_names ? tt_ss_state_name(state) : tt_state_name(state);
}

void tt_format_owner(const struct tt_record *r, char buf[TT_OWNER_MAX])
{
	uint64_t pid = r->has & TT_HAS_TGID ? r->tgid : r->pid;
	bool has_pid = r->has & (TT_HAS_TGID | TT_HAS_PID);

	if ((r->has & TT_HAS_COMM) && has_pid)
		snprintf(buf, TT_OWNER_MAX, "%s/%" PRIu64, r->comm, pid);
	else if (r->has & TT_HAS_COMM)
		snprintf(buf, TT_OWNER_MAX, "%s", r->comm);
	else if (has_pid)
		snprintf(buf, TT_OWNER_MAX, "%" PRIu64, pid);
	else
		snprintf(buf, TT_OWNER_MAX, "-");
}

const char *tt_kind_name(enum tt_kind kind)
{
	return kind == TT_KIND_DONE ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE;
}

const char *tt_family_name(enum tt_family family)
{
	return family == TT_FAMILY_IPV4 ? "ipv4" : "ipv6";
}

void tt_print_path(FILE *out, const struct tt_style *style,
		   const struct tt_record *r)
{
	unsigned int i;

	fputs(tt_style_state(style, r->first_state), out);
	if (tt_state_handed_over(r, 0))
		fputs(" w", out);
	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *step = &r->steps[i];

		/* Marked on the state before it. */
		if (tt_step_handover_stays(r, i))
			continue;
		if (step->gap)
			fprintf(out, " / %s", tt_style_state(style, step->old_state));
		fputs(" > ", out);
		if (step->unexpected) {
			char text[32];

			snprintf(text, sizeof(text), "%s!",
				 tt_style_state(style, step->new_state));
			tt_color(out, style, TT_RED, text);
		} else {
			fputs(tt_style_state(style, step->new_state), out);
		}
		if (tt_state_handed_over(r, i + 1))
			fputs(" w", out);
	}
	if (r->dropped)
		fprintf(out, " (+%" PRIu64 " dropped)", r->dropped);
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

/* Does @s need no escape in a JSON string? */
static bool json_plain(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

void tt_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	if (json_plain(s)) {
		fputs(s, out);
		fputc('"', out);
		return;
	}
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
