#!/usr/bin/env bats
# tests/ofs-replay-migrate.bats: ofs-replay verify and map, the migration
# commands.
#
# verify: two sets of 20,000 records made by awk, each side shuffled
# differently, with known planted differences (missing, extra, changed)
# and known noise that is no difference (member order, 42 written 42.0);
# verify must report exactly the planted ones, with the default memory
# and with a budget small enough to force many partitions (then in the
# same order). Then duplicates, bad lines, keys that are absent or not
# scalars, composite keys, --ignore, --limit, gzip, and the standard
# cases (empty input, a 10 MB line, binary garbage, a missing file,
# >/dev/full, SIGTERM mid-run with its temporary files removed).
#
# map: each rule kind, data-driven (spec, input, expected output);
# --reverse and the round trip; rules that cannot be reversed; invalid
# specs from tests/fixtures/replay/migrate/specs (each NAME.json beside
# NAME.err, the exact messages); values that do not convert.
#
# The man page examples (see man_example below) run from a copy of
# examples/replay/migrate.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-replay.1

unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/replay/migrate

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
}

teardown() {
	stop_bg
}

rp() {
	"$OFS_BIN/ofs-replay" "$@"
}

# records: stdin without the fields that vary from run to run.
records() {
	jq -c 'del(.ts)'
}

# tmp_left: what verify left in $TMPDIR (nothing, when it cleaned up).
tmp_left() {
	find "$TMPDIR" -mindepth 1 | sort
}

# tmp_open PID: how many deleted files in $TMPDIR PID holds open.
tmp_open() {
	find "/proc/$1/fd" -type l -printf '%l\n' 2>/dev/null | grep -c "^$TMPDIR/.* (deleted)$" || true
}

# make_sets: legacy.jsonl and new.jsonl, 20,000 records each side (new:
# 3 missing, 2 extra), shuffled differently. Planted changes: id 100
# price + 1, id 5000 city, id 15000 second tag and a new field "note".
# Noise: on the new side every id divisible by 97 is written with its
# members in another order and its price as N.0.
make_sets() {
	awk 'BEGIN {
		for (i = 1; i <= 20000; i++) {
			p = (i * 37) % 1000; c = "c" (i % 50); z = sprintf("%05d", i % 99999)
			printf "{\"id\":%d,\"name\":\"n %d\",\"price\":%d,\"address\":{\"city\":\"%s\",\"zip\":\"%s\"},\"tags\":[\"a\",\"b%d\"]}\n", i, i, p, c, z, i % 3 >"legacy.raw"
			if (i == 7 || i == 4242 || i == 19999) continue
			t2 = "b" (i % 3); note = ""
			if (i == 100) p = p + 1
			if (i == 5000) c = "moved"
			if (i == 15000) { t2 = "tX"; note = ",\"note\":\"new\"" }
			if (i % 97 == 0)
				printf "{\"tags\":[\"a\",\"%s\"],\"address\":{\"zip\":\"%s\",\"city\":\"%s\"},\"price\":%d.0,\"name\":\"n %d\",\"id\":%d%s}\n", t2, z, c, p, i, i, note >"new.raw"
			else
				printf "{\"id\":%d,\"name\":\"n %d\",\"price\":%d,\"address\":{\"city\":\"%s\",\"zip\":\"%s\"},\"tags\":[\"a\",\"%s\"]%s}\n", i, i, p, c, z, t2, note >"new.raw"
		}
		printf "{\"id\":20001,\"name\":\"n 20001\"}\n{\"id\":20002,\"name\":\"n 20002\"}\n" >"new.raw"
	}'
	shuffle 1 <legacy.raw >legacy.jsonl
	shuffle 2 <new.raw >new.jsonl
	rm legacy.raw new.raw
}

# shuffle SEED: stdin's lines in an order drawn with SEED.
shuffle() {
	awk -v s="$1" 'BEGIN { srand(s) } { printf "%.12f\t%s\n", rand(), $0 }' | sort -k1,1 | cut -f2-
}

