/*
 * capture_input.h: the raw line reader under `ofs-replay import`.
 *
 * GoReplay records hold raw HTTP messages (blank lines, CRLF, any bytes)
 * and HAR files are one JSON document, so import cannot use the JSON
 * Lines reader, which drops blank lines and line endings. This reader
 * gives lines with their "\n" kept, any length, gzip inflated
 * transparently (detected by its magic bytes), and lets the caller peek
 * at the start of the input to guess its format. Bytes are handed on as
 * they arrive, so a live pipe flows.
 */
#ifndef OFS_REPLAY_CAPTURE_INPUT_H
#define OFS_REPLAY_CAPTURE_INPUT_H

#include <stddef.h>

#include "strbuf.h"

struct cin;

/*
 * cin_open: open path ("-": stdin). Returns NULL with errno set if it
 * cannot be opened. name is used in messages ("-" is "stdin").
 */
struct cin *cin_open(const char *path);
/* cin_name: the name for messages ("stdin" for "-"). */
const char *cin_name(const struct cin *r);
/*
 * cin_peek: the bytes from the current position up to and including the
 * first "\n" that follows something other than blanks (or up to max
 * bytes, or the end of input), without taking them. Returns the count,
 * -1 on a read error.
 */
long cin_peek(struct cin *r, size_t max, const char **data);
/*
 * cin_line: the next line, "\n" included (the last line may lack it),
 * valid until the next call. Returns 1, 0 at the end, -1 on a read or
 * decompression error (errno or a zlib message in cin_error).
 */
int cin_line(struct cin *r, const char **line, size_t *len);
/* cin_lineno: the number of the line last returned (1-based). */
size_t cin_lineno(const struct cin *r);
/* cin_error: the reason of the last -1. */
const char *cin_error(const struct cin *r);
/* cin_close: close and free (stdin is not closed). */
void cin_close(struct cin *r);

#endif
