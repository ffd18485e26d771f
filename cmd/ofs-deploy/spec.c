/*
 * spec.c: loading and validating a deploy spec into struct dp_spec.
 *
 * A deploy must not start and then fail on a typo, so the whole file is
 * checked before anything is touched, and every problem is reported in
 * one go, each with its JSON pointer (config.h's getters): unknown keys
 * (with did-you-mean), types, ranges, durations, hook placeholders,
 * conditions (with the column), JSONPaths, analysis names, and the
 * checks that need several parts at once (a traffic driver needs
 * instances it can reach; a blue/green switch needs a traffic driver;
 * the port range must hold every instance the strategy runs at its
 * peak). What comes out is fully resolved: every default written in,
 * analysis names turned into indexes, the canary's steps built with
 * rollout.h, so the engine and the drivers never look at JSON. The
 * file's bytes are kept (spec->text) as the revision's copy.
 *
 * The walk goes in document order (service, version, artifact,
 * replicas, instances, traffic, strategy, analysis); references to
 * analyses and the cross checks come last, once everything is known.
 */
#include "common.h"
#include <fcntl.h>

#include "deploy.h"
#include "jsonpath.h"
#include "suggest.h"
#include "units.h"

#define NAME_MAX_LEN 64
#define QUOTE_MAX 40
#define NS_PER_S 1000000000LL
#define AMOUNT_MAX 1000000 /* a maxSurge/maxUnavailable count or percentage */
#define LIMIT_MAX 1000000  /* analysis counts and limits */

/* ---- names of the kinds ------------------------------------------------ */

/* In the order of each enum. */
static const char *const runner_names[] = { "process", "exec", "kubectl", NULL };
static const char *const router_names[] = { "none", "haproxy", "nginx", "exec", "kubectl", NULL };
static const char *const strategy_names[] = { "rolling", "blueGreen", "canary", NULL };
static const char *const ready_names[] = { "http", "tcp", "command", NULL };
static const char *const provider_names[] = { "http", "haproxy", "command", "health", NULL };
static const char *const hap_metric_names[] = { "errorRate", "requestRate", "sessions", NULL };
static const char *const set_names[] = { "new", "old", "all", NULL };
static const char *const nodata_names[] = { "inconclusive", "fail", "pass", "wait", NULL };

const char *dp_runner_name(enum dp_runner_kind k)
{
	return (unsigned)k < ARRAY_SIZE(runner_names) - 1 ? runner_names[k] : "unknown";
}

const char *dp_router_name(enum dp_router_kind k)
{
	return (unsigned)k < ARRAY_SIZE(router_names) - 1 ? router_names[k] : "unknown";
}

const char *dp_strategy_name(enum dp_strategy_kind k)
{
	return (unsigned)k < ARRAY_SIZE(strategy_names) - 1 ? strategy_names[k] : "unknown";
}

/* ---- keys --------------------------------------------------------------- */

static const char *const top_keys[] = { "service",  "version",	"artifact", "replicas",
					"instances", "traffic", "strategy", "analysis", NULL };

/* Each object with a kind: every key any kind takes (for unknown keys and
 * suggestions), then the keys of each kind, common ones included. */
static const char *const inst_keys[] = { "driver",     "start",	     "stop",	   "host",
					 "ports",      "ready",	     "readyTimeout", "stopTimeout",
					 "kubectl",    "context",    "namespace",  "deployment",
					 "container",  "image",	     NULL };
static const char *const inst_process_keys[] = { "driver", "start", "stop", "host", "ports",
						 "ready", "readyTimeout", "stopTimeout", NULL };
static const char *const inst_kubectl_keys[] = { "driver",     "ready",	    "readyTimeout",
						 "stopTimeout", "kubectl",   "context",
						 "namespace",  "deployment", "container",
						 "image",      NULL };
static const char *const *const inst_kind_keys[] = { inst_process_keys, inst_process_keys,
						     inst_kubectl_keys };

static const char *const ready_keys[] = { "kind", "path", "timeout", "command", NULL };
static const char *const ready_http_keys[] = { "kind", "path", "timeout", NULL };
static const char *const ready_tcp_keys[] = { "kind", "timeout", NULL };
static const char *const ready_command_keys[] = { "kind", "timeout", "command", NULL };
static const char *const *const ready_kind_keys[] = { ready_http_keys, ready_tcp_keys,
						      ready_command_keys };

static const char *const traffic_keys[] = { "driver", "drainTimeout", "socket",	 "backend",
					    "timeout", "file",	       "upstream", "test",
					    "reload", "pidFile",      "setWeights", "service",
					    "trafficSplit", NULL };
static const char *const traffic_none_keys[] = { "driver", "drainTimeout", NULL };
static const char *const traffic_haproxy_keys[] = { "driver", "drainTimeout", "socket", "backend",
						    "timeout", NULL };
static const char *const traffic_nginx_keys[] = { "driver", "drainTimeout", "file",   "upstream",
						  "test",   "reload",	    "pidFile", NULL };
static const char *const traffic_exec_keys[] = { "driver", "drainTimeout", "setWeights", NULL };
static const char *const traffic_kubectl_keys[] = { "driver", "drainTimeout", "service",
						    "trafficSplit", NULL };
static const char *const *const traffic_kind_keys[] = { traffic_none_keys, traffic_haproxy_keys,
							traffic_nginx_keys, traffic_exec_keys,
							traffic_kubectl_keys };

static const char *const strategy_keys[] = { "kind",
					     "minReady",
					     "progressDeadline",
					     "maxSurge",
					     "maxUnavailable",
					     "analysis",
					     "prePromotionAnalysis",
					     "postPromotionAnalysis",
					     "autoPromotion",
					     "autoPromotionDelay",
					     "scaleDownDelay",
					     "steps",
					     "stepWeight",
					     "maxWeight",
					     "stepWeights",
					     "interval",
					     NULL };
static const char *const rolling_keys[] = { "kind",	      "minReady", "progressDeadline",
					    "maxSurge",	      "maxUnavailable", "analysis",
					    NULL };
static const char *const bluegreen_keys[] = { "kind",
					      "minReady",
					      "progressDeadline",
					      "prePromotionAnalysis",
					      "postPromotionAnalysis",
					      "autoPromotion",
					      "autoPromotionDelay",
					      "scaleDownDelay",
					      NULL };
static const char *const canary_keys[] = { "kind",	 "minReady",   "progressDeadline",
					   "analysis",	 "steps",      "stepWeight",
					   "maxWeight", "stepWeights", "interval",
					   NULL };
static const char *const *const strategy_kind_keys[] = { rolling_keys, bluegreen_keys,
							 canary_keys };

static const char *const step_keys[] = { "setWeight", "pause", "analysis", NULL };
static const char *const pause_keys[] = { "duration", NULL };
static const char *const analysis_keys[] = { "name", "metrics", NULL };
static const char *const metric_keys[] = { "name",	       "interval",
					   "initialDelay",     "count",
					   "failureLimit",     "inconclusiveLimit",
					   "consecutiveErrorLimit", "noData",
					   "successCondition", "failureCondition",
					   "provider",	       NULL };
static const char *const provider_keys[] = { "kind",   "url",  "jsonPath", "timeout", "metric",
					     "of",     "socket", "backend", "command", NULL };
