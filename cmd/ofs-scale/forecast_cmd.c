/*
 * forecast_cmd.c: `ofs-scale forecast`, the demand of every service and
 * metric in the samples predicted step by step with Holt-Winters or a
 * linear trend, as scale.forecast records a predictive policy reads
 * (decide --forecast), plus one scale.model record per series saying
 * what was fitted and how well.
 *
 * The demand series. Steps are aligned to the epoch (a 1h step starts on
 * the hour, UTC). The instants of demand are demand.c's (the pods of one
 * ts add up to the service's demand, a service-level sample stands for
 * its value times its ready replicas); the demand of a step is the mean
 * of the instants in it, and a step with none is a gap the model fills
 * itself.
 *
 * Seasons: daily is 1d/step steps, weekly 7d/step; the step must divide
 * the season. With --holdout D the last D of the history is left out of
 * the fit, forecast, and compared: its records carry "actual" and the
 * model "holdout_mape". The forecast always runs from the end of the
 * fitted span to --horizon past the last step of the history.
 *
 * A series with too little history for its model (Holt-Winters needs two
 * full seasons) is skipped with a warning naming the service and metric;
 * the others are still forecast. When there were series and none could
 * be fitted the exit status is 1 (no forecast could be made).
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

#define DAY_NS (86400LL * SC_NS_PER_S)
#define MAX_STEPS ((size_t)1 << 22)

enum season_kind { SEASON_DAILY, SEASON_WEEKLY, SEASON_NONE };

struct fc_opts {
	enum sc_method method;
	enum season_kind season;
	int64_t step, horizon, holdout;
	const char *service, *metric;
	bool strict;
};

/* One series: the instants of a service's metric. */
struct fc_series {
	const char *service, *metric;
	const struct sc_instant *v;
	size_t n;
};

static double round3(double v)
{
	return isfinite(v) ? round(v * 1000.0) / 1000.0 : v;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b < 0) ? q - 1 : q;
}

static int cmp_series(const void *a, const void *b)
{
	const struct fc_series *x = a, *y = b;
	int c = strcmp(x->service, y->service);
	return c ? c : strcmp(x->metric, y->metric);
}

/* The step series of ser's instants (the rule above). Returns -1 when it
 * would be longer than MAX_STEPS. */
static int build_series(const struct fc_series *ser, int64_t step, struct sc_series *out)
{
	int64_t b0 = floor_div(ser->v[0].ts, step);
	int64_t b1 = floor_div(ser->v[ser->n - 1].ts, step);
	if ((uint64_t)(b1 - b0) >= MAX_STEPS)
		return -1;
	size_t n = (size_t)(b1 - b0) + 1;
	double *sum = xcalloc(n, sizeof(*sum));
	int *cnt = xcalloc(n, sizeof(*cnt));
	for (size_t i = 0; i < ser->n; i++) {
		size_t b = (size_t)(floor_div(ser->v[i].ts, step) - b0);
		sum[b] += ser->v[i].demand;
		cnt[b]++;
	}
	out->start = b0 * step;
	out->step = step;
	out->n = n;
	out->values = sum;
	for (size_t b = 0; b < n; b++)
		sum[b] = cnt[b] ? sum[b] / cnt[b] : NAN;
	free(cnt);
	return 0;
}

static size_t season_steps(const struct fc_opts *o)
{
	if (o->method == SC_LINEAR || o->season == SEASON_NONE)
		return 0;
	return (size_t)((o->season == SEASON_DAILY ? DAY_NS : 7 * DAY_NS) / o->step);
}

static void write_forecast(struct jw *w, const struct fc_series *ser, const struct sc_model *m,
			   int64_t ts, const struct fc_opts *o, bool held, double actual)
{
	rec_begin_at(w, "scale.forecast", ts);
	jw_kv_str(w, "service", ser->service);
	jw_kv_str(w, "metric", ser->metric);
	jw_kv_double(w, "demand", round3(sc_model_predict(m, ts)));
	jw_kv_str(w, "method", m->method == SC_LINEAR ? "linear" : "holt-winters");
	jw_kv_int(w, "step_s", o->step / SC_NS_PER_S);
	if (held)
		jw_kv_double(w, "actual", actual);
	rec_end(w, out_stdout());
}

