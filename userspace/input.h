/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Line reader with a fixed buffer: no line of the format is longer than
 * TCPTRACE_LINE_MAX, so one buffer of that size (plus one byte to notice a
 * longer line) is all the memory reading ever needs, whatever the input.
 */
#ifndef TCPTRACE_INPUT_H
#define TCPTRACE_INPUT_H

#include <stddef.h>
#include <stdio.h>

#include <linux/tcptrace.h>

struct tt_input {
	FILE *file;
	const char *name;	/* for messages: the path, or "<stdin>" */
	unsigned long lineno;	/* of the line in line[] */
	/*
	 * Bytes of the current line in line[], its '\n' included. A line
	 * longer than TCPTRACE_LINE_MAX is cut to TCPTRACE_LINE_MAX + 1
	 * bytes (the rest is skipped), which is enough to call it too long.
	 */
	size_t len;
	char line[TCPTRACE_LINE_MAX + 1];
};

/* Open @path ("-": standard input). -1 with errno set on failure. */
int tt_input_open(struct tt_input *in, const char *path);

/* Read the next line: 1 if there is one, 0 at end of input, -1 on error. */
int tt_input_next(struct tt_input *in);

void tt_input_close(struct tt_input *in);

#endif /* TCPTRACE_INPUT_H */
