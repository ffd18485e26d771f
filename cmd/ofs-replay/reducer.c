/*
 * reducer.c: the operations of event sourcing (set, merge patch,
 * increment, append, delete, ignore) over cJSON state trees, and the
 * loader of reducer specs that map event types to them (reducer.h).
 *
 * The fold calls red_apply once per event, so operands are moved out of
 * the event tree instead of copied, and target paths are split into
 * tokens once, when the spec is loaded.
 */
#include "common.h"

#include "alloc.h"
#include "reducer.h"

static const char *const op_names[] = { "set", "merge", "increment", "append", "delete",
					"ignore", NULL };

const char *red_op_name(enum red_op op)
{
	return op_names[op];
}

void red_path_free(struct red_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	p->tok = NULL;
	p->n = 0;
}

int red_path_parse(const char *s, struct red_path *p, struct strbuf *err)
{
	size_t alloc = 0;
	p->tok = NULL;
	p->n = 0;
	if (!*s)
		return 0;
	if (*s != '/') {
		sb_addf(err, "must be a JSON pointer starting with '/' (or \"\"), got \"%.40s\"", s);
		return -1;
	}
	while (*s == '/') {
		s++;
		struct strbuf t = SB_INIT;
		for (; *s && *s != '/'; s++) {
			if (*s == '~') {
				if (s[1] != '0' && s[1] != '1') {
					sb_addstr(err, "'~' must be followed by 0 or 1 in a JSON pointer");
					sb_release(&t);
					red_path_free(p);
					return -1;
				}
				sb_addch(&t, s[1] == '0' ? '~' : '/');
				s++;
			} else {
				sb_addch(&t, *s);
			}
		}
		ALLOC_GROW(p->tok, p->n + 1, alloc);
		p->tok[p->n++] = t.len ? sb_detach(&t, NULL) : xstrdup("");
	}
	return 0;
}

static void free_rule(void *v)
{
	struct red_rule *r = v;
	if (r) {
		red_rule_release(r);
		free(r);
	}
}

void red_rule_release(struct red_rule *rule)
{
	red_path_free(&rule->path);
	red_path_free(&rule->from);
}

void reducer_free(struct reducer *r)
{
	ht_free(r->rules, free_rule);
	r->rules = NULL;
}

static const char *const rule_keys[] = { "op", "path", "from", "by", NULL };

static void load_path(struct cfg *cfg, const cJSON *o, const char *ptr, const char *key,
		      struct red_path *out, bool *present)
{
	const char *s;
	if (cfg_get_string(cfg, o, ptr, key, false, &s) != 1)
		return;
	struct strbuf why = SB_INIT;
	if (red_path_parse(s, out, &why) < 0)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "%s", why.buf);
	else if (present)
		*present = true;
	sb_release(&why);
}

static void load_rule(struct cfg *cfg, const cJSON *o, const char *ptr, struct red_rule *rule)
{
	int op = -1;
	int before = cfg->nerrors;
	if (!cJSON_IsObject(o)) {
		cfg_error(cfg, ptr, "must be an object {\"op\": ...}, got %s", cfg_type_name(o));
		return;
	}
	cfg_check_keys(cfg, o, ptr, rule_keys);
	bool op_ok = cfg_get_enum(cfg, o, ptr, "op", true, op_names, &op) == 1;
	rule->op = op_ok ? (enum red_op)op : RED_SET;
	bool has_path = false;
	load_path(cfg, o, ptr, "path", &rule->path, &has_path);
	load_path(cfg, o, ptr, "from", &rule->from, &rule->has_from);
	bool has_by = cJSON_GetObjectItemCaseSensitive(o, "by") != NULL;
	rule->by = 1;
	if (has_by && cfg_get_number(cfg, o, ptr, "by", false, -1e300, 1e300, &rule->by) == 1 &&
	    op_ok && rule->op != RED_INCREMENT)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "by"), "only increment takes 'by'");
	if (cfg->nerrors != before)
		return;
	switch (rule->op) {
	case RED_INCREMENT:
		if (has_by && rule->has_from)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "by"), "give 'by' or 'from', not both");
		/* fall through */
	case RED_APPEND:
		if (!rule->path.n)
			cfg_error(cfg, ptr, "%s needs a 'path' naming a field",
				  red_op_name(rule->op));
		break;
	case RED_DELETE:
	case RED_IGNORE:
		if (rule->has_from)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "from"), "%s takes no operand",
				  red_op_name(rule->op));
		if (rule->op == RED_IGNORE && has_path)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "path"), "ignore takes no path");
		break;
	default:
		break;
	}
	if (rule->op != RED_INCREMENT && rule->op != RED_DELETE && rule->op != RED_IGNORE &&
	    !rule->has_from) {
		struct strbuf why = SB_INIT;
		red_path_parse("/data", &rule->from, &why);
		rule->has_from = true;
		sb_release(&why);
	}
}

