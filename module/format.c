// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the records of /dev/tcptrace, in text and in binary.
 *
 * Text: one line per history and a header line of counters, as
 * Documentation/tcptrace.rst specifies them: fixed fields first, optional
 * ones after, the path last. No line is longer than TCPTRACE_LINE_MAX.
 * Binary: the same fields in the fixed-size structs of the UAPI header.
 * The callers (dev.c) format copies, never a history in the table.
 */

#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/socket.h>

#include "tcptrace.h"

static const char * const tcptrace_state_names[] = TCPTRACE_STATE_NAMES;
static const char * const tcptrace_end_names[] = TCPTRACE_END_NAMES;

static const char *tcptrace_state_name(unsigned int state)
{
	if (state >= ARRAY_SIZE(tcptrace_state_names))
		state = 0;
	return tcptrace_state_names[state];
}

static const char *tcptrace_end_name(unsigned int end)
{
	if (end >= ARRAY_SIZE(tcptrace_end_names))
		end = 0;
	return tcptrace_end_names[end];
}

/* scnprintf() appending at @len, which never passes @size. */
static __printf(4, 5) size_t tcptrace_append(char *buf, size_t size, size_t len,
					     const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	len += vscnprintf(buf + len, size - len, fmt, args);
	va_end(args);
	return len;
}

static size_t tcptrace_format_addr(char *buf, size_t size, size_t len, u8 family,
				   const union tcptrace_addr *addr, __be16 port)
{
	if (family == AF_INET6)
		return tcptrace_append(buf, size, len, " [%pI6c]:%u", &addr->v6, ntohs(port));
	return tcptrace_append(buf, size, len, " %pI4:%u", &addr->v4, ntohs(port));
}

/* comm is the task's to choose: escape what would split the field. */
static size_t tcptrace_format_comm(char *buf, size_t size, size_t len,
				   const char *comm)
{
	len = tcptrace_append(buf, size, len, " comm=");
	for (; *comm; comm++) {
		unsigned char c = *comm;

		/* Most names are plain: no vscnprintf() per character. */
		if (c > ' ' && c < 0x7f && c != '\\' && len + 1 < size) {
			buf[len++] = c;
			buf[len] = '\0';
		} else {
			len = tcptrace_append(buf, size, len, "\\x%02x", c);
		}
	}
	return len;
}

static size_t tcptrace_format_path(char *buf, size_t size, size_t len,
				   const struct tcptrace_history *h)
{
	unsigned int i, prev = h->steps[0].oldstate;

	len = tcptrace_append(buf, size, len, " path=%s", tcptrace_state_name(prev));
	for (i = 0; i < h->nsteps; i++) {
		const struct tcptrace_step *step = &h->steps[i];

		if (step->flags & TCPTRACE_STEPF_SEEDED)
			continue;
		if (step->oldstate != prev)
			len = tcptrace_append(buf, size, len, "/%s",
					      tcptrace_state_name(step->oldstate));
		len = tcptrace_append(buf, size, len, ">%s@%llu%s%s%s%s",
				      tcptrace_state_name(step->newstate),
				      h->ts[i] - h->ts[0],
				      step->flags & TCPTRACE_STEPF_SOFTIRQ ? "s" : "",
				      step->flags & TCPTRACE_STEPF_UNEXPECTED ? "x" : "",
				      step->flags & TCPTRACE_STEPF_DERIVED ? "d" : "",
				      step->flags & TCPTRACE_STEPF_TIMEWAIT ? "w" : "");
		prev = step->newstate;
	}
	return len;
}

/* The kernel's name for the reason, or its number where it has none. */
static size_t tcptrace_format_rst_reason(char *buf, size_t size, size_t len,
					 unsigned int reason)
{
	const char *name = tcptrace_rst_reason_name(reason);

	if (name)
		return tcptrace_append(buf, size, len, " rst_reason=%s", name);
	return tcptrace_append(buf, size, len, " rst_reason=%u", reason);
}

