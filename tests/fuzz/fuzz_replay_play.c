/*
 * fuzz_replay_play.c: libFuzzer target for ofs-replay play's reading of
 * exchange records and its comparison of answers
 * (cmd/ofs-replay/play_exchange.c and play_compare.c, linked in by the
 * Makefile; libcommon/jsondiff.c and noise.c).
 *
 * The input's first line is a record, as play reads it from a capture
 * file; the rest is the body of a replayed answer (status 200, with a
 * Shop-Version header). A record must be refused with a reason or
 * accepted with a method, a path starting with "/" and an endpoint; an
 * accepted one is compared with the answer, every difference must come
 * with a pointer starting with "/" and the values its kind promises,
 * and the differences are counted in a noise table, which must agree
 * with itself after noise_decide. Nothing is sent; everything is freed.
 */
#include "common.h"

#include "http.h"
#include "jsondiff.h"
#include "noise.h"
#include "play.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		  void *user)
{
	if (pointer[0] != '/')
		abort();
	if ((kind == JD_EXTRA && (a || !b)) || (kind == JD_MISSING && (!a || b)) ||
	    ((kind == JD_CHANGED || kind == JD_TYPE) && (!a || !b)))
		abort();
	noise_raw(user, pointer, kind, a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t line_len = nl ? (size_t)(nl - text) : size;
	cJSON *rec = cJSON_ParseWithLength(text, line_len);
	if (!rec)
		return 0;
	struct play_xch *x = xcalloc(1, sizeof(*x));
	struct strbuf err = SB_INIT;
	int rc = play_xch_parse(x, rec, "fuzz:1", &err);
	if (rc != 0) {
		if (rc < 0 && !err.len)
			abort();
		cJSON_Delete(rec);
		free(x);
		sb_release(&err);
		return 0;
	}
	if (!x->method[0] || x->path[0] != '/' || strncmp(x->endpoint, x->method, strlen(x->method)))
		abort();
	struct http_response resp;
	http_response_init(&resp);
	resp.status = 200;
	if (nl)
		sb_add(&resp.body, nl + 1, size - line_len - 1);
	struct http_header h = { "Shop-Version", "v2" };
	resp.headers = &h;
	resp.nheaders = 1;
	char *names[] = { "shop-version", "etag" };
	const char *ignore[] = { "/body/ts" };
	struct play_cmp cmp = { ignore, 1, names, 2 };
	struct noise *n = noise_new(true);
	struct noise_obs o;
	noise_begin(&o, n, x->endpoint, x->id, x->method, x->path);
	play_compare(&cmp, x, &resp, check, &o);
	noise_end(&o);
	struct noise_rule rule = NOISE_RULE_DEFAULT;
	noise_decide(n, &rule);
	if (n->neps != 1 || n->eps[0]->matched + n->eps[0]->mismatched != 1)
		abort();
	noise_free(n);
	resp.headers = NULL;
	resp.nheaders = 0;
	http_response_release(&resp);
	play_xch_free(x);
	sb_release(&err);
	return 0;
}
