/*
 * run_cmd.c: the `run` command around the phases of run.c: options,
 * loading the experiment and its topology, refusing to start over live
 * faults, the journal, the dry-run plan, the verdict and the report.
 *
 * Everything that can be checked is checked before anything is done:
 * an invalid experiment, a missing topology, or a target that still has
 * a live fault in the ledger end the command with status 2 and nothing
 * injected.
 */
#include "common.h"
#include <signal.h>

#include "chaos.h"
#include "opt.h"
#include "out.h"
#include "rnd.h"
#include "run.h"
#include "sig.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"


static int64_t parse_dur(struct opt_parser *p)
{
	int64_t ns;
	struct strbuf err = SB_INIT;
	if (dur_parse(p->arg, &ns, &err) < 0)
		opt_usage_error(p, "%s: %s", p->name, err.buf);
	sb_release(&err);
	return ns;
}

static void parse_options(int argc, char **argv, struct run_opts *o, const char **file)
{
	static const char *const strategies[] = { "default", "always", "never", "deviated", NULL };
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'q':
			o->quiet = true;
			break;
		case COPT_ABORT_ON_DEVIATION:
			o->abort_on_deviation = true;
			break;
		case COPT_DRY_RUN:
			o->dry_run = true;
			break;
		case COPT_FORCE:
			o->force = true;
			break;
		case COPT_INTERVAL:
			o->interval_ns = parse_dur(&p);
			if (o->interval_ns < 10000000)
				opt_usage_error(&p, "%s: must be at least 10ms", p.name);
			break;
		case COPT_JOURNAL:
			o->journal = p.arg;
			break;
		case COPT_REPORT:
			if (strcmp(p.arg, "md"))
				opt_usage_error(&p, "%s: unknown report format '%s' (md)", p.name, p.arg);
			o->report = p.arg;
			break;
		case COPT_REPORT_FILE:
			o->report_file = p.arg;
			break;
		case COPT_ROLLBACKS: {
			o->rollbacks = -1;
			for (int i = 0; strategies[i]; i++)
				if (!strcmp(p.arg, strategies[i]))
					o->rollbacks = i;
			if (o->rollbacks < 0)
				opt_usage_error(&p, "%s: unknown strategy '%s' (default, always, never, deviated)",
						p.name, p.arg);
			break;
		}
		case COPT_RTO:
			o->rto_ns = parse_dur(&p);
			o->rto_set = true;
			break;
		case COPT_TOPOLOGY:
			o->topology = p.arg;
			break;
		case COPT_VAR:
			if (!strchr(p.arg, '=') || p.arg[0] == '=')
				opt_usage_error(&p, "%s: want name=value, got '%s'", p.name, p.arg);
			o->vars = xrealloc(o->vars, (o->nvars + 2) * sizeof(*o->vars));
			o->vars[o->nvars++] = p.arg;
			o->vars[o->nvars] = NULL;
			break;
		}
	}
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n != 1)
		opt_usage_error(&p, n ? "one experiment at a time" : "no experiment given");
	*file = ops[0];
	opt_end(&p);
}

/* Does the experiment need a topology (health probes, instance targets)? */
static bool needs_topology(const struct activity *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].prov == PROV_HEALTH)
			return true;
		if (a[i].prov == PROV_FAULT &&
		    (cJSON_GetObjectItemCaseSensitive(a[i].provider, "instance") ||
		     cJSON_GetObjectItemCaseSensitive(a[i].provider, "service")))
			return true;
	}
	return false;
}

/* The service an "instance:ID" target belongs to, or NULL. */
static const char *instance_service(const struct topology *t, const char *target)
{
	if (!t || strncmp(target, "instance:", 9))
		return NULL;
	const struct topo_instance *in = topo_find_instance(t, target + 9);
	return in ? t->services[in->service].name : NULL;
}

/* Do two fault targets reach the same thing? A service covers its instances. */
static bool targets_overlap(const char *a, const char *b, const struct topology *t)
{
	if (!strcmp(a, b))
		return true;
	const char *sa = !strncmp(a, "service:", 8) ? a + 8 : instance_service(t, a);
	const char *sb = !strncmp(b, "service:", 8) ? b + 8 : instance_service(t, b);
	bool a_whole = !strncmp(a, "service:", 8), b_whole = !strncmp(b, "service:", 8);
	return (a_whole || b_whole) && sa && sb && !strcmp(sa, sb);
}

/*
 * Refuse to start when a fault of the method targets something that has
 * a live fault in the ledger. Returns the number of conflicts reported.
 */
