/*
 * drive.c: `ofs-saga run` and `ofs-saga resume`: driving sagas that
 * exist, by id or by what their journals say.
 *
 * resume is what cron runs: --due picks every saga that can go on now
 * (its driver died mid-step, its signal arrived, its deadline passed, a
 * retry fell due) and leaves parked sagas that still wait and stuck ones
 * that need a person; --all takes stuck ones too, giving the step or
 * compensation that gave up a fresh budget of attempts. A saga another
 * run is driving is passed over, never driven twice.
 */
#include "common.h"

#include "cmds.h"
#include "engine.h"
#include "opt.h"
#include "saga.h"
#include "sig.h"
#include "timefmt.h"

/* Whether a parked saga's wait is over: its signal came or its deadline passed. */
static bool wait_over(const struct saga *s)
{
	int64_t now = ts_now_ns();
	for (size_t i = 0; i < s->def.nsteps; i++) {
		const struct step_rt *st = &s->steps[i];
		if (st->st != STEP_PARKED)
			continue;
		if (cJSON_HasObjectItem(s->signals, s->def.steps[i].signal))
			return true;
		return st->deadline && now >= st->deadline;
	}
	return true;
}

static bool is_due(const struct saga *s, bool all)
{
	switch (s->phase) {
	case PHASE_COMPLETED:
	case PHASE_COMPENSATED:
		return false;
	case PHASE_STUCK:
		return all;
	case PHASE_PARKED:
		return wait_over(s);
	default:
		return true;
	}
}

static int drive(int argc, char **argv, bool resume)
{
	int concurrency = 16, c;
	bool all = false, due = false;
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE) {
		switch (c) {
		case 'c':
			concurrency = saga_concurrency(op.arg);
			break;
		case GOPT_ALL:
			all = true;
			break;
		case GOPT_DUE:
			due = true;
			break;
		}
	}
	char **ids;
	int nids = opt_operands(&op, &ids);
	if (resume && (all || due) == (nids > 0))
		opt_usage_error(&op, "give saga ids, or --all, or --due");
	if (all && due)
		opt_usage_error(&op, "--all and --due exclude each other");
	if (!resume && !nids)
		opt_usage_error(&op, "no saga id given");
	for (int i = 0; i < nids; i++)
		if (!saga_id_valid(ids[i]))
			opt_usage_error(&op, "'%s' is not a saga id", ids[i]);
	struct strbuf err = SB_INIT;
	char *dir = saga_dir(false, &err);
	if (!dir)
		die("%s", err.buf);
	sig_setup();
	/* --due leaves stuck sagas to a person, even one that got stuck
	 * between the listing and its turn. */
	struct engine *e = engine_new(dir, concurrency, all || due, !due);
	int status = EXIT_OK;
	if (nids) {
		for (int i = 0; i < nids; i++)
			engine_add(e, ids[i], PRE_NONE, NULL, NULL);
	} else {
		size_t n;
		char **list = saga_list_ids(dir, &n, &err);
		if (!list)
			die("%s", err.buf);
		for (size_t i = 0; i < n; i++) {
			struct saga s;
			char *path = saga_journal_path(dir, list[i]);
			sb_reset(&err);
			if (saga_load(path, &s, &err) < 0) {
				error("%s", err.buf);
				status = EXIT_SYSTEM;
			} else if (is_due(&s, all)) {
				engine_add(e, list[i], PRE_NONE, NULL, NULL);
			}
			saga_free(&s);
			free(path);
		}
		saga_ids_free(list);
	}
	int es = engine_run(e);
	engine_free(e);
	free(dir);
	sb_release(&err);
	opt_end(&op);
	return es > status ? es : status;
}

int cmd_run(int argc, char **argv)
{
	return drive(argc, argv, false);
}

int cmd_resume(int argc, char **argv)
{
	return drive(argc, argv, true);
}
