/*
 * fuzz_replay_mapspec.c: libFuzzer target for ofs-replay map's spec
 * loader (cmd/ofs-replay/mapspec.c, linked in by the Makefile, and the
 * JSON pointer parser of libcommon/vscan.c).
 *
 * A map spec is the one file that decides how every record of a
 * migration is rewritten, so its loader must never crash, leak, or
 * accept half a spec. The input is parsed as mapspec_load would. A
 * rejected spec must explain itself in lines that each name the file;
 * an accepted one must keep the loader's promises: at least one rule,
 * every rule a known operation with a pointer to a field (not the whole
 * record), rename and move with a target that does not overlap the
 * source, conversions only between the supported pairs with a positive
 * scale, templates of literal text and pointers, enum maps of scalars
 * with distinct sources. Then the spec is reversed: either refused with
 * lines naming the file, or reversed, and reversing it again must give
 * back the rules it started from.
 */
#include "common.h"

#include "fuzz_check.h"
#include "mapspec.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

static bool overlap(const struct vptr *a, const struct vptr *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++)
		if (a->lens[i] != b->lens[i] || memcmp(a->segs[i], b->segs[i], a->lens[i]))
			return false;
	return true;
}

static void check_rule(const struct mr_rule *r)
{
	if (!r->where || strncmp(r->where, "/rules/", 7) != 0 || !r->path.n)
		abort();
	switch (r->op) {
	case MR_RENAME:
		if (r->to.n != r->path.n)
			abort();
		/* fall through */
	case MR_MOVE:
		if (!r->to.n || overlap(&r->path, &r->to))
			abort();
		break;
	case MR_CONVERT:
		if (!(r->scale > 0) || r->from == r->into)
			abort();
		break;
	case MR_COMPUTE:
		if (!r->npieces)
			abort();
		for (size_t i = 0; i < r->npieces; i++)
			if (!r->pieces[i].text == !r->pieces[i].ptr.text)
				abort();
		break;
	case MR_DEFAULT:
		if (!r->value)
			abort();
		break;
	case MR_ENUM:
		if (!r->npairs)
			abort();
		for (size_t i = 0; i < r->npairs; i++)
			for (size_t j = 0; j < i; j++)
				if (cJSON_Compare(r->pair_from[i], r->pair_from[j], true))
					abort();
		break;
	case MR_DROP:
	case MR_KEEP:
		break;
	default:
		abort();
	}
}

/* The rules as text, to compare a spec with its double reverse. */
static void describe(const struct mapspec *ms, struct strbuf *sb)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct mr_rule *r = &ms->rules[i];
		sb_addf(sb, "%s %s %s %s %d %d %g %zu|", r->where, mr_op_name(r->op), r->path.text,
			r->to.text ? r->to.text : "-", (int)r->from, (int)r->into, r->scale, r->npairs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapspec ms;
	struct strbuf err = SB_INIT;
	if (mapspec_parse(NAME, (const char *)data, size, &ms, &err) < 0) {
		fuzz_check_lines(&err, NAME ":");
		if (ms.n || ms.rules)
			abort();
		sb_release(&err);
		return 0;
	}
	if (err.len || !ms.n)
		abort();
	for (size_t i = 0; i < ms.n; i++)
		check_rule(&ms.rules[i]);
	struct strbuf before = SB_INIT, after = SB_INIT;
	describe(&ms, &before);
	if (mapspec_reverse(&ms, &err) < 0) {
		fuzz_check_lines(&err, NAME ":");
	} else {
		if (err.len || mapspec_reverse(&ms, &err) < 0)
			abort();
		describe(&ms, &after);
		if (strcmp(before.buf, after.buf) != 0)
			abort();
	}
	sb_release(&before);
	sb_release(&after);
	sb_release(&err);
	mapspec_free(&ms);
	return 0;
}
