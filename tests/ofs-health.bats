#!/usr/bin/env bats
# tests/ofs-health.bats: ofs-health against the example shop and small
# topologies of its own: the records of a round, dependency-aware
# judgement, the output formats (nagios perfdata, prom through promtool),
# the check kinds (a real monitoring plugin as an exec check, heartbeats),
# topology validation that probes nothing, shards, discovery targets on
# stdin, watch hysteresis and recovery (restart, only the root cause,
# giving up), the bad-input set of DESIGN.md section 7, and every example
# of man/ofs-health.1 and the README.
#
# One shop runs for the whole file; every test that breaks it heals it
# in teardown, and every ofs-health started in the background is ended
# there, so no test leaks into the next and no process outlives the file.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-health.1

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

setup_file() {
	shop_start
	export TOPO=$SHOP_DIR/topology.json
	# Port 1 stands for "nothing listens here" in the tests below.
	if (: <>/dev/tcp/127.0.0.1/1) 2>/dev/null; then
		echo "port 1 on 127.0.0.1 accepts connections; the tests need it closed" >&2
		return 1
	fi
}

teardown_file() {
	shop_stop
}

teardown() {
	stop_bg
	# A second shop (the README session) never outlives its test.
	if [ -d "$BATS_TEST_TMPDIR/shop" ]; then
		"$OFS_BIN/shopd" stop --dir "$BATS_TEST_TMPDIR/shop" >/dev/null 2>&1 || true
	fi
	shop_heal
}

ofs_health() {
	"$OFS_BIN/ofs-health" "$@"
}

# set_fault INSTANCE JSON: shop_fault (teardown's shop_heal clears it).
set_fault() {
	shop_fault "$@"
}

# kill_instances ID...: kill -9 shop instances and wait until they are gone.
kill_instances() {
	local id pid pids=() i
	for id; do
		pid=$(cat "$SHOP_DIR/run/$id.pid")
		kill -KILL "$pid"
		pids+=("$pid")
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			shop_pids | grep -qx "$pid" || break
			sleep 0.1
		done
		! shop_pids | grep -qx "$pid" || fail "instance pid $pid survived kill -9"
	done
}

# bg_health OUT ARG...: run ofs-health in the background, stdout to OUT and
# stderr to OUT.err; BG_PID is its pid, which teardown ends if still alive.
bg_health() {
	local out=$1
	shift
	"$OFS_BIN/ofs-health" "$@" >"$out" 2>"$out.err" 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_TEST_TMPDIR/pids"
}


# records_of TEXT: the JSON Lines in TEXT as one JSON array.
records_of() {
	jq -s -c . <<<"$1"
}

# on_shop TEXT: TEXT with the paths of the manual's examples pointed at
# this file's shop and programs.
on_shop() {
	sed -e "s|/etc/ofs/shop.json|$TOPO|g" -e "s|/usr/local/bin/ofs-health|$OFS_BIN/ofs-health|g" \
		-e "s|bin/shopd|$OFS_BIN/shopd|g" -e "s|/tmp/shop|$SHOP_DIR|g" <<<"$1"
}

# Nagios perfdata items per the plugin guidelines:
# 'label'=value[UOM];[warn];[crit];[min];[max], ranges [@][start:][end].
NUM='-?[0-9]+(\.[0-9]+)?'
RANGE="@?((${NUM}|~):)?(${NUM})?"
PERF_ITEM="'[^'=]+'=${NUM}(s|ms|us|%|B|KB|MB|c)?(;(${RANGE})?(;(${RANGE})?(;(${NUM})?(;(${NUM})?)?)?)?)?"
NAGIOS_LINE="^OFS-HEALTH (OK|WARNING|CRITICAL|UNKNOWN) - [^|]+ \| ${PERF_ITEM}( ${PERF_ITEM})*\$"
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{6}Z$'

# ---- one round over the shop ---------------------------------------------

@test "all up: check exits 0 with one record per check and service, the round last" {
	run -0 --separate-stderr ofs_health check -f "$TOPO"
	assert_equal "$stderr" ""
	local r
	r=$(records_of "$output")
	# Shapes: exactly these fields, nothing missing, nothing extra.
	assert_jq "$r" 'map(select(.type == "health.check") | keys | join(",")) | unique | join(" ")' \
		"attempts,connect_ms,dns_ms,first_byte_ms,http_status,instance,kind,latency_ms,round,service,status,tls_ms,ts,type"
	assert_jq "$r" 'map(select(.type == "health.service") | keys | join(",")) | unique | join(" ")' \
		"healthy,instances,quorum,round,service,state,ts,type"
	assert_jq "$r" 'map(select(.type == "health.round") | keys | join(",")) | unique | join(" ")' \
		"checks,degraded,duration_ms,healthy,impacted,round,services,ts,type,unhealthy,unknown"
	# Values.
	assert_jq "$r" 'map(select(.type == "health.check") | "\(.instance):\(.service):\(.kind):\(.status):\(.http_status):\(.attempts):\(.round)") | sort | join(" ")' \
		"gateway-1:gateway:http:ok:200:1:1 gateway-2:gateway:http:ok:200:1:1 inventory-1:inventory:http:ok:200:1:1 inventory-2:inventory:http:ok:200:1:1 orders-1:orders:http:ok:200:1:1 orders-2:orders:http:ok:200:1:1 payments-1:payments:http:ok:200:1:1 payments-2:payments:http:ok:200:1:1 shipping-1:shipping:http:ok:200:1:1"
	assert_jq "$r" 'all(.[] | select(.type == "health.check"); (.latency_ms | type) == "number" and .latency_ms >= 0 and .latency_ms < 1000 and .connect_ms <= .latency_ms and .first_byte_ms <= .latency_ms and .dns_ms >= 0 and .tls_ms >= 0)'
	# Services in dependency order, dependencies first.
	assert_jq "$r" 'map(select(.type == "health.service") | "\(.service)=\(.state):\(.healthy)/\(.instances)q\(.quorum)") | join(" ")' \
		"payments=healthy:2/2q2 inventory=healthy:2/2q2 shipping=healthy:1/1q1 orders=healthy:2/2q2 gateway=healthy:2/2q2"
	assert_jq "$r" '.[-1] | "\(.type) \(.round) \(.services) \(.healthy) \(.degraded) \(.unhealthy) \(.impacted) \(.unknown) \(.checks)"' \
		"health.round 1 5 5 0 0 0 0 9"
	assert_jq "$r" '.[-1].duration_ms | . > 0 and . < 2000'
	assert_jq "$r" 'length' 15
	assert_jq "$r" "all(.[]; .ts | test(\"$TS_RE\"))"
}

