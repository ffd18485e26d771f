#!/usr/bin/env bats
# ofs-deploy against a real HAProxy on loopback, with the example shop's
# inventory service as the thing deployed: rolling, blue/green and canary
# under load, automatic rollback, promote/abort, status and history.

load helpers
load deploy

setup() {
	deploy_setup
	hap_start 12
}

teardown() {
	deploy_teardown
}

deploy() { "$OFS_BIN/ofs-deploy" "$@"; }

@test "a first deploy starts every instance and routes them" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v1.json"
	assert_success
	assert_jq "$output" 'select(.type == "deploy.done") | .outcome' promoted
	run versions 12
	assert_output "v1 12"
	run hap_servers
	[ "$(grep -c ' UP\| no check' <<<"$output")" -eq 6 ] || fail "$output"
	[ "$(grep -c MAINT <<<"$output")" -eq 6 ] || fail "$output"
	run --separate-stderr deploy status inventory
	assert_success
	assert_jq "$output" '.phase' healthy
}

@test "rolling update of 6 instances under load: no failed request, history updated" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	spec "$BATS_TEST_TMPDIR/v2.json" v2
	load_start 12
	sleep 1
	local t0=$SECONDS
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v2.json"
	assert_success
	[ $((SECONDS - t0)) -lt 60 ]
	load_check
	run versions 12
	assert_output "v2 12"
	run --separate-stderr deploy history inventory
	assert_success
	[ "$(jq -s 'map(.outcome) | join(",")' <<<"$output")" = '"promoted,promoted"' ]
	run --separate-stderr deploy history --stats inventory
	assert_jq "$output" '.runs' 2
	assert_jq "$output" '.change_failure_rate' 0
}

@test "blue/green: the switch under load fails no request; rollback switches back within a second" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "blueGreen", "scaleDownDelay": "60s"}'
	load_start 6
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.action == "scaleDownDelay"' 20
	run versions 10
	assert_output "v2 10"
	load_check
	load_start 4
	sleep 1
	local t0 switched ms
	t0=$(date +%s.%N)
	run --separate-stderr deploy rollback inventory
	assert_success
	assert_jq "$output" '.outcome' rolled_back
	# the switch: the first v1 instance serving again, as the deploy recorded it
	switched=$(jq -r 'select(.type == "deploy.instance" and .version == "v1" and .state == "serving") | .ts' \
		"$BATS_TEST_TMPDIR/run.out" | head -1)
	[ -n "$switched" ] || fail "no v1 instance serves again: $(cat "$BATS_TEST_TMPDIR/run.out")"
	ms=$(awk -v a="$t0" -v b="$(date -d "$switched" +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }')
	[ "$ms" -lt 1000 ] || fail "traffic switched back $ms ms after the rollback began"
	run versions 10
	assert_output "v1 10"
	load_check
	grep -q '"type":"deploy.rollback"' "$BATS_TEST_TMPDIR/run.out"
	run --separate-stderr deploy status inventory
	assert_jq "$output" '.phase' rolled_back
	assert_failure 1
}

@test "canary with a bad v2: aborted at the first analysis, all traffic back on v1, exit 1" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	export SHOP_FAULT='{"status":500}'
	ANALYSIS='[{"name": "errors", "metrics": [{"name": "error-rate", "interval": "2s",
	  "count": 2, "successCondition": "result <= 0.01", "failureCondition": "result > 0.01",
	  "provider": {"kind": "haproxy", "metric": "errorRate", "of": "new"}}]}]' \
		spec "$BATS_TEST_TMPDIR/v2.json" v2 \
		'{"kind": "canary", "steps": [{"setWeight": 20}, {"analysis": "errors"}, {"setWeight": 50}, {"pause": {"duration": "1s"}}]}' \
		'--fault \"$SHOP_FAULT\"'
	load_start 8
	sleep 1
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v2.json"
	assert_failure 1
	assert_jq "$output" 'select(.type == "deploy.rollback") | .to_revision' 1
	assert_jq "$output" 'select(.type == "deploy.done") | .outcome' rolled_back
	# the first analysis decided: no 50 % step was ever taken
	[ "$(jq -s '[.[] | select(.type == "deploy.step" and .action == "setWeight")] | length' <<<"$output")" -eq 1 ]
	[ "$(jq -s '[.[] | select(.type == "deploy.analysis" and .final != true)] | length' <<<"$output")" -eq 1 ]
	run versions 20
	assert_output "v1 20"
	wait "$LOAD_PID" || true
	# failed requests: at most the canary's share of one interval (2 s), with slack
	local rps bad
	rps=$(awk '/Requests\/sec/ { print int($2) }' "$LOAD_OUT")
	bad=$(awk '/Non-2xx/ { print $NF }' "$LOAD_OUT")
	[ -n "$bad" ] || fail "the bad canary got no traffic: $(cat "$LOAD_OUT")"
	[ "$bad" -le $((rps * 8 * 20 / 100 * 3 / 2)) ] || fail "$bad failed of $(cat "$LOAD_OUT")"
	[ "$bad" -ge 1 ]
}

