// SPDX-License-Identifier: GPL-2.0
/*
 * Binary records of /dev/tcptrace, read as their text lines parse: the
 * module writes both from the same history (module/format.c), and the
 * mapping of each text field to its binary one is that of
 * tcptrace_format_binary_record(). A decoded record is what
 * tt_parse_line() makes of the text line, field for field, has-bits
 * included; only the text of the addresses may be left out when no view
 * prints it (TT_DECODE_NO_ADDR_TEXT), which is most of the cost.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "binary.h"

#define HEADER_SIZE	sizeof(struct tcptrace_binary_header)
#define RECORD_SIZE	sizeof(struct tcptrace_binary_record)

_Static_assert(sizeof(struct tcptrace_binary_header) == 176,
	       "version 1 of the binary header is 176 bytes");
_Static_assert(sizeof(struct tcptrace_binary_record) == 280,
	       "version 1 of the binary record is 280 bytes");
_Static_assert(TT_BINARY_PREFIX == offsetof(struct tcptrace_binary_header, format),
	       "the prefix is magic, version, header_size and record_size");
_Static_assert(TT_BINARY_SIZE_MAX <= UINT16_MAX + 1, "a header_size fits");

/* Step flags this reader knows, less the seeded one. */
#define STEP_SHOWN_FLAGS (TCPTRACE_BINARY_STEP_SOFTIRQ | TCPTRACE_BINARY_STEP_UNEXPECTED | \
			  TCPTRACE_BINARY_STEP_DERIVED | TCPTRACE_BINARY_STEP_TIMEWAIT)

static bool little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

enum tt_binary_magic tt_binary_magic(const void *p)
{
	uint32_t magic;

	memcpy(&magic, p, sizeof(magic));
	if (magic == TCPTRACE_BINARY_MAGIC)
		return TT_MAGIC_NATIVE;
	if (magic == __builtin_bswap32(TCPTRACE_BINARY_MAGIC))
		return TT_MAGIC_SWAPPED;
	return TT_MAGIC_NONE;
}

bool tt_binary_sizes(const void *p, size_t *header_size, size_t *record_size,
		     char err[TT_ERR_MAX])
{
	struct tcptrace_binary_header b;

	memcpy(&b, p, TT_BINARY_PREFIX);
	switch (tt_binary_magic(p)) {
	case TT_MAGIC_NATIVE:
		break;
	case TT_MAGIC_SWAPPED:
		return tt_set_error(err, "binary capture of a %s-endian machine: this one is %s-endian, and cannot read it",
				 little_endian() ? "big" : "little",
				 little_endian() ? "little" : "big");
	default:
		return tt_set_error(err, "binary header: bad magic 0x%08" PRIx32, b.magic);
	}
	if (b.version == 0)
		return tt_set_error(err, "binary header: version 0 (versions start at 1)");
	if (b.header_size < HEADER_SIZE || b.header_size > TT_BINARY_SIZE_MAX)
		return tt_set_error(err, "binary header: header_size %u (this tcptrace reads %zu to %d)",
				 b.header_size, HEADER_SIZE, TT_BINARY_SIZE_MAX);
	if (b.record_size < RECORD_SIZE || b.record_size > TT_BINARY_SIZE_MAX)
		return tt_set_error(err, "binary header: record_size %" PRIu32 " (this tcptrace reads %zu to %d)",
				 b.record_size, RECORD_SIZE, TT_BINARY_SIZE_MAX);
	*header_size = b.header_size;
	*record_size = b.record_size;
	return true;
}

enum tt_line_type tt_binary_parse_header(const void *p, size_t len,
					 struct tt_header *h, char err[TT_ERR_MAX])
{
	struct tcptrace_binary_header b;

