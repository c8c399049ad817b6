// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace_binary: /dev/tcptrace's binary records ("binary=1") are the
 * text records, field for field, and read as whole records only.
 *
 * Each test runs in a network namespace of its own, where a reader sees
 * only the histories the test makes: refused connections over IPv4 and
 * IPv6 (done at once), a listener (live), and a connection closed by the
 * client first, whose client is left in TIME_WAIT (live, with a
 * hand-over step) and whose server completes. With nothing else moving
 * there, a text snapshot and a binary one taken one after the other hold
 * the same histories; each binary record, written out as text by this
 * file's own rendering of Documentation/tcptrace.rst, must be the text
 * record's line exactly.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tcptrace_parse.h"
#include "tcptrace_helpers.h"
#include "tcptrace_topology.h"

#define HDR_SIZE	sizeof(struct tcptrace_binary_header)
#define REC_SIZE	sizeof(struct tcptrace_binary_record)

FIXTURE(binary) {
	bool skip;
};

FIXTURE_SETUP(binary)
{
	const char *why = module_ensure("");

	if (why) {
		self->skip = true;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, netns_new()) TH_LOG("a network namespace: %s", strerror(errno));
}

FIXTURE_TEARDOWN(binary)
{
}

/* A refused connect() over IPv6: one done history. */
static int refused_connect6(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sin6);
	int bfd, cfd, ret = -1;

	bfd = socket(AF_INET6, SOCK_STREAM, 0);
	cfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (bfd >= 0 && cfd >= 0 && !bind(bfd, (struct sockaddr *)&sin6, len) &&
	    !getsockname(bfd, (struct sockaddr *)&sin6, &len) &&
	    connect(cfd, (struct sockaddr *)&sin6, len) && errno == ECONNREFUSED)
		ret = 0;
	close(cfd);
	close(bfd);
	return ret;
}

/*
 * A listener that stays open, and one connection through it that the
 * client closes first: the client ends in TIME_WAIT, the server's child
 * completes. Returns the listener, or -1.
 */
static int listener_and_closed_connection(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd, cfd = -1, afd = -1;
	char c;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, len) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len))
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, len))
		goto fail;
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		goto fail;
	close(cfd);
	cfd = -1;
	/* The client's FIN: then the server closes too. */
	if (read(afd, &c, 1) != 0)
		goto fail;
	close(afd);
	/* The last ACK reaches the server, whose child then completes. */
	usleep(200 * 1000);
	return lfd;
fail:
	if (cfd >= 0)
		close(cfd);
	if (afd >= 0)
		close(afd);
	if (lfd >= 0)
		close(lfd);
	return -1;
}

static int open_binary(int flags)
{
	int fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC | flags);

	if (fd >= 0 && write_cmd(fd, TCPTRACE_CMD_BINARY "1")) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole binary snapshot of a new reader; its length in *len. */
static char *read_binary(size_t *len)
{
	size_t size = 1 << 20, used = 0;
	char *buf = malloc(size);
	ssize_t n;
	int fd = open_binary(0);

	if (fd < 0 || !buf)
		goto fail;
	/* Large reads: each returns whole records, the header alone first. */
	while ((n = read(fd, buf + used, size - used)) > 0)
		used += n;
	if (n < 0)
		goto fail;
	close(fd);
	*len = used;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static __attribute__((format(printf, 3, 4)))
void put(char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*len += vsnprintf(buf + *len, TCPTRACE_LINE_MAX - *len, fmt, ap);
	va_end(ap);
}

static void put_addr(char *buf, size_t *len, int family, const __u8 *addr, __be16 port)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, s, sizeof(s));
	if (family == 6)
		put(buf, len, " [%s]:%u", s, ntohs(port));
	else
		put(buf, len, " %s:%u", s, ntohs(port));
}