# The planted differences, by key, without ts and line numbers.
planted() {
	cat <<'EOF'
{"type":"replay.changed","key":100,"fields":[{"path":"/price","change":"changed","legacy":700,"new":701}]}
{"type":"replay.changed","key":5000,"fields":[{"path":"/address/city","change":"changed","legacy":"c0","new":"moved"}]}
{"type":"replay.changed","key":15000,"fields":[{"path":"/note","change":"extra","new":"new"},{"path":"/tags/1","change":"changed","legacy":"b0","new":"tX"}]}
{"type":"replay.missing","key":7,"record":{"id":7,"name":"n 7","price":259,"address":{"city":"c7","zip":"00007"},"tags":["a","b1"]}}
{"type":"replay.missing","key":4242,"record":{"id":4242,"name":"n 4242","price":954,"address":{"city":"c42","zip":"04242"},"tags":["a","b0"]}}
{"type":"replay.missing","key":19999,"record":{"id":19999,"name":"n 19999","price":963,"address":{"city":"c49","zip":"19999"},"tags":["a","b1"]}}
{"type":"replay.extra","key":20001,"record":{"id":20001,"name":"n 20001"}}
{"type":"replay.extra","key":20002,"record":{"id":20002,"name":"n 20002"}}
EOF
}

# by_key FILE: FILE's difference records sorted by type then key,
# without ts and line numbers.
by_key() {
	jq -c 'select(.type != "replay.verify") | del(.ts, .line, .legacy_line, .new_line)' "$1" |
		jq -s -c 'sort_by(.type != "replay.changed", .type != "replay.missing", .key) | .[]'
}

summary() {
	jq -c 'select(.type == "replay.verify") | del(.ts, .partitions)' "$1"
}

# ---- verify: the planted differences --------------------------------------

@test "verify finds exactly the planted missing, extra and changed records" {
	make_sets
	run rp verify --key /id legacy.jsonl new.jsonl
	assert_equal "$status" 1
	echo "$output" >out.jsonl
	assert_equal "$(by_key out.jsonl)" "$(planted)"
	assert_equal "$(summary out.jsonl)" \
		'{"type":"replay.verify","legacy_file":"legacy.jsonl","new_file":"new.jsonl","legacy":20000,"new":19999,"same":19994,"missing":3,"extra":2,"changed":3,"duplicate_legacy":0,"duplicate_new":0,"rejected":0,"fields":{"/address/city":1,"/note":1,"/price":1,"/tags/1":1}}'
	# line numbers point at the records in each file
	local l n
	l=$(grep -n '^{"id":100,' legacy.jsonl | cut -d: -f1)
	n=$(grep -n '"id":100[,}]' new.jsonl | cut -d: -f1)
	assert_jq "$(jq -c 'select(.key == 100)' out.jsonl)" '"\(.legacy_line) \(.new_line)"' "$l $n"
	assert_equal "$(tmp_left)" ""
}

@test "verify: a small --memory forces many partitions and gives the same output in the same order" {
	make_sets
	run rp verify --key /id legacy.jsonl new.jsonl
	assert_equal "$status" 1
	jq -c 'del(.ts, .partitions)' <<<"$output" >default.jsonl
	run rp verify --key /id --memory 64k legacy.jsonl new.jsonl
	assert_equal "$status" 1
	jq -c 'del(.ts, .partitions)' <<<"$output" >small.jsonl
	assert_equal "$(cat small.jsonl)" "$(cat default.jsonl)"
	# the budget was small: many partitions
	assert_jq "$(tail -1 <<<"$output")" '.partitions >= 16'
	assert_equal "$(tmp_left)" ""
}

@test "verify: a gzip input and a stdin input give the same answer" {
	make_sets
	gzip -c new.jsonl >new.jsonl.gz
	run rp verify --key /id legacy.jsonl new.jsonl.gz
	assert_equal "$status" 1
	echo "$output" >gz.jsonl
	assert_equal "$(by_key gz.jsonl)" "$(planted)"
	run rp verify --key /id - new.jsonl <legacy.jsonl
	assert_equal "$status" 1
	echo "$output" >stdin.jsonl
	assert_equal "$(by_key stdin.jsonl)" "$(planted)"
}

@test "verify: identical sets in other orders and spellings exit 0" {
	cat >a.jsonl <<'EOF'
{"id":1,"price":1,"tags":["x","y"],"o":{"a":1,"b":[1,2]}}
{"id":"k2","v":null,"t":true}
{"id":3,"n":100}
EOF
	cat >b.jsonl <<'EOF'
{ "n" : 1e2 , "id" : 3.0 }
{"o":{"b":[1.0,2],"a":1},"tags":["x","y"],"price":1.00,"id":1}
{"t":true,"v":null,"id":"k\u0032"}
EOF
	run rp verify --key /id a.jsonl b.jsonl
	assert_equal "$status" 0
	assert_equal "$(records <<<"$output")" \
		'{"type":"replay.verify","legacy_file":"a.jsonl","new_file":"b.jsonl","legacy":3,"new":3,"same":3,"missing":0,"extra":0,"changed":0,"duplicate_legacy":0,"duplicate_new":0,"rejected":0,"partitions":1,"fields":{}}'
}

