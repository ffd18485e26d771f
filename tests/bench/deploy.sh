#!/bin/bash
# tests/bench/deploy.sh: what `ofs-deploy run` costs beyond the work it
# orders, and how many deploys an hour it allows (issue: far beyond 100
# deploys a day), beside the same rolling update done by a plain script
# (bash, curl and socat), in the same run.
#
# The deploy: the example shop's inventory service, 10 instances
# (process driver, shopd on loopback) behind a real HAProxy whose
# runtime API is a unix socket, rolled from v1 to v2 and back
# (BENCH_DEPLOYS timed deploys, default 6) with maxSurge 25 %,
# maxUnavailable 25 %, ready check http /health, minReady 0. The peer is
# this script called as `deploy.sh peer VERSION`: per batch it drains the
# old servers, waits for 0 sessions, puts them in MAINT, kills the
# instances, starts new shopd processes, polls their /health with curl
# (every 200 ms, as ofs-deploy does) and points free servers at them
# (set addr, weight, state ready). Both sides use the same batch plan
# (checked), each its own backend and port range, one after the other
# in each round. After every deploy the side's frontend must answer 20
# requests with the new version and its backend must have 10 servers up,
# so a fast wrong deploy cannot win.
#
# Figures: wall time per deploy (mean, min, max) and deploys per hour;
# CPU per deploy and per instance (ofs-deploy's own process only; for
# the script, bash with every curl, socat, sleep and kill it ran), both
# from build/tests/bench/deploy_timer; the ratios script / ofs-deploy;
# and the wall time per instance excluding the instances' own start-up:
# (wall - batches that start instances x a bare shopd's start-up) / 10,
# the start-up being the median time from exec to a passing /health
# (deploy_timer startup, probing every millisecond). Timings are
# printed, never asserted. Every process started and the temporary
# directory are removed however the script ends.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."

# ---- the peer: a rolling update as a plain script ------------------------
# Called as `deploy.sh peer VERSION` with PEER_* set by the bench below.
# PEER_STATE holds "SLOT PORT PID" of each running instance.

# peer_hap CMD: one runtime API command through socat; its answer.
peer_hap() {
	local answer
	answer=$(printf '%s\n' "$1" | socat - "UNIX-CONNECT:$PEER_SOCK") || return 1
	case $answer in
	*"No such"* | *Unknown* | *Require* | *[Ii]nvalid* | *"not found"*)
		echo "peer: haproxy answered '$answer' to '$1'" >&2
		return 1
		;;
	esac
	printf '%s\n' "$answer"
}

# peer_sessions SLOT: the sessions now on server SLOT of the backend.
peer_sessions() {
	peer_hap "show stat $PEER_BACKEND 4 -1" | awk -F, -v s="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$(col["svname"]) == s { print $(col["scur"]) }'
}

# peer_gone PID: whether PID has exited (a zombie counts: not our child).
peer_gone() {
	local st
	[ -r "/proc/$1/stat" ] || return 0
	read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 0
	[ "$st" = Z ]
}

# peer_retire I: drain, wait for 0 sessions, MAINT, kill old instance I.
peer_drain() { peer_hap "set server $PEER_BACKEND/${oslot[$1]} state drain" >/dev/null; }
peer_retire() {
	local i=$1 t
	for ((t = 0; t < 300; t++)); do
		[ "$(peer_sessions "${oslot[$i]}")" = 0 ] && break
		sleep 0.1
	done
	peer_hap "set server $PEER_BACKEND/${oslot[$i]} state maint" >/dev/null
	kill -TERM "${opid[$i]}" 2>/dev/null || true
	for ((t = 0; t < 500; t++)); do
		peer_gone "${opid[$i]}" && return 0
		sleep 0.02
	done
	kill -KILL "${opid[$i]}" 2>/dev/null || true
}

