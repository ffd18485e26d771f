#!/bin/bash
# tests/bench/saga.sh: order sagas per second and their p99 latency
# (issue: at least 100 sagas/s, p99 under 500 ms), beside the same calls
# made by a plain curl script, in the same run.
#
# Each saga is examples/saga/order.json against the example shop on
# loopback: reserve, charge, ship, notify, four HTTP calls with their
# Idempotency-Keys, every transition journalled with fdatasync in a
# state directory on the same disk as the script's temporary directory.
# BENCH_SAGAS orders (default 300, of the stickers the shop holds 400
# of) are started with `start --inputs FILE --wait --concurrency 32`;
# the peer sends the same four calls per order with curl, 32 orders at
# once (xargs -P), and keeps no journal at all. Each side gets a fresh
# shop (the stock starts full) and must leave exactly BENCH_SAGAS orders
# taken from the stock, so a fast wrong run cannot win. Latency of a
# saga: from its first step's `started` record to its `saga.completed`.
# Printed: wall time and sagas per second of each, the ratio, and ofs's
# p50/p99 saga latency. Timings are never asserted. The shops and the
# temporary directory are removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

n=${BENCH_SAGAS:-300}
bin=${OFS_BIN:-bin}
saga=$bin/ofs-saga
shopd=$bin/shopd
for p in "$saga" "$shopd"; do
	[ -x "$p" ] || { echo "bench: '$p' not found: run make bench" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-saga.XXXXXX")
shops=()
cleanup() {
	local d
	for d in "${shops[@]}"; do "$shopd" stop --dir "$d" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fresh_shop NAME: start a shop in $work/NAME; its base URLs in $urls (JSON).
fresh_shop() {
	local dir=$work/$1
	"$shopd" start --dir "$dir" --topology examples/shop/topology.json >/dev/null
	shops+=("$dir")
	urls=$(jq -cn --arg i "$("$shopd" url --dir "$dir" inventory-1)" \
		--arg p "$("$shopd" url --dir "$dir" payments-1)" \
		--arg s "$("$shopd" url --dir "$dir" shipping-1)" \
		--arg o "$("$shopd" url --dir "$dir" orders-1)" \
		'{inventory: $i, payments: $p, shipping: $s, orders: $o, sku: "stickers"}')
}

# stock URLS: the stickers left at the shop of URLS.
stock() {
	curl -sf "$(jq -r .inventory <<<"$1")/stock" | jq '.items[] | select(.sku == "stickers") | .available'
}

# ---- ofs-saga -----------------------------------------------------------
fresh_shop ofs
full=$(stock "$urls")
for ((i = 0; i < n; i++)); do echo "$urls"; done >"$work/inputs.jsonl"
t0=$(date +%s%N)
OFS_STATE_DIR=$work/state "$saga" start examples/saga/order.json --inputs "$work/inputs.jsonl" \
	--wait --concurrency 32 >"$work/records.jsonl"
t1=$(date +%s%N)
done_ofs=$(grep -c '"type":"saga.completed"' "$work/records.jsonl" || true)
left=$(stock "$urls")
if [ "$done_ofs" != "$n" ] || [ "$((full - left))" != "$n" ]; then
	echo "bench: ofs-saga completed $done_ofs of $n sagas, stock $full -> $left" >&2
	exit 1
fi

# ---- the peer: the same calls with curl, no journal ----------------------
fresh_shop peer
cat >"$work/order.sh" <<'SH'
#!/bin/sh
# One order: the four calls of the saga, each with its key; fails on an error.
id=$1 inv=$2 pay=$3 shp=$4 ord=$5
amount=$(curl -sf -H "Idempotency-Key: $id/reserve/1" -H 'Content-Type: application/json' \
	-d "{\"order_id\":\"$id\",\"sku\":\"stickers\",\"qty\":1}" "$inv/reserve" |
	sed -n 's/.*"amount_cents":\([0-9]*\).*/\1/p') &&
curl -sf -o /dev/null -H "Idempotency-Key: $id/charge/1" -H 'Content-Type: application/json' \
	-d "{\"order_id\":\"$id\",\"amount_cents\":$amount}" "$pay/charge" &&
curl -sf -o /dev/null -H "Idempotency-Key: $id/ship/1" -H 'Content-Type: application/json' \
	-d "{\"order_id\":\"$id\",\"sku\":\"stickers\",\"qty\":1}" "$shp/shipments" &&
curl -sf -o /dev/null -H "Idempotency-Key: $id/notify/1" -H 'Content-Type: application/json' \
	-d "{\"order_id\":\"$id\"}" "$ord/notify"
SH
full=$(stock "$urls")
t2=$(date +%s%N)
seq "$n" | xargs -P 32 -I{} sh "$work/order.sh" "peer-{}" \
	"$(jq -r .inventory <<<"$urls")" "$(jq -r .payments <<<"$urls")" \
	"$(jq -r .shipping <<<"$urls")" "$(jq -r .orders <<<"$urls")"
t3=$(date +%s%N)
left=$(stock "$urls")
[ "$((full - left))" = "$n" ] || { echo "bench: the peer took $((full - left)) of $n" >&2; exit 1; }

# ---- figures ----------------------------------------------------------------
jq -r 'select((.type == "saga.step" and .event == "started" and .step == "reserve" and .attempt == 1)
	or .type == "saga.completed") | "\(.saga) \(.type) \(.ts)"' "$work/records.jsonl" |
	awk '{ split($3, a, /[T:Z]/); s = a[2] * 3600 + a[3] * 60 + a[4]
		if ($2 == "saga.step") b[$1] = s; else print (s - b[$1]) * 1000 }' |
	sort -n >"$work/latency"
awk -v n="$n" -v o0="$t0" -v o1="$t1" -v p0="$t2" -v p1="$t3" -v f="$work/latency" 'BEGIN {
	while ((getline l < f) > 0) lat[++k] = l
	ow = (o1 - o0) / 1e9; pw = (p1 - p0) / 1e9
	printf "saga: %d order sagas (4 HTTP steps) against the example shop, 32 at once\n", n
	i50 = int(k * 0.50); if (i50 < 1) i50 = 1
	i99 = int(k * 0.99); if (i99 < 1) i99 = 1
	printf "  ofs   %8.3f s   %7.1f sagas/s   (journal fsync on)   p50 %.0f ms  p99 %.0f ms\n",
		ow, n / ow, lat[i50], lat[i99]
	printf "  peer  %8.3f s   %7.1f sagas/s   (curl script, no journal)\n", pw, n / pw
	printf "  ratio (peer / ofs) %.2fx\n", (ow > 0 ? pw / ow : 0)
}'
