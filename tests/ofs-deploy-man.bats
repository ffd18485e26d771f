#!/usr/bin/env bats
# tests/ofs-deploy-man.bats: every example of man/ofs-deploy.1 runs as the
# manual shows it, against a real HAProxy and the example shop's
# inventory service: its commands are read from the page (man_commands)
# and run by bash, and what they print is compared with the output the
# page shows. The README's ofs-deploy session is run the same way.
#
# The examples are one session: the file's tests run in the manual's
# order on one state (setup_file), each example after those before it, so
# a test fails when an earlier example left the session broken. The file
# has a directory of its own that stands for the manual's /tmp/shop (the shop's topology.json, HAProxy's
# socket and pid file, the state directory), a free port for HAProxy's
# frontend (the manual's 8080) and a range for the instances (the
# manual's 18100-18199); the specs and haproxy.cfg of examples/deploy/ are
# copied with those pointed at them into a work directory where bin/ is
# the programs built, as at the top of a source tree. teardown_file ends
# HAProxy, every instance a deploy started and whatever an example left
# in the background.

load helpers
load deploy

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-deploy.1

# Records must not depend on the caller's trace context, nor instances on
# a fault switch left in the environment.
unset TRACEPARENT TRACESTATE SHOP_FAULT

setup_file() {
	SHOP=$BATS_FILE_TMPDIR/shop
	WORK=$BATS_FILE_TMPDIR/work
	mkdir -p "$SHOP" "$WORK/examples/deploy"
	ln -s "$OFS_BIN" "$WORK/bin"
	"$OFS_BIN/shopd" start --dir "$SHOP" --topology "$OFS_TOP/examples/shop/topology.json" \
		inventory >/dev/null
	"$OFS_BIN/shopd" stop --dir "$SHOP" >/dev/null
	PORT=$(pick_port)
	PORTS="$((PORT + 1000))-$((PORT + 1040))"
	HAP_PORT=$PORT
	local f
	for f in "$OFS_TOP"/examples/deploy/*; do
		on_shop "$(cat "$f")" >"$WORK/examples/deploy/${f##*/}"
	done
	export SHOPD=$WORK/bin/shopd SHOP_DIR=$SHOP OFS_STATE_DIR=$SHOP/state
	export SHOP WORK PORT PORTS HAP_PORT
}

teardown() {
	stop_bg
}

