/*
 * status.c: `ofs-saga status`, `list` and `log`: reading journals
 * without driving anything.
 *
 * A saga.status record says where a saga stands in a form a script can
 * test: its state, the step it is at (N of M), attempts and the last
 * error there, whether it passed its pivot, the signal and deadline it
 * waits for, and whether a process is driving it right now (a saga that
 * is running with no driver crashed and waits for `resume`).
 */
#include "common.h"

#include "cmds.h"
#include "journal.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "pid.h"
#include "record.h"
#include "saga.h"
#include "timefmt.h"
#include "units.h"

/*
 * Whether a process drives the saga now: the lock file names a live
 * process (not a zombie) (its holder writes its pid there and clears it on release).
 * Read without locking, so a status never gets in a driver's way.
 */
static bool driven(const char *dir, const char *id)
{
	char *path = xasprintf("%s/%s.lock", dir, id);
	struct strbuf why = SB_INIT; /* an empty or missing lock file: nobody */
	pid_t pid;
	/* a driver killed a moment ago may linger as a zombie: gone */
	bool alive = pid_file_read(path, &pid, &why) == 0 && pid_alive(pid, 0);
	sb_release(&why);
	free(path);
	return alive;
}

/* The step the saga is at: the first one not succeeded going forward;
 * the compensation under way going backward. */
static ssize_t at_step(const struct saga *s)
{
	if (s->phase == PHASE_COMPENSATING || (s->phase == PHASE_STUCK && s->stuck_backward)) {
		for (size_t k = s->norder; k-- > 0;) {
			size_t i = s->order[k];
			if (s->def.steps[i].has_compensation && s->steps[i].cst != COMP_SUCCEEDED)
				return (ssize_t)i;
		}
		return -1;
	}
	for (size_t i = 0; i < s->def.nsteps; i++)
		if (s->steps[i].st != STEP_SUCCEEDED)
			return (ssize_t)i;
	return -1;
}

static void status_record(const char *dir, const struct saga *s)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	char ts[TS_BUFSZ];
	jw_init(&w, &sb);
	rec_begin(&w, "saga.status");
	jw_kv_str(&w, "saga", s->id);
	jw_kv_str(&w, "definition", s->def.name);
	jw_kv_int(&w, "version", s->def.version);
	jw_kv_str(&w, "state", saga_phase_names[s->phase]);
	size_t done = 0;
	for (size_t i = 0; i < s->def.nsteps; i++)
		done += s->steps[i].st == STEP_SUCCEEDED;
	jw_kv_int(&w, "steps_done", (int64_t)done);
	jw_kv_int(&w, "steps", (int64_t)s->def.nsteps);
	jw_kv_bool(&w, "pivot_passed", s->pivot_passed);
	ssize_t at = at_step(s);
	if (at >= 0) {
		const struct step_rt *st = &s->steps[at];
		bool back = s->phase == PHASE_COMPENSATING ||
			    (s->phase == PHASE_STUCK && s->stuck_backward);
		jw_kv_str(&w, "step", s->def.steps[at].name);
		jw_kv_str(&w, "step_state",
			  back ? comp_state_names[st->cst] : step_state_names[st->st]);
		jw_kv_int(&w, "attempts", back ? st->c_attempts : st->attempts);
		const char *e = back ? st->c_error : st->error;
		if (e)
			jw_kv_str(&w, "last_error", e);
		if (st->st == STEP_PARKED) {
			jw_kv_str(&w, "signal", s->def.steps[at].signal);
			if (st->deadline)
				jw_kv_str(&w, "deadline", ts_format(st->deadline, ts));
		}
	}
	if (s->reason)
		jw_kv_str(&w, "reason", s->reason);
	jw_kv_bool(&w, "driven", driven(dir, s->id));
	if (s->started_ns)
		jw_kv_str(&w, "started", ts_format(s->started_ns, ts));
	if (s->updated_ns)
		jw_kv_str(&w, "updated", ts_format(s->updated_ns, ts));
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

