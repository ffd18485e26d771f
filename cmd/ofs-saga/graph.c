/*
 * graph.c: `ofs-saga graph DEFINITION [-f dot|mermaid] [--journal ID]`,
 * a saga drawn as a Graphviz digraph or a Mermaid flowchart.
 *
 * An architect reviewing a saga wants to see its transaction boundary
 * before it moves any money: what runs in which order, what each step
 * touches, what undoes it, and where the point of no return lies. So the
 * picture has a start node, one node per step (name, kind, service, the
 * call or the signal awaited), forward edges stage by stage (a parallel
 * group fans out and joins), a compensation node beside each step that
 * has one, dashed edges along the backward path (later compensations
 * lead to earlier ones, down to a "compensated" end), and the pivot as
 * the boundary: a distinct shape between a "compensatable" and a
 * "retriable" cluster (DOT) or subgraph (Mermaid). The pivot's failure,
 * and a wait step's deadline that compensates, lead onto that path.
 * Each service gets its own border colour, in order of first use.
 *
 * With --journal ID the state of saga ID is laid over the picture: fill
 * colours by step and compensation state, states and attempts in the
 * labels, the saga's phase in the title. The definition drawn is then
 * the journal's copy, the one the saga really ran. DEFINITION stays
 * required all the same (the command table says so, and it reads well:
 * "graph order.json, with saga X's state"); it is validated as always,
 * and a warning says so when it is not the name and version the saga ran.
 *
 * Output is deterministic: nodes and edges follow the definition's order,
 * ids are s<i> and c<i> (step index) plus start, done and compensated.
 */
#include "common.h"
#include <sys/stat.h>

#include "cmds.h"
#include "def.h"
#include "opt.h"
#include "out.h"
#include "saga.h"
#include "strbuf.h"
#include "units.h"

enum gr_format { GR_DOT, GR_MERMAID };

/* Where a step lies relative to the pivot. */
enum gr_region { GR_NONE, GR_BEFORE, GR_PIVOT, GR_AFTER };

/* The longest shell script shown in a label, in bytes. */
#define GR_SHELL_MAX 40

#define GR_WHITE "#ffffff"
#define GR_GREEN "#9be09b"
#define GR_RED "#f4a0a0"
#define GR_ORANGE "#ffc66e"
#define GR_BLUE "#9cc8f4"
#define GR_GREY "#d9d9d9"
#define GR_DEFAULT_BORDER "#404040"

/* Borders, one per service in order of first use, then round again. */
static const char *const gr_palette[] = {
	"#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#2ca02c", "#d62728",
};

struct gr {
	const struct saga_def *d;
	const struct saga *s; /* the overlay, or NULL */
	enum gr_format fmt;
	struct strbuf *out;
	const char **services; /* in order of first use */
	size_t nservices;
	struct strbuf label; /* scratch */
};

/* ---- text ------------------------------------------------------------- */

/* gr_text: append s to a label line, control characters (newlines too)
 * as spaces, cut after max bytes (0: no limit) on a UTF-8 boundary. */
static void gr_text(struct strbuf *sb, const char *s, size_t max)
{
	size_t n = strlen(s);
	bool cut = max && n > max;
	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		sb_addch(sb, c < 0x20 || c == 0x7f ? ' ' : c);
	}
	if (cut)
		sb_addstr(sb, "...");
}

/* gr_quote: label text (lines separated by '\n') as a quoted string of
 * the output format: DOT escapes '"' and '\' and breaks lines with \n;
 * Mermaid writes " # & < > | ` as entity codes and breaks with <br>. */
static void gr_quote(const struct gr *g, const char *s)
{
	struct strbuf *o = g->out;
	sb_addch(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (g->fmt == GR_DOT) {
			if (c == '"' || c == '\\')
				sb_addch(o, '\\');
			if (c == '\n')
				sb_addstr(o, "\\n");
			else
				sb_addch(o, c);
			continue;
		}
		switch (c) {
		case '"': sb_addstr(o, "#quot;"); break;
		case '#': sb_addstr(o, "#35;"); break;
		case '&': sb_addstr(o, "#amp;"); break;
		case '<': sb_addstr(o, "#lt;"); break;
		case '>': sb_addstr(o, "#gt;"); break;
		case '|': sb_addstr(o, "#124;"); break;
		case '`': sb_addstr(o, "#96;"); break;
		case '\n': sb_addstr(o, "<br>"); break;
		default: sb_addch(o, c); break;
		}
	}
	sb_addch(o, '"');
}

