#!/usr/bin/env bats
# tests/ofs-replay-capture.bats: ofs-replay's capture side: `record`, the
# recording reverse proxy, in front of the example shop; `import` of
# GoReplay files (written here in the real format: all three record
# types, out of order, old 3-field headers, 24- and 40-hex ids), HAR
# files and nginx JSON access logs; masking rules, with every hash
# checked against sha256sum; and the hostile inputs every binary is
# tested with (empty input, a malformed line, a 10 MB line, binary
# garbage, a missing file, a full disk, SIGTERM mid-run). The man page
# examples of both commands are run as they are printed.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-replay.1

EX=$OFS_TOP/examples/replay/capture
MONKEYS=$'\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89'

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_bg
	shop_stop
}

replay() {
	"$OFS_BIN/ofs-replay" "$@"
}

# gor TYPE ID TS [LATENCY]: a GoReplay record whose HTTP message is
# stdin (with CRLF line ends, as on the wire), then the separator.
gor() {
	printf '%s\n' "$*"
	sed 's/$/\r/' | head -c -1
	printf '\n%s\n' "$MONKEYS"
}

# gor_raw TYPE ID TS [LATENCY]: the same with stdin as it is (no CRLF).
gor_raw() {
	printf '%s\n' "$*"
	cat
	printf '\n%s\n' "$MONKEYS"
}

# gor_gets FROM TO: GoReplay requests GET /n/I, ids b + I in hex, one
# awk process for all (5 lines each).
gor_gets() {
	awk -v from="$1" -v to="$2" -v m="$MONKEYS" 'BEGIN {
		for (i = from; i <= to; i++)
			printf "1 b%023x %d 0\nGET /n/%d HTTP/1.1\n\n\n%s\n", i, 1795314661000000000 + i, i, m
	}'
}

# start_record ARGS...: `ofs-replay record --listen 127.0.0.1:0 ARGS`,
# stdout to rec.jsonl; sets PROXY to its base URL once it listens.
start_record() {
	bg rec.jsonl "$OFS_BIN/ofs-replay" record --listen 127.0.0.1:0 "$@"
	local i port=
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/^ofs-replay: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' rec.jsonl.err)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || fail "record did not listen: $(cat rec.jsonl.err)"
	PROXY=http://127.0.0.1:$port
}

# The fields that change from run to run: ts, latency, ids, the
# upstream's Date and traceresponse.
STABLE='del(.ts, .latency_ms, .id, .response.headers.date, .response.headers.traceresponse)'

# ---- record ---------------------------------------------------------------