static int live_conflicts(struct run *run)
{
	struct strbuf err = SB_INIT, target = SB_INIT;
	cJSON *live = ledger_live(run->ledger, &err);
	int conflicts = 0;
	if (!live) {
		error("%s", err.buf);
		sb_release(&err);
		return 1;
	}
	cJSON *none = cJSON_CreateObject();
	for (size_t i = 0; i < run->exp->nmethod; i++) {
		const struct activity *a = &run->exp->method[i];
		if (a->prov != PROV_FAULT)
			continue;
		sb_reset(&err);
		cJSON *prov = subst_apply(a->provider, run->exp->configuration, none, &err);
		sb_reset(&target);
		int known = prov ? fault_target(prov, run->topo, &target) : -1;
		if (known < 0 && prov && cJSON_IsString(cJSON_GetObjectItem(prov, "service"))) {
			/* A random pick: any instance of the service may be hit. */
			sb_reset(&target);
			sb_addf(&target, "service:%s",
				cJSON_GetObjectItem(prov, "service")->valuestring);
			known = 0;
		}
		if (known == 0) {
			const cJSON *rec;
			cJSON_ArrayForEach(rec, live)
			{
				const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "target"));
				const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "uid"));
				const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "kind"));
				if (!t || !targets_overlap(t, target.buf, run->topo))
					continue;
				const char *owner =
					cJSON_GetStringValue(cJSON_GetObjectItem(rec, "run"));
				struct strbuf who = SB_INIT;
				if (owner)
					sb_addf(&who, "run %s", owner);
				else
					sb_addstr(&who, "ofs-chaos inject");
				if (ledger_owner_alive(rec))
					sb_addstr(&who, ", still running");
				error("'%s' (%s) has a live %s fault %s on '%s' (%s); run 'ofs-chaos "
				      "recover %s' first, or pass --force",
				      target.buf, a->name, kind ? kind : "?", uid ? uid : "?", t, who.buf,
				      uid ? uid : "--all");
				sb_release(&who);
				conflicts++;
			}
		}
		cJSON_Delete(prov);
	}
	cJSON_Delete(none);
	cJSON_Delete(live);
	sb_release(&err);
	sb_release(&target);
	return conflicts;
}

/* --dry-run: the plan as records, nothing run or injected. */
static void print_plan(struct run *run)
{
	const struct experiment *e = run->exp;
	static const char *const phases[] = { "hypothesis", "method", "rollback" };
	const struct activity *lists[] = { e->hypothesis, e->method, e->rollbacks };
	size_t counts[] = { e->nhypothesis, e->nmethod, e->nrollbacks };
	cJSON *none = cJSON_CreateObject();
	for (int l = 0; l < 3; l++)
		for (size_t i = 0; i < counts[l]; i++) {
			const struct activity *a = &lists[l][i];
			struct strbuf err = SB_INIT;
			cJSON *prov = subst_apply(a->provider, e->configuration, none, &err);
			cJSON *r = report_new(run, "chaos.plan");
			cJSON_AddStringToObject(r, "phase", phases[l]);
			cJSON_AddStringToObject(r, "name", a->name);
			cJSON_AddStringToObject(r, "activity", activity_type_name(a->type));
			cJSON_AddItemToObject(r, "provider", cJSON_Duplicate(prov ? prov : a->provider, 1));
			if (a->background)
				cJSON_AddBoolToObject(r, "background", true);
			if (a->prov == PROV_FAULT && prov) {
				cJSON *out = NULL;
				struct strbuf ferr = SB_INIT;
				if (fault_inject(&run->fc, prov, &out, &ferr) == 0 && out)
					cJSON_AddItemToObject(r, "would", out);
				else {
					cJSON_Delete(out);
					cJSON_AddStringToObject(r, "error", ferr.buf);
				}
				sb_release(&ferr);
			}
			report_record(run, r);
			cJSON_Delete(prov);
			sb_release(&err);
		}
	cJSON_Delete(none);
}

static int open_journal(struct run *run, const char *given)
{
	struct strbuf err = SB_INIT, path = SB_INIT;
	if (given) {
		sb_addstr(&path, given);
	} else {
		sb_addf(&path, "%s/runs", ledger_dir(run->ledger));
		if (state_mkdirs(path.buf, 0700, &err) < 0) {
			error("%s", err.buf);
			goto fail;
		}
		sb_addf(&path, "/%s.jsonl", run->run_id);
	}
	run->journal = journal_open(path.buf, &err);
	if (!run->journal) {
		error("%s", err.buf);
		goto fail;
	}
	run->journal_path = sb_detach(&path, NULL);
	sb_release(&err);
	return 0;
fail:
	sb_release(&err);
	sb_release(&path);
	return -1;
}

