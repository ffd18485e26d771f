/*
 * kubectl.c: ofs-deploy's Kubernetes drivers, instances and traffic,
 * both spoken through kubectl.
 *
 * Where a fleet outgrows one machine Kubernetes carries the instances and
 * ofs-deploy only decides what moves when (DESIGN.md section 4), so these
 * drivers render kubectl commands instead of running processes. Each
 * version is one Deployment, named by the instances.deployment template
 * (default "{service}-{version}"), whose pods are labelled app=NAME (what
 * `kubectl create deployment` does). An instance is one replica of it:
 * starting one scales the Deployment to the live instances of its
 * revision, stopping one scales it down (and deletes it at 0), and it is
 * ready when `kubectl rollout status` says the rollout is complete.
 * Traffic follows the strategy: blue/green moves the selector of the
 * traffic Service to the serving version; a canary applies an SMI
 * TrafficSplit over one Service per version (exposed on first weight); a
 * rolling update needs no routing, Services select pods themselves.
 *
 * Commands are argv arrays (never a shell), each with --context and
 * --namespace when the spec sets them and a timeout; a failure reads
 * "kubectl scale deployment/NAME: exited with status 1: LAST STDERR LINE".
 */
#include "common.h"

#include "deploy.h"
#include "jw.h"
#include "proc.h"
#include "strbuf.h"

#define KC_TIMEOUT_MS 30000       /* one kubectl command */
#define KC_READY_TIMEOUT_MS 10000 /* rollout status --timeout=1s, with slack */
#define KC_MAX_ARGS 16

/* ---- running kubectl ---------------------------------------------------- */

/* kc_tail: append ": " and the last non-empty line of r's stderr (else
 * stdout), if there is one. */
static void kc_tail(const struct proc_result *r, struct strbuf *err)
{
	const struct strbuf *s = r->err.len ? &r->err : &r->out;
	size_t end = s->len;
	while (end && (s->buf[end - 1] == '\n' || s->buf[end - 1] == '\r' ||
		       s->buf[end - 1] == ' ' || s->buf[end - 1] == '\t'))
		end--;
	size_t start = end;
	while (start && s->buf[start - 1] != '\n')
		start--;
	if (end > start) {
		sb_addstr(err, ": ");
		sb_add(err, s->buf + start, end - start);
	}
}

/* kc_stderr_has: whether kubectl's stderr mentions what (e.g. "NotFound"). */
static bool kc_stderr_has(const struct proc_result *r, const char *what)
{
	return strstr(r->err.buf, what) != NULL;
}

/*
 * kc_run: run spec's kubectl with args (NULL-terminated, without the
 * program), --context and --namespace first when the spec sets them,
 * stdin_data (may be NULL) and a timeout. Returns 0 when it exited 0,
 * else -1 with "kubectl ARGS[0..nwhat): REASON: TAIL" in err. r (caller
 * initialised and released) holds the outcome either way.
 */