@test "verify: a string key and a number key are different keys" {
	echo '{"id":1}' >a.jsonl
	echo '{"id":"1"}' >b.jsonl
	run rp verify --key /id a.jsonl b.jsonl
	assert_equal "$status" 1
	assert_equal "$(records <<<"$output" | jq -c 'select(.type != "replay.verify") | [.type, .key]')" \
		'["replay.extra","1"]
["replay.missing",1]'
}

@test "verify: duplicate keys are reported on each side, never merged" {
	printf '%s\n' '{"id":1,"v":"a"}' '{"id":2}' '{"id":1,"v":"b"}' '{"id":1,"v":"c"}' >a.jsonl
	printf '%s\n' '{"id":2}' '{"id":1,"v":"a"}' '{"id":2,"v":"z"}' >b.jsonl
	run rp verify --key /id a.jsonl b.jsonl
	assert_equal "$status" 1
	assert_equal "$(records <<<"$output")" \
		'{"type":"replay.duplicate","key":1,"side":"legacy","file":"a.jsonl","line":3,"first_line":1}
{"type":"replay.duplicate","key":1,"side":"legacy","file":"a.jsonl","line":4,"first_line":1}
{"type":"replay.duplicate","key":2,"side":"new","file":"b.jsonl","line":3,"first_line":1}
{"type":"replay.verify","legacy_file":"a.jsonl","new_file":"b.jsonl","legacy":4,"new":3,"same":2,"missing":0,"extra":0,"changed":0,"duplicate_legacy":2,"duplicate_new":1,"rejected":0,"partitions":1,"fields":{}}'
}

@test "verify: bad lines are reported as FILE:LINE, the rest compared, exit 3" {
	printf '%s\n' '{"id":1}' '{"id":2' '[1,2]' '{"id":3} x' '{"name":"no id"}' '{"id":{"a":1}}' \
		$'{"id":4,"s":"bad \x01 control"}' '{"id":5}' >a.jsonl
	printf '%s\n' '{"id":1}' '{"id":5,"x":1}' 'nope' >b.jsonl
	run --separate-stderr rp verify --key /id a.jsonl b.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "ofs-replay: a.jsonl:2: invalid JSON: unexpected end of line at column 8
ofs-replay: a.jsonl:3: not a JSON object
ofs-replay: a.jsonl:4: trailing data after the JSON value at column 10
ofs-replay: a.jsonl:5: no key at '/id'
ofs-replay: a.jsonl:6: key at '/id' is an object, not a string or number
ofs-replay: a.jsonl:7: invalid JSON at column 18 near byte 0x01
ofs-replay: b.jsonl:3: invalid JSON at column 2 near 'o'"
	assert_equal "$(records <<<"$output")" \
		'{"type":"replay.changed","key":5,"legacy_line":8,"new_line":2,"fields":[{"path":"/x","change":"extra","new":1}]}
{"type":"replay.verify","legacy_file":"a.jsonl","new_file":"b.jsonl","legacy":2,"new":2,"same":1,"missing":0,"extra":0,"changed":1,"duplicate_legacy":0,"duplicate_new":0,"rejected":7,"partitions":1,"fields":{"/x":1}}'
}

@test "verify: a member named twice is read from its first occurrence, at every level" {
	# The first "o" has no id: the key is absent, even though a later "o" has one.
	printf '%s\n' '{"o":{"x":1},"o":{"id":7}}' '{"o":{"id":8},"o":{"id":9}}' >a.jsonl
	printf '%s\n' '{"o":{"id":8}}' >b.jsonl
	run --separate-stderr rp verify --key /o/id a.jsonl b.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "ofs-replay: a.jsonl:1: no key at '/o/id'"
	assert_jq "$output" '[.same, .rejected] | join(" ")' "1 1"
}

@test "verify --strict stops at the first bad line" {
	printf '%s\n' '{"id":1}' 'bad' '{"id":2}' >a.jsonl
	echo '{"id":1}' >b.jsonl
	run --separate-stderr rp verify --strict --key /id a.jsonl b.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "ofs-replay: a.jsonl:2: invalid JSON at column 1 near 'b'"
	assert_equal "$output" ""
	assert_equal "$(tmp_left)" ""
}

