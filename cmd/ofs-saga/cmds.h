/*
 * cmds.h: ofs-saga's commands and option ids (main.c holds the tables).
 */
#ifndef OFS_SAGA_CMDS_H
#define OFS_SAGA_CMDS_H

enum {
	GOPT_ALL = 256,
	GOPT_CONCURRENCY,
	GOPT_DATA,
	GOPT_DRY_RUN,
	GOPT_DUE,
	GOPT_FORMAT,
	GOPT_ID,
	GOPT_INPUT,
	GOPT_INPUTS,
	GOPT_JOURNAL,
	GOPT_STATE,
	GOPT_WAIT,
};

int cmd_start(int argc, char **argv);  /* start.c */
int cmd_run(int argc, char **argv);    /* drive.c */
int cmd_resume(int argc, char **argv); /* drive.c */
int cmd_signal(int argc, char **argv); /* signal.c */
int cmd_abort(int argc, char **argv);  /* signal.c */
int cmd_status(int argc, char **argv); /* status.c */
int cmd_list(int argc, char **argv);   /* status.c */
int cmd_log(int argc, char **argv);    /* status.c */
int cmd_graph(int argc, char **argv);  /* graph.c */
int cmd_lint(int argc, char **argv);   /* lint.c */

/* saga_concurrency: the argument of --concurrency (1..10000), or exit 2. */
int saga_concurrency(const char *arg); /* start.c */

#endif
