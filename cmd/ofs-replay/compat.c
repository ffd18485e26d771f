/*
 * compat.c: schema compatibility, the rules.
 *
 * covers(R, W) walks a reader schema R and a writer schema W together and
 * reports each place where W lets through a value R rejects. The walk is
 * structural, keyword by keyword, and errs on the side of "incompatible"
 * only where the subset's semantics say a value really can slip through:
 *
 *   type        W's types must be among R's ("integer" is within "number")
 *   enum/const  when R has one, W must too, with no value R lacks
 *   ranges      R's minimum/exclusiveMinimum must not be above W's (and
 *               must not exist when W has none); the same for maxima, for
 *               minLength/maxLength and minItems/maxItems
 *   pattern     R's pattern must be W's pattern, character for character
 *   required    every name R requires W requires too, unless R gives the
 *               property a default (a reader fills it in)
 *   properties  a property both have: the two schemas, recursively; one
 *               only R has: W's data may hold it as W's
 *               additionalProperties allows (anything if open, nothing if
 *               closed); one only W has: R must allow it through its own
 *               additionalProperties
 *   additionalProperties, items   the two (absent = true), recursively
 *
 * Keyword checks apply only to the kinds of value both schemas admit, so
 * a string bound does not trouble an integer field. $ref is followed on
 * both sides; a pair of schemas already being compared further up is
 * taken as compatible (recursive schemas end).
 */
#include "common.h"

#include <math.h>

#include "compat.h"
#include "config.h"
#include "jw.h"

static const char *const mode_names[] = {
	"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
	"FULL",     "FULL_TRANSITIVE",     "NONE",
};

int compat_mode_parse(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (!strcmp(s, mode_names[i]))
			return i;
	return -1;
}

const char *compat_mode_name(enum compat_mode mode)
{
	return mode_names[mode];
}

enum {
	K_NULL = 1,
	K_BOOL = 2,
	K_OBJECT = 4,
	K_ARRAY = 8,
	K_FRACTION = 16, /* a number that is not an integer */
	K_INTEGER = 32,
	K_STRING = 64,
	K_ALL = 127,
};

struct pair {
	const cJSON *r, *w;
};

struct cctx {
	const struct jschema *rs, *ws;
	const char *direction;
	const char *rname, *wname; /* "new"/"old" as the direction has them */
	size_t old;
	compat_fn *fn;
	void *user;
	size_t n;
	struct strbuf ptr, msg;
	struct pair stack[JSCHEMA_MAX_DEPTH];
	int depth;
};

static const cJSON true_schema = { .type = cJSON_Object };

static void problem(struct cctx *c, const char *key, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void problem(struct cctx *c, const char *key, const char *rule, const char *fmt, ...)
{
	va_list ap;
	c->n++;
	if (!c->fn)
		return;
	size_t len = c->ptr.len;
	if (key)
		cfg_ptr_append(&c->ptr, key);
	sb_reset(&c->msg);
	va_start(ap, fmt);
	sb_vaddf(&c->msg, fmt, ap);
	va_end(ap);
	struct compat_problem p = { c->direction, c->ptr.buf, rule, c->msg.buf, c->old };
	c->fn(&p, c->user);
	sb_setlen(&c->ptr, len);
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static unsigned kind_of(const char *t)
{
	if (!strcmp(t, "null"))
		return K_NULL;
	if (!strcmp(t, "boolean"))
		return K_BOOL;
	if (!strcmp(t, "object"))
		return K_OBJECT;
	if (!strcmp(t, "array"))
		return K_ARRAY;
	if (!strcmp(t, "number"))
		return K_FRACTION | K_INTEGER;
	if (!strcmp(t, "integer"))
		return K_INTEGER;
	return K_STRING;
}

static unsigned kinds(const cJSON *s)
{
	const cJSON *t = get(s, "type");
	if (!t)
		return K_ALL;
	if (cJSON_IsString(t))
		return kind_of(t->valuestring);
	unsigned k = 0;
	for (const cJSON *e = t->child; e; e = e->next)
		k |= kind_of(e->valuestring);
	return k;
}

static void kind_names(struct strbuf *sb, unsigned k)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ K_NULL, "null" },       { K_BOOL, "boolean" }, { K_OBJECT, "object" },
		{ K_ARRAY, "array" },     { K_STRING, "string" }, { K_INTEGER, "integer" },
		{ K_FRACTION, "number" },
	};
	if ((k & (K_FRACTION | K_INTEGER)) == (K_FRACTION | K_INTEGER))
		k &= ~(unsigned)K_INTEGER;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(k & names[i].bit))
			continue;
		if (sb->len)
			sb_addstr(sb, ", ");
		sb_addstr(sb, names[i].name);
	}
}

