/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace: per-socket TCP state histories, shared by the module's files.
 *
 * Events come in through main.c (the tracepoints), kprobes.c and seed.c;
 * history.c, request.c and timewait.c make them histories, by the rules
 * of states.c; filter.c, table.c and ring.c hold them; dev.c and format.c
 * give them to readers; stats.c counts; compat.c adapts to older kernels.
 * Documentation/design.rst has the picture.
 */
#ifndef _TCPTRACE_H
#define _TCPTRACE_H

#include <linux/hash.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/tcptrace.h>

struct sock;

/*
 * One transition as the tracepoint reported it. A TCP state fits in four
 * bits (TCPTRACE_NR_STATES is at most 16): two bytes a step keep a whole
 * history within 256 bytes of module memory, bucket included.
 */
struct tcptrace_step {
	u8 oldstate : 4;
	u8 newstate : 4;
	u8 flags;		/* TCPTRACE_STEPF_* */
};

#define TCPTRACE_STEPF_SOFTIRQ		BIT(0)
#define TCPTRACE_STEPF_UNEXPECTED	BIT(1)
#define TCPTRACE_STEPF_DERIVED		BIT(2)	/* seen by a kprobe, not the tracepoint */
#define TCPTRACE_STEPF_TIMEWAIT		BIT(3)	/* a timewait socket took over at CLOSE */
#define TCPTRACE_STEPF_SEEDED		BIT(4)	/* stands for the state seen at load; not shown */

/* What the history learnt about its socket on the way. */
#define TCPTRACE_HISTF_OWNER		BIT(0)	/* pid, tgid and comm are set */
#define TCPTRACE_HISTF_RST_SENT		BIT(1)
#define TCPTRACE_HISTF_RST_RECEIVED	BIT(2)
#define TCPTRACE_HISTF_LINGER_ABORT	BIT(3)	/* closed with SO_LINGER {1, 0} */
#define TCPTRACE_HISTF_TIMEWAIT		BIT(4)	/* a timewait socket took over */
#define TCPTRACE_HISTF_TW_EXPIRED	BIT(5)	/* ... and its timer ran out */
#define TCPTRACE_HISTF_SEEDED		BIT(6)	/* the socket existed at load */
#define TCPTRACE_HISTF_RST_AWAITED	BIT(7)	/* closed; done when its RST is sent */

union tcptrace_addr {
	__be32 v4;
	struct in6_addr v6;
};

/*
 * The life of one socket. Live histories are chained in the table's
 * buckets under @key; done ones are copied into the ring, where @node and
 * @key mean nothing.
 */
struct tcptrace_history {
	struct hlist_node node;
	/*
	 * The socket, then the timewait socket that takes over from it: a
	 * lookup key only, never shown, never dereferenced.
	 */
	const void *key;
	u64 cookie;		/* the socket cookie; 0 until known */
	u64 net_cookie;		/* its network namespace's, never reused as inodes are */
	union {
		const void *tw;	/* live: the timewait socket taking over at CLOSE */
		u64 seq;	/* done: the position in the ring */
	};
	/* Read from the socket at CLOSE. */
	u64 bytes_acked;
	u64 bytes_received;
	u64 ts[TCPTRACE_MAX_STEPS];	/* CLOCK_MONOTONIC ns of each step */
	union tcptrace_addr saddr;
	union tcptrace_addr daddr;
	__be16 sport;
	__be16 dport;
	u32 netns;		/* inode number of the socket's network namespace */
	u32 uid;		/* the socket's, in the initial user namespace */
	u32 pid;		/* owner: the first task to change its state */
	u32 tgid;
	u32 retrans;		/* read at CLOSE, as bytes_acked */
	u32 srtt_us;
	char comm[TASK_COMM_LEN];
	struct tcptrace_step steps[TCPTRACE_MAX_STEPS];
	/* The bytes last, where the u64s and u32s above leave no hole. */
	u8 family;
	u8 nsteps : 4;		/* at most TCPTRACE_MAX_STEPS */
	u8 tw_substate : 4;	/* live: the state the timewait socket takes over in */
	u8 dropped;		/* steps that did not fit, saturating */
	u8 flags;		/* TCPTRACE_HISTF_* */
	u8 end;			/* enum tcptrace_end, once done */
	u8 unexpected;		/* steps flagged unexpected, saturating */
	u8 syn_retrans;		/* retransmissions before the handshake ended */
	u8 rst_reason;		/* the kernel's enum sk_rst_reason + 1; 0 unknown */
};

