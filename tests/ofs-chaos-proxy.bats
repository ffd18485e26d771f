#!/usr/bin/env bats
# tests/ofs-chaos-proxy.bats: `ofs-chaos proxy`, the TCP fault proxy,
# measured on real connections. Every toxic is shown to do what it says
# between a client and a real upstream: the example shop's inventory
# instance over HTTP with curl, and chaos_peer (tests/bench/chaos_peer.c),
# which serves echo, a file or a byte-counting sink and, as a client,
# times the first byte and the end of a connection and tells an orderly
# end from a reset. Also: bytes pass intact (checksums, with and without
# toxics), toxicity and --seed, the stream a toxic acts on, the control
# channel on the Unix socket and on stdin with its replies and records,
# bad requests answered with the JSON pointer, bad options refused with
# the usage, and SIGTERM.
#
# Timing assertions are wide bounds around what a toxic sets (a 300 ms
# latency adds at least 300 ms and less than a second more). Every
# process a test starts is recorded in $BATS_TEST_TMPDIR/pids and ended
# in teardown; the shop runs for the whole file.

load helpers

unset TRACEPARENT TRACESTATE

setup_file() {
	shop_start inventory-1
}

teardown_file() {
	shop_stop
}

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	PEER=$OFS_BUILD/tests/bench/chaos_peer
	[ -x "$PEER" ] || fail "chaos_peer is not built: run make check"
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	OUT=$BATS_TEST_TMPDIR/proxy.jsonl
}

teardown() {
	local pid i
	[ -f "$BATS_TEST_TMPDIR/pids" ] || return 0
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/pids"
}

OFS_BUILD=${OFS_BUILD:-$OFS_TOP/build}

chaos() {
	"$OFS_BIN/ofs-chaos" "$@"
}

remember() {
	echo "$1" >>"$BATS_TEST_TMPDIR/pids"
}

# wait_for CMD...: retry CMD for up to 5 s.
wait_for() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# start_server MODE [ARG]: a chaos_peer server; sets SERVER_PORT and
# SERVER_LOG (its stdout: the port, then the sink's counts).
start_server() {
	SERVER_LOG=$BATS_TEST_TMPDIR/server.$RANDOM
	"$PEER" serve "$@" >"$SERVER_LOG" &
	remember $!
	wait_for test -s "$SERVER_LOG" || fail "chaos_peer serve $* did not start"
	SERVER_PORT=$(head -n 1 "$SERVER_LOG")
}

has_listening() {
	grep -q '"event":"listening"' "$OUT"
}

# start_proxy UPSTREAM_PORT [OPTION...]: the proxy on a free port with
# its control socket at $SOCK, records in $OUT; sets PROXY_PID and
# PROXY (127.0.0.1:PORT). stdin is /dev/null.
start_proxy() {
	local up=$1
	shift
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --control "$SOCK" "$@" \
		>"$OUT" 2>"$BATS_TEST_TMPDIR/proxy.err" </dev/null &
	PROXY_PID=$!
	remember "$PROXY_PID"
	wait_for has_listening || fail "the proxy did not start: $(cat "$BATS_TEST_TMPDIR/proxy.err")"
	PROXY=$(jq -r 'select(.event == "listening") | .listen' "$OUT")
}

# ctl JSON: one request on the control socket; prints the reply.
ctl() {
	"$PEER" pipe "unix:$SOCK" <<<"$1"
}

# ctl_ok JSON: the request must succeed.
ctl_ok() {
	local reply
	reply=$(ctl "$1") || fail "no reply to $1"
	[ "$(jq -r .ok <<<"$reply")" = true ] || fail "request failed: $1 -> $reply"
}

# timed ARGS...: chaos_peer pipe -t ARGS $PROXY; the body goes to
# $BATS_TEST_TMPDIR/body, the timing record to $T.
timed() {
	T=$("$PEER" pipe -t "$@" "$PROXY" 2>&1 >"$BATS_TEST_TMPDIR/body") || fail "pipe failed: $T"
}

# records EVENT: the proxy's records of that event, one per line.
records() {
	jq -c --arg e "$1" 'select(.event == $e)' "$OUT"
}

inventory_port() {
	local url
	url=$(shop_url inventory-1)
	echo "${url##*:}"
}

