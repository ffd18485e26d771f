#!/usr/bin/env bats
# tests/ofs-saga-graph.bats: `ofs-saga graph`, a saga definition drawn as
# DOT or Mermaid (cmd/ofs-saga/graph.c), with a saga's state laid over it.
#
# Every picture is checked for form: DOT by `dot -Tsvg` when Graphviz is
# installed, and always by a structural parse (balanced braces, every
# line of a known kind, every edge endpoint declared once); Mermaid by
# its first line and the same parse of its node, edge and style lines.
# Then the contents: the exact edges of the example sagas (forward,
# fan-out and join, the backward path), the pivot as boundary, labels and
# their escaping, colours by service and, over a journal, by state. The
# journals come from real runs of sagas whose steps are commands
# (tests/fixtures/saga/run-*.json), in a state directory of the test's own.
#
# Labels hold `${...}` templates, so single quotes are meant literally:
# shellcheck disable=SC2016

load helpers

FIX=$OFS_TOP/tests/fixtures/saga

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_bg
	if [ -s "$BATS_TEST_TMPDIR/child.pid" ]; then
		kill -KILL "$(cat "$BATS_TEST_TMPDIR/child.pid")" 2>/dev/null || true
	fi
}

saga() {
	"$OFS_BIN/ofs-saga" "$@"
}

# dot_check FILE: FILE is a DOT digraph graph.c would write: dot accepts
# it (when installed), and the structural parse finds nothing wrong.
dot_check() {
	if command -v dot >/dev/null; then
		dot -Tsvg "$1" >/dev/null || fail "dot rejects $1: $(cat "$1")"
	fi
	local problems
	problems=$(awk '
		function bad(m) { print FILENAME ":" FNR ": " m; failed = 1 }
		{ line = $0; gsub(/"([^"\\]|\\.)*"/, "Q", line) }
		line ~ /"/ { bad("unbalanced quotes"); next }
		FNR == 1 { if (line != "digraph Q {") bad("not a digraph: " $0); depth = 1; next }
		line ~ /^ *(graph|node|edge) \[.*\];$/ { next }
		line ~ /^  subgraph cluster_[a-z]+ \{$/ { depth++; next }
		line ~ /^    (label|style|color)=Q;$/ { next }
		line ~ /^ *\}$/ { if (--depth < 0) bad("unbalanced braces"); next }
		line ~ /^ *\{ rank=same;( [a-z0-9]+;)+ \}$/ {
			gsub(/[{};]|rank=same/, " ", line)
			n = split(line, a, " ")
			for (i = 1; i <= n; i++) used[a[i]] = FNR
			next
		}
		line ~ /^  [a-z0-9]+ -> [a-z0-9]+( \[[^]]*\])?;$/ {
			split(line, a, " ")
			sub(/;$/, "", a[3])
			used[a[1]] = FNR
			used[a[3]] = FNR
			next
		}
		line ~ /^ *[a-z0-9]+ \[label=Q[^]]*\];$/ {
			split(line, a, " ")
			if (a[1] in decl) bad("declared twice: " a[1])
			decl[a[1]] = 1
			next
		}
		{ bad("unexpected line: " $0) }
		END {
			if (depth != 0) bad("unbalanced braces at the end")
			for (u in used) if (!(u in decl)) bad("not declared: " u)
			exit failed
		}' "$1") || fail "not the DOT expected: $problems"
}

