#!/usr/bin/env bats
# tests/ofs-deploy-validate.bats: `ofs-deploy validate` and the spec
# format it checks, then the plans `run --dry-run` prints.
#
# The fixtures in tests/fixtures/deploy hold a valid full spec per
# strategy (rolling with haproxy, blueGreen with exec instances and
# nginx, canary with explicit steps and exec traffic, canary by
# stepWeight, canary by stepWeights on kubectl); each gives an exact
# deploy.spec record. Then a table of invalid specs, each base.json
# broken one way with a jq filter, with the exact stderr lines (JSON
# pointers, did-you-mean, columns) and status 2; then the bad input set
# (syntax errors with line and column, not an object, empty, a missing
# file, a directory, several files at once).
#
# The plans: one deploy.plan record per step and one deploy.estimate,
# exact. Until the engine (run.c) exists, the stub cmd_run prints
# dp_plan_print's records for revision 1, replacing N instances (plan
# --from N writes a state with N running; default 0, a first deploy).
#
# validate and --dry-run run nothing, so these tests start no process.

load helpers

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/deploy

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

deploy() {
	"$OFS_BIN/ofs-deploy" "$@"
}

# invalid FILTER: write bad.json, base.json changed by the jq FILTER,
# validate it and expect status 2, nothing on stdout, and on stderr
# exactly the lines read from standard input.
invalid() {
	local want
	jq "$1" "$FIX/base.json" >bad.json || fail "jq filter failed: $1"
	want=$(cat)
	run -2 --separate-stderr deploy validate bad.json
	assert_equal "$output" ""
	assert_equal "$stderr" "$want"
}

# current SERVICE N: a state directory in which revision 1 of SERVICE
# runs N instances (current.json as a deploy leaves it; no journal, so
# the plan is numbered 1).
current() {
	local dir=$OFS_STATE_DIR/deploy/$1 i
	mkdir -p "$dir/deploys" "$dir/revisions"
	{
		printf '{"service":"%s","revision":1,"version":"v0","deploy":1,"instances":[' "$1"
		for ((i = 1; i <= $2; i++)); do
			[ "$i" -gt 1 ] && printf ','
			printf '{"instance":"%s-1-%d","revision":1,"version":"v0","state":"serving","weight":1}' "$1" "$i"
		done
		printf ']}\n'
	} >"$dir/current.json"
}

# plan FILE [--from N] [ARGS...]: the records of `run --dry-run`, without ts, one
# compact object per line.
plan() {
	local file=$1
	shift
	if [ "${1:-}" = --from ]; then
		current "$(jq -r .service "$file")" "$2"
		shift 2
	fi
	run -0 --separate-stderr deploy run --dry-run "$@" "$file"
	assert_equal "$stderr" ""
	output=$(jq -c 'del(.ts)' <<<"$output")
	mapfile -t lines <<<"$output"
}

# ---- valid specs ---------------------------------------------------------------

@test "valid: one exact deploy.spec record per strategy fixture" {
	local f want
	while read -r f want; do
		run -0 --separate-stderr deploy validate "$FIX/$f"
		assert_equal "$stderr" ""
		assert_equal "${#lines[@]}" 1
		assert_jq "$output" '.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")'
		assert_jq "$output" 'del(.ts) | tojson' \
			"$(jq -c --arg f "$FIX/$f" '{type: "deploy.spec", file: $f} + .' <<<"$want")"
	done <<'EOF'
rolling.json {"service":"inventory","version":"v2","replicas":10,"strategy":"rolling","instances":"process","traffic":"haproxy","analyses":["errors"]}
bluegreen.json {"service":"checkout","version":"2.4.1","replicas":3,"strategy":"blueGreen","instances":"exec","traffic":"nginx","analyses":["smoke","errors"]}
canary.json {"service":"orders","version":"v7","replicas":4,"strategy":"canary","instances":"process","traffic":"exec","analyses":["latency"],"steps":8}
stepweight.json {"service":"search","version":"v3","replicas":5,"strategy":"canary","instances":"process","traffic":"none","analyses":[],"steps":11}
kubectl.json {"service":"payments","version":"v12","replicas":6,"strategy":"canary","instances":"kubectl","traffic":"kubectl","analyses":["success"],"steps":9}
base.json {"service":"inventory","version":"v2","replicas":4,"strategy":"rolling","instances":"process","traffic":"haproxy","analyses":["errors"]}
EOF
}

@test "valid: the fixtures really hold what this file says they cover" {
	assert_jq "$(cat "$FIX/canary.json")" '[.strategy.steps[] | keys[0]] | join(",")' \
		"setWeight,pause,analysis,setWeight,pause,setWeight,pause"
	assert_jq "$(cat "$FIX/canary.json")" '.strategy.steps[4].pause == {} and (.instances.start | type) == "string"'
	assert_jq "$(cat "$FIX/bluegreen.json")" '[.analysis[].metrics[].provider.kind] | join(",")' "health,command,http"
	assert_jq "$(cat "$FIX/rolling.json")" '.analysis[0].metrics[0].provider.kind' "haproxy"
}

@test "valid: a minimal spec takes every default" {
	cat >min.json <<'EOF'
{"service": "s", "version": "1", "replicas": 1,
 "instances": {"driver": "process", "start": "exec ./s", "ports": "18000-18001"},
 "strategy": {"kind": "rolling"}}
EOF
	run -0 deploy validate min.json
	assert_jq "$output" 'del(.ts) | tojson' \
		'{"type":"deploy.spec","file":"min.json","service":"s","version":"1","replicas":1,"strategy":"rolling","instances":"process","traffic":"none","analyses":[]}'
	# 25 % of 1 rounds maxSurge up to 1 and maxUnavailable down to 0.
	plan min.json
	assert_equal "${lines[0]}" '{"type":"deploy.plan","service":"s","revision":1,"step":1,"steps":1,"action":"batch","max_surge":1,"max_unavailable":0,"stop":0,"start":1,"old_after":0,"new_after":1,"min_available":0,"max_total":1}'
}

