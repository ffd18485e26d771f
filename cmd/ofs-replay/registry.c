/*
 * registry.c: the schema registry directory, and registering with a
 * compatibility check, for directories and REST registries alike.
 *
 * Every change to a directory registry happens under DIR/lock, so two
 * `schema register` runs (or a run and `schema serve`) never hand out the
 * same version or id; each file is replaced atomically (state.h), so a
 * crash leaves the old registry or the new one. Reads take no lock: a
 * version file, once renamed into place, is never rewritten.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "jschema.h"
#include "jw.h"
#include "lock.h"
#include "registry.h"
#include "state.h"

struct registry {
	char *dir;
	struct regh *h;
};

bool registry_subject_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > 200 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

struct registry *registry_open(const char *where, struct strbuf *err)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	if (where && (!strncmp(where, "http://", 7) || !strncmp(where, "https://", 8))) {
		r->h = regh_open(where, err);
		if (!r->h) {
			free(r);
			return NULL;
		}
		return r;
	}
	if (where && *where) {
		r->dir = xstrdup(where);
	} else {
		char *state = state_dir(err);
		if (!state) {
			free(r);
			return NULL;
		}
		r->dir = xasprintf("%s/replay/registry", state);
		free(state);
	}
	return r;
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	regh_close(r->h);
	free(r->dir);
	free(r);
}

bool registry_is_remote(const struct registry *r)
{
	return r->h != NULL;
}

static int check_subject(const char *subject, struct strbuf *err)
{
	if (registry_subject_ok(subject))
		return REG_OK;
	sb_addf(err, "invalid subject name '%s' (1 to 200 of A-Z a-z 0-9 . _ -, not starting "
		     "with a dot)", subject);
	return REG_INVALID;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the directory ------------------------------------------------------ */

static int dir_versions(struct registry *r, const char *subject, int **out, size_t *n,
			struct strbuf *err)
{
	char *path = xasprintf("%s/subjects/%s", r->dir, subject);
	DIR *d = opendir(path);
	*out = NULL;
	*n = 0;
	if (!d) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			sb_addf(err, "subject '%s' not found", subject);
			free(path);
			return REG_NOT_FOUND;
		}
		sb_addf(err, "cannot read '%s': %s", path, strerror(e));
		free(path);
		return REG_ERROR;
	}
	size_t alloc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *p = de->d_name;
		long v = 0;
		if (*p < '1' || *p > '9')
			continue;
		while (*p >= '0' && *p <= '9' && v < 100000000)
			v = v * 10 + (*p++ - '0');
		if (strcmp(p, ".json"))
			continue;
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = (int)v;
	}
	closedir(d);
	free(path);
	if (!*n) {
		sb_addf(err, "subject '%s' not found", subject);
		return REG_NOT_FOUND;
	}
	qsort(*out, *n, sizeof(**out), cmp_int);
	return REG_OK;
}

static int dir_subjects(struct registry *r, char ***names, size_t *n, struct strbuf *err)
{
	char *path = xasprintf("%s/subjects", r->dir);
	DIR *d = opendir(path);
	*names = NULL;
	*n = 0;
	if (!d) {
		int e = errno;
		free(path);
		if (e == ENOENT)
			return REG_OK;
		sb_addf(err, "cannot read '%s/subjects': %s", r->dir, strerror(e));
		return REG_ERROR;
	}
	size_t alloc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!registry_subject_ok(de->d_name))
			continue;
		int *v;
		size_t nv;
		struct strbuf ignore = SB_INIT;
		int rc = dir_versions(r, de->d_name, &v, &nv, &ignore);
		sb_release(&ignore);
		free(v);
		if (rc != REG_OK)
			continue;
		ALLOC_GROW(*names, *n + 1, alloc);
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	free(path);
	if (*n)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return REG_OK;
}

static cJSON *read_json(const char *path, struct strbuf *err, bool *missing)
{
	struct strbuf sb = SB_INIT;
	*missing = false;
	if (sb_read_file(&sb, path) < 0) {
		*missing = errno == ENOENT;
		if (!*missing)
			sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
		sb_release(&sb);
		return NULL;
	}
	cJSON *j = cJSON_ParseWithLength(sb.buf, sb.len);
	if (!j)
		sb_addf(err, "'%s': invalid JSON", path);
	sb_release(&sb);
	return j;
}

