#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_module.sh: the module's life cycle and its device node, KTAP.
#
# Loads $TCPTRACE_KO, checks /dev/tcptrace (a 0600 character device that
# cat(1) reads to an end, header first), that rmmod is refused while a
# reader holds the device open and works once it is closed, that the module
# loads again, that out-of-range parameters fail with EINVAL and one kernel
# log line naming the parameter, that tiny bounds count what they cannot
# keep, and, if the reader is built ($TCPTRACE_READER), that it prints one
# row per record line of a capture.
#
# Needs root and TCPTRACE_KO=path/to/tcptrace.ko (built for the running
# kernel); skips otherwise. Leaves the module loaded if it found it loaded.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly HEADER_KEYS="format now live live_max done ring_size events created completed drop_table_full drop_steps_full ring_overwritten unexpected mem_bytes syncookies kprobe_missed filtered filter_ports filter_netns evicted timewait halfopen"
readonly TESTS=23

# The format version the header must show: the repository's UAPI header
# says, when it is there; else the one this test was written for.
FORMAT=$(sed -n 's/^#define[[:space:]]*TCPTRACE_FORMAT_VERSION[[:space:]]*\([0-9]*\).*/\1/p' \
	 "$here/../include/uapi/linux/tcptrace.h" 2>/dev/null)
FORMAT=${FORMAT:-2}

KO=${TCPTRACE_KO:-}
READER=${TCPTRACE_READER:-}
TMP=
was_loaded=0

cleanup() {
	exec 3<&- 2>/dev/null
	[ -n "$TMP" ] && rm -rf -- "$TMP"
	if [ "$was_loaded" = 1 ] && [ ! -d "$SYSMOD" ]; then
		insmod "$KO" || diag "could not load $MOD again as found"
	elif [ "$was_loaded" = 0 ] && [ -d "$SYSMOD" ]; then
		rmmod "$MOD" || diag "could not unload $MOD"
	fi
}

