/*
 * experiment.c: loading and validating an experiment file: the Chaos
 * Toolkit JSON format plus ofs's extensions (see chaos.h and the
 * EXPERIMENT FORMAT section of ofs-chaos(1)).
 *
 * The whole document is checked before anything runs, and every problem
 * is reported at once with its JSON pointer, because an experiment that
 * fails half way through a fault is the worst place to learn of a typo.
 * The walk has three passes over the activities in run order
 * (hypothesis, method, rollbacks): first each declaration is validated
 * and its name registered, then each {"ref": NAME} is resolved to a copy
 * of the declaration it names, then every `${...}` is checked against
 * the configuration and the activities that run before it.
 *
 * A health probe may stand in the hypothesis without a tolerance: its
 * tolerance is then NULL, and run.c counts it as held when the state the
 * probe reports is one of its provider's "expect" states (default
 * "healthy").
 */
#include "common.h"

#include "chaos.h"
#include "hash.h"
#include "jw.h"
#include "suggest.h"
#include "units.h"

/* Refused beyond this: an experiment is written by people. */
#define MAX_ACTIVITIES 10000

enum where { IN_HYPOTHESIS, IN_METHOD, IN_ROLLBACKS };

/* One entry of the three lists, in run order. */
struct slot {
	enum where where;
	const cJSON *node;
	const char *ptr;
	const char *ref;     /* the name a {"ref"} entry names; NULL for a declaration */
	bool prov_known;     /* the provider's type was recognised */
	bool resolved;       /* a ref found its declaration */
	struct activity *act;
};

struct loader {
	struct cfg *cfg;
	struct experiment *e;
	struct slot *slots;
	size_t nslots;
	struct ht *decls;   /* name -> struct slot * of its declaration */
	const char **names; /* declared names, for suggestions */
	size_t nnames;
	bool interval_set;
};

/* What experiment.c owns besides the cfg and the lists. */
struct exp_priv {
	char *topology;
	const char **tags;
};

static const char *const top_keys[] = {
	"version", "title", "description", "tags", "contributions", "extensions",
	"secrets", "configuration", "controls", "steady-state-hypothesis", "method",
	"rollbacks", "runtime", "rto", "interval", "topology", NULL,
};
static const char *const activity_keys[] = {
	"type", "name", "provider", "tolerance", "pauses", "background", "controls", NULL,
};
static const char *const act_types[] = { "probe", "action", NULL };
/* In the order of enum prov_type. */
static const char *const prov_types[] = { "process", "http", "fault", "health", "sleep", NULL };
/* In the order of enum rollback_strategy and enum hyp_strategy. */
static const char *const rb_names[] = { "default", "always", "never", "deviated", NULL };
static const char *const hyp_names[] = {
	"default", "before-method-only", "after-method-only", "during-method-only",
	"continuously", NULL,
};
/* Service states (ofs-health), then instance states. */
static const char *const health_states[] = {
	"healthy", "degraded", "unhealthy", "impacted", "unknown", "warning", "failing", NULL,
};

const char *activity_type_name(enum act_type t)
{
	return t == ACT_PROBE ? "probe" : "action";
}

const char *prov_type_name(enum prov_type t)
{
	return (size_t)t < ARRAY_SIZE(prov_types) - 1 ? prov_types[t] : "unknown";
}

const char *rollback_strategy_name(enum rollback_strategy s)
{
	return (size_t)s < ARRAY_SIZE(rb_names) - 1 ? rb_names[s] : "unknown";
}

const char *hyp_strategy_name(enum hyp_strategy s)
{
	return (size_t)s < ARRAY_SIZE(hyp_names) - 1 ? hyp_names[s] : "unknown";
}

/* ---- small checks ----------------------------------------------------- */

/* "string 'x'", "number 5", "object": what a value is, for messages. */
static void add_got(struct strbuf *sb, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		size_t n = strlen(v->valuestring);
		sb_addf(sb, "string '%.*s%s'", (int)(n > 40 ? 40 : n), v->valuestring,
			n > 40 ? "..." : "");
	} else if (cJSON_IsNumber(v)) {
		char buf[32];
		jw_format_double(v->valuedouble, buf);
		sb_addf(sb, "number %s", buf);
	} else if (cJSON_IsBool(v)) {
		sb_addstr(sb, cJSON_IsTrue(v) ? "true" : "false");
	} else {
		sb_addstr(sb, cfg_type_name(v));
	}
}

