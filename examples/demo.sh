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
# first lines of its Markdown report. Then ofs-deploy releases the
# shop's inventory service behind a real HAProxy (when haproxy is
# installed): v1 to every instance, a canary of v2 promoted after its
# error rate was measured, and a bad v3 (it answers 500) rolled back at
# its first analysis. Then ofs-scale absorbs an eightfold CPU spike on
# the cart service, one `decide --apply` per 15 s period, each decision
# with its reason (the HPA's rate limits on the way up, the stabilization
# window on the way down), and simulates a threefold spike with a 30 s
# provisioning delay. Then ofs-saga places an order through the order
# saga, and another while payments answers 503: the charge retried, the
# reservation compensated, the stock given back, and the saga's graph
# with that run's state. Then ofs-replay records inventory's answers
# through its proxy and replays them against a v2 beside a second v1
# (--secondary): v2's change found field by field, the time in every
# answer recognised as noise. Then ofs-split takes one A/B migration
# step on inventory: customers routed to legacy or new at 90/10 and
# ramped to 50/50 with no customer sent back, every request shadowed to
# v2 beside the second v1 (the primary alone answers), the go/no-go
# report that stops the ramp, and the nginx split that would carry it.
# Last it shows the status of every instance
# and stops the shop. Whatever happens, the shop is stopped and the
# directory removed on the way out. Builds nothing: it runs
# $OFS_BIN/shopd and the ofs-* programs (default: bin/ beside
# examples/). Uses curl, and jq when installed for readable output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${OFS_BIN:-$here/../bin}
shopd=$bin/shopd
health=$bin/ofs-health
otrace=$bin/ofs-trace
chaos=$bin/ofs-chaos
deploy=$bin/ofs-deploy
scale=$bin/ofs-scale
osaga=$bin/ofs-saga
oreplay=$bin/ofs-replay
osplit=$bin/ofs-split
topology=$here/shop/topology.json

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$shopd" ] || die "'$shopd' not found: build it with make (or set OFS_BIN)"
[ -x "$health" ] || die "'$health' not found: build it with make (or set OFS_BIN)"
[ -x "$otrace" ] || die "'$otrace' not found: build it with make (or set OFS_BIN)"
[ -x "$chaos" ] || die "'$chaos' not found: build it with make (or set OFS_BIN)"
[ -x "$deploy" ] || die "'$deploy' not found: build it with make (or set OFS_BIN)"
[ -x "$scale" ] || die "'$scale' not found: build it with make (or set OFS_BIN)"
[ -x "$osaga" ] || die "'$osaga' not found: build it with make (or set OFS_BIN)"
[ -x "$oreplay" ] || die "'$oreplay' not found: build it with make (or set OFS_BIN)"
[ -x "$osplit" ] || die "'$osplit' not found: build it with make (or set OFS_BIN)"
command -v curl >/dev/null || die "curl is needed"
have_jq=false
if command -v jq >/dev/null; then have_jq=true; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-demo.XXXXXX")
dir=$work/shop
cleanup() {
	local f
	[ -n "${loader:-}" ] && kill "$loader" 2>/dev/null
	if [ -f "$work/replay.pids" ]; then
		while read -r f; do kill "$f" 2>/dev/null || true; done <"$work/replay.pids"
	fi
	for f in "$work"/haproxy.pid "$work"/state/deploy/*/run/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
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

# A TCP port nothing listens on at 127.0.0.1.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
}

# deploy_spec FILE VERSION STRATEGY [FAULT]: a spec for inventory VERSION
# on 4 instances behind the demo's haproxy; FAULT sets the instances'
# fault switches from their start (a bad release).
deploy_spec() {
	local fault=""
	[ -n "${4:-}" ] && fault=" --fault '$4'"
	cat >"$1" <<JSON
{"service": "inventory", "version": "$2", "replicas": 4,
 "instances": {"driver": "process", "ports": "$((hport + 1000))-$((hport + 1020))",
   "start": "exec \"\$SHOPD\" serve --dir \"\$SHOP_DIR\" --service inventory --port \"\$OFS_PORT\" --version \"\$OFS_VERSION\"${fault//\"/\\\"}"},
 "traffic": {"driver": "haproxy", "socket": "$work/haproxy.sock", "backend": "inventory"},
 "strategy": $3,
 "analysis": [{"name": "errors", "metrics": [{"name": "error-rate", "interval": "2s", "count": 2,
   "successCondition": "result <= 0.01", "failureCondition": "result > 0.01",
   "provider": {"kind": "haproxy", "metric": "errorRate", "of": "new"}}]}]}
JSON
}

# scale_demo: a traffic spike on the shop's cart service, absorbed period
# by period. Each 15 s period a sample of cart's CPU (its demand spread
# over the replicas it has) goes to `ofs-scale decide --apply`, run once
# per period as cron would run it; the policy's hook is the orchestrator
# here: it writes the new replica count to a file the next sample reads.
# Demand jumps eightfold for six periods, then falls back: the scale-up
# follows the HPA's default rate limits, the scale-down waits out the
# 300 s stabilization window, and every decision says why.
scale_demo() {
	local policy=$work/scale-policy.json replicas=$work/cart-replicas
	cat >"$policy" <<JSON
{"service": "cart", "minReplicas": 2, "maxReplicas": 20,
 "metrics": [{"name": "cpu", "target": {"averageUtilization": 50}}],
 "hook": "echo \"\$OFS_REPLICAS\" >'$replicas'",
 "catalogue": [{"name": "m5.large", "pricePerHour": 0.096, "capacity": {"cpu": 200}}],
 "instanceType": "m5.large"}
JSON
	echo 2 >"$replicas"
	local i demand r cpu ts
	for ((i = 0; i < 34; i++)); do
		demand=100
		((i >= 2 && i < 8)) && demand=800
		r=$(cat "$replicas")
		cpu=$((demand / r))
		ts=$(date -u -d "@$((1795341600 + i * 15))" +%Y-%m-%dT%H:%M:%SZ)
		printf '{"service":"cart","ts":"%s","metric":"cpu","value":%d,"replicas":%d,"ready_replicas":%d}\n' \
			"$ts" "$cpu" "$r" "$r" |
			OFS_STATE_DIR=$work/state "$scale" decide --apply -p "$policy" >>"$work/scale.jsonl" ||
			die "ofs-scale decide failed"
	done
	# one line per decision; a run of the same decision for the same
	# reason is shown once, with its count
	if $have_jq; then
		jq -r 'select(.type == "scale.decision") |
			"\(.ts[11:19])\t\(.metrics[0].value | floor)\t\(.current)\t\(.desired)\t\(.cost_per_hour)\t\(.reason)"' \
			"$work/scale.jsonl" |
			awk -F '\t' '{ k = $2 FS $3 FS $4 FS $6 }
				k == last { n++; next }
				{ flush(); last = k; line = $0; n = 1 }
				END { flush() }
				function flush(  f) {
					if (!n) return
					split(line, f, FS)
					printf "  %s  cpu %3d%% on %2d -> %2d  $%s/h%s\n    %s\n", f[1], f[2], f[3], f[4], f[5],
						(n > 1 ? sprintf("  (%d periods alike)", n) : ""), f[6]
				}'
	else
		grep '"type":"scale.decision"' "$work/scale.jsonl"
	fi
	echo "  the same spike offline, with a 30 s provisioning delay (ofs-scale simulate --spike 3x):"
	"$scale" simulate -p "$policy" --spike 3x --replicas 2 >"$work/sim.jsonl" || true
	if $have_jq; then
		jq -r '"  capacity again after \(.time_to_capacity_s) s (mark \(.mark_s) s, met: \(.met_mark)); " +
			"\(.slo_violation_minutes) SLO-violation minutes; peak \(.peak_replicas) replicas"' "$work/sim.jsonl"
	else
		cat "$work/sim.jsonl"
	fi
}

# The records of a saga, one line each (raw JSON without jq).
saga_lines() {
	if $have_jq; then
		jq -r 'if .type == "saga.step" or .type == "saga.compensation" then
				"  \(if .type == "saga.compensation" then "undo " else "" end)\(.step) \(.event)" +
				(if .event == "started" then " (attempt \(.attempt), key \(.key | split("/")[1:] | join("/")))"
				 elif .event == "failed" then ": \(.error)\(if .retry_in_ms then ", again in \(.retry_in_ms) ms" else "" end)"
				 elif .type == "saga.compensation" then ": \(.output | tojson)"
				 else "" end)
			elif .type == "saga.started" then "  started \(.saga)"
			else "  \(.type[5:])\(if .step then " at \(.step)" else "" end)\(if .reason then ": \(.reason)" else "" end)" end'
	else
		cat
	fi
}

# ofs-saga: one order through the saga (reserve, charge as the pivot,
# ship, notify), then one while payments fails: the charge is retried,
# then the reservation compensated and the stock given back. Last the
# saga's graph, with the failed run's state laid over it.
saga_demo() {
	local input stock_before stock_after url id
	heading "ofs-saga: an order saga, and one that fails at payment and is compensated"
	input=$(printf '{"inventory":"%s","payments":"%s","shipping":"%s","orders":"%s"}' \
		"$("$shopd" url --dir "$dir" inventory-1)" "$("$shopd" url --dir "$dir" payments-1)" \
		"$("$shopd" url --dir "$dir" shipping-1)" "$("$shopd" url --dir "$dir" orders-1)")
	OFS_STATE_DIR=$work/state "$osaga" start "$here/saga/order.json" --input "$input" --wait |
		saga_lines || die "the order saga did not complete"
	for url in payments-1 payments-2; do
		curl -s -o /dev/null -X POST -d '{"status":503}' "$("$shopd" url --dir "$dir" "$url")/admin/fault"
	done
	stock_before=$(curl -s "$("$shopd" url --dir "$dir" inventory-1)/stock")
	echo "  payments now answers 503:"
	OFS_STATE_DIR=$work/state "$osaga" start "$here/saga/order.json" --input "$input" --wait \
		>"$work/saga.jsonl" && die "the saga should have been compensated"
	saga_lines <"$work/saga.jsonl"
	stock_after=$(curl -s "$("$shopd" url --dir "$dir" inventory-1)/stock")
	if $have_jq; then
		echo "  books in stock before and after: $(jq '.items[0].available' <<<"$stock_before")," \
			"$(jq '.items[0].available' <<<"$stock_after")"
	fi
	for url in payments-1 payments-2; do
		curl -s -o /dev/null -X DELETE "$("$shopd" url --dir "$dir" "$url")/admin/fault"
	done
	id=$(sed -n 's/.*"type":"saga.started"[^}]*"saga":"\([^"]*\)".*/\1/p' "$work/saga.jsonl" | head -1)
	echo "  the saga's transaction boundary, with that run's state (ofs-saga graph -f mermaid --journal):"
	OFS_STATE_DIR=$work/state "$osaga" graph "$here/saga/order.json" -f mermaid --journal "$id" |
		sed 's/^/    /'
}