int reducer_from_json(const cJSON *root, const char *file, struct reducer *r, struct strbuf *err)
{
	struct cfg cfg;
	cfg_init(&cfg, file);
	r->rules = ht_new();
	if (!cJSON_IsObject(root)) {
		cfg_error(&cfg, NULL, "the top level must be an object mapping event types to rules, got %s",
			  cfg_type_name(root));
	} else {
		if (!root->child)
			cfg_error(&cfg, NULL, "no rules: map at least one event type to an operation");
		for (const cJSON *e = root->child; e; e = e->next) {
			const char *ptr = cfg_ptr_key(&cfg, NULL, e->string);
			if (!*e->string) {
				cfg_error(&cfg, ptr, "the event type must not be empty");
				continue;
			}
			if (ht_has(r->rules, e->string)) {
				cfg_error(&cfg, ptr, "duplicate event type '%s'", e->string);
				continue;
			}
			struct red_rule *rule = xcalloc(1, sizeof(*rule));
			load_rule(&cfg, e, ptr, rule);
			ht_put(r->rules, e->string, rule);
		}
	}
	int rc = 0;
	if (cfg.nerrors) {
		sb_add(err, cfg.errors.buf, cfg.errors.len);
		reducer_free(r);
		r->rules = ht_new();
		rc = -1;
	}
	cfg_free(&cfg);
	return rc;
}

int reducer_load(const char *path, struct reducer *r, struct strbuf *err)
{
	struct cfg cfg;
	r->rules = NULL;
	if (cfg_load(path, &cfg, err) < 0) {
		cfg_free(&cfg);
		if (err->len && err->buf[err->len - 1] != '\n')
			sb_addch(err, '\n');
		r->rules = ht_new();
		return -1;
	}
	int rc = reducer_from_json(cfg.root, cfg.file, r, err);
	cfg_free(&cfg);
	return rc;
}

const struct red_rule *reducer_find(const struct reducer *r, const char *type, size_t len)
{
	return r->rules ? ht_get_b(r->rules, type, len) : NULL;
}

int red_rule_from_event(const cJSON *ev, struct red_rule *rule, struct strbuf *err)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(ev, "op");
	memset(rule, 0, sizeof(*rule));
	rule->by = 1;
	if (!op)
		return 0;
	int k = -1;
	if (cJSON_IsString(op))
		for (int i = 0; op_names[i]; i++)
			if (!strcmp(op_names[i], op->valuestring))
				k = i;
	if (k < 0) {
		sb_addstr(err, "'op' must be one of set, merge, increment, append, delete, ignore");
		return -1;
	}
	rule->op = (enum red_op)k;
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(ev, "path");
	if (path) {
		if (!cJSON_IsString(path)) {
			sb_addstr(err, "'path' must be a JSON pointer string");
			return -1;
		}
		struct strbuf why = SB_INIT;
		if (red_path_parse(path->valuestring, &rule->path, &why) < 0) {
			sb_addf(err, "'path' %s", why.buf);
			sb_release(&why);
			return -1;
		}
	}
	if ((rule->op == RED_INCREMENT || rule->op == RED_APPEND) && !rule->path.n) {
		sb_addf(err, "%s needs a 'path' naming a field", red_op_name(rule->op));
		red_rule_release(rule);
		return -1;
	}
	if (rule->op != RED_DELETE && rule->op != RED_IGNORE &&
	    (rule->op != RED_INCREMENT || cJSON_GetObjectItemCaseSensitive(ev, "data"))) {
		rule->from.tok = xcalloc(1, sizeof(char *));
		rule->from.tok[0] = xstrdup("data");
		rule->from.n = 1;
		rule->has_from = true;
	}
	return 1;
}

/* The member or element tok of node, or NULL. */
static cJSON *child(cJSON *node, const char *tok)
{
	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, tok);
	if (cJSON_IsArray(node)) {
		size_t n = strlen(tok);
		if (!n || n > 9 || (n > 1 && tok[0] == '0') || strspn(tok, "0123456789") != n)
			return NULL;
		return cJSON_GetArrayItem(node, (int)strtol(tok, NULL, 10));
	}
	return NULL;
}

/* Detach the operand at p from ev (moved, not copied). */
static cJSON *take(cJSON *ev, const struct red_path *p)
{
	cJSON *parent = NULL, *node = ev;
	for (size_t i = 0; i < p->n && node; i++) {
		parent = node;
		node = child(node, p->tok[i]);
	}
	if (!node || !parent)
		return node && !parent ? cJSON_Duplicate(node, true) : NULL;
	return cJSON_DetachItemViaPointer(parent, node);
}

static void add_path(struct strbuf *sb, const struct red_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		cfg_ptr_append(sb, p->tok[i]);
}

