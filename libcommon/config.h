/*
 * config.h: loading and validating JSON config and spec files.
 *
 * Config mistakes should cost one edit, not one edit per run: so a syntax
 * error names the file, line and column ("deploy.json:3:5: invalid JSON:
 * unexpected character '"', expected ',' or '}'"), and validation records
 * every problem it finds, each with the JSON pointer (RFC 6901) of the
 * offending value ("deploy.json: /strategy/steps/2/weight: must be
 * 0..100, got 120"), and carries on, so a single run reports them all
 * before anything is done (DESIGN.md section 3).
 *
 * A validator walks the tree with the typed getters below. Each takes the
 * parent object, the parent's pointer and a key; it checks presence, type
 * and range, records an error if something is wrong, and returns
 *   1  the value is present and valid (*out is set),
 *   0  the key is absent and not required (*out is left alone, so preset
 *      it to the default), or the parent itself is NULL or not an
 *      object (its own error has been recorded already),
 *  -1  an error was recorded (*out is left alone).
 * With key NULL a getter checks the parent node itself (an array element,
 * say), whose pointer is then ptr. When the walk is over, cfg->nerrors
 * says whether the file may be acted on; cfg_report prints the list.
 *
 * Pointers: cfg_ptr_key and cfg_ptr_index build child pointers whose
 * strings the cfg owns until cfg_free, so validators never free them.
 */
#ifndef OFS_CONFIG_H
#define OFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

struct cfg {
	const char *file;     /* the name in messages; owned by the cfg */
	cJSON *root;          /* the parsed document, owned; NULL if none */
	int nerrors;          /* validation errors recorded so far */
	struct strbuf errors; /* one "FILE: POINTER: message\n" line each */
	/* private: strings owned by the cfg (file name, pointers) */
	char **owned;
	size_t nowned, aowned;
};

/* cfg_init: an empty cfg whose messages name file (copied); root NULL. A
 * caller that parsed a tree itself may set root (the cfg then owns it). */
void cfg_init(struct cfg *cfg, const char *file);

/*
 * cfg_parse_string: parse len bytes of text as one JSON value into *out,
 * named name in messages. A leading UTF-8 byte order mark is skipped.
 * The syntax is checked strictly (RFC 8259: no comments, no trailing
 * commas, no leading zeros, valid UTF-8 and escapes, nesting at most
 * CJSON_NESTING_LIMIT deep, nothing after the value). On a syntax error
 * returns -1 and appends to err (if not NULL)
 *   NAME:LINE:COLUMN: invalid JSON: REASON
 * where LINE and COLUMN are 1-based and COLUMN counts characters (UTF-8
 * sequences count once, a tab counts once); *out is then an initialised
 * cfg with root NULL. Returns 0 on success. Either way the caller
 * releases *out with cfg_free.
 */
int cfg_parse_string(const char *name, const char *text, size_t len, struct cfg *out,
		     struct strbuf *err);

/* cfg_load: read path ("-" for standard input, named "<stdin>" in
 * messages) and parse it as cfg_parse_string does. An unreadable file
 * gives -1 and "cannot open 'PATH': REASON" (or "cannot read") in err. */
int cfg_load(const char *path, struct cfg *out, struct strbuf *err);

/* cfg_free: release the tree, the errors and the owned strings; the cfg
 * is left empty (cfg_free twice is harmless). */
void cfg_free(struct cfg *cfg);

/* cfg_error: record one validation error: "FILE: PTR: message" (just
 * "FILE: message" when ptr is NULL or "", the whole document). Control
 * characters in the pointer or message are written escaped (\n, \xNN)
 * so that each error stays one line. */
void cfg_error(struct cfg *cfg, const char *ptr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cfg_report: print each recorded error on stderr through error() (so
 * prefixed "ofs-NAME: ") and return their number. */
int cfg_report(const struct cfg *cfg);

/*
 * cfg_text_add: append len bytes of s to sb for a one-line message, as
 * cfg_error writes them: newline, tab and CR become \n, \t and \r, other
 * control bytes and bytes that are not valid UTF-8 \xNN, so that a value
 * holding them cannot split or forge a line on stderr. Never fails.
 */
void cfg_text_add(struct strbuf *sb, const char *s, size_t len);

/* cfg_ptr_append: append "/" and key to sb with ~ written ~0 and / ~1. */
void cfg_ptr_append(struct strbuf *sb, const char *key);

/* cfg_ptr_key: the pointer of key under parent (NULL or "" for the
 * root); cfg_ptr_index: of element i under parent. The strings belong to
 * the cfg and live until cfg_free. */
const char *cfg_ptr_key(struct cfg *cfg, const char *parent, const char *key);
const char *cfg_ptr_index(struct cfg *cfg, const char *parent, size_t i);

/* cfg_resolve: the node at ptr under root (RFC 6901: "" is root itself,
 * ~1 is /, ~0 is ~, array indexes in decimal without leading zeros), or
 * NULL if there is none or ptr is malformed. */
cJSON *cfg_resolve(const cJSON *root, const char *ptr);

/* cfg_type_name: "object", "array", "string", "number", "boolean",
 * "null" (or "invalid" for a node of no type). */
const char *cfg_type_name(const cJSON *node);

/* cfg_root_object: check that the document is an object; records
 * "FILE: the top level must be an object, got array" if not. Returns the
 * root or NULL. */
cJSON *cfg_root_object(struct cfg *cfg);

/* Typed getters: see the top of this file for the return values. */
int cfg_get_object(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, cJSON **out);
int cfg_get_array(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		  bool required, cJSON **out);
/* *out points into the tree (valid until cfg_free). */
int cfg_get_string(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, const char **out);
/* cfg_get_text: cfg_get_string for a string that must not be empty
 * ("PTR: must not be empty"). */
int cfg_get_text(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, const char **out);
int cfg_get_bool(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, bool *out);
/* min/max inclusive; -INFINITY or INFINITY for no bound. */
int cfg_get_number(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, double min, double max, double *out);
/* A whole number within min..max (INT64_MIN/INT64_MAX for no bound). */
int cfg_get_int(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		bool required, int64_t min, int64_t max, int64_t *out);
/* A duration: a string for dur_parse ("250ms", "1h30m") or a
 * non-negative number of seconds (rounded to the nanosecond). */
int cfg_get_duration(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		     bool required, int64_t *ns);
/* A string that must be one of names (a NULL-terminated list); *out is
 * its index. A near miss gets "; did you mean 'x'?". */
int cfg_get_enum(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, const char *const *names, int *out);

/*
 * cfg_get_command: key is a hook command: a non-empty argv array of
 * strings whose first element is not empty (executed directly), or a
 * non-empty string (run by /bin/sh -c). On success exactly one of *argv
 * (a NULL-terminated copy, each string allocated: free with
 * proc_argv_free) and *shell (allocated) is set and the other is left
 * alone. Returns as the other getters; messages: "must not be empty",
 * "PTR/N: the program name must not be empty", "must be an argv array of
 * strings or a shell command string, got number 5".
 */
int cfg_get_command(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		    bool required, char ***argv, char **shell);

/*
 * cfg_check_keys: record every key of obj that is not in allowed (a
 * NULL-terminated list) as "PTR/KEY: unknown key 'KEY'", adding "; did
 * you mean 'x'?" when an allowed key is close, and every key that occurs
 * twice as "PTR/KEY: duplicate key 'KEY'". Returns the number of errors
 * recorded (0 if obj is NULL or not an object).
 */
int cfg_check_keys(struct cfg *cfg, const cJSON *obj, const char *ptr,
		   const char *const *allowed);

#endif
