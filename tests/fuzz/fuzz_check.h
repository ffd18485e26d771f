/*
 * fuzz_check.h: checks shared by the spec-loader fuzz targets (a header
 * of static functions, so that each target stays one program built from
 * its own .c file and libcommon, as the Makefile's fuzz rules have it).
 */
#ifndef OFS_FUZZ_CHECK_H
#define OFS_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/*
 * fuzz_check_lines: abort unless err explains a rejection the way the
 * loaders promise: not empty, ending with a newline, every line starting
 * with prefix (the file's name and what follows it, "fuzz.json: ").
 */
static inline void fuzz_check_lines(const struct strbuf *err, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!err->len || err->buf[err->len - 1] != '\n')
		abort();
	for (const char *p = err->buf; *p;) {
		if (strncmp(p, prefix, n) != 0)
			abort();
		p = strchr(p, '\n') + 1;
	}
}

#endif
