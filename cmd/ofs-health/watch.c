/*
 * watch.c: `ofs-health watch`: rounds of checks, forever or --rounds
 * times, with rise/fall hysteresis per instance so one lost answer does
 * not page anyone, a faster interval while an instance is between
 * states (so a real failure is confirmed in about a second), and a
 * health.transition record for every instance or service state change.
 *
 * The first round sets every state directly and reports no transition.
 * During the grace period after a restart (recover.c) failures are
 * ignored, but successes count, so a restarted instance is seen healthy
 * again as soon as it is. SIGINT and SIGTERM end the run after the
 * current round's records are written, with status 128 + N.
 */
#include "common.h"
#include <poll.h>

#include "health.h"
#include "sig.h"
#include "timefmt.h"

static void set_judge_view(struct health_inst *in)
{
	if (!in->hyst.set) {
		/* Never judged (its first check was cut short): as it came. */
		in->jstate = judge_inst_from_check(in->res.status);
		in->jreason = in->res.reason.buf;
	} else if (in->hyst.state == JUDGE_INST_FAILING) {
		in->jstate = JUDGE_INST_FAILING;
		in->jreason = in->fail_reason.buf;
	} else if (in->checked && in->res.status == CHECK_WARNING) {
		in->jstate = JUDGE_INST_WARNING;
		in->jreason = in->res.reason.buf;
	} else {
		in->jstate = JUDGE_INST_HEALTHY;
		in->jreason = "";
	}
}

/* Feed one instance's result into its hysteresis. */
static void feed(struct health *h, struct health_inst *in, int64_t now_ms)
{
	const struct topo_service *ts = h->svc[in->service].ts;
	bool ok = in->res.status == CHECK_OK || in->res.status == CHECK_WARNING;
	if (!ok && now_ms < in->grace_until_ms) {
		in->ignored = true;
		return;
	}
	if (!ok) {
		sb_reset(&in->fail_reason);
		sb_addstr(&in->fail_reason, in->res.reason.len ? in->res.reason.buf
							       : check_status_name(in->res.status));
		if (!in->detect_ns)
			in->detect_ns = h->round_start_ns;
	}
	enum judge_hyst_change ch = judge_hyst_feed(&in->hyst, ok, ts->rise, ts->fall);
	if (ch == JUDGE_HYST_CHANGED) {
		struct strbuf why = SB_INIT;
		if (ok) {
			sb_addf(&why, "%d consecutive %s", in->hyst.streak,
				in->hyst.streak == 1 ? "success" : "successes");
			if (in->restarts > 0)
				in->recovered = true;
			else
				in->detect_ns = 0;
		} else {
			sb_addf(&why, "%d consecutive %s: %s", in->hyst.streak,
				in->hyst.streak == 1 ? "failure" : "failures", in->fail_reason.buf);
		}
		emit_transition(h, "instance", in->service, in, ok ? "failing" : "healthy",
				ok ? "healthy" : "failing", why.buf);
		sb_release(&why);
	} else if (ok && in->hyst.state == JUDGE_INST_HEALTHY && in->restarts == 0) {
		in->detect_ns = 0; /* a failure that did not reach fall */
	}
}

static void service_transitions(struct health *h, bool first)
{
	for (size_t k = 0; k < h->nsvc; k++) {
		struct health_svc *s = &h->svc[h->order[k]];
		if (!s->reported)
			continue;
		const struct judge_verdict *v = &s->verdict;
		if (!first && s->prev_set && s->prev != v->state) {
			struct strbuf why = SB_INIT;
			if (v->state == JUDGE_HEALTHY)
				sb_addf(&why, "%d of %d %s healthy", v->healthy, v->instances,
					v->instances == 1 ? "instance" : "instances");
			else
				sb_addstr(&why, v->reason.buf);
			emit_transition(h, "service", h->order[k], NULL, judge_state_name(s->prev),
					judge_state_name(v->state), why.buf);
			sb_release(&why);
		}
		s->prev = v->state;
		s->prev_set = true;
	}
}

/* Whether the next round should come at the fast interval. */
static bool in_flux(const struct health *h, int64_t now_ms)
{
	for (size_t i = 0; i < h->ninst; i++) {
		const struct health_inst *in = &h->inst[i];
		if (!in->selected)
			continue;
		const struct topo_service *ts = h->svc[in->service].ts;
		if (judge_hyst_settling(&in->hyst, ts->rise, ts->fall))
			return true;
		if (now_ms < in->grace_until_ms && in->hyst.state == JUDGE_INST_FAILING)
			return true;
	}
	return false;
}

/* Sleep until the next round is due; -1 if a signal came first. */
static int wait_next(struct health *h)
{
	int64_t now = mono_ms();
	int64_t every = h->o->interval_ms;
	if (in_flux(h, now) && h->o->fast_ms < every)
		every = h->o->fast_ms;
	int64_t due = h->round_start_ms + every;
	while (!sig_pending()) {
		now = mono_ms();
		if (now >= due)
			return 0;
		int64_t left = due - now;
		struct pollfd pfd = { .fd = sig_fd(), .events = POLLIN };
		poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
	}
	return -1;
}

/* The round's output besides transitions and recovery records. */
static int round_output(struct health *h)
{
	const struct health_opts *o = h->o;
	if (o->format == FMT_JSONL) {
		if (o->verbose)
			emit_round(h);
		return health_write_prom_file(h);
	}
	if (o->format == FMT_TEXT && !o->verbose)
		return health_write_prom_file(h);
	return health_output(h);
}

static int health_watch(struct health *h)
{
	const struct health_opts *o = h->o;
	bool jsonl = o->format == FMT_JSONL;
	int status = EXIT_OK;
	sig_setup();
	out_set_line_flush(h->out, true);
	for (;;) {
		int rc = health_round(h);
		bool first = h->round == 1;
		if (o->verbose && jsonl)
			emit_checks(h);
		int64_t now = mono_ms();
		for (size_t i = 0; i < h->ninst; i++) {
			struct health_inst *in = &h->inst[i];
			if (!in->selected)
				continue;
			if (in->checked)
				feed(h, in, now);
			set_judge_view(in);
		}
		health_judge(h);
		if (o->verbose && jsonl)
			emit_services(h);
		service_transitions(h, first);
		round_output(h);
		if (rc < 0 || sig_pending())
			return sig_exit_status() ? sig_exit_status() : EXIT_SYSTEM;
		if (o->recover)
			recover_round(h);
		status = health_exit_status(h, o->format);
		if (o->rounds && h->round >= o->rounds)
			break;
		if (wait_next(h) < 0)
			return sig_exit_status();
	}
	return health_rejected_status(status, o->format);
}

int cmd_watch(int argc, char **argv)
{
	struct health_opts o;
	health_opts_parse(&o, argc, argv, true, false);
	struct health h;
	int status = health_load(&h, &o);
	if (status == EXIT_OK)
		status = health_watch(&h);
	health_free(&h);
	health_opts_free(&o);
	return status;
}
