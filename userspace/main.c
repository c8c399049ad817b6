// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: show the TCP socket histories recorded by the tcptrace module,
 * from /dev/tcptrace or from a saved capture.
 *
 * Lines are parsed one at a time and handed to the chosen view (views.h);
 * only --ladder holds records, up to a bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binary.h"
#include "capture.h"
#include "expect.h"
#include "filter.h"
#include "input.h"
#include "origin.h"
#include "output.h"
#include "parse.h"
#include "record.h"
#include "views.h"

#define TOOL_VERSION	"1.0"

/* --interval: its default, and the longest (a day) that is not a typo. */
#define METRICS_INTERVAL_DEFAULT	60
#define METRICS_INTERVAL_MAX		86400

enum exit_status {
	EXIT_OK = 0,
	EXIT_TROUBLE = 1,	/* unreadable input, malformed lines, write error */
	EXIT_USAGE = 2,
};

enum view_kind {
	VIEW_TABLE,
	VIEW_TIMELINE,
	VIEW_LADDER,
	VIEW_SUMMARY,
	VIEW_GRAPH,
	VIEW_STATS,
	VIEW_METRICS,
	VIEW_EXPECT,
};

enum color_when {
	COLOR_AUTO,
	COLOR_ALWAYS,
	COLOR_NEVER,
};

struct options {
	/* -r, in order: paths, "-" for standard input; none: the device. */
	const char **inputs;
	size_t nr_inputs;
	bool read_given;	/* -r: captures, not the device */
	const char *write_file;	/* -w: a binary capture of the device, "-": stdout */
	enum view_kind view;
	const char *view_option;	/* the option that chose it, for messages */
	bool json;
	bool follow;
	bool all_netns;
	const char *metrics_file;	/* --metrics-file, or NULL: stdout */
	bool metrics_netns;		/* --metrics-netns */
	unsigned int interval;		/* --interval, seconds; 0 if not given */
	enum color_when color;
	struct tt_style style;
	struct tt_filter filter;
	struct tt_expect_set *expect;	/* --expect, in the order given */
};

/*
 * Set by the SIGINT and SIGTERM handlers while following: the one piece of
 * state a signal handler can share.
 */
static volatile sig_atomic_t stop_requested;

static const char usage_text[] =
	"Usage: tcptrace [OPTION]...\n"
	"  or:  tcptrace record [OPTION]... [--] [COMMAND [ARG]...]\n"
	"Show the TCP socket histories recorded by the tcptrace module; record\n"
	"those of COMMAND's run into a capture (see 'tcptrace record --help').\n"
	"\n"
	"Input:\n"
	"  -r, --read=FILE        read a saved capture from FILE ('-' for standard\n"
	"                         input) instead of " TCPTRACE_DEVICE "; repeatable:\n"
	"                         captures of many hosts, read as one input; text,\n"
	"                         binary (-w) or JSON (--json), whichever each is\n"
	"  -w, --write=FILE       save the device's records, as read, in a binary\n"
	"                         capture ('-' for standard output) instead of\n"
	"                         showing them; with selection options, those\n"
	"                         selected\n"
	"  -f, --follow           show histories as they complete, until interrupted\n"
	"      --all-netns        show every network namespace (needs CAP_NET_ADMIN)\n"
	"\n"
	"Views (default: a table, one row per socket):\n"
	"      --timeline         each socket's states, when entered and how long\n"
	"      --ladder           both ends of each connection, side by side\n"
	"      --summary          counts, time in each state, anomalies\n"
	"      --graph            the state machine seen, as a Graphviz DOT graph\n"
	"  -s, --stats            the header's counters only\n"
	"      --metrics          counters and histograms for Prometheus (OpenMetrics)\n"
	"      --metrics-file=FILE  write them to FILE (atomically) instead of stdout\n"
	"      --metrics-netns    label the histories' metrics with their network\n"
	"                         namespace (netns=\"INODE\", at most 256)\n"
	"      --interval=N       following, rewrite FILE every N seconds (default 60)\n"
	"  -j, --json             JSON: one object per socket (JSON Lines), or the\n"
	"                         summary or counters as one object\n"
	"\n"	"Assertions (KTAP; exit 1 if one does not hold), a mode of their own:\n"
	"      --expect=EXPECTATION  repeatable; EXPECTATION is\n"
	"                         [FILTERS:] [any|all|none|N] [exact] PATH[|PATH...]\n"
	"                         [end=REASON,...]  with FILTERS selection options\n"
	"                         as below, PATH as path= writes it without times\n"
	"                         (CLOSE>SYN_SENT>CLOSE)\n"
	"\n"
	"Selection (all must hold):\n"
	"  -4, --ipv4             IPv4 sockets\n"
	"  -6, --ipv6             IPv6 sockets\n"
	"  -L, --local-port=LIST  local port in LIST (80,443,8000-8099)\n"
	"  -D, --remote-port=LIST remote port in LIST\n"
	"      --addr=ADDR[/LEN]  local or remote address in this network\n"
	"      --state=STATE      went through STATE (or one of a LIST)\n"
	"      --end=REASON       ended so (or one of a LIST)\n"
	"      --rst-reason=NAME  sent a RST for this reason (or one of a LIST)\n"
	"      --pid=PID          owned by this process or thread (or a LIST)\n"
	"      --comm=NAME        owned by a task of this name\n"
	"      --netns=INODE      in this network namespace (or a LIST)\n"
	"      --min-lifetime=DURATION  lived at least this long (10ms, 2s)\n"
	"      --anomalies        with unexpected, missed or dropped steps\n"
	"\n"
	"Output:\n"
	"  -H, --no-header        omit the heading row of the table\n"
	"  -S, --ss               ss(8)'s state names (ESTAB, SYN-SENT, ...)\n"
	"  -n, --numeric          port numbers, not service names\n"
	"      --color[=WHEN]     colour: auto (on a terminal, without NO_COLOR),\n"
	"                         always or never\n"
	"  -h, --help             print this help and exit\n"
	"  -V, --version          print the version and exit\n"
	"\n"
	"Exit status: 0 if all went well (also when interrupted while following);\n"
	"1 if the input could not be read, had malformed lines or output failed,\n"
	"or an --expect did not hold;\n"
	"2 for a usage error.\n"
	"See tcptrace(1) and Documentation/tcptrace.rst for the input format.\n";

