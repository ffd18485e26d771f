/*
 * test_judge.c: unit tests for judge.c.
 *
 * Topologies are written as space-separated services, each
 * "name[>dep,dep][/quorum]:RESULTS" where RESULTS has one letter per
 * instance: H healthy, W warning (slow), F failing (refused). Instances
 * are called name-1, name-2, ...; services are added to the dependency
 * graph in the order written, and judged in graph_reverse_topo order.
 * Verdicts read "name=state" or "name=state(root,root)" for impacted.
 */
#include "common.h"

#include "graph.h"
#include "judge.h"
#include "strbuf.h"
#include "tap.h"

#define SLOW "latency 812 ms over warning threshold 500 ms"
#define REFUSED "connection refused"

struct world {
	size_t n;
	struct judge_service svc[16];
	struct judge_instance ins[16][8];
	size_t deps[16][8];
	char names[16][32];
	char ids[16][8][40];
	size_t order[16];
	struct judge_verdict v[16];
};

static size_t find(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->names[i], name))
			return i;
	return SIZE_MAX;
}

static void parse_world(struct world *w, const char *spec)
{
	memset(w, 0, sizeof(*w));
	char *copy = xstrdup(spec), *save = NULL;
	char *deplists[16] = { 0 };
	/* First pass: names, quorums, instances. */
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		size_t i = w->n++;
		struct judge_service *s = &w->svc[i];
		char *colon = strchr(tok, ':');
		*colon = '\0';
		char *results = colon + 1;
		char *slash = strchr(tok, '/');
		if (slash) {
			*slash = '\0';
			s->quorum = (int)strtol(slash + 1, NULL, 10);
		}
		char *gt = strchr(tok, '>');
		if (gt) {
			*gt = '\0';
			deplists[i] = gt + 1;
		}
		snprintf(w->names[i], sizeof(w->names[i]), "%s", tok);
		s->name = w->names[i];
		s->instances = w->ins[i];
		for (size_t k = 0; results[k]; k++) {
			struct judge_instance *in = &w->ins[i][k];
			snprintf(w->ids[i][k], sizeof(w->ids[i][k]), "%s-%zu", tok, k + 1);
			in->id = w->ids[i][k];
			in->state = results[k] == 'H'	? JUDGE_INST_HEALTHY
				    : results[k] == 'W' ? JUDGE_INST_WARNING
							: JUDGE_INST_FAILING;
			in->reason = results[k] == 'W' ? SLOW : results[k] == 'F' ? REFUSED : "";
			s->ninstances++;
		}
	}
	/* Second pass: dependencies by name, and the graph. */
	struct graph *g = graph_new();
	for (size_t i = 0; i < w->n; i++)
		graph_add_node(g, w->names[i]);
	for (size_t i = 0; i < w->n; i++) {
		w->svc[i].deps = w->deps[i];
		if (!deplists[i])
			continue;
		char *save2 = NULL;
		for (char *d = strtok_r(deplists[i], ",", &save2); d; d = strtok_r(NULL, ",", &save2)) {
			w->deps[i][w->svc[i].ndeps++] = find(w, d);
			graph_add_edge(g, w->names[i], d, NULL, 1);
		}
	}
	if (graph_reverse_topo(g, w->order, NULL) < 0)
		diag("cycle in test topology '%s'", spec);
	graph_free(g, NULL);
	free(copy);
	for (size_t i = 0; i < w->n; i++)
		judge_verdict_init(&w->v[i]);
}

static void verdicts_text(const struct world *w, struct strbuf *out)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct judge_verdict *v = &w->v[i];
		sb_addf(out, "%s%s=%s", i ? " " : "", w->names[i], judge_state_name(v->state));
		if (v->nroot_causes) {
			sb_addch(out, '(');
			for (size_t k = 0; k < v->nroot_causes; k++)
				sb_addf(out, "%s%s", k ? "," : "", w->names[v->root_causes[k]]);
			sb_addch(out, ')');
		}
	}
}

