/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace: every difference between the kernels it builds for, in one
 * place, so that the rest is written against the newest API.
 */
#ifndef _TCPTRACE_COMPAT_H
#define _TCPTRACE_COMPAT_H

/*
 * Test for features, not versions: distributions backport.
 *
 * 6.10 gave the tcp_send_reset tracepoint the reason for the reset,
 * together with the header that defines the reasons.
 */
#if __has_include(<net/rstreason.h>)
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb, const enum sk_rst_reason reason
#else
#define TCPTRACE_SEND_RESET_PROTO \
	const struct sock *sk, const struct sk_buff *skb
#endif

#endif /* _TCPTRACE_COMPAT_H */
