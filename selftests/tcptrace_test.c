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
 * halfopen= from the header and expect accordingly; run_tests.sh runs them
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
#include <netinet/ip.h>
#include <netinet/tcp.h>	/* TCP_CLOSE, as in include/net/tcp_states.h */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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
#include "tcptrace_parse.h"
#include "tcptrace_helpers.h"
#include "tcptrace_topology.h"


#define WAIT_MS		20000	/* bound on waiting for histories to complete */
#define POLL_MS		20

/* ---- Sockets ------------------------------------------------------------ */

/*
 * Not a real family: an AF_INET6 socket speaking IPv4 through v4-mapped
 * addresses (::ffff:127.0.0.1), the way a dual-stack program does.
 */
#define AF_INET6_MAPPED	(AF_MAX + 1)

static int sock_family(int af)
{
	return af == AF_INET6_MAPPED ? AF_INET6 : af;
}

static socklen_t lo_addr(int af, unsigned short port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6_MAPPED) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6->sin6_addr);
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	} else if (af == AF_INET) {
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
	int fd = socket(sock_family(af), SOCK_STREAM, 0);

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

/*
 * A scenario writes the path it expects in the device's own notation
 * (Documentation/tcptrace.rst, "path"), without the times: each step's
 * new state (after "/OLD" for a missed transition), then "@" and its
 * flags d and w, in the device's order, when it has any. Where the
 * device shows
 *
 *   path=CLOSE>SYN_SENT@0>ESTABLISHED@446510>FIN_WAIT1@5186660>
 *        FIN_WAIT2@13217930s>FIN_WAIT2@13479350sw>TIME_WAIT@58174510sd>
 *        CLOSE@60058174510sd
 *
 * (one line), the scenario writes
 *
 *   CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2@w>TIME_WAIT@d>CLOSE@d
 *
 * d and w are exact: a step written without them must not have them. The
 * other flags are not written: x never may be, and s (softirq) is known
 * for some steps only, which process_steps and softirq_steps name.
 */
#define PATH_MAX_TEXT	256

/*
 * A server's child up to SYN_RECV, with or without the half-open phase:
 * the request's step comes from a kprobe (d).
 */
static const char *child_start(const struct mode *m)
{
	return m->halfopen ? "LISTEN>NEW_SYN_RECV@d>SYN_RECV" : "LISTEN>SYN_RECV";
}

/* The request's step comes in the SYN's softirq, the clone's in the ACK's. */
#define CHILD_SOFTIRQ_STEPS	"LISTEN>NEW_SYN_RECV NEW_SYN_RECV>SYN_RECV LISTEN>SYN_RECV"

/* The most paths an expectation allows, where the kernel may go either way. */
#define EXPECT_PATHS	2

struct expect {
	const char *what;		/* for messages: "client", ... */
	const char *family;
	char local[ADDR_MAX];
	char remote[ADDR_MAX];
	unsigned long long netns;	/* where the socket lives */
	unsigned long long cookie;	/* SO_COOKIE, 0: do not check */
	/*
	 * The paths its done history may take, in the notation above, ""
	 * after the last; none: it must leave no done history.
	 */
	char paths[EXPECT_PATHS][PATH_MAX_TEXT];
	/* steps, "OLD>NEW" separated by spaces, that must (not) be softirq */
	const char *process_steps;
	const char *softirq_steps;
	const char *timewait;		/* timewait=, NULL for absent */
	const char *end;		/* end= */
	bool owner_optional;		/* else pid=, tgid=, comm= must be ours */
	bool no_owner;			/* every step ran in softirq: no owner */
	/*
	 * Tell it from other histories of the same addresses by its path
	 * too (a SYN answered with a cookie, then the connection).
	 */
	bool match_path;
	/* The owner, when it is not this process (owner_pid 0: getpid()). */
	unsigned long long owner_pid, owner_tgid;
	const char *owner_comm;
	unsigned long long min_bytes;	/* bytes_acked and bytes_received at least */
	bool no_bytes;			/* both exactly 0 */
	int retrans;			/* retrans=, -1: any */
	int syn_retrans;		/* syn_retrans=, -1: any */
	/* rst_reason= where the kernel gives reasons (rst_reasons=1), NULL: none */
	const char *rst_reason;
	int dropped;			/* dropped=, 0 when absent */
	bool seen_at_load;		/* seen_at_load=1 */
};

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
	e->netns = netns_inode();
	e->cookie = cookie;
	e->retrans = -1;
	e->syn_retrans = -1;
}

/* The path its done history takes. */
static void __attribute__((format(printf, 2, 3)))
expect_path(struct expect *e, const char *fmt, ...)
{
	va_list ap;

	memset(e->paths, 0, sizeof(e->paths));
	va_start(ap, fmt);
	vsnprintf(e->paths[0], sizeof(e->paths[0]), fmt, ap);
	va_end(ap);
}

/* A listener's life, CLOSE>LISTEN>CLOSE, ended by its close(); no bytes. */
static void expect_listener(struct expect *e, const char *family, const char *local,
			    const char *any, unsigned long long cookie)
{
	expect_init(e, "listener", family, local, any, cookie);
	expect_path(e, "CLOSE>LISTEN>CLOSE");
	e->end = "listener_closed";
	e->no_bytes = true;
}

/* Or this one, where the kernel may take either way. */
static void __attribute__((format(printf, 2, 3)))
expect_or_path(struct expect *e, const char *fmt, ...)
{
	va_list ap;
	int i;

	for (i = 1; i < EXPECT_PATHS && e->paths[i][0]; i++)
		;
	if (!e->paths[0][0] || i == EXPECT_PATHS) {
		fprintf(stderr, "# %s: %s(): no first path, or more than EXPECT_PATHS\n",
			e->what, __func__);
		abort();
	}
	va_start(ap, fmt);
	vsnprintf(e->paths[i], sizeof(e->paths[i]), fmt, ap);
	va_end(ap);
}

/* It leaves no done history. */
static void expect_no_history(struct expect *e)
{
	memset(e->paths, 0, sizeof(e->paths));
}

/* A path's states alone, as struct rec's states holds them: its flags cut. */
static char *path_states(char *path)
{
	char *in = path, *out = path;

	while (*in) {
		if (*in == '@')
			in += strcspn(in, ">/");
		else
			*out++ = *in++;
	}
	*out = '\0';
	return path;
}

/* @r's path in the notation of expectations: no times, flags d and w only. */
static void rec_path(const struct rec *r, char *out, size_t size)
{
	size_t n;
	int k;

	n = snprintf(out, size, "%s", state_names[r->first]);
	for (k = 0; k < r->nsteps && n < size; k++) {
		const struct step *s = &r->steps[k];

		if (s->missed)
			n += snprintf(out + n, size - n, "/%s", state_names[s->oldstate]);
		if (n < size)
			n += snprintf(out + n, size - n, ">%s%s%s%s",
				      state_names[s->newstate],
				      s->derived || s->timewait ? "@" : "",
				      s->derived ? "d" : "", s->timewait ? "w" : "");
	}
}

/* The path of @e whose states are @states, or NULL: the one @r must match. */
static const char *path_with_states(const struct expect *e, const char *states)
{
	char buf[PATH_MAX_TEXT];
	int i;

	for (i = 0; i < EXPECT_PATHS && e->paths[i][0]; i++) {
		snprintf(buf, sizeof(buf), "%s", e->paths[i]);
		if (!strcmp(path_states(buf), states))
			return e->paths[i];
	}
	return NULL;
}

/* One done history expected, or none. */
static size_t want_done(const struct expect *e)
{
	return e->paths[0][0] ? 1 : 0;
}

static bool rec_is(const struct rec *r, const struct expect *e)
{
	return r->netns == e->netns && !strcmp(r->family, e->family) &&
	       !strcmp(r->local, e->local) && !strcmp(r->remote, e->remote) &&
	       (!e->match_path || path_with_states(e, r->states));
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
 * Poll the device into @d until every expected socket has its done
 * history and no live one, or WAIT_MS passes. @all_netns reads through an
 * all-netns reader, for sockets of a netns we left.
 */
static void read_until_done(struct __test_metadata *_metadata, struct dump *d,
			    const struct expect *exp, int nexp, bool all_netns)
{
	struct timespec start, now;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		bool complete = true;
		long ms;

		ASSERT_EQ(0, all_netns ? dump_read_all(d) : dump_read(d))
			TH_LOG("%s", d->err);
		for (i = 0; i < nexp; i++)
			if (count_done(d, &exp[i]) < want_done(&exp[i]) ||
			    count_live(d, &exp[i]))
				complete = false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 +
		     (now.tv_nsec - start.tv_nsec) / 1000000;
		if (complete || ms > WAIT_MS)
			return;
		dump_free(d);
		usleep(POLL_MS * 1000);
	}
}

/* Its states are one of the paths', its flags d and w that one's; no x. */
static void check_path(struct __test_metadata *_metadata, const struct dump *d,
		       const struct expect *e, const struct rec *r)
{
	char got[TCPTRACE_LINE_MAX];	/* shorter than the line */
	const char *path = path_with_states(e, r->states);

	if (!path) {
		log_dump(_metadata, d);
		path = e->paths[0];
	}
	rec_path(r, got, sizeof(got));
	ASSERT_STREQ(path, got)
		TH_LOG("%s %s -> %s: %s%s%s", e->what, e->local, e->remote, r->line,
		       e->paths[1][0] ? "; or: " : "", e->paths[1]);
	ASSERT_EQ(0, r->nflagged)
		TH_LOG("%s: a step is flagged unexpected: %s", e->what, r->line);
}

/* Its id is the socket's cookie; it is ours; seen at load or not. */
static void check_socket(struct __test_metadata *_metadata, const struct expect *e,
			 const struct rec *r)
{
	if (e->cookie)
		ASSERT_EQ(e->cookie, r->id)
			TH_LOG("%s: id is not the socket cookie: %s", e->what, r->line);
	ASSERT_EQ((unsigned long long)getuid(), r->uid) TH_LOG("%s", r->line);
	ASSERT_EQ(e->seen_at_load, r->seen_at_load)
		TH_LOG("%s: seen_at_load=: %s", e->what, r->line);
}

/* How it ended: end=, timewait= and rst_reason=. */
static void check_end(struct __test_metadata *_metadata, const struct dump *d,
		      const struct expect *e, const struct rec *r)
{
	if (e->end)
		ASSERT_STREQ(e->end, end_names[r->end])
			TH_LOG("%s: how it ended: %s", e->what, r->line);
	ASSERT_STREQ(e->timewait ? e->timewait : "", r->timewait)
		TH_LOG("%s: timewait=: %s", e->what, r->line);
	ASSERT_STREQ(e->rst_reason && d->hdr.rst_reasons ? e->rst_reason : "",
		     r->rst_reason)
		TH_LOG("%s: rst_reason=: %s", e->what, r->line);
}

/* dropped=, retrans=, syn_retrans=, bytes_acked= and bytes_received=. */
static void check_counters(struct __test_metadata *_metadata, const struct expect *e,
			   const struct rec *r)
{
	ASSERT_EQ((unsigned long long)e->dropped, r->dropped)
		TH_LOG("%s: dropped=: %s", e->what, r->line);
	if (e->retrans >= 0)
		ASSERT_EQ((unsigned long long)e->retrans, r->retrans)
			TH_LOG("%s: retrans=: %s", e->what, r->line);
	if (e->syn_retrans >= 0)
		ASSERT_EQ((unsigned long long)e->syn_retrans, r->syn_retrans)
			TH_LOG("%s: syn_retrans=: %s", e->what, r->line);
	if (e->no_bytes) {
		ASSERT_EQ(0ULL, r->bytes_acked) TH_LOG("%s", r->line);
		ASSERT_EQ(0ULL, r->bytes_received) TH_LOG("%s", r->line);
	}
	ASSERT_LE(e->min_bytes, r->bytes_acked) TH_LOG("%s", r->line);
	ASSERT_LE(e->min_bytes, r->bytes_received) TH_LOG("%s", r->line);
}