static const char *const prov_http_keys[] = { "kind", "url", "jsonPath", "timeout", NULL };
static const char *const prov_haproxy_keys[] = { "kind", "metric", "of", "socket", "backend",
						 NULL };
static const char *const prov_command_keys[] = { "kind", "command", "jsonPath", "timeout", NULL };
static const char *const prov_health_keys[] = { "kind", "of", NULL };
static const char *const *const provider_kind_keys[] = { prov_http_keys, prov_haproxy_keys,
							 prov_command_keys, prov_health_keys };

/* Hook placeholders (dp_hook_vars). */
static const char *const placeholders[] = { "service", "version",  "artifact",
					    "revision", "replicas", "instance",
					    "host",    "port",	   "index",    NULL };

/* ---- the walk ----------------------------------------------------------- */

/* A use of an analysis by name, resolved once every analysis is known. */
enum ref_slot { REF_PRE, REF_POST, REF_STRATEGY, REF_STEP };
struct ref {
	const char *name, *ptr;
	enum ref_slot slot;
	size_t step; /* REF_STEP: the index in sp->steps */
};

struct sp {
	struct cfg *cfg;
	struct dp_spec *spec;
	bool have_driver, have_router, have_kind; /* each kind known and valid */
	bool ports_given;      /* present and valid */
	const char *ports_ptr; /* present: its pointer */
	/* canary, until analysis names are resolved */
	enum { MODE_NONE, MODE_STEPS, MODE_STEP_WEIGHT, MODE_STEP_WEIGHTS } mode;
	bool steps_ok;
	struct ro_step *steps;
	size_t nsteps, asteps;
	int step_weight, max_weight;
	int *weights;
	size_t nweights;
	struct ref *ref;
	size_t nref, aref;
};

/* ---- message helpers ---------------------------------------------------- */

/* 'text', cut on a character boundary after about QUOTE_MAX bytes. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);
	bool cut = n > QUOTE_MAX;
	if (cut) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	sb_addch(sb, '\'');
	sb_add(sb, s, n);
	sb_addstr(sb, cut ? "...'" : "'");
}

/* "a, b or c" of a NULL-terminated list. */
static void add_list(struct strbuf *sb, const char *const *names)
{
	for (size_t i = 0; names[i]; i++) {
		if (i)
			sb_addstr(sb, names[i + 1] ? ", " : " or ");
		sb_addstr(sb, names[i]);
	}
}

static size_t count_names(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

/* Record "PTR: PREFIX 'word'; did you mean 'x'?" or, with no near miss,
 * "PTR: PREFIX 'word'; expected a, b or c" (when expected is set). */
static void error_unknown(struct cfg *cfg, const char *ptr, const char *prefix, const char *word,
			  const char *const *names, bool expected)
{
	struct strbuf msg = SB_INIT;
	sb_addf(&msg, "%s ", prefix);
	add_quoted(&msg, word);
	const char *near = suggest_closest(word, names, count_names(names));
	if (near) {
		sb_addstr(&msg, "; did you mean ");
		add_quoted(&msg, near);
		sb_addch(&msg, '?');
	} else if (expected) {
		sb_addstr(&msg, "; expected ");
		add_list(&msg, names);
	}
	cfg_error(cfg, ptr, "%s", msg.buf);
	sb_release(&msg);
}

/* ---- small getters ------------------------------------------------------ */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > NAME_MAX_LEN)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A name: 1..64 letters, digits, '.', '_' or '-'. */
static int get_name(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		    bool required, const char **out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, required, &s);
	if (r != 1)
		return r;
	if (!valid_name(s)) {
		struct strbuf q = SB_INIT;
		add_quoted(&q, s);
		cfg_error(cfg, key ? cfg_ptr_key(cfg, ptr, key) : ptr,
			  "must be 1 to %d letters, digits, '.', '_' or '-', got %s", NAME_MAX_LEN,
			  q.buf);
		sb_release(&q);
		return -1;
	}
	*out = s;
	return 1;
}

/* cfg_get_text into an allocated copy (the old value freed). */
static int get_text_dup(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			bool required, char **out)
{
	const char *s = NULL;
	int r = cfg_get_text(cfg, obj, ptr, key, required, &s);
	if (r == 1) {
		free(*out);
		*out = xstrdup(s);
	}
	return r;
}

/* A kind or driver: "unknown driver 'envoy'; expected none, haproxy, ...". */
static int get_kind(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		    bool required, const char *what, const char *const *names, int *out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, required, &s);
	if (r != 1)
		return r;
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return 1;
		}
	}
	struct strbuf prefix = SB_INIT;
	sb_addf(&prefix, "unknown %s", what);
	error_unknown(cfg, cfg_ptr_key(cfg, ptr, key), prefix.buf, s, names, true);
	sb_release(&prefix);
	return -1;
}

static int get_int(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, int min, int max, int *out)
{
	int64_t v = 0;
	int r = cfg_get_int(cfg, obj, ptr, key, required, min, max, &v);
	if (r == 1)
		*out = (int)v;
	return r;
}

/* A duration that must be above zero. */
static int get_positive(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			int64_t *ns)
{
	int64_t v = 0;
	int r = cfg_get_duration(cfg, obj, ptr, key, false, &v);
	if (r != 1)
		return r;
	if (v <= 0) {
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "must be more than 0");
		return -1;
	}
	*ns = v;
	return 1;
}

static bool in_list(const char *const *names, const char *s)
{
	for (; *names; names++)
		if (strcmp(*names, s) == 0)
			return true;
	return false;
}

/* Keys of obj that some kind takes but this one does not ("unknown key
 * 'file' for the haproxy driver"); unknown keys were reported already. */
static void check_kind_keys(struct cfg *cfg, const cJSON *obj, const char *ptr,
			    const char *const *all, const char *const *mine, const char *what)
{
	if (!cJSON_IsObject(obj))
		return;
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!c->string || !in_list(all, c->string) || in_list(mine, c->string))
			continue;
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, c->string), "unknown key '%s' for %s",
			  c->string, what);
	}
}

/* ---- hooks -------------------------------------------------------------- */

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Every {word} of s must be a placeholder; "{{" is a literal brace and
 * braces around anything else ("{print $1}") are text. */
static bool check_placeholders(struct cfg *cfg, const char *ptr, const char *s)
{
	bool ok = true;
	for (const char *p = s; *p; p++) {
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		const char *e = p + 1;
		while (is_word(*e))
			e++;
		if (e == p + 1 || *e != '}')
			continue;
		char *name = xstrndup(p + 1, (size_t)(e - p - 1));
		if (!in_list(placeholders, name)) {
			const char *near =
				suggest_closest(name, placeholders, count_names(placeholders));
			if (near)
				cfg_error(cfg, ptr,
					  "unknown placeholder '{%s}'; did you mean '{%s}'?", name,
					  near);
			else
				cfg_error(cfg, ptr,
					  "unknown placeholder '{%s}'; expected {service}, "
					  "{version}, {artifact}, {revision}, {replicas}, "
					  "{instance}, {host}, {port} or {index}",
					  name);
			ok = false;
		}
		free(name);
		p = e;
	}
	return ok;
}

