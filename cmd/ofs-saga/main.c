/*
 * main.c: ofs-saga's command table and option tables.
 *
 * The tables are the one declaration of the command line: parsing,
 * --help, usage messages, completions and the man page SYNOPSIS check
 * all come from them (opt.h).
 */
#include "common.h"

#include "cmds.h"
#include "main.h"
#include "opt.h"
#include "subst.h"

#define CONCURRENCY_OPT \
	{ 'c', 'c', "concurrency", "n", "drive at most n sagas at once (default 16)", NULL, 0 }

static const struct opt start_opts[] = {
	CONCURRENCY_OPT,
	{ GOPT_DRY_RUN, 0, "dry-run", NULL,
	  "validate and print the steps as saga.plan records; start nothing", NULL, 0 },
	{ GOPT_ID, 0, "id", "id", "the saga's id (default NAME-16 hex digits); an existing id "
				  "with the same input is not started twice", NULL, 0 },
	{ 'i', 'i', "input", "json", "the saga's data: a JSON object over the definition's data",
	  NULL, 0 },
	{ GOPT_INPUTS, 0, "inputs", "file",
	  "start one saga per JSON Lines record of file (- for stdin)", "@file", 0 },
	{ 'w', 'w', "wait", NULL, "run the sagas now and print their records", NULL, 0 },
	{ 0 },
};

static const struct opt run_opts[] = {
	CONCURRENCY_OPT,
	{ 0 },
};

static const struct opt resume_opts[] = {
	{ GOPT_ALL, 0, "all", NULL, "every saga that has not ended, stuck ones included", NULL,
	  0 },
	CONCURRENCY_OPT,
	{ GOPT_DUE, 0, "due", NULL,
	  "sagas that can go on now: crashed, signalled, or past a deadline", NULL, 0 },
	{ 0 },
};

static const struct opt signal_opts[] = {
	{ 'd', 'd', "data", "json", "the signal's data, the wait step's output", NULL, 0 },
	{ 0 },
};

static const struct opt list_opts[] = {
	{ GOPT_STATE, 0, "state", "state", "only sagas in this state",
	  "running parked compensating completed compensated stuck", 0 },
	{ 0 },
};

static const struct opt graph_opts[] = {
	{ 'f', 'f', "format", "format", "dot (default) or mermaid", "dot mermaid", 0 },
	{ GOPT_JOURNAL, 0, "journal", "id", "overlay the state of the saga with this id", NULL,
	  0 },
	{ 0 },
};

static const struct opt none_opts[] = {
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "start", cmd_start, "definition",
	  "start a saga (prints its id); --wait runs it to its end or its next wait",
	  start_opts },
	{ "run", cmd_run, "id ...", "drive sagas to their end or their next wait", run_opts },
	{ "resume", cmd_resume, "[id ...]",
	  "continue crashed, signalled and overdue sagas (for cron)", resume_opts },
	{ "signal", cmd_signal, "id name", "deliver a named signal to a saga and drive it on",
	  signal_opts },
	{ "abort", cmd_abort, "id", "compensate a saga now (before its pivot)", none_opts },
	{ "status", cmd_status, "id ...",
	  "where a saga stands; exit 1 when compensated, 4 when stuck", none_opts },
	{ "list", cmd_list, "", "every saga of the state directory", list_opts },
	{ "log", cmd_log, "id", "a saga's journal, as records", none_opts },
	{ "graph", cmd_graph, "definition",
	  "the saga as a DOT or Mermaid graph: steps, compensations, the pivot", graph_opts },
	{ "lint", cmd_lint, "definition ...", "consistency risks in definitions; exit 1 if any",
	  none_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-saga",
	"sagas with compensations, a durable journal, crash resume and long waits",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	subst_words("data value", "step");
	return opt_dispatch(&tool, argc, argv);
}