@test "record: exchanges through the proxy from the shop are exact records, clients see the upstream's answer" {
	shop_start inventory-1
	start_record --upstream "$(shop_url inventory-1)"
	curl -sS -D get.h -o get.body -A test/1 "$PROXY/stock"
	curl -sS -D post.h -o post.body -A test/1 -H 'Content-Type: application/json' \
		-d '{"sku":"mug","qty":2}' "$PROXY/reserve?trace=no"
	curl -sS -o /dev/null -A test/1 -X DELETE "$PROXY/nowhere"
	wait_for_record rec.jsonl '.request.method == "DELETE"'
	# What the client got is what the shop answered (same body, same
	# status line, the shop's own headers).
	direct=$(curl -sS "$(shop_url inventory-1)/stock")
	run -0 cat get.body
	[ "$(head -1 get.h | tr -d '\r')" = "HTTP/1.1 200 OK" ]
	grep -qi '^shop-version: v1' get.h
	grep -qi '^content-type: application/json' post.h
	[ "$(jq -c '.items[0].sku' get.body)" = '"book"' ]
	[ "$(jq -c '[.items[] | .sku]' <<<"$direct")" = "$(jq -c '[.items[] | .sku]' get.body)" ]
	run -0 jq -c "$STABLE" rec.jsonl
	host=${PROXY#http://}
	get_body=$(jq -Rs . get.body)
	len=$(wc -c <get.body)
	assert_line -n 0 "{\"type\":\"replay.exchange\",\"source\":\"record\",\"request\":{\"method\":\"GET\",\"path\":\"/stock\",\"headers\":{\"host\":\"$host\",\"user-agent\":\"test/1\",\"accept\":\"*/*\"}},\"response\":{\"status\":200,\"headers\":{\"content-type\":\"application/json\",\"shop-version\":\"v1\",\"content-length\":\"$len\"},\"body\":$get_body}}"
	post_body=$(jq -Rs . post.body)
	len=$(wc -c <post.body)
	assert_line -n 1 "{\"type\":\"replay.exchange\",\"source\":\"record\",\"request\":{\"method\":\"POST\",\"path\":\"/reserve?trace=no\",\"headers\":{\"host\":\"$host\",\"user-agent\":\"test/1\",\"accept\":\"*/*\",\"content-type\":\"application/json\",\"content-length\":\"21\"},\"body\":\"{\\\"sku\\\":\\\"mug\\\",\\\"qty\\\":2}\"},\"response\":{\"status\":200,\"headers\":{\"content-type\":\"application/json\",\"shop-version\":\"v1\",\"content-length\":\"$len\"},\"body\":$post_body}}"
	assert_line -n 2 "{\"type\":\"replay.exchange\",\"source\":\"record\",\"request\":{\"method\":\"DELETE\",\"path\":\"/nowhere\",\"headers\":{\"host\":\"$host\",\"user-agent\":\"test/1\",\"accept\":\"*/*\"}},\"response\":{\"status\":404,\"headers\":{\"content-type\":\"application/json\",\"shop-version\":\"v1\",\"content-length\":\"29\"},\"body\":\"{\\\"error\\\":\\\"no such endpoint\\\"}\\n\"}}"
	[ "${#lines[@]}" -eq 3 ]
	# The reservation really happened once, through the proxy.
	[ "$(jq -r '.available' post.body)" = "$(jq -r '.items[] | select(.sku == "mug") | .available' <<<"$direct")" ]
	# ids: a run prefix and a sequence; ts and latency present.
	run -0 jq -r '.id' rec.jsonl
	[[ ${lines[0]} =~ ^[0-9a-f]{8}-1$ ]] && [[ ${lines[2]} =~ ^[0-9a-f]{8}-3$ ]]
	run -0 jq -r '(.ts | test("^20[0-9-]{8}T[0-9:]{8}\\.[0-9]{6}Z$")) and .latency_ms >= 0' rec.jsonl
	assert_output $'true\ntrue\ntrue'
}

@test "record: hop-by-hop headers are not forwarded nor recorded, the upstream gets its own Host, its hop-by-hop headers are not passed back" {
	# A fake upstream (perl, one connection at a time) that answers with
	# hop-by-hop fields and says which request fields reached it.
	port=$(free_port)
	bg up.out perl -MIO::Socket::INET -e '
		my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
			Listen => 5, ReuseAddr => 1) or die "listen: $!";
		while (my $c = $l->accept) {
			my (@seen, $host);
			<$c>; # the request line
			while (my $line = <$c>) {
				$line =~ s/\r?\n$//;
				last if $line eq "";
				my ($n, $v) = split /:\s*/, $line, 2;
				push @seen, lc $n;
				$host = $v if lc $n eq "host";
			}
			my $body = join(",", sort grep { $_ !~ /^(host|accept|user-agent)$/ } @seen) . ";$host";
			print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nKeep-Alive: timeout=5\r\n",
				"Connection: close, X-Secret\r\nX-Secret: 1\r\nX-Kept: 2\r\n",
				"Content-Length: ", length($body), "\r\n\r\n", $body;
			close $c;
		}' "$port"
	for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
	start_record --upstream "http://127.0.0.1:$port/"
	run -0 curl -sS -D h -A a -H 'Connection: keep-alive, X-Drop' -H 'X-Drop: 1' -H 'Keep-Alive: 3' \
		-H 'TE: trailers' -H 'X-Pass: 1' "$PROXY/x"
	# Only the end-to-end field reached the upstream, with its own host.
	assert_output "x-pass;127.0.0.1:$port"
	grep -qi '^x-kept: 2' h
	! grep -qi '^x-secret' h
	! grep -qi '^keep-alive' h
	wait_for_record rec.jsonl '.request.path == "/x"'
	run -0 jq -c '[.request.headers, (.response.headers | keys)]' rec.jsonl
	assert_output '[{"host":"'"${PROXY#http://}"'","user-agent":"a","accept":"*/*","x-pass":"1"},["content-length","content-type","x-kept"]]'
}

@test "record: an upstream that does not answer gets 502 and a record with an error and no response" {
	port=$(free_port)
	start_record --upstream "http://127.0.0.1:$port"
	run -0 curl -sS -o body -w '%{http_code}' "$PROXY/stock"
	assert_output 502
	grep -q '^ofs-replay: upstream: ' body
	wait_for_record rec.jsonl '.request.path == "/stock"'
	run -0 jq -c '[has("response"), (.error | type), .request.method]' rec.jsonl
	assert_output '[false,"string","GET"]'
}

