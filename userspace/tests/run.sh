#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of the tcptrace reader, run by "make -C userspace test" once
# tcptrace and the test programs are built. Output is KTAP: the plan, then
# one "ok N name" / "not ok N name" line per test, each preceded by "# "
# lines saying what went wrong. Exit status 1 if any test failed.
#
# Golden tests: for each capture tests/data/NAME.txt, the hand-written
# expected output of each view, whichever exist (see VIEWS below). If
# NAME.err exists it is the expected stderr and the exit status must be 1;
# otherwise stderr must be empty and the exit status 0.

set -u

cd "$(dirname "$0")/.." || exit 1
TCPTRACE=$PWD/tcptrace
TEST_PROGRAMS="$PWD/tests/test_parse $PWD/tests/test_model $PWD/tests/test_binary $PWD/tests/test_json"
BINCAT=$PWD/tests/bincat
FUZZ=$PWD/tests/fuzz
FAKEDEV=$PWD/tests/fakedev.so
MAN_PAGE=$PWD/tcptrace.1
DATA=$PWD/tests/data
VALGRIND_SUPP=$PWD/tests/valgrind.supp

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
RESULTS=$TMP/results	# the numbered result lines, printed after the plan
DETAILS=$TMP/details	# what went wrong in the current test
: > "$RESULTS"
: > "$DETAILS"
count=0
failures=0

# ---- recording results ------------------------------------------------

detail() {
	printf '%s\n' "$*" >> "$DETAILS"
}

# Record the current test as passed if no detail was written, else failed.
result() {
	count=$((count + 1))
	sed 's/^/# /' "$DETAILS" >> "$RESULTS"
	if [ -s "$DETAILS" ]; then
		failures=$((failures + 1))
		echo "not ok $count $1" >> "$RESULTS"
	else
		echo "ok $count $1" >> "$RESULTS"
	fi
	: > "$DETAILS"
}

skip() {
	count=$((count + 1))
	echo "ok $count $1 # SKIP $2" >> "$RESULTS"
}

# ---- checks -----------------------------------------------------------

# expect_run WANT_STDOUT WANT_STDERR WANT_STATUS COMMAND...
# Run COMMAND (stdin from $STDIN, default /dev/null) and compare its stdout
# and stderr with the files given, and its exit status.
expect_run() {
	want_out=$1 want_err=$2 want_status=$3
	shift 3
	"$@" < "${STDIN:-/dev/null}" > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq "$want_status" ] ||
		detail "exit status $status, expected $want_status: $*"
	if ! diff -u "$want_out" "$TMP/out" > "$TMP/diff"; then
		detail "stdout differs from $(basename "$want_out"):"
		cat "$TMP/diff" >> "$DETAILS"
	fi
	if ! diff -u "$want_err" "$TMP/err" > "$TMP/diff"; then
		detail "stderr differs from $(basename "$want_err"):"
		cat "$TMP/diff" >> "$DETAILS"
	fi
}

# expect_message WANT_STATUS WANT_STDERR_LINE COMMAND...: no stdout.
expect_message() {
	want_status=$1
	printf '%s\n' "$2" > "$TMP/want_err"
	shift 2
	expect_run /dev/null "$TMP/want_err" "$want_status" "$@"
}

# ---- parser unit tests ------------------------------------------------

unit_tests() {
	for program in $TEST_PROGRAMS; do
		"$program" > "$TMP/unit" 2> "$TMP/unit_err"
		status=$?
		while IFS= read -r line; do
			case $line in
			"ok "*)		result "${line#ok }" ;;
			"not ok "*)	detail "(see the lines above)"
					result "${line#not ok }" ;;
			*)		printf '%s\n' "${line#\# }" >> "$DETAILS" ;;
			esac
		done < "$TMP/unit"

		# A crash or a sanitizer report would otherwise go unnoticed.
		want=0
		grep -q '^not ok ' "$TMP/unit" && want=1
		[ "$status" -eq "$want" ] ||
			detail "$(basename "$program") exited with status $status, expected $want"
		[ -s "$TMP/unit_err" ] && { detail "$(basename "$program") wrote to stderr:"; cat "$TMP/unit_err" >> "$DETAILS"; }
		result "$(basename "$program") ran to completion"
	done
}

# ---- golden tests of the CLI ------------------------------------------

# The views: the suffix of their expected output, and their options. The
# text views run with -n, so that no service name from this host's
# /etc/services gets in.
VIEWS="table:-n
ss.table:-n -S
json:--json
timeline:-n --timeline
ladder:-n --ladder
summary:-n --summary
summary.json:--summary --json
graph:--graph
metrics:--metrics"

golden_tests() {
	cd "$DATA" || return
	for capture in *.txt; do
		name=${capture%.txt}
		want_err=/dev/null want_status=0
		if [ -f "$name.err" ]; then
			want_err=$name.err want_status=1
		fi
		printf '%s\n' "$VIEWS" > "$TMP/views"
		while IFS=: read -r suffix options; do
			[ -f "$name.$suffix" ] || continue
			# shellcheck disable=SC2086 # options are words
			expect_run "$name.$suffix" "$want_err" "$want_status" \
				"$TCPTRACE" $options -r "$capture"
			result "$suffix: $capture"
		done < "$TMP/views"
		if [ -f "$name.stats" ]; then
			expect_run "$name.stats" /dev/null 0 "$TCPTRACE" --stats -r "$capture"
			result "stats: $capture"
		fi
		if [ -f "$name.stats.json" ]; then
			expect_run "$name.stats.json" /dev/null 0 "$TCPTRACE" --stats --json -r "$capture"
			result "stats json: $capture"
		fi
	done
	cd - > /dev/null || return
}

# ---- the CLI beyond the captures --------------------------------------

cli_tests() {
	cd "$DATA" || return

	tail -n +2 basic.table > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n -H -r basic.txt
	result "table: -H omits the heading row"

	STDIN=basic.txt expect_run basic.table /dev/null 0 "$TCPTRACE" -n -r -
	result "stdin: -r - reads standard input"

	sed 's/^tcptrace: malformed.txt:/tcptrace: <stdin>:/' malformed.err > "$TMP/want_err"
	STDIN=malformed.txt expect_run malformed.table "$TMP/want_err" 1 "$TCPTRACE" -n --read=-
	result "stdin: malformed lines are reported as <stdin>:LINE"

	expect_message 1 "tcptrace: format3.txt:1: unsupported format 3 (this tcptrace reads formats 1 to 2)" \
		"$TCPTRACE" --stats -r format3.txt
	result "stats: a header of another format is refused"

	expect_message 1 "tcptrace: noheader.txt:1: missing header line (the first line must be '# tcptrace format=...')" \
		"$TCPTRACE" --stats -r noheader.txt
	result "stats: input without header line"

	expect_message 1 "tcptrace: no-such-file.txt: No such file or directory" \
		"$TCPTRACE" -r no-such-file.txt
	result "input that cannot be opened: exit 1"

	if [ -e /dev/tcptrace ]; then
		skip "default input: hint when /dev/tcptrace is missing" "/dev/tcptrace exists"
	else
		expect_message 1 "tcptrace: /dev/tcptrace: No such file or directory (is the module loaded?)" \
			"$TCPTRACE"
		result "default input: hint when /dev/tcptrace is missing"
	fi

	expect_message 2 "tcptrace: unknown option '--bogus' (try 'tcptrace --help')" \
		"$TCPTRACE" --bogus
	result "usage: unknown long option exits 2"
	expect_message 2 "tcptrace: unknown option '-x' (try 'tcptrace --help')" \
		"$TCPTRACE" -x
	result "usage: unknown short option exits 2"
	expect_message 2 "tcptrace: option '-r' needs an argument (try 'tcptrace --help')" \
		"$TCPTRACE" -r
	result "usage: -r without argument exits 2"
	expect_message 2 "tcptrace: option '--json' takes no argument (try 'tcptrace --help')" \
		"$TCPTRACE" --json=yes
	result "usage: a value for an option without argument exits 2"
	expect_message 2 "tcptrace: unexpected argument 'basic.txt' (try 'tcptrace --help')" \
		"$TCPTRACE" basic.txt
	result "usage: an argument that is not an option exits 2"

	"$TCPTRACE" --help > "$TMP/out" 2>&1
	status=$?
	[ "$status" -eq 0 ] || detail "--help: exit status $status"
	[ "$(head -n 1 "$TMP/out")" = "Usage: tcptrace [OPTION]..." ] ||
		detail "--help: first line is '$(head -n 1 "$TMP/out")'"
	result "--help prints the usage and exits 0"

	printf 'tcptrace 1.0 (reads formats 1 to 2)\n' > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -V
	result "--version prints the version and exits 0"

	if [ -w /dev/full ]; then
		expect_message 1 "tcptrace: write error: No space left on device" \
			sh -c "\"$TCPTRACE\" -n -r server.txt > /dev/full"
		expect_message 1 "tcptrace: write error: No space left on device" \
			sh -c "\"$TCPTRACE\" --help > /dev/full"
		result "write error on stdout (/dev/full): exit 1"
	else
		skip "write error on stdout (/dev/full): exit 1" "no /dev/full"
	fi

	cd - > /dev/null || return
}

# ---- options of the views ----------------------------------------------

