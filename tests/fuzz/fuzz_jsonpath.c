/*
 * fuzz_jsonpath.c: libFuzzer target for jsonpath.c.
 *
 * The input is a path, a newline, then a JSON document (without a
 * newline, the whole input is the path and a fixed document is used).
 * A path that does not compile must say why, starting "column N: " with
 * N the column returned and at most one past the path's end. A path that
 * compiles is evaluated twice: both runs must agree; every match must be
 * a node of the document; a failure must leave no matches and give a
 * reason; no run may pass the limits of jsonpath.h. A broken promise
 * aborts.
 */
#include "common.h"

#include "jsonpath.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed[] =
	"{\"a\":[1,2,{\"b\":[3,{\"c\":null}],\"d\":\"x\"}],\"e\":{\"f\":true,\"g\":[[],{}]},"
	"\"h\":-1.5,\"\":\"\"}";

/* Every node of the document, sorted, for membership tests. */
struct nodes {
	const cJSON **v;
	size_t n, alloc;
};

static void collect(struct nodes *ns, const cJSON *node)
{
	ALLOC_GROW(ns->v, ns->n + 1, ns->alloc);
	ns->v[ns->n++] = node;
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		for (const cJSON *c = node->child; c; c = c->next)
			collect(ns, c);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const cJSON *const *)a, y = (uintptr_t) * (const cJSON *const *)b;
	return x < y ? -1 : x > y;
}

static size_t columns(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	char *path = xstrndup((const char *)data, plen);
	cJSON *doc = nl ? cJSON_ParseWithLength((const char *)nl + 1, size - plen - 1)
			: cJSON_Parse(fixed);
	struct strbuf err = SB_INIT;
	size_t col = 0;
	struct jp *jp = jp_compile(path, &err, &col);
	if (!jp) {
		char want[32];
		snprintf(want, sizeof(want), "column %zu: ", col);
		if (col < 1 || col > columns(path) + 1 || strncmp(err.buf, want, strlen(want)) != 0 ||
		    err.len == strlen(want))
			abort();
	} else if (err.len) {
		abort();
	}
	if (jp && doc) {
		struct jp_matches m1 = { NULL, 0, 0 }, m2 = { NULL, 0, 0 };
		struct strbuf e1 = SB_INIT, e2 = SB_INIT;
		int r1 = jp_eval(jp, doc, &m1, &e1);
		int r2 = jp_eval(jp, doc, &m2, &e2);
		if (r1 != r2 || m1.n != m2.n || strcmp(e1.buf, e2.buf) != 0)
			abort();
		if (r1 < 0 && (m1.n || !e1.len))
			abort();
		if (r1 == 0 && (e1.len || m1.n > JP_MAX_MATCHES))
			abort();
		struct nodes ns = { NULL, 0, 0 };
		collect(&ns, doc);
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_ptr);
		for (size_t i = 0; i < m1.n; i++) {
			if (m1.v[i] != m2.v[i])
				abort();
			if (!bsearch(&m1.v[i], ns.v, ns.n, sizeof(*ns.v), cmp_ptr))
				abort();
		}
		free(ns.v);
		jp_matches_release(&m1);
		jp_matches_release(&m2);
		sb_release(&e1);
		sb_release(&e2);
	}
	jp_free(jp);
	cJSON_Delete(doc);
	sb_release(&err);
	free(path);
	return 0;
}