static int kc_run(const struct dp_spec *spec, const char *const *args, size_t nwhat,
		  const char *stdin_data, int timeout_ms, struct proc_result *r,
		  struct strbuf *err)
{
	const struct dp_instances *ins = &spec->instances;
	const char *argv[KC_MAX_ARGS + 6];
	size_t n = 0;
	argv[n++] = ins->kubectl && *ins->kubectl ? ins->kubectl : "kubectl";
	if (ins->context && *ins->context) {
		argv[n++] = "--context";
		argv[n++] = ins->context;
	}
	if (ins->namespace_ && *ins->namespace_) {
		argv[n++] = "--namespace";
		argv[n++] = ins->namespace_;
	}
	for (size_t i = 0; i < KC_MAX_ARGS && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	struct proc_spec ps = { 0 };
	ps.argv = argv;
	ps.stdin_data = stdin_data;
	ps.stdin_len = stdin_data ? strlen(stdin_data) : 0;
	ps.timeout_ms = timeout_ms;
	if (proc_run(&ps, r) == 0 && r->exit_code == 0)
		return 0;
	sb_addstr(err, "kubectl");
	for (size_t i = 0; i < nwhat && args[i]; i++)
		sb_addf(err, " %s", args[i]);
	sb_addstr(err, ": ");
	proc_describe(r, err);
	if (!r->spawn_errno)
		kc_tail(r, err);
	return -1;
}

/* kc_simple: kc_run with the default timeout, no stdin, r discarded. */
static int kc_simple(const struct dp_spec *spec, const char *const *args, size_t nwhat,
		     struct strbuf *err)
{
	struct proc_result r = PROC_RESULT_INIT;
	int rc = kc_run(spec, args, nwhat, NULL, KC_TIMEOUT_MS, &r, err);
	proc_result_release(&r);
	return rc;
}

/* ---- names -------------------------------------------------------------- */

/* kc_expand: tmpl with {service} {version} {revision} {artifact} filled
 * in for version and revision of spec's service (caller frees). */
static char *kc_expand(const struct dp_spec *spec, const char *tmpl, const char *version,
		       int revision)
{
	char revbuf[16];
	snprintf(revbuf, sizeof(revbuf), "%d", revision);
	const struct proc_var vars[] = {
		{ "service", spec->service },
		{ "version", version ? version : spec->version },
		{ "revision", revbuf },
		{ "artifact", spec->artifact },
	};
	const char *t[] = { tmpl, NULL };
	char **out = proc_expand_argv(t, vars, ARRAY_SIZE(vars));
	char *s = out[0];
	out[0] = NULL;
	proc_argv_free(out);
	return s;
}

/* kc_deployment: the Deployment of version/revision under spec (caller frees). */
static char *kc_deployment(const struct dp_spec *spec, const char *version, int revision)
{
	const char *t = spec->instances.deployment;
	return kc_expand(spec, t && *t ? t : "{service}-{version}", version, revision);
}

/* kc_inst_deployment: in's Deployment: the name start() left in in->host,
 * else the one spec's template gives (caller frees). */
static char *kc_inst_deployment(const struct dp_spec *spec, const struct dp_inst *in)
{
	if (in->host && *in->host)
		return xstrdup(in->host);
	return kc_deployment(spec, in->version, in->revision);
}

/* kc_live_count: the live instances (STARTING..DRAINING) of in's revision
 * in d, in counted once whatever its state: the replicas its Deployment
 * needs while in runs. */
static int kc_live_count(const struct dp_deploy *d, const struct dp_inst *in)
{
	int k = 1;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *o = d->inst[i];
		if (o == in || o->revision != in->revision || o->state > DP_DRAINING)
			continue;
		if (o->id && in->id && !strcmp(o->id, in->id))
			continue;
		k++;
	}
	return k;
}

/* ---- the instance driver -------------------------------------------------- */

/* What the runner knows of Deployments: whether each exists, and whether
 * this process has made its image the spec's. */
struct kc_dep {
	char *name;
	bool exists;
	bool imaged;
};
struct kc_runner {
	struct kc_dep *dep;
	size_t n, alloc;
};

static struct kc_runner *kc_runner_state(struct dp_deploy *d)
{
	if (!d->runner_state)
		d->runner_state = xcalloc(1, sizeof(struct kc_runner));
	return d->runner_state;
}

/* kc_dep_find: name's entry, NULL when nothing is known of it. */
static struct kc_dep *kc_dep_find(struct kc_runner *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->dep[i].name, name))
			return &st->dep[i];
	return NULL;
}

static struct kc_dep *kc_dep_add(struct kc_runner *st, const char *name, bool exists)
{
	ALLOC_GROW(st->dep, st->n + 1, st->alloc);
	struct kc_dep *e = &st->dep[st->n++];
	e->name = xstrdup(name);
	e->exists = exists;
	e->imaged = false;
	return e;
}

/* kc_dep_lookup: ask Kubernetes whether Deployment name exists (NotFound
 * means no) and remember the answer. NULL with err on any other failure. */
static struct kc_dep *kc_dep_lookup(struct dp_deploy *d, const struct dp_spec *spec,
				    const char *name, struct strbuf *err)
{
	struct kc_runner *st = kc_runner_state(d);
	struct kc_dep *e = kc_dep_find(st, name);
	if (e)
		return e;
	const char *args[] = { "get", "deployment", name, "-o", "name", NULL };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf why = SB_INIT;
	int rc = kc_run(spec, args, 3, NULL, KC_TIMEOUT_MS, &r, &why);
	if (rc == 0 || (!r.spawn_errno && r.exit_code > 0 && kc_stderr_has(&r, "NotFound")))
		e = kc_dep_add(st, name, rc == 0);
	else
		sb_add(err, why.buf, why.len);
	sb_release(&why);
	proc_result_release(&r);
	return e;
}

