#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-overhead/guest.sh: the guest side of scripts/bench-overhead. Runs
# as root inside the VM, from the top of the work tree: churns TCP
# connections with bench-overhead/loadgen under each tracer ("arm") in
# turn and prints one CSV line per measurement on stdout, each starting
# "BENCH,"; "PROFILE " lines are perf's report; progress goes to stderr as
# "# bench" lines.
#
# Arms: 1 no tracer; 2 empty probe on the tracepoint
# (bench-overhead/empty_probe); 3 tcptrace, nobody reading; 4 tcptrace and
# a follow reader draining it (bench-overhead/follow); 5 bpftrace running
# scripts/tcptrace.bt, the same histories kept in BPF maps; 6
# libbpf-tools' tcpstates; 7 bcc's tcpstates-bpfcc; 8 tcptrace kprobes=0
# (the tracepoint alone: with arm 3, what the kprobes cost).
#
# Phases, in order:
#   memory  tcptrace loaded with its defaults, no churn: with the arms'
#           larger table, what one more live history costs
#   churn   BENCH_REPS rounds; each measures every arm of BENCH_ARMS once,
#           in order, loading and unloading it around one churn; named
#           BENCH_CHURN_PHASE ("churn"; scripts/bench-overhead's 2-vCPU VM
#           runs only this phase, as "smp2")
#   block   each arm of BENCH_BLOCK_ARMS (bpftrace and bcc compile their
#           programs for minutes under emulation) starts once and churns
#           BENCH_REPS times in a row, between two arm 1 runs before and
#           two after
#   profile if perf is installed: perf record -a -g of one churn under each
#           arm of BENCH_PROFILE_ARMS
#   idle    for each count of BENCH_IDLE, loadgen holds that many idle
#           connections (it never closes them), then BENCH_REPS rounds of
#           the arms of BENCH_IDLE_ARMS
#
# Environment (scripts/bench-overhead sets it): BENCH_BIN (loadgen and follow),
# BENCH_KO, BENCH_EMPTY_KO, BENCH_REPS, BENCH_SECS (seconds per churn),
# BENCH_ARMS, BENCH_CHURN_PHASE, BENCH_BLOCK_ARMS, BENCH_IDLE, BENCH_IDLE_ARMS,
# BENCH_PROFILE_ARMS, BENCH_MAX_LIVE (tcptrace's max_live in every arm:
# room for 200,000 idle sockets, the TIME_WAIT ones and the churn, so that
# nothing is evicted).

set -uo pipefail

: "${BENCH_BIN:?}" "${BENCH_KO:?}" "${BENCH_EMPTY_KO:?}"
: "${BENCH_REPS:=5}" "${BENCH_SECS:=0.5}" "${BENCH_ARMS=1 2 3 4 6 8}"
: "${BENCH_CHURN_PHASE:=churn}" "${BENCH_BLOCK_ARMS=5 7}" "${BENCH_IDLE=100 10000 100000}"
: "${BENCH_IDLE_ARMS=1 3}" "${BENCH_PROFILE_ARMS=3 4}"
: "${BENCH_MAX_LIVE:=524288}"

readonly ARM_NAMES=(- none empty_probe tcptrace tcptrace+follow bpftrace
		    tcpstates tcpstates-bpfcc tcptrace-kprobes0)
readonly COLUMNS=(phase idle round arm name conns secs cps cpus cpu_busy
		  cpu_ns_per_conn errors attempt_fails setup_s events
		  drop_table_full drop_steps_full evicted kprobe_missed
		  ring_overwritten follow_records follow_lost follow_epipe
		  tool_lost tool_printed live live_max ring_size mem_bytes note)
# Guest seconds a tool may take to attach. bpftrace and bcc compile with
# LLVM: in a run under vm-run --icount, bcc took 20 (6 minutes on the host).
readonly ATTACH_TIMEOUT=300

TMP=$(mktemp -d /tmp/bench.XXXXXX) || exit 1
TOOL_PID=

log() { printf '# bench %5ds: %s\n' "$SECONDS" "$*" >&2; }

cleanup() {
	[ -n "$TOOL_PID" ] && kill -KILL "$TOOL_PID" 2>/dev/null
	[ -n "${LG_PID:-}" ] && kill "$LG_PID" 2>/dev/null
	rmmod tcptrace empty_probe 2>/dev/null
	rm -rf -- "$TMP"
}
trap cleanup EXIT

