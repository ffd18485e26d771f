/*
 * cmds.h: ofs-deploy's commands and option ids (main.c holds the tables).
 */
#ifndef OFS_DEPLOY_CMDS_H
#define OFS_DEPLOY_CMDS_H

enum {
	DOPT_DRY_RUN = 256,
	DOPT_STATS,
	DOPT_TO,
	DOPT_WAIT,
};

int cmd_run(int argc, char **argv);      /* run.c */
int cmd_status(int argc, char **argv);   /* status.c */
int cmd_promote(int argc, char **argv);  /* control.c */
int cmd_abort(int argc, char **argv);    /* control.c */
int cmd_rollback(int argc, char **argv); /* control.c */
int cmd_resume(int argc, char **argv);   /* run.c */
int cmd_history(int argc, char **argv);  /* history.c */
int cmd_validate(int argc, char **argv); /* validate.c */

#endif
