/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --expect: assertions about the paths sockets went through, checked
 * against a capture or a snapshot of the device and reported as KTAP.
 *
 *   EXPECTATION := [FILTERS ':'] [QUANTIFIER] ['exact'] PATHS
 *                  ['end=' REASON[,REASON...]]
 *
 * Each --expect's text is kept as given, parsed by tt_expect_compile()
 * once the command line is read (FILTERS go through getopt_long(), like
 * the command line's selection options), then checked by a view fed
 * every record that the command line's own selection lets through.
 */
#ifndef TCPTRACE_EXPECT_H
#define TCPTRACE_EXPECT_H

#include <stdbool.h>
#include <stdio.h>

#include "input.h"
#include "views.h"

/* Room for a message about a bad expectation. */
#define TT_EXPECT_ERR_MAX	512

/* The selected sockets' records each result lists; past that, a count. */
#define TT_EXPECT_SHOWN		20

struct tt_expect_set;

/*
 * Add the text of one --expect to *@set (created on the first call). The
 * text is not copied: it must outlive the set. False (errno ENOMEM) if
 * out of memory.
 */
bool tt_expect_add(struct tt_expect_set **set, const char *text);

/*
 * Parse every text added. False with a one-line message in @err, which
 * names the offending word and the expectation it is in.
 */
bool tt_expect_compile(struct tt_expect_set *set, char err[TT_EXPECT_ERR_MAX]);

/*
 * The view that checks the compiled @set against the records it is fed
 * and prints the KTAP report to @out when finished; its finish() is false
 * if an expectation does not hold. The records it lists are the raw lines
 * @in has read (in->line when the record is fed), binary ones as the
 * lines the module writes for them.
 */
struct tt_view *tt_expect_view(FILE *out, const struct tt_style *style,
			       struct tt_expect_set *set, const struct tt_input *in);

void tt_expect_free(struct tt_expect_set *set);

#endif /* TCPTRACE_EXPECT_H */
