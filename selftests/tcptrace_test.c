// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_test: drive real TCP over loopback and check what /dev/tcptrace
 * reports, against Documentation/tcptrace.rst (the text format and the
 * device semantics) and against what the TCP state machine of Linux does.
 *
 * The expected paths come from the kernel source, not from the module:
 *
 *  - tcp_v4_connect()/tcp_v6_connect() move a client CLOSE>SYN_SENT, the
 *    SYN-ACK SYN_SENT>ESTABLISHED (tcp_finish_connect()).
 *  - close() of an established socket goes ESTABLISHED>FIN_WAIT1
 *    (tcp_close_state()), the ACK of the FIN FIN_WAIT1>FIN_WAIT2, and the
 *    hand-over to a timewait minisocket (tcp_time_wait() -> tcp_done())
 *    FIN_WAIT2>CLOSE; TIME_WAIT is never set on the full socket.
 *  - A server child is a copy of the listener (sk_clone_lock() copies
 *    sk_state, i.e. LISTEN) that inet_csk_clone_lock() moves to SYN_RECV
 *    with inet_sk_set_state(), which reports the copied state: the first
 *    step is LISTEN>SYN_RECV, in softirq context, when the handshake's
 *    final ACK arrives. tcp_rcv_state_process() then moves it
 *    SYN_RECV>ESTABLISHED; the peer's FIN ESTABLISHED>CLOSE_WAIT
 *    (tcp_fin()), close() CLOSE_WAIT>LAST_ACK, the ACK of its FIN
 *    LAST_ACK>CLOSE (tcp_done()).
 *  - listen() goes CLOSE>LISTEN (inet_csk_listen_start()), close() of a
 *    listener LISTEN>CLOSE.
 *  - A SYN to a port nobody listens on is answered by a RST: the client
 *    goes SYN_SENT>CLOSE (tcp_reset() -> tcp_done()). A later close() of a
 *    socket already in CLOSE reports nothing: __tcp_close() jumps straight
 *    to adjudge_to_death.
 *  - close() with SO_LINGER {1, 0} calls tcp_disconnect(): ESTABLISHED>CLOSE
 *    and a RST, which moves the peer ESTABLISHED>CLOSE (tcp_reset()).
 *
 * With the module's kprobes (header timewait=1 and halfopen=1) come the
 * phases the tracepoint misses: the active closer's FIN_WAIT2>CLOSE reads
 * FIN_WAIT2>FIN_WAIT2 flagged w (a timewait socket took over, in
 * FIN_WAIT2), then FIN_WAIT2>TIME_WAIT and TIME_WAIT>CLOSE flagged d; a
 * server's history starts at the SYN with LISTEN>NEW_SYN_RECV (d), and the
 * clone's step reads NEW_SYN_RECV>SYN_RECV. The tests read timewait= and
 * halfopen= from the header and expect accordingly; run_vm.sh runs them
 * with kprobes=0 and kprobes=1.
 *
 * Every scenario clears the device, runs on ports the kernel picks, polls
 * the device until the histories it waits for are done, then asserts the
 * exact state path, family, local and remote address of every socket
 * involved, and that each history's id is the socket's cookie (SO_COOKIE).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>	/* TCP_CLOSE, as in include/net/tcp_states.h */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/tcptrace.h>

#include "kselftest_harness.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define WAIT_MS		20000	/* bound on waiting for histories to complete */
#define POLL_MS		20
#define READ_MAX	(64 << 20)	/* a read of the device longer than this never ends */
#define ADDR_MAX	(INET6_ADDRSTRLEN + 10)

static const char *const state_names[TCPTRACE_NR_STATES] = TCPTRACE_STATE_NAMES;
static const char *const end_names[TCPTRACE_NR_ENDS] = TCPTRACE_END_NAMES;

/* ---- Reading the device ------------------------------------------------ */