# kv NAME LINE: the KEY=VALUE words of LINE into the associative array
# NAME. Builtins only: a fork is expensive under emulation.
kv() {
	local -n kv_out=$1
	local w

	kv_out=()
	for w in $2; do
		# shellcheck disable=SC2034 # a nameref: the caller's array
		[[ $w == *=* ]] && kv_out[${w%%=*}]=${w#*=}
	done
	return 0
}

# wait_for SECS COMMAND...: poll until COMMAND succeeds; 1 on timeout.
wait_for() {
	local end=$((SECONDS + $1))

	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# --- the system -------------------------------------------------------------

# Ports and files for 100,000 idle connections (both ends) and the churn;
# tcp_tw_reuse=2, the default, lets the churn reuse TIME_WAIT ports.
sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=4096 \
	fs.nr_open=1048576 fs.file-max=2097152
ulimit -n 1048576
ulimit -l unlimited
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing

log "kernel $(uname -r), $(nproc) CPU(s), $(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB"

# --- the load generator, running the whole time -------------------------------

coproc LG { exec "$BENCH_BIN/loadgen" -c 4 -s 4; }
LG_IN=${LG[1]} LG_OUT=${LG[0]}

# lg COMMAND: loadgen's one-line answer.
lg() {
	local line

	echo "$1" >&"$LG_IN"
	if ! read -r line <&"$LG_OUT"; then
		log "loadgen died"
		exit 1
	fi
	echo "$line"
}

# --- the arms ---------------------------------------------------------------

# What tearing an arm down found, for its last CSV line (kv arrays).
declare -A H0 H1 FOLLOW TOOL

header() { "$BENCH_BIN/follow" --header; }

load_tcptrace() {
	insmod "$BENCH_KO" max_live="$BENCH_MAX_LIVE" "$@" || { NOTE="insmod failed"; return 1; }
	kv H0 "$(header)"
}

follow_open() { [[ $(ls -l "/proc/$TOOL_PID/fd" 2>/dev/null) == */dev/tcptrace* ]]; }
tool_ready() { grep -qE "$1" "$TMP/tool.out" || ! kill -0 "$TOOL_PID" 2>/dev/null; }

# start_tool READY COMMAND...: start a tool writing to $TMP/tool.out and
# .err; wait until a line matching READY shows that it is attached. The
# files are emptied first: the tool's own redirection may come after the
# first look, which must not find the previous tool's lines.
start_tool() {
	local ready=$1

	shift
	: > "$TMP/tool.out"
	: > "$TMP/tool.err"
	"$@" > "$TMP/tool.out" 2> "$TMP/tool.err" &
	TOOL_PID=$!
	wait_for "$ATTACH_TIMEOUT" tool_ready "$ready"
	grep -qE "$ready" "$TMP/tool.out" && return 0
	NOTE="not attached after ${ATTACH_TIMEOUT}s"
	tool_gone && NOTE="exited"
	NOTE+=": $(tail -n 3 "$TMP/tool.err" | tr '\n,' '; ' | cut -c 1-300)"
	stop_tool
	return 1
}

# SIGINT, as a user stops the tool; bcc's Python may swallow it inside a
# callback, so TERM, then KILL.
tool_gone() { ! kill -0 "$TOOL_PID" 2>/dev/null; }
stop_tool() {
	local sig

	for sig in INT TERM KILL; do
		kill -"$sig" "$TOOL_PID" 2>/dev/null
		wait_for 10 tool_gone && break
	done
	wait "$TOOL_PID" 2>/dev/null
	TOOL_PID=
}

# count REGEX: the sum of the numbers in the tool's lines matching REGEX.
count() {
	grep -ohE "$1" "$TMP/tool.out" "$TMP/tool.err" | grep -oE '[0-9]+' |
		awk '{ s += $1 } END { print s + 0 }'
}

arm_start() {
	case $1 in
	1)	;;
	2)	insmod "$BENCH_EMPTY_KO" || { NOTE="insmod failed"; return 1; } ;;
	3)	load_tcptrace ;;
	4)	load_tcptrace || return 1
		"$BENCH_BIN/follow" > "$TMP/follow.out" &
		TOOL_PID=$!
		wait_for 60 follow_open && return 0
		NOTE="follow did not open /dev/tcptrace"
		stop_tool
		rmmod tcptrace
		return 1 ;;
	5)	command -v bpftrace >/dev/null || { NOTE="bpftrace not installed"; return 1; }
		# Maps for 65536 sockets, and a 2 MiB output buffer, about the
		# memory of tcptrace's ring of 8192 histories.
		BPFTRACE_MAP_KEYS_MAX=65536 BPFTRACE_PERF_RB_PAGES=512 \
			start_tool '^# tcptrace format' bpftrace -q scripts/tcptrace.bt ;;
	6)	command -v tcpstates >/dev/null || { NOTE="tcpstates not installed (libbpf-tools)"; return 1; }
		start_tool '^SKADDR' stdbuf -oL tcpstates ;;
	7)	command -v tcpstates-bpfcc >/dev/null || { NOTE="tcpstates-bpfcc not installed (bpfcc-tools)"; return 1; }
		PYTHONUNBUFFERED=1 start_tool '^SKADDR' tcpstates-bpfcc ;;
	8)	load_tcptrace kprobes=0 ;;
	*)	NOTE="no such arm"; return 1 ;;
	esac
}

