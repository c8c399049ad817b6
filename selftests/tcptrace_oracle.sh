#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_oracle.sh: an independent oracle for the module, KTAP.
#
# bpftrace runs tcptrace_oracle.bt, which prints every TCP transition the
# sock:inet_sock_set_state tracepoint reports (socket address, old and new
# state, addresses and ports) and keeps nothing; meanwhile
# tcptrace_workload makes thousands of connections of every kind at once
# (-m all: graceful closes either way, aborts either way, refused
# connects, half-closes, closes with data unread, both ends closing at
# once, listeners closed with connections queued), in a network namespace
# of its own. tcptrace_oracle.py then holds the module's histories up
# against bpftrace's events, socket by socket: every transition the same,
# nothing only on one side, and as many events as the module counted.
#
# The module is loaded with kprobes=0 by default: its histories are then
# the tracepoint's events exactly, 1:1. TCPTRACE_ORACLE_KPROBES=1 loads it
# with the kprobes, and the comparison maps their steps back (see
# tcptrace_oracle.py): steps flagged d left out, w steps read OLD>CLOSE.
#
# bpftrace must not lose events ("Lost N events" fails the test); the
# events its program was not run for, which the kernel counts (see
# bt_missed), must account exactly for what the module has and it has
# not. It
# takes a minute or two to start under software emulation: the test waits
# up to TCPTRACE_BT_START_TIMEOUT seconds (default 240) for it, then syncs
# on a canary (a refused connect to port 1) before and after the traffic.
#
# Environment: TCPTRACE_KO (required), TCPTRACE_ORACLE_CONNS (default
# 5000), TCPTRACE_ORACLE_SEED (default: the time), TCPTRACE_ORACLE_KPROBES
# (default 0), TCPTRACE_BT_STOP_TIMEOUT (default 60 seconds, see
# bt_stop). Needs root, bpftrace and python3. Unloads the module if it is
# loaded, and leaves it unloaded.

set -u

readonly CONNS=${TCPTRACE_ORACLE_CONNS:-5000}
readonly SEED=${TCPTRACE_ORACLE_SEED:-$(date +%s)}
readonly KPROBES=${TCPTRACE_ORACLE_KPROBES:-0}
readonly START_TIMEOUT=${TCPTRACE_BT_START_TIMEOUT:-240}
readonly STOP_TIMEOUT=${TCPTRACE_BT_STOP_TIMEOUT:-60}
readonly RING=$(( (3 * CONNS + 1024 + 1023) / 1024 * 1024 ))

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"
KO=${TCPTRACE_KO:-}
TMP=
bt_pid=

cleanup() {
	[ -n "$bt_pid" ] && bt_stop
	[ -d /sys/module/tcptrace ] && rmmod tcptrace
	[ -n "$TMP" ] && rm -rf -- "$TMP"
}

# Whether bpftrace's output has a line matching the regex $1.
bt_has() {
	grep -Eq -- "$1" "$TMP/bt.out"
}

# The events bpftrace's programs did not run for: the kernel does not run
# a BPF program on a CPU where it is already running (an interrupt came in
# during it), and counts that in the program's recursion_misses.
bt_missed() {
	local f v sum=0

	for f in /proc/"$bt_pid"/fdinfo/*; do
		v=$(sed -n 's/^recursion_misses:[[:space:]]*//p' "$f" 2>/dev/null)
		[ -n "$v" ] && sum=$((sum + v))
	done
	echo "$sum"
}

# Stops bpftrace with SIGINT, as a user would, and returns its exit
# status. Everything the test compares was printed before the last canary,
# so a bpftrace that does not exit within STOP_TIMEOUT seconds is shown
# and killed (bpftrace_stop, lib.sh), and the comparison goes on: 128 + 9
# is then its status.
bt_stop() {
	local rc

	bpftrace_stop "$bt_pid" "$STOP_TIMEOUT"
	rc=$?
	bt_pid=
	return $rc
}

# A refused connect to 127.0.0.1:1, by bash itself; wait for bpftrace to
# print its end (SYN_SENT>CLOSE, to port 1), once more than before.
# Returns 1 after $1 tries.
readonly CANARY='^E [0-9]+ [0-9a-f]+ 2 2 7 127\.0\.0\.1 [0-9]+ 127\.0\.0\.1 1$'
canary() {
	local i seen

	seen=$(grep -Ec -- "$CANARY" "$TMP/bt.out")
	for ((i = 0; i < $1; i++)); do
		(exec 5<>/dev/tcp/127.0.0.1/1) 2>/dev/null
		sleep 1
		[ "$(grep -Ec -- "$CANARY" "$TMP/bt.out")" -gt "$seen" ] && return 0
		kill -0 "$bt_pid" 2>/dev/null || return 1
	done
	return 1
}

