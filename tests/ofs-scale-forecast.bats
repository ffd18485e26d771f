#!/usr/bin/env bats
# tests/ofs-scale-forecast.bats: `ofs-scale forecast` and `ofs-scale plan`,
# and predictive decisions (decide --forecast) on forecast records.
#
# The main trace is synthetic and fixed: fixtures/scale/forecast/trace.awk
# writes fifteen days of rps samples every 15 minutes, a daily pattern
# with 5 % noise from a seeded generator. Holt-Winters must forecast the
# fifteenth day from the first fourteen within 10 % MAPE. The fitting
# math is also checked through the CLI on series whose answer is exact:
# a straight line, and a few samples that show how samples become steps.
# Plan cases compare whole records with a file of expected output.

load helpers
load scale

unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/scale/forecast
START=1793491200 # 2026-11-01T00:00:00Z

# trace DAYS [FROM]: the synthetic trace (see trace.awk).
trace() {
	awk -v SEED=42 -v DAYS="$1" -v FROM="${2:-0}" -v START=$START -v NOISE=0.05 \
		-f "$FIX/trace.awk"
}

# line N: N hourly samples of a straight line, 100 + 10 per hour.
line() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf '{"service":"web","ts":%d,"metric":"rps","value":%d}\n' \
			$((START + i * 3600)) $((100 + 10 * i))
	done
}

setup() {
	scale_setup
}

# ---- forecast: Holt-Winters on the synthetic trace ------------------------

@test "forecast --holdout 1d: the held-out day within 10% MAPE, checked independently" {
	trace 15 >trace.jsonl
	run -0 scale forecast --holdout 1d trace.jsonl
	echo "$output" >out.jsonl
	# the held-out day: 24 hourly records carrying the actual demand
	run -0 jq -s -c '[.[] | select(.type == "scale.forecast" and has("actual")) | .ts]' out.jsonl
	assert_output "$(jq -n -c '[range(24) | 1794700800 + . * 3600 | todate | sub("Z$"; ".000000Z")]')"
	local model
	model=$(jq -c 'select(.type == "scale.model")' out.jsonl)
	assert_jq "$model" '.service + " " + .metric + " " + .method' "cart rps holt-winters"
	assert_jq "$model" '[.season_steps, .fitted_steps, .step_s] | @csv' "24,336,3600"
	assert_jq "$model" '[.alpha, .beta, .gamma] | all(. >= 0 and . <= 1)'
	assert_jq "$model" '.holdout_mape <= 10'
	assert_jq "$model" '.mape <= 10'
	# MAPE computed from the records themselves
	local mape
	mape=$(jq -s '[.[] | select(has("actual")) | ((.demand - .actual) | fabs) / .actual * 100]
		| add / length' out.jsonl)
	assert_jq "$model" "(.holdout_mape - $mape) | fabs < 0.001"
	jq -e -n "$mape <= 10"
	# then the horizon past the history: one more day, no actual
	run -0 jq -s -c '[.[] | select(.type == "scale.forecast" and (has("actual") | not))]
		| [length, .[0].ts, .[-1].ts]' out.jsonl
	assert_output '[24,"2026-11-16T00:00:00.000000Z","2026-11-16T23:00:00.000000Z"]'
	# the model record comes last
	run -0 jq -r -s '.[-1].type' out.jsonl
	assert_output scale.model
}

@test "forecast: the next day after fifteen days, deterministic" {
	trace 15 >trace.jsonl
	run -0 scale forecast trace.jsonl
	echo "$output" >a.jsonl
	run -0 scale forecast --horizon 1d --step 1h --season daily --method holt-winters trace.jsonl
	echo "$output" >b.jsonl
	cmp <(jq -c 'del(.ts | select(. > "2026-12"))' a.jsonl) \
		<(jq -c 'del(.ts | select(. > "2026-12"))' b.jsonl)
	run -0 jq -s -c 'map(select(.type == "scale.forecast")) | [length, .[0].ts, (map(.step_s) | unique)]' a.jsonl
	assert_output '[24,"2026-11-16T00:00:00.000000Z",[3600]]'
	run -0 jq -s -c '.[-1] | [.fitted_steps, .season_steps]' a.jsonl
	assert_output '[360,24]'
	# the forecast follows the daily pattern: night low, noon high
	run -0 jq -s -c 'map(select(.type == "scale.forecast")) |
		[(.[3].demand > 150 and .[3].demand < 250), (.[12].demand > 1100 and .[12].demand < 1300)]' a.jsonl
	assert_output '[true,true]'
}

# ---- forecast: exact series -------------------------------------------------

@test "forecast --method linear: a straight line is continued exactly" {
	line 48 >line.jsonl
	run -0 scale forecast --method linear --horizon 3h line.jsonl
	run jq -c 'select(.type == "scale.forecast")' <<<"$output"
	assert_output - <<'EOF'
{"type":"scale.forecast","ts":"2026-11-03T00:00:00.000000Z","service":"web","metric":"rps","demand":580,"method":"linear","step_s":3600}
{"type":"scale.forecast","ts":"2026-11-03T01:00:00.000000Z","service":"web","metric":"rps","demand":590,"method":"linear","step_s":3600}
{"type":"scale.forecast","ts":"2026-11-03T02:00:00.000000Z","service":"web","metric":"rps","demand":600,"method":"linear","step_s":3600}
EOF
}

@test "forecast: linear, holt (no season) and holt-winters are exact on a straight line" {
	line 52 >line.jsonl
	local args
	for args in "--method linear" "--season none" "--season daily"; do
		# shellcheck disable=SC2086
		run -0 scale forecast $args --horizon 2h --holdout 2h line.jsonl
		run jq -s -c '[map(select(.type == "scale.forecast") | [.demand, .actual]),
			(.[-1] | [.fitted_steps, .trend, .mape, .holdout_mape])]' <<<"$output"
		assert_output '[[[600,600],[610,610],[620,null],[630,null]],[50,10,0,0]]'
	done
}

