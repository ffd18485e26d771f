/*
 * send_compare.c: comparing two live answers to the same request, the
 * primary's with the candidate's (or with the secondary's, to learn the
 * noise), for ofs-split send (send.h).
 *
 * As in ofs-replay play (play_compare.c, which compares a recorded answer
 * with a live one), every difference gets one JSON pointer in a virtual
 * document {"status", "headers", "body"}: "/status", a chosen header
 * "/headers/NAME", a body field "/body/items/0/price_cents". Bodies are
 * compared with jsondiff.h when both parse as JSON, else as bytes; a body
 * is parsed at most once however many comparisons it is in, and not at
 * all when the bytes are the same.
 */
#include "common.h"

#include "send.h"

/* Body text quoted in a non-JSON difference: at most this much. */
#define TEXT_MAX 512

static void report(const struct send_cmp *cmp, size_t *ignored, const char *pointer,
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

static const cJSON *body_json(struct send_body *b)
{
	if (!b->parsed) {
		b->parsed = true;
		const struct strbuf *s = &b->resp->body;
		b->json = s->len ? cJSON_ParseWithLength(s->buf, s->len) : NULL;
	}
	return b->json;
}

void send_body_free(struct send_body *b)
{
	cJSON_Delete(b->json);
	b->json = NULL;
	b->parsed = false;
}

size_t send_compare(const struct send_cmp *cmp, struct send_body *a, struct send_body *b,
		    jd_fn *fn, void *user)
{
	const struct http_response *ra = a->resp, *rb = b->resp;
	size_t ignored = 0;
	if (ra->status != rb->status) {
		cJSON *va = cJSON_CreateNumber((double)ra->status);
		cJSON *vb = cJSON_CreateNumber((double)rb->status);
		if (!va || !vb)
			die("out of memory");
		report(cmp, &ignored, "/status", JD_CHANGED, va, vb, fn, user);
		cJSON_Delete(va);
		cJSON_Delete(vb);
	}
	struct strbuf ptr = SB_INIT;
	for (size_t i = 0; i < cmp->nheaders; i++) {
		const char *name = cmp->headers[i];
		const char *ha = http_response_header(ra, name);
		const char *hb = http_response_header(rb, name);
		if ((!ha && !hb) || (ha && hb && !strcmp(ha, hb)))
			continue;
		sb_reset(&ptr);
		sb_addstr(&ptr, "/headers");
		jd_pointer_add(&ptr, name);
		cJSON *va = ha ? cJSON_CreateString(ha) : NULL;
		cJSON *vb = hb ? cJSON_CreateString(hb) : NULL;
		report(cmp, &ignored, ptr.buf, !ha ? JD_EXTRA : !hb ? JD_MISSING : JD_CHANGED, va,
		       vb, fn, user);
		cJSON_Delete(va);
		cJSON_Delete(vb);
	}
	sb_release(&ptr);
	const struct strbuf *ba = &ra->body, *bb = &rb->body;
	if (ba->len == bb->len && !memcmp(ba->buf, bb->buf, ba->len))
		return ignored;
	const cJSON *ja = body_json(a), *jb = body_json(b);
	if (ja && jb) {
		struct jd_result r = jd_diff(ja, jb, "/body", cmp->ignore, cmp->nignore, fn, user);
		return ignored + r.ignored;
	}
	cJSON *va = text_value(ba->buf, ba->len);
	cJSON *vb = text_value(bb->buf, bb->len);
	report(cmp, &ignored, "/body", JD_CHANGED, va, vb, fn, user);
	cJSON_Delete(va);
	cJSON_Delete(vb);
	return ignored;
}