static void cmd_release(struct dp_cmd *c)
{
	proc_argv_free(c->argv);
	free(c->shell);
	c->argv = NULL;
	c->shell = NULL;
}

/* A hook: an argv array with placeholders checked, or a sh -c string. */
static int get_cmd(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, struct dp_cmd *out)
{
	char **argv = NULL;
	char *shell = NULL;
	int r = cfg_get_command(cfg, obj, ptr, key, required, &argv, &shell);
	if (r != 1)
		return r;
	bool ok = true;
	const char *cptr = cfg_ptr_key(cfg, ptr, key);
	for (size_t i = 0; argv && argv[i]; i++)
		ok &= check_placeholders(cfg, cfg_ptr_index(cfg, cptr, i), argv[i]);
	if (!ok) {
		proc_argv_free(argv);
		return -1;
	}
	cmd_release(out);
	out->argv = argv;
	out->shell = shell;
	return 1;
}

static void set_default_cmd(struct dp_cmd *c, const char *a0, const char *a1, const char *a2)
{
	const char *words[] = { a0, a1, a2 };
	size_t n = a2 ? 3 : 2;
	c->argv = xcalloc(n + 1, sizeof(*c->argv));
	for (size_t i = 0; i < n; i++)
		c->argv[i] = xstrdup(words[i]);
}

/* ---- defaults ----------------------------------------------------------- */

static void set_defaults(struct dp_spec *s)
{
	struct dp_instances *in = &s->instances;
	in->driver = DP_RUN_PROCESS;
	in->host = xstrdup("127.0.0.1");
	in->ready.kind = DP_READY_HTTP;
	in->ready.path = xstrdup("/health");
	in->ready.timeout_ns = NS_PER_S;
	in->ready_timeout_ns = 60 * NS_PER_S;
	in->stop_timeout_ns = 10 * NS_PER_S;
	in->kubectl = xstrdup("kubectl");
	in->deployment = xstrdup("{service}-{version}");

	struct dp_traffic *t = &s->traffic;
	t->driver = DP_ROUTE_NONE;
	t->drain_timeout_ns = 30 * NS_PER_S;
	t->timeout_ns = 2 * NS_PER_S;
	set_default_cmd(&t->test, "nginx", "-t", NULL);
	set_default_cmd(&t->reload, "nginx", "-s", "reload");

	struct dp_strategy *st = &s->strategy;
	st->kind = DP_ROLLING;
	st->max_surge = (struct ro_amount){ 25, true };
	st->max_unavailable = (struct ro_amount){ 25, true };
	st->progress_deadline_ns = 600 * NS_PER_S;
	st->auto_promote = true;
	st->scale_down_delay_ns = 30 * NS_PER_S;
	st->pre_analysis = st->post_analysis = st->analysis = -1;
	st->interval_ns = 60 * NS_PER_S;
}

/* Defaults that depend on the service, once it is known. */
static void set_service_defaults(struct dp_spec *s)
{
	const char *svc = s->service ? s->service : "";
	if (!s->instances.container)
		s->instances.container = xstrdup(svc);
	if (!s->traffic.backend)
		s->traffic.backend = xstrdup(svc);
	if (!s->traffic.upstream)
		s->traffic.upstream = xstrdup(svc);
}

/* ---- instances ---------------------------------------------------------- */

/* "18100-18199" or "18100" or 18100 into min and max. */
static int parse_ports(struct sp *p, const cJSON *obj, const char *ptr)
{
	struct cfg *cfg = p->cfg;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "ports");
	if (!v)
		return 0;
	const char *pptr = cfg_ptr_key(cfg, ptr, "ports");
	p->ports_ptr = pptr;
	long long lo = 0, hi = 0;
	if (cJSON_IsNumber(v)) {
		int64_t n = 0;
		if (cfg_get_int(cfg, obj, ptr, "ports", false, 1, 65535, &n) != 1)
			return -1;
		lo = hi = n;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring, *dash = strchr(s, '-');
		char *a = dash ? xstrndup(s, (size_t)(dash - s)) : xstrdup(s);
		const char *b = dash ? dash + 1 : s;
		bool ok = *a && *b && num_parse_int(a, 0, 99999, &lo, NULL) == 0 &&
			  num_parse_int(b, 0, 99999, &hi, NULL) == 0 && a[0] != '+' && a[0] != '-' &&
			  b[0] != '+' && b[0] != '-';
		free(a);
		if (!ok) {
			struct strbuf q = SB_INIT;
			add_quoted(&q, s);
			cfg_error(cfg, pptr,
				  "must be a port range like \"18100-18199\" or a port number, "
				  "got %s",
				  q.buf);
			sb_release(&q);
			return -1;
		}
		if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
			cfg_error(cfg, pptr, "must be 1..65535, got %lld",
				  lo < 1 || lo > 65535 ? lo : hi);
			return -1;
		}
		if (lo > hi) {
			cfg_error(cfg, pptr, "the first port %lld is above the last %lld", lo, hi);
			return -1;
		}
	} else {
		cfg_error(cfg, pptr,
			  "must be a port range like \"18100-18199\" or a port number, got %s",
			  cfg_type_name(v));
		return -1;
	}
	p->spec->instances.port_min = (int)lo;
	p->spec->instances.port_max = (int)hi;
	p->ports_given = true;
	return 1;
}

static void parse_ready(struct sp *p, const cJSON *obj, const char *ptr)
{
	struct cfg *cfg = p->cfg;
	struct dp_ready *rd = &p->spec->instances.ready;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, obj, ptr, "ready", false, &o) != 1)
		return;
	const char *rptr = cfg_ptr_key(cfg, ptr, "ready");
	cfg_check_keys(cfg, o, rptr, ready_keys);
	int kind = DP_READY_HTTP;
	if (get_kind(cfg, o, rptr, "kind", false, "ready check kind", ready_names, &kind) < 0)
		return;
	rd->kind = (enum dp_ready_kind)kind;
	struct strbuf what = SB_INIT;
	sb_addf(&what, "a %s ready check", ready_names[kind]);
	check_kind_keys(cfg, o, rptr, ready_keys, ready_kind_keys[kind], what.buf);
	sb_release(&what);
	const char *path = NULL;
	if (cfg_get_text(cfg, o, rptr, "path", false, &path) == 1) {
		if (path[0] != '/') {
			struct strbuf q = SB_INIT;
			add_quoted(&q, path);
			cfg_error(cfg, cfg_ptr_key(cfg, rptr, "path"), "must start with '/', got %s",
				  q.buf);
			sb_release(&q);
		} else {
			free(rd->path);
			rd->path = xstrdup(path);
		}
	}
	get_positive(cfg, o, rptr, "timeout", &rd->timeout_ns);
	get_cmd(cfg, o, rptr, "command", kind == DP_READY_COMMAND, &rd->command);
}

