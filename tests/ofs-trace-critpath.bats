#!/usr/bin/env bats
# tests/ofs-trace-critpath.bats: the analysis commands of ofs-trace on
# data whose answers were worked out by hand: the critical-path cases of
# tests/fixtures/critpath/ (each folder an input and its expected record;
# the computation is written out in tests/fixtures/critpath/README), the
# Zipkin dependency and clock-skew fixtures, exact stats figures, select
# filters and convert round trips through every format.

load helpers

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

setup() {
	FX="$OFS_TOP/../shared/fixtures"
	CP="$OFS_TOP/tests/fixtures/critpath"
	STATS="$OFS_TOP/tests/fixtures/trace-stats.jsonl"
}

@test "critical-path: every hand-computed case matches exactly" {
	local n=0 d
	for d in "$CP"/*/; do
		[ -f "$d/input.jsonl" ] || continue
		run -0 "$OFS_BIN/ofs-trace" critical-path "$d/input.jsonl"
		got=$(printf '%s\n' "$output" | jq -c 'del(.ts)')
		want=$(jq -c . "$d/expected.out")
		if [ "$got" != "$want" ]; then
			echo "case $(basename "$d"):"
			echo "  got  $got"
			echo "  want $want"
			return 1
		fi
		n=$((n + 1))
	done
	[ "$n" -ge 6 ]
}

@test "critical-path: --top sums the critical time per operation" {
	run -0 "$OFS_BIN/ofs-trace" critical-path --top 1 "$CP/sequential/input.jsonl"
	[ "$(printf '%s\n' "$output" | jq -c '[.type,.service,.name,.traces,.ms_total,.share]')" = \
		'["trace.critical_top","front","call-c",1,40,0.4]' ]
}

@test "deps: simple-db-p6 gives bootifulmeters -> app_db with 4 calls" {
	run -0 "$OFS_BIN/ofs-trace" deps "$FX/zipkin/simple-db-p6.json"
	[ "$(printf '%s\n' "$output" | jq -c '[.type,.parent,.child,.calls,.errors]')" = \
		'["trace.dep","bootifulmeters","app_db",4,0]' ]
}

@test "deps: the shared server span links servicea -> serviceb; dot and mermaid" {
	run -0 "$OFS_BIN/ofs-trace" deps "$FX/zipkin/skew.json"
	[ "$(printf '%s\n' "$output" | jq -c '[.parent,.child,.calls]')" = '["servicea","serviceb",1]' ]
	run -0 "$OFS_BIN/ofs-trace" deps -o dot "$FX/zipkin/simple-db-p6.json"
	assert_line '  "bootifulmeters" -> "app_db";'
	run -0 "$OFS_BIN/ofs-trace" deps -o mermaid "$FX/zipkin/simple-db-p6.json"
	assert_output --partial 'bootifulmeters'
	run -2 "$OFS_BIN/ofs-trace" deps -o png "$FX/zipkin/simple-db-p6.json"
}

@test "tree: skew.json puts the shared server span under its client and corrects skew" {
	run -0 "$OFS_BIN/ofs-trace" tree "$FX/zipkin/skew.json"
	got=$(printf '%s\n' "$output" | jq -c 'select(.type=="trace.node") |
		[.span_id,.parent_span_id,.depth,.service,.kind,.start_offset_ms,(.shared // false)]')
	want='["bf396325699c84bf",null,0,"servicea","server",0,false]
["74280ae0c10d8062","bf396325699c84bf",1,"servicea","client",3.134,false]
["74280ae0c10d8062","74280ae0c10d8062",2,"serviceb","server",3.615,true]
["43210ae0c10d1234","74280ae0c10d8062",3,"serviceb","internal",3.616,false]'
	[ "$got" = "$want" ]
	# Server: 65.922 ms later so that it sits in the middle of the client:
	# (94.539 - 93.577) / 2 = 0.481 ms each side.
	[ "$(printf '%s\n' "$output" | jq -c 'select(.type=="trace.skew") | [.span_id,.service,.shift_ms]')" = \
		'["74280ae0c10d8062","serviceb",65.922]' ]
}

@test "tree: self time, orphans and --trace" {
	run -0 "$OFS_BIN/ofs-trace" tree "$CP/parallel/input.jsonl"
	[ "$(printf '%s\n' "$output" | jq -c '[.span_id[0:2],.depth,.self_ms]' | paste -sd' ')" = \
		'["a0",0,30] ["a1",1,50] ["a2",1,20] ["a3",2,50]' ]
	# A span whose parent is missing is an orphan root.
	run -0 "$OFS_BIN/ofs-trace" tree --trace 44444444444444444444444444444444 <(sed -n 6p "$STATS")
	[ "$(printf '%s\n' "$output" | jq -c '[.span_id,.depth,.orphan]')" = '["b400000000000002",0,true]' ]
}

@test "show: waterfall with the skew flagged" {
	run -0 "$OFS_BIN/ofs-trace" show 1e223ff1f80f1c69 "$FX/zipkin/skew.json"
	assert_line --index 0 'trace 00000000000000001e223ff1f80f1c69: 4 spans, 99.411ms'
	assert_output --partial 'serviceb post 93.577ms unset clock skew: shifted +65.922ms'
	run -1 "$OFS_BIN/ofs-trace" show 1e223ff1f80f1c6a "$FX/zipkin/skew.json"
	run -2 "$OFS_BIN/ofs-trace" show
}

@test "stats: exact figures per service and operation" {
	run -0 "$OFS_BIN/ofs-trace" stats "$STATS"
	# 6 spans from 0 to 340 ms: api 4 / 0.34 s, db 2 / 0.34 s.
	got=$(printf '%s\n' "$output" | jq -c '[.service,.name,.count,.errors,.error_rate,
		(.throughput_per_s*1000|round),.p50_ms,.p90_ms,.p95_ms,.p99_ms,.max_ms,.mean_ms]')
	want='["api","GET /x",4,1,0.25,11765,20,40,40,40,40,25]
["db","query",2,0,0,5882,5,5,5,5,5,5]'
	[ "$got" = "$want" ]
}

@test "stats: --by and --window" {
	run -0 "$OFS_BIN/ofs-trace" stats --by status "$STATS"
	[ "$(printf '%s\n' "$output" | jq -c '[.service,.by,.count]' | paste -sd' ')" = \
		'["api","error",1] ["api","ok",3] ["db","ok",2]' ]
	# Windows of 150 ms of end time (aligned to the epoch): ends 10 and 6,
	# then 120 and 230, then 340 and 306.
	run -0 "$OFS_BIN/ofs-trace" stats --window 150ms "$STATS"
	[ "$(printf '%s\n' "$output" | jq -c '[.window_start[17:],.service,.count]' | paste -sd' ')" = \
		'["19.950000Z","api",1] ["19.950000Z","db",1] ["20.100000Z","api",2] ["20.250000Z","api",1] ["20.250000Z","db",1]' ]
	run -2 "$OFS_BIN/ofs-trace" stats --window 0s "$STATS"
	run -2 "$OFS_BIN/ofs-trace" stats -o xml "$STATS"
}

@test "select: filters and whole traces" {
	run -0 "$OFS_BIN/ofs-trace" select --service db "$STATS"
	[ "$(printf '%s\n' "$output" | jq -r .span_id | paste -sd' ')" = 'b100000000000002 b400000000000002' ]
	run -0 "$OFS_BIN/ofs-trace" select --error "$STATS"
	[ "$(printf '%s\n' "$output" | jq -r .span_id)" = 'b200000000000001' ]
	run -0 "$OFS_BIN/ofs-trace" select --min-duration 30ms "$STATS"
	[ "$(printf '%s\n' "$output" | jq -r .span_id | paste -sd' ')" = 'b300000000000001 b400000000000001' ]
	run -0 "$OFS_BIN/ofs-trace" select --name query --min-duration 6ms "$STATS"
	[ -z "$output" ]
	run -0 "$OFS_BIN/ofs-trace" select --traces --service db "$STATS"
	[ "$(printf '%s\n' "$output" | jq -r .span_id | paste -sd' ')" = \
		'b100000000000001 b100000000000002 b400000000000001 b400000000000002' ]
	run -2 "$OFS_BIN/ofs-trace" select --attr novalue "$STATS"
}

@test "convert: native -> otlp|zipkin -> native keeps every span" {
	local in="$CP/child-outlives-parent/input.jsonl" to
	want=$("$OFS_BIN/ofs-trace" convert --to native "$in" | jq -c 'del(.ts)')
	[ "$(printf '%s\n' "$want" | wc -l)" -eq 5 ]
	for to in otlp zipkin; do
		run -0 "$OFS_BIN/ofs-trace" convert --to "$to" "$in"
		[ "${#lines[@]}" -eq 1 ]
		got=$(printf '%s\n' "$output" | "$OFS_BIN/ofs-trace" convert --to native - | jq -c 'del(.ts)')
		[ "$got" = "$want" ]
	done
	run -2 "$OFS_BIN/ofs-trace" convert "$in"
	run -2 "$OFS_BIN/ofs-trace" convert --to jaeger "$in"
}

@test "convert: the Zipkin fixture reads into native spans with shared kept" {
	run -0 "$OFS_BIN/ofs-trace" convert --to native "$FX/zipkin/skew.json"
	[ "${#lines[@]}" -eq 4 ]
	run -0 "$OFS_BIN/ofs-trace" convert --to zipkin "$FX/zipkin/skew.json"
	[ "$(printf '%s\n' "$output" | jq -c '[.[] | select(.shared) | .id]')" = '["74280ae0c10d8062"]' ]
}
