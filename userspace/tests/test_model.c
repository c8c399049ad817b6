// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of what is derived from records (model.c) and of the
 * selection options (filter.c): expectations worked out by hand from
 * Documentation/tcptrace.rst.
 */
#include <math.h>
#include <stdlib.h>

#include "../filter.h"
#include "../model.h"
#include "../parse.h"
#include "check.h"

/* TCP state numbers, for readable expectations. */
enum {
	ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
	CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
};

#define BIT(state)	(1u << (state))

/* Parse @text, one record line without its newline; false if it is not one. */
static bool record(struct test *t, const char *text, struct tt_record *r)
{
	char line[TCPTRACE_LINE_MAX + 2], err[TT_ERR_MAX];
	struct tt_line parsed;

	snprintf(line, sizeof(line), "%s\n", text);
	if (tt_parse_line(line, strlen(line), &parsed, err) != TT_LINE_RECORD) {
		printf("# not a record (%s): %s\n", err, text);
		t->failed = true;
		return false;
	}
	*r = parsed.record;
	return true;
}

/* The example histories of the format, and some of our own. */
#define CLIENT "done 4102 ipv4 127.0.0.1:38876 127.0.0.1:8080 seq=8 t0=1000000 netns=1 " \
	"end=active_close timewait=expired path=CLOSE>SYN_SENT@0>ESTABLISHED@446510s>" \
	"FIN_WAIT1@5186660>FIN_WAIT2@13217930s>FIN_WAIT2@13479350sw>TIME_WAIT@58174510sd>" \
	"CLOSE@60058174510sd"
#define SERVER "done 4103 ipv4 127.0.0.1:8080 127.0.0.1:38876 seq=7 t0=1020000 netns=1 " \
	"end=passive_close path=LISTEN>NEW_SYN_RECV@0sd>SYN_RECV@440000s>ESTABLISHED@440500s>" \
	"CLOSE_WAIT@5180000s>LAST_ACK@58080000>CLOSE@58160000s"
#define LISTENER "live 4097 ipv4 0.0.0.0:8080 0.0.0.0:0 t0=5 netns=1 path=CLOSE>LISTEN@0"
#define CHILD "done 9 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=1 t0=5 path=LISTEN>SYN_RECV@0s>ESTABLISHED@700s>CLOSE@900s"
#define LOADED "live 4098 ipv4 10.0.0.1:22 10.0.0.9:60000 t0=7 seen_at_load=1 path=ESTABLISHED>FIN_WAIT1@100>FIN_WAIT2@150s"

static void test_lifetime_and_visited(struct test *t)
{
	struct tt_record r;

	if (record(t, CLIENT, &r)) {
		CHECK_U64(t, tt_record_lifetime(&r), 60058174510);
		CHECK_U64(t, tt_record_visited(&r), BIT(CLOSE) | BIT(SYN_SENT) |
			  BIT(ESTABLISHED) | BIT(FIN_WAIT1) | BIT(FIN_WAIT2) | BIT(TIME_WAIT));
	}
	if (record(t, LISTENER, &r)) {
		CHECK_U64(t, tt_record_lifetime(&r), 0);
		CHECK(t, tt_record_visited_state(&r, LISTEN));
		CHECK(t, !tt_record_visited_state(&r, ESTABLISHED));
	}
	/* A '/' state was visited too, though its entry was not seen. */
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=SYN_SENT/CLOSE_WAIT>LAST_ACK@9", &r)) {
		CHECK_U64(t, tt_record_visited(&r), BIT(SYN_SENT) | BIT(CLOSE_WAIT) | BIT(LAST_ACK));
		CHECK_U64(t, tt_record_lifetime(&r), 9);
	}
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=ESTABLISHED", &r))
		CHECK_U64(t, tt_record_lifetime(&r), 0);
}

static void test_roles(struct test *t)
{
	static const struct {
		const char *line;
		enum tt_role role;
	} cases[] = {
		{ CLIENT, TT_ROLE_CLIENT },
		{ SERVER, TT_ROLE_SERVER },
		{ CHILD, TT_ROLE_SERVER },
		{ LISTENER, TT_ROLE_LISTENER },
		{ LOADED, TT_ROLE_UNKNOWN },
		/* A client seen at load in SYN_SENT; a simultaneous open. */
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=SYN_SENT", TT_ROLE_CLIENT },
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=CLOSE>SYN_SENT@0>SYN_RECV@5", TT_ROLE_CLIENT },
	};
	struct tt_record r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (record(t, cases[i].line, &r))
			CHECK_STR(t, tt_role_name(tt_record_role(&r)),
				  tt_role_name(cases[i].role));
}

static void test_handshake(struct test *t)
{
	static const struct {
		const char *line;
		bool has;
		uint64_t ns;
	} cases[] = {
		{ CLIENT, true, 446510 },
		/* From the request: the round trip and the child's creation. */
		{ SERVER, true, 440500 },
		/* Without the half-open phase: from the child's first step. */
		{ CHILD, true, 700 },
		{ LISTENER, false, 0 },
		{ LOADED, false, 0 },
		/* A retried connect(): the handshake that succeeded. */
		{ "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 path=CLOSE>SYN_SENT@0>CLOSE@100>SYN_SENT@1000>ESTABLISHED@1500", true, 500 },
		/* A simultaneous open goes through SYN_RECV. */
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=CLOSE>SYN_SENT@10>SYN_RECV@50>ESTABLISHED@80", true, 70 },
		/* Transitions missed in between: no telling. */
		{ "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=CLOSE>SYN_SENT@10/SYN_RECV>ESTABLISHED@80", false, 0 },
		/* Refused: no ESTABLISHED. */
		{ "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 end=refused path=CLOSE>SYN_SENT@0>CLOSE@52000", false, 0 },
	};
	struct tt_record r;
	uint64_t ns;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!record(t, cases[i].line, &r))
			continue;
		ns = 12345;
		CHECK(t, tt_record_handshake(&r, &ns) == cases[i].has);
		if (cases[i].has)
			CHECK_U64(t, ns, cases[i].ns);
	}
}

