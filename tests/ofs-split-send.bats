#!/usr/bin/env bats
# tests/ofs-split-send.bats: ofs-split send against the example shop.
#
# As in ofs-replay-play.bats, the file starts the shop's inventory (v1,
# the primary) once, plus two standalone inventory instances: a changed
# version (v2, the candidate) and a second v1 (the secondary). GET
# /catalog/SKU answers "served_at" (the time: it differs between any two
# answers, the noise) and, from v2 on, price_cents as a string and an
# extra "currency" (the planted difference). Tests that kill or break a
# candidate start their own instance, so the shared ones stay as they are.

load helpers

setup_file() {
	inventory_versions_start
}

teardown_file() {
	inventory_versions_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_bg
}

send() {
	"$OFS_BIN/ofs-split" send "$@"
}

# serve_v2 PORT: start a v2 instance of the inventory on PORT (its pid in
# CAND_PID, remembered for stop_bg) and wait for it.
serve_v2() {
	"$OFS_BIN/shopd" serve --dir "$SHOP_DIR" --service inventory --port "$1" --version v2 \
		>>"$BATS_TEST_TMPDIR/cand.log" 2>&1 3>&- 4>&- &
	CAND_PID=$!
	echo "$CAND_PID" >>"$BATS_TEST_TMPDIR/pids"
	wait_up "http://127.0.0.1:$1"
}

# requests: the shop's catalog and stock, as replay.exchange records (the
# recorded response is not used) and bare requests.
requests() {
	cat <<-'EOF'
		{"type":"replay.exchange","ts":"2026-11-22T02:31:00.000000Z","id":"b1","request":{"method":"GET","path":"/catalog/book","headers":{"accept":"application/json"}},"response":{"status":200,"body":"{}"}}
		{"id":"m1","method":"GET","path":"/catalog/mug","headers":{"accept":"application/json"}}
		{"id":"s1","method":"GET","path":"/stock"}
		{"id":"n1","method":"GET","path":"/catalog/nope"}
		{"type":"replay.exchange","id":"b2","request":{"method":"GET","path":"/catalog/book"}}
	EOF
}

# norm: the split.compare records without what changes from run to run
# (ts, latencies, the served_at values), sorted by id.
norm() {
	jq -c 'select(.type == "split.compare") | del(.ts)
		| (.primary, .candidate, .secondary) |= (if type == "object" then .latency_ms = "L" else . end)
		| .fields |= map(if .pointer == "/body/served_at" then .primary = "T" | .candidate = "T" else . end)' |
		jq -sc 'sort_by(.id)[]'
}

# feed FD PREFIX N: N requests for GET /catalog/book with ids PREFIX1..N,
# written at once (one write of less than PIPE_BUF: the reader gets all).
feed() {
	local i lines=""
	for ((i = 1; i <= $3; i++)); do
		lines+=$(printf '{"id":"%s%d","method":"GET","path":"/catalog/book"}' "$2" "$i")$'\n'
	done
	printf '%s' "$lines" >&"$1"
}

# wait_records FILE N: wait up to 10 s for N split.compare records in FILE.
wait_records() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(grep -c '"type":"split.compare"' "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "fewer than $2 records in $1: $(cat "$1")"
}