/* Read an open device fd to EOF in chunks of @chunk bytes. */
static char *read_fd(int fd, size_t chunk, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (cap - len < chunk + 1) {
			cap = (cap + chunk + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				return NULL;
		}
		n = read(fd, buf + len, chunk);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
		if (len > READ_MAX) {
			free(buf);
			errno = EFBIG;
			return NULL;
		}
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* One open, read to EOF, close: what cat(1) does. */
static char *read_dev(size_t chunk, size_t *lenp)
{
	int fd = open(TCPTRACE_DEVICE, O_RDONLY);
	char *buf;
	int err;

	if (fd < 0)
		return NULL;
	buf = read_fd(fd, chunk, lenp);
	err = errno;
	close(fd);
	errno = err;
	return buf;
}

static int dev_write(const char *cmd, size_t len)
{
	int fd = open(TCPTRACE_DEVICE, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, cmd, len);
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)len ? 0 : -1;
}

static int write_cmd(int fd, const char *cmd)
{
	ssize_t n = write(fd, cmd, strlen(cmd));

	return n == (ssize_t)strlen(cmd) ? 0 : -1;
}

/* ---- A self-contained parser of the text format ------------------------- */

struct step {
	int oldstate;		/* as reported: the previous new state unless missed */
	int newstate;
	unsigned long long ns;
	bool softirq;
	bool unexpected;	/* flagged 'x' */
	bool derived;		/* flagged 'd': seen by a kprobe */
	bool timewait;		/* flagged 'w': a timewait socket took over */
	bool missed;		/* "/OLD" stood before the '>' */
};

struct rec {
	const char *line;	/* the whole line, NUL-terminated */
	bool done;
	unsigned long long id;
	char family[8];
	char local[ADDR_MAX];
	char remote[ADDR_MAX];
	bool has_seq;
	unsigned long long seq;
	unsigned long long t0;
	unsigned long long dropped;
	unsigned long long netns, uid;
	bool has_owner;		/* pid=, tgid= and comm= */
	unsigned long long pid, tgid;
	char comm[64];		/* unescaped */
	int end;		/* index in TCPTRACE_END_NAMES, done only */
	char timewait[16];	/* timewait=, done only: "expired", "killed" or "" */
	bool seen_at_load;
	unsigned long long bytes_acked, bytes_received, retrans, srtt_us;
	unsigned long long unexpected;	/* unexpected=, absent: 0 */
	int nflagged;		/* steps flagged 'x' */
	int first;		/* the first state of path= */
	int nsteps;
	struct step steps[TCPTRACE_MAX_STEPS];
	char states[512];	/* path= without times and flags */
};

struct hdr {
	unsigned long long format, now, live, live_max, done, ring_size, events,
			   created, completed, drop_table_full, drop_steps_full,
			   ring_overwritten, unexpected, mem_bytes, syncookies,
			   kprobe_missed, filtered, filter_ports, filter_netns,
			   evicted, timewait, halfopen;
};

struct dump {
	char *raw;		/* the bytes read, NUL-terminated */
	size_t len;
	char *text;		/* a copy cut into lines */
	struct hdr hdr;
	struct rec *recs;
	size_t nrecs, ndone, nlive;
	char err[TCPTRACE_LINE_MAX + 256];	/* first format error, or "" */
};

static void dump_free(struct dump *d)
{
	free(d->raw);
	free(d->text);
	free(d->recs);
	memset(d, 0, sizeof(*d));
}

/* A decimal number without sign, spaces or superfluous leading zeros. */
static bool parse_u64(const char *s, size_t n, unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (~0ULL - (s[i] - '0')) / 10)
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static int parse_state(const char **p)
{
	size_t best = 0;
	int i, state = -1;

	/* Longest match: CLOSE is a prefix of CLOSE_WAIT and CLOSING. */
	for (i = 0; i < TCPTRACE_NR_STATES; i++) {
		size_t n = strlen(state_names[i]);

		if (n > best && !strncmp(*p, state_names[i], n)) {
			best = n;
			state = i;
		}
	}
	if (state < 0)
		return -1;
	*p += best;
	return state;
}

/* "A.B.C.D:PORT" or "[IPV6]:PORT", in the canonical form inet_ntop() gives. */
static bool parse_addr(const char *family, const char *s)
{
	char host[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *colon, *port;
	unsigned long long p;
	int af;
	size_t n;

	if (!strcmp(family, "ipv4")) {
		af = AF_INET;
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		n = colon - s;
		if (n >= sizeof(host))
			return false;
		memcpy(host, s, n);
	} else {
		af = AF_INET6;
		if (s[0] != '[')
			return false;
		colon = strstr(s, "]:");
		if (!colon)
			return false;
		n = colon - s - 1;
		if (n >= sizeof(host))
			return false;
		memcpy(host, s + 1, n);
		colon++;
	}
	host[n] = '\0';
	port = colon + 1;
	if (!parse_u64(port, strlen(port), &p) || p > 65535)
		return false;
	if (inet_pton(af, host, bin) != 1)
		return false;
	if (!inet_ntop(af, bin, canon, sizeof(canon)))
		return false;
	return !strcmp(canon, host);
}

/* comm=: bytes outside '!'..'~' and the backslash are written \xHH. */
static bool parse_comm(const char *v, char *out, size_t size)
{
	size_t n = 0;

	if (!*v)
		return false;
	for (; *v; n++) {
		unsigned int c;

		if (n + 1 >= size)
			return false;
		if (*v == '\\') {
			if (v[1] != 'x' || !isxdigit((unsigned char)v[2]) ||
			    !isxdigit((unsigned char)v[3]) || sscanf(v + 2, "%2x", &c) != 1)
				return false;
			/* only what must be escaped is */
			if (c >= '!' && c <= '~' && c != '\\')
				return false;
			out[n] = c;
			v += 4;
		} else {
			if (*v < '!' || *v > '~')
				return false;
			out[n] = *v++;
		}
	}
	out[n] = '\0';
	return n < 16;	/* TASK_COMM_LEN */
}

/* path = STATE *step; step = ["/" STATE] ">" STATE "@" NSEC *FLAG */
static const char *parse_path(struct rec *r, const char *p)
{
	char *out = r->states;
	size_t left = sizeof(r->states);
	int prev, n;

	prev = parse_state(&p);
	if (prev < 0)
		return "path: bad first state";
	r->first = prev;
	n = snprintf(out, left, "%s", state_names[prev]);
	out += n;
	left -= n;
	while (*p) {
		struct step s = { .oldstate = prev };
		const char *t;

		if (*p == '/') {
			p++;
			s.oldstate = parse_state(&p);
			if (s.oldstate < 0)
				return "path: bad state after '/'";
			s.missed = true;
		}
		if (*p++ != '>')
			return "path: expected '>'";
		s.newstate = parse_state(&p);
		if (s.newstate < 0)
			return "path: bad new state";
		if (*p++ != '@')
			return "path: expected '@'";
		for (t = p; *t >= '0' && *t <= '9'; t++)
			;
		if (!parse_u64(p, t - p, &s.ns))
			return "path: bad step time";
		for (p = t; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++) {
			if (*p == TCPTRACE_STEP_SOFTIRQ)
				s.softirq = true;
			if (*p == TCPTRACE_STEP_UNEXPECTED)
				s.unexpected = true;
			if (*p == TCPTRACE_STEP_DERIVED)
				s.derived = true;
			if (*p == TCPTRACE_STEP_TIMEWAIT)
				s.timewait = true;
		}
		r->nflagged += s.unexpected;
		if (r->nsteps == TCPTRACE_MAX_STEPS)
			return "path: more than TCPTRACE_MAX_STEPS steps";
		if (r->nsteps == 0 && s.ns != 0)
			return "path: the first step is not at @0 (t0 is its time)";
		if (r->nsteps > 0 && s.ns < r->steps[r->nsteps - 1].ns)
			return "path: step times go backwards";
		r->steps[r->nsteps++] = s;
		if (s.missed)
			n = snprintf(out, left, "/%s>%s", state_names[s.oldstate],
				     state_names[s.newstate]);
		else
			n = snprintf(out, left, ">%s", state_names[s.newstate]);
		if (n < 0 || (size_t)n >= left)
			return "path: too long";
		out += n;
		left -= n;
		prev = s.newstate;
	}
	if (r->nsteps == 0)
		return "path: no step";
	return NULL;
}

/* Record line: KIND ID FAMILY LOCAL REMOTE key=value... */
static const char *parse_record(struct rec *r, char *line)
{
	char *field[5], *kv, *save = NULL;
	bool has_t0 = false, has_path = false, has_netns = false, has_uid = false;
	bool has_pid = false, has_tgid = false, has_comm = false, has_end = false;
	unsigned int counters = 0;
	const char *err;
	int i;

	if (line[0] == ' ' || strstr(line, "  ") || line[strlen(line) - 1] == ' ')
		return "fields not separated by exactly one space";
	for (i = 0; i < 5; i++) {
		field[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!field[i])
			return "fewer than five positional fields";
	}
	if (!strcmp(field[0], TCPTRACE_KIND_DONE))
		r->done = true;
	else if (strcmp(field[0], TCPTRACE_KIND_LIVE))
		return "kind is neither done nor live";
	if (!parse_u64(field[1], strlen(field[1]), &r->id))
		return "id is not a decimal number";
	if (strcmp(field[2], "ipv4") && strcmp(field[2], "ipv6"))
		return "family is neither ipv4 nor ipv6";
	strcpy(r->family, field[2]);
	if (strlen(field[3]) >= ADDR_MAX || !parse_addr(r->family, field[3]))
		return "bad local address";
	strcpy(r->local, field[3]);
	if (strlen(field[4]) >= ADDR_MAX || !parse_addr(r->family, field[4]))
		return "bad remote address";
	strcpy(r->remote, field[4]);

	while ((kv = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(kv, '=');
		const char *v;

		if (!eq || eq == kv)
			return "a field after the fifth is not key=value";
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(kv, "seq")) {
			if (r->has_seq || !parse_u64(v, strlen(v), &r->seq))
				return "bad seq=";
			r->has_seq = true;
		} else if (!strcmp(kv, "t0")) {
			if (has_t0 || !parse_u64(v, strlen(v), &r->t0))
				return "bad t0=";
			has_t0 = true;
		} else if (!strcmp(kv, "dropped")) {
			if (!parse_u64(v, strlen(v), &r->dropped) || !r->dropped)
				return "bad dropped= (absent means 0)";
		} else if (!strcmp(kv, "timewait")) {
			if (r->timewait[0] || (strcmp(v, "expired") && strcmp(v, "killed")))
				return "bad timewait=";
			strcpy(r->timewait, v);
		} else if (!strcmp(kv, "seen_at_load")) {
			if (r->seen_at_load || strcmp(v, "1"))
				return "bad seen_at_load=";
			r->seen_at_load = true;
		} else if (!strcmp(kv, "unexpected")) {
			if (!parse_u64(v, strlen(v), &r->unexpected) || !r->unexpected)
				return "bad unexpected= (absent means 0)";
		} else if (!strcmp(kv, "netns")) {
			if (has_netns || !parse_u64(v, strlen(v), &r->netns) || !r->netns)
				return "bad netns=";
			has_netns = true;
		} else if (!strcmp(kv, "uid")) {
			if (has_uid || !parse_u64(v, strlen(v), &r->uid) || r->uid > 0xffffffffULL)
				return "bad uid=";
			has_uid = true;
		} else if (!strcmp(kv, "pid")) {
			if (has_pid || !parse_u64(v, strlen(v), &r->pid) || !r->pid)
				return "bad pid=";
			has_pid = true;
		} else if (!strcmp(kv, "tgid")) {
			if (has_tgid || !parse_u64(v, strlen(v), &r->tgid) || !r->tgid)
				return "bad tgid=";
			has_tgid = true;
		} else if (!strcmp(kv, "comm")) {
			if (has_comm || !parse_comm(v, r->comm, sizeof(r->comm)))
				return "bad comm= (escaping or length)";
			has_comm = true;
		} else if (!strcmp(kv, "end")) {
			int e;

			if (has_end)
				return "two end=";
			for (e = 0; e < TCPTRACE_NR_ENDS; e++)
				if (!strcmp(v, end_names[e]))
					break;
			/* "none" is reserved */
			if (e == TCPTRACE_NR_ENDS || e == TCPTRACE_END_NONE)
				return "bad end=";
			r->end = e;
			has_end = true;
		} else if (!strcmp(kv, "bytes_acked") || !strcmp(kv, "bytes_received") ||
			   !strcmp(kv, "retrans") || !strcmp(kv, "srtt_us")) {
			unsigned long long *dst = !strcmp(kv, "bytes_acked") ? &r->bytes_acked :
				!strcmp(kv, "bytes_received") ? &r->bytes_received :
				!strcmp(kv, "retrans") ? &r->retrans : &r->srtt_us;
			unsigned int bit = dst == &r->bytes_acked ? 1 :
				dst == &r->bytes_received ? 2 : dst == &r->retrans ? 4 : 8;

			if ((counters & bit) || !parse_u64(v, strlen(v), dst))
				return "bad counter";
			counters |= bit;
		} else if (!strcmp(kv, "path")) {
			if (has_path)
				return "two path=";
			err = parse_path(r, v);
			if (err)
				return err;
			has_path = true;
		} else if (!*v || strchr(v, '=')) {
			return "bad unknown key=value";
		}
	}
	if (!has_t0 || !has_path)
		return "t0= or path= missing";
	if (!has_netns || !has_uid)
		return "netns= or uid= missing";
	if (has_pid != has_tgid || has_pid != has_comm)
		return "pid=, tgid= and comm= go together";
	r->has_owner = has_pid;
	if (r->done != has_end)
		return "end= must be on done records and only there";
	if (r->done ? counters != 15 : counters != 0)
		return "bytes_acked=, bytes_received=, retrans=, srtt_us= must be on done records and only there";
	if (r->unexpected != (unsigned long long)r->nflagged)
		return "unexpected= does not count the steps flagged x";
	/* Evicted and lost histories end as they were. */
	if (r->done && r->steps[r->nsteps - 1].newstate != TCP_CLOSE &&
	    !r->dropped && r->end != TCPTRACE_END_EVICTED && r->end != TCPTRACE_END_LOST)
		return "a done history does not end in CLOSE";
	if (!r->done && r->timewait[0])
		return "timewait= on a live record";
	if (r->done != r->has_seq)
		return "seq= must be on done records and only there";
	if (!r->done && r->steps[r->nsteps - 1].newstate == TCP_CLOSE)
		return "a live history ends in CLOSE";

	return NULL;
}

static const char *parse_header(struct hdr *h, char *line)
{
	static const char *const keys[] = {
		"format", "now", "live", "live_max", "done", "ring_size",
		"events", "created", "completed", "drop_table_full",
		"drop_steps_full", "ring_overwritten", "unexpected", "mem_bytes",
		"syncookies", "kprobe_missed", "filtered", "filter_ports",
		"filter_netns", "evicted", "timewait", "halfopen",
	};
	unsigned long long *vals[] = {
		&h->format, &h->now, &h->live, &h->live_max, &h->done,
		&h->ring_size, &h->events, &h->created, &h->completed,
		&h->drop_table_full, &h->drop_steps_full, &h->ring_overwritten,
		&h->unexpected, &h->mem_bytes, &h->syncookies, &h->kprobe_missed,
		&h->filtered, &h->filter_ports, &h->filter_netns, &h->evicted,
		&h->timewait, &h->halfopen,
	};
	unsigned int seen = 0, i;
	char *kv, *save = NULL;

	if (strncmp(line, TCPTRACE_HEADER_TAG " ", strlen(TCPTRACE_HEADER_TAG) + 1))
		return "the first line is not the header";
	if (strstr(line, "  ") || line[strlen(line) - 1] == ' ')
		return "header fields not separated by exactly one space";
	strtok_r(line, " ", &save);	/* # */
	strtok_r(NULL, " ", &save);	/* tcptrace */
	while ((kv = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(kv, '=');

		if (!eq || eq == kv)
			return "header field is not key=value";
		*eq = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(kv, keys[i]))
				continue;
			if (seen & (1U << i))
				return "header key twice";
			if (!parse_u64(eq + 1, strlen(eq + 1), vals[i]))
				return "header value is not decimal";
			seen |= 1U << i;
		}
	}
	if (seen != (1U << (sizeof(keys) / sizeof(keys[0]))) - 1)
		return "header lacks a key of the spec";
	if (h->format != TCPTRACE_FORMAT_VERSION)
		return "header format= is not TCPTRACE_FORMAT_VERSION";
	if (h->timewait > 1 || h->halfopen > 1)
		return "header timewait= or halfopen= is not 0 or 1";
	return NULL;
}

/*
 * Parse d->raw: a header line first if @header, then comments and records.
 * Returns 0, or -1 with the first problem in d->err.
 */
static int dump_parse_lines(struct dump *d, bool header)
{
	size_t i, lines = 0, cap;
	char *line, *next;
	const char *err;

	d->err[0] = '\0';
	if (!d->len) {
		if (!header)
			return 0;
		snprintf(d->err, sizeof(d->err), "empty read: no header");
		return -1;
	}
	if (d->raw[d->len - 1] != '\n') {
		snprintf(d->err, sizeof(d->err), "the text does not end in a newline");
		return -1;
	}
	for (i = 0; i < d->len; i++) {
		unsigned char c = d->raw[i];

		if (c == '\n')
			lines++;
		else if (c < 0x20 || c > 0x7e) {
			snprintf(d->err, sizeof(d->err),
				 "byte 0x%02x at offset %zu is not printable ASCII", c, i);
			return -1;
		}
	}
	d->text = strdup(d->raw);
	cap = lines;
	d->recs = calloc(cap ? cap : 1, sizeof(*d->recs));
	if (!d->text || !d->recs) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -1;
	}
	for (line = d->text, i = 0; *line; line = next, i++) {
		char copy[TCPTRACE_LINE_MAX + 1];
		size_t n;

		next = strchr(line, '\n');
		n = next - line + 1;
		*next++ = '\0';
		if (n > TCPTRACE_LINE_MAX) {
			snprintf(d->err, sizeof(d->err), "line %zu longer than %d bytes",
				 i + 1, TCPTRACE_LINE_MAX);
			return -1;
		}
		strcpy(copy, line);
		if (i == 0 && header) {
			err = parse_header(&d->hdr, copy);
		} else if (line[0] == '#') {
			continue;
		} else {
			struct rec *r = &d->recs[d->nrecs];

			r->line = line;
			err = parse_record(r, copy);
			if (!err) {
				d->nrecs++;
				if (r->done)
					d->ndone++;
				else
					d->nlive++;
			}
		}
		if (err) {
			snprintf(d->err, sizeof(d->err), "line %zu: %s: %s", i + 1, err, line);
			return -1;
		}
	}
	return 0;
}

