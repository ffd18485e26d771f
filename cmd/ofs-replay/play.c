/*
 * play.c: ofs-replay play: replay recorded requests against a target
 * and compare its answers with the recorded ones.
 *
 * Exchanges are read one at a time and sent on one libcurl multi client
 * (http.h): as fast as --concurrency allows, at a fixed --rate, or at
 * the recorded pace scaled by --speed. At most --concurrency exchanges
 * are in flight, so memory is bounded by that window, not by the input.
 * Each answer is compared (play_compare.c) as soon as it is complete.
 *
 * Without --secondary every difference is reported at once, one
 * replay.diff record per mismatching exchange. With --secondary each
 * request also goes to a second legacy instance, and a field is reported
 * only if it differs from the recording more often on the target than on
 * the secondary (noise.h): that verdict needs every count, so diffs are
 * written at the end, one per distinct set of differing fields of an
 * endpoint (with the number of exchanges that had it), from counters and
 * one example each. Either way a replay.summary record ends the output.
 */
#include "common.h"

#include <ctype.h>
#include <regex.h>
#include <time.h>

#include "alloc.h"
#include "cmds.h"
#include "err.h"
#include "jw.h"
#include "noise.h"
#include "out.h"
#include "play.h"
#include "record.h"
#include "reqrec.h"
#include "timefmt.h"
#include "units.h"

enum {
	PL_ALLOW_WRITES = 256,
	PL_COMPARE_HEADER,
	PL_CONCURRENCY,
	PL_HEADER,
	PL_IGNORE,
	PL_METHOD,
	PL_NOISE_RELATIVE,
	PL_NOISE_SHARE,
	PL_PATH,
	PL_RATE,
	PL_REWRITE,
	PL_SECONDARY,
	PL_SPEED,
	PL_STRICT,
	PL_TARGET,
	PL_TIMEOUT,
};

const struct opt play_opts[] = {
	{ PL_ALLOW_WRITES, 0, "allow-writes", NULL,
	  "replay POST, PUT, PATCH and DELETE too (default: skip them)", NULL, 0 },
	{ PL_COMPARE_HEADER, 0, "compare-header", "name",
	  "compare this response header too (repeatable)", NULL, 0 },
	{ PL_CONCURRENCY, 0, "concurrency", "n", "exchanges in flight at most (default 16)", NULL,
	  0 },
	{ PL_HEADER, 0, "header", "field",
	  "send the header field 'Name: value' instead of the recorded one "
	  "('Name:' removes it; repeatable)",
	  NULL, 0 },
	{ PL_IGNORE, 0, "ignore", "pointer",
	  "do not compare this field or anything below it, e.g. /body/served_at (repeatable)",
	  NULL, 0 },
	{ PL_METHOD, 0, "method", "list", "replay only these methods (GET,HEAD; repeatable)",
	  NULL, 0 },
	{ PL_NOISE_RELATIVE, 0, "noise-relative", "percent",
	  "with --secondary: (raw-noise)/(raw+noise) must exceed this (default 20%)", NULL, 0 },
	{ PL_NOISE_SHARE, 0, "noise-share", "percent",
	  "with --secondary: (raw-noise)/exchanges must exceed this (default 0.03%)", NULL, 0 },
	{ 'o', 'o', "output", "file", "write the records to file (.gz: gzip)", "@file", 0 },
	{ PL_PATH, 0, "path", "regex",
	  "replay only requests whose path (with query) matches this POSIX ERE", NULL, 0 },
	{ PL_RATE, 0, "rate", "n", "send n requests per second", NULL, 0 },
	{ PL_REWRITE, 0, "rewrite", "regex=replacement",
	  "rewrite the path: first match replaced, \\1..\\9 groups (repeatable, in order)", NULL,
	  0 },
	{ PL_SECONDARY, 0, "secondary", "url",
	  "a second legacy instance: calibrate noise against it", NULL, 0 },
	{ PL_SPEED, 0, "speed", "factor",
	  "keep the recorded pace, divided by factor (200% or 2: twice as fast)", NULL, 0 },
	{ PL_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ PL_TARGET, 0, "target", "url", "the base URL to replay against", NULL, OPT_REQUIRED },
	{ PL_TIMEOUT, 0, "timeout", "duration", "time limit per request (default 10s)", NULL, 0 },
	{ 0 },
};

