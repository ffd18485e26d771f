/*
 * fleet.c: the moves every strategy is made of, on the deploy's table of
 * instances: grow a revision to a count of ready instances, route traffic
 * between revisions, retire instances (drain, release, stop), and
 * reconcile the table with the world after a crash.
 *
 * Each move records the instances' new states in the journal before it
 * asks a driver to act, and records what the driver reported (a pid, a
 * slot) after. So a deploy killed between two records is replayed into a
 * table that says at worst "this instance was about to start, drain or
 * stop", and dp_reconcile settles each such instance by asking the
 * instance driver whether it is alive.
 */
#include "common.h"

#include "engine.h"

size_t dp_count(struct dp_deploy *d, int revision, bool want_rev, unsigned states)
{
	size_t n = 0;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if ((in->revision == revision) == want_rev && (states & DP_S(in->state)))
			n++;
	}
	return n;
}

/* The spec an instance of revision rev runs under. */
static const struct dp_spec *spec_for(struct dp_deploy *d, int rev)
{
	if (rev == d->revision || !d->prev_spec)
		return d->spec;
	return d->prev_spec;
}

static void set_state(struct dp_deploy *d, struct dp_inst *in, enum dp_inst_state st,
		      int weight, const char *reason)
{
	in->state = st;
	in->weight = weight;
	dp_inst_emit(d, in, reason);
}

/* Take in out of the router and stop it; its state becomes stopped. */
static int stop_one(struct dp_deploy *d, struct dp_inst *in, const char *reason,
		    struct strbuf *err)
{
	struct strbuf e = SB_INIT;
	if (in->slot && d->router->release(d, in, &e) < 0) {
		sb_addf(err, "cannot take instance '%s' out of %s: %s", in->id, d->router->name,
			e.buf);
		sb_release(&e);
		return -1;
	}
	sb_reset(&e);
	/* the process driver's stop also clears a gone instance's pid file */
	int alive = d->runner->alive(d, in);
	if ((alive != 0 || d->runner == &dp_runner_process) &&
	    d->runner->stop(d, spec_for(d, in->revision), in, &e) < 0) {
		sb_addf(err, "cannot stop instance '%s': %s", in->id, e.buf);
		sb_release(&e);
		return -1;
	}
	sb_release(&e);
	set_state(d, in, DP_STOPPED, 0, reason);
	return 0;
}

/* Wait for in (draining) to have no requests in flight. A drain that
 * times out is recorded and the stop goes on, as Kubernetes does after
 * its grace period. */
static void drain_wait(struct dp_deploy *d, struct dp_inst *in)
{
	struct strbuf e = SB_INIT;
	if (d->router->wait_drained(d, in, d->spec->traffic.drain_timeout_ns, &e) < 0)
		dp_inst_emit(d, in, e.buf);
	sb_release(&e);
}

int dp_reconcile(struct dp_deploy *d, struct strbuf *err)
{
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state == DP_STOPPED)
			continue;
		if (!in->pid && d->runner == &dp_runner_process && dp_process_adopt(d, in) == 0)
			dp_inst_emit(d, in, "found by its pid file after a crash");
		int alive = d->runner->alive(d, in);
		if (alive == 0) {
			if (stop_one(d, in, "gone: its process is not running", err) < 0)
				return -1;
			continue;
		}
		if (in->state == DP_DRAINING) {
			if (d->router->apply(d, err) < 0)
				return -1;
			drain_wait(d, in);
			if (stop_one(d, in, "retired (its drain was interrupted)", err) < 0)
				return -1;
		}
	}
	return d->router->apply(d, err);
}

int dp_grow(struct dp_deploy *d, const struct dp_spec *spec, int revision, int want,
	    int64_t min_ready_ns, struct strbuf *err)
{
	unsigned live = DP_S(DP_STARTING) | DP_S(DP_READY) | DP_S(DP_SERVING);
	size_t have = dp_count(d, revision, true, live);
	struct strbuf e = SB_INIT;
	for (size_t k = have; k < (size_t)want; k++) {
		struct dp_inst *in = dp_inst_add(d, revision, spec->version);
		dp_inst_emit(d, in, NULL);
		if (d->runner->start(d, spec, in, &e) < 0) {
			sb_addf(err, "cannot start instance '%s': %s", in->id, e.buf);
			sb_release(&e);
			in->state = DP_STOPPED;
			dp_inst_emit(d, in, "failed to start");
			return -1;
		}
		dp_inst_emit(d, in, NULL);
	}
	sb_release(&e);
	struct dp_inst **wait = NULL;
	size_t n = 0, a = 0;
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i]->revision == revision && d->inst[i]->state == DP_STARTING) {
			ALLOC_GROW(wait, n + 1, a);
			wait[n++] = d->inst[i];
		}
	int rc = 0;
	if (n && dp_wait_ready(d, spec, wait, n, min_ready_ns, err) < 0) {
		rc = -2;
	}
	for (size_t i = 0; i < n; i++)
		if (wait[i]->state == DP_READY)
			dp_inst_emit(d, wait[i], NULL);
	free(wait);
	return rc;
}

