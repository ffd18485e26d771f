/*
 * jschema.c: the JSON Schema subset of jschema.h: a strict loader that
 * refuses what it does not support, and a validator that reports every
 * violation with the instance's and the schema's JSON pointers.
 *
 * The schema stays a cJSON tree; loading only checks it and compiles its
 * patterns (kept beside the tree, found by the node that holds them).
 * Validation walks schema and instance together, keyword by keyword in
 * the order the schema spells them, so messages come out in a stable,
 * readable order.
 */
#include "common.h"

#include <math.h>
#include <regex.h>

#include "config.h"
#include "jschema.h"
#include "jw.h"

struct jschema_re {
	const cJSON *node; /* the schema object holding "pattern" */
	regex_t re;
};

struct jschema {
	char *name;
	cJSON *root;
	struct jschema_re *res;
	size_t nres, ares;
};

static const char *const annotations[] = {
	"$schema", "$id", "id", "$comment", "title", "description", "default",
	"examples", "deprecated", "readOnly", "writeOnly", NULL,
};

static const char *const type_names[] = {
	"null", "boolean", "object", "array", "number", "string", "integer", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

size_t jschema_utf8_len(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Follow a "#..." reference within root; NULL if it leads nowhere. */
static const cJSON *ref_target(const cJSON *root, const char *ref)
{
	if (ref[0] != '#')
		return NULL;
	ref++;
	if (!*ref)
		return root;
	if (strncmp(ref, "/definitions/", 13) && strncmp(ref, "/$defs/", 7))
		return NULL;
	/* Exactly two segments, the keyword and a NAME: deeper references
	 * could land in a value the loader never checked as a schema
	 * (a "default", a "const"). */
	const cJSON *node = root;
	struct strbuf seg = SB_INIT;
	int nseg = 0;
	while (*ref == '/' && node && nseg++ < 2) {
		ref++;
		sb_reset(&seg);
		while (*ref && *ref != '/') {
			if (ref[0] == '~' && ref[1] == '0') {
				sb_addch(&seg, '~');
				ref += 2;
			} else if (ref[0] == '~' && ref[1] == '1') {
				sb_addch(&seg, '/');
				ref += 2;
			} else if (ref[0] == '%') {
				sb_release(&seg);
				return NULL; /* percent-encoded references: not supported */
			} else {
				sb_addch(&seg, *ref++);
			}
		}
		if (cJSON_IsObject(node))
			node = cJSON_GetObjectItemCaseSensitive(node, seg.buf);
		else
			node = NULL;
	}
	sb_release(&seg);
	if (*ref || !node || !(cJSON_IsObject(node) || cJSON_IsBool(node)))
		return NULL;
	return node;
}

const cJSON *jschema_resolve(const struct jschema *s, const cJSON *node)
{
	for (int i = 0; i <= JSCHEMA_MAX_DEPTH; i++) {
		const cJSON *ref = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, "$ref")
							: NULL;
		if (!ref)
			return node;
		node = ref_target(s->root, ref->valuestring);
		if (!node)
			return NULL;
	}
	return NULL;
}

const cJSON *jschema_root(const struct jschema *s)
{
	return s->root;
}

/* ---- loading ----------------------------------------------------------- */

struct loader {
	struct jschema *s;
	struct strbuf *err;
	int nerrors;
};

static void lerr(struct loader *l, const struct strbuf *ptr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void lerr(struct loader *l, const struct strbuf *ptr, const char *fmt, ...)
{
	va_list ap;
	l->nerrors++;
	if (!l->err)
		return;
	struct strbuf line = SB_INIT;
	sb_addf(&line, "%s: %s: ", l->s->name, ptr->len ? ptr->buf : "(root)");
	va_start(ap, fmt);
	sb_vaddf(&line, fmt, ap);
	va_end(ap);
	cfg_text_add(l->err, line.buf, line.len);
	sb_addch(l->err, '\n');
	sb_release(&line);
}

static void load_node(struct loader *l, const cJSON *node, struct strbuf *ptr);

static bool is_count(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e15 &&
	       floor(v->valuedouble) == v->valuedouble;
}

static void load_child(struct loader *l, const cJSON *node, struct strbuf *ptr, const char *key)
{
	size_t len = ptr->len;
	cfg_ptr_append(ptr, key);
	load_node(l, node, ptr);
	sb_setlen(ptr, len);
}

static void load_map(struct loader *l, const cJSON *v, struct strbuf *ptr)
{
	if (!cJSON_IsObject(v)) {
		lerr(l, ptr, "must be an object of schemas");
		return;
	}
	for (const cJSON *c = v->child; c; c = c->next)
		load_child(l, c, ptr, c->string);
}

static void load_type(struct loader *l, const cJSON *v, struct strbuf *ptr)
{
	if (cJSON_IsString(v)) {
		if (!in_list(type_names, v->valuestring))
			lerr(l, ptr, "unknown type '%s'", v->valuestring);
		return;
	}
	if (!cJSON_IsArray(v) || !v->child) {
		lerr(l, ptr, "must be a type name or a non-empty array of type names");
		return;
	}
	int i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		if (!cJSON_IsString(c) || !in_list(type_names, c->valuestring)) {
			lerr(l, ptr, "element %d is not a type name", i);
			continue;
		}
		for (const cJSON *d = v->child; d != c; d = d->next)
			if (cJSON_IsString(d) && !strcmp(d->valuestring, c->valuestring))
				lerr(l, ptr, "type '%s' is listed twice", c->valuestring);
	}
}

/* The length of an interval "{n}", "{n,}" or "{n,m}" at p, or 0 if p
 * does not start one; its largest count goes to *max. */
static size_t interval_len(const char *p, long *max)
{
	const char *q = p + 1;
	long n = 0, m = -1;
	if (*q < '0' || *q > '9')
		return 0;
	while (*q >= '0' && *q <= '9' && n < 100000)
		n = n * 10 + (*q++ - '0');
	if (*q == ',') {
		q++;
		if (*q >= '0' && *q <= '9') {
			m = 0;
			while (*q >= '0' && *q <= '9' && m < 100000)
				m = m * 10 + (*q++ - '0');
		}
	}
	if (*q != '}')
		return 0;
	*max = m > n ? m : n;
	return (size_t)(q - p) + 1;
}

/*
 * What POSIX leaves undefined and glibc's regcomp turns into a tree
 * copied once per repetition (a pattern of a hundred "+" in a row takes
 * gigabytes): a quantifier right after another ("a++", "a*{2}"), or a
 * count over 255. Returns the offset of the first such quantifier, or
 * -1 if there is none.
 */
static long bad_quantifier(const char *re, const char **why)
{
	bool after_quant = false;
	for (const char *p = re; *p;) {
		size_t len = 0;
		long max = 0;
		if (*p == '\\') {
			p += p[1] ? 2 : 1;
			after_quant = false;
			continue;
		}
		if (*p == '[') {
			const char *q = p + 1;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			p = *q ? q + 1 : q;
			after_quant = false;
			continue;
		}
		if (*p == '*' || *p == '+' || *p == '?')
			len = 1;
		else if (*p == '{')
			len = interval_len(p, &max);
		if (!len) {
			p++;
			after_quant = false;
			continue;
		}
		if (after_quant) {
			*why = "a quantifier right after another";
			return p - re;
		}
		if (max > 255) {
			*why = "a repeat count over 255";
			return p - re;
		}
		after_quant = true;
		p += len;
	}
	return -1;
}

static void load_pattern(struct loader *l, const cJSON *node, const cJSON *v,
			 struct strbuf *ptr)
{
	if (!cJSON_IsString(v)) {
		lerr(l, ptr, "must be a string");
		return;
	}
	const char *why;
	long at = bad_quantifier(v->valuestring, &why);
	if (at >= 0) {
		lerr(l, ptr, "unsupported regular expression: %s at offset %ld", why, at);
		return;
	}
	regex_t re;
	int rc = regcomp(&re, v->valuestring, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, &re, msg, sizeof(msg));
		lerr(l, ptr, "invalid POSIX extended regular expression: %s", msg);
		return;
	}
	struct jschema *s = l->s;
	ALLOC_GROW(s->res, s->nres + 1, s->ares);
	s->res[s->nres].node = node;
	s->res[s->nres].re = re;
	s->nres++;
}

