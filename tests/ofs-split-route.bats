#!/usr/bin/env bats
# ofs-split route: records to variants by their key. The split over a
# million keys (shares, a monotonic ramp, independent salts), the record
# rewriting against a fixture computed by an independent MurmurHash2,
# --to files, gzip and commands, --summary, and the record contract:
# rejected lines, --strict, empty input, a missing file, a 10 MB line,
# binary garbage, a full disk, SIGTERM.

load helpers

setup_file() {
	# a million distinct keys, made once for the file
	seq 1 1000000 | awk '{ printf "{\"k\":\"c%d\"}\n", $1 }' >"$BATS_FILE_TMPDIR/keys.jsonl"
}

route() { "$OFS_BIN/ofs-split" route "$@"; }

FIX=$OFS_TOP/tests/fixtures/split

@test "a million keys: 10 % new within 0.3 points; a ramp to 50 moves no key back; salts are independent" {
	local keys=$BATS_FILE_TMPDIR/keys.jsonl d=$BATS_TEST_TMPDIR
	route -k /k -w legacy=90,new=10 "$keys" >"$d/a"
	route -k /k -w legacy=50,new=50 "$keys" >"$d/b"
	route -k /k -w legacy=90,new=10 -s exp-2 "$keys" >"$d/c"
	run -0 bash -c "paste -d '\t' '$d/a' '$d/b' '$d/c' | awk -F '\t' '
		{ x = \$1 ~ /\"new\"}\$/; y = \$2 ~ /\"new\"}\$/; z = \$3 ~ /\"new\"}\$/
		  a += x; b += y; c += z; if (x && !y) back++; if (x && z) both++; n++ }
		END { print n, a, b, c, back + 0, both + 0 }'"
	local n a b c back both
	read -r n a b c back both <<<"$output"
	[ "$n" -eq 1000000 ] || fail "records: $n"
	# 10 % +- 0.3 points, at 90/10 under both salts, 50 % +- 0.3 at 50/50
	((a >= 97000 && a <= 103000)) || fail "new at 90/10: $a of 1M"
	((c >= 97000 && c <= 103000)) || fail "new at 90/10, salt exp-2: $c of 1M"
	((b >= 497000 && b <= 503000)) || fail "new at 50/50: $b of 1M"
	# monotonic: every key new at 10 % is still new at 50 %
	[ "$back" -eq 0 ] || fail "$back keys went back from new to legacy"
	# independent: new under both salts ~ 10 % x 10 % = 10,000 (sd ~100)
	((both >= 9400 && both <= 10600)) || fail "new under both salts: $both (expected ~10000)"
}

@test "sticky: the same key gets the same variant in any order, in any run" {
	local d=$BATS_TEST_TMPDIR
	head -20000 "$BATS_FILE_TMPDIR/keys.jsonl" >"$d/in"
	route -k /k -w a=33.33,b=33.33,c=33.34 -s s "$d/in" | sort >"$d/one"
	shuf "$d/in" | route -k /k -w a=33.33,b=33.33,c=33.34 -s s | sort >"$d/two"
	cmp "$d/one" "$d/two"
}

@test "records get their variant member; an existing one (and its repeats) replaced; bytes kept" {
	# expected variants from a MurmurHash2 written apart from ofs (Python)
	run -0 route -k /customer -w legacy=50,new=30,beta=20 -s exp-7 "$FIX/route.jsonl"
	assert_output "$(cat "$FIX/route.out.jsonl")"
}

