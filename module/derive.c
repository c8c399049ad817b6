// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the phases the tracepoint does not see, from kprobes.
 *
 * An active closer's socket reports CLOSE when the stack hands the
 * connection over to a timewait socket, which then lives on for TIME_WAIT
 * (or FIN_WAIT2) without any tracepoint. Kprobes on the stack's own
 * functions follow it:
 *
 *   inet_twsk_hashdance[_schedule](tw, sk)   the hand-over, right before
 *                                            sk reports CLOSE
 *   __inet_twsk_schedule(tw, timeo, rearm)   the timer rearmed: FIN_WAIT2
 *                                            became TIME_WAIT
 *   tw_timer_handler(&tw->tw_timer)          TIME_WAIT expired
 *   inet_twsk_deschedule_put(tw)             TIME_WAIT cut short (port
 *                                            reused, RST, netns exit)
 *
 * The functions are not ABI; a kernel may rename or inline them. The set is
 * all or nothing: if any probe fails to register, none is kept, the module
 * goes on with the tracepoint alone, says so once in the kernel log, and
 * the header line shows timewait=0.
 */

#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <net/inet_timewait_sock.h>

#include "tcptrace.h"

static int tcptrace_kp_hashdance(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_hist_timewait_begin((void *)regs_get_kernel_argument(regs, 1),
				     (void *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static int tcptrace_kp_schedule(struct kprobe *kp, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);

	tcptrace_hist_timewait_substate(tw, READ_ONCE(tw->tw_substate));
	return 0;
}

static int tcptrace_kp_timer(struct kprobe *kp, struct pt_regs *regs)
{
	struct timer_list *timer = (void *)regs_get_kernel_argument(regs, 0);

	tcptrace_hist_timewait_end(container_of(timer, struct inet_timewait_sock, tw_timer),
				   false);
	return 0;
}

static int tcptrace_kp_deschedule(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_hist_timewait_end((void *)regs_get_kernel_argument(regs, 0), true);
	return 0;
}

/* Each probe with the names its function has had, newest first. */
static struct tcptrace_probe {
	const char *symbols[2];
	kprobe_pre_handler_t handler;
	struct kprobe kp;
} tcptrace_timewait_probes[] = {
	{ { "inet_twsk_hashdance_schedule", "inet_twsk_hashdance" }, tcptrace_kp_hashdance },
	{ { "__inet_twsk_schedule" }, tcptrace_kp_schedule },
	{ { "tw_timer_handler" }, tcptrace_kp_timer },
	{ { "inet_twsk_deschedule_put" }, tcptrace_kp_deschedule },
};

static bool tcptrace_timewait_on;

/* Whether TIME_WAIT is followed; false when loaded with kprobes=0 too. */
bool tcptrace_derive_timewait(void)
{
	return tcptrace_timewait_on;
}

static int tcptrace_probe_register(struct tcptrace_probe *p)
{
	int err = -ENOENT;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(p->symbols) && p->symbols[i]; i++) {
		/* register_kprobe() wants a clean kprobe for each attempt. */
		p->kp = (struct kprobe){
			.symbol_name = p->symbols[i],
			.pre_handler = p->handler,
		};
		err = register_kprobe(&p->kp);
		if (!err)
			return 0;
	}
	pr_warn("TIME_WAIT not followed: no kprobe on %s (%d); tracepoint only\n",
		p->symbols[0], err);
	return err;
}

/* A probe that cannot be placed degrades the module; it never fails it. */
void tcptrace_derive_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tcptrace_timewait_probes); i++) {
		if (tcptrace_probe_register(&tcptrace_timewait_probes[i])) {
			while (i--)
				unregister_kprobe(&tcptrace_timewait_probes[i].kp);
			return;
		}
	}
	tcptrace_timewait_on = true;
}

/* Returns once no handler runs any more. */
void tcptrace_derive_exit(void)
{
	unsigned int i;

	if (!tcptrace_timewait_on)
		return;
	for (i = 0; i < ARRAY_SIZE(tcptrace_timewait_probes); i++)
		unregister_kprobe(&tcptrace_timewait_probes[i].kp);
	tcptrace_timewait_on = false;
}
