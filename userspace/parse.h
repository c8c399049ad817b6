/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser for the text format of /dev/tcptrace (Documentation/tcptrace.rst).
 *
 * One call parses one line. The parser never allocates: everything a line
 * says fits in the fixed-size structures below, which is what lets the
 * reader stream input of any size in constant memory.
 */
#ifndef TCPTRACE_PARSE_H
#define TCPTRACE_PARSE_H

#include <netinet/in.h>		/* INET6_ADDRSTRLEN */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/tcptrace.h>

/* Room for any error message the parser writes. */
#define TT_ERR_MAX	160

enum tt_kind {
	TT_KIND_DONE,
	TT_KIND_LIVE,
};

enum tt_family {
	TT_FAMILY_IPV4,
	TT_FAMILY_IPV6,
};

struct tt_endpoint {
	/* As written in the line, without brackets: "127.0.0.1", "::1". */
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
};

struct tt_step {
	uint8_t old_state;	/* TCP state numbers, below TCPTRACE_NR_STATES */
	uint8_t new_state;
	uint64_t t_ns;		/* nanoseconds since the record's t0 */
	bool softirq;		/* ran in softirq context */
	bool gap;		/* old state written with '/': transitions missed */
};

struct tt_record {
	enum tt_kind kind;
	uint64_t id;		/* socket cookie */
	enum tt_family family;
	struct tt_endpoint local;
	struct tt_endpoint remote;
	bool has_seq;		/* always true for done records */
	uint64_t seq;
	uint64_t t0;
	uint64_t dropped;	/* 0 when the line has no dropped= */
	/*
	 * The first state of path=. Normally also steps[0].old_state, but a
	 * path may have no step, or a first step with a '/' old state.
	 */
	uint8_t first_state;
	unsigned int nr_steps;
	struct tt_step steps[TCPTRACE_MAX_STEPS];
};

struct tt_header {
	uint64_t format;
	uint64_t now;
	uint64_t live;
	uint64_t live_max;
	uint64_t done;
	uint64_t ring_size;
	uint64_t events;
	uint64_t created;
	uint64_t completed;
	uint64_t drop_table_full;
	uint64_t drop_steps_full;
	uint64_t ring_overwritten;
	uint64_t mem_bytes;
};

/* The header's keys in the order the format lists them, format first. */
struct tt_header_key {
	const char *name;
	size_t offset;		/* of its value in struct tt_header */
};
extern const struct tt_header_key tt_header_keys[];
extern const size_t tt_nr_header_keys;

static inline uint64_t tt_header_value(const struct tt_header *h,
				       const struct tt_header_key *key)
{
	/* Through void *: the offset is that of a uint64_t, so aligned. */
	const void *value = (const char *)h + key->offset;

	return *(const uint64_t *)value;
}

enum tt_line_type {
	TT_LINE_BLANK,
	TT_LINE_COMMENT,	/* '#' but not the header */
	TT_LINE_UNKNOWN_KIND,	/* a record kind this reader does not know */
	TT_LINE_HEADER,
	TT_LINE_RECORD,
	TT_LINE_ERROR,		/* malformed: the message says why */
	TT_LINE_UNSUPPORTED,	/* header of another format: stop reading */
};

struct tt_line {
	enum tt_line_type type;
	union {
		struct tt_header header;	/* TT_LINE_HEADER */
		struct tt_record record;	/* TT_LINE_RECORD */
	};
};

/*
 * Parse one line of @len bytes, its '\n' included (a line without one is
 * reported as truncated). For TT_LINE_ERROR and TT_LINE_UNSUPPORTED, @err
 * receives a one-line message without trailing newline.
 */
enum tt_line_type tt_parse_line(const char *line, size_t len,
				struct tt_line *out, char err[TT_ERR_MAX]);

/* Does this line start like the header (whether or not it is valid)? */
bool tt_is_header_line(const char *line, size_t len);

/* "ESTABLISHED" for 1, ...; "UNKNOWN" for numbers past the table. */
const char *tt_state_name(unsigned int state);

#endif /* TCPTRACE_PARSE_H */