@test "valid: ready checks by command need no ports without a traffic driver" {
	jq '.instances.ready = {"kind": "command", "command": ["./ready", "{instance}"]} | del(.instances.ports)
	    | del(.traffic) | .analysis[0].metrics[0].provider = {"kind": "health", "of": "all"}' \
		"$FIX/base.json" >cmd.json
	run -0 deploy validate cmd.json
	assert_jq "$output" '.traffic' none
}

@test "valid: literal braces: '{{' and braces around anything but a word" {
	jq '.instances.start = ["awk", "{print $1}", "{{port}", "{}", "{ port }"]' "$FIX/base.json" >b.json
	run -0 deploy validate b.json
}

@test "valid: conditions with blanks or none, && and ||, negative and exponent numbers" {
	jq '.analysis[0].metrics[0].successCondition = "result>=-1&&result<=1e3||result==42"
	    | .analysis[0].metrics[0].failureCondition = "  result  !=  0.5  "' "$FIX/base.json" >c.json
	run -0 deploy validate c.json
}

@test "valid: several files, '-' reads standard input; status 0" {
	run -0 deploy validate "$FIX/canary.json" - <"$FIX/bluegreen.json"
	assert_equal "${#lines[@]}" 2
	assert_jq "${lines[1]}" '[.file, .service] | join("|")' "-|checkout"
}

# ---- invalid specs: exact messages, status 2 -----------------------------------

@test "invalid: missing required top-level keys, all at once" {
	invalid 'del(.service, .version, .replicas, .instances, .strategy)' <<'EOF'
ofs-deploy: bad.json: missing required key 'service'
ofs-deploy: bad.json: missing required key 'version'
ofs-deploy: bad.json: missing required key 'replicas'
ofs-deploy: bad.json: missing required key 'instances'
ofs-deploy: bad.json: missing required key 'strategy'
EOF
}

@test "invalid: service and version characters and length" {
	invalid '.service = "in ventory" | .version = ("v" * 65)' <<EOF
ofs-deploy: bad.json: /service: must be 1 to 64 letters, digits, '.', '_' or '-', got 'in ventory'
ofs-deploy: bad.json: /version: must be 1 to 64 letters, digits, '.', '_' or '-', got '$(printf 'v%.0s' $(seq 40))...'
EOF
}

@test "invalid: an empty version, an artifact that is not a string" {
	invalid '.version = "" | .artifact = 5' <<'EOF'
ofs-deploy: bad.json: /version: must be 1 to 64 letters, digits, '.', '_' or '-', got ''
ofs-deploy: bad.json: /artifact: must be a string, got number 5
EOF
}

@test "invalid: replicas out of range" {
	invalid '.replicas = 0' <<'EOF'
ofs-deploy: bad.json: /replicas: must be 1..1000, got 0
EOF
}

@test "invalid: replicas not an integer" {
	invalid '.replicas = "6"' <<'EOF'
ofs-deploy: bad.json: /replicas: must be an integer, got string '6'
EOF
}

@test "invalid: unknown keys everywhere, with suggestions" {
	invalid '.servce = 1 | .instances.readyTimout = "1s" | .traffic.sockt = "x"
	    | .strategy.maxSurg = 1 | .analysis[0].metrics[0].intervall = "1s"' <<'EOF'
ofs-deploy: bad.json: /servce: unknown key 'servce'; did you mean 'service'?
ofs-deploy: bad.json: /instances/readyTimout: unknown key 'readyTimout'; did you mean 'readyTimeout'?
ofs-deploy: bad.json: /traffic/sockt: unknown key 'sockt'; did you mean 'socket'?
ofs-deploy: bad.json: /strategy/maxSurg: unknown key 'maxSurg'; did you mean 'maxSurge'?
ofs-deploy: bad.json: /analysis/0/metrics/0/intervall: unknown key 'intervall'; did you mean 'interval'?
EOF
}

@test "invalid: unknown traffic driver, listing the drivers" {
	invalid '.traffic.driver = "envoy"' <<'EOF'
ofs-deploy: bad.json: /traffic/driver: unknown driver 'envoy'; expected none, haproxy, nginx, exec or kubectl
EOF
}

@test "invalid: misspelt drivers and kinds get a suggestion" {
	invalid '.instances.driver = "proces" | .traffic.driver = "ngnix" | .strategy.kind = "bluegreen"' <<'EOF'
ofs-deploy: bad.json: /instances/driver: unknown driver 'proces'; did you mean 'process'?
ofs-deploy: bad.json: /traffic/driver: unknown driver 'ngnix'; did you mean 'nginx'?
ofs-deploy: bad.json: /strategy/kind: unknown strategy 'bluegreen'; did you mean 'blueGreen'?
EOF
}

@test "invalid: a key of another driver" {
	invalid '.instances.image = "x" | .traffic.file = "x"' <<'EOF'
ofs-deploy: bad.json: /instances/image: unknown key 'image' for the process driver
ofs-deploy: bad.json: /traffic/file: unknown key 'file' for the haproxy driver
EOF
}

