#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_kselftests.sh: some of the kernel's own TCP selftests
# (tools/testing/selftests/net), run plain and then under "tcptrace
# record": each must give the same result, 0, either way, record must
# unload the module it loaded, and the capture must hold the histories
# the test's source says its sockets go through (tcptrace --expect).
# Documentation/kernel-ci.rst lists the tests and what is asserted.
#
# Environment: TCPTRACE_KSFT (the tests, built by "make -C selftests
# kselftests" into build/kselftests), TCPTRACE_KO (the module for the
# running kernel) and TCPTRACE_READER (userspace/tcptrace). Needs root,
# ip(8) and sysctl(8). Without them every test skips, with the reason.
# KTAP on stdout; exit 0 when every test passed or skipped, 1 otherwise,
# 4 when none could run.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

TMP=$(mktemp -d)
readonly TMP
trap 'rm -rf "$TMP"' EXIT

# The longest a kernel test may take, plain or recorded: each takes a few
# seconds under emulation.
readonly CMD_TIMEOUT=120

# Every kernel test: a KTAP name, the command (run in TCPTRACE_KSFT), and
# the expectations on its capture, derived from the test's source.
names=() cmds=() expects=()

# add NAME 'COMMAND' EXPECTATION...: a test; COMMAND is split at blanks.
add() {
	local name=$1 cmd=$2 e list=
	shift 2
	for e in "$@"; do
		list+=$e$'\n'
	done
	names+=("$name") cmds+=("$cmd") expects+=("$list")
}

# tcp_inq: in the initial namespace, a listener on the loopback port 4974
# (SO_REUSEADDR), a client that connects, reads half of the 8192 bytes the
# server thread sends and closes with the rest unread, which resets the
# connection (tcp_close()); the server thread sleeps a second before its
# close, so the RST comes first. The process exits, closing the listener.
for fam in 4 6; do
	C="-$fam --comm=tcp_inq"
	add "tcp_inq -$fam" "./tcp_inq -$fam" \
		"$C -D 4974: 1 CLOSE>SYN_SENT>ESTABLISHED>CLOSE end=reset_sent" \
		"$C -L 4974: 1 CLOSE>LISTEN>CLOSE end=listener_closed" \
		"$C -L 4974: 1 LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>CLOSE end=reset_received" \
		"$C: all CLOSE>SYN_SENT>ESTABLISHED>CLOSE|CLOSE>LISTEN>CLOSE|LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>CLOSE"
done

# reuseport_addr_any.sh: in a namespace of its own (in_netns.sh), three
# times (IPv4, IPv6, IPv4 to a v4-mapped IPv6 listener): 9 SO_REUSEPORT
# listeners on port 8888, any-address IPv4 and IPv6 around one on the
# specific address, which must get the connection. The client sends a
# byte; the server accepts, reads it and closes first, to TIME_WAIT (killed
# with the namespace, or live at the end); the client then closes, a
# passive close. Its UDP and DCCP parts make no TCP sockets. Its comm is
# cut to 15 characters.
C='--comm=reuseport_addr_'
SERVER='LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE|LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT'
CLIENT='CLOSE>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE'
add "reuseport_addr_any.sh" "./reuseport_addr_any.sh" \
	"$C -L 8888: 27 CLOSE>LISTEN>CLOSE end=listener_closed" \
	"$C -4 -L 8888: 13 CLOSE>LISTEN>CLOSE" \
	"$C -6 -L 8888: 14 CLOSE>LISTEN>CLOSE" \
	"$C -L 8888: 3 $SERVER" \
	"$C -D 8888: 3 $CLIENT end=passive_close" \
	"$C: all CLOSE>LISTEN>CLOSE|$SERVER|$CLIENT"

ktap_header
ktap_plan "$((2 * ${#names[@]}))"

# skip_each REASON: every test skips.
skip_each() {
	local name
	for name in "${names[@]}"; do
		for what in "exit status" histories; do
			ktap_skip "$name: $what" "$1"
		done
	done
	ktap_totals
	exit "$ksft_skip"
}