static void test_spans(struct test *t)
{
	struct tt_span spans[TCPTRACE_MAX_STEPS + 1];
	struct tt_record r;
	unsigned int n;

	/*
	 * SYN_SENT 446510, ESTABLISHED 4740150, FIN_WAIT1 8031270, then
	 * FIN_WAIT2 through the hand-over (a step into the same state) until
	 * TIME_WAIT: 44956580, and TIME_WAIT 60s. CLOSE never ends.
	 */
	if (record(t, CLIENT, &r)) {
		n = tt_record_spans(&r, spans);
		CHECK_U64(t, n, 5);
		CHECK_U64(t, spans[0].state, SYN_SENT);
		CHECK_U64(t, spans[0].duration, 446510);
		CHECK_U64(t, spans[1].state, ESTABLISHED);
		CHECK_U64(t, spans[1].start, 446510);
		CHECK_U64(t, spans[1].duration, 4740150);
		CHECK_U64(t, spans[2].state, FIN_WAIT1);
		CHECK_U64(t, spans[2].duration, 8031270);
		CHECK_U64(t, spans[3].state, FIN_WAIT2);
		CHECK_U64(t, spans[3].duration, 44956580);
		CHECK_U64(t, spans[4].state, TIME_WAIT);
		CHECK_U64(t, spans[4].duration, 60000000000);
	}
	/* The state at load was entered before t0; the last one is not over. */
	if (record(t, LOADED, &r)) {
		n = tt_record_spans(&r, spans);
		CHECK_U64(t, n, 1);
		CHECK_U64(t, spans[0].state, FIN_WAIT1);
		CHECK_U64(t, spans[0].duration, 50);
	}
	/* SYN_SENT was left at some unseen time before the '/' step. */
	if (record(t, "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 path=CLOSE>SYN_SENT@0/ESTABLISHED>FIN_WAIT1@500>FIN_WAIT2@600s>CLOSE@700", &r)) {
		n = tt_record_spans(&r, spans);
		CHECK_U64(t, n, 2);
		CHECK_U64(t, spans[0].state, FIN_WAIT1);
		CHECK_U64(t, spans[0].duration, 100);
		CHECK_U64(t, spans[1].state, FIN_WAIT2);
		CHECK_U64(t, spans[1].duration, 100);
	}
}

/* Steps that stay in their state, and the hand-overs among them. */
static void test_steps_that_stay(struct test *t)
{
	struct tt_record r;
	unsigned int i;

	/* Step 4 is FIN_WAIT2>FIN_WAIT2 flagged 'w'; past the last, false. */
	if (record(t, CLIENT, &r)) {
		for (i = 0; i <= r.nr_steps; i++) {
			CHECK_U64(t, tt_step_stays(&r, i), i == 4);
			CHECK_U64(t, tt_step_handover_stays(&r, i), i == 4);
			/* FIN_WAIT2, entered by step 3, and step 4 itself. */
			CHECK_U64(t, tt_state_handed_over(&r, i), i == 4 || i == 5);
		}
	}
	/*
	 * close() after shutdown() stays too, but is no hand-over; a hand-over
	 * into TIME_WAIT changes the state; the first step may stay.
	 */
	if (record(t, "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 path=FIN_WAIT1>FIN_WAIT1@0>FIN_WAIT2@5s>TIME_WAIT@9sw>CLOSE@20d", &r)) {
		CHECK(t, tt_step_stays(&r, 0));
		CHECK(t, !tt_step_handover_stays(&r, 0));
		CHECK(t, !tt_step_stays(&r, 2));
		CHECK(t, !tt_step_handover_stays(&r, 2));
		for (i = 0; i <= r.nr_steps; i++)
			CHECK_U64(t, tt_state_handed_over(&r, i), i == 3);
	}
	/* After a '/', or flagged unexpected: shown as it is. */
	if (record(t, "done 1 ipv4 1.1.1.1:1 2.2.2.2:2 seq=1 t0=1 path=FIN_WAIT2>FIN_WAIT2@0w>CLOSE@3/FIN_WAIT2>FIN_WAIT2@5w>FIN_WAIT2@6wx", &r)) {
		CHECK(t, tt_step_handover_stays(&r, 0));
		CHECK(t, tt_state_handed_over(&r, 0));
		CHECK(t, !tt_step_stays(&r, 2));
		CHECK(t, tt_step_stays(&r, 3));
		CHECK(t, !tt_step_handover_stays(&r, 3));
	}
}

static void test_anomalies(struct test *t)
{
	struct tt_record r;

	if (record(t, CLIENT, &r)) {
		CHECK_U64(t, tt_record_unexpected(&r), 0);
		CHECK_U64(t, tt_record_gaps(&r), 0);
		CHECK(t, !tt_record_anomalous(&r));
	}
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=CLOSE>SYN_SENT@0x>ESTABLISHED@1x", &r)) {
		CHECK_U64(t, tt_record_unexpected(&r), 2);
		CHECK(t, tt_record_anomalous(&r));
	}
	/* unexpected= counts steps that may have been dropped from the path. */
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 unexpected=3 dropped=2 path=CLOSE>SYN_SENT@0x", &r)) {
		CHECK_U64(t, tt_record_unexpected(&r), 3);
		CHECK(t, tt_record_anomalous(&r));
	}
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 path=CLOSE>SYN_SENT@0/ESTABLISHED>CLOSE_WAIT@5", &r)) {
		CHECK_U64(t, tt_record_gaps(&r), 1);
		CHECK(t, tt_record_anomalous(&r));
	}
	if (record(t, "live 1 ipv4 1.1.1.1:1 2.2.2.2:2 t0=1 dropped=1 path=CLOSE>SYN_SENT@0", &r))
		CHECK(t, tt_record_anomalous(&r));
}

/*
 * The relative number of a FIN, worked out by hand from the counters'
 * arithmetic (model.c, tt_fin_seq()). The connections send c = 40 bytes
 * from the client and s = 300 from the server: the client's FIN is at
 * u = 1 + c = 41, the server's at w = 1 + s = 301. Once both FINs were
 * received and acknowledged, the client has bytes_acked = c + 2 = 42,
 * bytes_received = s + 1 = 301, the server bytes_acked = s + 1 = 301,
 * bytes_received = c + 1 = 41; a side handed over in FIN_WAIT2 has not
 * counted the other's FIN: 300 or 40.
 */
#define FIN_CLIENT "done 1 ipv4 10.0.0.1:5000 10.0.0.2:80 seq=1 t0=1 "
#define FIN_SERVER "done 2 ipv4 10.0.0.2:80 10.0.0.1:5000 seq=2 t0=1 "
#define FIN_C_OPEN "path=CLOSE>SYN_SENT@0>ESTABLISHED@10s>"
#define FIN_S_OPEN "path=LISTEN>NEW_SYN_RECV@0sd>SYN_RECV@10s>ESTABLISHED@11s>"
/* The client closes first and reads until the server's FIN. */
#define FIN_C_FIRST FIN_CLIENT "end=active_close timewait=expired bytes_acked=42 bytes_received=301 " \
	FIN_C_OPEN "FIN_WAIT1@20>FIN_WAIT2@30s>TIME_WAIT@40sw>CLOSE@50d"
/* ... or it closes at once: orphaned, handed over in FIN_WAIT2. */
#define FIN_C_ORPHAN FIN_CLIENT "end=active_close timewait=expired bytes_acked=42 bytes_received=300 " \
	FIN_C_OPEN "FIN_WAIT1@20>FIN_WAIT2@30s>FIN_WAIT2@31sw>TIME_WAIT@40sd>CLOSE@50d"
