#!/usr/bin/env bats
# tests/ofs-saga-lint.bats: `ofs-saga lint` (cmd/ofs-saga/lint.c), the
# consistency risks of saga definitions.
#
# tests/fixtures/saga/ holds one crafted definition per risk class
# (named after it) besides clean ones. The table below gives, for each
# fixture, the exact saga.lint records expected (without ts), in order;
# a fixture with no record must exit 0, one with records 1. Then several
# files at once, an invalid file among valid ones (2 wins over 1), usage
# errors and a full disk.

# stderr is set by bats' run --separate-stderr:
# shellcheck disable=SC2154

load helpers

FIX=$OFS_TOP/tests/fixtures/saga

setup() {
	cd "$FIX" || return 1
}

saga() {
	"$OFS_BIN/ofs-saga" "$@"
}

# without_ts ARGS...: ofs-saga's records without ts, one per line, and
# its exit status.
without_ts() {
	local out rc=0
	out=$(saga "$@") || rc=$?
	[ -z "$out" ] || jq -c 'del(.ts)' <<<"$out"
	return "$rc"
}

# The table: a fixture on one line, then its records (jq -c, no ts),
# then a blank line. Run from the fixtures' directory, so "file" is the
# name as given.
TABLE=$(
	cat <<'TABLE'
order.json

parallel.json
{"type":"saga.lint","file":"parallel.json","saga":"trip","pointer":"/steps/3/parallel/0","step":"ticket","risk":"service-across-pivot","message":"service 'airline' is touched both before the pivot (by 'flight') and after it (by 'ticket'): others can see its state in between and only the first change can be undone; keep a service on one side of the pivot"}
{"type":"saga.lint","file":"parallel.json","saga":"trip","pointer":"/steps/3/parallel/1","step":"voucher","risk":"service-across-pivot","message":"service 'hotel' is touched both before the pivot (by 'hotel') and after it (by 'voucher'): others can see its state in between and only the first change can be undone; keep a service on one side of the pivot"}

missing-compensation.json
{"type":"saga.lint","file":"missing-compensation.json","saga":"missing-compensation","pointer":"/steps/1","step":"hold","risk":"missing-compensation","message":"'hold' runs before the pivot 'charge' but has no compensation: if the saga fails, what it did is never undone"}

not-retriable-after-pivot.json
{"type":"saga.lint","file":"not-retriable-after-pivot.json","saga":"not-retriable-after-pivot","pointer":"/steps/2","step":"ship","risk":"not-retriable-after-pivot","message":"'ship' comes after the pivot 'charge' but is compensatable, not retriable: past the pivot nothing is undone, so a step that gives up leaves the saga stuck; make it \"kind\": \"retriable\""}

retry-not-idempotent.json
{"type":"saga.lint","file":"retry-not-idempotent.json","saga":"retry-not-idempotent","pointer":"/steps/0","step":"reserve","risk":"retry-not-idempotent","message":"'reserve' is declared not idempotent but is tried up to 3 times: a retry after a timeout may do it twice; set \"retry\": {\"attempts\": 1} or make it safe to repeat"}
{"type":"saga.lint","file":"retry-not-idempotent.json","saga":"retry-not-idempotent","pointer":"/steps/3","step":"email","risk":"retry-not-idempotent","message":"'email' is declared not idempotent but is retried until it succeeds: a retry after a timeout may do it twice; set \"retry\": {\"attempts\": 1} or make it safe to repeat"}

duplicate-step.json
{"type":"saga.lint","file":"duplicate-step.json","saga":"duplicate-step","pointer":"/steps/1","step":"reserve-again","risk":"duplicate-step","message":"'reserve-again' makes the same call (method, URL and body) as 'reserve' (/steps/0), so the saga does the same thing twice; remove one or make them differ"}
{"type":"saga.lint","file":"duplicate-step.json","saga":"duplicate-step","pointer":"/steps/4/parallel/1","step":"log-twice","risk":"duplicate-step","message":"'log-twice' runs the same command as 'log' (/steps/4/parallel/0), so the saga does the same thing twice; remove one or make them differ"}

unreachable-step.json
{"type":"saga.lint","file":"unreachable-step.json","saga":"unreachable-step","pointer":"/steps/3","step":"charge","risk":"unreachable-step","message":"'charge' can never run: 'second-approval' (/steps/2) waits without a deadline for signal 'approved', which 'approval' consumed already, so the saga stays parked there"}
{"type":"saga.lint","file":"unreachable-step.json","saga":"unreachable-step","pointer":"/steps/4","step":"ship","risk":"unreachable-step","message":"'ship' can never run: 'second-approval' (/steps/2) waits without a deadline for signal 'approved', which 'approval' consumed already, so the saga stays parked there"}

service-across-pivot.json
{"type":"saga.lint","file":"service-across-pivot.json","saga":"service-across-pivot","pointer":"/steps/2","step":"commit-stock","risk":"service-across-pivot","message":"service 'inventory' is touched both before the pivot (by 'reserve') and after it (by 'commit-stock'): others can see its state in between and only the first change can be undone; keep a service on one side of the pivot"}

no-pivot.json
{"type":"saga.lint","file":"no-pivot.json","saga":"no-pivot","pointer":"/steps/1","step":"ship","risk":"no-pivot","message":"the saga has no pivot, yet 'ship' is retriable (and 1 more step): retriable steps belong after the pivot, the step that decides the saga goes through; mark that step \"kind\": \"pivot\""}

run-parked.json
{"type":"saga.lint","file":"run-parked.json","saga":"run-parked","pointer":"/steps/2","step":"b","risk":"duplicate-step","message":"'b' runs the same command as 'a' (/steps/0), so the saga does the same thing twice; remove one or make them differ"}
TABLE
)

