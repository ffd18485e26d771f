/*
 * registry_serve.c: `schema serve`, a registry directory behind the
 * Confluent Schema Registry REST API (the part of it for JSON schemas).
 *
 * Teams without a Confluent installation get a registry their producers
 * and CI can talk to with the usual clients, and ofs-replay's own REST
 * client is tested against it. The routes:
 *
 *   GET  /subjects                                  ["a","b"]
 *   GET  /subjects/S/versions                       [1,2]
 *   GET  /subjects/S/versions/V|latest              {"subject","version","id","schemaType","schema"}
 *   POST /subjects/S/versions                       {"id"}   (409 incompatible, 422 invalid)
 *   POST /subjects/S                                the version holding that schema (40403 if none)
 *   POST /compatibility/subjects/S/versions/V|latest {"is_compatible"} (+"messages" with ?verbose=true)
 *   GET  /config, GET /config/S                     {"compatibilityLevel"}
 *   PUT  /config, PUT /config/S                     {"compatibility"}
 *
 * Answers carry application/vnd.schemaregistry.v1+json; errors are
 * {"error_code":40401,"message":"..."} with Confluent's codes. The server
 * is single-threaded (httpd.h); registering takes the directory's lock,
 * so a `schema register` run beside it stays safe.
 */
#include "common.h"

#include "httpd.h"
#include "jschema.h"
#include "jw.h"
#include "record.h"
#include "registry.h"
#include "sig.h"

#define MEDIA_TYPE "application/vnd.schemaregistry.v1+json"

struct srv {
	struct registry *reg;
};

static void answer(struct httpd_response *resp, int status, struct strbuf *body)
{
	resp->status = status;
	httpd_response_header(resp, "Content-Type", MEDIA_TYPE);
	sb_add(&resp->body, body->buf, body->len);
	sb_release(body);
}

static void fail(struct httpd_response *resp, int status, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct httpd_response *resp, int status, int code, const char *fmt, ...)
{
	struct strbuf msg = SB_INIT, body = SB_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&msg, fmt, ap);
	va_end(ap);
	struct jw w;
	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_int(&w, "error_code", code);
	jw_kv_str(&w, "message", msg.buf);
	jw_obj_end(&w);
	sb_release(&msg);
	answer(resp, status, &body);
}

/* A registry error as the API reports it. */
static void fail_reg(struct httpd_response *resp, int rc, const char *subject,
		     const struct strbuf *err)
{
	if (rc == REG_NOT_FOUND && strstr(err->buf, "not found"))
		fail(resp, 404, 40401, "Subject '%s' not found.", subject);
	else if (rc == REG_NOT_FOUND)
		fail(resp, 404, 40402, "Version not found.");
	else if (rc == REG_INVALID)
		fail(resp, 422, 42201, "Invalid schema: %s", err->buf);
	else
		fail(resp, 500, 50001, "Error in the backend data store: %s", err->buf);
}

/* The next path segment after *p (which points at a '/'), into seg. */
static bool segment(const char **p, struct strbuf *seg)
{
	sb_reset(seg);
	if (**p != '/')
		return false;
	(*p)++;
	while (**p && **p != '/')
		sb_addch(seg, *(*p)++);
	return seg->len > 0;
}

/* The schema of a POST body; NULL after answering 422. */
static cJSON *body_schema(struct httpd_request *req, struct httpd_response *resp)
{
	cJSON *j = cJSON_ParseWithLength(req->body.buf, req->body.len);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "schema");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "schemaType");
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(j, "references");
	cJSON *schema = NULL;
	if (!cJSON_IsString(s))
		fail(resp, 422, 42201, "Invalid schema: the body needs \"schema\", a string");
	else if (!cJSON_IsString(t) || strcmp(t->valuestring, "JSON"))
		fail(resp, 422, 42201, "Invalid schema: only schemaType JSON is supported");
	else if (refs && cJSON_GetArraySize(refs) > 0)
		fail(resp, 422, 42201, "Invalid schema: references are not supported");
	else if (!(schema = cJSON_Parse(s->valuestring)))
		fail(resp, 422, 42201, "Invalid schema: not JSON");
	cJSON_Delete(j);
	return schema;
}

