// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the parser (and of the duration format of the table).
 *
 * Prints one "ok NAME" or "not ok NAME" line per test, preceded by "# "
 * lines saying what failed; tests/run.sh numbers them into the KTAP
 * output of "make test". Exits 1 if any test failed.
 */
#include "../output.h"
#include "../parse.h"
#include "check.h"

static const char *const line_types[] = {
	[TT_LINE_BLANK] = "blank",
	[TT_LINE_COMMENT] = "comment",
	[TT_LINE_UNKNOWN_KIND] = "unknown kind",
	[TT_LINE_HEADER] = "header",
	[TT_LINE_RECORD] = "record",
	[TT_LINE_ERROR] = "error",
	[TT_LINE_UNSUPPORTED] = "unsupported",
};

/* Parse the C string @text (its '\n' included); expect a line of @want. */
static bool parse_as(struct test *t, const char *text, enum tt_line_type want,
		     struct tt_line *out, char err[TT_ERR_MAX])
{
	enum tt_line_type got;

	strcpy(err, "(none)");
	got = tt_parse_line(text, strlen(text), out, err);
	if (got == want)
		return true;
	printf("# parsed as %s, expected %s (message: %s)\n# line: %.*s\n",
	       line_types[got], line_types[want], err,
	       (int)strcspn(text, "\n"), text);
	t->failed = true;
	return false;
}

static bool parse_record(struct test *t, const char *text, struct tt_record *r)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	if (!parse_as(t, text, TT_LINE_RECORD, &line, err))
		return false;
	*r = line.record;
	return true;
}

/* TCP state numbers, for readable expectations. */
enum {
	ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
	CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
	BOUND_INACTIVE,
};

static void check_step(struct test *t, const struct tt_step *s, int old_state,
		       int new_state, uint64_t t_ns, bool softirq, bool gap)
{
	CHECK_U64(t, s->old_state, old_state);
	CHECK_U64(t, s->new_state, new_state);
	CHECK_U64(t, s->t_ns, t_ns);
	CHECK(t, s->softirq == softirq);
	CHECK(t, s->gap == gap);
}

#define HEADER_COUNTERS "live=2 live_max=16384 done=3 ring_size=8192 " \
	"events=16 created=5 completed=3 drop_table_full=0 drop_steps_full=0 " \
	"ring_overwritten=0 mem_bytes=3932160"
#define HEADER_REST "now=4031823340 " HEADER_COUNTERS

/* A valid record the error cases below break in one place each. */
#define ADDRS "ipv4 10.0.0.1:1 10.0.0.2:2"

/* ---- valid lines ---------------------------------------------------- */

static void test_done_ipv4(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 4099 ipv4 127.0.0.1:47104 127.0.0.1:8080 seq=2 t0=4031402117 path=CLOSE>SYN_SENT@0>ESTABLISHED@71312s>FIN_WAIT1@1113021>FIN_WAIT2@1160284s>CLOSE@1160301s\n", &r))
		return;
	CHECK(t, r.kind == TT_KIND_DONE);
	CHECK_U64(t, r.id, 4099);
	CHECK(t, r.family == TT_FAMILY_IPV4);
	CHECK_STR(t, r.local.addr, "127.0.0.1");
	CHECK_U64(t, r.local.port, 47104);
	CHECK_STR(t, r.remote.addr, "127.0.0.1");
	CHECK_U64(t, r.remote.port, 8080);
	CHECK(t, r.has & TT_HAS_SEQ);
	CHECK_U64(t, r.seq, 2);
	CHECK_U64(t, r.t0, 4031402117);
	CHECK_U64(t, r.dropped, 0);
	CHECK_U64(t, r.first_state, CLOSE);
	CHECK_U64(t, r.nr_steps, 5);
	if (r.nr_steps != 5)
		return;
	check_step(t, &r.steps[0], CLOSE, SYN_SENT, 0, false, false);
	check_step(t, &r.steps[1], SYN_SENT, ESTABLISHED, 71312, true, false);
	check_step(t, &r.steps[2], ESTABLISHED, FIN_WAIT1, 1113021, false, false);
	check_step(t, &r.steps[3], FIN_WAIT1, FIN_WAIT2, 1160284, true, false);
	check_step(t, &r.steps[4], FIN_WAIT2, CLOSE, 1160301, true, false);
}

static void test_live_ipv6(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 4102 ipv6 [::1]:8080 [::]:0 t0=4030991020 path=CLOSE>LISTEN@0\n", &r))
		return;
	CHECK(t, r.kind == TT_KIND_LIVE);
	CHECK_U64(t, r.id, 4102);
	CHECK(t, r.family == TT_FAMILY_IPV6);
	CHECK_STR(t, r.local.addr, "::1");
	CHECK_U64(t, r.local.port, 8080);
	CHECK_STR(t, r.remote.addr, "::");
	CHECK_U64(t, r.remote.port, 0);
	CHECK(t, !(r.has & TT_HAS_SEQ));
	CHECK_U64(t, r.has, 0);
	CHECK_U64(t, r.t0, 4030991020);
	CHECK_U64(t, r.nr_steps, 1);
	check_step(t, &r.steps[0], CLOSE, LISTEN, 0, false, false);
}

static void test_v4_mapped(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 7 ipv6 [::ffff:127.0.0.1]:8080 [::ffff:127.0.0.1]:51000 seq=0 t0=1 path=SYN_RECV>ESTABLISHED@0s>CLOSE_WAIT@900s>LAST_ACK@1000>CLOSE@2000s\n", &r))
		return;
	CHECK_STR(t, r.local.addr, "::ffff:127.0.0.1");
	CHECK_U64(t, r.local.port, 8080);
	CHECK_STR(t, r.remote.addr, "::ffff:127.0.0.1");
	CHECK_U64(t, r.remote.port, 51000);
	CHECK_U64(t, r.first_state, SYN_RECV);
	CHECK_U64(t, r.nr_steps, 4);
	check_step(t, &r.steps[3], LAST_ACK, CLOSE, 2000, true, false);
}

