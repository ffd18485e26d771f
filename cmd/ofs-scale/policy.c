/*
 * policy.c: loading and validating an ofs-scale policy file into struct
 * sc_policy.
 *
 * A scaling policy drives replica counts in production, so a typo must
 * never be acted on: the whole file is checked before anything uses it,
 * and every problem is reported in one go, each with its JSON pointer
 * (config.h's getters), including unknown keys with a did-you-mean. The
 * names follow the Kubernetes HPA v2 API wherever the HPA has the
 * concept (minReplicas, behavior.scaleUp.policies, selectPolicy, ...),
 * so a user can carry an HPA spec over. What comes out is fully
 * resolved: every default written in (HPA's behaviour defaults, the
 * tolerance per direction), percentages turned into fractions, names
 * turned into indexes, so hpa.c and the other parts never look at JSON.
 * The checks that need several parts at once (maxReplicas against
 * minReplicas, scale to zero needing an activation, the predictive
 * metric's type, the instance type in the catalogue, the budget's
 * instance type) come last.
 */
#include "common.h"
#include <fnmatch.h>
#include <math.h>

#include "config.h"
#include "jsonpath.h"
#include "proc.h"
#include "scale.h"
#include "units.h"

#define REPLICAS_MAX 1000000
/* a service name or pattern: as long as a Kubernetes object name may be */
#define SERVICE_MAX 253
#define WINDOW_MAX_S 3600
#define PERIOD_MAX_S 1800

static const char *const top_keys[] = {
	"service",  "minReplicas", "maxReplicas",	 "period",     "tolerance",
	"metrics",  "replicasSource", "readySource",	 "behavior",   "cooldown",
	"activationReplicas", "idle", "hook",		 "hookTimeout", "predictive",
	"catalogue", "instanceType", "budget",		 "headroom",   NULL
};
static const char *const metric_keys[] = { "name", "target", "capacity", "activation", "source",
					   NULL };
static const char *const target_keys[] = { "type", "averageUtilization", "averageValue", "value",
					   NULL };
/* In the order of enum sc_target_type. */
static const char *const target_names[] = { "averageUtilization", "averageValue", "value" };
static const char *const target_type_names[] = { "Utilization", "AverageValue", "Value", NULL };
static const char *const source_keys[] = { "url", "path", "timeout", NULL };
static const char *const behavior_keys[] = { "scaleUp", "scaleDown", NULL };
static const char *const direction_keys[] = { "stabilizationWindowSeconds", "selectPolicy",
					      "tolerance", "policies", NULL };
static const char *const select_names[] = { "Max", "Min", "Disabled", NULL };
static const char *const rule_keys[] = { "type", "value", "periodSeconds", NULL };
static const char *const rule_type_names[] = { "Pods", "Percent", NULL };
static const char *const idle_keys[] = { "threshold", "period", NULL };
static const char *const predictive_keys[] = { "metric", "leadTime", NULL };
static const char *const instance_keys[] = { "name", "pricePerHour", "capacity", NULL };
static const char *const budget_keys[] = { "perHour", NULL };

/* ---- small getters ------------------------------------------------------ */

/* A number strictly above 0. */
static int get_positive(struct cfg *cfg, const cJSON *o, const char *ptr, const char *key,
			bool required, double *out)
{
	double v;
	int r = cfg_get_number(cfg, o, ptr, key, required, -INFINITY, INFINITY, &v);
	if (r != 1)
		return r;
	if (!(v > 0)) {
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "must be greater than 0, got %g", v);
		return -1;
	}
	*out = v;
	return 1;
}

/* A duration strictly above 0. */
static int get_positive_duration(struct cfg *cfg, const cJSON *o, const char *ptr,
				 const char *key, int64_t *out)
{
	int64_t v;
	int r = cfg_get_duration(cfg, o, ptr, key, false, &v);
	if (r != 1)
		return r;
	if (v <= 0) {
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "must be greater than 0");
		return -1;
	}
	*out = v;
	return 1;
}

static int get_int(struct cfg *cfg, const cJSON *o, const char *ptr, const char *key,
		   bool required, int64_t min, int64_t max, int *out)
{
	int64_t v;
	int r = cfg_get_int(cfg, o, ptr, key, required, min, max, &v);
	if (r == 1)
		*out = (int)v;
	return r;
}

/* ---- sources ------------------------------------------------------------ */

static void source_free(struct sc_source *s)
{
	if (!s)
		return;
	free(s->url);
	free(s->path);
	free(s);
}

