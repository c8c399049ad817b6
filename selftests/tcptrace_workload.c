// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_workload: TCP traffic of known shape, for the volume test and
 * the oracle test (tcptrace_volume.sh, tcptrace_oracle.sh).
 *
 *   tcptrace_workload [-N] [-n CONNS] [-j WORKERS] [-s SEED] [-m MIX] [-o FILE]
 *                     [-p PORT]
 *
 *   -N        run in a new network namespace of its own (loopback up); it
 *             goes away, and its timewait sockets with it, when we exit
 *   -n CONNS  connections in all (default 1000), shared by the workers
 *   -j N      worker processes running at the same time (default 4)
 *   -s SEED   seed of the random choices (default 1)
 *   -m MIX    "exact": only scenarios whose every end= is known in advance;
 *             "all" (default): those and the racy ones (both ends closing
 *             at once, a listener closed with connections queued); or the
 *             name of one scenario
 *   -o FILE   the manifest: one line per socket that leaves a history
 *   -w SECS   wait SECS seconds before exiting, keeping the namespace of
 *             -N, and its timewait sockets, alive
 *   -p PORT   worker I listens on port PORT + I (default: ports the kernel
 *             picks), so that a port filter can tell its connections from
 *             other traffic; connects to its bound port stay on a port the
 *             kernel picks
 *
 * Each worker keeps a listener and a bound, non-listening port (connects
 * to it are refused) on 127.0.0.1 and on ::1, and makes its share of the
 * connections one at a time, each a scenario picked at random:
 *
 *   client_first    the client closes first, gracefully
 *   server_first    the server closes first, gracefully
 *   client_abort    the client closes with SO_LINGER {1, 0}: a RST
 *   server_abort    the server does
 *   refused         a connect to the bound port: a RST
 *   half_close      the client shuts down its side, the server sends on,
 *                   then closes; the client closes last
 *   unread_close    the client closes with data unread: a RST
 *   both_close      (all) both close at once: simultaneous or not
 *   pending         (all) a listener of its own closed with one or two
 *                   connections in its accept queue
 *
 * The manifest line of a socket:
 *
 *   ROLE COOKIE FAMILY LOCAL REMOTE END NETNS
 *
 * ROLE is client, child or listener; COOKIE its SO_COOKIE (0 for a child
 * nobody accepted); LOCAL and REMOTE as Documentation/tcptrace.rst writes
 * them; END the end= it must have, or "any" where a race decides; NETNS
 * the inode of its network namespace.
 *
 * Exit status: 0 when every connection went as planned, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcptrace_topology.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define ADDR_MAX	(INET6_ADDRSTRLEN + 10)

enum scenario {
	CLIENT_FIRST, SERVER_FIRST, CLIENT_ABORT, SERVER_ABORT, REFUSED,
	HALF_CLOSE, UNREAD_CLOSE,
	NR_EXACT,
	BOTH_CLOSE = NR_EXACT, PENDING,
	NR_ALL,
};

static const char *const scenario_names[NR_ALL] = {
	"client_first", "server_first", "client_abort", "server_abort", "refused",
	"half_close", "unread_close", "both_close", "pending",
};

static int manifest_fd = -1;
static int base_port;		/* -p: worker i listens on base_port + i; 0: any */
static unsigned long long netns;
static const char *me = "tcptrace_workload";

struct side {
	int af;
	int lfd;			/* listener */
	int rfd;			/* bound, never listening */
	struct sockaddr_storage laddr, raddr;
	socklen_t len;
};

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s[%d]: ", me, getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(1);
}

static unsigned long long cookie_of(int fd)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		fail("SO_COOKIE");
	return cookie;
}

