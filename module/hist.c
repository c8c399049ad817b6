// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the history table, the slot pool and the ring of done histories.
 *
 *   tracepoint and kprobe handlers (any context, preemption off)
 *        |
 *        v  hash_ptr(key)
 *   buckets[]  -- raw_spinlock + hlist of live histories -----+
 *        |                                                    |
 *        | first event of a socket: take a slot     slots[] (max_live, preallocated)
 *        | from the free list  <--------------------  free list (free_lock)
 *        |
 *        | done: unlink, copy into the ring, return the slot
 *        v
 *   ring.slots[seq % size]   ring.tail <= seq < ring.head   (ring.lock)
 *
 * A history's key is the socket the kernel is using for the connection:
 * the request socket from the SYN, the full socket from the handshake's
 * end, the timewait socket from the hand-over. When one takes over from
 * another, the history moves to the new key's bucket.
 *
 * Everything is allocated at load. tracepoint probes run with preemption
 * disabled, so on PREEMPT_RT the probe may neither allocate nor take a
 * spinlock_t: every lock the probe takes is raw and taken with interrupts
 * off, since the same bucket is reached from process and softirq context.
 * Each is held for a lookup or a copy of one history, never while
 * formatting. (The filter's mutex only serializes the commands that change
 * the filter; the probe reads the filter without it.)
 *
 * Lock order: a bucket lock, then another bucket's only by trylock (to
 * evict), then free_lock or the ring lock, which are never held together.
 *
 * The ring runs in overwrite mode: a new done history replaces the oldest
 * one when the ring is full, and ring_overwritten counts it. Positions are
 * 64-bit and monotonic, so a reader's position never aliases.
 */

#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/sock_diag.h>
#include <linux/spinlock.h>
#include <net/inet_sock.h>
#include <net/inet_timewait_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

struct tcptrace_bucket {
	raw_spinlock_t lock;		/* protects head and the histories on it */
	struct hlist_head head;
};

/* The counters, per CPU so that no two CPUs bump the same line. */
struct tcptrace_counters {
	u64 count[TCPTRACE_NR_COUNTERS];
};

static struct tcptrace_bucket *tcptrace_buckets;
static unsigned int tcptrace_bucket_bits;

static struct tcptrace_hist *tcptrace_slots;
static HLIST_HEAD(tcptrace_free);
static unsigned int tcptrace_nr_free;
static unsigned int tcptrace_max_live;
static DEFINE_RAW_SPINLOCK(tcptrace_free_lock);	/* protects tcptrace_free, tcptrace_nr_free */

static struct {
	raw_spinlock_t lock;		/* protects everything below */
	u64 head;			/* seq of the next history to complete */
	u64 tail;			/* seq of the oldest history held */
	u64 overwritten;
	u32 size;
	struct tcptrace_hist *slots;
} tcptrace_ring = {
	.lock = __RAW_SPIN_LOCK_UNLOCKED(tcptrace_ring.lock),
};

static struct tcptrace_counters __percpu *tcptrace_pcpu;
static u64 tcptrace_mem_bytes;

static void tcptrace_count(enum tcptrace_counter c)
{
	this_cpu_inc(tcptrace_pcpu->count[c]);
}

/* Eviction: whether a full table makes room, and where it looks next. */
static bool tcptrace_evict_on;
static atomic_t tcptrace_evict_cursor = ATOMIC_INIT(0);
#define TCPTRACE_EVICT_TRIES	64

DECLARE_WAIT_QUEUE_HEAD(tcptrace_done_wait);

/*
 * The probe runs with preemption disabled, where PREEMPT_RT forbids the
 * wait queue's spinlock_t: wake followers from irq_work instead, as printk
 * does.
 */
static void tcptrace_wake_followers(struct irq_work *work)
{
	wake_up_interruptible(&tcptrace_done_wait);
}

static DEFINE_IRQ_WORK(tcptrace_wakeup_work, tcptrace_wake_followers);

/*
 * The transitions RFC 9293 allows, plus the ones Linux adds: a SYN makes
 * a request socket (LISTEN>NEW_SYN_RECV), a child cloned from its listener
 * starts LISTEN>SYN_RECV, a TCP_REPAIR socket jumps CLOSE>ESTABLISHED, a
 * FIN in SYN_RECV leads to CLOSE_WAIT, any state may abort to CLOSE, and
 * close() after shutdown() sets FIN_WAIT1, FIN_WAIT2, CLOSING or LAST_ACK
 * again (tcp_close_state()). Anything else is flagged, never dropped.
 */
static const u16 tcptrace_allowed[TCPTRACE_NR_STATES] = {
	[TCP_CLOSE]		= TCPF_SYN_SENT | TCPF_LISTEN | TCPF_ESTABLISHED,
	[TCP_LISTEN]		= TCPF_NEW_SYN_RECV | TCPF_SYN_RECV | TCPF_SYN_SENT |
				  TCPF_CLOSE,
	[TCP_SYN_SENT]		= TCPF_ESTABLISHED | TCPF_SYN_RECV | TCPF_CLOSE,
	[TCP_SYN_RECV]		= TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
				  TCPF_CLOSE_WAIT | TCPF_CLOSE,
	[TCP_ESTABLISHED]	= TCPF_FIN_WAIT1 | TCPF_CLOSE_WAIT | TCPF_CLOSE,
	[TCP_FIN_WAIT1]		= TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2 | TCPF_CLOSING |
				  TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_FIN_WAIT2]		= TCPF_FIN_WAIT2 | TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_CLOSING]		= TCPF_CLOSING | TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_CLOSE_WAIT]	= TCPF_LAST_ACK | TCPF_CLOSE,
	[TCP_LAST_ACK]		= TCPF_LAST_ACK | TCPF_CLOSE,
	[TCP_TIME_WAIT]		= TCPF_CLOSE,
	[TCP_NEW_SYN_RECV]	= TCPF_SYN_RECV | TCPF_CLOSE,
};