static struct sc_source *parse_source(struct cfg *cfg, const cJSON *parent, const char *pptr,
				      const char *key)
{
	cJSON *o = NULL;
	if (cfg_get_object(cfg, parent, pptr, key, false, &o) != 1)
		return NULL;
	const char *ptr = cfg_ptr_key(cfg, pptr, key);
	cfg_check_keys(cfg, o, ptr, source_keys);
	const char *url = NULL, *path = NULL;
	int64_t timeout = 5 * SC_NS_PER_S;
	bool ok = true;
	if (cfg_get_text(cfg, o, ptr, "url", true, &url) == 1) {
		if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "url"),
				  "must be an http:// or https:// URL, got '%s'", url);
			ok = false;
		}
	} else {
		ok = false;
	}
	if (cfg_get_text(cfg, o, ptr, "path", true, &path) == 1) {
		struct strbuf err = SB_INIT;
		struct jp *jp = jp_compile(path, &err, NULL);
		if (!jp) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "path"), "invalid JSONPath '%s': %s",
				  path, err.buf);
			ok = false;
		}
		jp_free(jp);
		sb_release(&err);
	} else {
		ok = false;
	}
	if (get_positive_duration(cfg, o, ptr, "timeout", &timeout) < 0)
		ok = false;
	if (!ok)
		return NULL;
	struct sc_source *s = xcalloc(1, sizeof(*s));
	s->url = xstrdup(url);
	s->path = xstrdup(path);
	s->timeout = timeout;
	return s;
}

/* ---- metrics ------------------------------------------------------------ */

static void parse_target(struct cfg *cfg, const cJSON *mo, const char *mptr, struct sc_metric *m,
			 bool *ok)
{
	cJSON *t = NULL;
	if (cfg_get_object(cfg, mo, mptr, "target", true, &t) != 1) {
		*ok = false;
		return;
	}
	const char *ptr = cfg_ptr_key(cfg, mptr, "target");
	cfg_check_keys(cfg, t, ptr, target_keys);
	int found = -1, nfound = 0;
	for (int i = 0; i < 3; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(t, target_names[i]))
			continue;
		nfound++;
		double v;
		if (get_positive(cfg, t, ptr, target_names[i], true, &v) == 1) {
			found = i;
			m->target = v;
		} else {
			*ok = false;
		}
	}
	if (nfound != 1) {
		cfg_error(cfg, ptr,
			  "needs exactly one of 'averageUtilization', 'averageValue', 'value'");
		*ok = false;
		return;
	}
	if (found < 0)
		return;
	m->type = (enum sc_target_type)found;
	int type;
	int r = cfg_get_enum(cfg, t, ptr, "type", false, target_type_names, &type);
	if (r < 0) {
		*ok = false;
	} else if (r == 1 && type != found) {
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "type"), "'%s' does not agree with '%s'",
			  target_type_names[type], target_names[found]);
		*ok = false;
	}
}

static void parse_metric(struct cfg *cfg, const cJSON *mo, const char *ptr, struct sc_metric *m,
			 bool *ok)
{
	if (!cJSON_IsObject(mo)) {
		cJSON *dummy;
		cfg_get_object(cfg, mo, ptr, NULL, true, &dummy);
		*ok = false;
		return;
	}
	cfg_check_keys(cfg, mo, ptr, metric_keys);
	const char *name = NULL;
	if (cfg_get_text(cfg, mo, ptr, "name", true, &name) == 1)
		m->name = xstrdup(name);
	else
		*ok = false;
	parse_target(cfg, mo, ptr, m, ok);
	m->capacity = -1;
	if (get_positive(cfg, mo, ptr, "capacity", false, &m->capacity) < 0)
		*ok = false;
	int r = cfg_get_number(cfg, mo, ptr, "activation", false, 0, INFINITY, &m->activation);
	if (r < 0)
		*ok = false;
	m->has_activation = r == 1;
	if (cJSON_GetObjectItemCaseSensitive(mo, "source")) {
		m->source = parse_source(cfg, mo, ptr, "source");
		if (!m->source)
			*ok = false;
	}
	if (m->capacity < 0)
		m->capacity = m->type == SC_UTILIZATION ? 100 : m->target;
}

