/*
 * main.c: ofs-deploy's command table and option tables.
 *
 * The tables are the one declaration of the command line: parsing,
 * --help, usage messages, completions and the man page SYNOPSIS check
 * all come from them (opt.h).
 */
#include "common.h"

#include "cmds.h"
#include "main.h"
#include "opt.h"

static const struct opt run_opts[] = {
	{ 'q', 'q', "quiet", NULL, "write only the deploy.done record on standard output", NULL,
	  0 },
	{ DOPT_DRY_RUN, 0, "dry-run", NULL, "print the plan as records; change nothing", NULL, 0 },
	{ DOPT_WAIT, 0, "wait", "duration",
	  "wait this long for another deploy of the service to finish (default: exit at once)",
	  NULL, 0 },
	{ 0 },
};

static const struct opt resume_opts[] = {
	{ 'q', 'q', "quiet", NULL, "write only the deploy.done record on standard output", NULL,
	  0 },
	{ DOPT_WAIT, 0, "wait", "duration",
	  "wait this long for another deploy of the service to finish (default: exit at once)",
	  NULL, 0 },
	{ 0 },
};

static const struct opt rollback_opts[] = {
	{ 'q', 'q', "quiet", NULL, "write only the deploy.done record on standard output", NULL,
	  0 },
	{ DOPT_TO, 0, "to", "revision",
	  "the revision to go back to (default: the last one that was promoted before)", NULL, 0 },
	{ DOPT_WAIT, 0, "wait", "duration",
	  "wait this long for a running deploy to roll back (default 60s), or for the "
	  "service's lock (default: exit at once)",
	  NULL, 0 },
	{ 0 },
};

static const struct opt promote_opts[] = {
	{ DOPT_WAIT, 0, "wait", "duration",
	  "wait this long for the running deploy to take the promote (default 10s)", NULL, 0 },
	{ 0 },
};

static const struct opt abort_opts[] = {
	{ 'q', 'q', "quiet", NULL, "write only the deploy.done record on standard output", NULL,
	  0 },
	{ DOPT_WAIT, 0, "wait", "duration",
	  "wait this long for the running deploy to roll back (default 60s)", NULL, 0 },
	{ 0 },
};

static const struct opt history_opts[] = {
	{ DOPT_STATS, 0, "stats", NULL,
	  "print deployment frequency, change failure rate and time to restore", NULL, 0 },
	{ 0 },
};

static const struct opt validate_opts[] = {
	{ 0 },
};

static const struct opt status_opts[] = {
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "run", cmd_run, "spec", "deploy a new revision of a service from a spec", run_opts },
	{ "status", cmd_status, "[service]",
	  "where a service's deploy stands; exit 0 only when it is healthy", status_opts },
	{ "promote", cmd_promote, "service",
	  "let a paused deploy go on (or skip the current pause)", promote_opts },
	{ "abort", cmd_abort, "service", "stop a deploy and roll it back", abort_opts },
	{ "rollback", cmd_rollback, "service",
	  "go back to an earlier revision at once, skipping analysis", rollback_opts },
	{ "resume", cmd_resume, "service",
	  "finish a deploy that was interrupted or killed", resume_opts },
	{ "history", cmd_history, "[service]",
	  "every deploy with its outcome and durations", history_opts },
	{ "validate", cmd_validate, "spec ...", "check specs and change nothing",
	  validate_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-deploy",
	"rolling, blue/green and canary deployments with analysis and automatic rollback",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
