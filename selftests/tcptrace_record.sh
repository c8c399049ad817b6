#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_record.sh: "tcptrace record" and the shell library
# (userspace/tcptrace_lib.sh) against the real module. It loads nothing
# itself: record loads the module (TCPTRACE_KO) and unloads it.
#
# Environment: TCPTRACE_KO (the module for the running kernel) and
# TCPTRACE_READER (userspace/tcptrace). Needs root and python3.
# KTAP on stdout; exit 0 when every test passed or skipped, 1 otherwise,
# 4 when it cannot run at all.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

readonly PORT=7400
TMP=$(mktemp -d)
readonly TMP

cleanup()
{
	[ -n "${bg:-}" ] && kill -TERM "$bg" 2> /dev/null && wait "$bg"
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "${TCPTRACE_KO:-}" ] || [ ! -x "${TCPTRACE_READER:-}" ] || ! command -v python3 > /dev/null; then
	skip_all "needs TCPTRACE_KO, TCPTRACE_READER and python3"
fi
[ "$(id -u)" = 0 ] || skip_all "needs root"
is_loaded && skip_all "the module is loaded already: this test checks that record loads it"
READER=$(realpath "$TCPTRACE_READER")
# The library that goes with the reader: beside it in a source tree
# (also when these tests were copied into a kernel tree), in
# share/tcptrace/ when installed, or copied next to this test.
LIB=
for lib in "$(dirname "$READER")/tcptrace_lib.sh" \
	   "$(dirname "$READER")/../share/tcptrace/tcptrace_lib.sh" \
	   "$here/tcptrace_lib.sh"; do
	[ -r "$lib" ] && LIB=$lib && break
done
[ -n "$LIB" ] || skip_all "no tcptrace_lib.sh beside the reader $READER"
export TCPTRACE_KO
ktap_header
ktap_plan 14

record() { "$READER" record "$@"; }

# connect PORT: a connect() to 127.0.0.1:PORT, refused.
refused() { python3 -c "
import socket
try: socket.create_connection(('127.0.0.1', $1))
except ConnectionRefusedError: pass"; }

# 1-2. record loads the module for COMMAND and unloads it after.
record -o "$TMP/c1" -- sh -c "test -c $DEV && test -d $SYSMOD" 2> "$TMP/err1"
result $? "record: the module is loaded while COMMAND runs"
is_unloaded
result $? "record: and unloaded after"

# 3-4. COMMAND's exit status; 128+N for its signal.
record -o "$TMP/c3" -- sh -c 'exit 3' 2> /dev/null
rc=$?
[ "$rc" = 3 ]
result $? "record: exit 3 gives 3 (got $rc)"
record -o "$TMP/c4" -- sh -c 'kill -TERM $$' 2> /dev/null
rc=$?
[ "$rc" = 143 ]
result $? "record: COMMAND killed by SIGTERM gives 143 (got $rc)"

# 5. SIGINT sent to record goes to COMMAND, which handles it; record
# finishes the capture, unloads, and exits with COMMAND's status.
# (Not through the function record: $! would be a subshell's.)
"$READER" record -o "$TMP/c5" -- python3 -c "
import signal, sys, time
signal.signal(signal.SIGINT, lambda *a: sys.exit(7))
open('$TMP/ready5', 'w').close()
time.sleep(60)" 2> "$TMP/err5" &
pid=$!
busywait 30000 test -e "$TMP/ready5"
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 7 ] && read_header "$TMP/c5" && is_unloaded
result $? "record: SIGINT forwarded to COMMAND (exit $rc), capture complete"
[ "$rc" = 7 ] || sed 's/^/#   /' "$TMP/err5"

# 6. The library: tcptrace_start records in the background (loading the
# module); a refused connect before the next record must stay out of it.
# shellcheck source=../userspace/tcptrace_lib.sh
TCPTRACE=$READER   # the library reads it
# shellcheck disable=SC1090 # installed or beside this test
source "$LIB"
tcptrace_start "$TMP/bg.cap" && is_loaded && read_header "$TMP/bg.cap"
result $? "library: tcptrace_start loads the module and is ready"
refused $((PORT + 2))