/* Long options without a short one. */
enum {
	OPT_ALL_NETNS = 256,
	OPT_TIMELINE,
	OPT_LADDER,
	OPT_SUMMARY,
	OPT_GRAPH,
	OPT_METRICS,
	OPT_METRICS_FILE,
	OPT_METRICS_NETNS,
	OPT_INTERVAL,
	OPT_COLOR,
	OPT_EXPECT,
};

static const struct option long_options[] = {
	{ "read",         required_argument, NULL, 'r' },
	{ "write",        required_argument, NULL, 'w' },
	{ "follow",       no_argument,       NULL, 'f' },
	{ "all-netns",    no_argument,       NULL, OPT_ALL_NETNS },
	{ "timeline",     no_argument,       NULL, OPT_TIMELINE },
	{ "ladder",       no_argument,       NULL, OPT_LADDER },
	{ "summary",      no_argument,       NULL, OPT_SUMMARY },
	{ "graph",        no_argument,       NULL, OPT_GRAPH },
	{ "metrics",      no_argument,       NULL, OPT_METRICS },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "metrics-netns", no_argument,      NULL, OPT_METRICS_NETNS },
	{ "interval",     required_argument, NULL, OPT_INTERVAL },
	{ "stats",        no_argument,       NULL, 's' },
	{ "json",         no_argument,       NULL, 'j' },
	TT_FILTER_LONG_OPTIONS,
	{ "no-header",    no_argument,       NULL, 'H' },
	{ "ss",           no_argument,       NULL, 'S' },
	{ "numeric",      no_argument,       NULL, 'n' },
	{ "color",        optional_argument, NULL, OPT_COLOR },
	{ "expect",       required_argument, NULL, OPT_EXPECT },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char short_options[] = ":r:w:fsj" TT_FILTER_SHORT_OPTIONS "HSnhV";

/*
 * For "--name=value" where --name takes no argument, the length of
 * "--name"; 0 for anything else.
 */
static size_t flag_given_a_value(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct option *o;
	size_t len;

	if (strncmp(arg, "--", 2) != 0 || !eq)
		return 0;
	len = eq - (arg + 2);
	for (o = long_options; o->name; o++)
		if (o->has_arg == no_argument && strlen(o->name) == len &&
		    strncmp(o->name, arg + 2, len) == 0)
			return len + 2;
	return 0;
}

/* The option getopt_long() just complained about, as the user wrote it. */
static void name_bad_option(char *argv[], char buf[], size_t size)
{
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0 || !optopt)
		snprintf(buf, size, "%s", arg);
	else
		snprintf(buf, size, "-%c", optopt);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tcptrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'tcptrace --help')\n", stderr);
	return EXIT_USAGE;
}

/* A second view option: only one view at a time. */
static int choose_view(struct options *opt, enum view_kind view, const char *name)
{
	if (opt->view_option && opt->view != view)
		return usage_error("options '%s' and '%s' cannot be combined",
				   opt->view_option, name);
	opt->view = view;
	opt->view_option = name;
	return -1;
}

static int parse_color(struct options *opt, const char *when)
{
	if (!when || strcmp(when, "always") == 0)
		opt->color = COLOR_ALWAYS;
	else if (strcmp(when, "auto") == 0)
		opt->color = COLOR_AUTO;
	else if (strcmp(when, "never") == 0)
		opt->color = COLOR_NEVER;
	else
		return usage_error("--color: expected auto, always or never, got '%s'", when);
	return -1;
}