static const char *num(const cJSON *v, char *buf)
{
	if (!jw_format_double(v->valuedouble, buf))
		return "null";
	return buf;
}

static void covers(struct cctx *c, const cJSON *r, const cJSON *w);

static void covers_at(struct cctx *c, const char *k1, const char *k2, const cJSON *r,
		      const cJSON *w)
{
	size_t len = c->ptr.len;
	cfg_ptr_append(&c->ptr, k1);
	if (k2)
		cfg_ptr_append(&c->ptr, k2);
	covers(c, r, w);
	sb_setlen(&c->ptr, len);
}

/* The enum of a schema: its "enum" array, or a one-element view of "const". */
static const cJSON *values_of(const cJSON *s, bool *single)
{
	const cJSON *e = get(s, "enum");
	*single = false;
	if (e)
		return e->child;
	e = get(s, "const");
	*single = e != NULL;
	return e;
}

static void check_enum(struct cctx *c, const cJSON *r, const cJSON *w)
{
	bool rsingle, wsingle;
	const cJSON *rv = values_of(r, &rsingle);
	const char *key = get(r, "enum") ? "enum" : "const";
	if (!rv)
		return;
	const cJSON *wv = values_of(w, &wsingle);
	if (!wv && !get(w, "enum")) {
		problem(c, key, "enum-added",
			"the %s schema allows only listed values; %s data may hold any", c->rname,
			c->wname);
		return;
	}
	for (const cJSON *x = wv; x; x = wsingle ? NULL : x->next) {
		const cJSON *y;
		for (y = rv; y; y = rsingle ? NULL : y->next)
			if (cJSON_Compare(x, y, true))
				break;
		if (y)
			continue;
		char *text = cJSON_PrintUnformatted(x);
		problem(c, key, "enum-narrowed", "%s data may hold %s, which the %s schema rejects",
			c->wname, text ? text : "a value", c->rname);
		cJSON_free(text);
	}
}

/*
 * A bound of R (key) must not be tighter than W's. lower: R's bound is a
 * lower one. For numbers the exclusive forms take part.
 */
static void check_num_bound(struct cctx *c, const cJSON *r, const cJSON *w, bool lower)
{
	const char *inc = lower ? "minimum" : "maximum";
	const char *exc = lower ? "exclusiveMinimum" : "exclusiveMaximum";
	const cJSON *ri = get(r, inc), *re = get(r, exc), *wi = get(w, inc), *we = get(w, exc);
	if (!ri && !re)
		return;
	/* The effective bound of each: the tighter of its two keywords. */
	const cJSON *rb = ri;
	bool rx = false;
	if (re && (!ri || (lower ? re->valuedouble >= ri->valuedouble
				 : re->valuedouble <= ri->valuedouble))) {
		rb = re;
		rx = true;
	}
	const cJSON *wb = wi;
	bool wx = false;
	if (we && (!wi || (lower ? we->valuedouble >= wi->valuedouble
				 : we->valuedouble <= wi->valuedouble))) {
		wb = we;
		wx = true;
	}
	const char *key = rx ? exc : inc;
	char a[32], b[32];
	if (!wb) {
		problem(c, key, lower ? "minimum-added" : "maximum-added",
			"the %s schema adds %s %s; %s data has no such bound", c->rname, key,
			num(rb, a), c->wname);
		return;
	}
	double rv = rb->valuedouble, wv = wb->valuedouble;
	bool ok = lower ? (wv > rv || (wv == rv && (!rx || wx)))
			: (wv < rv || (wv == rv && (!rx || wx)));
	if (!ok)
		problem(c, key, lower ? "minimum-narrowed" : "maximum-narrowed",
			"%s %s of the %s schema rejects values the %s schema allows (%s %s)", key,
			num(rb, a), c->rname, c->wname, wx ? exc : inc, num(wb, b));
}

