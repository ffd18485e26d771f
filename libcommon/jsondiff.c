/*
 * jsondiff.c: field-by-field comparison of two JSON values (jsondiff.h).
 *
 * One recursive walk keeps the current pointer in a strbuf, appending a
 * segment when it goes down and cutting it back when it comes up, so a
 * comparison allocates one growing buffer whatever the documents hold.
 * Ignore prefixes are checked when a segment is entered, so an ignored
 * subtree is never walked (only tested for equality, to count it).
 */
#include "common.h"

#include "jsondiff.h"

#define JD_MAX_DEPTH 512

const char *jd_kind_name(enum jd_kind kind)
{
	switch (kind) {
	case JD_CHANGED: return "changed";
	case JD_MISSING: return "missing";
	case JD_EXTRA: return "extra";
	case JD_TYPE: return "type";
	}
	return "changed";
}

const char *jd_type_name(const cJSON *v)
{
	if (!v)
		return "invalid";
	switch (v->type & 0xff) {
	case cJSON_NULL: return "null";
	case cJSON_False:
	case cJSON_True: return "boolean";
	case cJSON_Number: return "number";
	case cJSON_String: return "string";
	case cJSON_Array: return "array";
	case cJSON_Object: return "object";
	}
	return "invalid";
}

/* The type class: true and false are one. */
static int type_of(const cJSON *v)
{
	int t = v->type & 0xff;
	return t == cJSON_True ? cJSON_False : t;
}

void jd_pointer_add(struct strbuf *ptr, const char *key)
{
	sb_addch(ptr, '/');
	for (const char *p = key; *p; p++) {
		if (*p == '~')
			sb_add(ptr, "~0", 2);
		else if (*p == '/')
			sb_add(ptr, "~1", 2);
		else
			sb_addch(ptr, *p);
	}
}

bool jd_ignored(const char *pointer, const char *const *ignore, size_t nignore)
{
	for (size_t i = 0; i < nignore; i++) {
		size_t n = strlen(ignore[i]);
		if (!strncmp(pointer, ignore[i], n) && (pointer[n] == '\0' || pointer[n] == '/'))
			return true;
	}
	return false;
}

struct walk {
	struct strbuf ptr;
	const char *const *ignore;
	size_t nignore;
	jd_fn *fn;
	void *user;
	struct jd_result res;
};

static void report(struct walk *w, enum jd_kind kind, const cJSON *a, const cJSON *b)
{
	w->res.reported++;
	if (w->fn)
		w->fn(w->ptr.buf, kind, a, b, w->user);
}

static bool scalar_equal(const cJSON *a, const cJSON *b)
{
	switch (a->type & 0xff) {
	case cJSON_NULL: return true;
	case cJSON_False:
	case cJSON_True: return (a->type & 0xff) == (b->type & 0xff);
	case cJSON_Number: return a->valuedouble == b->valuedouble;
	case cJSON_String: return !strcmp(a->valuestring ? a->valuestring : "",
					   b->valuestring ? b->valuestring : "");
	}
	return cJSON_Compare(a, b, true);
}

static void walk(struct walk *w, const cJSON *a, const cJSON *b, int depth);

/* Compare the child values under the segment key (already in ptr). */
static void child(struct walk *w, const cJSON *a, const cJSON *b, int depth)
{
	if (w->nignore && jd_ignored(w->ptr.buf, w->ignore, w->nignore)) {
		if (!a || !b || !cJSON_Compare(a, b, true))
			w->res.ignored++;
		return;
	}
	if (!a)
		report(w, JD_EXTRA, NULL, b);
	else if (!b)
		report(w, JD_MISSING, a, NULL);
	else
		walk(w, a, b, depth + 1);
}

static void walk(struct walk *w, const cJSON *a, const cJSON *b, int depth)
{
	if (type_of(a) != type_of(b)) {
		report(w, JD_TYPE, a, b);
		return;
	}
	if (depth >= JD_MAX_DEPTH) {
		if (!cJSON_Compare(a, b, true))
			report(w, JD_CHANGED, a, b);
		return;
	}
	size_t len = w->ptr.len;
	if (cJSON_IsObject(a)) {
		const cJSON *x;
		cJSON_ArrayForEach(x, a) {
			if (!x->string)
				continue;
			/* The first of duplicate keys counts. */
			if (cJSON_GetObjectItemCaseSensitive(a, x->string) != x)
				continue;
			jd_pointer_add(&w->ptr, x->string);
			child(w, x, cJSON_GetObjectItemCaseSensitive(b, x->string), depth);
			sb_setlen(&w->ptr, len);
		}
		cJSON_ArrayForEach(x, b) {
			if (!x->string || cJSON_GetObjectItemCaseSensitive(b, x->string) != x ||
			    cJSON_GetObjectItemCaseSensitive(a, x->string))
				continue;
			jd_pointer_add(&w->ptr, x->string);
			child(w, NULL, x, depth);
			sb_setlen(&w->ptr, len);
		}
		return;
	}
	if (cJSON_IsArray(a)) {
		const cJSON *x = a->child, *y = b->child;
		for (size_t i = 0; x || y; i++) {
			sb_addf(&w->ptr, "/%zu", i);
			child(w, x, y, depth);
			sb_setlen(&w->ptr, len);
			if (x)
				x = x->next;
			if (y)
				y = y->next;
		}
		return;
	}
	if (!scalar_equal(a, b))
		report(w, JD_CHANGED, a, b);
}

struct jd_result jd_diff(const cJSON *a, const cJSON *b, const char *base,
			 const char *const *ignore, size_t nignore, jd_fn *fn, void *user)
{
	struct walk w = { .ignore = ignore, .nignore = nignore, .fn = fn, .user = user };
	sb_init(&w.ptr, 64);
	sb_addstr(&w.ptr, base ? base : "");
	if (a || b)
		child(&w, a, b, 0);
	sb_release(&w.ptr);
	return w.res;
}
