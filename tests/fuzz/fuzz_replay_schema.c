/*
 * fuzz_replay_schema.c: libFuzzer target for the JSON Schema loader and
 * validator behind `ofs-replay schema` (libcommon/jschema.c).
 *
 * Schemas come from users and from registries, records from anywhere, so
 * neither may crash, hang or leak the loader or the validator. The input
 * is split at its first newline: the schema before it, a record after it
 * (inputs without a newline are a schema alone). A rejected schema must
 * explain itself in lines that each name the file. An accepted one is
 * applied to the record (when that parses): each violation must carry an
 * instance pointer ("" or starting with "/"), a schema pointer, a keyword
 * and a message, and the count returned must equal the violations
 * reported. Applying the schema to itself, a JSON value too, must not fail
 * either. Nothing is written anywhere; everything is freed.
 */
#include "common.h"

#include "fuzz_check.h"
#include "jschema.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

static void on_error(const struct jschema_error *e, void *user)
{
	size_t *n = user;
	if (!e->instance || !e->schema || !e->keyword || !e->message || !*e->message)
		abort();
	if (*e->instance && *e->instance != '/')
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t slen = nl ? (size_t)(nl - text) : size;
	struct strbuf err = SB_INIT;
	struct jschema *s = jschema_load(NAME, text, slen, &err);
	if (!s) {
		fuzz_check_lines(&err, NAME ":");
		sb_release(&err);
		return 0;
	}
	if (err.len)
		abort();
	if (nl) {
		cJSON *inst = cJSON_ParseWithLength(nl + 1, size - slen - 1);
		if (inst) {
			size_t n = 0;
			if (jschema_validate(s, inst, on_error, &n) != n)
				abort();
			cJSON_Delete(inst);
		}
	}
	size_t n = 0;
	if (jschema_validate(s, jschema_root(s), on_error, &n) != n)
		abort();
	if (!jschema_resolve(s, jschema_root(s)) && !cJSON_GetObjectItemCaseSensitive(jschema_root(s), "$ref"))
		abort();
	jschema_free(s);
	sb_release(&err);
	return 0;
}
