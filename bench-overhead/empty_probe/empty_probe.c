// SPDX-License-Identifier: GPL-2.0
/*
 * empty_probe: the cheapest probe there can be on sock:inet_sock_set_state.
 *
 * A benchmark baseline for scripts/bench-overhead, never installed: what
 * any module pays just to be called from the tracepoint, before it does
 * any work. It attaches the way tcptrace does (the tracepoint is not
 * exported, so it is found by name) and its probe returns at once.
 */

#include <linux/errno.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sock.h>

static struct tracepoint *empty_probe_tp;

static void empty_probe_set_state(void *data, const struct sock *sk,
				  const int oldstate, const int newstate)
{
}

static void empty_probe_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		empty_probe_tp = tp;
}

static int __init empty_probe_init(void)
{
	/* Fail the build if the probe drifts from the tracepoint's prototype. */
	check_trace_callback_type_inet_sock_set_state(empty_probe_set_state);

	for_each_kernel_tracepoint(empty_probe_find_tp, NULL);
	if (!empty_probe_tp) {
		pr_err("tracepoint inet_sock_set_state not found\n");
		return -ENOENT;
	}
	return tracepoint_probe_register(empty_probe_tp, empty_probe_set_state, NULL);
}

static void __exit empty_probe_exit(void)
{
	tracepoint_probe_unregister(empty_probe_tp, empty_probe_set_state, NULL);
	/* No probe may still be running when the module's text goes away. */
	tracepoint_synchronize_unregister();
}

module_init(empty_probe_init);
module_exit(empty_probe_exit);

MODULE_DESCRIPTION("An empty probe on sock:inet_sock_set_state, a benchmark baseline");
MODULE_AUTHOR("The tcptrace developers");
MODULE_LICENSE("GPL");
