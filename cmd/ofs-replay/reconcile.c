/*
 * reconcile.c: `ofs-replay reconcile A B`, one event log out of two that
 * diverged during a partition, with the state it leads to and the
 * conflicts it holds.
 *
 * Every event updates one field of one aggregate and carries an id, a
 * hybrid logical clock stamp and, for fields that need causality, a
 * vector clock (hlc.h). Each field merges by the strategy the spec
 * gives it: lww (the greatest stamp wins), vc (the causally latest
 * update wins; updates that are concurrent are all reported as a
 * replay.conflict and the greatest stamp is kept provisionally), counter
 * (a PN-counter: the sum of every distinct increment) or set (an
 * add-wins observed-remove set: a remove takes away only the adds that
 * causally precede it). Events present in both logs (same id) count
 * once. Everything here depends only on the set of events, never on
 * which log held them or in what order, so `A B` and `B A` give the same
 * output, and merging the result with either log again changes nothing.
 * Both logs are held in memory: they are the divergent tails of a
 * partition, not whole histories.
 */
#include "common.h"

#include "alloc.h"
#include "cmds.h"
#include "config.h"
#include "err.h"
#include "hash.h"
#include "hlc.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "reducer.h"
#include "strbuf.h"

enum { RC_STRICT = 256 };