@test "kill -9 in the middle of a rolling update: status explains, resume finishes" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "rolling", "minReady": "1s", "maxSurge": 1, "maxUnavailable": 0}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.type == "deploy.step" and .step == 3' 30
	kill -KILL "$BG_PID"
	run --separate-stderr deploy status inventory
	assert_failure 1
	assert_jq "$output" '.phase' interrupted
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v2.json"
	assert_failure 4
	assert_stderr "did not finish: run 'ofs-deploy resume inventory'"
	run --separate-stderr deploy resume inventory
	assert_success
	assert_jq "$output" 'select(.type == "deploy.done") | .outcome' promoted
	run versions 12
	assert_output "v2 12"
	run hap_servers
	! grep -q DRAIN <<<"$output"
	[ "$(grep -c MAINT <<<"$output")" -eq 6 ] || fail "$output"
	run --separate-stderr deploy status inventory
	assert_success
}

@test "kill -9 in the middle of a rolling update, then rollback: all on v1 again" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "rolling", "minReady": "1s", "maxSurge": 1, "maxUnavailable": 0}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.type == "deploy.step" and .step == 2' 30
	kill -KILL "$BG_PID"
	run --separate-stderr deploy rollback inventory
	assert_success
	assert_jq "$output" 'select(.type == "deploy.done") | .outcome' rolled_back
	run versions 12
	assert_output "v1 12"
	run hap_servers
	! grep -q DRAIN <<<"$output"
	[ "$(grep -c MAINT <<<"$output")" -eq 6 ] || fail "$output"
}

@test "canary paused until promote; promote from another shell goes on" {
	REPLICAS=4
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "canary", "steps": [{"setWeight": 25}, {"pause": {}}]}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.phase == "paused"' 20
	run --separate-stderr deploy status inventory
	assert_failure 1
	assert_jq "$output" '.phase' paused
	assert_jq "$output" '.weights.v2' 25
	run --separate-stderr deploy promote inventory
	assert_success
	assert_jq "$output" '.taken' true
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.type == "deploy.done"' 20
	run versions 8
	assert_output "v2 8"
}

@test "a second run of the same service exits with a clear message" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1 '{"kind": "canary", "steps": [{"setWeight": 50}, {"pause": {}}]}'
	REPLICAS=2 spec "$BATS_TEST_TMPDIR/v1.json" v1 '{"kind": "canary", "steps": [{"pause": {}}]}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v1.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.phase == "paused"' 20
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v1.json"
	assert_failure 4
	assert_stderr "a deploy of 'inventory' is in progress"
	run --separate-stderr deploy abort inventory
	assert_success
}

@test "an unreachable haproxy socket: exit 4 before any change" {
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	kill "$(cat "$BATS_TEST_TMPDIR/haproxy.pid")"
	sleep 0.3
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/v1.json"
	assert_failure 4
	assert_stderr "cannot deploy 'inventory'"
	! ls "$OFS_STATE_DIR"/deploy/inventory/run/*.pid 2>/dev/null
	! ls "$OFS_STATE_DIR"/deploy/inventory/deploys/*.jsonl 2>/dev/null
}

@test "a corrupt spec and an unknown driver: exit 2, nothing done" {
	printf '{"service": "inventory",' >"$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/bad.json"
	assert_failure 2
	assert_stderr "bad.json"
	spec "$BATS_TEST_TMPDIR/v1.json" v1
	jq '.traffic.driver = "envoy"' "$BATS_TEST_TMPDIR/v1.json" >"$BATS_TEST_TMPDIR/envoy.json"
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/envoy.json"
	assert_failure 2
	assert_stderr "/traffic/driver"
	! ls "$OFS_STATE_DIR"/deploy/inventory/deploys/*.jsonl 2>/dev/null
}

@test "a deploy killed while it started an instance: rollback settles the instance it never saw run" {
	REPLICAS=2 spec "$BATS_TEST_TMPDIR/v1.json" v1
	deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	REPLICAS=2 spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "canary", "steps": [{"setWeight": 50}, {"pause": {}}]}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.phase == "paused"' 20
	kill -KILL "$BG_PID"
	# the journal's last word on an instance: about to start, no pid, no pid file
	printf '%s\n' '{"type":"deploy.instance","deploy":"inventory/2","service":"inventory","revision":2,"instance":"inventory-2-9","instance_revision":2,"version":"v2","state":"starting","weight":0}' \
		>>"$OFS_STATE_DIR/deploy/inventory/deploys/2.jsonl"
	run --separate-stderr deploy rollback inventory
	assert_success
	assert_jq "$output" 'select(.instance == "inventory-2-9") | .state' stopped
	assert_jq "$output" 'select(.type == "deploy.done") | .outcome' rolled_back
	run versions 8
	assert_output "v1 8"
}
