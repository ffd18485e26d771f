#!/usr/bin/env bats
# tests/ofs-chaos.bats: `ofs-chaos run` and `pick` against the example
# shop: an instance killed while ofs-health heals the shop (completed,
# recovery measured) and while nothing does (deviated), a latency toxic
# between orders and payments, Chaos Toolkit files run unchanged, a
# failed gate that exits 1 and injects nothing, kill -9 of a run with
# four kinds of faults live and `recover --all` undoing them, signals,
# outputs feeding later activities, background activities, the ledger
# refusing overlapping runs, the Markdown report, the dry run, and the
# catalog picker and the README session (`make demo` is tests/demo.bats). The examples of
# man/ofs-chaos.1 are run by tests/ofs-chaos-man.bats.
#
# One shop runs for the whole file; teardown heals it, ends every
# background process and undoes every fault left in the ledger.

load helpers

unset TRACEPARENT TRACESTATE

setup_file() {
	shop_start
	export TOPO=$SHOP_DIR/topology.json
	export OFS_STATE_DIR=$BATS_FILE_TMPDIR/state
	export EXAMPLES=$OFS_TOP/examples/chaos
	export FIXTURES=$OFS_TOP/tests/fixtures/chaos
}

teardown_file() {
	shop_stop
}

teardown() {
	stop_bg
	"$OFS_BIN/ofs-chaos" recover --all --force >/dev/null 2>&1 || true
	shop_heal
}


chaos() {
	"$OFS_BIN/ofs-chaos" "$@"
}



# verdict FILE: the chaos.verdict record of a run's output.
verdict() {
	jq -c 'select(.type == "chaos.verdict")' "$1"
}

# live_faults: how many faults the ledger holds live.
live_faults() {
	chaos ledger | jq -s length
}

# start_proxy UPSTREAM: an ofs-chaos proxy in front of UPSTREAM (host:port);
# sets PROXY_ADDR and PROXY_CONTROL.
start_proxy() {
	local out=$BATS_TEST_TMPDIR/proxy.jsonl
	PROXY_CONTROL=$BATS_TEST_TMPDIR/proxy.sock
	bg "$out" chaos proxy --listen 127.0.0.1:0 --upstream "$1" --control "$PROXY_CONTROL"
	wait_for_record "$out" '.event == "listening"' 5
	PROXY_ADDR=$(jq -r 'select(.event == "listening") | .listen' "$out")
	export PROXY_ADDR PROXY_CONTROL
}

hostport() {
	"$OFS_BIN/shopd" url --dir "$SHOP_DIR" "$1" | sed 's|^http://||'
}

@test "kill a payments instance while ofs-health heals: completed, recovery measured under the RTO" {
	bg "$BATS_TEST_TMPDIR/health.jsonl" "$OFS_BIN/ofs-health" watch --recover -f "$TOPO"
	sleep 1
	local out=$BATS_TEST_TMPDIR/run.jsonl
	run -0 chaos run --topology "$TOPO" "$EXAMPLES/kill-payments.json"
	echo "$output" >"$out"
	local v
	v=$(verdict "$out")
	assert_jq "$v" '.status' completed
	assert_jq "$v" '.steady_state.before and .steady_state.after'
	assert_jq "$v" '.recovery_s > 0 and .recovery_s < 30'
	assert_jq "$v" '.rto_s' 30
	assert_jq "$v" '.rto_met'
	assert_jq "$v" '.faults' 1
	# The killed instance is the one ofs-health restarted.
	local killed
	killed=$(jq -r 'select(.type == "chaos.activity" and .phase == "method") | .output.instance' "$out")
	[[ $killed == payments-[12] ]] || fail "killed: $killed"
	wait_for_record "$BATS_TEST_TMPDIR/health.jsonl" \
		".type == \"recovery.done\" and .instance == \"$killed\"" 5
	# The journal holds every record, the ledger nothing live.
	run -0 jq -s -c 'map(.type) | unique' "$(jq -r .journal <<<"$v")"
	assert_output '["chaos.activity","chaos.hypothesis","chaos.run","chaos.undo","chaos.verdict"]'
	assert_equal "$(live_faults)" 0
}

