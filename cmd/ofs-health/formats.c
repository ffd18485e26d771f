/*
 * formats.c: the outputs of a round besides JSON Lines: a text table for
 * people, the Prometheus text exposition (on stdout, or atomically into
 * a node_exporter textfile with --prom-file), and the one-line Nagios
 * plugin answer with perfdata.
 *
 * Prometheus rules kept here: # HELP and # TYPE before each metric's
 * samples, one uninterrupted group per metric, label values escaped
 * (\\ \" \n), no sample timestamps (the textfile collector rejects
 * them). Nagios rules: "OFS-HEALTH STATUS - text | perfdata", perfdata
 * items 'label'=value[UOM];warn;crit;min;max, no '|' in the text.
 */
#include "common.h"
#include <math.h>

#include "health.h"
#include "state.h"
#include "timefmt.h"

/* ---- text ------------------------------------------------------------- */

/* End a table line: no trailing blanks when the last column is empty. */
static void end_line(struct strbuf *sb)
{
	while (sb->len && sb->buf[sb->len - 1] == ' ')
		sb_setlen(sb, sb->len - 1);
	sb_addch(sb, '\n');
}

static int width(const char *s, int w)
{
	int n = (int)strlen(s);
	return n > w ? n : w;
}

static void format_text(struct health *h, struct strbuf *sb)
{
	int ws = width("SERVICE", 0), wi = width("INSTANCE", 0);
	for (size_t i = 0; i < h->nsvc; i++)
		if (h->svc[i].reported)
			ws = width(h->svc[i].ts->name, ws);
	for (size_t i = 0; i < h->ninst; i++)
		if (h->inst[i].selected)
			wi = width(h->inst[i].ti->id, wi);
	if (h->o->watch) {
		char ts[TS_BUFSZ];
		sb_addf(sb, "round %ld at %s, %.1f ms\n", h->round, ts_format(h->round_start_ns, ts),
			h->round_ms);
	}
	sb_addf(sb, "%-*s  %-9s  %-7s  %s\n", ws, "SERVICE", "STATE", "HEALTHY", "REASON");
	for (size_t k = 0; k < h->nsvc; k++) {
		const struct health_svc *s = &h->svc[h->order[k]];
		if (!s->reported)
			continue;
		const struct judge_verdict *v = &s->verdict;
		char count[48];
		snprintf(count, sizeof(count), "%d/%d", v->healthy, v->instances);
		sb_addf(sb, "%-*s  %-9s  %-7s  %s", ws, s->ts->name, judge_state_name(v->state),
			count, v->reason.buf);
		end_line(sb);
		if (!h->o->verbose)
			continue;
		for (size_t j = 0; j < s->ninst; j++) {
			const struct health_inst *in = &h->inst[s->first + j];
			if (!in->selected)
				continue;
			sb_addf(sb, "  %-*s  %-8s  %8.1f ms  %s", wi, in->ti->id,
				check_status_name(in->res.status), in->res.latency_ms,
				in->res.reason.buf);
			end_line(sb);
		}
	}
}

/* ---- Prometheus ------------------------------------------------------- */

static void prom_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_addstr(sb, "\\\\");
		else if (*s == '"')
			sb_addstr(sb, "\\\"");
		else if (*s == '\n')
			sb_addstr(sb, "\\n");
		else
			sb_addch(sb, *s);
	}
}

static void prom_value(struct strbuf *sb, double v)
{
	char buf[32];
	if (isnan(v)) {
		sb_addstr(sb, " NaN\n");
		return;
	}
	size_t n = jw_format_double(v, buf);
	sb_addch(sb, ' ');
	sb_add(sb, buf, n);
	sb_addch(sb, '\n');
}

static void prom_head(struct strbuf *sb, const char *name, const char *help)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void prom_check_labels(struct strbuf *sb, const char *metric, const struct health *h,
			      const struct health_inst *in)
{
	sb_addf(sb, "%s{service=\"", metric);
	prom_escape(sb, h->svc[in->service].ts->name);
	sb_addstr(sb, "\",instance=\"");
	prom_escape(sb, in->ti->id);
	sb_addf(sb, "\",kind=\"%s\"}", check_kind_name(in->ti->check.kind));
}

static void format_prom(struct health *h, struct strbuf *sb)
{
	static const struct {
		const char *name, *help;
	} checks[] = {
		{ "ofs_health_check_up", "1 if the last check passed (ok or warning), else 0." },
		{ "ofs_health_check_status",
		  "Monitoring-plugin code of the last check: 0 ok, 1 warning, 2 critical, 3 unknown." },
		{ "ofs_health_check_latency_seconds", "Latency of the last check attempt." },
	};
	for (size_t m = 0; m < ARRAY_SIZE(checks); m++) {
		prom_head(sb, checks[m].name, checks[m].help);
		for (size_t i = 0; i < h->ninst; i++) {
			const struct health_inst *in = &h->inst[i];
			if (!in->selected)
				continue;
			prom_check_labels(sb, checks[m].name, h, in);
			double v = m == 0   ? (in->res.status <= CHECK_WARNING ? 1 : 0)
				   : m == 1 ? (double)in->res.status
					    : in->res.latency_ms / 1000.0;
			prom_value(sb, v);
		}
	}
	prom_head(sb, "ofs_health_service_state",
		  "1 for the service's current state, 0 for the other states.");
	for (size_t k = 0; k < h->nsvc; k++) {
		const struct health_svc *s = &h->svc[h->order[k]];
		if (!s->reported)
			continue;
		for (int st = 0; st < JUDGE_NSTATES; st++) {
			sb_addstr(sb, "ofs_health_service_state{service=\"");
			prom_escape(sb, s->ts->name);
			sb_addf(sb, "\",state=\"%s\"}", judge_state_name((enum judge_state)st));
			prom_value(sb, s->verdict.state == (enum judge_state)st ? 1 : 0);
		}
	}
	prom_head(sb, "ofs_health_round_duration_seconds", "How long the round's checks took.");
	sb_addstr(sb, "ofs_health_round_duration_seconds");
	prom_value(sb, h->round_ms / 1000.0);
	prom_head(sb, "ofs_health_round_timestamp_seconds",
		  "When the round started, in seconds since the epoch.");
	sb_addstr(sb, "ofs_health_round_timestamp_seconds");
	prom_value(sb, floor((double)h->round_start_ns / 1e6) / 1e3);
}

