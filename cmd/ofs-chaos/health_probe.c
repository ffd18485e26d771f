/*
 * health_probe.c: the "health" provider: one round of the topology's
 * own health checks, judged dependency-aware exactly as ofs-health does
 * (check.h, judge.h), so an experiment's steady state can be "orders is
 * healthy" without writing a probe per instance.
 *
 * Every instance of every service is checked (a service's state depends
 * on its dependencies'), then the output keeps the services asked for:
 * {"state": the worst of them, "services": {NAME: {"state", "healthy",
 * "instances", "reason"}}}. States order from best to worst: healthy,
 * degraded, impacted, unhealthy, unknown.
 */
#include "common.h"

#include "check.h"
#include "judge.h"
#include "run.h"

struct probe_inst {
	const struct topo_instance *ti;
	struct check_result res;
	bool done;
};

static void on_done(void *user, const struct check_spec *spec, const struct check_result *res,
		    void *ctx)
{
	(void)spec;
	(void)ctx;
	struct probe_inst *p = user;
	p->res.status = res->status;
	sb_reset(&p->res.reason);
	sb_add(&p->res.reason, res->reason.buf, res->reason.len);
	p->res.latency_ms = res->latency_ms;
	p->done = true;
}

static int badness(enum judge_state s)
{
	switch (s) {
	case JUDGE_HEALTHY:
		return 0;
	case JUDGE_DEGRADED:
		return 1;
	case JUDGE_IMPACTED:
		return 2;
	case JUDGE_UNHEALTHY:
		return 3;
	default:
		return 4;
	}
}

static bool wanted(const struct topology *t, size_t svc, const char *service,
		   const char *instance)
{
	if (service)
		return !strcmp(t->services[svc].name, service);
	if (instance) {
		const struct topo_instance *in = topo_find_instance(t, instance);
		return in && in->service == svc;
	}
	return true;
}

