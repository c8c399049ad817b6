// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the TCP state machine as the module knows it.
 *
 * Which transitions are expected (RFC 9293 plus Linux's own), and why a
 * life ended (end=). Both read a history only: no socket, no lock.
 */

#include <linux/errno.h>
#include <net/tcp_states.h>

#include "tcptrace.h"

/*
 * The transitions RFC 9293 allows, plus the ones Linux adds: a SYN makes
 * a request socket (LISTEN>NEW_SYN_RECV), a child cloned from its listener
 * starts LISTEN>SYN_RECV, a TCP_REPAIR socket jumps CLOSE>ESTABLISHED, a
 * FIN in SYN_RECV leads to CLOSE_WAIT, any state may abort to CLOSE, and
 * close() after shutdown() sets FIN_WAIT1, FIN_WAIT2, CLOSING or LAST_ACK
 * again (tcp_close_state()). Anything else is flagged, never dropped.
 */
static const u16 tcptrace_allowed[TCPTRACE_NR_STATES] = {
	[TCP_CLOSE]		= TCPF_SYN_SENT | TCPF_LISTEN | TCPF_ESTABLISHED,
	[TCP_LISTEN]		= TCPF_NEW_SYN_RECV | TCPF_SYN_RECV | TCPF_SYN_SENT |
				  TCPF_CLOSE,
	[TCP_SYN_SENT]		= TCPF_ESTABLISHED | TCPF_SYN_RECV | TCPF_CLOSE,
	[TCP_SYN_RECV]		= TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
				  TCPF_CLOSE_WAIT | TCPF_CLOSE,
	[TCP_ESTABLISHED]	= TCPF_FIN_WAIT1 | TCPF_CLOSE_WAIT | TCPF_CLOSE,
	[TCP_FIN_WAIT1]		= TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2 | TCPF_CLOSING |
				  TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_FIN_WAIT2]		= TCPF_FIN_WAIT2 | TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_CLOSING]		= TCPF_CLOSING | TCPF_TIME_WAIT | TCPF_CLOSE,
	[TCP_CLOSE_WAIT]	= TCPF_LAST_ACK | TCPF_CLOSE,
	[TCP_LAST_ACK]		= TCPF_LAST_ACK | TCPF_CLOSE,
	[TCP_TIME_WAIT]		= TCPF_CLOSE,
	[TCP_NEW_SYN_RECV]	= TCPF_SYN_RECV | TCPF_CLOSE,
};

bool tcptrace_transition_expected(const struct tcptrace_history *h,
				  int oldstate, int newstate)
{
	/* A step that does not start where the last one ended missed one. */
	if (h->nsteps && h->steps[h->nsteps - 1].newstate != oldstate)
		return false;
	return oldstate >= 0 && oldstate < TCPTRACE_NR_STATES &&
	       newstate >= 0 && newstate < TCPTRACE_NR_STATES &&
	       (tcptrace_allowed[oldstate] & BIT(newstate));
}

/* The state the history is in, -1 before its first step. */
int tcptrace_last_state(const struct tcptrace_history *h)
{
	return h->nsteps ? h->steps[h->nsteps - 1].newstate : -1;
}

static bool tcptrace_visited(const struct tcptrace_history *h, u16 states)
{
	unsigned int i;

	for (i = 0; i < h->nsteps; i++)
		if (states & BIT(h->steps[i].newstate))
			return true;
	return false;
}

/*
 * Why the socket closed, from the states it walked, the error the stack
 * left in sk_err and the resets seen. The first rule that matches wins;
 * Documentation/tcptrace.rst lists them in this order.
 */
u8 tcptrace_end_reason(const struct tcptrace_history *h, int oldstate, int err)
{
	bool established = tcptrace_visited(h, TCPF_ESTABLISHED);

	if (tcptrace_visited(h, TCPF_LISTEN))
		return TCPTRACE_END_LISTENER_CLOSED;
	if (oldstate == TCP_SYN_SENT) {
		if (err == ECONNREFUSED)
			return TCPTRACE_END_REFUSED;
		if (err == ETIMEDOUT)
			return TCPTRACE_END_CONNECT_TIMEOUT;
	}
	if (!established && tcptrace_visited(h, TCPF_SYN_RECV | TCPF_NEW_SYN_RECV))
		return TCPTRACE_END_HANDSHAKE_FAILED;
	if (err == ETIMEDOUT)
		return TCPTRACE_END_TIMEOUT;
	if (h->flags & TCPTRACE_HISTF_LINGER_ABORT)
		return TCPTRACE_END_ABORTED;
	if (h->flags & TCPTRACE_HISTF_RST_RECEIVED)
		return TCPTRACE_END_RESET_RECEIVED;
	if (h->flags & TCPTRACE_HISTF_RST_SENT)
		return TCPTRACE_END_RESET_SENT;
	if (tcptrace_visited(h, TCPF_CLOSING))
		return TCPTRACE_END_SIMULTANEOUS_CLOSE;
	if (tcptrace_visited(h, TCPF_FIN_WAIT1))
		return TCPTRACE_END_ACTIVE_CLOSE;
	if (tcptrace_visited(h, TCPF_CLOSE_WAIT))
		return TCPTRACE_END_PASSIVE_CLOSE;
	return TCPTRACE_END_CLOSED;
}