# ofs-replay: the inventory's answers recorded through ofs-replay record,
# then replayed against a v2 of the service beside the second v1
# instance (--secondary): the change v2 made is found field by field,
# and the time each answer carries is recognised as noise.
replay_demo() {
	local v1 v1b v2port rport i p
	heading "ofs-replay: inventory's traffic recorded, replayed against v2, compared"
	v1=$("$shopd" url --dir "$dir" inventory-1)
	v1b=$("$shopd" url --dir "$dir" inventory-2)
	v2port=$(free_port)
	"$shopd" serve --dir "$dir" --service inventory --port "$v2port" --id inventory-v2 \
		--version v2 >"$work/v2.log" 2>&1 &
	echo $! >>"$work/replay.pids"
	rport=$(free_port)
	"$oreplay" record --listen "127.0.0.1:$rport" --upstream "$v1" -o "$work/capture.jsonl" \
		2>"$work/record.err" &
	echo $! >>"$work/replay.pids"
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "http://127.0.0.1:$v2port/health" &&
			curl -sf -o /dev/null "http://127.0.0.1:$rport/stock" && break
		sleep 0.1
	done
	for p in /catalog/book /catalog/mug /catalog/poster /stock; do
		curl -s -o /dev/null "http://127.0.0.1:$rport$p"
	done
	kill "$(tail -1 "$work/replay.pids")"
	wait "$(tail -1 "$work/replay.pids")" 2>/dev/null || true
	echo "  recorded through ofs-replay record: $(wc -l <"$work/capture.jsonl") exchanges of inventory v1"
	echo "  replayed against v2 (127.0.0.1:$v2port), the second v1 instance as --secondary:"
	status=0
	"$oreplay" play --target "http://127.0.0.1:$v2port" --secondary "$v1b" "$work/capture.jsonl" \
		>"$work/replay.jsonl" || status=$?
	if $have_jq; then
		jq -r 'if .type == "replay.diff" then
				"  \(.endpoint): " + ([.fields[] | "\(.pointer) " +
					(if .kind == "extra" then "added, \(.replayed | tojson)"
					 elif .kind == "missing" then "gone, was \(.recorded | tojson)"
					 else "\(.kind), \(.recorded | tojson) -> \(.replayed | tojson)" end)] | join("; "))
			elif .type == "replay.summary" then
				"  \(.matched) of \(.total) answers match; noise: " +
				([.endpoints[].noise[]?.pointer] | unique | join(", "))
			else empty end' "$work/replay.jsonl"
	else
		cat "$work/replay.jsonl"
	fi
	echo "  exit status $status (1: differences found)"
	kill "$(head -1 "$work/replay.pids")" 2>/dev/null || true
	[ "$status" = 1 ] || die "the replay should have found v2's change"
}

