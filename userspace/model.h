/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a parsed record means beyond what its line says: how long the socket
 * lived, which states it visited and for how long, its role and handshake
 * time, whether it shows anomalies, and which two records are the two ends
 * of one connection. Also the fixed-size histograms the summary keeps.
 *
 * Everything but the pairing works on one record in constant memory.
 */
#ifndef TCPTRACE_MODEL_H
#define TCPTRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* Time of the last step since t0; 0 for a path without steps. */
uint64_t tt_record_lifetime(const struct tt_record *r);

/*
 * Bit s set: the history was in state s, as its first state, as the new
 * state of a step, or as the old state a '/' names.
 */
uint32_t tt_record_visited(const struct tt_record *r);

static inline bool tt_record_visited_state(const struct tt_record *r,
					   unsigned int state)
{
	return state < 32 && (tt_record_visited(r) & (1u << state));
}

enum tt_role {
	TT_ROLE_UNKNOWN,	/* first seen in a synchronized state */
	TT_ROLE_CLIENT,		/* went through SYN_SENT */
	TT_ROLE_SERVER,		/* a request or a listener's child */
	TT_ROLE_LISTENER,	/* went through LISTEN, and is not a child */
};

enum tt_role tt_record_role(const struct tt_record *r);
const char *tt_role_name(enum tt_role role);

/*
 * Handshake time: for a client, from entering SYN_SENT to entering
 * ESTABLISHED; for a server, from entering NEW_SYN_RECV (or SYN_RECV
 * without a request) to entering ESTABLISHED. Only when every step in
 * between was seen (no '/'). False when there is none.
 */
bool tt_record_handshake(const struct tt_record *r, uint64_t *ns);

/* Steps flagged 'x' in the path, or unexpected= if that says more. */
uint64_t tt_record_unexpected(const struct tt_record *r);

/* Steps written with a '/' old state: transitions were missed before them. */
unsigned int tt_record_gaps(const struct tt_record *r);

/* Unexpected steps, missed transitions or dropped steps. */
bool tt_record_anomalous(const struct tt_record *r);

/*
 * Does step @i of @r stay in the state it was in? Its new state is the
 * state before it, and no transition was missed in between (no '/'): the
 * hand-over to a timewait socket in FIN_WAIT2 (FIN_WAIT2>FIN_WAIT2 flagged
 * 'w'), close() after shutdown() (FIN_WAIT1>FIN_WAIT1). The time in the
 * state goes on through it (tt_record_spans()), and --expect folds it
 * away. False past the last step.
 */
bool tt_step_stays(const struct tt_record *r, unsigned int i);

/*
 * Is step @i of @r a hand-over to a timewait socket that stays in its
 * state (flagged 'w', not unexpected)? The human views show it as the
 * mark of the hand-over on the state before it, not as that state again.
 * False past the last step.
 */
bool tt_step_handover_stays(const struct tt_record *r, unsigned int i);

/*
 * Did a timewait socket take over in the state @r is in after its first @n
 * steps (@n 0: its first state)? The step into it is a hand-over ('w'), or
 * the step after it is a hand-over that stays in it. The human views mark
 * such a state, as the table does: "FIN_WAIT2 w".
 */
bool tt_state_handed_over(const struct tt_record *r, unsigned int n);

/*
 * A stretch of time in one state whose start and end were both seen: from
 * the step that entered the state (or t0 for the state a seen_at_load
 * history starts in) to the next step into another state. A step that
 * stays in the state (tt_step_stays()) continues the stretch. A stretch
 * ended by a step with '/' is left out: the state was left at some unseen
 * time before it.
 */
struct tt_span {
	uint8_t state;
	uint64_t start;		/* since t0 */
	uint64_t duration;
};

/* The spans of @r into @spans; their number. */
unsigned int tt_record_spans(const struct tt_record *r,
			     struct tt_span spans[TCPTRACE_MAX_STEPS + 1]);

/* ---- relative sequence numbers -------------------------------------- */

/*
 * The sequence number of the FIN @r sent, relative to @r's initial one
 * (which is 0, as Wireshark shows them), from the byte counters of @r and
 * of @peer, the other end of its connection: model.c says how. False
 * when they do not tell it for sure: a side is live, or ended otherwise
 * than by a close, or the counters were read before the FIN was received
 * or acknowledged. (A ladder's handshake needs no counters: SYN seq=0,
 * SYN,ACK seq=0 ack=1, ACK seq=1 ack=1.)
 */
bool tt_fin_seq(const struct tt_record *r, const struct tt_record *peer,
		uint32_t *seq);

/* ---- reset reasons -------------------------------------------------- */

/*
 * The RSTs a socket sent, counted by the kernel's reason (rst_reason=), in
 * fixed memory for --summary and --metrics. The kernel's reasons are a
 * few dozen; past TT_RST_REASONS distinct names, the others are counted
 * together.
 */
#define TT_RST_REASONS	64

struct tt_rst_reasons {
	unsigned int nr;
	struct {
		char name[TT_RST_REASON_TEXT_MAX];
		uint64_t count;
	} reasons[TT_RST_REASONS];	/* in order of first sight */
	uint64_t other;			/* names past the first TT_RST_REASONS */
};

