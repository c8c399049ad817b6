/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * tcptrace: what the kernel module and its readers agree on.
 *
 * /dev/tcptrace is a text interface; this header names the pieces of
 * that text so that neither side spells them on its own. The format itself
 * is specified in Documentation/tcptrace.rst.
 */
#ifndef _UAPI_LINUX_TCPTRACE_H
#define _UAPI_LINUX_TCPTRACE_H

#define TCPTRACE_DEVICE		"/dev/tcptrace"

/*
 * Bumped only for changes an existing reader would misread. New key=value
 * fields, record kinds and step flags may appear without a bump: readers
 * ignore what they do not know.
 */
#define TCPTRACE_FORMAT_VERSION	2

/* No record line, newline included, is longer than this. */
#define TCPTRACE_LINE_MAX	1024

/* First field of a record line. */
#define TCPTRACE_KIND_DONE	"done"	/* the socket reached CLOSE */
#define TCPTRACE_KIND_LIVE	"live"	/* still open when the snapshot was taken */

/* The header line starts with this; comment lines with '#'. */
#define TCPTRACE_HEADER_TAG	"# tcptrace"

/*
 * A comment line that readers may use: where a capture was taken,
 * "# origin host=NAME boot_id=UUID", right after the header. The module
 * never writes it; the reader does, into the captures it writes.
 */
#define TCPTRACE_ORIGIN_TAG	"# origin"

/*
 * A history holds at most this many steps; further ones are counted in
 * the record's dropped= field and in the drop_steps_full counter. The
 * longest life Linux gives a socket takes 9: a server's child that
 * half-closes, LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>FIN_WAIT1>
 * FIN_WAIT2, then FIN_WAIT2 again at close(), at the hand-over to a
 * timewait socket, TIME_WAIT and CLOSE.
 */
#define TCPTRACE_MAX_STEPS	10

/* Letters that may follow a step's time in path=. */
#define TCPTRACE_STEP_SOFTIRQ	's'	/* ran in softirq context */
#define TCPTRACE_STEP_UNEXPECTED 'x'	/* not a transition RFC 9293 or Linux makes */
#define TCPTRACE_STEP_DERIVED	'd'	/* seen by a kprobe, not the tracepoint */
#define TCPTRACE_STEP_TIMEWAIT	'w'	/* reported as CLOSE: a timewait socket took over */

/*
 * State names in path=, indexed by the kernel's TCP state number
 * (include/net/tcp_states.h): the tracepoint's names without "TCP_".
 */
#define TCPTRACE_STATE_NAMES {					\
	"UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV",	\
	"FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",		\
	"CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",		\
	"NEW_SYN_RECV", "BOUND_INACTIVE",			\
}

#define TCPTRACE_NR_STATES	14

/*
 * How a history ended: the end= field of a done record, indexed by
 * enum tcptrace_end. Documentation/tcptrace.rst gives the rules.
 */
enum tcptrace_end {
	TCPTRACE_END_NONE,
	TCPTRACE_END_ACTIVE_CLOSE,
	TCPTRACE_END_PASSIVE_CLOSE,
	TCPTRACE_END_SIMULTANEOUS_CLOSE,
	TCPTRACE_END_RESET_SENT,
	TCPTRACE_END_RESET_RECEIVED,
	TCPTRACE_END_ABORTED,
	TCPTRACE_END_REFUSED,
	TCPTRACE_END_CONNECT_TIMEOUT,
	TCPTRACE_END_TIMEOUT,
	TCPTRACE_END_HANDSHAKE_FAILED,
	TCPTRACE_END_LISTENER_CLOSED,
	TCPTRACE_END_EVICTED,
	TCPTRACE_END_LOST,
	TCPTRACE_END_CLOSED,
	TCPTRACE_END_SYNCOOKIE,
	TCPTRACE_NR_ENDS,
};

#define TCPTRACE_END_NAMES {						\
	"none", "active_close", "passive_close", "simultaneous_close",	\
	"reset_sent", "reset_received", "aborted", "refused",		\
	"connect_timeout", "timeout", "handshake_failed",		\
	"listener_closed", "evicted", "lost", "closed", "syncookie",	\
}

/* Commands written to the device, one per write(), trailing newline allowed. */
#define TCPTRACE_CMD_CLEAR	"clear"		/* forget all done histories */
#define TCPTRACE_CMD_FOLLOW	"follow"	/* this open file streams done histories */
#define TCPTRACE_CMD_ALL_NETNS	"all-netns"	/* this open file shows every netns */
#define TCPTRACE_CMD_PORTS	"ports="	/* keep only these ports: "80,443,8000-8099" */
#define TCPTRACE_CMD_NETNS	"netns="	/* keep only this netns (inode), 0 for all */

#endif /* _UAPI_LINUX_TCPTRACE_H */
