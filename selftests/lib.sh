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

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# bpftrace_stop PID TIMEOUT_S [ENDING_CMD...]: stop the bpftrace this shell
# started as PID as a user does, with SIGINT, and return its exit status.
#
# bpftrace 0.17 looks at the flag its SIGINT handler sets when the signal
# interrupts its epoll_wait() (BPFtrace::poll_perf_events()) and before it
# handles each event (perf_event_printer()). A SIGINT that comes after it
# handled an event and before it waits again is seen by neither: it waits
# on, until another event comes. That is when a test sends it, right
# after its traffic's last event. It exits within seconds (546 to 886 ms
# measured under emulation, 2.6 to 3.6 s on PREEMPT_RT, where detaching
# its probes waits longer), so one still running 10 s later, for which
# ENDING_CMD (if given: its END block's output is out) fails, missed the
# signal and is sent another. One still running TIMEOUT_S seconds after
# the first is stuck: where each of its threads waits is shown, and it is
# killed (status 137).
bpftrace_stop() {
	local pid=$1 timeout_s=$2 start=$EPOCHREALTIME now t
	shift 2
	kill -INT "$pid" 2>/dev/null
	if ! busywait 10000 pid_gone "$pid" && ! { [ $# -gt 0 ] && "$@"; }; then
		diag "bpftrace missed SIGINT (it came between two events and its wait): sent again"
		kill -INT "$pid" 2>/dev/null
	fi
	if busywait $((timeout_s * 1000 - 10000)) pid_gone "$pid"; then
		now=$EPOCHREALTIME
		diag "bpftrace exited $(( (${now/./} - ${start/./}) / 1000 )) ms after SIGINT"
	else
		diag "bpftrace still runs ${timeout_s} s after SIGINT; its threads:"
		for t in /proc/"$pid"/task/*; do
			diag "  ${t##*/} $(cat "$t/comm" 2>/dev/null), state $(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null), wchan $(cat "$t/wchan" 2>/dev/null)"
			sed 's/^/#     /' "$t/stack" 2>/dev/null | head -n 16
		done
		command -v gdb >/dev/null &&
			timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt 8' 2>&1 |
			grep -E '^(Thread|#[0-9])' | sed 's/^/#     /'
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
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