struct rewrite {
	regex_t re;
	const char *repl;
};

struct play {
	/* options */
	const char *target, *secondary;
	bool allow_writes, strict;
	int concurrency;
	double speed, rate;
	long timeout_ms;
	char **methods;
	size_t nmethods, amethods;
	bool has_path;
	regex_t path_re;
	struct rewrite *rewrites;
	size_t nrewrites, arewrites;
	const char **set_headers; /* "Name: value" */
	size_t nset, aset;
	const char **ignore;
	size_t nignore, aignore;
	struct play_cmp cmp;
	size_t acmp_headers;
	struct noise_rule rule;
	/* state */
	struct out *out;
	struct http_client *client;
	struct noise *noise;
	int inflight;
	uint64_t total, sent, skipped, filtered, unverified, errors, noise_filtered;
	uint64_t target_errors;
	char last_error[384];
	/* The record being written. */
	struct strbuf sb;
	struct jw w;
	struct strbuf fields;
	struct jw fw;
	size_t nfields;
};

/* ---- option helpers --------------------------------------------------- */

static double parse_factor(struct opt_parser *p, const char *what, bool percent_only)
{
	struct strbuf err = SB_INIT;
	char *s = xstrdup(p->arg);
	size_t n = strlen(s);
	double scale = 1, v;
	if (n && s[n - 1] == '%') {
		s[n - 1] = '\0';
		scale = 100;
	} else if (!percent_only && n && s[n - 1] == 'x') {
		s[n - 1] = '\0';
	}
	bool bad = num_parse_double(s, &v, &err) < 0;
	free(s);
	if (bad) {
		char why[256];
		snprintf(why, sizeof why, "%s", err.buf);
		sb_release(&err);
		opt_usage_error(p, "%s: %s", what, why);
	}
	sb_release(&err);
	return v / scale;
}

static void add_methods(struct play *pl, const char *list)
{
	const char *s = list;
	while (*s) {
		size_t n = strcspn(s, ",");
		if (n) {
			char *m = xstrndup(s, n);
			for (char *c = m; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			ALLOC_GROW(pl->methods, pl->nmethods + 1, pl->amethods);
			pl->methods[pl->nmethods++] = m;
		}
		s += n;
		if (*s)
			s++;
	}
}

static void compile(struct opt_parser *p, regex_t *re, const char *src, const char *what)
{
	int rc = regcomp(re, src, REG_EXTENDED);
	if (rc) {
		char msg[256];
		regerror(rc, re, msg, sizeof(msg));
		opt_usage_error(p, "%s: invalid regular expression '%s': %s", what, src, msg);
	}
}

/* ---- sending ---------------------------------------------------------- */

/* Whether a --header sets name (so the recorded one is not sent). */
static bool overridden(const struct play *pl, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < pl->nset; i++)
		if (!strncasecmp(pl->set_headers[i], name, n) && pl->set_headers[i][n] == ':')
			return true;
	return false;
}

