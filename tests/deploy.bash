# tests/deploy.bash: what the ofs-deploy test files share: a state
# directory per test, a real HAProxy on loopback with a TCP runtime socket,
# deploy specs for the example shop's inventory service, a load loop, and
# the processes ofs-deploy started, stopped at the end of each test.
#
# Load it after helpers: `load helpers; load deploy`.


# deploy_setup: OFS_STATE_DIR in the test's directory; the shop's run
# directory (its topology, for `shopd serve --service`) in SHOP_DIR.
deploy_setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	export SHOPD=$OFS_BIN/shopd
	SHOP_DIR=$BATS_TEST_TMPDIR/shop
	export SHOP_DIR
	mkdir -p "$SHOP_DIR"
	"$SHOPD" start --dir "$SHOP_DIR" --topology "$OFS_TOP/examples/shop/topology.json" \
		inventory >/dev/null
	"$SHOPD" stop --dir "$SHOP_DIR" >/dev/null
}

# deploy_teardown: stop haproxy, nginx, the background commands and every
# instance a deploy of the test started (their pid files).
deploy_teardown() {
	stop_bg
	local f pid
	for f in "$BATS_TEST_TMPDIR"/haproxy.pid "$BATS_TEST_TMPDIR"/nginx/nginx.pid \
		"$OFS_STATE_DIR"/deploy/*/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.2
	for f in "$OFS_STATE_DIR"/deploy/*/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# hap_start [SLOTS]: haproxy in the background with a frontend on HAP_PORT
# and backend `inventory` of SLOTS (default 12) servers in maintenance,
# runtime API on 127.0.0.1:HAP_ADMIN (level admin).
hap_start() {
	local slots=${1:-12}
	HAP_PORT=$(free_port)
	HAP_ADMIN=$(free_port)
	while [ "$HAP_ADMIN" = "$HAP_PORT" ]; do HAP_ADMIN=$(free_port); done
	export HAP_PORT HAP_ADMIN
	cat >"$BATS_TEST_TMPDIR/haproxy.cfg" <<CFG
global
	stats socket 127.0.0.1:$HAP_ADMIN level admin
	pidfile $BATS_TEST_TMPDIR/haproxy.pid
defaults
	mode http
	timeout connect 2s
	timeout client 20s
	timeout server 20s
frontend fe
	bind 127.0.0.1:$HAP_PORT
	default_backend inventory
backend inventory
	balance roundrobin
	server-template s 1-$slots 127.0.0.1:9 disabled
CFG
	/usr/sbin/haproxy -D -f "$BATS_TEST_TMPDIR/haproxy.cfg" || return 1
	local i
	for ((i = 0; i < 50; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$HAP_ADMIN") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# hap CMD: one runtime API command; its answer on stdout.
hap() {
	exec 5<>"/dev/tcp/127.0.0.1/$HAP_ADMIN" || return 1
	printf '%s\n' "$1" >&5
	cat <&5
	exec 5<&-
}

# hap_servers: "name status weight addr" of each server of inventory.
hap_servers() {
	hap "show stat inventory 4 -1" | awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		NF > 1 { print $(col["svname"]), $(col["status"]), $(col["weight"]), $(col["addr"]) }'
}

# versions N [PATH]: N requests through haproxy; one line "VERSION COUNT"
# per version that answered (from the Shop-Version header), then
# "failed N" for answers that were not 2xx.
versions() {
	local n=$1 path=${2:-/stock} i
	for ((i = 0; i < n; i++)); do
		curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$HAP_PORT$path" |
			awk 'NR == 1 && $2 !~ /^2/ { print "failed" } tolower($1) == "shop-version:" { print $2 }' |
			tr -d '\r'
	done | sort | uniq -c | awk '{ print $2, $1 }'
}

# spec FILE VERSION [STRATEGY-JSON] [EXTRA-START-ARGS]: a spec deploying
# inventory VERSION behind the test's haproxy, 6 replicas by default.
spec() {
	local file=$1 version=$2 strategy=${3:-'{"kind":"rolling"}'} extra=${4:-}
	cat >"$file" <<JSON
{"service": "inventory", "version": "$version", "replicas": ${REPLICAS:-6},
 "instances": {"driver": "process",
   "start": "exec \"\$SHOPD\" serve --dir \"\$SHOP_DIR\" --service inventory --port \"\$OFS_PORT\" --version \"\$OFS_VERSION\" $extra",
   "ports": "${PORTS:-$((HAP_PORT + 1000))-$((HAP_PORT + 1040))}",
   "ready": {"kind": "http", "path": "/health", "timeout": "1s"}},
 "traffic": {"driver": "haproxy", "socket": "127.0.0.1:$HAP_ADMIN", "backend": "inventory"},
 "strategy": $strategy${ANALYSIS:+,
 \"analysis\": $ANALYSIS}}
JSON
}

# load_start SECONDS: wrk through haproxy in the background (LOAD_OUT).
load_start() {
	LOAD_OUT=$BATS_TEST_TMPDIR/wrk.out
	wrk -t 2 -c 8 -d "${1}s" "http://127.0.0.1:$HAP_PORT/stock" >"$LOAD_OUT" 2>&1 &
	LOAD_PID=$!
	echo "$LOAD_PID" >>"$BATS_TEST_TMPDIR/pids"
}

# load_check: wait for wrk; fail unless it saw requests and not a single
# error or non-2xx answer.
load_check() {
	wait "$LOAD_PID" || true
	grep -q 'requests in' "$LOAD_OUT" || fail "wrk did not run: $(cat "$LOAD_OUT")"
	! grep -E 'Socket errors|Non-2xx' "$LOAD_OUT" || fail "failed requests: $(cat "$LOAD_OUT")"
}

# assert_stderr TEXT: the last `run --separate-stderr` wrote TEXT on stderr.
assert_stderr() {
	# shellcheck disable=SC2154 # set by bats' run --separate-stderr
	[[ $stderr == *"$1"* ]] || fail "stderr lacks '$1': $stderr"
}
