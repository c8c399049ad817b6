// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the JSON records read back (json.c): every record line of
 * every capture of tests/data, and lines made to reach every field, go
 * text -> tt_record -> JSON (view_json.c) -> tt_record and come back the
 * same; the longest history the JSON can hold fits in a line; objects
 * that are not histories, or not as the schema says, are refused with the
 * message naming why; what a later version may add is skipped.
 *
 * Run from userspace/ (as tests/run.sh does): it reads tests/data.
 */
#include <arpa/inet.h>

#include "../json.h"
#include "../origin.h"
#include "../views.h"
#include "records.h"

/* A history as --json writes it, with @origin's host and boot_id if not NULL. */
static size_t to_json(const struct tt_record *r, const struct tt_origin *origin,
		      char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");
	long len;

	if (!f)
		return 0;
	tt_print_record_json(f, r, origin);
	fputc('\n', f);
	len = ftell(f);
	fclose(f);
	return len > 0 && (size_t)len < size ? (size_t)len : 0;
}

/*
 * What the JSON holds of a record: it writes syn_retrans, seen_at_load,
 * unexpected and dropped always, so reading it back tells "0" and absent
 * apart no more than the views do.
 */
static struct tt_record as_json_reads(const struct tt_record *r)
{
	struct tt_record want = *r;

	if (!want.syn_retrans)
		want.has &= ~TT_HAS_SYN_RETRANS;
	if (!want.seen_at_load)
		want.has &= ~TT_HAS_SEEN_AT_LOAD;
	if (!want.unexpected)
		want.has &= ~TT_HAS_UNEXPECTED;
	if (!want.dropped)
		want.has &= ~TT_HAS_DROPPED;
	return want;
}

/* @r to JSON and back, with @origin (or none): the same, or said why not. */
static bool round_trip_record(const struct tt_record *r, const struct tt_origin *origin,
			      const char *where)
{
	char json[TT_JSON_LINE_MAX + 2], err[TT_ERR_MAX];
	struct tt_record want = as_json_reads(r);
	struct tt_line parsed;
	const char *diff;
	size_t len;

	len = to_json(r, origin, json, sizeof(json));
	if (!len) {
		printf("# %s: its JSON is longer than %d bytes\n", where, TT_JSON_LINE_MAX);
		return false;
	}
	if (tt_parse_line(json, len, &parsed, err) != TT_LINE_RECORD) {
		printf("# %s: its JSON does not read back: %s\n# %s", where, err, json);
		return false;
	}
	diff = records_differ(&want, &parsed.record);
	if (diff) {
		printf("# %s: read back, its %s differ\n# %s", where, diff, json);
		return false;
	}
	if (!parsed.json || parsed.has_origin != !!origin ||
	    (origin && !tt_origin_same(origin, &parsed.origin))) {
		printf("# %s: read back with another origin\n# %s", where, json);
		return false;
	}
	return true;
}

static void round_trip_line(struct test *t, const char *line, size_t len,
			    const char *where, void *ctx)
{
	static const struct tt_origin origin = {
		.host = "web\\x201", .boot_id = "0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11",
	};
	unsigned int *lines = ctx;
	struct tt_record r;

	if (!parse_record(line, len, &r))
		return;		/* not a record line: the text parser's tests */
	if (!round_trip_record(&r, NULL, where) || !round_trip_record(&r, &origin, where))
		t->failed = true;
	(*lines)++;
}

/* Every record line of every capture (and follow script) of tests/data. */
static void test_round_trip_captures(struct test *t)
{
	unsigned int lines = 0;

	each_capture_record_line(t, round_trip_line, &lines);
	/* 78 when this was written. */
	CHECK(t, lines >= 78);
}

/* test_lines: every field and every way of writing a path. */
static void test_round_trip_lines(struct test *t)
{
	unsigned int lines = 0, i;

	for (i = 0; i < NR_TEST_LINES; i++) {
		char where[32];

		snprintf(where, sizeof(where), "line %u", i + 1);
		round_trip_line(t, test_lines[i], strlen(test_lines[i]), where, &lines);
	}
	CHECK_U64(t, lines, NR_TEST_LINES);
}