@test "shadow: the planted difference is reported with its field path, served_at is noise" {
	requests >in.jsonl
	# served_at has microseconds: two instances answering within the same
	# one would hide it for that request, so such a (rare) run is redone.
	for ((try = 0; try < 5; try++)); do
		run -1 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --secondary "$LEGACY2" in.jsonl
		[ "$(norm <<<"$output" | grep -c '"/body/served_at","kind":"changed","primary":"T","candidate":"T","noise":true')" = 3 ] &&
			break
	done
	assert_equal "$stderr" ""
	assert_equal "$(norm <<<"$output")" \
'{"type":"split.compare","id":"b1","method":"GET","path":"/catalog/book","endpoint":"GET /catalog/book","result":"mismatched","primary":{"status":200,"latency_ms":"L"},"candidate":{"status":200,"latency_ms":"L"},"secondary":{"status":200,"latency_ms":"L"},"fields":[{"pointer":"/body/price_cents","kind":"type","primary":2450,"candidate":"2450","noise":false},{"pointer":"/body/served_at","kind":"changed","primary":"T","candidate":"T","noise":true},{"pointer":"/body/currency","kind":"extra","candidate":"EUR","noise":false}]}
{"type":"split.compare","id":"b2","method":"GET","path":"/catalog/book","endpoint":"GET /catalog/book","result":"mismatched","primary":{"status":200,"latency_ms":"L"},"candidate":{"status":200,"latency_ms":"L"},"secondary":{"status":200,"latency_ms":"L"},"fields":[{"pointer":"/body/price_cents","kind":"type","primary":2450,"candidate":"2450","noise":false},{"pointer":"/body/served_at","kind":"changed","primary":"T","candidate":"T","noise":true},{"pointer":"/body/currency","kind":"extra","candidate":"EUR","noise":false}]}
{"type":"split.compare","id":"m1","method":"GET","path":"/catalog/mug","endpoint":"GET /catalog/mug","result":"mismatched","primary":{"status":200,"latency_ms":"L"},"candidate":{"status":200,"latency_ms":"L"},"secondary":{"status":200,"latency_ms":"L"},"fields":[{"pointer":"/body/price_cents","kind":"type","primary":1200,"candidate":"1200","noise":false},{"pointer":"/body/served_at","kind":"changed","primary":"T","candidate":"T","noise":true},{"pointer":"/body/currency","kind":"extra","candidate":"EUR","noise":false}]}
{"type":"split.compare","id":"n1","method":"GET","path":"/catalog/nope","endpoint":"GET /catalog/nope","result":"matched","primary":{"status":404,"latency_ms":"L"},"candidate":{"status":404,"latency_ms":"L"},"secondary":{"status":404,"latency_ms":"L"},"fields":[]}
{"type":"split.compare","id":"s1","method":"GET","path":"/stock","endpoint":"GET /stock","result":"matched","primary":{"status":200,"latency_ms":"L"},"candidate":{"status":200,"latency_ms":"L"},"secondary":{"status":200,"latency_ms":"L"},"fields":[]}'
	# The summary: Diffy's verdict per endpoint and field, the last record.
	assert_jq "${lines[-1]}" '.type' split.summary
	assert_equal "$(jq -cS 'del(.ts) | .endpoints[] |= del(.latency_ms)' <<<"${lines[-1]}")" \
'{"compared":5,"endpoints":{"GET /catalog/book":{"compared":2,"fields":{"/body/currency":{"noise":0,"raw":2,"verdict":"reported"},"/body/price_cents":{"noise":0,"raw":2,"verdict":"reported"},"/body/served_at":{"noise":2,"raw":2,"verdict":"noise"}},"mismatched":2},"GET /catalog/mug":{"compared":1,"fields":{"/body/currency":{"noise":0,"raw":1,"verdict":"reported"},"/body/price_cents":{"noise":0,"raw":1,"verdict":"reported"},"/body/served_at":{"noise":1,"raw":1,"verdict":"noise"}},"mismatched":1},"GET /catalog/nope":{"compared":1,"fields":{},"mismatched":0},"GET /stock":{"compared":1,"fields":{},"mismatched":0}},"errors":0,"ignored":0,"matched":2,"mismatched":3,"mode":"shadow","primary_errors":0,"reported_fields":4,"requests":5,"skipped":0,"type":"split.summary"}'
	assert_jq "${lines[-1]}" '.endpoints["GET /catalog/book"].latency_ms | [.primary.p50, .candidate.p99] | map(type == "number" and . > 0) | all'
}

@test "shadow against a second v1: served_at alone differs, it is noise, and the answer is yes" {
	requests >in.jsonl
	for ((try = 0; try < 5; try++)); do
		run -0 send --primary "$LEGACY" --candidate "$LEGACY2" --secondary "$LEGACY2" in.jsonl
		[ "$(jq -r 'select(.type == "split.compare" and .result == "ignored") | .id' <<<"$output" | wc -l)" = 3 ] && break
	done
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.id) \(.result)"' <<<"$output" | sort | tr '\n' ' ')" \
		"b1 ignored b2 ignored m1 ignored n1 matched s1 matched "
	assert_jq "${lines[-1]}" '[.matched, .mismatched, .ignored, .reported_fields] | join(" ")' "2 0 3 0"
	# Without --secondary nothing tells noise: served_at is a difference,
	# unless it is --ignored (the request is then "ignored", not matched).
	run -1 send --primary "$LEGACY" --candidate "$LEGACY2" in.jsonl
	assert_jq "${lines[-1]}" '[.mismatched, .reported_fields, (.endpoints["GET /catalog/book"].fields | keys | join(","))] | join(" ")' \
		"3 2 /body/served_at"
	run -0 send --primary "$LEGACY" --candidate "$LEGACY2" --ignore /body/served_at in.jsonl
	assert_jq "${lines[-1]}" '[.matched, .mismatched, .ignored] | join(" ")' "2 0 3"
	# --ignore takes prefixes: /body ignores every body field.
	run -0 send --primary "$LEGACY" --candidate "$V2" --ignore /body in.jsonl
	assert_jq "${lines[-1]}" '[.matched, .ignored] | join(" ")' "2 3"
}

