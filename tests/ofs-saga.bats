#!/usr/bin/env bats
# ofs-saga against the example shop: the order saga's three courses
# (success, failure before the pivot compensated, failure after it
# retried forward), parked sagas taking a signal or passing a deadline
# from cron-like runs, abort, status, list and log.

load helpers
load saga

setup_file() { saga_setup_file; }
teardown_file() { saga_teardown_file; }
setup() { saga_setup; }
teardown() { stop_bg; }

saga() { "$OFS_BIN/ofs-saga" "$@"; }

@test "order saga, success: every step once, stock taken, keys applied once" {
	local before id
	before=$(stock_of book)
	run -0 saga start "$ORDER" --input "$(saga_input '{"qty":2}')" --wait
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.started saga.step/reserve/started saga.step/reserve/succeeded saga.step/charge/started saga.step/charge/succeeded saga.pivot/charge saga.step/ship/started saga.step/ship/succeeded saga.step/notify/started saga.step/notify/succeeded saga.completed"
	id=$(saga_id_of "$BATS_TEST_TMPDIR/out")
	assert_equal "$(stock_of book)" "$((before - 2))"
	# The charge was for what the reservation said, under the saga's key.
	assert_jq "$(grep '"step":"charge","event":"succeeded"' "$BATS_TEST_TMPDIR/out")" '.output.amount_cents' 4900
	assert_equal "$(applied_of inventory "$id/reserve/1")" "1 1"
	assert_equal "$(applied_of payments "$id/charge/1")" "1 1"
	assert_equal "$(applied_of shipping "$id/ship/1")" "1 1"
	assert_equal "$(applied_of orders "$id/notify/1")" "1 1"
	# Every record carries the saga and a sequence without gaps.
	assert_jq "$(jq -s -c '[.[] | .seq]' "$BATS_TEST_TMPDIR/out")" '. == [range(1; 12)]' true
	run -0 saga status "$id"
	assert_jq "$output" '[.state, .steps_done, .steps, .pivot_passed, .driven] | join(" ")' \
		"completed 4 4 true false"
	# The journal is the run's records.
	run -0 saga log "$id"
	assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "order saga, payments failing: charge tried 3 times, inventory released, exit 1" {
	local before id
	before=$(stock_of book)
	shop_fault payments-1 '{"status":500}'
	shop_fault payments-2 '{"status":500}'
	run -1 saga start "$ORDER" --input "$SAGA_INPUT" --wait
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.started saga.step/reserve/started saga.step/reserve/succeeded saga.step/charge/started saga.step/charge/failed saga.step/charge/started saga.step/charge/failed saga.step/charge/started saga.step/charge/failed saga.compensating/charge saga.compensation/reserve/started saga.compensation/reserve/succeeded saga.compensated"
	id=$(saga_id_of "$BATS_TEST_TMPDIR/out")
	assert_equal "$(stock_of book)" "$before"
	# A definite failure (an error status) frees the key: three keys.
	assert_equal "$(jq -r 'select(.step == "charge" and .event == "started") | .key' "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" \
		"$id/charge/1 $id/charge/2 $id/charge/3 "
	assert_jq "$(grep '"type":"saga.compensation".*"succeeded"' "$BATS_TEST_TMPDIR/out")" '.output.released | tojson' '{"book":1}'
	assert_equal "$(applied_of inventory "$id/reserve/compensation/1")" "1 1"
	assert_jq "$(grep saga.compensated "$BATS_TEST_TMPDIR/out")" '.reason' \
		"step 'charge' failed: http 500: {\"error\":\"fault injected: status 500\"}"
	run -1 saga status "$id"
	assert_jq "$output" '.state' compensated
}

@test "order saga, an unknown sku is not retried: compensated at once" {
	run -1 saga start "$ORDER" --input "$(saga_input '{"sku":"no-such-sku"}')" --wait
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.started saga.step/reserve/started saga.step/reserve/failed saga.compensating/reserve saga.compensation/reserve/started saga.compensation/reserve/succeeded saga.compensated"
	assert_jq "$(grep '"event":"failed"' "$BATS_TEST_TMPDIR/out")" '[.code, .gave_up] | map(tostring) | join(" ")' "404 not retryable"
}

@test "order saga, shipping failing after the pivot: retried forward until it succeeds" {
	local id
	shop_fault shipping-1 '{"status":503,"times":3}'
	run -0 saga start "$ORDER" --input "$SAGA_INPUT" --wait
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	id=$(saga_id_of "$BATS_TEST_TMPDIR/out")
	assert_equal "$(jq -r 'select(.step == "ship") | .event' "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" \
		"started failed started failed started failed started succeeded "
	assert_equal "$(jq -r 'select(.type == "saga.step" and .step == "ship" and .event == "failed") | .retry_in_ms | type' "$BATS_TEST_TMPDIR/out" | sort -u)" number
	run -1 grep -c '"type":"saga.compensation"' "$BATS_TEST_TMPDIR/out"
	assert_output 0
	assert_jq "$(tail -1 "$BATS_TEST_TMPDIR/out")" '.type' saga.completed
	assert_equal "$(applied_of shipping "$id/ship/4")" "1 1"
}

@test "parked saga: cron runs leave it waiting, the signal completes it with its data" {
	local id
	run -0 saga start "$OFS_TOP/tests/fixtures/saga/authorise.json" --input "$SAGA_INPUT"
	id=$output
	# Cron, the first time: reserve, then park at the wait.
	run -0 saga resume --due
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.step/reserve/started saga.step/reserve/succeeded saga.parked/authorised"
	assert_jq "$(tail -1 "$BATS_TEST_TMPDIR/out")" '.signal' authorised
	run -0 saga status "$id"
	assert_jq "$output" '[.state, .step, .signal] | join(" ")' "parked authorised authorised"
	# Cron again before anything happened: nothing to do.
	run -0 saga resume --due
	assert_output ""
	run -0 saga signal "$id" authorised --data '{"code":"A-77"}'
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.signalled saga.step/authorised/succeeded saga.step/charge/started saga.step/charge/succeeded saga.pivot/charge saga.step/ship/started saga.step/ship/succeeded saga.completed"
	assert_jq "$(grep '"step":"authorised"' "$BATS_TEST_TMPDIR/out")" '.output.code' A-77
	run -0 saga status "$id"
	assert_jq "$output" '.state' completed
	# A signal for a saga that has ended is refused.
	run -1 saga signal "$id" authorised
	assert_output --partial "has ended (completed); the signal was not delivered"
}

@test "parked saga: a signal that comes before the wait is kept until the wait takes it" {
	local id
	run -0 saga start "$OFS_TOP/tests/fixtures/saga/authorise.json" --input "$SAGA_INPUT"
	id=$output
	run -0 saga signal "$id" authorised --data '{"code":"early"}'
	assert_jq "$(tail -1 <<<"$output")" '.type' saga.completed
	assert_jq "$(saga log "$id" | grep '"step":"authorised"')" '.output.code' early
}

@test "parked saga: past its deadline, resume --due compensates it" {
	local id before
	before=$(stock_of mug)
	run -0 saga start "$OFS_TOP/tests/fixtures/saga/authorise.json" --input "$SAGA_INPUT" --wait
	id=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	assert_jq "$(tail -1 <<<"$output")" '.type' saga.parked
	assert_equal "$(stock_of mug)" "$((before - 1))"
	# Not due yet: nothing happens.
	run -0 saga resume --due
	assert_output ""
	sleep 2.2
	run -1 saga resume --due
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(events "$BATS_TEST_TMPDIR/out")" \
		"saga.step/authorised/failed saga.compensating/authorised saga.compensation/reserve/started saga.compensation/reserve/succeeded saga.compensated"
	assert_jq "$(head -1 "$BATS_TEST_TMPDIR/out")" '.error' "the deadline passed without signal 'authorised'"
	assert_equal "$(stock_of mug)" "$before"
	# Nothing is left to do.
	run -0 saga resume --due
	assert_output ""
}

@test "abort: a parked saga before its pivot is compensated; after the pivot it is refused" {
	local id
	run -0 saga start "$OFS_TOP/tests/fixtures/saga/authorise.json" --input "$SAGA_INPUT" --wait
	id=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	run -1 saga abort "$id"
	assert_equal "$(events <(echo "$output"))" \
		"saga.aborted saga.compensation/reserve/started saga.compensation/reserve/succeeded saga.compensated"
	run -0 saga start "$ORDER" --input "$SAGA_INPUT" --wait
	id=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	run -1 saga abort "$id"
	assert_output "ofs-saga: saga '$id' has ended (completed); nothing to abort"
}

@test "list --state and status of several sagas; exit 1 when one was compensated" {
	local ok bad
	run -0 saga start "$ORDER" --input "$SAGA_INPUT" --wait
	ok=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	run -1 saga start "$ORDER" --input "$(saga_input '{"sku":"no-such-sku"}')" --wait
	bad=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	run -0 saga list --state completed
	assert_jq "$output" '.saga' "$ok"
	run -0 saga list
	assert_equal "$(jq -r '.state' <<<"$output" | sort | tr '\n' ' ')" "compensated completed "
	run -1 saga status "$ok" "$bad"
	assert_equal "${#lines[@]}" 2
	run -2 saga status no-such-saga
	assert_output --partial "no saga 'no-such-saga'"
	run -2 saga list --state done
	assert_output --partial "--state: 'done' is not one of"
}

@test "a saga driven by another run is refused, and resume --all passes it over" {
	local id
	cat >"$BATS_TEST_TMPDIR/slow.json" <<'JSON'
{"name": "slow", "steps": [{"name": "nap", "action": {"command": ["sleep", "3"]}}]}
JSON
	run -0 saga start "$BATS_TEST_TMPDIR/slow.json"
	id=$output
	bg "$BATS_TEST_TMPDIR/run" "$OFS_BIN/ofs-saga" run "$id"
	wait_for_record "$BATS_TEST_TMPDIR/run" '.event == "started"'
	run -4 saga run "$id"
	assert_output --partial "is locked by another ofs run"
	run -0 saga resume --all
	assert_output ""
	run -0 saga status "$id"
	assert_jq "$output" '[.state, .driven] | map(tostring) | join(" ")' "running true"
}

@test "start --dry-run prints the plan with the data filled in and starts nothing" {
	run -0 saga start "$ORDER" --input "$SAGA_INPUT" --id order-42 --dry-run
	assert_equal "${#lines[@]}" 4
	assert_jq "${lines[0]}" '[.step, .stage, .stages, .kind, .action.url] | map(tostring) | join(" ")' \
		"reserve 1 4 compensatable $(shop_url inventory-1)/reserve"
	assert_jq "${lines[1]}" '.action.body | tojson' "{\"order_id\":\"order-42\",\"amount_cents\":\"\${out:reserve/amount_cents}\"}"
	[ ! -e "$OFS_STATE_DIR/saga/order-42.jsonl" ]
}

@test "a long journal is compacted into a snapshot the saga resumes from" {
	local id
	cat >"$BATS_TEST_TMPDIR/flaky.json" <<'JSON'
{"name": "flaky", "steps": [
  {"name": "hold", "action": {"command": ["true"]}, "compensation": {"command": ["true"]}},
  {"name": "pay", "kind": "pivot", "action": {"command": ["true"]}},
  {"name": "ship", "kind": "retriable",
   "action": {"command": ["sh", "-c", "n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) >count; [ $n -ge 40 ]"]},
   "retry": {"attempts": 30, "interval": "1ms", "max_interval": "2ms"}}]}
JSON
	cd "$BATS_TEST_TMPDIR"
	# 30 attempts fail: stuck, with its journal compacted on the way.
	OFS_SAGA_COMPACT=20 run -4 --separate-stderr saga start flaky.json --wait
	assert_equal "$stderr" "ofs-saga: warning: saga '$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")' is stuck going forward: step 'ship' failed: exited with status 1; once the cause is fixed: ofs-saga resume $(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")"
	id=$(jq -r 'select(.type == "saga.started") | .saga' <<<"$output")
	run -0 saga log "$id"
	# The journal begins with the snapshot, the records since follow it.
	assert_jq "${lines[0]}" '[.type, .state, .steps[2].name, (.steps[2].attempts > 10)] | map(tostring) | join(" ")' \
		"saga.snapshot running ship true"
	[ "${#lines[@]}" -le 21 ] || fail "the journal holds ${#lines[@]} records"
	assert_jq "$(jq -s -c '[.[].seq] | . == [range(.[0]; .[0] + length)]' <<<"$output")" '.' true
	assert_jq "${lines[-1]}" '.type' saga.stuck
	run -4 saga status "$id"
	assert_jq "$output" '[.state, .step, .attempts] | map(tostring) | join(" ")' "stuck ship 30"
	# Resumed from the snapshot: the attempts and keys go on where they were.
	OFS_SAGA_COMPACT=20 run -0 saga resume "$id"
	assert_jq "$(grep '"succeeded"' <<<"$output")" '[.step, .attempt] | map(tostring) | join(" ")' "ship 41"
	assert_jq "$(grep '"attempt":41,"key"' <<<"$output")" '.key' "$id/ship/41"
	assert_jq "${lines[-1]}" '.type' saga.completed
	run -2 env OFS_SAGA_COMPACT=5 "$OFS_BIN/ofs-saga" resume --all
	assert_output --partial "OFS_SAGA_COMPACT: must be a number of records 10..100000000, got '5'"
}

