/*
 * trace.h: what the files of ofs-trace share: each command's entry point
 * and option table (main.c lists them), and the helpers several commands
 * use. One file per command or concern; see main.c for the map.
 */
#ifndef OFS_TRACE_H
#define OFS_TRACE_H

#include "opt.h"
#include "span.h"

/* Analysis commands (convert.c, stats.c, tree.c, critpath.c, deps.c, select.c). */
int cmd_convert(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_critical_path(int argc, char **argv);
int cmd_deps(int argc, char **argv);
int cmd_select(int argc, char **argv);
extern const struct opt convert_opts[], stats_opts[], show_opts[], tree_opts[],
	critical_path_opts[], deps_opts[], select_opts[];

/* Logs and propagation (logs.c, join.c, log.c, exec.c, span_cmd.c, ctx.c). */
int cmd_logs(int argc, char **argv);
int cmd_join(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_span(int argc, char **argv);
int cmd_ctx(int argc, char **argv);
extern const struct opt logs_opts[], join_opts[], log_opts[], exec_opts[], span_opts[],
	ctx_opts[];

/* Export (export.c, spool.c). */
int cmd_export(int argc, char **argv);
extern const struct opt export_opts[];

#endif
