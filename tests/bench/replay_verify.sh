#!/bin/bash
# tests/bench/replay_verify.sh: `ofs-replay verify` on 1M legacy records
# against 1M new ones (BENCH_VERIFY_RECORDS to change the count) with 100
# planted differences (34 missing, 33 extra, 33 changed), beside a
# `sort | join` pipeline that finds the keys whose lines differ (issue 9:
# under 5 s, with peak RSS).
#
# The records (about 190 bytes: id, sku, name, price, status, tags,
# address, timestamp) are made by awk with a fixed seed; the new side is
# the legacy side in another order (shuf with a fixed random source),
# with the planted differences. The peer keys every line with awk, sorts
# both sides (LC_ALL=C sort, its default memory), and joins them,
# printing each key that is on one side only or whose lines differ byte
# for byte: it does less than verify (no field-by-field diff, and a key
# reordering or a 1.0 for 1 would count as a difference), so it is a
# floor rather than an equal. Answers are compared first: the set of keys
# each reports must be the same 100 keys. Then each side is timed (best
# wall time of BENCH_RUNS), with CPU time and peak RSS, verify at its
# default --memory (256M) and again at --memory 32M (many partitions).
# Timings are printed, never asserted. The temporary directory is removed
# however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_VERIFY_RECORDS:-1000000}
bin=${OFS_BIN:-bin}
replay=$bin/ofs-replay
[ -x "$replay" ] || { echo "bench: '$replay' not found: run make bench" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- inputs ----------------------------------------------------------------
awk -v n="$n" 'BEGIN {
	srand(9);
	split("active inactive suspended", st, " ");
	for (i = 1; i <= n; i++)
		printf "{\"id\":%d,\"sku\":\"SKU-%07d\",\"name\":\"customer %d\",\"price_cents\":%d," \
		       "\"status\":\"%s\",\"tags\":[\"t%d\",\"t%d\"],\"address\":{\"city\":\"city-%d\",\"zip\":\"%05d\"}," \
		       "\"updated\":\"2026-11-%02dT10:00:00Z\"}\n",
		       i, i, i, int(rand() * 100000), st[1 + i % 3], i % 7, i % 11, i % 500, i % 99999, 1 + i % 28
}' >"$work/legacy.jsonl"
# Planted: ids divisible by n/34 missing from new; 33 changed prices;
# 33 new ids past n.
awk -v n="$n" '
	BEGIN { step = int(n / 34); cstep = int(n / 33) }
	{ id = NR }
	id % step == 0 && id / step <= 34 { next }
	(id + 7) % cstep == 0 && (id + 7) / cstep <= 33 { sub(/"price_cents":[0-9]+/, "\"price_cents\":-1") }
	{ print }
	END { for (i = 1; i <= 33; i++) printf "{\"id\":%d,\"sku\":\"SKU-X\",\"name\":\"new %d\"}\n", n + i, i }
' "$work/legacy.jsonl" | shuf --random-source=<(yes) >"$work/new.jsonl"

ours="$replay verify --key /id $work/legacy.jsonl $work/new.jsonl"
small="$replay verify --key /id --memory 32M $work/legacy.jsonl $work/new.jsonl"
cat >"$work/peer.sh" <<SH
export LC_ALL=C
key() { awk '{ k = \$0; sub(/^\{"id":/, "", k); sub(/,.*/, "", k); print k "\t" \$0 }' "\$1" | sort -t '	' -k1,1; }
key $work/legacy.jsonl >$work/a
key $work/new.jsonl >$work/b
join -t '	' -a1 -a2 -e '' -o 0,1.2,2.2 $work/a $work/b | awk -F '	' '\$2 != \$3 { print \$1 }'
SH
peer="bash $work/peer.sh"

# ---- the answers must agree -------------------------------------------------
$ours >"$work/ours.jsonl" || [ $? -eq 1 ] || { echo "bench: verify failed" >&2; exit 1; }
jq -r 'select(.type != "replay.verify") | .key' "$work/ours.jsonl" | sort >"$work/ours.keys"
$peer | sort >"$work/peer.keys"
if ! cmp -s "$work/ours.keys" "$work/peer.keys" || [ "$(wc -l <"$work/ours.keys")" -ne 100 ]; then
	echo "bench: verify and sort|join disagree (or did not find the 100 planted keys)" >&2
	exit 1
fi
jq -c 'select(.type == "replay.verify") | {legacy, new, same, missing, extra, changed, partitions}' \
	"$work/ours.jsonl"

# ---- timing -------------------------------------------------------------------
# verify exits 1 (differences found): wrap it so lib.sh sees success.
read -r ow oc orss <<<"$(measure "$ours >/dev/null; [ \$? -eq 1 ]")"
read -r sw sc srss <<<"$(measure "$small >/dev/null; [ \$? -eq 1 ]")"
read -r pw pc prss <<<"$(measure "$peer >/dev/null")"
awk -v n="$n" -v ow="$ow" -v oc="$oc" -v orss="$orss" -v sw="$sw" -v sc="$sc" -v srss="$srss" \
	-v pw="$pw" -v pc="$pc" -v prss="$prss" 'BEGIN {
	printf "ofs-replay verify: %d vs %d records, 100 planted differences (goal: under 5 s)\n", n, n
	printf "  ofs   %9.3f s  cpu %6s s  rss %8s kB   --memory 256M (default)\n", ow, oc, orss
	printf "  ofs   %9.3f s  cpu %6s s  rss %8s kB   --memory 32M\n", sw, sc, srss
	printf "  peer  %9.3f s  cpu %6s s  rss %8s kB   awk | sort | join\n", pw, pc, prss
	printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? pw / ow : 0)
}'