@test "invalid: instances not an object, strategy an array" {
	invalid '.instances = "process" | .strategy = []' <<'EOF'
ofs-deploy: bad.json: /instances: must be an object, got string 'process'
ofs-deploy: bad.json: /strategy: must be an object, got array
EOF
}

@test "invalid: no start command" {
	invalid 'del(.instances.start)' <<'EOF'
ofs-deploy: bad.json: /instances: missing required key 'start'
EOF
}

@test "invalid: empty commands, an empty program name, a command of the wrong type" {
	invalid '.instances.start = [] | .instances.stop = ["", "x"] | .instances.ready = {"kind": "command", "command": 5}' <<'EOF'
ofs-deploy: bad.json: /instances/start: must not be empty
ofs-deploy: bad.json: /instances/stop/0: the program name must not be empty
ofs-deploy: bad.json: /instances/ready/command: must be an argv array of strings or a shell command string, got number 5
EOF
}

@test "invalid: unknown placeholders in hooks, with and without a suggestion" {
	invalid '.instances.start = ["bin/x", "--port", "{prot}", "{nme}"]' <<'EOF'
ofs-deploy: bad.json: /instances/start/2: unknown placeholder '{prot}'; did you mean '{port}'?
ofs-deploy: bad.json: /instances/start/3: unknown placeholder '{nme}'; expected {service}, {version}, {artifact}, {revision}, {replicas}, {instance}, {host}, {port} or {index}
EOF
}

@test "invalid: an exec driver without a stop command" {
	invalid '.instances.driver = "exec"' <<'EOF'
ofs-deploy: bad.json: /instances: missing required key 'stop'
EOF
}

@test "invalid: ports upside down" {
	invalid '.instances.ports = "18199-18100"' <<'EOF'
ofs-deploy: bad.json: /instances/ports: the first port 18199 is above the last 18100
EOF
}

@test "invalid: ports out of range, not a range, of the wrong type" {
	invalid '.instances.ports = "0-10"' <<'EOF'
ofs-deploy: bad.json: /instances/ports: must be 1..65535, got 0
EOF
	invalid '.instances.ports = 70000' <<'EOF'
ofs-deploy: bad.json: /instances/ports: must be 1..65535, got 70000
EOF
	invalid '.instances.ports = "18100..18110"' <<'EOF'
ofs-deploy: bad.json: /instances/ports: must be a port range like "18100-18199" or a port number, got '18100..18110'
EOF
	invalid '.instances.ports = [18100, 18101]' <<'EOF'
ofs-deploy: bad.json: /instances/ports: must be a port range like "18100-18199" or a port number, got array
EOF
}

@test "invalid: too few ports for the rolling surge (25 % of 10 rounds up to 3)" {
	invalid '.replicas = 10 | .instances.ports = "18100-18111"' <<'EOF'
ofs-deploy: bad.json: /instances/ports: 18100-18111 holds 12 ports, the rolling strategy needs 13 (replicas 10 + maxSurge 3)
EOF
}

@test "invalid: too few ports for a blue/green deploy" {
	invalid '.instances.ports = 18100 | .strategy = {"kind": "blueGreen"}' <<'EOF'
ofs-deploy: bad.json: /instances/ports: 18100-18100 holds 1 port, the blueGreen strategy needs 8 (2 x replicas 4: the new revision at full size beside the old)
EOF
}

@test "invalid: no ports though the traffic driver or the ready check needs them" {
	invalid 'del(.instances.ports)' <<'EOF'
ofs-deploy: bad.json: /instances: missing required key 'ports' (haproxy traffic needs a port per instance)
EOF
	invalid 'del(.instances.ports) | del(.traffic) | .analysis[0].metrics[0].provider = {"kind": "health"}' <<'EOF'
ofs-deploy: bad.json: /instances: missing required key 'ports' (an http ready check needs a port per instance)
EOF
}

@test "invalid: ready checks: unknown kind, a key of another kind, a bad path and timeout" {
	invalid '.instances.ready = {"kind": "grpc"}' <<'EOF'
ofs-deploy: bad.json: /instances/ready/kind: unknown ready check kind 'grpc'; expected http, tcp or command
EOF
	invalid '.instances.ready = {"kind": "tcp", "path": "/x"}' <<'EOF'
ofs-deploy: bad.json: /instances/ready/path: unknown key 'path' for a tcp ready check
EOF
	invalid '.instances.ready = {"path": "health", "timeout": "0s"}' <<'EOF'
ofs-deploy: bad.json: /instances/ready/path: must start with '/', got 'health'
ofs-deploy: bad.json: /instances/ready/timeout: must be more than 0
EOF
}

@test "invalid: a command ready check without its command" {
	invalid '.instances.ready = {"kind": "command"}' <<'EOF'
ofs-deploy: bad.json: /instances/ready: missing required key 'command'
EOF
}

@test "invalid: bad durations" {
	invalid '.instances.readyTimeout = "0s" | .instances.stopTimeout = -1 | .traffic.drainTimeout = "soon"
	    | .traffic.timeout = "10 s" | .strategy.minReady = "1h30" | .strategy.progressDeadline = 0' <<'EOF'
ofs-deploy: bad.json: /instances/readyTimeout: must be more than 0
ofs-deploy: bad.json: /instances/stopTimeout: must not be negative, got -1
ofs-deploy: bad.json: /traffic/drainTimeout: invalid duration 'soon': expected a number
ofs-deploy: bad.json: /traffic/timeout: invalid duration '10 s': blanks are not allowed
ofs-deploy: bad.json: /strategy/minReady: invalid duration '1h30': missing unit after '30' (use ns, us, ms, s, m, h, d or w)
ofs-deploy: bad.json: /strategy/progressDeadline: must be more than 0
EOF
}

