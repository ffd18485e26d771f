#!/usr/bin/env bats
# tests/ofs-trace.bats: ofs-trace as a whole program: the bad-input set of
# DESIGN.md section 7 (empty input, a malformed line, a 10 MB line, binary
# garbage, a missing file, >/dev/full, SIGTERM mid-run), every span and
# log fixture of ../shared/fixtures read with exact counts, --help and
# --version, traces of the example shop (deps, a waterfall, the critical
# path of a request slowed by a latency fault), and every example of
# man/ofs-trace.1. The algorithms' own cases live in
# tests/ofs-trace-critpath.bats and tests/ofs-trace-prop.bats.
#
# One shop runs for the whole file. setup_file places three orders through
# it: a good one (TRACE_OK), one slowed by 300 ms on payments (TRACE_SLOW)
# and one failed by payments answering 500 (TRACE_FAIL). Every process a
# test starts in the background is ended in teardown.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-trace.1

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE OFS_TRACE_FILE OFS_SERVICE

FIXTURES=$OFS_TOP/../shared/fixtures

ofs_trace() {
	"$OFS_BIN/ofs-trace" "$@"
}

# place_order KEY: POST an order through the gateway; prints its trace id
# once every span of it is in spans.jsonl (the gateway's server span is the
# last one written).
place_order() {
	local h=$BATS_FILE_TMPDIR/headers.$1 t i
	curl -s -o /dev/null -D "$h" -X POST -H "Idempotency-Key: $1" \
		-d '{"sku":"book","qty":1}' "$(shop_url gateway)/orders" || return 1
	t=$(trace_of "$h")
	[ -n "$t" ] || return 1
	for ((i = 0; i < 50; i++)); do
		jq -e -s --arg t "$t" 'any(.[]; .trace_id == $t and .service == "gateway" and .kind == "server")' \
			"$SHOP_DIR/spans.jsonl" >/dev/null && break
		sleep 0.1
	done
	echo "$t"
}

setup_file() {
	shop_start
	export SPANS=$SHOP_DIR/spans.jsonl LOGS=$SHOP_DIR/logs.jsonl
	TRACE_OK=$(place_order ok-1)
	place_order ok-2 >/dev/null
	shop_fault payments-1 '{"latency_ms":300}'
	shop_fault payments-2 '{"latency_ms":300}'
	TRACE_SLOW=$(place_order slow-1)
	shop_unfault payments-1
	shop_unfault payments-2
	shop_fault payments-1 '{"status":500}'
	shop_fault payments-2 '{"status":500}'
	TRACE_FAIL=$(place_order fail-1)
	shop_unfault payments-1
	shop_unfault payments-2
	export TRACE_OK TRACE_SLOW TRACE_FAIL
	[ -n "$TRACE_OK" ] && [ -n "$TRACE_SLOW" ] && [ -n "$TRACE_FAIL" ]
}

teardown_file() {
	shop_stop
}

