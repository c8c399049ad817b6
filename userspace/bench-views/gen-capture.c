// SPDX-License-Identifier: GPL-2.0
/*
 * gen-capture: write a synthetic capture of N histories, in format 2, for
 * the views' benchmark ("make bench-views"): the header, then N done
 * records of the shapes a busy host shows (client and server of loopback
 * connections, refused connects, SYN cookies, failed handshakes, resets),
 * in the order they would complete, with all the fields of format 2.
 *
 * Usage: gen-capture N > capture.txt. The output depends on N alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define NETNS	4026531840ULL

struct rng {
	uint64_t state;
};

static uint32_t next(struct rng *r)
{
	r->state = r->state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(r->state >> 33);
}

/* A client's active close through TIME_WAIT, and its server's passive one. */
static void connection(struct rng *r, uint64_t *seq, uint64_t id, uint64_t t0,
		       unsigned int port)
{
	uint64_t rtt = 20000 + next(r) % 200000, life = 1000000 + next(r) % 50000000;

	printf("done %" PRIu64 " ipv4 127.0.0.1:8080 127.0.0.1:%u seq=%" PRIu64
	       " t0=%" PRIu64 " netns=%llu uid=0 pid=331 tgid=331 comm=server"
	       " end=passive_close bytes_acked=%u bytes_received=%u retrans=0 srtt_us=%" PRIu64
	       " path=LISTEN>NEW_SYN_RECV@0sd>SYN_RECV@%" PRIu64 "s>ESTABLISHED@%" PRIu64
	       "s>CLOSE_WAIT@%" PRIu64 "s>LAST_ACK@%" PRIu64 ">CLOSE@%" PRIu64 "s\n",
	       id + 1, port, (*seq)++, t0 + rtt / 2, NETNS, next(r) % 100000,
	       next(r) % 1000, rtt / 1000, rtt, rtt + 500, life, life + 40000,
	       life + 40000 + rtt);
	printf("done %" PRIu64 " ipv4 127.0.0.1:%u 127.0.0.1:8080 seq=%" PRIu64
	       " t0=%" PRIu64 " netns=%llu uid=1000 pid=%u tgid=%u comm=curl"
	       " end=active_close timewait=expired bytes_acked=%u bytes_received=%u"
	       " retrans=%u srtt_us=%" PRIu64
	       " path=CLOSE>SYN_SENT@0>ESTABLISHED@%" PRIu64 "s>FIN_WAIT1@%" PRIu64
	       ">FIN_WAIT2@%" PRIu64 "s>FIN_WAIT2@%" PRIu64 "sw>TIME_WAIT@%" PRIu64
	       "sd>CLOSE@%" PRIu64 "sd\n",
	       id, port, (*seq)++, t0, NETNS, 1000 + next(r) % 30000, 1000 + next(r) % 30000,
	       next(r) % 1000, next(r) % 100000, next(r) % 4, rtt / 1000,
	       rtt, life, life + rtt, life + rtt + 1500, life + 40000 + rtt,
	       life + 40000 + rtt + (uint64_t)60000000000);
}

static void other(struct rng *r, uint64_t *seq, uint64_t id, uint64_t t0,
		  unsigned int port)
{
	switch (next(r) % 4) {
	case 0:
		printf("done %" PRIu64 " ipv4 127.0.0.1:%u 127.0.0.1:9 seq=%" PRIu64
		       " t0=%" PRIu64 " netns=%llu uid=1000 pid=400 tgid=400 comm=nc"
		       " end=refused bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0"
		       " path=CLOSE>SYN_SENT@0>CLOSE@%us\n",
		       id, port, (*seq)++, t0, NETNS, 30000 + next(r) % 30000);
		break;
	case 1:
		printf("done %" PRIu64 " ipv4 10.0.0.1:8080 10.0.%u.%u:%u seq=%" PRIu64
		       " t0=%" PRIu64 " netns=%llu uid=0 end=syncookie bytes_acked=0"
		       " bytes_received=0 retrans=0 srtt_us=0"
		       " path=LISTEN>NEW_SYN_RECV@0sd>CLOSE@%usd\n",
		       id, next(r) % 256, next(r) % 256, port, (*seq)++, t0, NETNS,
		       1000 + next(r) % 2000);
		break;
	case 2:
		printf("done %" PRIu64 " ipv6 [2001:db8::1]:443 [2001:db8::%x]:%u seq=%" PRIu64
		       " t0=%" PRIu64 " netns=%llu uid=0 end=handshake_failed"
		       " bytes_acked=0 bytes_received=0 retrans=5 srtt_us=0"
		       " path=LISTEN>NEW_SYN_RECV@0sd>CLOSE@63000000000sd\n",
		       id, next(r) % 65536, port, (*seq)++, t0, NETNS);
		break;
	default:
		printf("done %" PRIu64 " ipv6 [::1]:%u [::1]:6000 seq=%" PRIu64
		       " t0=%" PRIu64 " netns=%llu uid=1000 pid=500 tgid=498 comm=my\\x20app"
		       " end=reset_received bytes_acked=10 bytes_received=0 retrans=2"
		       " srtt_us=15 path=CLOSE>SYN_SENT@0>ESTABLISHED@30000s>CLOSE@%us\n",
		       id, port, (*seq)++, t0, NETNS, 50000 + next(r) % 100000);
		break;
	}
}

int main(int argc, char *argv[])
{
	static char buf[1 << 20];
	struct rng r = { 42 };
	uint64_t n, seq = 0, id = 4096, t0 = (uint64_t)100000000000;

	if (argc != 2 || (n = strtoull(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: gen-capture N\n");
		return 2;
	}
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	printf("# tcptrace format=2 now=%" PRIu64 " live=0 live_max=16384 done=%" PRIu64
	       " ring_size=4194304 events=%" PRIu64 " created=%" PRIu64 " completed=%" PRIu64
	       " drop_table_full=0 drop_steps_full=0 ring_overwritten=0 unexpected=0"
	       " syncookies=0 kprobe_missed=0 filtered=0 filter_ports=0 filter_netns=0"
	       " evicted=0 mem_bytes=1952000000 timewait=1 halfopen=1\n",
	       t0 + n * 100000 + (uint64_t)120000000000, n, 6 * n, n, n);
	while (seq < n) {
		unsigned int port = 32768 + (unsigned int)(seq % 28000);

		t0 += 50000 + next(&r) % 100000;
		if (n - seq >= 2 && next(&r) % 10 < 7)
			connection(&r, &seq, id, t0, port);
		else
			other(&r, &seq, id, t0, port);
		id += 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
