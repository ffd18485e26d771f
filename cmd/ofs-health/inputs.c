/*
 * inputs.c: what ofs-health checks: the topology file (-f), targets as
 * JSON Lines from files or standard input (service discovery output),
 * narrowed by --service and --shard, with the services put in dependency
 * order.
 *
 * Everything is read and validated before the first probe: an invalid
 * topology, targets that do not fit it, or an unknown --service name end
 * the run with status 2 having touched nothing. A bad target line is
 * reported and skipped (status 3 at the end), or with --strict stops the
 * run before anything is probed.
 */
#include "common.h"

#include "graph.h"
#include "hash.h"
#include "health.h"
#include "jsonl.h"
#include "suggest.h"

/* Read one file of targets; returns EXIT_OK or the status to stop with. */
static int read_targets(struct health *h, const char *path, bool strict)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, strict ? JSONL_STRICT : 0, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_USAGE;
	}
	int rc, status = EXIT_OK;
	cJSON *rec;
	while ((rc = jsonl_next(r, &rec)) == 1) {
		sb_reset(&err);
		int added = topo_add_target(&h->topo, rec, &err);
		cJSON_Delete(rec);
		if (added < 0 && jsonl_reject(r, "%s", err.len ? err.buf : "invalid target") < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0)
		status = jsonl_bad(r) ? EXIT_REJECTED : EXIT_SYSTEM;
	jsonl_close(r);
	sb_release(&err);
	return status;
}

static int check_service_names(const struct health *h)
{
	int bad = 0;
	const char **names = xcalloc(h->topo.nservices + 1, sizeof(*names));
	for (size_t i = 0; i < h->topo.nservices; i++)
		names[i] = h->topo.services[i].name;
	for (size_t k = 0; k < h->o->nservices; k++) {
		const char *want = h->o->services[k];
		if (topo_service_index(&h->topo, want) >= 0)
			continue;
		const char *hint = suggest_closest(want, names, h->topo.nservices);
		if (hint)
			error("--service: no service '%s'; did you mean '%s'?", want, hint);
		else
			error("--service: no service '%s'", want);
		bad++;
	}
	free(names);
	return bad ? -1 : 0;
}

static bool service_named(const struct health_opts *o, const char *name)
{
	if (!o->nservices)
		return true;
	for (size_t k = 0; k < o->nservices; k++)
		if (!strcmp(o->services[k], name))
			return true;
	return false;
}

/* Services in dependency order (dependencies first); -1 on a cycle. */
static int order_services(struct health *h)
{
	struct graph *g = graph_new();
	for (size_t i = 0; i < h->nsvc; i++)
		graph_add_node(g, h->svc[i].ts->name);
	for (size_t i = 0; i < h->nsvc; i++)
		for (size_t k = 0; k < h->svc[i].ndeps; k++)
			graph_add_edge_idx(g, i, h->svc[i].deps[k], NULL, 1);
	h->order = xcalloc(h->nsvc + 1, sizeof(*h->order));
	struct strbuf err = SB_INIT;
	int r = graph_reverse_topo(g, h->order, &err);
	if (r < 0)
		error("%s: %s", h->topo.path ? h->topo.path : "targets", err.buf);
	sb_release(&err);
	graph_free(g, NULL);
	return r;
}

static void build(struct health *h)
{
	const struct health_opts *o = h->o;
	h->nsvc = h->topo.nservices;
	h->svc = xcalloc(h->nsvc + 1, sizeof(*h->svc));
	for (size_t i = 0; i < h->nsvc; i++)
		h->ninst += h->topo.services[i].ninstances;
	h->inst = xcalloc(h->ninst + 1, sizeof(*h->inst));
	size_t next = 0;
	for (size_t i = 0; i < h->nsvc; i++) {
		struct health_svc *s = &h->svc[i];
		s->ts = &h->topo.services[i];
		s->deps = xcalloc(s->ts->ndeps + 1, sizeof(*s->deps));
		for (size_t k = 0; k < s->ts->ndeps; k++) {
			int d = topo_service_index(&h->topo, s->ts->depends_on[k]);
			if (d >= 0)
				s->deps[s->ndeps++] = (size_t)d;
		}
		s->first = next;
		s->ninst = s->ts->ninstances;
		s->jins = xcalloc(s->ninst + 1, sizeof(*s->jins));
		judge_verdict_init(&s->verdict);
		bool named = service_named(o, s->ts->name);
		size_t selected = 0;
		for (size_t j = 0; j < s->ninst; j++) {
			struct health_inst *in = &h->inst[next++];
			in->ti = &s->ts->instances[j];
			in->service = i;
			in->selected = named && (!o->shard_n || hash_str(in->ti->id) %
									(uint64_t)o->shard_n ==
								(uint64_t)(o->shard_k - 1));
			if (in->selected)
				selected++;
			if (o->timeout_ms > 0)
				in->ti->check.timeout_ms = o->timeout_ms;
			check_result_init(&in->res);
			sb_init(&in->fail_reason, 0);
			judge_hyst_init(&in->hyst);
			in->backoff_ms = s->ts->recovery.backoff_ms;
			in->jstate = JUDGE_INST_FAILING;
			in->jreason = "";
		}
		s->reported = named && (!o->shard_n || selected > 0);
	}
	if (o->shard_n)
		snprintf(h->shard, sizeof(h->shard), "%d/%d", o->shard_k, o->shard_n);
}

int health_load(struct health *h, const struct health_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->o = o;
	sb_init(&h->sb, 0);
	jw_init(&h->w, &h->sb);
	h->out = out_stdout();

	struct strbuf err = SB_INIT;
	int status = EXIT_OK;
	if (o->topology) {
		if (topo_load(o->topology, &h->topo, &err) < 0) {
			error_lines(err.buf, err.len);
			if (!err.len)
				error("invalid topology '%s'", o->topology);
			sb_release(&err);
			topo_free(&h->topo);
			return EXIT_USAGE;
		}
	} else {
		topo_init(&h->topo);
	}
	h->topo_loaded = true;

	static char *const from_stdin[] = { "-", NULL };
	char *const *files = o->ntargets ? o->targets : o->topology ? NULL : from_stdin;
	int nfiles = o->ntargets ? o->ntargets : o->topology ? 0 : 1;
	for (int i = 0; i < nfiles && status == EXIT_OK; i++)
		status = read_targets(h, files[i], o->strict);
	if (status != EXIT_OK) {
		sb_release(&err);
		return status;
	}
	if (nfiles && topo_finish(&h->topo, &err) < 0) {
		error_lines(err.buf, err.len);
		sb_release(&err);
		return EXIT_USAGE;
	}
	sb_release(&err);
	if (check_service_names(h) < 0)
		return EXIT_USAGE;
	build(h);
	if (order_services(h) < 0)
		return EXIT_USAGE;
	return EXIT_OK;
}

void health_free(struct health *h)
{
	for (size_t i = 0; i < h->ninst; i++) {
		check_result_release(&h->inst[i].res);
		sb_release(&h->inst[i].fail_reason);
	}
	for (size_t i = 0; i < h->nsvc; i++) {
		free(h->svc[i].deps);
		free(h->svc[i].jins);
		free(h->svc[i].restart_log);
		judge_verdict_release(&h->svc[i].verdict);
	}
	free(h->inst);
	free(h->svc);
	free(h->order);
	if (h->topo_loaded)
		topo_free(&h->topo);
	sb_release(&h->sb);
	memset(h, 0, sizeof(*h));
}
