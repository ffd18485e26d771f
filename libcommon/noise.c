/*
 * noise.c: Diffy-style noise counters per endpoint and field, the
 * reporting rule, and the endpoint normaliser (noise.h).
 *
 * Fields of an endpoint live in an array indexed through a table keyed
 * by pointer, so an exchange's differing fields become a sorted list of
 * small integers: that list, as bytes, keys the signature table. The
 * verdict of an exchange (matched or not) depends only on its signature
 * and on which fields end up reported, so counting exchanges per
 * signature is enough to give exact matched and mismatched totals once
 * the rule has been applied, without keeping any exchange.
 */
#include "common.h"

#include <ctype.h>

#include "alloc.h"
#include "jw.h"
#include "noise.h"

bool noise_reportable(const struct noise_rule *rule, uint64_t raw, uint64_t noise, uint64_t total)
{
	if (raw <= noise || total == 0)
		return false;
	double d = (double)(raw - noise);
	return d / (double)(raw + noise) > rule->min_relative &&
	       d / (double)total > rule->min_share;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_id(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t digits = 0;
	for (size_t i = 0; i < n; i++)
		digits += isdigit((unsigned char)s[i]) != 0;
	if (digits == n)
		return true;
	if (n >= 16 && all_hex(s, n))
		return true;
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-')
		return all_hex(s, 8) && all_hex(s + 9, 4) && all_hex(s + 14, 4) &&
		       all_hex(s + 19, 4) && all_hex(s + 24, 12);
	return false;
}

void noise_endpoint(struct strbuf *out, const char *method, const char *path)
{
	sb_addstr(out, method && *method ? method : "GET");
	sb_addch(out, ' ');
	if (!path || !*path || *path == '?' || *path == '#') {
		sb_addch(out, '/');
		return;
	}
	size_t end = strcspn(path, "?#");
	size_t i = 0;
	if (path[0] != '/')
		sb_addch(out, '/');
	while (i < end) {
		if (path[i] == '/') {
			sb_addch(out, '/');
			i++;
			continue;
		}
		size_t n = strcspn(path + i, "/?#");
		if (i + n > end)
			n = end - i;
		if (is_id(path + i, n))
			sb_addstr(out, "{id}");
		else
			sb_add(out, path + i, n);
		i += n;
	}
}

struct noise *noise_new(bool keep_examples)
{
	struct noise *n = xcalloc(1, sizeof(*n));
	n->by_name = ht_new();
	n->keep_examples = keep_examples;
	return n;
}

static void diff_free(struct noise_diff *d)
{
	free(d->a);
	free(d->b);
}

static void ep_free(struct noise_ep *ep)
{
	for (size_t i = 0; i < ep->nfields; i++)
		free(ep->fields[i].pointer);
	free(ep->fields);
	for (size_t i = 0; i < ep->nsigs; i++) {
		struct noise_sig *s = ep->sigs[i];
		free(s->fields);
		free(s->id);
		free(s->method);
		free(s->path);
		for (size_t j = 0; j < s->ndiffs; j++)
			diff_free(&s->diffs[j]);
		free(s->diffs);
		free(s);
	}
	free(ep->sigs);
	ht_free(ep->by_pointer, NULL);
	ht_free(ep->by_sig, NULL);
	free(ep->name);
	free(ep);
}

void noise_free(struct noise *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->neps; i++)
		ep_free(n->eps[i]);
	free(n->eps);
	ht_free(n->by_name, NULL);
	free(n);
}

static struct noise_ep *ep_get(struct noise *n, const char *name)
{
	struct noise_ep *ep = ht_get(n->by_name, name);
	if (ep)
		return ep;
	ep = xcalloc(1, sizeof(*ep));
	ep->name = xstrdup(name);
	ep->by_pointer = ht_new();
	ep->by_sig = ht_new();
	ht_put(n->by_name, name, ep);
	ALLOC_GROW(n->eps, n->neps + 1, n->aeps);
	n->eps[n->neps++] = ep;
	return ep;
}

static size_t field_get(struct noise_ep *ep, const char *pointer)
{
	uintptr_t v = (uintptr_t)ht_get(ep->by_pointer, pointer);
	if (v)
		return (size_t)v - 1;
	ALLOC_GROW(ep->fields, ep->nfields + 1, ep->afields);
	struct noise_field *f = &ep->fields[ep->nfields];
	memset(f, 0, sizeof(*f));
	f->pointer = xstrdup(pointer);
	ht_put(ep->by_pointer, pointer, (void *)(uintptr_t)(ep->nfields + 1));
	return ep->nfields++;
}

char *noise_value_text(const cJSON *v)
{
	if (!v)
		return NULL;
	char *text = cJSON_PrintUnformatted(v);
	if (!text)
		die("out of memory");
	size_t len = strlen(text);
	char *out;
	if (len <= NOISE_VALUE_MAX) {
		out = xstrdup(text);
	} else {
		struct strbuf sb = SB_INIT;
		jw_escape(&sb, text, NOISE_VALUE_MAX);
		out = sb_detach(&sb, NULL);
	}
	cJSON_free(text);
	return out;
}

