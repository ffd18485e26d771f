/*
 * fault.c: the native faults of ofs-chaos as one interface: validation
 * of a fault provider, its target, injection and undo, each dispatched
 * to the kind's file (fault_kill.c, fault_pause.c, fault_stress.c,
 * fault_corrupt.c, fault_exec.c, fault_proxy.c).
 *
 * The order of an injection is what makes faults recoverable after a
 * crash: the kind plans without side effects, then fault_commit writes
 * the inject record (with everything needed to undo the fault without
 * this process) to the ledger and fsyncs it, and only then does the kind
 * act. A fault that was recorded but could not be injected is marked
 * undone at once, so the ledger never holds a live fault that is not in
 * force. Undo appends "undone" or "undo_failed" after acting, so a crash
 * between the two leaves the fault live and `recover` undoes it again,
 * which every kind's undo tolerates.
 */
#include "common.h"
#include <math.h>
#include <poll.h>

#include "chaos.h"
#include "fault.h"
#include "pid.h"
#include "sig.h"
#include "suggest.h"
#include "timefmt.h"
#include "units.h"

static const struct fault_kind *const kinds[] = {
	&fault_kind_kill,   &fault_kind_pause, &fault_kind_stress,
	&fault_kind_corrupt, &fault_kind_exec, &fault_kind_proxy,
};

const struct fault_kind *fault_kind_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

/* ---- validation helpers ----------------------------------------------- */

int fv_deferred(const struct fv *v, const cJSON *obj, const char *key)
{
	if (v->strict || !cJSON_IsObject(obj))
		return 0;
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(item) && strstr(item->valuestring, "${") != NULL;
}

int fv_string(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	      const char **out)
{
	const char *s = NULL;
	int r = cfg_get_string(v->cfg, obj, ptr, key, required, &s);
	if (r == 1 && !*s) {
		cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, key), "must not be empty");
		return -1;
	}
	if (r == 1)
		*out = s;
	return r;
}

int fv_int(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	   int64_t min, int64_t max, int64_t *out)
{
	if (fv_deferred(v, obj, key))
		return 0;
	return cfg_get_int(v->cfg, obj, ptr, key, required, min, max, out);
}

int fv_duration(struct fv *v, const cJSON *obj, const char *ptr, const char *key,
		bool required, int64_t *ns)
{
	if (fv_deferred(v, obj, key))
		return 0;
	int64_t d = 0;
	int r = cfg_get_duration(v->cfg, obj, ptr, key, required, &d);
	if (r == 1 && d <= 0) {
		cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, key), "must be more than 0");
		return -1;
	}
	if (r == 1)
		*ns = d;
	return r;
}

int fv_size(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	    uint64_t *bytes)
{
	if (fv_deferred(v, obj, key))
		return 0;
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *p = cfg_ptr_key(v->cfg, ptr, key);
	if (!item) {
		if (required)
			cfg_error(v->cfg, ptr, "missing required key '%s'", key);
		return required ? -1 : 0;
	}
	uint64_t n = 0;
	if (cJSON_IsString(item)) {
		struct strbuf e = SB_INIT;
		if (size_parse(item->valuestring, &n, &e) < 0) {
			cfg_error(v->cfg, p, "%s", e.buf);
			sb_release(&e);
			return -1;
		}
		sb_release(&e);
	} else if (cJSON_IsNumber(item) && item->valuedouble >= 0 &&
		   item->valuedouble == (double)(uint64_t)item->valuedouble) {
		n = (uint64_t)item->valuedouble;
	} else {
		cfg_error(v->cfg, p, "must be a size (like \"256M\") or a number of bytes, got %s",
			  cfg_type_name(item));
		return -1;
	}
	if (!n) {
		cfg_error(v->cfg, p, "must be more than 0");
		return -1;
	}
	*bytes = n;
	return 1;
}

int fv_enum(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	    const char *const *names, int *out)
{
	if (fv_deferred(v, obj, key))
		return 0;
	return cfg_get_enum(v->cfg, obj, ptr, key, required, names, out);
}

