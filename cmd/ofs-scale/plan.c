/*
 * plan.c: `ofs-scale plan`, capacity planning: how many replicas each
 * service will need month by month as its demand grows, when that passes
 * the policy's maxReplicas or what its budget pays for, and what it
 * costs.
 *
 * The demand of a metric is the highest seen in the samples: the maximum
 * over its instants of demand (demand.c; not a percentile: capacity must
 * meet the worst moment on record). Month m's demand is the peak times
 * (1 + growth)^m, compounded monthly, for m = 0 (now) to --months. The
 * replicas a metric needs are ceil(demand x (1 + headroom) / target),
 * the target being per replica (averageUtilization or averageValue
 * metrics; "value" metrics say nothing about replicas and are left out);
 * the service needs the most any metric needs, and never fewer than
 * minReplicas. A month is 730 hours; its records are stamped that many
 * hours apart from the last sample of the service.
 *
 * Output per service (the first policy whose service matches it): one
 * scale.plan record per month, then one scale.plan_summary with the
 * first months that need more than maxReplicas and more than the budget
 * pays for (null when none), and the cost per month now and at the end.
 */
#include "common.h"
#include <math.h>

#include "cmds.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "scale.h"
#include "timefmt.h"
#include "units.h"

#define MONTH_NS (730LL * 3600 * SC_NS_PER_S)
#define HOURS_PER_MONTH 730.0

/* A service: its instants, d->v[first..end), sorted by metric and time. */
struct pl_service {
	const char *name;
	const struct sc_demand *d;
	size_t first, end;
	int64_t last_ts;
};

struct pl_opts {
	struct sc_policy *policies;
	const struct sc_policy **pv;
	size_t npolicies;
	double growth; /* fraction per month */
	int months;
	bool strict;
};

/* round_to: v to digits decimals (dividing by a power of ten gives the
 * double nearest the decimal, multiplying by 0.01 would not). */
static double round_to(double v, int digits)
{
	double k = pow(10, digits);
	return isfinite(v) ? round(v * k) / k : v;
}

/* The peak demand of svc's metric, or NAN when it has no samples of it. */
static double peak_demand(const struct pl_service *svc, const char *metric)
{
	double peak = NAN;
	for (size_t i = svc->first; i < svc->end; i++) {
		const struct sc_instant *in = &svc->d->v[i];
		if (strcmp(svc->d->metrics[in->metric], metric))
			continue;
		if (isnan(peak) || in->demand > peak)
			peak = in->demand;
	}
	return peak;
}

