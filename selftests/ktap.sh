# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the callers
#
# ktap.sh: the KTAP lines of every tcptrace runner, sourced, not run: the
# shell tests (through lib.sh), run_tests.sh, and scripts/check,
# check-in-tree, check-setup and install-check. test_num, nfail and nskip
# count the result lines printed so far; the exit statuses are
# kselftest's.

readonly ksft_pass=0 ksft_fail=1 ksft_skip=4

test_num=0
nfail=0
nskip=0

ktap_header() { echo "TAP version 13"; }
ktap_plan() { echo "1..$1"; }

# ktap_pass NAME; ktap_fail NAME [REASON]; ktap_skip NAME [REASON]: the
# next result line, "ok", "not ok ... # REASON" or "ok ... # SKIP REASON".
ktap_pass() {
	test_num=$((test_num + 1))
	echo "ok $test_num $1"
}
ktap_fail() {
	test_num=$((test_num + 1))
	nfail=$((nfail + 1))
	echo "not ok $test_num $1${2:+ # $2}"
}
ktap_skip() {
	test_num=$((test_num + 1))
	nskip=$((nskip + 1))
	echo "ok $test_num $1 # SKIP${2:+ $2}"
}

# result STATUS NAME: the line of a check that already ran: status 0
# passes, any other fails.
result() {
	if [ "$1" = 0 ]; then
		ktap_pass "$2"
	else
		ktap_fail "$2"
	fi
}

# ktap_exit_status STATUS NAME: the line of a test that exited with
# STATUS: $ksft_pass passes, $ksft_skip skips, any other fails.
ktap_exit_status() {
	case $1 in
	"$ksft_pass") ktap_pass "$2" ;;
	"$ksft_skip") ktap_skip "$2" ;;
	*) ktap_fail "$2" ;;
	esac
}

# run_test NAME FUNCTION [ARGS...]: run it, and its line.
run_test() {
	local name=$1
	shift
	"$@"
	ktap_exit_status $? "$name"
}

# The totals line of kselftest's runner.
ktap_totals() {
	echo "# Totals: pass:$((test_num - nfail - nskip)) fail:$nfail xfail:0 xpass:0 skip:$nskip error:0"
}

# ktap_finish: the totals line, and exit: $ksft_fail if a test failed.
ktap_finish() {
	ktap_totals
	[ "$nfail" = 0 ] || exit $ksft_fail
	exit $ksft_pass
}

# skip_all REASON: a program that cannot run at all skips, before its plan.
skip_all() {
	ktap_header
	echo "1..0 # SKIP $*"
	exit $ksft_skip
}

# ktap_bail REASON: a program that cannot go on stops.
ktap_bail() {
	echo "Bail out! $*"
	exit $ksft_fail
}