# ---- start, records, options --------------------------------------------

@test "the first record says where it listens, with the real port" {
	start_proxy 9 --name edge --seed 42
	run -0 head -n 1 "$OUT"
	assert_jq "$output" '.type' chaos.proxy
	assert_jq "$output" '.event' listening
	assert_jq "$output" '.name' edge
	assert_jq "$output" '.upstream' 127.0.0.1:9
	assert_jq "$output" '.control' "$SOCK"
	assert_jq "$output" '.seed' 42
	assert_jq "$output" '.listen | test("^127\\.0\\.0\\.1:[1-9][0-9]*$")'
	assert_jq "$output" '.ts | test("^20[0-9-]+T[0-9:.]+Z$")'
}

@test "toxics given with --toxic act from the start and are recorded after listening" {
	start_server file "$OFS_TOP/README.md"
	start_proxy "$SERVER_PORT" --toxic '{"type":"latency","attributes":{"latency":"250ms"}}' \
		--toxic '{"name":"cut","type":"limit_data","attributes":{"bytes":10}}'
	run -0 jq -r .event "$OUT"
	assert_output "$(printf 'listening\ntoxic_added\ntoxic_added')"
	run -0 records toxic_added
	assert_jq "$(head -n 1 <<<"$output")" '.via + " " + .toxic.name' "option latency_downstream"
	assert_jq "$(head -n 1 <<<"$output")" '.toxic.attributes.latency' 250
	timed
	assert_jq "$T" '.first_byte_ms >= 250'
	assert_jq "$T" '.bytes_in' 10
}

@test "bad options exit 2 with the reason and the usage" {
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086
		run -2 "$OFS_BIN/ofs-chaos" proxy $args
		assert_output --partial "$want"
		assert_output --partial "usage: ofs-chaos proxy [-hv] [--control socket]"
	done <<'EOF'
--upstream 127.0.0.1:1|ofs-chaos proxy: --listen is required
--listen 127.0.0.1:0|ofs-chaos proxy: --upstream is required
--listen 127.0.0.1 --upstream 127.0.0.1:1|--listen: invalid address '127.0.0.1': expected host:port or [v6]:port
--listen 127.0.0.1:70000 --upstream 127.0.0.1:1|--listen: invalid port in '127.0.0.1:70000': must be 0..65535, got 70000
--listen ::1:0 --upstream 127.0.0.1:1|--listen: invalid address '::1:0': write an IPv6 address as [v6]:port
--listen 127.0.0.1:0 --upstream 127.0.0.1:0|--upstream: invalid port in '127.0.0.1:0': must be 1..65535, got 0
--listen 127.0.0.1:0 --upstream :80|--upstream: invalid address ':80': the host is missing
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --seed -3|--seed: must be 0..9007199254740991, got -3
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic {|--toxic:1:2: invalid JSON
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic {"type":"latncy"}|--toxic: /type: must be one of 'latency'
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic {"type":"latency","attributes":{"latency":-1}}|--toxic: /attributes/latency: must be a number of milliseconds >= 0
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic {"type":"down"} --toxic {"type":"down"}|--toxic: two toxics are named 'down_downstream'
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 extra|unexpected operand 'extra'
--listen 127.0.0.1:0 --upstream 127.0.0.1:1 --lisen x|unknown option '--lisen'; did you mean '--listen'?
EOF
}

@test "every bad option is reported at once, and nothing listens" {
	run -2 chaos proxy --listen 127.0.0.1:99999 --upstream nowhere --seed x \
		--control "$BATS_TEST_TMPDIR"
	assert_line --partial "--listen: invalid port"
	assert_line --partial "--upstream: invalid address 'nowhere'"
	assert_line --partial "--seed: invalid integer 'x'"
	assert_line --partial "--control: '$BATS_TEST_TMPDIR' exists and is not a socket"
}

@test "a port that is taken is a system error (status 4)" {
	start_proxy 9
	run -4 chaos proxy --listen "$PROXY" --upstream 127.0.0.1:9
	assert_output --partial "ofs-chaos: cannot listen on '$PROXY': Address already in use"
}

# ---- bytes pass intact ---------------------------------------------------

@test "4 MB pass both ways intact with no toxic" {
	start_server echo
	start_proxy "$SERVER_PORT"
	head -c 4000000 /dev/urandom >"$BATS_TEST_TMPDIR/data"
	timed <"$BATS_TEST_TMPDIR/data"
	cmp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/body"
	assert_jq "$T" '.end' eof
	run -0 ctl '{"op":"stats"}'
	assert_jq "$output" '.bytes_upstream' 4000000
	assert_jq "$output" '.bytes_downstream' 4000000
	assert_jq "$output" '.connections_total' 1
}

@test "2 MB pass both ways intact through latency, jitter, slicer and bandwidth" {
	start_server echo
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"latency","attributes":{"latency":5,"jitter":4}}}'
	ctl_ok '{"op":"add","toxic":{"type":"latency","stream":"upstream","attributes":{"latency":3}}}'
	ctl_ok '{"op":"add","toxic":{"type":"slicer","attributes":{"average_size":3000,"size_variation":2000}}}'
	ctl_ok '{"op":"add","toxic":{"type":"bandwidth","stream":"upstream","attributes":{"rate":100000}}}'
	head -c 2000000 /dev/urandom >"$BATS_TEST_TMPDIR/data"
	timed <"$BATS_TEST_TMPDIR/data"
	cmp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/body"
}

