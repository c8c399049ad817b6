// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the ring of done histories.
 *
 *   tcptrace_ring_push()                      readers (dev.c), each with
 *        |                                    its own position seq
 *        v                                           |
 *   slots[head % size]  ...  slots[tail % size]  <---+ tcptrace_ring_copy()
 *
 *   tail <= seq < head: the histories held; all under ring.lock
 *
 * The ring runs in overwrite mode (the words of
 * Documentation/trace/ring-buffer-design.rst): a new done history replaces
 * the oldest one when the ring is full, and ring_overwritten counts it.
 * Positions are 64-bit and monotonic, so a reader's position never
 * aliases; one older than tail was overwritten, and the reader is told
 * (-EPIPE). Every history is copied whole under the lock, so the probe
 * never waits on a reader for longer than one copy.
 */

#include <linux/irq_work.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "tcptrace.h"

static struct {
	raw_spinlock_t lock;		/* protects everything below */
	u64 head;			/* seq of the next history to complete */
	u64 tail;			/* seq of the oldest history held */
	u64 overwritten;
	u32 size;
	struct tcptrace_history *slots;
} tcptrace_ring = {
	.lock = __RAW_SPIN_LOCK_UNLOCKED(tcptrace_ring.lock),
};

DECLARE_WAIT_QUEUE_HEAD(tcptrace_done_wait);

/*
 * The probe runs with preemption disabled, where PREEMPT_RT forbids the
 * wait queue's spinlock_t: wake followers from irq_work instead, as printk
 * does, and a lazy one, as printk's klogd wake-up: it runs at the next
 * tick (at once on a CPU whose tick is stopped), so that followers wake
 * once a tick with every history done since, not once a history with a
 * self-IPI each.
 */
static void tcptrace_wake_followers(struct irq_work *work)
{
	wake_up_interruptible(&tcptrace_done_wait);
}

static struct irq_work tcptrace_wakeup_work = IRQ_WORK_INIT_LAZY(tcptrace_wake_followers);

/* Copy @h in as the newest done history. Any context. */
void tcptrace_ring_push(const struct tcptrace_history *h)
{
	struct tcptrace_history *slot;
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

/**
 * tcptrace_ring_copy - copy the done history at or after a position
 * @seq: in: the position wanted; out: the position after the one copied
 * @end: stop before this position
 * @out: where to copy it
 *
 * Returns 1 when a history was copied, 0 when none is left before @end,
 * and -EPIPE, copying nothing, when @seq was overwritten or cleared: @seq
 * then moves to the oldest history held, and the gap shows in seq=.
 */
int tcptrace_ring_copy(u64 *seq, u64 end, struct tcptrace_history *out)
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
u64 tcptrace_ring_tail(void)
{
	unsigned long flags;
	u64 tail;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	tail = tcptrace_ring.tail;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return tail;
}

/* The position the next done history will take. */
u64 tcptrace_ring_head(void)
{
	unsigned long flags;
	u64 head;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	head = tcptrace_ring.head;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	return head;
}

/* Forget all done histories; live ones are kept. */
void tcptrace_ring_clear(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	tcptrace_ring.tail = tcptrace_ring.head;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
}

void tcptrace_ring_stats(struct tcptrace_stats *stats)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tcptrace_ring.lock, flags);
	stats->done = tcptrace_ring.head - tcptrace_ring.tail;
	stats->ring_overwritten = tcptrace_ring.overwritten;
	stats->ring_size = tcptrace_ring.size;
	raw_spin_unlock_irqrestore(&tcptrace_ring.lock, flags);
	stats->mem_bytes += stats->ring_size * sizeof(struct tcptrace_history);
}

int tcptrace_ring_init(unsigned int size)
{
	tcptrace_ring.slots = kvcalloc(size, sizeof(*tcptrace_ring.slots), GFP_KERNEL);
	if (!tcptrace_ring.slots)
		return -ENOMEM;
	tcptrace_ring.size = size;
	return 0;
}

/* Only once nothing pushes any more. */
void tcptrace_ring_exit(void)
{
	irq_work_sync(&tcptrace_wakeup_work);
	kvfree(tcptrace_ring.slots);
}