static void parse_instances(struct sp *p, const cJSON *root)
{
	struct cfg *cfg = p->cfg;
	struct dp_instances *in = &p->spec->instances;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, root, "", "instances", true, &o) != 1)
		return;
	const char *ptr = "/instances";
	cfg_check_keys(cfg, o, ptr, inst_keys);
	int kind = 0;
	if (get_kind(cfg, o, ptr, "driver", true, "driver", runner_names, &kind) == 1) {
		in->driver = (enum dp_runner_kind)kind;
		p->have_driver = true;
		struct strbuf what = SB_INIT;
		sb_addf(&what, "the %s driver", runner_names[kind]);
		check_kind_keys(cfg, o, ptr, inst_keys, inst_kind_keys[kind], what.buf);
		sb_release(&what);
	}
	bool runs = !p->have_driver || in->driver != DP_RUN_KUBECTL;
	get_cmd(cfg, o, ptr, "start", p->have_driver && runs, &in->start);
	get_cmd(cfg, o, ptr, "stop", p->have_driver && in->driver == DP_RUN_EXEC, &in->stop);
	get_text_dup(cfg, o, ptr, "host", false, &in->host);
	parse_ports(p, o, ptr);
	parse_ready(p, o, ptr);
	get_positive(cfg, o, ptr, "readyTimeout", &in->ready_timeout_ns);
	cfg_get_duration(cfg, o, ptr, "stopTimeout", false, &in->stop_timeout_ns);
	/* kubectl */
	get_text_dup(cfg, o, ptr, "kubectl", false, &in->kubectl);
	get_text_dup(cfg, o, ptr, "context", false, &in->context);
	get_text_dup(cfg, o, ptr, "namespace", false, &in->namespace_);
	if (get_text_dup(cfg, o, ptr, "deployment", false, &in->deployment) == 1)
		check_placeholders(cfg, cfg_ptr_key(cfg, ptr, "deployment"), in->deployment);
	get_text_dup(cfg, o, ptr, "container", false, &in->container);
	if (get_text_dup(cfg, o, ptr, "image", p->have_driver && in->driver == DP_RUN_KUBECTL,
			 &in->image) == 1)
		check_placeholders(cfg, cfg_ptr_key(cfg, ptr, "image"), in->image);
}

/* ---- traffic ------------------------------------------------------------ */

/* HAProxy's names: letters, digits, '-', '_', '.' and ':'. */
static bool valid_proxy_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* A backend or upstream name into *out. */
static int get_proxy_name(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			  const char *what, char **out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, false, &s);
	if (r != 1)
		return r;
	if (!valid_proxy_name(s)) {
		struct strbuf q = SB_INIT;
		add_quoted(&q, s);
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key),
			  "must be a valid %s name (letters, digits, '-', '_', '.' and ':'), got %s",
			  what, q.buf);
		sb_release(&q);
		return -1;
	}
	free(*out);
	*out = xstrdup(s);
	return 1;
}

static void parse_traffic(struct sp *p, const cJSON *root)
{
	struct cfg *cfg = p->cfg;
	struct dp_traffic *t = &p->spec->traffic;
	cJSON *o = NULL;
	int r = cfg_get_object(cfg, root, "", "traffic", false, &o);
	if (r == 0)
		p->have_router = true; /* none */
	if (r != 1)
		return;
	const char *ptr = "/traffic";
	cfg_check_keys(cfg, o, ptr, traffic_keys);
	int kind = 0;
	if (get_kind(cfg, o, ptr, "driver", true, "driver", router_names, &kind) != 1)
		return;
	t->driver = (enum dp_router_kind)kind;
	p->have_router = true;
	struct strbuf what = SB_INIT;
	sb_addf(&what, "the %s driver", router_names[kind]);
	check_kind_keys(cfg, o, ptr, traffic_keys, traffic_kind_keys[kind], what.buf);
	sb_release(&what);
	cfg_get_duration(cfg, o, ptr, "drainTimeout", false, &t->drain_timeout_ns);
	switch (t->driver) {
	case DP_ROUTE_NONE:
		break;
	case DP_ROUTE_HAPROXY:
		get_text_dup(cfg, o, ptr, "socket", true, &t->socket);
		get_proxy_name(cfg, o, ptr, "backend", "haproxy backend", &t->backend);
		get_positive(cfg, o, ptr, "timeout", &t->timeout_ns);
		break;
	case DP_ROUTE_NGINX:
		get_text_dup(cfg, o, ptr, "file", true, &t->file);
		get_proxy_name(cfg, o, ptr, "upstream", "nginx upstream", &t->upstream);
		get_cmd(cfg, o, ptr, "test", false, &t->test);
		get_cmd(cfg, o, ptr, "reload", false, &t->reload);
		get_text_dup(cfg, o, ptr, "pidFile", false, &t->pid_file);
		break;
	case DP_ROUTE_EXEC:
		get_cmd(cfg, o, ptr, "setWeights", true, &t->set_weights);
		break;
	case DP_ROUTE_KUBECTL:
		/* Which one is required depends on the strategy: cross checks. */
		get_text_dup(cfg, o, ptr, "service", false, &t->k8s_service);
		get_text_dup(cfg, o, ptr, "trafficSplit", false, &t->split);
		break;
	}
}

/* ---- strategy ----------------------------------------------------------- */

static void add_ref(struct sp *p, const char *name, const char *ptr, enum ref_slot slot,
		    size_t step)
{
	ALLOC_GROW(p->ref, p->nref + 1, p->aref);
	p->ref[p->nref++] = (struct ref){ name, ptr, slot, step };
}

static void get_analysis_ref(struct sp *p, const cJSON *obj, const char *ptr, const char *key,
			     enum ref_slot slot)
{
	const char *name = NULL;
	if (get_name(p->cfg, obj, ptr, key, false, &name) == 1)
		add_ref(p, name, cfg_ptr_key(p->cfg, ptr, key), slot, 0);
}

/* maxSurge or maxUnavailable: a count >= 0 or "N%". */
static int get_amount(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		      int max_percent, struct ro_amount *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	const char *aptr = cfg_ptr_key(cfg, ptr, key);
	if (cJSON_IsNumber(v)) {
		int64_t n = 0;
		if (cfg_get_int(cfg, obj, ptr, key, false, 0, INT64_MAX, &n) != 1)
			return -1;
		if (n > AMOUNT_MAX) {
			cfg_error(cfg, aptr, "must be at most %d, got %" PRId64, AMOUNT_MAX, n);
			return -1;
		}
		*out = (struct ro_amount){ (int)n, false };
		return 1;
	}
	long long n = -1;
	if (cJSON_IsString(v)) {
		size_t len = strlen(v->valuestring);
		if (len >= 2 && v->valuestring[len - 1] == '%' && v->valuestring[0] >= '0' &&
		    v->valuestring[0] <= '9') {
			char *num = xstrndup(v->valuestring, len - 1);
			if (num_parse_int(num, 0, AMOUNT_MAX, &n, NULL) < 0)
				n = -1;
			free(num);
		}
	}
	if (n < 0) {
		struct strbuf got = SB_INIT;
		if (cJSON_IsString(v)) {
			sb_addstr(&got, "string ");
			add_quoted(&got, v->valuestring);
		} else {
			sb_addstr(&got, cfg_type_name(v));
		}
		cfg_error(cfg, aptr, "must be a count (0 or more) or a percentage like \"25%%\", got %s",
			  got.buf);
		sb_release(&got);
		return -1;
	}
	if (n > max_percent) {
		cfg_error(cfg, aptr, "must be at most %d%%, got %lld%%", max_percent, n);
		return -1;
	}
	*out = (struct ro_amount){ (int)n, true };
	return 1;
}

