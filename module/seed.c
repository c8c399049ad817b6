// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: histories for the TCP sockets that exist when the module loads.
 *
 * Loaded in the middle of a test, the module would otherwise see those
 * sockets only from their next transition on. Right after the probes are
 * attached, every TCP hash table is walked: listeners, then established,
 * timewait and request sockets. Each gets a history that starts in its
 * current state, at the time of the load, marked seen_at_load. A socket
 * whose own event got there first keeps the history that event started.
 * Timewait and request sockets are seeded only when the kprobes that see
 * them end are attached.
 *
 * Network namespaces share the global table unless they were given their
 * own (net.ipv4.tcp_child_ehash_entries): each table is walked once.
 */

#include <linux/rwsem.h>
#include <linux/sched.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

/*
 * The table's bound applies here too: a socket it has no room for is
 * counted in drop_table_full, as any other (tcptrace_history_seed()).
 */
static void tcptrace_seed_sock(const struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);
	__be16 sport = htons(sk->sk_num);	/* a request socket's ir_num */
	u32 uid = 0;

	/*
	 * Only the kprobes see timewait and request sockets end: without
	 * them, such a history would stay live after its socket is gone.
	 */
	if ((state == TCP_TIME_WAIT && !tcptrace_kprobes_timewait()) ||
	    (state == TCP_NEW_SYN_RECV && !tcptrace_kprobes_halfopen()))
		return;

	/* Buckets hold timewait and request sockets too, each with its own fields. */
	if (state == TCP_TIME_WAIT) {
		state = READ_ONCE(inet_twsk(sk)->tw_substate);
		sport = inet_twsk(sk)->tw_sport;
	} else if (sk_fullsock(sk)) {
		sport = inet_sk(sk)->inet_sport;
		uid = from_kuid_munged(&init_user_ns, sk->sk_uid);
	}
	tcptrace_history_seed(sk, state, sport, uid);
}

static void tcptrace_seed_table(struct inet_hashinfo *hinfo)
{
	struct hlist_nulls_node *node;
	struct sock *sk;
	unsigned int i;

	for (i = 0; i <= hinfo->lhash2_mask; i++)
		tcptrace_lhash2_for_each(&hinfo->lhash2[i], tcptrace_seed_sock);

	for (i = 0; i <= hinfo->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &hinfo->ehash[i];

		if (hlist_nulls_empty(&head->chain))
			continue;
		spin_lock_bh(inet_ehash_lockp(hinfo, i));
		sk_nulls_for_each(sk, node, &head->chain)
			tcptrace_seed_sock(sk);
		spin_unlock_bh(inet_ehash_lockp(hinfo, i));
		cond_resched();
	}
}

/* Call once the probes are attached, so that nothing falls in between. */
void tcptrace_seed(void)
{
	struct inet_hashinfo *global = init_net.ipv4.tcp_death_row.hashinfo;
	struct net *net;

	tcptrace_seed_table(global);

	down_read(&net_rwsem);
	for_each_net(net) {
		if (net->ipv4.tcp_death_row.hashinfo != global)
			tcptrace_seed_table(net->ipv4.tcp_death_row.hashinfo);
	}
	up_read(&net_rwsem);
}
