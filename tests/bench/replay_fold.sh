#!/bin/bash
# tests/bench/replay_fold.sh: `ofs-replay fold` events per second (issue:
# at least 1M/s on 1M events) beside jq folding the same stream with
# `reduce inputs`, in the same run; outputs are compared first (states
# and versions), so a fast wrong answer cannot win. Printed: wall time,
# events/s and peak RSS of each, and the ratio. Timings are never
# asserted. BENCH_EVENTS sets the stream length (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_EVENTS:-1000000}
bin=${OFS_BIN:-bin}
replay=$bin/ofs-replay
[ -x "$replay" ] || { echo "bench: '$replay' not found: run make bench" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }
fix=tests/fixtures/replay/events

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-fold.XXXXXX")
trap 'rm -rf "$work"' EXIT
awk -v n="$n" -f "$fix/gen.awk" >"$work/ev.jsonl"

ours="'$replay' fold --key /order_id --reducer $fix/reducer.json '$work/ev.jsonl'"
peer="jq -n -c -f $fix/reference.jq '$work/ev.jsonl'"
same_output "$ours | jq -c '{key, state, version}'" "$peer"

read -r ow ocpu orss <<<"$(measure "$ours")"
read -r pw pcpu prss <<<"$(measure "$peer" 1)"
awk -v n="$n" -v ow="$ow" -v pw="$pw" -v ocpu="$ocpu" -v pcpu="$pcpu" -v orss="$orss" \
	-v prss="$prss" -v oc="$ours" -v pc="$peer" 'BEGIN {
	printf "fold: %d events (%s)\n", n, "every operation, 40 aggregates"
	printf "  ofs   %8.3f s  cpu %6.2f s  %10.0f events/s  rss %s kB   %s\n", ow, ocpu, n / ow, orss, oc
	printf "  peer  %8.3f s  cpu %6.2f s  %10.0f events/s  rss %s kB   %s\n", pw, pcpu, n / pw, prss, pc
	printf "  ratio (peer / ofs) %.2fx\n", pw / ow
}'