static void load_keyword(struct loader *l, const cJSON *node, const cJSON *v, struct strbuf *ptr)
{
	const char *k = v->string;
	if (in_list(annotations, k))
		return;
	if (!strcmp(k, "type")) {
		load_type(l, v, ptr);
	} else if (!strcmp(k, "properties") || !strcmp(k, "definitions") || !strcmp(k, "$defs")) {
		load_map(l, v, ptr);
	} else if (!strcmp(k, "required")) {
		if (!cJSON_IsArray(v)) {
			lerr(l, ptr, "must be an array of property names");
			return;
		}
		int i = 0;
		for (const cJSON *c = v->child; c; c = c->next, i++)
			if (!cJSON_IsString(c))
				lerr(l, ptr, "element %d is not a string", i);
	} else if (!strcmp(k, "additionalProperties") || !strcmp(k, "items")) {
		if (cJSON_IsArray(v))
			lerr(l, ptr, "the array form of '%s' is not supported", k);
		else
			load_node(l, v, ptr);
	} else if (!strcmp(k, "enum")) {
		if (!cJSON_IsArray(v) || !v->child)
			lerr(l, ptr, "must be a non-empty array");
	} else if (!strcmp(k, "const")) {
		/* any value */
	} else if (!strcmp(k, "minimum") || !strcmp(k, "maximum") ||
		   !strcmp(k, "exclusiveMinimum") || !strcmp(k, "exclusiveMaximum")) {
		if (!cJSON_IsNumber(v))
			lerr(l, ptr, "must be a number");
	} else if (!strcmp(k, "minLength") || !strcmp(k, "maxLength") ||
		   !strcmp(k, "minItems") || !strcmp(k, "maxItems")) {
		if (!is_count(v))
			lerr(l, ptr, "must be a non-negative integer");
	} else if (!strcmp(k, "pattern")) {
		load_pattern(l, node, v, ptr);
	} else if (!strcmp(k, "$ref")) {
		if (!cJSON_IsString(v))
			lerr(l, ptr, "must be a string");
		else if (!ref_target(l->s->root, v->valuestring))
			lerr(l, ptr, "cannot resolve '%s' (only \"#\", \"#/definitions/NAME\" and "
				     "\"#/$defs/NAME\" are supported)", v->valuestring);
	} else {
		lerr(l, ptr, "unsupported keyword '%s'", k);
	}
}

