#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_bpftrace.sh: scripts/tcptrace.bt, the bpftrace stand-in for the
# module, against the module itself, KTAP.
#
# Loads $TCPTRACE_KO with kprobes=0 (the tracepoint alone, which is all the
# script has), starts the script under bpftrace, drives loopback traffic
# for IPv4 and IPv6 (the client closes first, the server closes first, an
# abortive close with SO_LINGER {1, 0}, a refused connect), stops it with
# SIGINT, and checks that the reader ($TCPTRACE_READER) takes its output
# and that each socket of the traffic went through the same states, and
# the same steps in softirq, in the script's histories as in the module's.
# Ids differ (the script has no socket cookie): sockets are matched by
# family and 4-tuple.
#
# Needs root, bpftrace, perl (with IO::Socket::IP, in perl-base) and
# TCPTRACE_KO=path/to/tcptrace.ko built for the running kernel; skips
# otherwise. TCPTRACE_BT is the script (default: tcptrace.bt next to this
# test, else ../scripts/tcptrace.bt). The module is unloaded first if it
# is loaded, and loaded again with its defaults at the end.
#
# bpftrace takes one to three minutes to start under software emulation
# (most of it before it compiles anything): the test waits up to
# TCPTRACE_BT_START_TIMEOUT seconds (default 400) for its header line, and
# needs a kselftest timeout to match (selftests/settings).

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly TESTS=9
# Sockets the traffic makes on each family: a listener, two for each of
# three connections, a refused client.
readonly SOCKETS=16

KO=${TCPTRACE_KO:-}
READER=${TCPTRACE_READER:-}
BT=${TCPTRACE_BT:-}
START_TIMEOUT=${TCPTRACE_BT_START_TIMEOUT:-400}
TMP=
BT_PID=
was_loaded=0
loaded_here=0

# diag_file FILE [MAX]: a file's first lines, as diagnostics.
diag_file() {
	head -n "${2:-20}" -- "$1" | sed 's/^/#   /'
}

# The END block's line is out: bpftrace got SIGINT and is finishing.
bpftrace_ending() { grep -q '^# tcptrace.bt stopped at' "$TMP/bt.out"; }

stop_bpftrace() {
	local rc
	[ -n "$BT_PID" ] || return 0
	bpftrace_stop "$BT_PID" 30 bpftrace_ending
	rc=$?
	BT_PID=
	return "$rc"
}

cleanup() {
	stop_bpftrace
	if [ "$loaded_here" = 1 ] && [ -d "$SYSMOD" ]; then
		rmmod "$MOD" || diag "could not unload $MOD"
	fi
	if [ "$was_loaded" = 1 ] && [ ! -d "$SYSMOD" ]; then
		insmod "$KO" || diag "could not load $MOD again as found"
	fi
	[ -n "$TMP" ] && rm -rf -- "$TMP"
}

bpftrace_gone() { pid_gone "$BT_PID"; }
# The header and the comment line after it are out, or bpftrace died.
bpftrace_ready() {
	local n
	n=$(wc -l < "$TMP/bt.out" 2>/dev/null)
	[ "${n:-0}" -ge 2 ] || bpftrace_gone
}

# traffic_done FILE: FILE has every socket of the traffic done.
traffic_done() { [ "$(histories "$1" states | wc -l)" -ge "$SOCKETS" ]; }

# The module has every socket of the traffic done.
module_done() { cat "$DEV" > "$TMP/mod.out" && traffic_done "$TMP/mod.out"; }

have_capture() {
	[ -s "$TMP/bt.out" ] && [ -s "$TMP/mod.out" ] && return 0
	diag "no capture to check (see the tests above)"
	return 1
}

have_reader() {
	[ -n "$READER" ] && [ -x "$READER" ] && return 0
	diag "no reader binary (TCPTRACE_READER='$READER')"
	return 1
}

# histories FILE MODE: "FAMILY LOCAL REMOTE PATH" for each done record of
# the traffic's sockets (a listener's port at either end), sorted. MODE
# states: the path's states alone; flags: with each step's flags.
histories() {
	awk -v ports="$(tr '\n' ' ' < "$TMP/ports")" -v mode="$2" '
	BEGIN { n = split(ports, p, " "); for (i = 1; i <= n; i++) want[p[i]] = 1 }
	$1 == "done" {
		lp = $4; sub(/.*:/, "", lp)
		rp = $5; sub(/.*:/, "", rp)
		if (!(lp in want) && !(rp in want))
			next
		path = ""
		for (i = 6; i <= NF; i++)
			if ($i ~ /^path=/)
				path = substr($i, 6)
		if (mode == "states")
			gsub(/@[0-9]+[a-z]*/, "", path)
		else
			gsub(/@[0-9]+/, "@", path)
		print $3, $4, $5, path
	}' "$1" | sort
}