@test "kill a payments instance with nothing recovering: deviated, exit 1, the instance restored after" {
	local out=$BATS_TEST_TMPDIR/run.jsonl
	run -1 chaos run --rto 3s --interval 250ms --topology "$TOPO" "$EXAMPLES/kill-payments.json"
	echo "$output" >"$out"
	local v
	v=$(verdict "$out")
	assert_jq "$v" '.status' deviated
	assert_jq "$v" '.deviated'
	assert_jq "$v" '.steady_state.after' false
	assert_jq "$v" '.recovery_s' null
	assert_jq "$v" '.rto_met' false
	assert_jq "$v" '.reason | test("not restored within the RTO: payments-healthy: state degraded")'
	# The hypothesis was polled until the RTO was spent.
	run -0 jq -s '[.[] | select(.type == "chaos.hypothesis" and .phase == "after")] | length >= 5' "$out"
	assert_output true
	# The undo restarted the killed instance through its start hook.
	run -0 jq -r 'select(.type == "chaos.undo") | "\(.kind) \(.status)"' "$out"
	assert_output "kill undone"
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR"
	assert_equal "$(live_faults)" 0
}

@test "a 500 ms latency toxic between orders and payments makes orders degraded: deviated" {
	local topo=$BATS_TEST_TMPDIR/deep.json
	# orders' deep health check crosses to payments; over 300 ms is a warning.
	jq '.services.orders.check += {"path": "/health?deep=1", "warn": "300ms", "timeout": "3s"}' \
		"$TOPO" >"$topo"
	start_proxy "$(hostport payments-1)"
	export ORDERS_1_URL ORDERS_2_URL
	ORDERS_1_URL=$(shop_url orders-1)
	ORDERS_2_URL=$(shop_url orders-2)
	local out=$BATS_TEST_TMPDIR/run.jsonl
	run -1 chaos run --topology "$topo" "$EXAMPLES/payments-latency.json"
	echo "$output" >"$out"
	local v
	v=$(verdict "$out")
	assert_jq "$v" '.status' deviated
	assert_jq "$v" '.steady_state.before'
	assert_jq "$v" '.steady_state.after' false
	assert_jq "$v" '.reason | test("orders-healthy: state degraded: orders degraded")'
	run -0 jq -r 'select(.type == "chaos.hypothesis" and .phase == "after") | .probes[0].why' "$out"
	assert_output --partial "latency"
	# The toxic was removed and the routes cleared by the rollbacks.
	run -0 jq -r 'select(.type == "chaos.undo") | "\(.kind) \(.status)"' "$out"
	assert_output "proxy undone"
	run -0 curl -s "$ORDERS_1_URL/admin/route"
	assert_output "{}"
}

@test "a Chaos Toolkit experiment with process and http providers runs unchanged" {
	local out=$BATS_TEST_TMPDIR/run.jsonl
	export SHOP_PAYMENTS_URL MARKER=$BATS_TEST_TMPDIR/rolled-back
	SHOP_PAYMENTS_URL=$(shop_url payments-1)
	run -0 chaos run "$FIXTURES/ctk-process-http.json"
	echo "$output" >"$out"
	assert_jq "$(verdict "$out")" '.status' completed
	run -0 jq -r 'select(.type == "chaos.activity") | "\(.phase) \(.name) \(.status) \(.tolerance_met)"' "$out"
	assert_output "hypothesis-before payments-health succeeded true
hypothesis-before payments-says-ok succeeded true
hypothesis-before shell-works succeeded true
method slow-payments succeeded null
method still-answers succeeded true
method uptime succeeded null
hypothesis-after payments-health succeeded true
hypothesis-after payments-says-ok succeeded true
hypothesis-after shell-works succeeded true
rollback clear-fault succeeded null
rollback mark succeeded null"
	[ -e "$MARKER" ] || fail "the rollback did not run"
}

