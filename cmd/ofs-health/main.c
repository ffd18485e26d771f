/*
 * main.c: ofs-health's command table, its option tables, and the option
 * parsing check, watch and graph share.
 *
 * The tables are the one declaration of the command line: parsing,
 * --help, usage messages, completions and the man page SYNOPSIS check
 * all come from them (opt.h). Option values are checked here, before
 * anything is loaded or probed, so a typo costs nothing.
 */
#include "common.h"

#include "health.h"
#include "main.h"
#include "opt.h"
#include "units.h"

#define CHECK_OPTS                                                                              \
	{ 'c', 'c', "concurrency", "concurrency", "checks in flight at once (default 256)", NULL, \
	  0 },                                                                                   \
		{ 'f', 'f', "file", "file", "the topology file", "@file", 0 },                   \
		{ 'o', 'o', "output", "format", "jsonl (default), text, prom or nagios",         \
		  "jsonl text prom nagios", 0 },                                                 \
		{ 'q', 'q', "quiet", NULL, "write nothing on standard output; the exit status "  \
					   "answers",                                            \
		  NULL, 0 },                                                                     \
		{ 'v', 'v', "verbose", NULL, "more detail (watch: every record of every round)", \
		  NULL, 0 },                                                                     \
		{ HOPT_JITTER, 0, "jitter", "duration",                                          \
		  "spread check starts over this (default 0; watch: 10% of the interval)", NULL, \
		  0 },                                                                           \
		{ HOPT_PROM_FILE, 0, "prom-file", "file",                                        \
		  "also write the metrics atomically to this file (node_exporter textfile)",     \
		  "@file", 0 },                                                                  \
		{ HOPT_SERVICE, 0, "service", "name", "check only this service (repeatable)",    \
		  NULL, 0 },                                                                     \
		{ HOPT_SHARD, 0, "shard", "k/n", "check only the instances of shard k of n",     \
		  NULL, 0 },                                                                     \
		{ HOPT_STRICT, 0, "strict", NULL, "stop at the first bad target line", NULL, 0 }, \
	{                                                                                        \
		HOPT_TIMEOUT, 0, "timeout", "duration",                                          \
			"time limit of every check attempt (overrides the topology)", NULL, 0    \
	}

static const struct opt check_opts[] = {
	CHECK_OPTS,
	{ 0 },
};

static const struct opt watch_opts[] = {
	CHECK_OPTS,
	{ HOPT_DRY_RUN, 0, "dry-run", NULL, "with --recover: write the recovery records, run nothing",
	  NULL, 0 },
	{ HOPT_FAST_INTERVAL, 0, "fast-interval", "duration",
	  "time between rounds while an instance changes state (default 500ms)", NULL, 0 },
	{ HOPT_INTERVAL, 0, "interval", "duration", "time between rounds (default 2s)", NULL, 0 },
	{ HOPT_RECOVER, 0, "recover", NULL, "restart unhealthy services, dependencies first", NULL,
	  0 },
	{ HOPT_ROUNDS, 0, "rounds", "n", "stop after n rounds (default: until a signal)", NULL, 0 },
	{ HOPT_RTO, 0, "rto", "duration", "with --recover: the recovery time objective", NULL, 0 },
	{ 0 },
};

static const struct opt graph_opts[] = {
	{ 'f', 'f', "file", "file", "the topology file", "@file", 0 },
	{ 'o', 'o', "output", "format", "dot (default), mermaid or jsonl", "dot mermaid jsonl", 0 },
	{ HOPT_NO_CHECK, 0, "no-check", NULL, "draw the graph without checking anything", NULL, 0 },
	{ 0 },
};

static const struct opt validate_opts[] = {
	{ 'f', 'f', "file", "file", "the topology file", "@file", 0 },
	{ 'v', 'v', "verbose", NULL, "say what the valid topology holds", NULL, 0 },
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "check", cmd_check, "[target-file ...]",
	  "check every instance once and judge every service", check_opts },
	{ "watch", cmd_watch, "[target-file ...]",
	  "check in rounds with hysteresis, report changes, optionally recover", watch_opts },
	{ "graph", cmd_graph, "[target-file ...]",
	  "draw the dependency graph with each service's state", graph_opts },
	{ "validate", cmd_validate, NULL, "check a topology file and probe nothing", validate_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-health",
	"check instances concurrently, judge services dependency-aware, recover in order",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}

/* Messages of rejected values; static, as the usage error exits. */
static struct strbuf value_err = SB_INIT;

static int64_t parse_duration(struct opt_parser *p, bool zero_ok)
{
	int64_t ns;
	if (dur_parse(p->arg, &ns, &value_err) < 0)
		opt_usage_error(p, "%s: %s", p->name, value_err.buf);
	if (!zero_ok && ns <= 0)
		opt_usage_error(p, "%s: must be more than 0", p->name);
	/* Round up so that "500us" is not silently 0 ms. */
	return ns / 1000000 + (ns % 1000000 ? 1 : 0);
}

