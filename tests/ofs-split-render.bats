#!/usr/bin/env bats
# ofs-split render and apply against the real proxies on loopback.
# nginx: the rendered split_clients passes `nginx -t`, and a live nginx
# sends each of 2,000 distinct keys to exactly the variant `ofs-split
# route` gives it, before and after a ramp (the proof that weights.c is
# nginx's rule, hash and buckets). HAProxy: the rendered frontend and
# backend run, `apply` changes the live weights (`get weight`) and the
# traffic follows. Envoy and Istio output checked with jq and awk. Option
# errors are exit 2 with their exact messages.

load helpers

setup() {
	D=$BATS_TEST_TMPDIR
	NGX=$D/nginx
	mkdir -p "$NGX/tmp"
	# distinct free ports: the proxy, the runtime API, the three backends
	local p
	PORTS=()
	while [ "${#PORTS[@]}" -lt 5 ]; do
		p=$(free_port)
		[[ " ${PORTS[*]} " == *" $p "* ]] || PORTS+=("$p")
	done
	PORT=${PORTS[0]} ADMIN=${PORTS[1]} LEG=${PORTS[2]} NEW=${PORTS[3]} BETA=${PORTS[4]}
	UP=(-u "legacy=127.0.0.1:$LEG" -u "new=127.0.0.1:$NEW")
}

teardown() {
	local f
	for f in "$NGX/nginx.pid" "$D/haproxy.pid"; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	return 0
}

split() { "$OFS_BIN/ofs-split" "$@"; }

# ngx_conf: nginx.conf including $NGX/split.conf, with three backends
# that answer their own variant's name.
ngx_conf() {
	cat >"$NGX/nginx.conf" <<CONF
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	include $NGX/split.conf;
	server { listen 127.0.0.1:$LEG; location / { return 200 "legacy\n"; } }
	server { listen 127.0.0.1:$NEW; location / { return 200 "new\n"; } }
	server { listen 127.0.0.1:$BETA; location / { return 200 "beta\n"; } }
}
CONF
}