@test "forecast: steps average service samples and sum the pods of one instant" {
	# hour 0: two service-level samples, 10 x 2 and 20 x 2 replicas: mean 30
	# hour 1: pods 10 + 20 at 01:00 and 20 + 30 at 01:30: mean of 30 and 50
	# hour 2: nothing (a gap); hour 3: 60
	cat >s.jsonl <<'EOF'
{"service":"api","ts":"2026-11-01T00:10:00Z","metric":"rps","value":10,"replicas":2,"ready_replicas":2}
{"service":"api","ts":"2026-11-01T00:50:00Z","metric":"rps","value":20,"replicas":2,"ready_replicas":2}
{"service":"api","ts":"2026-11-01T01:00:00Z","metric":"rps","value":10,"pod":"api-1"}
{"service":"api","ts":"2026-11-01T01:30:00Z","metric":"rps","value":20,"pod":"api-1"}
{"service":"api","ts":"2026-11-01T01:00:00Z","metric":"rps","value":20,"pod":"api-2"}
{"service":"api","ts":"2026-11-01T01:30:00Z","metric":"rps","value":30,"pod":"api-2","ready":false}
{"service":"api","ts":"2026-11-01T03:59:59Z","metric":"rps","value":60}
EOF
	run -0 scale forecast --method linear --horizon 1h --holdout 1h s.jsonl
	run jq -c 'select(.type == "scale.forecast") | [.ts, .demand, .actual]' <<<"$output"
	assert_output - <<'EOF'
["2026-11-01T03:00:00.000000Z",60,60]
["2026-11-01T04:00:00.000000Z",70,null]
EOF
}

@test "forecast: too little history skips the series with a warning; none fitted is exit 1" {
	line 30 >short.jsonl
	run -1 --separate-stderr scale forecast short.jsonl
	assert_output ''
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'web' metric 'rps': too little history: holt-winters needs two full seasons (48 steps), have 30
ofs-scale: no series could be fitted"
	# another series with enough history is still forecast: exit 0
	trace 2 >two.jsonl
	run -0 --separate-stderr scale forecast --horizon 1h short.jsonl two.jsonl
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'web' metric 'rps': too little history: holt-winters needs two full seasons (48 steps), have 30"
	run jq -r '[.type, .service] | join(" ")' <<<"$output"
	assert_output $'scale.forecast cart\nscale.model cart'
	# what is too little for a weekly season is enough without one
	run -1 --separate-stderr scale forecast --season weekly two.jsonl
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'cart' metric 'rps': too little history: holt-winters needs two full seasons (336 steps), have 48
ofs-scale: no series could be fitted"
	run -0 scale forecast --season none --horizon 1h short.jsonl
	run -1 --separate-stderr scale forecast --method linear --holdout 29h short.jsonl
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'web' metric 'rps': too little history: a linear trend needs 2 values, have 1
ofs-scale: no series could be fitted"
	run -1 --separate-stderr scale forecast --holdout 2d short.jsonl
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'web' metric 'rps': --holdout leaves no history to fit (30 steps in all)
ofs-scale: no series could be fitted"
}

