#!/usr/bin/env bats
# ofs-scale-idle.bats: scale to zero and back (KEDA's semantics: idle for
# the cooldown -> 0; a value strictly above the activation threshold ->
# activationReplicas), and the `idle` report: exact records, thresholds,
# --for, nothing for busy services.

load helpers
load scale

FIX=$OFS_TOP/tests/fixtures/scale/apply

setup() {
	scale_setup
}

# One line per decision: time current desired idle.
decisions() {
	jq -r 'select(.type == "scale.decision") |
		"\(.ts[11:19]) \(.current) \(.desired) \(.idle // "-")"'
}

@test "scale to zero exactly when the cooldown has passed, back on activation" {
	run --separate-stderr scale decide -p "$FIX/zero.json" "$FIX/zero-samples.jsonl"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(decisions <<<"$output")" "10:01:00 1 1 -
10:02:00 1 1 -
10:03:00 1 1 -
10:04:00 1 1 -
10:05:00 1 1 -
10:06:00 1 0 scale_to_zero
10:07:00 0 0 -
10:08:00 0 0 -
10:09:00 0 2 activate"
	# the reasons say which rule applied
	assert_jq "$(sed -n 6p <<<"$output")" '.reason | test("scale to zero")'
	assert_jq "$(sed -n 9p <<<"$output")" '.reason | test("queue 6 is above its activation threshold 5: activate at 2 replicas")'
}

@test "a value equal to the activation threshold is not active" {
	run --separate-stderr scale decide --no-state -p "$FIX/zero.json" <<'EOF'
{"service":"worker","ts":"2026-11-22T10:00:30Z","metric":"queue","value":5,"replicas":0,"ready_replicas":0}
{"service":"worker","ts":"2026-11-22T10:01:30Z","metric":"queue","value":5.001,"replicas":0,"ready_replicas":0}
EOF
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(decisions <<<"$output")" "10:01:00 0 0 -
10:02:00 0 2 activate"
}

@test "idleness counts from the first period seen: no scale to zero before the cooldown" {
	run --separate-stderr scale decide --no-state -p "$FIX/zero.json" <<'EOF'
{"service":"worker","ts":"2026-11-22T10:00:30Z","metric":"queue","value":0,"replicas":3,"ready_replicas":3}
{"service":"worker","ts":"2026-11-22T10:04:30Z","metric":"queue","value":0,"replicas":1,"ready_replicas":1}
{"service":"worker","ts":"2026-11-22T10:05:30Z","metric":"queue","value":0,"replicas":1,"ready_replicas":1}
EOF
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	run -0 jq -r '"\(.ts[11:19]) \(.desired > 0) \(.idle // "-")"' <<<"$output"
	assert_output "10:01:00 true -
10:05:00 true -
10:06:00 false scale_to_zero"
}

@test "idle report: exact records, sorted by service, nothing for busy services" {
	run --separate-stderr scale idle -p "$FIX/idle-report.json" "$FIX/idle-samples.jsonl"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_output '{"type":"scale.idle","ts":"2026-11-22T12:00:00.000000Z","service":"auth","since":"2026-11-22T10:00:00.000000Z","idle_s":7200,"max_utilization":0.02,"replicas":3,"min_replicas":1,"reclaimable_replicas":2}
{"type":"scale.idle","ts":"2026-11-22T12:00:00.000000Z","service":"cart","since":"2026-11-22T10:15:00.000000Z","idle_s":6300,"max_utilization":0.08,"replicas":4,"min_replicas":1,"reclaimable_replicas":3}
{"type":"scale.idle","ts":"2026-11-22T12:00:00.000000Z","service":"pay","since":"2026-11-22T10:00:00.000000Z","idle_s":7200,"max_utilization":0.02,"replicas":2,"min_replicas":1,"reclaimable_replicas":1}
{"type":"scale.idle","ts":"2026-11-22T12:00:00.000000Z","service":"search","since":"2026-11-22T10:45:00.000000Z","idle_s":4500,"max_utilization":0.04,"replicas":6,"min_replicas":1,"reclaimable_replicas":5}'
	assert_equal "$stderr" ""
}

