/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which records to show: the selection options, parsed from their values
 * and checked against each record. Conditions of different options must
 * all hold. Within one option a comma list matches any of its values, and
 * repeating the option adds to the list, except --addr and --state: each
 * of those given is a condition of its own.
 *
 * Fixed-size: a filter never allocates, so neither does matching.
 */
#ifndef TCPTRACE_FILTER_H
#define TCPTRACE_FILTER_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "parse.h"

/* Room for a message about a bad value. */
#define TT_FILTER_ERR_MAX	160

/* How many values each list takes, and how many --addr and --state. */
#define TT_FILTER_LIST_MAX	64

/* "ADDR/PREFIX": the addresses whose first @prefix bits are those of @addr. */
struct tt_cidr {
	struct tt_addr addr;
	unsigned int prefix;
};

struct tt_port_set {
	bool active;
	uint64_t bits[65536 / 64];
};

struct tt_filter {
	bool ipv4, ipv6;		/* -4, -6; neither: both */
	struct tt_port_set local_ports;	/* -L */
	struct tt_port_set remote_ports;	/* -D */
	unsigned int nr_addrs;		/* --addr: each one must match */
	struct tt_cidr addrs[TT_FILTER_LIST_MAX];
	unsigned int nr_states;		/* --state: each one must be visited */
	uint32_t states[TT_FILTER_LIST_MAX];	/* a set of states per option */
	uint32_t ends;			/* --end: bit per end reason, 0: any */
	unsigned int nr_rst_reasons;	/* --rst-reason */
	char rst_reasons[TT_FILTER_LIST_MAX][TT_RST_REASON_TEXT_MAX];
	unsigned int nr_pids;		/* --pid */
	uint64_t pids[TT_FILTER_LIST_MAX];
	unsigned int nr_comms;		/* --comm */
	char comms[TT_FILTER_LIST_MAX][TT_COMM_TEXT_MAX];
	unsigned int nr_netns;		/* --netns */
	uint64_t netns[TT_FILTER_LIST_MAX];
	bool has_min_lifetime;		/* --min-lifetime */
	uint64_t min_lifetime;
	bool anomalies;			/* --anomalies */
};

/*
 * The selection options, for getopt_long(): the short ones, the long ones
 * (a list of struct option initializers, to put in a longer table), and
 * the codes of the long ones without a short one. The command line and
 * --expect's FILTERS both go through this table and tt_filter_option().
 */
#define TT_FILTER_SHORT_OPTIONS	"46L:D:"

enum {
	TT_OPT_ADDR = 0x400,	/* apart from the codes of the rest of the table */
	TT_OPT_STATE,
	TT_OPT_END,
	TT_OPT_RST_REASON,
	TT_OPT_PID,
	TT_OPT_COMM,
	TT_OPT_NETNS,
	TT_OPT_MIN_LIFETIME,
	TT_OPT_ANOMALIES,
};

#define TT_FILTER_LONG_OPTIONS						\
	{ "ipv4",         no_argument,       NULL, '4' },			\
	{ "ipv6",         no_argument,       NULL, '6' },			\
	{ "local-port",   required_argument, NULL, 'L' },			\
	{ "remote-port",  required_argument, NULL, 'D' },			\
	{ "addr",         required_argument, NULL, TT_OPT_ADDR },		\
	{ "state",        required_argument, NULL, TT_OPT_STATE },		\
	{ "end",          required_argument, NULL, TT_OPT_END },		\
	{ "rst-reason",   required_argument, NULL, TT_OPT_RST_REASON },	\
	{ "pid",          required_argument, NULL, TT_OPT_PID },		\
	{ "comm",         required_argument, NULL, TT_OPT_COMM },		\
	{ "netns",        required_argument, NULL, TT_OPT_NETNS },		\
	{ "min-lifetime", required_argument, NULL, TT_OPT_MIN_LIFETIME },	\
	{ "anomalies",    no_argument,       NULL, TT_OPT_ANOMALIES }

/* Is @c, a getopt_long() code, one of the selection options? */
bool tt_filter_is_option(int c);

/*
 * Apply selection option @c with its value @arg (NULL for the flags) to
 * @f. False with a one-line message in @err for a bad value.
 */
bool tt_filter_option(struct tt_filter *f, int c, const char *arg,
		      char err[TT_FILTER_ERR_MAX]);

/*
 * Parse @argv[1..@argc) as selection options only, as on the command line,
 * into @f (added to what it has). False with a one-line message in @err
 * naming the offending word: an unknown option, a missing or bad value,
 * an argument that is not an option. Uses getopt_long(): call it only
 * once the command line's own getopt_long() loop is over.
 */
bool tt_filter_parse_args(struct tt_filter *f, int argc, char *argv[],
			  char err[TT_FILTER_ERR_MAX]);

/*
 * The option parsers take the option's value; on a bad one they return
 * false with a one-line message in @err.
 */
bool tt_filter_ports(struct tt_port_set *set, const char *option,
		     const char *list, char err[TT_FILTER_ERR_MAX]);
bool tt_filter_addr(struct tt_filter *f, const char *value,
		    char err[TT_FILTER_ERR_MAX]);
bool tt_filter_state(struct tt_filter *f, const char *list,
		     char err[TT_FILTER_ERR_MAX]);
bool tt_filter_end(struct tt_filter *f, const char *list,
		   char err[TT_FILTER_ERR_MAX]);
bool tt_filter_rst_reason(struct tt_filter *f, const char *list,
			  char err[TT_FILTER_ERR_MAX]);
bool tt_filter_pid(struct tt_filter *f, const char *list,
		   char err[TT_FILTER_ERR_MAX]);
bool tt_filter_comm(struct tt_filter *f, const char *name,
		    char err[TT_FILTER_ERR_MAX]);
bool tt_filter_netns(struct tt_filter *f, const char *list,
		     char err[TT_FILTER_ERR_MAX]);
bool tt_filter_min_lifetime(struct tt_filter *f, const char *value,
			    char err[TT_FILTER_ERR_MAX]);

/* Does @r pass every condition of @f? */
bool tt_filter_match(const struct tt_filter *f, const struct tt_record *r);

/*
 * "10ms", "2s", "1.5us", "0": a decimal number and a unit (ns, us, ms, s,
 * m, h; no unit only for 0), to nanoseconds. False if it is not one, has
 * digits below the nanosecond or does not fit in 64 bits.
 */
bool tt_parse_duration(const char *text, uint64_t *ns);

/* "10.0.0.0/8", "::1", "[2001:db8::]/32". False if it is not one. */
bool tt_parse_cidr(const char *text, struct tt_cidr *cidr);

bool tt_cidr_match(const struct tt_cidr *cidr, const struct tt_addr *addr);

/* A state by its format or ss(8) name, in any case; -1 if none. */
int tt_state_lookup(const char *name);

#endif /* TCPTRACE_FILTER_H */
