/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser for the text format of /dev/tcptrace (Documentation/tcptrace.rst).
 *
 * One call parses one line. The parser never allocates: everything a line
 * says fits in the fixed-size structures below, which is what lets the
 * reader stream input of any size in constant memory.
 */
#ifndef TCPTRACE_PARSE_H
#define TCPTRACE_PARSE_H

#include <netinet/in.h>		/* INET6_ADDRSTRLEN */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/tcptrace.h>

/* Room for any error message the parser writes. */
#define TT_ERR_MAX	160

/*
 * Longest comm= the parser takes, in bytes once its \xHH escapes are
 * decoded. The kernel's is at most 15 (TASK_COMM_LEN); the margin is for
 * kernels that lengthen it.
 */
#define TT_COMM_MAX	64

/* comm as the format writes it (every byte may be "\xHH"), NUL included. */
#define TT_COMM_TEXT_MAX	(4 * TT_COMM_MAX + 1)

/*
 * Longest rst_reason= the parser takes: the kernel's names (enum
 * sk_rst_reason without SK_RST_REASON_) are at most 24 characters today;
 * the margin is for the ones later kernels add.
 */
#define TT_RST_REASON_MAX	47

/* An rst_reason= value, NUL included. */
#define TT_RST_REASON_TEXT_MAX	(TT_RST_REASON_MAX + 1)

/*
 * Longest host= of an origin line, in bytes once its \xHH escapes are
 * decoded: HOST_NAME_MAX, what uname(2) gives. Written like comm=.
 */
#define TT_HOST_MAX		64
#define TT_HOST_TEXT_MAX	(4 * TT_HOST_MAX + 1)

/* A boot id: a UUID, 8-4-4-4-12 hex digits (lowercase here), NUL included. */
#define TT_BOOT_ID_TEXT_MAX	37

enum tt_kind {
	TT_KIND_DONE,
	TT_KIND_LIVE,
};

enum tt_family {
	TT_FAMILY_IPV4,
	TT_FAMILY_IPV6,
};

struct tt_endpoint {
	/* As written in the line, without brackets: "127.0.0.1", "::1". */
	char addr[INET6_ADDRSTRLEN];
	/* In binary, network order: 4 bytes for IPv4, 16 for IPv6. */
	unsigned char bin[16];
	uint16_t port;
};

struct tt_step {
	uint8_t old_state;	/* TCP state numbers, below TCPTRACE_NR_STATES */
	uint8_t new_state;
	uint64_t t_ns;		/* nanoseconds since the record's t0 */
	bool softirq;		/* 's': ran in softirq context */
	bool gap;		/* old state written with '/': transitions missed */
	bool unexpected;	/* 'x': not a transition of the state machine */
	bool derived;		/* 'd': seen by a kprobe, not the tracepoint */
	bool timewait;		/* 'w': reported as OLD>CLOSE, a timewait socket took over */
};

/* timewait= of a done record. */
enum tt_timewait {
	TT_TIMEWAIT_NONE,	/* absent: no timewait socket carried the history */
	TT_TIMEWAIT_EXPIRED,
	TT_TIMEWAIT_KILLED,
};

/* Bits of tt_record.has: the optional fields the line had. */
enum {
	TT_HAS_SEQ		= 1u << 0,	/* always set for done records */
	TT_HAS_NETNS		= 1u << 1,
	TT_HAS_UID		= 1u << 2,
	TT_HAS_PID		= 1u << 3,
	TT_HAS_TGID		= 1u << 4,
	TT_HAS_COMM		= 1u << 5,
	TT_HAS_END		= 1u << 6,
	TT_HAS_BYTES_ACKED	= 1u << 7,
	TT_HAS_BYTES_RECEIVED	= 1u << 8,
	TT_HAS_RETRANS		= 1u << 9,
	TT_HAS_SRTT_US		= 1u << 10,
	TT_HAS_TIMEWAIT		= 1u << 11,
	TT_HAS_SEEN_AT_LOAD	= 1u << 12,
	TT_HAS_UNEXPECTED	= 1u << 13,
	TT_HAS_DROPPED		= 1u << 14,
	TT_HAS_SYN_RETRANS	= 1u << 15,
	TT_HAS_RST_REASON	= 1u << 16,
};