static void run_start_record(struct run *run)
{
	const struct experiment *e = run->exp;
	cJSON *r = report_new(run, "chaos.run");
	cJSON_AddStringToObject(r, "experiment", e->title);
	cJSON_AddStringToObject(r, "file", run->file);
	cJSON_AddNumberToObject(r, "pid", getpid());
	cJSON_AddStringToObject(r, "hypothesis_strategy", hyp_strategy_name(e->hyp_strategy));
	cJSON_AddStringToObject(r, "rollback_strategy",
				rollback_strategy_name(run->rollback_strategy));
	if (run->rto_ns)
		cJSON_AddNumberToObject(r, "rto_s", (double)run->rto_ns / 1e9);
	cJSON_AddNumberToObject(r, "interval_s", (double)run->interval_ns / 1e9);
	if (run->journal_path)
		cJSON_AddStringToObject(r, "journal", run->journal_path);
	if (run->dry_run)
		cJSON_AddBoolToObject(r, "dry_run", true);
	report_record(run, r);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .rollbacks = -1 };
	const char *file;
	parse_options(argc, argv, &o, &file);
	int status = run_file(file, &o);
	free(o.vars);
	return status;
}

int run_file(const char *file, const struct run_opts *opts)
{
	struct run_opts o = *opts;
	struct experiment e;
	struct strbuf err = SB_INIT;
	if (experiment_load(file, o.vars, &e, &err) < 0) {
		error_lines(err.buf, err.len);
		sb_release(&err);
		return EXIT_USAGE;
	}
	struct topology topo;
	memset(&topo, 0, sizeof(topo));
	struct run run;
	memset(&run, 0, sizeof(run));
	run.exp = &e;
	run.file = file;
	const char *topo_path = o.topology ? o.topology : e.topology;
	int status = EXIT_USAGE;
	if (topo_path) {
		if (topo_load(topo_path, &topo, &err) < 0) {
			error_lines(err.buf, err.len);
			goto out;
		}
		run.topo = &topo;
	} else if (needs_topology(e.hypothesis, e.nhypothesis) ||
		   needs_topology(e.method, e.nmethod) || needs_topology(e.rollbacks, e.nrollbacks)) {
		error("%s: the experiment checks health or targets instances and needs a "
		      "topology: give --topology FILE or \"topology\" in the experiment",
		      file);
		goto out;
	}

	uint8_t id[8];
	rnd_bytes(id, sizeof(id));
	memcpy(run.run_id, "r-", 2);
	for (int i = 0; i < 8; i++)
		snprintf(run.run_id + 2 + 2 * i, 3, "%02x", id[i]);
	run.quiet = o.quiet;
	run.dry_run = o.dry_run;
	run.abort_on_deviation = o.abort_on_deviation || e.fail_fast;
	run.interval_ns = o.interval_ns ? o.interval_ns : e.interval_ns ? e.interval_ns : 1000000000;
	run.rto_ns = o.rto_set ? o.rto_ns : e.rto_ns;
	run.rollback_strategy = o.rollbacks >= 0 ? (enum rollback_strategy)o.rollbacks
						 : e.rollback_strategy;
	run.outputs = cJSON_CreateObject();
	run.records = cJSON_CreateArray();
	run.recovery_s = -1;
	run.before = run.after = TRI_UNSET;
	run.start_ns = ts_now_ns();

	sb_reset(&err);
	run.ledger = ledger_open(NULL, &err);
	if (!run.ledger) {
		error("%s", err.buf);
		status = EXIT_SYSTEM;
		goto out;
	}
	run.fc = (struct fault_ctx){ run.ledger, run.topo, run.run_id, e.title, o.dry_run };
	if (!o.force && live_conflicts(&run))
		goto out;

	/* Records flow as they happen: a pipe sees each activity at its end. */
	out_set_line_flush(out_stdout(), true);
	sig_setup();
	sig_catch(SIGUSR1);
	sig_catch(SIGUSR2);
	if (o.dry_run) {
		run_start_record(&run);
		print_plan(&run);
		status = EXIT_OK;
		goto out;
	}
	if (open_journal(&run, o.journal) < 0) {
		status = EXIT_SYSTEM;
		goto out;
	}
	run_start_record(&run);
	status = run_experiment(&run);

	char *report_path = NULL;
	if (o.report || o.report_file) {
		struct strbuf p = SB_INIT;
		if (o.report_file) {
			sb_addstr(&p, o.report_file);
		} else {
			sb_addstr(&p, run.journal_path);
			if (p.len > 6 && !strcmp(p.buf + p.len - 6, ".jsonl"))
				sb_setlen(&p, p.len - 6);
			sb_addstr(&p, ".md");
		}
		report_path = sb_detach(&p, NULL);
	}
	report_verdict(&run, report_path);
	if (report_path) {
		sb_reset(&err);
		if (report_markdown(&run, report_path, &err) < 0) {
			error("%s", err.buf);
			if (status == EXIT_OK)
				status = EXIT_SYSTEM;
		}
		free(report_path);
	}
out:
	if (run.journal)
		journal_close(run.journal, NULL);
	free(run.journal_path);
	ledger_close(run.ledger);
	cJSON_Delete(run.outputs);
	cJSON_Delete(run.records);
	cJSON_Delete(run.live);
	sb_release(&run.why_detail);
	sb_release(&run.during_why);
	topo_free(&topo);
	experiment_free(&e);
	sb_release(&err);
	return status;
}