@test "record: -o FILE.gz, SIGTERM ends it with exit 143 and a complete gzip file" {
	shop_start inventory-1
	start_record --upstream "$(shop_url inventory-1)" -o cap.jsonl.gz
	curl -sS -o /dev/null "$PROXY/stock"
	curl -sS -o /dev/null "$PROXY/health"
	kill -TERM "$BG_PID"
	status=0
	wait "$BG_PID" || status=$?
	[ "$status" -eq 143 ]
	gzip -t cap.jsonl.gz
	run -0 sh -c 'zcat cap.jsonl.gz | jq -r ".request.path"'
	assert_output $'/stock\n/health'
	[ ! -s rec.jsonl ]
}

@test "record: SIGINT also ends it, exit 130" {
	port=$(free_port)
	start_record --upstream "http://127.0.0.1:$port"
	kill -INT "$BG_PID"
	status=0
	wait "$BG_PID" || status=$?
	[ "$status" -eq 130 ]
}

@test "record: masks remove and hash headers and JSON fields; hashes match sha256sum" {
	shop_start inventory-1
	OFS_REPLAY_SALT=pepper start_record --upstream "$(shop_url inventory-1)" \
		--mask header:cookie --mask hash-header:authorization --mask hash-json:/sku \
		--mask json:/qty
	run -0 curl -sS -H 'Authorization: Bearer t0k' -H 'Cookie: s=1' -H 'Content-Type: application/json' \
		-d '{"sku":"mug","qty":1}' "$PROXY/reserve"
	# The upstream saw the real request.
	assert_jq "$output" '.sku + " " + (.qty | tostring)' 'mug 1'
	wait_for_record rec.jsonl '.request.path == "/reserve"'
	h_auth=sha256:$(printf %s 'pepperBearer t0k' | sha256sum | cut -d' ' -f1)
	h_sku=sha256:$(printf %s 'peppermug' | sha256sum | cut -d' ' -f1)
	rec=$(cat rec.jsonl)
	assert_jq "$rec" '.request.headers.authorization' "$h_auth"
	assert_jq "$rec" '.request.headers | has("cookie") | not'
	assert_jq "$rec" '.request.body' "{\"sku\":\"$h_sku\"}"
	assert_jq "$rec" '.response.body | fromjson | [.sku, has("qty")] | @json' "[\"$h_sku\",false]"
}