struct tt_record {
	enum tt_kind kind;
	uint64_t id;		/* socket cookie */
	enum tt_family family;
	struct tt_endpoint local;
	struct tt_endpoint remote;
	unsigned int has;	/* TT_HAS_* */
	uint64_t seq;
	uint64_t t0;
	uint64_t netns;		/* inode number of the network namespace */
	uint64_t uid;
	uint64_t pid;		/* the owner, in the initial PID namespace */
	uint64_t tgid;
	/*
	 * The owner's comm as the format writes it, in one canonical form:
	 * the bytes outside '!' to '~' and the backslash as "\xHH" with
	 * lowercase hex digits, everything else as itself.
	 */
	char comm[TT_COMM_TEXT_MAX];
	unsigned int end;	/* index in TCPTRACE_END_NAMES (TT_HAS_END) */
	enum tt_timewait timewait;
	uint64_t bytes_acked;
	uint64_t bytes_received;
	uint64_t retrans;
	uint64_t srtt_us;
	/* Retransmissions before the handshake ended; 0 when absent. */
	uint64_t syn_retrans;
	/*
	 * The kernel's reason for a RST the socket sent, as written: a name
	 * such as "TCP_ABORT_ON_CLOSE", or a number where the kernel has no
	 * name. "" when absent (TT_HAS_RST_REASON).
	 */
	char rst_reason[TT_RST_REASON_TEXT_MAX];
	bool seen_at_load;	/* the socket existed when the module was loaded */
	uint64_t unexpected;	/* steps flagged 'x'; 0 when absent */
	uint64_t dropped;	/* 0 when the line has no dropped= */
	/*
	 * The first state of path=. Normally also steps[0].old_state, but a
	 * path may have no step, or a first step with a '/' old state.
	 */
	uint8_t first_state;
	unsigned int nr_steps;
	struct tt_step steps[TCPTRACE_MAX_STEPS];
};

struct tt_header {
	uint64_t format;
	uint64_t now;
	uint64_t live;
	uint64_t live_max;
	uint64_t done;
	uint64_t ring_size;
	uint64_t events;
	uint64_t created;
	uint64_t completed;
	uint64_t drop_table_full;
	uint64_t drop_steps_full;
	uint64_t ring_overwritten;
	uint64_t unexpected;
	uint64_t syncookies;
	uint64_t kprobe_missed;
	uint64_t filtered;
	uint64_t filter_ports;
	uint64_t filter_netns;
	uint64_t evicted;
	uint64_t mem_bytes;
	uint64_t timewait;
	uint64_t halfopen;
	uint64_t rst_reasons;	/* 1: the kernel gives reset reasons */
	/* Bit i: the line had tt_header_keys[i]. The required ones always. */
	uint32_t has;
};

/*
 * Where a capture was taken: its origin line (TCPTRACE_ORIGIN_TAG),
 * "# origin host=NAME boot_id=UUID". host= is required; boot_id= is
 * absent when the writer could not read one.
 */
struct tt_origin {
	/* As written, in the canonical form of tt_record.comm. */
	char host[TT_HOST_TEXT_MAX];
	/* /proc/sys/kernel/random/boot_id, lowercase; "" when absent. */
	char boot_id[TT_BOOT_ID_TEXT_MAX];
};

/*
 * The header's keys in the order the format lists them, format first.
 * Those of format 1 but unexpected= are required; the others, newer, are
 * taken when present.
 */
struct tt_header_key {
	const char *name;
	size_t offset;		/* of its value in struct tt_header */
	bool required;
};
extern const struct tt_header_key tt_header_keys[];
extern const size_t tt_nr_header_keys;

static inline uint64_t tt_header_value(const struct tt_header *h,
				       const struct tt_header_key *key)
{
	/* Through void *: the offset is that of a uint64_t, so aligned. */
	const void *value = (const char *)h + key->offset;

	return *(const uint64_t *)value;
}

static inline bool tt_header_has(const struct tt_header *h,
				 const struct tt_header_key *key)
{
	return h->has & (1u << (key - tt_header_keys));
}

/* The key called @name, or NULL. */
const struct tt_header_key *tt_header_key(const char *name);

