#!/usr/bin/env bats
# tests/ofs-replay-events.bats: event sourcing with ofs-replay: `fold`
# against a reference computed by jq over a generated stream that uses
# every operation (also with --until, and from a snapshot), `reconcile`
# of two diverged logs (conflicts, counters, add-wins sets, LWW, argument
# order, idempotence), bad input and bad specs, and the man page examples.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-replay.1

FIX=$OFS_TOP/tests/fixtures/replay/events
EX=$OFS_TOP/examples/replay/events

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

replay() {
	"$OFS_BIN/ofs-replay" "$@"
}

gen() {
	awk -v n="$1" -f "$FIX/gen.awk"
}

@test "fold: state equals jq's reference over 3000 events of every operation" {
	gen 3000 >ev.jsonl
	jq -n -c -f "$FIX/reference.jq" ev.jsonl >want
	[ "$(wc -l <want)" -gt 10 ]
	run -0 replay fold --key /order_id --reducer "$FIX/reducer.json" ev.jsonl
	jq -c '{key, state, version}' <<<"$output" >got
	diff want got
}

@test "fold --until: the reference over the events up to that time" {
	gen 3000 >ev.jsonl
	t=2026-01-01T00:25:00.000000Z
	jq -c --arg t "$t" 'select(.ts <= $t)' ev.jsonl >head.jsonl
	jq -n -c -f "$FIX/reference.jq" head.jsonl >want
	run -0 replay fold --key /order_id --reducer "$FIX/reducer.json" --until "$t" ev.jsonl
	jq -c '{key, state, version}' <<<"$output" >got
	diff want got
	assert_jq "$(head -1 <<<"$output")" .through "$t"
}

@test "fold --snapshot: a snapshot at T, then the rest, equals the fold of everything" {
	gen 3000 >ev.jsonl
	replay fold -k /order_id -r "$FIX/reducer.json" ev.jsonl >all
	replay fold -k /order_id -r "$FIX/reducer.json" --deleted --until 2026-01-01T00:20:00Z ev.jsonl >snap
	grep -q '"deleted":true' snap
	run -0 replay fold -k /order_id -r "$FIX/reducer.json" --snapshot snap ev.jsonl
	diff all <(printf '%s\n' "$output")
}

@test "fold: operations carried by the events themselves, without a spec" {
	cat >ev.jsonl <<'X'
{"ts":"2026-01-01T00:00:01Z","id":7,"op":"set","data":{"a":{"b":1},"n":1}}
{"ts":"2026-01-01T00:00:02Z","id":7,"op":"merge","path":"/a","data":{"c":2,"b":null}}
{"ts":"2026-01-01T00:00:03Z","id":7,"op":"increment","path":"/n"}
{"ts":"2026-01-01T00:00:04Z","id":7,"op":"increment","path":"/n","data":-5}
{"ts":"2026-01-01T00:00:05Z","id":7,"op":"append","path":"/l/x","data":true}
{"ts":"2026-01-01T00:00:06Z","id":7,"op":"delete","path":"/a/c"}
{"ts":"2026-01-01T00:00:07Z","id":8,"op":"set","path":"/k~1j","data":"slash"}
{"ts":"2026-01-01T00:00:08Z","id":8,"op":"delete"}
X
	run -0 replay fold --key /id ev.jsonl
	assert_output '{"type":"replay.state","ts":"2026-01-01T00:00:06.000000Z","key":"7","state":{"a":{},"n":-3,"l":{"x":[true]}},"version":6,"last_ts":"2026-01-01T00:00:06.000000Z","through":"2026-01-01T00:00:08.000000Z"}'
	run -0 replay fold --key /id --deleted ev.jsonl
	assert_line --index 1 '{"type":"replay.state","ts":"2026-01-01T00:00:08.000000Z","key":"8","state":null,"version":2,"last_ts":"2026-01-01T00:00:08.000000Z","through":"2026-01-01T00:00:08.000000Z","deleted":true}'
}

@test "fold: --type-field names the member holding the event type" {
	printf '%s\n' '{"ts":"2026-01-01T00:00:01Z","k":"a","kind":"order.created","data":{"x":1}}' >ev.jsonl
	run -0 replay fold --key /k --reducer "$EX/reducer.json" --type-field kind ev.jsonl
	assert_output --partial '"state":{"x":1}'
}

