/*
 * route.h: where `ofs-split route` writes each variant's records: its
 * --to targets (route_to.c), used by the command (route.c).
 */
#ifndef OFS_SPLIT_ROUTE_H
#define OFS_SPLIT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/*
 * A target: standard output, a file (gzip when its name ends in ".gz"),
 * or a command run by /bin/sh -c that reads the records on its standard
 * input. Several variants may share one target (the same text).
 */
struct route_sink;

/*
 * route_sink_open: open the target text as given after "VARIANT=" ("-"
 * is standard output, "|CMD" a command, anything else a file). variant
 * is put in the command's environment as OFS_VARIANT. A file that cannot
 * be created or a command that cannot be started ends the program with
 * status 4 and a message naming it. The caller owns the sink until
 * route_sink_close.
 */
struct route_sink *route_sink_open(const char *target, const char *variant);

/* route_sink_stdout: the sink for standard output (shared, never NULL). */
struct route_sink *route_sink_stdout(void);

/*
 * route_sink_write: buffer n bytes. A failed write (a full disk) ends
 * the program with status 4 naming the target; a command that stopped
 * reading (EPIPE) has the rest of its records dropped, quietly, as a
 * shell pipeline into `head` does, and its exit status decides. For
 * standard output, out.h's rules apply (a closed pipe ends quietly).
 */
void route_sink_write(struct route_sink *s, const void *p, size_t n);

/*
 * route_sink_close: flush and close; for a command, wait for it. Returns
 * 0, or -1 with one line in err (appended) when the command failed:
 *   --to 'new=|gzip >x': exited with status 1
 * Frees s (standard output is flushed, not closed or freed).
 */
int route_sink_close(struct route_sink *s, struct strbuf *err);

#endif
