#!/bin/bash
# tests/bench/split_route.sh: `ofs-split route` records per second (goal:
# at least 1M/s on 1M records of about 100 bytes, one core), with its CPU
# time and peak RSS, beside jq doing a hash-modulo split of the same
# input in the same run (the sum of the key's code points modulo 100,
# since jq has no hash function: less work than MurmurHash2 and no
# stickiness across weights). Checked first: route's output is the input
# with one "variant" member added to every record, and its shares are
# the weights'. Timings are printed, never asserted. BENCH_SPLIT_RECORDS
# sets the count (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_SPLIT_RECORDS:-1000000}
bin=${OFS_BIN:-bin}
split=$bin/ofs-split
[ -x "$split" ] || { echo "bench: '$split' not found: run make bench" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-split.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# About 100 bytes a record: a customer key and an order.
awk -v n="$n" 'BEGIN {
	srand(5);
	split("paid shipped refunded", st, " ");
	for (i = 1; i <= n; i++)
		printf "{\"customer\":\"cust-%07d\",\"order\":%d,\"sku\":\"SKU-%05d\",\"qty\":%d,\"cents\":%d,\"status\":\"%s\"}\n",
		       i, i, int(rand() * 99999), 1 + i % 5, int(rand() * 100000), st[1 + i % 3]
}' >"$work/in.jsonl"

ours="'$split' route --key /customer --weights legacy=90,new=10 '$work/in.jsonl'"
peer="jq -c '. + {variant: (if ((.customer | explode | add) % 100) < 90 then \"legacy\" else \"new\" end)}' '$work/in.jsonl'"

# ---- the answer: every record kept, one member added, 10 % new ------------
sh -c "$ours" >"$work/out.jsonl"
sed 's/,"variant":"[a-z]*"}$/}/' "$work/out.jsonl" | cmp -s - "$work/in.jsonl" ||
	{ echo "bench: route changed records beyond the variant member" >&2; exit 1; }
newshare=$(grep -c '"new"}$' "$work/out.jsonl" || true)
awk -v n="$n" -v k="$newshare" -v b="$(wc -c <"$work/in.jsonl")" 'BEGIN {
	printf "input: %d records, %.0f bytes each; route put %.3f %% in new (weight 10)\n", n, b / n, 100 * k / n }'

# ---- timing -------------------------------------------------------------------
read -r ow oc orss <<<"$(measure "$ours")"
read -r fw fc frss <<<"$(measure "$ours --to 'new=$work/new.jsonl' --to 'legacy=$work/legacy.jsonl'")"
read -r pw pc prss <<<"$(measure "$peer" 1)"
awk -v n="$n" -v ow="$ow" -v oc="$oc" -v orss="$orss" -v fw="$fw" -v fc="$fc" -v frss="$frss" \
	-v pw="$pw" -v pc="$pc" -v prss="$prss" 'BEGIN {
	printf "ofs-split route: %d records, legacy=90,new=10 (goal: 1M records/s)\n", n
	printf "  ofs   %8.3f s  cpu %6s s  %10.0f records/s  rss %8s kB   to stdout\n", ow, oc, n / ow, orss
	printf "  ofs   %8.3f s  cpu %6s s  %10.0f records/s  rss %8s kB   --to a file per variant\n", fw, fc, n / fw, frss
	printf "  peer  %8.3f s  cpu %6s s  %10.0f records/s  rss %8s kB   jq, code-point sum modulo 100\n", pw, pc, n / pw, prss
	printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? pw / ow : 0)
}'
