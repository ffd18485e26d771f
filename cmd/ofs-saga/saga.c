/*
 * saga.c: a saga's state rebuilt from its journal (saga.h), and where
 * journals live.
 *
 * Each record type moves the state one way, the same way whether it is
 * read back after a crash or was just appended by the engine, so the
 * two can never disagree. A journal that does not begin with
 * saga.started (or a snapshot), or whose definition no longer loads, is
 * refused rather than guessed at.
 */
#include "common.h"
#include <ctype.h>
#include <dirent.h>

#include "jget.h"
#include "journal.h"
#include "jw.h"
#include "saga.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

const char *const saga_phase_names[] = { "running",   "parked",	     "compensating",
					 "completed", "compensated", "stuck",
					 NULL };
const char *const step_state_names[] = { "pending",   "started", "retrying",
					 "succeeded", "failed",	 "parked",
					 NULL };
const char *const comp_state_names[] = { "none", "started", "retrying", "succeeded", "failed",
					 NULL };

bool saga_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (!n || n > 128 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			return false;
	return true;
}

char *saga_dir(bool create, struct strbuf *err)
{
	char *top = state_dir(err);
	if (!top)
		return NULL;
	char *dir = xasprintf("%s/saga", top);
	free(top);
	if (create && state_mkdirs(dir, 0700, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

char *saga_journal_path(const char *dir, const char *id)
{
	if (!saga_id_valid(id))
		die_status(EXIT_USAGE, "'%s' is not a saga id", id);
	return xasprintf("%s/%s.jsonl", dir, id);
}

static int64_t ts_of(const cJSON *rec, const char *key)
{
	const char *s = jget_str(rec, key);
	int64_t ns;
	if (!s || ts_parse(s, strlen(s), &ns) < 0)
		return 0;
	return ns;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

/* The attempt number at the end of an idempotency key ("ID/step/3"). */
static int key_attempt_of(const char *key)
{
	const char *slash = key ? strrchr(key, '/') : NULL;
	long long n;
	if (!slash || num_parse_int(slash + 1, 1, INT32_MAX, &n, NULL) < 0)
		return 1;
	return (int)n;
}

/* After a failure that gave up: a definite failure frees its key, an
 * unknown outcome keeps it (the call may yet have taken effect). */
static int next_key(int key_attempt, const cJSON *rec)
{
	const char *outcome = jget_str(rec, "outcome");
	return outcome && !strcmp(outcome, "failed") ? key_attempt + 1 : key_attempt;
}

/* Replace (or add) name in obj with a copy of v (null when v is NULL). */
static void put_copy(cJSON *obj, const char *name, const cJSON *v)
{
	cJSON *c = v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
	if (!c)
		die("out of memory");
	if (cJSON_HasObjectItem(obj, name))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, c);
	else
		cJSON_AddItemToObject(obj, name, c);
}

static int start(struct saga *s, const cJSON *rec, struct strbuf *err)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(rec, "spec");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(rec, "data");
	if (!cJSON_IsObject(spec) || !cJSON_IsObject(data)) {
		sb_addf(err, "journal '%s': saga.started lacks its definition or data", s->path);
		return -1;
	}
	struct strbuf why = SB_INIT;
	if (def_from_json(spec, s->path, &s->def, &why) < 0) {
		sb_addf(err, "journal '%s': its definition no longer loads: %s", s->path, why.buf);
		sb_release(&why);
		return -1;
	}
	sb_release(&why);
	s->data = cJSON_Duplicate(data, true);
	s->outputs = cJSON_CreateObject();
	s->signals = cJSON_CreateObject();
	s->steps = xcalloc(s->def.nsteps ? s->def.nsteps : 1, sizeof(*s->steps));
	s->order = xcalloc(s->def.nsteps ? s->def.nsteps : 1, sizeof(*s->order));
	s->started_ns = ts_of(rec, "ts");
	if (!s->data || !s->outputs || !s->signals)
		die("out of memory");
	return 0;
}

static struct step_rt *step_of(struct saga *s, const cJSON *rec, size_t *idx, struct strbuf *err)
{
	const char *name = jget_str(rec, "step");
	ssize_t i = name ? def_find(&s->def, name) : -1;
	if (i < 0) {
		sb_addf(err, "journal '%s': record %" PRId64 " names no step of the definition",
			s->path, jget_int(rec, "seq", 0));
		return NULL;
	}
	if (idx)
		*idx = (size_t)i;
	return &s->steps[i];
}

static int apply_step(struct saga *s, const cJSON *rec, struct strbuf *err)
{
	size_t i;
	struct step_rt *st = step_of(s, rec, &i, err);
	if (!st)
		return -1;
	const char *ev = jget_str(rec, "event");
	const char *name = s->def.steps[i].name;
	if (!ev) {
		sb_addf(err, "journal '%s': saga.step without an event", s->path);
		return -1;
	}
	if (!strcmp(ev, "started")) {
		st->st = STEP_STARTED;
		st->attempts = (int)jget_int(rec, "attempt", st->attempts + 1);
		st->key_attempt = key_attempt_of(jget_str(rec, "key"));
		if (!st->registered) {
			st->registered = true;
			s->order[s->norder++] = i;
		}
	} else if (!strcmp(ev, "succeeded")) {
		st->st = STEP_SUCCEEDED;
		put_copy(s->outputs, name, cJSON_GetObjectItemCaseSensitive(rec, "output"));
		const char *sig = jget_str(rec, "signal");
		if (sig)
			cJSON_DeleteItemFromObjectCaseSensitive(s->signals, sig);
		if (!st->registered) {
			st->registered = true;
			s->order[s->norder++] = i;
		}
		if (s->phase == PHASE_PARKED)
			s->phase = PHASE_RUNNING;
	} else if (!strcmp(ev, "failed")) {
		set_str(&st->error, jget_str(rec, "error"));
		const char *outcome = jget_str(rec, "outcome");
		st->last_unknown = outcome && !strcmp(outcome, "unknown");
		st->key_attempt = (int)jget_int(rec, "next_key_attempt", next_key(st->key_attempt, rec));
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(rec, "retry_in_ms");
		if (cJSON_IsNumber(in)) {
			st->st = STEP_RETRYING;
			st->retry_at = ts_of(rec, "ts") + (int64_t)(in->valuedouble * 1e6);
		} else {
			st->st = STEP_FAILED;
		}
		if (s->phase == PHASE_PARKED)
			s->phase = PHASE_RUNNING;
	} else {
		sb_addf(err, "journal '%s': unknown step event '%s'", s->path, ev);
		return -1;
	}
	return 0;
}

static int apply_comp(struct saga *s, const cJSON *rec, struct strbuf *err)
{
	struct step_rt *st = step_of(s, rec, NULL, err);
	if (!st)
		return -1;
	const char *ev = jget_str(rec, "event");
	if (ev && !strcmp(ev, "started")) {
		st->cst = COMP_STARTED;
		st->c_attempts = (int)jget_int(rec, "attempt", st->c_attempts + 1);
		st->c_key_attempt = key_attempt_of(jget_str(rec, "key"));
	} else if (ev && !strcmp(ev, "succeeded")) {
		st->cst = COMP_SUCCEEDED;
	} else if (ev && !strcmp(ev, "failed")) {
		set_str(&st->c_error, jget_str(rec, "error"));
		st->c_key_attempt = (int)jget_int(rec, "next_key_attempt", next_key(st->c_key_attempt, rec));
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(rec, "retry_in_ms");
		if (cJSON_IsNumber(in)) {
			st->cst = COMP_RETRYING;
			st->c_retry_at = ts_of(rec, "ts") + (int64_t)(in->valuedouble * 1e6);
		} else {
			st->cst = COMP_FAILED;
		}
	} else {
		sb_addf(err, "journal '%s': unknown compensation event '%s'", s->path,
			ev ? ev : "(none)");
		return -1;
	}
	return 0;
}

/* A stuck saga resumed: the step or compensation that gave up gets a
 * fresh budget of attempts. */
static void unstick(struct saga *s)
{
	for (size_t i = 0; i < s->def.nsteps; i++) {
		struct step_rt *st = &s->steps[i];
		if (!s->stuck_backward && st->st == STEP_FAILED) {
			st->st = STEP_RETRYING;
			st->retry_at = 0;
			st->base = st->attempts;
		}
		if (s->stuck_backward && st->cst == COMP_FAILED) {
			st->cst = COMP_RETRYING;
			st->c_retry_at = 0;
			st->c_base = st->c_attempts;
		}
	}
	s->phase = s->stuck_backward ? PHASE_COMPENSATING : PHASE_RUNNING;
}

/* ---- snapshots ------------------------------------------------------------ */

static int64_t ns_of(const cJSON *o, const char *key)
{
	const char *v = jget_str(o, key);
	long long n;
	return v && num_parse_int(v, 0, INT64_MAX, &n, NULL) == 0 ? (int64_t)n : 0;
}

static int state_index(const char *const *names, const char *name)
{
	for (int i = 0; name && names[i]; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

/* The rest of a snapshot's state, after start() read its spec and data. */
static int restore(struct saga *s, const cJSON *rec, struct strbuf *err)
{
	cJSON_Delete(s->outputs);
	cJSON_Delete(s->signals);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "outputs");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(rec, "signals");
	s->outputs = cJSON_IsObject(o) ? cJSON_Duplicate(o, true) : cJSON_CreateObject();
	s->signals = cJSON_IsObject(g) ? cJSON_Duplicate(g, true) : cJSON_CreateObject();
	if (!s->outputs || !s->signals)
		die("out of memory");
	int phase = state_index(saga_phase_names, jget_str(rec, "state"));
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(rec, "steps");
	const cJSON *order = cJSON_GetObjectItemCaseSensitive(rec, "order");
	if (phase < 0 || cJSON_GetArraySize(steps) != (int)s->def.nsteps || !cJSON_IsArray(order)) {
		sb_addf(err, "journal '%s': a snapshot that does not match its definition", s->path);
		return -1;
	}
	s->phase = (enum saga_phase)phase;
	s->pivot_passed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "pivot_passed"));
	s->aborted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "aborted"));
	s->stuck_backward = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "stuck_backward"));
	set_str(&s->reason, jget_str(rec, "reason"));
	s->started_ns = ns_of(rec, "started_ns");
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, steps) {
		struct step_rt *st = &s->steps[i++];
		int a = state_index(step_state_names, jget_str(it, "state"));
		int c = state_index(comp_state_names, jget_str(it, "compensation"));
		if (a < 0 || c < 0) {
			sb_addf(err, "journal '%s': a snapshot with an unknown step state", s->path);
			return -1;
		}
		st->st = (enum step_state)a;
		st->cst = (enum comp_state)c;
		st->attempts = (int)jget_int(it, "attempts", 0);
		st->key_attempt = (int)jget_int(it, "key_attempt", 1);
		st->retry_at = ns_of(it, "retry_at_ns");
		st->deadline = ns_of(it, "deadline_ns");
		st->c_attempts = (int)jget_int(it, "c_attempts", 0);
		st->c_key_attempt = (int)jget_int(it, "c_key_attempt", 1);
		st->c_retry_at = ns_of(it, "c_retry_at_ns");
		st->base = (int)jget_int(it, "base", 0);
		st->c_base = (int)jget_int(it, "c_base", 0);
		set_str(&st->error, jget_str(it, "error"));
		st->last_unknown = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "last_unknown"));
		set_str(&st->c_error, jget_str(it, "c_error"));
	}
	cJSON_ArrayForEach(it, order) {
		ssize_t k = cJSON_IsString(it) ? def_find(&s->def, it->valuestring) : -1;
		if (k < 0 || s->steps[k].registered || s->norder >= s->def.nsteps) {
			sb_addf(err, "journal '%s': a snapshot with a bad order of steps", s->path);
			return -1;
		}
		s->steps[k].registered = true;
		s->order[s->norder++] = (size_t)k;
	}
	return 0;
}