/* pid=, tgid= and comm=: the task that last changed its state, if one did. */
static void check_owner(struct __test_metadata *_metadata, const struct expect *e,
			const struct rec *r)
{
	char comm[64];

	if (e->no_owner) {
		ASSERT_FALSE(r->has_owner)
			TH_LOG("%s: an owner, but no task changed its state: %s",
			       e->what, r->line);
	} else if (!e->owner_optional) {
		ASSERT_TRUE(r->has_owner)
			TH_LOG("%s: no owner, but we changed its state: %s", e->what, r->line);
	}
	if (r->has_owner && e->owner_pid) {
		ASSERT_EQ(e->owner_pid, r->pid) TH_LOG("%s: owner pid: %s", e->what, r->line);
		ASSERT_EQ(e->owner_tgid, r->tgid)
			TH_LOG("%s: owner tgid: %s", e->what, r->line);
		ASSERT_STREQ(e->owner_comm, r->comm)
			TH_LOG("%s: owner comm: %s", e->what, r->line);
	} else if (r->has_owner) {
		my_comm(comm, sizeof(comm));
		ASSERT_EQ((unsigned long long)getpid(), r->pid) TH_LOG("%s", r->line);
		ASSERT_EQ((unsigned long long)getpid(), r->tgid) TH_LOG("%s", r->line);
		ASSERT_STREQ(comm, r->comm) TH_LOG("%s", r->line);
	}
}

/* The steps process_steps names ran in a syscall, softirq_steps' in softirq. */
static void check_contexts(struct __test_metadata *_metadata, const struct expect *e,
			   const struct rec *r)
{
	int k;

	for (k = 0; k < r->nsteps; k++) {
		const struct step *s = &r->steps[k];
		const char *o = state_names[s->oldstate];
		const char *nw = state_names[s->newstate];

		if (step_listed(e->process_steps, s))
			ASSERT_FALSE(s->softirq)
				TH_LOG("%s: step %s>%s ran in a syscall, not in softirq: %s",
				       e->what, o, nw, r->line);
		if (step_listed(e->softirq_steps, s))
			ASSERT_TRUE(s->softirq)
				TH_LOG("%s: step %s>%s runs in softirq: %s", e->what, o, nw,
				       r->line);
	}
}

/*
 * The records of @e's socket in @d: its one done history, exactly as
 * expected, if it expects one; nothing else, live or done.
 */
static void check_histories(struct __test_metadata *_metadata, const struct dump *d,
			    const struct expect *e)
{
	int want = want_done(e), n = 0;
	size_t j;

	for (j = 0; j < d->nrecs; j++) {
		const struct rec *r = &d->recs[j];

		if (!rec_is(r, e))
			continue;
		n++;
		if (!r->done || n > want) {
			log_dump(_metadata, d);
			ASSERT_TRUE(false)
				TH_LOG("%s %s %s -> %s: unexpected record: %s", e->what,
				       e->family, e->local, e->remote, r->line);
		}
		check_path(_metadata, d, e, r);
		check_socket(_metadata, e, r);
		check_end(_metadata, d, e, r);
		check_counters(_metadata, e, r);
		check_owner(_metadata, e, r);
		check_contexts(_metadata, e, r);
	}
	if (n != want)
		log_dump(_metadata, d);
	ASSERT_EQ(want, n)
		TH_LOG("%s %s %s -> %s: %d done histories, expected %d (%s)", e->what,
		       e->family, e->local, e->remote, n, want, e->paths[0]);
}

/* Distinct sockets have distinct cookies. */
static void check_cookies_distinct(struct __test_metadata *_metadata,
				   const struct expect *exp, int nexp)
{
	int i, k;

	for (i = 0; i < nexp; i++)
		for (k = i + 1; k < nexp; k++)
			if (exp[i].cookie && exp[k].cookie)
				ASSERT_NE(exp[i].cookie, exp[k].cookie);
}

/*
 * Poll the device until every expected socket has its done history and no
 * live one (or WAIT_MS passes), then assert them exactly. @all_netns reads
 * through an all-netns reader, for sockets of a netns we left.
 */
static void check_expect(struct __test_metadata *_metadata,
			 struct expect *exp, int nexp, bool all_netns)
{
	struct dump d;
	int i;

	read_until_done(_metadata, &d, exp, nexp, all_netns);
	for (i = 0; i < nexp; i++)
		check_histories(_metadata, &d, &exp[i]);
	check_cookies_distinct(_metadata, exp, nexp);
	dump_free(&d);
}

/* ---- Fixture setup: the module loaded, done histories cleared ----------- */

static void read_mode(struct __test_metadata *_metadata, struct mode *m)
{
	struct dump d;

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	m->timewait = d.hdr.timewait;
	m->halfopen = d.hdr.halfopen;
	dump_free(&d);
}

#define SETUP_DEVICE() do {						\
	const char *why = module_ensure("");				\
									\
	if (why) {							\
		self->skip = true;					\
		SKIP(return, "%s", why);				\
	}								\
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_CLEAR "\n",			\
			       strlen(TCPTRACE_CMD_CLEAR) + 1))		\
		TH_LOG("write clear: %s", strerror(errno));		\
	/* A test that failed midway may have left a filter on. */	\
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_PORTS,			\
			       strlen(TCPTRACE_CMD_PORTS)))		\
		TH_LOG("write ports=: %s", strerror(errno));		\
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_NETNS "0",			\
			       strlen(TCPTRACE_CMD_NETNS "0")))		\
		TH_LOG("write netns=0: %s", strerror(errno));		\
	read_mode(_metadata, &self->mode);				\
} while (0)

/* kselftest_harness.h of 6.1 runs the test body after a SKIP in setup. */
#define SKIPPED_IN_SETUP() do { if (self->skip) return; } while (0)

/* ---- Sockets in a network namespace of their own ------------------------ */

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

/* A sysctl, or any file of proc or debugfs that takes one value. */
static void write_sysctl(struct __test_metadata *_metadata, const char *path,
			 const char *value)
{
	int fd = open(path, O_WRONLY);

	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ((ssize_t)strlen(value), write(fd, value, strlen(value)))
		TH_LOG("%s: %s", path, strerror(errno));
	close(fd);
}

/* ---- Scenarios over loopback, for IPv4 and IPv6 -------------------------- */

FIXTURE(tcptrace) {
	bool skip;
	bool kprobes_disarmed;	/* by held_child_unclaimed */
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

/* IPv6 sockets on v4-mapped addresses: the histories are ipv6 ones. */
FIXTURE_VARIANT_ADD(tcptrace, v4mapped) {
	.af = AF_INET6_MAPPED,
	.family = "ipv6",
	.any = "[::]:0",
};

FIXTURE_SETUP(tcptrace)
{
	SETUP_DEVICE();
}

/* Every kprobe on or off: the debugfs switch (Documentation/trace/kprobes.rst). */
#define KPROBES_ENABLED	"/sys/kernel/debug/kprobes/enabled"

/*
 * Armed again after a failed assertion too. No ASSERT here: after a
 * failed one, 6.1's harness takes every later check, a teardown's
 * included, for failed too, and bails out again (it never clears
 * _metadata->trigger), teardown after teardown until the test times out.
 */
FIXTURE_TEARDOWN(tcptrace)
{
	int fd;

	if (!self->kprobes_disarmed)
		return;
	fd = open(KPROBES_ENABLED, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		TH_LOG("%s: could not arm the kprobes again: %s", KPROBES_ENABLED,
		       strerror(errno));
	if (fd >= 0)
		close(fd);
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
			    ">FIN_WAIT2@w>TIME_WAIT@d>CLOSE@d");
		expect_or_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2"
			       ">TIME_WAIT@w>CLOSE@d");
		exp[0].timewait = "killed";
	} else {
		/* FIN_WAIT2>CLOSE is the hand-over to the timewait socket. */
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE");
	}

	expect_init(&exp[1], "server child", family, c->laddr, c->caddr, c->acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE", child_start(m));
	exp[1].process_steps = "CLOSE_WAIT>LAST_ACK";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].end = "passive_close";
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], family, c->laddr, any, c->lcookie);
	exp[2].process_steps = "CLOSE>LISTEN LISTEN>CLOSE";
}

/* What conn_open() then conn_abort() leave. */
static void expect_aborted(struct expect exp[3], const struct mode *m,
			   const char *family, const char *any, const struct conn *c)
{
	expect_init(&exp[0], "aborting client", family, c->caddr, c->laddr, c->ccookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT ESTABLISHED>CLOSE";
	exp[0].end = "aborted";
	/* SO_LINGER {1, 0}: close() disconnects, and tcp_disconnect() resets. */
	exp[0].rst_reason = "TCP_STATE";
	exp[0].min_bytes = 4;

	/*
	 * Every step of the child may run in softirq (the RST too), so it
	 * may have no owner; if it has one, that is us.
	 */
	expect_init(&exp[1], "reset child", family, c->laddr, c->caddr, c->acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE", child_start(m));
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].end = "reset_received";
	exp[1].owner_optional = true;
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], family, c->laddr, any, c->lcookie);
	exp[2].process_steps = "CLOSE>LISTEN LISTEN>CLOSE";
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

/*
 * The server closes first, gracefully; the client reads the FIN, then
 * closes: the server's child makes the active close.
 */
static void conn_close_server_first(struct __test_metadata *_metadata, struct conn *c)
{
	char buf[1];

	ASSERT_EQ(0, set_abortive(c->cfd, false));
	ASSERT_EQ(0, set_abortive(c->afd, false));
	ASSERT_EQ(0, close(c->afd));
	ASSERT_EQ(0, recv(c->cfd, buf, 1, 0)) TH_LOG("recv: %s", strerror(errno));
	ASSERT_EQ(0, close(c->cfd));
	ASSERT_EQ(0, close(c->lfd));
}

/*
 * The steps an active closer takes into TIME_WAIT, after @before, with
 * or without the kprobes (see expect_graceful()).
 */
static void expect_active_close(struct expect *e, const struct mode *m,
				const char *before)
{
	if (!m->timewait) {
		expect_path(e, "%s>FIN_WAIT1>FIN_WAIT2>CLOSE", before);
	} else {
		expect_path(e, "%s>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2@w>TIME_WAIT@d>CLOSE@d", before);
		expect_or_path(e, "%s>FIN_WAIT1>FIN_WAIT2>TIME_WAIT@w>CLOSE@d", before);
		e->timewait = "killed";
	}
	e->end = "active_close";
}

/* What conn_open() then conn_close_server_first() leave. */
static void expect_server_first(struct expect exp[3], const struct mode *m,
				const char *family, const char *any,
				const struct conn *c)
{
	char before[128];

	expect_init(&exp[0], "passive client", family, c->caddr, c->laddr, c->ccookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT CLOSE_WAIT>LAST_ACK";
	exp[0].end = "passive_close";
	exp[0].min_bytes = 4;

	expect_init(&exp[1], "closing child", family, c->laddr, c->caddr, c->acookie);
	snprintf(before, sizeof(before), "%s>ESTABLISHED", child_start(m));
	expect_active_close(&exp[1], m, before);
	exp[1].process_steps = "ESTABLISHED>FIN_WAIT1";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], family, c->laddr, any, c->lcookie);
	exp[2].process_steps = "CLOSE>LISTEN LISTEN>CLOSE";
}

/*
 * Passive open, active close: the server closes first, in a netns of our
 * own whose teardown ends the child's TIME_WAIT.
 */
TEST_F_TIMEOUT(tcptrace, server_closes_first, 90)
{
	struct expect exp[3];
	struct conn c;
	int init_fd;

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	conn_close_server_first(_metadata, &c);
	expect_server_first(exp, &self->mode, variant->family, variant->any, &c);
	/* The client and the listener are done; the child waits in TIME_WAIT. */
	check_expect(_metadata, exp, 1, false);
	check_expect(_metadata, exp + 2, 1, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
}

/*
 * What conn_open() then the server's close with @end leave: the child's
 * RST (@rst_reason where the kernel gives reasons) resets the client.
 */
static void expect_server_reset(struct expect exp[3], const struct mode *m,
				const FIXTURE_VARIANT(tcptrace) *variant,
				const struct conn *c, const char *end,
				const char *rst_reason)
{
	expect_init(&exp[0], "reset client", variant->family, c->caddr, c->laddr, c->ccookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT";
	exp[0].softirq_steps = "ESTABLISHED>CLOSE";
	exp[0].end = "reset_received";
	exp[0].min_bytes = 4;

	expect_init(&exp[1], "resetting child", variant->family, c->laddr, c->caddr,
		    c->acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE", child_start(m));
	exp[1].process_steps = "ESTABLISHED>CLOSE";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].end = end;
	exp[1].rst_reason = rst_reason;
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], variant->family, c->laddr, variant->any, c->lcookie);
}