/*
 * The counters bumped on the hot path, kept per CPU (stats.c) and summed
 * for the header line; Documentation/tcptrace.rst says what each counts.
 */
enum tcptrace_counter {
	TCPTRACE_CNT_EVENTS,
	TCPTRACE_CNT_CREATED,
	TCPTRACE_CNT_COMPLETED,
	TCPTRACE_CNT_DROP_TABLE_FULL,
	TCPTRACE_CNT_DROP_STEPS_FULL,
	TCPTRACE_CNT_UNEXPECTED,
	TCPTRACE_CNT_SYNCOOKIES,
	TCPTRACE_CNT_FILTERED,
	TCPTRACE_CNT_EVICTED,
	TCPTRACE_NR_COUNTERS
};

/* Everything the header line shows. */
struct tcptrace_stats {
	u64 count[TCPTRACE_NR_COUNTERS];
	u64 filter_ports;	/* ports in the filter, 0 for none */
	u64 filter_netns;
	u64 ring_overwritten;
	u64 kprobe_missed;
	bool timewait;
	bool halfopen;
	bool rst_reasons;
	unsigned int kretprobes;
	u64 live;
	u64 live_max;
	u64 done;
	u64 ring_size;
	u64 mem_bytes;
};

/*
 * Words used throughout: a history is *live* while its socket (or the
 * timewait socket after it) is in the table; it *completes* when it moves
 * to the ring of *done* histories (the header's completed= counts that);
 * its *end* is the reason it completed (enum tcptrace_end, end=).
 */

/* A bucket of the live table: the histories whose key hashes here. */
struct tcptrace_bucket {
	raw_spinlock_t lock;		/* protects head and the histories on it */
	struct hlist_head head;
};

/* The counters, per CPU so that no two CPUs bump the same line (stats.c). */
struct tcptrace_counters {
	u64 count[TCPTRACE_NR_COUNTERS];
};

extern struct tcptrace_counters __percpu *tcptrace_counters;

static inline void tcptrace_count(enum tcptrace_counter c)
{
	this_cpu_inc(tcptrace_counters->count[c]);
}

/* stats.c: the counters, and everything the header line shows */
int tcptrace_stats_init(void);
void tcptrace_stats_exit(void);
void tcptrace_stats(struct tcptrace_stats *stats);

/* filter.c: which sockets get a history */
bool tcptrace_filter_wanted(u32 netns, __be16 sport, __be16 dport);
void tcptrace_filter_ports(const unsigned long *ports);
void tcptrace_filter_netns(u32 netns);
void tcptrace_filter_stats(struct tcptrace_stats *stats);

/* ring.c: the done histories */
int tcptrace_ring_init(unsigned int size);
void tcptrace_ring_exit(void);
void tcptrace_ring_push(const struct tcptrace_history *h);
int tcptrace_ring_copy(u64 *seq, u64 end, struct tcptrace_history *out);
u64 tcptrace_ring_tail(void);
u64 tcptrace_ring_head(void);
void tcptrace_ring_clear(void);
void tcptrace_ring_stats(struct tcptrace_stats *stats);

/* Woken, from irq_work, when a history completes. */
extern struct wait_queue_head tcptrace_done_wait;

/*
 * table.c: the live histories. A bucket's lookups are inline: every event
 * and every kprobe hit makes one, and a call costs as much as the lookup.
 */
extern struct tcptrace_bucket *tcptrace_buckets;
extern unsigned int tcptrace_bucket_bits;

/* The bucket of @key; lock it with raw_spin_lock_irqsave(), any context. */
static inline struct tcptrace_bucket *tcptrace_bucket_of(const void *key)
{
	return &tcptrace_buckets[hash_ptr(key, tcptrace_bucket_bits)];
}

/* The live history under @key in its locked bucket @b, or NULL. */
static inline struct tcptrace_history *
tcptrace_bucket_find(struct tcptrace_bucket *b, const void *key)
{
	struct tcptrace_history *h;

	lockdep_assert_held(&b->lock);
	hlist_for_each_entry(h, &b->head, node)
		if (h->key == key)
			return h;
	return NULL;
}

/* Chain @h, its key set, in its key's locked bucket @b. */
static inline void tcptrace_bucket_add(struct tcptrace_bucket *b, struct tcptrace_history *h)
{
	lockdep_assert_held(&b->lock);
	hlist_add_head(&h->node, &b->head);
}

