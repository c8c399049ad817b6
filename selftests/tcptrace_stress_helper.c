// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_stress_helper: the processes that tcptrace_stress.sh runs
 * beside its load and unload cycles and its overload, each the system
 * calls of one role (not a test itself):
 *
 *   tcptrace_stress_helper modctl
 *
 *     Loads and unloads the module by its system calls, on request, one
 *     line each way on stdin and stdout, so that 50 cycles do not pay for
 *     150 processes:
 *
 *       load PATH [PARAMS...]  -> ok | err ERRNO   (finit_module())
 *       unload                 -> ok | err ERRNO   (delete_module(O_NONBLOCK))
 *       unload_retry SECONDS   -> ok TRIES | err ERRNO TRIES: retry every
 *                                 2 ms while it is busy (EWOULDBLOCK)
 *       anything else          -> err usage
 *
 *     ERRNO is the errno's name (EAGAIN for EWOULDBLOCK, which is the
 *     same). It ends at the end of its input.
 *
 *   tcptrace_stress_helper reader DEVICE STATUS SEED
 *
 *     Until SIGTERM: opens DEVICE, reads a snapshot or follows (in turn),
 *     checks what it read, closes it, and naps up to 50 ms (random, from
 *     SEED). A snapshot (all-netns one time in two) must end with a
 *     newline, start with a header with ring_size=, hold done records in
 *     increasing seq=, at most twice the ring (those it held, and those
 *     that completed while the live ones were copied), and live records,
 *     and read the same again after lseek(0). A follow (O_NONBLOCK,
 *     all-netns) must read one header line first, then up to 50 reads of
 *     whole done records, their seq= consecutive but after an EPIPE. An
 *     open may fail with ENOENT or ENODEV (the module is going or gone),
 *     which counts as absent. SIGUSR1 pauses it with the device closed,
 *     SIGUSR2 resumes it. The file STATUS says "STATE OPS ABSENT": STATE
 *     run, paused or stopped, OPS the operations that read something,
 *     ABSENT the opens that found no device. Problems go to stderr as
 *     "FAIL reader SEED: ..." (the first five); the exit status is 1 if
 *     there was any.
 *
 *   tcptrace_stress_helper follower DEVICE OUTPUT STATUS
 *
 *     Follows every namespace's done histories (O_NONBLOCK, all-netns)
 *     into OUTPUT, with a line "#EPIPE" where the ring overran it, until
 *     SIGTERM finds nothing more to read, or at once on SIGUSR1 (what it
 *     read is written out either way). The file STATUS says "ready" once
 *     the first read (the header) returned. Exits non-zero, with a
 *     message, if a system call fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MODULE_NAME	"tcptrace"
#define READ_SIZE	65536
#define FOLLOW_READ_SIZE (1 << 20)

/* A record of a done history, its seq= in the first group. */
#define DONE_RE		"^done [0-9]+ ipv[46] .* seq=([0-9]+) "
#define LIVE_RE		"^live [0-9]+ ipv[46] "
/* The header line of a snapshot, its ring_size= in the first group. */
#define HEADER_RE	"^# tcptrace format=[0-9]+ .* ring_size=([0-9]+) "
#define HEADER_START	"# tcptrace format="

/* An errno by its name, else its number. */
static const char *errno_name(int e)
{
	static char num[16];
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *name = strerrorname_np(e);

	if (name)
		return name;
#endif
	snprintf(num, sizeof(num), "%d", e);
	return num;
}

/* Stop with a message, and errno as the exit status (else 255). */
static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(e ? e & 0xff : 255);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep up to @s seconds; a signal ends it early. */
static void nap(double s)
{
	struct timeval tv = { .tv_sec = (time_t)s, .tv_usec = (s - (time_t)s) * 1e6 };

	select(0, NULL, NULL, NULL, &tv);
}

/* A handler without SA_RESTART: a signal ends the system call it interrupts. */
static void on_signal(int sig, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		die("sigaction: %s", strerror(errno));
}

static void compile(regex_t *r, const char *re)
{
	if (regcomp(r, re, REG_EXTENDED))
		die("regcomp %s failed", re);
}

