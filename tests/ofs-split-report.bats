#!/usr/bin/env bats
# tests/ofs-split-report.bats: ofs-split report, the go/no-go gate over
# split.compare records.
#
# Most cases are data: tests/fixtures/split/report/cases/NAME.args (the
# arguments, one a line; input file names are relative to
# tests/fixtures/split/report, where the command runs), NAME.status (the
# exit status), NAME.out (the records expected, ts removed) or NAME.txt
# (the text output expected, byte for byte), and NAME.err (stderr,
# exactly; empty when absent). The inputs in input/ are hand-written
# streams as `ofs-split send` writes them, other record types included;
# the figures in the expected outputs were worked out by hand from them
# (see the comments of each case's test). Then usage errors (a table
# below), several inputs and stdin, a missing file, gzip input (and a
# truncated one), >/dev/full, binary garbage, a 10 MB line, SIGTERM, a
# closed pipe, TRACEPARENT, and percentiles over generated inputs: the
# nearest rank over 200 values, and the sketch past 100,000 values.

# The inner shells of `bash -c '...'` expand their own arguments, and bats
# sets $stderr in run --separate-stderr.
# shellcheck disable=SC2016,SC2154

load helpers

unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/split/report

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_bg
}

split() {
	"$OFS_BIN/ofs-split" "$@"
}

# check_case NAME: run the case NAME of $FIX/cases and compare status,
# stdout and stderr with what it expects.
check_case() {
	local c=$FIX/cases/$1 args
	mapfile -t args <"$c.args"
	run --separate-stderr bash -c 'cd "$1" && shift && "$@"' _ "$FIX" "$OFS_BIN/ofs-split" \
		report "${args[@]}"
	[ "$status" -eq "$(cat "$c.status")" ] ||
		fail "status $status, expected $(cat "$c.status"); stderr: $stderr"
	assert_equal "$stderr" "$(cat "$c.err" 2>/dev/null)"
	if [ -f "$c.txt" ]; then
		assert_equal "$output" "$(cat "$c.txt")"
	else
		assert_equal "$(jq -c 'del(.ts)' <<<"$output")" "$(cat "$c.out")"
		# Every record has its ts, RFC 3339 with microseconds.
		[ -z "$output" ] || assert_jq "$(jq -s . <<<"$output")" \
			'all(.[]; .ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$"))'
	fi
}