static void load_node(struct loader *l, const cJSON *node, struct strbuf *ptr)
{
	if (cJSON_IsBool(node))
		return;
	if (!cJSON_IsObject(node)) {
		lerr(l, ptr, "a schema must be an object or a boolean");
		return;
	}
	for (const cJSON *c = node->child; c; c = c->next) {
		size_t len = ptr->len;
		cfg_ptr_append(ptr, c->string);
		load_keyword(l, node, c, ptr);
		sb_setlen(ptr, len);
	}
}

struct jschema *jschema_from_json(const char *name, cJSON *root, struct strbuf *err)
{
	struct jschema *s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->root = root;
	struct loader l = { s, err, 0 };
	struct strbuf ptr = SB_INIT;
	load_node(&l, root, &ptr);
	sb_release(&ptr);
	if (l.nerrors) {
		jschema_free(s);
		return NULL;
	}
	return s;
}

struct jschema *jschema_load(const char *name, const char *text, size_t len, struct strbuf *err)
{
	struct cfg cfg;
	if (cfg_parse_string(name, text, len, &cfg, err) < 0) {
		if (err && err->len && err->buf[err->len - 1] != '\n')
			sb_addch(err, '\n');
		cfg_free(&cfg);
		return NULL;
	}
	cJSON *root = cfg.root;
	cfg.root = NULL;
	cfg_free(&cfg);
	return jschema_from_json(name, root, err);
}

void jschema_free(struct jschema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nres; i++)
		regfree(&s->res[i].re);
	free(s->res);
	cJSON_Delete(s->root);
	free(s->name);
	free(s);
}

/* ---- validation -------------------------------------------------------- */

struct vctx {
	const struct jschema *s;
	jschema_error_fn *fn;
	void *user;
	size_t n;
	struct strbuf ip, sp, msg;
};