static bool tcptrace_transition_expected(const struct tcptrace_hist *h,
					 int oldstate, int newstate)
{
	/* A step that does not start where the last one ended missed one. */
	if (h->nsteps && h->steps[h->nsteps - 1].newstate != oldstate)
		return false;
	return oldstate >= 0 && oldstate < TCPTRACE_NR_STATES &&
	       newstate >= 0 && newstate < TCPTRACE_NR_STATES &&
	       (tcptrace_allowed[oldstate] & BIT(newstate));
}

/*
 * What a step stores: a TCP state, in four bits. The tracepoint reports
 * nothing else; anything else would be UNKNOWN, and flagged unexpected.
 */
static u8 tcptrace_state(int state)
{
	static_assert(TCPTRACE_NR_STATES <= 16);

	return state >= 0 && state < TCPTRACE_NR_STATES ? state : 0;
}

static struct tcptrace_bucket *tcptrace_bucket_of(const void *key)
{
	return &tcptrace_buckets[hash_ptr(key, tcptrace_bucket_bits)];
}

static struct tcptrace_hist *tcptrace_slot_get(void)
{
	struct tcptrace_hist *h = NULL;

	raw_spin_lock(&tcptrace_free_lock);
	if (!hlist_empty(&tcptrace_free)) {
		h = hlist_entry(tcptrace_free.first, struct tcptrace_hist, node);
		hlist_del(&h->node);
		tcptrace_nr_free--;
	}
	raw_spin_unlock(&tcptrace_free_lock);
	return h;
}

static void tcptrace_ring_push(const struct tcptrace_hist *h)
{
	struct tcptrace_hist *slot;
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	if (tcptrace_ring.head - tcptrace_ring.tail == tcptrace_ring.size) {
		tcptrace_ring.tail++;
		tcptrace_ring.overwritten++;
	}
	slot = &tcptrace_ring.slots[tcptrace_ring.head % tcptrace_ring.size];
	*slot = *h;
	slot->seq = tcptrace_ring.head++;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);

	/* Pairs with the barrier in prepare_to_wait() of a follower. */
	if (wq_has_sleeper(&tcptrace_done_wait))
		irq_work_queue(&tcptrace_wakeup_work);
}

/*
 * What the runtime filter keeps: sockets of one network namespace, and
 * with a local or remote port in a set, as known when the history would
 * start. Read locklessly by the probe; changed under tcptrace_filter_lock,
 * the port set with its switch off, so that no half-written set is used.
 */
static DECLARE_BITMAP(tcptrace_filter_ports, 1 << 16);
static bool tcptrace_filter_ports_on;
static u32 tcptrace_filter_netns;		/* 0: any */
static DEFINE_MUTEX(tcptrace_filter_lock);	/* serializes filter changes */

static bool tcptrace_wanted(u32 netns, __be16 sport, __be16 dport)
{
	u32 want_netns = READ_ONCE(tcptrace_filter_netns);

	if (want_netns && want_netns != netns)
		return false;
	/* Pairs with smp_store_release() in tcptrace_hist_filter_ports(). */
	if (smp_load_acquire(&tcptrace_filter_ports_on) &&
	    !test_bit(ntohs(sport), tcptrace_filter_ports) &&
	    !test_bit(ntohs(dport), tcptrace_filter_ports))
		return false;
	return true;
}

/**
 * tcptrace_hist_filter_ports - keep only sockets using one of these ports
 * @ports: a bitmap of 65536 ports, or NULL to keep every port
 */
void tcptrace_hist_filter_ports(const unsigned long *ports)
{
	mutex_lock(&tcptrace_filter_lock);
	WRITE_ONCE(tcptrace_filter_ports_on, false);
	if (ports) {
		/* Probes still testing the old set keep every port meanwhile. */
		synchronize_rcu();
		bitmap_copy(tcptrace_filter_ports, ports, 1 << 16);
		/* Pairs with smp_load_acquire() in tcptrace_wanted(): set, then on. */
		smp_store_release(&tcptrace_filter_ports_on, true);
	}
	mutex_unlock(&tcptrace_filter_lock);
}

/**
 * tcptrace_hist_filter_netns - keep only sockets of one network namespace
 * @netns: its inode number, or 0 to keep every namespace
 */
void tcptrace_hist_filter_netns(u32 netns)
{
	WRITE_ONCE(tcptrace_filter_netns, netns);
}

/* Unlink the oldest history of a locked bucket: new ones go in at the head. */
static struct tcptrace_hist *tcptrace_unlink_oldest(struct tcptrace_bucket *b)
{
	struct tcptrace_hist *h = NULL, *pos;

	hlist_for_each_entry(pos, &b->head, node)
		h = pos;
	if (h)
		hlist_del(&h->node);
	return h;
}

/*
 * A live history taken out before its socket's end was seen (evicted, or
 * its key taken by a new life) ends as @end: true. One that only awaited
 * its RST had closed already, and ends as it closed: false.
 */
static bool tcptrace_cut_short(struct tcptrace_hist *h, u8 end)
{
	if (h->flags & TCPTRACE_HISTF_RST_AWAITED) {
		h->flags &= ~TCPTRACE_HISTF_RST_AWAITED;
		return false;
	}
	h->end = end;
	return true;
}

