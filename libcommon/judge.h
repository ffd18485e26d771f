/*
 * judge.h: dependency-aware health judgement and rise/fall hysteresis.
 *
 * A check says how one instance answered; people need to know which
 * services are in trouble and why. The rules (ofs-health(1)) turn
 * instance results into one of five service states, processing services
 * dependencies first so that a service failing only because something
 * it depends on fails is called "impacted" and points at the root cause
 * instead of raising a second alarm:
 *
 *   own state: no instances: unknown; no healthy instance: unhealthy;
 *   fewer healthy than the quorum: degraded; any warning: degraded;
 *   else healthy. Then: any dependency unhealthy or impacted: impacted,
 *   whatever the own state, with root causes gathered from those
 *   dependencies; else a healthy service with a degraded dependency is
 *   degraded.
 *
 * Hysteresis (HAProxy's rise and fall) keeps one lost packet from
 * paging anyone: an instance becomes failing only after `fall`
 * consecutive failures and healthy again only after `rise` consecutive
 * successes. Everything here is pure computation on the caller's data:
 * no I/O, no clocks, so ofs-health and ofs-deploy share it and unit
 * tests can drive it with tables.
 */
#ifndef OFS_JUDGE_H
#define OFS_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "check.h"
#include "strbuf.h"

/* Service states, in the order records and metrics list them. */
enum judge_state {
	JUDGE_HEALTHY,
	JUDGE_DEGRADED,
	JUDGE_UNHEALTHY,
	JUDGE_IMPACTED,
	JUDGE_UNKNOWN,
};
#define JUDGE_NSTATES 5

/* judge_state_name: "healthy", "degraded", "unhealthy", "impacted",
 * "unknown" (static strings). */
const char *judge_state_name(enum judge_state s);

/* What one instance counts as for its service. */
enum judge_inst {
	JUDGE_INST_HEALTHY, /* passing */
	JUDGE_INST_WARNING, /* passing, but its service is degraded */
	JUDGE_INST_FAILING, /* not passing */
};

/* judge_inst_name: "healthy", "warning", "failing" (static strings). */
const char *judge_inst_name(enum judge_inst s);
/* judge_inst_from_check: ok is healthy, warning is warning, critical and
 * unknown are failing. */
enum judge_inst judge_inst_from_check(enum check_status s);

/* One instance as the judge sees it; the strings are only read. */
struct judge_instance {
	const char *id;
	enum judge_inst state;
	const char *reason; /* why it warns or fails (may be NULL or "") */
};

/* One service; deps are indexes into the array given to judge_services. */
struct judge_service {
	const char *name;
	const size_t *deps;
	size_t ndeps;
	const struct judge_instance *instances;
	size_t ninstances;
	int quorum; /* healthy instances needed; 0 or less means all */
};

/* The verdict on one service. Initialise with judge_verdict_init. */
struct judge_verdict {
	enum judge_state state;
	struct strbuf reason;  /* empty only when healthy */
	size_t *root_causes;   /* impacted: service indexes, dependency order */
	size_t nroot_causes;
	int instances;         /* instances judged */
	int healthy;           /* of them passing (warnings included) */
	int quorum;            /* the quorum applied */
};

void judge_verdict_init(struct judge_verdict *v);
/* judge_verdict_release: free the reason and root causes; v is left
 * initialised (empty) and may be reused. */
void judge_verdict_release(struct judge_verdict *v);

/*
 * judge_services: judge n services into out[0..n) (initialised verdicts;
 * what they held is replaced). order is a permutation of 0..n-1 with
 * every service after all of its dependencies (graph_reverse_topo gives
 * one); it also orders the root causes. Dependency indexes must be < n.
 * Reasons are human sentences: "1 of 2 instances healthy, quorum 2",
 * "depends on payments (unhealthy)", "dependency inventory degraded",
 * or a failing instance's own reason. Never fails.
 */
void judge_services(const struct judge_service *svc, size_t n, const size_t *order,
		    struct judge_verdict *out);

/*
 * Rise/fall hysteresis of one instance. state is JUDGE_INST_HEALTHY or
 * JUDGE_INST_FAILING once set (set is false before the first result);
 * streak counts the latest run of equal results (last_ok says which).
 */
struct judge_hyst {
	bool set;
	enum judge_inst state;
	bool last_ok;
	int streak;
};

/* What judge_hyst_feed did. */
enum judge_hyst_change {
	JUDGE_HYST_FIRST,   /* first result: the state was set directly */
	JUDGE_HYST_SAME,    /* state unchanged */
	JUDGE_HYST_CHANGED, /* the streak reached rise or fall: state flipped */
};

void judge_hyst_init(struct judge_hyst *h);
/*
 * judge_hyst_feed: add one result (ok: the check passed, warnings
 * included). The first result sets the state directly; afterwards a
 * healthy instance becomes failing after fall consecutive failures, a
 * failing one healthy after rise consecutive successes (values below 1
 * count as 1).
 */
enum judge_hyst_change judge_hyst_feed(struct judge_hyst *h, bool ok, int rise, int fall);
/*
 * judge_hyst_settling: true while the latest results disagree with the
 * state and have not yet reached rise or fall, i.e. the instance is
 * between states (ofs-health watch checks faster then).
 */
bool judge_hyst_settling(const struct judge_hyst *h, int rise, int fall);

#endif