# mermaid_check FILE: FILE is a Mermaid flowchart graph.c would write:
# it starts with `flowchart`, subgraphs are closed, every line is of a
# known kind, every node is declared once before anything names it.
mermaid_check() {
	local problems
	problems=$(awk '
		function bad(m) { print FILENAME ":" FNR ": " m; failed = 1 }
		function use(id) { if (!(id in decl)) bad("not declared: " id) }
		{ line = $0; gsub(/"[^"]*"/, "Q", line) }
		line ~ /"/ { bad("unbalanced quotes"); next }
		FNR == 1 { if (line !~ /^flowchart /) bad("not a flowchart: " $0); next }
		line ~ /^  %% / { next }
		line ~ /^  subgraph [a-z]+ \[Q\]$/ { depth++; next }
		line ~ /^  end$/ { if (--depth < 0) bad("end without subgraph"); next }
		line ~ /^ *[a-z0-9]+(\(\(Q\)\)|\[Q\]|\{\{Q\}\}|\(\[Q\]\))$/ {
			id = line; sub(/^ */, "", id); sub(/[[({].*/, "", id)
			if (id in decl) bad("declared twice: " id)
			decl[id] = 1
			next
		}
		line ~ /^  [a-z0-9]+ (-->|-\.->|-\.-)(\|Q\|)? [a-z0-9]+$/ {
			split(line, a, " "); use(a[1]); use(a[3]); next
		}
		line ~ /^  style [a-z0-9]+ fill:#[0-9a-f]+,stroke:#[0-9a-f]+(,stroke-width:2px)?(,stroke-dasharray:5 5)?$/ {
			split(line, a, " "); use(a[2]); next
		}
		{ bad("unexpected line: " $0) }
		END { if (depth != 0) bad("subgraph not closed"); exit failed }' "$1") ||
		fail "not the Mermaid expected: $problems"
}

# edges FILE: the edge lines of a DOT or Mermaid file, indentation removed.
edges() {
	grep -E -e ' (->|-->|-\.->|-\.-)[ |]' "$1" | sed 's/^ *//'
}

# node_line FILE ID: the declaration of node ID.
node_line() {
	grep -E "^ *$2( \[|\[|\(|\{)" "$1" | sed 's/^ *//'
}

# cluster_of FILE ID: the DOT cluster node ID is declared in ("none" if none).
cluster_of() {
	awk -v id="$2" '
		/^  subgraph cluster_/ { c = $2; sub(/^cluster_/, "", c) }
		/^  \}$/ { c = "" }
		$1 == id && $2 ~ /^\[label=/ { print (c == "" ? "none" : c); exit }' "$1"
}

@test "graph: the order saga as DOT: valid, pivot between two clusters, exact edges" {
	run -0 --separate-stderr saga graph "$FIX/order.json"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	printf '%s\n' "$output" >order.dot
	dot_check order.dot
	run -0 cluster_of order.dot s0
	assert_output compensatable
	run -0 cluster_of order.dot c0
	assert_output compensatable
	run -0 cluster_of order.dot s1
	assert_output none
	run -0 cluster_of order.dot s2
	assert_output retriable
	run -0 cluster_of order.dot s3
	assert_output retriable
	run -0 node_line order.dot s1
	assert_output --partial 'shape=hexagon'
	run -0 node_line order.dot s0
	assert_output --partial '[label="reserve\ncompensatable · inventory\nPOST ${inventory}/reserve", shape=box'
	run -0 node_line order.dot c0
	assert_output --partial '[label="undo reserve\nPOST ${inventory}/release", shape=box, style="rounded,filled,dashed"'
	run -0 node_line order.dot s3
	assert_output --partial '[label="notify\nretriable · orders\nPOST ${orders}/notify"'
	run -0 edges order.dot
	assert_output 'start -> s0;
s0 -> s1;
s1 -> s2;
s2 -> s3;
s3 -> done;
s0 -> c0 [style=dotted, arrowhead=none];
c0 -> compensated [style=dashed, color="#808080", constraint=false];
s1 -> c0 [style=dashed, color="#808080", constraint=false, label="fails"];'
	run -0 node_line order.dot 'done'
	assert_output --partial 'label="end", shape=doublecircle'
	run -0 node_line order.dot compensated
	assert_output --partial 'label="compensated", shape=doublecircle'
}

@test "graph: the order saga as Mermaid: a flowchart, subgraphs, every node declared" {
	run -0 --separate-stderr saga graph -f mermaid "$FIX/order.json"
	printf '%s\n' "$output" >order.mmd
	mermaid_check order.mmd
	assert_line --index 0 'flowchart LR'
	assert_line '  subgraph compensatable ["compensatable: undone if the saga fails"]'
	assert_line '  subgraph retriable ["retriable: retried until they succeed"]'
	assert_line '  s1{{"charge<br>pivot · payments<br>POST ${payments}/charge"}}'
	assert_line '    s0["reserve<br>compensatable · inventory<br>POST ${inventory}/reserve"]'
	run -0 edges order.mmd
	assert_output 'start --> s0
s0 --> s1
s1 --> s2
s2 --> s3
s3 --> done
s0 -.- c0
c0 -.-> compensated
s1 -.->|"fails"| c0'
	# the pivot sits between the two subgraphs, outside both
	run -0 awk '/^  subgraph/ { inside = 1 } /^  end$/ { inside = 0 }
		/^ *s1\{\{/ { print inside ? "inside" : "outside" }' order.mmd
	assert_output outside
}

@test "graph: the example order saga has the same shape as the fixture" {
	local f
	for f in dot mermaid; do
		saga graph -f "$f" "$OFS_TOP/examples/saga/order.json" >example.$f
		saga graph -f "$f" "$FIX/order.json" >fixture.$f
		edges example.$f >example.edges
		edges fixture.$f >fixture.edges
		cmp -s example.edges fixture.edges ||
			fail "$f edges differ: $(diff example.edges fixture.edges)"
	done
	dot_check example.dot
	mermaid_check example.mermaid
	run -0 cluster_of example.dot s1
	assert_output none
	run -0 node_line example.dot s1
	assert_output --partial '[label="charge\npivot · payments\nPOST ${payments}/charge", shape=hexagon'
}

@test "graph: parallel groups fan out and join; the backward path runs in reverse" {
	run -0 saga graph "$FIX/parallel.json"
	printf '%s\n' "$output" >trip.dot
	dot_check trip.dot
	run -0 edges trip.dot
	assert_output 'start -> s0;
start -> s1;
s0 -> s2;
s1 -> s2;
s2 -> s3;
s3 -> s4;
s3 -> s5;
s4 -> s6;
s5 -> s6;
s6 -> done;
s0 -> c0 [style=dotted, arrowhead=none];
s1 -> c1 [style=dotted, arrowhead=none];
c0 -> compensated [style=dashed, color="#808080", constraint=false];
c1 -> compensated [style=dashed, color="#808080", constraint=false];
s2 -> c0 [style=dashed, color="#808080", constraint=false, label="deadline"];
s2 -> c1 [style=dashed, color="#808080", constraint=false, label="deadline"];
s3 -> c0 [style=dashed, color="#808080", constraint=false, label="fails"];
s3 -> c1 [style=dashed, color="#808080", constraint=false, label="fails"];'
	run -0 node_line trip.dot s2
	assert_output --partial '[label="approve\nwait\nsignal manager-ok\ndeadline 2h, then compensate", shape=ellipse'
	run -0 node_line trip.dot s6
	assert_output --partial '[label="feedback\nwait\nsignal survey\nno deadline", shape=ellipse'
	run -0 node_line trip.dot s1
	assert_output --partial '[label="hotel\ncompensatable · hotel\n/usr/local/bin/book-hotel"'
	run -0 node_line trip.dot c0
	assert_output --partial '[label="undo flight\nDELETE https://air.example/cancel"'
}

@test "graph: compensations of later stages lead to those of earlier ones" {
	run -0 saga graph "$FIX/duplicate-step.json"
	printf '%s\n' "$output" >dup.dot
	dot_check dup.dot
	run -0 edges dup.dot
	assert_line 'c2 -> c1 [style=dashed, color="#808080", constraint=false];'
	assert_line 'c1 -> c0 [style=dashed, color="#808080", constraint=false];'
	assert_line 'c0 -> compensated [style=dashed, color="#808080", constraint=false];'
	assert_line 's3 -> c2 [style=dashed, color="#808080", constraint=false, label="fails"];'
	refute_line --partial 'c2 -> c0'
	# the parallel group after the pivot: fan out from it, join at the end
	assert_line 's3 -> s4;'
	assert_line 's3 -> s5;'
	assert_line 's4 -> done;'
	assert_line 's5 -> done;'
}

@test "graph: labels are escaped for DOT and for Mermaid" {
	run -0 saga graph "$FIX/parallel.json"
	printf '%s\n' "$output" >trip.dot
	run -0 node_line trip.dot s3
	assert_output --partial '[label="pay\npivot · bank #1 <eu|\"main\">\nPOST https://bank.example/pay?a=1&b=`x`"'
	run -0 node_line trip.dot c1
	assert_output --partial '[label="undo hotel\nsh -c cancel-hotel \"$OFS_SAGA_ID\" \\   --all --..."'
	run -0 saga graph --format=mermaid "$FIX/parallel.json"
	printf '%s\n' "$output" >trip.mmd
	mermaid_check trip.mmd
	assert_line '  s3{{"pay<br>pivot · bank #35;1 #lt;eu#124;#quot;main#quot;#gt;<br>POST https://bank.example/pay?a=1#amp;b=#96;x#96;"}}'
	assert_line '    c1["undo hotel<br>sh -c cancel-hotel #quot;$OFS_SAGA_ID#quot; \   --all --..."]'
	assert_line '    s2(["approve<br>wait<br>signal manager-ok<br>deadline 2h, then compensate"])'
}

@test "graph: each service has its own border colour, in order of first use" {
	run -0 saga graph "$FIX/parallel.json"
	printf '%s\n' "$output" >trip.dot
	colour() { node_line trip.dot "$1" | sed -n 's/.* color="\(#[0-9a-f]*\)".*/\1/p'; }
	[ "$(colour s0)" = '#1f77b4' ] || fail "airline: $(colour s0)"
	[ "$(colour c0)" = '#1f77b4' ] || fail "airline's undo: $(colour c0)"
	[ "$(colour s4)" = '#1f77b4' ] || fail "airline again: $(colour s4)"
	[ "$(colour s1)" = '#9467bd' ] || fail "hotel: $(colour s1)"
	[ "$(colour s5)" = '#9467bd' ] || fail "hotel again: $(colour s5)"
	[ "$(colour s3)" = '#8c564b' ] || fail "bank: $(colour s3)"
	[ "$(colour s2)" = '#404040' ] || fail "no service: $(colour s2)"
	run -0 saga graph -f mermaid "$FIX/parallel.json"
	assert_line '  style s4 fill:#ffffff,stroke:#1f77b4,stroke-width:2px'
	assert_line '  style c1 fill:#ffffff,stroke:#9467bd,stroke-width:2px,stroke-dasharray:5 5'
	assert_line '  style s2 fill:#ffffff,stroke:#404040'
}

@test "graph: without a pivot there is no boundary, and the title says so" {
	run -0 saga graph "$FIX/no-pivot.json"
	printf '%s\n' "$output" >np.dot
	dot_check np.dot
	refute_output --partial cluster
	refute_output --partial hexagon
	assert_line --index 1 '  graph [label="saga no-pivot, version 1, no pivot", labelloc=t, rankdir=LR, fontname="Helvetica"];'
	run -0 saga graph -f mermaid "$FIX/no-pivot.json"
	refute_output --partial subgraph
}

@test "graph: every valid fixture in both formats: well formed and deterministic" {
	local f n=0
	for f in "$FIX"/*.json; do
		[ "${f##*/}" = invalid.json ] && continue
		saga graph "$f" >a.dot || fail "graph $f failed"
		saga graph "$f" >b.dot
		cmp -s a.dot b.dot || fail "two runs differ for $f"
		dot_check a.dot
		saga graph -f mermaid "$f" >a.mmd || fail "graph -f mermaid $f failed"
		saga graph -f mermaid "$f" >b.mmd
		cmp -s a.mmd b.mmd || fail "two Mermaid runs differ for $f"
		mermaid_check a.mmd
		n=$((n + 1))
	done
	[ "$n" -ge 10 ] || fail "only $n fixtures"
}

@test "graph: an invalid definition: its errors, nothing drawn, exit 2" {
	run -2 --separate-stderr saga graph "$FIX/invalid.json"
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-saga: $FIX/invalid.json: /steps/0/action/url: must start with http:// or https://, got 'ftp://payments/charge'
ofs-saga: $FIX/invalid.json: /steps/0/compensation: the pivot has no compensation: once it succeeds the saga only goes forward"
	run -2 --separate-stderr saga graph missing.json
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-saga: cannot open 'missing.json': No such file or directory"
}

@test "graph: usage errors exit 2" {
	run -2 --separate-stderr saga graph
	assert_equal "$output" ""
	[[ "$stderr" == *"missing definition"* ]] || fail "$stderr"
	run -2 --separate-stderr saga graph "$FIX/order.json" "$FIX/order.json"
	[[ "$stderr" == *"one definition at a time"* ]] || fail "$stderr"
	run -2 --separate-stderr saga graph -f svg "$FIX/order.json"
	assert_equal "$output" ""
	[[ "$stderr" == *"-f: unknown format 'svg' (want dot or mermaid)"* ]] || fail "$stderr"
	run -2 --separate-stderr saga graph --journal '../etc' "$FIX/order.json"
	[[ "$stderr" == *"--journal: '../etc' is not a saga id"* ]] || fail "$stderr"
}

@test "graph --journal: no such saga is exit 2, an unreadable state is exit 4" {
	run -2 --separate-stderr saga graph --journal nope "$FIX/order.json"
	assert_equal "$output" ""
	assert_equal "$stderr" "ofs-saga: no saga 'nope'"
	mkdir -p "$OFS_STATE_DIR"
	ln -s saga "$OFS_STATE_DIR/saga"
	run -4 --separate-stderr saga graph --journal nope "$FIX/order.json"
	assert_equal "$output" ""
	[[ "$stderr" == "ofs-saga: cannot read '$OFS_STATE_DIR/saga/nope.jsonl': "* ]] || fail "$stderr"
	run -4 --separate-stderr env -u OFS_STATE_DIR -u XDG_STATE_HOME -u HOME \
		"$OFS_BIN/ofs-saga" graph --journal nope "$FIX/order.json"
	assert_equal "$output" ""
	[ -n "$stderr" ] || fail "no message"
}

# fill FILE ID: the fill colour of node ID in a DOT file.
fill() {
	node_line "$1" "$2" | sed -n 's/.*fillcolor="\(#[0-9a-f]*\)".*/\1/p'
}

@test "graph --journal: a completed saga, all green, its compensation not run" {
	run -0 saga start "$FIX/run-ok.json" --wait --id ok-1
	run -0 --separate-stderr saga graph --journal ok-1 "$FIX/run-ok.json"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	printf '%s\n' "$output" >ok.dot
	dot_check ok.dot
	assert_line --index 1 '  graph [label="saga run-ok, version 1; ok-1: completed", labelloc=t, rankdir=LR, fontname="Helvetica"];'
	local green='#9be09b' grey='#d9d9d9'
	for id in start s0 s1 s2 'done'; do
		[ "$(fill ok.dot $id)" = "$green" ] || fail "$id: $(fill ok.dot $id)"
	done
	[ "$(fill ok.dot c0)" = "$grey" ] || fail "c0: $(fill ok.dot c0)"
	[ "$(fill ok.dot compensated)" = "$grey" ] || fail "compensated: $(fill ok.dot compensated)"
	run -0 node_line ok.dot s0
	assert_output --partial '[label="a\ncompensatable · alpha\ntrue\nsucceeded, 1 attempt"'
	run -0 node_line ok.dot c0
	assert_output --partial '[label="undo a\ntrue\nnot run"'
	run -0 saga graph -f mermaid --journal ok-1 "$FIX/run-ok.json"
	printf '%s\n' "$output" >ok.mmd
	mermaid_check ok.mmd
	assert_line '  %% saga run-ok, version 1; ok-1: completed'
	assert_line '  style s1 fill:#9be09b,stroke:#9467bd,stroke-width:2px'
	assert_line '  style c0 fill:#d9d9d9,stroke:#1f77b4,stroke-width:2px,stroke-dasharray:5 5'
	assert_line '    s2["c<br>retriable · gamma<br>true<br>succeeded, 1 attempt"]'
}

@test "graph --journal: a compensated saga, the failed step red, the undos green" {
	run -1 saga start "$FIX/run-fail.json" --wait --id fail-1
	run -0 saga graph --journal fail-1 "$FIX/run-fail.json"
	printf '%s\n' "$output" >fail.dot
	dot_check fail.dot
	local green='#9be09b' red='#f4a0a0' grey='#d9d9d9'
	[ "$(fill fail.dot s0)" = "$green" ] || fail "s0: $(fill fail.dot s0)"
	[ "$(fill fail.dot s1)" = "$red" ] || fail "s1: $(fill fail.dot s1)"
	[ "$(fill fail.dot c1)" = "$green" ] || fail "c1: $(fill fail.dot c1)"
	[ "$(fill fail.dot c0)" = "$green" ] || fail "c0: $(fill fail.dot c0)"
	[ "$(fill fail.dot s2)" = "$grey" ] || fail "s2: $(fill fail.dot s2)"
	[ "$(fill fail.dot s3)" = "$grey" ] || fail "s3: $(fill fail.dot s3)"
	[ "$(fill fail.dot 'done')" = "$grey" ] || fail "done: $(fill fail.dot 'done')"
	[ "$(fill fail.dot compensated)" = "$green" ] || fail "compensated"
	run -0 node_line fail.dot s1
	assert_output --partial '[label="b\ncompensatable · beta\nfalse\nfailed, 1 attempt"'
	run -0 node_line fail.dot c0
	assert_output --partial '[label="undo a\ntrue\nsucceeded, 1 attempt"'
	run -0 node_line fail.dot s2
	assert_output --partial '[label="c\npivot · gamma\ntrue\npending"'
	run -0 saga graph -f mermaid --journal fail-1 "$FIX/run-fail.json"
	assert_line '  style s1 fill:#f4a0a0,stroke:#9467bd,stroke-width:2px'
	assert_line '  style compensated fill:#9be09b,stroke:#404040'
}

@test "graph --journal: a parked wait step is blue" {
	run -0 saga start "$FIX/run-parked.json" --wait --id park-1
	run -0 saga graph --journal park-1 "$FIX/run-parked.json"
	printf '%s\n' "$output" >park.dot
	assert_line --index 1 --partial '; park-1: parked"'
	dot_check park.dot
	[ "$(fill park.dot s1)" = '#9cc8f4' ] || fail "s1: $(fill park.dot s1)"
	[ "$(fill park.dot s0)" = '#9be09b' ] || fail "s0: $(fill park.dot s0)"
	[ "$(fill park.dot s2)" = '#d9d9d9' ] || fail "s2: $(fill park.dot s2)"
	run -0 node_line park.dot s1
	assert_output --partial '[label="approval\nwait\nsignal approved\nno deadline\nparked"'
}

@test "graph --journal: a step whose run was killed mid-call is orange" {
	bg run.out "$OFS_BIN/ofs-saga" start "$FIX/run-slow.json" --wait --id slow-1 \
		--input "{\"pidfile\": \"$BATS_TEST_TMPDIR/child.pid\"}"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s child.pid ] && break
		sleep 0.1
	done
	[ -s child.pid ] || fail "the slow step never started: $(cat run.out run.out.err)"
	kill -KILL "$BG_PID"
	wait "$BG_PID" 2>/dev/null || true
	kill -KILL "$(cat child.pid)" 2>/dev/null || true
	rm -f child.pid
	run -0 saga graph --journal slow-1 "$FIX/run-slow.json"
	printf '%s\n' "$output" >slow.dot
	dot_check slow.dot
	[ "$(fill slow.dot s1)" = '#ffc66e' ] || fail "s1: $(fill slow.dot s1)"
	[ "$(fill slow.dot s0)" = '#9be09b' ] || fail "s0: $(fill slow.dot s0)"
	run -0 node_line slow.dot s1
	assert_output --partial '[label="slow\ncompensatable\nsh\nstarted, 1 attempt"'
}

@test "graph --journal: the journal's copy is drawn, with a warning when the file differs" {
	run -0 saga start "$FIX/run-ok.json" --wait --id ok-2
	saga graph --journal ok-2 "$FIX/run-ok.json" >want.dot
	run -0 --separate-stderr saga graph --journal ok-2 "$FIX/order.json"
	assert_equal "$stderr" "ofs-saga: warning: saga 'ok-2' ran 'run-ok' version 1, not 'order' version 1 of '$FIX/order.json': drawing the journal's copy"
	printf '%s\n' "$output" >got.dot
	cmp -s want.dot got.dot || fail "not the journal's copy: $(diff want.dot got.dot)"
}

@test "graph: a closed reader is quiet, a full disk is exit 4" {
	run -0 bash -c '"$OFS_BIN/ofs-saga" graph "$1" | head -1' _ "$FIX/parallel.json"
	assert_output 'digraph "trip" {'
	run -4 bash -c '"$OFS_BIN/ofs-saga" graph "$1" >/dev/full' _ "$FIX/order.json"
}