void noise_begin(struct noise_obs *o, struct noise *n, const char *endpoint, const char *id,
		 const char *method, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->n = n;
	o->ep = ep_get(n, endpoint);
	o->id = id;
	o->method = method;
	o->path = path;
}

void noise_raw(struct noise_obs *o, const char *pointer, enum jd_kind kind, const cJSON *a,
	       const cJSON *b)
{
	size_t f = field_get(o->ep, pointer);
	for (size_t i = 0; i < o->ndiffs; i++)
		if (o->diffs[i].field == f)
			return;
	ALLOC_GROW(o->diffs, o->ndiffs + 1, o->adiffs);
	struct noise_diff *d = &o->diffs[o->ndiffs++];
	d->field = f;
	d->kind = kind;
	d->a = o->n->keep_examples ? noise_value_text(a) : NULL;
	d->b = o->n->keep_examples ? noise_value_text(b) : NULL;
}

void noise_noise(struct noise_obs *o, const char *pointer)
{
	size_t f = field_get(o->ep, pointer);
	for (size_t i = 0; i < o->nnoisy; i++)
		if (o->noisy[i] == f)
			return;
	ALLOC_GROW(o->noisy, o->nnoisy + 1, o->anoisy);
	o->noisy[o->nnoisy++] = f;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static struct noise_sig *sig_new(struct noise_ep *ep)
{
	struct noise_sig *s = xcalloc(1, sizeof(*s));
	ALLOC_GROW(ep->sigs, ep->nsigs + 1, ep->asigs);
	ep->sigs[ep->nsigs++] = s;
	return s;
}

void noise_end(struct noise_obs *o)
{
	struct noise_ep *ep = o->ep;
	ep->total++;
	for (size_t i = 0; i < o->nnoisy; i++)
		ep->fields[o->noisy[i]].noise++;
	size_t *idx = xcalloc(o->ndiffs + 1, sizeof(*idx));
	for (size_t i = 0; i < o->ndiffs; i++) {
		ep->fields[o->diffs[i].field].raw++;
		idx[i] = o->diffs[i].field;
	}
	qsort(idx, o->ndiffs, sizeof(*idx), cmp_size);
	size_t klen = o->ndiffs * sizeof(*idx);
	/* The empty signature is keyed by one zero byte: ht keys need a byte. */
	static const char empty_key[1] = { 0 };
	bool empty = klen == 0;
	const void *key = empty ? (const void *)empty_key : (const void *)idx;
	if (empty)
		klen = 1;
	struct noise_sig *s = ht_get_b(ep->by_sig, key, klen);
	bool keep = false;
	if (!s) {
		if (ep->nsigs >= NOISE_MAX_SIGNATURES) {
			s = ht_get_b(ep->by_sig, "\xff", 1);
			if (!s) {
				s = sig_new(ep);
				s->overflow = true;
				ht_put_b(ep->by_sig, "\xff", 1, s);
			}
		} else {
			s = sig_new(ep);
			s->fields = idx;
			s->nfields = o->ndiffs;
			idx = NULL;
			ht_put_b(ep->by_sig, empty ? key : (const void *)s->fields, klen, s);
			keep = o->ndiffs > 0;
		}
	}
	s->count++;
	if (keep) {
		s->id = o->id ? xstrdup(o->id) : NULL;
		s->method = o->method ? xstrdup(o->method) : NULL;
		s->path = o->path ? xstrdup(o->path) : NULL;
		s->diffs = o->diffs;
		s->ndiffs = o->ndiffs;
		o->diffs = NULL;
		o->ndiffs = 0;
	}
	free(idx);
	for (size_t i = 0; i < o->ndiffs; i++)
		diff_free(&o->diffs[i]);
	free(o->diffs);
	free(o->noisy);
	memset(o, 0, sizeof(*o));
}

bool noise_sig_reported(const struct noise_ep *ep, const struct noise_sig *sig)
{
	if (sig->overflow)
		return true;
	for (size_t i = 0; i < sig->nfields; i++)
		if (ep->fields[sig->fields[i]].reported)
			return true;
	return false;
}

void noise_decide(struct noise *n, const struct noise_rule *rule)
{
	for (size_t e = 0; e < n->neps; e++) {
		struct noise_ep *ep = n->eps[e];
		for (size_t i = 0; i < ep->nfields; i++) {
			struct noise_field *f = &ep->fields[i];
			f->reported = noise_reportable(rule, f->raw, f->noise, ep->total);
		}
		ep->matched = ep->mismatched = 0;
		for (size_t i = 0; i < ep->nsigs; i++) {
			if (noise_sig_reported(ep, ep->sigs[i]))
				ep->mismatched += ep->sigs[i]->count;
			else
				ep->matched += ep->sigs[i]->count;
		}
	}
}
