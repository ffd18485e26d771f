#!/usr/bin/env bats
# tests/ofs-chaos-man.bats: every example of man/ofs-chaos.1 runs as the
# manual shows it, against the example shop: its commands are read from
# the page (man_commands) and run by bash, and what they print is
# compared with the output the page shows, exactly where the output is
# stable, and with uids, pids, timings and the instance a random pick
# chose checked for what they must be. The crontab lines run with their
# paths pointed at this file's shop and a stub mail(1).
#
# One shop runs for the whole file, at a temporary directory that stands
# for the manual's /tmp/shop. Each test runs in a fresh directory where
# bin/ and examples/ are the programs built and the source tree's
# examples, as at the top of a source tree, with a ledger of its own
# (OFS_STATE_DIR). Teardown ends every process a test or an example left
# in the background, undoes every fault left in the ledger (recover --all
# --force) and heals the shop, so no test leaks into the next.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-chaos.1

# Records must not depend on the caller's trace context, and the
# configuration of the latency experiment must be missing.
unset TRACEPARENT TRACESTATE PROXY_CONTROL PROXY_ADDR ORDERS_1_URL ORDERS_2_URL

UID_RE='f-[0-9a-f]{16}'

setup_file() {
	shop_start
	export TOPO=$SHOP_DIR/topology.json
}

teardown_file() {
	shop_stop
}

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	ln -s "$OFS_BIN" "$WORK/bin"
	ln -s "$OFS_TOP/examples" "$WORK/examples"
	PORT=$(free_port)
}

teardown() {
	stop_bg
	"$OFS_BIN/ofs-chaos" recover --all --force >/dev/null 2>&1 || true
	shop_heal
}



# on_shop TEXT: TEXT with the paths of the manual's examples pointed at
# this file's shop and this test's files and port.
on_shop() {
	sed -e "s|/tmp/shop|$SHOP_DIR|g" \
		-e "s|/tmp/payments.sock|$BATS_TEST_TMPDIR/payments.sock|g" \
		-e "s|127\.0\.0\.1:9000|127.0.0.1:$PORT|g" \
		-e "s|/etc/ofs/shop.json|$TOPO|g" \
		-e "s|/etc/ofs/chaos|$OFS_TOP/examples/chaos|g" \
		-e "s|/usr/local/bin/ofs-chaos|$OFS_BIN/ofs-chaos|g" \
		-e "s|/var/log/ofs-chaos|$BATS_TEST_TMPDIR/log|g" <<<"$1"
}

# run_example NAME: run the commands of the example NAME with bash in
# $WORK, the programs on PATH; set status, output and lines as run does.
# A process the commands leave in the background is ended by teardown.
# Output goes through a file: a background process keeps it open.
run_example() {
	local script out=$BATS_TEST_TMPDIR/example.out
	script=$(on_shop "$(man_commands "$1")")
	[ -n "$script" ] || fail "example '$1' has no commands"
	status=0
	(cd "$WORK" && PATH="$OFS_BIN:$PATH" bash -c "$script"$'\nst=$?\necho "$!" >>"$BATS_TEST_TMPDIR/pids"\nexit $st' \
		>"$out" 2>&1 3>&-) || status=$?
	output=$(cat "$out")
	mapfile -t lines <<<"$output"
}

# expected NAME: the output the manual shows for the example NAME, with
# its paths pointed as on_shop does.
expected() {
	on_shop "$(man_output "$1")"
}

# example_file NAME FILE: what the example NAME shows after "$ cat FILE",
# up to its next command: the file it runs.
example_file() {
	man_example "$1" | awk -v c="\$ cat $2" '$0 == c { on = 1; next } on && /^\$ / { exit } on'
}

# crontab_commands NAME: the commands of the crontab lines of the example
# NAME (the five time fields removed), pointed as on_shop does.
crontab_commands() {
	on_shop "$(man_example "$1" | sed -E 's/^([^ ]+ +){5}//')"
}


# live_faults: how many faults the ledger holds live.
live_faults() {
	"$OFS_BIN/ofs-chaos" ledger | jq -s length
}


# instance_pid ID: the pid the shop recorded for an instance.
instance_pid() {
	cat "$SHOP_DIR/run/$1.pid"
}

@test "every example of the manual is named and has a test" {
	check_examples_named
}

@test "man page example: validate" {
	run_example validate
	assert_equal "$status" 2
	assert_output "$(expected validate)"
}

