/*
 * export.c: `ofs-trace export (--otlp URL | --zipkin URL) [file ...]`:
 * hand spans to a real backend (an OpenTelemetry collector, Jaeger,
 * Tempo, Zipkin) over OTLP/HTTP JSON or Zipkin v2 JSON.
 *
 * Spans of any input format are batched by count (--batch) and age
 * (--flush: a batch whose first span waited that long goes at the next
 * span or at the end of input), optionally gzipped, and POSTed. Only 429,
 * 502, 503, 504 and connection failures are retried (with full-jitter
 * back-off, honouring Retry-After: http.h); any other answer but 2xx is
 * final. With --spool DIR a batch that could not be delivered is stored
 * there (spool.h) and sent on a later run, or in this one as soon as the
 * backend takes a batch again; without it the spans are lost and the
 * status is 4. One trace.export record sums up the run.
 */
#include "common.h"
#include <zlib.h>

#include "http.h"
#include "jsonl.h"
#include "out.h"
#include "record.h"
#include "sig.h"
#include "spool.h"
#include "timefmt.h"
#include "trace.h"
#include "units.h"

#define EXPORT_BATCH_MAX 100000

enum {
	XOPT_ATTEMPTS = 1000,
	XOPT_BATCH,
	XOPT_FLUSH,
	XOPT_GZIP,
	XOPT_HEADER,
	XOPT_OTLP,
	XOPT_SPOOL,
	XOPT_STRICT,
	XOPT_TIMEOUT,
	XOPT_ZIPKIN,
};

const struct opt export_opts[] = {
	{ XOPT_ATTEMPTS, 0, "attempts", "n", "tries per batch, the first included (default 5)", NULL,
	  0 },
	{ XOPT_BATCH, 0, "batch", "n", "spans per request (default 512)", NULL, 0 },
	{ XOPT_FLUSH, 0, "flush", "duration", "send a batch once its oldest span waited this long "
					      "(default 5s)",
	  NULL, 0 },
	{ XOPT_GZIP, 0, "gzip", NULL, "compress request bodies (Content-Encoding: gzip)", NULL, 0 },
	{ XOPT_HEADER, 0, "header", "key=value", "add a request header (repeatable)", NULL, 0 },
	{ XOPT_OTLP, 0, "otlp", "url", "OTLP/HTTP endpoint (/v1/traces is added to a base URL)",
	  NULL, 0 },
	{ XOPT_SPOOL, 0, "spool", "dir", "keep undeliverable batches here and send them later",
	  "@dir", 0 },
	{ XOPT_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ XOPT_TIMEOUT, 0, "timeout", "duration", "time limit of each attempt (default 10s)", NULL,
	  0 },
	{ XOPT_ZIPKIN, 0, "zipkin", "url", "Zipkin endpoint (/api/v2/spans is added to a base URL)",
	  NULL, 0 },
	{ 0 },
};

enum deliver_result { DELIVERED, DOWN, REFUSED };

struct exporter {
	enum span_format fmt;
	char *url;
	const char **headers; /* NULL-terminated, owned strings */
	size_t nheaders;
	bool gzip;
	int attempts;
	long timeout_ms;
	size_t batch_max;
	int64_t flush_ns;
	struct spool spool;
	bool spooling;
	bool spool_pending; /* the spool may hold batches to drain */
	int64_t down_until; /* mono ns: the backend failed; spool straight away until then */

	struct span *batch;
	size_t n;
	int64_t batch_born; /* mono ns of the batch's first span */

	/* The trace.export figures (spans, except retried: extra attempts). */
	uint64_t batches, spans, sent, retried, spooled, drained, failed;
	int status;
};

static char *endpoint(const char *base, const char *suffix)
{
	size_t n = strlen(base), sn = strlen(suffix);
	if (n >= sn && !strcmp(base + n - sn, suffix))
		return xstrdup(base);
	while (n && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, suffix);
}

static const char *ext_of(enum span_format f)
{
	return f == SPAN_FMT_ZIPKIN ? "zipkin" : "otlp";
}

static void gzip_body(const char *in, size_t len, struct strbuf *out)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		die("cannot initialise zlib");
	uLong bound = deflateBound(&zs, (uLong)len);
	sb_grow(out, bound);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->buf + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		die("cannot compress a request body");
	sb_setlen(out, out->len + zs.total_out);
	deflateEnd(&zs);
}