@test "lint: every fixture of the table, exact records and exit status" {
	local file want line n=0 rc
	while IFS= read -r file; do
		want=
		while IFS= read -r line && [ -n "$line" ]; do
			want+=${want:+$'\n'}$line
		done
		rc=0
		got=$(without_ts lint "$file") || rc=$?
		[ "$got" = "$want" ] || fail "$file: expected
$want
got
$got"
		if [ -n "$want" ]; then
			[ "$rc" = 1 ] || fail "$file: exit $rc, want 1"
		else
			[ "$rc" = 0 ] || fail "$file: exit $rc, want 0"
		fi
		n=$((n + 1))
	done <<<"$TABLE"
	[ "$n" = 10 ] || fail "ran $n cases"
}

@test "lint: the table covers every risk class, each with a fixture of its name" {
	local risk
	run -0 bash -c "grep '^{' | jq -r .risk | sort -u" <<<"$TABLE"
	assert_output 'duplicate-step
missing-compensation
no-pivot
not-retriable-after-pivot
retry-not-idempotent
service-across-pivot
unreachable-step'
	for risk in $output; do
		[ -f "$risk.json" ] || fail "no fixture $risk.json"
		run -1 without_ts lint "$risk.json"
		assert_output --partial "\"risk\":\"$risk\""
	done
}

@test "lint: a clean saga prints nothing and exits 0" {
	run -0 --separate-stderr saga lint order.json
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "lint: the example order saga is clean" {
	run -0 --separate-stderr saga lint "$OFS_TOP/examples/saga/order.json"
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "lint: records carry type, ts and the fields, in that order" {
	run -1 saga lint no-pivot.json
	assert_jq "$output" 'keys_unsorted == ["type","ts","file","saga","pointer","step","risk","message"]'
	assert_jq "$output" '.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")'
}

@test "lint: several files, records in operand order, exit 1" {
	run -1 --separate-stderr without_ts lint order.json missing-compensation.json no-pivot.json
	assert_equal "$stderr" ""
	run -0 jq -r '"\(.file) \(.risk)"' <<<"$output"
	assert_output 'missing-compensation.json missing-compensation
no-pivot.json no-pivot'
}

@test "lint: an invalid file among risky ones: its errors, the others linted, exit 2" {
	run -2 --separate-stderr without_ts lint missing-compensation.json invalid.json no-pivot.json
	assert_equal "$stderr" "ofs-saga: invalid.json: /steps/0/action/url: must start with http:// or https://, got 'ftp://payments/charge'
ofs-saga: invalid.json: /steps/0/compensation: the pivot has no compensation: once it succeeds the saga only goes forward"
	run -0 jq -r '.risk' <<<"$output"
	assert_output 'missing-compensation
no-pivot'
	run -2 --separate-stderr saga lint order.json nonexistent.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-saga: cannot open 'nonexistent.json': No such file or directory"
}

@test "lint: attempts 1 makes a non-idempotent step fine; attempts 0 (unlimited) does not" {
	local dir=$BATS_TEST_TMPDIR
	jq '.steps[0].action.retry = {"attempts": 1}' retry-not-idempotent.json >"$dir/one.json"
	run -1 without_ts lint "$dir/one.json"
	run -0 jq -r '.step' <<<"$output"
	assert_output email
	jq '.steps[3].retry = {"attempts": 1} | .steps[0].retry = {"attempts": 0}' \
		retry-not-idempotent.json >"$dir/zero.json"
	run -1 without_ts lint "$dir/zero.json"
	run -0 jq -r '"\(.step): \(.message)"' <<<"$output"
	assert_output --partial "reserve: 'reserve' is declared not idempotent but is retried until it succeeds"
	refute_output --partial email
}

@test "lint: a wait with a deadline, or a fresh signal, hides nothing" {
	local dir=$BATS_TEST_TMPDIR
	jq '.steps[2].wait.timeout = "1d"' unreachable-step.json >"$dir/deadline.json"
	run -0 saga lint "$dir/deadline.json"
	assert_output ""
	jq '.steps[2].wait.signal = "approved-again"' unreachable-step.json >"$dir/fresh.json"
	run -0 saga lint "$dir/fresh.json"
	assert_output ""
}

@test "lint: usage errors exit 2" {
	run -2 --separate-stderr saga lint
	assert_equal "$output" ""
	[[ "$stderr" == *"missing definition"* ]] || fail "$stderr"
	run -2 --separate-stderr saga lint --strict order.json
	assert_equal "$output" ""
}

@test "lint: a full disk is exit 4" {
	run -4 bash -c "\"\$OFS_BIN/ofs-saga\" lint no-pivot.json >/dev/full"
}
