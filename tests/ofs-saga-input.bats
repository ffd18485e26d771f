#!/usr/bin/env bats
# tests/ofs-saga-input.bats: ofs-saga against hostile input and
# interruptions (DESIGN.md section 7): `start --inputs` with an empty
# file, a malformed line, a 10 MB line, binary garbage and a missing
# file; output to a full disk; SIGTERM and SIGKILL mid-step, then
# resume; a journal whose last line is torn; and a saga id given twice.
#
# Every step is a command, so nothing needs the network. Steps that
# must outlive a signal write their pid to `step.pids` (the working
# directory), and teardown ends them.

load helpers

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
	# One step that records the saga it ran for, then a pivot.
	cat >ok.json <<'EOF'
{ "name": "ok", "data": { "qty": 1 },
  "steps": [
    { "name": "mark", "action": { "command": ["sh", "-c", "echo \"$OFS_SAGA_ID\" >>ran"] },
      "compensation": { "command": ["true"] } },
    { "name": "finish", "kind": "pivot", "action": { "command": ["true"] } } ] }
EOF
}

teardown() {
	stop_bg
	local pid
	if [ -f step.pids ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null || true
		done <step.pids
	fi
}

saga() {
	"$OFS_BIN/ofs-saga" "$@"
}

# journal ID: the path of a saga's journal.
journal() {
	echo "$OFS_STATE_DIR/saga/$1.jsonl"
}

# journal_ids: the ids of the journals in the state directory, sorted,
# one a line.
journal_ids() {
	local f
	for f in "$OFS_STATE_DIR"/saga/*.jsonl; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.jsonl}"
	done | sort
}

# to_full ARGS...: ofs-saga with its standard output on a full disk.
to_full() {
	saga "$@" >/dev/full
}

# records FILE FILTER: the records of FILE passing the jq FILTER, compact.
records() {
	jq -c "select($2)" "$1"
}

@test "--inputs: an empty file starts nothing, exit 0" {
	: >empty.jsonl
	run -0 --separate-stderr saga start --inputs empty.jsonl ok.json
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	assert_equal "$(journal_ids)" ""
	# Blank lines only are empty too.
	printf '\n\n  \n' >blank.jsonl
	run -0 --separate-stderr saga start --wait --inputs blank.jsonl ok.json
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	assert_equal "$(journal_ids)" ""
	[ ! -e ran ]
}

@test "--inputs: malformed lines are reported FILE:LINE and skipped, the good ones start, exit 3" {
	cat >in.jsonl <<'EOF'
{"saga_id": "o1"}
{"saga_id":
[1, 2]
{"saga_id": "o2", "qty": 2}
{"saga_id": "bad id"}
{"saga_id": "o3"}
EOF
	run -3 --separate-stderr saga start --inputs in.jsonl ok.json
	assert_equal "$output" "o1
o2
o3"
	assert_equal "$stderr" "ofs-saga: in.jsonl:2: invalid JSON: unexpected end of line at column 12
ofs-saga: in.jsonl:3: not a JSON object
ofs-saga: in.jsonl:5: 'bad id' is not a saga id (1..128 letters, digits, '_', '.', '-')"
	assert_equal "$(journal_ids)" "o1
o2
o3"
	# The input is the saga's data, over the definition's.
	assert_jq "$(head -n 1 "$(journal o2)")" '.data' '{
  "qty": 2,
  "saga_id": "o2"
}'
	# --wait drives the good ones to their end.
	printf '{"saga_id": "w1"}\nnot json\n{"saga_id": "w2"}\n' >w.jsonl
	run -3 --separate-stderr saga start --wait --inputs w.jsonl ok.json
	assert_equal "$stderr" "ofs-saga: w.jsonl:2: invalid JSON at column 1 near 'n'"
	assert_equal "$(records <(echo "$output") '.type == "saga.completed"' | jq -r .saga | sort)" "w1
w2"
}

@test "--inputs: a record that lacks a value the definition uses is one rejected line" {
	cat >d.json <<'EOF'
{ "name": "d",
  "steps": [ { "name": "a", "action": { "command": ["echo", "${sku}", "${qty}"] } } ] }
EOF
	printf '{"saga_id": "d1", "sku": "pen", "qty": 1}\n{"saga_id": "d2"}\n{"saga_id": "d3", "sku": "pen", "qty": 2}\n' >in.jsonl
	run -3 --separate-stderr saga start --inputs in.jsonl d.json
	assert_equal "$output" "d1
d3"
	[ "$(wc -l <<<"$stderr")" = 1 ] || fail "one rejection, one line; got: $stderr"
	[[ $stderr == "ofs-saga: in.jsonl:2: "*"/steps/0/action/command/1"* ]] || fail "stderr: $stderr"
	assert_equal "$(journal_ids)" "d1
d3"
}

@test "--inputs: a 10 MB line is started whole (no crash, no truncation)" {
	{
		printf '{"saga_id": "big1", "blob": "'
		head -c 10485760 /dev/zero | tr '\0' x
		printf '"}\n{"saga_id": "small1"}\n'
	} >big.jsonl
	run -0 --separate-stderr saga start --inputs big.jsonl ok.json
	assert_equal "$output" "big1
small1"
	assert_equal "$stderr" ""
	run -0 jq -r '.data.blob | length' "$(journal big1)"
	assert_equal "$output" 10485760
	run -0 --separate-stderr saga status big1
	assert_jq "$output" '[.state, .steps_done, .steps] | join(" ")' "running 0 2"
}

@test "--inputs: binary garbage: every garbage line rejected, the good record started, exit 3" {
	local i oct all=
	# Every byte value in order (the newline among them ends the first
	# line), then a line of bytes that are not UTF-8 with a NUL before
	# a record: three lines of garbage, then a good record.
	for ((i = 0; i < 256; i++)); do
		printf -v oct '\\%03o' "$i"
		all+=$oct
	done
	printf '%b' "$all" >garbage.bin
	printf '\n\xff\xfe\x00{"saga_id":"x"}\n{"saga_id": "g1"}\n' >>garbage.bin
	run -3 --separate-stderr saga start --inputs garbage.bin ok.json
	assert_equal "$output" "g1"
	local n bad
	n=$(wc -l <<<"$stderr")
	[ "$n" = 3 ] || fail "expected 3 rejections: $stderr"
	bad=$(grep -cv '^ofs-saga: garbage\.bin:[0-9]*: ' <<<"$stderr" || true)
	[ "$bad" = 0 ] || fail "lines not in the FILE:LINE form: $stderr"
	assert_equal "$(journal_ids)" "g1"
	# The messages stay on one line each, whatever bytes they quote.
	[ "$(grep -c 'garbage\.bin:' <<<"$stderr")" = "$n" ]
}

@test "--inputs: a missing file is a usage error: exit 2, cannot open" {
	run -2 --separate-stderr saga start --inputs nosuch.jsonl ok.json
	assert_equal "$stderr" "ofs-saga: cannot open 'nosuch.jsonl': No such file or directory"
	assert_equal "$output" ""
	assert_equal "$(journal_ids)" ""
}

@test "--inputs -: records from standard input" {
	run -0 --separate-stderr saga start --inputs - ok.json <<<'{"saga_id": "s1"}'
	assert_equal "$output" "s1"
	assert_equal "$(journal_ids)" "s1"
}

@test "start >/dev/full: exit 4 with a message" {
	run -4 --separate-stderr to_full start --id f1 ok.json
	assert_equal "$stderr" "ofs-saga: write error on standard output: No space left on device"
	printf '{"saga_id": "f2"}\n{"saga_id": "f3"}\n' >in.jsonl
	run -4 --separate-stderr to_full start --inputs in.jsonl ok.json
	assert_equal "$stderr" "ofs-saga: write error on standard output: No space left on device"
	run -4 --separate-stderr to_full start --wait --id f4 ok.json
	assert_equal "$stderr" "ofs-saga: write error on standard output: No space left on device"
	# However far it got, the journal loads and resume finishes the saga.
	run -0 saga status f4
	run -0 --separate-stderr saga resume f4
	assert_equal "$stderr" ""
	run -0 saga status f4
	assert_jq "$output" '.state' completed
	run -4 --separate-stderr to_full status f1
	assert_equal "$stderr" "ofs-saga: write error on standard output: No space left on device"
	run -4 --separate-stderr to_full log f1
	assert_equal "$stderr" "ofs-saga: write error on standard output: No space left on device"
}

@test "SIGTERM during start --wait: the call in flight ends and is journalled, exit 143, resume finishes" {
	cat >slow.json <<'EOF'
{ "name": "slow",
  "steps": [
    { "name": "a", "action": { "command": ["true"] }, "compensation": { "command": ["true"] } },
    { "name": "nap", "action": { "command": ["sleep", "5"] },
      "compensation": { "command": ["true"] } },
    { "name": "b", "kind": "pivot", "action": { "command": ["true"] } } ] }
EOF
	bg out.jsonl "$OFS_BIN/ofs-saga" start --wait --id s1 slow.json
	wait_for_record out.jsonl '.step == "nap" and .event == "started"'
	kill -TERM "$BG_PID"
	local rc=0
	wait "$BG_PID" || rc=$?
	assert_equal "$rc" 143
	# The journal ends on a whole record: nap's call was let finish.
	local last
	last=$(tail -n 1 "$(journal s1)")
	assert_jq "$last" '[.type, .step, .event] | join(" ")' "saga.step nap succeeded"
	# Nothing after it was started.
	run -0 jq -s -c 'map(select(.step == "b")) | length' "$(journal s1)"
	assert_equal "$output" 0
	# The state loads, and says where the saga stands.
	run -0 --separate-stderr saga status s1
	assert_jq "$output" '[.type, .state, .steps_done, .step, .step_state, .driven] | join(" ")' \
		"saga.status running 2 b pending false"
	run -0 --separate-stderr saga resume s1
	assert_equal "$stderr" ""
	assert_jq "$(tail -n 1 <<<"$output")" '.type' "saga.completed"
	run -0 saga status s1
	assert_jq "$output" '.state' completed
}

@test "SIGKILL mid-step: resume --all reruns the step with the same idempotency key" {
	cat >k.json <<'EOF'
{ "name": "k",
  "steps": [
    { "name": "nap",
      "action": { "command": ["sh", "-c",
        "echo \"$OFS_IDEMPOTENCY_KEY\" >>keys; [ -e once ] && exit 0; : >once; echo \"$$\" >>step.pids; exec sleep 60"],
        "timeout": "2m" },
      "compensation": { "command": ["true"] } },
    { "name": "b", "kind": "pivot", "action": { "command": ["true"] } } ] }
EOF
	bg out.jsonl "$OFS_BIN/ofs-saga" start --wait --id k1 k.json
	wait_for_record out.jsonl '.step == "nap" and .event == "started"'
	# Wait for the step's process itself, then kill the driver outright.
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s step.pids ] && break
		sleep 0.1
	done
	[ -s step.pids ] || fail "the step never started"
	kill -KILL "$BG_PID"
	local rc=0
	wait "$BG_PID" || rc=$?
	assert_equal "$rc" 137
	run -0 saga status k1
	assert_jq "$output" '[.state, .step, .step_state, .driven] | join(" ")' \
		"running nap started false"
	run -0 --separate-stderr saga resume --all
	assert_jq "$(tail -n 1 <<<"$output")" '.type' "saga.completed"
	# The journal: nap started twice, the second a rerun with the same key.
	run -0 saga log k1
	local starts
	starts=$(records <(echo "$output") '.step == "nap" and .event == "started"' |
		jq -c '{attempt, key, rerun}')
	assert_equal "$starts" '{"attempt":1,"key":"k1/nap/1","rerun":null}
{"attempt":1,"key":"k1/nap/1","rerun":true}'
	# The step's process saw the same key both times.
	assert_equal "$(cat keys)" "k1/nap/1
k1/nap/1"
	run -0 saga status k1
	assert_jq "$output" '.state' completed
}

@test "a torn last journal line is ignored by status and log, and cut by resume" {
	run -0 saga start --id t1 ok.json
	local j
	j=$(journal t1)
	printf '{"type":"saga.step","ts":"2026-12-07T12:00:00.000000Z","saga":"t1","seq":2,"step":"mark","ev' >>"$j"
	run -0 --separate-stderr saga status t1
	assert_equal "$stderr" ""
	assert_jq "$output" '[.type, .state, .steps_done, .step, .step_state] | join(" ")' \
		"saga.status running 0 mark pending"
	run -0 --separate-stderr saga log t1
	assert_equal "$(wc -l <<<"$output")" 1
	assert_jq "$output" '.type' saga.started
	run -0 --separate-stderr saga list
	assert_jq "$output" '.saga' t1
	# The torn tail is still there: readers do not repair.
	[ "$(tail -c 3 "$j")" = '"ev' ]
	run -0 --separate-stderr saga resume t1
	assert_equal "$stderr" ""
	# Cut, then appended after: every line whole, seq counting 1, 2, ...
	[ "$(tail -c 1 "$j" | od -An -c | tr -d ' ')" = '\n' ]
	run -0 jq -s -c '[.[].seq] == [range(1; length + 1)]' "$j"
	assert_equal "$output" true
	! grep -q '"ev$' "$j" || fail "the torn line is still there"
	run -0 jq -r -s '.[-1].type' "$j"
	assert_equal "$output" saga.completed
}

@test "a torn last line ending in a newline is torn too: resume --all cuts it and finishes" {
	run -0 saga start --id t2 ok.json
	printf '{"type":"saga.step","sa\n' >>"$(journal t2)"
	run -0 saga status t2
	assert_jq "$output" '.state' running
	run -0 --separate-stderr saga resume --all
	assert_equal "$stderr" ""
	run -0 jq -r -s '.[-1].type' "$(journal t2)"
	assert_equal "$output" saga.completed
}

@test "--id given twice: the same input starts one saga; another input exits 2, exists already" {
	run -0 --separate-stderr saga start --id d1 --input '{"qty": 1}' ok.json
	assert_equal "$output" d1
	run -0 --separate-stderr saga start --id d1 --input '{"qty": 1}' ok.json
	assert_equal "$output" d1
	assert_equal "$stderr" ""
	assert_equal "$(journal_ids)" d1
	assert_equal "$(wc -l <"$(journal d1)")" 1
	# Key order is not a difference.
	run -0 saga start --id d2 --input '{"a": 1, "b": 2}' ok.json
	run -0 saga start --id d2 --input '{"b": 2, "a": 1}' ok.json
	assert_equal "$output" d2
	# Another input, or none, is refused.
	run -2 --separate-stderr saga start --id d1 --input '{"qty": 2}' ok.json
	assert_equal "$stderr" "ofs-saga: saga 'd1' exists already with another definition or input"
	assert_equal "$output" ""
	run -2 --separate-stderr saga start --wait --id d1 --input '{"qty": 1, "gift": true}' ok.json
	assert_equal "$stderr" "ofs-saga: saga 'd1' exists already with another definition or input"
	assert_equal "$(wc -l <"$(journal d1)")" 1
	# Run once, then started again with --wait: nothing runs twice.
	run -0 saga start --wait --id d1 --input '{"qty": 1}' ok.json
	run -0 saga start --wait --id d1 --input '{"qty": 1}' ok.json
	assert_equal "$(cat ran)" d1
}

@test "--inputs: a saga_id twice: the same record is not started again, another is rejected" {
	printf '{"saga_id": "r1", "qty": 1}\n{"saga_id": "r1", "qty": 1}\n{"saga_id": "r1", "qty": 3}\n' >in.jsonl
	run -3 --separate-stderr saga start --inputs in.jsonl ok.json
	assert_equal "$output" "r1
r1"
	assert_equal "$stderr" "ofs-saga: in.jsonl:3: saga 'r1' exists already with another definition or input"
	assert_equal "$(journal_ids)" r1
	assert_equal "$(wc -l <"$(journal r1)")" 1
}