/* A binary record as the text record line it stands for (no newline). */
static void render(const struct tcptrace_binary_record *r, char *buf)
{
	bool done = r->kind == TCPTRACE_BINARY_DONE;
	unsigned int i, prev;
	size_t len = 0;
	const char *c;

	put(buf, &len, "%s %llu %s", done ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE,
	    (unsigned long long)r->cookie, r->family == 6 ? "ipv6" : "ipv4");
	put_addr(buf, &len, r->family, r->saddr, r->sport);
	put_addr(buf, &len, r->family, r->daddr, r->dport);
	if (done)
		put(buf, &len, " seq=%llu", (unsigned long long)r->seq);
	put(buf, &len, " t0=%llu netns=%u uid=%u", (unsigned long long)r->t0,
	    r->netns, r->uid);
	if (r->flags & TCPTRACE_BINARY_OWNER) {
		put(buf, &len, " pid=%u tgid=%u comm=", r->pid, r->tgid);
		for (c = r->comm; *c && c < r->comm + sizeof(r->comm); c++) {
			if (*c > ' ' && *c < 0x7f && *c != '\\')
				put(buf, &len, "%c", *c);
			else
				put(buf, &len, "\\x%02x", (unsigned char)*c);
		}
	}
	if (done)
		put(buf, &len, " end=%s bytes_acked=%llu bytes_received=%llu retrans=%u srtt_us=%u",
		    end_names[r->end], (unsigned long long)r->bytes_acked,
		    (unsigned long long)r->bytes_received, r->retrans, r->srtt_us);
	if (r->syn_retrans)
		put(buf, &len, " syn_retrans=%u", r->syn_retrans);
	if (r->rst_reason[0])
		put(buf, &len, " rst_reason=%.*s", (int)sizeof(r->rst_reason), r->rst_reason);
	if (done && (r->flags & TCPTRACE_BINARY_TIMEWAIT))
		put(buf, &len, " timewait=%s",
		    r->flags & TCPTRACE_BINARY_TW_EXPIRED ? "expired" : "killed");
	if (r->flags & TCPTRACE_BINARY_SEEN_AT_LOAD)
		put(buf, &len, " seen_at_load=1");
	if (r->unexpected)
		put(buf, &len, " unexpected=%u", r->unexpected);
	if (r->dropped)
		put(buf, &len, " dropped=%u", r->dropped);
	prev = r->steps[0].oldstate;
	put(buf, &len, " path=%s", state_names[prev]);
	for (i = 0; i < r->nsteps; i++) {
		const struct tcptrace_binary_step *s = &r->steps[i];

		if (s->flags & TCPTRACE_BINARY_STEP_SEEDED)
			continue;
		if (s->oldstate != prev)
			put(buf, &len, "/%s", state_names[s->oldstate]);
		put(buf, &len, ">%s@%llu%s%s%s%s", state_names[s->newstate],
		    (unsigned long long)r->step_ns[i],
		    s->flags & TCPTRACE_BINARY_STEP_SOFTIRQ ? "s" : "",
		    s->flags & TCPTRACE_BINARY_STEP_UNEXPECTED ? "x" : "",
		    s->flags & TCPTRACE_BINARY_STEP_DERIVED ? "d" : "",
		    s->flags & TCPTRACE_BINARY_STEP_TIMEWAIT ? "w" : "");
		prev = s->newstate;
	}
}

static bool record_valid(const struct tcptrace_binary_record *r)
{
	unsigned int i;

	if ((r->kind != TCPTRACE_BINARY_DONE && r->kind != TCPTRACE_BINARY_LIVE) ||
	    (r->family != 4 && r->family != 6) || r->end >= TCPTRACE_NR_ENDS ||
	    !r->nsteps || r->nsteps > TCPTRACE_MAX_STEPS)
		return false;
	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].oldstate >= TCPTRACE_NR_STATES ||
		    r->steps[i].newstate >= TCPTRACE_NR_STATES)
			return false;
	return true;
}