static int dump_parse(struct dump *d)
{
	return dump_parse_lines(d, true);
}

/* Read and parse one snapshot; on failure, d->err says why. */
static int dump_read(struct dump *d)
{
	memset(d, 0, sizeof(*d));
	d->raw = read_dev(65536, &d->len);
	if (!d->raw) {
		snprintf(d->err, sizeof(d->err), "reading %s: %s", TCPTRACE_DEVICE,
			 strerror(errno));
		return -1;
	}
	return dump_parse(d);
}

/* ---- Sockets ------------------------------------------------------------ */

static socklen_t lo_addr(int af, unsigned short port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
}

/* The address as the spec writes it: A.B.C.D:PORT or [IPV6]:PORT. */
static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static int local_text(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	addr_text(&ss, out, n);
	return 0;
}

static unsigned long long sock_cookie(int fd)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

/* SO_LINGER {1, 0}: close() sends a RST, leaves no TIME_WAIT. */
static int set_abortive(int fd, bool on)
{
	struct linger lg = { .l_onoff = on, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/*
 * A TCP socket that no test can block on forever, and that closes
 * abortively unless a test says otherwise (conn_close()): a test that
 * fails midway must not leave a socket in TIME_WAIT, whose history would
 * complete a minute later in the middle of another test.
 */
static int tcp_socket(int af)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(af, SOCK_STREAM, 0);

	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
			set_abortive(fd, true))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A listener on the loopback address, on a port the kernel picks. */
static int tcp_listener(int af, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = tcp_socket(af);

	*len = lo_addr(af, 0, ss);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)ss, *len) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- What a scenario expects --------------------------------------------- */

/*
 * What the module follows besides the tracepoint, from the header: with
 * timewait=1 an active closer's history goes on through TIME_WAIT, with
 * halfopen=1 a server's starts at the SYN (Documentation/tcptrace.rst,
 * "Phases the tracepoint misses"). The expected paths depend on both.
 */
struct mode {
	bool timewait;
	bool halfopen;
};

/* A server's child up to SYN_RECV, with or without the half-open phase. */
static const char *child_start(const struct mode *m)
{
	return m->halfopen ? "LISTEN>NEW_SYN_RECV>SYN_RECV" : "LISTEN>SYN_RECV";
}

/* The request's step comes from a kprobe, in the SYN's softirq. */
#define CHILD_SOFTIRQ_STEPS	"LISTEN>NEW_SYN_RECV NEW_SYN_RECV>SYN_RECV LISTEN>SYN_RECV"

static const char *child_derived(const struct mode *m)
{
	return m->halfopen ? "LISTEN>NEW_SYN_RECV" : NULL;
}

struct expect {
	const char *what;		/* for messages: "client", ... */
	const char *family;
	char local[ADDR_MAX];
	char remote[ADDR_MAX];
	unsigned long long netns;	/* where the socket lives */
	unsigned long long cookie;	/* SO_COOKIE, 0: do not check */
	char path[256];			/* its done history, "" for none */
	/*
	 * Or this one, where the kernel may take either of two ways; its
	 * own flagged steps (derived_steps and timewait_steps are the
	 * first path's).
	 */
	char alt_path[256];
	const char *alt_derived_steps;
	const char *alt_timewait_steps;
	/* steps, "OLD>NEW" separated by spaces, that must (not) be softirq */
	const char *process_steps;
	const char *softirq_steps;
	/* exactly the steps flagged 'd', and those flagged 'w' */
	const char *derived_steps;
	const char *timewait_steps;
	const char *timewait;		/* timewait=, NULL for absent */
	const char *end;		/* end= */
	bool owner_optional;		/* else pid=, tgid=, comm= must be ours */
	unsigned long long min_bytes;	/* bytes_acked and bytes_received at least */
	bool no_bytes;			/* both exactly 0 */
};

/* The network namespace of this process, as an inode number. */
static unsigned long long my_netns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return st.st_ino;
}

static void my_comm(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/comm", "r");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, size, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/* A socket of this netns, expected to leave one done history. */
static void expect_init(struct expect *e, const char *what, const char *family,
			const char *local, const char *remote,
			unsigned long long cookie)
{
	memset(e, 0, sizeof(*e));
	e->what = what;
	e->family = family;
	snprintf(e->local, sizeof(e->local), "%s", local);
	snprintf(e->remote, sizeof(e->remote), "%s", remote);
	e->netns = my_netns();
	e->cookie = cookie;
}

static void __attribute__((format(printf, 2, 3)))
expect_path(struct expect *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->path, sizeof(e->path), fmt, ap);
	va_end(ap);
}

static bool rec_is(const struct rec *r, const struct expect *e)
{
	return r->netns == e->netns && !strcmp(r->family, e->family) &&
	       !strcmp(r->local, e->local) && !strcmp(r->remote, e->remote);
}

static size_t count_done(const struct dump *d, const struct expect *e)
{
	size_t i, n = 0;

	for (i = 0; i < d->nrecs; i++)
		n += d->recs[i].done && rec_is(&d->recs[i], e);
	return n;
}

static size_t count_live(const struct dump *d, const struct expect *e)
{
	size_t i, n = 0;

	for (i = 0; i < d->nrecs; i++)
		n += !d->recs[i].done && rec_is(&d->recs[i], e);
	return n;
}

