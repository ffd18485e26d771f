#!/usr/bin/env bats
# tests/shop.bats: the example shop (examples/shop, bin/shopd): its
# commands, the order flow and its trace, the fault switches, routes,
# the deep health check, idempotency, and the demo script. One shop is started for the whole
# file on free ports; teardown_file always stops it and checks that no
# instance outlived it.

load helpers

setup_file() {
	shop_start
}

teardown_file() {
	shop_stop
}

# Faults and routes never leak from one test into the next, nor do extra
# shops or standalone instances.
teardown() {
	stop_bg
	if [ -d "$BATS_TEST_TMPDIR/shop" ]; then
		"$OFS_BIN/shopd" stop --dir "$BATS_TEST_TMPDIR/shop" >/dev/null 2>&1 || true
	fi
	local url
	for url in $(jq -r '.services[].instances[] | "http://\(.host):\(.port)"' \
		"$SHOP_DIR/topology.json"); do
		curl -s -o /dev/null --max-time 2 -X DELETE "$url/admin/fault" || true
		curl -s -o /dev/null --max-time 2 -X DELETE "$url/admin/route" || true
	done
}

# post_order [CURL ARGS...]: POST /orders through the gateway; the answer
# lands in $BATS_TEST_TMPDIR/body, the headers in .../headers, and the
# status in $output.
post_order() {
	run curl -s -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" \
		-w '%{http_code}' -X POST "$@" "$(shop_url gateway)/orders"
}

@test "start brings up all 9 instances and status reports them up" {
	run -0 jq -s -r 'map(select(.type == "shop.instance" and .state == "up")) | length' \
		"$SHOP_START"
	assert_output 9
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR"
	assert_jq "$(jq -s -c . <<<"$output")" \
		'map("\(.instance)=\(.state)=\(.health_status)") | sort | join(" ")' \
		"gateway-1=up=200 gateway-2=up=200 inventory-1=up=200 inventory-2=up=200 orders-1=up=200 orders-2=up=200 payments-1=up=200 payments-2=up=200 shipping-1=up=200"
	# The runtime topology has the ports actually used and no {dir} left.
	run -0 jq -r '.services.orders.restart | join(" ")' "$SHOP_DIR/topology.json"
	assert_output "$OFS_BIN/shopd restart --dir $SHOP_DIR {instance}"
	assert_equal "$(shop_url orders-2)" \
		"http://127.0.0.1:$(jq -r '.services.orders.instances[1].port' "$SHOP_DIR/topology.json")"
}

@test "shopd --help exits 0; misuse exits 2" {
	run -0 "$OFS_BIN/shopd" --help
	assert_line --index 0 "usage: shopd [-h] command [argument ...]"
	assert_output --partial "restart       stop, then start instances"
	run -0 "$OFS_BIN/shopd" start --help
	assert_line --index 0 "usage: shopd start [-h] [--dir dir] [--fixed-ports] [--topology file] [instance ...]"
	for cmd in stop restart status url serve; do
		run -0 "$OFS_BIN/shopd" "$cmd" --help
		assert_line --index 0 --partial "usage: shopd $cmd "
	done
	run -2 --separate-stderr "$OFS_BIN/shopd"
	assert_equal "$stderr" "$(printf 'shopd: no command given\nusage: shopd [-h] command [argument ...]')"
	run -2 "$OFS_BIN/shopd" strat
	assert_output --partial "unknown command 'strat'; did you mean 'start'?"
	run -2 "$OFS_BIN/shopd" start
	assert_output --partial "shopd start: --dir is required"
	run -2 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" --verbose
	run -2 "$OFS_BIN/shopd" url --dir "$SHOP_DIR"
	run -2 "$OFS_BIN/shopd" url --dir "$SHOP_DIR" warehouse
	assert_output --partial "no service or instance 'warehouse' in the topology"
	run -2 "$OFS_BIN/shopd" restart --dir "$SHOP_DIR"
	run -2 "$OFS_BIN/shopd" serve --dir "$SHOP_DIR"
	run -2 "$OFS_BIN/shopd" status --dir "$BATS_TEST_TMPDIR/none"
	assert_output --partial "no shop in"
}

@test "start refuses an instance that is already running" {
	run -1 "$OFS_BIN/shopd" start --dir "$SHOP_DIR" payments-1
	assert_output --partial "instance 'payments-1' is already running"
}

