// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: show the TCP socket histories recorded by the tcptrace module,
 * from /dev/tcptrace or from a saved capture.
 *
 * Lines are parsed and printed one at a time, so memory does not grow
 * with the input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "output.h"
#include "parse.h"

#define TOOL_VERSION	"1.0"

enum exit_status {
	EXIT_OK = 0,
	EXIT_TROUBLE = 1,	/* unreadable input, malformed lines, write error */
	EXIT_USAGE = 2,
};

struct options {
	const char *input;	/* a path, or "-" for standard input */
	bool no_heading;
	bool json;
	bool stats;
};

static const char usage_text[] =
	"Usage: tcptrace [OPTION]...\n"
	"Show the TCP socket histories recorded by the tcptrace module.\n"
	"\n"
	"  -r, --read=FILE   read a saved capture from FILE ('-' for standard\n"
	"                    input) instead of " TCPTRACE_DEVICE "\n"
	"  -H, --no-header   omit the table's heading row\n"
	"  -j, --json        print one JSON object per socket (JSON Lines)\n"
	"  -s, --stats       print the header's counters instead of the sockets\n"
	"  -h, --help        print this help and exit\n"
	"  -V, --version     print the version and exit\n"
	"\n"
	"Exit status: 0 if all went well; 1 if the input could not be read, had\n"
	"malformed lines or output failed; 2 for a usage error.\n"
	"See tcptrace(1) and Documentation/tcptrace.rst for the input format.\n";

static const struct option long_options[] = {
	{ "read",      required_argument, NULL, 'r' },
	{ "no-header", no_argument,       NULL, 'H' },
	{ "json",      no_argument,       NULL, 'j' },
	{ "stats",     no_argument,       NULL, 's' },
	{ "help",      no_argument,       NULL, 'h' },
	{ "version",   no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

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

/*
 * Fill @opt from the command line. Returns -1 to go on, or the exit status
 * for --help, --version and usage errors.
 */
static int parse_options(int argc, char *argv[], struct options *opt)
{
	size_t flag_len;
	char bad[64];
	int c;

	*opt = (struct options){ .input = TCPTRACE_DEVICE };
	opterr = 0;		/* our messages are one line each */
	while ((c = getopt_long(argc, argv, ":r:HjshV", long_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!*optarg)
				return usage_error("empty file name for --read");
			opt->input = optarg;
			break;
		case 'H':
			opt->no_heading = true;
			break;
		case 'j':
			opt->json = true;
			break;
		case 's':
			opt->stats = true;
			break;
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
			name_bad_option(argv, bad, sizeof(bad));
			flag_len = flag_given_a_value(bad);
			if (flag_len)
				return usage_error("option '%.*s' takes no argument",
						   (int)flag_len, bad);
			return usage_error("unknown option '%s'", bad);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

static int open_input(struct tt_input *in, const char *path)
{
	const char *hint = "";

	if (tt_input_open(in, path, false) == 0)
		return 0;
	if (strcmp(path, TCPTRACE_DEVICE) == 0) {
		if (errno == ENOENT)
			hint = " (is the module loaded?)";
		else if (errno == EACCES)
			hint = " (reading it needs root)";
	}
	fprintf(stderr, "tcptrace: %s: %s%s\n", path, strerror(errno), hint);
	return -1;
}

static void report_line(const struct tt_input *in, const char *message)
{
	fprintf(stderr, "tcptrace: %s:%lu: %s\n", in->name, in->lineno, message);
}

/* The format requires the header first; say so once, at line 1. */
static bool check_first_line(const struct tt_input *in)
{
	if (in->lineno != 1 || tt_is_header_line(in->line, in->len))
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
	if (in->lineno == 0) {
		fprintf(stderr, "tcptrace: %s: empty input (no header line)\n",
			in->name);
		return false;
	}
	return true;
}

static void print_record(const struct tt_record *r, const struct options *opt,
			 bool *heading_printed)
{
	if (opt->json) {
		tt_print_record_json(stdout, r);
		return;
	}
	if (!*heading_printed && !opt->no_heading)
		tt_print_table_heading(stdout);
	*heading_printed = true;
	tt_print_table_row(stdout, r);
}

/* The default view: every record, as a table or as JSON Lines. */
static int show_records(struct tt_input *in, const struct options *opt)
{
	bool ok = true, heading_printed = false;
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	int got;

	while ((got = tt_input_next(in)) > 0) {
		ok &= check_first_line(in);
		switch (tt_parse_line(in->line, in->len, &parsed, err)) {
		case TT_LINE_RECORD:
			print_record(&parsed.record, opt, &heading_printed);
			break;
		case TT_LINE_ERROR:
			report_line(in, err);
			ok = false;
			break;
		case TT_LINE_UNSUPPORTED:
			/* Anything after it would be misread: stop here. */
			report_line(in, err);
			return EXIT_TROUBLE;
		case TT_LINE_HEADER:
			/* An empty snapshot still shows the heading row. */
			if (!opt->json && !heading_printed && !opt->no_heading)
				tt_print_table_heading(stdout);
			heading_printed = true;
			break;
		case TT_LINE_BLANK:
		case TT_LINE_COMMENT:
		case TT_LINE_UNKNOWN_KIND:
			break;
		}
		if (ferror(stdout))
			break;	/* reported by close_stdout() */
	}
	ok &= check_end_of_input(in, got);
	return ok ? EXIT_OK : EXIT_TROUBLE;
}

/* --stats: the counters of the header, which is always the first line. */
static int show_stats(struct tt_input *in, const struct options *opt)
{
	char err[TT_ERR_MAX];
	struct tt_line parsed;
	int got = tt_input_next(in);

	if (!check_end_of_input(in, got) || !check_first_line(in))
		return EXIT_TROUBLE;
	if (tt_parse_line(in->line, in->len, &parsed, err) != TT_LINE_HEADER) {
		report_line(in, err);
		return EXIT_TROUBLE;
	}
	if (opt->json)
		tt_print_stats_json(stdout, &parsed.header);
	else
		tt_print_stats(stdout, &parsed.header);
	return EXIT_OK;
}

/*
 * Output goes through stdio buffers, so a write error (disk full, closed
 * pipe reader) may only show when they are flushed: check then.
 */
static int close_stdout(void)
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
	if (!failed)
		return EXIT_OK;
	fprintf(stderr, "tcptrace: write error%s%s\n", error ? ": " : "",
		error ? strerror(error) : "");
	return EXIT_TROUBLE;
}

int main(int argc, char *argv[])
{
	struct options opt;
	struct tt_input in;
	int status;

	status = parse_options(argc, argv, &opt);
	if (status < 0) {
		if (open_input(&in, opt.input) < 0)
			return EXIT_TROUBLE;
		status = opt.stats ? show_stats(&in, &opt) : show_records(&in, &opt);
		tt_input_close(&in);
	}
	if (close_stdout() != EXIT_OK)
		status = EXIT_TROUBLE;
	return status;
}