/* ---- what the nodes say ----------------------------------------------- */

static enum gr_region gr_region_of(const struct saga_def *d, size_t i)
{
	if (d->pivot < 0)
		return GR_NONE;
	size_t ps = def_pivot_stage(d), st = d->steps[i].stage;
	return st < ps ? GR_BEFORE : st == ps ? GR_PIVOT : GR_AFTER;
}

/* The call of an action or compensation, on one line. */
static void gr_call(struct strbuf *sb, const struct saga_call *c)
{
	if (c->url) {
		gr_text(sb, c->method, 0);
		sb_addch(sb, ' ');
		gr_text(sb, c->url, 0);
	} else if (c->argv) {
		const cJSON *prog = cJSON_GetArrayItem(c->argv, 0);
		gr_text(sb, cJSON_IsString(prog) ? prog->valuestring : "?", 0);
	} else if (c->shell) {
		sb_addstr(sb, "sh -c ");
		gr_text(sb, c->shell, GR_SHELL_MAX);
	}
}

static void gr_attempts(struct strbuf *sb, const char *state, int attempts)
{
	sb_addch(sb, '\n');
	sb_addstr(sb, state);
	if (attempts > 0)
		sb_addf(sb, ", %d attempt%s", attempts, attempts == 1 ? "" : "s");
}

static void gr_step_label(struct gr *g, size_t i)
{
	const struct saga_step *st = &g->d->steps[i];
	struct strbuf *sb = &g->label;
	sb_reset(sb);
	gr_text(sb, st->name, 0);
	sb_addch(sb, '\n');
	sb_addstr(sb, st->is_wait ? "wait" : saga_kind_names[st->kind]);
	if (st->service) {
		sb_addstr(sb, " \xc2\xb7 ");
		gr_text(sb, st->service, 0);
	}
	sb_addch(sb, '\n');
	if (st->is_wait) {
		sb_addstr(sb, "signal ");
		gr_text(sb, st->signal ? st->signal : "?", 0);
		sb_addch(sb, '\n');
		if (st->wait_timeout_ns > 0) {
			char buf[DUR_BUFSZ];
			sb_addf(sb, "deadline %s, then %s",
				dur_format(st->wait_timeout_ns, buf, sizeof(buf)),
				st->timeout_continues ? "continue" : "compensate");
		} else {
			sb_addstr(sb, "no deadline");
		}
	} else {
		gr_call(sb, &st->action);
	}
	if (g->s)
		gr_attempts(sb, step_state_names[g->s->steps[i].st], g->s->steps[i].attempts);
}

static void gr_comp_label(struct gr *g, size_t i)
{
	const struct saga_step *st = &g->d->steps[i];
	struct strbuf *sb = &g->label;
	sb_reset(sb);
	sb_addstr(sb, "undo ");
	gr_text(sb, st->name, 0);
	sb_addch(sb, '\n');
	gr_call(sb, &st->compensation);
	if (g->s)
		gr_attempts(sb,
			    g->s->steps[i].cst == COMP_NONE ? "not run"
							    : comp_state_names[g->s->steps[i].cst],
			    g->s->steps[i].c_attempts);
}

static const char *gr_step_fill(const struct gr *g, size_t i)
{
	if (!g->s)
		return GR_WHITE;
	switch (g->s->steps[i].st) {
	case STEP_SUCCEEDED: return GR_GREEN;
	case STEP_FAILED: return GR_RED;
	case STEP_STARTED:
	case STEP_RETRYING: return GR_ORANGE;
	case STEP_PARKED: return GR_BLUE;
	case STEP_PENDING: break;
	}
	return GR_GREY;
}

static const char *gr_comp_fill(const struct gr *g, size_t i)
{
	if (!g->s)
		return GR_WHITE;
	switch (g->s->steps[i].cst) {
	case COMP_SUCCEEDED: return GR_GREEN;
	case COMP_FAILED: return GR_RED;
	case COMP_STARTED:
	case COMP_RETRYING: return GR_ORANGE;
	case COMP_NONE: break;
	}
	return GR_GREY;
}

