#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The views' benchmark, "make bench-views": tcptrace through a synthetic
# capture of N histories (bench-views/gen-capture), in each view, with the
# histories per second and the peak RSS of each run (bench-views/measure).
#
# The streaming views (the table, JSON, the timeline, the summary and the
# graph) run on N and on N/10 histories: their peak RSS must be the same
# within RSS_SLACK KiB, or the benchmark fails. --ladder holds what it
# pairs, so it runs on its limit, 100000 histories, alone. Last, the
# summary of the same N histories read back from their JSON (--json), and
# in a binary capture (tcptrace -w).
#
# Usage: bench-views/run.sh [N]   (default 1000000)

set -u

cd "$(dirname "$0")/.." || exit 1
N=${1:-1000000}
SMALL=$((N / 10))
LADDER=100000
RSS_SLACK=256

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

bench-views/gen-capture "$N" > "$TMP/big.txt" || exit 1
bench-views/gen-capture "$SMALL" > "$TMP/small.txt" || exit 1
bench-views/gen-capture "$LADDER" > "$TMP/ladder.txt" || exit 1
echo "# tcptrace $(./tcptrace -V | sed 's/^tcptrace //'), $N histories, $(($(wc -c < "$TMP/big.txt") / 1048576)) MiB"

failed=0

# rss LINE: the peak RSS in KiB of a line of bench-views/measure.
rss() {
	printf '%s\n' "$1" | sed 's/.*peak RSS *\([0-9]*\) KiB.*/\1/'
}

for view in "table:-n" "json:--json" "summary:--summary" "timeline:-n --timeline" "graph:--graph"; do
	name=${view%%:*} options=${view#*:}
	# shellcheck disable=SC2086 # options are words
	big=$(bench-views/measure "$name" "$N" ./tcptrace $options -r "$TMP/big.txt") ||
		{ echo "$name: tcptrace failed"; failed=1; continue; }
	# shellcheck disable=SC2086
	small=$(bench-views/measure "$name" "$SMALL" ./tcptrace $options -r "$TMP/small.txt") ||
		{ echo "$name: tcptrace failed"; failed=1; continue; }
	echo "$big"
	if [ "$(rss "$big")" -gt $(($(rss "$small") + RSS_SLACK)) ]; then
		echo "# FAIL $name: peak RSS $(rss "$big") KiB for $N histories, $(rss "$small") KiB for $SMALL"
		failed=1
	else
		echo "#   $SMALL histories: peak RSS $(rss "$small") KiB (the same within $RSS_SLACK KiB)"
	fi
done

bench-views/measure ladder "$LADDER" ./tcptrace -n --ladder -r "$TMP/ladder.txt" || failed=1

# The summary of the same histories read back from their JSON (--json).
if ./tcptrace --json -r "$TMP/big.txt" > "$TMP/big.json"; then
	bench-views/measure summary-json "$N" ./tcptrace --summary -r "$TMP/big.json" || failed=1
else
	echo "summary-json: tcptrace --json failed"
	failed=1
fi
rm -f "$TMP/big.json"

# The summary of a binary capture of the same histories: tcptrace -w of
# the fake device of the tests, which gives the capture's lines in binary.
if TT_FAKEDEV="$TMP/big.txt" LD_PRELOAD=$PWD/tests/fakedev.so ./tcptrace -w "$TMP/big.bin"; then
	rm -f "$TMP/big.txt"
	bench-views/measure summary-binary "$N" ./tcptrace --summary -r "$TMP/big.bin" || failed=1
else
	echo "summary-binary: tcptrace -w failed"
	failed=1
fi
exit "$failed"