static void put_schema_obj(struct strbuf *body, const char *subject, const struct reg_schema *rs)
{
	struct strbuf text = SB_INIT;
	struct jw w;
	jw_init(&w, &text);
	jw_cjson(&w, rs->schema);
	jw_init(&w, body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "subject", subject);
	jw_kv_int(&w, "version", rs->version);
	jw_kv_int(&w, "id", rs->id);
	jw_kv_str(&w, "schemaType", "JSON");
	jw_key(&w, "schema");
	jw_strn(&w, text.buf, text.len);
	jw_obj_end(&w);
	sb_release(&text);
}

static void message_fn(const struct compat_problem *p, void *user)
{
	struct jw *w = user;
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s: %s: %s (%s, version %zu)", *p->pointer ? p->pointer : "(root)", p->rule,
		p->message, p->direction, p->old);
	jw_str(w, sb.buf);
	sb_release(&sb);
}

static void do_register(struct srv *s, const char *subject, struct httpd_request *req,
			struct httpd_response *resp)
{
	cJSON *schema = body_schema(req, resp);
	if (!schema)
		return;
	struct strbuf err = SB_INIT, body = SB_INIT;
	struct reg_result res;
	int rc = registry_register(s->reg, subject, schema, &res, NULL, NULL, &err);
	if (rc == REG_OK) {
		sb_addf(&body, "{\"id\":%d}", res.id);
		answer(resp, 200, &body);
	} else if (rc == REG_INCOMPATIBLE) {
		fail(resp, 409, 409,
		     "Schema being registered is incompatible with an earlier schema for subject "
		     "\"%s\"", subject);
	} else {
		fail_reg(resp, rc, subject, &err);
	}
	sb_release(&err);
	cJSON_Delete(schema);
}

static void do_lookup(struct srv *s, const char *subject, struct httpd_request *req,
		      struct httpd_response *resp)
{
	cJSON *schema = body_schema(req, resp);
	if (!schema)
		return;
	struct strbuf err = SB_INIT, body = SB_INIT;
	int *v = NULL;
	size_t n = 0;
	int rc = registry_versions(s->reg, subject, &v, &n, &err);
	bool found = false;
	for (size_t i = n; rc == REG_OK && i-- > 0 && !found;) {
		struct reg_schema rs;
		rc = registry_get(s->reg, subject, v[i], &rs, &err);
		if (rc != REG_OK)
			break;
		if (cJSON_Compare(rs.schema, schema, true)) {
			put_schema_obj(&body, subject, &rs);
			answer(resp, 200, &body);
			found = true;
		}
		cJSON_Delete(rs.schema);
	}
	if (rc != REG_OK)
		fail_reg(resp, rc, subject, &err);
	else if (!found)
		fail(resp, 404, 40403, "Schema not found");
	free(v);
	sb_release(&err);
	cJSON_Delete(schema);
}

static void do_compat(struct srv *s, const char *subject, struct httpd_request *req,
		      struct httpd_response *resp)
{
	cJSON *schema = body_schema(req, resp);
	if (!schema)
		return;
	struct strbuf err = SB_INIT, body = SB_INIT;
	int *v = NULL;
	size_t n = 0, nproblems = 0;
	int rc = registry_versions(s->reg, subject, &v, &n, &err);
	free(v);
	bool verbose = strstr(req->query, "verbose=true") != NULL;
	struct strbuf msgs = SB_INIT;
	struct jw mw;
	jw_init(&mw, &msgs);
	jw_arr_begin(&mw);
	if (rc == REG_OK)
		rc = registry_compat(s->reg, subject, schema, -1, &nproblems, message_fn, &mw, &err);
	jw_arr_end(&mw);
	if (rc == REG_OK) {
		struct jw w;
		jw_init(&w, &body);
		jw_obj_begin(&w);
		jw_kv_bool(&w, "is_compatible", nproblems == 0);
		if (verbose) {
			jw_key(&w, "messages");
			jw_raw(&w, msgs.buf, msgs.len);
		}
		jw_obj_end(&w);
	}
	sb_release(&msgs);
	if (rc == REG_OK)
		answer(resp, 200, &body);
	else
		fail_reg(resp, rc, subject, &err);
	sb_release(&body);
	sb_release(&err);
	cJSON_Delete(schema);
}

