// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the kprobes, for the phases the tracepoint does not see.
 *
 * They only report what they see: timewait.c and request.c make it part
 * of the histories.
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
 * The end is taken from the destructor, which every way of freeing a
 * timewait socket reaches, where the functions on the way may be inlined
 * (inet_twsk_deschedule_put() is, into inet_twsk_purge(), on 6.1). Up to
 * 6.x the stack calls it through a pointer, so it cannot be inlined; 7.x
 * calls it directly, and a kernel that inlined it would turn the whole
 * TIME_WAIT set off (timewait=0), as below.
 *
 * The half-open phase. A SYN creates a request socket in NEW_SYN_RECV; the
 * tracepoint first sees the server side when the final ACK creates the
 * child socket, one round trip later, and all in softirq, so never with
 * its owner. The LSM hooks receive each object the phase needs as an
 * argument, so entry probes on them see it all (CONFIG_SECURITY_NETWORK,
 * which every distribution kernel has):
 *
 *   security_inet_conn_request(listener, skb, req)  a SYN made a request
 *                                                    (syncookies too)
 *   security_inet_csk_clone(child, req)              the child exists
 *   tcp_v{4,6}_reqsk_destructor(req)                 the request is freed
 *   security_sock_graft(child, socket)               accept() hands it to
 *                                                    the owner's task
 *
 * Without them, the same from kretprobes, on the functions that return
 * those objects: inet_reqsk_alloc(), inet_csk_clone_lock() and
 * inet_csk_accept(). A kretprobe costs more, and holds one of its few
 * instances for as long as its function runs: a thread sleeping in
 * accept() keeps one, so a thread-per-connection server runs them out
 * and hand-overs go missing (kprobe_missed). The header's kretprobes=
 * says how many are in use.
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
	tcptrace_timewait_handover(tcptrace_arg(regs, 1), tcptrace_arg(regs, 0));
	return 0;
}

static int tcptrace_kp_schedule(struct kprobe *kp, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = tcptrace_arg(regs, 0);

	/*
	 * The first arming, at the hand-over, comes before the CLOSE event
	 * that moves the history under @tw: nothing to look up. The bool is
	 * in the register's low byte only.
	 */
	if (!(u8)regs_get_kernel_argument(regs, 2))
		return 0;
	tcptrace_timewait_rearmed(tw, READ_ONCE(tw->tw_substate));
	return 0;
}

static int tcptrace_kp_tw_timer(struct kprobe *kp, struct pt_regs *regs)
{
	struct timer_list *timer = tcptrace_arg(regs, 0);

	tcptrace_timewait_expired(container_of(timer, struct inet_timewait_sock,
					       tw_timer));
	return 0;
}

static int tcptrace_kp_tw_destructor(struct kprobe *kp, struct pt_regs *regs)
{
	tcptrace_timewait_freed(tcptrace_arg(regs, 0));
	return 0;
}

/* The LSM hooks: every object is an argument on entry. */
static int tcptrace_kp_conn_request(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sock *listener = tcptrace_arg(regs, 0);

	/* DCCP makes its requests through this hook too. */
	if (listener->sk_protocol == IPPROTO_TCP)
		tcptrace_request_born(tcptrace_arg(regs, 2), listener);
	return 0;
}

static int tcptrace_kp_csk_clone(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sock *child = tcptrace_arg(regs, 0);

	/* DCCP's children, and MPTCP's sockets, are cloned through it too. */
	if (child->sk_protocol == IPPROTO_TCP)
		tcptrace_request_cloned(tcptrace_arg(regs, 1), child);
	return 0;
}

static int tcptrace_kp_sock_graft(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sock *child = tcptrace_arg(regs, 0);

	if (child->sk_protocol == IPPROTO_TCP)
		tcptrace_child_accepted(child);
	return 0;
}

static int tcptrace_kp_reqsk_destructor(struct kprobe *kp, struct pt_regs *regs)
{
	const struct request_sock *req = tcptrace_arg(regs, 0);

	/*
	 * A request that was queued for accept() with its child: its history
	 * went on as the child's at the clone, so there is nothing to look up.
	 */
	if (!req->sk)
		tcptrace_request_freed(req);
	return 0;
}

/* The kretprobes' entry handlers keep one argument for the return handler. */
static int tcptrace_krp_save_arg1(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(void **)ri->data = tcptrace_arg(regs, 1);
	return 0;
}

