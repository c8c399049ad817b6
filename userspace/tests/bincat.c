// SPDX-License-Identifier: GPL-2.0
/*
 * bincat: a capture, binary or text, written as a text capture: each
 * binary header as the header line the module writes, each binary record
 * as its record line, text lines as they are. The tests compare what
 * tcptrace makes of a binary capture with what it makes of this text.
 *
 * Usage: tests/bincat FILE   (exit 1 on an item it cannot read)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../binary.h"
#include "../input.h"

/* The header line of module/format.c, from the binary header. */
static void print_header(const void *raw)
{
	struct tcptrace_binary_header b;

	memcpy(&b, raw, sizeof(b));
	printf("%s format=%" PRIu32 " now=%" PRIu64 " live=%" PRIu64 " live_max=%" PRIu64
	       " done=%" PRIu64 " ring_size=%" PRIu64, TCPTRACE_HEADER_TAG, b.format,
	       (uint64_t)b.now, (uint64_t)b.live, (uint64_t)b.live_max, (uint64_t)b.done,
	       (uint64_t)b.ring_size);
	printf(" events=%" PRIu64 " created=%" PRIu64 " completed=%" PRIu64,
	       (uint64_t)b.events, (uint64_t)b.created, (uint64_t)b.completed);
	printf(" drop_table_full=%" PRIu64 " drop_steps_full=%" PRIu64,
	       (uint64_t)b.drop_table_full, (uint64_t)b.drop_steps_full);
	printf(" ring_overwritten=%" PRIu64 " unexpected=%" PRIu64,
	       (uint64_t)b.ring_overwritten, (uint64_t)b.unexpected);
	printf(" syncookies=%" PRIu64 " kprobe_missed=%" PRIu64,
	       (uint64_t)b.syncookies, (uint64_t)b.kprobe_missed);
	printf(" filtered=%" PRIu64 " filter_ports=%" PRIu64 " filter_netns=%" PRIu64,
	       (uint64_t)b.filtered, (uint64_t)b.filter_ports, (uint64_t)b.filter_netns);
	printf(" evicted=%" PRIu64, (uint64_t)b.evicted);
	printf(" mem_bytes=%" PRIu64 " timewait=%u halfopen=%u", (uint64_t)b.mem_bytes,
	       b.timewait, b.halfopen);
	printf(" kretprobes=%" PRIu32 " rst_reasons=%u\n", b.kretprobes, b.rst_reasons);
}

int main(int argc, char *argv[])
{
	static struct tt_input in;
	char line[TT_RENDER_MAX];
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	int got, status = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bincat FILE\n");
		return 2;
	}
	if (tt_input_open(&in, argv[1], false) < 0) {
		fprintf(stderr, "bincat: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((got = tt_input_next(&in)) == TT_INPUT_LINE) {
		switch (in.item) {
		case TT_ITEM_LINE:
			fwrite(in.line, 1, in.len, stdout);
			break;
		case TT_ITEM_HEADER:
			print_header(in.raw);
			break;
		case TT_ITEM_RECORD:
			switch (tt_input_parse(&in, &parsed, err)) {
			case TT_LINE_RECORD:
				fwrite(line, 1, tt_binary_render(&parsed.record, line), stdout);
				break;
			case TT_LINE_UNKNOWN_KIND:
				break;
			default:
				fprintf(stderr, "bincat: %s: %s\n", argv[1], err);
				status = 1;
			}
			break;
		default:
			fprintf(stderr, "bincat: %s: %s\n", argv[1], in.err);
			status = 1;
		}
	}
	if (got < 0) {
		fprintf(stderr, "bincat: %s: %s\n", argv[1], strerror(errno));
		status = 1;
	}
	tt_input_close(&in);
	return status;
}
