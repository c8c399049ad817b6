/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Line reader with fixed buffers: no line of the format is longer than
 * TCPTRACE_LINE_MAX, and no JSON line longer than TT_JSON_LINE_MAX, so one
 * line buffer of the larger size (plus one byte to notice a longer line)
 * and one read buffer are all the memory reading ever needs, whatever the
 * input.
 *
 * It reads a file, standard input, a snapshot of the device, or the
 * device in follow mode, where it waits for records with poll() and
 * reports the histories the ring overwrote before they were read.
 *
 * Text or binary, whichever comes: at the start of each item the next
 * byte tells. The binary magic starts a binary section (a header, then
 * records of its record_size, each read whole); '#' a text line (an
 * origin or comment line, or the header of a text capture, which starts
 * a text section); in a binary section anything else starts a record.
 * Outside one, a line starting with '{' is JSON (json.h).
 * A binary capture's origin line comes before its header (it is the
 * origin line and the device's stream as read): the reader hands them
 * over in the text's order, the header first.
 */
#ifndef TCPTRACE_INPUT_H
#define TCPTRACE_INPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/tcptrace.h>

#include "json.h"
#include "parse.h"

/* Bytes asked of each read(): many records of the device at once. */
#define TT_INPUT_BUF	65536

enum tt_input_result {
	TT_INPUT_ERROR = -1,	/* errno says why; EINTR: a signal came */
	TT_INPUT_EOF = 0,
	TT_INPUT_LINE = 1,	/* the next item: a line in line[], or binary (item) */
	TT_INPUT_LOST = 2,	/* follow mode: histories were overwritten unread */
	TT_INPUT_TIMEOUT = 3,	/* follow mode: no line within timeout_ms */
};

/* What tt_input_next() read. */
enum tt_input_item {
	TT_ITEM_LINE,		/* a text line, in line[] */
	TT_ITEM_HEADER,		/* a binary header: raw, raw_len bytes */
	TT_ITEM_RECORD,		/* a binary record: raw, raw_len bytes */
	TT_ITEM_BAD,		/* binary input that cannot be read on: err says why */
};

struct tt_input {
	int fd;
	const char *name;	/* for messages: the path, or "<stdin>" */
	bool follow;		/* wait for more at the end; EPIPE means lost */
	/* Following: set by a signal handler to stop waiting. */
	const volatile sig_atomic_t *stop;
	/*
	 * Following: the longest wait for a line, in milliseconds, or -1
	 * (tt_input_open()'s) to wait for ever. Only a wait between lines
	 * times out: a line the device began is always read to its end.
	 */
	int timeout_ms;
	unsigned long lineno;	/* of the line in line[] */
	enum tt_input_item item;
	unsigned long items;	/* read so far, lines and binary ones */
	unsigned long records;	/* binary records read so far */
	uint64_t offset;	/* of the item's first byte in the input */
	bool had_binary;	/* a binary header came: say where by offset */
	bool binary;		/* in a binary section (after a binary header) */
	bool origin_held;	/* line[] is an origin line that follows the header read */
	uint64_t held_offset;	/* of that origin line */
	bool broken;		/* TT_ITEM_BAD came: nothing more is read */
	enum tt_input_item bad_item;	/* what TT_ITEM_BAD was to be */
	unsigned int decode;	/* TT_DECODE_* for tt_input_parse() */
	size_t record_size;	/* of the binary section */
	/* A binary item's bytes, until the next tt_input_next(). */
	const void *raw;
	size_t raw_len;
	char err[TT_ERR_MAX];	/* TT_ITEM_BAD */
	/*
	 * Bytes of the current line in line[], its '\n' included. A line
	 * longer than TT_JSON_LINE_MAX is cut to TT_JSON_LINE_MAX + 1 bytes
	 * (the rest is skipped), which is enough to call it too long.
	 */
	size_t len;
	char line[TT_JSON_LINE_MAX + 1];
	size_t buf_pos, buf_len;	/* unread bytes: buf[buf_pos..buf_len) */
	uint64_t buf_offset;		/* of buf[0] in the input */
	char buf[TT_INPUT_BUF];
};

/*
 * Open @path ("-": standard input), for writing commands too if
 * @writable. -1 with errno set on failure.
 */
int tt_input_open(struct tt_input *in, const char *path, bool writable);

/*
 * Write command @cmd to the device open as @fd, in one write() as the
 * device wants. -1 with errno set on failure.
 */
int tt_device_command(int fd, const char *cmd);

/* Write command @cmd to the device. -1 with errno set on failure. */
int tt_input_command(struct tt_input *in, const char *cmd);

/*
 * Follow mode: from now on, wait for records at the end of what is there
 * instead of ending, and report EPIPE as TT_INPUT_LOST. While waiting,
 * SIGINT and SIGTERM end the wait (TT_INPUT_ERROR, errno EINTR) once their
 * handler has set *@stop; checking it and waiting are one atomic step, so
 * a signal is never missed.
 */
int tt_input_follow(struct tt_input *in, const volatile sig_atomic_t *stop);

/* Read the next item, a line or a binary one: an enum tt_input_result. */
int tt_input_next(struct tt_input *in);

/*
 * The item read, parsed: a line by tt_parse_line(), a binary one by
 * binary.c, with the same results. TT_ITEM_BAD is TT_LINE_UNSUPPORTED:
 * nothing after it can be read.
 */
enum tt_line_type tt_input_parse(const struct tt_input *in, struct tt_line *out,
				 char err[TT_ERR_MAX]);

/* Room for tt_input_where(). */
#define TT_WHERE_MAX	64

/*
 * Where the item read is, for messages after the input's name: ":LINE"
 * for a text line, ": record N at byte OFFSET" for a binary record (and
 * the byte of anything else in an input with binary items).
 */
const char *tt_input_where(const struct tt_input *in, char buf[TT_WHERE_MAX]);

/* Is the item read a header, text or binary? */
static inline bool tt_input_is_header(const struct tt_input *in)
{
	return in->item == TT_ITEM_HEADER ||
	       (in->item == TT_ITEM_LINE && tt_is_header_line(in->line, in->len));
}

/* Is the item read a JSON line (a history or a "lost" object)? */
static inline bool tt_input_is_json(const struct tt_input *in)
{
	return in->item == TT_ITEM_LINE && in->len && in->line[0] == '{';
}

/* Is the item read an origin line? */
static inline bool tt_input_is_origin(const struct tt_input *in)
{
	return in->item == TT_ITEM_LINE && tt_is_origin_line(in->line, in->len);
}

/* Is it a record (or what would be one: not blank, not '#')? */
static inline bool tt_input_is_record(const struct tt_input *in)
{
	if (in->item == TT_ITEM_LINE)
		return in->len && in->line[0] != '#' && in->line[0] != '\n';
	return in->item == TT_ITEM_RECORD;
}

/* Bytes read from the file and not yet handed over as items. */
static inline size_t tt_input_buffered(const struct tt_input *in)
{
	return in->buf_len - in->buf_pos;
}

void tt_input_close(struct tt_input *in);

#endif /* TCPTRACE_INPUT_H */