/* One record line, newline included; its length. */
size_t tcptrace_format_history(char *buf, size_t size,
			       const struct tcptrace_history *h, bool done)
{
	size_t len;

	len = tcptrace_append(buf, size, 0, "%s %llu %s",
			      done ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE,
			      h->cookie, h->family == AF_INET6 ? "ipv6" : "ipv4");
	len = tcptrace_format_addr(buf, size, len, h->family, &h->saddr, h->sport);
	len = tcptrace_format_addr(buf, size, len, h->family, &h->daddr, h->dport);
	if (done)
		len = tcptrace_append(buf, size, len, " seq=%llu", h->seq);
	len = tcptrace_append(buf, size, len, " t0=%llu netns=%u uid=%u",
			      h->ts[0], h->netns, h->uid);
	if (h->flags & TCPTRACE_HISTF_OWNER) {
		len = tcptrace_append(buf, size, len, " pid=%u tgid=%u", h->pid, h->tgid);
		len = tcptrace_format_comm(buf, size, len, h->comm);
	}
	if (done)
		len = tcptrace_append(buf, size, len,
				      " end=%s bytes_acked=%llu bytes_received=%llu retrans=%u srtt_us=%u",
				      tcptrace_end_name(h->end), h->bytes_acked,
				      h->bytes_received, h->retrans, h->srtt_us);
	if (h->syn_retrans)
		len = tcptrace_append(buf, size, len, " syn_retrans=%u", h->syn_retrans);
	if (h->rst_reason)
		len = tcptrace_format_rst_reason(buf, size, len, h->rst_reason - 1);
	if (done && (h->flags & TCPTRACE_HISTF_TIMEWAIT))
		len = tcptrace_append(buf, size, len, " timewait=%s",
				      h->flags & TCPTRACE_HISTF_TW_EXPIRED ? "expired" : "killed");
	if (h->flags & TCPTRACE_HISTF_SEEDED)
		len = tcptrace_append(buf, size, len, " seen_at_load=1");
	if (h->unexpected)
		len = tcptrace_append(buf, size, len, " unexpected=%u", h->unexpected);
	if (h->dropped)
		len = tcptrace_append(buf, size, len, " dropped=%u", h->dropped);
	len = tcptrace_format_path(buf, size, len, h);
	return tcptrace_append(buf, size, len, "\n");
}

size_t tcptrace_format_header(char *buf, size_t size)
{
	struct tcptrace_stats s;
	const u64 *c = s.count;
	size_t len;

	tcptrace_stats(&s);
	len = tcptrace_append(buf, size, 0, "%s format=%d now=%llu",
			      TCPTRACE_HEADER_TAG, TCPTRACE_FORMAT_VERSION, ktime_get_ns());
	len = tcptrace_append(buf, size, len, " live=%llu live_max=%llu done=%llu ring_size=%llu",
			      s.live, s.live_max, s.done, s.ring_size);
	len = tcptrace_append(buf, size, len, " events=%llu created=%llu completed=%llu",
			      c[TCPTRACE_CNT_EVENTS], c[TCPTRACE_CNT_CREATED],
			      c[TCPTRACE_CNT_COMPLETED]);
	len = tcptrace_append(buf, size, len, " drop_table_full=%llu drop_steps_full=%llu",
			      c[TCPTRACE_CNT_DROP_TABLE_FULL], c[TCPTRACE_CNT_DROP_STEPS_FULL]);
	len = tcptrace_append(buf, size, len, " ring_overwritten=%llu unexpected=%llu",
			      s.ring_overwritten, c[TCPTRACE_CNT_UNEXPECTED]);
	len = tcptrace_append(buf, size, len, " syncookies=%llu kprobe_missed=%llu",
			      c[TCPTRACE_CNT_SYNCOOKIES], s.kprobe_missed);
	len = tcptrace_append(buf, size, len, " filtered=%llu filter_ports=%llu filter_netns=%llu",
			      c[TCPTRACE_CNT_FILTERED], s.filter_ports, s.filter_netns);
	len = tcptrace_append(buf, size, len, " evicted=%llu", c[TCPTRACE_CNT_EVICTED]);
	len = tcptrace_append(buf, size, len, " mem_bytes=%llu timewait=%d halfopen=%d",
			      s.mem_bytes, s.timewait, s.halfopen);
	return tcptrace_append(buf, size, len, " kretprobes=%u rst_reasons=%d\n",
			       s.kretprobes, s.rst_reasons);
}

/* The binary step flags are the module's own: copied as they are. */
static_assert(TCPTRACE_STEPF_SOFTIRQ == TCPTRACE_BINARY_STEP_SOFTIRQ);
static_assert(TCPTRACE_STEPF_UNEXPECTED == TCPTRACE_BINARY_STEP_UNEXPECTED);
static_assert(TCPTRACE_STEPF_DERIVED == TCPTRACE_BINARY_STEP_DERIVED);
static_assert(TCPTRACE_STEPF_TIMEWAIT == TCPTRACE_BINARY_STEP_TIMEWAIT);
static_assert(TCPTRACE_STEPF_SEEDED == TCPTRACE_BINARY_STEP_SEEDED);
#define TCPTRACE_BINARY_STEP_ALL	0x1f

/* No hole the compiler could fill with kernel memory: every byte is a field. */
static_assert(sizeof(struct tcptrace_binary_header) == 176);
static_assert(sizeof(struct tcptrace_binary_record) == 280);

