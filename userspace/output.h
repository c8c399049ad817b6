/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the views share: how durations, endpoints, states, owners and JSON
 * strings are written, colours, and the header's counters (--stats).
 */
#ifndef TCPTRACE_OUTPUT_H
#define TCPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "parse.h"

/* Longest duration text, NUL included: "18446744073.71s". */
#define TT_DURATION_MAX	24

/* "[" IPv6 "]:" port or service name, NUL included. */
#define TT_ENDPOINT_MAX	(INET6_ADDRSTRLEN + 40)

/* "comm/pid", NUL included. */
#define TT_OWNER_MAX	(TT_COMM_TEXT_MAX + 24)

/* Port numbers to service names, read once from the services database. */
struct tt_services;

struct tt_services *tt_services_load(void);
void tt_services_free(struct tt_services *services);

/* The name of TCP port @port, or NULL. */
const char *tt_service_name(const struct tt_services *services, uint16_t port);

/* How the text views write what they show: the options that shape it. */
struct tt_style {
	bool numeric;		/* -n: port numbers, not service names */
	bool ss_names;		/* -S: ss(8)'s state names */
	bool color;		/* ANSI colours */
	bool no_heading;	/* -H: no heading rows */
	const struct tt_services *services;	/* NULL: numbers */
};

/* "0ns", "999ns", "71.312us", "1.16ms", "2s": at most 3 decimals. */
void tt_format_duration(uint64_t ns, char buf[TT_DURATION_MAX]);

/* "127.0.0.1:8080", "[::1]:http-alt" (a service name unless -n). */
void tt_format_endpoint(const struct tt_style *style,
			const struct tt_endpoint *ep, enum tt_family family,
			char buf[TT_ENDPOINT_MAX]);

/* ss(8)'s name of a state: "ESTAB", "SYN-SENT", ... */
const char *tt_ss_state_name(unsigned int state);

/* The name of @state as the style says: the format's or ss(8)'s. */
const char *tt_style_state(const struct tt_style *style, unsigned int state);

/* "curl/1234", "curl" without pid=, "-" without an owner. */
void tt_format_owner(const struct tt_record *r, char buf[TT_OWNER_MAX]);

/*
 * "CLOSE > SYN_SENT / ESTABLISHED > FIN_WAIT1! (+2 dropped)": the path
 * without times, " / " before a state whose entry was missed, '!' after
 * one reached by an unexpected step, " w" after one in which a timewait
 * socket took over (tt_state_handed_over()): "FIN_WAIT1 > FIN_WAIT2 w >
 * TIME_WAIT", where the record has FIN_WAIT2>FIN_WAIT2 flagged 'w'.
 */
void tt_print_path(FILE *out, const struct tt_style *style,
		   const struct tt_record *r);

const char *tt_kind_name(enum tt_kind kind);
const char *tt_family_name(enum tt_family family);

/* ANSI SGR sequences for tt_color(). */
#define TT_BOLD		"1"
#define TT_DIM		"2"
#define TT_RED		"31"
#define TT_GREEN	"32"
#define TT_YELLOW	"33"

/* Write @text, coloured with SGR @sgr if the style has colours. */
void tt_color(FILE *out, const struct tt_style *style, const char *sgr,
	      const char *text);

/* As tt_color(), then spaces up to @width columns (text is ASCII). */
void tt_color_pad(FILE *out, const struct tt_style *style, const char *sgr,
		  const char *text, int width);

/* The colour of an end reason: green for a close, red for a failure. */
const char *tt_end_color(unsigned int end);

/* A JSON string: quotes, backslashes and control characters escaped. */
void tt_json_string(FILE *out, const char *s);

/*
 * --stats: the header's counters, those it has, in the format's order,
 * then the origin's host and boot_id unless @origin is NULL.
 */
void tt_print_stats(FILE *out, const struct tt_header *h,
		    const struct tt_origin *origin);
void tt_print_stats_json(FILE *out, const struct tt_header *h,
			 const struct tt_origin *origin);

#endif /* TCPTRACE_OUTPUT_H */