@test "records carry the trace id of TRACEPARENT" {
	run -0 env TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \
		"$OFS_BIN/ofs-health" check -f "$TOPO" --service payments
	assert_jq "$(records_of "$output")" 'map(.trace_id) | unique | join(" ")' 4bf92f3577b34da6a3ce929d0e0e4736
}

@test "payments killed: payments unhealthy, orders and gateway impacted with root_cause payments, exit 1" {
	kill_instances payments-1 payments-2
	run -1 --separate-stderr ofs_health check -f "$TOPO"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.service") | "\(.service)=\(.state)") | join(" ")' \
		"payments=unhealthy inventory=healthy shipping=healthy orders=impacted gateway=impacted"
	assert_jq "$r" '.[] | select(.service == "payments" and .type == "health.service") | "\(.healthy)/\(.instances) \(has("root_cause")) \(.reason | length > 0)"' \
		"0/2 false true"
	assert_jq "$r" '.[] | select(.service == "orders" and .type == "health.service") | "\(.root_cause) \(.root_causes | join(",")) \(.healthy)/\(.instances) \(.reason)"' \
		"payments payments 2/2 depends on payments (unhealthy)"
	assert_jq "$r" '.[] | select(.service == "gateway" and .type == "health.service") | "\(.root_cause) \(.root_causes | join(",")) \(.healthy)/\(.instances)"' \
		"payments payments 2/2"
	assert_jq "$r" '.[] | select(.service == "gateway" and .type == "health.service") | .reason | test("^depends on orders \\(impacted\\)")'
	# Healthy services carry no reason and no root cause.
	assert_jq "$r" 'map(select(.type == "health.service" and .state == "healthy") | has("reason") or has("root_cause")) | any' false
	# Each failed check says why, and has no HTTP status (nothing answered).
	assert_jq "$r" 'map(select(.type == "health.check" and .service == "payments") | "\(.status):\(.reason | test("refused"; "i")):\(has("http_status"))") | join(" ")' \
		"critical:true:false critical:true:false"
	assert_jq "$r" '.[-1] | "\(.healthy) \(.degraded) \(.unhealthy) \(.impacted) \(.unknown)"' "2 0 1 2 0"
}

@test "one payments instance killed: payments degraded under its quorum, dependents degraded" {
	kill_instances payments-1
	run -1 ofs_health check -f "$TOPO"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.service") | "\(.service)=\(.state)") | join(" ")' \
		"payments=degraded inventory=healthy shipping=healthy orders=degraded gateway=degraded"
	assert_jq "$r" '.[] | select(.type == "health.service" and .service == "payments") | .reason' \
		"1 of 2 instances healthy, quorum 2"
	assert_jq "$r" '.[] | select(.type == "health.service" and .service == "orders") | .reason' \
		"dependency payments degraded"
	assert_jq "$r" 'map(select(has("root_cause"))) | length' 0
}

@test "-o nagios: OK 0, WARNING 1, CRITICAL 2 with the services named, valid perfdata" {
	run -0 ofs_health check -f "$TOPO" -o nagios
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "$NAGIOS_LINE"
	assert_output --regexp "^OFS-HEALTH OK - "
	assert_output --regexp "'round_duration'=${NUM}s(;|\$| )"
	kill_instances payments-1
	run -1 ofs_health check -f "$TOPO" -o nagios
	assert_output --regexp "$NAGIOS_LINE"
	assert_output --regexp "^OFS-HEALTH WARNING - 3 degraded: payments, orders, gateway \|"
	kill_instances payments-2
	run -2 ofs_health check -f "$TOPO" -o nagios
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "$NAGIOS_LINE"
	assert_output --regexp "^OFS-HEALTH CRITICAL - 1 unhealthy: payments; 2 impacted: orders, gateway \| "
	assert_output --regexp "'unhealthy'=2;"
	# No instance at all is UNKNOWN.
	run -3 ofs_health check -o nagios </dev/null
	assert_output --regexp "^OFS-HEALTH UNKNOWN - "
}

@test "-o prom passes promtool check metrics; --prom-file writes it atomically, mode 0644" {
	command -v promtool >/dev/null ||
		skip "promtool is not installed (Debian package prometheus; .ci/deps test installs it)"
	kill_instances payments-1 payments-2
	run -1 ofs_health check -f "$TOPO" -o prom
	local prom=$output
	run -0 promtool check metrics <<<"$prom"
	# HELP and TYPE of each metric before its samples, each metric one group.
	run -0 awk '/^# TYPE/ { if (seen[$3]++) { print "twice: " $3; exit 1 } cur = $3; next }
		/^#/ { next } { n = $1; sub(/\{.*/, "", n); if (n != cur) { print "out of group: " $0; exit 1 } }' <<<"$prom"
	local m
	for m in ofs_health_check_up ofs_health_check_status ofs_health_check_latency_seconds \
		ofs_health_service_state ofs_health_round_duration_seconds ofs_health_round_timestamp_seconds; do
		grep -qx "# TYPE $m gauge" <<<"$prom" || fail "no '# TYPE $m gauge'"
		grep -q "^# HELP $m " <<<"$prom" || fail "no '# HELP $m'"
	done
	grep -qx 'ofs_health_check_up{service="payments",instance="payments-1",kind="http"} 0' <<<"$prom"
	grep -qx 'ofs_health_check_up{service="orders",instance="orders-2",kind="http"} 1' <<<"$prom"
	grep -qx 'ofs_health_check_status{service="payments",instance="payments-2",kind="http"} 2' <<<"$prom"
	# service_state is one-hot over the five states.
	assert_equal "$(grep -c '^ofs_health_service_state{' <<<"$prom")" 25
	grep -qx 'ofs_health_service_state{service="payments",state="unhealthy"} 1' <<<"$prom"
	grep -qx 'ofs_health_service_state{service="payments",state="healthy"} 0' <<<"$prom"
	grep -qx 'ofs_health_service_state{service="gateway",state="impacted"} 1' <<<"$prom"
	assert_equal "$(grep -c '^ofs_health_service_state{.*} 1$' <<<"$prom")" 5
	# No sample timestamps: every sample line is "name{labels} value".
	run -0 awk '!/^#/ && $NF !~ /^[-+0-9.eE]+$|^NaN$/ { print; bad = 1 } !/^#/ && NF != 2 { print; bad = 1 } END { exit bad }' <<<"$prom"

	local dir=$BATS_TEST_TMPDIR/textfile
	mkdir "$dir"
	run -1 ofs_health check -q -f "$TOPO" --prom-file "$dir/ofs-health.prom"
	assert_output ""
	assert_equal "$(stat -c %a "$dir/ofs-health.prom")" 644
	run -0 promtool check metrics <"$dir/ofs-health.prom"
	assert_equal "$(ls -A "$dir")" ofs-health.prom
	grep -qx 'ofs_health_service_state{service="orders",state="impacted"} 1' "$dir/ofs-health.prom"
}

