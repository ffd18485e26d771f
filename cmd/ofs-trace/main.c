/*
 * main.c: ofs-trace's command table. Every command of the tool is listed
 * here with its option table (declared in trace.h, defined next to each
 * command's code), so parsing, --help, usage lines and completions all
 * come from one place (opt.h). The map of files:
 *
 *   convert.c stats.c tree.c (tree, show) critpath.c deps.c select.c
 *       the analysis commands, on traces assembled by traces.c
 *   logs.c join.c log.c      logs: merging, joining to spans, writing
 *   exec.c span_cmd.c ctx.c  propagation: spans of commands, one-shot
 *                            spans, traceparent handling
 *   export.c spool.c         sending spans to OTLP or Zipkin backends
 */
#include "common.h"

#include "main.h"
#include "opt.h"
#include "trace.h"

static const struct opt_cmd cmds[] = {
	{ "convert", cmd_convert, "[file ...]", "rewrite spans as native, OTLP or Zipkin JSON",
	  convert_opts },
	{ "stats", cmd_stats, "[file ...]",
	  "latency percentiles, errors and throughput per service and operation", stats_opts },
	{ "show", cmd_show, "TRACE_ID [file ...]", "draw one trace as a text waterfall",
	  show_opts },
	{ "tree", cmd_tree, "[file ...]", "every trace as a tree of trace.node records",
	  tree_opts },
	{ "critical-path", cmd_critical_path, "[file ...]",
	  "the spans that decided each trace's duration", critical_path_opts },
	{ "deps", cmd_deps, "[file ...]", "service dependencies seen in the traces", deps_opts },
	{ "select", cmd_select, "[file ...]", "keep the spans or traces that match filters",
	  select_opts },
	{ "logs", cmd_logs, "[file ...]", "merge log files by time and filter them", logs_opts },
	{ "join", cmd_join, "SPANS LOGS", "attach logs to the spans they were written in",
	  join_opts },
	{ "log", cmd_log, "LEVEL MESSAGE [key=value ...]",
	  "write one log record in the current trace context", log_opts },
	{ "exec", cmd_exec, "-- CMD [ARG ...]", "run a command as a span of the current trace",
	  exec_opts },
	{ "span", cmd_span, NULL, "write one span with given start and end times", span_opts },
	{ "ctx", cmd_ctx, "new|child|parse [traceparent]", "make, derive or check traceparents",
	  ctx_opts },
	{ "export", cmd_export, "[file ...]",
	  "send spans to an OTLP or Zipkin backend, spooling what cannot be sent", export_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-trace",
	"analyse traces and logs, propagate trace context, export spans",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
