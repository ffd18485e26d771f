#!/bin/bash
# tests/bench/scale.sh: `ofs-scale decide` over 1M metric samples of
# 10,000 services (issue: under 2 s on one core), beside jq doing the
# arithmetic core of the same decisions on the same file: per service
# and 15 s period the last value of each metric, the ratio to its target
# and ceil(ratio x replicas), the max over the metrics. jq applies no
# tolerance, behaviour, window or clamp; ofs-scale applies all of them
# and explains each, so the peer does strictly less. The samples:
# BENCH_SERVICES services (default 10000) x 2 metrics (cpu against a 50 %
# target, rps against 100 a pod) x 5 samples a period x 10 periods =
# 1,000,000 lines in time order, as a collector would write them. Both
# sides are first checked to write one line per service and period, so
# a fast wrong answer cannot win. Printed: best wall time of BENCH_RUNS,
# CPU seconds and peak RSS of each, and the ratio. Timings are never
# asserted. The temporary directory is removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

services=${BENCH_SERVICES:-10000}
bin=${OFS_BIN:-bin}
scale=$bin/ofs-scale
[ -x "$scale" ] || { echo "bench: '$scale' not found: run make bench" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$work/policy.json" <<'JSON'
{"service": "*", "minReplicas": 1, "maxReplicas": 50,
 "metrics": [{"name": "cpu", "target": {"averageUtilization": 50}},
             {"name": "rps", "target": {"averageValue": 100}}]}
JSON

# 10 periods of 15 s, a sample of each metric every 3 s per service
awk -v n="$services" 'BEGIN {
	srand(7)
	for (t = 0; t < 150; t += 3) {
		ts = sprintf("2026-11-22T10:%02d:%02dZ", int(t / 60), t % 60)
		for (s = 0; s < n; s++) {
			r = 2 + s % 7
			printf "{\"service\":\"svc-%05d\",\"ts\":\"%s\",\"metric\":\"cpu\",\"value\":%d,\"replicas\":%d,\"ready_replicas\":%d}\n", s, ts, 20 + int(rand() * 80), r, r
			printf "{\"service\":\"svc-%05d\",\"ts\":\"%s\",\"metric\":\"rps\",\"value\":%d,\"replicas\":%d,\"ready_replicas\":%d}\n", s, ts, 40 + int(rand() * 120), r, r
		}
	}
}' >"$work/samples.jsonl"

ours="'$scale' decide --no-state -p '$work/policy.json' '$work/samples.jsonl'"
peer="jq -n -c 'reduce inputs as \$s ({}; (\$s.service + \" \" + ((\$s.ts | fromdate / 15 | floor) | tostring)) as \$k
	| .[\$k][\$s.metric] = \$s)
	| to_entries[] | .value as \$m
	| {service: \$m.cpu.service, ts: \$m.cpu.ts,
	   desired: ([(\$m.cpu.value / 50), (\$m.rps.value / 100)] | max * \$m.cpu.ready_replicas | ceil)}' '$work/samples.jsonl'"

want=$((services * 10))
for side in ours peer; do
	got=$(sh -c "${!side}" | wc -l)
	[ "$got" -eq "$want" ] || { echo "bench: $side wrote $got lines, not $want" >&2; exit 1; }
done

lines=$(wc -l <"$work/samples.jsonl")
read -r ow oc or <<<"$(measure "$ours")"
read -r pw pc pr <<<"$(measure "$peer" 1)"
awk -v l="$lines" -v s="$services" -v ow="$ow" -v oc="$oc" -v or="$or" \
	-v pw="$pw" -v pc="$pc" -v pr="$pr" 'BEGIN {
	printf "ofs-scale decide: %d samples, %d services, %d decisions\n", l, s, s * 10
	printf "  ofs   %8.3f s wall  %6s s cpu  %8s kB rss   ofs-scale decide\n", ow, oc, or
	printf "  peer  %8.3f s wall  %6s s cpu  %8s kB rss   jq (last value, ratio, max; no behaviour)\n", pw, pc, pr
	printf "  ratio (peer / ofs) %.2fx; goal: under 2 s\n", (ow > 0 ? pw / ow : 0)
}'