@test "-o text prints one table row per service with state, counts and reason" {
	kill_instances payments-1 payments-2
	run -1 ofs_health check -f "$TOPO" -o text
	assert_line --regexp '^payments +unhealthy +0/2 +.+'
	assert_line --regexp '^orders +impacted +2/2 +depends on payments \(unhealthy\)'
	assert_line --regexp '^inventory +healthy +2/2 *$'
	assert_line --regexp '^shipping +healthy +1/1 *$'
	refute_output --partial '{"type"'
}

@test "--service checks only the named services and probes nothing else" {
	kill_instances orders-1
	run -0 ofs_health check -f "$TOPO" --service payments --service shipping
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(.service // empty) | unique | join(" ")' "payments shipping"
	assert_jq "$r" '.[-1] | "\(.services) \(.checks)"' "2 3"
	run -2 ofs_health check -f "$TOPO" --service warehouse
	assert_output --partial "'warehouse'"
}

@test "--timeout bounds every check; a hung instance is critical with a reason" {
	set_fault payments-1 '{"hang":true}'
	local t0 t1
	t0=$(date +%s%N)
	run -1 ofs_health check -f "$TOPO" --service payments --timeout 300ms
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 1500 ] || fail "the round took $(((t1 - t0) / 1000000)) ms"
	assert_jq "$(records_of "$output")" '.[] | select(.instance == "payments-1") | "\(.status) \(.reason | test("time"; "i"))"' \
		"critical true"
}

@test "http check: status sets, body and JSON conditions, latency thresholds" {
	local p1 p2
	p1=$(jq -r '.services.payments.instances[0].port' "$TOPO")
	p2=$(jq -r '.services.payments.instances[1].port' "$TOPO")
	set_fault payments-2 '{"latency_ms":300}'
	cat >"$BATS_TEST_TMPDIR/http.json" <<-EOF
		{"name": "http", "services": {
		  "json-ok": {"instances": [{"id": "json-ok-1", "host": "127.0.0.1", "port": $p1}],
		    "check": {"kind": "http", "json": {"pointer": "/status", "equals": "ok"}, "body_contains": "payments-1"}},
		  "json-bad": {"instances": [{"id": "json-bad-1", "host": "127.0.0.1", "port": $p1}],
		    "check": {"kind": "http", "json": {"pointer": "/status", "not_equals": "ok"}}},
		  "regex-bad": {"instances": [{"id": "regex-bad-1", "url": "http://127.0.0.1:$p1/health"}],
		    "check": {"kind": "http", "body_regex": "^nothing like this$"}},
		  "status-bad": {"instances": [{"id": "status-bad-1", "host": "127.0.0.1", "port": $p1}],
		    "check": {"kind": "http", "path": "/no-such-path", "status": [200]}},
		  "status-set": {"instances": [{"id": "status-set-1", "host": "127.0.0.1", "port": $p1}],
		    "check": {"kind": "http", "path": "/no-such-path", "status": [200, "400-499"]}},
		  "slow": {"instances": [{"id": "slow-1", "host": "127.0.0.1", "port": $p2}],
		    "check": {"kind": "http", "warn": "100ms", "timeout": "2s"}},
		  "too-slow": {"instances": [{"id": "too-slow-1", "host": "127.0.0.1", "port": $p2}],
		    "check": {"kind": "http", "warn": "100ms", "crit": "200ms"}}}}
	EOF
	run -1 ofs_health check -f "$BATS_TEST_TMPDIR/http.json"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.check") | "\(.instance)=\(.status)") | sort | join(" ")' \
		"json-bad-1=critical json-ok-1=ok regex-bad-1=critical slow-1=warning status-bad-1=critical status-set-1=ok too-slow-1=critical"
	assert_jq "$r" 'all(.[] | select(.type == "health.check" and .status != "ok"); .reason | length > 0)'
	assert_jq "$r" '.[] | select(.instance == "status-bad-1") | "\(.http_status) \(.reason | test("404"))"' "404 true"
	assert_jq "$r" '.[] | select(.instance == "slow-1") | .reason | test("latency [0-9]+ ms over")'
	assert_jq "$r" '.[] | select(.type == "health.service" and .service == "slow") | .state' degraded
}

# ---- check kinds -----------------------------------------------------------

