// SPDX-License-Identifier: GPL-2.0
/*
 * follow: a minimal follow-mode reader of /dev/tcptrace for
 * scripts/bench-overhead.
 *
 *   follow            write "follow", read done histories as they come and
 *                     throw them away; on SIGINT or SIGTERM, read what is
 *                     left without blocking, then print one line:
 *                       follow records=N lost=L epipe=E last_seq=S
 *                     lost counts the seq= values never seen, from 0 (the
 *                     module was loaded fresh) to the last one read
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

int main(int argc, char **argv)
{
	unsigned long long records = 0, lost = 0, epipe = 0, next = 0, last = 0;
	bool header = argc > 1 && !strcmp(argv[1], "--header");
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[BUF_SIZE + 1];
	int fd;

	fd = open(DEV, O_RDWR);
	if (fd < 0)
		die("open " DEV);
	if (write(fd, "follow", 6) != 6)
		die("write follow");
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
		char *p, *eol;

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
		buf[n] = '\0';
		for (p = buf; (eol = strchr(p, '\n')); p = eol + 1) {
			char *seq;

			*eol = '\0';
			if (strncmp(p, "done ", 5))
				continue;
			seq = strstr(p, " seq=");
			if (!seq)
				continue;
			last = strtoull(seq + 5, NULL, 10);
			if (last > next)
				lost += last - next;
			next = last + 1;
			records++;
		}
	}
	printf("follow records=%llu lost=%llu epipe=%llu last_seq=%llu\n",
	       records, lost, epipe, last);
	return 0;
}
