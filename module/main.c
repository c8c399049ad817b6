// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: per-socket TCP state histories in /dev/tcptrace.
 *
 * The module attaches a probe to three tracepoints: sock:inet_sock_set_state
 * for every state change, tcp:tcp_send_reset and tcp:tcp_receive_reset for
 * how a connection was reset. Kprobes add what they do not report
 * (kprobes.c), and sockets older than the module are seeded (seed.c).
 */

#include <linux/errno.h>
#include <linux/in.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <net/sock.h>
#include <trace/events/sock.h>
#include <trace/events/tcp.h>

#include "tcptrace.h"

/* Wide enough for a busy test VM; each slot costs one history's memory. */
#define TCPTRACE_BOUND_MAX	BIT(22)

/*
 * Malformed and out-of-range bounds fail insmod with -EINVAL, numbers too
 * large for an unsigned int too (kstrtouint() says -ERANGE); the kernel
 * logs "`0' invalid for parameter `max_live'".
 */
static int tcptrace_param_set_bound(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, TCPTRACE_BOUND_MAX) ? -EINVAL : 0;
}

static const struct kernel_param_ops tcptrace_bound_ops = {
	.set = tcptrace_param_set_bound,
	.get = param_get_uint,
};

/*
 * How many sockets may be open and traced at once. A table bound, not a
 * guess at the workload: sockets beyond it are counted as drop_table_full.
 */
static unsigned int max_live = 16384;
module_param_cb(max_live, &tcptrace_bound_ops, &max_live, 0444);
MODULE_PARM_DESC(max_live, "live histories the table holds (1-4194304, default 16384)");

/*
 * How many done histories stay readable. The ring overwrites the oldest
 * when full, counted as ring_overwritten.
 */
static unsigned int ring_size = 8192;
module_param_cb(ring_size, &tcptrace_bound_ops, &ring_size, 0444);
MODULE_PARM_DESC(ring_size, "done histories the ring keeps (1-4194304, default 8192)");

/*
 * The tracepoint alone misses TIME_WAIT and the half-open phase; kprobes
 * on the stack's functions follow them (kprobes.c). Off, the module uses
 * stable interfaces only.
 */
static bool kprobes = true;
module_param(kprobes, bool, 0444);
MODULE_PARM_DESC(kprobes, "follow TIME_WAIT and the half-open phase with kprobes (default 1)");

static void tcptrace_probe_set_state(void *data, const struct sock *sk,
				     const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	tcptrace_state_changed(sk, oldstate, newstate);
}

/*
 * The reset tracepoints may pass a timewait or request socket: such an
 * @sk is only a lookup key here, never dereferenced.
 */
static void tcptrace_probe_send_reset(void *data, TCPTRACE_SEND_RESET_PROTO)
{
	if (sk)
		tcptrace_reset_sent(sk, TCPTRACE_SEND_RESET_REASON);
}

static void tcptrace_probe_receive_reset(void *data, struct sock *sk)
{
	tcptrace_reset_received(sk);
}

/*
 * A full table makes room by ending an older live history (end=evicted),
 * so that new activity is never missed; 0 leaves new sockets out instead,
 * which keeps long-lived connections whole.
 */
static bool evict = true;
module_param(evict, bool, 0444);
MODULE_PARM_DESC(evict, "when the table is full, evict an older live history (default 1)");

/*
 * None of these tracepoints is exported to modules: they are found by name
 * with for_each_kernel_tracepoint().
 */
static struct tcptrace_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
} tcptrace_tps[] = {
	{ "inet_sock_set_state", tcptrace_probe_set_state },
	{ "tcp_send_reset", tcptrace_probe_send_reset },
	{ "tcp_receive_reset", tcptrace_probe_receive_reset },
};

static void tcptrace_find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tcptrace_tps); i++)
		if (!strcmp(tp->name, tcptrace_tps[i].name))
			tcptrace_tps[i].tp = tp;
}

static void tcptrace_detach(unsigned int n)
{
	while (n--)
		tracepoint_probe_unregister(tcptrace_tps[n].tp, tcptrace_tps[n].probe, NULL);
	/* No probe may still be running when the tables go away. */
	tracepoint_synchronize_unregister();
}

static int tcptrace_attach(void)
{
	unsigned int i;
	int err;

	for_each_kernel_tracepoint(tcptrace_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(tcptrace_tps); i++) {
		if (!tcptrace_tps[i].tp) {
			pr_err("tracepoint %s not found\n", tcptrace_tps[i].name);
			err = -ENOENT;
			goto err_detach;
		}
		err = tracepoint_probe_register(tcptrace_tps[i].tp,
						tcptrace_tps[i].probe, NULL);
		if (err)
			goto err_detach;
	}
	return 0;

err_detach:
	tcptrace_detach(i);
	return err;
}

static int __init tcptrace_init(void)
{
	int err;

	/* Fail the build if a probe drifts from its tracepoint's prototype. */
	check_trace_callback_type_inet_sock_set_state(tcptrace_probe_set_state);
	check_trace_callback_type_tcp_send_reset(tcptrace_probe_send_reset);
	check_trace_callback_type_tcp_receive_reset(tcptrace_probe_receive_reset);

	/* First: the probes read what it sets up (a namespace's number). */
	err = tcptrace_compat_init();
	if (err)
		return err;

	err = tcptrace_stats_init();
	if (err)
		goto err_compat_exit;

	err = tcptrace_table_init(max_live, evict);
	if (err)
		goto err_stats_exit;

	err = tcptrace_ring_init(ring_size);
	if (err)
		goto err_table_exit;

	err = tcptrace_attach();
	if (err)
		goto err_ring_exit;

	if (kprobes)
		tcptrace_kprobes_init();

	/* After the probes: a socket is either seeded or seen by its events. */
	tcptrace_seed();

	/* Last: once the device exists, readers may come. */
	err = tcptrace_dev_init();
	if (err)
		goto err_kprobes_exit;

	pr_info("tracing TCP state changes: max_live=%u ring_size=%u timewait=%d halfopen=%d\n",
		max_live, ring_size, tcptrace_kprobes_timewait(), tcptrace_kprobes_halfopen());
	return 0;

err_kprobes_exit:
	tcptrace_kprobes_exit();
	tcptrace_detach(ARRAY_SIZE(tcptrace_tps));
err_ring_exit:
	tcptrace_ring_exit();
err_table_exit:
	tcptrace_table_exit();
err_stats_exit:
	tcptrace_stats_exit();
err_compat_exit:
	tcptrace_compat_exit();
	return err;
}

static void __exit tcptrace_exit(void)
{
	tcptrace_dev_exit();
	tcptrace_kprobes_exit();
	tcptrace_detach(ARRAY_SIZE(tcptrace_tps));
	tcptrace_ring_exit();
	tcptrace_table_exit();
	tcptrace_stats_exit();
	tcptrace_compat_exit();
}

module_init(tcptrace_init);
module_exit(tcptrace_exit);

MODULE_DESCRIPTION("Per-socket TCP state histories in /dev/tcptrace");
MODULE_AUTHOR("The tcptrace developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(TCPTRACE_VERSION);
