/*
 * noise.h: telling real differences from noise, the Diffy way, and the
 * endpoint a request belongs to.
 *
 * A field that differs between a recorded answer and the new service's
 * may differ only because it always does (a timestamp, a generated id).
 * To learn which, every request also goes to a second instance of the
 * legacy service: per endpoint and field pointer, "raw" counts the
 * exchanges where recorded and new differ at that pointer, "noise" the
 * exchanges where recorded and second legacy differ there. The rule
 * (noise_reportable) reports a field only when
 *
 *     raw > noise
 *     and (raw - noise) / (raw + noise) > min_relative   (default 20 %)
 *     and (raw - noise) / total         > min_share      (default 0.03 %)
 *
 * with total the exchanges of the endpoint that were compared. Since the
 * verdict needs every count, a struct noise keeps, per endpoint, one
 * counter pair per field and, per distinct set of differing fields (a
 * "signature"), the number of exchanges that had it and the first such
 * exchange as an example. Memory is bounded by endpoints x fields x
 * signatures (at most NOISE_MAX_SIGNATURES per endpoint, later new ones
 * are counted together as mismatched), never by the number of exchanges.
 *
 * Endpoint names (noise_endpoint) are "METHOD /path" with the query
 * dropped and every path segment that looks like an identifier replaced
 * by "{id}": all digits, a UUID (8-4-4-4-12 hex digits), or 16 or more
 * hex digits.
 */
#ifndef OFS_NOISE_H
#define OFS_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "hash.h"
#include "jsondiff.h"
#include "strbuf.h"

#define NOISE_MAX_SIGNATURES 4096
/* Recorded and replayed values kept in an example: this many bytes of
 * JSON text each, longer ones cut (and then kept as a string). */
#define NOISE_VALUE_MAX 1024

struct noise_rule {
	double min_relative; /* (raw-noise)/(raw+noise) must exceed it */
	double min_share;    /* (raw-noise)/total must exceed it */
};
#define NOISE_RULE_DEFAULT { 0.20, 0.0003 }

/* noise_reportable: the rule above. Pure. */
bool noise_reportable(const struct noise_rule *rule, uint64_t raw, uint64_t noise, uint64_t total);

/* noise_endpoint: append "METHOD /normalised/path" to out. path may
 * carry a query (dropped); NULL or "" counts as "/". */
void noise_endpoint(struct strbuf *out, const char *method, const char *path);

struct noise_field {
	char *pointer;
	uint64_t raw, noise;
	bool reported;  /* set by noise_decide */
};

/* One differing field of an example exchange. a and b are JSON texts
 * (NULL: absent on that side). */
struct noise_diff {
	size_t field;  /* index into the endpoint's fields */
	enum jd_kind kind;
	char *a, *b;
};

struct noise_sig {
	uint64_t count;        /* exchanges with exactly these fields differing */
	size_t *fields;        /* sorted field indices */
	size_t nfields;
	char *id, *method, *path; /* the first such exchange */
	struct noise_diff *diffs;
	size_t ndiffs;
	bool overflow;         /* the catch-all for signatures past the cap */
};

struct noise_ep {
	char *name;
	uint64_t total;        /* exchanges observed */
	struct ht *by_pointer; /* pointer -> field index + 1 (as uintptr_t) */
	struct noise_field *fields;
	size_t nfields, afields;
	struct ht *by_sig;     /* field index bytes -> struct noise_sig * */
	struct noise_sig **sigs;
	size_t nsigs, asigs;
	/* Filled by noise_decide: */
	uint64_t matched, mismatched;
};

struct noise {
	struct ht *by_name;    /* endpoint name -> struct noise_ep * */
	struct noise_ep **eps;
	size_t neps, aeps;
	bool keep_examples;
};

/* noise_new: an empty table; keep_examples: keep one example exchange
 * per signature (with its values). Free with noise_free. */
struct noise *noise_new(bool keep_examples);
void noise_free(struct noise *n);

/*
 * One exchange being observed: noise_begin, then noise_raw for each
 * difference between recorded and new and noise_noise for each between
 * recorded and second legacy (repeats of a pointer count once), then
 * noise_end, which adds it to the counters. The strings are copied.
 */
struct noise_obs {
	struct noise *n;
	struct noise_ep *ep;
	const char *id, *method, *path;
	struct noise_diff *diffs;
	size_t ndiffs, adiffs;
	size_t *noisy;
	size_t nnoisy, anoisy;
};
void noise_begin(struct noise_obs *o, struct noise *n, const char *endpoint, const char *id,
		 const char *method, const char *path);
void noise_raw(struct noise_obs *o, const char *pointer, enum jd_kind kind, const cJSON *a,
	       const cJSON *b);
void noise_noise(struct noise_obs *o, const char *pointer);
void noise_end(struct noise_obs *o);

/*
 * noise_decide: apply rule to every field (setting reported) and count
 * each endpoint's matched exchanges (no reported field differed) and
 * mismatched ones. May be called again with another rule.
 */
void noise_decide(struct noise *n, const struct noise_rule *rule);

/* noise_sig_reported: whether any field of sig is reported (after
 * noise_decide); the overflow signature counts as reported. */
bool noise_sig_reported(const struct noise_ep *ep, const struct noise_sig *sig);

/* noise_value_text: a JSON text of v for examples, cut to
 * NOISE_VALUE_MAX bytes (a cut value becomes a JSON string of its text
 * start). Returns an allocated string, NULL for v NULL. */
char *noise_value_text(const cJSON *v);

#endif
