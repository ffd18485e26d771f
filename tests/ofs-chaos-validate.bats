#!/usr/bin/env bats
# tests/ofs-chaos-validate.bats: `ofs-chaos validate` and the experiment
# format it checks: the fixtures in tests/fixtures/chaos (a Chaos Toolkit
# experiment with process and http providers, configuration from the
# environment, substitution, pauses, a ref, a background action,
# rollbacks and runtime strategies; an ofs one with native faults, health
# probes, an RTO and a topology) give exact chaos.experiment records;
# --var and the environment reach the configuration; then a table of
# invalid experiments, each base.json broken one way, with the exact
# stderr lines (JSON pointers, did-you-mean) and status 2; then the bad
# input set of DESIGN.md section 7 (syntax errors with line and column,
# an empty file, not an object, binary garbage, 10 MB files, a missing
# file, a directory, >/dev/full) and the command line itself.
#
# validate runs nothing, so these tests start no process of their own.

load helpers

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/chaos

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	unset CATALOGUE_URL OFS_TEST_HOLD OFS_TEST_TOKEN OFS_TEST_WAIT
	cd "$BATS_TEST_TMPDIR" || return 1
}

chaos() {
	"$OFS_BIN/ofs-chaos" "$@"
}

# invalid FILTER: write bad.json, base.json changed by the jq FILTER,
# validate it and expect status 2, nothing on stdout, and on stderr
# exactly the lines read from standard input.
invalid() {
	local want
	jq "$1" "$FIX/base.json" >bad.json || fail "jq filter failed: $1"
	want=$(cat)
	run -2 --separate-stderr chaos validate bad.json
	assert_equal "$output" ""
	assert_equal "$stderr" "$want"
}

# ---- valid experiments -------------------------------------------------------

@test "the Chaos Toolkit fixture is valid: one exact chaos.experiment record" {
	run -0 --separate-stderr chaos validate "$FIX/ctk.json"
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")'
	assert_jq "$output" 'del(.ts) | tojson' \
		"$(jq -cn --arg f "$FIX/ctk.json" '{type: "chaos.experiment", file: $f,
			title: "The catalogue survives a slow inventory", hypothesis: 3, method: 4,
			rollbacks: 1, faults: [], tags: ["catalogue", "latency"]}')"
	# The fixture really has what this file says it covers.
	assert_jq "$(cat "$FIX/ctk.json")" '[.. | objects | .type? // empty] | index("process") != null and index("http") != null'
	assert_jq "$(cat "$FIX/ctk.json")" '.configuration.base_url.type == "env" and (.method | map(.ref? // empty) | length) == 1'
	assert_jq "$(cat "$FIX/ctk.json")" '(.method | map(.background? // false) | any) and .runtime.hypothesis.strategy == "continuously"'
}

@test "the ofs fixture is valid: faults listed once each, tags and rto_s" {
	run -0 --separate-stderr chaos validate "$FIX/ofs.json"
	assert_equal "$stderr" ""
	assert_jq "$output" 'del(.ts) | tojson' \
		"$(jq -cn --arg f "$FIX/ofs.json" '{type: "chaos.experiment", file: $f,
			title: "Orders survive losing a payments instance", hypothesis: 3, method: 6,
			rollbacks: 1, faults: ["kill", "pause", "stress"], tags: ["payments", "kill"],
			rto_s: 30, topology: "\($f | sub("ofs.json$"; "topology.json"))"}')"
}

