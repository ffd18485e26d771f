/*
 * send_out.c: what ofs-split send writes (send.h): one record per request
 * when its legs have ended, split.breaker records for the candidate's
 * circuit breaker, and the closing split.summary.
 *
 * Shadow mode judges each request as GitHub's Scientist does: matched
 * (no difference), mismatched (a difference that is neither under an
 * --ignore prefix nor noise), ignored (differences, but only those),
 * skipped (the candidate was not called) or error (a side sent no
 * answer). Noise is learnt the Diffy way: with a secondary (a second
 * primary), a field where primary and secondary differ in the same
 * request is noise for that request; over the whole run, per endpoint
 * and field, raw (primary != candidate) and noise (primary != secondary)
 * counts go through noise.h's rule, whose verdict the summary gives and
 * the exit status follows. The counters are bounded by endpoints times
 * fields, never by the number of requests.
 */
#include "common.h"

#include <math.h>

#include "hash.h"
#include "record.h"
#include "send.h"
#include "sketch.h"

/* Latency of the compared requests of one endpoint, per side. */
struct ep_lat {
	struct sketch *lat[2];
};

const char *send_side_name(int side)
{
	static const char *const names[SIDES] = { "primary", "candidate", "secondary" };
	return side >= 0 && side < SIDES ? names[side] : "?";
}

static struct sketch *new_sketch(void)
{
	struct sketch *s = sketch_new(0);
	if (!s)
		die("cannot create a latency sketch");
	return s;
}

void sout_init(struct send_out *o, struct out *out, bool split, bool has_secondary,
	       const struct send_cmp *cmp, const struct noise_rule *rule)
{
	memset(o, 0, sizeof(*o));
	o->out = out;
	o->split = split;
	o->has_secondary = has_secondary;
	o->cmp = cmp;
	o->rule = *rule;
	sb_init(&o->sb, 512);
	jw_init(&o->w, &o->sb);
	o->noise = noise_new(false);
	o->eps = ht_new();
	o->lat[0] = new_sketch();
	o->lat[1] = new_sketch();
}

static void free_ep(void *p)
{
	struct ep_lat *e = p;
	sketch_free(e->lat[0]);
	sketch_free(e->lat[1]);
	free(e);
}

void sout_release(struct send_out *o)
{
	sb_release(&o->sb);
	noise_free(o->noise);
	ht_free(o->eps, free_ep);
	sketch_free(o->lat[0]);
	sketch_free(o->lat[1]);
}

/* Milliseconds to the microsecond. */
static double ms3(double ms)
{
	return floor(ms * 1000.0 + 0.5) / 1000.0;
}

static bool answered(const struct leg *l)
{
	return l->st == LEG_DONE && l->resp.curl_code == 0 && l->resp.status > 0;
}

/* {"status":200,"latency_ms":1.23} or, when sent and failed, status 0
 * and "error"; null when not sent. */
static void write_leg(struct jw *w, const char *key, const struct leg *l)
{
	jw_key(w, key);
	if (l->st != LEG_DONE) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	jw_kv_int(w, "status", answered(l) ? l->resp.status : 0);
	jw_kv_double(w, "latency_ms", ms3(l->resp.total_ms));
	if (!answered(l))
		jw_kv_str(w, "error", l->resp.error[0] ? l->resp.error : "no answer");
	jw_obj_end(w);
}

static void head(struct send_out *o, const char *type, const struct sreq *x)
{
	rec_begin(&o->w, type);
	jw_kv_str(&o->w, "id", x->id);
	jw_kv_str(&o->w, "method", x->rq.method);
	jw_kv_str(&o->w, "path", x->rq.path);
	jw_kv_str(&o->w, "endpoint", x->endpoint);
}

/* ---- split mode ----------------------------------------------------------- */

static void split_request(struct send_out *o, struct sreq *x)
{
	int side = x->leg[SIDE_CANDIDATE].st == LEG_DONE ? SIDE_CANDIDATE : SIDE_PRIMARY;
	const struct leg *l = &x->leg[side];
	bool ok = answered(l);
	o->sent[side]++;
	if (side == SIDE_PRIMARY)
		o->primary_sent++;
	if (!ok) {
		o->failed[side]++;
		if (side == SIDE_PRIMARY) {
			o->primary_errors++;
			snprintf(o->last_primary_error, sizeof(o->last_primary_error), "%s",
				 l->resp.error);
		}
	} else {
		sketch_add(o->lat[side], l->resp.total_ms);
	}
	if (x->fallback)
		o->fallbacks++;
	struct jw *w = &o->w;
	head(o, "split.sent", x);
	jw_key(w, "key");
	if (x->key)
		jw_strn(w, x->key, x->keylen);
	else
		jw_null(w);
	jw_kv_str(w, "variant", send_side_name(side));
	jw_kv_int(w, "status", ok ? l->resp.status : 0);
	jw_kv_double(w, "latency_ms", ms3(l->resp.total_ms));
	jw_kv_bool(w, "fallback", x->fallback);
	if (x->fallback)
		jw_kv_str(w, "reason", x->reason);
	if (!ok)
		jw_kv_str(w, "error", l->resp.error[0] ? l->resp.error : "no answer");
	rec_end(w, o->out);
}

