#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_views.sh: every view of the reader, run against what the live
# module recorded of real traffic. The host tests check each view's exact
# output on hand-written captures; this checks that the views agree with
# the device, record for record.
#
# Environment: TCPTRACE_KO (the module for the running kernel, loaded and
# unloaded here), TCPTRACE_READER (userspace/tcptrace) and, for the metrics,
# TCPTRACE_PROMTOOL (Prometheus's promtool; those tests skip without it).
# Needs root.
# KTAP on stdout; exit 0 when every test passed or skipped, 1 otherwise,
# 4 when it cannot run at all.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly NS=tcptrace-views-$$
readonly PORT=7300
TMP=$(mktemp -d)
readonly TMP

cleanup()
{
	ip netns del "$NS" 2>/dev/null
	rmmod tcptrace 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "${TCPTRACE_KO:-}" ] || [ ! -x "${TCPTRACE_READER:-}" ] || ! command -v python3 >/dev/null; then
	skip_all "needs TCPTRACE_KO, TCPTRACE_READER and python3"
fi
READER=$(realpath "$TCPTRACE_READER")
ktap_header
ktap_plan 11

in_ns() { ip netns exec "$NS" "$@"; }

# In a namespace of its own, so that the reader sees these sockets only:
# a connection closed by the client, a refused connect, an abort.
rmmod tcptrace 2>/dev/null
insmod "$TCPTRACE_KO" || ktap_bail "insmod $TCPTRACE_KO failed"
ip netns add "$NS" && in_ns ip link set lo up
in_ns python3 - "$PORT" <<'EOF'
import socket, struct, sys, time
port = int(sys.argv[1])
ls = socket.socket(); ls.bind(("127.0.0.1", port)); ls.listen()
c = socket.create_connection(("127.0.0.1", port)); s, _ = ls.accept()
c.sendall(b"ping"); s.recv(4); c.close(); time.sleep(0.05); s.close()
try:
    socket.create_connection(("127.0.0.1", port + 1))
except ConnectionRefusedError:
    pass
c = socket.create_connection(("127.0.0.1", port)); s, _ = ls.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close(); time.sleep(0.05); s.close(); ls.close()
EOF
sleep 0.2
in_ns cat /dev/tcptrace > "$TMP/capture"
records=$(grep -cvE '^#' "$TMP/capture")

# 1. The table: one row per record.
in_ns "$READER" -n -H > "$TMP/table"
result $(( $? != 0 || $(wc -l < "$TMP/table") != records )) "table: one row per record ($records)"

# 2. JSON: every line an object of schema 1, with the same ids as the device.
in_ns "$READER" -j > "$TMP/json"
python3 - "$TMP/json" "$TMP/capture" <<'EOF'
import json, sys
objs = [json.loads(line) for line in open(sys.argv[1])]
ids = sorted(int(l.split()[1]) for l in open(sys.argv[2]) if not l.startswith("#"))
assert all(o["schema"] == 1 for o in objs)
assert sorted(o["id"] for o in objs) == ids, (sorted(o["id"] for o in objs), ids)
EOF
result $? "json: one object per record, same ids as the device"

# 3. The summary counts the end reasons the device gave.
in_ns "$READER" --summary -j > "$TMP/summary"
python3 - "$TMP/summary" "$TMP/capture" <<'EOF'
import collections, json, sys
ends = json.load(open(sys.argv[1]))["ends"]
want = collections.Counter(w[4:] for l in open(sys.argv[2]) for w in l.split() if w.startswith("end="))
assert ends == dict(want), (ends, want)
assert want["refused"] == 1 and want["aborted"] == 1, want
EOF
result $? "summary: end reasons counted as the device says"

# 4. The timeline shows the client's states with durations.
in_ns "$READER" --timeline -n > "$TMP/timeline"
result $(( $? != 0 )) "timeline: runs"
grep -q "ESTABLISHED" "$TMP/timeline" && grep -qE "for [0-9.]+(ns|us|ms|s)" "$TMP/timeline"
result $? "timeline: states with how long they lasted"