	(void)len;	/* at least HEADER_SIZE: tt_binary_sizes() said so */
	memcpy(&b, p, sizeof(b));
	memset(h, 0, sizeof(*h));
	if (b.format < 1 || b.format > TCPTRACE_FORMAT_VERSION) {
		snprintf(err, TT_ERR_MAX,
			 "unsupported format %" PRIu32 " (this tcptrace reads formats 1 to %d)",
			 b.format, TCPTRACE_FORMAT_VERSION);
		return TT_LINE_UNSUPPORTED;
	}
	h->format = b.format;
	h->now = b.now;
	h->live = b.live;
	h->live_max = b.live_max;
	h->done = b.done;
	h->ring_size = b.ring_size;
	h->events = b.events;
	h->created = b.created;
	h->completed = b.completed;
	h->drop_table_full = b.drop_table_full;
	h->drop_steps_full = b.drop_steps_full;
	h->ring_overwritten = b.ring_overwritten;
	h->unexpected = b.unexpected;
	h->syncookies = b.syncookies;
	h->kprobe_missed = b.kprobe_missed;
	h->filtered = b.filtered;
	h->filter_ports = b.filter_ports;
	h->filter_netns = b.filter_netns;
	h->evicted = b.evicted;
	h->mem_bytes = b.mem_bytes;
	h->timewait = b.timewait;
	h->halfopen = b.halfopen;
	h->rst_reasons = b.rst_reasons;
	/* The binary header has every key the text header may have. */
	h->has = (uint32_t)((1ull << tt_nr_header_keys) - 1);
	return TT_LINE_HEADER;
}

void tt_binary_encode_header(const struct tt_header *h,
			     struct tcptrace_binary_header *b)
{
	memset(b, 0, sizeof(*b));
	b->magic = TCPTRACE_BINARY_MAGIC;
	b->version = TCPTRACE_BINARY_VERSION;
	b->header_size = HEADER_SIZE;
	b->record_size = RECORD_SIZE;
	b->format = (uint32_t)h->format;
	b->now = h->now;
	b->live = h->live;
	b->live_max = h->live_max;
	b->done = h->done;
	b->ring_size = h->ring_size;
	b->events = h->events;
	b->created = h->created;
	b->completed = h->completed;
	b->drop_table_full = h->drop_table_full;
	b->drop_steps_full = h->drop_steps_full;
	b->ring_overwritten = h->ring_overwritten;
	b->unexpected = h->unexpected;
	b->syncookies = h->syncookies;
	b->kprobe_missed = h->kprobe_missed;
	b->filtered = h->filtered;
	b->filter_ports = h->filter_ports;
	b->filter_netns = h->filter_netns;
	b->evicted = h->evicted;
	b->mem_bytes = h->mem_bytes;
	b->timewait = (uint8_t)h->timewait;
	b->halfopen = (uint8_t)h->halfopen;
	b->rst_reasons = (uint8_t)h->rst_reasons;
}

/* ---- addresses as the module writes them -------------------------------- */

/* A byte in decimal, as %pI4 writes each. */
static char *put_decimal_byte(char *p, unsigned int v)
{
	if (v >= 100) {
		*p++ = '0' + v / 100;
		v %= 100;
		*p++ = '0' + v / 10;
	} else if (v >= 10) {
		*p++ = '0' + v / 10;
	}
	*p++ = '0' + v % 10;
	return p;
}

/* "A.B.C.D", NUL-terminated; the end. */
static char *put_ipv4(char *p, const uint8_t *addr)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_decimal_byte(p, addr[i]);
	}
	*p = '\0';
	return p;
}

/*
 * An IPv6 address as the kernel's %pI6c writes it (lib/vsprintf.c,
 * ip6_compressed_string()): RFC 5952's compressed form, lowercase, the
 * longest run of two or more zero words (the first of equals) as "::",
 * and the last 32 bits as A.B.C.D in v4-mapped and ISATAP addresses.
 * inet_ntop() differs: it also writes "::A.B.C.D" for ::/96, and not the
 * ISATAP form.
 */
static void put_ipv6(char *p, const uint8_t *addr)
{
	static const char hex[] = "0123456789abcdef";
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
	bool use_ipv4, needcolon = false;
	int i, j, range, longest = 1, colonpos = -1;
	unsigned int words[8];

	for (i = 0; i < 8; i++)
		words[i] = addr[2 * i] << 8 | addr[2 * i + 1];
	use_ipv4 = memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0 ||
		   ((words[4] | 0x0200) == 0x0200 && words[5] == 0x5efe);
	range = use_ipv4 ? 6 : 8;
	for (i = 0; i < range; i++) {
		for (j = i; j < range && !words[j]; j++)
			;
		if (j - i > longest) {
			longest = j - i;
			colonpos = i;
		}
	}
	for (i = 0; i < range; i++) {
		unsigned int word = words[i], shift;
		bool digits = false;

		if (i == colonpos) {
			if (needcolon || i == 0)
				*p++ = ':';
			*p++ = ':';
			needcolon = false;
			i += longest - 1;
			continue;
		}
		if (needcolon)
			*p++ = ':';
		for (shift = 12; shift > 0; shift -= 4) {
			if (digits || (word >> shift) & 0xf) {
				*p++ = hex[(word >> shift) & 0xf];
				digits = true;
			}
		}
		*p++ = hex[word & 0xf];
		needcolon = true;
	}
	if (use_ipv4) {
		if (needcolon)
			*p++ = ':';
		p = put_ipv4(p, addr + 12);
	}
	*p = '\0';
}

