#!/bin/bash
# examples/demo.sh: a guided tour of the example shop (`make demo`).
#
# Starts the shop in a temporary directory and checks it with
# ofs-health; kills both payments instances with kill -9 and shows
# ofs-health's judgement (payments the root cause, orders and the
# gateway impacted), then lets `ofs-health watch --recover` heal it.
# Then places orders through the gateway, prints one order's trace as a
# tree, breaks payments with a fault switch and shows the failed order
# and its error spans, repairs payments and retries the failed order
# with the same Idempotency-Key. Then ofs-trace draws one order's trace
# as a waterfall and the services' dependencies as a Mermaid flowchart,
# and, with payments slowed by a latency fault, finds the critical path of
# a slow order. Then ofs-chaos runs an experiment: kill a payments
# instance while ofs-health heals the shop, with the verdict and the
# first lines of its Markdown report. Last it shows the status of every instance and stops the
# shop. Whatever happens, the shop is stopped and the
# directory removed on the way out. Builds nothing: it runs
# $OFS_BIN/shopd, ofs-health, ofs-trace and ofs-chaos (default: bin/ beside
# examples/). Uses curl, and jq when installed for readable output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${OFS_BIN:-$here/../bin}
shopd=$bin/shopd
health=$bin/ofs-health
otrace=$bin/ofs-trace
chaos=$bin/ofs-chaos
topology=$here/shop/topology.json

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$shopd" ] || die "'$shopd' not found: build it with make (or set OFS_BIN)"
[ -x "$health" ] || die "'$health' not found: build it with make (or set OFS_BIN)"
[ -x "$otrace" ] || die "'$otrace' not found: build it with make (or set OFS_BIN)"
[ -x "$chaos" ] || die "'$chaos' not found: build it with make (or set OFS_BIN)"
command -v curl >/dev/null || die "curl is needed"
have_jq=false
if command -v jq >/dev/null; then have_jq=true; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-demo.XXXXXX")
dir=$work/shop
cleanup() {
	"$shopd" stop --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

heading() {
	printf '\n== %s ==\n' "$*"
}

# Instance records as a table (raw JSON lines without jq).
instances() {
	if $have_jq; then
		jq -r '"  \(.instance)\t\(.state)\t\(.url)\(if .pid then "\tpid \(.pid)" else "" end)"'
	else
		cat
	fi
}

# Spans of a trace as an indented tree, children under their parent.
trace_tree() {
	if ! $have_jq; then
		grep -F "\"trace_id\":\"$1\"" "$dir/spans.jsonl"
		return
	fi
	jq -s -r --arg t "$1" '
		def line($d): ([range($d)] | map("    ") | add // "") + "\(.instance) \(.kind) \(.name)"
			+ (if .peer_service then " -> \(.peer_service)" else "" end)
			+ "  \(.duration_ms * 100 | round / 100) ms  \(.status)"
			+ (if .http_status then " \(.http_status)" else "" end)
			+ (if .error then "  (\(.error))" else "" end);
		def tree($all; $d): line($d),
			(. as $s | $all | map(select(.parent_span_id == $s.span_id))
				| sort_by(.start_ns | tonumber) | .[] | tree($all; $d + 1));
		map(select(.trace_id == $t)) as $all
		| ($all | map(.span_id)) as $ids
		| $all | map(select((.parent_span_id // "") as $p | $ids | index($p) | not))
		| .[] | tree($all; 1)' "$dir/spans.jsonl"
}

# Error spans of a trace, one line each.
error_spans() {
	if $have_jq; then
		jq -r --arg t "$1" 'select(.trace_id == $t and .status == "error")
			| "    \(.instance) \(.kind) \(.name): \(.error)"' "$dir/spans.jsonl"
	else
		grep -F "\"trace_id\":\"$1\"" "$dir/spans.jsonl" | grep -F '"status":"error"'
	fi
}

# Watch and recovery records, one line each (raw JSON lines without jq).
events() {
	if $have_jq; then
		jq -r 'if .type == "health.transition" then
				"  round \(.round): \(.instance // .service) \(.from) -> \(.to) (\(.reason))"
			elif .type == "recovery.start" then
				"  restart \(.attempt): \(.hook | if type == "array" then join(" ") else . end)"
			elif .type == "recovery.done" then
				"  \(.instance) is healthy again, \(.recovery_s) s after its failure was seen"
			else "  \(.type) \(.service): \(.reason // "")" end'
	else
		cat
	fi
}

# wait_trace TRACE: wait until the gateway's server span of TRACE, the
# last span of an order to be written, is in spans.jsonl.
wait_trace() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -F "\"trace_id\":\"$1\"" "$dir/spans.jsonl" | grep -F '"service":"gateway"' |
			grep -qF '"kind":"server"' && return 0
		sleep 0.1
	done
	die "the spans of trace $1 were not all written"
}

# Critical path sections, one line each (raw JSON without jq).
sections() {
	if $have_jq; then
		jq -r '.sections[] | "\(.ms) \(.service) \(.name)"' |
			awk '{ printf "  %10.3f ms  %s", $1, $2; for (i = 3; i <= NF; i++) printf " %s", $i; print "" }'
	else
		cat
	fi
}

# The records of an ofs-chaos run, one line each (raw JSON without jq).
steps() {
	if $have_jq; then
		jq -r 'if .type == "chaos.hypothesis" then
				"  hypothesis \(.phase): \(if .held then "held" else "deviated (\(.why))" end)"
			elif .type == "chaos.activity" and (.phase | startswith("hypothesis") | not) then
				"  \(.phase) \(.name): \(.status)\(if .output.instance then " (\(.output.instance), pid \(.output.pid))" else "" end)"
			elif .type == "chaos.undo" then "  undo \(.kind) \(.target): \(.status)"
			elif .type == "chaos.verdict" then
				"  verdict: \(.status), recovered in \(.recovery_s * 1000 | round / 1000) s (RTO \(.rto_s) s, met: \(.rto_met))"
			else empty end'
	else
		cat
	fi
}

# kill9 INSTANCE...: kill -9 shop instances and wait until they are gone.
kill9() {
	local id pids=() pid i
	for id; do
		pids+=("$(cat "$dir/run/$id.pid")")
	done
	kill -KILL "${pids[@]}"
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.1
		done
	done
}

# order KEY BODY: POST an order through the gateway; sets code and trace.
order() {
	code=$(curl -s -o "$work/answer" -D "$work/headers" -w '%{http_code}' -X POST \
		-H "Idempotency-Key: $1" -d "$2" "$gw/orders")
	trace=$(tr -d '\r' <"$work/headers" | awk -F- 'tolower($0) ~ /^traceresponse: / { print $2 }')
	printf '  %s %s -> HTTP %s %s\n' "$1" "$2" "$code" "$(cat "$work/answer")"
}

heading "Starting the shop in $dir"
"$shopd" start --dir "$dir" --topology "$topology" | instances
gw=$("$shopd" url --dir "$dir" gateway)

heading "Checking every instance with ofs-health"
"$health" check -f "$dir/topology.json" -o text | sed 's/^/  /'

heading "Killing both payments instances with kill -9"
kill9 payments-1 payments-2
status=0
"$health" check -f "$dir/topology.json" -o text >"$work/health.txt" || status=$?
sed 's/^/  /' "$work/health.txt"
echo "  ofs-health check exits $status: payments is the root cause, orders and the gateway are impacted"
[ "$status" = 1 ] || die "ofs-health check exited $status with payments down, not 1"

heading "Healing: ofs-health watch --recover restarts payments"
"$health" watch --recover --rounds 3 -f "$dir/topology.json" | events
"$health" check -f "$dir/topology.json" -o nagios | sed 's/^/  /'

heading "Placing orders through the gateway at $gw"
n=0
for item in book:1 mug:2 stickers:3; do
	n=$((n + 1))
	order "demo-order-$n" "{\"sku\":\"${item%:*}\",\"qty\":${item#*:}}"
	[ "$code" = 201 ] || die "order $n was answered $code"
done

heading "The trace of one order ($trace)"
echo "  every service appended its spans to $dir/spans.jsonl:"
trace_tree "$trace"
first_trace=$trace

heading "Breaking payments: both instances answer 500"
for p in payments-1 payments-2; do
	printf '  %s: ' "$p"
	curl -s -X POST -d '{"status":500}' "$("$shopd" url --dir "$dir" "$p")/admin/fault"
done

heading "A failed order"
order demo-order-4 '{"sku":"poster","qty":1}'
[ "$code" = 502 ] || die "the order during the payments fault was answered $code, not 502"
echo "  its error spans:"
error_spans "$trace"

heading "Repairing payments and retrying the failed order with the same key"
for p in payments-1 payments-2; do
	curl -s -o /dev/null -X DELETE "$("$shopd" url --dir "$dir" "$p")/admin/fault"
done
order demo-order-4 '{"sku":"poster","qty":1}'
[ "$code" = 201 ] || die "the retried order was answered $code"
echo "  the same order id: the retry completed the order the fault had left"
echo "  half done, and reserved and shipped it once (the derived keys"
echo "  demo-order-4/reserve and demo-order-4/ship were answered from the stores)"

heading "ofs-trace show: the same trace as a waterfall"
wait_trace "$first_trace"
"$otrace" show "$first_trace" "$dir/spans.jsonl" | sed 's/^/  /'

heading "ofs-trace deps: which service calls which"
"$otrace" deps -o mermaid "$dir/spans.jsonl" | sed 's/^/  /'

heading "A slow request: payments answers after 300 ms"
for p in payments-1 payments-2; do
	curl -s -o /dev/null -X POST -d '{"latency_ms":300}' "$("$shopd" url --dir "$dir" "$p")/admin/fault"
done
order demo-order-5 '{"sku":"mug","qty":1}'
[ "$code" = 201 ] || die "the slow order was answered $code"
for p in payments-1 payments-2; do
	curl -s -o /dev/null -X DELETE "$("$shopd" url --dir "$dir" "$p")/admin/fault"
done
wait_trace "$trace"
echo "  its critical path (ofs-trace critical-path), section by section:"
"$otrace" critical-path --trace "$trace" "$dir/spans.jsonl" >"$work/critical.jsonl"
sections <"$work/critical.jsonl"
grep -qF '"service":"payments"' "$work/critical.jsonl" || die "payments is not on the critical path"
echo "  the critical path runs through payments: that is where the time went"

heading "ofs-chaos: kill a payments instance while ofs-health heals the shop"
echo "  experiment: examples/chaos/kill-payments.json (hypothesis: payments and orders"
echo "  healthy; method: kill -9 one payments instance; RTO 30 s)"
"$health" watch --recover -f "$dir/topology.json" >"$work/watch.jsonl" 2>&1 &
watcher=$!
sleep 1
export OFS_STATE_DIR=$work/state
status=0
"$chaos" run --topology "$dir/topology.json" --report md --report-file "$work/report.md" \
	"$here/chaos/kill-payments.json" >"$work/chaos.jsonl" || status=$?
kill -TERM "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
steps <"$work/chaos.jsonl"
echo "  exit status $status; the report (--report md), first lines:"
sed -n '1,/^## Timeline/p' "$work/report.md" | sed 's/^/    /'
[ "$status" = 0 ] || die "the experiment did not complete"

heading "Status of every instance"
"$shopd" status --dir "$dir" | instances

heading "Stopping the shop"
"$shopd" stop --dir "$dir" | instances
echo
echo "demo: done"