void saga_snapshot(const struct saga *s, struct jw *w)
{
	jw_kv_str(w, "definition", s->def.name);
	jw_kv_int(w, "version", s->def.version);
	jw_key(w, "data");
	jw_cjson(w, s->data);
	jw_key(w, "spec");
	jw_cjson(w, s->def.cfg.root);
	jw_kv_str(w, "state", saga_phase_names[s->phase]);
	jw_kv_bool(w, "pivot_passed", s->pivot_passed);
	jw_kv_bool(w, "aborted", s->aborted);
	jw_kv_bool(w, "stuck_backward", s->stuck_backward);
	if (s->reason)
		jw_kv_str(w, "reason", s->reason);
	jw_key(w, "started_ns");
	jw_int_str(w, s->started_ns);
	jw_key(w, "outputs");
	jw_cjson(w, s->outputs);
	jw_key(w, "signals");
	jw_cjson(w, s->signals);
	jw_key(w, "steps");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->def.nsteps; i++) {
		const struct step_rt *st = &s->steps[i];
		jw_obj_begin(w);
		jw_kv_str(w, "name", s->def.steps[i].name);
		jw_kv_str(w, "state", step_state_names[st->st]);
		jw_kv_int(w, "attempts", st->attempts);
		jw_kv_int(w, "key_attempt", st->key_attempt);
		jw_key(w, "retry_at_ns");
		jw_int_str(w, st->retry_at);
		jw_key(w, "deadline_ns");
		jw_int_str(w, st->deadline);
		if (st->error)
			jw_kv_str(w, "error", st->error);
		jw_kv_bool(w, "last_unknown", st->last_unknown);
		jw_kv_str(w, "compensation", comp_state_names[st->cst]);
		jw_kv_int(w, "c_attempts", st->c_attempts);
		jw_kv_int(w, "c_key_attempt", st->c_key_attempt);
		jw_key(w, "c_retry_at_ns");
		jw_int_str(w, st->c_retry_at);
		if (st->c_error)
			jw_kv_str(w, "c_error", st->c_error);
		jw_kv_int(w, "base", st->base);
		jw_kv_int(w, "c_base", st->c_base);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "order");
	jw_arr_begin(w);
	for (size_t k = 0; k < s->norder; k++)
		jw_str(w, s->def.steps[s->order[k]].name);
	jw_arr_end(w);
}