# One A/B migration step with ofs-split: route customers at 90/10, ramp
# to 50/50 (nobody goes back), shadow every request to v2, gate on the
# report, render the nginx split.
split_demo() {
	local v1 v1b v2port i status=0 back
	heading "ofs-split: inventory v2 beside v1, a customer at a time"
	v1=$("$shopd" url --dir "$dir" inventory-1)
	v1b=$("$shopd" url --dir "$dir" inventory-2)
	v2port=$(free_port)
	"$shopd" serve --dir "$dir" --service inventory --port "$v2port" --id inventory-v2b \
		--version v2 >"$work/split-v2.log" 2>&1 &
	echo $! >>"$work/replay.pids"
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "http://127.0.0.1:$v2port/health" && break
		sleep 0.1
	done
	local skus=(book mug poster stickers)
	for ((i = 1; i <= 400; i++)); do
		printf '{"method":"GET","path":"/catalog/%s","headers":{"x-customer-id":"cust-%04d"}}\n' \
			"${skus[i % 4]}" "$i"
	done >"$work/requests.jsonl"
	"$osplit" route --key /headers/x-customer-id --weights legacy=90,new=10 \
		"$work/requests.jsonl" >"$work/at10.jsonl"
	"$osplit" route --key /headers/x-customer-id --weights legacy=50,new=50 \
		"$work/requests.jsonl" >"$work/at50.jsonl"
	back=$(paste -d ' ' "$work/at10.jsonl" "$work/at50.jsonl" |
		grep -c '"variant":"new"}.*"variant":"legacy"}$' || true)
	echo "  400 customers at legacy=90,new=10: $(grep -c '"variant":"new"}$' "$work/at10.jsonl") on new"
	echo "  ramped to legacy=50,new=50: $(grep -c '"variant":"new"}$' "$work/at50.jsonl") on new, $back sent back to legacy"
	echo "  every request shadowed: v1 answers, v2 and a second v1 get copies"
	"$osplit" send --primary "$v1" --candidate "http://127.0.0.1:$v2port" --secondary "$v1b" \
		"$work/requests.jsonl" >"$work/compare.jsonl" || status=$?
	echo "  send: exit status $status (1: v2 answers differently)"
	if $have_jq; then
		jq -r 'select(.type == "split.summary") | [.endpoints[].fields | to_entries[]] |
			"  fields: " + ([.[] | select(.value.verdict == "reported") | .key] | unique | join(", ")) +
			"; noise: " + ([.[] | select(.value.verdict == "noise") | .key] | unique | join(", "))' \
			"$work/compare.jsonl"
	fi
	status=0
	"$osplit" report -o text "$work/compare.jsonl" >"$work/report.txt" || status=$?
	sed 's/^/  /' "$work/report.txt"
	echo "  report: exit status $status (1: no-go, the ramp stops here)"
	echo "  the split in nginx (each customer where route puts them):"
	"$osplit" render --format nginx --weights legacy=50,new=50 --header x-customer-id \
		--upstream "legacy=${v1#http://}" --upstream "new=127.0.0.1:$v2port" |
		sed -n '/^split_clients/,/^}/s/^/    /p'
	[ "$status" = 1 ] || die "the report should have stopped v2"
}