/* prepare: kubectl runs, and whether the new version's Deployment exists. */
static int kc_prepare(struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_spec *spec = d->spec;
	const char *args[] = { "version", "--client", NULL };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf why = SB_INIT;
	int rc = kc_run(spec, args, 2, NULL, KC_TIMEOUT_MS, &r, &why);
	if (rc) {
		const char *prog = spec->instances.kubectl && *spec->instances.kubectl ?
					   spec->instances.kubectl : "kubectl";
		if (r.spawn_errno)
			sb_addf(err, "cannot run kubectl: '%s': %s", prog, strerror(r.spawn_errno));
		else
			sb_addf(err, "cannot run kubectl: %s", why.buf + strlen("kubectl "));
	}
	sb_release(&why);
	proc_result_release(&r);
	if (rc)
		return -1;
	char *name = kc_deployment(spec, spec->version, d->revision);
	rc = kc_dep_lookup(d, spec, name, err) ? 0 : -1;
	free(name);
	return rc;
}

/* kc_ensure: make Deployment name exist and run spec's image: create it
 * with no replicas when it does not exist; set the image of one that
 * existed before (once per process). */
static int kc_ensure(struct dp_deploy *d, const struct dp_spec *spec, const struct dp_inst *in,
		     const char *name, struct strbuf *err)
{
	struct kc_dep *e = kc_dep_lookup(d, spec, name, err);
	if (!e)
		return -1;
	if (e->exists && e->imaged)
		return 0;
	const struct dp_instances *ins = &spec->instances;
	char *image = kc_expand(spec, ins->image ? ins->image : "", in->version, in->revision);
	int rc = 0;
	if (!e->exists) {
		char *opt = xasprintf("--image=%s", image);
		const char *args[] = { "create", "deployment", name, opt, "--replicas=0", NULL };
		struct proc_result r = PROC_RESULT_INIT;
		struct strbuf why = SB_INIT;
		rc = kc_run(spec, args, 3, NULL, KC_TIMEOUT_MS, &r, &why);
		if (rc == 0)
			e->imaged = true; /* created from the image */
		else if (!r.spawn_errno && kc_stderr_has(&r, "already exists"))
			rc = 0; /* made meanwhile: set its image below */
		else
			sb_add(err, why.buf, why.len);
		e->exists = rc == 0;
		sb_release(&why);
		proc_result_release(&r);
		free(opt);
	}
	if (rc == 0 && !e->imaged) {
		const char *c = ins->container && *ins->container ? ins->container : spec->service;
		char *target = xasprintf("deployment/%s", name);
		char *set = xasprintf("%s=%s", c, image);
		const char *args[] = { "set", "image", target, set, NULL };
		rc = kc_simple(spec, args, 3, err);
		e->imaged = rc == 0;
		free(set);
		free(target);
	}
	free(image);
	return rc;
}

/* kc_scale: scale Deployment name to replicas. */
static int kc_scale(const struct dp_spec *spec, const char *name, int replicas,
		    struct proc_result *r, struct strbuf *err)
{
	char *target = xasprintf("deployment/%s", name);
	char *opt = xasprintf("--replicas=%d", replicas);
	const char *args[] = { "scale", target, opt, NULL };
	int rc = kc_run(spec, args, 2, NULL, KC_TIMEOUT_MS, r, err);
	free(opt);
	free(target);
	return rc;
}

/* start: one more replica of the revision's Deployment (made if need be). */
static int kc_start(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		    struct strbuf *err)
{
	char *name = kc_deployment(spec, in->version, in->revision);
	int rc = kc_ensure(d, spec, in, name, err);
	if (rc == 0) {
		struct proc_result r = PROC_RESULT_INIT;
		rc = kc_scale(spec, name, kc_live_count(d, in), &r, err);
		proc_result_release(&r);
	}
	if (rc == 0) {
		free(in->host);
		in->host = name;
		name = NULL;
		in->port = 0;
		in->pid = 0;
		in->pid_start = 0;
	}
	free(name);
	return rc;
}

/* ready: the Deployment's rollout is complete (1), not yet (0), or the
 * Deployment is gone (-1). */
