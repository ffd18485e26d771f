/*
 * size.c: `ofs-scale size`, the cheapest mix of the policy's instance
 * types that meets a demand plus headroom.
 *
 * The demand comes from --demand ("rps=12000,cpu=300", one answer with
 * "service":null) or from metric samples: the peak of each service and
 * metric over the input, an instant's demand being what its samples add
 * up to (demand.c). The mix itself is cost.c's exact solver; the record gives the
 * demand, what was required after headroom, the mix, the capacity it
 * buys, its cost an hour and a month (730 h), and the budget. A demand
 * no instance type can serve is an error naming the metric when it was
 * given on the command line (exit 2), and an "infeasible" record for a
 * service from samples (exit 1).
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
#include "units.h"

#define HOURS_PER_MONTH 730

/* ---- sizing ----------------------------------------------------------- */

/* A demand to size: metric names and values. */
struct want {
	const char **names;
	double *values;
	size_t n;
};

static double round6(double x)
{
	return round(x * 1e6) / 1e6;
}

/* The capacity type i has for metric name, 0 when none. */
static double type_cap(const struct sc_instance_type *it, const char *name)
{
	for (size_t k = 0; k < it->ncap; k++)
		if (!strcmp(it->cap_names[k], name))
			return it->cap_values[k];
	return 0;
}

static void kv_map(struct jw *w, const char *key, const struct want *d, const double *v)
{
	jw_key(w, key);
	jw_obj_begin(w);
	for (size_t j = 0; j < d->n; j++)
		jw_kv_double(w, d->names[j], round6(v[j]));
	jw_obj_end(w);
}

/*
 * Size one demand and write its record. Returns 0, or -1 (with
 * *unserved naming the metric) when no type serves a metric of the
 * demand, after writing the infeasible record when emit_infeasible.
 */
static int size_one(const struct sc_policy *p, const char *service, const struct want *d,
		    double headroom, bool emit_infeasible, const char **unserved)
{
	size_t nt = p->ncatalogue, m = d->n;
	double *price = xcalloc(nt + 1, sizeof(*price));
	double *cap = xcalloc(nt * m + 1, sizeof(*cap));
	double *req = xcalloc(m + 1, sizeof(*req));
	double *have = xcalloc(m + 1, sizeof(*have));
	long *counts = xcalloc(nt + 1, sizeof(*counts));
	for (size_t i = 0; i < nt; i++) {
		price[i] = p->catalogue[i].price_per_hour;
		for (size_t j = 0; j < m; j++)
			cap[i * m + j] = type_cap(&p->catalogue[i], d->names[j]);
	}
	for (size_t j = 0; j < m; j++)
		req[j] = round6(d->values[j] * (1 + headroom));
	/* a metric no type has capacity for is unservable even at 0 demand */
	size_t bad = m;
	for (size_t j = 0; j < m && bad == m; j++) {
		bool served = false;
		for (size_t i = 0; i < nt && !served; i++)
			served = cap[i * m + j] > 0;
		if (!served)
			bad = j;
	}
	size_t miss = 0;
	int rc = bad < m ? -1 : sc_mix_solve(nt, m, price, cap, req, counts, &miss);
	if (rc < 0 && bad == m)
		bad = miss;
	if (rc == 1)
		warn("the mix for '%s' is the best found, not proven the cheapest (search limit)",
		     service ? service : "--demand");
	if (rc < 0)
		*unserved = d->names[bad];
	if (rc >= 0 || emit_infeasible) {
		struct strbuf sb = SB_INIT;
		struct jw w;
		jw_init(&w, &sb);
		rec_begin(&w, "scale.size");
		jw_kv_str(&w, "service", service);
		kv_map(&w, "demand", d, d->values);
		jw_kv_double(&w, "headroom", round6(headroom));
		kv_map(&w, "required", d, req);
		if (rc < 0) {
			jw_kv_str(&w, "infeasible", d->names[bad]);
		} else {
			long total = 0;
			double cost = 0;
			jw_key(&w, "mix");
			jw_arr_begin(&w);
			for (size_t i = 0; i < nt; i++) {
				if (!counts[i])
					continue;
				jw_obj_begin(&w);
				jw_kv_str(&w, "name", p->catalogue[i].name);
				jw_kv_int(&w, "count", counts[i]);
				jw_obj_end(&w);
				total += counts[i];
				cost += price[i] * (double)counts[i];
				for (size_t j = 0; j < m; j++)
					have[j] += cap[i * m + j] * (double)counts[i];
			}
			jw_arr_end(&w);
			jw_kv_int(&w, "instances", total);
			kv_map(&w, "capacity", d, have);
			jw_kv_double(&w, "cost_per_hour", round6(cost));
			jw_kv_double(&w, "cost_per_month", round6(cost * HOURS_PER_MONTH));
			if (p->budget_per_hour > 0)
				jw_kv_double(&w, "budget_per_hour", p->budget_per_hour);
			jw_kv_bool(&w, "over_budget",
				   p->budget_per_hour > 0 && round6(cost) > p->budget_per_hour);
		}
		rec_end(&w, out_stdout());
		sb_release(&sb);
	}
	free(price);
	free(cap);
	free(req);
	free(have);
	free(counts);
	return rc < 0 ? -1 : 0;
}

