/*
 * weights.h: variants, their weights, and which variant a key belongs to.
 *
 * Every ofs-split command that splits traffic reads the same weights
 * ("legacy=90,new=10") and must put a key in the same variant, so the
 * rule lives here once. It is nginx's split_clients rule, so that a split
 * made by `ofs-split route` and one made by the nginx configuration that
 * `ofs-split render` writes agree key for key:
 *
 *   - weights are percentages with at most two decimals (basis points,
 *     0.01 %), in the order given, and must sum to exactly 100;
 *   - the key's bytes, followed by the salt's, are hashed with 32-bit
 *     MurmurHash2 (seed 0, as nginx's ngx_murmur_hash2);
 *   - variant i with a weight takes the hashes below its upper bound,
 *     where the bounds accumulate bp * 0xffffffff / 10000 (integer
 *     division per variant, as nginx does), and the last weighted
 *     variant takes everything left (nginx's "*").
 *
 * Consecutive ranges make ramps monotonic: when the last variant grows
 * at the expense of the first (legacy=90,new=10 to legacy=50,new=50),
 * its range only widens, so a key never moves back from new to legacy.
 */
#ifndef OFS_SPLIT_WEIGHTS_H
#define OFS_SPLIT_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define SPLIT_MAX_VARIANTS 32
#define SPLIT_NAME_MAX 64

struct split_variant {
	char name[SPLIT_NAME_MAX + 1]; /* letters, digits, '-', '_', '.' */
	unsigned bp;                   /* weight in basis points, 0..10000 */
	uint32_t upper;                /* hashes below it (and above the previous
					  variant's) are this variant's; unused
					  for the catch-all and for weight 0 */
	int catch_all;                 /* the last variant with a weight */
};

struct split_weights {
	struct split_variant v[SPLIT_MAX_VARIANTS];
	size_t n;
};

/*
 * weights_parse: read "NAME=PERCENT,..." into w. Percentages are
 * non-negative decimals with at most two digits after the point; they
 * must sum to exactly 100. Names must be valid (see above), distinct,
 * and there must be at least one. Returns 0, or -1 with one line (no
 * newline) appended to err, e.g.
 *   weights must sum to 100, got 95 (legacy=85,new=10)
 *   weight of 'new' must be a percentage 0..100 with at most two decimals, got '-5'
 *   variant 'new' is named twice
 */
int weights_parse(struct split_weights *w, const char *text, struct strbuf *err);

/* weights_find: the index of the variant called name, or -1. */
int weights_find(const struct split_weights *w, const char *name);

/* weights_pick: the index of the variant that hash falls in. */
size_t weights_pick(const struct split_weights *w, uint32_t hash);

/*
 * split_murmur2: nginx's ngx_murmur_hash2 of the n bytes at key followed
 * by the salt's saltn bytes (either may be empty). Pure.
 */
uint32_t split_murmur2(const void *key, size_t n, const void *salt, size_t saltn);

/* weights_percent: append bp as a percentage with no needless zeros
 * ("90", "12.5", "0.01") to out. */
void weights_percent(struct strbuf *out, unsigned bp);

/* weights_format: append "legacy=90,new=10" for w to out. */
void weights_format(struct strbuf *out, const struct split_weights *w);

#endif
