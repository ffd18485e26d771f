#!/usr/bin/env bats
# tests/ofs-chaos-faults.bats: the native faults of ofs-chaos, the fault
# ledger, and the commands that drive them outside experiments: inject,
# recover, ledger. Each kind is injected into something real (the example
# shop's instances, plain sleep processes, files, a stress worker) and
# undone, and the test looks at the world, not only at the records: the
# process state, the pid, the health endpoint, the bytes and mode of a
# file, the members of a process group. Then the promises that make
# faults safe: the ledger's exact records, fsync'd before acting and 0600
# under 0700; faults with a duration undone in the foreground, also on
# SIGTERM; a fault recovered after its injector was killed with -9; a
# stress worker that outlives its injector; a run that is alive keeps its
# faults unless --force; a torn ledger tail; dry runs that touch nothing;
# validation that names JSON pointers and injects nothing.
#
# One shop runs for the whole file; every test gets its own state
# directory; teardown undoes whatever a test left live, ends the
# processes it started and restarts shop instances that are down, so no
# test leaks into the next.

load helpers

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

UID_RE='^f-[0-9a-f]{16}$'
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{6}Z$'

setup_file() {
	shop_start
	export TOPO=$SHOP_DIR/topology.json
}

teardown_file() {
	shop_stop
}

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	LEDGER=$OFS_STATE_DIR/chaos/ledger.jsonl
}

teardown() {
	local pid down
	"$OFS_BIN/ofs-chaos" recover --all --force >/dev/null 2>&1 || true
	if [ -f "$BATS_TEST_TMPDIR/pids" ]; then
		while read -r pid; do
			kill -CONT "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/pids"
	fi
	if [ -f "$BATS_TEST_TMPDIR/pgids" ]; then
		while read -r pid; do
			kill -KILL -- "-$pid" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/pgids"
	fi
	down=$("$OFS_BIN/shopd" status --dir "$SHOP_DIR" 2>/dev/null |
		jq -r 'select(.state != "up") | .instance')
	if [ -n "$down" ]; then
		# shellcheck disable=SC2086
		"$OFS_BIN/shopd" restart --dir "$SHOP_DIR" $down >/dev/null 2>&1 || true
	fi
}

chaos() {
	"$OFS_BIN/ofs-chaos" "$@"
}

# remember PID: a process teardown ends (after resuming it).
remember() {
	echo "$1" >>"$BATS_TEST_TMPDIR/pids"
}

# sleeper: start a sleep 600 in the background; SLEEPER is its pid.
sleeper() {
	sleep 600 3>&- &
	SLEEPER=$!
	remember "$SLEEPER"
}

# bg_inject OUT FAULT [OPTION...]: ofs-chaos inject in the background,
# stdout to OUT, stderr to OUT.err; INJ is its pid. Returns once the
# fault is in the ledger.
bg_inject() {
	local out=$1 fault=$2
	shift 2
	"$OFS_BIN/ofs-chaos" inject "$@" "$fault" >"$out" 2>"$out.err" 3>&- &
	INJ=$!
	remember "$INJ"
	wait_for live_count_is 1 || fail "the fault never reached the ledger: $(cat "$out.err")"
}

# wait_exit PID: wait for the background job PID; EXIT is its status.
wait_exit() {
	EXIT=0
	wait "$1" || EXIT=$?
}

live_count_is() {
	[ "$("$OFS_BIN/ofs-chaos" ledger | grep -c .)" = "$1" ]
}

# wait_for CMD...: until CMD succeeds, at most 10 s.
wait_for() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# stat_field PID N: field N of /proc/PID/stat (N >= 3; the name may hold blanks).
stat_field() {
	sed 's/.*) //' "/proc/$1/stat" | awk -v n="$(($2 - 2))" '{ print $n }'
}

proc_state() {
	stat_field "$1" 3 2>/dev/null
}

stopped() {
	[ "$(proc_state "$1")" = T ]
}

running() {
	local s
	s=$(proc_state "$1") && [ "$s" != T ] && [ "$s" != Z ]
}

gone() {
	[ ! -e "/proc/$1" ] || [ "$(proc_state "$1")" = Z ]
}

# group_size PGID: live (not zombie) processes in the process group.
group_size() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/' | wc -l
}

group_gone() {
	[ "$(group_size "$1")" = 0 ]
}

group_size_is() {
	[ "$(group_size "$1")" = "$2" ]
}

# rss_at_least PID KB: the resident memory of PID is at least KB kB.
rss_at_least() {
	[ "$(awk '/VmRSS/ { print $2 }' "/proc/$1/status")" -ge "$2" ]
}

size_is() {
	[ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]
}

# crc32 FILE: the CRC-32 (zlib) of FILE, from gzip's trailer.
crc32() {
	gzip -c "$1" | tail -c 8 | head -c 4 | od -An -tu4 | tr -d ' '
}

health_status() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$(shop_url "$1")/health"
}

# ---- pause ----------------------------------------------------------------

@test "pause a pid: the process is stopped, the ledger record is exact, recover resumes it" {
	sleeper
	run -0 --separate-stderr chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	assert_equal "$stderr" ""
	local uid rec
	assert_jq "$output" 'keys_unsorted | join(",")' "type,ts,op,uid,kind,target,pid"
	assert_jq "$output" '"\(.type) \(.op) \(.kind) \(.target) \(.pid)"' \
		"chaos.fault inject pause pid:$SLEEPER $SLEEPER"
	assert_jq "$output" ".uid | test(\"$UID_RE\")"
	assert_jq "$output" ".ts | test(\"$TS_RE\")"
	uid=$(jq -r .uid <<<"$output")
	stopped "$SLEEPER" || fail "state $(proc_state "$SLEEPER"), want T"

	run -0 chaos ledger
	rec=$output
	assert_equal "$(grep -c . <<<"$rec")" 1
	assert_jq "$rec" 'keys_unsorted | join(",")' \
		"type,ts,op,uid,run,pid,pid_start,experiment,kind,target,undo"
	assert_jq "$rec" '"\(.type) \(.op) \(.uid) \(.run) \(.experiment) \(.kind) \(.target)"' \
		"chaos.fault inject $uid null null pause pid:$SLEEPER"
	assert_jq "$rec" '(.pid | type) == "number" and (.pid_start | type) == "number"'
	assert_jq "$rec" '.undo | tojson' \
		"{\"procs\":[{\"pid\":$SLEEPER,\"pid_start\":$(stat_field "$SLEEPER" 22)}]}"

	run -0 --separate-stderr chaos recover "$uid"
	assert_jq "$output" 'keys_unsorted | join(",")' "type,ts,uid,kind,target,status"
	assert_jq "$output" '"\(.type) \(.uid) \(.kind) \(.target) \(.status)"' \
		"chaos.recover $uid pause pid:$SLEEPER undone"
	running "$SLEEPER" || fail "state $(proc_state "$SLEEPER") after recover"

	run -0 chaos ledger
	assert_output ""
	run -0 chaos ledger --all
	assert_equal "$(grep -c . <<<"$output")" 2
	assert_jq "$(sed -n 2p <<<"$output")" 'del(.ts) | tojson' \
		"{\"type\":\"chaos.fault\",\"op\":\"undone\",\"uid\":\"$uid\",\"kind\":\"pause\",\"target\":\"pid:$SLEEPER\"}"
}

