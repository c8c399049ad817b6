/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reader's JSON records read back: "tcptrace -r" takes the lines
 * "tcptrace --json" writes (a history, or a "lost" object, one a line) as
 * it takes the module's text and binary records, so that histories kept
 * as JSON (a log shipper's, the journal's) show in every view.
 */
#ifndef TCPTRACE_JSON_H
#define TCPTRACE_JSON_H

#include <stddef.h>

#include "parse.h"

/* Version of the JSON objects, their "schema" member. */
#define TT_JSON_SCHEMA	1

/*
 * The longest JSON line read back. Longer than TCPTRACE_LINE_MAX: a
 * history of TCPTRACE_MAX_STEPS steps, host and comm all escaped, is about
 * 3 KiB as JSON (tests/test_json.c writes one).
 */
#define TT_JSON_LINE_MAX	4096

/*
 * Parse one JSON line of @len bytes, its '\n' included, as tt_parse_line()
 * parses a text line (it calls this for a line starting with '{'):
 * TT_LINE_RECORD (and the record's host and boot_id in out->origin, if
 * out->has_origin), TT_LINE_LOST, TT_LINE_UNKNOWN_KIND (a kind from a
 * later version, to skip), or TT_LINE_ERROR with a message in @err.
 */
enum tt_line_type tt_json_parse_line(const char *line, size_t len,
				     struct tt_line *out, char err[TT_ERR_MAX]);

#endif /* TCPTRACE_JSON_H */
