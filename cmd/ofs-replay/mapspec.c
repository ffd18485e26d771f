/*
 * mapspec.c: loading, validating and reversing map specs (mapspec.h).
 *
 * Validation goes through libcommon's config getters so that messages
 * name the file and the JSON pointer and every problem is reported in
 * one run. A rule is an object with exactly one operation member; its
 * other members are checked against that operation's list, so a typo
 * ("too" for "to") is caught rather than ignored.
 */
#include "common.h"

#include <math.h>

#include "mapspec.h"

static const char *const op_names[] = { "rename", "move", "convert", "compute", "default",
					"enum",	  "drop", "keep",    NULL };
static const char *const type_names[] = { "string",   "number",   "boolean",
					  "cents",    "decimal",  "epoch_s",
					  "epoch_ms", "epoch_us", "rfc3339", NULL };

const char *mr_op_name(enum mr_op op) { return op_names[op]; }
const char *mr_type_name(enum mr_type t) { return type_names[t]; }

/* The members each operation allows besides its own name. */
static const char *const *op_keys(enum mr_op op)
{
	static const char *const rename_k[] = { "rename", "to", NULL };
	static const char *const move_k[] = { "move", "to", NULL };
	static const char *const convert_k[] = { "convert", "from", "to", "scale", NULL };
	static const char *const compute_k[] = { "compute", "template", NULL };
	static const char *const default_k[] = { "default", "value", NULL };
	static const char *const enum_k[] = { "enum", "values", NULL };
	static const char *const drop_k[] = { "drop", NULL };
	static const char *const keep_k[] = { "keep", NULL };
	static const char *const *const all[] = { rename_k,  move_k, convert_k, compute_k,
						  default_k, enum_k, drop_k,    keep_k };
	return all[op];
}

/* Is from -> into a conversion map supports? */
static bool convertible(enum mr_type from, enum mr_type into)
{
	bool epoch_f = from >= MT_EPOCH_S && from <= MT_EPOCH_US;
	bool epoch_i = into >= MT_EPOCH_S && into <= MT_EPOCH_US;
	return (from == MT_STRING && (into == MT_NUMBER || into == MT_BOOLEAN)) ||
	       (into == MT_STRING && (from == MT_NUMBER || from == MT_BOOLEAN)) ||
	       (from == MT_CENTS && into == MT_DECIMAL) || (from == MT_DECIMAL && into == MT_CENTS) ||
	       (epoch_f && into == MT_RFC3339) || (from == MT_RFC3339 && epoch_i);
}

/* A pointer member: valid, and not the whole record. */
static int get_ptr(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   struct vptr *out)
{
	const char *s;
	int rc = cfg_get_string(cfg, obj, ptr, key, true, &s);
	if (rc <= 0)
		return -1;
	const char *at = cfg_ptr_key(cfg, ptr, key);
	struct strbuf err = SB_INIT;
	if (vptr_parse(out, s, &err) < 0) {
		cfg_error(cfg, at, "%s", err.buf);
		sb_release(&err);
		return -1;
	}
	sb_release(&err);
	if (!out->n) {
		cfg_error(cfg, at, "must point to a field, not to the whole record");
		vptr_free(out);
		return -1;
	}
	return 0;
}

static bool is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsNull(v);
}

/* Short JSON text of v for messages (owned by the caller). */
static char *show(const cJSON *v)
{
	char *t = cJSON_PrintUnformatted(v);
	if (!t)
		return xstrdup("?");
	if (strlen(t) > 40) {
		t[37] = '.';
		t[38] = '.';
		t[39] = '.';
		t[40] = '\0';
	}
	return t;
}

/* Does pointer a equal b or lie below it? */
static bool ptr_within(const struct vptr *a, const struct vptr *b)
{
	if (a->n < b->n)
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (a->lens[i] != b->lens[i] || memcmp(a->segs[i], b->segs[i], a->lens[i]))
			return false;
	return true;
}

