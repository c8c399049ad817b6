// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: a history from the tracepoints' events.
 *
 *   sock:inet_sock_set_state  tcptrace_state_changed()  a step; at CLOSE,
 *                                                       the history completes
 *                                                       (or waits for its RST,
 *                                                       or for TIME_WAIT)
 *   tcp:tcp_send_reset        tcptrace_reset_sent()     how it was reset
 *   tcp:tcp_receive_reset     tcptrace_reset_received()
 *   module load (seed.c)      tcptrace_history_seed()   a socket older than
 *                                                       the module
 *
 * Also what request.c and timewait.c share with it: starting a history,
 * adding a step, naming its owner. Each handler takes one bucket lock at a
 * time (table.c); a history that completes is pushed to the ring before
 * its bucket is unlocked.
 */

#include <linux/cred.h>
#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/sock_diag.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

/*
 * The socket cookie, made if the socket has none yet. sock_gen_cookie()
 * stores a new cookie in the socket, once, with a cmpxchg: the same lazy
 * assignment inet_diag and BPF make. That is the one write behind the
 * cast; the exported wrapper takes a non-const socket. Any kind of socket:
 * the cookie is in sock_common.
 */
u64 tcptrace_cookie(const struct sock *sk)
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
static void tcptrace_read_addrs(struct tcptrace_history *h, const struct sock *sk,
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
static void tcptrace_update_ids(struct tcptrace_history *h, const struct sock *sk,
				int oldstate, int newstate)
{
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV)
		return;
	if (!h->cookie)
		h->cookie = tcptrace_cookie(sk);
	tcptrace_read_addrs(h, sk, inet_sk(sk)->inet_sport);
}

/* The origin of a full socket's history. */
void tcptrace_origin_of(struct tcptrace_origin *o, const struct sock *sk)
{
	o->net_cookie = tcptrace_net_cookie(sock_net(sk));
	o->netns = sock_net(sk)->ns.inum;
	o->uid = from_kuid_munged(&init_user_ns, sk->sk_uid);
	o->family = sk->sk_family;
}

/* A fresh history under @key, with no step yet. */
void tcptrace_history_init(struct tcptrace_history *h, const void *key,
			   const struct tcptrace_origin *o)
{
	memset(h, 0, sizeof(*h));
	h->key = key;
	h->family = o->family;
	h->netns = o->netns;
	h->net_cookie = o->net_cookie;
	h->uid = o->uid;
}

/* A fresh history of the full socket @sk, keyed by it, with no step yet. */
void tcptrace_history_start(struct tcptrace_history *h, const struct sock *sk)
{
	struct tcptrace_origin o;

	tcptrace_origin_of(&o, sk);
	tcptrace_history_init(h, sk, &o);
}

/*
 * The owner is the first task seen changing the socket's state: connect(),
 * listen(), close(). Softirq work runs on behalf of whichever task was
 * interrupted, so it never names the owner. get_task_comm() would take
 * task_lock(), a sleeping lock on PREEMPT_RT: copy comm as it is.
 */
void tcptrace_set_owner(struct tcptrace_history *h)
{
	if ((h->flags & TCPTRACE_HISTF_OWNER) || !in_task())
		return;
	h->pid = task_pid_nr(current);
	h->tgid = task_tgid_nr(current);
	memcpy(h->comm, current->comm, sizeof(h->comm));
	h->comm[sizeof(h->comm) - 1] = '\0';
	h->flags |= TCPTRACE_HISTF_OWNER;
}

/* A step with @flags as given: the caller says where it ran. */
void __tcptrace_add_step(struct tcptrace_history *h, int oldstate, int newstate,
			 u64 now, u8 flags)
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
	if (!tcptrace_transition_expected(h, oldstate, newstate)) {
		step->flags |= TCPTRACE_STEPF_UNEXPECTED;
		if (h->unexpected < U8_MAX)
			h->unexpected++;
		tcptrace_count(TCPTRACE_CNT_UNEXPECTED);
	}
	h->ts[h->nsteps++] = now;
}

/* A step that runs now, in this context. */
void tcptrace_add_step(struct tcptrace_history *h, int oldstate, int newstate,
		       u64 now, u8 flags)
{
	if (in_serving_softirq())
		flags |= TCPTRACE_STEPF_SOFTIRQ;
	__tcptrace_add_step(h, oldstate, newstate, now, flags);
}