static int status_of(const struct saga *s)
{
	return s->phase == PHASE_COMPENSATED ? EXIT_NO
	       : s->phase == PHASE_STUCK     ? EXIT_SYSTEM
					     : EXIT_OK;
}

static char *dir_or_die(void)
{
	struct strbuf err = SB_INIT;
	char *dir = saga_dir(false, &err);
	if (!dir)
		die("%s", err.buf);
	sb_release(&err);
	return dir;
}

/* Load saga id of dir; on failure report and return the exit status. */
static int load(const char *dir, const char *id, struct saga *s)
{
	char *path = saga_journal_path(dir, id);
	struct strbuf err = SB_INIT;
	int r = 0;
	if (!saga_exists(path)) {
		memset(s, 0, sizeof(*s));
		error("no saga '%s' in '%s'", id, dir);
		r = EXIT_USAGE;
	} else if (saga_load(path, s, &err) < 0) {
		error("%s", err.buf);
		r = EXIT_SYSTEM;
	}
	sb_release(&err);
	free(path);
	return r;
}

int cmd_status(int argc, char **argv)
{
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	while (opt_next(&op) != OPT_DONE)
		;
	char **ids;
	int n = opt_operands(&op, &ids);
	if (!n)
		opt_usage_error(&op, "no saga id given");
	for (int i = 0; i < n; i++)
		if (!saga_id_valid(ids[i]))
			opt_usage_error(&op, "'%s' is not a saga id", ids[i]);
	char *dir = dir_or_die();
	int status = EXIT_OK;
	for (int i = 0; i < n; i++) {
		struct saga s;
		int r = load(dir, ids[i], &s);
		if (!r) {
			status_record(dir, &s);
			r = status_of(&s);
		}
		if (r > status)
			status = r;
		saga_free(&s);
	}
	free(dir);
	opt_end(&op);
	return status;
}

int cmd_list(int argc, char **argv)
{
	int want = -1, c;
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE) {
		if (c != GOPT_STATE)
			continue;
		for (want = 0; saga_phase_names[want]; want++)
			if (!strcmp(saga_phase_names[want], op.arg))
				break;
		if (!saga_phase_names[want])
			opt_usage_error(&op, "--state: '%s' is not one of running, parked, "
					     "compensating, completed, compensated, stuck", op.arg);
	}
	char **ops;
	if (opt_operands(&op, &ops))
		opt_usage_error(&op, "list takes no operands");
	char *dir = dir_or_die();
	struct strbuf err = SB_INIT;
	size_t n;
	char **ids = saga_list_ids(dir, &n, &err);
	if (!ids)
		die("%s", err.buf);
	int status = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		struct saga s;
		int r = load(dir, ids[i], &s);
		if (r)
			status = EXIT_SYSTEM;
		else if (want < 0 || (int)s.phase == want)
			status_record(dir, &s);
		saga_free(&s);
	}
	saga_ids_free(ids);
	free(dir);
	sb_release(&err);
	opt_end(&op);
	return status;
}

static int print_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	(void)ctx;
	out_write(out_stdout(), line, len);
	out_write(out_stdout(), "\n", 1);
	return 0;
}

int cmd_log(int argc, char **argv)
{
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	while (opt_next(&op) != OPT_DONE)
		;
	char **ids;
	if (opt_operands(&op, &ids) != 1)
		opt_usage_error(&op, "give one saga id");
	if (!saga_id_valid(ids[0]))
		opt_usage_error(&op, "'%s' is not a saga id", ids[0]);
	char *dir = dir_or_die();
	char *path = saga_journal_path(dir, ids[0]);
	struct strbuf err = SB_INIT;
	int status = EXIT_OK;
	if (!saga_exists(path)) {
		error("no saga '%s' in '%s'", ids[0], dir);
		status = EXIT_USAGE;
	} else if (journal_read(path, print_line, NULL, NULL, &err) != 0) {
		error("%s", err.buf);
		status = EXIT_SYSTEM;
	}
	sb_release(&err);
	free(path);
	free(dir);
	opt_end(&op);
	return status;
}
