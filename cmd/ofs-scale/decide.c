/*
 * decide.c: `ofs-scale decide`: metric samples in, one scale.decision per
 * service and evaluation period out, explained step by step; --apply
 * runs the policy's hook for every change.
 *
 * It is an HPA controller run from cron or a pipeline: samples are
 * bucketed per service into the policy's periods (a sample at ts belongs
 * to the evaluation at the end of its period), and when a service's
 * samples move on to a later period, or the input ends, the finished
 * period is decided from the latest value of each pod (or the latest
 * service-level sample) of each metric. What the controller must
 * remember between runs (recommendations and scale events for the
 * windows and rate limits, idle times, the last count decided) is kept
 * in $OFS_STATE_DIR/scale/state.json, read at the start and replaced
 * atomically at the end, under a lock so two cron runs never interleave.
 * With --poll the samples come from the policies' HTTP sources instead
 * and are decided at once; --watch repeats that every period.
 *
 * Memory is bounded by the number of services (and pods in the current
 * period), never by the input: each service's bucket lives in a hash
 * table and is reused from period to period.
 */
#include "common.h"
#include <math.h>
#include <poll.h>

#include "cmds.h"
#include "hash.h"
#include "jget.h"
#include "jsonl.h"
#include "lock.h"
#include "opt.h"
#include "record.h"
#include "scale.h"
#include "sig.h"
#include "state.h"
#include "timefmt.h"

#define LOCK_WAIT_MS 10000
#define NONE INT64_MIN

struct pod {
	char *name;
	bool ready;
	int64_t ready_ts;
	double *val;   /* [nmetrics] */
	int64_t *vts;  /* [nmetrics], NONE: no value */
};

struct svc {
	char *name;
	const struct sc_policy *p; /* NULL: no policy matches */
	bool resolved;             /* p was looked up */
	struct sc_history hist;
	struct sc_idle_state idle;
	int last_desired;          /* -1: none */
	bool apply_failing;        /* the last change --apply tried failed */
	bool known;                /* decided before (this run or in the state) */
	/* the open period */
	bool open;
	int64_t eval_ts;
	int replicas, ready_replicas; /* latest given, -1 none */
	int64_t replicas_ts, ready_ts;
	double *lv;                /* service-level latest value per metric */
	int64_t *lts;              /* its ts, NONE: none */
	struct ht *pods;           /* name -> index + 1 into podv */
	struct pod *podv;
	size_t npods, apods;
};

struct run {
	const struct sc_policy **pols;
	size_t npols;
	struct ht *svcs;
	struct sc_forecasts *forecasts;
	bool apply, dry_run, strict, no_state;
	size_t apply_failing;      /* services whose last change failed */
	struct out *out;
	struct strbuf rec;
	struct sc_decision d;
	struct sc_observation *obs;
	size_t aobs;
};

/* ---- services ----------------------------------------------------------- */

static struct svc *svc_new(struct run *r, const char *name)
{
	struct svc *s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->last_desired = -1;
	s->replicas = s->ready_replicas = -1;
	sc_history_init(&s->hist);
	ht_put(r->svcs, name, s);
	return s;
}

static void svc_clear_pods(struct svc *s)
{
	for (size_t i = 0; i < s->npods; i++) {
		free(s->podv[i].name);
		free(s->podv[i].val);
		free(s->podv[i].vts);
	}
	s->npods = 0;
	ht_free(s->pods, NULL);
	s->pods = NULL;
}

static void svc_free(void *v)
{
	struct svc *s = v;
	svc_clear_pods(s);
	free(s->podv);
	free(s->lv);
	free(s->lts);
	sc_history_release(&s->hist);
	free(s->name);
	free(s);
}

/* The service's policy, looked up once; unmatched services are reported
 * once. */