@test "record: a malformed request gets 400 and no record; a 10 MB body is recorded whole; --max-body bounds it" {
	shop_start inventory-1
	start_record --upstream "$(shop_url inventory-1)"
	port=${PROXY##*:}
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /a b c\r\n\r\n' >&5
	run -0 head -1 <&5
	exec 5<&-
	assert_output $'HTTP/1.1 400 Bad Request\r'
	head -c 10000000 /dev/zero | tr '\0' a >big.body
	run -0 curl -sS -o /dev/null -w '%{http_code}' --data-binary @big.body "$PROXY/reserve"
	# The shop takes at most 1 MiB; its answer comes back and is recorded.
	assert_output 413
	wait_for_record rec.jsonl '.request.path == "/reserve"'
	run -0 jq -c '[.request.path, (.request.body | length), .response.status]' rec.jsonl
	assert_output '["/reserve",10000000,413]'
	stop_bg
	start_record --upstream "$(shop_url inventory-1)" --max-body 100
	run -0 curl -sS -o /dev/null -w '%{http_code}' --data-binary @big.body "$PROXY/reserve"
	assert_output 413
	run -0 curl -sS -o /dev/null -w '%{http_code}' "$PROXY/stock"
	assert_output 502
	wait_for_record rec.jsonl '.request.path == "/stock"'
	run -0 jq -c '[.request.path, .error]' rec.jsonl
	assert_output '["/stock","response body larger than 100 bytes"]'
}

@test "record: a full disk is exit 4 at the first record" {
	port=$(free_port)
	bg out "$OFS_BIN/ofs-replay" record --listen "127.0.0.1:$port" --upstream http://127.0.0.1:1 -o /dev/full
	for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
	curl -s -o /dev/null "http://127.0.0.1:$port/x" || true
	status=0
	wait "$BG_PID" || status=$?
	[ "$status" -eq 4 ]
	grep -q "^ofs-replay: write error on '/dev/full': No space left on device$" out.err
}

@test "record: usage errors exit 2 and name the problem" {
	run -2 replay record --upstream http://127.0.0.1:1
	assert_output --partial 'ofs-replay record: --listen is required'
	run -2 replay record --listen 127.0.0.1:0
	assert_output --partial 'ofs-replay record: --upstream is required'
	run -2 replay record --listen 127.0.0.1:0 --upstream ftp://x
	assert_output --partial "--upstream 'ftp://x': expected an http:// or https:// URL"
	run -2 replay record --listen nowhere --upstream http://x
	assert_output "ofs-replay: --listen 'nowhere': expected host:port"
	run -2 replay record --listen 127.0.0.1:0 --upstream http://x --mask body:x
	assert_output "ofs-replay: --mask 'body:x': unknown kind 'body': use header, hash-header, json or hash-json"
	run -2 replay record --listen 127.0.0.1:0 --upstream http://x --mask json:email
	assert_output "ofs-replay: --mask 'json:email': a JSON selector starts with '/' (pointer) or '\$' (JSONPath)"
	run -2 replay record --listen 127.0.0.1:0 --upstream http://x --mask 'hash-json:$.a['
	assert_output --partial "ofs-replay: --mask 'hash-json:\$.a[': invalid JSONPath: column"
}

@test "record: a port in use is a system error, exit 4" {
	shop_start inventory-1
	url=$(shop_url inventory-1)
	run -4 timeout 10 "$OFS_BIN/ofs-replay" record --listen "${url#http://}" --upstream "$url"
	assert_output "ofs-replay: cannot listen on '${url#http://}': Address already in use"
}

# ---- import: GoReplay -------------------------------------------------------

@test "import goreplay: three record types out of order, 3-field header, 24- and 40-hex ids" {
	{
		gor 2 a1b2c3d4e5f6a7b8c9d0e1f2 1795314660003200000 3200000 <<'EOF'
HTTP/1.1 201 Created
Content-Type: application/json
Content-Length: 13

{"order":"1"}
EOF
		gor 3 a1b2c3d4e5f6a7b8c9d0e1f2 1795314670000000000 2000000 <<'EOF'
HTTP/1.1 500 Internal Server Error
Content-Type: text/plain
Transfer-Encoding: chunked

4
oops
0

EOF
		gor 1 0123456789abcdef0123456789abcdef01234567 1795314661000000000 <<'EOF'
GET http://shop.example/stock?sku=book HTTP/1.1
Accept: */*
Accept: text/plain

EOF
		gor 1 A1B2C3D4E5F6A7B8C9D0E1F2 1795314660000000000 0 <<'EOF'
POST /orders?x=1 HTTP/1.1
Host: shop.example
Content-Type: application/json
Content-Length: 11

{"sku":"A"}
EOF
	} >cap.gor
	run -0 --separate-stderr replay import cap.gor
	assert_equal "$stderr" ""
	assert_line -n 0 '{"type":"replay.exchange","ts":"2026-11-22T02:31:00.000000Z","id":"a1b2c3d4e5f6a7b8c9d0e1f2","source":"goreplay","request":{"method":"POST","path":"/orders?x=1","headers":{"host":"shop.example","content-type":"application/json","content-length":"11"},"body":"{\"sku\":\"A\"}"},"response":{"status":201,"headers":{"content-type":"application/json","content-length":"13"},"body":"{\"order\":\"1\"}"},"replayed":{"status":500,"headers":{"content-type":"text/plain"},"body":"oops"},"latency_ms":3.2}'
	assert_line -n 1 '{"type":"replay.exchange","ts":"2026-11-22T02:31:01.000000Z","id":"0123456789abcdef0123456789abcdef01234567","source":"goreplay","request":{"method":"GET","path":"/stock?sku=book","headers":{"accept":"*/*, text/plain","host":"shop.example"}}}'
	[ "${#lines[@]}" -eq 2 ]
	# -f goreplay and stdin give the same; so does a gzip file.
	run -0 replay import -f goreplay - <cap.gor
	[ "$output" = "$(replay import cap.gor)" ]
	gzip -k cap.gor
	run -0 replay import cap.gor.gz
	[ "$output" = "$(replay import cap.gor)" ]
}

@test "import goreplay: a request alone for 100 records is written without response; a lone response is rejected" {
	{
		printf '' | gor 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
		gor_gets 1 100
		printf 'HTTP/1.1 200 OK\nContent-Length: 0\n\n' | gor_raw 2 aaaaaaaaaaaaaaaaaaaaaaaa 1795314662000000000 1000
	} >late.gor
	# (the empty first message is rejected too)
	run -3 --separate-stderr replay import late.gor
	assert_equal "$stderr" "ofs-replay: late.gor:1: no HTTP message after the header line
ofs-replay: late.gor:$((4 + 100 * 5)): response with no request within 100 records (id aaaaaaaaaaaaaaaaaaaaaaaa)"
	[ "${#lines[@]}" -eq 100 ]
	{
		printf 'GET /first HTTP/1.1\n\n' | gor_raw 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
		gor_gets 1 100
		printf 'HTTP/1.1 200 OK\nContent-Length: 0\n\n' | gor_raw 2 aaaaaaaaaaaaaaaaaaaaaaaa 1795314662000000000 1000
	} >late2.gor
	run -3 --separate-stderr replay import late2.gor
	assert_line -n 0 --regexp '"path":"/first","headers":\{\}\}\}$'
	assert_equal "$stderr" "ofs-replay: late2.gor:$((6 + 100 * 5)): response with no request within 100 records (id aaaaaaaaaaaaaaaaaaaaaaaa)"
	# Within the window, the response finds its request.
	{
		printf 'GET /first HTTP/1.1\n\n' | gor_raw 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
		gor_gets 1 98
		printf 'HTTP/1.1 204 No Content\n\n' | gor_raw 2 aaaaaaaaaaaaaaaaaaaaaaaa 1795314662000000000 1000
	} >near.gor
	run -0 replay import near.gor
	assert_jq "${lines[0]}" '[.request.path, .response.status, .latency_ms] | @json' '["/first",204,0.001]'
}

@test "import goreplay: a malformed record is reported at its first line, exit 3, the good ones kept" {
	{
		printf 'GET /a HTTP/1.1\n\n' | gor_raw 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
		printf 'GET /b HTTP/1.1\n\n' | gor_raw 4 bbbbbbbbbbbbbbbbbbbbbbbb 1795314660000000000 0
		printf 'GET /c HTTP/1.1\n\n' | gor_raw 1 not-hex 1795314660000000000 0
		printf 'GET /d HTTP/1.1\nno colon here\n\n' | gor_raw 1 dddddddddddddddddddddddd 1795314660000000000 0
		printf 'HTTP/1.1 2OO OK\n\n' | gor_raw 2 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
		printf 'GET /e HTTP/1.1\n\n' | gor_raw 1 eeeeeeeeeeeeeeeeeeeeeeee 1795314660000000000 0
	} >bad.gor
	run -3 --separate-stderr replay import bad.gor
	assert_equal "$stderr" "ofs-replay: bad.gor:6: bad header line: expected TYPE ID TIMESTAMP [LATENCY] with TYPE 1, 2 or 3
ofs-replay: bad.gor:11: bad id: expected hex digits
ofs-replay: bad.gor:16: bad header field: expected NAME: VALUE
ofs-replay: bad.gor:22: bad status line: expected a three-digit status"
	run -0 jq -r '.request.path' <<<"$output"
	assert_output $'/a\n/e'
	# --strict stops at the first.
	run -3 --separate-stderr replay import --strict bad.gor
	assert_equal "$stderr" "ofs-replay: bad.gor:6: bad header line: expected TYPE ID TIMESTAMP [LATENCY] with TYPE 1, 2 or 3"
}

# ---- import: HAR and nginx ----------------------------------------------------

@test "import har: entries become exchanges; bad entries are named by JSON pointer" {
	run -0 --separate-stderr replay import "$EX/orders.har"
	assert_equal "$stderr" ""
	assert_line -n 0 '{"type":"replay.exchange","ts":"2026-11-22T02:31:00.250000Z","id":"har-0","source":"har","request":{"method":"POST","path":"/orders","headers":{"content-type":"application/json","cookie":"session=abc","host":"shop.example"},"body":"{\"sku\":\"mug\",\"card\":{\"number\":\"4111111111111111\"}}"},"response":{"status":201,"headers":{"content-type":"application/json","set-cookie":"seen=1, cart=0"},"body":"{\"order_id\":\"o-19\"}"},"latency_ms":38.5}'
	assert_line -n 1 '{"type":"replay.exchange","ts":"2026-11-22T02:31:01.000000Z","id":"har-1","source":"har","request":{"method":"GET","path":"/logo.png","headers":{"host":"shop.example"}},"response":{"status":200,"headers":{"content-type":"image/png"},"body_base64":"iVBORw=="},"latency_ms":5}'
	[ "${#lines[@]}" -eq 2 ]
	jq '.log.entries += [{"startedDateTime":"2026-11-22T02:32:00Z","time":-1,
		"request":{"method":"PUT","url":"http://h:8080/a%20b?q#frag","headers":[{"name":"Host","value":"x"}],
		"postData":{"text":"AAE=","encoding":"base64"}},"response":{"status":0}},
		{"startedDateTime":"2026-11-22T02:32:00Z","request":{"method":"GET","url":"ftp://x/"}},
		{"startedDateTime":"2026-11-22T02:32:00Z","request":{"method":"GET","url":"http://x/"},
		 "response":{"status":"200"}}, 7]' "$EX/orders.har" >more.har
	run -3 --separate-stderr replay import more.har
	assert_line -n 2 '{"type":"replay.exchange","ts":"2026-11-22T02:32:00.000000Z","id":"har-2","source":"har","request":{"method":"PUT","path":"/a%20b?q","headers":{"host":"x"},"body_base64":"AAE="}}'
	[ "${#lines[@]}" -eq 3 ]
	assert_equal "$stderr" "ofs-replay: more.har: /log/entries/3/request/url: must be an http or https URL
ofs-replay: more.har: /log/entries/4/response/status: must be a number 0..999
ofs-replay: more.har: /log/entries/5: must be an object"
	# Not JSON at all: the line of the error.
	printf '{\n  "log": {\n    "entries": [,]\n  }\n}\n' >broken.har
	run -3 --separate-stderr replay import -f har broken.har
	assert_equal "$stderr" "ofs-replay: broken.har:3: not a HAR file: invalid JSON"
	assert_equal "$output" ""
}

