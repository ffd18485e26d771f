/*
 * fold.c: `ofs-replay fold`, the current state of every aggregate of an
 * event stream (event sourcing).
 *
 * Each event names its aggregate at --key (a JSON pointer) and is applied
 * in input order with the operation its type maps to in the reducer spec,
 * or the one it carries itself ("op", "path", "data"; reducer.h). States
 * are cJSON trees in a hash table keyed by aggregate id, kept in first-
 * seen order, and written at the end as replay.state records with the
 * jw writer. --until cuts the stream at a time (time travel); every
 * state record says up to when it holds ("through"), so a later fold
 * can start from those records (--snapshot) and apply only the events
 * after that time. Memory grows with the number of aggregates and the
 * size of their states, not with the number of events.
 */
#include "common.h"
#include <math.h>

#include "alloc.h"
#include "cmds.h"
#include "err.h"
#include "hash.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "reducer.h"
#include "strbuf.h"
#include "timefmt.h"

enum { FO_DELETED = 256, FO_SNAPSHOT, FO_STRICT, FO_TYPE_FIELD, FO_UNTIL };

const struct opt fold_opts[] = {
	{ FO_DELETED, 0, "deleted", NULL, "also write deleted aggregates (\"deleted\": true)", NULL, 0 },
	{ 'k', 'k', "key", "pointer", "JSON pointer of the aggregate id in each event",
	  NULL, OPT_REQUIRED },
	{ 'r', 'r', "reducer", "spec", "JSON file mapping event types to operations", "@file", 0 },
	{ FO_SNAPSHOT, 0, "snapshot", "file",
	  "start from the replay.state records of an earlier fold", "@file", 0 },
	{ FO_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ FO_TYPE_FIELD, 0, "type-field", "name", "the event member holding its type (default type)",
	  NULL, 0 },
	{ FO_UNTIL, 0, "until", "ts", "fold only events with ts at or before this time", NULL, 0 },
	{ 0 },
};

struct agg {
	cJSON *state;    /* NULL: deleted, or not created yet */
	int64_t version; /* events applied */
	int64_t last_ns; /* ts of the last event applied */
	bool deleted;
};

struct fold {
	struct red_path key;
	struct reducer red;
	const char *type_field;
	int64_t until_ns;
	bool has_until;
	int64_t cut_ns; /* from the snapshot: events at or before it are in it */
	bool has_cut;
	int64_t through_ns; /* the latest time the states account for */
	bool has_through;
	bool strict;
	struct ht *aggs; /* key -> struct agg * */
	struct strbuf why;
};

static void free_agg(void *p)
{
	struct agg *a = p;
	if (a) {
		cJSON_Delete(a->state);
		free(a);
	}
}

static struct agg *agg_of(struct fold *f, const char *key, size_t len)
{
	struct agg *a = ht_get_b(f->aggs, key, len);
	if (!a) {
		a = xcalloc(1, sizeof(*a));
		ht_put_b(f->aggs, key, len, a);
	}
	return a;
}

static void see_time(struct fold *f, int64_t ns)
{
	if (!f->has_through || ns > f->through_ns)
		f->through_ns = ns;
	f->has_through = true;
}

/* The ts member of v as epoch ns; -1 if it is missing or malformed. */
static int get_ts(const cJSON *v, const char *name, int64_t *ns)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, name);
	if (!cJSON_IsString(t) || ts_parse(t->valuestring, strlen(t->valuestring), ns) < 0)
		return -1;
	return 0;
}

/* The node at the pointer p in v, or NULL. */
static const cJSON *at(const cJSON *v, const struct red_path *p)
{
	for (size_t i = 0; i < p->n && v; i++) {
		if (cJSON_IsObject(v))
			v = cJSON_GetObjectItemCaseSensitive(v, p->tok[i]);
		else if (cJSON_IsArray(v) && strspn(p->tok[i], "0123456789") == strlen(p->tok[i]) &&
			 *p->tok[i] && strlen(p->tok[i]) < 10)
			v = cJSON_GetArrayItem(v, (int)strtol(p->tok[i], NULL, 10));
		else
			v = NULL;
	}
	return v;
}

static void add_ptr(struct strbuf *sb, const struct red_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		cfg_ptr_append(sb, p->tok[i]);
}

/*
 * The aggregate id at --key as text: a string as is, a whole number in
 * decimal. Returns its length, or -1 (with the reason in f->why).
 */