/* The border of a step's nodes: its service's colour. */
static const char *gr_border(const struct gr *g, size_t i)
{
	const char *svc = g->d->steps[i].service;
	if (!svc)
		return GR_DEFAULT_BORDER;
	for (size_t k = 0; k < g->nservices; k++)
		if (!strcmp(g->services[k], svc))
			return gr_palette[k % ARRAY_SIZE(gr_palette)];
	return GR_DEFAULT_BORDER;
}

/* ---- nodes ------------------------------------------------------------ */

enum gr_shape { SH_STEP, SH_PIVOT, SH_WAIT, SH_COMP, SH_TERMINAL, SH_FINAL };

/* gr_node: declare node id with the label in g->label. */
static void gr_node(struct gr *g, const char *indent, const char *id, enum gr_shape shape,
		    const char *fill, const char *border)
{
	struct strbuf *o = g->out;
	if (g->fmt == GR_DOT) {
		static const char *const dot_shape[] = {
			[SH_STEP] = "shape=box, style=\"rounded,filled\"",
			[SH_PIVOT] = "shape=hexagon, style=filled, peripheries=2",
			[SH_WAIT] = "shape=ellipse, style=filled",
			[SH_COMP] = "shape=box, style=\"rounded,filled,dashed\"",
			[SH_TERMINAL] = "shape=circle, style=filled",
			[SH_FINAL] = "shape=doublecircle, style=filled",
		};
		sb_addf(o, "%s%s [label=", indent, id);
		gr_quote(g, g->label.buf);
		sb_addf(o, ", %s, fillcolor=\"%s\", color=\"%s\"%s];\n", dot_shape[shape], fill,
			border, strcmp(border, GR_DEFAULT_BORDER) ? ", penwidth=2" : "");
		return;
	}
	static const char *const open[] = {
		[SH_STEP] = "[", [SH_PIVOT] = "{{", [SH_WAIT] = "([", [SH_COMP] = "[",
		[SH_TERMINAL] = "((", [SH_FINAL] = "((",
	};
	static const char *const close[] = {
		[SH_STEP] = "]", [SH_PIVOT] = "}}", [SH_WAIT] = "])", [SH_COMP] = "]",
		[SH_TERMINAL] = "))", [SH_FINAL] = "))",
	};
	sb_addf(o, "%s%s%s", indent, id, open[shape]);
	gr_quote(g, g->label.buf);
	sb_addf(o, "%s\n", close[shape]);
}

/* Mermaid colours come after the edges, as style lines. */
static void gr_mermaid_style(struct gr *g, const char *id, const char *fill, const char *border,
			     bool dashed)
{
	sb_addf(g->out, "  style %s fill:%s,stroke:%s", id, fill, border);
	if (strcmp(border, GR_DEFAULT_BORDER))
		sb_addstr(g->out, ",stroke-width:2px");
	if (dashed)
		sb_addstr(g->out, ",stroke-dasharray:5 5");
	sb_addch(g->out, '\n');
}

static void gr_step_nodes(struct gr *g, const char *indent, size_t i)
{
	const struct saga_step *st = &g->d->steps[i];
	char id[32];
	snprintf(id, sizeof(id), "s%zu", i);
	gr_step_label(g, i);
	gr_node(g, indent, id,
		st->kind == KIND_PIVOT ? SH_PIVOT
		: st->is_wait	       ? SH_WAIT
				       : SH_STEP,
		gr_step_fill(g, i), gr_border(g, i));
	if (!st->has_compensation)
		return;
	snprintf(id, sizeof(id), "c%zu", i);
	gr_comp_label(g, i);
	gr_node(g, indent, id, SH_COMP, gr_comp_fill(g, i), gr_border(g, i));
	/* The undo right under the step it undoes. */
	if (g->fmt == GR_DOT)
		sb_addf(g->out, "%s{ rank=same; s%zu; c%zu; }\n", indent, i, i);
}

/* The steps of one region; those on either side of the pivot in a
 * cluster (DOT) or subgraph (Mermaid) named after what they are. */