# 7-10. A workload: a connection to a local listener closed by the client
# (whose TIME_WAIT is still live at the end) and a refused connect.
record -o "$TMP/work.cap" -- python3 -c "
import socket, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', $PORT)); ls.listen()
c = socket.create_connection(('127.0.0.1', $PORT)); s, _ = ls.accept()
c.sendall(b'ping'); s.recv(4); c.close(); time.sleep(0.05); s.close(); ls.close()
try: socket.create_connection(('127.0.0.1', $((PORT + 1))))
except ConnectionRefusedError: pass" 2> "$TMP/work.err"
rc=$?
[ "$rc" = 0 ] && is_loaded
result $? "record: workload exit 0, and the module it found loaded stays loaded"
grep -q "^done .* 127\.0\.0\.1:$((PORT + 1)) .*end=refused " "$TMP/work.cap" &&
	grep -q "^done [0-9]* ipv4 127\.0\.0\.1:$PORT .*end=passive_close " "$TMP/work.cap"
result $? "record: captures the workload's done histories (refused, passive close)"
grep -q "^live [0-9]* ipv4 127\.0\.0\.1:[0-9]* 127\.0\.0\.1:$PORT .*TIME_WAIT" "$TMP/work.cap"
result $? "record: the client's TIME_WAIT, still live at the end, is captured live"
! grep -q ":$((PORT + 2)) " "$TMP/work.cap"
result $? "record: a history done before record started is not captured"

# 11. The capture reads back: one row per record, exit 0.
"$READER" -r "$TMP/work.cap" -n -H > "$TMP/table" 2> "$TMP/table.err"
rc=$?
records=$(grep -c '^[dl]' "$TMP/work.cap")
[ "$rc" = 0 ] && [ ! -s "$TMP/table.err" ] && [ "$(wc -l < "$TMP/table")" = "$records" ] &&
	grep -q "tcptrace record: .* (all network namespaces)" "$TMP/work.err"
result $? "record: tcptrace -r reads the capture back ($records records), summary says all-netns"

# 12. --ktap: COMMAND fails, so its abnormal histories are printed in full.
record --ktap -o "$TMP/fail.cap" -- sh -c "python3 -c \"
import socket
try: socket.create_connection(('127.0.0.1', $((PORT + 3))))
except ConnectionRefusedError: pass\"; exit 1" > "$TMP/ktap" 2> "$TMP/ktap.err"
rc=$?
[ "$rc" = 1 ] && grep -q "^# done .* 127\.0\.0\.1:$((PORT + 3)) .*end=refused " "$TMP/ktap" &&
	grep -q '^# tcptrace record: .* histories in ' "$TMP/ktap" &&
	! grep -qv '^#' "$TMP/ktap"
result $? "record --ktap: a failing COMMAND's abnormal histories as '# ' lines"
[ "$rc" = 1 ] || sed 's/^/#   /' "$TMP/ktap" "$TMP/ktap.err"

# 13-14. The library's stop and dump: the background capture holds all
# of it, the history before the workload too (no other reader disturbed
# it), and stopping unloads the module it loaded.
tcptrace_stop && is_unloaded &&
	grep -q ":$((PORT + 2)) .*end=refused " "$TMP/bg.cap" &&
	grep -q ":$((PORT + 1)) .*end=refused " "$TMP/bg.cap" &&
	grep -q ":$((PORT + 3)) .*end=refused " "$TMP/bg.cap"
result $? "library: tcptrace_stop completes the capture and unloads the module"
tcptrace_dump > "$TMP/dump"
grep -q "^# done .*:$((PORT + 2)) .*end=refused " "$TMP/dump" && ! grep -qv '^#' "$TMP/dump"
result $? "library: tcptrace_dump prints the abnormal histories as '# ' lines"
tcptrace_cleanup

ktap_finish
