// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the binary records (binary.c): every record line of every
 * capture of tests/data goes text -> tt_record -> binary -> tt_record ->
 * text and comes back the same; addresses are written as the kernel
 * writes them; headers and records that cannot be read are refused with
 * a message; and any binary record the decoder takes reads as the text
 * line it renders to (mutated records, many times over).
 *
 * Run from userspace/ (as tests/run.sh does): it reads tests/data.
 */
#include <arpa/inet.h>

#include "../binary.h"
#include "records.h"

/*
 * text -> record -> binary -> record -> text, for one line that parses as
 * a record. 1: the same line; 0: the binary layout cannot hold it (@why);
 * -1: it came back otherwise (said).
 */
static int round_trip(const char *line, size_t len, const char *where,
		      char why[TT_ERR_MAX])
{
	struct tcptrace_binary_record b;
	struct tt_record parsed, decoded;
	char text[TT_RENDER_MAX];
	char err[TT_ERR_MAX];
	const char *diff;
	size_t n;

	if (!parse_record(line, len, &parsed))
		return 1;	/* not a record line */
	if (!tt_binary_encode_record(&parsed, &b, why))
		return 0;
	if (tt_binary_parse_record(&b, &decoded, 0, err) != TT_LINE_RECORD) {
		printf("# %s: the encoded record does not decode: %s\n", where, err);
		return -1;
	}
	diff = records_differ(&parsed, &decoded);
	if (diff) {
		printf("# %s: decoded, its %s differ\n", where, diff);
		return -1;
	}
	n = tt_binary_render(&decoded, text);
	if (n != len || memcmp(text, line, len) != 0) {
		printf("# %s: rendered as\n# %.*s", where, (int)n, text);
		return -1;
	}
	return 1;
}

/*
 * The only lines the binary layout may not hold are those without fields
 * the module always writes (format 1 had no netns= and uid=; some lines
 * made by hand have no counters).
 */
static bool refusal_expected(const char *why)
{
	return strstr(why, "a binary record always has netns and uid") ||
	       strstr(why, "a done record without all of");
}

struct round_trips {
	unsigned int lines;	/* came back the same */
	unsigned int refused;	/* the binary layout cannot hold them */
};

static void round_trip_line(struct test *t, const char *line, size_t len,
			    const char *where, void *ctx)
{
	struct round_trips *counts = ctx;
	char why[TT_ERR_MAX];

	switch (round_trip(line, len, where, why)) {
	case 1:
		counts->lines++;
		break;
	case 0:
		counts->refused++;
		if (!refusal_expected(why)) {
			printf("# %s: refused: %s\n", where, why);
			t->failed = true;
		}
		break;
	default:
		t->failed = true;
	}
}

/* Every record line of every capture (and follow script) of tests/data. */
static void test_round_trip_captures(struct test *t)
{
	struct round_trips counts = { 0, 0 };

	each_capture_record_line(t, round_trip_line, &counts);
	/*
	 * 53 lines when this was written; 25 are written by hand without
	 * fields the module always writes (netns=, uid=, a done record's
	 * counters), 6 of them in handover.txt.
	 */
	CHECK(t, counts.lines >= 53);
	CHECK(t, counts.refused <= 25);
}

/* test_lines: every field and every way of writing a path. */
static void test_round_trip_lines(struct test *t)
{
	char why[TT_ERR_MAX];
	unsigned int i;

	for (i = 0; i < NR_TEST_LINES; i++) {
		char where[32];

		snprintf(where, sizeof(where), "line %u", i + 1);
		if (round_trip(test_lines[i], strlen(test_lines[i]), where, why) != 1) {
			printf("# %s refused: %s\n", where, why);
			t->failed = true;
		}
	}
}