static void gr_region_nodes(struct gr *g, enum gr_region r)
{
	const char *name = NULL, *title = "";
	if (r == GR_BEFORE) {
		name = "compensatable";
		title = "compensatable: undone if the saga fails";
	} else if (r == GR_AFTER) {
		name = "retriable";
		title = "retriable: retried until they succeed";
	}
	bool any = false;
	for (size_t i = 0; i < g->d->nsteps; i++)
		any = any || gr_region_of(g->d, i) == r;
	if (!any)
		return;
	const char *indent = "  ";
	if (name) {
		indent = "    ";
		if (g->fmt == GR_DOT) {
			sb_addf(g->out, "  subgraph cluster_%s {\n    label=", name);
			gr_quote(g, title);
			sb_addstr(g->out, ";\n    style=\"dashed,rounded\";\n    color=\"#808080\";\n");
		} else {
			sb_addf(g->out, "  subgraph %s [", name);
			gr_quote(g, title);
			sb_addstr(g->out, "]\n");
		}
	}
	for (size_t i = 0; i < g->d->nsteps; i++)
		if (gr_region_of(g->d, i) == r)
			gr_step_nodes(g, indent, i);
	if (name)
		sb_addstr(g->out, g->fmt == GR_DOT ? "  }\n" : "  end\n");
}

/* ---- edges ------------------------------------------------------------ */

enum gr_edge { ED_FORWARD, ED_UNDO, ED_BACK };

static void gr_edge(struct gr *g, const char *from, const char *to, enum gr_edge kind,
		    const char *label)
{
	struct strbuf *o = g->out;
	if (g->fmt == GR_DOT) {
		static const char *const attrs[] = {
			[ED_FORWARD] = NULL,
			[ED_UNDO] = "style=dotted, arrowhead=none",
			[ED_BACK] = "style=dashed, color=\"#808080\", constraint=false",
		};
		sb_addf(o, "  %s -> %s", from, to);
		if (attrs[kind] || label) {
			sb_addstr(o, " [");
			if (attrs[kind])
				sb_addstr(o, attrs[kind]);
			if (label) {
				sb_addstr(o, attrs[kind] ? ", label=" : "label=");
				gr_quote(g, label);
			}
			sb_addch(o, ']');
		}
		sb_addstr(o, ";\n");
		return;
	}
	static const char *const arrow[] = { [ED_FORWARD] = "-->", [ED_UNDO] = "-.-",
					     [ED_BACK] = "-.->" };
	sb_addf(o, "  %s %s", from, arrow[kind]);
	if (label) {
		sb_addch(o, '|');
		gr_quote(g, label);
		sb_addch(o, '|');
	}
	sb_addf(o, " %s\n", to);
}

static bool gr_stage_has_comp(const struct saga_def *d, size_t stage)
{
	for (size_t i = d->stage_first[stage]; i < d->stage_first[stage + 1]; i++)
		if (d->steps[i].has_compensation)
			return true;
	return false;
}

/* gr_back_to: edges from node from to where the backward path goes on
 * below stage: the compensations of the nearest earlier stage that has
 * any, else the "compensated" end. */
static void gr_back_to(struct gr *g, const char *from, size_t stage, const char *label)
{
	const struct saga_def *d = g->d;
	for (size_t p = stage; p-- > 0;) {
		if (!gr_stage_has_comp(d, p))
			continue;
		for (size_t i = d->stage_first[p]; i < d->stage_first[p + 1]; i++) {
			if (!d->steps[i].has_compensation)
				continue;
			char id[32];
			snprintf(id, sizeof(id), "c%zu", i);
			gr_edge(g, from, id, ED_BACK, label);
		}
		return;
	}
	gr_edge(g, from, "compensated", ED_BACK, label);
}

