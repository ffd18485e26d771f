/*
 * alloc.h: allocation helpers that never return NULL.
 *
 * Out of memory is a system error an ofs tool cannot recover from, so
 * these die with status 4 (EXIT_SYSTEM) instead of making every caller
 * check. Ownership: the caller owns and frees what they return.
 */
#ifndef OFS_ALLOC_H
#define OFS_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* xrealloc: like realloc; n == 0 frees and returns NULL. */
void *xrealloc(void *p, size_t n);
/* xreallocarray: realloc for nmemb * size, dying on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* xasprintf: a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of *alloc elements of size elem) to hold at least need. */
#define ALLOC_GROW(arr, need, alloc)                                          \
	do {                                                                  \
		if ((size_t)(need) > (size_t)(alloc)) {                       \
			size_t alloc_grow_n_ = (alloc) < 8 ? 8 : (alloc) * 2; \
			if (alloc_grow_n_ < (size_t)(need))                   \
				alloc_grow_n_ = (need);                       \
			(arr) = xreallocarray((arr), alloc_grow_n_,           \
					      sizeof(*(arr)));                \
			(alloc) = alloc_grow_n_;                              \
		}                                                             \
	} while (0)

#endif
