#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh: run every tcptrace selftest on the running kernel, print KTAP
# in the form of kselftest's runner, and exit non-zero if any failed: what
# `make -C selftests run_tests` runs, hence its name. It boots nothing
# (scripts/vm-run does); `make check` runs it inside a VM for each kernel
# of the matrix:
#
#   make -C selftests        # on the host: tcptrace_test does not depend
#                            # on the kernel version
#   scripts/vm-run KVER -- env TCPTRACE_KO=build/KVER/module/tcptrace.ko \
#       TCPTRACE_READER=userspace/tcptrace selftests/run_tests.sh
#
# Needs root.
#
# Environment:
#   TCPTRACE_KO      the module built for the running kernel (required for
#                    the module test; the C test falls back to modprobe)
#   TCPTRACE_READER  the userspace reader (default: ../userspace/tcptrace,
#                    if built); its round-trip test is skipped without it
#   TCPTRACE_TESTS   only these tests of tcptrace_test (tcptrace_main.h)
#   TCPTRACE_KSFT    the kernel's own TCP selftests, built by
#                    make -C selftests kselftests (build/kselftests), that
#                    tcptrace_kselftests.sh runs under tcptrace record; it
#                    skips without them
#   TCPTRACE_PROMTOOL  Prometheus's promtool, for tcptrace_views.sh's live
#                    metrics (skipped without it)
#   TCPTRACE_TIMEOUT_SCALE
#                    multiply ./settings' timeout by this (a debug kernel
#                    is slower: scripts/check --debug)
#
# The test programs: tcptrace_test with kprobes=0, then with kprobes=1,
# then tcptrace_module.sh, then every other tcptrace_*.sh here (the
# Makefile's TEST_PROGS is the same wildcard). Each runs with the timeout
# of ./settings. A test that makes the kernel log an oops, BUG, WARNING,
# ... fails even if it passed itself, and so does one that leaves the
# module loaded and in use. Each one's run time follows its output.
#
# Exit status: 0 every test passed or skipped, 1 otherwise.

set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
readonly here
# The tests' own library: KTAP (ktap.sh), the kernel log (kmsg_records),
# and what fails a test whatever its own verdict (KERNEL_COMPLAINT).
# shellcheck source=lib.sh
. "$here/lib.sh"
readonly COLLECTION=tcptrace

timeout_s=45
if [ -r "$here/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$here/settings")
	[ -n "$t" ] && timeout_s=$t
fi
timeout_s=$((timeout_s * ${TCPTRACE_TIMEOUT_SCALE:-1}))

# The tests run from their own directory: make the paths absolute.
if [ -n "${TCPTRACE_KO:-}" ]; then
	if ! TCPTRACE_KO=$(realpath -e -- "$TCPTRACE_KO" 2>/dev/null); then
		ktap_header
		ktap_bail "no module at TCPTRACE_KO=${TCPTRACE_KO}"
	fi
fi
if [ -z "${TCPTRACE_READER:-}" ] && [ -x "$here/../userspace/tcptrace" ]; then
	TCPTRACE_READER=$here/../userspace/tcptrace
fi
[ -n "${TCPTRACE_READER:-}" ] && TCPTRACE_READER=$(realpath -- "$TCPTRACE_READER")
[ -n "${TCPTRACE_KSFT:-}" ] && TCPTRACE_KSFT=$(realpath -- "$TCPTRACE_KSFT")
[ -n "${TCPTRACE_PROMTOOL:-}" ] && TCPTRACE_PROMTOOL=$(realpath -- "$TCPTRACE_PROMTOOL")
export TCPTRACE_KO TCPTRACE_READER TCPTRACE_KSFT TCPTRACE_PROMTOOL