/* Count the reason of @r, if it has one. */
void tt_rst_reasons_add(struct tt_rst_reasons *c, const struct tt_record *r);

/*
 * @order (room for TT_RST_REASONS) gets the indexes of the reasons
 * counted: by count, the highest first, if @by_count, then by name.
 */
void tt_rst_reasons_sort(const struct tt_rst_reasons *c, bool by_count,
			 unsigned int order[]);

/* ---- log-linear histograms ----------------------------------------- */

/*
 * Durations in nanoseconds, counted in constant memory so that a summary
 * of any input can give percentiles that are close to the true ones.
 *
 * The buckets are log-linear (as in HdrHistogram): the values below
 * 2 * TT_HISTOGRAM_SUB have a bucket each, and every octave [2^e, 2^(e+1))
 * above is cut into TT_HISTOGRAM_SUB buckets of equal width 2^e / TT_HISTOGRAM_SUB.
 * A bucket is thus never wider than 1/TT_HISTOGRAM_SUB of the values in it:
 * with 128 sub-buckets, 1/128 (0.78%).
 *
 * A percentile is the nearest-rank one, read as the largest value of the
 * bucket it falls in, or the maximum seen if that is smaller. It is never
 * below the true value (the rank-th smallest of the values added) and
 * exceeds it by less than 1/128 of it: at most 0.78% too high, exact below
 * 256ns. tests/test_model.c checks this on several distributions.
 *
 * 7424 buckets, 58 KiB a histogram. The summary's listings add them up by
 * octave (tt_histogram_octave_*) to stay short.
 */
#define TT_HISTOGRAM_SUB_BITS	7
#define TT_HISTOGRAM_SUB		(1u << TT_HISTOGRAM_SUB_BITS)	/* 128 */
/* The exact ones, then an octave of TT_HISTOGRAM_SUB for e = SUB_BITS + 1 to 63. */
#define TT_HISTOGRAM_BUCKETS		(2 * TT_HISTOGRAM_SUB + \
				 (63 - TT_HISTOGRAM_SUB_BITS) * TT_HISTOGRAM_SUB)

struct tt_histogram {
	uint64_t count;
	uint64_t max;
	uint64_t buckets[TT_HISTOGRAM_BUCKETS];
};

void tt_histogram_add(struct tt_histogram *h, uint64_t value);

/* The bucket of @value. */
unsigned int tt_histogram_bucket(uint64_t value);

/* Lowest and highest value of bucket @k. */
uint64_t tt_histogram_bucket_low(unsigned int k);
uint64_t tt_histogram_bucket_last(unsigned int k);

/*
 * Percentile @pct (0 to 100), nearest rank, as above; 0 for an empty
 * histogram.
 */
uint64_t tt_histogram_percentile(const struct tt_histogram *h, unsigned int pct);

/*
 * The coarse view, for listings: octave 0 holds 0, octave o (1 to 64)
 * holds [2^(o-1), 2^o). Each is a whole number of buckets.
 */
#define TT_HISTOGRAM_OCTAVES	65

/* The octave of @value. */
unsigned int tt_histogram_octave(uint64_t value);

/* Lowest value of octave @o, and the bound above its values (saturated). */
uint64_t tt_histogram_octave_low(unsigned int o);
uint64_t tt_histogram_octave_high(unsigned int o);

/* How many values of @h are in octave @o. */
uint64_t tt_histogram_octave_count(const struct tt_histogram *h, unsigned int o);

/* ---- addresses and pairing ------------------------------------------ */

/* An address for comparing: IPv4-mapped IPv6 addresses become IPv4. */
struct tt_addr {
	uint8_t len;			/* 4 or 16 */
	unsigned char bytes[16];
};

void tt_endpoint_addr(const struct tt_endpoint *ep, enum tt_family family,
		      struct tt_addr *addr);

/*
 * Two records that are the two ends of one connection on the traced host:
 * of the same group (one host's boot: see tt_pair_records()), each one's
 * local address and port are the other's remote ones, in the same network
 * namespace (IPv4-mapped addresses match IPv4 ones), and their times
 * overlap. Indexes into the array given to tt_pair_records().
 */
struct tt_pair {
	size_t client;		/* the active opener, on the left of a ladder */
	size_t server;
	unsigned int group;	/* of both */
	uint64_t start;		/* earliest t0 of the two */
};

/*
 * Pair the @n records of @records: @pairs (room for n / 2) gets the pairs
 * by group, then start time, @unpaired (room for n) the others, in input
 * order. @groups (NULL: all in group 0) gives each record's group: records
 * of different groups (different hosts, or boots, whose addresses, ports,
 * namespaces and clocks have nothing to do with each other) never pair.
 * Where several records could pair, those that reached a synchronized
 * state pair first, then the earliest. Returns false (errno ENOMEM) if its
 * working memory could not be allocated.
 */
bool tt_pair_records(const struct tt_record *records, const unsigned int *groups,
		     size_t n, struct tt_pair *pairs, size_t *nr_pairs,
		     size_t *unpaired, size_t *nr_unpaired);

#endif /* TCPTRACE_MODEL_H */
