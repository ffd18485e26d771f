/*
 * recover.c: `ofs-chaos recover` and `ofs-chaos ledger`: what to do
 * about faults left behind, the most common complaint about chaos tools
 * (a stopped process, a tc rule, a filled disk after the run that made
 * them was killed).
 *
 * `ledger` lists the live faults as their inject records (or, with
 * --all, the whole history). `recover` undoes the live faults named by
 * uid, or all of them, newest first (a later fault may stand on an
 * earlier one), through the same undo a run uses, recorded in the
 * ledger. A fault whose run is still alive (same pid and start time) is
 * that run's business: it is skipped unless --force.
 */
#include "common.h"

#include "chaos.h"
#include "fault.h"
#include "hash.h"
#include "out.h"
#include "record.h"
#include "sig.h"

const struct opt recover_opts[] = {
	{ COPT_ALL, 0, "all", NULL, "undo every live fault", NULL, 0 },
	{ COPT_DRY_RUN, 0, "dry-run", NULL, "say what would be undone; change nothing", NULL, 0 },
	{ COPT_FORCE, 0, "force", NULL, "undo faults whose run is still alive too", NULL, 0 },
	{ 0 },
};

const struct opt ledger_opts[] = {
	{ COPT_ALL, 0, "all", NULL, "print every record of the ledger, not only live faults",
	  NULL, 0 },
	{ 0 },
};

/* Print one chaos.recover record. */
static void print_recover(const cJSON *rec, const char *uid, const char *status,
			  const char *reason, bool dry_run)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "chaos.recover");
	jw_kv_str(&w, "uid", uid);
	if (rec) {
		jw_kv_str(&w, "kind", fget_str(rec, "kind"));
		jw_kv_str(&w, "target", fget_str(rec, "target"));
	}
	jw_kv_str(&w, "status", status);
	if (reason && *reason)
		jw_kv_str(&w, "reason", reason);
	if (dry_run) {
		jw_kv_bool(&w, "dry_run", true);
		const cJSON *undo = cJSON_GetObjectItemCaseSensitive(rec, "undo");
		if (undo) {
			jw_key(&w, "undo");
			jw_cjson(&w, undo);
		}
	}
	rec_end(&w, out_stdout());
	out_flush(out_stdout());
	sb_release(&sb);
}

static cJSON *find_uid(const cJSON *list, const char *uid, const char *op)
{
	for (cJSON *r = list ? list->child : NULL; r; r = r->next) {
		const char *u = fget_str(r, "uid"), *o = fget_str(r, "op");
		if (u && !strcmp(u, uid) && (!op || (o && !strcmp(o, op))))
			return r;
	}
	return NULL;
}