int saga_apply(struct saga *s, const cJSON *rec, struct strbuf *err)
{
	const char *type = jget_str(rec, "type");
	if (!type) {
		sb_addf(err, "journal '%s': a record without a type", s->path);
		return -1;
	}
	if (!s->steps && strcmp(type, "saga.started") && strcmp(type, "saga.snapshot")) {
		sb_addf(err, "journal '%s' does not begin with saga.started", s->path);
		return -1;
	}
	int64_t seq = jget_int(rec, "seq", s->seq + 1);
	int64_t ts = ts_of(rec, "ts");
	int r = 0;
	if (!strcmp(type, "saga.started") || !strcmp(type, "saga.snapshot")) {
		if (s->steps) {
			sb_addf(err, "journal '%s': %s after the first record", s->path, type);
			return -1;
		}
		r = start(s, rec, err);
		if (r == 0 && !strcmp(type, "saga.snapshot"))
			r = restore(s, rec, err);
	} else if (!strcmp(type, "saga.step")) {
		r = apply_step(s, rec, err);
	} else if (!strcmp(type, "saga.compensation")) {
		r = apply_comp(s, rec, err);
	} else if (!strcmp(type, "saga.parked")) {
		struct step_rt *st = step_of(s, rec, NULL, err);
		if (!st)
			return -1;
		st->st = STEP_PARKED;
		st->deadline = ts_of(rec, "deadline");
		if (!st->registered) {
			st->registered = true;
			s->order[s->norder++] = (size_t)(st - s->steps);
		}
		s->phase = PHASE_PARKED;
	} else if (!strcmp(type, "saga.signalled")) {
		const char *sig = jget_str(rec, "signal");
		if (!sig) {
			sb_addf(err, "journal '%s': saga.signalled without a signal", s->path);
			return -1;
		}
		put_copy(s->signals, sig, cJSON_GetObjectItemCaseSensitive(rec, "data"));
	} else if (!strcmp(type, "saga.pivot")) {
		s->pivot_passed = true;
	} else if (!strcmp(type, "saga.compensating") || !strcmp(type, "saga.aborted")) {
		s->phase = PHASE_COMPENSATING;
		s->aborted |= !strcmp(type, "saga.aborted");
		set_str(&s->reason, jget_str(rec, "reason"));
	} else if (!strcmp(type, "saga.completed")) {
		s->phase = PHASE_COMPLETED;
	} else if (!strcmp(type, "saga.compensated")) {
		s->phase = PHASE_COMPENSATED;
	} else if (!strcmp(type, "saga.stuck")) {
		s->stuck_backward = s->phase == PHASE_COMPENSATING;
		s->phase = PHASE_STUCK;
		set_str(&s->reason, jget_str(rec, "reason"));
	} else if (!strcmp(type, "saga.resumed")) {
		if (s->phase == PHASE_STUCK)
			unstick(s);
	} else {
		sb_addf(err, "journal '%s': unknown record type '%s'", s->path, type);
		return -1;
	}
	if (r == 0) {
		s->lines = !strcmp(type, "saga.snapshot") ? 1 : s->lines + 1;
		s->seq = seq;
		if (ts)
			s->updated_ns = ts;
	}
	return r;
}