@test "an order through the gateway is one trace across the five services" {
	post_order -H 'Content-Type: application/json' -d '{"sku":"mug","qty":2}'
	assert_output 201
	assert_jq "$(cat "$BATS_TEST_TMPDIR/body")" '"\(.status) \(.sku) \(.qty) \(.amount_cents)"' \
		"confirmed mug 2 2400"
	local trace root spans
	trace=$(trace_of "$BATS_TEST_TMPDIR/headers")
	root=$(span_of "$BATS_TEST_TMPDIR/headers")
	[[ $trace =~ ^[0-9a-f]{32}$ ]] || fail "no trace id in traceresponse: '$trace'"
	spans=$(jq_records "$SHOP_DIR/spans.jsonl" "$trace")
	assert_jq "$spans" 'map(.service) | unique | join(" ")' \
		"gateway inventory orders payments shipping"
	assert_jq "$spans" 'map(.kind) | group_by(.) | map("\(.[0])=\(length)") | join(" ")' \
		"client=4 server=5"
	# Exactly one root: the gateway's server span, named by traceresponse.
	assert_jq "$spans" 'map(select(has("parent_span_id") | not) | "\(.service) \(.kind) \(.span_id)") | join(",")' \
		"gateway server $root"
	# Every other span's parent is a span of this trace.
	assert_jq "$spans" 'map(.span_id) as $ids | all(.[] | select(has("parent_span_id")); .parent_span_id as $p | $ids | index($p) != null)'
	# A downstream server span is the child of the client span that called it.
	assert_jq "$spans" 'INDEX(.span_id) as $by | [.[] | select(.kind == "server" and has("parent_span_id")) | $by[.parent_span_id] | "\(.kind)>\(.peer_service)"] | sort | join(" ")' \
		"client>inventory client>orders client>payments client>shipping"
	assert_jq "$spans" 'INDEX(.span_id) as $by | all(.[] | select(.kind == "server" and has("parent_span_id")); $by[.parent_span_id].peer_service == .service)'
	# The record contract: fields and types of ofs.7.
	assert_jq "$spans" 'all(.[]; (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$")) and (.start_ns | type == "string") and (.duration_ms | type == "number") and .status == "ok" and .http_status >= 200 and .http_method == "POST" and (. as $s | $s.instance | startswith($s.service)))'
}

@test "a request carrying a traceparent joins that trace" {
	local tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	run curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null -w '%{http_code}' \
		-H "traceparent: $tp" "$(shop_url gateway)/products"
	assert_output 200
	assert_equal "$(trace_of "$BATS_TEST_TMPDIR/headers")" 4bf92f3577b34da6a3ce929d0e0e4736
	local spans
	spans=$(jq_records "$SHOP_DIR/spans.jsonl" 4bf92f3577b34da6a3ce929d0e0e4736)
	assert_jq "$spans" 'map(select(.service == "gateway" and .kind == "server") | .parent_span_id) | join(",")' \
		00f067aa0ba902b7
	assert_jq "$spans" 'map("\(.service)/\(.kind)") | sort | join(" ")' \
		"gateway/client gateway/server inventory/server"
	# An invalid traceparent starts a new trace instead.
	run curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null -w '%{http_code}' \
		-H "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01" \
		"$(shop_url gateway)/products"
	assert_output 200
	local other
	other=$(trace_of "$BATS_TEST_TMPDIR/headers")
	[[ $other =~ ^[0-9a-f]{32}$ ]] && [ "$other" != 4bf92f3577b34da6a3ce929d0e0e4736 ]
}

@test "logs carry the trace and span ids of the request" {
	post_order -d '{"sku":"book"}'
	assert_output 201
	local trace logs spans
	trace=$(trace_of "$BATS_TEST_TMPDIR/headers")
	logs=$(jq_records "$SHOP_DIR/logs.jsonl" "$trace")
	spans=$(jq_records "$SHOP_DIR/spans.jsonl" "$trace")
	assert_jq "$logs" 'map(.service) | unique | join(" ")' \
		"gateway inventory orders payments shipping"
	assert_jq "$logs" 'all(.[]; .level == "info" and .type == "log" and (.msg | length > 0))'
	assert_jq "$logs" "map(.span_id) - ($spans | map(.span_id)) | length" 0
	assert_jq "$logs" 'map(select(.service == "orders") | .msg) | .[0] | test("^order ord-[0-9a-f]{16} confirmed$")'
}

@test "status fault: payments answers 500 and the gateway answers 502 naming it" {
	shop_fault payments-1 '{"status":500}'
	shop_fault payments-2 '{"status":500}'
	post_order -d '{"sku":"book"}'
	assert_output 502
	local body trace
	body=$(cat "$BATS_TEST_TMPDIR/body")
	assert_jq "$body" '.failed_service' payments
	assert_jq "$body" '.error | test("^payments failed: payments-[12] answered 500: fault injected: status 500$")'
	trace=$(trace_of "$BATS_TEST_TMPDIR/headers")
	assert_jq "$(jq_records "$SHOP_DIR/spans.jsonl" "$trace")" \
		'map(select(.status == "error") | "\(.service)/\(.kind)/\(.http_status)") | sort | join(" ")' \
		"gateway/client/502 gateway/server/502 orders/client/500 orders/server/502 payments/server/500"
	assert_jq "$(jq_records "$SHOP_DIR/logs.jsonl" "$trace")" \
		'map(select(.level == "error")) | length > 0'
	# Cleared, orders go through again.
	shop_unfault payments-1
	shop_unfault payments-2
	post_order
	assert_output 201
}

