// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: what compat.h cannot do inline. Empty on the kernels that
 * need none of it.
 */

#ifdef TCPTRACE_HAVE_NET_COOKIE_ATOMIC
#include <linux/atomic.h>
#include <linux/module.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

unsigned int tcptrace_net_id;
static atomic64_t tcptrace_net_last = ATOMIC64_INIT(0);

/* Runs for every namespace that exists at registration and every new one. */
static int __net_init tcptrace_net_init(struct net *net)
{
	u64 *id = net_generic(net, tcptrace_net_id);

	*id = atomic64_inc_return(&tcptrace_net_last);
	return 0;
}

static struct pernet_operations tcptrace_net_ops = {
	.init = tcptrace_net_init,
	.id = &tcptrace_net_id,
	.size = sizeof(u64),
};

int tcptrace_compat_init(void)
{
	return register_pernet_subsys(&tcptrace_net_ops);
}

void tcptrace_compat_exit(void)
{
	unregister_pernet_subsys(&tcptrace_net_ops);
}
#endif