static void decode_endpoint(struct tt_endpoint *ep, enum tt_family family,
			    const uint8_t addr[16], uint16_t port, bool text)
{
	if (family == TT_FAMILY_IPV4) {
		memcpy(ep->bin, addr, 4);
		if (text)
			put_ipv4(ep->addr, addr);
	} else {
		memcpy(ep->bin, addr, 16);
		if (text)
			put_ipv6(ep->addr, addr);
	}
	ep->port = ntohs(port);
}

/* ---- records ------------------------------------------------------------ */

/*
 * The string in @field of @size bytes: its length, or -1 without a NUL
 * (after writing the message).
 */
static int field_string(const char *field, size_t size, const char *name,
			char err[TT_ERR_MAX])
{
	const char *nul = memchr(field, '\0', size);

	if (!nul) {
		tt_set_error(err, "%s: no NUL in its %zu bytes", name, size);
		return -1;
	}
	return (int)(nul - field);
}

static bool decode_path(const struct tcptrace_binary_record *b, struct tt_record *r,
			char err[TT_ERR_MAX])
{
	unsigned int i, prev;

	if (b->nsteps > TCPTRACE_MAX_STEPS)
		return tt_set_error(err, "bad path: %u steps (at most %d)", b->nsteps,
				 TCPTRACE_MAX_STEPS);
	/* The path starts with the first step's old state, seeded or not. */
	prev = b->steps[0].oldstate;
	if (prev >= TCPTRACE_NR_STATES)
		return tt_set_error(err, "bad path: unknown state %u in step 1", prev);
	r->first_state = (uint8_t)prev;
	for (i = 0; i < b->nsteps; i++) {
		const struct tcptrace_binary_step *s = &b->steps[i];
		struct tt_step *step;

		if (s->oldstate >= TCPTRACE_NR_STATES || s->newstate >= TCPTRACE_NR_STATES)
			return tt_set_error(err, "bad path: unknown state %u in step %u",
					 s->oldstate >= TCPTRACE_NR_STATES ? s->oldstate :
					 s->newstate, i + 1);
		/* The state at load stands for the start of the path: no step of it. */
		if (s->flags & TCPTRACE_BINARY_STEP_SEEDED)
			continue;
		step = &r->steps[r->nr_steps++];
		*step = (struct tt_step){
			.old_state = s->oldstate,
			.new_state = s->newstate,
			.t_ns = b->step_ns[i],
			.gap = s->oldstate != prev,
			.softirq = s->flags & TCPTRACE_BINARY_STEP_SOFTIRQ,
			.unexpected = s->flags & TCPTRACE_BINARY_STEP_UNEXPECTED,
			.derived = s->flags & TCPTRACE_BINARY_STEP_DERIVED,
			.timewait = s->flags & TCPTRACE_BINARY_STEP_TIMEWAIT,
		};
		prev = s->newstate;
	}
	return true;
}

/*
 * tt_comm_encode() of @len bytes, quicker for the names most tasks have,
 * with nothing to escape.
 */
static void encode_comm(const char *comm, size_t len, char out[TT_COMM_TEXT_MAX])
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = comm[i];

		if (c <= ' ' || c >= 0x7f || c == '\\') {
			tt_comm_encode(comm, len, out);
			return;
		}
	}
	memcpy(out, comm, len);
	out[len] = '\0';
}

