/*
 * simulate.c: `ofs-scale simulate`, a demand trace run through a policy
 * offline, to see how fast it reaches capacity and what that costs.
 *
 * The trace is the demand of one service for one metric (samples, summed
 * per time as `size` reads them), or a synthetic spike: a steady demand
 * that --replicas replicas serve at the target, then --spike times it
 * from one minute in. Every policy period the HPA (hpa.c) is asked with
 * the period's average demand spread over the ready replicas; a scale-up
 * adds replicas that become ready after --delay, a scale-down removes
 * replicas at once (those not ready yet first). Time moves from event
 * to event (evaluations, readiness, demand changes), so the figures are
 * exact: capacity is ready replicas x the metric's capacity per replica;
 * time to capacity runs from the first moment demand exceeded capacity
 * until capacity first covered it again; SLO violation minutes are all
 * the time demand exceeded capacity. One scale.simulation record; exit 1
 * when the time to capacity missed --mark.
 */
#include "common.h"

#include <math.h>

#include "cmds.h"
#include "cost.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "scale.h"
#include "timefmt.h"
#include "units.h"

#define SPIKE_AT (60 * SC_NS_PER_S)
/* the spike's clock starts at 2026-01-01T00:00:00Z */
#define SPIKE_BASE (1767225600LL * SC_NS_PER_S)

/* A step of the trace: demand from ts (relative) on. */
struct step {
	int64_t t;
	double demand;
};

struct batch {
	int64_t ready_at;
	int count;
};

struct sim {
	const struct sc_policy *p;
	int midx;               /* the metric's index in the policy */
	const struct sc_metric *m;
	int64_t base, end, delay;
	const struct step *steps;
	size_t nsteps;
	/* state */
	int ready, current;
	struct batch *pending;
	size_t npending, apending;
	struct sc_history h;
	struct sc_decision d;
	struct sc_observation *obs;
	/* results */
	double peak_demand, violation_s, replica_s;
	int peak_replicas, events;
	int64_t first_short, ttc; /* -1: none */
	bool in_short;
};

static int64_t parse_dur(const char *opt, const char *arg)
{
	struct strbuf err = SB_INIT;
	int64_t ns;
	if (dur_parse(arg, &ns, &err) < 0)
		die_usage("%s: %s", opt, err.buf);
	return ns;
}

/* "3x", "300%" or "3": the factor, > 0. */
static double parse_spike(const char *arg)
{
	char *s = xstrdup(arg);
	size_t len = strlen(s);
	double div = 1;
	if (len && (s[len - 1] == 'x' || s[len - 1] == 'X')) {
		s[len - 1] = '\0';
	} else if (len && s[len - 1] == '%') {
		s[len - 1] = '\0';
		div = 100;
	}
	struct strbuf err = SB_INIT;
	double v;
	if (num_parse_double(s, &v, &err) < 0)
		die_usage("--spike: want a factor like 3x or 300%%, got '%s'", arg);
	if (v <= 0)
		die_usage("--spike: must be above 0, got '%s'", arg);
	free(s);
	return v / div;
}

static double cap_of(const struct sim *s)
{
	return s->ready * s->m->capacity;
}

static void check_cover(struct sim *s, int64_t t, double demand)
{
	double cap = cap_of(s);
	bool shortfall = demand > cap + 1e-9 * (cap > 1 ? cap : 1);
	if (shortfall && !s->in_short) {
		s->in_short = true;
		if (s->first_short < 0)
			s->first_short = t;
	} else if (!shortfall && s->in_short) {
		s->in_short = false;
		if (s->ttc < 0)
			s->ttc = t - s->first_short;
	}
}

/* Remove n replicas at once: the ones not ready yet (newest first), then
 * ready ones. */
static void remove_replicas(struct sim *s, int n)
{
	while (n > 0 && s->npending) {
		struct batch *b = &s->pending[s->npending - 1];
		int k = b->count < n ? b->count : n;
		b->count -= k;
		n -= k;
		if (!b->count)
			s->npending--;
	}
	s->ready -= n < s->ready ? n : s->ready;
}

