/*
 * test_reqrec.c: reqrec.c reads the requests ofs-replay play and
 * ofs-split send send again: a table of request objects (valid ones with
 * what they become, invalid ones with the exact message, under both
 * "/request" and the bare record's "" prefix), then the write and
 * hop-by-hop rules.
 */
#include "common.h"

#include "reqrec.h"
#include "tap.h"

static const struct {
	const char *json;  /* the request object */
	const char *where;
	const char *want;  /* "METHOD PATH BODY HEADERS" or the error */
	bool ok;
} cases[] = {
	{ "{\"method\":\"get\",\"path\":\"/catalog/book\"}", "/request",
	  "GET /catalog/book [] 0", true },
	{ "{\"method\":\"Post\",\"path\":\"/reserve?x=1\",\"headers\":{\"a\":\"1\",\"b\":\"2\"},"
	  "\"body\":\"{\\\"sku\\\":\\\"book\\\"}\"}",
	  "", "POST /reserve?x=1 [{\"sku\":\"book\"}] 2", true },
	{ "{\"method\":\"PUT\",\"path\":\"/x\",\"body_base64\":\"AGI=\"}", "", "PUT /x [\\0b] 0",
	  true },
	{ "{\"method\":\"GET\",\"path\":\"/x\",\"body\":null,\"headers\":null}", "",
	  "GET /x [] 0", true },
	{ "{\"method\":\"DELETE\",\"path\":\"/x\",\"body\":\"\"}", "", "DELETE /x [] 0 body",
	  true },
	{ "{\"path\":\"/x\"}", "/request", "/request/method: missing or not a method name",
	  false },
	{ "{\"method\":\"\",\"path\":\"/x\"}", "", "/method: missing or not a method name", false },
	{ "{\"method\":\"G-T\",\"path\":\"/x\"}", "", "/method: invalid method 'G-T'", false },
	{ "{\"method\":\"GETGETGETGETGETGETGETGETGETGETGET\",\"path\":\"/x\"}", "",
	  "/method: missing or not a method name", false },
	{ "{\"method\":\"GET\"}", "/request", "/request/path: missing or not starting with '/'",
	  false },
	{ "{\"method\":\"GET\",\"path\":\"x\"}", "", "/path: missing or not starting with '/'",
	  false },
	{ "{\"method\":\"GET\",\"path\":\"/a b\"}", "",
	  "/path: contains a blank or control character", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\\u0001\"}", "/request",
	  "/request/path: contains a blank or control character", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\",\"headers\":[]}", "/request",
	  "/request/headers: must be an object", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\",\"headers\":{\"x-n\":1}}", "",
	  "/headers/x-n: must be a string", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\",\"body\":{}}", "", "/body: must be a string", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\",\"body_base64\":\"%%\"}", "/request",
	  "/request/body_base64: must be a base64 string", false },
	{ "{\"method\":\"GET\",\"path\":\"/a\",\"body_base64\":7}", "",
	  "/body_base64: must be a base64 string", false },
};

static void describe(struct strbuf *out, const struct reqrec *rr)
{
	sb_addf(out, "%s %s [", rr->method, rr->path);
	for (size_t i = 0; i < rr->body.len; i++) {
		if (rr->body.buf[i])
			sb_addch(out, rr->body.buf[i]);
		else
			sb_addstr(out, "\\0");
	}
	size_t nh = 0;
	const cJSON *h;
	cJSON_ArrayForEach(h, rr->headers)
		nh++;
	sb_addf(out, "] %zu%s", nh, rr->has_body && !rr->body.len ? " body" : "");
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cJSON *o = cJSON_Parse(cases[i].json);
		if (!o)
			die("case %zu: bad JSON", i);
		struct reqrec rr;
		struct strbuf err = SB_INIT, got = SB_INIT;
		int rc = reqrec_parse(&rr, o, cases[i].where, &err);
		if (rc == 0)
			describe(&got, &rr);
		else
			sb_addstr(&got, err.buf);
		ok(rc == (cases[i].ok ? 0 : -1), "case %zu returns %d", i, rc);
		is_str(got.buf, cases[i].want, cases[i].json);
		if (rc == 0)
			reqrec_release(&rr);
		sb_release(&err);
		sb_release(&got);
		cJSON_Delete(o);
	}

	/* A response's body and headers through the same readers. */
	cJSON *resp = cJSON_Parse("{\"status\":200,\"headers\":{\"a\":\"b\"}}");
	struct strbuf body = SB_INIT, err = SB_INIT;
	const cJSON *h = NULL;
	is_int(reqrec_body(resp, "/response", &body, &err), 0, "no body: 0");
	is_int(reqrec_headers(resp, "/response", &h, &err), 0, "headers read");
	ok(h && cJSON_IsObject(h), "headers are the record's object");
	cJSON_Delete(resp);
	sb_release(&body);
	sb_release(&err);

	ok(reqrec_is_write("POST") && reqrec_is_write("PUT") && reqrec_is_write("PATCH") &&
		   reqrec_is_write("DELETE"),
	   "POST PUT PATCH DELETE are writes");
	ok(!reqrec_is_write("GET") && !reqrec_is_write("HEAD") && !reqrec_is_write("OPTIONS"),
	   "GET HEAD OPTIONS are not");
	ok(reqrec_hop_by_hop("Connection") && reqrec_hop_by_hop("HOST") &&
		   reqrec_hop_by_hop("content-length") && reqrec_hop_by_hop("Transfer-Encoding") &&
		   reqrec_hop_by_hop("expect"),
	   "hop-by-hop fields, Host, Content-Length and Expect are not sent again");
	ok(!reqrec_hop_by_hop("Accept") && !reqrec_hop_by_hop("Idempotency-Key") &&
		   !reqrec_hop_by_hop("Content-Type"),
	   "end-to-end fields are");
	return tap_done();
}
