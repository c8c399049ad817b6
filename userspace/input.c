// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE	/* ppoll() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

int tt_input_open(struct tt_input *in, const char *path, bool writable)
{
	in->fd = -1;
	in->name = path;
	in->follow = false;
	in->stop = NULL;
	in->timeout_ms = -1;
	in->lineno = 0;
	in->len = 0;
	in->buf_pos = in->buf_len = 0;
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
 * Refill buf[]: TT_INPUT_LINE if there are bytes, TT_INPUT_EOF at the end,
 * TT_INPUT_LOST, TT_INPUT_TIMEOUT (only if @may_time_out) or
 * TT_INPUT_ERROR.
 */
static int fill(struct tt_input *in, bool may_time_out)
{
	for (;;) {
		ssize_t n = read(in->fd, in->buf, sizeof(in->buf));

		if (n >= 0) {
			in->buf_pos = 0;
			in->buf_len = (size_t)n;
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

int tt_input_next(struct tt_input *in)
{
	size_t len = 0;

	for (;;) {
		const char *start, *newline;
		size_t avail, take;

		if (in->buf_pos == in->buf_len) {
			/* Half a line kept in line[] would be lost: no timeout then. */
			int got = fill(in, len == 0);

			if (got == TT_INPUT_ERROR || got == TT_INPUT_LOST ||
			    got == TT_INPUT_TIMEOUT)
				return got;
			if (got == TT_INPUT_EOF && len == 0)
				return TT_INPUT_EOF;
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
	in->len = len;
	in->lineno++;
	return TT_INPUT_LINE;
}

void tt_input_close(struct tt_input *in)
{
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}