/*
 * The table is full: end another live history as evicted and take its
 * slot. Buckets are visited round-robin from a shared cursor, a clock hand
 * over the table. @held is the bucket the caller has locked, or NULL: any
 * history in it is another socket's, since the caller is starting one.
 * Other buckets are only trylocked, so that two bucket locks never wait on
 * each other. Interrupts off.
 */
static struct tcptrace_hist *tcptrace_evict(struct tcptrace_bucket *held)
{
	unsigned int mask = (1U << tcptrace_bucket_bits) - 1;
	unsigned int tries;

	for (tries = 0; tries < TCPTRACE_EVICT_TRIES; tries++) {
		unsigned int i = atomic_inc_return(&tcptrace_evict_cursor) & mask;
		struct tcptrace_bucket *b = &tcptrace_buckets[i];
		struct tcptrace_hist *h;

		if (hlist_empty(&b->head))
			continue;
		if (b == held) {
			h = tcptrace_unlink_oldest(b);
		} else {
			if (!raw_spin_trylock(&b->lock))
				continue;
			h = tcptrace_unlink_oldest(b);
			raw_spin_unlock(&b->lock);
		}
		if (!h)
			continue;
		if (tcptrace_cut_short(h, TCPTRACE_END_EVICTED))
			tcptrace_count(TCPTRACE_CNT_EVICTED);
		tcptrace_ring_push(h);
		tcptrace_count(TCPTRACE_CNT_COMPLETED);
		return h;
	}
	return NULL;
}

/*
 * A slot for a new history, or NULL, counted: the filter does not want the
 * socket, or the table is full and nothing could be evicted. @held is the
 * bucket the caller has locked, or NULL. Interrupts off.
 */
static struct tcptrace_hist *tcptrace_slot_for(struct tcptrace_bucket *held,
					       u32 netns, __be16 sport, __be16 dport)
{
	struct tcptrace_hist *h;

	if (!tcptrace_wanted(netns, sport, dport)) {
		tcptrace_count(TCPTRACE_CNT_FILTERED);
		return NULL;
	}
	h = tcptrace_slot_get();
	if (!h && tcptrace_evict_on)
		h = tcptrace_evict(held);
	if (!h)
		tcptrace_count(TCPTRACE_CNT_DROP_TABLE_FULL);
	return h;
}

static void tcptrace_slot_put(struct tcptrace_hist *h)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_free_lock, flags);
	hlist_add_head(&h->node, &tcptrace_free);
	tcptrace_nr_free++;
	raw_spin_unlock_irqrestore(&tcptrace_free_lock, flags);
}

static struct tcptrace_hist *tcptrace_lookup(struct tcptrace_bucket *b,
					     const void *key)
{
	struct tcptrace_hist *h;

	hlist_for_each_entry(h, &b->head, node)
		if (h->key == key)
			return h;
	return NULL;
}

/*
 * The socket cookie, made if the socket has none yet. sock_gen_cookie()
 * stores a new cookie in the socket, once, with a cmpxchg: the same lazy
 * assignment inet_diag and BPF make. That is the one write behind the
 * cast; the exported wrapper takes a non-const socket. Any kind of socket:
 * the cookie is in sock_common.
 */
static u64 tcptrace_cookie(const struct sock *sk)
{
	u32 cookie[2];

	sock_diag_save_cookie((struct sock *)sk, cookie);
	return (u64)cookie[1] << 32 | cookie[0];
}

/*
 * The 4-tuple as the socket has it now, from sock_common, so any kind of
 * socket. The local port is the caller's: a full socket's CLOSE is
 * reported after inet_put_port() cleared sk_num, but not inet_sport.
 */
static void tcptrace_read_addrs(struct tcptrace_hist *h, const struct sock *sk,
				__be16 sport)
{
	h->family = sk->sk_family;
	h->sport = sport;
	h->dport = sk->sk_dport;
	h->saddr.v4 = sk->sk_rcv_saddr;
	h->daddr.v4 = sk->sk_daddr;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		h->saddr.v6 = sk->sk_v6_rcv_saddr;
		h->daddr.v6 = sk->sk_v6_daddr;
	}
#endif
}

/*
 * Take the socket's identity as it is now. inet_csk_clone_lock() reports
 * a child's LISTEN>SYN_RECV before it gives the child its own cookie and
 * 4-tuple: at that event the fields are still the listener's, so they are
 * left alone and filled in at the child's next event.
 */
static void tcptrace_update_ids(struct tcptrace_hist *h, const struct sock *sk,
				int oldstate, int newstate)
{
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV)
		return;
	if (!h->cookie)
		h->cookie = tcptrace_cookie(sk);
	tcptrace_read_addrs(h, sk, inet_sk(sk)->inet_sport);
}

static void tcptrace_hist_start(struct tcptrace_hist *h, const struct sock *sk)
{
	memset(h, 0, sizeof(*h));
	h->key = sk;
	h->family = sk->sk_family;
	h->netns = sock_net(sk)->ns.inum;
	h->net_cookie = tcptrace_net_cookie(sock_net(sk));
	h->uid = from_kuid_munged(&init_user_ns, sk->sk_uid);
}

/*
 * The owner is the first task seen changing the socket's state: connect(),
 * listen(), close(). Softirq work runs on behalf of whichever task was
 * interrupted, so it never names the owner. get_task_comm() would take
 * task_lock(), a sleeping lock on PREEMPT_RT: copy comm as it is.
 */
static void tcptrace_set_owner(struct tcptrace_hist *h)
{
	if ((h->flags & TCPTRACE_HISTF_OWNER) || !in_task())
		return;
	h->pid = task_pid_nr(current);
	h->tgid = task_tgid_nr(current);
	memcpy(h->comm, current->comm, sizeof(h->comm));
	h->comm[sizeof(h->comm) - 1] = '\0';
	h->flags |= TCPTRACE_HISTF_OWNER;
}