static void type_error(struct cfg *cfg, const char *ptr, const char *want, const cJSON *v)
{
	struct strbuf got = SB_INIT;
	add_got(&got, v);
	cfg_error(cfg, ptr, "must be %s, got %s", want, got.buf);
	sb_release(&got);
}

static bool is_deferred(const cJSON *v)
{
	return cJSON_IsString(v) && subst_has(v->valuestring);
}

/*
 * A duration checked at load unless it holds `${...}` (then it is
 * checked after substitution, at run time). positive: 0 is refused.
 * Returns like the cfg getters; 0 also when deferred.
 */
static int get_dur(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, bool positive, int64_t *ns)
{
	const cJSON *given = obj;
	if (key)
		given = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (is_deferred(given))
		return 0;
	int64_t v = 0;
	int r = cfg_get_duration(cfg, obj, ptr, key, required, &v);
	if (r == 1 && positive && v == 0) {
		cfg_error(cfg, key ? cfg_ptr_key(cfg, ptr, key) : ptr, "must be more than 0");
		return -1;
	}
	if (r == 1)
		*ns = v;
	return r;
}

/*
 * A duration needed at load (pauses, rto, interval): seconds, a duration
 * string, or a string of `${name}` references to the configuration that
 * gives one of those (a number in a string counts as seconds).
 */
static int get_dur_now(struct loader *L, const cJSON *obj, const char *ptr, const char *key,
		       bool positive, int64_t *ns)
{
	struct cfg *cfg = L->cfg;
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (!is_deferred(v))
		return get_dur(cfg, obj, ptr, key, false, positive, ns);
	const char *kp = cfg_ptr_key(cfg, ptr, key);
	if (strstr(v->valuestring, "${out:")) {
		cfg_error(cfg, kp, "'${out:...}' cannot be used here: the value is needed before "
				   "anything runs");
		return -1;
	}
	struct strbuf err = SB_INIT;
	cJSON *val = subst_apply(v, L->e->configuration, NULL, &err);
	if (!val) {
		cfg_error(cfg, kp, "%s", err.buf);
		sb_release(&err);
		return -1;
	}
	sb_release(&err);
	double d;
	if (cJSON_IsString(val) && num_parse_double(val->valuestring, &d, NULL) == 0) {
		cJSON_Delete(val);
		val = cJSON_CreateNumber(d);
	}
	cJSON *tmp = cJSON_CreateObject();
	if (!tmp || !val)
		die("out of memory");
	cJSON_AddItemToObject(tmp, key, val);
	int r = get_dur(cfg, tmp, ptr, key, false, positive, ns);
	cJSON_Delete(tmp);
	return r;
}

/* "controls": refused unless empty (they are python modules). */
static void check_controls(struct cfg *cfg, const cJSON *obj, const char *ptr)
{
	cJSON *ctl;
	if (cfg_get_array(cfg, obj, ptr, "controls", false, &ctl) == 1 && ctl->child)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "controls"),
			  "controls are not supported: they are python code; run what they do "
			  "as process activities");
}

/* An object whose members are all strings (env, headers). */
static void check_string_map(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			     bool header)
{
	cJSON *map;
	if (cfg_get_object(cfg, obj, ptr, key, false, &map) != 1)
		return;
	const char *mp = cfg_ptr_key(cfg, ptr, key);
	for (const cJSON *m = map->child; m; m = m->next) {
		const char *name = m->string ? m->string : "", *s;
		bool ok = *name != '\0';
		for (const char *c = name; *c && ok; c++) {
			if (header)
				ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
				     (*c >= 'A' && *c <= 'Z') || strchr("!#$%&'*+-.^_`|~", *c);
			else
				ok = *c != '=';
		}
		if (!ok)
			cfg_error(cfg, cfg_ptr_key(cfg, mp, name), "invalid %s name '%s'",
				  header ? "header" : "environment variable", name);
		else
			cfg_get_string(cfg, map, mp, name, false, &s);
	}
}

/* ---- providers -------------------------------------------------------- */