int fv_command(struct fv *v, const cJSON *obj, const char *ptr, const char *key,
	       bool required)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!item) {
		if (required)
			cfg_error(v->cfg, ptr, "missing required key '%s'", key);
		return required ? -1 : 0;
	}
	const char *p = cfg_ptr_key(v->cfg, ptr, key);
	if (cJSON_IsString(item)) {
		if (!*item->valuestring) {
			cfg_error(v->cfg, p, "must not be empty");
			return -1;
		}
		return 1;
	}
	if (!cJSON_IsArray(item)) {
		cfg_error(v->cfg, p, "must be an argv array or a shell string, got %s",
			  cfg_type_name(item));
		return -1;
	}
	if (!cJSON_GetArraySize(item)) {
		cfg_error(v->cfg, p, "must not be empty");
		return -1;
	}
	int bad = 0;
	size_t i = 0;
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		if (!cJSON_IsString(e)) {
			cfg_error(v->cfg, cfg_ptr_index(v->cfg, p, i), "must be a string, got %s",
				  cfg_type_name(e));
			bad = 1;
		} else if (i == 0 && !*e->valuestring) {
			cfg_error(v->cfg, cfg_ptr_index(v->cfg, p, i), "must not be empty");
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

/* ---- readers of a validated provider ----------------------------------- */

const char *fget_str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

int64_t fget_int(const cJSON *obj, const char *key, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

int64_t fget_dur(const cJSON *obj, const char *key, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	int64_t ns;
	if (cJSON_IsNumber(v))
		return llround(v->valuedouble * 1e9);
	if (cJSON_IsString(v) && dur_parse(v->valuestring, &ns, NULL) == 0)
		return ns;
	return def;
}

uint64_t fget_size(const cJSON *obj, const char *key, uint64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	uint64_t n;
	if (cJSON_IsNumber(v))
		return (uint64_t)v->valuedouble;
	if (cJSON_IsString(v) && size_parse(v->valuestring, &n, NULL) == 0)
		return n;
	return def;
}

/* ---- validation -------------------------------------------------------- */

static bool kind_has_key(const struct fault_kind *k, const char *key)
{
	for (size_t i = 0; k->keys[i]; i++)
		if (!strcmp(k->keys[i], key))
			return true;
	return false;
}

int fault_check(struct cfg *cfg, const cJSON *prov, const char *ptr, bool strict)
{
	int before = cfg->nerrors;
	struct fv v = { cfg, strict };
	if (!cJSON_IsObject(prov)) {
		cfg_error(cfg, ptr, "a fault must be an object, got %s", cfg_type_name(prov));
		return cfg->nerrors - before;
	}
	if (fv_deferred(&v, prov, "kind"))
		return 0; /* its keys can only be known after substitution */
	const char *name = NULL;
	if (cfg_get_string(cfg, prov, ptr, "kind", true, &name) <= 0)
		return cfg->nerrors - before;
	const struct fault_kind *k = fault_kind_find(name);
	if (!k) {
		const char *names[ARRAY_SIZE(kinds)];
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			names[i] = kinds[i]->name;
		const char *near = suggest_closest(name, names, ARRAY_SIZE(kinds));
		if (near)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "kind"),
				  "unknown fault kind '%s'; did you mean '%s'?", name, near);
		else
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "kind"),
				  "unknown fault kind '%s' (want kill, pause, stress, corrupt, exec "
				  "or proxy)", name);
		return cfg->nerrors - before;
	}
	const char *allowed[24];
	size_t n = 0;
	allowed[n++] = "type";
	allowed[n++] = "kind";
	for (size_t i = 0; k->keys[i] && n + 1 < ARRAY_SIZE(allowed); i++)
		allowed[n++] = k->keys[i];
	allowed[n] = NULL;
	cfg_check_keys(cfg, prov, ptr, allowed);
	if (kind_has_key(k, "duration")) {
		int64_t d;
		fv_duration(&v, prov, ptr, "duration", false, &d);
	}
	k->validate(&v, prov, ptr);
	return cfg->nerrors - before;
}

int fault_validate(struct cfg *cfg, const cJSON *prov, const char *ptr)
{
	return fault_check(cfg, prov, ptr, false);
}