static int parse_interval(struct options *opt, const char *arg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || n == 0 ||
	    n > METRICS_INTERVAL_MAX)
		return usage_error("--interval: expected seconds from 1 to %d, got '%s'",
				   METRICS_INTERVAL_MAX, arg);
	opt->interval = (unsigned int)n;
	return -1;
}

/* One option: -1 to go on, or an exit status. */
static int parse_option(int c, char *argv[], struct options *opt)
{
	char err[TT_FILTER_ERR_MAX];
	char bad[64];
	size_t flag_len, k;

	switch (c) {
	case 'r':
		if (!*optarg)
			return usage_error("empty file name for --read");
		for (k = 0; k < opt->nr_inputs; k++)
			if (strcmp(optarg, "-") == 0 && strcmp(opt->inputs[k], "-") == 0)
				return usage_error("standard input given twice to --read");
		opt->inputs[opt->nr_inputs++] = optarg;
		opt->read_given = true;
		return -1;
	case 'w':
		if (!*optarg)
			return usage_error("empty file name for --write");
		opt->write_file = optarg;
		return -1;
	case 'f':
		opt->follow = true;
		return -1;
	case OPT_ALL_NETNS:
		opt->all_netns = true;
		return -1;
	case OPT_TIMELINE:
		return choose_view(opt, VIEW_TIMELINE, "--timeline");
	case OPT_LADDER:
		return choose_view(opt, VIEW_LADDER, "--ladder");
	case OPT_SUMMARY:
		return choose_view(opt, VIEW_SUMMARY, "--summary");
	case OPT_GRAPH:
		return choose_view(opt, VIEW_GRAPH, "--graph");
	case OPT_METRICS:
		return choose_view(opt, VIEW_METRICS, "--metrics");
	case OPT_METRICS_FILE:
		if (!*optarg)
			return usage_error("empty file name for --metrics-file");
		opt->metrics_file = optarg;
		return -1;
	case OPT_METRICS_NETNS:
		opt->metrics_netns = true;
		return -1;
	case OPT_INTERVAL:
		return parse_interval(opt, optarg);
	case 's':
		return choose_view(opt, VIEW_STATS, "--stats");
	case 'j':
		opt->json = true;
		return -1;
	case 'H':
		opt->style.no_heading = true;
		return -1;
	case 'S':
		opt->style.ss_names = true;
		return -1;
	case 'n':
		opt->style.numeric = true;
		return -1;
	case OPT_COLOR:
		return parse_color(opt, optarg);
	case OPT_EXPECT:
		if (!tt_expect_add(&opt->expect, optarg)) {
			fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
			return EXIT_TROUBLE;
		}
		return choose_view(opt, VIEW_EXPECT, "--expect");
	case 'h':
		fputs(usage_text, stdout);
		return EXIT_OK;
	case 'V':
		printf("tcptrace %s (reads formats 1 to %d)\n", TOOL_VERSION,
		       TCPTRACE_FORMAT_VERSION);
		return EXIT_OK;
	case ':':
		name_bad_option(argv, bad, sizeof(bad));
		return usage_error("option '%s' needs an argument", bad);
	default:
		if (tt_filter_is_option(c))
			return tt_filter_option(&opt->filter, c, optarg, err) ? -1 :
			       usage_error("%s", err);
		name_bad_option(argv, bad, sizeof(bad));
		flag_len = flag_given_a_value(bad);
		if (flag_len)
			return usage_error("option '%.*s' takes no argument",
					   (int)flag_len, bad);
		return usage_error("unknown option '%s'", bad);
	}
}