@test "exec check runs the monitoring plugin check_tcp and maps its exit codes" {
	local plugin=/usr/lib/nagios/plugins/check_tcp
	[ -x "$plugin" ] ||
		skip "$plugin is not installed (Debian package monitoring-plugins-basic; .ci/deps test installs it)"
	local port
	port=$(jq -r '.services.orders.instances[0].port' "$TOPO")
	cat >"$BATS_TEST_TMPDIR/plugins.json" <<-EOF
		{"name": "plugins", "services": {
		  "tcp-open": {"instances": [{"id": "open-1", "host": "127.0.0.1", "port": $port}],
		    "check": {"kind": "exec", "command": ["$plugin", "-H", "{host}", "-p", "{port}"]}},
		  "tcp-closed": {"instances": [{"id": "closed-1", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "exec", "command": ["$plugin", "-H", "{host}", "-p", "{port}"]}},
		  "warn": {"instances": [{"id": "warn-1", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "exec", "command": "echo \"LOAD WARNING - \$OFS_INSTANCE\"; exit 1"}},
		  "unknown": {"instances": [{"id": "unknown-1", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "exec", "command": ["sh", "-c", "echo 'UNKNOWN - no data'; exit 3"]}}}}
	EOF
	run -1 ofs_health check -f "$BATS_TEST_TMPDIR/plugins.json"
	local r
	r=$(records_of "$output")
	assert_jq "$r" '.[] | select(.instance == "open-1") | "\(.kind) \(.status) \(.exit_code) \(.output | startswith("TCP OK"))"' \
		"exec ok 0 true"
	assert_jq "$r" '.[] | select(.instance == "closed-1") | "\(.status) \(.exit_code) \(.output | test("refused"; "i")) \(.reason | test("refused"; "i"))"' \
		"critical 2 true true"
	assert_jq "$r" '.[] | select(.instance == "warn-1") | "\(.status) \(.exit_code) \(.output)"' \
		"warning 1 LOAD WARNING - warn-1"
	assert_jq "$r" '.[] | select(.instance == "unknown-1") | "\(.status) \(.exit_code)"' "unknown 3"
	assert_jq "$r" 'map(select(.type == "health.service") | "\(.service)=\(.state)") | sort | join(" ")' \
		"tcp-closed=unhealthy tcp-open=healthy unknown=unhealthy warn=degraded"
}

@test "heartbeat check: fresh and stale files, by mtime and by the last record's ts" {
	local d=$BATS_TEST_TMPDIR
	touch "$d/fresh"
	touch -d '-2 minutes' "$d/stale"
	printf '{"type":"log","ts":"2020-01-01T00:00:00.000000Z"}\n{"type":"log","ts":"%s"}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" >"$d/fresh.jsonl"
	printf '{"type":"log","ts":"%s"}\n{"type":"log","ts":"2020-01-01T00:00:00.000000Z"}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" >"$d/stale.jsonl"
	touch "$d/stale.jsonl" # fresh mtime: only the last record's ts may count
	cat >"$d/hb.json" <<-EOF
		{"name": "heartbeats", "services": {
		  "cron-fresh": {"instances": [{"id": "cron-fresh-1"}],
		    "check": {"kind": "heartbeat", "file": "$d/fresh", "ttl": "60s"}},
		  "cron-stale": {"instances": [{"id": "cron-stale-1"}],
		    "check": {"kind": "heartbeat", "file": "$d/stale", "ttl": "60s"}},
		  "log-fresh": {"instances": [{"id": "log-fresh-1"}],
		    "check": {"kind": "heartbeat", "file": "$d/fresh.jsonl", "format": "jsonl", "ttl": 60}},
		  "log-stale": {"instances": [{"id": "log-stale-1"}],
		    "check": {"kind": "heartbeat", "file": "$d/stale.jsonl", "format": "jsonl", "ttl": "1h"}},
		  "missing": {"instances": [{"id": "missing-1"}],
		    "check": {"kind": "heartbeat", "file": "$d/none", "ttl": "60s"}}}}
	EOF
	run -1 ofs_health check -f "$d/hb.json"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.check") | "\(.instance)=\(.kind):\(.status)") | sort | join(" ")' \
		"cron-fresh-1=heartbeat:ok cron-stale-1=heartbeat:critical log-fresh-1=heartbeat:ok log-stale-1=heartbeat:critical missing-1=heartbeat:critical"
	assert_jq "$r" '.[] | select(.instance == "cron-stale-1") | .reason | test("1[12][0-9] s old, ttl 60 s")'
	assert_jq "$r" '.[] | select(.instance == "missing-1") | .reason | contains("none")'
}

# ---- invalid topologies: exit 2, every problem with its pointer, no probe --

# probe_topology [JQ-FILTER]: a valid topology, changed by the filter, in
# $BATS_TEST_TMPDIR/bad.json. Its service "probe" has an exec check that
# creates $BATS_TEST_TMPDIR/probed, so any probe at all leaves a trace.
probe_topology() {
	jq "${1:-.}" >"$BATS_TEST_TMPDIR/bad.json" <<-EOF
		{"name": "probe", "services": {
		  "db": {"instances": [{"id": "db-1", "host": "127.0.0.1", "port": 1}], "check": {"kind": "tcp"}},
		  "web": {"depends_on": ["db"],
		    "instances": [{"id": "web-1", "host": "127.0.0.1", "port": 1}, {"id": "web-2", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "http", "path": "/health"}},
		  "probe": {"instances": [{"id": "probe-1", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "exec", "command": ["touch", "$BATS_TEST_TMPDIR/probed"]}}}}
	EOF
}

# assert_invalid REGEX...: check, watch and validate of bad.json exit 2,
# print nothing on stdout, probe nothing, and stderr matches each REGEX.
assert_invalid() {
	local f=$BATS_TEST_TMPDIR/bad.json re cmd
	for cmd in "check" "watch --rounds 1" "validate"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr ofs_health $cmd -f "$f"
		assert_equal "$output" ""
		for re; do
			[[ $stderr =~ $re ]] || fail "$cmd: stderr does not match '$re': $stderr"
		done
		[ ! -e "$BATS_TEST_TMPDIR/probed" ] || fail "$cmd probed an instance of an invalid topology"
	done
}

@test "the probe topology is valid, and checking it does probe (the control)" {
	probe_topology
	run -0 ofs_health validate -f "$BATS_TEST_TMPDIR/bad.json"
	assert_output ""
	run -1 ofs_health check -f "$BATS_TEST_TMPDIR/bad.json"
	[ -e "$BATS_TEST_TMPDIR/probed" ] || fail "the exec check did not run"
}

@test "invalid topology: unknown check kind" {
	probe_topology '.services.web.check.kind = "htp"'
	assert_invalid "^ofs-health: [^ ]*bad\\.json: /services/web/check/kind: .*'htp'" "did you mean 'http'"
}

@test "invalid topology: duplicate instance id" {
	probe_topology '.services.web.instances[1].id = "web-1"'
	assert_invalid "bad\\.json: /services/web/instances/1/id: .*[Dd]uplicate.*'web-1'"
}

@test "invalid topology: a dependency cycle, named" {
	probe_topology '.services.db.depends_on = ["web"]'
	assert_invalid "bad\\.json: /services/(db|web)/depends_on(/0)?: .*dependency cycle: (db -> web -> db|web -> db -> web)"
}

@test "invalid topology: bad URL" {
	probe_topology '.services.web.instances[0].url = "htp:/web-1/health"'
	assert_invalid "bad\\.json: /services/web/instances/0/url: .*'htp:/web-1/health'"
}

@test "invalid topology: unknown dependency, with a suggestion" {
	probe_topology '.services.web.depends_on = ["dbb"]'
	assert_invalid "bad\\.json: /services/web/depends_on/0: unknown service 'dbb'; did you mean 'db'\\?"
}

@test "invalid topology: unknown key, with a suggestion" {
	probe_topology '.services.web.quroum = 1'
	assert_invalid "bad\\.json: /services/web/quroum: unknown key 'quroum'; did you mean 'quorum'\\?"
}

@test "invalid topology: every problem is reported at once; JSON syntax errors name line and column" {
	probe_topology '.services.web.check.kind = "htp" | .services.web.quroum = 1 | .services.db.instances[0].port = 70000 | .services.db.check.timeout = "soon"'
	run -2 --separate-stderr ofs_health validate -f "$BATS_TEST_TMPDIR/bad.json"
	assert_equal "$(grep -c '^ofs-health: .*bad\.json: /services/' <<<"$stderr")" 4
	[[ $stderr == *"/services/db/instances/0/port: "*"70000"* ]] || fail "port not reported: $stderr"
	[[ $stderr == *"/services/db/check/timeout: "*"'soon'"* ]] || fail "timeout not reported: $stderr"
	[ ! -e "$BATS_TEST_TMPDIR/probed" ]
	printf '{"services": {,}}' >"$BATS_TEST_TMPDIR/syntax.json"
	run -2 --separate-stderr ofs_health check -f "$BATS_TEST_TMPDIR/syntax.json"
	assert_output ""
	[[ $stderr =~ syntax\.json:1:15:\ invalid\ JSON ]] || fail "no line and column: $stderr"
}

# ---- shards and targets ------------------------------------------------------

@test "--shard 1/2 and 2/2 together check every instance exactly once" {
	run -0 ofs_health check -f "$TOPO" --shard 1/2
	local s1=$output
	run -0 ofs_health check -f "$TOPO" --shard 2/2
	local s2=$output all
	all=$(jq -r '.services[].instances[].id' "$TOPO" | sort | tr '\n' ' ')
	assert_equal "$(printf '%s\n%s\n' "$s1" "$s2" | jq -r 'select(.type == "health.check") | .instance' | sort | tr '\n' ' ')" "$all"
	assert_jq "$(records_of "$s1")" 'map(.shard) | unique | join(" ")' 1/2
	assert_jq "$(records_of "$s2")" 'map(.shard) | unique | join(" ")' 2/2
	# Both shards have work, and each judges only what it checked.
	assert_jq "$(records_of "$s1")" 'map(select(.type == "health.check")) | length > 0'
	assert_jq "$(records_of "$s2")" 'map(select(.type == "health.check")) | length > 0'
	assert_jq "$(records_of "$s1")" '(map(select(.type == "health.service") | .instances) | add) == (map(select(.type == "health.check")) | length)'
	local bad
	for bad in 0/2 3/2 1/0 2 x/y 1/2/3; do
		run -2 ofs_health check -f "$TOPO" --shard "$bad"
	done
}

@test "targets as JSONL on stdin: url and tcp forms, joined to a topology" {
	local port
	port=$(jq -r '.services.payments.instances[0].port' "$TOPO")
	run -0 bash -c 'jq -c ".services | to_entries[] | .key as \$s | .value.instances[]
		| {service: \$s, id, url: \"http://\(.host):\(.port)/health\"}" "$1" | "$2" check' _ "$TOPO" "$OFS_BIN/ofs-health"
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.check") | "\(.instance)=\(.status)") | sort | join(" ")' \
		"gateway-1=ok gateway-2=ok inventory-1=ok inventory-2=ok orders-1=ok orders-2=ok payments-1=ok payments-2=ok shipping-1=ok"
	assert_jq "$r" '.[-1] | "\(.services) \(.healthy) \(.checks)"' "5 5 9"
	printf '%s\n' "{\"service\":\"db\",\"id\":\"db-1\",\"host\":\"127.0.0.1\",\"port\":$port,\"check\":{\"kind\":\"tcp\"}}" \
		'{"service":"db","id":"db-2","host":"127.0.0.1","port":1,"check":{"kind":"tcp"}}' >"$BATS_TEST_TMPDIR/db.jsonl"
	run -1 ofs_health check "$BATS_TEST_TMPDIR/db.jsonl"
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.check") | "\(.instance)=\(.kind):\(.status)") | join(" ")' \
		"db-1=tcp:ok db-2=tcp:critical"
	assert_jq "$r" '.[] | select(.type == "health.service") | "\(.state) \(.reason)"' \
		"degraded 1 of 2 instances healthy, quorum 2"
	# A target added to a topology's service joins it: orders gets a third,
	# dead instance, is degraded, and so is the gateway that depends on it.
	run -1 ofs_health check -f "$TOPO" - <<<'{"service":"orders","id":"orders-3","url":"http://127.0.0.1:1/health"}'
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.service") | "\(.service)=\(.state)") | join(" ")' \
		"payments=healthy inventory=healthy shipping=healthy orders=degraded gateway=degraded"
	assert_jq "$r" '.[] | select(.type == "health.service" and .service == "gateway") | .reason' \
		"dependency orders degraded"
}

# ---- watch: hysteresis, recovery, giving up ------------------------------------

@test "watch: rise 2 and fall 3; a flapping instance never changes its reported state" {
	local d=$BATS_TEST_TMPDIR
	# Each check bumps its counter; flap alternates ok/critical from ok,
	# dies is ok once then always critical, heals is critical twice then ok.
	cat >"$d/flap.json" <<-EOF
		{"name": "flap", "services": {
		  "flap": {"rise": 2, "fall": 3, "instances": [{"id": "flap-1"}],
		    "check": {"kind": "exec", "command": "n=\$(cat $d/flap.n 2>/dev/null || echo 0); echo \$((n + 1)) >$d/flap.n; exit \$((n % 2 * 2))"}},
		  "dies": {"rise": 2, "fall": 3, "instances": [{"id": "dies-1"}],
		    "check": {"kind": "exec", "command": "n=\$(cat $d/dies.n 2>/dev/null || echo 0); echo \$((n + 1)) >$d/dies.n; [ \$n -eq 0 ] || exit 2"}},
		  "heals": {"rise": 2, "fall": 3, "instances": [{"id": "heals-1"}],
		    "check": {"kind": "exec", "command": "n=\$(cat $d/heals.n 2>/dev/null || echo 0); echo \$((n + 1)) >$d/heals.n; [ \$n -ge 2 ] || exit 2"}}}}
	EOF
	run -1 ofs_health watch -v -f "$d/flap.json" --interval 100ms --fast-interval 100ms --rounds 10
	local r
	r=$(records_of "$output")
	assert_equal "$(cat "$d/flap.n")" 10
	# The check really flapped...
	assert_jq "$r" 'map(select(.type == "health.check" and .instance == "flap-1") | .status[0:1]) | join("")' \
		"ocococococ"
	# ...but neither the instance nor the service ever changed state.
	assert_jq "$r" 'map(select(.type == "health.transition" and .service == "flap" and .round > 1)) | length' 0
	assert_jq "$r" 'map(select(.type == "health.service" and .service == "flap") | .state) | unique | join(" ")' healthy
	# The controls: failing after exactly 3 failures (rounds 2, 3, 4),
	# healthy again after exactly 2 successes (rounds 3, 4).
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "instance" and .round > 1) | "\(.instance):\(.from)>\(.to)@\(.round)") | join(" ")' \
		"dies-1:healthy>failing@4 heals-1:failing>healthy@4"
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .round > 1) | "\(.service):\(.from)>\(.to)@\(.round)") | sort | join(" ")' \
		"dies:healthy>unhealthy@4 heals:unhealthy>healthy@4"
	assert_jq "$r" 'all(.[] | select(.type == "health.transition"); .reason | length > 0)'
	assert_jq "$r" 'map(select(.type == "health.round")) | length' 10
}

@test "man page example: recover — a kill -9'd instance is restarted and healthy within 10 s, with defaults" {
	local cmd out=$BATS_TEST_TMPDIR/watch.jsonl
	cmd=$(on_shop "$(man_commands recover)")
	[[ $cmd == "ofs-health watch --recover -f $TOPO" ]] || fail "unexpected example: $cmd"
	# shellcheck disable=SC2086
	bg_health "$out" ${cmd#ofs-health }
	sleep 1 # the first round has set every state
	local old t0 t1
	old=$(cat "$SHOP_DIR/run/shipping-1.pid")
	t0=$(date +%s%N)
	kill_instances shipping-1
	wait_for_record "$out" '.type == "recovery.done" and .instance == "shipping-1"' 10
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -le 10000 ] || fail "recovered after $(((t1 - t0) / 1000000)) ms"
	local r
	r=$(jq -s -c . "$out")
	assert_jq "$r" 'map(select(.type == "recovery.start") | "\(.service) \(.instance) \(.attempt) \(.exit_code) \(.hook | join(" "))") | join(",")' \
		"shipping shipping-1 1 0 $OFS_BIN/shopd restart --dir $SHOP_DIR shipping-1"
	assert_jq "$r" ".[] | select(.type == \"recovery.start\") | .detected_at | test(\"$TS_RE\")"
	assert_jq "$r" '.[] | select(.type == "recovery.start") | .reason | length > 0'
	assert_jq "$r" '.[] | select(.type == "recovery.done") | "\(.service) \(.restarts) \(.recovery_s > 0 and .recovery_s < 10)"' \
		"shipping 1 true"
	# Transitions tell the story; without -v no check records.
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .service == "shipping") | "\(.from)>\(.to)") | join(" ")' \
		"healthy>unhealthy unhealthy>healthy"
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .service == "orders") | .to) | join(" ")' \
		"impacted healthy"
	assert_jq "$r" 'map(select(.type == "health.check")) | length' 0
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" shipping-1
	assert_jq "$output" '.pid != '"$old"
	# SIGTERM ends the watch with 143 after writing whole records.
	kill -TERM "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
	run -0 jq -e -s 'length > 0' "$out"
}

