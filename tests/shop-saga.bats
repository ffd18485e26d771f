#!/usr/bin/env bats
# tests/shop-saga.bats: what the example shop offers a saga orchestrator
# (ofs-saga): the inventory's real stock, the compensations per order
# (inventory POST /release, payments POST /refund, shipping POST
# /shipments/cancel) and orders POST /notify, their Idempotency-Key
# replay, the per-key counters of GET /admin/idempotency, and the
# "times" fault switch that fails exactly N answers. One shop is started
# for the whole file on free ports; every test uses order ids and keys
# of its own.

load helpers

setup_file() {
	shop_start
}

teardown_file() {
	shop_stop
}

teardown() {
	local url
	for url in $(jq -r '.services[].instances[] | "http://\(.host):\(.port)"' \
		"$SHOP_DIR/topology.json"); do
		curl -s -o /dev/null --max-time 2 -X DELETE "$url/admin/fault" || true
	done
}

# call [-k KEY] METHOD INSTANCE PATH [BODY]: http_call to an instance,
# with an Idempotency-Key when -k is given; the headers of the answer
# land in $BATS_TEST_TMPDIR/headers.
call() {
	local key=() out body
	if [ "$1" = -k ]; then
		key=(-H "Idempotency-Key: $2")
		shift 2
	fi
	out=$(curl -s -D "$BATS_TEST_TMPDIR/headers" -w '\n%{http_code}' "${key[@]}" -X "$1" \
		${4+-d "$4"} "$(shop_url "$2")$3") || return 1
	body=${out%$'\n'*}
	printf '%s %s\n' "${out##*$'\n'}" "${body%$'\n'}"
}

# replayed: the Idempotent-Replayed header of the last call ("" if none).
replayed() {
	tr -d '\r' <"$BATS_TEST_TMPDIR/headers" |
		awk 'tolower($0) ~ /^idempotent-replayed: / { print $2 }'
}

# stock INSTANCE SKU: the stock of SKU that INSTANCE's GET /stock reports.
stock() {
	curl -s "$(shop_url "$1")/stock" | jq -r --arg s "$2" '.items[] | select(.sku == $s) | .available'
}

# new_id WORD: an order id or key no other test uses.
new_id() {
	echo "$1-$BATS_TEST_NUMBER-$RANDOM$RANDOM"
}

@test "reserve takes stock for the order and release gives it all back, on any instance" {
	local o b0 m0
	o=$(new_id ord)
	b0=$(stock inventory-2 book)
	m0=$(stock inventory-2 mug)
	run -0 call POST inventory-1 /reserve "{\"order_id\":\"$o\",\"sku\":\"book\",\"qty\":2}"
	assert_output --regexp "^200 \\{\"reservation_id\":\"res-[0-9a-f]{16}\",\"order_id\":\"$o\",\"sku\":\"book\",\"qty\":2,\"price_cents\":2450,\"amount_cents\":4900,\"available\":$((b0 - 2))\\}\$"
	run -0 call POST inventory-2 /reserve "{\"order_id\":\"$o\",\"sku\":\"mug\"}"
	assert_output --regexp '^200 '
	run -0 call POST inventory-1 /reserve "{\"order_id\":\"$o\",\"sku\":\"book\",\"qty\":1}"
	assert_output --regexp '^200 '
	# Both instances see the one stock.
	assert_equal "$(stock inventory-1 book) $(stock inventory-2 book)" "$((b0 - 3)) $((b0 - 3))"
	assert_equal "$(stock inventory-1 mug)" "$((m0 - 1))"
	# The gateway's /products is the same stock.
	run -0 curl -s "$(shop_url gateway)/products"
	assert_jq "$output" '.items[] | select(.sku == "book") | .available' "$((b0 - 3))"
	run -0 call POST inventory-2 /release "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"released\":{\"book\":3,\"mug\":1}}"
	assert_equal "$(stock inventory-1 book) $(stock inventory-1 mug)" "$b0 $m0"
	# Released once: a second release gives back nothing.
	run -0 call POST inventory-1 /release "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"released\":{}}"
	assert_equal "$(stock inventory-2 book)" "$b0"
}