static int parse_template(struct cfg *cfg, const char *at, const char *t, struct mr_rule *r)
{
	const char *p = t;
	while (*p) {
		const char *open = strstr(p, "${");
		size_t lit = open ? (size_t)(open - p) : strlen(p);
		if (lit) {
			r->pieces = xreallocarray(r->pieces, r->npieces + 1, sizeof(*r->pieces));
			memset(&r->pieces[r->npieces], 0, sizeof(*r->pieces));
			r->pieces[r->npieces++].text = xstrndup(p, lit);
		}
		if (!open)
			break;
		const char *close = strchr(open + 2, '}');
		if (!close) {
			cfg_error(cfg, at, "'${' at offset %zu is not closed by '}'", (size_t)(open - t));
			return -1;
		}
		char *ref = xstrndup(open + 2, (size_t)(close - open - 2));
		struct vptr vp;
		struct strbuf err = SB_INIT;
		int rc = vptr_parse(&vp, ref, &err);
		if (rc == 0 && !vp.n) {
			vptr_free(&vp);
			sb_addstr(&err, "'${}' names no field");
			rc = -1;
		}
		free(ref);
		if (rc < 0) {
			cfg_error(cfg, at, "%s", err.buf);
			sb_release(&err);
			return -1;
		}
		r->pieces = xreallocarray(r->pieces, r->npieces + 1, sizeof(*r->pieces));
		memset(&r->pieces[r->npieces], 0, sizeof(*r->pieces));
		r->pieces[r->npieces++].ptr = vp;
		p = close + 1;
	}
	return 0;
}

static int parse_enum(struct cfg *cfg, const cJSON *rule, const char *ptr, struct mr_rule *r)
{
	cJSON *values;
	if (cfg_get_array(cfg, rule, ptr, "values", true, &values) <= 0)
		return -1;
	const char *vptr = cfg_ptr_key(cfg, ptr, "values");
	int n = cJSON_GetArraySize(values), bad = 0;
	if (!n) {
		cfg_error(cfg, vptr, "must not be empty");
		return -1;
	}
	r->pair_from = xcalloc((size_t)n, sizeof(cJSON *));
	r->pair_to = xcalloc((size_t)n, sizeof(cJSON *));
	int i = 0;
	for (const cJSON *pair = values->child; pair; pair = pair->next, i++) {
		const char *pp = cfg_ptr_index(cfg, vptr, (size_t)i);
		if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2) {
			cfg_error(cfg, pp, "must be a pair [from, to]");
			bad++;
			continue;
		}
		const cJSON *from = pair->child, *to = pair->child->next;
		bool ok = true;
		for (int k = 0; k < 2; k++) {
			const cJSON *x = k ? to : from;
			if (!is_scalar(x)) {
				cfg_error(cfg, cfg_ptr_index(cfg, pp, (size_t)k),
					  "must be a string, number, boolean or null, got %s",
					  cfg_type_name(x));
				ok = false;
			}
		}
		for (size_t j = 0; ok && j < r->npairs; j++) {
			if (cJSON_Compare(r->pair_from[j], from, true)) {
				char *s = show(from);
				cfg_error(cfg, cfg_ptr_index(cfg, pp, 0), "%s is mapped twice", s);
				free(s);
				ok = false;
			}
		}
		if (!ok) {
			bad++;
			continue;
		}
		r->pair_from[r->npairs] = cJSON_Duplicate(from, true);
		r->pair_to[r->npairs] = cJSON_Duplicate(to, true);
		r->npairs++;
	}
	return bad ? -1 : 0;
}

static void rule_free(struct mr_rule *r)
{
	free(r->where);
	vptr_free(&r->path);
	vptr_free(&r->to);
	for (size_t i = 0; i < r->npieces; i++) {
		free(r->pieces[i].text);
		vptr_free(&r->pieces[i].ptr);
	}
	free(r->pieces);
	cJSON_Delete(r->value);
	for (size_t i = 0; i < r->npairs; i++) {
		cJSON_Delete(r->pair_from[i]);
		cJSON_Delete(r->pair_to[i]);
	}
	free(r->pair_from);
	free(r->pair_to);
	memset(r, 0, sizeof(*r));
}

/* Build rename's target: path's parent plus name. */
static void rename_target(struct mr_rule *r, const char *name)
{
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i + 1 < r->path.n; i++)
		cfg_ptr_append(&sb, r->path.segs[i]);
	cfg_ptr_append(&sb, name);
	if (vptr_parse(&r->to, sb.buf, NULL) < 0)
		abort(); /* built escaped: cannot fail */
	sb_release(&sb);
}

