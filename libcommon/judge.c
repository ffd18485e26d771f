/*
 * judge.c: service states from instance results, dependencies first,
 * and rise/fall hysteresis (see judge.h for the rules).
 *
 * Root causes are kept as service indexes sorted by their position in
 * the dependency order, so "the first root cause" is the same service
 * however the dependency lists happen to be written.
 */
#include "common.h"

#include "judge.h"

static const char *const state_names[JUDGE_NSTATES] = {
	"healthy", "degraded", "unhealthy", "impacted", "unknown",
};

const char *judge_state_name(enum judge_state s)
{
	return (unsigned)s < JUDGE_NSTATES ? state_names[s] : "unknown";
}

const char *judge_inst_name(enum judge_inst s)
{
	switch (s) {
	case JUDGE_INST_HEALTHY:
		return "healthy";
	case JUDGE_INST_WARNING:
		return "warning";
	case JUDGE_INST_FAILING:
		break;
	}
	return "failing";
}

enum judge_inst judge_inst_from_check(enum check_status s)
{
	if (s == CHECK_OK)
		return JUDGE_INST_HEALTHY;
	if (s == CHECK_WARNING)
		return JUDGE_INST_WARNING;
	return JUDGE_INST_FAILING;
}

void judge_verdict_init(struct judge_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->state = JUDGE_UNKNOWN;
	sb_init(&v->reason, 0);
}

void judge_verdict_release(struct judge_verdict *v)
{
	sb_release(&v->reason);
	free(v->root_causes);
	judge_verdict_init(v);
}

static const char *plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The service's state from its own instances alone. */
static void own_state(const struct judge_service *s, struct judge_verdict *v)
{
	int n = (int)s->ninstances, healthy = 0;
	const struct judge_instance *fail = NULL, *warning = NULL;
	for (size_t i = 0; i < s->ninstances; i++) {
		const struct judge_instance *in = &s->instances[i];
		if (in->state == JUDGE_INST_FAILING) {
			if (!fail || ((!fail->reason || !*fail->reason) && in->reason && *in->reason))
				fail = in;
			continue;
		}
		healthy++;
		if (in->state == JUDGE_INST_WARNING && !warning)
			warning = in;
	}
	v->instances = n;
	v->healthy = healthy;
	v->quorum = s->quorum > 0 ? s->quorum : n;
	if (n == 0) {
		v->state = JUDGE_UNKNOWN;
		sb_addstr(&v->reason, "no instances");
	} else if (healthy == 0) {
		v->state = JUDGE_UNHEALTHY;
		sb_addf(&v->reason, "0 of %d %s healthy", n, plural(n, "instance", "instances"));
		if (fail && fail->reason && *fail->reason)
			sb_addf(&v->reason, "; %s: %s", fail->id ? fail->id : "?", fail->reason);
	} else if (healthy < v->quorum) {
		v->state = JUDGE_DEGRADED;
		sb_addf(&v->reason, "%d of %d %s healthy, quorum %d", healthy, n,
			plural(n, "instance", "instances"), v->quorum);
	} else if (warning) {
		v->state = JUDGE_DEGRADED;
		if (warning->reason && *warning->reason)
			sb_addstr(&v->reason, warning->reason);
		else
			sb_addf(&v->reason, "instance %s warns", warning->id ? warning->id : "?");
	} else {
		v->state = JUDGE_HEALTHY;
	}
}

/* Sort idx[0..n) by position in the order, dropping duplicates. */
static size_t sort_unique(size_t *idx, size_t n, const size_t *pos)
{
	for (size_t i = 1; i < n; i++) {
		size_t x = idx[i], j = i;
		while (j > 0 && pos[idx[j - 1]] > pos[x]) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = x;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || idx[m - 1] != idx[i])
			idx[m++] = idx[i];
	return m;
}

static void judge_one(const struct judge_service *svc, size_t i, const size_t *pos,
		      struct judge_verdict *out)
{
	const struct judge_service *s = &svc[i];
	struct judge_verdict *v = &out[i];
	judge_verdict_release(v);
	own_state(s, v);