teardown() {
	local pid i
	if [ -f "$BATS_TEST_TMPDIR/pids" ]; then
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null || continue
			for ((i = 0; i < 50; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/pids"
	fi
}

# records_of TEXT: the JSON Lines in TEXT as one JSON array.
records_of() {
	jq -s -c . <<<"$1"
}

# span_line N [TRACE]: a valid native span record, the Nth of a trace.
span_line() {
	local t=${2:-4bf92f3577b34da6a3ce929d0e0e4736}
	printf '{"type":"span","ts":"2026-11-22T02:31:00.%06dZ","trace_id":"%s","span_id":"%016x","service":"svc","name":"op","kind":"server","start_ns":"%d","duration_ms":%d,"status":"ok"}\n' \
		"$1" "$t" "$((0x1000 + $1))" "$((1795321860000000000 + $1 * 1000))" "$1"
}

# start_sink DIR: an HTTP server on a free port of 127.0.0.1 that answers
# every POST 200 and keeps each request's path and (gunzipped) body in DIR;
# sets SINK_URL, and teardown ends it.
start_sink() {
	local d=$1 i
	python3 -c '
import gzip, http.server, os, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        H.n += 1
        with open(os.path.join(d, "req-%04d.json" % H.n), "wb") as f:
            f.write(body)
        with open(os.path.join(d, "path-%04d" % H.n), "w") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()' "$d" >"$d/port" 2>"$d/sink.err" 3>&- &
	echo "$!" >>"$BATS_TEST_TMPDIR/pids"
	for ((i = 0; i < 50; i++)); do
		[ -s "$d/port" ] && break
		sleep 0.1
	done
	[ -s "$d/port" ] || fail "the sink did not start: $(cat "$d/sink.err")"
	SINK_URL=http://127.0.0.1:$(cat "$d/port")
}

# on_shop TEXT: TEXT with the paths of the manual's examples pointed at
# this file's shop, programs and the test's own directory.
on_shop() {
	local t=$BATS_TEST_TMPDIR
	sed -e "s|bin/shopd|$OFS_BIN/shopd|g" -e "s|/tmp/shop|$SHOP_DIR|g" \
		-e "s|/tmp/nightly|$t/nightly|g" -e "s|/tmp/report|$t/report|g" \
		-e "s|/var/spool/ofs-trace|$t/spool|g" \
		-e "s|http://localhost:4318|${SINK_URL:-http://127.0.0.1:1}|g" <<<"$1"
}

# run_example NAME: run the example's commands in the test's directory
# with ofs-trace first on PATH; the status, output and stderr land in run's.
run_example() {
	local cmd
	cmd=$(on_shop "$(man_commands "$1")")
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr env PATH="$OFS_BIN:$PATH" trace="${trace:-}" bash -c "set -eo pipefail; $cmd"
}

# ---- the command line ------------------------------------------------------

@test "--help, --version, and misuse exits 2 with a suggestion" {
	run -0 ofs_trace --help
	assert_line --index 0 "usage: ofs-trace [-h] command [argument ...]"
	local c
	for c in convert stats show tree critical-path deps select logs join log exec span ctx export; do
		assert_line --regexp "^  $c +[a-z]"
	done
	for c in convert stats show tree critical-path deps select logs join log exec span ctx export; do
		run -0 ofs_trace "$c" --help
		assert_line --index 0 --partial "usage: ofs-trace $c ["
	done
	# Every command that reads spans or logs has --strict.
	for c in convert stats show tree critical-path deps select logs join export; do
		run -0 ofs_trace "$c" --help
		assert_output --partial -- "--strict"
	done
	run -0 ofs_trace --version
	assert_output --regexp '^ofs-trace [0-9]+\.[0-9]+\.[0-9]+'
	run -2 --separate-stderr ofs_trace
	run -2 --separate-stderr ofs_trace stat
	[[ $stderr == *"did you mean 'stats'?"* ]] || fail "$stderr"
	run -2 ofs_trace convert --to xml /dev/null
	run -2 ofs_trace stats -o xml /dev/null
	run -2 ofs_trace stats --window soon /dev/null
	run -2 ofs_trace deps -o png /dev/null
	run -2 ofs_trace critical-path --top 0 /dev/null
	run -2 ofs_trace select --min-duration soon /dev/null
	run -2 ofs_trace logs --level loud /dev/null
	run -2 ofs_trace stats --bogus /dev/null
	run -2 ofs_trace show
	run -2 ofs_trace exec
	run -2 ofs_trace ctx sideways
	run -2 ofs_trace export /dev/null
}

# ---- the fixtures --------------------------------------------------------

@test "every span fixture is read by convert, with exact span counts" {
	local f n
	for f in otlp/trace.json:1 zipkin/simple-db-p6.json:5 zipkin/skew.json:4; do
		n=${f#*:}
		f=$FIXTURES/${f%:*}
		run -0 --separate-stderr ofs_trace convert --to native "$f"
		assert_equal "$stderr" ""
		assert_equal "${#lines[@]}" "$n"
		assert_jq "$(records_of "$output")" 'all(.[]; .type == "span")'
		# The same count through OTLP and Zipkin and back.
		run -0 bash -c '"$1" convert --to otlp "$2" | "$1" convert --to zipkin | "$1" convert --to native' \
			_ "$OFS_BIN/ofs-trace" "$f"
		assert_equal "${#lines[@]}" "$n"
	done
}

@test "the OTLP example trace: ids lowercased, service, kind, times" {
	run -0 ofs_trace convert --to native "$FIXTURES/otlp/trace.json"
	assert_jq "$output" '"\(.trace_id) \(.span_id) \(.parent_span_id) \(.service) \(.name) \(.kind) \(.start_ns) \(.duration_ms)"' \
		"5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 eee19b7ec3c1b173 my.service I'm a server span server 1544712660000000000 1000"
	assert_jq "$output" '.["my.span.attr"] // .attributes["my.span.attr"]' "some value"
	# One TracesData object per line, ids lowercase, nanoseconds as strings.
	run -0 ofs_trace convert --to otlp "$FIXTURES/otlp/trace.json"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.resourceSpans[0].scopeSpans[0].spans[0] | "\(.traceId) \(.spanId) \(.startTimeUnixNano) \(.endTimeUnixNano) \(.kind)"' \
		"5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 1544712660000000000 1544712661000000000 2"
	assert_jq "$output" '.resourceSpans[0].resource.attributes[] | select(.key == "service.name") | .value.stringValue' my.service
}

@test "the Zipkin fixtures: microseconds, endpoints, shared ids; zipkin out is an array per line" {
	run -0 ofs_trace convert --to native "$FIXTURES/zipkin/simple-db-p6.json"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(.trace_id | endswith("19f84f102048e047") and length == 32) | all'
	assert_jq "$r" 'map(select(.span_id == "5d532ef6fed52445"))[0] | "\(.service) \(.kind) \(.name) \(.start_ns) \(.duration_ms) \(.peer_service)"' \
		"bootifulmeters client insert 1541485537488973000 2.033 app_db"
	assert_jq "$r" 'map(select(has("parent_span_id") | not) | .span_id) | join(" ")' 19f84f102048e047
	run -0 ofs_trace convert --to zipkin "$FIXTURES/zipkin/skew.json"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" 'length' 4
	assert_jq "$output" 'map(select(.id == "74280ae0c10d8062") | "\(.kind):\(.shared // false):\(.localEndpoint.serviceName)") | sort | join(" ")' \
		"CLIENT:false:servicea SERVER:true:serviceb"
	assert_jq "$output" 'map(.timestamp) | sort | .[0]' 1470150004008761
}

@test "the OTLP log fixtures are read by logs" {
	run -0 --separate-stderr ofs_trace logs "$FIXTURES/otlp/logs.json"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '"\(.type) \(.ts) \(.level) \(.service) \(.msg) \(.trace_id) \(.span_id)"' \
		"log 2018-12-13T14:51:00.300000Z info my.service Example log record 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174"
	run -0 --separate-stderr ofs_trace logs "$FIXTURES/otlp/events.json"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '"\(.type) \(.level) \(.service)"' "log info my.service"
}

@test "deps on zipkin/simple-db-p6.json: bootifulmeters -> app_db with 4 calls" {
	run -0 ofs_trace deps "$FIXTURES/zipkin/simple-db-p6.json"
	assert_jq "$(records_of "$output")" 'map("\(.type) \(.parent)>\(.child) \(.calls) \(.errors)") | join(",")' \
		"trace.dep bootifulmeters>app_db 4 0"
}

@test "skew.json: the shared span id yields a correct tree, the skew is corrected" {
	run -0 ofs_trace tree "$FIXTURES/zipkin/skew.json"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "trace.node") | "\(.depth):\(.span_id):\(.service):\(.kind):\(.shared // false)") | join(" ")' \
		"0:bf396325699c84bf:servicea:server:false 1:74280ae0c10d8062:servicea:client:false 2:74280ae0c10d8062:serviceb:server:true 3:43210ae0c10d1234:serviceb:internal:false"
	assert_jq "$r" 'map(select(.type == "trace.node") | .orphan) | any' false
	# serviceb's clock is about 65 ms behind: its subtree is shifted into the client span.
	assert_jq "$r" 'map(select(.type == "trace.skew") | "\(.service) \(.shift_ms >= 65.441 and .shift_ms <= 65.922)") | join(",")' \
		"serviceb true"
	run -0 ofs_trace show 1e223ff1f80f1c69 "$FIXTURES/zipkin/skew.json"
	assert_output --partial "clock skew"
}

# ---- the bad-input set (DESIGN.md section 7) ---------------------------------

@test "empty input: nothing out, exit 0" {
	local c
	for c in "convert --to native" stats tree critical-path deps select; do
		run -0 --separate-stderr ofs_trace $c </dev/null
		assert_equal "$stderr" ""
		assert_output ""
	done
	: >"$BATS_TEST_TMPDIR/empty.jsonl"
	run -0 --separate-stderr ofs_trace stats "$BATS_TEST_TMPDIR/empty.jsonl"
	assert_output ""
	run -0 --separate-stderr ofs_trace logs "$BATS_TEST_TMPDIR/empty.jsonl" - </dev/null
	assert_output ""
}

@test "a malformed line: exit 3, FILE:LINE named, the rest processed; --strict stops" {
	local f=$BATS_TEST_TMPDIR/spans.jsonl
	{
		span_line 1
		echo '{"type":"span","trace_id":'
		span_line 2
		echo '{"type":"span","trace_id":"00000000000000000000000000000000","span_id":"0000000000000000"}'
		span_line 3
	} >"$f"
	run -3 --separate-stderr ofs_trace convert --to native "$f"
	[[ $stderr == *"ofs-trace: $f:2: "* ]] || fail "line 2 not named: $stderr"
	[[ $stderr == *"ofs-trace: $f:4: "* ]] || fail "line 4 not named: $stderr"
	assert_equal "$(wc -l <<<"$stderr")" 2
	assert_jq "$(records_of "$output")" 'map(.duration_ms) | join(",")' "1,2,3"
	run -3 --separate-stderr ofs_trace stats "$f"
	assert_jq "$output" '"\(.service) \(.name) \(.count) \(.max_ms)"' "svc op 3 3"
	# The same from standard input names it "-"... or "<stdin>"; either way line 2.
	run -3 --separate-stderr bash -c '"$1" convert --to native <"$2"' _ "$OFS_BIN/ofs-trace" "$f"
	[[ $stderr == *":2: "* ]] || fail "line 2 not named: $stderr"
	assert_equal "${#lines[@]}" 3
	# --strict stops at the first bad line.
	run -3 --separate-stderr ofs_trace convert --to native --strict "$f"
	[[ $stderr == *"$f:2: "* ]] || fail "line 2 not named: $stderr"
	refute_output --partial '"duration_ms":2'
}

@test "a line in no known format is reported by file and line" {
	local f=$BATS_TEST_TMPDIR/mixed.jsonl
	{
		span_line 1
		echo '{"type":"health.check","ts":"2026-11-22T02:31:00.000000Z"}'
		echo '[1,2,3]'
		span_line 2
	} >"$f"
	run -3 --separate-stderr ofs_trace convert --to native "$f"
	[[ $stderr == *"$f:2: "* && $stderr == *"$f:3: "* ]] || fail "$stderr"
	assert_equal "${#lines[@]}" 2
}

@test "a 10 MB line is rejected by itself; the lines around it are processed" {
	local f=$BATS_TEST_TMPDIR/big.jsonl
	{
		span_line 1
		printf '{"type":"span","name":"'
		head -c 10485760 /dev/zero | tr '\0' x
		printf '"\n'
		span_line 2
	} >"$f"
	run -3 --separate-stderr ofs_trace convert --to native "$f"
	[[ $stderr == "ofs-trace: $f:2: "* ]] || fail "line 2 not named: ${stderr:0:300}"
	[ "${#stderr}" -lt 2000 ] || fail "the message repeats the line: ${#stderr} bytes"
	assert_jq "$(records_of "$output")" 'map(.duration_ms) | join(",")' "1,2"
}

@test "binary garbage is rejected line by line, never crashes" {
	local f=$BATS_TEST_TMPDIR/garbage
	printf '\x00\x01\x02\xff\xfe\x80garbage\n\x7fELF\x02\x01\x01\x00\n\xc3\x28\n' >"$f"
	local c
	for c in "convert --to native" stats tree deps; do
		run -3 --separate-stderr ofs_trace $c "$f"
		[[ $stderr == *"$f:1: "* && $stderr == *"$f:2: "* && $stderr == *"$f:3: "* ]] ||
			fail "$c: not every line reported: $stderr"
		assert_output ""
	done
	run -3 --separate-stderr ofs_trace logs "$f"
	[[ $stderr == *"$f:1: "* ]] || fail "logs: $stderr"
	# gzip garbage: a truncated gzip stream is an error, not a crash.
	span_line 1 | gzip | head -c 20 >"$BATS_TEST_TMPDIR/cut.gz"
	run --separate-stderr ofs_trace convert --to native "$BATS_TEST_TMPDIR/cut.gz"
	[ "$status" -eq 3 ] || [ "$status" -eq 4 ] || fail "status $status: $stderr"
	[[ $stderr == *"cut.gz"* ]] || fail "the file is not named: $stderr"
}

@test "gzip input is read transparently; -o FILE.gz writes gzip" {
	{ span_line 1; span_line 2; } | gzip >"$BATS_TEST_TMPDIR/in.jsonl.gz"
	run -0 ofs_trace convert --to native -o "$BATS_TEST_TMPDIR/out.jsonl.gz" "$BATS_TEST_TMPDIR/in.jsonl.gz"
	assert_output ""
	run -0 bash -c 'gzip -dc "$1" | jq -r .duration_ms' _ "$BATS_TEST_TMPDIR/out.jsonl.gz"
	assert_output "$(printf '1\n2')"
}

@test "a missing file is a usage error (2) naming it, quoted" {
	local f=$BATS_TEST_TMPDIR/none.jsonl c
	for c in "convert --to native" stats tree critical-path deps select logs; do
		run -2 --separate-stderr ofs_trace $c "$f"
		[[ $stderr == *"cannot open '$f': No such file or directory"* ]] || fail "$c: $stderr"
		assert_output ""
	done
	run -2 --separate-stderr ofs_trace join "$f" "$LOGS"
	[[ $stderr == *"'$f': No such file or directory"* ]] || fail "join: $stderr"
}

@test "a failed write (>/dev/full) exits 4" {
	local c
	for c in "convert --to native" stats tree critical-path deps select; do
		run -4 --separate-stderr bash -c '"$1" $2 "$3" >/dev/full' _ "$OFS_BIN/ofs-trace" "$c" "$SPANS"
		[[ $stderr == *"No space left on device"* ]] || fail "$c: $stderr"
	done
	run -4 bash -c '"$1" show "$2" "$3" >/dev/full' _ "$OFS_BIN/ofs-trace" "$TRACE_OK" "$SPANS"
	run -4 bash -c '"$1" logs "$2" >/dev/full' _ "$OFS_BIN/ofs-trace" "$LOGS"
	run -4 bash -c '"$1" log info hello >/dev/full' _ "$OFS_BIN/ofs-trace"
}

@test "a closed pipe ends ofs-trace quietly" {
	local f=$BATS_TEST_TMPDIR/many.jsonl
	yes "$(span_line 1)" | head -n 20000 >"$f"
	run -0 --separate-stderr bash -c 'set -o pipefail; "$1" convert --to native "$2" | head -1' _ "$OFS_BIN/ofs-trace" "$f"
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
}

@test "SIGTERM mid-run of stats - on a fifo: exit 143, promptly, whole lines only" {
	local fifo=$BATS_TEST_TMPDIR/fifo out=$BATS_TEST_TMPDIR/stats.jsonl
	mkfifo "$fifo"
	"$OFS_BIN/ofs-trace" stats - <"$fifo" >"$out" 2>"$out.err" 3>&- &
	local pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
	exec 4>"$fifo"
	local i
	for ((i = 1; i <= 100; i++)); do span_line "$i" >&4; done
	sleep 0.5
	kill -0 "$pid" || fail "stats ended before SIGTERM: $(cat "$out.err")"
	kill -TERM "$pid"
	local t0=$SECONDS st=0
	wait "$pid" || st=$?
	exec 4>&-
	assert_equal "$st" 143
	[ $((SECONDS - t0)) -le 3 ] || fail "took $((SECONDS - t0)) s to stop"
	# Whatever was written is whole records.
	if [ -s "$out" ]; then
		jq -e -s 'all(.[]; .type == "trace.stats")' "$out" >/dev/null || fail "torn output: $(cat "$out")"
	fi
}

# ---- analysis on small inputs with known answers ------------------------------

@test "stats: exact counts, error rate and percentiles within 1%" {
	local f=$BATS_TEST_TMPDIR/d.jsonl i
	for ((i = 1; i <= 100; i++)); do
		printf '{"type":"span","ts":"2026-11-22T02:31:00.000000Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"%016x","service":"%s","name":"GET /x","kind":"server","start_ns":"%d","duration_ms":%d,"status":"%s","http_status":%d}\n' \
			"$((0x100 + i))" "$([ $((i % 2)) = 0 ] && echo a || echo b)" "$((1795321860000000000 + i * 10000000))" "$i" \
			"$([ $((i % 10)) = 0 ] && echo error || echo ok)" "$([ $((i % 10)) = 0 ] && echo 500 || echo 200)"
	done >"$f"
	run -0 ofs_trace stats "$f"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map("\(.type) \(.service) \(.name) \(.count) \(.errors) \(.error_rate) \(.max_ms) \(.mean_ms)") | join(",")' \
		"trace.stats a GET /x 50 10 0.2 100 51,trace.stats b GET /x 50 0 0 99 50"
	# a: 2, 4, ..., 100: p50 50, p90 90, p99 100 (1% relative error allowed).
	assert_jq "$r" '.[0] | (.p50_ms - 50 | fabs) <= 1 and (.p90_ms - 90 | fabs) <= 1 and (.p99_ms - 100 | fabs) <= 1 and .p95_ms <= .p99_ms'
	# Throughput: 100 spans between the first start and the last end.
	assert_jq "$r" '.[0].throughput_per_s > 0'
	run -0 ofs_trace stats --by http_status "$f"
	assert_jq "$(records_of "$output")" 'map("\(.service) \(.by) \(.count)") | join(",")' \
		"a 200 40,a 500 10,b 200 50"
	run -0 ofs_trace stats -o text "$f"
	assert_line --index 1 --regexp '^a +GET /x +50 '
}

# ---- the example shop (acceptance 6) ---------------------------------------

@test "shop: deps shows gateway -> orders -> payments, inventory, shipping with call counts" {
	run -0 ofs_trace deps "$SPANS"
	local r calls
	r=$(records_of "$output")
	assert_jq "$r" 'map("\(.parent)>\(.child)") | sort | join(" ")' \
		"gateway>orders orders>inventory orders>payments orders>shipping"
	calls=$(jq -s 'map(select(.service == "orders" and .kind == "server")) | length' "$SPANS")
	assert_jq "$r" '.[] | select(.parent == "gateway") | .calls' "$calls"
	assert_jq "$r" '.[] | select(.child == "payments") | .errors >= 1 and .p99_ms >= 290'
	assert_jq "$r" '.[] | select(.child == "shipping") | .errors' 0
	run -0 ofs_trace deps -o dot "$SPANS"
	assert_line --index 0 --regexp '^digraph'
	assert_output --partial '"orders" -> "payments"'
	run -0 ofs_trace deps -o mermaid "$SPANS"
	assert_line --index 0 --regexp '^(flowchart|graph)'
	assert_equal "$(grep -c -- '-->' <<<"$output")" 4
}

@test "shop: show prints a waterfall of one order" {
	run -0 --separate-stderr ofs_trace show "$TRACE_OK" "$SPANS"
	local s
	for s in gateway orders payments inventory shipping; do
		assert_output --partial "$s"
	done
	assert_output --partial "POST /orders"
	assert_output --partial "POST /charge"
	# One line per span (9), each with a duration in ms; no skew on one host.
	assert_equal "$(grep -cE '^ *[0-9]+[.][0-9]+ ?ms ' <<<"$output")" 9
	refute_output --partial "clock skew"
	# Depth-first: the gateway's server span first, the order's spans under it.
	run -0 bash -c '"$1" show "$2" "$3" | grep -n -m1 -E "POST /charge"' _ "$OFS_BIN/ofs-trace" "$TRACE_OK" "$SPANS"
	run -1 --separate-stderr ofs_trace show 0123456789abcdef0123456789abcdef "$SPANS"
}

@test "shop: tree of one order: 9 nodes, depths, self time" {
	run -0 ofs_trace tree --trace "$TRACE_OK" "$SPANS"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "trace.node")) | length' 9
	assert_jq "$r" 'map("\(.depth):\(.service):\(.kind):\(.name)") | .[0:3] | join(" ")' \
		"0:gateway:server:POST /orders 1:gateway:client:POST /orders 2:orders:server:POST /orders"
	assert_jq "$r" 'map(select(.service == "payments" and .kind == "server") | .depth) | join(",")' 4
	assert_jq "$r" 'all(.[]; .self_ms >= 0 and .self_ms <= .duration_ms + 0.001 and .orphan == false and .trace_id == "'"$TRACE_OK"'")'
	assert_jq "$r" '.[0] | .start_offset_ms == 0 and .parent_span_id == null'
}