@test "--compare-header compares a response header; status differences have their pointer" {
	echo '{"id":"h","method":"GET","path":"/stock"}' >in.jsonl
	run -1 send --primary "$LEGACY" --candidate "$V2" --compare-header Shop-Version in.jsonl
	assert_equal "$(jq -c '.fields' <<<"${lines[0]}")" \
		'[{"pointer":"/headers/shop-version","kind":"changed","primary":"v1","candidate":"v2","noise":false}]'
	# A candidate answering 503: /status differs (and it is no transport error).
	port=$(free_port)
	serve_v2 "$port"
	curl -sf -o /dev/null -X POST -d '{"status":503}' "http://127.0.0.1:$port/admin/fault"
	run -1 send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" in.jsonl
	assert_jq "${lines[0]}" '[.result, .candidate.status, (.fields[0] | "\(.pointer) \(.primary) \(.candidate)")] | join(" ")' \
		"mismatched 503 /status 200 503"
}

@test "writes go to the primary only, unless --allow-writes" {
	jq -cn '{id: "w1", method: "POST", path: "/release",
		headers: {"content-type": "application/json", "idempotency-key": "send-w1-key"},
		body: "{\"order_id\":\"send-w1\"}"}' >w.jsonl
	echo '{"id":"r1","method":"GET","path":"/stock"}' >>w.jsonl
	run -0 send --primary "$LEGACY" --candidate "$V2" w.jsonl
	assert_equal "$(jq -c 'select(.id == "w1") | [.result, .reason, .primary.status, .candidate]' <<<"$output")" \
		'["skipped","write not allowed",200,null]'
	assert_jq "${lines[-1]}" '[.requests, .compared, .skipped, .matched] | join(" ")' "2 1 1 1"
	# The instances share one idempotency store, which counts the
	# requests that came with a key: one, the primary's.
	assert_jq "$(curl -s "$V2/admin/idempotency?key=send-w1-key")" '.count' 1
	sed -i 's/send-w1-key/send-w2-key/' w.jsonl
	run -0 send --primary "$LEGACY" --candidate "$V2" --secondary "$LEGACY2" --allow-writes w.jsonl
	assert_jq "$(jq -c 'select(.id == "w1")' <<<"$output")" '[.result, .candidate.status, .secondary.status] | join(" ")' \
		"matched 200 200"
	assert_jq "$(curl -s "$V2/admin/idempotency?key=send-w2-key")" '.count' 3
}

@test "the candidate killed mid-run: the breaker opens, copies are skipped, the primary never fails; restarted, it closes" {
	port=$(free_port)
	serve_v2 "$port"
	mkfifo in
	"$OFS_BIN/ofs-split" send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" \
		--breaker-window 10 --breaker-open 1s <in >out 2>err 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
	exec 4>in
	feed 4 a 10
	wait_records out 10
	kill -KILL "$CAND_PID"
	wait "$CAND_PID" 2>/dev/null || true
	# 10 copies fail; the 5th failure (half the window of 10) opens it.
	feed 4 b 10
	wait_records out 20
	assert_equal "$(jq -c 'select(.type == "split.breaker") | [.from, .to, .reason]' out)" \
		'["closed","open","failure rate 50.0% >= 50.0% over 10 calls"]'
	# Open: the copies are not even tried.
	feed 4 c 5
	wait_records out 25
	serve_v2 "$port"
	sleep 1.1
	# Half-open after 1s: three trial calls succeed and close it.
	feed 4 d 3
	wait_records out 28
	feed 4 e 2
	wait_records out 30
	exec 4>&-
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 1
	assert_equal "$(cat err)" ""
	assert_equal "$(jq -r 'select(.type == "split.breaker") | "\(.from)>\(.to)"' out | tr '\n' ' ')" \
		"closed>open open>half-open half-open>closed "
	assert_equal "$(jq -r 'select(.type == "split.breaker" and .to == "closed") | .reason' out)" \
		"failure rate 0.0% < 50.0% over 3 trial calls"
	results=$(jq -r 'select(.type == "split.compare") | "\(.id | .[0:1]) \(.result) \(.reason // "-")"' out | sort | uniq -c | awk '{ $1 = $1; print }')
	assert_equal "$results" "10 a mismatched -
10 b error -
5 c skipped breaker open
3 d mismatched -
2 e mismatched -"
	assert_equal "$(jq -r 'select(.type == "split.compare") | .primary.status' out | sort -u)" 200
	assert_jq "$(tail -1 out)" '[.requests, .compared, .skipped, .errors, .primary_errors] | join(" ")' "30 15 5 10 0"
	assert_jq "$(jq -c 'select(.id == "b1")' out)" '.candidate | .status == 0 and (.error | length > 0)'
}

