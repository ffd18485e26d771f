/*
 * inject.c: `ofs-chaos inject`: one fault, now, outside any experiment,
 * for the engineer who wants to see what a pause of payments-1 does to
 * the shop before writing the experiment that proves it.
 *
 * The fault is the same provider object an experiment's method holds
 * ({"kind":"pause","instance":"payments-1","duration":"30s"}, with or
 * without "type":"fault"), given as an operand or on stdin, validated
 * like the experiment loader validates it (every problem with its JSON
 * pointer, status 2, nothing done). It goes through the ledger like any
 * fault, so `recover` undoes it if this process is killed. A fault with
 * a duration keeps the command in the foreground until it is due, then
 * undone; SIGINT or SIGTERM undoes it early (status 128+N), and so
 * does an exit forced by a reader of stdout that went away. Without a
 * duration the command returns at once and the fault stays live until
 * `ofs-chaos recover UID`.
 */
#include "common.h"
#include <poll.h>

#include "chaos.h"
#include "config.h"
#include "fault.h"
#include "out.h"
#include "record.h"
#include "sig.h"
#include "timefmt.h"

const struct opt inject_opts[] = {
	{ COPT_DRY_RUN, 0, "dry-run", NULL, "say what would be injected; change nothing", NULL, 0 },
	{ COPT_TOPOLOGY, 0, "topology", "file", "the topology of instance and service targets",
	  "@file", 0 },
	{ 0 },
};

/*
 * The fault with a duration this command is waiting to undo. Should the
 * process exit before its time without undoing it (the reader of stdout
 * went away, so the output layer exits), the exit handler undoes it.
 */
static struct {
	struct fault_ctx *fc;
	char uid[20];
} pending;

static void undo_pending(void)
{
	if (!pending.fc)
		return;
	struct fault_ctx *fc = pending.fc;
	pending.fc = NULL;
	struct strbuf err = SB_INIT;
	cJSON *live = ledger_live(fc->ledger, &err);
	for (const cJSON *r = live ? live->child : NULL; r; r = r->next) {
		const char *u = fget_str(r, "uid");
		if (u && !strcmp(u, pending.uid) && fault_undo(fc, r, &err) < 0)
			error("cannot undo fault '%s': %s; undo it with 'ofs-chaos recover %s'",
			      pending.uid, err.buf, pending.uid);
	}
	cJSON_Delete(live);
	sb_release(&err);
}

/* Print {"type":"chaos.fault","ts","op":OP, ...fields}. */
static void print_record(const char *op, const cJSON *fields)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "chaos.fault");
	jw_kv_str(&w, "op", op);
	for (const cJSON *c = fields ? fields->child : NULL; c; c = c->next) {
		jw_key(&w, c->string);
		jw_cjson(&w, c);
	}
	rec_end(&w, out_stdout());
	out_flush(out_stdout());
	sb_release(&sb);
}

/* Wait until the wall clock reaches due_ns or a stopping signal comes. */
static void wait_until(int64_t due_ns)
{
	for (;;) {
		if (sig_pending())
			return;
		int64_t left = (due_ns - ts_now_ns()) / 1000000;
		if (left <= 0)
			return;
		struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
		poll(&p, 1, left > 1000 ? 1000 : (int)left + 1);
	}
}

/* The live inject record of uid, detached from live, or NULL. */
static cJSON *take_live(cJSON *live, const char *uid)
{
	for (cJSON *r = live ? live->child : NULL; r; r = r->next) {
		const char *u = fget_str(r, "uid");
		if (u && !strcmp(u, uid))
			return cJSON_DetachItemViaPointer(live, r);
	}
	return NULL;
}