#define FIN_S_PASSIVE FIN_SERVER "end=passive_close bytes_acked=301 bytes_received=41 " \
	FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s"
/* The server closes first, orphaned; the client closes after. */
#define FIN_S_ORPHAN FIN_SERVER "end=active_close timewait=expired bytes_acked=301 bytes_received=40 " \
	FIN_S_OPEN "FIN_WAIT1@20>FIN_WAIT2@30s>FIN_WAIT2@31sw>TIME_WAIT@40sd>CLOSE@50sd"
#define FIN_C_PASSIVE FIN_CLIENT "end=passive_close bytes_acked=42 bytes_received=301 " \
	FIN_C_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s"
/* Both close at once. */
#define FIN_C_SIM FIN_CLIENT "end=simultaneous_close timewait=expired bytes_acked=42 bytes_received=301 " \
	FIN_C_OPEN "FIN_WAIT1@20>CLOSING@30s>TIME_WAIT@40sw>CLOSE@50d"
#define FIN_S_SIM FIN_SERVER "end=simultaneous_close timewait=expired bytes_acked=301 bytes_received=41 " \
	FIN_S_OPEN "FIN_WAIT1@21>CLOSING@31s>TIME_WAIT@41sw>CLOSE@51d"

static void test_fin_seq(struct test *t)
{
	static const struct {
		const char *r, *peer;
		bool known;
		uint32_t seq;
	} cases[] = {
		/* Client first: each FIN from the peer's bytes_received. */
		{ FIN_C_FIRST, FIN_S_PASSIVE, true, 41 },
		{ FIN_S_PASSIVE, FIN_C_FIRST, true, 301 },
		/* The orphaned client missed the server's FIN: its own bytes_acked. */
		{ FIN_C_ORPHAN, FIN_S_PASSIVE, true, 41 },
		{ FIN_S_PASSIVE, FIN_C_ORPHAN, true, 301 },
		/* Server first: the client's own bytes_acked less its SYN. */
		{ FIN_C_PASSIVE, FIN_S_ORPHAN, true, 41 },
		{ FIN_S_ORPHAN, FIN_C_PASSIVE, true, 301 },
		{ FIN_C_SIM, FIN_S_SIM, true, 41 },
		{ FIN_S_SIM, FIN_C_SIM, true, 301 },
		/* The peer's bytes_received wins, even if the counters disagree. */
		{ FIN_C_FIRST, FIN_SERVER "end=passive_close bytes_acked=301 bytes_received=77 "
		  FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s", true, 77 },
		/* A live side has no counters; FIN_WAIT1 is not acknowledged yet. */
		{ "live 1 ipv4 10.0.0.1:5000 10.0.0.2:80 t0=1 " FIN_C_OPEN "FIN_WAIT1@20",
		  "live 2 ipv4 10.0.0.2:80 10.0.0.1:5000 t0=1 " FIN_S_OPEN "CLOSE_WAIT@25s",
		  false, 0 },
		{ FIN_S_PASSIVE, "live 1 ipv4 10.0.0.1:5000 10.0.0.2:80 t0=1 " FIN_C_OPEN
		  "FIN_WAIT1@20>FIN_WAIT2@30s>FIN_WAIT2@31sw>TIME_WAIT@40sd", true, 301 },
		/* Reset after the FIN: not the peer's counters, but our own. */
		{ FIN_C_ORPHAN, FIN_SERVER "end=reset_sent bytes_acked=0 bytes_received=41 "
		  FIN_S_OPEN "CLOSE_WAIT@25s>CLOSE@35", true, 41 },
		{ FIN_CLIENT "end=reset_received bytes_acked=1 bytes_received=0 "
		  FIN_C_OPEN "FIN_WAIT1@20>CLOSE@30s", FIN_SERVER
		  "end=reset_sent bytes_acked=0 bytes_received=41 rst_reason=TCP_ABORT_ON_CLOSE "
		  FIN_S_OPEN "CLOSE_WAIT@25s>CLOSE@35", false, 0 },
		/* The server timed out in LAST_ACK; the client handed over before its FIN. */
		{ FIN_SERVER "end=timeout bytes_acked=300 bytes_received=41 "
		  FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@99s", FIN_C_ORPHAN, false, 0 },
		/* No role (seen at load): no telling whether a SYN is counted. */
		{ FIN_CLIENT "seen_at_load=1 end=active_close bytes_acked=42 bytes_received=300 "
		  "path=ESTABLISHED>FIN_WAIT1@20>FIN_WAIT2@30s>FIN_WAIT2@31sw>CLOSE@50d",
		  "live 2 ipv4 10.0.0.2:80 10.0.0.1:5000 t0=1 seen_at_load=1 path=ESTABLISHED>CLOSE_WAIT@25s",
		  false, 0 },
		/* ... but the peer's bytes_received need none. */
		{ "live 2 ipv4 10.0.0.2:80 10.0.0.1:5000 t0=1 seen_at_load=1 path=ESTABLISHED>FIN_WAIT1@20",
		  FIN_CLIENT "seen_at_load=1 end=passive_close bytes_acked=42 bytes_received=301 "
		  "path=ESTABLISHED>CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s", true, 301 },
		/* Counters absent, or too small to count the FIN. */
		{ FIN_CLIENT "end=active_close " FIN_C_OPEN "FIN_WAIT1@20>FIN_WAIT2@30s>TIME_WAIT@40sw",
		  FIN_SERVER "end=passive_close " FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s",
		  false, 0 },
		{ FIN_CLIENT "end=active_close bytes_acked=1 bytes_received=0 " FIN_C_OPEN
		  "FIN_WAIT1@20>FIN_WAIT2@30s>FIN_WAIT2@31sw>CLOSE@50d",
		  FIN_SERVER "end=passive_close bytes_acked=1 bytes_received=0 " FIN_S_OPEN
		  "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s", false, 0 },
		/* A missed transition or an unexpected step: not trusted. */
		{ FIN_C_ORPHAN, FIN_SERVER "end=passive_close bytes_acked=301 bytes_received=41 "
		  FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s/LAST_ACK>CLOSE@46", true, 41 },
		{ FIN_S_PASSIVE, FIN_CLIENT "end=active_close bytes_acked=42 bytes_received=301 "
		  FIN_C_OPEN "FIN_WAIT1@20>FIN_WAIT2@30s>TIME_WAIT@40swx", true, 301 },
		/* Modulo 2^32: 2^32 + 41 bytes received. */
		{ FIN_C_ORPHAN, FIN_SERVER "end=passive_close bytes_acked=301 bytes_received=4294967337 "
		  FIN_S_OPEN "CLOSE_WAIT@25s>LAST_ACK@35>CLOSE@45s", true, 41 },
	};
	struct tt_record r, peer;
	uint32_t seq;
	bool known;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!record(t, cases[i].r, &r) || !record(t, cases[i].peer, &peer))
			continue;
		seq = 0;
		known = tt_fin_seq(&r, &peer, &seq);
		if (known != cases[i].known || (known && seq != cases[i].seq)) {
			printf("# case %zu: known %d seq %" PRIu32 ", expected known %d seq %" PRIu32 "\n",
			       i, known, seq, cases[i].known, cases[i].seq);
			t->failed = true;
		}
	}
}

static void test_histogram(struct test *t)
{
	struct tt_histogram *h = calloc(1, sizeof(*h));
	unsigned int k;

	if (!h) {
		CHECK(t, h);
		return;
	}
	/* Exact below 256, then 128 buckets an octave. */
	CHECK_U64(t, tt_histogram_bucket(0), 0);
	CHECK_U64(t, tt_histogram_bucket(255), 255);
	CHECK_U64(t, tt_histogram_bucket(256), 256);
	CHECK_U64(t, tt_histogram_bucket(257), 256);	/* [256, 258) */
	CHECK_U64(t, tt_histogram_bucket(511), 383);
	CHECK_U64(t, tt_histogram_bucket(512), 384);	/* [512, 516) */
	CHECK_U64(t, tt_histogram_bucket(UINT64_MAX), TT_HISTOGRAM_BUCKETS - 1);
	CHECK_U64(t, tt_histogram_bucket_low(256), 256);
	CHECK_U64(t, tt_histogram_bucket_last(256), 257);
	CHECK_U64(t, tt_histogram_bucket_low(384), 512);
	CHECK_U64(t, tt_histogram_bucket_last(384), 515);
	CHECK_U64(t, tt_histogram_bucket_last(TT_HISTOGRAM_BUCKETS - 1), UINT64_MAX);
	/* The buckets tile 0 to UINT64_MAX, none wider than 1/128 of its low. */
	for (k = 0; k + 1 < TT_HISTOGRAM_BUCKETS; k++) {
		uint64_t low = tt_histogram_bucket_low(k), last = tt_histogram_bucket_last(k);

		CHECK_U64(t, tt_histogram_bucket_low(k + 1), last + 1);
		CHECK_U64(t, tt_histogram_bucket(low), k);
		CHECK_U64(t, tt_histogram_bucket(last), k);
		if (low >= 256)
			CHECK(t, (last - low + 1) * 128 <= low);
	}

	/* The octaves of the listings, made of whole buckets. */
	CHECK_U64(t, tt_histogram_octave(0), 0);
	CHECK_U64(t, tt_histogram_octave(1), 1);
	CHECK_U64(t, tt_histogram_octave(3), 2);
	CHECK_U64(t, tt_histogram_octave(100), 7);	/* [64, 128) */
	CHECK_U64(t, tt_histogram_octave(UINT64_MAX), 64);
	CHECK_U64(t, tt_histogram_octave_low(0), 0);
	CHECK_U64(t, tt_histogram_octave_high(0), 1);
	CHECK_U64(t, tt_histogram_octave_low(7), 64);
	CHECK_U64(t, tt_histogram_octave_high(7), 128);
	CHECK_U64(t, tt_histogram_octave_high(64), UINT64_MAX);

	CHECK_U64(t, tt_histogram_percentile(h, 50), 0);
	tt_histogram_add(h, 100);
	tt_histogram_add(h, 100);
	tt_histogram_add(h, 1500);
	tt_histogram_add(h, UINT64_MAX);
	CHECK_U64(t, h->count, 4);
	CHECK_U64(t, h->max, UINT64_MAX);
	CHECK_U64(t, tt_histogram_octave_count(h, 7), 2);
	CHECK_U64(t, tt_histogram_octave_count(h, 11), 1);	/* [1024, 2048) */
	CHECK_U64(t, tt_histogram_octave_count(h, 64), 1);
	CHECK_U64(t, tt_histogram_octave_count(h, 8), 0);
	/* Exact below 256. */
	CHECK_U64(t, tt_histogram_percentile(h, 50), 100);
	CHECK_U64(t, tt_histogram_percentile(h, 0), 100);
	/* The 3rd of 4 is in [1496, 1504): its last value. */
	CHECK_U64(t, tt_histogram_percentile(h, 75), 1503);
	CHECK_U64(t, tt_histogram_percentile(h, 99), UINT64_MAX);

	/* The maximum, when it is below the bucket's last value. */
	memset(h, 0, sizeof(*h));
	tt_histogram_add(h, 1000);
	tt_histogram_add(h, 60000000000);
	CHECK_U64(t, tt_histogram_percentile(h, 99), 60000000000);
	CHECK_U64(t, tt_histogram_percentile(h, 50), 1003);	/* [1000, 1004) */

	memset(h, 0, sizeof(*h));
	tt_histogram_add(h, 0);
	CHECK_U64(t, tt_histogram_percentile(h, 99), 0);
	free(h);
}

/* splitmix64: the same samples on every host, whatever its rand(). */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double random_unit(uint64_t *state)
{
	return (double)(next_random(state) >> 11) / (double)(1ull << 53);
}

/* Uniform in [low, high). */
static uint64_t random_between(uint64_t *state, uint64_t low, uint64_t high)
{
	return low + (uint64_t)(random_unit(state) * (double)(high - low));
}

/* Log-uniform in [low, high): uniform in the exponent. */
static uint64_t random_log(uint64_t *state, double low, double high)
{
	return (uint64_t)(low * pow(high / low, random_unit(state)));
}

/* Roughly normal around @mean (Irwin-Hall: the sum of 12 uniforms). */
static uint64_t random_normal(uint64_t *state, double mean, double sd)
{
	double sum = 0;
	int i;

	for (i = 0; i < 12; i++)
		sum += random_unit(state);
	sum = mean + (sum - 6) * sd;
	return sum > 0 ? (uint64_t)sum : 0;
}

enum distribution {
	UNIFORM_WIDE, LOG_UNIFORM, FEW_VALUES, IDENTICAL, BIMODAL, SMALL,
	NR_DISTRIBUTIONS,
};

static const char *const distribution_names[NR_DISTRIBUTIONS] = {
	"uniform over 0 to 100s", "log-uniform over 1us to 100s",
	"a few values", "all identical (60s)",
	"bimodal: 200us and 1s", "uniform over 0 to 300ns",
};

static uint64_t sample(enum distribution d, uint64_t *state)
{
	static const uint64_t few[] = { 446510, 446510, 446510, 52961510, 60000000000 };

	switch (d) {
	case UNIFORM_WIDE:
		return random_between(state, 0, 100000000000);
	case LOG_UNIFORM:
		return random_log(state, 1e3, 1e11);
	case FEW_VALUES:
		return few[next_random(state) % (sizeof(few) / sizeof(few[0]))];
	case IDENTICAL:
		return 60000000000;
	case BIMODAL:
		/* Quick handshakes, and a tenth that waited for a SYN retry. */
		if (next_random(state) % 10)
			return random_normal(state, 200e3, 40e3);
		return random_normal(state, 1e9, 50e6);
	default:
		return random_between(state, 0, 300);
	}
}

static int compare_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

#define NR_SAMPLES	20000

/*
 * The percentiles the summary reports (the same tt_histogram code) against the
 * exact nearest-rank ones of the sorted samples: within 1%, as the man
 * page says, and more precisely within the bound model.h states: never
 * below, and above by less than 1/128.
 */
static void test_percentile_error(struct test *t)
{
	static const unsigned int pcts[] = { 50, 90, 99 };
	uint64_t *samples = malloc(NR_SAMPLES * sizeof(*samples));
	struct tt_histogram *h = malloc(sizeof(*h));
	uint64_t state = 17;
	unsigned int d;
	size_t i, j;

	if (!samples || !h) {
		CHECK(t, samples && h);
		goto out;
	}
	for (d = 0; d < NR_DISTRIBUTIONS; d++) {
		memset(h, 0, sizeof(*h));
		for (i = 0; i < NR_SAMPLES; i++) {
			samples[i] = sample(d, &state);
			tt_histogram_add(h, samples[i]);
		}
		qsort(samples, NR_SAMPLES, sizeof(*samples), compare_u64);
		CHECK_U64(t, h->max, samples[NR_SAMPLES - 1]);
		for (j = 0; j < sizeof(pcts) / sizeof(pcts[0]); j++) {
			/* Nearest rank: the ceil(n * p / 100)-th smallest. */
			size_t rank = (NR_SAMPLES * pcts[j] + 99) / 100;
			uint64_t want = samples[rank - 1];
			uint64_t got = tt_histogram_percentile(h, pcts[j]);
			uint64_t diff = got > want ? got - want : want - got;

			/* In integers: the samples are below 2^37. */
			bool within_1pct = diff * 100 <= want;
			bool within_bound = got >= want && (diff == 0 || diff * 128 < want);

			if (!within_1pct || !within_bound) {
				printf("# %s: p%u is %" PRIu64 ", exactly %" PRIu64
				       " (%.3f%% off)\n", distribution_names[d], pcts[j],
				       got, want, want ? 100.0 * (double)diff / (double)want : 100.0);
				t->failed = true;
			}
		}
	}
out:
	free(samples);
	free(h);
}

static void test_endpoint_addr(struct test *t)
{
	struct tt_record r;
	struct tt_addr a;

	if (!record(t, "live 1 ipv6 [::ffff:127.0.0.1]:1 [2001:db8::1]:2 t0=1 path=CLOSE", &r))
		return;
	tt_endpoint_addr(&r.local, r.family, &a);
	CHECK_U64(t, a.len, 4);
	CHECK(t, memcmp(a.bytes, "\x7f\0\0\x01", 4) == 0);
	tt_endpoint_addr(&r.remote, r.family, &a);
	CHECK_U64(t, a.len, 16);
	CHECK_U64(t, a.bytes[3], 0xb8);
}

/*
 * Pair @n lines of @groups (NULL: one group); check the pairs (as
 * "client:server" ids) and the unpaired.
 */
static void check_pairs_in(struct test *t, const char *const lines[],
			   const unsigned int *groups, size_t n,
			   const char *want_pairs, const char *want_unpaired)
{
	struct tt_record records[8];
	struct tt_pair pairs[4];
	size_t unpaired[8], nr_pairs, nr_unpaired, i;
	char got[128] = "", got_unpaired[128] = "";

	for (i = 0; i < n; i++)
		if (!record(t, lines[i], &records[i]))
			return;
	CHECK(t, tt_pair_records(records, groups, n, pairs, &nr_pairs, unpaired,
				 &nr_unpaired));
	for (i = 0; i < nr_pairs; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%" PRIu64 ":%" PRIu64,
			 i ? " " : "", records[pairs[i].client].id, records[pairs[i].server].id);
	for (i = 0; i < nr_unpaired; i++)
		snprintf(got_unpaired + strlen(got_unpaired),
			 sizeof(got_unpaired) - strlen(got_unpaired), "%s%" PRIu64,
			 i ? " " : "", records[unpaired[i]].id);
	CHECK_STR(t, got, want_pairs);
	CHECK_STR(t, got_unpaired, want_unpaired);
}

static void check_pairs(struct test *t, const char *const lines[], size_t n,
			const char *want_pairs, const char *want_unpaired)
{
	check_pairs_in(t, lines, NULL, n, want_pairs, want_unpaired);
}

static void test_pairing(struct test *t)
{
	/* Server first, as the ring has it; a listener never pairs. */
	static const char *const basic[] = { SERVER, LISTENER, CLIENT };
	/*
	 * A SYN answered with a cookie, then the connection the ACK made:
	 * the connection pairs, the cookie's request does not.
	 */
	static const char *const cookie[] = {
		"done 11 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=1 t0=100 end=syncookie path=LISTEN>NEW_SYN_RECV@0sd>CLOSE@50sd",
		"done 12 ipv4 10.0.0.2:5000 10.0.0.1:80 seq=3 t0=90 end=active_close path=CLOSE>SYN_SENT@0>ESTABLISHED@300s>FIN_WAIT1@400>FIN_WAIT2@450s>CLOSE@500s",
		"done 13 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=2 t0=380 end=passive_close path=LISTEN>NEW_SYN_RECV@0sd>SYN_RECV@5s>ESTABLISHED@6s>CLOSE_WAIT@30s>LAST_ACK@60>CLOSE@200s",
	};
	/* The same four-tuple twice in a row: each with its own. */
	static const char *const reuse[] = {
		"done 21 ipv4 10.0.0.2:5000 10.0.0.1:80 seq=1 t0=1000 path=CLOSE>SYN_SENT@0>ESTABLISHED@10>CLOSE@100",
		"done 22 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=2 t0=1005 path=LISTEN>SYN_RECV@0>ESTABLISHED@5>CLOSE@120",
		"done 23 ipv4 10.0.0.2:5000 10.0.0.1:80 seq=3 t0=5000 path=CLOSE>SYN_SENT@0>ESTABLISHED@10>CLOSE@100",
		"live 24 ipv4 10.0.0.1:80 10.0.0.2:5000 t0=5005 path=LISTEN>SYN_RECV@0>ESTABLISHED@5",
	};
	/* Another namespace, or times that do not overlap: no pair. */
	static const char *const apart[] = {
		"done 31 ipv4 10.0.0.2:5000 10.0.0.1:80 seq=1 t0=1000 netns=1 path=CLOSE>SYN_SENT@0>ESTABLISHED@10>CLOSE@100",
		"done 32 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=2 t0=1005 netns=2 path=LISTEN>SYN_RECV@0>ESTABLISHED@5>CLOSE@120",
		"done 33 ipv4 10.0.0.1:80 10.0.0.2:5000 seq=3 t0=9000 netns=1 path=LISTEN>SYN_RECV@0>ESTABLISHED@5>CLOSE@120",
	};
	/* An IPv4 client of a dual-stack server: IPv4-mapped on one side. */
	static const char *const mapped[] = {
		"live 41 ipv6 [::ffff:127.0.0.1]:8080 [::ffff:127.0.0.1]:51000 t0=20 path=LISTEN>SYN_RECV@0>ESTABLISHED@1",
		"live 42 ipv4 127.0.0.1:51000 127.0.0.1:8080 t0=10 path=CLOSE>SYN_SENT@0>ESTABLISHED@15",
	};
	/* Seen at load, both established: the higher port is the client's. */
	static const char *const loaded[] = {
		"live 51 ipv4 10.0.0.1:22 10.0.0.1:60000 t0=1 seen_at_load=1 path=ESTABLISHED",
		"live 52 ipv4 10.0.0.1:60000 10.0.0.1:22 t0=1 seen_at_load=1 path=ESTABLISHED",
	};

	check_pairs(t, basic, 3, "4102:4103", "4097");
	check_pairs(t, cookie, 3, "12:13", "11");
	check_pairs(t, reuse, 4, "21:22 23:24", "");
	check_pairs(t, apart, 3, "", "31 32 33");
	check_pairs(t, mapped, 2, "42:41", "");
	check_pairs(t, loaded, 2, "52:51", "");
	check_pairs(t, NULL, 0, "", "");
}

/*
 * Captures of two hosts with the same addresses, ports, cookies and
 * times: each host's ends pair, never one host's with the other's.
 */
static void test_pairing_groups(struct test *t)
{
	static const char *const twice[] = {
		SERVER, LISTENER, CLIENT, SERVER, LISTENER, CLIENT,
	};
	static const unsigned int two_hosts[] = { 0, 0, 0, 1, 1, 1 };
	/* Each host has one end only: nothing pairs. */
	static const char *const halves[] = { SERVER, CLIENT };
	static const unsigned int apart[] = { 0, 1 };
	static const unsigned int together[] = { 7, 7 };

	check_pairs_in(t, twice, two_hosts, 6, "4102:4103 4102:4103", "4097 4097");
	check_pairs_in(t, halves, apart, 2, "", "4103 4102");
	check_pairs_in(t, halves, together, 2, "4102:4103", "");
}

/* ---- filters -------------------------------------------------------- */

static void test_durations(struct test *t)
{
	static const struct {
		const char *text;
		bool ok;
		uint64_t ns;
	} cases[] = {
		{ "0", true, 0 },
		{ "10ms", true, 10000000 },
		{ "2s", true, 2000000000 },
		{ "1.5us", true, 1500 },
		{ "1.5\xc2\xb5s", true, 1500 },
		{ "250ns", true, 250 },
		{ "0.001s", true, 1000000 },
		{ "2m", true, 120000000000 },
		{ "1h", true, 3600000000000 },
		{ "18446744073709551615ns", true, UINT64_MAX },
		{ "18446744073.709551615s", true, UINT64_MAX },
		{ "18446744073709551616ns", false, 0 },
		{ "5124096h", false, 0 },
		{ "1.5ns", false, 0 },	/* below the nanosecond */
		{ "10", false, 0 },	/* a unit is needed */
		{ "", false, 0 },
		{ "ms", false, 0 },
		{ "1.ms", false, 0 },
		{ ".5s", false, 0 },
		{ "-1s", false, 0 },
		{ "1 s", false, 0 },
		{ "1sec", false, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 777;
		bool ok = tt_parse_duration(cases[i].text, &ns);

		if (ok != cases[i].ok)
			printf("# '%s': %s\n", cases[i].text, ok ? "accepted" : "refused");
		CHECK(t, ok == cases[i].ok);
		if (ok && cases[i].ok)
			CHECK_U64(t, ns, cases[i].ns);
	}
}

static void test_cidr(struct test *t)
{
	static const struct {
		const char *cidr;
		const char *addr;	/* in an ipv6 record if it has a ':' */
		bool match;
	} cases[] = {
		{ "10.0.0.0/8", "10.200.3.4", true },
		{ "10.0.0.0/8", "11.0.0.1", false },
		{ "192.168.1.128/25", "192.168.1.200", true },
		{ "192.168.1.128/25", "192.168.1.127", false },
		{ "0.0.0.0/0", "8.8.8.8", true },
		{ "0.0.0.0/0", "::1", false },
		{ "127.0.0.1", "127.0.0.1", true },
		{ "127.0.0.1", "127.0.0.2", false },
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "[::1]", "::1", true },
		{ "[fe80::]/10", "febf::1", true },
		{ "[fe80::]/10", "fec0::1", false },
		/* IPv4-mapped addresses are IPv4 ones, both ways. */
		{ "127.0.0.0/8", "::ffff:127.0.0.1", true },
		{ "::ffff:10.0.0.0/104", "10.1.1.1", true },
		{ "::ffff:10.0.0.0/104", "11.1.1.1", false },
	};
	char line[200];
	struct tt_cidr cidr;
	struct tt_record r;
	struct tt_addr a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool v6 = strchr(cases[i].addr, ':');

		CHECK(t, tt_parse_cidr(cases[i].cidr, &cidr));
		snprintf(line, sizeof(line), v6 ? "live 1 ipv6 [%s]:1 [::]:0 t0=1 path=CLOSE" :
			 "live 1 ipv4 %s:1 0.0.0.0:0 t0=1 path=CLOSE", cases[i].addr);
		if (!record(t, line, &r))
			continue;
		tt_endpoint_addr(&r.local, r.family, &a);
		if (tt_cidr_match(&cidr, &a) != cases[i].match)
			printf("# %s and %s\n", cases[i].cidr, cases[i].addr);
		CHECK(t, tt_cidr_match(&cidr, &a) == cases[i].match);
	}
	CHECK(t, !tt_parse_cidr("10.0.0.0/33", &cidr));
	CHECK(t, !tt_parse_cidr("::/129", &cidr));
	CHECK(t, !tt_parse_cidr("10.0.0/8", &cidr));
	CHECK(t, !tt_parse_cidr("10.0.0.0/", &cidr));
	CHECK(t, !tt_parse_cidr("10.0.0.0/-1", &cidr));
	CHECK(t, !tt_parse_cidr("[10.0.0.1]", &cidr) || cidr.addr.len == 4);
	CHECK(t, !tt_parse_cidr("", &cidr));
	CHECK(t, !tt_parse_cidr("/8", &cidr));
	CHECK(t, !tt_parse_cidr("host.example", &cidr));
}

