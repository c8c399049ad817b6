/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Line reader with fixed buffers: no line of the format is longer than
 * TCPTRACE_LINE_MAX, so one line buffer of that size (plus one byte to
 * notice a longer line) and one read buffer are all the memory reading
 * ever needs, whatever the input.
 *
 * It reads a file, standard input, a snapshot of the device, or the
 * device in follow mode, where it waits for records with poll() and
 * reports the histories the ring overwrote before they were read.
 */
#ifndef TCPTRACE_INPUT_H
#define TCPTRACE_INPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <linux/tcptrace.h>

/* Bytes asked of each read(): many records of the device at once. */
#define TT_INPUT_BUF	65536

enum tt_input_result {
	TT_INPUT_ERROR = -1,	/* errno says why; EINTR: a signal came */
	TT_INPUT_EOF = 0,
	TT_INPUT_LINE = 1,	/* line[] holds the next line */
	TT_INPUT_LOST = 2,	/* follow mode: histories were overwritten unread */
	TT_INPUT_TIMEOUT = 3,	/* follow mode: no line within timeout_ms */
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
	/*
	 * Bytes of the current line in line[], its '\n' included. A line
	 * longer than TCPTRACE_LINE_MAX is cut to TCPTRACE_LINE_MAX + 1
	 * bytes (the rest is skipped), which is enough to call it too long.
	 */
	size_t len;
	char line[TCPTRACE_LINE_MAX + 1];
	size_t buf_pos, buf_len;	/* unread bytes: buf[buf_pos..buf_len) */
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

/* Read the next line: an enum tt_input_result. */
int tt_input_next(struct tt_input *in);

void tt_input_close(struct tt_input *in);

#endif /* TCPTRACE_INPUT_H */
