// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "output.h"

/* Longest list item quoted in a message, and longest number. */
#define ITEM_MAX	40

__attribute__((format(printf, 2, 3)))
static bool set_error(char err[TT_FILTER_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TT_FILTER_ERR_MAX, fmt, ap);
	va_end(ap);
	return false;
}

/* Decimal digits and nothing else, up to UINT64_MAX. */
static bool parse_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t value = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned int digit = (unsigned char)s[i] - '0';

		if (digit > 9 || value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*out = value;
	return true;
}

/*
 * Call @item for each comma-separated item of @list; an empty item is an
 * error. Stops at the first item that fails.
 */
static bool for_each_item(const char *option, const char *list,
			  bool (*item)(void *ctx, const char *s, size_t len,
				       char err[TT_FILTER_ERR_MAX]),
			  void *ctx, char err[TT_FILTER_ERR_MAX])
{
	const char *s = list;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (len == 0)
			return set_error(err, "%s: empty value in '%.*s'", option,
				     ITEM_MAX, list);
		if (!item(ctx, s, len, err))
			return false;
		if (!comma)
			return true;
		s = comma + 1;
	}
}

/* ---- ports ---------------------------------------------------------- */

struct ports_ctx {
	struct tt_port_set *set;
	const char *option;
};

static bool parse_port(const char *s, size_t len, unsigned int *port)
{
	uint64_t value;

	if (!parse_number(s, len, &value) || value > 65535)
		return false;
	*port = (unsigned int)value;
	return true;
}

static bool add_ports(void *ctx, const char *s, size_t len,
		      char err[TT_FILTER_ERR_MAX])
{
	struct ports_ctx *c = ctx;
	const char *dash = memchr(s, '-', len);
	unsigned int first, last, port;

	if (dash ? !parse_port(s, dash - s, &first) ||
		   !parse_port(dash + 1, s + len - dash - 1, &last) || first > last
		 : !parse_port(s, len, &first))
		return set_error(err, "%s: bad port '%.*s' (0 to 65535, or FIRST-LAST)",
			     c->option, (int)(len < ITEM_MAX ? len : ITEM_MAX), s);
	if (!dash)
		last = first;
	for (port = first; port <= last; port++)
		c->set->bits[port / 64] |= (uint64_t)1 << (port % 64);
	c->set->active = true;
	return true;
}

bool tt_filter_ports(struct tt_port_set *set, const char *option,
		     const char *list, char err[TT_FILTER_ERR_MAX])
{
	struct ports_ctx ctx = { set, option };

	return for_each_item(option, list, add_ports, &ctx, err);
}

static bool port_in(const struct tt_port_set *set, uint16_t port)
{
	return !set->active || (set->bits[port / 64] >> (port % 64) & 1);
}

/* ---- addresses ------------------------------------------------------ */

static const unsigned char v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

bool tt_parse_cidr(const char *text, struct tt_cidr *cidr)
{
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	char addr[INET6_ADDRSTRLEN + 2];
	uint64_t prefix;

	memset(cidr, 0, sizeof(*cidr));
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, cidr->addr.bytes) == 1)
		cidr->addr.len = 4;
	else if (addr[0] != '[' && inet_pton(AF_INET6, addr, cidr->addr.bytes) == 1)
		cidr->addr.len = 16;
	else
		return false;
	cidr->prefix = cidr->addr.len * 8;
	if (slash) {
		if (!parse_number(slash + 1, strlen(slash + 1), &prefix) ||
		    prefix > cidr->prefix)
			return false;
		cidr->prefix = (unsigned int)prefix;
	}
	/* Records say IPv4-mapped addresses as IPv4 ones: so does the filter. */
	if (cidr->addr.len == 16 && cidr->prefix >= 96 &&
	    memcmp(cidr->addr.bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(cidr->addr.bytes, cidr->addr.bytes + 12, 4);
		memset(cidr->addr.bytes + 4, 0, 12);
		cidr->addr.len = 4;
		cidr->prefix -= 96;
	}
	return true;
}

