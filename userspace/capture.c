// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace -w: the device's binary stream into a capture file. Records
 * are decoded only to be selected (and for their seq, to count losses);
 * what is written is the bytes the device gave.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "capture.h"
#include "origin.h"

struct writer {
	FILE *out;
	const char *device;
	bool selecting;		/* a selection option was given */
	bool ok;
	bool lost_pending;	/* EPIPE: the next done record says how many */
	bool has_seq;
	uint64_t last_seq;
	int error;		/* of the first write that failed */
};

static void put(struct writer *w, const void *bytes, size_t len)
{
	if (!w->error && fwrite(bytes, 1, len, w->out) != len)
		w->error = errno ? errno : EIO;
}

static void report(const struct writer *w, const struct tt_input *in, const char *message)
{
	char where[TT_WHERE_MAX];

	fprintf(stderr, "tcptrace: %s%s: %s\n", w->device, tt_input_where(in, where),
		message);
}

/* Histories overwritten before they were read: said once the next seq is known. */
static void note_seq(struct writer *w, const struct tt_record *r)
{
	if (!(r->has & TT_HAS_SEQ))
		return;
	if (w->lost_pending) {
		if (w->has_seq && r->seq > w->last_seq)
			fprintf(stderr, "tcptrace: lost %" PRIu64 " histor%s while following (overwritten before they were read)\n",
				r->seq - w->last_seq - 1,
				r->seq - w->last_seq - 1 == 1 ? "y" : "ies");
		else
			fprintf(stderr, "tcptrace: lost histories before seq %" PRIu64 " while following (overwritten before they were read)\n",
				r->seq);
		w->lost_pending = false;
	}
	w->has_seq = true;
	w->last_seq = r->seq;
}

/* The header: the origin line first, then the header as read. */
static bool write_header(struct writer *w, const struct tt_input *in)
{
	char err[TT_ERR_MAX];
	struct tt_origin origin;
	struct tt_line parsed;

	if (tt_input_parse(in, &parsed, err) != TT_LINE_HEADER) {
		report(w, in, err);
		return false;
	}
	if (tt_origin_local(&origin)) {
		errno = 0;
		tt_origin_write(w->out, &origin);
		if (ferror(w->out) && !w->error)
			w->error = errno ? errno : EIO;
	}
	put(w, in->raw, in->raw_len);
	return true;
}

static void write_record(struct writer *w, const struct tt_input *in,
			 const struct tt_filter *filter)
{
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	bool keep;

	switch (tt_input_parse(in, &parsed, err)) {
	case TT_LINE_RECORD:
		note_seq(w, &parsed.record);
		keep = tt_filter_match(filter, &parsed.record);
		break;
	case TT_LINE_ERROR:
		report(w, in, err);
		w->ok = false;
		/* fall through */
	default:
		/* Not for this reader to select: whole captures keep it. */
		keep = !w->selecting;
		break;
	}
	if (keep)
		put(w, in->raw, in->raw_len);
}

bool tt_capture_write(struct tt_input *in, FILE *out, const char *name,
		      const struct tt_filter *filter,
		      const volatile sig_atomic_t *stop)
{
	static const struct tt_filter none;
	struct writer w = {
		.out = out,
		.device = in->name,
		/* The options' filter starts zeroed: any option changes it. */
		.selecting = memcmp(filter, &none, sizeof(none)) != 0,
		.ok = true,
	};
	int got;

	while (!*stop) {
		got = tt_input_next(in);
		if (got == TT_INPUT_TIMEOUT)
			continue;
		if (got == TT_INPUT_LOST) {
			w.lost_pending = true;
			continue;
		}
		if (got == TT_INPUT_ERROR && errno == EINTR && in->follow)
			continue;	/* *stop says whether to go on */
		if (got == TT_INPUT_ERROR) {
			fprintf(stderr, "tcptrace: %s: %s\n", in->name, strerror(errno));
			w.ok = false;
		}
		if (got <= 0)
			break;
		if (in->item == TT_ITEM_HEADER) {
			if (!write_header(&w, in)) {
				w.ok = false;
				break;
			}
		} else if (in->item == TT_ITEM_RECORD) {
			write_record(&w, in, filter);
		} else if (in->item == TT_ITEM_BAD) {
			report(&w, in, in->err);
			w.ok = false;
			break;
		}
		/* Lines: the device in binary writes none. */
		if (in->follow && !tt_input_buffered(in) && fflush(out) != 0 && !w.error)
			w.error = errno;
		if (w.error)
			break;
	}
	if (fflush(out) != 0 && !w.error)
		w.error = errno;
	/* Following into a pipe whose reader went away: the end, quietly. */
	if (w.error == EPIPE && in->follow)
		return w.ok;
	if (w.error) {
		fprintf(stderr, "tcptrace: %s: %s\n", name, strerror(w.error));
		return false;
	}
	return w.ok;
}