@test "the topology is found next to the experiment; absolute paths stay; stdin is the cwd" {
	mkdir -p sub/dir
	jq '.topology = "topo.json"' "$FIX/base.json" >sub/dir/e.json
	run -0 chaos validate sub/dir/e.json
	assert_jq "$output" '.topology' "sub/dir/topo.json"
	run -0 chaos validate ./sub/../sub/dir/e.json
	assert_jq "$output" '.topology' "./sub/../sub/dir/topo.json"
	run -0 chaos validate - <sub/dir/e.json
	assert_jq "$output" '.topology' "topo.json"
	jq '.topology = "/etc/ofs/topology.json"' "$FIX/base.json" >sub/dir/e.json
	run -0 chaos validate sub/dir/e.json
	assert_jq "$output" '.topology' "/etc/ofs/topology.json"
	cd sub/dir
	jq '.topology = "../t.json"' "$FIX/base.json" >e.json
	run -0 chaos validate e.json
	assert_jq "$output" '.topology' "../t.json"
	jq '.topology = ""' "$FIX/base.json" >e.json
	run -2 --separate-stderr chaos validate e.json
	assert_equal "$stderr" "ofs-chaos: e.json: /topology: must not be empty"
}

@test "several files: one record per valid file, errors for the rest, status 2" {
	jq 'del(.title)' "$FIX/base.json" >bad.json
	run -2 --separate-stderr chaos validate "$FIX/ctk.json" bad.json missing.json "$FIX/ofs.json"
	assert_equal "${#lines[@]}" 2
	assert_jq "$(head -1 <<<"$output")" '.title' "The catalogue survives a slow inventory"
	assert_jq "$(tail -1 <<<"$output")" '.title' "Orders survive losing a payments instance"
	assert_equal "$stderr" "ofs-chaos: bad.json: missing required key 'title'
ofs-chaos: cannot open 'missing.json': No such file or directory"
}

@test "all valid files: status 0; '-' reads standard input" {
	run -0 chaos validate "$FIX/base.json" - <"$FIX/ofs.json"
	assert_equal "${#lines[@]}" 2
	assert_jq "${lines[1]}" '[.file, .title] | join("|")' "-|Orders survive losing a payments instance"
}

@test "an experiment with only a method is valid; rto_s is absent without an rto" {
	echo '{"title": "t", "description": "", "method": []}' >min.json
	run -0 chaos validate min.json
	assert_jq "$output" 'del(.ts) | tojson' \
		'{"type":"chaos.experiment","file":"min.json","title":"t","hypothesis":0,"method":0,"rollbacks":0,"faults":[],"tags":[]}'
}

@test "configuration from the environment: required without a default, default otherwise" {
	jq '.configuration.token = {"type": "env", "key": "OFS_TEST_TOKEN"}' "$FIX/base.json" >env.json
	run -2 --separate-stderr chaos validate env.json
	assert_equal "$stderr" "ofs-chaos: env.json: /configuration/token: environment variable 'OFS_TEST_TOKEN' is not set and has no default"
	OFS_TEST_TOKEN=secret run -0 chaos validate env.json
	# An empty value is set.
	OFS_TEST_TOKEN= run -0 chaos validate env.json
	# The ofs fixture's "hold" falls back to its default "2s"; an env value
	# is used as it is (and here checked as the sleep's duration at run).
	run -0 chaos validate "$FIX/ofs.json"
}

@test "configuration values reach pauses: env, default and --var, in that order of strength" {
	jq '.configuration.wait = {"type": "env", "key": "OFS_TEST_WAIT", "default": "1s"}
	    | .method[0].pauses = {"after": "${wait}"}' "$FIX/base.json" >wait.json
	run -0 chaos validate wait.json
	OFS_TEST_WAIT=abc run -2 --separate-stderr chaos validate wait.json
	assert_equal "$stderr" "ofs-chaos: wait.json: /method/0/pauses/after: invalid duration 'abc': expected a number"
	OFS_TEST_WAIT=abc run -0 chaos validate --var wait=5s wait.json
	OFS_TEST_WAIT=2.5 run -0 chaos validate wait.json
	run -2 --separate-stderr chaos validate --var wait=-1 wait.json
	assert_equal "$stderr" "ofs-chaos: wait.json: /method/0/pauses/after: must not be negative, got -1"
	run -2 --separate-stderr chaos validate --var 'wait={"s":1}' wait.json
	assert_equal "$stderr" "ofs-chaos: wait.json: /method/0/pauses/after: must be a duration (like \"250ms\") or a number of seconds, got object"
}