bool tt_cidr_match(const struct tt_cidr *cidr, const struct tt_addr *addr)
{
	unsigned int whole = cidr->prefix / 8, rest = cidr->prefix % 8;
	unsigned char mask;

	if (addr->len != cidr->addr.len)
		return false;
	if (memcmp(addr->bytes, cidr->addr.bytes, whole) != 0)
		return false;
	if (!rest)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return ((addr->bytes[whole] ^ cidr->addr.bytes[whole]) & mask) == 0;
}

bool tt_filter_addr(struct tt_filter *f, const char *value,
		    char err[TT_FILTER_ERR_MAX])
{
	if (f->nr_addrs == TT_FILTER_LIST_MAX)
		return set_error(err, "--addr: more than %d given", TT_FILTER_LIST_MAX);
	if (!tt_parse_cidr(value, &f->addrs[f->nr_addrs]))
		return set_error(err, "--addr: bad address '%.*s' (ADDR or ADDR/PREFIX, IPv4 or IPv6)",
			     ITEM_MAX, value);
	f->nr_addrs++;
	return true;
}

/* ---- states and end reasons ------------------------------------------ */

int tt_state_lookup(const char *name)
{
	unsigned int i;

	for (i = 0; i < TCPTRACE_NR_STATES; i++)
		if (strcasecmp(name, tt_state_name(i)) == 0 ||
		    strcasecmp(name, tt_ss_state_name(i)) == 0)
			return (int)i;
	return -1;
}

/* Look up the item @s of @len bytes with @lookup; -1 if too long or unknown. */
static int lookup_item(const char *s, size_t len, int (*lookup)(const char *))
{
	char name[ITEM_MAX + 1];

	if (len > ITEM_MAX)
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	return lookup(name);
}

static bool add_state(void *ctx, const char *s, size_t len,
		      char err[TT_FILTER_ERR_MAX])
{
	int state = lookup_item(s, len, tt_state_lookup);

	if (state < 0)
		return set_error(err, "--state: unknown state '%.*s'",
			     (int)(len < ITEM_MAX ? len : ITEM_MAX), s);
	*(uint32_t *)ctx |= 1u << state;
	return true;
}

bool tt_filter_state(struct tt_filter *f, const char *list,
		     char err[TT_FILTER_ERR_MAX])
{
	uint32_t states = 0;

	if (f->nr_states == TT_FILTER_LIST_MAX)
		return set_error(err, "--state: more than %d given", TT_FILTER_LIST_MAX);
	if (!for_each_item("--state", list, add_state, &states, err))
		return false;
	f->states[f->nr_states++] = states;
	return true;
}

static bool add_end(void *ctx, const char *s, size_t len,
		    char err[TT_FILTER_ERR_MAX])
{
	int end = lookup_item(s, len, tt_end_lookup);

	if (end < 0)
		return set_error(err, "--end: unknown end reason '%.*s' (see tcptrace(1))",
			     (int)(len < ITEM_MAX ? len : ITEM_MAX), s);
	*(uint32_t *)ctx |= 1u << end;
	return true;
}

bool tt_filter_end(struct tt_filter *f, const char *list,
		   char err[TT_FILTER_ERR_MAX])
{
	_Static_assert(TCPTRACE_NR_ENDS <= 32, "tt_filter.ends has a bit per end");
	return for_each_item("--end", list, add_end, &f->ends, err);
}

/* ---- reset reasons -------------------------------------------------- */

