# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the tests
#
# lib.sh: helpers shared by the tcptrace shell tests and run_tests.sh,
# sourced, not run (run_tests.sh runs tcptrace_*.sh only). KTAP output
# (ktap.sh), polling, the module, the device's header line and the kernel
# log (kernel_complaint.sh). Like the tests, it needs bash and sets no
# shell options of its own.

# Its directory: the tests source it by its full path.
lib_dir=${BASH_SOURCE[0]%/*}
[ "$lib_dir" = "${BASH_SOURCE[0]}" ] && lib_dir=.

# KTAP: ksft_*, run_test, result, skip_all, ktap_finish...
# shellcheck source=ktap.sh
. "$lib_dir/ktap.sh"

readonly MOD=tcptrace
readonly DEV=/dev/tcptrace
readonly SYSMOD=/sys/module/$MOD

diag() { printf '# %s\n' "$*" >&2; }

# nap SECONDS: sleep without a process (each one costs a good part of a
# second in an emulated guest): a read that times out on a pipe nobody
# writes to.
exec {nap_fd}<> <(:)
nap() { read -r -t "$1" -u "$nap_fd"; return 0; }

# busywait TIMEOUT_MS CMD...: poll CMD until it succeeds (net/lib.sh style).
busywait() {
	local timeout_ms=$1 start=$EPOCHREALTIME now
	shift
	while true; do
		"$@" && return 0
		now=$EPOCHREALTIME
		(( (${now/./} - ${start/./}) / 1000 >= timeout_ms )) && return 1
		nap 0.02
	done
}

is_loaded() {
	local state
	[ -d "$SYSMOD" ] && read -r state 2>/dev/null < "$SYSMOD/initstate" && [ "$state" = live ]
}
is_unloaded() { [ ! -e "$SYSMOD" ] && [ ! -e "$DEV" ]; }
has_dev() { [ -c "$DEV" ]; }

# The kernel log as "SEQ<tab>MESSAGE" lines; the newest SEQ; the messages
# after one.
kmsg_records() {
	dd if=/dev/kmsg iflag=nonblock bs=16k status=none 2>/dev/null |
		awk '!/^ / { hdr = $0; sub(/;.*/, "", hdr); split(hdr, f, ",")
			     print f[2] "\t" substr($0, length(hdr) + 2) }'
}
kmsg_seq() { kmsg_records | tail -n 1 | cut -f 1; }
kmsg_since() { kmsg_records | awk -F '\t' -v s="$1" '$1 > s { print $2 }'; }

# What makes a test fail: the kernel complained (KERNEL_COMPLAINT).
# shellcheck source=kernel_complaint.sh
. "$lib_dir/kernel_complaint.sh"

# kernel_quiet SEQ: no complaint in the kernel log since SEQ (kmsg_seq).
kernel_quiet() {
	local bad
	bad=$(kmsg_since "$1" | grep -E "$KERNEL_COMPLAINT")
	[ -z "$bad" ] || { printf '%s\n' "$bad" | head -n 20 | sed 's/^/#   /' >&2; return 1; }
}

# read_header FILE: the header line of a capture into H[key], without a
# process. Fails if the first line is not a header.
declare -A H
read_header() {
	local line kv

	H=()
	read -r line < "$1" || return 1
	[[ $line == "# tcptrace "* ]] || { diag "not a header line: '$line'"; return 1; }
	for kv in $line; do
		[[ $kv == *=* ]] && H[${kv%%=*}]=${kv#*=}
	done
}

# snapshot FILE: every network namespace's histories, header first.
snapshot() {
	local rc fd
	exec {fd}<>"$DEV" || return 1
	echo all-netns >&"$fd" || { exec {fd}<&-; return 1; }
	timeout 60 cat <&"$fd" > "$1"
	rc=$?
	exec {fd}<&-
	return $rc
}

# mem_bytes_for MAX_LIVE RING_SIZE: sets mem_bytes to the memory that
# Documentation/tcptrace.rst gives for these bounds: 248 bytes a history
# of either bound, 16 a table bucket (72 with lockdep, which /proc/lockdep
# tells), one for every two live histories, MAX_LIVE / 2 rounded up to a
# power of two, at least two.
mem_bytes_for() {
	local max_live=$1 ring_size=$2 buckets=2 bucket_bytes=16
	[ -e /proc/lockdep ] && bucket_bytes=72
	while [ "$buckets" -lt $((max_live / 2)) ]; do
		buckets=$((buckets * 2))
	done
	mem_bytes=$((buckets * bucket_bytes + (max_live + ring_size) * 248))
}