# Unload the module a test program left loaded, so that the next one
# starts clean; 1 if it stays in use (a process of the test still holds
# the device). A module loaded before we started is left alone.
preloaded=0
[ -d "$SYSMOD" ] && preloaded=1
module_release() {
	local i

	[ "$preloaded" = 1 ] && return 0
	for ((i = 0; i < 10; i++)); do
		[ -d "$SYSMOD" ] || return 0
		rmmod tcptrace 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

# run_one NAME COMMAND...: one KTAP line for a whole test program.
run_one() {
	local name=$1 hdr seq rc bad held=
	shift
	hdr="selftests: $COLLECTION: $name"
	echo "# $hdr"
	seq=$(kmsg_seq)
	SECONDS=0
	(cd "$here" && timeout --kill-after=10 "$timeout_s" "$@" 2>&1) | sed -u 's/^/# /'
	rc=${PIPESTATUS[0]}
	echo "# $name: ${SECONDS}s"
	module_release || held=1
	bad=$(kmsg_since "${seq:--1}" | grep -E "$KERNEL_COMPLAINT")
	if [ -n "$held" ]; then
		ktap_fail "$hdr" "left tcptrace loaded and in use"
	elif [ -n "$bad" ]; then
		printf '# kernel log during %s (test exit status %s):\n' "$name" "$rc"
		printf '%s\n' "$bad" | sed 's/^/#   /'
		ktap_fail "$hdr" "kernel warning$([ "$rc" = 124 ] && echo ", TIMEOUT $timeout_s seconds")"
	elif [ "$rc" = 124 ]; then
		ktap_fail "$hdr" "TIMEOUT $timeout_s seconds"
	elif [ "$rc" = 0 ] || [ "$rc" = "$ksft_skip" ]; then
		ktap_exit_status "$rc" "$hdr"
	else
		ktap_fail "$hdr" "exit=$rc"
	fi
}

# wait_timewait_gone: wait until this netns holds no TIME_WAIT socket, at
# most the minute one lives. The C test counts done histories exactly: a
# TIME_WAIT socket older than the module (another program's graceful
# close) is seeded at load, and its history completes when it expires, in
# the middle of some test.
wait_timewait_gone() {
	local i

	for ((i = 0; i < 65; i++)); do
		cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			awk '$4 == "06" { found = 1 } END { exit !found }' || return 0
		[ "$i" = 0 ] && echo "# TIME_WAIT sockets in this netns: waiting for them to expire"
		sleep 1
	done
	echo "# TIME_WAIT sockets still here after 65 s; going on"
}

# run_c_test [PARAM=VALUE...]: the C test with the module loaded with these
# parameters, unloaded after. A ring of 64 lets device.follow_overrun
# overrun it in a few dozen connects (it skips with the default 8192); no
# other test keeps more than a handful of histories.
run_c_test() {
	local loaded_here=0 rc

	wait_timewait_gone
	if [ ! -c /dev/tcptrace ] && [ -n "${TCPTRACE_KO:-}" ]; then
		insmod "$TCPTRACE_KO" ring_size=64 "$@" ||
			{ echo "insmod $TCPTRACE_KO ring_size=64 $* failed"; return 1; }
		loaded_here=1
	fi
	./tcptrace_test
	rc=$?
	if [ $loaded_here = 1 ] && ! rmmod tcptrace; then
		echo "rmmod tcptrace failed after the test"
		rc=1
	fi
	return $rc
}

# Every test program: tcptrace_test twice, then tcptrace_module.sh, then
# every other tcptrace_*.sh, as the Makefile's TEST_PROGS.
scripts=()
[ -e "$here/tcptrace_module.sh" ] && scripts+=(tcptrace_module.sh)
for f in "$here"/tcptrace_*.sh; do
	f=${f##*/}
	[ -e "$here/$f" ] && [ "$f" != tcptrace_module.sh ] && scripts+=("$f")
done

# Then the other C programs (the Makefile's TEST_GEN_PROGS but
# tcptrace_test), after the scripts; each loads the module as it needs.
# Not tcptrace_failnth: it makes the kernel log allocation failures, so
# scripts/check --debug runs it in a VM of its own.
c_progs=(tcptrace_fuzz tcptrace_readers tcptrace_binary)

ktap_header
ktap_plan $((2 + ${#scripts[@]} + ${#c_progs[@]}))
if [ "$(id -u)" != 0 ]; then
	echo "# not root: the tests will skip"
fi
# The C test first, with the tracepoint alone and then with the kprobes
# (the default): the expected paths differ, the test reads which from the
# header. The module test loads, unloads and stresses the module with odd
# parameters, the likeliest to take the kernel down; the others load the
# module as they need it.
for params in kprobes=0 kprobes=1; do
	if [ -x "$here/tcptrace_test" ]; then
		export -f run_c_test wait_timewait_gone
		run_one "tcptrace_test $params" bash -c "run_c_test $params"
	else
		echo "# tcptrace_test is not built: make -C $here"
		ktap_fail "selftests: $COLLECTION: tcptrace_test $params" "not built"
	fi
done
for f in "${scripts[@]}"; do
	run_one "$f" "./$f"
done
for f in "${c_progs[@]}"; do
	if [ -x "$here/$f" ]; then
		run_one "$f" "./$f"
	else
		ktap_fail "selftests: $COLLECTION: $f" "not built"
	fi
done
ktap_totals
[ "$nfail" = 0 ]