@test "verify: composite keys, nested keys, --ignore and --limit" {
	printf '%s\n' '{"o":{"id":1},"v":2,"ts":"a","m":{"x":1,"y":1}}' '{"o":{"id":1},"v":3,"ts":"a"}' \
		'{"o":{"id":2},"v":2,"ts":"a"}' >a.jsonl
	printf '%s\n' '{"o":{"id":1},"v":2,"ts":"b","m":{"x":2,"y":1}}' '{"o":{"id":1},"v":3,"ts":"c"}' \
		'{"o":{"id":3},"v":2}' >b.jsonl
	run rp verify --key /o/id --key /v --ignore /ts a.jsonl b.jsonl
	assert_equal "$status" 1
	assert_equal "$(records <<<"$output" | jq -c 'select(.type != "replay.verify")')" \
		'{"type":"replay.missing","key":[2,2],"line":3,"record":{"o":{"id":2},"v":2,"ts":"a"}}
{"type":"replay.extra","key":[3,2],"line":3,"record":{"o":{"id":3},"v":2}}
{"type":"replay.changed","key":[1,2],"legacy_line":1,"new_line":1,"fields":[{"path":"/m/x","change":"changed","legacy":1,"new":2}]}'
	run rp verify --key /o/id --key /v --ignore /ts --ignore /m a.jsonl b.jsonl
	assert_equal "$(records <<<"$output" | jq -c 'select(.type == "replay.verify") | [.same, .changed]')" '[2,0]'
	run rp verify --key /o/id --key /v --ignore /ts --limit 1 a.jsonl b.jsonl
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 2
	assert_jq "${lines[1]}" '[.missing, .extra, .changed] | join(" ")' "1 1 1"
}

@test "verify: usage errors exit 2 and do nothing" {
	echo '{"id":1}' >a.jsonl
	run --separate-stderr rp verify a.jsonl a.jsonl
	assert_equal "$status" 2
	assert_equal "${stderr%%$'\n'*}" "ofs-replay verify: --key is required"
	run --separate-stderr rp verify --key id a.jsonl a.jsonl
	assert_equal "$status" 2
	assert_equal "${stderr%%$'\n'*}" "ofs-replay verify: --key: invalid JSON pointer 'id': must start with '/'"
	run --separate-stderr rp verify --key /id --memory 10x a.jsonl a.jsonl
	assert_equal "$status" 2
	run --separate-stderr rp verify --key /id a.jsonl
	assert_equal "$status" 2
	run --separate-stderr rp verify --key /id - - </dev/null
	assert_equal "$status" 2
	assert_equal "$(tmp_left)" ""
}

# ---- verify: the standard cases ----------------------------------------------

@test "verify: empty inputs are identical" {
	: >a.jsonl
	run rp verify --key /id a.jsonl /dev/null
	assert_equal "$status" 0
	assert_jq "$output" '[.legacy, .new, .same] | join(" ")' "0 0 0"
}

@test "verify: a 10 MB line is compared like any other" {
	local s
	s=$(head -c 10000000 /dev/zero | tr '\0' x)
	printf '{"id":1,"big":"%s"}\n{"id":2}\n' "$s" >a.jsonl
	printf '{"id":2}\n{"big":"%sy","id":1}\n' "$s" >b.jsonl
	status=0
	rp verify --key /id a.jsonl b.jsonl >out.jsonl || status=$?
	assert_equal "$status" 1
	assert_equal "$(jq -r 'select(.type == "replay.changed") | [.type, .key, .fields[0].path, (.fields[0].new | length)] | join(" ")' out.jsonl)" \
		"replay.changed 1 /big 10000001"
	run rp verify --key /id --memory 4k a.jsonl a.jsonl
	assert_equal "$status" 0
}

@test "verify: binary garbage is rejected line by line" {
	head -c 20000 /dev/urandom | tr '\n{' 'xx' >garbage
	printf '\n{"id":1}\n' >>garbage
	echo '{"id":1}' >b.jsonl
	run --separate-stderr rp verify --key /id garbage b.jsonl
	assert_equal "$status" 3
	assert_equal "$(grep -c '^ofs-replay: garbage:1: ' <<<"$stderr")" 1
	assert_jq "$output" '[.same, .rejected] | join(" ")' "1 1"
}