@test "a candidate that hangs never delays live traffic: it times out on its own, then is skipped" {
	port=$(free_port)
	serve_v2 "$port"
	curl -sf -o /dev/null -X POST -d '{"hang":true}' "http://127.0.0.1:$port/admin/fault"
	for ((i = 1; i <= 40; i++)); do
		printf '{"id":"r%02d","method":"GET","path":"/stock"}\n' "$i"
	done >in.jsonl
	# Live (--rate): 4 copies in flight and 4 waiting, the other 32 skipped
	# at once; the first timeout lets one more go, the second opens the
	# breaker (half of a window of 4), which refuses the 3 still waiting.
	# Every primary answer came at once: none waited for the candidate.
	run -0 --separate-stderr send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" --rate 500 \
		--concurrency 4 --backlog 4 --timeout 400ms --breaker-window 4 --breaker-open 1m in.jsonl
	assert_equal "$(jq -r 'select(.type == "split.compare") | .primary.status' <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" \
		"40 200"
	assert_jq "$(jq -sc 'map(select(.type == "split.compare") | .primary.latency_ms) | max' <<<"$output")" '. < 200'
	assert_equal "$(jq -r 'select(.type == "split.compare" and .result == "error") | .candidate.error' <<<"$output" | sort -u)" \
		"timed out after 400 ms waiting for the response"
	assert_equal "$(jq -r 'select(.type == "split.compare" and .result == "skipped") | .reason' <<<"$output" | sort | uniq -c | awk '{ $1 = $1; print }')" \
		"3 breaker open
32 candidate busy"
	assert_jq "${lines[-1]}" '[.requests, .errors, .skipped, .primary_errors] | join(" ")' "40 5 35 0"
	# A file read as fast as it goes waits for the busy candidate instead
	# (every request would be compared); here until the breaker opens.
	run -0 --separate-stderr send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" \
		--concurrency 4 --backlog 4 --timeout 400ms --breaker-window 4 --breaker-open 1m in.jsonl
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.result) \(.reason // .candidate.error)"' <<<"$output" | sort | uniq -c | awk '{ $1 = $1; print }')" \
		"5 error timed out after 400 ms waiting for the response
35 skipped breaker open"
}

