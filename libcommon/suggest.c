/*
 * suggest.c: edit distance and closest-name lookup for "did you mean"
 * hints (see suggest.h). Names here are short, so the quadratic
 * algorithm on a small stack table is all that is needed.
 */
#include "common.h"

#include "suggest.h"

#define MAXLEN 64

size_t suggest_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > MAXLEN || m > MAXLEN)
		return 255;
	unsigned char d[MAXLEN + 1][MAXLEN + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)best;
		}
	}
	return d[n][m];
}

const char *suggest_closest(const char *word, const char *const *names, size_t n)
{
	size_t limit = strlen(word) / 3;
	if (limit < 1)
		limit = 1;
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	bool tie = false;
	for (size_t i = 0; i < n; i++) {
		size_t d = suggest_distance(word, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
			tie = false;
		} else if (d == best_d) {
			tie = true;
		}
	}
	return best && best_d <= limit && !tie ? best : NULL;
}
