/*
 * store.c: the shared, file-backed idempotency store (see store.h).
 *
 * Records are rewritten in place (pwrite, then ftruncate) under the
 * key's exclusive lock, and read with a parser that stops after the
 * first JSON value, so even a record cut short by a crash between the
 * two calls reads back as the one written.
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "hash.h"
#include "jw.h"
#include "state.h"
#include "store.h"
#include "timefmt.h"

#define RECORD_MAX (4 * 1024 * 1024)

char *shop_store_dir(const char *dir, const char *service, struct strbuf *err)
{
	char *path = xasprintf("%s/store/%s", dir, service);
	if (state_mkdirs(path, 0700, err) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

static char *key_path(const char *store, const char *key)
{
	size_t n = strlen(key);
	uint64_t a = hash_bytes(key, n, 0);
	uint64_t b = hash_bytes(key, n, UINT64_C(0x9e3779b97f4a7c15));
	return xasprintf("%s/%016" PRIx64 "%016" PRIx64 ".json", store, a, b);
}

/* flock op on fd, retrying for up to wait_ms: 0 taken, 1 busy, -1 error. */
static int lock_wait(int fd, int op, int wait_ms)
{
	int64_t deadline = mono_ms() + wait_ms;
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -1;
		if (mono_ms() >= deadline)
			return 1;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static char *dup_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* Read the record at fd into e. An empty file is a new key. When e->key
 * is NULL it is taken from the record (a listing), else it must match. */
static int read_record(int fd, const char *path, struct shop_store_entry *e, struct strbuf *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		sb_addf(err, "cannot stat '%s': %s", path, strerror(errno));
		return -1;
	}
	if (st.st_size == 0)
		return 0;
	if (st.st_size > RECORD_MAX) {
		sb_addf(err, "idempotency record '%s' is too large", path);
		return -1;
	}
	struct strbuf sb = SB_INIT;
	sb_grow(&sb, (size_t)st.st_size);
	ssize_t n;
	while ((n = pread(fd, sb.buf + sb.len, (size_t)st.st_size - sb.len, (off_t)sb.len)) > 0) {
		sb_setlen(&sb, sb.len + (size_t)n);
		if (sb.len == (size_t)st.st_size)
			break;
	}
	if (n < 0) {
		sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
		sb_release(&sb);
		return -1;
	}
	cJSON *doc = cJSON_ParseWithLengthOpts(sb.buf, sb.len, NULL, false);
	sb_release(&sb);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		sb_addf(err, "idempotency record '%s' is corrupt", path);
		return -1;
	}
	int r = 0;
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(doc, "key");
	if (!cJSON_IsString(key) || (e->key && strcmp(key->valuestring, e->key))) {
		sb_addf(err, "idempotency record '%s' belongs to another key", path);
		r = -1;
	} else {
		const cJSON *count = cJSON_GetObjectItemCaseSensitive(doc, "count");
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
		const cJSON *applied = cJSON_GetObjectItemCaseSensitive(doc, "applied");
		if (!e->key)
			e->key = xstrdup(key->valuestring);
		e->count = cJSON_IsNumber(count) ? (long)count->valuedouble : 0;
		e->applied = cJSON_IsNumber(applied) ? (long)applied->valuedouble : 0;
		e->status = cJSON_IsNumber(status) ? (int)status->valuedouble : 0;
		e->fingerprint = dup_string(doc, "fingerprint");
		e->body = dup_string(doc, "body");
		e->ref = dup_string(doc, "ref");
		e->route = dup_string(doc, "route");
	}
	cJSON_Delete(doc);
	return r;
}

int shop_store_lock(const char *store, const char *key, int wait_ms, struct shop_store_entry *e,
		    struct strbuf *err)
{
	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->key = xstrdup(key);
	char *path = key_path(store, key);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	int r = lock_wait(fd, LOCK_EX, wait_ms);
	if (r < 0)
		sb_addf(err, "cannot lock '%s': %s", path, strerror(errno));
	if (r == 0 && read_record(fd, path, e, err) < 0)
		r = -1;
	if (r == 0)
		e->fd = fd;
	else
		close(fd);
	free(path);
	return r;
}