/* Is the step "OLD>NEW" listed in the space-separated @list? */
static bool step_listed(const char *list, const struct step *s)
{
	char word[64];
	const char *p;
	size_t n;

	if (!list)
		return false;
	n = snprintf(word, sizeof(word), "%s>%s", state_names[s->oldstate],
		     state_names[s->newstate]);
	for (p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static void log_dump(struct __test_metadata *_metadata, const struct dump *d)
{
	const char *p = d->raw, *nl;

	TH_LOG("the device showed (%zu bytes):", d->len);
	for (; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		TH_LOG("  %.*s", (int)(nl - p), p);
	}
}

/* A snapshot of every netns: an all-netns reader of the initial netns. */
static int dump_read_all(struct dump *d)
{
	int fd = open(TCPTRACE_DEVICE, O_RDWR), err;

	memset(d, 0, sizeof(*d));
	if (fd < 0 || write_cmd(fd, TCPTRACE_CMD_ALL_NETNS)) {
		snprintf(d->err, sizeof(d->err), "all-netns reader: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	d->raw = read_fd(fd, 65536, &d->len);
	err = errno;
	close(fd);
	if (!d->raw) {
		snprintf(d->err, sizeof(d->err), "reading: %s", strerror(err));
		return -1;
	}
	return dump_parse(d);
}

/*
 * Poll the device until every expected socket has its done history and no
 * live one (or WAIT_MS passes), then assert them exactly. @all_netns reads
 * through an all-netns reader, for sockets of a netns we left.
 */
static void check_expect(struct __test_metadata *_metadata,
			 struct expect *exp, int nexp, bool all_netns)
{
	struct timespec start, now;
	char comm[64];
	struct dump d;
	int i, k;

	my_comm(comm, sizeof(comm));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		bool complete = true;
		long ms;

		ASSERT_EQ(0, all_netns ? dump_read_all(&d) : dump_read(&d))
			TH_LOG("%s", d.err);
		for (i = 0; i < nexp; i++)
			if (count_done(&d, &exp[i]) < (exp[i].path[0] ? 1U : 0U) ||
			    count_live(&d, &exp[i]))
				complete = false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 +
		     (now.tv_nsec - start.tv_nsec) / 1000000;
		if (complete || ms > WAIT_MS)
			break;
		dump_free(&d);
		usleep(POLL_MS * 1000);
	}

	for (i = 0; i < nexp; i++) {
		struct expect *e = &exp[i];
		int want = e->path[0] ? 1 : 0, n = 0;
		const char *derived, *timewait;
		size_t j;

		for (j = 0; j < d.nrecs; j++) {
			const struct rec *r = &d.recs[j];

			if (!rec_is(r, e))
				continue;
			n++;
			if (!r->done || n > want) {
				log_dump(_metadata, &d);
				ASSERT_TRUE(false)
					TH_LOG("%s %s %s -> %s: unexpected record: %s",
					       e->what, e->family, e->local, e->remote,
					       r->line);
			}
			derived = e->derived_steps;
			timewait = e->timewait_steps;
			if (e->alt_path[0] && !strcmp(e->alt_path, r->states)) {
				derived = e->alt_derived_steps;
				timewait = e->alt_timewait_steps;
			} else if (strcmp(e->path, r->states)) {
				log_dump(_metadata, &d);
				ASSERT_STREQ(e->path, r->states)
					TH_LOG("%s %s -> %s: %s%s%s", e->what, e->local,
					       e->remote, r->line,
					       e->alt_path[0] ? "; or: " : "", e->alt_path);
			}
			if (e->cookie)
				ASSERT_EQ(e->cookie, r->id)
					TH_LOG("%s: id is not the socket cookie: %s",
					       e->what, r->line);
			ASSERT_EQ(0ULL, r->dropped) TH_LOG("%s", r->line);
			ASSERT_FALSE(r->seen_at_load) TH_LOG("%s", r->line);
			ASSERT_EQ(0, r->nflagged)
				TH_LOG("%s: a step is flagged unexpected: %s", e->what, r->line);
			ASSERT_EQ((unsigned long long)getuid(), r->uid) TH_LOG("%s", r->line);
			if (e->end)
				ASSERT_STREQ(e->end, end_names[r->end])
					TH_LOG("%s: how it ended: %s", e->what, r->line);
			ASSERT_STREQ(e->timewait ? e->timewait : "", r->timewait)
				TH_LOG("%s: timewait=: %s", e->what, r->line);
			if (!e->owner_optional)
				ASSERT_TRUE(r->has_owner)
					TH_LOG("%s: no owner, but we changed its state: %s",
					       e->what, r->line);
			if (r->has_owner) {
				ASSERT_EQ((unsigned long long)getpid(), r->pid) TH_LOG("%s", r->line);
				ASSERT_EQ((unsigned long long)getpid(), r->tgid) TH_LOG("%s", r->line);
				ASSERT_STREQ(comm, r->comm) TH_LOG("%s", r->line);
			}
			if (e->no_bytes) {
				ASSERT_EQ(0ULL, r->bytes_acked) TH_LOG("%s", r->line);
				ASSERT_EQ(0ULL, r->bytes_received) TH_LOG("%s", r->line);
			}
			ASSERT_LE(e->min_bytes, r->bytes_acked) TH_LOG("%s", r->line);
			ASSERT_LE(e->min_bytes, r->bytes_received) TH_LOG("%s", r->line);
			for (k = 0; k < r->nsteps; k++) {
				const struct step *s = &r->steps[k];
				const char *o = state_names[s->oldstate];
				const char *nw = state_names[s->newstate];

				if (step_listed(e->process_steps, s))
					ASSERT_FALSE(s->softirq)
						TH_LOG("%s: step %s>%s ran in a syscall, "
						       "not in softirq: %s", e->what, o, nw,
						       r->line);
				if (step_listed(e->softirq_steps, s))
					ASSERT_TRUE(s->softirq)
						TH_LOG("%s: step %s>%s runs in softirq: %s",
						       e->what, o, nw, r->line);
				ASSERT_EQ(step_listed(derived, s), s->derived)
					TH_LOG("%s: step %s>%s: flag d: %s", e->what, o,
					       nw, r->line);
				ASSERT_EQ(step_listed(timewait, s), s->timewait)
					TH_LOG("%s: step %s>%s: flag w: %s", e->what, o,
					       nw, r->line);
			}
		}
		if (n != want)
			log_dump(_metadata, &d);
		ASSERT_EQ(want, n)
			TH_LOG("%s %s %s -> %s: %d done histories, expected %d (%s)",
			       e->what, e->family, e->local, e->remote, n, want,
			       e->path);
	}
	/* Distinct sockets have distinct cookies. */
	for (i = 0; i < nexp; i++)
		for (k = i + 1; k < nexp; k++)
			if (exp[i].cookie && exp[k].cookie)
				ASSERT_NE(exp[i].cookie, exp[k].cookie);
	dump_free(&d);
}

/* ---- Fixture setup: the module loaded, done histories cleared ----------- */

/* Load the module if its device is not there: $TCPTRACE_KO, else modprobe. */
static const char *ensure_module(void)
{
	const char *ko = getenv("TCPTRACE_KO");

	if (!access(TCPTRACE_DEVICE, F_OK))
		return NULL;
	if (geteuid())
		return "not root";
	if (ko && *ko) {
		int fd = open(ko, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return "cannot open $TCPTRACE_KO";
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
			close(fd);
			return "cannot load $TCPTRACE_KO";
		}
		close(fd);
	} else if (system("modprobe -q tcptrace") != 0) {
		return "no $TCPTRACE_KO and modprobe tcptrace failed";
	}
	if (access(TCPTRACE_DEVICE, F_OK))
		return TCPTRACE_DEVICE " missing after loading the module";
	return NULL;
}

static void read_mode(struct __test_metadata *_metadata, struct mode *m)
{
	struct dump d;

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	m->timewait = d.hdr.timewait;
	m->halfopen = d.hdr.halfopen;
	dump_free(&d);
}

#define SETUP_DEVICE() do {						\
	const char *why = ensure_module();				\
									\
	if (why) {							\
		self->skip = true;					\
		SKIP(return, "%s", why);				\
	}								\
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_CLEAR "\n",			\
			       strlen(TCPTRACE_CMD_CLEAR) + 1))		\
		TH_LOG("write clear: %s", strerror(errno));		\
	read_mode(_metadata, &self->mode);				\
} while (0)

/* kselftest_harness.h of 6.1 runs the test body after a SKIP in setup. */
#define SKIPPED_IN_SETUP() do { if (self->skip) return; } while (0)

/* ---- Sockets in a network namespace of their own ------------------------ */

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return ret;
}

/*
 * A graceful close leaves the active closer in TIME_WAIT for 60 seconds,
 * and with timewait=1 its history is done only after it. Such scenarios
 * run in a netns of their own and leave it: its teardown kills the
 * timewait socket (timewait=killed) at once.
 */
static int netns_enter(struct __test_metadata *_metadata)
{
	int init_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, init_fd);
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	ASSERT_EQ(0, lo_up()) TH_LOG("lo up: %s", strerror(errno));
	return init_fd;
}

static void netns_leave(struct __test_metadata *_metadata, int init_fd)
{
	ASSERT_EQ(0, setns(init_fd, CLONE_NEWNET)) TH_LOG("setns: %s", strerror(errno));
	close(init_fd);
}

/* ---- Scenarios over loopback, for IPv4 and IPv6 -------------------------- */

FIXTURE(tcptrace) {
	bool skip;
	struct mode mode;
};

FIXTURE_VARIANT(tcptrace) {
	int af;
	const char *family;
	const char *any;	/* the unspecified address, port 0 */
};

FIXTURE_VARIANT_ADD(tcptrace, ipv4) {
	.af = AF_INET,
	.family = "ipv4",
	.any = "0.0.0.0:0",
};

FIXTURE_VARIANT_ADD(tcptrace, ipv6) {
	.af = AF_INET6,
	.family = "ipv6",
	.any = "[::]:0",
};

FIXTURE_SETUP(tcptrace)
{
	SETUP_DEVICE();
}

FIXTURE_TEARDOWN(tcptrace)
{
}

struct conn {
	int lfd, cfd, afd;
	char laddr[ADDR_MAX], caddr[ADDR_MAX];
	unsigned long long lcookie, ccookie, acookie;
};