@test "import nginx: JSON access log lines become exchanges with status and bytes" {
	run -0 --separate-stderr replay import "$EX/access.log"
	assert_equal "$stderr" ""
	assert_line -n 0 '{"type":"replay.exchange","ts":"2026-11-22T02:30:59.996000Z","id":"7f1c2a","source":"nginx","request":{"method":"GET","path":"/stock?sku=book","headers":{"host":"shop.example","authorization":"Bearer tok-123"}},"response":{"status":200,"bytes":118},"latency_ms":4}'
	assert_line -n 1 '{"type":"replay.exchange","ts":"2026-11-22T02:31:00.750000Z","id":"7f1c2b","source":"nginx","request":{"method":"POST","path":"/orders","headers":{"host":"shop.example","content-type":"application/json"}},"response":{"status":502,"bytes":64},"latency_ms":1250}'
	cat >more.log <<'EOF'
{"msec":1795314661.5,"request":"POST /orders HTTP/1.1","status":201,"body_bytes_sent":0,"host":"shop.example","http_x_empty":"","http_user_agent":"-","request_body":"{\"sku\":\"B\"}"}
not json
["an array"]
{"time_iso8601":"2026-11-22T02:31:00+00:00","request_method":"GET","request_uri":"/x"}
{"time_iso8601":"yesterday","request_method":"GET","request_uri":"/x","status":"200"}
{"time_iso8601":"2026-11-22T02:31:00Z","request_method":"GET","request_uri":"/y","status":"200"}
EOF
	run -3 --separate-stderr replay import -f nginx more.log
	assert_line -n 0 '{"type":"replay.exchange","ts":"2026-11-22T02:31:01.500000Z","id":"nginx-1","source":"nginx","request":{"method":"POST","path":"/orders","headers":{"host":"shop.example"},"body":"{\"sku\":\"B\"}"},"response":{"status":201,"bytes":0}}'
	assert_line -n 1 '{"type":"replay.exchange","ts":"2026-11-22T02:31:00.000000Z","id":"nginx-6","source":"nginx","request":{"method":"GET","path":"/y","headers":{}},"response":{"status":200,"bytes":0}}'
	[ "${#lines[@]}" -eq 2 ]
	assert_equal "$stderr" 'ofs-replay: more.log:2: invalid JSON
ofs-replay: more.log:3: not a JSON object
ofs-replay: more.log:4: missing or bad "status"
ofs-replay: more.log:5: bad "time_iso8601"'
}