@test "shop: the critical path of the request slowed on payments goes through payments" {
	run -0 ofs_trace critical-path --trace "$TRACE_SLOW" "$SPANS"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'length' 1
	assert_jq "$r" '.[0] | "\(.type) \(.trace_id)"' "trace.critical $TRACE_SLOW"
	assert_jq "$r" '.[0].sections | map(select(.service == "payments")) | map(.ms) | add >= 290'
	# The sections tile the root span: their sum is the total, the root's duration.
	assert_jq "$r" '.[0] | (.sections | map(.ms) | add) - .total_ms | fabs < 0.01'
	local root
	root=$(jq -r --arg t "$TRACE_SLOW" 'select(.trace_id == $t and (has("parent_span_id") | not)) | .duration_ms' "$SPANS")
	assert_jq "$r" ".[0].total_ms - $root | fabs < 0.01"
	assert_jq "$r" '.[0].sections | map(.start_offset_ms) | . == sort'
	# Across all traces, payments' charge is the top operation on the critical path.
	run -0 ofs_trace critical-path --top 1 "$SPANS"
	assert_jq "$(records_of "$output")" 'map(select(.type == "trace.critical_top") | "\(.service) \(.name)") | join(",")' \
		"payments POST /charge"
}

@test "shop: select keeps matching spans, or whole traces" {
	run -0 ofs_trace select --error "$SPANS"
	assert_jq "$(records_of "$output")" 'map(.trace_id) | unique | join(" ")' "$TRACE_FAIL"
	run -0 ofs_trace select --error --traces "$SPANS"
	local n
	n=$(jq -s --arg t "$TRACE_FAIL" 'map(select(.trace_id == $t)) | length' "$SPANS")
	assert_equal "${#lines[@]}" "$n"
	run -0 ofs_trace select --service payments --min-duration 250ms "$SPANS"
	assert_jq "$(records_of "$output")" 'map("\(.trace_id) \(.service) \(.kind)") | unique | join(",")' \
		"$TRACE_SLOW payments server"
	run -0 ofs_trace select --service nosuch "$SPANS"
	assert_output ""
}