static void parse_rolling(struct sp *p, const cJSON *o, const char *ptr)
{
	struct dp_strategy *st = &p->spec->strategy;
	int a = get_amount(p->cfg, o, ptr, "maxSurge", AMOUNT_MAX, &st->max_surge);
	int b = get_amount(p->cfg, o, ptr, "maxUnavailable", 100, &st->max_unavailable);
	if (a >= 0 && b >= 0 && st->max_surge.value == 0 && st->max_unavailable.value == 0)
		cfg_error(p->cfg, ptr, "maxSurge and maxUnavailable must not both be 0");
	get_analysis_ref(p, o, ptr, "analysis", REF_STRATEGY);
}

static void parse_bluegreen(struct sp *p, const cJSON *o, const char *ptr)
{
	struct cfg *cfg = p->cfg;
	struct dp_strategy *st = &p->spec->strategy;
	get_analysis_ref(p, o, ptr, "prePromotionAnalysis", REF_PRE);
	get_analysis_ref(p, o, ptr, "postPromotionAnalysis", REF_POST);
	cfg_get_bool(cfg, o, ptr, "autoPromotion", false, &st->auto_promote);
	if (cfg_get_duration(cfg, o, ptr, "autoPromotionDelay", false, &st->auto_promotion_ns) == 1 &&
	    !st->auto_promote && st->auto_promotion_ns > 0)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "autoPromotionDelay"),
			  "has no effect with autoPromotion false (the switch waits for promote)");
	cfg_get_duration(cfg, o, ptr, "scaleDownDelay", false, &st->scale_down_delay_ns);
}

static void push_step(struct sp *p, struct ro_step s)
{
	ALLOC_GROW(p->steps, p->nsteps + 1, p->asteps);
	p->steps[p->nsteps++] = s;
}

/* One explicit canary step: an object with exactly one key. */
static bool parse_step(struct sp *p, const cJSON *e, const char *eptr)
{
	struct cfg *cfg = p->cfg;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, e, eptr, NULL, true, &o) != 1)
		return false;
	int nerr = cfg_check_keys(cfg, o, eptr, step_keys);
	size_t known = 0;
	for (const cJSON *c = o->child; c; c = c->next)
		known += c->string && in_list(step_keys, c->string);
	if (known > 1) {
		cfg_error(cfg, eptr, "a step takes exactly one of 'setWeight', 'pause' or "
				     "'analysis', got %zu",
			  known);
		return false;
	}
	if (!known) {
		if (!nerr)
			cfg_error(cfg, eptr,
				  "a step takes exactly one of 'setWeight', 'pause' or 'analysis'");
		return false;
	}
	int weight = 0;
	cJSON *pause = NULL;
	const char *name = NULL;
	if (cJSON_GetObjectItemCaseSensitive(o, "setWeight")) {
		if (get_int(cfg, o, eptr, "setWeight", true, 0, 100, &weight) != 1)
			return false;
		push_step(p, (struct ro_step){ .kind = RO_STEP_WEIGHT, .weight = weight });
	} else if (cJSON_GetObjectItemCaseSensitive(o, "pause")) {
		if (cfg_get_object(cfg, o, eptr, "pause", true, &pause) != 1)
			return false;
		const char *pptr = cfg_ptr_key(cfg, eptr, "pause");
		if (cfg_check_keys(cfg, pause, pptr, pause_keys))
			return false;
		int64_t ns = 0;
		int r = cfg_get_duration(cfg, pause, pptr, "duration", false, &ns);
		if (r < 0)
			return false;
		push_step(p, r == 1 ? (struct ro_step){ .kind = RO_STEP_PAUSE, .pause_ns = ns }
				    : (struct ro_step){ .kind = RO_STEP_PAUSE_PROMOTE });
	} else {
		if (get_name(cfg, o, eptr, "analysis", true, &name) != 1)
			return false;
		add_ref(p, name, cfg_ptr_key(cfg, eptr, "analysis"), REF_STEP, p->nsteps);
		push_step(p, (struct ro_step){ .kind = RO_STEP_ANALYSIS });
	}
	return true;
}

static void parse_steps(struct sp *p, const cJSON *o, const char *ptr)
{
	cJSON *arr = NULL;
	if (cfg_get_array(p->cfg, o, ptr, "steps", true, &arr) != 1)
		return;
	const char *sptr = cfg_ptr_key(p->cfg, ptr, "steps");
	bool ok = true;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach (e, arr)
		ok &= parse_step(p, e, cfg_ptr_index(p->cfg, sptr, i++));
	p->steps_ok = ok;
}

static void parse_step_weights(struct sp *p, const cJSON *o, const char *ptr)
{
	struct cfg *cfg = p->cfg;
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, o, ptr, "stepWeights", true, &arr) != 1)
		return;
	const char *wptr = cfg_ptr_key(cfg, ptr, "stepWeights");
	if (!arr->child) {
		cfg_error(cfg, wptr, "must not be empty");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	p->weights = xcalloc(n, sizeof(*p->weights));
	bool ok = true;
	const cJSON *e;
	cJSON_ArrayForEach (e, arr) {
		const char *eptr = cfg_ptr_index(cfg, wptr, i);
		int w = 0;
		if (get_int(cfg, e, eptr, NULL, true, 1, 100, &w) != 1) {
			ok = false;
		} else if (i && ok && w <= p->weights[i - 1]) {
			cfg_error(cfg, eptr, "must be above the weight before it (%d), got %d",
				  p->weights[i - 1], w);
			ok = false;
		}
		p->weights[i++] = w;
	}
	p->nweights = n;
	p->steps_ok = ok;
}

static void parse_canary(struct sp *p, const cJSON *o, const char *ptr)
{
	struct cfg *cfg = p->cfg;
	static const char *const modes[] = { "steps", "stepWeight", "stepWeights" };
	const char *first = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!cJSON_GetObjectItemCaseSensitive(o, modes[i]))
			continue;
		if (first) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, modes[i]),
				  "cannot be combined with '%s'; give one of 'steps', "
				  "'stepWeight' or 'stepWeights'",
				  first);
			continue;
		}
		first = modes[i];
		p->mode = i == 0 ? MODE_STEPS : i == 1 ? MODE_STEP_WEIGHT : MODE_STEP_WEIGHTS;
	}
	if (!first) {
		cfg_error(cfg, ptr,
			  "a canary needs one of 'steps', 'stepWeight' (with 'maxWeight') or "
			  "'stepWeights'");
		return;
	}
	bool has_max = cJSON_GetObjectItemCaseSensitive(o, "maxWeight") != NULL;
	if (has_max && p->mode != MODE_STEP_WEIGHT)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "maxWeight"), "only goes with 'stepWeight'");
	if (p->mode == MODE_STEPS) {
		if (cJSON_GetObjectItemCaseSensitive(o, "interval"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "interval"),
				  "only goes with 'stepWeight' or 'stepWeights' (steps give their "
				  "own pauses)");
		if (cJSON_GetObjectItemCaseSensitive(o, "analysis"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "analysis"),
				  "only goes with 'stepWeight' or 'stepWeights' (give steps "
				  "{\"analysis\": NAME} instead)");
		parse_steps(p, o, ptr);
		return;
	}
	get_positive(cfg, o, ptr, "interval", &p->spec->strategy.interval_ns);
	get_analysis_ref(p, o, ptr, "analysis", REF_STRATEGY);
	if (p->mode == MODE_STEP_WEIGHTS) {
		parse_step_weights(p, o, ptr);
		return;
	}
	if (!has_max)
		cfg_error(cfg, ptr, "missing required key 'maxWeight' (stepWeight needs it)");
	int a = get_int(cfg, o, ptr, "stepWeight", true, 1, 100, &p->step_weight);
	int b = get_int(cfg, o, ptr, "maxWeight", false, 1, 100, &p->max_weight);
	if (a == 1 && b == 1 && p->step_weight > p->max_weight)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "stepWeight"),
			  "must be at most maxWeight (%d), got %d", p->max_weight, p->step_weight);
	else if (a == 1 && b == 1)
		p->steps_ok = true;
}