@test "split: 1000 keys land 90/10, each key always on the same side, as ofs-split route puts them" {
	for ((i = 1; i <= 1000; i++)); do
		printf '{"method":"GET","path":"/health","headers":{"x-user":"user-%d"}}\n' "$i"
	done >keys.jsonl
	run -0 send --primary "$LEGACY" --candidate "$V2" --key /headers/x-user \
		--weights primary=90,candidate=10 keys.jsonl
	jq -r 'select(.type == "split.sent") | "\(.key) \(.variant)"' <<<"$output" | sort >first
	assert_equal "$(wc -l <first)" 1000
	candidate=$(grep -c ' candidate$' first)
	[ "$candidate" -ge 70 ] && [ "$candidate" -le 130 ] || fail "$candidate of 1000 on the candidate"
	assert_jq "${lines[-1]}" '[.mode, .requests, .primary.sent + .candidate.sent, .candidate.sent, .fallbacks, .primary_errors] | join(" ")' \
		"split 1000 1000 $candidate 0 0"
	# Every answer is the one of its side: /health names the version.
	assert_equal "$(jq -r 'select(.type == "split.sent") | "\(.variant) \(.status) \(.fallback)"' <<<"$output" | sort -u | tr '\n' ',')" \
		"candidate 200 false,primary 200 false,"
	# The same keys again, shuffled and each twice, legacy/new naming the
	# sides: each key lands where it did.
	cat keys.jsonl keys.jsonl | shuf >twice.jsonl
	run -0 send --primary "$LEGACY" --candidate "$V2" --key /headers/x-user \
		--weights legacy=90,new=10 --concurrency 4 twice.jsonl
	jq -r 'select(.type == "split.sent") | "\(.key) \(.variant)"' <<<"$output" | sort -u >second
	assert_equal "$(cat second)" "$(cat first)"
	# ofs-split route puts every key in the same variant.
	"$OFS_BIN/ofs-split" route --key /headers/x-user --weights primary=90,candidate=10 keys.jsonl |
		jq -r '"\(.headers["x-user"]) \(.variant)"' | sort >routed
	assert_equal "$(cat routed)" "$(cat first)"
	# Another salt, another split.
	run -0 send --primary "$LEGACY" --candidate "$V2" --key /headers/x-user \
		--weights primary=90,candidate=10 --salt exp-2 keys.jsonl
	jq -r 'select(.type == "split.sent") | "\(.key) \(.variant)"' <<<"$output" | sort >salted
	[ "$(cat salted)" != "$(cat first)" ] || fail "the salt changed nothing"
}

@test "split: no key goes to the primary; a candidate down sends its share to the primary" {
	printf '%s\n' '{"id":"k1","method":"GET","path":"/stock","user":"user-1"}' \
		'{"id":"none","method":"GET","path":"/stock"}' \
		'{"id":"null","method":"GET","path":"/stock","user":null}' >in.jsonl
	run -0 send --primary "$LEGACY" --candidate "$V2" --key /user --weights candidate=100 in.jsonl
	assert_equal "$(jq -r 'select(.type == "split.sent") | "\(.id) \(.key) \(.variant)"' <<<"$output" | sort | tr '\n' ',')" \
		"k1 user-1 candidate,none null primary,null null primary,"
	port=$(free_port)
	for ((i = 1; i <= 30; i++)); do
		printf '{"id":"r%02d","method":"GET","path":"/stock","headers":{"x-user":"u%d"}}\n' "$i" "$i"
	done >down.jsonl
	run -1 send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" --key /headers/x-user \
		--weights primary=0,candidate=100 --breaker-window 4 --concurrency 1 down.jsonl
	# Two failures of four open the breaker; the rest fall back.
	assert_equal "$(jq -r 'select(.type == "split.breaker") | "\(.from)>\(.to)"' <<<"$output")" "closed>open"
	assert_jq "${lines[-1]}" '[.candidate.sent, .candidate.errors, .primary.sent, .fallbacks, .primary_errors] | join(" ")' \
		"2 2 28 28 0"
	assert_equal "$(jq -r 'select(.type == "split.sent" and .fallback) | "\(.variant) \(.status) \(.reason)"' <<<"$output" | sort -u)" \
		"primary 200 breaker open"
}

@test "bad input lines: FILE:LINE on stderr, the rest is sent, exit 3; --strict stops" {
	printf '%s\n' '{"id":"ok1","method":"GET","path":"/stock"}' 'not json' \
		'{"type":"replay.exchange","request":{"method":"GET"}}' \
		'{"type":"replay.summary","total":3}' \
		'{"type":"span","name":"x"}' \
		'{"method":"GET","path":"/x","body_base64":"%%"}' \
		'{"method":"GET","path":"/x","headers":{"a":1}}' \
		'{"id":"ok2","method":"GET","path":"/stock"}' >bad.jsonl
	run -3 --separate-stderr send --primary "$LEGACY" --candidate "$LEGACY2" bad.jsonl
	assert_equal "$stderr" "ofs-split: bad.jsonl:2: invalid JSON at column 1 near 'n'
ofs-split: bad.jsonl:3: /request/path: missing or not starting with '/'
ofs-split: bad.jsonl:5: /method: missing or not a method name
ofs-split: bad.jsonl:6: /body_base64: must be a base64 string
ofs-split: bad.jsonl:7: /headers/a: must be a string"
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.id) \(.result)"' <<<"$output" | sort | tr '\n' ' ')" \
		"ok1 matched ok2 matched "
	run -3 --separate-stderr send --strict --primary "$LEGACY" --candidate "$LEGACY2" bad.jsonl
	assert_equal "$stderr" "ofs-split: bad.jsonl:2: invalid JSON at column 1 near 'n'"
	assert_jq "${lines[-1]}" '.requests' 1
	# Split mode: a key that is an object is rejected, as route rejects it.
	echo '{"method":"GET","path":"/stock","headers":{"x":"1"}}' >obj.jsonl
	run -3 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key /headers --weights primary=50,candidate=50 obj.jsonl
	assert_equal "$stderr" "ofs-split: obj.jsonl:1: key at '/headers' is an object, not a string or number"
}