# The records of a deploy, one line each (raw JSON without jq).
deploy_steps() {
	if $have_jq; then
		jq -r 'if .type == "deploy.step" then
				"  step \(.step // "-")/\(.steps // "-") \(.action)\(if .weight then " \(.weight) %" else "" end)\(if .detail then ": \(.detail)" else "" end)"
			elif .type == "deploy.analysis" and (.final | not) then
				"    \(.metric) = \(.value // "no data") -> \(.result)"
			elif .type == "deploy.rollback" then "  ROLLBACK: \(.reason)"
			elif .type == "deploy.done" then "  done: \(.outcome) in \(.duration_s * 10 | round / 10) s"
			else empty end'
	else
		grep -E '"type":"deploy\.(step|rollback|done)"'
	fi
}

deploy_demo() {
	hport=$(free_port)
	cat >"$work/haproxy.cfg" <<CFG
global
	stats socket $work/haproxy.sock mode 600 level admin
	pidfile $work/haproxy.pid
defaults
	mode http
	timeout connect 2s
	timeout client 20s
	timeout server 20s
frontend fe
	bind 127.0.0.1:$hport
	default_backend inventory
backend inventory
	server-template s 1-10 127.0.0.1:9 disabled
CFG
	"$haproxy" -D -f "$work/haproxy.cfg" || die "haproxy did not start"
	export SHOPD=$shopd SHOP_DIR=$dir OFS_STATE_DIR=$work/state
	echo "  haproxy on 127.0.0.1:$hport, backend inventory with 10 spare servers;"
	echo "  ofs-deploy drives it through its runtime API socket"
	deploy_spec "$work/v1.json" v1 '{"kind": "rolling"}'
	"$deploy" run "$work/v1.json" | deploy_steps
	(while :; do curl -s -o /dev/null "http://127.0.0.1:$hport/stock"; done) &
	loader=$!
	echo
	echo "  v2 as a canary: 25 %, its error rate measured, 50 %, then promoted"
	deploy_spec "$work/v2.json" v2 '{"kind": "canary", "steps": [{"setWeight": 25},
		{"analysis": "errors"}, {"setWeight": 50}, {"pause": {"duration": "1s"}}]}'
	"$deploy" run "$work/v2.json" | deploy_steps
	echo
	echo "  v3 as a canary, but v3 answers 500: rolled back at its first analysis"
	deploy_spec "$work/v3.json" v3 '{"kind": "canary", "steps": [{"setWeight": 25},
		{"analysis": "errors"}, {"setWeight": 50}, {"pause": {"duration": "1s"}}]}' '{"status":500}'
	status=0
	"$deploy" run "$work/v3.json" >"$work/v3.jsonl" || status=$?
	deploy_steps <"$work/v3.jsonl"
	[ "$status" = 1 ] || die "the bad canary was not rolled back (exit $status)"
	kill "$loader" 2>/dev/null
	wait "$loader" 2>/dev/null || true
	loader=
	local answer
	answer=$(curl -s -D - -o /dev/null "http://127.0.0.1:$hport/stock" | tr -d '\r' |
		awk 'tolower($1) == "shop-version:" { print $2 }')
	echo "  exit status $status; inventory answers as $answer again"
	[ "$answer" = v2 ] || die "inventory answers as '$answer' after the rollback"
	echo "  ofs-deploy history --stats inventory:"
	"$deploy" history --stats inventory | sed 's/^/    /'
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

heading "ofs-deploy: canary releases of inventory behind HAProxy"
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
if [ -x "$haproxy" ]; then
	deploy_demo
else
	echo "  (skipped: haproxy is not installed; apt-get install haproxy)"
fi

heading "ofs-scale: a traffic spike on cart, absorbed"
scale_demo

saga_demo

replay_demo
split_demo

heading "Status of every instance"
"$shopd" status --dir "$dir" | instances

heading "Stopping the shop"
"$shopd" stop --dir "$dir" | instances
echo
echo "demo: done"