static void check_process(struct cfg *cfg, const cJSON *prov, const char *pp)
{
	static const char *const keys[] = {
		"type", "path", "arguments", "timeout", "env", "cwd", NULL,
	};
	cfg_check_keys(cfg, prov, pp, keys);
	const char *s;
	cfg_get_text(cfg, prov, pp, "path", true, &s);
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(prov, "arguments");
	const char *ap = cfg_ptr_key(cfg, pp, "arguments");
	if (cJSON_IsArray(args)) {
		size_t i = 0;
		for (const cJSON *a = args->child; a; a = a->next, i++)
			if (!cJSON_IsString(a) && !cJSON_IsNumber(a))
				type_error(cfg, cfg_ptr_index(cfg, ap, i), "a string or a number", a);
	} else if (args && !cJSON_IsString(args)) {
		type_error(cfg, ap, "a string (run by /bin/sh) or an array of strings", args);
	}
	int64_t ns;
	get_dur(cfg, prov, pp, "timeout", false, true, &ns);
	check_string_map(cfg, prov, pp, "env", false);
	cfg_get_text(cfg, prov, pp, "cwd", false, &s);
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void check_http(struct cfg *cfg, const cJSON *prov, const char *pp)
{
	static const char *const keys[] = {
		"type", "url", "method", "headers", "arguments", "timeout", "verify_tls",
		"expected_status", NULL,
	};
	cfg_check_keys(cfg, prov, pp, keys);
	const char *url, *method;
	if (cfg_get_string(cfg, prov, pp, "url", true, &url) == 1 && strncmp(url, "${", 2) != 0) {
		const char *rest = NULL;
		if (has_prefix_ci(url, "http://"))
			rest = url + 7;
		else if (has_prefix_ci(url, "https://"))
			rest = url + 8;
		if (!rest || !*rest || *rest == '/')
			cfg_error(cfg, cfg_ptr_key(cfg, pp, "url"),
				  "must be an http:// or https:// URL, got '%s'", url);
	}
	if (cfg_get_string(cfg, prov, pp, "method", false, &method) == 1 && !subst_has(method)) {
		bool ok = *method != '\0';
		for (const char *c = method; *c && ok; c++)
			ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
		if (!ok)
			cfg_error(cfg, cfg_ptr_key(cfg, pp, "method"),
				  "must be an HTTP method such as 'GET' or 'POST', got '%s'", method);
	}
	check_string_map(cfg, prov, pp, "headers", true);
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(prov, "arguments");
	if (args && !cJSON_IsObject(args) && !cJSON_IsString(args))
		type_error(cfg, cfg_ptr_key(cfg, pp, "arguments"),
			   "an object (sent as a JSON body) or a string (the body)", args);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(prov, "timeout");
	int64_t ns;
	if (cJSON_IsArray(t)) {
		const char *tp = cfg_ptr_key(cfg, pp, "timeout");
		if (cJSON_GetArraySize(t) != 2)
			cfg_error(cfg, tp, "must be [connect, read], got %d element%s",
				  cJSON_GetArraySize(t), cJSON_GetArraySize(t) == 1 ? "" : "s");
		else
			for (int i = 0; i < 2; i++)
				get_dur(cfg, cJSON_GetArrayItem(t, i), cfg_ptr_index(cfg, tp, (size_t)i),
					NULL, true, true, &ns);
	} else {
		get_dur(cfg, prov, pp, "timeout", false, true, &ns);
	}
	bool b;
	cfg_get_bool(cfg, prov, pp, "verify_tls", false, &b);
	int64_t st;
	cfg_get_int(cfg, prov, pp, "expected_status", false, 100, 599, &st);
}

static void check_health(struct cfg *cfg, const cJSON *prov, const char *pp)
{
	static const char *const keys[] = { "type", "service", "instance", "expect", "timeout",
					    NULL };
	cfg_check_keys(cfg, prov, pp, keys);
	const char *svc = NULL, *inst = NULL;
	cfg_get_text(cfg, prov, pp, "service", false, &svc);
	cfg_get_text(cfg, prov, pp, "instance", false, &inst);
	if (svc && inst)
		cfg_error(cfg, pp, "give 'service' or 'instance', not both");
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(prov, "expect");
	const char *ep = cfg_ptr_key(cfg, pp, "expect");
	int state;
	if (cJSON_IsArray(expect)) {
		size_t i = 0;
		if (!expect->child)
			cfg_error(cfg, ep, "an empty list matches nothing");
		for (const cJSON *s = expect->child; s; s = s->next, i++)
			cfg_get_enum(cfg, s, cfg_ptr_index(cfg, ep, i), NULL, true, health_states,
				     &state);
	} else if (expect) {
		if (cJSON_IsString(expect))
			cfg_get_enum(cfg, prov, pp, "expect", false, health_states, &state);
		else
			type_error(cfg, ep, "a state or a list of states", expect);
	}
	int64_t ns;
	get_dur(cfg, prov, pp, "timeout", false, true, &ns);
}

static void check_sleep(struct cfg *cfg, const cJSON *prov, const char *pp)
{
	static const char *const keys[] = { "type", "duration", NULL };
	cfg_check_keys(cfg, prov, pp, keys);
	int64_t ns;
	get_dur(cfg, prov, pp, "duration", true, false, &ns);
}

/* The provider of an activity; sets a->provider, a->prov, s->prov_known. */
static void check_provider(struct loader *L, struct slot *s)
{
	struct cfg *cfg = L->cfg;
	struct activity *a = s->act;
	cJSON *prov;
	if (cfg_get_object(cfg, s->node, s->ptr, "provider", true, &prov) != 1)
		return;
	a->provider = prov;
	const char *pp = cfg_ptr_key(cfg, s->ptr, "provider"), *type;
	if (cfg_get_string(cfg, prov, pp, "type", true, &type) != 1)
		return;
	if (strcmp(type, "python") == 0) {
		cfg_error(cfg, cfg_ptr_key(cfg, pp, "type"),
			  "python providers are not supported; use a process provider that runs "
			  "the same code");
		return;
	}
	int kind;
	if (cfg_get_enum(cfg, prov, pp, "type", true, prov_types, &kind) != 1)
		return;
	a->prov = (enum prov_type)kind;
	s->prov_known = true;
	switch (a->prov) {
	case PROV_PROCESS:
		check_process(cfg, prov, pp);
		break;
	case PROV_HTTP:
		check_http(cfg, prov, pp);
		break;
	case PROV_FAULT:
		fault_validate(cfg, prov, pp);
		break;
	case PROV_HEALTH:
		check_health(cfg, prov, pp);
		break;
	case PROV_SLEEP:
		check_sleep(cfg, prov, pp);
		break;
	}
}

/* ---- activities ------------------------------------------------------- */

/* What the place of an activity demands of it (a declaration). */
static void check_place(struct loader *L, struct slot *s, bool type_ok)
{
	struct cfg *cfg = L->cfg;
	struct activity *a = s->act;
	const char *tp = cfg_ptr_key(cfg, s->ptr, "type");
	if (type_ok && s->where == IN_HYPOTHESIS && a->type == ACT_ACTION)
		cfg_error(cfg, tp, "the steady-state hypothesis takes probes only, got 'action'");
	if (type_ok && s->prov_known && a->prov == PROV_FAULT && a->type == ACT_PROBE)
		cfg_error(cfg, tp, "a fault provider belongs to an action, got 'probe'");
	if (type_ok && s->prov_known && a->prov == PROV_HEALTH && a->type == ACT_ACTION)
		cfg_error(cfg, tp, "a health provider belongs to a probe, got 'action'");
	if (type_ok && s->where == IN_HYPOTHESIS && a->type == ACT_PROBE && !a->tolerance &&
	    !(s->prov_known && a->prov == PROV_HEALTH))
		cfg_error(cfg, s->ptr,
			  "missing required key 'tolerance': every probe of the hypothesis needs "
			  "one");
	if (a->background && s->where != IN_METHOD)
		cfg_error(cfg, cfg_ptr_key(cfg, s->ptr, "background"),
			  "only activities of the method run in the background");
}

/* What the place of a ref demands of the activity it names. */
static void check_ref_place(struct loader *L, struct slot *s, const struct slot *d)
{
	struct cfg *cfg = L->cfg;
	const struct activity *a = s->act;
	const char *rp = cfg_ptr_key(cfg, s->ptr, "ref");
	if (s->where == IN_HYPOTHESIS && a->type == ACT_ACTION)
		cfg_error(cfg, rp, "'%s' is an action; the steady-state hypothesis takes probes only",
			  a->name);
	else if (s->where == IN_HYPOTHESIS && !a->tolerance &&
		 !(d->prov_known && a->prov == PROV_HEALTH))
		cfg_error(cfg, rp,
			  "probe '%s' has no tolerance; every probe of the hypothesis needs one",
			  a->name);
	if (s->where != IN_METHOD && a->background)
		cfg_error(cfg, rp, "'%s' runs in the background; only activities of the method do",
			  a->name);
}

static void check_pauses(struct loader *L, struct slot *s)
{
	struct cfg *cfg = L->cfg;
	static const char *const keys[] = { "before", "after", NULL };
	cJSON *pauses;
	if (cfg_get_object(cfg, s->node, s->ptr, "pauses", false, &pauses) != 1)
		return;
	const char *pp = cfg_ptr_key(cfg, s->ptr, "pauses");
	cfg_check_keys(cfg, pauses, pp, keys);
	get_dur_now(L, pauses, pp, "before", false, &s->act->pause_before_ns);
	get_dur_now(L, pauses, pp, "after", false, &s->act->pause_after_ns);
}

static void declare(struct loader *L, struct slot *s)
{
	struct cfg *cfg = L->cfg;
	struct activity *a = s->act;
	const char *ptr = s->ptr;
	cfg_check_keys(cfg, s->node, ptr, activity_keys);
	int type = 0;
	bool type_ok = cfg_get_enum(cfg, s->node, ptr, "type", true, act_types, &type) == 1;
	a->type = (enum act_type)type;
	const char *name = NULL;
	if (cfg_get_text(cfg, s->node, ptr, "name", true, &name) == 1) {
		a->name = name;
		struct slot *first = ht_get(L->decls, name);
		if (first) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "name"),
				  "duplicate activity name '%s' (first declared at %s)", name,
				  first->ptr);
		} else {
			ht_put(L->decls, name, s);
			L->names[L->nnames++] = name;
		}
	}
	check_provider(L, s);
	const cJSON *tol = cJSON_GetObjectItemCaseSensitive(s->node, "tolerance");
	if (tol) {
		const char *tp = cfg_ptr_key(cfg, ptr, "tolerance");
		if (type_ok && a->type == ACT_ACTION)
			cfg_error(cfg, tp, "only probes take a tolerance");
		else
			tol_validate(cfg, tol, tp);
		a->tolerance = tol;
	}
	check_pauses(L, s);
	cfg_get_bool(cfg, s->node, ptr, "background", false, &a->background);
	check_controls(cfg, s->node, ptr);
	check_place(L, s, type_ok);
}