static void parse_strategy(struct sp *p, const cJSON *root)
{
	struct cfg *cfg = p->cfg;
	struct dp_strategy *st = &p->spec->strategy;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, root, "", "strategy", true, &o) != 1)
		return;
	const char *ptr = "/strategy";
	cfg_check_keys(cfg, o, ptr, strategy_keys);
	int kind = 0;
	if (get_kind(cfg, o, ptr, "kind", true, "strategy", strategy_names, &kind) != 1)
		return;
	st->kind = (enum dp_strategy_kind)kind;
	p->have_kind = true;
	struct strbuf what = SB_INIT;
	sb_addf(&what, "the %s strategy", strategy_names[kind]);
	check_kind_keys(cfg, o, ptr, strategy_keys, strategy_kind_keys[kind], what.buf);
	sb_release(&what);
	cfg_get_duration(cfg, o, ptr, "minReady", false, &st->min_ready_ns);
	get_positive(cfg, o, ptr, "progressDeadline", &st->progress_deadline_ns);
	if (st->kind == DP_ROLLING)
		parse_rolling(p, o, ptr);
	else if (st->kind == DP_BLUEGREEN)
		parse_bluegreen(p, o, ptr);
	else
		parse_canary(p, o, ptr);
}

/* ---- analysis ----------------------------------------------------------- */

static void parse_cond(struct cfg *cfg, const cJSON *o, const char *ptr, const char *key,
		       struct dp_cond *c)
{
	const char *s = NULL;
	if (cfg_get_text(cfg, o, ptr, key, false, &s) != 1)
		return;
	struct strbuf err = SB_INIT;
	if (dp_cond_parse(s, c, &err) < 0)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "%s", err.buf);
	sb_release(&err);
}

static void parse_json_path(struct cfg *cfg, const cJSON *o, const char *ptr, char **out)
{
	const char *s = NULL;
	if (cfg_get_text(cfg, o, ptr, "jsonPath", false, &s) != 1)
		return;
	struct strbuf err = SB_INIT;
	struct jp *jp = jp_compile(s, &err, NULL);
	if (!jp) {
		struct strbuf q = SB_INIT;
		add_quoted(&q, s);
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "jsonPath"), "invalid JSONPath %s: %s", q.buf,
			  err.buf);
		sb_release(&q);
	} else {
		*out = xstrdup(s);
	}
	jp_free(jp);
	sb_release(&err);
}

static void parse_provider(struct sp *p, const cJSON *mo, const char *mptr, struct dp_metric *m)
{
	struct cfg *cfg = p->cfg;
	const struct dp_traffic *t = &p->spec->traffic;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, mo, mptr, "provider", true, &o) != 1)
		return;
	const char *ptr = cfg_ptr_key(cfg, mptr, "provider");
	cfg_check_keys(cfg, o, ptr, provider_keys);
	int kind = 0;
	if (get_kind(cfg, o, ptr, "kind", true, "provider", provider_names, &kind) != 1)
		return;
	m->provider = (enum dp_provider_kind)kind;
	struct strbuf what = SB_INIT;
	sb_addf(&what, "the %s provider", provider_names[kind]);
	check_kind_keys(cfg, o, ptr, provider_keys, provider_kind_keys[kind], what.buf);
	sb_release(&what);
	int v = 0;
	switch (m->provider) {
	case DP_PROV_HTTP: {
		const char *url = NULL;
		if (cfg_get_text(cfg, o, ptr, "url", true, &url) == 1) {
			if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
				struct strbuf q = SB_INIT;
				add_quoted(&q, url);
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "url"),
					  "must be an http:// or https:// URL, got %s", q.buf);
				sb_release(&q);
			} else {
				m->url = xstrdup(url);
			}
		}
		parse_json_path(cfg, o, ptr, &m->json_path);
		get_positive(cfg, o, ptr, "timeout", &m->timeout_ns);
		break;
	}
	case DP_PROV_HAPROXY: {
		if (cfg_get_enum(cfg, o, ptr, "metric", true, hap_metric_names, &v) == 1)
			m->hap_metric = (enum dp_hap_metric)v;
		if (cfg_get_enum(cfg, o, ptr, "of", false, set_names, &v) == 1)
			m->of = (enum dp_target_set)v;
		bool router_haproxy = p->have_router && t->driver == DP_ROUTE_HAPROXY;
		if (get_text_dup(cfg, o, ptr, "socket", false, &m->socket) == 0) {
			if (router_haproxy && t->socket)
				m->socket = xstrdup(t->socket);
			else if (!router_haproxy && p->have_router)
				cfg_error(cfg, ptr,
					  "missing required key 'socket' (the traffic driver is "
					  "not haproxy)");
		}
		get_proxy_name(cfg, o, ptr, "backend", "haproxy backend", &m->backend);
		if (!m->backend && t->backend)
			m->backend = xstrdup(t->backend);
		break;
	}
	case DP_PROV_COMMAND:
		get_cmd(cfg, o, ptr, "command", true, &m->command);
		parse_json_path(cfg, o, ptr, &m->json_path);
		get_positive(cfg, o, ptr, "timeout", &m->timeout_ns);
		break;
	case DP_PROV_HEALTH:
		if (cfg_get_enum(cfg, o, ptr, "of", false, set_names, &v) == 1)
			m->of = (enum dp_target_set)v;
		break;
	}
}

static void parse_metric(struct sp *p, const cJSON *e, const char *ptr, struct dp_metric *m)
{
	struct cfg *cfg = p->cfg;
	cJSON *o = NULL;
	m->interval_ns = 10 * NS_PER_S;
	m->timeout_ns = 5 * NS_PER_S;
	m->of = DP_SET_NEW;
	an_config_default(&m->an);
	if (cfg_get_object(cfg, e, ptr, NULL, true, &o) != 1)
		return;
	cfg_check_keys(cfg, o, ptr, metric_keys);
	const char *name = NULL;
	if (get_name(cfg, o, ptr, "name", true, &name) == 1)
		m->name = xstrdup(name);
	get_positive(cfg, o, ptr, "interval", &m->interval_ns);
	cfg_get_duration(cfg, o, ptr, "initialDelay", false, &m->initial_delay_ns);
	get_int(cfg, o, ptr, "count", false, 0, LIMIT_MAX, &m->an.count);
	get_int(cfg, o, ptr, "failureLimit", false, 0, LIMIT_MAX, &m->an.failure_limit);
	get_int(cfg, o, ptr, "inconclusiveLimit", false, 0, LIMIT_MAX, &m->an.inconclusive_limit);
	get_int(cfg, o, ptr, "consecutiveErrorLimit", false, -1, LIMIT_MAX,
		&m->an.consecutive_error_limit);
	int v = 0;
	if (cfg_get_enum(cfg, o, ptr, "noData", false, nodata_names, &v) == 1)
		m->an.nodata = (enum an_nodata)v;
	parse_cond(cfg, o, ptr, "successCondition", &m->success);
	parse_cond(cfg, o, ptr, "failureCondition", &m->failure);
	parse_provider(p, o, ptr, m);
}