/* The server aborts with SO_LINGER {1, 0}: its RST resets the client. */
TEST_F(tcptrace, server_aborts)
{
	struct expect exp[3];
	struct conn c;
	char buf[1];

	SKIPPED_IN_SETUP();
	conn_open(_metadata, variant->af, &c);
	ASSERT_EQ(0, set_abortive(c.afd, true));
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(-1, recv(c.cfd, buf, 1, 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.lfd));

	expect_server_reset(exp, &self->mode, variant, &c, "aborted", "TCP_STATE");
	check_expect(_metadata, exp, 3, false);
}

/* Wait until @fd's TCP state is @state (TCP_INFO), for up to 5 s. */
static int wait_tcp_state(int fd, int state)
{
	struct tcp_info ti;
	socklen_t len;
	int i;

	for (i = 0; i < 500; i++) {
		len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		if (ti.tcpi_state == state)
			return 0;
		usleep(10 * 1000);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Send @n times four bytes from @from and read them on @to. */
static void send_recv(struct __test_metadata *_metadata, int from, int to, int n)
{
	char buf[4];

	while (n--) {
		ASSERT_EQ(4, send(from, "data", 4, 0)) TH_LOG("send: %s", strerror(errno));
		ASSERT_EQ(4, recv(to, buf, 4, MSG_WAITALL)) TH_LOG("recv: %s", strerror(errno));
	}
}

/*
 * Half-close: the client shuts down its sending side, the server keeps
 * sending and then closes; the client closes last. The client's FIN is
 * acknowledged (FIN_WAIT2), the server's FIN moves the client, still
 * open, into TIME_WAIT (tcp_fin() -> tcp_time_wait()), and the client's
 * close() reports nothing more.
 */
/*
 * The server closes with data it never read: the stack resets the
 * connection (RFC 2525, 2.17) right after the CLOSE event, for the reason
 * TCP_ABORT_ON_CLOSE where the kernel gives reasons.
 */
TEST_F(tcptrace, close_unread)
{
	struct pollfd pfd;
	struct expect exp[3];
	struct conn c;
	char buf[1];

	SKIPPED_IN_SETUP();
	conn_open(_metadata, variant->af, &c);
	ASSERT_EQ(0, set_abortive(c.afd, false));
	ASSERT_EQ(4, send(c.cfd, "more", 4, 0));
	pfd.fd = c.afd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(-1, recv(c.cfd, buf, 1, 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.lfd));

	expect_server_reset(exp, &self->mode, variant, &c, "reset_sent",
			    "TCP_ABORT_ON_CLOSE");
	check_expect(_metadata, exp, 3, false);
}

TEST_F_TIMEOUT(tcptrace, half_close, 90)
{
	struct expect exp[3];
	struct conn c;
	char buf[1];
	int init_fd;

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	ASSERT_EQ(0, set_abortive(c.cfd, false));
	ASSERT_EQ(0, set_abortive(c.afd, false));
	ASSERT_EQ(0, shutdown(c.cfd, SHUT_WR));
	ASSERT_EQ(0, recv(c.afd, buf, 1, 0)) TH_LOG("the server saw no FIN");
	ASSERT_EQ(0, wait_tcp_state(c.cfd, TCP_FIN_WAIT2)) TH_LOG("%s", strerror(errno));
	/* The peer keeps sending. */
	send_recv(_metadata, c.afd, c.cfd, 3);
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(0, recv(c.cfd, buf, 1, 0)) TH_LOG("the client saw no FIN");
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.lfd));

	expect_init(&exp[0], "half-closing client", variant->family, c.caddr, c.laddr,
		    c.ccookie);
	if (self->mode.timewait) {
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2"
			    ">TIME_WAIT@w>CLOSE@d");
		exp[0].softirq_steps = "FIN_WAIT2>TIME_WAIT";
		exp[0].timewait = "killed";
	} else {
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE");
		exp[0].softirq_steps = "FIN_WAIT2>CLOSE";
	}
	exp[0].process_steps = "CLOSE>SYN_SENT ESTABLISHED>FIN_WAIT1";
	exp[0].end = "active_close";
	exp[0].min_bytes = 4;

	expect_init(&exp[1], "server child", variant->family, c.laddr, c.caddr, c.acookie);
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE",
		    child_start(&self->mode));
	exp[1].process_steps = "CLOSE_WAIT>LAST_ACK";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].end = "passive_close";
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], variant->family, c.laddr, variant->any, c.lcookie);

	check_expect(_metadata, exp + 1, 2, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
}

/*
 * Half-close on the server, the way a server does a "lingering close":
 * shutdown(SHUT_WR), read what the client still sends, then close() in
 * FIN_WAIT2 (tcp_close_state() reports FIN_WAIT2>FIN_WAIT2), before the
 * client's FIN: the orphan is handed over to a timewait socket in
 * FIN_WAIT2 at once, and the client's FIN moves that one to TIME_WAIT.
 * With both kprobe phases that is nine steps.
 */
TEST_F_TIMEOUT(tcptrace, half_close_server, 90)
{
	struct expect exp[3];
	struct conn c;
	char buf[1];
	int init_fd;

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	ASSERT_EQ(0, set_abortive(c.cfd, false));
	ASSERT_EQ(0, set_abortive(c.afd, false));
	ASSERT_EQ(0, shutdown(c.afd, SHUT_WR));
	ASSERT_EQ(0, recv(c.cfd, buf, 1, 0)) TH_LOG("the client saw no FIN");
	ASSERT_EQ(0, wait_tcp_state(c.afd, TCP_FIN_WAIT2)) TH_LOG("%s", strerror(errno));
	send_recv(_metadata, c.cfd, c.afd, 3);
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.lfd));

	expect_init(&exp[0], "passive client", variant->family, c.caddr, c.laddr, c.ccookie);
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT CLOSE_WAIT>LAST_ACK";
	exp[0].end = "passive_close";
	exp[0].min_bytes = 4;

	expect_init(&exp[1], "half-closing child", variant->family, c.laddr, c.caddr,
		    c.acookie);
	if (self->mode.timewait) {
		expect_path(&exp[1], "%s>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>FIN_WAIT2@w"
			    ">TIME_WAIT@d>CLOSE@d", child_start(&self->mode));
		exp[1].timewait = "killed";
	} else {
		expect_path(&exp[1], "%s>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>CLOSE",
			    child_start(&self->mode));
	}
	exp[1].process_steps = "ESTABLISHED>FIN_WAIT1";
	exp[1].end = "active_close";
	exp[1].min_bytes = 4;

	expect_listener(&exp[2], variant->family, c.laddr, variant->any, c.lcookie);

	check_expect(_metadata, exp, 1, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
}

/*
 * TIME_WAIT cut short by port reuse: the server closes first, its child
 * waits in TIME_WAIT; the client connects again from the same port, and
 * the SYN finds the timewait socket (tcp_timewait_state_process():
 * TCP_TW_SYN), which the stack kills to let the new connection in.
 */
TEST_F_TIMEOUT(tcptrace, timewait_reuse, 90)
{
	struct sockaddr_storage ls, cs;
	struct expect exp[6];
	struct conn c, c2;
	socklen_t len, clen;
	int init_fd, one = 1;
	char buf[1];

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	len = sizeof(ls);
	ASSERT_EQ(0, getsockname(c.lfd, (struct sockaddr *)&ls, &len));
	clen = sizeof(cs);
	ASSERT_EQ(0, getsockname(c.cfd, (struct sockaddr *)&cs, &clen));
	/* conn_close_server_first(), but the listener stays. */
	ASSERT_EQ(0, set_abortive(c.cfd, false));
	ASSERT_EQ(0, set_abortive(c.afd, false));
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(0, recv(c.cfd, buf, 1, 0));
	ASSERT_EQ(0, close(c.cfd));

	expect_server_first(exp, &self->mode, variant->family, variant->any, &c);
	/* Two connections with the same addresses: tell them by path. */
	exp[0].match_path = exp[1].match_path = true;
	/* Wait for the child to be handed over to its timewait socket. */
	check_expect(_metadata, exp, 1, false);

	/* Again, from the same address and port. */
	c2 = c;
	c2.cfd = tcp_socket(variant->af);
	ASSERT_LE(0, c2.cfd);
	ASSERT_EQ(0, setsockopt(c2.cfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(c2.cfd, (struct sockaddr *)&cs, clen)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, connect(c2.cfd, (struct sockaddr *)&ls, len)) TH_LOG("%s", strerror(errno));
	c2.afd = accept(c.lfd, NULL, NULL);
	ASSERT_LE(0, c2.afd);
	c2.ccookie = sock_cookie(c2.cfd);
	c2.acookie = sock_cookie(c2.afd);
	send_recv(_metadata, c2.cfd, c2.afd, 1);
	send_recv(_metadata, c2.afd, c2.cfd, 1);

	/* The first child's TIME_WAIT was killed, not expired. */
	check_expect(_metadata, exp + 1, 1, false);

	conn_abort(_metadata, &c2);
	expect_aborted(exp + 3, &self->mode, variant->family, variant->any, &c2);
	exp[3].match_path = exp[4].match_path = true;
	/* The listener is the same socket: one history. */
	check_expect(_metadata, exp, 5, false);
	netns_leave(_metadata, init_fd);
}

/*
 * A listener closed with connections in its accept queue: each child is
 * disconnected (inet_csk_listen_stop() -> tcp_disconnect()) with a RST,
 * in the closing task.
 */
TEST_F(tcptrace, listener_closes_pending)
{
	struct sockaddr_storage ss;
	struct expect exp[5];
	char laddr[ADDR_MAX], caddr[2][ADDR_MAX];
	unsigned long long ccookie[2], lcookie;
	struct tcp_info ti;
	socklen_t len, tlen;
	int lfd, cfd[2], i;

	SKIPPED_IN_SETUP();
	lfd = tcp_listener(variant->af, &ss, &len);
	ASSERT_LE(0, lfd);
	/* Children inherit SO_LINGER: a plain close for the listener. */
	ASSERT_EQ(0, set_abortive(lfd, false));
	addr_text(&ss, laddr, sizeof(laddr));
	lcookie = sock_cookie(lfd);
	for (i = 0; i < 2; i++) {
		cfd[i] = tcp_socket(variant->af);
		ASSERT_LE(0, cfd[i]);
		ASSERT_EQ(0, connect(cfd[i], (struct sockaddr *)&ss, len));
		ASSERT_EQ(0, local_text(cfd[i], caddr[i], sizeof(caddr[i])));
		ccookie[i] = sock_cookie(cfd[i]);
	}
	/* Both children in the accept queue: a listener's tcpi_unacked. */
	for (i = 0; i < 500; i++) {
		tlen = sizeof(ti);
		ASSERT_EQ(0, getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &tlen));
		if (ti.tcpi_unacked == 2)
			break;
		usleep(10 * 1000);
	}
	ASSERT_EQ(2U, ti.tcpi_unacked);
	ASSERT_EQ(0, close(lfd));

	for (i = 0; i < 2; i++) {
		expect_init(&exp[i], "reset client", variant->family, caddr[i], laddr,
			    ccookie[i]);
		expect_path(&exp[i], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE");
		exp[i].process_steps = "CLOSE>SYN_SENT";
		exp[i].softirq_steps = "ESTABLISHED>CLOSE";
		exp[i].end = "reset_received";

		/* Never accepted: its cookie is unknown here. */
		expect_init(&exp[2 + i], "pending child", variant->family, laddr, caddr[i], 0);
		expect_path(&exp[2 + i], "%s>ESTABLISHED>CLOSE", child_start(&self->mode));
		exp[2 + i].process_steps = "ESTABLISHED>CLOSE";
		exp[2 + i].softirq_steps = CHILD_SOFTIRQ_STEPS;
		exp[2 + i].end = "reset_sent";
		/* inet_child_forget() disconnects each child. */
		exp[2 + i].rst_reason = "TCP_STATE";
	}
	expect_listener(&exp[4], variant->family, laddr, variant->any, lcookie);
	check_expect(_metadata, exp, 5, false);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, close(cfd[i]));
	/* close() of sockets already in CLOSE adds nothing. */
	check_expect(_metadata, exp, 5, false);
}

/*
 * Backlog overflow: listen(fd, 1) queues two children (the queue is full
 * beyond sk_max_ack_backlog); a third SYN is dropped before any request
 * socket exists (tcp_conn_request(): sk_acceptq_is_full()). Once the
 * queue is drained, the client's retransmitted SYN gets in.
 */
