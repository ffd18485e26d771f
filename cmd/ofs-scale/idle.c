/*
 * idle.c: scale to zero and back (KEDA's semantics), and the `idle`
 * report of services that could give replicas back.
 *
 * sc_idle_step sits after the HPA in decide: a policy with minReplicas 0
 * scales its service to zero once no activation metric has been above
 * its threshold for the cooldown, and from zero to activationReplicas
 * as soon as one is (strictly greater, as KEDA compares); while it has
 * replicas the HPA keeps at least one, as KEDA's HPA does.
 *
 * cmd_idle reads samples and, per service, follows the utilisation of
 * each sample (value / target of the policy's metric): the idle run is
 * the span from the first sample after the last one at or above the
 * threshold to the service's last sample. A service whose run lasted at
 * least --for gets one scale.idle record saying how many replicas above
 * its minimum it could give back and what they cost. The report is
 * written at the end, sorted by service name.
 */
#include "common.h"

#include <math.h>

#include "cmds.h"
#include "hash.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "scale.h"
#include "timefmt.h"
#include "units.h"


/* ---- scale to zero ------------------------------------------------------ */

/* The value an observation stands for (the service's, or its pods' average). */
static double obs_value(const struct sc_metric *m, const struct sc_observation *o)
{
	if (m->type == SC_VALUE || o->reporting <= 0)
		return o->sum;
	return o->sum / o->reporting;
}

/* The first activation metric above its threshold, or -1. */
static int active_metric(const struct sc_policy *p, const struct sc_observation *obs)
{
	for (size_t i = 0; i < p->nmetrics; i++) {
		const struct sc_metric *m = &p->metrics[i];
		if (m->has_activation && obs[i].present && obs_value(m, &obs[i]) > m->activation)
			return (int)i;
	}
	return -1;
}