# each case: options | the services reported with their idle time
@test "idle report: --for and --threshold pick the services" {
	local cases=(
		"--for 2h|auth 7200,pay 7200"
		"--for 1h15m|auth 7200,cart 6300,pay 7200,search 4500"
		"--for 1h16m|auth 7200,cart 6300,pay 7200"
		"--threshold 5|auth 7200,pay 7200,search 4500"
		"--threshold 11|auth 7200,cart 6300,pay 7200,search 7200"
		"--threshold 11 --for 2h|auth 7200,pay 7200,search 7200"
		"--threshold 2|"
		"--threshold 2.5|auth 7200,pay 7200"
	)
	local c args want
	for c in "${cases[@]}"; do
		args=${c%%|*}
		want=${c#*|}
		# shellcheck disable=SC2086
		run --separate-stderr scale idle -p "$FIX/idle-report.json" $args "$FIX/idle-samples.jsonl"
		[ "$status" -eq 0 ] || fail "$args: exit $status: $stderr"
		assert_equal "$(jq -r '"\(.service) \(.idle_s)"' <<<"$output" | paste -sd,)" "$want"
	done
}

@test "idle report: the policy's idle threshold and period apply without options" {
	jq '.idle = {"threshold": 9, "period": "2h"}' "$FIX/idle-report.json" >"$BATS_TEST_TMPDIR/p.json"
	run -0 scale idle -p "$BATS_TEST_TMPDIR/p.json" "$FIX/idle-samples.jsonl"
	assert_equal "$(jq -r .service <<<"$output" | paste -sd,)" "auth,pay"
}

@test "idle report: the first policy that matches a service applies" {
	jq '.service = "cart" | .idle.threshold = 100' "$FIX/idle-report.json" >"$BATS_TEST_TMPDIR/cart.json"
	run -0 scale idle -p "$BATS_TEST_TMPDIR/cart.json" -p "$FIX/idle-report.json" \
		"$FIX/idle-samples.jsonl"
	assert_equal "$(jq -r '"\(.service) \(.idle_s)"' <<<"$output" | paste -sd,)" \
		"auth 7200,cart 7200,pay 7200,search 4500"
}

@test "idle report: the cost of the reclaimable replicas with an instance type" {
	run -0 scale idle -p "$FIX/idle-cost.json" "$FIX/idle-samples.jsonl"
	assert_output '{"type":"scale.idle","ts":"2026-11-22T12:00:00.000000Z","service":"cart","since":"2026-11-22T10:15:00.000000Z","idle_s":6300,"max_utilization":0.08,"replicas":4,"min_replicas":1,"reclaimable_replicas":3,"reclaimable_per_hour":0.29}'
}

@test "idle report: bad lines are reported with FILE:LINE and give exit 3; --strict stops" {
	{ head -n 2 "$FIX/idle-samples.jsonl"; echo '{"service":"cart"}'; echo 'nope'
	  tail -n +3 "$FIX/idle-samples.jsonl"; } >"$BATS_TEST_TMPDIR/s.jsonl"
	run --separate-stderr scale idle -p "$FIX/idle-report.json" "$BATS_TEST_TMPDIR/s.jsonl"
	[ "$status" -eq 3 ] || fail "exit $status"
	assert_equal "$(jq -r .service <<<"$output" | paste -sd,)" "auth,cart,pay,search"
	assert_equal "$(wc -l <<<"$stderr")" 2
	assert_regex "$(sed -n 1p <<<"$stderr")" "^ofs-scale: $BATS_TEST_TMPDIR/s.jsonl:3: "
	assert_regex "$(sed -n 2p <<<"$stderr")" "^ofs-scale: $BATS_TEST_TMPDIR/s.jsonl:4: "
	run --separate-stderr scale idle --strict -p "$FIX/idle-report.json" "$BATS_TEST_TMPDIR/s.jsonl"
	[ "$status" -eq 3 ] || fail "strict: exit $status"
	assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "idle: usage errors and an invalid policy exit 2" {
	run --separate-stderr scale idle "$FIX/idle-samples.jsonl"
	[ "$status" -eq 2 ]
	assert_regex "$stderr" "no policy given"
	run --separate-stderr scale idle -p "$FIX/idle-report.json" --threshold 120 /dev/null
	[ "$status" -eq 2 ]
	assert_regex "$stderr" "--threshold: must be a percent 0..100, got 120"
	run --separate-stderr scale idle -p "$FIX/idle-report.json" --for 5x /dev/null
	[ "$status" -eq 2 ]
	assert_regex "$stderr" "--for: "
	echo '{"maxReplicas": 0}' >"$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr scale idle -p "$BATS_TEST_TMPDIR/bad.json" /dev/null
	[ "$status" -eq 2 ]
	assert_regex "$stderr" "bad.json: "
	assert_output ""
}

@test "idle: empty input gives no record" {
	run -0 scale idle -p "$FIX/idle-report.json" /dev/null
	assert_output ""
}