/* Collect the slots of one list (NULL: none) and declare what is declared. */
static void collect(struct loader *L, const cJSON *list, const char *ptr, enum where where,
		    struct activity **acts, size_t *nacts)
{
	struct cfg *cfg = L->cfg;
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
	*acts = n ? xcalloc(n, sizeof(**acts)) : NULL;
	*nacts = n;
	for (const cJSON *c = list ? list->child : NULL; c; c = c->next, i++) {
		struct slot *s = &L->slots[L->nslots++];
		memset(s, 0, sizeof(*s));
		s->where = where;
		s->node = c;
		s->ptr = cfg_ptr_index(cfg, ptr, i);
		s->act = &(*acts)[i];
		s->act->name = "";
		s->act->pointer = s->ptr;
		cJSON *obj;
		if (cfg_get_object(cfg, c, s->ptr, NULL, true, &obj) != 1)
			continue;
		if (cJSON_GetObjectItemCaseSensitive(c, "ref")) {
			static const char *const keys[] = { "ref", NULL };
			cfg_check_keys(cfg, c, s->ptr, keys);
			const char *ref = NULL;
			if (cfg_get_text(cfg, c, s->ptr, "ref", true, &ref) == 1)
				s->ref = ref;
			continue;
		}
		declare(L, s);
	}
}