static int kc_ready(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		    struct strbuf *err)
{
	(void)d;
	char *name = kc_inst_deployment(spec, in);
	char *target = xasprintf("deployment/%s", name);
	const char *args[] = { "rollout", "status", target, "--timeout=1s", NULL };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf why = SB_INIT;
	int rc = kc_run(spec, args, 3, NULL, KC_READY_TIMEOUT_MS, &r, &why);
	if (rc == 0) {
		rc = 1;
	} else if (r.spawn_errno || kc_stderr_has(&r, "NotFound")) {
		sb_add(err, why.buf, why.len);
		rc = -1;
	} else {
		rc = 0;
	}
	sb_release(&why);
	proc_result_release(&r);
	free(target);
	free(name);
	return rc;
}

/* alive: kubectl instances are replicas, not processes: cannot tell. */
static int kc_alive(struct dp_deploy *d, const struct dp_inst *in)
{
	(void)d;
	(void)in;
	return -1;
}

/* kc_forget: Deployment name is gone. */
static void kc_forget(struct dp_deploy *d, const char *name)
{
	struct kc_dep *e = d->runner_state ? kc_dep_find(d->runner_state, name) : NULL;
	if (e)
		e->exists = e->imaged = false;
}

/* stop: one replica fewer; the Deployment is deleted when none is left.
 * A Deployment already gone counts as stopped. */
static int kc_stop(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		   struct strbuf *err)
{
	char *name = kc_inst_deployment(spec, in);
	int left = kc_live_count(d, in) - 1;
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf why = SB_INIT;
	int rc = kc_scale(spec, name, left, &r, &why);
	if (rc) {
		if (!r.spawn_errno && r.exit_code > 0 && kc_stderr_has(&r, "NotFound")) {
			kc_forget(d, name);
			rc = 0;
		} else {
			sb_add(err, why.buf, why.len);
		}
	} else if (left == 0) {
		const char *args[] = { "delete", "deployment", name, "--ignore-not-found", NULL };
		rc = kc_simple(spec, args, 3, err);
		if (rc == 0)
			kc_forget(d, name);
	}
	proc_result_release(&r);
	sb_release(&why);
	free(name);
	return rc;
}

static void kc_release(struct dp_deploy *d)
{
	struct kc_runner *st = d->runner_state;
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->dep[i].name);
	free(st->dep);
	free(st);
	d->runner_state = NULL;
}

const struct dp_runner dp_runner_kubectl = {
	.name = "kubectl",
	.prepare = kc_prepare,
	.start = kc_start,
	.ready = kc_ready,
	.alive = kc_alive,
	.stop = kc_stop,
	.release = kc_release,
};

/* ---- the traffic driver --------------------------------------------------- */

/* What this process last told Kubernetes. */
struct kc_router {
	char *selector;  /* blue/green: the app the Service selects */
	char *split;     /* canary: the TrafficSplit last applied */
	char **exposed;  /* canary: Deployments exposed as Services */
	size_t nexposed, aexposed;
};

static struct kc_router *kc_router_state(struct dp_deploy *d)
{
	if (!d->router_state)
		d->router_state = xcalloc(1, sizeof(struct kc_router));
	return d->router_state;
}

/* kc_service: the traffic Service (default: the service's name). */
static const char *kc_service(const struct dp_spec *spec)
{
	const char *s = spec->traffic.k8s_service;
	return s && *s ? s : spec->service;
}

/* One version's share: its Deployment and its SERVING weight. */
struct kc_version {
	char *name;
	int revision;
	long weight;
	int share; /* canary: of 100 */
	long rem;  /* the remainder share leaves */
};

/* kc_versions: the versions with SERVING or DRAINING instances in d,
 * ordered by revision (then name), with their SERVING weights summed.
 * Returns how many; *out is the caller's to free with kc_versions_free. */
