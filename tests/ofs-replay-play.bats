#!/usr/bin/env bats
# tests/ofs-replay-play.bats: ofs-replay play against the example shop.
#
# The file starts the shop's inventory (the legacy, v1) once, plus two
# standalone inventory instances: a second legacy one (v1, for
# --secondary) and a changed version (v2). GET /catalog/SKU answers
# "served_at" (the time: it differs between any two answers) and, from
# v2 on, price_cents as a string and an extra "currency": the planted
# differences. Exchanges are recorded from the legacy with curl and
# turned into replay.exchange records with jq (record_get).

load helpers

MAN_PAGE=ofs-replay.1

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

play() {
	"$OFS_BIN/ofs-replay" play "$@"
}

# record_get PATH ID [TS]: call GET PATH on the legacy and print the
# exchange as a replay.exchange record.
record_get() {
	local st body
	body=$(curl -s -D headers -H 'accept: application/json' "$LEGACY$1") || return 1
	st=$(tr -d '\r' <headers | awk 'NR == 1 { print $2 }')
	jq -cn --arg p "$1" --arg b "$body" --argjson st "$st" --arg id "$2" \
		--arg ts "${3:-2026-11-22T02:31:00.000000Z}" \
		'{type: "replay.exchange", ts: $ts, id: $id, source: "record",
		  request: {method: "GET", path: $p, headers: {accept: "application/json"}},
		  response: {status: $st, headers: {"content-type": "application/json"}, body: $b},
		  latency_ms: 0.5}'
}

# exchanges: a recording of the legacy: two catalog items, the stock, an
# unknown sku (404) and the health check.
exchanges() {
	{
		record_get /catalog/book b1
		record_get /catalog/mug m1
		record_get /stock s1
		record_get /catalog/nope n1
		record_get /catalog/book b2
	} >rec.jsonl
}

