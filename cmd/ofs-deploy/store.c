/*
 * store.c: a service's state directory: its lock, the specs of its
 * revisions, current.json (what serves now), the journals of its
 * deploys replayed into instances and a phase, and history.jsonl.
 *
 * Layout and durability rules are in deploy.h and DESIGN.md section 5:
 * directories 0700, files 0600, current.json replaced atomically,
 * journals and history appended with fsync. A journal is the truth for
 * the deploy it belongs to; current.json is a summary written when a
 * deploy ends, so a reader that finds a journal without a deploy.done
 * knows a deploy was cut short and replays it instead.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>

#include "engine.h"
#include "jget.h"
#include "journal.h"
#include "lock.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

char *dp_store_dir(const char *service, bool create, struct strbuf *err)
{
	char *root = state_dir(err);
	if (!root)
		return NULL;
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s/deploy/%s", root, service);
	free(root);
	if (create) {
		struct strbuf sub = SB_INIT;
		static const char *const subs[] = { "", "/revisions", "/deploys" };
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
			sb_reset(&sub);
			sb_addf(&sub, "%s%s", sb.buf, subs[i]);
			if (state_mkdirs(sub.buf, 0700, err) < 0) {
				sb_release(&sub);
				sb_release(&sb);
				return NULL;
			}
		}
		sb_release(&sub);
	}
	return sb_detach(&sb, NULL);
}

char *dp_store_path(const struct dp_deploy *d, const char *rel)
{
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s/%s", d->dir, rel);
	return sb_detach(&sb, NULL);
}

int dp_store_lock(const char *dir, int wait_ms, struct strbuf *err)
{
	struct strbuf path = SB_INIT;
	sb_addf(&path, "%s/lock", dir);
	int fd = lock_acquire(path.buf, wait_ms, err);
	sb_release(&path);
	return fd;
}

/* ---- current.json ------------------------------------------------------ */

static void read_instances(const cJSON *arr, struct dp_inst ***v, size_t *n, size_t *a)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		struct dp_inst *in = xcalloc(1, sizeof(*in));
		if (dp_inst_read(it, in) < 0) {
			dp_inst_free(in);
			continue;
		}
		ALLOC_GROW(*v, *n + 1, *a);
		(*v)[(*n)++] = in;
	}
}

int dp_current_load(const char *dir, struct dp_current *cur, struct strbuf *err)
{
	memset(cur, 0, sizeof(*cur));
	cur->next_deploy = dp_latest_deploy(dir) + 1;
	struct strbuf path = SB_INIT, text = SB_INIT;
	sb_addf(&path, "%s/current.json", dir);
	int rc = 0;
	if (sb_read_file(&text, path.buf) < 0) {
		if (errno != ENOENT) {
			sb_addf(err, "cannot read '%s': %s", path.buf, strerror(errno));
			rc = -1;
		}
		goto out;
	}
	cJSON *o = cJSON_ParseWithLength(text.buf, text.len);
	if (!cJSON_IsObject(o)) {
		sb_addf(err, "'%s' is not a JSON object", path.buf);
		cJSON_Delete(o);
		rc = -1;
		goto out;
	}
	cur->revision = (int)jget_int(o, "revision", 0);
	cur->deploy = (int)jget_int(o, "deploy", 0);
	const char *v = jget_str(o, "version");
	cur->version = xstrdup(v ? v : "");
	size_t a = 0;
	read_instances(cJSON_GetObjectItemCaseSensitive(o, "instances"), &cur->inst, &cur->ninst,
		       &a);
	cJSON_Delete(o);
out:
	sb_release(&path);
	sb_release(&text);
	return rc;
}

void dp_current_release(struct dp_current *cur)
{
	for (size_t i = 0; i < cur->ninst; i++)
		dp_inst_free(cur->inst[i]);
	free(cur->inst);
	free(cur->version);
	memset(cur, 0, sizeof(*cur));
}

int dp_current_save(struct dp_deploy *d, int rev, const char *version, struct strbuf *err)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "service", d->service);
	jw_kv_int(&w, "revision", rev);
	jw_kv_str(&w, "version", version);
	jw_kv_int(&w, "deploy", d->number);
	char ts[TS_BUFSZ];
	jw_kv_str(&w, "ts", ts_format_now(ts));
	jw_key(&w, "instances");
	jw_arr_begin(&w);
	for (size_t i = 0; i < d->ninst; i++) {
		if (d->inst[i]->state == DP_STOPPED)
			continue;
		jw_obj_begin(&w);
		dp_inst_write(&w, d->inst[i], false);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	sb_addch(&sb, '\n');
	char *path = dp_store_path(d, "current.json");
	int rc = state_write_atomic(path, sb.buf, sb.len, 0600, err);
	free(path);
	sb_release(&sb);
	return rc;
}

/* ---- revisions ----------------------------------------------------------- */

int dp_revision_save(const char *dir, int rev, const struct dp_spec *spec, struct strbuf *err)
{
	struct strbuf path = SB_INIT;
	sb_addf(&path, "%s/revisions/%d.json", dir, rev);
	int rc = 0;
	if (access(path.buf, F_OK) != 0)
		rc = state_write_atomic(path.buf, spec->text, spec->text_len, 0600, err);
	sb_release(&path);
	return rc;
}