@test "every case in the fixtures has a test here" {
	local name
	for f in "$FIX"/cases/*.args; do
		name=$(basename "$f" .args)
		grep -q "^	check_case $name\$" "$BATS_TEST_FILENAME" || fail "case $name has no test"
		[ -f "$FIX/cases/$name.status" ] || fail "case $name has no .status"
		[ -f "$FIX/cases/$name.out" ] || [ -f "$FIX/cases/$name.txt" ] ||
			fail "case $name has no .out or .txt"
	done
}

# input/mixed.jsonl: split.sent, split.breaker and split.summary records
# among ten split.compare records of three endpoints.
#  GET /catalog/{id}: matched, 2 mismatched (/body/price_cents twice; a
#    noise field not counted), ignored, skipped (breaker open): 5
#    requests, 4 compared, 4 sent, mismatch 2/4; primary 9 10 10 11 12 ms
#    (p50 rank 3: 10, p99 rank 5: 12), candidate 12 13 14 30 (p50 rank
#    2: 13, p99 rank 4: 30).
#  POST /orders: matched, error (candidate connection refused), mismatched
#    (candidate 503, primary 201), matched with both 500: 4 requests, 3
#    compared, 1 failed, candidate errors 2 of 4 sent (the refused one and
#    the 503; the 500 against a primary 500 is not the candidate's),
#    primary errors 1; candidate latencies 5 25 31 (the refused request
#    has none).
#  GET /health: one match.
@test "mismatch rate over the threshold: no-go, exit 1, exact reasons" {
	check_case mixed-default
}

@test "rates equal to the thresholds pass: go, exit 0" {
	check_case mixed-at-thresholds
}

@test "-o text: the table and the NO-GO line" {
	check_case mixed-text
}

@test "-o text: GO (thresholds written with %)" {
	check_case mixed-text-go
}

@test "--min-requests: too few compared requests (singular and plural)" {
	check_case min-requests
}

@test "a rate just over its threshold gets the digits that show it" {
	# POST /orders: 1 of 3 is 33.333...%, over 33.33%.
	check_case rate-digits
}

# input/latency.jsonl: ten requests of GET /p/{n}. Primary 1.2 2 3.3 4.4
# 5.5 6.6 7.5 8.8 9.9 100.25: p50 (rank 5) 5.5, p99 (rank 10) 100.25.
# Candidate: one transport timeout (1000 ms, not a latency of an answer),
# one skipped, and 0.9 1.5 2.5 3.7504 4 6.125 12 200: p50 (rank 4) 3.75
# (rounded to the microsecond), p99 (rank 8) 200. Ratio 200 / 100.25 =
# 1.995. Candidate errors 1 of 9 sent.
@test "latency ratio over --max-latency-ratio: no-go with the reason" {
	check_case latency-ratio
}

@test "latency ratio under --max-latency-ratio (written 2x): go" {
	check_case latency-ratio-under
}

@test "-o text: exact percentiles, candidate error rate" {
	check_case latency-text
}

# input/skipped.jsonl: every PUT /cart/{id} request was skipped (breaker
# open): nothing compared, so no evidence, so no-go; GET /cart/{id} is go.
@test "an endpoint with every request skipped is no-go: no compared requests" {
	check_case skipped
}

@test "-o text: an endpoint without candidate figures shows '-'" {
	check_case skipped-text
}

@test "empty input: no-go, no compared requests" {
	check_case empty
}

@test "empty input, -o text: the NO-GO line alone" {
	check_case empty-text
}

@test "a stream without split.compare records: no-go, nothing rejected" {
	check_case others
}

# input/bad.jsonl: two good split.compare records (one mismatched) among
# bad lines: not JSON, not an object, no endpoint, a number for endpoint,
# no result, an unknown result, an empty endpoint, a null result; a
# split.summary, a blank line and {} pass quietly.
@test "bad lines: FILE:LINE reasons, the rest reported, exit 3 over no-go's 1" {
	check_case bad-lines
}

@test "bad lines, -o text: the table of the good ones, exit 3" {
	check_case bad-lines-text
}

@test "--strict: stops at the first bad line, no report, exit 3" {
	check_case bad-strict
}

@test "--strict: a split.compare without result stops it too" {
	check_case strict-member
}

@test "usage errors: exit 2, exact messages, nothing on stdout" {
	local usage='usage: ofs-split report [-h] [-o format] [--max-errors pct] [--max-latency-ratio x] [--max-mismatch pct] [--min-requests n] [--strict] [file ...]'
	local args msg n=0
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		run --separate-stderr split report $args "$FIX/input/mixed.jsonl"
		[ "$status" -eq 2 ] || fail "'$args': status $status, expected 2"
		assert_equal "$output" ""
		assert_equal "$stderr" "ofs-split report: $msg
$usage"
		n=$((n + 1))
	done <<'EOF'
--max-mismatch 150|--max-mismatch: must be a percentage 0..100, got '150'
--max-mismatch -1|--max-mismatch: must be a percentage 0..100, got '-1'
--max-mismatch abc|--max-mismatch: must be a percentage 0..100, got 'abc'
--max-mismatch 5x|--max-mismatch: must be a percentage 0..100, got '5x'
--max-errors 100.5|--max-errors: must be a percentage 0..100, got '100.5'
--max-errors=|--max-errors: must be a percentage 0..100, got ''
--max-latency-ratio 0|--max-latency-ratio: must be a number more than 0, got '0'
--max-latency-ratio 1.5y|--max-latency-ratio: must be a number more than 0, got '1.5y'
--min-requests 0|--min-requests: must be a whole number 1 or more, got '0'
--min-requests 2.5|--min-requests: must be a whole number 1 or more, got '2.5'
-o xml|-o: unknown format 'xml' (want jsonl or text)
--bogus|unknown option '--bogus'
EOF
	[ "$n" -eq 12 ]
	run --separate-stderr split report --max-mismatch
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "ofs-split report: option '--max-mismatch' requires an argument 'pct'
$usage"
}

@test "--help: the options with their help, on stdout, exit 0" {
	run --separate-stderr split report --help
	[ "$status" -eq 0 ]
	assert_equal "$stderr" ""
	assert_line '      --max-errors=pct      no-go above this candidate error rate, in percent of requests sent to it (default 1)'
	# an option too long for two spaces before its help puts the help below
	assert_line '      --max-latency-ratio=x'
	assert_line "                            no-go if the candidate's p99 latency is over x times the primary's (default off)"
	assert_line '      --max-mismatch=pct    no-go above this mismatch rate, in percent of compared requests (default 1)'
	assert_line '      --min-requests=n      no-go for an endpoint with fewer compared requests (default 1)'
	assert_line '  -o, --output=format       jsonl (default) or text'
	assert_line '      --strict              stop at the first bad input line'
}

@test "several inputs and stdin ('-' and no operand) add up" {
	run -1 --separate-stderr split report "$FIX/input/skipped.jsonl" - <"$FIX/input/mixed.jsonl"
	assert_equal "$stderr" ""
	local v
	v=$(tail -n 1 <<<"$output")
	assert_jq "$v" '[.endpoints, .requests, .compared, .skipped] | @csv' '5,13,9,3'
	assert_jq "$v" '.no_go | join(",")' 'GET /catalog/{id},POST /orders,PUT /cart/{id}'
	run -1 --separate-stderr split report <"$FIX/input/mixed.jsonl"
	assert_equal "$(jq -c 'del(.ts)' <<<"$output")" "$(cat "$FIX/cases/mixed-default.out")"
}

@test "a missing file: the message, the others reported, exit 2 (over 3 and 1)" {
	run --separate-stderr split report nope.jsonl "$FIX/input/mixed.jsonl"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "ofs-split: cannot open 'nope.jsonl': No such file or directory"
	assert_equal "$(jq -c 'del(.ts)' <<<"$output")" "$(cat "$FIX/cases/mixed-default.out")"
	run --separate-stderr split report nope.jsonl "$FIX/input/bad.jsonl"
	[ "$status" -eq 2 ]
}

@test "gzip input is read as such" {
	gzip -c "$FIX/input/mixed.jsonl" >mixed.jsonl.gz
	run -1 --separate-stderr split report mixed.jsonl.gz
	assert_equal "$stderr" ""
	assert_equal "$(jq -c 'del(.ts)' <<<"$output")" "$(cat "$FIX/cases/mixed-default.out")"
	# Truncated gzip: a read error, status 4 whatever the verdict.
	head -c 200 mixed.jsonl.gz >cut.jsonl.gz
	run --separate-stderr split report cut.jsonl.gz
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "ofs-split: cut.jsonl.gz: truncated gzip input"
}

@test ">/dev/full: exit 4 with a message" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bash -c '"$1" report "$2" >/dev/full' _ "$OFS_BIN/ofs-split" \
		"$FIX/input/mixed.jsonl"
	[ "$status" -eq 4 ]
	[[ "$stderr" == ofs-split:*"No space left on device"* ]] || fail "stderr: $stderr"
	run --separate-stderr bash -c '"$1" report -o text "$2" >/dev/full' _ \
		"$OFS_BIN/ofs-split" "$FIX/input/mixed.jsonl"
	[ "$status" -eq 4 ]
}

@test "binary garbage: rejected line by line, exit 3, no crash" {
	head -c 65536 /dev/urandom >garbage.bin
	printf '\x00\x01\xff{"type":"split.compare"\n' >>garbage.bin
	run --separate-stderr split report garbage.bin
	[ "$status" -eq 3 ] || fail "status $status"
	assert_jq "$(tail -n 1 <<<"$output")" '.verdict' 'no-go'
}

@test "a 10 MB line is a record like any other" {
	{
		printf '{"type":"split.compare","endpoint":"GET /long","result":"matched","path":"/'
		head -c 10485760 /dev/zero | tr '\0' a
		printf '","primary":{"status":200,"latency_ms":1},"candidate":{"status":200,"latency_ms":1}}\n'
	} >long.jsonl
	run -0 --separate-stderr split report long.jsonl
	assert_jq "$(head -n 1 <<<"$output")" '[.endpoint, .compared, .verdict] | @csv' '"GET /long",1,"go"'
}

@test "SIGTERM while reading: ends with 128+15" {
	mkfifo in.fifo
	bg out.jsonl "$OFS_BIN/ofs-split" report in.fifo
	exec 4>in.fifo
	echo '{"type":"split.compare","endpoint":"GET /a","result":"matched"}' >&4
	sleep 0.2
	kill -TERM "$BG_PID"
	local rc=0
	wait "$BG_PID" || rc=$?
	exec 4>&-
	[ "$rc" -eq 143 ] || fail "status $rc"
	assert_equal "$(cat out.jsonl)" ""
}

@test "a closed pipe ends quietly with the verdict's status" {
	run --separate-stderr bash -c 'set -o pipefail; "$1" report "$2" | head -n 1 >/dev/null' _ \
		"$OFS_BIN/ofs-split" "$FIX/input/mixed.jsonl"
	assert_equal "$stderr" ""
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || fail "status $status"
}

@test "TRACEPARENT: every record carries the trace id" {
	TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \
		run -1 --separate-stderr split report "$FIX/input/mixed.jsonl"
	assert_jq "$(jq -s . <<<"$output")" \
		'length == 4 and all(.[]; .trace_id == "4bf92f3577b34da6a3ce929d0e0e4736")'
}

# 200 answers of 1..200 ms in a shuffled order: the p50 is the value of
# rank 100 and the p99 of rank 198 (nearest rank), not the maximum.
@test "percentiles are the nearest rank, exact, over a shuffled set" {
	awk 'BEGIN { for (i = 0; i < 200; i++) { v = (i * 73) % 200 + 1
		printf "{\"type\":\"split.compare\",\"endpoint\":\"GET /x\",\"result\":\"matched\",\"primary\":{\"status\":200,\"latency_ms\":%d},\"candidate\":{\"status\":200,\"latency_ms\":%d}}\n", v, 2 * v } }' >many.jsonl
	[ "$(jq -s 'map(.primary.latency_ms) | unique | length' many.jsonl)" -eq 200 ]
	run -0 --separate-stderr split report --max-latency-ratio 2 many.jsonl
	assert_jq "$(head -n 1 <<<"$output")" \
		'[.primary_p50_ms, .primary_p99_ms, .candidate_p50_ms, .candidate_p99_ms, .p99_ratio, .percentiles_exact] | @csv' \
		'100,198,200,396,2,true'
	run -1 --separate-stderr split report --max-latency-ratio 1.99 many.jsonl
	assert_jq "$(tail -n 1 <<<"$output")" '.reasons[0]' \
		"GET /x: candidate p99 396 ms is 2x primary's 198 ms > 1.99x"
}

# Past REPORT_EXACT_MAX (100,000) values an endpoint's percentiles come
# from the sketch, within 1 %, and the record says so.
@test "past 100,000 latencies: the sketch, within 1 %, percentiles_exact false" {
	awk 'BEGIN { for (i = 0; i < 100001; i++) { v = (i * 7919) % 100001 + 1
		printf "{\"type\":\"split.compare\",\"endpoint\":\"GET /big\",\"result\":\"matched\",\"primary\":{\"status\":200,\"latency_ms\":%d},\"candidate\":{\"status\":200,\"latency_ms\":%d}}\n", v, v }
		printf "{\"type\":\"split.compare\",\"endpoint\":\"GET /small\",\"result\":\"matched\",\"primary\":{\"status\":200,\"latency_ms\":1},\"candidate\":{\"status\":200,\"latency_ms\":1}}\n" }' >big.jsonl
	run -0 --separate-stderr split report big.jsonl
	local r
	r=$(head -n 1 <<<"$output")
	assert_jq "$r" '.endpoint' 'GET /big'
	assert_jq "$r" '.percentiles_exact == false and .requests == 100001'
	# exact: p50 rank 50001 is 50001, p99 rank 99001 is 99001
	assert_jq "$r" '(.primary_p50_ms / 50001 - 1 | fabs) <= 0.01 and (.primary_p99_ms / 99001 - 1 | fabs) <= 0.01'
	assert_jq "$(sed -n 2p <<<"$output")" '.percentiles_exact'
}