# expect_usage "OPTIONS:MESSAGE"...: each of these command lines exits 2
# with this one-line message.
expect_usage() {
	for bad in "$@"; do
		options=${bad%%:*} message=${bad#*:}
		# shellcheck disable=SC2086 # options are words
		expect_message 2 "tcptrace: $message (try 'tcptrace --help')" "$TCPTRACE" $options
		result "usage: $options"
	done
}

view_usage_tests() {
	expect_usage "--json --timeline:--json does not apply to --timeline" \
		"--graph --json:--json does not apply to --graph" \
		"--timeline --ladder:options '--timeline' and '--ladder' cannot be combined" \
		"--summary -s:options '--summary' and '--stats' cannot be combined" \
		"--metrics --json:--json does not apply to --metrics" \
		"--summary --metrics:options '--summary' and '--metrics' cannot be combined" \
		"--metrics-file x -r lifecycle.txt:--metrics-file needs --metrics" \
		"--metrics-netns -r lifecycle.txt:--metrics-netns needs --metrics" \
		"--summary --metrics-netns -r lifecycle.txt:--metrics-netns needs --metrics" \
		"--metrics-netns=1 --metrics:option '--metrics-netns' takes no argument" \
		"--metrics --interval 5 -r lifecycle.txt:--interval needs --metrics-file and --follow" \
		"--metrics --interval 0:--interval: expected seconds from 1 to 86400, got '0'"
}

# table_rows FILE ID...: the heading and the rows of these sockets of a
# hand-written table, in the table's order.
table_rows() {
	file=$1
	shift
	head -n 1 "$file"
	[ $# -eq 0 ] && return
	pattern=$(printf '%s|' "$@")
	tail -n +2 "$file" | grep -E "^(${pattern%|}) "
}

# expect_rows COMMENT OPTIONS ID...: the table of lifecycle.txt with OPTIONS
# shows the rows of these sockets of lifecycle.table.
expect_rows() {
	comment=$1 options=$2
	shift 2
	table_rows lifecycle.table "$@" > "$TMP/want_rows"
	# shellcheck disable=SC2086 # options are words
	expect_run "$TMP/want_rows" /dev/null 0 "$TCPTRACE" -n $options -r lifecycle.txt
	result "filter: $comment"
}

filter_tests() {
	cd "$DATA" || return

	expect_rows "--end, a list" "--end active_close,refused" 4102 4110 4121
	expect_rows "-L and -D together" "-L 8080 -D 38876" 4103
	expect_rows "-L with a range" "-L 8000-8999" 4103 4111 4097 4130
	expect_rows "-D, repeated" "-D 9 -D 6000" 4110 4120
	expect_rows "--addr, IPv4 prefix" "--addr 10.0.0.0/8" 4111 4098 4130
	expect_rows "--addr twice: one end in each" "--addr 10.0.0.1 --addr 10.0.0.9/32" 4098
	expect_rows "--addr, IPv6 prefix" "--addr 2001:db8::/32" 4112
	expect_rows "--state, an ss(8) name" "--state time-wait" 4102 4121
	expect_rows "--state twice: both visited" "--state LISTEN --state ESTABLISHED" 4103
	expect_rows "--pid" "--pid 331" 4103 4097
	expect_rows "--pid matches the thread too" "--pid 500" 4120
	expect_rows "--comm with an escape" "--comm my\\x20app" 4120
	expect_rows "--netns" "--netns 4026532000" 4120
	expect_rows "--min-lifetime" "--min-lifetime 1.5s" 4102 4112 4121
	expect_rows "--anomalies" "--anomalies" 4120
	expect_rows "-6" "-6" 4112 4120
	expect_rows "-4 and -6" "-4 -6" 4103 4102 4110 4111 4112 4120 4121 4097 4098 4130
	expect_rows "all combined (AND)" "-4 -L 8080 --state NEW_SYN_RECV --end syncookie" 4111
	expect_rows "nothing selected" "--end timeout"

	"$TCPTRACE" --comm "my app" -n -H -r lifecycle.txt > "$TMP/out" 2>&1
	grep -q '^4120 ' "$TMP/out" && [ "$(wc -l < "$TMP/out")" -eq 1 ] ||
		detail "--comm 'my app' did not select 4120 alone: $(cat "$TMP/out")"
	result "filter: --comm takes the name as it is, spaces and all"

	expect_usage "--local-port 80,http:--local-port: bad port 'http' (0 to 65535, or FIRST-LAST)" \
		"-D 70000:--remote-port: bad port '70000' (0 to 65535, or FIRST-LAST)" \
		"--addr 10.0.0.0/33:--addr: bad address '10.0.0.0/33' (ADDR or ADDR/PREFIX, IPv4 or IPv6)" \
		"--state SYN_RCVD:--state: unknown state 'SYN_RCVD'" \
		"--end late:--end: unknown end reason 'late' (see tcptrace(1))" \
		"--pid me:--pid: bad pid 'me' (a decimal number)" \
		"--netns 0x1:--netns: bad namespace inode '0x1' (a decimal number)" \
		"--min-lifetime 10:--min-lifetime: bad duration '10' (such as 500us, 10ms, 2s)"

	cd - > /dev/null || return
}

# ---- syn_retrans=, rst_reason= and rst_reasons= (reasons.txt) ------------

# The views beyond the golden files of reasons.txt: what --summary and
# --metrics count, --rst-reason, and that captures without them read as
# before (their golden files did not change).
reasons_tests() {
	cd "$DATA" || return

	{
		echo "resets sent, by the kernel's reason"
		# One each: by name. (not given): 12 ended reset_sent without one.
		printf '  %-24s %10s\n' 42 1 TCP_ABORT_ON_CLOSE 1 TCP_KEEPALIVE_TIMEOUT 1 \
			TCP_STATE 1 '(not given)' 1
		echo
		echo "handshake retransmissions"
		# syn_retrans=2, 5 and 1; absent elsewhere.
		printf '  %-24s %10s\n' histories 3 total 8 max 5
	} > "$TMP/want"
	"$TCPTRACE" -n --summary -r reasons.txt > "$TMP/summary" 2> "$TMP/err"
	[ $? -eq 0 ] || detail "exit status $?"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	sed -n "/^resets sent/,/^  max /p" "$TMP/summary" > "$TMP/out"
	diff -u "$TMP/want" "$TMP/out" >> "$DETAILS"
	grep -q '^  rst_reasons  *1$' "$TMP/summary" || detail "no 'rst_reasons 1' among the module's counters"
	result "summary: resets sent by reason, handshake retransmissions"

	want='"resets_sent":{"reasons":{"42":1,"TCP_ABORT_ON_CLOSE":1,"TCP_KEEPALIVE_TIMEOUT":1,"TCP_STATE":1},"other_reasons":0,"not_given":1},"handshake_retransmissions":{"histories":3,"total":8,"max":5}'
	"$TCPTRACE" --summary --json -r reasons.txt > "$TMP/summary.json" 2>&1
	grep -qF "\"ends\":{\"reset_sent\":2,\"reset_received\":1,\"aborted\":1,\"timeout\":1,\"handshake_failed\":1},$want,\"shapes\":" "$TMP/summary.json" ||
		detail "not after the ends: $want in: $(cat "$TMP/summary.json")"
	grep -qF '"halfopen":1,"rst_reasons":1}}' "$TMP/summary.json" ||
		detail "no rst_reasons in the module's counters"
	want='"resets_sent":{"reasons":{},"other_reasons":0,"not_given":0},"handshake_retransmissions":{"histories":0,"total":0,"max":0}'
	"$TCPTRACE" --summary --json -r basic.txt | grep -qF "$want" ||
		detail "format 1: not $want"
	result "summary json: resets_sent, handshake_retransmissions"

	"$TCPTRACE" --metrics -r reasons.txt > "$TMP/reasons.metrics" 2> "$TMP/err"
	[ $? -eq 0 ] || detail "exit status $?"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	check_exposition "$TMP/reasons.metrics"
	out=$TMP/reasons.metrics
	for reason in 42 TCP_ABORT_ON_CLOSE TCP_KEEPALIVE_TIMEOUT TCP_STATE; do
		expect_metric "$out" "tcptrace_resets_sent_total{reason=\"$reason\"}" 1
	done
	[ "$(grep -c '^tcptrace_resets_sent_total{' "$out")" = 4 ] ||
		detail "not 4 series of tcptrace_resets_sent_total: $(grep '^tcptrace_resets_sent_total' "$out")"
	grep -q '^# TYPE tcptrace_resets_sent_total counter$' "$out" || detail "no TYPE of tcptrace_resets_sent_total"
	expect_metric "$out" tcptrace_handshake_retransmissions_total 8
	expect_metric "$out" tcptrace_rst_reasons 1
	"$TCPTRACE" --metrics -r lifecycle.txt > "$TMP/out" 2>&1
	expect_metric "$TMP/out" tcptrace_handshake_retransmissions_total 0
	grep -q '^tcptrace_resets_sent_total{' "$TMP/out" && detail "lifecycle.txt: a reset reason series"
	grep -q '^tcptrace_rst_reasons ' "$TMP/out" && detail "lifecycle.txt: tcptrace_rst_reasons without rst_reasons="
	result "metrics: resets sent by reason, handshake retransmissions"

	for args in "--rst-reason=TCP_ABORT_ON_CLOSE,tcp_state:2 7" \
		"--rst-reason 42 --rst-reason TCP_KEEPALIVE_TIMEOUT:11 13" \
		"--rst-reason NOT_SPECIFIED:" \
		"--rst-reason TCP_STATE --end reset_sent:"; do
		# shellcheck disable=SC2086 # the IDs are words
		table_rows reasons.table ${args#*:} > "$TMP/want_rows"
		# shellcheck disable=SC2086 # options are words
		expect_run "$TMP/want_rows" /dev/null 0 "$TCPTRACE" -n ${args%%:*} -r reasons.txt
		result "filter: ${args%%:*}"
	done
	table_rows lifecycle.table > "$TMP/want_rows"
	expect_run "$TMP/want_rows" /dev/null 0 "$TCPTRACE" -n --rst-reason TCP_STATE -r lifecycle.txt
	result "filter: --rst-reason selects nothing in a capture without reasons"
	expect_usage "--rst-reason TCP-STATE:--rst-reason: bad reason 'TCP-STATE' (a name of the kernel's, such as TCP_ABORT_ON_CLOSE)" \
		"--rst-reason TCP_STATE,:--rst-reason: empty value in 'TCP_STATE,'" \
		"--rst-reason A23456789012345678901234567890123456789012345678:--rst-reason: bad reason 'A234567890123456789012345678901234567890' (a name of the kernel's, such as TCP_ABORT_ON_CLOSE)"

	# A record line with the new fields among older ones: a header of
	# format 2 without rst_reasons= keeps the table of old.
	{
		head -n 1 lifecycle.txt
		sed -n 2p reasons.txt
	} > "$TMP/mixed.txt"
	{
		head -n 1 lifecycle.table
		printf '%-8s  %-4s  %-21s  %-21s  %-9s  %-18s  %-16s  %s\n' 2 done \
			127.0.0.1:41128 127.0.0.1:39587 42.601ms 'aborted(TCP_STATE)' \
			python3/264 'CLOSE > SYN_SENT > ESTABLISHED > CLOSE'
	} > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n -r "$TMP/mixed.txt"
	result "table: END keeps its width without rst_reasons=1"

	cd - > /dev/null || return
}

color_tests() {
	cd "$DATA" || return

	expect_usage "--color=sometimes:--color: expected auto, always or never, got 'sometimes'"

	expect_run lifecycle.color.table /dev/null 0 "$TCPTRACE" -n --color=always -r lifecycle.txt
	result "color: --color=always, whatever the output"
	expect_run lifecycle.table /dev/null 0 "$TCPTRACE" -n --color=never -r lifecycle.txt
	result "color: none with --color=never"
	expect_run lifecycle.table /dev/null 0 "$TCPTRACE" -n -r lifecycle.txt
	result "color: none when the output is not a terminal"

	# On a terminal (script(1) gives one): colours unless NO_COLOR is set.
	if script -qec true /dev/null > /dev/null 2>&1; then
		esc=$(printf '\033')
		script -qec "\"$TCPTRACE\" -n -r lifecycle.txt" /dev/null < /dev/null > "$TMP/tty" 2>&1
		grep -q "$esc" "$TMP/tty" || detail "no colour on a terminal"
		result "color: on a terminal by default"
		NO_COLOR=1 script -qec "\"$TCPTRACE\" -n -r lifecycle.txt" /dev/null < /dev/null > "$TMP/tty" 2>&1
		grep -q "$esc" "$TMP/tty" && detail "colour on a terminal with NO_COLOR=1"
		grep -q "^4120 " "$TMP/tty" || detail "no table on the terminal: $(head -n 3 "$TMP/tty")"
		result "color: none on a terminal with NO_COLOR set"
	else
		skip "color: on a terminal by default" "script(1) cannot make a terminal"
		skip "color: none on a terminal with NO_COLOR set" "script(1) cannot make a terminal"
	fi

	cd - > /dev/null || return
}

# Service names come from this host's services database: expect whatever
# getent(1) says of the port.
services_tests() {
	name=$(getent services 8080/tcp 2> /dev/null | awk '{ print $1 }')
	if [ -z "$name" ]; then
		skip "table: service names without -n, numbers with it" "no service name for 8080/tcp here"
		return
	fi
	"$TCPTRACE" -r "$DATA/basic.txt" > "$TMP/out" 2> "$TMP/err"
	grep -q "^4099 .* 127\.0\.0\.1:$name " "$TMP/out" &&
		grep -q "^4102 .*\[::1\]:$name " "$TMP/out" ||
		detail "no '$name' for port 8080 in: $(cat "$TMP/out")"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	"$TCPTRACE" -n -r "$DATA/basic.txt" | grep -q "127\.0\.0\.1:8080 " ||
		detail "-n did not keep port 8080 a number"
	result "table: service names without -n, numbers with it"
}

ladder_limit_test() {
	{
		head -n 1 "$DATA/basic.txt"
		awk 'BEGIN { for (i = 0; i <= 100000; i++)
			print "live " i " ipv4 127.0.0.1:" 1024 + i % 60000 " 127.0.0.1:80 t0=" i " path=CLOSE>SYN_SENT@0" }'
	} > "$TMP/many.txt"
	expect_message 1 "tcptrace: --ladder holds at most 100000 histories, and the input has more" \
		"$TCPTRACE" --ladder -r "$TMP/many.txt"
	result "ladder: past its limit, one message and exit 1"
	"$TCPTRACE" --ladder -n -D 80 -L 1024-1030 -r "$TMP/many.txt" > "$TMP/out" 2>&1 ||
		detail "--ladder with a filter under the limit failed: $(head -n 3 "$TMP/out")"
	result "ladder: filters keep it under its limit"
}

# ---- the hand-over to a timewait socket (handover.txt) --------------------

# The golden files of handover.txt show the human views marking the state a
# timewait socket took over in ("FIN_WAIT2 w"). Beyond them: the summary's
# shapes mark it too, while its JSON, the records' JSON and --expect exact
# keep the step FIN_WAIT2>FIN_WAIT2 as the device wrote it.
handover_tests() {
	cd "$DATA" || return

	{
		echo "lifecycle shapes"
		# In the order read (each once): 6002, 6001, 6003, 6005, 6004, 6006.
		printf '  %10s  %s\n' \
			1 'LISTEN > NEW_SYN_RECV > SYN_RECV > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE' \
			1 'CLOSE > SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 w > TIME_WAIT > CLOSE' \
			1 'CLOSE > SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > FIN_WAIT2 w > CLOSE' \
			1 'CLOSE > SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > FIN_WAIT2 w > TIME_WAIT > CLOSE' \
			1 'FIN_WAIT2 w' \
			1 'CLOSE_WAIT'
		echo
	} > "$TMP/want"
	"$TCPTRACE" -n --summary -r handover.txt > "$TMP/summary" 2>&1 ||
		detail "exit status $?"
	sed -n '/^lifecycle shapes$/,/^$/p' "$TMP/summary" | diff -u "$TMP/want" - >> "$DETAILS"
	result "summary: the shapes mark the hand-over, not a repeated state"

	# 6001 and 6005 differ only in flags: one shape as the device writes it.
	want='"shapes":[{"path":"CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>TIME_WAIT>CLOSE","count":2},{"path":"LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE","count":1},{"path":"CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>FIN_WAIT2>CLOSE","count":1},{"path":"FIN_WAIT2>FIN_WAIT2","count":1},{"path":"CLOSE_WAIT","count":1}]'
	"$TCPTRACE" --summary --json -r handover.txt | grep -qF "$want" ||
		detail "not $want in: $("$TCPTRACE" --summary --json -r handover.txt)"
	result "summary json: the shapes keep the device's path"

	want='"first_state":"FIN_WAIT2","steps":[{"from":"FIN_WAIT2","to":"FIN_WAIT2","t_ns":700000,"softirq":true,"gap":false,"unexpected":false,"derived":false,"timewait":true}]}'
	"$TCPTRACE" --json --state FIN_WAIT2 -L 46000 -r handover.txt | grep -qF "$want" ||
		detail "not $want in: $("$TCPTRACE" --json -L 46000 -r handover.txt)"
	result "json: the hand-over stays a step FIN_WAIT2>FIN_WAIT2, timewait true"

	"$TCPTRACE" -r handover.txt --expect '-L 45000: 1 exact CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>TIME_WAIT>CLOSE' \
		--expect '-L 45000: 1 CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE' \
		> "$TMP/out" 2>&1 || detail "$(cat "$TMP/out")"
	result "expect: the hand-over folded, or verbatim with exact"

	cd - > /dev/null || return
}

# ---- captures of many hosts (origin lines, several -r) -------------------

# origin-a.txt (host web1) and origin-b.txt (host web2) have the same
# connection, same addresses, ports, cookies and times; each also has one
# end of another (a client refused, a request that failed) that would pair
# with the other's. noorigin.txt is origin-b.txt without its origin line.
BOOT_A=0f8fad5b-d9cb-469f-a165-70867728950e
BOOT_B=7c9e6679-7425-40de-944b-e07fc1f90ae7

origin_tests() {
	cd "$DATA" || return

	expect_run fleet.ladder /dev/null 0 "$TCPTRACE" -n --ladder -r origin-a.txt -r origin-b.txt
	result "origin: --ladder pairs within each host, never across"

	cat origin-a.txt origin-b.txt > "$TMP/both.txt"
	expect_run fleet.ladder /dev/null 0 "$TCPTRACE" -n --ladder -r "$TMP/both.txt"
	result "origin: captures concatenated in one file, each with its header"

	# Without the origin lines, one capture: the ends do pair.
	{ head -n 1 origin-a.txt; grep -h '^done' origin-a.txt origin-b.txt; } > "$TMP/one.txt"
	"$TCPTRACE" -n --ladder -r "$TMP/one.txt" > "$TMP/out" 2>&1
	grep -q '^ *client 7001  *server 7004$' "$TMP/out" ||
		detail "in one capture 7001 and 7004 should pair: $(cat "$TMP/out")"
	result "origin: the same records in one capture pair (the test above means something)"

	sed -e 's/ host web2//' fleet.ladder > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n --ladder -r origin-a.txt -r noorigin.txt
	result "origin: a capture without origin is a group of its own, shown without host"

	# The pair of noorigin.txt, twice; 7004 of each, unpaired.
	sed -e 's/ host web[12]//' -e 's/^  7001 .*/  7004 127.0.0.1:80 > 127.0.0.1:40000 done handshake_failed -: LISTEN > NEW_SYN_RECV > CLOSE/' \
		fleet.ladder > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n --ladder -r noorigin.txt -r noorigin.txt
	result "origin: two captures without origin never merge"

	# JSON: the records as without origin, with host and boot_id after schema.
	grep -hv '^# origin' origin-a.txt > "$TMP/a.txt"
	grep -hv '^# origin' origin-b.txt > "$TMP/b.txt"
	{
		"$TCPTRACE" --json -r "$TMP/a.txt" |
			sed "s/^{\"schema\":1,/{\"schema\":1,\"host\":\"web1\",\"boot_id\":\"$BOOT_A\",/"
		"$TCPTRACE" --json -r "$TMP/b.txt" |
			sed "s/^{\"schema\":1,/{\"schema\":1,\"host\":\"web2\",\"boot_id\":\"$BOOT_B\",/"
		"$TCPTRACE" --json -r noorigin.txt
	} > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" --json -r origin-a.txt -r origin-b.txt -r noorigin.txt
	result "origin: JSON records carry host and boot_id (lowercase), absent when unknown"

	expect_run fleet.stats /dev/null 0 "$TCPTRACE" --stats -r origin-a.txt -r noorigin.txt
	expect_run fleet.stats.json /dev/null 0 "$TCPTRACE" --stats --json -r origin-a.txt -r noorigin.txt
	result "origin: --stats shows each capture's header and origin"

	sed -n '2,25p' fleet.stats > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" --stats -r origin-a.txt
	result "origin: --stats of one capture: its counters, then host and boot_id"

	"$TCPTRACE" -n --summary -r origin-a.txt -r origin-b.txt > "$TMP/out" 2> "$TMP/err"
	[ $? -eq 0 ] && [ ! -s "$TMP/err" ] || detail "exit status or stderr: $(cat "$TMP/err")"
	grep -q '^histories  *6  (6 done, 0 live)$' "$TMP/out" || detail "not 6 histories: $(head -n 1 "$TMP/out")"
	grep -q '^  captures  *2 (their counters: tcptrace --stats)$' "$TMP/out" ||
		detail "no 'captures 2' line in the module section"
	grep -q '^  events ' "$TMP/out" && detail "the module's counters of one capture shown for two"
	"$TCPTRACE" --summary --json -r origin-a.txt -r origin-b.txt | grep -q '"captures":2,"module":{}' ||
		detail "summary JSON: no '\"captures\":2,\"module\":{}'"
	result "origin: --summary aggregates over the captures"

	"$TCPTRACE" --metrics -r origin-a.txt -r origin-b.txt > "$TMP/fleet.metrics" 2> "$TMP/err"
	[ ! -s "$TMP/err" ] || detail "stderr: $(cat "$TMP/err")"
	grep -q '^tcptrace_histories_total{family="ipv4",end="reset_sent"} 2$' "$TMP/fleet.metrics" ||
		detail "not 2 reset_sent histories"
	grep -q '^tcptrace_events_total' "$TMP/fleet.metrics" && detail "tcptrace_events_total of one capture shown for two"
	if [ -x "$PROMTOOL" ]; then
		"$PROMTOOL" check metrics < "$TMP/fleet.metrics" > "$TMP/promtool" 2>&1 ||
			{ detail "promtool check metrics:"; cat "$TMP/promtool" >> "$DETAILS"; }
	fi
	result "origin: --metrics aggregates, without the module's counters"

	"$TCPTRACE" -n --json -r badorigin.txt > "$TMP/out" 2> "$TMP/err"
	[ $? -eq 1 ] || detail "exit status $?, expected 1"
	diff -u badorigin.err "$TMP/err" > "$TMP/diff" || { detail "stderr:"; cat "$TMP/diff" >> "$DETAILS"; }
	[ "$(wc -l < "$TMP/out")" = 4 ] || detail "$(wc -l < "$TMP/out") records, expected 4"
	[ "$(grep -c '"host"' "$TMP/out")" = 1 ] || detail "host on other records than the last"
	tail -n 1 "$TMP/out" | grep -q "^{\"schema\":1,\"host\":\"web\\\\\\\\x20four\",\"boot_id\":\"$BOOT_A\",\"kind\":\"done\",\"id\":7001," ||
		detail "last record: $(tail -n 1 "$TMP/out" | cut -c 1-120)"
	result "origin: malformed origin lines reported by line, the records still shown"

	"$TCPTRACE" -n -H -r origin-a.txt > "$TMP/want"
	printf '%s\n' "tcptrace: no-such-file.txt: No such file or directory" > "$TMP/want_err"
	expect_run "$TMP/want" "$TMP/want_err" 1 "$TCPTRACE" -n -H -r origin-a.txt -r no-such-file.txt
	expect_run "$TMP/want" "$TMP/want_err" 1 "$TCPTRACE" -n -H -r no-such-file.txt -r origin-a.txt
	result "origin: an unreadable capture among several: one line, exit 1, the others shown"

	expect_message 2 "tcptrace: standard input given twice to --read (try 'tcptrace --help')" \
		"$TCPTRACE" -r - -r -
	result "usage: -r - twice"

	cd - > /dev/null || return
}

# ---- following the device (tests/fakedev.c stands in for it) -------------

# fake SCRIPT COMMAND...: run COMMAND with /dev/tcptrace played by SCRIPT.
fake() {
	script=$1
	shift
	TT_FAKEDEV=$script TT_FAKEDEV_LOG=$TMP/commands LD_PRELOAD=$FAKEDEV \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$@"
}

# local_origin FILE: FILE with @HOST@ and @BOOT_ID@ made this machine's.
local_origin() {
	sed -e "s/@HOST@/$(uname -n)/g" \
		-e "s/@BOOT_ID@/$(cat /proc/sys/kernel/random/boot_id)/g" "$1"
}

follow_usage_tests() {
	expect_usage "-f -r lifecycle.txt:--follow reads /dev/tcptrace, not a capture (--read)" \
		"--all-netns -r lifecycle.txt:--all-netns applies to /dev/tcptrace, not to a capture (--read)" \
		"-f --stats:--follow does not apply to --stats"
}

follow_tests() {
	cd "$DATA" || return
	names="follow: table, lost histories reported in-band
follow: JSON, lost histories as {\"lost\":N}
follow: losses of unknown size
follow: the summary at Ctrl-C
follow: exits 0 when its reader goes away
snapshot of the device: --all-netns writes all-netns
follow and snapshot: text, as before, when binary=1 is refused (EINVAL)
all-netns refused: one line, exit 1
device that cannot be opened: the hint for EPERM"
	fake follow.script "$TCPTRACE" --stats > "$TMP/out" 2>&1
	fakedev_works=yes
	if ! grep -q '^format 2$' "$TMP/out"; then
		fakedev_works=no
		printf '%s\n' "$names" > "$TMP/names"
		while IFS= read -r name; do
			skip "$name" "LD_PRELOAD of tests/fakedev.so does not work here"
		done < "$TMP/names"
		cd - > /dev/null || return
		return
	fi

	: > "$TMP/commands"
	fake follow.script expect_run follow.out.table /dev/null 0 "$TCPTRACE" -f -n
	[ "$(cat "$TMP/commands")" = "binary=1
follow" ] || detail "commands written: $(cat "$TMP/commands")"
	result "follow: table, lost histories reported in-band"

	# The device's records are this machine's: its host name and boot id.
	local_origin follow.out.json > "$TMP/follow.out.json"
	fake follow.script expect_run "$TMP/follow.out.json" /dev/null 0 "$TCPTRACE" -f --json
	result "follow: JSON, lost histories as {\"lost\":N}"

	fake lostfirst.script expect_run lostfirst.out.table /dev/null 0 "$TCPTRACE" -f -n
	local_origin lostfirst.out.json > "$TMP/lostfirst.out.json"
	fake lostfirst.script expect_run "$TMP/lostfirst.out.json" /dev/null 0 "$TCPTRACE" -f --json
	result "follow: losses of unknown size"

	fake follow.script "$TCPTRACE" -f --summary > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 0 ] || detail "exit status $status"
	grep -q '^  lost while following *3$' "$TMP/out" ||
		detail "no 'lost while following 3' in: $(cat "$TMP/out")"
	grep -q '^histories  *3  (3 done, 0 live)$' "$TMP/out" ||
		detail "not 3 histories in: $(head -n 1 "$TMP/out")"
	result "follow: the summary at Ctrl-C"

	{
		head -n 3 follow.script
		echo '!read'
		awk 'BEGIN { for (i = 0; i < 20000; i++)
			print "done " i " ipv4 127.0.0.1:" 1024 + i % 60000 " 127.0.0.1:9 seq=" i " t0=1 netns=1 uid=0 end=refused bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0 path=CLOSE>SYN_SENT@0>CLOSE@5s" }'
	} > "$TMP/many.script"
	{ fake "$TMP/many.script" "$TCPTRACE" -f -n 2> "$TMP/err"; echo $? > "$TMP/status"; } |
		head -n 2 > /dev/null
	[ "$(cat "$TMP/status")" = 0 ] || detail "exit status $(cat "$TMP/status")"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	result "follow: exits 0 when its reader goes away"

	: > "$TMP/commands"
	fake lifecycle.txt expect_run lifecycle.table /dev/null 0 "$TCPTRACE" -n --all-netns
	[ "$(cat "$TMP/commands")" = "all-netns
binary=1" ] || detail "commands written: $(cat "$TMP/commands")"
	result "snapshot of the device: --all-netns writes all-netns"

	# A module older than binary records refuses binary=1: text, the same.
	TT_FAKEDEV_UNKNOWN=binary=1 fake follow.script expect_run follow.out.table /dev/null 0 "$TCPTRACE" -f -n
	TT_FAKEDEV_UNKNOWN=binary=1 fake follow.script expect_run "$TMP/follow.out.json" /dev/null 0 "$TCPTRACE" -f --json
	TT_FAKEDEV_UNKNOWN=binary=1 fake lostfirst.script expect_run lostfirst.out.table /dev/null 0 "$TCPTRACE" -f -n
	: > "$TMP/commands"
	TT_FAKEDEV_UNKNOWN=binary=1 fake lifecycle.txt expect_run lifecycle.table /dev/null 0 "$TCPTRACE" -n --all-netns
	[ "$(cat "$TMP/commands")" = "all-netns
binary=1" ] || detail "commands written: $(cat "$TMP/commands")"
	result "follow and snapshot: text, as before, when binary=1 is refused (EINVAL)"

	TT_FAKEDEV_DENY=all-netns fake follow.script expect_message 1 \
		"tcptrace: /dev/tcptrace: all-netns: Operation not permitted (it needs CAP_NET_ADMIN in the initial network namespace)" \
		"$TCPTRACE" -f --all-netns
	result "all-netns refused: one line, exit 1"

	TT_FAKEDEV_OPEN_ERRNO=1 fake follow.script expect_message 1 \
		"tcptrace: /dev/tcptrace: Operation not permitted (opening it needs CAP_NET_ADMIN)" \
		"$TCPTRACE"
	result "device that cannot be opened: the hint for EPERM"

	cd - > /dev/null || return
}

# ---- binary captures (tcptrace -w; tests/fakedev.c gives binary records) --

# bin_capture CAPTURE FILE [OPTION...]: FILE made by "tcptrace -w" of the
# device playing CAPTURE (a snapshot), stderr in $TMP/w_err; its status.
bin_capture() {
	capture=$1 file=$2
	shift 2
	fake "$capture" "$TCPTRACE" -w "$file" "$@" 2> "$TMP/w_err"
}

# with_origin FILE HOST BOOT_ID: binary capture FILE with this origin line
# instead of its own.
with_origin() {
	printf '# origin host=%s boot_id=%s\n' "$2" "$3"
	tail -c +$(($(head -n 1 "$1" | wc -c) + 1)) "$1"
}

# poke FILE OFFSET BYTE: write BYTE (octal) at OFFSET of FILE.
poke() {
	# shellcheck disable=SC2059 # the byte is the format
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null
}

# views_agree CAPTURE TEXT: every view of binary CAPTURE is byte for byte
# that of TEXT, the same records in text (tests/bincat).
views_agree() {
	{
		printf '%s\n' "$VIEWS"
		printf '%s\n' "stats:--stats" "stats.json:--stats --json"
	} > "$TMP/views"
	while IFS=: read -r suffix options; do
		# shellcheck disable=SC2086 # options are words
		"$TCPTRACE" $options -r "$1" > "$TMP/out.bin" 2>&1
		echo "exit status $?" >> "$TMP/out.bin"
		# shellcheck disable=SC2086
		"$TCPTRACE" $options -r "$2" > "$TMP/out.txt" 2>&1
		echo "exit status $?" >> "$TMP/out.txt"
		if ! diff -u "$TMP/out.txt" "$TMP/out.bin" > "$TMP/diff"; then
			detail "$suffix differs, in binary:"
			head -n 20 "$TMP/diff" >> "$DETAILS"
		fi
	done < "$TMP/views"
}

# Sizes of the UAPI's version 1, for the corrupt captures below.
HDR_SIZE=176
REC_SIZE=280

binary_usage_tests() {
	expect_usage "-w x.bin -r lifecycle.txt:--write saves /dev/tcptrace's records, not a capture (--read)" \
		"-w x.bin --summary:--write saves records, it shows no view (--summary)" \
		"-w x.bin -j:--write saves records, it shows no view (--json)" \
		"-w x.bin --expect CLOSE:--write saves records, it shows no view (--expect)" \
		"--write=:empty file name for --write"
}

binary_tests() {
	cd "$DATA" || return
	if [ "$fakedev_works" != yes ]; then
		skip "binary: every view of each capture, saved with -w" "LD_PRELOAD of tests/fakedev.so does not work here"
		cd - > /dev/null || return
		return
	fi

	# Every capture through the device in binary and -w, then each view
	# of the binary capture and of its records in text. The records read
	# back are the capture's, line for line, where the capture's lines
	# have a binary form (format 1 lines without netns=, and some made by
	# hand without counters, have none).
	for capture in *.txt; do
		name=${capture%.txt}
		[ -f "$name.err" ] && continue
		bin_capture "$capture" "$TMP/$name.bin" || detail "tcptrace -w: exit status $?"
		grep -v -e '^fakedev: cannot write in binary: no netns= ' \
			-e '^fakedev: cannot write in binary: no uid= ' \
			-e '^fakedev: cannot write in binary: a done record without all of ' \
			"$TMP/w_err" > "$TMP/err"
		[ -s "$TMP/err" ] && { detail "tcptrace -w:"; cat "$TMP/err" >> "$DETAILS"; }
		head -n 1 "$TMP/$name.bin" | grep -q "^# origin host=$(uname -n) " ||
			detail "the capture does not start with this host's origin line"
		"$BINCAT" "$TMP/$name.bin" > "$TMP/$name.bin.txt" || detail "tests/bincat failed"
		if [ ! -s "$TMP/w_err" ]; then
			grep '^done \|^live ' "$capture" > "$TMP/want"
			grep '^done \|^live ' "$TMP/$name.bin.txt" | diff -u "$TMP/want" - > "$TMP/diff" ||
				{ detail "records read back:"; cat "$TMP/diff" >> "$DETAILS"; }
		fi
		views_agree "$TMP/$name.bin" "$TMP/$name.bin.txt"
		result "binary: every view of $capture, saved with -w, as of its text"
	done

	# The device in binary, and in text (a module without binary records):
	# every view the same, from a capture with all of today's header.
	{
		printf '%s\n' "$VIEWS"
		printf '%s\n' "stats:--stats" "stats.json:--stats --json"
	} > "$TMP/views"
	while IFS=: read -r suffix options; do
		# shellcheck disable=SC2086 # options are words
		fake reasons.txt "$TCPTRACE" $options > "$TMP/out.bin" 2>&1
		# shellcheck disable=SC2086
		TT_FAKEDEV_UNKNOWN=binary=1 fake reasons.txt "$TCPTRACE" $options > "$TMP/out.txt" 2>&1
		diff -u "$TMP/out.txt" "$TMP/out.bin" > "$TMP/diff" ||
			{ detail "$suffix differs, in binary:"; head -n 20 "$TMP/diff" >> "$DETAILS"; }
	done < "$TMP/views"
	fake reasons.txt expect_run reasons.table /dev/null 0 "$TCPTRACE" -n
	fake lifecycle.txt expect_run lifecycle.timeline /dev/null 0 "$TCPTRACE" -n --timeline
	result "binary: snapshots of the device, every view as in text"

	# --expect lists the records it selected as their lines.
	fake expect.txt expect_run expect.ktap /dev/null 1 "$TCPTRACE" \
		--expect "-D 80: CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE" \
		--expect '-6: 2 CLOSE>SYN_SENT>CLOSE end=refused' \
		--expect '-L 80 --comm=nginx: none CLOSE>LISTEN'
	expect_run expect.ktap /dev/null 1 "$TCPTRACE" -r "$TMP/expect.bin" \
		--expect "-D 80: CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE" \
		--expect '-6: 2 CLOSE>SYN_SENT>CLOSE end=refused' \
		--expect '-L 80 --comm=nginx: none CLOSE>LISTEN'
	result "binary: --expect shows binary records as their lines"

	# The selection applies to what -w saves.
	bin_capture lifecycle.txt "$TMP/sel.bin" -L 8080 --end passive_close,active_close ||
		detail "tcptrace -w: exit status $?"
	"$TCPTRACE" -n -r lifecycle.txt -L 8080 --end passive_close,active_close > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n -r "$TMP/sel.bin"
	result "binary: -w with selection options saves the records selected"

	fake lifecycle.txt "$TCPTRACE" -w - > "$TMP/stdout.bin" 2> "$TMP/err"
	cmp -s "$TMP/stdout.bin" "$TMP/lifecycle.bin" || detail "-w - differs from -w FILE"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	result "binary: -w - writes to standard output"

	# Following: flushed as records come, losses said on stderr.
	bin_capture follow.script "$TMP/follow.bin" -f || detail "exit status $?"
	printf '%s\n' "tcptrace: lost 3 histories while following (overwritten before they were read)" > "$TMP/want"
	diff -u "$TMP/want" "$TMP/w_err" > "$TMP/diff" || { detail "stderr:"; cat "$TMP/diff" >> "$DETAILS"; }
	grep '^done ' follow.script > "$TMP/want"
	"$BINCAT" "$TMP/follow.bin" | grep '^done ' | diff -u "$TMP/want" - > "$TMP/diff" ||
		{ detail "records:"; cat "$TMP/diff" >> "$DETAILS"; }
	bin_capture lostfirst.script "$TMP/lostfirst.bin" -f || detail "exit status $?"
	printf '%s\n' "tcptrace: lost histories before seq 8 while following (overwritten before they were read)" > "$TMP/want"
	diff -u "$TMP/want" "$TMP/w_err" > "$TMP/diff" || { detail "stderr:"; cat "$TMP/diff" >> "$DETAILS"; }
	result "binary: -w -f saves what comes until Ctrl-C, and says what was lost"

	: > "$TMP/commands"
	TT_FAKEDEV_UNKNOWN=binary=1 fake lifecycle.txt expect_message 1 \
		"tcptrace: /dev/tcptrace: binary=1: Invalid argument (a module without binary records: 'tcptrace record' writes a text capture)" \
		"$TCPTRACE" -w "$TMP/old.bin"
	[ -e "$TMP/old.bin" ] && detail "$TMP/old.bin was made"
	fake lifecycle.txt expect_message 1 "tcptrace: $TMP/no/x.bin: No such file or directory" \
		"$TCPTRACE" -w "$TMP/no/x.bin"
	result "binary: -w of a module without binary records, or to a file it cannot make"

	# Captures of two hosts concatenated, binary and text mixed: each one
	# a section, as with -r for each.
	with_origin "$TMP/lifecycle.bin" web1 "$BOOT_A" > "$TMP/a.bin"
	with_origin "$TMP/reasons.bin" web2 "$BOOT_B" > "$TMP/b.bin"
	"$BINCAT" "$TMP/a.bin" > "$TMP/a.txt"
	"$BINCAT" "$TMP/b.bin" > "$TMP/b.txt"
	cat "$TMP/a.bin" "$TMP/b.bin" > "$TMP/ab.bin"
	cat "$TMP/a.txt" "$TMP/b.bin" > "$TMP/ab.mixed"
	cat "$TMP/a.bin" "$TMP/b.txt" > "$TMP/ba.mixed"
	for options in "-n --ladder" --json --stats "-n --summary" --metrics; do
		# shellcheck disable=SC2086 # options are words
		"$TCPTRACE" $options -r "$TMP/a.txt" -r "$TMP/b.txt" > "$TMP/want"
		for both in ab.bin ab.mixed ba.mixed; do
			# shellcheck disable=SC2086
			"$TCPTRACE" $options -r "$TMP/$both" > "$TMP/out" 2>&1
			diff -u "$TMP/want" "$TMP/out" > "$TMP/diff" ||
				{ detail "$options of $both:"; head -n 20 "$TMP/diff" >> "$DETAILS"; }
		done
	done
	result "binary: captures concatenated, binary and text mixed, each a section"

	# Cut short, or corrupt: one line each, what can be read is shown.
	origin_len=$(head -n 1 "$TMP/lifecycle.bin" | wc -c)
	records=$((origin_len + HDR_SIZE))
	head -c $((records + 3 * REC_SIZE + 100)) "$TMP/lifecycle.bin" > "$TMP/cut.bin"
	"$TCPTRACE" -n -r "$TMP/lifecycle.bin" | head -n 4 > "$TMP/want"
	printf '%s\n' "tcptrace: $TMP/cut.bin: record 4 at byte $((records + 3 * REC_SIZE)): truncated record (100 of 280 bytes)" > "$TMP/want_err"
	expect_run "$TMP/want" "$TMP/want_err" 1 "$TCPTRACE" -n -r "$TMP/cut.bin"
	head -c $((origin_len + 100)) "$TMP/lifecycle.bin" > "$TMP/cuthdr.bin"
	expect_message 1 "tcptrace: $TMP/cuthdr.bin: header at byte $origin_len: truncated binary header (100 of 176 bytes)" \
		"$TCPTRACE" -n -r "$TMP/cuthdr.bin"
	head -c 20 "$TMP/lifecycle.bin" > "$TMP/cutorigin.bin"
	{
		echo "tcptrace: $TMP/cutorigin.bin:1: missing header line (the first line must be '# tcptrace format=...')"
		echo "tcptrace: $TMP/cutorigin.bin:1: truncated line (no newline)"
	} > "$TMP/want_err"
	expect_run /dev/null "$TMP/want_err" 1 "$TCPTRACE" -n -r "$TMP/cutorigin.bin"
	result "binary: a capture cut short: a line of what, exit 1"

	cp "$TMP/lifecycle.bin" "$TMP/kind.bin"
	poke "$TMP/kind.bin" $((records + REC_SIZE)) 000
	cp "$TMP/lifecycle.bin" "$TMP/state.bin"
	poke "$TMP/state.bin" $((records + 2 * REC_SIZE + 237)) 143
	{
		echo "tcptrace: $TMP/kind.bin: record 2 at byte $((records + REC_SIZE)): bad record kind 0"
		echo "tcptrace: $TMP/state.bin: record 3 at byte $((records + 2 * REC_SIZE)): bad path: unknown state 99 in step 1"
	} > "$TMP/want_err"
	"$TCPTRACE" -n -H -r "$TMP/lifecycle.bin" | sed -e 2d > "$TMP/want"
	"$TCPTRACE" -n -H -r "$TMP/lifecycle.bin" | sed -e 3d >> "$TMP/want"
	{ "$TCPTRACE" -n -H -r "$TMP/kind.bin"; "$TCPTRACE" -n -H -r "$TMP/state.bin"; } > "$TMP/out" 2> "$TMP/err"
	diff -u "$TMP/want" "$TMP/out" > "$TMP/diff" || { detail "stdout:"; cat "$TMP/diff" >> "$DETAILS"; }
	diff -u "$TMP/want_err" "$TMP/err" > "$TMP/diff" || { detail "stderr:"; cat "$TMP/diff" >> "$DETAILS"; }
	result "binary: a malformed record: one line, the others shown"

	cp "$TMP/lifecycle.bin" "$TMP/swapped.bin"
	# The magic as a machine of the other byte order writes it: "TCPT" in
	# a little-endian one's memory, "TPCT" in a big-endian one's.
	if [ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ]; then
		swapped=TPCT order="a big-endian machine: this one is little-endian"
	else
		swapped=TCPT order="a little-endian machine: this one is big-endian"
	fi
	printf '%s' "$swapped" | dd of="$TMP/swapped.bin" bs=1 seek="$origin_len" conv=notrunc 2> /dev/null
	expect_message 1 "tcptrace: $TMP/swapped.bin: header at byte $origin_len: binary capture of $order, and cannot read it" \
		"$TCPTRACE" -n -r "$TMP/swapped.bin"
	cp "$TMP/lifecycle.bin" "$TMP/small.bin"
	poke "$TMP/small.bin" $((origin_len + 6)) 017
	expect_message 1 "tcptrace: $TMP/small.bin: header at byte $origin_len: binary header: header_size 15 (this tcptrace reads 176 to 16384)" \
		"$TCPTRACE" --stats -r "$TMP/small.bin"
	result "binary: another byte order, or a header this reader cannot frame"

	# Cut anywhere, or any byte made 0xff: never a crash, messages of a
	# line each (a record_size changed misframes all after it).
	size=$(wc -c < "$TMP/lifecycle.bin")
	offset=1
	while [ "$offset" -lt "$size" ]; do
		head -c "$offset" "$TMP/lifecycle.bin" > "$TMP/cut.any"
		cp "$TMP/lifecycle.bin" "$TMP/poked.any"
		poke "$TMP/poked.any" "$offset" 377
		for capture in cut.any poked.any; do
			"$TCPTRACE" -n -r "$TMP/$capture" > /dev/null 2> "$TMP/err"
			status=$?
			[ "$status" -le 1 ] || detail "$capture at $offset: exit status $status"
			grep -qv "^tcptrace: $TMP/${capture}[:,]" "$TMP/err" &&
				detail "$capture at $offset: $(cat "$TMP/err")"
		done
		offset=$((offset + 23))
	done
	result "binary: a capture cut or changed anywhere: no crash, one-line messages"

	cd - > /dev/null || return
}

# ---- JSON captures (tcptrace --json, read back with -r) -------------------

# The views that show only what the records say: the others also show the
# header's counters (--summary, --metrics, the timeline's "so far"), which
# JSON does not carry; their records' part is the summary's JSON without
# its "module" object.
JSON_VIEWS="table:-n
ss.table:-n -S
json:--json
ladder:-n --ladder
graph:--graph
expect:--expect CLOSE>SYN_SENT>CLOSE"

# json_views_agree JSON CAPTURE...: each of $views (JSON_VIEWS but those
# taken out) of JSON, and the summary's records, are those of the
# CAPTUREs it was made of.
json_views_agree() {
	json=$1 reads=
	shift
	for capture; do reads="$reads -r $capture"; done
	printf '%s\n' "$views" > "$TMP/views"
	while IFS=: read -r suffix options; do
		# shellcheck disable=SC2086 # options are words
		"$TCPTRACE" $options -r "$json" > "$TMP/out.json" 2>&1
		echo "exit status $?" >> "$TMP/out.json"
		# shellcheck disable=SC2086
		"$TCPTRACE" $options $reads > "$TMP/out.txt" 2>&1
		echo "exit status $?" >> "$TMP/out.txt"
		if ! diff -u "$TMP/out.txt" "$TMP/out.json" > "$TMP/diff"; then
			detail "$suffix differs, from JSON:"
			head -n 20 "$TMP/diff" >> "$DETAILS"
		fi
	done < "$TMP/views"
	# shellcheck disable=SC2086
	"$TCPTRACE" --summary --json $reads | sed 's/,"module":{.*}}$/}/' > "$TMP/want"
	"$TCPTRACE" --summary --json -r "$json" | sed 's/,"module":{}}$/}/' > "$TMP/out"
	diff -u "$TMP/want" "$TMP/out" > "$TMP/diff" ||
		{ detail "the summary differs, from JSON:"; head -n 5 "$TMP/diff" >> "$DETAILS"; }
}

json_tests() {
	cd "$DATA" || return

	for capture in *.txt; do
		name=${capture%.txt}
		[ -f "$name.err" ] && continue
		"$TCPTRACE" --json -r "$capture" > "$TMP/$name.json"
		[ -s "$TMP/$name.json" ] || continue	# no record: nothing to read back
		case $capture in
		netns.txt|reasons.txt)
			# Their header's rst_reasons=1 widens the table's END
			# column; JSON has no header.
			views=$(printf '%s\n' "$JSON_VIEWS" | grep -v table:) ;;
		handover.txt|server.txt)
			# Lines written by hand with step flags out of the
			# module's order ("swx"), or with keys and flags of a
			# later version, which JSON does not carry: --expect
			# shows JSON records as the module writes them.
			views=$(printf '%s\n' "$JSON_VIEWS" | grep -v ^expect:) ;;
		*)
			views=$JSON_VIEWS ;;
		esac
		json_views_agree "$TMP/$name.json" "$capture"
		result "json: every view of $capture's JSON read back is the capture's"
	done

	# Captures of three origins in one JSON file: three sections again.
	"$TCPTRACE" --json -r origin-a.txt -r origin-b.txt -r noorigin.txt > "$TMP/fleet.json"
	views=$JSON_VIEWS
	json_views_agree "$TMP/fleet.json" origin-a.txt origin-b.txt noorigin.txt
	"$TCPTRACE" --summary --json -r "$TMP/fleet.json" | grep -q '"captures":3,"module":{}' ||
		detail "summary JSON: no '\"captures\":3,\"module\":{}'"
	result "json: the histories of many hosts, each read back with its own"

	# A follower's JSON, losses included.
	for script in follow lostfirst; do
		local_origin "$script.out.json" > "$TMP/$script.json"
		local_origin "$script.out.table" > "$TMP/want"
		expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n -r "$TMP/$script.json"
		expect_run "$TMP/$script.json" /dev/null 0 "$TCPTRACE" --json -r "$TMP/$script.json"
	done
	"$TCPTRACE" --summary -r "$TMP/follow.json" | grep -q '^  lost while following  *3$' ||
		detail "the summary does not count the 3 histories lost"
	result "json: a follower's JSON read back, its losses too"

	# Text and JSON in one input, as cat makes it: each its own section.
	cat origin-b.txt "$TMP/origin-a.json" > "$TMP/mixed"
	"$TCPTRACE" -n --ladder -r origin-b.txt -r origin-a.txt > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -n --ladder -r "$TMP/mixed"
	result "json: a text capture and JSON in one file"

	# Broken lines are said, by line, and the others shown.
	{
		sed -n 1p "$TMP/lifecycle.json"
		sed -n 1p "$TMP/lifecycle.json" | sed 's/"port":8080/"port":80800/'
		echo '{"schema":1,"histories":3}'
		sed -n 2p "$TMP/lifecycle.json" | cut -c 1-100
	} > "$TMP/bad.json"
	sed -n 1p "$TMP/lifecycle.json" > "$TMP/want"
	cat > "$TMP/want_err" <<-EOF
	tcptrace: $TMP/bad.json:2: JSON: "port": 80800 is more than 65535
	tcptrace: $TMP/bad.json:3: JSON: no "kind": not a history (tcptrace --json writes one a line)
	tcptrace: $TMP/bad.json:4: JSON: column 101: unterminated string
	EOF
	expect_run "$TMP/want" "$TMP/want_err" 1 "$TCPTRACE" --json -r "$TMP/bad.json"
	result "json: a malformed line is said with its line number, the others shown"

	expect_message 1 "tcptrace: $TMP/lifecycle.json:1: JSON histories have no header: --stats shows a text or binary capture's" \
		"$TCPTRACE" --stats -r "$TMP/lifecycle.json"
	result "json: --stats of a JSON capture: no header, said"

	cd - > /dev/null || return
}

# ---- tcptrace record ----------------------------------------------------

# A follow script whose histories fall in the run of a COMMAND started
# within half a second: their t0 is CLOCK_MONOTONIC now plus 500 ms
# (python3); the COMMANDs take 1.5 s.
# The fake device stamps @NOW@ when record first reads it, after its
# start, and the same in its last snapshot: in the capture. t0=100 is
# long before it: left out.
record_script() {
	now=@NOW@
	sed -n '/^# tcptrace/p' "$DATA/follow.script"
	echo '!read'
	echo "done 10 ipv4 127.0.0.1:40000 127.0.0.1:9 seq=3 t0=$now netns=1 end=refused path=CLOSE>SYN_SENT@0>CLOSE@52000s"
	echo "done 11 ipv4 127.0.0.1:40001 127.0.0.1:9 seq=4 t0=100 netns=1 end=refused path=CLOSE>SYN_SENT@0>CLOSE@51000s"
	echo '!read'
	echo '!EPIPE'
	echo "done 15 ipv4 127.0.0.1:40005 127.0.0.1:80 seq=8 t0=$now netns=1 end=active_close path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s>FIN_WAIT1@60000"
	echo "live 16 ipv4 127.0.0.1:40006 127.0.0.1:80 t0=$now netns=1 path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s"
	echo "live 17 ipv4 127.0.0.1:40007 127.0.0.1:80 t0=100 netns=1 path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s"
}

record_tests() {
	# Never the host's modprobe: one that fails, first in PATH.
	mkdir -p "$TMP/bin"
	printf '#!/bin/sh\nexit 1\n' > "$TMP/bin/modprobe"
	chmod +x "$TMP/bin/modprobe"
	nomod() { (unset TCPTRACE_KO; PATH=$TMP/bin:$PATH; "$@"); }

	expect_message 125 "tcptrace: record: unknown option '--bogus' (try 'tcptrace record --help')" \
		"$TCPTRACE" record --bogus
	result "record: usage error exits 125"
	expect_message 125 "tcptrace: record: option '-o' needs an argument (try 'tcptrace record --help')" \
		"$TCPTRACE" record -o
	result "record: -o without argument exits 125"

	"$TCPTRACE" record --help > "$TMP/out" 2>&1
	status=$?
	[ "$status" -eq 0 ] || detail "record --help: exit status $status"
	[ "$(head -n 1 "$TMP/out")" = "Usage: tcptrace record [OPTION]... [--] [COMMAND [ARG]...]" ] ||
		detail "record --help: first line is '$(head -n 1 "$TMP/out")'"
	for option in $(grep -o -- '--[a-z-]*' "$TMP/out" | sort -u); do
		roff=$(printf '%s' "$option" | sed 's/-/\\-/g')
		grep -qF -- "$roff" "$MAN_PAGE" || detail "record $option is not in tcptrace.1"
	done
	result "record --help prints its usage, every option in tcptrace.1"

	if [ -e /dev/tcptrace ] || [ -e /sys/module/tcptrace ]; then
		skip "record: no module and none to load: 125, one line" "the module is loaded here"
		skip "record: a .ko that cannot be opened: 125, one line" "the module is loaded here"
	else
		(cd "$TMP" && nomod expect_message 125 \
			"tcptrace: record: no tcptrace module loaded, and 'modprobe tcptrace' failed (exit 1); name a tcptrace.ko with --ko or TCPTRACE_KO" \
			"$TCPTRACE" record -o rec1.cap -- true)
		[ -e "$TMP/rec1.cap" ] && detail "rec1.cap left behind"
		result "record: no module and none to load: 125, one line"
		(cd "$TMP" && nomod expect_message 125 \
			"tcptrace: record: cannot load the module: /nonexistent/tcptrace.ko: No such file or directory" \
			"$TCPTRACE" record --ko /nonexistent/tcptrace.ko -o rec2.cap -- true)
		result "record: a .ko that cannot be opened: 125, one line"
	fi

	expect_message 125 "tcptrace: record: $TMP/no/such/dir/x.cap: No such file or directory" \
		"$TCPTRACE" record -o "$TMP/no/such/dir/x.cap" -- true
	result "record: FILE that cannot be written: 125, one line"

	if [ "$fakedev_works" != yes ] || ! command -v python3 > /dev/null; then
		for name in "COMMAND not found: 127" "COMMAND not executable: 126" \
			"another format version: 125" "capture, origin line, seq gap, selection, status" \
			"a history done while the snapshot is taken replaces its live record" \
			"--ktap prints the abnormal and live histories" "valgrind"; do
			skip "record: $name" "needs LD_PRELOAD of tests/fakedev.so and python3"
		done
		return
	fi
	record_script > "$TMP/rec.script"

	fake "$TMP/rec.script" expect_message 127 \
		"tcptrace: record: cannot run 'no-such-command-here': No such file or directory" \
		"$TCPTRACE" record -o "$TMP/r.cap" -- no-such-command-here
	[ -e "$TMP/r.cap" ] && detail "r.cap left behind"
	result "record: COMMAND not found: 127"
	fake "$TMP/rec.script" expect_message 126 \
		"tcptrace: record: cannot run '$DATA/basic.txt': Permission denied" \
		"$TCPTRACE" record -o "$TMP/r.cap" -- "$DATA/basic.txt"
	result "record: COMMAND not executable: 126"
	fake "$DATA/format3.txt" expect_message 125 \
		"tcptrace: record: /dev/tcptrace: unsupported format 3 (this tcptrace reads formats 1 to 2)" \
		"$TCPTRACE" record -o "$TMP/r.cap" -- true
	result "record: another format version: 125"

	: > "$TMP/commands"
	record_script > "$TMP/rec.script"
	fake "$TMP/rec.script" "$TCPTRACE" record -o "$TMP/r.cap" -- sh -c 'sleep 1.5; exit 3' \
		> "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 3 ] || detail "exit status $status, expected 3"
	[ -s "$TMP/out" ] && detail "stdout: $(cat "$TMP/out")"
	[ "$(tr '\n' ' ' < "$TMP/commands")" = "follow all-netns all-netns " ] ||
		detail "commands written: $(cat "$TMP/commands")"
	grep '^[dl#]' "$TMP/r.cap" | cut -d ' ' -f 1-3 > "$TMP/got"
	printf '%s\n' "# tcptrace format=2" "# origin host=$(uname -n)" "# record: start=*" "done 10 ipv4" \
		"# record: lost=*" "done 15 ipv4" "live 16 ipv4" "# record: end=*" > "$TMP/want"
	sed -i 's/^\(# record: [a-z]*=\)[0-9]*$/\1*/' "$TMP/got"
	diff -u "$TMP/want" "$TMP/got" > "$TMP/diff" || { detail "capture:"; cat "$TMP/diff" >> "$DETAILS"; }
	grep -q '^# record: lost=3 after_seq=4 seq=8$' "$TMP/r.cap" || detail "no 'lost=3 after_seq=4 seq=8'"
	sed -n 2p "$TMP/r.cap" > "$TMP/got"
	local_origin /dev/stdin > "$TMP/want" <<-'EOF'
	# origin host=@HOST@ boot_id=@BOOT_ID@
	EOF
	diff -u "$TMP/want" "$TMP/got" > "$TMP/diff" || { detail "origin line:"; cat "$TMP/diff" >> "$DETAILS"; }
	"$TCPTRACE" -r "$TMP/r.cap" --json 2>&1 | grep -c "^{\"schema\":1,\"host\":\"$(uname -n)\",\"boot_id\":\"$(cat /proc/sys/kernel/random/boot_id)\"," > "$TMP/got"
	[ "$(cat "$TMP/got")" = 3 ] || detail "tcptrace -r --json: $(cat "$TMP/got") records with this host and boot id, expected 3"
	grep -q '^tcptrace record: 3 histories in .*r.cap: 2 done, 1 still live (all network namespaces)$' "$TMP/err" &&
		grep -q '^tcptrace record: lost: 3 histories overwritten before they were read$' "$TMP/err" &&
		grep -q '^tcptrace record: ends: active_close 1, refused 1$' "$TMP/err" ||
		{ detail "summary:"; cat "$TMP/err" >> "$DETAILS"; }
	"$TCPTRACE" -r "$TMP/r.cap" -n -H > "$TMP/out" 2>&1 && [ "$(wc -l < "$TMP/out")" = 3 ] ||
		detail "tcptrace -r: $(cat "$TMP/out")"
	result "record: capture, origin line, seq gap, selection, status"

	# A history that completes while the final snapshot is taken: 16 is
	# live in the snapshot (which ends at "!late") and done in what the
	# follower reads after it; 18 stays live. Each is captured once. 19's
	# socket had an earlier life (t0=100) that the drain shows done: not
	# this one, which stays live.
	{
		record_script
		echo "live 18 ipv4 127.0.0.1:40008 127.0.0.1:80 t0=@NOW@ netns=1 path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s"
		echo "live 19 ipv4 127.0.0.1:40009 127.0.0.1:80 t0=@NOW@ netns=1 path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s"
		echo '!late'
		echo "done 16 ipv4 127.0.0.1:40006 127.0.0.1:80 seq=9 t0=@NOW@ netns=1 end=reset_sent path=CLOSE>SYN_SENT@0>ESTABLISHED@50000s>CLOSE@70000"
		echo "done 19 ipv4 127.0.0.1:40009 127.0.0.1:9 seq=10 t0=100 netns=1 end=refused path=CLOSE>SYN_SENT@0>CLOSE@50000s"
	} > "$TMP/late.script"
	fake "$TMP/late.script" "$TCPTRACE" record -o "$TMP/l.cap" -- sleep 1.5 > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 0 ] || detail "exit status $status: $(cat "$TMP/err")"
	grep '^[dl#]' "$TMP/l.cap" | cut -d ' ' -f 1-3 > "$TMP/got"
	printf '%s\n' "# tcptrace format=2" "# origin host=$(uname -n)" "# record: start=*" "done 10 ipv4" \
		"# record: lost=*" "done 15 ipv4" "done 16 ipv4" "live 18 ipv4" "live 19 ipv4" "# record: end=*" > "$TMP/want"
	sed -i 's/^\(# record: [a-z]*=\)[0-9]*$/\1*/' "$TMP/got"
	diff -u "$TMP/want" "$TMP/got" > "$TMP/diff" || { detail "capture:"; cat "$TMP/diff" >> "$DETAILS"; }
	grep -q '^tcptrace record: 5 histories in .*l.cap: 3 done, 2 still live ' "$TMP/err" ||
		{ detail "summary:"; cat "$TMP/err" >> "$DETAILS"; }
	result "record: a history done while the snapshot is taken replaces its live record"

	record_script > "$TMP/rec.script"
	fake "$TMP/rec.script" "$TCPTRACE" record --ktap -o "$TMP/k.cap" -- sh -c 'sleep 1.5; exit 1' \
		> "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 1 ] || detail "exit status $status, expected 1"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	grep -v '^# ' "$TMP/out" | grep -q . && detail "a line of stdout that is not '# ...'"
	grep -q '^# done 10 ipv4 .* end=refused ' "$TMP/out" && grep -q '^# live 16 ' "$TMP/out" &&
		! grep -q '^# done 15 ' "$TMP/out" || { detail "stdout:"; cat "$TMP/out" >> "$DETAILS"; }
	"$TCPTRACE" record --ktap --report "$TMP/k.cap" > "$TMP/out2" 2>&1
	cmp -s "$TMP/out" "$TMP/out2" || detail "--report differs from what --ktap printed"
	result "record --ktap prints the abnormal and live histories"

	if ! command -v valgrind > /dev/null || nm "$TCPTRACE" 2> /dev/null | grep -q __asan_init; then
		skip "record: valgrind" "no valgrind, or built with AddressSanitizer"
	else
		record_script > "$TMP/rec.script"
		fake "$TMP/rec.script" valgrind_run "$TCPTRACE" record --ktap -o "$TMP/v.cap" -- sh -c 'sleep 1.5; exit 1'
		fake "$TMP/rec.script" valgrind_run "$TCPTRACE" record -o "$TMP/v.cap" -- no-such-command-here
		valgrind_run "$TCPTRACE" record --report "$TMP/v.cap"
		result "record: valgrind"
	fi
}

