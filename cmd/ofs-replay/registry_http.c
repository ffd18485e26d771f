/*
 * registry_http.c: the Confluent Schema Registry REST client behind
 * `--registry URL`.
 *
 * Each operation is one or two synchronous requests (http.h, libcurl)
 * with the registry's media type; answers are parsed with cJSON, and an
 * error answer ({"error_code":40401,"message":"..."}) becomes the
 * matching REG_* status with the server's message. Schemas travel as JSON
 * text inside a string, as the API has them, with "schemaType":"JSON".
 */
#include "common.h"

#include "http.h"
#include "jw.h"
#include "registry.h"

#define MEDIA_TYPE "application/vnd.schemaregistry.v1+json"

struct regh {
	char *base; /* without a trailing slash */
};

struct regh *regh_open(const char *url, struct strbuf *err)
{
	(void)err;
	struct regh *h = xcalloc(1, sizeof(*h));
	size_t n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		n--;
	h->base = xstrndup(url, n);
	return h;
}

void regh_close(struct regh *h)
{
	if (!h)
		return;
	free(h->base);
	free(h);
}

/* One request to the path that fmt and its arguments make; *out gets
 * the parsed answer of a 2xx response. */
static int call(struct regh *h, const char *method, const struct strbuf *body, cJSON **out,
		struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int call(struct regh *h, const char *method, const struct strbuf *body, cJSON **out,
		struct strbuf *err, const char *fmt, ...)
{
	static const char *const headers[] = { "Accept: " MEDIA_TYPE,
					       "Content-Type: " MEDIA_TYPE, NULL };
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	struct strbuf u = SB_INIT;
	va_list ap;
	sb_addstr(&u, h->base);
	va_start(ap, fmt);
	sb_vaddf(&u, fmt, ap);
	va_end(ap);
	char *url = sb_detach(&u, NULL);
	req.method = method;
	req.url = url;
	req.headers = headers;
	if (body) {
		req.body = body->buf;
		req.body_len = body->len;
	}
	*out = NULL;
	http_response_init(&resp);
	if (http_do(&req, &resp) < 0) {
		sb_addf(err, "cannot reach '%s': %s", url, resp.error);
		http_response_release(&resp);
		free(url);
		return REG_ERROR;
	}
	cJSON *j = cJSON_ParseWithLength(resp.body.buf, resp.body.len);
	int rc = REG_OK;
	if (resp.status >= 300) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
		sb_addf(err, "%s %s: HTTP %ld", method, url, resp.status);
		if (cJSON_IsString(msg))
			sb_addf(err, ": %s", msg->valuestring);
		if (cJSON_IsNumber(code))
			sb_addf(err, " (error_code %d)", code->valueint);
		rc = resp.status == 404   ? REG_NOT_FOUND
		     : resp.status == 409 ? REG_INCOMPATIBLE
		     : resp.status == 422 ? REG_INVALID
					  : REG_ERROR;
		cJSON_Delete(j);
	} else if (!j) {
		sb_addf(err, "%s %s: the answer is not JSON", method, url);
		rc = REG_ERROR;
	} else {
		*out = j;
	}
	http_response_release(&resp);
	free(url);
	return rc;
}

static int bad_answer(const char *what, cJSON *j, struct strbuf *err)
{
	sb_addf(err, "unexpected answer to %s", what);
	cJSON_Delete(j);
	return REG_ERROR;
}

int regh_subjects(struct regh *h, char ***names, size_t *n, struct strbuf *err)
{
	cJSON *j;
	int rc = call(h, "GET", NULL, &j, err, "/subjects");
	*names = NULL;
	*n = 0;
	if (rc != REG_OK)
		return rc;
	if (!cJSON_IsArray(j))
		return bad_answer("GET /subjects", j, err);
	size_t alloc = 0;
	for (const cJSON *e = j->child; e; e = e->next) {
		if (!cJSON_IsString(e))
			continue;
		ALLOC_GROW(*names, *n + 1, alloc);
		(*names)[(*n)++] = xstrdup(e->valuestring);
	}
	cJSON_Delete(j);
	return REG_OK;
}

