/*
 * fuzz_topology.c: libFuzzer target for topology.c.
 *
 * The input goes through cfg_parse_string and, when it is JSON, through
 * topo_parse. A rejected topology must come back empty with at least one
 * error, every error a line naming the file. An accepted one must keep
 * the loader's promises: a graph node per service and no cycle, unique
 * non-empty ids that topo_find_instance finds, and each check complete
 * for its kind (a URL for http, an address for tcp, exactly one of argv
 * and shell for exec, a file and a TTL for heartbeat). The same document
 * is then offered as targets, alone and element by element when it is an
 * array (a bounded number), to an empty topology and to the parsed one:
 * a refusal is one line without a newline, and topo_finish must accept
 * whatever was added. Nothing is written anywhere; everything is freed.
 */
#include "common.h"

#include "config.h"
#include "fuzz_check.h"
#include "strbuf.h"
#include "topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TARGETS 64

static void check_topology(const struct topology *t)
{
	if (!t->deps || t->deps->nnodes != t->nservices)
		abort();
	size_t *order = xcalloc(t->nservices + 1, sizeof(*order));
	if (graph_reverse_topo(t->deps, order, NULL) < 0)
		abort();
	free(order);
	for (size_t s = 0; s < t->nservices; s++) {
		const struct topo_service *svc = &t->services[s];
		if (topo_service_index(t, svc->name) != (int)s)
			abort();
		if (svc->quorum < (svc->ninstances ? 1 : 0) ||
		    (size_t)svc->quorum > svc->ninstances)
			abort();
		if (svc->rise < 1 || svc->fall < 1)
			abort();
		for (size_t i = 0; i < svc->ninstances; i++) {
			const struct topo_instance *in = &svc->instances[i];
			const struct check_spec *c = &in->check;
			if (!*in->id || in->service != s || topo_find_instance(t, in->id) != in)
				abort();
			if (c->timeout_ms < 1)
				abort();
			switch (c->kind) {
			case CHECK_HTTP:
				if (!c->url || (strncasecmp(c->url, "http://", 7) != 0 &&
						strncasecmp(c->url, "https://", 8) != 0))
					abort();
				break;
			case CHECK_TCP:
				if (!c->host || !*c->host || c->port < 1 || c->port > 65535)
					abort();
				break;
			case CHECK_EXEC:
				if (!c->argv == !c->shell || (c->argv && !*c->argv[0]) || !c->env)
					abort();
				break;
			case CHECK_HEARTBEAT:
				if (!c->file || c->ttl_ms < 1)
					abort();
				break;
			}
			if ((c->body_regex && !c->body_re_ready) ||
			    (c->expect && !c->expect_re_ready))
				abort();
		}
	}
}

/* Offer rec as a target; check the promises of topo_add_target. */
static void add_target(struct topology *t, const cJSON *rec)
{
	struct strbuf err = SB_INIT;
	size_t before = 0;
	for (size_t s = 0; s < t->nservices; s++)
		before += t->services[s].ninstances;
	size_t nservices = t->nservices;
	int r = topo_add_target(t, rec, &err);
	size_t after = 0;
	for (size_t s = 0; s < t->nservices; s++)
		after += t->services[s].ninstances;
	if (r == 0 && (err.len || after != before + 1))
		abort();
	if (r < 0 && (!err.len || memchr(err.buf, '\n', err.len) || after != before ||
		      t->nservices != nservices))
		abort();
	sb_release(&err);
}

static void add_targets(struct topology *t, const cJSON *doc)
{
	add_target(t, doc);
	if (cJSON_IsArray(doc)) {
		int n = 0;
		for (const cJSON *e = doc->child; e && n < MAX_TARGETS; e = e->next, n++)
			add_target(t, e);
	}
	struct strbuf err = SB_INIT;
	if (topo_finish(t, &err) < 0 || err.len)
		abort();
	check_topology(t);
	sb_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	struct strbuf err = SB_INIT;
	if (cfg_parse_string("fuzz.json", (const char *)data, size, &c, &err) < 0) {
		sb_release(&err);
		cfg_free(&c);
		return 0;
	}
	struct topology t;
	int r = topo_parse("fuzz.json", c.root, &t, &err);
	if (r < 0) {
		fuzz_check_lines(&err, "fuzz.json: ");
		if (t.services || t.nservices || t.deps)
			abort();
	} else {
		if (err.len)
			abort();
		check_topology(&t);
		add_targets(&t, c.root);
	}
	topo_free(&t);

	struct topology empty;
	topo_init(&empty);
	add_targets(&empty, c.root);
	topo_free(&empty);

	sb_release(&err);
	cfg_free(&c);
	return 0;
}
