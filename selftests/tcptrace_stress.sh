#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_stress.sh: load and unload the module under load, and overload
# its table and ring, KTAP.
#
# Cycles: the module is loaded and unloaded $TCPTRACE_STRESS_CYCLES (50)
# times, its parameters varied (kprobes=0/1, evict=0/1, bounds from 1 to
# 65536), while tcptrace_workload churns connections in namespaces of its
# own and three readers keep opening the device, reading snapshots
# (checked whole, and the same again after a seek to 0), following (a
# header, then gapless seq= but after an EPIPE) and closing it. In each
# cycle:
#
# - the load succeeds, and the header shows the bounds and the mem_bytes
#   that Documentation/tcptrace.rst gives for them;
# - delete_module() is refused with EWOULDBLOCK while a reader holds the
#   device open, and succeeds once all have closed; every third cycle the
#   readers are not told to stop first, and the unload races their opens
#   (which may then fail with ENOENT or ENODEV, and nothing else);
# - nothing is left after it: no /sys/module/tcptrace, no /dev/tcptrace, no
#   vmalloc area allocated from the module's code (vmallocinfo names the
#   module while it is loaded, and prints a bare address in its old range
#   once it is gone), no kprobe.
#
# With kmemleak (/sys/kernel/debug/kmemleak), a scan after the cycles must
# report nothing allocated by the module. The kernel log must show no
# complaint (run_tests.sh checks that too).
#
# Under QEMU's software emulation (TCG) the churn pauses for the load and
# unload system calls themselves. Attaching and detaching rewrites kernel
# code (the tracepoints' static keys, the kprobes' ftrace call sites) with
# int3 patching, and a virtual CPU that runs a patched site meanwhile has
# been seen to keep executing the int3 after the code was restored (the
# guest reads the new bytes, and yet traps again, forever): an RCU stall
# that wedges the VM, about once in 300 cycles with the churn going on.
# Real CPUs and KVM see the new code after the serializing int3, so there
# the churn runs through the system calls as well.
#
# Overload: the table holds 4 or 6 histories and the ring 8 or 4096, with
# kprobes=0 so that the events of a connection are known exactly: ten for
# one the client closes first, five on each end (Documentation/
# benchmark.rst), and two for a listener. tcptrace_workload makes N
# connections (-m client_first) with W workers, each listening on a port
# of its own (-p), in a namespace of its own, whose TCP MIB must agree
# (ActiveOpens and PassiveOpens N, no failed attempt, no reset). The
# ports= filter keeps those W ports only: every other socket's events
# count as filtered. A follower reads done histories meanwhile; with the
# ring of 8 it is stopped for a while, so that it is sure to be overrun,
# with the ring of 4096 it quits early, leaving the rest unread. A
# snapshot is taken at the end.
#
# What the module (history.c, table.c) makes exact, for the counters' growth from the header
# read after the filter was set (the "baseline"; no history was live then,
# which is checked, so every history started after it is the workload's):
#
# 1. Each tracepoint event bumps "events" and then exactly one of: a step
#    of its socket's history, "filtered" (the filter does not want the
#    socket: the workload's sockets all have a port in the filter), or
#    "drop_table_full" (no slot, none evicted), or "drop_steps_full" (the
#    history has 10 steps). Hence
#      d(events) - d(filtered) == 10 N + 2 * 2 W     (W workers, 2 listeners each)
#      10 N + 4 W == workload steps + d(drop_table_full) + d(drop_steps_full) + M
#    where M is the steps of the histories the follower missed, if any:
#    M == 0 when it missed none, and otherwise, as each missed history has
#    at least one step and at most five (kprobes=0), G <= M <= 5 G.
# 2. Each done history bumps "completed" once and takes the next seq, in
#    order: seqs from the baseline's "completed" on are those the follower
#    read, plus those it was told it missed (the seq gaps, each right after
#    an EPIPE), plus those still in the ring that it had not read.
# 3. An evicted history is a done one with end=evicted; "evicted" counts
#    them: d(evicted) == those seen (lossless), or between those seen and
#    those seen + G. evict=0 evicts nothing.
# 4. created == completed + live; live == the snapshot's live records, none
#    of them the workload's once it has exited; done == its done records;
#    ring_overwritten == completed - done (nothing cleared).
#
# Environment: TCPTRACE_KO (required), TCPTRACE_STRESS_CYCLES (default 50).
# Needs root, tcptrace_stress_helper (built with the tests) and unshare(1).
# Unloads the module if it is loaded, and leaves it unloaded.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"