/* The kernel's names are capitals; any case is taken, as for --state. */
static bool add_rst_reason(void *ctx, const char *s, size_t len,
			   char err[TT_FILTER_ERR_MAX])
{
	struct tt_filter *f = ctx;
	char name[TT_RST_REASON_TEXT_MAX];
	size_t i;

	for (i = 0; i < len && i < TT_RST_REASON_MAX; i++)
		name[i] = (char)toupper((unsigned char)s[i]);
	if (!tt_rst_reason_valid(name, len))
		return set_error(err, "--rst-reason: bad reason '%.*s' (a name of the kernel's, such as TCP_ABORT_ON_CLOSE)",
			     (int)(len < ITEM_MAX ? len : ITEM_MAX), s);
	if (f->nr_rst_reasons == TT_FILTER_LIST_MAX)
		return set_error(err, "--rst-reason: more than %d values",
			     TT_FILTER_LIST_MAX);
	name[len] = '\0';
	strcpy(f->rst_reasons[f->nr_rst_reasons++], name);
	return true;
}

bool tt_filter_rst_reason(struct tt_filter *f, const char *list,
			  char err[TT_FILTER_ERR_MAX])
{
	return for_each_item("--rst-reason", list, add_rst_reason, f, err);
}

static bool rst_reason_in(const struct tt_filter *f, const struct tt_record *r)
{
	unsigned int i;

	if (!(r->has & TT_HAS_RST_REASON))
		return false;
	for (i = 0; i < f->nr_rst_reasons; i++)
		if (strcmp(f->rst_reasons[i], r->rst_reason) == 0)
			return true;
	return false;
}

/* ---- numbers: pid, netns -------------------------------------------- */

struct numbers_ctx {
	const char *option;
	const char *what;
	uint64_t *values;
	unsigned int *count;
};

static bool add_number(void *ctx, const char *s, size_t len,
		       char err[TT_FILTER_ERR_MAX])
{
	struct numbers_ctx *c = ctx;
	uint64_t value;

	if (!parse_number(s, len, &value))
		return set_error(err, "%s: bad %s '%.*s' (a decimal number)", c->option,
			     c->what, (int)(len < ITEM_MAX ? len : ITEM_MAX), s);
	if (*c->count == TT_FILTER_LIST_MAX)
		return set_error(err, "%s: more than %d values", c->option,
			     TT_FILTER_LIST_MAX);
	c->values[(*c->count)++] = value;
	return true;
}

bool tt_filter_pid(struct tt_filter *f, const char *list,
		   char err[TT_FILTER_ERR_MAX])
{
	struct numbers_ctx ctx = { "--pid", "pid", f->pids, &f->nr_pids };

	return for_each_item("--pid", list, add_number, &ctx, err);
}

bool tt_filter_netns(struct tt_filter *f, const char *list,
		     char err[TT_FILTER_ERR_MAX])
{
	struct numbers_ctx ctx = { "--netns", "namespace inode", f->netns, &f->nr_netns };

	return for_each_item("--netns", list, add_number, &ctx, err);
}

static bool number_in(const uint64_t *values, unsigned int count, uint64_t value)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		if (values[i] == value)
			return true;
	return false;
}

/* ---- comm ------------------------------------------------------------ */

bool tt_filter_comm(struct tt_filter *f, const char *name,
		    char err[TT_FILTER_ERR_MAX])
{
	char decoded[TT_COMM_MAX];
	int len;

	if (f->nr_comms == TT_FILTER_LIST_MAX)
		return set_error(err, "--comm: more than %d given", TT_FILTER_LIST_MAX);
	len = tt_comm_decode(name, strlen(name), decoded, sizeof(decoded));
	if (len <= 0)
		return set_error(err, "--comm: %s name", len ? "too long a" : "empty");
	tt_comm_encode(decoded, (size_t)len, f->comms[f->nr_comms++]);
	return true;
}

static bool comm_in(const struct tt_filter *f, const struct tt_record *r)
{
	unsigned int i;

	if (!(r->has & TT_HAS_COMM))
		return false;
	for (i = 0; i < f->nr_comms; i++)
		if (strcmp(f->comms[i], r->comm) == 0)
			return true;
	return false;
}

/* ---- durations ------------------------------------------------------ */

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },		/* µs */
	{ "ms", 1000000 },
	{ "s", 1000000000 },
	{ "m", 60 * (uint64_t)1000000000 },
	{ "h", 3600 * (uint64_t)1000000000 },
};

