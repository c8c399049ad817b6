/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit tests of the records' other encodings (binary.c, json.c)
 * share: records compared field by field, lines made to reach every field
 * and every way of writing a path, and a walk over every record line of
 * every capture of tests/data (run from userspace/, as tests/run.sh does).
 */
#ifndef TCPTRACE_TESTS_RECORDS_H
#define TCPTRACE_TESTS_RECORDS_H

#include <dirent.h>
#include <stdlib.h>

#include "../parse.h"
#include "check.h"

#define DATA	"tests/data"

/* A record of the format's example, with every optional field. */
#define FULL_RECORD "done 2 ipv4 127.0.0.1:41128 127.0.0.1:39587 seq=1 t0=52190658282 netns=4026531833 uid=0 pid=264 tgid=264 comm=python3 end=aborted bytes_acked=1 bytes_received=0 retrans=0 srtt_us=11462 syn_retrans=2 rst_reason=TCP_STATE timewait=killed seen_at_load=1 unexpected=1 dropped=3 path=CLOSE>SYN_SENT@0>ESTABLISHED@21360431x>CLOSE@42601375sdw\n"

static bool steps_equal(const struct tt_step *a, const struct tt_step *b)
{
	return a->old_state == b->old_state && a->new_state == b->new_state &&
	       a->t_ns == b->t_ns && a->softirq == b->softirq && a->gap == b->gap &&
	       a->unexpected == b->unexpected && a->derived == b->derived &&
	       a->timewait == b->timewait;
}

static bool endpoints_equal(const struct tt_endpoint *a, const struct tt_endpoint *b)
{
	return strcmp(a->addr, b->addr) == 0 && memcmp(a->bin, b->bin, sizeof(a->bin)) == 0 &&
	       a->port == b->port;
}

/* Field by field: what a view may read of a record. */
static const char *records_differ(const struct tt_record *a, const struct tt_record *b)
{
	unsigned int i;

	if (a->kind != b->kind || a->id != b->id || a->family != b->family)
		return "kind, id or family";
	if (!endpoints_equal(&a->local, &b->local) || !endpoints_equal(&a->remote, &b->remote))
		return "addresses";
	if (a->has != b->has)
		return "has";
	if (a->seq != b->seq || a->t0 != b->t0 || a->netns != b->netns || a->uid != b->uid ||
	    a->pid != b->pid || a->tgid != b->tgid || strcmp(a->comm, b->comm) != 0)
		return "seq, t0, netns, uid or owner";
	if (a->end != b->end || a->timewait != b->timewait || a->bytes_acked != b->bytes_acked ||
	    a->bytes_received != b->bytes_received || a->retrans != b->retrans ||
	    a->srtt_us != b->srtt_us || a->syn_retrans != b->syn_retrans ||
	    strcmp(a->rst_reason, b->rst_reason) != 0)
		return "end or counters";
	if (a->seen_at_load != b->seen_at_load || a->unexpected != b->unexpected ||
	    a->dropped != b->dropped)
		return "seen_at_load, unexpected or dropped";
	if (a->first_state != b->first_state || a->nr_steps != b->nr_steps)
		return "first state or number of steps";
	for (i = 0; i < a->nr_steps; i++)
		if (!steps_equal(&a->steps[i], &b->steps[i]))
			return "a step";
	return NULL;
}

static bool parse_record(const char *line, size_t len, struct tt_record *r)
{
	char err[TT_ERR_MAX];
	struct tt_line parsed;

	if (tt_parse_line(line, len, &parsed, err) != TT_LINE_RECORD)
		return false;
	*r = parsed.record;
	return true;
}

