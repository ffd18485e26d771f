#!/bin/bash
# tests/bench/split_send.sh: `ofs-split send` in shadow mode against the
# example shop on loopback, in compared requests per second (goal: at
# least 5,000/s), beside a peer making the same requests without
# comparing anything: `curl --parallel` (one process, libcurl multi) over
# the same URLs on both sides, at the same total concurrency.
#
# The primary is the shop's inventory (v1), the candidate a standalone v2
# instance; the input is BENCH_REQUESTS (default 20000) requests for GET
# /catalog/book, whose answers differ in price_cents, currency and
# served_at, so every comparison walks the bodies field by field and
# writes its differences. send's answer is checked first (every request
# compared, every one mismatched, no error), then both sides are timed
# (best wall time of BENCH_RUNS, lib.sh). Timings are printed, never
# asserted. The shop and the temporary directory are removed however the
# script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_REQUESTS:-20000}
conc=${BENCH_CONCURRENCY:-16}
bin=${OFS_BIN:-bin}
for f in "$bin/ofs-split" "$bin/shopd"; do
	[ -x "$f" ] || { echo "bench: '$f' not found: run make bench" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-split-send.XXXXXX")
v2pid=""
cleanup() {
	[ -n "$v2pid" ] && kill "$v2pid" 2>/dev/null
	"$bin/shopd" stop --dir "$work/shop" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin/shopd" start --dir "$work/shop" --topology examples/shop/topology.json inventory >/dev/null
primary=$("$bin/shopd" url --dir "$work/shop" inventory)
# A free port below the ephemeral range for the candidate.
while :; do
	port=$((10000 + RANDOM % 21000))
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
"$bin/shopd" serve --dir "$work/shop" --service inventory --port "$port" --version v2 \
	>"$work/v2.log" 2>&1 &
v2pid=$!
candidate=http://127.0.0.1:$port
for ((i = 0; i < 100; i++)); do
	curl -sf -o /dev/null "$candidate/health" && break
	sleep 0.1
done

awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"id\":\"r%d\",\"method\":\"GET\",\"path\":\"/catalog/book\",\"headers\":{\"accept\":\"application/json\"}}\n", i }' \
	>"$work/requests.jsonl"
awk -v n="$n" -v p="$primary/catalog/book" -v c="$candidate/catalog/book" 'BEGIN {
	for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = \"/dev/null\"\nurl = \"%s\"\noutput = \"/dev/null\"\n", p, c }' \
	>"$work/curl.cfg"

ours="$bin/ofs-split send --concurrency $conc --primary $primary --candidate $candidate $work/requests.jsonl"
peer="curl -s --parallel --parallel-max $((2 * conc)) -H 'accept: application/json' -K $work/curl.cfg"

# Right answers first: every request compared, every one with the planted difference.
got=$(sh -c "$ours" | jq -r 'select(.type == "split.summary") | "\(.compared) \(.mismatched) \(.errors) \(.skipped)"' || true)
[ "$got" = "$n $n 0 0" ] || { echo "bench: send did not compare every request: $got" >&2; exit 1; }

to=$(best_time "$ours || [ \$? = 1 ]")
tp=$(best_time "$peer")
awk -v n="$n" -v o="$to" -v p="$tp" -v oc="$ours" -v pc="$peer" -v c="$conc" 'BEGIN {
	printf "split send: %d GET /catalog/book shadowed to v2 and compared, concurrency %d per side\n", n, c
	printf "  ofs   %9.3f s  %9.0f compared/s (%.0f requests/s)   %s\n", o / 1e6, n / (o / 1e6), 2 * n / (o / 1e6), oc
	printf "  peer  %9.3f s  %9.0f pairs/s    (%.0f requests/s)   %s\n", p / 1e6, n / (p / 1e6), 2 * n / (p / 1e6), pc
	printf "  ratio (peer / ofs) %.2fx\n", (o > 0 ? p / o : 0)
}'