static void free_world(struct world *w)
{
	for (size_t i = 0; i < w->n; i++)
		judge_verdict_release(&w->v[i]);
}

#define SHOP_DOWN                                                             \
	"gateway>orders,inventory:HH orders>inventory,payments,shipping:HH " \
	"payments:FF inventory:HH shipping:H"

static const struct {
	const char *name, *spec, *want;
	const char *svc, *reason; /* one service's expected reason */
} cases[] = {
	{ "the shop all up", "gateway>orders,inventory:HH orders>inventory,payments,shipping:HH "
			     "payments:HH inventory:HH shipping:H",
	  "gateway=healthy orders=healthy payments=healthy inventory=healthy shipping=healthy",
	  "payments", "" },
	{ "the shop with payments down", SHOP_DOWN,
	  "gateway=impacted(payments) orders=impacted(payments) payments=unhealthy "
	  "inventory=healthy shipping=healthy",
	  "orders", "depends on payments (unhealthy)" },
	{ "payments down: gateway impacted through orders", SHOP_DOWN,
	  "gateway=impacted(payments) orders=impacted(payments) payments=unhealthy "
	  "inventory=healthy shipping=healthy",
	  "gateway", "depends on orders (impacted)" },
	{ "payments down: its own reason names an instance", SHOP_DOWN,
	  "gateway=impacted(payments) orders=impacted(payments) payments=unhealthy "
	  "inventory=healthy shipping=healthy",
	  "payments", "0 of 2 instances healthy; payments-1: connection refused" },
	{ "degraded by quorum (default: all)", "a:HF", "a=degraded", "a",
	  "1 of 2 instances healthy, quorum 2" },
	{ "quorum 1 of 2 is met", "a/1:HF", "a=healthy", "a", "" },
	{ "quorum 2 of 3 is met", "a/2:HHF", "a=healthy", "a", "" },
	{ "quorum 2 of 3 is missed", "a/2:HFF", "a=degraded", "a",
	  "1 of 3 instances healthy, quorum 2" },
	{ "a quorum above the instances degrades", "a/3:HH", "a=degraded", "a",
	  "2 of 2 instances healthy, quorum 3" },
	{ "degraded by warning, with the check's reason", "a:HW", "a=degraded", "a", SLOW },
	{ "a warning counts as healthy for the quorum", "a:WW", "a=degraded", "a", SLOW },
	{ "no healthy instance is unhealthy even with quorum 1", "a/1:FF", "a=unhealthy", "a",
	  "0 of 2 instances healthy; a-1: connection refused" },
	{ "one instance: singular", "a:F", "a=unhealthy", "a",
	  "0 of 1 instance healthy; a-1: connection refused" },
	{ "degraded dependency degrades a healthy service", "inv:HW orders>inv:HH",
	  "inv=degraded orders=degraded", "orders", "dependency inv degraded" },
	{ "two degraded dependencies", "a:HW b:HF c>b,a:H", "a=degraded b=degraded c=degraded",
	  "c", "dependencies a, b degraded" },
	{ "an own degradation keeps its own reason", "inv:HW orders>inv:HF",
	  "inv=degraded orders=degraded", "orders", "1 of 2 instances healthy, quorum 2" },
	{ "an unhealthy service stays unhealthy beside a degraded dependency", "a:HW b>a:F",
	  "a=degraded b=unhealthy", "b", "0 of 1 instance healthy; b-1: connection refused" },
	{ "impacted through two levels", "db:F api>db:H web>api:H",
	  "db=unhealthy api=impacted(db) web=impacted(db)", "web", "depends on api (impacted)" },
	{ "impacted whatever the own state, own trouble appended", "db:F api>db:F",
	  "db=unhealthy api=impacted(db)", "api",
	  "depends on db (unhealthy); 0 of 1 instance healthy; api-1: connection refused" },
	{ "multiple root causes in dependency order", "db:F cache:F api>cache,db:H web>api:H",
	  "db=unhealthy cache=unhealthy api=impacted(db,cache) web=impacted(db,cache)", "api",
	  "depends on db (unhealthy), cache (unhealthy)" },
	{ "root causes gathered from impacted and unhealthy dependencies",
	  "db:F q:F api>db:H web>api,q:H",
	  "db=unhealthy q=unhealthy api=impacted(db) web=impacted(db,q)", "web",
	  "depends on q (unhealthy), api (impacted)" },
	{ "a root cause reached twice is named once", "db:F a>db:H b>db:H c>a,b:H",
	  "db=unhealthy a=impacted(db) b=impacted(db) c=impacted(db)", "c",
	  "depends on a (impacted), b (impacted)" },
	{ "unknown: no instances", "a:", "a=unknown", "a", "no instances" },
	{ "an unknown dependency does not impact", "a: b>a:H", "a=unknown b=healthy", "b", "" },
	{ "an unknown service is impacted by a failing dependency", "a:F b>a:",
	  "a=unhealthy b=impacted(a)", "b", "depends on a (unhealthy)" },
	{ "a degraded dependency does not touch an unknown service", "a:HW b>a:",
	  "a=degraded b=unknown", "b", "no instances" },
};