@test "pause an instance of the topology: found by its listening port, frozen, resumed" {
	local pid url
	pid=$(cat "$SHOP_DIR/run/inventory-1.pid")
	url=$(shop_url inventory-1)
	run -0 chaos inject --topology "$TOPO" '{"kind":"pause","instance":"inventory-1"}'
	assert_jq "$output" '"\(.target) \(.instance) \(.service) \(.pid)"' \
		"instance:inventory-1 inventory-1 inventory $pid"
	stopped "$pid"
	run curl -s -o /dev/null --max-time 1 "$url/health"
	assert_equal "$status" 28 # timed out: connected, never answered
	run -0 chaos recover --all
	assert_jq "$output" '.status' undone
	assert_equal "$(health_status inventory-1)" 200
}

@test "pause with a duration is undone by inject in the foreground" {
	sleeper
	run -0 --separate-stderr chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"1s\"}"
	assert_equal "$(grep -c . <<<"$output")" 2
	local first second
	first=$(sed -n 1p <<<"$output")
	second=$(sed -n 2p <<<"$output")
	assert_jq "$first" '"\(.op) \(.kind) \(.duration_s) \(.until | test("Z$"))"' "inject pause 1 true"
	assert_jq "$second" 'del(.ts) | keys_unsorted | join(",")' "type,op,uid,kind,target"
	assert_jq "$second" '"\(.op) \(.kind) \(.target)"' "undone pause pid:$SLEEPER"
	assert_equal "$(jq -r .uid <<<"$second")" "$(jq -r .uid <<<"$first")"
	# due about a second after the inject
	assert_jq "$(jq -s '.' <<<"$output")" \
		'(.[1].ts | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.[0].ts | sub("\\.[0-9]+Z$"; "Z") | fromdate) | . >= 0 and . <= 3'
	running "$SLEEPER"
	run -0 chaos ledger
	assert_output ""
}

@test "SIGTERM to inject in the foreground undoes the fault early and exits 143" {
	sleeper
	bg_inject "$BATS_TEST_TMPDIR/out" "{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"60s\"}"
	stopped "$SLEEPER"
	kill -TERM "$INJ"
	wait_exit "$INJ"
	assert_equal "$EXIT" 143
	running "$SLEEPER"
	assert_jq "$(tail -n 1 "$BATS_TEST_TMPDIR/out")" '"\(.op) \(.kind)"' "undone pause"
	run -0 chaos ledger
	assert_output ""
}

@test "inject whose reader goes away still undoes its fault with a duration" {
	sleeper
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 bash -c '"$OFS_BIN/ofs-chaos" inject "$1" | true' _ \
		"{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"2s\"}"
	running "$SLEEPER"
	run -0 chaos ledger
	assert_output ""
}

@test "kill -9 of inject while a pause with a duration runs: recover --all resumes the process" {
	sleeper
	bg_inject "$BATS_TEST_TMPDIR/out" "{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"60s\"}"
	kill -KILL "$INJ"
	wait_exit "$INJ"
	assert_equal "$EXIT" 137
	stopped "$SLEEPER"
	run -0 chaos ledger
	assert_jq "$output" '"\(.kind) \(.target) \(.until | test("Z$"))"' "pause pid:$SLEEPER true"
	run -0 chaos recover --all
	assert_jq "$output" '"\(.kind) \(.status)"' "pause undone"
	running "$SLEEPER"
}

@test "recover skips a fault whose run is alive, unless --force" {
	sleeper
	bg_inject "$BATS_TEST_TMPDIR/out" "{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"60s\"}"
	local uid
	uid=$(chaos ledger | jq -r .uid)
	run -1 --separate-stderr chaos recover "$uid"
	assert_jq "$output" '"\(.uid) \(.status) \(.reason)"' \
		"$uid skipped the run that injected it (pid $INJ) is still alive; use --force"
	assert_equal "$stderr" \
		"ofs-chaos: warning: skipped fault '$uid': the run that injected it (pid $INJ) is still alive; use --force"
	stopped "$SLEEPER"
	run -1 --separate-stderr chaos recover --all
	assert_jq "$output" '.status' skipped
	run -0 chaos recover --force "$uid"
	assert_jq "$output" '.status' undone
	running "$SLEEPER"
	# the foreground inject, told to stop, finds its fault already undone
	kill -TERM "$INJ"
	wait_exit "$INJ"
	assert_equal "$EXIT" 143
	assert_jq "$(tail -n 1 "$BATS_TEST_TMPDIR/out")" '"\(.op) \(.reason)"' "undone already undone"
}

@test "pause of a process that is gone by the undo: nothing to undo" {
	sleeper
	run -0 chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	kill -KILL "$SLEEPER"
	wait_for gone "$SLEEPER"
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(.reason)"' "undone nothing to undo: process $SLEEPER is gone"
}

# ---- kill -----------------------------------------------------------------