/* ---- shadow mode ---------------------------------------------------------- */

struct field {
	char *pointer;
	enum jd_kind kind;
	char *a, *b; /* JSON texts, NULL when absent on that side */
	bool noise;
};

struct judge {
	struct noise_obs obs;
	struct field *fields;
	size_t nfields, afields;
	char **noisy;
	size_t nnoisy, anoisy;
};

static void on_field(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		     void *user)
{
	struct judge *j = user;
	noise_raw(&j->obs, pointer, kind, NULL, NULL);
	ALLOC_GROW(j->fields, j->nfields + 1, j->afields);
	struct field *f = &j->fields[j->nfields++];
	f->pointer = xstrdup(pointer);
	f->kind = kind;
	f->a = noise_value_text(a);
	f->b = noise_value_text(b);
	f->noise = false;
}

static void on_noise(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		     void *user)
{
	(void)kind;
	(void)a;
	(void)b;
	struct judge *j = user;
	noise_noise(&j->obs, pointer);
	ALLOC_GROW(j->noisy, j->nnoisy + 1, j->anoisy);
	j->noisy[j->nnoisy++] = xstrdup(pointer);
}

static struct ep_lat *ep_lat_get(struct send_out *o, const char *endpoint)
{
	struct ep_lat *e = ht_get(o->eps, endpoint);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->lat[0] = new_sketch();
		e->lat[1] = new_sketch();
		ht_put(o->eps, endpoint, e);
	}
	return e;
}

