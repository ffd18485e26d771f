/*
 * main.c: ofs-split's command table.
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
	{ "route", cmd_route, "[file ...]",
	  "assign each record to a variant by its key, sticky, by weight", route_opts },
	{ "send", cmd_send, "[file ...]",
	  "send requests to primary and candidate (shadow or split) and compare the answers",
	  send_opts },
	{ "report", cmd_report, "[file ...]",
	  "a go/no-go table per endpoint from split.compare records", report_opts },
	{ "render", cmd_render, "",
	  "the split as nginx, HAProxy, Envoy or Istio configuration", render_opts },
	{ "apply", cmd_apply, "", "set the weights live on a running HAProxy", apply_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-split",
	"sticky percentage splits, shadow traffic, legacy-versus-new comparison",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