@test "a Chaos Toolkit experiment whose gate fails exits 1 (not 0) and runs nothing of its method" {
	local out=$BATS_TEST_TMPDIR/run.jsonl
	export SHOP_PAYMENTS_URL=http://127.0.0.1:1 MARKER=$BATS_TEST_TMPDIR/rolled-back
	run -1 chaos run "$FIXTURES/ctk-process-http.json"
	echo "$output" >"$out"
	local v
	v=$(verdict "$out")
	assert_jq "$v" '.status' gate_failed
	assert_jq "$v" '.reason | startswith("the steady-state hypothesis did not hold before the method: payments-health: ")'
	run -0 jq -s -c 'map(select(.type == "chaos.activity") | .phase) | unique' "$out"
	assert_output '["hypothesis-before"]'
	[ ! -e "$MARKER" ] || fail "a rollback ran after a failed gate"
}

@test "a failed gate exits 1 (not 0), says gate_failed and injects nothing" {
	local out=$BATS_TEST_TMPDIR/run.jsonl
	shop_fault payments-1 '{"health":"fail"}'
	run -1 chaos run --topology "$TOPO" "$EXAMPLES/kill-payments.json"
	echo "$output" >"$out"
	local v
	v=$(verdict "$out")
	assert_jq "$v" '.status' gate_failed
	assert_jq "$v" '.steady_state.before' false
	assert_jq "$v" '.faults' 0
	assert_jq "$v" '.rollbacks.ran' false
	run -0 jq -s '[.[] | select(.type == "chaos.activity" and .phase == "method")] | length' "$out"
	assert_output 0
	assert_equal "$(shop_pids | wc -l)" 9
	assert_equal "$(live_faults)" 0
}

@test "kill -9 mid-experiment: recover --all restores the file, resumes the process, stops the stress, removes the toxic" {
	local dir=$BATS_TEST_TMPDIR
	printf 'listen 8080\nworkers 4\n' >"$dir/app.conf"
	chmod 0640 "$dir/app.conf"
	cp -p "$dir/app.conf" "$dir/app.conf.orig"
	sleep 300 &
	local victim=$!
	echo "$victim" >>"$dir/pids"
	start_proxy "$(hostport payments-1)"
	jq -n --arg conf "$dir/app.conf" --argjson pid "$victim" --arg ctl "$PROXY_CONTROL" '{
		title: "four faults at once", description: "left behind by kill -9",
		method: [
			{type: "action", name: "corrupt", provider: {type: "fault", kind: "corrupt", path: $conf, mode: "garbage"}},
			{type: "action", name: "pause", provider: {type: "fault", kind: "pause", pid: $pid}},
			{type: "action", name: "stress", provider: {type: "fault", kind: "stress", cpu: 1}},
			{type: "action", name: "toxic", provider: {type: "fault", kind: "proxy", control: $ctl,
				toxic: {name: "slow", type: "latency", attributes: {latency: 100}}}},
			{type: "action", name: "wait", provider: {type: "sleep", duration: "60s"}}
		]}' >"$dir/exp.json"
	bg "$dir/run.jsonl" chaos run "$dir/exp.json"
	local runner=$BG_PID
	wait_for_record "$dir/run.jsonl" '.name == "toxic"' 10
	# Everything is damaged now.
	! cmp -s "$dir/app.conf" "$dir/app.conf.orig" || fail "not corrupted"
	assert_equal "$(awk '{ print $3 }' "/proc/$victim/stat")" T
	local stress_pgid
	stress_pgid=$(chaos ledger | jq -r 'select(.kind == "stress") | .undo.pgid')
	kill -0 -- "-$stress_pgid" || fail "no stress workers"
	wait_for_record "$dir/proxy.jsonl" '.event == "toxic_added" and .toxic.name == "slow"' 5
	assert_equal "$(live_faults)" 4
	kill -KILL "$runner"
	wait "$runner" || true
	assert_equal "$(live_faults)" 4
	run -0 chaos recover --all
	run -0 jq -r '"\(.kind) \(.status)"' <<<"$output"
	assert_output "proxy undone
