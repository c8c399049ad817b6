/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the views share: how durations, endpoints, states, owners and JSON
 * strings are written, colours, and the header's counters (--stats).
 */
#ifndef TCPTRACE_OUTPUT_H
#define TCPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* Longest duration text, NUL included: "18446744073.71s". */
#define TT_DURATION_MAX	24

/* "[" IPv6 "]:" port or service name, NUL included. */
#define TT_ENDPOINT_MAX	(INET6_ADDRSTRLEN + 40)

/* "comm/pid", NUL included. */
#define TT_OWNER_MAX	(TT_COMM_TEXT_MAX + 24)

/*
 * A writer for the views that print a record at a time (the table, JSON,
 * the timeline): they build each record's text here with the appends
 * below and write it with one fwrite(). Through a million records, the
 * printf family (parsing its format, padding, converting) costs more than
 * everything else the reader does. Since a record is still written whole
 * before the next is read, what reaches the FILE and when is as before:
 * its errors, and line buffering when following. A record longer than the
 * buffer is written in pieces.
 */
#define TT_OUT_BUF	4096

struct tt_out {
	FILE *file;
	size_t len;		/* bytes in buf[] not written yet */
	char buf[TT_OUT_BUF];
};

static inline void tt_out_init(struct tt_out *o, FILE *file)
{
	o->file = file;
	o->len = 0;
}

/* Write what the buffer holds to the file, and empty it. */
void tt_out_flush(struct tt_out *o);

/* @n bytes at most TT_OUT_BUF: room for them at the end of the buffer. */
static inline char *tt_out_room(struct tt_out *o, size_t n)
{
	if (n > TT_OUT_BUF - o->len)
		tt_out_flush(o);
	return o->buf + o->len;
}

/* tt_out_mem() of more than the buffer has room for. */
void tt_out_big(struct tt_out *o, const char *s, size_t n);