/* Listener, client, accepted child; one round trip of data. */
static void conn_open(struct __test_metadata *_metadata, int af, struct conn *c)
{
	struct sockaddr_storage ss;
	char buf[4];
	socklen_t len;

	c->lfd = tcp_listener(af, &ss, &len);
	ASSERT_LE(0, c->lfd) TH_LOG("listener: %s", strerror(errno));
	addr_text(&ss, c->laddr, sizeof(c->laddr));
	/*
	 * Give the listener its cookie now: a child is a copy of the
	 * listener, and must not come out with the listener's id.
	 */
	c->lcookie = sock_cookie(c->lfd);
	ASSERT_NE(0ULL, c->lcookie);

	c->cfd = tcp_socket(af);
	ASSERT_LE(0, c->cfd);
	ASSERT_EQ(0, connect(c->cfd, (struct sockaddr *)&ss, len))
		TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(0, local_text(c->cfd, c->caddr, sizeof(c->caddr)));
	c->afd = accept(c->lfd, NULL, NULL);
	ASSERT_LE(0, c->afd) TH_LOG("accept: %s", strerror(errno));
	c->ccookie = sock_cookie(c->cfd);
	c->acookie = sock_cookie(c->afd);
	ASSERT_NE(0ULL, c->ccookie);
	ASSERT_NE(0ULL, c->acookie);

	ASSERT_EQ(4, send(c->cfd, "ping", 4, 0));
	ASSERT_EQ(4, recv(c->afd, buf, 4, MSG_WAITALL));
	ASSERT_EQ(4, send(c->afd, "pong", 4, 0));
	ASSERT_EQ(4, recv(c->cfd, buf, 4, MSG_WAITALL));
}

/*
 * The client closes first, gracefully; the server reads the FIN, then
 * closes: no simultaneous close.
 */
static void conn_close(struct __test_metadata *_metadata, struct conn *c)
{
	char buf[1];

	ASSERT_EQ(0, set_abortive(c->cfd, false));
	ASSERT_EQ(0, set_abortive(c->afd, false));
	ASSERT_EQ(0, close(c->cfd));
	ASSERT_EQ(0, recv(c->afd, buf, 1, 0)) TH_LOG("recv: %s", strerror(errno));
	ASSERT_EQ(0, close(c->afd));
	ASSERT_EQ(0, close(c->lfd));
}

/* The client aborts with SO_LINGER {1, 0}: a RST, and no TIME_WAIT anywhere. */
static void conn_abort(struct __test_metadata *_metadata, struct conn *c)
{
	char buf[1];

	ASSERT_EQ(0, set_abortive(c->cfd, true));
	ASSERT_EQ(0, close(c->cfd));
	/* The RST reached the child. */
	ASSERT_EQ(-1, recv(c->afd, buf, 1, 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, close(c->afd));
	ASSERT_EQ(0, close(c->lfd));
}

/* What conn_open() then conn_close() leave. */
static void expect_graceful(struct expect exp[3], const struct mode *m,
			    const char *family, const char *any, const struct conn *c)
{
	expect_init(&exp[0], "client", family, c->caddr, c->laddr, c->ccookie);
	exp[0].process_steps = "CLOSE>SYN_SENT ESTABLISHED>FIN_WAIT1";
	exp[0].end = "active_close";
	exp[0].min_bytes = 4;
	if (m->timewait) {
		/*
		 * The tracepoint's FIN_WAIT2>CLOSE is the hand-over to a
		 * timewait socket (flagged w), in the state it takes over:
		 *
		 * - FIN_WAIT2 when the ACK of our FIN finds the orphan with
		 *   no FIN to wait for: in softirq after close(), or during
		 *   close() before its own FIN_WAIT2 check; the server's
		 *   FIN then moves the timewait socket to TIME_WAIT (d);
		 * - TIME_WAIT when the full socket is still there for the
		 *   server's FIN: the ACK went to the backlog that
		 *   release_sock() processes at the end of close() (an
		 *   owned socket waits in FIN_WAIT2), or rode with the FIN.
		 *
		 * The netns teardown then kills the timewait socket (d).
		 */
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2"
			    ">FIN_WAIT2>TIME_WAIT>CLOSE");
		exp[0].timewait_steps = "FIN_WAIT2>FIN_WAIT2";
		exp[0].derived_steps = "FIN_WAIT2>TIME_WAIT TIME_WAIT>CLOSE";
		snprintf(exp[0].alt_path, sizeof(exp[0].alt_path),
			 "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE");
		exp[0].alt_timewait_steps = "FIN_WAIT2>TIME_WAIT";
		exp[0].alt_derived_steps = "TIME_WAIT>CLOSE";
		exp[0].timewait = "killed";
	} else {
		/* FIN_WAIT2>CLOSE is the hand-over to the timewait socket. */
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE");
	}

	expect_init(&exp[1], "server child", family, c->laddr, c->caddr, c->acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE", child_start(m));
	exp[1].process_steps = "CLOSE_WAIT>LAST_ACK";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].derived_steps = child_derived(m);
	exp[1].end = "passive_close";
	exp[1].min_bytes = 4;

	expect_init(&exp[2], "listener", family, c->laddr, any, c->lcookie);
	expect_path(&exp[2], "CLOSE>LISTEN>CLOSE");
	exp[2].process_steps = "CLOSE>LISTEN LISTEN>CLOSE";
	exp[2].end = "listener_closed";
	exp[2].no_bytes = true;
}

