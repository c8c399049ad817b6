// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace record: run COMMAND and capture the histories of the sockets
 * that lived while it ran, as perf record or strace -o do for their data.
 *
 * A run, in order:
 *
 *   1. open the capture FILE (-o, default tcptrace.cap);
 *   2. open /dev/tcptrace; if there is none and no module is loaded, load
 *      one (--ko, $TCPTRACE_KO, else "modprobe tcptrace") and remember to
 *      unload it at the end;
 *   3. on that open file, "follow" and "all-netns" (when refused, only our
 *      network namespace is recorded: the summary says which); read the
 *      header; lseek(SEEK_END) so that histories done before now are
 *      skipped; write the header to FILE: FILE is now ready (its first
 *      line is complete), which is the readiness signal of a recorder
 *      started in the background;
 *   4. t_start; fork and exec COMMAND (or, without one, wait for SIGINT
 *      or SIGTERM); stream every done history to FILE as it completes,
 *      in a poll() loop that also watches a signalfd for SIGCHLD and for
 *      SIGINT/SIGTERM, which are forwarded to COMMAND when a process sent
 *      them (from a terminal, COMMAND got its own already);
 *   5. COMMAND exits: t_end; drain what the follower still has (without
 *      waiting) and take one snapshot (a second open, with all-netns too):
 *      its done histories that the stream had not reached yet are added,
 *      its live ones held back; then drain the follower once more, for
 *      the histories that completed after the snapshot copied them live
 *      (or in the moment between the table and the ring that a snapshot
 *      cannot see, Documentation/tcptrace.rst): each done record there
 *      replaces the live record of the same life (id and t0). The held
 *      live records go last;
 *   6. unload the module if we loaded it; print the summary from FILE.
 *
 * Which histories are captured (the selection rule, also in tcptrace.1):
 *
 *   done   it ended at or after t_start (its last step's time) and began
 *          at or before t_end (its t0): it completed while COMMAND ran,
 *          or was live at its end and completed before the last drain;
 *   live   one of its steps (t0 included) is in [t_start, t_end]: the
 *          socket still open at the end did something while COMMAND ran.
 *
 * The capture's layout (every line in the device's format, so that
 * "tcptrace -r FILE" and every view read it; "# record:" lines are
 * comments that readers skip, and that the summary reads back):
 *
 *   # tcptrace format=2 now=... ...       the follower's header, as read
 *   # origin host=NAME boot_id=UUID       this machine (origin.h)
 *   # record: start=NS netns=all|own command=ARGV0
 *   done ...                              streamed while COMMAND ran
 *   # record: lost=N after_seq=A seq=B     an overrun (EPIPE): N histories,
 *   done ...                              seq A+1 to B-1, never read
 *   done ...                              from the final snapshot, then
 *                                         the follower's last drain
 *   live ...                              the final snapshot's
 *   # record: end=NS status=S
 *
 * Nothing is lost silently: when the ring overwrote histories before they
 * were read, the follower's read fails with EPIPE once; the first done
 * record after it, minus the last one before it, minus one, is the exact
 * number lost (lost=N). Only an overrun before the first record was ever
 * read has no count (lost=unknown): that needs ring_size histories to
 * complete between the start and the first wake-up of the loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "origin.h"
#include "parse.h"
#include "record.h"

#define ME			"tcptrace: record"
#define DEFAULT_OUTPUT		"tcptrace.cap"
#define SYSFS_MODULE		"/sys/module/tcptrace"
#define MODULE_NAME		"tcptrace"
#define COMMENT			"# record: "
/* How long to wait for the device node after a load, and for an unload. */
#define NODE_WAIT_MS		2000
#define UNLOAD_WAIT_MS		5000

struct rec_options {
	const char *output;
	const char *ko;		/* --ko, else $TCPTRACE_KO, else modprobe */
	const char *report;	/* --report=FILE: summarize FILE only */
	bool ktap;
	char **command;		/* NULL: until SIGINT or SIGTERM */
};