@test "latency fault delays /health and business answers" {
	shop_fault payments-1 '{"latency_ms":300}'
	run -0 curl -s -o /dev/null -w '%{http_code} %{time_total}' "$(shop_url payments-1)/health"
	local code secs
	read -r code secs <<<"$output"
	assert_equal "$code" 200
	awk -v t="$secs" 'BEGIN { exit !(t >= 0.3) }' || fail "answered after $secs s, not >= 0.3 s"
	run -0 curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$(shop_url payments-1)/charge"
	read -r code secs <<<"$output"
	assert_equal "$code" 201
	awk -v t="$secs" 'BEGIN { exit !(t >= 0.3) }' || fail "answered after $secs s, not >= 0.3 s"
	# The other instance is not delayed.
	run -0 curl -s -o /dev/null -w '%{time_total}' "$(shop_url payments-2)/health"
	awk -v t="$output" 'BEGIN { exit !(t < 0.3) }' || fail "payments-2 took $output s"
}

@test "hang fault: an instance never answers while the other one does" {
	shop_fault inventory-1 '{"hang":true}'
	run -28 curl -s --max-time 1 "$(shop_url inventory-1)/stock"
	run -28 curl -s --max-time 1 "$(shop_url inventory-1)/health"
	run -0 curl -s --max-time 1 "$(shop_url inventory-2)/stock"
	assert_output --partial '"sku":"book"'
	# Admin endpoints still answer, so the fault can be cleared.
	run -0 curl -s --max-time 1 "$(shop_url inventory-1)/admin/fault"
	assert_jq "$output" '.hang' true
	shop_unfault inventory-1
	run -0 curl -s --max-time 1 "$(shop_url inventory-1)/health"
}

@test "exit fault: the instance exits, status shows it down, restart brings it back" {
	local pid
	pid=$(cat "$SHOP_DIR/run/payments-2.pid")
	run -0 curl -s -X POST -d '{"exit":3}' "$(shop_url payments-2)/admin/fault"
	assert_jq "$output" '.exit' 3
	for _ in $(seq 50); do
		shop_pids | grep -qx "$pid" || break
		sleep 0.1
	done
	! shop_pids | grep -qx "$pid" || fail "payments-2 (pid $pid) is still running"
	grep -q "payments-2 stopped (exit fault), exit status 3" "$SHOP_DIR/run/payments-2.log"
	run -1 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" payments
	assert_jq "$(jq -s -c . <<<"$output")" 'map("\(.instance)=\(.state)") | join(" ")' \
		"payments-1=up payments-2=down"
	# Calls that cannot connect to payments-2 are retried on payments-1.
	local i traces=()
	for i in 1 2 3 4; do
		post_order
		assert_output 201
		traces+=("$(trace_of "$BATS_TEST_TMPDIR/headers")")
	done
	run -0 jq -s -r --args '[.[] | select(.trace_id | IN($ARGS.positional[]))
		| select(.kind == "client" and .peer_service == "payments")
		| "\(.peer_instance):\(.status):\(.error // "")"] | unique | join(" ")' \
		"${traces[@]}" <"$SHOP_DIR/spans.jsonl"
	assert_output "payments-1:ok: payments-2:error:connection refused"
	run -0 "$OFS_BIN/shopd" restart --dir "$SHOP_DIR" payments-2
	assert_jq "$output" '"\(.instance) \(.state)"' "payments-2 up"
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR"
}

@test "health fault: /health answers 503 until the fault is cleared" {
	shop_fault shipping-1 '{"health":"fail"}'
	run -0 http_call GET "$(shop_url shipping-1)/health"
	assert_output '503 {"status":"fail","service":"shipping","instance":"shipping-1","version":"v1"}'
	run -1 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" shipping-1
	assert_jq "$output" '"\(.state) \(.health_status)"' "unhealthy 503"
	# Business endpoints are not affected by the health switch.
	post_order
	assert_output 201
	run -0 curl -s -o /dev/null -w '%{http_code}' -X DELETE "$(shop_url shipping-1)/admin/fault"
	run -0 http_call GET "$(shop_url shipping-1)/health"
	assert_output '200 {"status":"ok","service":"shipping","instance":"shipping-1","version":"v1"}'
}

