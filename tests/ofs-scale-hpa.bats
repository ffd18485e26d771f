#!/usr/bin/env bats
# tests/ofs-scale-hpa.bats: `ofs-scale decide` and the HPA algorithm.
#
# The HPA cases are data: tests/fixtures/scale/hpa/NAME/ holds
# policy.json, samples.jsonl, filter (a jq program applied to each
# scale.decision), expected.jsonl (what the filter must print, one line
# per decision) and about (the case in one sentence). There is one test
# per case, named after it; a last test checks that no case folder is
# left without its test. Expectations are worked out by hand from the
# Kubernetes HPA rules (replica_calculator.go and horizontal.go) and the
# worked cases of the reference, and the budget cases from the prices of
# their catalogues.
#
# Then decide's input handling (bad lines, --strict, missing files,
# >/dev/full, empty input, services no policy matches) and the state
# kept between runs (a scale-down window spanning two runs, --no-state,
# the lock).

load helpers
load scale

unset TRACEPARENT TRACESTATE

CASES=$OFS_TOP/tests/fixtures/scale/hpa

setup() {
	scale_setup
}

# hpa_case NAME: decide the case's samples with its policy (no state)
# and compare the filtered decisions with expected.jsonl.
hpa_case() {
	local dir=$CASES/$1 got
	run -0 --separate-stderr scale decide --no-state -p "$dir/policy.json" "$dir/samples.jsonl"
	assert_equal "$stderr" ""
	got=$(jq -c "$(cat "$dir/filter")" <<<"$output") || fail "jq filter failed"
	assert_equal "$got" "$(cat "$dir/expected.jsonl")"
}

# ---- the HPA cases ------------------------------------------------------------

@test "hpa: one-pod-305-vs-50" { hpa_case one-pod-305-vs-50; }
@test "hpa: one-pod-305-default-behaviour" { hpa_case one-pod-305-default-behaviour; }
@test "hpa: fifty-pods-90-vs-75" { hpa_case fifty-pods-90-vs-75; }
@test "hpa: ten-pods-85-vs-80-within-tolerance" { hpa_case ten-pods-85-vs-80-within-tolerance; }
@test "hpa: scale-up-2-to-20-default-behaviour" { hpa_case scale-up-2-to-20-default-behaviour; }
@test "hpa: missing-pod-counted-at-100" { hpa_case missing-pod-counted-at-100; }
@test "hpa: scale-down-window-600" { hpa_case scale-down-window-600; }
@test "hpa: scale-down-percent-limit" { hpa_case scale-down-percent-limit; }
@test "hpa: select-policy-min" { hpa_case select-policy-min; }
@test "hpa: select-policy-disabled-up" { hpa_case select-policy-disabled-up; }
@test "hpa: select-policy-disabled-down" { hpa_case select-policy-disabled-down; }
@test "hpa: multi-metric-max" { hpa_case multi-metric-max; }
@test "hpa: metric-without-value-holds-scale-down" { hpa_case metric-without-value-holds-scale-down; }
@test "hpa: unready-pods-on-scale-up" { hpa_case unready-pods-on-scale-up; }
@test "hpa: per-direction-tolerance" { hpa_case per-direction-tolerance; }
@test "hpa: value-target" { hpa_case value-target; }
@test "hpa: clamp-max" { hpa_case clamp-max; }
@test "hpa: clamp-min" { hpa_case clamp-min; }
@test "hpa: budget-clamp" { hpa_case budget-clamp; }
@test "hpa: budget-breach" { hpa_case budget-breach; }

