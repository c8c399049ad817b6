// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for /dev/tcptrace, for testing tcptrace on a host without the
 * module: LD_PRELOAD=tests/fakedev.so makes open() of /dev/tcptrace return
 * a descriptor whose reads, writes and polls follow a script.
 *
 * TT_FAKEDEV=FILE       the script: lines given to read() as the device
 *                       would, and directives:
 *                         !read    end of what one read() returns
 *                         !EPIPE   the next read() fails with EPIPE (the
 *                                  ring overwrote unread histories)
 *                         !wait    nothing to read: the next wait
 *                                  sleeps out its timeout and times out
 *                                  (without one, it just ends)
 *                         !late    a snapshot ends here; a follower
 *                                  waits here (EAGAIN, not ready) until
 *                                  the device is opened again, then
 *                                  goes on: what completed while that
 *                                  snapshot was taken
 *                         !# ...   a comment
 *                       @NOW@ in a line is CLOCK_MONOTONIC in nanoseconds
 *                       when the first line holding it was read, and the
 *                       same in every later one, whatever the open: the
 *                       t0= of histories that began at that read.
 *                       At the end of the script, a snapshot read returns
 *                       0 (end of file); in follow mode the reader waits,
 *                       and the wait is interrupted by a SIGINT, as if the
 *                       user pressed Ctrl-C.
 *                       After "binary=1" the lines are given as binary
 *                       records, encoded by ../binary.c: a header line
 *                       alone in its read, records whole, as many as fit
 *                       (EINVAL if not even one does); other lines are
 *                       left out, and one that cannot be encoded is said
 *                       on stderr.
 * TT_FAKEDEV_LOG=FILE   each command written is appended to FILE
 * TT_FAKEDEV_OPEN_ERRNO=N   open() fails with errno N
 * TT_FAKEDEV_DENY=CMD   writing CMD fails with EPERM
 * TT_FAKEDEV_UNKNOWN=CMD    writing CMD fails with EINVAL, as a module
 *                       older than the command does ("binary=1")
 *
 * Only what tcptrace does is imitated: two open files at most, each
 * reading the script from its start (tcptrace record's follower, and the
 * snapshot it takes at the end). Polled with other descriptors, the device is
 * ready while the script has lines, and is left out of the wait at its
 * end.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include "../binary.h"

#define DEVICE	"/dev/tcptrace"

/*
 * What tcptrace calls: the only symbols this library exports (the parser
 * and encoder it is built with stay its own, apart from tcptrace's).
 */
#define FAKE	__attribute__((visibility("default")))

struct fake {
	int fd;			/* a real descriptor (of /dev/null), or -1 */
	bool follow;
	bool binary;		/* "binary=1" */
	bool started;		/* read from: "binary=1" comes too late */
	char *script;		/* the whole script, NUL-terminated */
	size_t pos;		/* next unread byte */
	unsigned int open_nr;	/* opens before this one */
};

/* The open fake devices, and the one the call at hand is on. */
static struct fake fakes[2] = { { .fd = -1 }, { .fd = -1 } };
static struct fake *dev = &fakes[0];

/* Opens so far: a follower passes "!late" after an open later than its own. */
static unsigned int opens;

static char *load(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = calloc(1, size + 1)) &&
	    fread(text, 1, size, f) != (size_t)size) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static int real_open(const char *path, int flags, mode_t mode)
{
	int (*next)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");

	return next(path, flags, mode);
}

static int fake_open(const char *path, int flags, mode_t mode)
{
	const char *err = getenv("TT_FAKEDEV_OPEN_ERRNO");
	const char *script = getenv("TT_FAKEDEV");

	if (strcmp(path, DEVICE) != 0 || !script)
		return real_open(path, flags, mode);
	if (err) {
		errno = atoi(err);
		return -1;
	}
	dev = fakes[0].fd < 0 ? &fakes[0] : &fakes[1];
	if (dev->fd >= 0) {
		errno = EMFILE;
		return -1;
	}
	*dev = (struct fake){ .fd = -1, .script = load(script), .open_nr = opens++ };
	if (!dev->script) {
		errno = EIO;
		return -1;
	}
	dev->fd = real_open("/dev/null", O_RDWR, 0);
	return dev->fd;
}

FAKE int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return fake_open(path, flags, mode);
}

FAKE int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return fake_open(path, flags, mode);
}

/* Whether @fd is a fake device; if so, the calls that follow are on it. */
static bool is_fake(int fd)
{
	unsigned int i;

	for (i = 0; fd >= 0 && i < 2; i++) {
		if (fakes[i].fd == fd) {
			dev = &fakes[i];
			return true;
		}
	}
	return false;
}

/* Does the script go on with directive @name? */
static bool at_directive(const char *name)
{
	size_t len = strlen(name);

	return strncmp(dev->script + dev->pos, name, len) == 0 &&
	       dev->script[dev->pos + len] == '\n';
}