ngx() { nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" "$@"; }

# keys N: the keys k1..kN as records {"c": "kI"}.
keys() { seq 1 "$1" | awk '{ printf "{\"c\":\"k%d\"}\n", $1 }'; }

# ask KEYS_FILE HOW: one request per key through the proxy on PORT, in
# order, with the key as the cookie `customer` (HOW=cookie) or the header
# X-Customer-Id (HOW=header); prints the variant that answered each.
ask() {
	jq -r .c "$1" | awk -v p="$PORT" -v how="$2" '
		NR > 1 { print "next" }
		{ print "url = \"http://127.0.0.1:" p "/\""
		  if (how == "cookie") print "cookie = \"customer=" $0 "\""
		  else print "header = \"X-Customer-Id: " $0 "\"" }' >"$D/curl.cfg"
	curl -s --max-time 20 -K "$D/curl.cfg"
}

@test "nginx: 2,000 keys each reach the variant route gives them, within 2 points of the weights; a ramp moves none back" {
	keys 2000 >"$D/keys.jsonl"
	split render -f nginx -w legacy=87.55,new=12.45 -s 'exp "7" \x' "${UP[@]}" \
		-l "127.0.0.1:$PORT" >"$NGX/split.conf"
	ngx_conf
	run -0 ngx -t
	ngx || fail "nginx did not start: $(cat "$NGX/error.log")"
	ask "$D/keys.jsonl" cookie >"$D/got1"
	split route -k /c -w legacy=87.55,new=12.45 -s 'exp "7" \x' "$D/keys.jsonl" |
		jq -r .variant >"$D/want1"
	[ "$(wc -l <"$D/got1")" -eq 2000 ] || fail "answers: $(wc -l <"$D/got1")"
	cmp "$D/got1" "$D/want1" || fail "nginx and route disagree on $(paste "$D/got1" "$D/want1" | awk '$1 != $2' | wc -l) keys"
	local new
	new=$(grep -c '^new$' "$D/got1")
	((new >= 209 && new <= 289)) || fail "new took $new of 2000 (12.45 % is 249)"

	# ramp to 50/50 and reload: every key that was new stays new
	split render -f nginx -w legacy=50,new=50 -s 'exp "7" \x' "${UP[@]}" \
		-l "127.0.0.1:$PORT" >"$NGX/split.conf"
	run -0 ngx -t
	ngx -s reload
	split route -k /c -w legacy=50,new=50 -s 'exp "7" \x' "$D/keys.jsonl" | jq -r .variant >"$D/want2"
	# until the old workers are gone
	local i
	for ((i = 0; i < 50; i++)); do
		ask "$D/keys.jsonl" cookie >"$D/got2"
		cmp -s "$D/got2" "$D/want2" && break
		sleep 0.1
	done
	cmp "$D/got2" "$D/want2" || fail "nginx and route disagree after the ramp on $(paste "$D/got2" "$D/want2" | awk '$1 != $2' | wc -l) keys"
	[ "$(paste "$D/got1" "$D/got2" | awk '$1 == "new" && $2 != "new"' | wc -l)" -eq 0 ]
	new=$(grep -c '^new$' "$D/got2")
	((new >= 960 && new <= 1040)) || fail "new took $new of 2000 at 50 %"
}

@test "nginx: three variants and a zero, a header key, --name; the same placement as route" {
	keys 600 >"$D/keys.jsonl"
	split render -f nginx -w legacy=50,new=30,gone=0,beta=20 --header X-Customer-Id -n shop \
		"${UP[@]}" -u "beta=127.0.0.1:$BETA" -u gone=127.0.0.1:9,127.0.0.2:9 \
		-l "127.0.0.1:$PORT" >"$NGX/split.conf"
	run -0 grep -F 'split_clients "${http_x_customer_id}" $ofs_variant_shop {' "$NGX/split.conf"
	# nginx reads "0%" as a catch-all: a zero weight is left out, its upstream kept
	! grep -q ' gone;' "$NGX/split.conf"
	grep -q '^upstream shop_gone {' "$NGX/split.conf"
	run -0 awk '/^split_clients/,/^}/' "$NGX/split.conf"
	assert_output - <<'CONF'
split_clients "${http_x_customer_id}" $ofs_variant_shop {
    50% legacy;
    30% new;
    * beta;
}
CONF
	ngx_conf
	ngx || fail "nginx did not start: $(cat "$NGX/error.log")"
	ask "$D/keys.jsonl" header >"$D/got"
	split route -k /c -w legacy=50,new=30,gone=0,beta=20 "$D/keys.jsonl" | jq -r .variant >"$D/want"
	cmp "$D/got" "$D/want"
	[ "$(sort -u "$D/got" | tr '\n' ' ')" = "beta legacy new " ]
}

@test "nginx -t takes what render writes: IPv6, several addresses, one variant at 100 %, odd salts" {
	split render -f nginx -w only=100,later=0 -u 'only=[::1]:8081,127.0.0.1:8082,localhost:8083' \
		-u later=127.0.0.1:8084 -s 'a;b{c}$' >/dev/null 2>&1 && fail "a salt with \$ was taken"
	split render -f nginx -w only=100,later=0 -u 'only=[::1]:8081,127.0.0.1:8082,localhost:8083' \
		-u later=127.0.0.1:8084 -s "a;b{c}'#" --nginx-key '$remote_addr$arg_id' -l "$PORT" \
		>"$NGX/split.conf"
	run -0 grep -F "split_clients \"\${remote_addr}\${arg_id}a;b{c}'#\" \$ofs_variant {" "$NGX/split.conf"
	run -0 grep -F '    * only;' "$NGX/split.conf"
	ngx_conf
	run -0 ngx -t
}

@test "the example nginx.conf around a rendered split.conf passes nginx -t" {
	cp -r "$OFS_TOP/examples/split/render" "$D/ex"
	# the commands its comment gives
	split render --format nginx --weights legacy=90,new=10 \
		--upstream legacy=127.0.0.1:8081 --upstream new=127.0.0.1:8082 \
		--listen 127.0.0.1:8080 >"$D/ex/split.conf"
	mkdir -p "$D/ex/tmp"
	run -0 nginx -t -p "$D/ex" -c nginx.conf
	grep -q 'render --format nginx --weights legacy=90,new=10' "$OFS_TOP/examples/split/render/nginx.conf"
}

# hap_start ARGS...: haproxy.cfg: global (runtime API on ADMIN), defaults, then render's output.
hap_start() {
	cat >"$D/haproxy.cfg" <<CFG
global
	stats socket 127.0.0.1:$ADMIN level admin
	pidfile $D/haproxy.pid
defaults
	mode http
	timeout connect 2s
	timeout client 20s
	timeout server 20s
CFG
	split render -f haproxy -l "127.0.0.1:$PORT" "$@" >>"$D/haproxy.cfg"
	haproxy -c -q -f "$D/haproxy.cfg" || fail "haproxy -c: $(haproxy -c -f "$D/haproxy.cfg" 2>&1)"
	haproxy -D -f "$D/haproxy.cfg" || fail "haproxy did not start"
	local i
	for ((i = 0; i < 50; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$ADMIN") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "haproxy's runtime API did not come up"
}

# hap CMD: one runtime API command's answer.
hap() {
	exec 5<>"/dev/tcp/127.0.0.1/$ADMIN" || return 1
	printf '%s\n' "$1" >&5
	cat <&5
	exec 5<&-
}

# shares N: N requests (no key) through the proxy: "VARIANT COUNT" lines.
shares() {
	keys "$1" >"$D/n.jsonl"
	ask "$D/n.jsonl" cookie | sort | uniq -c | awk '{ print $2, $1 }' | tr '\n' ' '
}

@test "haproxy: the rendered split runs; apply sets the live weights, traffic follows; --dry-run changes nothing" {
	ngx_conf
	: >"$NGX/split.conf"
	ngx || fail "nginx did not start"
	hap_start -w legacy=90,new=10 "${UP[@]}"
	run -0 grep -c '^    server ' "$D/haproxy.cfg"
	assert_output 2
	run -0 shares 100
	assert_output "legacy 90 new 10 "

	run -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,new=50 --dry-run
	assert_jq "$(sed -n 1p <<<"$output")" '[.type, .backend, .server, .variant, .weight_from, .weight_to, .dry_run] | @csv' \
		'"split.apply","split","new","new",10,50,true'
	assert_jq "$(sed -n 2p <<<"$output")" '[.server, .weight_from, .weight_to, .dry_run] | @csv' '"legacy",90,50,true'
	run -0 hap "get weight split/new"
	assert_output "10 (initial 10)"

	run -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,new=50
	# the server gaining weight is set first
	assert_jq "$(sed -n 1p <<<"$output")" '[.server, .weight_from, .weight_to, has("dry_run")] | @csv' '"new",10,50,false'
	assert_jq "$(sed -n 2p <<<"$output")" '[.server, .weight_from, .weight_to] | @csv' '"legacy",90,50'
	run -0 hap "get weight split/new"
	assert_output "50 (initial 10)"
	run -0 shares 100
	assert_output "legacy 50 new 50 "

	# percentages with decimals are scaled by 256/100
	run -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=87.5,new=12.5
	run -0 hap "get weight split/legacy"
	assert_output "224 (initial 90)"
	run -0 hap "get weight split/new"
	assert_output "32 (initial 10)"
	run -0 shares 80
	assert_output "legacy 70 new 10 "
	# all to new: nothing goes to legacy any more
	run -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=0,new=100
	run -0 shares 20
	assert_output "new 20 "
}

@test "apply: a missing server or backend, an unreachable socket: exit 4 and nothing changed" {
	hap_start -w legacy=90,new=10 "${UP[@]}"
	run --separate-stderr -4 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,beta=50
	[ "$stderr" = "ofs-split: haproxy backend 'split' has no server 'beta' (servers: legacy, new); nothing was changed" ]
	assert_output ""
	run -0 hap "get weight split/legacy"
	assert_output "90 (initial 90)"
	run --separate-stderr -4 split apply --haproxy "127.0.0.1:$ADMIN" --backend nope -w legacy=50,new=50
	[ "$stderr" = "ofs-split: haproxy has no backend 'nope'" ]
	# the frontend is not the backend, even with a like name
	run --separate-stderr -4 split apply --haproxy "127.0.0.1:$ADMIN" --backend split-front -w legacy=50,new=50
	[ "$stderr" = "ofs-split: haproxy has no backend 'split-front'" ]
	# a server no variant names is left alone, with a warning
	run --separate-stderr -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=100
	[ "$stderr" = "ofs-split: warning: server 'new' of backend 'split' is no variant's: its weight is left as it is" ]
	run -0 hap "get weight split/new"
	assert_output "10 (initial 10)"
	kill "$(cat "$D/haproxy.pid")"
	sleep 0.2
	run --separate-stderr -4 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,new=50
	[ "$stderr" = "ofs-split: cannot connect to haproxy runtime socket '127.0.0.1:$ADMIN': Connection refused" ]
	run --separate-stderr -2 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,new=5
	[ "${stderr%%$'\n'*}" = "ofs-split apply: --weights: weights must sum to 100, got 55 (legacy=50,new=5)" ]
	run --separate-stderr -2 split apply --backend split -w legacy=100
	[ "${stderr%%$'\n'*}" = "ofs-split apply: --haproxy is required" ]
}

@test "haproxy --header: a key keeps its variant; several addresses are servers VARIANT:N; salts go in" {
	ngx_conf
	: >"$NGX/split.conf"
	ngx || fail "nginx did not start"
	hap_start -w legacy=80,new=20 -u "legacy=127.0.0.1:$LEG,127.0.0.1:$LEG" -u "new=127.0.0.1:$NEW" \
		--header X-Customer-Id -s exp-3
	run -0 grep -E '^    (balance|hash-type|server) ' "$D/haproxy.cfg"
	assert_output - <<OUT
    balance hash req.hdr(X-Customer-Id),concat(exp-3,,)
    hash-type consistent
    server legacy:1 127.0.0.1:$LEG weight 40
    server legacy:2 127.0.0.1:$LEG weight 40
    server new 127.0.0.1:$NEW weight 20
OUT
	keys 400 >"$D/keys.jsonl"
	ask "$D/keys.jsonl" header >"$D/one"
	ask "$D/keys.jsonl" header >"$D/two"
	cmp "$D/one" "$D/two"
	local new
	new=$(grep -c '^new$' "$D/one")
	((new >= 30 && new <= 130)) || fail "new took $new of 400 at 20 %"
	# apply finds the servers of a variant by their VARIANT:N names
	run -0 split apply --haproxy "127.0.0.1:$ADMIN" --backend split -w legacy=50,new=50
	assert_jq "$(jq -sc 'map([.server, .weight_to])' <<<"$output")" '. == [["new",50],["legacy:1",25],["legacy:2",25]]'
	# raising new only moves keys into it (the weights stay whole percentages:
	# a change of scale, to 256/100, would move keys both ways on the ring)
	ask "$D/keys.jsonl" header >"$D/three"
	[ "$(paste "$D/one" "$D/three" | awk '$1 == "new" && $2 != "new"' | wc -l)" -eq 0 ]
	[ "$(grep -c '^new$' "$D/three")" -gt "$new" ]
	run --separate-stderr -2 split render -f haproxy -w a=100 -u a=h:1 --header X -s 'a b'
	[ "${stderr%%$'\n'*}" = "ofs-split render: --salt: haproxy can hold a salt of letters, digits, '.', '_', '-' and ':' only" ]
}

@test "envoy: JSON with weighted clusters in basis points; with --header one ring-hash cluster" {
	run -0 split render -f envoy -w legacy=87.55,new=12.45,off=0 -u legacy=10.0.0.1:8080,10.0.0.2:8080 \
		-u new=new.internal:9090 -u off=10.0.0.9:1 -l 8000
	local j=$output r='.static_resources.listeners[0].filter_chains[0].filters[0].typed_config'
	assert_jq "$j" "$r.route_config.virtual_hosts[0].routes[0].route.weighted_clusters.clusters | map([.name, .weight]) | @json" \
		'[["split_legacy",8755],["split_new",1245]]'
	assert_jq "$j" '.static_resources.listeners[0].address.socket_address | [.address, .port_value] | @csv' '"0.0.0.0",8000'
	assert_jq "$j" '.static_resources.clusters | map(.name) | @csv' '"split_legacy","split_new","split_off"'
	assert_jq "$j" '.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints | map(.endpoint.address.socket_address | "\(.address):\(.port_value)") | @csv' \
		'"10.0.0.1:8080","10.0.0.2:8080"'
	assert_jq "$j" "$r.http_filters[0].name" envoy.filters.http.router

	run -0 split render -f envoy -w legacy=90,new=10 "${UP[@]}" --header x-customer-id -n shop
	j=$output
	assert_jq "$j" "$r.route_config.virtual_hosts[0].routes[0].route | [.cluster, .hash_policy[0].header.header_name] | @csv" \
		'"shop","x-customer-id"'
	assert_jq "$j" '.static_resources.clusters | map([.name, .lb_policy]) | @json' '[["shop","RING_HASH"]]'
	assert_jq "$j" '.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints | map(.load_balancing_weight) | @csv' \
		'9000,1000'
}

@test "istio: a VirtualService with whole-percentage weights; decimals, --header, several hosts refused" {
	run -0 split render -f istio -w legacy=70,new=30,off=0 -u legacy=legacy.shop.svc:8080 \
		-u new=new.shop.svc:8080 -u off=off:1 -n checkout
	run -0 awk '/^apiVersion:|^kind:|^  name:|host:|number:|weight:/' <<<"$output"
	assert_output - <<'OUT'
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
  name: checkout
        host: legacy.shop.svc
          number: 8080
      weight: 70
        host: new.shop.svc
          number: 8080
      weight: 30
OUT
	run --separate-stderr -2 split render -f istio -w legacy=87.5,new=12.5 "${UP[@]}"
	[ "${stderr%%$'\n'*}" = "ofs-split render: --weights: istio weights are whole percentages, got legacy=87.5" ]
	run --separate-stderr -2 split render -f istio -w legacy=90,new=10 "${UP[@]}" --header x-id
	[[ ${stderr%%$'\n'*} == "ofs-split render: --header: Istio picks a weighted destination afresh for every request"* ]]
	run --separate-stderr -2 split render -f istio -w legacy=90,new=10 -u legacy=a:1,b:1 -u new=c:1
	[ "${stderr%%$'\n'*}" = "ofs-split render: --upstream: an istio destination is one host, 'legacy' has 2" ]
	run --separate-stderr -2 split render -f istio -w legacy=90,new=10 "${UP[@]}" -n Shop_1
	[ "${stderr%%$'\n'*}" = "ofs-split render: --name: istio needs a lowercase name of letters, digits and '-', got 'Shop_1'" ]
}

@test "render: bad weights and upstreams are exit 2 with the exact message, nothing written" {
	local args m
	while IFS='|' read -r args m; do
		# shellcheck disable=SC2086
		run --separate-stderr -2 split render -f nginx $args
		[ -z "$output" ] || fail "output for '$args': $output"
		[ "${stderr%%$'\n'*}" = "ofs-split render: $m" ] || fail "for '$args': $stderr"
	done <<'CASES'
-w legacy=90,new=5 -u legacy=a:1 -u new=b:1|--weights: weights must sum to 100, got 95 (legacy=90,new=5)
-w legacy=110,new=-10 -u legacy=a:1|--weights: weight of 'legacy' must be a percentage 0..100 with at most two decimals, got '110'
-w legacy=99.995,new=0.005 -u legacy=a:1|--weights: weight of 'legacy' must be a percentage 0..100 with at most two decimals, got '99.995'
-w legacy=90,new=10 -u legacy=a:1 -u x=b:1|--upstream: unknown variant 'x' (weights name legacy, new)
-w legacy=90,new=10 -u legacy=a:1|--upstream: no addresses for variant 'new'
-w legacy=90,new=10 -u legacy=a:1 -u legacy=b:1|--upstream: variant 'legacy' is given twice
-w legacy=90,new=10 -u legacy=a -u new=b:1|--upstream: invalid address 'a' for 'legacy': expected HOST:PORT or [IPV6]:PORT
-w legacy=90,new=10 -u legacy=a:70000 -u new=b:1|--upstream: invalid address 'a:70000' for 'legacy': expected HOST:PORT or [IPV6]:PORT
-w legacy=90,new=10 -u legacy=::1:80 -u new=b:1|--upstream: invalid address '::1:80' for 'legacy': expected HOST:PORT or [IPV6]:PORT
-w legacy=90,new=10 -u legacy=a;b:1 -u new=b:1|--upstream: invalid address 'a;b:1' for 'legacy': expected HOST:PORT or [IPV6]:PORT
-u legacy=a:1|--weights is required
CASES
	run --separate-stderr -2 split render -f apache -w a=100 -u a=h:1
	[ "${stderr%%$'\n'*}" = "ofs-split render: --format: unknown format 'apache' (nginx, haproxy, envoy, istio)" ]
	run --separate-stderr -2 split render -w a=100 -u a=h:1
	[ "${stderr%%$'\n'*}" = "ofs-split render: --format is required" ]
	run --separate-stderr -2 split render -f nginx -w a=100 -u a=h:1 -l 0
	[ "${stderr%%$'\n'*}" = "ofs-split render: --listen: expected PORT or ADDRESS:PORT, got '0'" ]
	run --separate-stderr -4 bash -c "'$OFS_BIN/ofs-split' render -f nginx -w a=100 -u a=h:1 >/dev/full"
	[ "$stderr" = "ofs-split: write error on standard output: No space left on device" ]
}