static int key_text(struct fold *f, const cJSON *ev, char *num, const char **out, size_t *len)
{
	const cJSON *k = at(ev, &f->key);
	if (cJSON_IsString(k)) {
		*out = k->valuestring;
		*len = strlen(k->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(k) && k->valuedouble == (double)(int64_t)k->valuedouble &&
	    fabs(k->valuedouble) < 9007199254740992.0) {
		*len = jw_format_int((int64_t)k->valuedouble, num);
		*out = num;
		return 0;
	}
	sb_addstr(&f->why, k ? "the key at " : "no key at ");
	add_ptr(&f->why, &f->key);
	if (k)
		sb_addf(&f->why, " must be a string or a whole number, got %s", cfg_type_name(k));
	return -1;
}

/* Apply one event; -1 with the reason in f->why if it is rejected. */
static int fold_event(struct fold *f, cJSON *ev)
{
	int64_t ns;
	if (get_ts(ev, "ts", &ns) < 0) {
		sb_addstr(&f->why, "missing or invalid 'ts' (want an RFC 3339 time)");
		return -1;
	}
	if (f->has_until && ns > f->until_ns)
		return 0;
	if (f->has_cut && ns <= f->cut_ns)
		return 0;
	char num[32];
	const char *key;
	size_t klen;
	if (key_text(f, ev, num, &key, &klen) < 0)
		return -1;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, f->type_field);
	const struct red_rule *rule = NULL;
	struct red_rule own;
	bool owned = false;
	if (cJSON_IsString(type))
		rule = reducer_find(&f->red, type->valuestring, strlen(type->valuestring));
	if (!rule) {
		int got = red_rule_from_event(ev, &own, &f->why);
		if (got < 0)
			return -1;
		if (got == 0) {
			if (cJSON_IsString(type))
				sb_addf(&f->why, "no rule for event type '%s' and no 'op'",
					type->valuestring);
			else
				sb_addf(&f->why, "no '%s' with a rule and no 'op'", f->type_field);
			return -1;
		}
		rule = &own;
		owned = true;
	}
	struct agg *a = agg_of(f, key, klen);
	bool deleted;
	int rc = red_apply(rule, &a->state, ev, &deleted, &f->why);
	if (owned)
		red_rule_release(&own);
	if (rc < 0)
		return -1;
	if (rule->op != RED_IGNORE) {
		a->deleted = deleted;
		a->version++;
		a->last_ns = ns;
	}
	see_time(f, ns);
	return 0;
}

/* Read one event file; returns -1 when --strict stopped it. */
static int fold_file(struct fold *f, const char *path)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, f->strict ? JSONL_STRICT : 0, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		return 0;
	}
	sb_release(&err);
	cJSON *ev;
	int got, rc = 0;
	while ((got = jsonl_next(r, &ev)) > 0) {
		sb_reset(&f->why);
		int bad = fold_event(f, ev);
		cJSON_Delete(ev);
		if (bad < 0 && jsonl_reject(r, "%s", f->why.buf) < 0) {
			rc = -1;
			break;
		}
	}
	if (got < 0)
		rc = -1;
	jsonl_close(r);
	return rc;
}

/* One replay.state record of an earlier fold; -1 with the reason. */
static int snapshot_record(struct fold *f, cJSON *rec)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "replay.state")) {
		sb_addstr(&f->why, "not a replay.state record");
		return -1;
	}
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(rec, "key");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(rec, "version");
	const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(rec, "deleted");
	int64_t last, through;
	if (!cJSON_IsString(key)) {
		sb_addstr(&f->why, "missing 'key' (a string)");
		return -1;
	}
	if (!cJSON_IsNumber(version) || version->valuedouble < 0 ||
	    version->valuedouble != (double)(int64_t)version->valuedouble) {
		sb_addstr(&f->why, "missing 'version' (a whole number >= 0)");
		return -1;
	}
	if (get_ts(rec, "last_ts", &last) < 0 || get_ts(rec, "through", &through) < 0) {
		sb_addstr(&f->why, "missing or invalid 'last_ts' or 'through'");
		return -1;
	}
	if (ht_get(f->aggs, key->valuestring)) {
		sb_addf(&f->why, "aggregate '%s' twice in the snapshot", key->valuestring);
		return -1;
	}
	struct agg *a = agg_of(f, key->valuestring, strlen(key->valuestring));
	a->deleted = cJSON_IsTrue(deleted);
	if (!a->deleted)
		a->state = cJSON_DetachItemFromObjectCaseSensitive(rec, "state");
	a->version = (int64_t)version->valuedouble;
	a->last_ns = last;
	if (!f->has_cut || through > f->cut_ns)
		f->cut_ns = through;
	f->has_cut = true;
	see_time(f, through);
	return 0;
}

