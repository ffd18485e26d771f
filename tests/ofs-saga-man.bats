#!/usr/bin/env bats
# tests/ofs-saga-man.bats: every example of man/ofs-saga.1 runs as the
# manual shows it, against the example shop: its commands are read from
# the page (man_commands) and run by bash, and what they print is
# compared with the output the page shows; then what each example did is
# checked where it shows (the journal, the shop's stock and idempotency
# store). The README's ofs-saga session is run the same way.
#
# The examples are one session: the file's tests run in the manual's
# order on one shop and one state directory (setup_file), each example
# after those before it. The manual's shop runs on fixed ports in
# /tmp/shop; here the shop runs on free ports in a directory of the
# file's own, and on_shop points the manual's paths and ports at it,
# in the commands, in the output shown and in the copy of
# examples/saga/order.json the examples read (a work directory where
# bin/ is the programs built, as at the top of a source tree).

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-saga.1

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

setup_file() {
	SHOP=$BATS_FILE_TMPDIR/shop
	WORK=$BATS_FILE_TMPDIR/work
	PORTS_SED=$BATS_FILE_TMPDIR/ports.sed
	mkdir -p "$WORK/examples/saga"
	ln -s "$OFS_BIN" "$WORK/bin"
	"$OFS_BIN/shopd" start --dir "$SHOP" --topology "$OFS_TOP/examples/shop/topology.json" \
		>/dev/null
	# the fixed port of each instance (the manual's) -> the port it runs on
	jq -r --slurpfile run "$SHOP/topology.json" '
		.services[].instances[] as $i
		| ($run[0].services[].instances[] | select(.id == $i.id) | .port) as $p
		| "s|127\\.0\\.0\\.1:\($i.port)\\b|127.0.0.1:\($p)|g"' \
		"$OFS_TOP/examples/shop/topology.json" >"$PORTS_SED"
	export SHOP WORK PORTS_SED SHOP_DIR=$SHOP OFS_STATE_DIR=$SHOP/state
	on_shop "$(cat "$OFS_TOP/examples/saga/order.json")" >"$WORK/examples/saga/order.json"
}

teardown() {
	stop_bg
}

teardown_file() {
	"$OFS_BIN/shopd" stop --dir "$SHOP" >/dev/null 2>&1 || true
}

# on_shop TEXT: TEXT with the manual's shop directory and ports pointed at
# this file's.
on_shop() {
	sed -f "$PORTS_SED" -e "s|/tmp/shop|$SHOP|g" <<<"$1"
}

# run_example NAME: run the commands of the example NAME with bash in
# $WORK (at most 2 minutes); set status, output and lines as run does.
run_example() {
	local script out=$BATS_TEST_TMPDIR/example.out
	script=$(on_shop "$(man_commands "$1")")
	[ -n "$script" ] || fail "example '$1' has no commands"
	status=0
	(cd "$WORK" && PATH="$OFS_BIN:$PATH" timeout 120 bash -c "$script" >"$out" 2>&1 3>&-) ||
		status=$?
	# bash's own word on a job killed with -9 is not the example's output
	output=$(grep -Ev '^bash: line [0-9]+: +[0-9]+ Killed ' "$out" || true)
	mapfile -t lines <<<"$output"
}

# expected NAME: the output the manual shows for the example NAME, with
# its paths and ports pointed as on_shop does.
expected() {
	on_shop "$(man_output "$1")"
}

# check_example NAME: the example ends with status 0 (a status it
# expects otherwise it shows itself) and prints what the manual shows.
check_example() {
	run_example "$1"
	assert_equal "$status" 0
	assert_output "$(expected "$1")"
}

# saga_status ID FILTER EXPECTED: FILTER on saga ID's saga.status record.
saga_status() {
	local got
	got=$("$OFS_BIN/ofs-saga" status "$1") || true
	assert_jq "$got" "$2" "$3"
}

# stock SKU: what inventory has of SKU now.
stock() {
	curl -sf "$(shop_url inventory-1)/stock" |
		jq -r --arg s "$1" '.items[] | select(.sku == $s) | .available'
}

# idem KEY SERVICE: "COUNT APPLIED" of an idempotency key of SERVICE.
idem() {
	curl -sf "$(shop_url "$2")/admin/idempotency?key=$1" | jq -r '"\(.count) \(.applied)"'
}

@test "every example of the manual is named and has a test" {
	check_examples_named
}

@test "the shop has the endpoints the example saga calls and compensates with" {
	local path
	for path in inventory-1/release payments-1/refund shipping-1/shipments/cancel \
		orders-1/notify; do
		run http_call POST "$(shop_url "${path%%/*}")/${path#*/}" '{"order_id": "probe"}'
		[[ "$output" == 200* ]] ||
			fail "POST /${path#*/} of ${path%%/*}: $output (this shopd lacks the saga endpoints)"
	done
}