/*
 * The last look at a closing socket. A task that moves a synchronized
 * connection straight to CLOSE is aborting it, and the stack sends a RST
 * right after this event (tcp_disconnect(), close() with unread data or
 * SO_LINGER {1, 0}). Where the reset tracepoint carries the kernel's reason
 * for it, the history waits in the table for that RST (RST_AWAITED:
 * tcptrace_reset_sent() completes it); elsewhere the abort is inferred
 * here. FIN_WAIT2 and CLOSING are left out, and so is any hand-over: from
 * those a task gives the socket to TIME_WAIT, no RST involved. A socket in
 * repair mode (checkpoint/restore) is closed without a RST.
 *
 * Returns true when the history completes now, false when it awaits its
 * RST.
 */
static bool tcptrace_read_close(struct tcptrace_history *h, const struct sock *sk,
				int oldstate)
{
	const u16 aborts = TCPF_SYN_RECV | TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
			   TCPF_CLOSE_WAIT;
	const struct tcp_sock *tp = tcp_sk(sk);
	bool complete = true;

	/* tp->repair is a bit field, read under the closing task's socket lock. */
	if (in_task() && (aborts & BIT(oldstate)) && !tp->repair &&
	    !(h->flags & (TCPTRACE_HISTF_RST_RECEIVED | TCPTRACE_HISTF_TIMEWAIT))) {
		if (sock_flag(sk, SOCK_LINGER) && !READ_ONCE(sk->sk_lingertime))
			h->flags |= TCPTRACE_HISTF_LINGER_ABORT;
		else
			h->flags |= TCPTRACE_HISTF_RST_SENT;
		if (TCPTRACE_RST_REASONS && !h->rst_reason) {
			h->flags |= TCPTRACE_HISTF_RST_AWAITED;
			complete = false;
		}
	}
	h->end = tcptrace_end_reason(h, oldstate, READ_ONCE(sk->sk_err));
	h->bytes_acked = READ_ONCE(tp->bytes_acked);
	h->bytes_received = READ_ONCE(tp->bytes_received);
	h->retrans = READ_ONCE(tp->total_retrans);
	h->srtt_us = READ_ONCE(tp->srtt_us) >> 3;
	return complete;
}

/*
 * The handshake ended (established, or closed before): what the socket
 * retransmitted until now was its SYN or SYN-ACK (and a Fast Open
 * server's data sent with it). A child's count starts at its request's
 * SYN-ACK retransmissions (tcp_create_openreq_child()).
 */
static void tcptrace_note_syn_retrans(struct tcptrace_history *h,
				      const struct sock *sk, int oldstate,
				      int newstate)
{
	if ((oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV) &&
	    (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE))
		h->syn_retrans = min_t(u32, READ_ONCE(tcp_sk(sk)->total_retrans),
				       U8_MAX);
}

/**
 * tcptrace_state_changed - record one state change of a TCP socket
 * @sk: the socket; used as a lookup key and read, never kept
 * @oldstate: the state it leaves
 * @newstate: the state it enters
 *
 * Called from the tracepoint probe in any context with preemption
 * disabled. Never sleeps, never allocates.
 */