static void parse_one_analysis(struct sp *p, const cJSON *e, const char *ptr,
			       struct dp_analysis *a)
{
	struct cfg *cfg = p->cfg;
	cJSON *o = NULL;
	if (cfg_get_object(cfg, e, ptr, NULL, true, &o) != 1)
		return;
	cfg_check_keys(cfg, o, ptr, analysis_keys);
	const char *name = NULL;
	if (get_name(cfg, o, ptr, "name", true, &name) == 1)
		a->name = xstrdup(name);
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, o, ptr, "metrics", true, &arr) != 1)
		return;
	const char *mptr = cfg_ptr_key(cfg, ptr, "metrics");
	if (!arr->child) {
		cfg_error(cfg, mptr, "must not be empty");
		return;
	}
	a->nmetric = (size_t)cJSON_GetArraySize(arr);
	a->metric = xcalloc(a->nmetric, sizeof(*a->metric));
	size_t i = 0;
	const cJSON *me;
	cJSON_ArrayForEach (me, arr) {
		struct dp_metric *m = &a->metric[i];
		const char *eptr = cfg_ptr_index(cfg, mptr, i);
		parse_metric(p, me, eptr, m);
		for (size_t j = 0; m->name && j < i; j++) {
			if (a->metric[j].name && strcmp(a->metric[j].name, m->name) == 0) {
				cfg_error(cfg, cfg_ptr_key(cfg, eptr, "name"),
					  "duplicate metric name '%s' (first at %s/%zu)", m->name,
					  mptr, j);
				break;
			}
		}
		i++;
	}
}

static void parse_analyses(struct sp *p, const cJSON *root)
{
	struct cfg *cfg = p->cfg;
	struct dp_spec *s = p->spec;
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, root, "", "analysis", false, &arr) != 1)
		return;
	s->nanalysis = (size_t)cJSON_GetArraySize(arr);
	s->analysis = xcalloc(s->nanalysis ? s->nanalysis : 1, sizeof(*s->analysis));
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach (e, arr) {
		struct dp_analysis *a = &s->analysis[i];
		const char *eptr = cfg_ptr_index(cfg, "/analysis", i);
		parse_one_analysis(p, e, eptr, a);
		for (size_t j = 0; a->name && j < i; j++) {
			if (s->analysis[j].name && strcmp(s->analysis[j].name, a->name) == 0) {
				cfg_error(cfg, cfg_ptr_key(cfg, eptr, "name"),
					  "duplicate analysis name '%s' (first at /analysis/%zu)",
					  a->name, j);
				break;
			}
		}
		i++;
	}
}

/* ---- after the walk ----------------------------------------------------- */

/* Each analysis name used: its index, or an error with a suggestion. */
static bool resolve_refs(struct sp *p)
{
	struct dp_spec *s = p->spec;
	const char **names = xcalloc(s->nanalysis + 1, sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; i < s->nanalysis; i++)
		if (s->analysis[i].name)
			names[n++] = s->analysis[i].name;
	bool ok = true;
	for (size_t r = 0; r < p->nref; r++) {
		const struct ref *ref = &p->ref[r];
		ssize_t found = -1;
		for (size_t i = 0; i < s->nanalysis && found < 0; i++)
			if (s->analysis[i].name && strcmp(s->analysis[i].name, ref->name) == 0)
				found = (ssize_t)i;
		if (found < 0) {
			error_unknown(p->cfg, ref->ptr, "no analysis named", ref->name, names, false);
			ok = false;
			continue;
		}
		switch (ref->slot) {
		case REF_PRE:
			s->strategy.pre_analysis = found;
			break;
		case REF_POST:
			s->strategy.post_analysis = found;
			break;
		case REF_STRATEGY:
			s->strategy.analysis = found;
			break;
		case REF_STEP:
			p->steps[ref->step].analysis = (size_t)found;
			break;
		}
	}
	free(names);
	return ok;
}

/* The canary's steps through rollout.h; in stepWeight modes an analysis
 * replaces each pause (it runs at each weight). */
static void build_canary(struct sp *p, bool refs_ok)
{
	struct dp_strategy *st = &p->spec->strategy;
	struct strbuf err = SB_INIT;
	int r = -1;
	if (!p->steps_ok || !refs_ok)
		return;
	if (p->mode == MODE_STEPS)
		r = ro_canary_from_steps(p->steps, p->nsteps, &st->canary, &err);
	else if (p->mode == MODE_STEP_WEIGHT)
		r = ro_canary_from_step_weight(p->step_weight, p->max_weight, st->interval_ns,
					       &st->canary, &err);
	else if (p->mode == MODE_STEP_WEIGHTS)
		r = ro_canary_from_step_weights(p->weights, p->nweights, st->interval_ns,
						&st->canary, &err);
	if (r < 0) {
		cfg_error(p->cfg, "/strategy", "%s", err.buf);
	} else if (p->mode != MODE_STEPS && st->analysis >= 0) {
		for (size_t i = 0; i < st->canary.n; i++) {
			struct ro_step *s = &st->canary.step[i];
			if (s->kind == RO_STEP_PAUSE)
				*s = (struct ro_step){ .kind = RO_STEP_ANALYSIS,
						       .analysis = (size_t)st->analysis };
		}
	}
	sb_release(&err);
}

/* Instances the strategy runs at its peak, for the port range. */
static int peak_instances(struct sp *p, struct strbuf *why)
{
	const struct dp_spec *s = p->spec;
	int r = s->replicas;
	if (s->strategy.kind == DP_ROLLING) {
		int surge = 0, unavail = 0;
		if (ro_resolve_surge_unavailable(r, s->strategy.max_surge,
						 s->strategy.max_unavailable, &surge, &unavail,
						 NULL) < 0)
			return -1;
		sb_addf(why, "replicas %d + maxSurge %d", r, surge);
		return r + surge;
	}
	sb_addf(why, "2 x replicas %d: the new revision at full size beside the old", r);
	return 2 * r;
}

