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

/* 6.10 gave the tcp_send_reset tracepoint the reason for the reset. */
#ifdef TCPTRACE_HAVE_RST_REASON
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb, const enum sk_rst_reason reason
#else
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb
#endif

#endif /* _TCPTRACE_COMPAT_H */