readonly CYCLES=${TCPTRACE_STRESS_CYCLES:-50}
readonly WORKLOAD=$here/tcptrace_workload
readonly HELPER=$here/tcptrace_stress_helper
readonly READERS=3
# The overload's ports: below the ephemeral range, used by nothing else.
readonly PORT=24000 CONNS=400
readonly KMEMLEAK=/sys/kernel/debug/kmemleak
readonly KPROBES_LIST=/sys/kernel/debug/kprobes/list

KO=${TCPTRACE_KO:-}
TMP=
churn_pid=
churn_pauses=0
reader_pids=()

cleanup() {
	local pid
	exec 3<&- 2>/dev/null
	[ -n "$TMP" ] && touch "$TMP/churn.stop" 2>/dev/null
	for pid in "${reader_pids[@]}" ${follower_pid:-} ${wl_pid:-}; do
		kill -CONT "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
		# A process stuck in the kernel would never be reaped.
		[ "$wedged" = 0 ] && wait "$pid" 2>/dev/null
	done
	[ -n "$churn_pid" ] && kill -CONT -- "-$churn_pid" 2>/dev/null
	[ -n "$churn_pid" ] && [ "$wedged" = 0 ] && wait "$churn_pid" 2>/dev/null
	# modctl ends at the end of its input.
	if [ -n "${MODCTL_PID:-}" ] && [ "$wedged" = 0 ]; then
		pid=$MODCTL_PID
		fd=${MODCTL[1]}
		exec {fd}>&-
		wait "$pid" 2>/dev/null
	fi
	[ "$wedged" = 0 ] && [ -d "$SYSMOD" ] && rmmod "$MOD"
	[ -n "$TMP" ] && rm -rf -- "$TMP"
}

# ---- the helpers -----------------------------------------------------------------

# tcptrace_stress_helper (its source says exactly what each does):
#   modctl    loads and unloads the module by its system calls, one request
#             and one reply a line ("load PATH PARAMS...", "unload",
#             "unload_retry SECONDS"; "ok", "err ERRNO"), so that 50 cycles
#             do not pay for 150 processes;
#   reader    until SIGTERM, opens the device, reads a snapshot or follows
#             (in turn), checks what it read and closes it; SIGUSR1 pauses
#             it with the device closed, SIGUSR2 resumes it; its status
#             file says "run|paused OPS ABSENT", its problems go to stderr
#             as "FAIL ...", and make its exit status 1;
#   follower  the overload's: follows every namespace's done histories
#             into a file, with a line "#EPIPE" where the ring overran it,
#             until SIGTERM finds nothing more to read, or at once on
#             SIGUSR1; its status file says "ready" once it has the header.

# modctl COMMAND: its reply in $reply. A system call that does not return
# wedges the test: the kernel stacks of modctl and the readers say where.
wedged=0
modctl() {
	local pid
	reply="no modctl"
	[ "$wedged" = 0 ] && [ -n "${MODCTL[1]:-}" ] || return 1
	echo "$*" >&"${MODCTL[1]}" || return 1
	read -r -t 90 reply <&"${MODCTL[0]}" && return 0
	reply="no reply to '$*' in 90 s"
	wedged=1
	for pid in "$MODCTL_PID" $(grep -l '^State:.D' /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3); do
		diag "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)), $(grep State "/proc/$pid/status" 2>/dev/null):"
		sed 's/^/#   /' "/proc/$pid/stack" >&2 2>/dev/null
	done
	return 1
}

# ---- the cycles ---------------------------------------------------------------

# The helpers below set variables rather than print: in an emulated
# guest a subshell per poll would cost more than the cycle.

# mod_lo, mod_hi: the module's address range while loaded (/proc/modules).
mod_range() {
	local name size addr
	while read -r name size _ _ _ addr _; do
		if [ "$name" = "$MOD" ]; then
			mod_lo=$((addr))
			mod_hi=$((addr + size))
			return 0
		fi
	done < /proc/modules
	return 1
}

