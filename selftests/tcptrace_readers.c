// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_readers: 64 readers of /dev/tcptrace at once while connections
 * come and go, each checking that what it reads is whole and in order,
 * and the followers together that they saw every history the churn made.
 *
 * The churn is tcptrace_workload (-m exact, two workers, CONNS
 * connections) in a network namespace the test makes for it, with the
 * module's netns= filter on that namespace: every done history in the
 * ring during the test is one of the workload's, and its manifest lists
 * them all (cookie, addresses and ports, end=). Before the workload
 * starts, one refused connect in that namespace leaves a history whose
 * seq tells the position H0 of the first history of the churn; every
 * follower starts there (lseek(SEEK_END)).
 *
 * The module is loaded with ring_size=512 (if it is not loaded yet):
 * smaller than the ~750 histories the churn makes, so that a follower
 * that falls far behind is overrun, and large enough for one that keeps
 * up not to be, even when the churn's netns goes and all its TIME_WAIT
 * histories end at once. When the module is loaded already, its
 * ring_size is read from the header and the assertions follow it.
 *
 * 32 followers, half opened in the initial namespace with all-netns, half
 * opened inside the churn's namespace (where all-netns is EPERM); half of
 * them block in read(), half poll() and read with O_NONBLOCK; their
 * buffers vary from 300 bytes to 64 KiB; 5 read one record every 200 to
 * 400 ms while the churn lasts, slower than it, and catch up after; 8
 * read nothing until every history of the churn is done. Each
 * checks that every read is whole records (they parse with
 * tcptrace_parse.h, one line each, ending in '\n', within
 * TCPTRACE_LINE_MAX), done ones, in seq increasing by one except right
 * after an EPIPE, where the gap adds to the histories it missed; that
 * EINVAL only comes for a buffer smaller than the next record, and
 * EAGAIN never right after poll() said POLLIN. At the end, for each
 * follower: the histories it saw plus those it missed are exactly the
 * workload's; each one it saw is in the manifest (cookie, netns, local
 * and remote address and port, end=) and was seen once; one that missed
 * none saw all; one that waited for the end missed exactly
 * max(0, histories - ring_size), in one EPIPE.
 *
 * 32 snapshot readers, meanwhile, take snapshot after snapshot, in the
 * initial namespace with all-netns, inside the churn's namespace, or in
 * the initial namespace alone (which sees nothing of the churn), reading
 * each in reads of 1 byte to 1 MiB: the header first, then done records,
 * then live ones, then done ones again (those that completed while the
 * live ones were copied), the done ones in increasing seq throughout, no
 * life of a socket (id and t0) twice, all of the namespaces the reader
 * may see. Every reader that shows the done history of a seq
 * shows the very same line.
 *
 * Environment: TCPTRACE_KO (loaded if /dev/tcptrace is absent),
 * TCPTRACE_READERS_CONNS (default 400), TCPTRACE_READERS_SEED (the
 * workload's, default: the time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tcptrace_parse.h"
#include "tcptrace_helpers.h"
#include "tcptrace_topology.h"

#define MODULE_PARAMS	"ring_size=512"
#define CONNS		400
#define NFOLLOWERS	32
#define NSTALLED	8	/* followers that read only once the churn is over */
#define NSNAPSHOTS	32
#define DEADLINE_MS	180000	/* for the followers, after the workload ends */

/* A done record a reader got: enough to match it against the manifest. */
struct seen {
	unsigned long long seq, id, netns, hash;
	char local[ADDR_MAX], remote[ADDR_MAX];
	int end;
};

struct reader {
	pthread_t thread;
	pid_t tid;
	int idx;
	bool follower;
	/* followers */
	bool in_churn_ns;	/* opened inside the churn's netns, else all-netns */
	bool nonblock, slow, stalled;
	unsigned long long next;	/* the seq expected next */
	unsigned long long missed;	/* histories lost to overruns, by the gaps */
	unsigned long nepipe, neinval, nreads;
	/* snapshot readers */
	unsigned long nsnap;
	/* both */
	struct seen *recs;
	size_t nrecs, cap;
	atomic_bool done;
	char err[TCPTRACE_LINE_MAX + 512];
};

/* What the threads share with the test. */
static struct {
	pthread_barrier_t ready;
	unsigned long long h0;		/* the seq of the churn's first history */
	unsigned long long churn_netns, init_netns;
	int init_ns_fd;
	int churn_ns_fd;		/* -1 once the churn is over */
	pthread_rwlock_t churn_ns_lock;	/* protects churn_ns_fd */
	atomic_ullong target;		/* the churn's histories; 0 until known */
	atomic_bool release;		/* every history is done: stalled followers read */
	atomic_bool stop;		/* snapshot readers stop; everybody, on abort */
	atomic_bool abort;
} g;

static void on_signal(int sig)
{
	(void)sig;
}

static bool __attribute__((format(printf, 2, 3))) reader_fail(struct reader *r,
							      const char *fmt, ...)
{
	va_list ap;

	if (!r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	return false;
}

/* FNV-1a: a line's fingerprint, to compare what readers saw for one seq. */
static unsigned long long line_hash(const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static bool seen_add(struct reader *r, const struct rec *rec)
{
	struct seen *s;

	if (r->nrecs == r->cap) {
		r->cap = r->cap * 2 + 256;
		r->recs = realloc(r->recs, r->cap * sizeof(*r->recs));
		if (!r->recs)
			return reader_fail(r, "out of memory");
	}
	s = &r->recs[r->nrecs++];
	s->seq = rec->seq;
	s->id = rec->id;
	s->netns = rec->netns;
	s->hash = line_hash(rec->line);
	s->end = rec->end;
	snprintf(s->local, sizeof(s->local), "%s", rec->local);
	snprintf(s->remote, sizeof(s->remote), "%s", rec->remote);
	return true;
}

/* Open the device in the churn's netns (its fd is -1 once the churn is over). */
static int open_in_churn_ns(int flags)
{
	int fd = -1;

	pthread_rwlock_rdlock(&g.churn_ns_lock);
	if (g.churn_ns_fd >= 0 && !setns(g.churn_ns_fd, CLONE_NEWNET)) {
		fd = open(TCPTRACE_DEVICE, flags | O_CLOEXEC);
		/* Back home: a thread left in it would keep the netns alive. */
		if (setns(g.init_ns_fd, CLONE_NEWNET)) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
	} else {
		errno = ENOENT;
	}
	pthread_rwlock_unlock(&g.churn_ns_lock);
	return fd;
}

/* ---- Followers ------------------------------------------------------------- */

static size_t follower_size(struct reader *r, unsigned int *rng)
{
	static const size_t sizes[] = { 300, 700, 1024, 1500, 4096, 65536 };

	if (r->slow)
		return TCPTRACE_LINE_MAX;
	return sizes[rand_r(rng) % (sizeof(sizes) / sizeof(sizes[0]))];
}

/* A read's records: whole, done, in order; gaps only right after EPIPE. */
static bool follower_records(struct reader *r, char *buf, size_t n, bool *gap_ok,
			     size_t einval_size)
{
	unsigned long long target = atomic_load(&g.target);
	struct dump d;
	size_t i, lines = 0;
	bool ok = true;

	if (buf[n - 1] != '\n')
		return reader_fail(r, "a read does not end in a newline: torn record");
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (dump_parse_text(&d, buf, n, false))
		ok = reader_fail(r, "records do not parse: %s", d.err);
	else if (d.nrecs != lines)
		ok = reader_fail(r, "%zu lines, %zu of them records", lines, d.nrecs);
	for (i = 0; ok && i < d.nrecs; i++) {
		const struct rec *rec = &d.recs[i];

		if (!rec->done) {
			ok = reader_fail(r, "a live record: %s", rec->line);
		} else if (i == 0 && einval_size && strlen(rec->line) + 1 <= einval_size) {
			ok = reader_fail(r, "EINVAL for %zu bytes, yet the record is %zu: %s",
					 einval_size, strlen(rec->line) + 1, rec->line);
		} else if (rec->seq < r->next || (rec->seq > r->next && !*gap_ok)) {
			ok = reader_fail(r, "seq %llu where %llu was next%s: %s", rec->seq,
					 r->next, *gap_ok ? "" : " (no EPIPE)", rec->line);
		} else if (target && rec->seq >= g.h0 + target) {
			ok = reader_fail(r, "seq %llu, after the churn's last (%llu): %s",
					 rec->seq, g.h0 + target - 1, rec->line);
		} else {
			r->missed += rec->seq - r->next;
			r->next = rec->seq + 1;
			*gap_ok = false;
			ok = seen_add(r, rec);
		}
	}
	dump_free(&d);
	return ok;
}

static bool follower_finished(struct reader *r)
{
	unsigned long long target = atomic_load(&g.target);

	return target && r->next == g.h0 + target;
}

static bool follower_run(struct reader *r)
{
	char hdr[TCPTRACE_LINE_MAX + 1], *buf;
	unsigned int rng = r->idx * 7919 + 1;
	size_t einval_size = 0;
	bool gap_ok = false, ok = true;
	int fd, flags = O_RDWR | (r->nonblock ? O_NONBLOCK : 0);
	ssize_t n;

	fd = r->in_churn_ns ? open_in_churn_ns(flags) : open(TCPTRACE_DEVICE, flags | O_CLOEXEC);
	if (fd < 0)
		return reader_fail(r, "open: %s", strerror(errno));
	if (r->in_churn_ns && (write_cmd(fd, TCPTRACE_CMD_ALL_NETNS) != -1 || errno != EPERM))
		ok = reader_fail(r, "all-netns outside the initial netns: not EPERM");
	if (!r->in_churn_ns && write_cmd(fd, TCPTRACE_CMD_ALL_NETNS))
		ok = reader_fail(r, "all-netns: %s", strerror(errno));
	if (ok && write_cmd(fd, TCPTRACE_CMD_FOLLOW))
		ok = reader_fail(r, "follow: %s", strerror(errno));
	n = ok ? read(fd, hdr, sizeof(hdr) - 1) : -1;
	if (ok && (n <= 0 || hdr[n - 1] != '\n' ||
		   strncmp(hdr, TCPTRACE_HEADER_TAG " ", strlen(TCPTRACE_HEADER_TAG) + 1) ||
		   memchr(hdr, '\n', n) != hdr + n - 1))
		ok = reader_fail(r, "the first read is not the header line: %s",
				 n < 0 ? strerror(errno) : "");
	/* Nothing of the churn yet: the end is where it will start. */
	if (ok && lseek(fd, 0, SEEK_END))
		ok = reader_fail(r, "lseek: %s", strerror(errno));
	r->next = g.h0;
	pthread_barrier_wait(&g.ready);

	buf = malloc(65536);
	if (!buf)
		ok = reader_fail(r, "out of memory");
	while (ok && r->stalled && !atomic_load(&g.release) && !atomic_load(&g.abort))
		usleep(10000);
	while (ok && !follower_finished(r) && !atomic_load(&g.abort)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		size_t size = einval_size ? TCPTRACE_LINE_MAX : follower_size(r, &rng);
		bool promised = false;
		int err;

		if (r->nonblock) {
			int ready = poll(&pfd, 1, 200);

			if (ready < 0 && errno != EINTR)
				ok = reader_fail(r, "poll: %s", strerror(errno));
			if (ready <= 0)
				continue;
			promised = pfd.revents & POLLIN;
		}
		n = read(fd, buf, size);
		err = errno;
		r->nreads++;
		if (n > 0) {
			ok = follower_records(r, buf, n, &gap_ok, einval_size);
			einval_size = 0;
		} else if (n == 0) {
			ok = reader_fail(r, "read() returned 0 (end of file)");
		} else if (err == EPIPE) {
			gap_ok = true;
			einval_size = 0;
			r->nepipe++;
		} else if (err == EINVAL && size < TCPTRACE_LINE_MAX) {
			einval_size = size;	/* the next record is larger */
			r->neinval++;
		} else if (err == EAGAIN && r->nonblock && !promised) {
			continue;
		} else if (err == EINTR && !r->nonblock) {
			continue;	/* the test's nudge: is the churn over? */
		} else {
			ok = reader_fail(r, "read of %zu: %s%s", size, strerror(err),
					 promised ? ", after POLLIN" : "");
		}
		/* Slower than the churn while it lasts: overrun mid-stream. */
		if (r->slow && !atomic_load(&g.target))
			usleep(200000 + rand_r(&rng) % 200000);
	}
	if (ok && !follower_finished(r))
		ok = reader_fail(r, "stopped at seq %llu, before the churn's end", r->next);
	free(buf);
	close(fd);
	return ok;
}

/* ---- Snapshot readers ---------------------------------------------------- */

enum snap_mode { SNAP_ALL_NETNS, SNAP_CHURN_NS, SNAP_INIT_NS };

static bool snapshot_check(struct reader *r, struct dump *d, enum snap_mode mode)
{
	const char *disorder;
	size_t i;

	disorder = dump_disorder(d, &i);
	if (disorder)
		return reader_fail(r, "%s: %s", disorder, d->recs[i].line);
	for (i = 0; i < d->nrecs; i++) {
		const struct rec *rec = &d->recs[i];

		if (mode == SNAP_CHURN_NS && rec->netns != g.churn_netns)
			return reader_fail(r, "a reader of the churn's netns got: %s", rec->line);
		if (mode == SNAP_INIT_NS && rec->netns != g.init_netns)
			return reader_fail(r, "a reader of the initial netns got: %s", rec->line);
		if (rec->done && rec->netns == g.churn_netns && rec->seq >= g.h0 &&
		    !seen_add(r, rec))
			return false;
	}
	return true;
}

static bool snapshot_once(struct reader *r, unsigned int *rng)
{
	static const size_t sizes[] = {
		7, 64, 333, 1023, 1024, 1025, 4096, 65536, 1 << 20, 1,
	};
	/* A byte at a time is slow under emulation: one read in 40. */
	size_t size = sizes[rand_r(rng) % (rand_r(rng) % 4 ? 9 : 10)];
	enum snap_mode mode = rand_r(rng) % 4;
	struct dump d;
	int fd, err;
	bool ok;

	if (mode > SNAP_INIT_NS)
		mode = SNAP_ALL_NETNS;
	fd = mode == SNAP_CHURN_NS ? open_in_churn_ns(O_RDWR) :
	     open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 && mode == SNAP_CHURN_NS && errno == ENOENT)
		return true;	/* the churn is over */
	if (fd < 0)
		return reader_fail(r, "open: %s", strerror(errno));
	if (mode == SNAP_ALL_NETNS && write_cmd(fd, TCPTRACE_CMD_ALL_NETNS)) {
		close(fd);
		return reader_fail(r, "all-netns: %s", strerror(errno));
	}
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(fd, size, &d.len);
	err = errno;
	close(fd);
	if (!d.raw)
		return reader_fail(r, "reading in %zu bytes: %s", size, strerror(err));
	if (dump_parse(&d))
		ok = reader_fail(r, "a snapshot read in %zu bytes does not parse: %s", size,
				 d.err);
	else
		ok = snapshot_check(r, &d, mode);
	dump_free(&d);
	r->nsnap++;
	return ok;
}

static bool snapshot_run(struct reader *r)
{
	unsigned int rng = r->idx * 104729 + 3;
	bool ok = true;

	pthread_barrier_wait(&g.ready);
	while (ok && !atomic_load(&g.stop)) {
		ok = snapshot_once(r, &rng);
		usleep(rand_r(&rng) % 50000);
	}
	return ok;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->tid = syscall(SYS_gettid);
	if (r->follower)
		follower_run(r);
	else
		snapshot_run(r);
	atomic_store(&r->done, true);
	return NULL;
}

static void reader_name(const struct reader *r, char *buf, size_t size)
{
	if (!r->follower)
		snprintf(buf, size, "snapshot reader %d", r->idx);
	else
		snprintf(buf, size, "follower %d (%s%s%s%s)", r->idx,
			 r->in_churn_ns ? "in the churn's netns" : "all-netns",
			 r->nonblock ? ", O_NONBLOCK" : ", blocking", r->slow ? ", slow" : "",
			 r->stalled ? ", stalled" : "");
}

/* ---- The churn ------------------------------------------------------------ */

struct manifest_line {
	unsigned long long cookie, netns;
	char role[16], family[8], local[ADDR_MAX], remote[ADDR_MAX], end[24];
};

static int manifest_cmp(const void *a, const void *b)
{
	const struct manifest_line *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static struct manifest_line *manifest_find(struct manifest_line *m, size_t n,
					   unsigned long long cookie)
{
	struct manifest_line key = { .cookie = cookie };

	return bsearch(&key, m, n, sizeof(*m), manifest_cmp);
}

/*
 * The churn's process: a netns of its own (its inode to the test), one
 * refused connect when told (its cookie to the test), then, when told,
 * tcptrace_workload.
 */
static void churn_child(int to_test, int from_test, const char *conns, const char *seed,
			const char *manifest)
{
	char path[PATH_MAX], c;
	unsigned long long v;

	setpgid(0, 0);
	workload_path(path, sizeof(path));
	if (netns_new())
		_exit(10);
	v = netns_inode();
	if (write(to_test, &v, sizeof(v)) != sizeof(v) || read(from_test, &c, 1) != 1)
		_exit(11);
	v = refused_connect();
	if (write(to_test, &v, sizeof(v)) != sizeof(v) || read(from_test, &c, 1) != 1)
		_exit(12);
	execl(path, path, "-n", conns, "-j", "2", "-m", "exact", "-s", seed, "-o", manifest,
	      (char *)NULL);
	_exit(13);
}

FIXTURE(readers) {
	bool skip;
	int admin;
	int kmsg;
	pid_t child;
	char manifest[64];
};

FIXTURE_SETUP(readers)
{
	const char *why = module_ensure(MODULE_PARAMS);

	self->kmsg = -1;
	if (why) {
		self->skip = true;
		SKIP(return, "%s", why);
	}
	self->admin = open(TCPTRACE_DEVICE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, self->admin) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, write_cmd(self->admin, TCPTRACE_CMD_PORTS));
	ASSERT_EQ(0, write_cmd(self->admin, TCPTRACE_CMD_NETNS "0"));
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg) TH_LOG("/dev/kmsg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(readers)
{
	char line[1024];

	if (self->skip)
		return;
	if (self->child > 0) {
		kill(-self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->manifest[0])
		unlink(self->manifest);
	/* Plain ifs: after a failed ASSERT, an EXPECT's handler would run anyway. */
	if (write_cmd(self->admin, TCPTRACE_CMD_NETNS "0")) {
		TH_LOG("netns=0: %s", strerror(errno));
		_metadata->passed = 0;
	}
	close(self->admin);
	if (self->kmsg >= 0 && kmsg_complaint(self->kmsg, line, sizeof(line))) {
		TH_LOG("the kernel logged: %s", line);
		_metadata->passed = 0;
	}
	if (self->kmsg >= 0)
		close(self->kmsg);
}

/* The seq of the done history of @cookie, read by a follower that waits for it. */
static unsigned long long calibration_seq(struct __test_metadata *_metadata, int fd,
					  unsigned long long cookie)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[TCPTRACE_LINE_MAX + 1];
	struct dump d;
	unsigned long long seq;
	ssize_t n;

	ASSERT_EQ(1, poll(&pfd, 1, 20000)) TH_LOG("the refused connect left no history");
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n) TH_LOG("%s", strerror(errno));
	memset(&d, 0, sizeof(d));
	d.raw = strndup(buf, n);
	d.len = n;
	ASSERT_EQ(0, dump_parse_lines(&d, false)) TH_LOG("%s", d.err);
	ASSERT_EQ(1, (int)d.nrecs) TH_LOG("%s", d.raw);
	ASSERT_EQ(cookie, d.recs[0].id) TH_LOG("%s", d.recs[0].line);
	ASSERT_EQ(g.churn_netns, d.recs[0].netns) TH_LOG("%s", d.recs[0].line);
	seq = d.recs[0].seq;
	dump_free(&d);
	return seq;
}

/* The last done seq an all-netns snapshot shows, and the header. */
static unsigned long long last_done_seq(struct __test_metadata *_metadata, struct hdr *h)
{
	unsigned long long seq = 0;
	struct dump d;
	int fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_ALL_NETNS));
	memset(&d, 0, sizeof(d));
	d.raw = read_fd(fd, 65536, &d.len);
	close(fd);
	ASSERT_NE(NULL, d.raw);
	ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
	if (d.ndone)
		seq = d.recs[d.ndone - 1].seq;
	*h = d.hdr;
	dump_free(&d);
	return seq;
}