if [ -z "${TCPTRACE_KSFT:-}" ]; then
	skip_each "no kernel selftests: TCPTRACE_KSFT (make -C selftests kselftests)"
fi
KSFT=$(realpath -e -- "$TCPTRACE_KSFT" 2>/dev/null) ||
	skip_each "TCPTRACE_KSFT=$TCPTRACE_KSFT does not exist"
if [ -z "${TCPTRACE_KO:-}" ] || [ ! -x "${TCPTRACE_READER:-}" ]; then
	skip_each "needs TCPTRACE_KO and TCPTRACE_READER"
fi
[ "$(id -u)" = 0 ] || skip_each "needs root"
if ! command -v ip > /dev/null || ! command -v sysctl > /dev/null; then
	skip_each "needs ip and sysctl"
fi
is_loaded && skip_each "the module is loaded already: record must load and unload it"
READER=$(realpath -- "$TCPTRACE_READER")
KO=$(realpath -- "$TCPTRACE_KO")

# run LOG COMMAND...: COMMAND in KSFT, its output in LOG; its status.
run() {
	local log=$1
	shift
	(cd "$KSFT" && timeout "$CMD_TIMEOUT" "$@") > "$log" 2>&1
}

# indent FILE: a file's lines as KTAP comments.
indent() { sed 's/^/#   /' "$1"; }

for i in "${!names[@]}"; do
	name=${names[$i]}
	read -r -a cmd <<< "${cmds[$i]}"
	cap=$TMP/$i.cap

	if [ "$name" = "tcp_inq -6" ] && [ ! -e /proc/net/if_inet6 ]; then
		for what in "exit status" histories; do
			ktap_skip "$name: $what" "no IPv6"
		done
		continue
	fi
	if [ ! -x "$KSFT/${cmd[0]#./}" ]; then
		for what in "exit status" histories; do
			ktap_fail "$name: $what" "$KSFT/${cmd[0]#./} not built"
		done
		continue
	fi

	# Plain, then recorded: the same status, 0, and the module gone after.
	SECONDS=0
	run "$TMP/plain.log" "${cmd[@]}"
	rc_plain=$?
	run "$TMP/record.log" "$READER" record --ktap --ko "$KO" -o "$cap" -- "${cmd[@]}"
	rc_rec=$?
	unloaded=yes
	is_unloaded || unloaded=no
	grep '^# tcptrace record' "$TMP/record.log"
	echo "# $name: ${SECONDS}s, plain and recorded"
	[ "$rc_plain" = 0 ] && [ "$rc_rec" = 0 ] && [ "$unloaded" = yes ]
	rc=$?
	result $rc "$name: exit status $rc_plain plain, $rc_rec recorded, module unloaded: $unloaded"
	if [ $rc != 0 ]; then
		echo "#   plain run:"
		indent "$TMP/plain.log"
		echo "#   recorded run:"
		indent "$TMP/record.log"
		# Do not let the next test find it loaded.
		is_unloaded || rmmod tcptrace 2> /dev/null
	fi

	# The histories: the expectations' KTAP, and on failure the records
	# of every socket each failed expectation selected.
	args=()
	while IFS= read -r e; do
		[ -n "$e" ] && args+=(--expect "$e")
	done <<< "${expects[$i]}"
	if [ ! -s "$cap" ]; then
		result 1 "$name: histories # no capture"
		continue
	fi
	"$READER" -r "$cap" "${args[@]}" > "$TMP/expect.out" 2>&1
	rc=$?
	result $rc "$name: histories"
	# Each result; on failure, the records of the failed expectations
	# (those that break them first), the capture's header (the module's
	# counters) and the recorder's own lines.
	awk -v failed=$((rc != 0)) '/^(KTAP version|1\.\.)/ { next }
		/^(not )?ok / { show = failed && /^not ok/; print; next }
		show || !/^#/' "$TMP/expect.out" | sed 's/^/#   /'
	if [ $rc != 0 ]; then
		grep -m1 '^# tcptrace ' "$cap" | sed 's/^/#   /'
		grep '^# record:' "$cap" | sed 's/^/#   /'
	fi
done

ktap_finish
