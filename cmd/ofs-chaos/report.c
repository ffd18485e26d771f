/*
 * report.c: what a run leaves behind: its records on standard output,
 * the same records in its journal (each fsync'd before the run goes on,
 * so a killed run's journal still tells what it did), the chaos.verdict
 * record, and on request a Markdown report for the team's records:
 * verdict, timeline, evidence.
 */
#include "common.h"

#include "jget.h"
#include "out.h"
#include "record.h"
#include "run.h"
#include "state.h"
#include "timefmt.h"

const char *run_status_name(enum run_status s)
{
	static const char *const names[] = { "completed", "deviated", "gate_failed", "aborted",
					     "interrupted" };
	return names[s];
}

cJSON *report_new(struct run *run, const char *type)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", type);
	char ts[TS_BUFSZ];
	cJSON_AddStringToObject(r, "ts", ts_format_now(ts));
	const struct tc *tc = rec_trace();
	if (tc) {
		char id[33];
		cJSON_AddStringToObject(r, "trace_id", tc_hex(tc->trace_id, 16, id));
		cJSON_AddStringToObject(r, "span_id", tc_hex(tc->span_id, 8, id));
	}
	cJSON_AddStringToObject(r, "run", run->run_id);
	return r;
}

static void emit(struct run *run, const cJSON *rec, bool to_stdout)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_cjson(&w, rec);
	if (run->journal) {
		struct strbuf err = SB_INIT;
		if (journal_append(run->journal, sb.buf, sb.len, &err) < 0) {
			error("cannot write the journal: %s", err.buf);
			journal_close(run->journal, NULL);
			run->journal = NULL;
		}
		sb_release(&err);
	}
	if (to_stdout)
		out_record(out_stdout(), &sb);
	sb_release(&sb);
}

void report_record(struct run *run, cJSON *rec)
{
	emit(run, rec, !run->quiet);
	cJSON_AddItemToArray(run->records, rec);
}