static size_t manifest_read(struct __test_metadata *_metadata, const char *path,
			    struct manifest_line **out)
{
	struct manifest_line *m = NULL;
	size_t n = 0, cap = 0;
	char line[1024];
	FILE *f = fopen(path, "r");

	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (n == cap) {
			cap = cap * 2 + 1024;
			m = realloc(m, cap * sizeof(*m));
			ASSERT_NE(NULL, m);
		}
		ASSERT_EQ(7, sscanf(line, "%15s %llu %7s %63s %63s %23s %llu", m[n].role,
				    &m[n].cookie, m[n].family, m[n].local, m[n].remote,
				    m[n].end, &m[n].netns)) TH_LOG("manifest: %s", line);
		ASSERT_NE(0ULL, m[n].cookie) TH_LOG("-m exact: every socket has a cookie: %s",
						     line);
		n++;
	}
	fclose(f);
	qsort(m, n, sizeof(*m), manifest_cmp);
	*out = m;
	return n;
}

TEST_F_TIMEOUT(readers, churn, 400)
{
	static struct reader readers[NFOLLOWERS + NSNAPSHOTS];
	unsigned long long conns = CONNS, seed, cookie, target, ring_size, *line_of;
	char conns_s[24], seed_s[24], go = 'g';
	struct manifest_line *m = NULL;
	int to_test[2], from_test[2], status, i, fd;
	unsigned long epipes = 0, snaps = 0, overrun = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	size_t nm, j, k;
	long long start;
	struct hdr h;

	if (self->skip)
		return;
	if (getenv("TCPTRACE_READERS_CONNS"))
		conns = strtoull(getenv("TCPTRACE_READERS_CONNS"), NULL, 0);
	seed = getenv("TCPTRACE_READERS_SEED") ? strtoull(getenv("TCPTRACE_READERS_SEED"),
							  NULL, 0) : (unsigned long long)time(NULL);
	TH_LOG("TCPTRACE_READERS_CONNS=%llu TCPTRACE_READERS_SEED=%llu", conns, seed);
	snprintf(conns_s, sizeof(conns_s), "%llu", conns);
	snprintf(seed_s, sizeof(seed_s), "%llu", seed);
	snprintf(self->manifest, sizeof(self->manifest), "/tmp/tcptrace_readers.%d", getpid());
	/* No SA_RESTART: the signal gets a blocked follower out of read(). */
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	/*
	 * A history that started before the netns= filter would still end
	 * in the ring, among the churn's: wait for those (a TIME_WAIT left
	 * by an earlier test lasts a minute).
	 */
	for (start = now_ms(); last_done_seq(_metadata, &h), h.live; usleep(200000))
		if (now_ms() - start > 90000)
			SKIP(return, "%llu live histories that are not the test's stay", h.live);

	memset(&g, 0, sizeof(g));
	g.init_netns = netns_inode();
	g.init_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, g.init_ns_fd);
	ASSERT_EQ(0, pthread_rwlock_init(&g.churn_ns_lock, NULL));
	ASSERT_EQ(0, pipe2(to_test, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(from_test, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		churn_child(to_test[1], from_test[0], conns_s, seed_s, self->manifest);
	setpgid(self->child, self->child);

	/* Only the churn's netns from now on, and a follower at the end of the ring. */
	ASSERT_EQ(sizeof(g.churn_netns), read(to_test[0], &g.churn_netns, sizeof(g.churn_netns)))
		TH_LOG("the churn's process failed");
	{
		char cmd[64], path[64];

		snprintf(cmd, sizeof(cmd), TCPTRACE_CMD_NETNS "%llu", g.churn_netns);
		ASSERT_EQ(0, write_cmd(self->admin, cmd)) TH_LOG("%s: %s", cmd, strerror(errno));
		snprintf(path, sizeof(path), "/proc/%d/ns/net", self->child);
		g.churn_ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, g.churn_ns_fd) TH_LOG("%s: %s", path, strerror(errno));
	}
	fd = open(TCPTRACE_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_ALL_NETNS));
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_FOLLOW));
	{
		char hdr[TCPTRACE_LINE_MAX];

		ASSERT_LT(0, read(fd, hdr, sizeof(hdr)));
	}
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(1, write(from_test[1], &go, 1));
	ASSERT_EQ(sizeof(cookie), read(to_test[0], &cookie, sizeof(cookie)));
	ASSERT_NE(0ULL, cookie) TH_LOG("the refused connect failed");
	g.h0 = calibration_seq(_metadata, fd, cookie) + 1;
	close(fd);
	last_done_seq(_metadata, &h);
	ring_size = h.ring_size;

	/* The readers, all in place before the churn starts. */
	ASSERT_EQ(0, pthread_barrier_init(&g.ready, NULL, NFOLLOWERS + NSNAPSHOTS + 1));
	for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++) {
		struct reader *r = &readers[i];

		memset(r, 0, sizeof(*r));
		r->idx = i;
		r->follower = i < NFOLLOWERS;
		r->in_churn_ns = i % 2;
		r->nonblock = (i / 2) % 2;
		r->stalled = i < NSTALLED;
		r->slow = !r->stalled && i % 5 == 0;
		ASSERT_EQ(0, pthread_create(&r->thread, NULL, reader_main, r));
	}
	pthread_barrier_wait(&g.ready);
	start = now_ms();
	ASSERT_EQ(1, write(from_test[1], &go, 1));
	close(from_test[1]);
	close(to_test[0]);
	close(to_test[1]);
	close(from_test[0]);

	/* The churn; then its netns goes, and with it its timewait sockets. */
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = 0;
	pthread_rwlock_wrlock(&g.churn_ns_lock);
	close(g.churn_ns_fd);
	g.churn_ns_fd = -1;
	pthread_rwlock_unlock(&g.churn_ns_lock);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		atomic_store(&g.abort, true);
		atomic_store(&g.stop, true);
	}
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("tcptrace_workload failed: status 0x%x", status);
	nm = manifest_read(_metadata, self->manifest, &m);
	TH_LOG("the churn: %zu histories in %lld ms", nm, now_ms() - start);
	atomic_store(&g.target, nm);

	/*
	 * Every history done (the last seq is the churn's last): the
	 * stalled followers read now, snapshots stop. Blocking followers
	 * are nudged out of read() to see that they are done.
	 */
	start = now_ms();
	for (;;) {
		bool followers_done = true;

		if (!atomic_load(&g.release) && last_done_seq(_metadata, &h) == g.h0 + nm - 1) {
			atomic_store(&g.release, true);
			atomic_store(&g.stop, true);
		}
		for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++) {
			if (atomic_load(&readers[i].done))
				continue;
			followers_done = followers_done && !readers[i].follower;
			if (readers[i].follower && !readers[i].nonblock)
				pthread_kill(readers[i].thread, SIGUSR1);
		}
		if (followers_done && atomic_load(&g.release))
			break;
		if (now_ms() - start > DEADLINE_MS) {
			atomic_store(&g.abort, true);
			atomic_store(&g.stop, true);
			break;
		}
		usleep(200000);
	}
	for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++)
		ASSERT_EQ(0, pthread_join(readers[i].thread, NULL));
	ASSERT_TRUE(atomic_load(&g.release))
		TH_LOG("the churn's last history (seq %llu) never completed", g.h0 + nm - 1);

	/* Each reader's own checks. */
	for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++) {
		char what[128];

		reader_name(&readers[i], what, sizeof(what));
		ASSERT_STREQ("", readers[i].err) TH_LOG("%s", what);
	}

	/* Every reader that shows a seq shows the same line for it. */
	line_of = calloc(nm, sizeof(*line_of));
	ASSERT_NE(NULL, line_of);
	for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++) {
		for (j = 0; j < readers[i].nrecs; j++) {
			const struct seen *s = &readers[i].recs[j];

			ASSERT_GT(g.h0 + nm, s->seq) TH_LOG("reader %d: seq %llu", i, s->seq);
			if (!line_of[s->seq - g.h0])
				line_of[s->seq - g.h0] = s->hash;
			ASSERT_EQ(line_of[s->seq - g.h0], s->hash)
				TH_LOG("reader %d: the history of seq %llu reads differently", i,
				       s->seq);
		}
	}
	free(line_of);

	/* The followers together: every history of the churn, once each. */
	target = nm;
	for (i = 0; i < NFOLLOWERS; i++) {
		struct reader *r = &readers[i];
		unsigned char *count = calloc(nm, 1);

		ASSERT_NE(NULL, count);
		ASSERT_EQ(target, r->nrecs + r->missed)
			TH_LOG("follower %d: %zu seen + %llu missed, the churn made %llu", i,
			       r->nrecs, r->missed, target);
		for (j = 0; j < r->nrecs; j++) {
			const struct seen *s = &r->recs[j];
			struct manifest_line *ml = manifest_find(m, nm, s->id);

			ASSERT_NE(NULL, ml) TH_LOG("follower %d: id %llu is no socket of the churn",
						   i, s->id);
			k = ml - m;
			ASSERT_EQ(0, count[k]++) TH_LOG("follower %d: id %llu twice", i, s->id);
			ASSERT_EQ(g.churn_netns, s->netns);
			ASSERT_EQ(ml->netns, s->netns);
			ASSERT_STREQ(ml->local, s->local) TH_LOG("follower %d: id %llu", i, s->id);
			ASSERT_STREQ(ml->remote, s->remote) TH_LOG("follower %d: id %llu", i, s->id);
			if (strcmp(ml->end, "any"))
				ASSERT_STREQ(ml->end, end_names[s->end])
					TH_LOG("follower %d: %s %llu", i, ml->role, s->id);
		}
		if (!r->missed)
			for (k = 0; k < nm; k++)
				ASSERT_EQ(1, count[k]) TH_LOG("follower %d never saw %s %llu %s %s",
							     i, m[k].role, m[k].cookie,
							     m[k].local, m[k].remote);
		if (r->stalled) {
			ASSERT_EQ(nm > ring_size ? nm - ring_size : 0, r->missed)
				TH_LOG("follower %d read after the churn, ring_size=%llu", i,
				       ring_size);
			ASSERT_EQ(nm > ring_size ? 1UL : 0UL, r->nepipe);
		}
		free(count);
		epipes += r->nepipe;
		overrun += r->missed > 0;
	}
	for (i = NFOLLOWERS; i < NFOLLOWERS + NSNAPSHOTS; i++)
		snaps += readers[i].nsnap;
	TH_LOG("%zu histories, ring_size=%llu: %lu of %d followers overrun (%lu EPIPE), "
	       "%lu snapshots", nm, ring_size, overrun, NFOLLOWERS, epipes, snaps);
	for (i = 0; i < NFOLLOWERS + NSNAPSHOTS; i++)
		free(readers[i].recs);
	free(m);
	close(g.init_ns_fd);
	pthread_barrier_destroy(&g.ready);
}

#include "tcptrace_main.h"