[ "$(id -u)" = 0 ] || skip_all "must run as root"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
command -v bpftrace >/dev/null || skip_all "no bpftrace"
command -v python3 >/dev/null || skip_all "no python3"
[ -x "$here/tcptrace_workload" ] || skip_all "$here/tcptrace_workload is not built (make -C $here)"
TMP=$(mktemp -d -t tcptrace_oracle.XXXXXX) || exit $ksft_fail
trap cleanup EXIT

if [ -d /sys/module/tcptrace ]; then
	rmmod tcptrace 2>/dev/null || skip_all "tcptrace is loaded and in use"
fi
if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		skip_all "no tracefs for bpftrace"
fi

ktap_header
ktap_plan 4
insmod "$KO" kprobes="$KPROBES" ring_size="$RING" max_live="$RING" || ktap_bail "insmod $KO failed"
diag "kprobes=$KPROBES ring_size=$RING, $CONNS connections, seed $SEED"

# Room for a burst of events: 16 MiB per CPU.
SECONDS=0
BPFTRACE_PERF_RB_PAGES=4096 bpftrace "$here/tcptrace_oracle.bt" > "$TMP/bt.out" 2> "$TMP/bt.err" &
bt_pid=$!
while ! bt_has '^oracle: tracing$'; do
	if ! kill -0 "$bt_pid" 2>/dev/null || [ "$SECONDS" -ge "$START_TIMEOUT" ]; then
		sed 's/^/#   /' "$TMP/bt.out" "$TMP/bt.err"
		ktap_bail "bpftrace did not start within ${START_TIMEOUT}s"
	fi
	sleep 1
done
canary 60 || ktap_bail "bpftrace does not see the canary connect"
diag "bpftrace started in ${SECONDS}s"

# From now= on, both sides see the same events.
echo clear > "$DEV" || ktap_bail "clear failed"
snapshot "$TMP/snap0" && read_header "$TMP/snap0" || ktap_bail "reading $DEV failed"
events0=${H[events]}
since=${H[now]}
missed0=$(bt_missed)

SECONDS=0
"$here/tcptrace_workload" -N -n "$CONNS" -j 4 -s "$SEED" -m all -o "$TMP/manifest" > "$TMP/wl.out"
rc=$?
diag "$(cat "$TMP/wl.out") in ${SECONDS}s"
result $rc "the workload made $CONNS connections of every kind"
netns=$(awk 'NR == 1 { print $7 }' "$TMP/manifest")

# Its netns goes away, with its timewait sockets; then everything is done.
# Each phase from here says when it ends, so that a timeout shows where.
SECONDS=0
live=unknown
for ((i = 0; i < 120; i++)); do
	snapshot "$TMP/snap" || break
	live=0
	while IFS= read -r line; do
		[[ $line == "live "*" netns=$netns "* ]] && live=$((live + 1))
	done < "$TMP/snap"
	[ "$live" = 0 ] && break
	sleep 1
done
diag "${SECONDS}s: $live histories of the workload still live"
# bpftrace has printed everything before a last canary, which both see.
canary 30 || ktap_bail "bpftrace does not see the last canary"
diag "${SECONDS}s: bpftrace saw the last canary"
snapshot "$TMP/snap" && read_header "$TMP/snap" || ktap_bail "reading $DEV failed"
events=$((H[events] - events0))
sleep 2
missed=$(( $(bt_missed) - missed0 ))
bt_stop
rc=$?
diag "${SECONDS}s: bpftrace stopped"
diag "bpftrace exited ($rc), its program skipped $missed events; module: $(head -n 1 "$TMP/snap")"

rc=0
if grep -iq 'lost' "$TMP/bt.out" "$TMP/bt.err"; then
	grep -ih 'lost' "$TMP/bt.out" "$TMP/bt.err" | sed 's/^/#   /'
	rc=1
fi
result $rc "bpftrace lost no event"

rc=0
for key in drop_table_full evicted ring_overwritten drop_steps_full kprobe_missed; do
	[ "${H[$key]:-}" = 0 ] || { diag "$key=${H[$key]:-}, want 0"; rc=1; }
done
result $rc "the module dropped, evicted and overwrote nothing"

python3 "$here/tcptrace_oracle.py" "$TMP/bt.out" "$since" "$TMP/snap" "$events" "$missed"
result $? "every socket went through the same transitions in the module as in bpftrace"

ktap_finish