/* comm= and rst_reason=, which the binary record holds as C strings. */
static bool decode_strings(const struct tcptrace_binary_record *b, struct tt_record *r,
			   char err[TT_ERR_MAX])
{
	int len;

	if (b->flags & TCPTRACE_BINARY_OWNER) {
		len = field_string(b->comm, sizeof(b->comm), "comm", err);
		if (len < 0)
			return false;
		encode_comm(b->comm, len, r->comm);
		r->has |= TT_HAS_PID | TT_HAS_TGID | TT_HAS_COMM;
		r->pid = b->pid;
		r->tgid = b->tgid;
	}
	if (b->rst_reason[0]) {
		char quoted[TT_COMM_TEXT_MAX];

		len = field_string(b->rst_reason, sizeof(b->rst_reason), "rst_reason", err);
		if (len < 0)
			return false;
		if (!tt_rst_reason_valid(b->rst_reason, len)) {
			tt_comm_encode(b->rst_reason, len, quoted);
			return tt_set_error(err, "rst_reason: expected 1 to %d characters of [A-Z0-9_], got '%.40s'",
					 TT_RST_REASON_MAX, quoted);
		}
		memcpy(r->rst_reason, b->rst_reason, len + 1);
		r->has |= TT_HAS_RST_REASON;
	}
	return true;
}

enum tt_line_type tt_binary_parse_record(const void *p, struct tt_record *r,
					 unsigned int flags, char err[TT_ERR_MAX])
{
	struct tcptrace_binary_record b;
	bool done, text = !(flags & TT_DECODE_NO_ADDR_TEXT);

	/* A copy: records follow an origin line of any length, unaligned. */
	memcpy(&b, p, sizeof(b));
	if (b.kind != TCPTRACE_BINARY_DONE && b.kind != TCPTRACE_BINARY_LIVE) {
		if (b.kind)
			return TT_LINE_UNKNOWN_KIND;	/* a kind from a later version */
		tt_set_error(err, "bad record kind 0");
		return TT_LINE_ERROR;
	}
	done = b.kind == TCPTRACE_BINARY_DONE;
	/* As the parser does, but for the steps past the record's own. */
	memset(r, 0, offsetof(struct tt_record, steps));
	memset(r->steps + TCPTRACE_MAX_STEPS, 0, sizeof(*r) - sizeof(r->steps) -
	       offsetof(struct tt_record, steps));
	r->kind = done ? TT_KIND_DONE : TT_KIND_LIVE;
	r->id = b.cookie;
	if (b.family == 4) {
		r->family = TT_FAMILY_IPV4;
	} else if (b.family == 6) {
		r->family = TT_FAMILY_IPV6;
	} else {
		tt_set_error(err, "family: expected 4 or 6, got %u", b.family);
		return TT_LINE_ERROR;
	}
	decode_endpoint(&r->local, r->family, b.saddr, b.sport, text);
	decode_endpoint(&r->remote, r->family, b.daddr, b.dport, text);

	/* Every field of the text line, in its order; the optional ones if set. */
	r->has = TT_HAS_NETNS | TT_HAS_UID;
	if (done) {
		r->has |= TT_HAS_SEQ;
		r->seq = b.seq;
	}
	r->t0 = b.t0;
	r->netns = b.netns;
	r->uid = b.uid;
	if (!decode_strings(&b, r, err))
		return TT_LINE_ERROR;
	if (done) {
		if (b.end >= TCPTRACE_NR_ENDS) {
			tt_set_error(err, "unknown end reason %u", b.end);
			return TT_LINE_ERROR;
		}
		r->has |= TT_HAS_END | TT_HAS_BYTES_ACKED | TT_HAS_BYTES_RECEIVED |
			  TT_HAS_RETRANS | TT_HAS_SRTT_US;
		r->end = b.end;
		r->bytes_acked = b.bytes_acked;
		r->bytes_received = b.bytes_received;
		r->retrans = b.retrans;
		r->srtt_us = b.srtt_us;
		if (b.flags & TCPTRACE_BINARY_TIMEWAIT) {
			r->has |= TT_HAS_TIMEWAIT;
			r->timewait = b.flags & TCPTRACE_BINARY_TW_EXPIRED ?
				      TT_TIMEWAIT_EXPIRED : TT_TIMEWAIT_KILLED;
		}
	}
	if (b.syn_retrans) {
		r->has |= TT_HAS_SYN_RETRANS;
		r->syn_retrans = b.syn_retrans;
	}
	if (b.flags & TCPTRACE_BINARY_SEEN_AT_LOAD) {
		r->has |= TT_HAS_SEEN_AT_LOAD;
		r->seen_at_load = true;
	}
	if (b.unexpected) {
		r->has |= TT_HAS_UNEXPECTED;
		r->unexpected = b.unexpected;
	}
	if (b.dropped) {
		r->has |= TT_HAS_DROPPED;
		r->dropped = b.dropped;
	}
	if (!decode_path(&b, r, err))
		return TT_LINE_ERROR;
	return TT_LINE_RECORD;
}