static void text_of(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static void local_of(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname");
	text_of(&ss, out, n);
}

/* One manifest line; a single write(), so lines of workers never mix. */
static void manifest(const char *role, unsigned long long cookie, int af,
		     const char *local, const char *remote, const char *end)
{
	char line[512];
	int n;

	if (manifest_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %llu %s %s %s %s %llu\n", role, cookie,
		     af == AF_INET ? "ipv4" : "ipv6", local, remote, end, netns);
	if (write(manifest_fd, line, n) != n)
		fail("writing the manifest");
}

static int tcp_socket(int af)
{
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(af, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		fail("SO_RCVTIMEO");
	return fd;
}

static void set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail("SO_LINGER");
}

static socklen_t lo_addr(int af, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = af;
	if (af == AF_INET) {
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(struct sockaddr_in);
	}
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

/* A socket of @af bound to @port (0: any) on loopback; its address in @ss. */
static int bound(int af, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = tcp_socket(af), one = 1;

	/* A fixed port may still have timewait sockets of an earlier run. */
	if (port && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("SO_REUSEADDR");
	*len = lo_addr(af, ss);
	if (af == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)ss, *len) ||
	    getsockname(fd, (struct sockaddr *)ss, len))
		fail("bind");
	return fd;
}

static void side_open(struct side *s, int af, int port)
{
	s->af = af;
	s->lfd = bound(af, port, &s->laddr, &s->len);
	if (listen(s->lfd, 64))
		fail("listen");
	s->rfd = bound(af, 0, &s->raddr, &s->len);
}

static void side_close(struct side *s)
{
	char local[ADDR_MAX];

	text_of(&s->laddr, local, sizeof(local));
	manifest("listener", cookie_of(s->lfd), s->af, local,
		 s->af == AF_INET ? "0.0.0.0:0" : "[::]:0", "listener_closed");
	close(s->lfd);
	close(s->rfd);
}

static void recv_all(int fd, int n)
{
	char buf[64];

	if (recv(fd, buf, n, MSG_WAITALL) != n)
		fail("recv %d", n);
}

static void recv_eof(int fd)
{
	char buf[1];

	if (recv(fd, buf, 1, 0) != 0)
		fail("recv: no end of file");
}

static void recv_reset(int fd)
{
	char buf[1];

	if (recv(fd, buf, 1, 0) != -1 || errno != ECONNRESET)
		fail("recv: no reset");
}

static void send_all(int fd, const char *s)
{
	if (send(fd, s, strlen(s), 0) != (ssize_t)strlen(s))
		fail("send");
}

struct pair {
	int cfd, afd;
	unsigned long long ccookie, acookie;
	char caddr[ADDR_MAX], aaddr[ADDR_MAX];
};

/* Connect to @s's listener, accept, one round trip. */
static void pair_open(struct side *s, struct pair *p)
{
	p->cfd = tcp_socket(s->af);
	if (connect(p->cfd, (struct sockaddr *)&s->laddr, s->len))
		fail("connect");
	p->afd = accept(s->lfd, NULL, NULL);
	if (p->afd < 0)
		fail("accept");
	p->ccookie = cookie_of(p->cfd);
	p->acookie = cookie_of(p->afd);
	local_of(p->cfd, p->caddr, sizeof(p->caddr));
	local_of(p->afd, p->aaddr, sizeof(p->aaddr));
	send_all(p->cfd, "ping");
	recv_all(p->afd, 4);
	send_all(p->afd, "pong");
	recv_all(p->cfd, 4);
}

static void pair_manifest(const struct side *s, const struct pair *p,
			  const char *client_end, const char *child_end)
{
	manifest("client", p->ccookie, s->af, p->caddr, p->aaddr, client_end);
	manifest("child", p->acookie, s->af, p->aaddr, p->caddr, child_end);
}

static void run_refused(struct side *s)
{
	struct sockaddr_storage ss;
	char local[ADDR_MAX], remote[ADDR_MAX];
	unsigned long long cookie;
	socklen_t len;
	int fd;

	/* Bound first, so that its address survives the failed connect(). */
	fd = bound(s->af, 0, &ss, &len);
	cookie = cookie_of(fd);
	text_of(&ss, local, sizeof(local));
	text_of(&s->raddr, remote, sizeof(remote));
	if (connect(fd, (struct sockaddr *)&s->raddr, s->len) != -1 || errno != ECONNREFUSED)
		fail("connect to a bound port: not refused");
	close(fd);
	manifest("client", cookie, s->af, local, remote, "refused");
}

/* A listener of its own, closed with one or two connections queued. */
static void run_pending(int af, int n)
{
	struct sockaddr_storage ss;
	char laddr[ADDR_MAX], caddr[ADDR_MAX];
	int lfd, cfd[2], i;
	socklen_t len;

	lfd = bound(af, 0, &ss, &len);
	if (listen(lfd, 8))
		fail("listen");
	text_of(&ss, laddr, sizeof(laddr));
	for (i = 0; i < n; i++) {
		cfd[i] = tcp_socket(af);
		if (connect(cfd[i], (struct sockaddr *)&ss, len))
			fail("connect");
		local_of(cfd[i], caddr, sizeof(caddr));
		manifest("client", cookie_of(cfd[i]), af, caddr, laddr, "any");
		/* Never accepted: no cookie known. */
		manifest("child", 0, af, laddr, caddr, "any");
	}
	manifest("listener", cookie_of(lfd), af, laddr,
		 af == AF_INET ? "0.0.0.0:0" : "[::]:0", "listener_closed");
	close(lfd);
	for (i = 0; i < n; i++)
		close(cfd[i]);
}

static void run_one(struct side *s, int sc, unsigned int r)
{
	struct pair p;

	switch (sc) {
	case REFUSED:
		run_refused(s);
		return;
	case PENDING:
		run_pending(s->af, 1 + r % 2);
		return;
	default:
		break;
	}
	pair_open(s, &p);
	switch (sc) {
	case CLIENT_FIRST:
		close(p.cfd);
		recv_eof(p.afd);
		close(p.afd);
		pair_manifest(s, &p, "active_close", "passive_close");
		break;
	case SERVER_FIRST:
		close(p.afd);
		recv_eof(p.cfd);
		close(p.cfd);
		pair_manifest(s, &p, "passive_close", "active_close");
		break;
	case CLIENT_ABORT:
		set_linger0(p.cfd);
		close(p.cfd);
		recv_reset(p.afd);
		close(p.afd);
		pair_manifest(s, &p, "aborted", "reset_received");
		break;
	case SERVER_ABORT:
		set_linger0(p.afd);
		close(p.afd);
		recv_reset(p.cfd);
		close(p.cfd);
		pair_manifest(s, &p, "reset_received", "aborted");
		break;
	case HALF_CLOSE:
		if (shutdown(p.cfd, SHUT_WR))
			fail("shutdown");
		recv_eof(p.afd);
		send_all(p.afd, "more");
		recv_all(p.cfd, 4);
		close(p.afd);
		recv_eof(p.cfd);
		close(p.cfd);
		pair_manifest(s, &p, "active_close", "passive_close");
		break;
	case UNREAD_CLOSE: {
		char buf[4];

		send_all(p.afd, "left");
		/* Arrived, and left unread. */
		if (recv(p.cfd, buf, 4, MSG_PEEK | MSG_WAITALL) != 4)
			fail("recv MSG_PEEK");
		close(p.cfd);
		recv_reset(p.afd);
		close(p.afd);
		pair_manifest(s, &p, "reset_sent", "reset_received");
		break;
	}
	case BOTH_CLOSE:
		close(p.cfd);
		close(p.afd);
		pair_manifest(s, &p, "any", "any");
		break;
	default:
		break;
	}
}

/* @nr scenarios from the first, or the one @only if it is not -1. */
static int worker(int id, int conns, unsigned int seed, int nr, int only)
{
	struct side sides[2];
	int i;

	srandom(seed * 7919 + id);
	side_open(&sides[0], AF_INET, base_port ? base_port + id : 0);
	side_open(&sides[1], AF_INET6, base_port ? base_port + id : 0);
	for (i = 0; i < conns; i++) {
		unsigned int r = random();

		run_one(&sides[r % 2], only >= 0 ? only : (int)((r >> 1) % nr), r >> 8);
	}
	side_close(&sides[0]);
	side_close(&sides[1]);
	return 0;
}

int main(int argc, char **argv)
{
	int conns = 1000, workers = 4, nr = NR_ALL, only = -1, wait_s = 0, opt, i, status;
	int ret = 0;
	unsigned int seed = 1;
	bool new_netns = false;
	struct stat st;

	while ((opt = getopt(argc, argv, "Nn:j:s:m:o:w:p:")) != -1) {
		switch (opt) {
		case 'N':
			new_netns = true;
			break;
		case 'n':
			conns = atoi(optarg);
			break;
		case 'j':
			workers = atoi(optarg);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			if (!strcmp(optarg, "exact"))
				nr = NR_EXACT;
			else if (!strcmp(optarg, "all"))
				nr = NR_ALL;
			else {
				for (only = 0; only < NR_ALL; only++)
					if (!strcmp(optarg, scenario_names[only]))
						break;
				if (only == NR_ALL)
					goto usage;
			}
			break;
		case 'w':
			wait_s = atoi(optarg);
			break;
		case 'p':
			base_port = atoi(optarg);
			break;
		case 'o':
			manifest_fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
			if (manifest_fd < 0)
				fail("%s", optarg);
			break;
		default:
			goto usage;
		}
	}
	if (conns < 0 || workers < 1 || optind != argc ||
	    base_port < 0 || base_port + workers > 65536)
		goto usage;
	if (new_netns && netns_new())
		fail("a network namespace of our own");
	if (stat("/proc/self/ns/net", &st))
		fail("/proc/self/ns/net");
	netns = st.st_ino;

	for (i = 0; i < workers; i++) {
		int share = conns / workers + (i < conns % workers);

		switch (fork()) {
		case -1:
			fail("fork");
		case 0:
			exit(worker(i, share, seed, nr, only));
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ret = 1;
	printf("%s: %d connections by %d workers, seed %u, netns %llu: %s\n", me, conns,
	       workers, seed, netns, ret ? "FAILED" : "ok");
	fflush(stdout);
	if (wait_s)
		sleep(wait_s);
	return ret;

usage:
	fprintf(stderr, "usage: %s [-N] [-n CONNS] [-j WORKERS] [-s SEED] [-m exact|all|SCENARIO]"
		" [-o FILE] [-w SECS] [-p PORT]\n", me);
	return 2;
}