/* Every binary record is a line of the text snapshot, and the other way round. */
TEST_F(binary, same_records_as_text)
{
	const struct tcptrace_binary_header *h;
	char line[TCPTRACE_LINE_MAX];
	struct dump d = { 0 };
	size_t len, n, i;
	int lfd;
	char *bin;

	if (self->skip)
		return;
	ASSERT_NE(0, refused_connect()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, refused_connect6()) TH_LOG("%s", strerror(errno));
	lfd = listener_and_closed_connection();
	ASSERT_LE(0, lfd) TH_LOG("%s", strerror(errno));

	ASSERT_EQ(0, dump_read(&d)) TH_LOG("%s", d.err);
	bin = read_binary(&len);
	ASSERT_NE(NULL, bin) TH_LOG("%s", strerror(errno));
	close(lfd);

	ASSERT_LE(HDR_SIZE, len);
	h = (const void *)bin;
	EXPECT_EQ(TCPTRACE_BINARY_MAGIC, h->magic);
	EXPECT_EQ(TCPTRACE_BINARY_VERSION, h->version);
	EXPECT_EQ(HDR_SIZE, h->header_size);
	EXPECT_EQ(REC_SIZE, h->record_size);
	EXPECT_EQ(TCPTRACE_FORMAT_VERSION, h->format);
	EXPECT_EQ(d.hdr.ring_size, h->ring_size);
	EXPECT_EQ(d.hdr.live_max, h->live_max);
	EXPECT_EQ(d.hdr.mem_bytes, h->mem_bytes);
	EXPECT_EQ(d.hdr.timewait, h->timewait);
	EXPECT_EQ(d.hdr.halfopen, h->halfopen);
	EXPECT_EQ(d.hdr.rst_reasons, h->rst_reasons);
	EXPECT_EQ(d.hdr.filter_ports, h->filter_ports);
	EXPECT_EQ(d.hdr.filter_netns, h->filter_netns);
	EXPECT_LE(d.hdr.now, h->now);
	EXPECT_EQ(0, h->reserved);
	ASSERT_EQ(0, (len - HDR_SIZE) % REC_SIZE) TH_LOG("%zu bytes", len);
	n = (len - HDR_SIZE) / REC_SIZE;

	/* 2 refused, the client in TIME_WAIT, its server's child, the listener. */
	ASSERT_EQ(5, d.nrecs);
	ASSERT_EQ(d.nrecs, n);
	for (i = 0; i < n; i++) {
		const struct tcptrace_binary_record *r;

		r = (const void *)(bin + HDR_SIZE + i * REC_SIZE);
		ASSERT_TRUE(record_valid(r)) TH_LOG("record %zu", i);
		render(r, line);
		EXPECT_STREQ(d.recs[i].line, line);
	}
	free(bin);
	dump_free(&d);
}

/* The header alone first, then whole records; seeks to record boundaries only. */
TEST_F(binary, whole_records)
{
	char *buf = malloc(1 << 16), *all;
	size_t len;
	off_t end;
	int fd, i;

	if (self->skip)
		return;
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 3; i++)
		ASSERT_NE(0, refused_connect()) TH_LOG("%s", strerror(errno));
	all = read_binary(&len);
	ASSERT_NE(NULL, all);
	ASSERT_EQ(HDR_SIZE + 3 * REC_SIZE, len);

	fd = open_binary(0);
	ASSERT_LE(0, fd);
	/* Too small for the header: nothing is read, the position stays. */
	EXPECT_EQ(-1, read(fd, buf, HDR_SIZE - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(HDR_SIZE, read(fd, buf, 1 << 16));
	EXPECT_EQ(-1, read(fd, buf, REC_SIZE - 1));
	EXPECT_EQ(EINVAL, errno);
	/* Two and a half records' room: two records. */
	EXPECT_EQ(2 * REC_SIZE, read(fd, buf, 2 * REC_SIZE + REC_SIZE / 2));
	EXPECT_EQ(0, memcmp(buf, all + HDR_SIZE, 2 * REC_SIZE));
	EXPECT_EQ(REC_SIZE, read(fd, buf, 1 << 16));
	EXPECT_EQ(0, read(fd, buf, 1 << 16));

	/* Into a record, or the header: refused, the position unmoved. */
	EXPECT_EQ(-1, lseek(fd, HDR_SIZE + 1, SEEK_SET));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(fd, 1, SEEK_SET));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(fd, -1, SEEK_END));
	EXPECT_EQ(EINVAL, errno);
	end = lseek(fd, 0, SEEK_CUR);
	EXPECT_EQ(len, end);
	EXPECT_EQ(len - REC_SIZE, lseek(fd, -(off_t)REC_SIZE, SEEK_END));
	EXPECT_EQ(REC_SIZE, read(fd, buf, 1 << 16));
	EXPECT_EQ(0, memcmp(buf, all + len - REC_SIZE, REC_SIZE));
	/* Back to the start: the same snapshot, the header again. */
	EXPECT_EQ(0, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(HDR_SIZE, read(fd, buf, 1 << 16));
	EXPECT_EQ(3 * REC_SIZE, read(fd, buf, 1 << 16));
	EXPECT_EQ(0, memcmp(buf, all + HDR_SIZE, 3 * REC_SIZE));
	close(fd);
	free(all);
	free(buf);
}

