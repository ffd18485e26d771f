/*
 * play_compare.c: comparing a recorded answer with a replayed one
 * (play.h), over a virtual document {"status", "headers", "body"} so
 * that every difference has one JSON pointer: "/status", a chosen
 * header "/headers/NAME", a body field "/body/items/0/price_cents".
 *
 * Bodies are compared as JSON, field by field (jsondiff.h), when both
 * sides parse as JSON; otherwise as bytes, one "changed" at "/body" with
 * both texts. --ignore prefixes apply to all three parts.
 */
#include "common.h"

#include "play.h"

/* Body text quoted in a non-JSON difference: at most this much. */
#define TEXT_MAX 512

static void report(const struct play_cmp *cmp, size_t *ignored, const char *pointer,
		   enum jd_kind kind, const cJSON *a, const cJSON *b, jd_fn *fn, void *user)
{
	if (cmp->nignore && jd_ignored(pointer, cmp->ignore, cmp->nignore)) {
		(*ignored)++;
		return;
	}
	fn(pointer, kind, a, b, user);
}

static cJSON *text_value(const char *s, size_t len)
{
	if (len > TEXT_MAX)
		len = TEXT_MAX;
	char *t = xstrndup(s ? s : "", len);
	cJSON *v = cJSON_CreateString(t);
	free(t);
	if (!v)
		die("out of memory");
	return v;
}

static const char *rec_header(const cJSON *h, const char *name)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, h) {
		if (v->string && !strcasecmp(v->string, name) && cJSON_IsString(v))
			return v->valuestring;
	}
	return NULL;
}

size_t play_compare(const struct play_cmp *cmp, const struct play_xch *x,
		    const struct http_response *resp, jd_fn *fn, void *user)
{
	size_t ignored = 0;
	if (x->status != resp->status) {
		cJSON *a = cJSON_CreateNumber((double)x->status);
		cJSON *b = cJSON_CreateNumber((double)resp->status);
		if (!a || !b)
			die("out of memory");
		report(cmp, &ignored, "/status", JD_CHANGED, a, b, fn, user);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	if (x->status_only)
		return ignored;
	struct strbuf ptr = SB_INIT;
	for (size_t i = 0; i < cmp->nheaders; i++) {
		const char *name = cmp->headers[i];
		const char *ra = rec_header(x->resp_headers, name);
		const char *rb = http_response_header(resp, name);
		if (!ra && !rb)
			continue;
		if (ra && rb && !strcmp(ra, rb))
			continue;
		sb_reset(&ptr);
		sb_addstr(&ptr, "/headers");
		jd_pointer_add(&ptr, name);
		cJSON *a = ra ? cJSON_CreateString(ra) : NULL;
		cJSON *b = rb ? cJSON_CreateString(rb) : NULL;
		report(cmp, &ignored, ptr.buf, !ra ? JD_EXTRA : !rb ? JD_MISSING : JD_CHANGED, a,
		       b, fn, user);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	sb_release(&ptr);
	const char *ab = x->resp_body.buf, *bb = resp->body.buf;
	size_t al = x->resp_body.len, bl = resp->body.len;
	if (al == bl && !memcmp(ab, bb, al))
		return ignored;
	cJSON *a = al ? cJSON_ParseWithLength(ab, al) : NULL;
	cJSON *b = bl ? cJSON_ParseWithLength(bb, bl) : NULL;
	if (a && b) {
		struct jd_result r = jd_diff(a, b, "/body", cmp->ignore, cmp->nignore, fn, user);
		ignored += r.ignored;
	} else {
		cJSON_Delete(a);
		cJSON_Delete(b);
		a = text_value(ab, al);
		b = text_value(bb, bl);
		report(cmp, &ignored, "/body", JD_CHANGED, a, b, fn, user);
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	return ignored;
}