@test "import: the format is guessed per file; -f with an unknown name is a usage error" {
	run -0 replay import "$EX/access.log" "$EX/orders.gor" "$EX/orders.har"
	run -0 jq -r .source <<<"$output"
	assert_output $'nginx\nnginx\ngoreplay\ngoreplay\nhar\nhar'
	# A HAR on one line is still HAR.
	jq -c . "$EX/orders.har" >one.har
	run -0 replay import one.har
	[ "$output" = "$(replay import "$EX/orders.har")" ]
	run -2 replay import -f pcap x
	assert_output --partial "ofs-replay import: unknown format 'pcap': use goreplay, har or nginx"
}

# ---- masking ------------------------------------------------------------------

@test "masks: headers and JSON fields by pointer and JSONPath, hashes equal sha256sum of salt and value" {
	run -0 replay import --mask-salt s3cret --mask hash-header:authorization --mask header:content-length \
		--mask json:/email --mask 'hash-json:$..order_id' "$EX/orders.gor"
	auth=sha256:$(printf %s 's3cretBearer tok-123' | sha256sum | cut -d' ' -f1)
	o17=sha256:$(printf %s 's3creto-17' | sha256sum | cut -d' ' -f1)
	o18=sha256:$(printf %s 's3creto-18' | sha256sum | cut -d' ' -f1)
	assert_line -n 0 '{"type":"replay.exchange","ts":"2026-11-22T02:31:00.000000Z","id":"5f3a9c0e1b2d4f6a8c0e1b2d","source":"goreplay","request":{"method":"POST","path":"/orders","headers":{"host":"shop.example","content-type":"application/json","authorization":"'"$auth"'"},"body":"{\"sku\":\"book\",\"qty\":1}"},"response":{"status":201,"headers":{"content-type":"application/json"},"body":"{\"order_id\":\"'"$o17"'\",\"status\":\"paid\"}"},"replayed":{"status":201,"headers":{"content-type":"application/json"},"body":"{\"order_id\":\"'"$o18"'\",\"status\":\"paid\"}"},"latency_ms":4.1}'
	# The salt from the environment; a non-string value hashes its JSON
	# text; array elements by pointer; "~1" in a pointer is "/".
	printf '{"time_iso8601":"2026-11-22T02:31:00Z","request_method":"POST","request_uri":"/p","status":"200","request_body":"{\\"card\\":{\\"number\\":4111,\\"a/b\\":1},\\"items\\":[{\\"n\\":1},{\\"n\\":2}]}","http_cookie":"c=1"}\n' >m.log
	run -0 env OFS_REPLAY_SALT=pep "$OFS_BIN/ofs-replay" import --mask hash-json:/card/number \
		--mask 'json:/card/a~1b' --mask json:/items/1 --mask hash-header:cookie m.log
	num=sha256:$(printf %s 'pep4111' | sha256sum | cut -d' ' -f1)
	cookie=sha256:$(printf %s 'pepc=1' | sha256sum | cut -d' ' -f1)
	assert_jq "$output" '.request.body' '{"card":{"number":"'"$num"'"},"items":[{"n":1}]}'
	assert_jq "$output" '.request.headers.cookie' "$cookie"
	# --mask-salt wins over the environment; no salt at all hashes the bare value.
	run -0 env OFS_REPLAY_SALT=pep "$OFS_BIN/ofs-replay" import --mask-salt '' --mask hash-header:cookie m.log
	assert_jq "$output" '.request.headers.cookie' "sha256:$(printf %s 'c=1' | sha256sum | cut -d' ' -f1)"
	run -0 env -u OFS_REPLAY_SALT "$OFS_BIN/ofs-replay" import --mask hash-header:cookie m.log
	assert_jq "$output" '.request.headers.cookie' "sha256:$(printf %s 'c=1' | sha256sum | cut -d' ' -f1)"
	# A selector that matches nothing leaves the body's bytes alone.
	run -0 replay import --mask json:/nothing m.log
	assert_jq "$output" '.request.body' '{"card":{"number":4111,"a/b":1},"items":[{"n":1},{"n":2}]}'
}