# ---- --metrics ----------------------------------------------------------

# Prometheus's own checker, if there: Debian's prometheus package has it.
PROMTOOL=${TCPTRACE_PROMTOOL:-/var/cache/tcptrace/promtool/usr/bin/promtool}

# metric FILE SAMPLE: the value of the sample named exactly so (name and
# labels as written), or "missing".
metric() {
	awk -v s="$2" '$1 == s { print $2; found = 1; exit } END { if (!found) print "missing" }' "$1"
}

# expect_metric FILE SAMPLE WANT
expect_metric() {
	got=$(metric "$1" "$2")
	[ "$got" = "$3" ] || detail "$2 is $got, expected $3"
}

# The structure every exposition must have, whatever its values: # EOF
# last and once; each histogram's buckets cumulative, ending with +Inf
# equal to its _count.
check_exposition() {
	[ "$(tail -n 1 "$1")" = "# EOF" ] || detail "$(basename "$1"): the last line is not '# EOF'"
	[ "$(grep -c '^# EOF$' "$1")" = 1 ] || detail "$(basename "$1"): '# EOF' not exactly once"
	awk '
	/_bucket\{/ {
		series = $1; sub(/le="[^"]*"\}$/, "", series)
		if (series == last && $2 + 0 < prev + 0)
			print "bucket not cumulative: " $0
		last = series; prev = $2
		if ($1 ~ /le="\+Inf"\}$/) inf[series] = $2
		next
	}
	/_count[{ ]/ {
		series = $1; sub(/_count/, "_bucket", series)
		sub(/\}$/, ",", series); sub(/_bucket$/, "_bucket{", series)
		if (!(series in inf) || inf[series] != $2)
			print "+Inf bucket differs from " $1 " " $2
	}' "$1" > "$TMP/structure"
	[ -s "$TMP/structure" ] && cat "$TMP/structure" >> "$DETAILS"
}

