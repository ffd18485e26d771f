#!/usr/bin/env bats
# ofs-saga killed with SIGKILL at random moments, 100 times, then
# `resume --all`: every saga ends completed or compensated, no action and
# no compensation was applied twice (the shop's per-key counters), and
# the stock is exactly what the completed orders took.

load helpers
load saga

setup_file() { saga_setup_file; }
teardown_file() { saga_teardown_file; }
setup() { saga_setup; }

# keys SERVICE: the service's idempotency keys as "KEY APPLIED ROUTE" lines.
keys() {
	curl -sf "$(shop_url "$1")/admin/idempotency" | jq -r '.keys[] | "\(.key) \(.applied) \(.route)"'
}

@test "100 runs killed at random moments, then resume --all: every saga ends, nothing applied twice" {
	local i delay input before completed compensated n ids service
	local good bad
	good=$(saga_input '{"sku":"stickers"}')
	bad=$(saga_input '{"sku":"no-such-sku"}')
	before=$(stock_of stickers)
	# Slow answers spread each saga over a few hundred milliseconds, so
	# the kills land before, inside and between calls and compensations.
	for i in inventory-1 inventory-2 payments-1 payments-2 shipping-1 orders-1 orders-2; do
		shop_fault "$i" '{"latency_ms":25}'
	done
	for ((i = 0; i < 100; i++)); do
		input=$good
		((i % 3 == 2)) && input=$bad
		delay=0.$(printf '%03d' $((RANDOM % 250)))
		timeout -s KILL "$delay" "$OFS_BIN/ofs-saga" start "$ORDER" --id "crash-$i" \
			--input "$input" --wait >/dev/null 2>&1 &
		((i % 4 == 3)) && wait
	done
	wait
	run "$OFS_BIN/ofs-saga" list
	n=$(grep -c . <<<"$output" || true)
	# Most runs were cut short, so there is work left for the resume.
	[ "$(jq -r 'select(.state != "completed" and .state != "compensated") | .saga' <<<"$output" | grep -c .)" -gt 0 ] ||
		skip "no run was interrupted this time"
	run "$OFS_BIN/ofs-saga" resume --all
	[ "$status" -le 1 ] || fail "resume --all: $status: $output"
	run -0 "$OFS_BIN/ofs-saga" list
	assert_equal "$(grep -c . <<<"$output")" "$n"
	assert_equal "$(jq -r '.state' <<<"$output" | sort -u | tr '\n' ' ')" "compensated completed "
	completed=$(jq -r 'select(.state == "completed") | .saga' <<<"$output" | sort)
	compensated=$(jq -r 'select(.state == "compensated") | .saga' <<<"$output" | sort)
	# Every saga of the bad sku was compensated, every good one completed.
	for i in $completed; do ((${i#crash-} % 3 != 2)) || fail "$i should not complete"; done
	for i in $compensated; do ((${i#crash-} % 3 == 2)) || fail "$i should not compensate"; done
	# No key was applied twice, and no step of any saga applied under two keys.
	for service in inventory payments shipping orders; do
		keys "$service" >"$BATS_TEST_TMPDIR/$service"
		run awk '$2 > 1' "$BATS_TEST_TMPDIR/$service"
		assert_output ""
		run bash -c "awk '\$2 == 1 { k = \$1; sub(/\\/[0-9]+\$/, \"\", k); print k }' '$BATS_TEST_TMPDIR/$service' | sort | uniq -d"
		assert_output ""
	done
	# A completed saga applied each of its four actions once; a
	# compensated one released once and was never charged.
	for i in $completed; do
		grep -q "^$i/reserve/1 1 POST /reserve\$" "$BATS_TEST_TMPDIR/inventory" || fail "$i: reserve"
		grep -q "^$i/charge/1 1 POST /charge\$" "$BATS_TEST_TMPDIR/payments" || fail "$i: charge"
		grep -q "^$i/ship/1 1 POST /shipments\$" "$BATS_TEST_TMPDIR/shipping" || fail "$i: ship"
		grep -q "^$i/notify/1 1 POST /notify\$" "$BATS_TEST_TMPDIR/orders" || fail "$i: notify"
	done
	for i in $compensated; do
		grep -q "^$i/reserve/compensation/1 1 POST /release\$" "$BATS_TEST_TMPDIR/inventory" ||
			fail "$i: release"
		! grep -q "^$i/charge/" "$BATS_TEST_TMPDIR/payments" || fail "$i: charged"
	done
	# The stock moved by exactly the completed orders.
	assert_equal "$(stock_of stickers)" "$((before - $(grep -c . <<<"$completed")))"
	# The runs that were killed mid-call reran the call with its key.
	run bash -c "cat '$OFS_STATE_DIR'/saga/*.jsonl | jq -r 'select(.rerun) | .key' | wc -l"
	echo "# reruns with the same key: $output" >&3
}