/* Lines made to reach every field and every way of writing a path. */
static const char *const test_lines[] = {
	FULL_RECORD,
	"live 4105 ipv6 [::1]:8080 [::]:0 t0=116711033120 netns=4026531840 uid=0 pid=331 tgid=331 comm=server path=CLOSE>LISTEN@0\n",
	/* Seeded: the path starts in the state at load, or with none. */
	"live 9 ipv4 10.0.0.1:22 10.0.0.2:50000 t0=5 netns=1 uid=0 seen_at_load=1 path=ESTABLISHED\n",
	"done 9 ipv4 10.0.0.1:22 10.0.0.2:50000 seq=0 t0=5 netns=1 uid=0 end=passive_close bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0 seen_at_load=1 path=ESTABLISHED>CLOSE_WAIT@10>LAST_ACK@20>CLOSE@30s\n",
	/* A '/' on the first step, and on a later one. */
	"live 3 ipv4 10.0.0.1:1 10.0.0.2:2 t0=1 netns=1 uid=0 path=CLOSE/LISTEN>SYN_RECV@0>ESTABLISHED@5/FIN_WAIT2>CLOSE@9\n",
	"live 3 ipv4 10.0.0.1:1 10.0.0.2:2 t0=1 netns=1 uid=0 path=UNKNOWN\n",
	/* comm with escapes, the longest the kernel has. */
	"live 4 ipv6 [fe80::5efe:10.1.2.3]:1 [::ffff:10.0.0.1]:2 t0=1 netns=1 uid=4294967295 pid=4294967295 tgid=1 comm=a\\x20b\\x5cc\\x09d\\xffxyzabcd path=CLOSE>SYN_SENT@0\n",
	"done 18446744073709551615 ipv6 [1:0:1:1:1:1:1:1]:65535 [1:0:0:1::1]:1 seq=18446744073709551615 t0=18446744073709551615 netns=0 uid=0 end=syncookie bytes_acked=18446744073709551615 bytes_received=0 retrans=4294967295 srtt_us=0 syn_retrans=255 unexpected=255 dropped=255 path=LISTEN>NEW_SYN_RECV@0sd>CLOSE@18446744073709551615sxdw\n",
	"done 1 ipv4 0.0.0.0:0 255.255.255.255:0 seq=0 t0=0 netns=0 uid=0 end=none bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0 timewait=expired path=CLOSE>SYN_SENT@0>ESTABLISHED@1>FIN_WAIT1@2>FIN_WAIT2@3>FIN_WAIT2@4w>TIME_WAIT@5d>CLOSE@6d>SYN_SENT@7>CLOSE@8>BOUND_INACTIVE@9\n",
};

#define NR_TEST_LINES	(sizeof(test_lines) / sizeof(test_lines[0]))

/* Called with each record line of a capture, and where it is ("FILE:N"). */
typedef void (*record_line_fn)(struct test *t, const char *line, size_t len,
			       const char *where, void *ctx);

static bool capture_name(const char *name)
{
	size_t len = strlen(name);

	return (len > 4 && strcmp(name + len - 4, ".txt") == 0) ||
	       (len > 7 && strcmp(name + len - 7, ".script") == 0);
}

static void each_record_line_of(struct test *t, const char *path, record_line_fn fn,
				void *ctx)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, where[600];
	unsigned int lineno = 0;
	size_t cap = 0;
	ssize_t len;

	if (!f) {
		printf("# %s: cannot open\n", path);
		t->failed = true;
		return;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[0] != 'd' && line[0] != 'l')
			continue;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		fn(t, line, (size_t)len, where, ctx);
	}
	free(line);
	fclose(f);
}

/* @fn on every record line of every capture (and follow script) of tests/data. */
static void each_capture_record_line(struct test *t, record_line_fn fn, void *ctx)
{
	struct dirent **names;
	char path[512];
	int n, i;

	n = scandir(DATA, &names, NULL, alphasort);
	if (n < 0) {
		printf("# %s: cannot read the directory (run from userspace/)\n", DATA);
		t->failed = true;
		return;
	}
	for (i = 0; i < n; i++) {
		if (capture_name(names[i]->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", DATA, names[i]->d_name);
			each_record_line_of(t, path, fn, ctx);
		}
		free(names[i]);
	}
	free(names);
}

#endif /* TCPTRACE_TESTS_RECORDS_H */