static int load_snapshot(struct fold *f, const char *path)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, f->strict ? JSONL_STRICT : 0, &err);
	if (!r)
		die_usage("%s", err.buf);
	sb_release(&err);
	cJSON *rec;
	int got;
	while ((got = jsonl_next(r, &rec)) > 0) {
		sb_reset(&f->why);
		int bad = snapshot_record(f, rec);
		cJSON_Delete(rec);
		if (bad < 0 && jsonl_reject(r, "%s", f->why.buf) < 0)
			break;
	}
	jsonl_close(r);
	return got < 0 ? -1 : 0;
}

static void emit(struct fold *f, bool with_deleted)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	struct ht_iter it;
	struct out *o = out_stdout();
	char ts[TS_BUFSZ];
	int64_t through = f->has_until ? f->until_ns : f->through_ns;
	for (ht_iter(&it, f->aggs); ht_next(&it);) {
		const struct agg *a = it.value;
		if (a->deleted && !with_deleted)
			continue;
		jw_init(&w, &sb);
		rec_begin_at(&w, "replay.state", a->last_ns);
		jw_key(&w, "key");
		jw_strn(&w, it.key, it.len);
		jw_key(&w, "state");
		if (a->deleted)
			jw_null(&w);
		else if (a->state)
			jw_cjson(&w, a->state);
		else
			jw_raw(&w, "{}", 2);
		jw_kv_int(&w, "version", a->version);
		jw_kv_str(&w, "last_ts", ts_format(a->last_ns, ts));
		jw_kv_str(&w, "through", ts_format(through, ts));
		if (a->deleted)
			jw_kv_bool(&w, "deleted", true);
		rec_end(&w, o);
	}
	sb_release(&sb);
}

int cmd_fold(int argc, char **argv)
{
	struct opt_parser p;
	struct fold f;
	const char *key = NULL, *spec = NULL, *snapshot = NULL;
	bool with_deleted = false;
	struct strbuf err = SB_INIT;
	memset(&f, 0, sizeof(f));
	sb_init(&f.why, 0);
	f.type_field = "type";
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'k': key = p.arg; break;
		case 'r': spec = p.arg; break;
		case FO_DELETED: with_deleted = true; break;
		case FO_SNAPSHOT: snapshot = p.arg; break;
		case FO_STRICT: f.strict = true; break;
		case FO_TYPE_FIELD:
			if (!*p.arg)
				opt_usage_error(&p, "--type-field: empty name");
			f.type_field = p.arg;
			break;
		case FO_UNTIL:
			if (ts_parse(p.arg, strlen(p.arg), &f.until_ns) < 0)
				opt_usage_error(&p, "--until: not an RFC 3339 time: '%s'", p.arg);
			f.has_until = true;
			break;
		default: break;
		}
	}
	if (!key)
		opt_usage_error(&p, "--key is required");
	if (red_path_parse(key, &f.key, &err) < 0 || !f.key.n)
		opt_usage_error(&p, "--key: %s", err.len ? err.buf : "must name a member, not \"\"");
	if (spec && reducer_load(spec, &f.red, &err) < 0) {
		error_lines(err.buf, err.len);
		exit(EXIT_USAGE);
	}
	sb_release(&err);
	char **files;
	int nfiles = opt_operands(&p, &files);
	f.aggs = ht_new();
	int rc = 0;
	if (snapshot)
		rc = load_snapshot(&f, snapshot);
	for (int i = 0; rc == 0 && i < (nfiles ? nfiles : 1); i++)
		rc = fold_file(&f, nfiles ? files[i] : "-");
	opt_end(&p);
	if (rc == 0)
		emit(&f, with_deleted);
	ht_free(f.aggs, free_agg);
	reducer_free(&f.red);
	red_path_free(&f.key);
	sb_release(&f.why);
	return jsonl_exit_status(0);
}
