/*
 * state.h: where ofs keeps durable state, and how it writes it safely.
 *
 * Deploy history, saga journals and the chaos fault ledger live under one
 * state directory (DESIGN.md section 5): directories 0700, files 0600.
 * Snapshots are replaced atomically, so a crash at any moment leaves
 * either the old or the new content, never a mixture or an empty file.
 * Journals (journal.h) and per-object locks (lock.h) build on this.
 */
#ifndef OFS_STATE_H
#define OFS_STATE_H

#include <stddef.h>
#include <sys/types.h>

#include "strbuf.h"

/*
 * state_dir: the state directory: $OFS_STATE_DIR if set and not empty,
 * else $XDG_STATE_HOME/ofs if that is an absolute path (the XDG rule),
 * else $HOME/.local/state/ofs. Returns a newly allocated string the
 * caller frees; it is not created (see state_mkdirs). Returns NULL with
 * a message in err (if not NULL) and errno ENOENT when none of the three
 * is usable (no HOME).
 */
char *state_dir(struct strbuf *err);

/*
 * state_mkdirs: create the directory path and any missing parents, each
 * with mode (subject to the umask; pass 0700 for state). Existing
 * directories are left as they are. Returns 0, or -1 with errno set and
 * a message in err (if not NULL): cannot create directory 'x': ...
 */
int state_mkdirs(const char *path, mode_t mode, struct strbuf *err);

/*
 * state_write_atomic: replace the file path with len bytes of data: write
 * a temporary file in the same directory, fsync it, rename it over path,
 * fsync the directory. The file gets exactly mode (pass 0600 for state),
 * whatever the umask. On failure path is untouched, the temporary file is
 * removed, and -1 is returned with errno set and a message in err (if not
 * NULL): cannot write 'x': No space left on device.
 */
int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct strbuf *err);

/*
 * state_fsync_dir: fsync the directory holding path, so a file created or
 * renamed there survives a crash. Returns 0, or -1 with errno set and a
 * message in err (if not NULL).
 */
int state_fsync_dir(const char *path, struct strbuf *err);

#endif
