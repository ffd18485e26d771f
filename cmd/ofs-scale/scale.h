/*
 * scale.h: the shared interface of ofs-scale.
 *
 * ofs-scale turns metric samples into replica counts. The pieces:
 *
 *   policy.c    the policy file: targets, bounds, tolerances, behaviour,
 *               scale to zero, the hook, prediction, the cost catalogue
 *               and budget; validated whole, every problem with its JSON
 *               pointer (sc_policy_load).
 *   sample.c    one metric sample record read into a struct sc_sample.
 *   demand.c    samples added up into demand over time (struct sc_demand),
 *               as forecast, plan, size and simulate read them.
 *   hpa.c       the Kubernetes HPA algorithm, step by step, every
 *               intermediate value kept for the scale.decision record
 *               (sc_hpa_decide), with the stabilization and scale event
 *               history it needs (struct sc_history).
 *   decide.c    `decide`: samples in, one scale.decision per service and
 *               evaluation period out; state kept between runs; --apply.
 *   apply.c     the policy's hook, run once per change.
 *   source.c    samples polled from HTTP sources (a Prometheus query URL
 *               and a JSON path).
 *   idle.c      scale to zero and back (KEDA's activation semantics), and
 *               the `idle` report.
 *   forecast.c  Holt-Winters and linear trend (`forecast`, and the
 *               forecast records predictive decisions read).
 *   cost.c      prices of replicas, the budget cap, the cheapest mix of
 *               instance types (`size`).
 *   plan.c      `plan`: capacity planning from history and growth.
 *   simulate.c  `simulate`: a demand trace through a policy.
 *
 * Times are nanoseconds since the epoch (int64_t) throughout; durations
 * are nanoseconds.
 */
#ifndef OFS_SCALE_H
#define OFS_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

#define SC_NS_PER_S 1000000000LL

/* ---- policy ----------------------------------------------------------- */

enum sc_target_type {
	SC_UTILIZATION,   /* "averageUtilization": percent per ready pod */
	SC_AVERAGE_VALUE, /* "averageValue": units per ready pod */
	SC_VALUE,         /* "value": one number for the whole service */
};

/* A metric to poll over HTTP: GET url, the number at the JSONPath path
 * (a number or a string holding one, as Prometheus answers). */
struct sc_source {
	char *url;
	char *path;      /* JSONPath, "$.data.result[0].value[1]" */
	int64_t timeout; /* ns, default 5 s */
};

/* policy /metrics/N */
struct sc_metric {
	char *name;               /* matches a sample's "metric" */
	enum sc_target_type type;
	double target;            /* the target: percent, units per pod, or value */
	double capacity;          /* what one replica serves before the SLO breaks
				   * (/metrics/N/capacity; default 100 for
				   * utilization, else the target) */
	bool has_activation;      /* /metrics/N/activation given */
	double activation;        /* KEDA: active when value > activation */
	struct sc_source *source; /* NULL unless /metrics/N/source */
};

enum sc_rule_type { SC_RULE_PODS, SC_RULE_PERCENT };
enum sc_select { SC_SELECT_MAX, SC_SELECT_MIN, SC_SELECT_DISABLED };

/* One entry of /behavior/scaleUp/policies (or scaleDown). */
struct sc_rule {
	enum sc_rule_type type;
	int value;          /* pods, or percent */
	int64_t period;     /* periodSeconds, ns */
};

/* /behavior/scaleUp or /behavior/scaleDown, defaults filled in:
 * up: window 0, Max of Percent 100/15s and Pods 4/15s;
 * down: window 300 s, Percent 100/15s; tolerance 0.1 both ways. */
struct sc_direction {
	struct sc_rule *rules;
	size_t nrules;
	enum sc_select select;
	int64_t window;     /* stabilizationWindowSeconds, ns */
	double tolerance;   /* |1 - ratio| <= tolerance is no change */
};

