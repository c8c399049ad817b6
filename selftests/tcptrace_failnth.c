// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_failnth: fail, one at a time, every allocation the kernel makes
 * for the module's system calls, with /proc/thread-self/fail-nth
 * (Documentation/fault-injection/fault-injection.rst): for n = 1, 2, ...
 * the nth allocation of the call fails, until the call makes fewer than n.
 * Each failure must come back from that call as ENOMEM, with nothing half
 * done:
 *
 * - failnth.load: finit_module() of $TCPTRACE_KO. A failed load leaves no
 *   module and no device; a load that survived the failure (a kprobe that
 *   could not be placed degrades the module, see the header's timewait=
 *   and halfopen=) gives a working device and unloads.
 * - failnth.open: open() of the device; a failed open leaves no reader.
 * - failnth.read: the snapshot read; a failed read moves nothing, and the
 *   next read returns the same histories as a reader that saw no failure.
 * - failnth.command: the ports= command; a failed one leaves the filter
 *   as it was (the header's filter_ports=).
 *
 * The tracepoint probe allocates nothing: the table and the ring are
 * allocated at load (max_live, ring_size), so no record is lost to a
 * failed allocation; what does not fit is counted (drop_table_full,
 * ring_overwritten, ...).
 *
 * What a failure path leaks, the kmemleak scan of scripts/vm-run finds;
 * what it breaks, KASAN and lockdep report. Needs CONFIG_FAULT_INJECTION,
 * CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS: the debug kernel of
 * scripts/check --debug (Documentation/kernel-ci.rst); skips elsewhere.
 * The allocator reports some of the failures it was made to return with a
 * stack dump ("vmalloc error: ..."), so that kernel runs it under
 * scripts/vm-run --expect-alloc-failures, not through run_tests.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "tcptrace_parse.h"
#include "tcptrace_helpers.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FAILSLAB	"/sys/kernel/debug/failslab"
#define MODULE_DIR	"/sys/module/tcptrace"
/* More allocations than any of these calls makes: a loop that gets here is stuck. */
#define NTH_MAX		100000
#define SNAP_MAX	(1 << 20)

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * failslab fails only what fail-nth asks for (probability 0), allocations
 * that may sleep too (ignore-gfp-wait: GFP_KERNEL is what the module
 * uses), and says nothing of it (verbose 0: no stack dump per failure).
 */
static const char *failslab_setup(void)
{
	if (geteuid())
		return "not root";
	if (access(FAIL_NTH, W_OK))
		return "no " FAIL_NTH " (CONFIG_FAULT_INJECTION)";
	if (access(FAILSLAB, F_OK))
		return "no " FAILSLAB " (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)";
	if (write_file(FAILSLAB "/probability", "0") ||
	    write_file(FAILSLAB "/ignore-gfp-wait", "N") ||
	    write_file(FAILSLAB "/verbose", "0"))
		return "cannot configure " FAILSLAB;
	return NULL;
}

/* Fail the nth allocation this thread makes from now on. */
static int nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/* Whether the armed failure happened; disarms it if it did not. */
static bool nth_injected(int fd)
{
	char buf[16] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return false;
	if (atoi(buf) == 0)
		return true;
	nth_arm(fd, 0);
	return false;
}

/* Whole file into buf (NUL-terminated): its length, or -1 with errno. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	if (n < 0)
		return -1;
	buf[len] = '\0';
	return len;
}

/* A snapshot's histories: what follows its header line. */
static const char *histories(const char *snap)
{
	const char *nl = strchr(snap, '\n');

	return nl ? nl + 1 : "";
}

/* The header's NAME=value, or -1. */
static long header_field(const char *snap, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(snap, key);
	if (!p || p > strchr(snap, '\n'))
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static int snapshot(char *buf, size_t size)
{
	int fd = open(TCPTRACE_DEVICE, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read_all(fd, buf, size);
	close(fd);
	return n < 0 ? -1 : 0;
}

static bool module_loaded(void)
{
	return !access(MODULE_DIR, F_OK);
}

FIXTURE(failnth) {
	const char *skip;	/* why the test cannot run */
	int nth;		/* FAIL_NTH, open for this thread */
	char *ref, *buf;
};

/*
 * The harness of older kernels runs the test after a SKIP() in setup:
 * each test skips itself. Without fault injection; and, for those that
 * need the device, without the module (loaded if need be).
 */
#define SKIP_UNLESS_FAILSLAB() do {					\
	if (self->skip)							\
		SKIP(return, "%s", self->skip);				\
} while (0)

#define SKIP_UNLESS_DEVICE() do {					\
	const char *why = self->skip ?: module_ensure("");		\
									\
	if (why)							\
		SKIP(return, "%s", why);				\
} while (0)

FIXTURE_SETUP(failnth)
{
	self->nth = -1;
	self->skip = failslab_setup();
	if (self->skip)
		return;
	self->nth = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth);
	self->ref = malloc(SNAP_MAX);
	self->buf = malloc(SNAP_MAX);
	ASSERT_TRUE(self->ref && self->buf);
}

FIXTURE_TEARDOWN(failnth)
{
	if (self->nth >= 0)
		close(self->nth);
	free(self->ref);
	free(self->buf);
}

