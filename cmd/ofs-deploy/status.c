/*
 * status.c: `ofs-deploy status [SERVICE]`: where a service's deploy
 * stands, read from its state directory without taking its lock (a
 * deploy in progress is read, never disturbed).
 *
 * One deploy.status record per service: the phase (healthy, progressing,
 * paused, interrupted, rolled_back, degraded), the deploy and its step N
 * of M, the revision serving and the one being deployed, the share of
 * traffic per version, every live instance with its state, weight and
 * whether its process is alive, the last measurement of each analysis
 * metric and the reason of the last pause or rollback. Exit 0 only when
 * every service shown is healthy: its last deploy ended promoted (or a
 * rollback it was asked for went through) and every instance of the
 * serving revision is alive.
 */
#include "common.h"

#include <dirent.h>

#include "cmds.h"
#include "engine.h"
#include "journal.h"
#include "lock.h"
#include "opt.h"
#include "record.h"
#include "state.h"

struct metric_seen {
	char *key;   /* analysis/metric */
	char *line;  /* the last deploy.analysis record */
};

struct status_scan {
	struct metric_seen *m;
	size_t n, a;
	int steps;
};

static int scan_analysis(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	struct status_scan *s = ctx;
	if (!strstr(line, "\"type\":\"deploy.analysis\"") && !strstr(line, "\"type\":\"deploy.step\""))
		return 0;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(o, "steps");
	if (cJSON_IsNumber(steps))
		s->steps = (int)steps->valuedouble;
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(o, "analysis");
	const cJSON *me = cJSON_GetObjectItemCaseSensitive(o, "metric");
	if (cJSON_IsString(an) && cJSON_IsString(me)) {
		struct strbuf key = SB_INIT;
		sb_addf(&key, "%s/%s", an->valuestring, me->valuestring);
		size_t i = 0;
		while (i < s->n && strcmp(s->m[i].key, key.buf))
			i++;
		if (i == s->n) {
			ALLOC_GROW(s->m, s->n + 1, s->a);
			s->m[s->n].key = sb_detach(&key, NULL);
			s->m[s->n++].line = NULL;
		}
		free(s->m[i].line);
		s->m[i].line = xstrdup(line);
		sb_release(&key);
	}
	cJSON_Delete(o);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *phase_of(bool live, const struct dp_replay *r, bool have, bool all_alive)
{
	if (!have)
		return all_alive ? "healthy" : "degraded";
	if (!r->done) {
		if (!live)
			return "interrupted";
		return r->phase && !strcmp(r->phase, "paused") ? "paused" : "progressing";
	}
	if (!all_alive)
		return "degraded";
	if (r->outcome && !strcmp(r->outcome, DP_ROLLED_BACK) && r->kind &&
	    strcmp(r->kind, "rollback"))
		return "rolled_back";
	if (r->outcome && !strcmp(r->outcome, DP_ROLLBACK_FAILED))
		return "degraded";
	return "healthy";
}

/* One service's status record; returns 0 when healthy. */
static int status_one(const char *service, const char *dir)
{
	struct strbuf err = SB_INIT;
	struct dp_current cur;
	if (dp_current_load(dir, &cur, &err) < 0) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	int no = dp_latest_deploy(dir);
	struct dp_replay r;
	memset(&r, 0, sizeof(r));
	struct status_scan scan;
	memset(&scan, 0, sizeof(scan));
	bool have = false;
	if (no) {
		struct strbuf path = SB_INIT;
		sb_addf(&path, "%s/deploys/%d.jsonl", dir, no);
		have = dp_replay_load(path.buf, &r, NULL) == 0;
		journal_read(path.buf, scan_analysis, &scan, NULL, NULL);
		sb_release(&path);
	}
	int fd = dp_store_lock(dir, 0, NULL);
	bool live = fd < 0 && errno == EWOULDBLOCK;
	lock_release(fd);
	/* the table to show: the journal's while a deploy is open, else current.json */
	struct dp_inst **inst = have && !r.done ? r.inst : cur.inst;
	size_t ninst = have && !r.done ? r.ninst : cur.ninst;
	/* is each instance alive? the runner of the serving revision's spec says */
	struct dp_deploy d;
	memset(&d, 0, sizeof(d));
	d.service = (char *)service;
	d.dir = (char *)dir;
	struct dp_spec spec;
	bool have_spec = false;
	int rev = have && !r.done ? r.revision : cur.revision;
	if (rev && dp_revision_load(dir, rev, &spec, &err) == 0) {
		have_spec = true;
		d.spec = &spec;
		dp_drivers(&d, &spec);
	}
	bool all_alive = true;
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "deploy.status");
	jw_kv_str(&w, "service", service);
	int total_w = 0;
	for (size_t i = 0; i < ninst; i++)
		if (inst[i]->state == DP_SERVING)
			total_w += inst[i]->weight;
	jw_key(&w, "instances");
	jw_arr_begin(&w);
	for (size_t i = 0; i < ninst; i++) {
		const struct dp_inst *in = inst[i];
		if (in->state == DP_STOPPED)
			continue;
		int alive = d.runner ? d.runner->alive(&d, in) : -1;
		if (alive == 0)
			all_alive = false;
		jw_obj_begin(&w);
		dp_inst_write(&w, in, false);
		if (alive >= 0)
			jw_kv_bool(&w, "alive", alive == 1);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	const char *phase = phase_of(live, &r, have, all_alive);
	jw_kv_str(&w, "phase", phase);
	if (no) {
		struct strbuf id = SB_INIT;
		sb_addf(&id, "%s/%d", service, no);
		jw_kv_str(&w, "deploy", id.buf);
		sb_release(&id);
	}
	jw_kv_int(&w, "revision", cur.revision);
	if (cur.version && *cur.version)
		jw_kv_str(&w, "version", cur.version);
	if (have && !r.done) {
		jw_kv_int(&w, "deploying", r.revision);
		if (r.step) {
			jw_kv_int(&w, "step", r.step);
			jw_kv_int(&w, "steps", scan.steps);
		}
	}
	if (have && r.done)
		jw_kv_str(&w, "outcome", r.outcome ? r.outcome : "");
	if (r.reason)
		jw_kv_str(&w, "reason", r.reason);
	jw_key(&w, "weights");
	jw_obj_begin(&w);
	for (size_t i = 0; i < ninst; i++) {
		if (inst[i]->state != DP_SERVING)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (inst[j]->state == DP_SERVING && !strcmp(inst[j]->version, inst[i]->version))
				seen = true;
		if (seen)
			continue;
		int sum = 0;
		for (size_t j = i; j < ninst; j++)
			if (inst[j]->state == DP_SERVING && !strcmp(inst[j]->version, inst[i]->version))
				sum += inst[j]->weight;
		jw_kv_double(&w, inst[i]->version,
			     total_w ? (double)(int)(1000.0 * sum / total_w + 0.5) / 10 : 0);
	}
	jw_obj_end(&w);
	if (scan.n) {
		jw_key(&w, "analysis");
		jw_arr_begin(&w);
		for (size_t i = 0; i < scan.n; i++)
			jw_raw(&w, scan.m[i].line, strlen(scan.m[i].line));
		jw_arr_end(&w);
	}
	rec_end(&w, out_stdout());
	sb_release(&sb);
	for (size_t i = 0; i < scan.n; i++) {
		free(scan.m[i].key);
		free(scan.m[i].line);
	}
	free(scan.m);
	if (d.runner && d.runner->release)
		d.runner->release(&d);
	if (have_spec)
		dp_spec_release(&spec);
	dp_replay_release(&r);
	dp_current_release(&cur);
	sb_release(&err);
	return strcmp(phase, "healthy") ? EXIT_NO : EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	while (opt_next(&p) != OPT_DONE)
		;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops > 1)
		opt_usage_error(&p, "one service at a time");
	struct strbuf err = SB_INIT;
	int st = EXIT_OK;
	if (nops == 1) {
		char *dir = dp_store_dir(ops[0], false, &err);
		struct strbuf cur = SB_INIT;
		sb_addf(&cur, "%s/revisions", dir ? dir : "");
		if (!dir || access(cur.buf, F_OK) != 0) {
			error("no deploys of '%s' in '%s'", ops[0], dir ? dir : "the state directory");
			st = EXIT_NO;
		} else {
			st = status_one(ops[0], dir);
		}
		sb_release(&cur);
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
			int one = status_one(names[i], dir.buf);
			if (one > st)
				st = one;
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