static void test_full_ipv6(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 8 ipv6 [2001:db8::1:0:0:1]:65535 [fe80::1ff:fe23:4567:890a]:1 t0=1 path=CLOSE>SYN_SENT@0\n", &r))
		return;
	CHECK_STR(t, r.local.addr, "2001:db8::1:0:0:1");
	CHECK_U64(t, r.local.port, 65535);
	CHECK_STR(t, r.remote.addr, "fe80::1ff:fe23:4567:890a");
}

static void test_gap(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 1 " ADDRS " seq=0 t0=5 path=CLOSE>SYN_SENT@0/ESTABLISHED>FIN_WAIT1@500>FIN_WAIT2@600s/TIME_WAIT>CLOSE@700\n", &r))
		return;
	CHECK_U64(t, r.nr_steps, 4);
	check_step(t, &r.steps[0], CLOSE, SYN_SENT, 0, false, false);
	check_step(t, &r.steps[1], ESTABLISHED, FIN_WAIT1, 500, false, true);
	check_step(t, &r.steps[2], FIN_WAIT1, FIN_WAIT2, 600, true, false);
	check_step(t, &r.steps[3], TIME_WAIT, CLOSE, 700, false, true);
}

/* The grammar allows "/" on the first step too: STATE "/" STATE ">" ... */
static void test_gap_first_step(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 1 " ADDRS " t0=5 path=ESTABLISHED/CLOSE_WAIT>LAST_ACK@0\n", &r))
		return;
	CHECK_U64(t, r.first_state, ESTABLISHED);
	CHECK_U64(t, r.nr_steps, 1);
	check_step(t, &r.steps[0], CLOSE_WAIT, LAST_ACK, 0, false, true);
}

/* A history first seen mid-life, without steps: "path = STATE *step". */
static void test_no_steps(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 1 " ADDRS " t0=5 path=ESTABLISHED\n", &r))
		return;
	CHECK_U64(t, r.first_state, ESTABLISHED);
	CHECK_U64(t, r.nr_steps, 0);
}

static void test_dropped_and_max_steps(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 9 " ADDRS " t0=1 dropped=3 path=CLOSE>SYN_SENT@0>ESTABLISHED@1>CLOSE_WAIT@2>LAST_ACK@3>CLOSE@4>SYN_SENT@5>ESTABLISHED@6>FIN_WAIT1@7>FIN_WAIT2@8>TIME_WAIT@9\n", &r))
		return;
	CHECK_U64(t, r.dropped, 3);
	CHECK_U64(t, r.nr_steps, TCPTRACE_MAX_STEPS);
	check_step(t, &r.steps[9], FIN_WAIT2, TIME_WAIT, 9, false, false);
}

static void test_every_state_name(struct test *t)
{
	static const char *const names[] = TCPTRACE_STATE_NAMES;
	char text[TCPTRACE_LINE_MAX];
	struct tt_record r;
	unsigned int i;

	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		snprintf(text, sizeof(text), "live 1 " ADDRS " t0=1 path=%s>%s@0\n",
			 names[i], names[(i + 1) % TCPTRACE_NR_STATES]);
		if (!parse_record(t, text, &r))
			continue;
		CHECK_U64(t, r.first_state, i);
		CHECK_U64(t, r.steps[0].new_state, (i + 1) % TCPTRACE_NR_STATES);
		CHECK_STR(t, tt_state_name(i), names[i]);
	}
	CHECK_STR(t, tt_state_name(TCPTRACE_NR_STATES), "UNKNOWN");
	CHECK_STR(t, tt_state_name(255), "UNKNOWN");
}

static void test_unknown_keys_ignored(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 1 " ADDRS " future=1 seq=4 empty= t0=5 x=a=b path=CLOSE>SYN_SENT@0 after=path\n", &r))
		return;
	CHECK_U64(t, r.seq, 4);
	CHECK_U64(t, r.t0, 5);
	CHECK_U64(t, r.nr_steps, 1);
}

static void test_unknown_flags_ignored(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 1 " ADDRS " t0=5 path=CLOSE>SYN_SENT@0q>ESTABLISHED@1qsz>FIN_WAIT1@2ss>FIN_WAIT2@3s\n", &r))
		return;
	CHECK_U64(t, r.nr_steps, 4);
	check_step(t, &r.steps[0], CLOSE, SYN_SENT, 0, false, false);
	check_step(t, &r.steps[1], SYN_SENT, ESTABLISHED, 1, true, false);
	check_step(t, &r.steps[2], ESTABLISHED, FIN_WAIT1, 2, true, false);
	check_step(t, &r.steps[3], FIN_WAIT1, FIN_WAIT2, 3, true, false);
}

static void test_unknown_kind_skipped(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	/* Whatever follows a new kind may have another layout. */
	parse_as(t, "gone 12 whatever layout\n", TT_LINE_UNKNOWN_KIND, &line, err);
	parse_as(t, "new_kind2\n", TT_LINE_UNKNOWN_KIND, &line, err);
}

static void test_u64_limits(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 18446744073709551615 " ADDRS " seq=18446744073709551615 t0=18446744073709551615 dropped=18446744073709551615 path=CLOSE>SYN_SENT@18446744073709551615\n", &r))
		return;
	CHECK_U64(t, r.id, UINT64_MAX);
	CHECK_U64(t, r.seq, UINT64_MAX);
	CHECK_U64(t, r.t0, UINT64_MAX);
	CHECK_U64(t, r.dropped, UINT64_MAX);
	CHECK_U64(t, r.steps[0].t_ns, UINT64_MAX);
}