metrics_tests() {
	cd "$DATA" || return

	"$TCPTRACE" --metrics -r lifecycle.txt > "$TMP/lifecycle.metrics" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 0 ] || detail "exit status $status"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	check_exposition "$TMP/lifecycle.metrics"
	out=$TMP/lifecycle.metrics
	# The expected values, counted from the capture itself.
	for end in active_close passive_close refused syncookie timeout; do
		want=$(grep -c "^done [0-9]* ipv4 .* end=$end " lifecycle.txt)
		expect_metric "$out" "tcptrace_histories_total{family=\"ipv4\",end=\"$end\"}" "$want"
	done
	want=$(grep -c '^done [0-9]* ipv6 .* end=handshake_failed ' lifecycle.txt)
	expect_metric "$out" 'tcptrace_histories_total{family="ipv6",end="handshake_failed"}' "$want"
	want=$(grep -c '^live [0-9]* ipv4 ' lifecycle.txt)
	expect_metric "$out" 'tcptrace_live_histories{family="ipv4"}' "$want"
	for key in events created completed ring_overwritten unexpected syncookies; do
		want=$(head -n 1 lifecycle.txt | tr ' ' '\n' | sed -n "s/^$key=//p")
		expect_metric "$out" "tcptrace_${key}_total" "$want"
	done
	want=$(head -n 1 lifecycle.txt | tr ' ' '\n' | sed -n 's/^mem_bytes=//p')
	expect_metric "$out" tcptrace_mem_bytes "$want"
	# Clients: SYN_SENT then ESTABLISHED, no step missed in between.
	want=$(grep -c 'SYN_SENT@[0-9]*[a-z]*>ESTABLISHED@' lifecycle.txt)
	expect_metric "$out" 'tcptrace_handshake_seconds_count{side="client"}' "$want"
	# Their handshakes, 446510ns, 30000ns and 50000ns: two in the 50us bucket.
	expect_metric "$out" 'tcptrace_handshake_seconds_bucket{side="client",le="5e-05"}' 2
	expect_metric "$out" 'tcptrace_handshake_seconds_bucket{side="client",le="0.0005"}' 3
	expect_metric "$out" 'tcptrace_handshake_seconds_sum{side="client"}' 0.000526510
	want=$(grep -c 'TIME_WAIT@[0-9]*[a-z]*>CLOSE@' lifecycle.txt)
	expect_metric "$out" tcptrace_timewait_seconds_count "$want"
	expect_metric "$out" 'tcptrace_state_seconds_count{state="TIME_WAIT"}' "$want"
	want=$(grep -c '^done [0-9]* ipv4 .*@' lifecycle.txt)
	expect_metric "$out" 'tcptrace_lifetime_seconds_count{family="ipv4"}' "$want"
	expect_metric "$out" 'tcptrace_unexpected_transitions_total{from="ESTABLISHED",to="FIN_WAIT2"}' \
		"$(grep -c 'ESTABLISHED@[0-9]*[a-z]*>FIN_WAIT2@[0-9]*[a-z]*x' lifecycle.txt)"
	grep -q 'le="[^"]*".*le=' "$out" && detail "a bucket with two le labels"
	grep -Eq '\{[^}]*(id|port|addr|pid|comm|seq)=' "$out" && detail "a per-socket label"
	result "metrics: counts of lifecycle.txt"

	# Malformed lines: reported as by the other views, status 1, and the
	# valid records still counted (one done record, format 1: end none).
	"$TCPTRACE" --metrics -r malformed.txt > "$TMP/malformed.metrics" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 1 ] || detail "exit status $status, expected 1"
	diff -u malformed.err "$TMP/err" > "$TMP/diff" || cat "$TMP/diff" >> "$DETAILS"
	check_exposition "$TMP/malformed.metrics"
	# The done lines that malformed.err does not name.
	want=$(sed -n 's/^tcptrace: malformed.txt:\([0-9]*\):.*/\1/p' malformed.err |
		awk 'NR == FNR { bad[$1] = 1; next } /^done / && !(FNR in bad) { n++ } END { print n + 0 }' \
			- malformed.txt)
	expect_metric "$TMP/malformed.metrics" 'tcptrace_histories_total{family="ipv4",end="none"}' "$want"
	expect_metric "$TMP/malformed.metrics" tcptrace_events_total \
		"$(head -n 1 malformed.txt | tr ' ' '\n' | sed -n 's/^events=//p')"
	result "metrics: malformed lines reported, the valid records counted"

	"$TCPTRACE" --metrics -r headeronly.txt > "$TMP/headeronly.metrics" 2> "$TMP/err"
	[ $? -eq 0 ] || detail "exit status $?"
	check_exposition "$TMP/headeronly.metrics"
	expect_metric "$TMP/headeronly.metrics" 'tcptrace_handshake_seconds_count{side="server"}' 0
	result "metrics: a capture without records"

	"$TCPTRACE" --metrics -r server.txt > "$TMP/server.metrics" 2> /dev/null
	"$TCPTRACE" --metrics -r basic.txt > "$TMP/basic.metrics" 2> /dev/null
	if [ ! -x "$PROMTOOL" ]; then
		skip "metrics: promtool check metrics" "promtool not found at $PROMTOOL (set TCPTRACE_PROMTOOL)"
	else
		"$TCPTRACE" --metrics -r reasons.txt > "$TMP/reasons.metrics" 2> /dev/null
		for file in lifecycle server basic malformed headeronly reasons; do
			# Lint warnings count as failures: anything it prints.
			"$PROMTOOL" check metrics < "$TMP/$file.metrics" > "$TMP/promtool" 2>&1 ||
				detail "promtool check metrics failed on $file.txt"
			[ -s "$TMP/promtool" ] && { detail "promtool on $file.txt:"; cat "$TMP/promtool" >> "$DETAILS"; }
		done
		result "metrics: promtool check metrics"
	fi

	if [ "$fakedev_works" = yes ]; then
		fake follow.script expect_run /dev/null /dev/null 0 \
			"$TCPTRACE" -f --metrics --metrics-file "$TMP/follow.prom"
		check_exposition "$TMP/follow.prom"
		# follow.script: seq 4 then seq 8, three histories lost.
		expect_metric "$TMP/follow.prom" tcptrace_lost_histories_total 3
		expect_metric "$TMP/follow.prom" 'tcptrace_histories_total{family="ipv4",end="refused"}' \
			"$(grep -c '^done .* end=refused ' follow.script)"
		[ -e "$TMP/follow.prom.tmp" ] && detail "follow.prom.tmp left behind"
		result "metrics: --follow --metrics-file writes FILE at the end"

		# FILE.tmp cannot be created: the old FILE stays, the error is
		# reported, and the exit status says so.
		mkdir "$TMP/kept.prom.tmp"
		echo previous > "$TMP/kept.prom"
		fake follow.script expect_message 1 \
			"tcptrace: $TMP/kept.prom.tmp: Is a directory ($TMP/kept.prom is left as it was)" \
			"$TCPTRACE" -f --metrics --metrics-file "$TMP/kept.prom" --interval 1
		[ "$(cat "$TMP/kept.prom")" = previous ] || detail "kept.prom was changed"
		result "metrics: a textfile that cannot be written leaves the old one"

		# A quiet device: the file is rewritten all the same, every
		# second here, before the second history comes and at the end.
		{
			sed -n '3,5p' follow.script
			printf '!wait\n!wait\n!wait\n'
			sed -n '6p' follow.script
		} > "$TMP/quiet.script"
		fake "$TMP/quiet.script" "$TCPTRACE" -f --metrics --interval 1 \
			--metrics-file "$TMP/quiet.prom" > "$TMP/out" 2> "$TMP/err" &
		pid=$!
		sleep 2
		cp "$TMP/quiet.prom" "$TMP/quiet.first" 2> /dev/null ||
			detail "no file after 2s of an interval of 1s"
		wait "$pid" || detail "exit status $?"
		[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
		if [ -f "$TMP/quiet.first" ]; then
			check_exposition "$TMP/quiet.first"
			expect_metric "$TMP/quiet.first" 'tcptrace_histories_total{family="ipv4",end="refused"}' 1
		fi
		check_exposition "$TMP/quiet.prom"
		expect_metric "$TMP/quiet.prom" 'tcptrace_histories_total{family="ipv4",end="refused"}' 2
		result "metrics: --interval rewrites the file while the device is quiet"
	else
		skip "metrics: --follow --metrics-file writes FILE at the end" "LD_PRELOAD of tests/fakedev.so does not work here"
		skip "metrics: a textfile that cannot be written leaves the old one" "LD_PRELOAD of tests/fakedev.so does not work here"
		skip "metrics: --interval rewrites the file while the device is quiet" "LD_PRELOAD of tests/fakedev.so does not work here"
	fi

	"$TCPTRACE" --metrics -r lifecycle.txt > "$TMP/want"
	expect_run /dev/null /dev/null 0 "$TCPTRACE" --metrics -r lifecycle.txt \
		--metrics-file "$TMP/once.prom"
	cmp -s "$TMP/want" "$TMP/once.prom" || detail "--metrics-file differs from stdout"
	result "metrics: --metrics-file without --follow writes it once"

	cd - > /dev/null || return
}