@test "watch --recover: one of two payments instances killed (degraded) is restarted" {
	local out=$BATS_TEST_TMPDIR/watch.jsonl
	bg_health "$out" watch --recover -f "$TOPO"
	sleep 1
	kill_instances payments-2
	wait_for_record "$out" '.type == "recovery.done" and .instance == "payments-2"' 10
	kill -TERM "$BG_PID"
	wait "$BG_PID" || true
	local r
	r=$(jq -s -c . "$out")
	assert_jq "$r" 'map(select(.type == "recovery.start") | .instance) | join(",")' "payments-2"
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .service == "payments") | "\(.from)>\(.to)") | join(" ")' \
		"healthy>degraded degraded>healthy"
}

@test "watch --recover: inventory killed, only inventory is restarted; --rto judged" {
	local out=$BATS_TEST_TMPDIR/watch.jsonl
	bg_health "$out" watch --recover --rto 30s -f "$TOPO"
	sleep 1
	kill_instances inventory-1 inventory-2
	wait_for_record "$out" '.type == "recovery.done" and .instance == "inventory-1"' 10
	wait_for_record "$out" '.type == "recovery.done" and .instance == "inventory-2"' 5
	local r
	r=$(jq -s -c . "$out")
	assert_jq "$r" 'map(select(.type == "recovery.start") | .instance) | sort | join(" ")' "inventory-1 inventory-2"
	assert_jq "$r" 'map(select(.type == "recovery.done") | "\(.service) \(.rto_s) \(.rto_breached)") | unique | join(",")' \
		"inventory 30 false"
	# The dependents were impacted (and said so) but never restarted.
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .to == "impacted") | .service) | sort | join(" ")' \
		"gateway orders"
	assert_jq "$r" 'map(select(.type == "health.transition" and .scope == "service" and .to == "impacted") | .reason) | unique | map(test("^depends on (inventory|orders)")) | all'
	assert_jq "$r" 'map(select(.type | startswith("recovery.")) | .service) | unique | join(" ")' inventory
	kill -TERM "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
}

