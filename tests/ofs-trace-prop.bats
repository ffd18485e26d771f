#!/usr/bin/env bats
# tests/ofs-trace-prop.bats: ofs-trace's propagation and export commands:
# exec (exit statuses and signals pass through, TRACEPARENT for the child,
# {{traceparent}} in arguments, nested spans, forwarded SIGTERM), ctx,
# log and span, and export against a local sink (tests/bench/sink.c): the
# OTLP and Zipkin bodies, retries on 503 and none on 400, and a spool that
# fills while the backend is down and drains, without loss or duplicates,
# once it is back; and the log commands: logs (merge by ts, filters,
# OTLP logs) and join.

load helpers

unset TRACEPARENT TRACESTATE OFS_TRACE_FILE OFS_SERVICE

T=$OFS_BIN/ofs-trace
P_TRACE=0af7651916cd43dd8448eb211c80319c
P_SPAN=b7ad6b7169203331
P_TP=00-$P_TRACE-$P_SPAN-01

# The sink is built with the benchmark programs; when this build has not
# made it, build it here from the same flags against the same libcommon.a.
setup_file() {
	local build=${OFS_BUILD:-$OFS_TOP/build}
	SINK=$build/tests/bench/sink
	if [ ! -x "$SINK" ]; then
		SINK=$BATS_FILE_TMPDIR/sink
		# shellcheck disable=SC2046  # the flags are words
		(cd "$OFS_TOP" && $(cat "$build/flags") -o "$SINK" tests/bench/sink.c \
			"$build/libcommon.a" $(pkg-config --libs libcjson libcurl zlib) -lm) || return 1
	fi
	export SINK
	if (: <>/dev/tcp/127.0.0.1/1) 2>/dev/null; then
		echo "port 1 on 127.0.0.1 accepts connections; the tests need it closed" >&2
		return 1
	fi
}

setup() {
	W=$BATS_TEST_TMPDIR
	SINK_PID=
}

teardown() {
	sink_stop
}