static long long parse_int(struct opt_parser *p, long long min, long long max)
{
	long long v;
	if (num_parse_int(p->arg, min, max, &v, &value_err) < 0)
		opt_usage_error(p, "%s: %s", p->name, value_err.buf);
	return v;
}

static void parse_shard(struct opt_parser *p, struct health_opts *o)
{
	const char *slash = strchr(p->arg, '/');
	long long k = 0, n = 0;
	bool good = slash && slash != p->arg && slash[1];
	if (good) {
		char *ks = xstrndup(p->arg, (size_t)(slash - p->arg));
		good = num_parse_int(ks, 1, INT_MAX, &k, NULL) == 0 &&
		       num_parse_int(slash + 1, 1, INT_MAX, &n, NULL) == 0 && k <= n;
		free(ks);
	}
	if (!good)
		opt_usage_error(p, "--shard: want k/n with 1 <= k <= n, got '%s'", p->arg);
	o->shard_k = (int)k;
	o->shard_n = (int)n;
}

static void parse_format(struct opt_parser *p, struct health_opts *o, bool graph)
{
	static const char *const names[] = { "jsonl", "text", "prom", "nagios", "dot", "mermaid" };
	static const enum health_format fmts[] = { FMT_JSONL, FMT_TEXT,	 FMT_PROM,
						   FMT_NAGIOS, FMT_DOT, FMT_MERMAID };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(p->arg, names[i]))
			continue;
		bool fits = graph ? (fmts[i] == FMT_JSONL || fmts[i] == FMT_DOT ||
				     fmts[i] == FMT_MERMAID)
				  : (fmts[i] != FMT_DOT && fmts[i] != FMT_MERMAID);
		if (fits) {
			o->format = fmts[i];
			return;
		}
	}
	opt_usage_error(p, "-o: unknown format '%s' (want %s)", p->arg,
			graph ? "dot, mermaid or jsonl" : "jsonl, text, prom or nagios");
}

void health_opts_parse(struct health_opts *o, int argc, char **argv, bool watch, bool graph)
{
	memset(o, 0, sizeof(*o));
	o->format = graph ? FMT_DOT : FMT_JSONL;
	o->concurrency = 256;
	o->jitter_ms = -1;
	o->watch = watch;
	o->interval_ms = 2000;
	o->fast_ms = 500;
	size_t aservices = 0;
	bool dry_run = false, rto = false;

	struct opt_parser parser;
	struct opt_parser *p = &parser;
	opt_begin(p, argc, argv);
	int c;
	while ((c = opt_next(p)) != OPT_DONE) {
		switch (c) {
		case 'c':
			o->concurrency = (int)parse_int(p, 1, 1000000);
			break;
		case 'f':
			o->topology = p->arg;
			break;
		case 'o':
			parse_format(p, o, graph);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case HOPT_JITTER:
			o->jitter_ms = parse_duration(p, true);
			break;
		case HOPT_PROM_FILE:
			o->prom_file = p->arg;
			break;
		case HOPT_SERVICE:
			ALLOC_GROW(o->services, o->nservices + 1, aservices);
			o->services[o->nservices++] = p->arg;
			break;
		case HOPT_SHARD:
			parse_shard(p, o);
			break;
		case HOPT_STRICT:
			o->strict = true;
			break;
		case HOPT_TIMEOUT:
			o->timeout_ms = parse_duration(p, false);
			break;
		case HOPT_INTERVAL:
			o->interval_ms = parse_duration(p, false);
			break;
		case HOPT_FAST_INTERVAL:
			o->fast_ms = parse_duration(p, false);
			break;
		case HOPT_ROUNDS:
			o->rounds = (long)parse_int(p, 1, LONG_MAX);
			break;
		case HOPT_RECOVER:
			o->recover = true;
			break;
		case HOPT_RTO:
			o->rto_ms = parse_duration(p, false);
			rto = true;
			break;
		case HOPT_DRY_RUN:
			o->dry_run = dry_run = true;
			break;
		case HOPT_NO_CHECK:
			o->no_check = true;
			break;
		default:
			break;
		}
	}
	if ((dry_run || rto) && !o->recover)
		opt_usage_error(p, "%s needs --recover", dry_run ? "--dry-run" : "--rto");
	char **ops;
	int nops = opt_operands(p, &ops);
	o->targets = xcalloc((size_t)nops + 1, sizeof(*o->targets));
	for (int i = 0; i < nops; i++)
		o->targets[i] = ops[i];
	o->ntargets = nops;
	if (o->jitter_ms < 0)
		o->jitter_ms = watch ? o->interval_ms / 10 : 0;
	/* The operands point into argv, which outlives the command. */
	opt_end(p);
}

void health_opts_free(struct health_opts *o)
{
	free(o->targets);
	free(o->services);
	memset(o, 0, sizeof(*o));
}
