#!/usr/bin/env bats
# tests/ofs-saga-validate.bats: invalid saga definitions exit 2 with
# JSON pointers before anything runs (def.c), and `start` refuses data
# that lacks what the definition uses (start.c).
#
# Each file of tests/fixtures/saga/invalid/ breaks a definition in the
# ways of one check of def.c. The table below gives, per fixture, the
# exact stderr lines `ofs-saga start --wait` must print. Most fixtures
# begin with a valid step that touches the file `ran` in the working
# directory, so a loader that let the definition through would leave
# that file behind; none may leave a journal in the state directory. A
# control test shows that the same step does run in a valid definition.

load helpers

FIX=$OFS_TOP/tests/fixtures/saga/invalid

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

saga() {
	"$OFS_BIN/ofs-saga" "$@"
}

# journals: the journals of the state directory, one a line (none: empty).
journals() {
	find "$OFS_STATE_DIR" -name '*.jsonl' 2>/dev/null
}

# nothing_ran WHAT: no step touched `ran` and no saga was journalled.
nothing_ran() {
	[ ! -e ran ] || fail "$1: a step ran"
	[ -z "$(journals)" ] || fail "$1: a journal was written: $(journals)"
}

# The table: a fixture's name on one line, the exact stderr lines of
# `ofs-saga start --wait FIXTURE` (run in the test's directory, so the
# file is named as given), then a blank line.
table() {
	cat <<'TABLE'
unknown-key.json
ofs-saga: unknown-key.json: /stepz: unknown key 'stepz'; did you mean 'steps'?
ofs-saga: unknown-key.json: /colour: unknown key 'colour'
ofs-saga: unknown-key.json: /x~1y~0z: unknown key 'x/y~z'
ofs-saga: unknown-key.json: /new\nline: unknown key 'new\nline'
ofs-saga: unknown-key.json: /steps/1/kidn: unknown key 'kidn'; did you mean 'kind'?
ofs-saga: unknown-key.json: /steps/1/action/timout: unknown key 'timout'; did you mean 'timeout'?
ofs-saga: unknown-key.json: /steps/1/action/retry/atempts: unknown key 'atempts'; did you mean 'attempts'?
ofs-saga: unknown-key.json: /steps/2/wait/on_timeot: unknown key 'on_timeot'; did you mean 'on_timeout'?
ofs-saga: unknown-key.json: /steps/3/descripton: unknown key 'descripton'; did you mean 'description'?

duplicate-key.json
ofs-saga: duplicate-key.json: /name: duplicate key 'name'
ofs-saga: duplicate-key.json: /steps/1/kind: duplicate key 'kind'

missing-name.json
ofs-saga: missing-name.json: missing required key 'name'
ofs-saga: missing-name.json: /steps/1: missing required key 'name'

missing-steps.json
ofs-saga: missing-steps.json: missing required key 'steps'

empty-steps.json
ofs-saga: empty-steps.json: /steps: must hold at least one step

not-an-object.json
ofs-saga: not-an-object.json: the top level must be an object, got array

bad-names.json
ofs-saga: bad-names.json: /name: 'bad saga': a saga name is 1..128 letters, digits, '_', '.' and '-'
ofs-saga: bad-names.json: /version: must be 1..1000000000, got 0
ofs-saga: bad-names.json: /steps/1/name: 're serve': a step name is 1..128 letters, digits, '_', '.' and '-'
ofs-saga: bad-names.json: /steps/2/name: must not be empty
ofs-saga: bad-names.json: /steps/3/wait/signal: 'a/b': a signal name is 1..128 letters, digits, '_', '.' and '-'
ofs-saga: bad-names.json: /steps/4/name: must be a string, got number 7
ofs-saga: bad-names.json: /steps/5: must be an object, got string

duplicate-steps.json
ofs-saga: duplicate-steps.json: /steps/2/parallel/1/name: duplicate step name 'reserve' (also /steps/1)
ofs-saga: duplicate-steps.json: /steps/3/name: duplicate step name 'ship' (also /steps/2/parallel/0)

two-pivots.json
ofs-saga: two-pivots.json: /steps/3/kind: must be one of 'compensatable', 'pivot', 'retriable', got 'pviot'; did you mean 'pivot'?
ofs-saga: two-pivots.json: /steps/2/kind: a saga has at most one pivot; 'charge' is one already

pivot-compensation.json
ofs-saga: pivot-compensation.json: /steps/1/compensation: the pivot has no compensation: once it succeeds the saga only goes forward

wait-with-action.json
ofs-saga: wait-with-action.json: /steps/1/action: a wait step has no action (it waits for its signal)
ofs-saga: wait-with-action.json: /steps/1/compensation: a wait step has no compensation
ofs-saga: wait-with-action.json: /steps/2/kind: a wait step cannot be the pivot
ofs-saga: wait-with-action.json: /steps/3/wait: must be an object, got string 'approved'

wait-in-parallel.json
ofs-saga: wait-in-parallel.json: /steps/1/parallel/1: a wait step cannot be part of a parallel group

pivot-in-parallel.json
ofs-saga: pivot-in-parallel.json: /steps/1/parallel/0: the pivot cannot be part of a parallel group

parallel-too-small.json
ofs-saga: parallel-too-small.json: /steps/1/parallel: must be an array of at least two steps
ofs-saga: parallel-too-small.json: /steps/2/parallel: must be an array of at least two steps
ofs-saga: parallel-too-small.json: /steps/3/parallel: must be an array of at least two steps

url-scheme.json
ofs-saga: url-scheme.json: /steps/1/action/url: must start with http:// or https://, got 'ftp://payments/charge'
ofs-saga: url-scheme.json: /steps/1/compensation/url: must start with http:// or https://, got 'payments/refund'
ofs-saga: url-scheme.json: /steps/2/action/url: must not be empty
ofs-saga: url-scheme.json: /steps/3/action/url: must be a string, got number 8080

bad-method.json
ofs-saga: bad-method.json: /steps/1/action/method: must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', got 'post'
ofs-saga: bad-method.json: /steps/2/action/method: must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', got 'FETCH'

bad-header.json
ofs-saga: bad-header.json: /steps/1/action/headers/Bad Name: not a valid header name or value
ofs-saga: bad-header.json: /steps/1/action/headers/X-Colon:: not a valid header name or value
ofs-saga: bad-header.json: /steps/1/action/headers/: not a valid header name or value
ofs-saga: bad-header.json: /steps/1/action/headers/X-Split: not a valid header name or value
ofs-saga: bad-header.json: /steps/1/action/headers/X-Num: must be a string, got number 5
ofs-saga: bad-header.json: /steps/2/action/headers: must be an object, got array

url-and-command.json
ofs-saga: url-and-command.json: /steps/1/action: needs exactly one of 'url' (an HTTP call) and 'command'
ofs-saga: url-and-command.json: /steps/2/action: needs exactly one of 'url' (an HTTP call) and 'command'
ofs-saga: url-and-command.json: /steps/2/compensation: needs exactly one of 'url' (an HTTP call) and 'command'
ofs-saga: url-and-command.json: /steps/3: missing required key 'action'
ofs-saga: url-and-command.json: /steps/4/action: must be an object, got array

command-type.json
ofs-saga: command-type.json: /steps/1/action/command: must be an argv array of strings or a shell command string, got number 5
ofs-saga: command-type.json: /steps/2/action/command: must not be empty
ofs-saga: command-type.json: /steps/3/action/command/1: must be a string, got number 1
ofs-saga: command-type.json: /steps/3/action/command/2: must be a string, got null
ofs-saga: command-type.json: /steps/4/action/command/0: the program name must not be empty
ofs-saga: command-type.json: /steps/5/action/command: must not be empty
ofs-saga: command-type.json: /steps/6/action/command: must be an argv array of strings or a shell command string, got object

shell-template.json
ofs-saga: shell-template.json: /steps/1/action/command: '${...}' is not filled in in a shell command: read OFS_SAGA_DATA or OFS_SAGA_OUTPUTS from the environment, or use an argv array
ofs-saga: shell-template.json: /steps/1/compensation/command: '${...}' is not filled in in a shell command: read OFS_SAGA_DATA or OFS_SAGA_OUTPUTS from the environment, or use an argv array

out-not-earlier.json
ofs-saga: out-not-earlier.json: /steps/1/action/command/1: '${out:charge/amount}': no step 'charge' runs before this one
ofs-saga: out-not-earlier.json: /steps/1/compensation/command/1: '${out:reserve/id}': no step 'reserve' runs before this one
ofs-saga: out-not-earlier.json: /steps/2/action/command/1: '${out:charge}': no step 'charge' runs before this one
ofs-saga: out-not-earlier.json: /steps/3/parallel/0/action/command/1: '${out:bill/id}': no step 'bill' runs before this one
ofs-saga: out-not-earlier.json: /steps/3/parallel/1/action/command/1: '${out:reserv/id}': no step 'reserv' runs before this one; did you mean 'reserve'?
ofs-saga: out-not-earlier.json: /steps/4/action/url: '${out:nosuch}': no step 'nosuch' runs before this one
ofs-saga: out-not-earlier.json: /steps/4/action/body/n: '${}': empty name
ofs-saga: out-not-earlier.json: /steps/4/action/body/t: unterminated '${' in '${sku'

retry-values.json
ofs-saga: retry-values.json: /steps/1/retry/attempts: must be 0..1000000, got -1
ofs-saga: retry-values.json: /steps/1/retry/interval: invalid duration '5x': unknown unit 'x'
ofs-saga: retry-values.json: /steps/1/retry/backoff: must be 1..1000, got 0.5
ofs-saga: retry-values.json: /steps/1/retry/jitter: must be true or false, got string 'yes'
ofs-saga: retry-values.json: /steps/1/retry/non_retryable/1: must be 1..599, got 600
ofs-saga: retry-values.json: /steps/1/retry/non_retryable/2: must be an integer, got string '409'
ofs-saga: retry-values.json: /steps/2/action/retry/attempts: must be an integer, got number 1.5
ofs-saga: retry-values.json: /steps/2/action/retry/backoff: must be 1..1000, got 1001
ofs-saga: retry-values.json: /steps/2/action/retry/max_interval: must not be negative, got -1
ofs-saga: retry-values.json: /steps/2/action/retry/non_retryable: must be an array, got number 404
ofs-saga: retry-values.json: /steps/3/retry: must be an object, got string 'twice'
ofs-saga: retry-values.json: /steps/4/compensation/retry/attempts: must be 0..1000000, got 1000001

max-interval.json
ofs-saga: max-interval.json: /steps/1/retry/max_interval: must not be shorter than the interval
ofs-saga: max-interval.json: /steps/2/compensation/retry/max_interval: must not be shorter than the interval

timeout-too-short.json
ofs-saga: timeout-too-short.json: /steps/1/timeout: must be 1ms..24h
ofs-saga: timeout-too-short.json: /steps/2/action/timeout: must be 1ms..24h
ofs-saga: timeout-too-short.json: /steps/3/timeout: must be 1ms..24h
ofs-saga: timeout-too-short.json: /steps/5/timeout: invalid duration 'soon': expected a number
ofs-saga: timeout-too-short.json: /steps/6/action/timeout: must be 1ms..24h

deadline-after-pivot.json
ofs-saga: deadline-after-pivot.json: /steps/6/wait/on_timeout: must be one of 'compensate', 'continue', got 'skip'
ofs-saga: deadline-after-pivot.json: /steps/3/wait: after the pivot a deadline can only continue: set "on_timeout": "continue"
ofs-saga: deadline-after-pivot.json: /steps/4/wait: after the pivot a deadline can only continue: set "on_timeout": "continue"

not-json.json
ofs-saga: not-json.json:4:66: invalid JSON: trailing comma before ']'

single-quotes.json
ofs-saga: single-quotes.json:3:55: invalid JSON: unexpected character ''', expected a value (strings take double quotes)

two-values.json
ofs-saga: two-values.json:2:1: invalid JSON: trailing garbage after the value

empty.json
ofs-saga: empty.json:1:1: invalid JSON: empty input

TABLE
}

# each_case FN: call FN NAME EXPECTED for every case of the table.
each_case() {
	local name want line
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		want=
		while IFS= read -r line && [ -n "$line" ]; do
			want+=${want:+$'\n'}$line
		done
		"$1" "$name" "$want"
	done < <(table)
}

# The checks of one case; failures are collected in $problems so that
# one run shows every case that is wrong.
check_start() {
	local name=$1 want=$2 got rc
	rm -rf ran "$OFS_STATE_DIR" ./*.json
	cp "$FIX/$name" "$name"
	rc=0
	saga start --wait "$name" >out.txt 2>err.txt || rc=$?
	got=$(cat err.txt)
	[ "$rc" = 2 ] || problems+="$name: exit $rc, expected 2"$'\n'
	[ ! -s out.txt ] || problems+="$name: stdout: $(cat out.txt)"$'\n'
	[ "$got" = "$want" ] ||
		problems+=$(printf '%s: expected\n%s\ngot\n%s' "$name" "$want" "$got")$'\n'
	[ ! -e ran ] || problems+="$name: the first step ran"$'\n'
	[ -z "$(journals)" ] || problems+="$name: a journal was written: $(journals)"$'\n'
}

check_others() {
	local name=$1 want=${2%%$'\n'*} cmd rc first
	rm -rf ran "$OFS_STATE_DIR" ./*.json
	cp "$FIX/$name" "$name"
	for cmd in lint graph "start --dry-run"; do
		rc=0
		# shellcheck disable=SC2086
		saga $cmd "$name" >out.txt 2>err.txt || rc=$?
		first=$(head -n 1 err.txt)
		[ "$rc" = 2 ] || problems+="$cmd $name: exit $rc, expected 2"$'\n'
		[ "$first" = "$want" ] || problems+="$cmd $name: first line '$first', expected '$want'"$'\n'
	done
	[ ! -s out.txt ] || problems+="start --dry-run $name: stdout: $(cat out.txt)"$'\n'
	[ ! -e ran ] || problems+="$name: a step ran"$'\n'
	[ -z "$(journals)" ] || problems+="$name: a journal was written: $(journals)"$'\n'
}

@test "control: the first step of the fixtures runs when the definition is valid" {
	cat >valid.json <<'EOF'
{ "name": "valid",
  "steps": [ { "name": "mark", "action": { "command": ["touch", "ran"] } } ] }
EOF
	run -0 saga start --wait --id v1 valid.json
	[ -e ran ]
	[ "$(journals)" = "$OFS_STATE_DIR/saga/v1.jsonl" ]
}

@test "every fixture of invalid/ has a case in the table, and every case a fixture" {
	local f names
	names=$(table | awk 'BEGIN { RS = "" } { print $1 }' | sort)
	for f in "$FIX"/*; do
		grep -qx -- "$(basename "$f")" <<<"$names" || fail "no case for fixture $(basename "$f")"
	done
	for f in $names; do
		[ -f "$FIX/$f" ] || fail "case $f has no fixture"
	done
	[ "$(wc -l <<<"$names")" -ge 28 ]
}

@test "start: every invalid definition of the table: exact messages, exit 2, nothing run" {
	problems=
	each_case check_start
	[ -z "$problems" ] || fail "$problems"
}

@test "lint, graph and start --dry-run: exit 2 on every invalid definition, first line the same" {
	problems=
	each_case check_others
	[ -z "$problems" ] || fail "$problems"
}

@test "start: a missing definition file is a usage error" {
	run -2 --separate-stderr saga start --wait nosuch.json
	assert_equal "$stderr" "ofs-saga: cannot open 'nosuch.json': No such file or directory"
	assert_equal "$output" ""
	nothing_ran "missing file"
}

@test "start: a wait step takes no timeout or retry of its own (its deadline is wait/timeout)" {
	cat >wait-extras.json <<'EOF'
{ "name": "wait-extras",
  "steps": [
    { "name": "mark", "action": { "command": ["touch", "ran"] } },
    { "name": "approve", "wait": { "signal": "approved" },
      "timeout": "soon", "retry": { "bogus": 1 } } ] }
EOF
	run -2 --separate-stderr saga start --wait wait-extras.json
	assert_equal "$output" ""
	grep -q "^ofs-saga: wait-extras.json: /steps/1/timeout: " <<<"$stderr" ||
		fail "no error for /steps/1/timeout: $stderr"
	grep -q "^ofs-saga: wait-extras.json: /steps/1/retry" <<<"$stderr" ||
		fail "no error for /steps/1/retry: $stderr"
	nothing_ran wait-extras
}

@test "start: a description is a string, of a step and of a parallel group too" {
	cat >descriptions.json <<'EOF'
{ "name": "descriptions",
  "steps": [
    { "name": "mark", "description": ["x"], "action": { "command": ["touch", "ran"] } },
    { "parallel": [ { "name": "p", "action": { "command": ["true"] } },
                    { "name": "q", "action": { "command": ["true"] } } ],
      "description": 7 } ] }
EOF
	run -2 --separate-stderr saga start --wait descriptions.json
	assert_equal "$stderr" "ofs-saga: descriptions.json: /steps/0/description: must be a string, got array
ofs-saga: descriptions.json: /steps/1/description: must be a string, got number 7"
	nothing_ran descriptions
}

# A definition whose steps use data it does not define.
data_def() {
	cat >d.json <<'EOF'
{ "name": "d", "data": { "sku": "book" },
  "steps": [
    { "name": "mark", "action": { "command": ["touch", "ran"] } },
    { "name": "reserve", "action": { "command": ["echo", "${sku}", "${qty}"] },
      "compensation": { "command": ["echo", "${order}"] } },
    { "name": "ship", "kind": "pivot",
      "action": { "url": "${shipping}/ship", "body": { "qty": "${qty}" } } } ] }
EOF
}

@test "start --input: a value the definition uses is missing: exit 2 naming the pointer" {
	data_def
	run -2 --separate-stderr saga start --wait \
		--input '{"qty": 1, "order": "o-1"}' d.json
	assert_equal "$output" ""
	# One problem, one line, naming the file and the pointer.
	[ "$(wc -l <<<"$stderr")" = 1 ] || fail "stderr: $stderr"
	[[ $stderr == "ofs-saga: "*"d.json: /steps/2/action/url: '\${shipping}': no data value 'shipping'" ]] ||
		fail "stderr: $stderr"
	nothing_ran "one value missing"
}

@test "start --input: several missing values: one line each, prefixed and naming its pointer" {
	data_def
	run -2 --separate-stderr saga start --wait --input '{"sku": "pen"}' d.json
	assert_equal "$output" ""
	local want
	want=$(cat <<'EOF'
/steps/1/action/command/2: '${qty}': no data value 'qty'
/steps/1/compensation/command/1: '${order}': no data value 'order'
/steps/2/action/url: '${shipping}': no data value 'shipping'
/steps/2/action/body/qty: '${qty}': no data value 'qty'
EOF
)
	[ "$(wc -l <<<"$stderr")" = 4 ] || fail "expected 4 lines, got: $stderr"
	local line i=0 ptr
	while IFS= read -r line; do
		i=$((i + 1))
		ptr=$(sed -n "${i}p" <<<"$want")
		[[ $line == "ofs-saga: "* ]] || fail "line $i lacks the prefix: $line"
		[[ $line == *"d.json: $ptr" ]] || fail "line $i: expected '...d.json: $ptr', got '$line'"
	done <<<"$stderr"
	nothing_ran "values missing"
}

@test "start --input: the definition's data and the input together suffice: it starts" {
	data_def
	run -0 --separate-stderr saga start --dry-run \
		--input '{"qty": 2, "order": "o-1", "shipping": "http://127.0.0.1:9"}' d.json
	assert_equal "$stderr" ""
	assert_jq "$(sed -n 2p <<<"$output")" '.action.command | join(" ")' "echo book 2"
	assert_jq "$(sed -n 3p <<<"$output")" '.action.url' "http://127.0.0.1:9/ship"
	nothing_ran "dry run"
}

@test "start --input: not a JSON object, or not JSON: exit 2" {
	data_def
	run -2 --separate-stderr saga start --wait --input '[1]' d.json
	assert_equal "$stderr" "ofs-saga: --input: must be a JSON object, got array"
	run -2 --separate-stderr saga start --wait --input '"x"' d.json
	assert_equal "$stderr" "ofs-saga: --input: must be a JSON object, got string"
	run -2 --separate-stderr saga start --wait --input '5' d.json
	assert_equal "$stderr" "ofs-saga: --input: must be a JSON object, got number"
	run -2 --separate-stderr saga start --wait --input 'null' d.json
	assert_equal "$stderr" "ofs-saga: --input: must be a JSON object, got null"
	run -2 --separate-stderr saga start --wait --input '{"qty":' d.json
	assert_equal "$stderr" "ofs-saga: --input:1:8: invalid JSON: unexpected end of input, expected a value"
	run -2 --separate-stderr saga start --wait --input '' d.json
	assert_equal "$stderr" "ofs-saga: --input:1:1: invalid JSON: empty input"
	assert_equal "$output" ""
	nothing_ran "bad --input"
}

@test "start: a bad --id and --inputs with --input are usage errors" {
	data_def
	run -2 --separate-stderr saga start --id 'no/slash' d.json
	[[ $stderr == *"--id: 'no/slash' is not a saga id"* ]] || fail "stderr: $stderr"
	: >in.jsonl
	run -2 --separate-stderr saga start --inputs in.jsonl --input '{}' d.json
	[[ $stderr == *"--inputs takes each saga's input and id from its records"* ]] ||
		fail "stderr: $stderr"
	nothing_ran "usage"
}
