// SPDX-License-Identifier: GPL-2.0
/*
 * loadgen: TCP connection churn over loopback for scripts/bench-overhead.
 *
 * TCP_CRR style, as netperf names it: each client thread connects, sends a
 * small request, reads a small response and closes, again and again, while
 * server threads accept, answer and close once the client has. Optionally
 * it first opens and holds N idle established connections (both ends in
 * this process), to show whether a tracer's cost grows with live sockets.
 *
 * Each churned connection makes ten TCP state changes, five per end:
 *
 *   client  CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE
 *   server  LISTEN>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE
 *
 * (the client's last CLOSE is the hand-over to TIME_WAIT). loadgen reports
 * transitions=10*conns from what it did, and the kernel's own counts from
 * /proc/net/snmp, to check against.
 *
 * Usage:
 *   loadgen [OPTIONS] -d SECS [-n IDLE]   hold IDLE idle connections, churn
 *                                         for SECS seconds, print one line
 *   loadgen [OPTIONS]                     commands on stdin, one answer line
 *                                         each on stdout:
 *       idle N        hold N idle connections in all (opens more, never
 *                     closes any)
 *       churn SECS    churn for SECS seconds
 *       quit
 *
 * Options:
 *   -c N   client threads (default 4)
 *   -s N   server threads (default 4)
 *   -p P   churn port (default 800); idle listeners use P+1 ... P+8
 *   -b N   request and response size in bytes (default 64)
 *
 * The churn result line:
 *   churn conns=N secs=S cps=R transitions=T errors=E cpus=N cpu_busy=F
 *         cpu_ns_per_conn=C active_opens=A passive_opens=P attempt_fails=X
 *         estab_resets=Y
 * cpus is the number of CPUs online, cpu_busy the fraction of them busy
 * (/proc/stat, in clock ticks) during the run;
 * cpu_ns_per_conn that busy time divided by conns, so it counts whatever
 * else ran meanwhile, a tracer's reader included.
 *
 * The idle connections need a file descriptor per end: loadgen raises its
 * RLIMIT_NOFILE itself (run it as root), and connects to 4 addresses times
 * 8 ports so that ephemeral ports do not run short; ip_local_port_range
 * should be wide (scripts/bench-overhead sets 1024 65535).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_PORTS	8
#define IDLE_ADDRS	4	/* 127.0.0.1 ... 127.0.0.4 */
#define STEPS_PER_CONN	10
#define MAX_THREADS	256

static int nr_clients = 4;
static int nr_servers = 4;
static int churn_port = 800;
static size_t msg_size = 64;

static int churn_listener;
static int idle_listeners[IDLE_PORTS];
static int *idle_fds;
static size_t idle_held, idle_cap;

static atomic_bool stop;
static atomic_ullong churn_conns, churn_errors;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int addr, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK + addr),
	};
	return sin;
}

static int listen_on(struct sockaddr_in sin)
{
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("bind port %d: %s", ntohs(sin.sin_port), strerror(errno));
	if (listen(fd, 4096))
		die("listen: %s", strerror(errno));
	return fd;
}

/* Read exactly @len bytes; false on EOF or error. */
static bool read_full(int fd, char *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

static bool write_full(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* Accept, answer, wait for the client to close first, close. Forever. */
static void *server_thread(void *arg __attribute__((unused)))
{
	char *buf = calloc(1, msg_size);

	if (!buf)
		die("out of memory");
	for (;;) {
		int fd = accept(churn_listener, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		if (read_full(fd, buf, msg_size) && write_full(fd, buf, msg_size))
			while (read(fd, buf, msg_size) > 0)
				;
		close(fd);
	}
	return NULL;
}

static void *client_thread(void *arg __attribute__((unused)))
{
	struct sockaddr_in srv = loopback(0, churn_port);
	unsigned long long conns = 0, errors = 0;
	char *buf = calloc(1, msg_size);

	if (!buf)
		die("out of memory");
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&srv, sizeof(srv)) ||
		    !write_full(fd, buf, msg_size) || !read_full(fd, buf, msg_size)) {
			errors++;
			close(fd);
			/* Out of ports, say: do not spin on the error. */
			usleep(1000);
			continue;
		}
		close(fd);
		conns++;
	}
	free(buf);
	atomic_fetch_add(&churn_conns, conns);
	atomic_fetch_add(&churn_errors, errors);
	return NULL;
}