/* minLength / minItems (lower) and maxLength / maxItems. */
static void check_count(struct cctx *c, const cJSON *r, const cJSON *w, const char *key,
			bool lower, const char *rule)
{
	const cJSON *rb = get(r, key), *wb = get(w, key);
	if (!rb || (lower && rb->valuedouble == 0))
		return;
	if (!wb && lower) {
		problem(c, key, rule, "%s %.0f of the %s schema rejects values the %s schema allows (%s 0)",
			key, rb->valuedouble, c->rname, c->wname, key);
		return;
	}
	if (!wb) {
		problem(c, key, rule, "the %s schema adds %s %.0f; %s data has no such bound",
			c->rname, key, rb->valuedouble, c->wname);
		return;
	}
	if (lower ? wb->valuedouble < rb->valuedouble : wb->valuedouble > rb->valuedouble)
		problem(c, key, rule,
			"%s %.0f of the %s schema rejects values the %s schema allows (%s %.0f)", key,
			rb->valuedouble, c->rname, c->wname, key, wb->valuedouble);
}

static bool in_required(const cJSON *s, const char *name)
{
	const cJSON *req = get(s, "required");
	for (const cJSON *e = req ? req->child : NULL; e; e = e->next)
		if (!strcmp(e->valuestring, name))
			return true;
	return false;
}

static bool is_true(const cJSON *s)
{
	if (cJSON_IsTrue(s))
		return true;
	if (!cJSON_IsObject(s))
		return false;
	for (const cJSON *k = s->child; k; k = k->next) {
		static const char *const inert[] = { "$schema", "$id", "id", "$comment", "title",
						     "description", "default", "examples",
						     "deprecated", "readOnly", "writeOnly", NULL };
		const char *const *p;
		for (p = inert; *p && strcmp(*p, k->string); p++)
			;
		if (!*p)
			return false;
	}
	return true;
}

static void check_object(struct cctx *c, const cJSON *r, const cJSON *w)
{
	const cJSON *rreq = get(r, "required");
	const cJSON *rprops = get(r, "properties"), *wprops = get(w, "properties");
	const cJSON *raddl = get(r, "additionalProperties"), *waddl = get(w, "additionalProperties");
	if (!raddl)
		raddl = &true_schema;
	if (!waddl)
		waddl = &true_schema;
	for (const cJSON *e = rreq ? rreq->child : NULL; e; e = e->next) {
		if (in_required(w, e->valuestring))
			continue;
		const cJSON *p = get(rprops, e->valuestring);
		if (get(p, "default"))
			continue;
		problem(c, "required", "required-added",
			"property '%s' is required by the %s schema but %s data may lack it",
			e->valuestring, c->rname, c->wname);
	}
	for (const cJSON *p = rprops ? rprops->child : NULL; p; p = p->next) {
		const cJSON *wp = get(wprops, p->string);
		if (wp) {
			covers_at(c, "properties", p->string, p, wp);
		} else if (cJSON_IsFalse(waddl)) {
			continue; /* the writer never wrote it */
		} else if (cJSON_IsTrue(waddl) || is_true(waddl)) {
			if (is_true(p))
				continue;
			size_t len = c->ptr.len;
			cfg_ptr_append(&c->ptr, "properties");
			problem(c, p->string, "property-added-open",
				"property '%s' is new in the %s schema, and %s data (open to any "
				"property) may hold it with another value",
				p->string, c->rname, c->wname);
			sb_setlen(&c->ptr, len);
		} else {
			covers_at(c, "properties", p->string, p, waddl);
		}
	}
	for (const cJSON *wp = wprops ? wprops->child : NULL; wp; wp = wp->next) {
		if (get(rprops, wp->string))
			continue;
		if (cJSON_IsFalse(raddl)) {
			size_t len = c->ptr.len;
			cfg_ptr_append(&c->ptr, "properties");
			problem(c, wp->string, "property-removed-closed",
				"property '%s' of %s data is not allowed by the %s schema "
				"(additionalProperties false)",
				wp->string, c->wname, c->rname);
			sb_setlen(&c->ptr, len);
		} else if (!is_true(raddl)) {
			covers_at(c, "properties", wp->string, raddl, wp);
		}
	}
	if (cJSON_IsFalse(raddl) && !cJSON_IsFalse(waddl)) {
		problem(c, "additionalProperties", "additional-properties-narrowed",
			"the %s schema forbids properties it does not name; %s data may have them",
			c->rname, c->wname);
	} else if (!cJSON_IsFalse(raddl)) {
		size_t len = c->ptr.len;
		cfg_ptr_append(&c->ptr, "additionalProperties");
		covers(c, raddl, waddl);
		sb_setlen(&c->ptr, len);
	}
}

static void check_array(struct cctx *c, const cJSON *r, const cJSON *w)
{
	check_count(c, r, w, "minItems", true, "minItems-narrowed");
	check_count(c, r, w, "maxItems", false, "maxItems-narrowed");
	const cJSON *ri = get(r, "items"), *wi = get(w, "items");
	if (!ri)
		return;
	size_t len = c->ptr.len;
	cfg_ptr_append(&c->ptr, "items");
	covers(c, ri, wi ? wi : &true_schema);
	sb_setlen(&c->ptr, len);
}

