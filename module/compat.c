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

#ifdef TCPTRACE_HAVE_RST_REASON
#include <linux/kernel.h>
#include <net/rstreason.h>

/*
 * The kernel's own names, from its own list, paired with their values as
 * its tracepoints print them (__print_symbolic()).
 */
#define TCPTRACE_RST_REASON_NAME(reason) { SK_RST_REASON_##reason, #reason },
static const struct {
	unsigned int reason;
	const char *name;
} tcptrace_rst_reason_names[] = {
	DEFINE_RST_REASON(TCPTRACE_RST_REASON_NAME, TCPTRACE_RST_REASON_NAME)
};

#undef TCPTRACE_RST_REASON_NAME

/* NULL for a reason this kernel does not name. */
const char *tcptrace_rst_reason_name(unsigned int reason)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tcptrace_rst_reason_names); i++)
		if (tcptrace_rst_reason_names[i].reason == reason)
			return tcptrace_rst_reason_names[i].name;
	return NULL;
}
#endif