static int cmp_service(const void *a, const void *b)
{
	const struct pl_service *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* replicas for demand of metric m, with headroom; a hair under a whole
 * number is that number (0.1 x 3 is not quite 0.3 in binary). */
static int replicas_for(const struct sc_metric *m, double demand, double headroom)
{
	double r = ceil(demand * (1 + headroom) / m->target - 1e-9);
	if (r < 0)
		return 0;
	return r > INT32_MAX ? INT32_MAX : (int)r;
}

struct pl_month {
	int replicas;
	double cost; /* per month, -1 without an instance type */
	bool over_max, over_budget;
};

static struct pl_month plan_month(const struct sc_policy *p, const double *peak, double factor)
{
	struct pl_month mo = { 0, -1, false, false };
	for (size_t i = 0; i < p->nmetrics; i++) {
		if (isnan(peak[i]))
			continue;
		int r = replicas_for(&p->metrics[i], peak[i] * factor, p->headroom);
		if (r > mo.replicas)
			mo.replicas = r;
	}
	if (mo.replicas < p->min_replicas)
		mo.replicas = p->min_replicas;
	double hour = sc_cost_per_hour(p, mo.replicas);
	mo.cost = hour < 0 ? -1 : round_to(hour * HOURS_PER_MONTH, 2);
	mo.over_max = mo.replicas > p->max_replicas;
	mo.over_budget = mo.replicas > sc_budget_max(p);
	return mo;
}

static void kv_cost(struct jw *w, const char *key, double cost)
{
	jw_key(w, key);
	if (cost < 0)
		jw_null(w);
	else
		jw_double(w, cost);
}

static void kv_month(struct jw *w, const char *key, int month)
{
	jw_key(w, key);
	if (month < 0)
		jw_null(w);
	else
		jw_int(w, month);
}

static void plan_service(const struct pl_service *svc, const struct sc_policy *p,
			 const struct pl_opts *o, struct jw *w)
{
	double *peak = xcalloc(p->nmetrics ? p->nmetrics : 1, sizeof(*peak));
	size_t used = 0;
	for (size_t i = 0; i < p->nmetrics; i++) {
		peak[i] = NAN;
		if (p->metrics[i].type == SC_VALUE || !(p->metrics[i].target > 0))
			continue;
		peak[i] = peak_demand(svc, p->metrics[i].name);
		if (!isnan(peak[i]))
			used++;
	}
	if (!used) {
		warn("skipping service '%s': no samples of a per-replica metric of '%s'",
		     svc->name, p->file);
		free(peak);
		return;
	}
	int hits_max = -1, hits_budget = -1;
	double cost_now = -1, cost_end = -1;
	for (int m = 0; m <= o->months; m++) {
		double factor = pow(1 + o->growth, m);
		struct pl_month mo = plan_month(p, peak, factor);
		if (mo.over_max && hits_max < 0)
			hits_max = m;
		if (mo.over_budget && hits_budget < 0)
			hits_budget = m;
		if (m == 0)
			cost_now = mo.cost;
		cost_end = mo.cost;
		rec_begin_at(w, "scale.plan", svc->last_ts + m * MONTH_NS);
		jw_kv_str(w, "service", svc->name);
		jw_kv_int(w, "month", m);
		jw_key(w, "demand");
		jw_obj_begin(w);
		for (size_t i = 0; i < p->nmetrics; i++)
			if (!isnan(peak[i]))
				jw_kv_double(w, p->metrics[i].name,
					     round_to(peak[i] * factor, 3));
		jw_obj_end(w);
		jw_kv_int(w, "replicas", mo.replicas);
		kv_cost(w, "cost_per_month", mo.cost);
		jw_kv_bool(w, "over_max", mo.over_max);
		jw_kv_bool(w, "over_budget", mo.over_budget);
		rec_end(w, out_stdout());
	}
	rec_begin_at(w, "scale.plan_summary", svc->last_ts);
	jw_kv_str(w, "service", svc->name);
	jw_kv_int(w, "max_replicas", p->max_replicas);
	kv_month(w, "hits_max_month", hits_max);
	kv_month(w, "hits_budget_month", hits_budget);
	kv_cost(w, "cost_per_month_now", cost_now);
	kv_cost(w, "cost_per_month_end", cost_end);
	rec_end(w, out_stdout());
	free(peak);
}

static void parse_options(struct opt_parser *p, struct pl_opts *o, char ***paths, size_t *npaths)
{
	struct strbuf err = SB_INIT;
	size_t apaths = 0;
	long long months;
	int c;
	while ((c = opt_next(p)) != OPT_DONE) {
		sb_reset(&err);
		switch (c) {
		case 'p':
			ALLOC_GROW(*paths, *npaths + 1, apaths);
			(*paths)[(*npaths)++] = (char *)p->arg;
			break;
		case SOPT_GROWTH: {
			char *num = xstrdup(p->arg);
			size_t len = strlen(num);
			if (len && num[len - 1] == '%')
				num[len - 1] = '\0';
			int bad = num_parse_double(num, &o->growth, &err) < 0;
			free(num);
			if (bad)
				opt_usage_error(p, "--growth: %s", err.buf);
			if (!(o->growth > -100))
				opt_usage_error(p, "--growth: must be more than -100, got '%s'",
						p->arg);
			o->growth /= 100;
			break;
		}
		case SOPT_MONTHS:
			if (num_parse_int(p->arg, 1, 1200, &months, &err) < 0)
				opt_usage_error(p, "--months: %s", err.buf);
			o->months = (int)months;
			break;
		case SOPT_STRICT:
			o->strict = true;
			break;
		default:
			break;
		}
	}
	sb_release(&err);
}

/* Load every policy; all problems are reported before giving up. A
 * policy that failed still holds what sc_policy_free releases. */
static int load_policies(struct pl_opts *o, char **paths, size_t npaths)
{
	int rc = 0;
	o->policies = xcalloc(npaths, sizeof(*o->policies));
	o->pv = xcalloc(npaths, sizeof(*o->pv));
	for (size_t i = 0; i < npaths; i++) {
		if (sc_policy_load(paths[i], &o->policies[i]) < 0)
			rc = -1;
		o->pv[i] = &o->policies[i];
		o->npolicies++;
	}
	return rc;
}

static void free_policies(struct pl_opts *o)
{
	for (size_t i = 0; i < o->npolicies; i++)
		sc_policy_free(&o->policies[i]);
	free(o->policies);
	free(o->pv);
}

static void plan_all(const struct sc_demand *d, const struct pl_opts *o)
{
	size_t n = 0;
	struct pl_service *list = xcalloc(d->nservices ? d->nservices : 1, sizeof(*list));
	for (size_t i = 0, end; i < d->n; i = end) {
		struct pl_service *svc = &list[n++];
		svc->name = d->services[d->v[i].service];
		svc->d = d;
		svc->first = i;
		svc->last_ts = INT64_MIN;
		for (end = i; end < d->n && d->v[end].service == d->v[i].service; end++)
			if (d->v[end].ts > svc->last_ts)
				svc->last_ts = d->v[end].ts;
		svc->end = end;
	}
	qsort(list, n, sizeof(*list), cmp_service);
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	for (size_t k = 0; k < n; k++) {
		const struct sc_policy *p = sc_policy_for(o->pv, o->npolicies, list[k].name);
		if (!p)
			warn("skipping service '%s': no policy matches it", list[k].name);
		else
			plan_service(&list[k], p, o, &w);
	}
	sb_release(&sb);
	free(list);
}

int cmd_plan(int argc, char **argv)
{
	struct pl_opts o = { NULL, NULL, 0, 0, 12, false };
	struct opt_parser p;
	char **paths = NULL;
	size_t npaths = 0;
	opt_begin(&p, argc, argv);
	parse_options(&p, &o, &paths, &npaths);
	if (!npaths)
		opt_usage_error(&p, "a policy is required (-p file)");
	char **files;
	int nfiles = opt_operands(&p, &files);
	if (load_policies(&o, paths, npaths) < 0) {
		free(paths);
		free_policies(&o);
		opt_end(&p);
		return EXIT_USAGE;
	}
	free(paths);
	struct sc_demand d;
	int rc = sc_demand_read(&d, files, nfiles, o.strict, NULL);
	opt_end(&p);
	if (rc == 0 || !o.strict)
		plan_all(&d, &o);
	sc_demand_release(&d);
	free_policies(&o);
	return jsonl_exit_status(EXIT_OK);
}