static void test_judgement(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct world *w = xcalloc(1, sizeof(*w));
		parse_world(w, cases[c].spec);
		judge_services(w->svc, w->n, w->order, w->v);
		struct strbuf got = SB_INIT;
		verdicts_text(w, &got);
		is_str(got.buf, cases[c].want, cases[c].name);
		size_t i = find(w, cases[c].svc);
		if (ok(i != SIZE_MAX, "%s: service %s exists", cases[c].name, cases[c].svc)) {
			struct strbuf name = SB_INIT;
			sb_addf(&name, "%s: reason of %s", cases[c].name, cases[c].svc);
			is_str(w->v[i].reason.buf, cases[c].reason, name.buf);
			sb_release(&name);
		}
		sb_release(&got);
		free_world(w);
		free(w);
	}
}

static void test_counts_and_reuse(void)
{
	struct world *w = xcalloc(1, sizeof(*w));
	parse_world(w, "a/2:HWF b>a:HH");
	judge_services(w->svc, w->n, w->order, w->v);
	is_int(w->v[0].instances, 3, "instances counted");
	is_int(w->v[0].healthy, 2, "warnings count as healthy");
	is_int(w->v[0].quorum, 2, "the quorum given");
	is_int(w->v[1].quorum, 2, "default quorum: all instances");
	is_str(judge_state_name(w->v[0].state), "degraded", "warning degrades at quorum");
	/* Judging again into the same verdicts replaces what they held. */
	w->ins[0][2].state = JUDGE_INST_HEALTHY;
	w->ins[0][1].state = JUDGE_INST_HEALTHY;
	judge_services(w->svc, w->n, w->order, w->v);
	is_str(judge_state_name(w->v[0].state), "healthy", "re-judged healthy");
	is_str(w->v[0].reason.buf, "", "the old reason is gone");
	is_int((long long)w->v[1].nroot_causes, 0, "no root causes");
	free_world(w);
	free(w);
}

static void test_names(void)
{
	static const char *const want[JUDGE_NSTATES] = { "healthy", "degraded", "unhealthy",
							 "impacted", "unknown" };
	for (int s = 0; s < JUDGE_NSTATES; s++)
		is_str(judge_state_name((enum judge_state)s), want[s], want[s]);
	is_str(judge_inst_name(JUDGE_INST_WARNING), "warning", "instance state warning");
	is_str(judge_inst_name(JUDGE_INST_FAILING), "failing", "instance state failing");
	is_int(judge_inst_from_check(CHECK_OK), JUDGE_INST_HEALTHY, "ok is healthy");
	is_int(judge_inst_from_check(CHECK_WARNING), JUDGE_INST_WARNING, "warning warns");
	is_int(judge_inst_from_check(CHECK_CRITICAL), JUDGE_INST_FAILING, "critical fails");
	is_int(judge_inst_from_check(CHECK_UNKNOWN), JUDGE_INST_FAILING, "unknown fails");
}