static bool lookup_unit(const char *name, uint64_t *ns)
{
	size_t i;

	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(name, duration_units[i].name) == 0) {
			*ns = duration_units[i].ns;
			return true;
		}
	}
	return false;
}

bool tt_parse_duration(const char *text, uint64_t *ns)
{
	size_t whole_len = strspn(text, "0123456789"), frac_len = 0;
	const char *unit_name = text + whole_len;
	uint64_t whole, fraction = 0, unit, scale = 1;
	unsigned __int128 total;

	if (!parse_number(text, whole_len, &whole))
		return false;
	if (*unit_name == '.') {
		const char *frac = unit_name + 1;

		frac_len = strspn(frac, "0123456789");
		if (frac_len == 0 || frac_len > 18 ||
		    !parse_number(frac, frac_len, &fraction))
			return false;
		unit_name = frac + frac_len;
	}
	if (*unit_name == '\0') {
		/* Only zero needs no unit. */
		*ns = 0;
		return whole == 0 && fraction == 0;
	}
	if (!lookup_unit(unit_name, &unit))
		return false;
	while (frac_len--)
		scale *= 10;
	/* Below the nanosecond is an error, not something to round. */
	if ((unsigned __int128)fraction * unit % scale)
		return false;
	total = (unsigned __int128)whole * unit +
		(unsigned __int128)fraction * unit / scale;
	if (total > UINT64_MAX)
		return false;
	*ns = (uint64_t)total;
	return true;
}

bool tt_filter_min_lifetime(struct tt_filter *f, const char *value,
			    char err[TT_FILTER_ERR_MAX])
{
	if (!tt_parse_duration(value, &f->min_lifetime))
		return set_error(err, "--min-lifetime: bad duration '%.*s' (such as 500us, 10ms, 2s)",
			     ITEM_MAX, value);
	f->has_min_lifetime = true;
	return true;
}

/* ---- the options ------------------------------------------------------ */

