// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the table of live histories.
 *
 *   tracepoint and kprobe handlers (any context, preemption off)
 *        |
 *        v  hash_ptr(key)
 *   buckets[]  -- raw_spinlock + hlist of live histories -----+
 *        |                                                    |
 *        | first event of a socket: take a slot     slots[] (max_live, preallocated)
 *        | from this CPU's cache of free ones <-----  per-CPU caches <-- batches --> free list
 *        |    full? evict another bucket's oldest (trylock only)
 *        |
 *        | complete: unlink, copy into the ring (ring.c), return the slot,
 *        v           all before the bucket is unlocked
 *
 * A history's key is the socket the kernel is using for the connection:
 * the request socket from the SYN, the full socket from the handshake's
 * end, the timewait socket from the hand-over. When one takes over from
 * another, the history moves to the new key's bucket (rekey); it is never
 * in two buckets.
 *
 * A history leaves its bucket for the ring under the bucket's lock, so a
 * snapshot's walk, which copies a bucket under its lock, finds every
 * history in the table or in the ring (dev.c).
 *
 * Everything is allocated at load. Tracepoint probes run with preemption
 * disabled, so on PREEMPT_RT the probe may neither allocate nor take a
 * spinlock_t: every lock here is raw and taken with interrupts off, since
 * the same bucket is reached from process and softirq context. Each is
 * held for a lookup or a copy of one history, never while formatting.
 *
 * Free slots are cached per CPU, so that a CPU starting and ending
 * histories at a high rate takes only its own cache's lock, whose line no
 * other CPU writes; the shared free list is taken once a batch. A CPU that
 * finds its cache and the list empty takes a slot from another CPU's cache
 * before it evicts: a history is evicted only when every slot is live.
 *
 * Lock order: a bucket lock, then another bucket's only by trylock (to
 * evict), then the ring's lock or one CPU's cache lock, then free_lock;
 * the ring's lock is never held with a cache lock or free_lock.
 */

#include <linux/hash.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "tcptrace.h"

/* The handlers' lookups are inline, in tcptrace.h. */
struct tcptrace_bucket *tcptrace_buckets;
unsigned int tcptrace_bucket_bits;

static struct tcptrace_history *tcptrace_slots;
static HLIST_HEAD(tcptrace_free);
static unsigned int tcptrace_nr_free;
static unsigned int tcptrace_max_live;
static DEFINE_RAW_SPINLOCK(tcptrace_free_lock);	/* protects tcptrace_free, tcptrace_nr_free */

/*
 * A CPU's free slots. Its own CPU takes the lock with interrupts off; any
 * other CPU only to take a slot when every other source is empty. The
 * header reads nr without it (tcptrace_table_stats()).
 */
struct tcptrace_slot_cache {
	raw_spinlock_t lock;		/* protects head and nr */
	struct hlist_head head;
	unsigned int nr;
};

static struct tcptrace_slot_cache __percpu *tcptrace_slot_caches;
#define TCPTRACE_CACHE_BATCH	16	/* slots moved to or from the free list at once */
#define TCPTRACE_CACHE_MAX	(2 * TCPTRACE_CACHE_BATCH)

/* Eviction: whether a full table makes room, and where it looks next. */
static bool tcptrace_evict_on;
static atomic_t tcptrace_evict_cursor = ATOMIC_INIT(0);
#define TCPTRACE_EVICT_TRIES	64

/* Move up to @n slots from the locked list @from to the locked list @to. */
static unsigned int tcptrace_slots_move(struct hlist_head *from, struct hlist_head *to,
					unsigned int n)
{
	unsigned int moved;

	for (moved = 0; moved < n && !hlist_empty(from); moved++) {
		struct hlist_node *node = from->first;

		hlist_del(node);
		hlist_add_head(node, to);
	}
	return moved;
}

/* The first slot of the locked cache @c, refilled from the free list if empty. */
static struct tcptrace_history *tcptrace_cache_pop(struct tcptrace_slot_cache *c)
{
	struct tcptrace_history *h;

	lockdep_assert_held(&c->lock);
	if (!c->nr) {
		raw_spin_lock(&tcptrace_free_lock);
		c->nr = tcptrace_slots_move(&tcptrace_free, &c->head, TCPTRACE_CACHE_BATCH);
		tcptrace_nr_free -= c->nr;
		raw_spin_unlock(&tcptrace_free_lock);
		if (!c->nr)
			return NULL;
	}
	h = hlist_entry(c->head.first, struct tcptrace_history, node);
	hlist_del(&h->node);
	c->nr--;
	return h;
}

/*
 * A free slot: from this CPU's cache, else a batch from the free list,
 * else one from another CPU's cache. NULL when every slot is live (or on
 * its way between two CPUs). Interrupts off (tcptrace_slot_for()).
 */