/*
 * The longest JSON line there is: every number at its largest, the
 * longest addresses, host and comm of bytes that are all escaped, and all
 * TCPTRACE_MAX_STEPS steps with every flag. It fits in TT_JSON_LINE_MAX.
 */
static void test_longest(struct test *t)
{
	static const char addr[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	char json[TT_JSON_LINE_MAX + 2];
	struct tt_origin origin = { .boot_id = "0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11" };
	struct tt_record r = {
		.kind = TT_KIND_DONE, .id = UINT64_MAX, .family = TT_FAMILY_IPV6,
		/* Every TT_HAS_ bit: TT_HAS_RST_REASON is the last. */
		.has = (TT_HAS_RST_REASON << 1) - 1, .seq = UINT64_MAX, .t0 = UINT64_MAX,
		.netns = UINT64_MAX, .uid = UINT64_MAX, .pid = UINT64_MAX,
		.tgid = UINT64_MAX, .end = TCPTRACE_END_SIMULTANEOUS_CLOSE,
		.timewait = TT_TIMEWAIT_EXPIRED, .bytes_acked = UINT64_MAX,
		.bytes_received = UINT64_MAX, .retrans = UINT64_MAX,
		.srtt_us = UINT64_MAX, .syn_retrans = UINT64_MAX, .seen_at_load = true,
		.unexpected = UINT64_MAX, .dropped = UINT64_MAX,
		.first_state = 12, .nr_steps = TCPTRACE_MAX_STEPS,
	};
	char bytes[TT_COMM_MAX];
	unsigned int i;
	size_t len;

	memset(r.rst_reason, 'X', TT_RST_REASON_MAX);
	memset(bytes, 0x01, sizeof(bytes));
	tt_comm_encode(bytes, TT_COMM_MAX, r.comm);
	tt_comm_encode(bytes, TT_HOST_MAX, origin.host);
	strcpy(r.local.addr, addr);
	strcpy(r.remote.addr, addr);
	inet_pton(AF_INET6, addr, r.local.bin);
	inet_pton(AF_INET6, addr, r.remote.bin);
	r.local.port = r.remote.port = UINT16_MAX;
	for (i = 0; i < TCPTRACE_MAX_STEPS; i++)
		r.steps[i] = (struct tt_step){
			.old_state = 12, .new_state = 12,	/* NEW_SYN_RECV */
			.t_ns = UINT64_MAX, .softirq = true, .gap = true,
			.unexpected = true, .derived = true, .timewait = true,
		};
	len = to_json(&r, &origin, json, sizeof(json));
	/* 3025 bytes when this was written. */
	CHECK(t, len > 3000 && len <= TT_JSON_LINE_MAX);
	CHECK(t, round_trip_record(&r, &origin, "the longest history"));
}

struct refusal {
	const char *json;
	const char *message;
};

/* A history with the members --json writes, to break in one place. */
#define H_START	"{\"schema\":1,\"kind\":\"done\",\"id\":10,\"family\":\"ipv4\","
#define H_ADDRS	"\"local\":{\"addr\":\"127.0.0.1\",\"port\":40000},\"remote\":{\"addr\":\"127.0.0.1\",\"port\":9},"
#define H_SEQ	"\"seq\":3,\"t0\":176700000000,"
#define H_PATH	"\"first_state\":\"CLOSE\",\"steps\":[{\"from\":\"CLOSE\",\"to\":\"SYN_SENT\",\"t_ns\":0},{\"from\":\"SYN_SENT\",\"to\":\"CLOSE\",\"t_ns\":52000}]"
#define HISTORY	H_START H_ADDRS H_SEQ H_PATH "}"

static void test_refused(struct test *t)
{
	static const struct refusal refusals[] = {
		{ "{", "JSON: column 2: expected a string, got the end of the line" },
		{ "{\"schema\":1,}", "JSON: column 13: expected a string, got '}'" },
		{ "{\"schema\":1} x", "JSON: column 14: something after the object" },
		{ "{\"schema\" 1}", "JSON: column 11: expected ':' after a member name" },
		{ "{\"kind\":\"do\\ne\"}", "JSON: no \"schema\": not a line of tcptrace --json" },
		{ "{\"schema\":2,\"kind\":\"done\"}", "JSON: schema 2 (this tcptrace reads schema 1)" },
		{ "{\"schema\":1,\"histories\":3}",
		  "JSON: no \"kind\": not a history (tcptrace --json writes one a line)" },
		{ H_START H_ADDRS H_SEQ "\"steps\":[]}", "JSON: missing member \"first_state\"" },
		{ H_START H_ADDRS "\"t0\":1," H_PATH "}",
		  "JSON: missing member \"seq\" (required in done histories)" },
		{ H_START "\"id\":11," H_ADDRS H_SEQ H_PATH "}", "JSON: member \"id\" twice" },
		{ "{\"schema\":1,\"kind\":\"done\",\"id\":-1}",
		  "JSON: \"id\": expected a whole number (0 to 2^64-1), got '-1'" },
		{ "{\"schema\":1,\"kind\":\"done\",\"id\":1.5}",
		  "JSON: \"id\": expected a whole number (0 to 2^64-1), got '1.5'" },
		{ "{\"schema\":1,\"kind\":\"done\",\"id\":\"7\"}",
		  "JSON: \"id\": expected a whole number (0 to 2^64-1), got '\"7\"'" },
		{ "{\"schema\":1,\"kind\":\"done\",\"id\":18446744073709551616}",
		  "JSON: \"id\": number overflows u64" },
		{ "{\"schema\":1,\"family\":\"ipv5\"}",
		  "JSON: \"family\": expected \"ipv4\" or \"ipv6\", got \"ipv5\"" },
		{ "{\"schema\":1,\"local\":{\"addr\":\"::1\",\"port\":70000}}",
		  "JSON: \"port\": 70000 is more than 65535" },
		{ "{\"schema\":1,\"local\":{\"port\":1}}", "JSON: \"local\": missing \"addr\"" },
		{ H_START "\"local\":{\"addr\":\"::1\",\"port\":1},\"remote\":{\"addr\":\"::1\",\"port\":9}," H_SEQ H_PATH "}",
		  "JSON: \"local\": addr: not an IPv4 address: \"::1\"" },
		{ "{\"schema\":1,\"comm\":\"n c\"}",
		  "JSON: \"comm\": byte 0x20 (expected '!' to '~', others as \\xHH)" },
		{ "{\"schema\":1,\"comm\":\"\\u00e9\"}",
		  "JSON: \"comm\": byte 0xc3 (expected '!' to '~', others as \\xHH)" },
		{ "{\"schema\":1,\"comm\":\"a\\\\x2\"}",
		  "JSON: \"comm\": bad escape '\\x2' (expected \\xHH)" },
		{ "{\"schema\":1,\"boot_id\":\"0a6c9f4e\"}", "JSON: \"boot_id\": expected a UUID" },
		{ "{\"schema\":1,\"end\":\"shut\"}", "JSON: \"end\": unknown end reason \"shut\"" },
		{ "{\"schema\":1,\"timewait\":\"gone\"}",
		  "JSON: \"timewait\": expected \"expired\" or \"killed\", got \"gone\"" },
		{ "{\"schema\":1,\"rst_reason\":\"tcp\"}",
		  "JSON: \"rst_reason\": expected 1 to 47 characters of [A-Z0-9_]" },
		{ "{\"schema\":1,\"seen_at_load\":1}",
		  "JSON: \"seen_at_load\": expected true or false, got a number" },
		{ "{\"schema\":1,\"first_state\":\"SYN_SEN\"}",
		  "JSON: \"first_state\": unknown state \"SYN_SEN\"" },
		{ H_START H_ADDRS H_SEQ "\"first_state\":\"CLOSE\",\"steps\":[{\"from\":\"LISTEN\",\"to\":\"CLOSE\",\"t_ns\":1}]}",
		  "JSON: step 1: from LISTEN, but the path was in CLOSE (and \"gap\" is false)" },
		{ "{\"schema\":1,\"steps\":[{\"from\":\"CLOSE\",\"t_ns\":1}]}",
		  "JSON: step 1: missing \"to\"" },
		{ "{\"schema\":1,\"steps\":[{},{},{},{},{},{},{},{},{},{},{}]}",
		  "JSON: step 1: missing \"from\"" },
		{ H_START H_ADDRS H_SEQ "\"first_state\":\"CLOSE\",\"steps\":["
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},"
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},"
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},"
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},"
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0},"
		  "{\"from\":\"CLOSE\",\"to\":\"CLOSE\",\"t_ns\":0}]}",
		  "JSON: \"steps\": more than 10 steps" },
		{ "{\"schema\":1,\"host\":\"h\",\"boot_id\":\"0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11\",\"kind\":\"live\"," H_ADDRS "\"t0\":1," H_PATH ",\"boot_id\":\"0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11\"}",
		  "JSON: member \"boot_id\" twice" },
		{ "{\"schema\":1,\"boot_id\":\"0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11\",\"kind\":\"live\",\"id\":1,\"family\":\"ipv4\"," H_ADDRS "\"t0\":1," H_PATH "}",
		  "JSON: \"boot_id\" without \"host\"" },
		{ "{\"lost\":null}",
		  "JSON: a \"lost\" object is {\"lost\":N} or {\"lost\":null,\"next_seq\":SEQ}" },
		{ "{\"lost\":2,\"next_seq\":3}",
		  "JSON: a \"lost\" object is {\"lost\":N} or {\"lost\":null,\"next_seq\":SEQ}" },
		{ "{\"schema\":1,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		  "JSON: column 49: values nested more than 32 deep" },
		{ "{\"schema\":1,\"x\":01}", "JSON: column 17: expected a value" },
		{ "{\"schema\":1,\"x\":\"\\q\"}", "JSON: column 19: bad escape '\\q'" },
		{ "{\"schema\":1,\"x\":\"\\ud800\"}",
		  "JSON: column 24: bad \\u escape (expected 4 hex digits, surrogates in pairs)" },
		{ "{\"schema\":1,\"x\":\"\t\"}",
		  "JSON: column 18: control byte 0x09 in a string (expected an escape)" },
	};
	char line[TT_JSON_LINE_MAX + 2], err[TT_ERR_MAX];
	struct tt_line parsed;
	unsigned int i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		size_t len = (size_t)snprintf(line, sizeof(line), "%s\n", refusals[i].json);
		enum tt_line_type type = tt_parse_line(line, len, &parsed, err);

		if (type != TT_LINE_ERROR) {
			printf("# refusal %u: type %d, not an error: %s", i + 1, type, line);
			t->failed = true;
		} else if (strcmp(err, refusals[i].message) != 0) {
			printf("# refusal %u: '%s', expected '%s'\n", i + 1, err,
			       refusals[i].message);
			t->failed = true;
		}
	}
}