/* What conn_open() then conn_abort() leave. */
static void expect_aborted(struct expect exp[3], const struct mode *m,
			   const char *family, const char *any, const struct conn *c)
{
	expect_init(&exp[0], "aborting client", family, c->caddr, c->laddr, c->ccookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT ESTABLISHED>CLOSE";
	exp[0].end = "aborted";
	exp[0].min_bytes = 4;

	/*
	 * Every step of the child may run in softirq (the RST too), so it
	 * may have no owner; if it has one, that is us.
	 */
	expect_init(&exp[1], "reset child", family, c->laddr, c->caddr, c->acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE", child_start(m));
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].derived_steps = child_derived(m);
	exp[1].end = "reset_received";
	exp[1].owner_optional = true;
	exp[1].min_bytes = 4;

	expect_init(&exp[2], "listener", family, c->laddr, any, c->lcookie);
	expect_path(&exp[2], "CLOSE>LISTEN>CLOSE");
	exp[2].process_steps = "CLOSE>LISTEN LISTEN>CLOSE";
	exp[2].end = "listener_closed";
	exp[2].no_bytes = true;
}

/*
 * Scenarios 1 and 2: connect, accept, the client closes first, in a netns
 * of our own. The child and the listener are done before we leave it; the
 * client, with timewait=1, when its teardown kills the timewait socket.
 */
TEST_F_TIMEOUT(tcptrace, client_closes_first, 90)
{
	struct expect exp[3];
	struct conn c;
	int init_fd;

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	conn_close(_metadata, &c);
	expect_graceful(exp, &self->mode, variant->family, variant->any, &c);
	check_expect(_metadata, exp + 1, 2, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
}

/* Scenario 3: connect to a bound port nobody listens on: RST. */
TEST_F(tcptrace, refused_connect)
{
	struct sockaddr_storage ss, cs;
	struct expect exp[2];
	char raddr[ADDR_MAX], caddr[ADDR_MAX];
	unsigned long long cookie;
	socklen_t len, clen;
	int rfd, cfd;

	SKIPPED_IN_SETUP();
	/* Hold a port: bound, never listening, so a SYN to it gets a RST. */
	rfd = tcp_socket(variant->af);
	ASSERT_LE(0, rfd);
	len = lo_addr(variant->af, 0, &ss);
	ASSERT_EQ(0, bind(rfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, getsockname(rfd, (struct sockaddr *)&ss, &len));
	addr_text(&ss, raddr, sizeof(raddr));

	/*
	 * Bind the client too, so that its address survives the failed
	 * connect() (which resets an automatically chosen source address).
	 */
	cfd = tcp_socket(variant->af);
	ASSERT_LE(0, cfd);
	clen = lo_addr(variant->af, 0, &cs);
	ASSERT_EQ(0, bind(cfd, (struct sockaddr *)&cs, clen));
	ASSERT_EQ(0, local_text(cfd, caddr, sizeof(caddr)));
	cookie = sock_cookie(cfd);
	ASSERT_NE(0ULL, cookie);
	ASSERT_EQ(-1, connect(cfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(ECONNREFUSED, errno);

	expect_init(&exp[0], "refused client", variant->family, caddr, raddr, cookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT";
	exp[0].end = "refused";
	exp[0].no_bytes = true;
	/* The bound, non-listening socket never changes state. */
	expect_init(&exp[1], "bound socket", variant->family, raddr, variant->any,
		    sock_cookie(rfd));
	check_expect(_metadata, exp, 2, false);

	/* close() of a socket already in CLOSE reports nothing more. */
	ASSERT_EQ(0, close(cfd));
	ASSERT_EQ(0, close(rfd));
	check_expect(_metadata, exp, 2, false);
}

/* Scenario 4: abortive close, SO_LINGER {1, 0}: RST instead of FIN. */
TEST_F(tcptrace, abortive_close)
{
	struct expect exp[3];
	struct conn c;

	SKIPPED_IN_SETUP();
	conn_open(_metadata, variant->af, &c);
	conn_abort(_metadata, &c);
	expect_aborted(exp, &self->mode, variant->family, variant->any, &c);
	check_expect(_metadata, exp, 3, false);
}

/* ---- The device and the format -------------------------------------------- */

FIXTURE(device) {
	bool skip;
	struct mode mode;
};

FIXTURE_SETUP(device)
{
	SETUP_DEVICE();
}

FIXTURE_TEARDOWN(device)
{
}

/* One whole IPv4 connection, aborted by the client: three done histories. */
static void one_connection(struct __test_metadata *_metadata, const struct mode *m)
{
	struct expect exp[3];
	struct conn c;

	conn_open(_metadata, AF_INET, &c);
	conn_abort(_metadata, &c);
	/* Wait until all three are done, so that the device is quiet. */
	expect_aborted(exp, m, "ipv4", "0.0.0.0:0", &c);
	check_expect(_metadata, exp, 3, false);
}

/* The lines of @d that are done records, as one string. */
static char *done_lines(const struct dump *d)
{
	size_t i, n = 1;
	char *s;

	for (i = 0; i < d->nrecs; i++)
		n += strlen(d->recs[i].line) + 1;
	s = calloc(1, n);
	for (i = 0; s && i < d->nrecs; i++) {
		if (!d->recs[i].done)
			continue;
		strcat(s, d->recs[i].line);
		strcat(s, "\n");
	}
	return s;
}

/* A copy of a read with the header's now= value blanked: it differs per snapshot. */
static char *without_now(const char *raw)
{
	char *s = strdup(raw), *p, *q, *nl;

	if (!s)
		return NULL;
	nl = strchr(s, '\n');
	p = strstr(s, " now=");
	if (p && (!nl || p < nl)) {
		p += 5;
		for (q = p; *q >= '0' && *q <= '9'; q++)
			;
		memmove(p, q, strlen(q) + 1);
	}
	return s;
}

static const struct rec *find_rec(const struct dump *d, const char *family,
				  const char *local, const char *remote, bool done)
{
	size_t i;

	for (i = 0; i < d->nrecs; i++) {
		const struct rec *r = &d->recs[i];

		if (r->done == done && !strcmp(r->family, family) &&
		    !strcmp(r->local, local) && !strcmp(r->remote, remote))
			return r;
	}
	return NULL;
}

/* Scenario 5a: every line is well-formed, live and done records included. */
TEST_F(device, format)
{
	const struct rec *r;
	char path[256];
	struct dump d;
	struct conn c;
	size_t i;
	int fd;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	/* An open connection: three live histories while we read. */
	conn_open(_metadata, AF_INET, &c);

	/*
	 * The header counts for all network namespaces: compare it with what
	 * an all-netns reader sees. The device is quiet meanwhile.
	 */
	fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_ALL_NETNS)) TH_LOG("%s", strerror(errno));
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(fd, 65536, &d.len);
	ASSERT_NE(NULL, d.raw);
	close(fd);
	ASSERT_EQ(0, dump_parse(&d)) {
		log_dump(_metadata, &d);
		TH_LOG("%s", d.err);
	}
	ASSERT_EQ(d.hdr.done, (unsigned long long)d.ndone) log_dump(_metadata, &d);
	ASSERT_EQ(d.hdr.live, (unsigned long long)d.nlive) log_dump(_metadata, &d);
	dump_free(&d);

	ASSERT_EQ(0, dump_read(&d)) {
		log_dump(_metadata, &d);
		TH_LOG("%s", d.err);
	}
	ASSERT_EQ(TCPTRACE_FORMAT_VERSION, (int)d.hdr.format);
	ASSERT_EQ(3ULL, d.hdr.done);
	ASSERT_LE(3ULL, d.hdr.live);
	ASSERT_LE(d.hdr.live, d.hdr.live_max);
	ASSERT_LE(d.hdr.done, d.hdr.ring_size);
	ASSERT_LE(d.hdr.completed, d.hdr.created);
	ASSERT_LE(d.hdr.created, d.hdr.events);
	ASSERT_LT(0ULL, d.hdr.mem_bytes);

	/* Done histories oldest first, seq consecutive (nothing overwritten). */
	for (i = 0; i < d.nrecs; i++) {
		if (i && d.recs[i].done)
			ASSERT_TRUE(d.recs[i - 1].done) TH_LOG("done after live: %s",
							       d.recs[i].line);
		if (i && d.recs[i].done)
			ASSERT_EQ(d.recs[i - 1].seq + 1, d.recs[i].seq)
				TH_LOG("%s", d.recs[i].line);
		ASSERT_LE(d.recs[i].t0, d.hdr.now) TH_LOG("%s", d.recs[i].line);
		/* A reader sees its own network namespace only. */
		ASSERT_EQ(my_netns(), d.recs[i].netns) TH_LOG("%s", d.recs[i].line);
	}

	/* Live histories: no seq=, end= or counters (the parser checks). */
	r = find_rec(&d, "ipv4", c.laddr, "0.0.0.0:0", false);
	ASSERT_NE(NULL, r) log_dump(_metadata, &d);
	ASSERT_STREQ("CLOSE>LISTEN", r->states);
	ASSERT_EQ(c.lcookie, r->id);
	ASSERT_TRUE(r->has_owner) TH_LOG("listen() was ours: %s", r->line);
	ASSERT_EQ((unsigned long long)getpid(), r->pid);
	r = find_rec(&d, "ipv4", c.caddr, c.laddr, false);
	ASSERT_NE(NULL, r) log_dump(_metadata, &d);
	ASSERT_STREQ("CLOSE>SYN_SENT>ESTABLISHED", r->states);
	ASSERT_EQ(c.ccookie, r->id);
	ASSERT_TRUE(r->has_owner) TH_LOG("connect() was ours: %s", r->line);
	ASSERT_EQ((unsigned long long)getpid(), r->pid);
	r = find_rec(&d, "ipv4", c.laddr, c.caddr, false);
	ASSERT_NE(NULL, r) log_dump(_metadata, &d);
	snprintf(path, sizeof(path), "%s>ESTABLISHED", child_start(&self->mode));
	ASSERT_STREQ(path, r->states);
	ASSERT_EQ(c.acookie, r->id);
	/*
	 * All its steps ran in softirq. With the kprobes, accept() names its
	 * owner, us; without, nobody owns it until it is closed.
	 */
	if (self->mode.halfopen) {
		ASSERT_TRUE(r->has_owner) TH_LOG("accept() was ours: %s", r->line);
		ASSERT_EQ((unsigned long long)getpid(), r->pid);
	} else {
		ASSERT_FALSE(r->has_owner) TH_LOG("%s", r->line);
	}
	dump_free(&d);

	conn_abort(_metadata, &c);
}

/* Scenario 5b: reading to EOF ends, and EOF stays EOF. */
TEST_F(device, read_to_eof)
{
	char buf[4096];
	size_t total = 0, reads = 0;
	ssize_t n;
	int fd;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	fd = open(TCPTRACE_DEVICE, O_RDONLY);
	ASSERT_LE(0, fd);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += n;
		reads++;
		ASSERT_LT(total, (size_t)READ_MAX) TH_LOG("the read never ends");
	}
	ASSERT_EQ(0, n) TH_LOG("read: %s", strerror(errno));
	ASSERT_LT(0, (int)total);
	ASSERT_EQ(0, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, read(fd, buf, sizeof(buf)));
	close(fd);
}

/* Scenario 5c: two reads in a row show the same done histories. */
TEST_F(device, reads_are_repeatable)
{
	char *a, *b;
	struct dump d1, d2;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	ASSERT_EQ(0, dump_read(&d1)) TH_LOG("%s", d1.err);
	ASSERT_EQ(0, dump_read(&d2)) TH_LOG("%s", d2.err);
	ASSERT_EQ(3, (int)d1.ndone);
	a = done_lines(&d1);
	b = done_lines(&d2);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_STREQ(a, b);
	free(a);
	free(b);
	dump_free(&d1);
	dump_free(&d2);
}

/*
 * Scenario 5d: one-byte reads reassemble the same bytes as one big read,
 * and stay within the snapshot their first read took even when histories
 * complete meanwhile; lseek(0, SEEK_SET) reads that snapshot again.
 */
TEST_F(device, short_reads_and_seek)
{
	char *small = NULL, *big, *again, *a, *b, *mid;
	size_t len = 0, cap = 0, blen, alen;
	struct dump after;
	off_t off;
	ssize_t n;
	int fd;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);

	fd = open(TCPTRACE_DEVICE, O_RDONLY);
	ASSERT_LE(0, fd);
	cap = 4096;
	small = malloc(cap);
	ASSERT_NE(NULL, small);
	ASSERT_EQ(1, read(fd, small, 1));
	len = 1;

	/* A fresh open read in one go: the same snapshot, now= aside. */
	big = read_dev(1 << 20, &blen);
	ASSERT_NE(NULL, big);

	/* Histories complete while the one-byte reader is mid-snapshot. */
	one_connection(_metadata, &self->mode);

	for (;;) {
		if (len + 2 > cap) {
			cap *= 2;
			small = realloc(small, cap);
			ASSERT_NE(NULL, small);
		}
		n = read(fd, small + len, 1);
		ASSERT_LE(0, n) TH_LOG("read: %s", strerror(errno));
		if (!n)
			break;
		len += n;
		ASSERT_LT(len, (size_t)READ_MAX);
	}
	small[len] = '\0';
	a = without_now(small);
	b = without_now(big);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_STREQ(b, a) TH_LOG("one-byte reads differ from one big read");

	/* The new histories are there for a new open, not for the old one. */
	ASSERT_EQ(0, dump_read(&after)) TH_LOG("%s", after.err);
	ASSERT_EQ(6, (int)after.ndone) log_dump(_metadata, &after);
	ASSERT_EQ(6ULL, after.hdr.done);

	/* lseek to 0 gives the very same snapshot, now= included. */
	off = lseek(fd, 0, SEEK_SET);
	ASSERT_EQ(0, (int)off) TH_LOG("lseek: %s", strerror(errno));
	again = read_fd(fd, 7, &alen);
	ASSERT_NE(NULL, again);
	ASSERT_EQ(len, alen);
	ASSERT_STREQ(small, again);

	/* SEEK_SET and SEEK_CUR within it. */
	ASSERT_EQ((off_t)(len / 2), lseek(fd, len / 2, SEEK_SET));
	ASSERT_EQ((off_t)(len / 2 + 3), lseek(fd, 3, SEEK_CUR));
	mid = read_fd(fd, 4096, &alen);
	ASSERT_NE(NULL, mid);
	ASSERT_EQ(len - len / 2 - 3, alen);
	ASSERT_STREQ(small + len / 2 + 3, mid);

	free(mid);
	free(again);
	dump_free(&after);
	free(a);
	free(b);
	free(big);
	free(small);
	close(fd);
}

/* Scenario 5e: clear forgets done histories, and only those. */
TEST_F(device, clear)
{
	unsigned long long last_seq;
	struct dump d;
	struct conn c;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	conn_open(_metadata, AF_INET, &c);
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(3, (int)d.ndone);
	last_seq = d.recs[d.ndone - 1].seq;
	dump_free(&d);

	/* Without the trailing newline this time. */
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_CLEAR, strlen(TCPTRACE_CMD_CLEAR)))
		TH_LOG("write: %s", strerror(errno));
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(0, (int)d.ndone) log_dump(_metadata, &d);
	ASSERT_EQ(0ULL, d.hdr.done);
	/* Live histories stay. */
	ASSERT_NE(NULL, find_rec(&d, "ipv4", c.caddr, c.laddr, false))
		log_dump(_metadata, &d);
	ASSERT_NE(NULL, find_rec(&d, "ipv4", c.laddr, c.caddr, false));
	ASSERT_NE(NULL, find_rec(&d, "ipv4", c.laddr, "0.0.0.0:0", false));
	dump_free(&d);

	/* Later done histories go on counting seq: the gap shows the clear. */
	conn_abort(_metadata, &c);
	one_connection(_metadata, &self->mode);
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_LT(last_seq, d.recs[0].seq) log_dump(_metadata, &d);
	dump_free(&d);
}

