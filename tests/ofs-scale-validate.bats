#!/usr/bin/env bats
# tests/ofs-scale-validate.bats: `ofs-scale validate` and the policy
# format it checks (policy.c).
#
# tests/fixtures/scale/validate/base.json is a valid policy using every
# key. The table below breaks it one way per case with a jq filter and
# gives the exact stderr lines expected (file, JSON pointer, message,
# did-you-mean); each must exit 2 with nothing on stdout. Then the
# valid policy, several files at once, a missing file and syntax errors
# with line and column.

load helpers
load scale

FIX=$OFS_TOP/tests/fixtures/scale/validate

setup() {
	scale_setup
}

@test "validate: the base policy is valid, prints nothing, exit 0" {
	run -0 --separate-stderr scale validate "$FIX/base.json"
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "validate: a minimal policy is valid" {
	echo '{"maxReplicas":3,"metrics":[{"name":"cpu","target":{"averageUtilization":60}}]}' >min.json
	run -0 --separate-stderr scale validate min.json
	assert_equal "$stderr" ""
}

# The table: a jq filter on one line, then the expected stderr lines,
# then a blank line.
@test "validate: every invalid policy of the table, exact messages, exit 2" {
	local filter want line n=0
	while IFS= read -r filter; do
		want=
		while IFS= read -r line && [ -n "$line" ]; do
			want+=${want:+$'\n'}$line
		done
		jq "$filter" "$FIX/base.json" >bad.json || fail "jq filter failed: $filter"
		run -2 --separate-stderr scale validate bad.json
		[ -z "$output" ] || fail "stdout for '$filter': $output"
		[ "$stderr" = "$want" ] || fail "'$filter': expected
$want
got
$stderr"
		n=$((n + 1))
	done <<'TABLE'
.minReplicas = "2"
ofs-scale: bad.json: /minReplicas: must be an integer, got string '2'

.minReplicas = -1
ofs-scale: bad.json: /minReplicas: must be 0..1000000, got -1

.maxReplicas = 1.5
ofs-scale: bad.json: /maxReplicas: must be an integer, got number 1.5

del(.maxReplicas)
ofs-scale: bad.json: missing required key 'maxReplicas'

.maxReplicas = 1
ofs-scale: bad.json: /maxReplicas: must be at least minReplicas (2), got 1

.period = "5x"
ofs-scale: bad.json: /period: invalid duration '5x': unknown unit 'x'

.period = "0s"
ofs-scale: bad.json: /period: must be greater than 0

.tolerance = 1.5
ofs-scale: bad.json: /tolerance: must be 0..1, got 1.5

.metrics = []
ofs-scale: bad.json: /metrics: must not be empty

del(.metrics)
ofs-scale: bad.json: missing required key 'metrics'

.metrics[1].name = "cpu"
ofs-scale: bad.json: /metrics/1/name: duplicate metric name 'cpu' (also /metrics/0)
ofs-scale: bad.json: /predictive/metric: no metric is called 'rps'

.metrics[0].name = ""
ofs-scale: bad.json: /metrics/0/name: must not be empty

.metrics[0].target = {}
ofs-scale: bad.json: /metrics/0/target: needs exactly one of 'averageUtilization', 'averageValue', 'value'

.metrics[0].target = {"averageUtilization": 50, "value": 3}
ofs-scale: bad.json: /metrics/0/target: needs exactly one of 'averageUtilization', 'averageValue', 'value'

.metrics[0].target.averageUtilization = 0
ofs-scale: bad.json: /metrics/0/target/averageUtilization: must be greater than 0, got 0

.metrics[0].target.type = "Value"
ofs-scale: bad.json: /metrics/0/target/type: 'Value' does not agree with 'averageUtilization'

.metrics[0].target.type = "Utilisation"
ofs-scale: bad.json: /metrics/0/target/type: must be one of 'Utilization', 'AverageValue', 'Value', got 'Utilisation'; did you mean 'Utilization'?

.metrics[0].capacity = -5
ofs-scale: bad.json: /metrics/0/capacity: must be greater than 0, got -5

.metrics[1].activation = -1
ofs-scale: bad.json: /metrics/1/activation: must be at least 0, got -1

.metrics[1].source.url = "ftp://x"
ofs-scale: bad.json: /metrics/1/source/url: must be an http:// or https:// URL, got 'ftp://x'

.metrics[1].source.path = "$..["
ofs-scale: bad.json: /metrics/1/source/path: invalid JSONPath '$..[': column 5: expected an index, a name in quotes, '*', a slice or a filter, found the end of the path

.metrics[1].source.timeout = "-5s"
ofs-scale: bad.json: /metrics/1/source/timeout: invalid duration '-5s': must not be negative

.metrics[0].targte = 1
ofs-scale: bad.json: /metrics/0/targte: unknown key 'targte'; did you mean 'target'?

.behavior.scaleUp.stabilizationWindowSeconds = 3601
ofs-scale: bad.json: /behavior/scaleUp/stabilizationWindowSeconds: must be 0..3600, got 3601

.behavior.scaleUp.selectPolicy = "max"
ofs-scale: bad.json: /behavior/scaleUp/selectPolicy: must be one of 'Max', 'Min', 'Disabled', got 'max'; did you mean 'Max'?

.behavior.scaleDown.tolerance = 2
ofs-scale: bad.json: /behavior/scaleDown/tolerance: must be 0..1, got 2

.behavior.scaleDown.policies = []
ofs-scale: bad.json: /behavior/scaleDown/policies: must not be empty

.behavior.scaleDown.policies[0] = {"type": "Percent", "value": 0, "periodSeconds": 1801}
ofs-scale: bad.json: /behavior/scaleDown/policies/0/value: must be 1..2147483647, got 0
ofs-scale: bad.json: /behavior/scaleDown/policies/0/periodSeconds: must be 1..1800, got 1801

.behavior.scaleDown.policies[0].type = "Pod"
ofs-scale: bad.json: /behavior/scaleDown/policies/0/type: must be one of 'Pods', 'Percent', got 'Pod'; did you mean 'Pods'?

.behavior.scaleUp.polices = []
ofs-scale: bad.json: /behavior/scaleUp/polices: unknown key 'polices'; did you mean 'policies'?

.behaviour = {}
ofs-scale: bad.json: /behaviour: unknown key 'behaviour'; did you mean 'behavior'?

.minReplicas = 0 | del(.metrics[1].activation)
ofs-scale: bad.json: /minReplicas: 0 (scale to zero) needs a metric with an 'activation' threshold

.activationReplicas = 0
ofs-scale: bad.json: /activationReplicas: must be 1..1000000, got 0

.idle.threshold = 150
ofs-scale: bad.json: /idle/threshold: must be 0..100, got 150

.idle.period = "1 hour"
ofs-scale: bad.json: /idle/period: invalid duration '1 hour': blanks are not allowed

.hook = 5
ofs-scale: bad.json: /hook: must be an argv array of strings or a shell command string, got number 5

.hook = []
ofs-scale: bad.json: /hook: must not be empty

.hook = ["", "x"]
ofs-scale: bad.json: /hook/0: the program name must not be empty

.hook = ["kubectl", "scale", "deployment/{svc}"]
ofs-scale: bad.json: /hook/2: unknown placeholder '{svc}' (known: {service}, {replicas}, {current})

.hook = "kubectl scale deployment/{service}"
ofs-scale: bad.json: /hook: a shell command gets no placeholders: use $OFS_SERVICE, $OFS_REPLICAS and $OFS_CURRENT_REPLICAS

.hookTimeout = "0s"
ofs-scale: bad.json: /hookTimeout: must be greater than 0

.predictive.metric = "queue"
ofs-scale: bad.json: /predictive/metric: 'queue' must have an averageUtilization or averageValue target, not a value

.predictive.metric = "mem"
ofs-scale: bad.json: /predictive/metric: no metric is called 'mem'

.instanceType = "m5.xlarge"
ofs-scale: bad.json: /instanceType: 'm5.xlarge' is not in the catalogue

del(.instanceType)
ofs-scale: bad.json: /budget: needs an instanceType to price replicas

.budget.perHour = 0
ofs-scale: bad.json: /budget/perHour: must be greater than 0, got 0

.catalogue[0].capacity.cpu = "200"
ofs-scale: bad.json: /catalogue/0/capacity/cpu: must be a number, got string '200'

.catalogue += [{"name": "m5.large", "pricePerHour": 1}]
ofs-scale: bad.json: /catalogue/1/name: duplicate instance type 'm5.large' (also /catalogue/0)

.headroom = -1
ofs-scale: bad.json: /headroom: must be at least 0, got -1

.service = 7
ofs-scale: bad.json: /service: must be a string, got number 7

TABLE
	[ "$n" -ge 25 ] || fail "only $n cases"
}

@test "validate: several files, each checked, exit 2 when one is bad" {
	echo '{"maxReplicas":0,"metrics":[]}' >bad.json
	run -2 --separate-stderr scale validate "$FIX/base.json" bad.json "$FIX/base.json"
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-scale: bad.json: /maxReplicas: must be 1..1000000, got 0
ofs-scale: bad.json: /metrics: must not be empty"
}

@test "validate: a missing file is exit 2" {
	run -2 --separate-stderr scale validate nope.json
	assert_equal "$stderr" "ofs-scale: cannot open 'nope.json': No such file or directory"
}

@test "validate: syntax errors name the line and column" {
	printf '{\n  "maxReplicas": 3,\n  "metrics": [}\n' >syntax.json
	run -2 --separate-stderr scale validate syntax.json
	assert_equal "$stderr" "ofs-scale: syntax.json:3:15: invalid JSON: unexpected character '}', expected a value"
	echo '[1]' >array.json
	run -2 --separate-stderr scale validate array.json
	assert_equal "$stderr" "ofs-scale: array.json: the top level must be an object, got array"
	: >empty.json
	run -2 --separate-stderr scale validate empty.json
	assert_equal "$stderr" "ofs-scale: empty.json:1:1: invalid JSON: empty input"
}

@test "validate: no file is a usage error" {
	run -2 scale validate
	assert_line --partial "missing policy file"
}