static char *rewrite_path(const struct play *pl, const char *path)
{
	char *cur = xstrdup(path);
	for (size_t i = 0; i < pl->nrewrites; i++) {
		regmatch_t m[10];
		if (regexec(&pl->rewrites[i].re, cur, 10, m, 0))
			continue;
		struct strbuf sb = SB_INIT;
		sb_add(&sb, cur, (size_t)m[0].rm_so);
		for (const char *r = pl->rewrites[i].repl; *r; r++) {
			if (r[0] == '\\' && isdigit((unsigned char)r[1])) {
				int g = r[1] - '0';
				if (m[g].rm_so >= 0)
					sb_add(&sb, cur + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
				r++;
			} else if (r[0] == '\\' && r[1] == '\\') {
				sb_addch(&sb, '\\');
				r++;
			} else {
				sb_addch(&sb, *r);
			}
		}
		sb_addstr(&sb, cur + m[0].rm_eo);
		free(cur);
		cur = sb_detach(&sb, NULL);
	}
	return cur;
}

static void send_to(struct play *pl, struct play_xch *x, int side, const char *base)
{
	struct strbuf url = SB_INIT, err = SB_INIT;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	sb_add(&url, base, bl);
	sb_addstr(&url, x->sent_path);
	size_t nh = 0, ah = 0;
	char **hdrs = NULL;
	const cJSON *h;
	cJSON_ArrayForEach(h, x->req_headers) {
		if (!h->string || reqrec_hop_by_hop(h->string) || overridden(pl, h->string))
			continue;
		ALLOC_GROW(hdrs, nh + 1, ah);
		hdrs[nh++] = xasprintf("%s: %s", h->string, h->valuestring);
	}
	for (size_t i = 0; i < pl->nset; i++) {
		ALLOC_GROW(hdrs, nh + 1, ah);
		hdrs[nh++] = xstrdup(pl->set_headers[i]);
	}
	bool with_body = x->req_body.len || !strcmp(x->method, "POST") ||
			 !strcmp(x->method, "PUT") || !strcmp(x->method, "PATCH");
	ALLOC_GROW(hdrs, nh + 3, ah);
	hdrs[nh++] = xstrdup("Expect:");
	/* libcurl would label a body it sends as a form: send the recorded
	 * request's content type or none. */
	if (with_body && !overridden(pl, "content-type") &&
	    !cJSON_GetObjectItemCaseSensitive(x->req_headers, "content-type"))
		hdrs[nh++] = xstrdup("Content-Type:");
	hdrs[nh] = NULL;
	struct http_request req = HTTP_REQUEST_INIT;
	req.method = x->method;
	req.url = url.buf;
	req.headers = (const char *const *)hdrs;
	if (with_body) {
		req.body = x->req_body.buf;
		req.body_len = x->req_body.len;
	}
	req.timeout_ms = pl->timeout_ms;
	req.connect_timeout_ms = pl->timeout_ms < HTTP_DEFAULT_CONNECT_TIMEOUT_MS
					 ? pl->timeout_ms
					 : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	x->slot[side].x = x;
	x->slot[side].side = side;
	req.user = &x->slot[side];
	http_response_init(&x->resp[side]);
	x->pending++;
	if (http_add(pl->client, &req, &err) < 0) {
		/* Invalid as a request (a header with a line break): an error. */
		x->pending--;
		x->resp[side].curl_code = -1;
		snprintf(x->resp[side].error, sizeof(x->resp[side].error), "%s", err.buf);
	}
	for (size_t i = 0; i < nh; i++)
		free(hdrs[i]);
	free(hdrs);
	sb_release(&url);
	sb_release(&err);
}

/* ---- judging ---------------------------------------------------------- */

static struct play *the_play; /* for the libcurl callback */

static void write_value(struct jw *w, const char *key, const cJSON *v)
{
	if (!v)
		return;
	jw_key(w, key);
	jw_cjson(w, v);
}

/* Without --secondary: every difference goes into the record at once. */
static void on_diff(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		    void *user)
{
	struct noise_obs *o = user;
	struct play *pl = the_play;
	noise_raw(o, pointer, kind, NULL, NULL);
	jw_obj_begin(&pl->fw);
	jw_kv_str(&pl->fw, "pointer", pointer);
	jw_kv_str(&pl->fw, "kind", jd_kind_name(kind));
	write_value(&pl->fw, "recorded", a);
	write_value(&pl->fw, "replayed", b);
	jw_obj_end(&pl->fw);
	pl->nfields++;
}

static void on_raw(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		   void *user)
{
	noise_raw(user, pointer, kind, a, b);
}

static void on_noise(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		     void *user)
{
	(void)kind;
	(void)a;
	(void)b;
	noise_noise(user, pointer);
}

static void diff_head(struct play *pl, const char *id, const char *method, const char *path,
		      const char *endpoint)
{
	rec_begin(&pl->w, "replay.diff");
	jw_kv_str(&pl->w, "id", id);
	jw_kv_str(&pl->w, "method", method);
	jw_kv_str(&pl->w, "path", path);
	jw_kv_str(&pl->w, "endpoint", endpoint);
}

static void write_error(struct play *pl, const struct play_xch *x, const char *url,
			const char *error)
{
	rec_begin(&pl->w, "replay.error");
	jw_kv_str(&pl->w, "id", x->id);
	jw_kv_str(&pl->w, "method", x->method);
	jw_kv_str(&pl->w, "path", x->path);
	jw_kv_str(&pl->w, "endpoint", x->endpoint);
	jw_kv_str(&pl->w, "target", url);
	jw_kv_str(&pl->w, "error", error);
	rec_end(&pl->w, pl->out);
}

static void finish(struct play *pl, struct play_xch *x)
{
	pl->inflight--;
	for (int side = 0; side < (pl->secondary ? 2 : 1); side++) {
		const struct http_response *r = &x->resp[side];
		if (r->curl_code) {
			pl->errors++;
			if (side == 0) {
				pl->target_errors++;
				snprintf(pl->last_error, sizeof(pl->last_error), "%s", r->error);
			}
			write_error(pl, x, side ? pl->secondary : pl->target, r->error);
			play_xch_free(x);
			return;
		}
	}
	if (!x->has_resp) {
		pl->unverified++;
		play_xch_free(x);
		return;
	}
	struct noise_obs o;
	noise_begin(&o, pl->noise, x->endpoint, x->id, x->method, x->path);
	if (!pl->secondary) {
		sb_reset(&pl->fields);
		jw_init(&pl->fw, &pl->fields);
		jw_arr_begin(&pl->fw);
		pl->nfields = 0;
		pl->noise_filtered += play_compare(&pl->cmp, x, &x->resp[0], on_diff, &o);
		jw_arr_end(&pl->fw);
		if (pl->nfields) {
			diff_head(pl, x->id, x->method, x->path, x->endpoint);
			jw_key(&pl->w, "fields");
			jw_raw(&pl->w, pl->fields.buf, pl->fields.len);
			rec_end(&pl->w, pl->out);
		}
	} else {
		pl->noise_filtered += play_compare(&pl->cmp, x, &x->resp[0], on_raw, &o);
		play_compare(&pl->cmp, x, &x->resp[1], on_noise, &o);
	}
	noise_end(&o);
	play_xch_free(x);
}

static void on_done(const struct http_request *req, struct http_response *resp, void *user)
{
	(void)user;
	struct play_slot *s = req->user;
	struct play_xch *x = s->x;
	x->resp[s->side] = *resp;
	http_response_init(resp);
	if (--x->pending == 0)
		finish(the_play, x);
}

/* ---- the end ---------------------------------------------------------- */

/* With --secondary: one diff per reported signature, from its example. */
static void write_noise_diffs(struct play *pl)
{
	struct noise *n = pl->noise;
	for (size_t e = 0; e < n->neps; e++) {
		struct noise_ep *ep = n->eps[e];
		for (size_t i = 0; i < ep->nsigs; i++) {
			struct noise_sig *s = ep->sigs[i];
			if (s->overflow || !s->ndiffs || !noise_sig_reported(ep, s))
				continue;
			diff_head(pl, s->id, s->method, s->path, ep->name);
			jw_kv_int(&pl->w, "exchanges", (int64_t)s->count);
			jw_key(&pl->w, "fields");
			jw_arr_begin(&pl->w);
			for (size_t j = 0; j < s->ndiffs; j++) {
				const struct noise_diff *d = &s->diffs[j];
				if (!ep->fields[d->field].reported)
					continue;
				jw_obj_begin(&pl->w);
				jw_kv_str(&pl->w, "pointer", ep->fields[d->field].pointer);
				jw_kv_str(&pl->w, "kind", jd_kind_name(d->kind));
				if (d->a) {
					jw_key(&pl->w, "recorded");
					jw_raw(&pl->w, d->a, strlen(d->a));
				}
				if (d->b) {
					jw_key(&pl->w, "replayed");
					jw_raw(&pl->w, d->b, strlen(d->b));
				}
				jw_obj_end(&pl->w);
			}
			jw_arr_end(&pl->w);
			rec_end(&pl->w, pl->out);
		}
	}
}

static void write_summary(struct play *pl, uint64_t matched, uint64_t mismatched)
{
	struct noise *n = pl->noise;
	struct jw *w = &pl->w;
	rec_begin(w, "replay.summary");
	jw_kv_str(w, "target", pl->target);
	if (pl->secondary)
		jw_kv_str(w, "secondary", pl->secondary);
	jw_kv_int(w, "total", (int64_t)pl->total);
	jw_kv_int(w, "replayed", (int64_t)pl->sent);
	jw_kv_int(w, "matched", (int64_t)matched);
	jw_kv_int(w, "mismatched", (int64_t)mismatched);
	jw_kv_int(w, "skipped", (int64_t)pl->skipped);
	jw_kv_int(w, "filtered", (int64_t)pl->filtered);
	jw_kv_int(w, "unverified", (int64_t)pl->unverified);
	jw_kv_int(w, "errors", (int64_t)pl->errors);
	jw_kv_int(w, "noise_filtered", (int64_t)pl->noise_filtered);
	jw_key(w, "endpoints");
	jw_arr_begin(w);
	for (size_t e = 0; e < n->neps; e++) {
		struct noise_ep *ep = n->eps[e];
		jw_obj_begin(w);
		jw_kv_str(w, "endpoint", ep->name);
		jw_kv_int(w, "total", (int64_t)ep->total);
		jw_kv_int(w, "matched", (int64_t)ep->matched);
		jw_kv_int(w, "mismatched", (int64_t)ep->mismatched);
		jw_kv_double(w, "match_rate",
			     ep->total ? (double)ep->matched / (double)ep->total : 1.0);
		for (int pass = 0; pass < (pl->secondary ? 2 : 1); pass++) {
			jw_key(w, pass ? "noise" : "fields");
			jw_arr_begin(w);
			for (size_t i = 0; i < ep->nfields; i++) {
				const struct noise_field *f = &ep->fields[i];
				if (f->reported != !pass || (!f->raw && !f->noise))
					continue;
				jw_obj_begin(w);
				jw_kv_str(w, "pointer", f->pointer);
				jw_kv_int(w, pl->secondary ? "raw" : "count", (int64_t)f->raw);
				if (pl->secondary)
					jw_kv_int(w, "noise", (int64_t)f->noise);
				jw_obj_end(w);
			}
			jw_arr_end(w);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
	rec_end(w, pl->out);
}

/* ---- the loop --------------------------------------------------------- */

/* The next exchange to send, or NULL at the end of every input. */
struct feed {
	char **files;
	int nfiles, next_file;
	struct jsonl_reader *r;
	bool stop;
};

static struct play_xch *feed_next(struct play *pl, struct feed *f)
{
	struct strbuf err = SB_INIT;
	for (;;) {
		if (f->stop)
			break;
		if (!f->r) {
			if (f->next_file >= f->nfiles)
				break;
			const char *name = f->files[f->next_file++];
			f->r = jsonl_open(name, pl->strict ? JSONL_STRICT : 0, &err);
			if (!f->r) {
				error("%s", err.buf);
				sb_reset(&err);
				continue;
			}
		}
		cJSON *rec;
		int rc = jsonl_next(f->r, &rec);
		if (rc <= 0) {
			if (rc < 0 && pl->strict)
				f->stop = true;
			jsonl_close(f->r);
			f->r = NULL;
			continue;
		}
		char where[64];
		snprintf(where, sizeof(where), "%s:%zu", jsonl_name(f->r), jsonl_lineno(f->r));
		struct play_xch *x = xcalloc(1, sizeof(*x));
		sb_reset(&err);
		int got = play_xch_parse(x, rec, where, &err);
		if (got != 0) {
			free(x);
			cJSON_Delete(rec);
			if (got < 0 && jsonl_reject(f->r, "%s", err.buf) < 0)
				f->stop = true;
			continue;
		}
		pl->total++;
		bool pass = pl->nmethods == 0;
		for (size_t i = 0; i < pl->nmethods && !pass; i++)
			pass = !strcmp(pl->methods[i], x->method);
		if (pass && pl->has_path)
			pass = regexec(&pl->path_re, x->path, 0, NULL, 0) == 0;
		if (!pass) {
			pl->filtered++;
			play_xch_free(x);
			continue;
		}
		if (!pl->allow_writes && reqrec_is_write(x->method)) {
			pl->skipped++;
			play_xch_free(x);
			continue;
		}
		x->sent_path = rewrite_path(pl, x->path);
		sb_release(&err);
		return x;
	}
	sb_release(&err);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void run(struct play *pl, struct feed *f)
{
	struct play_xch *next = feed_next(pl, f);
	int64_t start = mono_ns(), first_ts = 0;
	bool have_first = false;
	uint64_t index = 0;
	while (next || pl->inflight > 0) {
		long wait_ms = -1;
		while (next && pl->inflight < pl->concurrency) {
			int64_t due = start;
			if (pl->rate > 0) {
				due = start + (int64_t)((double)index * 1e9 / pl->rate);
			} else if (pl->speed > 0 && next->has_ts) {
				if (!have_first) {
					first_ts = next->ts_ns;
					have_first = true;
				}
				int64_t gap = next->ts_ns - first_ts;
				if (gap > 0)
					due = start + (int64_t)((double)gap / pl->speed);
			}
			int64_t now = mono_ns();
			if (due > now) {
				wait_ms = (long)((due - now + 999999) / 1000000);
				break;
			}
			struct play_xch *x = next;
			pl->inflight++;
			pl->sent++;
			index++;
			send_to(pl, x, 0, pl->target);
			if (pl->secondary)
				send_to(pl, x, 1, pl->secondary);
			if (x->pending == 0)
				finish(pl, x); /* nothing could be queued */
			next = feed_next(pl, f);
		}
		if (pl->inflight > 0 || http_pending(pl->client) > 0)
			http_run_for(pl->client, wait_ms >= 0 ? wait_ms : 100, on_done);
		else if (wait_ms > 0)
			sleep_ms(wait_ms);
	}
}

int cmd_play(int argc, char **argv)
{
	struct play pl;
	memset(&pl, 0, sizeof(pl));
	pl.concurrency = 16;
	pl.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	pl.rule = (struct noise_rule)NOISE_RULE_DEFAULT;
	const char *output = NULL;
	struct strbuf err = SB_INIT;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case PL_ALLOW_WRITES: pl.allow_writes = true; break;
		case PL_COMPARE_HEADER: {
			if (!*p.arg || strchr(p.arg, ':'))
				opt_usage_error(&p, "--compare-header: invalid header name '%s'", p.arg);
			char *h = xstrdup(p.arg);
			for (char *s = h; *s; s++)
				*s = (char)tolower((unsigned char)*s);
			ALLOC_GROW(pl.cmp.headers, pl.cmp.nheaders + 1, pl.acmp_headers);
			pl.cmp.headers[pl.cmp.nheaders++] = h;
			break;
		}
		case PL_CONCURRENCY: {
			long long v;
			if (num_parse_int(p.arg, 1, 10000, &v, &err) < 0)
				opt_usage_error(&p, "--concurrency: %s", err.buf);
			pl.concurrency = (int)v;
			break;
		}
		case PL_HEADER: {
			const char *colon = strchr(p.arg, ':');
			if (!colon || colon == p.arg || strpbrk(p.arg, "\r\n"))
				opt_usage_error(&p, "--header: want 'Name: value', got '%s'", p.arg);
			ALLOC_GROW(pl.set_headers, pl.nset + 1, pl.aset);
			pl.set_headers[pl.nset++] = p.arg;
			break;
		}
		case PL_IGNORE:
			if (p.arg[0] && p.arg[0] != '/')
				opt_usage_error(&p, "--ignore: not a JSON pointer: '%s'", p.arg);
			ALLOC_GROW(pl.ignore, pl.nignore + 1, pl.aignore);
			pl.ignore[pl.nignore++] = p.arg;
			break;
		case PL_METHOD: add_methods(&pl, p.arg); break;
		case PL_NOISE_RELATIVE:
			pl.rule.min_relative = parse_factor(&p, "--noise-relative", true);
			break;
		case PL_NOISE_SHARE:
			pl.rule.min_share = parse_factor(&p, "--noise-share", true);
			break;
		case 'o': output = p.arg; break;
		case PL_PATH:
			if (pl.has_path)
				regfree(&pl.path_re);
			compile(&p, &pl.path_re, p.arg, "--path");
			pl.has_path = true;
			break;
		case PL_RATE:
			pl.rate = parse_factor(&p, "--rate", false);
			if (pl.rate <= 0 || pl.rate > 1e6)
				opt_usage_error(&p, "--rate: must be more than 0 and at most 1000000");
			break;
		case PL_REWRITE: {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg)
				opt_usage_error(&p, "--rewrite: want REGEX=REPLACEMENT, got '%s'",
						p.arg);
			ALLOC_GROW(pl.rewrites, pl.nrewrites + 1, pl.arewrites);
			char *re = xstrndup(p.arg, (size_t)(eq - p.arg));
			compile(&p, &pl.rewrites[pl.nrewrites].re, re, "--rewrite");
			free(re);
			pl.rewrites[pl.nrewrites++].repl = eq + 1;
			break;
		}
		case PL_SECONDARY: pl.secondary = p.arg; break;
		case PL_SPEED:
			pl.speed = parse_factor(&p, "--speed", false);
			if (pl.speed <= 0)
				opt_usage_error(&p, "--speed: must be more than 0");
			break;
		case PL_STRICT: pl.strict = true; break;
		case PL_TARGET: pl.target = p.arg; break;
		case PL_TIMEOUT: {
			int64_t ns;
			if (dur_parse(p.arg, &ns, &err) < 0)
				opt_usage_error(&p, "--timeout: %s", err.buf);
			if (ns < 1000000)
				opt_usage_error(&p, "--timeout: must be at least 1ms");
			pl.timeout_ms = ns / 1000000 > 86400000 ? 86400000 : (long)(ns / 1000000);
			break;
		}
		default: break;
		}
	}
	if (!pl.target)
		opt_usage_error(&p, "--target is required");
	if (strncmp(pl.target, "http://", 7) && strncmp(pl.target, "https://", 8))
		opt_usage_error(&p, "--target: not an http:// or https:// URL: '%s'", pl.target);
	if (pl.secondary && strncmp(pl.secondary, "http://", 7) &&
	    strncmp(pl.secondary, "https://", 8))
		opt_usage_error(&p, "--secondary: not an http:// or https:// URL: '%s'",
				pl.secondary);
	if (pl.rate > 0 && pl.speed > 0)
		opt_usage_error(&p, "--rate and --speed exclude each other");
	struct feed f = { 0 };
	static char *stdin_only[] = { "-" };
	f.nfiles = opt_operands(&p, &f.files);
	if (f.nfiles == 0) {
		f.files = stdin_only;
		f.nfiles = 1;
	}
	pl.cmp.ignore = pl.ignore;
	pl.cmp.nignore = pl.nignore;
	pl.out = output ? out_open(output) : out_stdout();
	pl.client = http_client_new(pl.concurrency * (pl.secondary ? 2 : 1));
	pl.noise = noise_new(pl.secondary != NULL);
	sb_init(&pl.sb, 256);
	jw_init(&pl.w, &pl.sb);
	sb_init(&pl.fields, 256);
	the_play = &pl;

	run(&pl, &f);

	if (pl.secondary) {
		noise_decide(pl.noise, &pl.rule);
	} else {
		struct noise_rule all = { 0, 0 };
		noise_decide(pl.noise, &all);
	}
	uint64_t matched = 0, mismatched = 0;
	for (size_t e = 0; e < pl.noise->neps; e++) {
		struct noise_ep *ep = pl.noise->eps[e];
		matched += ep->matched;
		mismatched += ep->mismatched;
		for (size_t i = 0; i < ep->nfields; i++)
			if (!ep->fields[i].reported)
				pl.noise_filtered += ep->fields[i].raw;
	}
	if (pl.secondary)
		write_noise_diffs(&pl);
	write_summary(&pl, matched, mismatched);

	int status = mismatched ? EXIT_NO : EXIT_OK;
	if (pl.sent > 0 && pl.target_errors == pl.sent) {
		error("play: target '%s' unreachable for every request: %s", pl.target,
		      pl.last_error);
		status = EXIT_SYSTEM;
	}
	if (output)
		out_close(pl.out);
	http_client_free(pl.client);
	noise_free(pl.noise);
	sb_release(&pl.sb);
	sb_release(&pl.fields);
	sb_release(&err);
	for (size_t i = 0; i < pl.nmethods; i++)
		free(pl.methods[i]);
	free(pl.methods);
	for (size_t i = 0; i < pl.cmp.nheaders; i++)
		free(pl.cmp.headers[i]);
	free(pl.cmp.headers);
	for (size_t i = 0; i < pl.nrewrites; i++)
		regfree(&pl.rewrites[i].re);
	free(pl.rewrites);
	if (pl.has_path)
		regfree(&pl.path_re);
	free(pl.set_headers);
	free(pl.ignore);
	opt_end(&p);
	if (status == EXIT_SYSTEM)
		return status;
	return jsonl_exit_status(status);
}