@test "planted differences are found with their field path; identical answers match" {
	exchanges
	run -1 play --target "$V2" rec.jsonl
	diffs=$(jq -c 'select(.type == "replay.diff") |
		[.id, .endpoint, [.fields[] | [.pointer, .kind] | join(" ")]]' <<<"$output" | LC_ALL=C sort)
	assert_equal "$diffs" '["b1","GET /catalog/book",["/body/price_cents type","/body/served_at changed","/body/currency extra"]]
["b2","GET /catalog/book",["/body/price_cents type","/body/served_at changed","/body/currency extra"]]
["m1","GET /catalog/mug",["/body/price_cents type","/body/served_at changed","/body/currency extra"]]'
	b1=$(jq -c 'select(.id == "b1") | .fields[0] | [.recorded, .replayed]' <<<"$output")
	assert_equal "$b1" '[2450,"2450"]'
	assert_equal "$(jq -c 'select(.id == "b1") | .fields[2]' <<<"$output")" \
		'{"pointer":"/body/currency","kind":"extra","replayed":"EUR"}'
	summary=$(jq -c 'select(.type == "replay.summary") | del(.ts, .target)' <<<"$output")
	assert_jq "$summary" '[.total, .replayed, .matched, .mismatched, .skipped, .errors] | join(" ")' \
		"5 5 2 3 0 0"
	assert_jq "$summary" '.endpoints | sort_by(.endpoint) | map("\(.endpoint) \(.total) \(.match_rate) \([.fields[] | "\(.pointer)=\(.count)"] | join(","))") | join(";")' \
		"GET /catalog/book 2 0 /body/price_cents=2,/body/served_at=2,/body/currency=2;GET /catalog/mug 1 0 /body/price_cents=1,/body/served_at=1,/body/currency=1;GET /catalog/nope 1 1 ;GET /stock 1 1 "
	assert_equal "${#lines[@]}" 4
}

@test "the same version matches everything once the timestamp is ignored" {
	exchanges
	run -0 play --target "$LEGACY2" --ignore /body/served_at rec.jsonl
	assert_equal "${#lines[@]}" 1
	assert_jq "${lines[0]}" '[.type, .matched, .mismatched, .noise_filtered] | join(" ")' \
		"replay.summary 5 0 3"
}

@test "--secondary classifies the timestamp as noise and keeps the planted differences" {
	exchanges
	run -1 play --target "$V2" --secondary "$LEGACY2" rec.jsonl
	diffs=$(jq -c 'select(.type == "replay.diff") |
		[.endpoint, .exchanges, [.fields[] | [.pointer, .kind] | join(" ")]]' <<<"$output" | LC_ALL=C sort)
	assert_equal "$diffs" '["GET /catalog/book",2,["/body/price_cents type","/body/currency extra"]]
["GET /catalog/mug",1,["/body/price_cents type","/body/currency extra"]]'
	summary=$(jq -c 'select(.type == "replay.summary")' <<<"$output")
	assert_jq "$summary" '.secondary == env.LEGACY2'
	assert_jq "$summary" '[.matched, .mismatched, .noise_filtered] | join(" ")' "2 3 3"
	assert_jq "$summary" '.endpoints[] | select(.endpoint == "GET /catalog/book") | [.endpoint, (.fields | map("\(.pointer) \(.raw) \(.noise)") | join(",")), (.noise | map("\(.pointer) \(.raw) \(.noise)") | join(","))] | join(";")' \
		"GET /catalog/book;/body/price_cents 2 0,/body/currency 2 0;/body/served_at 2 2"
	# Against a second legacy instance nothing at all is reported.
	run -0 play --target "$LEGACY" --secondary "$LEGACY2" rec.jsonl
	assert_equal "${#lines[@]}" 1
	assert_jq "${lines[0]}" '[.matched, .mismatched] | join(" ")' "5 0"
}

@test "recorded through the proxy, replayed against v2: differences found, identical answers match, the time is noise" {
	# acceptance 1, end to end: the capture comes from ofs-replay record
	local port i
	port=$(free_port)
	bg cap.jsonl "$OFS_BIN/ofs-replay" record --listen "127.0.0.1:$port" --upstream "$LEGACY"
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
		sleep 0.1
	done
	for p in /catalog/book /catalog/mug /stock /catalog/book /catalog/nope; do
		curl -s -o /dev/null -H 'accept: application/json' "http://127.0.0.1:$port$p"
	done
	kill -TERM "$BG_PID"
	wait "$BG_PID" || true
	assert_equal "$(jq -r '.request.path' cap.jsonl | paste -sd' ')" \
		"/health /catalog/book /catalog/mug /stock /catalog/book /catalog/nope"
	run -1 play --target "$V2" --secondary "$LEGACY2" cap.jsonl
	# endpoints are reported in the order their answers came: sorted here
	diffs=$(jq -c 'select(.type == "replay.diff") | [.endpoint, .exchanges, [.fields[].pointer]]' \
		<<<"$output" | LC_ALL=C sort)
	# /health reports the version: a real difference too
	assert_equal "$diffs" '["GET /catalog/book",2,["/body/price_cents","/body/currency"]]
["GET /catalog/mug",1,["/body/price_cents","/body/currency"]]
["GET /health",1,["/body/version"]]'
	summary=$(jq -c 'select(.type == "replay.summary")' <<<"$output")
	assert_jq "$summary" '[.total, .matched, .mismatched] | join(" ")' "6 2 4"
	assert_jq "$summary" '[.endpoints[] | select(.match_rate == 1) | .endpoint] | sort | join(",")' \
		"GET /catalog/nope,GET /stock"
	# noise: the time, and /health's instance id (each legacy has its own)
	assert_jq "$summary" '[.endpoints[].noise[]?.pointer] | unique | join(",")' \
		"/body/instance,/body/served_at"
}

@test "noise thresholds are options: a field differing on the target more often still counts" {
	exchanges
	# served_at: raw 2, noise 2 on /catalog/book: never reported, whatever the thresholds.
	run -1 play --target "$V2" --secondary "$LEGACY2" --noise-relative 0% --noise-share 0% rec.jsonl
	run -0 jq -r 'select(.type == "replay.diff") | .fields[].pointer' <<<"$output"
	refute_line /body/served_at
	run -2 play --target "$V2" --noise-share lots rec.jsonl
	assert_line --partial "--noise-share: "
}

@test "writes are skipped unless --allow-writes" {
	jq -cn '{type: "replay.exchange", ts: "2026-11-22T02:31:00.000000Z", id: "w1",
		request: {method: "POST", path: "/release", headers: {"content-type": "application/json"},
			  body: "{\"order_id\":\"play-w1\"}"},
		response: {status: 200, body: "{\"order_id\":\"play-w1\",\"released\":{}}"}}' >w.jsonl
	record_get /stock s1 >>w.jsonl
	run -0 play --target "$V2" w.jsonl
	assert_jq "${lines[0]}" '[.total, .replayed, .skipped, .matched] | join(" ")' "2 1 1 1"
	run -0 play --target "$V2" --allow-writes --header 'Idempotency-Key: play-w1-key' w.jsonl
	assert_jq "${lines[0]}" '[.total, .replayed, .skipped, .matched] | join(" ")' "2 2 0 2"
	# The header given reached the service (it counts requests per key).
	run -0 curl -s "$V2/admin/idempotency?key=play-w1-key"
	assert_jq "$output" '.count' 1
}

@test "filters by method and path, path rewrites and header overrides" {
	exchanges
	run -1 play --target "$V2" --path '^/catalog/(book|nope)$' rec.jsonl
	assert_jq "${lines[-1]}" '[.total, .replayed, .filtered] | join(" ")' "5 3 2"
	run -0 play --target "$V2" --method HEAD,PUT rec.jsonl
	assert_jq "${lines[0]}" '[.replayed, .filtered] | join(" ")' "0 5"
	# A rewrite sends the old path to the new one: /items/X is /catalog/X.
	jq -c '.request.path |= sub("^/catalog/"; "/items/")' rec.jsonl >old.jsonl
	run -0 play --target "$LEGACY2" --ignore /body/served_at --rewrite '^/items/(.*)$=/catalog/\1' old.jsonl
	assert_jq "${lines[0]}" '[.matched, .mismatched] | join(" ")' "5 0"
	run -1 play --target "$LEGACY2" --ignore /body/served_at old.jsonl
	assert_jq "${lines[-1]}" '.mismatched' 4
	# --compare-header compares a header; Shop-Version differs between v1 and v2.
	record_get /stock s1 >s.jsonl
	jq -c '.response.headers["shop-version"] = "v1"' s.jsonl >sv.jsonl
	run -1 play --target "$V2" --compare-header Shop-Version sv.jsonl
	assert_jq "${lines[0]}" '.fields | tojson' '[{"pointer":"/headers/shop-version","kind":"changed","recorded":"v1","replayed":"v2"}]'
	run -0 play --target "$LEGACY2" --compare-header Shop-Version sv.jsonl
}

@test "status-only, unverified, non-JSON and base64 bodies" {
	jq -cn '{type: "replay.exchange", id: "st", request: {method: "GET", path: "/catalog/book"},
		response: {status: 404, bytes: 10}}' >x.jsonl
	jq -cn '{type: "replay.exchange", id: "nr", request: {method: "GET", path: "/stock"}}' >>x.jsonl
	jq -cn '{type: "replay.exchange", id: "tx", request: {method: "GET", path: "/nothing-here"},
		response: {status: 404, body: "plain text"}}' >>x.jsonl
	jq -cn --arg b "$(printf '{"error":"unknown sku %s"}' "'zz'" | base64 -w0)" \
		'{type: "replay.exchange", id: "b64", request: {method: "GET", path: "/catalog/zz"},
		  response: {status: 404, body_base64: $b}, replayed: {status: 500}}' >>x.jsonl
	run -1 play --target "$V2" x.jsonl
	assert_equal "$(jq -c 'select(.type == "replay.diff") | [.id, .fields]' <<<"$output")" \
		"$(printf '%s\n' '["st",[{"pointer":"/status","kind":"changed","recorded":404,"replayed":200}]]' \
			'["tx",[{"pointer":"/body","kind":"changed","recorded":"plain text","replayed":"{\"error\":\"no such endpoint\"}\n"}]]')"
	assert_jq "${lines[-1]}" '[.total, .unverified, .matched, .mismatched] | join(" ")' "4 1 1 2"
}

