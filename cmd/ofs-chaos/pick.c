/*
 * pick.c: `ofs-chaos pick`: Chaos Monkey for cron. From a catalog of
 * experiment files, choose one at random, but only on allowed days and
 * hours, never one that touches an opted-out service, and never one
 * whose faults reach more targets than the blast-radius limit; then run
 * it (or, with --dry-run, only say which it would be).
 *
 * The choice is one chaos.pick record: the candidates, every excluded
 * file with its reason, the chosen file (null outside the window or
 * when none is eligible). Outside the window the answer is a quiet
 * exit 0, so a cron entry every hour is enough.
 */
#include "common.h"
#include <dirent.h>

#include "chaos.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "run.h"
#include "rnd.h"
#include "strbuf.h"
#include "timefmt.h"
#include "units.h"

const struct opt pick_opts[] = {
	{ COPT_AT, 0, "at", "time", "judge the window at this RFC 3339 time instead of now", NULL,
	  0 },
	{ COPT_CATALOG, 0, "catalog", "dir", "the directory of experiment files (*.json)", "@dir",
	  0 },
	{ COPT_DAYS, 0, "days", "days",
	  "allowed days, e.g. mon-fri or mon,wed,fri (default mon-fri)", NULL, 0 },
	{ COPT_DRY_RUN, 0, "dry-run", NULL, "say which experiment would run; run nothing", NULL, 0 },
	{ COPT_HOURS, 0, "hours", "h-h",
	  "allowed local hours, start inclusive, end exclusive (default 9-15)", NULL, 0 },
	{ COPT_MAX_BLAST, 0, "max-blast", "n",
	  "skip experiments whose faults reach more than n targets", NULL, 0 },
	{ COPT_OPT_OUT, 0, "opt-out", "service",
	  "never pick an experiment touching this service (repeatable)", NULL, 0 },
	{ COPT_SEED, 0, "seed", "n", "make the choice repeatable", NULL, 0 },
	{ COPT_TOPOLOGY, 0, "topology", "file",
	  "the topology (services of instance targets; passed to run)", "@file", 0 },
	{ 0 },
};

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && !strncasecmp(s, day_names[i], 3))
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon-wed,fri" -> a bit per day; -1 if malformed. */
static int parse_days(const char *s)
{
	int mask = 0;
	while (*s) {
		size_t n = strcspn(s, ",-");
		int a = day_index(s, n), b = a;
		s += n;
		if (*s == '-') {
			s++;
			n = strcspn(s, ",");
			b = day_index(s, n);
			s += n;
		}
		if (a < 0 || b < 0)
			return -1;
		for (int d = a;; d = (d + 1) % 7) {
			mask |= 1 << d;
			if (d == b)
				break;
		}
		if (*s == ',')
			s++;
	}
	return mask;
}

struct pick_opts_v {
	const char *catalog, *topology, *at, *days_text, *hours_text;
	int days;
	int hour_from, hour_to;
	long long max_blast;
	bool dry_run;
	const char **opt_out;
	size_t nopt_out;
};

static bool opted_out(const struct pick_opts_v *o, const char *service)
{
	for (size_t i = 0; i < o->nopt_out; i++)
		if (!strcmp(o->opt_out[i], service))
			return true;
	return false;
}

/*
 * Why an experiment may not be picked ("" when it may): the services its
 * faults touch against the opt-outs, and its number of targets against
 * the blast limit.
 */