int regh_versions(struct regh *h, const char *subject, int **out, size_t *n, struct strbuf *err)
{
	cJSON *j;
	int rc = call(h, "GET", NULL, &j, err, "/subjects/%s/versions", subject);
	*out = NULL;
	*n = 0;
	if (rc != REG_OK)
		return rc;
	if (!cJSON_IsArray(j))
		return bad_answer("GET /subjects/{subject}/versions", j, err);
	size_t alloc = 0;
	for (const cJSON *e = j->child; e; e = e->next) {
		if (!cJSON_IsNumber(e))
			continue;
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = e->valueint;
	}
	cJSON_Delete(j);
	return REG_OK;
}

int regh_get(struct regh *h, const char *subject, int version, struct reg_schema *out,
	     struct strbuf *err)
{
	cJSON *j;
	int rc = version > 0 ? call(h, "GET", NULL, &j, err, "/subjects/%s/versions/%d", subject,
				    version)
			     : call(h, "GET", NULL, &j, err, "/subjects/%s/versions/latest", subject);
	if (rc != REG_OK)
		return rc;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "schema");
	cJSON *schema = cJSON_IsString(s) ? cJSON_Parse(s->valuestring) : NULL;
	if (!cJSON_IsNumber(v) || !cJSON_IsNumber(id) || !schema) {
		cJSON_Delete(schema);
		return bad_answer("GET /subjects/{subject}/versions/{version}", j, err);
	}
	out->version = v->valueint;
	out->id = id->valueint;
	out->schema = schema;
	cJSON_Delete(j);
	return REG_OK;
}

int regh_mode(struct regh *h, const char *subject, enum compat_mode *mode, struct strbuf *err)
{
	cJSON *j;
	int rc = subject ? call(h, "GET", NULL, &j, err, "/config/%s?defaultToGlobal=true", subject)
			 : call(h, "GET", NULL, &j, err, "/config");
	if (rc != REG_OK)
		return rc;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "compatibilityLevel");
	int m = cJSON_IsString(c) ? compat_mode_parse(c->valuestring) : -1;
	if (m < 0)
		return bad_answer("GET /config", j, err);
	*mode = (enum compat_mode)m;
	cJSON_Delete(j);
	return REG_OK;
}

int regh_set_mode(struct regh *h, const char *subject, enum compat_mode mode, struct strbuf *err)
{
	struct strbuf body = SB_INIT;
	sb_addf(&body, "{\"compatibility\":\"%s\"}", compat_mode_name(mode));
	cJSON *j;
	int rc = subject ? call(h, "PUT", &body, &j, err, "/config/%s", subject)
			 : call(h, "PUT", &body, &j, err, "/config");
	sb_release(&body);
	cJSON_Delete(j);
	return rc;
}

int regh_put(struct regh *h, const char *subject, const cJSON *schema, struct reg_result *res,
	     struct strbuf *err)
{
	struct strbuf text = SB_INIT, body = SB_INIT;
	struct jw w;
	jw_init(&w, &text);
	jw_cjson(&w, schema);
	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "schemaType", "JSON");
	jw_key(&w, "schema");
	jw_strn(&w, text.buf, text.len);
	jw_obj_end(&w);
	sb_release(&text);

	cJSON *j;
	int rc = call(h, "POST", &body, &j, err, "/subjects/%s/versions", subject);
	if (rc == REG_OK) {
		cJSON_Delete(j);
		/* The version: look the schema up under the subject. */
		rc = call(h, "POST", &body, &j, err, "/subjects/%s", subject);
	}
	sb_release(&body);
	if (rc != REG_OK)
		return rc;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsNumber(v) || !cJSON_IsNumber(id))
		return bad_answer("POST /subjects/{subject}", j, err);
	res->version = v->valueint;
	res->id = id->valueint;
	res->existing = false;
	cJSON_Delete(j);
	return REG_OK;
}
