/*
 * cmds.h: ofs-scale's commands and option ids (main.c holds the tables).
 */
#ifndef OFS_SCALE_CMDS_H
#define OFS_SCALE_CMDS_H

enum {
	SOPT_APPLY = 256,
	SOPT_DELAY,
	SOPT_DEMAND,
	SOPT_DRY_RUN,
	SOPT_DURATION,
	SOPT_FOR,
	SOPT_FORECAST,
	SOPT_GROWTH,
	SOPT_HEADROOM,
	SOPT_HOLDOUT,
	SOPT_HORIZON,
	SOPT_MARK,
	SOPT_METHOD,
	SOPT_METRIC,
	SOPT_MONTHS,
	SOPT_NO_STATE,
	SOPT_POLL,
	SOPT_REPLICAS,
	SOPT_SEASON,
	SOPT_SERVICE,
	SOPT_SPIKE,
	SOPT_STEP,
	SOPT_STRICT,
	SOPT_THRESHOLD,
	SOPT_WATCH,
};

int cmd_decide(int argc, char **argv);   /* decide.c */
int cmd_forecast(int argc, char **argv); /* forecast_cmd.c */
int cmd_size(int argc, char **argv);     /* size.c */
int cmd_plan(int argc, char **argv);     /* plan.c */
int cmd_simulate(int argc, char **argv); /* simulate.c */
int cmd_idle(int argc, char **argv);     /* idle.c */
int cmd_validate(int argc, char **argv); /* validate.c */

#endif
