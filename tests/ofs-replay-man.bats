#!/usr/bin/env bats
# tests/ofs-replay-man.bats: the manual of ofs-replay keeps its promises
# as a whole: every example block is named and run by a test of one of
# the tests/ofs-replay-*.bats files (each runs the examples of its
# commands), and the README's ofs-replay session works as written.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-replay.1

@test "every example of the manual is named and has a test" {
	check_examples_named "$OFS_TOP"/tests/ofs-replay-*.bats
}

@test "the README's ofs-replay session works as written" {
	local session
	session=$(awk '/^## ofs-replay/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$OFS_TOP/README.md")
	grep -q 'ofs-replay import' <<<"$session" || fail "no ofs-replay session found in README.md"
	cd "$OFS_TOP"
	run -0 env PATH="$OFS_BIN:$PATH" timeout 60 bash -c "$session"
	assert_output "$(printf '%s\n' \
		$'goreplay\tPOST\t/orders\t201' $'goreplay\tGET\t/stock?sku=book\t' \
		$'nginx\tGET\t/stock?sku=book\t200' $'nginx\tPOST\t/orders\t502' \
		$'har\tPOST\t/orders\t201' $'har\tGET\t/logo.png\t200' \
		'{"same":2,"missing":1,"extra":1,"changed":1}' \
		'{"key":"o1","status":"paid","version":5}' \
		'backward required-added /required' \
		'backward maximum-narrowed /properties/qty/maximum' \
		'backward enum-narrowed /properties/channel/enum' \
		'forward property-removed-closed /properties/currency')"
}
