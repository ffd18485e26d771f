/*
 * spool.c: the on-disk batch queue behind `ofs-trace export --spool DIR`
 * (see spool.h). A backend that is down for an hour must not cost an
 * hour of spans, and a backend that comes back must not get any of them
 * twice: batches are written whole (state_write_atomic), deleted only
 * after a 2xx, and drained by one run at a time under a lock.
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lock.h"
#include "spool.h"
#include "state.h"
#include "timefmt.h"

int spool_open(struct spool *sp, const char *dir, struct strbuf *err)
{
	sp->dir = xstrdup(dir);
	sp->lock_fd = -1;
	sp->seq = 0;
	return state_mkdirs(dir, 0700, err);
}

int spool_lock(struct spool *sp, struct strbuf *err)
{
	if (sp->lock_fd >= 0)
		return 1;
	char *path = xasprintf("%s/.lock", sp->dir);
	struct strbuf lerr = SB_INIT;
	sp->lock_fd = lock_acquire(path, 0, &lerr);
	int e = errno;
	free(path);
	if (sp->lock_fd >= 0) {
		sb_release(&lerr);
		return 1;
	}
	if (e == EWOULDBLOCK || e == EAGAIN) {
		sb_release(&lerr);
		return 0;
	}
	sb_add(err, lerr.buf, lerr.len);
	sb_release(&lerr);
	return -1;
}

int spool_put(struct spool *sp, const char *ext, const void *body, size_t len,
	      struct strbuf *err)
{
	char *path = xasprintf("%s/%020" PRId64 "-%ld-%06zu.%s.json", sp->dir, ts_now_ns(),
			       (long)getpid(), sp->seq++, ext);
	int rc = state_write_atomic(path, body, len, 0600, err);
	free(path);
	return rc;
}

static int is_batch(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return 0;
	return (n > 10 && !strcmp(name + n - 10, ".otlp.json")) ||
	       (n > 12 && !strcmp(name + n - 12, ".zipkin.json"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

long spool_list(const struct spool *sp, char ***names, struct strbuf *err)
{
	DIR *d = opendir(sp->dir);
	if (!d) {
		sb_addf(err, "cannot open '%s': %s", sp->dir, strerror(errno));
		return -1;
	}
	char **v = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_batch(de->d_name))
			continue;
		ALLOC_GROW(v, n + 2, alloc);
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (!v)
		v = xcalloc(1, sizeof(*v));
	v[n] = NULL;
	qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	return (long)n;
}

void spool_list_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

int spool_read(const struct spool *sp, const char *name, struct strbuf *sb, struct strbuf *err)
{
	char *path = xasprintf("%s/%s", sp->dir, name);
	int rc = sb_read_file(sb, path);
	if (rc < 0)
		sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
	free(path);
	return rc < 0 ? -1 : 0;
}

int spool_remove(const struct spool *sp, const char *name, struct strbuf *err)
{
	char *path = xasprintf("%s/%s", sp->dir, name);
	int rc = 0;
	if (unlink(path) < 0 && errno != ENOENT) {
		sb_addf(err, "cannot remove '%s': %s", path, strerror(errno));
		rc = -1;
	} else {
		rc = state_fsync_dir(path, err);
	}
	free(path);
	return rc;
}

int spool_reject(const struct spool *sp, const char *name, struct strbuf *err)
{
	char *from = xasprintf("%s/%s", sp->dir, name);
	char *to = xasprintf("%s/%s.rejected", sp->dir, name);
	int rc = 0;
	if (rename(from, to) < 0) {
		sb_addf(err, "cannot rename '%s': %s", from, strerror(errno));
		rc = -1;
	}
	free(from);
	free(to);
	return rc;
}

void spool_close(struct spool *sp)
{
	if (sp->lock_fd >= 0)
		lock_release(sp->lock_fd);
	sp->lock_fd = -1;
	free(sp->dir);
	sp->dir = NULL;
}