arm_stop() {
	case $1 in
	2)	rmmod empty_probe ;;
	3|8)	kv H1 "$(header)"
		rmmod tcptrace ;;
	4)	kv H1 "$(header)"
		kill -TERM "$TOOL_PID"
		wait "$TOOL_PID"
		TOOL_PID=
		kv FOLLOW "$(cat "$TMP/follow.out")"
		rmmod tcptrace ;;
	5)	stop_tool
		# "Lost N events", and the counts of the END line.
		TOOL[lost]=$(count 'Lost [0-9]+ events|full: [0-9]+')
		TOOL[printed]=$(grep -c '^done ' "$TMP/tool.out") ;;
	6|7)	stop_tool
		# "lost N events on CPU #C" (libbpf), "Possibly lost N samples" (bcc)
		TOOL[lost]=$(count 'lost [0-9]+ (events|samples)')
		TOOL[printed]=$(grep -cE '^[0-9a-f]{8,} ' "$TMP/tool.out") ;;
	esac
	return 0
}

# --- measurements -----------------------------------------------------------

# csv NAME: the CSV line of the associative array NAME.
csv() {
	local -n csv_row=$1
	local c out=BENCH

	for c in "${COLUMNS[@]}"; do
		out+=,${csv_row[$c]:-}
	done
	echo "${out//$'\n'/ }"
}