@test "invalid: kubectl instances without an image, behind haproxy" {
	invalid '.instances = {"driver": "kubectl", "namespace": "shop"}' <<'EOF'
ofs-deploy: bad.json: /instances: missing required key 'image'
ofs-deploy: bad.json: /traffic/driver: haproxy traffic needs process or exec instances (kubectl instances take kubectl or none traffic)
EOF
}

@test "invalid: kubectl templates with an unknown placeholder; process keys on kubectl" {
	invalid '.instances = {"driver": "kubectl", "image": "reg/shop:{versoin}", "ports": "1-9"} | .traffic = {"driver": "none"}' <<'EOF'
ofs-deploy: bad.json: /instances/ports: unknown key 'ports' for the kubectl driver
ofs-deploy: bad.json: /instances/image: unknown placeholder '{versoin}'; did you mean '{version}'?
EOF
}

@test "invalid: kubectl traffic needs kubectl instances" {
	invalid '.traffic = {"driver": "kubectl"}' <<'EOF'
ofs-deploy: bad.json: /traffic/driver: kubectl traffic needs kubectl instances, got process instances
EOF
}

@test "invalid: kubectl traffic: a Service for blueGreen, a TrafficSplit for canary" {
	invalid '.instances = {"driver": "kubectl", "image": "x"} | .traffic = {"driver": "kubectl"}
	    | .strategy = {"kind": "blueGreen"}' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'service' (blueGreen switches a Service's selector)
EOF
	invalid '.instances = {"driver": "kubectl", "image": "x"} | .traffic = {"driver": "kubectl", "service": "s"}
	    | .strategy = {"kind": "canary", "stepWeights": [50]}' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'trafficSplit' (a canary sets its weights)
EOF
}

@test "invalid: haproxy traffic without a socket, a bad backend name" {
	invalid 'del(.traffic.socket) | .traffic.backend = "inventory be"' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'socket'
ofs-deploy: bad.json: /traffic/backend: must be a valid haproxy backend name (letters, digits, '-', '_', '.' and ':'), got 'inventory be'
EOF
}

@test "invalid: nginx traffic: no file, bad upstream, test and reload" {
	invalid '.traffic = {"driver": "nginx", "upstream": "a;b", "test": 5, "reload": ""}' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'file'
ofs-deploy: bad.json: /traffic/upstream: must be a valid nginx upstream name (letters, digits, '-', '_', '.' and ':'), got 'a;b'
ofs-deploy: bad.json: /traffic/test: must be an argv array of strings or a shell command string, got number 5
ofs-deploy: bad.json: /traffic/reload: must not be empty
EOF
}

@test "invalid: exec traffic without setWeights; a traffic object without a driver" {
	invalid '.traffic = {"driver": "exec"}' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'setWeights'
EOF
	invalid '.traffic = {"drainTimeout": "1s"}' <<'EOF'
ofs-deploy: bad.json: /traffic: missing required key 'driver'
EOF
}

@test "invalid: maxSurge and maxUnavailable forms" {
	invalid '.strategy.maxSurge = "x%" | .strategy.maxUnavailable = "120%"' <<'EOF'
ofs-deploy: bad.json: /strategy/maxSurge: must be a count (0 or more) or a percentage like "25%", got string 'x%'
ofs-deploy: bad.json: /strategy/maxUnavailable: must be at most 100%, got 120%
EOF
	invalid '.strategy.maxSurge = -1 | .strategy.maxUnavailable = true' <<'EOF'
ofs-deploy: bad.json: /strategy/maxSurge: must be at least 0, got -1
ofs-deploy: bad.json: /strategy/maxUnavailable: must be a count (0 or more) or a percentage like "25%", got boolean
EOF
}

@test "invalid: maxSurge and maxUnavailable both 0" {
	invalid '.strategy.maxSurge = 0 | .strategy.maxUnavailable = "0%"' <<'EOF'
ofs-deploy: bad.json: /strategy: maxSurge and maxUnavailable must not both be 0
EOF
}

@test "invalid: a key of another strategy" {
	invalid '.strategy.steps = [] | .strategy.autoPromotion = false' <<'EOF'
ofs-deploy: bad.json: /strategy/steps: unknown key 'steps' for the rolling strategy
ofs-deploy: bad.json: /strategy/autoPromotion: unknown key 'autoPromotion' for the rolling strategy
EOF
}

@test "invalid: an analysis that does not exist, with and without a suggestion" {
	invalid '.strategy.analysis = "erors"' <<'EOF'
ofs-deploy: bad.json: /strategy/analysis: no analysis named 'erors'; did you mean 'errors'?
EOF
	invalid '.strategy = {"kind": "blueGreen", "prePromotionAnalysis": "smoke", "postPromotionAnalysis": "errors"}' <<'EOF'
ofs-deploy: bad.json: /strategy/prePromotionAnalysis: no analysis named 'smoke'
EOF
}

@test "invalid: blueGreen without a traffic driver" {
	invalid 'del(.traffic) | .strategy = {"kind": "blueGreen"}' <<'EOF'
ofs-deploy: bad.json: /strategy/kind: blueGreen needs a traffic driver other than none to switch traffic
EOF
}

