// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the server side of a connection before its child socket.
 *
 * A SYN makes a request socket in NEW_SYN_RECV, which the tracepoint never
 * sees; it first sees the server side when the final ACK clones the child
 * from the listener, one round trip later. kprobes.c reports the request's
 * life:
 *
 *   tcptrace_request_born()     a SYN made a request: its history starts,
 *                               keyed by the request socket
 *   tcptrace_request_cloned()   the child exists: the history goes on as
 *                               the child's, keyed by the child, with the
 *                               child's first event, held until then
 *                               (tcptrace_hold_child())
 *   tcptrace_request_freed()    freed without a child: the history completes
 *   tcptrace_child_accepted()   accept() returned the child: its owner
 */

#include <linux/ktime.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

/**
 * tcptrace_request_born - a SYN arrived: a request socket is born
 * @req: the request socket, fresh from inet_reqsk_alloc(); its cookie is
 *	 set here
 * @listener: its listener
 *
 * The request's addresses are not set yet: they come with the child, or at
 * the request's end.
 */
void tcptrace_request_born(struct request_sock *req, const struct sock *listener)
{
	struct tcptrace_history *h;
	unsigned long flags;

	local_irq_save(flags);
	h = tcptrace_slot_for(NULL, sock_net(listener)->ns.inum,
			      inet_sk(listener)->inet_sport, 0);
	local_irq_restore(flags);
	if (!h)
		return;
	tcptrace_history_start(h, listener);
	h->sport = inet_sk(listener)->inet_sport;
	/* The child inherits this cookie: one id for the whole connection. */
	h->cookie = tcptrace_cookie(req_to_sk(req));
	tcptrace_add_step(h, TCP_LISTEN, TCP_NEW_SYN_RECV, ktime_get_ns(),
			  TCPTRACE_STEPF_DERIVED);
	tcptrace_count(TCPTRACE_CNT_CREATED);
	tcptrace_table_rekey(h, req);
}

/*
 * A child's first event, held for its request. inet_csk_clone_lock()
 * reports the child's LISTEN>SYN_RECV and then calls
 * security_inet_csk_clone(child, req), bottom halves off throughout: on
 * one CPU, with no other event of this CPU in between. Held until that
 * hook, the event becomes the next step of the request's history, where
 * it would otherwise start a history of its own only to be merged into
 * the request's: a slot, its start and two lookups a connection.
 *
 * What is held is what starting the child's history needs, never the
 * child to read later: if the hook's probe missed (kprobe_missed), the
 * next event on this CPU starts that history from it, when the child may
 * be gone.
 */
struct tcptrace_held_child {
	const void *key;	/* the child; NULL: none held */
	struct tcptrace_origin origin;
	u64 ts;
	__be16 sport;
	u8 step_flags;		/* the context the event ran in */
};

static DEFINE_PER_CPU(struct tcptrace_held_child, tcptrace_held_child);

/*
 * Start the held child's history, as the event would have: its hook
 * missed. Interrupts off from the first look: this may run in a task with
 * bottom halves on, and a softirq on this CPU holds children of its own.
 */
static void tcptrace_release_child(struct tcptrace_held_child *held)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	local_irq_save(flags);
	if (!held->key)
		goto out_irq;
	b = tcptrace_bucket_of(held->key);
	raw_spin_lock(&b->lock);
	/* Its next events ran on another CPU, and started one already. */
	if (tcptrace_bucket_find(b, held->key))
		goto out;
	h = tcptrace_slot_for(b, held->origin.netns, held->sport, 0);
	if (!h)
		goto out;
	tcptrace_history_init(h, held->key, &held->origin);
	/* The step ran in the event's context, not necessarily in this one. */
	__tcptrace_add_step(h, TCP_LISTEN, TCP_SYN_RECV, held->ts, held->step_flags);
	tcptrace_bucket_add(b, h);
	tcptrace_count(TCPTRACE_CNT_CREATED);
out:
	raw_spin_unlock(&b->lock);
	held->key = NULL;
out_irq:
	local_irq_restore(flags);
}

/**
 * tcptrace_hold_child - hold a child's first event for its request
 * @sk: the socket of a state change
 * @oldstate: the state it leaves
 * @newstate: the state it enters
 * @now: the time of the change
 *
 * From every state change, first: a child held earlier on this CPU whose
 * hook never came starts its history now. Returns true when this change
 * is a child's first and is held (tcptrace_request_cloned() takes it).
 */
bool tcptrace_hold_child(const struct sock *sk, int oldstate, int newstate, u64 now)
{
	struct tcptrace_held_child *held = this_cpu_ptr(&tcptrace_held_child);

	if (unlikely(held->key))
		tcptrace_release_child(held);
	/* Only with bottom halves off is the hook sure to come next on this CPU. */
	if (oldstate != TCP_LISTEN || newstate != TCP_SYN_RECV || !in_softirq() ||
	    !tcptrace_kprobes_halfopen())
		return false;
	tcptrace_origin_of(&held->origin, sk);
	held->ts = now;
	held->sport = inet_sk(sk)->inet_sport;
	held->step_flags = in_serving_softirq() ? TCPTRACE_STEPF_SOFTIRQ : 0;
	held->key = sk;
	return true;
}

/**
 * tcptrace_request_cloned - the handshake completed: a child was cloned
 * @req: the request socket
 * @child: the child socket, whose first step the tracepoint just reported
 *
 * The request's history goes on as the child's. The child reported its
 * first step as LISTEN>SYN_RECV, the state of the listener it was cloned
 * from; after the request, the step it really took is NEW_SYN_RECV>SYN_RECV.
 * That event is usually held on this CPU (tcptrace_hold_child()); else it
 * started a history of the child's, merged here.
 */
void tcptrace_request_cloned(const void *req, const void *child)
{
	struct tcptrace_held_child *held = this_cpu_ptr(&tcptrace_held_child);
	struct tcptrace_history *h, *ch;
	unsigned int i;

	h = tcptrace_table_unlink(req);
	if (held->key == child) {
		if (!h) {
			/* No history of the request: the child's own, as ever. */
			tcptrace_release_child(held);
			return;
		}
		held->key = NULL;
		__tcptrace_add_step(h, TCP_NEW_SYN_RECV, TCP_SYN_RECV, held->ts,
				    held->step_flags);
		tcptrace_table_rekey(h, child);
		return;
	}
	if (!h)
		return;
	ch = tcptrace_table_unlink(child);
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
		this_cpu_dec(tcptrace_counters->count[TCPTRACE_CNT_CREATED]);
	}
	tcptrace_table_rekey(h, child);
}

/**
 * tcptrace_child_accepted - accept() returned a child
 * @child: the child socket
 *
 * In the acceptor's context: it owns the child, though every step so far
 * ran in softirq.
 */
void tcptrace_child_accepted(const void *child)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(child);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, child);
	if (h)
		tcptrace_set_owner(h);
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

static void tcptrace_request_addrs(struct tcptrace_history *h,
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
 * tcptrace_request_freed - a request socket is freed
 * @req: the request socket, still whole
 *
 * If it never produced a child, its history ends here: no ACK came, a RST
 * came, its listener closed, or it answered the SYN with a SYN cookie and
 * kept no state (a valid ACK then starts a new request and history).
 */
void tcptrace_request_freed(const struct request_sock *req)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(req);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, req);
	if (!h)
		goto out;
	tcptrace_bucket_del(b, h);
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
out:
	raw_spin_unlock_irqrestore(&b->lock, flags);
}