static void test_blank_and_comments(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	parse_as(t, "\n", TT_LINE_BLANK, &line, err);
	parse_as(t, "#\n", TT_LINE_COMMENT, &line, err);
	parse_as(t, "# a comment\n", TT_LINE_COMMENT, &line, err);
	/* Comments are free text, not held to printable ASCII. */
	parse_as(t, "# caf\xc3\xa9\tok\n", TT_LINE_COMMENT, &line, err);
	/* Only the exact tag followed by a space makes a header. */
	parse_as(t, "#tcptrace format=1\n", TT_LINE_COMMENT, &line, err);
	parse_as(t, "# tcptraced format=1\n", TT_LINE_COMMENT, &line, err);
	CHECK(t, tt_is_header_line("# tcptrace format=1\n", 20));
	CHECK(t, tt_is_header_line("# tcptrace\n", 11));
	CHECK(t, !tt_is_header_line("# tcptraced\n", 12));
	CHECK(t, !tt_is_header_line("# tcp\n", 6));
}

/* A line of exactly TCPTRACE_LINE_MAX bytes, newline included, is fine. */
static void test_longest_line(struct test *t)
{
	char text[TCPTRACE_LINE_MAX + 1];
	struct tt_record r;
	int n;

	n = snprintf(text, sizeof(text), "live 1 " ADDRS " t0=1 path=CLOSE>SYN_SENT@0 pad=");
	memset(text + n, 'x', TCPTRACE_LINE_MAX - 1 - n);
	text[TCPTRACE_LINE_MAX - 1] = '\n';
	text[TCPTRACE_LINE_MAX] = '\0';
	CHECK_U64(t, strlen(text), TCPTRACE_LINE_MAX);
	parse_record(t, text, &r);
}

static void test_header(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;
	struct tt_header *h = &line.header;

	if (!parse_as(t, "# tcptrace format=1 " HEADER_REST "\n", TT_LINE_HEADER, &line, err))
		return;
	CHECK_U64(t, h->format, 1);
	CHECK_U64(t, h->now, 4031823340);
	CHECK_U64(t, h->live, 2);
	CHECK_U64(t, h->live_max, 16384);
	CHECK_U64(t, h->done, 3);
	CHECK_U64(t, h->ring_size, 8192);
	CHECK_U64(t, h->events, 16);
	CHECK_U64(t, h->created, 5);
	CHECK_U64(t, h->completed, 3);
	CHECK_U64(t, h->drop_table_full, 0);
	CHECK_U64(t, h->drop_steps_full, 0);
	CHECK_U64(t, h->ring_overwritten, 0);
	CHECK_U64(t, h->mem_bytes, 3932160);
	CHECK_U64(t, tt_nr_header_keys, 23);
	CHECK_STR(t, tt_header_keys[0].name, "format");
	CHECK(t, tt_header_key("mem_bytes") != NULL);
	CHECK_U64(t, tt_header_value(h, tt_header_key("mem_bytes")), 3932160);
	CHECK(t, tt_header_key("no_such_key") == NULL);
	/* Format 1 has no syncookies=: the header says it was not there. */
	CHECK(t, tt_header_has(h, tt_header_key("now")));
	CHECK(t, !tt_header_has(h, tt_header_key("syncookies")));
}

/* The header of format 2, as the module writes it. */
static void test_header_format2(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;
	struct tt_header *h = &line.header;

	if (!parse_as(t, "# tcptrace format=2 now=112778123180 live=0 live_max=16384 done=5 ring_size=8192 events=23 created=5 completed=5 drop_table_full=0 drop_steps_full=0 ring_overwritten=0 unexpected=3 syncookies=4 kprobe_missed=6 filtered=7 filter_ports=2 filter_netns=4026531840 evicted=8 mem_bytes=5963776 timewait=1 halfopen=0 kretprobes=3 rst_reasons=1\n",
		      TT_LINE_HEADER, &line, err))
		return;
	CHECK_U64(t, h->format, 2);
	CHECK_U64(t, h->unexpected, 3);
	CHECK_U64(t, h->syncookies, 4);
	CHECK_U64(t, h->kprobe_missed, 6);
	CHECK_U64(t, h->filtered, 7);
	CHECK_U64(t, h->filter_ports, 2);
	CHECK_U64(t, h->filter_netns, 4026531840);
	CHECK_U64(t, h->evicted, 8);
	CHECK_U64(t, h->mem_bytes, 5963776);
	CHECK_U64(t, h->timewait, 1);
	CHECK_U64(t, h->halfopen, 0);
	CHECK_U64(t, h->rst_reasons, 1);
	CHECK_U64(t, h->has, (1u << tt_nr_header_keys) - 1);
	/* The example of the format, written before some keys existed. */
	if (!parse_as(t, "# tcptrace format=2 now=112778123180 live=0 live_max=16384 done=5 ring_size=8192 events=23 created=5 completed=5 drop_table_full=0 drop_steps_full=0 ring_overwritten=0 unexpected=0 mem_bytes=5963776 timewait=1\n",
		      TT_LINE_HEADER, &line, err))
		return;
	CHECK(t, tt_header_has(h, tt_header_key("timewait")));
	CHECK(t, !tt_header_has(h, tt_header_key("halfopen")));
	/* Before reset reasons: rst_reasons= absent, read as 0. */
	CHECK(t, !tt_header_has(h, tt_header_key("rst_reasons")));
	CHECK_U64(t, h->rst_reasons, 0);
}

static void test_header_unknown_keys_and_order(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	if (!parse_as(t, "# tcptrace new_counter=7 " HEADER_COUNTERS " now=99 flag=x format=1\n",
		      TT_LINE_HEADER, &line, err))
		return;
	CHECK_U64(t, line.header.format, 1);
	CHECK_U64(t, line.header.now, 99);
	CHECK_U64(t, line.header.events, 16);
}