@test "invalid: blueGreen: autoPromotionDelay without autoPromotion, bad types" {
	invalid '.strategy = {"kind": "blueGreen", "autoPromotion": false, "autoPromotionDelay": "1m", "scaleDownDelay": "x"}' <<'EOF'
ofs-deploy: bad.json: /strategy/autoPromotionDelay: has no effect with autoPromotion false (the switch waits for promote)
ofs-deploy: bad.json: /strategy/scaleDownDelay: invalid duration 'x': expected a number
EOF
	invalid '.strategy = {"kind": "blueGreen", "autoPromotion": "no"}' <<'EOF'
ofs-deploy: bad.json: /strategy/autoPromotion: must be true or false, got string 'no'
EOF
}

@test "invalid: canary steps: weight out of range, bad pause, two keys, none, unknown, not an object" {
	invalid '.strategy = {"kind": "canary", "steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 120},
	    {"pause": {"duration": "x"}}, {"pause": {}, "setWeight": 1}, {}, {"paus": {}},
	    {"pause": {"durtion": "1s"}}, 5, {"analysis": "nope"}]}' <<'EOF'
ofs-deploy: bad.json: /strategy/steps/2/setWeight: must be 0..100, got 120
ofs-deploy: bad.json: /strategy/steps/3/pause/duration: invalid duration 'x': expected a number
ofs-deploy: bad.json: /strategy/steps/4: a step takes exactly one of 'setWeight', 'pause' or 'analysis', got 2
ofs-deploy: bad.json: /strategy/steps/5: a step takes exactly one of 'setWeight', 'pause' or 'analysis'
ofs-deploy: bad.json: /strategy/steps/6/paus: unknown key 'paus'; did you mean 'pause'?
ofs-deploy: bad.json: /strategy/steps/7/pause/durtion: unknown key 'durtion'; did you mean 'duration'?
ofs-deploy: bad.json: /strategy/steps/8: must be an object, got number 5
ofs-deploy: bad.json: /strategy/steps/9/analysis: no analysis named 'nope'
EOF
}

@test "invalid: canary without steps, with two kinds of steps" {
	invalid '.strategy = {"kind": "canary"}' <<'EOF'
ofs-deploy: bad.json: /strategy: a canary needs one of 'steps', 'stepWeight' (with 'maxWeight') or 'stepWeights'
EOF
	invalid '.strategy = {"kind": "canary", "steps": [], "stepWeights": [10]}' <<'EOF'
ofs-deploy: bad.json: /strategy/stepWeights: cannot be combined with 'steps'; give one of 'steps', 'stepWeight' or 'stepWeights'
EOF
}

@test "invalid: canary steps with interval, analysis and maxWeight" {
	invalid '.strategy = {"kind": "canary", "steps": [], "interval": "1m", "analysis": "errors", "maxWeight": 3}' <<'EOF'
ofs-deploy: bad.json: /strategy/maxWeight: only goes with 'stepWeight'
ofs-deploy: bad.json: /strategy/interval: only goes with 'stepWeight' or 'stepWeights' (steps give their own pauses)
ofs-deploy: bad.json: /strategy/analysis: only goes with 'stepWeight' or 'stepWeights' (give steps {"analysis": NAME} instead)
EOF
}

@test "invalid: stepWeight without maxWeight, above maxWeight" {
	invalid '.strategy = {"kind": "canary", "stepWeight": 10}' <<'EOF'
ofs-deploy: bad.json: /strategy: missing required key 'maxWeight' (stepWeight needs it)
EOF
	invalid '.strategy = {"kind": "canary", "stepWeight": 60, "maxWeight": 50, "interval": "0s"}' <<'EOF'
ofs-deploy: bad.json: /strategy/interval: must be more than 0
ofs-deploy: bad.json: /strategy/stepWeight: must be at most maxWeight (50), got 60
EOF
}

@test "invalid: stepWeights empty, not increasing, out of range" {
	invalid '.strategy = {"kind": "canary", "stepWeights": []}' <<'EOF'
ofs-deploy: bad.json: /strategy/stepWeights: must not be empty
EOF
	invalid '.strategy = {"kind": "canary", "stepWeights": [5, 5, 0, 101]}' <<'EOF'
ofs-deploy: bad.json: /strategy/stepWeights/1: must be above the weight before it (5), got 5
ofs-deploy: bad.json: /strategy/stepWeights/2: must be 1..100, got 0
ofs-deploy: bad.json: /strategy/stepWeights/3: must be 1..100, got 101
EOF
}

@test "invalid: conditions name the column" {
	invalid '.analysis[0].metrics[0].successCondition = "result 0.05"' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/successCondition: expected a comparison operator at column 8
EOF
	invalid '.analysis[0].metrics[0].successCondition = "result = 0.05" | .analysis[0].metrics[0].failureCondition = "value > 1"' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/successCondition: expected a comparison operator at column 8 (use '==' to compare)
ofs-deploy: bad.json: /analysis/0/metrics/0/failureCondition: expected 'result' at column 1
EOF
	invalid '.analysis[0].metrics[0].successCondition = "result < 0.05 & result > 1" | .analysis[0].metrics[0].failureCondition = "result >= 0.05 ||"' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/successCondition: expected '&&' or '||' at column 15
ofs-deploy: bad.json: /analysis/0/metrics/0/failureCondition: expected 'result' at column 18
EOF
	invalid '.analysis[0].metrics[0].successCondition = "result > abc" | .analysis[0].metrics[0].failureCondition = "result > 1e999"' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/successCondition: expected a number at column 10
ofs-deploy: bad.json: /analysis/0/metrics/0/failureCondition: invalid number at column 10
EOF
}

@test "invalid: providers: unknown kind, a key of another kind" {
	invalid '.analysis[0].metrics[0].provider = {"kind": "prometheus"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/kind: unknown provider 'prometheus'; expected http, haproxy, command or health
EOF
	invalid '.analysis[0].metrics[0].provider = {"kind": "health", "url": "http://x"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/url: unknown key 'url' for the health provider
EOF
}

