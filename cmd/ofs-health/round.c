/*
 * round.c: one round of ofs-health: every selected instance checked at
 * once through the check engine, then every reported service judged,
 * dependencies first (judge.h).
 *
 * Results are copied into the run's instances as they complete, so the
 * records can be written afterwards in topology order: the output of a
 * round does not depend on which instance answered first.
 */
#include "common.h"

#include "health.h"
#include "sig.h"
#include "timefmt.h"

static void copy_result(struct check_result *dst, const struct check_result *src)
{
	dst->status = src->status;
	sb_reset(&dst->reason);
	sb_add(&dst->reason, src->reason.buf, src->reason.len);
	dst->latency_ms = src->latency_ms;
	dst->dns_ms = src->dns_ms;
	dst->connect_ms = src->connect_ms;
	dst->tls_ms = src->tls_ms;
	dst->first_byte_ms = src->first_byte_ms;
	dst->attempts = src->attempts;
	dst->http_status = src->http_status;
	dst->exit_code = src->exit_code;
	sb_reset(&dst->output);
	sb_add(&dst->output, src->output.buf, src->output.len);
	dst->start_ns = src->start_ns;
}

static void on_done(void *user, const struct check_spec *spec, const struct check_result *res,
		    void *ctx)
{
	struct health_inst *in = user;
	struct health *h = ctx;
	copy_result(&in->res, res);
	in->checked = true;
	h->nchecks++;
}

int health_round(struct health *h)
{
	const struct health_opts *o = h->o;
	h->round++;
	h->nchecks = 0;
	h->interrupted = false;
	h->round_start_ns = ts_now_ns();
	h->round_start_ms = mono_ms();
	int64_t t0 = mono_ns();
	int procs = o->concurrency < 64 ? o->concurrency : 64;
	struct check_runner *r = check_runner_new(o->concurrency, procs, o->jitter_ms);
	for (size_t i = 0; i < h->ninst; i++) {
		struct health_inst *in = &h->inst[i];
		in->checked = false;
		in->ignored = false;
		in->recovered = false;
		if (in->selected)
			check_runner_add(r, &in->ti->check, in);
	}
	int rc = check_runner_run(r, on_done, h);
	check_runner_free(r);
	h->round_ms = (double)(mono_ns() - t0) / 1e6;
	if (rc < 0 || sig_pending())
		h->interrupted = true;
	for (size_t i = 0; i < h->ninst; i++) {
		struct health_inst *in = &h->inst[i];
		if (!in->selected || in->checked)
			continue;
		check_result_release(&in->res);
		check_result_init(&in->res);
		in->res.status = CHECK_UNKNOWN;
		sb_addstr(&in->res.reason, h->interrupted ? "interrupted" : "no result");
	}
	return h->interrupted ? -1 : 0;
}

void health_take_raw(struct health *h)
{
	for (size_t i = 0; i < h->ninst; i++) {
		struct health_inst *in = &h->inst[i];
		if (!in->selected)
			continue;
		in->jstate = judge_inst_from_check(in->res.status);
		in->jreason = in->res.reason.buf;
	}
}

void health_judge(struct health *h)
{
	struct judge_service *js = xcalloc(h->nsvc + 1, sizeof(*js));
	struct judge_verdict *v = xcalloc(h->nsvc + 1, sizeof(*v));
	for (size_t i = 0; i < h->nsvc; i++) {
		struct health_svc *s = &h->svc[i];
		js[i].name = s->ts->name;
		js[i].deps = s->deps;
		js[i].ndeps = s->ndeps;
		js[i].instances = s->jins;
		size_t n = 0;
		if (s->reported) {
			for (size_t j = 0; j < s->ninst; j++) {
				const struct health_inst *in = &h->inst[s->first + j];
				if (!in->selected)
					continue;
				s->jins[n].id = in->ti->id;
				s->jins[n].state = in->jstate;
				s->jins[n].reason = in->jreason;
				n++;
			}
		}
		js[i].ninstances = n;
		int q = s->ts->quorum > 0 ? s->ts->quorum : 0;
		/* A shard judges from its own instances: a quorum cannot ask
		 * for more of them than the shard holds. */
		if (h->o->shard_n && q > (int)n)
			q = (int)n;
		js[i].quorum = q;
		v[i] = s->verdict;
	}
	judge_services(js, h->nsvc, h->order, v);
	for (size_t i = 0; i < h->nsvc; i++)
		h->svc[i].verdict = v[i];
	free(v);
	free(js);
}

size_t health_count(const struct health *h, size_t counts[JUDGE_NSTATES])
{
	size_t n = 0;
	for (int k = 0; k < JUDGE_NSTATES; k++)
		counts[k] = 0;
	for (size_t i = 0; i < h->nsvc; i++) {
		if (!h->svc[i].reported)
			continue;
		counts[h->svc[i].verdict.state]++;
		n++;
	}
	return n;
}

int health_exit_status(const struct health *h, enum health_format f)
{
	size_t counts[JUDGE_NSTATES];
	size_t n = health_count(h, counts);
	size_t instances = 0;
	for (size_t i = 0; i < h->ninst; i++)
		instances += h->inst[i].selected;
	if (f == FMT_NAGIOS) {
		if (counts[JUDGE_UNHEALTHY] || counts[JUDGE_IMPACTED])
			return 2;
		if (counts[JUDGE_UNKNOWN] || n == 0 || instances == 0)
			return 3;
		return counts[JUDGE_DEGRADED] ? 1 : 0;
	}
	if (n == 0 || instances == 0)
		return EXIT_NO;
	return counts[JUDGE_HEALTHY] == n ? EXIT_OK : EXIT_NO;
}