/* Refused before anything else is read: a newer format may mean anything. */
static void test_header_unsupported_format(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	if (parse_as(t, "# tcptrace format=3 " HEADER_REST "\n", TT_LINE_UNSUPPORTED, &line, err))
		CHECK_STR(t, err, "unsupported format 3 (this tcptrace reads formats 1 to 2)");
	if (parse_as(t, "# tcptrace format=0 " HEADER_REST "\n", TT_LINE_UNSUPPORTED, &line, err))
		CHECK_STR(t, err, "unsupported format 0 (this tcptrace reads formats 1 to 2)");
	if (parse_as(t, "# tcptrace whatever  layout format=3\n", TT_LINE_UNSUPPORTED, &line, err))
		CHECK_STR(t, err, "unsupported format 3 (this tcptrace reads formats 1 to 2)");
}

/* Format 2 only adds to format 1: captures of both are read. */
static void test_header_older_formats(struct test *t)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	if (parse_as(t, "# tcptrace format=1 " HEADER_REST "\n", TT_LINE_HEADER, &line, err))
		CHECK_U64(t, line.header.format, 1);
	if (parse_as(t, "# tcptrace format=2 " HEADER_REST "\n", TT_LINE_HEADER, &line, err))
		CHECK_U64(t, line.header.format, 2);
}

/* ---- format 2 ------------------------------------------------------ */

/* The example record of the format, owner, counters and all. */
static void test_format2_record(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 4102 ipv4 127.0.0.1:38876 127.0.0.1:59765 seq=7 t0=116626567032 netns=4026531840 uid=0 pid=324 tgid=324 comm=python3 end=passive_close bytes_acked=102 bytes_received=1 retrans=0 srtt_us=297 path=CLOSE>SYN_SENT@0>ESTABLISHED@449449>CLOSE_WAIT@1306990s>LAST_ACK@51943620>CLOSE@52317630\n", &r))
		return;
	CHECK_U64(t, r.has, TT_HAS_SEQ | TT_HAS_NETNS | TT_HAS_UID | TT_HAS_PID |
		  TT_HAS_TGID | TT_HAS_COMM | TT_HAS_END | TT_HAS_BYTES_ACKED |
		  TT_HAS_BYTES_RECEIVED | TT_HAS_RETRANS | TT_HAS_SRTT_US);
	CHECK_U64(t, r.seq, 7);
	CHECK_U64(t, r.netns, 4026531840);
	CHECK_U64(t, r.uid, 0);
	CHECK_U64(t, r.pid, 324);
	CHECK_U64(t, r.tgid, 324);
	CHECK_STR(t, r.comm, "python3");
	CHECK_U64(t, r.end, TCPTRACE_END_PASSIVE_CLOSE);
	CHECK_STR(t, tt_end_name(r.end), "passive_close");
	CHECK_U64(t, r.bytes_acked, 102);
	CHECK_U64(t, r.bytes_received, 1);
	CHECK_U64(t, r.retrans, 0);
	CHECK_U64(t, r.srtt_us, 297);
	CHECK(t, r.timewait == TT_TIMEWAIT_NONE);
	CHECK(t, !r.seen_at_load);
	CHECK_U64(t, r.unexpected, 0);
	CHECK_U64(t, r.nr_steps, 5);
	check_step(t, &r.steps[2], ESTABLISHED, CLOSE_WAIT, 1306990, true, false);
}

/* The active close of the format: a hand-over ('w') and derived steps ('d'). */
static void test_format2_flags(struct test *t)
{
	struct tt_record r;
	unsigned int i;

	if (!parse_record(t, "done 1 " ADDRS " seq=0 t0=5 end=active_close timewait=expired path=CLOSE>SYN_SENT@0>ESTABLISHED@446510>FIN_WAIT1@5186660>FIN_WAIT2@13217930s>FIN_WAIT2@13479350sw>TIME_WAIT@58174510sd>CLOSE@60058174510sd\n", &r))
		return;
	CHECK(t, r.timewait == TT_TIMEWAIT_EXPIRED);
	CHECK(t, r.has & TT_HAS_TIMEWAIT);
	CHECK_U64(t, r.nr_steps, 7);
	for (i = 0; i < r.nr_steps; i++) {
		CHECK(t, r.steps[i].timewait == (i == 4));
		CHECK(t, r.steps[i].derived == (i >= 5));
		CHECK(t, !r.steps[i].unexpected);
	}
	check_step(t, &r.steps[4], FIN_WAIT2, FIN_WAIT2, 13479350, true, false);
	check_step(t, &r.steps[6], TIME_WAIT, CLOSE, 60058174510, true, false);

	if (!parse_record(t, "done 1 " ADDRS " seq=0 t0=5 unexpected=2 timewait=killed path=CLOSE>SYN_SENT@0x>ESTABLISHED@1dwxs\n", &r))
		return;
	CHECK(t, r.timewait == TT_TIMEWAIT_KILLED);
	CHECK_U64(t, r.unexpected, 2);
	CHECK(t, r.steps[0].unexpected && !r.steps[0].derived && !r.steps[0].softirq);
	CHECK(t, r.steps[1].unexpected && r.steps[1].derived &&
		 r.steps[1].timewait && r.steps[1].softirq);
}

static void test_format2_seen_at_load(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "live 4098 " ADDRS " t0=9 netns=1 uid=0 seen_at_load=1 path=ESTABLISHED\n", &r))
		return;
	CHECK(t, r.seen_at_load);
	CHECK(t, r.has & TT_HAS_SEEN_AT_LOAD);
	CHECK(t, !(r.has & (TT_HAS_PID | TT_HAS_COMM)));
	if (!parse_record(t, "live 4098 " ADDRS " t0=9 seen_at_load=0 path=ESTABLISHED\n", &r))
		return;
	CHECK(t, !r.seen_at_load);
}