@test "kill an instance: its process is gone; recover runs the start hook and it answers /health" {
	local pid uid
	pid=$(cat "$SHOP_DIR/run/payments-1.pid")
	run -0 chaos inject --topology "$TOPO" '{"kind":"kill","instance":"payments-1"}'
	assert_jq "$output" 'del(.ts, .uid) | tojson' \
		"{\"type\":\"chaos.fault\",\"op\":\"inject\",\"kind\":\"kill\",\"target\":\"instance:payments-1\",\"instance\":\"payments-1\",\"service\":\"payments\",\"pid\":$pid,\"signal\":\"KILL\"}"
	uid=$(jq -r .uid <<<"$output")
	wait_for gone "$pid"
	assert_equal "$(health_status payments-1)" 000
	run -0 chaos ledger
	assert_jq "$output" '.undo | "\(.signal) \(.procs | length) \(.procs[0].instance) \(.procs[0].service) \(.procs[0].pid) \(.procs[0].timeout_ms)"' \
		"KILL 1 payments-1 payments $pid 30000"
	assert_jq "$output" '.undo.procs[0].start | tojson' \
		"[\"$OFS_BIN/shopd\",\"start\",\"--dir\",\"$SHOP_DIR\",\"payments-1\"]"
	assert_jq "$output" '.undo.procs[0].check | "\(.kind) \(.url)"' "http $(shop_url payments-1)/health"
	assert_jq "$output" '.undo.procs[0].env.OFS_INSTANCE' payments-1

	run -0 chaos recover "$uid"
	assert_jq "$output" '"\(.status) \(.reason)"' "undone started instance 'payments-1'"
	assert_equal "$(health_status payments-1)" 200
	[ "$(cat "$SHOP_DIR/run/payments-1.pid")" != "$pid" ]
}

@test "kill: recover does nothing when the instance answers again (someone restarted it)" {
	run -0 chaos inject --topology "$TOPO" '{"kind":"kill","instance":"shipping-1","signal":"TERM"}'
	assert_jq "$output" '.signal' TERM
	wait_for gone "$(jq -r .pid <<<"$output")"
	"$OFS_BIN/shopd" start --dir "$SHOP_DIR" shipping-1 >/dev/null
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(.reason)"' \
		"undone nothing to undo: instance 'shipping-1' answers its check"
}

@test "kill with wait_restart: restarted true when a supervisor brings it back, false when nothing does" {
	# a supervisor: start inventory-2 whenever it is not running
	(while :; do
		"$OFS_BIN/shopd" start --dir "$SHOP_DIR" inventory-2 >/dev/null 2>&1 || true
		sleep 0.2
	done) 3>&- &
	local sup=$!
	remember "$sup"
	run -0 chaos inject --topology "$TOPO" \
		'{"kind":"kill","instance":"inventory-2","wait_restart":"10s"}'
	assert_jq "$output" '"\(.wait_restart_s) \(.restarted) \(.restart_s > 0 and .restart_s < 10)"' \
		"10 true true"
	assert_equal "$(health_status inventory-2)" 200
	kill "$sup"
	wait "$sup" || true
	run -0 chaos recover --all
	assert_jq "$output" '.reason' "nothing to undo: instance 'inventory-2' answers its check"

	run -0 chaos inject --topology "$TOPO" \
		'{"kind":"kill","instance":"inventory-2","wait_restart":"600ms"}'
	assert_jq "$output" '"\(.restarted) \(has("restart_s"))"' "false false"
	run -0 chaos recover --all
	assert_jq "$output" '.reason' "started instance 'inventory-2'"
}

@test "kill a service: pick random names the instance chosen; pick all kills and restarts every one" {
	run -0 chaos inject --topology "$TOPO" '{"kind":"kill","service":"orders"}'
	local inst
	inst=$(jq -r .instance <<<"$output")
	[[ $inst == orders-[12] ]]
	assert_jq "$output" '"\(.target) \(.service) \(.pid)"' \
		"instance:$inst orders $(cat "$SHOP_DIR/run/$inst.pid")"
	run -0 chaos recover --all
	assert_equal "$(health_status "$inst")" 200

	run -0 chaos inject --topology "$TOPO" '{"kind":"kill","service":"payments","pick":"first"}'
	assert_jq "$output" '.instance' payments-1
	run -0 chaos recover --all

	local p1 p2
	p1=$(cat "$SHOP_DIR/run/payments-1.pid")
	p2=$(cat "$SHOP_DIR/run/payments-2.pid")
	run -0 chaos inject --topology "$TOPO" '{"kind":"kill","service":"payments","pick":"all"}'
	assert_jq "$output" '"\(.target) \(.service) \(.instances | join(",")) \(.pids | map(tostring) | join(","))"' \
		"service:payments payments payments-1,payments-2 $p1,$p2"
	wait_for gone "$p1"
	wait_for gone "$p2"
	run -0 chaos recover --all
	assert_jq "$output" '.reason' "started instance 'payments-1'; started instance 'payments-2'"
	assert_equal "$(health_status payments-1) $(health_status payments-2)" "200 200"
}

@test "kill a pid_file's process: undo has nothing to do and says so" {
	sleeper
	echo "$SLEEPER" >"$BATS_TEST_TMPDIR/app.pid"
	run -0 chaos inject "{\"kind\":\"kill\",\"pid_file\":\"$BATS_TEST_TMPDIR/app.pid\",\"signal\":15}"
	assert_jq "$output" '"\(.target) \(.pid) \(.pid_file) \(.signal)"' \
		"pid:$SLEEPER $SLEEPER $BATS_TEST_TMPDIR/app.pid TERM"
	wait_for gone "$SLEEPER"
	run -0 chaos recover --all
	assert_jq "$output" '.reason' "nothing to undo: process $SLEEPER was a pid target"
}

@test "targets that cannot be found: exit 4, the reason named, nothing live" {
	run -4 --separate-stderr chaos inject --topology "$TOPO" '{"kind":"kill","instance":"paymnts-1"}'
	assert_equal "$stderr" \
		"ofs-chaos: cannot inject the kill fault: no instance 'paymnts-1' in the topology; did you mean 'payments-1'?"
	run -4 --separate-stderr chaos inject --topology "$TOPO" '{"kind":"pause","service":"paymnts"}'
	assert_equal "$stderr" \
		"ofs-chaos: cannot inject the pause fault: no service 'paymnts' in the topology; did you mean 'payments'?"
	run -4 --separate-stderr chaos inject '{"kind":"kill","pid":2147483647}'
	assert_equal "$stderr" "ofs-chaos: cannot inject the kill fault: no process with pid 2147483647"
	run -4 --separate-stderr chaos inject "{\"kind\":\"kill\",\"pid_file\":\"$BATS_TEST_TMPDIR/none.pid\"}"
	assert_equal "$stderr" \
		"ofs-chaos: cannot inject the kill fault: cannot read pid file '$BATS_TEST_TMPDIR/none.pid': No such file or directory"
	run -2 --separate-stderr chaos inject '{"kind":"kill","instance":"payments-1"}'
	assert_equal "$stderr" "ofs-chaos: instance targets need a topology: give --topology"
	run -0 chaos ledger
	assert_output ""
}

