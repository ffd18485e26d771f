/*
 * jw.h: the streaming JSON writer every ofs tool uses for its records.
 *
 * Values are appended to a caller-owned strbuf as they are produced; no
 * tree is built. The writer tracks nesting and inserts commas itself.
 *
 * Strings (keys and values) are escaped by one rule, stated here and in
 * ofs.7: '"' and '\' are backslash-escaped; control characters U+0000 to
 * U+001F become \b \f \n \r \t or \u00XX; DEL and everything else valid
 * is written as is (UTF-8, "/" unescaped); every byte that is not part of
 * a well-formed UTF-8 sequence (stray continuation bytes, overlong forms,
 * surrogates, code points past U+10FFFF, truncated sequences) is replaced
 * by U+FFFD. Output is therefore always valid UTF-8 JSON.
 *
 * Numbers: jw_int/jw_uint write exact decimal integers; jw_double writes
 * the shortest text that reads back to the same double (integral values
 * below 2^53 print without a fraction); NaN and infinities, which JSON
 * cannot express, are written as null. Integers that can exceed 2^53
 * belong in strings (DESIGN.md): jw_int_str.
 *
 * Misuse (a value where a key is due, unbalanced ends, nesting deeper than
 * JW_MAX_DEPTH) is a programming error and aborts.
 */
#ifndef OFS_JW_H
#define OFS_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

#define JW_MAX_DEPTH 64

struct jw {
	struct strbuf *sb;
	int depth;
	bool after_key;                  /* a key was written, its value is due */
	bool in_obj[JW_MAX_DEPTH + 1];   /* this depth is an object */
	bool first[JW_MAX_DEPTH + 1];    /* no element yet at this depth */
};

/* jw_init: write into sb (appending; sb is not reset). */
void jw_init(struct jw *w, struct strbuf *sb);
/* jw_done: true when every object and array opened was closed. */
bool jw_done(const struct jw *w);

void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);

void jw_key(struct jw *w, const char *key);
void jw_keyn(struct jw *w, const char *key, size_t len);

void jw_str(struct jw *w, const char *s);   /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_int_str(struct jw *w, int64_t v);   /* "123": for ids and ns times */
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* jw_raw: insert already-encoded JSON text as one value, unchecked. */
void jw_raw(struct jw *w, const char *json, size_t len);
/* jw_cjson: write a parsed value (pass-through of fields we do not know). */
void jw_cjson(struct jw *w, const cJSON *item);

/* Key-value shorthands for objects. */
void jw_kv_str(struct jw *w, const char *key, const char *s);
void jw_kv_int(struct jw *w, const char *key, int64_t v);
void jw_kv_double(struct jw *w, const char *key, double v);
void jw_kv_bool(struct jw *w, const char *key, bool v);

/*
 * jw_escape: append s (len bytes) to sb as a quoted JSON string using the
 * rule above. Exposed for writers that do not need nesting checks.
 */
void jw_escape(struct strbuf *sb, const char *s, size_t len);
/* jw_format_double: shortest round-trip text of v into buf (>= 32 bytes);
 * returns the length, 0 for NaN/infinity (which the writer turns to null). */
size_t jw_format_double(double v, char *buf);
/* jw_format_int: decimal text of v into buf (>= 21 bytes); returns length. */
size_t jw_format_int(int64_t v, char *buf);

#endif
