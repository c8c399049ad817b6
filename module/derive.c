// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the phases the tracepoint does not see, from kprobes.
 *
 * TIME_WAIT. An active closer's socket reports CLOSE when the stack hands
 * the connection over to a timewait socket, which lives on without any
 * tracepoint:
 *
 *   inet_twsk_hashdance[_schedule](tw, sk)   the hand-over, right before
 *                                            sk reports CLOSE
 *   __inet_twsk_schedule(tw, timeo, rearm)   the timer rearmed: FIN_WAIT2
 *                                            became TIME_WAIT
 *   tw_timer_handler(&tw->tw_timer)          TIME_WAIT ran out
 *   tcp_twsk_destructor(tw)                  the timewait socket is freed,
 *                                            expired or cut short (port
 *                                            reused, RST, netns exit)
 *
 * The end is taken from the destructor, which the stack calls through a
 * pointer and so can never be inlined: inet_twsk_deschedule_put(), for
 * one, is inlined into inet_twsk_purge() on 6.1.
 *
 * The half-open phase. A SYN creates a request socket in NEW_SYN_RECV; the
 * tracepoint first sees the server side when the final ACK creates the
 * child socket, one round trip later, and all in softirq, so never with
 * its owner:
 *
 *   inet_reqsk_alloc(ops, listener, attach) returns   a SYN arrived
 *   inet_csk_clone_lock(listener, req, prio) returns  the child exists
 *   tcp_v{4,6}_reqsk_destructor(req)                  the request is freed
 *   inet_csk_accept(listener, ...) returns            the owner takes it
 *
 * These functions are not ABI; a kernel may rename or inline them. Each
 * set is all or nothing: if a probe of it cannot be placed, none of the
 * set is kept, the module goes on without that phase, says so once in the
 * kernel log, and the header line shows timewait=0 or halfopen=0.
 */

#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <net/inet_timewait_sock.h>
#include <net/request_sock.h>
#include <net/sock.h>

#include "tcptrace.h"

static void *tcptrace_arg(struct pt_regs *regs, unsigned int n)
{
	return (void *)regs_get_kernel_argument(regs, n);
}

static int tcptrace_kp_hashdance(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_hist_timewait_begin(tcptrace_arg(regs, 1), tcptrace_arg(regs, 0));
	return 0;
}

static int tcptrace_kp_schedule(struct kprobe *kp, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = tcptrace_arg(regs, 0);

	tcptrace_hist_timewait_substate(tw, READ_ONCE(tw->tw_substate));
	return 0;
}

static int tcptrace_kp_tw_timer(struct kprobe *kp, struct pt_regs *regs)
{
	struct timer_list *timer = tcptrace_arg(regs, 0);

	tcptrace_hist_timewait_expired(container_of(timer, struct inet_timewait_sock,
						    tw_timer));
	return 0;
}

static int tcptrace_kp_tw_destructor(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_hist_timewait_end(tcptrace_arg(regs, 0));
	return 0;
}

/* Kretprobe entry handlers keep one argument for the return handler. */
static int tcptrace_krp_save_arg1(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(void **)ri->data = tcptrace_arg(regs, 1);
	return 0;
}

static int tcptrace_krp_reqsk_alloc(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct request_sock *req = (void *)regs_return_value(regs);
	const struct sock *listener = *(void **)ri->data;

	/* DCCP allocates its requests here too. */
	if (req && listener->sk_protocol == IPPROTO_TCP)
		tcptrace_hist_request_begin(req, listener);
	return 0;
}

static int tcptrace_krp_clone(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	void *child = (void *)regs_return_value(regs);

	if (child)
		tcptrace_hist_request_join(*(void **)ri->data, child);
	return 0;
}

static int tcptrace_kp_reqsk_destructor(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_hist_request_end(tcptrace_arg(regs, 0));
	return 0;
}

static int tcptrace_krp_accept(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	void *child = (void *)regs_return_value(regs);

	if (child)
		tcptrace_hist_accepted(child);
	return 0;
}

/*
 * One probe: a kprobe, or a kretprobe when @ret is set, on the first of
 * @symbols (the names its function has had, newest first) that exists.
 */
struct tcptrace_probe {
	const char *symbols[2];
	kprobe_pre_handler_t pre;
	kretprobe_handler_t entry;
	kretprobe_handler_t ret;
	struct kretprobe krp;	/* krp.kp is the kprobe of a plain kprobe */
};