@test "a bad fault body is answered 400 with the reason" {
	local url
	url=$(shop_url orders-1)/admin/fault
	run -0 http_call POST "$url" '{"status":42}'
	assert_output '400 {"error":"fault: /status: must be 0 (off) or 400..599, got 42"}'
	run -0 http_call POST "$url" '{"hang":"yes","sleep":1}'
	assert_output "400 {\"error\":\"fault: /sleep: unknown key 'sleep'; fault: /hang: must be true or false, got string 'yes'\"}"
	run -0 http_call POST "$url" '{"status":'
	assert_output --regexp '^400 \{"error":"fault:1:11: invalid JSON: [^"]+"\}$'
	run -0 http_call POST "$url" ''
	assert_output '400 {"error":"fault: the body must be a JSON object of switches, got nothing"}'
	# Nothing was switched on by the bad requests.
	run -0 curl -s "$url"
	assert_output '{"status":null,"times":null,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}'
}

# closed_port: 127.0.0.1:1, after checking that nothing listens there.
closed_port() {
	if (exec 3<>/dev/tcp/127.0.0.1/1) 2>/dev/null; then
		skip "something listens on 127.0.0.1:1"
	fi
	echo 127.0.0.1:1
}

# route_orders JSON: set routes on both orders instances (the gateway
# calls either).
route_orders() {
	local o
	for o in orders-1 orders-2; do
		run -0 http_call POST "$(shop_url "$o")/admin/route" "$1"
		assert_output "200 $1"
	done
}

@test "route: orders call payments at the routed address alone until it is cleared" {
	local closed p2 o1 o2 i traces=()
	closed=$(closed_port)
	p2=$(shop_url payments-2)
	p2=${p2#http://}
	o1=$(shop_url orders-1)
	o2=$(shop_url orders-2)
	# Routed to payments-2: no round robin, every charge goes there.
	route_orders "{\"payments\":\"$p2\"}"
	run -0 http_call GET "$o1/admin/route"
	assert_output "200 {\"payments\":\"$p2\"}"
	for i in 1 2 3 4; do
		post_order
		assert_output 201
		traces+=("$(trace_of "$BATS_TEST_TMPDIR/headers")")
	done
	run -0 jq -s -r --args '[.[] | select(.trace_id | IN($ARGS.positional[]))
		| select(.kind == "client" and .peer_service == "payments" or .service == "payments")
		| "\(.kind):\(.peer_address // .instance):\(.peer_instance // "-")"] | unique | join(" ")' \
		"${traces[@]}" <"$SHOP_DIR/spans.jsonl"
	assert_output "client:$p2:- server:payments-2:-"
	# Routed to a closed port: the order fails naming payments, and no
	# instance of payments is tried instead.
	route_orders "{\"payments\":\"$closed\"}"
	post_order
	assert_output 502
	assert_jq "$(cat "$BATS_TEST_TMPDIR/body")" '"\(.failed_service) | \(.reason)"' \
		"payments | no answer: route $closed: connection refused"
	assert_jq "$(jq_records "$SHOP_DIR/spans.jsonl" "$(trace_of "$BATS_TEST_TMPDIR/headers")")" \
		'map(select(.peer_service == "payments") | "\(.peer_address) \(.error)") | join(",")' \
		"$closed connection refused"
	# The deep health check goes the same way.
	run -0 http_call GET "$o1/health?deep=1"
	assert_output --regexp '^503 '
	assert_jq "${output#* }" '.dependencies.payments | "\(.status) \(.reason)"' \
		"null no answer: route $closed: connection refused"
	# Each change is logged with the routes it left.
	run -0 jq -s -c 'map(select(.instance == "orders-1" and .msg == "routes set") | .routes) | .[-2:]' \
		"$SHOP_DIR/logs.jsonl"
	assert_output "[{\"payments\":\"$p2\"},{\"payments\":\"$closed\"}]"
	# Cleared (one service's, or all), orders go to the instances again.
	run -0 http_call DELETE "$o1/admin/route?service=payments"
	assert_output '200 {}'
	run -0 http_call DELETE "$o2/admin/route"
	assert_output '200 {}'
	post_order
	assert_output 201
	run -0 jq -s -r 'map(select(.service == "orders" and (.msg | test("^route"))) | "\(.instance) \(.level) \(.msg) \(.routes)") | .[-2:] | join(",")' \
		"$SHOP_DIR/logs.jsonl"
	assert_output "orders-1 warn route of payments cleared {},orders-2 warn routes cleared {}"
}