static int dir_get(struct registry *r, const char *subject, int version, struct reg_schema *out,
		   struct strbuf *err)
{
	if (version <= 0) {
		int *v;
		size_t n;
		int rc = dir_versions(r, subject, &v, &n, err);
		if (rc != REG_OK)
			return rc;
		version = v[n - 1];
		free(v);
	}
	char *path = xasprintf("%s/subjects/%s/%d.json", r->dir, subject, version);
	bool missing;
	cJSON *j = read_json(path, err, &missing);
	free(path);
	if (!j) {
		if (!missing)
			return REG_ERROR;
		struct strbuf tmp = SB_INIT;
		int *v;
		size_t n;
		int rc = dir_versions(r, subject, &v, &n, &tmp);
		free(v);
		if (rc == REG_NOT_FOUND)
			sb_add(err, tmp.buf, tmp.len);
		else
			sb_addf(err, "subject '%s' has no version %d", subject, version);
		sb_release(&tmp);
		return REG_NOT_FOUND;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	cJSON *schema = cJSON_DetachItemFromObjectCaseSensitive(j, "schema");
	if (!cJSON_IsNumber(id) || !schema) {
		sb_addf(err, "'%s/subjects/%s/%d.json': not a registry version file", r->dir, subject,
			version);
		cJSON_Delete(schema);
		cJSON_Delete(j);
		return REG_ERROR;
	}
	out->version = version;
	out->id = id->valueint;
	out->schema = schema;
	cJSON_Delete(j);
	return REG_OK;
}

static int read_mode(const char *path, enum compat_mode *mode, struct strbuf *err)
{
	bool missing;
	cJSON *j = read_json(path, err, &missing);
	if (!j)
		return missing ? REG_NOT_FOUND : REG_ERROR;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "compatibility");
	int m = cJSON_IsString(c) ? compat_mode_parse(c->valuestring) : -1;
	cJSON_Delete(j);
	if (m < 0) {
		sb_addf(err, "'%s': no valid \"compatibility\"", path);
		return REG_ERROR;
	}
	*mode = (enum compat_mode)m;
	return REG_OK;
}

static int dir_mode(struct registry *r, const char *subject, enum compat_mode *mode,
		    struct strbuf *err)
{
	char *path;
	int rc;
	if (subject) {
		path = xasprintf("%s/subjects/%s/config.json", r->dir, subject);
		rc = read_mode(path, mode, err);
		free(path);
		if (rc != REG_NOT_FOUND)
			return rc;
	}
	path = xasprintf("%s/config.json", r->dir);
	rc = read_mode(path, mode, err);
	free(path);
	if (rc == REG_NOT_FOUND) {
		*mode = COMPAT_BACKWARD;
		return REG_OK;
	}
	return rc;
}

static int dir_write(const char *dir, const char *file, const struct strbuf *data,
		     struct strbuf *err)
{
	if (state_mkdirs(dir, 0700, err) < 0)
		return REG_ERROR;
	char *path = xasprintf("%s/%s", dir, file);
	int rc = state_write_atomic(path, data->buf, data->len, 0600, err);
	free(path);
	return rc < 0 ? REG_ERROR : REG_OK;
}

static int dir_lock(struct registry *r, struct strbuf *err)
{
	if (state_mkdirs(r->dir, 0700, err) < 0)
		return -1;
	char *path = xasprintf("%s/lock", r->dir);
	int fd = lock_acquire(path, 30000, err);
	free(path);
	return fd;
}

static int dir_set_mode(struct registry *r, const char *subject, enum compat_mode mode,
			struct strbuf *err)
{
	int fd = dir_lock(r, err);
	if (fd < 0)
		return REG_ERROR;
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "{\"compatibility\":\"%s\"}\n", compat_mode_name(mode));
	char *dir = subject ? xasprintf("%s/subjects/%s", r->dir, subject) : xstrdup(r->dir);
	int rc = dir_write(dir, "config.json", &sb, err);
	free(dir);
	sb_release(&sb);
	lock_release(fd);
	return rc;
}