/* One POST of body (uncompressed JSON), with the retries policy allows. */
static enum deliver_result deliver(struct exporter *ex, const char *body, size_t len)
{
	struct strbuf gz = SB_INIT;
	struct http_request req;
	struct http_response resp;
	http_request_init(&req);
	http_response_init(&resp);
	req.method = "POST";
	req.url = ex->url;
	req.headers = ex->headers;
	if (ex->gzip) {
		gzip_body(body, len, &gz);
		req.body = gz.buf;
		req.body_len = gz.len;
	} else {
		req.body = body;
		req.body_len = len;
	}
	req.timeout_ms = ex->timeout_ms;
	req.max_body = 4096;
	req.retry.max_attempts = ex->attempts;
	req.retry.base_ms = 100;
	req.retry.cap_ms = 5000;
	int rc = http_do(&req, &resp);
	if (resp.attempts > 1)
		ex->retried += (uint64_t)(resp.attempts - 1);
	enum deliver_result r;
	if (rc == 0 && resp.status >= 200 && resp.status < 300) {
		r = DELIVERED;
	} else if (http_retryable(resp.curl_code, resp.status)) {
		if (rc == 0)
			error("'%s' answered %ld after %d attempts", ex->url, resp.status,
			      resp.attempts);
		else
			error("cannot reach '%s': %s (%d attempts)", ex->url, resp.error,
			      resp.attempts);
		r = DOWN;
	} else {
		if (rc == 0)
			error("'%s' refused a batch: %ld %.*s", ex->url, resp.status,
			      (int)(resp.body.len > 200 ? 200 : resp.body.len),
			      resp.body.buf ? resp.body.buf : "");
		else
			error("cannot send to '%s': %s", ex->url, resp.error);
		r = REFUSED;
	}
	http_response_release(&resp);
	sb_release(&gz);
	return r;
}

static void count_span(struct span *s, void *ctx)
{
	(*(size_t *)ctx)++;
}

struct collect {
	struct span *v;
	size_t n, alloc;
};

static void collect_span(struct span *s, void *ctx)
{
	struct collect *c = ctx;
	ALLOC_GROW(c->v, c->n + 1, c->alloc);
	span_copy(&c->v[c->n++], s);
}

static void encode(enum span_format fmt, const struct span *spans, size_t n, struct strbuf *sb)
{
	const struct span **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &spans[i];
	struct jw w;
	jw_init(&w, sb);
	if (fmt == SPAN_FMT_ZIPKIN)
		span_write_zipkin(&w, ptrs, n);
	else
		span_write_otlp(&w, ptrs, n);
	free(ptrs);
}

/*
 * Send what the spool holds, oldest first, while the backend takes it.
 * A body in the other format (spooled for another endpoint) is re-encoded.
 */