# ---- each toxic ------------------------------------------------------------

@test "latency delays an HTTP answer by at least its setting, and removing it restores speed" {
	start_proxy "$(inventory_port)"
	ctl_ok '{"op":"add","toxic":{"name":"slow","type":"latency","attributes":{"latency":300}}}'
	run -0 curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://$PROXY/health"
	read -r code t <<<"$output"
	[ "$code" = 200 ]
	awk -v t="$t" 'BEGIN { exit !(t >= 0.3 && t < 1.3) }' || fail "took $t s with 300 ms latency"
	ctl_ok '{"op":"remove","name":"slow"}'
	run -0 curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://$PROXY/health"
	read -r code t <<<"$output"
	[ "$code" = 200 ]
	awk -v t="$t" 'BEGIN { exit !(t < 0.25) }' || fail "took $t s with no toxic"
}

@test "jitter spreads the latency within its bounds" {
	start_server echo
	start_proxy "$SERVER_PORT" --seed 3
	ctl_ok '{"op":"add","toxic":{"type":"latency","attributes":{"latency":200,"jitter":100}}}'
	local i min=100000 max=0 ms
	for ((i = 0; i < 6; i++)); do
		timed <<<"ping"
		ms=$(jq -r '.first_byte_ms | floor' <<<"$T")
		((ms < min)) && min=$ms
		((ms > max)) && max=$ms
	done
	((min >= 100)) || fail "fastest $min ms, below 200 - 100"
	((max < 800)) || fail "slowest $max ms"
	((max - min >= 5)) || fail "no spread: $min..$max ms"
}

@test "bandwidth limits the rate (KB/s of 1000 bytes) on its stream only" {
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/file"
	start_server file "$BATS_TEST_TMPDIR/file"
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"bandwidth","attributes":{"rate":200}}}'
	timed </dev/null
	cmp "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/body"
	# 300000 bytes at 200000 bytes/s: 1.5 s.
	assert_jq "$T" '.end_ms >= 1300 and .end_ms < 3500'
	# The other stream is not limited.
	start_server sink
	local sink=$SERVER_PORT
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$sink" \
		--toxic '{"type":"bandwidth","attributes":{"rate":200}}' >"$BATS_TEST_TMPDIR/p2" </dev/null &
	remember $!
	wait_for grep -q listening "$BATS_TEST_TMPDIR/p2"
	run -0 "$PEER" bulk "$(jq -r .listen "$BATS_TEST_TMPDIR/p2")" 3000000
	assert_jq "$output" '.seconds < 1'
}

@test "slicer delivers every byte, in many pieces, with its delay between them" {
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/file"
	start_server file "$BATS_TEST_TMPDIR/file"
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"slicer","attributes":{"average_size":500,"size_variation":200,"delay":3000}}}'
	timed </dev/null
	cmp "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/body"
	# About 40 pieces 3 ms apart.
	assert_jq "$T" '.reads >= 20'
	assert_jq "$T" '.end_ms >= 90'
}