/* Where a line of the device comes from. */
enum source {
	FROM_STREAM,	/* the follower, while COMMAND runs */
	FROM_SNAPSHOT,	/* the final snapshot */
	FROM_LATE,	/* the follower, after the final snapshot */
};

/* A live record of the final snapshot, written after the last drain. */
struct held_live {
	uint64_t id, t0;	/* the life: a socket may connect again */
	char *line;
	size_t len;
};

struct recorder {
	const struct rec_options *opt;
	FILE *out;
	int dev;		/* the follower */
	int sigfd;
	bool all_netns;
	bool loaded;		/* we loaded the module: unload it */
	bool complete;		/* the capture is whole: keep it, summarize it */
	uint64_t t_start, t_end;
	bool has_seq;
	uint64_t last_seq;	/* of the last done record read */
	bool lost_pending;	/* EPIPE: the next done record says how many */
	bool header_seen;
	bool format_error;	/* a header this reader does not know */
	bool out_of_memory;
	unsigned long malformed;
	struct held_live *held;	/* the final snapshot's live records */
	size_t nr_held, held_max;
	size_t carry;		/* bytes of an unfinished line at buf[0] */
	char buf[TT_INPUT_BUF];
	struct tt_line parsed;
};

static const char usage_text[] =
	"Usage: tcptrace record [OPTION]... [--] [COMMAND [ARG]...]\n"
	"Run COMMAND and capture the histories of the TCP sockets that lived\n"
	"while it ran, from " TCPTRACE_DEVICE ", into a capture file that\n"
	"'tcptrace -r FILE' and every view read. Without COMMAND, record until\n"
	"SIGINT or SIGTERM. The module is loaded if it is not, and then unloaded.\n"
	"\n"
	"  -o, --output=FILE      write the capture to FILE (default " DEFAULT_OUTPUT ")\n"
	"      --ko=PATH          load this tcptrace.ko if the module is not loaded\n"
	"                         (default: $TCPTRACE_KO, else 'modprobe tcptrace')\n"
	"      --ktap             summary as KTAP comment lines ('# ...') on stdout;\n"
	"                         when COMMAND fails, also every history that ended\n"
	"                         abnormally or is still live, in full\n"
	"      --report=FILE      print the summary and the abnormal and live\n"
	"                         histories of capture FILE, and exit\n"
	"  -h, --help             print this help and exit\n"
	"\n"
	"Exit status: COMMAND's, or 128+N if a signal N killed it; 0 when recording\n"
	"without COMMAND ends on SIGINT or SIGTERM; 125 if tcptrace failed (usage,\n"
	"no module, no permission, another format, FILE not written); 126 if COMMAND\n"
	"could not be run; 127 if it was not found. See tcptrace(1).\n";

/* "tcptrace record: MESSAGE@tail" on standard error; TT_RECORD_FAILED. */
__attribute__((format(printf, 2, 0)))
static int vmessage(const char *tail, const char *fmt, va_list ap)
{
	fputs(ME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	return TT_RECORD_FAILED;
}

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vmessage("\n", fmt, ap);
	va_end(ap);
	return ret;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- options ------------------------------------------------------------ */

enum { OPT_KO = 256, OPT_KTAP, OPT_REPORT };

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "ko",     required_argument, NULL, OPT_KO },
	{ "ktap",   no_argument,       NULL, OPT_KTAP },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "help",   no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vmessage(" (try 'tcptrace record --help')\n", fmt, ap);
	va_end(ap);
	return ret;
}

