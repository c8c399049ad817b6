/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace_parse.h: reading /dev/tcptrace, and a self-contained, strict
 * parser of its text format (Documentation/tcptrace.rst), for the
 * selftest programs. The functions are static inline because each
 * program uses only some of them.
 */
#ifndef TCPTRACE_PARSE_H
#define TCPTRACE_PARSE_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>	/* TCP_CLOSE, as in include/net/tcp_states.h */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/tcptrace.h>

#define READ_MAX	(64 << 20)	/* a read of the device longer than this never ends */
#define ADDR_MAX	(INET6_ADDRSTRLEN + 10)

static const char *const state_names[TCPTRACE_NR_STATES] = TCPTRACE_STATE_NAMES;
static const char *const end_names[TCPTRACE_NR_ENDS] = TCPTRACE_END_NAMES;

/* ---- Reading the device ------------------------------------------------ */

/* Read an open device fd to EOF in chunks of @chunk bytes. */
static inline char *read_fd(int fd, size_t chunk, size_t *lenp)
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
static inline char *read_dev(size_t chunk, size_t *lenp)
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

static inline int dev_write(const char *cmd, size_t len)
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

static inline int write_cmd(int fd, const char *cmd)
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
	unsigned long long syn_retrans;	/* syn_retrans=, absent: 0 */
	char rst_reason[48];		/* rst_reason=, absent: "" */
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
			   evicted, timewait, halfopen, rst_reasons;
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

static inline void dump_free(struct dump *d)
{
	free(d->raw);
	free(d->text);
	free(d->recs);
	memset(d, 0, sizeof(*d));
}

/* A decimal number without sign, spaces or superfluous leading zeros. */
static inline bool parse_u64(const char *s, size_t n, unsigned long long *v)
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

static inline int parse_state(const char **p)
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
static inline bool parse_addr(const char *family, const char *s)
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
static inline bool parse_comm(const char *v, char *out, size_t size)
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
static inline const char *parse_path(struct rec *r, const char *p)
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
	return NULL;
}

/* Record line: KIND ID FAMILY LOCAL REMOTE key=value... */
static inline const char *parse_record(struct rec *r, char *line)
{
	char *field[5], *kv, *save = NULL;
	bool has_t0 = false, has_path = false, has_netns = false, has_uid = false;
	bool has_pid = false, has_tgid = false, has_comm = false, has_end = false;
	unsigned int counters = 0;
	const char *err;
	int i, last;

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
		} else if (!strcmp(kv, "syn_retrans")) {
			if (r->syn_retrans || !parse_u64(v, strlen(v), &r->syn_retrans) ||
			    !r->syn_retrans)
				return "bad syn_retrans= (absent means 0)";
		} else if (!strcmp(kv, "rst_reason")) {
			if (r->rst_reason[0] || !*v || strlen(v) >= sizeof(r->rst_reason) ||
			    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(v))
				return "bad rst_reason=";
			strcpy(r->rst_reason, v);
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
	/*
	 * t0 is the time of the first step; a socket seeded at load starts
	 * in its state at t0, the load, and may have no step yet.
	 */
	if (!r->seen_at_load && r->nsteps == 0)
		return "path: no step";
	if (!r->seen_at_load && r->steps[0].ns != 0)
		return "path: the first step is not at @0 (t0 is its time)";
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
	/* The state it is in: the last step's, or the first state. */
	last = r->nsteps ? r->steps[r->nsteps - 1].newstate : r->first;
	/* Evicted and lost histories end as they were. */
	if (r->done && last != TCP_CLOSE &&
	    !r->dropped && r->end != TCPTRACE_END_EVICTED && r->end != TCPTRACE_END_LOST)
		return "a done history does not end in CLOSE";
	if (!r->done && r->timewait[0])
		return "timewait= on a live record";
	if (r->done != r->has_seq)
		return "seq= must be on done records and only there";
	if (!r->done && last == TCP_CLOSE)
		return "a live history ends in CLOSE";

	return NULL;
}

static inline const char *parse_header(struct hdr *h, char *line)
{
	static const char *const keys[] = {
		"format", "now", "live", "live_max", "done", "ring_size",
		"events", "created", "completed", "drop_table_full",
		"drop_steps_full", "ring_overwritten", "unexpected", "mem_bytes",
		"syncookies", "kprobe_missed", "filtered", "filter_ports",
		"filter_netns", "evicted", "timewait", "halfopen", "rst_reasons",
	};
	unsigned long long *vals[] = {
		&h->format, &h->now, &h->live, &h->live_max, &h->done,
		&h->ring_size, &h->events, &h->created, &h->completed,
		&h->drop_table_full, &h->drop_steps_full, &h->ring_overwritten,
		&h->unexpected, &h->mem_bytes, &h->syncookies, &h->kprobe_missed,
		&h->filtered, &h->filter_ports, &h->filter_netns, &h->evicted,
		&h->timewait, &h->halfopen, &h->rst_reasons,
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
	if (h->timewait > 1 || h->halfopen > 1 || h->rst_reasons > 1)
		return "header timewait=, halfopen= or rst_reasons= is not 0 or 1";
	return NULL;
}

/*
 * Parse d->raw: a header line first if @header, then comments and records.
 * Returns 0, or -1 with the first problem in d->err.
 */
static inline int dump_parse_lines(struct dump *d, bool header)
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

static inline int dump_parse(struct dump *d)
{
	return dump_parse_lines(d, true);
}

/* Parse a copy of @len bytes at @text into a cleared @d, as dump_parse_lines(). */
static inline int dump_parse_text(struct dump *d, const char *text, size_t len, bool header)
{
	memset(d, 0, sizeof(*d));
	d->raw = malloc(len + 1);
	if (!d->raw) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -1;
	}
	memcpy(d->raw, text, len);
	d->raw[len] = '\0';
	d->len = len;
	return dump_parse_lines(d, header);
}

/* Read and parse one snapshot; on failure, d->err says why. */
static inline int dump_read(struct dump *d)
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

/*
 * Whether a snapshot's records are in its order (Documentation/tcptrace.rst):
 * done ones, then live ones, then done ones again (those that completed
 * while the live ones were copied), the done ones in increasing seq, no
 * life of a socket (id and t0) both live and done or done twice. NULL, or
 * what is wrong, with *@at the record at fault.
 */
static inline const char *dump_disorder(const struct dump *d, size_t *at)
{
	bool late = false, any_done = false;
	unsigned long long last_seq = 0;
	size_t i, j;

	for (i = 0; i < d->nrecs; i++) {
		const struct rec *r = &d->recs[i];

		*at = i;
		if (i && r->done && !d->recs[i - 1].done)
			late = true;
		if (late && !r->done)
			return "a live record after the late done ones";
		if (!r->done)
			continue;
		if (any_done && r->seq <= last_seq)
			return "done records not in increasing seq";
		any_done = true;
		last_seq = r->seq;
		for (j = 0; j < i; j++)
			if (r->id && d->recs[j].id == r->id && d->recs[j].t0 == r->t0)
				return "a history twice";
	}
	return NULL;
}

#endif /* TCPTRACE_PARSE_H */
