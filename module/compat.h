/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace: every difference between the kernels it builds for, in one
 * place, so that the rest is written against the newest API.
 */
#ifndef _TCPTRACE_COMPAT_H
#define _TCPTRACE_COMPAT_H

/*
 * Test for features, not versions: distributions backport. module/Kbuild
 * defines TCPTRACE_HAVE_* from the kernel tree's headers.
 */

#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

/*
 * 6.10 gave the tcp_send_reset tracepoint the reason for the reset: the
 * probe's TCPTRACE_SEND_RESET_REASON, -1 where the kernel gives none.
 * tcptrace_rst_reason_name() names a reason as the kernel does.
 */
#ifdef TCPTRACE_HAVE_RST_REASON
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb, const enum sk_rst_reason reason
#define TCPTRACE_SEND_RESET_REASON	((int)reason)
#define TCPTRACE_RST_REASONS		true
const char *tcptrace_rst_reason_name(unsigned int reason);
#else
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb
#define TCPTRACE_SEND_RESET_REASON	(-1)
#define TCPTRACE_RST_REASONS		false
static inline const char *tcptrace_rst_reason_name(unsigned int reason)
{
	return NULL;
}
#endif

/*
 * A network namespace's cookie, which unlike its inode number is never
 * reused. Before 5.12 it was an atomic64_t that the unexported
 * net_gen_cookie() set on first use only, so most namespaces had 0: there,
 * the module gives each namespace a number of its own (pernet operations,
 * compat.c), unique as long as the module, and so any history, lives.
 */
#ifdef TCPTRACE_HAVE_NET_COOKIE_ATOMIC
extern unsigned int tcptrace_net_id;

static inline u64 tcptrace_net_cookie(const struct net *net)
{
	const u64 *id = net_generic(net, tcptrace_net_id);

	/* NULL only while the namespace is set up or torn down. */
	return id ? *id : 0;
}

int tcptrace_compat_init(void);
void tcptrace_compat_exit(void);
#else
static inline u64 tcptrace_net_cookie(const struct net *net)
{
	return net->net_cookie;
}

static inline int tcptrace_compat_init(void)
{
	return 0;
}

static inline void tcptrace_compat_exit(void)
{
}
#endif

/*
 * Call @fn on every listener of one lhash2 bucket, under the bucket's lock.
 * Before "inet: Retire port only listening_hash" (5.19, and 5.15.140)
 * lhash2 chained listeners on a plain hlist through
 * icsk_listen_portaddr_node; since then on a nulls list through
 * sk_nulls_node. Taking one for the other reads a NULL list end as a node.
 */
static inline void tcptrace_lhash2_for_each(struct inet_listen_hashbucket *ilb,
					    void (*fn)(const struct sock *sk))
{
#ifdef TCPTRACE_HAVE_LHASH2_PORTADDR
	struct inet_connection_sock *icsk;

	if (hlist_empty(&ilb->head))
		return;
	spin_lock_bh(&ilb->lock);
	hlist_for_each_entry(icsk, &ilb->head, icsk_listen_portaddr_node)
		fn(&icsk->icsk_inet.sk);
	spin_unlock_bh(&ilb->lock);
#else
	struct hlist_nulls_node *node;
	struct sock *sk;

	if (hlist_nulls_empty(&ilb->nulls_head))
		return;
	spin_lock_bh(&ilb->lock);
	sk_nulls_for_each(sk, node, &ilb->nulls_head)
		fn(sk);
	spin_unlock_bh(&ilb->lock);
#endif
}

/*
 * The initializer of an irq_work that waits for the next tick (no
 * self-IPI): 6.1 has it, 5.10 only the flag.
 */
#ifndef TCPTRACE_HAVE_IRQ_WORK_INIT_LAZY
#include <linux/irq_work.h>
#define IRQ_WORK_INIT_LAZY(_func) { .flags = ATOMIC_INIT(IRQ_WORK_LAZY), .func = (_func) }
#endif

#endif /* _TCPTRACE_COMPAT_H */