@test "a journal that cannot be written mid-run: exit 4, no further call, the journal still reads" {
	local id
	cd "$BATS_TEST_TMPDIR"
	cat >par.json <<'JSON'
{"name": "par", "steps": [
  {"parallel": [
    {"name": "a", "action": {"command": ["sh", "-c", "sleep 0.5; touch a.done"]}, "compensation": {"command": ["true"]}},
    {"name": "b", "action": {"command": ["sh", "-c", "sleep 0.5; touch b.done"]}, "compensation": {"command": ["true"]}}]},
  {"name": "c", "action": {"command": ["touch", "c.ran"]}}]}
JSON
	run -0 saga start --id u1 par.json
	# Room for the two `started` records and no more: the results of the
	# calls in flight cannot be journalled.
	run -4 python3 -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = os.stat(sys.argv[2]).st_size + 300
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.argv[1], [sys.argv[1], "run", "u1"])' "$OFS_BIN/ofs-saga" "$OFS_STATE_DIR/saga/u1.jsonl"
	assert_output --partial "ofs-saga: saga 'u1': cannot append to journal"
	[ -e a.done ] && [ -e b.done ] || fail "the calls in flight were not let finish"
	[ ! -e c.ran ] || fail "a step ran after the journal failed"
	run -0 saga status u1
	assert_jq "$output" '.state' running
	# With room again, resume learns the outcomes by running the calls again.
	run -0 saga resume u1
	assert_jq "$(tail -1 <<<"$output")" '.type' saga.completed
	[ -e c.ran ]
}