/* policy /catalogue/N: an instance type. */
struct sc_instance_type {
	char *name;
	double price_per_hour;
	char **cap_names;    /* metric names, as in /catalogue/N/capacity */
	double *cap_values;  /* what one instance serves of each */
	size_t ncap;
};

struct sc_policy {
	char *file;             /* as named on the command line */
	char *service;          /* a name or an fnmatch(3) pattern ("*") */
	int min_replicas;       /* 0 allows scale to zero (needs an activation) */
	int max_replicas;
	int64_t period;         /* evaluation period, default 15 s */
	/* for --poll: where the replica counts come from (NULL: the state) */
	struct sc_source *replicas_source; /* /replicasSource */
	struct sc_source *ready_source;    /* /readySource */
	struct sc_metric *metrics;
	size_t nmetrics;
	struct sc_direction up, down;

	/* scale to zero (min_replicas 0): idle for cooldown -> 0; active ->
	 * activation_replicas (max(1, /activationReplicas)) */
	int64_t cooldown;       /* default 300 s */
	int activation_replicas;

	/* idle report: utilisation (value / target) under idle_threshold for
	 * idle_period */
	double idle_threshold;  /* fraction, default 0.1 */
	int64_t idle_period;    /* default 1 h */

	/* the hook run by --apply: exactly one of hook_argv / hook_shell is
	 * set when there is a hook; placeholders {service} {replicas}
	 * {current}; environment OFS_SERVICE OFS_REPLICAS OFS_CURRENT_REPLICAS */
	char **hook_argv;
	char *hook_shell;
	int64_t hook_timeout;   /* default 30 s */

	/* prediction: scale out ahead of the forecast of metric predict_metric
	 * by predict_lead; never scale in on it */
	bool predictive;
	int predict_metric;     /* index into metrics (utilization or averageValue) */
	int64_t predict_lead;   /* default 300 s */

	/* cost */
	struct sc_instance_type *catalogue;
	size_t ncatalogue;
	int instance;           /* index into catalogue of this service's replicas, -1 none */
	double budget_per_hour; /* 0: no budget */
	double headroom;        /* fraction added to demand by size and plan, default 0.2 */

	cJSON *root;            /* the parsed file, owned */
};

/*
 * sc_policy_load: read, parse and validate the policy file path. On any
 * problem every message ("FILE: /pointer: message", or FILE:LINE:COL for
 * a syntax error) is printed through error() and -1 returned (the caller
 * exits 2); otherwise *out is filled and 0 returned. Release with
 * sc_policy_free.
 */
int sc_policy_load(const char *path, struct sc_policy *out);
void sc_policy_free(struct sc_policy *p);
/* sc_policy_parse: the same for len bytes of text named name in messages;
 * the messages (one per line) are appended to err instead of printed. */
int sc_policy_parse(const char *name, const char *text, size_t len, struct sc_policy *out,
		    struct strbuf *err);
/* sc_policy_default: a policy for service "*" with HPA's defaults and no
 * metrics (min 1, max 10): the base of --spike simulations and tests. */
void sc_policy_default(struct sc_policy *p);
/* sc_policy_metric: the index of the metric called name, or -1. */
int sc_policy_metric(const struct sc_policy *p, const char *name);
/* sc_policy_for: the first of the n policies whose service matches, or NULL. */
const struct sc_policy *sc_policy_for(const struct sc_policy *const *v, size_t n,
				      const char *service);
/* sc_rule_text: "Pods 4/15s", "Percent 100/15s" into sb. */
void sc_rule_text(const struct sc_rule *r, struct strbuf *sb);

/* ---- samples ---------------------------------------------------------- */

/*
 * A metric sample record:
 *   {"service":"cart","ts":"2026-11-22T10:00:00Z","metric":"cpu","value":85,
 *    "replicas":4,"ready_replicas":4}
 * ts is RFC 3339 or a number of seconds since the epoch. A per-pod sample
 * adds "pod":"cart-1" and may say "ready":false; its value is that pod's.
 * A sample without a pod is the service's average over its ready pods
 * (for a "value" metric: the service's value). "type", when present,
 * must be "scale.sample".
 */