int health_write_prom_file(struct health *h)
{
	if (!h->o->prom_file)
		return 0;
	struct strbuf sb = SB_INIT, err = SB_INIT;
	format_prom(h, &sb);
	int r = state_write_atomic(h->o->prom_file, sb.buf, sb.len, 0644, &err);
	if (r < 0)
		error("%s", err.len ? err.buf : "cannot write the prom file");
	sb_release(&sb);
	sb_release(&err);
	return r;
}

/* ---- Nagios ----------------------------------------------------------- */

static void nagios_name(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		sb_addch(sb, *s == '|' ? '/' : *s == '\n' ? ' ' : *s);
}

static void format_nagios(struct health *h, struct strbuf *sb)
{
	static const char *const words[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
	static const enum judge_state listed[] = { JUDGE_UNHEALTHY, JUDGE_IMPACTED, JUDGE_DEGRADED,
						   JUDGE_UNKNOWN };
	int code = health_exit_status(h, FMT_NAGIOS);
	size_t counts[JUDGE_NSTATES];
	size_t n = health_count(h, counts);
	size_t total = 0, up = 0, warning = 0;
	for (size_t i = 0; i < h->ninst; i++) {
		const struct health_inst *in = &h->inst[i];
		if (!in->selected)
			continue;
		total++;
		up += in->jstate != JUDGE_INST_FAILING;
		warning += in->jstate == JUDGE_INST_WARNING;
	}
	sb_addf(sb, "OFS-HEALTH %s - ", words[code]);
	if (n == 0 || total == 0) {
		sb_addstr(sb, "no instances");
	} else if (counts[JUDGE_HEALTHY] == n) {
		sb_addf(sb, "%zu %s healthy", n, n == 1 ? "service" : "services");
	} else {
		bool first = true;
		for (size_t l = 0; l < ARRAY_SIZE(listed); l++) {
			enum judge_state st = listed[l];
			if (!counts[st])
				continue;
			sb_addf(sb, "%s%zu %s: ", first ? "" : "; ", counts[st], judge_state_name(st));
			first = false;
			bool firstname = true;
			for (size_t k = 0; k < h->nsvc; k++) {
				const struct health_svc *s = &h->svc[h->order[k]];
				if (!s->reported || s->verdict.state != st)
					continue;
				if (!firstname)
					sb_addstr(sb, ", ");
				nagios_name(sb, s->ts->name);
				firstname = false;
			}
		}
	}
	sb_addf(sb, " | 'healthy'=%zu;;;0;%zu 'unhealthy'=%zu;;;0;%zu 'warning'=%zu;;;0;%zu", up,
		total, total - up, total, warning, total);
	for (int st = 0; st < JUDGE_NSTATES; st++)
		sb_addf(sb, " 'services_%s'=%zu;;;0;%zu", judge_state_name((enum judge_state)st),
			counts[st], n);
	sb_addf(sb, " 'round_duration'=%.3fs\n", h->round_ms / 1000.0);
	if (!h->o->verbose)
		return;
	for (size_t k = 0; k < h->nsvc; k++) {
		const struct health_svc *s = &h->svc[h->order[k]];
		if (!s->reported || s->verdict.state == JUDGE_HEALTHY)
			continue;
		nagios_name(sb, s->ts->name);
		sb_addf(sb, ": %s: ", judge_state_name(s->verdict.state));
		nagios_name(sb, s->verdict.reason.buf);
		sb_addch(sb, '\n');
	}
}

/* ---- one round, whatever the format --------------------------------- */

int health_output(struct health *h)
{
	const struct health_opts *o = h->o;
	if (!o->quiet) {
		if (o->format == FMT_JSONL) {
			emit_checks(h);
			emit_services(h);
			emit_round(h);
		} else {
			struct strbuf sb = SB_INIT;
			if (o->format == FMT_TEXT)
				format_text(h, &sb);
			else if (o->format == FMT_PROM)
				format_prom(h, &sb);
			else
				format_nagios(h, &sb);
			out_write(h->out, sb.buf, sb.len);
			sb_release(&sb);
		}
		if (o->watch)
			out_flush(h->out);
	}
	return health_write_prom_file(h);
}

void health_event_line(struct health *h, const char *fmt, ...)
{
	struct strbuf sb = SB_INIT;
	char ts[TS_BUFSZ];
	sb_addf(&sb, "%s ", ts_format_now(ts));
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	sb_addch(&sb, '\n');
	if (h->o->format == FMT_TEXT) {
		out_write(h->out, sb.buf, sb.len);
		out_flush(h->out);
	} else {
		out_flush(h->out);
		fputs(sb.buf, stderr);
		fflush(stderr);
	}
	sb_release(&sb);
}