static void skip_line(void)
{
	const char *nl = strchr(dev->script + dev->pos, '\n');

	dev->pos = nl ? (size_t)(nl + 1 - dev->script) : strlen(dev->script);
}

static bool at_end(void)
{
	return dev->script[dev->pos] == '\0';
}

static void skip_comments(void)
{
	while (strncmp(dev->script + dev->pos, "!#", 2) == 0)
		skip_line();
}

/*
 * At "!late": true while the script holds there (a snapshot's end, or a
 * follower before the next open); a follower past it moves on.
 */
static bool held_late(void)
{
	skip_comments();
	if (!at_directive("!late"))
		return false;
	if (!dev->follow || opens == dev->open_nr + 1)
		return true;
	skip_line();
	skip_comments();
	return false;
}

/*
 * Copy the @len bytes of @line to @out (room for @size), @NOW@ replaced by
 * the time it was first read; its length after, or SIZE_MAX if it does
 * not fit.
 */
static size_t expand_line(const char *line, size_t len, char *out, size_t size)
{
	static const char token[] = "@NOW@";
	static char now[24];
	size_t n = 0, i = 0, t;

	if (!now[0] && memmem(line, len, token, sizeof(token) - 1)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(now, sizeof(now), "%llu",
			 (unsigned long long)ts.tv_sec * 1000000000ULL +
			 (unsigned long long)ts.tv_nsec);
	}
	t = strlen(now);
	while (i < len) {
		bool at_token = len - i >= sizeof(token) - 1 &&
				!memcmp(line + i, token, sizeof(token) - 1);
		size_t step = at_token ? t : 1;

		if (n + step > size)
			return SIZE_MAX;
		memcpy(out + n, at_token ? now : line + i, step);
		n += step;
		i += at_token ? sizeof(token) - 1 : 1;
	}
	return n;
}

/* The line at the script's position, its '\n' included: its length. */
static size_t line_len(void)
{
	const char *line = dev->script + dev->pos;
	const char *nl = strchr(line, '\n');

	return nl ? (size_t)(nl + 1 - line) : strlen(line);
}

union binary {
	struct tcptrace_binary_header h;
	struct tcptrace_binary_record r;
};

/*
 * The line at the script's position as the module's binary stream has it,
 * into @bin: its size, or 0 for a line the stream leaves out.
 */
static size_t encode_line(union binary *bin)
{
	char line[2 * TCPTRACE_LINE_MAX], err[TT_ERR_MAX];
	size_t len = expand_line(dev->script + dev->pos, line_len(), line, sizeof(line));
	struct tt_line parsed;

	if (len == SIZE_MAX) {
		fprintf(stderr, "fakedev: a line too long for the device\n");
		return 0;
	}
	switch (tt_parse_line(line, len, &parsed, err)) {
	case TT_LINE_HEADER:
		tt_binary_encode_header(&parsed.header, &bin->h);
		return sizeof(bin->h);
	case TT_LINE_RECORD:
		if (tt_binary_encode_record(&parsed.record, &bin->r, err))
			return sizeof(bin->r);
		/* fall through */
	case TT_LINE_ERROR:
	case TT_LINE_UNSUPPORTED:
		fprintf(stderr, "fakedev: cannot write in binary: %s: %.*s", err,
			(int)len, line);
		return 0;
	default:
		return 0;
	}
}

/* The binary stream: a header alone in its read, records whole. */
static ssize_t fake_read(void *buf, size_t count);

static ssize_t fake_read_binary(void *buf, size_t count)
{
	union binary bin;
	size_t n = 0;

	while (!at_end() && dev->script[dev->pos] != '!') {
		size_t size = encode_line(&bin);
		bool header = size == sizeof(bin.h);

		if (size && (n + size > count || (header && n)))
			break;
		if (size) {
			memcpy((char *)buf + n, &bin, size);
			n += size;
		}
		dev->pos += line_len();
		skip_comments();
		if (header)
			break;
	}
	if (n)
		return (ssize_t)n;
	if (!at_end() && dev->script[dev->pos] != '!') {
		errno = EINVAL;	/* too small for the next record */
		return -1;
	}
	return fake_read(buf, count);	/* only lines left out: on to the next */
}

/* Lines up to the next directive, as many as fit in @count bytes. */
static ssize_t fake_read(void *buf, size_t count)
{
	size_t n = 0;

	dev->started = true;
	skip_comments();
	if (at_directive("!read"))
		skip_line();
	skip_comments();
	if (at_directive("!EPIPE")) {
		skip_line();
		if (dev->follow) {
			errno = EPIPE;
			return -1;
		}
		skip_comments();	/* a snapshot is never overrun */
	}
	if (at_end() || at_directive("!wait") || held_late()) {
		if (!dev->follow)
			return 0;
		errno = EAGAIN;
		return -1;
	}
	if (dev->binary)
		return fake_read_binary(buf, count);
	while (!at_end() && dev->script[dev->pos] != '!') {
		const char *line = dev->script + dev->pos;
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl + 1 - line) : strlen(line);
		size_t out = expand_line(line, len, (char *)buf + n, count - n);

		if (out == SIZE_MAX)
			break;
		n += out;
		dev->pos += len;
		skip_comments();
	}
	return (ssize_t)n;
}