static void verr(struct vctx *v, const char *keyword, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void verr(struct vctx *v, const char *keyword, const char *fmt, ...)
{
	va_list ap;
	v->n++;
	if (!v->fn)
		return;
	size_t len = v->sp.len;
	if (keyword)
		cfg_ptr_append(&v->sp, keyword);
	sb_reset(&v->msg);
	va_start(ap, fmt);
	sb_vaddf(&v->msg, fmt, ap);
	va_end(ap);
	struct jschema_error e = { v->ip.buf, v->sp.buf, keyword ? keyword : "", v->msg.buf };
	v->fn(&e, v->user);
	sb_setlen(&v->sp, len);
}

/* The JSON Schema type of x: config.h's name, or "integer" for a whole number. */
static const char *inst_type(const cJSON *x)
{
	double d = x->valuedouble;
	if (cJSON_IsNumber(x) && isfinite(d) && floor(d) == d)
		return "integer";
	return cfg_type_name(x);
}

static bool type_ok(const char *want, const cJSON *x)
{
	const char *got = inst_type(x);
	return !strcmp(want, got) || (!strcmp(want, "number") && !strcmp(got, "integer"));
}

static void check_type(struct vctx *v, const cJSON *t, const cJSON *x)
{
	struct strbuf names = SB_INIT;
	if (cJSON_IsString(t)) {
		if (type_ok(t->valuestring, x))
			return;
		sb_addstr(&names, t->valuestring);
	} else {
		for (const cJSON *c = t->child; c; c = c->next) {
			if (type_ok(c->valuestring, x)) {
				sb_release(&names);
				return;
			}
			if (names.len)
				sb_addstr(&names, c->next ? ", " : " or ");
			sb_addstr(&names, c->valuestring);
		}
	}
	verr(v, "type", "expected %s, got %s", names.buf, inst_type(x));
	sb_release(&names);
}

static const char *num(double d, char *buf)
{
	if (!jw_format_double(d, buf))
		return "null";
	return buf;
}

static void validate(struct vctx *v, const cJSON *node, const cJSON *x, int depth);

static void validate_at(struct vctx *v, const cJSON *node, const cJSON *x, int depth,
			const char *skey, const char *ikey, long iidx)
{
	size_t sl = v->sp.len, il = v->ip.len;
	if (skey)
		cfg_ptr_append(&v->sp, skey);
	if (ikey)
		cfg_ptr_append(&v->ip, ikey);
	else if (iidx >= 0)
		sb_addf(&v->ip, "/%ld", iidx);
	validate(v, node, x, depth + 1);
	sb_setlen(&v->sp, sl);
	sb_setlen(&v->ip, il);
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void check_object(struct vctx *v, const cJSON *node, const cJSON *x, int depth)
{
	const cJSON *props = get(node, "properties");
	const cJSON *addl = get(node, "additionalProperties");
	for (const cJSON *c = node->child; c; c = c->next) {
		if (!strcmp(c->string, "required")) {
			for (const cJSON *r = c->child; r; r = r->next)
				if (!get(x, r->valuestring))
					verr(v, "required", "missing required property '%s'",
					     r->valuestring);
		} else if (!strcmp(c->string, "properties")) {
			size_t sl = v->sp.len;
			cfg_ptr_append(&v->sp, "properties");
			for (const cJSON *p = c->child; p; p = p->next) {
				const cJSON *val = get(x, p->string);
				if (val)
					validate_at(v, p, val, depth, p->string, p->string, -1);
			}
			sb_setlen(&v->sp, sl);
		} else if (!strcmp(c->string, "additionalProperties")) {
			for (const cJSON *m = x->child; m; m = m->next) {
				if (props && get(props, m->string))
					continue;
				if (cJSON_IsFalse(addl)) {
					size_t il = v->ip.len;
					cfg_ptr_append(&v->ip, m->string);
					verr(v, "additionalProperties", "property '%s' is not allowed",
					     m->string);
					sb_setlen(&v->ip, il);
				} else {
					validate_at(v, addl, m, depth, "additionalProperties",
						    m->string, -1);
				}
			}
		}
	}
}

static void check_array(struct vctx *v, const cJSON *node, const cJSON *x, int depth)
{
	const cJSON *k;
	long n = cJSON_GetArraySize(x);
	if ((k = get(node, "minItems")) && n < k->valuedouble)
		verr(v, "minItems", "has %ld items, fewer than minItems %.0f", n, k->valuedouble);
	if ((k = get(node, "maxItems")) && n > k->valuedouble)
		verr(v, "maxItems", "has %ld items, more than maxItems %.0f", n, k->valuedouble);
	if ((k = get(node, "items"))) {
		long i = 0;
		for (const cJSON *e = x->child; e; e = e->next, i++)
			validate_at(v, k, e, depth, "items", NULL, i);
	}
}

static void check_string(struct vctx *v, const cJSON *node, const cJSON *x)
{
	const cJSON *k;
	size_t n = jschema_utf8_len(x->valuestring, strlen(x->valuestring));
	if ((k = get(node, "minLength")) && (double)n < k->valuedouble)
		verr(v, "minLength", "length %zu is less than minLength %.0f", n, k->valuedouble);
	if ((k = get(node, "maxLength")) && (double)n > k->valuedouble)
		verr(v, "maxLength", "length %zu is greater than maxLength %.0f", n,
		     k->valuedouble);
	if ((k = get(node, "pattern"))) {
		for (size_t i = 0; i < v->s->nres; i++) {
			if (v->s->res[i].node != node)
				continue;
			if (regexec(&v->s->res[i].re, x->valuestring, 0, NULL, 0))
				verr(v, "pattern", "does not match the pattern '%s'",
				     k->valuestring);
			break;
		}
	}
}

static void check_number(struct vctx *v, const cJSON *node, const cJSON *x)
{
	char a[32], b[32];
	double d = x->valuedouble;
	const cJSON *k;
	if ((k = get(node, "minimum")) && d < k->valuedouble)
		verr(v, "minimum", "%s is less than the minimum %s", num(d, a),
		     num(k->valuedouble, b));
	if ((k = get(node, "exclusiveMinimum")) && d <= k->valuedouble)
		verr(v, "exclusiveMinimum", "%s is not greater than the exclusive minimum %s",
		     num(d, a), num(k->valuedouble, b));
	if ((k = get(node, "maximum")) && d > k->valuedouble)
		verr(v, "maximum", "%s is greater than the maximum %s", num(d, a),
		     num(k->valuedouble, b));
	if ((k = get(node, "exclusiveMaximum")) && d >= k->valuedouble)
		verr(v, "exclusiveMaximum", "%s is not less than the exclusive maximum %s",
		     num(d, a), num(k->valuedouble, b));
}

/* A short text of x for messages: a scalar as JSON (long strings cut), else its kind. */
static char *scalar_text(const cJSON *x)
{
	if (cJSON_IsObject(x))
		return xstrdup("the object");
	if (cJSON_IsArray(x))
		return xstrdup("the array");
	struct strbuf sb = SB_INIT;
	if (cJSON_IsString(x)) {
		size_t n = strlen(x->valuestring);
		size_t cut = n > 64 ? 64 : n;
		while (cut < n && cut > 0 && ((unsigned char)x->valuestring[cut] & 0xC0) == 0x80)
			cut--;
		jw_escape(&sb, x->valuestring, cut);
		if (cut < n)
			sb_addstr(&sb, "...");
		return sb_detach(&sb, NULL);
	}
	char buf[32];
	sb_addstr(&sb, cJSON_IsNull(x) ? "null" : cJSON_IsTrue(x) ? "true" : cJSON_IsFalse(x) ? "false" : num(x->valuedouble, buf));
	return sb_detach(&sb, NULL);
}

static void validate(struct vctx *v, const cJSON *node, const cJSON *x, int depth)
{
	if (depth > JSCHEMA_MAX_DEPTH) {
		verr(v, NULL, "schema nesting or $ref chain deeper than %d", JSCHEMA_MAX_DEPTH);
		return;
	}
	if (cJSON_IsTrue(node))
		return;
	if (cJSON_IsFalse(node)) {
		verr(v, NULL, "no value is allowed here");
		return;
	}
	const cJSON *k;
	if ((k = get(node, "$ref"))) {
		/* The target is validated under its own pointer. */
		const cJSON *t = ref_target(v->s->root, k->valuestring);
		struct strbuf saved = SB_INIT;
		sb_add(&saved, v->sp.buf, v->sp.len);
		sb_reset(&v->sp);
		sb_addstr(&v->sp, k->valuestring + 1);
		validate(v, t, x, depth + 1);
		sb_reset(&v->sp);
		sb_add(&v->sp, saved.buf, saved.len);
		sb_release(&saved);
	}
	if ((k = get(node, "type")))
		check_type(v, k, x);
	if ((k = get(node, "enum"))) {
		const cJSON *e;
		for (e = k->child; e; e = e->next)
			if (cJSON_Compare(e, x, true))
				break;
		if (!e) {
			char *t = scalar_text(x);
			verr(v, "enum", "%s is not one of the enum values", t);
			free(t);
		}
	}
	if ((k = get(node, "const")) && !cJSON_Compare(k, x, true)) {
		char *t = scalar_text(x);
		verr(v, "const", "%s is not the const value", t);
		free(t);
	}
	if (cJSON_IsObject(x))
		check_object(v, node, x, depth);
	else if (cJSON_IsArray(x))
		check_array(v, node, x, depth);
	else if (cJSON_IsString(x))
		check_string(v, node, x);
	else if (cJSON_IsNumber(x))
		check_number(v, node, x);
}

size_t jschema_validate(const struct jschema *s, const cJSON *inst, jschema_error_fn *fn,
			void *user)
{
	struct vctx v = { s, fn, user, 0, SB_INIT, SB_INIT, SB_INIT };
	validate(&v, s->root, inst, 0);
	sb_release(&v.ip);
	sb_release(&v.sp);
	sb_release(&v.msg);
	return v.n;
}