struct cpu_times {
	unsigned long long busy, total;
};

static struct cpu_times read_cpu(void)
{
	unsigned long long v[8] = { 0 };
	struct cpu_times t;
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		die("cannot read /proc/stat");
	fclose(f);
	/* user nice system idle iowait irq softirq steal */
	t.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	t.total = t.busy + v[3] + v[4];
	return t;
}

enum { ACTIVE_OPENS, PASSIVE_OPENS, ATTEMPT_FAILS, ESTAB_RESETS, NR_SNMP };
static const char * const snmp_names[NR_SNMP] = {
	"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
};

static void read_snmp(unsigned long long *out)
{
	char names[4096], values[4096];
	char *np, *vp, *n, *v;
	FILE *f = fopen("/proc/net/snmp", "r");
	int i;

	if (!f)
		die("cannot open /proc/net/snmp");
	while (fgets(names, sizeof(names), f)) {
		if (strncmp(names, "Tcp:", 4))
			continue;
		if (!fgets(values, sizeof(values), f))
			break;
		n = strtok_r(names, " \n", &np);
		v = strtok_r(values, " \n", &vp);
		while ((n = strtok_r(NULL, " \n", &np)) && (v = strtok_r(NULL, " \n", &vp)))
			for (i = 0; i < NR_SNMP; i++)
				if (!strcmp(n, snmp_names[i]))
					out[i] = strtoull(v, NULL, 10);
		break;
	}
	fclose(f);
}

static void churn(double secs)
{
	unsigned long long snmp0[NR_SNMP] = { 0 }, snmp1[NR_SNMP] = { 0 };
	pthread_t tids[MAX_THREADS];
	struct cpu_times c0, c1;
	unsigned long long conns, busy_ns;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (time_t)secs) * 1e9),
	};
	double t0, elapsed;
	int i;

	atomic_store(&stop, false);
	atomic_store(&churn_conns, 0);
	atomic_store(&churn_errors, 0);
	read_snmp(snmp0);
	c0 = read_cpu();
	t0 = now_s();
	for (i = 0; i < nr_clients; i++)
		if (pthread_create(&tids[i], NULL, client_thread, NULL))
			die("pthread_create failed");
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&stop, true);
	for (i = 0; i < nr_clients; i++)
		pthread_join(tids[i], NULL);
	elapsed = now_s() - t0;
	c1 = read_cpu();
	read_snmp(snmp1);

	conns = atomic_load(&churn_conns);
	busy_ns = (c1.busy - c0.busy) * (1000000000ULL / hz);
	printf("churn conns=%llu secs=%.3f cps=%.1f transitions=%llu errors=%llu cpus=%ld cpu_busy=%.3f cpu_ns_per_conn=%.0f active_opens=%llu passive_opens=%llu attempt_fails=%llu estab_resets=%llu\n",
	       conns, elapsed, conns / elapsed, conns * STEPS_PER_CONN,
	       atomic_load(&churn_errors), sysconf(_SC_NPROCESSORS_ONLN),
	       c1.total > c0.total ? (double)(c1.busy - c0.busy) / (c1.total - c0.total) : 0,
	       conns ? (double)busy_ns / conns : 0,
	       snmp1[ACTIVE_OPENS] - snmp0[ACTIVE_OPENS],
	       snmp1[PASSIVE_OPENS] - snmp0[PASSIVE_OPENS],
	       snmp1[ATTEMPT_FAILS] - snmp0[ATTEMPT_FAILS],
	       snmp1[ESTAB_RESETS] - snmp0[ESTAB_RESETS]);
	fflush(stdout);
}