# ---- --metrics --metrics-netns --------------------------------------------

# unlabel FILE: the samples of an exposition with the netns label taken
# out and the values of the same series added up, as "SERIES VALUE" lines,
# and its comment lines, all sorted (the label changes the order of the
# series within a family).
unlabel() {
	awk '
	/^#/ { print; next }
	{
		series = $1
		sub(/netns="[^"]*",?/, "", series)
		sub(/\{\}$/, "", series)
		if (!(series in sum))
			order[n++] = series
		sum[series] += $2
	}
	END { for (i = 0; i < n; i++) printf "%s %.9f\n", order[i], sum[order[i]] }' "$1" |
		LC_ALL=C sort
}

metrics_netns_tests() {
	cd "$DATA" || return

	# netns.txt: in 4026531840, two active closes, a reset sent
	# (TCP_ABORT_ON_CLOSE) and a live client, handshakes of 30us, 3ms,
	# 20us and 40us, one SYN retransmitted; in 4026532100, an IPv6 client
	# refused after 2 SYN retransmissions and an IPv4 server (handshake
	# 200us); one record without netns=, a 30s IPv4 timeout.
	"$TCPTRACE" --metrics --metrics-netns -r netns.txt > "$TMP/netns.metrics" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 0 ] || detail "exit status $status"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	check_exposition "$TMP/netns.metrics"
	out=$TMP/netns.metrics
	a='netns="4026531840",' b='netns="4026532100",' u='netns="unknown",'
	expect_metric "$out" "tcptrace_histories_total{${a}family=\"ipv4\",end=\"active_close\"}" 2
	expect_metric "$out" "tcptrace_histories_total{${a}family=\"ipv4\",end=\"reset_sent\"}" 1
	expect_metric "$out" "tcptrace_histories_total{${a}family=\"ipv6\",end=\"refused\"}" 0
	expect_metric "$out" "tcptrace_histories_total{${b}family=\"ipv6\",end=\"refused\"}" 1
	expect_metric "$out" "tcptrace_histories_total{${b}family=\"ipv4\",end=\"passive_close\"}" 1
	expect_metric "$out" "tcptrace_histories_total{${b}family=\"ipv4\",end=\"active_close\"}" 0
	expect_metric "$out" "tcptrace_histories_total{${u}family=\"ipv4\",end=\"timeout\"}" 1
	expect_metric "$out" "tcptrace_live_histories{${a}family=\"ipv4\"}" 1
	expect_metric "$out" "tcptrace_live_histories{${b}family=\"ipv4\"}" 0
	expect_metric "$out" "tcptrace_resets_sent_total{${a}reason=\"TCP_ABORT_ON_CLOSE\"}" 1
	expect_metric "$out" "tcptrace_handshake_retransmissions_total{netns=\"4026531840\"}" 1
	expect_metric "$out" "tcptrace_handshake_retransmissions_total{netns=\"4026532100\"}" 2
	expect_metric "$out" "tcptrace_handshake_retransmissions_total{netns=\"unknown\"}" 0
	expect_metric "$out" "tcptrace_handshake_seconds_count{${a}side=\"client\"}" 4
	expect_metric "$out" "tcptrace_handshake_seconds_bucket{${a}side=\"client\",le=\"2.5e-05\"}" 1
	expect_metric "$out" "tcptrace_handshake_seconds_bucket{${a}side=\"client\",le=\"5e-05\"}" 3
	expect_metric "$out" "tcptrace_handshake_seconds_sum{${a}side=\"client\"}" 0.003090000
	expect_metric "$out" "tcptrace_handshake_seconds_count{${b}side=\"client\"}" 0
	expect_metric "$out" "tcptrace_handshake_seconds_count{${b}side=\"server\"}" 1
	expect_metric "$out" "tcptrace_handshake_seconds_sum{${b}side=\"server\"}" 0.000200000
	expect_metric "$out" "tcptrace_handshake_seconds_count{${u}side=\"client\"}" 1
	expect_metric "$out" 'tcptrace_timewait_seconds_count{netns="4026531840"}' 2
	expect_metric "$out" 'tcptrace_timewait_seconds_sum{netns="4026531840"}' 0.002000000
	expect_metric "$out" 'tcptrace_timewait_seconds_count{netns="4026532100"}' 0
	expect_metric "$out" "tcptrace_lifetime_seconds_count{${a}family=\"ipv4\"}" 3
	expect_metric "$out" "tcptrace_lifetime_seconds_sum{${a}family=\"ipv4\"}" 0.007900000
	expect_metric "$out" "tcptrace_lifetime_seconds_sum{${b}family=\"ipv6\"}" 3.000000000
	expect_metric "$out" "tcptrace_lifetime_seconds_sum{${u}family=\"ipv4\"}" 30.000000000
	expect_metric "$out" "tcptrace_state_seconds_count{${b}state=\"SYN_SENT\"}" 1
	expect_metric "$out" "tcptrace_state_seconds_count{${a}state=\"SYN_SENT\"}" 4
	# The module's counters and the lost histories: the whole module's.
	expect_metric "$out" tcptrace_events_total 30
	expect_metric "$out" tcptrace_live 1
	expect_metric "$out" tcptrace_lost_histories_total 0
	grep -q '^tcptrace_[a-z_]*_total{netns=.*} ' "$out" || detail "no netns label"
	grep -E '^tcptrace_(events|created|completed|lost_histories)_total\{' "$out" |
		sed 's/^/a label on a global counter: /' >> "$DETAILS"
	# The namespaces in order: 4026531840, 4026532100, then unknown.
	got=$(sed -n 's/^tcptrace_histories_total{netns="\([^"]*\)".*/\1/p' "$out" | uniq | tr '\n' ' ')
	[ "$got" = "4026531840 4026532100 unknown " ] || detail "netns labels in the order '$got'"
	result "metrics-netns: the label splits the counts of netns.txt"

	# Without the option, no netns label, and the same series as with it
	# once the label is summed away; the module's counters as they were.
	for capture in lifecycle reasons netns; do
		"$TCPTRACE" --metrics -r $capture.txt > "$TMP/plain.metrics" 2> /dev/null
		"$TCPTRACE" --metrics --metrics-netns -r $capture.txt > "$TMP/ns.metrics" 2> /dev/null
		grep -q 'netns=' "$TMP/plain.metrics" && detail "$capture.txt: a netns label without --metrics-netns"
		unlabel "$TMP/plain.metrics" > "$TMP/plain.sum"
		unlabel "$TMP/ns.metrics" > "$TMP/ns.sum"
		diff -u "$TMP/plain.sum" "$TMP/ns.sum" > "$TMP/diff" ||
			{ detail "$capture.txt: summed over netns, not the unlabelled metrics:"; cat "$TMP/diff" >> "$DETAILS"; }
	done
	expect_metric "$TMP/plain.metrics" 'tcptrace_histories_total{family="ipv4",end="active_close"}' 2
	expect_metric "$TMP/plain.metrics" 'tcptrace_histories_total{family="ipv6",end="refused"}' 1
	expect_metric "$TMP/plain.metrics" tcptrace_handshake_retransmissions_total 3
	result "metrics-netns: without it, one unlabelled set, the sum of the namespaces"

	# The guard: 300 namespaces, 1000 to 1299, one history each, then one
	# more of 1000 (labelled already) and of 1299 (past the 256th: other).
	head -n 1 netns.txt > "$TMP/many.txt"
	awk 'BEGIN {
		for (i = 0; i < 302; i++) {
			ns = i < 300 ? 1000 + i : i == 300 ? 1000 : 1299
			printf "done %d ipv4 10.0.0.1:%d 10.0.0.2:80 seq=%d t0=%d netns=%d end=refused path=CLOSE>SYN_SENT@0>CLOSE@1000\n", i + 1, 10000 + i, i + 1, 1000000 + i, ns
		}
	}' >> "$TMP/many.txt"
	"$TCPTRACE" --metrics --metrics-netns -r "$TMP/many.txt" > "$TMP/many.metrics" 2> "$TMP/err"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	check_exposition "$TMP/many.metrics"
	got=$(sed -n 's/^tcptrace_live_histories{netns="\([^"]*\)",family="ipv4"}.*/\1/p' "$TMP/many.metrics" | sort -u | wc -l)
	[ "$got" -eq 257 ] || detail "$got netns values, expected 256 inodes and other"
	expect_metric "$TMP/many.metrics" 'tcptrace_histories_total{netns="1000",family="ipv4",end="refused"}' 2
	expect_metric "$TMP/many.metrics" 'tcptrace_histories_total{netns="1255",family="ipv4",end="refused"}' 1
	expect_metric "$TMP/many.metrics" 'tcptrace_histories_total{netns="1256",family="ipv4",end="refused"}' missing
	expect_metric "$TMP/many.metrics" 'tcptrace_histories_total{netns="other",family="ipv4",end="refused"}' 45
	[ "$(sed -n 's/^tcptrace_live_histories{netns="\([^"]*\)".*/\1/p' "$TMP/many.metrics" | tail -n 1)" = other ] ||
		detail "netns=\"other\" is not last"
	result "metrics-netns: at most 256 namespaces, the others under netns=\"other\""

	if [ ! -x "$PROMTOOL" ]; then
		skip "metrics-netns: promtool check metrics" "promtool not found at $PROMTOOL (set TCPTRACE_PROMTOOL)"
	else
		"$TCPTRACE" --metrics --metrics-netns -r headeronly.txt > "$TMP/headeronly.ns.metrics" 2> /dev/null
		for file in "$TMP/netns.metrics" "$TMP/ns.metrics" "$TMP/many.metrics" "$TMP/headeronly.ns.metrics"; do
			"$PROMTOOL" check metrics < "$file" > "$TMP/promtool" 2>&1 ||
				detail "promtool check metrics failed on $(basename "$file")"
			[ -s "$TMP/promtool" ] && { detail "promtool on $(basename "$file"):"; cat "$TMP/promtool" >> "$DETAILS"; }
		done
		result "metrics-netns: promtool check metrics"
	fi

	"$TCPTRACE" --metrics --metrics-netns -r netns.txt > "$TMP/want"
	expect_run /dev/null /dev/null 0 "$TCPTRACE" --metrics --metrics-netns -r netns.txt \
		--metrics-file "$TMP/netns.prom"
	cmp -s "$TMP/want" "$TMP/netns.prom" || detail "--metrics-file differs from stdout"
	result "metrics-netns: with --metrics-file"

	cd - > /dev/null || return
}

# ---- --expect -------------------------------------------------------------

# expect_path WANT_STATUS RESULT SELECTED MATCHED EXPECTATION [OPTION...]:
# tcptrace -r expect.txt --expect EXPECTATION exits WANT_STATUS and says
# RESULT ("ok" or "not ok") with SELECTED sockets selected, MATCHED of them
# with the path. The outcomes are worked out by hand from expect.txt.
expect_path() {
	want_status=$1 want_result=$2 selected=$3 matched=$4 expectation=$5
	shift 5
	"$TCPTRACE" "$@" -r expect.txt --expect "$expectation" > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq "$want_status" ] || detail "exit status $status, expected $want_status"
	[ -s "$TMP/err" ] && detail "stderr: $(cat "$TMP/err")"
	printf '%s\n' "KTAP version 1" "1..1" "$want_result 1 - $expectation" \
		"# $selected selected, $matched with this path" > "$TMP/want"
	head -n 4 "$TMP/out" | diff -u "$TMP/want" - > "$TMP/diff" ||
		{ detail "stdout:"; cat "$TMP/diff" >> "$DETAILS"; }
	[ "$(wc -l < "$TMP/out")" -eq $((4 + selected)) ] ||
		detail "$(wc -l < "$TMP/out") lines, expected $((4 + selected)) (a record per selected socket)"
}

expect_tests() {
	cd "$DATA" || return
	fold='CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE'

	expect_run expect.ktap /dev/null 1 "$TCPTRACE" -r expect.txt \
		--expect "-D 80: $fold" \
		--expect '-6: 2 CLOSE>SYN_SENT>CLOSE end=refused' \
		--expect '-L 80 --comm=nginx: none CLOSE>LISTEN'
	result "expect: KTAP report, the selected sockets' records, exit 1 if one fails"

	expect_path 0 ok 3 2 "-D 80: $fold"
	result "expect: any (the default) holds with one socket of several"
	expect_path 0 ok 3 2 "-D 80: any $fold"
	result "expect: 'any' written out"
	expect_path 1 "not ok" 3 0 '-D 80: CLOSE>SYN_SENT>ESTABLISHED>CLOSE'
	result "expect: any fails when no socket has the path"
	expect_path 1 "not ok" 3 2 "-D 80: all $fold"
	result "expect: all fails when one selected socket has another path"
	expect_path 0 ok 2 2 "-D 80 --comm=curl --end=active_close: all $fold"
	result "expect: all holds when every selected socket has the path"
	expect_path 1 "not ok" 0 0 '-L 9999: all CLOSE>LISTEN'
	result "expect: all fails when nothing is selected"
	expect_path 0 ok 2 0 '-D 81: none CLOSE>SYN_SENT>ESTABLISHED'
	result "expect: none holds"
	expect_path 1 "not ok" 2 2 '-D 81: none CLOSE>SYN_SENT>CLOSE'
	result "expect: none fails"
	expect_path 0 ok 0 0 '-L 80 --end=refused: none CLOSE>SYN_SENT>CLOSE'
	result "expect: none holds with nothing selected"
	expect_path 0 ok 3 2 '-6: 2 CLOSE>SYN_SENT>CLOSE'
	result "expect: a number, exactly so many"
	expect_path 1 "not ok" 3 2 '-6: 3 CLOSE>SYN_SENT>CLOSE'
	result "expect: a number, fewer than that fails"
	expect_path 1 "not ok" 3 2 '-6: 1 CLOSE>SYN_SENT>CLOSE'
	result "expect: a number, more than that fails"
	expect_path 0 ok 3 0 '-6: 0 LISTEN'
	result "expect: 0, and a path of one state"

	expect_path 0 ok 3 2 "-D 80: 2 CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>TIME_WAIT>CLOSE"
	result "expect: folding applies to the expected path too"
	expect_path 0 ok 3 1 "-D 80: 1 exact $fold"
	result "expect: exact does not fold the shutdown-then-close repeats"
	expect_path 0 ok 3 1 "-D 80: 1 exact CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT1>FIN_WAIT2>FIN_WAIT2>TIME_WAIT>CLOSE"
	result "expect: exact matches the path verbatim"
	expect_path 0 ok 3 0 "-D 80: 0 exact CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE"
	result "expect: exact, one repeat of two is not the path"
	expect_path 0 ok 3 1 '-D 80: 1 CLOSE>SYN_SENT>ESTABLISHED/FIN_WAIT1>CLOSE'
	result "expect: a step after a gap, '/STATE'"
	expect_path 0 ok 3 0 '-D 80: 0 CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>CLOSE'
	result "expect: a gap is not the transition it missed"

	expect_path 0 ok 4 4 "-4 --comm=curl: all CLOSE>SYN_SENT>CLOSE|$fold|CLOSE>SYN_SENT>ESTABLISHED/FIN_WAIT1>CLOSE"
	result "expect: alternatives"
	expect_path 1 "not ok" 4 2 '-4 --comm=curl: all CLOSE>SYN_SENT>CLOSE | CLOSE>SYN_SENT>ESTABLISHED/FIN_WAIT1>CLOSE'
	result "expect: alternatives, spaces around '|'"

	expect_path 0 ok 8 2 '2 CLOSE>SYN_SENT>CLOSE end=refused'
	result "expect: end=, no filters: every socket"
	expect_path 0 ok 8 3 '3 CLOSE>SYN_SENT>CLOSE end=refused,connect_timeout'
	result "expect: end= with a list"
	expect_path 1 "not ok" 8 1 'none CLOSE>SYN_SENT>CLOSE end=connect_timeout'
	result "expect: end=, none fails"
	expect_path 0 ok 2 0 '-L 80: 0 CLOSE>LISTEN end=listener_closed'
	result "expect: end= never matches a live socket"

	expect_path 0 ok 2 1 '-L 80 --comm=nginx: LISTEN>NEW_SYN_RECV>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE end=passive_close'
	result "expect: filters -L and --comm"
	expect_path 0 ok 1 1 '-6 --comm=wget: all CLOSE>SYN_SENT>CLOSE'
	result "expect: filters -6 and --comm"
	expect_path 0 ok 2 2 '--addr ::1 -D81: all CLOSE>SYN_SENT>CLOSE'
	result "expect: filters with ':' in them (--addr ::1), -D81 attached"
	expect_path 0 ok 2 2 '--remote-port=81 --state SYN_SENT: all close>syn-sent>close'
	result "expect: long options with '=', ss(8) names, any case"
	expect_path 0 ok 1 1 '--comm=curl: all CLOSE>SYN_SENT>CLOSE' -6
	result "expect: the command line's selection applies too (AND)"

	"$TCPTRACE" -r expect.txt --expect 'CLOSE>LISTEN' --expect 'none CLOSE>LISTEN' > "$TMP/out" 2>&1
	[ $? -eq 1 ] || detail "exit status $?, expected 1"
	grep -qx 'ok 1 - CLOSE>LISTEN' "$TMP/out" && grep -qx 'not ok 2 - none CLOSE>LISTEN' "$TMP/out" ||
		detail "$(cat "$TMP/out")"
	result "expect: repeated, numbered in order"

	# Malformed lines: the report, but exit 1 although all hold.
	{ cat expect.txt; echo "done garbage"; } > "$TMP/bad.txt"
	"$TCPTRACE" -r "$TMP/bad.txt" --expect 'CLOSE>LISTEN' > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 1 ] || detail "exit status $status, expected 1"
	grep -qx 'ok 1 - CLOSE>LISTEN' "$TMP/out" || detail "stdout: $(cat "$TMP/out")"
	grep -q "^tcptrace: $TMP/bad.txt:13: " "$TMP/err" || detail "stderr: $(cat "$TMP/err")"
	result "expect: malformed lines make it exit 1"

	# 25 selected: the first 20 records, then how many more.
	{
		head -n 1 expect.txt
		awk 'BEGIN { for (i = 0; i < 25; i++)
			print "done " 6000 + i " ipv4 127.0.0.1:" 45000 + i " 127.0.0.1:9 seq=" i " t0=" i " end=refused path=CLOSE>SYN_SENT@0>CLOSE@50s" }'
	} > "$TMP/many.txt"
	{
		printf '%s\n' "KTAP version 1" "1..1" "ok 1 - all CLOSE>SYN_SENT>CLOSE end=refused" \
			"# 25 selected, 25 with this path"
		sed -n '2,21s/^/# /p' "$TMP/many.txt"
		echo "# ... and 5 more"
	} > "$TMP/want"
	expect_run "$TMP/want" /dev/null 0 "$TCPTRACE" -r "$TMP/many.txt" \
		--expect 'all CLOSE>SYN_SENT>CLOSE end=refused'
	result "expect: at most 20 records, then '# ... and K more'"

	# The culprits first, even past the 20th: records 22 and 24 of 25 are
	# reset, not refused, and fail "all"; for "none" they are the others.
	sed '23s/end=refused/end=reset_received/; 25s/end=refused/end=reset_received/' \
		"$TMP/many.txt" > "$TMP/culprits.txt"
	{
		printf '%s\n' "KTAP version 1" "1..2" "not ok 1 - all CLOSE>SYN_SENT>CLOSE end=refused" \
			"# 25 selected, 23 with this path"
		sed -n '23s/^/# /p; 25s/^/# /p' "$TMP/culprits.txt"
		sed -n '2,19s/^/# /p' "$TMP/culprits.txt"
		echo "# ... and 5 more"
		printf '%s\n' "not ok 2 - none CLOSE>SYN_SENT>CLOSE end=reset_received" \
			"# 25 selected, 2 with this path"
		sed -n '23s/^/# /p; 25s/^/# /p' "$TMP/culprits.txt"
		sed -n '2,19s/^/# /p' "$TMP/culprits.txt"
		echo "# ... and 5 more"
	} > "$TMP/want"
	expect_run "$TMP/want" /dev/null 1 "$TCPTRACE" -r "$TMP/culprits.txt" \
		--expect 'all CLOSE>SYN_SENT>CLOSE end=refused' \
		--expect 'none CLOSE>SYN_SENT>CLOSE end=reset_received'
	result "expect: the records that break an expectation come first"

	# The live device (tests/fakedev.c plays it): a snapshot.
	fake "$DATA/expect.txt" "$TCPTRACE" --expect '-D 81: 2 CLOSE>SYN_SENT>CLOSE' > "$TMP/out" 2> "$TMP/err"
	status=$?
	[ "$status" -eq 0 ] || detail "exit status $status: $(cat "$TMP/err")"
	grep -qx '# 2 selected, 2 with this path' "$TMP/out" || detail "stdout: $(cat "$TMP/out")"
	result "expect: a snapshot of the device"

	cd - > /dev/null || return
}

