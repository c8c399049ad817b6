/* SPDX-License-Identifier: GPL-2.0 */
/* The views of parsed lines: table rows, JSON Lines and header counters. */
#ifndef TCPTRACE_OUTPUT_H
#define TCPTRACE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "parse.h"

/* Longest duration text, NUL included: "18446744073.71s". */
#define TT_DURATION_MAX	24

/* "0ns", "999ns", "71.312us", "1.16ms", "2s": at most 3 decimals. */
void tt_format_duration(uint64_t ns, char buf[TT_DURATION_MAX]);

/* ss(8)'s name of a state: "ESTAB", "SYN-SENT", ... */
const char *tt_ss_state_name(unsigned int state);

void tt_print_table_heading(FILE *out);
void tt_print_table_row(FILE *out, const struct tt_record *r);
void tt_print_record_json(FILE *out, const struct tt_record *r);

void tt_print_stats(FILE *out, const struct tt_header *h);
void tt_print_stats_json(FILE *out, const struct tt_header *h);

#endif /* TCPTRACE_OUTPUT_H */
