#!/bin/bash
# tests/bench/trace.sh: `ofs-trace stats` over 1M native span lines of
# about 270 bytes (BENCH_SPANS to change the count) beside (a) the parse
# floor, build/tests/bench/bench_parse, which only parses each line with
# cJSON and frees it, and (b) jq computing the same per-service counts
# and p99 (issue 4: at least 800k spans/s, within 1.5x of the floor, at
# least 8x faster than jq); then the cost `ofs-trace exec` adds to a
# command, `true`, in milliseconds per run over BENCH_EXEC_RUNS (200)
# runs (goal: under 2 ms); and `ofs-trace logs` merging 4 files of 1M
# log lines beside `sort -m`, with peak RSS.
#
# The spans are generated once, by awk with a fixed seed, into the build
# directory and reused by later runs. Answers are compared first (every
# service's count exactly, its p99 within the sketch's error), so a fast
# wrong answer cannot win; then each side is timed, best wall time of
# BENCH_RUNS (jq: BENCH_JQ_RUNS, default 1, as it is slow), with its CPU
# time and peak RSS, in the format of lib.sh. Timings are printed, never
# asserted. The temporary directory is removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_SPANS:-1000000}
exec_runs=${BENCH_EXEC_RUNS:-200}
jq_runs=${BENCH_JQ_RUNS:-1}
bin=${OFS_BIN:-bin}
build=${OFS_BUILD:-build}
otrace=$bin/ofs-trace
floor=$build/tests/bench/bench_parse
for f in "$otrace" "$floor"; do
	[ -x "$f" ] || { echo "bench: '$f' not found: run make bench" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-trace.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The input: n spans of 5 services (one operation each), 20 spans per
# trace, durations spread over three decades, 1% errors. jq gathers only
# (service, duration) pairs, then groups them: its fastest honest form
# (a reduce that appends to per-service arrays copies them, quadratic).
spans=$build/tests/bench/spans-$n.jsonl
if [ ! -s "$spans" ]; then
	mkdir -p "$(dirname "$spans")"
	awk -v n="$n" 'function hex(k,   s) { s = ""; while (k-- > 0) s = s sprintf("%04x", int(rand() * 65536)); return s }
	BEGIN {
		srand(1)
		split("gateway orders payments inventory shipping", svc, " ")
		split("POST /orders|POST /orders|POST /charge|POST /reserve|POST /shipments", op, "|")
		base = 1795321860000000
		for (i = 0; i < n; i++) {
			if (i % 20 == 0) { trace = hex(8); parent = "" }
			s = svc[i % 5 + 1]
			id = hex(4)
			us = base + i * 50
			ms = exp(rand() * 6.9) / 10
			printf "{\"type\":\"span\",\"ts\":\"2026-11-22T02:31:%02d.%06dZ\",\"trace_id\":\"%s\",\"span_id\":\"%s\",", int(us / 1e6) % 60, us % 1000000, trace, id
			if (parent != "") printf "\"parent_span_id\":\"%s\",", parent
			printf "\"service\":\"%s\",\"name\":\"%s\",\"kind\":\"server\",\"start_ns\":\"%.0f000\",\"duration_ms\":%.3f,\"status\":\"%s\"}\n", s, op[i % 5 + 1], us, ms, (rand() < 0.01 ? "error" : "ok")
			parent = id
		}
	}' >"$spans.tmp"
	mv "$spans.tmp" "$spans"
fi
bytes=$(wc -c <"$spans")

ours="$otrace stats $spans"
peer_floor="$floor $spans"
peer_jq="jq -c -n '[inputs | [.service, .duration_ms]] | group_by(.[0])[]
	| (map(.[1]) | sort) as \$d
	| {service: .[0][0], count: (\$d | length), p99_ms: \$d[(\$d | length) * 0.99 | ceil - 1]}' $spans"

# Right answers first.
sh -c "$ours" | jq -c '{service, count, p99_ms}' | sort >"$work/ours"
sh -c "$peer_jq" | sort >"$work/jq"
if ! jq -e -n --slurpfile a "$work/ours" --slurpfile b "$work/jq" '
	($a | length) == ($b | length) and
	([$a, $b] | transpose | all(.[0].service == .[1].service and .[0].count == .[1].count
		and ((.[0].p99_ms - .[1].p99_ms) | fabs) <= 0.02 * .[1].p99_ms))' >/dev/null; then
	echo "bench: ofs-trace stats and jq disagree:" >&2
	paste "$work/ours" "$work/jq" >&2
	exit 1
fi
got=$(sh -c "$peer_floor")
[ "$got" = "$n parsed, 0 bad" ] || { echo "bench: the parse floor read: $got" >&2; exit 1; }


read -r ow oc om <<<"$(measure "$ours" "$BENCH_RUNS")"
read -r fw fc fm <<<"$(measure "$peer_floor" "$BENCH_RUNS")"
read -r jw jc jm <<<"$(measure "$peer_jq" "$jq_runs")"

awk -v n="$n" -v bytes="$bytes" -v ow="$ow" -v oc="$oc" -v om="$om" -v fw="$fw" -v fc="$fc" -v fm="$fm" \
	-v jw="$jw" -v jc="$jc" -v jm="$jm" -v runs="$BENCH_RUNS" 'function mb(k) { return k == "-" ? "      -" : sprintf("%7.1f", k / 1024) }
	function side(who, w, c, m, what) {
		printf "  %-5s %9.3f s   cpu %8s s   rss %s MB   %9.0f spans/s   %s\n", who, w, c, mb(m), (w > 0 ? n / w : 0), what }
	BEGIN {
		printf "ofs-trace: stats over %d native span lines (%.0f bytes each; best of %d)\n", n, bytes / n, runs
		side("ofs", ow, oc, om, "ofs-trace stats")
		side("floor", fw, fc, fm, "bench_parse: cJSON parse and free, nothing else")
		printf "  ratio (ofs / floor) %.2fx\n", (fw > 0 ? ow / fw : 0)
		side("peer", jw, jc, jm, "jq: per-service count and p99")
		printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? jw / ow : 0)
		printf "  goals: >= 800k spans/s %s; within 1.5x of the floor %s; >= 8x faster than jq %s\n",
			(ow > 0 && n / ow >= 800000 ? "met" : "NOT met"), (fw > 0 && ow / fw <= 1.5 ? "met" : "NOT met"),
			(ow > 0 && jw / ow >= 8 ? "met" : "NOT met")
	}'