/* The example of the format for syn_retrans= and rst_reason=. */
static void test_format2_rst_reason(struct test *t)
{
	struct tt_record r;

	if (!parse_record(t, "done 2 ipv4 127.0.0.1:41128 127.0.0.1:39587 seq=1 t0=52190658282 netns=4026531833 uid=0 pid=264 tgid=264 comm=python3 end=aborted bytes_acked=1 bytes_received=0 retrans=0 srtt_us=11462 syn_retrans=2 rst_reason=TCP_STATE path=CLOSE>SYN_SENT@0>ESTABLISHED@21360431>CLOSE@42601375\n", &r))
		return;
	CHECK(t, r.has & TT_HAS_SYN_RETRANS);
	CHECK(t, r.has & TT_HAS_RST_REASON);
	CHECK_U64(t, r.syn_retrans, 2);
	CHECK_STR(t, r.rst_reason, "TCP_STATE");
	CHECK_U64(t, r.end, TCPTRACE_END_ABORTED);
	CHECK_U64(t, r.retrans, 0);
	CHECK_U64(t, r.nr_steps, 3);

	/* A number where the kernel has no name; a live record may have both. */
	if (!parse_record(t, "live 5 " ADDRS " t0=1 syn_retrans=18446744073709551615 rst_reason=42 path=CLOSE>SYN_SENT@0>ESTABLISHED@5\n", &r))
		return;
	CHECK_U64(t, r.syn_retrans, UINT64_MAX);
	CHECK_STR(t, r.rst_reason, "42");

	/* The longest name taken: TT_RST_REASON_MAX (47) characters. */
	if (parse_record(t, "done 1 " ADDRS " seq=0 t0=5 end=reset_sent rst_reason=TCP_A_REASON_OF_A_LATER_KERNEL_0123456789_ABCDE path=CLOSE\n", &r))
		CHECK_STR(t, r.rst_reason, "TCP_A_REASON_OF_A_LATER_KERNEL_0123456789_ABCDE");

	/* Absent: 0 and no reason, as in every capture before them. */
	if (!parse_record(t, "done 1 " ADDRS " seq=0 t0=5 end=reset_sent retrans=3 path=CLOSE\n", &r))
		return;
	CHECK(t, !(r.has & (TT_HAS_SYN_RETRANS | TT_HAS_RST_REASON)));
	CHECK_U64(t, r.syn_retrans, 0);
	CHECK_STR(t, r.rst_reason, "");

	CHECK(t, tt_rst_reason_valid("NOT_SPECIFIED", 13));
	CHECK(t, tt_rst_reason_valid("NOT_SPECIFIEDx", 13));	/* only @len bytes */
	CHECK(t, !tt_rst_reason_valid("", 0));
	CHECK(t, !tt_rst_reason_valid("tcp_state", 9));
	CHECK(t, !tt_rst_reason_valid("TCP-STATE", 9));
}

/* comm is kept in one spelling: lowercase escapes, and only where needed. */
static void test_comm(struct test *t)
{
	static const struct {
		const char *written;
		const char *kept;
	} cases[] = {
		{ "comm=python3", "python3" },
		{ "comm=my\\x20app", "my\\x20app" },
		{ "comm=tab\\x09\\x5c", "tab\\x09\\x5c" },
		{ "comm=UP\\x2A\\xFF", "UP*\\xff" },	/* '*' needs no escape */
		{ "comm=\\x41", "A" },
		{ "comm=", "" },
		{ "comm=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
	};
	char text[TCPTRACE_LINE_MAX], decoded[8];
	struct tt_record r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "live 1 " ADDRS " t0=1 %s path=CLOSE\n",
			 cases[i].written);
		if (parse_record(t, text, &r))
			CHECK_STR(t, r.comm, cases[i].kept);
	}
	/* The lenient decoder of --comm: a lone backslash is itself. */
	CHECK_U64(t, tt_comm_decode("a\\x41\\b", 7, decoded, sizeof(decoded)), 4);
	CHECK(t, memcmp(decoded, "aA\\b", 4) == 0);
	CHECK(t, tt_comm_decode("123456789", 9, decoded, sizeof(decoded)) == -1);
	tt_comm_encode("a b\\", 4, text);
	CHECK_STR(t, text, "a\\x20b\\x5c");
}

static void test_end_names(struct test *t)
{
	static const char *const names[] = TCPTRACE_END_NAMES;
	char text[TCPTRACE_LINE_MAX];
	struct tt_record r;
	unsigned int i;

	for (i = 0; i < TCPTRACE_NR_ENDS; i++) {
		snprintf(text, sizeof(text), "done 1 " ADDRS " seq=1 t0=1 end=%s path=CLOSE\n",
			 names[i]);
		if (parse_record(t, text, &r))
			CHECK_U64(t, r.end, i);
		CHECK_U64(t, tt_end_lookup(names[i]), i);
	}
	CHECK_STR(t, tt_end_name(TCPTRACE_END_SYNCOOKIE), "syncookie");
	CHECK_STR(t, tt_end_name(TCPTRACE_NR_ENDS), "none");
	CHECK(t, tt_end_lookup("bogus") == -1);
}

static void test_duration_format(struct test *t)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{ 0, "0ns" },
		{ 999, "999ns" },
		{ 1000, "1us" },
		{ 1500, "1.5us" },
		{ 71312, "71.312us" },
		{ 999999, "999.999us" },
		{ 1000000, "1ms" },
		{ 1113021, "1.113ms" },
		{ 1160301, "1.16ms" },
		{ 1160500, "1.161ms" },	/* rounded half up */
		{ 999999499, "999.999ms" },
		{ 999999500, "1s" },	/* 1000.000ms is said in seconds */
		{ 2500000000, "2.5s" },
		{ 86400000000000, "86400s" },
		{ UINT64_MAX, "18446744073.71s" },
	};
	char buf[TT_DURATION_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tt_format_duration(cases[i].ns, buf);
		CHECK_STR(t, buf, cases[i].text);
	}
}

/* ---- malformed lines: each with its exact message ------------------- */

struct error_case {
	const char *name;
	const char *line;
	const char *message;
};

#define R "done 1 " ADDRS " seq=0 t0=5 "	/* all but path= */