static size_t kc_versions(const struct dp_deploy *d, struct kc_version **out)
{
	struct kc_version *v = NULL;
	size_t n = 0, alloc = 0;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if (in->state != DP_SERVING && in->state != DP_DRAINING)
			continue;
		char *name = kc_inst_deployment(d->spec, in);
		size_t j = 0;
		while (j < n && strcmp(v[j].name, name))
			j++;
		if (j == n) {
			ALLOC_GROW(v, n + 1, alloc);
			v[n].name = name;
			v[n].revision = in->revision;
			v[n].weight = 0;
			v[n].share = 0;
			v[n].rem = 0;
			n++;
		} else {
			free(name);
			if (in->revision > v[j].revision)
				v[j].revision = in->revision;
		}
		if (in->state == DP_SERVING && in->weight > 0)
			v[j].weight += in->weight;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: a handful of versions */
		for (size_t j = i; j > 0 && (v[j - 1].revision > v[j].revision ||
					     (v[j - 1].revision == v[j].revision &&
					      strcmp(v[j - 1].name, v[j].name) > 0));
		     j--) {
			struct kc_version t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

static void kc_versions_free(struct kc_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* kc_get_service: the Service name exists. */
static int kc_get_service(const struct dp_spec *spec, const char *name, struct strbuf *err)
{
	const char *args[] = { "get", "service", name, "-o", "name", NULL };
	return kc_simple(spec, args, 3, err);
}

/* kc_has_trafficsplit: the cluster serves SMI's TrafficSplit. */
static int kc_has_trafficsplit(const struct dp_spec *spec, struct strbuf *err)
{
	const char *args[] = { "api-resources", "--api-group=split.smi-spec.io", "-o", "name",
			       NULL };
	struct proc_result r = PROC_RESULT_INIT;
	int rc = kc_run(spec, args, 1, NULL, KC_TIMEOUT_MS, &r, err);
	if (rc == 0 && strncmp(r.out.buf, "trafficsplits.", strlen("trafficsplits.")) &&
	    !strstr(r.out.buf, "\ntrafficsplits.")) {
		sb_addstr(err, "kubernetes does not serve 'trafficsplits.split.smi-spec.io': "
			       "is an SMI service mesh installed?");
		rc = -1;
	}
	proc_result_release(&r);
	return rc;
}

/* prepare: blue/green and canary need kubectl instances and the traffic
 * Service; a canary also needs the TrafficSplit resource. */
static int kr_prepare(struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_spec *spec = d->spec;
	kc_router_state(d);
	if (spec->strategy.kind == DP_ROLLING)
		return 0;
	if (spec->instances.driver != DP_RUN_KUBECTL) {
		sb_addstr(err, "kubectl traffic needs kubectl instances (the Deployments it routes to)");
		return -1;
	}
	if (kc_get_service(spec, kc_service(spec), err))
		return -1;
	return spec->strategy.kind == DP_CANARY ? kc_has_trafficsplit(spec, err) : 0;
}

/* blue/green: the Service selects the version that holds the weight
 * (the most, should two ever hold some; the newer on a tie). */
static int kr_apply_bluegreen(struct dp_deploy *d, struct kc_router *st, struct strbuf *err)
{
	struct kc_version *v;
	size_t n = kc_versions(d, &v);
	const struct kc_version *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].weight > 0 && (!best || v[i].weight >= best->weight))
			best = &v[i];
	int rc = 0;
	if (best && !(st->selector && !strcmp(st->selector, best->name))) {
		struct strbuf patch = SB_INIT;
		struct jw w;
		jw_init(&w, &patch);
		jw_obj_begin(&w);
		jw_key(&w, "spec");
		jw_obj_begin(&w);
		jw_key(&w, "selector");
		jw_obj_begin(&w);
		jw_kv_str(&w, "app", best->name);
		jw_obj_end(&w);
		jw_obj_end(&w);
		jw_obj_end(&w);
		const char *args[] = { "patch", "service", kc_service(d->spec), "--type", "merge",
				       "-p", patch.buf, NULL };
		rc = kc_simple(d->spec, args, 3, err);
		if (rc == 0) {
			free(st->selector);
			st->selector = xstrdup(best->name);
		}
		sb_release(&patch);
	}
	kc_versions_free(v, n);
	return rc;
}

/* kc_shares: scale the versions' weights to shares summing to 100 by
 * largest remainder (the earlier version first on a tie). total > 0. */
static void kc_shares(struct kc_version *v, size_t n, long total)
{
	long given = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].share = (int)(v[i].weight * 100 / total);
		v[i].rem = v[i].weight * 100 % total;
		given += v[i].share;
	}
	for (; given < 100; given++) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (v[i].rem > v[best].rem)
				best = i;
		v[best].share++;
		v[best].rem = -1;
	}
}

/* kc_expose: a Service for Deployment name (once; one that already exists
 * is fine). */