# Check a capture's first line against the spec; prints "key value" pairs.
header_of() {
	local line key
	line=$(head -n 1 "$1")
	if ! [[ $line =~ ^#\ tcptrace(\ [a-z_0-9]+=[^\ ]*)+$ ]]; then
		diag "not a header line: '$line'"
		return 1
	fi
	for key in $HEADER_KEYS; do
		if ! [[ $line =~ \ $key=(0|[1-9][0-9]*)(\ |$) ]]; then
			diag "header lacks a decimal $key=: '$line'"
			return 1
		fi
		echo "$key ${BASH_REMATCH[1]}"
	done
}

# hdr FILE KEY: one header value of a capture.
hdr() { header_of "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

capture() { timeout 30 cat "$DEV" > "$1"; }

load() {
	local out
	if ! out=$(insmod "$KO" "$@" 2>&1); then
		diag "insmod $KO $*: $out"
		return 1
	fi
	busywait 5000 has_dev || { diag "$DEV did not appear"; return 1; }
}

unload() {
	local out
	if ! out=$(rmmod "$MOD" 2>&1); then
		diag "rmmod $MOD: $out"
		return 1
	fi
	busywait 5000 is_unloaded || { diag "$MOD or $DEV still there after rmmod"; return 1; }
}

# Loopback traffic: a whole connection and a refused connect (perl is what
# the kselftest runner itself needs; its IO::Socket is in perl-base).
# shellcheck disable=SC2016 # perl code, not shell
traffic() {
	timeout 30 perl -MIO::Socket::INET -e '
		my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp") or die "listen: $!";
		my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
			PeerPort => $l->sockport, Proto => "tcp") or die "connect: $!";
		my $a = $l->accept or die "accept: $!";
		close $c; sysread($a, my $b, 1); close $a; close $l;
		IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => 1,
			Proto => "tcp") and die "port 1 accepted";
	'
}

# ---- the tests ---------------------------------------------------------------

test_load() {
	load || return 1
	is_loaded || { diag "$SYSMOD/initstate is not live"; return 1; }
}

test_device_node() {
	local mode
	mode=$(stat -c '%F %a %U %t' "$DEV") || return 1
	# misc devices have major 10 (0xa)
	if [ "$mode" != "character special file 600 root a" ]; then
		diag "$DEV: '$mode', want 'character special file 600 root a'"
		return 1
	fi
	[[ $(ls -l "$DEV") == crw-------* ]] || { diag "$(ls -l "$DEV")"; return 1; }
}

test_cat_terminates() {
	local rc
	capture "$TMP/cap"
	rc=$?
	[ "$rc" = 124 ] && { diag "cat $DEV did not end within 30 s"; return 1; }
	[ "$rc" = 0 ] || { diag "cat $DEV failed ($rc)"; return 1; }
	[ -s "$TMP/cap" ] || { diag "cat $DEV read nothing"; return 1; }
}

test_header() {
	header_of "$TMP/cap" > "$TMP/hdr" || return 1
	[ "$(hdr "$TMP/cap" format)" = "$FORMAT" ] || { diag "format is not $FORMAT"; return 1; }
	# the defaults of Documentation/tcptrace.rst
	[ "$(hdr "$TMP/cap" live_max)" = 16384 ] || { diag "live_max is not 16384"; return 1; }
	[ "$(hdr "$TMP/cap" ring_size)" = 8192 ] || { diag "ring_size is not 8192"; return 1; }
	[ "$(hdr "$TMP/cap" mem_bytes)" -gt 0 ] || { diag "mem_bytes is 0"; return 1; }
	# every other line is a comment or a record of a known kind
	if tail -n +2 "$TMP/cap" | grep -vqE '^(#|done |live )'; then
		diag "unexpected line: $(tail -n +2 "$TMP/cap" | grep -vE '^(#|done |live )' | head -n 1)"
		return 1
	fi
}

test_params_readonly() {
	local p want
	for p in max_live:16384 ring_size:8192 kprobes:Y evict:Y; do
		want=${p#*:}
		p=$SYSMOD/parameters/${p%%:*}
		[ "$(cat "$p" 2>/dev/null)" = "$want" ] || { diag "$p is not $want"; return 1; }
		[ "$(stat -c %a "$p")" = 444 ] || { diag "$p mode $(stat -c %a "$p"), want 444"; return 1; }
		if (echo 5 > "$p") 2>/dev/null; then
			diag "$p could be written"
			return 1
		fi
	done
}

test_rmmod_busy() {
	local out rc
	exec 3<"$DEV" || return 1
	out=$(rmmod "$MOD" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		diag "rmmod succeeded while $DEV was open"
		exec 3<&-
		return 1
	fi
	# kmod refuses a module whose refcount is held, before asking the
	# kernel (which would answer EWOULDBLOCK): "Module tcptrace is in use"
	[[ $out == *"in use"* ]] || diag "rmmod said: $out"
	is_loaded || { diag "$MOD is no longer live"; exec 3<&-; return 1; }
	[ "$(cat "$SYSMOD/refcnt")" -ge 1 ] || { diag "refcnt is 0 with $DEV open"; exec 3<&-; return 1; }
	# the reader is unharmed
	timeout 30 cat <&3 > "$TMP/held" || { diag "reading the held fd failed"; exec 3<&-; return 1; }
	exec 3<&-
	header_of "$TMP/held" > /dev/null || return 1
}

test_rmmod_after_close() {
	unload
}

test_reload() {
	load || return 1
	capture "$TMP/cap2" || { diag "cat after reload failed"; return 1; }
	header_of "$TMP/cap2" > /dev/null || return 1
	[ "$(hdr "$TMP/cap2" format)" = "$FORMAT" ]
}

# kprobes=1 (the default) places its probes on the kernels we test;
# kprobes=0 keeps to the tracepoint.
test_kprobes() {
	local p
	for p in timewait halfopen; do
		[ "$(hdr "$TMP/cap" "$p")" = 1 ] ||
			{ diag "$p=0 with kprobes=1: a probe could not be placed on $(uname -r)"; return 1; }
	done
	unload || return 1
	load kprobes=0 || return 1
	capture "$TMP/nokp" || return 1
	for p in timewait halfopen; do
		[ "$(hdr "$TMP/nokp" "$p")" = 0 ] || { diag "$p is not 0 with kprobes=0"; return 1; }
	done
	unload && load
}

# bad_param PARAM=VALUE: insmod fails with EINVAL, one log line names it.
bad_param() {
	local arg=$1 name=${1%%=*} seq out rc n
	if is_loaded; then
		unload || return 1
	fi
	seq=$(kmsg_seq)
	out=$(insmod "$KO" "$arg" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		diag "insmod $arg succeeded"
		unload
		return 1
	fi
	# EINVAL: strerror() says "Invalid argument", kmod's insmod "Invalid parameters"
	if [[ $out != *"Invalid argument"* && $out != *"Invalid parameters"* ]]; then
		diag "insmod $arg: '$out', want EINVAL"
		return 1
	fi
	[ ! -e "$SYSMOD" ] || { diag "$MOD is loaded after a failed insmod"; return 1; }
	n=$(kmsg_since "$seq" | grep -c "$name")
	if [ "$n" != 1 ]; then
		diag "$n kernel log lines name $name, want 1:"
		kmsg_since "$seq" | sed 's/^/#   /'
		return 1
	fi
}

# tiny_bounds [evict=0]: a table of one and a ring of one, under traffic
# that has three sockets open at once and completes several histories.
tiny_bounds() {
	local evict=1 events seeded
	[ "${1:-}" = evict=0 ] && evict=0
	command -v perl >/dev/null || { diag "no perl for traffic"; return "$ksft_skip"; }
	if is_loaded; then
		unload || return 1
	fi
	load max_live=1 ring_size=1 "$@" || return 1
	capture "$TMP/tiny0" || return 1
	[ "$(hdr "$TMP/tiny0" live_max)" = 1 ] || { diag "live_max is not 1"; return 1; }
	[ "$(hdr "$TMP/tiny0" ring_size)" = 1 ] || { diag "ring_size is not 1"; return 1; }
	# Sockets left by earlier tests (TIME_WAIT lasts 60 s) are seeded at load.
	seeded=$(grep -c '^live .* seen_at_load=1' "$TMP/tiny0")
	traffic || { diag "traffic failed"; return 1; }
	capture "$TMP/tiny1" || return 1
	sed 's/^/#   /' "$TMP/tiny1" >&2
	events=$(hdr "$TMP/tiny1" events)
	# listener, client, child and a refused client: at least 2+5+5+2 events
	[ "$events" -ge 14 ] || { diag "events=$events, want >= 14"; return 1; }
	if [ "$evict" = 1 ]; then
		# A full table ends an older live history to make room. With a
		# table of one, an event may still find nothing to evict: on
		# another CPU the one history can be between its bucket and the
		# ring (a seeded TIME_WAIT of an earlier test expiring), and is
		# counted in drop_table_full. Asserted: histories were evicted,
		# and events were recorded, not all dropped.
		[ "$(hdr "$TMP/tiny1" evicted)" -gt 0 ] || { diag "evicted is 0"; return 1; }
		[ "$(hdr "$TMP/tiny1" drop_table_full)" -lt "$events" ] ||
			{ diag "every event was dropped"; return 1; }
	else
		# a full table leaves new sockets out
		[ "$(hdr "$TMP/tiny1" drop_table_full)" -gt 0 ] || { diag "drop_table_full is 0"; return 1; }
		[ "$(hdr "$TMP/tiny1" evicted)" = 0 ] || { diag "evicted is not 0 with evict=0"; return 1; }
		if [ "$seeded" -gt 0 ]; then
			# a socket seeded at load holds the only slot, and keeps it
			grep -q '^live .* seen_at_load=1' "$TMP/tiny1" ||
				{ diag "the seeded history was not kept"; return 1; }
			[ "$(hdr "$TMP/tiny1" "done")" = 0 ] || { diag "done is not 0"; return 1; }
			unload
			return
		fi
	fi
	# several histories completed into a ring of one
	[ "$(hdr "$TMP/tiny1" "done")" = 1 ] || { diag "done is not 1"; return 1; }
	[ "$(hdr "$TMP/tiny1" ring_overwritten)" -gt 0 ] || { diag "ring_overwritten is 0"; return 1; }
	[ "$(grep -c '^done ' "$TMP/tiny1")" = 1 ] || { diag "not one done record"; return 1; }
	[ "$(grep -c '^live ' "$TMP/tiny1")" -le 1 ] || { diag "more live records than max_live"; return 1; }
	unload
}

test_reader_roundtrip() {
	local records rows
	if [ -z "$READER" ] || [ ! -x "$READER" ]; then
		diag "no reader binary (TCPTRACE_READER='$READER')"
		return "$ksft_skip"
	fi
	if ! is_loaded; then
		load || return 1
	fi
	command -v perl >/dev/null && traffic
	capture "$TMP/rt" || return 1
	records=$(grep -cvE '^(#|$)' "$TMP/rt")
	[ "$records" -gt 0 ] || { diag "the capture has no record"; return 1; }
	if ! "$READER" -H -r "$TMP/rt" > "$TMP/rt.table" 2> "$TMP/rt.err"; then
		diag "$READER -H -r failed: $(cat "$TMP/rt.err")"
		return 1
	fi
	[ -s "$TMP/rt.err" ] && { diag "$READER complained: $(cat "$TMP/rt.err")"; return 1; }
	rows=$(wc -l < "$TMP/rt.table")
	[ "$rows" = "$records" ] || { diag "$rows table rows for $records record lines"; return 1; }
	"$READER" -j -r "$TMP/rt" > "$TMP/rt.json" 2> "$TMP/rt.err" ||
		{ diag "$READER -j -r failed: $(cat "$TMP/rt.err")"; return 1; }
	rows=$(grep -c '^{' "$TMP/rt.json")
	[ "$rows" = "$records" ] || { diag "$rows JSON objects for $records record lines"; return 1; }
}

# ---- main -----------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "must run as root"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
KO=$(realpath -e -- "$KO" 2>/dev/null) || skip_all "no module at TCPTRACE_KO=$TCPTRACE_KO"
[ -z "$READER" ] || READER=$(realpath -- "$READER")
TMP=$(mktemp -d -t tcptrace_module.XXXXXX) || exit $ksft_fail
trap cleanup EXIT

if [ -d "$SYSMOD" ]; then
	was_loaded=1
	rmmod "$MOD" 2>/dev/null || skip_all "$MOD is loaded and in use"
	busywait 5000 is_unloaded || skip_all "$MOD did not go away"
fi

ktap_header
ktap_plan "$TESTS"
run_test "insmod loads the module" test_load
run_test "$DEV is a character device, mode 0600" test_device_node
run_test "cat $DEV ends" test_cat_terminates
run_test "the header line parses, default bounds" test_header
run_test "module parameters are read-only" test_params_readonly
run_test "rmmod is refused while $DEV is open" test_rmmod_busy
run_test "rmmod works once $DEV is closed" test_rmmod_after_close
run_test "the module loads again and reads" test_reload
run_test "kprobes=1 follows TIME_WAIT and half-open, kprobes=0 does not" test_kprobes
run_test "insmod max_live=0 fails with EINVAL" bad_param max_live=0
run_test "insmod max_live=4194305 fails with EINVAL" bad_param max_live=4194305
run_test "insmod ring_size=0 fails with EINVAL" bad_param ring_size=0
run_test "insmod ring_size=4194305 fails with EINVAL" bad_param ring_size=4194305
# Malformed, negative and wider than an unsigned int: EINVAL as well.
for arg in max_live=abc max_live=-1 max_live=4294967296 ring_size=12x ring_size= \
	   kprobes=maybe evict=2; do
	run_test "insmod $arg fails with EINVAL" bad_param "$arg"
done
run_test "the reader prints one row per record of a capture" test_reader_roundtrip
run_test "max_live=1 ring_size=1: evicts, counts what it overwrites" tiny_bounds
run_test "max_live=1 ring_size=1 evict=0: counts what it leaves out" tiny_bounds evict=0

ktap_finish