/*
 * Hysteresis as strings: results ('+' pass, '-' fail) and, per result,
 * the state after it (H healthy, F failing), with '*' under each change.
 */
static const struct {
	const char *name;
	int rise, fall;
	const char *results, *states, *changes;
} hyst_cases[] = {
	{ "flapping from ok never changes (rise 2, fall 3)", 2, 3, "+-+-+-+-+-+-+-", "HHHHHHHHHHHHHH",
	  "              " },
	{ "flapping from failure never changes (rise 2, fall 3)", 2, 3, "-+-+-+-+-+-+-+",
	  "FFFFFFFFFFFFFF", "              " },
	{ "3 failures make it failing, 2 successes healthy", 2, 3, "+---++", "HHHFFH",
	  "   * *" },
	{ "2 failures are not enough", 2, 3, "+--+--+", "HHHHHHH", "       " },
	{ "one success does not heal", 2, 3, "----+-++", "FFFFFFFH", "       *" },
	{ "the first result sets the state directly", 2, 3, "-", "F", " " },
	{ "rise 1 and fall 1 follow every result", 1, 1, "+-+-", "HFHF", " ***" },
	{ "rise and fall below 1 count as 1", 0, 0, "+-", "HF", " *" },
};

static void test_hysteresis(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(hyst_cases); c++) {
		struct judge_hyst h;
		judge_hyst_init(&h);
		struct strbuf states = SB_INIT, changes = SB_INIT;
		for (const char *p = hyst_cases[c].results; *p; p++) {
			enum judge_hyst_change ch = judge_hyst_feed(&h, *p == '+', hyst_cases[c].rise,
								    hyst_cases[c].fall);
			sb_addch(&states, h.state == JUDGE_INST_FAILING ? 'F' : 'H');
			sb_addch(&changes, ch == JUDGE_HYST_CHANGED ? '*' : ' ');
		}
		is_str(states.buf, hyst_cases[c].states, hyst_cases[c].name);
		is_str(changes.buf, hyst_cases[c].changes, hyst_cases[c].name);
		sb_release(&states);
		sb_release(&changes);
	}

	struct judge_hyst h;
	judge_hyst_init(&h);
	ok(!judge_hyst_settling(&h, 2, 3), "not settling before the first result");
	is_int(judge_hyst_feed(&h, true, 2, 3), JUDGE_HYST_FIRST, "the first result says so");
	ok(!judge_hyst_settling(&h, 2, 3), "healthy after a success: stable");
	judge_hyst_feed(&h, false, 2, 3);
	ok(judge_hyst_settling(&h, 2, 3), "one failure: settling");
	judge_hyst_feed(&h, false, 2, 3);
	ok(judge_hyst_settling(&h, 2, 3), "two failures: still settling");
	is_int(judge_hyst_feed(&h, false, 2, 3), JUDGE_HYST_CHANGED, "three failures: changed");
	ok(!judge_hyst_settling(&h, 2, 3), "failing after three failures: stable");
	judge_hyst_feed(&h, true, 2, 3);
	ok(judge_hyst_settling(&h, 2, 3), "one success while failing: settling");
	is_int(judge_hyst_feed(&h, true, 2, 3), JUDGE_HYST_CHANGED, "two successes: changed");
	is_int(h.state, JUDGE_INST_HEALTHY, "healthy again");
	ok(!judge_hyst_settling(&h, 2, 3), "healthy after two successes: stable");
	is_int(judge_hyst_feed(&h, true, 2, 3), JUDGE_HYST_SAME, "more successes: same");
}

int main(void)
{
	test_judgement();
	test_counts_and_reuse();
	test_names();
	test_hysteresis();
	return tap_done();
}