static bool tcptrace_visited(const struct tcptrace_hist *h, u16 states)
{
	unsigned int i;

	for (i = 0; i < h->nsteps; i++)
		if (states & BIT(h->steps[i].newstate))
			return true;
	return false;
}

/*
 * Why the socket closed, from the states it walked, the error the stack
 * left in sk_err and the resets seen. The first rule that matches wins;
 * Documentation/tcptrace.rst lists them in this order.
 */
static u8 tcptrace_end_reason(const struct tcptrace_hist *h, int oldstate,
			      int err)
{
	bool established = tcptrace_visited(h, TCPF_ESTABLISHED);

	if (tcptrace_visited(h, TCPF_LISTEN))
		return TCPTRACE_END_LISTENER_CLOSED;
	if (oldstate == TCP_SYN_SENT) {
		if (err == ECONNREFUSED)
			return TCPTRACE_END_REFUSED;
		if (err == ETIMEDOUT)
			return TCPTRACE_END_CONNECT_TIMEOUT;
	}
	if (!established && tcptrace_visited(h, TCPF_SYN_RECV | TCPF_NEW_SYN_RECV))
		return TCPTRACE_END_HANDSHAKE_FAILED;
	if (err == ETIMEDOUT)
		return TCPTRACE_END_TIMEOUT;
	if (h->flags & TCPTRACE_HISTF_LINGER_ABORT)
		return TCPTRACE_END_ABORTED;
	if (h->flags & TCPTRACE_HISTF_RST_RECEIVED)
		return TCPTRACE_END_RESET_RECEIVED;
	if (h->flags & TCPTRACE_HISTF_RST_SENT)
		return TCPTRACE_END_RESET_SENT;
	if (tcptrace_visited(h, TCPF_CLOSING))
		return TCPTRACE_END_SIMULTANEOUS_CLOSE;
	if (tcptrace_visited(h, TCPF_FIN_WAIT1))
		return TCPTRACE_END_ACTIVE_CLOSE;
	if (tcptrace_visited(h, TCPF_CLOSE_WAIT))
		return TCPTRACE_END_PASSIVE_CLOSE;
	return TCPTRACE_END_CLOSED;
}

/*
 * The last look at a closing socket. A task that moves a synchronized
 * connection straight to CLOSE is aborting it, and the stack sends a RST
 * right after this event (tcp_disconnect(), close() with unread data or
 * SO_LINGER {1, 0}). Where the reset tracepoint carries the kernel's reason
 * for it, the history waits in the table for that RST (RST_AWAITED:
 * tcptrace_hist_reset_sent() completes it); elsewhere the abort is
 * inferred here. FIN_WAIT2 and CLOSING are left out, and so is any
 * hand-over: from those a task gives the socket to TIME_WAIT, no RST
 * involved. A socket in repair mode (checkpoint/restore) is closed
 * without a RST.
 *
 * Returns true when the history is done now, false when it awaits its RST.
 */
static bool tcptrace_hist_finish(struct tcptrace_hist *h, const struct sock *sk,
				 int oldstate)
{
	const u16 aborts = TCPF_SYN_RECV | TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
			   TCPF_CLOSE_WAIT;
	const struct tcp_sock *tp = tcp_sk(sk);
	bool done = true;

	/* tp->repair is a bit field, read under the closing task's socket lock. */
	if (in_task() && (aborts & BIT(oldstate)) && !tp->repair &&
	    !(h->flags & (TCPTRACE_HISTF_RST_RECEIVED | TCPTRACE_HISTF_TIMEWAIT))) {
		if (sock_flag(sk, SOCK_LINGER) && !READ_ONCE(sk->sk_lingertime))
			h->flags |= TCPTRACE_HISTF_LINGER_ABORT;
		else
			h->flags |= TCPTRACE_HISTF_RST_SENT;
		if (TCPTRACE_RST_REASONS && !h->rst_reason) {
			h->flags |= TCPTRACE_HISTF_RST_AWAITED;
			done = false;
		}
	}
	h->end = tcptrace_end_reason(h, oldstate, READ_ONCE(sk->sk_err));
	h->bytes_acked = READ_ONCE(tp->bytes_acked);
	h->bytes_received = READ_ONCE(tp->bytes_received);
	h->retrans = READ_ONCE(tp->total_retrans);
	h->srtt_us = READ_ONCE(tp->srtt_us) >> 3;
	return done;
}

/*
 * The handshake ended (established, or closed before): what the socket
 * retransmitted until now was its SYN or SYN-ACK (and a Fast Open
 * server's data sent with it). A child's count starts at its request's
 * SYN-ACK retransmissions (tcp_create_openreq_child()).
 */
static void tcptrace_note_syn_retrans(struct tcptrace_hist *h,
				      const struct sock *sk, int oldstate,
				      int newstate)
{
	if ((oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV) &&
	    (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE))
		h->syn_retrans = min_t(u32, READ_ONCE(tcp_sk(sk)->total_retrans),
				       U8_MAX);
}

static void tcptrace_add_step(struct tcptrace_hist *h, int oldstate,
			      int newstate, u64 now, u8 flags)
{
	struct tcptrace_step *step;

	if (h->nsteps == TCPTRACE_MAX_STEPS) {
		if (h->dropped < U8_MAX)
			h->dropped++;
		tcptrace_count(TCPTRACE_CNT_DROP_STEPS_FULL);
		return;
	}
	step = &h->steps[h->nsteps];
	step->oldstate = tcptrace_state(oldstate);
	step->newstate = tcptrace_state(newstate);
	step->flags = flags;
	if (in_serving_softirq())
		step->flags |= TCPTRACE_STEPF_SOFTIRQ;
	if (!tcptrace_transition_expected(h, oldstate, newstate)) {
		step->flags |= TCPTRACE_STEPF_UNEXPECTED;
		if (h->unexpected < U8_MAX)
			h->unexpected++;
		tcptrace_count(TCPTRACE_CNT_UNEXPECTED);
	}
	h->ts[h->nsteps++] = now;
}