const struct opt reconcile_opts[] = {
	{ 's', 's', "spec", "file", "JSON file: the key pointer and a strategy per field", "@file",
	  0 },
	{ RC_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

enum strat { ST_LWW, ST_VC, ST_COUNTER, ST_SET };
static const char *const strat_names[] = { "lww", "vc", "counter", "set", NULL };

struct spec {
	struct red_path key;
	struct ht *fields; /* field -> (strategy + 1) as a pointer-sized int */
	enum strat dflt;
};

struct ev {
	char *id;
	char *line; /* the raw record, written out as it came */
	cJSON *json;
	struct hlc h;
	const cJSON *vc;
	const char *key, *field;
	enum strat st;
	const cJSON *payload; /* value, inc, add or remove */
	bool remove;          /* set: a remove */
};

struct field {
	char *name;
	enum strat st;
	struct ev **evs; /* in merged order */
	size_t n, alloc;
};

struct agg {
	struct ht *fields; /* name -> struct field * */
	size_t nevents;
	struct ev *last;
};

struct rec {
	struct spec spec;
	struct ht *byid; /* id -> struct ev * */
	bool strict;
	struct strbuf why;
};

static int load_spec(const char *path, struct spec *s)
{
	struct cfg cfg;
	struct strbuf err = SB_INIT;
	s->fields = ht_new();
	s->dflt = ST_LWW;
	red_path_parse("/key", &s->key, &err);
	if (!path)
		return 0;
	if (cfg_load(path, &cfg, &err) < 0) {
		error("%s", err.buf);
		sb_release(&err);
		cfg_free(&cfg);
		return -1;
	}
	static const char *const keys[] = { "key", "fields", "default", NULL };
	cJSON *root = cfg_root_object(&cfg), *fields = NULL;
	const char *key;
	int d;
	cfg_check_keys(&cfg, root, "", keys);
	if (cfg_get_string(&cfg, root, "", "key", false, &key) == 1) {
		red_path_free(&s->key);
		sb_reset(&err);
		if (red_path_parse(key, &s->key, &err) < 0 || !s->key.n)
			cfg_error(&cfg, "/key", "%s", err.len ? err.buf : "must name a member, not \"\"");
	}
	if (cfg_get_enum(&cfg, root, "", "default", false, strat_names, &d) == 1)
		s->dflt = (enum strat)d;
	if (cfg_get_object(&cfg, root, "", "fields", false, &fields) == 1)
		for (const cJSON *f = fields->child; f; f = f->next)
			if (cfg_get_enum(&cfg, f, cfg_ptr_key(&cfg, "/fields", f->string), NULL,
					 false, strat_names, &d) == 1)
				ht_put(s->fields, f->string, (void *)(intptr_t)(d + 1));
	int bad = cfg.nerrors;
	if (bad)
		cfg_report(&cfg);
	cfg_free(&cfg);
	sb_release(&err);
	return bad ? -1 : 0;
}

static void free_ev(void *p)
{
	struct ev *e = p;
	if (e) {
		free(e->id);
		free(e->line);
		cJSON_Delete(e->json);
		free(e);
	}
}

static const cJSON *member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Check one event and fill e; -1 with the reason in r->why. */
static int read_event(struct rec *r, cJSON *v, struct ev *e)
{
	const cJSON *id = member(v, "id"), *field = member(v, "field"), *k = v;
	if (!cJSON_IsString(id) || !*id->valuestring)
		return sb_addstr(&r->why, "missing 'id' (a non-empty string)"), -1;
	for (size_t i = 0; i < r->spec.key.n && k; i++)
		k = member(k, r->spec.key.tok[i]);
	if (!cJSON_IsString(k)) {
		sb_addstr(&r->why, "no key (a string) at ");
		for (size_t i = 0; i < r->spec.key.n; i++)
			cfg_ptr_append(&r->why, r->spec.key.tok[i]);
		return -1;
	}
	if (hlc_parse(member(v, "hlc"), &e->h, &r->why) < 0)
		return -1;
	if (!cJSON_IsString(field) || !*field->valuestring)
		return sb_addstr(&r->why, "missing 'field' (a non-empty string)"), -1;
	e->vc = member(v, "vc");
	if (e->vc && vc_valid(e->vc, &r->why) < 0)
		return -1;
	e->key = k->valuestring;
	e->field = field->valuestring;
	void *st = ht_get(r->spec.fields, e->field);
	e->st = st ? (enum strat)((intptr_t)st - 1) : r->spec.dflt;
	switch (e->st) {
	case ST_LWW:
	case ST_VC:
		e->payload = member(v, "value");
		if (!e->payload)
			return sb_addf(&r->why, "field '%s' (%s) needs 'value'", e->field,
				       strat_names[e->st]), -1;
		break;
	case ST_COUNTER:
		e->payload = member(v, "inc");
		if (!cJSON_IsNumber(e->payload))
			return sb_addf(&r->why, "field '%s' (counter) needs 'inc' (a number)",
				       e->field), -1;
		break;
	case ST_SET:
		e->payload = member(v, "add");
		if (!e->payload) {
			e->payload = member(v, "remove");
			e->remove = true;
		}
		if (!e->payload || (member(v, "add") && member(v, "remove")))
			return sb_addf(&r->why, "field '%s' (set) needs one of 'add' and 'remove'",
				       e->field), -1;
		break;
	}
	if ((e->st == ST_VC || e->st == ST_SET) && !e->vc)
		return sb_addf(&r->why, "field '%s' (%s) needs 'vc'", e->field,
			       strat_names[e->st]), -1;
	e->id = xstrdup(id->valuestring);
	return 0;
}

static int read_log(struct rec *r, const char *path)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *jr = jsonl_open(path, r->strict ? JSONL_STRICT : 0, &err);
	if (!jr) {
		error("%s", err.buf);
		sb_release(&err);
		return 0;
	}
	sb_release(&err);
	cJSON *v;
	int got;
	while ((got = jsonl_next(jr, &v)) > 0) {
		const cJSON *type = member(v, "type");
		if (cJSON_IsString(type) && (!strcmp(type->valuestring, "replay.state") ||
					     !strcmp(type->valuestring, "replay.conflict"))) {
			cJSON_Delete(v); /* an earlier reconcile's results: not events */
			continue;
		}
		struct ev *e = xcalloc(1, sizeof(*e));
		sb_reset(&r->why);
		if (read_event(r, v, e) < 0) {
			cJSON_Delete(v);
			free_ev(e);
			if (jsonl_reject(jr, "%s", r->why.buf) < 0)
				break;
			continue;
		}
		size_t len;
		const char *line = jsonl_line(jr, &len);
		e->line = xstrndup(line, len);
		e->json = v;
		struct ev *old = ht_get(r->byid, e->id);
		if (!old) {
			ht_put(r->byid, e->id, e);
		} else if (strcmp(e->line, old->line) < 0) {
			/* The same id with other text: keep one by a rule that does
			 * not depend on the order of the logs. */
			ht_put(r->byid, e->id, e);
			free_ev(old);
		} else {
			free_ev(e);
		}
	}
	jsonl_close(jr);
	return got < 0 ? -1 : 0;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = *(struct ev *const *)a, *y = *(struct ev *const *)b;
	int c = hlc_cmp(&x->h, &y->h);
	return c ? c : strcmp(x->id, y->id);
}

static void free_field(void *p)
{
	struct field *f = p;
	free(f->name);
	free(f->evs);
	free(f);
}

static void free_agg(void *p)
{
	struct agg *a = p;
	ht_free(a->fields, free_field);
	free(a);
}

static void kv_hlc(struct jw *w, const char *key, const struct hlc *h)
{
	struct strbuf sb = SB_INIT;
	hlc_format(&sb, h);
	jw_kv_str(w, key, sb.buf);
	sb_release(&sb);
}

static int64_t hlc_ns(const struct hlc *h)
{
	return h->l > INT64_MAX / 1000000 ? INT64_MAX : h->l * 1000000;
}

/* vc: the updates no other update causally follows, in merged order. */
static size_t maximal(const struct field *f, struct ev **out)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++) {
		bool dominated = false;
		for (size_t j = 0; j < f->n && !dominated; j++)
			if (j != i && vc_compare(f->evs[i]->vc, f->evs[j]->vc) == VC_BEFORE)
				dominated = true;
		if (!dominated)
			out[n++] = f->evs[i];
	}
	return n;
}