static int tcptrace_krp_reqsk_alloc(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct request_sock *req = (void *)regs_return_value(regs);
	const struct sock *listener = *(void **)ri->data;

	if (req && listener->sk_protocol == IPPROTO_TCP)
		tcptrace_request_born(req, listener);
	return 0;
}

static int tcptrace_krp_clone(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	void *child = (void *)regs_return_value(regs);

	if (child)
		tcptrace_request_cloned(*(void **)ri->data, child);
	return 0;
}

static int tcptrace_krp_accept(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	void *child = (void *)regs_return_value(regs);

	if (child)
		tcptrace_child_accepted(child);
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
	{ { "security_inet_conn_request" }, tcptrace_kp_conn_request },
	{ { "security_inet_csk_clone" }, tcptrace_kp_csk_clone },
	{ { "tcp_v4_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#if IS_ENABLED(CONFIG_IPV6)
	{ { "tcp_v6_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#endif
	{ { "security_sock_graft" }, tcptrace_kp_sock_graft },
};

static struct tcptrace_probe tcptrace_halfopen_kretprobes[] = {
	{ { "inet_reqsk_alloc" }, NULL, tcptrace_krp_save_arg1, tcptrace_krp_reqsk_alloc },
	{ { "inet_csk_clone_lock" }, NULL, tcptrace_krp_save_arg1, tcptrace_krp_clone },
	{ { "tcp_v4_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#if IS_ENABLED(CONFIG_IPV6)
	{ { "tcp_v6_reqsk_destructor" }, tcptrace_kp_reqsk_destructor },
#endif
	{ { "inet_csk_accept" }, NULL, NULL, tcptrace_krp_accept },
};

/* The half-open phase's second set is tried only if the first fails. */
static struct tcptrace_probe_set tcptrace_sets[] = {
	{ "TIME_WAIT", tcptrace_timewait_probes, ARRAY_SIZE(tcptrace_timewait_probes) },
	{ "the half-open phase", tcptrace_halfopen_probes,
	  ARRAY_SIZE(tcptrace_halfopen_probes) },
	{ "the half-open phase", tcptrace_halfopen_kretprobes,
	  ARRAY_SIZE(tcptrace_halfopen_kretprobes) },
};

bool tcptrace_kprobes_timewait(void)
{
	return tcptrace_sets[0].on;
}

bool tcptrace_kprobes_halfopen(void)
{
	return tcptrace_sets[1].on || tcptrace_sets[2].on;
}

/*
 * What the header shows of the probes: whether each phase is followed,
 * how many kretprobes are attached (0 unless the LSM hooks are missing),
 * and the hits the probes could not handle (a kretprobe out of instances,
 * say).
 */
void tcptrace_kprobes_stats(struct tcptrace_stats *stats)
{
	unsigned int i, j;

	stats->timewait = tcptrace_kprobes_timewait();
	stats->halfopen = tcptrace_kprobes_halfopen();
	for (i = 0; i < ARRAY_SIZE(tcptrace_sets); i++) {
		if (!tcptrace_sets[i].on)
			continue;
		for (j = 0; j < tcptrace_sets[i].nr; j++) {
			const struct tcptrace_probe *p = &tcptrace_sets[i].probes[j];

			stats->kprobe_missed += READ_ONCE(p->krp.kp.nmissed);
			if (p->ret) {
				stats->kretprobes++;
				stats->kprobe_missed += READ_ONCE(p->krp.nmissed);
			}
		}
	}
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

/* All of a set or none; @warn: say which probe could not be placed. */
static int tcptrace_set_register(struct tcptrace_probe_set *set, bool warn)
{
	unsigned int i;
	int err;

	for (i = 0; i < set->nr; i++) {
		err = tcptrace_probe_register(&set->probes[i]);
		if (err) {
			if (warn)
				pr_warn("%s not followed: no probe on %s (%d); tracepoint only\n",
					set->phase, set->probes[i].symbols[0], err);
			while (i--)
				tcptrace_probe_unregister(&set->probes[i]);
			return err;
		}
	}
	set->on = true;
	return 0;
}

/* A probe that cannot be placed degrades the module; it never fails it. */
void tcptrace_kprobes_init(void)
{
	tcptrace_set_register(&tcptrace_sets[0], true);
	if (!tcptrace_set_register(&tcptrace_sets[1], false))
		return;
	pr_info("no LSM hooks to probe: the half-open phase from kretprobes\n");
	tcptrace_set_register(&tcptrace_sets[2], true);
}

/* Returns once no handler runs any more. */
void tcptrace_kprobes_exit(void)
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