struct sc_sample {
	const char *service;  /* point into the cJSON record */
	const char *metric;
	const char *pod;      /* NULL: a service-level sample */
	int64_t ts;
	double value;
	int replicas;         /* -1: not given */
	int ready_replicas;   /* -1: not given */
	bool pod_ready;       /* per-pod samples: "ready", default true */
};

/* sc_sample_parse: rec into *s (strings point into rec). Returns 0, or -1
 * with the reason in why ("/value: must be a number"). */
int sc_sample_parse(const cJSON *rec, struct sc_sample *s, struct strbuf *why);
/* sc_sample_demand: the service's total demand the sample stands for:
 * value x ready replicas (else replicas, else 1); the value itself for a
 * per-pod sample. */
double sc_sample_demand(const struct sc_sample *s);

/* ---- demand (demand.c) ------------------------------------------------ */

/* One instant: what a service's metric added up to at one ts. */
struct sc_instant {
	size_t service, metric; /* indexes into the names of the sc_demand */
	int64_t ts;
	double demand;
	bool pod;               /* while reading: a per-pod sample */
};

struct ht;
/* Samples added up into instants of demand. */
struct sc_demand {
	char **services;        /* in the order first seen */
	size_t nservices, aservices;
	char **metrics;
	size_t nmetrics, ametrics;
	struct sc_instant *v;   /* sorted by service, metric (as indexed) and ts */
	size_t n, a;
	struct ht *service_ix, *metric_ix; /* private: name -> index + 1 */
};

/* Which samples count: NULL members count every one. */
struct sc_demand_filter {
	const char *service; /* an fnmatch(3) pattern */
	const char *metric;  /* a name */
};

/*
 * sc_demand_read: read the samples of files (none: standard input) that
 * f lets through (f may be NULL) into d, which it initialises: the demand
 * of an instant is the sum of its per-pod samples or a service-level
 * sample's value x ready replicas, whichever is greater. Bad lines are
 * reported (FILE:LINE: reason) and counted (jsonl_exit_status). Returns
 * 0, or -1 when strict stopped at a bad line or a file could not be read
 * (what was read is kept). Release with sc_demand_release.
 */
int sc_demand_read(struct sc_demand *d, char **files, int nfiles, bool strict,
		   const struct sc_demand_filter *f);
/* sc_demand_series_end: the index after the last instant of the service
 * and metric of instant i (so d->v[i..end) is one series). */
size_t sc_demand_series_end(const struct sc_demand *d, size_t i);
void sc_demand_release(struct sc_demand *d);

/* ---- the HPA ---------------------------------------------------------- */

/* What one metric reported in one period: the input of sc_hpa_decide. */
struct sc_observation {
	bool present;   /* any value this period */
	double sum;     /* sum of the values of the ready pods that reported
			 * (SC_VALUE: the value) */
	int reporting;  /* ready pods that reported (SC_VALUE: 1) */
	int missing;    /* ready pods that did not report */
	int unready;    /* pods not ready: their values are left out */
};

/* What the HPA made of one metric. */
struct sc_metric_eval {
	const struct sc_metric *metric;
	bool valid;             /* false: no value this period */
	double value;           /* average over the reporting ready pods (or the value) */
	double ratio;           /* value / target */
	double tolerance;       /* the tolerance of ratio's direction */
	bool within_tolerance;
	bool recomputed;        /* missing or unready pods were filled in */
	double fill_missing;    /* the value missing pods were counted at (when recomputed) */
	double adjusted_ratio;  /* the ratio after filling in (when recomputed) */
	int proposal;           /* replicas this metric asks for */
	const char *note;       /* a static sentence on the rule that decided, or NULL */
};