/* Done: into the ring, and the slot back to the pool. */
static void tcptrace_complete(struct tcptrace_hist *h)
{
	tcptrace_ring_push(h);
	tcptrace_slot_put(h);
	tcptrace_count(TCPTRACE_CNT_COMPLETED);
}

/*
 * Chain @h under a new key. A history already there under the same key
 * missed its end (its socket was freed unseen): it ends as it is.
 */
static void tcptrace_rekey(struct tcptrace_hist *h, const void *key)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(key);
	struct tcptrace_hist *stale;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	stale = tcptrace_lookup(b, key);
	if (stale) {
		hlist_del(&stale->node);
		tcptrace_cut_short(stale, TCPTRACE_END_LOST);
	}
	h->key = key;
	hlist_add_head(&h->node, &b->head);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (stale)
		tcptrace_complete(stale);
}

/**
 * tcptrace_hist_record - record one state change of a TCP socket
 * @sk: the socket; used as a lookup key and read, never kept
 * @oldstate: the state it leaves
 * @newstate: the state it enters
 *
 * Called from the tracepoint probe in any context with preemption
 * disabled. Never sleeps, never allocates.
 */
void tcptrace_hist_record(const struct sock *sk, int oldstate, int newstate)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(sk);
	struct tcptrace_hist *h, *stale = NULL;
	const void *tw = NULL;
	u64 now = ktime_get_ns();
	unsigned long flags;
	bool done = false;

	tcptrace_count(TCPTRACE_CNT_EVENTS);

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, sk);
	/*
	 * Leaving CLOSE starts a new life. A history still open for the same
	 * address missed its CLOSE (the socket was freed, or set to CLOSE
	 * without the tracepoint): end it as it is, visibly short of CLOSE.
	 */
	if (h && oldstate == TCP_CLOSE) {
		hlist_del(&h->node);
		stale = h;
		tcptrace_cut_short(stale, TCPTRACE_END_LOST);
		h = NULL;
	}
	if (!h) {
		h = tcptrace_slot_for(b, sock_net(sk)->ns.inum,
				      inet_sk(sk)->inet_sport, sk->sk_dport);
		if (!h) {
			raw_spin_unlock_irqrestore(&b->lock, flags);
			goto out_stale;
		}
		tcptrace_hist_start(h, sk);
		hlist_add_head(&h->node, &b->head);
		tcptrace_count(TCPTRACE_CNT_CREATED);
	}
	tcptrace_update_ids(h, sk, oldstate, newstate);
	tcptrace_set_owner(h);
	if (newstate == TCP_CLOSE && h->tw) {
		/*
		 * Not the end: a timewait socket carries on in its substate
		 * (tcptrace_hist_timewait_begin() saw the hand-over).
		 */
		tw = h->tw;
		h->tw = NULL;
		tcptrace_add_step(h, oldstate, h->tw_substate, now,
				  TCPTRACE_STEPF_TIMEWAIT);
		h->flags |= TCPTRACE_HISTF_TIMEWAIT;
		tcptrace_hist_finish(h, sk, oldstate);
		hlist_del(&h->node);
	} else {
		tcptrace_add_step(h, oldstate, newstate, now, 0);
		tcptrace_note_syn_retrans(h, sk, oldstate, newstate);
		if (newstate == TCP_CLOSE) {
			done = tcptrace_hist_finish(h, sk, oldstate);
			if (done)
				hlist_del(&h->node);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);

	/* Outside the socket's bucket: two bucket locks are never held. */
	if (tw)
		tcptrace_rekey(h, tw);
	if (done)
		tcptrace_complete(h);
out_stale:
	if (stale)
		tcptrace_complete(stale);
}

/* Take the live history under @key out of the table, or NULL. */
static struct tcptrace_hist *tcptrace_unlink(const void *key)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(key);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, key);
	if (h)
		hlist_del(&h->node);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return h;
}

/**
 * tcptrace_hist_request_begin - a SYN arrived: a request socket is born
 * @req: the request socket, fresh from inet_reqsk_alloc(); its cookie is
 *	 set here
 * @listener: its listener
 *
 * The server side of a connection starts here, one round trip before the
 * tracepoint sees its child socket. The request's addresses are not set
 * yet: they come with the child, or at the request's end.
 */
void tcptrace_hist_request_begin(struct request_sock *req,
				 const struct sock *listener)
{
	struct tcptrace_hist *h;
	unsigned long flags;

	local_irq_save(flags);
	h = tcptrace_slot_for(NULL, sock_net(listener)->ns.inum,
			      inet_sk(listener)->inet_sport, 0);
	local_irq_restore(flags);
	if (!h)
		return;
	tcptrace_hist_start(h, listener);
	h->sport = inet_sk(listener)->inet_sport;
	/* The child inherits this cookie: one id for the whole connection. */
	h->cookie = tcptrace_cookie(req_to_sk(req));
	tcptrace_add_step(h, TCP_LISTEN, TCP_NEW_SYN_RECV, ktime_get_ns(),
			  TCPTRACE_STEPF_DERIVED);
	tcptrace_count(TCPTRACE_CNT_CREATED);
	tcptrace_rekey(h, req);
}