/* ---- encoding ----------------------------------------------------------- */

/* A number into a field of @max at most; false (message written) if wider. */
static bool fits(uint64_t value, uint64_t max, const char *name, char err[TT_ERR_MAX])
{
	if (value <= max)
		return true;
	return tt_set_error(err, "%s=%" PRIu64 " does not fit in the binary record (at most %" PRIu64 ")",
			 name, value, max);
}

/*
 * An optional field the text shows only when not 0, and the binary record
 * holds as 0 when absent: written with 0, it cannot be told apart.
 */
static bool optional_nonzero(const struct tt_record *r, unsigned int bit,
			     uint64_t value, const char *name, char err[TT_ERR_MAX])
{
	if ((r->has & bit) && !value)
		return tt_set_error(err, "%s=0 cannot be written in binary (absent means 0)", name);
	return true;
}

/* What a binary record always has, and done records only. */
#define ALWAYS_BITS	(TT_HAS_NETNS | TT_HAS_UID)
#define OWNER_BITS	(TT_HAS_PID | TT_HAS_TGID | TT_HAS_COMM)
#define DONE_BITS	(TT_HAS_SEQ | TT_HAS_END | TT_HAS_BYTES_ACKED | \
			 TT_HAS_BYTES_RECEIVED | TT_HAS_RETRANS | TT_HAS_SRTT_US)

static bool encode_fields(const struct tt_record *r, struct tcptrace_binary_record *b,
			  char err[TT_ERR_MAX])
{
	bool done = r->kind == TT_KIND_DONE;

	if ((r->has & ALWAYS_BITS) != ALWAYS_BITS)
		return tt_set_error(err, "no %s= (a binary record always has netns and uid)",
				 r->has & TT_HAS_NETNS ? "uid" : "netns");
	if (done && (r->has & DONE_BITS) != DONE_BITS)
		return tt_set_error(err, "a done record without all of seq, end, bytes_acked, bytes_received, retrans and srtt_us");
	if (!done && (r->has & (DONE_BITS | TT_HAS_TIMEWAIT)))
		return tt_set_error(err, "a live record with a field of done records");
	if ((r->has & OWNER_BITS) && (r->has & OWNER_BITS) != OWNER_BITS)
		return tt_set_error(err, "an owner without all of pid, tgid and comm");
	if (!fits(r->netns, UINT32_MAX, "netns", err) || !fits(r->uid, UINT32_MAX, "uid", err) ||
	    !fits(r->pid, UINT32_MAX, "pid", err) || !fits(r->tgid, UINT32_MAX, "tgid", err) ||
	    !fits(r->retrans, UINT32_MAX, "retrans", err) ||
	    !fits(r->srtt_us, UINT32_MAX, "srtt_us", err) ||
	    !fits(r->syn_retrans, UINT8_MAX, "syn_retrans", err) ||
	    !fits(r->unexpected, UINT8_MAX, "unexpected", err) ||
	    !fits(r->dropped, UINT8_MAX, "dropped", err) ||
	    !optional_nonzero(r, TT_HAS_SYN_RETRANS, r->syn_retrans, "syn_retrans", err) ||
	    !optional_nonzero(r, TT_HAS_UNEXPECTED, r->unexpected, "unexpected", err) ||
	    !optional_nonzero(r, TT_HAS_DROPPED, r->dropped, "dropped", err) ||
	    !optional_nonzero(r, TT_HAS_SEEN_AT_LOAD, r->seen_at_load, "seen_at_load", err))
		return false;
	if (r->end >= TCPTRACE_NR_ENDS)
		return tt_set_error(err, "unknown end reason %u", r->end);

	b->kind = done ? TCPTRACE_BINARY_DONE : TCPTRACE_BINARY_LIVE;
	b->cookie = r->id;
	b->seq = r->seq;
	b->t0 = r->t0;
	b->netns = (uint32_t)r->netns;
	b->uid = (uint32_t)r->uid;
	b->end = (uint8_t)r->end;
	b->bytes_acked = r->bytes_acked;
	b->bytes_received = r->bytes_received;
	b->retrans = (uint32_t)r->retrans;
	b->srtt_us = (uint32_t)r->srtt_us;
	b->syn_retrans = (uint8_t)r->syn_retrans;
	b->unexpected = (uint8_t)r->unexpected;
	b->dropped = (uint8_t)r->dropped;
	if (r->has & TT_HAS_TIMEWAIT)
		b->flags |= TCPTRACE_BINARY_TIMEWAIT |
			    (r->timewait == TT_TIMEWAIT_EXPIRED ? TCPTRACE_BINARY_TW_EXPIRED : 0);
	if (r->seen_at_load)
		b->flags |= TCPTRACE_BINARY_SEEN_AT_LOAD;
	return true;
}