@test "shop: logs of one trace, and join attaches them to their spans" {
	run -0 ofs_trace logs --trace "$TRACE_OK" "$LOGS"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(.service) | sort | join(" ")' "gateway inventory orders payments shipping"
	assert_jq "$r" 'map(.ts) | . == sort'
	run -0 ofs_trace logs --trace "$TRACE_FAIL" --level error "$LOGS"
	assert_jq "$(records_of "$output")" 'map(.level) | unique | join(" ")' error
	run -0 bash -c '"$1" select --traces --error "$2" >"$4/fail.jsonl" && "$1" join "$4/fail.jsonl" "$3"' \
		_ "$OFS_BIN/ofs-trace" "$SPANS" "$LOGS" "$BATS_TEST_TMPDIR"
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "trace.join" and .service == "payments" and .name == "POST /charge") | .logs | length) | add >= 1'
	assert_jq "$r" '.[-1].type' trace.join_summary
}

# ---- the manual's examples ---------------------------------------------------

@test "every example of the manual is named and run by a test of this file" {
	check_examples_named
}

@test "man page example: order" {
	run_example order
	assert_success
	local s
	for s in gateway orders payments inventory shipping; do
		assert_output --partial "$s"
	done
	assert_equal "$(grep -cE '^ *[0-9]+[.][0-9]+ ?ms ' <<<"$output")" 9
}

