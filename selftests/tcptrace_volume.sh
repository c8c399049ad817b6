#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tcptrace_volume.sh: ten thousand connections through the tracer, every
# socket accounted for, KTAP.
#
# Loads $TCPTRACE_KO with the kprobes (the default) and a ring and table
# large enough that nothing is overwritten, evicted or dropped, runs
# tcptrace_workload (-m exact: every socket's end= is known in advance)
# in a network namespace of its own, and once that namespace is gone
# (with it, its timewait sockets) checks, against the workload's manifest:
#
# - every socket it made has exactly one done history: its id (the
#   socket cookie), addresses and end=; the namespace holds nothing else;
# - the header adds up: histories + drops + evictions + overwritten ==
#   what the workload made, created == completed + live, and every
#   tracepoint event is one step of a history (steps not flagged d).
#
# Meanwhile, as that takes about a minute anyway, one more connection
# (the client closes first) waits out its whole TIME_WAIT in a namespace
# that outlives it: its history ends timewait=expired, 60 seconds
# (TCP_TIMEWAIT_LEN) after its step into TIME_WAIT, give or take the
# timer wheel's granularity (about 2 s at HZ=250) and an emulated guest's
# lag. This is the one test that waits for it.
#
# Environment: TCPTRACE_KO (required), TCPTRACE_VOLUME_CONNS (default
# 10000), TCPTRACE_VOLUME_SEED (default: the time). Needs root. Unloads the
# module if it is loaded, and leaves it unloaded.

set -u

readonly CONNS=${TCPTRACE_VOLUME_CONNS:-10000}
readonly SEED=${TCPTRACE_VOLUME_SEED:-$(date +%s)}
# Two histories a connection at most, a few listeners: nothing overwritten.
readonly RING=$(( (2 * CONNS + 1024 + 1023) / 1024 * 1024 ))

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# shellcheck source=lib.sh
. "$here/lib.sh"
WORKLOAD=$here/tcptrace_workload
KO=${TCPTRACE_KO:-}
TMP=

cleanup() {
	[ -n "${tw_pid:-}" ] && kill "$tw_pid" 2>/dev/null
	[ -d /sys/module/tcptrace ] && rmmod tcptrace
	[ -n "$TMP" ] && rm -rf -- "$TMP"
}

[ "$(id -u)" = 0 ] || skip_all "must run as root"
[ -n "$KO" ] || skip_all "set TCPTRACE_KO to the module built for $(uname -r)"
[ -x "$WORKLOAD" ] || skip_all "$WORKLOAD is not built (make -C $here)"
TMP=$(mktemp -d -t tcptrace_volume.XXXXXX) || exit $ksft_fail
trap cleanup EXIT

if [ -d /sys/module/tcptrace ]; then
	rmmod tcptrace 2>/dev/null || skip_all "tcptrace is loaded and in use"
fi

ktap_header
ktap_plan 5
if ! insmod "$KO" ring_size="$RING" max_live="$RING"; then
	ktap_bail "insmod $KO failed"
fi
diag "ring_size=$RING max_live=$RING, $CONNS connections, seed $SEED"

"$WORKLOAD" -N -n 1 -j 1 -m client_first -w 100 -o "$TMP/tw" > /dev/null &
tw_pid=$!

SECONDS=0
"$WORKLOAD" -N -n "$CONNS" -j 4 -s "$SEED" -m exact -o "$TMP/manifest" > "$TMP/wl.out"
rc=$?
diag "$(cat "$TMP/wl.out") in ${SECONDS}s"
result $rc "the workload made $CONNS connections"
netns=$(awk 'NR == 1 { print $7 }' "$TMP/manifest")

# Its namespace is going away, and its timewait sockets with it.
for _ in $(seq 120); do
	snapshot "$TMP/snap" || break
	live=$(awk -v ns="netns=$netns" '$1 == "live" && index($0, " " ns " ")' "$TMP/snap" | wc -l)
	[ "$live" = 0 ] && break
	sleep 1
done
snapshot "$TMP/snap"
diag "$(head -n 1 "$TMP/snap")"

