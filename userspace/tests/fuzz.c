// SPDX-License-Identifier: GPL-2.0
/*
 * A small deterministic fuzzer, run by "make test": it mutates the captures
 * of tests/data (given as arguments) and some lines of its own, and feeds
 * each result through the parser, the line reader, the filters and every
 * view (tests/fuzz_target.c). It checks nothing but that they survive:
 * built with sanitizers or run under valgrind, that means no memory error
 * and no leak, whatever the input.
 *
 * Usage: fuzz ITERATIONS CAPTURE...; prints one KTAP-like result line.
 * The same arguments make the same inputs: a failure can be replayed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../input.h"
#include "fuzz_target.h"

#define INPUT_MAX	(16 * 1024)
#define SEEDS_MAX	64

/* Pieces the format is made of, to splice in. */
static const char *const tokens[] = {
	"\n", " ", "=", ">", "/", "@", "#", "\\x", "\\x2", "\\", "0", "9",
	"18446744073709551615", "18446744073709551616", "99999999999999999999999",
	"path=", "t0=", "seq=", "comm=", "end=", "timewait=", "seen_at_load=",
	"unexpected=", "dropped=", "netns=", "pid=", "tgid=", "uid=",
	"CLOSE", "LISTEN", "SYN_SENT", "NEW_SYN_RECV", "TIME_WAIT", "UNKNOWN",
	"FIN_WAIT2", "ESTABLISHED", "@0sd", "@1xw", "/ESTABLISHED",
	"syncookie", "active_close", "expired", "killed",
	"ipv4", "ipv6", "[::ffff:127.0.0.1]:", "[::]:0", "127.0.0.1:", ":65535", ":65536",
	"done ", "live ", "gone ", "# tcptrace format=2 ", "# tcptrace format=1 ",
	"# tcptrace format=3\n",
	/* JSON (json.c) */
	"{", "}", "[", "]", "\"", ":", ",", "\\u00e9", "\\ud83d\\ude00", "\\ud800",
	"null", "true", "false", "-1.5e+3", "{\"lost\":3}\n", "\"schema\":1,",
	"\"kind\":\"done\",", "\"steps\":[", "{\"from\":\"CLOSE\",\"to\":\"SYN_SENT\",\"t_ns\":0}",
	"\"host\":\"h\",", "\"boot_id\":\"0a6c9f4e-8b1f-4c55-9d0e-3b2f1e0c7d11\",",
};

static const char builtin_seed[] =
	"# tcptrace format=2 now=5 live=1 live_max=8 done=1 ring_size=8 events=2 created=2 completed=1 drop_table_full=0 drop_steps_full=0 ring_overwritten=0 mem_bytes=4000 timewait=1\n"
	"done 4102 ipv4 127.0.0.1:38876 127.0.0.1:8080 seq=8 t0=116626567032 netns=1 uid=1 pid=2 tgid=3 comm=a\\x20b end=active_close timewait=expired bytes_acked=1 bytes_received=2 retrans=3 srtt_us=4 path=CLOSE>SYN_SENT@0>ESTABLISHED@446510s>FIN_WAIT1@5186660>FIN_WAIT2@13217930s>FIN_WAIT2@13479350sw>TIME_WAIT@58174510sd>CLOSE@60058174510sd\n"
	"done 4103 ipv4 127.0.0.1:8080 127.0.0.1:38876 seq=7 t0=116626587032 netns=1 end=passive_close path=LISTEN>NEW_SYN_RECV@0sd>SYN_RECV@440000s>ESTABLISHED@440500s>CLOSE_WAIT@5180000s>LAST_ACK@58080000>CLOSE@58160000s\n"
	"live 1 ipv6 [::1]:1 [::1]:2 t0=1 seen_at_load=1 unexpected=2 dropped=1 path=SYN_SENT/ESTABLISHED>FIN_WAIT1@5x>CLOSING@6>TIME_WAIT@7w\n";

struct rng {
	uint64_t state;
};

static uint64_t next(struct rng *r)
{
	/* xorshift64* */
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * 2685821657736338717ULL;
}

static size_t below(struct rng *r, size_t n)
{
	return n ? next(r) % n : 0;
}

struct buffer {
	size_t len;
	uint8_t data[INPUT_MAX];
};