/* ---- modctl ------------------------------------------------------------ */

static long delete_module(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
}

static void modctl_load(char *args)
{
	char *path = args ? args : "", *params = "", *sp = strchr(path, ' ');
	size_t len;
	int fd;

	if (sp) {
		*sp = '\0';
		params = sp + 1;
		/* Blanks at the end are no parameter. */
		len = strlen(params);
		while (len && params[len - 1] == ' ')
			params[--len] = '\0';
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("err %s\n", errno_name(errno));
		return;
	}
	if (syscall(SYS_finit_module, fd, params, 0) == 0)
		printf("ok\n");
	else
		printf("err %s\n", errno_name(errno));
	close(fd);
}

static void modctl_unload_retry(const char *seconds)
{
	double end = now() + (seconds ? strtod(seconds, NULL) : 0);
	unsigned long tries = 0;
	int e;

	for (;;) {
		tries++;
		if (delete_module() == 0) {
			printf("ok %lu\n", tries);
			return;
		}
		e = errno;
		if (e != EWOULDBLOCK || now() > end) {
			printf("err %s %lu\n", errno_name(e), tries);
			return;
		}
		nap(0.002);
	}
}

static int modctl(void)
{
	size_t cap = 0;
	char *line = NULL;
	ssize_t len;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *op = line, *args = NULL, *sp;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		sp = strchr(line, ' ');
		if (sp) {
			*sp = '\0';
			args = sp + 1;
		}
		if (!strcmp(op, "load")) {
			modctl_load(args);
		} else if (!strcmp(op, "unload")) {
			if (delete_module() == 0)
				printf("ok\n");
			else
				printf("err %s\n", errno_name(errno));
		} else if (!strcmp(op, "unload_retry")) {
			if (args && (sp = strchr(args, ' ')))
				*sp = '\0';
			modctl_unload_retry(args);
		} else {
			printf("err usage\n");
		}
	}
	free(line);
	return 0;
}

/* ---- what the signals ask of a reader or the follower ------------------ */

static volatile sig_atomic_t paused, stopped, quit;

static void on_usr1_pause(int sig) { (void)sig; paused = 1; }
static void on_usr2_resume(int sig) { (void)sig; paused = 0; }
static void on_term_stop(int sig) { (void)sig; stopped = 1; }
static void on_usr1_quit(int sig) { (void)sig; quit = 1; }

/* ---- reader ------------------------------------------------------------ */

static const char *dev, *status_path, *seed;
static unsigned long ops, absent, fails;
static regex_t done_re, live_re, header_re;

struct text {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (++fails > 5)
		return;
	fprintf(stderr, "FAIL reader %s: ", seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The status file, replaced whole (rename()). */
static void status(const char *state)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", status_path);
	f = fopen(tmp, "w");
	if (!f)
		die("%s: %s", tmp, strerror(errno));
	fprintf(f, "%s %lu %lu\n", state, ops, absent);
	fclose(f);
	rename(tmp, status_path);
}

/* Open the device, or note that it is absent: not there, or going away. */
static int dev_open(int flags)
{
	int fd = open(dev, flags | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV)
		absent++;
	else
		fail("open: %s", strerror(errno));
	return -1;
}

static void cmd(int fd, const char *c)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s\n", c);

	if (write(fd, line, n) != n)
		fail("write %s: %s", c, strerror(errno));
}

/* Everything read() gives until it returns 0 (or fails), into @t. */
static void slurp(int fd, struct text *t)
{
	ssize_t n;

	t->len = 0;
	for (;;) {
		if (t->cap < t->len + READ_SIZE + 1) {
			t->cap = (t->len + READ_SIZE + 1) * 2;
			t->p = realloc(t->p, t->cap);
			if (!t->p)
				die("out of memory");
		}
		n = read(fd, t->p + t->len, READ_SIZE);
		if (n <= 0) {
			if (n < 0)
				fail("snapshot read: %s", strerror(errno));
			break;
		}
		t->len += n;
	}
	t->p[t->len] = '\0';
}