@test "invalid: http provider: URL scheme, JSONPath column, timeout" {
	invalid '.analysis[0].metrics[0].provider = {"kind": "http", "url": "ftp://x", "jsonPath": "$.a[?(@.b = 1)]", "timeout": "0s"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/url: must be an http:// or https:// URL, got 'ftp://x'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/jsonPath: invalid JSONPath '$.a[?(@.b = 1)]': column 11: use '==' to compare
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/timeout: must be more than 0
EOF
}

@test "invalid: haproxy provider: metric and set, socket when traffic is not haproxy" {
	invalid '.analysis[0].metrics[0].provider = {"kind": "haproxy", "metric": "errorrate", "of": "both"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/metric: must be one of 'errorRate', 'requestRate', 'sessions', got 'errorrate'; did you mean 'errorRate'?
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/of: must be one of 'new', 'old', 'all', got 'both'
EOF
	invalid '.traffic = {"driver": "exec", "setWeights": "./weights"} | .analysis[0].metrics[0].provider = {"kind": "haproxy", "metric": "sessions"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider: missing required key 'socket' (the traffic driver is not haproxy)
EOF
}

@test "invalid: command provider without command, with a bad placeholder" {
	invalid '.analysis[0].metrics[0].provider = {"kind": "command"}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider: missing required key 'command'
EOF
	invalid '.analysis[0].metrics[0].provider = {"kind": "command", "command": ["q", "{services}"]}' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/provider/command/1: unknown placeholder '{services}'; did you mean '{service}'?
EOF
}

@test "invalid: metric counts, limits and noData" {
	invalid '.analysis[0].metrics[0] |= (.count = -1 | .failureLimit = 1.5 | .consecutiveErrorLimit = -2
	    | .noData = "ignore" | .interval = "0s" | .initialDelay = "-1s")' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0/interval: must be more than 0
ofs-deploy: bad.json: /analysis/0/metrics/0/initialDelay: invalid duration '-1s': must not be negative
ofs-deploy: bad.json: /analysis/0/metrics/0/count: must be 0..1000000, got -1
ofs-deploy: bad.json: /analysis/0/metrics/0/failureLimit: must be an integer, got number 1.5
ofs-deploy: bad.json: /analysis/0/metrics/0/consecutiveErrorLimit: must be -1..1000000, got -2
ofs-deploy: bad.json: /analysis/0/metrics/0/noData: must be one of 'inconclusive', 'fail', 'pass', 'wait', got 'ignore'
EOF
}

@test "invalid: a metric without name and provider; no metrics" {
	invalid '.analysis[0].metrics[0] |= del(.name, .provider)' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/0: missing required key 'name'
ofs-deploy: bad.json: /analysis/0/metrics/0: missing required key 'provider'
EOF
	invalid '.analysis[0].metrics = []' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics: must not be empty
EOF
}

@test "invalid: duplicate analysis and metric names" {
	invalid '.analysis[0].metrics += [.analysis[0].metrics[0]] | .analysis += [.analysis[0]]' <<'EOF'
ofs-deploy: bad.json: /analysis/0/metrics/1/name: duplicate metric name 'error-rate' (first at /analysis/0/metrics/0)
ofs-deploy: bad.json: /analysis/1/metrics/1/name: duplicate metric name 'error-rate' (first at /analysis/1/metrics/0)
ofs-deploy: bad.json: /analysis/1/name: duplicate analysis name 'errors' (first at /analysis/0)
EOF
}

@test "invalid: analysis not an array, a bad analysis name" {
	invalid '.analysis = {} | del(.strategy.analysis)' <<'EOF'
ofs-deploy: bad.json: /analysis: must be an array, got object
EOF
	invalid '.analysis[0].name = "error rate" | del(.strategy.analysis)' <<'EOF'
ofs-deploy: bad.json: /analysis/0/name: must be 1 to 64 letters, digits, '.', '_' or '-', got 'error rate'
EOF
}

# ---- bad input -------------------------------------------------------------------

@test "a syntax error names the line and column" {
	printf '{\n  "service": "x",\n  "replicas": 3\n  "version": "v1"\n}\n' >s.json
	run -2 --separate-stderr deploy validate s.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-deploy: s.json:3:16: invalid JSON: expected ',' or '}' after this value, found character '\"' at 4:3"
	printf '{"service": "x",}' >t.json
	run -2 --separate-stderr deploy validate t.json
	assert_equal "$stderr" "ofs-deploy: t.json:1:16: invalid JSON: trailing comma before '}'"
}

@test "not an object, empty, a missing file, a directory; the other files are still checked" {
	echo '[1]' >a.json
	: >e.json
	mkdir d.json
	run -2 --separate-stderr deploy validate a.json e.json missing.json d.json "$FIX/base.json"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.service' inventory
	assert_equal "$stderr" "ofs-deploy: a.json: the top level must be an object, got array
ofs-deploy: e.json:1:1: invalid JSON: empty input
ofs-deploy: cannot open 'missing.json': No such file or directory
ofs-deploy: cannot read 'd.json': Is a directory"
}

