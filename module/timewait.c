// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the timewait socket that carries a connection after CLOSE.
 *
 * An active closer's socket reports CLOSE when the stack hands the
 * connection over to a timewait socket, which lives on without any
 * tracepoint. kprobes.c reports its life:
 *
 *   tcptrace_timewait_handover()  right before the full socket's CLOSE:
 *                                 that event then moves the history under
 *                                 the timewait socket (history.c)
 *   tcptrace_timewait_rearmed()   FIN_WAIT2 became TIME_WAIT
 *   tcptrace_timewait_expired()   its timer ran out
 *   tcptrace_timewait_freed()     it is freed: the history completes
 */

#include <linux/ktime.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

/**
 * tcptrace_timewait_handover - a timewait socket is taking over
 * @sk: the full socket, about to report CLOSE
 * @tw: the timewait socket, its substate set
 *
 * From a kprobe on inet_twsk_hashdance() (or _schedule()), which the stack
 * calls right before tcp_done(): the history stays under @sk until that
 * CLOSE event, which then moves it under @tw.
 */
void tcptrace_timewait_handover(const void *sk, const void *tw)
{
	const struct inet_timewait_sock *tws = tw;
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(sk);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, sk);
	if (h) {
		h->tw = tw;
		h->tw_substate = READ_ONCE(tws->tw_substate);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_timewait_rearmed - a timewait socket's timer was rearmed
 * @tw: the timewait socket
 * @substate: its substate now
 *
 * FIN_WAIT2 turns into TIME_WAIT silently when the FIN arrives, and the
 * stack rearms the timer for the full TIME_WAIT right after.
 */
void tcptrace_timewait_rearmed(const void *tw, int substate)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(tw);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, tw);
	if (h && tcptrace_last_state(h) == TCP_FIN_WAIT2 && substate == TCP_TIME_WAIT)
		tcptrace_add_step(h, TCP_FIN_WAIT2, TCP_TIME_WAIT, ktime_get_ns(),
				  TCPTRACE_STEPF_DERIVED);
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_timewait_expired - a timewait socket's timer ran out
 * @tw: the timewait socket, about to be unhashed and put
 */
void tcptrace_timewait_expired(const void *tw)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(tw);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, tw);
	if (h)
		h->flags |= TCPTRACE_HISTF_TW_EXPIRED;
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_timewait_freed - a timewait socket is freed: its history completes
 * @tw: the timewait socket
 *
 * Every timewait socket ends here, whatever ended it; unless its timer ran
 * out first, it was killed before its time (port reused, RST, namespace
 * gone).
 */
void tcptrace_timewait_freed(const void *tw)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(tw);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, tw);
	if (h) {
		tcptrace_bucket_del(b, h);
		tcptrace_add_step(h, tcptrace_last_state(h), TCP_CLOSE, ktime_get_ns(),
				  TCPTRACE_STEPF_DERIVED);
		/*
		 * Seeded in TIME_WAIT, the history never saw its socket
		 * close: a timewait socket is what an active close leaves.
		 */
		if (h->end == TCPTRACE_END_NONE)
			h->end = TCPTRACE_END_ACTIVE_CLOSE;
		tcptrace_complete(h);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}