enum tt_line_type {
	TT_LINE_BLANK,
	TT_LINE_COMMENT,	/* '#' but not the header */
	TT_LINE_UNKNOWN_KIND,	/* a record kind this reader does not know */
	TT_LINE_HEADER,
	TT_LINE_ORIGIN,		/* an origin line: a comment old readers skip */
	TT_LINE_RECORD,
	TT_LINE_ERROR,		/* malformed: the message says why */
	TT_LINE_UNSUPPORTED,	/* header of another format: stop reading */
	TT_LINE_LOST,		/* JSON: histories a follower lost */
};

/*
 * What "tcptrace -f --json" wrote where the device said histories were
 * lost: {"lost":N}, or {"lost":null,"next_seq":SEQ} when N is not known.
 */
struct tt_lost {
	bool known;
	uint64_t n;
	uint64_t next_seq;
};

struct tt_line {
	enum tt_line_type type;
	union {
		struct tt_header header;	/* TT_LINE_HEADER */
		struct tt_record record;	/* TT_LINE_RECORD */
		struct tt_lost lost;		/* TT_LINE_LOST */
	};
	/* The line was JSON (json.h): a record says its own origin. */
	bool json;
	/*
	 * TT_LINE_ORIGIN: the origin line's. A JSON TT_LINE_RECORD: its
	 * "host" and "boot_id", if has_origin.
	 */
	bool has_origin;
	struct tt_origin origin;
};

/*
 * Parse one line of @len bytes, its '\n' included (a line without one is
 * reported as truncated). For TT_LINE_ERROR and TT_LINE_UNSUPPORTED, @err
 * receives a one-line message without trailing newline.
 */
enum tt_line_type tt_parse_line(const char *line, size_t len,
				struct tt_line *out, char err[TT_ERR_MAX]);

/*
 * Write a one-line message to @err; returns false, so that a parser may
 * "return tt_set_error(err, ...)".
 */
__attribute__((format(printf, 2, 3)))
bool tt_set_error(char err[TT_ERR_MAX], const char *fmt, ...);

/* Does this line start like the header (whether or not it is valid)? */
bool tt_is_header_line(const char *line, size_t len);

/* Does this line start like an origin line (whether or not it is valid)? */
bool tt_is_origin_line(const char *line, size_t len);

/* The value of hex digit @c, either case, or -1. */
int tt_hex_digit(char c);

/* Is @text, of @len bytes, a UUID: 8-4-4-4-12 hex digits, either case? */
bool tt_boot_id_valid(const char *text, size_t len);

/* "ESTABLISHED" for 1, ...; "UNKNOWN" for numbers past the table. */
const char *tt_state_name(unsigned int state);

/* The number of state @name as the format writes it ("ESTABLISHED": 1), or -1. */
int tt_state_number(const char *name);

/* "active_close" for TCPTRACE_END_ACTIVE_CLOSE, ...; "none" past the table. */
const char *tt_end_name(unsigned int end);

/* The index of end reason @name in TCPTRACE_END_NAMES, or -1. */
int tt_end_lookup(const char *name);

/*
 * Decode @text, a comm with "\xHH" escapes (either case), into @buf of
 * @size bytes (no NUL added); a backslash not starting an escape stands for
 * itself. Returns the decoded length, or -1 if it does not fit.
 */
int tt_comm_decode(const char *text, size_t len, char *buf, size_t size);

/*
 * @text, of @len bytes, written as comm= and host= are (bytes from '!' to
 * '~', a backslash only as "\xHH"), at most @max bytes once decoded: into
 * @out in the canonical form of tt_record.comm. False, with a message
 * starting with @what, if it is not.
 */
bool tt_name_canonical(const char *text, size_t len, size_t max,
		       char out[TT_COMM_TEXT_MAX], const char *what,
		       char err[TT_ERR_MAX]);

/* Write the @len bytes of @comm in the canonical form of tt_record.comm. */
void tt_comm_encode(const char *comm, size_t len, char out[TT_COMM_TEXT_MAX]);

/*
 * Is @name, of @len bytes, an rst_reason= value: 1 to TT_RST_REASON_MAX
 * characters of [A-Z0-9_]? Not a closed set: later kernels add reasons.
 */
bool tt_rst_reason_valid(const char *name, size_t len);

#endif /* TCPTRACE_PARSE_H */