static void test_state_lookup(struct test *t)
{
	CHECK_U64(t, tt_state_lookup("ESTABLISHED"), ESTABLISHED);
	CHECK_U64(t, tt_state_lookup("estab"), ESTABLISHED);
	CHECK_U64(t, tt_state_lookup("Fin-Wait-1"), FIN_WAIT1);
	CHECK_U64(t, tt_state_lookup("fin_wait2"), FIN_WAIT2);
	CHECK_U64(t, tt_state_lookup("NEW-SYN-RECV"), NEW_SYN_RECV);
	CHECK_U64(t, tt_state_lookup("time-wait"), TIME_WAIT);
	CHECK(t, tt_state_lookup("ESTABLISH") == -1);
	CHECK(t, tt_state_lookup("") == -1);
}

/* A filter built from "OPTION=VALUE" strings; false if one is refused. */
static bool build_filter(struct tt_filter *f, const char *const options[],
			 char err[TT_FILTER_ERR_MAX])
{
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; options[i]; i++) {
		const char *value = strchr(options[i], '=') + 1;
		bool ok;

		if (strncmp(options[i], "-L=", 3) == 0)
			ok = tt_filter_ports(&f->local_ports, "--local-port", value, err);
		else if (strncmp(options[i], "-D=", 3) == 0)
			ok = tt_filter_ports(&f->remote_ports, "--remote-port", value, err);
		else if (strncmp(options[i], "addr=", 5) == 0)
			ok = tt_filter_addr(f, value, err);
		else if (strncmp(options[i], "state=", 6) == 0)
			ok = tt_filter_state(f, value, err);
		else if (strncmp(options[i], "end=", 4) == 0)
			ok = tt_filter_end(f, value, err);
		else if (strncmp(options[i], "pid=", 4) == 0)
			ok = tt_filter_pid(f, value, err);
		else if (strncmp(options[i], "comm=", 5) == 0)
			ok = tt_filter_comm(f, value, err);
		else if (strncmp(options[i], "netns=", 6) == 0)
			ok = tt_filter_netns(f, value, err);
		else if (strncmp(options[i], "rst=", 4) == 0)
			ok = tt_filter_rst_reason(f, value, err);
		else
			ok = tt_filter_min_lifetime(f, value, err);
		if (!ok)
			return false;
	}
	return true;
}