/* Store schema as the next version; the lock is held. */
static int dir_put(struct registry *r, const char *subject, const cJSON *schema,
		   struct reg_result *res, struct strbuf *err)
{
	int *v;
	size_t n;
	struct strbuf tmp = SB_INIT;
	int rc = dir_versions(r, subject, &v, &n, &tmp);
	sb_release(&tmp);
	if (rc == REG_ERROR)
		return rc;
	int version = n ? v[n - 1] + 1 : 1;
	free(v);

	char *idpath = xasprintf("%s/next-id", r->dir);
	struct strbuf sb = SB_INIT;
	long id = 1;
	if (sb_read_file(&sb, idpath) == 0) {
		char *end;
		id = strtol(sb.buf, &end, 10);
		if (id < 1 || id > INT_MAX - 1)
			id = 1;
	} else if (errno != ENOENT) {
		sb_addf(err, "cannot read '%s': %s", idpath, strerror(errno));
		free(idpath);
		sb_release(&sb);
		return REG_ERROR;
	}
	sb_reset(&sb);
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "subject", subject);
	jw_kv_int(&w, "version", version);
	jw_kv_int(&w, "id", id);
	jw_key(&w, "schema");
	jw_cjson(&w, schema);
	jw_obj_end(&w);
	sb_addch(&sb, '\n');
	char *dir = xasprintf("%s/subjects/%s", r->dir, subject);
	char *file = xasprintf("%d.json", version);
	rc = dir_write(dir, file, &sb, err);
	if (rc == REG_OK) {
		sb_reset(&sb);
		sb_addf(&sb, "%ld\n", id + 1);
		rc = state_write_atomic(idpath, sb.buf, sb.len, 0600, err) < 0 ? REG_ERROR : REG_OK;
	}
	free(dir);
	free(file);
	free(idpath);
	sb_release(&sb);
	res->version = version;
	res->id = (int)id;
	res->existing = false;
	return rc;
}

/* ---- the operations ------------------------------------------------------ */

int registry_subjects(struct registry *r, char ***names, size_t *n, struct strbuf *err)
{
	if (r->h)
		return regh_subjects(r->h, names, n, err);
	return dir_subjects(r, names, n, err);
}

int registry_versions(struct registry *r, const char *subject, int **out, size_t *n,
		      struct strbuf *err)
{
	int rc = check_subject(subject, err);
	if (rc != REG_OK)
		return rc;
	if (r->h)
		return regh_versions(r->h, subject, out, n, err);
	return dir_versions(r, subject, out, n, err);
}

int registry_get(struct registry *r, const char *subject, int version, struct reg_schema *out,
		 struct strbuf *err)
{
	int rc = check_subject(subject, err);
	if (rc != REG_OK)
		return rc;
	if (r->h)
		return regh_get(r->h, subject, version, out, err);
	return dir_get(r, subject, version, out, err);
}

int registry_mode(struct registry *r, const char *subject, enum compat_mode *mode,
		  struct strbuf *err)
{
	if (subject && check_subject(subject, err) != REG_OK)
		return REG_INVALID;
	if (r->h)
		return regh_mode(r->h, subject, mode, err);
	return dir_mode(r, subject, mode, err);
}

int registry_set_mode(struct registry *r, const char *subject, enum compat_mode mode,
		      struct strbuf *err)
{
	if (subject && check_subject(subject, err) != REG_OK)
		return REG_INVALID;
	if (r->h)
		return regh_set_mode(r->h, subject, mode, err);
	return dir_set_mode(r, subject, mode, err);
}

/* The versions of a subject, loaded: for the identity and compat checks. */
struct loaded {
	int *versions;
	size_t n;
	struct reg_schema *schemas;
	struct jschema **js;
};

static void loaded_free(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++) {
		cJSON_Delete(l->schemas ? l->schemas[i].schema : NULL);
		jschema_free(l->js ? l->js[i] : NULL);
	}
	free(l->schemas);
	free(l->js);
	free(l->versions);
}