@test "route: a bad route is answered 400 naming the key, and nothing changes" {
	local url
	url=$(shop_url orders-1)/admin/route
	while IFS='|' read -r body want; do
		run -0 http_call POST "$url" "$body"
		assert_output "400 {\"error\":\"$want\"}"
	done <<-'EOF'
		{"paymnts":"127.0.0.1:1"}|route: /paymnts: unknown service 'paymnts'; did you mean 'payments'?
		{"gateway":"127.0.0.1:1"}|route: /gateway: orders does not depend on 'gateway' (it depends on inventory, payments, shipping)
		{"payments":"127.0.0.1"}|route: /payments: must be HOST:PORT, got '127.0.0.1'
		{"payments":"127.0.0.1:0"}|route: /payments: the port must be 1..65535, got '0'
		{"payments":"127.0.0.1:65536"}|route: /payments: the port must be 1..65535, got '65536'
		{"payments":"300.1.1.1:80"}|route: /payments: '300.1.1.1' is not an IPv4 address or a host name
		{"payments":"::1:80"}|route: /payments: an IPv6 address must be in brackets, [ADDR]:PORT, got '::1:80'
		{"payments":"[::1:80"}|route: /payments: must be HOST:PORT or [IPV6]:PORT, got '[::1:80'
		{"payments":42}|route: /payments: must be a string, got number 42
		{"payments":"127.0.0.1:1","shipping":"x y:1"}|route: /shipping: 'x y' is not an IPv4 address or a host name
		{"payments":"a:1","payments":"b:2"}|route: /payments: duplicate key 'payments'
		[]|route: the top level must be an object, got array
	EOF
	run -0 http_call POST "$url" ''
	assert_output '400 {"error":"route: the body must be a JSON object of routes, got nothing"}'
	run -0 http_call POST "$url" '{"payments":'
	assert_output '400 {"error":"route:1:13: invalid JSON: unexpected end of input, expected a value"}'
	run -0 http_call DELETE "$url?service=warehouse"
	assert_output "400 {\"error\":\"route: service=warehouse: unknown service 'warehouse'\"}"
	run -0 http_call POST "$(shop_url payments-1)/admin/route" '{"orders":"127.0.0.1:1"}'
	assert_output "400 {\"error\":\"route: /orders: payments does not depend on 'orders' (it depends on nothing)\"}"
	run -0 http_call PUT "$url"
	assert_output '405 {"error":"method not allowed"}'
	# Nothing was routed by the bad requests, not even their good keys.
	run -0 http_call GET "$url"
	assert_output '200 {}'
	# Host names and bracketed IPv6 addresses are addresses too.
	run -0 http_call POST "$url" '{"payments":"localhost:8080","shipping":"[::1]:8081"}'
	assert_output '200 {"payments":"localhost:8080","shipping":"[::1]:8081"}'
}

@test "deep health: orders answers ok with each dependency's status and latency" {
	local before
	before=$(wc -l <"$SHOP_DIR/spans.jsonl")
	run -0 http_call GET "$(shop_url orders-1)/health?deep=1"
	assert_output --regexp '^200 \{"status":"ok","service":"orders","instance":"orders-1","version":"v1","dependencies":\{'
	assert_jq "${output#* }" '.dependencies | to_entries | map("\(.key)=\(.value.status)") | join(" ")' \
		"inventory=200 payments=200 shipping=200"
	assert_jq "${output#* }" 'all(.dependencies[]; (.latency_ms | type == "number" and . >= 0) and (has("reason") | not))'
	# Health checks are not traced, deep or not.
	assert_equal "$(wc -l <"$SHOP_DIR/spans.jsonl")" "$before"
	# A service without dependencies, or deep=0, answers as plain /health.
	run -0 http_call GET "$(shop_url payments-1)/health?deep=1"
	assert_output '200 {"status":"ok","service":"payments","instance":"payments-1","version":"v1"}'
	run -0 http_call GET "$(shop_url orders-2)/health?deep=0"
	assert_output '200 {"status":"ok","service":"orders","instance":"orders-2","version":"v1"}'
	run -0 http_call GET "$(shop_url orders-2)/health?deep=yes"
	assert_output "400 {\"error\":\"deep must be 0 or 1, got 'yes'\"}"
}

@test "deep health: 503 naming payments when its instances fail their health check" {
	shop_fault payments-1 '{"health":"fail"}'
	shop_fault payments-2 '{"health":"fail"}'
	run -0 http_call GET "$(shop_url orders-1)/health?deep=1"
	assert_output --regexp '^503 \{"status":"fail","service":"orders","instance":"orders-1","version":"v1","error":"payments failed: payments-[12] answered 503",'
	assert_jq "${output#* }" '.dependencies | to_entries | map("\(.key)=\(.value.status)") | join(" ")' \
		"inventory=200 payments=503 shipping=200"
	assert_jq "${output#* }" '.dependencies.payments.reason | test("^payments-[12] answered 503$")'
	# The health fault of orders itself answers as plain /health does.
	shop_fault orders-1 '{"health":"fail"}'
	run -0 http_call GET "$(shop_url orders-1)/health?deep=1"
	assert_output '503 {"status":"fail","service":"orders","instance":"orders-1","version":"v1"}'
}

