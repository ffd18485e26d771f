/*
 * out.h: where records go: stdout or a file, gzip when the name ends in
 * ".gz" (DESIGN.md section 2).
 *
 * Output is buffered and written with write(2). A reader that went away
 * (EPIPE, as in `ofs-trace stats | head`) ends the tool quietly with
 * status 0 after the exit handlers ran (or with the tool's own status if
 * its work was done, see out_finish); any other write failure (ENOSPC
 * from >/dev/full, EIO) is reported naming the output and exits with
 * status 4. With line flushing on (watch modes) every record is written
 * as soon as it is complete, so pipelines flow live.
 */
#ifndef OFS_OUT_H
#define OFS_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct out;

/*
 * out_open: open path for writing ("-" or NULL: stdout; "*.gz": gzip).
 * Dies with status 4 and a message naming the file if it cannot be
 * created. Every output opened is flushed by out_flush_all at exit.
 */
struct out *out_open(const char *path);
/* out_stdout: the shared stdout output (opened on first use). */
struct out *out_stdout(void);
/* out_set_line_flush: flush after every out_record (watch modes). */
void out_set_line_flush(struct out *o, bool on);
/* out_write: buffer bytes; errors end the process as described above. */
void out_write(struct out *o, const void *data, size_t len);
/* out_record: write sb's bytes plus "\n" as one record, then reset sb. */
void out_record(struct out *o, struct strbuf *sb);
void out_flush(struct out *o);
/* out_close: flush, close and free (stdout is flushed, not closed). */
void out_close(struct out *o);
/* out_flush_all: flush every open output; also run at exit. */
void out_flush_all(void);
/*
 * out_finish: the final flush, called by main() with the program's exit
 * status: when the reader has gone by then, the work is done and the
 * program exits quietly with that status (its answer), not 0.
 */
void out_finish(int status);

#endif
