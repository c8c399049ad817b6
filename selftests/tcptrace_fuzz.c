// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_fuzz: hostile input to /dev/tcptrace, with an exact expected
 * result for everything, while tcptrace_workload makes TCP traffic in a
 * network namespace of its own so that there are records to read.
 *
 * fuzz.random_ops runs a fixed number of operations (TCPTRACE_FUZZ_ITERATIONS,
 * default 3000) chosen by a seeded PRNG on a handful of open files of the
 * device, each in snapshot or follow mode, with or without O_NONBLOCK and
 * all-netns, opened read-only, write-only or both. The seed is printed;
 * TCPTRACE_FUZZ_SEED=N replays the same choices (the traffic, and so the
 * records, differ from run to run). Each operation's result is checked
 * against a model of the device written from Documentation/tcptrace.rst
 * and the VFS code that runs before the module's (fs/read_write.c,
 * fs/ioctl.c, mm/mmap.c, fs/splice.c):
 *
 * - read() and pread() of sizes from 0 to 16 MiB and beyond (1 GiB,
 *   INT_MAX, SSIZE_MAX), into good buffers, unmapped, PROT_NONE and
 *   PROT_READ pages, buffers that run into a page that faults, and a kernel
 *   address. A snapshot read returns exactly the next bytes of the
 *   snapshot (which is learned with pread(), and must itself be a valid
 *   snapshot: the header first, done records in increasing seq, then
 *   live ones, no done record twice), EFAULT without moving the file
 *   position, or a short read up to the page that faults. A follow read
 *   returns the header line alone first, then whole done records in
 *   increasing seq, consecutive for an all-netns reader unless it was
 *   told of a gap with EPIPE (or lseek()ed); EINVAL only for a buffer
 *   smaller than the next record (which the next read then shows);
 *   EFAULT consuming nothing; EAGAIN only under O_NONBLOCK; a blocking
 *   read is bounded by a 100 ms timer whose signal (no SA_RESTART) gives
 *   EINTR.
 * - readv() with up to IOV_MAX iovecs (more: EINVAL): the same bytes as
 *   read(), one read per iovec until a short one.
 * - lseek() with every whence (SEEK_SET/CUR/END/DATA/HOLE and invalid
 *   ones) and random offsets: in snapshot mode a file of the snapshot's
 *   size (fixed_size_llseek(): SEEK_SET, SEEK_CUR and SEEK_END within it,
 *   EINVAL otherwise), in follow mode only offset 0 with SEEK_SET or
 *   SEEK_END, EINVAL otherwise.
 * - write() of commands: valid ones, almost-valid ones, token soup,
 *   random bytes, empty, 64 bytes and more, from bad buffers: 0 (and the
 *   effect: follow mode, all-netns, the filters the header then shows),
 *   EINVAL, EFAULT or EBADF. The command grammar is the one of
 *   Documentation/tcptrace.rst: one command, one optional trailing
 *   newline, decimal values.
 * - poll() agreeing with read(): POLLIN means a read does not block or
 *   fail with EAGAIN, POLLERR means the next read is EPIPE; a snapshot
 *   is always readable.
 * - random ioctl() numbers and arguments: ENOTTY (the device has no
 *   ioctl; the numbers the VFS handles itself are left out).
 * - mmap(): ENODEV (EACCES for a mode the file was not opened for);
 *   fsync(), fdatasync(), ftruncate(), splice(), sendfile(),
 *   copy_file_range(): EINVAL; fallocate(): ENODEV or EBADF; data, if
 *   one of them ever returns some, must be the device's.
 *
 * fuzz.nonblocking_follower, fuzz.close_while_blocked and
 * fuzz.signal_interrupts run in an empty network namespace, where nothing
 * happens unless the test makes it: EAGAIN and poll() when there is
 * nothing, the fd closed by another thread while one is blocked in a
 * follow read and one in lseek() behind it, and signals interrupting a
 * blocked read, lseek() and write(), with and without SA_RESTART.
 * fuzz.reused_netns_inode: a new namespace that gets the inode number of
 * one that is gone sees none of the old one's histories.
 *
 * Every test ends by reading /dev/kmsg: no line of the module's and no
 * splat may have been logged while it ran.
 *
 * If /dev/tcptrace is absent, the module is loaded from $TCPTRACE_KO with
 * ring_size=128, so that followers that fall behind get EPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "tcptrace_parse.h"
#include "tcptrace_helpers.h"
#include "tcptrace_topology.h"

#define MODULE_PARAMS	"ring_size=128"
#define ITERATIONS	3000
#define NSLOTS		6
#define BIG		(16 << 20)	/* the largest good buffer */
#define KERNEL_ADDR	((char *)0xffff888000000000UL)	/* x86-64 direct map */
#define TIMER_MS	100		/* bound on a blocking follow read */
#define CMD_MAX		64		/* a write this long or longer: EINVAL */
#define LOG_N		40		/* operations shown when one fails */

#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID	_IOR(0x15, 0, char[18])
#endif
#ifndef FS_IOC_GETFSSYSFSPATH
#define FS_IOC_GETFSSYSFSPATH	_IOR(0x15, 1, char[129])
#endif

enum buf_kind {
	BUF_GOOD, BUF_UNMAPPED, BUF_PROT_NONE, BUF_PROT_READ, BUF_PARTIAL,
	BUF_KERNEL, NR_BUF_KINDS,
};

static const char *const buf_names[NR_BUF_KINDS] = {
	"good", "unmapped", "PROT_NONE", "PROT_READ", "partial", "kernel",
};

/* One open file of the device, and what the model knows of it. */
struct slot {
	int fd;			/* -1: free */
	int acc;		/* O_RDONLY, O_WRONLY or O_RDWR */
	bool nonblock, all_netns, follow;
	/* snapshot mode */
	bool known;		/* the snapshot is taken and learned */
	char *snap;		/* its text (NULL when the file cannot read) */
	size_t snap_len;
	long long pos;		/* the file position */
	/* follow mode */
	bool header_sent;
	bool have_last;		/* last_seq is the last record returned */
	unsigned long long last_seq;
	bool gap_ok;		/* an EPIPE or lseek() allows a gap */
	size_t einval_size;	/* a read this large got EINVAL: the next record is larger */
};

struct fuzz {
	uint64_t rng;
	struct slot slot[NSLOTS];
	long page;
	char *big;		/* BIG bytes, then a PROT_NONE page */
	char *unmapped, *prot_none, *prot_read;
	unsigned long long netns;
	int pipe[2];		/* for splice() and sendfile() */
	int tmp;		/* a regular file, for copy_file_range() */
	int iter;
	char what[320];		/* the operation running */
	char err[2048];
	char log[LOG_N][352];
	unsigned int nlog;
	struct {
		unsigned long ops, snap_bytes, records, header, epipe, eagain,
			      eintr, einval, efault, ebadf, enotty, writes_ok;
	} n;
};

static volatile sig_atomic_t alarms;

static void on_signal(int sig)
{
	(void)sig;
	alarms++;
}

/* ---- The PRNG: splitmix64 --------------------------------------------- */

static uint64_t rnd(struct fuzz *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct fuzz *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

/* ---- Reporting ----------------------------------------------------------- */

static bool __attribute__((format(printf, 2, 3))) fail(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	return false;
}

static void __attribute__((format(printf, 2, 3))) op_begin(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
	snprintf(f->log[f->nlog++ % LOG_N], sizeof(f->log[0]), "%d: %s", f->iter, f->what);
	f->n.ops++;
}

static void log_ops(struct __test_metadata *_metadata, struct fuzz *f)
{
	unsigned int i = f->nlog > LOG_N ? f->nlog - LOG_N : 0;

	TH_LOG("the last operations (iteration: operation):");
	for (; i < f->nlog; i++)
		TH_LOG("  %s", f->log[i % LOG_N]);
}

/* Add to the description of the operation running, and to its log line. */
static void __attribute__((format(printf, 2, 3))) op_more(struct fuzz *f, const char *fmt, ...)
{
	size_t len = strlen(f->what);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->what + len, sizeof(f->what) - len, fmt, ap);
	va_end(ap);
	snprintf(f->log[(f->nlog - 1) % LOG_N], sizeof(f->log[0]), "%d: %s", f->iter, f->what);
}

/* Assert in the test's own thread, with the operations that led here. */
#define CHECK(ok) do {							\
	if (!(ok)) {							\
		log_ops(_metadata, f);					\
		ASSERT_TRUE(false) TH_LOG("%s: %s", f->what, f->err);	\
	}								\
} while (0)

