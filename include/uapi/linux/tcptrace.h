/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * tcptrace: what the kernel module and its readers agree on.
 *
 * /dev/tcptrace is a text interface; this header names the pieces of
 * that text so that neither side spells them on its own. A reader may ask
 * for fixed-size binary records instead (TCPTRACE_CMD_BINARY), laid out
 * below. Both are specified in Documentation/tcptrace.rst.
 */
#ifndef _UAPI_LINUX_TCPTRACE_H
#define _UAPI_LINUX_TCPTRACE_H

#include <linux/types.h>

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
#define TCPTRACE_CMD_BINARY	"binary="	/* this open file reads binary records */

/*
 * Binary records. "binary=N", written before the file's first read or
 * seek, asks for layout version N or later: the module writes its own
 * version, TCPTRACE_BINARY_VERSION, which is N's layout with fields
 * appended. A reader reads the sizes in the header and uses the first
 * bytes of each record it knows, skipping the rest.
 *
 * The first read returns the header alone, later reads as many whole
 * records as fit; a buffer too small for the next one is -EINVAL. Every
 * field is in the machine's byte order; ports are in network order as on
 * the wire.
 */
#define TCPTRACE_BINARY_VERSION	1
#define TCPTRACE_BINARY_MAGIC	0x54504354	/* "TCPT" in a little-endian machine's memory */

/* The header line's fields, in its order; the first record of a stream. */
struct tcptrace_binary_header {
	__u32 magic;		/* TCPTRACE_BINARY_MAGIC, in the writer's byte order */
	__u16 version;		/* TCPTRACE_BINARY_VERSION of the writer */
	__u16 header_size;	/* sizeof(struct tcptrace_binary_header) */
	__u32 record_size;	/* sizeof(struct tcptrace_binary_record) */
	__u32 format;		/* TCPTRACE_FORMAT_VERSION of the same fields in text */
	__u64 now;
	__u64 live;
	__u64 live_max;
	__u64 done;
	__u64 ring_size;
	__u64 events;
	__u64 created;
	__u64 completed;
	__u64 drop_table_full;
	__u64 drop_steps_full;
	__u64 ring_overwritten;
	__u64 unexpected;
	__u64 syncookies;
	__u64 kprobe_missed;
	__u64 filtered;
	__u64 filter_ports;
	__u64 filter_netns;
	__u64 evicted;
	__u64 mem_bytes;
	__u32 kretprobes;
	__u8 timewait;		/* 0 or 1, as timewait= */
	__u8 halfopen;
	__u8 rst_reasons;
	__u8 reserved;		/* 0 */
};

/* Step flags in struct tcptrace_binary_step, the letters of path=. */
#define TCPTRACE_BINARY_STEP_SOFTIRQ	0x01	/* 's' */
#define TCPTRACE_BINARY_STEP_UNEXPECTED	0x02	/* 'x' */
#define TCPTRACE_BINARY_STEP_DERIVED	0x04	/* 'd' */
#define TCPTRACE_BINARY_STEP_TIMEWAIT	0x08	/* 'w' */
#define TCPTRACE_BINARY_STEP_SEEDED	0x10	/* stands for the state at load: not in path= */

struct tcptrace_binary_step {
	__u8 oldstate;		/* TCPTRACE_STATE_NAMES index */
	__u8 newstate;
	__u8 flags;		/* TCPTRACE_BINARY_STEP_* */
	__u8 reserved;		/* 0 */
};

/* Record flags: the fields that the text shows only when set. */
#define TCPTRACE_BINARY_OWNER		0x01	/* pid, tgid and comm are set */
#define TCPTRACE_BINARY_SEEN_AT_LOAD	0x02	/* seen_at_load=1 */
#define TCPTRACE_BINARY_TIMEWAIT	0x04	/* done: timewait= is set ... */
#define TCPTRACE_BINARY_TW_EXPIRED	0x08	/* ... to expired, else killed */

/* Record kinds: the first field of a text record. */
#define TCPTRACE_BINARY_DONE	1
#define TCPTRACE_BINARY_LIVE	2

/*
 * One history: every field of a text record, the optional ones 0 when
 * absent. The fields of a live record that only a done one has (seq, end,
 * bytes_acked, bytes_received, retrans, srtt_us) are 0. It starts with
 * kind, never 0x54 ('T' of the magic) nor '#', so a reader at a record
 * boundary tells a record from a new header or a comment line.
 */
struct tcptrace_binary_record {
	__u8 kind;		/* TCPTRACE_BINARY_DONE or _LIVE */
	__u8 family;		/* 4 or 6 */
	__u8 end;		/* enum tcptrace_end */
	__u8 nsteps;		/* steps[] and step_ns[] used */
	__u8 flags;		/* TCPTRACE_BINARY_* */
	__u8 dropped;
	__u8 unexpected;
	__u8 syn_retrans;
	__u64 cookie;
	__u64 seq;
	__u64 t0;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 step_ns[TCPTRACE_MAX_STEPS];	/* each step's time since t0 */
	__u8 saddr[16];		/* IPv4: the first 4 bytes, as in_addr */
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u32 netns;
	__u32 uid;
	__u32 pid;
	__u32 tgid;
	__u32 retrans;
	__u32 srtt_us;
	char comm[16];		/* NUL-terminated, not escaped */
	char rst_reason[32];	/* rst_reason=, NUL-terminated; "" when absent */
	struct tcptrace_binary_step steps[TCPTRACE_MAX_STEPS];
	__u8 reserved[4];	/* 0 */
};

#endif /* _UAPI_LINUX_TCPTRACE_H */
