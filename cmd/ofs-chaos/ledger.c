/*
 * ledger.c: the fault ledger, the memory of every fault ofs-chaos
 * injected, kept so that a fault outlives neither a crash nor a kill -9
 * of the run that injected it (`recover` reads it and undoes what is
 * still live).
 *
 * It is a journal (journal.h) at $OFS_STATE_DIR/chaos/ledger.jsonl of
 * chaos.fault records: "inject" (with everything needed to undo the
 * fault), then "undone" or "undo_failed". A fault is live from its
 * inject record until an undone record; undo_failed leaves it live.
 * Every append takes ledger.lock beside it for the moment of the write
 * (so concurrent runs and `recover` share the ledger), cuts a tail torn
 * by a crash, and fsyncs the line before returning, so the caller acts
 * only on what is on disk. Readers take no lock and skip a torn tail.
 * When nothing is live and the file has grown past LEDGER_COMPACT_BYTES,
 * the append that made the last fault undone also replaces the file by
 * an empty one (atomically, under the lock): the history is then gone,
 * but nothing live ever is.
 */
#include "common.h"
#include <sys/stat.h>

#include "chaos.h"
#include "fault.h"
#include "pid.h"
#include "hash.h"
#include "journal.h"
#include "jw.h"
#include "lock.h"
#include "rnd.h"
#include "state.h"
#include "timefmt.h"

#define LEDGER_COMPACT_BYTES (1024 * 1024)
/* How long an append waits for another process's append. */
#define LEDGER_LOCK_WAIT_MS 10000

struct ledger {
	char *dir;
	char *path;
	char *lock_path;
};

struct ledger *ledger_at(const char *dir, struct strbuf *err)
{
	char *d;
	if (dir) {
		d = xstrdup(dir);
	} else {
		char *state = state_dir(err);
		if (!state)
			return NULL;
		d = xasprintf("%s/chaos", state);
		free(state);
	}
	if (d[0] != '/') {
		/* absolute, so that the paths recorded (backups) work from anywhere */
		char *cwd = getcwd(NULL, 0);
		if (cwd) {
			char *abs = xasprintf("%s/%s", cwd, d);
			free(d);
			d = abs;
		}
		free(cwd);
	}
	struct ledger *l = xcalloc(1, sizeof(*l));
	l->dir = d;
	l->path = xasprintf("%s/ledger.jsonl", d);
	l->lock_path = xasprintf("%s/ledger.lock", d);
	return l;
}

struct ledger *ledger_open(const char *dir, struct strbuf *err)
{
	struct ledger *l = ledger_at(dir, err);
	if (!l)
		return NULL;
	if (state_mkdirs(l->dir, 0700, err) < 0) {
		ledger_close(l);
		return NULL;
	}
	int fd = lock_acquire(l->lock_path, LEDGER_LOCK_WAIT_MS, err);
	if (fd < 0) {
		ledger_close(l);
		return NULL;
	}
	struct journal *j = NULL;
	int ok = journal_repair(l->path, NULL, err) >= 0 &&
		 (j = journal_open(l->path, err)) != NULL && journal_close(j, err) == 0;
	lock_release(fd);
	if (!ok) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	free(l->dir);
	free(l->path);
	free(l->lock_path);
	free(l);
}

const char *ledger_dir(const struct ledger *l)
{
	return l->dir;
}

const char *ledger_path(const struct ledger *l)
{
	return l->path;
}