@test "limit_data cuts the downstream at exactly its byte count" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/file"
	start_server file "$BATS_TEST_TMPDIR/file"
	start_proxy "$SERVER_PORT" -v
	ctl_ok '{"op":"add","toxic":{"type":"limit_data","attributes":{"bytes":12345}}}'
	timed </dev/null
	assert_jq "$T" '.bytes_in' 12345
	assert_jq "$T" '.end' eof
	head -c 12345 "$BATS_TEST_TMPDIR/file" | cmp - "$BATS_TEST_TMPDIR/body"
	wait_for grep -q connection_closed "$OUT"
	run -0 records connection_closed
	assert_jq "$output" '.reason' limit_data
	assert_jq "$output" '.bytes_downstream' 12345
	assert_jq "$output" '.toxics | join(",")' limit_data_downstream
}

@test "limit_data on the upstream stream cuts what the upstream receives" {
	start_server sink
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"limit_data","stream":"upstream","attributes":{"bytes":1000}}}'
	head -c 100000 /dev/zero | "$PEER" pipe "$PROXY" >/dev/null
	wait_for grep -q eof "$SERVER_LOG"
	run -0 tail -n 1 "$SERVER_LOG"
	assert_output "1000 eof"
}

@test "slow_close delays passing on the end of the stream" {
	start_server file "$OFS_TOP/README.md"
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"slow_close","attributes":{"delay":500}}}'
	timed </dev/null
	cmp "$OFS_TOP/README.md" "$BATS_TEST_TMPDIR/body"
	assert_jq "$T" '.first_byte_ms < 300'
	assert_jq "$T" '.end_ms >= 500 and .end_ms < 1500'
	assert_jq "$T" '.end' eof
}

@test "timeout drops the data and closes the connection after its time" {
	start_server echo
	start_proxy "$SERVER_PORT" -v
	ctl_ok '{"op":"add","toxic":{"type":"timeout","attributes":{"timeout":500}}}'
	timed -k <<<"hello"
	assert_jq "$T" '.bytes_in' 0
	assert_jq "$T" '.end' eof
	assert_jq "$T" '.end_ms >= 500 and .end_ms < 1500'
	wait_for grep -q connection_closed "$OUT"
	assert_jq "$(records connection_closed)" '.reason' timeout
}

@test "timeout 0 is a black hole until removed, which closes what it swallowed" {
	start_server echo
	start_proxy "$SERVER_PORT" -v
	ctl_ok '{"op":"add","toxic":{"name":"hole","type":"timeout","attributes":{"timeout":0}}}'
	"$PEER" pipe -k -t "$PROXY" <<<"hello" >"$BATS_TEST_TMPDIR/body" 2>"$BATS_TEST_TMPDIR/t" &
	local client=$!
	remember $client
	sleep 1
	kill -0 "$client" || fail "the black hole let the connection end"
	ctl_ok '{"op":"remove","name":"hole"}'
	wait_for test -s "$BATS_TEST_TMPDIR/t"
	assert_jq "$(cat "$BATS_TEST_TMPDIR/t")" '.bytes_in' 0
	wait_for grep -q connection_closed "$OUT"
	assert_jq "$(records connection_closed)" '.reason' toxic_removed
	# New connections pass again.
	timed <<<"hello"
	run -0 cat "$BATS_TEST_TMPDIR/body"
	assert_output hello
}

@test "reset_peer resets both sides after its timeout" {
	start_server echo
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"reset_peer","attributes":{"timeout":300}}}'
	timed -k <<<"hello"
	assert_jq "$T" '.end' reset
	assert_jq "$T" '.bytes_in' 0
	assert_jq "$T" '.end_ms >= 300 and .end_ms < 1300'
}

@test "reset_peer with timeout 0 resets an HTTP request at once" {
	start_proxy "$(inventory_port)"
	ctl_ok '{"op":"add","toxic":{"type":"reset_peer"}}'
	# As curl sees a reset, depending on when it comes: 7 "Couldn't
	# connect to server", 55 "Send failure", 56 "Recv failure:
	# Connection reset by peer".
	run curl -s -o /dev/null "http://$PROXY/health"
	[[ $status == 7 || $status == 55 || $status == 56 ]] || fail "curl exited $status"
	timed -k <<<"hello"
	assert_jq "$T" '.end' reset
	assert_jq "$T" '.end_ms < 300'
}