TEST_F_TIMEOUT(tcptrace, backlog_overflow, 60)
{
	struct expect exp[7];
	struct sockaddr_storage ss;
	struct pollfd pfd;
	struct tcp_info ti;
	struct conn c[3];
	socklen_t len, tlen;
	int lfd, i, err;

	SKIPPED_IN_SETUP();
	lfd = tcp_socket(variant->af);
	ASSERT_LE(0, lfd);
	len = lo_addr(variant->af, 0, &ss);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&ss, &len));
	for (i = 0; i < 3; i++) {
		c[i].lfd = lfd;
		addr_text(&ss, c[i].laddr, sizeof(c[i].laddr));
		c[i].lcookie = sock_cookie(lfd);
		c[i].cfd = tcp_socket(variant->af);
		ASSERT_LE(0, c[i].cfd);
		if (i == 2)
			ASSERT_EQ(0, fcntl(c[i].cfd, F_SETFL, O_NONBLOCK));
		err = connect(c[i].cfd, (struct sockaddr *)&ss, len);
		if (i < 2) {
			ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(errno));
			/* Wait for the child in the accept queue. */
			do {
				tlen = sizeof(ti);
				ASSERT_EQ(0, getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &tlen));
			} while (ti.tcpi_unacked < (unsigned int)i + 1 && !usleep(10 * 1000));
		} else {
			ASSERT_EQ(-1, err);
			ASSERT_EQ(EINPROGRESS, errno);
		}
		ASSERT_EQ(0, local_text(c[i].cfd, c[i].caddr, sizeof(c[i].caddr)));
		c[i].ccookie = sock_cookie(c[i].cfd);
	}
	/* The third SYN was dropped: still SYN_SENT, nothing more queued. */
	usleep(300 * 1000);
	tlen = sizeof(ti);
	ASSERT_EQ(0, getsockopt(c[2].cfd, IPPROTO_TCP, TCP_INFO, &ti, &tlen));
	ASSERT_EQ(TCP_SYN_SENT, ti.tcpi_state);
	tlen = sizeof(ti);
	ASSERT_EQ(0, getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &tlen));
	ASSERT_EQ(2U, ti.tcpi_unacked);

	for (i = 0; i < 2; i++) {
		c[i].afd = accept(lfd, NULL, NULL);
		ASSERT_LE(0, c[i].afd);
	}
	/* The SYN's retransmission, a second after the first. */
	pfd.fd = c[2].cfd;
	pfd.events = POLLOUT;
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	len = sizeof(err);
	ASSERT_EQ(0, getsockopt(c[2].cfd, SOL_SOCKET, SO_ERROR, &err, &len));
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	ASSERT_EQ(0, fcntl(c[2].cfd, F_SETFL, 0));
	c[2].afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, c[2].afd);

	for (i = 0; i < 3; i++) {
		struct expect e[3];

		c[i].acookie = sock_cookie(c[i].afd);
		send_recv(_metadata, c[i].cfd, c[i].afd, 1);
		send_recv(_metadata, c[i].afd, c[i].cfd, 1);
		/* conn_abort() closes the listener: the last one does. */
		c[i].lfd = i == 2 ? lfd : dup(lfd);
		conn_abort(_metadata, &c[i]);
		expect_aborted(e, &self->mode, variant->family, variant->any, &c[i]);
		exp[2 * i] = e[0];
		exp[2 * i + 1] = e[1];
		exp[6] = e[2];
		/* Only the third client's SYN had to be sent again. */
		exp[2 * i].retrans = i == 2 ? 1 : 0;
		exp[2 * i].syn_retrans = exp[2 * i].retrans;
	}
	check_expect(_metadata, exp, 7, false);
}

/*
 * A child's first event is held on its CPU until the clone hook's probe
 * claims it (tcptrace_hold_child()). If that probe does not fire, the
 * child's next event on the CPU starts its history from what was held.
 * The kprobes' debugfs switch disarms every kprobe, the module's too,
 * while the header still says halfopen=1 and timewait=1: every child is
 * held and never claimed, and every history must be the one the
 * tracepoint alone gives (a held child lost, or started under the wrong
 * key or with the wrong identity, fails the check).
 */
TEST_F_TIMEOUT(tcptrace, held_child_unclaimed, 90)
{
	const struct mode tracepoint_only = { .timewait = false, .halfopen = false };
	struct expect exp[3];
	struct conn c;
	int init_fd;

	SKIPPED_IN_SETUP();
	if (!self->mode.halfopen)
		SKIP(return, "halfopen=0: no child is held");
	if (access(KPROBES_ENABLED, W_OK))
		SKIP(return, "%s: %s", KPROBES_ENABLED, strerror(errno));
	self->kprobes_disarmed = true;
	write_sysctl(_metadata, KPROBES_ENABLED, "0\n");
	init_fd = netns_enter(_metadata);
	conn_open(_metadata, variant->af, &c);
	conn_close(_metadata, &c);
	expect_graceful(exp, &tracepoint_only, variant->family, variant->any, &c);
	check_expect(_metadata, exp, 3, false);
	netns_leave(_metadata, init_fd);
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
		ASSERT_EQ(netns_inode(), d.recs[i].netns) TH_LOG("%s", d.recs[i].line);
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
	ASSERT_STREQ(path_states(path), r->states);
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
	ASSERT_EQ(1, count_states(&d, path_states(path)));
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
	init_ns = netns_inode();
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
	new_ns = netns_inode();
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

/* ---- Two network namespaces joined by a veth pair (tcptrace_topology.h) ---- */

/* A socket of side @side's netns (it stays there whatever we enter). */
static int topo_socket(struct __test_metadata *_metadata, struct topo *t, int side)
{
	int fd;

	ASSERT_EQ(0, topo_enter(t, side)) TH_LOG("setns: %s", strerror(errno));
	fd = tcp_socket(t->af);
	ASSERT_EQ(0, topo_enter(t, -1)) TH_LOG("setns: %s", strerror(errno));
	ASSERT_LE(0, fd);
	return fd;
}

static socklen_t make_addr(int af, const char *host, unsigned short port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &sin6->sin6_addr);
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin->sin_addr);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
}

/* A listener on side @side's address; its address in @ss. */
static int topo_listener(struct __test_metadata *_metadata, struct topo *t, int side,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = topo_socket(_metadata, t, side);

	*len = make_addr(t->af, t->addr[side], 0, ss);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)ss, *len)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, listen(fd, 64));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)ss, len));
	return fd;
}

/* conn_open() across the pair: the server on side 0, the client on 1. */
static void topo_conn_open(struct __test_metadata *_metadata, struct topo *t,
			   struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len;

	c->lfd = topo_listener(_metadata, t, 0, &ss, &len);
	addr_text(&ss, c->laddr, sizeof(c->laddr));
	c->lcookie = sock_cookie(c->lfd);
	c->cfd = topo_socket(_metadata, t, 1);
	ASSERT_EQ(0, connect(c->cfd, (struct sockaddr *)&ss, len))
		TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(0, local_text(c->cfd, c->caddr, sizeof(c->caddr)));
	c->afd = accept(c->lfd, NULL, NULL);
	ASSERT_LE(0, c->afd) TH_LOG("accept: %s", strerror(errno));
	c->ccookie = sock_cookie(c->cfd);
	c->acookie = sock_cookie(c->afd);
	send_recv(_metadata, c->cfd, c->afd, 1);
	send_recv(_metadata, c->afd, c->cfd, 1);
}

static const char *topo_any(const struct topo *t)
{
	return t->af == AF_INET6 ? "[::]:0" : "0.0.0.0:0";
}

static const char *af_family(int af)
{
	return af == AF_INET ? "ipv4" : "ipv6";
}

/*
 * Poll until each expected socket is done, or live in a timewait socket
 * (a step flagged w): no full socket of theirs is left.
 */
static void wait_handed_over(struct __test_metadata *_metadata,
			     const struct expect *exp, int nexp)
{
	int tries, i, k;
	struct dump d;

	for (tries = 0; tries < 500; tries++) {
		bool all = true;

		ASSERT_EQ(0, dump_read_all(&d)) TH_LOG("%s", d.err);
		for (i = 0; i < nexp; i++) {
			bool ok = count_done(&d, &exp[i]) > 0;
			size_t j;

			for (j = 0; !ok && j < d.nrecs; j++) {
				const struct rec *r = &d.recs[j];

				if (r->done || !rec_is(r, &exp[i]))
					continue;
				for (k = 0; k < r->nsteps; k++)
					ok |= r->steps[k].timewait;
			}
			all &= ok;
		}
		dump_free(&d);
		if (all)
			return;
		usleep(POLL_MS * 1000);
	}
	ASSERT_TRUE(false) TH_LOG("sockets still open after 10 s");
}

FIXTURE(veth) {
	bool skip;
	struct mode mode;
	struct topo t;
};

FIXTURE_VARIANT(veth) {
	int af;
};

FIXTURE_VARIANT_ADD(veth, ipv4) {
	.af = AF_INET,
};

FIXTURE_VARIANT_ADD(veth, ipv6) {
	.af = AF_INET6,
};

FIXTURE_SETUP(veth)
{
	const char *why;
	bool fail;

	self->t.up = false;
	SETUP_DEVICE();
	why = topo_setup(&self->t, variant->af, &fail);
	ASSERT_FALSE(why && fail) TH_LOG("%s", why);
	if (why) {
		self->skip = true;
		SKIP(return, "%s", why);
	}
}

FIXTURE_TEARDOWN(veth)
{
	topo_destroy(&self->t);
}

/*
 * Simultaneous close: both ends close() at once, 50 ms apart on the wire,
 * so the FINs cross. Each FIN finds its receiver in FIN_WAIT1: CLOSING;
 * the ACK of its own FIN then hands it to a timewait socket in TIME_WAIT
 * (tcp_rcv_state_process(), case TCP_CLOSING). Both ends are made to
 * leave through the netns teardown (timewait=killed).
 */
TEST_F_TIMEOUT(veth, simultaneous_close, 60)
{
	const struct mode *m = &self->mode;
	struct topo *t = &self->t;
	const char *family = af_family(t->af);
	struct expect exp[3];
	struct conn c;
	char before[128];

	SKIPPED_IN_SETUP();
	topo_conn_open(_metadata, t, &c);
	ASSERT_EQ(0, set_abortive(c.cfd, false));
	ASSERT_EQ(0, set_abortive(c.afd, false));
	ASSERT_EQ(0, topo_delay(t, TOPO_CROSS_NS));
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(0, close(c.lfd));

	expect_init(&exp[0], "client", family, c.caddr, c.laddr, c.ccookie);
	exp[0].netns = t->inum[1];
	expect_init(&exp[1], "server child", family, c.laddr, c.caddr, c.acookie);
	exp[1].netns = t->inum[0];
	snprintf(before, sizeof(before), "%s>ESTABLISHED", child_start(m));
	if (m->timewait) {
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>CLOSING"
			    ">TIME_WAIT@w>CLOSE@d");
		expect_path(&exp[1], "%s>FIN_WAIT1>CLOSING>TIME_WAIT@w>CLOSE@d", before);
		exp[0].timewait = exp[1].timewait = "killed";
	} else {
		expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>CLOSING>CLOSE");
		expect_path(&exp[1], "%s>FIN_WAIT1>CLOSING>CLOSE", before);
	}
	exp[0].process_steps = exp[1].process_steps = "ESTABLISHED>FIN_WAIT1";
	exp[0].softirq_steps = "FIN_WAIT1>CLOSING CLOSING>TIME_WAIT CLOSING>CLOSE";
	exp[1].softirq_steps = exp[0].softirq_steps;
	exp[0].end = exp[1].end = "simultaneous_close";
	exp[0].min_bytes = exp[1].min_bytes = 4;

	expect_listener(&exp[2], family, c.laddr, topo_any(t), c.lcookie);
	exp[2].netns = t->inum[0];

	wait_handed_over(_metadata, exp, 3);
	topo_destroy(t);
	check_expect(_metadata, exp, 3, true);
}

/*
 * Simultaneous open: two sockets bound to fixed ports connect to each
 * other; the SYNs cross on the wire. A SYN in SYN_SENT moves its receiver
 * to SYN_RECV and makes it answer with a SYN-ACK
 * (tcp_rcv_synsent_state_process()), whose receipt in SYN_RECV
 * establishes the connection (tcp_validate_incoming() lets a SYN-ACK of a
 * simultaneous open pass). No listener, no request socket, no child.
 */
/*
 * A counter of the current netns's MIB: @name in the @section lines ("Tcp:",
 * "TcpExt:") of /proc/net/@file ("snmp", "netstat"), or -1.
 */
