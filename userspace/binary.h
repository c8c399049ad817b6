/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The binary records of /dev/tcptrace ("binary=1", laid out in
 * include/uapi/linux/tcptrace.h, specified in Documentation/tcptrace.rst):
 * decoded into the structures of parse.h exactly as the text line of the
 * same history parses, encoded from them (the tests and the fake device
 * make binary streams of text captures), and written back as the
 * canonical text line (--expect shows the records it selected).
 *
 * A stream declares its header_size and record_size in its header: a
 * newer module's longer structs are read by the prefix this reader knows,
 * shorter ones are refused.
 */
#ifndef TCPTRACE_BINARY_H
#define TCPTRACE_BINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"

/* The largest header_size and record_size this reader takes from a stream. */
#define TT_BINARY_SIZE_MAX	16384

/* The header's first bytes, which frame the stream: magic to record_size. */
#define TT_BINARY_PREFIX	12

/*
 * Room for any line tt_binary_render() writes, '\n' and NUL included: a
 * binary record of extreme values makes one longer than TCPTRACE_LINE_MAX.
 */
#define TT_RENDER_MAX		2048

/* Decoding: tt_endpoint.addr left "" (only the views that print it need it). */
#define TT_DECODE_NO_ADDR_TEXT	0x1

enum tt_binary_magic {
	TT_MAGIC_NONE,
	TT_MAGIC_NATIVE,
	TT_MAGIC_SWAPPED,	/* written by a machine of the other byte order */
};

/* What the 4 bytes at @p are: the magic, swapped or not, or neither. */
enum tt_binary_magic tt_binary_magic(const void *p);

/*
 * The sizes a header declares, from its first TT_BINARY_PREFIX bytes at
 * @p. False, with a one-line message in @err, if the stream cannot be
 * read on: another byte order, a size smaller than this reader's struct
 * or larger than TT_BINARY_SIZE_MAX.
 */
bool tt_binary_sizes(const void *p, size_t *header_size, size_t *record_size,
		     char err[TT_ERR_MAX]);

/*
 * Decode a header of @len bytes (its header_size, as tt_binary_sizes()
 * said) into @h, with every key of the text header: TT_LINE_HEADER, or
 * TT_LINE_UNSUPPORTED for a format this reader does not know.
 */
enum tt_line_type tt_binary_parse_header(const void *p, size_t len,
					 struct tt_header *h, char err[TT_ERR_MAX]);

/*
 * Decode a record (its record_size bytes at @p, at least
 * sizeof(struct tcptrace_binary_record)) into @r as tt_parse_line() parses
 * its text line: TT_LINE_RECORD, TT_LINE_UNKNOWN_KIND (a kind from a
 * later version, to skip), or TT_LINE_ERROR with a message in @err.
 * @flags: TT_DECODE_*.
 */
enum tt_line_type tt_binary_parse_record(const void *p, struct tt_record *r,
					 unsigned int flags, char err[TT_ERR_MAX]);

/* @h as a binary header (the keys it lacks as 0, kretprobes 0). */
void tt_binary_encode_header(const struct tt_header *h,
			     struct tcptrace_binary_header *b);

/*
 * @r as a binary record. False, with a message in @err, when the binary
 * layout cannot hold it: fields a binary record always has missing (a
 * format 1 line without netns=), values wider than their field, optional
 * fields written with their default (syn_retrans=0).
 */
bool tt_binary_encode_record(const struct tt_record *r,
			     struct tcptrace_binary_record *b, char err[TT_ERR_MAX]);

/*
 * @r as its canonical text line, the module's order of fields, '\n'
 * included: the line itself for a record the module wrote. Its length.
 * @r's addresses must be decoded as text (not TT_DECODE_NO_ADDR_TEXT).
 */
size_t tt_binary_render(const struct tt_record *r, char buf[TT_RENDER_MAX]);

#endif /* TCPTRACE_BINARY_H */