# Socket by socket: the manifest's sockets, and nothing else.
awk -v ns="$netns" '
	FNR == NR {
		if ($2 == 0) { print "# a manifest line without cookie: " $0; bad++; next }
		want[$2] = $1 " " $3 " " $4 " " $5; end[$2] = $6; n++
		next
	}
	$1 != "done" && $1 != "live" { next }
	{
		delete kv
		for (i = 6; i <= NF; i++) { split($i, f, "="); kv[f[1]] = substr($i, length(f[1]) + 2) }
		if (kv["netns"] != ns) next
		id = $2
		if ($1 == "live") { print "# still live: " $0; bad++; next }
		if (!(id in want)) { print "# no socket of the workload: " $0; bad++; next }
		if (seen[id]++) { print "# a second history: " $0; bad++; next }
		split(want[id], w, " ")
		if (w[2] != $3 || w[3] != $4 || w[4] != $5) {
			print "# " w[1] " " id " " w[2] " " w[3] " " w[4] ", but: " $0; bad++; next
		}
		if (end[id] != "any" && kv["end"] != end[id]) {
			print "# " w[1] " " id " should end " end[id] ": " $0; bad++; next
		}
		got++
	}
	END {
		for (id in want)
			if (!(id in seen)) { print "# no history: " want[id] " " id; if (++missing > 20) break }
		printf "# %d sockets in the manifest, %d histories match\n", n, got
		exit (bad || missing || got != n)
	}' "$TMP/manifest" "$TMP/snap" | head -n 50
result "${PIPESTATUS[0]}" "every socket of the workload has its one history, with its id, addresses and end"

# The header adds up.
rc=0
read_header "$TMP/snap"
made=$(wc -l < "$TMP/manifest")
histories=$(awk -v ns="netns=$netns" '($1 == "done" || $1 == "live") && index($0, " " ns " ")' "$TMP/snap" | wc -l)
for key in drop_table_full evicted ring_overwritten drop_steps_full unexpected kprobe_missed filtered; do
	[ "${H[$key]:-}" = 0 ] || { diag "$key=${H[$key]:-}, want 0"; rc=1; }
done
lost=$(( H[drop_table_full] + H[evicted] + H[ring_overwritten] ))
[ $((histories + lost)) = "$made" ] ||
	{ diag "$histories histories + $lost lost, for $made sockets made"; rc=1; }
[ "${H[created]}" = $((H[completed] + H[live])) ] ||
	{ diag "created=${H[created]}, completed=${H[completed]}, live=${H[live]}"; rc=1; }
[ "${H[done]}" = "$(grep -c '^done ' "$TMP/snap")" ] || { diag "done= is not the done records"; rc=1; }
result $rc "histories + drops + evictions + overwritten == sockets made; created == completed + live"

# Every tracepoint event is a step (those flagged d are the kprobes').
steps=$(awk '/^(done|live) / {
		p = $NF; sub(/^path=/, "", p)
		n = split(p, s, ">")
		for (i = 2; i <= n; i++) {
			sub(/\/.*/, "", s[i])	# a missed transition: "/OLD" before the next ">"
			if (s[i] !~ /@[0-9]+[a-z]*d[a-z]*$/)
				k++
		}
	}
	END { print k + 0 }' "$TMP/snap")
events=${H[events]}
rc=0
[ "$steps" = "$events" ] || { diag "events=$events, but $steps steps not flagged d"; rc=1; }
result $rc "every tracepoint event is one step of a history ($events)"

# The connection that waited out TIME_WAIT.
rc=1
cookie=$(awk '$1 == "client" { print $2 }' "$TMP/tw")
for _ in $(seq 100); do
	snapshot "$TMP/snap" || break
	rec=$(grep "^done $cookie " "$TMP/snap")
	[ -n "$rec" ] && break
	sleep 1
done
if [ -z "$cookie" ] || [ -z "$rec" ]; then
	diag "the TIME_WAIT client ($cookie) is not done after 100 s:"
	grep " $cookie " "$TMP/snap" | sed 's/^/#   /'
else
	diag "$rec"
	# Nanoseconds from the step into TIME_WAIT to the last one.
	tw_ns=$(echo "$rec" | awk '{
		p = $NF; sub(/^path=/, "", p); n = split(p, s, ">")
		for (i = 2; i <= n; i++) {
			split(s[i], f, "@"); t = f[2] + 0
			if (f[1] == "TIME_WAIT" && !start) start = t
		}
		# mawk prints a number past 2^31 as 6.2e+10, and its %d stops there.
		printf "%.0f\n", start ? t - start : -1 }')
	diag "TIME_WAIT lasted $tw_ns ns"
	if [[ $rec != *" end=active_close "* ]] || [[ $rec != *" timewait=expired "* ]]; then
		diag "want end=active_close timewait=expired"
	elif [ "$tw_ns" -lt 60000000000 ] || [ "$tw_ns" -gt 75000000000 ]; then
		diag "want 60 s to 75 s"
	else
		rc=0
	fi
fi
kill "$tw_pid" 2>/dev/null
wait "$tw_pid" 2>/dev/null
tw_pid=
result $rc "a TIME_WAIT runs its 60 s out: timewait=expired"

ktap_finish
