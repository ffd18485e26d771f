/*
 * logsrc.h: one log input for `logs` and `join` (defined in logs.c):
 * native log records (JSONL), or OTLP LogsData, one object per line (the
 * collector's file exporter) or a whole pretty-printed document, turned
 * into native log records. Bad lines are reported FILE:LINE and counted
 * through jsonl.h, so jsonl_exit_status applies.
 */
#ifndef OFS_TRACE_LOGSRC_H
#define OFS_TRACE_LOGSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

/* One record; everything is owned by the source and valid until its next
 * logsrc_next or logsrc_close. */
struct logrec {
	const char *text; /* the record's JSON text, NUL-terminated, no newline */
	size_t len;
	int64_t ts_ns;    /* its "ts" */
	const cJSON *v;   /* the parsed record */
};

struct logsrc;

/* logsrc_open: open path ("-" stdin; gzip transparent). NULL with a
 * message in err if it cannot be opened. */
struct logsrc *logsrc_open(const char *path, bool strict, struct strbuf *err);
/*
 * logsrc_next: the next record, in input order. Returns 1, 0 at the end,
 * -1 on a read error or (strict) at the first bad line. Records without a
 * valid RFC 3339 "ts" are rejected as bad lines.
 */
int logsrc_next(struct logsrc *s, struct logrec *out);
void logsrc_close(struct logsrc *s);

/* logsrc_level_rank: debug (and trace) 0, info 1, warn 2, error 3, fatal
 * 4, or -1 for anything else (case-insensitive; "warning" is warn). */
int logsrc_level_rank(const char *level);

#endif