static const struct sc_policy *svc_policy(struct run *r, struct svc *s)
{
	if (s->resolved)
		return s->p;
	s->resolved = true;
	s->p = sc_policy_for(r->pols, r->npols, s->name);
	if (!s->p) {
		warn("no policy matches service '%s': skipped", s->name);
		return NULL;
	}
	s->lv = xcalloc(s->p->nmetrics, sizeof(*s->lv));
	s->lts = xcalloc(s->p->nmetrics, sizeof(*s->lts));
	for (size_t i = 0; i < s->p->nmetrics; i++)
		s->lts[i] = NONE;
	return s->p;
}

static void bucket_reset(struct svc *s)
{
	s->open = false;
	s->replicas = s->ready_replicas = -1;
	s->replicas_ts = s->ready_ts = NONE;
	for (size_t i = 0; i < s->p->nmetrics; i++)
		s->lts[i] = NONE;
	svc_clear_pods(s);
}

static struct pod *pod_get(struct svc *s, const char *name)
{
	if (!s->pods)
		s->pods = ht_new();
	void **ref = ht_ref(s->pods, name);
	if (ref)
		return &s->podv[(uintptr_t)*ref - 1];
	ALLOC_GROW(s->podv, s->npods + 1, s->apods);
	struct pod *p = &s->podv[s->npods++];
	size_t n = s->p->nmetrics;
	p->name = xstrdup(name);
	p->ready = true;
	p->ready_ts = NONE;
	p->val = xcalloc(n, sizeof(*p->val));
	p->vts = xcalloc(n, sizeof(*p->vts));
	for (size_t i = 0; i < n; i++)
		p->vts[i] = NONE;
	ht_put(s->pods, name, (void *)(uintptr_t)s->npods);
	return p;
}

/* ---- the period's observations ------------------------------------------ */

static int64_t period_end(int64_t ts, int64_t period)
{
	int64_t q = ts / period;
	if (ts % period < 0)
		q--;
	return q * period + period;
}

static void add_sample(struct svc *s, const struct sc_sample *x)
{
	if (x->replicas >= 0 && x->ts >= s->replicas_ts) {
		s->replicas = x->replicas;
		s->replicas_ts = x->ts;
	}
	if (x->ready_replicas >= 0 && x->ts >= s->ready_ts) {
		s->ready_replicas = x->ready_replicas;
		s->ready_ts = x->ts;
	}
	int mi = sc_policy_metric(s->p, x->metric);
	if (x->pod) {
		struct pod *p = pod_get(s, x->pod);
		if (x->ts >= p->ready_ts) {
			p->ready = x->pod_ready;
			p->ready_ts = x->ts;
		}
		if (mi >= 0 && x->ts >= p->vts[mi]) {
			p->val[mi] = x->value;
			p->vts[mi] = x->ts;
		}
	} else if (mi >= 0 && x->ts >= s->lts[mi]) {
		s->lv[mi] = x->value;
		s->lts[mi] = x->ts;
	}
}

static void observe_pods(const struct svc *s, size_t mi, int ready, int current,
			 struct sc_observation *o)
{
	const struct sc_metric *m = &s->p->metrics[mi];
	int nready = 0, nunready = 0;
	for (size_t i = 0; i < s->npods; i++) {
		const struct pod *p = &s->podv[i];
		if (!p->ready) {
			nunready++;
			continue;
		}
		nready++;
		if (p->vts[mi] == NONE)
			continue;
		o->present = true;
		o->sum += p->val[mi];
		o->reporting++;
	}
	if (!o->present)
		return;
	if (m->type == SC_VALUE) {
		o->reporting = 1;
		return;
	}
	int want = s->ready_replicas >= 0 ? s->ready_replicas : nready;
	o->missing = want > o->reporting ? want - o->reporting : 0;
	o->unready = nunready;
	if (current - ready > o->unready)
		o->unready = current - ready;
}

static void observe(const struct svc *s, size_t mi, int ready, int current,
		    struct sc_observation *o)
{
	memset(o, 0, sizeof(*o));
	observe_pods(s, mi, ready, current, o);
	if (o->present || s->lts[mi] == NONE)
		return;
	o->present = true;
	if (s->p->metrics[mi].type == SC_VALUE) {
		o->sum = s->lv[mi];
		o->reporting = 1;
		return;
	}
	o->sum = s->lv[mi] * ready;
	o->reporting = ready;
	o->unready = current > ready ? current - ready : 0;
}