static const char *errname(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case EPIPE: return "EPIPE";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case ENOTTY: return "ENOTTY";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ESPIPE: return "ESPIPE";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* "the result" of a syscall: n, or -1 and errno, in words. */
static const char *res(long long ret, int err)
{
	static char buf[64];

	if (ret < 0)
		snprintf(buf, sizeof(buf), "-1 %s", errname(err));
	else
		snprintf(buf, sizeof(buf), "%lld", ret);
	return buf;
}

/* ---- Buffers ------------------------------------------------------------- */

/*
 * A page that nothing is mapped at. The kernel may place a new mapping in
 * a hole that was unmapped (6.12 does): check, and find another if so.
 */
static char *unmapped_page(struct fuzz *f)
{
	unsigned char vec;
	char *p;

	if (mincore(f->unmapped, f->page, &vec) && errno == ENOMEM)
		return f->unmapped;
	p = mmap(NULL, f->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED && !munmap(p, f->page))
		f->unmapped = p;
	return f->unmapped;
}

/*
 * A buffer of @kind for @n bytes; *@mapped: how many bytes from its start
 * may be written. A good buffer ends where a PROT_NONE page starts, so a
 * byte written past it faults.
 */
static char *buf_get(struct fuzz *f, enum buf_kind kind, size_t n, size_t *mapped)
{
	size_t b;

	*mapped = 0;
	switch (kind) {
	case BUF_GOOD:
		if (n > BIG) {
			*mapped = BIG;
			return f->big;
		}
		*mapped = n;
		return f->big + BIG - n;
	case BUF_UNMAPPED:
		return unmapped_page(f);
	case BUF_PROT_NONE:
		return f->prot_none;
	case BUF_PROT_READ:
		return f->prot_read;
	case BUF_PARTIAL:
		b = below(f, (n < 2048 ? n : 2048) + 1);
		if (b >= n)
			b = n ? n - 1 : 0;
		*mapped = b;
		return f->big + BIG - b;
	default:
		return KERNEL_ADDR;
	}
}

/* Does the VFS's access_ok() take [@p, @p + @n)? x86-64, 4-level paging. */
static bool user_range(const char *p, size_t n)
{
	const uintptr_t limit = 0x7ffffffff000UL;	/* TASK_SIZE_MAX */
	uintptr_t a = (uintptr_t)p;

	return n <= limit && a <= limit - n;
}

static size_t size_pick(struct fuzz *f)
{
	static const size_t huge[] = {
		1UL << 30, INT_MAX, (size_t)SSIZE_MAX, SIZE_MAX, (size_t)SSIZE_MAX + 1,
	};

	switch (below(f, 12)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 2 + below(f, 15);
	case 3: return 17 + below(f, 384);
	case 4: return 400 + below(f, 700);
	case 5: return TCPTRACE_LINE_MAX - 1 + below(f, 3);
	case 6: return 4096;
	case 7: return 65536;
	case 8: return BIG;
	case 9: return huge[below(f, sizeof(huge) / sizeof(huge[0]))];
	default: return TCPTRACE_LINE_MAX + below(f, 8192);
	}
}

static enum buf_kind kind_pick(struct fuzz *f)
{
	/* Mostly good buffers: those exercise the module's own paths. */
	return below(f, 3) ? BUF_GOOD : (enum buf_kind)below(f, NR_BUF_KINDS);
}

/* ---- The model: snapshots ------------------------------------------------- */

static bool readable(const struct slot *s)
{
	return s->acc != O_WRONLY;
}

static bool writable(const struct slot *s)
{
	return s->acc != O_RDONLY;
}

/*
 * A snapshot, as Documentation/tcptrace.rst has it: the header first,
 * then the records in its order (dump_disorder()); a reader without
 * all-netns sees its own netns only.
 */
static bool snap_valid(struct fuzz *f, const char *text, size_t len, bool all_netns)
{
	const char *disorder;
	struct dump d;
	size_t i;
	bool ok = true;

	if (dump_parse_text(&d, text, len, true))
		ok = fail(f, "the snapshot does not parse: %s", d.err);
	else if ((disorder = dump_disorder(&d, &i)))
		ok = fail(f, "%s: %s", disorder, d.recs[i].line);
	for (i = 0; ok && i < d.nrecs; i++)
		if (!all_netns && d.recs[i].netns != f->netns)
			ok = fail(f, "another netns's record: %s", d.recs[i].line);
	dump_free(&d);
	return ok;
}

/*
 * Learn the snapshot of a snapshot-mode file, once it is taken (or take
 * it): its text with pread(), which leaves the file position alone, or
 * for a write-only file only its size, with lseek() (and back).
 */
static bool snap_learn(struct fuzz *f, struct slot *s)
{
	size_t cap = 0;
	off_t end;

	if (s->follow || s->known)
		return true;
	if (!readable(s)) {
		/* Where the operation that took the snapshot left the file. */
		off_t here = lseek(s->fd, 0, SEEK_CUR);

		end = lseek(s->fd, 0, SEEK_END);
		if (here < 0 || end <= 0 || lseek(s->fd, here, SEEK_SET) != here)
			return fail(f, "learning the snapshot's size: %s", strerror(errno));
		s->snap_len = end;
		s->known = true;
		return true;
	}
	s->snap_len = 0;
	for (;;) {
		ssize_t n;

		if (cap - s->snap_len < 65536) {
			cap = cap * 2 + 65536;
			s->snap = realloc(s->snap, cap);
			if (!s->snap)
				return fail(f, "out of memory");
		}
		n = pread(s->fd, s->snap + s->snap_len, 65536, s->snap_len);
		if (n < 0)
			return fail(f, "pread() of the snapshot: %s", strerror(errno));
		if (!n)
			break;
		s->snap_len += n;
		if (s->snap_len > READ_MAX)
			return fail(f, "the snapshot never ends");
	}
	s->known = true;
	return snap_valid(f, s->snap, s->snap_len, s->all_netns);
}

static void slot_forget_snapshot(struct slot *s)
{
	free(s->snap);
	s->snap = NULL;
	s->known = false;
	s->snap_len = 0;
}

/*
 * The result of a read of @n bytes at @pos of a learned snapshot into a
 * buffer of which @mapped bytes are writable (@vfs_fault: the VFS refuses
 * the range). Returns false on a wrong result.
 */
static bool snap_read_check(struct fuzz *f, struct slot *s, long long pos, size_t n,
			    const char *buf, size_t mapped, bool vfs_fault,
			    ssize_t ret, int err)
{
	size_t left = pos < (long long)s->snap_len ? s->snap_len - pos : 0;
	size_t k = n < left ? n : left;

	if (vfs_fault) {
		if (ret != -1 || err != EFAULT)
			return fail(f, "%s, expected EFAULT (access_ok())", res(ret, err));
		return true;
	}
	if (k == 0) {
		if (ret != 0)
			return fail(f, "%s, expected 0 (%zu bytes left)", res(ret, err), left);
		return true;
	}
	if (mapped >= k) {
		if (ret != (ssize_t)k)
			return fail(f, "%s, expected %zu", res(ret, err), k);
	} else if (ret == -1) {
		/* Nothing could be copied: EFAULT, not a short read of 0. */
		if (err != EFAULT)
			return fail(f, "%s, expected EFAULT or a short read", res(ret, err));
		return true;
	} else if (ret <= 0 || (size_t)ret > mapped) {
		return fail(f, "%s, expected 1 to %zu bytes (then a page that faults)",
			    res(ret, err), mapped);
	}
	if (memcmp(buf, s->snap + pos, ret))
		return fail(f, "the bytes differ from the snapshot's at %lld", pos);
	f->n.snap_bytes += ret;
	return true;
}

/* ---- The model: followers ------------------------------------------------- */

static void follow_gap_ok(struct slot *s)
{
	s->gap_ok = true;
	s->einval_size = 0;
}

/*
 * What a follow read returned: the header line first (alone, for read()),
 * then whole done records, in increasing seq, consecutive for an
 * all-netns reader that was not told of a gap.
 */
static bool follow_data(struct fuzz *f, struct slot *s, const char *buf, size_t n,
			bool header_alone)
{
	char line[TCPTRACE_LINE_MAX + 1];
	const char *p = buf, *nl;
	struct dump d;
	size_t i, lines = 0;
	bool ok = true;

	if (n == 0)
		return fail(f, "a follow read returned 0 (end of file)");
	if (buf[n - 1] != '\n')
		return fail(f, "a follow read does not end in a newline: torn record");
	if (!s->header_sent) {
		struct hdr h;
		const char *err;
		size_t hlen;

		nl = memchr(p, '\n', n);
		hlen = nl - p + 1;
		if (hlen > TCPTRACE_LINE_MAX)
			return fail(f, "the header line is %zu bytes long", hlen);
		memcpy(line, p, hlen - 1);
		line[hlen - 1] = '\0';
		memset(&h, 0, sizeof(h));
		err = parse_header(&h, line);
		if (err)
			return fail(f, "the first follow read is not the header: %s: %.*s",
				    err, (int)hlen, p);
		if (header_alone && hlen != n)
			return fail(f, "the first follow read is more than the header line");
		if (s->einval_size && hlen <= s->einval_size)
			return fail(f, "EINVAL for %zu bytes, yet the header is %zu",
				    s->einval_size, hlen);
		s->header_sent = true;
		s->einval_size = 0;
		f->n.header++;
		p += hlen;
		n -= hlen;
		if (!n)
			return true;
	}
	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	if (dump_parse_text(&d, p, n, false))
		ok = fail(f, "follow records do not parse: %s", d.err);
	else if (d.nrecs != lines)
		ok = fail(f, "a follow read returned %zu lines, %zu of them records",
			  lines, d.nrecs);
	for (i = 0; ok && i < d.nrecs; i++) {
		const struct rec *r = &d.recs[i];

		if (!r->done)
			ok = fail(f, "a follower got a live record: %s", r->line);
		else if (!s->all_netns && r->netns != f->netns)
			ok = fail(f, "another netns's record: %s", r->line);
		else if (i == 0 && s->einval_size && strlen(r->line) + 1 <= s->einval_size)
			ok = fail(f, "EINVAL for %zu bytes, yet the next record is %zu: %s",
				  s->einval_size, strlen(r->line) + 1, r->line);
		else if (s->have_last && r->seq <= s->last_seq)
			ok = fail(f, "seq %llu after %llu: %s", r->seq, s->last_seq, r->line);
		else if (s->have_last && s->all_netns && !s->gap_ok &&
			 r->seq != s->last_seq + 1)
			ok = fail(f, "seq %llu after %llu without EPIPE: %s", r->seq,
				  s->last_seq, r->line);
		if (!ok)
			break;
		s->have_last = true;
		s->last_seq = r->seq;
		s->gap_ok = false;
		s->einval_size = 0;
		f->n.records++;
	}
	dump_free(&d);
	return ok;
}

/*
 * A follow read of @n bytes failed with @err, or returned @ret bytes; it
 * may have blocked (bounded by the timer) if @may_block. @mapped bytes of
 * the buffer are writable; @vfs_fault: the VFS refuses the range.
 */
static bool follow_read_check(struct fuzz *f, struct slot *s, size_t n, const char *buf,
			      size_t mapped, bool vfs_fault, bool may_block,
			      ssize_t ret, int err)
{
	if (vfs_fault) {
		if (ret != -1 || err != EFAULT)
			return fail(f, "%s, expected EFAULT (access_ok())", res(ret, err));
		return true;
	}
	if (ret >= 0) {
		if ((size_t)ret > n || (size_t)ret > mapped)
			return fail(f, "%s bytes into a buffer of %zu, %zu writable",
				    res(ret, err), n, mapped);
		return follow_data(f, s, buf, ret, true);
	}
	switch (err) {
	case EINVAL:
		/* A record or the header is at most TCPTRACE_LINE_MAX bytes. */
		if (n >= TCPTRACE_LINE_MAX)
			return fail(f, "EINVAL for a buffer of %zu bytes", n);
		if (mapped >= n && n > s->einval_size)
			s->einval_size = n;
		f->n.einval++;
		return true;
	case EFAULT:
		if (mapped >= n)
			return fail(f, "EFAULT into a good buffer");
		f->n.efault++;
		return true;
	case EAGAIN:
		if (!s->nonblock || !s->header_sent)
			return fail(f, "EAGAIN %s", s->nonblock ? "before the header" :
				    "without O_NONBLOCK");
		f->n.eagain++;
		return true;
	case EPIPE:
		if (!s->header_sent)
			return fail(f, "EPIPE before the header");
		follow_gap_ok(s);
		f->n.epipe++;
		return true;
	case EINTR:
		if (!may_block || s->nonblock || !s->header_sent)
			return fail(f, "EINTR from a read that cannot block");
		f->n.eintr++;
		return true;
	}
	return fail(f, "%s", res(ret, err));
}

/* ---- Operations ------------------------------------------------------------- */

static void timer_arm(bool on)
{
	struct itimerval it = { .it_value = { .tv_usec = on ? TIMER_MS * 1000 : 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static bool op_open(struct fuzz *f, struct slot *s)
{
	static const int accs[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };

	memset(s, 0, sizeof(*s));
	s->acc = accs[below(f, 4)];
	s->nonblock = below(f, 2);
	op_begin(f, "open %s%s", s->acc == O_RDONLY ? "O_RDONLY" :
		 s->acc == O_WRONLY ? "O_WRONLY" : "O_RDWR", s->nonblock ? "|O_NONBLOCK" : "");
	s->fd = open(TCPTRACE_DEVICE, s->acc | (s->nonblock ? O_NONBLOCK : 0) | O_CLOEXEC);
	if (s->fd < 0)
		return fail(f, "open: %s", strerror(errno));
	/* Most files that can follow do, half of them seeing every netns. */
	if (writable(s) && below(f, 2)) {
		if (write_cmd(s->fd, TCPTRACE_CMD_ALL_NETNS))
			return fail(f, "all-netns: %s", strerror(errno));
		s->all_netns = true;
	}
	if (writable(s) && below(f, 4)) {
		if (write_cmd(s->fd, TCPTRACE_CMD_FOLLOW))
			return fail(f, "follow: %s", strerror(errno));
		s->follow = true;
	}
	op_more(f, " -> fd %d%s%s", s->fd, s->all_netns ? ", all-netns" : "",
		s->follow ? ", follow" : "");
	return true;
}

static void op_close(struct fuzz *f, struct slot *s)
{
	op_begin(f, "close fd %d", s->fd);
	close(s->fd);
	slot_forget_snapshot(s);
	s->fd = -1;
}

static bool op_read(struct fuzz *f, struct slot *s, bool positional)
{
	enum buf_kind kind = kind_pick(f);
	size_t n = size_pick(f), mapped;
	long long off = 0, pos = s->pos;
	bool vfs_fault, may_block;
	char *buf;
	ssize_t ret;
	int err;

	if (kind == BUF_KERNEL && !n)
		n = 1;
	buf = buf_get(f, kind, n, &mapped);
	if (positional) {
		switch (below(f, 4)) {
		case 0: off = -(long long)below(f, 1000) - 1; break;
		case 1: off = LLONG_MAX - below(f, 100); break;
		default: off = below(f, s->snap_len + 100); break;
		}
		pos = off;
	}
	op_begin(f, "%s fd %d%s size %zu buf %s+%zu%s%s off %lld", positional ? "pread" : "read",
		 s->fd, s->follow ? " (follow)" : "", n, buf_names[kind], mapped,
		 s->nonblock ? " nonblock" : "", s->all_netns ? " all-netns" : "", off);
	may_block = s->follow && !s->nonblock;
	if (may_block)
		timer_arm(true);
	ret = positional ? pread(s->fd, buf, n, off) : read(s->fd, buf, n);
	err = errno;
	if (may_block)
		timer_arm(false);
	op_more(f, " -> %s", res(ret, err));

	/* What the VFS checks first (ksys_pread64(), vfs_read()). */
	if (positional && off < 0) {
		if (ret != -1 || err != EINVAL)
			return fail(f, "expected EINVAL for a negative offset");
		return true;
	}
	if (!readable(s)) {
		if (ret != -1 || err != EBADF)
			return fail(f, "expected EBADF");
		f->n.ebadf++;
		return true;
	}
	vfs_fault = kind == BUF_KERNEL || !user_range(buf, n);
	if (!vfs_fault && positional && (long long)((unsigned long long)off + n) < 0) {
		/* rw_verify_area(): pos + count overflows */
		if (ret != -1 || err != EINVAL)
			return fail(f, "expected EINVAL: offset + size overflows");
		return true;
	}
	if (n > (size_t)SSIZE_MAX && !vfs_fault)
		return fail(f, "a read of more than SSIZE_MAX passed access_ok()?");
	if (n > (INT_MAX & ~(f->page - 1)))
		n = INT_MAX & ~(f->page - 1);	/* MAX_RW_COUNT */
	if (s->follow)
		return follow_read_check(f, s, n, buf, mapped, vfs_fault, may_block, ret, err);
	/* A read takes the snapshot if it was not taken yet. */
	if (!snap_learn(f, s))
		return false;
	if (!snap_read_check(f, s, pos, n, buf, mapped, vfs_fault, ret, err))
		return false;
	if (!positional && ret > 0)
		s->pos += ret;
	return true;
}

/* Reading a snapshot from its start to its end as cat(1) does, in random sizes. */
static bool op_read_in_order(struct fuzz *f)
{
	/* A byte at a time is slow under emulation: one snapshot in ten. */
	size_t len = 0, cap = 0, chunk = below(f, 10) ? 2 + below(f, 8192) : 1;
	bool all_netns = below(f, 2);
	char *text = NULL;
	bool ok = true;
	int fd;

	op_begin(f, "a new snapshot read in order, %zu bytes a read%s", chunk,
		 all_netns ? ", all-netns" : "");
	fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(f, "open: %s", strerror(errno));
	if (all_netns && write_cmd(fd, TCPTRACE_CMD_ALL_NETNS))
		ok = fail(f, "all-netns: %s", strerror(errno));
	while (ok) {
		ssize_t n;

		if (cap - len < chunk) {
			cap = cap * 2 + chunk;
			text = realloc(text, cap);
			if (!text) {
				ok = fail(f, "out of memory");
				break;
			}
		}
		n = read(fd, text + len, chunk);
		if (n < 0)
			ok = fail(f, "read: %s", strerror(errno));
		if (n <= 0)
			break;
		len += n;
		if (len > READ_MAX)
			ok = fail(f, "the snapshot never ends");
	}
	if (ok)
		ok = snap_valid(f, text, len, all_netns);
	f->n.snap_bytes += len;
	free(text);
	close(fd);
	return ok;
}

static bool op_readv(struct fuzz *f, struct slot *s)
{
	static struct iovec iov[IOV_MAX + 1];
	int cnt = below(f, 4) ? 1 + below(f, IOV_MAX) : (below(f, 2) ? IOV_MAX : IOV_MAX + 1);
	size_t total = 0, max = below(f, 2) ? 64 : 2048, got;
	long long pos = s->pos;
	bool may_block = s->follow && !s->nonblock;
	char *base = f->big, *gather;
	ssize_t ret;
	int i, err;

	for (i = 0; i < cnt; i++) {
		iov[i].iov_len = below(f, 8) ? below(f, max) : 0;
		iov[i].iov_base = base + total;
		total += iov[i].iov_len;
	}
	op_begin(f, "readv fd %d%s, %d iovecs, %zu bytes", s->fd, s->follow ? " (follow)" : "",
		 cnt, total);
	if (may_block)
		timer_arm(true);
	ret = readv(s->fd, iov, cnt);
	err = errno;
	if (may_block)
		timer_arm(false);
	if (cnt > IOV_MAX) {
		/* Which comes first differs: 6.12's vfs_readv() checks the mode. */
		if (ret != -1 || (err != EINVAL && (readable(s) || err != EBADF)))
			return fail(f, "%s, expected EINVAL for more than IOV_MAX iovecs",
				    res(ret, err));
		return true;
	}
	if (!readable(s)) {
		if (ret != -1 || err != EBADF)
			return fail(f, "%s, expected EBADF", res(ret, err));
		return true;
	}
	/* The iovecs are contiguous: the bytes read are at base. */
	gather = base;
	if (s->follow) {
		/*
		 * One read per iovec until one is short or fails: whole
		 * records, or the first read's error. A first iovec of 0
		 * bytes is a read of 0 bytes: EINVAL if something is there.
		 */
		if (ret >= 0 && (size_t)ret > total)
			return fail(f, "%s bytes into %zu", res(ret, err), total);
		if (ret >= 0)
			return follow_data(f, s, gather, ret, false);
		return follow_read_check(f, s, iov[0].iov_len, gather, iov[0].iov_len, false,
					 may_block, ret, err);
	}
	if (!snap_learn(f, s))
		return false;
	got = pos < (long long)s->snap_len ? s->snap_len - pos : 0;
	if (got > total)
		got = total;
	if (ret != (ssize_t)got)
		return fail(f, "%s, expected %zu", res(ret, err), got);
	if (memcmp(gather, s->snap + pos, got))
		return fail(f, "readv's bytes differ from the snapshot's at %lld", pos);
	s->pos += got;
	return true;
}

/*
 * fixed_size_llseek(): SEEK_SET, SEEK_CUR and SEEK_END within the
 * snapshot's size (generic_file_llseek_size() with it as both bounds);
 * SEEK_DATA and SEEK_HOLE are EINVAL.
 */
static long long snap_seek_expect(const struct slot *s, long long off, int whence, int *err)
{
	__int128 to;

	*err = 0;
	switch (whence) {
	case SEEK_SET:
		to = off;
		break;
	case SEEK_CUR:
		if (!off)
			return s->pos;
		to = (__int128)s->pos + off;
		break;
	case SEEK_END:
		to = (__int128)s->snap_len + off;
		break;
	default:
		*err = EINVAL;
		return -1;
	}
	if (to < 0 || to > (__int128)s->snap_len) {
		*err = EINVAL;
		return -1;
	}
	return (long long)to;
}

static bool op_lseek(struct fuzz *f, struct slot *s)
{
	static const int whences[] = {
		SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, 5, 6, 100, -1, INT_MAX,
	};
	int whence = below(f, 4) ? (int)below(f, 5) : whences[below(f, 10)];
	long long off, len = s->known ? (long long)s->snap_len : 20000, want;
	off_t ret;
	int err, want_err;

	switch (below(f, 8)) {
	case 0: off = 0; break;
	case 1: off = (long long)below(f, 21) - 10; break;
	case 2: off = len - 1 + below(f, 3); break;
	case 3: off = -len + (long long)below(f, 3) - 1; break;
	case 4: off = below(f, 2) ? LLONG_MAX : LLONG_MIN; break;
	case 5: off = (long long)rnd(f); break;
	default: off = (long long)below(f, 2 * len + 20) - len - 10; break;
	}
	if (s->follow && below(f, 2))
		off = 0;
	op_begin(f, "lseek fd %d%s off %lld whence %d", s->fd, s->follow ? " (follow)" : "",
		 off, whence);
	ret = lseek(s->fd, off, whence);
	err = errno;
	op_more(f, " -> %s", res(ret, err));

	if (whence < 0 || whence > SEEK_MAX) {
		/* ksys_lseek() refuses it before the device sees it. */
		if (ret != -1 || err != EINVAL)
			return fail(f, "expected EINVAL for whence %d", whence);
		return true;
	}
	if (s->follow) {
		if (off || (whence != SEEK_SET && whence != SEEK_END)) {
			if (ret != -1 || err != EINVAL)
				return fail(f, "expected EINVAL");
			return true;
		}
		if (ret != 0)
			return fail(f, "expected 0");
		/* SEEK_SET: back to the oldest held; SEEK_END: past the newest. */
		if (whence == SEEK_SET)
			s->have_last = false;
		follow_gap_ok(s);
		return true;
	}
	/* A seek takes the snapshot if it was not taken yet. */
	if (!snap_learn(f, s))
		return false;
	want = snap_seek_expect(s, off, whence, &want_err);
	if (want_err ? ret != -1 || err != want_err : ret != want)
		return fail(f, "expected %s (snapshot of %zu bytes, position %lld)",
			    res(want, want_err), s->snap_len, s->pos);
	if (ret >= 0)
		s->pos = ret;
	return true;
}

/* ---- Commands ------------------------------------------------------------- */

enum effect { EFF_NONE, EFF_CLEAR, EFF_FOLLOW, EFF_ALL_NETNS, EFF_PORTS, EFF_NETNS };

/* [0-9]+ up to @max: a value of the command grammar. */
static bool parse_dec(const char *s, size_t n, unsigned long long max, unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
		if (x > max)
			return false;
	}
	*v = x;
	return true;
}

/*
 * What writing @len bytes of @cmd must do, from Documentation/tcptrace.rst
 * ("Writing commands"): one command, optionally followed by one newline;
 * ports from 1 to 65535, single or as ranges LO-HI with LO <= HI, joined
 * by commas; a netns as a decimal inode number (32 bits); 64 bytes or more
 * are EINVAL. Returns the errno (0: accepted), the effect in *@eff, and
 * for ports= how many ports it keeps, for netns= the inode, in *@val.
 */
static int cmd_expect(const char *cmd, size_t len, enum effect *eff, unsigned long long *val)
{
	static unsigned char ports[65536 / 8];
	const char *p, *end;
	unsigned long long lo, hi, i;

	*eff = EFF_NONE;
	*val = 0;
	if (len >= CMD_MAX)
		return EINVAL;
	if (len && cmd[len - 1] == '\n')
		len--;
	/* One command: nothing but printable characters, no space. */
	for (i = 0; i < len; i++)
		if (cmd[i] <= ' ' || cmd[i] > '~')
			return EINVAL;
#define IS(word) (len == strlen(word) && !memcmp(cmd, word, len))
#define PREFIX(word) (len >= strlen(word) && !memcmp(cmd, word, strlen(word)))
	if (IS(TCPTRACE_CMD_CLEAR)) {
		*eff = EFF_CLEAR;
		return 0;
	}
	if (IS(TCPTRACE_CMD_FOLLOW)) {
		*eff = EFF_FOLLOW;
		return 0;
	}
	if (IS(TCPTRACE_CMD_ALL_NETNS)) {
		*eff = EFF_ALL_NETNS;
		return 0;
	}
	if (PREFIX(TCPTRACE_CMD_NETNS)) {
		p = cmd + strlen(TCPTRACE_CMD_NETNS);
		if (!parse_dec(p, cmd + len - p, 0xffffffffULL, val))
			return EINVAL;
		*eff = EFF_NETNS;
		return 0;
	}
	if (!PREFIX(TCPTRACE_CMD_PORTS))
		return EINVAL;
	p = cmd + strlen(TCPTRACE_CMD_PORTS);
	end = cmd + len;
	*eff = EFF_PORTS;
	if (p == end)
		return 0;	/* every port again */
	memset(ports, 0, sizeof(ports));
	for (;;) {
		const char *comma = memchr(p, ',', end - p), *item_end = comma ? comma : end;
		const char *dash = memchr(p, '-', item_end - p);

		if (!parse_dec(p, (dash ? dash : item_end) - p, 65535, &lo) || !lo)
			return EINVAL;
		hi = lo;
		if (dash && (!parse_dec(dash + 1, item_end - dash - 1, 65535, &hi) || hi < lo))
			return EINVAL;
		for (i = lo; i <= hi; i++)
			ports[i / 8] |= 1 << (i % 8);
		if (!comma)
			break;
		p = comma + 1;
	}
	for (i = 0; i < 65536; i++)
		*val += !!(ports[i / 8] & (1 << (i % 8)));
	return 0;
#undef IS
#undef PREFIX
}

/* A command to write: valid, almost valid, token soup, random bytes, too long. */
static size_t cmd_pick(struct fuzz *f, char *cmd, size_t size)
{
	static const char *const fixed[] = {
		"clear", "clear\n", "follow", "follow\n", "follow\n\n", "all-netns",
		"all-netns\n", "ports=", "ports=\n", "ports=0", "ports=70000",
		"ports=65536", "ports=65535", "ports=1-65535", "ports=5-3", "ports=1,",
		"ports=,1", "ports=1-", "ports=-1", "ports=1--2", "ports=80 ",
		"ports=80,443,8000-8099", "ports=1-2-3", "ports=1,,2", "ports=080",
		"ports=+80", "ports=80\n\n", "ports=80\n,443", "ports=0x50", "ports= 80",
		"netns=", "netns=abc", "netns=0", "netns=1", "netns=4294967295",
		"netns=4294967296", "netns=-1", "netns=1 2", "netns=+0", "netns=00",
		"netns=0\n\n", "", "\n", "\n\n", "CLEAR", " clear", "clear ",
		"clear\r\n", "follo", "followw", "all-netns=1", "all_netns", "portsx=1",
		"netns", "ports", "clear\nclear",
	};
	static const char *const tokens[] = {
		"ports=", "netns=", "clear", "follow", "all-netns", ",", "-", "\n",
		" ", "=", "0", "1", "65535", "65536", "4294967295", "99999999999",
	};
	size_t len = 0, i, n;

	switch (below(f, 10)) {
	case 0: case 1: case 2: case 3:
		i = below(f, sizeof(fixed) / sizeof(fixed[0]));
		return snprintf(cmd, size, "%s", fixed[i]);
	case 4:		/* a NUL inside: "clear\0x" is not "clear" */
		len = snprintf(cmd, size, "%s", below(f, 2) ? "clear" : "follow");
		cmd[len++] = '\0';
		if (below(f, 2))
			cmd[len++] = 'x';
		return len;
	case 5: case 6:	/* token soup */
		for (n = 1 + below(f, 6); n--;) {
			const char *t = tokens[below(f, sizeof(tokens) / sizeof(tokens[0]))];

			if (below(f, 3) == 0) {
				len += snprintf(cmd + len, size - len, "%llu",
						(unsigned long long)below(f, 70000));
			} else if (len + strlen(t) < size) {
				memcpy(cmd + len, t, strlen(t));
				len += strlen(t);
			}
		}
		return len;
	case 7: case 8:	/* random bytes */
		len = below(f, 80);
		for (i = 0; i < len; i++)
			cmd[i] = (char)rnd(f);
		return len;
	default:	/* too long, starting like a command */
		len = snprintf(cmd, size, "%s", below(f, 2) ? "clear" : "ports=1");
		n = CMD_MAX - 2 + below(f, 100);
		while (len < n && len < size)
			cmd[len++] = below(f, 2) ? ' ' : ',';
		return len;
	}
}

/* The header as a new reader sees it now. */
static bool header_now(struct fuzz *f, struct hdr *h)
{
	char buf[2 * TCPTRACE_LINE_MAX], *nl;
	const char *err;
	ssize_t n;
	int fd = open(TCPTRACE_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(f, "open: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return fail(f, "reading the header: %s", res(n, errno));
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (!nl)
		return fail(f, "no header line");
	*nl = '\0';
	memset(h, 0, sizeof(*h));
	err = parse_header(h, buf);
	if (err)
		return fail(f, "header: %s: %s", err, buf);
	return true;
}

/* A filter the fuzzer set: the header must show it; then keep everything again. */
static bool filter_check_reset(struct fuzz *f, enum effect eff, unsigned long long val)
{
	struct hdr h;

	if (!header_now(f, &h))
		return false;
	if (eff == EFF_PORTS && h.filter_ports != val)
		return fail(f, "the header shows filter_ports=%llu, the command keeps %llu",
			    h.filter_ports, val);
	if (eff == EFF_NETNS && h.filter_netns != val)
		return fail(f, "the header shows filter_netns=%llu, the command set %llu",
			    h.filter_netns, val);
	if (dev_write(TCPTRACE_CMD_PORTS, strlen(TCPTRACE_CMD_PORTS)) ||
	    dev_write(TCPTRACE_CMD_NETNS "0", strlen(TCPTRACE_CMD_NETNS "0")))
		return fail(f, "resetting the filters: %s", strerror(errno));
	return true;
}

static bool op_write(struct fuzz *f, struct slot *s)
{
	char cmd[256], shown[512];
	enum buf_kind kind = kind_pick(f);
	enum effect eff = EFF_NONE;
	unsigned long long val = 0;
	size_t len, n, mapped, i, o = 0;
	bool positional = !below(f, 8);
	long long off = positional && !below(f, 4) ? -1 : 0;
	int want, err;
	ssize_t ret;
	char *buf;

	len = cmd_pick(f, cmd, sizeof(cmd));
	n = len;
	switch (below(f, 20)) {
	case 0: n = BIG; break;				/* from a good buffer */
	case 1: n = (size_t)SSIZE_MAX; break;		/* access_ok() refuses */
	default: break;
	}
	buf = buf_get(f, kind, n, &mapped);
	if (kind == BUF_GOOD || kind == BUF_PARTIAL)
		memcpy(buf, cmd, len < mapped ? len : mapped);
	if (kind == BUF_PROT_READ) {
		/* It holds "follow\n" and zeros: a valid source. */
		n = below(f, 2) ? 6 + below(f, 2) : below(f, 100);
		len = n;
		memcpy(cmd, buf, n);
	}
	for (i = 0; i < len && i < 60 && o + 5 < sizeof(shown); i++)
		o += snprintf(shown + o, sizeof(shown) - o,
			      cmd[i] > ' ' && cmd[i] <= '~' && cmd[i] != '\\' ? "%c" : "\\x%02x",
			      (unsigned char)cmd[i]);
	shown[o] = '\0';
	op_begin(f, "%s fd %d%s \"%s\" (%zu bytes) size %zu buf %s+%zu off %lld",
		 positional ? "pwrite" : "write", s->fd, s->follow ? " (follow)" : "", shown,
		 len, n, buf_names[kind], mapped, off);
	ret = positional ? pwrite(s->fd, buf, n, off) : write(s->fd, buf, n);
	err = errno;
	op_more(f, " -> %s", res(ret, err));

	/* ksys_pwrite64(), vfs_write(), then the device. */
	if (positional && off < 0)
		want = EINVAL;
	else if (!writable(s))
		want = EBADF;
	else if (kind == BUF_KERNEL || !user_range(buf, n))
		want = EFAULT;
	else if (n >= CMD_MAX)
		want = EINVAL;
	else if (n > mapped && kind != BUF_PROT_READ)
		want = n ? EFAULT : EINVAL;	/* copy_from_user() fails; "" is no command */
	else
		want = cmd_expect(cmd, n, &eff, &val);
	if (want ? ret != -1 || err != want : ret != (ssize_t)n)
		return fail(f, "expected %s", want ? errname(want) : "the size written");
	if (want) {
		f->n.ebadf += want == EBADF;
		f->n.efault += want == EFAULT;
		return true;
	}
	f->n.writes_ok++;
	switch (eff) {
	case EFF_FOLLOW:
		if (!s->follow) {
			slot_forget_snapshot(s);
			s->follow = true;
			s->have_last = false;
			follow_gap_ok(s);
		}
		break;
	case EFF_ALL_NETNS:
		if (!s->all_netns && s->follow)
			follow_gap_ok(s);
		/* a snapshot already taken stays as it was */
		s->all_netns = true;
		break;
	case EFF_PORTS:
	case EFF_NETNS:
		return filter_check_reset(f, eff, val);
	default:
		break;
	}
	return true;
}

/* ---- poll(), ioctl(), and the rest ------------------------------------------- */

static bool op_poll(struct fuzz *f, struct slot *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLPRI | POLLRDNORM };
	const short mask = POLLIN | POLLPRI | POLLRDNORM | POLLERR;
	int ready = poll(&pfd, 1, below(f, 4) ? 0 : 50);
	size_t n = TCPTRACE_LINE_MAX + below(f, 65536), mapped;
	char *buf;
	ssize_t ret;
	int err;

	op_begin(f, "poll fd %d%s -> %d revents 0x%x", s->fd, s->follow ? " (follow)" : "",
		 ready, pfd.revents);
	if (ready < 0)
		return fail(f, "poll: %s", strerror(errno));
	if (!s->follow) {
		if ((pfd.revents & mask) != (POLLIN | POLLRDNORM))
			return fail(f, "a snapshot polls 0x%x, expected POLLIN|POLLRDNORM",
				    pfd.revents);
		return true;
	}
	if (!s->header_sent && !(pfd.revents & POLLIN))
		return fail(f, "the header is there to read, yet no POLLIN");
	if ((pfd.revents & POLLERR) && (pfd.revents & (POLLIN | POLLPRI)) != (POLLIN | POLLPRI))
		return fail(f, "POLLERR without POLLIN|POLLPRI");
	if (!readable(s) || !(pfd.revents & POLLIN))
		return true;
	/* The read that poll() promised: it neither blocks nor says EAGAIN. */
	buf = buf_get(f, BUF_GOOD, n, &mapped);
	if (!s->nonblock)
		timer_arm(true);
	ret = read(s->fd, buf, n);
	err = errno;
	if (!s->nonblock)
		timer_arm(false);
	op_more(f, "; read %zu -> %s", n, res(ret, err));
	if (ret < 0 && (err == EAGAIN || err == EINTR))
		return fail(f, "POLLIN, then read() gives %s", errname(err));
	if ((pfd.revents & POLLERR) && s->header_sent && (ret != -1 || err != EPIPE))
		return fail(f, "POLLERR, then read() gives %s, not EPIPE", res(ret, err));
	return follow_read_check(f, s, n, buf, mapped, false, false, ret, err);
}

/* Numbers fs/ioctl.c do_vfs_ioctl() answers itself, for any file. */
static bool ioctl_of_vfs(unsigned long cmd)
{
	static const unsigned long vfs[] = {
		FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE, FIFREEZE, FITHAW,
		FS_IOC_FIEMAP, FIGETBSZ, FICLONE, FICLONERANGE, FIDEDUPERANGE,
		FIONREAD, FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IOC_FSGETXATTR,
		FS_IOC_FSSETXATTR, FS_IOC_GETFSUUID, FS_IOC_GETFSSYSFSPATH,
	};
	size_t i;

	for (i = 0; i < sizeof(vfs) / sizeof(vfs[0]); i++)
		if ((unsigned int)cmd == (unsigned int)vfs[i])
			return true;
	return false;
}

static bool op_ioctl(struct fuzz *f, struct slot *s)
{
	unsigned long cmd, arg;
	int ret, err;

	do {
		switch (below(f, 3)) {
		case 0:
			cmd = (unsigned int)rnd(f);
			break;
		case 1:		/* _IOC(dir, type, nr, size) of random fields */
			cmd = _IOC(below(f, 4), below(f, 256), below(f, 256), below(f, 1 << 14));
			break;
		default:	/* small numbers, tty ones among them */
			cmd = below(f, 2) ? below(f, 0x100) : 0x5400 + below(f, 0x100);
			break;
		}
	} while (ioctl_of_vfs(cmd));
	switch (below(f, 4)) {
	case 0: arg = 0; break;
	case 1: arg = (unsigned long)f->big; break;
	case 2: arg = (unsigned long)f->unmapped; break;
	default: arg = rnd(f); break;
	}
	op_begin(f, "ioctl fd %d cmd 0x%lx arg 0x%lx", s->fd, cmd, arg);
	ret = ioctl(s->fd, cmd, arg);
	err = errno;
	if (ret != -1 || err != ENOTTY)
		return fail(f, "%s, expected ENOTTY", res(ret, err));
	f->n.enotty++;
	return true;
}

/* Data that splice() or sendfile() may have moved into the pipe: the device's. */
static bool pipe_data(struct fuzz *f, struct slot *s, ssize_t ret)
{
	char *buf = f->big;
	ssize_t got = 0, n;

	while (got < ret && (n = read(f->pipe[0], buf + got, ret - got)) > 0)
		got += n;
	if (got != ret)
		return fail(f, "the pipe holds %zd bytes, not %zd", got, ret);
	if (s->follow)
		return follow_data(f, s, buf, ret, false);
	if (!snap_learn(f, s))
		return false;
	if (s->pos + ret > (long long)s->snap_len || memcmp(buf, s->snap + s->pos, ret))
		return fail(f, "the pipe's bytes are not the snapshot's");
	s->pos += ret;
	return true;
}

/* File operations the device does not have: a clean error, or the device's data. */
static bool op_other(struct fuzz *f, struct slot *s)
{
	static const int prots[] = {
		PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE, PROT_EXEC, PROT_NONE,
	};
	int which = below(f, 8), prot, flags, err;
	long long ret;
	loff_t in_off;
	void *p;

	switch (which) {
	case 0:
		prot = prots[below(f, 5)];
		flags = below(f, 2) ? MAP_SHARED : MAP_PRIVATE;
		op_begin(f, "mmap fd %d prot %d %s", s->fd, prot,
			 flags == MAP_SHARED ? "MAP_SHARED" : "MAP_PRIVATE");
		p = mmap(NULL, f->page, prot, flags, s->fd, 0);
		err = errno;
		if (p != MAP_FAILED) {
			munmap(p, f->page);
			return fail(f, "mmap() of the device succeeded");
		}
		/* mm/mmap.c do_mmap(): the file's mode first, then ->mmap. */
		if ((flags == MAP_SHARED && (prot & PROT_WRITE) && !writable(s)) ||
		    !readable(s)) {
			if (err != EACCES)
				return fail(f, "%s, expected EACCES", errname(err));
		} else if (err != ENODEV && !(err == EPERM && (prot & PROT_EXEC))) {
			return fail(f, "%s, expected ENODEV", errname(err));
		}
		return true;
	case 1:
		op_begin(f, "fsync fd %d", s->fd);
		ret = fsync(s->fd);
		err = errno;
		break;
	case 2:
		op_begin(f, "fdatasync fd %d", s->fd);
		ret = fdatasync(s->fd);
		err = errno;
		break;
	case 3:
		op_begin(f, "ftruncate fd %d", s->fd);
		ret = ftruncate(s->fd, below(f, 100));
		err = errno;
		break;
	case 4:
		op_begin(f, "fallocate fd %d", s->fd);
		ret = fallocate(s->fd, 0, 0, f->page);
		err = errno;
		if (ret != -1 || err != (writable(s) ? ENODEV : EBADF))
			return fail(f, "%s, expected %s", res(ret, err),
				    writable(s) ? "ENODEV" : "EBADF");
		return true;
	case 5:
		op_begin(f, "splice fd %d to a pipe", s->fd);
		ret = splice(s->fd, NULL, f->pipe[1], NULL, 1 + below(f, 65536),
			     SPLICE_F_NONBLOCK);
		err = errno;
		if (ret >= 0)
			return pipe_data(f, s, ret);
		if (!readable(s) ? err != EBADF : err != EINVAL)
			return fail(f, "%s, expected %s or data", res(ret, err),
				    readable(s) ? "EINVAL" : "EBADF");
		return true;
	case 6:
		op_begin(f, "sendfile fd %d to a pipe", s->fd);
		ret = sendfile(f->pipe[1], s->fd, NULL, 1 + below(f, 65536));
		err = errno;
		if (ret >= 0)
			return pipe_data(f, s, ret);
		if (!readable(s) ? err != EBADF : err != EINVAL)
			return fail(f, "%s, expected %s or data", res(ret, err),
				    readable(s) ? "EINVAL" : "EBADF");
		return true;
	default:
		in_off = 0;
		op_begin(f, "copy_file_range fd %d to a regular file", s->fd);
		ret = copy_file_range(s->fd, below(f, 2) ? &in_off : NULL, f->tmp, NULL,
				      1 + below(f, 65536), 0);
		err = errno;
		if (ret >= 0)
			return fail(f, "copy_file_range() copied %lld bytes from a device", ret);
		if (err != EINVAL)
			return fail(f, "%s, expected EINVAL", res(ret, err));
		return true;
	}
	/* fsync(), fdatasync(), ftruncate(): not for a character device. */
	if (ret != -1 || err != EINVAL)
		return fail(f, "%s, expected EINVAL", res(ret, err));
	return true;
}

static bool op_nonblock(struct fuzz *f, struct slot *s)
{
	int fl = fcntl(s->fd, F_GETFL);

	s->nonblock = !s->nonblock;
	op_begin(f, "fcntl fd %d %s", s->fd, s->nonblock ? "O_NONBLOCK" : "blocking");
	if (fl < 0 || fcntl(s->fd, F_SETFL, s->nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		return fail(f, "fcntl: %s", strerror(errno));
	return true;
}

/* One operation on a random open file. */
static bool fuzz_step(struct fuzz *f)
{
	struct slot *s = &f->slot[below(f, NSLOTS)];
	unsigned int op = below(f, 100);

	if (s->fd < 0)
		return op_open(f, s);
	if (op < 2) {
		op_close(f, s);
		return true;
	}
	if (op < 30)
		return op_read(f, s, false);
	if (op < 36)
		return op_read(f, s, true);
	if (op < 38)
		return op_read_in_order(f);
	if (op < 43)
		return op_readv(f, s);
	if (op < 58)
		return op_write(f, s);
	if (op < 70)
		return op_lseek(f, s);
	if (op < 80)
		return op_poll(f, s);
	if (op < 87)
		return op_ioctl(f, s);
	if (op < 95)
		return op_other(f, s);
	return op_nonblock(f, s);
}

/* Read what a follower has left, without blocking, checking it as ever. */
static bool follow_drain(struct fuzz *f, struct slot *s)
{
	size_t mapped;
	char *buf = buf_get(f, BUF_GOOD, 1 << 20, &mapped);

	if (!s->nonblock && !op_nonblock(f, s))
		return false;
	op_begin(f, "drain fd %d", s->fd);
	for (;;) {
		ssize_t ret = read(s->fd, buf, mapped);
		int err = errno;

		if (ret < 0 && err == EAGAIN)
			return true;
		if (!follow_read_check(f, s, mapped, buf, mapped, false, false, ret, err))
			return false;
	}
}

/* ---- The fixture ---------------------------------------------------------- */

FIXTURE(fuzz) {
	bool skip;
	int admin;	/* opened in the initial netns: it may set the filters */
	int kmsg;
	pid_t workload;
	unsigned long long live_before;	/* live histories before the workload */
};

/* The live histories the header counts, or ~0 if it cannot be read. */
static unsigned long long live_histories(void)
{
	char buf[2 * TCPTRACE_LINE_MAX], *nl;
	struct hdr h = { 0 };
	ssize_t n;
	int fd = open(TCPTRACE_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ~0ULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ~0ULL;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (!nl)
		return ~0ULL;
	*nl = '\0';
	return parse_header(&h, buf) ? ~0ULL : h.live;
}

/* A test that failed midway may have left a filter on. */
static int filters_off(int admin)
{
	if (write_cmd(admin, TCPTRACE_CMD_PORTS) || write_cmd(admin, TCPTRACE_CMD_NETNS "0"))
		return -1;
	return 0;
}

FIXTURE_SETUP(fuzz)
{
	const char *why = module_ensure(MODULE_PARAMS);

	self->kmsg = -1;
	if (why) {
		self->skip = true;
		SKIP(return, "%s", why);
	}
	self->admin = open(TCPTRACE_DEVICE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, self->admin) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, filters_off(self->admin)) TH_LOG("%s", strerror(errno));
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg) TH_LOG("/dev/kmsg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fuzz)
{
	char line[1024];
	long long start;

	if (self->skip)
		return;
	if (self->workload > 0) {
		kill(-self->workload, SIGKILL);
		waitpid(self->workload, NULL, 0);
		/*
		 * Its netns goes away, and its sockets with it: wait until
		 * their histories are done, so that they do not complete in
		 * the middle of the next test.
		 */
		for (start = now_ms(); now_ms() - start < 60000; usleep(50000))
			if (live_histories() <= self->live_before)
				break;
	}
	/* Plain ifs: after a failed ASSERT, an EXPECT's handler would run anyway. */
	if (filters_off(self->admin)) {
		TH_LOG("resetting the filters: %s", strerror(errno));
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

#define SKIPPED_IN_SETUP() do { if (self->skip) return; } while (0)

static void signals_setup(struct __test_metadata *_metadata, int sig, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(sig, &sa, NULL));
}

/* tcptrace_workload in a netns of its own, in a process group of its own. */
static pid_t workload_start(struct __test_metadata *_metadata, unsigned long long seed)
{
	char path[PATH_MAX], s[32];
	pid_t pid;

	workload_path(path, sizeof(path));
	ASSERT_EQ(0, access(path, X_OK)) TH_LOG("%s: %s", path, strerror(errno));
	snprintf(s, sizeof(s), "%llu", seed);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		setpgid(0, 0);
		execl(path, path, "-N", "-n", "100000000", "-j", "1", "-s", s, "-m", "all",
		      (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

static void fuzz_init(struct __test_metadata *_metadata, struct fuzz *f, uint64_t seed)
{
	char *p;
	int i;

	memset(f, 0, sizeof(*f));
	f->rng = seed;
	f->page = sysconf(_SC_PAGESIZE);
	f->netns = netns_inode();
	for (i = 0; i < NSLOTS; i++)
		f->slot[i].fd = -1;
	/* BIG bytes, then a page that faults (PROT_NONE: nothing can map there). */
	p = mmap(NULL, BIG + f->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + BIG, f->page, PROT_NONE));
	f->big = p;
	/* An unmapped page, a PROT_NONE one, a PROT_READ one holding "follow\n". */
	p = mmap(NULL, 3 * f->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	f->unmapped = p;
	ASSERT_EQ(0, munmap(f->unmapped, f->page));
	f->prot_none = p + f->page;
	ASSERT_EQ(0, mprotect(f->prot_none, f->page, PROT_NONE));
	f->prot_read = p + 2 * f->page;
	memcpy(f->prot_read, "follow\n", 7);
	ASSERT_EQ(0, mprotect(f->prot_read, f->page, PROT_READ));
	ASSERT_EQ(0, pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC));
	{
		char tmp[] = "/tmp/tcptrace_fuzz.XXXXXX";

		f->tmp = mkostemp(tmp, O_CLOEXEC);
		ASSERT_LE(0, f->tmp) TH_LOG("%s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
	signals_setup(_metadata, SIGALRM, 0);	/* no SA_RESTART: EINTR */
}

static void fuzz_fini(struct fuzz *f)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		if (f->slot[i].fd >= 0)
			close(f->slot[i].fd);
		free(f->slot[i].snap);
	}
	munmap(f->big, BIG + f->page);
	munmap(f->prot_none, 2 * f->page);
	close(f->pipe[0]);
	close(f->pipe[1]);
	close(f->tmp);
}

static unsigned long long env_number(const char *name, unsigned long long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/* ---- In network namespaces of the test's own ------------------------------- */

/*
 * A follower that has read its header, past the histories held: a netns
 * inode number may be one an earlier netns had, whose histories a reader
 * of this one would see.
 */
static int follower(struct __test_metadata *_metadata, int flags)
{
	char buf[TCPTRACE_LINE_MAX + 1];
	ssize_t n;
	int fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC | flags);

	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_FOLLOW)) TH_LOG("%s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, strncmp(buf, TCPTRACE_HEADER_TAG " ", strlen(TCPTRACE_HEADER_TAG) + 1));
	ASSERT_EQ('\n', buf[n - 1]);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END)) TH_LOG("%s", strerror(errno));
	return fd;
}

/* The record of the refused connect of @cookie, alone in @buf. */
static void assert_refused_record(struct __test_metadata *_metadata, char *buf, ssize_t n,
				  unsigned long long cookie)
{
	struct dump d;

	ASSERT_LT(0, n);
	memset(&d, 0, sizeof(d));
	d.raw = strndup(buf, n);
	d.len = n;
	ASSERT_EQ(0, dump_parse_lines(&d, false)) TH_LOG("%s", d.err);
	ASSERT_EQ(1, (int)d.nrecs) TH_LOG("%.*s", (int)n, buf);
	ASSERT_TRUE(d.recs[0].done);
	ASSERT_EQ(cookie, d.recs[0].id) TH_LOG("%s", d.recs[0].line);
	ASSERT_EQ(TCPTRACE_END_REFUSED, d.recs[0].end) TH_LOG("%s", d.recs[0].line);
	dump_free(&d);
}

/*
 * A netns inode number is reused once its namespace is gone: a reader of
 * a new namespace that got the number of an old one must not see the old
 * one's histories ("A reader sees only the histories of the namespace it
 * was opened in").
 */
TEST_F_TIMEOUT(fuzz, reused_netns_inode, 120)
{
	unsigned long long old_ns, cookie;
	int init_fd, fd, i, held[64], nheld = 0;
	char buf[4096];
	struct dump d;
	long long start;

	SKIPPED_IN_SETUP();
	init_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, init_fd);
	ASSERT_EQ(0, netns_new()) TH_LOG("%s", strerror(errno));
	old_ns = netns_inode();
	cookie = refused_connect();
	ASSERT_NE(0ULL, cookie) TH_LOG("%s", strerror(errno));
	/*
	 * Leave it: nothing holds it, it goes away. A new netns takes the
	 * lowest free number: hold those below the old one until it comes.
	 */
	ASSERT_EQ(0, setns(init_fd, CLONE_NEWNET));
	for (start = now_ms();;) {
		unsigned long long ns;

		ASSERT_EQ(0, netns_new()) TH_LOG("%s", strerror(errno));
		ns = netns_inode();
		if (ns == old_ns)
			break;
		if (ns < old_ns && nheld < (int)(sizeof(held) / sizeof(held[0])))
			held[nheld++] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		ASSERT_EQ(0, setns(init_fd, CLONE_NEWNET));
		/* A netns is freed by a work item that may be busy with earlier ones. */
		if (now_ms() - start > 90000)
			SKIP(return, "no new netns got inode %llu again in 90 s", old_ns);
		if (ns > old_ns)
			usleep(100000);	/* the old one is not freed yet */
	}
	close(init_fd);
	while (nheld)
		close(held[--nheld]);

	/* A snapshot, and a follower from the oldest history held: nothing. */
	memset(&d, 0, sizeof(d));
	d.raw = read_dev(65536, &d.len);
	ASSERT_NE(NULL, d.raw);
	ASSERT_EQ(0, dump_parse(&d)) TH_LOG("%s", d.err);
	for (i = 0; i < (int)d.nrecs; i++) {
		const char *line = d.recs[i].line;

		ASSERT_NE(cookie, d.recs[i].id)
			TH_LOG("a reader of the new netns %llu sees the old one's: %s", old_ns,
			       line);
	}
	ASSERT_EQ(0, (int)d.nrecs) TH_LOG("%s", d.raw);
	dump_free(&d);
	fd = follower(_metadata, O_NONBLOCK);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf))) TH_LOG("%s", buf);
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

/* Nothing new: EAGAIN, and poll() says so; one history: POLLIN, and it. */
TEST_F(fuzz, nonblocking_follower)
{
	struct pollfd pfd = { .events = POLLIN | POLLPRI };
	char buf[4096];
	unsigned long long cookie;
	ssize_t n;
	int i;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, netns_new()) TH_LOG("%s", strerror(errno));
	pfd.fd = follower(_metadata, O_NONBLOCK);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(-1, read(pfd.fd, buf, sizeof(buf)));
		ASSERT_EQ(EAGAIN, errno);
		ASSERT_EQ(-1, read(pfd.fd, buf, 0)) TH_LOG("a read of 0 bytes");
		ASSERT_EQ(EAGAIN, errno);
		ASSERT_EQ(0, poll(&pfd, 1, i * 50)) TH_LOG("revents 0x%x", pfd.revents);
	}
	cookie = refused_connect();
	ASSERT_NE(0ULL, cookie) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(POLLIN, pfd.revents);
	/* Smaller than the record: EINVAL, and it stays for the next read. */
	ASSERT_EQ(-1, read(pfd.fd, buf, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(pfd.fd, buf, 10));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	n = read(pfd.fd, buf, sizeof(buf));
	assert_refused_record(_metadata, buf, n, cookie);
	ASSERT_EQ(-1, read(pfd.fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents 0x%x", pfd.revents);
	close(pfd.fd);
}

struct blocked {
	pthread_t thread;
	pid_t tid;
	int fd;
	int what;		/* SYS_read, SYS_lseek or SYS_write */
	volatile bool done;
	ssize_t ret;
	int err;
	char buf[4096];
};

static void *blocked_call(void *arg)
{
	struct blocked *b = arg;

	b->tid = syscall(SYS_gettid);
	if (b->what == SYS_read)
		b->ret = read(b->fd, b->buf, sizeof(b->buf));
	else if (b->what == SYS_lseek)
		b->ret = lseek(b->fd, 0, SEEK_END);
	else
		b->ret = write(b->fd, TCPTRACE_CMD_FOLLOW, strlen(TCPTRACE_CMD_FOLLOW));
	b->err = errno;
	b->done = true;
	return NULL;
}

/*
 * Wait until the thread sleeps in its system call: /proc shows its number
 * and first argument (the fd) while it is in one.
 */
static void wait_blocked(struct __test_metadata *_metadata, struct blocked *b,
			 const struct blocked *first)
{
	char path[64], line[256], want[64];
	long long start = now_ms();

	snprintf(want, sizeof(want), "%d 0x%x ", b->what, b->fd);
	for (;;) {
		FILE *fp;
		bool in = false;

		ASSERT_FALSE(b->done) {
			TH_LOG("the call returned %s", res(b->ret, b->err));
			if (first && first->done)
				TH_LOG("the first blocked call had returned %s: %.*s",
				       res(first->ret, first->err),
				       first->ret > 0 ? (int)first->ret : 0, first->buf);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", b->tid);
		fp = b->tid ? fopen(path, "r") : NULL;
		if (fp) {
			in = fgets(line, sizeof(line), fp) && !strncmp(line, want, strlen(want));
			fclose(fp);
		}
		if (in) {
			/* and asleep in it, not about to enter it */
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", b->tid);
			fp = fopen(path, "r");
			ASSERT_NE(NULL, fp);
			in = fgets(line, sizeof(line), fp) && strstr(line, ") S ");
			fclose(fp);
		}
		if (in)
			return;
		ASSERT_GT(10000, now_ms() - start) TH_LOG("the thread never blocked");
		usleep(10000);
	}
}

/* A thread blocked in @what on @fd; behind @first, blocked already, if not NULL. */
static void start_blocked(struct __test_metadata *_metadata, struct blocked *b, int fd,
			  int what, const struct blocked *first)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->what = what;
	ASSERT_EQ(0, pthread_create(&b->thread, NULL, blocked_call, b));
	wait_blocked(_metadata, b, first);
}

static void join_bounded(struct __test_metadata *_metadata, struct blocked *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	ASSERT_EQ(0, pthread_timedjoin_np(b->thread, NULL, &ts))
		TH_LOG("a blocked call did not return within 10 s");
}

/*
 * close() while one thread sleeps in a follow read and another in lseek()
 * behind it (the reader's lock): close returns at once, the file lives on
 * until they return, the read returns the next record, then the lseek.
 */
TEST_F_TIMEOUT(fuzz, close_while_blocked, 60)
{
	struct blocked reader, seeker;
	unsigned long long cookie;
	int fd;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, netns_new()) TH_LOG("%s", strerror(errno));
	fd = follower(_metadata, 0);
	start_blocked(_metadata, &reader, fd, SYS_read, NULL);
	start_blocked(_metadata, &seeker, fd, SYS_lseek, &reader);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(-1, fcntl(fd, F_GETFD));
	ASSERT_EQ(EBADF, errno);
	usleep(100000);
	ASSERT_FALSE(reader.done) TH_LOG("the read returned %s", res(reader.ret, reader.err));
	ASSERT_FALSE(seeker.done);

	cookie = refused_connect();
	ASSERT_NE(0ULL, cookie) TH_LOG("%s", strerror(errno));
	join_bounded(_metadata, &reader);
	assert_refused_record(_metadata, reader.buf, reader.ret, cookie);
	join_bounded(_metadata, &seeker);
	ASSERT_EQ(0, seeker.ret) TH_LOG("lseek: %s", res(seeker.ret, seeker.err));
}

/* A signal to a thread blocked in a call: it runs the handler, and the call again. */
static void signal_restarted(struct __test_metadata *_metadata, struct blocked *b,
			     const struct blocked *first)
{
	long long start = now_ms();
	int before = alarms;

	ASSERT_EQ(0, pthread_kill(b->thread, SIGUSR1));
	while (alarms == before) {
		ASSERT_GT(10000, now_ms() - start) TH_LOG("the signal handler never ran");
		usleep(1000);
	}
	wait_blocked(_metadata, b, first);
}

/*
 * A signal without SA_RESTART interrupts a blocked follow read (EINTR),
 * and an lseek() or write() waiting for the reader's lock behind it;
 * with SA_RESTART they go on waiting and complete when a history does.
 */
TEST_F_TIMEOUT(fuzz, signal_interrupts, 60)
{
	struct blocked reader, seeker, writer;
	unsigned long long cookie;
	int fd;

	SKIPPED_IN_SETUP();
	ASSERT_EQ(0, netns_new()) TH_LOG("%s", strerror(errno));
	fd = follower(_metadata, 0);

	signals_setup(_metadata, SIGUSR1, 0);
	start_blocked(_metadata, &reader, fd, SYS_read, NULL);
	start_blocked(_metadata, &seeker, fd, SYS_lseek, &reader);
	ASSERT_EQ(0, pthread_kill(seeker.thread, SIGUSR1));
	join_bounded(_metadata, &seeker);
	ASSERT_EQ(-1, seeker.ret);
	ASSERT_EQ(EINTR, seeker.err);
	ASSERT_FALSE(reader.done);
	ASSERT_EQ(0, pthread_kill(reader.thread, SIGUSR1));
	join_bounded(_metadata, &reader);
	ASSERT_EQ(-1, reader.ret);
	ASSERT_EQ(EINTR, reader.err);

	/*
	 * With SA_RESTART, one at a time: interrupted together, the two
	 * would race for the lock as they restart.
	 */
	signals_setup(_metadata, SIGUSR1, SA_RESTART);
	start_blocked(_metadata, &reader, fd, SYS_read, NULL);
	signal_restarted(_metadata, &reader, NULL);
	start_blocked(_metadata, &writer, fd, SYS_write, &reader);
	signal_restarted(_metadata, &writer, &reader);

	cookie = refused_connect();
	ASSERT_NE(0ULL, cookie) TH_LOG("%s", strerror(errno));
	join_bounded(_metadata, &reader);
	assert_refused_record(_metadata, reader.buf, reader.ret, cookie);
	join_bounded(_metadata, &writer);
	ASSERT_EQ((ssize_t)strlen(TCPTRACE_CMD_FOLLOW), writer.ret)
		TH_LOG("write: %s", res(writer.ret, writer.err));
	close(fd);
}

/* ---- The fuzzer --------------------------------------------------------- */

TEST_F_TIMEOUT(fuzz, random_ops, 300)
{
	static struct fuzz fz;
	struct fuzz *f = &fz;
	unsigned long long seed, iterations;
	struct timespec ts;
	long long start;
	int i;

	SKIPPED_IN_SETUP();
	clock_gettime(CLOCK_REALTIME, &ts);
	seed = env_number("TCPTRACE_FUZZ_SEED", (unsigned long long)ts.tv_sec * 1000003ULL ^
			  ts.tv_nsec ^ getpid());
	iterations = env_number("TCPTRACE_FUZZ_ITERATIONS", ITERATIONS);
	TH_LOG("TCPTRACE_FUZZ_SEED=%llu TCPTRACE_FUZZ_ITERATIONS=%llu", seed, iterations);
	fuzz_init(_metadata, f, seed);

	/* Traffic, and the first record of it, before the first operation. */
	self->live_before = live_histories();
	self->workload = workload_start(_metadata, seed % 1000000);
	start = now_ms();
	for (;;) {
		struct hdr h;

		CHECK(header_now(f, &h));
		if (h.done)
			break;
		ASSERT_GT(60000, now_ms() - start) TH_LOG("no history completed in a minute");
		usleep(20000);
	}

	for (f->iter = 0; f->iter < (int)iterations; f->iter++)
		CHECK(fuzz_step(f));
	for (i = 0; i < NSLOTS; i++)
		if (f->slot[i].fd >= 0 && f->slot[i].follow && readable(&f->slot[i]))
			CHECK(follow_drain(f, &f->slot[i]));

	TH_LOG("%lu operations in %lld ms: %lu snapshot bytes, %lu follow headers and %lu "
	       "records; EPIPE %lu, EAGAIN %lu, EINTR %lu, EINVAL %lu, EFAULT %lu, "
	       "EBADF %lu, ENOTTY %lu; %lu commands accepted", f->n.ops, now_ms() - start,
	       f->n.snap_bytes, f->n.header, f->n.records, f->n.epipe, f->n.eagain,
	       f->n.eintr, f->n.einval, f->n.efault, f->n.ebadf, f->n.enotty, f->n.writes_ok);
	/* The traffic was there: followers read records, and snapshots were read. */
	ASSERT_LT(0UL, f->n.records);
	ASSERT_LT(0UL, f->n.snap_bytes);
	fuzz_fini(f);
}

#include "tcptrace_main.h"