@test "man page example: stats" {
	run_example stats
	assert_success
	local s
	for s in gateway orders payments inventory shipping; do
		assert_line --regexp "^$s +POST /"
	done
}

@test "man page example: deps" {
	run_example deps
	assert_success
	assert_output "$(man_output deps)"
	run -0 cat "$BATS_TEST_TMPDIR/deps.mmd"
	assert_line --index 0 --regexp '^(flowchart|graph)'
	assert_equal "$(grep -c -- '-->' <<<"$output")" 4
}

@test "man page example: critical" {
	run_example critical
	assert_success
	assert_line --index 0 --regexp '^payments POST /charge 0\.[0-9]+'
	[ "${#lines[@]}" -le 3 ] || fail "more than 3 lines: $output"
}

@test "man page example: errors" {
	run_example errors
	assert_success
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(.trace_id) | unique | join(" ")' "$TRACE_FAIL"
	assert_jq "$r" 'map(select(.status == "error") | .service) | unique | index("payments") != null'
}

@test "man page example: logs" {
	trace=$TRACE_OK run_example logs
	assert_success
	assert_equal "${#lines[@]}" 5
	assert_equal "$(cut -d' ' -f1 <<<"$output" | sort | tr '\n' ' ')" "gateway inventory orders payments shipping "
}

