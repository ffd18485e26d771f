/*
 * main.c: ofs-chaos's command table and the option tables of run and
 * validate (the other commands declare theirs beside their code).
 *
 * The tables are the one declaration of the command line: parsing,
 * --help, usage messages, completions and the man page SYNOPSIS check
 * all come from them (opt.h).
 */
#include "common.h"

#include "chaos.h"
#include "main.h"
#include "opt.h"

static const struct opt run_opts[] = {
	{ 'q', 'q', "quiet", NULL, "write only the verdict record on standard output", NULL, 0 },
	{ COPT_ABORT_ON_DEVIATION, 0, "abort-on-deviation", NULL,
	  "stop the method when the hypothesis deviates during it", NULL, 0 },
	{ COPT_DRY_RUN, 0, "dry-run", NULL, "print the plan as records; run and inject nothing",
	  NULL, 0 },
	{ COPT_FORCE, 0, "force", NULL,
	  "start even when the ledger holds live faults on the same targets", NULL, 0 },
	{ COPT_INTERVAL, 0, "interval", "duration",
	  "time between hypothesis checks during and after the method (default 1s)", NULL, 0 },
	{ COPT_JOURNAL, 0, "journal", "file",
	  "write the journal here (default: the state directory)", "@file", 0 },
	{ COPT_REPORT, 0, "report", "format", "also write a report: md", "md", 0 },
	{ COPT_REPORT_FILE, 0, "report-file", "file",
	  "write the report here (default: beside the journal)", "@file", 0 },
	{ COPT_ROLLBACKS, 0, "rollbacks", "strategy",
	  "when rollbacks run: default, always, never or deviated", "default always never deviated",
	  0 },
	{ COPT_RTO, 0, "rto", "duration",
	  "recovery time objective (overrides the experiment's)", NULL, 0 },
	{ COPT_TOPOLOGY, 0, "topology", "file",
	  "the topology for health probes and instance targets", "@file", 0 },
	{ COPT_VAR, 0, "var", "name=value", "set a configuration value (repeatable)", NULL, 0 },
	{ 0 },
};

static const struct opt validate_opts[] = {
	{ COPT_VAR, 0, "var", "name=value", "set a configuration value (repeatable)", NULL, 0 },
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "run", cmd_run, "experiment",
	  "run an experiment: gate, faults, hypothesis, rollbacks, verdict", run_opts },
	{ "validate", cmd_validate, "experiment ...",
	  "check experiment files and run nothing", validate_opts },
	{ "recover", cmd_recover, "[uid ...]",
	  "undo faults a crashed or killed run left behind", recover_opts },
	{ "inject", cmd_inject, "fault",
	  "inject one fault now, recorded in the ledger (undo it with recover)", inject_opts },
	{ "ledger", cmd_ledger, NULL, "list the faults that are live", ledger_opts },
	{ "proxy", cmd_proxy, NULL, "a TCP fault proxy with Toxiproxy's toxics", proxy_opts },
	{ "pick", cmd_pick, NULL,
	  "choose one experiment at random from a catalog, within allowed hours", pick_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-chaos",
	"inject faults inside experiments with steady-state hypotheses and an RTO verdict",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
