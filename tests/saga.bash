# tests/saga.bash: what the ofs-saga test files share: a state directory
# per test, the order saga's input pointed at this file's shop, the
# shop's stock and per-key counters, and jq over a saga's records.
#
# Load it after helpers: `load helpers; load saga`. The file starts the
# shop in setup_file (saga_setup_file) and each test calls saga_setup.

export ORDER=$OFS_TOP/examples/saga/order.json

saga_setup_file() {
	shop_start >/dev/null
}

saga_teardown_file() {
	shop_stop
}

# saga_setup: a fresh state directory; the shop healed and its URLs in
# SAGA_INPUT (the order saga's data, one JSON object).
saga_setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	shop_heal
	SAGA_INPUT=$(jq -cn --arg i "$(shop_url inventory-1)" --arg p "$(shop_url payments-1)" \
		--arg s "$(shop_url shipping-1)" --arg o "$(shop_url orders-1)" \
		'{inventory: $i, payments: $p, shipping: $s, orders: $o}')
}

# saga_input [JSON]: SAGA_INPUT with the fields of JSON over it.
saga_input() {
	jq -cn --argjson a "$SAGA_INPUT" --argjson b "${1:-{\}}" '$a + $b'
}

# stock_of SKU: what the inventory has of SKU now.
stock_of() {
	curl -sf "$(shop_url inventory-1)/stock" | jq -r --arg s "$1" '.items[] | select(.sku == $s) | .available'
}

# applied_of KEY: "COUNT APPLIED" of an idempotency key at SERVICE's store.
applied_of() {
	curl -sf "$(shop_url "$1")/admin/idempotency?key=$2" | jq -r '"\(.count) \(.applied)"'
}

# events FILE: the saga records of FILE as "type[/step/event]" words,
# one line, for comparing a run's course with what is expected.
events() {
	jq -r 'select(.type | startswith("saga.")) |
		.type + (if .step then "/" + .step else "" end) + (if .event then "/" + .event else "" end)' "$1" |
		tr '\n' ' ' | sed 's/ $//'
}

# saga_id_of FILE: the id in the saga.started record of FILE.
saga_id_of() {
	jq -r 'select(.type == "saga.started") | .saga' "$1" | head -1
}