# ---- hostile input ---------------------------------------------------------------

@test "import: empty input writes nothing, exit 0" {
	: >empty
	run -0 --separate-stderr replay import empty
	assert_equal "$output$stderr" ""
	printf '\n\n \n' >blank
	run -0 --separate-stderr replay import blank
	assert_equal "$output$stderr" ""
	run -0 --separate-stderr replay import </dev/null
	assert_equal "$output$stderr" ""
	for f in goreplay har nginx; do
		run -0 --separate-stderr replay import -f "$f" empty
		assert_equal "$output$stderr" ""
	done
}

@test "import: binary garbage is rejected at line 1, exit 3" {
	head -c 4096 /dev/urandom | tr -d '{' | sed '1s/^/\x01/' >garbage
	run -3 --separate-stderr replay import garbage
	assert_equal "$stderr" "ofs-replay: garbage:1: not a GoReplay, HAR or nginx JSON log file (use -f)"
	assert_equal "$output" ""
	# Forced formats reject it in their own words, and go on.
	run -3 replay import -f goreplay garbage
	run -3 replay import -f nginx garbage
	run -3 replay import -f har garbage
}

@test "import: a 10 MB line is read whole; a malformed line among good ones is reported, the rest kept" {
	a10m() { head -c 10000000 /dev/zero | tr '\0' a; }
	{
		head -1 "$EX/access.log"
		printf '{"time_iso8601":"2026-11-22T02:31:00Z","request_method":"POST","request_uri":"/big","status":"200","request_body":"'
		a10m
		printf '"}\n'
		printf '{"time_iso8601":"2026-11-22T02:31:00Z","request_method":"POST","request_uri":"/big","status":"200","request_body":"'
		a10m
		printf '\n'
		tail -1 "$EX/access.log"
	} >big.log
	run -3 --separate-stderr sh -c '"$OFS_BIN/ofs-replay" import big.log >big.out'
	assert_equal "$stderr" "ofs-replay: big.log:3: invalid JSON"
	run -0 jq -r '[.request.path, (.request.body // "" | length)] | @tsv' big.out
	assert_output $'/stock?sku=book\t0\n/big\t10000000\n/orders\t0'
	# The same size inside a GoReplay record.
	{
		{ printf 'POST /big HTTP/1.1\nContent-Length: 10000000\n\n'; a10m; } |
			gor_raw 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0
	} >big.gor
	run -0 sh -c '"$OFS_BIN/ofs-replay" import big.gor | jq ".request.body | length"'
	assert_output 10000000
	# A first line longer than what is looked at to guess is still nginx.
	run -0 sh -c 'sed -n 2p big.log | "$OFS_BIN/ofs-replay" import | jq ".request.body | length"'
	assert_output 10000000
}