stress undone
pause undone
corrupt undone"
	cmp "$dir/app.conf" "$dir/app.conf.orig"
	assert_equal "$(stat -c %a "$dir/app.conf")" 640
	[ "$(awk '{ print $3 }' "/proc/$victim/stat")" != T ] || fail "still stopped"
	# Killed workers may linger as zombies where PID 1 does not reap.
	local alive
	alive=$(ps -e -o pgid=,stat= | awk -v g="$stress_pgid" '$1 == g && $2 !~ /^Z/' | wc -l)
	assert_equal "$alive" 0
	assert_equal "$(live_faults)" 0
	wait_for_record "$dir/proxy.jsonl" '.event == "toxic_removed"' 5
}

# exec_fault NAME MARKER: an exec fault creating MARKER, removed on undo.
exec_fault() {
	jq -n -c --arg name "$1" --arg m "$2" \
		'{type: "action", name: $name, provider: {type: "fault", kind: "exec",
		  inject: ["touch", $m], revert: ["rm", "-f", $m]}}'
}

# experiment FILE METHOD-ARRAY [ROLLBACKS-ARRAY] [EXTRA-OBJECT]: write a small
# experiment whose hypothesis is a process probe that always holds.
experiment() {
	jq -n --argjson m "$2" --argjson r "${3:-[]}" --argjson x "${4:-{\}}" '{
		title: "t", description: "d",
		"steady-state-hypothesis": {title: "true holds", probes: [
			{type: "probe", name: "true", tolerance: 0,
			 provider: {type: "process", path: "true"}}]},
		method: $m, rollbacks: $r} + $x' >"$1"
}

@test "SIGTERM mid-method: interrupted, rollbacks run, faults undone, exit 143" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m"),"'{"type":"action","name":"wait","provider":{"type":"sleep","duration":"60s"}}]' \
		"[{\"type\":\"action\",\"name\":\"rb\",\"provider\":{\"type\":\"process\",\"path\":\"touch\",\"arguments\":[\"$d/rolled\"]}}]"
	bg "$d/run.jsonl" chaos run "$d/e.json"
	wait_for_record "$d/run.jsonl" '.name == "mark"' 5
	[ -e "$d/m" ]
	kill -TERM "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
	local v
	v=$(verdict "$d/run.jsonl")
	assert_jq "$v" '.status' interrupted
	assert_jq "$v" '.signal' 15
	assert_jq "$v" '.rollbacks.ran'
	[ -e "$d/rolled" ] || fail "the rollback did not run"
	[ ! -e "$d/m" ] || fail "the exec fault was not reverted"
	assert_equal "$(live_faults)" 0
}

@test "SIGUSR2 stops without rollbacks and leaves the faults for recover, exit 140" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m"),"'{"type":"action","name":"wait","provider":{"type":"sleep","duration":"60s"}}]' \
		"[{\"type\":\"action\",\"name\":\"rb\",\"provider\":{\"type\":\"process\",\"path\":\"touch\",\"arguments\":[\"$d/rolled\"]}}]"
	bg "$d/run.jsonl" chaos run "$d/e.json"
	wait_for_record "$d/run.jsonl" '.name == "mark"' 5
	kill -USR2 "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 140
	assert_jq "$(verdict "$d/run.jsonl")" '.rollbacks.ran' false
	[ ! -e "$d/rolled" ] || fail "a rollback ran"
	[ -e "$d/m" ] || fail "the fault was undone"
	assert_equal "$(live_faults)" 1
	run -0 chaos recover --all
	[ ! -e "$d/m" ]
}