FAKE ssize_t read(int fd, void *buf, size_t count)
{
	ssize_t (*next)(int, void *, size_t) = dlsym(RTLD_NEXT, "read");

	return is_fake(fd) ? fake_read(buf, count) : next(fd, buf, count);
}

FAKE ssize_t __read_chk(int fd, void *buf, size_t count, size_t size)
{
	(void)size;
	return read(fd, buf, count);
}

static ssize_t fake_write(const void *buf, size_t count)
{
	const char *log = getenv("TT_FAKEDEV_LOG");
	const char *deny = getenv("TT_FAKEDEV_DENY");
	const char *unknown = getenv("TT_FAKEDEV_UNKNOWN");
	char cmd[80];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%.*s", (int)count, (const char *)buf);
	cmd[strcspn(cmd, "\n")] = '\0';
	if (log && (f = fopen(log, "a"))) {
		fprintf(f, "%s\n", cmd);
		fclose(f);
	}
	if (deny && strcmp(deny, cmd) == 0) {
		errno = EPERM;
		return -1;
	}
	if (unknown && strcmp(unknown, cmd) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(cmd, "follow") == 0)
		dev->follow = true;
	if (strncmp(cmd, "binary=", 7) == 0) {
		if (strcmp(cmd, "binary=1") != 0) {
			errno = strcmp(cmd, "binary=2") == 0 ? EPROTONOSUPPORT : EINVAL;
			return -1;
		}
		if (dev->started) {
			errno = EBUSY;
			return -1;
		}
		dev->binary = true;
	}
	return (ssize_t)count;
}

FAKE ssize_t write(int fd, const void *buf, size_t count)
{
	ssize_t (*next)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");

	return is_fake(fd) ? fake_write(buf, count) : next(fd, buf, count);
}

/* Readable unless the script is over: then Ctrl-C, during the wait. */
static int fake_wait(struct pollfd *pfd, const struct timespec *timeout,
		     const sigset_t *mask)
{
	sigset_t old;

	skip_comments();
	if (held_late())
		return 0;
	if (at_directive("!wait")) {
		skip_line();
		if (!timeout)
			return 0;
		nanosleep(timeout, NULL);
		return 0;
	}
	if (!at_end()) {
		pfd->revents = POLLIN;
		if (at_directive("!EPIPE"))
			pfd->revents |= POLLERR | POLLPRI;
		return 1;
	}
	if (mask)
		sigprocmask(SIG_SETMASK, mask, &old);
	raise(SIGINT);
	if (mask)
		sigprocmask(SIG_SETMASK, &old, NULL);
	errno = EINTR;
	return -1;
}

FAKE int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
	  const sigset_t *mask)
{
	int (*next)(struct pollfd *, nfds_t, const struct timespec *,
		    const sigset_t *) = dlsym(RTLD_NEXT, "ppoll");

	if (nfds == 1 && is_fake(fds[0].fd))
		return fake_wait(&fds[0], timeout, mask);
	return next(fds, nfds, timeout, mask);
}

/*
 * The fake device among other descriptors (tcptrace record's loop): ready
 * while the script has lines; else the others are polled, and the fake
 * one is left out (a descriptor of -1 is ignored).
 */
static int poll_with_fake(struct pollfd *fds, nfds_t nfds, int timeout,
			  int (*next)(struct pollfd *, nfds_t, int))
{
	nfds_t i, fake = nfds;
	int ret, fd;

	for (i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (is_fake(fds[i].fd))
			fake = i;
	}
	skip_comments();
	if (!at_end() && !at_directive("!wait") && !held_late()) {
		fds[fake].revents = POLLIN;
		if (at_directive("!EPIPE"))
			fds[fake].revents |= POLLERR | POLLPRI;
		return 1;
	}
	fd = fds[fake].fd;
	fds[fake].fd = -1;
	ret = next(fds, nfds, timeout);
	fds[fake].fd = fd;
	return ret;
}

FAKE int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int (*next)(struct pollfd *, nfds_t, int) = dlsym(RTLD_NEXT, "poll");
	nfds_t i;

	if (nfds == 1 && is_fake(fds[0].fd))
		return fake_wait(&fds[0], NULL, NULL);
	for (i = 0; i < nfds; i++)
		if (is_fake(fds[i].fd))
			return poll_with_fake(fds, nfds, timeout, next);
	return next(fds, nfds, timeout);
}

FAKE int close(int fd)
{
	int (*next)(int) = dlsym(RTLD_NEXT, "close");

	if (is_fake(fd)) {
		free(dev->script);
		*dev = (struct fake){ .fd = -1 };
	}
	return next(fd);
}