# 5. The ladder pairs the client with its server on the same 4-tuple, and
# numbers their segments from the byte counters: the client sent 4 bytes
# after its SYN, so its FIN is at 1 + 4 = 5 (acked with 6); the server
# sent none, its FIN is at 1 (acked with 2).
in_ns "$READER" --ladder -n > "$TMP/ladder"
grep -qE "^127\.0\.0\.1:[0-9]+ > 127\.0\.0\.1:$PORT " "$TMP/ladder" &&
	grep -q -- "--- SYN seq=0 ---" "$TMP/ladder" &&
	grep -q -- "--- FIN seq=5 ---" "$TMP/ladder" &&
	grep -q -- "- ACK ack=6 ---" "$TMP/ladder" &&
	grep -q -- "- FIN seq=1 ---" "$TMP/ladder" &&
	grep -q -- "--- ACK ack=2 ---" "$TMP/ladder"
result $? "ladder: client and server of a connection paired, their segments numbered"

# 6. The graph is DOT with the client's active close in it.
in_ns "$READER" --graph > "$TMP/graph"
head -n 1 "$TMP/graph" | grep -q '^digraph' &&
	grep -q '"ESTABLISHED" -> "FIN_WAIT1"' "$TMP/graph"
result $? "graph: a DOT graph with ESTABLISHED -> FIN_WAIT1"

# 7. A filter keeps the refused connect only.
n=$(in_ns "$READER" -n -H -D $((PORT + 1)) | wc -l)
result $(( n != 1 )) "filter: -D $((PORT + 1)) selects the refused connect"

# 8. Metrics of the live device: valid for Prometheus's own checker, and
# counting the end reasons the device gave.
if [ -x "${TCPTRACE_PROMTOOL:-}" ]; then
	in_ns "$READER" --metrics > "$TMP/metrics" &&
		"$TCPTRACE_PROMTOOL" check metrics < "$TMP/metrics" > "$TMP/promtool" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/promtool"
	result "$rc" "metrics: the live device's pass promtool check metrics"
	grep -qx 'tcptrace_histories_total{family="ipv4",end="refused"} 1' "$TMP/metrics" &&
		grep -qx 'tcptrace_histories_total{family="ipv4",end="aborted"} 1' "$TMP/metrics"
	result $? "metrics: the refused connect and the abort counted"
else
	for what in "pass promtool check metrics" "count the end reasons"; do
		ktap_skip "metrics: $what" "no promtool (TCPTRACE_PROMTOOL)"
	done
fi

# 9. Following: a history that completes while the reader follows shows
# up, and SIGTERM ends the reader cleanly. Waits are polled and bounded:
# under emulation the reader may take a while to start.
wait_for() {	# wait_for TENTHS COMMAND...: until COMMAND succeeds
	local i
	for ((i = 0; i < $1; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}
# ip netns exec may fork: the reader tells its own pid, to be signalled.
in_ns sh -c 'echo $$ > "$1"; exec "$2" -f -j' sh "$TMP/follower.pid" "$READER" \
	> "$TMP/follow" 2> "$TMP/follow.err" &
job=$!
wait_for 300 test -s "$TMP/follower.pid"
follower=$(cat "$TMP/follower.pid")
wait_for 300 sh -c "ls -l /proc/$follower/fd 2>/dev/null | grep -q tcptrace"
in_ns python3 -c "
import socket
try: socket.create_connection(('127.0.0.1', $((PORT + 2))))
except ConnectionRefusedError: pass"
wait_for 100 grep -q "\"port\":$((PORT + 2))}.*\"end\":\"refused\"" "$TMP/follow"
found=$?
kill -TERM "$follower"
wait_for 100 sh -c "! kill -0 $follower 2>/dev/null" || kill -KILL "$follower"
wait "$job"
rc=$?
if [ "$found" -ne 0 ] || [ "$rc" -ne 0 ]; then
	echo "# follow: found=$found exit=$rc; its output and errors:"
	sed 's/^/#   /' "$TMP/follow" "$TMP/follow.err"
fi
result $(( found != 0 || rc != 0 )) "follow: a new history streams in; SIGTERM exits 0"

ktap_finish