struct load_ctx {
	struct saga *s;
	struct strbuf *err;
};

static int load_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	struct load_ctx *c = ctx;
	(void)lineno;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!rec)
		die("out of memory");
	int r = saga_apply(c->s, rec, c->err);
	cJSON_Delete(rec);
	return r < 0 ? -1 : 0;
}

int saga_load(const char *path, struct saga *s, struct strbuf *err)
{
	memset(s, 0, sizeof(*s));
	s->def.pivot = -1;
	s->path = xstrdup(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	s->id = n > 6 && !strcmp(base + n - 6, ".jsonl") ? xstrndup(base, n - 6) : xstrdup(base);
	struct load_ctx c = { s, err };
	if (journal_read(path, load_line, &c, NULL, err) != 0)
		return -1;
	if (!s->steps) {
		sb_addf(err, "journal '%s' is empty", path);
		return -1;
	}
	return 0;
}

void saga_free(struct saga *s)
{
	if (s->steps)
		for (size_t i = 0; i < s->def.nsteps; i++) {
			free(s->steps[i].error);
			free(s->steps[i].c_error);
		}
	free(s->steps);
	free(s->order);
	def_free(&s->def);
	cJSON_Delete(s->data);
	cJSON_Delete(s->outputs);
	cJSON_Delete(s->signals);
	free(s->reason);
	free(s->id);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

bool saga_ended(const struct saga *s)
{
	return s->phase == PHASE_COMPLETED || s->phase == PHASE_COMPENSATED;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool saga_exists(const char *path)
{
	struct journal_stats st;
	return journal_read(path, NULL, NULL, &st, NULL) == 0 && st.lines > 0;
}

char **saga_list_ids(const char *dir, size_t *n, struct strbuf *err)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return xcalloc(1, sizeof(char *));
		sb_addf(err, "cannot open '%s': %s", dir, strerror(errno));
		return NULL;
	}
	char **ids = NULL;
	size_t alloc = 0;
	const struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 6 || strcmp(de->d_name + len - 6, ".jsonl"))
			continue;
		char *id = xstrndup(de->d_name, len - 6);
		char *path = xasprintf("%s/%s", dir, de->d_name);
		bool there = saga_exists(path);
		free(path);
		if (!saga_id_valid(id) || !there) {
			free(id);
			continue;
		}
		ALLOC_GROW(ids, *n + 2, alloc);
		ids[(*n)++] = id;
	}
	closedir(d);
	if (!ids)
		ids = xcalloc(1, sizeof(char *));
	qsort(ids, *n, sizeof(*ids), by_name);
	ids[*n] = NULL;
	return ids;
}

void saga_ids_free(char **ids)
{
	for (size_t i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}