/**
 * tcptrace_hist_request_join - the handshake completed: a child was cloned
 * @req: the request socket
 * @child: the child socket, whose first step the tracepoint just reported
 *
 * The request's history goes on as the child's. The child reported its
 * first step as LISTEN>SYN_RECV, the state of the listener it was cloned
 * from; after the request, the step it really took is NEW_SYN_RECV>SYN_RECV.
 */
void tcptrace_hist_request_join(const void *req, const void *child)
{
	struct tcptrace_hist *h, *ch;
	unsigned int i;

	h = tcptrace_unlink(req);
	if (!h)
		return;
	ch = tcptrace_unlink(child);
	if (ch) {
		for (i = 0; i < ch->nsteps; i++) {
			struct tcptrace_step step = ch->steps[i];

			if (!i && step.oldstate == TCP_LISTEN)
				step.oldstate = TCP_NEW_SYN_RECV;
			if (h->nsteps == TCPTRACE_MAX_STEPS) {
				h->dropped = min(h->dropped + 1, U8_MAX);
				continue;
			}
			h->steps[h->nsteps] = step;
			h->ts[h->nsteps++] = ch->ts[i];
		}
		h->flags |= ch->flags;
		h->unexpected = min(h->unexpected + ch->unexpected, U8_MAX);
		tcptrace_slot_put(ch);
		/* Two histories became one. */
		this_cpu_dec(tcptrace_pcpu->count[TCPTRACE_CNT_CREATED]);
	}
	tcptrace_rekey(h, child);
}

static void tcptrace_request_addrs(struct tcptrace_hist *h,
				   const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);

	h->sport = htons(ireq->ir_num);
	h->dport = ireq->ir_rmt_port;
	h->saddr.v4 = ireq->ir_loc_addr;
	h->daddr.v4 = ireq->ir_rmt_addr;
#if IS_ENABLED(CONFIG_IPV6)
	if (h->family != AF_INET6)
		return;
	/* An IPv4 SYN to a dual-stack listener: v4-mapped, as its child would be. */
	if (req->rsk_ops->family == AF_INET) {
		ipv6_addr_set_v4mapped(ireq->ir_loc_addr, &h->saddr.v6);
		ipv6_addr_set_v4mapped(ireq->ir_rmt_addr, &h->daddr.v6);
	} else {
		h->saddr.v6 = ireq->ir_v6_loc_addr;
		h->daddr.v6 = ireq->ir_v6_rmt_addr;
	}
#endif
}

/**
 * tcptrace_hist_accepted - accept() returned a child
 * @child: the child socket
 *
 * In the acceptor's context: it owns the child, though every step so far
 * ran in softirq.
 */
void tcptrace_hist_accepted(const void *child)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(child);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, child);
	if (h)
		tcptrace_set_owner(h);
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_hist_request_end - a request socket is freed
 * @req: the request socket, still whole
 *
 * If it never produced a child, its history ends here: no ACK came, a RST
 * came, its listener closed, or it answered the SYN with a SYN cookie and
 * kept no state (a valid ACK then starts a new request and history).
 */
void tcptrace_hist_request_end(const struct request_sock *req)
{
	struct tcptrace_hist *h = tcptrace_unlink(req);

	if (!h)
		return;
	tcptrace_request_addrs(h, req);
	h->retrans = req->num_retrans;
	h->syn_retrans = req->num_retrans;
	tcptrace_add_step(h, TCP_NEW_SYN_RECV, TCP_CLOSE, ktime_get_ns(),
			  TCPTRACE_STEPF_DERIVED);
	if (req->syncookie) {
		h->end = TCPTRACE_END_SYNCOOKIE;
		tcptrace_count(TCPTRACE_CNT_SYNCOOKIES);
	} else {
		h->end = TCPTRACE_END_HANDSHAKE_FAILED;
	}
	tcptrace_complete(h);
}

/**
 * tcptrace_hist_seed - start the history of a socket that existed at load
 * @sk: a full, timewait or request socket: only its sock_common is read
 * @state: its state, the substate for a timewait socket
 * @sport: its local port
 * @uid: its uid, 0 when it has none
 *
 * The history starts in @state at the time of the load, with a step that
 * stands for it: it is not shown, but counts as visited and as the state
 * the next step must leave.
 */