@test "the same saga id twice in one --inputs --wait: one saga; with other data: refused" {
	cd "$BATS_TEST_TMPDIR"
	echo '{"name": "one", "steps": [{"name": "a", "action": {"command": ["sh", "-c", "echo x >>runs"]}}]}' >one.json
	printf '%s\n' '{"saga_id":"o1","x":1}' '{"saga_id":"o1","x":1}' '{"saga_id":"o2","x":1}' '{"saga_id":"o2","x":2}' >in.jsonl
	run -3 saga start one.json --inputs in.jsonl --wait
	assert_equal "$(grep -c '"type":"saga.completed"' <<<"$output")" 2
	assert_output --partial "ofs-saga: in.jsonl:4: saga 'o2' exists already with another definition or input"
	assert_equal "$(wc -l <runs)" 2
	# run with an id given twice drives it once, without fighting its own lock.
	run -0 saga run o1 o1
}

@test "abort is refused while the pivot's outcome is unknown; resume then finishes the saga" {
	cd "$BATS_TEST_TMPDIR"
	cat >pv.json <<'JSON'
{"name": "pv", "steps": [
  {"name": "hold", "action": {"command": ["true"]}, "compensation": {"command": ["touch", "released"]}},
  {"name": "charge", "kind": "pivot", "action": {"command": ["sh", "-c", "echo charged >>charges; [ -e fast ] || sleep 5"]}},
  {"name": "ship", "kind": "retriable", "action": {"command": ["true"]}}]}
JSON
	run -0 saga start --id p1 pv.json
	bg run.out "$OFS_BIN/ofs-saga" run p1
	wait_for_record run.out '.step == "charge" and .event == "started"'
	kill -KILL "$BG_PID"
	run -1 saga abort p1
	assert_output "ofs-saga: saga 'p1': its pivot 'charge' may have taken effect (the outcome of its last call is unknown); resume the saga to learn it, then abort if it failed"
	[ ! -e released ]
	touch fast
	run -0 saga resume p1
	assert_jq "$(grep '"step":"charge","event":"started"' <<<"$output")" '[.rerun, .key] | map(tostring) | join(" ")' "true p1/charge/1"
	assert_jq "$(tail -1 <<<"$output")" '.type' saga.completed
}