static void do_config(struct srv *s, const char *subject, struct httpd_request *req,
		      struct httpd_response *resp)
{
	struct strbuf err = SB_INIT, body = SB_INIT;
	enum compat_mode mode;
	int rc;
	if (!strcmp(req->method, "GET")) {
		rc = registry_mode(s->reg, subject, &mode, &err);
		if (rc == REG_OK) {
			sb_addf(&body, "{\"compatibilityLevel\":\"%s\"}", compat_mode_name(mode));
			answer(resp, 200, &body);
		} else {
			fail_reg(resp, rc, subject ? subject : "", &err);
		}
	} else if (!strcmp(req->method, "PUT")) {
		cJSON *j = cJSON_ParseWithLength(req->body.buf, req->body.len);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "compatibility");
		int m = cJSON_IsString(c) ? compat_mode_parse(c->valuestring) : -1;
		cJSON_Delete(j);
		if (m < 0) {
			fail(resp, 422, 42203, "Invalid compatibility level");
		} else if ((rc = registry_set_mode(s->reg, subject, (enum compat_mode)m, &err)) !=
			   REG_OK) {
			fail_reg(resp, rc, subject ? subject : "", &err);
		} else {
			sb_addf(&body, "{\"compatibility\":\"%s\"}", compat_mode_name(m));
			answer(resp, 200, &body);
		}
	} else {
		fail(resp, 405, 405, "HTTP 405 Method Not Allowed");
	}
	sb_release(&err);
	sb_release(&body);
}

static void do_versions(struct srv *s, const char *subject, struct httpd_response *resp)
{
	struct strbuf err = SB_INIT, body = SB_INIT;
	int *v = NULL;
	size_t n = 0;
	int rc = registry_versions(s->reg, subject, &v, &n, &err);
	if (rc == REG_OK) {
		sb_addch(&body, '[');
		for (size_t i = 0; i < n; i++)
			sb_addf(&body, "%s%d", i ? "," : "", v[i]);
		sb_addch(&body, ']');
		answer(resp, 200, &body);
	} else {
		fail_reg(resp, rc, subject, &err);
	}
	free(v);
	sb_release(&err);
}

static void do_get(struct srv *s, const char *subject, const char *ver,
		   struct httpd_response *resp)
{
	struct strbuf err = SB_INIT, body = SB_INIT;
	int version = 0;
	if (strcmp(ver, "latest")) {
		char *end;
		errno = 0;
		long v = strtol(ver, &end, 10);
		if (errno || *end || v < 1 || v > INT_MAX) {
			fail(resp, 422, 42202,
			     "The specified version '%s' is not a valid version id. Allowed values are "
			     "between [1, 2^31-1] and the string \"latest\"",
			     ver);
			return;
		}
		version = (int)v;
	}
	struct reg_schema rs;
	int rc = registry_get(s->reg, subject, version, &rs, &err);
	if (rc == REG_OK) {
		put_schema_obj(&body, subject, &rs);
		cJSON_Delete(rs.schema);
		answer(resp, 200, &body);
	} else {
		fail_reg(resp, rc, subject, &err);
	}
	sb_release(&err);
}