void tcptrace_state_changed(const struct sock *sk, int oldstate, int newstate)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	const void *tw = NULL;
	u64 now = ktime_get_ns();
	unsigned long flags;

	tcptrace_count(TCPTRACE_CNT_EVENTS);
	if (tcptrace_hold_child(sk, oldstate, newstate, now))
		return;

	b = tcptrace_bucket_of(sk);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, sk);
	/*
	 * Leaving CLOSE starts a new life. A history still open for the same
	 * address missed its CLOSE (the socket was freed, or set to CLOSE
	 * without the tracepoint): end it as it is, visibly short of CLOSE.
	 */
	if (h && oldstate == TCP_CLOSE) {
		tcptrace_bucket_del(b, h);
		tcptrace_cut_short(h, TCPTRACE_END_LOST);
		tcptrace_complete(h);
		h = NULL;
	}
	if (!h) {
		h = tcptrace_slot_for(b, sock_net(sk)->ns.inum,
				      inet_sk(sk)->inet_sport, sk->sk_dport);
		if (!h) {
			raw_spin_unlock_irqrestore(&b->lock, flags);
			return;
		}
		tcptrace_history_start(h, sk);
		tcptrace_bucket_add(b, h);
		tcptrace_count(TCPTRACE_CNT_CREATED);
	}
	tcptrace_update_ids(h, sk, oldstate, newstate);
	tcptrace_set_owner(h);
	if (newstate == TCP_CLOSE && h->tw) {
		/*
		 * Not the end: a timewait socket carries on in its substate
		 * (tcptrace_timewait_handover() saw the hand-over).
		 */
		tw = h->tw;
		h->tw = NULL;
		tcptrace_add_step(h, oldstate, h->tw_substate, now,
				  TCPTRACE_STEPF_TIMEWAIT);
		h->flags |= TCPTRACE_HISTF_TIMEWAIT;
		tcptrace_read_close(h, sk, oldstate);
		tcptrace_bucket_del(b, h);
	} else {
		tcptrace_add_step(h, oldstate, newstate, now, 0);
		tcptrace_note_syn_retrans(h, sk, oldstate, newstate);
		if (newstate == TCP_CLOSE && tcptrace_read_close(h, sk, oldstate)) {
			tcptrace_bucket_del(b, h);
			tcptrace_complete(h);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);

	/* Outside the socket's bucket: two bucket locks are never held. */
	if (tw)
		tcptrace_table_rekey(h, tw);
}

/**
 * tcptrace_reset_sent - the stack sent a RST for a socket
 * @key: the socket, as the tracepoint gave it; any kind of socket, never
 *	 dereferenced
 * @reason: the kernel's enum sk_rst_reason, or -1 where it gives none
 *
 * A history that closed awaiting this RST (tcptrace_read_close())
 * completes now.
 */
void tcptrace_reset_sent(const void *key, int reason)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(key);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, key);
	/* A listener's RST answers a segment of no connection of its own. */
	if (h && tcptrace_last_state(h) != TCP_LISTEN) {
		if (!(h->flags & TCPTRACE_HISTF_LINGER_ABORT))
			h->flags |= TCPTRACE_HISTF_RST_SENT;
		if (reason >= 0 && !h->rst_reason)
			h->rst_reason = min(reason + 1, U8_MAX);
		if (h->flags & TCPTRACE_HISTF_RST_AWAITED) {
			h->flags &= ~TCPTRACE_HISTF_RST_AWAITED;
			tcptrace_bucket_del(b, h);
			tcptrace_complete(h);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_reset_received - a RST arrived for a socket
 * @key: the socket, as the tracepoint gave it; any kind of socket, never
 *	 dereferenced
 */
void tcptrace_reset_received(const void *key)
{
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(key);
	raw_spin_lock_irqsave(&b->lock, flags);
	h = tcptrace_bucket_find(b, key);
	if (h)
		h->flags |= TCPTRACE_HISTF_RST_RECEIVED;
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * tcptrace_history_seed - start the history of a socket that existed at load
 * @sk: a full, timewait or request socket: only its sock_common is read
 * @state: its state, the substate for a timewait socket
 * @sport: its local port
 * @uid: its uid, 0 when it has none
 *
 * The history starts in @state at the time of the load, with a step that
 * stands for it: it is not shown, but counts as visited and as the state
 * the next step must leave.
 */
void tcptrace_history_seed(const struct sock *sk, int state, __be16 sport, u32 uid)
{
	struct tcptrace_origin o = {
		.net_cookie = tcptrace_net_cookie(sock_net(sk)),
		.netns = sock_net(sk)->ns.inum,
		.uid = uid,
		.family = sk->sk_family,
	};
	struct tcptrace_history *h;
	struct tcptrace_bucket *b;
	unsigned long flags;

	b = tcptrace_bucket_of(sk);
	raw_spin_lock_irqsave(&b->lock, flags);
	if (tcptrace_bucket_find(b, sk)) {
		raw_spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	h = tcptrace_slot_for(b, o.netns, sport, sk->sk_dport);
	if (!h) {
		raw_spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	tcptrace_history_init(h, sk, &o);
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
	tcptrace_bucket_add(b, h);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	tcptrace_count(TCPTRACE_CNT_CREATED);
}