@test "deep health: the latency includes a slow dependency's, and the latency fault applies" {
	shop_fault payments-1 '{"latency_ms":300}'
	shop_fault payments-2 '{"latency_ms":300}'
	run -0 http_call GET "$(shop_url orders-1)/health?deep=1"
	assert_output --regexp '^200 '
	assert_jq "${output#* }" '.dependencies.payments.latency_ms | . >= 300 and . < 3000'
	assert_jq "${output#* }" '.dependencies.inventory.latency_ms < 300'
	# orders' own latency fault comes on top.
	shop_fault orders-1 '{"latency_ms":200}'
	run -0 curl -s -o /dev/null -w '%{http_code} %{time_total}' "$(shop_url orders-1)/health?deep=1"
	local code secs
	read -r code secs <<<"$output"
	assert_equal "$code" 200
	awk -v t="$secs" 'BEGIN { exit !(t >= 0.5 && t < 3) }' || fail "answered after $secs s, not 0.5..3 s"
}

@test "idempotency: a repeated order is the same order, charged once" {
	local key=order-$$-$RANDOM b1 b2
	post_order -H "Idempotency-Key: $key" -d '{"sku":"poster"}'
	assert_output 201
	b1=$(cat "$BATS_TEST_TMPDIR/body")
	post_order -H "Idempotency-Key: $key" -d '{"sku":"poster"}'
	assert_output 201
	b2=$(cat "$BATS_TEST_TMPDIR/body")
	assert_equal "$(jq -r .order_id <<<"$b2")" "$(jq -r .order_id <<<"$b1")"
	assert_equal "$(jq -r .charge_id <<<"$b2")" "$(jq -r .charge_id <<<"$b1")"
	# payments saw KEY/charge twice (on either instance: the store is
	# shared) and applied it once; orders and the gateway ran both.
	run -0 curl -s "$(shop_url payments-1)/admin/idempotency?key=$key/charge"
	assert_output "{\"key\":\"$key/charge\",\"count\":2,\"applied\":1,\"route\":\"POST /charge\"}"
	run -0 curl -s "$(shop_url payments-2)/admin/idempotency?key=$key/charge"
	assert_output "{\"key\":\"$key/charge\",\"count\":2,\"applied\":1,\"route\":\"POST /charge\"}"
	run -0 curl -s "$(shop_url orders-2)/admin/idempotency?key=$key"
	assert_output "{\"key\":\"$key\",\"count\":2,\"applied\":2,\"route\":\"POST /orders\"}"
	run -0 curl -s "$(shop_url gateway-1)/admin/idempotency?key=$key"
	assert_output "{\"key\":\"$key\",\"count\":2,\"applied\":2,\"route\":\"POST /orders\"}"
	# ...but created one charge: one captured, one answered from the store.
	run -0 jq -s -r --arg k "$key/charge" \
		'map(select(.service == "payments" and .idempotency_key == $k) | if .replayed then "replayed" else .charge_id end) | sort | join(" ")' \
		"$SHOP_DIR/logs.jsonl"
	assert_output "$(jq -r .charge_id <<<"$b1") replayed"
	# The same key for a different order is refused.
	post_order -H "Idempotency-Key: $key" -d '{"sku":"mug"}'
	assert_output 422
}

@test "examples/demo.sh runs the tour and cleans up" {
	run -0 bash "$OFS_TOP/examples/demo.sh"
	local h
	for h in "Starting the shop in " "Placing orders through the gateway at http://127.0.0.1:" "The trace of one order (" \
		"Breaking payments: both instances answer 500" "A failed order" \
		"Repairing payments and retrying the failed order with the same key" \
		"Status of every instance" "Stopping the shop"; do
		assert_line --partial "== $h"
	done
	assert_line --regexp '^    gateway-[12] server POST /orders  .* ok 201$'
	assert_line --regexp '^                    payments-[12] server POST /charge  .* ok 201$'
	assert_line --regexp '^    payments-[12] server POST /charge: fault injected: status 500$'
	assert_line "demo: done"
	local dir
	dir=$(sed -n 's/^== Starting the shop in \(.*\) ==$/\1/p' <<<"$output")
	[ -n "$dir" ] && [ ! -e "$dir" ] || fail "the demo left '$dir' behind"
}