@test "man page example: dry-run" {
	run_example dry-run
	assert_equal "$status" 0
	# The instance is picked at random; the pid is its process's.
	local want
	want=$(expected dry-run | sed -E 's/payments-[12]/payments-N/g; s/"pid":[0-9]+/"pid":PID/')
	assert_equal "$(sed -E 's/payments-[12]/payments-N/g; s/"pid":[0-9]+/"pid":PID/' <<<"$output")" "$want"
	local inst pid
	inst=$(jq -r .instance <<<"$output")
	pid=$(jq -r .pid <<<"$output")
	assert_equal "$pid" "$(instance_pid "$inst")"
	kill -0 "$pid" || fail "the dry run killed $inst"
	assert_equal "$(live_faults)" 0
}

@test "man page example: heal" {
	run_example heal
	assert_equal "$status" 0
	assert_equal "$(sed -E 's/"recovery_s":[0-9.]+/"recovery_s":S/' <<<"$output")" \
		"$(expected heal | sed -E 's/"recovery_s":[0-9.]+/"recovery_s":S/')"
	assert_jq "$output" '.recovery_s > 0 and .recovery_s < 30'
	# ofs-health restarted the instance the run killed.
	local killed
	killed=$(jq -r 'select(.type == "chaos.activity" and .phase == "method") | .output.instance' \
		"$OFS_STATE_DIR"/chaos/runs/*.jsonl)
	[[ $killed == payments-[12] ]] || fail "killed: $killed"
	wait_for_record "$WORK/health.jsonl" ".type == \"recovery.done\" and .instance == \"$killed\"" 10
	assert_equal "$(live_faults)" 0
}

@test "man page example: cron" {
	local line stubs=$BATS_TEST_TMPDIR/stubs log=$BATS_TEST_TMPDIR/log
	line=$(crontab_commands cron)
	assert_equal "$(wc -l <<<"$line")" 1
	[[ $line == "$OFS_BIN/ofs-chaos run -q --report md --report-file $log/kill-payments.md"* ]] ||
		fail "unexpected example: $line"
	mkdir -p "$stubs" "$log"
	printf '#!/bin/sh\n{ echo "mail $*"; cat; } >"%s/mail.out"\n' "$BATS_TEST_TMPDIR" >"$stubs/mail"
	chmod +x "$stubs/mail"
	# While ofs-health heals the shop: one verdict, completed, no mail.
	bg "$BATS_TEST_TMPDIR/health.jsonl" "$OFS_BIN/ofs-health" watch --recover -f "$TOPO"
	local watch=$BG_PID
	sleep 1
	(cd / && PATH="$stubs:/usr/bin:/bin" bash -c "$line") || fail "the cron line failed"
	[ ! -e "$BATS_TEST_TMPDIR/mail.out" ] || fail "mail was sent: $(cat "$BATS_TEST_TMPDIR/mail.out")"
	run -0 cat "$log/verdicts.jsonl"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.type + " " + .status' "chaos.verdict completed"
	assert_jq "$output" '.report' "$log/kill-payments.md"
	grep -qx '| status | \*\*completed\*\* |' "$log/kill-payments.md"
	# payments failing its health check: the gate fails and the report is mailed.
	kill -TERM "$watch"
	wait "$watch" || true
	shop_fault payments-1 '{"health":"fail"}'
	(cd / && PATH="$stubs:/usr/bin:/bin" bash -c "$line") || true
	run -0 cat "$BATS_TEST_TMPDIR/mail.out"
	assert_line --index 0 "mail -s chaos: the shop did not survive ops"
	assert_line '| status | **gate_failed** |'
	assert_jq "$(tail -n 1 "$log/verdicts.jsonl")" '.status' gate_failed
	assert_equal "$(live_faults)" 0
}

@test "man page example: kill-recover" {
	run_example kill-recover
	assert_equal "$status" 0
	# bash's own word on the job it killed is not the example's output.
	output=$(grep -Ev '^bash: line [0-9]+: +[0-9]+ Killed ' <<<"$output")
	mapfile -t lines <<<"$output"
	assert_equal "$(sed -E 's/payments-[12]/payments-N/g' <<<"$output")" \
		"$(expected kill-recover | sed -E 's/payments-[12]/payments-N/g')"
	# The instance listed is the one started again, and it is up.
	local inst
	inst=$(sed -n '1s/^kill instance://p' <<<"$output")
	assert_line --index 1 "undone: started instance '$inst'"
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" "$inst"
	assert_jq "$output" '.state' up
	assert_equal "$(live_faults)" 0
}

@test "man page example: corrupt" {
	run_example corrupt
	assert_equal "$status" 0
	assert_output "$(expected corrupt)"
	[ ! -e "$OFS_STATE_DIR/chaos/backups/$(jq -r 'select(.op == "inject") | .uid' "$OFS_STATE_DIR/chaos/ledger.jsonl")" ] ||
		fail "the backup was left behind"
}

@test "man page example: ledger" {
	run_example ledger
	assert_equal "$status" 0
	assert_equal "$(sed -E "s/$UID_RE/f-UID/g" <<<"$output")" \
		"$(expected ledger | sed -E "s/$UID_RE/f-UID/g")"
	# Listed oldest first, undone newest first.
	local listed undone
	listed=$(sed -n '1,2s/ .*//p' <<<"$output")
	undone=$(sed -n '3,4s/ .*//p' <<<"$output")
	assert_equal "$undone" "$(tac <<<"$listed")"
	assert_equal "$(live_faults)" 0
	[ "$(awk '{ print $3 }' "/proc/$(instance_pid inventory-2)/stat")" != T ] ||
		fail "inventory-2 is still stopped"
}

@test "man page example: stress" {
	run_example stress
	assert_equal "$status" 0
	assert_output "$(expected stress)"
	assert_equal "$(live_faults)" 0
}

@test "man page example: proxy" {
	run_example proxy
	assert_equal "$status" 0
	# The time of the request through the latency varies; the rest does not.
	local shown
	shown=$(expected proxy)
	assert_equal "$(sed '2d' <<<"$output")" "$(sed '2d' <<<"$shown")"
	[[ ${lines[1]} =~ ^0\.[0-9]+$ ]] || fail "no time: ${lines[1]}"
	awk -v t="${lines[1]}" 'BEGIN { exit !(t >= 0.3 && t < 1.3) }' ||
		fail "the request took ${lines[1]} s, not 300 ms more"
	[[ $(sed -n 2p <<<"$shown") =~ ^0\.3[0-9]*$ ]] || fail "the manual shows no 300 ms"
	# The toxic went through the socket and came off with the recover.
	run -0 jq -r 'select(.type == "chaos.proxy") | .event + " " + (.via // "")' "$WORK/proxy.jsonl"
	assert_output "$(printf '%s\n' 'listening ' 'toxic_added socket' 'toxic_removed socket')"
}

@test "man page example: ctk" {
	on_shop "$(example_file ctk restart-payments.json)" >"$WORK/restart-payments.json"
	run -0 jq -e '.title and (.method | length == 1)' "$WORK/restart-payments.json"
	run_example ctk
	assert_equal "$status" 0
	assert_output "$(expected ctk)"
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" payments-1
	assert_jq "$output" '.state' up
}

@test "man page example: feed" {
	on_shop "$(example_file feed restart-killed.json)" >"$WORK/restart-killed.json"
	run -0 "$OFS_BIN/ofs-chaos" validate "$WORK/restart-killed.json"
	run_example feed
	assert_equal "$status" 0
	assert_equal "$(sed -E 's/payments-[12]/payments-N/g' <<<"$output")" \
		"$(expected feed | sed -E 's/payments-[12]/payments-N/g')"
	# The rollback restarted the very instance the kill picked.
	local killed
	killed=$(sed -n 's/^kill-one: //p' <<<"$output")
	assert_line "restart-it: $killed"
	run -0 "$OFS_BIN/shopd" status --dir "$SHOP_DIR" "$killed"
	assert_jq "$output" '.state' up
}

@test "man page example: pick-at" {
	[ -e /usr/share/zoneinfo/Europe/Paris ] || skip "no time zone data for Europe/Paris"
	run_example pick-at
	assert_equal "$status" 0
	assert_output "$(expected pick-at)"
	assert_equal "$(live_faults)" 0
}

@test "man page example: pick-cron" {
	local line log=$BATS_TEST_TMPDIR/log
	line=$(crontab_commands pick-cron)
	assert_equal "$(wc -l <<<"$line")" 1
	[[ $line == "$OFS_BIN/ofs-chaos pick --dry-run --catalog $OFS_TOP/examples/chaos"* ]] ||
		fail "unexpected example: $line"
	mkdir -p "$log"
	(cd / && PATH=/usr/bin:/bin bash -c "$line") || fail "the cron line failed"
	run -0 cat "$log/picks.jsonl"
	assert_equal "${#lines[@]}" 1
	assert_jq "$output" '.type' chaos.pick
	assert_jq "$output" '.dry_run'
	assert_jq "$output" '.candidates' 2
	assert_jq "$output" '.eligible' 1
	assert_jq "$output" '.excluded[0].reason | startswith("invalid: ")'
	# Whether anything is chosen depends on when the test runs.
	assert_jq "$output" "(.chosen == \"$OFS_TOP/examples/chaos/kill-payments.json\") or
		(.chosen == null and (.reason | startswith(\"outside the allowed window\")))"
	# A dry run runs nothing.
	[ ! -d "$OFS_STATE_DIR/chaos/runs" ] || fail "a run was started"
	assert_equal "$(live_faults)" 0
}
