/*
 * check_cmd.c: `ofs-health check`: load, run one round, judge, write it
 * in the chosen format, and answer with the exit status (0 all healthy,
 * 1 anything else; with -o nagios the plugin codes).
 *
 * Bad target lines turn a 0 or 1 into 3 (the rest was still checked);
 * -o nagios keeps its own codes and only turns OK into UNKNOWN then.
 */
#include "common.h"

#include "health.h"
#include "jsonl.h"
#include "sig.h"

int health_rejected_status(int status, enum health_format f)
{
	if (jsonl_total_bad() == 0)
		return status;
	if (f == FMT_NAGIOS)
		return status == 0 ? 3 : status;
	return status < EXIT_USAGE ? EXIT_REJECTED : status;
}

int cmd_check(int argc, char **argv)
{
	struct health_opts o;
	health_opts_parse(&o, argc, argv, false, false);
	struct health h;
	int status = health_load(&h, &o);
	if (status == EXIT_OK) {
		sig_setup();
		int rc = health_round(&h);
		health_take_raw(&h);
		health_judge(&h);
		int written = health_output(&h);
		status = health_exit_status(&h, o.format);
		if (rc < 0)
			status = sig_exit_status() ? sig_exit_status() : EXIT_SYSTEM;
		else if (written < 0)
			status = EXIT_SYSTEM;
		else
			status = health_rejected_status(status, o.format);
	}
	health_free(&h);
	health_opts_free(&o);
	return status;
}
