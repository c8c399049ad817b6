// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE	/* ppoll() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "binary.h"
#include "input.h"

int tt_input_open(struct tt_input *in, const char *path, bool writable)
{
	in->fd = -1;
	in->name = path;
	in->follow = false;
	in->stop = NULL;
	in->timeout_ms = -1;
	in->lineno = 0;
	in->item = TT_ITEM_LINE;
	in->items = in->records = 0;
	in->offset = 0;
	in->had_binary = in->binary = in->origin_held = in->broken = false;
	in->decode = 0;
	in->record_size = 0;
	in->raw = NULL;
	in->raw_len = 0;
	in->len = 0;
	in->buf_pos = in->buf_len = 0;
	in->buf_offset = 0;
	if (strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
		in->name = "<stdin>";
		return 0;
	}
	in->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return in->fd < 0 ? -1 : 0;
}

int tt_device_command(int fd, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t written = write(fd, cmd, len);

	if (written < 0)
		return -1;
	if ((size_t)written != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int tt_input_command(struct tt_input *in, const char *cmd)
{
	return tt_device_command(in->fd, cmd);
}

int tt_input_follow(struct tt_input *in, const volatile sig_atomic_t *stop)
{
	int flags = fcntl(in->fd, F_GETFL);

	if (flags < 0 || fcntl(in->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	in->follow = true;
	in->stop = stop;
	return 0;
}

/*
 * Wait until the device has something to read (or to report). The stop
 * signals are blocked from the check of *stop until ppoll() atomically
 * unblocks them: one that comes in between interrupts ppoll() at once.
 * 0: readable; 1: timeout_ms passed first (if @may_time_out); -1: error.
 */
static int wait_readable(struct tt_input *in, bool may_time_out)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN | POLLPRI };
	struct timespec timeout = {
		.tv_sec = in->timeout_ms / 1000,
		.tv_nsec = (long)(in->timeout_ms % 1000) * 1000000,
	};
	bool timed = may_time_out && in->timeout_ms >= 0;
	sigset_t stop_signals, old;
	int ret, saved;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, &old);
	if (in->stop && *in->stop) {
		ret = -1;
		saved = EINTR;
	} else {
		ret = ppoll(&pfd, 1, timed ? &timeout : NULL, &old);
		saved = errno;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return ret < 0 ? -1 : ret == 0 && timed ? 1 : 0;
}

/*
 * Read more into buf[], after the bytes not yet taken (moved to its
 * start): TT_INPUT_LINE if there are more, TT_INPUT_EOF at the end,
 * TT_INPUT_LOST, TT_INPUT_TIMEOUT (only if @may_time_out) or
 * TT_INPUT_ERROR.
 */
static int fill(struct tt_input *in, bool may_time_out)
{
	size_t left = in->buf_len - in->buf_pos;

	if (in->buf_pos) {
		memmove(in->buf, in->buf + in->buf_pos, left);
		in->buf_offset += in->buf_pos;
		in->buf_pos = 0;
		in->buf_len = left;
	}
	for (;;) {
		ssize_t n = read(in->fd, in->buf + left, sizeof(in->buf) - left);

		if (n >= 0) {
			in->buf_len = left + (size_t)n;
			return n > 0 ? TT_INPUT_LINE : TT_INPUT_EOF;
		}
		if (in->follow && errno == EPIPE)
			return TT_INPUT_LOST;
		if (in->follow && errno == EAGAIN) {
			int waited = wait_readable(in, may_time_out);

			if (waited < 0)
				return TT_INPUT_ERROR;
			if (waited > 0)
				return TT_INPUT_TIMEOUT;
			continue;
		}
		return TT_INPUT_ERROR;
	}
}

/*
 * Have the next @n bytes (at most TT_INPUT_BUF) at buf[buf_pos]:
 * TT_INPUT_LINE when they are there, TT_INPUT_EOF if the input ends
 * first, else what fill() says. A wait may time out only before the
 * first byte (@may_time_out): an item the device began is read whole.
 */
static int need(struct tt_input *in, size_t n, bool may_time_out)
{
	while (in->buf_len - in->buf_pos < n) {
		int got = fill(in, may_time_out && in->buf_len == in->buf_pos);

		if (got != TT_INPUT_LINE)
			return got;
	}
	return TT_INPUT_LINE;
}

/* Do the bytes at buf_pos start a binary header, this byte order or the other? */
static bool at_magic(struct tt_input *in)
{
	return need(in, 4, false) == TT_INPUT_LINE &&
	       tt_binary_magic(in->buf + in->buf_pos) != TT_MAGIC_NONE;
}

/* A binary item that cannot be read on: the input ends after it. */
__attribute__((format(printf, 2, 3)))
static int bad(struct tt_input *in, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(in->err, sizeof(in->err), fmt, ap);
		va_end(ap);
	}
	in->bad_item = in->item;
	in->item = TT_ITEM_BAD;
	in->broken = true;
	return TT_INPUT_LINE;
}

/* Start a binary item of @size bytes (all in buf[]) at buf_pos. */
static int take_binary(struct tt_input *in, enum tt_input_item item, size_t size)
{
	in->item = item;
	in->raw = in->buf + in->buf_pos;
	in->raw_len = size;
	in->buf_pos += size;
	return TT_INPUT_LINE;
}

/* A binary header at buf_pos (at_magic() said so): a binary section begins. */
static int next_header(struct tt_input *in)
{
	size_t header_size, record_size;
	int got;

	in->item = TT_ITEM_HEADER;
	in->offset = in->buf_offset + in->buf_pos;
	in->items++;
	in->had_binary = true;
	got = need(in, TT_BINARY_PREFIX, false);
	if (got == TT_INPUT_EOF)
		return bad(in, "truncated binary header (%zu bytes)", tt_input_buffered(in));
	if (got != TT_INPUT_LINE)
		return got;
	if (!tt_binary_sizes(in->buf + in->buf_pos, &header_size, &record_size, in->err))
		return bad(in, NULL);
	got = need(in, header_size, false);
	if (got == TT_INPUT_EOF)
		return bad(in, "truncated binary header (%zu of %zu bytes)",
			   tt_input_buffered(in), header_size);
	if (got != TT_INPUT_LINE)
		return got;
	in->binary = true;
	in->record_size = record_size;
	return take_binary(in, TT_ITEM_HEADER, header_size);
}

/* A binary record at buf_pos, of the section's record_size. */
static int next_record(struct tt_input *in)
{
	int got;

	in->item = TT_ITEM_RECORD;
	in->offset = in->buf_offset + in->buf_pos;
	in->items++;
	in->records++;
	got = need(in, in->record_size, false);
	if (got == TT_INPUT_EOF)
		return bad(in, "truncated record (%zu of %zu bytes)",
			   tt_input_buffered(in), in->record_size);
	if (got != TT_INPUT_LINE)
		return got;
	return take_binary(in, TT_ITEM_RECORD, in->record_size);
}

/* A text line at buf_pos (a byte is there), into line[]. */
static int next_line(struct tt_input *in)
{
	size_t len = 0;

	in->offset = in->buf_offset + in->buf_pos;
	for (;;) {
		const char *start, *newline;
		size_t avail, take;

		if (in->buf_pos == in->buf_len) {
			/* Half a line kept in line[] would be lost: no timeout then. */
			int got = fill(in, false);

			if (got == TT_INPUT_ERROR || got == TT_INPUT_LOST ||
			    got == TT_INPUT_TIMEOUT)
				return got;
			if (got == TT_INPUT_EOF)
				break;	/* a last line without '\n' */
		}
		start = in->buf + in->buf_pos;
		avail = in->buf_len - in->buf_pos;
		newline = memchr(start, '\n', avail);
		take = newline ? (size_t)(newline - start) + 1 : avail;
		if (len < sizeof(in->line)) {
			size_t room = sizeof(in->line) - len;

			memcpy(in->line + len, start, take < room ? take : room);
			len += take < room ? take : room;
		}
		in->buf_pos += take;
		if (newline)
			break;
	}
	in->item = TT_ITEM_LINE;
	in->len = len;
	in->lineno++;
	if (tt_is_header_line(in->line, len)) {
		in->binary = false;	/* a text capture follows */
	} else if (tt_is_origin_line(in->line, len) && at_magic(in)) {
		/* A binary capture's origin line: its header goes first. */
		in->origin_held = true;
		in->held_offset = in->offset;
		return next_header(in);
	}
	in->items++;
	return TT_INPUT_LINE;
}

int tt_input_next(struct tt_input *in)
{
	int got;
	char c;

	if (in->origin_held) {
		in->origin_held = false;
		in->item = TT_ITEM_LINE;
		in->offset = in->held_offset;
		in->items++;
		return TT_INPUT_LINE;
	}
	if (in->broken)
		return TT_INPUT_EOF;
	got = need(in, 1, true);
	if (got != TT_INPUT_LINE)
		return got;
	c = in->buf[in->buf_pos];
	if (c == 'T' && at_magic(in))
		return next_header(in);
	if (in->binary && c != '#')
		return next_record(in);
	return next_line(in);
}

enum tt_line_type tt_input_parse(const struct tt_input *in, struct tt_line *out,
				 char err[TT_ERR_MAX])
{
	if (in->item == TT_ITEM_LINE)
		return tt_parse_line(in->line, in->len, out, err);
	out->json = false;
	out->has_origin = false;
	switch (in->item) {
	case TT_ITEM_HEADER:
		out->type = tt_binary_parse_header(in->raw, in->raw_len, &out->header, err);
		return out->type;
	case TT_ITEM_RECORD:
		out->type = tt_binary_parse_record(in->raw, &out->record, in->decode, err);
		return out->type;
	default:
		snprintf(err, TT_ERR_MAX, "%s", in->err);
		return out->type = TT_LINE_UNSUPPORTED;
	}
}

const char *tt_input_where(const struct tt_input *in, char buf[TT_WHERE_MAX])
{
	unsigned long long offset = in->offset;
	enum tt_input_item item = in->item == TT_ITEM_BAD ? in->bad_item : in->item;

	if (item == TT_ITEM_RECORD)
		snprintf(buf, TT_WHERE_MAX, ": record %lu at byte %llu", in->records, offset);
	else if (item == TT_ITEM_HEADER)
		snprintf(buf, TT_WHERE_MAX, ": header at byte %llu", offset);
	else if (in->had_binary)
		snprintf(buf, TT_WHERE_MAX, ": byte %llu", offset);
	else
		snprintf(buf, TT_WHERE_MAX, ":%lu", in->lineno);
	return buf;
}

void tt_input_close(struct tt_input *in)
{
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}