/* ---- the record --------------------------------------------------------- */

static const char *type_name(enum sc_target_type t)
{
	return t == SC_UTILIZATION ? "utilization" : t == SC_AVERAGE_VALUE ? "average_value" : "value";
}

static void write_metric(struct jw *w, const struct sc_metric_eval *e,
			 const struct sc_observation *o)
{
	jw_obj_begin(w);
	jw_kv_str(w, "name", e->metric->name);
	jw_kv_str(w, "type", type_name(e->metric->type));
	jw_kv_double(w, "target", e->metric->target);
	if (e->valid) {
		jw_kv_double(w, "value", e->value);
		jw_kv_double(w, "ratio", e->ratio);
	} else {
		jw_key(w, "value");
		jw_null(w);
		jw_key(w, "ratio");
		jw_null(w);
	}
	jw_kv_double(w, "tolerance", e->tolerance);
	jw_kv_bool(w, "within_tolerance", e->valid && e->within_tolerance);
	jw_kv_int(w, "ready_pods", o->reporting);
	jw_kv_int(w, "missing_pods", o->missing);
	jw_kv_int(w, "unready_pods", o->unready);
	if (e->recomputed) {
		jw_kv_double(w, "missing_counted_at", e->fill_missing);
		jw_kv_double(w, "adjusted_ratio", e->adjusted_ratio);
	}
	jw_key(w, "proposal");
	if (e->valid)
		jw_int(w, e->proposal);
	else
		jw_null(w);
	jw_obj_end(w);
}

static void write_decision(struct run *r, const struct svc *s, const struct sc_decision *d,
			   double demand)
{
	struct jw w;
	jw_init(&w, &r->rec);
	rec_begin_at(&w, "scale.decision", d->ts);
	jw_kv_str(&w, "service", s->name);
	jw_kv_int(&w, "current", d->current);
	jw_kv_int(&w, "ready", d->ready);
	jw_kv_int(&w, "desired", d->desired);
	jw_kv_str(&w, "action", d->desired > d->current ? "up" :
				d->desired < d->current ? "down" : "none");
	jw_key(&w, "metrics");
	jw_arr_begin(&w);
	for (size_t i = 0; i < d->nmetrics; i++)
		write_metric(&w, &d->metrics[i], &r->obs[i]);
	jw_arr_end(&w);
	jw_kv_int(&w, "recommendation", d->recommendation);
	if (!isnan(demand)) {
		const struct sc_policy *p = s->p;
		jw_key(&w, "forecast");
		jw_obj_begin(&w);
		jw_kv_str(&w, "metric", p->metrics[p->predict_metric].name);
		jw_kv_double(&w, "demand", demand);
		jw_kv_double(&w, "lead_s", (double)p->predict_lead / SC_NS_PER_S);
		jw_kv_int(&w, "proposal", d->forecast_proposal);
		jw_obj_end(&w);
	}
	if (d->window_dir) {
		jw_key(&w, "stabilization");
		jw_obj_begin(&w);
		jw_kv_str(&w, "direction", d->window_dir);
		jw_kv_double(&w, "window_s", (double)d->window / SC_NS_PER_S);
		jw_kv_int(&w, "value", d->stabilized);
		jw_obj_end(&w);
	}
	if (d->limited) {
		jw_key(&w, "limit");
		jw_obj_begin(&w);
		jw_kv_str(&w, "rule", d->limit_rule);
		jw_kv_int(&w, "replicas", d->limit);
		jw_obj_end(&w);
	}
	if (d->clamp)
		jw_kv_str(&w, "clamp", d->clamp);
	if (d->cost_per_hour >= 0)
		jw_kv_double(&w, "cost_per_hour", round(d->cost_per_hour * 1e6) / 1e6);
	if (d->budget_breach)
		jw_kv_bool(&w, "budget_breach", true);
	if (d->idle)
		jw_kv_str(&w, "idle", d->idle);
	size_t n = d->reason.len;
	while (n && d->reason.buf[n - 1] == ' ')
		n--;
	jw_key(&w, "reason");
	jw_strn(&w, d->reason.buf, n);
	rec_end(&w, r->out);
}