static void shadow_request(struct send_out *o, struct sreq *x)
{
	const struct leg *p = &x->leg[SIDE_PRIMARY], *c = &x->leg[SIDE_CANDIDATE];
	const struct leg *s = &x->leg[SIDE_SECONDARY];
	struct jw *w = &o->w;
	o->primary_sent++;
	const char *result;
	struct judge j;
	memset(&j, 0, sizeof(j));
	bool compared = false;
	if (!answered(p)) {
		o->primary_errors++;
		snprintf(o->last_primary_error, sizeof(o->last_primary_error), "%s", p->resp.error);
		result = "error";
		o->errors++;
	} else if (c->st != LEG_DONE) {
		result = "skipped";
		o->skipped++;
	} else if (!answered(c)) {
		result = "error";
		o->errors++;
	} else {
		compared = true;
		o->compared++;
		struct send_body bp = { &p->resp, false, NULL }, bc = { &c->resp, false, NULL };
		struct send_body bs = { &s->resp, false, NULL };
		noise_begin(&j.obs, o->noise, x->endpoint, x->id, x->rq.method, x->rq.path);
		size_t ignored = send_compare(o->cmp, &bp, &bc, on_field, &j);
		if (answered(s))
			send_compare(o->cmp, &bp, &bs, on_noise, &j);
		noise_end(&j.obs);
		send_body_free(&bp);
		send_body_free(&bc);
		send_body_free(&bs);
		bool real = false;
		for (size_t i = 0; i < j.nfields; i++) {
			struct field *f = &j.fields[i];
			f->noise = j.nnoisy &&
				   jd_ignored(f->pointer, (const char *const *)j.noisy, j.nnoisy);
			real |= !f->noise;
		}
		if (real) {
			result = "mismatched";
			o->mismatched++;
		} else if (j.nfields || ignored) {
			result = "ignored";
			o->ignored++;
		} else {
			result = "matched";
			o->matched++;
		}
		struct ep_lat *e = ep_lat_get(o, x->endpoint);
		sketch_add(e->lat[0], p->resp.total_ms);
		sketch_add(e->lat[1], c->resp.total_ms);
	}
	head(o, "split.compare", x);
	jw_kv_str(w, "result", result);
	write_leg(w, "primary", p);
	write_leg(w, "candidate", c);
	if (o->has_secondary)
		write_leg(w, "secondary", s);
	jw_key(w, "fields");
	jw_arr_begin(w);
	for (size_t i = 0; i < j.nfields; i++) {
		const struct field *f = &j.fields[i];
		jw_obj_begin(w);
		jw_kv_str(w, "pointer", f->pointer);
		jw_kv_str(w, "kind", jd_kind_name(f->kind));
		if (f->a) {
			jw_key(w, "primary");
			jw_raw(w, f->a, strlen(f->a));
		}
		if (f->b) {
			jw_key(w, "candidate");
			jw_raw(w, f->b, strlen(f->b));
		}
		jw_kv_bool(w, "noise", f->noise);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (!compared && !strcmp(result, "skipped"))
		jw_kv_str(w, "reason", x->reason ? x->reason : "not sent");
	rec_end(w, o->out);
	for (size_t i = 0; i < j.nfields; i++) {
		free(j.fields[i].pointer);
		free(j.fields[i].a);
		free(j.fields[i].b);
	}
	free(j.fields);
	for (size_t i = 0; i < j.nnoisy; i++)
		free(j.noisy[i]);
	free(j.noisy);
}

void sout_request(struct send_out *o, struct sreq *x)
{
	o->requests++;
	if (o->split)
		split_request(o, x);
	else
		shadow_request(o, x);
}

void sout_breaker(struct send_out *o, const char *from, const char *to, const char *reason)
{
	rec_begin(&o->w, "split.breaker");
	jw_kv_str(&o->w, "from", from);
	jw_kv_str(&o->w, "to", to);
	jw_kv_str(&o->w, "reason", reason);
	rec_end(&o->w, o->out);
}

/* ---- the summary ---------------------------------------------------------- */

static void write_quantiles(struct jw *w, const char *key, const struct sketch *s)
{
	jw_key(w, key);
	if (!sketch_count(s)) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	jw_kv_double(w, "p50", ms3(sketch_quantile(s, 0.50)));
	jw_kv_double(w, "p99", ms3(sketch_quantile(s, 0.99)));
	jw_obj_end(w);
}

static uint64_t shadow_summary(struct send_out *o)
{
	struct jw *w = &o->w;
	struct noise_rule all = { 0, 0 };
	noise_decide(o->noise, o->has_secondary ? &o->rule : &all);
	uint64_t reported = 0;
	for (size_t e = 0; e < o->noise->neps; e++) {
		const struct noise_ep *ep = o->noise->eps[e];
		for (size_t i = 0; i < ep->nfields; i++)
			reported += ep->fields[i].reported;
	}
	rec_begin(w, "split.summary");
	jw_kv_str(w, "mode", "shadow");
	jw_kv_int(w, "requests", (int64_t)o->requests);
	jw_kv_int(w, "compared", (int64_t)o->compared);
	jw_kv_int(w, "matched", (int64_t)o->matched);
	jw_kv_int(w, "mismatched", (int64_t)o->mismatched);
	jw_kv_int(w, "ignored", (int64_t)o->ignored);
	jw_kv_int(w, "skipped", (int64_t)o->skipped);
	jw_kv_int(w, "errors", (int64_t)o->errors);
	jw_kv_int(w, "primary_errors", (int64_t)o->primary_errors);
	jw_kv_int(w, "reported_fields", (int64_t)reported);
	jw_key(w, "endpoints");
	jw_obj_begin(w);
	for (size_t e = 0; e < o->noise->neps; e++) {
		const struct noise_ep *ep = o->noise->eps[e];
		const struct ep_lat *lat = ht_get(o->eps, ep->name);
		jw_key(w, ep->name);
		jw_obj_begin(w);
		jw_kv_int(w, "compared", (int64_t)ep->total);
		jw_kv_int(w, "mismatched", (int64_t)ep->mismatched);
		jw_key(w, "latency_ms");
		jw_obj_begin(w);
		write_quantiles(w, "primary", lat->lat[0]);
		write_quantiles(w, "candidate", lat->lat[1]);
		jw_obj_end(w);
		jw_key(w, "fields");
		jw_obj_begin(w);
		for (size_t i = 0; i < ep->nfields; i++) {
			const struct noise_field *f = &ep->fields[i];
			if (!f->raw && !f->noise)
				continue;
			jw_key(w, f->pointer);
			jw_obj_begin(w);
			jw_kv_int(w, "raw", (int64_t)f->raw);
			jw_kv_int(w, "noise", (int64_t)f->noise);
			jw_kv_str(w, "verdict", f->reported ? "reported" : "noise");
			jw_obj_end(w);
		}
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	rec_end(w, o->out);
	return reported;
}

static uint64_t split_summary(struct send_out *o)
{
	struct jw *w = &o->w;
	rec_begin(w, "split.summary");
	jw_kv_str(w, "mode", "split");
	jw_kv_int(w, "requests", (int64_t)o->requests);
	for (int side = 0; side < 2; side++) {
		jw_key(w, send_side_name(side));
		jw_obj_begin(w);
		jw_kv_int(w, "sent", (int64_t)o->sent[side]);
		jw_kv_int(w, "errors", (int64_t)o->failed[side]);
		write_quantiles(w, "latency_ms", o->lat[side]);
		jw_obj_end(w);
	}
	jw_kv_int(w, "fallbacks", (int64_t)o->fallbacks);
	jw_kv_int(w, "primary_errors", (int64_t)o->primary_errors);
	rec_end(w, o->out);
	return o->failed[0] + o->failed[1];
}

uint64_t sout_summary(struct send_out *o)
{
	return o->split ? split_summary(o) : shadow_summary(o);
}