# Loopback traffic for each family; prints the listeners' ports.
# shellcheck disable=SC2016 # perl code, not shell
traffic() {
	timeout 60 perl -e '
		use strict; use warnings;
		use IO::Socket::IP; use Socket qw(SOL_SOCKET SO_LINGER);
		for my $host ("127.0.0.1", "::1") {
			my $l = IO::Socket::IP->new(Listen => 8, LocalHost => $host,
				LocalPort => 0, Proto => "tcp") or die "listen $host: $@";
			my %peer = (PeerHost => $host, PeerPort => $l->sockport,
				    Proto => "tcp");
			my ($c, $a, $b);
			# the client closes first
			$c = IO::Socket::IP->new(%peer) or die "connect: $@";
			$a = $l->accept or die "accept: $!";
			close $c; sysread($a, $b, 1) == 0 or die "no EOF"; close $a;
			# the server closes first
			$c = IO::Socket::IP->new(%peer) or die "connect: $@";
			$a = $l->accept or die "accept: $!";
			close $a; sysread($c, $b, 1) == 0 or die "no EOF"; close $c;
			# an abortive close: the client sends a RST
			$c = IO::Socket::IP->new(%peer) or die "connect: $@";
			$a = $l->accept or die "accept: $!";
			setsockopt($c, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0))
				or die "SO_LINGER: $!";
			close $c; defined(sysread($a, $b, 1)) and die "no reset"; close $a;
			# a refused connect, to the port just closed
			print $l->sockport, "\n";
			close $l;
			IO::Socket::IP->new(%peer) and die "connected to a closed port";
		}
	'
}

# ---- the tests ---------------------------------------------------------------

test_load() {
	local hdr out
	if ! out=$(insmod "$KO" kprobes=0 2>&1); then
		diag "insmod $KO kprobes=0: $out"
		return 1
	fi
	loaded_here=1
	busywait 5000 test -c "$DEV" || { diag "$DEV did not appear"; return 1; }
	hdr=$(head -n 1 "$DEV")
	if ! [[ $hdr == *" timewait=0"* && $hdr == *" halfopen=0"* ]]; then
		diag "kprobes=0 but the header says: $hdr"
		return 1
	fi
}