static void resolve_refs(struct loader *L)
{
	struct cfg *cfg = L->cfg;
	for (size_t i = 0; i < L->nslots; i++) {
		struct slot *s = &L->slots[i];
		if (!s->ref)
			continue;
		const struct slot *d = ht_get(L->decls, s->ref);
		if (!d) {
			const char *near = suggest_closest(s->ref, L->names, L->nnames);
			struct strbuf hint = SB_INIT;
			if (near)
				sb_addf(&hint, "; did you mean '%s'?", near);
			cfg_error(cfg, cfg_ptr_key(cfg, s->ptr, "ref"),
				  "no activity named '%s' is declared%s", s->ref, hint.buf);
			sb_release(&hint);
			continue;
		}
		*s->act = *d->act;
		s->act->pointer = s->ptr;
		s->resolved = true;
		s->prov_known = d->prov_known;
		check_ref_place(L, s, d);
	}
}

/* The lines of a scratch cfg's errors, each "-: POINTER: MESSAGE". */
static bool has_line(const struct strbuf *errors, const char *line, size_t len)
{
	for (const char *p = errors->buf; *p;) {
		const char *nl = strchr(p, '\n');
		if ((size_t)(nl - p) == len && memcmp(p, line, len) == 0)
			return true;
		p = nl + 1;
	}
	return false;
}

/* subst_check of prov (at ptr) into a fresh scratch cfg, knowing the
 * first n names of order. */
static void scratch_check(struct cfg *scratch, const cJSON *prov, const char *ptr,
			  const char **order, size_t n)
{
	const char *save = order[n];
	cfg_init(scratch, "-");
	order[n] = NULL;
	subst_check(scratch, prov, ptr, NULL, order);
	order[n] = save;
}