static struct tcptrace_history *tcptrace_slot_get(void)
{
	struct tcptrace_slot_cache *c = this_cpu_ptr(tcptrace_slot_caches);
	struct tcptrace_history *h;
	int cpu;

	raw_spin_lock(&c->lock);
	h = tcptrace_cache_pop(c);
	raw_spin_unlock(&c->lock);
	if (h)
		return h;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(tcptrace_slot_caches, cpu);
		if (!READ_ONCE(c->nr))
			continue;
		raw_spin_lock(&c->lock);
		h = tcptrace_cache_pop(c);
		raw_spin_unlock(&c->lock);
		if (h)
			return h;
	}
	return NULL;
}

/*
 * Back into this CPU's cache; a full cache gives a batch back to the free
 * list. Any context, with a bucket locked or none.
 */
void tcptrace_slot_put(struct tcptrace_history *h)
{
	struct tcptrace_slot_cache *c;
	unsigned long flags;

	local_irq_save(flags);
	c = this_cpu_ptr(tcptrace_slot_caches);
	raw_spin_lock(&c->lock);
	hlist_add_head(&h->node, &c->head);
	if (++c->nr > TCPTRACE_CACHE_MAX) {
		unsigned int moved;

		raw_spin_lock(&tcptrace_free_lock);
		moved = tcptrace_slots_move(&c->head, &tcptrace_free, TCPTRACE_CACHE_BATCH);
		tcptrace_nr_free += moved;
		raw_spin_unlock(&tcptrace_free_lock);
		c->nr -= moved;
	}
	raw_spin_unlock(&c->lock);
	local_irq_restore(flags);
}

/*
 * Done: into the ring, and the slot back to the pool. Called with the
 * bucket @h was just unlinked from still locked.
 */
void tcptrace_complete(struct tcptrace_history *h)
{
	tcptrace_ring_push(h);
	tcptrace_slot_put(h);
	tcptrace_count(TCPTRACE_CNT_COMPLETED);
}

/*
 * A live history taken out before its socket's end was seen (evicted, or
 * its key taken by a new life) ends as @end: true. One that only awaited
 * its RST had closed already, and ends as it closed: false.
 */
bool tcptrace_cut_short(struct tcptrace_history *h, u8 end)
{
	if (h->flags & TCPTRACE_HISTF_RST_AWAITED) {
		h->flags &= ~TCPTRACE_HISTF_RST_AWAITED;
		return false;
	}
	h->end = end;
	return true;
}

/*
 * Evict the oldest history of a locked bucket (new ones go in at the
 * head): it ends as evicted, into the ring, and its slot is the caller's.
 */
static struct tcptrace_history *tcptrace_evict_oldest(struct tcptrace_bucket *b)
{
	struct tcptrace_history *h = NULL, *pos;

	lockdep_assert_held(&b->lock);
	hlist_for_each_entry(pos, &b->head, node)
		h = pos;
	if (!h)
		return NULL;
	hlist_del(&h->node);
	if (tcptrace_cut_short(h, TCPTRACE_END_EVICTED))
		tcptrace_count(TCPTRACE_CNT_EVICTED);
	tcptrace_ring_push(h);
	tcptrace_count(TCPTRACE_CNT_COMPLETED);
	return h;
}

/*
 * The table is full: end another live history as evicted and take its
 * slot. Buckets are visited round-robin from a shared cursor, a clock hand
 * over the table. @held is the bucket the caller has locked, or NULL: any
 * history in it is another socket's, since the caller is starting one.
 * Other buckets are only trylocked, so that two bucket locks never wait on
 * each other.
 */
static struct tcptrace_history *tcptrace_evict(struct tcptrace_bucket *held)
{
	unsigned int mask = (1U << tcptrace_bucket_bits) - 1;
	unsigned int tries;

	lockdep_assert_irqs_disabled();
	for (tries = 0; tries < TCPTRACE_EVICT_TRIES; tries++) {
		unsigned int i = atomic_inc_return(&tcptrace_evict_cursor) & mask;
		struct tcptrace_bucket *b = &tcptrace_buckets[i];
		struct tcptrace_history *h;

		if (hlist_empty(&b->head))
			continue;
		if (b == held) {
			h = tcptrace_evict_oldest(b);
		} else {
			if (!raw_spin_trylock(&b->lock))
				continue;
			h = tcptrace_evict_oldest(b);
			raw_spin_unlock(&b->lock);
		}
		if (h)
			return h;
	}
	return NULL;
}

/*
 * A slot for a new history, or NULL, counted: the filter does not want the
 * socket, or the table is full and nothing could be evicted. @held is the
 * bucket the caller has locked, or NULL. Interrupts off, so that a slot
 * taken is chained before anything else on this CPU looks for one.
 */