struct tcptrace_probe_set {
	const char *phase;
	struct tcptrace_probe *probes;
	unsigned int nr;
	bool on;
};

static struct tcptrace_probe tcptrace_timewait_probes[] = {
	{ { "inet_twsk_hashdance_schedule", "inet_twsk_hashdance" }, tcptrace_kp_hashdance },
	{ { "__inet_twsk_schedule" }, tcptrace_kp_schedule },
	{ { "tw_timer_handler" }, tcptrace_kp_tw_timer },
	{ { "tcp_twsk_destructor" }, tcptrace_kp_tw_destructor },
};

static struct tcptrace_probe tcptrace_halfopen_probes[] = {
	{ { "inet_reqsk_alloc" }, NULL, tcptrace_krp_save_arg1, tcptrace_krp_reqsk_alloc },
	{ { "inet_csk_clone_lock" }, NULL, tcptrace_krp_save_arg1, tcptrace_krp_clone },
	{ { "tcp_v4_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#if IS_ENABLED(CONFIG_IPV6)
	{ { "tcp_v6_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#endif
	{ { "inet_csk_accept" }, NULL, NULL, tcptrace_krp_accept },
};

static struct tcptrace_probe_set tcptrace_sets[] = {
	{ "TIME_WAIT", tcptrace_timewait_probes, ARRAY_SIZE(tcptrace_timewait_probes) },
	{ "the half-open phase", tcptrace_halfopen_probes,
	  ARRAY_SIZE(tcptrace_halfopen_probes) },
};

bool tcptrace_derive_timewait(void)
{
	return tcptrace_sets[0].on;
}

bool tcptrace_derive_halfopen(void)
{
	return tcptrace_sets[1].on;
}

/* Hits the probes could not handle: a kretprobe out of instances, say. */
unsigned long tcptrace_derive_missed(void)
{
	unsigned long missed = 0;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(tcptrace_sets); i++) {
		if (!tcptrace_sets[i].on)
			continue;
		for (j = 0; j < tcptrace_sets[i].nr; j++) {
			const struct tcptrace_probe *p = &tcptrace_sets[i].probes[j];

			missed += READ_ONCE(p->krp.kp.nmissed);
			if (p->ret)
				missed += READ_ONCE(p->krp.nmissed);
		}
	}
	return missed;
}

static void tcptrace_probe_unregister(struct tcptrace_probe *p)
{
	if (p->ret)
		unregister_kretprobe(&p->krp);
	else
		unregister_kprobe(&p->krp.kp);
}

static int tcptrace_probe_register(struct tcptrace_probe *p)
{
	int err = -ENOENT;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(p->symbols) && p->symbols[i]; i++) {
		/* Registering wants a clean probe for each attempt. */
		memset(&p->krp, 0, sizeof(p->krp));
		p->krp.kp.symbol_name = p->symbols[i];
		if (p->ret) {
			p->krp.entry_handler = p->entry;
			p->krp.handler = p->ret;
			p->krp.data_size = p->entry ? sizeof(void *) : 0;
			err = register_kretprobe(&p->krp);
		} else {
			p->krp.kp.pre_handler = p->pre;
			err = register_kprobe(&p->krp.kp);
		}
		if (!err)
			return 0;
	}
	return err;
}

static void tcptrace_set_register(struct tcptrace_probe_set *set)
{
	unsigned int i;
	int err;

	for (i = 0; i < set->nr; i++) {
		err = tcptrace_probe_register(&set->probes[i]);
		if (err) {
			pr_warn("%s not followed: no probe on %s (%d); tracepoint only\n",
				set->phase, set->probes[i].symbols[0], err);
			while (i--)
				tcptrace_probe_unregister(&set->probes[i]);
			return;
		}
	}
	set->on = true;
}

/* A probe that cannot be placed degrades the module; it never fails it. */
void tcptrace_derive_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tcptrace_sets); i++)
		tcptrace_set_register(&tcptrace_sets[i]);
}

/* Returns once no handler runs any more. */
void tcptrace_derive_exit(void)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(tcptrace_sets); i++) {
		if (!tcptrace_sets[i].on)
			continue;
		for (j = 0; j < tcptrace_sets[i].nr; j++)
			tcptrace_probe_unregister(&tcptrace_sets[i].probes[j]);
		tcptrace_sets[i].on = false;
	}
}