# ---- stress ---------------------------------------------------------------

@test "stress cpu and memory: a detached worker group; recover kills it" {
	run -0 chaos inject '{"kind":"stress","cpu":2,"memory":"32M"}'
	local pid pgid
	pid=$(jq -r .pid <<<"$output")
	pgid=$(jq -r .pgid <<<"$output")
	echo "$pgid" >>"$BATS_TEST_TMPDIR/pgids"
	assert_jq "$output" '"\(.target) \(.cpu) \(.memory_bytes) \(.pid == .pgid)"' \
		"stress:cpu+memory 2 33554432 true"
	# the leader, two spinners and the memory holder
	wait_for group_size_is "$pgid" 4
	# its own session; nothing of ofs-chaos open: only /dev/null
	assert_equal "$(stat_field "$pid" 6)" "$pid"
	assert_equal "$(find "/proc/$pid/fd" -mindepth 1 | wc -l)" 3
	for fd in 0 1 2; do
		assert_equal "$(readlink "/proc/$pid/fd/$fd")" /dev/null
	done
	local mem
	mem=$(pgrep -g "$pgid" -x ofs-stress-mem)
	wait_for rss_at_least "$mem" 32000
	run -0 chaos ledger
	assert_jq "$output" '.undo | tojson' \
		"{\"pid\":$pid,\"pgid\":$pgid,\"pid_start\":$(stat_field "$pid" 22)}"
	run -0 chaos recover --all
	assert_jq "$output" '"\(.kind) \(.target) \(.status)"' "stress stress:cpu+memory undone"
	assert_equal "$(group_size "$pgid")" 0
}

@test "stress disk: the file is written to its size, 0600, and recover removes it" {
	mkdir "$BATS_TEST_TMPDIR/disk"
	run -0 chaos inject "{\"kind\":\"stress\",\"disk\":{\"path\":\"$BATS_TEST_TMPDIR/disk\",\"size\":\"8M\"}}"
	local uid file pgid
	uid=$(jq -r .uid <<<"$output")
	pgid=$(jq -r .pgid <<<"$output")
	echo "$pgid" >>"$BATS_TEST_TMPDIR/pgids"
	file=$BATS_TEST_TMPDIR/disk/.ofs-chaos-stress-$uid
	assert_jq "$output" '.disk | tojson' \
		"{\"path\":\"$BATS_TEST_TMPDIR/disk\",\"file\":\"$file\",\"bytes\":8388608}"
	wait_for size_is "$file" 8388608
	assert_equal "$(stat -c %a "$file")" 600
	run -0 chaos ledger
	assert_jq "$output" '.undo.file' "$file"
	run -0 chaos recover "$uid"
	assert_jq "$output" '.status' undone
	[ ! -e "$file" ]
	assert_equal "$(group_size "$pgid")" 0
}

@test "a stress survives kill -9 of its injector; recover stops it" {
	mkdir "$BATS_TEST_TMPDIR/disk"
	bg_inject "$BATS_TEST_TMPDIR/out" \
		"{\"kind\":\"stress\",\"cpu\":1,\"disk\":{\"path\":\"$BATS_TEST_TMPDIR/disk\",\"size\":\"1M\"},\"duration\":\"60s\"}"
	local pgid
	pgid=$(chaos ledger | jq -r .undo.pgid)
	echo "$pgid" >>"$BATS_TEST_TMPDIR/pgids"
	kill -KILL "$INJ"
	wait_exit "$INJ"
	assert_equal "$EXIT" 137
	sleep 0.3
	assert_equal "$(group_size "$pgid")" 2
	run -0 chaos recover --all
	assert_jq "$output" '.status' undone
	assert_equal "$(group_size "$pgid")" 0
	assert_equal "$(find "$BATS_TEST_TMPDIR/disk" -type f | wc -l)" 0
}

@test "a stress ends itself after its duration, its file removed, even with its injector gone" {
	mkdir "$BATS_TEST_TMPDIR/disk"
	bg_inject "$BATS_TEST_TMPDIR/out" \
		"{\"kind\":\"stress\",\"cpu\":1,\"disk\":{\"path\":\"$BATS_TEST_TMPDIR/disk\",\"size\":\"1M\"},\"duration\":\"1s\"}"
	local pgid
	pgid=$(chaos ledger | jq -r .undo.pgid)
	echo "$pgid" >>"$BATS_TEST_TMPDIR/pgids"
	kill -KILL "$INJ"
	wait_for group_gone "$pgid"
	assert_equal "$(find "$BATS_TEST_TMPDIR/disk" -type f | wc -l)" 0
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(.reason)"' "undone nothing to undo: the stress had ended"
}

@test "stress into a directory that does not exist: exit 4, no worker, nothing live" {
	run -4 --separate-stderr chaos inject \
		"{\"kind\":\"stress\",\"disk\":{\"path\":\"$BATS_TEST_TMPDIR/nope\",\"size\":\"1M\"}}"
	assert_equal "$stderr" \
		"ofs-chaos: cannot inject the stress fault: cannot fill '$BATS_TEST_TMPDIR/nope': No such file or directory"
	run -0 chaos ledger
	assert_output ""
}

# ---- corrupt --------------------------------------------------------------

# make_file PATH: 300 bytes of text, mode 0640.
make_file() {
	seq 1 200 | tr '\n' ' ' | head -c 300 >"$1"
	chmod 640 "$1"
}