static void parse_metrics(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, root, "", "metrics", true, &arr) != 1)
		return;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		cfg_error(cfg, "/metrics", "must not be empty");
		return;
	}
	p->metrics = xcalloc(n, sizeof(*p->metrics));
	p->nmetrics = n;
	size_t i = 0;
	const cJSON *mo;
	cJSON_ArrayForEach (mo, arr) {
		const char *ptr = cfg_ptr_index(cfg, "/metrics", i);
		bool ok = true;
		parse_metric(cfg, mo, ptr, &p->metrics[i], &ok);
		for (size_t j = 0; j < i && p->metrics[i].name; j++) {
			if (p->metrics[j].name && !strcmp(p->metrics[j].name, p->metrics[i].name)) {
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "name"),
					  "duplicate metric name '%s' (also /metrics/%zu)",
					  p->metrics[i].name, j);
				break;
			}
		}
		i++;
	}
}

/* ---- behaviour ---------------------------------------------------------- */

static void set_rules(struct sc_direction *d, const struct sc_rule *rules, size_t n)
{
	free(d->rules);
	d->rules = xmemdup(rules, n * sizeof(*rules));
	d->nrules = n;
}

static void direction_defaults(struct sc_direction *up, struct sc_direction *down, double tol)
{
	static const struct sc_rule up_rules[] = {
		{ SC_RULE_PERCENT, 100, 15 * SC_NS_PER_S },
		{ SC_RULE_PODS, 4, 15 * SC_NS_PER_S },
	};
	static const struct sc_rule down_rules[] = {
		{ SC_RULE_PERCENT, 100, 15 * SC_NS_PER_S },
	};
	set_rules(up, up_rules, ARRAY_SIZE(up_rules));
	up->select = SC_SELECT_MAX;
	up->window = 0;
	up->tolerance = tol;
	set_rules(down, down_rules, ARRAY_SIZE(down_rules));
	down->select = SC_SELECT_MAX;
	down->window = 300 * SC_NS_PER_S;
	down->tolerance = tol;
}

static void parse_rules(struct cfg *cfg, const cJSON *o, const char *ptr, struct sc_direction *d)
{
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, o, ptr, "policies", false, &arr) != 1)
		return;
	const char *aptr = cfg_ptr_key(cfg, ptr, "policies");
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		cfg_error(cfg, aptr, "must not be empty");
		return;
	}
	struct sc_rule *rules = xcalloc(n, sizeof(*rules));
	size_t i = 0;
	bool ok = true;
	const cJSON *ro;
	cJSON_ArrayForEach (ro, arr) {
		const char *rptr = cfg_ptr_index(cfg, aptr, i);
		struct sc_rule *r = &rules[i++];
		cJSON *dummy;
		if (cfg_get_object(cfg, ro, rptr, NULL, true, &dummy) != 1) {
			ok = false;
			continue;
		}
		cfg_check_keys(cfg, ro, rptr, rule_keys);
		int type = 0;
		int64_t value = 0, period = 0;
		if (cfg_get_enum(cfg, ro, rptr, "type", true, rule_type_names, &type) != 1)
			ok = false;
		if (cfg_get_int(cfg, ro, rptr, "value", true, 1, INT32_MAX, &value) != 1)
			ok = false;
		if (cfg_get_int(cfg, ro, rptr, "periodSeconds", true, 1, PERIOD_MAX_S, &period) != 1)
			ok = false;
		r->type = type == 0 ? SC_RULE_PODS : SC_RULE_PERCENT;
		r->value = (int)value;
		r->period = period * SC_NS_PER_S;
	}
	if (ok)
		set_rules(d, rules, n);
	free(rules);
}

static void parse_direction(struct cfg *cfg, const cJSON *b, const char *key,
			    struct sc_direction *d)
{
	cJSON *o = NULL;
	if (cfg_get_object(cfg, b, "/behavior", key, false, &o) != 1)
		return;
	const char *ptr = cfg_ptr_key(cfg, "/behavior", key);
	cfg_check_keys(cfg, o, ptr, direction_keys);
	int64_t window;
	if (cfg_get_int(cfg, o, ptr, "stabilizationWindowSeconds", false, 0, WINDOW_MAX_S,
			&window) == 1)
		d->window = window * SC_NS_PER_S;
	int sel;
	if (cfg_get_enum(cfg, o, ptr, "selectPolicy", false, select_names, &sel) == 1)
		d->select = (enum sc_select)sel;
	cfg_get_number(cfg, o, ptr, "tolerance", false, 0, 1, &d->tolerance);
	parse_rules(cfg, o, ptr, d);
}