static void drain(struct exporter *ex)
{
	if (!ex->spooling || !ex->spool_pending || mono_ns() < ex->down_until)
		return;
	struct strbuf err = SB_INIT;
	int locked = spool_lock(&ex->spool, &err);
	if (locked <= 0) {
		if (locked < 0)
			error("%s", err.buf);
		sb_release(&err);
		return;
	}
	char **names;
	long n = spool_list(&ex->spool, &names, &err);
	if (n < 0) {
		error("%s", err.buf);
		ex->status = EXIT_SYSTEM;
		sb_release(&err);
		return;
	}
	ex->spool_pending = false;
	struct strbuf body = SB_INIT, other = SB_INIT;
	for (long i = 0; i < n; i++) {
		sb_reset(&body);
		sb_reset(&err);
		if (spool_read(&ex->spool, names[i], &body, &err) < 0) {
			error("%s", err.buf);
			ex->status = EXIT_SYSTEM;
			continue;
		}
		cJSON *v = cJSON_ParseWithLength(body.buf, body.len);
		struct collect col = { 0 };
		size_t nspans = 0;
		enum span_format got = SPAN_FMT_OTLP;
		bool same = strstr(names[i], ext_of(ex->fmt)) != NULL;
		int prc = v ? span_parse_value(v, names[i], 1,
					       same ? count_span : collect_span,
					       same ? (void *)&nspans : (void *)&col, &got, &err)
			    : -1;
		cJSON_Delete(v);
		if (prc < 0) {
			error("spooled batch '%s/%s' is not readable: %s; set aside", ex->spool.dir,
			      names[i], err.len ? err.buf : "invalid JSON");
			sb_reset(&err);
			if (spool_reject(&ex->spool, names[i], &err) < 0)
				error("%s", err.buf);
			continue;
		}
		const struct strbuf *send = &body;
		if (!same) {
			sb_reset(&other);
			encode(ex->fmt, col.v, col.n, &other);
			nspans = col.n;
			send = &other;
		}
		for (size_t k = 0; k < col.n; k++)
			span_release(&col.v[k]);
		free(col.v);
		enum deliver_result r = deliver(ex, send->buf, send->len);
		if (r == DOWN) {
			ex->spool_pending = true;
			ex->down_until = mono_ns() + ex->flush_ns;
			break;
		}
		sb_reset(&err);
		if (r == REFUSED) {
			ex->failed += nspans;
			if (spool_reject(&ex->spool, names[i], &err) < 0)
				error("%s", err.buf);
			continue;
		}
		ex->drained += nspans;
		if (spool_remove(&ex->spool, names[i], &err) < 0) {
			error("%s", err.buf);
			ex->status = EXIT_SYSTEM;
		}
	}
	spool_list_free(names);
	sb_release(&body);
	sb_release(&other);
	sb_release(&err);
}

static void spool_or_lose(struct exporter *ex, const struct strbuf *body, size_t n)
{
	if (ex->spooling) {
		struct strbuf err = SB_INIT;
		if (spool_put(&ex->spool, ext_of(ex->fmt), body->buf, body->len, &err) == 0) {
			ex->spooled += n;
			ex->spool_pending = true;
			sb_release(&err);
			return;
		}
		error("%s", err.buf);
		sb_release(&err);
	}
	ex->failed += n;
}

static void flush_batch(struct exporter *ex)
{
	if (!ex->n)
		return;
	struct strbuf body = SB_INIT;
	encode(ex->fmt, ex->batch, ex->n, &body);
	ex->batches++;
	if (ex->spooling && mono_ns() < ex->down_until) {
		spool_or_lose(ex, &body, ex->n);
	} else {
		enum deliver_result r = deliver(ex, body.buf, body.len);
		if (r == DELIVERED) {
			ex->sent += ex->n;
			ex->down_until = 0;
		} else if (r == REFUSED) {
			ex->failed += ex->n;
		} else {
			ex->down_until = mono_ns() + ex->flush_ns;
			spool_or_lose(ex, &body, ex->n);
		}
	}
	sb_release(&body);
	for (size_t i = 0; i < ex->n; i++)
		span_release(&ex->batch[i]);
	ex->n = 0;
	drain(ex);
}

static void export_span(struct span *s, void *ctx)
{
	struct exporter *ex = ctx;
	if (!ex->n)
		ex->batch_born = mono_ns();
	span_copy(&ex->batch[ex->n++], s);
	ex->spans++;
	if (ex->n >= ex->batch_max || mono_ns() - ex->batch_born >= ex->flush_ns)
		flush_batch(ex);
}

static void report(const struct exporter *ex)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "trace.export");
	jw_kv_str(&w, "endpoint", ex->url);
	jw_kv_int(&w, "batches", (int64_t)ex->batches);
	jw_kv_int(&w, "spans", (int64_t)ex->spans);
	jw_kv_int(&w, "sent", (int64_t)ex->sent);
	jw_kv_int(&w, "retried", (int64_t)ex->retried);
	jw_kv_int(&w, "spooled", (int64_t)ex->spooled);
	jw_kv_int(&w, "drained", (int64_t)ex->drained);
	jw_kv_int(&w, "failed", (int64_t)ex->failed);
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

static long parse_count(struct opt_parser *p, long long max)
{
	long long v;
	struct strbuf err = SB_INIT;
	if (num_parse_int(p->arg, 1, max, &v, &err) < 0)
		opt_usage_error(p, "%s: %s", p->name, err.buf);
	sb_release(&err);
	return (long)v;
}

