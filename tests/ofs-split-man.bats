#!/usr/bin/env bats
# tests/ofs-split-man.bats: the manual of ofs-split keeps its promises:
# every example block is named and run here, against the example files
# (in a copy, since route --to writes a file) and, for send, against the
# example shop's inventory (v1 primary, v2 candidate, a second v1 as the
# secondary, as examples/split/send/README starts them); and the
# README's ofs-split session works as written.

load helpers

MAN_PAGE=ofs-split.1

setup_file() {
	inventory_versions_start || return 1
	primary=$LEGACY candidate=$V2 secondary=$LEGACY2
	export primary candidate secondary
}

teardown_file() {
	inventory_versions_stop
}

# run_example NAME DIR: run the example's commands in DIR (a copy of an
# examples/split folder, or the top of the tree) with bin/ first in PATH.
run_example() {
	local cmds
	cmds=$(man_commands "$1")
	[ -n "$cmds" ] || fail "no commands in example $1"
	cd "$2"
	run env PATH="$OFS_BIN:$PATH" bash -o pipefail -c "$cmds"
}

# copy_of DIR: a fresh copy of examples/split/DIR; prints its path.
copy_of() {
	local d=$BATS_TEST_TMPDIR/$1
	cp -r "$OFS_TOP/examples/split/$1" "$d"
	echo "$d"
}

no_ts() { sed -e 's/"ts":"[^"]*",//'; }

@test "every example of the manual is named and has a test" {
	check_examples_named
}

@test "man page example: route-orders" {
	run_example route-orders "$(copy_of route)"
	assert_success
	assert_output "$(man_output route-orders)"
}

@test "man page example: route-ramp" {
	local d
	d=$(copy_of route)
	run_example route-ramp "$d"
	assert_success
	assert_equal "$(no_ts <<<"$output")" "$(man_output route-ramp | no_ts)"
	# the new variant's 8 orders went to new.jsonl, every one marked new
	assert_equal "$(grep -c '"variant":"new"}$' "$d/new.jsonl")" 8
	assert_equal "$(wc -l <"$d/new.jsonl")" 8
}

@test "man page example: send-shadow" {
	# served_at has microseconds: two answers in the same one match, and
	# the field is then not reported for that request; such a run is retried.
	local try
	for try in 1 2 3; do
		run_example send-shadow "$OFS_TOP"
		[ "$output" = "$(man_output send-shadow)" ] && break
	done
	# 1: differences were reported
	assert_equal "$status" 1
	assert_output "$(man_output send-shadow)"
}

@test "man page example: send-split" {
	run_example send-split "$OFS_TOP"
	assert_success
	assert_output "$(man_output send-split)"
	# the same placement as route
	run -0 bash -c "'$OFS_BIN/ofs-split' route -k /headers/x-user-id -w legacy=75,new=25 \
		'$OFS_TOP/examples/split/send/users.jsonl' | jq -r '.id + \" \" + .variant' |
		sed 's/ legacy\$/ primary/; s/ new\$/ candidate/' | paste -sd ' '"
	assert_output "$(man_output send-split)"
}

@test "man page example: report-text" {
	run_example report-text "$(copy_of report)"
	assert_equal "$status" 1
	assert_output "$(man_output report-text | sed 's/\\(->/→/g')"
}

@test "man page example: report-gate" {
	run_example report-gate "$(copy_of report)"
	assert_success
	assert_output "$(man_output report-gate)"
}

@test "man page example: render-nginx" {
	run_example render-nginx "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "$(man_output render-nginx)"
}

@test "man page example: render-istio" {
	run_example render-istio "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "$(man_output render-istio)"
}

@test "the README's ofs-split session works as written" {
	local session
	session=$(awk '/^## ofs-split/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md")
	grep -q 'ofs-split route' <<<"$session" || fail "no ofs-split session found in README.md"
	cd "$OFS_TOP"
	run -0 env PATH="$OFS_BIN:$PATH" timeout 60 bash -o pipefail -c "$session"
	assert_output '{"legacy":11,"new":1}
{"legacy":4,"new":8}
{"verdict":"no-go","no_go":["GET /catalog/{id}","POST /orders"]}
# (MurmurHash2 of the key, then the salt: nginx'"'"'s split_clients rule).
split_clients "${http_x_customer_id}" $ofs_variant {
    50% legacy;
    * new;
}'
}