@test "a bad topology is reported with JSON pointers and nothing is done" {
	cat >"$BATS_TEST_TMPDIR/topo.json" <<-'EOF'
		{"name": "shop", "services": {
		  "gateway": {"depends_on": ["order"], "instances": [{"id": "g-1", "host": "127.0.0.1", "port": 70000}]},
		  "orders": {"instances": [{"id": "o-1", "host": "127.0.0.1", "port": 0}], "check": {"kind": "htp"}},
		  "warehouse": {"instances": []}}}
	EOF
	run -2 --separate-stderr "$OFS_BIN/shopd" start --dir "$BATS_TEST_TMPDIR/shop" \
		--topology "$BATS_TEST_TMPDIR/topo.json"
	local f=$BATS_TEST_TMPDIR/topo.json
	assert_equal "$stderr" "shopd: $f: /services/gateway/instances/0/port: must be 0..65535, got 70000
shopd: $f: /services/orders/check/kind: must be one of 'http', 'tcp', 'exec', got 'htp'; did you mean 'http'?
shopd: $f: /services/warehouse: unknown service 'warehouse'; shopd serves gateway, orders, payments, inventory, shipping
shopd: $f: /services/warehouse/instances: must list at least one instance
shopd: $f: /services/gateway/depends_on/0: unknown service 'order'; did you mean 'orders'?"
	[ ! -e "$BATS_TEST_TMPDIR/shop" ] || fail "start made the run directory"
	printf '{"services": {,}}' >"$f"
	run -2 "$OFS_BIN/shopd" start --dir "$BATS_TEST_TMPDIR/shop" --topology "$f"
	assert_output "shopd: $f:1:15: invalid JSON: unexpected character ',', expected a string key"
}

@test "the README's shop session works as written, with the default topology" {
	# A tree shaped like the checkout: bin/shopd beside examples/.
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/bin"
	cp "$OFS_BIN/shopd" "$tree/bin/"
	ln -s "$OFS_TOP/examples" "$tree/examples"
	awk '/^## The example shop/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md" | sed "s|/tmp/shop|$BATS_TEST_TMPDIR/shop|g" >"$tree/session.sh"
	grep -q 'shopd start' "$tree/session.sh" || fail "no shop session found in README.md"
	cd "$tree"
	run -0 bash -e session.sh
	assert_line --regexp '^\{"order_id":"ord-[0-9a-f]{16}","status":"confirmed",'
	assert_equal "$(grep -c '"type":"shop.instance".*"state":"up"' <<<"$output")" 18
	assert_equal "$(grep -c '"state":"stopped"' <<<"$output")" 9
	assert_equal "$(jq -r .services.gateway.start[0] "$BATS_TEST_TMPDIR/shop/topology.json")" \
		"$tree/bin/shopd"
}


# standalone PORT [OPTION...]: run `shopd serve --service inventory` on
# PORT with the options in the background (ended by teardown), and wait
# until it answers /health.
standalone() {
	local port=$1 i
	shift
	bg "$BATS_TEST_TMPDIR/serve-$port" "$OFS_BIN/shopd" serve --dir "$SHOP_DIR" \
		--service inventory --port "$port" "$@"
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$port/health" && return 0
		sleep 0.1
	done
	fail "the standalone instance on port $port did not come up: $(cat "$BATS_TEST_TMPDIR/serve-$port.err")"
}

# header_of HEADERS_FILE NAME: the value of a header in a file written by curl -D.
header_of() {
	tr -d '\r' <"$1" | awk -v n="$2" 'tolower($0) ~ "^" tolower(n) ": " { sub(/^[^:]*: /, ""); print }'
}

@test "standalone instance: /health reports its version and every answer carries Shop-Version" {
	local port h=$BATS_TEST_TMPDIR/headers path
	port=$(free_port)
	standalone "$port" --version v2
	run -0 http_call GET "http://127.0.0.1:$port/health"
	assert_output "200 {\"status\":\"ok\",\"service\":\"inventory\",\"instance\":\"inventory-$port\",\"version\":\"v2\"}"
	# Business, admin, unknown paths and health all say which version answered.
	for path in /stock /admin/fault /no-such-thing /health; do
		run -0 curl -s -o /dev/null -D "$h" "http://127.0.0.1:$port$path"
		assert_equal "$(header_of "$h" Shop-Version)" v2
	done
	run -0 curl -s "http://127.0.0.1:$port/stock"
	assert_jq "$output" '.items | map(.sku) | join(" ")' "book mug poster stickers"
	# Topology instances are v1 unless told otherwise.
	run -0 curl -s -o /dev/null -D "$h" "$(shop_url payments-1)/health"
	assert_equal "$(header_of "$h" Shop-Version)" v1
	# It logs as itself, with its version.
	run -0 jq -r --arg i "inventory-$port" \
		'select(.instance == $i and .msg == "instance started") | "\(.service) \(.version)"' \
		"$SHOP_DIR/logs.jsonl"
	assert_output "inventory v2"
}

