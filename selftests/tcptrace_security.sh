#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_security.sh: who may open /dev/tcptrace, what the administrator
# of a network namespace sees and may do there, and that nothing the
# module ever emits is a kernel address, KTAP. Documentation/security.rst
# is the threat model this checks.
#
# - The device node is 0600 root: any other uid gets EACCES (setpriv).
# - Opening needs CAP_NET_ADMIN over the opener's network namespace: root
#   of a new user namespace, in the initial network namespace, gets EPERM
#   (root without CAP_NET_ADMIN too: tcptrace_test's device.netns checks
#   that one). An fd keeps its opener's rights wherever it goes: uid 65534
#   reads one that root opened, and may issue all-netns on it.
# - Root of a new user and network namespace (unshare --user
#   --map-root-user --net, started as root, so that the device's owner
#   maps) opens it, and sees its own sockets only, in snapshots and in a
#   follow stream, while traffic runs in the initial namespace; there,
#   all-netns, clear, ports= and netns= fail with EPERM and change
#   nothing; follow works.
# - No kernel address: everything the module emitted during the test
#   (snapshots, follow streams, the namespace's reader's, the reader's
#   table and JSON of a capture, each kernel log line naming tcptrace, its
#   parameters) is scanned for hex that looks like a kernel pointer
#   (ffff... with or without 0x, any long 0x number, 16 hex digits with a
#   letter: a %p hash) and for decimal numbers of 0xffff800000000000 and
#   more (a pointer printed with %llu); the scanner must find such values
#   planted in a file, and leave their near misses alone.
#
# Environment: TCPTRACE_KO (required), TCPTRACE_READER (userspace/tcptrace;
# its outputs are scanned when it is given). Needs root, perl, setpriv(1)
# and unshare(1). Unloads the module if it is loaded, and leaves it
# unloaded.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly WORKLOAD=$here/tcptrace_workload
readonly NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
# 0xffff800000000000, the lowest x86-64 kernel address, in decimal.
readonly KERNEL_MIN_DECIMAL=18446603336221196288

KO=${TCPTRACE_KO:-}
READER=${TCPTRACE_READER:-}
TMP=
pids=()

cleanup() {
	local pid
	exec 4<&- 5<&- 2>/dev/null
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -d "$SYSMOD" ] && rmmod "$MOD"
	[ -n "$TMP" ] && rm -rf -- "$TMP"
}

