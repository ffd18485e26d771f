/*
 * forecast.c: the demand models of ofs-scale, and the forecast records
 * predictive decisions read back.
 *
 * Two models fit a series of demand values at a fixed step:
 *
 *   Holt-Winters, additive triple exponential smoothing: a level, a trend
 *   and a seasonal offset per step of the season. The initial values come
 *   from the first two seasons: a straight line fitted by least squares
 *   gives the initial level and trend (per step), and each step of the
 *   season starts at the mean distance of its two values from that line
 *   (the offsets are centred on zero). alpha, beta and gamma are chosen
 *   by minimising the sum of squared one-step-ahead errors: a coarse grid
 *   of 0.05, 0.15 ... 0.95 on each, then a pattern search around the best
 *   point with a step halved down to 1/1280. Everything is counted in
 *   whole 1/1280ths, so the fit is deterministic. A season of 0 is Holt's
 *   method (level and trend, gamma 0). A step without a sample (NAN) is
 *   filled with the model's own one-step prediction and adds no error.
 *
 *   Linear: a straight line through the values by least squares.
 *
 * Predictions are never negative: demand below zero means nothing. The
 * in-sample MAPE is the mean of |error| / |value| (percent) over the
 * steps after the first season that have a non-zero value.
 *
 * sc_forecasts_load reads scale.forecast records into a table keyed by
 * service and metric, each holding its records sorted by time, so
 * sc_forecast_at is a hash lookup and a binary search.
 */
#include "common.h"
#include <math.h>

#include "hash.h"
#include "jsonl.h"
#include "scale.h"
#include "strbuf.h"
#include "timefmt.h"

/* Smoothing parameters in whole units of 1/GRID_DEN. */
#define GRID_DEN 1280
#define GRID_COARSE 128 /* 0.1 */
#define GRID_FINE 1

struct hw_params {
	int a, b, g; /* alpha, beta, gamma in 1/GRID_DEN */
};

struct hw_state {
	double level, trend;
	double *seasonal; /* [season] */
	double sse;       /* one-step squared errors */
	double ape;       /* sum of absolute percentage errors (percent) */
	size_t nape;
};

static size_t count_values(const struct sc_series *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && i < s->n; i++)
		if (!isnan(s->values[i]))
			k++;
	return k;
}

/* Least squares line a + b*i through the non-NAN values of [0, n).
 * Returns -1 with fewer than two distinct points. */
static int least_squares(const double *v, size_t n, double *a, double *b)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		double x = (double)i;
		sx += x;
		sy += v[i];
		sxx += x * x;
		sxy += x * v[i];
		k++;
	}
	if (k < 2)
		return -1;
	double d = (double)k * sxx - sx * sx;
	if (d == 0)
		return -1;
	*b = ((double)k * sxy - sx * sy) / d;
	*a = (sy - *b * sx) / (double)k;
	return 0;
}

/* The initial state from the first two seasons (L = season, at least 1):
 * level and trend from the least squares line, offsets centred. The
 * level is the line's value one step before the first. */
static int hw_init(const struct sc_series *s, size_t L, struct hw_state *st)
{
	double a, b;
	if (least_squares(s->values, 2 * L, &a, &b) < 0)
		return -1;
	double mean = 0;
	for (size_t i = 0; i < L; i++) {
		double sum = 0;
		int k = 0;
		for (size_t j = i; j < 2 * L; j += L) {
			if (isnan(s->values[j]))
				continue;
			sum += s->values[j] - (a + b * (double)j);
			k++;
		}
		st->seasonal[i] = k ? sum / k : 0;
		mean += st->seasonal[i];
	}
	mean /= (double)L;
	for (size_t i = 0; i < L; i++)
		st->seasonal[i] = L > 1 ? st->seasonal[i] - mean : 0;
	st->level = a - b;
	st->trend = b;
	return 0;
}

/* Run the smoothing over s with params from the initial state init
 * (copied into st, whose seasonal array the caller provides). */
