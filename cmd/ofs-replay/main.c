/*
 * main.c: ofs-replay's command table.
 *
 * The table is the one declaration of the command line: parsing, --help,
 * usage messages, completions and the man page SYNOPSIS check all come
 * from it and from the option tables each command's file defines (opt.h).
 */
#include "common.h"

#include "cmds.h"
#include "main.h"
#include "opt.h"

static const struct opt_cmd cmds[] = {
	{ "record", cmd_record, "",
	  "a recording reverse proxy: every exchange through it as a record", record_opts },
	{ "import", cmd_import, "[file ...]",
	  "GoReplay files, HAR files and nginx JSON access logs as exchange records",
	  import_opts },
	{ "play", cmd_play, "[file ...]",
	  "replay recorded requests against a target and compare the responses", play_opts },
	{ "fold", cmd_fold, "[file ...]", "current state per aggregate from an event stream",
	  fold_opts },
	{ "reconcile", cmd_reconcile, "a b", "merge two diverged event logs; report conflicts",
	  reconcile_opts },
	{ "verify", cmd_verify, "legacy new",
	  "compare two record sets by key: missing, extra and differing records", verify_opts },
	{ "map", cmd_map, "[file ...]", "translate records between two models", map_opts },
	{ "schema", cmd_schema, "action [argument ...]",
	  "check records against JSON Schemas, compatibility, a schema registry", schema_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-replay",
	"capture and replay, response comparison, event-sourced state, migration checks",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