# open_errno MODE...: in this process's credentials, open the device in
# each MODE (r, w, rw); prints "MODE ok" or "MODE ERRNO" for each.
# shellcheck disable=SC2016 # perl code
open_errno() {
	perl -MErrno -MFcntl -e '
		my %mode = (r => O_RDONLY, w => O_WRONLY, rw => O_RDWR);
		for my $m (@ARGV[1 .. $#ARGV]) {
			if (sysopen(my $f, $ARGV[0], $mode{$m})) { print "$m ok\n"; close $f; next }
			my ($name) = grep { $!{$_} } sort keys %!;
			print "$m ", $name // ($! + 0), "\n";
		}' "$DEV" "$@"
}

# ---- access -----------------------------------------------------------------------

test_node() {
	local got
	got=$(stat -c '%F %a %u %g' "$DEV") || return 1
	[ "$got" = "character special file 600 0 0" ] ||
		{ diag "$DEV: '$got', want 'character special file 600 0 0'"; return 1; }
}

test_other_uid() {
	local got
	got=$("${NOBODY[@]}" bash -c "$(declare -f open_errno); DEV=$DEV; open_errno r w rw" 2>&1)
	[ "$got" = $'r EACCES\nw EACCES\nrw EACCES' ] ||
		{ diag "uid 65534: '$got', want EACCES for r, w and rw"; return 1; }
}

test_userns_init_netns() {
	local got
	got=$(unshare --user --map-root-user bash -c "$(declare -f open_errno); DEV=$DEV; open_errno r rw" 2>&1)
	[ "$got" = $'r EPERM\nrw EPERM' ] ||
		{ diag "root of a user namespace, initial netns: '$got', want EPERM"; return 1; }
}

# shellcheck disable=SC2016 # perl code
test_fd_keeps_opener() {
	local got
	exec 5<>"$DEV" || return 1
	got=$("${NOBODY[@]}" perl -MErrno -MFcntl -e '
		open(my $f, "+<&=", 5) or die "fd 5: $!\n";
		print syswrite($f, "all-netns\n") ? "all-netns ok\n" : "all-netns $!\n";
		my $n = sysread($f, my $buf, 4096);
		print defined $n && $buf =~ /^# tcptrace format=/ ? "read ok\n" : "read failed\n";
		print sysopen(my $g, $ARGV[0], O_RDONLY) ? "open ok\n" : $!{EACCES} ? "open EACCES\n" : "open $!\n";
	' "$DEV" 2>&1)
	exec 5<&-
	[ "$got" = $'all-netns ok\nread ok\nopen EACCES' ] ||
		{ diag "uid 65534 with root's fd: '$got'"; return 1; }
}

# ---- a namespace's administrator --------------------------------------------------

# The reader in a new user and network namespace: refused commands, its
# own connection (an abort, so that no TIME_WAIT keeps it live), then
# snapshots and the follow stream until told to stop, into $out/ns.*.
write_ns_reader() {
	cat > "$TMP/ns_reader.pl" <<'EOF'
use strict; use warnings; use Errno; use Fcntl; use Socket; use IO::Socket::INET;
my ($dev, $out, $stop) = @ARGV;
sub out {
	my ($name, $text, $mode) = @_;
	open(my $f, $mode // ">>", "$out/ns.$name") or die "ns.$name: $!\n";
	print $f $text;
	close $f or die;
}
system("ip", "link", "set", "lo", "up") == 0 or die "lo up failed\n";
readlink("/proc/self/ns/net") =~ /^net:\[(\d+)\]$/ or die "no netns\n";
my $ns = $1;
sysopen(my $fol, $dev, O_RDWR | O_NONBLOCK) or die "open $dev: $!\n";
syswrite($fol, "follow\n") or die "follow: $!\n";
sysopen(my $cmd, $dev, O_RDWR) or die "open $dev: $!\n";
for my $c ("all-netns", "clear", "ports=80", "netns=0", "netns=$ns") {
	my $r = syswrite($cmd, "$c\n");
	out("cmds", "$c " . (defined $r ? "ok" : $!{EPERM} ? "EPERM" : $! + 0) . "\n");
}
close $cmd;
my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die "listen: $!\n";
my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $l->sockport) or die "connect: $!\n";
my $a = $l->accept or die "accept: $!\n";
setsockopt($c, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)) or die "SO_LINGER: $!\n";
close $c;
sysread($a, my $b, 1);
close $a;
close $l;
out("info", "netns $ns\n");
my $snaps = 0;
while (1) {
	my $last = -e $stop;
	sysopen(my $s, $dev, O_RDONLY) or die "open $dev: $!\n";
	my ($text, $n) = ("", 0);
	while (($n = sysread($s, $text, 65536, length $text))) {}
	defined $n or die "read: $!\n";
	close $s;
	$snaps++;
	out("snap", $text);
	while (1) {
		$n = sysread($fol, my $buf, 65536);
		if (defined $n) { out("follow", $buf); next }
		last if $!{EAGAIN};
		$!{EPIPE} or die "follow: $!\n";
	}
	if ($last) { out("final", $text, ">"); last }
	select(undef, undef, undef, 0.2);
}
out("info", "snapshots $snaps\n");
EOF
}

# Connections in the initial namespace while a namespace's reader reads;
# the initial namespace follows all of them meanwhile.
ns_run() {
	local n
	write_ns_reader
	exec 4<>"$DEV" && echo all-netns >&4 && echo follow >&4 || return 1
	cat <&4 > "$TMP/follow.init" &
	pids+=($!)
	unshare --user --map-root-user --net perl "$TMP/ns_reader.pl" "$DEV" "$TMP" "$TMP/stop" \
		2> "$TMP/ns.err" &
	ns_pid=$!
	busywait 60000 test -s "$TMP/ns.info" || { diag "the namespace's reader did not start: $(cat "$TMP/ns.err")"; return 1; }
	# Of every kind, in the initial namespace and in one of their own.
	"$WORKLOAD" -N -n 100 -j 1 -s 2 -m all > /dev/null &
	n=$!
	"$WORKLOAD" -n 300 -j 2 -m all -o "$TMP/manifest" > /dev/null || { diag "the workload failed"; return 1; }
	wait "$n" || { diag "the workload in a namespace failed"; return 1; }
	touch "$TMP/stop"
	wait "$ns_pid" || { diag "the namespace's reader failed: $(cat "$TMP/ns.err")"; return 1; }
	snapshot "$TMP/snap.init" || return 1
}

test_ns_sees_own() {
	local ns init snaps
	[ "$ns_ok" = 1 ] || return 1
	read -r _ ns < "$TMP/ns.info"
	read -r _ snaps < <(grep '^snapshots' "$TMP/ns.info")
	init=$(readlink /proc/self/ns/net)
	init=${init#net:[}
	init=${init%]}
	[ "$ns" != "$init" ] || { diag "the reader was in the initial namespace"; return 1; }
	[ "$snaps" -ge 2 ] || { diag "$snaps snapshots while the traffic ran"; return 1; }
	# Every record is of its namespace; its own three sockets are there.
	awk -v ns="$ns" '
		FNR == NR { if ($2 != 0) cookie[$2] = 1; next }
		/^(done|live) / {
			if (index($0, " netns=" ns " ") == 0) { print "# another namespace: " $0; bad++ }
			if ($2 in cookie) { print "# a socket of the initial namespace: " $0; bad++ }
			if (FILENAME ~ /final$/ && $1 == "done") done++
			if (FILENAME ~ /follow$/) followed++
		}
		END {
			if (done < 3) { print "# " done + 0 " done records of its own in the last snapshot, want 3"; bad++ }
			if (followed < 3) { print "# " followed + 0 " records followed, want 3"; bad++ }
			exit bad > 0
		}' "$TMP/manifest" "$TMP/ns.snap" "$TMP/ns.follow" "$TMP/ns.final" >&2 || return 1
	# The initial namespace's traffic was traced meanwhile: a reader there
	# has every socket of the workload.
	awk 'FNR == NR { if ($2 != 0) want[$2] = 1; next }
	     /^(done|live) / { delete want[$2] }
	     END { for (c in want) n++; if (n) print "# " n " sockets of the workload not traced"; exit n > 0 }' \
		"$TMP/manifest" "$TMP/snap.init" >&2
}

test_ns_commands() {
	local got
	[ "$ns_ok" = 1 ] || return 1
	got=$(cat "$TMP/ns.cmds")
	[ "$got" = "$(printf '%s EPERM\n' all-netns clear ports=80 netns=0 "netns=$(awk '{ print $2; exit }' "$TMP/ns.info")")" ] ||
		{ diag "in the namespace: $got"; return 1; }
	read_header "$TMP/snap.init" || return 1
	[ "${H[filter_ports]}" = 0 ] && [ "${H[filter_netns]}" = 0 ] ||
		{ diag "the filters changed: filter_ports=${H[filter_ports]} filter_netns=${H[filter_netns]}"; return 1; }
	# Not cleared: the ring still has the histories of before.
	[ "${H[done]}" -ge "$done_before" ] || { diag "done=${H[done]}, $done_before before"; return 1; }
}

# ---- kernel addresses -----------------------------------------------------------

# scan_pointers FILE...: prints FILE:LINE:VALUE for each value that looks
# like a kernel address.
scan_pointers() {
	{
		grep -HnoiE '(0x)?ffff[0-9a-f]{12}' "$@"
		grep -HnoiE '0x[0-9a-f]{8,}' "$@"
		grep -HnoiwE '[0-9a-f]{16}' "$@" | awk -F: '$NF ~ /[a-fA-F]/'
		grep -HnoE '[0-9]{20,}' "$@" |
			awk -F: -v min="$KERNEL_MIN_DECIMAL" 'length($NF) > 20 || ($NF "") >= min'
	} | sort -u
}

test_scanner() {
	local hits
	printf '%s\n' "comm=ffff888003a1c000" "RIP 0xffffffffc0a01234" "seq=18446612682374279168" \
		"hash 00000000a1b2c3d4" > "$TMP/planted"
	printf '%s\n' "now=18446603336221196287" "[::ffff:127.0.0.1]:8080" "t0=1157000000000000" \
		"netns=4026531840 done 4097" "tcptrace_hist_init+0xb8/0x1f0" > "$TMP/near"
	hits=$(scan_pointers "$TMP/planted" | cut -d: -f2 | sort -u | wc -l)
	[ "$hits" = 4 ] || { diag "the scanner found $hits of 4 planted lines"; scan_pointers "$TMP/planted" >&2; return 1; }
	hits=$(scan_pointers "$TMP/near")
	[ -z "$hits" ] || { diag "the scanner flagged near misses: $hits"; return 1; }
}

test_no_pointers() {
	local f files=() hits
	[ "$ns_ok" = 1 ] || return 1
	kmsg_since "$kmsg_start" | grep "$MOD" > "$TMP/kmsg"
	grep -q "tracing TCP state changes" "$TMP/kmsg" || { diag "no load message in the kernel log"; return 1; }
	grep -H . "$SYSMOD"/parameters/* > "$TMP/params"
	if [ -n "$READER" ] && [ -x "$READER" ]; then
		"$READER" -r "$TMP/snap.init" > "$TMP/reader.table" &&
			"$READER" -j -r "$TMP/snap.init" > "$TMP/reader.json" ||
			{ diag "$READER failed on the capture"; return 1; }
	else
		diag "no reader (TCPTRACE_READER): its outputs are not scanned"
	fi
	for f in snap.init follow.init ns.snap ns.follow ns.final reader.table reader.json kmsg params; do
		[ -e "$TMP/$f" ] || continue
		[ -s "$TMP/$f" ] || { diag "$f is empty"; return 1; }
		files+=("$TMP/$f")
	done
	diag "scanned $(cat "${files[@]}" | wc -l) lines of ${#files[@]} files"
	hits=$(scan_pointers "${files[@]}")
	[ -z "$hits" ] || { printf '%s\n' "$hits" | head -n 20 | sed 's/^/# kernel address? /' >&2; return 1; }
}

# ---- main -----------------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "must run as root"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
KO=$(realpath -e -- "$KO" 2>/dev/null) || skip_all "no module at TCPTRACE_KO=$TCPTRACE_KO"
[ -x "$WORKLOAD" ] || skip_all "$WORKLOAD is not built (make -C $here)"
for cmd in perl setpriv unshare ip; do
	command -v "$cmd" > /dev/null || skip_all "no $cmd"
done
[ -z "$READER" ] || READER=$(realpath -- "$READER")
TMP=$(mktemp -d -t tcptrace_security.XXXXXX) || exit $ksft_fail
trap cleanup EXIT

if [ -d "$SYSMOD" ]; then
	rmmod "$MOD" 2>/dev/null || skip_all "$MOD is loaded and in use"
	busywait 5000 is_unloaded || skip_all "$MOD did not go away"
fi

ktap_header
ktap_plan 9
kmsg_start=$(kmsg_seq)
# A listener from before the load: a history seeded at load.
perl -MIO::Socket::INET -e 'IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1") or die; sleep 600' &
pids+=($!)
if ! insmod "$KO" || ! busywait 5000 has_dev; then
	ktap_bail "insmod $KO failed"
fi
read_header "$DEV" && done_before=${H[done]}

run_test "$DEV is a character device, 0600, root's" test_node
run_test "another uid gets EACCES" test_other_uid
run_test "root of a user namespace, in the initial netns, gets EPERM" test_userns_init_netns
run_test "an fd keeps its opener's rights: uid 65534 reads root's, all-netns works" test_fd_keeps_opener
ns_ok=0
ns_run && ns_ok=1
run_test "root of a user and network namespace sees its own sockets only" test_ns_sees_own
run_test "there, all-netns, clear, ports= and netns= are EPERM and change nothing" test_ns_commands
run_test "the kernel-address scanner finds planted values and passes near misses" test_scanner
run_test "nothing the module emitted holds a kernel address" test_no_pointers
run_test "the kernel log shows no oops or warning" kernel_quiet "$kmsg_start"

ktap_finish