static void gr_edges(struct gr *g)
{
	const struct saga_def *d = g->d;
	char a[32], b[32];
	/* Forward, stage by stage: every step of a stage leads to every step
	 * of the next, so a parallel group fans out and joins. */
	for (size_t st = 0; st <= d->nstages; st++) {
		size_t f0 = st ? d->stage_first[st - 1] : 0, f1 = st ? d->stage_first[st] : 1;
		size_t t0 = st < d->nstages ? d->stage_first[st] : 0;
		size_t t1 = st < d->nstages ? d->stage_first[st + 1] : 1;
		for (size_t i = f0; i < f1; i++) {
			if (st)
				snprintf(a, sizeof(a), "s%zu", i);
			else
				snprintf(a, sizeof(a), "start");
			for (size_t j = t0; j < t1; j++) {
				if (st < d->nstages)
					snprintf(b, sizeof(b), "s%zu", j);
				else
					snprintf(b, sizeof(b), "done");
				gr_edge(g, a, b, ED_FORWARD, NULL);
			}
		}
	}
	/* Each step to what undoes it. */
	for (size_t i = 0; i < d->nsteps; i++) {
		if (!d->steps[i].has_compensation)
			continue;
		snprintf(a, sizeof(a), "s%zu", i);
		snprintf(b, sizeof(b), "c%zu", i);
		gr_edge(g, a, b, ED_UNDO, NULL);
	}
	/* The backward path: later compensations lead to earlier ones. */
	for (size_t st = d->nstages; st-- > 0;)
		for (size_t i = d->stage_first[st]; i < d->stage_first[st + 1]; i++) {
			if (!d->steps[i].has_compensation)
				continue;
			snprintf(a, sizeof(a), "c%zu", i);
			gr_back_to(g, a, st, NULL);
		}
	/* Where going forward turns into going backward without an undo of
	 * its own: the pivot failing, a wait step's deadline that compensates. */
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		snprintf(a, sizeof(a), "s%zu", i);
		if (s->kind == KIND_PIVOT && !s->is_wait)
			gr_back_to(g, a, s->stage, "fails");
		else if (s->is_wait && s->wait_timeout_ns > 0 && !s->timeout_continues)
			gr_back_to(g, a, s->stage, "deadline");
	}
}

/* ---- the whole picture ------------------------------------------------ */

static void gr_title(struct gr *g, struct strbuf *sb)
{
	sb_addstr(sb, "saga ");
	gr_text(sb, g->d->name ? g->d->name : "?", 0);
	sb_addf(sb, ", version %" PRId64, g->d->version);
	if (g->d->pivot < 0)
		sb_addstr(sb, ", no pivot");
	if (g->s) {
		sb_addstr(sb, "; ");
		gr_text(sb, g->s->id, 0);
		sb_addf(sb, ": %s", saga_phase_names[g->s->phase]);
	}
}

static void gr_terminals(struct gr *g, bool first)
{
	if (first) {
		sb_reset(&g->label);
		sb_addstr(&g->label, "start");
		gr_node(g, "  ", "start", SH_TERMINAL, g->s ? GR_GREEN : GR_WHITE,
			GR_DEFAULT_BORDER);
		return;
	}
	const char *done_fill = GR_WHITE, *comp_fill = GR_WHITE;
	if (g->s) {
		done_fill = g->s->phase == PHASE_COMPLETED ? GR_GREEN : GR_GREY;
		comp_fill = g->s->phase == PHASE_COMPENSATED ? GR_GREEN : GR_GREY;
	}
	sb_reset(&g->label);
	sb_addstr(&g->label, "end");
	gr_node(g, "  ", "done", SH_FINAL, done_fill, GR_DEFAULT_BORDER);
	sb_reset(&g->label);
	sb_addstr(&g->label, "compensated");
	gr_node(g, "  ", "compensated", SH_FINAL, comp_fill, GR_DEFAULT_BORDER);
}

static void gr_draw(struct gr *g)
{
	const struct saga_def *d = g->d;
	struct strbuf title = SB_INIT;
	gr_title(g, &title);
	for (size_t i = 0; i < d->nsteps; i++) {
		const char *svc = d->steps[i].service;
		bool seen = !svc;
		for (size_t k = 0; k < g->nservices && !seen; k++)
			seen = !strcmp(g->services[k], svc);
		if (!seen)
			g->services[g->nservices++] = svc;
	}
	if (g->fmt == GR_DOT) {
		sb_addstr(g->out, "digraph ");
		gr_quote(g, d->name ? d->name : "saga");
		sb_addstr(g->out, " {\n  graph [label=");
		gr_quote(g, title.buf);
		sb_addstr(g->out, ", labelloc=t, rankdir=LR, fontname=\"Helvetica\"];\n"
				  "  node [fontname=\"Helvetica\", fontsize=10];\n"
				  "  edge [fontname=\"Helvetica\", fontsize=9];\n");
	} else {
		sb_addstr(g->out, "flowchart LR\n  %% ");
		sb_addstr(g->out, title.buf);
		sb_addch(g->out, '\n');
	}
	sb_release(&title);
	gr_terminals(g, true);
	for (enum gr_region r = GR_NONE; r <= GR_AFTER; r++)
		gr_region_nodes(g, r);
	gr_terminals(g, false);
	gr_edges(g);
	if (g->fmt == GR_DOT) {
		sb_addstr(g->out, "}\n");
		return;
	}
	char id[32];
	gr_mermaid_style(g, "start", g->s ? GR_GREEN : GR_WHITE, GR_DEFAULT_BORDER, false);
	for (size_t i = 0; i < d->nsteps; i++) {
		snprintf(id, sizeof(id), "s%zu", i);
		gr_mermaid_style(g, id, gr_step_fill(g, i), gr_border(g, i), false);
		if (!d->steps[i].has_compensation)
			continue;
		snprintf(id, sizeof(id), "c%zu", i);
		gr_mermaid_style(g, id, gr_comp_fill(g, i), gr_border(g, i), true);
	}
	gr_mermaid_style(g, "done", g->s && g->s->phase == PHASE_COMPLETED ? GR_GREEN
				    : g->s				      ? GR_GREY
									      : GR_WHITE,
			 GR_DEFAULT_BORDER, false);
	gr_mermaid_style(g, "compensated", g->s && g->s->phase == PHASE_COMPENSATED ? GR_GREEN
					   : g->s				       ? GR_GREY
										       : GR_WHITE,
			 GR_DEFAULT_BORDER, false);
}

