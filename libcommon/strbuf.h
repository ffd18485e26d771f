/*
 * strbuf.h: growable byte buffers, always NUL-terminated.
 *
 * A struct strbuf is initialised with SB_INIT (or sb_init) and owns its
 * memory until sb_release or sb_detach. buf is never NULL, so it can be
 * printed at once. Functions that grow the buffer die on out-of-memory.
 */
#ifndef OFS_STRBUF_H
#define OFS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char sb_empty[];
#define SB_INIT { 0, 0, sb_empty }

void sb_init(struct strbuf *sb, size_t hint);
/* sb_release: free the memory and reset to empty. */
void sb_release(struct strbuf *sb);
/* sb_detach: hand the NUL-terminated string to the caller (who frees it). */
char *sb_detach(struct strbuf *sb, size_t *len);
/* sb_grow: make room for extra more bytes (plus the NUL). */
void sb_grow(struct strbuf *sb, size_t extra);
void sb_setlen(struct strbuf *sb, size_t len);
static inline void sb_reset(struct strbuf *sb) { sb_setlen(sb, 0); }

void sb_add(struct strbuf *sb, const void *data, size_t len);
static inline void sb_addstr(struct strbuf *sb, const char *s) { sb_add(sb, s, strlen(s)); }
static inline void sb_addch(struct strbuf *sb, int c)
{
	if (sb->len + 1 >= sb->alloc)
		sb_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* sb_trim_eol: drop trailing "\n" or "\r\n". */
void sb_trim_eol(struct strbuf *sb);
/* sb_read_fd: append everything readable from fd; -1 with errno on error. */
int sb_read_fd(struct strbuf *sb, int fd);
/* sb_read_file: append a whole file; -1 with errno on error. */
int sb_read_file(struct strbuf *sb, const char *path);

#endif