@test "--rate 20 paces 20 requests over about a second; --speed scales recorded gaps" {
	for ((i = 0; i < 20; i++)); do record_get /stock "r$i"; done >r.jsonl
	start=$(date +%s%N)
	run -0 play --target "$LEGACY2" --rate 20 r.jsonl
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_jq "${lines[0]}" '.matched' 20
	[ "$ms" -ge 800 ] && [ "$ms" -lt 5000 ] || fail "--rate 20 for 20 requests took $ms ms"
	start=$(date +%s%N)
	run -0 play --target "$LEGACY2" r.jsonl
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -lt 800 ] || fail "as fast as possible took $ms ms"
	# Two exchanges recorded 2 s apart, at 200%: about 1 s.
	{ record_get /stock a 2026-11-22T02:31:00.000000Z; record_get /stock b 2026-11-22T02:31:02.000000Z; } >g.jsonl
	start=$(date +%s%N)
	run -0 play --target "$LEGACY2" --speed 200% g.jsonl
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -ge 800 ] && [ "$ms" -lt 4000 ] || fail "--speed 200% took $ms ms"
	run -2 play --target "$LEGACY2" --speed 2 --rate 3 g.jsonl
	assert_line --partial "--rate and --speed exclude each other"
}

@test "an unreachable target: exit 4, a clear error and one replay.error each" {
	exchanges
	port=$(free_port)
	run -4 --separate-stderr play --target "http://127.0.0.1:$port" rec.jsonl
	assert_equal "$stderr" "ofs-replay: play: target 'http://127.0.0.1:$port' unreachable for every request: connection refused"
	assert_equal "$(jq -r 'select(.type == "replay.error") | "\(.id) \(.error)"' <<<"$output" | sort | tr '\n' ' ')" \
		"b1 connection refused b2 connection refused m1 connection refused n1 connection refused s1 connection refused "
	assert_jq "${lines[-1]}" '[.errors, .matched] | join(" ")' "5 0"
}