# owned: the vmalloc areas allocated from the module's code. vmallocinfo
# names the module while it is loaded, and prints a bare address once it
# is gone: one in its old range [$1, $2) is a leak.
vmalloc_owned() {
	local lo=${1:-1} hi=${2:-0} line caller IFS=$'\n'
	local -a areas
	owned=
	mapfile -t areas < /proc/vmallocinfo
	# Usually neither is anywhere: one look at the whole text first.
	[[ "${areas[*]}" == *"[$MOD]"* || "${areas[*]}" == *[0-9]" 0x"* ]] || return 0
	for line in "${areas[@]}"; do
		[[ $line == *"[$MOD]"* || $line == *[0-9]" 0x"* ]] || continue
		if [[ $line == *"[$MOD]"* ]]; then
			owned+="$line; "
			continue
		fi
		# "START-END SIZE CALLER ...", CALLER an address or symbol+off/size
		[[ $line =~ ^[^\ ]+\ +[0-9]+\ (0x[0-9a-f]+) ]] || continue
		caller=${BASH_REMATCH[1]}
		(( caller >= lo && caller < hi )) && owned+="$line; "
	done
}

# nkprobes: the kprobes registered, if debugfs shows them.
kprobes_count() {
	local -a l=()
	[ -r "$KPROBES_LIST" ] && mapfile -t l < "$KPROBES_LIST"
	nkprobes=${#l[@]}
}

# r_state, r_ops: reader $1's status.
reader_status() {
	local s='' o=''
	read -r s o _ 2>/dev/null < "$TMP/reader$1.status"
	r_state=${s:-none}
	r_ops=${o:-0}
}
readers_in() {
	local i
	for ((i = 0; i < READERS; i++)); do
		reader_status "$i"
		[ "$r_state" = "$1" ] || return 1
	done
}
# Every reader did an operation since its count was ${before[i]}.
readers_progressed() {
	local i
	for ((i = 0; i < READERS; i++)); do
		reader_status "$i"
		[ "$r_ops" -gt "${before[i]}" ] || return 1
	done
}
refcnt_is() { local r; read -r r 2>/dev/null < "$SYSMOD/refcnt" && [ "$r" = "$1" ]; }

# churn_pause, churn_resume: around the module's system calls, under TCG
# only (see the top). The churn is a process group of its own; what its
# connections had in flight on loopback is done a moment after it stops.
churn_pause() {
	[ "$churn_pauses" = 1 ] || return 0
	kill -STOP -- "-$churn_pid"
	nap 0.05
}
churn_resume() {
	[ "$churn_pauses" = 1 ] || return 0
	kill -CONT -- "-$churn_pid"
}

# Per-check failure counts over all cycles, and up to a few diagnostics.
declare -A bad
note() { bad[$1]=$((${bad[$1]:-0} + 1)); [ "${bad[$1]}" -le 3 ] && diag "cycle $cycle: $2"; return 0; }

mod_ranges=()
vmalloc_seen=0
raced=0
race_tries=0

run_cycle() {
	local i=$1 kp ev yn=N max_live ring race params=() want before=() lo='' hi='' line n
	# The kprobes take most of a load's and an unload's time: one cycle in four.
	kp=$((i % 4 == 1))
	ev=$((i / 4 % 2))
	race=$((i % 3 == 2))
	case $((i % 5)) in
	0) max_live=16384 ring=8192 ;;		# the defaults, given by no parameter
	1) max_live=1 ring=1 ;;
	2) max_live=4 ring=8 ;;
	3) max_live=64 ring=16 ;;
	4) max_live=65536 ring=65536 ;;		# tables too big for kmalloc: vmalloc
	esac
	[ $((i % 5)) = 0 ] || params=("max_live=$max_live" "ring_size=$ring")
	params+=("kprobes=$kp" "evict=$ev")

	t_start=$EPOCHREALTIME
	churn_pause
	modctl load "$KO" "${params[@]}"
	churn_resume
	if [ "$reply" != ok ]; then
		note load "load ${params[*]}: $reply"
		return
	fi
	lap load
	busywait 5000 has_dev || { note load "$DEV did not appear"; }
	is_loaded || note load "$SYSMOD/initstate is not live"

	# The header: the bounds, and the memory they imply.
	if read_header "$DEV"; then
		mem_bytes_for "$max_live" "$ring"
		want=$mem_bytes
		[ "${H[live_max]:-}" = "$max_live" ] && [ "${H[ring_size]:-}" = "$ring" ] &&
			[ "${H[mem_bytes]:-}" = "$want" ] || note header "${params[*]}: live_max=${H[live_max]:-} ring_size=${H[ring_size]:-} mem_bytes=${H[mem_bytes]:-}, want $max_live $ring $want"
		[ "$kp" = 1 ] || [ "${H[timewait]:-}${H[halfopen]:-}" = 00 ] ||
			note header "kprobes=0 but timewait=${H[timewait]:-} halfopen=${H[halfopen]:-}"
	else
		note header "no header"
	fi
	read -r line < "$SYSMOD/parameters/evict"
	((ev)) && yn=Y
	[ "$line" = "$yn" ] || note header "parameters/evict is $line"

	if mod_range; then
		lo=$mod_lo
		hi=$mod_hi
		mod_ranges+=("$lo $hi")
	else
		note load "$MOD is not in /proc/modules"
	fi
	if [ "$max_live" = 65536 ]; then
		vmalloc_owned
		[ -n "$owned" ] && vmalloc_seen=$((vmalloc_seen + 1))
	fi

	# The readers read from this load.
	for ((n = 0; n < READERS; n++)); do
		reader_status "$n"
		before[n]=$r_ops
	done
	lap checks
	readers_in paused && kill -USR2 "${reader_pids[@]}"
	busywait 30000 readers_progressed || note readers "the readers did not read"
	lap readers

	# Refused while the device is open...
	exec 3<"$DEV" || note busy "cannot open $DEV"
	modctl unload
	[ "$reply" = "err EWOULDBLOCK" ] || [ "$reply" = "err EAGAIN" ] ||
		note busy "delete_module with $DEV open: '$reply', want EWOULDBLOCK"
	is_loaded || note busy "$MOD is not live after a refused unload"

	# ...and done once every reader has closed it.
	if [ "$race" = 0 ]; then
		kill -USR1 "${reader_pids[@]}"
		busywait 30000 readers_in paused || note unload "the readers did not pause"
		lap pause
		busywait 5000 refcnt_is 1 || note unload "refcnt is not 1 with one fd open"
		exec 3<&-
		refcnt_is 0 || note unload "refcnt is not 0 with the device closed"
		churn_pause
		modctl unload
		churn_resume
		[ "$reply" = ok ] || note unload "delete_module: '$reply'"
	else
		# The readers keep opening it: retry while one has it open.
		exec 3<&-
		churn_pause
		modctl unload_retry 60
		churn_resume
		if [ "${reply%% *}" = ok ]; then
			raced=$((raced + 1))
			race_tries=$((race_tries + ${reply#ok }))
		else
			note unload "delete_module racing the readers: '$reply'"
		fi
	fi
	lap unload
	busywait 5000 is_unloaded || note left "$SYSMOD or $DEV is still there"

	# Nothing left behind.
	vmalloc_owned "$lo" "$hi"
	[ -z "$owned" ] || note left "vmalloc areas of the module after unload: $owned"
	kprobes_count
	[ "$nkprobes" = "$kprobes_base" ] ||
		note left "$nkprobes kprobes registered after unload, $kprobes_base before"
	lap left
}

# Where the cycles' time goes, in ms: lap PHASE adds the time since the
# last lap to it.
declare -A spent
lap() {
	local now=$EPOCHREALTIME
	spent[$1]=$(( ${spent[$1]:-0} + (${now/./} - ${t_start/./}) / 1000 ))
	t_start=$now
}

# kmemleak: anything the module allocated and lost. Its reports' stack
# traces name the module while it is loaded; once it is gone, they show
# bare addresses (16 hex digits) in its old ranges.
test_kmemleak() {
	local report addr lo hi r
	[ -w "$KMEMLEAK" ] || { diag "no kmemleak in this kernel"; return $ksft_skip; }
	# An object must be older than 5 s, and unreferenced in a scan, to be reported.
	nap 6
	echo scan > "$KMEMLEAK"
	echo scan > "$KMEMLEAK"
	report=$(cat "$KMEMLEAK")
	[ -n "$report" ] && diag "kmemleak: $(grep -c '^unreferenced object' <<< "$report") suspects"
	if grep -q "$MOD" <<< "$report"; then
		grep -B 12 -A 12 "$MOD" <<< "$report" | head -n 40 | sed 's/^/#   /' >&2
		return 1
	fi
	for addr in $(grep -oiwE '(0x)?[0-9a-f]{16}' <<< "$report" | sed 's/^0x//' | sort -u); do
		for r in "${mod_ranges[@]}"; do
			read -r lo hi <<< "$r"
			if (( 0x$addr >= lo && 0x$addr < hi )); then
				diag "kmemleak: an object allocated from the module's code (0x$addr):"
				grep -B 12 -A 12 "$addr" <<< "$report" | head -n 40 | sed 's/^/#   /' >&2
				return 1
			fi
		done
	done
}

# ---- the overload ---------------------------------------------------------------

# overload MAX_LIVE RING_SIZE EVICT LOSSY WORKERS
overload() {
	local max_live=$1 ring=$2 ev=$3 lossy=$4 workers=$5 wl_rc rc=0 netns
	local -A H0
	local out=$TMP/ovl.$max_live.$ring.$ev k

	if [ -d "$SYSMOD" ]; then
		modctl unload
		busywait 5000 is_unloaded || { diag "$MOD is still loaded"; return 1; }
	fi
	modctl load "$KO" max_live="$max_live" ring_size="$ring" evict="$ev" kprobes=0
	[ "$reply" = ok ] || { diag "load: $reply"; return 1; }
	busywait 5000 has_dev || { diag "$DEV did not appear"; return 1; }
	echo "ports=$PORT-$((PORT + workers - 1))" > "$DEV" || { diag "ports= failed"; return 1; }
	read_header "$DEV" || return 1
	for k in "${!H[@]}"; do H0[$k]=${H[$k]}; done
	if [ "${H0[live]}" != 0 ]; then
		diag "${H0[live]} TCP sockets were open at load: the exact accounting needs none"
		return $ksft_skip
	fi

	rm -f "$TMP/follower.status"
	"$HELPER" follower "$DEV" "$out.follow" "$TMP/follower.status" &
	follower_pid=$!
	busywait 30000 test -e "$TMP/follower.status" || { diag "the follower did not start"; return 1; }
	# With the ring of 8: stopped, so that the ring overruns it.
	[ "$lossy" = 1 ] && kill -STOP "$follower_pid"

	# shellcheck disable=SC2016 # for the inner shell
	unshare --net sh -c 'ip link set lo up || exit 1
		readlink /proc/self/ns/net
		"$1" -n "$2" -j "$3" -p "$4" -m client_first || exit 1
		cat /proc/net/snmp' sh "$WORKLOAD" "$CONNS" "$workers" "$PORT" > "$out.wl" &
	wl_pid=$!
	# Lossy: the stopped follower resumes once the ring has overrun it.
	# Lossless: it stops reading before the workload ends, leaving the rest
	# in the ring.
	completed_over() { read_header "$DEV" && [ "${H[completed]}" -gt $((H0[completed] + $1)) ]; }
	if [ "$lossy" = 1 ]; then
		busywait 60000 completed_over $((4 * ring)) || diag "fewer than $((4 * ring)) histories completed"
		kill -CONT "$follower_pid"
	else
		busywait 60000 completed_over 100 || diag "fewer than 100 histories completed"
		kill -USR1 "$follower_pid"
	fi
	wait "$wl_pid"
	wl_rc=$?
	kill -TERM "$follower_pid" 2>/dev/null
	wait "$follower_pid" || { diag "the follower failed"; rc=1; }
	follower_pid=
	snapshot "$out.snap" || { diag "snapshot failed"; rc=1; }
	modctl unload
	[ "$reply" = ok ] || { diag "unload: $reply"; rc=1; }

	[ "$wl_rc" = 0 ] || { diag "the workload failed: $(cat "$out.wl")"; return 1; }
	read -r netns < "$out.wl"
	netns=${netns#net:[}
	netns=${netns%]}
	# The namespace's own count: every connection made, none failed or reset.
	awk -v n="$CONNS" '/^Tcp: [0-9]/ {
		if ($6 != n || $7 != n || $8 != 0 || $9 != 0) {
			printf "# the MIB: ActiveOpens %s PassiveOpens %s AttemptFails %s EstabResets %s, want %d %d 0 0\n", $6, $7, $8, $9, n, n
			exit 1
		}
		ok = 1
	} END { exit !ok }' "$out.wl" >&2 || rc=1

	read_header "$out.snap" || return 1
	# From seq c0 (the baseline's completed) on: R histories the follower
	# read, G it missed (seq gaps, each after an EPIPE), U left unread in
	# the ring; S their steps, V those evicted, X those not the workload's.
	# E: EPIPEs. D, L: the snapshot's done and live records, LW live ones of
	# the workload. BAD: inconsistencies (printed).
	local R G E U D L S V X LW BAD
	read -r R G E U D L S V X LW BAD < <(awk -v c0="${H0[completed]}" -v ns="$netns" '
		function field(k,   i) {
			for (i = 6; i <= NF; i++)
				if (index($i, k "=") == 1)
					return substr($i, length(k) + 2)
			return ""
		}
		function count(   p) {
			p = field("path")
			S += gsub(/>/, ">", p)
			if (field("end") == "evicted")
				V++
			if (field("netns") != ns)
				X++
		}
		# Follower and ring: consecutive seqs, but after an EPIPE (prev: the
		# last seq the follower read, -1 before the first).
		function in_order(seq) {
			if (prev < 0) {
				if (seq > c0 && !epipe)
					problem("the first seq " seq " is past the baseline " c0 " without an EPIPE")
			} else if (seq <= prev) {
				problem("seq " seq " after " prev)
			} else if (seq == prev + 1 && epipe) {
				problem("an EPIPE, but no gap before seq " seq)
			} else if (seq > prev + 1 && !epipe) {
				problem("seq " seq " after " prev " without an EPIPE")
			}
			epipe = 0
		}
		# A seq from c0 on, read or unread: the ones skipped since the last
		# such were missed.
		function account(seq) {
			G += seq - last - 1
			last = seq
			count()
		}
		function problem(msg) { if (BAD++ < 5) print "# " msg > "/dev/stderr" }
		BEGIN { last = c0 - 1; prev = -1 }
		FNR == 1 { file++ }
		file == 1 && $0 == "#EPIPE" { E++; epipe = 1; next }
		file == 1 && /^#/ { next }
		file == 1 {
			seq = field("seq")
			if ($1 != "done" || seq == "") { problem("follower: " $0); next }
			seq += 0
			in_order(seq)
			text[seq] = $0
			prev = seq
			if (seq >= c0) {
				R++
				account(seq)
			}
			next
		}
		/^#/ { next }
		$1 == "done" {
			D++
			seq = field("seq") + 0
			if (seq in text) {
				if (text[seq] != $0) problem("the snapshot and the follower differ: " $0)
			} else if (seq <= prev) {
				problem("held in the ring, but the follower skipped it: " $0)
			} else {
				in_order(seq)
				prev = seq
				if (seq >= c0) {
					U++
					account(seq)
				}
			}
			next
		}
		$1 == "live" { L++; if (field("netns") == ns) LW++; count(); next }
		{ problem("not a record: " $0) }
		END { print R + 0, G + 0, E + 0, U + 0, D + 0, L + 0, S + 0, V + 0, X + 0, LW + 0, BAD + 0 }
	' "$out.follow" "$out.snap")
	diag "$(printf 'max_live=%s ring_size=%s evict=%s: follower read %s, missed %s (%s EPIPE), %s unread; %s steps, %s evicted' \
		"$max_live" "$ring" "$ev" "$R" "$G" "$E" "$U" "$S" "$V")"
	diag "$(head -n 1 "$out.snap")"
	[ "$BAD" = 0 ] || rc=1

	local d_events=$((H[events] - H0[events])) d_filtered=$((H[filtered] - H0[filtered]))
	local d_dtf=$((H[drop_table_full] - H0[drop_table_full]))
	local d_dsf=$((H[drop_steps_full] - H0[drop_steps_full]))
	local d_completed=$((H[completed] - H0[completed])) d_evicted=$((H[evicted] - H0[evicted]))
	local want=$((10 * CONNS + 4 * workers)) missed_steps
	missed_steps=$((want - S - d_dtf - d_dsf))

	# 1. Every event is the workload's, or filtered; each is a step or a drop.
	[ $((d_events - d_filtered)) = "$want" ] ||
		{ diag "events - filtered grew by $((d_events - d_filtered)), the workload made $want"; rc=1; }
	if [ "$G" = 0 ]; then
		[ "$missed_steps" = 0 ] ||
			{ diag "$want events != $S steps + $d_dtf drop_table_full + $d_dsf drop_steps_full"; rc=1; }
	elif [ "$missed_steps" -lt "$G" ] || [ "$missed_steps" -gt $((5 * G)) ]; then
		diag "$want events - $S steps - $d_dtf - $d_dsf drops = $missed_steps, for $G missed histories"
		rc=1
	fi
	[ "$X" = 0 ] || { diag "$X histories since the baseline are not the workload's"; rc=1; }
	[ "$S" -gt $((4 * workers)) ] || { diag "no connection of the workload recorded"; rc=1; }
	# 2. Each completion is read, missed or unread.
	[ "$d_completed" = $((R + G + U)) ] ||
		{ diag "completed grew by $d_completed: $R read + $G missed + $U unread"; rc=1; }
	if [ "$lossy" = 1 ]; then
		[ "$E" -gt 0 ] && [ "$G" -gt 0 ] || { diag "the stopped follower was not overrun"; rc=1; }
	else
		[ "$G$E" = 00 ] || { diag "a ring of $ring overran"; rc=1; }
		[ "$U" -gt 0 ] || { diag "nothing left unread by the follower that quit early"; rc=1; }
	fi
	# 3. Evictions.
	if [ "$ev" = 0 ]; then
		[ "$d_evicted" = 0 ] || { diag "evict=0, but evicted=$d_evicted"; rc=1; }
		[ "$d_dtf" -gt 0 ] || { diag "the table never overflowed"; rc=1; }
	elif [ "$d_evicted" -lt "$V" ] || [ "$d_evicted" -gt $((V + G)) ]; then
		diag "evicted grew by $d_evicted; seen: $V end=evicted, $G missed"
		rc=1
	elif [ "$d_evicted" -le $((2 * workers)) ]; then
		diag "evicted grew by $d_evicted only: no more than the listeners"
		rc=1
	fi
	# 4. The header adds up.
	[ "${H[created]}" = $((H[completed] + H[live])) ] ||
		{ diag "created=${H[created]} completed=${H[completed]} live=${H[live]}"; rc=1; }
	[ "${H[live]}" = "$L" ] && [ "$LW" = 0 ] ||
		{ diag "live=${H[live]}, $L live records, $LW of the workload"; rc=1; }
	[ "${H[done]}" = "$D" ] || { diag "done=${H[done]}, $D done records"; rc=1; }
	[ "${H[ring_overwritten]}" = $((H[completed] - H[done])) ] ||
		{ diag "ring_overwritten=${H[ring_overwritten]}"; rc=1; }
	return $rc
}

# ---- main -----------------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "must run as root"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
KO=$(realpath -e -- "$KO" 2>/dev/null) || skip_all "no module at TCPTRACE_KO=$TCPTRACE_KO"
[ -x "$WORKLOAD" ] || skip_all "$WORKLOAD is not built (make -C $here)"
[ -x "$HELPER" ] || skip_all "$HELPER is not built (make -C $here)"
command -v unshare > /dev/null || skip_all "no unshare(1)"
TMP=$(mktemp -d -t tcptrace_stress.XXXXXX) || exit $ksft_fail
trap cleanup EXIT
# Loaded 54 times: from a copy in /tmp, which is quicker to read than the
# shared file system of a test VM.
cp -- "$KO" "$TMP/$MOD.ko" && KO=$TMP/$MOD.ko || exit $ksft_fail

if [ -d "$SYSMOD" ]; then
	rmmod "$MOD" 2>/dev/null || skip_all "$MOD is loaded and in use"
	busywait 5000 is_unloaded || skip_all "$MOD did not go away"
fi

ktap_header
ktap_plan 15
kmsg_start=$(kmsg_seq)
kprobes_count
kprobes_base=$nkprobes
[ -w "$KMEMLEAK" ] && echo clear > "$KMEMLEAK"
coproc MODCTL { exec "$HELPER" modctl; }

# Churn until told to stop: connections of every kind, each run in a new
# namespace that goes away with its timewait sockets. A process group of
# its own (setsid), to pause it as one. A pause may cut a run short:
# stopped and continued, a socket call with a timeout (the workload sets
# SO_RCVTIMEO and SO_SNDTIMEO) fails with EINTR (signal(7)). Such runs are
# counted in churn.cut; any other failure goes to churn.err.
[ "$(systemd-detect-virt --vm 2>/dev/null)" = qemu ] && churn_pauses=1
export TMP WORKLOAD churn_pauses
# shellcheck disable=SC2016 # for the inner shell
setsid bash -c '
	n=0
	while [ ! -e "$TMP/churn.stop" ]; do
		n=$((n + 1))
		if ! "$WORKLOAD" -N -n 100 -j 1 -s "$n" -m all > /dev/null 2> "$TMP/churn.run"; then
			if [ "$churn_pauses" = 1 ] && [ -s "$TMP/churn.run" ] &&
			   ! grep -qv "Interrupted system call" "$TMP/churn.run"; then
				echo "$n" >> "$TMP/churn.cut"
			else
				{ echo "run $n failed:"; cat "$TMP/churn.run"; } >> "$TMP/churn.err"
			fi
		fi
		echo "$n" > "$TMP/churn.runs"
	done' &
churn_pid=$!
# Its process group exists once setsid has run.
churn_group() { kill -0 -- "-$churn_pid" 2>/dev/null; }
busywait 10000 churn_group || diag "the churn has no process group"

for ((n = 0; n < READERS; n++)); do
	"$HELPER" reader "$DEV" "$TMP/reader$n.status" "$n" 2> "$TMP/reader$n.err" &
	reader_pids+=($!)
done

SECONDS=0
for ((cycle = 0; cycle < CYCLES && !wedged; cycle++)); do
	run_cycle "$cycle"
done
[ "$wedged" = 0 ] || ktap_bail "a module system call did not return"
diag "$CYCLES cycles in ${SECONDS}s; $raced unloads raced the readers, $race_tries tries in all"
diag "ms spent: $(for k in "${!spent[@]}"; do printf '%s %s, ' "$k" "${spent[$k]}"; done)"

touch "$TMP/churn.stop"
wait "$churn_pid"
churn_pid=
kill -CONT "${reader_pids[@]}" 2>/dev/null
kill -TERM "${reader_pids[@]}"
reader_rc=0
for pid in "${reader_pids[@]}"; do
	wait "$pid" || reader_rc=1
done
reader_pids=()
ops=0
absent=0
for ((n = 0; n < READERS; n++)); do
	read -r _ o a < "$TMP/reader$n.status"
	ops=$((ops + o))
	absent=$((absent + a))
	[ -s "$TMP/reader$n.err" ] && sed 's/^/# /' "$TMP/reader$n.err" | head -n 10 >&2
done
diag "readers: $ops reads, $absent opens found no device; churn: $(cat "$TMP/churn.runs" 2>/dev/null) workload runs$( ((churn_pauses)) && echo ", paused for the module's system calls (TCG), $(cat "$TMP/churn.cut" 2>/dev/null | wc -l) cut short by it")"
[ -s "$TMP/churn.err" ] && head -n 20 "$TMP/churn.err" | sed 's/^/# churn: /' >&2

cycle=all
check() { [ "${bad[$1]:-0}" = 0 ]; }
run_test "$CYCLES loads succeed, with kprobes=0/1, evict=0/1, bounds 1 to 65536" check load
run_test "each header shows its bounds and the mem_bytes they imply" check header
run_test "delete_module is refused (EWOULDBLOCK) while the device is open" check busy
run_test "delete_module succeeds once the readers have closed it, or racing their opens" check unload
run_test "nothing is left after an unload: module, device, vmalloc areas, kprobes" check left
run_test "the vmalloc check sees the module's areas while it is loaded" test "$vmalloc_seen" -gt 0
run_test "every cycle's readers read from it" check readers
run_test "the readers read whole snapshots and gapless follow streams, only ENOENT/ENODEV while unloaded" \
	test "$reader_rc" = 0 -a "$ops" -gt 0
run_test "connection churn ran throughout, every run as planned" test ! -s "$TMP/churn.err"
run_test "kmemleak reports nothing of the module" test_kmemleak

SECONDS=0
# evict=0: four listeners and two slots for the connections of two
# workers; evict=1: four slots for three workers' connections, so that
# evictions go on once the listeners are out.
run_test "max_live=6 ring_size=8 evict=0, 2 workers: exact accounting, follower overrun" overload 6 8 0 1 2
run_test "max_live=4 ring_size=8 evict=1, 3 workers: exact accounting, follower overrun" overload 4 8 1 1 3
run_test "max_live=6 ring_size=4096 evict=0, 2 workers: exact accounting, nothing missed" overload 6 4096 0 0 2
run_test "max_live=4 ring_size=4096 evict=1, 3 workers: exact accounting, nothing missed" overload 4 4096 1 0 3
diag "overload in ${SECONDS}s"
run_test "the kernel log shows no oops, warning or leak" kernel_quiet "$kmsg_start"

ktap_finish