@test "forecast --service and --metric choose the series" {
	{ line 48; trace 2; } >both.jsonl
	run -0 scale forecast --horizon 1h --service web both.jsonl
	run jq -r -s 'map(.service) | unique | join(",")' <<<"$output"
	assert_output web
	run -0 scale forecast --horizon 1h --service 'c*' --metric rps both.jsonl
	run jq -r -s 'map(.service) | unique | join(",")' <<<"$output"
	assert_output cart
	run -0 --separate-stderr scale forecast --metric cpu both.jsonl
	assert_output ''
	assert_equal "$stderr" ''
}

# ---- forecast: input and usage ---------------------------------------------

@test "forecast: empty input, a bad line, --strict, a missing file" {
	run -0 --separate-stderr scale forecast </dev/null
	assert_output ''
	line 48 >good.jsonl
	{ head -3 good.jsonl; echo '{"service":"web"'; echo '{"service":"web","ts":1,"metric":"rps","value":"x"}';
		tail -n +4 good.jsonl; } >bad.jsonl
	run -3 --separate-stderr scale forecast --method linear --horizon 1h bad.jsonl
	assert_line --index 0 --partial '"demand":580'
	[ "${#stderr_lines[@]}" -eq 2 ]
	assert_equal "${stderr_lines[0]%%: *}" "ofs-scale"
	[[ ${stderr_lines[0]} == "ofs-scale: bad.jsonl:4: "* ]]
	[[ ${stderr_lines[1]} == "ofs-scale: bad.jsonl:5: "* ]]
	run -3 --separate-stderr scale forecast --strict --method linear bad.jsonl
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ]
	run -2 --separate-stderr scale forecast missing.jsonl
	assert_equal "$stderr" "ofs-scale: cannot open 'missing.jsonl': No such file or directory"
}

@test "forecast: usage errors exit 2 with the reason" {
	local -a cases=(
		"--step 7m|--step: 7m must divide a daily season into 2 steps or more"
		"--step 1d|--step: 1d must divide a daily season into 2 steps or more"
		"--step 1500ms --season none|--step: must be a whole number of seconds, got '1s500ms'"
		"--holdout 90m|--holdout: must be a whole number of steps of 1h"
		"--holdout 0s|--holdout: must be more than 0"
		"--step 0|--step: must be more than 0"
		"--method arima|--method: unknown method 'arima' (want holt-winters or linear)"
		"--season yearly|--season: unknown season 'yearly' (want daily, weekly or none)"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr scale forecast ${c%%|*} </dev/null
		assert_equal "${stderr_lines[0]}" "ofs-scale forecast: ${c#*|}"
	done
	# a step that does not divide a day is fine without a season
	run -0 scale forecast --step 7m --method linear </dev/null
}

# ---- predictive decisions ---------------------------------------------------

# The policy of the predictive tests: rps per replica, a forecast an hour
# ahead.
predictive_policy() {
	cat >policy.json <<'EOF'
{"service": "cart", "minReplicas": 2, "maxReplicas": 20, "period": "15m",
 "metrics": [{"name": "rps", "target": {"averageValue": 150}}],
 "predictive": {"metric": "rps", "leadTime": "1h"}}
EOF
}

@test "decide --forecast pre-scales before the morning ramp" {
	predictive_policy
	trace 14 >history.jsonl
	scale forecast --horizon 1d history.jsonl >forecast.jsonl
	# day 15, 04:00 to 06:45: the reactive metric still sits at night level
	trace 15 14 | jq -c 'select(.ts >= 1794715200 and .ts < 1794725100)' >morning.jsonl
	run -0 scale decide --no-state -p policy.json --forecast forecast.jsonl morning.jsonl
	echo "$output" >decisions.jsonl
	# every reactive proposal stays at 2 replicas ...
	run -0 jq -s -c 'map(.metrics[0].proposal) | unique' decisions.jsonl
	assert_output '[2]'
	# ... yet before 07:00 a decision scales up on the forecast of the ramp
	run -0 jq -s -c 'map(select(.forecast.proposal > .current and .action == "up"))
		| .[0] | [.ts < "2026-11-15T07:00", .forecast.metric, .forecast.lead_s, .desired > 2]' decisions.jsonl
	assert_output '[true,"rps",3600,true]'
}

@test "decide --forecast never scales in on the forecast" {
	predictive_policy
	trace 14 >history.jsonl
	scale forecast --horizon 1d history.jsonl >forecast.jsonl
	# day 15 at 17:00 on 5 replicas at 140 rps each: within tolerance of
	# 150, so the reactive metric holds at 5; the forecast for 18:00 (about
	# 600 rps, 4 replicas) is lower
	cat >evening.jsonl <<'EOF'
{"service":"cart","ts":"2026-11-15T17:00:00Z","metric":"rps","value":140,"replicas":5,"ready_replicas":5}
EOF
	run -0 scale decide --no-state -p policy.json --forecast forecast.jsonl evening.jsonl
	assert_jq "$output" '.forecast.proposal < 5'
	assert_jq "$output" '[.metrics[0].proposal, .desired, .action] | @csv' '5,5,"none"'
}

# ---- plan ---------------------------------------------------------------------

@test "plan: growth compounds monthly; the months that pass max and budget" {
	run -0 --separate-stderr scale plan -p "$FIX/policy-plan.json" --growth 10 --months 8 \
		"$FIX/samples-plan.jsonl"
	assert_output "$(cat "$FIX/expected-plan.jsonl")"
	assert_equal "$stderr" "ofs-scale: warning: skipping service 'web': no policy matches it"
}

@test "plan: cases" {
	# args | service's samples | the summary's hits_max, hits_budget, costs and month 0 replicas
	local -a cases=(
		# no growth: 500 rps x 1.2 / 100 = 6 replicas, for ever
		"--growth 0 --months 3|null null 438 438 6"
		# 100 % a month: 6, 12 (over max 10 and budget 8) ...
		"--growth 100 --months 2|1 1 438 1752 6"
		# shrinking by half: 6, 3, then minReplicas 2
		"--growth -50 --months 2|null null 438 146 6"
		"--growth 10% --months 1|null null 438 511 6"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run -0 --separate-stderr scale plan -p "$FIX/policy-plan.json" ${c%%|*} "$FIX/samples-plan.jsonl"
		run jq -r -s '(.[-1] | [.hits_max_month, .hits_budget_month, .cost_per_month_now,
			.cost_per_month_end]) + [.[0].replicas] | map(tostring) | join(" ")' <<<"$output"
		assert_output "${c#*|}"
	done
}