/* What the binary layout cannot hold is refused, with a reason. */
static void test_encode_refuses(struct test *t)
{
	static const struct {
		const char *line, *message;
	} cases[] = {
		{ "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=0 t0=1 path=CLOSE\n",
		  "no netns= (a binary record always has netns and uid)" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=4294967296 uid=0 path=CLOSE\n",
		  "netns=4294967296 does not fit in the binary record (at most 4294967295)" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 syn_retrans=0 path=CLOSE\n",
		  "syn_retrans=0 cannot be written in binary (absent means 0)" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 pid=1 tgid=1 comm=0123456789abcdef path=CLOSE\n",
		  "comm: longer than the 15 bytes of the binary record" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 pid=1 tgid=1 comm=a\\x00 path=CLOSE\n",
		  "comm: a NUL byte cannot be written in binary" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 pid=1 path=CLOSE\n",
		  "an owner without all of pid, tgid and comm" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 netns=1 uid=0 path=CLOSE\n",
		  "a live record with a field of done records" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 rst_reason=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 path=CLOSE\n",
		  "rst_reason: longer than the 31 bytes of the binary record" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 path=CLOSE/CLOSE>SYN_SENT@1\n",
		  "bad path: '/CLOSE' in step 1 names the state before it" },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 netns=1 uid=0 path=CLOSE/LISTEN>SYN_RECV@1>ESTABLISHED@2>FIN_WAIT1@3>FIN_WAIT2@4>TIME_WAIT@5>CLOSE@6>SYN_SENT@7>CLOSE@8>SYN_SENT@9>CLOSE@10\n",
		  "bad path: 10 steps and a '/' on the first one do not fit in binary" },
	};
	struct tcptrace_binary_record b;
	char err[TT_ERR_MAX];
	struct tt_record r;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!parse_record(cases[i].line, strlen(cases[i].line), &r)) {
			printf("# case %u does not parse\n", i + 1);
			t->failed = true;
			continue;
		}
		strcpy(err, "(accepted)");
		CHECK(t, !tt_binary_encode_record(&r, &b, err));
		CHECK_STR(t, err, cases[i].message);
	}
}

/* Each address into a record, decoded: its text. */
static void check_address(struct test *t, int family, const char *addr, const char *want)
{
	struct tcptrace_binary_record b;
	char err[TT_ERR_MAX];
	struct tt_record r;

	memset(&b, 0, sizeof(b));
	b.kind = TCPTRACE_BINARY_LIVE;
	b.family = family == AF_INET ? 4 : 6;
	if (inet_pton(family, addr, b.saddr) != 1) {
		printf("# %s: not an address\n", addr);
		t->failed = true;
		return;
	}
	b.steps[0].oldstate = 7;	/* CLOSE */
	if (tt_binary_parse_record(&b, &r, 0, err) != TT_LINE_RECORD) {
		printf("# %s: %s\n", addr, err);
		t->failed = true;
		return;
	}
	CHECK_STR(t, r.local.addr, want);
	CHECK_STR(t, r.remote.addr, family == AF_INET ? "0.0.0.0" : "::");
}

