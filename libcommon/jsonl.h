/*
 * jsonl.h: the JSON Lines reader behind every ofs tool's input.
 *
 * Reads a file or stdin ("-" or NULL) line by line with no limit on line
 * length, transparently inflating gzip input (detected by its magic bytes,
 * not its name; concatenated gzip members are read in turn). A trailing
 * "\r" is dropped (CRLF files), blank lines are skipped, a last line
 * without "\n" is still a line.
 *
 * Bad lines follow the record contract (DESIGN.md section 2): each is
 * reported on stderr as "ofs-NAME: FILE:LINE: reason", counted, and
 * skipped, so nothing valid is lost; tools end with exit status 3
 * (jsonl_exit_status). With JSONL_STRICT the first bad line stops the
 * reader instead.
 */
#ifndef OFS_JSONL_H
#define OFS_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "strbuf.h"

enum {
	JSONL_STRICT = 1 << 0,    /* the first bad line ends reading */
	JSONL_ANY_VALUE = 1 << 1, /* accept any JSON value, not only objects */
	JSONL_QUIET = 1 << 2,     /* count bad lines but do not print them */
	JSONL_NONBLOCK = 1 << 3,  /* never wait for input: see JSONL_AGAIN */
};

/*
 * With JSONL_NONBLOCK, jsonl_next_line and jsonl_next return JSONL_AGAIN
 * instead of waiting when no complete line can be had without waiting
 * (a pipe or terminal with nothing more to read yet): nothing is lost,
 * the caller waits for jsonl_fd to be readable (poll(2)) or does other
 * work, then calls again. A regular file never gives JSONL_AGAIN. A last
 * line without "\n" is returned only once the end of input is seen.
 */
#define JSONL_AGAIN (-2)

struct jsonl_reader;

/*
 * jsonl_open: open path ("-" or NULL for stdin). Returns NULL and fills
 * err ("cannot open 'x': No such file or directory") on failure.
 */
struct jsonl_reader *jsonl_open(const char *path, unsigned flags, struct strbuf *err);
/* jsonl_open_fd: read an already open descriptor; name is used in messages.
 * The reader closes fd in jsonl_close unless it is 0. */
struct jsonl_reader *jsonl_open_fd(int fd, const char *name, unsigned flags);

/*
 * jsonl_next_line: the next non-blank line, without its line ending.
 * *line stays valid until the next call and is NUL-terminated. Returns 1,
 * 0 at end of input, or -1 on a read or decompression error (reported on
 * stderr and counted as an I/O error: jsonl_exit_status gives 4), or
 * JSONL_AGAIN (JSONL_NONBLOCK only).
 */
int jsonl_next_line(struct jsonl_reader *r, const char **line, size_t *len);

/*
 * jsonl_next: the next valid record, parsed. Returns 1 with *out owned by
 * the caller (cJSON_Delete it), 0 at end of input, -1 on an I/O error or,
 * with JSONL_STRICT, at the first bad line. Bad lines are reported and
 * skipped. The raw text of the line is available through jsonl_line.
 * With JSONL_NONBLOCK also JSONL_AGAIN (above).
 */
int jsonl_next(struct jsonl_reader *r, cJSON **out);

/* jsonl_line: the raw text of the line last returned. */
const char *jsonl_line(const struct jsonl_reader *r, size_t *len);

/*
 * jsonl_reject: a tool-level rejection of the current line (valid JSON but
 * not a valid record: "missing field 'service'"): reported and counted
 * exactly like a syntax error. Returns -1 with JSONL_STRICT so the caller
 * can stop, else 0.
 */
int jsonl_reject(struct jsonl_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *jsonl_name(const struct jsonl_reader *r);
/* jsonl_fd: the descriptor read, to poll(2) for with JSONL_NONBLOCK. */
int jsonl_fd(const struct jsonl_reader *r);
size_t jsonl_lineno(const struct jsonl_reader *r);
size_t jsonl_good(const struct jsonl_reader *r);
size_t jsonl_bad(const struct jsonl_reader *r);

/* jsonl_close: close and free; the counts go into the process totals. */
void jsonl_close(struct jsonl_reader *r);

/*
 * jsonl_unclosed: true when text ends inside a string, object or array it
 * opened: a truncated line, or the first line of a pretty-printed
 * document. A scan of brackets and quotes, not a validation.
 */
bool jsonl_unclosed(const char *line, size_t len);

/* Process-wide totals over every reader opened so far. */
size_t jsonl_total_good(void);
size_t jsonl_total_bad(void);
/*
 * jsonl_exit_status: what a tool whose work otherwise succeeded returns:
 * EXIT_SYSTEM after a read error; EXIT_USAGE if an input file named on
 * the command line could not be opened (a missing file is a mistake of
 * use, as in every ofs tool); EXIT_REJECTED if any line was bad; else
 * status unchanged.
 */
int jsonl_exit_status(int status);

#endif