@test "usage errors exit 2 before anything is sent" {
	run -2 --separate-stderr send --candidate "$V2" /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --primary is required"
	run -2 --separate-stderr send --primary "$LEGACY" /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --candidate is required"
	run -2 --separate-stderr send --primary ftp://x --candidate "$V2" /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --primary: not an http:// or https:// URL: 'ftp://x'"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key /id --weights primary=90,candidate=5 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --weights: weights must sum to 100, got 95 (primary=90,candidate=5)"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key /id --weights primary=90,x=10 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --weights: unknown variant 'x' (send routes to primary and candidate)"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key /id --weights legacy=90,primary=10 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --weights: 'legacy' and 'primary' both name the primary"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --weights primary=90,candidate=10 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --weights needs --key (the JSON pointer of each request's key)"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key /id /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --key needs --weights"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --key id --weights primary=100 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --key: invalid JSON pointer 'id': must start with '/'"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --secondary "$LEGACY2" --key /id --weights primary=100 /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --secondary is for shadow mode: split mode (--key) compares nothing and sends every request once"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --breaker-open 0s /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --breaker-open: must be at least 1ms"
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$V2" --ignore body /dev/null
	assert_equal "${stderr_lines[0]}" "ofs-split send: --ignore: not a JSON pointer: 'body'"
	run -0 send --help
	assert_line --partial "--breaker-open duration"
}

@test "an unreachable primary: exit 4 and a clear error; an unreachable candidate is only errors" {
	requests >in.jsonl
	port=$(free_port)
	run -4 --separate-stderr send --primary "http://127.0.0.1:$port" --candidate "$V2" in.jsonl
	assert_equal "$stderr" "ofs-split: send: primary 'http://127.0.0.1:$port' unreachable for every request: connection refused"
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.result) \(.primary.status) \(.primary.error)"' <<<"$output" | sort -u)" \
		"error 0 connection refused"
	assert_jq "${lines[-1]}" '[.errors, .primary_errors] | join(" ")' "5 5"
	run -0 --separate-stderr send --primary "$LEGACY" --candidate "http://127.0.0.1:$port" in.jsonl
	assert_equal "$stderr" ""
	assert_jq "${lines[-1]}" '[.errors, .primary_errors, .compared] | join(" ")' "5 0 0"
}

@test "empty input, gzip input, output to a full disk, a missing file" {
	run -0 send --primary "$LEGACY" --candidate "$LEGACY2" </dev/null
	assert_jq "$output" '[.type, .requests] | join(" ")' "split.summary 0"
	echo '{"method":"GET","path":"/stock"}' | gzip >in.jsonl.gz
	run -0 send --primary "$LEGACY" --candidate "$LEGACY2" -o out.jsonl.gz in.jsonl.gz
	assert_jq "$(zcat out.jsonl.gz | tail -1)" '.matched' 1
	run -4 send --primary "$LEGACY" --candidate "$LEGACY2" in.jsonl.gz -o /dev/full
	run -2 --separate-stderr send --primary "$LEGACY" --candidate "$LEGACY2" missing.jsonl in.jsonl.gz
	assert_equal "$stderr" "ofs-split: cannot open 'missing.jsonl': No such file or directory"
	assert_jq "${lines[-1]}" '.matched' 1
}