@test "down refuses new connections and closes open ones; removing it restores service" {
	start_proxy "$(inventory_port)" -v
	run -0 curl -sf -o /dev/null -w '%{http_code}' "http://$PROXY/health"
	assert_output 200
	start_server echo
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$SERVER_PORT" \
		--control "$BATS_TEST_TMPDIR/c2.sock" >"$BATS_TEST_TMPDIR/p2" </dev/null &
	remember $!
	wait_for grep -q listening "$BATS_TEST_TMPDIR/p2"
	local echo_proxy
	echo_proxy=$(jq -r .listen "$BATS_TEST_TMPDIR/p2")
	"$PEER" pipe -k -t "$echo_proxy" <<<"hello" >/dev/null 2>"$BATS_TEST_TMPDIR/t" &
	remember $!
	sleep 0.3
	"$PEER" pipe "unix:$BATS_TEST_TMPDIR/c2.sock" <<<'{"op":"add","toxic":{"type":"down"}}' >/dev/null
	wait_for test -s "$BATS_TEST_TMPDIR/t" || fail "the open connection was not closed"
	assert_jq "$(cat "$BATS_TEST_TMPDIR/t")" '.end' eof

	ctl_ok '{"op":"add","toxic":{"name":"off","type":"down"}}'
	run curl -s -o /dev/null "http://$PROXY/health"
	assert_failure
	wait_for grep -q '"reason":"down"' "$OUT"
	ctl_ok '{"op":"remove","name":"off"}'
	run -0 curl -sf -o /dev/null -w '%{http_code}' "http://$PROXY/health"
	assert_output 200
}

@test "drop closes new connections at once and leaves open ones alone" {
	start_server echo
	start_proxy "$SERVER_PORT" -v
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$PEER" pipe "$PROXY" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/old" &
	remember $!
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo before >&7
	wait_for grep -q before "$BATS_TEST_TMPDIR/old"
	ctl_ok '{"op":"add","toxic":{"type":"drop"}}'
	timed <<<"new"
	assert_jq "$T" '.bytes_in' 0
	assert_jq "$T" '.end' eof
	echo after >&7
	exec 7>&-
	wait_for grep -q after "$BATS_TEST_TMPDIR/old" || fail "the open connection stopped"
	wait_for grep -q '"reason":"drop"' "$OUT"
}

@test "close_after closes a connection that long after it opened" {
	start_server echo
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"close_after","attributes":{"timeout":"400ms"}}}'
	timed -k <<<"hello"
	assert_jq "$T" '.bytes_in' 6
	assert_jq "$T" '.end' eof
	assert_jq "$T" '.end_ms >= 400 and .end_ms < 1400'
}

@test "slow_connect delays the upstream connection; the client's bytes wait" {
	start_server echo
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"slow_connect","attributes":{"delay":400}}}'
	timed <<<"hello"
	assert_jq "$T" '.connect_ms < 200'
	assert_jq "$T" '.first_byte_ms >= 400 and .first_byte_ms < 1400'
	run -0 cat "$BATS_TEST_TMPDIR/body"
	assert_output hello
}

@test "a toxic acts on its stream only: upstream latency does not delay the server's greeting" {
	start_server file "$OFS_TOP/README.md"
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"type":"latency","stream":"upstream","attributes":{"latency":400}}}'
	timed </dev/null
	assert_jq "$T" '.first_byte_ms < 300'
	start_server echo
	local echo=$SERVER_PORT
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$echo" \
		--toxic '{"type":"latency","stream":"upstream","attributes":{"latency":400}}' \
		>"$BATS_TEST_TMPDIR/p2" </dev/null &
	remember $!
	wait_for grep -q listening "$BATS_TEST_TMPDIR/p2"
	# An echo has to wait for the request, which the toxic delays.
	T=$("$PEER" pipe -t "$(jq -r .listen "$BATS_TEST_TMPDIR/p2")" <<<"hi" 2>&1 >/dev/null)
	assert_jq "$T" '.first_byte_ms >= 400'
}