/* Take @h out of its locked bucket @b. */
static inline void tcptrace_bucket_del(struct tcptrace_bucket *b, struct tcptrace_history *h)
{
	lockdep_assert_held(&b->lock);
	hlist_del(&h->node);
}

int tcptrace_table_init(unsigned int max_live, bool evict);
void tcptrace_table_exit(void);
struct tcptrace_history *tcptrace_slot_for(struct tcptrace_bucket *held, u32 netns,
					   __be16 sport, __be16 dport);
void tcptrace_slot_put(struct tcptrace_history *h);
struct tcptrace_history *tcptrace_table_unlink(const void *key);
void tcptrace_table_rekey(struct tcptrace_history *h, const void *key);
bool tcptrace_cut_short(struct tcptrace_history *h, u8 end);
void tcptrace_complete(struct tcptrace_history *h);
bool tcptrace_table_copy(unsigned int *bucket, unsigned int *index,
			 struct tcptrace_history *out);
void tcptrace_table_stats(struct tcptrace_stats *stats);

/* states.c: the state machine as the module knows it */

/*
 * What a step stores: a TCP state, in four bits. The tracepoint reports
 * nothing else; anything else would be UNKNOWN, and flagged unexpected.
 * Inline: twice a step.
 */
static inline u8 tcptrace_state(int state)
{
	static_assert(TCPTRACE_NR_STATES <= 16);

	return state >= 0 && state < TCPTRACE_NR_STATES ? state : 0;
}

bool tcptrace_transition_expected(const struct tcptrace_history *h,
				  int oldstate, int newstate);
int tcptrace_last_state(const struct tcptrace_history *h);
u8 tcptrace_end_reason(const struct tcptrace_history *h, int oldstate, int err);

/* history.c: a history from the tracepoints' events */

/* Whose a history is: what starting one reads from its socket. */
struct tcptrace_origin {
	u64 net_cookie;
	u32 netns;
	u32 uid;
	u8 family;
};

void tcptrace_origin_of(struct tcptrace_origin *o, const struct sock *sk);
void tcptrace_history_init(struct tcptrace_history *h, const void *key,
			   const struct tcptrace_origin *o);
void tcptrace_history_start(struct tcptrace_history *h, const struct sock *sk);
u64 tcptrace_cookie(const struct sock *sk);
void tcptrace_set_owner(struct tcptrace_history *h);
void __tcptrace_add_step(struct tcptrace_history *h, int oldstate, int newstate,
			 u64 now, u8 flags);
void tcptrace_add_step(struct tcptrace_history *h, int oldstate, int newstate,
		       u64 now, u8 flags);
void tcptrace_state_changed(const struct sock *sk, int oldstate, int newstate);
void tcptrace_reset_sent(const void *key, int reason);
void tcptrace_reset_received(const void *key);
void tcptrace_history_seed(const struct sock *sk, int state, __be16 sport, u32 uid);

/* request.c: the server side before its child socket (kprobes) */
struct request_sock;
void tcptrace_request_born(struct request_sock *req, const struct sock *listener);
bool tcptrace_hold_child(const struct sock *sk, int oldstate, int newstate, u64 now);
void tcptrace_request_cloned(const void *req, const void *child);
void tcptrace_request_freed(const struct request_sock *req);
void tcptrace_child_accepted(const void *child);

/* timewait.c: the timewait socket after the full one (kprobes) */
void tcptrace_timewait_handover(const void *sk, const void *tw);
void tcptrace_timewait_rearmed(const void *tw, int substate);
void tcptrace_timewait_expired(const void *tw);
void tcptrace_timewait_freed(const void *tw);

/* kprobes.c: the probes that feed request.c and timewait.c */
void tcptrace_kprobes_init(void);
void tcptrace_kprobes_exit(void);
bool tcptrace_kprobes_timewait(void);
bool tcptrace_kprobes_halfopen(void);
void tcptrace_kprobes_stats(struct tcptrace_stats *stats);

/* seed.c */
void tcptrace_seed(void);

/* format.c: the records, in text and in binary */
size_t tcptrace_format_history(char *buf, size_t size,
			       const struct tcptrace_history *h, bool done);
size_t tcptrace_format_header(char *buf, size_t size);
void tcptrace_format_binary_header(struct tcptrace_binary_header *bh);
void tcptrace_format_binary_record(struct tcptrace_binary_record *rec,
				   const struct tcptrace_history *h, bool done);

/* dev.c */
int tcptrace_dev_init(void);
void tcptrace_dev_exit(void);

#endif /* _TCPTRACE_H */