int cmd_recover(int argc, char **argv)
{
	struct opt_parser p;
	bool all = false, dry_run = false, force = false;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case COPT_ALL:
			all = true;
			break;
		case COPT_DRY_RUN:
			dry_run = true;
			break;
		case COPT_FORCE:
			force = true;
			break;
		default:
			break;
		}
	}
	char **uids;
	int nuids = opt_operands(&p, &uids);
	if (!all && !nuids)
		opt_usage_error(&p, "name the faults to undo by uid, or give --all");
	if (all && nuids)
		opt_usage_error(&p, "give uids or --all, not both");

	struct strbuf err = SB_INIT;
	struct ledger *l = dry_run ? ledger_at(NULL, &err) : ledger_open(NULL, &err);
	cJSON *live = NULL, *history = NULL;
	int status = EXIT_OK;
	if (!l) {
		error("cannot open the fault ledger: %s", err.buf);
		status = EXIT_SYSTEM;
		goto out;
	}
	if (!(live = ledger_live(l, &err)) || (nuids && !(history = ledger_history(l, &err)))) {
		error("cannot read the fault ledger: %s", err.buf);
		status = EXIT_SYSTEM;
		goto out;
	}

	/* what to undo: a set of uids of live faults */
	struct ht *chosen = ht_new();
	int unknown = 0;
	for (int i = 0; i < nuids; i++) {
		if (find_uid(live, uids[i], NULL)) {
			ht_put(chosen, uids[i], NULL);
		} else if (!find_uid(history, uids[i], "inject")) {
			print_recover(NULL, uids[i], "unknown", "no such fault in the ledger", dry_run);
			error("no fault '%s' in the ledger", uids[i]);
			unknown++;
		}
	}
	if (unknown) {
		ht_free(chosen, NULL);
		status = EXIT_USAGE;
		goto out;
	}
	struct ht *told = ht_new();
	for (int i = 0; i < nuids; i++) {
		if (ht_has(chosen, uids[i]) || ht_has(told, uids[i]))
			continue;
		ht_put(told, uids[i], NULL);
		print_recover(find_uid(history, uids[i], "inject"), uids[i], "undone",
			      "already undone", false);
	}
	ht_free(told, NULL);

	/* newest first: a later fault may stand on an earlier one */
	size_t n = 0;
	cJSON **order = xcalloc((size_t)cJSON_GetArraySize(live) + 1, sizeof(*order));
	for (cJSON *rec = live->child; rec; rec = rec->next) {
		const char *uid = fget_str(rec, "uid");
		if (uid && (all || ht_has(chosen, uid)))
			order[n++] = rec;
	}
	struct fault_ctx fc = { l, NULL, NULL, NULL, false };
	sig_setup();
	while (n-- > 0 && !sig_pending()) {
		const cJSON *rec = order[n];
		const char *uid = fget_str(rec, "uid");
		if (!force && ledger_owner_alive(rec)) {
			struct strbuf why = SB_INIT;
			sb_addf(&why, "the run that injected it (pid %ld) is still alive; use --force",
				(long)fget_int(rec, "pid", 0));
			print_recover(rec, uid, "skipped", why.buf, dry_run);
			warn("skipped fault '%s': %s", uid, why.buf);
			sb_release(&why);
			status = EXIT_NO;
		} else if (dry_run) {
			print_recover(rec, uid, "planned", NULL, true);
		} else {
			struct strbuf note = SB_INIT, e = SB_INIT;
			if (fault_undo_note(&fc, rec, &note, &e) < 0) {
				print_recover(rec, uid, "failed", e.buf, false);
				error("cannot undo fault '%s': %s", uid, e.buf);
				status = EXIT_NO;
			} else {
				print_recover(rec, uid, "undone", note.buf, false);
			}
			sb_release(&note);
			sb_release(&e);
		}
	}
	free(order);
	ht_free(chosen, NULL);
	if (sig_pending())
		status = sig_exit_status();
out:
	cJSON_Delete(live);
	cJSON_Delete(history);
	ledger_close(l);
	sb_release(&err);
	opt_end(&p);
	return status;
}

int cmd_ledger(int argc, char **argv)
{
	struct opt_parser p;
	bool all = false;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE)
		if (c == COPT_ALL)
			all = true;
	char **ops;
	if (opt_operands(&p, &ops) > 0)
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	opt_end(&p);

	struct strbuf err = SB_INIT, sb = SB_INIT;
	struct ledger *l = ledger_at(NULL, &err);
	cJSON *list = l ? (all ? ledger_history(l, &err) : ledger_live(l, &err)) : NULL;
	int status = EXIT_OK;
	if (!list) {
		error("cannot read the fault ledger: %s", err.buf);
		status = EXIT_SYSTEM;
	}
	for (const cJSON *r = list ? list->child : NULL; r; r = r->next) {
		struct jw w;
		jw_init(&w, &sb);
		jw_cjson(&w, r);
		out_record(out_stdout(), &sb);
	}
	cJSON_Delete(list);
	ledger_close(l);
	sb_release(&sb);
	sb_release(&err);
	return status;
}