teardown_file() {
	local p
	if [ -f "$BATS_FILE_TMPDIR/pids" ]; then
		while read -r p; do
			[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
		done <"$BATS_FILE_TMPDIR/pids"
	fi
	# the README's session starts the whole shop
	"$OFS_BIN/shopd" stop --dir "$SHOP" >/dev/null 2>&1 || true
	local f pid
	for f in "$SHOP"/haproxy.pid "$OFS_STATE_DIR"/deploy/*/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.2
	for f in "$OFS_STATE_DIR"/deploy/*/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# pick_port: a port of 127.0.0.1 for HAProxy's frontend such that it and
# the 41 ports above it (the instances') lie below Linux's ephemeral
# range, where no client connection of an earlier test can hold them.
pick_port() {
	local p
	for ((;;)); do
		p=$((20000 + RANDOM % 11000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return 0
		}
	done
}

# on_shop TEXT: TEXT with the manual's paths and ports pointed at this
# test's directory and ports.
on_shop() {
	sed -e "s|/tmp/shop|$SHOP|g" \
		-e "s|127\.0\.0\.1:8080|127.0.0.1:$PORT|g" \
		-e "s|18100-18199|$PORTS|g" <<<"$1"
}

# run_example NAME: run the commands of the example NAME with bash in
# $WORK (at most 3 minutes); set status, output and lines as run does.
# A process the commands leave in the background is ended by teardown.
# Output goes through a file: a background process keeps it open.
run_example() {
	local script out=$BATS_TEST_TMPDIR/example.out
	script=$(on_shop "$(man_commands "$1")")
	[ -n "$script" ] || fail "example '$1' has no commands"
	status=0
	(cd "$WORK" && PATH="$OFS_BIN:$PATH" timeout 180 bash -c "$script"$'\nst=$?\necho "$!" >>"$BATS_FILE_TMPDIR/pids"\nexit $st' \
		>"$out" 2>&1 3>&-) || status=$?
	# bash's own word on a job killed with -9 is not the example's output
	output=$(grep -Ev '^bash: line [0-9]+: +[0-9]+ Killed ' "$out" || true)
	mapfile -t lines <<<"$output"
}

# expected NAME: the output the manual shows for the example NAME, with
# its paths and ports pointed as on_shop does.
expected() {
	on_shop "$(man_output "$1")"
}

# running PID: the process PID exists and is not a zombie.
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# served N: N requests through HAProxy; "VERSION COUNT" per version that
# answered, "failed COUNT" for answers that were not 2xx.
served() {
	versions "$1"
}

@test "every example of the manual is named and has a test" {
	check_examples_named
}

@test "man page example: validate" {
	run_example validate
	assert_equal "$status" 0
	assert_output "$(expected validate)"
}

@test "man page example: validate-error" {
	run_example validate-error
	assert_equal "$status" 0
	assert_output "$(expected validate-error)"
}

@test "man page example: dry-run" {
	run_example dry-run
	assert_equal "$status" 0
	assert_output "$(expected dry-run)"
	# a dry run takes no lock and writes no state
	[ ! -e "$OFS_STATE_DIR/deploy" ] || fail "the dry run wrote state"
}

@test "man page example: first" {
	run_example first
	assert_equal "$status" 0
	assert_output "$(expected first)"
	run served 8
	assert_output "v1 8"
}

@test "man page example: rolling" {
	load_start 5
	run_example rolling
	assert_equal "$status" 0
	assert_output "$(expected rolling)"
	load_check
	run served 8
	assert_output "v2 8"
}

@test "man page example: kill-resume" {
	run_example kill-resume
	assert_equal "$status" 0
	assert_output "$(expected kill-resume)"
	run served 8
	assert_output "v2.1 8"
	run -0 "$OFS_BIN/ofs-deploy" status inventory
	assert_jq "$output" '[.instances[] | .version] | unique | join(",")' v2.1
	assert_jq "$output" '.instances | length' 4
}

@test "man page example: rollback" {
	run_example rollback
	assert_equal "$status" 0
	assert_output "$(expected rollback)"
	run served 8
	assert_output "v2 8"
}

@test "man page example: canary-rollback" {
	run_example canary-rollback
	assert_equal "$status" 0
	assert_output "$(expected canary-rollback)"
	run served 8
	assert_output "v2 8"
	# the bad instance is gone, its 500s with it
	run -1 "$OFS_BIN/ofs-deploy" status inventory
	assert_jq "$output" '[.instances[] | .version] | unique | join(",")' v2
}

@test "man page example: status-script" {
	run_example status-script
	assert_equal "$status" 0
	assert_output "$(expected status-script)"
}

@test "man page example: promote" {
	run_example promote
	assert_equal "$status" 0
	assert_output "$(expected promote)"
	run served 8
	assert_output "v3 8"
	run -0 "$OFS_BIN/ofs-deploy" status inventory
	assert_jq "$output" '.phase' healthy
}

@test "man page example: history" {
	run_example history
	assert_equal "$status" 0
	assert_output "$(expected history)"
}

@test "man page example: cleanup" {
	local pids
	pids=$(cat "$OFS_STATE_DIR"/deploy/inventory/run/*.pid "$SHOP/haproxy.pid")
	run_example cleanup
	assert_equal "$status" 0
	assert_output "$(expected cleanup)"
	local pid i
	# a process that ended but was not reaped yet (a zombie) counts as gone
	for pid in $pids; do
		for ((i = 0; i < 100; i++)); do
			running "$pid" || break
			sleep 0.1
		done
		! running "$pid" || fail "process $pid still runs"
	done
}

@test "the README's ofs-deploy session works as written" {
	local session
	session=$(awk '/^## ofs-deploy/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md")
	grep -q 'ofs-deploy run' <<<"$session" || fail "no ofs-deploy session found in README.md"
	rm -rf "$SHOP"
	on_shop "$session" >"$WORK/session.sh"
	cd "$WORK"
	run -0 timeout 180 bash -e -o pipefail session.sh
	assert_output "$(printf '%s\n' \
		'{"outcome":"promoted","version":"v1"}' \
		'1/5 setWeight 25' '2/5 analysis errors' '3/5 setWeight 50' '4/5 analysis errors' \
		'5/5 promote full promotion' \
		'{"phase":"healthy","version":"v3","weights":{"v3":100}}' \
		'{"runs":2,"promoted":2,"change_failure_rate":0}')"
}