static void test_filter_values(struct test *t)
{
	static const struct {
		const char *option;
		const char *message;
	} cases[] = {
		{ "-L=80,x", "--local-port: bad port 'x' (0 to 65535, or FIRST-LAST)" },
		{ "-L=65536", "--local-port: bad port '65536' (0 to 65535, or FIRST-LAST)" },
		{ "-D=90-80", "--remote-port: bad port '90-80' (0 to 65535, or FIRST-LAST)" },
		{ "-D=1-2-3", "--remote-port: bad port '1-2-3' (0 to 65535, or FIRST-LAST)" },
		{ "-L=80,,81", "--local-port: empty value in '80,,81'" },
		{ "-L=", "--local-port: empty value in ''" },
		{ "addr=10.0.0.0/33", "--addr: bad address '10.0.0.0/33' (ADDR or ADDR/PREFIX, IPv4 or IPv6)" },
		{ "state=ESTAB,BOGUS", "--state: unknown state 'BOGUS'" },
		{ "end=closed,late", "--end: unknown end reason 'late' (see tcptrace(1))" },
		{ "pid=12a", "--pid: bad pid '12a' (a decimal number)" },
		{ "netns=-1", "--netns: bad namespace inode '-1' (a decimal number)" },
		{ "comm=", "--comm: empty name" },
		{ "comm=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX",
		  "--comm: too long a name" },
		{ "min=10", "--min-lifetime: bad duration '10' (such as 500us, 10ms, 2s)" },
		{ "rst=TCP_STATE,TCP STATE", "--rst-reason: bad reason 'TCP STATE' (a name of the kernel's, such as TCP_ABORT_ON_CLOSE)" },
		{ "rst=", "--rst-reason: empty value in ''" },
	};
	const char *options[2] = { NULL, NULL };
	char err[TT_FILTER_ERR_MAX];
	struct tt_filter *f = malloc(sizeof(*f));
	size_t i;

	if (!f)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		options[0] = cases[i].option;
		strcpy(err, "(accepted)");
		CHECK(t, !build_filter(f, options, err));
		CHECK_STR(t, err, cases[i].message);
	}
	free(f);
}