@test "man page example: cron" {
	echo "a,b" >"$BATS_TEST_TMPDIR/report.csv"
	run_example cron
	assert_success
	assert_output "$(man_output cron)"
	[ -f "$BATS_TEST_TMPDIR/report.csv.gz" ] || fail "the job did not run"
	local spans logs
	spans=$(records_of "$(cat "$BATS_TEST_TMPDIR/nightly-spans.jsonl")")
	logs=$(records_of "$(cat "$BATS_TEST_TMPDIR/nightly-logs.jsonl")")
	assert_jq "$spans" 'map("\(.name):\(.service):\((.attributes // .).exit_code)") | sort | join(" ")' "compress:nightly:0 nightly:nightly:0"
	assert_jq "$spans" 'map(.trace_id) | unique | length' 1
	assert_jq "$logs" '.[0] | "\(.type) \(.level) \(.service) \(.msg) \(.rows | type)"' "log info nightly report started number"
	# The log was written inside the nightly span.
	assert_jq "$(jq -c -n --argjson s "$spans" --argjson l "$logs" '{s: $s, l: $l}')" \
		'.l[0].trace_id == .s[0].trace_id and (.l[0].span_id as $p | .s | map(select(.name == "nightly")) | .[0].span_id == $p)'
}

@test "man page example: export" {
	start_sink "$BATS_TEST_TMPDIR"
	run_example export
	assert_success
	local n
	n=$(wc -l <"$SPANS")
	assert_jq "$output" '"\(.type) \(.spans) \(.sent) \(.failed) \(.spooled)"' "trace.export $n $n 0 0"
	run -0 cat "$BATS_TEST_TMPDIR"/path-*
	assert_line --index 0 /v1/traces
	run -0 bash -c 'jq -s "map(.resourceSpans[].scopeSpans[].spans | length) | add" "$1"/req-*.json' _ "$BATS_TEST_TMPDIR"
	assert_output "$n"
	[ -z "$(ls "$BATS_TEST_TMPDIR/spool" 2>/dev/null)" ] || fail "the spool is not empty"
}

