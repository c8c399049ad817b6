# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tcptrace_lib.sh: record the TCP socket histories of a shell selftest with
# tcptrace, check them, and print them when the test fails. Sourced, not
# run, as selftests/net/lib.sh is; bash. Installed with the reader in
# $(PREFIX)/share/tcptrace/, and may be copied next to a test (or next to
# tools/testing/selftests/net/lib.sh).
#
#   source tcptrace_lib.sh
#   tcptrace_start || exit $ksft_skip     # loads the module if needed
#   ... the test's traffic ...
#   tcptrace_stop                         # the capture is complete
#   tcptrace_expect '-D 8080: all CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT' || ret=1
#   [ $ret = 0 ] || tcptrace_dump         # as "# " lines, for the CI log
#
# tcptrace_start runs "tcptrace record -o FILE" in the background, which
# loads the module if it is not loaded and unloads it when it stops, and
# sets an EXIT trap that stops it whatever happens (the trap set before
# is kept and runs after it). A test that sets its own EXIT trap later
# calls tcptrace_cleanup from it.
#
# Environment:
#   TCPTRACE        the reader (default: tcptrace in PATH)
#   TCPTRACE_KO     a tcptrace.ko to load if the module is not loaded
#                   (default: modprobe tcptrace)
#
# Return status: 0 success, 1 failure, 4 (ksft_skip) when tcptrace_start
# cannot record here (no reader, not root); messages are "# " lines on
# standard error.

TCPTRACE=${TCPTRACE:-tcptrace}
TCPTRACE_CAPTURE=
TCPTRACE_PID=
__tcptrace_tmpdir=
__tcptrace_prev_trap=

__tcptrace_diag() { printf '# tcptrace: %s\n' "$*" >&2; }

# tcptrace_start [FILE]: start recording into FILE (default: a file in a
# new temporary directory, removed at exit), and return once recording
# has begun: the recorder writes the capture's header line before it
# records anything, so a complete first line is its readiness.
tcptrace_start()
{
	local file=${1:-} i

	if [ -n "$TCPTRACE_PID" ]; then
		__tcptrace_diag "tcptrace_start: already recording into $TCPTRACE_CAPTURE"
		return 1
	fi
	if ! command -v "$TCPTRACE" > /dev/null; then
		__tcptrace_diag "tcptrace_start: no reader '$TCPTRACE' (set TCPTRACE)"
		return 4
	fi
	if [ "$(id -u)" != 0 ]; then
		__tcptrace_diag "tcptrace_start: recording needs root"
		return 4
	fi
	if [ -z "$file" ]; then
		__tcptrace_tmpdir=$(mktemp -d) || return 1
		file=$__tcptrace_tmpdir/tcptrace.cap
	fi
	rm -f "$file" || return 1
	TCPTRACE_CAPTURE=$file
	if [ -z "$__tcptrace_prev_trap" ]; then
		__tcptrace_prev_trap=$(trap -p EXIT)
		__tcptrace_prev_trap=${__tcptrace_prev_trap:-none}
		trap '__tcptrace_exit' EXIT
	fi
	"$TCPTRACE" record --ktap -o "$file" &
	TCPTRACE_PID=$!
	# Ready when the header line is complete; gone if it failed (it
	# said why on stderr, and removed FILE).
	for ((i = 0; i < 600; i++)); do
		if [ -s "$file" ] && [ "$(head -c 1 "$file")" = '#' ] &&
		   [ "$(head -n 1 "$file" | wc -l)" = 1 ]; then
			return 0
		fi
		if ! kill -0 "$TCPTRACE_PID" 2> /dev/null; then
			wait "$TCPTRACE_PID"
			__tcptrace_diag "tcptrace_start: tcptrace record failed (exit $?)"
			TCPTRACE_PID=
			return 1
		fi
		sleep 0.1
	done
	__tcptrace_diag "tcptrace_start: not ready after 60s"
	tcptrace_stop
	return 1
}

# tcptrace_stop: stop recording; the capture is then complete, and the
# module is unloaded if the recorder loaded it. Returns the recorder's
# status (0 when it stopped cleanly).
tcptrace_stop()
{
	local rc

	[ -n "$TCPTRACE_PID" ] || return 0
	kill -TERM "$TCPTRACE_PID" 2> /dev/null
	wait "$TCPTRACE_PID"
	rc=$?
	TCPTRACE_PID=
	[ "$rc" = 0 ] || __tcptrace_diag "tcptrace_stop: tcptrace record exited $rc"
	return "$rc"
}

# tcptrace_expect 'EXPECTATION': do the recorded histories hold to it?
# (tcptrace(1), --expect: [FILTERS ':'] [any|all|none|N] [exact]
# PATH['|'PATH...] ['end=' REASON[,...]].) Stops recording first if it
# runs. The reader's KTAP lines are printed as "# " lines, so that they
# nest under the test's own; 0 if it holds, 1 if not, 2 for a malformed
# EXPECTATION.
tcptrace_expect()
{
	local rc

	tcptrace_stop || return 1
	if [ -z "$TCPTRACE_CAPTURE" ]; then
		__tcptrace_diag "tcptrace_expect: nothing recorded (tcptrace_start first)"
		return 1
	fi
	"$TCPTRACE" -r "$TCPTRACE_CAPTURE" --expect "$1" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	return "$rc"
}

# tcptrace_dump: the summary of what was recorded, and every history that
# ended abnormally (reset, refused, timeout, handshake never completed,
# unexpected transition, missed or dropped steps) or is still live, in
# full, as "# " lines on standard output. Stops recording first.
tcptrace_dump()
{
	tcptrace_stop
	[ -n "$TCPTRACE_CAPTURE" ] && [ -f "$TCPTRACE_CAPTURE" ] || {
		__tcptrace_diag "tcptrace_dump: no capture"
		return 1
	}
	"$TCPTRACE" record --ktap --report "$TCPTRACE_CAPTURE"
}

# tcptrace_cleanup: stop recording (which unloads what it loaded), remove
# the temporary directory, and put back the EXIT trap that was there
# before tcptrace_start.
tcptrace_cleanup()
{
	local prev=$__tcptrace_prev_trap

	tcptrace_stop > /dev/null 2>&1
	[ -n "$__tcptrace_tmpdir" ] && rm -rf "$__tcptrace_tmpdir"
	__tcptrace_tmpdir=
	__tcptrace_prev_trap=
	if [ -n "$prev" ] && [ "$prev" != none ]; then
		eval "$prev"
	else
		trap - EXIT
	fi
}

# The EXIT trap: clean up, then run the trap that was there before.
__tcptrace_exit()
{
	local prev=$__tcptrace_prev_trap

	tcptrace_cleanup
	if [ -n "$prev" ] && [ "$prev" != none ]; then
		# "trap -- 'CMD' EXIT": run CMD.
		eval "set -- $prev"
		eval "$3"
	fi
}
