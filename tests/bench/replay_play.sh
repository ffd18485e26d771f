#!/bin/bash
# tests/bench/replay_play.sh: `ofs-replay play` with comparison against
# the example shop, in requests per second (issue 9: at least 5,000/s on
# loopback), beside a peer making the same requests without comparing:
# `curl --parallel` (one process, libcurl multi, the same concurrency)
# over the same URLs; wrk's figure for the same endpoint is printed too,
# as the ceiling the shop's single-threaded instance allows.
#
# The input is BENCH_REQUESTS (default 20000) exchanges of GET /health
# recorded from the instance, so every replay matches: play's answer is
# checked first (all matched), then both sides are timed (best wall time
# of BENCH_RUNS, lib.sh). Timings are printed, never asserted. The shop
# and the temporary directory are removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_REQUESTS:-20000}
conc=${BENCH_CONCURRENCY:-16}
bin=${OFS_BIN:-bin}
for f in "$bin/ofs-replay" "$bin/shopd"; do
	[ -x "$f" ] || { echo "bench: '$f' not found: run make bench" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-replay-play.XXXXXX")
cleanup() {
	"$bin/shopd" stop --dir "$work/shop" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin/shopd" start --dir "$work/shop" --topology examples/shop/topology.json inventory >/dev/null
url=$("$bin/shopd" url --dir "$work/shop" inventory)

body=$(curl -s "$url/health")
jq -cn --arg b "$body" '{type: "replay.exchange", ts: "2026-11-22T02:31:00.000000Z",
	id: "h", source: "record",
	request: {method: "GET", path: "/health", headers: {accept: "application/json"}},
	response: {status: 200, headers: {"content-type": "application/json"}, body: $b}}' >"$work/one"
awk -v n="$n" '{ for (i = 0; i < n; i++) print }' "$work/one" >"$work/exchanges.jsonl"
awk -v n="$n" -v u="$url/health" 'BEGIN { for (i = 0; i < n; i++)
	printf "url = \"%s\"\noutput = \"/dev/null\"\n", u }' >"$work/curl.cfg"

ours="$bin/ofs-replay play --concurrency $conc --target $url $work/exchanges.jsonl"
peer="curl -s --parallel --parallel-max $conc -H 'accept: application/json' -K $work/curl.cfg"

# Right answers first: every replayed answer matched the recording.
got=$(sh -c "$ours" | jq -r 'select(.type == "replay.summary") | "\(.matched) \(.mismatched) \(.errors)"')
[ "$got" = "$n 0 0" ] || { echo "bench: play did not match every exchange: $got" >&2; exit 1; }

to=$(best_time "$ours")
tp=$(best_time "$peer")
awk -v n="$n" -v o="$to" -v p="$tp" -v oc="$ours" -v pc="$peer" 'BEGIN {
	printf "replay play: %d GET /health exchanges with comparison, concurrency '"$conc"'\n", n
	printf "  ofs   %9.3f s  %9.0f req/s   %s\n", o / 1e6, n / (o / 1e6), oc
	printf "  peer  %9.3f s  %9.0f req/s   %s\n", p / 1e6, n / (p / 1e6), pc
	printf "  ratio (peer / ofs) %.2fx\n", (o > 0 ? p / o : 0)
}'
if command -v wrk >/dev/null; then
	rps=$(wrk -t1 -c"$conc" -d2s "$url/health" | awk '/Requests\/sec/ { print $2 }')
	echo "  wrk (no comparison, the server's ceiling) $rps req/s"
fi