int fault_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	const struct fault_kind *k = fault_kind_find(fget_str(prov, "kind"));
	if (!k)
		return -1;
	size_t len = target->len;
	if (k->target(prov, topo, target) < 0) {
		sb_setlen(target, len);
		return -1;
	}
	return 0;
}

/* ---- injection --------------------------------------------------------- */

/* The errors of a cfg as one line: "fault: /pid: must be ...; ...". */
static void add_cfg_errors(struct strbuf *err, const struct cfg *cfg)
{
	const char *s = cfg->errors.buf;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (s != cfg->errors.buf)
			sb_addstr(err, "; ");
		sb_add(err, s, len);
		s += len + (nl ? 1 : 0);
	}
}

int fault_commit(struct fault_op *op, struct strbuf *err)
{
	struct fault_ctx *fc = op->fc;
	if (fc->dry_run)
		return 1;
	if (!fc->ledger) {
		sb_addstr(err, "no fault ledger to record the fault in");
		return -1;
	}
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "op", "inject");
	cJSON_AddStringToObject(rec, "uid", op->uid);
	if (fc->run_id)
		cJSON_AddStringToObject(rec, "run", fc->run_id);
	else
		cJSON_AddNullToObject(rec, "run");
	cJSON_AddNumberToObject(rec, "pid", (double)getpid());
	cJSON_AddNumberToObject(rec, "pid_start", (double)pid_self_start());
	if (fc->experiment)
		cJSON_AddStringToObject(rec, "experiment", fc->experiment);
	else
		cJSON_AddNullToObject(rec, "experiment");
	cJSON_AddStringToObject(rec, "kind", op->kind);
	cJSON_AddStringToObject(rec, "target", op->target.buf);
	cJSON_AddItemToObject(rec, "undo", cJSON_Duplicate(op->undo, 1));
	if (op->duration_ns) {
		char ts[TS_BUFSZ];
		op->until_ns = ts_now_ns() + op->duration_ns;
		cJSON_AddStringToObject(rec, "until", ts_format(op->until_ns, ts));
	}
	int r = ledger_append(fc->ledger, rec, err);
	cJSON_Delete(rec);
	if (r == 0)
		op->recorded = true;
	return r;
}

/* Append an "undone"/"undo_failed" record; -1 with err if it cannot be. */
static int record_end(struct fault_ctx *fc, const char *op, const char *uid, const char *kind,
		      const char *target, const char *reason, struct strbuf *err)
{
	if (!fc->ledger)
		return 0;
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "op", op);
	cJSON_AddStringToObject(rec, "uid", uid);
	if (kind)
		cJSON_AddStringToObject(rec, "kind", kind);
	if (target)
		cJSON_AddStringToObject(rec, "target", target);
	if (reason && *reason)
		cJSON_AddStringToObject(rec, "reason", reason);
	int r = ledger_append(fc->ledger, rec, err);
	cJSON_Delete(rec);
	return r;
}

static double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

int fault_inject(struct fault_ctx *fc, const cJSON *prov, cJSON **output, struct strbuf *err)
{
	*output = NULL;
	struct cfg cfg;
	cfg_init(&cfg, "fault");
	if (fault_check(&cfg, prov, "", true) > 0) {
		add_cfg_errors(err, &cfg);
		cfg_free(&cfg);
		return -1;
	}
	cfg_free(&cfg);
	const struct fault_kind *k = fault_kind_find(fget_str(prov, "kind"));

	struct fault_op op;
	memset(&op, 0, sizeof(op));
	op.fc = fc;
	op.prov = prov;
	op.kind = k->name;
	sb_init(&op.target, 0);
	op.undo = cJSON_CreateObject();
	op.out = cJSON_CreateObject();
	op.duration_ns = fget_dur(prov, "duration", 0);
	if (!fc->dry_run)
		ledger_new_uid(op.uid);

	int r = k->inject(&op, err);
	if (r < 0 && op.recorded) {
		struct strbuf why = SB_INIT;
		sb_addf(&why, "not injected: %s", err->buf);
		struct strbuf e2 = SB_INIT;
		if (record_end(fc, "undone", op.uid, op.kind, op.target.buf, why.buf, &e2) < 0)
			sb_addf(err, " (and it cannot be marked undone in the ledger: %s)", e2.buf);
		sb_release(&e2);
		sb_release(&why);
	}
	if (r >= 0) {
		cJSON *o = cJSON_CreateObject();
		if (r == 1)
			cJSON_AddTrueToObject(o, "dry_run");
		else
			cJSON_AddStringToObject(o, "uid", op.uid);
		cJSON_AddStringToObject(o, "kind", op.kind);
		cJSON_AddStringToObject(o, "target", op.target.buf);
		while (op.out->child) {
			cJSON *item = cJSON_DetachItemViaPointer(op.out, op.out->child);
			cJSON_AddItemToObject(o, item->string, item);
		}
		if (op.duration_ns)
			cJSON_AddNumberToObject(o, "duration_s", secs(op.duration_ns));
		if (r == 0 && op.until_ns) {
			char ts[TS_BUFSZ];
			cJSON_AddStringToObject(o, "until", ts_format(op.until_ns, ts));
		}
		*output = o;
	}
	sb_release(&op.target);
	cJSON_Delete(op.undo);
	cJSON_Delete(op.out);
	return r < 0 ? -1 : 0;
}

