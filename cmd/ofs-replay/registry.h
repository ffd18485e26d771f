/*
 * registry.h: versioned schema subjects, in a local directory or behind
 * the Confluent Schema Registry REST API.
 *
 * A registry holds subjects; a subject holds versions 1, 2, ... of a JSON
 * Schema, each with a registry-wide id, and a compatibility mode (one of
 * compat.h's; BACKWARD unless set). The same operations work on both
 * kinds of registry: registry.c implements the directory and the logic
 * of registering (identical schema: the existing version; otherwise a
 * compatibility check against the subject's mode first), registry_http.c
 * the REST client. registry_serve.c serves a directory over REST.
 *
 * Directory layout (directories 0700, files 0600, each file written
 * atomically): DIR/lock, DIR/next-id, DIR/config.json (the default mode),
 * DIR/subjects/SUBJECT/config.json, DIR/subjects/SUBJECT/N.json holding
 * {"subject","version","id","schema"}. Subject names are 1 to 200 of
 * [A-Za-z0-9._-], not starting with a dot.
 *
 * Errors: functions return REG_OK, REG_NOT_FOUND (the subject or the
 * version does not exist), REG_INVALID (a bad schema, subject or mode),
 * REG_INCOMPATIBLE or REG_ERROR (I/O, the server unreachable, a bad
 * answer), with a message in err.
 */
#ifndef OFS_REPLAY_REGISTRY_H
#define OFS_REPLAY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "compat.h"
#include "strbuf.h"

enum {
	REG_OK = 0,
	REG_NOT_FOUND = -1,
	REG_INVALID = -2,
	REG_INCOMPATIBLE = -3,
	REG_ERROR = -4,
};

struct registry;

/*
 * registry_open: where is a directory, an http:// or https:// URL, or
 * NULL for $OFS_STATE_DIR/replay/registry. A directory is created when
 * first written to. Returns NULL with a message in err.
 */
struct registry *registry_open(const char *where, struct strbuf *err);
void registry_close(struct registry *r);
bool registry_is_remote(const struct registry *r);

/* registry_subject_ok: whether name is a valid subject name. */
bool registry_subject_ok(const char *name);

/* registry_subjects: the subjects, sorted; *names and each string are the caller's. */
int registry_subjects(struct registry *r, char ***names, size_t *n, struct strbuf *err);

/* registry_versions: the versions of subject, ascending; *out is the caller's. */
int registry_versions(struct registry *r, const char *subject, int **out, size_t *n,
		      struct strbuf *err);

/* One stored version; schema is owned by whoever holds the struct. */
struct reg_schema {
	int version;
	int id;
	cJSON *schema;
};

/* registry_get: version (0 for the latest) of subject into *out. */
int registry_get(struct registry *r, const char *subject, int version, struct reg_schema *out,
		 struct strbuf *err);

/* registry_mode: the mode of subject (NULL: the registry's default). */
int registry_mode(struct registry *r, const char *subject, enum compat_mode *mode,
		  struct strbuf *err);
int registry_set_mode(struct registry *r, const char *subject, enum compat_mode mode,
		      struct strbuf *err);

/* The outcome of registry_register. */
struct reg_result {
	int version;
	int id;
	bool existing; /* the identical schema was there already */
};

/*
 * registry_register: register schema (the caller keeps it) under subject:
 * the version holding an identical schema if there is one; else, when the
 * new schema is compatible with the subject's versions under its mode,
 * a new version. Problems go to fn; REG_INCOMPATIBLE says there were.
 * The directory registry holds its lock throughout.
 */
int registry_register(struct registry *r, const char *subject, const cJSON *schema,
		      struct reg_result *res, compat_fn *fn, void *user, struct strbuf *err);

/*
 * registry_compat: the problems of schema against subject's versions
 * under mode (or the subject's own mode when mode < 0), reported to fn;
 * *nproblems gets their count. A subject without versions is compatible.
 */
int registry_compat(struct registry *r, const char *subject, const cJSON *schema, int mode,
		    size_t *nproblems, compat_fn *fn, void *user, struct strbuf *err);

/* ---- the REST client (registry_http.c), used by registry.c ---------------- */
struct regh;
struct regh *regh_open(const char *url, struct strbuf *err);
void regh_close(struct regh *h);
int regh_subjects(struct regh *h, char ***names, size_t *n, struct strbuf *err);
int regh_versions(struct regh *h, const char *subject, int **out, size_t *n, struct strbuf *err);
int regh_get(struct regh *h, const char *subject, int version, struct reg_schema *out,
	     struct strbuf *err);
int regh_mode(struct regh *h, const char *subject, enum compat_mode *mode, struct strbuf *err);
int regh_set_mode(struct regh *h, const char *subject, enum compat_mode mode, struct strbuf *err);
/* regh_put: POST the schema; the server checks compatibility again. */
int regh_put(struct regh *h, const char *subject, const cJSON *schema, struct reg_result *res,
	     struct strbuf *err);

/* registry_serve: serve dir over the REST API on listen ("ADDR:PORT")
 * until SIGTERM or SIGINT; returns an exit status. */
int registry_serve(const char *dir, const char *listen, struct strbuf *err);

#endif