static void test_filter_match(struct test *t)
{
	static const char *const records[] = { CLIENT, SERVER, LISTENER, CHILD, LOADED };
	static const struct {
		const char *options[4];
		const char *want;	/* which of the records pass, by index */
	} cases[] = {
		{ { NULL }, "01234" },
		{ { "-L=8080" }, "12" },
		{ { "-L=0-100,8080" }, "1234" },
		{ { "-D=8080,60000" }, "04" },
		{ { "-L=8080", "-D=38876" }, "1" },
		{ { "addr=10.0.0.0/24" }, "34" },
		{ { "addr=10.0.0.2" }, "3" },
		/* Each --addr must match: one end in each. */
		{ { "addr=10.0.0.1", "addr=10.0.0.9" }, "4" },
		{ { "state=LISTEN" }, "123" },
		{ { "state=time-wait,close_wait" }, "01" },
		{ { "state=LISTEN", "state=ESTAB" }, "13" },
		{ { "end=active_close,passive_close" }, "01" },
		{ { "end=refused" }, "" },
		{ { "pid=324" }, "0" },
		{ { "pid=331,1" }, "12" },
		{ { "comm=curl" }, "0" },
		{ { "comm=my\\x20app" }, "" },
		{ { "netns=1" }, "012" },
		{ { "netns=2,3" }, "" },
		{ { "min=1ms" }, "01" },
		{ { "min=0" }, "01234" },
		{ { "min=60058174510ns" }, "0" },
		{ { "min=60058174511ns" }, "" },
		/* None has rst_reason=: test_rst_reasons() has some. */
		{ { "rst=TCP_STATE" }, "" },
	};
	struct tt_record r[5];
	char err[TT_FILTER_ERR_MAX], got[8];
	struct tt_filter *f = malloc(sizeof(*f));
	size_t i, j, n;

	if (!f)
		return;
	for (i = 0; i < 5; i++)
		if (!record(t, records[i], &r[i]))
			goto out;
	/* Owners for --pid and --comm. */
	r[0].has |= TT_HAS_PID | TT_HAS_TGID | TT_HAS_COMM;
	r[0].pid = r[0].tgid = 324;
	strcpy(r[0].comm, "curl");
	r[1].has |= TT_HAS_PID | TT_HAS_TGID;
	r[1].pid = 331;
	r[1].tgid = 1;
	r[2].has |= TT_HAS_TGID;
	r[2].tgid = 331;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!build_filter(f, cases[i].options, err)) {
			printf("# %s\n", err);
			t->failed = true;
			continue;
		}
		for (j = 0, n = 0; j < 5; j++)
			if (tt_filter_match(f, &r[j]))
				got[n++] = (char)('0' + j);
		got[n] = '\0';
		if (strcmp(got, cases[i].want) != 0)
			printf("# case %zu (%s)\n", i, cases[i].options[0] ? cases[i].options[0] : "none");
		CHECK_STR(t, got, cases[i].want);
	}
	/* -4 and -6, alone and together. */
	memset(f, 0, sizeof(*f));
	f->ipv6 = true;
	CHECK(t, !tt_filter_match(f, &r[0]));
	f->ipv4 = true;
	CHECK(t, tt_filter_match(f, &r[0]));
	/* --anomalies: none of these has any. */
	memset(f, 0, sizeof(*f));
	f->anomalies = true;
	for (j = 0; j < 5; j++)
		CHECK(t, !tt_filter_match(f, &r[j]));