static void reason_add(struct sc_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reason_add(struct sc_decision *d, const char *fmt, ...)
{
	va_list ap;
	if (d->reason.len)
		sb_addstr(&d->reason, " ");
	va_start(ap, fmt);
	sb_vaddf(&d->reason, fmt, ap);
	va_end(ap);
}

void sc_idle_step(const struct sc_policy *p, struct sc_idle_state *st,
		  const struct sc_observation *obs, int64_t now, struct sc_decision *d)
{
	char dur[DUR_BUFSZ], cool[DUR_BUFSZ];

	if (p->min_replicas != 0)
		return;
	if (!st->seen_active) {
		st->seen_active = true;
		st->last_active = now; /* idleness is counted from the first period seen */
	}
	int a = active_metric(p, obs);
	if (a >= 0)
		st->last_active = now;
	if (d->current == 0) {
		if (a < 0) {
			d->desired = 0;
			return;
		}
		const struct sc_metric *m = &p->metrics[a];
		d->desired = p->activation_replicas;
		d->idle = "activate";
		reason_add(d, "%s %g is above its activation threshold %g: activate at %d %s.",
			   m->name, obs_value(m, &obs[a]), m->activation, p->activation_replicas,
			   p->activation_replicas == 1 ? "replica" : "replicas");
		return;
	}
	if (a < 0 && now - st->last_active >= p->cooldown) {
		d->desired = 0;
		d->idle = "scale_to_zero";
		dur_format(now - st->last_active, dur, sizeof(dur));
		dur_format(p->cooldown, cool, sizeof(cool));
		reason_add(d, "no activation metric above its threshold for %s (cooldown %s): "
			      "scale to zero.",
			   dur, cool);
		return;
	}
	if (d->desired < 1) {
		d->desired = 1;
		reason_add(d, "scale to zero waits for the cooldown: keep 1 replica.");
	}
}

/* ---- the idle report ---------------------------------------------------- */

/* What the report follows of one service. */
struct idle_svc {
	char *name;
	const struct sc_policy *p;
	int64_t last_ts;   /* the last sample */
	bool busy_seen;
	int64_t last_busy; /* the last sample at or above the threshold */
	bool quiet;        /* in an idle run */
	int64_t since;     /* its first sample */
	double max_u;      /* the highest utilisation in it */
	int replicas;      /* the last "replicas" seen, -1 none */
	int64_t replicas_ts;
};

struct idle_opts {
	const struct sc_policy *const *policies;
	size_t npolicies;
	double threshold;  /* fraction; < 0: the policy's */
	int64_t period;    /* < 0: the policy's */
	bool strict;
};

static double svc_threshold(const struct idle_opts *o, const struct sc_policy *p)
{
	if (o->threshold >= 0)
		return o->threshold;
	return p->idle_threshold;
}

static int64_t svc_period(const struct idle_opts *o, const struct sc_policy *p)
{
	if (o->period >= 0)
		return o->period;
	return p->idle_period;
}

static struct idle_svc *svc_get(struct ht *by_name, const char *name,
				const struct sc_policy *p)
{
	struct idle_svc *s = ht_get(by_name, name);
	if (s)
		return s;
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->p = p;
	s->replicas = -1;
	ht_put(by_name, name, s);
	return s;
}

/* Follow one sample of a metric of s's policy. */
static void svc_sample(struct idle_svc *s, const struct sc_metric *m,
		       const struct sc_sample *smp, double threshold)
{
	if (smp->ts > s->last_ts)
		s->last_ts = smp->ts;
	if (smp->replicas >= 0 && (s->replicas < 0 || smp->ts >= s->replicas_ts)) {
		s->replicas = smp->replicas;
		s->replicas_ts = smp->ts;
	}
	if (smp->pod && !smp->pod_ready)
		return; /* a pod not ready says nothing of the load */
	double u = smp->value / m->target;
	if (u >= threshold) {
		if (!s->busy_seen || smp->ts > s->last_busy)
			s->last_busy = smp->ts;
		s->busy_seen = true;
		s->quiet = false;
		s->max_u = 0;
		return;
	}
	if (s->busy_seen && smp->ts <= s->last_busy)
		return;
	if (!s->quiet) {
		s->quiet = true;
		s->since = smp->ts;
	}
	if (u > s->max_u)
		s->max_u = u;
}

/* Read one input; returns -1 to stop (strict, or an I/O error). */
static int idle_read(const char *path, const struct idle_opts *o, struct ht *by_name)
{
	struct strbuf why = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, o->strict ? JSONL_STRICT : 0, &why);
	cJSON *rec;
	int rc;

	if (!r) {
		error("%s", why.buf);
		sb_release(&why);
		return -1;
	}
	while ((rc = jsonl_next(r, &rec)) == 1) {
		struct sc_sample smp;
		sb_reset(&why);
		if (sc_sample_parse(rec, &smp, &why) < 0) {
			rc = jsonl_reject(r, "%s", why.len ? why.buf : "invalid sample");
		} else {
			const struct sc_policy *p = sc_policy_for(o->policies, o->npolicies,
								  smp.service);
			int mi = p ? sc_policy_metric(p, smp.metric) : -1;
			if (mi >= 0)
				svc_sample(svc_get(by_name, smp.service, p), &p->metrics[mi], &smp,
					   svc_threshold(o, p));
		}
		cJSON_Delete(rec);
		if (rc < 0)
			break;
	}
	jsonl_close(r);
	sb_release(&why);
	return rc < 0 ? -1 : 0;
}

static void write_idle(const struct idle_svc *s, struct out *out)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	char ts[TS_BUFSZ];
	const struct sc_policy *p = s->p;

	jw_init(&w, &sb);
	rec_begin_at(&w, "scale.idle", s->last_ts);
	jw_kv_str(&w, "service", s->name);
	jw_kv_str(&w, "since", ts_format(s->since, ts));
	jw_kv_double(&w, "idle_s", (double)(s->last_ts - s->since) / (double)SC_NS_PER_S);
	jw_kv_double(&w, "max_utilization", s->max_u);
	if (s->replicas >= 0) {
		int spare = s->replicas > p->min_replicas ? s->replicas - p->min_replicas : 0;
		double cost = sc_cost_per_hour(p, spare);
		jw_kv_int(&w, "replicas", s->replicas);
		jw_kv_int(&w, "min_replicas", p->min_replicas);
		jw_kv_int(&w, "reclaimable_replicas", spare);
		if (cost >= 0)
			jw_kv_double(&w, "reclaimable_per_hour", round(cost * 100) / 100);
	} else {
		jw_key(&w, "replicas");
		jw_null(&w);
		jw_kv_int(&w, "min_replicas", p->min_replicas);
		jw_key(&w, "reclaimable_replicas");
		jw_null(&w);
	}
	rec_end(&w, out);
	sb_release(&sb);
}

