/*
 * ledger.c: the per-order tallies and the inventory's stock (see
 * ledger.h), kept in records of the idempotency store so that locking
 * and crash-safe rewriting are done once, in store.c. A tally is read
 * with cJSON and written with jw, in the order its names were added.
 */
#include "common.h"

#include <cJSON.h>

#include "jw.h"
#include "ledger.h"
#include "state.h"

int64_t *shop_tally_find(struct shop_tally *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->names[i], name))
			return &t->values[i];
	return NULL;
}

int64_t *shop_tally_at(struct shop_tally *t, const char *name)
{
	int64_t *v = shop_tally_find(t, name);
	if (v)
		return v;
	size_t alloc = t->alloc;
	ALLOC_GROW(t->names, t->n + 1, alloc);
	ALLOC_GROW(t->values, t->n + 1, t->alloc);
	t->names[t->n] = xstrdup(name);
	t->values[t->n] = 0;
	return &t->values[t->n++];
}

void shop_tally_clear(struct shop_tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	t->n = 0;
}

void shop_tally_free(struct shop_tally *t)
{
	shop_tally_clear(t);
	free(t->names);
	free(t->values);
	memset(t, 0, sizeof(*t));
}

/* Read the tally in body (NULL: empty); -1 with a message when corrupt. */
static int tally_parse(struct shop_tally *t, const char *body, const char *key, struct strbuf *err)
{
	if (!body)
		return 0;
	cJSON *doc = cJSON_Parse(body);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		sb_addf(err, "the tally of '%s' is corrupt", key);
		return -1;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, doc)
	{
		if (cJSON_IsNumber(v) && v->string)
			*shop_tally_at(t, v->string) = (int64_t)v->valuedouble;
	}
	cJSON_Delete(doc);
	return 0;
}

int shop_ledger_take(const char *store, const char *sub, const char *key, int wait_ms,
		     struct shop_ledger *l, struct strbuf *err)
{
	memset(&l->t, 0, sizeof(l->t));
	char *dir = xasprintf("%s/%s", store, sub);
	int r;
	if (state_mkdirs(dir, 0700, err) < 0) {
		memset(&l->e, 0, sizeof(l->e));
		l->e.fd = -1;
		r = -1;
	} else {
		r = shop_store_lock(dir, key, wait_ms, &l->e, err);
	}
	if (r == 0 && tally_parse(&l->t, l->e.body, key, err) < 0)
		r = -1;
	free(dir);
	return r;
}

int shop_ledger_read(const char *store, const char *sub, const char *key, struct shop_tally *t,
		     struct strbuf *err)
{
	char *dir = xasprintf("%s/%s", store, sub);
	struct shop_store_entry e;
	int r = shop_store_read(dir, key, &e, err);
	if (r == 0 && tally_parse(t, e.body, key, err) < 0)
		r = -1;
	if (r == 0 && e.body)
		r = 1;
	shop_store_unlock(&e);
	free(dir);
	return r;
}

int shop_ledger_save(struct shop_ledger *l, struct strbuf *err)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	for (size_t i = 0; i < l->t.n; i++)
		jw_kv_int(&w, l->t.names[i], l->t.values[i]);
	jw_obj_end(&w);
	shop_store_set(&l->e.body, sb.buf);
	sb_release(&sb);
	return shop_store_save(&l->e, err);
}

void shop_ledger_put(struct shop_ledger *l)
{
	shop_store_unlock(&l->e);
	shop_tally_free(&l->t);
}