/* The line without '\n', and a line longer than any JSON history. */
static void test_refused_lines(struct test *t)
{
	char line[TT_JSON_LINE_MAX + 2], err[TT_ERR_MAX];
	struct tt_line parsed;

	CHECK(t, tt_parse_line(HISTORY, strlen(HISTORY), &parsed, err) == TT_LINE_ERROR);
	CHECK_STR(t, err, "truncated line (no newline)");
	memset(line, ' ', sizeof(line));
	memcpy(line, HISTORY, strlen(HISTORY));
	line[sizeof(line) - 1] = '\n';
	CHECK(t, tt_parse_line(line, sizeof(line), &parsed, err) == TT_LINE_ERROR);
	CHECK_STR(t, err, "JSON line too long (more than 4096 bytes)");
	/* As long as it may be: blanks after the object are fine. */
	line[TT_JSON_LINE_MAX - 1] = '\n';
	CHECK(t, tt_parse_line(line, TT_JSON_LINE_MAX, &parsed, err) == TT_LINE_RECORD);
}

/*
 * What a later version may write: members this reader does not know, in
 * the history, its addresses and its steps, and kinds it does not know.
 * The derived members need not be there, and any order does.
 */
static void test_later_versions(struct test *t)
{
	static const char skipped[] =
		"{\"new\":{\"a\":[1,-2.5e+3,true,false,null,\"\\u00e9\\ud83d\\ude00\"]},"
		"\"steps\":[{\"t_ns\":0,\"to\":\"SYN_SENT\",\"from\":\"CLOSE\",\"new\":1},"
		"{\"from\":\"SYN_SENT\",\"to\":\"CLOSE\",\"t_ns\":52000}],"
		"\"first_state\":\"CLOSE\",\"seq\":3,\"t0\":176700000000,"
		"\"remote\":{\"port\":9,\"addr\":\"127.0.0.1\",\"scope\":\"x\"},"
		"\"local\":{\"addr\":\"127.0.0.1\",\"port\":40000},"
		"\"family\":\"ipv4\",\"id\":10,\"kind\":\"done\",\"schema\":1}\n";
	static const char unknown_kind[] = "{\"schema\":1,\"kind\":\"gone\",\"id\":1,\"what\":{}}\n";
	char err[TT_ERR_MAX];
	struct tt_line a, b;

	CHECK(t, tt_parse_line(HISTORY "\n", strlen(HISTORY) + 1, &a, err) == TT_LINE_RECORD);
	CHECK(t, tt_parse_line(skipped, strlen(skipped), &b, err) == TT_LINE_RECORD);
	CHECK(t, !records_differ(&a.record, &b.record));
	CHECK(t, !a.has_origin && !b.has_origin);
	CHECK_U64(t, a.record.nr_steps, 2);
	CHECK_STR(t, a.record.local.addr, "127.0.0.1");
	CHECK_U64(t, a.record.remote.port, 9);
	CHECK(t, tt_parse_line(unknown_kind, strlen(unknown_kind), &a, err) ==
		 TT_LINE_UNKNOWN_KIND);
}