static void evaluate(struct sim *s, int64_t t, double avg)
{
	const struct sc_policy *p = s->p;
	for (size_t i = 0; i < p->nmetrics; i++)
		memset(&s->obs[i], 0, sizeof(s->obs[i]));
	struct sc_observation *o = &s->obs[s->midx];
	if (s->m->type == SC_VALUE) {
		o->present = true;
		o->sum = avg;
		o->reporting = 1;
	} else if (s->ready > 0) {
		/* every ready replica reports demand / ready: their sum is the demand */
		o->present = true;
		o->sum = avg;
		o->reporting = s->ready;
		o->unready = s->current - s->ready;
	}
	sc_hpa_decide(p, &s->h, s->obs, s->current, s->ready, s->base + t, -1, &s->d);
	int desired = s->d.desired;
	if (desired == s->current)
		return;
	if (desired > s->current) {
		if (s->delay == 0) {
			s->ready += desired - s->current;
		} else {
			ALLOC_GROW(s->pending, s->npending + 1, s->apending);
			s->pending[s->npending].ready_at = t + s->delay;
			s->pending[s->npending++].count = desired - s->current;
		}
	} else {
		remove_replicas(s, s->current - desired);
	}
	sc_history_scaled(&s->h, s->base + t, s->current, desired);
	s->events++;
	s->current = desired;
	if (desired > s->peak_replicas)
		s->peak_replicas = desired;
}

static void run(struct sim *s)
{
	int64_t period = s->p->period, t = 0, next_eval = period;
	size_t si = 0;
	double demand = s->steps[0].demand, period_sum = 0;
	while (si + 1 < s->nsteps && s->steps[si + 1].t <= 0)
		demand = s->steps[++si].demand;
	s->peak_demand = demand;
	s->peak_replicas = s->current;
	check_cover(s, 0, demand);
	while (t < s->end) {
		int64_t next = s->end < next_eval ? s->end : next_eval;
		if (s->npending && s->pending[0].ready_at < next)
			next = s->pending[0].ready_at;
		if (si + 1 < s->nsteps && s->steps[si + 1].t < next)
			next = s->steps[si + 1].t;
		double dt = (double)(next - t) / SC_NS_PER_S;
		if (demand > cap_of(s) + 1e-9 * (cap_of(s) > 1 ? cap_of(s) : 1))
			s->violation_s += dt;
		s->replica_s += s->current * dt;
		period_sum += demand * dt;
		t = next;
		if (t >= s->end)
			break;
		size_t done = 0;
		while (done < s->npending && s->pending[done].ready_at <= t)
			s->ready += s->pending[done++].count;
		if (done) {
			memmove(s->pending, s->pending + done,
				(s->npending - done) * sizeof(*s->pending));
			s->npending -= done;
		}
		if (t == next_eval) {
			evaluate(s, t, period_sum / ((double)period / SC_NS_PER_S));
			period_sum = 0;
			next_eval += period;
		}
		while (si + 1 < s->nsteps && s->steps[si + 1].t <= t)
			demand = s->steps[++si].demand;
		if (demand > s->peak_demand)
			s->peak_demand = demand;
		check_cover(s, t, demand);
	}
}