/*
 * The parent object of path's last token in *root, creating objects on
 * the way when create; NULL with a reason in err otherwise.
 */
static cJSON *parent_of(cJSON *root, const struct red_path *p, bool create, struct strbuf *err)
{
	cJSON *node = root;
	for (size_t i = 0; i + 1 < p->n; i++) {
		cJSON *c = child(node, p->tok[i]);
		if (!c) {
			if (!create || !cJSON_IsObject(node))
				goto bad;
			c = cJSON_AddObjectToObject(node, p->tok[i]);
		}
		node = c;
	}
	if (cJSON_IsObject(node))
		return node;
bad:
	sb_addstr(err, "cannot reach ");
	add_path(err, p);
	sb_addstr(err, " in the state: not an object on the way");
	return NULL;
}

/* Store v (owned) as member key of parent, in place of any old value. */
static void put(cJSON *parent, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(parent, key))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v);
	else
		cJSON_AddItemToObject(parent, key, v);
}

cJSON *red_merge_patch(cJSON *target, cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return patch;
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	cJSON *m;
	while ((m = patch->child)) {
		cJSON_DetachItemViaPointer(patch, m);
		char *key = xstrdup(m->string ? m->string : "");
		cJSON *old = cJSON_GetObjectItemCaseSensitive(target, key);
		if (cJSON_IsNull(m)) {
			if (old)
				cJSON_DeleteItemFromObjectCaseSensitive(target, key);
			cJSON_Delete(m);
		} else if (old && cJSON_IsObject(old) && cJSON_IsObject(m)) {
			red_merge_patch(old, m); /* in place: keeps the member's position */
		} else {
			cJSON *v = red_merge_patch(NULL, m);
			if (old)
				cJSON_ReplaceItemInObjectCaseSensitive(target, key, v);
			else
				cJSON_AddItemToObject(target, key, v);
		}
		free(key);
	}
	cJSON_Delete(patch);
	return target;
}

int red_apply(const struct red_rule *rule, cJSON **state, cJSON *ev, bool *deleted,
	      struct strbuf *err)
{
	const struct red_path *p = &rule->path;
	*deleted = false;
	if (rule->op == RED_IGNORE)
		return 0;
	if (rule->op == RED_DELETE && !p->n) {
		cJSON_Delete(*state);
		*state = NULL;
		*deleted = true;
		return 0;
	}
	cJSON *operand = NULL;
	double by = rule->by;
	if (rule->has_from) {
		operand = take(ev, &rule->from);
		if (!operand) {
			sb_addstr(err, "no operand at ");
			add_path(err, &rule->from);
			return -1;
		}
		if (rule->op == RED_INCREMENT) {
			if (!cJSON_IsNumber(operand)) {
				sb_addstr(err, "increment operand at ");
				add_path(err, &rule->from);
				sb_addstr(err, " is not a number");
				cJSON_Delete(operand);
				return -1;
			}
			by = operand->valuedouble;
			cJSON_Delete(operand);
			operand = NULL;
		}
	}
	if (!*state)
		*state = cJSON_CreateObject();
	if (!p->n) { /* set or merge of the whole state */
		*state = rule->op == RED_SET ? (cJSON_Delete(*state), operand)
					     : red_merge_patch(*state, operand);
		return 0;
	}
	cJSON *parent = parent_of(*state, p, rule->op != RED_DELETE, err);
	if (!parent) {
		if (rule->op == RED_DELETE)
			return sb_reset(err), 0; /* nothing there to delete */
		cJSON_Delete(operand);
		return -1;
	}
	const char *key = p->tok[p->n - 1];
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(parent, key);
	switch (rule->op) {
	case RED_SET:
		put(parent, key, operand);
		break;
	case RED_MERGE:
		if (cur && cJSON_IsObject(cur) && cJSON_IsObject(operand))
			red_merge_patch(cur, operand); /* in place */
		else
			put(parent, key, red_merge_patch(NULL, operand));
		break;
	case RED_INCREMENT:
		if (!cur) {
			cJSON_AddNumberToObject(parent, key, by);
		} else if (!cJSON_IsNumber(cur)) {
			add_path(err, p);
			sb_addstr(err, " is not a number");
			return -1;
		} else {
			cJSON_SetNumberHelper(cur, cur->valuedouble + by);
		}
		break;
	case RED_APPEND:
		if (!cur) {
			cur = cJSON_AddArrayToObject(parent, key);
		} else if (!cJSON_IsArray(cur)) {
			add_path(err, p);
			sb_addstr(err, " is not an array");
			cJSON_Delete(operand);
			return -1;
		}
		cJSON_AddItemToArray(cur, operand);
		break;
	case RED_DELETE:
		cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		break;
	default:
		break;
	}
	return 0;
}
