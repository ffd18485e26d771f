/*
 * topology.c: loading, validating and writing the shop topology (see
 * topology.h).
 *
 * Validation walks the whole file with config.h's getters and records
 * every problem with its JSON pointer before giving up, so one run shows
 * all the mistakes. The dependency graph is checked for unknown services
 * and cycles, and its order (dependencies first) is kept: `shopd start`
 * starts services in that order, and ofs-health recovers in it.
 */
#include "common.h"

#include "graph.h"
#include "state.h"
#include "suggest.h"
#include "topology.h"

static const char *const top_keys[] = { "name", "services", NULL };
static const char *const svc_keys[] = { "depends_on", "instances", "check", "start",
					"stop",	      "restart",   NULL };
static const char *const inst_keys[] = { "id", "host", "port", NULL };
static const char *const check_keys[] = { "kind", "path", "timeout", "command", NULL };
static const char *const check_kinds[] = { "http", "tcp", "exec", NULL };
static const char *const hook_keys[] = { "start", "stop", "restart", NULL };

/* Names become file names (pid files, logs, stores): keep them plain. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void check_name(struct cfg *cfg, const char *ptr, const char *what, const char *name)
{
	if (!valid_name(name))
		cfg_error(cfg, ptr,
			  "invalid %s '%s': use 1 to 64 letters, digits, '.', '_' or '-', "
			  "not starting with '.' or '-'",
			  what, name);
}

/* A hook: a non-empty argv array of strings, or a non-empty shell string. */
static void check_hook(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return;
	const char *hptr = cfg_ptr_key(cfg, ptr, key);
	if (cJSON_IsString(v)) {
		if (!*v->valuestring)
			cfg_error(cfg, hptr, "must not be empty");
		return;
	}
	if (!cJSON_IsArray(v)) {
		cfg_error(cfg, hptr, "must be an argv array or a shell command string, got %s",
			  cfg_type_name(v));
		return;
	}
	if (cJSON_GetArraySize(v) == 0) {
		cfg_error(cfg, hptr, "must not be empty");
		return;
	}
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach (e, v) {
		const char *s = NULL;
		const char *eptr = cfg_ptr_index(cfg, hptr, i);
		if (cfg_get_string(cfg, e, eptr, NULL, true, &s) == 1 && i == 0 && !*s)
			cfg_error(cfg, eptr, "the program name must not be empty");
		i++;
	}
}

static void load_check(struct cfg *cfg, struct shop_service *svc, const cJSON *obj,
		       const char *sptr)
{
	svc->check_kind = "http";
	svc->check_path = "/health";
	svc->check_timeout_ns = 1000000000;
	cJSON *check = NULL;
	if (cfg_get_object(cfg, obj, sptr, "check", false, &check) != 1)
		return;
	const char *cptr = cfg_ptr_key(cfg, sptr, "check");
	cfg_check_keys(cfg, check, cptr, check_keys);
	int kind = 0;
	if (cfg_get_enum(cfg, check, cptr, "kind", true, check_kinds, &kind) == 1)
		svc->check_kind = check_kinds[kind];
	if (cfg_get_string(cfg, check, cptr, "path", false, &svc->check_path) == 1 &&
	    svc->check_path[0] != '/')
		cfg_error(cfg, cfg_ptr_key(cfg, cptr, "path"), "must start with '/', got '%s'",
			  svc->check_path);
	int64_t ns = 0;
	if (cfg_get_duration(cfg, check, cptr, "timeout", false, &ns) == 1) {
		if (ns <= 0)
			cfg_error(cfg, cfg_ptr_key(cfg, cptr, "timeout"), "must be more than 0");
		else
			svc->check_timeout_ns = ns;
	}
	check_hook(cfg, check, cptr, "command");
	if (kind == 2 && !cJSON_GetObjectItemCaseSensitive(check, "command"))
		cfg_error(cfg, cptr, "an exec check needs a \"command\"");
}