@test "malformed lines are reported as FILE:LINE, the rest is replayed, exit 3" {
	record_get /stock ok1 >bad.jsonl
	printf '%s\n' 'not json' '{"type":"replay.exchange","request":{"method":"GET"}}' \
		'{"type":"span","name":"x"}' '{"type":"replay.summary"}' \
		'{"type":"replay.exchange","request":{"method":"GET","path":"/x"},"response":{"status":42}}' \
		'{"type":"replay.exchange","request":{"method":"GET","path":"/x","body_base64":"%%"}}' >>bad.jsonl
	record_get /stock ok2 >>bad.jsonl
	run -3 --separate-stderr play --target "$LEGACY2" bad.jsonl
	assert_equal "$stderr" "ofs-replay: bad.jsonl:2: invalid JSON at column 1 near 'n'
ofs-replay: bad.jsonl:3: /request/path: missing or not starting with '/'
ofs-replay: bad.jsonl:4: /type: not a replay.exchange record: 'span'
ofs-replay: bad.jsonl:6: /response/status: missing or not an HTTP status 100..599
ofs-replay: bad.jsonl:7: /request/body_base64: must be a base64 string"
	assert_jq "$output" '[.total, .matched] | join(" ")' "2 2"
	run -3 --separate-stderr play --strict --target "$LEGACY2" bad.jsonl
	assert_jq "$output" '.total' 1
	run -2 play rec.jsonl
	assert_line --partial "--target is required"
	run -2 play --target ftp://x rec.jsonl
	assert_line --partial "--target: not an http:// or https:// URL: 'ftp://x'"
	run -2 play --target "$LEGACY2" --path '(' rec.jsonl
	assert_line --partial "--path: invalid regular expression '('"
}

@test "empty input, gzip input and output to a full disk" {
	run -0 play --target "$LEGACY2" </dev/null
	assert_jq "$output" '.total' 0
	record_get /stock g1 | gzip >in.jsonl.gz
	run -0 play --target "$LEGACY2" in.jsonl.gz
	assert_jq "$output" '.matched' 1
	run -4 play --target "$LEGACY2" in.jsonl.gz -o /dev/full
}

@test "a 10 MB line, binary garbage and a missing file; SIGTERM mid-run" {
	{ head -c 10485760 /dev/zero | tr '\0' 'x'; echo; } >big.jsonl
	head -c 4096 /dev/urandom | tr -d '\n' >>big.jsonl
	echo >>big.jsonl
	record_get /stock ok >>big.jsonl
	run -3 --separate-stderr play --target "$LEGACY2" big.jsonl
	assert_jq "$output" '[.total, .matched] | join(" ")' "1 1"
	assert_equal "$(grep -c '^ofs-replay: big.jsonl:[12]: ' <<<"$stderr")" 2
	run -2 --separate-stderr play --target "$LEGACY2" missing.jsonl
	assert_equal "$stderr" "ofs-replay: cannot open 'missing.jsonl': No such file or directory"
	for ((i = 0; i < 50; i++)); do record_get /stock "t$i"; done >slow.jsonl
	bg out "$OFS_BIN/ofs-replay" play --target "$LEGACY2" --rate 5 slow.jsonl
	sleep 0.5
	kill -TERM "$BG_PID"
	st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
}

# ---- the manual's examples ---------------------------------------------

# run_example NAME: run the example's commands in a copy of
# examples/replay/play, the manual's port 8082 pointing at the v2
# instance; status and output as `run` sets them.
run_example() {
	local script port=${V2##*:}
	cp "$OFS_TOP"/examples/replay/play/* .
	script=$(man_commands "$1" | sed "s/127\.0\.0\.1:8082/127.0.0.1:$port/g")
	[ -n "$script" ] || fail "example '$1' has no commands"
	run bash -c "PATH=\"$OFS_BIN:\$PATH\"; $script" 2>&1
}

@test "man page example: play-changed" {
	run_example play-changed
	assert_equal "$output" "$(man_output play-changed | sed "s/127\.0\.0\.1:8082/127.0.0.1:${V2##*:}/g")"
}

@test "man page example: play-unreachable" {
	run_example play-unreachable
	assert_equal "$output" "$(man_output play-unreachable)"
}