struct tcptrace_history *tcptrace_slot_for(struct tcptrace_bucket *held, u32 netns,
					   __be16 sport, __be16 dport)
{
	struct tcptrace_history *h;

	lockdep_assert_irqs_disabled();
	if (held)
		lockdep_assert_held(&held->lock);
	if (!tcptrace_filter_wanted(netns, sport, dport)) {
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

/* Take the live history under @key out of the table, or NULL. */
struct tcptrace_history *tcptrace_table_unlink(const void *key)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(key);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, key);
	if (h)
		tcptrace_bucket_del(b, h);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return h;
}

/*
 * Chain @h, in no bucket, under a new key. A history already there under
 * the same key missed its end (its socket was freed unseen): it ends as it
 * is.
 */
void tcptrace_table_rekey(struct tcptrace_history *h, const void *key)
{
	struct tcptrace_history *stale;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(key);
	raw_spin_lock_irqsave(&b->lock, flags);
	stale = tcptrace_bucket_find(b, key);
	if (stale) {
		tcptrace_bucket_del(b, stale);
		tcptrace_cut_short(stale, TCPTRACE_END_LOST);
		tcptrace_complete(stale);
	}
	h->key = key;
	tcptrace_bucket_add(b, h);
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_table_copy - copy the next live history
 * @bucket: in/out: the bucket to look in, 0 to start
 * @index: in/out: the position in that bucket's chain, 0 to start
 * @out: where to copy it
 *
 * One lock hold per history, so a snapshot of a large table never keeps
 * the probe waiting for long. A history that moves while the table is
 * walked may be missed or seen twice; each copy is whole. Returns false
 * after the last bucket.
 */
bool tcptrace_table_copy(unsigned int *bucket, unsigned int *index,
			 struct tcptrace_history *out)
{
	unsigned int nbuckets = 1U << tcptrace_bucket_bits;

	for (; *bucket < nbuckets; (*bucket)++, *index = 0) {
		struct tcptrace_bucket *b = &tcptrace_buckets[*bucket];
		struct tcptrace_history *h;
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

void tcptrace_table_stats(struct tcptrace_stats *stats)
{
	unsigned int nr_free;
	int cpu;

	/*
	 * Exact when no slot moves meanwhile; otherwise a batch in transit
	 * may be counted twice or not at all, hence the clamp.
	 */
	nr_free = READ_ONCE(tcptrace_nr_free);
	for_each_possible_cpu(cpu)
		nr_free += READ_ONCE(per_cpu_ptr(tcptrace_slot_caches, cpu)->nr);
	stats->live = tcptrace_max_live - min(nr_free, tcptrace_max_live);
	stats->live_max = tcptrace_max_live;
	stats->mem_bytes += ((u64)1 << tcptrace_bucket_bits) * sizeof(*tcptrace_buckets) +
			    (u64)tcptrace_max_live * sizeof(*tcptrace_slots);
}

int tcptrace_table_init(unsigned int max_live, bool evict)
{
	/*
	 * A bucket for every two histories of a full table: chains of one
	 * or two, and 8 bytes of bucket per history. At least two buckets:
	 * hash_ptr() cannot make a 0-bit hash.
	 */
	size_t nbuckets = roundup_pow_of_two(max(max_live / 2, 2U));
	unsigned int i;
	int cpu;

	/* nsteps is four bits wide. */
	BUILD_BUG_ON(TCPTRACE_MAX_STEPS > 15);

	tcptrace_buckets = kvcalloc(nbuckets, sizeof(*tcptrace_buckets), GFP_KERNEL);
	if (!tcptrace_buckets)
		return -ENOMEM;
	tcptrace_slots = kvcalloc(max_live, sizeof(*tcptrace_slots), GFP_KERNEL);
	tcptrace_slot_caches = alloc_percpu(struct tcptrace_slot_cache);
	if (!tcptrace_slots || !tcptrace_slot_caches) {
		free_percpu(tcptrace_slot_caches);
		kvfree(tcptrace_slots);
		kvfree(tcptrace_buckets);
		return -ENOMEM;
	}

	tcptrace_bucket_bits = ilog2(nbuckets);
	for (i = 0; i < nbuckets; i++) {
		raw_spin_lock_init(&tcptrace_buckets[i].lock);
		INIT_HLIST_HEAD(&tcptrace_buckets[i].head);
	}
	for_each_possible_cpu(cpu) {
		struct tcptrace_slot_cache *c = per_cpu_ptr(tcptrace_slot_caches, cpu);

		raw_spin_lock_init(&c->lock);
		INIT_HLIST_HEAD(&c->head);
	}
	for (i = 0; i < max_live; i++)
		hlist_add_head(&tcptrace_slots[i].node, &tcptrace_free);
	tcptrace_nr_free = max_live;
	tcptrace_max_live = max_live;
	tcptrace_evict_on = evict;
	return 0;
}

/* Only after the probes are detached and every running probe has returned. */
void tcptrace_table_exit(void)
{
	free_percpu(tcptrace_slot_caches);
	kvfree(tcptrace_slots);
	kvfree(tcptrace_buckets);
}