int health_probe_run(const struct topology *t, const cJSON *prov, struct act_result *r)
{
	if (!t) {
		r->failed = true;
		sb_addstr(&r->error, "a health probe needs a topology: give --topology or "
				     "\"topology\" in the experiment");
		return 0;
	}
	const char *service = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "service"));
	const char *instance =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "instance"));
	if (service && topo_service_index(t, service) < 0) {
		r->failed = true;
		sb_addf(&r->error, "no service '%s' in the topology", service);
		return 0;
	}
	if (instance && !topo_find_instance(t, instance)) {
		r->failed = true;
		sb_addf(&r->error, "no instance '%s' in the topology", instance);
		return 0;
	}
	int64_t timeout_ms = prov_timeout_ms(prov, 0);

	size_t n = 0;
	for (size_t s = 0; s < t->nservices; s++)
		n += t->services[s].ninstances;
	struct probe_inst *pi = xcalloc(n + 1, sizeof(*pi));
	struct check_spec *specs = xcalloc(n + 1, sizeof(*specs));
	struct check_runner *runner = check_runner_new(256, 64, 0);
	size_t k = 0;
	for (size_t s = 0; s < t->nservices; s++)
		for (size_t i = 0; i < t->services[s].ninstances; i++, k++) {
			pi[k].ti = &t->services[s].instances[i];
			check_result_init(&pi[k].res);
			check_spec_copy(&specs[k], &pi[k].ti->check);
			if (timeout_ms > 0)
				specs[k].timeout_ms = timeout_ms;
			check_runner_add(runner, &specs[k], &pi[k]);
		}
	int rc = check_runner_run(runner, on_done, NULL);
	check_runner_free(runner);

	/* Judge every service, dependencies first. */
	struct judge_service *js = xcalloc(t->nservices + 1, sizeof(*js));
	struct judge_verdict *v = xcalloc(t->nservices + 1, sizeof(*v));
	struct judge_instance *ji = xcalloc(n + 1, sizeof(*ji));
	size_t **deps = xcalloc(t->nservices + 1, sizeof(*deps));
	size_t *order = xcalloc(t->nservices + 1, sizeof(*order));
	k = 0;
	for (size_t s = 0; s < t->nservices; s++) {
		const struct topo_service *ts = &t->services[s];
		js[s].name = ts->name;
		deps[s] = xcalloc(ts->ndeps + 1, sizeof(size_t));
		for (size_t d = 0; d < ts->ndeps; d++)
			deps[s][d] = (size_t)topo_service_index(t, ts->depends_on[d]);
		js[s].deps = deps[s];
		js[s].ndeps = ts->ndeps;
		js[s].instances = &ji[k];
		js[s].ninstances = ts->ninstances;
		js[s].quorum = ts->quorum;
		for (size_t i = 0; i < ts->ninstances; i++, k++) {
			ji[k].id = pi[k].ti->id;
			ji[k].state = pi[k].done ? judge_inst_from_check(pi[k].res.status)
						 : JUDGE_INST_FAILING;
			ji[k].reason = pi[k].done ? pi[k].res.reason.buf : "no result";
		}
		judge_verdict_init(&v[s]);
	}
	if (graph_reverse_topo(t->deps, order, NULL) < 0)
		for (size_t s = 0; s < t->nservices; s++)
			order[s] = s;
	judge_services(js, t->nservices, order, v);

	cJSON *out = cJSON_CreateObject();
	cJSON *svcs = cJSON_CreateObject();
	enum judge_state worst = JUDGE_HEALTHY;
	for (size_t s = 0; s < t->nservices; s++) {
		if (!wanted(t, s, service, instance))
			continue;
		cJSON *o = cJSON_AddObjectToObject(svcs, t->services[s].name);
		cJSON_AddStringToObject(o, "state", judge_state_name(v[s].state));
		cJSON_AddNumberToObject(o, "healthy", v[s].healthy);
		cJSON_AddNumberToObject(o, "instances", v[s].instances);
		if (v[s].reason.len)
			cJSON_AddStringToObject(o, "reason", v[s].reason.buf);
		if (badness(v[s].state) > badness(worst))
			worst = v[s].state;
	}
	if (instance) {
		/* An instance asked for by name: its own check decides. */
		for (size_t i = 0; i < n; i++)
			if (!strcmp(pi[i].ti->id, instance)) {
				bool ok = pi[i].done && pi[i].res.status == CHECK_OK;
				worst = ok ? JUDGE_HEALTHY : pi[i].res.status == CHECK_WARNING
								 ? JUDGE_DEGRADED
								 : JUDGE_UNHEALTHY;
				cJSON *o = cJSON_AddObjectToObject(out, "instance");
				cJSON_AddStringToObject(o, "id", instance);
				cJSON_AddStringToObject(o, "status",
							check_status_name(pi[i].res.status));
				if (pi[i].res.reason.len)
					cJSON_AddStringToObject(o, "reason", pi[i].res.reason.buf);
			}
	}
	cJSON_AddStringToObject(out, "state", judge_state_name(worst));
	cJSON_AddItemToObject(out, "services", svcs);
	r->output = out;

	for (size_t s = 0; s < t->nservices; s++) {
		judge_verdict_release(&v[s]);
		free(deps[s]);
	}
	for (size_t i = 0; i < n; i++) {
		check_result_release(&pi[i].res);
		check_spec_release(&specs[i]);
	}
	free(deps);
	free(order);
	free(ji);
	free(v);
	free(js);
	free(specs);
	free(pi);
	return rc < 0 ? -1 : 0;
}

int health_probe_held(const cJSON *prov, const cJSON *output, struct strbuf *why)
{
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(prov, "expect");
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(output, "state"));
	if (!state)
		state = "unknown";
	bool ok = false;
	if (cJSON_IsArray(expect)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, expect) if (cJSON_IsString(e) && !strcmp(e->valuestring, state))
			ok = true;
	} else {
		const char *want = cJSON_IsString(expect) ? expect->valuestring : "healthy";
		ok = !strcmp(want, state);
	}
	if (ok) {
		sb_addf(why, "state %s", state);
		return 1;
	}
	sb_addf(why, "state %s", state);
	/* Name the services that are not as expected, with their reasons. */
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(output, "services");
	const cJSON *s;
	const char *sep = ": ";
	cJSON_ArrayForEach(s, svcs)
	{
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "state"));
		if (st && strcmp(st, "healthy")) {
			const char *reason =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "reason"));
			sb_addf(why, "%s%s %s%s%s%s", sep, s->string, st, reason ? " (" : "",
				reason ? reason : "", reason ? ")" : "");
			sep = ", ";
		}
	}
	return 0;
}