@test "--var adds configuration names that \${} may use; a JSON value keeps its type" {
	jq '.method[0].provider.arguments = ["-${sig}", "${pid}"]' "$FIX/base.json" >var.json
	run -2 --separate-stderr chaos validate var.json
	assert_equal "$stderr" "ofs-chaos: var.json: /method/0/provider/arguments/0: '\${sig}': no configuration value 'sig'
ofs-chaos: var.json: /method/0/provider/arguments/1: '\${pid}': no configuration value 'pid'"
	run -0 chaos validate --var sig=KILL --var pid=123 var.json
	# A number from --var is a number of seconds in a pause; "x" is not JSON, so a string.
	jq '.method[0].pauses = {"before": "${p}"}' "$FIX/base.json" >p.json
	run -0 chaos validate --var p=0.5 p.json
	run -2 --separate-stderr chaos validate --var p=x p.json
	assert_equal "$stderr" "ofs-chaos: p.json: /method/0/pauses/before: invalid duration 'x': expected a number"
	run -0 chaos validate --var 'p="3s"' p.json
}

@test "\$\${ is a literal and never checked" {
	jq '.method[0].provider.arguments = ["$${not_a_name}", "cost: 5$"]' "$FIX/base.json" >lit.json
	run -0 chaos validate lit.json
}

@test "\${out:} may name any activity that runs earlier: hypothesis, method, rollbacks" {
	jq '.method[1].provider.arguments = ["${out:up/status}", "${out:kill/stdout}"]
	    | .rollbacks[0].provider.arguments = ["${out:check}", "${out:up}", "${out:kill/stderr}"]
	    | .rollbacks += [{"type": "action", "name": "again", "provider": {"type": "process",
	        "path": "echo", "arguments": "${out:restart/stdout}"}}]' "$FIX/base.json" >out.json
	run -0 chaos validate out.json
}

# ---- invalid experiments: one problem each, exact messages -------------------

@test "invalid: missing title" {
	invalid 'del(.title)' <<'EOF'
ofs-chaos: bad.json: missing required key 'title'
EOF
}

@test "invalid: empty title, missing description" {
	invalid '.title = "" | del(.description)' <<'EOF'
ofs-chaos: bad.json: /title: must not be empty
ofs-chaos: bad.json: missing required key 'description'
EOF
}

@test "invalid: method not an array" {
	invalid '.method = {"type": "action"}' <<'EOF'
ofs-chaos: bad.json: /method: must be an array, got object
EOF
}

@test "invalid: no method" {
	invalid 'del(.method)' <<'EOF'
ofs-chaos: bad.json: missing required key 'method'
EOF
}

@test "invalid: an activity that is not an object" {
	invalid '.method[0] = "kill"' <<'EOF'
ofs-chaos: bad.json: /method/0: must be an object, got string 'kill'
EOF
}

@test "invalid: unknown activity type, with a suggestion" {
	invalid '.method[0].type = "acton"' <<'EOF'
ofs-chaos: bad.json: /method/0/type: must be one of 'probe', 'action', got 'acton'; did you mean 'action'?
EOF
}

@test "invalid: a probe of the hypothesis without a tolerance" {
	invalid 'del(.["steady-state-hypothesis"].probes[0].tolerance)' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0: missing required key 'tolerance': every probe of the hypothesis needs one
EOF
}

@test "invalid: an action in the hypothesis, a tolerance on an action" {
	invalid '.["steady-state-hypothesis"].probes[0].type = "action"' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/tolerance: only probes take a tolerance
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/type: the steady-state hypothesis takes probes only, got 'action'
EOF
}

@test "invalid: unknown provider type, with a suggestion" {
	invalid '.method[0].provider.type = "proccess"' <<'EOF'
ofs-chaos: bad.json: /method/0/provider/type: must be one of 'process', 'http', 'fault', 'health', 'sleep', got 'proccess'; did you mean 'process'?
EOF
}