@test "without a salt; --field names the member; a number key hashes as written" {
	run -0 route -k /id --field arm -w legacy=50,new=30,beta=20 <<'IN'
{"id":"c10"}
{"id":"c11"}
{"id":"c12","arm":"x"}
{"id":"c1x"}
{"id":"a\"b"}
IN
	assert_output - <<'OUT'
{"id":"c10","arm":"legacy"}
{"id":"c11","arm":"beta"}
{"id":"c12","arm":"new"}
{"id":"c1x","arm":"new"}
{"id":"a\"b","arm":"legacy"}
OUT
	# 42 and "42" are the same bytes; 42.0 is not 42
	run -0 bash -c "printf '%s\n' '{\"id\":42}' '{\"id\":\"42\"}' |
		'$OFS_BIN/ofs-split' route -k /id -w a=50,b=50 | jq -r .variant | uniq | wc -l"
	assert_output 1
	# a field name needing escapes, and a nested key
	run -0 route -k /a/b --field 'v"1' -w only=100 <<<'{"a":{"b":"x"}}'
	assert_output '{"a":{"b":"x"},"v\"1":"only"}'
}

@test "bad lines: FILE:LINE and the reason on stderr, the good ones routed, exit 3" {
	cat >"$BATS_TEST_TMPDIR/in.jsonl" <<'IN'
{"customer":"c1"}
{"customer":null}
{"other":1}
{"customer":{"id":1}}
{"customer":[1]}
not json
[1,2]
{"customer":"c2"}
IN
	run --separate-stderr -3 route -k /customer -w legacy=50,new=30,beta=20 "$BATS_TEST_TMPDIR/in.jsonl"
	assert_output - <<'OUT'
{"customer":"c1","variant":"legacy"}
{"customer":"c2","variant":"new"}
OUT
	local f=$BATS_TEST_TMPDIR/in.jsonl
	[ "$stderr" = "ofs-split: $f:2: key at '/customer' is null, not a string or number
ofs-split: $f:3: no key at '/customer'
ofs-split: $f:4: key at '/customer' is an object, not a string or number
ofs-split: $f:5: key at '/customer' is an array, not a string or number
ofs-split: $f:6: invalid JSON at column 2 near 'o'
ofs-split: $f:7: not a JSON object" ] || fail "stderr: $stderr"
	# --strict: the first bad line stops the reading
	run --separate-stderr -3 route --strict -k /customer -w legacy=50,new=30,beta=20 "$f"
	assert_output '{"customer":"c1","variant":"legacy"}'
	[ "$stderr" = "ofs-split: $f:2: key at '/customer' is null, not a string or number" ]
}

@test "--summary: one split.route record at the end, counting records, rejects and variants" {
	run --separate-stderr -3 route -k /k -w legacy=90,new=10 -s s1 --summary \
		<(head -1000 "$BATS_FILE_TMPDIR/keys.jsonl"; echo '{}')
	local last
	last=$(tail -1 <<<"$output")
	assert_jq "$last" '.type == "split.route" and (.ts | test("^20..-..-..T..:..:..\\.[0-9]{6}Z$"))'
	assert_jq "$last" '[.weights, .salt, .records, .rejected] | @csv' '"legacy=90,new=10","s1",1000,1'
	assert_jq "$last" '.variants.legacy + .variants.new == 1000 and .variants.new > 50'
	[ "$(wc -l <<<"$output")" -eq 1001 ]
}

@test "empty input: nothing out, exit 0; --summary counts zero" {
	run -0 route -k /k -w a=50,b=50 </dev/null
	assert_output ""
	run -0 route -k /k -w a=50,b=50 --summary </dev/null
	assert_jq "$output" '[.records, .rejected, .variants.a, .variants.b] == [0, 0, 0, 0]'
}

@test "a missing file: reported, the other files still routed, exit 2" {
	run --separate-stderr -2 route -k /k -w a=100 "$BATS_TEST_TMPDIR/nope.jsonl" - <<<'{"k":"x"}'
	assert_output '{"k":"x","variant":"a"}'
	[ "$stderr" = "ofs-split: cannot open '$BATS_TEST_TMPDIR/nope.jsonl': No such file or directory" ]
}

@test "gzip input; --to a file, a .gz file and a command (OFS_VARIANT set); shared targets" {
	local d=$BATS_TEST_TMPDIR
	head -10000 "$BATS_FILE_TMPDIR/keys.jsonl" | gzip >"$d/in.jsonl.gz"
	route -k /k -w legacy=80,new=10,beta=10 "$d/in.jsonl.gz" >"$d/all"
	run -0 route -k /k -w legacy=80,new=10,beta=10 "$d/in.jsonl.gz" --to "new=$d/new.jsonl.gz" \
		--to "beta=|cat >$d/beta.jsonl; echo \"\$OFS_VARIANT\" >$d/beta.env"
	# legacy stays on stdout
	[ "$output" = "$(grep '"legacy"}$' "$d/all")" ]
	[ "$(gzip -dc "$d/new.jsonl.gz")" = "$(grep '"new"}$' "$d/all")" ]
	[ "$(cat "$d/beta.jsonl")" = "$(grep '"beta"}$' "$d/all")" ]
	[ "$(cat "$d/beta.env")" = beta ]
	# two variants into one file: both streams, in input order
	run -0 route -k /k -w legacy=80,new=10,beta=10 "$d/in.jsonl.gz" --to "new=$d/nb" --to "beta=$d/nb"
	[ "$(cat "$d/nb")" = "$(grep -v '"legacy"}$' "$d/all")" ]
	# a command that stops reading early and exits 0 is a pipeline's head: fine
	run -0 route -k /k -w legacy=80,new=10,beta=10 "$d/in.jsonl.gz" --to 'legacy=|head -1 >/dev/null'
	[ "$(wc -l <<<"$output")" -eq "$(grep -vc '"legacy"}$' "$d/all")" ]
}

@test "--to: a failing command is exit 4 naming it; unknown or repeated variants are exit 2" {
	run --separate-stderr -4 route -k /k -w legacy=90,new=10 --to 'new=|cat >/dev/null; exit 3' \
		<<<'{"k":"c1"}'
	assert_output '{"k":"c1","variant":"legacy"}'
	[ "$stderr" = "ofs-split: --to 'new=|cat >/dev/null; exit 3': the command exited with status 3" ]
	run --separate-stderr -2 route -k /k -w legacy=90,new=10 --to x=out </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --to: unknown variant 'x' (weights name legacy, new)" ]
	run --separate-stderr -2 route -k /k -w legacy=90,new=10 --to "new=$BATS_TEST_TMPDIR/a" \
		--to "new=$BATS_TEST_TMPDIR/b" </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --to: variant 'new' is given twice" ]
	run --separate-stderr -2 route -k /k -w legacy=90,new=10 --to new </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --to: expected VARIANT=FILE or VARIANT='|COMMAND', got 'new'" ]
	# nothing was created before the options were all found good
	[ ! -e "$BATS_TEST_TMPDIR/a" ] && [ ! -e "$BATS_TEST_TMPDIR/b" ]
}

@test "bad --weights, --key and missing options: exit 2 with the exact message, nothing read" {
	local m
	while IFS='|' read -r w m; do
		run --separate-stderr -2 route -k /k -w "$w" <<<'{"k":"c1"}'
		[ -z "$output" ] || fail "output for '$w': $output"
		[ "${stderr%%$'\n'*}" = "ofs-split route: --weights: $m" ] || fail "for '$w': $stderr"
		[[ $stderr == *$'\n'"usage: ofs-split route "* ]] || fail "no usage line: $stderr"
	done <<'CASES'
legacy=90,new=5|weights must sum to 100, got 95 (legacy=90,new=5)
legacy=110,new=-10|weight of 'legacy' must be a percentage 0..100 with at most two decimals, got '110'
legacy=100,new=-5|weight of 'new' must be a percentage 0..100 with at most two decimals, got '-5'
a=33.333,b=66.667|weight of 'a' must be a percentage 0..100 with at most two decimals, got '33.333'
a=50,a=50|variant 'a' is named twice
legacy|expected NAME=PERCENT, got 'legacy'
a b=100|variant name 'a b' may hold only letters, digits, '-', '_' and '.'
CASES
	run --separate-stderr -2 route -w a=100 </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --key is required" ]
	run --separate-stderr -2 route -k /k </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --weights is required" ]
	run --separate-stderr -2 route -k k -w a=100 </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --key: invalid JSON pointer 'k': must start with '/'" ]
	run --separate-stderr -2 route -k '' -w a=100 </dev/null
	[ "${stderr%%$'\n'*}" = "ofs-split route: --key: the key cannot be the whole record" ]
}

@test "a 10 MB line is routed; binary garbage is rejected; >/dev/full is exit 4" {
	local d=$BATS_TEST_TMPDIR
	{
		printf '{"k":"c1","blob":"'
		head -c 10485760 /dev/zero | tr '\0' a
		printf '"}\n'
		head -c 3000 /dev/urandom | tr -d '\n'
		printf '\n\x00\xff\xfe\n{"k":"c2"}\n'
	} >"$d/in"
	local rc=0
	route -k /k -w legacy=90,new=10 "$d/in" >"$d/out" 2>"$d/err" || rc=$?
	[ "$rc" -eq 3 ] || fail "status $rc"
	[ "$(wc -c <"$d/out")" -gt 10485760 ]
	[ "$(tail -c 56 "$d/out")" = 'aaaa","variant":"legacy"}'$'\n''{"k":"c2","variant":"legacy"}' ]
	[ "$(grep -c "^ofs-split: $d/in:[23]: " "$d/err")" -eq 2 ]
	run --separate-stderr -4 bash -c "'$OFS_BIN/ofs-split' route -k /k -w legacy=90,new=10 '$BATS_FILE_TMPDIR/keys.jsonl' >/dev/full"
	[[ $stderr == "ofs-split: write error on standard output: No space left on device" ]]
	run --separate-stderr -4 route -k /k -w legacy=90,new=10 --to new=/dev/full "$BATS_FILE_TMPDIR/keys.jsonl"
	[[ $stderr == "ofs-split: write error on '/dev/full': No space left on device" ]]
}

@test "SIGTERM mid-run ends with 143, the output whole lines, and the --to commands end with it" {
	local d=$BATS_TEST_TMPDIR
	mkfifo "$d/fifo"
	bg "$d/out" "$OFS_BIN/ofs-split" route -k /k -w a=40,b=30,c=30 --to "a=|cat >$d/a" \
		--to "b=$d/b" "$d/fifo"
	local pid=$BG_PID kids i rc=0
	exec 4>"$d/fifo"
	head -20000 "$BATS_FILE_TMPDIR/keys.jsonl" >&4
	sleep 0.3
	kids=$(pgrep -P "$pid")
	[ -n "$kids" ] || fail "no command started"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	exec 4>&-
	[ "$rc" -eq 143 ] || fail "status $rc"
	for ((i = 0; i < 50; i++)); do
		kill -0 $kids 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 $kids 2>/dev/null || fail "the --to command outlived ofs-split"
	# what was written is whole records (outputs are flushed between records)
	[ -s "$d/b" ] || fail "nothing was flushed to b"
	local f
	for f in "$d/out" "$d/a" "$d/b"; do
		[ ! -s "$f" ] || jq -e -s 'all(.[]; .variant | length == 1)' "$f" >/dev/null ||
			fail "torn output in $f: $(tail -c 100 "$f")"
	done
}

@test "the example orders: all of a customer's orders go to one variant" {
	local out=$BATS_TEST_TMPDIR/out
	route -k /customer -w legacy=50,new=50 --summary "$OFS_TOP/examples/split/route/orders.jsonl" >"$out"
	assert_jq "$(tail -1 "$out")" '[.records, .rejected] == [12, 0]'
	run -0 bash -c "sed '\$d' '$out' | jq -r '\"\\(.customer) \\(.variant)\"' | sort -u | cut -d' ' -f1 | uniq -d"
	assert_output ""
	[ "$(sed '$d' "$out" | jq -r .variant | sort -u | wc -l)" -eq 2 ]
}