static void check_ports(struct sp *p)
{
	struct cfg *cfg = p->cfg;
	const struct dp_spec *s = p->spec;
	const struct dp_instances *in = &s->instances;
	if (!p->have_driver || in->driver == DP_RUN_KUBECTL)
		return;
	if (!p->ports_ptr) {
		bool routed = p->have_router &&
			      (s->traffic.driver == DP_ROUTE_HAPROXY ||
			       s->traffic.driver == DP_ROUTE_NGINX || s->traffic.driver == DP_ROUTE_EXEC);
		bool checked = in->ready.kind != DP_READY_COMMAND;
		if (routed)
			cfg_error(cfg, "/instances",
				  "missing required key 'ports' (%s traffic needs a port per instance)",
				  dp_router_name(s->traffic.driver));
		else if (checked)
			cfg_error(cfg, "/instances",
				  "missing required key 'ports' (an %s ready check needs a port per "
				  "instance)",
				  ready_names[in->ready.kind]);
		return;
	}
	if (!p->ports_given || !p->have_kind || s->replicas < 1)
		return;
	struct strbuf why = SB_INIT;
	int need = peak_instances(p, &why);
	int have = in->port_max - in->port_min + 1;
	if (need > have)
		cfg_error(cfg, p->ports_ptr,
			  "%d-%d holds %d port%s, the %s strategy needs %d (%s)", in->port_min,
			  in->port_max, have, have == 1 ? "" : "s", dp_strategy_name(s->strategy.kind),
			  need, why.buf);
	sb_release(&why);
}

static void cross_checks(struct sp *p)
{
	struct cfg *cfg = p->cfg;
	const struct dp_spec *s = p->spec;
	enum dp_router_kind rt = s->traffic.driver;
	if (p->have_router && p->have_driver) {
		bool kube = s->instances.driver == DP_RUN_KUBECTL;
		if (kube && rt != DP_ROUTE_NONE && rt != DP_ROUTE_KUBECTL)
			cfg_error(cfg, "/traffic/driver",
				  "%s traffic needs process or exec instances (kubectl instances "
				  "take kubectl or none traffic)",
				  dp_router_name(rt));
		if (!kube && rt == DP_ROUTE_KUBECTL)
			cfg_error(cfg, "/traffic/driver",
				  "kubectl traffic needs kubectl instances, got %s instances",
				  dp_runner_name(s->instances.driver));
	}
	if (p->have_router && p->have_kind) {
		enum dp_strategy_kind k = s->strategy.kind;
		if (k == DP_BLUEGREEN && rt == DP_ROUTE_NONE)
			cfg_error(cfg, "/strategy/kind",
				  "blueGreen needs a traffic driver other than none to switch "
				  "traffic");
		if (rt == DP_ROUTE_KUBECTL && k == DP_BLUEGREEN && !s->traffic.k8s_service)
			cfg_error(cfg, "/traffic",
				  "missing required key 'service' (blueGreen switches a Service's "
				  "selector)");
		if (rt == DP_ROUTE_KUBECTL && k == DP_CANARY && !s->traffic.split)
			cfg_error(cfg, "/traffic",
				  "missing required key 'trafficSplit' (a canary sets its weights)");
	}
	check_ports(p);
}

/* ---- the top ------------------------------------------------------------ */

static void walk(struct sp *p, const cJSON *root)
{
	struct cfg *cfg = p->cfg;
	struct dp_spec *s = p->spec;
	cfg_check_keys(cfg, root, "", top_keys);
	const char *str = NULL;
	if (get_name(cfg, root, "", "service", true, &str) == 1)
		s->service = xstrdup(str);
	if (get_name(cfg, root, "", "version", true, &str) == 1)
		s->version = xstrdup(str);
	if (cfg_get_text(cfg, root, "", "artifact", false, &str) == 1)
		s->artifact = xstrdup(str);
	get_int(cfg, root, "", "replicas", true, 1, 1000, &s->replicas);
	parse_instances(p, root);
	parse_traffic(p, root);
	set_service_defaults(s);
	parse_strategy(p, root);
	parse_analyses(p, root);
	bool refs_ok = resolve_refs(p);
	if (p->have_kind && s->strategy.kind == DP_CANARY)
		build_canary(p, refs_ok);
	cross_checks(p);
}

static void sp_release(struct sp *p)
{
	free(p->steps);
	free(p->weights);
	free(p->ref);
}

int dp_spec_parse(const char *name, const char *text, size_t len, struct dp_spec *spec,
		  struct strbuf *err)
{
	struct cfg cfg;
	struct strbuf scratch = SB_INIT;
	if (!err)
		err = &scratch;
	memset(spec, 0, sizeof(*spec));
	size_t before = err->len;
	if (cfg_parse_string(name, text, len, &cfg, err) < 0) {
		if (err->len > before && err->buf[err->len - 1] != '\n')
			sb_addch(err, '\n');
		cfg_free(&cfg);
		sb_release(&scratch);
		return -1;
	}
	set_defaults(spec);
	spec->file = xstrdup(name);
	spec->text = xmalloc(len + 1);
	memcpy(spec->text, text, len);
	spec->text[len] = '\0';
	spec->text_len = len;
	const cJSON *root = cfg_root_object(&cfg);
	if (root) {
		struct sp p = { .cfg = &cfg, .spec = spec };
		walk(&p, root);
		sp_release(&p);
	}
	int r = 0;
	if (cfg.nerrors) {
		sb_add(err, cfg.errors.buf, cfg.errors.len);
		dp_spec_release(spec);
		r = -1;
	}
	cfg_free(&cfg);
	sb_release(&scratch);
	return r;
}

int dp_spec_load(const char *path, struct dp_spec *spec, struct strbuf *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	memset(spec, 0, sizeof(*spec));
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			sb_addf(err, "cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	struct strbuf text = SB_INIT;
	int r = sb_read_fd(&text, fd);
	int e = errno;
	if (!is_stdin)
		close(fd);
	if (r < 0) {
		if (err)
			sb_addf(err, "cannot read '%s': %s\n", name, strerror(e));
		sb_release(&text);
		return -1;
	}
	r = dp_spec_parse(name, text.buf, text.len, spec, err);
	sb_release(&text);
	if (r == 0) {
		free(spec->file);
		spec->file = xstrdup(path);
	}
	return r;
}

static void metric_release(struct dp_metric *m)
{
	free(m->name);
	dp_cond_release(&m->success);
	dp_cond_release(&m->failure);
	free(m->url);
	free(m->json_path);
	free(m->socket);
	free(m->backend);
	cmd_release(&m->command);
}

void dp_spec_release(struct dp_spec *s)
{
	free(s->file);
	free(s->text);
	free(s->service);
	free(s->version);
	free(s->artifact);
	struct dp_instances *in = &s->instances;
	cmd_release(&in->start);
	cmd_release(&in->stop);
	free(in->host);
	free(in->ready.path);
	cmd_release(&in->ready.command);
	free(in->kubectl);
	free(in->context);
	free(in->namespace_);
	free(in->deployment);
	free(in->container);
	free(in->image);
	struct dp_traffic *t = &s->traffic;
	free(t->socket);
	free(t->backend);
	free(t->upstream);
	free(t->file);
	cmd_release(&t->test);
	cmd_release(&t->reload);
	free(t->pid_file);
	cmd_release(&t->set_weights);
	free(t->k8s_service);
	free(t->split);
	ro_canary_release(&s->strategy.canary);
	for (size_t i = 0; i < s->nanalysis; i++) {
		struct dp_analysis *a = &s->analysis[i];
		for (size_t j = 0; j < a->nmetric; j++)
			metric_release(&a->metric[j]);
		free(a->metric);
		free(a->name);
	}
	free(s->analysis);
	memset(s, 0, sizeof(*s));
}