@test "several errors in several files, all reported" {
	jq 'del(.service) | .replicas = 0' "$FIX/base.json" >one.json
	jq '.traffic.driver = "envoy" | .strategy.kind = "canary"' "$FIX/base.json" >two.json
	run -2 --separate-stderr deploy validate one.json "$FIX/canary.json" two.json
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.file' "$FIX/canary.json"
	assert_equal "$stderr" "ofs-deploy: one.json: missing required key 'service'
ofs-deploy: one.json: /replicas: must be 1..1000, got 0
ofs-deploy: two.json: /traffic/driver: unknown driver 'envoy'; expected none, haproxy, nginx, exec or kubectl
ofs-deploy: two.json: /strategy: a canary needs one of 'steps', 'stepWeight' (with 'maxWeight') or 'stepWeights'"
}

@test "binary garbage and a 10 MB string are refused cleanly" {
	head -c 4096 /dev/urandom >g.json
	run -2 --separate-stderr deploy validate g.json
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^ofs-deploy: g\.json:1:[0-9]+: invalid JSON: '
	head -c 10000000 /dev/zero | tr '\0' v >v.txt
	jq --rawfile v v.txt '.version = $v' "$FIX/base.json" >big.json
	run -2 --separate-stderr deploy validate big.json
	assert_equal "$stderr" "ofs-deploy: big.json: /version: must be 1 to 64 letters, digits, '.', '_' or '-', got '$(printf 'v%.0s' $(seq 40))...'"
}

@test "the command line: no spec is a usage error" {
	run -2 --separate-stderr deploy validate
	assert_equal "$output" ""
	assert_equal "${stderr_lines[0]}" "ofs-deploy validate: missing spec file"
}

@test "a full disk is an error (status 4)" {
	run -4 bash -c '"$1" validate "$2" >/dev/full' _ "$OFS_BIN/ofs-deploy" "$FIX/base.json"
}

# ---- plans (run --dry-run) -------------------------------------------------------

@test "plan: rolling 10 replicas, 25 %/25 %, replacing 10: three batches" {
	jq '.replicas = 10 | .instances.ports = "18100-18119" | del(.strategy.analysis) | .strategy.minReady = "10s"' \
		"$FIX/base.json" >r.json
	plan r.json --from 10
	assert_equal "$output" '{"type":"deploy.plan","service":"inventory","revision":1,"step":1,"steps":3,"action":"batch","max_surge":3,"max_unavailable":2,"stop":2,"start":5,"old_after":8,"new_after":5,"min_available":8,"max_total":13}
{"type":"deploy.plan","service":"inventory","revision":1,"step":2,"steps":3,"action":"batch","stop":5,"start":5,"old_after":3,"new_after":10,"min_available":8,"max_total":13}
{"type":"deploy.plan","service":"inventory","revision":1,"step":3,"steps":3,"action":"batch","stop":3,"start":0,"old_after":0,"new_after":10,"min_available":10,"max_total":13}
{"type":"deploy.estimate","service":"inventory","revision":1,"strategy":"rolling","replicas":10,"from_replicas":10,"min_duration_s":30,"rollback_s":0,"manual":false}'
}

@test "plan: rolling, a first deploy starts every instance in one batch" {
	plan "$FIX/rolling.json"
	assert_equal "$output" '{"type":"deploy.plan","service":"inventory","revision":1,"step":1,"steps":1,"action":"batch","max_surge":3,"max_unavailable":2,"stop":0,"start":10,"old_after":0,"new_after":10,"min_available":0,"max_total":10,"analysis":"errors"}
{"type":"deploy.estimate","service":"inventory","revision":1,"strategy":"rolling","replicas":10,"from_replicas":0,"min_duration_s":40,"rollback_s":0,"manual":false}'
}

@test "plan: rolling from fewer and from more instances than the spec runs" {
	jq '.replicas = 4 | .strategy.maxSurge = 1 | .strategy.maxUnavailable = 0 | del(.strategy.analysis)' \
		"$FIX/base.json" >r.json
	plan r.json --from 2
	assert_equal "$output" '{"type":"deploy.plan","service":"inventory","revision":1,"step":1,"steps":3,"action":"batch","max_surge":1,"max_unavailable":0,"stop":0,"start":3,"old_after":2,"new_after":3,"min_available":2,"max_total":5}
{"type":"deploy.plan","service":"inventory","revision":1,"step":2,"steps":3,"action":"batch","stop":1,"start":1,"old_after":1,"new_after":4,"min_available":4,"max_total":5}
{"type":"deploy.plan","service":"inventory","revision":1,"step":3,"steps":3,"action":"batch","stop":1,"start":0,"old_after":0,"new_after":4,"min_available":4,"max_total":5}
{"type":"deploy.estimate","service":"inventory","revision":1,"strategy":"rolling","replicas":4,"from_replicas":2,"min_duration_s":0,"rollback_s":0,"manual":false}'
	plan r.json --from 6
	assert_jq "$(head -1 <<<"$output")" '[.stop, .start, .old_after, .new_after, .min_available, .max_total] | join(" ")' "2 1 4 1 4 6"
	assert_jq "$(tail -1 <<<"$output")" '.from_replicas' 6
}