@test "a toxic added or updated acts on connections already open" {
	start_server echo
	start_proxy "$SERVER_PORT"
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$PEER" pipe "$PROXY" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/echoed" &
	remember $!
	exec 7>"$BATS_TEST_TMPDIR/in"
	# echo_ms WORD: how long WORD takes to come back on the open connection.
	echo_ms() {
		local t0 t1
		t0=$(date +%s%N)
		echo "$1" >&7
		wait_for grep -q "$1" "$BATS_TEST_TMPDIR/echoed" || fail "'$1' did not come back"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000))
	}
	(($(echo_ms one) < 250)) || fail "slow before any toxic"
	ctl_ok '{"op":"add","toxic":{"name":"slow","type":"latency","toxicity":0,"attributes":{"latency":400}}}'
	(($(echo_ms two) < 250)) || fail "toxicity 0 acted"
	ctl_ok '{"op":"update","toxic":{"name":"slow","toxicity":1}}'
	(($(echo_ms three) >= 400)) || fail "the updated toxic did not act"
	ctl_ok '{"op":"remove","name":"slow"}'
	(($(echo_ms four) < 250)) || fail "slow after the toxic was removed"
	exec 7>&-
}

# ---- toxicity and seeds -------------------------------------------------------

@test "toxicity 0 never applies" {
	start_server echo
	start_proxy "$SERVER_PORT" -v
	ctl_ok '{"op":"add","toxic":{"type":"latency","toxicity":0,"attributes":{"latency":1000}}}'
	local i
	for ((i = 0; i < 5; i++)); do
		timed <<<"hi"
		assert_jq "$T" '.first_byte_ms < 500'
	done
	run -0 jq -s -c '[.[] | select(.event == "connection_opened") | .toxics | length] | unique' "$OUT"
	assert_output "[0]"
}

# rolls SEED: which of 24 connections a toxicity 0.5 toxic applied to.
rolls() {
	start_proxy "$SERVER_PORT" -v --seed "$1" \
		--toxic '{"name":"coin","type":"latency","toxicity":0.5,"attributes":{"latency":1}}'
	local i
	for ((i = 0; i < 24; i++)); do
		"$PEER" pipe "$PROXY" <<<"x" >/dev/null
	done
	jq -r 'select(.event == "connection_opened") | .toxics | length' "$OUT" | tr -d '\n'
	kill -TERM "$PROXY_PID"
	wait "$PROXY_PID" || true
}

