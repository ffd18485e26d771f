/*
 * fuzz_replay_har.c: libFuzzer target for ofs-replay's HAR reader
 * (cmd/ofs-replay/har.c and exchange.c, linked in by the Makefile).
 *
 * The input is parsed as a HAR document; every entry of log.entries is
 * converted. A rejected entry must say why with a JSON pointer (the
 * reason starts with "/" or ": "); an accepted one must give an
 * exchange with a method, an origin-form path and lower-case header
 * names, which xch_write turns into one line of valid JSON that
 * xch_from_json reads back to the same status and bodies, and the same
 * method and path when they are valid UTF-8 (others come back with
 * U+FFFD in place of the bad bytes, as jw.h promises).
 * Everything is freed.
 */
#include "common.h"
#include <ctype.h>

#include "exchange.h"
#include "har.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_headers(const struct xch_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		for (const char *p = h->v[i].name; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
}

static void same_body(const struct strbuf *a, const struct strbuf *b)
{
	if (a->len != b->len || memcmp(a->buf, b->buf, a->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *entries =
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "log"), "entries");
	const cJSON *e;
	size_t i = 0;
	struct strbuf err = SB_INIT, line = SB_INIT, err2 = SB_INIT;
	cJSON_ArrayForEach(e, entries) {
		struct exchange x, y;
		xch_init(&x);
		xch_init(&y);
		sb_reset(&err);
		if (har_convert_entry(e, i++, &x, &err)) {
			if (!err.len || (err.buf[0] != '/' && err.buf[0] != ':'))
				abort();
		} else {
			if (err.len || !x.method || !*x.method || !x.path || x.path[0] != '/')
				abort();
			check_headers(&x.req.headers);
			check_headers(&x.resp.headers);
			sb_reset(&line);
			xch_write(&x, &line);
			if (memchr(line.buf, '\n', line.len))
				abort();
			cJSON *back = cJSON_ParseWithLength(line.buf, line.len);
			sb_reset(&err2);
			if (!back || xch_from_json(back, &y, &err2))
				abort();
			/* Text that is not UTF-8 comes back with U+FFFD (jw.h). */
			bool text_ok = xch_utf8_ok(x.method, strlen(x.method)) &&
				       xch_utf8_ok(x.path, strlen(x.path));
			if ((text_ok && (strcmp(x.method, y.method) || strcmp(x.path, y.path))) ||
			    x.resp.present != y.resp.present || x.resp.status != y.resp.status)
				abort();
			/* Bodies with NUL bytes or bad UTF-8 go through base64. */
			same_body(&x.req.body, &y.req.body);
			same_body(&x.resp.body, &y.resp.body);
			cJSON_Delete(back);
		}
		xch_release(&x);
		xch_release(&y);
	}
	sb_release(&err);
	sb_release(&err2);
	sb_release(&line);
	cJSON_Delete(root);
	return 0;
}