/* ---- undo -------------------------------------------------------------- */

int fault_undo_note(struct fault_ctx *fc, const cJSON *inject_rec, struct strbuf *note,
		    struct strbuf *err)
{
	const char *uid = fget_str(inject_rec, "uid");
	const char *kind = fget_str(inject_rec, "kind");
	const char *target = fget_str(inject_rec, "target");
	const cJSON *undo = cJSON_GetObjectItemCaseSensitive(inject_rec, "undo");
	if (!uid) {
		sb_addstr(err, "the inject record has no uid");
		return -1;
	}
	const struct fault_kind *k = fault_kind_find(kind);
	struct strbuf why = SB_INIT;
	int r;
	if (fc->dry_run) {
		sb_addstr(note, "dry run: nothing undone");
		return 0;
	}
	if (!k) {
		sb_addf(&why, "unknown fault kind '%s' in the ledger", kind ? kind : "");
		r = -1;
	} else if (!cJSON_IsObject(undo)) {
		sb_addstr(&why, "the inject record has no \"undo\" object");
		r = -1;
	} else {
		r = k->undo(fc, inject_rec, undo, note, &why);
	}
	struct strbuf e2 = SB_INIT;
	if (record_end(fc, r == 0 ? "undone" : "undo_failed", uid, kind, target,
		       r == 0 ? note->buf : why.buf, &e2) < 0) {
		if (r == 0)
			sb_addf(err, "fault '%s' was undone but cannot be recorded as undone: %s",
				uid, e2.buf);
		r = -1;
	}
	if (why.len) {
		if (err->len)
			sb_addstr(err, "; ");
		sb_add(err, why.buf, why.len);
	}
	sb_release(&e2);
	sb_release(&why);
	return r;
}

int fault_undo(struct fault_ctx *fc, const cJSON *inject_rec, struct strbuf *err)
{
	struct strbuf note = SB_INIT;
	int r = fault_undo_note(fc, inject_rec, &note, err);
	sb_release(&note);
	return r;
}

int64_t fault_due(const cJSON *inject_rec)
{
	const char *until = fget_str(inject_rec, "until");
	int64_t ns;
	if (!until || ts_parse(until, strlen(until), &ns) < 0)
		return 0;
	return ns;
}

/* ---- helpers ----------------------------------------------------------- */

void fault_add_tail(struct strbuf *sb, const struct strbuf *text)
{
	size_t end = text->len;
	while (end && strchr("\n\r \t", text->buf[end - 1]))
		end--;
	if (!end)
		return;
	size_t start = end;
	while (start && text->buf[start - 1] != '\n')
		start--;
	if (end - start > 200)
		start = end - 200;
	sb_addstr(sb, ": ");
	sb_add(sb, text->buf + start, end - start);
}

int fault_sleep_ms(int64_t ms)
{
	int64_t end = mono_ms() + ms;
	for (;;) {
		if (sig_pending())
			return -1;
		int64_t left = end - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
		int t = left > 1000 ? 1000 : (int)left;
		if (p.fd >= 0)
			poll(&p, 1, t);
		else
			poll(NULL, 0, t > 100 ? 100 : t);
	}
}