/* @len bytes at @s as a string, in a buffer of its own (until the next call). */
static const char *copy_line(const char *s, size_t len)
{
	static size_t cap;
	static char *line;

	if (cap < len + 1) {
		cap = len + 1;
		line = realloc(line, cap);
		if (!line)
			die("out of memory");
	}
	memcpy(line, s, len);
	line[len] = '\0';
	return line;
}

/* The number in group 1 of @m, and its text in @digits. */
static unsigned long long group1(const char *s, const regmatch_t *m, char *digits, size_t size)
{
	int len = m[1].rm_eo - m[1].rm_so;

	snprintf(digits, size, "%.*s", len, s + m[1].rm_so);
	return strtoull(digits, NULL, 10);
}

static void snapshot(void)
{
	static struct text text, again;
	unsigned long long seq, last = 0, ring = 0;
	bool have_last = false;
	unsigned long done = 0;
	const char *p, *nl, *end, *line;
	char digits[32];
	regmatch_t m[2];
	int fd;

	fd = dev_open(O_RDWR);
	if (fd < 0)
		return;
	if (drand48() < 0.5)
		cmd(fd, "all-netns");
	slurp(fd, &text);
	/* Whole lines only: what follows the last newline is not one. */
	end = memrchr(text.p, '\n', text.len);
	end = end ? end + 1 : text.p;
	if (text.len && end != text.p + text.len)
		fail("snapshot does not end with a newline");

	if (end == text.p) {
		fail("no header: ");
	} else {
		nl = memchr(text.p, '\n', end - text.p);
		line = copy_line(text.p, nl - text.p);
		if (regexec(&header_re, line, 2, m, 0))
			fail("no header: %s", line);
		else
			ring = group1(line, m, digits, sizeof(digits));
		for (p = nl + 1; p < end; p = nl + 1) {
			nl = memchr(p, '\n', end - p);
			line = copy_line(p, nl - p);
			if (line[0] == '#')
				continue;
			if (!regexec(&done_re, line, 2, m, 0)) {
				done++;
				seq = group1(line, m, digits, sizeof(digits));
				if (have_last && seq <= last)
					fail("done seq %s after %llu", digits, last);
				last = seq;
				have_last = true;
			} else if (regexec(&live_re, line, 0, NULL, 0)) {
				fail("not a record: %s", line);
			}
		}
	}
	if (done > 2 * ring)
		fail("%lu done records, more than twice a ring of %llu", done, ring);
	/* Seeking back reads the very same snapshot. */
	if (lseek(fd, 0, SEEK_SET) < 0)
		fail("lseek: %s", strerror(errno));
	slurp(fd, &again);
	if (again.len != text.len || memcmp(again.p, text.p, text.len))
		fail("the snapshot changed after lseek(0)");
	close(fd);
	ops++;
}

/* One header line, whole: "# tcptrace format=N ...\n". */
static bool one_header_line(const char *buf, ssize_t n)
{
	size_t start = strlen(HEADER_START), i = start;

	if (n < (ssize_t)start || memcmp(buf, HEADER_START, start))
		return false;
	while (i < (size_t)n && buf[i] >= '0' && buf[i] <= '9')
		i++;
	if (i == start || i >= (size_t)n || buf[i] != ' ')
		return false;
	return memchr(buf + i, '\n', n - i) == buf + n - 1;
}