# sink_start [SCRIPT]: run the sink into $W/sink, set PORT and URL.
sink_start() {
	mkdir -p "$W/sink"
	rm -f "$W/sink"/*
	"$SINK" "$W/sink" "$@" &
	SINK_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$W/sink/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$W/sink/port")
	URL=http://127.0.0.1:$PORT
}

sink_stop() {
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
		SINK_PID=
	fi
}

# make_spans N FILE: N native spans of one trace.
make_spans() {
	local i
	for i in $(seq "$1"); do
		TRACEPARENT=$P_TP "$T" span --name "op$i" --start "1700000000.$i" --end 1700000002 \
			--out "$2" || return 1
	done
}

requests() { ls "$W/sink" | grep -c '\.meta$' || true; }

# ---- exec ---------------------------------------------------------------

@test "exec: the exit status passes through" {
	local code
	for code in 0 1 42 255; do
		run -"$code" "$T" exec -- sh -c "exit $code"
	done
}

@test "exec: death by signal becomes 128+N" {
	run -137 "$T" exec -- sh -c 'kill -KILL $$'
	run -143 "$T" exec -- sh -c 'kill -TERM $$'
	run -130 "$T" exec -- sh -c 'kill -INT $$'
}

@test "exec: a command that cannot run gives 127 and a message" {
	run -127 --separate-stderr "$T" exec -- "$W/no-such-command"
	assert_output ''
	[[ $stderr == *"cannot run '$W/no-such-command': No such file or directory"* ]]
}

@test "exec: the child runs under the parent's trace with the new span as parent" {
	OFS_TRACE_FILE=$W/spans.jsonl TRACEPARENT=$P_TP \
		run -0 "$T" exec --name step -- sh -c 'echo "$TRACEPARENT"'
	local tp=$output
	[[ $tp =~ ^00-$P_TRACE-[0-9a-f]{16}-01$ ]]
	"$T" ctx parse "$tp" >/dev/null
	[ "$(wc -l <"$W/spans.jsonl")" -eq 1 ]
	run -0 jq -r '[.type, .trace_id, .span_id, .parent_span_id, .name, .status] | join(" ")' \
		"$W/spans.jsonl"
	assert_output "span $P_TRACE ${tp:36:16} $P_SPAN step ok"
}

@test "exec: without TRACEPARENT the span is a new root" {
	run -0 "$T" exec --out "$W/s.jsonl" -- sh -c 'echo "$TRACEPARENT"'
	[[ $output =~ ^00-([0-9a-f]{32})-([0-9a-f]{16})-01$ ]]
	local want="${BASH_REMATCH[1]} ${BASH_REMATCH[2]} false"
	run -0 jq -r '[.trace_id, .span_id, (has("parent_span_id"))] | join(" ")' "$W/s.jsonl"
	assert_output "$want"
}

@test "exec: {{traceparent}} in arguments is the child's TRACEPARENT" {
	TRACEPARENT=$P_TP run -0 "$T" exec -- sh -c 'echo "$1 $TRACEPARENT"' sh 'tp={{traceparent}}!'
	[[ $output =~ ^tp=(00-$P_TRACE-[0-9a-f]{16}-01)!\ (.*)$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}

@test "exec: TRACESTATE is passed on" {
	TRACEPARENT=$P_TP TRACESTATE='congo=t61rcWkgMzE, rojo=00f067aa0ba902b7' \
		run -0 "$T" exec -- sh -c 'echo "$TRACESTATE"'
	assert_output 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'
}

@test "exec: nested exec gives a parent and child span" {
	OFS_TRACE_FILE=$W/spans.jsonl TRACEPARENT=$P_TP \
		run -0 "$T" exec --name outer -- "$T" exec --name inner -- true
	run -0 jq -sr 'map({(.name): .}) | add |
		[.outer.trace_id == .inner.trace_id, .outer.trace_id,
		 .inner.parent_span_id == .outer.span_id, .outer.parent_span_id] | join(" ")' \
		"$W/spans.jsonl"
	assert_output "true $P_TRACE true $P_SPAN"
}

@test "exec: the span records command, args, pid and exit code or signal" {
	run -3 "$T" exec --out "$W/s.jsonl" --service cron -- sh -c 'exit 3' x
	run -137 "$T" exec --out "$W/s.jsonl" -- sh -c 'kill -KILL $$'
	run -0 jq -c '[.service, .command, .args, (.pid | type), .exit_code, .signal,
		.status]' "$W/s.jsonl"
	assert_line -n 0 '["cron","sh",["-c","exit 3","x"],"number",3,null,"error"]'
	assert_line -n 1 '["ofs-trace","sh",["-c","kill -KILL $$"],"number",null,9,"error"]'
}

@test "exec: with neither --out nor OFS_TRACE_FILE nothing is written" {
	run -0 --separate-stderr "$T" exec -- true
	assert_output ''
	[ -z "$stderr" ]
}

@test "exec: SIGTERM is forwarded to the child" {
	"$T" exec -- sh -c 'trap "echo got-term >\"$0\"; exit 7" TERM; touch "$0.up"
		while :; do sleep 0.05; done' "$W/trap" 3>&- &
	local pid=$! i
	for i in $(seq 100); do
		[ -e "$W/trap.up" ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
	[ "$(cat "$W/trap")" = got-term ]
}

# ---- ctx --------------------------------------------------------------------

@test "ctx: new and child make valid headers" {
	run -0 "$T" ctx new
	[[ $output =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-01$ ]]
	run -0 "$T" ctx child "$P_TP"
	[[ $output =~ ^00-$P_TRACE-([0-9a-f]{16})-01$ ]]
	[ "${BASH_REMATCH[1]}" != "$P_SPAN" ]
	TRACEPARENT=$P_TP run -0 "$T" ctx child
	[[ $output =~ ^00-$P_TRACE-[0-9a-f]{16}-01$ ]]
	run -1 "$T" ctx child 00-xyz
}

@test "ctx: parse a valid header" {
	run -0 "$T" ctx parse "00-$P_TRACE-$P_SPAN-03"
	run -0 jq -c '[.type, .version, .trace_id, .span_id, .flags, .sampled, .valid, .reason]' \
		<<<"$output"
	assert_output "[\"trace.ctx\",\"00\",\"$P_TRACE\",\"$P_SPAN\",\"03\",true,true,null]"
}

@test "ctx: parse says why a header is invalid and exits 1" {
	local -a cases=(
		"ff-$P_TRACE-$P_SPAN-01|version ff is invalid"
		"00-0AF7651916CD43DD8448EB211C80319C-$P_SPAN-01|trace-id must be lowercase"
		"00-00000000000000000000000000000000-$P_SPAN-01|trace-id is all zeros"
		"00-$P_TRACE-0000000000000000-01|parent-id is all zeros"
		"00-$P_TRACE-$P_SPAN-01-extra|version 00 must be exactly 55 characters"
		"00-$P_TRACE-$P_SPAN|too short"
		"|empty"
	)
	local c
	for c in "${cases[@]}"; do
		run -1 "$T" ctx parse "${c%%|*}"
		run -0 jq -r '[.valid, .reason] | join("|")' <<<"$output"
		assert_output "false|${c#*|}"
	done
	run -0 "$T" ctx parse "01-$P_TRACE-$P_SPAN-01-future"
}

# ---- log ----------------------------------------------------------------

@test "log: one record with the trace context and typed fields" {
	TRACEPARENT=$P_TP OFS_SERVICE=cron run -0 "$T" log warn 'disk nearly full' \
		used=93.5 n=3 ok=true id=007 path=/var
	run -0 jq -c '[.type, .trace_id, .span_id, .level, .service, .msg, .used, .n, .ok, .id, .path]' \
		<<<"$output"
	assert_output "[\"log\",\"$P_TRACE\",\"$P_SPAN\",\"warn\",\"cron\",\"disk nearly full\",93.5,3,true,\"007\",\"/var\"]"
}

@test "log: appends to OFS_TRACE_FILE" {
	OFS_TRACE_FILE=$W/t.jsonl run -0 "$T" log info one
	OFS_TRACE_FILE=$W/t.jsonl run -0 "$T" log error two --service api
	assert_output ''
	run -0 jq -r '[.level, .msg, .service] | join(" ")' "$W/t.jsonl"
	assert_output $'info one \nerror two api'
}

@test "log: misuse exits 2" {
	run -2 "$T" log loud hello
	run -2 "$T" log info
	run -2 "$T" log info hi level=x
	run -2 "$T" log info hi novalue
}

# ---- span ---------------------------------------------------------------

@test "span: a one-shot span under TRACEPARENT" {
	TRACEPARENT=$P_TP run -0 "$T" span --name deploy --service ci --start 2023-11-14T22:13:20Z \
		--end 1700000002.5 --status error --attr attempt=2
	run -0 jq -c '[.trace_id, .parent_span_id, .service, .name, .start_ns, .duration_ms, .status,
		.attempt]' <<<"$output"
	assert_output "[\"$P_TRACE\",\"$P_SPAN\",\"ci\",\"deploy\",\"1700000000000000000\",2500,\"error\",2]"
}

@test "span: --print-traceparent names the span written" {
	run -0 "$T" span --name s --start now --end now --out "$W/s.jsonl" --print-traceparent
	[[ $output =~ ^00-([0-9a-f]{32})-([0-9a-f]{16})-01$ ]]
	local want="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	run -0 jq -r '.trace_id + " " + .span_id' "$W/s.jsonl"
	assert_output "$want"
}

@test "span: misuse exits 2" {
	run -2 "$T" span --start now --end now
	run -2 "$T" span --name x --start 2023-01-02T00:00:00Z --end 2023-01-01T00:00:00Z
	run -2 "$T" span --name x --start yesterday --end now
}

# ---- export ---------------------------------------------------------------

@test "export: the body is OTLP/HTTP JSON at /v1/traces" {
	make_spans 25 "$W/in.jsonl"
	sink_start
	run -0 "$T" export --batch 10 --otlp "$URL" "$W/in.jsonl"
	run -0 jq -c '[.batches, .spans, .sent, .retried, .spooled, .drained, .failed]' <<<"$output"
	assert_output '[3,25,25,0,0,0,0]'
	[ "$(requests)" -eq 3 ]
	grep -qx 'path /v1/traces' "$W/sink/req-0000.meta"
	grep -qx 'content-type application/json' "$W/sink/req-0000.meta"
	run -0 jq -rs '[.[].resourceSpans[].scopeSpans[].spans[]
		| select((.traceId | test("^[0-9a-f]{32}$")) and (.spanId | test("^[0-9a-f]{16}$"))
			and (.startTimeUnixNano | type) == "string")
		| .traceId] | [length, (unique | length), .[0]] | join(" ")' "$W"/sink/req-*.body
	assert_output "25 1 $P_TRACE"
}

@test "export: Zipkin v2 with gzip at /api/v2/spans" {
	make_spans 5 "$W/in.jsonl"
	sink_start
	run -0 "$T" export --gzip --zipkin "$URL/" "$W/in.jsonl"
	grep -qx 'path /api/v2/spans' "$W/sink/req-0000.meta"
	grep -qx 'content-encoding gzip' "$W/sink/req-0000.meta"
	run -0 bash -c "gzip -dc <'$W/sink/req-0000.body' | jq -r 'map(.name) | sort | join(\" \")'"
	assert_output 'op1 op2 op3 op4 op5'
}

@test "export: 503 is retried and then delivered" {
	make_spans 4 "$W/in.jsonl"
	sink_start 503,503r0
	run -0 "$T" export --otlp "$URL" "$W/in.jsonl"
	run -0 jq -c '[.sent, .retried, .failed]' <<<"$output"
	assert_output '[4,2,0]'
	[ "$(requests)" -eq 3 ]
	grep -qx 'status 202' "$W/sink/req-0002.meta"
}

@test "export: 400 is not retried, the spans are lost and the status is 4" {
	make_spans 4 "$W/in.jsonl"
	sink_start 400
	run -4 --separate-stderr "$T" export --spool "$W/spool" --otlp "$URL" "$W/in.jsonl"
	run -0 jq -c '[.sent, .retried, .spooled, .failed]' <<<"$output"
	assert_output '[0,0,0,4]'
	[ "$(requests)" -eq 1 ]
	[[ $stderr == *"refused a batch: 400"* ]]
	[ -z "$(ls "$W/spool")" ]
}

@test "export: with no backend and no spool the spans are lost (status 4)" {
	make_spans 3 "$W/in.jsonl"
	run -4 --separate-stderr "$T" export --attempts 2 --otlp http://127.0.0.1:1 "$W/in.jsonl"
	run -0 jq -c '[.sent, .retried, .failed]' <<<"$output"
	assert_output '[0,1,3]'
	[[ $stderr == *"cannot reach 'http://127.0.0.1:1/v1/traces'"* ]]
}

@test "export: a dead backend fills the spool, a live one drains it exactly once" {
	make_spans 25 "$W/in.jsonl"
	run -0 --separate-stderr "$T" export --attempts 2 --batch 10 --spool "$W/spool" \
		--otlp http://127.0.0.1:1 "$W/in.jsonl"
	run -0 jq -c '[.batches, .sent, .spooled, .failed]' <<<"$output"
	assert_output '[3,0,25,0]'
	[ "$(ls "$W/spool" | grep -c '\.otlp\.json$')" -eq 3 ]

	make_spans 2 "$W/more.jsonl"
	sink_start
	run -0 "$T" export --spool "$W/spool" --otlp "$URL" "$W/more.jsonl"
	run -0 jq -c '[.sent, .spooled, .drained, .failed]' <<<"$output"
	assert_output '[2,0,25,0]'
	[ -z "$(ls "$W/spool")" ]
	# Every span id once, the 25 spooled and the 2 new ones.
	run -0 jq -rs '[.[].resourceSpans[].scopeSpans[].spans[].spanId] | [length, (unique | length)]
		| join(" ")' "$W"/sink/req-*.body
	assert_output '27 27'
	run -0 bash -c "cat '$W/in.jsonl' '$W/more.jsonl' | jq -r .span_id | sort"
	local want=$output
	run -0 jq -rs '.[].resourceSpans[].scopeSpans[].spans[].spanId' "$W"/sink/req-*.body
	[ "$(sort <<<"$output")" = "$want" ]

	# A second run finds nothing left to send.
	run -0 "$T" export --spool "$W/spool" --otlp "$URL" </dev/null
	run -0 jq -c '[.sent, .drained]' <<<"$output"
	assert_output '[0,0]'
}

@test "export: spooled OTLP batches drain to a Zipkin endpoint too" {
	make_spans 3 "$W/in.jsonl"
	run -0 --separate-stderr "$T" export --attempts 1 --spool "$W/spool" \
		--otlp http://127.0.0.1:1 "$W/in.jsonl"
	sink_start
	run -0 "$T" export --spool "$W/spool" --zipkin "$URL" </dev/null
	run -0 jq -c '[.drained, .failed]' <<<"$output"
	assert_output '[3,0]'
	run -0 jq -r 'length' "$W/sink/req-0000.body"
	assert_output 3
}

@test "export: misuse exits 2" {
	run -2 "$T" export </dev/null
	run -2 "$T" export --otlp http://x --zipkin http://y </dev/null
	run -2 "$T" export --otlp ftp://x </dev/null
	run -2 "$T" export --otlp http://x --batch 0 </dev/null
	run -2 "$T" export --otlp http://x --header novalue </dev/null
}

# ---- logs and join -------------------------------------------------------------

write_logs() {
	cat >"$W/a.jsonl" <<-JSONL
	{"type":"log","ts":"2024-01-01T00:00:01Z","level":"info","msg":"a1","trace_id":"$P_TRACE","span_id":"$P_SPAN"}
	{"type":"log","ts":"2024-01-01T00:00:03Z","level":"error","msg":"a3"}
	{"type":"log","ts":"2024-01-01T00:00:02Z","level":"debug","msg":"a2-late"}
	{"type":"log","ts":"2024-01-01T00:00:05Z","level":"warn","msg":"a5","trace_id":"$P_TRACE","span_id":"$P_SPAN"}
	JSONL
	cat >"$W/b.jsonl" <<-JSONL
	{"type":"log","ts":"2024-01-01T00:00:00Z","level":"info","msg":"b0"}
	{"type":"log","ts":"2024-01-01T00:00:03Z","level":"warn","msg":"b3","correlation_id":"$P_TRACE"}
	{"type":"log","ts":"2024-01-01T00:00:04.5+00:00","level":"fatal","msg":"b4"}
	JSONL
}

@test "logs: files merge by ts; a late line passes through in place" {
	write_logs
	run -0 "$T" logs "$W/a.jsonl" "$W/b.jsonl"
	run -0 jq -rs 'map(.msg) | join(" ")' <<<"$output"
	assert_output 'b0 a1 a3 a2-late b3 b4 a5'
}

@test "logs: filters by level, trace or correlation id, time window and text" {
	write_logs
	local -a cases=(
		"--level warn|a3 b3 b4 a5"
		"--trace $P_TRACE|a1 b3 a5"
		"--since 2024-01-01T00:00:03Z --until 2024-01-01T00:00:05Z|a3 b3 b4"
		"--grep a2|a2-late"
		"--since 1m|"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086  # the options are words
		run -0 "$T" logs ${c%%|*} "$W/a.jsonl" "$W/b.jsonl"
		run -0 jq -rs 'map(.msg) | join(" ")' <<<"$output"
		assert_output "${c#*|}"
	done
	run -2 "$T" logs --level loud "$W/a.jsonl"
}

@test "logs: OTLP logs become native log records" {
	run -0 "$T" logs "$OFS_TOP/../shared/fixtures/otlp/logs.json"
	run -0 jq -c '[.type, .ts, .trace_id, .span_id, .level, .service, .msg,
		.attributes["int.attribute"], .attributes["map.attribute"]]' <<<"$output"
	assert_output '["log","2018-12-13T14:51:00.300000Z","5b8efff798038103d269b633813fc60c","eee19b7ec3c1b174","info","my.service","Example log record",10,{"some.map.key":"some value"}]'
}

@test "logs: a bad line is reported with file and line, the rest is kept" {
	write_logs
	printf 'not json\n{"type":"log","msg":"no ts"}\n' >>"$W/b.jsonl"
	run -3 --separate-stderr "$T" logs "$W/a.jsonl" "$W/b.jsonl"
	[ "${#lines[@]}" -eq 7 ]
	[[ $stderr == *"b.jsonl:4: invalid JSON"* ]]
	[[ $stderr == *"b.jsonl:5: missing or invalid 'ts'"* ]]
	run -2 "$T" logs "$W/missing.jsonl"
}

@test "join: logs attach to their span in ts order; the rest are counted" {
	write_logs
	TRACEPARENT=00-$P_TRACE-1111111111111111-01 "$T" span --name op --service api \
		--start 2024-01-01T00:00:00Z --end 2024-01-01T00:00:09Z --out "$W/s0.jsonl"
	jq -c ".span_id = \"$P_SPAN\"" "$W/s0.jsonl" >"$W/spans.jsonl"
	run -0 "$T" join "$W/spans.jsonl" "$W/b.jsonl" "$W/a.jsonl"
	run -0 jq -c 'if .type == "trace.join" then [.type, .span_id, .service, .name, (.logs | map(.msg))]
		else [.type, .spans, .logs, .matched, .unmatched] end' <<<"$output"
	assert_line -n 0 "[\"trace.join\",\"$P_SPAN\",\"api\",\"op\",[\"a1\",\"a5\"]]"
	assert_line -n 1 '["trace.join_summary",1,7,2,5]'
	run -2 "$T" join "$W/spans.jsonl"
}