static bool encode_strings(const struct tt_record *r, struct tcptrace_binary_record *b,
			   char err[TT_ERR_MAX])
{
	int len;

	if (r->has & TT_HAS_COMM) {
		len = tt_comm_decode(r->comm, strlen(r->comm), b->comm, sizeof(b->comm) - 1);
		if (len < 0)
			return tt_set_error(err, "comm: longer than the %zu bytes of the binary record",
					 sizeof(b->comm) - 1);
		if (memchr(b->comm, '\0', len))
			return tt_set_error(err, "comm: a NUL byte cannot be written in binary");
		b->flags |= TCPTRACE_BINARY_OWNER;
		b->pid = (uint32_t)r->pid;
		b->tgid = (uint32_t)r->tgid;
	}
	if (r->has & TT_HAS_RST_REASON) {
		if (strlen(r->rst_reason) >= sizeof(b->rst_reason))
			return tt_set_error(err, "rst_reason: longer than the %zu bytes of the binary record",
					 sizeof(b->rst_reason) - 1);
		strcpy(b->rst_reason, r->rst_reason);
	}
	return true;
}

/*
 * The path: a first step with a '/' old state needs a seeded step before
 * it, which stands for the first state; a '/' elsewhere must name another
 * state than the one before it, as the binary record has no other way to
 * say it.
 */
static bool encode_path(const struct tt_record *r, struct tcptrace_binary_record *b,
			char err[TT_ERR_MAX])
{
	unsigned int i, n = 0, prev = r->first_state;

	if (r->nr_steps > TCPTRACE_MAX_STEPS)
		return tt_set_error(err, "bad path: more than %d steps", TCPTRACE_MAX_STEPS);
	b->steps[0].oldstate = r->first_state;
	if (r->nr_steps && r->steps[0].gap && r->steps[0].old_state != r->first_state) {
		if (r->nr_steps == TCPTRACE_MAX_STEPS)
			return tt_set_error(err, "bad path: %d steps and a '/' on the first one do not fit in binary",
					 TCPTRACE_MAX_STEPS);
		b->steps[0].newstate = r->first_state;
		b->steps[0].flags = TCPTRACE_BINARY_STEP_SEEDED;
		n = 1;
	}
	for (i = 0; i < r->nr_steps; i++, n++) {
		const struct tt_step *s = &r->steps[i];

		if (s->gap != (s->old_state != prev))
			return tt_set_error(err, "bad path: '/%s' in step %u names the state before it",
					 tt_state_name(s->old_state), i + 1);
		b->steps[n].oldstate = s->old_state;
		b->steps[n].newstate = s->new_state;
		b->steps[n].flags = (s->softirq ? TCPTRACE_BINARY_STEP_SOFTIRQ : 0) |
				    (s->unexpected ? TCPTRACE_BINARY_STEP_UNEXPECTED : 0) |
				    (s->derived ? TCPTRACE_BINARY_STEP_DERIVED : 0) |
				    (s->timewait ? TCPTRACE_BINARY_STEP_TIMEWAIT : 0);
		b->step_ns[n] = s->t_ns;
		prev = s->new_state;
	}
	b->nsteps = (uint8_t)n;
	return true;
}