@test "invalid: a python provider" {
	invalid '.method[0].provider = {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods"}' <<'EOF'
ofs-chaos: bad.json: /method/0/provider/type: python providers are not supported; use a process provider that runs the same code
EOF
}

@test "invalid: no provider" {
	invalid 'del(.method[0].provider)' <<'EOF'
ofs-chaos: bad.json: /method/0: missing required key 'provider'
EOF
}

@test "invalid: a range tolerance with 3 elements" {
	invalid '.method[1].tolerance = {"type": "range", "range": [200, 299, 300]}' <<'EOF'
ofs-chaos: bad.json: /method/1/tolerance/range: must be [low, high], got 3 elements
EOF
}

@test "invalid: a range tolerance upside down, without its range, with a misspelt target" {
	invalid '.method[1].tolerance = {"type": "range", "range": [5, 1]}
		| .rollbacks[0].type = "probe" | .rollbacks[0].tolerance = {"type": "range", "traget": "status"}' <<'EOF'
ofs-chaos: bad.json: /method/1/tolerance/range: low 5 is above high 1
ofs-chaos: bad.json: /rollbacks/0/tolerance/traget: unknown key 'traget'; did you mean 'target'?
ofs-chaos: bad.json: /rollbacks/0/tolerance: missing required key 'range'
EOF
}