struct sc_rec { int64_t ts; int replicas; };
struct sc_event { int64_t ts; int delta; }; /* +n scaled up, -n down */

/* What an HPA controller remembers of a service between periods. */
struct sc_history {
	struct sc_rec *recs;     /* recommendations (before stabilization) */
	size_t nrecs, arecs;
	struct sc_event *events; /* replica changes made */
	size_t nevents, aevents;
};

struct sc_decision {
	const char *service;
	int64_t ts;             /* the evaluation time */
	int current;            /* replicas now */
	int ready;              /* ready replicas now */
	struct sc_metric_eval *metrics; /* [policy->nmetrics], owned */
	size_t nmetrics;
	int forecast_proposal;  /* -1: no prediction this period */
	int recommendation;     /* max over metrics (and the forecast) */
	int stabilized;         /* after the stabilization window */
	const char *window_dir; /* "up", "down" or NULL */
	int64_t window;         /* that direction's window, ns */
	int limit;              /* the behaviour limit that applied, or -1 */
	char limit_rule[64];    /* "Pods 4/15s", or "" */
	bool limited;
	const char *clamp;      /* "min", "max", "budget" or NULL */
	int desired;            /* the decision */
	bool budget_breach;     /* min replicas alone cost more than the budget */
	double cost_per_hour;   /* of desired replicas; -1 without a catalogue */
	const char *idle;       /* "scale_to_zero", "activate" or NULL (idle.c) */
	struct strbuf reason;   /* a human sentence */
};

void sc_history_init(struct sc_history *h);
void sc_history_release(struct sc_history *h);
/* sc_history_prune: forget what is older than keep before now. */
void sc_history_prune(struct sc_history *h, int64_t now, int64_t keep);
/* sc_history_seed: what the HPA does when it first sees a target: the
 * current count becomes a recommendation at now, so the stabilization
 * windows start from it (no scale-down within the first scaleDown
 * window). */
void sc_history_seed(struct sc_history *h, int64_t now, int current);
/* sc_history_scaled: remember that replicas went from -> to at ts. */
void sc_history_scaled(struct sc_history *h, int64_t ts, int from, int to);

void sc_decision_init(struct sc_decision *d);
void sc_decision_release(struct sc_decision *d);

/*
 * sc_hpa_decide: one evaluation of policy p for a service with current
 * replicas (ready of them ready) at now, from obs[p->nmetrics]. The order
 * is the HPA's: per-metric ratio, tolerance, missing and not-ready rules,
 * max over metrics (and forecast_proposal when >= 0: it may raise the
 * recommendation, never lower it), stabilization window, behaviour
 * limits (selectPolicy), clamp to min/max, then the budget. The
 * recommendation is added to h; the caller calls sc_history_scaled once
 * the change is made. Every step is written into d (initialised by the
 * caller with sc_decision_init; its previous contents are released).
 * With no valid metric the decision holds at current (clamped). current
 * 0 holds at 0 (scale from zero is idle.c's).
 */
void sc_hpa_decide(const struct sc_policy *p, struct sc_history *h,
		   const struct sc_observation *obs, int current, int ready, int64_t now,
		   int forecast_proposal, struct sc_decision *d);

/* ---- cost ------------------------------------------------------------- */

/* sc_cost_per_hour: what replicas of p's instance type cost an hour, or
 * -1 when p names no instance type. */
double sc_cost_per_hour(const struct sc_policy *p, int replicas);
/* sc_budget_max: the most replicas p's budget pays for, or INT32_MAX
 * without a budget or an instance type. */
int sc_budget_max(const struct sc_policy *p);

/* ---- forecast --------------------------------------------------------- */

/* A series of demand values at a fixed step, for fitting. */
struct sc_series {
	int64_t start;  /* ts of values[0] */
	int64_t step;   /* ns between values */
	double *values; /* NAN where a step had no sample */
	size_t n;
};

enum sc_method { SC_HOLT_WINTERS, SC_LINEAR };