@test "standalone instance: --fault makes business answers fail while /health is 200" {
	local port
	port=$(free_port)
	standalone "$port" --id inventory-bad --fault '{"status":500}'
	run -0 http_call GET "http://127.0.0.1:$port/stock"
	assert_output '500 {"error":"fault injected: status 500"}'
	run -0 http_call GET "http://127.0.0.1:$port/health"
	assert_output '200 {"status":"ok","service":"inventory","instance":"inventory-bad","version":"v1"}'
	run -0 http_call GET "http://127.0.0.1:$port/admin/fault"
	assert_output '200 {"status":500,"times":null,"latency_ms":0,"hang":false,"exit":null,"health":"ok"}'
	# The switches are the ordinary ones: DELETE clears them.
	run -0 http_call DELETE "http://127.0.0.1:$port/admin/fault"
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/stock"
	assert_output 200
	# {"exit":N} at start: the instance exits N at once, as after the POST's answer.
	run -3 "$OFS_BIN/shopd" serve --dir "$SHOP_DIR" --service inventory --port "$(free_port)" \
		--id inventory-exit --fault '{"exit":3}'
}

@test "standalone instance: a bad --fault and misuse exit 2 with the reason" {
	local port
	port=$(free_port)
	local serve=("$OFS_BIN/shopd" serve --dir "$SHOP_DIR")
	local -a cases=(
		"--service inventory --port $port --fault '{\"status\":42}'|shopd: fault: /status: must be 0 (off) or 400..599, got 42"
		"--service inventory --port $port --fault '{\"hang\":1,\"x\":2}'|shopd: fault: /x: unknown key 'x'; fault: /hang: must be true or false, got number 1"
		"--service inventory --port $port --fault '{}x'|shopd: fault:1:3: invalid JSON: trailing garbage after the value"
		"--service inventory|shopd serve: --service needs --port"
		"--instance payments-1 --service inventory --port $port|shopd serve: give --instance, or --service and --port, not both"
		"--port $port|shopd serve: give --instance, or --service and --port"
		"--instance payments-1 --id x|shopd serve: give --instance, or --service and --port, not both"
		"--service inventory --port 70000|shopd serve: --port: must be 1..65535, got 70000"
		"--service inventory --port $port --id ../x|shopd serve: invalid --id '../x': use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'"
		"--service inventory --port $port --version 'a b'|shopd serve: invalid --version 'a b': use 1 to 64 visible ASCII characters"
		"--service warehouse --port $port|shopd: no service 'warehouse' in '$SHOP_DIR/topology.json'"
		"--service payments --port $port --id payments-1|shopd: instance 'payments-1' is in '$SHOP_DIR/topology.json': run it with --instance"
	)
	local c args
	for c in "${cases[@]}"; do
		eval "args=(${c%%|*})"
		run -2 --separate-stderr "${serve[@]}" "${args[@]}"
		assert_equal "$(head -1 <<<"$stderr")" "${c#*|}"
		assert_output ""
	done
	# Nothing was left listening.
	if (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		fail "something listens on $port"
	fi
}

@test "standalone instance: two of one service on different ports, beside the topology's" {
	local p1 p2
	p1=$(free_port)
	standalone "$p1" --version v1
	p2=$(free_port)
	[ "$p2" != "$p1" ] || p2=$(free_port)
	standalone "$p2" --version v2
	run -0 http_call GET "http://127.0.0.1:$p1/health"
	assert_output "200 {\"status\":\"ok\",\"service\":\"inventory\",\"instance\":\"inventory-$p1\",\"version\":\"v1\"}"
	run -0 http_call GET "http://127.0.0.1:$p2/health"
	assert_output "200 {\"status\":\"ok\",\"service\":\"inventory\",\"instance\":\"inventory-$p2\",\"version\":\"v2\"}"
	# Both serve the business endpoints; the topology is untouched.
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p1/stock"
	assert_output 200
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p2/stock"
	assert_output 200
	run -0 jq -r '.services.inventory.instances | map(.id) | join(" ")' "$SHOP_DIR/topology.json"
	assert_output "inventory-1 inventory-2"
	# SIGTERM ends each as it ends a topology instance.
	stop_bg
	run -0 cat "$BATS_TEST_TMPDIR/serve-$p2.err"
	assert_line "shopd: inventory-$p2 stopped (signal), exit status 143"
}

@test "stop ends every instance and leaves no sanitizer report" {
	run -0 "$OFS_BIN/shopd" stop --dir "$SHOP_DIR"
	assert_jq "$(jq -s -c . <<<"$output")" 'map(.state) | unique | join(" ")' stopped
	assert_equal "$(shop_pids)" ""
	run -0 ls "$SHOP_DIR/run"
	refute_output --partial .pid
	# Stopping a stopped shop is fine.
	run -0 "$OFS_BIN/shopd" stop --dir "$SHOP_DIR"
	run -1 grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SHOP_DIR"/run/*.log
}