/* A replay.conflict record of the n concurrent updates c, as a line. */
static void write_conflict(const char *key, const struct field *f, struct ev **c, size_t n,
			   struct strbuf *dst)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin_at(&w, "replay.conflict", hlc_ns(&c[n - 1]->h));
	jw_kv_str(&w, "key", key);
	jw_kv_str(&w, "field", f->name);
	jw_key(&w, "values");
	jw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(&w);
		jw_kv_str(&w, "id", c[i]->id);
		jw_key(&w, "value");
		jw_cjson(&w, c[i]->payload);
		kv_hlc(&w, "hlc", &c[i]->h);
		jw_key(&w, "vc");
		jw_cjson(&w, c[i]->vc);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kv_str(&w, "kept", c[n - 1]->id);
	jw_obj_end(&w);
	sb_add(dst, sb.buf, sb.len);
	sb_addch(dst, '\n');
	sb_release(&sb);
}

/* The set's members: each add that no remove of the same element
 * causally follows survives (add wins over a concurrent remove). */
static void write_set(struct jw *w, const struct field *f)
{
	struct strbuf a = SB_INIT, b = SB_INIT;
	struct ht *done = ht_new();
	jw_arr_begin(w);
	for (size_t i = 0; i < f->n; i++) {
		const struct ev *add = f->evs[i];
		if (add->remove)
			continue;
		sb_reset(&a);
		struct jw wa;
		jw_init(&wa, &a);
		jw_cjson(&wa, add->payload);
		if (ht_has(done, a.buf))
			continue;
		bool removed = false;
		for (size_t j = 0; j < f->n && !removed; j++) {
			const struct ev *rm = f->evs[j];
			if (!rm->remove)
				continue;
			enum vc_order ord = vc_compare(add->vc, rm->vc);
			if (ord != VC_BEFORE && ord != VC_EQUAL)
				continue;
			sb_reset(&b);
			struct jw wb;
			jw_init(&wb, &b);
			jw_cjson(&wb, rm->payload);
			removed = !strcmp(a.buf, b.buf);
		}
		if (!removed) {
			ht_put(done, a.buf, NULL);
			jw_cjson(w, add->payload);
		}
	}
	jw_arr_end(w);
	ht_free(done, NULL);
	sb_release(&a);
	sb_release(&b);
}