@test "man page example: export, with the backend down, spools, and drains later" {
	SINK_URL=http://127.0.0.1:1 run_example export
	assert_success
	local n
	n=$(wc -l <"$SPANS")
	assert_jq "$output" '"\(.sent) \(.failed) \(.spooled)"' "0 0 $n"
	[[ $stderr == *"cannot reach"* ]] || fail "the dead backend is not reported: $stderr"
	[ -n "$(ls "$BATS_TEST_TMPDIR/spool")" ] || fail "nothing was spooled"
	start_sink "$BATS_TEST_TMPDIR"
	run -0 ofs_trace export --otlp "$SINK_URL" --spool "$BATS_TEST_TMPDIR/spool" </dev/null
	assert_jq "$output" '"\(.drained) \(.failed)"' "$n 0"
	run -0 bash -c 'jq -s "map(.resourceSpans[].scopeSpans[].spans | length) | add" "$1"/req-*.json' _ "$BATS_TEST_TMPDIR"
	assert_output "$n"
	[ -z "$(ls "$BATS_TEST_TMPDIR/spool")" ] || fail "the spool is not empty after draining"
}

@test "man page example: ctx" {
	run_example ctx
	assert_success
	assert_output "$(man_output ctx)"
	# What ctx new and child print is a valid version-00 traceparent.
	run -0 ofs_trace ctx new
	assert_output --regexp '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[13]$'
	local tp=$output
	run -0 env TRACEPARENT="$tp" "$OFS_BIN/ofs-trace" ctx child
	assert_output --regexp "^00-${tp:3:32}-[0-9a-f]{16}-${tp:53:2}\$"
	[ "${output:36:16}" != "${tp:36:16}" ] || fail "the child has its parent's span id"
	run -1 ofs_trace ctx parse 00-00000000000000000000000000000000-00f067aa0ba902b7-01
	assert_jq "$output" '"\(.type) \(.valid) \(.reason | length > 0)"' "trace.ctx false true"
}