@test "plan: canary stepWeight 10 up to 50 every 1m: five weights, 300 s" {
	plan "$FIX/stepweight.json"
	assert_equal "$output" '{"type":"deploy.plan","service":"search","revision":1,"step":1,"steps":11,"action":"setWeight","weight":10,"canary_instances":1,"stable_instances":5}
{"type":"deploy.plan","service":"search","revision":1,"step":2,"steps":11,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"search","revision":1,"step":3,"steps":11,"action":"setWeight","weight":20,"canary_instances":1,"stable_instances":4}
{"type":"deploy.plan","service":"search","revision":1,"step":4,"steps":11,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"search","revision":1,"step":5,"steps":11,"action":"setWeight","weight":30,"canary_instances":2,"stable_instances":4}
{"type":"deploy.plan","service":"search","revision":1,"step":6,"steps":11,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"search","revision":1,"step":7,"steps":11,"action":"setWeight","weight":40,"canary_instances":2,"stable_instances":3}
{"type":"deploy.plan","service":"search","revision":1,"step":8,"steps":11,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"search","revision":1,"step":9,"steps":11,"action":"setWeight","weight":50,"canary_instances":3,"stable_instances":3}
{"type":"deploy.plan","service":"search","revision":1,"step":10,"steps":11,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"search","revision":1,"step":11,"steps":11,"action":"promote"}
{"type":"deploy.estimate","service":"search","revision":1,"strategy":"canary","replicas":5,"from_replicas":0,"min_duration_s":300,"rollback_s":0,"manual":false}'
}

@test "plan: canary steps: pauses, a manual pause, an analysis; rollback = interval x (failureLimit + 1)" {
	plan "$FIX/canary.json"
	assert_equal "$output" '{"type":"deploy.plan","service":"orders","revision":1,"step":1,"steps":8,"action":"setWeight","weight":20,"canary_instances":1,"stable_instances":4}
{"type":"deploy.plan","service":"orders","revision":1,"step":2,"steps":8,"action":"pause","duration_s":30}
{"type":"deploy.plan","service":"orders","revision":1,"step":3,"steps":8,"action":"analysis","name":"latency","metrics":["p99"],"min_duration_s":300}
{"type":"deploy.plan","service":"orders","revision":1,"step":4,"steps":8,"action":"setWeight","weight":50,"canary_instances":2,"stable_instances":2}
{"type":"deploy.plan","service":"orders","revision":1,"step":5,"steps":8,"action":"pause","until":"promote"}
{"type":"deploy.plan","service":"orders","revision":1,"step":6,"steps":8,"action":"setWeight","weight":80,"canary_instances":4,"stable_instances":1}
{"type":"deploy.plan","service":"orders","revision":1,"step":7,"steps":8,"action":"pause","duration_s":60}
{"type":"deploy.plan","service":"orders","revision":1,"step":8,"steps":8,"action":"promote"}
{"type":"deploy.estimate","service":"orders","revision":1,"strategy":"canary","replicas":4,"from_replicas":0,"min_duration_s":390,"rollback_s":180,"manual":true}'
}

@test "plan: canary stepWeights with an analysis: the analysis replaces each pause" {
	plan "$FIX/kubectl.json"
	assert_equal "${#lines[@]}" 10
	assert_jq "$(jq -sc '.' <<<"$output")" 'map(.action // .type) | join(",")' \
		"setWeight,analysis,setWeight,analysis,setWeight,analysis,setWeight,analysis,promote,deploy.estimate"
	assert_equal "${lines[1]}" '{"type":"deploy.plan","service":"payments","revision":1,"step":2,"steps":9,"action":"analysis","name":"success","metrics":["success-rate"],"min_duration_s":120}'
	assert_equal "${lines[9]}" '{"type":"deploy.estimate","service":"payments","revision":1,"strategy":"canary","replicas":6,"from_replicas":0,"min_duration_s":480,"rollback_s":30,"manual":false}'
}

@test "plan: blueGreen: start, pre analysis, pause for promote, switch, post analysis, scale down" {
	plan "$FIX/bluegreen.json" --from 3
	assert_equal "$output" '{"type":"deploy.plan","service":"checkout","revision":1,"step":1,"steps":6,"action":"start","instances":3}
{"type":"deploy.plan","service":"checkout","revision":1,"step":2,"steps":6,"action":"analysis","name":"smoke","metrics":["health","smoke-test"],"min_duration_s":30}
{"type":"deploy.plan","service":"checkout","revision":1,"step":3,"steps":6,"action":"pause","until":"promote"}
{"type":"deploy.plan","service":"checkout","revision":1,"step":4,"steps":6,"action":"switch","weight":100}
{"type":"deploy.plan","service":"checkout","revision":1,"step":5,"steps":6,"action":"analysis","name":"errors","metrics":["error-rate"],"min_duration_s":120}
{"type":"deploy.plan","service":"checkout","revision":1,"step":6,"steps":6,"action":"scaleDown","after_s":60,"instances":3}
{"type":"deploy.estimate","service":"checkout","revision":1,"strategy":"blueGreen","replicas":3,"from_replicas":3,"min_duration_s":155,"rollback_s":0,"manual":true}'
}

@test "plan: blueGreen first deploy with defaults and an autoPromotionDelay: nothing to scale down" {
	jq '.strategy = {"kind": "blueGreen", "autoPromotionDelay": "45s"} | .analysis = []' "$FIX/base.json" >bg.json
	plan bg.json
	assert_equal "$output" '{"type":"deploy.plan","service":"inventory","revision":1,"step":1,"steps":3,"action":"start","instances":4}
{"type":"deploy.plan","service":"inventory","revision":1,"step":2,"steps":3,"action":"pause","duration_s":45}
{"type":"deploy.plan","service":"inventory","revision":1,"step":3,"steps":3,"action":"switch","weight":100}
{"type":"deploy.estimate","service":"inventory","revision":1,"strategy":"blueGreen","replicas":4,"from_replicas":0,"min_duration_s":45,"rollback_s":0,"manual":false}'
}

@test "plan: an invalid spec plans nothing (status 2, its errors)" {
	jq '.replicas = 0' "$FIX/base.json" >bad.json
	run -2 --separate-stderr deploy run --dry-run bad.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-deploy: bad.json: /replicas: must be 1..1000, got 0"
}