/* -1 to go on, or the exit status. */
static int parse_options(int argc, char *argv[], struct rec_options *opt)
{
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->output = DEFAULT_OUTPUT;
	opterr = 0;
	optind = 1;
	/* '+': the first argument that is not an option is COMMAND. */
	while ((c = getopt_long(argc, argv, "+:o:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return usage_error("empty file name for --output");
			opt->output = optarg;
			break;
		case OPT_KO:
			if (!*optarg)
				return usage_error("empty file name for --ko");
			opt->ko = optarg;
			break;
		case OPT_KTAP:
			opt->ktap = true;
			break;
		case OPT_REPORT:
			if (!*optarg)
				return usage_error("empty file name for --report");
			opt->report = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		opt->command = argv + optind;
	if (opt->report && opt->command)
		return usage_error("--report reads a capture: no COMMAND");
	if (!opt->ko) {
		const char *env = getenv("TCPTRACE_KO");

		if (env && *env)
			opt->ko = env;
	}
	return -1;
}

/* ---- the module --------------------------------------------------------- */

static bool module_present(void)
{
	return access(SYSFS_MODULE, F_OK) == 0;
}

/* Run "modprobe -q tcptrace": its exit status, or -1 if it could not run. */
static int run_modprobe(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { "modprobe", "-q", MODULE_NAME, NULL };

		execvp(argv[0], argv);
		/* Not in a non-root PATH: where Debian puts it. */
		execv("/sbin/modprobe", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Load the module: 0, or -1 after saying why. */
static int load_module(struct recorder *r)
{
	const char *ko = r->opt->ko;
	int fd, status;

	if (!ko) {
		status = run_modprobe();
		if (status == 0) {
			r->loaded = true;
			return 0;
		}
		fail("no tcptrace module loaded, and 'modprobe " MODULE_NAME
		     "' failed (exit %d); name a tcptrace.ko with --ko or TCPTRACE_KO", status);
		return -1;
	}
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("cannot load the module: %s: %s", ko, strerror(errno));
		return -1;
	}
	if (syscall(SYS_finit_module, fd, "", 0) != 0) {
		int error = errno;

		close(fd);
		if (error == EEXIST)	/* someone else loaded it meanwhile */
			return 0;
		fail("cannot load the module: %s: %s%s", ko, strerror(error),
		     error == EPERM ? " (loading needs CAP_SYS_MODULE)" : "");
		return -1;
	}
	close(fd);
	r->loaded = true;
	return 0;
}

/* Unload the module we loaded, once no reader holds it. */
static bool unload_module(void)
{
	int waited;

	for (waited = 0; ; waited += 100) {
		if (syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) == 0)
			return true;
		if ((errno != EWOULDBLOCK && errno != EAGAIN) || waited >= UNLOAD_WAIT_MS)
			break;
		sleep_ms(100);
	}
	fprintf(stderr, ME ": cannot unload the module it loaded: %s\n", strerror(errno));
	return false;
}

/* ---- the device --------------------------------------------------------- */

static void report_device_error(const char *what)
{
	const char *hint = "";

	if (errno == EACCES || errno == EPERM)
		hint = " (recording needs root: CAP_NET_ADMIN)";
	else if (errno == ENOENT)
		hint = " (the module is loaded, but its device node is missing)";
	fail(TCPTRACE_DEVICE ": %s%s%s%s", what ? what : "", what ? ": " : "",
	     strerror(errno), hint);
}

/* Open the device, loading the module if there is none: fd or -1. */
static int open_device(struct recorder *r)
{
	int fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC), waited;

	if (fd >= 0 || errno != ENOENT || module_present()) {
		if (fd < 0)
			report_device_error(NULL);
		return fd;
	}
	if (load_module(r) < 0)
		return -1;
	/* devtmpfs makes the node at once; udev, on some systems, later. */
	for (waited = 0; ; waited += 20) {
		fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || waited >= NODE_WAIT_MS)
			break;
		sleep_ms(20);
	}
	if (fd < 0)
		report_device_error(NULL);
	return fd;
}

/* ---- the capture -------------------------------------------------------- */

static uint64_t record_end(const struct tt_record *rec)
{
	return rec->nr_steps ? rec->t0 + rec->steps[rec->nr_steps - 1].t_ns : rec->t0;
}

/* The selection rule of the comment at the top. */
static bool in_window(const struct recorder *r, const struct tt_record *rec)
{
	unsigned int i;

	if (rec->kind == TT_KIND_DONE)
		return (record_end(rec) >= r->t_start || rec->dropped) &&
		       rec->t0 <= r->t_end;
	if (rec->t0 >= r->t_start && rec->t0 <= r->t_end)
		return true;
	for (i = 0; i < rec->nr_steps; i++) {
		uint64_t t = rec->t0 + rec->steps[i].t_ns;

		if (t >= r->t_start && t <= r->t_end)
			return true;
	}
	return false;
}

static void put(struct recorder *r, const char *line, size_t len)
{
	fwrite(line, 1, len, r->out);
}

/* A done record after an EPIPE: write down how many were lost. */
static void note_seq(struct recorder *r, const struct tt_record *rec)
{
	if (r->lost_pending) {
		if (r->has_seq && rec->seq > r->last_seq)
			fprintf(r->out, COMMENT "lost=%" PRIu64 " after_seq=%" PRIu64
				" seq=%" PRIu64 "\n", rec->seq - r->last_seq - 1,
				r->last_seq, rec->seq);
		else
			fprintf(r->out, COMMENT "lost=unknown seq=%" PRIu64 "\n", rec->seq);
		r->lost_pending = false;
	}
	r->has_seq = true;
	r->last_seq = rec->seq;
}

/* Hold a live record of the snapshot: false when out of memory. */
static bool hold_live(struct recorder *r, const struct tt_record *rec,
		      const char *line, size_t len)
{
	struct held_live *h;

	if (r->nr_held == r->held_max) {
		size_t max = r->held_max ? 2 * r->held_max : 64;

		h = realloc(r->held, max * sizeof(*h));
		if (!h)
			return false;
		r->held = h;
		r->held_max = max;
	}
	h = &r->held[r->nr_held];
	h->line = malloc(len);
	if (!h->line)
		return false;
	memcpy(h->line, line, len);
	h->len = len;
	h->id = rec->id;
	h->t0 = rec->t0;
	r->nr_held++;
	return true;
}

static int held_cmp(const void *a, const void *b)
{
	const struct held_live *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* A history done after the snapshot: its live record there is stale. */
static void drop_held(struct recorder *r, const struct tt_record *rec)
{
	struct held_live key = { .id = rec->id, .t0 = rec->t0 }, *h;

	if (!r->nr_held)
		return;
	h = bsearch(&key, r->held, r->nr_held, sizeof(*h), held_cmp);
	if (h) {
		free(h->line);
		h->line = NULL;
	}
}

/* One line of the device, from @from. */
static void handle_line(struct recorder *r, const char *line, size_t len, enum source from)
{
	char err[TT_ERR_MAX];
	const struct tt_record *rec = &r->parsed.record;

	switch (tt_parse_line(line, len, &r->parsed, err)) {
	case TT_LINE_HEADER:
		if (!r->header_seen) {
			struct tt_origin origin;

			put(r, line, len);
			/* Where it was taken, for reading captures of many hosts. */
			if (tt_origin_local(&origin))
				tt_origin_write(r->out, &origin);
		}
		r->header_seen = true;
		return;
	case TT_LINE_UNSUPPORTED:
		if (!r->header_seen)
			fprintf(stderr, ME ": " TCPTRACE_DEVICE ": %s\n", err);
		r->format_error = true;
		return;
	case TT_LINE_ERROR:
		if (!r->malformed++)
			fprintf(stderr, ME ": " TCPTRACE_DEVICE ": %s (left out)\n", err);
		return;
	case TT_LINE_RECORD:
		break;
	default:
		return;
	}
	if (rec->kind != TT_KIND_DONE) {
		if (from == FROM_SNAPSHOT && in_window(r, rec) && !hold_live(r, rec, line, len))
			r->out_of_memory = true;
		return;
	}
	/* The snapshot and the last drain repeat what came before: after it only. */
	if (from != FROM_STREAM && r->has_seq && rec->seq <= r->last_seq)
		return;
	/*
	 * Gaps are losses only after an EPIPE, or when this reader sees
	 * every namespace (a gap in the snapshot is then an overwritten
	 * history).
	 */
	if (from == FROM_SNAPSHOT && r->all_netns && r->has_seq && rec->seq > r->last_seq + 1)
		r->lost_pending = true;
	note_seq(r, rec);
	if (from == FROM_LATE)
		drop_held(r, rec);
	if (in_window(r, rec))
		put(r, line, len);
}

/*
 * Read what @fd has (until EAGAIN, or end of file for a snapshot) into the
 * capture. 0, or -1 with errno set.
 */
static int pump(struct recorder *r, int fd, enum source from)
{
	for (;;) {
		ssize_t n = read(fd, r->buf + r->carry, sizeof(r->buf) - r->carry);
		char *start, *nl, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE && from != FROM_SNAPSHOT) {
			r->lost_pending = true;
			continue;
		}
		if (n < 0)
			return errno == EAGAIN && from != FROM_SNAPSHOT ? 0 : -1;
		if (n == 0) {
			if (r->carry)
				handle_line(r, r->buf, r->carry, from);
			r->carry = 0;
			return 0;
		}
		start = r->buf;
		end = r->buf + r->carry + n;
		while ((nl = memchr(start, '\n', end - start))) {
			handle_line(r, start, nl + 1 - start, from);
			start = nl + 1;
		}
		r->carry = end - start;
		if (r->carry == sizeof(r->buf))
			r->carry = 0;	/* no line is that long: drop it */
		memmove(r->buf, start, r->carry);
		if (r->format_error || r->out_of_memory) {
			errno = r->format_error ? EPROTO : ENOMEM;
			return -1;
		}
	}
}

/*
 * The first read of a follower returns the header line and nothing else:
 * one read, so that no record before the lseek() is taken. 0, or -1.
 */
static int read_header(struct recorder *r)
{
	struct pollfd pfd = { .fd = r->dev, .events = POLLIN };
	const char *nl;
	ssize_t n;

	for (;;) {
		n = read(r->dev, r->buf, sizeof(r->buf));
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
		if (errno == EAGAIN && poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
	if (n < 0)
		return -1;
	nl = memchr(r->buf, '\n', n);
	if (nl)
		handle_line(r, r->buf, nl + 1 - r->buf, FROM_STREAM);
	return 0;
}

/* The follower: 0, or an exit status after saying why. */
static int start_follower(struct recorder *r)
{
	int flags;

	r->dev = open_device(r);
	if (r->dev < 0)
		return TT_RECORD_FAILED;
	if (tt_device_command(r->dev, TCPTRACE_CMD_FOLLOW) < 0) {
		report_device_error(TCPTRACE_CMD_FOLLOW);
		return TT_RECORD_FAILED;
	}
	r->all_netns = tt_device_command(r->dev, TCPTRACE_CMD_ALL_NETNS) == 0;
	if (!r->all_netns && errno != EPERM) {
		report_device_error(TCPTRACE_CMD_ALL_NETNS);
		return TT_RECORD_FAILED;
	}
	flags = fcntl(r->dev, F_GETFL);
	if (flags < 0 || fcntl(r->dev, F_SETFL, flags | O_NONBLOCK) < 0)
		return fail(TCPTRACE_DEVICE ": %s", strerror(errno));
	if (read_header(r) < 0)
		return fail(TCPTRACE_DEVICE ": %s", strerror(errno));
	if (r->format_error)
		return TT_RECORD_FAILED;
	if (!r->header_seen)
		return fail(TCPTRACE_DEVICE ": no header line");
	/* Only what completes from now on. */
	if (lseek(r->dev, 0, SEEK_END) < 0)
		return fail(TCPTRACE_DEVICE ": lseek: %s", strerror(errno));
	return 0;
}

/*
 * After COMMAND: what the follower has left, one snapshot, what the
 * follower got meanwhile, then the snapshot's live records that are
 * still live.
 */
static int finish_capture(struct recorder *r)
{
	size_t i;
	int fd;

	if (pump(r, r->dev, FROM_STREAM) < 0)
		return fail(TCPTRACE_DEVICE ": %s", strerror(errno));
	r->carry = 0;
	fd = open(TCPTRACE_DEVICE, (r->all_netns ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		report_device_error(NULL);
		return TT_RECORD_FAILED;
	}
	if (r->all_netns && tt_device_command(fd, TCPTRACE_CMD_ALL_NETNS) < 0) {
		report_device_error(TCPTRACE_CMD_ALL_NETNS);
		close(fd);
		return TT_RECORD_FAILED;
	}
	if (pump(r, fd, FROM_SNAPSHOT) < 0) {
		fail(TCPTRACE_DEVICE ": %s", strerror(errno));
		close(fd);
		return TT_RECORD_FAILED;
	}
	close(fd);
	if (r->nr_held)
		qsort(r->held, r->nr_held, sizeof(*r->held), held_cmp);
	r->carry = 0;
	if (pump(r, r->dev, FROM_LATE) < 0)
		return fail(TCPTRACE_DEVICE ": %s", strerror(errno));
	close(r->dev);
	r->dev = -1;
	if (r->lost_pending)	/* EPIPE, and no record after it */
		fputs(COMMENT "lost=unknown\n", r->out);
	for (i = 0; i < r->nr_held; i++)
		if (r->held[i].line)
			put(r, r->held[i].line, r->held[i].len);
	return 0;
}

/* ---- COMMAND ------------------------------------------------------------ */

/*
 * Start COMMAND with the signal mask @mask it should have: its pid, or -1
 * with *@status set (126, 127) after saying why.
 */
static pid_t start_command(char **argv, const sigset_t *mask, int *status)
{
	int pipefd[2], error = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*status = fail("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*status = fail("fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, mask, NULL);
		execvp(argv[0], argv);
		error = errno;
		if (write(pipefd[1], &error, sizeof(error)) < 0)
			_exit(TT_RECORD_NOEXEC);
		_exit(error == ENOENT ? TT_RECORD_NOTFOUND : TT_RECORD_NOEXEC);
	}
	close(pipefd[1]);
	/* End of file: exec succeeded; an errno: it failed. */
	do
		n = read(pipefd[0], &error, sizeof(error));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != (ssize_t)sizeof(error))
		return pid;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, ME ": cannot run '%s': %s\n", argv[0], strerror(error));
	*status = error == ENOENT ? TT_RECORD_NOTFOUND : TT_RECORD_NOEXEC;
	return -1;
}

static bool sent_by_a_process(const struct signalfd_siginfo *si)
{
	/* SI_USER (kill), SI_QUEUE, SI_TKILL; a terminal's is SI_KERNEL. */
	return (int)si->ssi_code <= 0;
}

/*
 * Record until COMMAND @pid exits (or, with none, until SIGINT or
 * SIGTERM). Its wait status in *@wstatus. 0, or an exit status.
 */
static int record_loop(struct recorder *r, pid_t pid, int *wstatus)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = r->dev, .events = POLLIN | POLLPRI },
			{ .fd = r->sigfd, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll: %s", strerror(errno));
		}
		if (pfd[0].revents) {
			if (pump(r, r->dev, FROM_STREAM) < 0)
				return fail(TCPTRACE_DEVICE ": %s", strerror(errno));
			if (fflush(r->out) != 0)
				return fail("%s: %s", r->opt->output, strerror(errno));
		}
		if (!(pfd[1].revents & POLLIN))
			continue;
		while ((n = read(r->sigfd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD) {
				pid_t got = waitpid(pid, wstatus, WNOHANG);

				if (got == pid)
					return 0;
				continue;
			}
			if (pid < 0)	/* no COMMAND: SIGINT or SIGTERM ends it */
				return 0;
			if (sent_by_a_process(&si) && kill(pid, (int)si.ssi_signo) < 0 &&
			    errno != ESRCH)
				return fail("kill: %s", strerror(errno));
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fail("signalfd: %s", strerror(errno));
	}
}

