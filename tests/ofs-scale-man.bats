#!/usr/bin/env bats
# tests/ofs-scale-man.bats: every example of man/ofs-scale.1 runs as the
# manual shows it: its commands are read from the page (man_commands)
# and run by bash, and what they print is compared exactly with the
# output the page shows, along with the exit status it shows. The
# README's ofs-scale session is run the same way.
#
# Each test runs in a fresh directory where bin/ and examples/ are the
# programs built and the source tree's examples, as at the top of a
# source tree, with a state directory of its own (OFS_STATE_DIR), so no
# example sees what another left.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-scale.1

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	ln -s "$OFS_BIN" "$WORK/bin"
	ln -s "$OFS_TOP/examples" "$WORK/examples"
}

# run_example NAME: run the commands of the example NAME with bash in
# $WORK, the programs on PATH; set status, output and lines as run does.
run_example() {
	local script
	script=$(man_commands "$1")
	[ -n "$script" ] || fail "example '$1' has no commands"
	status=0
	# TMPDIR: what an example makes with mktemp stays in the test's directory
	output=$(cd "$WORK" && PATH="$OFS_BIN:$PATH" TMPDIR=$BATS_TEST_TMPDIR timeout 60 \
		bash -c "$script" 2>&1) || status=$?
	mapfile -t lines <<<"$output"
}

# check_example NAME: the example runs, ends with status 0 (the status
# a command of it returns is shown by the example itself) and prints
# exactly what the manual shows.
check_example() {
	run_example "$1"
	assert_equal "$status" 0
	assert_output "$(man_output "$1")"
}

@test "every example of the manual is named and has a test" {
	check_examples_named
}

@test "man page example: validate" {
	check_example validate
}

@test "man page example: spike" {
	check_example spike
}

@test "man page example: state" {
	check_example state
	# the example keeps its own state directory, not the test's
	[ ! -e "$OFS_STATE_DIR/scale" ] || fail "the example wrote the test's state"
}

@test "man page example: dry-run" {
	check_example dry-run
	# a dry run writes no state
	[ ! -e "$OFS_STATE_DIR/scale/state.json" ] || fail "the dry run wrote state"
}

@test "man page example: simulate" {
	check_example simulate
}

@test "man page example: size" {
	check_example size
}

@test "man page example: forecast" {
	check_example forecast
}

@test "man page example: plan" {
	check_example plan
}

@test "man page example: idle" {
	check_example idle
}

@test "the example policies are valid and the samples are all good lines" {
	run -0 "$OFS_BIN/ofs-scale" validate "$OFS_TOP"/examples/scale/*.json
	assert_output ""
	local f
	for f in "$OFS_TOP"/examples/scale/*.jsonl; do
		run -0 --separate-stderr "$OFS_BIN/ofs-scale" decide --strict --no-state \
			-p "$OFS_TOP/examples/scale/policy.json" "$f"
		assert_equal "$stderr" ""
	done
}

@test "the README's ofs-scale session works as written" {
	local session
	session=$(awk '/^## ofs-scale/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md")
	grep -q 'ofs-scale decide' <<<"$session" || fail "no ofs-scale session found in README.md"
	printf '%s\n' "$session" >"$WORK/session.sh"
	cd "$WORK"
	run -0 timeout 60 bash -e -o pipefail session.sh
	assert_output "$(printf '%s\n' \
		'10:00:15 2 -> 2 none' \
		'10:00:30 2 -> 6 up Pods 4/15s' \
		'10:00:45 6 -> 12 up Percent 100/15s' \
		'10:01:00 12 -> 15 up budget' \
		'10:01:15 15 -> 15 none' \
		'10:01:30 15 -> 15 none' \
		'{"from":2,"to":6,"argv":["echo","scale","cart","6"]}' \
		'{"from":6,"to":12,"argv":["echo","scale","cart","12"]}' \
		'{"from":12,"to":15,"argv":["echo","scale","cart","15"]}' \
		'{"time_to_capacity_s":45,"met_mark":true,"peak_replicas":12}' \
		'{"mix":[{"name":"m5.large","count":1},{"name":"c5.xlarge","count":7}],"cost_per_hour":1.286}')"
}
