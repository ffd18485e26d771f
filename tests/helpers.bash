# tests/helpers.bash: what every bats file of ofs shares. Load it with
# `load helpers` at the top of a .bats file.
#
# The Makefile runs bats with OFS_TOP (the source tree) and OFS_BIN (the
# directory of the programs built, which may be a separate build tree);
# run by hand, both default to this checkout and its bin/. The example
# shop is started on free ports in a fresh temporary directory, so test
# files never collide, and shop_stop makes sure no instance outlives the
# file.

bats_require_minimum_version 1.5.0

OFS_TOP=${OFS_TOP:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
OFS_BIN=${OFS_BIN:-$OFS_TOP/bin}
export OFS_TOP OFS_BIN

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# shop_start [INSTANCE...]: start the example shop in a new temporary
# directory and export SHOP_DIR (the run directory, an absolute path
# without symlinks) and SHOP_START (the file holding start's records).
# Fails, stopping whatever did start, if the shop does not come up.
shop_start() {
	local base
	base=$(mktemp -d "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/shop.XXXXXX") || return 1
	base=$(cd "$base" && pwd -P) || return 1
	SHOP_DIR=$base/shop
	SHOP_START=$base/start.jsonl
	export SHOP_DIR SHOP_START
	if ! "$OFS_BIN/shopd" start --dir "$SHOP_DIR" \
		--topology "$OFS_TOP/examples/shop/topology.json" "$@" >"$SHOP_START"; then
		shop_stop
		return 1
	fi
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on now, taken
# below Linux's ephemeral range (32768 and up) so that no client
# connection of another test can be holding it when a server binds it;
# the 1,100 ports above it (where tests put a deployment's instances) lie
# below that range too.
free_port() {
	local p
	for ((;;)); do
		p=$((10000 + RANDOM % 21000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return 0
		}
	done
}

# shop_pids: the pids of the shop's instance processes that are still
# alive (zombies do not count), judged from the pid files and /proc.
shop_pids() {
	local f pid state
	for f in "$SHOP_DIR"/run/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || continue
		[ "$state" = Z ] && continue
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--dir $SHOP_DIR " &&
			echo "$pid"
	done
	return 0
}

# shop_stop: stop the shop started by shop_start. If `shopd stop` leaves
# anything behind, it is killed here and the function fails, so a broken
# stop is noticed but never leaves stray processes.
shop_stop() {
	[ -n "${SHOP_DIR:-}" ] && [ -d "$SHOP_DIR" ] || return 0
	local rc=0 left
	"$OFS_BIN/shopd" stop --dir "$SHOP_DIR" >/dev/null || rc=1
	left=$(shop_pids)
	if [ -n "$left" ]; then
		echo "shop_stop: instances still running after shopd stop: $left" >&2
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		rc=1
	fi
	return "$rc"
}

# shop_url SERVICE|INSTANCE: the base URL, e.g. http://127.0.0.1:41234.
shop_url() {
	"$OFS_BIN/shopd" url --dir "$SHOP_DIR" "$1"
}

# shop_fault INSTANCE JSON: set fault switches; shop_unfault INSTANCE:
# clear them. Both fail when the instance does not answer 200.
shop_fault() {
	curl -sf -o /dev/null -X POST -d "$2" "$(shop_url "$1")/admin/fault"
}
shop_unfault() {
	curl -sf -o /dev/null -X DELETE "$(shop_url "$1")/admin/fault"
}

# http_call METHOD URL [BODY]: make the request and print "STATUS BODY"
# on one line (the body's final newline dropped). Fails if nothing answered.
http_call() {
	local out body
	out=$(curl -s -w '\n%{http_code}' -X "$1" ${3+-d "$3"} "$2") || return 1
	body=${out%$'\n'*}
	printf '%s %s\n' "${out##*$'\n'}" "${body%$'\n'}"
}

# trace_of HEADERS_FILE: the trace id of the traceresponse header in a
# file written by curl -D.
trace_of() {
	tr -d '\r' <"$1" | awk -F'-' 'tolower($0) ~ /^traceresponse: / { print $2 }'
}

# span_of HEADERS_FILE: the server span id named by traceresponse.
span_of() {
	tr -d '\r' <"$1" | awk -F'-' 'tolower($0) ~ /^traceresponse: / { print $3 }'
}

# jq_records FILE TRACE_ID: the records of one trace, as one JSON array.
jq_records() {
	jq -s -c --arg t "$2" 'map(select(.trace_id == $t))' "$1"
}

# assert_jq JSON FILTER [EXPECTED]: FILTER applied to JSON must print
# EXPECTED (raw output), or, without EXPECTED, must be true.
assert_jq() {
	local got
	got=$(jq -r "$2" <<<"$1") || fail "jq failed on filter: $2"
	if [ $# -ge 3 ]; then
		[ "$got" = "$3" ] || fail "jq '$2': expected '$3', got '$got'"
	else
		[ "$got" = true ] || fail "jq '$2' is not true (got '$got')"
	fi
}

# man_example NAME: the literal block after `.\" example: NAME` in the
# manual named by MAN_PAGE (set by the .bats file), roff escapes undone.
man_example() {
	awk -v name="$1" '
		index($0, ".\\\" example: " name " ") == 1 { found = 1; next }
		found && /^\.Bd / { inside = 1; next }
		inside && /^\.Ed/ { exit }
		inside' "$OFS_TOP/man/$MAN_PAGE" | sed -e 's/\\e/\\/g' -e 's/^\\&//'
}

# man_commands NAME: the commands of an example (after a "$ " prompt,
# with their indented continuation lines), prompt removed; man_output
# NAME: the rest, the output shown.
man_commands() {
	man_example "$1" | awk '/^[a-z0-9]*\$ / { sub(/^[a-z0-9]*\$ /, ""); print; c = 1; next }
		c && /^[ \t]/ { print; next } { c = 0 }'
}
man_output() {
	man_example "$1" | awk '/^[a-z0-9]*\$ / { c = 1; next } c && /^[ \t]/ { next } { c = 0; print }'
}

# check_examples_named [FILE...]: every literal block in the EXAMPLES of
# MAN_PAGE follows an `example: NAME` comment, there are at least 8, and
# each NAME has a test called "man page example: NAME" in one of the .bats
# FILEs (default: the calling file).
check_examples_named() {
	local page=$OFS_TOP/man/$MAN_PAGE names name
	run -0 awk '/^\.Sh EXAMPLES/ { on = 1 } /^\.Sh SEE ALSO/ { on = 0 }
		on && /^\.\\" example: / { named = 1 }
		on && /^\.Bd / { if (!named) { print "unnamed block at line " NR; bad = 1 } named = 0 }
		END { exit bad }' "$page"
	names=$(sed -n 's/^\.\\" example: \([a-z-]*\) .*/\1/p' "$page")
	[ "$(wc -l <<<"$names")" -ge 8 ] || fail "too few named examples: $names"
	for name in $names; do
		cat "${@:-$BATS_TEST_FILENAME}" | grep -q "^@test \"man page example: ${name}[\" ]" ||
			fail "example '$name' of the manual has no test"
	done
}

# bg OUT CMD...: run CMD in the background, stdout to OUT and stderr to
# OUT.err; BG_PID is its pid, remembered for stop_bg. A first word of
# `chaos` runs ofs-chaos itself, not the shell function of that name, so
# that BG_PID is the program's pid and signals reach it.
bg() {
	local out=$1
	shift
	[ "$1" = chaos ] && set -- "$OFS_BIN/ofs-chaos" "${@:2}"
	"$@" >"$out" 2>"$out.err" 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_TEST_TMPDIR/pids"
}

# stop_bg: end every process bg started in this test: SIGTERM, up to 5 s
# to go, then SIGKILL. For teardown.
stop_bg() {
	local pid i
	[ -f "$BATS_TEST_TMPDIR/pids" ] || return 0
	while read -r pid; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/pids"
	rm -f "$BATS_TEST_TMPDIR/pids"
}

# wait_for_record FILE FILTER [SECONDS]: wait until a record of FILE passes
# the jq FILTER (default limit 10 s); fail showing FILE and FILE.err.
wait_for_record() {
	local i limit=${3:-10}
	for ((i = 0; i < limit * 10; i++)); do
		jq -e -s "any(.[]; $2)" "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "no record matching '$2' in $1 within $limit s:
$(cat "$1" "$1.err" 2>/dev/null)"
}

# shop_heal: after a test that broke the shop: every instance up again,
# no fault switch and no route left on any instance.
shop_heal() {
	local down url
	down=$("$OFS_BIN/shopd" status --dir "$SHOP_DIR" 2>/dev/null |
		jq -r 'select(.state != "up") | .instance')
	if [ -n "$down" ]; then
		# shellcheck disable=SC2086
		"$OFS_BIN/shopd" restart --dir "$SHOP_DIR" $down >/dev/null
	fi
	for url in $(jq -r '.services[].instances[] | "http://\(.host):\(.port)"' \
		"$SHOP_DIR/topology.json"); do
		curl -s -o /dev/null --max-time 2 -X DELETE "$url/admin/fault" || true
		curl -s -o /dev/null --max-time 2 -X DELETE "$url/admin/route" || true
	done
}

# wait_up URL: wait up to 10 s for URL/health to answer.
wait_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "$1/health" && return 0
		sleep 0.1
	done
	return 1
}

# inventory_versions_start: for the tests that compare answers, start the
# shop's inventory (the legacy, v1) and beside it two standalone
# inventory instances: a changed version (v2) and a second legacy one
# (--id legacy-2). Exports LEGACY, V2 and LEGACY2, their base URLs.
# inventory_versions_stop ends them and the shop (from teardown_file).
inventory_versions_start() {
	shop_start inventory || return 1
	local p1 p2
	p1=$(free_port)
	p2=$(free_port)
	while [ "$p2" = "$p1" ]; do p2=$(free_port); done
	"$OFS_BIN/shopd" serve --dir "$SHOP_DIR" --service inventory --port "$p1" --version v2 \
		>"$BATS_FILE_TMPDIR/v2.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/serve.pids"
	"$OFS_BIN/shopd" serve --dir "$SHOP_DIR" --service inventory --port "$p2" --id legacy-2 \
		>"$BATS_FILE_TMPDIR/v1b.log" 2>&1 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/serve.pids"
	LEGACY=$(shop_url inventory)
	V2=http://127.0.0.1:$p1
	LEGACY2=http://127.0.0.1:$p2
	export LEGACY V2 LEGACY2
	wait_up "$V2" && wait_up "$LEGACY2"
}

inventory_versions_stop() {
	local pid
	if [ -f "$BATS_FILE_TMPDIR/serve.pids" ]; then
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null || true
		done <"$BATS_FILE_TMPDIR/serve.pids"
	fi
	shop_stop
}