static int kc_expose(const struct dp_spec *spec, struct kc_router *st, const char *name,
		     struct strbuf *err)
{
	for (size_t i = 0; i < st->nexposed; i++)
		if (!strcmp(st->exposed[i], name))
			return 0;
	const char *args[] = { "expose", "deployment", name, "--port=80", NULL };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf why = SB_INIT;
	int rc = kc_run(spec, args, 3, NULL, KC_TIMEOUT_MS, &r, &why);
	if (rc && !r.spawn_errno && kc_stderr_has(&r, "already exists"))
		rc = 0;
	if (rc)
		sb_add(err, why.buf, why.len);
	else {
		ALLOC_GROW(st->exposed, st->nexposed + 1, st->aexposed);
		st->exposed[st->nexposed++] = xstrdup(name);
	}
	sb_release(&why);
	proc_result_release(&r);
	return rc;
}

/* kc_render_split: the SMI TrafficSplit of the versions' shares. */
static void kc_render_split(const struct dp_spec *spec, const struct kc_version *v, size_t n,
			    struct strbuf *sb)
{
	const char *split = spec->traffic.split && *spec->traffic.split ? spec->traffic.split :
									 spec->service;
	struct jw w;
	jw_init(&w, sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "apiVersion", "split.smi-spec.io/v1alpha2");
	jw_kv_str(&w, "kind", "TrafficSplit");
	jw_key(&w, "metadata");
	jw_obj_begin(&w);
	jw_kv_str(&w, "name", split);
	jw_obj_end(&w);
	jw_key(&w, "spec");
	jw_obj_begin(&w);
	jw_kv_str(&w, "service", kc_service(spec));
	jw_key(&w, "backends");
	jw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(&w);
		jw_kv_str(&w, "service", v[i].name);
		jw_kv_int(&w, "weight", v[i].share);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	sb_addch(sb, '\n');
}

/* canary: a TrafficSplit over one Service per version; nothing when no
 * instance serves, or when it would repeat the last one applied. */
static int kr_apply_canary(struct dp_deploy *d, struct kc_router *st, struct strbuf *err)
{
	struct kc_version *v;
	size_t n = kc_versions(d, &v);
	long total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].weight;
	int rc = 0;
	if (total > 0) {
		kc_shares(v, n, total);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (v[i].share > 0)
				rc = kc_expose(d->spec, st, v[i].name, err);
	}
	struct strbuf split = SB_INIT;
	if (total > 0 && rc == 0)
		kc_render_split(d->spec, v, n, &split);
	if (split.len && !(st->split && !strcmp(st->split, split.buf))) {
		const char *args[] = { "apply", "-f", "-", NULL };
		struct proc_result r = PROC_RESULT_INIT;
		rc = kc_run(d->spec, args, 1, split.buf, KC_TIMEOUT_MS, &r, err);
		proc_result_release(&r);
		if (rc == 0) {
			free(st->split);
			st->split = sb_detach(&split, NULL);
		}
	}
	sb_release(&split);
	kc_versions_free(v, n);
	return rc;
}

static int kr_apply(struct dp_deploy *d, struct strbuf *err)
{
	struct kc_router *st = kc_router_state(d);
	switch (d->spec->strategy.kind) {
	case DP_BLUEGREEN:
		return kr_apply_bluegreen(d, st, err);
	case DP_CANARY:
		return kr_apply_canary(d, st, err);
	case DP_ROLLING:
		break;
	}
	return 0; /* rolling: Services select the pods themselves */
}

/* wait_drained: Kubernetes takes ending pods out of endpoints itself. */
static int kr_wait_drained(struct dp_deploy *d, struct dp_inst *in, int64_t timeout_ns,
			   struct strbuf *err)
{
	(void)d;
	(void)in;
	(void)timeout_ns;
	(void)err;
	return 0;
}

static int kr_release(struct dp_deploy *d, struct dp_inst *in, struct strbuf *err)
{
	(void)d;
	(void)in;
	(void)err;
	return 0;
}

static void kr_free_state(struct dp_deploy *d)
{
	struct kc_router *st = d->router_state;
	if (!st)
		return;
	for (size_t i = 0; i < st->nexposed; i++)
		free(st->exposed[i]);
	free(st->exposed);
	free(st->selector);
	free(st->split);
	free(st);
	d->router_state = NULL;
}

const struct dp_router dp_router_kubectl = {
	.name = "kubectl",
	.max_weight = 100,
	.prepare = kr_prepare,
	.apply = kr_apply,
	.wait_drained = kr_wait_drained,
	.release = kr_release,
	.free_state = kr_free_state,
};