@test "verify: a missing file exits 2" {
	echo '{"id":1}' >a.jsonl
	run --separate-stderr rp verify --key /id a.jsonl nosuch.jsonl
	assert_equal "$status" 2
	assert_equal "$stderr" "ofs-replay: cannot open 'nosuch.jsonl': No such file or directory"
	assert_equal "$(tmp_left)" ""
}

@test "verify: output to a full disk exits 4" {
	echo '{"id":1}' >a.jsonl
	echo '{"id":2}' >b.jsonl
	run --separate-stderr bash -c '"$OFS_BIN/ofs-replay" verify --key /id a.jsonl b.jsonl >/dev/full'
	assert_equal "$status" 4
	assert_equal "$(tmp_left)" ""
}

@test "verify: SIGTERM mid-run removes the temporary files and exits 143" {
	awk 'BEGIN { for (i = 0; i < 5000; i++) printf "{\"id\":%d,\"pad\":\"%0100d\"}\n", i, i }' >a.jsonl
	mkfifo feed
	# the new side trickles in for a minute, so verify is still reading
	bash -c 'for ((i = 0; i < 6000; i++)); do echo "{\"id\":$i}"; sleep 0.01; done' >feed &
	echo $! >>"$BATS_TEST_TMPDIR/pids"
	bg out.jsonl "$OFS_BIN/ofs-replay" verify --key /id --memory 4k a.jsonl feed
	local pid=$BG_PID i
	# temporary files are unlinked at once: they show as deleted descriptors
	for ((i = 0; i < 100; i++)); do
		[ "$(tmp_open "$pid")" -gt 0 ] && break
		sleep 0.1
	done
	[ "$(tmp_open "$pid")" -gt 0 ] || fail "verify opened no temporary file"
	# a file is visible for an instant between its creation and its
	# unlink; one that is still there a moment later was left behind
	local seen left
	seen=$(tmp_left)
	if [ -n "$seen" ]; then
		sleep 0.3
		left=$(comm -12 <(printf '%s\n' "$seen") <(tmp_left))
		[ -z "$left" ] || fail "a temporary file stays visible: $left"
	fi
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 143
	assert_equal "$(tmp_left)" ""
}

# ---- map: each rule ----------------------------------------------------------------

# map_case SPEC INPUT EXPECTED: map INPUT (lines) with SPEC (JSON) must
# print EXPECTED and exit 0.
map_case() {
	echo "$1" >spec.json
	run rp map --spec spec.json <<<"$2"
	assert_equal "$status" 0
	assert_equal "$output" "$3"
}

@test "map: rename and move (creating and removing objects on the way)" {
	map_case '{"rules":[{"rename":"/a/old","to":"new"},{"move":"/zip","to":"/address/postal/code"}]}' \
		'{"a":{"old":1,"k":2},"zip":"10115","z":0}' \
		'{"a":{"k":2,"new":1},"z":0,"address":{"postal":{"code":"10115"}}}'
	map_case '{"rules":[{"move":"/address/zip","to":"/zip"}]}' \
		'{"id":1,"address":{"zip":"1"}}' '{"id":1,"zip":"1"}'
	# absent fields stay absent
	map_case '{"rules":[{"rename":"/a","to":"b"},{"move":"/c","to":"/d/e"}]}' '{"x":1}' '{"x":1}'
}

@test "map: conversions" {
	local spec='{"rules":[
		{"convert":"/n","from":"string","to":"number"},
		{"convert":"/s","from":"number","to":"string"},
		{"convert":"/b","from":"string","to":"boolean"},
		{"convert":"/bs","from":"boolean","to":"string"},
		{"convert":"/c","from":"cents","to":"decimal"},
		{"convert":"/m","from":"decimal","to":"cents","scale":1000},
		{"convert":"/t","from":"epoch_s","to":"rfc3339"},
		{"convert":"/tm","from":"epoch_ms","to":"rfc3339"},
		{"convert":"/tu","from":"epoch_us","to":"rfc3339"},
		{"convert":"/r","from":"rfc3339","to":"epoch_ms"},
		{"convert":"/z","from":"string","to":"number"}]}'
	map_case "$spec" \
		'{"n":"-12.5","s":7,"b":"false","bs":true,"c":1999,"m":1.234,"t":1764547200.25,"tm":1764547200123,"tu":1764547200123456,"r":"2025-12-01T01:00:00.5+01:00","z":null}' \
		'{"n":-12.5,"s":"7","b":false,"bs":"true","c":19.99,"m":1234,"t":"2025-12-01T00:00:00.250000Z","tm":"2025-12-01T00:00:00.123000Z","tu":"2025-12-01T00:00:00.123456Z","r":1764547200500,"z":null}'
}