/* Options that do not go together. */
static int check_options(const struct options *opt)
{
	char err[TT_EXPECT_ERR_MAX];

	if (opt->json && (opt->view == VIEW_TIMELINE || opt->view == VIEW_LADDER ||
			  opt->view == VIEW_GRAPH || opt->view == VIEW_METRICS ||
			  opt->view == VIEW_EXPECT))
		return usage_error("--json does not apply to %s", opt->view_option);
	if (opt->write_file && opt->read_given)
		return usage_error("--write saves " TCPTRACE_DEVICE "'s records, not a capture (--read)");
	if (opt->write_file && (opt->view_option || opt->json))
		return usage_error("--write saves records, it shows no view (%s)",
				   opt->json ? "--json" : opt->view_option);
	if (opt->follow && opt->read_given)
		return usage_error("--follow reads " TCPTRACE_DEVICE ", not a capture (--read)");
	if (opt->all_netns && opt->read_given)
		return usage_error("--all-netns applies to " TCPTRACE_DEVICE ", not to a capture (--read)");
	if (opt->follow && (opt->view == VIEW_STATS || opt->view == VIEW_EXPECT))
		return usage_error("--follow does not apply to %s", opt->view_option);
	if (opt->metrics_file && opt->view != VIEW_METRICS)
		return usage_error("--metrics-file needs --metrics");
	if (opt->metrics_netns && opt->view != VIEW_METRICS)
		return usage_error("--metrics-netns needs --metrics");
	if (opt->interval && !(opt->metrics_file && opt->follow))
		return usage_error("--interval needs --metrics-file and --follow");
	if (opt->view == VIEW_EXPECT && !tt_expect_compile(opt->expect, err)) {
		fprintf(stderr, "tcptrace: %s\n", err);
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * Fill @opt from the command line. Returns -1 to go on, or the exit status
 * for --help, --version and usage errors.
 */
static int parse_options(int argc, char *argv[], struct options *opt)
{
	int c, status;

	memset(opt, 0, sizeof(*opt));
	/* No more -r than arguments. */
	opt->inputs = calloc(argc, sizeof(*opt->inputs));
	if (!opt->inputs) {
		fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
		return EXIT_TROUBLE;
	}
	opterr = 0;		/* our messages are one line each */
	while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		status = parse_option(c, argv, opt);
		if (status >= 0)
			return status;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check_options(opt);
}

/* Colours on a terminal, unless NO_COLOR is set; --color decides otherwise. */
static bool use_color(const struct options *opt)
{
	const char *no_color = getenv("NO_COLOR");

	if (opt->color != COLOR_AUTO)
		return opt->color == COLOR_ALWAYS;
	return isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

/* ---- input -------------------------------------------------------------- */

static void report_open_error(const char *path, const char *what)
{
	const char *hint = "";

	if (strcmp(path, TCPTRACE_DEVICE) == 0) {
		if (errno == ENOENT)
			hint = " (is the module loaded?)";
		else if (errno == EACCES)
			hint = " (reading it needs root)";
		else if (errno == EPERM && !what)
			hint = " (opening it needs CAP_NET_ADMIN)";
		else if (errno == EPERM)
			hint = " (it needs CAP_NET_ADMIN in the initial network namespace)";
	}
	fprintf(stderr, "tcptrace: %s: %s%s%s%s\n", path, what ? what : "",
		what ? ": " : "", strerror(errno), hint);
}

/* The inputs: the captures of -r in order, or the device. */
static size_t nr_inputs(const struct options *opt)
{
	return opt->nr_inputs ? opt->nr_inputs : 1;
}

static const char *input_path(const struct options *opt, size_t i)
{
	return opt->nr_inputs ? opt->inputs[i] : TCPTRACE_DEVICE;
}

/* The layout of the UAPI header this reader is built with, or later. */
#define STRINGIFY(x)	#x
#define VERSION_TEXT(x)	STRINGIFY(x)
#define CMD_BINARY	TCPTRACE_CMD_BINARY VERSION_TEXT(TCPTRACE_BINARY_VERSION)

/*
 * Binary records from the device: no formatting in the kernel, no parsing
 * here. A module older than them does not know the command (EINVAL): the
 * text then, which reads the same, unless -w, which saves binary only.
 */
static int ask_binary(struct tt_input *in, const struct options *opt,
		      const char *path)
{
	if (tt_input_command(in, CMD_BINARY) == 0)
		return 0;
	if (errno == EINVAL && !opt->write_file)
		return 0;
	if (errno == EINVAL)
		fprintf(stderr, "tcptrace: %s: " CMD_BINARY ": %s (a module without binary records: 'tcptrace record' writes a text capture)\n",
			path, strerror(errno));
	else
		report_open_error(path, CMD_BINARY);
	return -1;
}

/*
 * What the views need of a binary record: the text of the addresses only
 * if they print them.
 */
static unsigned int decode_flags(const struct options *opt)
{
	if (opt->write_file || opt->view == VIEW_SUMMARY || opt->view == VIEW_GRAPH ||
	    opt->view == VIEW_METRICS || opt->view == VIEW_STATS)
		return TT_DECODE_NO_ADDR_TEXT;
	return 0;
}

/*
 * Open the capture or the device, and give the device its commands: it is
 * opened for writing too, for binary=1, but read in text as before where
 * a mode changed by hand lets it be read only.
 */
static int open_input(struct tt_input *in, const struct options *opt,
		      const char *path)
{
	bool device = !opt->read_given, binary = device;
	bool commands = opt->follow || opt->all_netns || opt->write_file;

	if (tt_input_open(in, path, device) < 0) {
		if (!device || commands || errno != EACCES ||
		    tt_input_open(in, path, false) < 0) {
			report_open_error(path, NULL);
			return -1;
		}
		binary = false;
	}
	in->decode = decode_flags(opt);
	if (opt->all_netns && tt_input_command(in, TCPTRACE_CMD_ALL_NETNS) < 0) {
		report_open_error(path, TCPTRACE_CMD_ALL_NETNS);
		tt_input_close(in);
		return -1;
	}
	if (binary && ask_binary(in, opt, path) < 0) {
		tt_input_close(in);
		return -1;
	}
	if (opt->follow && (tt_input_command(in, TCPTRACE_CMD_FOLLOW) < 0 ||
			    tt_input_follow(in, &stop_requested) < 0)) {
		report_open_error(path, TCPTRACE_CMD_FOLLOW);
		tt_input_close(in);
		return -1;
	}
	return 0;
}

/*
 * Open input *@i, or the first after it that opens, having said why the
 * others did not (and cleared *@ok). False when none is left.
 */
static bool open_next(struct tt_input *in, const struct options *opt,
		      size_t *i, bool *ok)
{
	for (; *i < nr_inputs(opt); (*i)++) {
		if (open_input(in, opt, input_path(opt, *i)) == 0)
			return true;
		*ok = false;
	}
	return false;
}

static void report_line(const struct tt_input *in, const char *message)
{
	char where[TT_WHERE_MAX];

	fprintf(stderr, "tcptrace: %s%s: %s\n", in->name, tt_input_where(in, where),
		message);
}

/*
 * The format requires the header first; say so once, at line 1. JSON
 * lines have none: each history is whole.
 */
static bool check_first_line(const struct tt_input *in)
{
	if (in->items != 1 || tt_input_is_header(in) || tt_input_is_json(in) ||
	    in->item == TT_ITEM_BAD)
		return true;
	report_line(in, "missing header line (the first line must be '"
		    TCPTRACE_HEADER_TAG " format=...')");
	return false;
}

/* After the last line: was there any, and did reading end cleanly? */
static bool check_end_of_input(const struct tt_input *in, int last_read)
{
	if (last_read < 0) {
		fprintf(stderr, "tcptrace: %s: %s\n", in->name, strerror(errno));
		return false;
	}
	if (in->items == 0) {
		fprintf(stderr, "tcptrace: %s: empty input (no header line)\n",
			in->name);
		return false;
	}
	return true;
}

/* ---- following ---------------------------------------------------------- */

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Following ends with SIGINT or SIGTERM (cleanly, status 0) or when the
 * reader of the output goes away (SIGPIPE ignored: the write fails with
 * EPIPE, and tcptrace ends quietly). Output is line-buffered.
 */
static void prepare_follow(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;	/* ppoll() returns EINTR all the same */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/*
 * Reading a capture, the views write records by the million: in writes of
 * STDOUT_BUF rather than stdio's st_blksize (4 KiB for a pipe or a file),
 * a sixteenth of the system calls. Not to a terminal, which stays line
 * buffered.
 */
#define STDOUT_BUF	65536

static void prepare_batch(void)
{
	static char buf[STDOUT_BUF];

	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, buf, _IOFBF, sizeof(buf));
}

/* What reading has seen so far, for the losses of follow mode. */
struct progress {
	bool ok;		/* no malformed line, no read error */
	/* The device's origin, this machine's; NULL for captures. */
	const struct tt_origin *local;
	bool section_has_record;	/* an origin line comes before them */
	bool lost_pending;	/* EPIPE: the next record tells how many */
	bool has_seq;
	uint64_t last_seq;	/* of the last done record */
	bool reader_gone;	/* stdout is a pipe nobody reads any more */
};

/* A done record after an EPIPE: report the seq gap as the histories lost. */
static void note_seq(struct progress *p, struct tt_view *view,
		     const struct tt_record *r)
{
	if (!(r->has & TT_HAS_SEQ))
		return;
	if (p->lost_pending) {
		bool known = p->has_seq && r->seq > p->last_seq;

		tt_view_lost(view, known, known ? r->seq - p->last_seq - 1 : 0, r->seq);
		p->lost_pending = false;
	}
	p->has_seq = true;
	p->last_seq = r->seq;
}

/* ---- the views ----------------------------------------------------------- */

static struct tt_view *make_view(const struct options *opt, const struct tt_input *in)
{
	switch (opt->view) {
	case VIEW_EXPECT:
		return tt_expect_view(stdout, &opt->style, opt->expect, in);
	case VIEW_TIMELINE:
		return tt_timeline_view(stdout, &opt->style);
	case VIEW_LADDER:
		return tt_ladder_view(stdout, &opt->style);
	case VIEW_SUMMARY:
		return tt_summary_view(stdout, &opt->style, opt->json);
	case VIEW_GRAPH:
		return tt_graph_view(stdout, &opt->style);
	case VIEW_METRICS:
		return tt_metrics_view(opt->metrics_file ? NULL : stdout, &opt->style,
				       opt->metrics_netns);
	default:
		return opt->json ? tt_json_view(stdout, &opt->style) :
				   tt_table_view(stdout, &opt->style);
	}
}

enum next_step {
	GO_ON,
	STOP,		/* a format this reader does not know: show what came before */
	GIVE_UP,	/* the view gave up (it said why): show nothing more */
};

/*
 * A JSON history says where it was recorded: one of another origin than
 * the section's starts a section of its own, as the captures the JSON was
 * made of were.
 */
static void json_origin(struct tt_view *view, struct progress *p,
			const struct tt_line *l)
{
	if (l->has_origin == view->has_origin &&
	    (!l->has_origin || tt_origin_same(&l->origin, &view->origin)))
		return;
	if (p->section_has_record || view->has_origin) {
		tt_view_section(view);
		p->section_has_record = false;
	}
	if (l->has_origin)
		tt_view_origin(view, &l->origin);
}

static enum next_step handle_line(struct tt_input *in, const struct options *opt,
				  struct tt_view *view, struct progress *p)
{
	char err[TT_ERR_MAX];
	struct tt_line parsed;

	switch (tt_input_parse(in, &parsed, err)) {
	case TT_LINE_RECORD:
		if (parsed.json)
			json_origin(view, p, &parsed);
		p->section_has_record = true;
		note_seq(p, view, &parsed.record);
		if (tt_filter_match(&opt->filter, &parsed.record) &&
		    !tt_view_record(view, &parsed.record)) {
			p->ok = false;
			return GIVE_UP;
		}
		return GO_ON;
	case TT_LINE_ERROR:
		report_line(in, err);
		p->ok = false;
		return GO_ON;
	case TT_LINE_UNSUPPORTED:
		/* Anything after it would be misread: stop here. */
		report_line(in, err);
		p->ok = false;
		return STOP;
	case TT_LINE_HEADER:
		/* A capture concatenated to another: a section of its own. */
		if (in->items > 1) {
			tt_view_section(view);
			p->section_has_record = false;
		}
		tt_view_header(view, &parsed.header);
		if (p->local)
			tt_view_origin(view, p->local);
		return GO_ON;
	case TT_LINE_LOST:
		tt_view_lost(view, parsed.lost.known, parsed.lost.n, parsed.lost.next_seq);
		return GO_ON;
	case TT_LINE_ORIGIN:
		/* The records before it were shown without it: too late. */
		if (p->section_has_record || view->has_origin) {
			report_line(in, view->has_origin ? "origin: a second origin line for this capture" :
				    "origin: after the capture's first record (it belongs right after the header)");
			p->ok = false;
			return GO_ON;
		}
		tt_view_origin(view, &parsed.origin);
		return GO_ON;
	default:	/* blank lines, comments, kinds from later versions */
		return GO_ON;
	}
}

/* Did the last write fail because nobody reads the output any more? */
static bool output_failed(const struct options *opt, struct progress *p)
{
	if (!ferror(stdout))
		return false;
	if (opt->follow && errno == EPIPE)
		p->reader_gone = true;
	return true;
}

/* ---- --metrics-file ----------------------------------------------------- */

/*
 * Write the metrics to FILE.tmp, sync it, and rename it over FILE: a
 * reader (node_exporter's textfile collector) sees the old file or the
 * new one, never half of one, and a failure leaves the old one intact.
 */
static bool write_metrics_file(const char *path, struct tt_view *view)
{
	const char *failed = path;	/* the file to name in the message */
	char tmp[PATH_MAX];
	int fd, error = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		error = ENAMETOOLONG;
		goto fail;
	}
	failed = tmp;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		error = errno;
		goto fail;
	}
	f = fdopen(fd, "w");
	if (!f) {
		error = errno;
		close(fd);
		goto fail_unlink;
	}
	tt_metrics_print(view, f);
	if (fflush(f) != 0 || ferror(f) || fsync(fd) != 0)
		error = errno ? errno : EIO;
	if (fclose(f) != 0 && !error)
		error = errno;
	if (!error && rename(tmp, path) == 0)
		return true;
	if (!error) {
		error = errno;
		failed = path;
	}
fail_unlink:
	unlink(tmp);
fail:
	fprintf(stderr, "tcptrace: %s: %s (%s is left as it was)\n",
		failed, strerror(error), path);
	return false;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Following with --metrics-file: rewrite it when due, and wait for input
 * at most until the next time, so that a quiet device still gets its file
 * rewritten (the textfile collector reports the file's age).
 */
static void metrics_tick(struct tt_input *in, const struct options *opt,
			 struct tt_view *view, struct progress *p, uint64_t *due)
{
	uint64_t now = monotonic_ms();

	if (now >= *due) {
		p->ok &= write_metrics_file(opt->metrics_file, view);
		*due = now + (uint64_t)(opt->interval ? opt->interval :
					METRICS_INTERVAL_DEFAULT) * 1000;
	}
	in->timeout_ms = (int)(*due - now);
}

/* Read the lines of one input into @view. */
static enum next_step show_input(struct tt_input *in, const struct options *opt,
				 struct tt_view *view, struct progress *p,
				 uint64_t *due)
{
	bool ticking = opt->metrics_file && opt->follow;
	enum next_step next = GO_ON;
	int got;

	while (!stop_requested) {
		if (ticking)
			metrics_tick(in, opt, view, p, due);
		got = tt_input_next(in);
		if (got == TT_INPUT_TIMEOUT)
			continue;
		if (got == TT_INPUT_LOST) {
			p->lost_pending = true;
			continue;
		}
		if (got == TT_INPUT_ERROR && errno == EINTR && opt->follow)
			continue;	/* stop_requested says whether to go on */
		if (got <= 0) {
			p->ok &= check_end_of_input(in, got);
			break;
		}
		p->ok &= check_first_line(in);
		next = handle_line(in, opt, view, p);
		if (next != GO_ON)
			break;
		if (output_failed(opt, p))
			break;
	}
	return next;
}

/*
 * Read every input, from *@i (open in @in) on, into @view; the exit
 * status. Each input is a section of its own, and so is each capture in
 * it after the first (its header line starts it).
 */
static int show(struct tt_input *in, const struct options *opt,
		struct tt_view *view, size_t i)
{
	struct progress p = { .ok = true };
	struct tt_origin local;
	enum next_step next;
	uint64_t due = 0;

	/* The device's histories are this machine's. */
	if (!opt->read_given && tt_origin_local(&local))
		p.local = &local;
	/* The first file a second in, with what the device had then. */
	if (opt->metrics_file && opt->follow)
		due = monotonic_ms() + 1000;
	for (;;) {
		tt_view_section(view);
		p.section_has_record = false;
		next = show_input(in, opt, view, &p, &due);
		tt_input_close(in);
		/* A format this reader does not know ends only its input. */
		if (next == GIVE_UP || stop_requested || ferror(stdout))
			break;
		i++;
		if (!open_next(in, opt, &i, &p.ok))
			break;
	}
	if (next != GIVE_UP && !p.reader_gone && !ferror(stdout) &&
	    !tt_view_finish(view))
		p.ok = false;
	if (next != GIVE_UP && opt->metrics_file)
		p.ok &= write_metrics_file(opt->metrics_file, view);
	if (p.reader_gone) {
		clearerr(stdout);
		return EXIT_OK;
	}
	return p.ok ? EXIT_OK : EXIT_TROUBLE;
}

/* --stats: a capture's header, and its origin if known. */
struct stats_section {
	struct tt_header header;
	bool has_origin;
	struct tt_origin origin;
	bool has_record;	/* an origin line comes before them */
};

struct stats {
	struct stats_section *sections;
	size_t count, room;
	bool ok;
};

/* A header line of @in, parsed into a new section; false if out of memory. */
static bool stats_add(struct stats *st, const struct tt_header *h)
{
	if (st->count == st->room) {
		size_t room = st->room ? 2 * st->room : 4;
		struct stats_section *grown = realloc(st->sections, room * sizeof(*grown));

		if (!grown)
			return false;
		st->sections = grown;
		st->room = room;
	}
	st->sections[st->count++] = (struct stats_section){ .header = *h };
	return true;
}

/*
 * The header and origin lines of one capture (the others are not even
 * parsed), or the device's header, its first line, and its origin.
 */
static bool stats_read(struct tt_input *in, const struct options *opt,
		       struct stats *st)
{
	size_t first = st->count;
	struct stats_section *last;
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	int got;

	while ((got = tt_input_next(in)) == TT_INPUT_LINE) {
		if (!check_first_line(in))
			return false;
		if (in->items == 1 && tt_input_is_json(in)) {
			report_line(in, "JSON histories have no header: --stats shows a text or binary capture's");
			return false;
		}
		last = st->count > first ? &st->sections[st->count - 1] : NULL;
		if (!tt_input_is_header(in) && !tt_input_is_origin(in) &&
		    in->item != TT_ITEM_BAD) {
			if (last && tt_input_is_record(in))
				last->has_record = true;
			continue;
		}
		switch (tt_input_parse(in, &parsed, err)) {
		case TT_LINE_HEADER:
			if (!stats_add(st, &parsed.header)) {
				fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
				return false;
			}
			if (!opt->read_given) {
				last = &st->sections[st->count - 1];
				last->has_origin = tt_origin_local(&last->origin);
				return true;	/* the device: its first line only */
			}
			break;
		case TT_LINE_ORIGIN:
			if (last && !last->has_origin && !last->has_record) {
				last->has_origin = true;
				last->origin = parsed.origin;
				break;
			}
			report_line(in, last && last->has_origin ?
				    "origin: a second origin line for this capture" :
				    "origin: after the capture's first record (it belongs right after the header)");
			st->ok = false;
			break;
		case TT_LINE_UNSUPPORTED:
			report_line(in, err);
			return false;	/* the rest would be misread */
		default:
			report_line(in, err);
			if (in->items == 1)
				return false;
			st->ok = false;
			break;
		}
	}
	return check_end_of_input(in, got);
}

/*
 * --stats: the counters of each capture's header (the first line of each
 * input, and of each capture concatenated in it), with its origin. More
 * than one: each after a line "capture N" (text), one object a line (JSON).
 */
static int show_stats(struct tt_input *in, const struct options *opt, size_t i)
{
	struct stats st = { .ok = true };
	size_t k;

	for (;;) {
		st.ok &= stats_read(in, opt, &st);
		tt_input_close(in);
		i++;
		if (!open_next(in, opt, &i, &st.ok))
			break;
	}
	for (k = 0; k < st.count; k++) {
		const struct stats_section *sec = &st.sections[k];
		const struct tt_origin *origin = sec->has_origin ? &sec->origin : NULL;

		if (opt->json) {
			tt_print_stats_json(stdout, &sec->header, origin);
			continue;
		}
		if (st.count > 1)
			printf("%scapture %zu\n", k ? "\n" : "", k + 1);
		tt_print_stats(stdout, &sec->header, origin);
	}
	free(st.sections);
	return st.ok ? EXIT_OK : EXIT_TROUBLE;
}

/*
 * Output goes through stdio buffers, so a write error (disk full, closed
 * pipe reader) may only show when they are flushed: check then.
 */
static int close_stdout(bool quiet_epipe)
{
	bool failed = ferror(stdout);
	int error = 0;

	if (fflush(stdout) != 0) {
		failed = true;
		error = errno;
	}
	if (fclose(stdout) != 0 && !error) {
		failed = true;
		error = errno;
	}
	if (!failed || (quiet_epipe && error == EPIPE))
		return EXIT_OK;
	fprintf(stderr, "tcptrace: write error%s%s\n", error ? ": " : "",
		error ? strerror(error) : "");
	return EXIT_TROUBLE;
}

/* -w: the device's binary stream into FILE, which is made only once it opened. */
static int write_capture(struct tt_input *in, const struct options *opt)
{
	bool to_stdout = strcmp(opt->write_file, "-") == 0;
	const char *name = to_stdout ? "<stdout>" : opt->write_file;
	FILE *out = to_stdout ? stdout : fopen(opt->write_file, "we");
	bool ok;

	if (!out) {
		fprintf(stderr, "tcptrace: %s: %s\n", name, strerror(errno));
		return EXIT_TROUBLE;
	}
	ok = tt_capture_write(in, out, name, &opt->filter, &stop_requested);
	if (to_stdout) {
		clearerr(stdout);	/* a write error was said */
	} else if (fclose(out) != 0 && ok) {
		fprintf(stderr, "tcptrace: %s: %s\n", name, strerror(errno));
		ok = false;
	}
	return ok ? EXIT_OK : EXIT_TROUBLE;
}

static int run(struct options *opt)
{
	struct tt_services *services = NULL;
	struct tt_view *view;
	struct tt_input *in;
	bool opened = true;
	size_t first = 0;
	int status;

	/* 64 KiB of buffers: on the heap, allocated once. */
	in = malloc(sizeof(*in));
	if (!in) {
		fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
		return EXIT_TROUBLE;
	}
	if (opt->follow)
		prepare_follow();
	else
		prepare_batch();
	/* The first input that opens; if none does, there is nothing to show. */
	if (!open_next(in, opt, &first, &opened)) {
		free(in);
		return EXIT_TROUBLE;
	}
	if (opt->write_file) {
		status = write_capture(in, opt);
	} else if (opt->view == VIEW_STATS) {
		status = show_stats(in, opt, first);
	} else {
		opt->style.color = use_color(opt);
		if (!opt->style.numeric && !opt->json &&
		    opt->view != VIEW_SUMMARY && opt->view != VIEW_GRAPH &&
		    opt->view != VIEW_METRICS && opt->view != VIEW_EXPECT)
			services = tt_services_load();
		opt->style.services = services;
		view = make_view(opt, in);
		if (view) {
			status = show(in, opt, view, first);
		} else {
			fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
			status = EXIT_TROUBLE;
		}
		tt_view_destroy(view);
	}
	if (!opened)
		status = EXIT_TROUBLE;
	tt_input_close(in);
	free(in);
	tt_services_free(services);
	return status;
}

int main(int argc, char *argv[])
{
	struct options *opt = malloc(sizeof(*opt));
	int status;

	/* A subcommand, with options of its own (record.c). */
	if (argc > 1 && strcmp(argv[1], "record") == 0) {
		free(opt);
		return tt_record_main(argc - 1, argv + 1);
	}
	if (!opt) {
		fprintf(stderr, "tcptrace: %s\n", strerror(ENOMEM));
		return EXIT_TROUBLE;
	}
	/* One thread: stdio need not lock stdout for each character. */
	__fsetlocking(stdout, FSETLOCKING_BYCALLER);
	status = parse_options(argc, argv, opt);
	if (status < 0)
		status = run(opt);
	if (close_stdout(opt->follow) != EXIT_OK)
		status = EXIT_TROUBLE;
	tt_expect_free(opt->expect);
	free(opt->inputs);
	free(opt);
	return status;
}