@test "--seed repeats the same rolls; another seed rolls otherwise" {
	start_server echo
	local a b c
	a=$(rolls 7)
	b=$(rolls 7)
	c=$(rolls 8)
	[ ${#a} = 24 ] || fail "rolls: '$a'"
	[ "$a" = "$b" ] || fail "seed 7 rolled $a, then $b"
	[ "$a" != "$c" ] || fail "seeds 7 and 8 rolled the same: $a"
	[[ $a == *0* && $a == *1* ]] || fail "toxicity 0.5 gave $a"
}

# ---- the control channel ----------------------------------------------------

@test "control socket: mode 0600, and add, list, update, remove, reset, stats" {
	start_server echo
	start_proxy "$SERVER_PORT"
	run -0 stat -c %a "$SOCK"
	assert_output 600
	run -0 ctl '{"op":"add","id":7,"toxic":{"type":"latency","attributes":{"latency":10}}}'
	assert_jq "$output" '.type' chaos.proxy.reply
	assert_jq "$output" '.op + " " + (.ok | tostring) + " " + (.id | tostring)' "add true 7"
	assert_jq "$output" '.toxic | tojson' '{"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1,"attributes":{"latency":10,"jitter":0}}'
	run -0 ctl '{"op":"update","toxic":{"name":"latency_downstream","toxicity":0.5,"attributes":{"jitter":"5ms"}}}'
	assert_jq "$output" '.toxic.toxicity' 0.5
	assert_jq "$output" '.toxic.attributes | [.latency, .jitter] | join(" ")' "10 5"
	ctl_ok '{"op":"add","toxic":{"name":"cap","type":"bandwidth","stream":"upstream","attributes":{"rate":1000}}}'
	run -0 ctl '{"op":"list"}'
	assert_jq "$output" '[.toxics[].name] | join(",")' "latency_downstream,cap"
	run -0 ctl '{"op":"remove","name":"cap"}'
	assert_jq "$output" '.ok' true
	assert_jq "$output" '.toxic.name' cap
	run -0 ctl '{"op":"stats"}'
	assert_jq "$output" '[.connections_open, .connections_total, .bytes_upstream, .bytes_downstream, .toxics] | join(" ")' "0 0 0 0 1"
	run -0 ctl '{"op":"reset"}'
	assert_jq "$output" '.removed' 1
	run -0 ctl '{"op":"list"}'
	assert_jq "$output" '.toxics | length' 0
	run -0 jq -r '.event + " " + (.via // "")' "$OUT"
	assert_output "$(printf '%s\n' 'listening ' 'toxic_added socket' 'toxic_updated socket' \
		'toxic_added socket' 'toxic_removed socket' 'reset socket')"
}

@test "control socket: one connection may carry several requests" {
	start_proxy 9
	run -0 "$PEER" pipe "unix:$SOCK" <<<$'{"op":"stats"}\n\n{"op":"list"}\r\n{"op":"reset"}'
	assert_equal "$(jq -r .op <<<"$output" | tr '\n' ' ')" "stats list reset "
}

@test "control on stdin: replies on stdout; the end of stdin does not stop the proxy" {
	start_server echo
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$SERVER_PORT" \
		<"$BATS_TEST_TMPDIR/in" >"$OUT" &
	PROXY_PID=$!
	remember $!
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_for has_listening
	PROXY=$(jq -r 'select(.event == "listening") | .listen' "$OUT")
	echo '{"op":"add","toxic":{"type":"latency","attributes":{"latency":200}}}' >&7
	wait_for grep -q chaos.proxy.reply "$OUT"
	run -0 jq -c 'select(.type == "chaos.proxy.reply")' "$OUT"
	assert_jq "$output" '.op + " " + (.ok | tostring)' "add true"
	assert_jq "$(records toxic_added)" '.via' stdin
	assert_jq "$(jq -c 'select(.event == "listening")' "$OUT")" '.control' null
	exec 7>&-
	sleep 0.2
	kill -0 "$PROXY_PID" || fail "the proxy stopped at the end of stdin"
	timed <<<"hi"
	assert_jq "$T" '.first_byte_ms >= 200'
}

@test "requests in a file given as stdin are carried out at start" {
	start_server echo
	printf '%s\n' '{"op":"add","toxic":{"type":"latency","attributes":{"latency":250}}}' \
		'{"op":"list"}' >"$BATS_TEST_TMPDIR/requests"
	"$OFS_BIN/ofs-chaos" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$SERVER_PORT" \
		<"$BATS_TEST_TMPDIR/requests" >"$OUT" &
	remember $!
	wait_for grep -q '"op":"list"' "$OUT"
	run -0 jq -r '.event // .op' "$OUT"
	assert_output "$(printf 'listening\ntoxic_added\nadd\nlist')"
	PROXY=$(jq -r 'select(.event == "listening") | .listen' "$OUT")
	timed <<<"hi"
	assert_jq "$T" '.first_byte_ms >= 250'
}

@test "bad requests get ok:false with the reason and the JSON pointer; the proxy goes on" {
	start_server echo
	start_proxy "$SERVER_PORT"
	ctl_ok '{"op":"add","toxic":{"name":"taken","type":"down","toxicity":0}}'
	while IFS='|' read -r req want; do
		run -0 ctl "$req"
		assert_jq "$output" '.type' chaos.proxy.reply
		assert_jq "$output" '.ok' false
		assert_jq "$output" '.error' "$want"
	done <<'EOF'
{"op":"add","toxic":{"type":"latency","attributes":{"latency":-5}}}|/toxic/attributes/latency: must be a number of milliseconds >= 0 (at most 30 days) or a duration like "250ms"
{"op":"add","toxic":{"type":"latency","attributes":{"latncy":5}}}|/toxic/attributes/latncy: unknown key 'latncy'; did you mean 'latency'?; /toxic/attributes: missing required key 'latency'
{"op":"add","toxic":{"type":"latency","toxicity":2,"attributes":{"latency":"5x"}}}|/toxic/toxicity: must be 0..1, got 2; /toxic/attributes/latency: invalid duration '5x': unknown unit 'x'
{"op":"add","toxic":{"type":"slicer","attributes":{"average_size":10,"size_variation":10}}}|/toxic/attributes/size_variation: must be less than average_size (10), got 10
{"op":"add","toxic":{"type":"bandwidth","attributes":{"rate":0}}}|/toxic/attributes/rate: must be greater than 0 (KB/s), got 0
{"op":"add","toxic":{"type":"limit_data","attributes":{"bytes":1.5}}}|/toxic/attributes/bytes: must be an integer, got number 1.5
{"op":"add","toxic":{"type":"down","stream":"sideways"}}|/toxic/stream: must be one of 'upstream', 'downstream', got 'sideways'
{"op":"add","toxic":{"name":"a/b","type":"down"}}|/toxic/name: must not contain '/' or control characters
{"op":"add","toxic":{"name":"taken","type":"down"}}|a toxic named 'taken' exists already
{"op":"add"}|missing required key 'toxic'
{"op":"remove","name":"nope"}|/name: no toxic is named 'nope'
{"op":"update","toxic":{"name":"nope"}}|/toxic/name: no toxic is named 'nope'
{"op":"update","toxic":{"name":"taken","type":"latency"}}|/toxic/type: cannot change the type of toxic 'taken' (down); remove it and add another
{"op":"ad"}|/op: must be one of 'add', 'update', 'remove', 'list', 'reset', 'stats', got 'ad'; did you mean 'add'?
{"op":"list","extra":1}|/extra: unknown key 'extra'
[1,2]|the top level must be an object, got array
{"op":|request:1:7: invalid JSON: unexpected end of input, expected a value
EOF
	run -0 ctl $'\x01\xff garbage'
	assert_jq "$output" '.ok' false
	run -0 bash -c "head -c 1100000 /dev/zero | tr '\\0' x | '$PEER' pipe unix:$SOCK"
	assert_jq "$output" '.error' "request line longer than 1048576 bytes"
	timed <<<"still here"
	run -0 cat "$BATS_TEST_TMPDIR/body"
	assert_output "still here"
}

@test "a stale control socket is replaced; a live one is refused" {
	start_proxy 9
	run -4 chaos proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --control "$SOCK"
	assert_output "ofs-chaos: control socket '$SOCK' is in use by a running process"
	kill -KILL "$PROXY_PID"
	wait "$PROXY_PID" || true
	[ -S "$SOCK" ]
	start_proxy 9
	ctl_ok '{"op":"list"}'
}

@test "an upstream that refuses makes the proxy reset the client" {
	start_proxy 1 -v
	timed -k <<<"hello"
	assert_jq "$T" '.end' reset
	wait_for grep -q connection_closed "$OUT"
	assert_jq "$(records connection_closed)" '.reason' connect_failed
	assert_jq "$(records connection_closed)" '.error' "Connection refused"
}

@test "SIGTERM closes everything, writes the final record and exits 143 leaving no socket" {
	start_server echo
	start_proxy "$SERVER_PORT" -v
	"$PEER" pipe -k -t "$PROXY" <<<"hello" >/dev/null 2>"$BATS_TEST_TMPDIR/t" &
	remember $!
	wait_for grep -q connection_opened "$OUT"
	kill -TERM "$PROXY_PID"
	local status=0
	wait "$PROXY_PID" || status=$?
	assert_equal "$status" 143
	[ ! -e "$SOCK" ] || fail "the control socket was left behind"
	run -0 tail -n 1 "$OUT"
	assert_jq "$output" '.event' stopped
	assert_jq "$output" '.signal' SIGTERM
	assert_jq "$output" '[.connections_total, .connections_closed, .bytes_upstream] | join(" ")' "1 1 6"
	assert_jq "$(records connection_closed)" '.reason' stopped
	wait_for test -s "$BATS_TEST_TMPDIR/t"
	assert_jq "$(cat "$BATS_TEST_TMPDIR/t")" '.end' eof
}

@test "records that cannot be written are a system error (status 4)" {
	to_full() {
		chaos proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 </dev/null >/dev/full
	}
	run -4 to_full
	assert_output "ofs-chaos: write error on standard output: No space left on device"
}

@test "SIGINT exits 130" {
	start_proxy 9
	kill -INT "$PROXY_PID"
	local status=0
	wait "$PROXY_PID" || status=$?
	assert_equal "$status" 130
	[ ! -e "$SOCK" ]
}
