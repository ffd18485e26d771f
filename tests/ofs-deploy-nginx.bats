#!/usr/bin/env bats
# ofs-deploy's nginx driver against a real nginx on loopback: the
# upstream rendered with weights, checked with `nginx -t`, reloaded, and
# the traffic split observed; a spec nginx refuses changes nothing.

load helpers
load deploy

setup() {
	deploy_setup
	NGX=$BATS_TEST_TMPDIR/nginx
	NGX_PORT=$(free_port)
	mkdir -p "$NGX/tmp"
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
	include $NGX/upstream.conf;
	server {
		listen 127.0.0.1:$NGX_PORT;
		location / { proxy_pass http://inventory; }
	}
}
CONF
	printf 'upstream inventory {\n\tserver 127.0.0.1:9 down;\n}\n' >"$NGX/upstream.conf"
	nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" || fail "nginx did not start"
	PORTS="$((NGX_PORT + 1000))-$((NGX_PORT + 1020))"
}

teardown() {
	deploy_teardown
}

deploy() { "$OFS_BIN/ofs-deploy" "$@"; }

# nginx_spec FILE VERSION STRATEGY: inventory behind the test's nginx.
nginx_spec() {
	local n="\"nginx\", \"-p\", \"$NGX\", \"-c\", \"$NGX/nginx.conf\", \"-e\", \"$NGX/error.log\""
	cat >"$1" <<JSON
{"service": "inventory", "version": "$2", "replicas": 4,
 "instances": {"driver": "process",
   "start": "exec \"\$SHOPD\" serve --dir \"\$SHOP_DIR\" --service inventory --port \"\$OFS_PORT\" --version \"\$OFS_VERSION\"",
   "ports": "$PORTS"},
 "traffic": {"driver": "nginx", "file": "$NGX/upstream.conf", "upstream": "inventory",
   "test": [$n, "-t"], "reload": [$n, "-s", "reload"], "pidFile": "$NGX/nginx.pid"},
 "strategy": ${3:-{\"kind\": \"rolling\"\}}}
JSON
}

# split N: N requests through nginx; "VERSION COUNT" lines.
split() {
	local i
	for ((i = 0; i < $1; i++)); do
		curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$NGX_PORT/stock" |
			awk 'NR == 1 && $2 !~ /^2/ { print "failed" } tolower($1) == "shop-version:" { print $2 }' |
			tr -d '\r'
	done | sort | uniq -c | awk '{ print $2, $1 }'
}

@test "nginx: a weighted upstream rendered, checked, reloaded; traffic follows the split" {
	nginx_spec "$BATS_TEST_TMPDIR/v1.json" v1
	run --separate-stderr deploy run -q "$BATS_TEST_TMPDIR/v1.json"
	assert_success
	run split 8
	assert_output "v1 8"
	nginx_spec "$BATS_TEST_TMPDIR/v2.json" v2 '{"kind": "canary", "steps": [{"setWeight": 25}, {"pause": {}}]}'
	bg "$BATS_TEST_TMPDIR/run.out" "$OFS_BIN/ofs-deploy" run "$BATS_TEST_TMPDIR/v2.json"
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.phase == "paused"' 20
	# one canary at weight 4 beside four stable instances at 3: 4 / 16 = 25 %
	run grep -c 'weight=4;' "$NGX/upstream.conf"
	assert_output 1
	run grep -c 'weight=3;' "$NGX/upstream.conf"
	assert_output 4
	run split 400
	local v2
	v2=$(awk '$1 == "v2" { print $2 }' <<<"$output")
	! grep -q failed <<<"$output"
	[ "$v2" -ge 72 ] && [ "$v2" -le 128 ] || fail "v2 got $v2 of 400: $output"
	run deploy promote inventory
	assert_success
	wait_for_record "$BATS_TEST_TMPDIR/run.out" '.type == "deploy.done"' 20
	run split 8
	assert_output "v2 8"
	[ "$(grep -c 'server ' "$NGX/upstream.conf")" -eq 4 ]
}

@test "nginx: a rendering nginx -t refuses is put back and nothing is reloaded" {
	nginx_spec "$BATS_TEST_TMPDIR/v1.json" v1
	jq --arg f "$NGX/upstream.conf" '.traffic.upstream = "other"' "$BATS_TEST_TMPDIR/v1.json" \
		>"$BATS_TEST_TMPDIR/bad.json"
	cp "$NGX/upstream.conf" "$BATS_TEST_TMPDIR/before.conf"
	run --separate-stderr deploy run "$BATS_TEST_TMPDIR/bad.json"
	assert_failure 4
	assert_stderr "host not found in upstream \"inventory\""
	cmp "$NGX/upstream.conf" "$BATS_TEST_TMPDIR/before.conf"
}