/* A fitted model, ready to predict. */
struct sc_model {
	enum sc_method method;
	size_t season;   /* steps per season (0: none) */
	double alpha, beta, gamma;
	double level, trend;
	double *seasonal; /* [season], indexed by step number mod season */
	int64_t start, step;
	size_t n;        /* steps fitted */
	double mape;     /* in-sample one-step-ahead MAPE, percent */
};

/* sc_model_fit: fit method to s (season steps per season, 0 for none;
 * Holt-Winters needs two full seasons). Returns 0, or -1 with the reason
 * in err. Release with sc_model_release. */
int sc_model_fit(const struct sc_series *s, enum sc_method method, size_t season,
		 struct sc_model *m, struct strbuf *err);
/* sc_model_predict: the demand predicted at ts (after the fitted span). */
double sc_model_predict(const struct sc_model *m, int64_t ts);
void sc_model_release(struct sc_model *m);

/* Forecast records (scale.forecast) read back for predictive decisions. */
struct sc_forecasts;
/* sc_forecasts_load: read the scale.forecast records of path. Returns
 * NULL with the reason in err. */
struct sc_forecasts *sc_forecasts_load(const char *path, struct strbuf *err);
/* sc_forecast_at: the demand forecast for service's metric at ts (the
 * record at or before ts, within its step), or NAN when there is none. */
double sc_forecast_at(const struct sc_forecasts *f, const char *service, const char *metric,
		      int64_t ts);
void sc_forecasts_free(struct sc_forecasts *f);

/* ---- applying (apply.c) ----------------------------------------------- */

struct out;
/*
 * sc_apply: make the change current -> desired for service by running p's
 * hook (argv with {service} {replicas} {current} substituted per element,
 * or sh -c with OFS_SERVICE OFS_REPLICAS OFS_CURRENT_REPLICAS), in its own
 * process group, with p->hook_timeout. Writes one scale.apply record to o
 * (argv or command, from, to, dry_run, ok, exit, duration_ms, the end of
 * stderr when it failed); with dry_run the hook is not run and the record
 * says so. A failure is also reported on stderr. Returns 0 when the
 * change was made (or dry_run), -1 when the hook failed or is missing:
 * the caller then counts the change as not made, so the next period
 * decides it again.
 */
int sc_apply(const struct sc_policy *p, const char *service, int current, int desired,
	     int64_t ts, bool dry_run, struct out *o);

/* ---- polling (source.c) ----------------------------------------------- */

/*
 * sc_poll_samples: one sample record (as sample.c reads them) per metric
 * of p that has a source, for service p->service at now, with
 * "replicas" and "ready_replicas" from p's replicas sources when it has
 * them. Sources that fail are reported on stderr (naming the policy file,
 * the metric and the URL) and left out. Returns a cJSON array (possibly
 * empty) the caller frees; *failed counts the failed sources.
 */
cJSON *sc_poll_samples(const struct sc_policy *p, int64_t now, int *failed);

/* ---- scale to zero (idle.c) ------------------------------------------- */

/* What idle.c remembers of a service between periods. */
struct sc_idle_state {
	bool seen_active;
	int64_t last_active; /* when an activation metric last exceeded its threshold */
};

/*
 * sc_idle_step: KEDA's semantics on top of an HPA decision d, for a
 * policy with min_replicas 0 (a no-op otherwise). Active means some metric
 * with an activation threshold has a value strictly greater than it. At
 * 0 replicas: active -> d->desired = p->activation_replicas and d->idle
 * "activate"; idle -> stay at 0. Above 0: active -> remember now; idle
 * for p->cooldown since the last activity (or since the first period
 * seen) -> d->desired 0 and d->idle "scale_to_zero". The reason in d is
 * extended with the rule that applied.
 */
void sc_idle_step(const struct sc_policy *p, struct sc_idle_state *st,
		  const struct sc_observation *obs, int64_t now, struct sc_decision *d);

#endif