/* What "tcptrace -f --json" writes where histories were lost. */
static void test_lost(struct test *t)
{
	static const char known[] = "{\"lost\":3}\n";
	static const char unknown[] = " { \"next_seq\" : 8 , \"lost\" : null } \n";
	char err[TT_ERR_MAX];
	struct tt_line l;

	CHECK(t, tt_parse_line(known, strlen(known), &l, err) == TT_LINE_LOST);
	CHECK(t, l.lost.known);
	CHECK_U64(t, l.lost.n, 3);
	/* Not '{' first: a text line, for the text parser. */
	CHECK(t, tt_parse_line(unknown, strlen(unknown), &l, err) == TT_LINE_ERROR);
	CHECK(t, tt_parse_line(unknown + 1, strlen(unknown) - 1, &l, err) == TT_LINE_LOST);
	CHECK(t, !l.lost.known);
	CHECK_U64(t, l.lost.next_seq, 8);
}

static const struct test_case tests[] = {
	{ "json: every record line of tests/data reads back from its JSON",
	  test_round_trip_captures },
	{ "json: lines with every field read back from their JSON", test_round_trip_lines },
	{ "json: the longest history fits in a JSON line, and reads back", test_longest },
	{ "json: objects not as the schema says are refused, with why", test_refused },
	{ "json: lines cut short or too long are refused", test_refused_lines },
	{ "json: members and kinds of later versions are skipped", test_later_versions },
	{ "json: lost objects", test_lost },
};

int main(void)
{
	return run_tests(tests, sizeof(tests) / sizeof(tests[0])) ? 0 : 1;
}
