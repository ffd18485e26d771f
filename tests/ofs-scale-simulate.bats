#!/usr/bin/env bats
# tests/ofs-scale-simulate.bats: `ofs-scale simulate` (simulate.c): a
# spike through the default behaviour reaches capacity within the 2
# minute mark, a slow policy misses it (exit 1), a trace file with a
# time to capacity computed by hand, and the errors.
#
# fast.json: target 50 % utilisation, capacity 100 % per replica, HPA's
# default behaviour. slow.json: the same with scaleUp limited to 1 pod a
# minute behind a 180 s stabilization window. trace.jsonl: cart at 2
# replicas, 50 % for 30 s, then 150 % (demand 100, then 300) until
# 10:01:30.

load helpers
load scale

FIX=$OFS_TOP/tests/fixtures/scale/cost

setup() {
	scale_setup
}

@test "simulate --spike 3x: the default behaviour reaches capacity in 45 s, exit 0" {
	# 4 replicas at 50 % (demand 200); at 60 s demand 600 > capacity 400;
	# evaluated at 75 s: 150 % -> 12, limited to 8 (Percent 100/15s,
	# Pods 4/15s); ready at 105 s: capacity 800; then 12
	run -0 --separate-stderr without_ts simulate -p "$FIX/fast.json" --spike 3x
	assert_output '{"type":"scale.simulation","policy":"'"$FIX"'/fast.json","trace":"spike 3x","metric":"cpu","delay_s":30,"period_s":15,"duration_s":600,"peak_demand":600,"time_to_capacity_s":45,"mark_s":120,"met_mark":true,"slo_violation_minutes":0.75,"replica_minutes":109,"peak_replicas":12,"scale_events":2}'
	assert_equal "$stderr" ""
}

@test "simulate --spike 300%: a slow policy misses the 2 minute mark, exit 1" {
	run -1 without_ts simulate -p "$FIX/slow.json" --spike 300%
	assert_jq "$output" '.trace' 'spike 3x'
	assert_jq "$output" '.met_mark' false
	assert_jq "$output" '.time_to_capacity_s > 120'
	assert_jq "$output" '.slo_violation_minutes * 60 == .time_to_capacity_s'
}

@test "simulate: never reaching capacity within --duration: null, exit 1" {
	run -1 without_ts simulate -p "$FIX/slow.json" --spike 3x --duration 2m
	assert_jq "$output" '[.time_to_capacity_s, .met_mark, .duration_s, .slo_violation_minutes] | tojson' '[null,false,120,1]'
}

@test "simulate: a longer --delay, a wider --mark" {
	run -0 without_ts simulate -p "$FIX/fast.json" --spike 3x --delay 2m --mark 3m
	# scaled at 75 s, ready at 195 s: 135 s from the spike
	assert_jq "$output" '[.delay_s, .time_to_capacity_s, .mark_s, .met_mark] | tojson' '[120,135,180,true]'
	run -1 without_ts simulate -p "$FIX/fast.json" --spike 3x --delay 2m
	assert_jq "$output" '.met_mark' false
}

@test "simulate: no spike above capacity: time to capacity 0" {
	run -0 without_ts simulate -p "$FIX/fast.json" --spike 1.5x
	assert_jq "$output" '[.time_to_capacity_s, .slo_violation_minutes, .scale_events] | tojson' '[0,0,1]'
}

@test "simulate a trace: time to capacity computed by hand" {
	# start at ceil(100 / 50) = 2 replicas; demand 300 > 200 from 30 s;
	# evaluated at 45 s: 150 % -> 6 (Pods 4); ready at 75 s: 45 s short;
	# 2 x 45 s + 6 x 60 s = 7.5 replica minutes, until 10:01:45
	run -0 --separate-stderr without_ts simulate -p "$FIX/fast.json" "$FIX/trace.jsonl"
	assert_output '{"type":"scale.simulation","policy":"'"$FIX"'/fast.json","trace":"'"$FIX"'/trace.jsonl","metric":"cpu","delay_s":30,"period_s":15,"duration_s":105,"peak_demand":300,"time_to_capacity_s":45,"mark_s":120,"met_mark":true,"slo_violation_minutes":0.75,"replica_minutes":7.5,"peak_replicas":6,"scale_events":1}'
	assert_equal "$stderr" ""
}

@test "simulate a trace from stdin, with a price: cost of the replica hours" {
	jq '. + {catalogue: [{name: "m5.large", pricePerHour: 0.6, capacity: {cpu: 200}}],
		instanceType: "m5.large"}' "$FIX/fast.json" >priced.json
	run -0 without_ts simulate -p priced.json <"$FIX/trace.jsonl"
	assert_jq "$output" '[.trace, .cost] | tojson' '["-",0.075]'
}

@test "simulate a trace: a bad line is reported, the rest without_ts simulate, exit 3" {
	{ cat "$FIX/trace.jsonl"; echo '{"service":"cart"}'; } >in.jsonl
	run -3 --separate-stderr without_ts simulate -p "$FIX/fast.json" in.jsonl
	assert_jq "$output" '.time_to_capacity_s' 45
	assert_equal "$stderr" "ofs-scale: in.jsonl:8: missing field 'metric'"
}

@test "simulate errors: exit 2 with the reason" {
	run -2 --separate-stderr scale simulate --spike 3x
	[[ $stderr == *"a policy (-p) is required"* ]]
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" --spike 0x
	assert_equal "$stderr" "ofs-scale: --spike: must be above 0, got '0x'"
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" --spike lots
	assert_equal "$stderr" "ofs-scale: --spike: want a factor like 3x or 300%, got 'lots'"
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" --spike 3x --metric rps
	assert_equal "$stderr" "ofs-scale: $FIX/fast.json: no metric 'rps' in the policy"
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" --spike 3x "$FIX/trace.jsonl"
	[[ $stderr == *"--spike makes its own trace"* ]]
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" </dev/null
	assert_equal "$stderr" "ofs-scale: the trace holds no samples of metric 'cpu'"
	sed 's/"cart"/"web"/' "$FIX/trace.jsonl" | cat - "$FIX/trace.jsonl" >two.jsonl
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" two.jsonl
	assert_equal "$stderr" "ofs-scale: the trace holds 'cpu' samples of more than one service ('web', 'cart'): simulate runs one"
	run -2 --separate-stderr scale simulate -p "$FIX/fast.json" missing.jsonl
	assert_equal "$output" ""
	[[ $stderr == "ofs-scale: cannot open 'missing.jsonl': No such file or directory"* ]]
}
