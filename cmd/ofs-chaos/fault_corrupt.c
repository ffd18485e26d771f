/*
 * fault_corrupt.c: the corrupt fault: damage a file the way bad deploys,
 * full disks and flaky storage damage configs and data files: cut it
 * short, overwrite part of it with garbage, flip bits, delete it,
 * replace a piece of text, or append to it.
 *
 * Before anything is damaged, the original bytes are copied to a backup
 * beside the ledger (LEDGER_DIR/backups/UID, 0600, fsync'd with its
 * directory) and the inject record keeps the path, size, mode, owner and
 * CRC-32 of the original. The undo puts the original back byte for byte
 * and atomically (state_write_atomic: temporary file, fsync, rename),
 * with its mode, then reads it again and checks the CRC-32; "delete" is
 * undone by recreating the file. The damage itself is done in place
 * (same inode), as real corruption is, so a process holding the file
 * open sees it. The new content is computed in memory before the record
 * is written, so nothing is decided after the point of no return.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fault.h"
#include "rnd.h"
#include "state.h"

static const char *const keys[] = { "path", "mode", "bytes", "offset", "find", "with", "data",
				    "duration", NULL };
static const char *const modes[] = { "truncate", "garbage", "flip", "delete", "replace",
				     "append", NULL };
enum { M_TRUNCATE, M_GARBAGE, M_FLIP, M_DELETE, M_REPLACE, M_APPEND };

#define CORRUPT_BYTES_DEFAULT 64
/* The largest file backed up (it is held in memory). */
#define CORRUPT_MAX_FILE (256LL * 1024 * 1024)

static int mode_of(const char *name)
{
	for (int i = 0; name && modes[i]; i++)
		if (!strcmp(name, modes[i]))
			return i;
	return -1;
}

static void corrupt_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	const char *s;
	int64_t n;
	int mode = -1;
	fv_string(v, prov, ptr, "path", true, &s);
	fv_enum(v, prov, ptr, "mode", true, modes, &mode);
	fv_int(v, prov, ptr, "bytes", false, 1, CORRUPT_MAX_FILE, &n);
	fv_int(v, prov, ptr, "offset", false, 0, CORRUPT_MAX_FILE, &n);
	fv_string(v, prov, ptr, "find", mode == M_REPLACE, &s);
	if (cJSON_GetObjectItemCaseSensitive(prov, "with"))
		cfg_get_string(v->cfg, prov, ptr, "with", false, &s);
	if (cJSON_GetObjectItemCaseSensitive(prov, "data"))
		cfg_get_string(v->cfg, prov, ptr, "data", false, &s);
	if (mode < 0)
		return;
	/* keys that would do nothing in this mode are mistakes */
	static const struct {
		const char *key;
		unsigned modes; /* bit per mode where the key is used */
	} used[] = {
		{ "bytes", 1u << M_TRUNCATE | 1u << M_GARBAGE | 1u << M_FLIP | 1u << M_APPEND },
		{ "offset", 1u << M_TRUNCATE | 1u << M_GARBAGE | 1u << M_FLIP },
		{ "find", 1u << M_REPLACE },
		{ "with", 1u << M_REPLACE },
		{ "data", 1u << M_APPEND },
	};
	for (size_t i = 0; i < ARRAY_SIZE(used); i++)
		if (cJSON_GetObjectItemCaseSensitive(prov, used[i].key) &&
		    !(used[i].modes & 1u << mode))
			cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, used[i].key),
				  "not used by mode '%s'", modes[mode]);
	bool has_bytes = cJSON_GetObjectItemCaseSensitive(prov, "bytes") != NULL;
	if (mode == M_TRUNCATE && has_bytes && cJSON_GetObjectItemCaseSensitive(prov, "offset"))
		cfg_error(v->cfg, ptr, "give 'offset' (cut there) or 'bytes' (cut that many off "
				       "the end) for mode 'truncate', not both");
	if (mode == M_APPEND && has_bytes && cJSON_GetObjectItemCaseSensitive(prov, "data"))
		cfg_error(v->cfg, ptr, "give 'data' or 'bytes' (random bytes) for mode 'append', "
				       "not both");
}