@test "hpa: every case folder has its test" {
	local d
	for d in "$CASES"/*/; do
		d=$(basename "$d")
		grep -q "^@test \"hpa: $d\"" "$BATS_TEST_FILENAME" || fail "no test for case '$d'"
		for f in policy.json samples.jsonl filter expected.jsonl about; do
			[ -s "$CASES/$d/$f" ] || fail "case '$d' has no $f"
		done
	done
}

# ---- the whole record ---------------------------------------------------------

@test "decide: the whole scale.decision record of the first worked case" {
	run -0 --separate-stderr scale decide --no-state -p "$CASES/one-pod-305-vs-50/policy.json" \
		"$CASES/one-pod-305-vs-50/samples.jsonl"
	assert_equal "$stderr" ""
	assert_equal "$output" '{"type":"scale.decision","ts":"2026-11-22T10:00:15.000000Z","service":"cart","current":1,"ready":1,"desired":7,"action":"up","metrics":[{"name":"cpu","type":"utilization","target":50,"value":305,"ratio":6.1,"tolerance":0.1,"within_tolerance":false,"ready_pods":1,"missing_pods":0,"unready_pods":0,"proposal":7}],"recommendation":7,"stabilization":{"direction":"up","window_s":0,"value":7},"reason":"cpu at 305 against a target of 50 is a ratio of 6.1, outside the tolerance 0.1: 7 replicas. Recommendation 7. Scale up from 1 to 7."}'
}

@test "decide: periods with samples are decided at their end, in order per service" {
	cat >p.json <<'JSON'
{"service":"*","maxReplicas":10,"period":"1m","metrics":[{"name":"cpu","target":{"averageUtilization":50}}]}
JSON
	printf '%s\n' \
		'{"service":"a","ts":"2026-11-22T10:00:05Z","metric":"cpu","value":50,"replicas":2}' \
		'{"service":"b","ts":"2026-11-22T10:00:50Z","metric":"cpu","value":50,"replicas":3}' \
		'{"service":"a","ts":"2026-11-22T10:03:59Z","metric":"cpu","value":50,"replicas":2}' \
		'{"service":"a","ts":"2026-11-22T10:04:00Z","metric":"cpu","value":50,"replicas":2}' >s.jsonl
	run -0 --separate-stderr scale decide --no-state -p p.json s.jsonl
	# the periods still open at the end of the input are decided in order
	# of time, then of service name
	assert_equal "$(jq -c '[.service, .ts, .current]' <<<"$output")" \
'["a","2026-11-22T10:01:00.000000Z",2]
["a","2026-11-22T10:04:00.000000Z",2]
["b","2026-11-22T10:01:00.000000Z",3]
["a","2026-11-22T10:05:00.000000Z",2]'
}

@test "decide: the periods open at the end are decided in order of time, then name" {
	cat >p.json <<'JSON'
{"service":"*","maxReplicas":10,"metrics":[{"name":"cpu","target":{"averageUtilization":50}}]}
JSON
	local s
	for s in zeta alpha mid beta omega gamma; do
		printf '{"service":"%s","ts":"2026-11-22T10:00:05Z","metric":"cpu","value":50,"replicas":2}\n' "$s"
	done >s.jsonl
	printf '{"service":"early","ts":"2026-11-22T09:59:50Z","metric":"cpu","value":50,"replicas":2}\n' >>s.jsonl
	run -0 scale decide --no-state -p p.json s.jsonl
	assert_equal "$(jq -r .service <<<"$output" | paste -sd ' ')" "early alpha beta gamma mid omega zeta"
}

# ---- input errors -------------------------------------------------------------

good='{"service":"cart","ts":"2026-11-22T10:00:00Z","metric":"cpu","value":100,"replicas":2}'

@test "decide: bad lines are reported with FILE:LINE, the rest decided, exit 3" {
	printf '%s\n' 'not json' '{"service":"cart","metric":"cpu","value":1}' \
		'{"service":"cart","ts":"x","metric":"cpu","value":1}' \
		'{"service":"cart","ts":1,"metric":"cpu","value":"1"}' "$good" >in.jsonl
	run -3 --separate-stderr scale decide --no-state -p "$CASES/clamp-max/policy.json" in.jsonl
	assert_equal "$(jq -c '[.service, .current, .desired]' <<<"$output")" '["cart",2,4]'
	assert_equal "$stderr" "ofs-scale: in.jsonl:1: invalid JSON at column 1 near 'n'
ofs-scale: in.jsonl:2: missing field 'ts'
ofs-scale: in.jsonl:3: /ts: invalid RFC 3339 timestamp 'x'
ofs-scale: in.jsonl:4: /value: must be a number, got string"
}

@test "decide: --strict stops at the first bad line" {
	printf '%s\n' "$good" 'not json' "$good" >in.jsonl
	run -3 --separate-stderr scale decide --no-state --strict -p "$CASES/clamp-max/policy.json" in.jsonl
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-scale: in.jsonl:2: invalid JSON at column 1 near 'n'"
}

@test "decide: a missing input file is exit 2, the other files are read" {
	printf '%s\n' "$good" >in.jsonl
	run -2 --separate-stderr scale decide --no-state -p "$CASES/clamp-max/policy.json" nope.jsonl in.jsonl
	assert_equal "${#lines[@]}" 1
	assert_equal "$stderr" "ofs-scale: cannot open 'nope.jsonl': No such file or directory"
}

@test "decide: empty input gives no output and exit 0" {
	run -0 --separate-stderr scale decide --no-state -p "$CASES/clamp-max/policy.json" </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "decide: a write error is exit 4" {
	printf '%s\n' "$good" >in.jsonl
	run -4 bash -c '"$0" decide --no-state -p "$1" "$2" >/dev/full' "$OFS_BIN/ofs-scale" \
		"$CASES/clamp-max/policy.json" in.jsonl
	assert_output "ofs-scale: write error on standard output: No space left on device"
}

@test "decide: an invalid policy is exit 2 and nothing is read" {
	echo '{"maxReplicas":0}' >bad.json
	run -2 --separate-stderr scale decide --no-state -p bad.json </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-scale: bad.json: /maxReplicas: must be 1..1000000, got 0
ofs-scale: bad.json: missing required key 'metrics'"
}

@test "decide: a service no policy matches is reported once and skipped" {
	printf '%s\n' "$good" "${good/cart/mail}" "${good/cart/mail}" >in.jsonl
	run -0 --separate-stderr scale decide --no-state -p "$CASES/clamp-max/policy.json" in.jsonl
	assert_equal "$(jq -r .service <<<"$output")" cart
	assert_equal "$stderr" "ofs-scale: warning: no policy matches service 'mail': skipped"
}

@test "decide: the first policy that matches a service wins" {
	cat >a.json <<'JSON'
{"service":"cart","maxReplicas":3,"metrics":[{"name":"cpu","target":{"averageUtilization":50}}]}
JSON
	cat >b.json <<'JSON'
{"service":"*","maxReplicas":4,"metrics":[{"name":"cpu","target":{"averageUtilization":50}}]}
JSON
	printf '%s\n' "$good" "${good/cart/mail}" >in.jsonl
	run -0 --separate-stderr scale decide --no-state -p a.json -p b.json in.jsonl
	assert_equal "$(jq -c '[.service, .desired]' <<<"$output")" '["cart",3]
["mail",4]'
}

@test "decide: usage errors are exit 2" {
	run -2 scale decide </dev/null
	assert_line --partial "missing policy (-p file)"
	run -2 scale decide -p "$CASES/clamp-max/policy.json" --watch </dev/null
	assert_line --partial "--watch needs --poll"
}

# ---- state --------------------------------------------------------------------

# sample MINUTE VALUE: a cart sample at 10:MINUTE with 10 replicas.
sample() {
	printf '{"service":"cart","ts":"2026-11-22T10:%02d:00Z","metric":"cpu","value":%s,"replicas":10}\n' "$1" "$2"
}

@test "state: the 300 s scale-down window spans two runs" {
	sample 0 80 | scale decide -p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" >/dev/null
	[ "$(stat -c %a "$OFS_STATE_DIR/scale")" = 700 ]
	[ "$(stat -c %a "$OFS_STATE_DIR/scale/state.json")" = 600 ]
	run -0 --separate-stderr scale decide -p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" \
		< <(sample 2 40)
	assert_equal "$(jq -c '[.recommendation, .desired, .stabilization]' <<<"$output")" \
		'[5,10,{"direction":"down","window_s":300,"value":10}]'
	# Past the window (10:00:15 + 300 s) the first run's 10 no longer counts.
	run -0 --separate-stderr scale decide -p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" \
		< <(sample 5 40)
	assert_equal "$(jq -c '[.recommendation, .desired]' <<<"$output")" '[5,5]'
}

@test "state: --no-state neither reads nor writes it" {
	sample 0 80 | scale decide -p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" >/dev/null
	cp "$OFS_STATE_DIR/scale/state.json" before.json
	# unknown without the state: a new target's window starts at its count
	run -0 --separate-stderr scale decide --no-state \
		-p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" < <(sample 6 40)
	assert_equal "$(jq -c '[.recommendation, .desired, .stabilization]' <<<"$output")" \
		'[5,10,{"direction":"down","window_s":300,"value":10}]'
	cmp before.json "$OFS_STATE_DIR/scale/state.json"
	# known since 10:00 through the state: its window has passed
	run -0 --separate-stderr scale decide \
		-p "$CASES/ten-pods-85-vs-80-within-tolerance/policy.json" < <(sample 6 40)
	assert_equal "$(jq -c '[.recommendation, .desired]' <<<"$output")" '[5,5]'
}

@test "state: the last decision is the current count of the next run" {
	printf '{"service":"cart","ts":"2026-11-22T10:00:00Z","metric":"cpu","value":100,"replicas":2}\n' |
		scale decide -p "$CASES/clamp-max/policy.json" >/dev/null
	run -0 --separate-stderr scale decide -p "$CASES/clamp-max/policy.json" \
		< <(printf '{"service":"cart","ts":"2026-11-22T10:00:15Z","metric":"cpu","value":50}\n')
	assert_equal "$(jq -c '[.current, .desired]' <<<"$output")" '[4,4]'
}

@test "state: a second run waits for the lock, then exits 4" {
	mkdir -p "$OFS_STATE_DIR/scale"
	exec 9>"$OFS_STATE_DIR/scale/lock"
	flock 9
	run -4 --separate-stderr scale decide -p "$CASES/clamp-max/policy.json" </dev/null
	exec 9>&-
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-scale: cannot lock the state: '$OFS_STATE_DIR/scale/lock' is locked by another ofs run"
}