/* As the kernel's %pI4 and %pI6c write them (lib/test_printf.c's forms). */
static void test_addresses(struct test *t)
{
	check_address(t, AF_INET, "127.0.0.1", "127.0.0.1");
	check_address(t, AF_INET, "10.200.9.255", "10.200.9.255");
	check_address(t, AF_INET6, "::1", "::1");
	check_address(t, AF_INET6, "2001:db8::1", "2001:db8::1");
	check_address(t, AF_INET6, "2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329");
	check_address(t, AF_INET6, "1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1");
	check_address(t, AF_INET6, "1:0:0:1:0:0:0:1", "1:0:0:1::1");
	check_address(t, AF_INET6, "1:0:0:2:0:0:3:4", "1::2:0:0:3:4");
	check_address(t, AF_INET6, "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
	check_address(t, AF_INET6, "1::", "1::");
	check_address(t, AF_INET6, "fe80::abcd:ef01", "fe80::abcd:ef01");
	check_address(t, AF_INET6, "::ffff:127.0.0.1", "::ffff:127.0.0.1");
	check_address(t, AF_INET6, "::ffff:0.0.0.0", "::ffff:0.0.0.0");
	/* ISATAP: the last 32 bits as IPv4 (inet_ntop() does not). */
	check_address(t, AF_INET6, "fe80::5efe:a01:203", "fe80::5efe:10.1.2.3");
	check_address(t, AF_INET6, "fe80::200:5efe:a01:203", "fe80::200:5efe:10.1.2.3");
	/* IPv4-compatible: hexadecimal (inet_ntop() writes ::1.2.3.4). */
	check_address(t, AF_INET6, "::102:304", "::102:304");
}

/* Any other address: as inet_ntop() writes it. */
static void test_addresses_random(struct test *t)
{
	struct tcptrace_binary_record b;
	char want[INET6_ADDRSTRLEN];
	char err[TT_ERR_MAX];
	struct tt_record r;
	unsigned int i, j, seed = 1;

	memset(&b, 0, sizeof(b));
	b.kind = TCPTRACE_BINARY_LIVE;
	b.family = 6;
	for (i = 0; i < 20000; i++) {
		for (j = 0; j < 16; j++) {
			seed = seed * 1103515245 + 12345;
			/* Mostly zero bytes: runs of zero words of every length. */
			b.saddr[j] = (seed >> 16) % 3 ? 0 : seed >> 24;
		}
		/* Not in ::/96 nor ISATAP, where they differ. */
		if (!memcmp(b.saddr, (uint8_t[12]){ 0 }, 12))
			continue;
		if ((b.saddr[8] | 2) == 2 && b.saddr[9] == 0 && b.saddr[10] == 0x5e && b.saddr[11] == 0xfe)
			continue;
		inet_ntop(AF_INET6, b.saddr, want, sizeof(want));
		if (tt_binary_parse_record(&b, &r, 0, err) != TT_LINE_RECORD ||
		    strcmp(r.local.addr, want) != 0) {
			printf("# %s written as '%s'\n", want, r.local.addr);
			t->failed = true;
			return;
		}
	}
}

static void header_bytes(struct tcptrace_binary_header *b)
{
	struct tt_header h;

	memset(&h, 0, sizeof(h));
	h.format = 2;
	h.now = 112778123180;
	h.live_max = 16384;
	h.rst_reasons = 1;
	h.evicted = 7;
	tt_binary_encode_header(&h, b);
}

static void test_header(struct test *t)
{
	struct tcptrace_binary_header b;
	char err[TT_ERR_MAX] = "";
	size_t hs = 0, rs = 0;
	struct tt_header h;
	size_t i;

	header_bytes(&b);
	CHECK(t, tt_binary_magic(&b) == TT_MAGIC_NATIVE);
	CHECK(t, tt_binary_sizes(&b, &hs, &rs, err));
	CHECK_U64(t, hs, 176);
	CHECK_U64(t, rs, 280);
	CHECK(t, tt_binary_parse_header(&b, hs, &h, err) == TT_LINE_HEADER);
	CHECK_U64(t, h.format, 2);
	CHECK_U64(t, h.now, 112778123180);
	CHECK_U64(t, h.live_max, 16384);
	CHECK_U64(t, h.rst_reasons, 1);
	CHECK_U64(t, h.evicted, 7);
	/* Every key of the text header is there. */
	for (i = 0; i < tt_nr_header_keys; i++)
		CHECK(t, tt_header_has(&h, &tt_header_keys[i]));

	/* Newer: longer structs, read by their prefix; reserved bytes used. */
	b.version = 2;
	b.header_size = 200;
	b.record_size = 300;
	b.reserved = 1;
	CHECK(t, tt_binary_sizes(&b, &hs, &rs, err));
	CHECK_U64(t, hs, 200);
	CHECK_U64(t, rs, 300);

	b.format = 3;
	CHECK(t, tt_binary_parse_header(&b, hs, &h, err) == TT_LINE_UNSUPPORTED);
	CHECK_STR(t, err, "unsupported format 3 (this tcptrace reads formats 1 to 2)");
}

static void check_sizes_refused(struct test *t, const struct tcptrace_binary_header *b,
				const char *want)
{
	char err[TT_ERR_MAX] = "(accepted)";
	size_t hs, rs;

	CHECK(t, !tt_binary_sizes(b, &hs, &rs, err));
	CHECK_STR(t, err, want);
}

static void test_header_refused(struct test *t)
{
	struct tcptrace_binary_header b, bad;

	header_bytes(&b);
	bad = b;
	bad.header_size = 175;
	check_sizes_refused(t, &bad, "binary header: header_size 175 (this tcptrace reads 176 to 16384)");
	bad = b;
	bad.record_size = 279;
	check_sizes_refused(t, &bad, "binary header: record_size 279 (this tcptrace reads 280 to 16384)");
	bad.record_size = 16385;
	check_sizes_refused(t, &bad, "binary header: record_size 16385 (this tcptrace reads 280 to 16384)");
	bad = b;
	bad.version = 0;
	check_sizes_refused(t, &bad, "binary header: version 0 (versions start at 1)");
	bad = b;
	bad.magic = __builtin_bswap32(TCPTRACE_BINARY_MAGIC);
	CHECK(t, tt_binary_magic(&bad) == TT_MAGIC_SWAPPED);
	check_sizes_refused(t, &bad, "binary capture of a big-endian machine: this one is little-endian, and cannot read it");
	bad.magic = 0x12345678;
	CHECK(t, tt_binary_magic(&bad) == TT_MAGIC_NONE);
	check_sizes_refused(t, &bad, "binary header: bad magic 0x12345678");
}

/* FULL_RECORD encoded, to break in one place. */
static void full_record(struct tcptrace_binary_record *b)
{
	char err[TT_ERR_MAX];
	struct tt_record r;

	parse_record(FULL_RECORD, strlen(FULL_RECORD), &r);
	tt_binary_encode_record(&r, b, err);
}

static void check_refused(struct test *t, const struct tcptrace_binary_record *b,
			  const char *want)
{
	char err[TT_ERR_MAX] = "(accepted)";
	struct tt_record r;

	CHECK(t, tt_binary_parse_record(b, &r, 0, err) == TT_LINE_ERROR);
	CHECK_STR(t, err, want);
}

static void test_record_refused(struct test *t)
{
	struct tcptrace_binary_record b, bad;
	char err[TT_ERR_MAX];
	struct tt_record r;

	full_record(&b);
	bad = b;
	bad.kind = 0;
	check_refused(t, &bad, "bad record kind 0");
	bad = b;
	bad.family = 5;
	check_refused(t, &bad, "family: expected 4 or 6, got 5");
	bad = b;
	bad.end = TCPTRACE_NR_ENDS;
	check_refused(t, &bad, "unknown end reason 16");
	bad = b;
	bad.nsteps = TCPTRACE_MAX_STEPS + 1;
	check_refused(t, &bad, "bad path: 11 steps (at most 10)");
	bad = b;
	bad.steps[1].newstate = TCPTRACE_NR_STATES;
	check_refused(t, &bad, "bad path: unknown state 14 in step 2");
	bad = b;
	bad.steps[0].oldstate = 200;
	check_refused(t, &bad, "bad path: unknown state 200 in step 1");
	bad = b;
	memset(bad.comm, 'a', sizeof(bad.comm));
	check_refused(t, &bad, "comm: no NUL in its 16 bytes");
	bad = b;
	memset(bad.rst_reason, 'A', sizeof(bad.rst_reason));
	check_refused(t, &bad, "rst_reason: no NUL in its 32 bytes");
	bad = b;
	strcpy(bad.rst_reason, "tcp\033state");
	check_refused(t, &bad, "rst_reason: expected 1 to 47 characters of [A-Z0-9_], got 'tcp\\x1bstate'");

	/* A kind from a later version: skipped. */
	bad = b;
	bad.kind = 3;
	CHECK(t, tt_binary_parse_record(&bad, &r, 0, err) == TT_LINE_UNKNOWN_KIND);

	/*
	 * What the reader does not know is not checked: reserved bytes, flags
	 * and step flags of later versions; fields a live record does not show.
	 */
	bad = b;
	memset(bad.reserved, 0xff, sizeof(bad.reserved));
	bad.steps[0].reserved = 7;
	bad.flags |= 0xe0;
	bad.steps[1].flags |= 0xe0;
	CHECK(t, tt_binary_parse_record(&bad, &r, 0, err) == TT_LINE_RECORD);
	bad.kind = TCPTRACE_BINARY_LIVE;
	bad.end = 200;
	CHECK(t, tt_binary_parse_record(&bad, &r, 0, err) == TT_LINE_RECORD);
	CHECK(t, !(r.has & (TT_HAS_SEQ | TT_HAS_END | TT_HAS_TIMEWAIT)));
}

/* Without the addresses' text, the rest is the same. */
static void test_no_addr_text(struct test *t)
{
	struct tcptrace_binary_record b;
	struct tt_record full, lean;
	char err[TT_ERR_MAX];

	full_record(&b);
	CHECK(t, tt_binary_parse_record(&b, &full, 0, err) == TT_LINE_RECORD);
	CHECK(t, tt_binary_parse_record(&b, &lean, TT_DECODE_NO_ADDR_TEXT, err) == TT_LINE_RECORD);
	CHECK_STR(t, lean.local.addr, "");
	strcpy(lean.local.addr, full.local.addr);
	strcpy(lean.remote.addr, full.remote.addr);
	CHECK(t, records_differ(&full, &lean) == NULL);
}

/*
 * Records of the captures, mutated at random: each one the decoder takes
 * is the record its rendered line parses into (or its line is too long
 * for the text format, which only extreme values make).
 */
static void test_mutated_records(struct test *t)
{
	static const char *const seeds[] = {
		FULL_RECORD,
		"live 4105 ipv6 [::1]:8080 [::]:0 t0=116711033120 netns=4026531840 uid=0 pid=331 tgid=331 comm=server path=CLOSE>LISTEN@0\n",
		"done 9 ipv4 10.0.0.1:22 10.0.0.2:50000 seq=0 t0=5 netns=1 uid=0 end=passive_close bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0 seen_at_load=1 path=ESTABLISHED>CLOSE_WAIT@10>LAST_ACK@20>CLOSE@30s\n",
	};
	unsigned int i, j, seed = 7, taken = 0, refused = 0, iterations = 30000;
	struct tcptrace_binary_record b;
	char line[TT_RENDER_MAX];
	char err[TT_ERR_MAX];
	struct tt_record r, back;
	const char *diff;
	size_t len;

	for (i = 0; i < iterations; i++) {
		const char *text = seeds[i % 3];

		parse_record(text, strlen(text), &r);
		tt_binary_encode_record(&r, &b, err);
		for (j = 0; j < 1 + i % 8; j++) {
			seed = seed * 1103515245 + 12345;
			((uint8_t *)&b)[(seed >> 8) % sizeof(b)] = seed >> 24;
		}
		if (tt_binary_parse_record(&b, &r, 0, err) != TT_LINE_RECORD) {
			refused++;
			continue;
		}
		taken++;
		len = tt_binary_render(&r, line);
		if (len > TCPTRACE_LINE_MAX)
			continue;
		if (!parse_record(line, len, &back)) {
			printf("# does not parse: %s", line);
			t->failed = true;
			return;
		}
		diff = records_differ(&r, &back);
		if (diff) {
			printf("# its %s differ: %s", diff, line);
			t->failed = true;
			return;
		}
	}
	/* Both ways, many times: the mutations reach what is checked. */
	CHECK(t, taken > iterations / 2 && refused > iterations / 20);
}

static const struct test_case tests[] = {
	{ "binary: every record line of tests/data, text -> binary -> text", test_round_trip_captures },
	{ "binary: every field and path, text -> binary -> text", test_round_trip_lines },
	{ "binary: what the layout cannot hold is refused", test_encode_refuses },
	{ "binary: addresses as the kernel writes them", test_addresses },
	{ "binary: addresses as inet_ntop() writes them otherwise", test_addresses_random },
	{ "binary: the header, and newer ones", test_header },
	{ "binary: headers that cannot be read", test_header_refused },
	{ "binary: malformed records", test_record_refused },
	{ "binary: without the addresses' text", test_no_addr_text },
	{ "binary: mutated records read as their lines", test_mutated_records },
};

int main(void)
{
	return run_tests(tests, sizeof(tests) / sizeof(tests[0])) ? 0 : 1;
}