# ---- the README and the demo -------------------------------------------------

@test "the README's ofs-trace session works as written" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/bin"
	cp "$OFS_BIN/shopd" "$OFS_BIN/ofs-trace" "$tree/bin/"
	ln -s "$OFS_TOP/examples" "$tree/examples"
	awk '/^## ofs-trace/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md" | sed "s|/tmp/shop|$BATS_TEST_TMPDIR/shop|g" >"$tree/session.sh"
	grep -q 'ofs-trace' "$tree/session.sh" || fail "no ofs-trace session found in README.md"
	cd "$tree"
	run -0 bash -e -o pipefail session.sh
	"$OFS_BIN/shopd" stop --dir "$BATS_TEST_TMPDIR/shop" >/dev/null 2>&1 || true
	assert_line --regexp '^SERVICE +NAME +COUNT'
	assert_line --regexp '^payments +POST /charge +4 '
	assert_line --regexp '^flowchart'
	assert_line --regexp '^ +[0-9.]+ ?ms .*payments POST /charge 3[0-9][0-9][.][0-9]+ ?ms'
	assert_line --regexp '^3[0-9][0-9] ms  payments POST /charge$'
	run -0 bash -c 'gzip -dc "$1" | jq -s "map(.resourceSpans[].scopeSpans[].spans[]) | length"' \
		_ "$BATS_TEST_TMPDIR/shop/slow-otlp.jsonl.gz"
	assert_output 9
}

@test "make demo shows a waterfall, the dependencies and the critical path of a slow request" {
	run -0 bash "$OFS_TOP/examples/demo.sh"
	assert_line "== ofs-trace show: the same trace as a waterfall =="
	assert_line --regexp '^  trace [0-9a-f]{32}: 9 spans'
	assert_line "== ofs-trace deps: which service calls which =="
	assert_line --regexp '^  +(n[0-9]+|gateway).* --> '
	assert_line "== A slow request: payments answers after 300 ms =="
	assert_line --regexp '^  +3[0-9][0-9][.][0-9]+ ms +payments POST /charge$'
	assert_line "  the critical path runs through payments: that is where the time went"
	assert_line "demo: done"
}