/* Give every instance in the table its routing: those in `serve` get
 * weight w_to (revision to) or w_other; serving ones not kept go
 * draining. Records first, then one apply, then drains settle into
 * standby (ready, no traffic). */
static int route(struct dp_deploy *d, int to, bool serve_to, bool serve_other, int w_to,
		 int w_other, struct strbuf *err)
{
	bool changed = false;
	bool *had_slot = xcalloc(d->ninst ? d->ninst : 1, sizeof(*had_slot));
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		had_slot[i] = in->slot != NULL;
		if (in->state != DP_READY && in->state != DP_SERVING)
			continue;
		bool mine = in->revision == to;
		bool serve = mine ? serve_to : serve_other;
		int w = mine ? w_to : w_other;
		if (serve && w > 0) {
			if (in->state != DP_SERVING || in->weight != w) {
				set_state(d, in, DP_SERVING, w, NULL);
				changed = true;
			}
		} else if (in->state == DP_SERVING) {
			set_state(d, in, DP_DRAINING, 0, NULL);
			changed = true;
		}
	}
	int rc = 0;
	struct strbuf e = SB_INIT;
	if (changed && d->router->apply(d, &e) < 0) {
		sb_addf(err, "cannot change traffic through %s: %s", d->router->name, e.buf);
		rc = -1;
	}
	sb_release(&e);
	for (size_t i = 0; changed && rc == 0 && i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state == DP_SERVING && in->slot && !had_slot[i])
			dp_inst_emit(d, in, NULL); /* the slot the router chose */
	}
	for (size_t i = 0; changed && rc == 0 && i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state == DP_DRAINING) {
			drain_wait(d, in);
			set_state(d, in, DP_READY, 0, "standby: drained, still running");
		}
	}
	free(had_slot);
	return rc;
}

int dp_route(struct dp_deploy *d, int to, int pct, struct strbuf *err)
{
	int nto = (int)dp_count(d, to, true, DP_S(DP_READY) | DP_S(DP_SERVING));
	int nother = (int)dp_count(d, to, false, DP_S(DP_READY) | DP_S(DP_SERVING));
	int max = d->router->max_weight;
	int wto, wother;
	if (max <= 1) {
		/* no router: an instance serves when it runs */
		wto = wother = 1;
	} else {
		ro_split_weights(pct, nto, nother, max, &wto, &wother);
	}
	return route(d, to, pct > 0, pct < 100, wto, wother, err);
}

/*
 * Equal weights are written in their smallest terms, 1 each, as
 * ro_split_weights writes a split: weights stay small from one step to
 * the next. That matters on HAProxy: its weighted round robin keeps each
 * server's place in the rotation in units of its weight, so after a
 * fall from 100 to 3 the old servers keep places far ahead and a server
 * added at that moment gets no request for hundreds of picks (seconds on
 * a quiet service, long enough for an analysis to see no data).
 */
int dp_route_all(struct dp_deploy *d, struct strbuf *err)
{
	int w = 1;
	return route(d, d->revision, true, true, w, w, err);
}

int dp_retire(struct dp_deploy *d, int keep, int n, struct strbuf *err)
{
	struct dp_inst **v = NULL;
	size_t nv = 0, a = 0;
	unsigned states = DP_S(DP_READY) | DP_S(DP_SERVING) | DP_S(DP_DRAINING) |
			  DP_S(DP_STARTING);
	for (size_t i = 0; i < d->ninst && (n < 0 || nv < (size_t)n); i++) {
		struct dp_inst *in = d->inst[i];
		if (in->revision != keep && (states & DP_S(in->state))) {
			ALLOC_GROW(v, nv + 1, a);
			v[nv++] = in;
		}
	}
	bool any_serving = false;
	for (size_t i = 0; i < nv; i++)
		if (v[i]->state == DP_SERVING) {
			set_state(d, v[i], DP_DRAINING, 0, NULL);
			any_serving = true;
		}
	int rc = 0;
	struct strbuf e = SB_INIT;
	if (any_serving && d->router->apply(d, &e) < 0) {
		sb_addf(err, "cannot change traffic through %s: %s", d->router->name, e.buf);
		rc = -1;
	}
	for (size_t i = 0; i < nv && rc == 0; i++) {
		if (v[i]->state == DP_DRAINING)
			drain_wait(d, v[i]);
		if (stop_one(d, v[i], NULL, err) < 0)
			rc = -1;
	}
	sb_release(&e);
	free(v);
	return rc;
}