static int64_t parse_dur(struct opt_parser *p)
{
	int64_t ns;
	struct strbuf err = SB_INIT;
	if (dur_parse(p->arg, &ns, &err) < 0)
		opt_usage_error(p, "%s: %s", p->name, err.buf);
	sb_release(&err);
	if (ns <= 0)
		opt_usage_error(p, "%s: must be more than 0", p->name);
	return ns;
}

int cmd_export(int argc, char **argv)
{
	struct opt_parser p;
	struct exporter *ex = xcalloc(1, sizeof(*ex));
	const char *otlp = NULL, *zipkin = NULL, *spool_dir = NULL;
	bool strict = false;
	ex->attempts = 5;
	ex->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	ex->batch_max = 512;
	ex->flush_ns = 5000000000LL;
	ex->headers = xcalloc(3, sizeof(*ex->headers));
	ex->headers[ex->nheaders++] = xstrdup("Content-Type: application/json");
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case XOPT_ATTEMPTS: ex->attempts = (int)parse_count(&p, HTTP_MAX_ATTEMPTS); break;
		case XOPT_BATCH: ex->batch_max = (size_t)parse_count(&p, EXPORT_BATCH_MAX); break;
		case XOPT_FLUSH: ex->flush_ns = parse_dur(&p); break;
		case XOPT_GZIP: ex->gzip = true; break;
		case XOPT_HEADER: {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg)
				opt_usage_error(&p, "invalid --header '%s': must be key=value", p.arg);
			ex->headers = xrealloc(ex->headers, (ex->nheaders + 3) * sizeof(*ex->headers));
			ex->headers[ex->nheaders++] =
				xasprintf("%.*s: %s", (int)(eq - p.arg), p.arg, eq + 1);
			break;
		}
		case XOPT_OTLP: otlp = p.arg; break;
		case XOPT_SPOOL: spool_dir = p.arg; break;
		case XOPT_STRICT: strict = true; break;
		case XOPT_TIMEOUT: {
			int64_t ns = parse_dur(&p);
			ex->timeout_ms = ns < 1000000 ? 1 : (long)(ns / 1000000);
			break;
		}
		case XOPT_ZIPKIN: zipkin = p.arg; break;
		}
	}
	if (!otlp == !zipkin)
		opt_usage_error(&p, "give exactly one of --otlp and --zipkin");
	const char *base = otlp ? otlp : zipkin;
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		opt_usage_error(&p, "invalid url '%s': must start with http:// or https://", base);
	ex->fmt = otlp ? SPAN_FMT_OTLP : SPAN_FMT_ZIPKIN;
	ex->url = endpoint(base, otlp ? "/v1/traces" : "/api/v2/spans");
	if (ex->gzip)
		ex->headers[ex->nheaders++] = xstrdup("Content-Encoding: gzip");
	ex->headers[ex->nheaders] = NULL;
	char **files;
	int nfiles = opt_operands(&p, &files);
	static char *stdin_only[] = { (char *)"-", NULL };
	if (!nfiles) {
		files = stdin_only;
		nfiles = 1;
	}
	ex->batch = xcalloc(ex->batch_max, sizeof(*ex->batch));

	if (spool_dir) {
		struct strbuf err = SB_INIT;
		if (spool_open(&ex->spool, spool_dir, &err) < 0)
			die("%s", err.buf);
		sb_release(&err);
		ex->spooling = true;
		ex->spool_pending = true;
		drain(ex);
	}
	sig_setup();
	for (int i = 0; i < nfiles && !sig_pending(); i++) {
		if (span_read_file(files[i], strict, export_span, ex) < 0 && strict)
			break;
	}
	flush_batch(ex);
	drain(ex);
	report(ex);

	int status = ex->status;
	if (ex->failed && !status)
		status = EXIT_SYSTEM;
	status = jsonl_exit_status(status);
	if (sig_pending())
		status = sig_exit_status();
	if (ex->spooling)
		spool_close(&ex->spool);
	for (size_t i = 0; i < ex->nheaders; i++)
		free((char *)ex->headers[i]);
	free(ex->headers);
	free(ex->batch);
	free(ex->url);
	free(ex);
	opt_end(&p);
	return status;
}