@test "a 10 MB line and binary garbage are rejected; SIGTERM ends a live run with its summary" {
	{ head -c 10485760 /dev/zero | tr '\0' 'x'; echo; } >big.jsonl
	head -c 4096 /dev/urandom | tr -d '\n' >>big.jsonl
	echo >>big.jsonl
	echo '{"method":"GET","path":"/stock"}' >>big.jsonl
	run -3 --separate-stderr send --primary "$LEGACY" --candidate "$LEGACY2" big.jsonl
	assert_jq "${lines[-1]}" '[.requests, .matched] | join(" ")' "1 1"
	assert_equal "$(grep -c '^ofs-split: big.jsonl:[12]: ' <<<"$stderr")" 2
	# A live pipe: records come as answers do, before the input ends.
	mkfifo in
	"$OFS_BIN/ofs-split" send --primary "$LEGACY" --candidate "$LEGACY2" <in >out 2>err 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
	exec 4>in
	echo '{"id":"live","method":"GET","path":"/stock"}' >&4
	wait_records out 1
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 4>&-
	assert_equal "$st" 143
	assert_jq "$(tail -1 out)" '[.type, .requests, .matched] | join(" ")' "split.summary 1 1"
}

@test "examples/split/send: the README's two runs" {
	ex=$OFS_TOP/examples/split/send
	for ((try = 0; try < 5; try++)); do
		run -1 send --primary "$LEGACY" --candidate "$V2" --secondary "$LEGACY2" "$ex/requests.jsonl"
		[ "$(jq -r 'select(.type == "split.compare" and .result == "mismatched") | .fields[] | select(.noise) | .pointer' <<<"$output" | sort -u)" = /body/served_at ] && break
	done
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.id) \(.result) \([.fields[] | select(.noise | not) | .pointer] | join(","))"' <<<"$output" | sort)" \
		"ex-1 mismatched /body/price_cents,/body/currency
ex-2 mismatched /body/price_cents,/body/currency
req-3 matched 
req-4 matched 
req-5 skipped "
	run -0 send --primary "$LEGACY" --candidate "$V2" --key /headers/x-user-id --weights legacy=75,new=25 "$ex/users.jsonl"
	assert_equal "$(jq -r 'select(.type == "split.sent" and .variant == "candidate") | .key' <<<"$output" | sort -V | tr '\n' ' ')" \
		"user-8 user-9 user-11 "
}

# listen_up FILE.err: wait for "listening on" in the proxy's stderr and
# print the address.
listen_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$1" 2>/dev/null && break
		sleep 0.05
	done
	sed -n 's/^ofs-split: send: listening on //p' "$1"
}

@test "--listen: clients are answered by the primary, their requests shadowed and compared behind them" {
	bg out "$OFS_BIN/ofs-split" send --listen 127.0.0.1:0 --primary "$LEGACY" --candidate "$V2" --secondary "$LEGACY2"
	addr=$(listen_up out.err)
	[ -n "$addr" ] || fail "no listening line: $(cat out.err)"
	run -0 curl -s "http://$addr/catalog/book"
	assert_jq "$output" '.price_cents' 2450
	run -0 curl -s -X POST -H 'content-type: application/json' -d '{"order_id":"send-listen"}' "http://$addr/release"
	assert_jq "$output" '.order_id' send-listen
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://$addr/catalog/nope"
	assert_output 404
	wait_records out 3
	kill -TERM "$BG_PID"
	st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.method) \(.path) \(.result) \(.reason // "-") \([.fields[] | select(.noise | not) | .pointer] | join(","))"' out | sort)" \
		"GET /catalog/book mismatched - /body/price_cents,/body/currency
GET /catalog/nope matched - 
POST /release skipped write not allowed "
	assert_jq "$(tail -1 out)" '[.type, .requests, .primary_errors] | join(" ")' "split.summary 3 0"
	# A candidate that hangs: clients are answered at once all the same.
	port=$(free_port)
	serve_v2 "$port"
	curl -sf -o /dev/null -X POST -d '{"hang":true}' "http://127.0.0.1:$port/admin/fault"
	bg out2 "$OFS_BIN/ofs-split" send --listen 127.0.0.1:0 --primary "$LEGACY" \
		--candidate "http://127.0.0.1:$port" --timeout 2s
	addr=$(listen_up out2.err)
	# (not a loop over i: bats-assert's helpers set i)
	for n in 1 2 3 4 5; do
		run -0 curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://$addr/stock"
		assert_output 200
	done
	wait_records out2 5
	kill -TERM "$BG_PID"
	wait "$BG_PID" || true
	assert_equal "$(jq -r 'select(.type == "split.compare") | "\(.result) \(.primary.status) \(.candidate.error)"' out2 | sort -u)" \
		"error 200 timed out after 2000 ms waiting for the response"
}