static long long net_mib(const char *file, const char *section, const char *name)
{
	char path[64], names[4096], values[4096], *n, *v, *ns = NULL, *vs = NULL;
	size_t len = strlen(section);
	long long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/net/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* A line of names, then one of values. */
	while (fgets(names, sizeof(names), f))
		if (!strncmp(names, section, len) && fgets(values, sizeof(values), f))
			break;
	fclose(f);
	if (strncmp(names, section, len) || strncmp(values, section, len))
		return -1;
	for (n = strtok_r(names, " \n", &ns), v = strtok_r(values, " \n", &vs); n && v;
	     n = strtok_r(NULL, " \n", &ns), v = strtok_r(NULL, " \n", &vs))
		if (!strcmp(n, name))
			value = atoll(v);
	return value;
}

/* The TCP MIB's RetransSegs of the current netns, or -1. */
static long long tcp_retrans_segs(void)
{
	return net_mib("snmp", "Tcp:", "RetransSegs");
}

/* A monotonic clock in nanoseconds. */
static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The TcpExt counter TCPSYNChallenge of side @side's netns, or -1. */
static long long syn_challenges(struct topo *t, int side)
{
	long long n = topo_enter(t, side) ? -1 : net_mib("netstat", "TcpExt:", "TCPSYNChallenge");

	return topo_enter(t, -1) ? -1 : n;
}

/*
 * One attempt at a simultaneous open. Returns 1 when the SYNs crossed for
 * sure: both connect() calls came well within the delay of each other
 * and neither side retransmitted anything (a lost or late SYN turns the
 * attempt into an ordinary open, or a refused one); 0 to try again.
 *
 * Kernels whose tcp_validate_incoming() does not yet let a simultaneous
 * open's SYN-ACK pass in SYN_RECV (5.10) answer it with a challenge ACK
 * instead, counted in TCPSYNChallenge, and that side establishes only
 * when it retransmits its SYN-ACK: a retransmission that the side's
 * namespace counts a SYN challenge for is that, not a lost SYN.
 * @retrans[i] is what each side retransmitted.
 */
static int simultaneous_open_once(struct __test_metadata *_metadata, struct topo *t,
				  int fd[2], struct sockaddr_storage ss[2], socklen_t len[2],
				  int retrans[2])
{
	long long start, gap, challenges[2];
	struct pollfd pfd[2];
	struct tcp_info ti;
	socklen_t tlen;
	int i, err;

	for (i = 0; i < 2; i++)
		challenges[i] = syn_challenges(t, i);
	start = now_ns();
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(-1, connect(fd[i], (struct sockaddr *)&ss[!i], len[!i]));
		ASSERT_EQ(EINPROGRESS, errno);
	}
	gap = now_ns() - start;
	for (i = 0; i < 2; i++) {
		pfd[i].fd = fd[i];
		pfd[i].events = POLLOUT;
		ASSERT_EQ(1, poll(&pfd[i], 1, 10000)) TH_LOG("side %d did not connect", i);
		tlen = sizeof(err);
		ASSERT_EQ(0, getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &err, &tlen));
		if (err) {
			fprintf(stderr, "# simultaneous open: side %d: %s, %lld ms between the "
				"connects: again\n", i, strerror(err), gap / 1000000);
			return 0;
		}
	}
	for (i = 0; i < 2; i++) {
		tlen = sizeof(ti);
		ASSERT_EQ(0, getsockopt(fd[i], IPPROTO_TCP, TCP_INFO, &ti, &tlen));
		retrans[i] = ti.tcpi_total_retrans;
		if (retrans[i] && syn_challenges(t, i) <= challenges[i]) {
			fprintf(stderr, "# simultaneous open: side %d retransmitted, %lld ms "
				"between the connects: again\n", i, gap / 1000000);
			return 0;
		}
	}
	if (gap > TOPO_CROSS_NS / 2) {
		fprintf(stderr, "# simultaneous open: %lld ms between the connects: again\n",
			gap / 1000000);
		return 0;
	}
	return 1;
}

/*
 * Simultaneous open: two sockets bound to fixed ports connect to each
 * other; the SYNs cross on the wire. A SYN in SYN_SENT moves its receiver
 * to SYN_RECV and makes it answer with a SYN-ACK
 * (tcp_rcv_synsent_state_process()), whose receipt in SYN_RECV
 * establishes the connection (tcp_validate_incoming() lets a SYN-ACK of a
 * simultaneous open pass). No listener, no request socket, no child.
 *
 * An emulated guest may stall, or (rarely, cause unknown) a SYN goes
 * missing on the veth: an attempt whose SYNs did not cross for sure is
 * aborted and made again, on new ports, up to three times.
 */
TEST_F_TIMEOUT(veth, simultaneous_open, 90)
{
	struct topo *t = &self->t;
	const char *family = af_family(t->af);
	struct sockaddr_storage ss[2];
	char text[2][ADDR_MAX];
	unsigned long long cookie[2];
	struct expect exp[2];
	socklen_t len[2];
	int fd[2], retrans[2], i, tries, crossed = 0;

	SKIPPED_IN_SETUP();
	/* Both SYNs leave before either arrives. */
	ASSERT_EQ(0, topo_delay(t, TOPO_CROSS_NS));
	for (tries = 0; tries < 3 && !crossed; tries++) {
		for (i = 0; i < 2; i++) {
			fd[i] = topo_socket(_metadata, t, i);
			len[i] = make_addr(t->af, t->addr[i], 0, &ss[i]);
			ASSERT_EQ(0, bind(fd[i], (struct sockaddr *)&ss[i], len[i]));
			ASSERT_EQ(0, getsockname(fd[i], (struct sockaddr *)&ss[i], &len[i]));
			addr_text(&ss[i], text[i], sizeof(text[i]));
			cookie[i] = sock_cookie(fd[i]);
			ASSERT_EQ(0, fcntl(fd[i], F_SETFL, O_NONBLOCK));
		}
		crossed = simultaneous_open_once(_metadata, t, fd, ss, len, retrans);
		/* Both abort before the first RST arrives. */
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, close(fd[i]));
	}
	ASSERT_TRUE(crossed) TH_LOG("the SYNs did not cross in three attempts");

	for (i = 0; i < 2; i++) {
		expect_init(&exp[i], i ? "side b" : "side a", family, text[i], text[!i],
			    cookie[i]);
		exp[i].netns = t->inum[i];
		expect_path(&exp[i], "CLOSE>SYN_SENT>SYN_RECV>ESTABLISHED>CLOSE");
		exp[i].process_steps = "CLOSE>SYN_SENT ESTABLISHED>CLOSE";
		exp[i].softirq_steps = "SYN_SENT>SYN_RECV SYN_RECV>ESTABLISHED";
		exp[i].end = "aborted";
		exp[i].rst_reason = "TCP_STATE";
		exp[i].retrans = retrans[i];
	}
	check_expect(_metadata, exp, 2, true);
}

/*
 * A RST to an established socket whose peer vanished: the server's side
 * aborts while everything it sends is lost (netem loss 100%), so the
 * client never hears of it; the client's next segment reaches a port with
 * only a listener on it, which answers with a RST.
 */
TEST_F_TIMEOUT(veth, peer_vanished, 60)
{
	struct topo *t = &self->t;
	const char *family = af_family(t->af);
	struct expect exp[3];
	struct conn c;
	char buf[1];

	SKIPPED_IN_SETUP();
	topo_conn_open(_metadata, t, &c);
	ASSERT_EQ(0, topo_enter(t, 0));
	ASSERT_EQ(0, nl_netem("va", false, true, TOPO_DELAY_NS));
	ASSERT_EQ(0, set_abortive(c.afd, true));
	ASSERT_EQ(0, close(c.afd));
	ASSERT_EQ(0, nl_netem("va", false, false, TOPO_DELAY_NS));
	ASSERT_EQ(0, topo_enter(t, -1));
	ASSERT_EQ(4, send(c.cfd, "data", 4, 0));
	ASSERT_EQ(-1, recv(c.cfd, buf, 1, 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, close(c.cfd));
	ASSERT_EQ(0, close(c.lfd));

	expect_init(&exp[0], "client", family, c.caddr, c.laddr, c.ccookie);
	exp[0].netns = t->inum[1];
	expect_path(&exp[0], "CLOSE>SYN_SENT>ESTABLISHED>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT";
	exp[0].softirq_steps = "ESTABLISHED>CLOSE";
	exp[0].end = "reset_received";
	exp[0].min_bytes = 4;

	expect_init(&exp[1], "vanished child", family, c.laddr, c.caddr, c.acookie);
	exp[1].netns = t->inum[0];
	expect_path(&exp[1], "%s>ESTABLISHED>CLOSE", child_start(&self->mode));
	exp[1].process_steps = "ESTABLISHED>CLOSE";
	exp[1].softirq_steps = CHILD_SOFTIRQ_STEPS;
	exp[1].end = "aborted";
	exp[1].rst_reason = "TCP_STATE";
	/* The ACK of its data may still be on the wire: bytes_acked=0. */

	expect_listener(&exp[2], family, c.laddr, topo_any(t), c.lcookie);
	exp[2].netns = t->inum[0];
	check_expect(_metadata, exp, 3, true);
}

/*
 * Connect timeout: SYNs to a host that is not there, TCP_SYNCNT=1: the
 * SYN, its retransmissions, and ETIMEDOUT after about 3 s
 * (tcp_write_timeout()). How many retransmissions the timer makes in that
 * time depends on the kernel (one on 6.1, two on 6.12), and the socket's
 * TCP_INFO no longer says after the failed connect() reset it: the
 * client's netns counts them in RetransSegs, and the history must agree.
 */
TEST_F_TIMEOUT(veth, connect_timeout, 60)
{
	struct topo *t = &self->t;
	struct sockaddr_storage cs, ds;
	char caddr[ADDR_MAX], daddr[ADDR_MAX];
	struct expect exp[1];
	unsigned long long cookie;
	long long segs[2];
	socklen_t clen, dlen;
	int fd, one = 1;

	SKIPPED_IN_SETUP();
	fd = topo_socket(_metadata, t, 1);
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one)));
	/* Bound, so that its address survives the failed connect(). */
	clen = make_addr(t->af, t->addr[1], 0, &cs);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&cs, clen));
	ASSERT_EQ(0, local_text(fd, caddr, sizeof(caddr)));
	dlen = make_addr(t->af, t->absent, 9, &ds);
	addr_text(&ds, daddr, sizeof(daddr));
	cookie = sock_cookie(fd);
	ASSERT_EQ(0, topo_enter(t, 1));
	segs[0] = tcp_retrans_segs();
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&ds, dlen));
	ASSERT_EQ(ETIMEDOUT, errno) TH_LOG("connect: %s", strerror(errno));
	segs[1] = tcp_retrans_segs();
	ASSERT_EQ(0, topo_enter(t, -1));
	ASSERT_LE(0, segs[0]);
	ASSERT_LE(segs[0] + 1, segs[1]);

	expect_init(&exp[0], "timed out client", af_family(t->af), caddr, daddr, cookie);
	exp[0].netns = t->inum[1];
	expect_path(&exp[0], "CLOSE>SYN_SENT>CLOSE");
	exp[0].process_steps = "CLOSE>SYN_SENT";
	exp[0].softirq_steps = "SYN_SENT>CLOSE";
	exp[0].end = "connect_timeout";
	exp[0].retrans = segs[1] - segs[0];
	exp[0].syn_retrans = exp[0].retrans;
	exp[0].no_bytes = true;
	check_expect(_metadata, exp, 1, true);
	ASSERT_EQ(0, close(fd));
}

/* ---- SYN floods: requests that never complete ---------------------------- */

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND	78
#endif

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (p[0] << 8) | p[1];
	if (len)
		sum += p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/*
 * A raw socket of the current netns that sends SYNs from @src (an address
 * nobody has). IPv4: a whole IP header (IPPROTO_RAW). IPv6: bound to
 * @src with IPV6_FREEBIND, the kernel computing the TCP checksum.
 */