@test "map: computed fields, defaults, enum maps, drop and keep" {
	map_case '{"rules":[{"compute":"/full","template":"${/first} ${/last} (${/age}, ${/vip})"}]}' \
		'{"first":"Ada","last":"Byron","age":36,"vip":true}' \
		'{"first":"Ada","last":"Byron","age":36,"vip":true,"full":"Ada Byron (36, true)"}'
	map_case '{"rules":[{"default":"/currency","value":"EUR"},{"default":"/opts","value":{"a":[1]}}]}' \
		'{"currency":"USD"}
{}' '{"currency":"USD","opts":{"a":[1]}}
{"currency":"EUR","opts":{"a":[1]}}'
	map_case '{"rules":[{"enum":"/s","values":[["A","active"],[1,true],[null,"none"]]}]}' \
		'{"s":"A"}
{"s":1.0}
{"s":null}' '{"s":"active"}
{"s":true}
{"s":"none"}'
	map_case '{"rules":[{"drop":"/secret"},{"drop":"/a/b"}]}' '{"secret":1,"a":{"b":2},"c":3}' '{"c":3}'
	map_case '{"drop_unknown":true,"rules":[{"keep":"/id"},{"rename":"/n","to":"name"},{"move":"/x","to":"/y/z"}]}' \
		'{"id":1,"n":"a","x":2,"junk":3,"more":{"k":1}}' '{"id":1,"name":"a","y":{"z":2}}'
}

@test "map --reverse inverts the spec and the round trip gives back the original" {
	cp "$OFS_TOP/examples/replay/migrate/bridge.json" "$OFS_TOP/examples/replay/migrate/legacy.jsonl" .
	cat >>legacy.jsonl <<'EOF'
{"id":9,"extra":{"kept":[1,2]},"status":"C"}
{"id":10,"cust_name":null,"total_cents":null}
EOF
	rp map --spec bridge.json legacy.jsonl >new.jsonl
	assert_equal "$(sed -n 5p new.jsonl)" '{"id":9,"extra":{"kept":[1,2]},"status":"cancelled"}'
	run rp map --reverse --spec bridge.json new.jsonl
	assert_equal "$status" 0
	echo "$output" >back.jsonl
	# the same records (member order aside): verify says so, and so does jq -S
	run rp verify --key /id legacy.jsonl back.jsonl
	assert_equal "$status" 0
	assert_equal "$(jq -S -c . back.jsonl)" "$(jq -S -c . legacy.jsonl)"
}

@test "map --reverse refuses rules that cannot be reversed, naming them" {
	cat >spec.json <<'EOF'
{"rules":[{"rename":"/a","to":"b"},{"compute":"/c","template":"${/a}"},{"drop":"/d"},
 {"default":"/e","value":1},{"enum":"/s","values":[["x","y"],["z","y"]]}]}
EOF
	run --separate-stderr rp map --reverse --spec spec.json /dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "ofs-replay: spec.json: /rules/1: compute cannot be reversed
ofs-replay: spec.json: /rules/2: drop cannot be reversed
ofs-replay: spec.json: /rules/3: default cannot be reversed
ofs-replay: spec.json: /rules/4/values/1/1: \"y\" is the target of two values: the map cannot be reversed"
	# forward, the same spec is fine
	run rp map --spec spec.json /dev/null
	assert_equal "$status" 0
}

