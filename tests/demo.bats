#!/usr/bin/env bats
# tests/demo.bats: `make demo` (examples/demo.sh) runs once for the whole
# file and each test checks one tool's part of what it printed: the
# chaos experiment's verdict and report, the deploy's canary promoted and
# its bad successor rolled back, the spike ofs-scale absorbs with the
# reason for every decision, the order saga compensated when payments
# fails, with its graph, the replay that finds what v2 changed, and the
# A/B step of ofs-split that ramps without sending anyone back and stops
# at the report.

load helpers

setup_file() {
	DEMO_OUT=$BATS_FILE_TMPDIR/demo.out
	DEMO_STATUS=0
	bash "$OFS_TOP/examples/demo.sh" >"$DEMO_OUT" 2>&1 || DEMO_STATUS=$?
	export DEMO_OUT DEMO_STATUS
}

setup() {
	status=$DEMO_STATUS
	output=$(cat "$DEMO_OUT")
	mapfile -t lines <"$DEMO_OUT"
}

@test "make demo runs to its end" {
	assert_success
	assert_line "demo: done"
}

@test "make demo runs an experiment and shows its verdict and report" {
	assert_line "== ofs-chaos: kill a payments instance while ofs-health heals the shop =="
	assert_line --regexp '^  method kill-one-payments: succeeded \(payments-[12], pid [0-9]+\)$'
	assert_line --regexp '^  hypothesis after: deviated \(payments-healthy: state degraded'
	assert_line "  hypothesis after: held"
	assert_line --regexp '^  verdict: completed, recovered in [0-9.]+ s \(RTO 30 s, met: true\)$'
	assert_line "    | status | **completed** |"
}

@test "make demo promotes a canary and rolls back a bad one" {
	assert_line --partial "ofs-deploy: canary releases of inventory behind HAProxy"
	assert_line --partial "v2 as a canary"
	assert_line --regexp '^  done: promoted in'
	assert_line --regexp '^  ROLLBACK: analysis .errors. failed'
	assert_line --regexp '^  done: rolled_back in'
	assert_line "  exit status 1; inventory answers as v2 again"
}

@test "make demo absorbs a spike with ofs-scale and explains every decision" {
	assert_line "== ofs-scale: a traffic spike on cart, absorbed =="
	# up at the HPA's default rate: Pods 4, then Percent 100, then the rest
	assert_line '  10:00:45  cpu 400% on  2 ->  6  $0.576/h'
	assert_line --partial "Recommendation 16. The scaleUp rule Pods 4/15s limits it to 6. Scale up from 2 to 6."
	assert_line '  10:01:00  cpu 133% on  6 -> 12  $1.152/h'
	assert_line --partial "The scaleUp rule Percent 100/15s limits it to 12. Scale up from 6 to 12."
	assert_line '  10:01:15  cpu  66% on 12 -> 16  $1.536/h'
	# down only when the 5 minute window has passed since 16 was last recommended
	assert_line '  10:02:15  cpu   6% on 16 -> 16  $1.536/h  (19 periods alike)'
	assert_line --partial "The down stabilization window of 5m holds it at 16. Stay at 16."
	assert_line '  10:07:00  cpu   6% on 16 ->  2  $0.192/h'
	assert_line "  capacity again after 45 s (mark 120 s, met: true); 0.75 SLO-violation minutes; peak 6 replicas"
}

@test "make demo runs an order saga that fails at payment, is compensated, and shows its graph" {
	assert_line "== ofs-saga: an order saga, and one that fails at payment and is compensated =="
	assert_line "  notify succeeded"
	assert_line "  completed"
	assert_line "  charge failed: http 503: {\"error\":\"fault injected: status 503\"}"
	assert_line --regexp '^  undo reserve succeeded: \{"order_id":"order-[0-9a-f]{16}","released":\{"book":1\}\}$'
	assert_line "  compensated: step 'charge' failed: http 503: {\"error\":\"fault injected: status 503\"}"
	assert_line --regexp '^  books in stock before and after: ([0-9]+), \1$'
	assert_line --regexp '^      %% saga order, version 1; order-[0-9a-f]{16}: compensated$'
	assert_line '      s1 -.->|"fails"| c0'
}

@test "make demo records inventory's traffic and finds v2's change on replay, the time as noise" {
	assert_line "== ofs-replay: inventory's traffic recorded, replayed against v2, compared =="
	assert_line "  recorded through ofs-replay record: 5 exchanges of inventory v1"
	assert_line '  GET /catalog/book: /body/price_cents type, 2450 -> "2450"; /body/currency added, "EUR"'
	assert_line '  GET /catalog/poster: /body/price_cents type, 1800 -> "1800"; /body/currency added, "EUR"'
	assert_line "  2 of 5 answers match; noise: /body/served_at"
	assert_line "  exit status 1 (1: differences found)"
}

@test "make demo takes an A/B step with ofs-split: sticky ramp, shadow, no-go" {
	assert_line "== ofs-split: inventory v2 beside v1, a customer at a time =="
	assert_line --regexp '^  400 customers at legacy=90,new=10: [0-9]+ on new$'
	assert_line --regexp '^  ramped to legacy=50,new=50: [0-9]+ on new, 0 sent back to legacy$'
	assert_line "  send: exit status 1 (1: v2 answers differently)"
	assert_line "  fields: /body/currency, /body/price_cents; noise: /body/served_at"
	assert_line --regexp '^  GET /catalog/book +100 +100 +100% +0% .* no-go$'
	assert_line "  report: exit status 1 (1: no-go, the ramp stops here)"
	assert_line '    split_clients "${http_x_customer_id}" $ofs_variant {'
}
