#!/usr/bin/env bats
# tests/ofs-replay-schema.bats: `ofs-replay schema`: records against JSON
# Schemas (every keyword, its exact message), compatibility under the
# seven Confluent modes on a table of schema changes, the local registry
# directory, the same registry through `schema serve` and the REST
# client, the REST API's answers as curl sees them, hostile input, and
# the manual's examples.

load helpers

# The manual whose examples man_example reads (tests/helpers.bash).
MAN_PAGE=ofs-replay.1

unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/replay/schema
EX=$OFS_TOP/examples/replay/schema
MODES=(BACKWARD BACKWARD_TRANSITIVE FORWARD FORWARD_TRANSITIVE FULL FULL_TRANSITIVE NONE)

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_bg
}

replay() {
	"$OFS_BIN/ofs-replay" "$@"
}

# no_ts: the records of stdin without their "ts", one per line.
no_ts() {
	jq -c 'del(.ts)'
}

# ---- check --------------------------------------------------------------

@test "check: every keyword, its exact message and pointers; valid records pass through unchanged" {
	cd "$FIX"
	run --separate-stderr -1 replay schema check keywords.json keywords.jsonl
	assert_equal "$output" "$(cat keywords.out)"
	assert_equal "$stderr" "$(cat keywords.err)"
	# the two valid lines, byte for byte (spaces kept)
	assert_equal "$(wc -l <<<"$output")" 2
	assert_equal "${lines[0]}" "$(head -1 keywords.jsonl)"
}

@test "check: --invalid writes one replay.invalid record per invalid record" {
	run --separate-stderr -1 replay schema check --invalid inv.jsonl -q "$FIX/keywords.json" "$FIX/keywords.jsonl"
	assert_output ""
	assert_equal "$(wc -l <inv.jsonl)" 19
	assert_equal "$(jq -s -c '.[0] | del(.ts)' inv.jsonl)" \
		'{"type":"replay.invalid","file":"'"$FIX"'/keywords.jsonl","line":2,"errors":[{"instance":"/id","schema":"/properties/id/type","keyword":"type","message":"expected integer, got number"},{"instance":"/name","schema":"/properties/name/minLength","keyword":"minLength","message":"length 1 is less than minLength 2"}],"record":{"id":1.5,"name":"a"}}'
	assert_equal "$(jq -s -c 'map(.line)' inv.jsonl)" "[2,3,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]"
	run -0 jq -s -c '[.[] | .errors[] | .keyword] | unique' inv.jsonl
	assert_output '["","additionalProperties","const","enum","exclusiveMaximum","exclusiveMinimum","maxItems","maxLength","maximum","minItems","minLength","minimum","pattern","required","type"]'
}

@test "check: valid input passes through and exits 0; stdin and '-' work" {
	printf '%s\n' '{"id":1,"name":"ab"}' '{"id":2,"name":"cd","x":[1]}' >in.jsonl
	echo '{"type":"object","required":["id"]}' >s.json
	run -0 replay schema check s.json <in.jsonl
	assert_output "$(cat in.jsonl)"
	run -0 replay schema check s.json - <in.jsonl
	assert_output "$(cat in.jsonl)"
	gzip -k in.jsonl
	run -0 replay schema check s.json in.jsonl.gz
	assert_output "$(cat in.jsonl)"
}

