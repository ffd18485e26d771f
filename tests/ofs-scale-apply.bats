#!/usr/bin/env bats
# ofs-scale-apply.bats: decide --apply runs the policy's hook exactly once
# per change (argv with placeholders, or sh -c with the environment),
# --dry-run runs nothing, failures are reported and retried the next
# period, a hanging hook is killed at hookTimeout; decide --poll reads
# Prometheus-style answers from a local HTTP server.

load helpers
load scale

FIX=$OFS_TOP/tests/fixtures/scale/apply

setup() {
	scale_setup
	export HOOK_LOG=$BATS_TEST_TMPDIR/hook.log
	jq --arg h "$FIX/hook.sh" '.hook[0] = $h' "$FIX/apply.json" >"$BATS_TEST_TMPDIR/policy.json"
	POLICY=$BATS_TEST_TMPDIR/policy.json
}

teardown() {
	stop_bg
}

# policy_with [JQ ARGS] FILTER: a copy of the policy changed by FILTER;
# prints its path.
policy_with() {
	jq "$@" "$POLICY" >"$BATS_TEST_TMPDIR/p2.json"
	echo "$BATS_TEST_TMPDIR/p2.json"
}

@test "the hook runs exactly once per change, with the argv filled in" {
	run --separate-stderr scale decide --apply -p "$POLICY" "$FIX/apply-samples.jsonl"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(cat "$HOOK_LOG")" "scale|deployment/cart|--replicas=4|--current=2
scale|deployment/cart|--replicas=8|--current=4"
	assert_equal "$(jq -r 'select(.type == "scale.decision") | .action' <<<"$output" | paste -sd,)" \
		"none,up,none,none,up,none"
	assert_jq "$(grep scale.apply <<<"$output" | head -n 1)" '.duration_ms >= 0'
	run -0 jq -c 'select(.type == "scale.apply") | del(.duration_ms)' <<<"$output"
	assert_output "{\"type\":\"scale.apply\",\"ts\":\"2026-11-22T10:00:30.000000Z\",\"service\":\"cart\",\"from\":2,\"to\":4,\"argv\":[\"$FIX/hook.sh\",\"scale\",\"deployment/cart\",\"--replicas=4\",\"--current=2\"],\"dry_run\":false,\"ok\":true,\"exit\":0}
{\"type\":\"scale.apply\",\"ts\":\"2026-11-22T10:01:15.000000Z\",\"service\":\"cart\",\"from\":4,\"to\":8,\"argv\":[\"$FIX/hook.sh\",\"scale\",\"deployment/cart\",\"--replicas=8\",\"--current=4\"],\"dry_run\":false,\"ok\":true,\"exit\":0}"
}

@test "data in a placeholder stays one argument: no shell sees it" {
	local p
	p=$(policy_with '.service = "*"')
	run --separate-stderr scale decide --apply -p "$p" <<'EOF'
{"service":"a b;$(touch x)","ts":"2026-11-22T10:00:20Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
EOF
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(cat "$HOOK_LOG")" 'scale|deployment/a b;$(touch x)|--replicas=4|--current=2'
	[ ! -e x ]
}

@test "the shell form gets OFS_SERVICE, OFS_REPLICAS and OFS_CURRENT_REPLICAS" {
	local p
	p=$(policy_with '.hook = "echo \"$OFS_SERVICE $OFS_REPLICAS $OFS_CURRENT_REPLICAS\" >>\"$HOOK_LOG\""')
	run --separate-stderr scale decide --apply -p "$p" "$FIX/apply-samples.jsonl"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(cat "$HOOK_LOG")" "cart 4 2
cart 8 4"
	assert_jq "$(grep scale.apply <<<"$output" | head -n 1)" \
		'.command == "echo \"$OFS_SERVICE $OFS_REPLICAS $OFS_CURRENT_REPLICAS\" >>\"$HOOK_LOG\"" and (has("argv") | not) and .ok'
}

@test "--dry-run runs nothing and writes scale.apply with dry_run true" {
	run --separate-stderr scale decide --apply --dry-run -p "$POLICY" "$FIX/apply-samples.jsonl"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ ! -e "$HOOK_LOG" ]
	run -0 jq -c 'select(.type == "scale.apply")' <<<"$output"
	assert_output "{\"type\":\"scale.apply\",\"ts\":\"2026-11-22T10:00:30.000000Z\",\"service\":\"cart\",\"from\":2,\"to\":4,\"argv\":[\"$FIX/hook.sh\",\"scale\",\"deployment/cart\",\"--replicas=4\",\"--current=2\"],\"dry_run\":true,\"ok\":true}
{\"type\":\"scale.apply\",\"ts\":\"2026-11-22T10:01:15.000000Z\",\"service\":\"cart\",\"from\":4,\"to\":8,\"argv\":[\"$FIX/hook.sh\",\"scale\",\"deployment/cart\",\"--replicas=8\",\"--current=4\"],\"dry_run\":true,\"ok\":true}"
}

@test "a failing hook is reported and retried the next period" {
	# the first run fails; replicas stay at 2, so the next period decides 2 -> 4 again
	export HOOK_FAIL=1
	run --separate-stderr scale decide --apply -p "$POLICY" <<'EOF'
{"service":"cart","ts":"2026-11-22T10:00:20Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
{"service":"cart","ts":"2026-11-22T10:00:35Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
{"service":"cart","ts":"2026-11-22T10:00:50Z","metric":"cpu","value":50,"replicas":4,"ready_replicas":4}
EOF
	local st=$status
	assert_equal "$stderr" "ofs-scale: cannot scale 'cart' from 2 to 4: hook exited with status 1: boom"
	assert_equal "$(cat "$HOOK_LOG")" "scale|deployment/cart|--replicas=4|--current=2
scale|deployment/cart|--replicas=4|--current=2"
	# the last attempt succeeded: not a system error
	[ "$st" -eq 0 ] || fail "exit $st"
	run -0 jq -c 'select(.type == "scale.apply") | del(.duration_ms, .argv, .ts)' <<<"$output"
	assert_output '{"type":"scale.apply","service":"cart","from":2,"to":4,"dry_run":false,"ok":false,"exit":1,"error":"hook exited with status 1: boom"}
{"type":"scale.apply","service":"cart","from":2,"to":4,"dry_run":false,"ok":true,"exit":0}'
}

@test "a hook that fails at its last attempt: exit 4" {
	export HOOK_FAIL=9
	run --separate-stderr scale decide --apply -p "$POLICY" <<'EOF'
{"service":"cart","ts":"2026-11-22T10:00:20Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
EOF
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "ofs-scale: cannot scale 'cart' from 2 to 4: hook exited with status 1: boom"
	assert_jq "$(grep scale.apply <<<"$output")" '.ok == false and .exit == 1'
}

@test "a hook that hangs is killed at hookTimeout, its whole group with it" {
	export HOOK_HANG=1
	local p
	p=$(policy_with '.hookTimeout = "300ms"')
	run --separate-stderr scale decide --apply -p "$p" <<'EOF'
{"service":"cart","ts":"2026-11-22T10:00:20Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
EOF
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "ofs-scale: cannot scale 'cart' from 2 to 4: hook timed out after 300ms (hookTimeout), its process group killed"
	run -0 jq -c 'select(.type == "scale.apply") | {ok, exit, error}' <<<"$output"
	assert_output '{"ok":false,"exit":null,"error":"hook timed out after 300ms (hookTimeout), its process group killed"}'
	run ! kill -0 "$(cat "$HOOK_LOG.pid")"
}

@test "a hook that cannot be run is reported" {
	local p
	p=$(policy_with '.hook = ["/nonexistent/kubectl", "scale"]')
	run --separate-stderr scale decide --apply -p "$p" <<'EOF'
{"service":"cart","ts":"2026-11-22T10:00:20Z","metric":"cpu","value":100,"replicas":2,"ready_replicas":2}
EOF
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "ofs-scale: cannot scale 'cart' from 2 to 4: hook: cannot run '/nonexistent/kubectl': No such file or directory"
}

@test "--apply with a policy without a hook: exit 2 naming the policy" {
	local p
	p=$(policy_with 'del(.hook)')
	run --separate-stderr scale decide --apply -p "$p" "$FIX/apply-samples.jsonl"
	[ "$status" -eq 2 ]
	assert_regex "$stderr" "p2.json"
	assert_regex "$stderr" "hook"
	assert_output ""
}

# start_prom DIR: a static HTTP server on a free port of 127.0.0.1 serving
# the files of DIR as JSON; sets PROM_URL.
start_prom() {
	local d=$1 i
	python3 -c '
import http.server, functools, sys
class H(http.server.SimpleHTTPRequestHandler):
    extensions_map = {"": "application/json"}
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(H, directory=sys.argv[1]))
print(s.server_address[1], flush=True)
s.serve_forever()' "$d" >"$BATS_TEST_TMPDIR/prom.port" 2>"$BATS_TEST_TMPDIR/prom.err" 3>&- &
	echo "$!" >>"$BATS_TEST_TMPDIR/pids"
	for ((i = 0; i < 50; i++)); do
		[ -s "$BATS_TEST_TMPDIR/prom.port" ] && break
		sleep 0.1
	done
	[ -s "$BATS_TEST_TMPDIR/prom.port" ] || fail "the server did not start: $(cat "$BATS_TEST_TMPDIR/prom.err")"
	PROM_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/prom.port")
}

# prom_answer FILE VALUE: a Prometheus instant-query answer holding VALUE.
prom_answer() {
	printf '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795255200,"%s"]}]}}\n' "$2" >"$1"
}

# poll_policy URL: the policy with its cpu metric and replicas polled from URL.
poll_policy() {
	policy_with --arg u "$1" '.metrics[0].source = {"url": ($u + "/cpu"), "path": "$.data.result[0].value[1]", "timeout": "2s"}
		| .replicasSource = {"url": ($u + "/replicas"), "path": "$.data.result[0].value[1]"}
		| .readySource = {"url": ($u + "/ready"), "path": "$.data.result[0].value[1]"}'
}

@test "decide --poll reads Prometheus answers from the policy's sources" {
	local d=$BATS_TEST_TMPDIR/prom p
	mkdir -p "$d"
	prom_answer "$d/cpu" 100
	prom_answer "$d/replicas" 3
	prom_answer "$d/ready" 2
	start_prom "$d"
	p=$(poll_policy "$PROM_URL")
	run --separate-stderr scale decide --poll --apply -p "$p"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$stderr" ""
	run -0 jq -c 'select(.type == "scale.decision") | {service, current, ready, desired, value: .metrics[0].value}' <<<"$output"
	assert_output '{"service":"cart","current":3,"ready":2,"desired":4,"value":100}'
	assert_equal "$(cat "$HOOK_LOG")" "scale|deployment/cart|--replicas=4|--current=3"
}

@test "decide --poll: NaN is no data, not a failure" {
	local d=$BATS_TEST_TMPDIR/prom p
	mkdir -p "$d"
	prom_answer "$d/cpu" NaN
	prom_answer "$d/replicas" 3
	prom_answer "$d/ready" 3
	start_prom "$d"
	p=$(poll_policy "$PROM_URL")
	run --separate-stderr scale decide --poll -p "$p"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$stderr" ""
}

@test "decide --poll: a source that is down is reported, exit 4" {
	local d=$BATS_TEST_TMPDIR/prom p
	mkdir -p "$d"
	start_prom "$d"
	stop_bg
	p=$(poll_policy "$PROM_URL")
	run --separate-stderr scale decide --poll -p "$p"
	[ "$status" -eq 4 ]
	assert_regex "$stderr" "ofs-scale: $p: metric 'cpu': cannot get '$PROM_URL/cpu': "
	assert_regex "$stderr" "ofs-scale: $p: replicasSource: cannot get '$PROM_URL/replicas': "
	assert_output ""
}

@test "decide --poll: an answer that is not a number is reported naming the url" {
	local d=$BATS_TEST_TMPDIR/prom p
	mkdir -p "$d"
	echo '{"data":{"result":[{"value":[1,"high"]}]}}' >"$d/cpu"
	prom_answer "$d/replicas" 3
	prom_answer "$d/ready" 3
	start_prom "$d"
	p=$(poll_policy "$PROM_URL")
	run --separate-stderr scale decide --poll -p "$p"
	assert_equal "$(head -n 1 <<<"$stderr")" "ofs-scale: $p: metric 'cpu': the value at '\$.data.result[0].value[1]' in the response from '$PROM_URL/cpu' is \"high\", not a number"
}

@test "decide --poll --watch decides every period, live, and ends on SIGTERM with 143" {
	local d=$BATS_TEST_TMPDIR/prom p out=$BATS_TEST_TMPDIR/watch.jsonl
	mkdir -p "$d"
	prom_answer "$d/cpu" 100
	prom_answer "$d/replicas" 3
	prom_answer "$d/ready" 3
	start_prom "$d"
	jq '.period = "1s"' "$(poll_policy "$PROM_URL")" >"$BATS_TEST_TMPDIR/w.json"
	p=$BATS_TEST_TMPDIR/w.json
	bg "$out" "$OFS_BIN/ofs-scale" decide --poll --watch --apply -p "$p"
	local pid=$BG_PID
	# each record is written as it is made: the second period's shows up
	# while the process still runs
	wait_for_record "$out" '.type == "scale.decision" and .current == 3' 10
	prom_answer "$d/replicas" 6
	prom_answer "$d/ready" 6
	wait_for_record "$out" '.type == "scale.decision" and .current == 6' 10
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	# the state was written: the next run knows the service
	jq -e '.services.cart.recommendations | length > 0' "$OFS_STATE_DIR/scale/state.json" >/dev/null
}