@test "invalid: a regex tolerance with a bad pattern" {
	invalid '.method[1].tolerance = {"type": "regex", "pattern": "^(ok"}' <<'EOF'
ofs-chaos: bad.json: /method/1/tolerance/pattern: invalid regular expression '^(ok': Unmatched ( or \(
EOF
}

@test "invalid: a jsonpath tolerance with a bad path names the column" {
	invalid '.method[1].tolerance = {"type": "jsonpath", "path": "$.items[?(@.state = \"up\")]"}' <<'EOF'
ofs-chaos: bad.json: /method/1/tolerance/path: invalid JSONPath '$.items[?(@.state = "up")]': column 19: use '==' to compare
EOF
}

@test "invalid: a python probe tolerance, an empty list, null" {
	invalid '.method[1].tolerance = {"type": "probe", "name": "p", "provider": {"type": "python"}}
		| .["steady-state-hypothesis"].probes[0].tolerance = []
		| .method += [{"type": "probe", "name": "n", "tolerance": null, "provider": {"type": "process", "path": "true"}}]' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/tolerance: an empty list matches nothing
ofs-chaos: bad.json: /method/1/tolerance/type: probe tolerances run python and are not supported; use a range, regex or jsonpath tolerance
ofs-chaos: bad.json: /method/2/tolerance: must be true, false, a string, a number, a list or an object, got null
EOF
}

@test "invalid: unknown ref, with a suggestion" {
	invalid '.method += [{"ref": "kil"}]' <<'EOF'
ofs-chaos: bad.json: /method/2/ref: no activity named 'kil' is declared; did you mean 'kill'?
EOF
}

@test "invalid: a ref with more than a ref, an empty ref" {
	invalid '.method += [{"ref": "kill", "name": "again"}, {"ref": ""}]' <<'EOF'
ofs-chaos: bad.json: /method/2/name: unknown key 'name'
ofs-chaos: bad.json: /method/3/ref: must not be empty
EOF
}

@test "invalid: refs in the hypothesis to an action and to a probe without tolerance" {
	invalid '.["steady-state-hypothesis"].probes += [{"ref": "kill"}, {"ref": "check"}]' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/1/ref: 'kill' is an action; the steady-state hypothesis takes probes only
ofs-chaos: bad.json: /steady-state-hypothesis/probes/2/ref: probe 'check' has no tolerance; every probe of the hypothesis needs one
EOF
}

@test "invalid: duplicate activity names (a ref is not a declaration)" {
	invalid '.rollbacks[0].name = "kill" | .rollbacks += [{"ref": "kill"}]' <<'EOF'
ofs-chaos: bad.json: /rollbacks/0/name: duplicate activity name 'kill' (first declared at /method/0)
EOF
}

@test "invalid: \${} naming no configuration value, with a suggestion" {
	invalid '.["steady-state-hypothesis"].probes[0].provider.url = "${bsae}/health"
		| .method[0].provider.arguments[1] = "${pid}"' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/url: '${bsae}': no configuration value 'bsae'; did you mean 'base'?
ofs-chaos: bad.json: /method/0/provider/arguments/1: '${pid}': no configuration value 'pid'
EOF
}

@test "invalid: \${out:} of an activity that runs later, or never" {
	invalid '.method[0].provider.arguments[1] = "${out:check/stdout}"
		| .["steady-state-hypothesis"].probes[0].provider.url = "${out:kill/stdout}"
		| .rollbacks[0].provider.arguments = ["${out:chek/stdout}"]' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/url: '${out:kill/stdout}': no activity 'kill' runs before this one
ofs-chaos: bad.json: /method/0/provider/arguments/1: '${out:check/stdout}': no activity 'check' runs before this one
ofs-chaos: bad.json: /rollbacks/0/provider/arguments/0: '${out:chek/stdout}': no activity 'chek' runs before this one; did you mean 'check'?
EOF
}

@test "invalid: a ref that runs before its declaration reports what only it lacks" {
	invalid '.method[1].tolerance = 0 | .method[1].provider.arguments = ["${out:kill/stdout}"]
		| .method += [{"ref": "check"}] | .["steady-state-hypothesis"].probes += [{"ref": "check"}]' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/1: ref 'check': /method/1/provider/arguments/0: '${out:kill/stdout}': no activity 'kill' runs before this one
EOF
}

@test "invalid: \${} syntax: unterminated, empty, no activity name" {
	invalid '.method[0].provider.arguments = ["${base", "${}", "${out:/x}"]' <<'EOF'
ofs-chaos: bad.json: /method/0/provider/arguments/0: unterminated '${' in '${base'
ofs-chaos: bad.json: /method/0/provider/arguments/1: '${}': empty name
ofs-chaos: bad.json: /method/0/provider/arguments/2: '${out:/x}': no activity name
EOF
}

@test "invalid: an environment variable unset and without default" {
	unset OFS_TEST_UNSET_VAR
	invalid '.configuration.token = {"type": "env", "key": "OFS_TEST_UNSET_VAR"}' <<'EOF'
ofs-chaos: bad.json: /configuration/token: environment variable 'OFS_TEST_UNSET_VAR' is not set and has no default
EOF
}

@test "invalid: configuration types other than env, env without key" {
	invalid '.configuration.token = {"type": "vault", "key": "secret/x"}
		| .configuration.user = {"type": "env", "name": "USER"}' <<'EOF'
ofs-chaos: bad.json: /configuration/token/type: configuration type 'vault' is not supported; use 'env' or a plain value
ofs-chaos: bad.json: /configuration/user/name: unknown key 'name'
ofs-chaos: bad.json: /configuration/user: missing required key 'key'
EOF
}

@test "invalid: bad durations everywhere" {
	invalid '.rto = "-1s" | .interval = "0s" | .method[0].pauses = {"before": -2, "after": "soon"}
		| .method[0].provider.timeout = "10 s"
		| .method += [{"type": "action", "name": "wait", "provider": {"type": "sleep", "duration": "1h30"}}]
		| .runtime = {"hypothesis": {"frequency": 0}}' <<'EOF'
ofs-chaos: bad.json: /rto: invalid duration '-1s': must not be negative
ofs-chaos: bad.json: /interval: must be more than 0
ofs-chaos: bad.json: /runtime/hypothesis/frequency: the hypothesis interval is set twice: here and in /interval
ofs-chaos: bad.json: /method/0/provider/timeout: invalid duration '10 s': blanks are not allowed
ofs-chaos: bad.json: /method/0/pauses/before: must not be negative, got -2
ofs-chaos: bad.json: /method/0/pauses/after: invalid duration 'soon': expected a number
ofs-chaos: bad.json: /method/2/provider/duration: invalid duration '1h30': missing unit after '30' (use ns, us, ms, s, m, h, d or w)
EOF
}

@test "invalid: \${out:} in a pause (needed before anything runs)" {
	invalid '.method[1].pauses = {"before": "${out:kill/stdout}"}' <<'EOF'
ofs-chaos: bad.json: /method/1/pauses/before: '${out:...}' cannot be used here: the value is needed before anything runs
EOF
}

@test "invalid: unknown keys everywhere, with suggestions" {
	invalid '.descripton = .description | del(.description) | .method[0].provider.agruments = []
		| .method[0].pauses = {"befor": 1} | .method[1].backgroud = true
		| .["steady-state-hypothesis"].tittle = "x" | .runtime = {"rollback": {}}' <<'EOF'
ofs-chaos: bad.json: /descripton: unknown key 'descripton'; did you mean 'description'?
ofs-chaos: bad.json: missing required key 'description'
ofs-chaos: bad.json: /runtime/rollback: unknown key 'rollback'; did you mean 'rollbacks'?
ofs-chaos: bad.json: /steady-state-hypothesis/tittle: unknown key 'tittle'; did you mean 'title'?
ofs-chaos: bad.json: /method/0/provider/agruments: unknown key 'agruments'; did you mean 'arguments'?
ofs-chaos: bad.json: /method/0/pauses/befor: unknown key 'befor'; did you mean 'before'?
ofs-chaos: bad.json: /method/1/backgroud: unknown key 'backgroud'; did you mean 'background'?
EOF
}

@test "invalid: controls are refused (python), empty ones are fine" {
	invalid '.controls = [{"name": "tracing", "provider": {"type": "python", "module": "chaostracing.control"}}]
		| .method[0].controls = []' <<'EOF'
ofs-chaos: bad.json: /controls: controls are not supported: they are python code; run what they do as process activities
EOF
}

@test "invalid: runtime strategies, with suggestions" {
	invalid '.runtime = {"rollbacks": {"strategy": "allways"}, "hypothesis": {"strategy": "continously", "fail_fast": "yes"}}' <<'EOF'
ofs-chaos: bad.json: /runtime/rollbacks/strategy: must be one of 'default', 'always', 'never', 'deviated', got 'allways'; did you mean 'always'?
ofs-chaos: bad.json: /runtime/hypothesis/strategy: must be one of 'default', 'before-method-only', 'after-method-only', 'during-method-only', 'continuously', got 'continously'; did you mean 'continuously'?
ofs-chaos: bad.json: /runtime/hypothesis/fail_fast: must be true or false, got string 'yes'
EOF
}

@test "invalid: background outside the method" {
	invalid '.rollbacks[0].background = true | .method[0].background = "yes"' <<'EOF'
ofs-chaos: bad.json: /method/0/background: must be true or false, got string 'yes'
ofs-chaos: bad.json: /rollbacks/0/background: only activities of the method run in the background
EOF
}

@test "invalid: http provider keys" {
	invalid '.["steady-state-hypothesis"].probes[0].provider += {"url": "ftp://x", "method": "G E T",
		"timeout": [1, 2, 3], "verify_tls": "yes", "expected_status": 99, "headers": {"X Bad": "1", "ok": 2},
		"arguments": [1]}' <<'EOF'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/url: must be an http:// or https:// URL, got 'ftp://x'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/method: must be an HTTP method such as 'GET' or 'POST', got 'G E T'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/headers/X Bad: invalid header name 'X Bad'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/headers/ok: must be a string, got number 2
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/arguments: must be an object (sent as a JSON body) or a string (the body), got array
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/timeout: must be [connect, read], got 3 elements
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/verify_tls: must be true or false, got string 'yes'
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/provider/expected_status: must be 100..599, got 99
EOF
}

@test "invalid: process provider keys" {
	invalid '.method[0].provider = {"type": "process", "path": "", "arguments": {"a": 1},
		"env": {"A=B": "x", "N": 1}, "timeout": 0, "cwd": 5}' <<'EOF'
ofs-chaos: bad.json: /method/0/provider/path: must not be empty
ofs-chaos: bad.json: /method/0/provider/arguments: must be a string (run by /bin/sh) or an array of strings, got object
ofs-chaos: bad.json: /method/0/provider/timeout: must be more than 0
ofs-chaos: bad.json: /method/0/provider/env/A=B: invalid environment variable name 'A=B'
ofs-chaos: bad.json: /method/0/provider/env/N: must be a string, got number 1
ofs-chaos: bad.json: /method/0/provider/cwd: must be a string, got number 5
EOF
}