static void judge_candidate(const struct pick_opts_v *o, const struct experiment *e,
			    const struct topology *t, struct strbuf *why, int *blast)
{
	*blast = 0;
	cJSON *none = cJSON_CreateObject();
	struct strbuf err = SB_INIT;
	for (size_t i = 0; i < e->nmethod; i++) {
		const struct activity *a = &e->method[i];
		if (a->prov != PROV_FAULT)
			continue;
		/* Judge what will run: the configuration (--var, env) filled in. */
		sb_reset(&err);
		cJSON *subst = subst_apply(a->provider, e->configuration, none, &err);
		const cJSON *p = subst ? subst : a->provider;
		const char *svc = cJSON_GetStringValue(cJSON_GetObjectItem(p, "service"));
		const char *inst = cJSON_GetStringValue(cJSON_GetObjectItem(p, "instance"));
		const char *pick = cJSON_GetStringValue(cJSON_GetObjectItem(p, "pick"));
		int reach = 1;
		if (inst && t) {
			const struct topo_instance *in = topo_find_instance(t, inst);
			if (in)
				svc = t->services[in->service].name;
		} else if (inst && o->nopt_out && !why->len) {
			sb_addf(why, "cannot tell the service of instance '%s' without --topology",
				inst);
		}
		if (svc && pick && !strcmp(pick, "all") && t) {
			int k = topo_service_index(t, svc);
			if (k >= 0)
				reach = (int)t->services[k].ninstances;
		}
		*blast += reach;
		if (svc && opted_out(o, svc) && !why->len)
			sb_addf(why, "touches opted-out service '%s'", svc);
		cJSON_Delete(subst);
	}
	cJSON_Delete(none);
	sb_release(&err);
	if (!why->len && o->max_blast >= 0 && *blast > o->max_blast)
		sb_addf(why, "its faults reach %d targets, over --max-blast %lld", *blast,
			o->max_blast);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void parse_pick(int argc, char **argv, struct pick_opts_v *o)
{
	struct opt_parser p;
	int c;
	struct strbuf err = SB_INIT;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case COPT_AT: {
			int64_t ns;
			if (ts_parse(p.arg, strlen(p.arg), &ns) < 0)
				opt_usage_error(&p, "%s: not an RFC 3339 time: '%s'", p.name, p.arg);
			o->at = p.arg;
			break;
		}
		case COPT_CATALOG:
			o->catalog = p.arg;
			break;
		case COPT_DAYS:
			o->days = parse_days(p.arg);
			if (o->days <= 0)
				opt_usage_error(&p, "%s: want days like mon-fri or sat,sun, got '%s'",
						p.name, p.arg);
			o->days_text = p.arg;
			break;
		case COPT_DRY_RUN:
			o->dry_run = true;
			break;
		case COPT_HOURS: {
			unsigned a, b;
			char extra;
			if (sscanf(p.arg, "%u-%u%c", &a, &b, &extra) != 2 || a > 23 || b > 24 || a == b)
				opt_usage_error(&p, "%s: want hours like 9-15 (0..24), got '%s'", p.name,
						p.arg);
			o->hour_from = (int)a;
			o->hour_to = (int)b;
			o->hours_text = p.arg;
			break;
		}
		case COPT_MAX_BLAST:
			if (num_parse_int(p.arg, 0, 1000000, &o->max_blast, &err) < 0)
				opt_usage_error(&p, "%s: %s", p.name, err.buf);
			break;
		case COPT_OPT_OUT:
			o->opt_out = xrealloc(o->opt_out, (o->nopt_out + 1) * sizeof(*o->opt_out));
			o->opt_out[o->nopt_out++] = p.arg;
			break;
		case COPT_SEED: {
			long long seed;
			if (num_parse_int(p.arg, 0, LLONG_MAX, &seed, &err) < 0)
				opt_usage_error(&p, "%s: %s", p.name, err.buf);
			rnd_seed((uint64_t)seed);
			break;
		}
		case COPT_TOPOLOGY:
			o->topology = p.arg;
			break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops))
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	if (!o->catalog)
		opt_usage_error(&p, "--catalog is required");
	opt_end(&p);
	sb_release(&err);
}

/* Whether the moment is inside the window; describes it in where. */
static bool in_window(const struct pick_opts_v *o, struct strbuf *where)
{
	int64_t ns = ts_now_ns();
	if (o->at)
		ts_parse(o->at, strlen(o->at), &ns);
	time_t secs = (time_t)(ns / 1000000000);
	struct tm tm;
	localtime_r(&secs, &tm);
	sb_addf(where, "%s %02d:%02d", day_names[tm.tm_wday], tm.tm_hour, tm.tm_min);
	bool day_ok = o->days & (1 << tm.tm_wday);
	bool hour_ok = o->hour_from < o->hour_to
			       ? tm.tm_hour >= o->hour_from && tm.tm_hour < o->hour_to
			       : tm.tm_hour >= o->hour_from || tm.tm_hour < o->hour_to;
	return day_ok && hour_ok;
}