/* The absolute path of path with its directory resolved (the file itself
 * need not exist), into out. */
static void abs_path(const char *path, struct strbuf *out)
{
	char *real = realpath(path, NULL);
	if (real) {
		sb_addstr(out, real);
		free(real);
		return;
	}
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	char *rdir = realpath(dir, NULL);
	char *cwd = NULL;
	if (rdir)
		sb_addf(out, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", slash ? slash + 1 : path);
	else if (path[0] != '/' && (cwd = getcwd(NULL, 0)) != NULL)
		sb_addf(out, "%s/%s", cwd, path);
	else
		sb_addstr(out, path);
	free(cwd);
	free(rdir);
	free(dir);
}

static int corrupt_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	(void)topo;
	const char *path = fget_str(prov, "path");
	if (!path || strstr(path, "${"))
		return -1;
	sb_addstr(target, "file:");
	abs_path(path, target);
	return 0;
}

static uint32_t crc_of(const void *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, n);
}

/* Read a whole regular file of at most CORRUPT_MAX_FILE bytes. */
static int read_file(const char *path, struct strbuf *sb, struct stat *st, struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) < 0) {
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		sb_addf(err, "'%s' is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st->st_size > CORRUPT_MAX_FILE) {
		sb_addf(err, "'%s' is too large to back up (%lld bytes, at most %lld)", path,
			(long long)st->st_size, CORRUPT_MAX_FILE);
		close(fd);
		return -1;
	}
	int r = sb_read_fd(sb, fd);
	int e = errno;
	close(fd);
	if (r < 0) {
		sb_addf(err, "cannot read '%s': %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static void random_bytes(struct strbuf *sb, size_t n)
{
	sb_grow(sb, n);
	for (size_t i = 0; i < n; i++)
		sb->buf[sb->len + i] = (char)rnd_below(256);
	sb_setlen(sb, sb->len + n);
}

/* The damaged content of orig into out (not for delete); details in o. */
static int damage(int mode, const cJSON *prov, const char *path, const struct strbuf *orig,
		  struct strbuf *out, cJSON *o, struct strbuf *err)
{
	size_t size = orig->len;
	const cJSON *offj = cJSON_GetObjectItemCaseSensitive(prov, "offset");
	size_t bytes = (size_t)fget_int(prov, "bytes", CORRUPT_BYTES_DEFAULT);
	size_t off = (size_t)fget_int(prov, "offset", 0);
	switch (mode) {
	case M_TRUNCATE: {
		size_t keep;
		if (offj) {
			if (off >= size) {
				sb_addf(err, "offset %zu is not inside '%s' (%zu bytes): nothing to cut",
					off, path, size);
				return -1;
			}
			keep = off;
		} else {
			if (!size) {
				sb_addf(err, "'%s' is empty: nothing to cut", path);
				return -1;
			}
			keep = bytes >= size ? 0 : size - bytes;
		}
		sb_add(out, orig->buf, keep);
		break;
	}
	case M_GARBAGE:
		if (off > size) {
			sb_addf(err, "offset %zu is beyond the end of '%s' (%zu bytes)", off, path, size);
			return -1;
		}
		sb_add(out, orig->buf, off);
		random_bytes(out, bytes);
		if (off + bytes < size)
			sb_add(out, orig->buf + off + bytes, size - off - bytes);
		cJSON_AddNumberToObject(o, "offset", (double)off);
		cJSON_AddNumberToObject(o, "bytes", (double)bytes);
		break;
	case M_FLIP: {
		if (off >= size) {
			sb_addf(err, "offset %zu is not inside '%s' (%zu bytes): nothing to flip", off,
				path, size);
			return -1;
		}
		size_t n = bytes < size - off ? bytes : size - off;
		sb_add(out, orig->buf, size);
		for (size_t i = 0; i < n; i++)
			out->buf[off + i] ^= (char)(1u << rnd_below(8));
		cJSON_AddNumberToObject(o, "offset", (double)off);
		cJSON_AddNumberToObject(o, "bytes", (double)n);
		break;
	}
	case M_REPLACE: {
		const char *find = fget_str(prov, "find");
		const char *with = fget_str(prov, "with");
		size_t flen = strlen(find), n = 0, pos = 0;
		while (pos + flen <= size) {
			const char *hit = memmem(orig->buf + pos, size - pos, find, flen);
			if (!hit)
				break;
			size_t at = (size_t)(hit - orig->buf);
			sb_add(out, orig->buf + pos, at - pos);
			sb_addstr(out, with ? with : "");
			pos = at + flen;
			n++;
		}
		if (!n) {
			sb_addf(err, "the text of 'find' is not in '%s'", path);
			return -1;
		}
		sb_add(out, orig->buf + pos, size - pos);
		cJSON_AddNumberToObject(o, "replacements", (double)n);
		break;
	}
	case M_APPEND: {
		const char *data = fget_str(prov, "data");
		sb_add(out, orig->buf, size);
		if (data)
			sb_addstr(out, data);
		else
			random_bytes(out, bytes);
		cJSON_AddNumberToObject(o, "bytes", (double)(out->len - size));
		break;
	}
	}
	return 0;
}

/* Write content over path in place (same inode) and sync it. */
static int write_in_place(const char *path, const struct strbuf *content, struct strbuf *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < content->len) {
		ssize_t n = pwrite(fd, content->buf + done, content->len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (ftruncate(fd, (off_t)content->len) < 0 || fsync(fd) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	sb_addf(err, "cannot write '%s': %s", path, strerror(errno));
	close(fd);
	return -1;
}

/* Put the original back from undo's backup; 0 or -1 with err. */
static int restore(const cJSON *undo, struct strbuf *note, struct strbuf *err)
{
	const char *path = fget_str(undo, "path");
	const char *backup = fget_str(undo, "backup");
	const char *mode_s = fget_str(undo, "mode");
	const cJSON *crcj = cJSON_GetObjectItemCaseSensitive(undo, "crc32");
	if (!path || !backup || !mode_s || !cJSON_IsNumber(crcj)) {
		sb_addstr(err, "the corrupted file in the ledger has no path, backup, mode and crc32");
		return -1;
	}
	uint32_t crc = (uint32_t)crcj->valuedouble;
	mode_t mode = (mode_t)strtol(mode_s, NULL, 8) & 07777;
	struct strbuf data = SB_INIT, cur = SB_INIT, e = SB_INIT;
	struct stat st;
	int rc = -1;
	if (sb_read_file(&data, backup) < 0) {
		int be = errno;
		/* no backup: fine if the file is already the original */
		if (be == ENOENT && read_file(path, &cur, &st, &e) == 0 &&
		    crc_of(cur.buf, cur.len) == crc && (st.st_mode & 07777) == mode) {
			sb_addf(note, "nothing to undo: '%s' is intact", path);
			rc = 0;
		} else {
			sb_addf(err, "cannot read the backup '%s' of '%s': %s", backup, path,
				strerror(be));
		}
		goto out;
	}
	if (crc_of(data.buf, data.len) != crc) {
		sb_addf(err, "the backup '%s' of '%s' does not match its crc32", backup, path);
		goto out;
	}
	if (state_write_atomic(path, data.buf, data.len, mode, err) < 0)
		goto out;
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(undo, "owner");
	const cJSON *gid = cJSON_GetObjectItemCaseSensitive(undo, "group");
	if (cJSON_IsNumber(uid) && cJSON_IsNumber(gid) && stat(path, &st) == 0 &&
	    (st.st_uid != (uid_t)uid->valuedouble || st.st_gid != (gid_t)gid->valuedouble) &&
	    chown(path, (uid_t)uid->valuedouble, (gid_t)gid->valuedouble) < 0) {
		sb_addf(note, "restored, but cannot give '%s' back to its owner: %s", path,
			strerror(errno));
	}
	if (read_file(path, &cur, &st, err) < 0)
		goto out;
	if (crc_of(cur.buf, cur.len) != crc) {
		sb_addf(err, "'%s' does not match its original crc32 after the restore", path);
		goto out;
	}
	if (unlink(backup) < 0 && errno != ENOENT)
		warn("cannot remove the backup '%s': %s", backup, strerror(errno));
	rc = 0;
out:
	sb_release(&data);
	sb_release(&cur);
	sb_release(&e);
	return rc;
}

static int corrupt_inject(struct fault_op *op, struct strbuf *err)
{
	const cJSON *prov = op->prov;
	int mode = mode_of(fget_str(prov, "mode"));
	struct strbuf path = SB_INIT, orig = SB_INIT, out = SB_INIT, backup = SB_INIT;
	struct stat st;
	int rc = -1;
	abs_path(fget_str(prov, "path"), &path);
	sb_addf(&op->target, "file:%s", path.buf);
	if (read_file(path.buf, &orig, &st, err) < 0)
		goto out;
	cJSON_AddStringToObject(op->out, "path", path.buf);
	cJSON_AddStringToObject(op->out, "mode", modes[mode]);
	cJSON_AddNumberToObject(op->out, "size", (double)orig.len);
	if (mode != M_DELETE) {
		cJSON *how = cJSON_CreateObject();
		if (damage(mode, prov, path.buf, &orig, &out, how, err) < 0) {
			cJSON_Delete(how);
			goto out;
		}
		cJSON_AddNumberToObject(op->out, "new_size", (double)out.len);
		while (how->child) {
			cJSON *item = cJSON_DetachItemViaPointer(how, how->child);
			cJSON_AddItemToObject(op->out, item->string, item);
		}
		cJSON_Delete(how);
	}
	if (op->fc->dry_run) {
		rc = fault_commit(op, err);
		goto out;
	}
	if (!op->fc->ledger) {
		sb_addstr(err, "no fault ledger to keep the backup beside");
		goto out;
	}
	sb_addf(&backup, "%s/backups", ledger_dir(op->fc->ledger));
	if (state_mkdirs(backup.buf, 0700, err) < 0)
		goto out;
	sb_addf(&backup, "/%s", op->uid);
	if (state_write_atomic(backup.buf, orig.buf, orig.len, 0600, err) < 0)
		goto out;
	char mode_s[8];
	snprintf(mode_s, sizeof(mode_s), "%04o", (unsigned)(st.st_mode & 07777));
	cJSON_AddStringToObject(op->undo, "path", path.buf);
	cJSON_AddStringToObject(op->undo, "backup", backup.buf);
	cJSON_AddNumberToObject(op->undo, "size", (double)orig.len);
	cJSON_AddStringToObject(op->undo, "mode", mode_s);
	cJSON_AddNumberToObject(op->undo, "owner", (double)st.st_uid);
	cJSON_AddNumberToObject(op->undo, "group", (double)st.st_gid);
	cJSON_AddNumberToObject(op->undo, "crc32", (double)crc_of(orig.buf, orig.len));
	cJSON_AddStringToObject(op->undo, "damage", modes[mode]);
	cJSON_AddStringToObject(op->out, "backup", backup.buf);
	if ((rc = fault_commit(op, err)) != 0) {
		unlink(backup.buf);
		goto out;
	}
	int acted;
	if (mode == M_DELETE) {
		acted = unlink(path.buf);
		if (acted < 0)
			sb_addf(err, "cannot delete '%s': %s", path.buf, strerror(errno));
	} else {
		acted = write_in_place(path.buf, &out, err);
	}
	if (acted < 0) {
		struct strbuf note = SB_INIT, e = SB_INIT;
		if (restore(op->undo, &note, &e) < 0)
			sb_addf(err, " (and the restore failed: %s)", e.buf);
		sb_release(&note);
		sb_release(&e);
		rc = -1;
	}
out:
	sb_release(&path);
	sb_release(&orig);
	sb_release(&out);
	sb_release(&backup);
	return rc;
}

static int corrupt_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
			struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)rec;
	return restore(undo, note, err);
}

const struct fault_kind fault_kind_corrupt = {
	"corrupt", keys, corrupt_validate, corrupt_target, corrupt_inject, corrupt_undo,
};