static void write_model(struct jw *w, const struct fc_series *ser, const struct sc_model *m,
			const struct fc_opts *o, double holdout_mape)
{
	rec_begin(w, "scale.model");
	jw_kv_str(w, "service", ser->service);
	jw_kv_str(w, "metric", ser->metric);
	jw_kv_str(w, "method", m->method == SC_LINEAR ? "linear" : "holt-winters");
	jw_kv_int(w, "step_s", o->step / SC_NS_PER_S);
	jw_kv_int(w, "season_steps", (int64_t)m->season);
	if (m->method == SC_HOLT_WINTERS) {
		jw_kv_double(w, "alpha", m->alpha);
		jw_kv_double(w, "beta", m->beta);
		jw_kv_double(w, "gamma", m->gamma);
	}
	jw_kv_double(w, "level", round3(m->level));
	jw_kv_double(w, "trend", round3(m->trend));
	jw_kv_int(w, "fitted_steps", (int64_t)m->n);
	jw_kv_double(w, "mape", round3(m->mape));
	if (o->holdout)
		jw_kv_double(w, "holdout_mape", round3(holdout_mape));
	rec_end(w, out_stdout());
}

/* Fit and forecast one series; returns 0, or -1 when it was skipped. */
static int forecast_series(const struct fc_series *ser, const struct fc_opts *o, struct jw *w)
{
	struct sc_series all;
	if (build_series(ser, o->step, &all) < 0) {
		warn("skipping service '%s' metric '%s': the samples span more than %zu steps",
		     ser->service, ser->metric, MAX_STEPS);
		return -1;
	}
	size_t held = (size_t)(o->holdout / o->step);
	if (held >= all.n) {
		warn("skipping service '%s' metric '%s': --holdout leaves no history to fit "
		     "(%zu steps in all)", ser->service, ser->metric, all.n);
		free(all.values);
		return -1;
	}
	struct sc_series fit = all;
	fit.n = all.n - held;
	struct sc_model m;
	struct strbuf err = SB_INIT;
	if (sc_model_fit(&fit, o->method, season_steps(o), &m, &err) < 0) {
		warn("skipping service '%s' metric '%s': %s", ser->service, ser->metric,
		     err.buf);
		sb_release(&err);
		sc_model_release(&m);
		free(all.values);
		return -1;
	}
	sb_release(&err);
	size_t ahead = held + (size_t)((o->horizon + o->step - 1) / o->step);
	double ape = 0;
	size_t nape = 0;
	for (size_t k = 0; k < ahead; k++) {
		size_t idx = fit.n + k;
		int64_t ts = all.start + (int64_t)idx * o->step;
		double actual = idx < all.n ? round3(all.values[idx]) : NAN;
		if (k < held && !isnan(actual) && actual != 0) {
			ape += fabs(round3(sc_model_predict(&m, ts)) - actual) / fabs(actual) * 100;
			nape++;
		}
		write_forecast(w, ser, &m, ts, o, k < held, actual);
	}
	write_model(w, ser, &m, o, nape ? ape / (double)nape : NAN);
	sc_model_release(&m);
	free(all.values);
	return 0;
}

static int64_t parse_duration(struct opt_parser *p, const char *name, bool zero_ok)
{
	struct strbuf err = SB_INIT;
	int64_t ns;
	if (dur_parse(p->arg, &ns, &err) < 0)
		opt_usage_error(p, "--%s: %s", name, err.buf);
	if (ns < 0 || (!zero_ok && ns == 0))
		opt_usage_error(p, "--%s: must be more than 0", name);
	sb_release(&err);
	return ns;
}