static const struct option filter_options[] = {
	TT_FILTER_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

bool tt_filter_is_option(int c)
{
	const struct option *o;

	if (c > 0 && c < 256 && c != ':' && strchr(TT_FILTER_SHORT_OPTIONS, c))
		return true;
	for (o = filter_options; o->name; o++)
		if (o->val == c)
			return true;
	return false;
}

bool tt_filter_option(struct tt_filter *f, int c, const char *arg,
		      char err[TT_FILTER_ERR_MAX])
{
	switch (c) {
	case '4':
		f->ipv4 = true;
		return true;
	case '6':
		f->ipv6 = true;
		return true;
	case 'L':
		return tt_filter_ports(&f->local_ports, "--local-port", arg, err);
	case 'D':
		return tt_filter_ports(&f->remote_ports, "--remote-port", arg, err);
	case TT_OPT_ADDR:
		return tt_filter_addr(f, arg, err);
	case TT_OPT_STATE:
		return tt_filter_state(f, arg, err);
	case TT_OPT_END:
		return tt_filter_end(f, arg, err);
	case TT_OPT_RST_REASON:
		return tt_filter_rst_reason(f, arg, err);
	case TT_OPT_PID:
		return tt_filter_pid(f, arg, err);
	case TT_OPT_COMM:
		return tt_filter_comm(f, arg, err);
	case TT_OPT_NETNS:
		return tt_filter_netns(f, arg, err);
	case TT_OPT_MIN_LIFETIME:
		return tt_filter_min_lifetime(f, arg, err);
	case TT_OPT_ANOMALIES:
		f->anomalies = true;
		return true;
	default:
		return set_error(err, "not a selection option");
	}
}

/* The option getopt_long() just refused, as written: "--name" or "-c". */
static void name_refused(char *argv[], char buf[], size_t size)
{
	const char *arg = argv[optind - 1];
	const char *eq = strchr(arg, '=');

	if (strncmp(arg, "--", 2) == 0)
		snprintf(buf, size, "%.*s", (int)(eq ? eq - arg : (int)strlen(arg)), arg);
	else
		snprintf(buf, size, "-%c", optopt ? optopt : '?');
}

/* "--name" of a selection option without value, given one anyway? */
static bool takes_no_value(const char *name)
{
	const struct option *o;

	for (o = filter_options; o->name; o++)
		if (o->has_arg == no_argument && strncmp(name, "--", 2) == 0 &&
		    strcmp(o->name, name + 2) == 0)
			return true;
	return false;
}

bool tt_filter_parse_args(struct tt_filter *f, int argc, char *argv[],
			  char err[TT_FILTER_ERR_MAX])
{
	char bad[ITEM_MAX + 1];
	int c;

	/* optind 0: glibc starts afresh, forgetting any earlier argv. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" TT_FILTER_SHORT_OPTIONS,
				filter_options, NULL)) != -1) {
		if (c == ':' || c == '?')
			name_refused(argv, bad, sizeof(bad));
		if (c == ':')
			return set_error(err, "option '%s' needs a value", bad);
		if (c == '?' && takes_no_value(bad))
			return set_error(err, "option '%s' takes no value", bad);
		if (c == '?')
			return set_error(err, "'%s' is not a selection option", bad);
		if (!tt_filter_option(f, c, optarg, err))
			return false;
	}
	if (optind < argc)
		return set_error(err, "unexpected argument '%.*s' (not a selection option)",
				 ITEM_MAX, argv[optind]);
	return true;
}

/* ---- matching -------------------------------------------------------- */

static bool addr_matches(const struct tt_cidr *cidr, const struct tt_record *r)
{
	struct tt_addr local, remote;

	tt_endpoint_addr(&r->local, r->family, &local);
	tt_endpoint_addr(&r->remote, r->family, &remote);
	return tt_cidr_match(cidr, &local) || tt_cidr_match(cidr, &remote);
}

static bool owner_matches(const struct tt_filter *f, const struct tt_record *r)
{
	if (f->nr_pids &&
	    !((r->has & TT_HAS_PID) && number_in(f->pids, f->nr_pids, r->pid)) &&
	    !((r->has & TT_HAS_TGID) && number_in(f->pids, f->nr_pids, r->tgid)))
		return false;
	return !f->nr_comms || comm_in(f, r);
}

static bool states_match(const struct tt_filter *f, const struct tt_record *r)
{
	uint32_t visited;
	unsigned int i;

	if (!f->nr_states)
		return true;
	visited = tt_record_visited(r);
	for (i = 0; i < f->nr_states; i++)
		if (!(visited & f->states[i]))
			return false;
	return true;
}

bool tt_filter_match(const struct tt_filter *f, const struct tt_record *r)
{
	unsigned int i;

	if ((f->ipv4 || f->ipv6) &&
	    !(r->family == TT_FAMILY_IPV4 ? f->ipv4 : f->ipv6))
		return false;
	if (!port_in(&f->local_ports, r->local.port) ||
	    !port_in(&f->remote_ports, r->remote.port))
		return false;
	if (f->ends && !(r->kind == TT_KIND_DONE && (r->has & TT_HAS_END) &&
			 (f->ends >> r->end & 1)))
		return false;
	if (f->nr_rst_reasons && !rst_reason_in(f, r))
		return false;
	if (f->nr_netns && !((r->has & TT_HAS_NETNS) &&
			     number_in(f->netns, f->nr_netns, r->netns)))
		return false;
	if (!owner_matches(f, r) || !states_match(f, r))
		return false;
	if (f->has_min_lifetime && tt_record_lifetime(r) < f->min_lifetime)
		return false;
	if (f->anomalies && !tt_record_anomalous(r))
		return false;
	for (i = 0; i < f->nr_addrs; i++)
		if (!addr_matches(&f->addrs[i], r))
			return false;
	return true;
}