static size_t write_results(struct ev **evs, size_t n, struct out *o)
{
	struct ht *aggs = ht_new();
	for (size_t i = 0; i < n; i++) {
		struct ev *e = evs[i];
		out_write(o, e->line, strlen(e->line));
		out_write(o, "\n", 1);
		struct agg *a = ht_get(aggs, e->key);
		if (!a) {
			a = xcalloc(1, sizeof(*a));
			a->fields = ht_new();
			ht_put(aggs, e->key, a);
		}
		a->nevents++;
		a->last = e;
		struct field *f = ht_get(a->fields, e->field);
		if (!f) {
			f = xcalloc(1, sizeof(*f));
			f->name = xstrdup(e->field);
			f->st = e->st;
			ht_put(a->fields, e->field, f);
		}
		ALLOC_GROW(f->evs, f->n + 1, f->alloc);
		f->evs[f->n++] = e;
	}
	struct strbuf sb = SB_INIT, conflicts = SB_INIT;
	struct ht_iter ai, fi;
	size_t nconflicts = 0;
	struct ev **max = xcalloc(n ? n : 1, sizeof(*max));
	for (ht_iter(&ai, aggs); ht_next(&ai);) {
		struct agg *a = ai.value;
		struct jw w;
		jw_init(&w, &sb);
		rec_begin_at(&w, "replay.state", hlc_ns(&a->last->h));
		jw_kv_str(&w, "key", ai.key);
		jw_key(&w, "state");
		jw_obj_begin(&w);
		for (ht_iter(&fi, a->fields); ht_next(&fi);) {
			struct field *f = fi.value;
			jw_key(&w, f->name);
			double sum = 0;
			size_t m;
			switch (f->st) {
			case ST_LWW: /* evs are in merged order: the last is the latest */
				jw_cjson(&w, f->evs[f->n - 1]->payload);
				break;
			case ST_VC:
				m = maximal(f, max);
				jw_cjson(&w, max[m - 1]->payload);
				if (m > 1) { /* written after the states */
					write_conflict(ai.key, f, max, m, &conflicts);
					nconflicts++;
				}
				break;
			case ST_COUNTER:
				for (size_t i = 0; i < f->n; i++)
					sum += f->evs[i]->payload->valuedouble;
				jw_double(&w, sum);
				break;
			case ST_SET:
				write_set(&w, f);
				break;
			}
		}
		jw_obj_end(&w);
		jw_kv_int(&w, "version", (int64_t)a->nevents);
		kv_hlc(&w, "last_hlc", &a->last->h);
		rec_end(&w, o);
	}
	out_write(o, conflicts.buf, conflicts.len);
	free(max);
	sb_release(&sb);
	sb_release(&conflicts);
	ht_free(aggs, free_agg);
	return nconflicts;
}

int cmd_reconcile(int argc, char **argv)
{
	struct opt_parser p;
	struct rec r;
	const char *spec = NULL;
	memset(&r, 0, sizeof(r));
	sb_init(&r.why, 0);
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 's': spec = p.arg; break;
		case RC_STRICT: r.strict = true; break;
		default: break;
		}
	}
	char **files;
	if (opt_operands(&p, &files) != 2)
		opt_usage_error(&p, "want two event logs, A and B");
	if (load_spec(spec, &r.spec) < 0)
		exit(EXIT_USAGE);
	r.byid = ht_new();
	int rc = read_log(&r, files[0]);
	if (rc == 0)
		rc = read_log(&r, files[1]);
	opt_end(&p);
	size_t n = ht_len(r.byid), k = 0, nconflicts = 0;
	struct ev **evs = xcalloc(n ? n : 1, sizeof(*evs));
	struct ht_iter it;
	for (ht_iter(&it, r.byid); ht_next(&it);)
		evs[k++] = it.value;
	qsort(evs, n, sizeof(*evs), cmp_ev);
	if (rc == 0)
		nconflicts = write_results(evs, n, out_stdout());
	free(evs);
	ht_free(r.byid, free_ev);
	ht_free(r.spec.fields, NULL);
	red_path_free(&r.spec.key);
	sb_release(&r.why);
	return jsonl_exit_status(nconflicts ? EXIT_NO : EXIT_OK);
}