# damaged_as KEYS ORIG FILE: FILE is ORIG damaged as the corrupt fault
# with KEYS says.
damaged_as() {
	local o=$2 f=$3 i
	case $1 in
	'"mode":"truncate"') head -c 236 "$o" | cmp -s - "$f" ;;
	'"mode":"truncate","offset":10') head -c 10 "$o" | cmp -s - "$f" ;;
	'"mode":"garbage","offset":4,"bytes":8')
		! cmp -s "$o" "$f" && cmp -s <(head -c 4 "$o") <(head -c 4 "$f") &&
			cmp -s <(tail -c 288 "$o") <(tail -c 288 "$f") ;;
	'"mode":"flip","bytes":3')
		for i in 1 2 3; do
			[ "$(head -c "$i" "$o" | tail -c 1 | od -An -tu1)" != \
				"$(head -c "$i" "$f" | tail -c 1 | od -An -tu1)" ] || return 1
		done
		cmp -s <(tail -c 297 "$o") <(tail -c 297 "$f") ;;
	'"mode":"delete"') [ ! -e "$f" ] ;;
	'"mode":"replace","find":"10 ","with":"ten "') sed 's/10 /ten /g' "$o" | cmp -s - "$f" ;;
	'"mode":"append","data":"junk"') { cat "$o"; printf junk; } | cmp -s - "$f" ;;
	'"mode":"append","bytes":5') cmp -s <(head -c 300 "$f") "$o" ;;
	*) return 1 ;;
	esac
}