static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("cannot raise RLIMIT_NOFILE to %zu (root? fs.nr_open?): %s",
		    want, strerror(errno));
}

/*
 * Hold @want idle connections in all. Each connect() on loopback returns
 * with the child already in the accept queue, so one thread does both ends.
 */
static void idle(size_t want)
{
	double t0 = now_s();
	size_t i;

	if (want <= idle_held)
		goto out;
	raise_nofile(2 * want + 1024);
	if (want * 2 > idle_cap) {
		idle_cap = want * 2;
		idle_fds = realloc(idle_fds, idle_cap * sizeof(*idle_fds));
		if (!idle_fds)
			die("out of memory");
	}
	for (i = idle_held; i < want; i++) {
		int port = (i / IDLE_ADDRS) % IDLE_PORTS;
		struct sockaddr_in dst = loopback(i % IDLE_ADDRS, churn_port + 1 + port);
		int c, s;

		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0)
			die("socket after %zu idle connections: %s", i, strerror(errno));
		if (connect(c, (struct sockaddr *)&dst, sizeof(dst)))
			die("connect after %zu idle connections: %s", i, strerror(errno));
		s = accept(idle_listeners[port], NULL, NULL);
		if (s < 0)
			die("accept after %zu idle connections: %s", i, strerror(errno));
		idle_fds[2 * i] = c;
		idle_fds[2 * i + 1] = s;
	}
	idle_held = want;
out:
	printf("idle held=%zu secs=%.3f\n", idle_held, now_s() - t0);
	fflush(stdout);
}

static void start(void)
{
	pthread_t tid;
	int i;

	churn_listener = listen_on(loopback(0, churn_port));
	for (i = 0; i < IDLE_PORTS; i++) {
		struct sockaddr_in any = loopback(0, churn_port + 1 + i);

		/* Any address: the idle connections go to 127.0.0.1 ... 4. */
		any.sin_addr.s_addr = htonl(INADDR_ANY);
		idle_listeners[i] = listen_on(any);
	}
	for (i = 0; i < nr_servers; i++) {
		if (pthread_create(&tid, NULL, server_thread, NULL))
			die("pthread_create failed");
		pthread_detach(tid);
	}
}

static int positive(const char *s, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > max)
		die("bad number '%s' (1-%d)", s, max);
	return v;
}

static void usage(void)
{
	fputs("usage: loadgen [-c CLIENTS] [-s SERVERS] [-p PORT] [-b BYTES] [-d SECS [-n IDLE]]\n"
	      "  without -d: commands on stdin: 'idle N', 'churn SECS', 'quit'\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	double duration = 0;
	long nidle = 0;
	char line[256];
	int opt;

	while ((opt = getopt(argc, argv, "c:s:p:b:d:n:h")) != -1) {
		switch (opt) {
		case 'c': nr_clients = positive(optarg, MAX_THREADS); break;
		case 's': nr_servers = positive(optarg, MAX_THREADS); break;
		case 'p': churn_port = positive(optarg, 65535 - IDLE_PORTS); break;
		case 'b': msg_size = positive(optarg, 1 << 20); break;
		case 'd': duration = atof(optarg); break;
		case 'n': nidle = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || duration < 0 || nidle < 0)
		usage();

	start();
	if (duration > 0) {
		idle(nidle);
		churn(duration);
		return 0;
	}
	while (fgets(line, sizeof(line), stdin)) {
		double secs;
		long n;

		if (sscanf(line, "idle %ld", &n) == 1 && n >= 0) {
			idle(n);
		} else if (sscanf(line, "churn %lf", &secs) == 1 && secs > 0) {
			churn(secs);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		} else {
			printf("error unknown command\n");
			fflush(stdout);
		}
	}
	return 0;
}