/* ---- the summary -------------------------------------------------------- */

struct summary {
	unsigned long done, live, anomalies, lost_events;
	uint64_t lost;
	bool lost_unknown;
	int netns;		/* 1 all, 0 own, -1 not said */
	unsigned long ends[TCPTRACE_NR_ENDS];
};

static bool has_anomaly(const struct tt_record *rec)
{
	unsigned int i;

	if (rec->unexpected || rec->dropped)
		return true;
	for (i = 0; i < rec->nr_steps; i++)
		if (rec->steps[i].gap || rec->steps[i].unexpected)
			return true;
	return false;
}

/* Ended abnormally, or is still live: printed in full by --ktap. */
static bool worth_showing(const struct tt_record *rec)
{
	if (rec->kind == TT_KIND_LIVE || has_anomaly(rec))
		return true;
	if (!(rec->has & TT_HAS_END))
		return false;
	switch (rec->end) {
	case TCPTRACE_END_RESET_SENT:
	case TCPTRACE_END_RESET_RECEIVED:
	case TCPTRACE_END_ABORTED:
	case TCPTRACE_END_REFUSED:
	case TCPTRACE_END_CONNECT_TIMEOUT:
	case TCPTRACE_END_TIMEOUT:
	case TCPTRACE_END_HANDSHAKE_FAILED:
	case TCPTRACE_END_EVICTED:
	case TCPTRACE_END_LOST:
		return true;
	default:
		return false;
	}
}