TEST_F_TIMEOUT(failnth, load, 1800)
{
	const char *ko = getenv("TCPTRACE_KO");
	unsigned int n, failed = 0, survived = 0;
	bool injected;
	int fd, ret, err;

	SKIP_UNLESS_FAILSLAB();
	if (!ko || !*ko)
		SKIP(return, "no $TCPTRACE_KO");
	if (module_loaded())
		ASSERT_EQ(0, syscall(SYS_delete_module, "tcptrace", O_NONBLOCK));
	for (n = 1; n < NTH_MAX; n++) {
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, nth_arm(self->nth, n));
		ret = syscall(SYS_finit_module, fd, "", 0);
		err = errno;
		injected = nth_injected(self->nth);
		close(fd);
		if (ret) {
			ASSERT_TRUE(injected) TH_LOG("load failed unprovoked: %s", strerror(err));
			ASSERT_EQ(ENOMEM, err) TH_LOG("allocation %u: %s", n, strerror(err));
			ASSERT_FALSE(module_loaded()) TH_LOG("allocation %u", n);
			ASSERT_NE(0, access(TCPTRACE_DEVICE, F_OK)) TH_LOG("allocation %u", n);
			failed++;
			continue;
		}
		/* Loaded: the device works, whatever failed on the way. */
		ASSERT_EQ(0, snapshot(self->buf, SNAP_MAX)) TH_LOG("allocation %u", n);
		ASSERT_EQ(0, strncmp(self->buf, "# tcptrace ", 11));
		ASSERT_EQ(0, syscall(SYS_delete_module, "tcptrace", O_NONBLOCK));
		if (!injected)
			break;
		survived++;
	}
	ASSERT_LT(n, NTH_MAX);
	ASSERT_LT(0, failed);
	TH_LOG("load: %u allocations, %u failures failed it, %u it survived",
	       n - 1, failed, survived);
}

TEST_F(failnth, open)
{
	unsigned int n;
	bool injected;
	int fd, err;

	SKIP_UNLESS_DEVICE();
	for (n = 1; n < NTH_MAX; n++) {
		ASSERT_EQ(0, nth_arm(self->nth, n));
		fd = open(TCPTRACE_DEVICE, O_RDONLY | O_CLOEXEC);
		err = errno;
		injected = nth_injected(self->nth);
		if (fd < 0) {
			ASSERT_TRUE(injected);
			ASSERT_EQ(ENOMEM, err) TH_LOG("allocation %u: %s", n, strerror(err));
			continue;
		}
		close(fd);
		if (!injected)
			break;
	}
	ASSERT_LT(n, NTH_MAX);
	ASSERT_LT(1, n);	/* open allocates the reader */
}

TEST_F(failnth, read)
{
	unsigned int n, failed = 0;
	bool injected;
	ssize_t ret;
	int fd, err, i;

	SKIP_UNLESS_DEVICE();
	for (i = 0; i < 3; i++)
		ASSERT_NE(0, refused_connect());
	ASSERT_EQ(0, snapshot(self->ref, SNAP_MAX));
	ASSERT_STRNE("", histories(self->ref));
	for (n = 1; n < NTH_MAX; n++) {
		fd = open(TCPTRACE_DEVICE, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, nth_arm(self->nth, n));
		ret = read(fd, self->buf, SNAP_MAX - 1);
		err = errno;
		injected = nth_injected(self->nth);
		if (ret < 0) {
			ASSERT_TRUE(injected);
			ASSERT_EQ(ENOMEM, err) TH_LOG("allocation %u: %s", n, strerror(err));
			ASSERT_EQ(0, lseek(fd, 0, SEEK_CUR));
			ret = read_all(fd, self->buf, SNAP_MAX);
			failed++;
		} else {
			self->buf[ret] = '\0';
		}
		close(fd);
		ASSERT_LT(0, ret);
		/* The header's clock moves on; the histories must not. */
		ASSERT_STREQ(histories(self->ref), histories(self->buf))
			TH_LOG("allocation %u", n);
		if (!injected)
			break;
	}
	ASSERT_LT(n, NTH_MAX);
	ASSERT_LT(0, failed);
}

TEST_F(failnth, command)
{
	static const char cmd[] = "ports=80,443\n";
	unsigned int n, failed = 0;
	bool injected;
	ssize_t ret;
	int fd, err;

	SKIP_UNLESS_DEVICE();
	for (n = 1; n < NTH_MAX; n++) {
		fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, nth_arm(self->nth, n));
		ret = write(fd, cmd, strlen(cmd));
		err = errno;
		injected = nth_injected(self->nth);
		close(fd);
		ASSERT_EQ(0, snapshot(self->buf, SNAP_MAX));
		if (ret < 0) {
			ASSERT_TRUE(injected);
			ASSERT_EQ(ENOMEM, err) TH_LOG("allocation %u: %s", n, strerror(err));
			ASSERT_EQ(0, header_field(self->buf, "filter_ports"));
			failed++;
			continue;
		}
		ASSERT_EQ((ssize_t)strlen(cmd), ret);
		ASSERT_EQ(2, header_field(self->buf, "filter_ports"));
		fd = open(TCPTRACE_DEVICE, O_WRONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(6, write(fd, "ports=", 6));
		close(fd);
		if (!injected)
			break;
	}
	ASSERT_LT(n, NTH_MAX);
	ASSERT_LT(0, failed);
}

#include "tcptrace_main.h"