@test "watch --recover: a service that crashes on every start ends in one recovery.gaveup" {
	cat >"$BATS_TEST_TMPDIR/crashy.json" <<-'EOF'
		{"name": "crashy", "services": {
		  "crashy": {"instances": [{"id": "crashy-1", "host": "127.0.0.1", "port": 1}],
		    "check": {"kind": "tcp", "timeout": "500ms"},
		    "restart": ["true"],
		    "recovery": {"budget": 2, "window": "1m", "backoff": "100ms", "backoff_max": "200ms", "grace": "100ms"}}}}
	EOF
	run -1 ofs_health watch --recover -f "$BATS_TEST_TMPDIR/crashy.json" --interval 100ms --fast-interval 100ms --rounds 25
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type | startswith("recovery.")) | .type) | join(" ")' \
		"recovery.start recovery.start recovery.gaveup"
	assert_jq "$r" 'map(select(.type == "recovery.start") | "\(.attempt) \(.hook | join(" ")) \(.exit_code)") | join(",")' \
		"1 true 0,2 true 0"
	assert_jq "$r" '.[] | select(.type == "recovery.gaveup") | "\(.service) \(.restarts) \(.window_s) \(.reason)"' \
		"crashy 2 60 2 restarts within 1m reached the budget of 2; none until healthy for 1m"
	assert_jq "$r" 'map(select(.type == "recovery.done")) | length' 0
}

@test "watch --recover --dry-run records the restart and runs no hook" {
	kill_instances shipping-1
	run -1 ofs_health watch --recover --dry-run -f "$TOPO" --rounds 2 --interval 100ms --fast-interval 100ms
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "recovery.start") | "\(.instance) \(.dry_run) \(has("exit_code"))") | unique | join(",")' \
		"shipping-1 true false"
	run -1 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" shipping-1
	assert_jq "$output" '.state' down
}

# ---- the bad-input set (DESIGN.md section 7) ---------------------------------

@test "empty input: no targets is no instance at all, not a yes" {
	run -1 --separate-stderr ofs_health check </dev/null
	assert_equal "$stderr" ""
	assert_jq "$(records_of "$output")" '.[] | "\(.type) \(.services) \(.checks)"' "health.round 0 0"
	: >"$BATS_TEST_TMPDIR/empty.json"
	run -2 --separate-stderr ofs_health check -f "$BATS_TEST_TMPDIR/empty.json"
	[[ $stderr == *"empty.json"* ]] || fail "the empty topology is not named: $stderr"
}

@test "a malformed target line: exit 3, FILE:LINE named, the good targets still checked" {
	local f=$BATS_TEST_TMPDIR/targets.jsonl
	{
		echo "{\"service\":\"payments\",\"id\":\"payments-1\",\"url\":\"$(shop_url payments-1)/health\"}"
		echo '{"service": "payments", "id":'
		echo "{\"service\":\"payments\",\"id\":\"payments-2\",\"url\":\"$(shop_url payments-2)/health\"}"
	} >"$f"
	run -3 --separate-stderr ofs_health check "$f"
	[[ $stderr == "ofs-health: $f:2: "* ]] || fail "line 2 not named: $stderr"
	assert_equal "$(wc -l <<<"$stderr")" 1
	assert_jq "$(records_of "$output")" 'map(select(.type == "health.check") | "\(.instance)=\(.status)") | join(" ")' \
		"payments-1=ok payments-2=ok"
	# --strict stops at it, checking nothing.
	run -3 --separate-stderr ofs_health check --strict "$f"
	[[ $stderr == *"$f:2: "* ]] || fail "line 2 not named: $stderr"
	refute_output --partial health.check
}