static void handle(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	struct srv *s = user;
	struct strbuf a = SB_INIT, subj = SB_INIT, c = SB_INIT, d = SB_INIT;
	const char *p = req->path;
	const char *m = req->method;
	bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST");
	segment(&p, &a);
	if (!strcmp(a.buf, "subjects")) {
		bool has_subj = segment(&p, &subj);
		bool has_c = segment(&p, &c);
		bool has_d = segment(&p, &d);
		if (*p) {
			fail(resp, 404, 404, "HTTP 404 Not Found");
		} else if (has_subj && !registry_subject_ok(subj.buf)) {
			fail(resp, 404, 40401, "Subject '%s' not found.", subj.buf);
		} else if (!has_subj && get) {
			char **names;
			size_t n;
			struct strbuf err = SB_INIT, body = SB_INIT;
			if (registry_subjects(s->reg, &names, &n, &err) == REG_OK) {
				struct jw w;
				jw_init(&w, &body);
				jw_arr_begin(&w);
				for (size_t i = 0; i < n; i++) {
					jw_str(&w, names[i]);
					free(names[i]);
				}
				jw_arr_end(&w);
				free(names);
				answer(resp, 200, &body);
			} else {
				fail(resp, 500, 50001, "Error in the backend data store: %s", err.buf);
			}
			sb_release(&err);
		} else if (has_subj && !has_c && post) {
			do_lookup(s, subj.buf, req, resp);
		} else if (has_subj && has_c && !strcmp(c.buf, "versions") && !has_d && get) {
			do_versions(s, subj.buf, resp);
		} else if (has_subj && has_c && !strcmp(c.buf, "versions") && !has_d && post) {
			do_register(s, subj.buf, req, resp);
		} else if (has_subj && has_c && !strcmp(c.buf, "versions") && has_d && get) {
			do_get(s, subj.buf, d.buf, resp);
		} else if (has_subj) {
			fail(resp, 405, 405, "HTTP 405 Method Not Allowed");
		} else {
			fail(resp, 404, 404, "HTTP 404 Not Found");
		}
	} else if (!strcmp(a.buf, "compatibility")) {
		struct strbuf b = SB_INIT;
		bool ok = segment(&p, &b) && !strcmp(b.buf, "subjects") && segment(&p, &subj) &&
			  segment(&p, &c) && !strcmp(c.buf, "versions") && segment(&p, &d) && !*p;
		sb_release(&b);
		if (!ok)
			fail(resp, 404, 404, "HTTP 404 Not Found");
		else if (!post)
			fail(resp, 405, 405, "HTTP 405 Method Not Allowed");
		else if (!registry_subject_ok(subj.buf))
			fail(resp, 404, 40401, "Subject '%s' not found.", subj.buf);
		else
			do_compat(s, subj.buf, req, resp);
	} else if (!strcmp(a.buf, "config")) {
		bool has_subj = segment(&p, &subj);
		if (*p)
			fail(resp, 404, 404, "HTTP 404 Not Found");
		else if (has_subj && !registry_subject_ok(subj.buf))
			fail(resp, 404, 40401, "Subject '%s' not found.", subj.buf);
		else
			do_config(s, has_subj ? subj.buf : NULL, req, resp);
	} else {
		fail(resp, 404, 404, "HTTP 404 Not Found");
	}
	sb_release(&a);
	sb_release(&subj);
	sb_release(&c);
	sb_release(&d);
}

int registry_serve(const char *dir, const char *listen, struct strbuf *err)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == listen || !colon[1] || *end || port < 0 || port > 65535) {
		sb_addf(err, "--listen: '%s' is not ADDR:PORT", listen);
		return EXIT_USAGE;
	}
	struct registry *reg = registry_open(dir, err);
	if (!reg)
		return EXIT_SYSTEM;
	char *addr = xstrndup(listen, (size_t)(colon - listen));
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		char *inner = xstrndup(addr + 1, strlen(addr) - 2);
		free(addr);
		addr = inner;
	}
	struct srv s = { reg };
	struct httpd_config cfg = { 0 };
	cfg.bind_addr = addr;
	cfg.port = (int)port;
	cfg.handler = handle;
	cfg.user = &s;
	sig_setup();
	struct httpd *h = httpd_new(&cfg, err);
	if (!h) {
		free(addr);
		registry_close(reg);
		return EXIT_SYSTEM;
	}
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "replay.schema.serving");
	struct strbuf l = SB_INIT;
	sb_addf(&l, "%s:%d", addr, httpd_port(h));
	jw_kv_str(&w, "listen", l.buf);
	sb_release(&l);
	rec_end(&w, out_stdout());
	out_flush(out_stdout());
	sb_release(&sb);
	int status = EXIT_OK;
	while (!sig_pending()) {
		if (httpd_run_once(h, 200) < 0 && errno != EINTR) {
			sb_addf(err, "poll: %s", strerror(errno));
			status = EXIT_SYSTEM;
			break;
		}
	}
	if (sig_pending())
		status = sig_exit_status();
	httpd_free(h);
	free(addr);
	registry_close(reg);
	return status;
}