static void insert(struct buffer *b, size_t at, const void *what, size_t len)
{
	if (b->len + len > INPUT_MAX)
		len = INPUT_MAX - b->len;
	memmove(b->data + at + len, b->data + at, b->len - at);
	memcpy(b->data + at, what, len);
	b->len += len;
}

/* One random change to @b; @other is another seed, for splicing. */
static void mutate(struct rng *r, struct buffer *b, const struct buffer *other)
{
	size_t at = below(r, b->len + 1), len;
	const char *token;

	switch (below(r, 7)) {
	case 0:		/* flip a byte */
		if (b->len)
			b->data[below(r, b->len)] ^= (uint8_t)(1u << below(r, 8));
		break;
	case 1:		/* a byte of any value */
		if (b->len)
			b->data[below(r, b->len)] = (uint8_t)next(r);
		break;
	case 2:		/* a piece of the format */
		token = tokens[below(r, sizeof(tokens) / sizeof(tokens[0]))];
		insert(b, at, token, strlen(token));
		break;
	case 3:		/* drop a range */
		len = below(r, b->len - at + 1);
		memmove(b->data + at, b->data + at + len, b->len - at - len);
		b->len -= len;
		break;
	case 4:		/* repeat a range */
		len = below(r, 200);
		if (at + len <= b->len) {
			uint8_t piece[200];

			memcpy(piece, b->data + at, len);
			insert(b, below(r, b->len + 1), piece, len);
		}
		break;
	case 5:		/* cut the end: a truncated capture */
		b->len = at;
		break;
	default:	/* splice in a piece of another seed */
		len = below(r, 400);
		if (other->len) {
			size_t from = below(r, other->len);

			if (from + len > other->len)
				len = other->len - from;
			insert(b, at, other->data + from, len);
		}
		break;
	}
}

static bool load_seed(const char *path, struct buffer *b)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	b->len = fread(b->data, 1, INPUT_MAX, f);
	fclose(f);
	return true;
}

/* The line reader too: through a file, so that read() cuts it anywhere. */
static bool read_lines(const struct buffer *b)
{
	char path[] = "/tmp/tcptrace-fuzz-XXXXXX";
	int fd = mkstemp(path);
	struct tt_input *in;
	bool ok = true;

	if (fd < 0)
		return false;
	unlink(path);
	in = malloc(sizeof(*in));
	if (!in || write(fd, b->data, b->len) != (ssize_t)b->len ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		ok = false;
	} else {
		*in = (struct tt_input){ .fd = fd, .name = "fuzz" };
		while (tt_input_next(in) == TT_INPUT_LINE)
			ok &= in->len <= sizeof(in->line);
	}
	free(in);
	close(fd);
	return ok;
}

int main(int argc, char *argv[])
{
	static struct buffer seeds[SEEDS_MAX], input;
	struct rng rng = { 0x9e3779b97f4a7c15ULL };
	size_t nr_seeds = 1, records = 0, i;
	unsigned long iterations;
	FILE *sink;
	int a;

	if (argc < 2) {
		fprintf(stderr, "usage: fuzz ITERATIONS [CAPTURE]...\n");
		return 2;
	}
	iterations = strtoul(argv[1], NULL, 10);
	seeds[0].len = sizeof(builtin_seed) - 1;
	memcpy(seeds[0].data, builtin_seed, seeds[0].len);
	for (a = 2; a < argc && nr_seeds < SEEDS_MAX; a++) {
		if (!load_seed(argv[a], &seeds[nr_seeds])) {
			fprintf(stderr, "fuzz: %s: %s\n", argv[a], strerror(errno));
			return 1;
		}
		nr_seeds++;
	}
	sink = fopen("/dev/null", "w");
	if (!sink) {
		fprintf(stderr, "fuzz: /dev/null: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < iterations; i++) {
		unsigned int n = 1 + (unsigned int)below(&rng, 8), m;

		input = seeds[below(&rng, nr_seeds)];
		for (m = 0; m < n; m++)
			mutate(&rng, &input, &seeds[below(&rng, nr_seeds)]);
		records += tt_fuzz_one(input.data, input.len, sink);
		if (i % 64 == 0 && !read_lines(&input)) {
			printf("not ok fuzz: the line reader failed at iteration %zu\n", i);
			return 1;
		}
	}
	fclose(sink);
	printf("ok fuzz: %lu mutated inputs (%zu records parsed) through the parser, the reader, the filters and every view\n",
	       iterations, records);
	return 0;
}