/* Scenario 5f: anything but a known command fails with EINVAL, harmlessly. */
TEST_F(device, bad_commands)
{
	static const char *const bad[] = {
		"bogus", "CLEAR", "clear now", "clear\nclear", " clear", "\n",
	};
	char big[65];
	struct dump d;
	unsigned int i;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(-1, dev_write(bad[i], strlen(bad[i])))
			TH_LOG("command '%s' was accepted", bad[i]);
		ASSERT_EQ(EINVAL, errno) TH_LOG("command '%s'", bad[i]);
	}
	/* Longer than 64 bytes, even if it starts like a command. */
	memset(big, ' ', sizeof(big));
	memcpy(big, TCPTRACE_CMD_CLEAR, strlen(TCPTRACE_CMD_CLEAR));
	ASSERT_EQ(-1, dev_write(big, sizeof(big)));
	ASSERT_EQ(EINVAL, errno);

	/* None of them cleared anything. */
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(3, (int)d.ndone) log_dump(_metadata, &d);
	dump_free(&d);
}

/*
 * An IPv6 listener on [::] takes an IPv4 connection: the child is an ipv6
 * socket with v4-mapped addresses, the client an ipv4 one. A graceful
 * close, so in a netns of our own (see netns_enter()).
 */
TEST_F_TIMEOUT(device, v4_mapped, 90)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	struct sockaddr_storage ss;
	struct expect exp[3];
	struct conn c;
	socklen_t len = sizeof(any6);
	int off = 0, init_fd;
	unsigned short port;
	char *colon, buf[4];

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	c.lfd = tcp_socket(AF_INET6);
	ASSERT_LE(0, c.lfd);
	ASSERT_EQ(0, setsockopt(c.lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)));
	ASSERT_EQ(0, bind(c.lfd, (struct sockaddr *)&any6, sizeof(any6)));
	ASSERT_EQ(0, listen(c.lfd, 8));
	ASSERT_EQ(0, getsockname(c.lfd, (struct sockaddr *)&any6, &len));
	port = ntohs(any6.sin6_port);
	c.lcookie = sock_cookie(c.lfd);

	c.cfd = tcp_socket(AF_INET);
	ASSERT_LE(0, c.cfd);
	len = lo_addr(AF_INET, port, &ss);
	ASSERT_EQ(0, connect(c.cfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, local_text(c.cfd, c.caddr, sizeof(c.caddr)));
	c.afd = accept(c.lfd, NULL, NULL);
	ASSERT_LE(0, c.afd);
	c.ccookie = sock_cookie(c.cfd);
	c.acookie = sock_cookie(c.afd);
	ASSERT_EQ(4, send(c.cfd, "ping", 4, 0));
	ASSERT_EQ(4, recv(c.afd, buf, 4, MSG_WAITALL));
	ASSERT_EQ(4, send(c.afd, "pong", 4, 0));
	ASSERT_EQ(4, recv(c.cfd, buf, 4, MSG_WAITALL));
	/* The client's view: plain IPv4. */
	snprintf(c.laddr, sizeof(c.laddr), "127.0.0.1:%u", port);
	conn_close(_metadata, &c);

	expect_graceful(exp, &self->mode, "ipv4", "", &c);
	/* The child sees both ends as v4-mapped IPv6 addresses. */
	exp[1].family = "ipv6";
	snprintf(exp[1].local, sizeof(exp[1].local), "[::ffff:127.0.0.1]:%u", port);
	colon = strrchr(c.caddr, ':');
	ASSERT_NE(NULL, colon);
	snprintf(exp[1].remote, sizeof(exp[1].remote), "[::ffff:%.*s]%s",
		 (int)(colon - c.caddr), c.caddr, colon);
	/* The listener is a dual-stack one on [::]. */
	exp[2].family = "ipv6";
	snprintf(exp[2].local, sizeof(exp[2].local), "[::]:%u", port);
	snprintf(exp[2].remote, sizeof(exp[2].remote), "[::]:0");

	check_expect(_metadata, exp + 1, 2, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
}

/* ---- Following: done histories as they complete, like /dev/kmsg ---------- */

/* Open a follower: O_RDWR, "follow", then a first read of the header alone. */
static int follow_open(struct __test_metadata *_metadata, int flags)
{
	char buf[4 * TCPTRACE_LINE_MAX];
	const char *err;
	struct hdr h;
	ssize_t n;
	int fd;

	fd = open(TCPTRACE_DEVICE, O_RDWR | flags);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ((ssize_t)strlen(TCPTRACE_CMD_FOLLOW),
		  write(fd, TCPTRACE_CMD_FOLLOW, strlen(TCPTRACE_CMD_FOLLOW)))
		TH_LOG("write follow: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n) TH_LOG("first read: %s", strerror(errno));
	buf[n] = '\0';
	ASSERT_EQ(buf + n - 1, strchr(buf, '\n'))
		TH_LOG("the first read is not the header line alone: %s", buf);
	buf[n - 1] = '\0';
	memset(&h, 0, sizeof(h));
	err = parse_header(&h, buf);
	ASSERT_EQ(NULL, err) TH_LOG("%s: %s", err, buf);
	return fd;
}

/*
 * Read a non-blocking follower until EAGAIN, @size bytes at a time, into
 * @d (records only). Every read must return whole lines. Returns 0 at
 * EAGAIN, or the errno that stopped it (EPIPE...), with what came before
 * it in @d. @reads counts the reads that returned data.
 */
static int follow_drain(struct __test_metadata *_metadata, int fd, size_t size,
			struct dump *d, int *reads)
{
	size_t cap = 0;
	char *buf = malloc(size);
	int ret = 0;

	memset(d, 0, sizeof(*d));
	if (reads)
		*reads = 0;
	ASSERT_NE(NULL, buf);
	for (;;) {
		ssize_t n = read(fd, buf, size);

		if (n < 0) {
			ret = errno == EAGAIN ? 0 : errno;
			break;
		}
		ASSERT_NE(0, n) TH_LOG("a follower read returned 0 (end of file)");
		ASSERT_EQ('\n', buf[n - 1]) TH_LOG("a follower read ended mid-line");
		if (reads)
			(*reads)++;
		if (d->len + n + 1 > cap) {
			cap = (d->len + n + 1) * 2;
			d->raw = realloc(d->raw, cap);
			ASSERT_NE(NULL, d->raw);
		}
		memcpy(d->raw + d->len, buf, n);
		d->len += n;
		d->raw[d->len] = '\0';
	}
	free(buf);
	if (!d->raw)
		d->raw = strdup("");
	ASSERT_EQ(0, dump_parse_lines(d, false)) TH_LOG("%s", d->err);
	/* A follower streams done histories only, oldest first. */
	for (size_t i = 0; i < d->nrecs; i++) {
		ASSERT_TRUE(d->recs[i].done) TH_LOG("%s", d->recs[i].line);
		if (i)
			ASSERT_EQ(d->recs[i - 1].seq + 1, d->recs[i].seq)
				TH_LOG("%s", d->recs[i].line);
	}
	return ret;
}

/* A bound TCP port nobody listens on: connecting to it is refused. */
static int refusing_port(struct __test_metadata *_metadata,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = tcp_socket(AF_INET);

	ASSERT_LE(0, fd);
	*len = lo_addr(AF_INET, 0, ss);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)ss, *len));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)ss, len));
	return fd;
}

/* @n refused connects: one done history (CLOSE>SYN_SENT>CLOSE) each. */
static void refused_connects(struct __test_metadata *_metadata,
			     const struct sockaddr_storage *ss, socklen_t len, int n)
{
	while (n--) {
		int fd = tcp_socket(AF_INET);

		ASSERT_LE(0, fd);
		ASSERT_EQ(-1, connect(fd, (const struct sockaddr *)ss, len));
		ASSERT_EQ(ECONNREFUSED, errno);
		close(fd);
	}
}

static int count_states(const struct dump *d, const char *states)
{
	size_t i;
	int n = 0;

	for (i = 0; i < d->nrecs; i++)
		n += !strcmp(d->recs[i].states, states);
	return n;
}

