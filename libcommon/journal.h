/*
 * journal.h: append-only JSON Lines journals for durable state.
 *
 * A saga, a deploy or a chaos experiment records each transition as one
 * JSON object on one line, and acts on the transition only after the
 * line is on disk (DESIGN.md section 5). A crash can therefore leave at
 * most one incomplete line, at the end: journal_read detects and skips
 * it, and journal_repair cuts it off so appending can resume.
 *
 * The writer's sequence, under the object's lock (lock.h):
 *     fd = lock_acquire(LOCKPATH, ...)
 *     journal_repair(PATH, ...)        cut a tail torn by a crash
 *     journal_read(PATH, ...)          rebuild the state
 *     j = journal_open(PATH, ...)
 *     journal_append(j, ...)           before acting on each transition
 *     journal_close(j, ...); lock_release(fd)
 * Readers that do not write need no lock: they only skip a torn tail.
 */
#ifndef OFS_JOURNAL_H
#define OFS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct journal;

/*
 * journal_open: open path for appending, creating it with mode 0600 (and
 * fsyncing its directory) if it does not exist. Refuses a journal whose
 * last line is incomplete (call journal_repair first), since an append
 * would glue onto it. Returns a handle to close with journal_close, or
 * NULL with errno set and a message in err (if not NULL).
 */
struct journal *journal_open(const char *path, struct strbuf *err);

/*
 * journal_append: write line (len bytes, one JSON object without a
 * newline) plus "\n" in one write(2), then fdatasync, and only then
 * return 0. A line that is not a single JSON object or holds a newline is
 * refused (EINVAL), so a journal never holds a line its readers reject.
 * If the write or sync fails the file is cut back to where the line began
 * and -1 is returned with errno and err set; if even that fails, the
 * handle refuses all further appends.
 */
int journal_append(struct journal *j, const char *line, size_t len, struct strbuf *err);

/*
 * journal_write and journal_sync: journal_append in two halves, for a
 * writer that appends to many journals and syncs them together (group
 * commit: on ext4 the first fdatasync commits the others' lines too, so
 * the rest return at once). journal_write checks and writes one line
 * without syncing; on a failed write the file is cut back to where the
 * line began. journal_sync fdatasyncs what was written since the last
 * sync (nothing to do: 0); if that fails, every line written since is
 * cut off (they were never durable, so must never be acted on) and -1
 * is returned with errno and err set. Act on a line only after the sync.
 */
int journal_write(struct journal *j, const char *line, size_t len, struct strbuf *err);
int journal_sync(struct journal *j, struct strbuf *err);

/*
 * journal_close: close and free j (NULL is fine). Returns 0, or -1 with
 * errno and err set if close reported an error.
 */
int journal_close(struct journal *j, struct strbuf *err);

struct journal_stats {
	size_t lines;            /* complete, valid lines handed to the callback */
	int torn;                /* 1 if an incomplete last line was skipped */
	uint64_t valid_bytes;    /* length of the intact prefix of the file */
	uint64_t torn_bytes;     /* bytes in the skipped tail */
};

/*
 * The callback sees each valid line without its newline, NUL-terminated
 * (line[len] == '\0'), numbered from 1. It returns 0 to go on; any other
 * value stops the read, and journal_read returns that value.
 */
typedef int journal_line_fn(const char *line, size_t len, size_t lineno, void *ctx);

/*
 * journal_read: hand every complete line of path to fn (which may be NULL
 * to only validate) and fill *stats (if not NULL). Each line must be one
 * JSON object (checked with cJSON). The last line is torn, so reported in
 * stats->torn and skipped rather than an error, when it has no newline
 * or is not a JSON object. A bad line anywhere else is an error (-1,
 * errno EILSEQ, err "journal 'x' is corrupt at line 7: not a JSON
 * object"); lines before it have already been handed to fn. A missing
 * file is an error with errno ENOENT. Memory use is bounded by the
 * longest line, not the file size. Returns 0 when the whole file was read.
 */
int journal_read(const char *path, journal_line_fn *fn, void *ctx,
		 struct journal_stats *stats, struct strbuf *err);

/*
 * journal_repair: if path ends with a torn line, truncate the file to its
 * intact prefix and fsync it. Call it in the writer only, after taking
 * the object's lock and before journal_open: a reader repairing a journal
 * could cut a line that a live writer is just appending. Returns 1 if it
 * cut something, 0 if there was nothing to do (or no file), -1 on error,
 * including a corrupt line in the middle, which it never touches. stats,
 * if not NULL, is filled as by journal_read.
 */
int journal_repair(const char *path, struct journal_stats *stats, struct strbuf *err);

#endif