int dp_revision_load(const char *dir, int rev, struct dp_spec *spec, struct strbuf *err)
{
	struct strbuf path = SB_INIT, text = SB_INIT;
	sb_addf(&path, "%s/revisions/%d.json", dir, rev);
	int rc;
	if (sb_read_file(&text, path.buf) < 0) {
		sb_addf(err, "cannot read revision %d's spec '%s': %s", rev, path.buf,
			strerror(errno));
		rc = -1;
	} else {
		rc = dp_spec_parse(path.buf, text.buf, text.len, spec, err);
	}
	sb_release(&path);
	sb_release(&text);
	return rc;
}

/* ---- journals ------------------------------------------------------------ */

int dp_latest_deploy(const char *dir)
{
	struct strbuf path = SB_INIT;
	sb_addf(&path, "%s/deploys", dir);
	DIR *dh = opendir(path.buf);
	sb_release(&path);
	if (!dh)
		return 0;
	int best = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (end != de->d_name && !strcmp(end, ".jsonl") && n > best && n < INT_MAX)
			best = (int)n;
	}
	closedir(dh);
	return best;
}

static struct dp_inst *replay_find(struct dp_replay *r, const char *id)
{
	for (size_t i = 0; i < r->ninst; i++)
		if (!strcmp(r->inst[i]->id, id))
			return r->inst[i];
	return NULL;
}

static void set_str(char **dst, const char *s)
{
	if (!s)
		return;
	free(*dst);
	*dst = xstrdup(s);
}

static int replay_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	struct dp_replay *r = ctx;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *type = jget_str(o, "type");
	if (!type)
		goto out;
	if (!strcmp(type, "deploy.start")) {
		r->deploy = (int)jget_int(o, "number", r->deploy);
		r->revision = (int)jget_int(o, "revision", 0);
		r->from_revision = (int)jget_int(o, "from_revision", 0);
		set_str(&r->kind, jget_str(o, "kind"));
		set_str(&r->trace_id, jget_str(o, "trace_id"));
		const char *ts = jget_str(o, "ts");
		if (ts)
			ts_parse(ts, strlen(ts), &r->start_ns);
		read_instances(cJSON_GetObjectItemCaseSensitive(o, "instances"), &r->inst,
			       &r->ninst, &r->ainst);
		r->next_index = (int)jget_int(o, "next_index", 1);
	} else if (!strcmp(type, "deploy.instance")) {
		const char *id = jget_str(o, "instance");
		if (!id)
			goto out;
		struct dp_inst *in = replay_find(r, id);
		if (!in) {
			in = xcalloc(1, sizeof(*in));
			ALLOC_GROW(r->inst, r->ninst + 1, r->ainst);
			r->inst[r->ninst++] = in;
		}
		dp_inst_read(o, in);
		/* ids end in -N: keep the next index above every one seen */
		const char *dash = strrchr(id, '-');
		long long n;
		if (dash && num_parse_int(dash + 1, 1, INT_MAX - 1, &n, NULL) == 0 &&
		    n >= r->next_index)
			r->next_index = (int)n + 1;
	} else if (!strcmp(type, "deploy.step")) {
		set_str(&r->phase, jget_str(o, "phase"));
		int step = (int)jget_int(o, "step", 0);
		if (step > 0)
			r->step = step;
		const char *detail = jget_str(o, "detail");
		const char *phase = jget_str(o, "phase");
		/* the reason status shows: why it paused or stopped */
		if (detail && phase && (!strcmp(phase, "paused") || !strcmp(phase, "interrupted")))
			set_str(&r->reason, detail);
		else if (phase && !r->rolling_back) {
			free(r->reason); /* going on: the pause is over */
			r->reason = NULL;
		}
	} else if (!strcmp(type, "deploy.rollback")) {
		r->rolling_back = true;
		set_str(&r->reason, jget_str(o, "reason"));
	} else if (!strcmp(type, "deploy.done")) {
		r->done = true;
		set_str(&r->outcome, jget_str(o, "outcome"));
	}
out:
	cJSON_Delete(o);
	return 0;
}

int dp_replay_load(const char *path, struct dp_replay *r, struct strbuf *err)
{
	memset(r, 0, sizeof(*r));
	r->next_index = 1;
	return journal_read(path, replay_line, r, NULL, err);
}

void dp_replay_release(struct dp_replay *r)
{
	for (size_t i = 0; i < r->ninst; i++)
		dp_inst_free(r->inst[i]);
	free(r->inst);
	free(r->kind);
	free(r->phase);
	free(r->outcome);
	free(r->trace_id);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

int dp_history_append(const char *dir, const char *line, size_t len, struct strbuf *err)
{
	struct strbuf path = SB_INIT;
	sb_addf(&path, "%s/history.jsonl", dir);
	journal_repair(path.buf, NULL, NULL);
	struct journal *j = journal_open(path.buf, err);
	int rc = -1;
	if (j) {
		rc = journal_append(j, line, len, err);
		journal_close(j, NULL);
	}
	sb_release(&path);
	return rc;
}