static void count_comment(struct summary *s, const char *line)
{
	const char *p;

	if (strncmp(line, COMMENT, strlen(COMMENT)) != 0)
		return;
	if (strstr(line, " netns=all"))
		s->netns = 1;
	else if (strstr(line, " netns=own"))
		s->netns = 0;
	p = strstr(line, COMMENT "lost=");
	if (p != line)
		return;
	p += strlen(COMMENT "lost=");
	s->lost_events++;
	if (strncmp(p, "unknown", 7) == 0)
		s->lost_unknown = true;
	else
		s->lost += strtoull(p, NULL, 10);
}

/*
 * Read capture @path; with @show, print the histories worth showing as
 * "# " lines on @out. -1 if it cannot be read.
 */
static int summarize(const char *path, struct summary *s, FILE *out, bool show,
		     struct tt_line *parsed)
{
	char err[TT_ERR_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "re");
	bool titled = false;

	memset(s, 0, sizeof(*s));
	s->netns = -1;
	if (!f)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		enum tt_line_type type = tt_parse_line(line, (size_t)len, parsed, err);
		const struct tt_record *rec = &parsed->record;

		if (type == TT_LINE_COMMENT)
			count_comment(s, line);
		if (type != TT_LINE_RECORD)
			continue;
		if (rec->kind == TT_KIND_LIVE) {
			s->live++;
		} else {
			s->done++;
			if (rec->has & TT_HAS_END && rec->end < TCPTRACE_NR_ENDS)
				s->ends[rec->end]++;
		}
		if (has_anomaly(rec))
			s->anomalies++;
		if (show && worth_showing(rec)) {
			if (!titled)
				fputs("# tcptrace record: histories that ended abnormally or are still live:\n", out);
			titled = true;
			fprintf(out, "# %.*s\n", (int)(len - (line[len - 1] == '\n')), line);
		}
	}
	free(line);
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static void print_summary(const char *path, const struct summary *s, FILE *out,
			  const char *prefix)
{
	const char *sep = "";
	unsigned int i;

	fprintf(out, "%stcptrace record: %lu histories in %s: %lu done, %lu still live%s\n",
		prefix, s->done + s->live, path, s->done, s->live,
		s->netns == 1 ? " (all network namespaces)" :
		s->netns == 0 ? " (this network namespace only: all-netns was refused)" : "");
	fprintf(out, "%stcptrace record: ends:", prefix);
	for (i = 0; i < TCPTRACE_NR_ENDS; i++) {
		if (!s->ends[i])
			continue;
		fprintf(out, "%s %s %lu", sep, tt_end_name(i), s->ends[i]);
		sep = ",";
	}
	fprintf(out, "%s\n", *sep ? "" : " none");
	fprintf(out, "%stcptrace record: anomalies: %lu (histories with unexpected, missed or dropped steps)\n",
		prefix, s->anomalies);
	if (!s->lost_events)
		fprintf(out, "%stcptrace record: lost: none\n", prefix);
	else
		fprintf(out, "%stcptrace record: lost: %" PRIu64 "%s histories overwritten before they were read\n",
			prefix, s->lost, s->lost_unknown ? " and an unknown number of" : "");
}