/* Undo the fault injected (output) at its due time; the exit status. */
static int undo_when_due(struct fault_ctx *fc, const cJSON *output)
{
	const char *uid = fget_str(output, "uid");
	int64_t due = fault_due(output);
	wait_until(due);
	pending.fc = NULL;
	int status = sig_exit_status();
	sig_reset(); /* the undo's own waits must not see the signal */

	struct strbuf err = SB_INIT, note = SB_INIT;
	cJSON *fields = cJSON_CreateObject();
	cJSON_AddStringToObject(fields, "uid", uid);
	cJSON_AddStringToObject(fields, "kind", fget_str(output, "kind"));
	cJSON_AddStringToObject(fields, "target", fget_str(output, "target"));
	cJSON *live = ledger_live(fc->ledger, &err);
	cJSON *rec = take_live(live, uid);
	const char *op = "undone";
	if (!live) {
		op = "undo_failed";
		cJSON_AddStringToObject(fields, "reason", err.buf);
	} else if (!rec) {
		cJSON_AddStringToObject(fields, "reason", "already undone");
	} else if (fault_undo_note(fc, rec, &note, &err) < 0) {
		op = "undo_failed";
		cJSON_AddStringToObject(fields, "reason", err.buf);
	} else if (note.len) {
		cJSON_AddStringToObject(fields, "reason", note.buf);
	}
	print_record(op, fields);
	if (!strcmp(op, "undo_failed")) {
		error("cannot undo fault '%s': %s; it stays live: undo it with 'ofs-chaos recover "
		      "%s'", uid, err.buf, uid);
		if (!status)
			status = EXIT_NO;
	}
	cJSON_Delete(rec);
	cJSON_Delete(live);
	cJSON_Delete(fields);
	sb_release(&err);
	sb_release(&note);
	return status;
}

int cmd_inject(int argc, char **argv)
{
	struct opt_parser p;
	bool dry_run = false;
	const char *topo_path = NULL;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case COPT_DRY_RUN:
			dry_run = true;
			break;
		case COPT_TOPOLOGY:
			topo_path = p.arg;
			break;
		default:
			break;
		}
	}
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops < 1)
		opt_usage_error(&p, "a fault is required (a JSON object, or - for standard input)");
	if (nops > 1)
		opt_usage_error(&p, "unexpected operand '%s'", ops[1]);
	const char *arg = ops[0];

	struct cfg cfg;
	struct strbuf err = SB_INIT;
	int r = !strcmp(arg, "-") ? cfg_load("-", &cfg, &err) :
				    cfg_parse_string("fault", arg, strlen(arg), &cfg, &err);
	opt_end(&p);
	if (r < 0) {
		error_lines(err.buf, err.len);
		cfg_free(&cfg);
		sb_release(&err);
		return EXIT_USAGE;
	}
	cJSON *prov = cfg_root_object(&cfg);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(prov, "type");
	if (type && !(cJSON_IsString(type) && !strcmp(type->valuestring, "fault")))
		cfg_error(&cfg, "/type", "must be \"fault\" (or left out)");
	if (prov)
		fault_check(&cfg, prov, "", true);
	if (cfg.nerrors) {
		cfg_report(&cfg);
		cfg_free(&cfg);
		sb_release(&err);
		return EXIT_USAGE;
	}

	struct topology topo;
	memset(&topo, 0, sizeof(topo));
	bool have_topo = false;
	if (topo_path) {
		if (topo_load(topo_path, &topo, &err) < 0) {
			error_lines(err.buf, err.len);
			topo_free(&topo);
			cfg_free(&cfg);
			sb_release(&err);
			return EXIT_USAGE;
		}
		have_topo = true;
	} else if (cJSON_GetObjectItemCaseSensitive(prov, "instance") ||
		   cJSON_GetObjectItemCaseSensitive(prov, "service")) {
		error("%s targets need a topology: give --topology",
		      cJSON_GetObjectItemCaseSensitive(prov, "instance") ? "instance" : "service");
		cfg_free(&cfg);
		sb_release(&err);
		return EXIT_USAGE;
	}

	sig_setup();
	struct fault_ctx fc = { NULL, have_topo ? &topo : NULL, NULL, NULL, dry_run };
	int status = EXIT_OK;
	cJSON *output = NULL;
	if (!dry_run && !(fc.ledger = ledger_open(NULL, &err))) {
		error("cannot open the fault ledger: %s", err.buf);
		status = EXIT_SYSTEM;
	} else if (fault_inject(&fc, prov, &output, &err) < 0) {
		error("cannot inject the %s fault: %s", fget_str(prov, "kind"), err.buf);
		status = EXIT_SYSTEM;
	} else {
		if (!dry_run && fault_due(output)) {
			pending.fc = &fc;
			snprintf(pending.uid, sizeof(pending.uid), "%s", fget_str(output, "uid"));
			atexit(undo_pending);
		}
		print_record("inject", output);
		if (!dry_run && fault_due(output))
			status = undo_when_due(&fc, output);
		else
			status = sig_exit_status();
	}
	cJSON_Delete(output);
	ledger_close(fc.ledger);
	if (have_topo)
		topo_free(&topo);
	cfg_free(&cfg);
	sb_release(&err);
	return status;
}