static int syn_socket(int af, const char *src)
{
	struct sockaddr_storage ss;
	int fd, one = 1, off = 16;
	socklen_t len;

	if (af == AF_INET)
		return socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0)
		return -1;
	len = make_addr(AF_INET6, src, 0, &ss);
	if (setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) ||
	    bind(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One SYN from @src:@sport to @dst (address and port). */
static int send_syn(int fd, int af, const char *src, unsigned short sport,
		    const struct sockaddr_storage *dst, socklen_t dlen)
{
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
	} pkt;
	struct tcphdr *th = &pkt.tcp;
	uint32_t sum;

	memset(&pkt, 0, sizeof(pkt));
	th->source = htons(sport);
	th->dest = ((const struct sockaddr_in *)dst)->sin_port;
	th->seq = htonl(0x10000000U + sport);
	th->doff = sizeof(*th) / 4;
	th->syn = 1;
	th->window = htons(65535);
	if (af == AF_INET6) {
		struct sockaddr_in6 to = *(const struct sockaddr_in6 *)dst;

		/* A raw IPPROTO_TCP socket's port field must be 0. */
		to.sin6_port = 0;
		return sendto(fd, th, sizeof(*th), 0, (struct sockaddr *)&to,
			      sizeof(to)) == sizeof(*th) ? 0 : -1;
	}
	pkt.ip.version = 4;
	pkt.ip.ihl = sizeof(pkt.ip) / 4;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_TCP;
	inet_pton(AF_INET, src, &pkt.ip.saddr);
	pkt.ip.daddr = ((const struct sockaddr_in *)dst)->sin_addr.s_addr;
	sum = csum_add(0, &pkt.ip.saddr, 8);
	sum += IPPROTO_TCP + sizeof(*th);
	sum = csum_add(sum, th, sizeof(*th));
	th->check = csum_fold(sum);
	(void)dlen;
	return sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *)dst,
		      sizeof(struct sockaddr_in)) == sizeof(pkt) ? 0 : -1;
}

#define FLOOD_SYNS	8
#define FLOOD_PORT	40000

/*
 * @n SYNs from the spoofed source to a listener on side 0; its SYN-ACKs
 * go to the absent host. Returns the listener; @laddr its address.
 */
static int syn_flood(struct __test_metadata *_metadata, struct topo *t, int n,
		     char *laddr, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, fd, i;

	lfd = topo_listener(_metadata, t, 0, &ss, &len);
	addr_text(&ss, laddr, size);
	ASSERT_EQ(0, topo_enter(t, 0));
	fd = syn_socket(t->af, t->spoofed);
	ASSERT_EQ(0, topo_enter(t, -1));
	ASSERT_LE(0, fd) TH_LOG("raw socket: %s", strerror(errno));
	for (i = 1; i <= n; i++)
		ASSERT_EQ(0, send_syn(fd, t->af, t->spoofed, FLOOD_PORT + i, &ss, len))
			TH_LOG("SYN %d: %s", i, strerror(errno));
	close(fd);
	return lfd;
}

/* What a flood of @n SYNs leaves, each ending @end with @retrans. */
static void expect_flood(struct expect *exp, int n, struct topo *t, const struct mode *m,
			 const char *laddr, const char *end, int retrans)
{
	int i;

	for (i = 0; i < n; i++) {
		char remote[ADDR_MAX];

		snprintf(remote, sizeof(remote), t->af == AF_INET6 ? "[%s]:%d" : "%s:%d",
			 t->spoofed, FLOOD_PORT + i + 1);
		expect_init(&exp[i], "request", af_family(t->af), laddr, remote, 0);
		exp[i].netns = t->inum[0];
		/* Without the kprobes a request leaves no trace at all. */
		if (m->halfopen)
			expect_path(&exp[i], "LISTEN>NEW_SYN_RECV@d>CLOSE@d");
		exp[i].softirq_steps = "LISTEN>NEW_SYN_RECV NEW_SYN_RECV>CLOSE";
		exp[i].no_owner = true;
		exp[i].no_bytes = true;
		exp[i].end = end;
		exp[i].retrans = retrans;
	}
}

/*
 * Half-open requests that never complete: SYNs from an address nobody
 * has. With net.ipv4.tcp_synack_retries=1 each request sends its SYN-ACK
 * twice and is dropped about three seconds later
 * (reqsk_timer_handler()): end=handshake_failed, retrans=1.
 */
TEST_F_TIMEOUT(veth, syn_flood, 60)
{
	struct topo *t = &self->t;
	struct expect exp[FLOOD_SYNS + 1];
	char laddr[ADDR_MAX];
	int lfd;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, topo_enter(t, 0));
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_synack_retries", "1");
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_syncookies", "0");
	ASSERT_EQ(0, topo_enter(t, -1));
	lfd = syn_flood(_metadata, t, FLOOD_SYNS, laddr, sizeof(laddr));
	expect_flood(exp, FLOOD_SYNS, t, &self->mode, laddr, "handshake_failed", 1);
	check_expect(_metadata, exp, FLOOD_SYNS, true);
	ASSERT_EQ(0, close(lfd));
	expect_listener(&exp[FLOOD_SYNS], af_family(t->af), laddr, topo_any(t), 0);
	exp[FLOOD_SYNS].netns = t->inum[0];
	check_expect(_metadata, exp, FLOOD_SYNS + 1, true);
}

/*
 * The same flood with net.ipv4.tcp_syncookies=2: every SYN is answered
 * with a SYN cookie and its request freed at once (tcp_conn_request()):
 * end=syncookie, counted in the header's syncookies.
 */
TEST_F_TIMEOUT(veth, syncookie_flood, 60)
{
	struct topo *t = &self->t;
	struct expect exp[FLOOD_SYNS];
	unsigned long long before;
	char laddr[ADDR_MAX];
	struct dump d;
	int lfd;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, topo_enter(t, 0));
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_syncookies", "2");
	ASSERT_EQ(0, topo_enter(t, -1));
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	before = d.hdr.syncookies;
	dump_free(&d);

	lfd = syn_flood(_metadata, t, FLOOD_SYNS, laddr, sizeof(laddr));
	expect_flood(exp, FLOOD_SYNS, t, &self->mode, laddr, "syncookie", 0);
	check_expect(_metadata, exp, FLOOD_SYNS, true);
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	/* Seen by the request's kprobe: with halfopen=0 none is counted. */
	ASSERT_EQ(before + (self->mode.halfopen ? FLOOD_SYNS : 0), d.hdr.syncookies)
		log_dump(_metadata, &d);
	dump_free(&d);
	ASSERT_EQ(0, close(lfd));
}

/* ---- Namespaces and owners ------------------------------------------------ */

/*
 * Two namespaces, a reader opened in each: each sees its own sockets
 * only; a reader of the initial netns with all-netns sees both; in
 * either, all-netns is EPERM.
 */
TEST_F(device, two_netns)
{
	unsigned long long ns[2];
	int init_fd, fd[2], all_fd, i;
	struct dump d;
	size_t j, n[2];

	SKIPPED_IN_SETUP();
	init_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, init_fd);
	all_fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, all_fd);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, setns(init_fd, CLONE_NEWNET));
		ASSERT_EQ(0, unshare(CLONE_NEWNET));
		ASSERT_EQ(0, lo_up());
		ns[i] = netns_inode();
		fd[i] = open(TCPTRACE_DEVICE, O_RDWR);
		ASSERT_LE(0, fd[i]) TH_LOG("open in a netns of ours: %s", strerror(errno));
		ASSERT_EQ(-1, write_cmd(fd[i], TCPTRACE_CMD_ALL_NETNS));
		ASSERT_EQ(EPERM, errno);
		/* i + 1 connections in netns i. */
		one_connection(_metadata, &self->mode);
		if (i)
			one_connection(_metadata, &self->mode);
	}
	ASSERT_EQ(0, setns(init_fd, CLONE_NEWNET));
	ASSERT_NE(ns[0], ns[1]);

	for (i = 0; i < 2; i++) {
		memset(&d, 0, sizeof(d));
		d.raw = read_fd(fd[i], 65536, &d.len);
		ASSERT_NE(NULL, d.raw);
		ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
		ASSERT_EQ(3 * (i + 1), (int)d.ndone) log_dump(_metadata, &d);
		for (j = 0; j < d.nrecs; j++)
			ASSERT_EQ(ns[i], d.recs[j].netns) TH_LOG("%s", d.recs[j].line);
		dump_free(&d);
		close(fd[i]);
	}

	ASSERT_EQ(0, write_cmd(all_fd, TCPTRACE_CMD_ALL_NETNS));
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(all_fd, 65536, &d.len);
	ASSERT_NE(NULL, d.raw);
	ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
	n[0] = n[1] = 0;
	for (j = 0; j < d.nrecs; j++)
		for (i = 0; i < 2; i++)
			n[i] += d.recs[j].done && d.recs[j].netns == ns[i];
	ASSERT_EQ(3U, n[0]) log_dump(_metadata, &d);
	ASSERT_EQ(6U, n[1]) log_dump(_metadata, &d);
	dump_free(&d);
	close(all_fd);
	close(init_fd);
}

/* Shared between the owner test's processes. */
struct owners {
	unsigned short port;
	int server_pid, client_pid, client_tid;
	int status;			/* non-zero: a step failed */
	char laddr[ADDR_MAX], caddr[ADDR_MAX];
	unsigned long long lcookie, ccookie, acookie;
};

static void *owners_client_thread(void *arg)
{
	struct owners *o = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[4];
	int fd;

	/* A space and a backslash, which the record must escape. */
	prctl(PR_SET_NAME, "tt client\\thr");
	o->client_tid = syscall(SYS_gettid);
	fd = tcp_socket(AF_INET);
	len = lo_addr(AF_INET, o->port, &ss);
	if (fd < 0 || set_abortive(fd, false) ||
	    connect(fd, (struct sockaddr *)&ss, len) ||
	    local_text(fd, o->caddr, sizeof(o->caddr)) ||
	    send(fd, "ping", 4, 0) != 4 ||
	    recv(fd, buf, 4, MSG_WAITALL) != 4 ||
	    recv(fd, buf, 1, 0) != 0) {
		o->status = 2;
		return NULL;
	}
	o->ccookie = sock_cookie(fd);
	if (close(fd))
		o->status = 3;
	return NULL;
}

/*
 * Owners: a server process listens and accepts, a client process
 * connects from a thread of its own, in a netns of ours. Each socket's
 * owner is the task that changed its state first (pid= is the thread's
 * id, tgid= its process', comm= the thread's name, escaped), or for the server's
 * child with halfopen=1, the task that accepted it (its close() first,
 * otherwise; the same process here).
 */
TEST_F_TIMEOUT(device, owners, 90)
{
	struct sockaddr_storage ss;
	struct expect exp[3];
	struct owners *o;
	struct conn c;
	socklen_t len;
	pid_t server, client;
	int init_fd, pipefd[2], status;
	char comm[16];

	SKIPPED_IN_SETUP();
	o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, o);
	memset(o, 0, sizeof(*o));
	init_fd = netns_enter(_metadata);
	ASSERT_EQ(0, pipe(pipefd));

	server = fork();
	ASSERT_LE(0, server);
	if (!server) {
		char buf[4];
		int lfd, afd;

		prctl(PR_SET_NAME, "tt_server");
		lfd = tcp_listener(AF_INET, &ss, &len);
		if (lfd < 0 || set_abortive(lfd, false))
			_exit(2);
		addr_text(&ss, o->laddr, sizeof(o->laddr));
		o->lcookie = sock_cookie(lfd);
		o->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(3);
		afd = accept(lfd, NULL, NULL);
		if (afd < 0 || recv(afd, buf, 4, MSG_WAITALL) != 4 ||
		    send(afd, "pong", 4, 0) != 4)
			_exit(4);
		o->acookie = sock_cookie(afd);
		/* The server closes first. */
		if (close(afd) || close(lfd))
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], comm, 1));

	client = fork();
	ASSERT_LE(0, client);
	if (!client) {
		pthread_t th;

		prctl(PR_SET_NAME, "tt_client");
		if (pthread_create(&th, NULL, owners_client_thread, o) ||
		    pthread_join(th, NULL))
			_exit(2);
		_exit(o->status);
	}
	ASSERT_EQ(server, waitpid(server, &status, 0));
	ASSERT_EQ(0, status) TH_LOG("server process: status 0x%x", status);
	ASSERT_EQ(client, waitpid(client, &status, 0));
	ASSERT_EQ(0, status) TH_LOG("client process: status 0x%x", status);

	memset(&c, 0, sizeof(c));
	strcpy(c.laddr, o->laddr);
	strcpy(c.caddr, o->caddr);
	c.lcookie = o->lcookie;
	c.ccookie = o->ccookie;
	c.acookie = o->acookie;
	expect_server_first(exp, &self->mode, "ipv4", "0.0.0.0:0", &c);
	exp[0].owner_pid = o->client_tid;
	exp[0].owner_tgid = client;
	exp[0].owner_comm = "tt client\\thr";
	exp[1].owner_pid = exp[1].owner_tgid = server;
	exp[1].owner_comm = "tt_server";
	exp[2].owner_pid = exp[2].owner_tgid = server;
	exp[2].owner_comm = "tt_server";
	ASSERT_NE(client, o->client_tid) TH_LOG("the thread has the process' id");
	check_expect(_metadata, exp, 1, false);
	check_expect(_metadata, exp + 2, 1, false);
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, exp, 3, true);
	munmap(o, sizeof(*o));
}

