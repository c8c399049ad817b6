// SPDX-License-Identifier: GPL-2.0
/*
 * follow: a minimal follow-mode reader of /dev/tcptrace for
 * scripts/bench-overhead.
 *
 *   follow            write "binary=1" and "follow", read done histories
 *                     as binary records as they come and throw them away,
 *                     as the reader does (tcptrace -f); on SIGINT or
 *                     SIGTERM, read what is left without blocking, then
 *                     print one line:
 *                       follow records=N lost=L epipe=E last_seq=S
 *                     lost counts the seq values never seen, from 0 (the
 *                     module was loaded fresh) to the last one read
 *   follow --text     the same, reading text lines (cat /dev/tcptrace)
 *   follow --header   print the header line (the module's counters) only,
 *                     without the snapshot a plain read would format
 *
 * Documentation/tcptrace.rst, "Following", describes the interface.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/tcptrace.h>

#define DEV "/dev/tcptrace"
#define BUF_SIZE (256 * 1024)

static volatile sig_atomic_t stop;

static void on_signal(int sig __attribute__((unused)))
{
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "follow: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long long records, lost, next, last;

/* A done history's seq: those never seen since the last one are lost. */
static void seen(unsigned long long seq)
{
	last = seq;
	if (last > next)
		lost += last - next;
	next = last + 1;
	records++;
}

/* The done records of @n bytes of text lines. */
static void text_records(char *buf, size_t n)
{
	char *p, *eol;

	buf[n] = '\0';
	for (p = buf; (eol = strchr(p, '\n')); p = eol + 1) {
		char *seq;

		*eol = '\0';
		if (strncmp(p, "done ", 5))
			continue;
		seq = strstr(p, " seq=");
		if (seq)
			seen(strtoull(seq + 5, NULL, 10));
	}
}

/*
 * The done records of @n bytes of binary ones, of @size bytes each (the
 * header's record_size); a read returns whole records only.
 */
static void binary_records(const char *buf, size_t n, size_t size)
{
	const struct tcptrace_binary_record *r;
	size_t off;

	if (n % size) {
		fprintf(stderr, "follow: a read of %zu bytes is not whole records of %zu\n",
			n, size);
		exit(1);
	}
	for (off = 0; off < n; off += size) {
		r = (const struct tcptrace_binary_record *)(buf + off);
		if (r->kind == TCPTRACE_BINARY_DONE)
			seen(r->seq);
	}
}

int main(int argc, char **argv)
{
	bool header = argc > 1 && !strcmp(argv[1], "--header");
	bool text = header || (argc > 1 && !strcmp(argv[1], "--text"));
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[BUF_SIZE + 1] __attribute__((aligned(8)));
	unsigned long long epipe = 0;
	size_t record_size = 0;
	int fd;

	fd = open(DEV, O_RDWR);
	if (fd < 0)
		die("open " DEV);
	if (!text && write(fd, "binary=1", 8) != 8)
		die("write binary=1");
	if (write(fd, "follow", 6) != 6)
		die("write follow");
	if (!text) {
		const struct tcptrace_binary_header *h = (const void *)buf;
		ssize_t n = read(fd, buf, BUF_SIZE);

		if (n < (ssize_t)sizeof(*h))
			die("read the binary header");
		if (h->magic != TCPTRACE_BINARY_MAGIC ||
		    h->record_size < sizeof(struct tcptrace_binary_record)) {
			fprintf(stderr, "follow: not a binary header this follow reads\n");
			return 1;
		}
		record_size = h->record_size;
	}
	if (header) {
		ssize_t n = read(fd, buf, BUF_SIZE);

		if (n <= 0)
			die("read header");
		fwrite(buf, 1, n, stdout);
		return 0;
	}

	/* No SA_RESTART: a signal ends a blocked read with EINTR. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (;;) {
		ssize_t n;

		if (stop && !(fcntl(fd, F_GETFL) & O_NONBLOCK))
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		n = read(fd, buf, BUF_SIZE);
		if (n < 0) {
			if (errno == EPIPE) {
				epipe++;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die("read");
		}
		if (n == 0)
			break;
		if (text)
			text_records(buf, n);
		else
			binary_records(buf, n, record_size);
	}
	printf("follow records=%llu lost=%llu epipe=%llu last_seq=%llu\n",
	       records, lost, epipe, last);
	return 0;
}