@test "import: a missing file is exit 2 after the other files" {
	run -2 --separate-stderr replay import nosuch.log "$EX/access.log"
	assert_equal "$stderr" "ofs-replay: cannot open 'nosuch.log': No such file or directory"
	[ "${#lines[@]}" -eq 2 ]
}

@test "import: a full disk is exit 4" {
	run -4 --separate-stderr sh -c '"$OFS_BIN/ofs-replay" import "$1" >/dev/full' sh "$EX/orders.gor"
	assert_equal "$stderr" "ofs-replay: write error on standard output: No space left on device"
	run -4 --separate-stderr replay import -o /dev/full "$EX/orders.gor"
	assert_equal "$stderr" "ofs-replay: write error on '/dev/full': No space left on device"
}

@test "import: SIGTERM mid-run writes what it has and exits 143" {
	mkfifo in.fifo
	bg out.jsonl "$OFS_BIN/ofs-replay" import -f goreplay in.fifo
	exec 4>in.fifo
	# A request and its response, then the input stays open.
	printf 'GET /a HTTP/1.1\n\n' | gor_raw 1 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 0 >&4
	printf 'HTTP/1.1 200 OK\n\n' | gor_raw 2 aaaaaaaaaaaaaaaaaaaaaaaa 1795314660000000000 5 >&4
	sleep 0.3
	kill -TERM "$BG_PID"
	status=0
	wait "$BG_PID" || status=$?
	exec 4>&-
	[ "$status" -eq 143 ]
	assert_equal "$(cat out.jsonl.err)" ""
	assert_jq "$(cat out.jsonl)" '[.request.path, .response.status] | @json' '["/a",200]'
}

@test "import: -o FILE.gz writes gzip" {
	run -0 replay import -o out.jsonl.gz "$EX/orders.gor"
	assert_equal "$output" ""
	[ "$(zcat out.jsonl.gz)" = "$(replay import "$EX/orders.gor")" ]
}

# ---- man page examples ----------------------------------------------------------

# run_example NAME: run the example's commands in a fresh directory
# holding examples/replay/capture and compare the exact output.
run_example() {
	local ex cmds want
	ex=$(man_example "$1")
	[ -n "$ex" ] || fail "no example '$1' in the manual"
	cmds=$(awk '/^\$ / { sub(/^\$ /, ""); print }' <<<"$ex")
	want=$(awk '!/^\$ /' <<<"$ex")
	mkdir work && cp "$EX"/* work/ && cd work || return 1
	run -0 env PATH="$OFS_BIN:$PATH" bash -c "$cmds"
	assert_equal "$output" "$want"
}

@test "man page example: import-goreplay" {
	run_example import-goreplay
}

@test "man page example: import-mask" {
	run_example import-mask
}

@test "man page example: import-nginx" {
	run_example import-nginx
}

@test "man page example: record" {
	shop_start inventory-1
	local port up script
	port=$(free_port)
	up=$(shop_url inventory-1)
	script=$(man_commands record |
		sed -e "s|127\.0\.0\.1:8081|127.0.0.1:$port|g" -e "s|http://127\.0\.0\.1:18086|$up|g")
	[ -n "$script" ] || fail "example 'record' has no commands in the manual"
	mkdir work && cd work || return 1
	run -0 env PATH="$OFS_BIN:$PATH" timeout 60 bash -c "$script"
	assert_equal "$output" "$(man_output record)"
}
