/*
 * emit.c: the JSON Lines records of ofs-health: health.check per check,
 * health.service per service, health.round at the end of each round,
 * and health.transition for watch's state changes. The recovery records
 * are written by recover.c. Every field is documented in ofs-health(1).
 *
 * Times are rounded to the microsecond (three decimals of a
 * millisecond): finer digits are noise and only lengthen the lines.
 */
#include "common.h"
#include <math.h>

#include "health.h"
#include "record.h"

static double ms3(double ms)
{
	return floor(ms * 1000.0 + 0.5) / 1000.0;
}

static void tail(struct health *h)
{
	jw_kv_int(&h->w, "round", h->round);
	if (h->shard[0])
		jw_kv_str(&h->w, "shard", h->shard);
	rec_end(&h->w, h->out);
}

static void emit_check(struct health *h, const struct health_inst *in)
{
	if (h->o->quiet)
		return;
	const struct check_result *r = &in->res;
	const struct check_spec *c = &in->ti->check;
	struct jw *w = &h->w;
	rec_begin(w, "health.check");
	jw_kv_str(w, "service", h->svc[in->service].ts->name);
	jw_kv_str(w, "instance", in->ti->id);
	jw_kv_str(w, "kind", check_kind_name(c->kind));
	jw_kv_str(w, "status", check_status_name(r->status));
	if (r->reason.len)
		jw_kv_str(w, "reason", r->reason.buf);
	else if (r->status != CHECK_OK)
		jw_kv_str(w, "reason", check_status_name(r->status));
	jw_kv_double(w, "latency_ms", ms3(r->latency_ms));
	if (c->kind == CHECK_HTTP) {
		jw_kv_double(w, "dns_ms", ms3(r->dns_ms));
		jw_kv_double(w, "connect_ms", ms3(r->connect_ms));
		jw_kv_double(w, "tls_ms", ms3(r->tls_ms));
		jw_kv_double(w, "first_byte_ms", ms3(r->first_byte_ms));
		if (r->http_status > 0)
			jw_kv_int(w, "http_status", r->http_status);
	} else if (c->kind == CHECK_TCP) {
		jw_kv_double(w, "connect_ms", ms3(r->connect_ms));
	} else if (c->kind == CHECK_EXEC) {
		if (r->exit_code >= 0)
			jw_kv_int(w, "exit_code", r->exit_code);
		jw_kv_str(w, "output", r->output.buf);
	}
	jw_kv_int(w, "attempts", r->attempts > 0 ? r->attempts : 1);
	if (in->ignored)
		jw_kv_bool(w, "recovering", true);
	tail(h);
}

void emit_checks(struct health *h)
{
	for (size_t i = 0; i < h->ninst; i++)
		if (h->inst[i].selected)
			emit_check(h, &h->inst[i]);
}

static void emit_service(struct health *h, size_t s)
{
	if (h->o->quiet)
		return;
	const struct health_svc *svc = &h->svc[s];
	const struct judge_verdict *v = &svc->verdict;
	struct jw *w = &h->w;
	rec_begin(w, "health.service");
	jw_kv_str(w, "service", svc->ts->name);
	jw_kv_str(w, "state", judge_state_name(v->state));
	if (v->state != JUDGE_HEALTHY)
		jw_kv_str(w, "reason", v->reason.len ? v->reason.buf : judge_state_name(v->state));
	if (v->state == JUDGE_IMPACTED && v->nroot_causes) {
		jw_kv_str(w, "root_cause", h->svc[v->root_causes[0]].ts->name);
		jw_key(w, "root_causes");
		jw_arr_begin(w);
		for (size_t k = 0; k < v->nroot_causes; k++)
			jw_str(w, h->svc[v->root_causes[k]].ts->name);
		jw_arr_end(w);
	}
	jw_kv_int(w, "instances", v->instances);
	jw_kv_int(w, "healthy", v->healthy);
	jw_kv_int(w, "quorum", v->quorum);
	tail(h);
}

void emit_services(struct health *h)
{
	for (size_t k = 0; k < h->nsvc; k++)
		if (h->svc[h->order[k]].reported)
			emit_service(h, h->order[k]);
}

void emit_round(struct health *h)
{
	if (h->o->quiet)
		return;
	size_t counts[JUDGE_NSTATES];
	size_t n = health_count(h, counts);
	struct jw *w = &h->w;
	rec_begin(w, "health.round");
	jw_kv_int(w, "round", h->round);
	jw_kv_int(w, "services", (int64_t)n);
	for (int k = 0; k < JUDGE_NSTATES; k++)
		jw_kv_int(w, judge_state_name((enum judge_state)k), (int64_t)counts[k]);
	jw_kv_int(w, "checks", (int64_t)h->nchecks);
	jw_kv_double(w, "duration_ms", ms3(h->round_ms));
	if (h->shard[0])
		jw_kv_str(w, "shard", h->shard);
	rec_end(w, h->out);
}

void emit_transition(struct health *h, const char *scope, size_t service,
		     const struct health_inst *in, const char *from, const char *to,
		     const char *reason)
{
	if (h->o->quiet)
		return;
	if (h->o->format != FMT_JSONL) {
		health_event_line(h, "%s%s%s %s -> %s%s%s", h->svc[service].ts->name,
				  in ? " " : "", in ? in->ti->id : "", from, to,
				  reason && *reason ? ": " : "", reason ? reason : "");
		return;
	}
	struct jw *w = &h->w;
	rec_begin(w, "health.transition");
	jw_kv_str(w, "scope", scope);
	jw_kv_str(w, "service", h->svc[service].ts->name);
	if (in)
		jw_kv_str(w, "instance", in->ti->id);
	jw_kv_str(w, "from", from);
	jw_kv_str(w, "to", to);
	jw_kv_str(w, "reason", reason && *reason ? reason : to);
	tail(h);
}
