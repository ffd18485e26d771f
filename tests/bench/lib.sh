#!/bin/bash
# tests/bench/lib.sh: helpers for benchmark scripts. compare runs our
# command and a peer's on the same input in the same run, takes the best
# of several wall-clock runs of each, and prints both figures and their
# ratio. Outputs are compared first when asked, so a fast wrong answer
# cannot win. Timings are printed, never asserted.

BENCH_RUNS=${BENCH_RUNS:-3}

# best_time CMD: best wall-clock seconds of BENCH_RUNS runs of CMD (sh -c).
best_time() {
	local best="" i start end t
	for ((i = 0; i < BENCH_RUNS; i++)); do
		start=$(date +%s%N)
		sh -c "$1" >/dev/null 2>&1 || { echo "bench: command failed: $1" >&2; return 1; }
		end=$(date +%s%N)
		t=$(((end - start) / 1000))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

# compare LABEL OURS PEER: print both best times and PEER/OURS.
compare() {
	local label=$1 ours=$2 peer=$3 to tp
	to=$(best_time "$ours") || return 1
	tp=$(best_time "$peer") || return 1
	awk -v l="$label" -v o="$to" -v p="$tp" -v oc="$ours" -v pc="$peer" 'BEGIN {
		printf "%s\n", l
		printf "  ofs   %9.3f s   %s\n", o / 1e6, oc
		printf "  peer  %9.3f s   %s\n", p / 1e6, pc
		printf "  ratio (peer / ofs) %.2fx\n", (o > 0 ? p / o : 0)
	}'
}

# same_output OURS PEER: fail unless both commands print the same bytes.
same_output() {
	if ! cmp -s <(sh -c "$1") <(sh -c "$2"); then
		echo "bench: outputs differ between '$1' and '$2'" >&2
		return 1
	fi
}

# measure CMD [RUNS]: the best wall time (s) of RUNS runs of CMD (sh -c;
# default BENCH_RUNS), with the CPU seconds (user + system) and peak RSS
# (kB) of that run from GNU time, as "wall cpu rss" ("-" where GNU time is
# missing). Needs $work, a scratch directory of the caller's.
measure() {
	local best="" cpu="" rss="-" i w c s m t0 t1
	for ((i = 0; i < ${2:-$BENCH_RUNS}; i++)); do
		t0=$(date +%s%N)
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -f '%U %S %M' -o "${work:?}/time" sh -c "$1" >/dev/null 2>&1 ||
				{ echo "bench: command failed: $1" >&2; return 1; }
			t1=$(date +%s%N)
			read -r c s m <"${work:?}/time"
			c=$(awk -v u="$c" -v s="$s" 'BEGIN { print u + s }')
		else
			sh -c "$1" >/dev/null 2>&1 || { echo "bench: command failed: $1" >&2; return 1; }
			t1=$(date +%s%N)
			c="-" m="-"
		fi
		w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
		if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$w cpu=$c rss=$m
		fi
	done
	echo "$best $cpu $rss"
}