/* Whole records as they complete; EAGAIN, poll(), EINVAL for a small buffer. */
TEST_F(device, follow_stream)
{
	struct pollfd pfd = { .events = POLLIN | POLLPRI };
	char small[16], buf[4096], path[256];
	struct dump d;
	struct conn c;
	int reads;

	SKIPPED_IN_SETUP();
	pfd.fd = follow_open(_metadata, O_NONBLOCK);
	/* Everything was cleared: nothing to read yet. */
	ASSERT_EQ(-1, read(pfd.fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents 0x%x", pfd.revents);

	conn_open(_metadata, AF_INET, &c);	/* live histories are not streamed */
	one_connection(_metadata, &self->mode);
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(POLLIN, pfd.revents & (POLLIN | POLLERR | POLLPRI));

	/* A buffer too small for the next record: EINVAL, nothing consumed. */
	ASSERT_EQ(-1, read(pfd.fd, small, sizeof(small)));
	ASSERT_EQ(EINVAL, errno);

	/* As many whole records as fit: all three in one read. */
	ASSERT_EQ(0, follow_drain(_metadata, pfd.fd, 1 << 20, &d, &reads));
	ASSERT_EQ(3, (int)d.nrecs) log_dump(_metadata, &d);
	ASSERT_EQ(1, reads);
	snprintf(path, sizeof(path), "%s>ESTABLISHED>CLOSE", child_start(&self->mode));
	ASSERT_EQ(1, count_states(&d, "CLOSE>SYN_SENT>ESTABLISHED>CLOSE"));
	ASSERT_EQ(1, count_states(&d, path));
	ASSERT_EQ(1, count_states(&d, "CLOSE>LISTEN>CLOSE"));
	dump_free(&d);
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents 0x%x", pfd.revents);

	conn_abort(_metadata, &c);
	close(pfd.fd);
}

/* A blocking follower sleeps until a history completes. */
TEST_F(device, follow_blocks)
{
	struct sockaddr_storage ss;
	char buf[4096];
	socklen_t len;
	int fd, rfd, status;
	ssize_t n;
	pid_t pid;

	SKIPPED_IN_SETUP();
	rfd = refusing_port(_metadata, &ss, &len);
	fd = follow_open(_metadata, 0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(300 * 1000);
		refused_connects(_metadata, &ss, len, 1);
		_exit(0);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n) TH_LOG("read: %s", strerror(errno));
	buf[n] = '\0';
	ASSERT_EQ('\n', buf[n - 1]);
	ASSERT_EQ(0, strncmp(buf, "done ", 5)) TH_LOG("%s", buf);
	ASSERT_NE(NULL, strstr(buf, " end=refused ")) TH_LOG("%s", buf);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	close(fd);
	close(rfd);
}

/* SEEK_END skips to new histories, SEEK_SET goes back to the oldest held. */
TEST_F(device, follow_seek)
{
	unsigned long long first;
	struct dump d;
	int fd;

	SKIPPED_IN_SETUP();
	one_connection(_metadata, &self->mode);
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(3, (int)d.ndone);
	first = d.recs[0].seq;
	dump_free(&d);

	fd = follow_open(_metadata, O_NONBLOCK);
	ASSERT_NE(-1, lseek(fd, 0, SEEK_END)) TH_LOG("lseek: %s", strerror(errno));
	ASSERT_EQ(0, follow_drain(_metadata, fd, 1 << 16, &d, NULL));
	ASSERT_EQ(0, (int)d.nrecs) log_dump(_metadata, &d);
	dump_free(&d);

	one_connection(_metadata, &self->mode);
	ASSERT_EQ(0, follow_drain(_metadata, fd, 1 << 16, &d, NULL));
	ASSERT_EQ(3, (int)d.nrecs) log_dump(_metadata, &d);
	ASSERT_EQ(first + 3, d.recs[0].seq);
	dump_free(&d);

	ASSERT_NE(-1, lseek(fd, 0, SEEK_SET)) TH_LOG("lseek: %s", strerror(errno));
	ASSERT_EQ(0, follow_drain(_metadata, fd, 1 << 16, &d, NULL));
	ASSERT_EQ(6, (int)d.nrecs) log_dump(_metadata, &d);
	ASSERT_EQ(first, d.recs[0].seq);
	dump_free(&d);
	close(fd);
}

/*
 * Overrun: the ring overwrites histories the follower has not read. The
 * next read fails with EPIPE, once, poll() says POLLERR|POLLPRI, and the
 * seq gap after it is exactly the number lost.
 */
TEST_F(device, follow_overrun)
{
	struct pollfd pfd = { .events = POLLIN | POLLPRI };
	unsigned long long ring_size, seen, overwritten;
	struct sockaddr_storage ss;
	char buf[4096];
	struct dump d;
	socklen_t len;
	int rfd;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ring_size = d.hdr.ring_size;
	overwritten = d.hdr.ring_overwritten;
	dump_free(&d);
	if (ring_size > 1024)
		SKIP(return, "ring_size=%llu: load the module with ring_size<=1024 "
		     "to overrun it quickly", ring_size);

	rfd = refusing_port(_metadata, &ss, &len);
	pfd.fd = follow_open(_metadata, O_NONBLOCK);
	refused_connects(_metadata, &ss, len, 1);
	ASSERT_EQ(0, follow_drain(_metadata, pfd.fd, 1 << 16, &d, NULL));
	ASSERT_EQ(1, (int)d.nrecs);
	seen = d.recs[0].seq;
	dump_free(&d);

	/* Five more than the ring holds, unread. */
	refused_connects(_metadata, &ss, len, ring_size + 5);
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(POLLIN | POLLERR | POLLPRI, pfd.revents & (POLLIN | POLLERR | POLLPRI));
	ASSERT_EQ(-1, read(pfd.fd, buf, sizeof(buf)));
	ASSERT_EQ(EPIPE, errno);

	/* Once: reading resumes at the oldest history held. */
	ASSERT_EQ(0, follow_drain(_metadata, pfd.fd, 1 << 16, &d, NULL));
	ASSERT_EQ(ring_size, (unsigned long long)d.nrecs);
	ASSERT_EQ(5ULL, d.recs[0].seq - seen - 1) TH_LOG("lost: seq %llu after %llu",
							 d.recs[0].seq, seen);
	dump_free(&d);
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents 0x%x", pfd.revents);

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_LE(overwritten + 6, d.hdr.ring_overwritten);
	dump_free(&d);
	close(pfd.fd);
	close(rfd);
}

/* ---- Network namespaces ------------------------------------------------ */

static int drop_cap_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct cap[2];

	if (syscall(SYS_capget, &h, cap))
		return -1;
	cap[CAP_NET_ADMIN / 32].effective &= ~(1U << (CAP_NET_ADMIN % 32));
	cap[CAP_NET_ADMIN / 32].permitted &= ~(1U << (CAP_NET_ADMIN % 32));
	return syscall(SYS_capset, &h, cap);
}

/* A reader sees the netns it was opened in; all-netns needs CAP_NET_ADMIN there. */
TEST_F(device, netns)
{
	unsigned long long init_ns, new_ns;
	int init_fd, all_fd, fd, rfd, status;
	struct sockaddr_storage ss;
	struct dump d;
	socklen_t len;
	size_t i, n;
	pid_t pid;

	SKIPPED_IN_SETUP();
	init_ns = my_netns();
	/* One history in the initial netns. */
	rfd = refusing_port(_metadata, &ss, &len);
	refused_connects(_metadata, &ss, len, 1);
	close(rfd);

	/* Opening needs CAP_NET_ADMIN over one's netns, even as root. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (drop_cap_net_admin())
			_exit(2);
		fd = open(TCPTRACE_DEVICE, O_RDONLY);
		_exit(fd < 0 && errno == EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("open without CAP_NET_ADMIN: want EPERM (exit %d)",
		       WEXITSTATUS(status));

	/* Opened here, read later from another netns. */
	init_fd = open(TCPTRACE_DEVICE, O_RDONLY);
	ASSERT_LE(0, init_fd);
	all_fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, all_fd);

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	ASSERT_EQ(0, lo_up()) TH_LOG("lo up: %s", strerror(errno));
	new_ns = my_netns();
	ASSERT_NE(init_ns, new_ns);

	/* Checks netns= too, with a reader opened in the new netns. */
	one_connection(_metadata, &self->mode);

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(3, (int)d.ndone) log_dump(_metadata, &d);
	for (i = 0; i < d.nrecs; i++)
		ASSERT_EQ(new_ns, d.recs[i].netns) TH_LOG("%s", d.recs[i].line);
	dump_free(&d);

	/* Not in the initial netns: all-netns and clear are refused. */
	fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open in a netns of ours: %s", strerror(errno));
	ASSERT_EQ(-1, write_cmd(fd, TCPTRACE_CMD_ALL_NETNS));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, write_cmd(fd, TCPTRACE_CMD_CLEAR));
	ASSERT_EQ(EPERM, errno);
	close(fd);

	/* The reader opened in the initial netns sees none of them... */
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(init_fd, 65536, &d.len);
	ASSERT_NE(NULL, d.raw);
	ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
	ASSERT_EQ(1, (int)d.ndone) log_dump(_metadata, &d);
	for (i = 0; i < d.nrecs; i++)
		ASSERT_EQ(init_ns, d.recs[i].netns) TH_LOG("%s", d.recs[i].line);
	dump_free(&d);

	/* ...unless it asked for all of them, with CAP_NET_ADMIN. */
	ASSERT_EQ(0, write_cmd(all_fd, TCPTRACE_CMD_ALL_NETNS))
		TH_LOG("all-netns: %s", strerror(errno));
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(all_fd, 65536, &d.len);
	ASSERT_NE(NULL, d.raw);
	ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
	for (i = 0, n = 0; i < d.nrecs; i++)
		n += d.recs[i].done && d.recs[i].netns == new_ns;
	ASSERT_EQ(3, (int)n) log_dump(_metadata, &d);
	ASSERT_EQ(4, (int)d.ndone) log_dump(_metadata, &d);
	dump_free(&d);
	close(init_fd);
	close(all_fd);
}

TEST_HARNESS_MAIN
