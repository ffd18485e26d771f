/*
 * state.c: the state directory and atomic file replacement (see state.h).
 *
 * Atomic replacement is the classic sequence: a temporary file next to
 * the target (same file system, so rename is atomic), written in full and
 * fsync'd before the rename (otherwise a crash can leave the new name
 * pointing at an empty file), then the directory fsync'd so the rename
 * itself is durable.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

#include "state.h"

static int fail(struct strbuf *err, int e, const char *what, const char *path)
{
	if (err)
		sb_addf(err, "cannot %s '%s': %s", what, path, strerror(e));
	errno = e;
	return -1;
}

char *state_dir(struct strbuf *err)
{
	const char *dir = getenv("OFS_STATE_DIR");
	if (dir && *dir)
		return xstrdup(dir);
	dir = getenv("XDG_STATE_HOME");
	if (dir && dir[0] == '/')
		return xasprintf("%s/ofs", dir);
	dir = getenv("HOME");
	if (dir && *dir)
		return xasprintf("%s/.local/state/ofs", dir);
	if (err)
		sb_addstr(err, "cannot find the state directory: "
			       "set OFS_STATE_DIR, XDG_STATE_HOME or HOME");
	errno = ENOENT;
	return NULL;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int state_mkdirs(const char *path, mode_t mode, struct strbuf *err)
{
	if (!*path)
		return fail(err, ENOENT, "create directory", path);
	char *p = xstrdup(path);
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	/* each prefix ending before a '/', then the whole path */
	for (size_t i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i < len && p[i - 1] == '/')
			continue; /* "a//b" */
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && !(errno == EEXIST && is_dir(p))) {
			int e = errno == EEXIST ? ENOTDIR : errno;
			int r = fail(err, e, "create directory", p);
			free(p);
			return r;
		}
		p[i] = saved;
	}
	free(p);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int state_fsync_dir(const char *path, struct strbuf *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == path ? xstrdup("/")
		    : slash       ? xstrndup(path, (size_t)(slash - path))
				  : xstrdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	/* some file systems cannot sync a directory; nothing more can be done */
	if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL && errno != ENOTSUP))
		r = fail(err, errno, "sync directory", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct strbuf *err)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	char *tmp = xasprintf("%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int r = fail(err, errno, "write", path);
		free(tmp);
		return r;
	}
	int e = 0;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		free(tmp);
		return fail(err, e, "write", path);
	}
	free(tmp);
	return state_fsync_dir(path, err);
}