@test "reserve beyond the stock is 409 and changes nothing" {
	local a b p0
	a=$(new_id ord)
	b=$(new_id ord)
	p0=$(stock inventory-1 poster)
	run -0 call POST inventory-1 /reserve "{\"order_id\":\"$a\",\"sku\":\"poster\",\"qty\":$((p0 + 1))}"
	assert_output "409 {\"error\":\"only $p0 of 'poster' available, $((p0 + 1)) asked\"}"
	# Take every poster, then one more is refused.
	run -0 call POST inventory-1 /reserve "{\"order_id\":\"$a\",\"sku\":\"poster\",\"qty\":$p0}"
	assert_output --regexp '^200 .*"available":0\}$'
	run -0 call POST inventory-2 /reserve "{\"order_id\":\"$b\",\"sku\":\"poster\"}"
	assert_output "409 {\"error\":\"only 0 of 'poster' available, 1 asked\"}"
	run -0 call POST inventory-2 /release "{\"order_id\":\"$b\"}"
	assert_output "200 {\"order_id\":\"$b\",\"released\":{}}"
	run -0 call POST inventory-2 /release "{\"order_id\":\"$a\"}"
	assert_output "200 {\"order_id\":\"$a\",\"released\":{\"poster\":$p0}}"
	assert_equal "$(stock inventory-1 poster)" "$p0"
}

@test "a compensation for a step that never happened is a 200 that does nothing" {
	local o svc path want
	o=$(new_id never)
	while IFS='|' read -r svc path want; do
		run -0 call POST "$svc" "$path" "{\"order_id\":\"$o\"}"
		assert_output "200 {\"order_id\":\"$o\",$want}"
	done <<-'EOF'
		inventory-1|/release|"released":{}
		payments-1|/refund|"refunded_cents":0,"charges":[]
		shipping-1|/shipments/cancel|"cancelled":[]
	EOF
}