/* ---- one evaluation ----------------------------------------------------- */

/* The forecast's demand for s at now + lead and the replicas it needs,
 * or NAN. */
static double forecast(const struct run *r, const struct svc *s, int64_t now, int *proposal)
{
	const struct sc_policy *p = s->p;
	*proposal = -1;
	if (!r->forecasts || !p->predictive)
		return NAN;
	const struct sc_metric *m = &p->metrics[p->predict_metric];
	double demand = sc_forecast_at(r->forecasts, s->name, m->name, now + p->predict_lead);
	if (isnan(demand) || demand < 0)
		return NAN;
	double n = ceil(demand / m->target);
	*proposal = n > INT32_MAX ? INT32_MAX : (int)n;
	return demand;
}

static void evaluate(struct run *r, struct svc *s)
{
	const struct sc_policy *p = s->p;
	int64_t now = s->eval_ts;
	int lo = p->min_replicas > 1 ? p->min_replicas : 1;
	int current = s->replicas >= 0 ? s->replicas : s->last_desired >= 0 ? s->last_desired : lo;
	int ready = current;
	if (s->ready_replicas >= 0) {
		ready = s->ready_replicas;
	} else if (s->npods) {
		ready = 0;
		for (size_t i = 0; i < s->npods; i++)
			ready += s->podv[i].ready;
	}
	ALLOC_GROW(r->obs, p->nmetrics, r->aobs);
	for (size_t i = 0; i < p->nmetrics; i++)
		observe(s, i, ready, current, &r->obs[i]);
	int fp;
	double demand = forecast(r, s, now, &fp);
	if (!s->known) {
		sc_history_seed(&s->hist, now, current);
		s->known = true;
	}
	sc_hpa_decide(p, &s->hist, r->obs, current, ready, now, fp, &r->d);
	sc_idle_step(p, &s->idle, r->obs, now, &r->d);
	write_decision(r, s, &r->d, demand);
	int desired = r->d.desired;
	bool made = true;
	if (r->apply && desired != current)
		made = sc_apply(p, s->name, current, desired, now, r->dry_run, r->out) == 0;
	/* a failure counts until a later period of the service makes its
	 * change or needs none */
	if (s->apply_failing != !made) {
		s->apply_failing = !made;
		if (made)
			r->apply_failing--;
		else
			r->apply_failing++;
	}
	if (made) {
		sc_history_scaled(&s->hist, now, current, desired);
		s->last_desired = desired;
	} else {
		s->last_desired = current;
	}
	bucket_reset(s);
}

/* Take one sample record; at_once evaluates its period right away at now
 * (polling). Returns 0, or -1 when the record is not a sample (why). */
static int feed(struct run *r, const cJSON *rec, struct strbuf *why)
{
	struct sc_sample x;
	if (sc_sample_parse(rec, &x, why) < 0)
		return -1;
	struct svc *s = ht_get(r->svcs, x.service);
	if (!s)
		s = svc_new(r, x.service);
	const struct sc_policy *p = svc_policy(r, s);
	if (!p)
		return 0;
	int64_t end = period_end(x.ts, p->period);
	if (s->open && end > s->eval_ts)
		evaluate(r, s);
	if (!s->open) {
		s->open = true;
		s->eval_ts = end;
	}
	add_sample(s, &x);
	return 0;
}

