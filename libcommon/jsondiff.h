/*
 * jsondiff.h: field-by-field comparison of two JSON values.
 *
 * ofs-replay play compares a recorded response with a replayed one, and
 * ofs-split compares a legacy answer with a new one; both need the same
 * answer to "which fields differ, and how". jd_diff walks two cJSON
 * values side by side and calls back once per difference with the JSON
 * pointer (RFC 6901: "~" written "~0", "/" written "~1") of the field:
 *
 *   changed  both sides hold a value of the same type, and they differ
 *   type     the types differ (null, boolean, number, string, array,
 *            object; true and false are one type, boolean)
 *   missing  the field is in a (recorded) and not in b (replayed)
 *   extra    the field is in b and not in a
 *
 * Objects are compared by key (order does not matter; of duplicate keys
 * the first counts), arrays by index. Numbers are compared as doubles.
 * A difference inside an object or array is reported at the deepest
 * pointer where the two sides part: a type change of a whole object is
 * one "type" difference at its pointer, not one per field.
 *
 * Ignore prefixes: a pointer equal to a prefix, or below it ("/a/b" is
 * below "/a" but "/ab" is not), is not compared; a difference found
 * there is only counted (jd_result.ignored), never called back. The
 * empty prefix "" ignores everything.
 */
#ifndef OFS_JSONDIFF_H
#define OFS_JSONDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "strbuf.h"

enum jd_kind { JD_CHANGED, JD_MISSING, JD_EXTRA, JD_TYPE };

/* jd_kind_name: "changed", "missing", "extra" or "type" (static). */
const char *jd_kind_name(enum jd_kind kind);

/*
 * The callback for one difference. pointer is NUL-terminated and valid
 * only during the call; a is the recorded side's value (NULL when
 * missing from it: kind extra), b the replayed side's (NULL: missing).
 */
typedef void jd_fn(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		   void *user);

struct jd_result {
	size_t reported; /* differences called back */
	size_t ignored;  /* subtrees under an ignore prefix that differed */
};

/*
 * jd_diff: compare a with b (either may be NULL: a NULL side makes the
 * other "missing" or "extra" at base). base is the pointer of the two
 * values (e.g. "" or "/body"); ignore holds nignore prefixes, compared
 * as pointers (already escaped). fn may be NULL to only count. No
 * allocation survives the call; never fails. Nesting deeper than 512
 * levels is compared as a whole (cJSON_Compare) below that depth.
 */
struct jd_result jd_diff(const cJSON *a, const cJSON *b, const char *base,
			 const char *const *ignore, size_t nignore, jd_fn *fn, void *user);

/* jd_pointer_add: append "/" and key, escaped (~0, ~1), to ptr. */
void jd_pointer_add(struct strbuf *ptr, const char *key);

/*
 * jd_ignored: whether pointer is one of the prefixes or below one (the
 * prefix ends at the pointer's end or at a "/" of it).
 */
bool jd_ignored(const char *pointer, const char *const *ignore, size_t nignore);

/* jd_type_name: "null", "boolean", "number", "string", "array", "object"
 * (static), or "invalid". */
const char *jd_type_name(const cJSON *v);

#endif