void tcptrace_hist_seed(const struct sock *sk, int state, __be16 sport, u32 uid)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(sk);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (tcptrace_lookup(b, sk)) {
		raw_spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	h = tcptrace_slot_for(b, sock_net(sk)->ns.inum, sport, sk->sk_dport);
	if (!h) {
		raw_spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	memset(h, 0, sizeof(*h));
	h->key = sk;
	h->netns = sock_net(sk)->ns.inum;
	h->net_cookie = tcptrace_net_cookie(sock_net(sk));
	h->uid = uid;
	h->flags = TCPTRACE_HISTF_SEEDED;
	if (READ_ONCE(sk->sk_state) == TCP_TIME_WAIT)
		h->flags |= TCPTRACE_HISTF_TIMEWAIT;
	h->cookie = tcptrace_cookie(sk);
	tcptrace_read_addrs(h, sk, sport);
	h->steps[0] = (struct tcptrace_step){
		tcptrace_state(state), tcptrace_state(state), TCPTRACE_STEPF_SEEDED
	};
	h->ts[0] = ktime_get_ns();
	h->nsteps = 1;
	hlist_add_head(&h->node, &b->head);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	tcptrace_count(TCPTRACE_CNT_CREATED);
}

/**
 * tcptrace_hist_timewait_begin - a timewait socket is taking over
 * @sk: the full socket, about to report CLOSE
 * @tw: the timewait socket, its substate set
 *
 * From a kprobe on inet_twsk_hashdance() (or _schedule()), which the stack
 * calls right before tcp_done(): the history stays under @sk until that
 * CLOSE event, which then moves it under @tw.
 */
void tcptrace_hist_timewait_begin(const void *sk, const void *tw)
{
	const struct inet_timewait_sock *tws = tw;
	struct tcptrace_bucket *b = tcptrace_bucket_of(sk);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, sk);
	if (h) {
		h->tw = tw;
		h->tw_substate = READ_ONCE(tws->tw_substate);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

static int tcptrace_last_state(const struct tcptrace_hist *h)
{
	return h->nsteps ? h->steps[h->nsteps - 1].newstate : -1;
}

/**
 * tcptrace_hist_timewait_substate - a timewait socket's timer was rearmed
 * @tw: the timewait socket
 * @substate: its substate now
 *
 * FIN_WAIT2 turns into TIME_WAIT silently when the FIN arrives, and the
 * stack rearms the timer for the full TIME_WAIT right after.
 */
void tcptrace_hist_timewait_substate(const void *tw, int substate)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(tw);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, tw);
	if (h && tcptrace_last_state(h) == TCP_FIN_WAIT2 && substate == TCP_TIME_WAIT)
		tcptrace_add_step(h, TCP_FIN_WAIT2, TCP_TIME_WAIT, ktime_get_ns(),
				  TCPTRACE_STEPF_DERIVED);
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_hist_timewait_expired - a timewait socket's timer ran out
 * @tw: the timewait socket, about to be unhashed and put
 */
void tcptrace_hist_timewait_expired(const void *tw)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(tw);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, tw);
	if (h)
		h->flags |= TCPTRACE_HISTF_TW_EXPIRED;
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_hist_timewait_end - a timewait socket is freed: its history is done
 * @tw: the timewait socket
 *
 * Every timewait socket ends here, whatever ended it; unless its timer ran
 * out first, it was killed before its time (port reused, RST, namespace
 * gone).
 */
void tcptrace_hist_timewait_end(const void *tw)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(tw);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, tw);
	if (h) {
		hlist_del(&h->node);
		tcptrace_add_step(h, tcptrace_last_state(h), TCP_CLOSE, ktime_get_ns(),
				  TCPTRACE_STEPF_DERIVED);
		/*
		 * Seeded in TIME_WAIT, the history never saw its socket
		 * close: a timewait socket is what an active close leaves.
		 */
		if (h->end == TCPTRACE_END_NONE)
			h->end = TCPTRACE_END_ACTIVE_CLOSE;
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (h)
		tcptrace_complete(h);
}

/**
 * tcptrace_hist_mark - note something about a live history
 * @key: the socket, as the tracepoint gave it; any kind of socket, never
 *	 dereferenced
 * @flag: TCPTRACE_HISTF_* to set
 */
void tcptrace_hist_mark(const void *key, u8 flag)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(key);
	struct tcptrace_hist *h;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, key);
	if (h)
		h->flags |= flag;
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_hist_reset_sent - the stack sent a RST for a socket
 * @key: the socket, as the tracepoint gave it; any kind of socket, never
 *	 dereferenced
 * @reason: the kernel's enum sk_rst_reason, or -1 where it gives none
 *
 * A history that closed awaiting this RST (tcptrace_hist_finish()) is
 * done now.
 */
