/*
 * journal.c: append-only JSON Lines journals (see journal.h).
 *
 * Durability comes from the shape of the write: the whole line and its
 * newline go out in one write(2) on an O_APPEND descriptor and are
 * fdatasync'd before journal_append returns. A crash mid-write can then
 * only leave a prefix of the last line, which never ends in a newline, or
 * (after a power cut on some file systems) a tail of garbage or zeros;
 * either way it is the last line, and readers skip it. A bad line with
 * good lines after it cannot come from a crash, so it is an error.
 */
#include "common.h"
#include <cJSON.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "journal.h"
#include "state.h"

#define READ_CHUNK 65536

struct journal {
	int fd;
	int broken;             /* a failed append could not be undone */
	int dirty;              /* lines written since the last sync */
	off_t synced;           /* the file's length at the last sync */
	char *path;
	struct strbuf buf;      /* the line being appended, with its newline */
};

static int fail(struct strbuf *err, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct strbuf *err, int e, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		sb_vaddf(err, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

/* Why line (NUL-terminated at len) is not a valid record, or NULL. */
static const char *check_line(const char *line, size_t len)
{
	if (memchr(line, '\0', len))
		return "contains a NUL byte";
	/* with the NUL counted, cJSON also rejects anything after the value */
	cJSON *json = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	const char *why = NULL;
	if (!json)
		why = "invalid JSON";
	else if (!cJSON_IsObject(json))
		why = "not a JSON object";
	cJSON_Delete(json);
	return why;
}

/* ---- reading ---------------------------------------------------------- */

int journal_read(const char *path, journal_line_fn *fn, void *ctx,
		 struct journal_stats *stats, struct strbuf *err)
{
	struct journal_stats st = { 0, 0, 0, 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (stats)
			*stats = st;
		return fail(err, errno, "cannot open journal '%s': %s", path, strerror(errno));
	}

	struct strbuf buf = SB_INIT; /* unprocessed bytes, from file offset base */
	uint64_t base = 0, lineno = 0;
	const char *bad = NULL;      /* why the last complete line is bad */
	int corrupt = 0, ret = 0;
	for (;;) {
		sb_grow(&buf, READ_CHUNK);
		ssize_t n = read(fd, buf.buf + buf.len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = fail(err, errno, "cannot read journal '%s': %s", path,
				   strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (bad) {
			corrupt = 1; /* more follows the bad line */
			break;
		}
		sb_setlen(&buf, buf.len + (size_t)n);

		size_t pos = 0;
		char *nl;
		while ((nl = memchr(buf.buf + pos, '\n', buf.len - pos))) {
			char *line = buf.buf + pos;
			size_t len = (size_t)(nl - line);
			lineno++;
			*nl = '\0';
			pos += len + 1;
			if ((bad = check_line(line, len)) != NULL)
				break;
			st.lines++;
			st.valid_bytes = base + pos;
			if (fn && (ret = fn(line, len, (size_t)lineno, ctx)) != 0)
				break;
		}
		if (ret || (bad && pos < buf.len)) {
			corrupt = !ret;
			break;
		}
		memmove(buf.buf, buf.buf + pos, buf.len - pos);
		sb_setlen(&buf, buf.len - pos);
		base += pos;
	}
	if (corrupt)
		ret = fail(err, EILSEQ, "journal '%s' is corrupt at line %" PRIu64 ": %s", path,
			   lineno, bad);
	else if (!ret && (bad || buf.len)) {
		st.torn = 1; /* a bad last line, or one without its newline */
		st.torn_bytes = base + buf.len - st.valid_bytes;
	}
	sb_release(&buf);
	close(fd);
	if (stats)
		*stats = st;
	return ret;
}

int journal_repair(const char *path, struct journal_stats *stats, struct strbuf *err)
{
	struct journal_stats st;
	size_t errlen = err ? err->len : 0;
	if (journal_read(path, NULL, NULL, &st, err) < 0) {
		if (stats)
			*stats = st;
		if (errno != ENOENT)
			return -1;
		if (err)
			sb_setlen(err, errlen); /* no journal: nothing to repair */
		return 0;
	}
	if (stats)
		*stats = st;
	if (!st.torn)
		return 0;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)st.valid_bytes) < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, e, "cannot repair journal '%s': %s", path, strerror(e));
	}
	close(fd);
	return 1;
}

/* ---- writing ---------------------------------------------------------- */

struct journal *journal_open(const char *path, struct strbuf *err)
{
	int created = 1;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0) {
		fail(err, errno, "cannot open journal '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (created && state_fsync_dir(path, err) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct stat st;
	char last = '\n';
	if (fstat(fd, &st) < 0 || (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)) {
		int e = errno;
		close(fd);
		fail(err, e, "cannot read journal '%s': %s", path, strerror(e));
		return NULL;
	}
	if (last != '\n') {
		close(fd);
		fail(err, EILSEQ, "cannot append to journal '%s': its last line is incomplete "
				  "(it needs repair)", path);
		return NULL;
	}
	struct journal *j = xcalloc(1, sizeof(*j));
	j->fd = fd;
	j->path = xstrdup(path);
	sb_init(&j->buf, 0);
	return j;
}

int journal_write(struct journal *j, const char *line, size_t len, struct strbuf *err)
{
	if (j->broken)
		return fail(err, EIO, "cannot append to journal '%s': a failed write left it "
				      "in an unknown state", j->path);
	if (memchr(line, '\n', len))
		return fail(err, EINVAL,
			    "cannot append to journal '%s': the record holds a newline", j->path);
	sb_reset(&j->buf);
	sb_add(&j->buf, line, len);
	const char *bad = check_line(j->buf.buf, len);
	if (bad)
		return fail(err, EINVAL, "cannot append to journal '%s': the record is %s",
			    j->path, bad);
	sb_addch(&j->buf, '\n');

	off_t start = lseek(j->fd, 0, SEEK_END);
	if (start < 0)
		return fail(err, errno, "cannot append to journal '%s': %s", j->path,
			    strerror(errno));
	if (!j->dirty)
		j->synced = start;
	const char *p = j->buf.buf;
	size_t left = j->buf.len;
	int e = 0;
	while (left && !e) {
		ssize_t n = write(j->fd, p, left);
		if (n < 0 && errno != EINTR)
			e = errno;
		else if (n > 0) {
			p += n;
			left -= (size_t)n;
		}
	}
	if (!e) {
		j->dirty = 1;
		return 0;
	}
	if (ftruncate(j->fd, start) < 0)
		j->broken = 1;
	return fail(err, e, "cannot append to journal '%s': %s", j->path, strerror(e));
}

int journal_sync(struct journal *j, struct strbuf *err)
{
	if (!j->dirty)
		return 0;
	if (fdatasync(j->fd) == 0) {
		j->dirty = 0;
		return 0;
	}
	int e = errno;
	/* What is not on disk must not be acted on: cut it off. */
	if (ftruncate(j->fd, j->synced) < 0 || fdatasync(j->fd) < 0)
		j->broken = 1;
	j->dirty = 0;
	return fail(err, e, "cannot append to journal '%s': %s", j->path, strerror(e));
}

int journal_append(struct journal *j, const char *line, size_t len, struct strbuf *err)
{
	if (journal_write(j, line, len, err) < 0)
		return -1;
	return journal_sync(j, err);
}

int journal_close(struct journal *j, struct strbuf *err)
{
	if (!j)
		return 0;
	int r = 0;
	if (close(j->fd) < 0)
		r = fail(err, errno, "cannot close journal '%s': %s", j->path, strerror(errno));
	sb_release(&j->buf);
	free(j->path);
	free(j);
	return r;
}