/* ---- the command ------------------------------------------------------ */

/* gr_load_saga: replay saga id's journal into *s (*loaded tells whether
 * s must be freed). Returns 0, or the exit status after the message: 2
 * for no such saga, 4 when the state cannot be read. */
static int gr_load_saga(const char *id, struct saga *s, bool *loaded)
{
	struct strbuf err = SB_INIT;
	int rc = 0;
	char *dir = saga_dir(false, &err);
	if (!dir) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	char *path = saga_journal_path(dir, id);
	struct stat sst;
	if (stat(path, &sst) < 0) {
		if (errno == ENOENT) {
			error("no saga '%s'", id);
			rc = EXIT_USAGE;
		} else {
			error_errno("cannot read '%s'", path);
			rc = EXIT_SYSTEM;
		}
	} else {
		*loaded = true;
		if (saga_load(path, s, &err) < 0) {
			error("%s", err.buf);
			rc = EXIT_SYSTEM;
		}
	}
	free(path);
	free(dir);
	sb_release(&err);
	return rc;
}

int cmd_graph(int argc, char **argv)
{
	struct opt_parser p;
	enum gr_format fmt = GR_DOT;
	const char *journal = NULL;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'f':
			if (!strcmp(p.arg, "dot"))
				fmt = GR_DOT;
			else if (!strcmp(p.arg, "mermaid"))
				fmt = GR_MERMAID;
			else
				opt_usage_error(&p, "-f: unknown format '%s' (want dot or mermaid)",
						p.arg);
			break;
		case GOPT_JOURNAL:
			journal = p.arg;
			break;
		default:
			break;
		}
	}
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops != 1)
		opt_usage_error(&p, nops ? "one definition at a time" : "missing definition");
	if (journal && !saga_id_valid(journal))
		opt_usage_error(&p, "--journal: '%s' is not a saga id", journal);

	struct saga_def file_def;
	struct saga s;
	bool have_saga = false;
	int rc = EXIT_OK;
	memset(&s, 0, sizeof(s));
	if (def_load(ops[0], &file_def) < 0) {
		rc = EXIT_USAGE;
	} else if (journal) {
		rc = gr_load_saga(journal, &s, &have_saga);
		if (!rc && (!s.def.name || !file_def.name || strcmp(s.def.name, file_def.name) ||
			    s.def.version != file_def.version))
			warn("saga '%s' ran '%s' version %" PRId64 ", not '%s' version %" PRId64
			     " of '%s': drawing the journal's copy",
			     journal, s.def.name ? s.def.name : "?", s.def.version,
			     file_def.name ? file_def.name : "?", file_def.version, ops[0]);
	}
	if (!rc) {
		struct strbuf out = SB_INIT;
		struct gr g = { .fmt = fmt, .out = &out, .label = SB_INIT };
		g.d = journal ? &s.def : &file_def;
		g.s = journal ? &s : NULL;
		g.services = xcalloc(g.d->nsteps + 1, sizeof(*g.services));
		gr_draw(&g);
		out_write(out_stdout(), out.buf, out.len);
		free(g.services);
		sb_release(&g.label);
		sb_release(&out);
	}
	if (have_saga)
		saga_free(&s);
	def_free(&file_def);
	opt_end(&p);
	return rc;
}