void ledger_new_uid(char out[20])
{
	unsigned char b[8];
	rnd_bytes(b, sizeof(b));
	snprintf(out, 20, "f-%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5], b[6], b[7]);
}

/* ---- reading ----------------------------------------------------------- */

struct replay {
	cJSON *list;       /* the records kept, in order */
	struct ht *live;   /* uid -> its inject record in list (live mode) */
	bool all;          /* keep every record (history) */
};

static int on_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	struct replay *rp = ctx;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!rec)
		return 0; /* journal_read checked it already */
	if (rp->all) {
		cJSON_AddItemToArray(rp->list, rec);
		return 0;
	}
	const char *op = fget_str(rec, "op");
	const char *uid = fget_str(rec, "uid");
	const char *type = fget_str(rec, "type");
	if (!op || !uid || (type && strcmp(type, "chaos.fault"))) {
		cJSON_Delete(rec);
		return 0;
	}
	if (!strcmp(op, "inject")) {
		cJSON *old = ht_put(rp->live, uid, rec);
		if (old)
			cJSON_Delete(cJSON_DetachItemViaPointer(rp->list, old));
		cJSON_AddItemToArray(rp->list, rec);
		return 0;
	}
	if (!strcmp(op, "undone")) {
		cJSON *old = ht_del(rp->live, uid);
		if (old)
			cJSON_Delete(cJSON_DetachItemViaPointer(rp->list, old));
	}
	cJSON_Delete(rec);
	return 0;
}

static cJSON *replay(const char *path, bool all, struct strbuf *err)
{
	struct replay rp = { cJSON_CreateArray(), all ? NULL : ht_new(), all };
	size_t errlen = err->len;
	int r = journal_read(path, on_line, &rp, NULL, err);
	int e = errno;
	ht_free(rp.live, NULL);
	if (r < 0 && e == ENOENT) {
		sb_setlen(err, errlen); /* no ledger yet: nothing in it */
		r = 0;
	}
	if (r < 0) {
		cJSON_Delete(rp.list);
		return NULL;
	}
	return rp.list;
}

cJSON *ledger_live(struct ledger *l, struct strbuf *err)
{
	return replay(l->path, false, err);
}

cJSON *ledger_history(struct ledger *l, struct strbuf *err)
{
	return replay(l->path, true, err);
}

/* ---- writing ----------------------------------------------------------- */

/* Replace a large ledger by an empty one when nothing in it is live. */
static void compact(struct ledger *l)
{
	struct stat st;
	if (stat(l->path, &st) < 0 || st.st_size <= LEDGER_COMPACT_BYTES)
		return;
	struct strbuf err = SB_INIT;
	cJSON *live = ledger_live(l, &err);
	if (live && !cJSON_GetArraySize(live) &&
	    state_write_atomic(l->path, "", 0, 0600, &err) < 0)
		warn("cannot compact the fault ledger: %s", err.buf);
	cJSON_Delete(live);
	sb_release(&err);
}

int ledger_append(struct ledger *l, const cJSON *rec, struct strbuf *err)
{
	struct strbuf line = SB_INIT;
	struct jw w;
	char ts[TS_BUFSZ];
	jw_init(&w, &line);
	jw_obj_begin(&w);
	jw_kv_str(&w, "type", "chaos.fault");
	jw_kv_str(&w, "ts", ts_format_now(ts));
	for (const cJSON *c = rec ? rec->child : NULL; c; c = c->next) {
		if (!c->string || !strcmp(c->string, "type") || !strcmp(c->string, "ts"))
			continue;
		jw_key(&w, c->string);
		jw_cjson(&w, c);
	}
	jw_obj_end(&w);

	int fd = lock_acquire(l->lock_path, LEDGER_LOCK_WAIT_MS, err);
	if (fd < 0) {
		sb_release(&line);
		return -1;
	}
	struct journal *j = NULL;
	int r = -1;
	if (journal_repair(l->path, NULL, err) >= 0 && (j = journal_open(l->path, err)) != NULL &&
	    journal_append(j, line.buf, line.len, err) == 0)
		r = 0;
	if (j && journal_close(j, r == 0 ? err : NULL) < 0)
		r = -1;
	const char *op = fget_str(rec, "op");
	if (r == 0 && op && strcmp(op, "inject"))
		compact(l);
	lock_release(fd);
	sb_release(&line);
	return r;
}

/* ---- owners ------------------------------------------------------------ */

bool ledger_owner_alive(const cJSON *rec)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(rec, "pid");
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(rec, "pid_start");
	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > INT_MAX)
		return false;
	uint64_t s = cJSON_IsNumber(start) && start->valuedouble > 0 ?
			     (uint64_t)start->valuedouble : 0;
	if (!s)
		return false; /* no start time: the pid alone proves nothing */
	return pid_alive((pid_t)pid->valuedouble, s);
}