@test "the compensations and notify need an order_id: 400 with the reason" {
	local svc method path body want
	while IFS='|' read -r svc method path body want; do
		run -0 call "$method" "$svc" "$path" "$body"
		assert_output "$want"
	done <<-'EOF'
		inventory-1|POST|/release||400 {"error":"body: missing required key 'order_id'"}
		inventory-2|POST|/release|{"sku":"book"}|400 {"error":"body: /sku: unknown key 'sku'; body: missing required key 'order_id'"}
		payments-1|POST|/refund|{}|400 {"error":"body: missing required key 'order_id'"}
		payments-2|POST|/refund|{"order_id":7}|400 {"error":"body: /order_id: must be a string, got number 7"}
		shipping-1|POST|/shipments/cancel|{"order_id":""}|400 {"error":"body: /order_id: must not be empty"}
		orders-1|POST|/notify|[]|400 {"error":"body: the top level must be an object, got array"}
		orders-2|POST|/notify|{"order_id":|400 {"error":"body:1:13: invalid JSON: unexpected end of input, expected a value"}
		inventory-1|GET|/release||405 {"error":"method not allowed"}
		payments-1|POST|/charge|"x"|400 {"error":"body: the top level must be an object, got string 'x'"}
	EOF
}

@test "refund refunds every captured charge of the order, once" {
	local o c1 c2
	o=$(new_id ord)
	run -0 call POST payments-1 /charge "{\"order_id\":\"$o\",\"amount_cents\":2450}"
	assert_output --regexp '^201 '
	c1=$(jq -r .charge_id <<<"${output#* }")
	run -0 call POST payments-2 /charge "{\"order_id\":\"$o\",\"amount_cents\":1200}"
	assert_output --regexp '^201 '
	c2=$(jq -r .charge_id <<<"${output#* }")
	# A charge of another order is not touched.
	run -0 call POST payments-1 /charge '{"order_id":"someone-else","amount_cents":500}'
	run -0 call POST payments-2 /refund "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"refunded_cents\":3650,\"charges\":[\"$c1\",\"$c2\"]}"
	run -0 call POST payments-1 /refund "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"refunded_cents\":0,\"charges\":[]}"
	run -0 call POST payments-1 /refund '{"order_id":"someone-else"}'
	assert_jq "${output#* }" '"\(.refunded_cents) \(.charges | length)"' "500 1"
}

@test "cancel cancels every scheduled shipment of the order, once" {
	local o s1 s2
	o=$(new_id ord)
	run -0 call POST shipping-1 /shipments "{\"order_id\":\"$o\",\"sku\":\"mug\",\"qty\":2}"
	assert_output --regexp '^201 '
	s1=$(jq -r .shipment_id <<<"${output#* }")
	run -0 call POST shipping-1 /shipments "{\"order_id\":\"$o\"}"
	s2=$(jq -r .shipment_id <<<"${output#* }")
	run -0 call POST shipping-1 /shipments/cancel "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"cancelled\":[\"$s1\",\"$s2\"]}"
	run -0 call POST shipping-1 /shipments/cancel "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"cancelled\":[]}"
}

@test "notify counts the notifications sent for each order" {
	local o k
	o=$(new_id ord)
	k=$(new_id notify)
	run -0 call -k "$k" POST orders-1 /notify "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"notified\":true,\"notifications\":1}"
	# The same key on the other instance: the answer replayed, nothing sent.
	run -0 call -k "$k" POST orders-2 /notify "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"notified\":true,\"notifications\":1}"
	assert_equal "$(replayed)" true
	# Without a key (or with another) each call sends one.
	run -0 call POST orders-2 /notify "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"notified\":true,\"notifications\":2}"
	assert_equal "$(replayed)" ""
	run -0 call -k "$k-b" POST orders-1 /notify "{\"order_id\":\"$o\"}"
	assert_jq "${output#* }" .notifications 3
}

@test "a repeated Idempotency-Key answers from the store: applied stays 1 while count goes to 2" {
	local o b0 svc1 svc2 path body k first
	o=$(new_id ord)
	b0=$(stock inventory-1 book)
	# Each step and compensation, first on one instance, then repeated
	# on the other (shipping has one).
	while IFS='|' read -r svc1 svc2 path body; do
		k=$(new_id "key${path//\//-}")
		body=${body//ORDER/$o}
		run -0 call -k "$k" POST "$svc1" "$path" "$body"
		assert_output --regexp '^20[01] '
		assert_equal "$(replayed)" ""
		first=$output
		run -0 call -k "$k" POST "$svc2" "$path" "$body"
		assert_equal "$output" "$first"
		assert_equal "$(replayed)" true
		run -0 curl -s "$(shop_url "$svc2")/admin/idempotency?key=$k"
		assert_output "{\"key\":\"$k\",\"count\":2,\"applied\":1,\"route\":\"POST $path\"}"
	done <<-'EOF'
		inventory-1|inventory-2|/reserve|{"order_id":"ORDER","sku":"book","qty":2}
		payments-1|payments-2|/charge|{"order_id":"ORDER","amount_cents":4900}
		shipping-1|shipping-1|/shipments|{"order_id":"ORDER","sku":"book","qty":2}
		orders-1|orders-2|/notify|{"order_id":"ORDER"}
		inventory-2|inventory-1|/release|{"order_id":"ORDER"}
		payments-2|payments-1|/refund|{"order_id":"ORDER"}
		shipping-1|shipping-1|/shipments/cancel|{"order_id":"ORDER"}
	EOF
	# The reserve was applied once, and so was the release.
	assert_equal "$(stock inventory-1 book)" "$b0"
	# A replayed compensation answers what the first one did.
	assert_jq "${first#* }" '.cancelled | length' 1
	# A key reused for another request is refused, and counted, not applied.
	run -0 call -k "$k" POST shipping-1 /shipments/cancel '{"order_id":"other"}'
	assert_output '422 {"error":"this Idempotency-Key was used for a different request"}'
	run -0 curl -s "$(shop_url shipping-1)/admin/idempotency?key=$k"
	assert_output "{\"key\":\"$k\",\"count\":3,\"applied\":1,\"route\":\"POST /shipments/cancel\"}"
}

@test "a failed answer is not stored: the retry with the same key applies it" {
	local o k
	o=$(new_id ord)
	k=$(new_id key)
	shop_fault inventory-1 '{"status":503}'
	run -0 call -k "$k" POST inventory-1 /release "{\"order_id\":\"$o\"}"
	assert_output '503 {"error":"fault injected: status 503"}'
	run -0 call -k "$k" POST inventory-2 /release "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"released\":{}}"
	assert_equal "$(replayed)" ""
	# The faulted answer never reached the handler or the store.
	run -0 curl -s "$(shop_url inventory-1)/admin/idempotency?key=$k"
	assert_output "{\"key\":\"$k\",\"count\":1,\"applied\":1,\"route\":\"POST /release\"}"
}

@test "GET /admin/idempotency: an unseen key, and every key of the service sorted" {
	local p k
	run -0 http_call GET "$(shop_url payments-1)/admin/idempotency?key=never-seen"
	assert_output '200 {"key":"never-seen","count":0,"applied":0,"route":null}'
	p=$(new_id list)
	for k in "$p-c" "$p-a" "$p-b"; do
		run -0 call -k "$k" POST payments-1 /charge '{"amount_cents":1}'
	done
	run -0 call -k "$p-a" POST payments-2 /charge '{"amount_cents":1}'
	run -0 call -k "$p-b" POST payments-2 /refund '{"order_id":"x"}'
	assert_output --regexp '^422 '
	run -0 http_call GET "$(shop_url payments-2)/admin/idempotency"
	assert_output --regexp '^200 \{"keys":\['
	assert_jq "${output#* }" '.keys | map(.key) | . == sort'
	assert_jq "${output#* }" \
		"[.keys[] | select(.key | startswith(\"$p\")) | \"\\(.key[-1:]) \\(.count) \\(.applied) \\(.route)\"] | join(\",\")" \
		"a 2 1 POST /charge,b 2 1 POST /charge,c 1 1 POST /charge"
	# The store is the service's: both instances list the same keys.
	assert_equal "$(curl -s "$(shop_url payments-1)/admin/idempotency")" "${output#* }"
	while IFS='|' read -r query want; do
		run -0 http_call GET "$(shop_url payments-1)/admin/idempotency$query"
		assert_output "$want"
	done <<-'EOF'
		?key=|400 {"error":"give the key as ?key=K (1 to 255 visible ASCII characters)"}
		?key=a%20b|400 {"error":"give the key as ?key=K (1 to 255 visible ASCII characters)"}
		?key=%zz|400 {"error":"malformed query string"}
	EOF
	run -0 http_call POST "$(shop_url payments-1)/admin/idempotency"
	assert_output '405 {"error":"method not allowed"}'
}

@test "times fault: the status fault fails exactly N business answers, then turns itself off" {
	local url left
	url=$(shop_url payments-1)
	run -0 http_call POST "$url/admin/fault" '{"status":503,"times":3}'
	assert_output '200 {"status":503,"times":3,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}'
	# Health and admin answers do not count.
	run -0 http_call GET "$url/health"
	assert_output --regexp '^200 '
	# (bats' run sets i, so the count is called left.)
	for left in 3 2 1; do
		run -0 http_call GET "$url/admin/fault"
		assert_jq "${output#* }" '"\(.status) \(.times)"' "503 $left"
		run -0 http_call POST "$url/charge" '{"amount_cents":1}'
		assert_output '503 {"error":"fault injected: status 503"}'
	done
	run -0 http_call GET "$url/admin/fault"
	assert_output '200 {"status":null,"times":null,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}'
	run -0 http_call POST "$url/charge" '{"amount_cents":1}'
	assert_output --regexp '^201 '
	run -0 jq -r 'select(.instance == "payments-1" and (.msg | startswith("status fault off"))) | .msg' \
		"$SHOP_DIR/logs.jsonl"
	assert_output "status fault off: its last counted answer"
	# "times" alone counts the status already on; "status" alone lasts until cleared.
	while IFS='|' read -r body want; do
		run -0 http_call POST "$url/admin/fault" "$body"
		assert_output "$want"
	done <<-'EOF'
		{"times":2}|400 {"error":"fault: /times: counts answers of the status fault, which is off"}
		{"status":0,"times":2}|400 {"error":"fault: /times: counts answers of the status fault, which is off"}
		{"status":500,"times":0}|400 {"error":"fault: /times: must be 1..1000000, got 0"}
		{"status":500,"times":1000001}|400 {"error":"fault: /times: must be 1..1000000, got 1000001"}
		{"status":500,"times":"2"}|400 {"error":"fault: /times: must be an integer, got string '2'"}
		{"status":500}|200 {"status":500,"times":null,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}
		{"times":1}|200 {"status":500,"times":1,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}
		{"status":502}|200 {"status":502,"times":null,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}
	EOF
}

@test "times fault: a saga's step fails once, and its retry with the same key goes through" {
	local o k
	o=$(new_id ord)
	k=$(new_id key)
	shop_fault payments-1 '{"status":500,"times":1}'
	shop_fault payments-2 '{"status":500,"times":1}'
	run -0 call -k "$k" POST payments-1 /charge "{\"order_id\":\"$o\",\"amount_cents\":100}"
	assert_output '500 {"error":"fault injected: status 500"}'
	run -0 call -k "$k" POST payments-1 /charge "{\"order_id\":\"$o\",\"amount_cents\":100}"
	assert_output --regexp '^201 '
	run -0 curl -s "$(shop_url payments-2)/admin/idempotency?key=$k"
	assert_output "{\"key\":\"$k\",\"count\":1,\"applied\":1,\"route\":\"POST /charge\"}"
	# payments-2 still has its one failure to give.
	run -0 http_call GET "$(shop_url payments-2)/admin/fault"
	assert_jq "${output#* }" .times 1
}

@test "an order placed through the gateway is undone by its compensations" {
	local b0 body o
	b0=$(stock inventory-1 book)
	run -0 curl -s -X POST -d '{"sku":"book","qty":2}' "$(shop_url gateway)/orders"
	body=$output
	o=$(jq -r .order_id <<<"$body")
	assert_equal "$(stock inventory-2 book)" "$((b0 - 2))"
	run -0 call POST shipping-1 /shipments/cancel "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"cancelled\":[$(jq -c .shipment_id <<<"$body")]}"
	run -0 call POST payments-2 /refund "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"refunded_cents\":4900,\"charges\":[$(jq -c .charge_id <<<"$body")]}"
	run -0 call POST inventory-1 /release "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"released\":{\"book\":2}}"
	assert_equal "$(stock inventory-2 book)" "$b0"
	run -0 call POST orders-2 /notify "{\"order_id\":\"$o\"}"
	assert_output "200 {\"order_id\":\"$o\",\"notified\":true,\"notifications\":1}"
}

@test "stop ends every instance and leaves no sanitizer report" {
	run -0 "$OFS_BIN/shopd" stop --dir "$SHOP_DIR"
	assert_equal "$(shop_pids)" ""
	run -1 grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SHOP_DIR"/run/*.log
}