/* The header line, as the first binary record of a stream. */
void tcptrace_format_binary_header(struct tcptrace_binary_header *bh)
{
	struct tcptrace_stats s;
	const u64 *c = s.count;

	tcptrace_stats(&s);
	memset(bh, 0, sizeof(*bh));
	bh->magic = TCPTRACE_BINARY_MAGIC;
	bh->version = TCPTRACE_BINARY_VERSION;
	bh->header_size = sizeof(*bh);
	bh->record_size = sizeof(struct tcptrace_binary_record);
	bh->format = TCPTRACE_FORMAT_VERSION;
	bh->now = ktime_get_ns();
	bh->live = s.live;
	bh->live_max = s.live_max;
	bh->done = s.done;
	bh->ring_size = s.ring_size;
	bh->events = c[TCPTRACE_CNT_EVENTS];
	bh->created = c[TCPTRACE_CNT_CREATED];
	bh->completed = c[TCPTRACE_CNT_COMPLETED];
	bh->drop_table_full = c[TCPTRACE_CNT_DROP_TABLE_FULL];
	bh->drop_steps_full = c[TCPTRACE_CNT_DROP_STEPS_FULL];
	bh->ring_overwritten = s.ring_overwritten;
	bh->unexpected = c[TCPTRACE_CNT_UNEXPECTED];
	bh->syncookies = c[TCPTRACE_CNT_SYNCOOKIES];
	bh->kprobe_missed = s.kprobe_missed;
	bh->filtered = c[TCPTRACE_CNT_FILTERED];
	bh->filter_ports = s.filter_ports;
	bh->filter_netns = s.filter_netns;
	bh->evicted = c[TCPTRACE_CNT_EVICTED];
	bh->mem_bytes = s.mem_bytes;
	bh->kretprobes = s.kretprobes;
	bh->timewait = s.timewait;
	bh->halfopen = s.halfopen;
	bh->rst_reasons = s.rst_reasons;
}

/* One history as a binary record: the fields of its text record. */
void tcptrace_format_binary_record(struct tcptrace_binary_record *rec,
				   const struct tcptrace_history *h, bool done)
{
	unsigned int i;

	memset(rec, 0, sizeof(*rec));
	rec->kind = done ? TCPTRACE_BINARY_DONE : TCPTRACE_BINARY_LIVE;
	rec->family = h->family == AF_INET6 ? 6 : 4;
	rec->cookie = h->cookie;
	rec->t0 = h->ts[0];
	if (h->family == AF_INET6) {
		memcpy(rec->saddr, &h->saddr.v6, sizeof(h->saddr.v6));
		memcpy(rec->daddr, &h->daddr.v6, sizeof(h->daddr.v6));
	} else {
		memcpy(rec->saddr, &h->saddr.v4, sizeof(h->saddr.v4));
		memcpy(rec->daddr, &h->daddr.v4, sizeof(h->daddr.v4));
	}
	rec->sport = h->sport;
	rec->dport = h->dport;
	rec->netns = h->netns;
	rec->uid = h->uid;
	if (h->flags & TCPTRACE_HISTF_OWNER) {
		rec->flags |= TCPTRACE_BINARY_OWNER;
		rec->pid = h->pid;
		rec->tgid = h->tgid;
		strscpy(rec->comm, h->comm, sizeof(rec->comm));
	}
	if (done) {
		rec->seq = h->seq;
		rec->end = h->end;
		rec->bytes_acked = h->bytes_acked;
		rec->bytes_received = h->bytes_received;
		rec->retrans = h->retrans;
		rec->srtt_us = h->srtt_us;
		if (h->flags & TCPTRACE_HISTF_TIMEWAIT)
			rec->flags |= TCPTRACE_BINARY_TIMEWAIT |
				      (h->flags & TCPTRACE_HISTF_TW_EXPIRED ?
				       TCPTRACE_BINARY_TW_EXPIRED : 0);
	}
	rec->syn_retrans = h->syn_retrans;
	if (h->rst_reason) {
		const char *name = tcptrace_rst_reason_name(h->rst_reason - 1);

		if (name)
			strscpy(rec->rst_reason, name, sizeof(rec->rst_reason));
		else
			snprintf(rec->rst_reason, sizeof(rec->rst_reason), "%u",
				 h->rst_reason - 1);
	}
	if (h->flags & TCPTRACE_HISTF_SEEDED)
		rec->flags |= TCPTRACE_BINARY_SEEN_AT_LOAD;
	rec->unexpected = h->unexpected;
	rec->dropped = h->dropped;
	rec->nsteps = h->nsteps;
	for (i = 0; i < h->nsteps; i++) {
		rec->steps[i].oldstate = h->steps[i].oldstate;
		rec->steps[i].newstate = h->steps[i].newstate;
		rec->steps[i].flags = h->steps[i].flags & TCPTRACE_BINARY_STEP_ALL;
		rec->step_ns[i] = h->ts[i] - h->ts[0];
	}
}