static void hw_run(const struct sc_series *s, size_t L, struct hw_params pp,
		   const struct hw_state *init, struct hw_state *st)
{
	double alpha = (double)pp.a / GRID_DEN, beta = (double)pp.b / GRID_DEN,
	       gamma = (double)pp.g / GRID_DEN;
	double *seas = st->seasonal;
	memcpy(seas, init->seasonal, L * sizeof(*seas));
	double level = init->level, trend = init->trend;
	st->sse = 0;
	st->ape = 0;
	st->nape = 0;
	for (size_t t = 0; t < s->n; t++) {
		size_t si = t % L;
		double yhat = level + trend + seas[si];
		double x = s->values[t];
		if (isnan(x)) {
			x = yhat;
		} else {
			double e = x - yhat;
			st->sse += e * e;
			if (t >= L && x != 0) {
				st->ape += fabs(e) / fabs(x) * 100.0;
				st->nape++;
			}
		}
		double nl = alpha * (x - seas[si]) + (1 - alpha) * (level + trend);
		trend = beta * (nl - level) + (1 - beta) * trend;
		if (L > 1)
			seas[si] = gamma * (x - nl) + (1 - gamma) * seas[si];
		level = nl;
	}
	st->level = level;
	st->trend = trend;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Search alpha, beta, gamma: a coarse grid, then a pattern search. */
static struct hw_params hw_search(const struct sc_series *s, size_t L,
				  const struct hw_state *init, double *scratch)
{
	struct hw_state st = { .seasonal = scratch };
	struct hw_params best = { GRID_COARSE / 2, GRID_COARSE / 2, 0 };
	double best_sse = INFINITY;
	int gmax = L > 1 ? GRID_DEN : 0;
	for (int a = GRID_COARSE / 2; a < GRID_DEN; a += GRID_COARSE)
		for (int b = GRID_COARSE / 2; b < GRID_DEN; b += GRID_COARSE)
			for (int g = L > 1 ? GRID_COARSE / 2 : 0; g <= gmax && g < GRID_DEN;
			     g += L > 1 ? GRID_COARSE : GRID_DEN) {
				struct hw_params pp = { a, b, g };
				hw_run(s, L, pp, init, &st);
				if (st.sse < best_sse) {
					best_sse = st.sse;
					best = pp;
				}
			}
	for (int step = GRID_COARSE / 2; step >= GRID_FINE; step /= 2) {
		bool moved = true;
		while (moved) {
			moved = false;
			for (int dim = 0; dim < (L > 1 ? 3 : 2); dim++) {
				for (int sign = -1; sign <= 1; sign += 2) {
					struct hw_params pp = best;
					int *v = dim == 0 ? &pp.a : dim == 1 ? &pp.b : &pp.g;
					*v = clampi(*v + sign * step, dim == 0 ? 1 : 0, GRID_DEN);
					hw_run(s, L, pp, init, &st);
					if (st.sse < best_sse) {
						best_sse = st.sse;
						best = pp;
						moved = true;
					}
				}
			}
		}
	}
	return best;
}

static int fit_holt_winters(const struct sc_series *s, size_t season, struct sc_model *m,
			    struct strbuf *err)
{
	size_t L = season ? season : 1;
	if (season == 1) {
		sb_addstr(err, "a season must be at least 2 steps");
		return -1;
	}
	if (s->n < 2 * L) {
		if (season)
			sb_addf(err, "too little history: holt-winters needs two full seasons "
				     "(%zu steps), have %zu", 2 * L, s->n);
		else
			sb_addf(err, "too little history: holt-winters needs 2 steps, have %zu",
				s->n);
		return -1;
	}
	struct hw_state init = { .seasonal = xcalloc(L, sizeof(double)) };
	if (hw_init(s, L, &init) < 0) {
		sb_addf(err, "too little history: the first %zu steps hold %zu values, "
			     "need at least 2", 2 * L, count_values(s, 2 * L));
		free(init.seasonal);
		return -1;
	}
	double *scratch = xcalloc(L, sizeof(double));
	struct hw_params pp = hw_search(s, L, &init, scratch);
	struct hw_state st = { .seasonal = scratch };
	hw_run(s, L, pp, &init, &st);
	free(init.seasonal);
	m->method = SC_HOLT_WINTERS;
	m->season = season;
	m->alpha = (double)pp.a / GRID_DEN;
	m->beta = (double)pp.b / GRID_DEN;
	m->gamma = season ? (double)pp.g / GRID_DEN : 0;
	m->level = st.level;
	m->trend = st.trend;
	m->seasonal = scratch;
	m->mape = st.nape ? st.ape / (double)st.nape : NAN;
	return 0;
}

static int fit_linear(const struct sc_series *s, struct sc_model *m, struct strbuf *err)
{
	double a, b;
	if (least_squares(s->values, s->n, &a, &b) < 0) {
		sb_addf(err, "too little history: a linear trend needs 2 values, have %zu",
			count_values(s, s->n));
		return -1;
	}
	m->method = SC_LINEAR;
	m->season = 0;
	m->level = a + b * (double)(s->n - 1);
	m->trend = b;
	double ape = 0;
	size_t nape = 0;
	for (size_t i = 0; i < s->n; i++) {
		double x = s->values[i];
		if (isnan(x) || x == 0)
			continue;
		ape += fabs(x - (a + b * (double)i)) / fabs(x) * 100.0;
		nape++;
	}
	m->mape = nape ? ape / (double)nape : NAN;
	return 0;
}

int sc_model_fit(const struct sc_series *s, enum sc_method method, size_t season,
		 struct sc_model *m, struct strbuf *err)
{
	memset(m, 0, sizeof(*m));
	m->start = s->start;
	m->step = s->step;
	m->n = s->n;
	if (s->step <= 0) {
		sb_addstr(err, "the step must be more than 0");
		return -1;
	}
	if (method == SC_LINEAR)
		return fit_linear(s, m, err);
	return fit_holt_winters(s, season, m, err);
}

/* The step number of ts from the model's start (floored). */
static int64_t step_of(const struct sc_model *m, int64_t ts)
{
	int64_t d = ts - m->start;
	int64_t k = d / m->step;
	if (d % m->step < 0)
		k--;
	return k;
}

double sc_model_predict(const struct sc_model *m, int64_t ts)
{
	if (m->step <= 0 || m->n == 0)
		return NAN;
	int64_t k = step_of(m, ts);
	double h = (double)(k - (int64_t)(m->n - 1));
	double v = m->level + h * m->trend;
	if (m->method == SC_HOLT_WINTERS && m->season > 1 && m->seasonal) {
		int64_t L = (int64_t)m->season;
		v += m->seasonal[((k % L) + L) % L];
	}
	return v < 0 ? 0 : v;
}

void sc_model_release(struct sc_model *m)
{
	if (!m)
		return;
	free(m->seasonal);
	m->seasonal = NULL;
}

/* ---- forecast records read back ----------------------------------------- */

struct fc_point {
	int64_t ts, step;
	double demand;
};

struct fc_list {
	struct fc_point *v;
	size_t n, alloc;
};

struct sc_forecasts {
	struct ht *series; /* "service\0metric" -> struct fc_list */
};

static void fc_key(struct strbuf *sb, const char *service, const char *metric)
{
	sb_reset(sb);
	sb_addstr(sb, service);
	sb_addch(sb, '\0');
	sb_addstr(sb, metric);
}

static void free_list(void *p)
{
	struct fc_list *l = p;
	if (l)
		free(l->v);
	free(l);
}

static int cmp_point(const void *a, const void *b)
{
	const struct fc_point *x = a, *y = b;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int record_ts(const cJSON *v, int64_t *ts)
{
	if (cJSON_IsString(v))
		return ts_parse(v->valuestring, strlen(v->valuestring), ts);
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 9e9) {
		*ts = (int64_t)llround(v->valuedouble * 1e9);
		return 0;
	}
	return -1;
}

/* One scale.forecast record into f; other types are passed over. */
static int add_forecast(struct jsonl_reader *r, struct sc_forecasts *f, const cJSON *rec,
			struct strbuf *key)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "scale.forecast"))
		return 0;
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(rec, "service");
	const cJSON *met = cJSON_GetObjectItemCaseSensitive(rec, "metric");
	const cJSON *dem = cJSON_GetObjectItemCaseSensitive(rec, "demand");
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(rec, "step_s");
	struct fc_point pt;
	if (!cJSON_IsString(svc) || !cJSON_IsString(met))
		return jsonl_reject(r, "scale.forecast: /service and /metric must be strings");
	if (record_ts(cJSON_GetObjectItemCaseSensitive(rec, "ts"), &pt.ts) < 0)
		return jsonl_reject(r, "scale.forecast: /ts: must be an RFC 3339 time");
	if (cJSON_IsNull(dem))
		return 0;
	if (!cJSON_IsNumber(dem) || !isfinite(dem->valuedouble))
		return jsonl_reject(r, "scale.forecast: /demand: must be a number");
	if (!cJSON_IsNumber(step) || !(step->valuedouble > 0) || step->valuedouble > 1e9)
		return jsonl_reject(r, "scale.forecast: /step_s: must be a number more than 0");
	pt.demand = dem->valuedouble;
	pt.step = (int64_t)llround(step->valuedouble * 1e9);
	fc_key(key, svc->valuestring, met->valuestring);
	struct fc_list *l = ht_get_b(f->series, key->buf, key->len);
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		ht_put_b(f->series, key->buf, key->len, l);
	}
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = pt;
	return 0;
}

