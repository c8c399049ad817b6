# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# kernel_complaint.sh: what in the kernel log means the kernel complained,
# defined once for every runner; sourced, not run. A log line that matches
# one of these extended regular expressions fails the test or the command
# it was logged under:
#
#   lib.sh's kernel_quiet        the shell tests' own check
#   run_tests.sh                 each test program it runs
#   scripts/vm-run               the whole command it runs in a VM
#   tcptrace_helpers.h           the C tests' kmsg_complaint(), which adds
#                                the module's own lines ("tcptrace")
#
# The C tests get the list at build time: the Makefile reads the lines
# between "kernel_complaints=(" and ")" below, each one expression in
# single quotes, and passes them joined with '|' as
# -DKERNEL_COMPLAINT="...". Keep one expression a line, in single quotes,
# with no quote or backslash in it.

# Lockdep's reports start "WARNING:" or "BUG:", all but the non-static key.
kernel_complaints=(
'Oops'
'BUG:'
'WARNING:'
'Call Trace'
'KASAN'
'UBSAN'
'sleeping function called from invalid context'
'kmemleak'
'general protection fault'
'watchdog: BUG'
'INFO: task .* blocked'
'RCU stall'
'rcu: INFO'
'INFO: trying to register non-static key'
)

# The expressions as one, for grep -E.
printf -v KERNEL_COMPLAINT '%s|' "${kernel_complaints[@]}"
KERNEL_COMPLAINT=${KERNEL_COMPLAINT%|}

# kernel_complaint_pattern [--expect-alloc-failures]: KERNEL_COMPLAINT, or
# what is still a complaint while a command makes the kernel fail
# allocations on purpose (scripts/vm-run --expect-alloc-failures):
# warn_alloc() logs a failed allocation with a stack dump and no other
# line of the list, while a WARN, BUG or KASAN report has a header line of
# its own, so "Call Trace" goes; kmemleak notes its own failed
# allocations ("Cannot allocate a scan area"), so only its leak reports,
# and its giving up, still count.
kernel_complaint_pattern()
{
	local p=("${kernel_complaints[@]}") i joined

	if [ "${1:-}" = --expect-alloc-failures ]; then
		for i in "${!p[@]}"; do
			case ${p[i]} in
			'Call Trace')	unset 'p[i]' ;;
			kmemleak)	p[i]='kmemleak: [0-9]+ new suspected|leak detector disabled' ;;
			esac
		done
	fi
	printf -v joined '%s|' "${p[@]}"
	printf '%s\n' "${joined%|}"
}