/* The trace of the metric from samples: one service's demand per time. */
static struct step *read_trace(const struct sc_policy *p, const struct sc_metric *m,
			       char **files, int nfiles, bool strict, int64_t *t0, size_t *n)
{
	struct sc_demand dm;
	struct sc_demand_filter only = { p->service, NULL };
	int rc = sc_demand_read(&dm, files, nfiles, strict, &only);
	if (rc < 0 && (strict || !dm.n)) {
		/* what stopped the reading was reported: a bad line under
		 * --strict, or a file that could not be read */
		sc_demand_release(&dm);
		exit(jsonl_exit_status(strict ? EXIT_OK : EXIT_USAGE));
	}
	struct step *steps = NULL;
	size_t alloc = 0, svc = SIZE_MAX;
	*n = 0;
	for (size_t i = 0; i < dm.n; i++) {
		const struct sc_instant *pt = &dm.v[i];
		if (strcmp(dm.metrics[pt->metric], m->name))
			continue;
		if (svc == SIZE_MAX)
			svc = pt->service;
		if (pt->service != svc) {
			error("the trace holds '%s' samples of more than one service ('%s', '%s'): "
			      "simulate runs one",
			      m->name, dm.services[svc], dm.services[pt->service]);
			sc_demand_release(&dm);
			exit(EXIT_USAGE);
		}
		ALLOC_GROW(steps, *n + 1, alloc);
		if (!*n)
			*t0 = pt->ts;
		steps[*n].t = pt->ts - *t0;
		steps[(*n)++].demand = pt->demand;
	}
	sc_demand_release(&dm);
	if (!*n) {
		error("the trace holds no samples of metric '%s'", m->name);
		exit(jsonl_exit_status(EXIT_USAGE));
	}
	return steps;
}

static int start_replicas(const struct sc_policy *p, const struct sc_metric *m, double demand0,
			  bool spike)
{
	int lo = p->min_replicas > 1 ? p->min_replicas : 1;
	double n = spike ? 4 : m->type == SC_VALUE ? lo : ceil(demand0 / m->target - 1e-9);
	if (n < lo)
		n = lo;
	if (n > p->max_replicas)
		n = p->max_replicas;
	return (int)n;
}

struct args {
	const char *policy, *metric, *spike;
	int64_t delay, duration, mark;
	bool has_duration, strict;
	int replicas;
	char **files;
	int nfiles;
};

static void write_record(const struct sim *s, const struct args *a, double factor)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "scale.simulation");
	jw_kv_str(&w, "policy", a->policy);
	if (a->spike) {
		struct strbuf t = SB_INIT;
		char num[32];
		jw_format_double(factor, num);
		sb_addf(&t, "spike %sx", num);
		jw_kv_str(&w, "trace", t.buf);
		sb_release(&t);
	} else {
		jw_kv_str(&w, "trace", a->nfiles ? a->files[0] : "-");
	}
	jw_kv_str(&w, "metric", s->m->name);
	jw_kv_double(&w, "delay_s", (double)s->delay / SC_NS_PER_S);
	jw_kv_double(&w, "period_s", (double)s->p->period / SC_NS_PER_S);
	jw_kv_double(&w, "duration_s", (double)s->end / SC_NS_PER_S);
	jw_kv_double(&w, "peak_demand", round(s->peak_demand * 1e6) / 1e6);
	jw_key(&w, "time_to_capacity_s");
	if (s->first_short < 0)
		jw_int(&w, 0);
	else if (s->ttc < 0)
		jw_null(&w);
	else
		jw_double(&w, (double)s->ttc / SC_NS_PER_S);
	jw_kv_double(&w, "mark_s", (double)a->mark / SC_NS_PER_S);
	bool met = s->first_short < 0 || (s->ttc >= 0 && s->ttc <= a->mark);
	jw_kv_bool(&w, "met_mark", met);
	jw_kv_double(&w, "slo_violation_minutes", round(s->violation_s / 60 * 1e6) / 1e6);
	jw_kv_double(&w, "replica_minutes", round(s->replica_s / 60 * 1e6) / 1e6);
	jw_kv_int(&w, "peak_replicas", s->peak_replicas);
	double price = sc_cost_per_hour(s->p, 1);
	if (price >= 0)
		jw_kv_double(&w, "cost", round(price * s->replica_s / 3600 * 1e6) / 1e6);
	jw_kv_int(&w, "scale_events", s->events);
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