# expect_malformed "EXPECTATION => MESSAGE"...: --expect EXPECTATION exits
# 2 with "tcptrace: --expect: MESSAGE in 'EXPECTATION'", and nothing on
# stdout.
expect_malformed() {
	for bad in "$@"; do
		expectation=${bad%% => *} message=${bad#* => }
		expect_message 2 "tcptrace: --expect: $message in '$expectation'" \
			"$TCPTRACE" -r "$DATA/expect.txt" --expect "$expectation"
		result "expect usage: '$expectation'"
	done
}

expect_usage_tests() {
	expect_malformed "-L 80: CLOSE>ESTABLISHD => unknown state 'ESTABLISHD'" \
		"CLOSE/ESTABLISHD>CLOSE => unknown state 'ESTABLISHD'" \
		"CLOSE>SYN_SENT>CLOSE end=late => unknown end reason 'late'" \
		"CLOSE end=refused,,timeout => empty end reason in 'end=refused,,timeout'" \
		"CLOSE end= => empty end reason in 'end='" \
		"some CLOSE>LISTEN => bad quantifier 'some' (any, all, none or a number)" \
		"-1 CLOSE>LISTEN => bad quantifier '-1' (any, all, none or a number)" \
		"2x CLOSE>LISTEN => bad quantifier '2x' (any, all, none or a number)" \
		"exact all CLOSE>LISTEN => quantifier 'all' after 'exact' (the quantifier comes first)" \
		"--bogus: CLOSE>LISTEN => '--bogus' is not a selection option" \
		"-j: CLOSE>LISTEN => '-j' is not a selection option" \
		"--json: CLOSE>LISTEN => '--json' is not a selection option" \
		"-L: CLOSE>LISTEN => option '-L' needs a value" \
		"--ipv6=yes: CLOSE>LISTEN => option '--ipv6' takes no value" \
		"-L http: CLOSE>LISTEN => --local-port: bad port 'http' (0 to 65535, or FIRST-LAST)" \
		"--end=late: CLOSE>LISTEN => --end: unknown end reason 'late' (see tcptrace(1))" \
		"-6 curl: CLOSE>LISTEN => unexpected argument 'curl' (not a selection option)" \
		"-L 80 CLOSE>LISTEN => option '-L' after the path (FILTERS end with ':')" \
		" => empty path" \
		"-L 80: => empty path" \
		"all => empty path" \
		"2 exact end=refused => empty path" \
		"CLOSE>LISTEN| => empty path" \
		"CLOSE>>LISTEN => empty state in path 'CLOSE>>LISTEN'" \
		"CLOSE> => empty state in path 'CLOSE>'" \
		"CLOSE/LISTEN => bad step 'CLOSE/LISTEN' (a '/STATE' comes right before a '>')" \
		"CLOSE>LISTEN LISTEN => unexpected 'LISTEN' after the path" \
		"CLOSE end=refused end=timeout => unexpected 'end=timeout' after end=refused"
	expect_usage "--expect CLOSE --timeline:options '--expect' and '--timeline' cannot be combined" \
		"--summary --expect CLOSE:options '--summary' and '--expect' cannot be combined" \
		"--expect CLOSE --json:--json does not apply to --expect" \
		"--expect CLOSE -f:--follow does not apply to --expect"
}

# ---- fuzzing ------------------------------------------------------------

fuzz_tests() {
	"$FUZZ" 10000 "$DATA"/*.txt "$DATA"/lifecycle.json "$DATA"/follow.out.json \
		> "$TMP/fuzz" 2> "$TMP/fuzz_err"
	status=$?
	[ "$status" -eq 0 ] || detail "tests/fuzz exited with status $status"
	[ -s "$TMP/fuzz_err" ] && { detail "tests/fuzz wrote to stderr:"; cat "$TMP/fuzz_err" >> "$DETAILS"; }
	grep -q '^ok fuzz: ' "$TMP/fuzz" || detail "$(cat "$TMP/fuzz")"
	result "fuzz: malformed and truncated captures through every view"
}

# ---- the man page -----------------------------------------------------

man_tests() {
	if ! command -v groff > /dev/null; then
		skip "man page renders without warnings" "groff not installed"
	else
		LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MAN_PAGE" > "$TMP/out" 2>&1 ||
			detail "groff failed"
		if [ -s "$TMP/out" ]; then
			detail "groff -man -ww:"
			cat "$TMP/out" >> "$DETAILS"
		fi
		result "man page renders without warnings"
	fi

	# In the roff source a long option is written \-\-name.
	for option in $("$TCPTRACE" --help | grep -o -- '--[a-z-]*' | sort -u); do
		roff=$(printf '%s' "$option" | sed 's/-/\\-/g')
		grep -qF -- "$roff" "$MAN_PAGE" || detail "$option is not in tcptrace.1"
	done
	result "man page documents every option of --help"
}

# ---- valgrind ---------------------------------------------------------

# valgrind_run COMMAND...: run under valgrind; detail anything it reports.
valgrind_run() {
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=all --suppressions="$VALGRIND_SUPP" \
		"$@" > /dev/null 2> "$TMP/vg"
	if [ $? -eq 99 ]; then
		detail "valgrind: $*"
		cat "$TMP/vg" >> "$DETAILS"
	fi
}

# Total bytes allocated by COMMAND, from valgrind's heap summary.
heap_bytes() {
	valgrind "$@" 2>&1 > /dev/null |
		sed -n 's/.*total heap usage:.* frees, \([0-9,]*\) bytes allocated/\1/p' |
		tr -d ,
}

valgrind_tests() {
	why=
	if ! command -v valgrind > /dev/null; then
		why="valgrind not installed"
	elif nm "$TCPTRACE" 2> /dev/null | grep -q __asan_init; then
		why="built with AddressSanitizer"
	fi
	if [ -n "$why" ]; then
		skip "valgrind: the unit tests" "$why"
		skip "valgrind: tcptrace on every capture, every view" "$why"
		skip "valgrind: the fuzzer" "$why"
		skip "memory does not grow with the input" "$why"
		return
	fi

	for program in $TEST_PROGRAMS; do
		valgrind_run "$program"
	done
	result "valgrind: the unit tests"

	# Every capture through the default view; every view on those that
	# have something for each (the fuzzer below tries the rest).
	cd "$DATA" || return
	for capture in *.txt; do
		valgrind_run "$TCPTRACE" -r "$capture"
	done
	valgrind_run "$TCPTRACE" --stats -r lifecycle.txt
	for capture in lifecycle.txt malformed.txt reasons.txt handover.txt; do
		printf '%s\n' "$VIEWS" > "$TMP/views"
		while IFS=: read -r suffix options; do
			# shellcheck disable=SC2086 # options are words
			valgrind_run "$TCPTRACE" $options -r "$capture"
		done < "$TMP/views"
	done
	valgrind_run "$TCPTRACE" -n --ladder -r closes.txt
	valgrind_run "$TCPTRACE" --metrics --metrics-file "$TMP/vg.prom" -r lifecycle.txt
	valgrind_run "$TCPTRACE" --metrics --metrics-netns -r netns.txt
	[ -f "$TMP/many.txt" ] && valgrind_run "$TCPTRACE" --metrics --metrics-netns -r "$TMP/many.txt"
	valgrind_run "$TCPTRACE" --metrics --metrics-netns --metrics-file "$TMP/vg.prom" -r lifecycle.txt
	valgrind_run "$TCPTRACE" --color=always --end active_close -4 --addr 127.0.0.0/8 \
		--comm curl --min-lifetime 1ms -r lifecycle.txt
	valgrind_run "$TCPTRACE" -r expect.txt --expect '-D 80 --comm=curl: all exact CLOSE>SYN_SENT>CLOSE|CLOSE>SYN_SENT>ESTABLISHED/FIN_WAIT1>CLOSE end=refused,reset_received' \
		--expect '-L 80 --addr ::/0: none CLOSE>LISTEN' --expect '3 CLOSE>SYN_SENT>CLOSE'
	valgrind_run "$TCPTRACE" -r expect.txt --expect '-L 80: 2 CLOSE>ESTABLISHD'
	valgrind_run "$TCPTRACE" --color=always --rst-reason tcp_state,42 -r reasons.txt
	# Binary: the captures binary_tests made, whole, cut short, corrupt,
	# concatenated; and tcptrace -w itself, of the fake device.
	if [ -f "$TMP/lifecycle.bin" ]; then
		printf '%s\n' "$VIEWS" > "$TMP/views"
		while IFS=: read -r suffix options; do
			# shellcheck disable=SC2086 # options are words
			valgrind_run "$TCPTRACE" $options -r "$TMP/lifecycle.bin"
		done < "$TMP/views"
		for capture in cut.bin cuthdr.bin cutorigin.bin kind.bin state.bin swapped.bin \
			       small.bin ab.bin ab.mixed ba.mixed; do
			valgrind_run "$TCPTRACE" -r "$TMP/$capture"
			valgrind_run "$TCPTRACE" --stats -r "$TMP/$capture"
		done
		valgrind_run "$TCPTRACE" -r "$TMP/expect.bin" --expect '-D 80: all CLOSE>SYN_SENT>CLOSE'
		valgrind_run "$BINCAT" "$TMP/lifecycle.bin"
		fake lifecycle.txt valgrind_run "$TCPTRACE" -w "$TMP/vg.bin" -L 8080
		fake follow.script valgrind_run "$TCPTRACE" -f -w "$TMP/vg.bin"
		fake follow.script valgrind_run "$TCPTRACE" -f --summary
	fi
	for options in --ladder --json --stats "--stats --json" --summary --metrics; do
		# shellcheck disable=SC2086 # options are words
		valgrind_run "$TCPTRACE" $options -r origin-a.txt -r badorigin.txt \
			-r noorigin.txt -r no-such-file.txt -r origin-b.txt
	done
	# JSON: read back, malformed lines, a follower's losses.
	if [ -f "$TMP/fleet.json" ]; then
		for options in -n --ladder --json --summary --metrics "--expect CLOSE"; do
			# shellcheck disable=SC2086 # options are words
			valgrind_run "$TCPTRACE" $options -r "$TMP/fleet.json" -r "$TMP/bad.json" \
				-r "$TMP/follow.json" -r origin-a.txt
		done
		valgrind_run "$TCPTRACE" --stats -r "$TMP/fleet.json"
	fi
	cd - > /dev/null || return
	result "valgrind: tcptrace on every capture, every view"

	valgrind_run "$FUZZ" 100 "$DATA"/*.txt "$DATA"/lifecycle.json "$DATA"/follow.out.json
	result "valgrind: the fuzzer"

	# 1 record, then 5000: the heap use must be the same.
	head -n 2 "$DATA/basic.txt" > "$TMP/small.txt"
	{
		head -n 1 "$DATA/basic.txt"
		awk 'BEGIN { for (i = 0; i < 5000; i++)
			print "done " i " ipv4 127.0.0.1:" 30000 + i % 30000 " 127.0.0.1:8080 seq=" i " t0=" i * 1000 " path=CLOSE>SYN_SENT@0>ESTABLISHED@71312s>FIN_WAIT1@1113021>FIN_WAIT2@1160284s>CLOSE@1160301s" }'
	} > "$TMP/big.txt"
	for view in "" --json --timeline --summary; do
		# shellcheck disable=SC2086 # $view is words
		small=$(heap_bytes "$TCPTRACE" $view -r "$TMP/small.txt")
		# shellcheck disable=SC2086
		big=$(heap_bytes "$TCPTRACE" $view -r "$TMP/big.txt")
		[ -n "$small" ] && [ "$small" = "$big" ] ||
			detail "tcptrace $view: ${small:-?} bytes allocated for 1 record, ${big:-?} for 5000"
	done
	# The same in binary (the records with the fields binary ones have).
	if [ "$fakedev_works" = yes ]; then
		for size in small big; do
			sed 's/ path=/ netns=1 uid=0 end=active_close bytes_acked=0 bytes_received=0 retrans=0 srtt_us=0 path=/' \
				"$TMP/$size.txt" > "$TMP/$size.script"
			fake "$TMP/$size.script" "$TCPTRACE" -w "$TMP/$size.heap.bin"
		done
		for view in "" --summary; do
			# shellcheck disable=SC2086 # $view is words
			small=$(heap_bytes "$TCPTRACE" $view -r "$TMP/small.heap.bin")
			# shellcheck disable=SC2086
			big=$(heap_bytes "$TCPTRACE" $view -r "$TMP/big.heap.bin")
			[ -n "$small" ] && [ "$small" = "$big" ] ||
				detail "tcptrace $view, binary: ${small:-?} bytes allocated for 1 record, ${big:-?} for 5000"
		done
	fi
	result "memory does not grow with the input"
}

unit_tests
golden_tests
cli_tests
view_usage_tests
filter_tests
reasons_tests
color_tests
handover_tests
services_tests
ladder_limit_test
origin_tests
follow_usage_tests
follow_tests
binary_usage_tests
binary_tests
json_tests
record_tests
metrics_tests
metrics_netns_tests
expect_tests
expect_usage_tests
fuzz_tests
man_tests
valgrind_tests

echo "TAP version 13"
echo "1..$count"
cat "$RESULTS"
[ "$failures" -eq 0 ]