@test "check: unsupported keywords, bad values and bad JSON in a schema: each named by pointer, status 2" {
	cat >bad.json <<'EOF2'
{"type": "object", "format": "email",
 "properties": {"a": {"type": "strng", "items": [{"type": "string"}], "minLength": -1},
                "b": {"pattern": "([a-z]", "$ref": "#/definitions/none"},
                "c": {"if": true, "exclusiveMinimum": true}},
 "required": "a"}
EOF2
	echo '{}' >in.jsonl
	run --separate-stderr -2 replay schema check bad.json in.jsonl
	assert_output ""
	assert_equal "$stderr" "ofs-replay: bad.json: /format: unsupported keyword 'format'
ofs-replay: bad.json: /properties/a/type: unknown type 'strng'
ofs-replay: bad.json: /properties/a/items: the array form of 'items' is not supported
ofs-replay: bad.json: /properties/a/minLength: must be a non-negative integer
ofs-replay: bad.json: /properties/b/pattern: invalid POSIX extended regular expression: $(
		replay schema check <(echo '{"pattern":"([a-z]"}') </dev/null 2>&1 | sed 's/.*expression: //')
ofs-replay: bad.json: /properties/b/\$ref: cannot resolve '#/definitions/none' (only \"#\", \"#/definitions/NAME\" and \"#/\$defs/NAME\" are supported)
ofs-replay: bad.json: /properties/c/if: unsupported keyword 'if'
ofs-replay: bad.json: /properties/c/exclusiveMinimum: must be a number
ofs-replay: bad.json: /required: must be an array of property names"
	printf '{"type": "object",\n  "properties": }\n' >syntax.json
	run -2 replay schema check syntax.json in.jsonl
	assert_output --regexp "^ofs-replay: syntax.json:2:17: invalid JSON: "
	run -2 replay schema check missing.json in.jsonl
	assert_output "ofs-replay: cannot open 'missing.json': No such file or directory"
	run -2 replay schema check
	assert_line --index 0 "ofs-replay schema: check: missing schema"
}

@test "check: a key with a newline cannot split the message line" {
	echo '{"additionalProperties": false}' >s.json
	printf '{"a\\nb": 1}\n' >in.jsonl
	run --separate-stderr -1 replay schema check s.json in.jsonl
	assert_equal "$stderr" "ofs-replay: in.jsonl:1: /a\\nb: property 'a\\nb' is not allowed (schema /additionalProperties)"
}

@test "check: recursive \$ref schemas validate; a \$ref cycle is a violation, not a hang" {
	echo '{"definitions":{"n":{"type":"object","properties":{"next":{"$ref":"#/definitions/n"},"v":{"type":"integer"}}}},"$ref":"#/definitions/n"}' >list.json
	echo '{"v":1,"next":{"v":2,"next":{"v":"three"}}}' >in.jsonl
	run --separate-stderr -1 replay schema check list.json in.jsonl
	assert_equal "$stderr" "ofs-replay: in.jsonl:1: /next/next/v: expected integer, got string (schema /definitions/n/properties/v/type)"
	echo '{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}' >cycle.json
	run --separate-stderr -1 timeout 10 "$OFS_BIN/ofs-replay" schema check cycle.json in.jsonl
	assert_equal "$stderr" "ofs-replay: in.jsonl:1: (root): schema nesting or \$ref chain deeper than 128 (schema /\$defs/a)"
}

@test "check: an option of another action is a usage error (status 2)" {
	echo '{}' >s.json
	run -2 replay schema check --mode FULL s.json
	assert_line --index 0 "ofs-replay schema: check: option '--mode' does not apply"
	run -2 replay schema compat --raw s.json s.json
	assert_line --index 0 "ofs-replay schema: compat: option '--raw' does not apply"
	run -2 replay schema frobnicate
	assert_line --index 0 "ofs-replay schema: unknown action 'frobnicate' (check, compat, register, versions, get, mode, subjects, serve)"
	run -2 replay schema
	assert_line --index 0 "ofs-replay schema: missing action (check, compat, register, versions, get, mode, subjects, serve)"
}

# ---- hostile input (DESIGN.md section 7) --------------------------------

@test "check: empty input gives nothing and status 0" {
	echo '{"type":"object"}' >s.json
	: >empty.jsonl
	run --separate-stderr -0 replay schema check s.json empty.jsonl
	assert_output ""
	assert_equal "$stderr" ""
}

@test "check: a malformed line is reported as FILE:LINE, the rest passes, status 3; --strict stops" {
	echo '{"type":"object","required":["id"]}' >s.json
	printf '%s\n' '{"id":1}' '{"id":2' '{"id":3}' >in.jsonl
	run --separate-stderr -3 replay schema check s.json in.jsonl
	assert_output $'{"id":1}\n{"id":3}'
	assert_equal "$stderr" "ofs-replay: in.jsonl:2: invalid JSON: unexpected end of line at column 8"
	run -3 replay schema check --strict s.json in.jsonl
	refute_output --partial '{"id":3}'
}

@test "check: a 10 MB line passes through whole" {
	echo '{"type":"object","properties":{"blob":{"type":"string","minLength":10000000}}}' >s.json
	{ printf '{"blob":"'; head -c 10000000 /dev/zero | tr '\0' 'x'; printf '"}\n'; } >big.jsonl
	run -0 bash -c "'$OFS_BIN/ofs-replay' schema check s.json big.jsonl | cmp - big.jsonl"
	echo '{"type":"object","properties":{"blob":{"maxLength":9999999}}}' >s2.json
	run --separate-stderr -1 replay schema check s2.json big.jsonl
	assert_equal "$stderr" "ofs-replay: big.jsonl:1: /blob: length 10000000 is greater than maxLength 9999999 (schema /properties/blob/maxLength)"
}

@test "check: binary garbage is rejected line by line with status 3" {
	echo '{}' >s.json
	head -c 4096 /dev/urandom >garbage
	printf '\n{"ok":true}\n' >>garbage
	run --separate-stderr -3 replay schema check s.json garbage
	assert_output '{"ok":true}'
	assert_regex "$stderr" "ofs-replay: garbage:[0-9]+: "
}

@test "check: a missing input file is status 2, the others are still read" {
	echo '{}' >s.json
	echo '{"a":1}' >in.jsonl
	run --separate-stderr -2 replay schema check s.json nope.jsonl in.jsonl
	assert_output '{"a":1}'
	assert_equal "$stderr" "ofs-replay: cannot open 'nope.jsonl': No such file or directory"
}

@test "check and compat: writing to a full disk is status 4" {
	echo '{}' >s.json
	echo '{"a":1}' >in.jsonl
	run -4 bash -c "'$OFS_BIN/ofs-replay' schema check s.json in.jsonl >/dev/full"
	run -4 bash -c "'$OFS_BIN/ofs-replay' schema compat s.json s.json >/dev/full"
	replay schema register --registry reg orders "$EX/orders.v1.json" >/dev/null
	run -4 bash -c "'$OFS_BIN/ofs-replay' schema subjects --registry reg >/dev/full"
	assert_output "ofs-replay: write error on standard output: No space left on device"
}

# ---- compat -------------------------------------------------------------

@test "compat: the table of schema changes, every mode (tests/fixtures/replay/schema/compat-cases.tsv)" {
	local name old new exp rules i st want fails="" ncases=0 verdict r line
	while IFS=$'\t' read -r name old new exp rules; do
		[[ $name == \#* ]] && continue
		ncases=$((ncases + 1))
		printf '%s\n' "$old" >old.json
		printf '%s\n' "$new" >new.json
		read -ra want <<<"$exp"
		for i in "${!MODES[@]}"; do
			st=0
			replay schema compat --mode "${MODES[$i]}" old.json new.json >out.jsonl || st=$?
			while IFS= read -r line; do verdict=$line; done <out.jsonl
			verdict=${verdict#*\"replay.compat.verdict\",\"ts\":\"*\",}
			case "${want[$i]}:$st:$verdict" in
			"c:0:\"mode\":\"${MODES[$i]}\",\"compatible\":true,\"problems\":0}") ;;
			"i:1:\"mode\":\"${MODES[$i]}\",\"compatible\":false,\"problems\":"[1-9]*) ;;
			*) fails+="$name ${MODES[$i]}: want ${want[$i]}, got status $st, verdict '$verdict'"$'\n' ;;
			esac
			[ "${MODES[$i]}" = FULL ] && r=$(sed -n 's/^{"type":"replay.compat",.*"direction":"\([a-z]*\)",.*"rule":"\([^"]*\)".*/\1:\2/p' out.jsonl |
				sort -u | paste -sd' ')
		done
		[ "${r:--}" = "$rules" ] || fails+="$name: problems '$r', want '$rules'"$'\n'
	done <"$FIX/compat-cases.tsv"
	[ "$ncases" -ge 20 ] || fail "only $ncases cases"
	[ -z "$fails" ] || fail "$fails"
}

@test "compat: problem records carry direction, pointer, rule, message and the old file" {
	run -1 replay schema compat --mode FULL "$EX/orders.v2.json" "$EX/orders.v3.json"
	assert_equal "$(no_ts <<<"$output")" '{"type":"replay.compat","direction":"backward","pointer":"/required","rule":"required-added","message":"property '"'currency'"' is required by the new schema but old data may lack it","old":"'"$EX"'/orders.v2.json"}
{"type":"replay.compat","direction":"backward","pointer":"/properties/qty/maximum","rule":"maximum-narrowed","message":"maximum 10 of the new schema rejects values the old schema allows (maximum 100)","old":"'"$EX"'/orders.v2.json"}
{"type":"replay.compat","direction":"backward","pointer":"/properties/channel/enum","rule":"enum-narrowed","message":"old data may hold \"app\", which the new schema rejects","old":"'"$EX"'/orders.v2.json"}
{"type":"replay.compat","direction":"forward","pointer":"/properties/currency","rule":"property-removed-closed","message":"property '"'currency'"' of new data is not allowed by the old schema (additionalProperties false)","old":"'"$EX"'/orders.v2.json"}
{"type":"replay.compat.verdict","mode":"FULL","compatible":false,"problems":4}'
	run -0 replay schema compat "$EX/orders.v1.json" "$EX/orders.v2.json"
	assert_equal "$(no_ts <<<"$output")" '{"type":"replay.compat.verdict","mode":"BACKWARD","compatible":true,"problems":0}'
}

@test "compat: transitive modes look at every old schema, the others at the latest only" {
	echo '{"enum":["a","b","c"]}' >v1.json
	echo '{"enum":["a","b"]}' >v2.json
	echo '{"enum":["a","b"]}' >v3.json
	local want=(0 1 0 0 0 1 0) i st
	for i in "${!MODES[@]}"; do
		st=0
		replay schema compat --mode "${MODES[$i]}" v1.json v2.json v3.json >out.jsonl || st=$?
		[ "$st" = "${want[$i]}" ] || fail "${MODES[$i]}: status $st, want ${want[$i]}"
	done
	run -1 replay schema compat --mode BACKWARD_TRANSITIVE v1.json v2.json v3.json
	assert_equal "$(no_ts <<<"$output")" '{"type":"replay.compat","direction":"backward","pointer":"/enum","rule":"enum-narrowed","message":"old data may hold \"c\", which the new schema rejects","old":"v1.json"}
{"type":"replay.compat.verdict","mode":"BACKWARD_TRANSITIVE","compatible":false,"problems":1}'
}

@test "compat: usage errors" {
	echo '{}' >s.json
	run -2 replay schema compat s.json
	assert_line --index 0 "ofs-replay schema: compat: expected OLD ... NEW"
	run -2 replay schema compat --mode SIDEWAYS s.json s.json
	assert_line --index 0 "ofs-replay schema: --mode: unknown mode 'SIDEWAYS' (BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE)"
	echo '{"type":"object","oneOf":[]}' >u.json
	run -2 replay schema compat s.json u.json
	assert_output "ofs-replay: u.json: /oneOf: unsupported keyword 'oneOf'"
}

# ---- the registry ---------------------------------------------------------

# registry_script REG: the same register / versions / get / mode story
# against REG (a directory or a URL), records without "ts", one command's
# output after a "# command" line, with its exit status.
registry_script() {
	local reg=$1
	step() {
		echo "# $*"
		local st=0
		replay schema "$@" --registry "$reg" >step.out 2>/dev/null || st=$?
		no_ts <step.out
		echo "status $st"
	}
	step subjects
	step register orders "$EX/orders.v1.json"
	step register orders "$EX/orders.v1.json"
	step register orders "$EX/orders.v2.json"
	step register orders "$EX/orders.v3.json"
	step versions orders
	step get orders 1
	step get orders --raw
	step get orders 7
	step get nobody
	step mode orders
	step mode orders NONE
	step mode orders
	step register payments "$EX/orders.v3.json"
	step subjects
	step compat --subject orders --mode BACKWARD_TRANSITIVE "$EX/orders.v3.json"
}

REGISTRY_STORY='# subjects
status 0
# register orders EX/orders.v1.json
{"type":"replay.schema.registered","subject":"orders","version":1,"id":1,"existing":false}
status 0
# register orders EX/orders.v1.json
{"type":"replay.schema.registered","subject":"orders","version":1,"id":1,"existing":true}
status 0
# register orders EX/orders.v2.json
{"type":"replay.schema.registered","subject":"orders","version":2,"id":2,"existing":false}
status 0
# register orders EX/orders.v3.json
{"type":"replay.compat","direction":"backward","pointer":"/required","rule":"required-added","message":"property '"'currency'"' is required by the new schema but old data may lack it","subject":"orders","old_version":2}
{"type":"replay.compat","direction":"backward","pointer":"/properties/qty/maximum","rule":"maximum-narrowed","message":"maximum 10 of the new schema rejects values the old schema allows (maximum 100)","subject":"orders","old_version":2}
{"type":"replay.compat","direction":"backward","pointer":"/properties/channel/enum","rule":"enum-narrowed","message":"old data may hold \"app\", which the new schema rejects","subject":"orders","old_version":2}
{"type":"replay.compat.verdict","subject":"orders","mode":"BACKWARD","compatible":false,"problems":3}
status 1
# versions orders
{"type":"replay.schema.versions","subject":"orders","versions":[1,2]}
status 0
# get orders 1
{"type":"replay.schema","subject":"orders","version":1,"id":1,"schema":SCHEMA1}
status 0
# get orders --raw
SCHEMA2
status 0
# get orders 7
status 1
# get nobody
status 1
# mode orders
{"type":"replay.schema.mode","subject":"orders","mode":"BACKWARD"}
status 0
# mode orders NONE
{"type":"replay.schema.mode","subject":"orders","mode":"NONE"}
status 0
# mode orders
{"type":"replay.schema.mode","subject":"orders","mode":"NONE"}
status 0
# register payments EX/orders.v3.json
{"type":"replay.schema.registered","subject":"payments","version":1,"id":3,"existing":false}
status 0
# subjects
{"type":"replay.schema.subject","subject":"orders"}
{"type":"replay.schema.subject","subject":"payments"}
status 0
# compat --subject orders --mode BACKWARD_TRANSITIVE EX/orders.v3.json
{"type":"replay.compat","direction":"backward","pointer":"/required","rule":"required-added","message":"property '"'currency'"' is required by the new schema but old data may lack it","subject":"orders","old_version":2}
{"type":"replay.compat","direction":"backward","pointer":"/properties/qty/maximum","rule":"maximum-narrowed","message":"maximum 10 of the new schema rejects values the old schema allows (maximum 100)","subject":"orders","old_version":2}
{"type":"replay.compat","direction":"backward","pointer":"/properties/channel/enum","rule":"enum-narrowed","message":"old data may hold \"app\", which the new schema rejects","subject":"orders","old_version":2}
{"type":"replay.compat","direction":"backward","pointer":"/required","rule":"required-added","message":"property '"'currency'"' is required by the new schema but old data may lack it","subject":"orders","old_version":1}
{"type":"replay.compat","direction":"backward","pointer":"/properties/qty/maximum","rule":"maximum-narrowed","message":"maximum 10 of the new schema rejects values the old schema allows (maximum 100)","subject":"orders","old_version":1}
{"type":"replay.compat","direction":"backward","pointer":"/properties/channel/enum","rule":"enum-narrowed","message":"old data may hold \"app\", which the new schema rejects","subject":"orders","old_version":1}
{"type":"replay.compat.verdict","subject":"orders","mode":"BACKWARD_TRANSITIVE","compatible":false,"problems":6}
status 1'

expected_story() {
	local s1 s2
	s1=$(jq -c . "$EX/orders.v1.json")
	s2=$(jq -c . "$EX/orders.v2.json")
	local story=${REGISTRY_STORY//EX\//$EX/}
	story=${story//SCHEMA1/$s1}
	echo "${story//SCHEMA2/$s2}"
}

@test "registry directory: register, identical register, incompatible refused, versions, get, mode, subjects" {
	run -0 registry_script "$BATS_TEST_TMPDIR/reg"
	assert_output "$(expected_story)"
	# the refused version left nothing behind; modes 0700 and 0600
	run -0 find reg -type f
	assert_equal "$(sort <<<"$output")" "reg/lock
reg/next-id
reg/subjects/orders/1.json
reg/subjects/orders/2.json
reg/subjects/orders/config.json
reg/subjects/payments/1.json"
	assert_equal "$(stat -c %a reg reg/subjects/orders reg/subjects/orders/2.json)" $'700\n700\n600'
	assert_equal "$(jq -c 'del(.schema)' reg/subjects/orders/2.json)" '{"subject":"orders","version":2,"id":2}'
}

@test "registry directory: the default is \$OFS_STATE_DIR/replay/registry; errors" {
	run -0 replay schema register orders "$EX/orders.v1.json"
	[ -f "$OFS_STATE_DIR/replay/registry/subjects/orders/1.json" ] || fail "not stored in the state dir"
	run -1 replay schema get orders 2
	assert_output "ofs-replay: subject 'orders' has no version 2"
	run -1 replay schema versions nobody
	assert_output "ofs-replay: subject 'nobody' not found"
	run -2 replay schema register ../evil "$EX/orders.v1.json"
	assert_line --index 0 "ofs-replay schema: register: invalid subject name '../evil' (1 to 200 of A-Z a-z 0-9 . _ -, not starting with a dot)"
	run -2 replay schema mode orders SIDEWAYS
	assert_line --index 0 --partial "ofs-replay schema: mode: unknown mode 'SIDEWAYS'"
	run -2 replay schema get orders first
	assert_line --index 0 "ofs-replay schema: get: 'first' is not a version (1, 2, ... or latest)"
	echo '{"type":"object","anyOf":[]}' >u.json
	run -2 replay schema register orders u.json
	assert_output "ofs-replay: u.json: /anyOf: unsupported keyword 'anyOf'"
	run -2 replay schema serve
	assert_line --index 0 "ofs-replay schema: serve: --listen is required"
}

# ---- the REST API: schema serve and --registry URL --------------------------

serve() {
	local port
	port=$(free_port)
	bg serve.jsonl "$OFS_BIN/ofs-replay" schema serve --listen "127.0.0.1:$port" --registry "$BATS_TEST_TMPDIR/served"
	wait_for_record serve.jsonl '.type == "replay.schema.serving"'
	URL=http://127.0.0.1:$port
	assert_equal "$(jq -r .listen serve.jsonl)" "127.0.0.1:$port"
}

# api METHOD PATH [BODY]: "STATUS BODY" of a request, with the registry's media type.
api() {
	local ct=application/vnd.schemaregistry.v1+json
	curl -s --max-time 5 -X "$1" -H "Content-Type: $ct" -H "Accept: $ct" \
		${3:+--data "$3"} -w ' %{http_code} %{content_type}' "$URL$2"
}

@test "--registry URL against schema serve: the same story as the directory" {
	serve
	run -0 registry_script "$URL"
	assert_output "$(expected_story)"
	# and the served directory holds what a local run would
	run -0 replay schema versions --registry "$BATS_TEST_TMPDIR/served" orders
	assert_equal "$(no_ts <<<"$output")" '{"type":"replay.schema.versions","subject":"orders","versions":[1,2]}'
}

@test "schema serve: the REST API's answers have Confluent's shapes" {
	serve
	local v1 body
	v1=$(jq -c . "$EX/orders.v1.json")
	body=$(jq -cn --arg s "$v1" '{schemaType: "JSON", schema: $s}')
	local ct=application/vnd.schemaregistry.v1+json
	run -0 api GET /subjects
	assert_output "[] 200 $ct"
	run -0 api GET /subjects/orders/versions
	assert_output "{\"error_code\":40401,\"message\":\"Subject 'orders' not found.\"} 404 $ct"
	run -0 api POST /subjects/orders/versions "$body"
	assert_output "{\"id\":1} 200 $ct"
	run -0 api POST /subjects/orders/versions "$body"
	assert_output "{\"id\":1} 200 $ct"
	run -0 api GET /subjects
	assert_output "[\"orders\"] 200 $ct"
	run -0 api GET /subjects/orders/versions
	assert_output "[1] 200 $ct"
	run -0 api GET /subjects/orders/versions/latest
	assert_output "$(jq -cn --arg s "$v1" '{subject: "orders", version: 1, id: 1, schemaType: "JSON", schema: $s}') 200 $ct"
	run -0 api GET /subjects/orders/versions/2
	assert_output "{\"error_code\":40402,\"message\":\"Version not found.\"} 404 $ct"
	run -0 api GET /subjects/orders/versions/zero
	assert_output --partial '{"error_code":42202,'
	run -0 api POST /subjects/orders "$body"
	assert_output "$(jq -cn --arg s "$v1" '{subject: "orders", version: 1, id: 1, schemaType: "JSON", schema: $s}') 200 $ct"
	run -0 api POST /subjects/orders '{"schemaType":"JSON","schema":"{\"type\":\"string\"}"}'
	assert_output "{\"error_code\":40403,\"message\":\"Schema not found\"} 404 $ct"
	# incompatible: 409, and the compatibility check says why
	run -0 api POST /subjects/orders/versions '{"schemaType":"JSON","schema":"{\"type\":\"string\"}"}'
	assert_output "{\"error_code\":409,\"message\":\"Schema being registered is incompatible with an earlier schema for subject \\\"orders\\\"\"} 409 $ct"
	run -0 api POST /compatibility/subjects/orders/versions/latest '{"schemaType":"JSON","schema":"{\"type\":\"string\"}"}'
	assert_output "{\"is_compatible\":false} 200 $ct"
	run -0 api POST '/compatibility/subjects/orders/versions/latest?verbose=true' '{"schemaType":"JSON","schema":"{\"type\":\"string\"}"}'
	assert_output "{\"is_compatible\":false,\"messages\":[\"/type: type-narrowed: old data may be object, which the new schema rejects (backward, version 1)\"]} 200 $ct"
	run -0 api POST /compatibility/subjects/orders/versions/latest "$body"
	assert_output "{\"is_compatible\":true} 200 $ct"
	# invalid schemas: 422
	run -0 api POST /subjects/orders/versions '{"schemaType":"JSON","schema":"{\"oneOf\":[]}"}'
	assert_output "{\"error_code\":42201,\"message\":\"Invalid schema: schema: /oneOf: unsupported keyword 'oneOf'\\n\"} 422 $ct"
	run -0 api POST /subjects/orders/versions '{"schema":"{}"}'
	assert_output "{\"error_code\":42201,\"message\":\"Invalid schema: only schemaType JSON is supported\"} 422 $ct"
	# config
	run -0 api GET /config
	assert_output "{\"compatibilityLevel\":\"BACKWARD\"} 200 $ct"
	run -0 api PUT /config/orders '{"compatibility":"FULL_TRANSITIVE"}'
	assert_output "{\"compatibility\":\"FULL_TRANSITIVE\"} 200 $ct"
	run -0 api GET /config/orders
	assert_output "{\"compatibilityLevel\":\"FULL_TRANSITIVE\"} 200 $ct"
	run -0 api PUT /config/orders '{"compatibility":"SIDEWAYS"}'
	assert_output "{\"error_code\":42203,\"message\":\"Invalid compatibility level\"} 422 $ct"
	run -0 api GET /nothing/here
	assert_output "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"} 404 $ct"
	run -0 api DELETE /subjects/orders/versions
	assert_output "{\"error_code\":405,\"message\":\"HTTP 405 Method Not Allowed\"} 405 $ct"
}

@test "schema serve ends on SIGTERM with 128+15; an unreachable registry is status 4" {
	serve
	kill -TERM "$BG_PID"
	local st=0
	wait "$BG_PID" || st=$?
	assert_equal "$st" 143
	run -4 replay schema subjects --registry "$URL"
	assert_output --partial "ofs-replay: cannot reach '$URL/subjects': "
}

# ---- the manual's examples ------------------------------------------------

check_example() {
	local script want out=$BATS_TEST_TMPDIR/example.out work=$BATS_TEST_TMPDIR/work
	script=$(man_example "$1" | awk '/^\$ / { sub(/^\$ /, ""); print; c = 1; next }
		c && /^[ \t]/ { print; next } { c = 0 }')
	want=$(man_example "$1" | awk '/^\$ / { c = 1; next } c && /^[ \t]/ { next } { c = 0; print }')
	[ -n "$script" ] || fail "example '$1' has no commands"
	mkdir -p "$work"
	cp "$EX"/* "$work"/
	(cd "$work" && PATH="$OFS_BIN:$PATH" timeout 60 bash -c "$script" >"$out" 2>&1 3>&-) ||
		fail "example '$1' failed: $(cat "$out")"
	assert_equal "$(cat "$out")" "$want"
}

@test "man page example: schema-check" {
	check_example schema-check
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/work/valid.jsonl")" 2
}

@test "man page example: schema-compat" {
	check_example schema-compat
}

@test "man page example: schema-registry" {
	check_example schema-registry
	[ -f "$BATS_TEST_TMPDIR/work/reg/subjects/orders/2.json" ] || fail "version 2 not stored"
	[ ! -e "$BATS_TEST_TMPDIR/work/reg/subjects/orders/3.json" ] || fail "the refused version was stored"
}