static void parse_behavior(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cJSON *b = NULL;
	if (cfg_get_object(cfg, root, "", "behavior", false, &b) != 1)
		return;
	cfg_check_keys(cfg, b, "/behavior", behavior_keys);
	parse_direction(cfg, b, "scaleUp", &p->up);
	parse_direction(cfg, b, "scaleDown", &p->down);
}

/* ---- the rest ----------------------------------------------------------- */

static void parse_idle(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cJSON *o = NULL;
	if (cfg_get_object(cfg, root, "", "idle", false, &o) != 1)
		return;
	cfg_check_keys(cfg, o, "/idle", idle_keys);
	double t;
	if (cfg_get_number(cfg, o, "/idle", "threshold", false, 0, 100, &t) == 1)
		p->idle_threshold = t / 100;
	get_positive_duration(cfg, o, "/idle", "period", &p->idle_period);
}

static void parse_predictive(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cJSON *o = NULL;
	if (cfg_get_object(cfg, root, "", "predictive", false, &o) != 1)
		return;
	cfg_check_keys(cfg, o, "/predictive", predictive_keys);
	get_positive_duration(cfg, o, "/predictive", "leadTime", &p->predict_lead);
	const char *name = NULL;
	if (cfg_get_text(cfg, o, "/predictive", "metric", true, &name) != 1)
		return;
	int i = sc_policy_metric(p, name);
	if (i < 0) {
		if (p->nmetrics)
			cfg_error(cfg, "/predictive/metric", "no metric is called '%s'", name);
		return;
	}
	if (p->metrics[i].type == SC_VALUE) {
		cfg_error(cfg, "/predictive/metric",
			  "'%s' must have an averageUtilization or averageValue target, not a value",
			  name);
		return;
	}
	p->predictive = true;
	p->predict_metric = i;
}

static void parse_instance(struct cfg *cfg, const cJSON *io, const char *ptr,
			   struct sc_instance_type *it)
{
	cJSON *dummy;
	if (cfg_get_object(cfg, io, ptr, NULL, true, &dummy) != 1)
		return;
	cfg_check_keys(cfg, io, ptr, instance_keys);
	const char *name = NULL;
	if (cfg_get_text(cfg, io, ptr, "name", true, &name) == 1)
		it->name = xstrdup(name);
	cfg_get_number(cfg, io, ptr, "pricePerHour", true, 0, INFINITY, &it->price_per_hour);
	cJSON *cap = NULL;
	if (cfg_get_object(cfg, io, ptr, "capacity", false, &cap) != 1)
		return;
	const char *cptr = cfg_ptr_key(cfg, ptr, "capacity");
	size_t n = (size_t)cJSON_GetArraySize(cap);
	it->cap_names = xcalloc(n ? n : 1, sizeof(*it->cap_names));
	it->cap_values = xcalloc(n ? n : 1, sizeof(*it->cap_values));
	for (const cJSON *c = cap->child; c; c = c->next) {
		double v;
		if (get_positive(cfg, cap, cptr, c->string, true, &v) != 1)
			continue;
		it->cap_names[it->ncap] = xstrdup(c->string);
		it->cap_values[it->ncap++] = v;
	}
}

static void parse_catalogue(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, root, "", "catalogue", false, &arr) != 1)
		return;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		cfg_error(cfg, "/catalogue", "must not be empty");
		return;
	}
	p->catalogue = xcalloc(n, sizeof(*p->catalogue));
	p->ncatalogue = n;
	size_t i = 0;
	const cJSON *io;
	cJSON_ArrayForEach (io, arr) {
		const char *ptr = cfg_ptr_index(cfg, "/catalogue", i);
		parse_instance(cfg, io, ptr, &p->catalogue[i]);
		for (size_t j = 0; j < i && p->catalogue[i].name; j++) {
			if (p->catalogue[j].name &&
			    !strcmp(p->catalogue[j].name, p->catalogue[i].name)) {
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "name"),
					  "duplicate instance type '%s' (also /catalogue/%zu)",
					  p->catalogue[i].name, j);
				break;
			}
		}
		i++;
	}
}

