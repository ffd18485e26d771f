# tests/scale.bash: what the bats files of ofs-scale share. Load it with
# `load scale` after `load helpers`.

# scale ARGS...: the ofs-scale under test.
scale() {
	"$OFS_BIN/ofs-scale" "$@"
}

# scale_setup: a state directory of the test's own, so no window or idle
# time leaks between tests, and the test's directory as the working one.
scale_setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

# without_ts COMMAND ARGS...: ofs-scale COMMAND's records without their
# ts (the time of the run), one per line, and its exit status.
without_ts() {
	local out rc=0
	out=$(scale "$@") || rc=$?
	[ -z "$out" ] || jq -c 'del(.ts)' <<<"$out"
	return "$rc"
}
