/*
 * validate.c: `ofs-deploy validate SPEC...`: load and check deploy specs
 * exactly as `run` does, touching nothing, so a CI step or a pre-commit
 * hook catches what a deploy would refuse.
 *
 * Each valid file gives one deploy.spec record saying what it holds
 * (service, version, replicas, the strategy and drivers, the analyses
 * and, for a canary, its number of steps including the final promote);
 * each invalid one prints all of its problems on stderr and the next
 * file is still checked. The status is 2 when any file was invalid or
 * could not be read, else 0.
 */
#include "common.h"

#include "cmds.h"
#include "deploy.h"
#include "opt.h"
#include "record.h"

static void write_record(const char *file, const struct dp_spec *s)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "deploy.spec");
	jw_kv_str(&w, "file", file);
	jw_kv_str(&w, "service", s->service);
	jw_kv_str(&w, "version", s->version);
	jw_kv_int(&w, "replicas", s->replicas);
	jw_kv_str(&w, "strategy", dp_strategy_name(s->strategy.kind));
	jw_kv_str(&w, "instances", dp_runner_name(s->instances.driver));
	jw_kv_str(&w, "traffic", dp_router_name(s->traffic.driver));
	jw_key(&w, "analyses");
	jw_arr_begin(&w);
	for (size_t i = 0; i < s->nanalysis; i++)
		jw_str(&w, s->analysis[i].name);
	jw_arr_end(&w);
	if (s->strategy.kind == DP_CANARY)
		jw_kv_int(&w, "steps", (int64_t)s->strategy.canary.n);
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

int cmd_validate(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	while (opt_next(&p) != OPT_DONE)
		;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops == 0)
		opt_usage_error(&p, "missing spec file");

	int status = EXIT_OK;
	for (int i = 0; i < nops; i++) {
		struct dp_spec spec;
		struct strbuf err = SB_INIT;
		if (dp_spec_load(ops[i], &spec, &err) < 0) {
			error_lines(err.buf, err.len);
			status = EXIT_USAGE;
		} else {
			write_record(ops[i], &spec);
		}
		dp_spec_release(&spec);
		sb_release(&err);
	}
	opt_end(&p);
	return status;
}
