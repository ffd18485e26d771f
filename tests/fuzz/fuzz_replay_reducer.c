/*
 * fuzz_replay_reducer.c: libFuzzer target for ofs-replay's reducer spec
 * loader (cmd/ofs-replay/reducer.c, linked in by the Makefile).
 *
 * The input is parsed as reducer_load would (strict JSON), then handed
 * to reducer_from_json. A rejected spec must explain itself in lines
 * that each name the file; an accepted one must hold a rule for every
 * member, each with a valid op, a path for append and increment, and
 * an operand for set, merge and append. Each rule is then applied to a
 * small state with a fixed event, which must either succeed or give a
 * reason. Everything is freed.
 */
#include "common.h"

#include "config.h"
#include "fuzz_check.h"
#include "reducer.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

static void try_rule(const struct red_rule *rule)
{
	static const char ev_text[] =
		"{\"data\":{\"a\":1,\"b\":null},\"item\":[1],\"amount\":2,\"x\":{\"y\":\"z\"}}";
	cJSON *state = cJSON_Parse("{\"a\":{\"b\":[1]},\"n\":1,\"items\":[]}");
	cJSON *ev = cJSON_Parse(ev_text);
	struct strbuf why = SB_INIT;
	bool deleted;
	if (red_apply(rule, &state, ev, &deleted, &why) < 0 && !why.len)
		abort();
	if (deleted && state)
		abort();
	cJSON_Delete(state);
	cJSON_Delete(ev);
	sb_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg cfg;
	struct strbuf err = SB_INIT;
	if (cfg_parse_string(NAME, (const char *)data, size, &cfg, &err) < 0) {
		cfg_free(&cfg);
		sb_release(&err);
		return 0;
	}
	struct reducer r;
	if (reducer_from_json(cfg.root, NAME, &r, &err) == 0) {
		if (err.len || ht_len(r.rules) != (size_t)cJSON_GetArraySize(cfg.root))
			abort();
		struct ht_iter it;
		for (ht_iter(&it, r.rules); ht_next(&it);) {
			const struct red_rule *rule = it.value;
			if (rule->op > RED_IGNORE)
				abort();
			if ((rule->op == RED_APPEND || rule->op == RED_INCREMENT) && !rule->path.n)
				abort();
			if ((rule->op == RED_SET || rule->op == RED_MERGE || rule->op == RED_APPEND) &&
			    !rule->has_from)
				abort();
			if (reducer_find(&r, it.key, it.len) != rule)
				abort();
			try_rule(rule);
		}
	} else {
		fuzz_check_lines(&err, NAME ": ");
	}
	reducer_free(&r);
	cfg_free(&cfg);
	sb_release(&err);
	return 0;
}
