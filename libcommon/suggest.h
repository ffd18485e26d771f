/*
 * suggest.h: "did you mean" hints for mistyped commands, options and
 * config keys, by edit distance.
 */
#ifndef OFS_SUGGEST_H
#define OFS_SUGGEST_H

#include <stddef.h>

/* suggest_distance: Damerau-Levenshtein (optimal string alignment)
 * distance between a and b, case-sensitive; capped at 255. */
size_t suggest_distance(const char *a, const char *b);
/*
 * suggest_closest: the candidate nearest to word, if its distance is at
 * most max(1, strlen(word) / 3) and no other candidate ties with it;
 * else NULL. names holds n candidates; the result points into it.
 */
const char *suggest_closest(const char *word, const char *const *names, size_t n);

#endif