static int parse_rule(struct cfg *cfg, const cJSON *rule, const char *ptr, struct mr_rule *r)
{
	if (!cJSON_IsObject(rule)) {
		cfg_error(cfg, ptr, "must be an object, got %s", cfg_type_name(rule));
		return -1;
	}
	int op = -1;
	for (int i = 0; op_names[i]; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(rule, op_names[i]))
			continue;
		if (op >= 0) {
			cfg_error(cfg, ptr, "two operations, '%s' and '%s': a rule does one thing",
				  op_names[op], op_names[i]);
			return -1;
		}
		op = i;
	}
	if (op < 0) {
		cfg_error(cfg, ptr,
			  "no operation: a rule needs one of rename, move, convert, compute, default, enum, drop, keep");
		return -1;
	}
	r->op = (enum mr_op)op;
	r->where = xstrdup(ptr);
	int bad = cfg_check_keys(cfg, rule, ptr, op_keys(r->op));
	if (get_ptr(cfg, rule, ptr, op_names[op], &r->path) < 0)
		return -1;
	const char *s;
	switch (r->op) {
	case MR_RENAME:
		if (cfg_get_text(cfg, rule, ptr, "to", true, &s) <= 0)
			return -1;
		if (s[0] == '/') {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "to"),
				  "rename takes a member name, not a pointer: use move for '%s'", s);
			return -1;
		}
		rename_target(r, s);
		if (!strcmp(r->to.text, r->path.text)) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "to"), "'%s' is already called '%s'",
				  r->path.text, s);
			return -1;
		}
		break;
	case MR_MOVE:
		if (get_ptr(cfg, rule, ptr, "to", &r->to) < 0)
			return -1;
		if (ptr_within(&r->to, &r->path) || ptr_within(&r->path, &r->to)) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "to"),
				  "'%s' and '%s' overlap: a field cannot move into itself or its parent",
				  r->path.text, r->to.text);
			return -1;
		}
		break;
	case MR_CONVERT: {
		int from, into;
		int a = cfg_get_enum(cfg, rule, ptr, "from", true, type_names, &from);
		int b = cfg_get_enum(cfg, rule, ptr, "to", true, type_names, &into);
		if (a <= 0 || b <= 0)
			return -1;
		r->from = (enum mr_type)from;
		r->into = (enum mr_type)into;
		if (!convertible(r->from, r->into)) {
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "to"), "cannot convert %s to %s",
				  type_names[from], type_names[into]);
			return -1;
		}
		r->scale = 100;
		if (cJSON_GetObjectItemCaseSensitive(rule, "scale")) {
			if (r->from != MT_CENTS && r->from != MT_DECIMAL) {
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "scale"),
					  "only cents and decimal have a scale");
				return -1;
			}
			if (cfg_get_number(cfg, rule, ptr, "scale", false, -INFINITY, INFINITY,
					   &r->scale) < 0)
				return -1;
			if (!(r->scale > 0)) {
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "scale"),
					  "must be greater than 0, got %g", r->scale);
				return -1;
			}
		}
		break;
	}
	case MR_COMPUTE:
		if (cfg_get_text(cfg, rule, ptr, "template", true, &s) <= 0)
			return -1;
		if (parse_template(cfg, cfg_ptr_key(cfg, ptr, "template"), s, r) < 0)
			return -1;
		break;
	case MR_DEFAULT: {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rule, "value");
		if (!v) {
			cfg_error(cfg, ptr, "missing required key 'value'");
			return -1;
		}
		r->value = cJSON_Duplicate(v, true);
		break;
	}
	case MR_ENUM:
		if (parse_enum(cfg, rule, ptr, r) < 0)
			return -1;
		break;
	case MR_DROP:
	case MR_KEEP:
		break;
	}
	return bad ? -1 : 0;
}

static void take_errors(struct cfg *cfg, struct strbuf *errors)
{
	if (errors)
		sb_add(errors, cfg->errors.buf, cfg->errors.len);
}

