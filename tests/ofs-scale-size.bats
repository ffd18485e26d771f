#!/usr/bin/env bats
# tests/ofs-scale-size.bats: `ofs-scale size`, the cheapest mix of the
# policy's instance types (cost.c, size.c): exact records for --demand,
# for the peaks of samples, with headroom and budget, an infeasible
# service, and the errors.

load helpers
load scale

FIX=$OFS_TOP/tests/fixtures/scale/cost

setup() {
	scale_setup
}

@test "size --demand: 14 m5.xlarge and a c5.large for 12000 rps plus 20%" {
	run -0 --separate-stderr without_ts size -p "$FIX/size.json" --demand rps=12000
	assert_output '{"type":"scale.size","service":null,"demand":{"rps":12000},"headroom":0.2,"required":{"rps":14400},"mix":[{"name":"m5.xlarge","count":14},{"name":"c5.large","count":1}],"instances":15,"capacity":{"rps":14400},"cost_per_hour":2.773,"cost_per_month":2024.29,"budget_per_hour":1,"over_budget":true}'
	assert_equal "$stderr" ""
}

@test "size --demand: two metrics, --headroom 0" {
	run -0 without_ts size -p "$FIX/size.json" --demand rps=1000,cpu=1000 --headroom 0
	assert_output '{"type":"scale.size","service":null,"demand":{"rps":1000,"cpu":1000},"headroom":0,"required":{"rps":1000,"cpu":1000},"mix":[{"name":"c5.large","count":5}],"instances":5,"capacity":{"rps":2000,"cpu":1000},"cost_per_hour":0.425,"cost_per_month":310.25,"budget_per_hour":1,"over_budget":false}'
}

@test "size --headroom 50%: required is demand x 1.5" {
	run -0 without_ts size -p "$FIX/size.json" --demand rps=1000 --headroom 50%
	assert_jq "$output" '.required.rps' 1500
	assert_jq "$output" '.mix | tojson' '[{"name":"m5.large","count":1},{"name":"m5.xlarge","count":1}]'
}

@test "size --demand 0: no instances, no cost" {
	run -0 without_ts size -p "$FIX/size.json" --demand rps=0
	assert_jq "$output" '[.mix, .instances, .cost_per_hour] | tojson' '[[],0,0]'
}

@test "size from samples: each service's peak; one no type serves is infeasible, exit 1" {
	run -1 --separate-stderr without_ts size -p "$FIX/size.json" "$FIX/samples.jsonl"
	assert_line -n 0 '{"type":"scale.size","service":"cart","demand":{"rps":1500,"cpu":270},"headroom":0.2,"required":{"rps":1800,"cpu":324},"mix":[{"name":"m5.xlarge","count":1},{"name":"c5.large","count":2}],"instances":3,"capacity":{"rps":1800,"cpu":800},"cost_per_hour":0.362,"cost_per_month":264.26,"budget_per_hour":1,"over_budget":false}'
	assert_line -n 1 '{"type":"scale.size","service":"web","demand":{"rps":200,"mem":3},"headroom":0.2,"required":{"rps":240,"mem":3.6},"infeasible":"mem"}'
	assert_equal "${#lines[@]}" 2
	assert_equal "$stderr" ""
}

@test "size from samples: a bad line is reported, the rest without_ts size, exit 3" {
	{ grep cart "$FIX/samples.jsonl"; echo '{"service":"cart","metric":"rps"}'; } >in.jsonl
	run -3 --separate-stderr without_ts size -p "$FIX/size.json" in.jsonl
	assert_jq "$output" '.service' cart
	assert_jq "$output" '.demand.rps' 1500
	assert_equal "$stderr" "ofs-scale: in.jsonl:6: missing field 'ts'"
}

@test "size --strict: stops at the first bad line, exit 3" {
	printf '%s\n' 'not json' '{"service":"cart","ts":0,"metric":"rps","value":1}' >in.jsonl
	run -3 --separate-stderr scale size -p "$FIX/size.json" --strict in.jsonl
	assert_output ""
}

@test "size errors: exit 2 with the reason" {
	local cases=(
		"--demand mem=5|ofs-scale: --demand: no instance type in the catalogue of '$FIX/size.json' has capacity for 'mem'"
		"--demand rps|ofs-scale: --demand: want metric=value, got 'rps'"
		"--demand rps=-1|ofs-scale: --demand: rps: must not be negative, got -1"
		"--demand rps=1,rps=2|ofs-scale: --demand: metric 'rps' given twice"
		"--demand rps=1 --headroom -5|ofs-scale: --headroom: must not be negative, got -5"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr scale size -p "$FIX/size.json" ${c%%|*}
		assert_equal "$output" ""
		assert_equal "$stderr" "${c#*|}"
	done
}

@test "size errors: no policy, no catalogue, --demand with files" {
	run -2 --separate-stderr scale size --demand rps=1
	[[ $stderr == *"a policy (-p) is required"* ]]
	run -2 --separate-stderr scale size -p "$FIX/fast.json" --demand rps=1
	assert_equal "$stderr" "ofs-scale: $FIX/fast.json: /catalogue: size needs a catalogue of instance types"
	run -2 --separate-stderr scale size -p "$FIX/size.json" --demand rps=1 x.jsonl
	[[ $stderr == *"--demand reads no samples"* ]]
	run -2 --separate-stderr scale size -p "$FIX/size.json" missing.jsonl
	assert_equal "$stderr" "ofs-scale: cannot open 'missing.jsonl': No such file or directory"
}