static inline void tt_out_mem(struct tt_out *o, const char *s, size_t n)
{
	if (n > TT_OUT_BUF - o->len) {
		tt_out_big(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static inline void tt_out_str(struct tt_out *o, const char *s)
{
	tt_out_mem(o, s, strlen(s));
}

/* A string literal: its length is known when compiling. */
#define tt_out_lit(o, lit)	tt_out_mem(o, "" lit, sizeof(lit) - 1)

static inline void tt_out_char(struct tt_out *o, char c)
{
	*tt_out_room(o, 1) = c;
	o->len++;
}

/* @n spaces. */
void tt_out_spaces(struct tt_out *o, size_t n);

/* @len bytes of @s, then spaces up to @width, as "%-*s" would. */
static inline void tt_out_pad(struct tt_out *o, const char *s, size_t len,
			      size_t width)
{
	tt_out_mem(o, s, len);
	if (len < width)
		tt_out_spaces(o, width - len);
}

/* Longest decimal text of a uint64_t, NUL included. */
#define TT_U64_MAX	21

/* @value in decimal into @buf, NUL-terminated; its length. */
size_t tt_format_u64(uint64_t value, char buf[TT_U64_MAX]);

/*
 * For a piece of a record whose length has a small bound: ask for room
 * for it once, write it with the tt_put_*() (each returns where the next
 * byte goes, kept in a register, with no check), then tt_out_put_end().
 * The most repeated pieces (JSON's steps, the timeline's rows) are
 * written so.
 */
static inline char *tt_put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define tt_put_lit(p, lit)	tt_put_mem(p, "" lit, sizeof(lit) - 1)

static inline char *tt_put_str(char *p, const char *s)
{
	return tt_put_mem(p, s, strlen(s));
}

static inline char *tt_put_u64(char *p, uint64_t value)
{
	/* 0 to 9, the most frequent by far, without a call. */
	if (value < 10) {
		*p = (char)('0' + value);
		return p + 1;
	}
	return p + tt_format_u64(value, p);
}

/* "%" PRIu64 */
static inline void tt_out_u64(struct tt_out *o, uint64_t value)
{
	char *p = tt_out_room(o, TT_U64_MAX);

	o->len += tt_put_u64(p, value) - p;
}

static inline char *tt_put_spaces(char *p, size_t n)
{
	memset(p, ' ', n);
	return p + n;
}

/*
 * @len bytes of @s, then spaces up to @width, as "%-*s" would: the spaces
 * first, all @width of them (a constant: a few stores), then @s over them.
 */
static inline char *tt_put_pad(char *p, const char *s, size_t len, size_t width)
{
	memset(p, ' ', width);
	memcpy(p, s, len);
	return p + (len > width ? len : width);
}

/* Spaces, then the @len bytes of @s, up to @width, as "%*s" would. */
static inline char *tt_put_rpad(char *p, const char *s, size_t len, size_t width)
{
	memset(p, ' ', width);
	if (len < width)
		p += width - len;
	memcpy(p, s, len);
	return p + len;
}

static inline void tt_out_put_end(struct tt_out *o, const char *p)
{
	o->len = p - o->buf;
}

/*
 * Append @s to the string of @len bytes in @buf, of @size bytes, as
 * snprintf(buf + len, size - len, "%s", s) would, but cheaply: as much as
 * fits, NUL-terminated. The new length. Inline, so that a literal's
 * length is known when compiling.
 */
static inline size_t tt_str_append(char *buf, size_t size, size_t len,
				   const char *s)
{
	size_t n = strlen(s);

	if (len >= size)
		return len;
	if (n > size - len - 1)
		n = size - len - 1;
	memcpy(buf + len, s, n);
	buf[len + n] = '\0';
	return len + n;
}

/* Port numbers to service names, read once from the services database. */
struct tt_services;

struct tt_services *tt_services_load(void);
void tt_services_free(struct tt_services *services);

/* The name of TCP port @port, or NULL. */
const char *tt_service_name(const struct tt_services *services, uint16_t port);

/* How the text views write what they show: the options that shape it. */
struct tt_style {
	bool numeric;		/* -n: port numbers, not service names */
	bool ss_names;		/* -S: ss(8)'s state names */
	bool color;		/* ANSI colours */
	bool no_heading;	/* -H: no heading rows */
	const struct tt_services *services;	/* NULL: numbers */
};

/*
 * "0ns", "999ns", "71.312us", "1.16ms", "2s": at most 3 decimals. The
 * tt_format_*() return the length of what they wrote.
 */
size_t tt_format_duration(uint64_t ns, char buf[TT_DURATION_MAX]);

static inline void tt_out_duration(struct tt_out *o, uint64_t ns)
{
	o->len += tt_format_duration(ns, tt_out_room(o, TT_DURATION_MAX));
}

/* "127.0.0.1:8080", "[::1]:http-alt" (a service name unless -n). */
size_t tt_format_endpoint(const struct tt_style *style,
			  const struct tt_endpoint *ep, enum tt_family family,
			  char buf[TT_ENDPOINT_MAX]);

/* ss(8)'s name of a state: "ESTAB", "SYN-SENT", ... */
const char *tt_ss_state_name(unsigned int state);

/* The name of @state as the style says: the format's or ss(8)'s. */
const char *tt_style_state(const struct tt_style *style, unsigned int state);

/* "curl/1234", "curl" without pid=, "-" without an owner. */
size_t tt_format_owner(const struct tt_record *r, char buf[TT_OWNER_MAX]);

/*
 * "CLOSE > SYN_SENT / ESTABLISHED > FIN_WAIT1! (+2 dropped)": the path
 * without times, " / " before a state whose entry was missed, '!' after
 * one reached by an unexpected step, " w" after one in which a timewait
 * socket took over (tt_state_handed_over()): "FIN_WAIT1 > FIN_WAIT2 w >
 * TIME_WAIT", where the record has FIN_WAIT2>FIN_WAIT2 flagged 'w'.
 */
void tt_print_path(FILE *out, const struct tt_style *style,
		   const struct tt_record *r);
void tt_out_path(struct tt_out *o, const struct tt_style *style,
		 const struct tt_record *r);

const char *tt_kind_name(enum tt_kind kind);
const char *tt_family_name(enum tt_family family);

/* ANSI SGR sequences for tt_color(). */
#define TT_BOLD		"1"
#define TT_DIM		"2"
#define TT_RED		"31"
#define TT_GREEN	"32"
#define TT_YELLOW	"33"

/* Write @text, coloured with SGR @sgr if the style has colours. */
void tt_color(FILE *out, const struct tt_style *style, const char *sgr,
	      const char *text);
/* The @len bytes of @text in SGR @sgr: tt_out_color()'s coloured case. */
void tt_out_sgr(struct tt_out *o, const char *sgr, const char *text, size_t len);

/* tt_color() of the @len bytes of @text. */
static inline void tt_out_color(struct tt_out *o, const struct tt_style *style,
				const char *sgr, const char *text, size_t len)
{
	if (style->color && sgr)
		tt_out_sgr(o, sgr, text, len);
	else if (len)
		tt_out_mem(o, text, len);
}

/* As tt_color(), then spaces up to @width columns (text is ASCII). */
void tt_color_pad(FILE *out, const struct tt_style *style, const char *sgr,
		  const char *text, int width);

/* As tt_color_pad(), of the @len bytes of @text. */
void tt_out_color_pad(struct tt_out *o, const struct tt_style *style,
		      const char *sgr, const char *text, size_t len, size_t width);

/* The colour of an end reason: green for a close, red for a failure. */
const char *tt_end_color(unsigned int end);

/* A JSON string: quotes, backslashes and control characters escaped. */
void tt_json_string(FILE *out, const char *s);
void tt_out_json_string(struct tt_out *o, const char *s);

/*
 * --stats: the header's counters, those it has, in the format's order,
 * then the origin's host and boot_id unless @origin is NULL.
 */
void tt_print_stats(FILE *out, const struct tt_header *h,
		    const struct tt_origin *origin);
void tt_print_stats_json(FILE *out, const struct tt_header *h,
			 const struct tt_origin *origin);

#endif /* TCPTRACE_OUTPUT_H */