/*
 * Every `${...}` of every provider, in run order: configuration names
 * must exist, and ${out:NAME} must name an activity that runs earlier.
 * A ref runs its declaration's provider at its own place: when that
 * place comes before the declaration (a hypothesis probe declared in the
 * method), fewer activities ran before it, and what is wrong only there
 * is reported at the ref.
 */
static void check_substitutions(struct loader *L)
{
	struct cfg *cfg = L->cfg;
	const char **order = xcalloc(L->nslots + 1, sizeof(*order));
	size_t *before = xcalloc(L->nslots + 1, sizeof(*before)), n = 0;
	for (size_t i = 0; i < L->nslots; i++) {
		before[i] = n;
		if (*L->slots[i].act->name)
			order[n++] = L->slots[i].act->name;
	}
	for (size_t i = 0; i < L->nslots; i++) {
		struct slot *s = &L->slots[i];
		const struct activity *a = s->act;
		if (!a->provider || (s->ref && !s->resolved))
			continue;
		if (!s->ref) {
			const char *save = order[before[i]];
			order[before[i]] = NULL;
			subst_check(cfg, a->provider, cfg_ptr_key(cfg, s->ptr, "provider"),
				    L->e->configuration, order);
			order[before[i]] = save;
			continue;
		}
		const struct slot *d = ht_get(L->decls, s->ref);
		size_t di = (size_t)(d - L->slots);
		if (di < i)
			continue;
		struct cfg here, there;
		const char *pp = cfg_ptr_key(cfg, d->ptr, "provider");
		scratch_check(&here, a->provider, pp, order, before[i]);
		scratch_check(&there, a->provider, pp, order, before[di]);
		for (char *line = here.errors.buf; *line;) {
			char *nl = strchr(line, '\n');
			if (!has_line(&there.errors, line, (size_t)(nl - line))) {
				*nl = '\0';
				cfg_error(cfg, s->ptr, "ref '%s': %s", s->ref, line + 3);
			}
			line = nl + 1;
		}
		cfg_free(&here);
		cfg_free(&there);
	}
	free(order);
	free(before);
}

/* ---- the document ----------------------------------------------------- */

/* Whether a --var NAME=VALUE sets name. */
static bool overridden(const char *const *overrides, const char *name)
{
	size_t n = strlen(name);
	for (; overrides && *overrides; overrides++)
		if (!strncmp(*overrides, name, n) && (*overrides)[n] == '=')
			return true;
	return false;
}

static void load_configuration(struct loader *L, const cJSON *root, const char *const *overrides)
{
	struct cfg *cfg = L->cfg;
	cJSON *conf, *config = cJSON_CreateObject();
	if (!config)
		die("out of memory");
	L->e->configuration = config;
	if (cfg_get_object(cfg, root, "", "configuration", false, &conf) == 1) {
		for (const cJSON *m = conf->child; m; m = m->next) {
			const char *name = m->string ? m->string : "";
			const char *mp = cfg_ptr_key(cfg, "/configuration", name);
			if (cJSON_GetObjectItemCaseSensitive(config, name)) {
				cfg_error(cfg, mp, "duplicate key '%s'", name);
				continue;
			}
			const cJSON *type = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "type")
							      : NULL;
			cJSON *val = NULL;
			if (cJSON_IsString(type) && strcmp(type->valuestring, "env") == 0) {
				static const char *const keys[] = { "type", "key", "default", NULL };
				cfg_check_keys(cfg, m, mp, keys);
				const char *var = NULL;
				if (cfg_get_text(cfg, m, mp, "key", true, &var) != 1)
					continue;
				const char *value = getenv(var);
				const cJSON *def = cJSON_GetObjectItemCaseSensitive(m, "default");
				if (value) {
					val = cJSON_CreateString(value);
				} else if (def) {
					val = cJSON_Duplicate(def, true);
				} else {
					/* A --var of the same name stands in for the variable;
					 * otherwise the name still exists (as null), so that its
					 * uses are not reported as unknown on top of this. */
					if (!overridden(overrides, name))
						cfg_error(cfg, mp,
							  "environment variable '%s' is not set and has "
							  "no default",
							  var);
					val = cJSON_CreateNull();
				}
			} else if (cJSON_IsString(type) && cJSON_GetObjectItemCaseSensitive(m, "key")) {
				cfg_error(cfg, cfg_ptr_key(cfg, mp, "type"),
					  "configuration type '%s' is not supported; use 'env' or a "
					  "plain value",
					  type->valuestring);
				continue;
			} else {
				val = cJSON_Duplicate(m, true);
			}
			if (!val)
				die("out of memory");
			cJSON_AddItemToObject(config, name, val);
		}
	}
	for (; overrides && *overrides; overrides++) {
		const char *eq = strchr(*overrides, '=');
		if (!eq || eq == *overrides) {
			cfg_error(cfg, NULL, "--var '%s': expected NAME=VALUE", *overrides);
			continue;
		}
		char *name = xstrndup(*overrides, (size_t)(eq - *overrides));
		struct cfg tmp;
		cJSON *val;
		if (cfg_parse_string("--var", eq + 1, strlen(eq + 1), &tmp, NULL) == 0) {
			val = tmp.root;
			tmp.root = NULL;
		} else {
			val = cJSON_CreateString(eq + 1);
		}
		cfg_free(&tmp);
		if (!val)
			die("out of memory");
		if (cJSON_GetObjectItemCaseSensitive(config, name))
			cJSON_ReplaceItemInObjectCaseSensitive(config, name, val);
		else
			cJSON_AddItemToObject(config, name, val);
		free(name);
	}
}