static const struct error_case error_cases[] = {
	{ "missing '@' after a state", R "path=CLOSE>ESTABLISHED\n",
	  "bad path: expected '@' after state 'ESTABLISHED'" },
	{ "unknown state", R "path=CLOSE>FOO@0\n", "unknown state 'FOO'" },
	{ "lowercase state", R "path=close>SYN_SENT@0\n", "unknown state 'close'" },
	{ "unknown family", "done 1 ipv5 10.0.0.1:1 10.0.0.2:2 seq=0 t0=5 path=CLOSE\n",
	  "field 3: expected ipv4 or ipv6, got 'ipv5'" },
	{ "kind only", "done\n", "field 2: missing socket id" },
	{ "no addresses", "live 1 ipv4\n", "field 4: missing local address" },
	{ "no remote address", "live 1 ipv4 10.0.0.1:1\n", "field 5: missing remote address" },
	{ "socket id not a number", "done x " ADDRS " seq=0 t0=5 path=CLOSE\n",
	  "field 2: expected a decimal socket id, got 'x'" },
	{ "negative socket id", "done -1 " ADDRS " seq=0 t0=5 path=CLOSE\n",
	  "field 2: expected a decimal socket id, got '-1'" },
	{ "socket id overflows u64", "done 18446744073709551616 " ADDRS " seq=0 t0=5 path=CLOSE\n",
	  "field 2: socket id overflows u64" },
	{ "two spaces", "done 1  ipv4 10.0.0.1:1 10.0.0.2:2 seq=0 t0=5 path=CLOSE\n",
	  "field 3: empty (fields are separated by one space)" },
	{ "trailing space", R "path=CLOSE \n",
	  "field 9: empty (fields are separated by one space)" },
	{ "leading space", " " R "path=CLOSE\n",
	  "field 1: empty (fields are separated by one space)" },
	{ "whitespace only line", " \n",
	  "field 1: empty (fields are separated by one space)" },
	{ "uppercase kind", "DONE 1 " ADDRS " seq=0 t0=5 path=CLOSE\n",
	  "field 1: bad record kind 'DONE'" },
	{ "IPv6 address in ipv4 record", "live 1 ipv4 [::1]:1 10.0.0.2:2 t0=5 path=CLOSE\n",
	  "field 4: bad IPv4 address '[::1]'" },
	{ "short IPv4 address", "live 1 ipv4 10.1:1 10.0.0.2:2 t0=5 path=CLOSE\n",
	  "field 4: bad IPv4 address '10.1'" },
	{ "IPv4 address without port", "live 1 ipv4 10.0.0.1 10.0.0.2:2 t0=5 path=CLOSE\n",
	  "field 4: expected A.B.C.D:PORT, got '10.0.0.1'" },
	{ "IPv4 address in ipv6 record", "live 1 ipv6 10.0.0.1:1 [::1]:2 t0=5 path=CLOSE\n",
	  "field 4: expected [IPV6]:PORT, got '10.0.0.1:1'" },
	{ "IPv6 address without port", "live 1 ipv6 [::1]:1 [::1] t0=5 path=CLOSE\n",
	  "field 5: expected [IPV6]:PORT, got '[::1]'" },
	{ "bad IPv6 address", "live 1 ipv6 [1.2.3.4]:1 [::1]:2 t0=5 path=CLOSE\n",
	  "field 4: bad IPv6 address '1.2.3.4'" },
	{ "IPv6 address too long", "live 1 ipv6 [0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:1 [::1]:2 t0=5 path=CLOSE\n",
	  "field 4: bad IPv6 address '0000:0000:0000:0000:0000:0000:0000:0000:'" },
	{ "port too large", "live 1 ipv4 10.0.0.1:1 10.0.0.2:65536 t0=5 path=CLOSE\n",
	  "field 5: bad port '65536'" },
	{ "empty port", "live 1 ipv4 10.0.0.1:1 10.0.0.2: t0=5 path=CLOSE\n",
	  "field 5: bad port ''" },
	{ "field without '='", "done 1 " ADDRS " seq t0=5 path=CLOSE\n",
	  "field 6: expected key=value, got 'seq'" },
	{ "field with empty key", "done 1 " ADDRS " =5 seq=0 t0=5 path=CLOSE\n",
	  "field 6: expected key=value, got '=5'" },
	{ "missing path=", "done 1 " ADDRS " seq=0 t0=5\n", "missing path=" },
	{ "missing t0=", "done 1 " ADDRS " seq=0 path=CLOSE\n", "missing t0=" },
	{ "done record without seq=", "done 1 " ADDRS " t0=5 path=CLOSE\n",
	  "missing seq= (required on done records)" },
	{ "t0 not a number", "live 1 " ADDRS " t0=abc path=CLOSE\n",
	  "t0: expected a decimal number, got 'abc'" },
	{ "t0 empty", "live 1 " ADDRS " t0= path=CLOSE\n",
	  "t0: expected a decimal number, got ''" },
	{ "t0 with sign", "live 1 " ADDRS " t0=+5 path=CLOSE\n",
	  "t0: expected a decimal number, got '+5'" },
	{ "t0 overflows u64", "live 1 " ADDRS " t0=18446744073709551616 path=CLOSE\n",
	  "t0: number overflows u64" },
	{ "seq overflows u64", "done 1 " ADDRS " seq=99999999999999999999 t0=5 path=CLOSE\n",
	  "seq: number overflows u64" },
	{ "dropped not a number", "live 1 " ADDRS " t0=5 dropped=0x10 path=CLOSE\n",
	  "dropped: expected a decimal number, got '0x10'" },
	{ "duplicate t0=", "live 1 " ADDRS " t0=5 t0=6 path=CLOSE\n", "duplicate key 't0'" },
	{ "duplicate path=", "live 1 " ADDRS " t0=5 path=CLOSE path=CLOSE\n",
	  "duplicate key 'path'" },
	{ "empty path", R "path=\n", "bad path: expected a state at the start" },
	{ "path without first state", R "path=>SYN_SENT@0\n",
	  "bad path: expected a state at the start" },
	{ "path ending in '>'", R "path=CLOSE>\n", "bad path: expected a state after '>'" },
	{ "two '>' in a row", R "path=CLOSE>SYN_SENT@0>>ESTABLISHED@1\n",
	  "bad path: expected a state after '>'" },
	{ "path ending in '/'", R "path=CLOSE/\n", "bad path: expected a state after '/'" },
	{ "'/' state without '>'", R "path=CLOSE>SYN_SENT@0/ESTABLISHED\n",
	  "bad path: expected '>' after state 'ESTABLISHED'" },
	{ "time on the first state", R "path=CLOSE@0\n",
	  "bad path: expected '>' after state 'CLOSE'" },
	{ "'@' without time", R "path=CLOSE>SYN_SENT@\n",
	  "bad path: expected a time after 'SYN_SENT@'" },
	{ "negative time", R "path=CLOSE>SYN_SENT@-5\n",
	  "bad path: expected a time after 'SYN_SENT@'" },
	{ "uppercase flag", R "path=CLOSE>SYN_SENT@5S\n",
	  "bad path: unexpected 'S' after the time of state 'SYN_SENT'" },
	{ "two times", R "path=CLOSE>SYN_SENT@5@6\n",
	  "bad path: unexpected '@' after the time of state 'SYN_SENT'" },
	{ "time overflows u64", R "path=CLOSE>SYN_SENT@18446744073709551616\n",
	  "bad path: time of state 'SYN_SENT' overflows u64" },
	{ "more than TCPTRACE_MAX_STEPS steps", R "path=CLOSE>SYN_SENT@0>ESTABLISHED@1>CLOSE_WAIT@2>LAST_ACK@3>CLOSE@4>SYN_SENT@5>ESTABLISHED@6>FIN_WAIT1@7>FIN_WAIT2@8>TIME_WAIT@9>CLOSE@10\n",
	  "bad path: more than 10 steps" },
	{ "tab in a record", "live 1\t" ADDRS " t0=5 path=CLOSE\n",
	  "non-printable byte 0x09 at column 7" },
	{ "CRLF line end", R "path=CLOSE\r\n", "non-printable byte 0x0d at column 56" },
	{ "line without newline", R "path=CLOSE", "truncated line (no newline)" },
	{ "header alone", "# tcptrace\n", "header: missing format=" },
	{ "header with trailing space only", "# tcptrace \n", "header: missing format=" },
	{ "header without format=", "# tcptrace " HEADER_REST "\n", "header: missing format=" },
	{ "header format not a number", "# tcptrace format=one " HEADER_REST "\n",
	  "header: format: expected a decimal number, got 'one'" },
	{ "header without a counter", "# tcptrace format=1 now=1 live=2 live_max=16384 done=3 ring_size=8192 created=5 completed=3 drop_table_full=0 drop_steps_full=0 ring_overwritten=0 mem_bytes=1\n",
	  "header: missing events=" },
	{ "header without now=", "# tcptrace format=1 " HEADER_COUNTERS "\n",
	  "header: missing now=" },
	{ "header counter not a number", "# tcptrace format=1 now=1 live=abc\n",
	  "header: live: expected a decimal number, got 'abc'" },
	{ "header counter overflows u64", "# tcptrace format=1 now=18446744073709551616 " HEADER_COUNTERS "\n",
	  "header: now: number overflows u64" },
	{ "header duplicate counter", "# tcptrace format=1 live=1 " HEADER_REST "\n",
	  "header: duplicate key 'live'" },
	{ "header two spaces", "# tcptrace format=1  " HEADER_REST "\n",
	  "header: field 2: empty (fields are separated by one space)" },
	{ "header field without '='", "# tcptrace format=1 junk " HEADER_REST "\n",
	  "header: field 2: expected key=value, got 'junk'" },
	{ "header with a tab", "# tcptrace format=1\t" HEADER_REST "\n",
	  "non-printable byte 0x09 at column 20" },
	{ "header: format 2 counter not a number", "# tcptrace format=2 " HEADER_REST " syncookies=x\n",
	  "header: syncookies: expected a decimal number, got 'x'" },
	{ "header: duplicate format 2 counter", "# tcptrace format=2 " HEADER_REST " timewait=1 timewait=1\n",
	  "header: duplicate key 'timewait'" },
	{ "unknown end reason", R "end=bored path=CLOSE\n", "unknown end reason 'bored'" },
	{ "end reason in capitals", R "end=ACTIVE_CLOSE path=CLOSE\n",
	  "unknown end reason 'ACTIVE_CLOSE'" },
	{ "duplicate end=", R "end=refused end=refused path=CLOSE\n", "duplicate key 'end'" },
	{ "bad timewait=", R "timewait=yes path=CLOSE\n",
	  "timewait: expected expired or killed, got 'yes'" },
	{ "bad seen_at_load=", R "seen_at_load=2 path=CLOSE\n",
	  "seen_at_load: expected 0 or 1, got '2'" },
	{ "netns not a number", R "netns=net path=CLOSE\n",
	  "netns: expected a decimal number, got 'net'" },
	{ "pid overflows u64", R "pid=18446744073709551616 path=CLOSE\n",
	  "pid: number overflows u64" },
	{ "duplicate uid=", R "uid=0 uid=0 path=CLOSE\n", "duplicate key 'uid'" },
	{ "duplicate comm=", R "comm=a comm=b path=CLOSE\n", "duplicate key 'comm'" },
	{ "comm with a lone backslash", R "comm=a\\b path=CLOSE\n",
	  "comm: bad escape '\\b' (expected \\xHH)" },
	{ "comm with a short escape", R "comm=a\\x4 path=CLOSE\n",
	  "comm: bad escape '\\x4' (expected \\xHH)" },
	{ "comm with a bad hex digit", R "comm=\\xg1 path=CLOSE\n",
	  "comm: bad escape '\\xg1' (expected \\xHH)" },
	{ "comm too long", R "comm=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX path=CLOSE\n",
	  "comm: longer than 64 bytes" },
	{ "bytes_acked negative", R "bytes_acked=-1 path=CLOSE\n",
	  "bytes_acked: expected a decimal number, got '-1'" },
	{ "unexpected= empty", R "unexpected= path=CLOSE\n",
	  "unexpected: expected a decimal number, got ''" },
	{ "syn_retrans not a number", R "syn_retrans=two path=CLOSE\n",
	  "syn_retrans: expected a decimal number, got 'two'" },
	{ "syn_retrans overflows u64", R "syn_retrans=18446744073709551616 path=CLOSE\n",
	  "syn_retrans: number overflows u64" },
	{ "duplicate syn_retrans=", R "syn_retrans=1 syn_retrans=1 path=CLOSE\n",
	  "duplicate key 'syn_retrans'" },
	{ "rst_reason in lowercase", R "end=reset_sent rst_reason=tcp_state path=CLOSE\n",
	  "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got 'tcp_state'" },
	{ "rst_reason empty", R "rst_reason= path=CLOSE\n",
	  "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got ''" },
	{ "rst_reason with a dash", R "rst_reason=TCP-STATE path=CLOSE\n",
	  "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got 'TCP-STATE'" },
	{ "rst_reason of 48 characters", R "rst_reason=TCP_A_REASON_OF_A_LATER_KERNEL_0123456789_ABCDEX path=CLOSE\n",
	  "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got 'TCP_A_REASON_OF_A_LATER_KERNEL_012345678'" },
	{ "rst_reason negative", R "rst_reason=-1 path=CLOSE\n",
	  "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got '-1'" },
	{ "duplicate rst_reason=", R "rst_reason=TCP_STATE rst_reason=NO_SOCKET path=CLOSE\n",
	  "duplicate key 'rst_reason'" },
	{ "header: rst_reasons not a number", "# tcptrace format=2 " HEADER_REST " rst_reasons=yes\n",
	  "header: rst_reasons: expected a decimal number, got 'yes'" },
	{ "header: duplicate rst_reasons", "# tcptrace format=2 " HEADER_REST " rst_reasons=1 rst_reasons=1\n",
	  "header: duplicate key 'rst_reasons'" },
};

