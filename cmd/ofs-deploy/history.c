/*
 * history.c: `ofs-deploy history [SERVICE] [--stats]`: every finished
 * deploy (the deploy.done records of history.jsonl, oldest first), or
 * the four numbers a team tracks about its delivery (DORA's):
 *
 *   deploys_per_day      deploys of kind run over the days between the
 *                        first and the last (at least one day)
 *   change_failure_rate  runs that ended rolled back (or failed to roll
 *                        back) / runs
 *   restore_s            mean time to restore: from the moment a deploy
 *                        was judged failed (its deploy.rollback) to the
 *                        end of the rollback, over the rolled-back runs
 *                        and the rollbacks people asked for
 *   duration_s           mean duration of the promoted runs (lead time
 *                        of the deploy itself)
 *
 * One deploy.stats record per service with those and the counts they
 * come from.
 */
#include "common.h"

#include <dirent.h>

#include "cmds.h"
#include "engine.h"
#include "journal.h"
#include "opt.h"
#include "record.h"
#include "state.h"
#include "timefmt.h"

struct hstats {
	int runs, promoted, failed, rollbacks;
	double restore_sum;
	int restores;
	double dur_sum;
	int64_t first_ns, last_ns;
};

struct hctx {
	bool stats;
	struct hstats h;
};

static int each_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	struct hctx *c = ctx;
	if (!c->stats) {
		out_write(out_stdout(), line, len);
		out_write(out_stdout(), "\n", 1);
		return 0;
	}
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	const cJSON *outc = cJSON_GetObjectItemCaseSensitive(o, "outcome");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration_s");
	const cJSON *rest = cJSON_GetObjectItemCaseSensitive(o, "restore_s");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	struct hstats *h = &c->h;
	bool run = cJSON_IsString(kind) && !strcmp(kind->valuestring, "run");
	if (run) {
		h->runs++;
		if (cJSON_IsString(outc) && !strcmp(outc->valuestring, DP_PROMOTED)) {
			h->promoted++;
			if (cJSON_IsNumber(dur))
				h->dur_sum += dur->valuedouble;
		} else {
			h->failed++;
		}
		int64_t t;
		if (cJSON_IsString(ts) && ts_parse(ts->valuestring, strlen(ts->valuestring), &t) == 0) {
			if (!h->first_ns || t < h->first_ns)
				h->first_ns = t;
			if (t > h->last_ns)
				h->last_ns = t;
		}
	} else {
		h->rollbacks++;
	}
	if (cJSON_IsNumber(rest)) {
		h->restore_sum += rest->valuedouble;
		h->restores++;
	}
	cJSON_Delete(o);
	return 0;
}

static void stats_record(const char *service, const struct hstats *h)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "deploy.stats");
	jw_kv_str(&w, "service", service);
	jw_kv_int(&w, "runs", h->runs);
	jw_kv_int(&w, "promoted", h->promoted);
	jw_kv_int(&w, "rolled_back", h->failed);
	jw_kv_int(&w, "rollbacks", h->rollbacks);
	double days = (double)(h->last_ns - h->first_ns) / 86400e9;
	if (days < 1)
		days = 1;
	jw_kv_double(&w, "days", days);
	jw_kv_double(&w, "deploys_per_day", h->runs / days);
	if (h->runs)
		jw_kv_double(&w, "change_failure_rate", (double)h->failed / h->runs);
	if (h->restores)
		jw_kv_double(&w, "restore_s", h->restore_sum / h->restores);
	if (h->promoted)
		jw_kv_double(&w, "duration_s", h->dur_sum / h->promoted);
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

static int one(const char *service, const char *dir, bool stats)
{
	struct strbuf path = SB_INIT, err = SB_INIT;
	sb_addf(&path, "%s/history.jsonl", dir);
	struct hctx c;
	memset(&c, 0, sizeof(c));
	c.stats = stats;
	int st = EXIT_OK;
	if (journal_read(path.buf, each_line, &c, NULL, &err) < 0 && errno != ENOENT) {
		error("%s", err.buf);
		st = EXIT_SYSTEM;
	}
	if (stats && st == EXIT_OK)
		stats_record(service, &c.h);
	sb_release(&path);
	sb_release(&err);
	return st;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_history(int argc, char **argv)
{
	struct opt_parser p;
	bool stats = false;
	opt_begin(&p, argc, argv);
	for (int c; (c = opt_next(&p)) != OPT_DONE;)
		if (c == DOPT_STATS)
			stats = true;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops > 1)
		opt_usage_error(&p, "one service at a time");
	struct strbuf err = SB_INIT;
	int st = EXIT_OK;
	if (nops == 1) {
		char *dir = dp_store_dir(ops[0], false, &err);
		if (!dir) {
			error("%s", err.buf);
			st = EXIT_SYSTEM;
		} else {
			st = one(ops[0], dir, stats);
		}
		free(dir);
	} else {
		char *root = state_dir(&err);
		struct strbuf base = SB_INIT;
		sb_addf(&base, "%s/deploy", root ? root : "");
		DIR *dh = root ? opendir(base.buf) : NULL;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, a = 0;
		while (dh && (de = readdir(dh)))
			if (de->d_name[0] != '.') {
				ALLOC_GROW(names, n + 1, a);
				names[n++] = xstrdup(de->d_name);
			}
		if (dh)
			closedir(dh);
		if (n)
			qsort(names, n, sizeof(*names), cmp_name);
		for (size_t i = 0; i < n; i++) {
			struct strbuf dir = SB_INIT;
			sb_addf(&dir, "%s/%s", base.buf, names[i]);
			int r = one(names[i], dir.buf, stats);
			if (r > st)
				st = r;
			sb_release(&dir);
			free(names[i]);
		}
		free(names);
		sb_release(&base);
		free(root);
	}
	opt_end(&p);
	sb_release(&err);
	return st;
}