/* "binary=N": what is refused says why and leaves the file reading text. */
TEST_F(binary, command)
{
	static const char *const bad[] = {
		"binary=", "binary=0", "binary=+1", "binary=x", "binary=1x",
		"binary=-1", "binary=4294967296",
	};
	char buf[4096];
	unsigned int i;
	int fd;

	if (self->skip)
		return;
	fd = open(TCPTRACE_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, write_cmd(fd, bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i]);
	}
	/* A version this module does not know. */
	snprintf(buf, sizeof(buf), "%s%d", TCPTRACE_CMD_BINARY, TCPTRACE_BINARY_VERSION + 1);
	EXPECT_EQ(-1, write_cmd(fd, buf));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	EXPECT_EQ(64, read(fd, buf, 64));
	EXPECT_EQ(0, strncmp(buf, TCPTRACE_HEADER_TAG " ", strlen(TCPTRACE_HEADER_TAG) + 1));
	/* Once read, the format stays. */
	EXPECT_EQ(-1, write_cmd(fd, TCPTRACE_CMD_BINARY "1"));
	EXPECT_EQ(EBUSY, errno);
	close(fd);

	/* Asked twice before reading: one stream, binary. */
	fd = open_binary(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, write_cmd(fd, TCPTRACE_CMD_BINARY "1"));
	EXPECT_EQ(HDR_SIZE, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(TCPTRACE_BINARY_MAGIC, ((struct tcptrace_binary_header *)buf)->magic);
	close(fd);
}

/* Following: the header alone, then each done history as one whole record. */
TEST_F(binary, follow)
{
	struct tcptrace_binary_record rec;
	struct pollfd pfd;
	char buf[4096];
	unsigned long long cookie;
	int fd;

	if (self->skip)
		return;
	fd = open_binary(O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_cmd(fd, TCPTRACE_CMD_FOLLOW));
	EXPECT_EQ(-1, read(fd, buf, HDR_SIZE - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HDR_SIZE, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(TCPTRACE_BINARY_MAGIC, ((struct tcptrace_binary_header *)buf)->magic);
	/* Nothing done in this namespace yet. */
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);

	cookie = refused_connect();
	ASSERT_NE(0, cookie);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(-1, read(fd, buf, REC_SIZE - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(REC_SIZE, read(fd, &rec, sizeof(rec)));
	EXPECT_TRUE(record_valid(&rec));
	EXPECT_EQ(TCPTRACE_BINARY_DONE, rec.kind);
	EXPECT_EQ(cookie, rec.cookie);
	EXPECT_EQ(TCPTRACE_END_REFUSED, rec.end);
	EXPECT_EQ(netns_inode(), rec.netns);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

#include "tcptrace_main.h"