# measure PHASE IDLE ROUND ARM [RUNS]: set the arm up, churn RUNS times
# (default 1), tear it down, print a CSV line per churn; the last carries
# what the teardown found. An arm that cannot start prints one line, a note.
measure() {
	local phase=$1 idle=$2 round=$3 arm=$4 runs=${5:-1} t0 i k
	local -A base row
	local -a lines=()

	H0=() H1=() FOLLOW=() TOOL=() NOTE=''
	base=([phase]=$phase [idle]=$idle [round]=$round [arm]=$arm [name]=${ARM_NAMES[arm]:-?})
	t0=$SECONDS
	if ! arm_start "$arm"; then
		log "arm $arm (${base[name]}) skipped: $NOTE"
		base[note]="skipped: ${NOTE//,/;}"
		csv base
		return
	fi
	base[setup_s]=$((SECONDS - t0))
	for ((i = 0; i < runs; i++)); do
		kv row "$(lg "churn $BENCH_SECS")"
		for k in "${!base[@]}"; do
			row[$k]=${base[$k]}
		done
		row[round]=$((round + i))
		log "$phase idle=$idle round ${row[round]} arm $arm (${row[name]}): ${row[cps]:-?} conn/s"
		lines+=("$(csv row)")
	done
	arm_stop "$arm"
	# The teardown's counts go on the last line.
	for k in events drop_table_full drop_steps_full evicted kprobe_missed ring_overwritten; do
		[ -n "${H1[$k]:-}" ] && row[$k]=$((H1[$k] - ${H0[$k]:-0}))
	done
	for k in live live_max ring_size mem_bytes; do
		row[$k]=${H1[$k]:-}
	done
	row+=([follow_records]=${FOLLOW[records]:-} [follow_lost]=${FOLLOW[lost]:-}
	      [follow_epipe]=${FOLLOW[epipe]:-} [tool_lost]=${TOOL[lost]:-}
	      [tool_printed]=${TOOL[printed]:-} [note]=${NOTE//,/;})
	lines[-1]=$(csv row)
	printf '%s\n' "${lines[@]}"
	[ -n "${H1[live]:-}${FOLLOW[records]:-}${TOOL[lost]:-}" ] &&
		log "  ${H1[live]:+live=${H1[live]} events=${row[events]} }${FOLLOW[records]:+follow records=${FOLLOW[records]} lost=${FOLLOW[lost]} }${TOOL[lost]:+lost=${TOOL[lost]} printed=${TOOL[printed]}}"
	return 0
}

# profile ARM: perf's view of one churn under ARM: each function's share of
# the samples, itself and with what it calls.
profile() {
	local arm=$1

	H0=() H1=() FOLLOW=() TOOL=() NOTE=''
	arm_start "$arm" || { log "profile of arm $arm skipped: $NOTE"; return; }
	perf record -q -a -g -o "$TMP/perf.data" -- \
		"$BENCH_BIN/loadgen" -p 900 -d "$BENCH_SECS" > "$TMP/perf.out" 2> "$TMP/perf.err"
	log "profile of arm $arm (${ARM_NAMES[arm]}): $(tail -n 1 "$TMP/perf.out")"
	# Before the module goes: perf finds its symbols in /proc/kallsyms.
	perf report -i "$TMP/perf.data" --children --stdio -g none --sort sym \
		--percent-limit 0.3 2>/dev/null | grep -v -e '^#' -e '^$' |
		sed "s/^/PROFILE arm $arm /"
	arm_stop "$arm"
}

# --- the run ----------------------------------------------------------------

(IFS=,; echo "BENCH,${COLUMNS[*]}")

# Emulation translates code on first use, and TIME_WAIT fills up: measure
# once both have settled.
log "warm-up"
for _ in 1 2 3; do lg "churn $BENCH_SECS" > /dev/null; done

if [ "$BENCH_CHURN_PHASE" = churn ]; then
	log "memory: tcptrace with its defaults"
	insmod "$BENCH_KO" && kv H1 "$(header)" && rmmod tcptrace
	# shellcheck disable=SC2034 # csv reads it by name
	declare -A mem=([phase]=memory [idle]=0 [round]=1 [arm]=3 [name]=tcptrace-defaults
			[live_max]=${H1[live_max]:-} [ring_size]=${H1[ring_size]:-}
			[mem_bytes]=${H1[mem_bytes]:-})
	csv mem
fi

log "$BENCH_CHURN_PHASE: arms $BENCH_ARMS, $BENCH_REPS rounds of ${BENCH_SECS}s each"
for round in $(seq 1 "$BENCH_REPS"); do
	for arm in $BENCH_ARMS; do
		measure "$BENCH_CHURN_PHASE" 0 "$round" "$arm"
	done
done

for arm in $BENCH_BLOCK_ARMS; do
	log "block of arm $arm: one start, $BENCH_REPS runs, between arm 1 runs"
	measure "block$arm" 0 1 1
	measure "block$arm" 0 2 1
	measure "block$arm" 0 1 "$arm" "$BENCH_REPS"
	measure "block$arm" 0 3 1
	measure "block$arm" 0 4 1
done

if [ -n "$BENCH_PROFILE_ARMS" ] && command -v perf >/dev/null; then
	for arm in $BENCH_PROFILE_ARMS; do
		profile "$arm"
	done
elif [ -n "$BENCH_PROFILE_ARMS" ]; then
	log "profile skipped: perf is not installed (linux-perf)"
fi

for n in $BENCH_IDLE; do
	log "idle: $(lg "idle $n")"
	for round in $(seq 1 "$BENCH_REPS"); do
		for arm in $BENCH_IDLE_ARMS; do
			measure idle "$n" "$round" "$arm"
		done
	done
done

echo quit >&"$LG_IN"
wait "$LG_PID"
LG_PID=
log "done"