	size_t nfailing = 0, ndegraded = 0, ncauses = 0;
	size_t *failing = xcalloc(s->ndeps + 1, sizeof(*failing));
	size_t *degraded = xcalloc(s->ndeps + 1, sizeof(*degraded));
	for (size_t k = 0; k < s->ndeps; k++) {
		size_t d = s->deps[k];
		if (out[d].state == JUDGE_UNHEALTHY || out[d].state == JUDGE_IMPACTED) {
			failing[nfailing++] = d;
			ncauses += out[d].state == JUDGE_UNHEALTHY ? 1 : out[d].nroot_causes;
		} else if (out[d].state == JUDGE_DEGRADED) {
			degraded[ndegraded++] = d;
		}
	}
	nfailing = sort_unique(failing, nfailing, pos);
	ndegraded = sort_unique(degraded, ndegraded, pos);

	if (nfailing) {
		size_t *causes = xcalloc(ncauses + 1, sizeof(*causes));
		size_t nc = 0;
		struct strbuf reason = SB_INIT;
		sb_addstr(&reason, "depends on ");
		for (size_t k = 0; k < nfailing; k++) {
			const struct judge_verdict *dv = &out[failing[k]];
			if (dv->state == JUDGE_UNHEALTHY) {
				causes[nc++] = failing[k];
			} else {
				memcpy(causes + nc, dv->root_causes,
				       dv->nroot_causes * sizeof(*causes));
				nc += dv->nroot_causes;
			}
			sb_addf(&reason, "%s%s (%s)", k ? ", " : "", svc[failing[k]].name,
				judge_state_name(dv->state));
		}
		if (v->state != JUDGE_HEALTHY && v->state != JUDGE_UNKNOWN && v->reason.len)
			sb_addf(&reason, "; %s", v->reason.buf);
		sb_release(&v->reason);
		v->reason = reason;
		v->state = JUDGE_IMPACTED;
		v->root_causes = causes;
		v->nroot_causes = sort_unique(causes, nc, pos);
	} else if (ndegraded && v->state == JUDGE_HEALTHY) {
		v->state = JUDGE_DEGRADED;
		sb_addstr(&v->reason, ndegraded == 1 ? "dependency " : "dependencies ");
		for (size_t k = 0; k < ndegraded; k++)
			sb_addf(&v->reason, "%s%s", k ? ", " : "", svc[degraded[k]].name);
		sb_addstr(&v->reason, " degraded");
	}
	free(failing);
	free(degraded);
}

void judge_services(const struct judge_service *svc, size_t n, const size_t *order,
		    struct judge_verdict *out)
{
	size_t *pos = xcalloc(n + 1, sizeof(*pos));
	for (size_t k = 0; k < n; k++)
		pos[order[k]] = k;
	for (size_t k = 0; k < n; k++)
		judge_one(svc, order[k], pos, out);
	free(pos);
}

void judge_hyst_init(struct judge_hyst *h)
{
	memset(h, 0, sizeof(*h));
	h->state = JUDGE_INST_HEALTHY;
}

enum judge_hyst_change judge_hyst_feed(struct judge_hyst *h, bool ok, int rise, int fall)
{
	if (rise < 1)
		rise = 1;
	if (fall < 1)
		fall = 1;
	if (!h->set) {
		h->set = true;
		h->state = ok ? JUDGE_INST_HEALTHY : JUDGE_INST_FAILING;
		h->last_ok = ok;
		h->streak = 1;
		return JUDGE_HYST_FIRST;
	}
	if (h->streak > 0 && h->last_ok == ok) {
		if (h->streak < INT_MAX)
			h->streak++;
	} else {
		h->last_ok = ok;
		h->streak = 1;
	}
	if (ok && h->state == JUDGE_INST_FAILING && h->streak >= rise) {
		h->state = JUDGE_INST_HEALTHY;
		return JUDGE_HYST_CHANGED;
	}
	if (!ok && h->state != JUDGE_INST_FAILING && h->streak >= fall) {
		h->state = JUDGE_INST_FAILING;
		return JUDGE_HYST_CHANGED;
	}
	return JUDGE_HYST_SAME;
}

bool judge_hyst_settling(const struct judge_hyst *h, int rise, int fall)
{
	if (!h->set)
		return false;
	if (h->state == JUDGE_INST_FAILING)
		return h->last_ok && h->streak < (rise < 1 ? 1 : rise);
	return !h->last_ok && h->streak < (fall < 1 ? 1 : fall);
}