@test "map: invalid specs are reported with their pointers (fixtures)" {
	local f n=0
	for f in "$FIX"/specs/*.json; do
		run --separate-stderr rp map --spec "$f" /dev/null
		[ "$status" -eq 2 ] || fail "$(basename "$f"): status $status"
		assert_equal "${stderr//$FIX\/specs\//}" "$(cat "${f%.json}.err")"
		n=$((n + 1))
	done
	[ "$n" -ge 10 ] || fail "only $n fixtures"
}

@test "map: values that cannot be mapped are reported as FILE:LINE and skipped, exit 3" {
	cat >spec.json <<'EOF'
{"rules":[{"convert":"/n","from":"string","to":"number"},{"convert":"/t","from":"rfc3339","to":"epoch_s"},
 {"convert":"/c","from":"decimal","to":"cents"},{"enum":"/s","values":[["a","A"]]},
 {"compute":"/f","template":"${/first}!"},{"move":"/m","to":"/x/y"},{"convert":"/b","from":"string","to":"boolean"}]}
EOF
	cat >in.jsonl <<'EOF'
{"n":"12x","first":"a"}
{"t":"yesterday","first":"a"}
{"c":1.999,"first":"a"}
{"s":"b","first":"a"}
{"n":"1"}
{"first":{"o":1}}
{"first":"a","m":1,"x":"str"}
{"first":"a","b":"yes"}
{"first":"a","n":1}
{"n":"2","t":"1970-01-01T00:00:02Z","c":0.5,"s":"a","first":"ok"}
EOF
	run --separate-stderr rp map --spec spec.json in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "ofs-replay: in.jsonl:1: /rules/0: convert '/n': \"12x\" is not a number
ofs-replay: in.jsonl:2: /rules/1: convert '/t': \"yesterday\" is not an RFC 3339 timestamp
ofs-replay: in.jsonl:3: /rules/2: convert '/c': 1.999 is not a whole number of cents at scale 100
ofs-replay: in.jsonl:4: /rules/3: enum '/s': \"b\" is not in the map
ofs-replay: in.jsonl:5: /rules/4: compute '/f': no value at '/first'
ofs-replay: in.jsonl:6: /rules/4: compute '/f': '/first' is an object, not a string, number or boolean
ofs-replay: in.jsonl:7: /rules/5: move '/m': cannot create '/x/y': 'x' holds a string
ofs-replay: in.jsonl:8: /rules/6: convert '/b': \"yes\" is not true or false
ofs-replay: in.jsonl:9: /rules/0: convert '/n': 1 is a number, not a string"
	assert_equal "$output" '{"n":2,"t":2,"c":50,"s":"A","first":"ok","f":"ok!"}'
}

@test "map: the standard cases" {
	echo '{"rules":[{"rename":"/a","to":"b"}]}' >spec.json
	run rp map --spec spec.json </dev/null
	assert_equal "$status" 0
	assert_equal "$output" ""
	printf '{"a":"%s"}\n' "$(head -c 10000000 /dev/zero | tr '\0' x)" >big.jsonl
	rp map --spec spec.json big.jsonl >out.jsonl
	assert_equal "$(jq '.b | length' out.jsonl)" 10000000
	head -c 5000 /dev/urandom >garbage
	printf '\n{"a":1}\n' >>garbage
	run --separate-stderr rp map --spec spec.json garbage
	assert_equal "$status" 3
	assert_equal "${lines[-1]}" '{"b":1}'
	run --separate-stderr rp map --spec spec.json nosuch.jsonl
	assert_equal "$status" 2
	assert_equal "$stderr" "ofs-replay: cannot open 'nosuch.jsonl': No such file or directory"
	run --separate-stderr rp map --spec nosuch.json /dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "ofs-replay: cannot open 'nosuch.json': No such file or directory"
	run --separate-stderr rp map /dev/null
	assert_equal "$status" 2
	run bash -c 'echo "{\"a\":1}" | "$OFS_BIN/ofs-replay" map --spec spec.json >/dev/full'
	assert_equal "$status" 4
}

# ---- the man page's examples ---------------------------------------------------------

# run_mig_example NAME: the example's commands run by bash in a copy of
# examples/replay/migrate; its output must be what the manual shows.
run_mig_example() {
	local cmds want
	cmds=$(man_example "$1" | awk '/^\$ / { sub(/^\$ /, ""); print; c = 1; next }
		c && /^[ \t]/ { print; next } { c = 0 }')
	want=$(man_example "$1" | awk '/^\$ / { c = 1; next } c && /^[ \t]/ { next } { c = 0; print }')
	[ -n "$cmds" ] || fail "example '$1' has no commands in the manual"
	mkdir work
	cp "$OFS_TOP"/examples/replay/migrate/* work/
	run bash -c "cd work && PATH=\"\$OFS_BIN:\$PATH\" && $cmds" 2>&1
	assert_equal "$output" "$want"
}

@test "man page example: verify-store" {
	run_mig_example verify-store
}

@test "man page example: map-bridge" {
	run_mig_example map-bridge
}

@test "man page example: map-invalid" {
	run_mig_example map-invalid
}
