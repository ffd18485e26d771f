/*
 * graph_cmd.c: `ofs-health graph`: the service dependency graph with
 * each service's current state, as Graphviz DOT, a Mermaid flowchart or
 * JSON Lines (health.node and health.edge records), for a status page,
 * a wiki or a pipeline. Unless --no-check, one round of checks is run
 * first and every node is coloured by its state; edges into an unhealthy
 * or impacted dependency are drawn red, so the path to the root cause
 * shows.
 *
 * An edge goes from a service to what it depends on. Names are quoted
 * and escaped for each language, so any service name round-trips.
 */
#include "common.h"

#include "health.h"
#include "record.h"
#include "sig.h"

static const char *const colors[JUDGE_NSTATES] = {
	"#a9dfbf", /* healthy: green */
	"#f9e79f", /* degraded: yellow */
	"#f1948a", /* unhealthy: red */
	"#f5cba7", /* impacted: orange */
	"#d5d8dc", /* unknown: grey */
};

static bool failing(enum judge_state s)
{
	return s == JUDGE_UNHEALTHY || s == JUDGE_IMPACTED;
}

static void dot_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_addch(sb, '\\');
		if (*s == '\n')
			sb_addstr(sb, "\\n");
		else
			sb_addch(sb, *s);
	}
}

static void graph_dot(const struct health *h, bool states, struct strbuf *sb)
{
	sb_addstr(sb, "digraph \"");
	dot_escape(sb, h->topo.name && *h->topo.name ? h->topo.name : "services");
	sb_addstr(sb, "\" {\n\trankdir=LR;\n\tnode [shape=box, style=\"rounded,filled\", "
		      "fillcolor=\"#ffffff\"];\n");
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		sb_addstr(sb, "\t\"");
		dot_escape(sb, s->ts->name);
		sb_addch(sb, '"');
		if (states) {
			enum judge_state st = s->verdict.state;
			sb_addstr(sb, " [label=\"");
			dot_escape(sb, s->ts->name);
			sb_addf(sb, "\\n%s\", fillcolor=\"%s\"", judge_state_name(st), colors[st]);
			if (s->verdict.reason.len) {
				sb_addstr(sb, ", tooltip=\"");
				dot_escape(sb, s->verdict.reason.buf);
				sb_addch(sb, '"');
			}
			sb_addch(sb, ']');
		}
		sb_addstr(sb, ";\n");
	}
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		for (size_t k = 0; k < s->ndeps; k++) {
			sb_addstr(sb, "\t\"");
			dot_escape(sb, s->ts->name);
			sb_addstr(sb, "\" -> \"");
			dot_escape(sb, h->svc[s->deps[k]].ts->name);
			sb_addch(sb, '"');
			if (states && failing(h->svc[s->deps[k]].verdict.state))
				sb_addstr(sb, " [color=\"#c0392b\", penwidth=2]");
			sb_addstr(sb, ";\n");
		}
	}
	sb_addstr(sb, "}\n");
}

static void mermaid_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '"':
			sb_addstr(sb, "#quot;");
			break;
		case '#':
			sb_addstr(sb, "#35;");
			break;
		case '&':
			sb_addstr(sb, "#amp;");
			break;
		case '<':
			sb_addstr(sb, "#lt;");
			break;
		case '>':
			sb_addstr(sb, "#gt;");
			break;
		case '|':
			sb_addstr(sb, "#124;");
			break;
		case '`':
			sb_addstr(sb, "#96;");
			break;
		case '\n':
			sb_addstr(sb, "<br>");
			break;
		default:
			sb_addch(sb, (unsigned char)*s < 0x20 ? ' ' : *s);
		}
	}
}

static void graph_mermaid(const struct health *h, bool states, struct strbuf *sb)
{
	sb_addstr(sb, "flowchart LR\n");
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		sb_addf(sb, "    n%zu[\"", i);
		mermaid_escape(sb, s->ts->name);
		if (states)
			sb_addf(sb, "<br>%s", judge_state_name(s->verdict.state));
		sb_addstr(sb, "\"]\n");
	}
	size_t edge = 0;
	struct strbuf red = SB_INIT;
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		for (size_t k = 0; k < s->ndeps; k++, edge++) {
			sb_addf(sb, "    n%zu --> n%zu\n", i, s->deps[k]);
			if (states && failing(h->svc[s->deps[k]].verdict.state))
				sb_addf(&red, "%s%zu", red.len ? "," : "", edge);
		}
	}
	if (states) {
		for (int st = 0; st < JUDGE_NSTATES; st++)
			sb_addf(sb, "    classDef %s fill:%s,stroke:#333\n",
				judge_state_name((enum judge_state)st), colors[st]);
		for (size_t i = 0; i < h->nsvc; i++)
			sb_addf(sb, "    class n%zu %s\n", i,
				judge_state_name(h->svc[i].verdict.state));
		if (red.len)
			sb_addf(sb, "    linkStyle %s stroke:#c0392b,stroke-width:2px\n", red.buf);
	}
	sb_release(&red);
}

static void graph_jsonl(struct health *h, bool states)
{
	struct jw *w = &h->w;
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		const struct judge_verdict *v = &s->verdict;
		rec_begin(w, "health.node");
		jw_kv_str(w, "service", s->ts->name);
		jw_key(w, "depends_on");
		jw_arr_begin(w);
		for (size_t k = 0; k < s->ndeps; k++)
			jw_str(w, h->svc[s->deps[k]].ts->name);
		jw_arr_end(w);
		jw_kv_int(w, "instances", (int64_t)s->ninst);
		if (states) {
			jw_kv_str(w, "state", judge_state_name(v->state));
			if (v->state != JUDGE_HEALTHY)
				jw_kv_str(w, "reason", v->reason.buf);
			if (v->nroot_causes)
				jw_kv_str(w, "root_cause", h->svc[v->root_causes[0]].ts->name);
			jw_kv_int(w, "healthy", v->healthy);
		}
		rec_end(w, h->out);
	}
	for (size_t i = 0; i < h->nsvc; i++) {
		const struct health_svc *s = &h->svc[i];
		for (size_t k = 0; k < s->ndeps; k++) {
			const struct health_svc *d = &h->svc[s->deps[k]];
			rec_begin(w, "health.edge");
			jw_kv_str(w, "from", s->ts->name);
			jw_kv_str(w, "to", d->ts->name);
			if (states) {
				jw_kv_str(w, "to_state", judge_state_name(d->verdict.state));
				jw_kv_bool(w, "failing", failing(d->verdict.state));
			}
			rec_end(w, h->out);
		}
	}
}

int cmd_graph(int argc, char **argv)
{
	struct health_opts o;
	health_opts_parse(&o, argc, argv, false, true);
	struct health h;
	int status = health_load(&h, &o);
	if (status == EXIT_OK) {
		bool states = !o.no_check;
		int rc = 0;
		if (states) {
			sig_setup();
			rc = health_round(&h);
			health_take_raw(&h);
			health_judge(&h);
		}
		if (rc < 0) {
			status = sig_exit_status() ? sig_exit_status() : EXIT_SYSTEM;
		} else {
			struct strbuf sb = SB_INIT;
			if (o.format == FMT_DOT)
				graph_dot(&h, states, &sb);
			else if (o.format == FMT_MERMAID)
				graph_mermaid(&h, states, &sb);
			else
				graph_jsonl(&h, states);
			out_write(h.out, sb.buf, sb.len);
			sb_release(&sb);
			status = health_rejected_status(EXIT_OK, o.format);
		}
	}
	health_free(&h);
	health_opts_free(&o);
	return status;
}