# peer_free_port: the lowest port of PEER_PORTS no instance of ours
# holds and nothing listens on, in $port.
peer_free_port() {
	local used=" ${oport[*]} ${nport[*]} " p
	for ((p = ${PEER_PORTS%-*}; p <= ${PEER_PORTS#*-}; p++)); do
		[[ $used == *" $p "* ]] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		port=$p
		return 0
	done
	echo "peer: no free port in $PEER_PORTS" >&2
	return 1
}

# peer_free_slot: the first server of the backend no instance holds, in $slot.
peer_free_slot() {
	local held=" ${oslot[*]} ${nslot[*]} " s
	for ((s = 1; s <= PEER_SLOTS; s++)); do
		[[ $held == *" s$s "* ]] && continue
		slot=s$s
		return 0
	done
	echo "peer: no free server in backend $PEER_BACKEND" >&2
	return 1
}

peer_main() {
	local version=$1 r=$PEER_REPLICAS surge unavail
	surge=$(((r * 25 + 99) / 100)) unavail=$((r * 25 / 100))
	oslot=() oport=() opid=() nslot=() nport=() npid=()
	local s p pid
	while read -r s p pid; do
		oslot+=("$s") oport+=("$p") opid+=("$pid")
	done <"$PEER_STATE"
	local batch=0 old nw stop start i k first t left
	for (( ; ; )); do
		old=${#opid[@]} nw=${#npid[@]}
		((old == 0 && nw >= r)) && break
		# the batch: as many old ones as the floor allows, as many new as the ceiling
		stop=$((old + nw - (r - unavail)))
		((stop > old)) && stop=$old
		((stop < 0)) && stop=0
		start=$((r + surge - (old - stop + nw)))
		((start > r - nw)) && start=$((r - nw))
		((start < 0)) && start=0
		((stop == 0 && start == 0)) && stop=$old
		batch=$((batch + 1))
		echo "batch $batch stop $stop start $start"
		for ((i = 0; i < stop; i++)); do peer_drain "$i"; done
		for ((i = 0; i < stop; i++)); do peer_retire "$i"; done
		oslot=("${oslot[@]:stop}") oport=("${oport[@]:stop}") opid=("${opid[@]:stop}")
		first=$nw
		for ((k = 0; k < start; k++)); do
			peer_free_port
			setsid "$SHOPD" serve --dir "$SHOP_DIR" --service inventory --port "$port" \
				--version "$version" </dev/null >>"$PEER_LOG/$port.log" 2>&1 &
			pid=$!
			echo "$pid" >>"$PEER_PIDS"
			nport+=("$port") npid+=("$pid") nslot+=("")
		done
		for ((t = 0; ; t++)); do
			left=0
			for ((i = first; i < ${#npid[@]}; i++)); do
				[ "${nslot[$i]}" = "" ] || continue
				if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:${nport[$i]}/health"; then
					nslot[i]=ready
				elif peer_gone "${npid[$i]}"; then
					echo "peer: the instance on port ${nport[$i]} exited: $(tail -n 1 "$PEER_LOG/${nport[$i]}.log")" >&2
					return 1
				else
					left=$((left + 1))
				fi
			done
			((left == 0)) && break
			((t < 300)) || { echo "peer: instances not ready after 60 s" >&2; return 1; }
			sleep 0.2
		done
		for ((i = first; i < ${#npid[@]}; i++)); do
			nslot[i]=""
			peer_free_slot
			nslot[i]=$slot
			peer_hap "set server $PEER_BACKEND/$slot addr 127.0.0.1 port ${nport[$i]}" >/dev/null
			peer_hap "set server $PEER_BACKEND/$slot weight 100" >/dev/null
			peer_hap "set server $PEER_BACKEND/$slot state ready" >/dev/null
		done
	done
	for ((i = 0; i < ${#npid[@]}; i++)); do
		echo "${nslot[$i]} ${nport[$i]} ${npid[$i]}"
	done >"$PEER_STATE"
}

if [ "${1:-}" = peer ]; then
	peer_main "$2"
	exit
fi

# ---- the bench --------------------------------------------------------------
deploys=${BENCH_DEPLOYS:-6}
replicas=10
slots=16
bin=${OFS_BIN:-bin}
build=${OFS_BUILD:-build}
ofs=$bin/ofs-deploy
shopd=$bin/shopd
timer=$build/tests/bench/deploy_timer
haproxy=/usr/sbin/haproxy
for f in "$ofs" "$shopd" "$timer"; do
	[ -x "$f" ] || { echo "bench: '$f' not found: run make bench" >&2; exit 1; }
done
[ -x "$haproxy" ] || { echo "bench: haproxy is needed ($haproxy)" >&2; exit 1; }
for c in jq curl socat setsid; do
	command -v "$c" >/dev/null || { echo "bench: $c is needed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ofs-bench-deploy.XXXXXX")
hap_pid=""
export OFS_STATE_DIR=$work/state
# Everything started: haproxy, the instances of both sides (ofs-deploy's
# pid files, the script's list), stopped with TERM, then KILL.
cleanup() {
	local f pid pids=()
	[ -n "$hap_pid" ] && pids+=("$hap_pid")
	for f in "$OFS_STATE_DIR"/deploy/*/run/*.pid; do
		[ -f "$f" ] && pids+=("$(cat "$f")")
	done
	[ -f "$work/peer.pids" ] && mapfile -t -O "${#pids[@]}" pids <"$work/peer.pids"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	sleep 0.2
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ports: all below the ephemeral ones, where the local end of a
# connection (curl's, haproxy's) could hold a port the moment a server
# binds it. The instances get 40 each above a random base.
read -r eph _ </proc/sys/net/ipv4/ip_local_port_range
((eph > 10200)) || eph=32768
base=$((10000 + RANDOM % (eph - 10100)))

# free_port: a TCP port on 127.0.0.1, outside the instances' ranges,
# that nothing listens on now.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % (eph - 10000)))
		((p >= base && p < base + 80)) && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
}

# The shop's run directory, which `shopd serve --service` needs.
export SHOPD=$shopd SHOP_DIR=$work/shop
mkdir -p "$SHOP_DIR"
"$shopd" start --dir "$SHOP_DIR" --topology examples/shop/topology.json inventory >/dev/null
"$shopd" stop --dir "$SHOP_DIR" >/dev/null

# One haproxy: a frontend and a backend of spare servers for each side.
fe_ofs=$(free_port)
fe_peer=$(free_port)
while [ "$fe_peer" = "$fe_ofs" ]; do fe_peer=$(free_port); done
sock=$work/haproxy.sock
cat >"$work/haproxy.cfg" <<CFG
global
	stats socket $sock mode 600 level admin
defaults
	mode http
	timeout connect 2s
	timeout client 20s
	timeout server 20s
frontend fe_ofs
	bind 127.0.0.1:$fe_ofs
	default_backend inventory
frontend fe_peer
	bind 127.0.0.1:$fe_peer
	default_backend peer
backend inventory
	balance roundrobin
	server-template s 1-$slots 127.0.0.1:9 disabled
backend peer
	balance roundrobin
	server-template s 1-$slots 127.0.0.1:9 disabled
CFG
"$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
hap_pid=$!
for ((i = 0; i < 50; i++)); do
	[ -S "$sock" ] && break
	kill -0 "$hap_pid" 2>/dev/null || { cat "$work/haproxy.log" >&2; exit 1; }
	sleep 0.1
done
[ -S "$sock" ] || { echo "bench: haproxy did not start" >&2; exit 1; }

ofs_ports=$base-$((base + 39))
export PEER_PORTS=$((base + 40))-$((base + 79)) PEER_SOCK=$sock PEER_BACKEND=peer \
	PEER_SLOTS=$slots PEER_REPLICAS=$replicas PEER_STATE=$work/peer.state \
	PEER_LOG=$work/peer-logs PEER_PIDS=$work/peer.pids
: >"$PEER_STATE"
mkdir "$PEER_LOG"

# spec VERSION: ofs-deploy's spec for inventory VERSION, in $work.
spec() {
	jq -n --arg v "$1" --arg shopd "$shopd" --arg dir "$SHOP_DIR" --arg ports "$ofs_ports" \
		--arg sock "$sock" --argjson r "$replicas" '{
		service: "inventory", version: $v, replicas: $r,
		instances: {driver: "process",
			start: [$shopd, "serve", "--dir", $dir, "--service", "inventory",
				"--port", "{port}", "--version", "{version}"],
			ports: $ports, ready: {kind: "http", path: "/health", timeout: "1s"}},
		traffic: {driver: "haproxy", socket: $sock, backend: "inventory"},
		strategy: {kind: "rolling", maxSurge: "25%", maxUnavailable: "25%", minReady: "0s"}}' \
		>"$work/$1.json"
}
spec v1
spec v2

# verify SIDE FRONTEND BACKEND VERSION: 20 requests answered by VERSION
# and REPLICAS servers up, or the bench stops.
verify() {
	local got up
	got=$(curl -s -o /dev/null -D - "http://127.0.0.1:$2/stock?n=[1-20]" | tr -d '\r' |
		awk 'tolower($1) == "shop-version:" { print $2 }' | sort | uniq -c | awk '{ print $2, $1 }')
	[ "$got" = "$4 20" ] || { echo "bench: $1: 20 requests after the deploy of $4 got: $got" >&2; exit 1; }
	up=$(printf 'show stat %s 4 -1\n' "$3" | socat - "UNIX-CONNECT:$sock" | awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		NF > 1 && $(col["status"]) != "MAINT" { n++ } END { print n + 0 }')
	[ "$up" = "$replicas" ] || { echo "bench: $1: $up servers up after the deploy of $4" >&2; exit 1; }
}

# ofs_deploy VERSION OUT: one timed `ofs-deploy run`; records in OUT.jsonl,
# times in OUT.time.
ofs_deploy() {
	"$timer" cpu "$2.time" "$ofs" run "$work/$1.json" >"$2.jsonl" 2>"$2.err" || {
		echo "bench: ofs-deploy run of $1 failed:" >&2
		cat "$2.err" >&2
		exit 1
	}
	jq -e -s 'any(.[]; .type == "deploy.done" and .outcome == "promoted")' "$2.jsonl" >/dev/null ||
		{ echo "bench: ofs-deploy did not promote $1" >&2; exit 1; }
	jq -r 'select(.type == "deploy.step" and .action == "batch") | "stop \(.stop) start \(.start)"' \
		"$2.jsonl" >"$2.plan"
}

# peer_deploy VERSION OUT: one timed run of the script; batches in OUT.plan.
peer_deploy() {
	"$timer" cpu "$2.time" bash "$self" peer "$1" >"$2.out" 2>"$2.err" || {
		echo "bench: the script's deploy of $1 failed:" >&2
		cat "$2.err" >&2
		exit 1
	}
	sed 's/^batch [0-9]* //' "$2.out" >"$2.plan"
}

# The bare instance: exec to a passing /health, median of 15.
sport=$(free_port)
for ((i = 0; i < 15; i++)); do
	"$timer" startup "$sport" "$shopd" serve --dir "$SHOP_DIR" --service inventory \
		--port "$sport" --version v1 | jq -r .ready_us
done | sort -n >"$work/startup"
startup_us=$(sed -n 8p "$work/startup")

# v1 everywhere first (not timed), then the timed rounds: each side in turn.
ofs_deploy v1 "$work/ofs-0"
verify ofs-deploy "$fe_ofs" inventory v1
peer_deploy v1 "$work/peer-0"
verify script "$fe_peer" peer v1
for ((n = 1; n <= deploys; n++)); do
	v=v$((n % 2 + 1))
	ofs_deploy "$v" "$work/ofs-$n"
	verify ofs-deploy "$fe_ofs" inventory "$v"
	peer_deploy "$v" "$work/peer-$n"
	verify script "$fe_peer" peer "$v"
	cmp -s "$work/ofs-$n.plan" "$work/peer-$n.plan" ||
		{ echo "bench: the two sides' batches differ" >&2; diff "$work/ofs-$n.plan" "$work/peer-$n.plan" >&2; exit 1; }
done

# side PREFIX CPU-FIELD: "mean_wall min_wall max_wall mean_cpu" of the timed deploys.
side() {
	local n
	for ((n = 1; n <= deploys; n++)); do cat "$work/$1-$n.time"; done |
		jq -rs --arg f "$2" '[map(.wall_s) | (add / length), min, max] + [map(.[$f]) | add / length] |
			map(tostring) | join(" ")'
}
read -r ow omin omax oc <<<"$(side ofs self_cpu_s)"
read -r pw pmin pmax pc <<<"$(side peer cpu_s)"
okids=$(for ((n = 1; n <= deploys; n++)); do jq .children_cpu_s "$work/ofs-$n.time"; done |
	awk '{ s += $1 } END { print s }')
starts=$(awk '$4 > 0' "$work/ofs-1.plan" | wc -l)
batches=$(wc -l <"$work/ofs-1.plan")
fs=$(df -PT "$OFS_STATE_DIR" | awk 'NR == 2 { print $2 }')

awk -v n="$deploys" -v r="$replicas" -v ow="$ow" -v omin="$omin" -v omax="$omax" -v oc="$oc" \
	-v pw="$pw" -v pmin="$pmin" -v pmax="$pmax" -v pc="$pc" -v su="$startup_us" -v st="$starts" \
	-v b="$batches" -v fs="$fs" -v kids="$okids" 'function side(who, w, lo, hi, c, what) {
		printf "  %-6s %7.3f s per deploy (%.3f..%.3f)   cpu %6.3f s, %5.1f ms per instance   %s\n",
			who, w, lo, hi, c, c * 1000 / r, what
	}
	BEGIN {
		printf "ofs-deploy: rolling update of %d instances behind haproxy, v1 <-> v2, %d batches " \
			"(maxSurge 25 %%, maxUnavailable 25 %%), mean of %d deploys; state on %s\n", r, b, n, fs
		side("ofs", ow, omin, omax, oc, "ofs-deploy run (its own process)")
		side("peer", pw, pmin, pmax, pc, "bash + curl + socat script (with its children)")
		printf "  ratio (peer / ofs) wall %.2fx, cpu %.2fx\n", (ow > 0 ? pw / ow : 0), (oc > 0 ? pc / oc : 0)
		printf "  bare shopd start-up (exec to passing /health, median of 15) %.1f ms; " \
			"%d batches start instances\n", su / 1000, st
		printf "  per instance, excluding start-up: ofs %.1f ms, peer %.1f ms\n",
			(ow - st * su / 1e6) * 1000 / r, (pw - st * su / 1e6) * 1000 / r
		printf "  deploys per hour: ofs %.0f, peer %.0f (%.0f and %.0f a day)\n",
			3600 / ow, 3600 / pw, 86400 / ow, 86400 / pw
		if (kids > 0)
			printf "  note: ofs-deploy reaped children that used %.3f s of CPU (not counted)\n", kids
		printf "  goal: far beyond 100 deploys a day: %.0fx that, %s\n", 86400 / ow / 100,
			(86400 / ow >= 1000 ? "met" : "NOT met")
	}'