test_start() {
	local line
	"$BPFTRACE" -q -B none "$BT" > "$TMP/bt.out" 2> "$TMP/bt.err" &
	BT_PID=$!
	if ! busywait $((START_TIMEOUT * 1000)) bpftrace_ready; then
		diag "no header from bpftrace within ${START_TIMEOUT} s"
		diag_file "$TMP/bt.err"
		return 1
	fi
	if bpftrace_gone; then
		diag "bpftrace exited:"
		diag_file "$TMP/bt.err"
		return 1
	fi
	line=$(sed -n 1p "$TMP/bt.out")
	if ! [[ $line =~ ^#\ tcptrace\ format=2\ now=[1-9][0-9]*(\ [a-z_]+=(0|[1-9][0-9]*))*$ ]]; then
		diag "not a format 2 header line: '$line'"
		return 1
	fi
	line=$(sed -n 2p "$TMP/bt.out")
	if [[ $line != "# source=bpftrace tracepoint-only"* ]]; then
		diag "not the tracepoint-only comment: '$line'"
		return 1
	fi
}

test_traffic() {
	[ -n "$BT_PID" ] || { diag "bpftrace is not running"; return 1; }
	echo clear > "$DEV" || return 1
	traffic > "$TMP/ports" || { diag "traffic failed"; return 1; }
	[ "$(wc -l < "$TMP/ports")" = 2 ] || { diag "traffic printed no ports"; return 1; }
	# Each socket reaches CLOSE before its syscall returns; wait anyway.
	if ! busywait 10000 module_done; then
		diag "the module has $(histories "$TMP/mod.out" states | wc -l) done histories of the traffic, want $SOCKETS"
		return 1
	fi
}

test_stop() {
	local rc last
	[ -n "$BT_PID" ] || { diag "bpftrace is not running"; return 1; }
	# Done with the traffic's events, for SIGINT to find it waiting
	# (bpftrace_stop, lib.sh).
	busywait 10000 traffic_done "$TMP/bt.out" ||
		diag "bpftrace printed $(histories "$TMP/bt.out" states | wc -l) of the traffic's $SOCKETS sockets"
	stop_bpftrace
	rc=$?
	cat "$DEV" > "$TMP/mod.out" || return 1
	if [ "$rc" != 0 ]; then
		diag "bpftrace exited with status $rc"
		diag_file "$TMP/bt.err"
		return 1
	fi
	if grep -qi error "$TMP/bt.err"; then
		diag "bpftrace complained:"
		diag_file "$TMP/bt.err"
		return 1
	fi
	last=$(grep -v '^$' "$TMP/bt.out" | tail -n 1)
	if [[ $last != "# tcptrace.bt stopped at now="* ]]; then
		diag "the output does not end with the END block's line: '$last'"
		return 1
	fi
}

test_lines() {
	local bad
	have_capture || return 1
	# No "Lost N events", no live record (a missed transition): the
	# header, comments, bpftrace's blank lines at exit, done records.
	bad=$(grep -vnE '^(#.*|done [^ ].*|)$' "$TMP/bt.out" | head -n 5)
	if [ -n "$bad" ]; then
		diag "unexpected lines:"
		printf '%s\n' "$bad" | sed 's/^/#   /'
		return 1
	fi
}

test_reader_accepts() {
	local rc
	have_capture || return 1
	have_reader || return "$ksft_skip"
	"$READER" -r "$TMP/bt.out" > "$TMP/table" 2> "$TMP/reader.err"
	rc=$?
	if [ "$rc" != 0 ] || [ -s "$TMP/reader.err" ]; then
		diag "$READER -r exited with $rc:"
		diag_file "$TMP/reader.err" 5
		return 1
	fi
}

test_reader_rows() {
	local records rows
	have_capture || return 1
	have_reader || return "$ksft_skip"
	records=$(grep -cE '^(done|live) ' "$TMP/bt.out")
	[ "$records" -gt 0 ] || { diag "no record in the output"; return 1; }
	rows=$("$READER" -H -r "$TMP/bt.out" 2>/dev/null | wc -l)
	[ "$rows" = "$records" ] || { diag "$rows table rows for $records record lines"; return 1; }
	rows=$("$READER" -j -r "$TMP/bt.out" 2>/dev/null | grep -c '^{')
	[ "$rows" = "$records" ] || { diag "$rows JSON objects for $records record lines"; return 1; }
}

# compare MODE: the traffic's histories agree, module (<) and script (>).
compare() {
	local n
	have_capture || return 1
	histories "$TMP/mod.out" "$1" > "$TMP/mod.$1"
	histories "$TMP/bt.out" "$1" > "$TMP/bt.$1"
	n=$(wc -l < "$TMP/mod.$1")
	[ "$n" = "$SOCKETS" ] || diag "the module has $n histories of the traffic, want $SOCKETS"
	if ! diff "$TMP/mod.$1" "$TMP/bt.$1" > "$TMP/diff.$1"; then
		diag "module (<) and bpftrace (>) disagree:"
		diag_file "$TMP/diff.$1" 40
		return 1
	fi
	[ "$n" = "$SOCKETS" ]
}

test_states() { compare states; }
test_flags() { compare flags; }

# ---- main -----------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "must run as root"
BPFTRACE=$(command -v bpftrace) || skip_all "bpftrace is not installed"
perl -MIO::Socket::IP -e 1 2>/dev/null || skip_all "no perl with IO::Socket::IP for the traffic"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
KO=$(realpath -e -- "$KO" 2>/dev/null) || skip_all "no module at TCPTRACE_KO=$TCPTRACE_KO"
if [ -z "$BT" ]; then
	for BT in "$here/tcptrace.bt" "$here/../scripts/tcptrace.bt"; do
		[ -r "$BT" ] && break
	done
fi
[ -r "$BT" ] || skip_all "no tcptrace.bt (set TCPTRACE_BT)"
if [ -z "$READER" ] && [ -x "$here/../userspace/tcptrace" ]; then
	READER=$here/../userspace/tcptrace
fi
[ -z "$READER" ] || READER=$(realpath -- "$READER")
TMP=$(mktemp -d -t tcptrace_bpftrace.XXXXXX) || exit $ksft_fail
trap cleanup EXIT
trap 'exit $ksft_fail' INT TERM

if [ -d "$SYSMOD" ]; then
	was_loaded=1
	rmmod "$MOD" 2>/dev/null || skip_all "$MOD is loaded and in use"
	busywait 5000 test ! -e "$SYSMOD" || skip_all "$MOD did not go away"
fi

ktap_header
ktap_plan "$TESTS"
run_test "insmod kprobes=0: the tracepoint alone, as the script" test_load
run_test "bpftrace runs tcptrace.bt: the header line, then the tracepoint-only comment" test_start
run_test "loopback traffic, IPv4 and IPv6: four ways to close" test_traffic
run_test "SIGINT stops bpftrace cleanly, after the END block's line" test_stop
run_test "the output is the header, comments and done records" test_lines
run_test "the reader reads the output without complaint" test_reader_accepts
run_test "the reader prints one row per record line" test_reader_rows
run_test "each socket goes through the same states as in the module" test_states
run_test "each socket's steps in softirq are the module's" test_flags

ktap_finish