# exec overhead: the same loop of exec_runs commands, bare and wrapped.
loop() { # CMD...: wall seconds of exec_runs runs of CMD
	local t0 t1 i
	t0=$(date +%s%N)
	for ((i = 0; i < exec_runs; i++)); do "$@" || return 1; done
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }'
}
unset TRACEPARENT TRACESTATE OFS_TRACE_FILE
tb=$(loop /bin/true)
te=$(loop "$otrace" exec -- /bin/true)
tf=$(loop "$otrace" exec --out "$work/exec-spans.jsonl" -- /bin/true)
got=$(wc -l <"$work/exec-spans.jsonl")
[ "$got" -eq "$exec_runs" ] || { echo "bench: exec wrote $got spans for $exec_runs runs" >&2; exit 1; }
awk -v r="$exec_runs" -v tb="$tb" -v te="$te" -v tf="$tf" 'BEGIN {
	printf "ofs-trace exec: overhead on /bin/true (%d runs each)\n", r
	printf "  bare   %7.3f ms per run   /bin/true\n", tb * 1000 / r
	printf "  exec   %7.3f ms per run   ofs-trace exec -- /bin/true   (+%.3f ms)\n", te * 1000 / r, (te - tb) * 1000 / r
	printf "  span   %7.3f ms per run   ofs-trace exec --out FILE -- /bin/true   (+%.3f ms)\n", tf * 1000 / r, (tf - tb) * 1000 / r
	printf "  goal: < 2 ms added %s\n", ((tf - tb) * 1000 / r < 2 ? "met" : "NOT met")
}'

# logs: a k-way merge of 4 files of BENCH_LOG_LINES (1M) log lines each,
# sorted by ts within each file, beside `sort -m` on the ts column (the
# classic merge of sorted files). Peak RSS shows the merge is bounded by
# the number of files, not by the input.
lines=${BENCH_LOG_LINES:-1000000}
for k in 1 2 3 4; do
	awk -v n="$lines" -v k="$k" 'BEGIN {
		for (i = 0; i < n; i++) {
			us = i * 4 + k
			printf "{\"type\":\"log\",\"ts\":\"2026-11-22T%02d:%02d:%02d.%06dZ\",\"level\":\"info\",\"service\":\"svc%d\",\"msg\":\"request-%d-done\"}\n",
				int(us / 3600e6) % 24, int(us / 60e6) % 60, int(us / 1e6) % 60, us % 1000000, k, i
		}
	}' >"$work/log$k.jsonl"
done
logs_ours="$otrace logs $work/log1.jsonl $work/log2.jsonl $work/log3.jsonl $work/log4.jsonl"
logs_peer="LC_ALL=C sort -m -t, -k2,2 $work/log1.jsonl $work/log2.jsonl $work/log3.jsonl $work/log4.jsonl"
got=$(sh -c "$logs_ours" | wc -l)
[ "$got" -eq $((4 * lines)) ] || { echo "bench: logs merged $got of $((4 * lines)) lines" >&2; exit 1; }
sh -c "$logs_ours" | jq -r .ts | LC_ALL=C sort -c ||
	{ echo "bench: logs output is not in ts order" >&2; exit 1; }
read -r lw lc lm <<<"$(measure "$logs_ours" "$BENCH_RUNS")"
read -r sw sc sm <<<"$(measure "$logs_peer" "$BENCH_RUNS")"
awk -v n="$((4 * lines))" -v lw="$lw" -v lc="$lc" -v lm="$lm" -v sw="$sw" -v sc="$sc" -v sm="$sm" '
	function mb(k) { return k == "-" ? "      -" : sprintf("%7.1f", k / 1024) }
	BEGIN {
		printf "ofs-trace logs: merging 4 files, %d lines in all\n", n
		printf "  ofs   %8.3f s   cpu %7s s   rss %s MB   %9.0f lines/s   ofs-trace logs a b c d\n", lw, lc, mb(lm), n / lw
		printf "  peer  %8.3f s   cpu %7s s   rss %s MB   %9.0f lines/s   sort -m on the ts column\n", sw, sc, mb(sm), n / sw
		printf "  ratio (peer / ofs) %.2fx\n", (lw > 0 ? sw / lw : 0)
	}'
