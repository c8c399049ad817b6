/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace: per-socket TCP state histories, shared by the module's files.
 */
#ifndef _TCPTRACE_H
#define _TCPTRACE_H

#include <linux/in6.h>
#include <linux/list.h>
#include <linux/sched.h>
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
struct tcptrace_hist {
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
 * The counters bumped on the hot path, kept per CPU (hist.c) and summed
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

/* hist.c */
int tcptrace_hist_init(unsigned int max_live, unsigned int ring_size, bool evict);
void tcptrace_hist_exit(void);
void tcptrace_hist_record(const struct sock *sk, int oldstate, int newstate);
void tcptrace_hist_mark(const void *key, u8 flag);
void tcptrace_hist_reset_sent(const void *key, int reason);
void tcptrace_hist_timewait_begin(const void *sk, const void *tw);
void tcptrace_hist_timewait_substate(const void *tw, int substate);
void tcptrace_hist_timewait_expired(const void *tw);
void tcptrace_hist_timewait_end(const void *tw);
struct request_sock;
void tcptrace_hist_request_begin(struct request_sock *req,
				 const struct sock *listener);
void tcptrace_hist_request_join(const void *req, const void *child);
void tcptrace_hist_request_end(const struct request_sock *req);
void tcptrace_hist_accepted(const void *child);
void tcptrace_hist_seed(const struct sock *sk, int state, __be16 sport, u32 uid);
u64 tcptrace_hist_done_start(void);
void tcptrace_hist_stats(struct tcptrace_stats *stats);
int tcptrace_hist_copy_done(u64 *seq, u64 end, struct tcptrace_hist *out);
u64 tcptrace_hist_done_end(void);
bool tcptrace_hist_copy_live(unsigned int *bucket, unsigned int *index,
			     struct tcptrace_hist *out);
void tcptrace_hist_clear(void);
void tcptrace_hist_filter_ports(const unsigned long *ports);
void tcptrace_hist_filter_netns(u32 netns);

/* Woken, from irq_work, when a history is done. */
extern struct wait_queue_head tcptrace_done_wait;

/* derive.c */
void tcptrace_derive_init(void);
void tcptrace_derive_exit(void);
bool tcptrace_derive_timewait(void);
bool tcptrace_derive_halfopen(void);
unsigned long tcptrace_derive_missed(void);
unsigned int tcptrace_derive_kretprobes(void);

/* seed.c */
void tcptrace_seed(void);

/* dev.c */
int tcptrace_dev_init(void);
void tcptrace_dev_exit(void);

#endif /* _TCPTRACE_H */