/* --demand "rps=12000,cpu=300" into d (names point into arg's copy). */
static void parse_demand(char *arg, struct want *d)
{
	size_t alloc = 0, valloc = 0;
	for (char *tok = arg, *next; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok)
			die_usage("--demand: want metric=value, got '%s'", tok);
		*eq = '\0';
		struct strbuf err = SB_INIT;
		double v;
		if (num_parse_double(eq + 1, &v, &err) < 0)
			die_usage("--demand: %s: %s", tok, err.buf);
		if (v < 0)
			die_usage("--demand: %s: must not be negative, got %s", tok, eq + 1);
		for (size_t j = 0; j < d->n; j++)
			if (!strcmp(d->names[j], tok))
				die_usage("--demand: metric '%s' given twice", tok);
		ALLOC_GROW(d->names, d->n + 1, alloc);
		ALLOC_GROW(d->values, d->n + 1, valloc);
		d->names[d->n] = tok;
		d->values[d->n++] = v;
	}
}

/* --headroom "20" or "20%": a fraction. */
static double parse_headroom(const char *arg)
{
	struct strbuf err = SB_INIT;
	char *s = xstrdup(arg);
	size_t len = strlen(s);
	if (len && s[len - 1] == '%')
		s[len - 1] = '\0';
	double v;
	if (num_parse_double(s, &v, &err) < 0)
		die_usage("--headroom: %s", err.buf);
	if (v < 0)
		die_usage("--headroom: must not be negative, got %s", arg);
	free(s);
	return v / 100;
}

/* Size every service of the samples at its peak; the exit status. */
static int size_samples(const struct sc_policy *p, char **files, int nfiles, bool strict,
			double headroom)
{
	struct sc_demand dm;
	struct sc_demand_filter only = { p->service, NULL };
	int rc = sc_demand_read(&dm, files, nfiles, strict, &only);
	int status = EXIT_OK;
	if (rc < 0 && strict) {
		sc_demand_release(&dm);
		return jsonl_exit_status(EXIT_OK);
	}
	struct want d = { xcalloc(dm.nmetrics + 1, sizeof(char *)),
			  xcalloc(dm.nmetrics + 1, sizeof(double)), 0 };
	size_t *slot = xcalloc(dm.nmetrics + 1, sizeof(*slot));
	for (size_t s = 0; s < dm.nservices; s++) {
		/* the metrics in the order first seen, each at its peak */
		d.n = 0;
		for (size_t i = 0; i < dm.nmetrics; i++)
			slot[i] = SIZE_MAX;
		for (size_t i = 0; i < dm.n; i++) {
			const struct sc_instant *pt = &dm.v[i];
			if (pt->service != s)
				continue;
			if (slot[pt->metric] == SIZE_MAX) {
				slot[pt->metric] = d.n;
				d.values[d.n] = 0;
				d.n++;
			}
			if (pt->demand > d.values[slot[pt->metric]])
				d.values[slot[pt->metric]] = pt->demand;
		}
		/* order the metrics by first appearance: names by metric index */
		for (size_t i = 0; i < dm.nmetrics; i++)
			if (slot[i] != SIZE_MAX)
				d.names[slot[i]] = dm.metrics[i];
		const char *unserved = NULL;
		if (size_one(p, dm.services[s], &d, headroom, true, &unserved) < 0)
			status = EXIT_NO;
	}
	free(slot);
	free(d.names);
	free(d.values);
	sc_demand_release(&dm);
	return jsonl_exit_status(status);
}

int cmd_size(int argc, char **argv)
{
	struct opt_parser op;
	const char *policy = NULL, *demand = NULL, *headroom_arg = NULL;
	bool strict = false;
	int c;
	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE) {
		switch (c) {
		case 'p':
			policy = op.arg;
			break;
		case SOPT_DEMAND:
			demand = op.arg;
			break;
		case SOPT_HEADROOM:
			headroom_arg = op.arg;
			break;
		case SOPT_STRICT:
			strict = true;
			break;
		default:
			break;
		}
	}
	char **files;
	int nfiles = opt_operands(&op, &files);
	if (!policy)
		opt_usage_error(&op, "a policy (-p) is required: its catalogue prices the mix");
	if (demand && nfiles)
		opt_usage_error(&op, "--demand reads no samples: drop the input files");
	double headroom = headroom_arg ? parse_headroom(headroom_arg) : -1;
	struct sc_policy p;
	if (sc_policy_load(policy, &p) < 0) {
		opt_end(&op);
		return EXIT_USAGE;
	}
	int status = EXIT_OK;
	if (!p.ncatalogue) {
		error("%s: /catalogue: size needs a catalogue of instance types", policy);
		status = EXIT_USAGE;
	} else if (demand) {
		char *copy = xstrdup(demand);
		struct want d = { 0 };
		parse_demand(copy, &d);
		const char *unserved = NULL;
		if (size_one(&p, NULL, &d, headroom >= 0 ? headroom : p.headroom, false,
			     &unserved) < 0) {
			error("--demand: no instance type in the catalogue of '%s' has capacity for "
			      "'%s'",
			      policy, unserved);
			status = EXIT_USAGE;
		}
		free(d.names);
		free(d.values);
		free(copy);
	} else {
		status = size_samples(&p, files, nfiles, strict,
				      headroom >= 0 ? headroom : p.headroom);
	}
	sc_policy_free(&p);
	opt_end(&op);
	return status;
}
