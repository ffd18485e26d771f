/*
 * signal.c: `ofs-saga signal` and `ofs-saga abort`: outside events for
 * a saga, journalled under its lock and then acted on at once.
 *
 * A signal is kept until a wait step takes it, so one that arrives
 * before the saga reaches its wait is not lost. If another run is
 * driving the saga, both commands wait for it (up to 30 s) rather than
 * drop the event. Abort turns a saga backward; after its pivot it is
 * refused, since the pivot cannot be undone.
 */
#include "common.h"

#include "cmds.h"
#include "config.h"
#include "engine.h"
#include "opt.h"
#include "saga.h"
#include "sig.h"

#define EVENT_LOCK_WAIT_MS 30000

static int deliver(const char *id, enum engine_pre pre, const char *sig, const cJSON *data)
{
	struct strbuf err = SB_INIT;
	char *dir = saga_dir(false, &err);
	if (!dir)
		die("%s", err.buf);
	sig_setup();
	struct engine *e = engine_new(dir, 1, false, false);
	engine_lock_wait(e, EVENT_LOCK_WAIT_MS);
	engine_add(e, id, pre, sig, data);
	int status = engine_run(e);
	engine_free(e);
	free(dir);
	sb_release(&err);
	return status;
}

int cmd_signal(int argc, char **argv)
{
	const char *data_text = NULL;
	struct opt_parser op;
	int c;
	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE)
		if (c == 'd')
			data_text = op.arg;
	char **ops;
	if (opt_operands(&op, &ops) != 2)
		opt_usage_error(&op, "give a saga id and a signal name");
	if (!saga_id_valid(ops[0]))
		opt_usage_error(&op, "'%s' is not a saga id", ops[0]);
	if (!saga_id_valid(ops[1]))
		opt_usage_error(&op, "'%s' is not a signal name (letters, digits, '_', '.', '-')",
				ops[1]);
	struct cfg data;
	cfg_init(&data, "--data");
	if (data_text) {
		struct strbuf err = SB_INIT;
		cfg_free(&data);
		if (cfg_parse_string("--data", data_text, strlen(data_text), &data, &err) < 0)
			opt_usage_error(&op, "%s", err.buf);
		sb_release(&err);
	}
	int status = deliver(ops[0], PRE_SIGNAL, ops[1], data.root);
	cfg_free(&data);
	opt_end(&op);
	return status;
}

int cmd_abort(int argc, char **argv)
{
	struct opt_parser op;
	opt_begin(&op, argc, argv);
	while (opt_next(&op) != OPT_DONE)
		;
	char **ops;
	if (opt_operands(&op, &ops) != 1)
		opt_usage_error(&op, "give one saga id");
	if (!saga_id_valid(ops[0]))
		opt_usage_error(&op, "'%s' is not a saga id", ops[0]);
	int status = deliver(ops[0], PRE_ABORT, NULL, NULL);
	opt_end(&op);
	return status;
}
