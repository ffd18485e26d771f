/*
 * spool.h: export's on-disk queue of batches that could not be delivered
 * (spool.c). One file per batch, written atomically, named so that a
 * listing sorted by name is oldest first; a file is removed only after
 * its batch was delivered, so nothing is lost, and only the holder of the
 * directory's lock drains, so nothing is sent twice by two runs.
 */
#ifndef OFS_TRACE_SPOOL_H
#define OFS_TRACE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct spool {
	char *dir;
	int lock_fd; /* -1 until spool_lock succeeded */
	size_t seq;  /* batches spooled by this run */
};

/* spool_open: create dir (0700) if needed. Returns 0, or -1 with a
 * message in err. sp is initialised either way; spool_close frees it. */
int spool_open(struct spool *sp, const char *dir, struct strbuf *err);

/*
 * spool_lock: try once to take the drain lock (DIR/.lock) and keep it
 * until spool_close. Returns 1 when held (now or before), 0 when another
 * run holds it (drain later), -1 on another error (message in err).
 */
int spool_lock(struct spool *sp, struct strbuf *err);

/*
 * spool_put: store one batch body atomically (0600) as a new file whose
 * name ends in ".EXT.json" (ext "otlp" or "zipkin": the body's format).
 * Returns 0, or -1 with a message in err (nothing is left behind).
 */
int spool_put(struct spool *sp, const char *ext, const void *body, size_t len,
	      struct strbuf *err);

/*
 * spool_list: the names (not paths) of the spooled batches, oldest first,
 * in a NULL-terminated array the caller frees with spool_list_free.
 * Returns the count, or -1 with a message in err.
 */
long spool_list(const struct spool *sp, char ***names, struct strbuf *err);
void spool_list_free(char **names);

/* spool_read: the contents of spooled batch name into sb (appended).
 * Returns 0, or -1 with a message in err. */
int spool_read(const struct spool *sp, const char *name, struct strbuf *sb, struct strbuf *err);

/* spool_remove: delete a delivered batch and fsync the directory. */
int spool_remove(const struct spool *sp, const char *name, struct strbuf *err);

/* spool_reject: rename a batch the backend refused for good to
 * NAME.rejected, kept for a person to look at but never sent again. */
int spool_reject(const struct spool *sp, const char *name, struct strbuf *err);

/* spool_close: release the lock and free; sp may be closed twice. */
void spool_close(struct spool *sp);

#endif