@test "invalid: health and fault providers in the wrong activity, bad states" {
	invalid '.method[1].provider = {"type": "health", "service": "a", "instance": "b", "expect": ["healthy", "sick"]}
		| .method[1].type = "action"
		| .method += [{"type": "probe", "name": "f", "provider": {"type": "fault", "kind": "kill", "pid": 1}}]' <<'EOF'
ofs-chaos: bad.json: /method/1/provider: give 'service' or 'instance', not both
ofs-chaos: bad.json: /method/1/provider/expect/1: must be one of 'healthy', 'degraded', 'unhealthy', 'impacted', 'unknown', 'warning', 'failing', got 'sick'
ofs-chaos: bad.json: /method/1/type: a health provider belongs to a probe, got 'action'
ofs-chaos: bad.json: /method/2/type: a fault provider belongs to an action, got 'probe'
EOF
}

@test "invalid: several errors in one file are all reported, in document order" {
	invalid 'del(.title) | .rto = "soon" | .configuration.x = {"type": "env", "key": "OFS_TEST_UNSET_VAR"}
		| .["steady-state-hypothesis"].probes[0].tolerance = {"type": "regex"}
		| .method[0].type = "acction" | .method[1].provider.type = "python"
		| .rollbacks[0].provider.arguments = ["${nope}"]' <<'EOF'
ofs-chaos: bad.json: /configuration/x: environment variable 'OFS_TEST_UNSET_VAR' is not set and has no default
ofs-chaos: bad.json: missing required key 'title'
ofs-chaos: bad.json: /rto: invalid duration 'soon': expected a number
ofs-chaos: bad.json: /steady-state-hypothesis/probes/0/tolerance: missing required key 'pattern'
ofs-chaos: bad.json: /method/0/type: must be one of 'probe', 'action', got 'acction'; did you mean 'action'?
ofs-chaos: bad.json: /method/1/provider/type: python providers are not supported; use a process provider that runs the same code
ofs-chaos: bad.json: /rollbacks/0/provider/arguments/0: '${nope}': no configuration value 'nope'
EOF
}