static void load_instances(struct shop_topo *t, struct shop_service *svc, const cJSON *obj,
			   const char *sptr)
{
	struct cfg *cfg = &t->cfg;
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, obj, sptr, "instances", true, &arr) != 1)
		return;
	const char *aptr = cfg_ptr_key(cfg, sptr, "instances");
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		cfg_error(cfg, aptr, "must list at least one instance");
		return;
	}
	svc->instances = xcalloc(n, sizeof(*svc->instances));
	size_t i = 0;
	cJSON *e;
	cJSON_ArrayForEach (e, arr) {
		const char *iptr = cfg_ptr_index(cfg, aptr, i++);
		cJSON *io = NULL;
		if (cfg_get_object(cfg, e, iptr, NULL, true, &io) != 1)
			continue;
		cfg_check_keys(cfg, io, iptr, inst_keys);
		struct shop_instance *in = &svc->instances[svc->ninstances];
		in->service = svc;
		in->node = io;
		int64_t port = 0;
		int ok = cfg_get_string(cfg, io, iptr, "id", true, &in->id) == 1;
		ok &= cfg_get_string(cfg, io, iptr, "host", true, &in->host) == 1;
		ok &= cfg_get_int(cfg, io, iptr, "port", true, 0, 65535, &port) == 1;
		if (!ok)
			continue;
		in->port = (int)port;
		if (!*in->host)
			cfg_error(cfg, cfg_ptr_key(cfg, iptr, "host"), "must not be empty");
		check_name(cfg, cfg_ptr_key(cfg, iptr, "id"), "instance id", in->id);
		if (shop_topo_instance(t, in->id))
			cfg_error(cfg, cfg_ptr_key(cfg, iptr, "id"), "duplicate instance id '%s'",
				  in->id);
		svc->ninstances++;
	}
}

static void load_services(struct shop_topo *t, const cJSON *svcs, const char *const *roles)
{
	struct cfg *cfg = &t->cfg;
	size_t n = (size_t)cJSON_GetArraySize(svcs);
	if (n == 0) {
		cfg_error(cfg, "/services", "must name at least one service");
		return;
	}
	t->services = xcalloc(n, sizeof(*t->services));
	const cJSON *s;
	cJSON_ArrayForEach (s, svcs) {
		const char *sptr = cfg_ptr_key(cfg, "/services", s->string);
		if (shop_topo_service(t, s->string)) {
			cfg_error(cfg, sptr, "duplicate service '%s'", s->string);
			continue;
		}
		check_name(cfg, sptr, "service name", s->string);
		if (roles) {
			size_t k = 0;
			while (roles[k] && strcmp(roles[k], s->string))
				k++;
			if (!roles[k]) {
				struct strbuf list = SB_INIT;
				for (k = 0; roles[k]; k++)
					sb_addf(&list, "%s%s", k ? ", " : "", roles[k]);
				cfg_error(cfg, sptr, "unknown service '%s'; shopd serves %s",
					  s->string, list.buf);
				sb_release(&list);
			}
		}
		cJSON *obj = NULL;
		if (cfg_get_object(cfg, s, sptr, NULL, true, &obj) != 1)
			continue;
		struct shop_service *svc = &t->services[t->nservices];
		svc->name = s->string;
		svc->index = t->nservices++;
		svc->node = obj;
		cfg_check_keys(cfg, obj, sptr, svc_keys);
		load_instances(t, svc, obj, sptr);
		load_check(cfg, svc, obj, sptr);
		for (size_t k = 0; hook_keys[k]; k++)
			check_hook(cfg, obj, sptr, hook_keys[k]);
	}
}

/* depends_on needs every service known first; then the graph's order. */
static void load_dependencies(struct shop_topo *t)
{
	struct cfg *cfg = &t->cfg;
	const char **names = xcalloc(t->nservices + 1, sizeof(*names));
	for (size_t i = 0; i < t->nservices; i++)
		names[i] = t->services[i].name;
	struct graph *g = graph_new();
	for (size_t i = 0; i < t->nservices; i++)
		graph_add_node(g, t->services[i].name);
	for (size_t i = 0; i < t->nservices; i++) {
		struct shop_service *svc = &t->services[i];
		const char *sptr = cfg_ptr_key(cfg, "/services", svc->name);
		cJSON *deps = NULL;
		if (cfg_get_array(cfg, svc->node, sptr, "depends_on", false, &deps) != 1)
			continue;
		const char *dptr = cfg_ptr_key(cfg, sptr, "depends_on");
		svc->depends_on = xcalloc((size_t)cJSON_GetArraySize(deps) + 1, sizeof(char *));
		size_t k = 0;
		cJSON *d;
		cJSON_ArrayForEach (d, deps) {
			const char *eptr = cfg_ptr_index(cfg, dptr, k++);
			const char *name = NULL;
			if (cfg_get_string(cfg, d, eptr, NULL, true, &name) != 1)
				continue;
			if (!shop_topo_service(t, name)) {
				const char *near = suggest_closest(name, names, t->nservices);
				if (near)
					cfg_error(cfg, eptr,
						  "unknown service '%s'; did you mean '%s'?", name,
						  near);
				else
					cfg_error(cfg, eptr, "unknown service '%s'", name);
				continue;
			}
			svc->depends_on[svc->ndeps++] = name;
			graph_add_edge(g, svc->name, name, NULL, 1);
		}
	}
	struct strbuf err = SB_INIT;
	t->start_order = xcalloc(t->nservices ? t->nservices : 1, sizeof(size_t));
	if (graph_reverse_topo(g, t->start_order, &err) < 0)
		cfg_error(cfg, "/services", "%s", err.buf);
	sb_release(&err);
	graph_free(g, NULL);
	free(names);
}