struct sc_forecasts *sc_forecasts_load(const char *path, struct strbuf *err)
{
	struct jsonl_reader *r = jsonl_open(path, 0, err);
	if (!r)
		return NULL;
	struct sc_forecasts *f = xcalloc(1, sizeof(*f));
	f->series = ht_new();
	struct strbuf key = SB_INIT;
	cJSON *rec;
	int rc;
	while ((rc = jsonl_next(r, &rec)) > 0) {
		add_forecast(r, f, rec, &key);
		cJSON_Delete(rec);
	}
	sb_release(&key);
	if (rc < 0) {
		sb_addf(err, "cannot read '%s'", jsonl_name(r));
		jsonl_close(r);
		sc_forecasts_free(f);
		return NULL;
	}
	jsonl_close(r);
	struct ht_iter it;
	for (ht_iter(&it, f->series); ht_next(&it);) {
		struct fc_list *l = it.value;
		qsort(l->v, l->n, sizeof(*l->v), cmp_point);
	}
	return f;
}

double sc_forecast_at(const struct sc_forecasts *f, const char *service, const char *metric,
		      int64_t ts)
{
	if (!f)
		return NAN;
	struct strbuf key = SB_INIT;
	fc_key(&key, service, metric);
	const struct fc_list *l = ht_get_b(f->series, key.buf, key.len);
	sb_release(&key);
	if (!l || !l->n)
		return NAN;
	/* the last record at or before ts */
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid].ts <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NAN;
	const struct fc_point *p = &l->v[lo - 1];
	if (ts - p->ts >= p->step)
		return NAN;
	return p->demand;
}

void sc_forecasts_free(struct sc_forecasts *f)
{
	if (!f)
		return;
	ht_free(f->series, free_list);
	free(f);
}