static int by_period_then_name(const void *a, const void *b)
{
	const struct svc *x = *(struct svc *const *)a, *y = *(struct svc *const *)b;
	if (x->eval_ts != y->eval_ts)
		return x->eval_ts < y->eval_ts ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Decide every open period (at the time at, unless NONE), in order of
 * evaluation time and then service name, so the output does not depend
 * on the hash table's order. */
static void evaluate_open(struct run *r, int64_t at)
{
	struct ht_iter it;
	struct svc **open = NULL;
	size_t n = 0, alloc = 0;
	for (ht_iter(&it, r->svcs); ht_next(&it);) {
		struct svc *s = it.value;
		if (!s->open)
			continue;
		if (at != NONE)
			s->eval_ts = at;
		ALLOC_GROW(open, n + 1, alloc);
		open[n++] = s;
	}
	if (n > 1)
		qsort(open, n, sizeof(*open), by_period_then_name);
	for (size_t i = 0; i < n; i++)
		evaluate(r, open[i]);
	free(open);
}

/* ---- state -------------------------------------------------------------- */

static int64_t ns_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void state_read_svc(struct run *r, const cJSON *so)
{
	struct svc *s = svc_new(r, so->string);
	s->known = true;
	s->last_desired = (int)jget_int(so, "desired", -1);
	const cJSON *e;
	cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(so, "recommendations")) {
		ALLOC_GROW(s->hist.recs, s->hist.nrecs + 1, s->hist.arecs);
		s->hist.recs[s->hist.nrecs].ts = ns_of(cJSON_GetObjectItemCaseSensitive(e, "ts"));
		s->hist.recs[s->hist.nrecs++].replicas = (int)jget_int(e, "replicas", 0);
	}
	cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(so, "events")) {
		ALLOC_GROW(s->hist.events, s->hist.nevents + 1, s->hist.aevents);
		s->hist.events[s->hist.nevents].ts = ns_of(cJSON_GetObjectItemCaseSensitive(e, "ts"));
		s->hist.events[s->hist.nevents++].delta = (int)jget_int(e, "delta", 0);
	}
	const cJSON *idle = cJSON_GetObjectItemCaseSensitive(so, "idle");
	if (idle) {
		s->idle.seen_active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(idle, "seen_active"));
		s->idle.last_active = ns_of(cJSON_GetObjectItemCaseSensitive(idle, "last_active"));
	}
}

static void state_read(struct run *r, const char *path)
{
	struct strbuf text = SB_INIT;
	if (sb_read_file(&text, path) < 0) {
		if (errno != ENOENT)
			die_errno("cannot read state '%s'", path);
		sb_release(&text);
		return;
	}
	cJSON *root = cJSON_ParseWithLength(text.buf, text.len);
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
	if (!cJSON_IsObject(svcs))
		die("cannot read state '%s': not an ofs-scale state file", path);
	const cJSON *so;
	cJSON_ArrayForEach (so, svcs)
		if (cJSON_IsObject(so) && so->string && !ht_has(r->svcs, so->string))
			state_read_svc(r, so);
	cJSON_Delete(root);
	sb_release(&text);
}

