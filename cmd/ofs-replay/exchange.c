/*
 * exchange.c: writing and reading replay.exchange records (the shape is
 * documented in exchange.h), plus the small codecs every capture source
 * needs for it: UTF-8 validation and turning a request target into
 * origin-form (base64 is libcommon's base64.h).
 */
#include "common.h"
#include <ctype.h>

#include "base64.h"
#include "exchange.h"
#include "jw.h"
#include "record.h"
#include "timefmt.h"

void xch_init(struct exchange *x)
{
	memset(x, 0, sizeof(*x));
	sb_init(&x->req.body, 0);
	sb_init(&x->resp.body, 0);
	sb_init(&x->replayed.body, 0);
	x->req.bytes = x->resp.bytes = x->replayed.bytes = -1;
	x->latency_ms = -1;
	x->source = "record";
}

static void msg_release(struct xch_msg *m)
{
	xch_headers_release(&m->headers);
	sb_release(&m->body);
}

void xch_release(struct exchange *x)
{
	free(x->id);
	free(x->method);
	free(x->path);
	free(x->error);
	msg_release(&x->req);
	msg_release(&x->resp);
	msg_release(&x->replayed);
	xch_init(x);
}

void xch_header_add(struct xch_headers *h, const char *name, size_t nlen, const char *value,
		    size_t vlen)
{
	ALLOC_GROW(h->v, h->n + 1, h->alloc);
	char *n = xstrndup(name, nlen);
	for (char *p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	h->v[h->n].name = n;
	h->v[h->n].value = xstrndup(value, vlen);
	h->n++;
}

const char *xch_header_get(const struct xch_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcasecmp(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

size_t xch_header_del(struct xch_headers *h, const char *name)
{
	size_t j = 0, gone = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (!strcasecmp(h->v[i].name, name)) {
			free(h->v[i].name);
			free(h->v[i].value);
			gone++;
			continue;
		}
		h->v[j++] = h->v[i];
	}
	h->n = j;
	return gone;
}

void xch_headers_release(struct xch_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* ---- codecs --------------------------------------------------------------- */

bool xch_utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		unsigned cp, min;
		if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

void xch_origin_form(struct strbuf *out, const char *target, struct strbuf *host)
{
	const char *p = NULL;
	if (!strncasecmp(target, "http://", 7))
		p = target + 7;
	else if (!strncasecmp(target, "https://", 8))
		p = target + 8;
	if (!p) {
		sb_addstr(out, target);
		return;
	}
	size_t alen = strcspn(p, "/?#");
	if (host)
		sb_add(host, p, alen);
	p += alen;
	size_t plen = strcspn(p, "#");
	if (plen == 0 || p[0] != '/')
		sb_addch(out, '/');
	sb_add(out, p, plen);
}

/* ---- writing -------------------------------------------------------------- */

static void write_headers(struct jw *w, const struct xch_headers *h)
{
	struct strbuf v = SB_INIT;
	jw_key(w, "headers");
	jw_obj_begin(w);
	for (size_t i = 0; i < h->n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(h->v[k].name, h->v[i].name);
		if (seen)
			continue;
		sb_reset(&v);
		sb_addstr(&v, h->v[i].value);
		for (size_t k = i + 1; k < h->n; k++)
			if (!strcmp(h->v[k].name, h->v[i].name)) {
				sb_addstr(&v, ", ");
				sb_addstr(&v, h->v[k].value);
			}
		jw_key(w, h->v[i].name);
		jw_strn(w, v.buf, v.len);
	}
	jw_obj_end(w);
	sb_release(&v);
}

static void write_body(struct jw *w, const struct strbuf *body)
{
	if (!body->len)
		return;
	if (xch_utf8_ok(body->buf, body->len)) {
		jw_key(w, "body");
		jw_strn(w, body->buf, body->len);
		return;
	}
	struct strbuf b = SB_INIT;
	b64_encode(&b, body->buf, body->len);
	jw_key(w, "body_base64");
	jw_strn(w, b.buf, b.len);
	sb_release(&b);
}

static void write_response(struct jw *w, const char *key, const struct xch_msg *m)
{
	if (!m->present)
		return;
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kv_int(w, "status", m->status);
	if (m->bytes >= 0) {
		jw_kv_int(w, "bytes", m->bytes);
	} else {
		write_headers(w, &m->headers);
		write_body(w, &m->body);
	}
	jw_obj_end(w);
}

void xch_write(const struct exchange *x, struct strbuf *sb)
{
	struct jw w;
	jw_init(&w, sb);
	rec_begin_at(&w, "replay.exchange", x->ts_ns);
	jw_kv_str(&w, "id", x->id ? x->id : "");
	jw_kv_str(&w, "source", x->source);
	jw_key(&w, "request");
	jw_obj_begin(&w);
	jw_kv_str(&w, "method", x->method ? x->method : "GET");
	jw_kv_str(&w, "path", x->path ? x->path : "/");
	write_headers(&w, &x->req.headers);
	write_body(&w, &x->req.body);
	jw_obj_end(&w);
	write_response(&w, "response", &x->resp);
	write_response(&w, "replayed", &x->replayed);
	if (x->latency_ms >= 0)
		jw_kv_double(&w, "latency_ms", x->latency_ms);
	if (x->error)
		jw_kv_str(&w, "error", x->error);
	jw_obj_end(&w);
}

/* ---- reading -------------------------------------------------------------- */

static int read_msg(const cJSON *o, const char *where, struct xch_msg *m, bool is_resp,
		    struct strbuf *err)
{
	if (!cJSON_IsObject(o)) {
		sb_addf(err, "/%s: must be an object", where);
		return -1;
	}
	if (is_resp) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
		if (!cJSON_IsNumber(st) || st->valuedouble < 0 || st->valuedouble > 999) {
			sb_addf(err, "/%s/status: must be a number 0..999", where);
			return -1;
		}
		m->present = true;
		m->status = (int)st->valuedouble;
		const cJSON *by = cJSON_GetObjectItemCaseSensitive(o, "bytes");
		if (cJSON_IsNumber(by) && by->valuedouble >= 0)
			m->bytes = (int64_t)by->valuedouble;
	}
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
	if (h && !cJSON_IsObject(h)) {
		sb_addf(err, "/%s/headers: must be an object", where);
		return -1;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, h) {
		if (!cJSON_IsString(it)) {
			sb_addf(err, "/%s/headers/%s: must be a string", where, it->string);
			return -1;
		}
		xch_header_add(&m->headers, it->string, strlen(it->string), it->valuestring,
			       strlen(it->valuestring));
	}
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "body");
	const cJSON *b64v = cJSON_GetObjectItemCaseSensitive(o, "body_base64");
	if (b) {
		if (!cJSON_IsString(b)) {
			sb_addf(err, "/%s/body: must be a string", where);
			return -1;
		}
		sb_addstr(&m->body, b->valuestring);
	} else if (b64v) {
		if (!cJSON_IsString(b64v) ||
		    b64_decode(&m->body, b64v->valuestring, strlen(b64v->valuestring))) {
			sb_addf(err, "/%s/body_base64: must be base64 text", where);
			return -1;
		}
	}
	return 0;
}

int xch_from_json(const cJSON *rec, struct exchange *x, struct strbuf *err)
{
	xch_release(x);
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	if (!cJSON_IsString(ts) || ts_parse(ts->valuestring, strlen(ts->valuestring), &x->ts_ns)) {
		sb_addstr(err, "/ts: must be an RFC 3339 time");
		return -1;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	x->id = xstrdup(cJSON_IsString(id) ? id->valuestring : "");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(rec, "source");
	static const char *const sources[] = { "record", "goreplay", "har", "nginx" };
	for (size_t i = 0; cJSON_IsString(src) && i < ARRAY_SIZE(sources); i++)
		if (!strcmp(src->valuestring, sources[i]))
			x->source = sources[i];
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(rec, "request");
	if (!req) {
		sb_addstr(err, "/request: missing");
		return -1;
	}
	if (read_msg(req, "request", &x->req, false, err))
		return -1;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "method");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "path");
	if (!cJSON_IsString(m) || !*m->valuestring) {
		sb_addstr(err, "/request/method: must be a non-empty string");
		return -1;
	}
	if (!cJSON_IsString(p) || p->valuestring[0] != '/') {
		sb_addstr(err, "/request/path: must be a string starting with '/'");
		return -1;
	}
	x->method = xstrdup(m->valuestring);
	x->path = xstrdup(p->valuestring);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "response");
	if (r && read_msg(r, "response", &x->resp, true, err))
		return -1;
	r = cJSON_GetObjectItemCaseSensitive(rec, "replayed");
	if (r && read_msg(r, "replayed", &x->replayed, true, err))
		return -1;
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(rec, "latency_ms");
	if (cJSON_IsNumber(lat) && lat->valuedouble >= 0)
		x->latency_ms = lat->valuedouble;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	if (cJSON_IsString(e))
		x->error = xstrdup(e->valuestring);
	return 0;
}