static void run_error_case(struct test *t, const struct error_case *c)
{
	char err[TT_ERR_MAX];
	struct tt_line line;

	if (parse_as(t, c->line, TT_LINE_ERROR, &line, err))
		CHECK_STR(t, err, c->message);
}

/* Longer than TCPTRACE_LINE_MAX: built here rather than spelled out. */
static void test_line_too_long(struct test *t)
{
	char text[TCPTRACE_LINE_MAX + 2];
	char err[TT_ERR_MAX];
	struct tt_line line;

	memset(text, 'x', sizeof(text) - 2);
	memcpy(text, "live ", 5);
	text[TCPTRACE_LINE_MAX] = '\n';
	text[TCPTRACE_LINE_MAX + 1] = '\0';
	if (parse_as(t, text, TT_LINE_ERROR, &line, err))
		CHECK_STR(t, err, "line too long (more than 1024 bytes)");
	/* Comments too: no line of the format is longer. */
	text[0] = '#';
	if (parse_as(t, text, TT_LINE_ERROR, &line, err))
		CHECK_STR(t, err, "line too long (more than 1024 bytes)");
}

/* ---- runner ---------------------------------------------------------- */

static const struct test_case tests[] = {
	{ "parse: done ipv4 record (example of the format)", test_done_ipv4 },
	{ "parse: live ipv6 record (example of the format)", test_live_ipv6 },
	{ "parse: ipv6 record with v4-mapped addresses", test_v4_mapped },
	{ "parse: ipv6 record with long addresses", test_full_ipv6 },
	{ "parse: gaps ('/' old state)", test_gap },
	{ "parse: gap on the first step", test_gap_first_step },
	{ "parse: path without steps", test_no_steps },
	{ "parse: dropped= and TCPTRACE_MAX_STEPS steps", test_dropped_and_max_steps },
	{ "parse: every name of TCPTRACE_STATE_NAMES", test_every_state_name },
	{ "parse: unknown keys are ignored", test_unknown_keys_ignored },
	{ "parse: unknown step flags are ignored", test_unknown_flags_ignored },
	{ "parse: unknown record kinds are skipped", test_unknown_kind_skipped },
	{ "parse: numbers up to UINT64_MAX", test_u64_limits },
	{ "parse: blank lines and comments", test_blank_and_comments },
	{ "parse: line of TCPTRACE_LINE_MAX bytes", test_longest_line },
	{ "parse: header (example of the format)", test_header },
	{ "parse: header with unknown keys in any order", test_header_unknown_keys_and_order },
	{ "parse: header of another format is refused", test_header_unsupported_format },
	{ "parse: header of format 2 (optional counters)", test_header_format2 },
	{ "parse: format 2 record (example of the format)", test_format2_record },
	{ "parse: step flags x, d and w", test_format2_flags },
	{ "parse: seen_at_load=", test_format2_seen_at_load },
	{ "parse: syn_retrans= and rst_reason=, and without them", test_format2_rst_reason },
	{ "parse: comm= and its escapes", test_comm },
	{ "parse: every name of TCPTRACE_END_NAMES", test_end_names },
	{ "parse: headers of formats 1 and 2 are read", test_header_older_formats },
	{ "parse: line too long", test_line_too_long },
	{ "output: durations", test_duration_format },
};

int main(void)
{
	bool all_passed = run_tests(tests, sizeof(tests) / sizeof(tests[0]));
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct test t = { false };

		run_error_case(&t, &error_cases[i]);
		all_passed &= report("rejects: ", error_cases[i].name, &t);
	}
	return all_passed ? 0 : 1;
}