static void load_meta(struct loader *L, const cJSON *root)
{
	struct cfg *cfg = L->cfg;
	struct experiment *e = L->e;
	struct exp_priv *priv = e->priv;
	const char *s;
	cfg_get_string(cfg, root, "", "version", false, &s);
	e->title = "";
	cfg_get_text(cfg, root, "", "title", true, &e->title);
	e->description = "";
	cfg_get_string(cfg, root, "", "description", true, &e->description);

	cJSON *tags;
	size_t ntags = 0;
	if (cfg_get_array(cfg, root, "", "tags", false, &tags) == 1) {
		priv->tags = xcalloc((size_t)cJSON_GetArraySize(tags) + 1, sizeof(*priv->tags));
		size_t i = 0;
		for (const cJSON *t = tags->child; t; t = t->next, i++)
			if (cfg_get_string(cfg, t, cfg_ptr_index(cfg, "/tags", i), NULL, true, &s) == 1)
				priv->tags[ntags++] = s;
	} else {
		priv->tags = xcalloc(1, sizeof(*priv->tags));
	}
	e->tags = priv->tags;

	static const char *const levels[] = { "high", "medium", "low", "none", NULL };
	cJSON *contrib;
	if (cfg_get_object(cfg, root, "", "contributions", false, &contrib) == 1) {
		int level;
		for (const cJSON *c = contrib->child; c; c = c->next)
			cfg_get_enum(cfg, contrib, "/contributions", c->string, true, levels, &level);
	}
	cJSON *ext, *secrets;
	if (cfg_get_array(cfg, root, "", "extensions", false, &ext) == 1) {
		size_t i = 0;
		for (const cJSON *x = ext->child; x; x = x->next, i++) {
			const char *xp = cfg_ptr_index(cfg, "/extensions", i);
			cJSON *obj;
			if (cfg_get_object(cfg, x, xp, NULL, true, &obj) == 1)
				cfg_get_text(cfg, x, xp, "name", true, &s);
		}
	}
	cfg_get_object(cfg, root, "", "secrets", false, &secrets);
	check_controls(cfg, root, "");

	get_dur_now(L, root, "", "rto", false, &e->rto_ns);
	e->interval_ns = 1000000000;
	L->interval_set = cJSON_GetObjectItemCaseSensitive(root, "interval") != NULL;
	get_dur_now(L, root, "", "interval", true, &e->interval_ns);
	const char *topo = NULL;
	if (cfg_get_text(cfg, root, "", "topology", false, &topo) == 1) {
		const char *slash = strrchr(cfg->file, '/');
		if (topo[0] == '/' || !slash || strcmp(cfg->file, "<stdin>") == 0)
			priv->topology = xstrdup(topo);
		else
			priv->topology = xasprintf("%.*s/%s", (int)(slash - cfg->file), cfg->file,
						   topo);
		e->topology = priv->topology;
	}
}