@test "invalid: more than 10000 activities; 10000 are fine" {
	# One hypothesis probe and 9999 actions: 10000.
	jq '.method = [range(9999) | {"type": "action", "name": "a\(.)", "provider": {"type": "sleep", "duration": 0}}]
	    | del(.rollbacks)' "$FIX/base.json" >many.json
	run -0 chaos validate many.json
	assert_jq "$output" '.hypothesis + .method' 10000
	jq '.method += [{"ref": "a0"}]' many.json >bad.json
	run -2 --separate-stderr chaos validate bad.json
	assert_equal "$stderr" "ofs-chaos: bad.json: too many activities: 10001 (the most is 10000)"
}

# ---- bad input (DESIGN.md section 7) -----------------------------------------

@test "a syntax error names the line and the column" {
	printf '{\n  "title": "t",\n  "method": [,]\n}\n' >bad.json
	run -2 --separate-stderr chaos validate bad.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-chaos: bad.json:3:14: invalid JSON: unexpected character ',', expected a value"
	printf '{"title": "t"\n "method": []}' >bad.json
	run -2 --separate-stderr chaos validate bad.json
	assert_equal "$stderr" "ofs-chaos: bad.json:1:14: invalid JSON: expected ',' or '}' after this value, found character '\"' at 2:2"
}