@test "a 10 MB line is rejected by itself; the lines around it are checked" {
	local f=$BATS_TEST_TMPDIR/big.jsonl
	{
		echo "{\"service\":\"shipping\",\"id\":\"shipping-1\",\"url\":\"$(shop_url shipping-1)/health\"}"
		printf '"'
		head -c 10485760 /dev/zero | tr '\0' x
		printf '"\n'
		echo "{\"service\":\"orders\",\"id\":\"orders-1\",\"url\":\"$(shop_url orders-1)/health\"}"
	} >"$f"
	run -3 --separate-stderr ofs_health check "$f"
	[[ $stderr == "ofs-health: $f:2: "* ]] || fail "line 2 not named: ${stderr:0:300}"
	[ "${#stderr}" -lt 2000 ] || fail "the message repeats the line: ${#stderr} bytes"
	assert_jq "$(records_of "$output")" 'map(select(.type == "health.check") | .instance) | join(" ")' \
		"shipping-1 orders-1"
}

@test "binary garbage is rejected line by line, never crashes" {
	local f=$BATS_TEST_TMPDIR/garbage
	printf '\x00\x01\x02\xff\xfe\x80garbage\n\x7fELF\x02\x01\x01\x00\n\xc3\x28\n' >"$f"
	run -3 --separate-stderr ofs_health check "$f"
	[[ $stderr == *"$f:1: "* && $stderr == *"$f:2: "* && $stderr == *"$f:3: "* ]] ||
		fail "not every line reported: $stderr"
	refute_output --partial health.check
	run -2 --separate-stderr ofs_health check -f "$f"
	[[ $stderr == *"$f"* ]] || fail "the file is not named: $stderr"
}

@test "a missing file is a usage error (2) naming it, quoted; nothing is checked" {
	local f=$BATS_TEST_TMPDIR/none.json
	run -2 --separate-stderr ofs_health check -f "$f"
	assert_equal "$stderr" "ofs-health: cannot open '$f': No such file or directory"
	assert_output ""
	run -2 --separate-stderr ofs_health check "$BATS_TEST_TMPDIR/none.jsonl"
	[[ $stderr == *"'$BATS_TEST_TMPDIR/none.jsonl': No such file or directory"* ]] || fail "$stderr"
	assert_output ""
	run -2 --separate-stderr ofs_health validate -f "$f"
	[[ $stderr == *"'$f': No such file or directory"* ]] || fail "$stderr"
}

@test "a failed write (>/dev/full) exits 4" {
	run -4 --separate-stderr bash -c '"$1" check -f "$2" >/dev/full' _ "$OFS_BIN/ofs-health" "$TOPO"
	[[ $stderr == *"No space left on device"* ]] || fail "$stderr"
	run -4 bash -c '"$1" check -f "$2" -o nagios >/dev/full' _ "$OFS_BIN/ofs-health" "$TOPO"
}

@test "SIGTERM mid-watch: exit 143 after the round's records are written" {
	local out=$BATS_TEST_TMPDIR/watch.jsonl
	bg_health "$out" watch -v -f "$TOPO" --interval 1s
	wait_for_record "$out" '.type == "health.round"' 5
	kill -TERM "$BG_PID"
	local t0=$SECONDS st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
	[ $((SECONDS - t0)) -le 3 ] || fail "took $((SECONDS - t0)) s to stop"
	# Whole records only, each round complete up to its health.round.
	run -0 jq -s -r '.[-1].type' "$out"
	assert_output health.round
	run -0 jq -s -r 'map(select(.type == "health.check")) | length' "$out"
	[ $((output % 9)) -eq 0 ] || fail "a round was cut short: $output checks"
}

@test "--help, --version, and misuse exits 2 with a suggestion" {
	run -0 ofs_health --help
	assert_line --index 0 "usage: ofs-health [-h] command [argument ...]"
	local c
	for c in check watch graph validate; do
		assert_line --regexp "^  $c +[a-z]"
	done
	for c in check watch graph validate; do
		run -0 ofs_health "$c" --help
		assert_line --index 0 --partial "usage: ofs-health $c ["
	done
	run -0 ofs_health --version
	assert_output --regexp '^ofs-health [0-9]+\.[0-9]+\.[0-9]+'
	run -2 --separate-stderr ofs_health
	run -2 --separate-stderr ofs_health chek
	[[ $stderr == *"did you mean 'check'?"* ]] || fail "$stderr"
	run -2 ofs_health check -f "$TOPO" -o xml
	run -2 ofs_health check -f "$TOPO" -c 0
	run -2 ofs_health check -f "$TOPO" --timeout soon
	run -2 ofs_health check -f "$TOPO" --jitter -1s
	run -2 ofs_health check -f "$TOPO" --bogus
	run -2 ofs_health watch -f "$TOPO" --rounds 0
	run -2 ofs_health watch -f "$TOPO" --interval 0
	run -2 ofs_health validate
	run -2 ofs_health graph -f "$TOPO" -o png
}

# ---- graph ---------------------------------------------------------------

@test "graph: DOT, Mermaid and JSONL edges, with the states of one round" {
	run -0 ofs_health graph -f "$TOPO" --no-check -o dot
	assert_line --index 0 --regexp '^digraph'
	local e
	for e in '"gateway" -> "orders"' '"gateway" -> "inventory"' '"orders" -> "inventory"' \
		'"orders" -> "payments"' '"orders" -> "shipping"'; do
		assert_output --partial "$e"
	done
	run -0 ofs_health graph -f "$TOPO" --no-check -o mermaid
	assert_line --index 0 --regexp '^flowchart'
	kill_instances payments-1 payments-2
	run -0 ofs_health graph -f "$TOPO" -o jsonl
	local r
	r=$(records_of "$output")
	assert_jq "$r" 'map(select(.type == "health.edge") | "\(.from)>\(.to)") | sort | join(" ")' \
		"gateway>inventory gateway>orders orders>inventory orders>payments orders>shipping"
	assert_jq "$r" 'map(select(.type == "health.edge") | "\(.from)>\(.to):\(.to_state):\(.failing)") | sort | join(" ")' \
		"gateway>inventory:healthy:false gateway>orders:impacted:true orders>inventory:healthy:false orders>payments:unhealthy:true orders>shipping:healthy:false"
	assert_jq "$r" 'map(select(.type == "health.node") | "\(.service)=\(.state):\(.root_cause // "-"):\(.depends_on | join(","))") | join(" ")' \
		"gateway=impacted:payments:orders,inventory orders=impacted:payments:inventory,payments,shipping payments=unhealthy:-: inventory=healthy:-: shipping=healthy:-:"
	run -0 ofs_health graph -f "$TOPO" -o dot
	assert_output --partial '"orders" -> "payments" [color='
}