static void check_string(struct cctx *c, const cJSON *r, const cJSON *w)
{
	check_count(c, r, w, "minLength", true, "minLength-narrowed");
	check_count(c, r, w, "maxLength", false, "maxLength-narrowed");
	const cJSON *rp = get(r, "pattern"), *wp = get(w, "pattern");
	if (!rp)
		return;
	if (!wp)
		problem(c, "pattern", "pattern-added",
			"the %s schema adds the pattern '%s'; %s data has none", c->rname,
			rp->valuestring, c->wname);
	else if (strcmp(rp->valuestring, wp->valuestring))
		problem(c, "pattern", "pattern-changed",
			"the pattern changed from '%s' (%s) to '%s' (%s)", wp->valuestring, c->wname,
			rp->valuestring, c->rname);
}

static void covers(struct cctx *c, const cJSON *r, const cJSON *w)
{
	r = jschema_resolve(c->rs, r);
	w = w == &true_schema ? w : jschema_resolve(c->ws, w);
	if (!r || !w || c->depth >= JSCHEMA_MAX_DEPTH)
		return;
	for (int i = 0; i < c->depth; i++)
		if (c->stack[i].r == r && c->stack[i].w == w)
			return;
	if (cJSON_IsTrue(r) || cJSON_IsFalse(w) || is_true(r))
		return;
	if (cJSON_IsFalse(r)) {
		problem(c, NULL, "schema-false",
			"the %s schema allows nothing here; %s data may have a value", c->rname,
			c->wname);
		return;
	}
	if (cJSON_IsTrue(w))
		w = &true_schema;
	c->stack[c->depth].r = r;
	c->stack[c->depth].w = w;
	c->depth++;

	unsigned rk = kinds(r), wk = kinds(w);
	if (wk & ~rk) {
		struct strbuf names = SB_INIT;
		kind_names(&names, wk & ~rk);
		problem(c, "type", "type-narrowed",
			"%s data may be %s, which the %s schema rejects", c->wname, names.buf,
			c->rname);
		sb_release(&names);
	}
	unsigned both = wk & rk;
	check_enum(c, r, w);
	if (both & (K_INTEGER | K_FRACTION)) {
		check_num_bound(c, r, w, true);
		check_num_bound(c, r, w, false);
	}
	if (both & K_STRING)
		check_string(c, r, w);
	if (both & K_ARRAY)
		check_array(c, r, w);
	if (both & K_OBJECT)
		check_object(c, r, w);
	c->depth--;
}

static size_t one(const struct jschema *reader, const struct jschema *writer, bool backward,
		  size_t old, compat_fn *fn, void *user)
{
	struct cctx c = { 0 };
	c.rs = reader;
	c.ws = writer;
	c.direction = backward ? "backward" : "forward";
	c.rname = backward ? "new" : "old";
	c.wname = backward ? "old" : "new";
	c.old = old;
	c.fn = fn;
	c.user = user;
	sb_init(&c.ptr, 64);
	sb_init(&c.msg, 128);
	covers(&c, jschema_root(reader), jschema_root(writer));
	sb_release(&c.ptr);
	sb_release(&c.msg);
	return c.n;
}

size_t compat_check(enum compat_mode mode, const struct jschema *const *olds, size_t nold,
		    const struct jschema *new_schema, compat_fn *fn, void *user)
{
	bool back = mode == COMPAT_BACKWARD || mode == COMPAT_BACKWARD_TRANSITIVE ||
		    mode == COMPAT_FULL || mode == COMPAT_FULL_TRANSITIVE;
	bool fwd = mode == COMPAT_FORWARD || mode == COMPAT_FORWARD_TRANSITIVE ||
		   mode == COMPAT_FULL || mode == COMPAT_FULL_TRANSITIVE;
	bool all = mode == COMPAT_BACKWARD_TRANSITIVE || mode == COMPAT_FORWARD_TRANSITIVE ||
		   mode == COMPAT_FULL_TRANSITIVE;
	size_t n = 0;
	if (!nold)
		return 0;
	/* The latest first: that is the one a non-transitive mode looks at. */
	for (size_t i = nold; i-- > 0;) {
		if (back)
			n += one(new_schema, olds[i], true, i, fn, user);
		if (fwd)
			n += one(olds[i], new_schema, false, i, fn, user);
		if (!all)
			break;
	}
	return n;
}