@test "an empty file, a blank file" {
	: >empty.json
	run -2 --separate-stderr chaos validate empty.json
	assert_equal "$stderr" "ofs-chaos: empty.json:1:1: invalid JSON: empty input"
	printf '\n\n  \n' >blank.json
	run -2 --separate-stderr chaos validate blank.json
	assert_equal "$stderr" "ofs-chaos: blank.json:1:1: invalid JSON: empty input"
}

@test "a document that is not an object" {
	for doc in '[]' '"title"' '42' 'null'; do
		echo "$doc" >bad.json
		run -2 --separate-stderr chaos validate bad.json
		[[ $stderr == "ofs-chaos: bad.json: the top level must be an object, got "* ]] ||
			fail "$doc: $stderr"
	done
}

@test "binary garbage" {
	printf '\177ELF\002\001\001\000\000\000' >bin.json
	run -2 --separate-stderr chaos validate bin.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-chaos: bin.json:1:1: invalid JSON: unexpected byte 0x7f, expected a value"
	head -c 65536 /dev/urandom >random.json
	run -2 --separate-stderr chaos validate random.json
	assert_equal "$output" ""
	[[ $stderr =~ ^ofs-chaos:\ random\.json:[0-9]+:[0-9]+:\ invalid\ JSON:\  ]] || fail "$stderr"
	assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "10 MB files: a valid one with a long description, a 10 MB line of junk" {
	head -c 10485760 /dev/zero | tr '\0' d >description
	jq --rawfile d description '.description = $d' "$FIX/base.json" >big.json
	[ "$(stat -c %s big.json)" -gt 10485760 ] || fail "big.json is not 10 MB"
	run -0 chaos validate big.json
	assert_jq "$output" '.title' "Killing the worker does not stop checkout"
	head -c 10485760 /dev/zero | tr '\0' x >junk.json
	run -2 --separate-stderr chaos validate junk.json
	assert_equal "$stderr" "ofs-chaos: junk.json:1:1: invalid JSON: invalid literal 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"
}

@test "a missing file is a spec error (status 2); so is a directory" {
	run -2 --separate-stderr chaos validate nope.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-chaos: cannot open 'nope.json': No such file or directory"
	mkdir dir.json
	run -2 --separate-stderr chaos validate dir.json
	assert_equal "$stderr" "ofs-chaos: cannot read 'dir.json': Is a directory"
}

@test "a full stdout is a system error" {
	run -4 --separate-stderr bash -c '"$0" validate "$1" >/dev/full' "$OFS_BIN/ofs-chaos" "$FIX/base.json"
	[[ $stderr == "ofs-chaos: "*"No space left on device"* ]] || fail "$stderr"
}

# ---- the command line --------------------------------------------------------

@test "usage: no file, a --var without '=', an unknown option" {
	run -2 --separate-stderr chaos validate
	[[ $stderr == *"missing experiment file"* ]] || fail "$stderr"
	[[ $stderr == *"usage: ofs-chaos validate"* ]] || fail "no usage line: $stderr"
	run -2 --separate-stderr chaos validate --var nope "$FIX/base.json"
	[[ $stderr == *"--var 'nope': expected name=value"* ]] || fail "$stderr"
	assert_equal "$output" ""
	run -2 --separate-stderr chaos validate --var =x "$FIX/base.json"
	run -2 --separate-stderr chaos validate --vars a=b "$FIX/base.json"
	assert_equal "$output" ""
}

@test "--help describes validate on stdout" {
	run -0 chaos validate --help
	[[ $output == *"--var name=value"* ]] || fail "$output"
}