static int from_cfg(struct cfg *cfg, struct mapspec *ms, struct strbuf *errors)
{
	static const char *const top_keys[] = { "drop_unknown", "rules", NULL };
	cJSON *root = cfg_root_object(cfg);
	if (root) {
		cfg_check_keys(cfg, root, "", top_keys);
		cfg_get_bool(cfg, root, "", "drop_unknown", false, &ms->drop_unknown);
		cJSON *rules;
		if (cfg_get_array(cfg, root, "", "rules", true, &rules) > 0) {
			size_t n = (size_t)cJSON_GetArraySize(rules), i = 0;
			if (!n)
				cfg_error(cfg, "/rules", "must not be empty");
			ms->rules = xcalloc(n ? n : 1, sizeof(*ms->rules));
			for (const cJSON *r = rules->child; r; r = r->next, i++) {
				struct mr_rule rule = { 0 };
				if (parse_rule(cfg, r, cfg_ptr_index(cfg, "/rules", i), &rule) < 0)
					rule_free(&rule);
				else
					ms->rules[ms->n++] = rule;
			}
		}
	}
	if (cfg->nerrors) {
		take_errors(cfg, errors);
		mapspec_free(ms);
		return -1;
	}
	return 0;
}

int mapspec_parse(const char *name, const char *text, size_t len, struct mapspec *ms,
		  struct strbuf *errors)
{
	memset(ms, 0, sizeof(*ms));
	struct cfg cfg;
	if (cfg_parse_string(name, text, len, &cfg, errors) < 0) {
		if (errors && (!errors->len || errors->buf[errors->len - 1] != '\n'))
			sb_addch(errors, '\n');
		cfg_free(&cfg);
		return -1;
	}
	ms->file = xstrdup(name);
	int rc = from_cfg(&cfg, ms, errors);
	cfg_free(&cfg);
	return rc;
}

int mapspec_load(const char *path, struct mapspec *ms, struct strbuf *errors)
{
	memset(ms, 0, sizeof(*ms));
	struct cfg cfg;
	if (cfg_load(path, &cfg, errors) < 0) {
		if (errors && (!errors->len || errors->buf[errors->len - 1] != '\n'))
			sb_addch(errors, '\n');
		cfg_free(&cfg);
		return -1;
	}
	ms->file = xstrdup(cfg.file);
	int rc = from_cfg(&cfg, ms, errors);
	cfg_free(&cfg);
	return rc;
}

static void swap_ptr(struct vptr *a, struct vptr *b)
{
	struct vptr t = *a;
	*a = *b;
	*b = t;
}

int mapspec_reverse(struct mapspec *ms, struct strbuf *errors)
{
	int bad = 0;
	for (size_t i = 0; i < ms->n; i++) {
		const struct mr_rule *r = &ms->rules[i];
		if (r->op == MR_COMPUTE || r->op == MR_DEFAULT || r->op == MR_DROP) {
			if (errors)
				sb_addf(errors, "%s: %s: %s cannot be reversed\n", ms->file, r->where,
					op_names[r->op]);
			bad++;
		} else if (r->op == MR_ENUM) {
			for (size_t j = 0; j < r->npairs; j++)
				for (size_t k = 0; k < j; k++)
					if (cJSON_Compare(r->pair_to[j], r->pair_to[k], true)) {
						char *s = show(r->pair_to[j]);
						if (errors)
							sb_addf(errors,
								"%s: %s/values/%zu/1: %s is the target of two values: the map cannot be reversed\n",
								ms->file, r->where, j, s);
						free(s);
						bad++;
					}
		}
	}
	if (bad)
		return -1;
	for (size_t i = 0; i < ms->n / 2; i++) {
		struct mr_rule t = ms->rules[i];
		ms->rules[i] = ms->rules[ms->n - 1 - i];
		ms->rules[ms->n - 1 - i] = t;
	}
	for (size_t i = 0; i < ms->n; i++) {
		struct mr_rule *r = &ms->rules[i];
		switch (r->op) {
		case MR_RENAME:
		case MR_MOVE:
			swap_ptr(&r->path, &r->to);
			break;
		case MR_CONVERT: {
			enum mr_type t = r->from;
			r->from = r->into;
			r->into = t;
			break;
		}
		case MR_ENUM: {
			cJSON **t = r->pair_from;
			r->pair_from = r->pair_to;
			r->pair_to = t;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

void mapspec_free(struct mapspec *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		rule_free(&ms->rules[i]);
	free(ms->rules);
	free(ms->file);
	memset(ms, 0, sizeof(*ms));
}
