#!/bin/bash
# tests/bench/health.sh: one `ofs-health check` round over N HTTP
# instances on loopback (BENCH_INSTANCES, default 1000) beside the same
# requests made by a sequential curl loop and by `xargs -P 50 curl`
# (issue 3: under 1 s wall, at least 20x faster than the curl loop,
# under 100 MB peak RSS). The instances are served by one process,
# build/tests/bench/bench_listeners. Each side's answers are counted
# first, so a fast wrong answer cannot win; then each is timed (best
# wall time of BENCH_RUNS) with its CPU time and peak RSS, in the format
# of lib.sh. Timings are printed, never asserted. The server and the
# temporary directory are removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_INSTANCES:-1000}
bin=${OFS_BIN:-bin}
build=${OFS_BUILD:-build}
health=$bin/ofs-health
listeners=$build/tests/bench/bench_listeners
for f in "$health" "$listeners"; do
	[ -x "$f" ] || { echo "bench: '$f' not found: run make bench" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-health.XXXXXX")
server=""
cleanup() {
	if [ -n "$server" ]; then
		kill -TERM "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$listeners" "$n" >"$work/ports" 2>"$work/listeners.log" &
server=$!
for ((i = 0; i < 100; i++)); do
	[ "$(tail -n 1 "$work/ports" 2>/dev/null)" = ready ] && break
	kill -0 "$server" 2>/dev/null || { cat "$work/listeners.log" >&2; exit 1; }
	sleep 0.1
done
[ "$(tail -n 1 "$work/ports")" = ready ] || { echo "bench: the listeners did not start" >&2; exit 1; }
grep -x '[0-9]*' "$work/ports" >"$work/port-list"

# The same N targets three ways: a topology, and URLs for curl.
awk 'BEGIN { printf "{\"name\": \"bench\", \"services\": {\"fixture\": {\"instances\": [" }
	{ printf "%s{\"id\": \"fixture-%d\", \"host\": \"127.0.0.1\", \"port\": %d}", (NR > 1 ? ", " : ""), NR, $1 }
	END { printf "], \"check\": {\"kind\": \"http\", \"path\": \"/health\", \"timeout\": \"5s\"}}}}\n" }' \
	"$work/port-list" >"$work/topology.json"
sed 's|.*|http://127.0.0.1:&/health|' "$work/port-list" >"$work/urls"

ours="$health check -f $work/topology.json"
loop="while read -r u; do curl -s -o /dev/null -w '%{http_code}\\n' \"\$u\"; done <$work/urls"
par="xargs -P 50 -n 1 curl -s -o /dev/null -w '%{http_code}\\n' <$work/urls"

# Right answers first: every instance answered 200, by every side.
got=$(sh -c "$ours" | jq -r 'select(.type == "health.check" and .status == "ok") | .instance' | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: ofs-health found $got of $n instances ok" >&2; exit 1; }
for peer in "$loop" "$par"; do
	got=$(sh -c "$peer" | grep -cx 200 || true)
	[ "$got" -eq "$n" ] || { echo "bench: only $got of $n answered 200 to: $peer" >&2; exit 1; }
done


read -r ow oc om <<<"$(measure "$ours" "$BENCH_RUNS")"
read -r lw lc lm <<<"$(measure "$loop" "$BENCH_RUNS")"
read -r pw pc pm <<<"$(measure "$par" "$BENCH_RUNS")"

awk -v n="$n" -v ow="$ow" -v oc="$oc" -v om="$om" -v lw="$lw" -v lc="$lc" -v lm="$lm" \
	-v pw="$pw" -v pc="$pc" -v pm="$pm" -v runs="$BENCH_RUNS" 'function mb(k) { return k == "-" ? "      -" : sprintf("%7.1f", k / 1024) }
	function side(who, w, c, m, what) {
		printf "  %-5s %9.3f s   cpu %8.3f s   rss %s MB   %s\n", who, w, c, mb(m), what }
	BEGIN {
		printf "ofs-health: one check round over %d HTTP instances on loopback (best of %d)\n", n, runs
		side("ofs", ow, oc, om, "ofs-health check -f topology.json")
		side("peer", lw, lc, lm, "sequential curl loop")
		printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? lw / ow : 0)
		side("peer", pw, pc, pm, "xargs -P 50 curl")
		printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? pw / ow : 0)
		printf "  goals: wall < 1 s %s; >= 20x the curl loop %s; rss < 100 MB %s\n",
			(ow < 1 ? "met" : "NOT met"), (ow > 0 && lw / ow >= 20 ? "met" : "NOT met"),
			(om == "-" ? "not measured" : (om / 1024 < 100 ? "met" : "NOT met"))
	}'
