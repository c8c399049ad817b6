#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_ladder.sh: the ladder's sequence and acknowledgment numbers
# (tcptrace --ladder) are those on the wire, as tcpdump -S shows them made
# relative to each direction's ISN, for a client-first close, a
# server-first close (the server's socket handed over in FIN_WAIT2 before
# the client's FIN) and a simultaneous close (the FINs cross: 20 ms of
# netem delay each way).
#
# The reader derives the numbers from the byte counters the module reads
# at each socket's end; tcpdump sees the segments themselves. Every
# number the ladder prints is checked, and each close must have its two
# FIN numbers.
#
# Environment: TCPTRACE_KO (the module for the running kernel, loaded and
# unloaded here) and TCPTRACE_READER (userspace/tcptrace). Needs root,
# python3, tcpdump and netem (sch_netem). KTAP on stdout; exit 0 when
# every test passed or skipped, 1 otherwise, 4 when it cannot run at all.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly NS=tcptrace-ladder-$$
readonly PORT=7400	# the client-first close; +1 server-first, +2 simultaneous
TMP=$(mktemp -d)
readonly TMP
tcpdump_pid=

cleanup()
{
	[ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rmmod tcptrace 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "${TCPTRACE_KO:-}" ] || [ ! -x "${TCPTRACE_READER:-}" ] ||
   ! command -v python3 > /dev/null || ! command -v tcpdump > /dev/null; then
	skip_all "needs TCPTRACE_KO, TCPTRACE_READER, python3 and tcpdump"
fi
READER=$(realpath "$TCPTRACE_READER")

in_ns() { ip netns exec "$NS" "$@"; }

{ ip netns add "$NS" && in_ns ip link set lo up; } ||
	skip_all "cannot make a network namespace"
in_ns tc qdisc add dev lo root netem delay 20ms 2> /dev/null ||
	skip_all "no netem qdisc (sch_netem)"
ktap_header
ktap_plan 4

rmmod tcptrace 2>/dev/null
insmod "$TCPTRACE_KO" || ktap_bail "insmod $TCPTRACE_KO failed"
netns=$(in_ns stat -L -c %i /proc/self/ns/net)

# tcpdump is ready once it says it listens; --immediate-mode, so that a
# packet is not held in a ring block that SIGTERM would drop. Not through
# in_ns: $! must be tcpdump itself (ip netns exec execs it). SIGTERM ends
# it: an asynchronous command of a script ignores SIGINT.
ip netns exec "$NS" tcpdump -i lo -n -S -U --immediate-mode -w "$TMP/pcap" \
	"tcp portrange $PORT-$((PORT + 2))" 2> "$TMP/tcpdump.err" &
tcpdump_pid=$!
busywait 10000 grep -q "listening on" "$TMP/tcpdump.err" ||
	ktap_bail "tcpdump did not start: $(cat "$TMP/tcpdump.err")"

# Each close with its own amounts of data, so that no number is another's.
in_ns python3 - "$PORT" <<'EOF' || ktap_bail "the traffic failed"
import socket, sys, time
port = int(sys.argv[1])

def pair(p, c_bytes, s_bytes):
    ls = socket.socket()
    ls.bind(("127.0.0.1", p))
    ls.listen()
    c = socket.create_connection(("127.0.0.1", p))
    s, _ = ls.accept()
    ls.close()
    c.sendall(b"c" * c_bytes)
    got = 0
    while got < c_bytes:
        got += len(s.recv(65536))
    s.sendall(b"s" * s_bytes)
    got = 0
    while got < s_bytes:
        got += len(c.recv(65536))
    return c, s

def until_eof(sock):
    while sock.recv(65536):
        pass

# Client first: the client closes, the server reads the end, then closes.
c, s = pair(port, 120, 4000)
c.close()
until_eof(s)
s.close()
# Server first: the client closes only once the server's socket has been
# handed over in FIN_WAIT2 (its FIN acked: one round trip, 40 ms).
c, s = pair(port + 1, 16, 512)
s.close()
time.sleep(0.3)
until_eof(c)
c.close()
# Simultaneous: both close within microseconds; each FIN is 20 ms away.
c, s = pair(port + 2, 9, 27)
c.close()
s.close()
time.sleep(0.5)
EOF
# Every segment written (--immediate-mode, -U): the six FINs at least.
fins() { [ "$(tcpdump -n -r "$TMP/pcap" 2> /dev/null | grep -c 'Flags \[F')" -ge 6 ]; }
busywait 10000 fins || diag "tcpdump did not write all six FINs"
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" 2> /dev/null
tcpdump_pid=
tcpdump -n -S -r "$TMP/pcap" > "$TMP/segments" 2> /dev/null ||
	ktap_bail "tcpdump could not read its capture"

# The sockets left in TIME_WAIT end with their namespace: every history
# is done, with the counters read when each socket closed.
ip netns del "$NS"
python3 - "$netns" > "$TMP/capture" <<'EOF' || ktap_bail "cannot read the device"
import os, sys, time
netns = "netns=" + sys.argv[1]
for _ in range(300):
    fd = os.open("/dev/tcptrace", os.O_RDWR)
    os.write(fd, b"all-netns")
    text = b""
    while chunk := os.read(fd, 1 << 20):
        text += chunk
    os.close(fd)
    lines = text.decode().splitlines()
    mine = [l for l in lines[1:] if netns in l.split()]
    if mine and not any(l.startswith("live ") for l in mine):
        break
    time.sleep(0.1)
print(lines[0])
print("\n".join(mine))
EOF
"$READER" -n --ladder -r "$TMP/capture" > "$TMP/ladder" 2> "$TMP/ladder.err" ||
	ktap_bail "tcptrace --ladder failed: $(cat "$TMP/ladder.err")"

# One test per close: tcpdump's relative numbers against the ladder's.
python3 - "$PORT" "$TMP/segments" "$TMP/ladder" > "$TMP/results" <<'EOF'
import re, sys
port = int(sys.argv[1])
names = {port: "client-first close", port + 1: "server-first close",
         port + 2: "simultaneous close"}

# tcpdump -S: "IP A.B.C.D.P > A.B.C.D.Q: Flags [F.], seq X[:Y], ack Z, ..."
seg = re.compile(r"IP (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\]"
                 r"(?:, seq (\d+)(?::(\d+))?)?(?:, ack (\d+))?")
conns = {}
for line in open(sys.argv[2]):
    m = seg.search(line)
    if not m:
        continue
    sport, dport, flags = int(m[2]), int(m[4]), m[5]
    to_server = dport in names
    srv = dport if to_server else sport
    c = conns.setdefault(srv, {"isn": {}, "fin": {}, "acks": {True: set(), False: set()}})
    if m[6] is not None and "S" in flags:
        c["isn"][to_server] = int(m[6])
    if "F" in flags:
        # The FIN's own number comes after the data the segment carries.
        c["fin"][to_server] = int(m[7] if m[7] else m[6])
    if m[8] is not None:
        c["acks"][to_server].add(int(m[8]))

def rel(c, to_server, n):
    return (n - c["isn"][to_server]) % (1 << 32)

# The ladder, by the server port of each pair's heading line.
blocks, cur = {}, None
for line in open(sys.argv[3]):
    h = re.match(r"\S+:\d+ > \S+:(\d+) netns", line)
    if h:
        cur = blocks.setdefault(int(h[1]), [])
    elif cur is not None:
        cur.append(line)

ok = True
for srv, name in names.items():
    c, lines = conns.get(srv), "".join(blocks.get(srv, []))
    problems = []
    if not c or len(c["fin"]) != 2 or len(c["isn"]) != 2:
        problems.append("tcpdump did not see its SYNs and FINs:")
        problems += [l.strip() for l in open(sys.argv[2]) if f".{srv}" in l]
    else:
        want = {"client": rel(c, True, c["fin"][True]),
                "server": rel(c, False, c["fin"][False])}
        got = {"client": re.findall(r"--- FIN seq=(\d+) -*>", lines),
               "server": re.findall(r"<-* FIN seq=(\d+) ---", lines)}
        for side in ("client", "server"):
            if got[side] != [str(want[side])]:
                problems.append(f"{side} FIN: ladder {got[side]}, wire seq={want[side]}")
        # Every ack= the ladder prints was on the wire, in its direction.
        for n in re.findall(r"--- ACK ack=(\d+) -*>", lines):
            if int(n) not in {rel(c, False, a) for a in c["acks"][True]}:
                problems.append(f"client ACK ack={n} not on the wire")
        for n in re.findall(r"<-* ACK ack=(\d+) ---", lines):
            if int(n) not in {rel(c, True, a) for a in c["acks"][False]}:
                problems.append(f"server ACK ack={n} not on the wire")
        # Each close took the way it is named for.
        if srv == port + 1 and "FIN_WAIT2 w" not in lines:
            problems.append("the server was not handed over in FIN_WAIT2")
        if srv == port + 2 and lines.count("CLOSING") < 2:
            problems.append("the FINs did not cross: no CLOSING on both sides")
        for label in ("--- SYN seq=0 -", "<--- SYN,ACK seq=0 ack=1 ---", "--- ACK seq=1 ack=1 -"):
            if label not in lines:
                problems.append(f"no '{label.strip('-<> ')}'")
    print(f"{'ok' if not problems else 'not ok'}\t{name}: the ladder's numbers are tcpdump's"
          + "".join(f"\t{p}" for p in problems))
EOF
[ -s "$TMP/results" ] || ktap_bail "the comparison did not run"
while IFS=$'\t' read -r status name problems; do
	[ "$status" = ok ]
	rc=$?
	[ $rc != 0 ] && printf '# %s\n' "${problems//$'\t'/$'\n# '}"
	result $rc "$name"
done < "$TMP/results"

# The capture, for whoever reads a failure.
grep -q "FIN seq=" "$TMP/ladder"
rc=$?
[ $rc != 0 ] && sed 's/^/# /' "$TMP/ladder"
result $rc "ladder: FINs numbered at all"
ktap_finish