static void add_opt_number(cJSON *o, const char *key, bool have, double v)
{
	if (have)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_tri(cJSON *o, const char *key, enum tri t)
{
	if (t == TRI_UNSET)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddBoolToObject(o, key, t == TRI_YES);
}

void report_verdict(struct run *run, const char *report_path)
{
	cJSON *v = report_new(run, "chaos.verdict");
	cJSON_AddStringToObject(v, "experiment", run->exp->title);
	cJSON_AddStringToObject(v, "file", run->file);
	cJSON_AddStringToObject(v, "status", run_status_name(run->status));
	cJSON_AddBoolToObject(v, "deviated", run->deviated);
	if (run->why)
		cJSON_AddStringToObject(v, "reason", run->why_detail.len ? run->why_detail.buf
									 : run->why);
	cJSON *ss = cJSON_AddObjectToObject(v, "steady_state");
	add_tri(ss, "before", run->before);
	cJSON *during = cJSON_AddObjectToObject(ss, "during");
	cJSON_AddNumberToObject(during, "checks", run->during_checks);
	cJSON_AddNumberToObject(during, "deviations", run->during_deviations);
	add_tri(ss, "after", run->after);
	add_opt_number(v, "recovery_s", run->recovery_s >= 0, run->recovery_s);
	add_opt_number(v, "rto_s", run->rto_ns > 0, (double)run->rto_ns / 1e9);
	if (run->rto_ns > 0 && run->after != TRI_UNSET)
		cJSON_AddBoolToObject(v, "rto_met",
				      run->recovery_s >= 0 &&
					      run->recovery_s * 1e9 <= (double)run->rto_ns);
	else
		cJSON_AddNullToObject(v, "rto_met");
	cJSON_AddNumberToObject(v, "faults", run->faults_injected);
	cJSON *rb = cJSON_AddObjectToObject(v, "rollbacks");
	cJSON_AddStringToObject(rb, "strategy", rollback_strategy_name(run->rollback_strategy));
	cJSON_AddBoolToObject(rb, "ran", run->rollbacks_ran);
	cJSON_AddNumberToObject(rb, "failed", run->rollbacks_failed);
	cJSON_AddNumberToObject(v, "undo_failed", run->undo_failed);
	char ts[TS_BUFSZ];
	cJSON_AddStringToObject(v, "started", ts_format(run->start_ns, ts));
	cJSON_AddStringToObject(v, "ended", ts_format(run->end_ns, ts));
	cJSON_AddNumberToObject(v, "duration_s", (double)(run->end_ns - run->start_ns) / 1e9);
	if (run->journal_path)
		cJSON_AddStringToObject(v, "journal", run->journal_path);
	if (report_path)
		cJSON_AddStringToObject(v, "report", report_path);
	if (run->stop_signal)
		cJSON_AddNumberToObject(v, "signal", run->stop_signal);
	emit(run, v, true);
	cJSON_AddItemToArray(run->records, v);
}

/* ---- Markdown ------------------------------------------------------------ */

/* Text safe inside a Markdown table cell: no pipes, no line breaks. */
static void md_cell(struct strbuf *sb, const char *s, size_t max)
{
	size_t n = 0;
	for (; s && *s && n < max; s++, n++) {
		if (*s == '|')
			sb_addstr(sb, "\\|");
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			sb_addch(sb, ' ');
		else
			sb_addch(sb, *s);
	}
	if (s && *s)
		sb_addstr(sb, "…");
}

static const char *tri_word(enum tri t)
{
	return t == TRI_UNSET ? "not checked" : t == TRI_YES ? "held" : "deviated";
}

static void md_timeline(struct run *run, struct strbuf *md)
{
	sb_addstr(md, "## Timeline\n\n| t (s) | phase | what | result | duration (s) | detail |\n"
		      "|---:|---|---|---|---:|---|\n");
	const cJSON *rec;
	cJSON_ArrayForEach(rec, run->records)
	{
		const char *type = jget_str(rec, "type");
		const char *ts = jget_str(rec, "ts");
		int64_t t_ns = 0;
		if (!type || !ts || ts_parse(ts, strlen(ts), &t_ns) < 0)
			continue;
		double t = (double)(t_ns - run->start_ns) / 1e9;
		struct strbuf what = SB_INIT, detail = SB_INIT;
		const char *phase = jget_str(rec, "phase");
		const char *result = "";
		double dur = -1;
		if (!strcmp(type, "chaos.activity")) {
			sb_addf(&what, "%s `%s`", jget_str(rec, "activity") ? jget_str(rec, "activity") : "",
				jget_str(rec, "name") ? jget_str(rec, "name") : "");
			result = jget_str(rec, "status");
			dur = jget_num(rec, "duration_s", -1);
			const char *e = jget_str(rec, "error");
			const char *why = jget_str(rec, "why");
			md_cell(&detail, e ? e : why ? why : "", 160);
		} else if (!strcmp(type, "chaos.hypothesis")) {
			sb_addstr(&what, "steady-state hypothesis");
			result = cJSON_IsTrue(cJSON_GetObjectItem(rec, "held")) ? "held" : "deviated";
			const char *why = jget_str(rec, "why");
			md_cell(&detail, why ? why : "", 160);
		} else if (!strcmp(type, "chaos.undo")) {
			phase = "undo";
			sb_addf(&what, "undo %s `%s`", jget_str(rec, "kind") ? jget_str(rec, "kind") : "",
				jget_str(rec, "uid") ? jget_str(rec, "uid") : "");
			result = jget_str(rec, "status");
			const char *e = jget_str(rec, "error");
			md_cell(&detail, e ? e : jget_str(rec, "target") ? jget_str(rec, "target") : "",
				160);
		} else {
			sb_release(&what);
			sb_release(&detail);
			continue;
		}
		sb_addf(md, "| %.3f | %s | ", t, phase ? phase : "");
		md_cell(md, what.buf, 120);
		sb_addf(md, " | %s | ", result ? result : "");
		if (dur >= 0)
			sb_addf(md, "%.3f", dur);
		sb_addf(md, " | %s |\n", detail.buf);
		sb_release(&what);
		sb_release(&detail);
	}
	sb_addch(md, '\n');
}

/* The evidence: outputs of the hypothesis probes and of the faults. */
static void md_evidence(struct run *run, struct strbuf *md)
{
	sb_addstr(md, "## Evidence\n\n");
	const cJSON *rec;
	int n = 0;
	cJSON_ArrayForEach(rec, run->records)
	{
		const char *type = jget_str(rec, "type");
		if (!type || strcmp(type, "chaos.activity"))
			continue;
		const cJSON *out = cJSON_GetObjectItemCaseSensitive(rec, "output");
		if (!out)
			continue;
		char *json = cJSON_PrintUnformatted(out);
		sb_addf(md, "- %s `%s` (%s):\n\n  ```json\n  ", jget_str(rec, "phase"),
			jget_str(rec, "name"), jget_str(rec, "status"));
		size_t len = strlen(json);
		sb_add(md, json, len > 600 ? 600 : len);
		if (len > 600)
			sb_addstr(md, "…");
		sb_addstr(md, "\n  ```\n\n");
		cJSON_free(json);
		n++;
	}
	if (!n)
		sb_addstr(md, "No activity produced output.\n\n");
}

int report_markdown(struct run *run, const char *path, struct strbuf *err)
{
	struct strbuf md = SB_INIT;
	const struct experiment *e = run->exp;
	char ts[TS_BUFSZ];
	sb_addf(&md, "# Chaos experiment: %s\n\n", e->title);
	if (e->description && *e->description)
		sb_addf(&md, "%s\n\n", e->description);
	sb_addstr(&md, "## Verdict\n\n| | |\n|---|---|\n");
	sb_addf(&md, "| status | **%s** |\n", run_status_name(run->status));
	if (run->why) {
		sb_addstr(&md, "| reason | ");
		md_cell(&md, run->why_detail.len ? run->why_detail.buf : run->why, 400);
		sb_addstr(&md, " |\n");
	}
	sb_addf(&md, "| hypothesis | %s |\n", e->hyp_title && *e->hyp_title ? e->hyp_title : "none");
	sb_addf(&md, "| steady state before | %s |\n", tri_word(run->before));
	sb_addf(&md, "| steady state during | %d checks, %d deviations |\n", run->during_checks,
		run->during_deviations);
	sb_addf(&md, "| steady state after | %s |\n", tri_word(run->after));
	if (run->recovery_s >= 0)
		sb_addf(&md, "| recovery | %.3f s |\n", run->recovery_s);
	else
		sb_addstr(&md, "| recovery | not measured |\n");
	if (run->rto_ns > 0)
		sb_addf(&md, "| RTO | %.3f s (%s) |\n", (double)run->rto_ns / 1e9,
			run->recovery_s >= 0 && run->recovery_s * 1e9 <= (double)run->rto_ns
				? "met"
				: "missed");
	sb_addf(&md, "| faults injected | %d |\n", run->faults_injected);
	sb_addf(&md, "| rollbacks | %s, %s, %d failed |\n",
		rollback_strategy_name(run->rollback_strategy), run->rollbacks_ran ? "ran" : "not run",
		run->rollbacks_failed);
	sb_addf(&md, "| run | `%s` |\n", run->run_id);
	sb_addf(&md, "| file | `%s` |\n", run->file);
	sb_addf(&md, "| started | %s |\n", ts_format(run->start_ns, ts));
	sb_addf(&md, "| duration | %.3f s |\n", (double)(run->end_ns - run->start_ns) / 1e9);
	if (run->journal_path)
		sb_addf(&md, "| journal | `%s` |\n", run->journal_path);
	sb_addch(&md, '\n');
	md_timeline(run, &md);
	md_evidence(run, &md);
	int rc = state_write_atomic(path, md.buf, md.len, 0644, err);
	sb_release(&md);
	return rc;
}