@test "fold: bad lines are reported with FILE:LINE, the rest is folded, exit 3" {
	cat >ev.jsonl <<'X'
{"ts":"2026-01-01T00:00:01Z","k":"a","op":"set","data":{"n":1}}
{"ts":"2026-01-01T00:00:02Z","k":"a","op":
{"k":"a","op":"set","data":1}
{"ts":"2026-01-01T00:00:03Z","op":"set","data":1}
{"ts":"2026-01-01T00:00:04Z","k":"a","type":"what"}
{"ts":"2026-01-01T00:00:05Z","k":"a","op":"append","path":"/n","data":1}
{"ts":"2026-01-01T00:00:06Z","k":"a","op":"increment","path":"/n","data":"x"}
{"ts":"2026-01-01T00:00:07Z","k":"a","op":"frob"}
{"ts":"2026-01-01T00:00:08Z","k":"a","op":"increment","path":"/n"}
X
	run -3 --separate-stderr replay fold --key /k ev.jsonl
	assert_output '{"type":"replay.state","ts":"2026-01-01T00:00:08.000000Z","key":"a","state":{"n":2},"version":2,"last_ts":"2026-01-01T00:00:08.000000Z","through":"2026-01-01T00:00:08.000000Z"}'
	[ "$stderr" = "ofs-replay: ev.jsonl:2: invalid JSON: unexpected end of line at column 43
ofs-replay: ev.jsonl:3: missing or invalid 'ts' (want an RFC 3339 time)
ofs-replay: ev.jsonl:4: no key at /k
ofs-replay: ev.jsonl:5: no rule for event type 'what' and no 'op'
ofs-replay: ev.jsonl:6: /n is not an array
ofs-replay: ev.jsonl:7: increment operand at /data is not a number
ofs-replay: ev.jsonl:8: 'op' must be one of set, merge, increment, append, delete, ignore" ]
	run -3 --separate-stderr replay fold --key /k --strict ev.jsonl
	assert_output ''
	[ "$stderr" = "ofs-replay: ev.jsonl:2: invalid JSON: unexpected end of line at column 43" ]
}

@test "fold: a bad reducer spec is reported completely with pointers, exit 2" {
	cat >bad.json <<'X'
{"a": {"op": "nope"}, "b": [], "c": {"op": "append"}, "d": {"op": "set", "from": "x"},
 "e/f": {"op": "delete", "from": "/x", "extra": 1}, "g": {"op": "set", "by": 2},
 "h": {"op": "increment", "path": "/n", "by": 1, "from": "/m"}}
X
	run -2 replay fold --key /k --reducer bad.json /dev/null
	assert_output "ofs-replay: bad.json: /a/op: must be one of 'set', 'merge', 'increment', 'append', 'delete', 'ignore', got 'nope'
ofs-replay: bad.json: /b: must be an object {\"op\": ...}, got array
ofs-replay: bad.json: /c: append needs a 'path' naming a field
ofs-replay: bad.json: /d/from: must be a JSON pointer starting with '/' (or \"\"), got \"x\"
ofs-replay: bad.json: /e~1f/extra: unknown key 'extra'
ofs-replay: bad.json: /g/by: only increment takes 'by'
ofs-replay: bad.json: /h/by: give 'by' or 'from', not both"
	printf '{"a": {"op": "set",}}' >syntax.json
	run -2 replay fold --key /k --reducer syntax.json /dev/null
	assert_output --partial "ofs-replay: syntax.json:1:19: invalid JSON: trailing comma"
	run -2 replay fold --key /k --reducer missing.json /dev/null
	assert_output "ofs-replay: cannot open 'missing.json': No such file or directory"
}

@test "fold: usage errors, missing file, empty input, /dev/full" {
	run -2 replay fold ev.jsonl
	assert_line --index 0 --partial "--key is required"
	run -2 replay fold --key k /dev/null
	assert_line --index 0 --partial "--key: must be a JSON pointer"
	run -2 replay fold --key /k --until yesterday /dev/null
	assert_line --index 0 --partial "--until: not an RFC 3339 time: 'yesterday'"
	run -2 replay fold --key /k nothere.jsonl
	assert_output "ofs-replay: cannot open 'nothere.jsonl': No such file or directory"
	run -0 replay fold --key /k </dev/null
	assert_output ''
	: >empty.jsonl
	run -0 replay fold --key /k empty.jsonl
	assert_output ''
	run -4 sh -c "'$OFS_BIN/ofs-replay' fold --key /order_id --reducer '$EX/reducer.json' '$EX/orders.jsonl' >/dev/full"
	assert_output --partial "No space left on device"
}

@test "fold: a 10 MB event is folded whole; binary garbage is rejected by line; SIGTERM ends it with 143" {
	head -c 10000000 /dev/zero | tr '\0' x >big.txt
	{
		printf '{"ts":"2026-01-01T00:00:00Z","order_id":"o1","op":"set","data":{"note":"'
		cat big.txt
		printf '"}}\n'
		head -c 3000 /dev/urandom | tr -d '\n'
		printf '\n{"ts":"2026-01-01T00:00:01Z","order_id":"o1","op":"merge","data":{"paid":1}}\n'
	} >mixed.jsonl
	run -3 --separate-stderr replay fold --key /order_id mixed.jsonl
	assert_equal "$(jq -r '.state.note | length' <<<"$output")" 10000000
	assert_equal "$(jq -c '[.version, .state.paid]' <<<"$output")" "[2,1]"
	assert_equal "$(grep -c '^ofs-replay: mixed.jsonl:2: ' <<<"$stderr")" 1
	# a fold waiting on a pipe ends on SIGTERM like every ofs program
	mkfifo ev.fifo
	bg out.jsonl "$OFS_BIN/ofs-replay" fold --key /order_id ev.fifo
	exec 5>ev.fifo
	printf '%s\n' '{"ts":"2026-01-01T00:00:00Z","order_id":"o1","op":"set","data":{}}' >&5
	sleep 0.3
	kill -TERM "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	exec 5>&-
	assert_equal "$st" 143
}

@test "fold --snapshot: a record that is not a state is rejected with FILE:LINE" {
	printf '%s\n' '{"type":"replay.diff","ts":"2026-01-01T00:00:00Z"}' >snap
	run -3 replay fold --key /k --snapshot snap /dev/null
	assert_output "ofs-replay: snap:1: not a replay.state record"
}

# ---- reconcile -----------------------------------------------------------

# A pair of logs: 300 shared events, then each side's own, for 20 carts:
# counters on both sides, LWW emails, VC addresses (one concurrent pair
# per cart) and set adds/removes.
make_logs() {
	awk 'BEGIN {
		for (i = 0; i < 300; i++) {
			c = "c" (i % 20)
			printf "{\"id\":\"s%d\",\"cart\":\"%s\",\"hlc\":\"%d.0.s\",\"field\":\"visits\",\"inc\":%d}\n", i, c, 1000 + i, i % 3 + 1 > "a.jsonl"
			printf "{\"id\":\"s%d\",\"cart\":\"%s\",\"hlc\":\"%d.0.s\",\"field\":\"visits\",\"inc\":%d}\n", i, c, 1000 + i, i % 3 + 1 > "b.jsonl"
		}
		for (k = 0; k < 20; k++) {
			c = "c" k
			printf "{\"id\":\"a%d\",\"cart\":\"%s\",\"hlc\":\"%d.0.a\",\"field\":\"visits\",\"inc\":10}\n", k, c, 2000 + k > "a.jsonl"
			printf "{\"id\":\"b%d\",\"cart\":\"%s\",\"hlc\":\"%d.0.b\",\"field\":\"visits\",\"inc\":-1}\n", k, c, 2000 + k > "b.jsonl"
			printf "{\"id\":\"ae%d\",\"cart\":\"%s\",\"hlc\":{\"l\":%d,\"c\":1,\"node\":\"a\"},\"field\":\"email\",\"value\":\"a%d\"}\n", k, c, 3000, k > "a.jsonl"
			printf "{\"id\":\"be%d\",\"cart\":\"%s\",\"hlc\":{\"l\":%d,\"c\":0,\"node\":\"b\"},\"field\":\"email\",\"value\":\"b%d\"}\n", k, c, 3000 + k % 2, k > "b.jsonl"
			printf "{\"id\":\"aa%d\",\"cart\":\"%s\",\"hlc\":\"4000.0.a\",\"vc\":{\"a\":2,\"b\":1},\"field\":\"address\",\"value\":\"A\"}\n", k, c > "a.jsonl"
			printf "{\"id\":\"ba%d\",\"cart\":\"%s\",\"hlc\":\"4001.0.b\",\"vc\":{\"a\":1,\"b\":2},\"field\":\"address\",\"value\":\"B\"}\n", k, c > "b.jsonl"
		}
	}'
}

@test "reconcile: counters sum both sides with shared events once; LWW takes the later HLC" {
	make_logs
	printf '{"key": "/cart", "fields": {"visits": "counter"}}' >spec.json
	run -0 --separate-stderr replay reconcile --spec spec.json a.jsonl b.jsonl
	[ "$(jq -c 'select(.type == "cart.update" or (.type == null))' <<<"$output" | wc -l)" -eq 420 ]
	states=$(jq -c 'select(.type == "replay.state")' <<<"$output")
	[ "$(wc -l <<<"$states")" -eq 20 ]
	# visits: shared 300 events once, +10 from a, -1 from b
	want=$(awk 'BEGIN { for (i = 0; i < 300; i++) s[i % 20] += i % 3 + 1; for (k = 0; k < 20; k++) printf "c%d %d\n", k, s[k] + 9 }')
	[ "$(jq -r '"\(.key) \(.state.visits)"' <<<"$states")" = "$want" ]
	# email: a wins at equal l by c (c1 > c0) when b's l is 3000, b wins at l 3001
	[ "$(jq -r 'select(.key == "c0" or .key == "c1") | .state.email' <<<"$states")" = "$(printf 'a0\nb1')" ]
	# the default strategy is lww, so concurrent addresses are not conflicts
	[ "$(jq -c 'select(.type == "replay.conflict")' <<<"$output")" = "" ]
	assert_jq "$(head -1 <<<"$states")" .state.address B
}

@test "reconcile: concurrent vector clocks are conflicts, never dropped; exit 1" {
	make_logs
	printf '{"key": "/cart", "fields": {"address": "vc", "visits": "counter"}}' >spec.json
	run -1 --separate-stderr replay reconcile --spec spec.json a.jsonl b.jsonl
	conflicts=$(jq -c 'select(.type == "replay.conflict")' <<<"$output")
	[ "$(wc -l <<<"$conflicts")" -eq 20 ]
	assert_jq "$(head -1 <<<"$conflicts")" '[.key, .field, (.values | map("\(.id)=\(.value)@\(.hlc)") | join(" ")), .kept] | join(" ")' \
		"c0 address aa0=A@4000.0.a ba0=B@4001.0.b ba0"
	# causally later wins outright: b's update that saw a's is no conflict
	cat >a2.jsonl <<'X'
{"id":"x1","cart":"k","hlc":"9.0.a","vc":{"a":1},"field":"address","value":"old"}
X
	cat >b2.jsonl <<'X'
{"id":"x1","cart":"k","hlc":"9.0.a","vc":{"a":1},"field":"address","value":"old"}
{"id":"y1","cart":"k","hlc":"5.0.b","vc":{"a":1,"b":1},"field":"address","value":"new"}
X
	run -0 replay reconcile --spec spec.json a2.jsonl b2.jsonl
	assert_line --index 2 --partial '"key":"k","state":{"address":"new"},"version":2'
}

@test "reconcile: add-wins set: a concurrent add survives a remove, an observed add does not" {
	printf '{"fields": {"tags": "set"}}' >spec.json
	cat >a.jsonl <<'X'
{"id":"1","key":"c","hlc":"1.0.a","vc":{"a":1},"field":"tags","add":"red"}
{"id":"2","key":"c","hlc":"2.0.a","vc":{"a":2},"field":"tags","add":"blue"}
{"id":"3","key":"c","hlc":"5.0.a","vc":{"a":3},"field":"tags","remove":"red"}
{"id":"4","key":"c","hlc":"6.0.a","vc":{"a":4},"field":"tags","remove":"blue"}
X
	cat >b.jsonl <<'X'
{"id":"1","key":"c","hlc":"1.0.a","vc":{"a":1},"field":"tags","add":"red"}
{"id":"2","key":"c","hlc":"2.0.a","vc":{"a":2},"field":"tags","add":"blue"}
{"id":"5","key":"c","hlc":"3.0.b","vc":{"a":2,"b":1},"field":"tags","add":"red"}
{"id":"6","key":"c","hlc":"4.0.b","vc":{"a":2,"b":2},"field":"tags","add":{"x":1}}
X
	run -0 replay reconcile --spec spec.json a.jsonl b.jsonl
	assert_line --index 6 '{"type":"replay.state","ts":"1970-01-01T00:00:00.006000Z","key":"c","state":{"tags":["red",{"x":1}]},"version":6,"last_hlc":"6.0.a"}'
}

@test "reconcile: the same output in either argument order, and merging again changes nothing" {
	make_logs
	printf '{"key": "/cart", "fields": {"address": "vc", "visits": "counter"}}' >spec.json
	run -1 replay reconcile --spec spec.json a.jsonl b.jsonl
	ab=$output
	run -1 replay reconcile --spec spec.json b.jsonl a.jsonl
	[ "$output" = "$ab" ]
	printf '%s\n' "$ab" >m.jsonl
	run -1 replay reconcile --spec spec.json m.jsonl a.jsonl
	[ "$output" = "$ab" ]
	run -1 replay reconcile --spec spec.json b.jsonl m.jsonl
	[ "$output" = "$ab" ]
}

@test "reconcile: bad events FILE:LINE exit 3, bad spec exit 2 with pointers, missing file, /dev/full" {
	cat >a.jsonl <<'X'
{"id":"1","key":"c","hlc":"1.0.a","field":"n","value":1}
not json
{"key":"c","hlc":"1.0.a","field":"n","value":1}
{"id":"2","key":"c","hlc":"1.0","field":"n","value":1}
{"id":"3","key":"c","hlc":"1.0.a","field":"n"}
{"id":"4","key":"c","hlc":"1.0.a","field":"v","value":1}
{"id":"5","key":"c","hlc":"1.0.a","field":"n","value":1,"vc":{"a":-1}}
X
	printf '{"fields": {"v": "vc"}}' >spec.json
	run -3 --separate-stderr replay reconcile --spec spec.json a.jsonl /dev/null
	[ "$stderr" = "ofs-replay: a.jsonl:2: invalid JSON at column 1 near 'n'
ofs-replay: a.jsonl:3: missing 'id' (a non-empty string)
ofs-replay: a.jsonl:4: hlc: expected \"L.C.NODE\" (L and C decimal), got \"1.0\"
ofs-replay: a.jsonl:5: field 'n' (lww) needs 'value'
ofs-replay: a.jsonl:6: field 'v' (vc) needs 'vc'
ofs-replay: a.jsonl:7: vc: 'a' must be a whole number >= 0" ]
	assert_line --index 1 --partial '"state":{"n":1}'
	printf '{"key": "x", "fields": {"a": "lvw", "b": 3}, "default": "max", "extra": 1}' >bad.json
	run -2 replay reconcile --spec bad.json a.jsonl a.jsonl
	assert_output "ofs-replay: bad.json: /extra: unknown key 'extra'
ofs-replay: bad.json: /key: must be a JSON pointer starting with '/' (or \"\"), got \"x\"
ofs-replay: bad.json: /default: must be one of 'lww', 'vc', 'counter', 'set', got 'max'
ofs-replay: bad.json: /fields/a: must be one of 'lww', 'vc', 'counter', 'set', got 'lvw'; did you mean 'lww'?
ofs-replay: bad.json: /fields/b: must be a string, got number 3"
	run -2 replay reconcile a.jsonl
	assert_line --index 0 --partial "want two event logs"
	run -2 replay reconcile a.jsonl missing.jsonl
	assert_output --partial "cannot open 'missing.jsonl'"
	run -0 replay reconcile /dev/null /dev/null
	assert_output ''
	run -4 sh -c "'$OFS_BIN/ofs-replay' reconcile --spec '$EX/spec.json' '$EX/a.jsonl' '$EX/b.jsonl' >/dev/full"
	assert_output --partial "No space left on device"
}

# ---- man page examples ---------------------------------------------------

# run_example NAME: the example's commands run by bash in a copy of
# examples/replay/events; its output must be what the manual shows.
run_example() {
	local cmds
	cmds=$(man_commands "$1")
	[ -n "$cmds" ] || fail "example '$1' has no commands in the manual"
	cp "$EX"/* .
	run bash -c "PATH=\"\$OFS_BIN:\$PATH\" && $cmds" 2>&1
	assert_output "$(man_output "$1")"
}

@test "man page example: fold-orders" {
	run_example fold-orders
}

@test "man page example: fold-until" {
	run_example fold-until
}

@test "man page example: reconcile-carts" {
	run_example reconcile-carts
	# the ten merged events precede the two lines shown
	run -1 "$OFS_BIN/ofs-replay" reconcile --spec spec.json a.jsonl b.jsonl
	[ "${#lines[@]}" -eq 12 ]
}