int shop_topo_load(struct shop_topo *t, const char *path, const char *const *roles,
		   struct strbuf *err)
{
	memset(t, 0, sizeof(*t));
	if (cfg_load(path, &t->cfg, err) < 0) {
		shop_topo_free(t);
		return -1;
	}
	struct cfg *cfg = &t->cfg;
	cJSON *root = cfg_root_object(cfg);
	if (root) {
		cfg_check_keys(cfg, root, "", top_keys);
		cfg_get_string(cfg, root, "", "name", true, &t->name);
		cJSON *svcs = NULL;
		if (cfg_get_object(cfg, root, "", "services", true, &svcs) == 1) {
			load_services(t, svcs, roles);
			load_dependencies(t);
		}
	}
	if (cfg->nerrors) {
		sb_add(err, cfg->errors.buf, cfg->errors.len);
		shop_topo_free(t);
		return -1;
	}
	return 0;
}

void shop_topo_free(struct shop_topo *t)
{
	for (size_t i = 0; i < t->nservices; i++) {
		free(t->services[i].instances);
		free(t->services[i].depends_on);
	}
	free(t->services);
	free(t->start_order);
	cfg_free(&t->cfg);
	memset(t, 0, sizeof(*t));
}

struct shop_service *shop_topo_service(const struct shop_topo *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (!strcmp(t->services[i].name, name))
			return &t->services[i];
	return NULL;
}

struct shop_instance *shop_topo_instance(const struct shop_topo *t, const char *id)
{
	for (size_t i = 0; i < t->nservices; i++)
		for (size_t j = 0; j < t->services[i].ninstances; j++)
			if (!strcmp(t->services[i].instances[j].id, id))
				return &t->services[i].instances[j];
	return NULL;
}

void shop_topo_set_port(struct shop_instance *in, int port)
{
	in->port = port;
	cJSON *p = cJSON_GetObjectItemCaseSensitive(in->node, "port");
	if (p)
		cJSON_SetNumberValue(p, port);
}

void shop_instance_url(const struct shop_instance *in, struct strbuf *sb)
{
	if (strchr(in->host, ':'))
		sb_addf(sb, "http://[%s]:%d", in->host, in->port);
	else
		sb_addf(sb, "http://%s:%d", in->host, in->port);
}

/* s with every "{dir}" and "{shopd}" replaced; everything else verbatim. */
static char *substitute(const char *s, const char *dir, const char *shopd)
{
	struct strbuf sb = SB_INIT;
	while (*s) {
		if (!strncmp(s, "{dir}", 5)) {
			sb_addstr(&sb, dir);
			s += 5;
		} else if (!strncmp(s, "{shopd}", 7)) {
			sb_addstr(&sb, shopd);
			s += 7;
		} else {
			sb_addch(&sb, *s++);
		}
	}
	return sb_detach(&sb, NULL);
}

static void substitute_hook(cJSON *hook, const char *dir, const char *shopd)
{
	if (!cJSON_IsArray(hook))
		return;
	int n = cJSON_GetArraySize(hook);
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_GetArrayItem(hook, i);
		if (!cJSON_IsString(e))
			continue;
		char *v = substitute(e->valuestring, dir, shopd);
		cJSON_ReplaceItemInArray(hook, i, cJSON_CreateString(v));
		free(v);
	}
}

int shop_topo_write_runtime(const struct shop_topo *t, const char *path, const char *dir,
			    const char *shopd, struct strbuf *err)
{
	cJSON *copy = cJSON_Duplicate(t->cfg.root, true);
	if (!copy)
		die("out of memory");
	cJSON *svcs = cJSON_GetObjectItemCaseSensitive(copy, "services");
	cJSON *s;
	cJSON_ArrayForEach (s, svcs) {
		for (size_t k = 0; hook_keys[k]; k++)
			substitute_hook(cJSON_GetObjectItemCaseSensitive(s, hook_keys[k]), dir,
					shopd);
		cJSON *check = cJSON_GetObjectItemCaseSensitive(s, "check");
		if (check)
			substitute_hook(cJSON_GetObjectItemCaseSensitive(check, "command"), dir,
					shopd);
	}
	char *text = cJSON_Print(copy);
	cJSON_Delete(copy);
	if (!text)
		die("out of memory");
	struct strbuf sb = SB_INIT;
	sb_addstr(&sb, text);
	sb_addch(&sb, '\n');
	cJSON_free(text);
	int r = state_write_atomic(path, sb.buf, sb.len, 0600, err);
	sb_release(&sb);
	return r;
}