@test "plan: without a catalogue costs are null; value metrics are left out" {
	cat >p.json <<'EOF'
{"service": "*", "maxReplicas": 4, "headroom": 0,
 "metrics": [{"name": "queue", "target": {"value": 30}},
             {"name": "cpu", "target": {"averageUtilization": 60}}]}
EOF
	cat >s.jsonl <<'EOF'
{"service":"worker","ts":"2026-11-01T00:00:00Z","metric":"queue","value":500}
{"service":"worker","ts":"2026-11-01T00:00:00Z","metric":"cpu","value":90,"replicas":2,"ready_replicas":2}
EOF
	run -0 scale plan -p p.json --months 1 --growth 50 s.jsonl
	assert_output - <<'EOF'
{"type":"scale.plan","ts":"2026-11-01T00:00:00.000000Z","service":"worker","month":0,"demand":{"cpu":180},"replicas":3,"cost_per_month":null,"over_max":false,"over_budget":false}
{"type":"scale.plan","ts":"2026-12-01T10:00:00.000000Z","service":"worker","month":1,"demand":{"cpu":270},"replicas":5,"cost_per_month":null,"over_max":true,"over_budget":false}
{"type":"scale.plan_summary","ts":"2026-11-01T00:00:00.000000Z","service":"worker","max_replicas":4,"hits_max_month":1,"hits_budget_month":null,"cost_per_month_now":null,"cost_per_month_end":null}
EOF
}

@test "plan: usage and policy errors exit 2" {
	run -2 --separate-stderr scale plan </dev/null
	assert_equal "${stderr_lines[0]}" "ofs-scale plan: a policy is required (-p file)"
	local -a cases=(
		"--growth -100|--growth: must be more than -100, got '-100'"
		"--growth x|--growth: invalid number 'x': expected digits"
		"--months 0|--months: must be 1..1200, got 0"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr scale plan -p "$FIX/policy-plan.json" ${c%%|*} </dev/null
		assert_equal "${stderr_lines[0]}" "ofs-scale plan: ${c#*|}"
	done
	echo '{"maxReplicas": 0}' >bad.json
	run -2 --separate-stderr scale plan -p bad.json </dev/null
	assert_output ''
	[ -n "$stderr" ]
}