out:
	free(f);
}

/* Counting by rst_reason=, and selecting by it. */
static void test_rst_reasons(struct test *t)
{
	static const char *const reasons[] = {
		"TCP_STATE", "NOT_SPECIFIED", "TCP_ABORT_ON_CLOSE", "TCP_STATE",
		"42", "TCP_ABORT_ON_CLOSE", "TCP_STATE", NULL,
	};
	struct tt_rst_reasons *c = calloc(1, sizeof(*c));
	struct tt_filter *f = malloc(sizeof(*f));
	unsigned int order[TT_RST_REASONS], i;
	const char *options[3] = { NULL };
	char text[256], err[TT_FILTER_ERR_MAX];
	struct tt_record r;

	if (!c || !f)
		goto out;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i])
			snprintf(text, sizeof(text), "done 1 ipv4 10.0.0.1:1 10.0.0.2:2 seq=1 t0=1 end=reset_sent rst_reason=%s path=CLOSE", reasons[i]);
		else
			snprintf(text, sizeof(text), "done 1 ipv4 10.0.0.1:1 10.0.0.2:2 seq=1 t0=1 end=reset_sent path=CLOSE");
		if (!record(t, text, &r))
			goto out;
		tt_rst_reasons_add(c, &r);
	}
	/* Counted in order of first sight; the one without a reason not at all. */
	CHECK_U64(t, c->nr, 4);
	CHECK_STR(t, c->reasons[0].name, "TCP_STATE");
	CHECK_U64(t, c->reasons[0].count, 3);
	CHECK_STR(t, c->reasons[3].name, "42");
	CHECK_U64(t, c->other, 0);
	/* By count, then by name: 3, 2, then 1 and 1 by name. */
	tt_rst_reasons_sort(c, true, order);
	CHECK_STR(t, c->reasons[order[0]].name, "TCP_STATE");
	CHECK_STR(t, c->reasons[order[1]].name, "TCP_ABORT_ON_CLOSE");
	CHECK_STR(t, c->reasons[order[2]].name, "42");
	CHECK_STR(t, c->reasons[order[3]].name, "NOT_SPECIFIED");
	/* By name alone. */
	tt_rst_reasons_sort(c, false, order);
	CHECK_STR(t, c->reasons[order[0]].name, "42");
	CHECK_STR(t, c->reasons[order[1]].name, "NOT_SPECIFIED");
	CHECK_STR(t, c->reasons[order[2]].name, "TCP_ABORT_ON_CLOSE");
	CHECK_STR(t, c->reasons[order[3]].name, "TCP_STATE");

	/* Past TT_RST_REASONS names, the new ones count together. */
	for (i = 0; i < TT_RST_REASONS; i++) {
		snprintf(text, sizeof(text), "live 1 ipv4 10.0.0.1:1 10.0.0.2:2 t0=1 rst_reason=R%u path=CLOSE", i);
		if (!record(t, text, &r))
			goto out;
		tt_rst_reasons_add(c, &r);
	}
	CHECK_U64(t, c->nr, TT_RST_REASONS);
	CHECK_U64(t, c->other, 4);
	tt_rst_reasons_add(c, &r);	/* R63 came after the table filled up */
	CHECK_U64(t, c->other, 5);
	strcpy(r.rst_reason, "TCP_STATE");
	tt_rst_reasons_add(c, &r);
	CHECK_U64(t, c->reasons[0].count, 4);

	/* --rst-reason: any case, a list, repeated; no reason, no match. */
	options[0] = "rst=tcp_abort_on_close,42";
	CHECK(t, build_filter(f, options, err));
	CHECK(t, !tt_filter_match(f, &r));
	strcpy(r.rst_reason, "42");
	CHECK(t, tt_filter_match(f, &r));
	options[1] = "rst=NOT_SPECIFIED";
	CHECK(t, build_filter(f, options, err));
	strcpy(r.rst_reason, "NOT_SPECIFIED");
	CHECK(t, tt_filter_match(f, &r));
	strcpy(r.rst_reason, "TCP_ABORT_ON_CLOSE");
	CHECK(t, tt_filter_match(f, &r));
	r.has &= ~TT_HAS_RST_REASON;
	r.rst_reason[0] = '\0';
	CHECK(t, !tt_filter_match(f, &r));