void tcptrace_hist_reset_sent(const void *key, int reason)
{
	struct tcptrace_bucket *b = tcptrace_bucket_of(key);
	struct tcptrace_hist *h;
	unsigned long flags;
	bool done = false;

	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_lookup(b, key);
	/* A listener's RST answers a segment of no connection of its own. */
	if (h && tcptrace_last_state(h) != TCP_LISTEN) {
		if (!(h->flags & TCPTRACE_HISTF_LINGER_ABORT))
			h->flags |= TCPTRACE_HISTF_RST_SENT;
		if (reason >= 0 && !h->rst_reason)
			h->rst_reason = min(reason + 1, U8_MAX);
		done = h->flags & TCPTRACE_HISTF_RST_AWAITED;
		if (done) {
			h->flags &= ~TCPTRACE_HISTF_RST_AWAITED;
			hlist_del(&h->node);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (done)
		tcptrace_complete(h);
}

/**
 * tcptrace_hist_copy_done - copy the done history at or after a position
 * @seq: in: the position wanted; out: the position after the one copied
 * @end: stop before this position
 * @out: where to copy it
 *
 * Returns 1 when a history was copied, 0 when none is left before @end,
 * and -EPIPE, copying nothing, when @seq was overwritten or cleared: @seq
 * then moves to the oldest history held, and the gap shows in seq=.
 */
int tcptrace_hist_copy_done(u64 *seq, u64 end, struct tcptrace_hist *out)
{
	unsigned long flags;
	int ret = 0;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	if (*seq < tcptrace_ring.tail) {
		*seq = tcptrace_ring.tail;
		ret = -EPIPE;
	} else if (*seq < end && *seq < tcptrace_ring.head) {
		*out = tcptrace_ring.slots[*seq % tcptrace_ring.size];
		(*seq)++;
		ret = 1;
	}
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return ret;
}

/* The position of the oldest done history held. */
u64 tcptrace_hist_done_start(void)
{
	unsigned long flags;
	u64 tail;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	tail = tcptrace_ring.tail;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return tail;
}

/* The position the next done history will take. */
u64 tcptrace_hist_done_end(void)
{
	unsigned long flags;
	u64 head;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	head = tcptrace_ring.head;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return head;
}

/**
 * tcptrace_hist_copy_live - copy the next live history
 * @bucket: in/out: the bucket to look in, 0 to start
 * @index: in/out: the position in that bucket's chain, 0 to start
 * @out: where to copy it
 *
 * One lock hold per history, so a snapshot of a large table never keeps
 * the probe waiting for long. A history that moves while the table is
 * walked may be missed or seen twice; each copy is whole. Returns false
 * after the last bucket.
 */
bool tcptrace_hist_copy_live(unsigned int *bucket, unsigned int *index,
			     struct tcptrace_hist *out)
{
	unsigned int nbuckets = 1U << tcptrace_bucket_bits;

	for (; *bucket < nbuckets; (*bucket)++, *index = 0) {
		struct tcptrace_bucket *b = &tcptrace_buckets[*bucket];
		struct tcptrace_hist *h;
		unsigned long flags;
		unsigned int i = 0;

		/* Unlocked peek: an empty bucket is the common case. */
		if (hlist_empty(&b->head))
			continue;
		raw_spin_lock_irqsave(&b->lock, flags);
		hlist_for_each_entry(h, &b->head, node) {
			if (i++ < *index)
				continue;
			(*index)++;
			/* Closed, and done once its RST is sent: not live. */
			if (h->flags & TCPTRACE_HISTF_RST_AWAITED)
				continue;
			*out = *h;
			raw_spin_unlock_irqrestore(&b->lock, flags);
			return true;
		}
		raw_spin_unlock_irqrestore(&b->lock, flags);
	}
	return false;
}

/* Forget all done histories; live ones are kept. */
void tcptrace_hist_clear(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	tcptrace_ring.tail = tcptrace_ring.head;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
}

void tcptrace_hist_stats(struct tcptrace_stats *stats)
{
	unsigned long flags;
	int cpu, i;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		const struct tcptrace_counters *p = per_cpu_ptr(tcptrace_pcpu, cpu);

		for (i = 0; i < TCPTRACE_NR_COUNTERS; i++)
			stats->count[i] += READ_ONCE(p->count[i]);
	}

	raw_spin_lock_irqsave(&tcptrace_free_lock, flags);
	stats->live = tcptrace_max_live - tcptrace_nr_free;
	stats->live_max = tcptrace_max_live;
	raw_spin_unlock_irqrestore(&tcptrace_free_lock, flags);

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	stats->done = tcptrace_ring.head - tcptrace_ring.tail;
	stats->ring_overwritten = tcptrace_ring.overwritten;
	stats->ring_size = tcptrace_ring.size;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);

	stats->mem_bytes = tcptrace_mem_bytes;
	stats->filter_ports = bitmap_weight(tcptrace_filter_ports, 1 << 16) *
			      READ_ONCE(tcptrace_filter_ports_on);
	stats->filter_netns = READ_ONCE(tcptrace_filter_netns);
	stats->timewait = tcptrace_derive_timewait();
	stats->halfopen = tcptrace_derive_halfopen();
	stats->rst_reasons = TCPTRACE_RST_REASONS;
	stats->kprobe_missed = tcptrace_derive_missed();
	stats->kretprobes = tcptrace_derive_kretprobes();
}

int tcptrace_hist_init(unsigned int max_live, unsigned int ring_size, bool evict)
{
	/*
	 * A bucket for every two histories of a full table: chains of one
	 * or two, and 8 bytes of bucket per history. At least two buckets:
	 * hash_ptr() cannot make a 0-bit hash.
	 */
	size_t nbuckets = roundup_pow_of_two(max(max_live / 2, 2U));
	unsigned int i;

	/* nsteps is four bits wide. */
	BUILD_BUG_ON(TCPTRACE_MAX_STEPS > 15);

	tcptrace_pcpu = alloc_percpu(struct tcptrace_counters);
	if (!tcptrace_pcpu)
		return -ENOMEM;

	tcptrace_buckets = kvcalloc(nbuckets, sizeof(*tcptrace_buckets), GFP_KERNEL);
	if (!tcptrace_buckets)
		goto err_free_pcpu;
	tcptrace_slots = kvcalloc(max_live, sizeof(*tcptrace_slots), GFP_KERNEL);
	if (!tcptrace_slots)
		goto err_free_buckets;
	tcptrace_ring.slots = kvcalloc(ring_size, sizeof(*tcptrace_ring.slots),
				       GFP_KERNEL);
	if (!tcptrace_ring.slots)
		goto err_free_slots;

	tcptrace_bucket_bits = ilog2(nbuckets);
	for (i = 0; i < nbuckets; i++) {
		raw_spin_lock_init(&tcptrace_buckets[i].lock);
		INIT_HLIST_HEAD(&tcptrace_buckets[i].head);
	}
	for (i = 0; i < max_live; i++)
		hlist_add_head(&tcptrace_slots[i].node, &tcptrace_free);
	tcptrace_nr_free = max_live;
	tcptrace_max_live = max_live;
	tcptrace_evict_on = evict;
	tcptrace_ring.size = ring_size;
	tcptrace_mem_bytes = nbuckets * sizeof(*tcptrace_buckets) +
			     (size_t)(max_live + ring_size) * sizeof(struct tcptrace_hist);
	return 0;

err_free_slots:
	kvfree(tcptrace_slots);
err_free_buckets:
	kvfree(tcptrace_buckets);
err_free_pcpu:
	free_percpu(tcptrace_pcpu);
	return -ENOMEM;
}

/* Only after the probe is detached and every running probe has returned. */
void tcptrace_hist_exit(void)
{
	irq_work_sync(&tcptrace_wakeup_work);
	kvfree(tcptrace_ring.slots);
	kvfree(tcptrace_slots);
	kvfree(tcptrace_buckets);
	free_percpu(tcptrace_pcpu);
}
