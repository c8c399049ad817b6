/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace_helpers.h: what the C test programs share: loading the
 * module, a connection that leaves exactly one history, the path of
 * tcptrace_workload and the kernel log (network namespaces are
 * tcptrace_topology.h's). Include kselftest_harness.h and
 * tcptrace_parse.h first; the program defines _GNU_SOURCE.
 */
#ifndef TCPTRACE_HELPERS_H
#define TCPTRACE_HELPERS_H

#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <regex.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/*
 * What the kernel log must not show while a test runs: a line of the
 * module's own (pr_fmt() prefixes them "tcptrace: "), or a complaint of
 * the kernel's, as every runner defines it: kernel_complaint.sh's list,
 * which the Makefile passes as KERNEL_COMPLAINT.
 */
#ifndef KERNEL_COMPLAINT
#error "KERNEL_COMPLAINT is undefined: build with selftests/Makefile (it reads kernel_complaint.sh)"
#endif
#define KMSG_COMPLAINT	"tcptrace|" KERNEL_COMPLAINT

/*
 * Load the module if its device is not there: $TCPTRACE_KO with these
 * parameters, else modprobe. NULL when the device is there, else why not.
 */
static inline const char *module_ensure(const char *params)
{
	const char *ko = getenv("TCPTRACE_KO");
	int fd;

	if (!access(TCPTRACE_DEVICE, F_OK))
		return NULL;
	if (geteuid())
		return "not root";
	if (ko && *ko) {
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return "cannot open $TCPTRACE_KO";
		if (syscall(SYS_finit_module, fd, params, 0) && errno != EEXIST) {
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

/*
 * A connect() to a port that is bound but not listening: the RST refuses
 * it, and its socket leaves one done history (end=refused) at once; the
 * bound socket changes no state and leaves none. Returns the client's
 * cookie, or 0 with errno.
 */
static inline unsigned long long refused_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	unsigned long long cookie = 0;
	socklen_t clen = sizeof(cookie);
	int bfd, cfd = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bfd < 0 || bind(bfd, (struct sockaddr *)&sin, len) ||
	    getsockname(bfd, (struct sockaddr *)&sin, &len))
		goto out;
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || getsockopt(cfd, SOL_SOCKET, SO_COOKIE, &cookie, &clen))
		goto out;
	if (connect(cfd, (struct sockaddr *)&sin, len) != -1 || errno != ECONNREFUSED) {
		cookie = 0;
		errno = EPROTO;
	}
out:
	if (cfd >= 0)
		close(cfd);
	if (bfd >= 0)
		close(bfd);
	return cookie;
}

/* tcptrace_workload, next to the running program. */
static inline void workload_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	snprintf(buf, size, "%s/tcptrace_workload", n > 0 ? dirname(self) : ".");
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* /dev/kmsg, positioned after its last record: kmsg_complaint() reads on. */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The first kernel log line logged since kmsg_open() (or the last call)
 * that matches KMSG_COMPLAINT, copied to @out; false when there is none.
 */
static inline bool kmsg_complaint(int fd, char *out, size_t size)
{
	char rec[8192];
	bool found = false;
	regex_t re;

	if (regcomp(&re, KMSG_COMPLAINT, REG_EXTENDED | REG_NOSUB)) {
		snprintf(out, size, "regcomp failed");
		return true;
	}
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *msg, *nl;

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: read on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		/* "prio,seq,usec,flags;text\n" and " KEY=value\n" lines */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (!found && !regexec(&re, msg, 0, NULL, 0)) {
			snprintf(out, size, "%s", msg);
			found = true;
		}
	}
	regfree(&re);
	return found;
}

#endif /* TCPTRACE_HELPERS_H */
