// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the history table, the slot pool and the ring of done histories.
 *
 *   tracepoint probe (any context, preemption off)
 *        |
 *        v  hash_ptr(sk)
 *   buckets[]  -- raw_spinlock + hlist of live histories -----+
 *        |                                                    |
 *        | first event of a socket: take a slot     slots[] (max_live, preallocated)
 *        | from the free list  <--------------------  free list (free_lock)
 *        |
 *        | newstate == CLOSE: unlink, copy into the ring, return the slot
 *        v
 *   ring.slots[seq % size]   ring.tail <= seq < ring.head   (ring.lock)
 *
 * Everything is allocated at load. tracepoint probes run with preemption
 * disabled, so on PREEMPT_RT the probe may neither allocate nor take a
 * spinlock_t: all locks here are raw and taken with interrupts off, since
 * the same bucket is reached from process and softirq context. Each lock is
 * held for a lookup or a copy of one history, never while formatting.
 *
 * Lock order: bucket lock, then free_lock. The ring lock is never held
 * with another.
 *
 * The ring runs in overwrite mode: a new done history replaces the oldest
 * one when the ring is full, and ring_overwritten counts it. Positions are
 * 64-bit and monotonic, so a reader's position never aliases.
 */

#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/sock_diag.h>
#include <linux/spinlock.h>
#include <net/inet_sock.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

struct tcptrace_bucket {
	raw_spinlock_t lock;		/* protects head and the histories on it */
	struct hlist_head head;
};

/* Counters bumped on the hot path: per CPU, so nobody shares a line. */
struct tcptrace_pcpu_stats {
	u64 events;
	u64 created;
	u64 completed;
	u64 drop_table_full;
	u64 drop_steps_full;
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

static struct tcptrace_pcpu_stats __percpu *tcptrace_pcpu;
static u64 tcptrace_mem_bytes;

static struct tcptrace_bucket *tcptrace_bucket_of(const struct sock *sk)
{
	return &tcptrace_buckets[hash_ptr(sk, tcptrace_bucket_bits)];
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

static void tcptrace_slot_put(struct tcptrace_hist *h)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_free_lock, flags);
	hlist_add_head(&h->node, &tcptrace_free);
	tcptrace_nr_free++;
	raw_spin_unlock_irqrestore(&tcptrace_free_lock, flags);
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
}

static struct tcptrace_hist *tcptrace_lookup(struct tcptrace_bucket *b,
					     const struct sock *sk)
{
	struct tcptrace_hist *h;

	hlist_for_each_entry(h, &b->head, node)
		if (h->sk == sk)
			return h;
	return NULL;
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
	const struct inet_sock *inet = inet_sk(sk);

	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV)
		return;

	/*
	 * sock_gen_cookie() may store a new cookie in the socket, once, with
	 * a cmpxchg: the same lazy assignment inet_diag and BPF make. That is
	 * the one write behind this cast; the exported wrapper takes a
	 * non-const socket.
	 */
	if (!h->cookie) {
		u32 cookie[2];

		sock_diag_save_cookie((struct sock *)sk, cookie);
		h->cookie = (u64)cookie[1] << 32 | cookie[0];
	}

	h->family = sk->sk_family;
	h->sport = inet->inet_sport;
	h->dport = sk->sk_dport;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		h->saddr.v6 = sk->sk_v6_rcv_saddr;
		h->daddr.v6 = sk->sk_v6_daddr;
		return;
	}
#endif
	h->saddr.v4 = sk->sk_rcv_saddr;
	h->daddr.v4 = sk->sk_daddr;
}

static void tcptrace_hist_start(struct tcptrace_hist *h, const struct sock *sk)
{
	memset(h, 0, sizeof(*h));
	h->sk = sk;
	h->family = sk->sk_family;
}

static void tcptrace_add_step(struct tcptrace_hist *h, int oldstate,
			      int newstate, u64 now)
{
	struct tcptrace_step *step;

	if (h->nsteps == TCPTRACE_MAX_STEPS) {
		if (h->dropped < U16_MAX)
			h->dropped++;
		this_cpu_inc(tcptrace_pcpu->drop_steps_full);
		return;
	}
	step = &h->steps[h->nsteps];
	step->oldstate = oldstate;
	step->newstate = newstate;
	step->flags = in_serving_softirq() ? TCPTRACE_STEPF_SOFTIRQ : 0;
	h->ts[h->nsteps++] = now;
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
	u64 now = ktime_get_ns();
	unsigned long flags;
	bool done;

	this_cpu_inc(tcptrace_pcpu->events);

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
		h = NULL;
	}
	if (!h) {
		h = tcptrace_slot_get();
		if (!h) {
			raw_spin_unlock_irqrestore(&b->lock, flags);
			this_cpu_inc(tcptrace_pcpu->drop_table_full);
			goto out_stale;
		}
		tcptrace_hist_start(h, sk);
		hlist_add_head(&h->node, &b->head);
		this_cpu_inc(tcptrace_pcpu->created);
	}
	tcptrace_add_step(h, oldstate, newstate, now);
	tcptrace_update_ids(h, sk, oldstate, newstate);
	done = newstate == TCP_CLOSE;
	if (done)
		hlist_del(&h->node);
	raw_spin_unlock_irqrestore(&b->lock, flags);

	if (done) {
		tcptrace_ring_push(h);
		tcptrace_slot_put(h);
		this_cpu_inc(tcptrace_pcpu->completed);
	}
out_stale:
	if (stale) {
		tcptrace_ring_push(stale);
		tcptrace_slot_put(stale);
		this_cpu_inc(tcptrace_pcpu->completed);
	}
}

/**
 * tcptrace_hist_copy_done - copy the done history at or after a position
 * @seq: in: the position wanted; out: the position after the one copied
 * @end: stop before this position
 * @out: where to copy it
 *
 * Histories overwritten since @seq was taken are skipped: the caller sees
 * the gap in the copied history's seq. Returns false when none is left.
 */
bool tcptrace_hist_copy_done(u64 *seq, u64 end, struct tcptrace_hist *out)
{
	unsigned long flags;
	bool found = false;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	if (*seq < tcptrace_ring.tail)
		*seq = tcptrace_ring.tail;
	if (*seq < end && *seq < tcptrace_ring.head) {
		*out = tcptrace_ring.slots[*seq % tcptrace_ring.size];
		(*seq)++;
		found = true;
	}
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return found;
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
			if (i++ == *index) {
				*out = *h;
				raw_spin_unlock_irqrestore(&b->lock, flags);
				(*index)++;
				return true;
			}
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
	int cpu;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		const struct tcptrace_pcpu_stats *p = per_cpu_ptr(tcptrace_pcpu, cpu);

		stats->events += READ_ONCE(p->events);
		stats->created += READ_ONCE(p->created);
		stats->completed += READ_ONCE(p->completed);
		stats->drop_table_full += READ_ONCE(p->drop_table_full);
		stats->drop_steps_full += READ_ONCE(p->drop_steps_full);
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
}

int tcptrace_hist_init(unsigned int max_live, unsigned int ring_size)
{
	size_t nbuckets = roundup_pow_of_two(max_live);
	unsigned int i;

	tcptrace_pcpu = alloc_percpu(struct tcptrace_pcpu_stats);
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
	kvfree(tcptrace_ring.slots);
	kvfree(tcptrace_slots);
	kvfree(tcptrace_buckets);
	free_percpu(tcptrace_pcpu);
}