static void parse_cost(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	parse_catalogue(cfg, root, p);
	const char *it = NULL;
	if (cfg_get_text(cfg, root, "", "instanceType", false, &it) == 1) {
		for (size_t i = 0; i < p->ncatalogue; i++)
			if (p->catalogue[i].name && !strcmp(p->catalogue[i].name, it))
				p->instance = (int)i;
		if (p->instance < 0)
			cfg_error(cfg, "/instanceType", "'%s' is not in the catalogue", it);
	}
	cJSON *b = NULL;
	if (cfg_get_object(cfg, root, "", "budget", false, &b) == 1) {
		cfg_check_keys(cfg, b, "/budget", budget_keys);
		get_positive(cfg, b, "/budget", "perHour", true, &p->budget_per_hour);
		if (!it)
			cfg_error(cfg, "/budget", "needs an instanceType to price replicas");
	}
	double h;
	if (cfg_get_number(cfg, root, "", "headroom", false, 0, INFINITY, &h) == 1)
		p->headroom = h / 100;
}

/* The first {name} in s that is not a placeholder of the hook, or NULL
 * when there is none; its length in *len. "{{" is a literal brace. */
static const char *bad_placeholder(const char *s, size_t *len)
{
	static const char *const names[] = { "service", "replicas", "current" };
	for (const char *b = strchr(s, '{'); b; b = strchr(b, '{')) {
		if (b[1] == '{') {
			b += 2;
			continue;
		}
		const char *e = strchr(b, '}');
		if (!e)
			return NULL;
		size_t n = (size_t)(e - b - 1);
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			known |= strlen(names[i]) == n && !strncmp(b + 1, names[i], n);
		if (!known) {
			*len = n + 2;
			return b;
		}
		b = e + 1;
	}
	return NULL;
}

static void check_placeholders(struct cfg *cfg, const struct sc_policy *p)
{
	size_t len;
	const char *bad;
	for (size_t i = 0; p->hook_argv && p->hook_argv[i]; i++) {
		if ((bad = bad_placeholder(p->hook_argv[i], &len)))
			cfg_error(cfg, cfg_ptr_index(cfg, "/hook", i),
				  "unknown placeholder '%.*s' (known: {service}, {replicas}, "
				  "{current})",
				  (int)len, bad);
	}
	if (p->hook_shell && (strstr(p->hook_shell, "{service}") ||
			      strstr(p->hook_shell, "{replicas}") ||
			      strstr(p->hook_shell, "{current}")))
		cfg_error(cfg, "/hook",
			  "a shell command gets no placeholders: use $OFS_SERVICE, $OFS_REPLICAS "
			  "and $OFS_CURRENT_REPLICAS");
}

static void parse_hook(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	if (cfg_get_command(cfg, root, "", "hook", false, &p->hook_argv, &p->hook_shell) == 1)
		check_placeholders(cfg, p);
	get_positive_duration(cfg, root, "", "hookTimeout", &p->hook_timeout);
}

static void parse_bounds(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	const char *service = NULL;
	if (cfg_get_text(cfg, root, "", "service", false, &service) == 1) {
		size_t len = strlen(service);
		if (len > SERVICE_MAX) {
			cfg_error(cfg, "/service", "must be at most %d characters, got %zu",
				  SERVICE_MAX, len);
		} else {
			free(p->service);
			p->service = xstrdup(service);
		}
	}
	int rmin = get_int(cfg, root, "", "minReplicas", false, 0, REPLICAS_MAX, &p->min_replicas);
	int rmax = get_int(cfg, root, "", "maxReplicas", true, 1, REPLICAS_MAX, &p->max_replicas);
	if (rmax == 1 && rmin >= 0 && p->max_replicas < p->min_replicas)
		cfg_error(cfg, "/maxReplicas", "must be at least minReplicas (%d), got %d",
			  p->min_replicas, p->max_replicas);
	get_positive_duration(cfg, root, "", "period", &p->period);
	double tol = 0.1;
	cfg_get_number(cfg, root, "", "tolerance", false, 0, 1, &tol);
	p->up.tolerance = p->down.tolerance = tol;
}

static void parse_zero(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cfg_get_duration(cfg, root, "", "cooldown", false, &p->cooldown);
	get_int(cfg, root, "", "activationReplicas", false, 1, REPLICAS_MAX, &p->activation_replicas);
	if (p->min_replicas != 0 || !p->nmetrics)
		return;
	for (size_t i = 0; i < p->nmetrics; i++)
		if (p->metrics[i].has_activation)
			return;
	cfg_error(cfg, "/minReplicas",
		  "0 (scale to zero) needs a metric with an 'activation' threshold");
}

