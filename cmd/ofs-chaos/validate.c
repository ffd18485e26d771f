/*
 * validate.c: `ofs-chaos validate [--var NAME=VALUE]... EXPERIMENT...`:
 * load and check experiment files exactly as `run` does, running and
 * injecting nothing, so a CI step or a pre-commit hook catches what a
 * run would refuse.
 *
 * Each valid file gives one chaos.experiment record saying what it
 * holds (the topology as a run would open it: relative to the file's
 * directory); each invalid one prints all of its problems on stderr and the
 * next file is still checked. The status is 2 when any file was invalid
 * or could not be read, else 0.
 */
#include "common.h"

#include "chaos.h"
#include "record.h"

/* The distinct fault kinds of a list, in order, appended to kinds. */
static void add_kinds(const struct activity *acts, size_t n, const char ***kinds, size_t *nkinds,
		      size_t *alloc)
{
	for (size_t i = 0; i < n; i++) {
		if (acts[i].prov != PROV_FAULT || !acts[i].provider)
			continue;
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(acts[i].provider, "kind");
		if (!cJSON_IsString(k))
			continue;
		size_t j = 0;
		while (j < *nkinds && strcmp((*kinds)[j], k->valuestring) != 0)
			j++;
		if (j < *nkinds)
			continue;
		ALLOC_GROW(*kinds, *nkinds + 1, *alloc);
		(*kinds)[(*nkinds)++] = k->valuestring;
	}
}

static void write_record(const char *file, const struct experiment *e)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	const char **kinds = NULL;
	size_t nkinds = 0, alloc = 0;
	add_kinds(e->hypothesis, e->nhypothesis, &kinds, &nkinds, &alloc);
	add_kinds(e->method, e->nmethod, &kinds, &nkinds, &alloc);
	add_kinds(e->rollbacks, e->nrollbacks, &kinds, &nkinds, &alloc);
	jw_init(&w, &sb);
	rec_begin(&w, "chaos.experiment");
	jw_kv_str(&w, "file", file);
	jw_kv_str(&w, "title", e->title);
	jw_kv_int(&w, "hypothesis", (int64_t)e->nhypothesis);
	jw_kv_int(&w, "method", (int64_t)e->nmethod);
	jw_kv_int(&w, "rollbacks", (int64_t)e->nrollbacks);
	jw_key(&w, "faults");
	jw_arr_begin(&w);
	for (size_t i = 0; i < nkinds; i++)
		jw_str(&w, kinds[i]);
	jw_arr_end(&w);
	jw_key(&w, "tags");
	jw_arr_begin(&w);
	for (const char *const *t = e->tags; t && *t; t++)
		jw_str(&w, *t);
	jw_arr_end(&w);
	if (e->rto_ns > 0)
		jw_kv_double(&w, "rto_s", (double)e->rto_ns / 1e9);
	if (e->topology)
		jw_kv_str(&w, "topology", e->topology);
	rec_end(&w, out_stdout());
	sb_release(&sb);
	free(kinds);
}

int cmd_validate(int argc, char **argv)
{
	struct opt_parser p;
	const char **vars = NULL;
	size_t nvars = 0, avars = 0;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		if (c == COPT_VAR) {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg)
				opt_usage_error(&p, "--var '%s': expected name=value", p.arg);
			ALLOC_GROW(vars, nvars + 1, avars);
			vars[nvars++] = p.arg;
		}
	}
	ALLOC_GROW(vars, nvars + 1, avars);
	vars[nvars] = NULL;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops == 0)
		opt_usage_error(&p, "missing experiment file");

	int status = EXIT_OK;
	for (int i = 0; i < nops; i++) {
		struct experiment e;
		struct strbuf err = SB_INIT;
		if (experiment_load(ops[i], vars, &e, &err) < 0) {
			error_lines(err.buf, err.len);
			status = EXIT_USAGE;
		} else {
			write_record(ops[i], &e);
		}
		experiment_free(&e);
		sb_release(&err);
	}
	opt_end(&p);
	free(vars);
	return status;
}