@test "an activity's output feeds a later one: roll back exactly the instance that was killed" {
	local d=$BATS_TEST_TMPDIR
	jq -n --arg d "$d" '{title: "feed", description: "d",
		method: [{type: "action", name: "kill", provider: {type: "fault", kind: "kill",
			service: "payments", pick: "random"}}],
		rollbacks: [{type: "action", name: "note", provider: {type: "process", path: "sh",
			arguments: ["-c", "echo \"$1 $2\" > \"$0\"", ($d + "/noted"),
				"${out:kill/instance}", "${out:kill/pid}"]}}]}' >"$d/e.json"
	run -0 chaos run --topology "$TOPO" "$d/e.json"
	local killed pid
	killed=$(jq -r 'select(.phase == "method") | .output.instance' <<<"$output")
	pid=$(jq -r 'select(.phase == "method") | .output.pid' <<<"$output")
	assert_equal "$(cat "$d/noted")" "$killed $pid"
}

@test "a background activity runs alongside the method" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" '[
		{"type":"action","name":"slow","background":true,
		 "provider":{"type":"process","path":"sh","arguments":["-c","sleep 1; echo done"]}},
		{"type":"probe","name":"quick","provider":{"type":"process","path":"echo","arguments":["quick"]}}]'
	run -0 chaos run "$d/e.json"
	# quick ends before slow, which was started first.
	run -0 jq -r 'select(.type == "chaos.activity" and .phase == "method") | "\(.name) \(.background // false) \(.output.stdout | rtrimstr("\n"))"' <<<"$output"
	assert_output "quick false quick
slow true done"
}

@test "a run refuses targets with live faults in the ledger unless --force" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m")]"
	run -0 chaos inject "$(exec_fault mark "$d/m" | jq -c .provider)"
	local uid
	uid=$(jq -r .uid <<<"$output")
	run -2 chaos run "$d/e.json"
	assert_output "ofs-chaos: 'exec:touch' (mark) has a live exec fault $uid on 'exec:touch' (ofs-chaos inject); run 'ofs-chaos recover $uid' first, or pass --force"
	run -0 chaos run --force "$d/e.json"
	run -0 chaos recover "$uid"
}

@test "--report md writes the verdict, the timeline and the evidence" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m")]"
	run -0 chaos run -q --report md --report-file "$d/report.md" "$d/e.json"
	assert_jq "$output" '.type' chaos.verdict
	assert_jq "$output" '.report' "$d/report.md"
	run -0 grep -c '^## ' "$d/report.md"
	assert_output 3
	run -0 grep -E '^\| status \| \*\*completed\*\* \|$' "$d/report.md"
	run -0 grep -E '^\| [0-9.]+ \| method \| action `mark` \| succeeded \|' "$d/report.md"
	run -0 grep -E '^\| [0-9.]+ \| undo \| undo exec `f-[0-9a-f]{16}` \| undone \|' "$d/report.md"
	# Without --report-file the report goes beside the journal.
	run -0 chaos run -q --report md "$d/e.json"
	local j
	j=$(jq -r .journal <<<"$output")
	[ -f "${j%.jsonl}.md" ]
}

@test "--dry-run prints the plan and changes nothing" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m")]"
	run -0 chaos run --dry-run "$d/e.json"
	run -0 jq -r 'select(.type == "chaos.plan") | "\(.phase) \(.name) \(.would.dry_run // "")"' <<<"$output"
	assert_output "hypothesis true 
method mark true"
	[ ! -e "$d/m" ]
	assert_equal "$(live_faults)" 0
}

@test "a method that outlasts the RTO cannot complete: deviated, rto_met false" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" "[$(exec_fault mark "$d/m"),"'{"type":"action","name":"wait","provider":{"type":"sleep","duration":"1500ms"}}]' \
		'[]' '{"rto": "1s"}'
	run -1 chaos run "$d/e.json"
	local v
	v=$(jq -c 'select(.type == "chaos.verdict")' <<<"$output")
	assert_jq "$v" '.status' deviated
	assert_jq "$v" '.steady_state.after'
	assert_jq "$v" '.rto_met' false
	assert_jq "$v" '.recovery_s > 1.5'
	assert_jq "$v" '.reason | test("^the steady state was not restored within the RTO: held after 1\\.[0-9]{3} s, RTO 1\\.000 s$")'
}