static void state_write_svc(struct jw *w, const struct svc *s)
{
	jw_key(w, s->name);
	jw_obj_begin(w);
	jw_kv_int(w, "desired", s->last_desired);
	jw_key(w, "recommendations");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->hist.nrecs; i++) {
		jw_obj_begin(w);
		jw_key(w, "ts");
		jw_int_str(w, s->hist.recs[i].ts);
		jw_kv_int(w, "replicas", s->hist.recs[i].replicas);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "events");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->hist.nevents; i++) {
		jw_obj_begin(w);
		jw_key(w, "ts");
		jw_int_str(w, s->hist.events[i].ts);
		jw_kv_int(w, "delta", s->hist.events[i].delta);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "idle");
	jw_obj_begin(w);
	jw_kv_bool(w, "seen_active", s->idle.seen_active);
	jw_key(w, "last_active");
	jw_int_str(w, s->idle.last_active);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void state_write(struct run *r, const char *path)
{
	struct strbuf sb = SB_INIT, err = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_int(&w, "version", 1);
	jw_key(&w, "services");
	jw_obj_begin(&w);
	struct ht_iter it;
	for (ht_iter(&it, r->svcs); ht_next(&it);) {
		const struct svc *s = it.value;
		if (!s->resolved || s->p)
			state_write_svc(&w, s);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	sb_addch(&sb, '\n');
	if (state_write_atomic(path, sb.buf, sb.len, 0600, &err) < 0)
		die("%s", err.buf);
	sb_release(&sb);
	sb_release(&err);
}

/* The state directory's scale/ folder, created, and its lock taken. */
static char *state_open(int *lockfd)
{
	struct strbuf err = SB_INIT;
	char *dir = state_dir(&err);
	if (!dir)
		die("%s", err.buf);
	char *sdir = xasprintf("%s/scale", dir);
	free(dir);
	if (state_mkdirs(sdir, 0700, &err) < 0) {
		free(sdir);
		error("%s", err.buf);
		sb_release(&err);
		exit(EXIT_SYSTEM);
	}
	char *lock = xasprintf("%s/lock", sdir);
	*lockfd = lock_acquire(lock, LOCK_WAIT_MS, &err);
	free(lock);
	if (*lockfd < 0) {
		free(sdir);
		error("cannot lock the state: %s", err.buf);
		sb_release(&err);
		exit(EXIT_SYSTEM);
	}
	sb_release(&err);
	return sdir;
}

/* ---- input -------------------------------------------------------------- */

/* Read one input; returns -1 when --strict stopped it. */
static int read_input(struct run *r, const char *path)
{
	struct strbuf err = SB_INIT, why = SB_INIT;
	struct jsonl_reader *in = jsonl_open(path, r->strict ? JSONL_STRICT : 0, &err);
	if (!in) {
		error("%s", err.buf);
		sb_release(&err);
		return r->strict ? -1 : 0;
	}
	int rc = 0;
	cJSON *rec;
	int got;
	while ((got = jsonl_next(in, &rec)) > 0) {
		sb_reset(&why);
		int bad = feed(r, rec, &why);
		cJSON_Delete(rec);
		if (bad < 0 && jsonl_reject(in, "%s", why.buf) < 0) {
			rc = -1;
			break;
		}
	}
	if (got < 0)
		rc = -1;
	jsonl_close(in);
	sb_release(&err);
	sb_release(&why);
	return rc;
}

/* ---- polling ------------------------------------------------------------ */

/* One round of polling policy i; returns whether any source answered. */
static bool poll_one(struct run *r, const struct sc_policy *p, int64_t now)
{
	int failed = 0;
	cJSON *arr = sc_poll_samples(p, now, &failed);
	struct strbuf why = SB_INIT;
	const cJSON *rec;
	bool any = false;
	cJSON_ArrayForEach (rec, arr) {
		sb_reset(&why);
		if (feed(r, rec, &why) < 0)
			error("%s: a polled sample is not valid: %s", p->file, why.buf);
		else
			any = true;
	}
	cJSON_Delete(arr);
	sb_release(&why);
	return any || failed == 0;
}

static int run_poll(struct run *r, bool watch, const char *sdir)
{
	size_t n = r->npols;
	bool *ok = xcalloc(n, sizeof(*ok));
	int64_t *next = xcalloc(n, sizeof(*next));
	char *spath = sdir ? xasprintf("%s/state.json", sdir) : NULL;
	if (watch) {
		sig_setup();
		out_set_line_flush(r->out, true);
	}
	for (;;) {
		int64_t now = ts_now_ns(), wake = INT64_MAX;
		for (size_t i = 0; i < n; i++) {
			if (next[i] <= now) {
				ok[i] |= poll_one(r, r->pols[i], now);
				next[i] = now + r->pols[i]->period;
			}
			wake = next[i] < wake ? next[i] : wake;
		}
		evaluate_open(r, now);
		if (spath && !r->dry_run)
			state_write(r, spath);
		if (!watch || sig_pending())
			break;
		int64_t ms = (wake - ts_now_ns()) / 1000000;
		struct pollfd pfd = { sig_fd(), POLLIN, 0 };
		if (ms > 0)
			poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (sig_pending())
			break;
	}
	int status = EXIT_OK;
	for (size_t i = 0; i < n; i++)
		if (!ok[i]) {
			error("'%s': no source of service '%s' answered", r->pols[i]->file,
			      r->pols[i]->service);
			status = EXIT_SYSTEM;
		}
	free(ok);
	free(next);
	free(spath);
	if (watch && sig_pending())
		return sig_exit_status();
	return status;
}

/* ---- the command -------------------------------------------------------- */

static void load_policies(struct run *r, char **files, size_t n)
{
	bool bad = false;
	r->pols = xcalloc(n, sizeof(*r->pols));
	for (size_t i = 0; i < n; i++) {
		struct sc_policy *p = xmalloc(sizeof(*p));
		if (sc_policy_load(files[i], p) < 0)
			bad = true;
		r->pols[r->npols++] = p;
	}
	for (size_t i = 0; r->apply && i < r->npols; i++) {
		if (!r->pols[i]->hook_argv && !r->pols[i]->hook_shell) {
			error("%s: /hook: --apply needs the policy's hook, and it has none", files[i]);
			bad = true;
		}
	}
	if (bad)
		exit(EXIT_USAGE);
}

static void free_policies(struct run *r)
{
	for (size_t i = 0; i < r->npols; i++) {
		sc_policy_free((struct sc_policy *)r->pols[i]);
		free((void *)r->pols[i]);
	}
	free(r->pols);
}

int cmd_decide(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	char **pfiles = NULL;
	size_t npfiles = 0, apfiles = 0;
	const char *ffile = NULL;
	bool poll_mode = false, watch = false;
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	for (int c; (c = opt_next(&op)) != OPT_DONE;) {
		switch (c) {
		case 'p':
			ALLOC_GROW(pfiles, npfiles + 1, apfiles);
			pfiles[npfiles++] = (char *)op.arg;
			break;
		case SOPT_APPLY: r.apply = true; break;
		case SOPT_DRY_RUN: r.dry_run = true; break;
		case SOPT_FORECAST: ffile = op.arg; break;
		case SOPT_NO_STATE: r.no_state = true; break;
		case SOPT_POLL: poll_mode = true; break;
		case SOPT_STRICT: r.strict = true; break;
		case SOPT_WATCH: watch = true; break;
		}
	}
	char **ops;
	int nops = opt_operands(&op, &ops);
	if (npfiles == 0)
		opt_usage_error(&op, "missing policy (-p file)");
	if (r.dry_run && !r.apply)
		opt_usage_error(&op, "--dry-run needs --apply");
	if (watch && !poll_mode)
		opt_usage_error(&op, "--watch needs --poll");
	if (poll_mode && nops)
		opt_usage_error(&op, "--poll reads no input files");
	load_policies(&r, pfiles, npfiles);
	free(pfiles);
	if (ffile) {
		struct strbuf err = SB_INIT;
		r.forecasts = sc_forecasts_load(ffile, &err);
		if (!r.forecasts) {
			error("%s", err.len ? err.buf : "cannot read the forecasts");
			exit(EXIT_USAGE);
		}
		sb_release(&err);
	}
	r.svcs = ht_new();
	r.out = out_stdout();
	sc_decision_init(&r.d);

	int lockfd = -1;
	char *sdir = r.no_state ? NULL : state_open(&lockfd);
	char *spath = sdir ? xasprintf("%s/state.json", sdir) : NULL;
	if (spath)
		state_read(&r, spath);

	int status = EXIT_OK;
	if (poll_mode) {
		status = run_poll(&r, watch, sdir);
	} else {
		bool stopped = false;
		for (int i = 0; i < (nops ? nops : 1) && !stopped; i++)
			stopped = read_input(&r, nops ? ops[i] : "-") < 0;
		if (!stopped) {
			evaluate_open(&r, NONE);
			if (spath && !r.dry_run)
				state_write(&r, spath);
		}
	}
	if (r.apply_failing && status == EXIT_OK)
		status = EXIT_SYSTEM;
	status = jsonl_exit_status(status);

	lock_release(lockfd);
	free(spath);
	free(sdir);
	opt_end(&op);
	sc_decision_release(&r.d);
	free(r.obs);
	sb_release(&r.rec);
	ht_free(r.svcs, svc_free);
	if (r.forecasts)
		sc_forecasts_free(r.forecasts);
	free_policies(&r);
	return status;
}