static void follow(void)
{
	static char buf[READ_SIZE];
	unsigned long long seq, last = 0;
	bool have_last = false, epipe = false;
	const char *p, *nl, *end, *line;
	char digits[32];
	regmatch_t m[2];
	ssize_t n;
	int fd, reads;

	fd = dev_open(O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return;
	cmd(fd, "all-netns");
	cmd(fd, "follow");
	n = read(fd, buf, READ_SIZE);
	if (n < 0 || !one_header_line(buf, n)) {
		if (n < 0)
			fail("follow: the first read is not one header line: %s", strerror(errno));
		else
			fail("follow: the first read is not one header line: %zd", n);
		close(fd);
		return;
	}
	for (reads = 0; reads < 50; reads++) {
		n = read(fd, buf, READ_SIZE);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EPIPE) {
				epipe = true;
				continue;
			}
			fail("follow read: %s", strerror(errno));
			break;
		}
		if (!n)
			fail("follow read returned 0");
		if (!n || buf[n - 1] != '\n')
			fail("follow: a torn record");
		/* Its lines, empty ones too, but those at the end. */
		end = buf + n;
		while (end > buf && end[-1] == '\n')
			end--;
		for (p = buf; p < end; p = nl + 1) {
			nl = memchr(p, '\n', end - p);
			if (!nl)
				nl = end;
			line = copy_line(p, nl - p);
			if (regexec(&done_re, line, 2, m, 0)) {
				fail("follow: %s", line);
				continue;
			}
			seq = group1(line, m, digits, sizeof(digits));
			if (have_last) {
				if (epipe && !(seq > last + 1))
					fail("seq %s after %llu and EPIPE", digits, last);
				else if (!epipe && seq != last + 1)
					fail("seq %s after %llu, no EPIPE", digits, last);
			}
			last = seq;
			have_last = true;
			epipe = false;
		}
	}
	close(fd);
	ops++;
}

static int reader(void)
{
	unsigned long turn = 0;

	on_signal(SIGUSR1, on_usr1_pause);
	on_signal(SIGUSR2, on_usr2_resume);
	on_signal(SIGTERM, on_term_stop);
	srand48(strtol(seed, NULL, 10));
	compile(&done_re, DONE_RE);
	compile(&live_re, LIVE_RE);
	compile(&header_re, HEADER_RE);

	status("run");
	while (!stopped) {
		if (paused) {
			status("paused");
			while (paused && !stopped)
				nap(0.02);
			status("run");
			continue;
		}
		if (turn++ % 2)
			follow();
		else
			snapshot();
		status("run");
		nap(drand48() * 0.05);
	}
	status("stopped");
	return fails ? 1 : 0;
}

/* ---- follower ---------------------------------------------------------- */

static int follower(const char *out_path)
{
	static const char *const cmds[] = { "all-netns\n", "follow\n" };
	bool ready = false;
	struct pollfd pfd;
	char *buf;
	ssize_t n;
	FILE *out, *s;
	size_t i;

	on_signal(SIGTERM, on_term_stop);
	on_signal(SIGUSR1, on_usr1_quit);
	pfd.fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (pfd.fd < 0)
		die("open %s: %s", dev, strerror(errno));
	pfd.events = POLLIN;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (write(pfd.fd, cmds[i], strlen(cmds[i])) <= 0)
			die("%.*s: %s", (int)strlen(cmds[i]) - 1, cmds[i], strerror(errno));
	out = fopen(out_path, "w");
	if (!out)
		die("%s: %s", out_path, strerror(errno));
	buf = malloc(FOLLOW_READ_SIZE);
	if (!buf)
		die("out of memory");
	while (!quit) {
		n = read(pfd.fd, buf, FOLLOW_READ_SIZE);
		if (n >= 0) {
			fwrite(buf, 1, n, out);
			if (!ready) {
				ready = true;
				s = fopen(status_path, "w");
				if (!s)
					die("%s: %s", status_path, strerror(errno));
				fputs("ready\n", s);
				fclose(s);
			}
		} else if (errno == EPIPE) {
			fputs("#EPIPE\n", out);
		} else if (errno == EAGAIN) {
			if (stopped)
				break;
			poll(&pfd, 1, 200);
		} else if (errno != EINTR) {
			die("read: %s", strerror(errno));
		}
	}
	free(buf);
	close(pfd.fd);
	if (fclose(out))
		die("%s: %s", out_path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *role = argc > 1 ? argv[1] : "";

	if (!strcmp(role, "modctl") && argc == 2)
		return modctl();
	if (!strcmp(role, "reader") && argc == 5) {
		dev = argv[2];
		status_path = argv[3];
		seed = argv[4];
		return reader();
	}
	if (!strcmp(role, "follower") && argc == 5) {
		dev = argv[2];
		status_path = argv[4];
		return follower(argv[3]);
	}
	fprintf(stderr, "usage: %s modctl\n"
		"       %s reader DEVICE STATUS SEED\n"
		"       %s follower DEVICE OUTPUT STATUS\n", argv[0], argv[0], argv[0]);
	return 2;
}