static void validate(struct cfg *cfg, const cJSON *root, struct sc_policy *p)
{
	cfg_check_keys(cfg, root, "", top_keys);
	parse_bounds(cfg, root, p);
	parse_metrics(cfg, root, p);
	p->replicas_source = parse_source(cfg, root, "", "replicasSource");
	p->ready_source = parse_source(cfg, root, "", "readySource");
	parse_behavior(cfg, root, p);
	parse_zero(cfg, root, p);
	parse_idle(cfg, root, p);
	parse_hook(cfg, root, p);
	parse_predictive(cfg, root, p);
	parse_cost(cfg, root, p);
}

/* ---- the interface ------------------------------------------------------ */

void sc_policy_default(struct sc_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->service = xstrdup("*");
	p->min_replicas = 1;
	p->max_replicas = 10;
	p->period = 15 * SC_NS_PER_S;
	direction_defaults(&p->up, &p->down, 0.1);
	p->cooldown = 300 * SC_NS_PER_S;
	p->activation_replicas = 1;
	p->idle_threshold = 0.1;
	p->idle_period = 3600 * SC_NS_PER_S;
	p->hook_timeout = 30 * SC_NS_PER_S;
	p->predict_metric = -1;
	p->predict_lead = 300 * SC_NS_PER_S;
	p->instance = -1;
	p->headroom = 0.2;
}

int sc_policy_parse(const char *name, const char *text, size_t len, struct sc_policy *out,
		    struct strbuf *err)
{
	struct cfg cfg;
	sc_policy_default(out);
	if (cfg_parse_string(name, text, len, &cfg, err) < 0) {
		cfg_free(&cfg);
		if (err && err->len && err->buf[err->len - 1] != '\n')
			sb_addch(err, '\n');
		return -1;
	}
	const cJSON *root = cfg_root_object(&cfg);
	if (root)
		validate(&cfg, root, out);
	int nerrors = cfg.nerrors;
	if (nerrors) {
		if (err)
			sb_add(err, cfg.errors.buf, cfg.errors.len);
		cfg_free(&cfg);
		sc_policy_free(out);
		sc_policy_default(out);
		return -1;
	}
	out->root = cfg.root;
	cfg.root = NULL;
	cfg_free(&cfg);
	out->file = xstrdup(name);
	return 0;
}

int sc_policy_load(const char *path, struct sc_policy *out)
{
	struct strbuf text = SB_INIT, err = SB_INIT;
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	int r;
	if ((is_stdin ? sb_read_fd(&text, STDIN_FILENO) : sb_read_file(&text, path)) < 0) {
		sc_policy_default(out);
		r = error("cannot open '%s': %s", path, strerror(errno));
	} else {
		r = sc_policy_parse(name, text.buf, text.len, out, &err);
		error_lines(err.buf, err.len);
		if (r == 0) {
			free(out->file);
			out->file = xstrdup(path);
		}
	}
	sb_release(&text);
	sb_release(&err);
	return r;
}

void sc_policy_free(struct sc_policy *p)
{
	free(p->file);
	free(p->service);
	source_free(p->replicas_source);
	source_free(p->ready_source);
	for (size_t i = 0; i < p->nmetrics; i++) {
		free(p->metrics[i].name);
		source_free(p->metrics[i].source);
	}
	free(p->metrics);
	free(p->up.rules);
	free(p->down.rules);
	if (p->hook_argv)
		proc_argv_free(p->hook_argv);
	free(p->hook_shell);
	for (size_t i = 0; i < p->ncatalogue; i++) {
		struct sc_instance_type *it = &p->catalogue[i];
		free(it->name);
		for (size_t j = 0; j < it->ncap; j++)
			free(it->cap_names[j]);
		free(it->cap_names);
		free(it->cap_values);
	}
	free(p->catalogue);
	cJSON_Delete(p->root);
	memset(p, 0, sizeof(*p));
}

int sc_policy_metric(const struct sc_policy *p, const char *name)
{
	for (size_t i = 0; i < p->nmetrics; i++)
		if (p->metrics[i].name && !strcmp(p->metrics[i].name, name))
			return (int)i;
	return -1;
}

const struct sc_policy *sc_policy_for(const struct sc_policy *const *v, size_t n,
				      const char *service)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(v[i]->service, service, 0) == 0)
			return v[i];
	return NULL;
}

void sc_rule_text(const struct sc_rule *r, struct strbuf *sb)
{
	char d[DUR_BUFSZ];
	sb_addf(sb, "%s %d/%s", r->type == SC_RULE_PODS ? "Pods" : "Percent", r->value,
		dur_format(r->period, d, sizeof(d)));
}