@test "continuous hypothesis with --abort-on-deviation stops the method" {
	local d=$BATS_TEST_TMPDIR
	jq -n --arg f "$d/flag" '{title: "abort", description: "d",
		runtime: {hypothesis: {strategy: "continuously"}},
		"steady-state-hypothesis": {title: "no flag", probes: [{type: "probe", name: "no-flag",
			tolerance: 1, provider: {type: "process", path: "test", arguments: ["-e", $f]}}]},
		method: [{type: "action", name: "raise", provider: {type: "process", path: "touch", arguments: [$f]}},
			{type: "action", name: "wait", provider: {type: "sleep", duration: "30s"}}]}' >"$d/e.json"
	run -1 chaos run --interval 200ms --abort-on-deviation "$d/e.json"
	local v
	v=$(jq -c 'select(.type == "chaos.verdict")' <<<"$output")
	assert_jq "$v" '.status' aborted
	assert_jq "$v" '.steady_state.during.deviations >= 1'
	assert_jq "$v" '.duration_s < 10'
}

@test "run: invalid experiments exit 2 and inject nothing" {
	local d=$BATS_TEST_TMPDIR
	printf '{"title": "x", "description": "d", "method": [{"type": "action", "name": "k", "provider": {"type": "fault", "kind": "kil"}}]}' >"$d/bad.json"
	run -2 chaos run "$d/bad.json"
	assert_output --partial "bad.json: /method/0/provider/kind:"
	run -2 chaos run "$d/missing.json"
	assert_output "ofs-chaos: cannot open '$d/missing.json': No such file or directory"
	: >"$d/empty.json"
	run -2 chaos run "$d/empty.json"
	head -c 4096 /dev/urandom >"$d/garbage.json"
	run -2 chaos run "$d/garbage.json"
	run -2 chaos run
	assert_output --partial "no experiment given"
	assert_equal "$(live_faults)" 0
}

@test "run: a health probe without a topology is refused before anything runs" {
	run -2 chaos run "$EXAMPLES/kill-payments.json"
	assert_output "ofs-chaos: $EXAMPLES/kill-payments.json: the experiment checks health or targets instances and needs a topology: give --topology FILE or \"topology\" in the experiment"
}

@test "run: >/dev/full is a write error (status 4)" {
	local d=$BATS_TEST_TMPDIR
	experiment "$d/e.json" '[]'
	run -4 bash -c '"$0" run "$1" >/dev/full' "$OFS_BIN/ofs-chaos" "$d/e.json"
	assert_output "ofs-chaos: write error on standard output: No space left on device"
}

# ---- pick ---------------------------------------------------------------------

setup_catalog() {
	CAT=$BATS_TEST_TMPDIR/catalog
	mkdir -p "$CAT"
	cp "$EXAMPLES/kill-payments.json" "$CAT/"
	jq '.title = "kill all orders" | .method[0].provider = {type: "fault", kind: "kill", service: "orders", pick: "all"}' \
		"$EXAMPLES/kill-payments.json" >"$CAT/kill-all-orders.json"
	echo '{"title": 1}' >"$CAT/broken.json"
}

@test "pick: outside the allowed window nothing is chosen and the exit is 0" {
	setup_catalog
	TZ=UTC run -0 chaos pick --catalog "$CAT" --at 2026-11-21T10:00:00Z --topology "$TOPO"
	assert_jq "$output" '.chosen' null
	assert_jq "$output" '.now' "sat 10:00"
	assert_jq "$output" '.reason' "outside the allowed window (mon-fri, hours 9-15)"
}