static int by_name_cmp(const void *a, const void *b)
{
	const struct idle_svc *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Write the records of the idle services, sorted by name, and free them. */
static void idle_report(struct ht *by_name, const struct idle_opts *o)
{
	size_t n = ht_len(by_name), k = 0;
	struct idle_svc **v = xcalloc(n ? n : 1, sizeof(*v));
	struct ht_iter it;

	ht_iter(&it, by_name);
	while (ht_next(&it))
		v[k++] = it.value;
	qsort(v, k, sizeof(*v), by_name_cmp);
	for (size_t i = 0; i < k; i++) {
		struct idle_svc *s = v[i];
		if (s->quiet && s->last_ts - s->since >= svc_period(o, s->p))
			write_idle(s, out_stdout());
		free(s->name);
		free(s);
	}
	free(v);
}

static double parse_threshold(const char *arg)
{
	struct strbuf err = SB_INIT;
	double v;
	if (num_parse_double(arg, &v, &err) < 0)
		opt_usage_error(NULL, "--threshold: %s", err.buf);
	if (v < 0 || v > 100)
		opt_usage_error(NULL, "--threshold: must be a percent 0..100, got %s", arg);
	sb_release(&err);
	return v / 100;
}

static int64_t parse_for(const char *arg)
{
	struct strbuf err = SB_INIT;
	int64_t ns;
	if (dur_parse(arg, &ns, &err) < 0)
		opt_usage_error(NULL, "--for: %s", err.buf);
	sb_release(&err);
	return ns;
}

/* Load every policy; -1 when any is invalid (each reported). */
static int load_policies(char **files, size_t n, struct sc_policy *pol, size_t *loaded)
{
	int bad = 0;
	*loaded = 0;
	for (size_t i = 0; i < n; i++) {
		if (sc_policy_load(files[i], &pol[*loaded]) < 0) {
			sc_policy_free(&pol[*loaded]); /* what a failed load leaves */
			bad = 1;
		} else {
			(*loaded)++;
		}
	}
	return bad ? -1 : 0;
}

int cmd_idle(int argc, char **argv)
{
	struct opt_parser op;
	struct idle_opts o = { .threshold = -1, .period = -1 };
	char **files = NULL, **operands;
	size_t nfiles = 0, afiles = 0;
	int c, status = EXIT_OK;

	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE) {
		switch (c) {
		case 'p':
			ALLOC_GROW(files, nfiles + 1, afiles);
			files[nfiles++] = (char *)op.arg;
			break;
		case SOPT_FOR:
			o.period = parse_for(op.arg);
			break;
		case SOPT_THRESHOLD:
			o.threshold = parse_threshold(op.arg);
			break;
		case SOPT_STRICT:
			o.strict = true;
			break;
		}
	}
	int nops = opt_operands(&op, &operands);
	if (!nfiles)
		opt_usage_error(&op, "no policy given (-p file)");

	struct sc_policy *pol = xcalloc(nfiles, sizeof(*pol));
	const struct sc_policy **pv = xcalloc(nfiles, sizeof(*pv));
	size_t npol;
	if (load_policies(files, nfiles, pol, &npol) < 0) {
		status = EXIT_USAGE;
	} else {
		struct ht *by_name = ht_new();
		for (size_t i = 0; i < npol; i++)
			pv[i] = &pol[i];
		o.policies = pv;
		o.npolicies = npol;
		for (int i = 0; i < (nops ? nops : 1); i++)
			if (idle_read(nops ? operands[i] : "-", &o, by_name) < 0)
				break;
		idle_report(by_name, &o);
		ht_free(by_name, NULL);
		status = jsonl_exit_status(EXIT_OK);
	}
	for (size_t i = 0; i < npol; i++)
		sc_policy_free(&pol[i]);
	free(pv);
	free(pol);
	free(files);
	opt_end(&op);
	return status;
}