/*
 * A thread-per-connection server: ACCEPTORS threads asleep in accept() on
 * one listener, then as many connections. Each child's owner is the
 * thread that accepted it (which also closes it first, for halfopen=0),
 * and no probe hit is missed: the hand-over to the acceptor is seen on
 * entry to security_sock_graft(), where a kretprobe on inet_csk_accept()
 * would hold one of its max(10, 2 * CPUs) instances for every sleeping
 * thread. The acceptors close in batches, each checked and then cleared,
 * so that a child and its client (two done histories) of a whole batch
 * fit the ring of 64 that run_tests.sh gives this test.
 */
#define ACCEPTORS	64
#define ACCEPT_BATCH	16

struct acceptors {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int released;			/* acceptors [0, released) may close */
	int lfd;
};

struct acceptor {
	pthread_t th;
	struct acceptors *all;
	int index;
	pid_t tid;
	unsigned long long cookie;
	int err;			/* an errno, 0 when all went well */
};

static void *acceptor_thread(void *arg)
{
	struct acceptor *a = arg;
	struct acceptors *all = a->all;
	int fd;

	__atomic_store_n(&a->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	fd = accept(all->lfd, NULL, NULL);
	if (fd < 0) {
		a->err = errno;
		return NULL;
	}
	a->cookie = sock_cookie(fd);
	/* Its RST must not reach a client still in connect(). */
	pthread_mutex_lock(&all->lock);
	while (all->released <= a->index)
		pthread_cond_wait(&all->cond, &all->lock);
	pthread_mutex_unlock(&all->lock);
	/* An abortive close: no TIME_WAIT to wait out. */
	if (set_abortive(fd, true) || close(fd))
		a->err = errno;
	return NULL;
}

/* Whether thread @tid is in accept() (/proc/self/task/TID/syscall). */
static bool in_accept(pid_t tid)
{
	char path[64], buf[64] = "";
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		nr = strtol(buf, NULL, 10);
	fclose(f);
	return nr == SYS_accept || nr == SYS_accept4;
}

/* The done history with id @cookie, or NULL. */
static const struct rec *find_done(const struct dump *d, unsigned long long cookie)
{
	size_t k;

	for (k = 0; k < d->nrecs; k++)
		if (d->recs[k].done && d->recs[k].id == cookie)
			return &d->recs[k];
	return NULL;
}

TEST_F_TIMEOUT(device, accept_threads, 120)
{
	struct acceptors all = {
		.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	};
	int init_fd, admin_fd, cfd[ACCEPTORS], i, first, tries, found;
	struct sockaddr_storage ss;
	unsigned long long missed, overwritten;
	struct acceptor *a;
	socklen_t len;
	struct dump d;

	SKIPPED_IN_SETUP();
	a = calloc(ACCEPTORS, sizeof(*a));
	ASSERT_NE(NULL, a);
	/* clear is the initial namespace's: an fd opened there keeps the right. */
	admin_fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, admin_fd) TH_LOG("%s: %s", TCPTRACE_DEVICE, strerror(errno));
	init_fd = netns_enter(_metadata);
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	missed = d.hdr.kprobe_missed;
	overwritten = d.hdr.ring_overwritten;
	dump_free(&d);

	all.lfd = tcp_listener(AF_INET, &ss, &len);
	ASSERT_LE(0, all.lfd) TH_LOG("listener: %s", strerror(errno));
	for (i = 0; i < ACCEPTORS; i++) {
		a[i].all = &all;
		a[i].index = i;
		ASSERT_EQ(0, pthread_create(&a[i].th, NULL, acceptor_thread, &a[i]));
	}
	/* Every thread asleep in accept() before the first connection. */
	for (i = 0, tries = 0; i < ACCEPTORS && tries < 2000; tries++) {
		pid_t tid = __atomic_load_n(&a[i].tid, __ATOMIC_ACQUIRE);

		if (tid && in_accept(tid))
			i++;
		else
			usleep(10 * 1000);
	}
	ASSERT_EQ(ACCEPTORS, i) TH_LOG("only %d threads got into accept()", i);
	for (i = 0; i < ACCEPTORS; i++) {
		cfd[i] = tcp_socket(AF_INET);
		ASSERT_LE(0, cfd[i]);
		ASSERT_EQ(0, connect(cfd[i], (struct sockaddr *)&ss, len))
			TH_LOG("connect %d: %s", i, strerror(errno));
	}

	for (first = 0; first < ACCEPTORS; first += ACCEPT_BATCH) {
		pthread_mutex_lock(&all.lock);
		all.released = first + ACCEPT_BATCH;
		pthread_cond_broadcast(&all.cond);
		pthread_mutex_unlock(&all.lock);
		for (i = first; i < first + ACCEPT_BATCH; i++) {
			ASSERT_EQ(0, pthread_join(a[i].th, NULL));
			ASSERT_EQ(0, a[i].err) TH_LOG("acceptor %d: %s", i, strerror(a[i].err));
		}
		/* Each child of the batch done (its RST), owned by its acceptor. */
		for (tries = 0, found = 0; found < ACCEPT_BATCH && tries < 100; tries++) {
			if (tries)
				usleep(50 * 1000);
			ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
			for (found = 0, i = first; i < first + ACCEPT_BATCH; i++)
				found += !!find_done(&d, a[i].cookie);
			if (found < ACCEPT_BATCH)
				dump_free(&d);
		}
		ASSERT_EQ(ACCEPT_BATCH, found) TH_LOG("children of acceptors %d-%d done",
						      first, first + ACCEPT_BATCH - 1);
		for (i = first; i < first + ACCEPT_BATCH; i++) {
			const struct rec *r = find_done(&d, a[i].cookie);

			ASSERT_TRUE(r->has_owner) TH_LOG("%s", r->line);
			ASSERT_EQ((unsigned long long)a[i].tid, r->pid)
				TH_LOG("accepted by thread %d: %s", a[i].tid, r->line);
		}
		ASSERT_EQ(missed, d.hdr.kprobe_missed) log_dump(_metadata, &d);
		ASSERT_EQ(overwritten, d.hdr.ring_overwritten) log_dump(_metadata, &d);
		dump_free(&d);
		ASSERT_EQ(0, write_cmd(admin_fd, TCPTRACE_CMD_CLEAR))
			TH_LOG("clear: %s", strerror(errno));
	}
	for (i = 0; i < ACCEPTORS; i++)
		close(cfd[i]);
	close(all.lfd);
	netns_leave(_metadata, init_fd);
	close(admin_fd);
	free(a);
}

/* ---- Seeding: sockets older than the module -------------------------------- */

/* Unload the module and load it again with the parameters it had. */
static void module_reload(struct __test_metadata *_metadata)
{
	static const char *const params[] = { "max_live", "ring_size", "evict", "kprobes" };
	const char *ko = getenv("TCPTRACE_KO");
	char args[256] = "", path[128], val[32];
	unsigned int i;
	int fd, tries;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/module/tcptrace/parameters/%s", params[i]);
		f = fopen(path, "r");
		ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_NE(NULL, fgets(val, sizeof(val), f));
		fclose(f);
		val[strcspn(val, "\n")] = '\0';
		snprintf(args + strlen(args), sizeof(args) - strlen(args), "%s%s=%s",
			 i ? " " : "", params[i], val);
	}
	for (tries = 0; syscall(SYS_delete_module, "tcptrace", O_NONBLOCK); tries++) {
		ASSERT_EQ(EAGAIN, errno) TH_LOG("delete_module: %s", strerror(errno));
		ASSERT_GT(100, tries) TH_LOG("the module stays in use");
		usleep(50 * 1000);
	}
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", ko, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, args, 0))
		TH_LOG("finit_module %s %s: %s", ko, args, strerror(errno));
	close(fd);
}

/* The live record of @e in @d, or NULL. */
static const struct rec *find_live(const struct dump *d, const struct expect *e)
{
	size_t i;

	for (i = 0; i < d->nrecs; i++)
		if (!d->recs[i].done && rec_is(&d->recs[i], e))
			return &d->recs[i];
	return NULL;
}

/*
 * Sockets that exist when the module loads get a history in their state
 * at that time, marked seen_at_load=1, which then goes on: a listener, an
 * established pair, a child in CLOSE_WAIT, and timewait sockets in
 * TIME_WAIT and in FIN_WAIT2. A timewait socket is only followed with the
 * kprobes (timewait=1): without them nothing would ever end its history,
 * so none may be started (it would stay live after the socket is gone).
 */
TEST_F_TIMEOUT(device, seen_at_load, 90)
{
	const struct mode *m = &self->mode;
	struct expect exp[6], *tw = &exp[3], *fw2 = &exp[4], *cw = &exp[5];
	struct conn c, c2, c3;
	const struct rec *r;
	struct dump d;
	char buf[1];
	int init_fd, i;

	SKIPPED_IN_SETUP();
	if (!getenv("TCPTRACE_KO") || !*getenv("TCPTRACE_KO"))
		SKIP(return, "set TCPTRACE_KO: the test loads the module again");
	init_fd = netns_enter(_metadata);
	/* Established, with its listener. */
	conn_open(_metadata, AF_INET, &c);
	/* Closed by the client, then the server: the client in TIME_WAIT. */
	conn_open(_metadata, AF_INET, &c2);
	conn_close(_metadata, &c2);
	/* Closed by the client only: FIN_WAIT2 and CLOSE_WAIT. */
	conn_open(_metadata, AF_INET, &c3);
	ASSERT_EQ(0, set_abortive(c3.cfd, false));
	ASSERT_EQ(0, set_abortive(c3.afd, false));
	ASSERT_EQ(0, close(c3.cfd));
	ASSERT_EQ(0, recv(c3.afd, buf, 1, 0));
	ASSERT_EQ(0, close(c3.lfd));

	module_reload(_metadata);

	expect_init(&exp[0], "seeded client", "ipv4", c.caddr, c.laddr, c.ccookie);
	expect_init(&exp[1], "seeded child", "ipv4", c.laddr, c.caddr, c.acookie);
	expect_init(&exp[2], "seeded listener", "ipv4", c.laddr, "0.0.0.0:0", c.lcookie);
	expect_init(tw, "seeded TIME_WAIT", "ipv4", c2.caddr, c2.laddr, c2.ccookie);
	expect_init(fw2, "seeded FIN_WAIT2", "ipv4", c3.caddr, c3.laddr, c3.ccookie);
	expect_init(cw, "seeded CLOSE_WAIT", "ipv4", c3.laddr, c3.caddr, c3.acookie);

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	{
		static const char *const states[] = {
			"ESTABLISHED", "ESTABLISHED", "LISTEN", "TIME_WAIT",
			"FIN_WAIT2", "CLOSE_WAIT",
		};

		for (i = 0; i < 6; i++) {
			r = find_live(&d, &exp[i]);
			if ((&exp[i] == tw || &exp[i] == fw2) && !m->timewait) {
				ASSERT_EQ(NULL, r) TH_LOG("timewait=0, yet: %s", r->line);
				continue;
			}
			ASSERT_NE(NULL, r) {
				log_dump(_metadata, &d);
				TH_LOG("no live history for the %s socket", exp[i].what);
			}
			ASSERT_TRUE(r->seen_at_load) TH_LOG("%s", r->line);
			ASSERT_EQ(0, r->nsteps) TH_LOG("%s", r->line);
			ASSERT_STREQ(states[i], r->states) TH_LOG("%s", r->line);
			ASSERT_EQ(exp[i].cookie, r->id) TH_LOG("%s", r->line);
			ASSERT_FALSE(r->has_owner) TH_LOG("%s", r->line);
		}
	}
	ASSERT_EQ(d.hdr.events, 0ULL) log_dump(_metadata, &d);
	dump_free(&d);

	/* Their lives go on from there. */
	conn_abort(_metadata, &c);
	ASSERT_EQ(0, close(c3.afd));

	expect_path(&exp[0], "ESTABLISHED>CLOSE");
	exp[0].end = "aborted";
	exp[0].rst_reason = "TCP_STATE";
	expect_path(&exp[1], "ESTABLISHED>CLOSE");
	exp[1].softirq_steps = "ESTABLISHED>CLOSE";
	exp[1].end = "reset_received";
	exp[1].owner_optional = true;
	expect_path(&exp[2], "LISTEN>CLOSE");
	exp[2].end = "listener_closed";
	expect_path(cw, "CLOSE_WAIT>LAST_ACK>CLOSE");
	cw->end = "passive_close";
	for (i = 0; i < 6; i++)
		exp[i].seen_at_load = true;
	check_expect(_metadata, exp, 3, false);
	check_expect(_metadata, cw, 1, false);

	/* The timewait sockets end with their netns. */
	if (m->timewait) {
		expect_path(tw, "TIME_WAIT>CLOSE@d");
		tw->timewait = "killed";
		expect_path(fw2, "FIN_WAIT2>TIME_WAIT@d>CLOSE@d");
		fw2->timewait = "killed";
		tw->owner_optional = fw2->owner_optional = true;
	}
	netns_leave(_metadata, init_fd);
	check_expect(_metadata, tw, 2, true);
}