static int load_all(struct registry *r, const char *subject, struct loaded *l,
		    struct strbuf *err)
{
	memset(l, 0, sizeof(*l));
	struct strbuf tmp = SB_INIT;
	int rc = registry_versions(r, subject, &l->versions, &l->n, &tmp);
	if (rc == REG_NOT_FOUND) {
		sb_release(&tmp);
		l->n = 0;
		return REG_OK;
	}
	if (rc != REG_OK) {
		sb_add(err, tmp.buf, tmp.len);
		sb_release(&tmp);
		return rc;
	}
	sb_release(&tmp);
	l->schemas = xcalloc(l->n, sizeof(*l->schemas));
	l->js = xcalloc(l->n, sizeof(*l->js));
	for (size_t i = 0; i < l->n; i++) {
		rc = registry_get(r, subject, l->versions[i], &l->schemas[i], err);
		if (rc != REG_OK)
			return rc == REG_NOT_FOUND ? REG_ERROR : rc;
		char *name = xasprintf("%s version %d", subject, l->versions[i]);
		l->js[i] = jschema_from_json(name, cJSON_Duplicate(l->schemas[i].schema, true), err);
		free(name);
		if (!l->js[i])
			return REG_ERROR;
	}
	return REG_OK;
}

struct relabel {
	compat_fn *fn;
	void *user;
	const int *versions;
};

static void relabel_fn(const struct compat_problem *p, void *user)
{
	struct relabel *rl = user;
	struct compat_problem q = *p;
	q.old = (size_t)rl->versions[p->old];
	if (rl->fn)
		rl->fn(&q, rl->user);
}

static size_t check_against(struct loaded *l, enum compat_mode mode, const struct jschema *js,
			    compat_fn *fn, void *user)
{
	struct relabel rl = { fn, user, l->versions };
	return compat_check(mode, (const struct jschema *const *)l->js, l->n, js, relabel_fn, &rl);
}

static struct jschema *load_new(const cJSON *schema, struct strbuf *err)
{
	return jschema_from_json("schema", cJSON_Duplicate(schema, true), err);
}

int registry_compat(struct registry *r, const char *subject, const cJSON *schema, int mode,
		    size_t *nproblems, compat_fn *fn, void *user, struct strbuf *err)
{
	*nproblems = 0;
	int rc = check_subject(subject, err);
	if (rc != REG_OK)
		return rc;
	struct jschema *js = load_new(schema, err);
	if (!js)
		return REG_INVALID;
	enum compat_mode m = (enum compat_mode)mode;
	if (mode < 0 && (rc = registry_mode(r, subject, &m, err)) != REG_OK) {
		jschema_free(js);
		return rc;
	}
	struct loaded l;
	rc = load_all(r, subject, &l, err);
	if (rc == REG_OK)
		*nproblems = check_against(&l, m, js, fn, user);
	loaded_free(&l);
	jschema_free(js);
	return rc;
}

int registry_register(struct registry *r, const char *subject, const cJSON *schema,
		      struct reg_result *res, compat_fn *fn, void *user, struct strbuf *err)
{
	int rc = check_subject(subject, err);
	if (rc != REG_OK)
		return rc;
	struct jschema *js = load_new(schema, err);
	if (!js)
		return REG_INVALID;
	int fd = -1;
	if (!r->h && (fd = dir_lock(r, err)) < 0) {
		jschema_free(js);
		return REG_ERROR;
	}
	struct loaded l;
	rc = load_all(r, subject, &l, err);
	for (size_t i = 0; rc == REG_OK && i < l.n; i++) {
		if (cJSON_Compare(l.schemas[i].schema, schema, true)) {
			res->version = l.schemas[i].version;
			res->id = l.schemas[i].id;
			res->existing = true;
			goto done;
		}
	}
	if (rc == REG_OK) {
		enum compat_mode mode;
		rc = registry_mode(r, subject, &mode, err);
		if (rc == REG_OK && check_against(&l, mode, js, fn, user))
			rc = REG_INCOMPATIBLE;
	}
	if (rc == REG_OK)
		rc = r->h ? regh_put(r->h, subject, schema, res, err)
			  : dir_put(r, subject, schema, res, err);
done:
	loaded_free(&l);
	jschema_free(js);
	if (fd >= 0)
		lock_release(fd);
	return rc;
}