void shop_store_set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

static void kv_str_or_null(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_str(w, s);
	else
		jw_null(w);
}

int shop_store_save(struct shop_store_entry *e, struct strbuf *err)
{
	if (e->fd < 0) {
		sb_addstr(err, "idempotency record saved without its lock");
		return -1;
	}
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "key", e->key);
	jw_kv_int(&w, "count", e->count);
	jw_kv_int(&w, "applied", e->applied);
	kv_str_or_null(&w, "route", e->route);
	kv_str_or_null(&w, "fingerprint", e->fingerprint);
	jw_kv_int(&w, "status", e->status);
	kv_str_or_null(&w, "body", e->body);
	kv_str_or_null(&w, "ref", e->ref);
	jw_obj_end(&w);
	sb_addch(&sb, '\n');
	size_t off = 0;
	int r = 0;
	while (off < sb.len) {
		ssize_t n = pwrite(e->fd, sb.buf + off, sb.len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sb_addf(err, "cannot write the idempotency record of '%s': %s", e->key,
				n < 0 ? strerror(errno) : "short write");
			r = -1;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && ftruncate(e->fd, (off_t)sb.len) < 0) {
		sb_addf(err, "cannot truncate the idempotency record of '%s': %s", e->key,
			strerror(errno));
		r = -1;
	}
	sb_release(&sb);
	return r;
}

void shop_store_unlock(struct shop_store_entry *e)
{
	if (e->fd >= 0)
		close(e->fd); /* releases the flock */
	free(e->key);
	free(e->fingerprint);
	free(e->body);
	free(e->ref);
	free(e->route);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

/* Read the record at path into *e (e->key: see read_record) under a
 * shared lock, waited for briefly. A missing file reads as a new key. */
static int peek(const char *path, struct shop_store_entry *e, struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* A writer holds the lock only briefly; a long holder (an order in
	 * progress) is read around, which is safe with whole-value parsing. */
	int locked = lock_wait(fd, LOCK_SH, 200);
	int r = read_record(fd, path, e, err);
	if (locked == 0)
		flock(fd, LOCK_UN);
	close(fd);
	return r;
}

int shop_store_read(const char *store, const char *key, struct shop_store_entry *e,
		    struct strbuf *err)
{
	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->key = xstrdup(key);
	char *path = key_path(store, key);
	int r = peek(path, e, err);
	free(path);
	return r;
}

/* A record's file name: 32 hex digits and ".json" (see key_path). */
static bool record_name(const char *name)
{
	return strlen(name) == 37 && strspn(name, "0123456789abcdef") == 32 &&
	       !strcmp(name + 32, ".json");
}

static int by_key(const void *a, const void *b)
{
	const struct shop_store_entry *x = a, *y = b;
	return strcmp(x->key, y->key);
}

int shop_store_list(const char *store, struct shop_store_entry **out, size_t *n,
		    struct strbuf *err)
{
	struct shop_store_entry *v = NULL;
	size_t nv = 0, alloc = 0;
	int r = 0;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(store);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		sb_addf(err, "cannot open '%s': %s", store, strerror(errno));
		return -1;
	}
	const struct dirent *de;
	while ((de = readdir(d))) {
		if (!record_name(de->d_name))
			continue;
		char *path = xasprintf("%s/%s", store, de->d_name);
		struct shop_store_entry e = { .fd = -1 };
		r = peek(path, &e, err);
		free(path);
		if (r < 0) {
			shop_store_unlock(&e);
			break;
		}
		if (!e.key) { /* empty: made by a request that never saved */
			shop_store_unlock(&e);
			continue;
		}
		ALLOC_GROW(v, nv + 1, alloc);
		v[nv++] = e;
	}
	closedir(d);
	if (r < 0) {
		shop_store_list_free(v, nv);
		return -1;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), by_key);
	*out = v;
	*n = nv;
	return 0;
}

void shop_store_list_free(struct shop_store_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		shop_store_unlock(&v[i]);
	free(v);
}