/* ---- Runtime filters --------------------------------------------------------- */

static unsigned long long header_value(struct __test_metadata *_metadata, size_t off)
{
	unsigned long long v;
	struct dump d;

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	v = *(unsigned long long *)((char *)&d.hdr + off);
	dump_free(&d);
	return v;
}

#define HDR(field)	header_value(_metadata, offsetof(struct hdr, field))

/* An aborted connection whose histories must not exist: the filter's. */
static void filtered_connection(struct __test_metadata *_metadata, const struct mode *m)
{
	unsigned long long before = HDR(filtered);
	struct expect exp[3];
	struct conn c;
	int i;

	conn_open(_metadata, AF_INET, &c);
	conn_abort(_metadata, &c);
	expect_aborted(exp, m, "ipv4", "0.0.0.0:0", &c);
	for (i = 0; i < 3; i++)
		expect_no_history(&exp[i]);
	check_expect(_metadata, exp, 3, false);
	/*
	 * Every event left out is counted: the listener's two, the
	 * client's three, the child's three and, with halfopen=1, its
	 * request's.
	 */
	ASSERT_EQ(before + 8 + m->halfopen, HDR(filtered));
}

/*
 * ports= and netns=: what they keep, what they count in filtered=, what
 * the header shows; EPERM outside the initial netns, EINVAL for bad
 * values.
 */
TEST_F(device, runtime_filters)
{
	static const char *const bad[] = {
		"ports=0", "ports=65536", "ports=5-3", "ports=x", "ports=1,",
		"ports=,1", "ports=1-", "ports=-1", "ports=1--2", "ports=80 ",
		"netns=", "netns=x", "netns=-1", "netns=4294967296", "netns=1 2",
	};
	unsigned long long ns;
	char cmd[64], port[8];
	struct expect exp[3];
	int fd, init_fd, lfd;
	struct sockaddr_storage ss;
	struct conn c;
	socklen_t len;
	unsigned int i;

	SKIPPED_IN_SETUP();
	/* A free port: bound, never listening, so without a history. */
	lfd = tcp_socket(AF_INET);
	ASSERT_LE(0, lfd);
	len = lo_addr(AF_INET, 0, &ss);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&ss, &len));
	snprintf(port, sizeof(port), "%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	ASSERT_EQ(0, close(lfd));
	snprintf(cmd, sizeof(cmd), TCPTRACE_CMD_PORTS "%s", port);
	ASSERT_EQ(0, dev_write(cmd, strlen(cmd))) TH_LOG("%s: %s", cmd, strerror(errno));
	ASSERT_EQ(1ULL, HDR(filter_ports));
	filtered_connection(_metadata, &self->mode);

	/* The kept port: a listener on it, a connection to it. */
	c.lfd = tcp_socket(AF_INET);
	ASSERT_LE(0, c.lfd);
	len = lo_addr(AF_INET, atoi(port), &ss);
	ASSERT_EQ(0, bind(c.lfd, (struct sockaddr *)&ss, len)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, listen(c.lfd, 8));
	addr_text(&ss, c.laddr, sizeof(c.laddr));
	c.lcookie = sock_cookie(c.lfd);
	c.cfd = tcp_socket(AF_INET);
	ASSERT_LE(0, c.cfd);
	ASSERT_EQ(0, connect(c.cfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, local_text(c.cfd, c.caddr, sizeof(c.caddr)));
	c.afd = accept(c.lfd, NULL, NULL);
	ASSERT_LE(0, c.afd);
	c.ccookie = sock_cookie(c.cfd);
	c.acookie = sock_cookie(c.afd);
	send_recv(_metadata, c.cfd, c.afd, 1);
	send_recv(_metadata, c.afd, c.cfd, 1);
	conn_abort(_metadata, &c);
	expect_aborted(exp, &self->mode, "ipv4", "0.0.0.0:0", &c);
	check_expect(_metadata, exp, 3, false);

	/* Lists and ranges. */
	ASSERT_EQ(0, dev_write("ports=80,443,8000-8099\n", 23));
	ASSERT_EQ(102ULL, HDR(filter_ports));
	ASSERT_EQ(0, dev_write(TCPTRACE_CMD_PORTS, strlen(TCPTRACE_CMD_PORTS)));
	ASSERT_EQ(0ULL, HDR(filter_ports));

	/* Bad values change nothing. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(-1, dev_write(bad[i], strlen(bad[i])))
			TH_LOG("'%s' was accepted", bad[i]);
		ASSERT_EQ(EINVAL, errno) TH_LOG("'%s'", bad[i]);
	}
	ASSERT_EQ(0ULL, HDR(filter_ports));
	ASSERT_EQ(0ULL, HDR(filter_netns));

	/* netns=: a reader of the initial netns sets it to another one. */
	fd = open(TCPTRACE_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	init_fd = netns_enter(_metadata);
	ns = netns_inode();
	snprintf(cmd, sizeof(cmd), TCPTRACE_CMD_NETNS "%llu", ns);
	ASSERT_EQ(0, write_cmd(fd, cmd)) TH_LOG("%s: %s", cmd, strerror(errno));
	one_connection(_metadata, &self->mode);
	/* From here: EPERM. */
	ASSERT_EQ(-1, dev_write(TCPTRACE_CMD_NETNS "0", strlen(TCPTRACE_CMD_NETNS "0")));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, dev_write("ports=80", 8));
	ASSERT_EQ(EPERM, errno);
	netns_leave(_metadata, init_fd);
	ASSERT_EQ(ns, HDR(filter_netns));
	filtered_connection(_metadata, &self->mode);
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_NETNS "0"));
	ASSERT_EQ(0ULL, HDR(filter_netns));
	close(fd);
	one_connection(_metadata, &self->mode);
}

/* ---- ss -e: the id is the kernel's socket cookie ------------------------------ */

/* Run a shell command; 0 if it exited 0. */
static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret) || WEXITSTATUS(ret)) {
		fprintf(stderr, "# command failed (%d): %s\n", ret, cmd);
		return -1;
	}
	return 0;
}

/* The sk: cookie ss -e shows for the socket LOCAL -> PEER, or 0. */
static unsigned long long ss_cookie(const char *local, const char *peer)
{
	unsigned long long cookie = 0;
	char line[2048];
	FILE *f;

	f = popen("ss -Htane 2>/dev/null", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char state[32], l[ADDR_MAX + 8], p[ADDR_MAX + 8], *sk;
		unsigned long rq, sq;

		if (sscanf(line, "%31s %lu %lu %63s %63s", state, &rq, &sq, l, p) != 5)
			continue;
		sk = strstr(line, " sk:");
		if (!sk || strcmp(l, local) || strcmp(p, peer))
			continue;
		cookie = strtoull(sk + 4, NULL, 16);
	}
	pclose(f);
	return cookie;
}

/* Documentation/tcptrace.rst: ss -tane | grep "sk:$(printf '%x' ID)\b" */
TEST_F(device, ss_cookie)
{
	const struct rec *r[3];
	unsigned long long sk[3];
	struct dump d;
	struct conn c;
	char listen[ADDR_MAX + 8];
	int i;

	SKIPPED_IN_SETUP();
	if (run("command -v ss >/dev/null"))
		SKIP(return, "no ss (iproute2)");
	conn_open(_metadata, AF_INET, &c);
	snprintf(listen, sizeof(listen), "%s", c.laddr);
	sk[0] = ss_cookie(c.caddr, c.laddr);
	sk[1] = ss_cookie(c.laddr, c.caddr);
	sk[2] = ss_cookie(listen, "0.0.0.0:*");
	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	r[0] = find_rec(&d, "ipv4", c.caddr, c.laddr, false);
	r[1] = find_rec(&d, "ipv4", c.laddr, c.caddr, false);
	r[2] = find_rec(&d, "ipv4", c.laddr, "0.0.0.0:0", false);
	for (i = 0; i < 3; i++) {
		ASSERT_NE(NULL, r[i]) log_dump(_metadata, &d);
		ASSERT_NE(0ULL, sk[i]) TH_LOG("ss -e shows no sk: for socket %d", i);
		ASSERT_EQ(sk[i], r[i]->id) TH_LOG("ss sk:%llx, %s", sk[i], r[i]->line);
	}
	ASSERT_EQ(c.ccookie, sk[0]);
	ASSERT_EQ(c.acookie, sk[1]);
	ASSERT_EQ(c.lcookie, sk[2]);
	dump_free(&d);
	conn_abort(_metadata, &c);
}

/* ---- SYN cookies on a real connection ------------------------------------------ */

/*
 * net.ipv4.tcp_syncookies=2: the SYN is answered with a cookie and its
 * request freed (end=syncookie); the handshake's ACK then makes a new
 * request from the cookie (cookie_v4_check()), which becomes the child.
 * Two server histories with the same addresses, with halfopen=1.
 */
TEST_F(device, syncookie_connect)
{
	const struct mode *m = &self->mode;
	unsigned long long before;
	struct expect exp[4];
	struct conn c;
	int init_fd;

	SKIPPED_IN_SETUP();
	init_fd = netns_enter(_metadata);
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_syncookies", "2");
	before = HDR(syncookies);
	conn_open(_metadata, AF_INET, &c);
	conn_abort(_metadata, &c);
	expect_aborted(exp, m, "ipv4", "0.0.0.0:0", &c);
	exp[1].match_path = true;
	expect_init(&exp[3], "cookie request", "ipv4", c.laddr, c.caddr, 0);
	if (m->halfopen)
		expect_path(&exp[3], "LISTEN>NEW_SYN_RECV@d>CLOSE@d");
	else
		expect_no_history(&exp[3]);
	exp[3].match_path = true;
	exp[3].end = "syncookie";
	exp[3].no_owner = true;
	exp[3].no_bytes = true;
	exp[3].retrans = 0;
	check_expect(_metadata, exp, 4, false);
	ASSERT_EQ(before + m->halfopen, HDR(syncookies));
	netns_leave(_metadata, init_fd);
}

/*
 * A request socket that exists when the module loads (halfopen=1) is
 * seeded in NEW_SYN_RECV, and ends when its SYN-ACKs go unanswered
 * (net.ipv4.tcp_synack_retries=2: about seven seconds after its SYN).
 * Without the kprobes nothing would ever end its history: none may be
 * started (it would stay live after the request is gone).
 */
TEST_F_TIMEOUT(device, seen_at_load_request, 90)
{
	struct expect exp[2];
	char laddr[ADDR_MAX];
	const char *why;
	struct topo t;
	bool fail;
	int lfd, i;

	SKIPPED_IN_SETUP();
	if (!getenv("TCPTRACE_KO") || !*getenv("TCPTRACE_KO"))
		SKIP(return, "set TCPTRACE_KO: the test loads the module again");
	why = topo_setup(&t, AF_INET, &fail);
	ASSERT_FALSE(why && fail) TH_LOG("%s", why);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, topo_enter(&t, 0));
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_synack_retries", "2");
	write_sysctl(_metadata, "/proc/sys/net/ipv4/tcp_syncookies", "0");
	ASSERT_EQ(0, topo_enter(&t, -1));
	lfd = syn_flood(_metadata, &t, 2, laddr, sizeof(laddr));
	module_reload(_metadata);

	expect_flood(exp, 2, &t, &self->mode, laddr, "handshake_failed", 2);
	for (i = 0; i < 2; i++) {
		if (self->mode.halfopen)
			expect_path(&exp[i], "NEW_SYN_RECV>CLOSE@d");
		exp[i].softirq_steps = "NEW_SYN_RECV>CLOSE";
		exp[i].seen_at_load = true;
	}
	check_expect(_metadata, exp, 2, true);
	ASSERT_EQ(0, close(lfd));
	topo_destroy(&t);
}

#include "tcptrace_main.h"