# ---- the manual's examples and the README ---------------------------------------

@test "every example of the manual is named and run by a test of this file" {
	check_examples_named
}

@test "man page example: check-text" {
	local cmd
	cmd=$(on_shop "$(man_commands check-text)")
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "$cmd"
	local s
	for s in payments inventory shipping orders gateway; do
		assert_line --regexp "^$s +healthy +[12]/[12]"
	done
}

@test "man page example: root-cause" {
	kill_instances payments-1 payments-2
	local cmd
	cmd=$(on_shop "$(man_commands root-cause)")
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "set -o pipefail; $cmd || [ \$? = 1 ]"
	assert_output "$(man_output root-cause)"
}

@test "man page example: discovery" {
	local cmd
	cmd=$(on_shop "$(man_commands discovery)")
	[[ $cmd == *"shopd status"*"jq -c"*"ofs-health check"* ]] || fail "unexpected example: $cmd"
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "set -o pipefail; $cmd"
	local s
	for s in payments inventory shipping orders gateway; do
		assert_line --regexp "^$s +healthy +[12]/[12]"
	done
}

@test "man page example: nagios" {
	local cmd
	cmd=$(on_shop "$(man_example nagios | sed -n 's/^ *command_line *//p')")
	[[ $cmd == "$OFS_BIN/ofs-health check -f $TOPO -o nagios" ]] || fail "unexpected example: $cmd"
	run -0 bash -c "$cmd"
	assert_output --regexp "$NAGIOS_LINE"
	kill_instances payments-1 payments-2
	run -2 bash -c "$cmd"
	assert_output --regexp "$NAGIOS_LINE"
	# The line shown in OUTPUT FORMATS is this one, up to the timings.
	local shown
	shown=$(awk '/^\.It Cm nagios/ { f = 1 } f && /^OFS-HEALTH/ { print; exit }' "$OFS_TOP/man/ofs-health.1")
	assert_equal "${output%%|*}" "${shown%%|*}"
	[[ $shown =~ $NAGIOS_LINE ]] || fail "the manual's own line is not valid perfdata: $shown"
}

@test "man page example: cron" {
	local stubs=$BATS_TEST_TMPDIR/stubs textfile=$BATS_TEST_TMPDIR/textfile lines
	mkdir -p "$stubs" "$textfile"
	printf '#!/bin/sh\n{ echo "mail $*"; cat; } >"%s/mail.out"\n' "$BATS_TEST_TMPDIR" >"$stubs/mail"
	chmod +x "$stubs/mail"
	lines=$(man_example cron | sed -E 's/^([^ ]+ +){5}//')
	lines=$(on_shop "$lines")
	lines=${lines//\/var\/lib\/prometheus\/node-exporter/$textfile}
	assert_equal "$(wc -l <<<"$lines")" 2
	# Healthy: no mail, and the metrics file.
	while IFS= read -r line; do
		PATH="$stubs:$OFS_BIN:$PATH" bash -c "$line" || fail "failed: $line"
	done <<<"$lines"
	[ ! -e "$BATS_TEST_TMPDIR/mail.out" ] || fail "mail was sent while healthy"
	grep -qx 'ofs_health_service_state{service="payments",state="healthy"} 1' "$textfile/ofs-health.prom"
	# Payments down: the table is mailed.
	kill_instances payments-1 payments-2
	while IFS= read -r line; do
		PATH="$stubs:$OFS_BIN:$PATH" bash -c "$line" || true
	done <<<"$lines"
	run -0 cat "$BATS_TEST_TMPDIR/mail.out"
	assert_line --index 0 "mail -s shop: not healthy ops"
	assert_line --regexp '^payments +unhealthy'
	grep -qx 'ofs_health_service_state{service="payments",state="unhealthy"} 1' "$textfile/ofs-health.prom"
}

@test "man page example: shard" {
	local cmd
	cmd=$(on_shop "$(man_commands shard)")
	cd "$BATS_TEST_TMPDIR"
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "$cmd"
	assert_output "$(jq -r '.services[].instances[].id' "$TOPO" | sort)"
}

@test "man page example: graph" {
	local cmd
	cmd=$(on_shop "$(man_commands graph)")
	cd "$BATS_TEST_TMPDIR"
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "set -e; $cmd"
	assert_output ""
	run -0 cat deps.mmd
	assert_line --index 0 --regexp '^flowchart'
	assert_equal "$(grep -c -- '-->' deps.mmd)" 5
}

@test "the README's ofs-health session works as written" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/bin"
	cp "$OFS_BIN/shopd" "$OFS_BIN/ofs-health" "$tree/bin/"
	ln -s "$OFS_TOP/examples" "$tree/examples"
	awk '/^## ofs-health/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md" | sed "s|/tmp/shop|$BATS_TEST_TMPDIR/shop|g" >"$tree/session.sh"
	grep -q 'ofs-health' "$tree/session.sh" || fail "no ofs-health session found in README.md"
	cd "$tree"
	run -0 bash -e session.sh
	"$OFS_BIN/shopd" stop --dir "$BATS_TEST_TMPDIR/shop" >/dev/null 2>&1 || true
	assert_line --regexp '^payments +healthy +2/2'
	assert_line --regexp '^OFS-HEALTH CRITICAL - 1 unhealthy: payments; 2 impacted: orders, gateway \| '
	assert_line "exit status 2"
	assert_line --regexp '^\{"type":"recovery\.done",.*"instance":"payments-1"'
	assert_line --regexp '^\{"type":"recovery\.done",.*"instance":"payments-2"'
}

@test "make demo shows a failure detected by ofs-health and healed by watch --recover" {
	run -0 bash "$OFS_TOP/examples/demo.sh"
	assert_line "== Checking every instance with ofs-health =="
	assert_line "== Killing both payments instances with kill -9 =="
	assert_line --regexp '^  payments +unhealthy +0/2 +0 of 2 instances healthy'
	assert_line --regexp '^  orders +impacted +2/2 +depends on payments \(unhealthy\)$'
	assert_line "  ofs-health check exits 1: payments is the root cause, orders and the gateway are impacted"
	assert_line "== Healing: ofs-health watch --recover restarts payments =="
	assert_line --regexp '^  restart [12]: .*/shopd restart --dir .* payments-1$'
	assert_line --regexp '^  payments-2 is healthy again, [0-9.]+ s after its failure was seen$'
	assert_line --regexp '^  OFS-HEALTH OK - 5 services healthy \| '
	assert_line "demo: done"
}
