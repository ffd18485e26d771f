#!/usr/bin/env bats
# tests/ofs-scale-input.bats: every command of ofs-scale that reads
# samples, against the inputs DESIGN.md says every tool must survive:
# a 10 MB line and binary garbage between good lines (each reported as
# FILE:LINE, the good lines still used, exit 3), empty input, a missing
# file (exit 2) and a full disk on standard output (exit 4). The table
# below gives each command its arguments and what the good lines alone
# make it write.

load helpers
load scale

unset TRACEPARENT TRACESTATE

POLICY=$OFS_TOP/examples/scale/policy.json

# command, its arguments, the lines the two good samples give
CASES=(
	"decide|--no-state -p $POLICY|2"
	"forecast|--method linear --horizon 1h|2"
	"size|-p $POLICY|1"
	"plan|-p $POLICY --months 2|4"
	"simulate|-p $POLICY|1"
	"idle|-p $POLICY|1"
)

setup() {
	scale_setup
	# two quiet cart samples two hours apart: idle, two forecast steps
	good1='{"service":"cart","ts":"2026-11-22T10:00:00Z","metric":"cpu","value":1,"replicas":2,"ready_replicas":2}'
	good2='{"service":"cart","ts":"2026-11-22T12:00:00Z","metric":"cpu","value":1,"replicas":2,"ready_replicas":2}'
	printf '%s\n' "$good1" "$good2" >good.jsonl
	{
		echo "$good1"
		printf '{"service":"'
		head -c 10485760 /dev/zero | tr '\0' a
		printf '"}\n'
		for ((i = 0; i < 256; i++)); do printf '\xff\xfe\x01\x80'; done
		echo
		echo "$good2"
	} >bad.jsonl
}

# each_case FN: FN COMMAND ARGS LINES for every row of CASES
each_case() {
	local row cmd args n
	for row in "${CASES[@]}"; do
		IFS='|' read -r cmd args n <<<"$row"
		"$1" "$cmd" "$args" "$n"
	done
}

bad_lines() {
	# shellcheck disable=SC2086
	run --separate-stderr scale "$1" $2 bad.jsonl
	[ "$status" -eq 3 ] || fail "$1: exit $status, not 3: $stderr"
	assert_equal "$stderr" "ofs-scale: bad.jsonl:2: missing field 'metric'
ofs-scale: bad.jsonl:3: invalid JSON at column 1 near byte 0xff"
	[ "${#lines[@]}" -eq "$3" ] || fail "$1: ${#lines[@]} records, not $3: $output"
}

@test "a 10 MB line and binary garbage are reported by line; the good lines are used; exit 3" {
	each_case bad_lines
}

good_only() {
	# shellcheck disable=SC2086
	run -0 --separate-stderr scale "$1" $2 good.jsonl
	assert_equal "$stderr" ""
	[ "${#lines[@]}" -eq "$3" ] || fail "$1: ${#lines[@]} records, not $3: $output"
}

@test "the same good lines alone: the same records, exit 0" {
	each_case good_only
}

empty_input() {
	# shellcheck disable=SC2086
	run --separate-stderr scale "$1" $2 </dev/null
	if [ "$1" = simulate ]; then
		# a simulation needs a trace
		assert_equal "$status" 2
		assert_equal "$stderr" "ofs-scale: the trace holds no samples of metric 'cpu'"
	else
		[ "$status" -eq 0 ] || fail "$1: exit $status: $stderr"
		assert_equal "$stderr" ""
	fi
	assert_equal "$output" ""
}

@test "empty input: no records, exit 0 (simulate: no trace, exit 2)" {
	each_case empty_input
}

missing_file() {
	# shellcheck disable=SC2086
	run --separate-stderr scale "$1" $2 no-such.jsonl
	[ "$status" -eq 2 ] || fail "$1: exit $status, not 2: $stderr"
	assert_equal "$stderr" "ofs-scale: cannot open 'no-such.jsonl': No such file or directory"
	assert_equal "$output" ""
}

@test "a missing input file: its name and reason, exit 2" {
	each_case missing_file
}

full_disk() {
	local st=0
	# shellcheck disable=SC2086
	scale "$1" $2 good.jsonl >/dev/full 2>err.txt || st=$?
	[ "$st" -eq 4 ] || fail "$1: exit $st, not 4: $(cat err.txt)"
	assert_equal "$(cat err.txt)" "ofs-scale: write error on standard output: No space left on device"
}

@test "standard output on a full disk: exit 4" {
	each_case full_disk
}

@test "a policy of binary garbage or with a 10 MB name is refused with its reason, exit 2" {
	for ((i = 0; i < 64; i++)); do printf '\xff\xfe\x01\x80'; done >garbage.json
	run -2 --separate-stderr scale validate garbage.json
	assert_equal "$stderr" "ofs-scale: garbage.json:1:1: invalid JSON: unexpected byte 0xff, expected a value"
	{
		printf '{"service":"'
		head -c 10485760 /dev/zero | tr '\0' a
		printf '","maxReplicas":3,"metrics":[{"name":"cpu","target":{"averageUtilization":50}}]}'
	} >big.json
	run -2 --separate-stderr scale decide -p big.json good.jsonl
	assert_equal "$stderr" "ofs-scale: big.json: /service: must be at most 253 characters, got 10485760"
	assert_equal "$output" ""
}
