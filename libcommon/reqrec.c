/*
 * reqrec.c: reading a recorded HTTP request (reqrec.h), shared by
 * ofs-replay play and ofs-split send so that both accept and reject the
 * same records with the same words.
 *
 * Nothing is copied but the method (upper-cased) and the body (decoded
 * from base64 when it came so): path and headers stay in the cJSON tree
 * the caller owns.
 */
#include "common.h"

#include <ctype.h>

#include "base64.h"
#include "reqrec.h"

int reqrec_body(const cJSON *o, const char *where, struct strbuf *sb, struct strbuf *err)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "body");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(o, "body_base64");
	if (b && !cJSON_IsNull(b)) {
		if (!cJSON_IsString(b)) {
			sb_addf(err, "%s/body: must be a string", where);
			return -1;
		}
		sb_addstr(sb, b->valuestring);
		return 1;
	}
	if (b64 && !cJSON_IsNull(b64)) {
		if (!cJSON_IsString(b64) ||
		    b64_decode(sb, b64->valuestring, strlen(b64->valuestring)) < 0) {
			sb_addf(err, "%s/body_base64: must be a base64 string", where);
			return -1;
		}
		return 1;
	}
	return 0;
}

int reqrec_headers(const cJSON *o, const char *where, const cJSON **out, struct strbuf *err)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
	*out = NULL;
	if (!h || cJSON_IsNull(h))
		return 0;
	if (!cJSON_IsObject(h)) {
		sb_addf(err, "%s/headers: must be an object", where);
		return -1;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, h) {
		if (!cJSON_IsString(v)) {
			sb_addf(err, "%s/headers/%s: must be a string", where, v->string);
			return -1;
		}
	}
	*out = h;
	return 0;
}

int reqrec_parse(struct reqrec *rr, const cJSON *o, const char *where, struct strbuf *err)
{
	memset(rr, 0, sizeof(*rr));
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "method");
	if (!cJSON_IsString(m) || !*m->valuestring || strlen(m->valuestring) > 32) {
		sb_addf(err, "%s/method: missing or not a method name", where);
		return -1;
	}
	for (const char *p = m->valuestring; *p; p++)
		if (!isalpha((unsigned char)*p)) {
			sb_addf(err, "%s/method: invalid method '%s'", where, m->valuestring);
			return -1;
		}
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
	if (!cJSON_IsString(path) || path->valuestring[0] != '/') {
		sb_addf(err, "%s/path: missing or not starting with '/'", where);
		return -1;
	}
	for (const char *p = path->valuestring; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			sb_addf(err, "%s/path: contains a blank or control character", where);
			return -1;
		}
	sb_init(&rr->body, 0);
	int got;
	if (reqrec_headers(o, where, &rr->headers, err) < 0 ||
	    (got = reqrec_body(o, where, &rr->body, err)) < 0) {
		sb_release(&rr->body);
		return -1;
	}
	rr->has_body = got > 0;
	rr->method = xstrdup(m->valuestring);
	for (char *p = rr->method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	rr->path = path->valuestring;
	return 0;
}

void reqrec_release(struct reqrec *rr)
{
	free(rr->method);
	sb_release(&rr->body);
	memset(rr, 0, sizeof(*rr));
	sb_init(&rr->body, 0);
}

bool reqrec_is_write(const char *method)
{
	return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
	       !strcmp(method, "DELETE");
}

bool reqrec_hop_by_hop(const char *name)
{
	static const char *const skip[] = {
		"connection", "keep-alive", "proxy-connection", "te", "trailer",
		"transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization",
		"host", "content-length", "expect", NULL,
	};
	for (size_t i = 0; skip[i]; i++)
		if (!strcasecmp(name, skip[i]))
			return true;
	return false;
}