static void load_runtime(struct loader *L, const cJSON *root)
{
	static const char *const keys[] = { "rollbacks", "hypothesis", NULL };
	static const char *const rb_keys[] = { "strategy", NULL };
	static const char *const hyp_keys[] = { "strategy", "frequency", "fail_fast", NULL };
	struct cfg *cfg = L->cfg;
	struct experiment *e = L->e;
	cJSON *rt, *rb, *hyp;
	if (cfg_get_object(cfg, root, "", "runtime", false, &rt) != 1)
		return;
	cfg_check_keys(cfg, rt, "/runtime", keys);
	int v;
	if (cfg_get_object(cfg, rt, "/runtime", "rollbacks", false, &rb) == 1) {
		cfg_check_keys(cfg, rb, "/runtime/rollbacks", rb_keys);
		if (cfg_get_enum(cfg, rb, "/runtime/rollbacks", "strategy", false, rb_names, &v) == 1)
			e->rollback_strategy = (enum rollback_strategy)v;
	}
	if (cfg_get_object(cfg, rt, "/runtime", "hypothesis", false, &hyp) == 1) {
		const char *hp = "/runtime/hypothesis";
		cfg_check_keys(cfg, hyp, hp, hyp_keys);
		if (cfg_get_enum(cfg, hyp, hp, "strategy", false, hyp_names, &v) == 1)
			e->hyp_strategy = (enum hyp_strategy)v;
		if (cJSON_GetObjectItemCaseSensitive(hyp, "frequency") && L->interval_set)
			cfg_error(cfg, "/runtime/hypothesis/frequency",
				  "the hypothesis interval is set twice: here and in /interval");
		else
			get_dur_now(L, hyp, hp, "frequency", true, &e->interval_ns);
		cfg_get_bool(cfg, hyp, hp, "fail_fast", false, &e->fail_fast);
	}
}

static void load_activities(struct loader *L, const cJSON *root)
{
	static const char *const hyp_keys[] = { "title", "probes", "controls", NULL };
	struct cfg *cfg = L->cfg;
	struct experiment *e = L->e;
	cJSON *ssh, *probes = NULL, *method = NULL, *rollbacks = NULL;
	e->hyp_title = "";
	if (cfg_get_object(cfg, root, "", "steady-state-hypothesis", false, &ssh) == 1) {
		const char *hp = "/steady-state-hypothesis";
		cfg_check_keys(cfg, ssh, hp, hyp_keys);
		cfg_get_text(cfg, ssh, hp, "title", true, &e->hyp_title);
		cfg_get_array(cfg, ssh, hp, "probes", false, &probes);
		check_controls(cfg, ssh, hp);
	}
	cfg_get_array(cfg, root, "", "method", true, &method);
	cfg_get_array(cfg, root, "", "rollbacks", false, &rollbacks);
	size_t total = (size_t)cJSON_GetArraySize(probes) + (size_t)cJSON_GetArraySize(method) +
		       (size_t)cJSON_GetArraySize(rollbacks);
	if (total > MAX_ACTIVITIES) {
		cfg_error(cfg, NULL, "too many activities: %zu (the most is %d)", total,
			  MAX_ACTIVITIES);
		return;
	}
	L->slots = xcalloc(total + 1, sizeof(*L->slots));
	L->names = xcalloc(total + 1, sizeof(*L->names));
	L->decls = ht_new();
	collect(L, probes, "/steady-state-hypothesis/probes", IN_HYPOTHESIS, &e->hypothesis,
		&e->nhypothesis);
	collect(L, method, "/method", IN_METHOD, &e->method, &e->nmethod);
	collect(L, rollbacks, "/rollbacks", IN_ROLLBACKS, &e->rollbacks, &e->nrollbacks);
	resolve_refs(L);
	check_substitutions(L);
}

int experiment_load(const char *path, const char *const *overrides, struct experiment *e,
		    struct strbuf *err)
{
	memset(e, 0, sizeof(*e));
	struct cfg *cfg = &e->cfg;
	struct exp_priv *priv = xcalloc(1, sizeof(*priv));
	e->priv = priv;
	if (cfg_load(path, cfg, err) < 0) {
		sb_addch(err, '\n');
		experiment_free(e);
		return -1;
	}
	struct loader L;
	memset(&L, 0, sizeof(L));
	L.cfg = cfg;
	L.e = e;
	const cJSON *root = cfg_root_object(cfg);
	if (root) {
		cfg_check_keys(cfg, root, "", top_keys);
		load_configuration(&L, root, overrides);
		load_meta(&L, root);
		load_runtime(&L, root);
		load_activities(&L, root);
	}
	free(L.slots);
	free(L.names);
	if (L.decls)
		ht_free(L.decls, NULL);
	if (cfg->nerrors || !root) {
		sb_add(err, cfg->errors.buf, cfg->errors.len);
		experiment_free(e);
		return -1;
	}
	return 0;
}

void experiment_free(struct experiment *e)
{
	struct exp_priv *priv = e->priv;
	cfg_free(&e->cfg);
	free(e->hypothesis);
	free(e->method);
	free(e->rollbacks);
	cJSON_Delete(e->configuration);
	if (priv) {
		free(priv->topology);
		free(priv->tags);
		free(priv);
	}
	memset(e, 0, sizeof(*e));
}