@test "pick: opt-outs, the blast radius and invalid files exclude, with reasons" {
	setup_catalog
	TZ=UTC run -0 chaos pick --dry-run --catalog "$CAT" --at 2026-11-23T10:00:00Z \
		--topology "$TOPO" --max-blast 1 --opt-out inventory
	assert_jq "$output" '.chosen' "$CAT/kill-payments.json"
	assert_jq "$output" '.excluded | map(.reason) | join("; ")' \
		"invalid: $CAT/broken.json: /title: must be a string, got number 1; its faults reach 2 targets, over --max-blast 1"
	TZ=UTC run -0 chaos pick --dry-run --catalog "$CAT" --at 2026-11-23T10:00:00Z \
		--topology "$TOPO" --opt-out payments --opt-out orders
	assert_jq "$output" '.chosen' null
	assert_jq "$output" '.reason' "no eligible experiment in the catalog"
	# A service named through the configuration is judged as what it names.
	rm "$CAT"/*.json
	jq '.configuration = {svc: "payments"} | .method[0].provider.service = "${svc}"' \
		"$EXAMPLES/kill-payments.json" >"$CAT/indirect.json"
	TZ=UTC run -0 chaos pick --dry-run --catalog "$CAT" --at 2026-11-23T10:00:00Z \
		--topology "$TOPO" --opt-out payments
	assert_jq "$output" '.excluded[0].reason' "touches opted-out service 'payments'"
	# Without a topology an instance's service is unknown: excluded when opting out.
	jq '.method[0].provider = {type: "fault", kind: "kill", instance: "payments-1"}' \
		"$EXAMPLES/kill-payments.json" >"$CAT/indirect.json"
	TZ=UTC run -0 chaos pick --dry-run --catalog "$CAT" --at 2026-11-23T10:00:00Z --opt-out orders
	assert_jq "$output" '.excluded[0].reason' "cannot tell the service of instance 'payments-1' without --topology"
}

@test "pick: --seed repeats the choice; without --dry-run the experiment runs" {
	setup_catalog
	rm "$CAT/broken.json" "$CAT/kill-all-orders.json"
	bg "$BATS_TEST_TMPDIR/health.jsonl" "$OFS_BIN/ofs-health" watch --recover -f "$TOPO"
	TZ=UTC run -0 chaos pick --catalog "$CAT" --at 2026-11-23T10:00:00Z --topology "$TOPO" --seed 7
	assert_jq "$(head -1 <<<"$output")" '.chosen' "$CAT/kill-payments.json"
	assert_jq "$(tail -1 <<<"$output")" '.status' completed
}

@test "pick: bad options exit 2" {
	run -2 chaos pick
	assert_output --partial "--catalog is required"
	run -2 chaos pick --catalog . --hours 25-3
	run -2 chaos pick --catalog . --days someday
	run -2 chaos pick --catalog /nonexistent
	assert_output "ofs-chaos: cannot open catalog '/nonexistent': No such file or directory"
}

# ---- the README --------------------------------------------------------------------

@test "the README's ofs-chaos session works as written" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/bin"
	cp "$OFS_BIN/shopd" "$OFS_BIN/ofs-health" "$OFS_BIN/ofs-chaos" "$tree/bin/"
	ln -s "$OFS_TOP/examples" "$tree/examples"
	awk '/^## ofs-chaos/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md" | sed "s|/tmp/shop|$BATS_TEST_TMPDIR/shop|g" >"$tree/session.sh"
	grep -q 'ofs-chaos run' "$tree/session.sh" || fail "no ofs-chaos session found in README.md"
	cd "$tree"
	run -0 bash -e -o pipefail session.sh
	"$OFS_BIN/shopd" stop --dir "$BATS_TEST_TMPDIR/shop" >/dev/null 2>&1 || true
	assert_line --regexp '^\{"status":"completed","recovery_s":[0-9.]+,"rto_met":true\}$'
	assert_line '| status | **completed** |'
	assert_line --regexp '^\| recovery \| [0-9.]+ s \|$'
	assert_line "{\"kind\":\"corrupt\",\"target\":\"file:$BATS_TEST_TMPDIR/shop/app.conf\"}"
	assert_line '{"kind":"corrupt","status":"undone"}'
	assert_line "listen 8080"
}