static void parse_args(int argc, char **argv, struct opt_parser *op, struct args *a)
{
	struct strbuf err = SB_INIT;
	long long n;
	int c;
	opt_begin(op, argc, argv);
	while ((c = opt_next(op)) != OPT_DONE) {
		switch (c) {
		case 'p':
			a->policy = op->arg;
			break;
		case SOPT_DELAY:
			a->delay = parse_dur("--delay", op->arg);
			break;
		case SOPT_DURATION:
			a->duration = parse_dur("--duration", op->arg);
			a->has_duration = true;
			if (a->duration <= 0)
				opt_usage_error(op, "--duration: must be above 0, got '%s'", op->arg);
			break;
		case SOPT_MARK:
			a->mark = parse_dur("--mark", op->arg);
			break;
		case SOPT_METRIC:
			a->metric = op->arg;
			break;
		case SOPT_REPLICAS:
			if (num_parse_int(op->arg, 1, 1000000, &n, &err) < 0)
				opt_usage_error(op, "--replicas: %s", err.buf);
			a->replicas = (int)n;
			break;
		case SOPT_SPIKE:
			a->spike = op->arg;
			break;
		case SOPT_STRICT:
			a->strict = true;
			break;
		default:
			break;
		}
	}
	a->nfiles = opt_operands(op, &a->files);
	if (!a->policy)
		opt_usage_error(op, "a policy (-p) is required");
	if (a->nfiles > 1)
		opt_usage_error(op, "one trace at a time, got %d files", a->nfiles);
	if (a->spike && a->nfiles)
		opt_usage_error(op, "--spike makes its own trace: drop the input file");
	sb_release(&err);
}

int cmd_simulate(int argc, char **argv)
{
	struct opt_parser op;
	struct args a = { 0 };
	a.delay = 30 * SC_NS_PER_S;
	a.duration = 600 * SC_NS_PER_S;
	a.mark = 120 * SC_NS_PER_S;
	parse_args(argc, argv, &op, &a);
	double factor = a.spike ? parse_spike(a.spike) : 0;
	struct sc_policy p;
	if (sc_policy_load(a.policy, &p) < 0) {
		opt_end(&op);
		return EXIT_USAGE;
	}
	int midx = a.metric ? sc_policy_metric(&p, a.metric) : 0;
	if (midx < 0 || (size_t)midx >= p.nmetrics) {
		error("%s: no metric '%s' in the policy", a.policy, a.metric ? a.metric : "");
		sc_policy_free(&p);
		opt_end(&op);
		return EXIT_USAGE;
	}
	struct sim s = { 0 };
	s.p = &p;
	s.midx = midx;
	s.m = &p.metrics[midx];
	s.delay = a.delay;
	s.first_short = s.ttc = -1;
	struct step *steps;
	size_t nsteps;
	if (a.spike) {
		s.current = a.replicas ? a.replicas : start_replicas(&p, s.m, 0, true);
		double base = s.m->type == SC_VALUE ? s.m->target : s.current * s.m->target;
		nsteps = 2;
		steps = xcalloc(2, sizeof(*steps));
		steps[0].demand = base;
		steps[1].t = SPIKE_AT;
		steps[1].demand = base * factor;
		s.base = SPIKE_BASE;
		s.end = a.duration;
	} else {
		int64_t t0 = 0;
		steps = read_trace(&p, s.m, a.files, a.nfiles, a.strict, &t0, &nsteps);
		s.current = a.replicas ? a.replicas : start_replicas(&p, s.m, steps[0].demand, false);
		s.base = t0;
		s.end = steps[nsteps - 1].t + p.period;
		if (a.has_duration && a.duration < s.end)
			s.end = a.duration;
	}
	s.ready = s.current;
	s.steps = steps;
	s.nsteps = nsteps;
	s.obs = xcalloc(p.nmetrics, sizeof(*s.obs));
	sc_history_init(&s.h);
	sc_decision_init(&s.d);
	run(&s);
	write_record(&s, &a, factor);
	bool met = s.first_short < 0 || (s.ttc >= 0 && s.ttc <= a.mark);
	sc_decision_release(&s.d);
	sc_history_release(&s.h);
	free(s.obs);
	free(s.pending);
	free(steps);
	sc_policy_free(&p);
	opt_end(&op);
	return jsonl_exit_status(met ? EXIT_OK : EXIT_NO);
}