int cmd_pick(int argc, char **argv)
{
	struct pick_opts_v o = { .days = parse_days("mon-fri"), .days_text = "mon-fri",
				 .hour_from = 9, .hour_to = 15, .hours_text = "9-15",
				 .max_blast = -1 };
	parse_pick(argc, argv, &o);

	struct topology topo;
	memset(&topo, 0, sizeof(topo));
	struct strbuf err = SB_INIT;
	if (o.topology && topo_load(o.topology, &topo, &err) < 0) {
		error_lines(err.buf, err.len);
		sb_release(&err);
		free(o.opt_out);
		return EXIT_USAGE;
	}
	DIR *d = opendir(o.catalog);
	if (!d) {
		error("cannot open catalog '%s': %s", o.catalog, strerror(errno));
		topo_free(&topo);
		free(o.opt_out);
		return EXIT_USAGE;
	}
	char **files = NULL;
	size_t nfiles = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		struct strbuf path = SB_INIT;
		sb_addf(&path, "%s/%s", o.catalog, de->d_name);
		files = xrealloc(files, (nfiles + 1) * sizeof(*files));
		files[nfiles++] = sb_detach(&path, NULL);
	}
	closedir(d);
	if (nfiles)
		qsort(files, nfiles, sizeof(*files), cmp_str);

	struct strbuf sb = SB_INIT, where = SB_INIT, why = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "chaos.pick");
	jw_kv_str(&w, "catalog", o.catalog);
	bool open_now = in_window(&o, &where);
	jw_kv_str(&w, "now", where.buf);
	jw_kv_str(&w, "days", o.days_text);
	jw_kv_str(&w, "hours", o.hours_text);
	char **eligible = xcalloc(nfiles + 1, sizeof(*eligible));
	size_t neligible = 0;
	jw_key(&w, "excluded");
	jw_arr_begin(&w);
	for (size_t i = 0; i < nfiles; i++) {
		struct experiment e;
		sb_reset(&err);
		sb_reset(&why);
		int blast = 0;
		if (experiment_load(files[i], NULL, &e, &err) < 0) {
			sb_trim_eol(&err);
			const char *nl = strchr(err.buf, '\n');
			sb_addf(&why, "invalid: %.*s", nl ? (int)(nl - err.buf) : (int)err.len, err.buf);
		} else {
			judge_candidate(&o, &e, o.topology ? &topo : NULL, &why, &blast);
		}
		experiment_free(&e);
		if (why.len) {
			jw_obj_begin(&w);
			jw_kv_str(&w, "file", files[i]);
			jw_kv_str(&w, "reason", why.buf);
			jw_obj_end(&w);
		} else {
			eligible[neligible++] = files[i];
		}
	}
	jw_arr_end(&w);
	jw_kv_int(&w, "candidates", (int64_t)nfiles);
	jw_kv_int(&w, "eligible", (int64_t)neligible);
	const char *chosen = NULL;
	if (!open_now) {
		sb_reset(&why);
		sb_addf(&why, "outside the allowed window (%s, hours %s)", o.days_text, o.hours_text);
	} else if (!neligible) {
		sb_reset(&why);
		sb_addstr(&why, "no eligible experiment in the catalog");
	} else {
		chosen = eligible[rnd_below(neligible)];
	}
	jw_kv_str(&w, "chosen", chosen);
	if (!chosen)
		jw_kv_str(&w, "reason", why.buf);
	jw_kv_bool(&w, "dry_run", o.dry_run);
	rec_end(&w, out_stdout());
	out_flush(out_stdout());

	int status = EXIT_OK;
	if (chosen && !o.dry_run) {
		struct run_opts ro = { .rollbacks = -1, .topology = o.topology };
		status = run_file(chosen, &ro);
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(eligible);
	free(o.opt_out);
	topo_free(&topo);
	sb_release(&sb);
	sb_release(&where);
	sb_release(&why);
	sb_release(&err);
	return status;
}