@test "the example definition is valid and has no risk" {
	run -0 "$OFS_BIN/ofs-saga" lint "$OFS_TOP/examples/saga/order.json"
	assert_output ""
}

@test "man page example: lint" {
	check_example lint
}

@test "man page example: invalid" {
	check_example invalid
	[ ! -e "$OFS_STATE_DIR/saga" ] || [ -z "$(ls -A "$OFS_STATE_DIR/saga")" ] ||
		fail "the invalid definition left a journal"
}

@test "man page example: dry-run" {
	check_example dry-run
	[ ! -e "$OFS_STATE_DIR/saga/order-1000.jsonl" ] || fail "the dry run wrote a journal"
}

@test "man page example: start" {
	local before
	before=$(stock book)
	check_example start
	saga_status order-1001 '[.state, .steps_done, .steps, .pivot_passed, .driven] | join(" ")' \
		"completed 4 4 true false"
	assert_equal "$(stock book)" "$((before - 1))"
	assert_equal "$(idem order-1001/charge/1 payments)" "1 1"
}

@test "man page example: compensate" {
	local before
	before=$(stock book)
	check_example compensate
	saga_status order-1002 '[.state, .step, .step_state, .attempts] | join(" ")' \
		"compensated charge failed 3"
	# reserved, then released: the stock is what it was
	assert_equal "$(stock book)" "$before"
	# a definite failure frees its key: three attempts, three keys
	run -0 "$OFS_BIN/ofs-saga" log order-1002
	assert_jq "$(jq -s -c . <<<"$output")" \
		'map(select(.step == "charge" and .event == "started") | .key) | join(" ")' \
		"order-1002/charge/1 order-1002/charge/2 order-1002/charge/3"
	run -0 curl -sf "$(shop_url payments-1)/admin/fault"
	assert_jq "$output" '.status' null
}

@test "man page example: status-script" {
	check_example status-script
}

@test "man page example: inputs" {
	local before
	before=$(stock book)
	check_example inputs
	assert_equal "$(stock book)" "$((before - 3))"
	run -1 "$OFS_BIN/ofs-saga" status order-2001 order-2002 order-2003
	assert_equal "$(jq -r .state <<<"$output" | tr '\n' ' ')" "completed completed compensated "
	# the compensation of the refused reservation ran: registered at start
	run -0 "$OFS_BIN/ofs-saga" log order-2003
	assert_jq "$(jq -s -c . <<<"$output")" \
		'map(select(.type == "saga.compensation") | .event) | join(" ")' "started succeeded"
}

@test "man page example: signal" {
	check_example signal
	saga_status order-1003 '.state' completed
	run -0 "$OFS_BIN/ofs-saga" list --state parked
	assert_output ""
}

@test "man page example: abort" {
	local before
	before=$(stock book)
	check_example abort
	saga_status order-1004 '.state' compensated
	assert_equal "$(stock book)" "$before"
}

@test "man page example: crash" {
	check_example crash
	saga_status order-1005 '[.state, .driven] | join(" ")' "completed false"
	run -0 "$OFS_BIN/ofs-saga" log order-1005
	assert_jq "$(jq -s -c . <<<"$output")" \
		'map(select(.step == "ship" and .event == "started") | .key) | join(" ")' \
		"order-1005/ship/1 order-1005/ship/1"
}

@test "man page example: graph" {
	command -v dot >/dev/null || skip "dot (graphviz) is not installed"
	check_example graph
	run -0 grep -c '<g id="node' "$SHOP/order.svg"
	[ "$output" -ge 7 ] || fail "order.svg has $output nodes"
}

@test "the README's ofs-saga session works as written" {
	local session
	session=$(awk '/^## ofs-saga/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md")
	grep -q 'ofs-saga start' <<<"$session" || fail "no ofs-saga session found in README.md"
	# the shop of this file stands for the session's (it runs on free ports)
	# and a state directory of its own, so that list sees only its sagas
	on_shop "$session" | grep -Ev '^bin/shopd (start|stop) ' |
		sed "s|OFS_STATE_DIR=$SHOP/state|OFS_STATE_DIR=$BATS_TEST_TMPDIR/state|" >"$WORK/session.sh"
	grep -q "OFS_STATE_DIR=$BATS_TEST_TMPDIR/state" "$WORK/session.sh" ||
		fail "the session sets no OFS_STATE_DIR"
	rm -f "$SHOP/order.svg"
	cd "$WORK"
	run -0 timeout 120 bash -e -o pipefail session.sh
	assert_output "$(printf '%s\n' \
		'no risk' \
		'reserve succeeded' 'charge succeeded' 'ship succeeded' 'notify succeeded' \
		'order-1: completed' \
		'exit status 1' \
		'reserve started' 'reserve succeeded' \
		'{"saga":"order-2","state":"compensated","steps_done":1,"step":"charge"}')"
	[ -s "$SHOP/order.svg" ] || fail "the session drew no order.svg"
}