out:
	free(c);
	free(f);
}

static const struct test_case tests[] = {
	{ "model: lifetime and visited states", test_lifetime_and_visited },
	{ "model: roles", test_roles },
	{ "model: handshake times", test_handshake },
	{ "model: time in each state", test_spans },
	{ "model: steps that stay in their state, hand-overs among them", test_steps_that_stay },
	{ "model: anomalies", test_anomalies },
	{ "model: a FIN's relative sequence number, from the byte counters", test_fin_seq },
	{ "model: log-linear histograms and their octaves", test_histogram },
	{ "model: percentiles within 1% on several distributions", test_percentile_error },
	{ "model: IPv4-mapped addresses compare as IPv4", test_endpoint_addr },
	{ "model: pairing the two ends of a connection", test_pairing },
	{ "model: pairing only within one host's boot", test_pairing_groups },
	{ "filter: durations", test_durations },
	{ "filter: addresses and prefixes", test_cidr },
	{ "filter: state names, the format's and ss(8)'s", test_state_lookup },
	{ "filter: bad values, one message each", test_filter_values },
	{ "filter: matching, conditions combined", test_filter_match },
	{ "model and filter: reset reasons counted and selected", test_rst_reasons },
};

int main(void)
{
	return run_tests(tests, sizeof(tests) / sizeof(tests[0])) ? 0 : 1;
}