bool tt_binary_encode_record(const struct tt_record *r,
			     struct tcptrace_binary_record *b, char err[TT_ERR_MAX])
{
	memset(b, 0, sizeof(*b));
	if (!encode_fields(r, b, err) || !encode_strings(r, b, err) ||
	    !encode_path(r, b, err))
		return false;
	if (r->family == TT_FAMILY_IPV4) {
		b->family = 4;
		memcpy(b->saddr, r->local.bin, 4);
		memcpy(b->daddr, r->remote.bin, 4);
	} else {
		b->family = 6;
		memcpy(b->saddr, r->local.bin, 16);
		memcpy(b->daddr, r->remote.bin, 16);
	}
	b->sport = htons(r->local.port);
	b->dport = htons(r->remote.port);
	return true;
}

/* ---- the text line ------------------------------------------------------ */

struct line {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= TT_RENDER_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, TT_RENDER_MAX - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < TT_RENDER_MAX - l->len ? (size_t)n :
			  TT_RENDER_MAX - 1 - l->len;
}

static void put_endpoint(struct line *l, const struct tt_record *r,
			 const struct tt_endpoint *ep)
{
	if (r->family == TT_FAMILY_IPV6)
		put(l, " [%s]:%u", ep->addr, ep->port);
	else
		put(l, " %s:%u", ep->addr, ep->port);
}

static void put_path(struct line *l, const struct tt_record *r)
{
	unsigned int i;

	put(l, " path=%s", tt_state_name(r->first_state));
	for (i = 0; i < r->nr_steps; i++) {
		const struct tt_step *s = &r->steps[i];

		if (s->gap)
			put(l, "/%s", tt_state_name(s->old_state));
		put(l, ">%s@%" PRIu64 "%s%s%s%s", tt_state_name(s->new_state), s->t_ns,
		    s->softirq ? "s" : "", s->unexpected ? "x" : "",
		    s->derived ? "d" : "", s->timewait ? "w" : "");
	}
}

/* A number field of the line when the record has it. */
static void put_optional(struct line *l, const struct tt_record *r, unsigned int bit,
			 const char *name, uint64_t value)
{
	if (r->has & bit)
		put(l, " %s=%" PRIu64, name, value);
}

size_t tt_binary_render(const struct tt_record *r, char buf[TT_RENDER_MAX])
{
	struct line l = { buf, 0 };

	buf[0] = '\0';
	put(&l, "%s %" PRIu64 " %s", r->kind == TT_KIND_DONE ? TCPTRACE_KIND_DONE :
	    TCPTRACE_KIND_LIVE, r->id, r->family == TT_FAMILY_IPV6 ? "ipv6" : "ipv4");
	put_endpoint(&l, r, &r->local);
	put_endpoint(&l, r, &r->remote);
	put_optional(&l, r, TT_HAS_SEQ, "seq", r->seq);
	put(&l, " t0=%" PRIu64, r->t0);
	put_optional(&l, r, TT_HAS_NETNS, "netns", r->netns);
	put_optional(&l, r, TT_HAS_UID, "uid", r->uid);
	put_optional(&l, r, TT_HAS_PID, "pid", r->pid);
	put_optional(&l, r, TT_HAS_TGID, "tgid", r->tgid);
	if (r->has & TT_HAS_COMM)
		put(&l, " comm=%s", r->comm);
	if (r->has & TT_HAS_END)
		put(&l, " end=%s", tt_end_name(r->end));
	put_optional(&l, r, TT_HAS_BYTES_ACKED, "bytes_acked", r->bytes_acked);
	put_optional(&l, r, TT_HAS_BYTES_RECEIVED, "bytes_received", r->bytes_received);
	put_optional(&l, r, TT_HAS_RETRANS, "retrans", r->retrans);
	put_optional(&l, r, TT_HAS_SRTT_US, "srtt_us", r->srtt_us);
	put_optional(&l, r, TT_HAS_SYN_RETRANS, "syn_retrans", r->syn_retrans);
	if (r->has & TT_HAS_RST_REASON)
		put(&l, " rst_reason=%s", r->rst_reason);
	if (r->has & TT_HAS_TIMEWAIT)
		put(&l, " timewait=%s", r->timewait == TT_TIMEWAIT_EXPIRED ? "expired" : "killed");
	if (r->has & TT_HAS_SEEN_AT_LOAD)
		put(&l, " seen_at_load=%d", r->seen_at_load);
	put_optional(&l, r, TT_HAS_UNEXPECTED, "unexpected", r->unexpected);
	put_optional(&l, r, TT_HAS_DROPPED, "dropped", r->dropped);
	put_path(&l, r);
	put(&l, "\n");
	return l.len;
}