static void parse_options(struct opt_parser *p, struct fc_opts *o)
{
	int c;
	while ((c = opt_next(p)) != OPT_DONE) {
		switch (c) {
		case SOPT_HOLDOUT:
			o->holdout = parse_duration(p, "holdout", false);
			break;
		case SOPT_HORIZON:
			o->horizon = parse_duration(p, "horizon", true);
			break;
		case SOPT_METHOD:
			if (!strcmp(p->arg, "holt-winters"))
				o->method = SC_HOLT_WINTERS;
			else if (!strcmp(p->arg, "linear"))
				o->method = SC_LINEAR;
			else
				opt_usage_error(p, "--method: unknown method '%s' (want "
						   "holt-winters or linear)", p->arg);
			break;
		case SOPT_METRIC:
			o->metric = p->arg;
			break;
		case SOPT_SEASON:
			if (!strcmp(p->arg, "daily"))
				o->season = SEASON_DAILY;
			else if (!strcmp(p->arg, "weekly"))
				o->season = SEASON_WEEKLY;
			else if (!strcmp(p->arg, "none"))
				o->season = SEASON_NONE;
			else
				opt_usage_error(p, "--season: unknown season '%s' (want daily, "
						   "weekly or none)", p->arg);
			break;
		case SOPT_SERVICE:
			o->service = p->arg;
			break;
		case SOPT_STEP:
			o->step = parse_duration(p, "step", false);
			break;
		case SOPT_STRICT:
			o->strict = true;
			break;
		default:
			break;
		}
	}
}

static void check_options(struct opt_parser *p, const struct fc_opts *o)
{
	char buf[DUR_BUFSZ];
	if (o->step % SC_NS_PER_S)
		opt_usage_error(p, "--step: must be a whole number of seconds, got '%s'",
				dur_format(o->step, buf, sizeof(buf)));
	if (o->holdout % o->step)
		opt_usage_error(p, "--holdout: must be a whole number of steps of %s",
				dur_format(o->step, buf, sizeof(buf)));
	if (o->method == SC_LINEAR || o->season == SEASON_NONE)
		return;
	int64_t len = o->season == SEASON_DAILY ? DAY_NS : 7 * DAY_NS;
	const char *name = o->season == SEASON_DAILY ? "daily" : "weekly";
	if (len % o->step || len / o->step < 2)
		opt_usage_error(p, "--step: %s must divide a %s season into 2 steps or more",
				dur_format(o->step, buf, sizeof(buf)), name);
}

int cmd_forecast(int argc, char **argv)
{
	struct fc_opts o = { SC_HOLT_WINTERS, SEASON_DAILY, 3600 * SC_NS_PER_S, DAY_NS, 0,
			     NULL, NULL, false };
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	parse_options(&p, &o);
	check_options(&p, &o);
	char **files;
	int nfiles = opt_operands(&p, &files);
	struct sc_demand dm;
	struct sc_demand_filter only = { o.service, o.metric };
	int rc = sc_demand_read(&dm, files, nfiles, o.strict, &only);
	opt_end(&p);
	if (rc < 0 && o.strict) {
		sc_demand_release(&dm);
		return jsonl_exit_status(EXIT_OK);
	}
	size_t n = 0, fitted = 0;
	struct fc_series *list = xcalloc(dm.n ? dm.n : 1, sizeof(*list));
	for (size_t i = 0, end; i < dm.n; i = end) {
		end = sc_demand_series_end(&dm, i);
		list[n++] = (struct fc_series){ dm.services[dm.v[i].service],
						dm.metrics[dm.v[i].metric], &dm.v[i], end - i };
	}
	qsort(list, n, sizeof(*list), cmp_series);
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	for (size_t k = 0; k < n; k++)
		if (forecast_series(&list[k], &o, &w) == 0)
			fitted++;
	sb_release(&sb);
	free(list);
	sc_demand_release(&dm);
	int status = EXIT_OK;
	if (n && !fitted) {
		error("no series could be fitted");
		status = EXIT_NO;
	}
	return jsonl_exit_status(status);
}