/* The summary of @path, and with @show its abnormal and live histories. */
static int report(const char *path, bool ktap, bool show)
{
	FILE *out = ktap ? stdout : stderr;
	struct tt_line *parsed = malloc(sizeof(*parsed));
	struct summary s;
	int ret;

	if (!parsed)
		return fail("%s", strerror(ENOMEM));
	ret = summarize(path, &s, out, show, parsed);
	free(parsed);
	if (ret < 0)
		return fail("%s: %s", path, strerror(errno));
	print_summary(path, &s, out, ktap ? "# " : "");
	fflush(out);
	return 0;
}

/* ---- the whole run ------------------------------------------------------ */

static int exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return TT_RECORD_FAILED;
}

static int close_output(struct recorder *r)
{
	int error = 0;

	if (fflush(r->out) != 0 || ferror(r->out))
		error = errno ? errno : EIO;
	if (fclose(r->out) != 0 && !error)
		error = errno;
	r->out = NULL;
	if (error)
		return fail("%s: %s", r->opt->output, strerror(error));
	return 0;
}

static int run(struct recorder *r, const sigset_t *old_mask)
{
	const struct rec_options *opt = r->opt;
	int status = 0, wstatus = 0;
	pid_t pid = -1;

	status = start_follower(r);
	if (status)
		return status;
	r->t_end = UINT64_MAX;	/* until COMMAND exits */
	r->t_start = monotonic_ns();
	fprintf(r->out, COMMENT "start=%" PRIu64 " netns=%s command=%s\n", r->t_start,
		r->all_netns ? "all" : "own", opt->command ? opt->command[0] : "-");
	/* Readiness: the header and the start are in FILE. */
	if (fflush(r->out) != 0)
		return fail("%s: %s", opt->output, strerror(errno));
	if (opt->command) {
		pid = start_command(opt->command, old_mask, &status);
		if (pid < 0)
			return status;
	}
	status = record_loop(r, pid, &wstatus);
	if (status) {
		if (pid > 0) {	/* it runs on; wait for it as env(1) would */
			kill(pid, SIGTERM);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		return status;
	}
	r->t_end = monotonic_ns();
	status = finish_capture(r);
	if (status)
		return status;
	fprintf(r->out, COMMENT "end=%" PRIu64 " status=%d\n", r->t_end,
		pid > 0 ? exit_status(wstatus) : 0);
	r->complete = true;
	return pid > 0 ? exit_status(wstatus) : 0;
}

int tt_record_main(int argc, char *argv[])
{
	struct rec_options opt;
	struct recorder *r;
	sigset_t mask, old_mask;
	int status, fd;

	status = parse_options(argc, argv, &opt);
	if (status >= 0)
		return status;
	if (opt.report)
		return report(opt.report, opt.ktap, true);

	r = calloc(1, sizeof(*r));
	if (!r)
		return fail("%s", strerror(ENOMEM));
	r->opt = &opt;
	r->dev = -1;

	/*
	 * The signals come through a signalfd, read in the loop: blocked from
	 * now on (even ignored ones are then delivered), restored for COMMAND.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &old_mask) < 0) {
		free(r);
		return fail("sigprocmask: %s", strerror(errno));
	}
	r->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sigfd < 0) {
		free(r);
		return fail("signalfd: %s", strerror(errno));
	}

	fd = open(opt.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	r->out = fd < 0 ? NULL : fdopen(fd, "w");
	if (!r->out) {
		status = fail("%s: %s", opt.output, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	status = run(r, &old_mask);
	if (r->dev >= 0)
		close(r->dev);
	r->dev = -1;
	if (close_output(r) != 0) {
		status = TT_RECORD_FAILED;
		r->complete = false;
	}
	if (r->loaded)
		unload_module();
	if (!r->complete)
		unlink(opt.output);	/* a failure: no capture, not half of one */
	else if (report(opt.output, opt.ktap, opt.ktap && opt.command && status != 0))
		status = TT_RECORD_FAILED;
out:
	if (r->out)
		fclose(r->out);
	close(r->sigfd);
	while (r->nr_held)
		free(r->held[--r->nr_held].line);
	free(r->held);
	free(r);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return status;
}