@test "corrupt: each mode changes the file as documented; recover restores it byte for byte with its mode" {
	local f=$BATS_TEST_TMPDIR/app.conf o=$BATS_TEST_TMPDIR/orig
	make_file "$f"
	cp -p "$f" "$o"
	# the fault's keys | the size of the damaged file (- when none)
	local cases=(
		'"mode":"truncate"|236'
		'"mode":"truncate","offset":10|10'
		'"mode":"garbage","offset":4,"bytes":8|300'
		'"mode":"flip","bytes":3|300'
		'"mode":"delete"|-'
		'"mode":"replace","find":"10 ","with":"ten "|301'
		'"mode":"append","data":"junk"|304'
		'"mode":"append","bytes":5|305'
	)
	local c keys size
	for c in "${cases[@]}"; do
		keys=${c%|*}
		size=${c##*|}
		run -0 chaos inject "{\"kind\":\"corrupt\",\"path\":\"$f\",$keys}"
		assert_jq "$output" '"\(.target) \(.path) \(.size)"' "file:$f $f 300"
		if [ "$size" != - ]; then
			assert_equal "$(stat -c %s "$f")" "$size"
			assert_jq "$output" '.new_size' "$size"
		fi
		damaged_as "$keys" "$o" "$f" || fail "mode $keys: the file is not as expected"
		run -0 chaos recover --all
		assert_jq "$output" '.status' undone
		cmp "$o" "$f" || fail "mode $keys: not restored byte for byte"
		assert_equal "$(stat -c %a "$f")" 640
	done
	assert_equal "$(find "$OFS_STATE_DIR/chaos/backups" -type f | wc -l)" 0
}

@test "corrupt: the backup is made first (0600), the record keeps path, size, mode and crc32" {
	local f=$BATS_TEST_TMPDIR/data.bin
	make_file "$f"
	chmod 604 "$f"
	local crc
	crc=$(crc32 "$f")
	run -0 chaos inject "{\"kind\":\"corrupt\",\"path\":\"$f\",\"mode\":\"garbage\"}"
	local uid backup
	uid=$(jq -r .uid <<<"$output")
	backup=$OFS_STATE_DIR/chaos/backups/$uid
	assert_jq "$output" '"\(.backup) \(.offset) \(.bytes)"' "$backup 0 64"
	assert_equal "$(stat -c %a "$backup")" 600
	assert_equal "$(stat -c %a "$OFS_STATE_DIR/chaos/backups")" 700
	assert_equal "$(crc32 "$backup")" "$crc"
	run -0 chaos ledger
	assert_jq "$output" '.undo | "\(.path) \(.backup) \(.size) \(.mode) \(.crc32) \(.damage) \(.owner == '"$(id -u)"')"' \
		"$f $backup 300 0604 $crc garbage true"
	run -0 chaos recover --all
	assert_equal "$(crc32 "$f")" "$crc"
	assert_equal "$(stat -c %a "$f")" 604
	[ ! -e "$backup" ]
}

@test "corrupt: a file that cannot be damaged as asked is left alone, exit 4" {
	local f=$BATS_TEST_TMPDIR/app.conf
	make_file "$f"
	run -4 --separate-stderr chaos inject "{\"kind\":\"corrupt\",\"path\":\"$f\",\"mode\":\"replace\",\"find\":\"absent\"}"
	assert_equal "$stderr" "ofs-chaos: cannot inject the corrupt fault: the text of 'find' is not in '$f'"
	run -4 --separate-stderr chaos inject "{\"kind\":\"corrupt\",\"path\":\"$BATS_TEST_TMPDIR\",\"mode\":\"flip\"}"
	assert_equal "$stderr" "ofs-chaos: cannot inject the corrupt fault: '$BATS_TEST_TMPDIR' is not a regular file"
	run -0 chaos ledger --all
	assert_output ""
}

# ---- exec -----------------------------------------------------------------

@test "exec: inject and revert commands run, with the fault's uid in OFS_FAULT_UID" {
	local d=$BATS_TEST_TMPDIR
	run -0 chaos inject "{\"kind\":\"exec\",\"inject\":[\"sh\",\"-c\",\"echo \$OFS_FAULT_UID >'$d/injected'; echo done\"],\"revert\":\"rm '$d/injected' && echo \$OFS_FAULT_UID >'$d/reverted'\",\"name\":\"marker\"}"
	local uid
	uid=$(jq -r .uid <<<"$output")
	assert_jq "$output" '"\(.target) \(.name) \(.exit_code) \(.stdout | tojson)"' \
		'exec:marker marker 0 "done\n"'
	assert_equal "$(cat "$d/injected")" "$uid"
	run -0 chaos ledger
	assert_jq "$output" '.undo | "\(.name) \(.timeout_ms) \(.revert | type)"' "marker 30000 string"
	run -0 chaos recover "$uid"
	assert_jq "$output" '.status' undone
	[ ! -e "$d/injected" ]
	assert_equal "$(cat "$d/reverted")" "$uid"
}

@test "exec: the revert runs in the directory of the inject, wherever recover runs" {
	mkdir "$BATS_TEST_TMPDIR/work"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 bash -c 'cd "$1/work" && "$OFS_BIN/ofs-chaos" inject "$2"' _ "$BATS_TEST_TMPDIR" \
		'{"kind":"exec","inject":["touch","flag"],"revert":["rm","flag"]}'
	[ -e "$BATS_TEST_TMPDIR/work/flag" ]
	run -0 chaos ledger
	assert_jq "$output" '.undo.cwd' "$BATS_TEST_TMPDIR/work"
	cd /
	run -0 chaos recover --all
	assert_jq "$output" '.status' undone
	[ ! -e "$BATS_TEST_TMPDIR/work/flag" ]
}

@test "exec: a failing inject is not live; a failing revert leaves the fault live and recover exits 1" {
	run -4 --separate-stderr chaos inject '{"kind":"exec","inject":"echo broken >&2; exit 3","revert":"true"}'
	assert_equal "$stderr" \
		"ofs-chaos: cannot inject the exec fault: the inject command failed: exited with status 3: broken"
	run -0 chaos ledger
	assert_output ""
	run -0 chaos ledger --all
	assert_jq "$(tail -n 1 <<<"$output")" '"\(.op) \(.target) \(.reason)"' \
		"undone exec:echo not injected: the inject command failed: exited with status 3: broken"

	run -0 chaos inject '{"kind":"exec","inject":["true"],"revert":["false"]}'
	local uid
	uid=$(jq -r .uid <<<"$output")
	assert_jq "$output" '.target' "exec:true"
	run -1 --separate-stderr chaos recover "$uid"
	assert_jq "$output" '"\(.status) \(.reason)"' "failed the revert command failed: exited with status 1"
	assert_equal "$stderr" \
		"ofs-chaos: cannot undo fault '$uid': the revert command failed: exited with status 1"
	run -0 chaos ledger
	assert_jq "$output" '.uid' "$uid"
	run -0 chaos ledger --all
	assert_jq "$(tail -n 1 <<<"$output")" '"\(.op) \(.reason)"' \
		"undo_failed the revert command failed: exited with status 1"
}

# ---- proxy ----------------------------------------------------------------

# proxy_start: an `ofs-chaos proxy` in front of payments-1 with a control
# socket; CONTROL is the socket, PROXY_OUT its records, and fd 4 writes to
# its standard input (its other control channel).
proxy_start() {
	chaos proxy --help >/dev/null 2>&1 || skip "ofs-chaos proxy is not built in"
	CONTROL=$BATS_TEST_TMPDIR/proxy.sock
	PROXY_OUT=$BATS_TEST_TMPDIR/proxy.out
	mkfifo "$BATS_TEST_TMPDIR/proxy.in"
	exec 4<>"$BATS_TEST_TMPDIR/proxy.in"
	local up
	up=$(shop_url payments-1)
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "${up#http://}" --control "$CONTROL" \
		<"$BATS_TEST_TMPDIR/proxy.in" >"$PROXY_OUT" 2>"$PROXY_OUT.err" 3>&- 4>&- &
	PROXY_PID=$!
	remember "$PROXY_PID"
	wait_for test -S "$CONTROL" || fail "the proxy did not start: $(cat "$PROXY_OUT.err")"
}

@test "proxy: a toxic is added through the control socket and removed by recover" {
	proxy_start
	run -0 chaos inject "{\"kind\":\"proxy\",\"control\":\"$CONTROL\",\"toxic\":{\"type\":\"latency\",\"attributes\":{\"latency\":100}}}"
	assert_jq "$output" '"\(.target) \(.control) \(.toxic.name) \(.toxic.type)"' \
		"proxy:$CONTROL/latency_downstream $CONTROL latency_downstream latency"
	wait_for grep -q '"toxic_added"' "$PROXY_OUT"
	run -0 chaos ledger
	assert_jq "$output" '.undo | "\(.control) \(.name)"' "$CONTROL latency_downstream"
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(has("reason"))"' "undone false"
	wait_for grep -q '"toxic_removed"' "$PROXY_OUT"
}

@test "proxy: a toxic already removed, or a proxy no longer running, counts as undone" {
	proxy_start
	run -0 chaos inject "{\"kind\":\"proxy\",\"control\":\"$CONTROL\",\"toxic\":{\"name\":\"slow\",\"type\":\"latency\",\"attributes\":{\"latency\":50}}}"
	echo '{"op":"remove","name":"slow"}' >&4
	wait_for grep -q '"toxic_removed"' "$PROXY_OUT"
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(.reason)"' "undone nothing to undo: the proxy has no toxic 'slow'"

	run -0 chaos inject "{\"kind\":\"proxy\",\"control\":\"$CONTROL\",\"toxic\":{\"name\":\"slow\",\"type\":\"latency\",\"attributes\":{\"latency\":50}}}"
	kill -TERM "$PROXY_PID"
	wait "$PROXY_PID" || true
	run -0 chaos recover --all
	assert_jq "$output" '"\(.status) \(.reason)"' \
		"undone nothing to undo: the proxy of '$CONTROL' is not running"
}

@test "proxy: a toxic the proxy refuses is not injected, exit 4" {
	proxy_start
	run -4 --separate-stderr chaos inject "{\"kind\":\"proxy\",\"control\":\"$CONTROL\",\"toxic\":{\"type\":\"no_such_toxic\"}}"
	[[ $stderr == "ofs-chaos: cannot inject the proxy fault: proxy '$CONTROL' refused the toxic: "* ]]
	run -0 chaos ledger
	assert_output ""
}

# ---- dry runs ---------------------------------------------------------------

@test "dry-run says what would be done, changes nothing and writes no ledger" {
	sleeper
	local f=$BATS_TEST_TMPDIR/app.conf pid
	make_file "$f"
	cp -p "$f" "$BATS_TEST_TMPDIR/orig"
	pid=$(cat "$SHOP_DIR/run/orders-2.pid")
	run -0 chaos inject --dry-run "{\"kind\":\"pause\",\"pid\":$SLEEPER,\"duration\":\"5s\"}"
	assert_jq "$output" 'del(.ts) | tojson' \
		"{\"type\":\"chaos.fault\",\"op\":\"inject\",\"dry_run\":true,\"kind\":\"pause\",\"target\":\"pid:$SLEEPER\",\"pid\":$SLEEPER,\"duration_s\":5}"
	run -0 chaos inject --dry-run --topology "$TOPO" '{"kind":"kill","instance":"orders-2"}'
	assert_jq "$output" '"\(.dry_run) \(.target) \(.pid) \(.signal)"' "true instance:orders-2 $pid KILL"
	run -0 chaos inject --dry-run "{\"kind\":\"corrupt\",\"path\":\"$f\",\"mode\":\"truncate\",\"bytes\":10}"
	assert_jq "$output" '"\(.dry_run) \(.size) \(.new_size) \(has("backup"))"' "true 300 290 false"
	run -0 chaos inject --dry-run "{\"kind\":\"stress\",\"cpu\":1,\"disk\":{\"path\":\"$BATS_TEST_TMPDIR\",\"size\":\"1M\"}}"
	assert_jq "$output" '"\(.dry_run) \(.cpu) \(.disk | tojson) \(has("pid"))"' \
		"true 1 {\"path\":\"$BATS_TEST_TMPDIR\",\"bytes\":1048576} false"
	run -0 chaos inject --dry-run "{\"kind\":\"exec\",\"inject\":[\"touch\",\"$BATS_TEST_TMPDIR/marker\"],\"revert\":\"true\"}"
	assert_jq "$output" '"\(.dry_run) \(.target) \(.inject | tojson) \(.revert)"' \
		"true exec:touch [\"touch\",\"$BATS_TEST_TMPDIR/marker\"] true"
	run -0 chaos inject --dry-run '{"kind":"proxy","control":"/run/p.sock","toxic":{"type":"timeout","stream":"upstream"}}'
	assert_jq "$output" '"\(.target) \(.toxic.name)"' "proxy:/run/p.sock/timeout_upstream timeout_upstream"

	running "$SLEEPER"
	assert_equal "$(health_status orders-2)" 200
	cmp "$f" "$BATS_TEST_TMPDIR/orig"
	[ ! -e "$BATS_TEST_TMPDIR/marker" ]
	assert_equal "$(find "$BATS_TEST_TMPDIR" -name '.ofs-chaos-stress-*' | wc -l)" 0
	[ ! -e "$OFS_STATE_DIR" ]
}

@test "recover --dry-run lists the plan with each undo and changes nothing" {
	sleeper
	run -0 chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	local uid
	uid=$(jq -r .uid <<<"$output")
	run -0 chaos recover --dry-run --all
	assert_jq "$output" '"\(.uid) \(.status) \(.dry_run) \(.undo.procs[0].pid)"' "$uid planned true $SLEEPER"
	stopped "$SLEEPER"
	run -0 chaos ledger
	assert_jq "$output" '.uid' "$uid"
}

# ---- the ledger --------------------------------------------------------------

@test "recover: newest first, usage errors, unknown and already undone uids" {
	local a b
	sleeper
	a=$SLEEPER
	sleeper
	b=$SLEEPER
	local ua ub
	ua=$(chaos inject "{\"kind\":\"pause\",\"pid\":$a}" | jq -r .uid)
	ub=$(chaos inject "{\"kind\":\"pause\",\"pid\":$b}" | jq -r .uid)

	run -2 --separate-stderr chaos recover
	assert_equal "$(head -n 1 <<<"$stderr")" \
		"ofs-chaos recover: name the faults to undo by uid, or give --all"
	run -2 chaos recover --all "$ua"
	run -2 --separate-stderr chaos recover "$ua" f-0000000000000000
	assert_jq "$output" '"\(.uid) \(.status)"' "f-0000000000000000 unknown"
	assert_equal "$stderr" "ofs-chaos: no fault 'f-0000000000000000' in the ledger"
	stopped "$a" # nothing was undone

	run -0 chaos recover "$ua" "$ub"
	assert_equal "$(jq -r .uid <<<"$output" | tr '\n' ' ')" "$ub $ua "
	running "$a"
	running "$b"
	run -0 chaos recover "$ua"
	assert_jq "$output" '"\(.uid) \(.kind) \(.status) \(.reason)"' "$ua pause undone already undone"
}

@test "the ledger is 0600 in a 0700 directory, with its lock beside it" {
	sleeper
	umask 022
	run -0 chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	assert_equal "$(stat -c %a "$OFS_STATE_DIR")" 700
	assert_equal "$(stat -c %a "$OFS_STATE_DIR/chaos")" 700
	assert_equal "$(stat -c %a "$LEDGER")" 600
	assert_equal "$(stat -c %a "$OFS_STATE_DIR/chaos/ledger.lock")" 600
}

@test "a torn ledger tail is skipped by readers and cut by the next append" {
	sleeper
	run -0 chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	local uid
	uid=$(jq -r .uid <<<"$output")
	printf '{"type":"chaos.fault","ts":"2026-11-22T00:00:00.000000Z","op":"inj' >>"$LEDGER"
	run -0 chaos ledger
	assert_jq "$output" '.uid' "$uid"
	run -0 chaos recover "$uid"
	assert_jq "$output" '.status' undone
	running "$SLEEPER"
	# every line complete and valid again: the torn one is gone
	assert_equal "$(jq -c .op "$LEDGER" | tr '\n' ' ')" '"inject" "undone" '
	assert_equal "$(tail -c 1 "$LEDGER" | od -An -c | tr -d ' ')" '\n'
}

@test "a corrupt line in the middle of the ledger is an error (4), never skipped silently" {
	mkdir -p "$OFS_STATE_DIR/chaos"
	printf '{"op":"inject","uid":"f-1"}\nnot json\n{"op":"undone","uid":"f-1"}\n' >"$LEDGER"
	run -4 --separate-stderr chaos ledger
	assert_equal "$stderr" \
		"ofs-chaos: cannot read the fault ledger: journal '$LEDGER' is corrupt at line 2: invalid JSON"
	run -4 chaos recover --all
}

@test "a ledger past 1 MiB with nothing live is compacted to empty by the undo that ends the last fault" {
	mkdir -p "$OFS_STATE_DIR/chaos"
	chmod 700 "$OFS_STATE_DIR" "$OFS_STATE_DIR/chaos"
	jq -n -c 'range(0; 4000) | ({type: "chaos.fault", ts: "2026-11-22T00:00:00.000000Z", op: "inject", uid: "f-old\(.)", kind: "exec", target: "exec:x", undo: {revert: "true", pad: ("x" * 200)}}, {type: "chaos.fault", ts: "2026-11-22T00:00:00.000000Z", op: "undone", uid: "f-old\(.)"})' >"$LEDGER"
	chmod 600 "$LEDGER"
	[ "$(stat -c %s "$LEDGER")" -gt 1048576 ]
	sleeper
	run -0 chaos inject "{\"kind\":\"pause\",\"pid\":$SLEEPER}"
	[ "$(stat -c %s "$LEDGER")" -gt 1048576 ] # a live fault: kept
	run -0 chaos recover --all
	assert_equal "$(stat -c %s "$LEDGER")" 0
	assert_equal "$(stat -c %a "$LEDGER")" 600
	run -0 chaos ledger --all
	assert_output ""
}

# ---- validation ---------------------------------------------------------------

@test "validation errors exit 2 with JSON pointers and inject nothing" {
	# fault | the error lines expected on stderr (joined with ' / ')
	# shellcheck disable=SC2016 # ${pid} is the fault's text, not the shell's
	local cases=(
		'{"kind":"kil","pid":1}|fault: /kind: unknown fault kind '\''kil'\''; did you mean '\''kill'\''?'
		'{"kind":"kill"}|fault: a kill fault needs a target: one of '\''instance'\'', '\''service'\'', '\''pid_file'\'' or '\''pid'\'''
		'{"kind":"kill","pid":1,"instance":"a"}|fault: give one target, not both '\''instance'\'' and '\''pid'\'''
		'{"kind":"kill","pid":"x","signal":"KIL"}|fault: /pid: must be an integer, got string '\''x'\'' / fault: /signal: unknown signal '\''KIL'\''; did you mean '\''KILL'\''?'
		'{"kind":"kill","pid":5,"wait_restart":"1s"}|fault: /wait_restart: needs an '\''instance'\'' or '\''service'\'' target (it waits for its health check)'
		'{"kind":"pause","pid":5,"pick":"all","duration":"0s"}|fault: /duration: must be more than 0 / fault: /pick: only with '\''service'\'''
		'{"kind":"pause","service":"a","pick":"any","instanse":"b"}|fault: /instanse: unknown key '\''instanse'\''; did you mean '\''instance'\''? / fault: /pick: must be one of '\''random'\'', '\''first'\'', '\''all'\'', got '\''any'\'''
		'{"kind":"stress"}|fault: a stress fault needs at least one of '\''cpu'\'', '\''memory'\'', '\''disk'\'''
		'{"kind":"stress","cpu":-1,"memory":"1X","disk":{"size":"1G"}}|fault: /cpu: must be 0..1024, got -1 / fault: /memory: invalid size '\''1X'\'': unknown unit '\''X'\'' (use k, M, G, T, P or E) / fault: /disk: missing required key '\''path'\'''
		'{"kind":"corrupt","path":"/x","mode":"delete","bytes":3}|fault: /bytes: not used by mode '\''delete'\'''
		'{"kind":"corrupt","path":"/x","mode":"shred"}|fault: /mode: must be one of '\''truncate'\'', '\''garbage'\'', '\''flip'\'', '\''delete'\'', '\''replace'\'', '\''append'\'', got '\''shred'\'''
		'{"kind":"exec","inject":[],"revert":[1]}|fault: /inject: must not be empty / fault: /revert/0: must be a string, got number'
		'{"kind":"proxy","control":"/x","toxic":{"type":"latency","toxicity":2}}|fault: /toxic/toxicity: must be 0..1, got 2'
		'{"type":"process","kind":"pause","pid":1}|fault: /type: must be "fault" (or left out)'
		'{"kind":"pause","pid":"${pid}"}|fault: /pid: must be an integer, got string '\''${pid}'\'''
		'{"kind":"pause",|fault:1:17: invalid JSON: unexpected end of input, expected a string key'
	)
	local c fault want
	for c in "${cases[@]}"; do
		fault=${c%%|*}
		want=${c#*|}
		run -2 --separate-stderr chaos inject "$fault"
		assert_equal "$(awk '{ sub(/^ofs-chaos: /, ""); printf "%s%s", sep, $0; sep = " / " }' <<<"$stderr")" "$want"
		assert_output ""
	done
	[ ! -e "$OFS_STATE_DIR" ]
}

@test "bad input: empty, binary garbage, a missing topology, a 10 MB fault, >/dev/full" {
	run -2 --separate-stderr chaos inject - </dev/null
	assert_equal "$stderr" "ofs-chaos: <stdin>:1:1: invalid JSON: empty input"
	run -2 --separate-stderr chaos inject - < <(printf '\x00\xff\xfe{garbage')
	[[ $stderr == "ofs-chaos: <stdin>:1:1: invalid JSON: "* ]]
	run -2 --separate-stderr chaos inject --topology "$BATS_TEST_TMPDIR/none.json" '{"kind":"pause","instance":"a"}'
	assert_equal "$stderr" "ofs-chaos: cannot open '$BATS_TEST_TMPDIR/none.json': No such file or directory"
	{
		printf '{"kind":"exec","inject":"true","revert":"true","name":"'
		head -c 10000000 /dev/zero | tr '\0' x
		printf '"}'
	} >"$BATS_TEST_TMPDIR/big.json"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 bash -c '"$OFS_BIN/ofs-chaos" inject --dry-run - <"$1" | jq -r ".name | length"' _ \
		"$BATS_TEST_TMPDIR/big.json"
	assert_output 10000000
	[ ! -e "$OFS_STATE_DIR" ]
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -4 --separate-stderr bash -c '"$OFS_BIN/ofs-chaos" inject "$1" >/dev/full' _ \
		'{"kind":"exec","inject":"true","revert":"true"}'
	assert_equal "$stderr" "ofs-chaos: write error on standard output: No space left on device"
	# the fault was injected and recorded before the write failed: recover finds it
	run -0 chaos recover --all
	assert_jq "$output" '"\(.target) \(.status)"' "exec:true undone"
}

@test "inject reads the fault from standard input with -" {
	sleeper
	run -0 chaos inject - <<<"{\"type\":\"fault\",\"kind\":\"pause\",\"pid\":$SLEEPER}"
	assert_jq "$output" '.target' "pid:$SLEEPER"
	stopped "$SLEEPER"
}
