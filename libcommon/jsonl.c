/*
 * jsonl.c: JSON Lines reader (see jsonl.h).
 *
 * Input is read in 64 KiB chunks with read(2); if the first two bytes are
 * the gzip magic the chunks go through zlib's inflate first. Lines are
 * found with memchr in a buffer that grows to fit the longest line, so
 * memory is bounded by the longest line, not by the input. With
 * JSONL_NONBLOCK every read(2) is preceded by a poll(2) that does not
 * wait: when nothing is there yet, JSONL_AGAIN goes back up to the caller
 * with every byte read so far kept in the buffer (or, for gzip, in zlib's
 * input), so the next call carries on where this one stopped. The
 * descriptor itself is left blocking: stdin may be shared with other
 * processes, which must not see O_NONBLOCK appear on it.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <zlib.h>

#include "jsonl.h"

#define CHUNK (64 * 1024)

struct jsonl_reader {
	int fd;
	char *name;
	unsigned flags;
	/* decoded bytes: [start, end) not yet consumed */
	char *buf;
	size_t alloc, start, end;
	bool eof, failed;
	/* gzip */
	bool sniffed, gz;
	bool member_end; /* a gzip member ended: reset zlib before going on */
	z_stream zs;
	unsigned char *zin;
	/* current line */
	const char *line;
	size_t line_len;
	size_t lineno, good, bad;
};

static size_t total_good, total_bad, total_io_errors, total_open_errors;

struct jsonl_reader *jsonl_open_fd(int fd, const char *name, unsigned flags)
{
	struct jsonl_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->name = xstrdup(name);
	r->flags = flags;
	r->alloc = CHUNK * 2;
	r->buf = xmalloc(r->alloc + 1);
	return r;
}

struct jsonl_reader *jsonl_open(const char *path, unsigned flags, struct strbuf *err)
{
	if (!path || !strcmp(path, "-"))
		return jsonl_open_fd(STDIN_FILENO, "-", flags);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		total_open_errors++;
		if (err)
			sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	return jsonl_open_fd(fd, path, flags);
}

static void io_error(struct jsonl_reader *r, const char *what)
{
	error("%s: %s", r->name, what);
	r->failed = true;
	r->eof = true;
	total_io_errors++;
}

/* Read raw bytes; returns bytes read, 0 at EOF, -1 on error (reported),
 * JSONL_AGAIN when non-blocking and nothing can be read now. */
static ssize_t read_raw(struct jsonl_reader *r, void *dst, size_t n)
{
	if (r->flags & JSONL_NONBLOCK) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int rc;
		while ((rc = poll(&p, 1, 0)) < 0 && errno == EINTR)
			;
		if (rc == 0)
			return JSONL_AGAIN;
		/* Ready, at end of input, or poll failed: read tells which. */
	}
	for (;;) {
		ssize_t got = read(r->fd, dst, n);
		if (got >= 0)
			return got;
		if (errno == EINTR)
			continue;
		char msg[256];
		snprintf(msg, sizeof(msg), "read error: %s", strerror(errno));
		io_error(r, msg);
		return -1;
	}
}

/* Make room for at least CHUNK more bytes after end, compacting first. */
static void make_room(struct jsonl_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->alloc - r->end < CHUNK) {
		r->alloc = r->alloc * 2 > r->end + CHUNK ? r->alloc * 2 : r->end + CHUNK;
		r->buf = xrealloc(r->buf, r->alloc + 1);
	}
}

static int fill_gz(struct jsonl_reader *r)
{
	for (;;) {
		if (r->zs.avail_in == 0) {
			ssize_t got = read_raw(r, r->zin, CHUNK);
			if (got < 0)
				return (int)got;
			if (got == 0) {
				/* The end of input between members ends it well. */
				if (r->member_end) {
					r->eof = true;
					return 0;
				}
				io_error(r, "truncated gzip input");
				return -1;
			}
			r->zs.next_in = r->zin;
			r->zs.avail_in = (uInt)got;
		}
		if (r->member_end) {
			/* Another gzip member follows. */
			inflateReset(&r->zs);
			r->member_end = false;
		}
		r->zs.next_out = (unsigned char *)r->buf + r->end;
		r->zs.avail_out = (uInt)(r->alloc - r->end);
		int z = inflate(&r->zs, Z_NO_FLUSH);
		size_t produced = (size_t)((char *)r->zs.next_out - (r->buf + r->end));
		r->end += produced;
		if (z == Z_STREAM_END) {
			r->member_end = true;
			if (produced)
				return 1;
			continue;
		}
		if (z != Z_OK && z != Z_BUF_ERROR) {
			char msg[256];
			snprintf(msg, sizeof(msg), "gzip data error: %s",
				 r->zs.msg ? r->zs.msg : "corrupt input");
			io_error(r, msg);
			return -1;
		}
		if (produced)
			return 1;
	}
}

/* Append more decoded bytes; returns 1 if some arrived, 0 at EOF, -1,
 * or JSONL_AGAIN (non-blocking, nothing yet). */
static int fill(struct jsonl_reader *r)
{
	if (r->eof)
		return 0;
	make_room(r);
	if (!r->sniffed) {
		/* Sniff the gzip magic: read until two bytes or end of input.
		 * Bytes read before a JSONL_AGAIN stay in the buffer. */
		while (r->end - r->start < 2) {
			ssize_t more = read_raw(r, r->buf + r->end, CHUNK - (r->end - r->start));
			if (more < 0)
				return (int)more;
			if (more == 0)
				break;
			r->end += (size_t)more;
		}
		r->sniffed = true;
		size_t got = r->end - r->start;
		if (got == 0) {
			r->eof = true;
			return 0;
		}
		if (got >= 2 && (unsigned char)r->buf[r->start] == 0x1f &&
		    (unsigned char)r->buf[r->start + 1] == 0x8b) {
			r->gz = true;
			if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
				die("cannot initialise zlib");
			r->zin = xmalloc(CHUNK);
			memcpy(r->zin, r->buf + r->start, got);
			r->end = r->start;
			r->zs.next_in = r->zin;
			r->zs.avail_in = (uInt)got;
			return fill_gz(r);
		}
		return 1;
	}
	if (r->gz)
		return fill_gz(r);
	ssize_t got = read_raw(r, r->buf + r->end, r->alloc - r->end);
	if (got == JSONL_AGAIN)
		return JSONL_AGAIN;
	if (got <= 0) {
		r->eof = true;
		return got < 0 ? -1 : 0;
	}
	r->end += (size_t)got;
	return 1;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int jsonl_next_line(struct jsonl_reader *r, const char **line, size_t *len)
{
	size_t scanned = 0; /* bytes after start already known to hold no '\n' */
	for (;;) {
		char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
		size_t n;
		if (nl) {
			n = (size_t)(nl - (r->buf + r->start));
		} else {
			scanned = r->end - r->start;
			int f = fill(r);
			if (f > 0)
				continue;
			if (f == JSONL_AGAIN)
				return JSONL_AGAIN;
			if (f < 0)
				return -1;
			if (r->end == r->start)
				return 0;
			n = r->end - r->start; /* last line without newline */
		}
		char *s = r->buf + r->start;
		r->start += n + (nl ? 1 : 0);
		r->lineno++;
		scanned = 0;
		if (n && s[n - 1] == '\r')
			n--;
		s[n] = '\0';
		if (blank(s, n))
			continue;
		r->line = s;
		r->line_len = n;
		*line = s;
		*len = n;
		return 1;
	}
}

const char *jsonl_line(const struct jsonl_reader *r, size_t *len)
{
	if (len)
		*len = r->line_len;
	return r->line;
}

static int vreject(struct jsonl_reader *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int vreject(struct jsonl_reader *r, const char *fmt, va_list ap)
{
	r->bad++;
	total_bad++;
	if (!(r->flags & JSONL_QUIET)) {
		char msg[512];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		error("%s:%zu: %s", r->name, r->lineno, msg);
	}
	return (r->flags & JSONL_STRICT) ? -1 : 0;
}

int jsonl_reject(struct jsonl_reader *r, const char *fmt, ...)
{
	/* The line was counted good when parsed; move it to bad. */
	if (r->good) {
		r->good--;
		total_good--;
	}
	va_list ap;
	va_start(ap, fmt);
	int ret = vreject(r, fmt, ap);
	va_end(ap);
	return ret;
}

static int reject_syntax(struct jsonl_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int reject_syntax(struct jsonl_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vreject(r, fmt, ap);
	va_end(ap);
	return ret;
}

bool jsonl_unclosed(const char *line, size_t len)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return in_str || depth > 0;
}

/* Describe what the parser choked on, for "FILE:LINE: reason". */
static void syntax_reason(const char *line, size_t len, const char *at, char *out, size_t n)
{
	size_t col = at && at >= line && at <= line + len ? (size_t)(at - line) : len;
	if (col >= len || jsonl_unclosed(line, len)) {
		col = len;
		snprintf(out, n, "invalid JSON: unexpected end of line at column %zu", col + 1);
		return;
	}
	unsigned char c = (unsigned char)line[col];
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, n, "invalid JSON at column %zu near '%c'", col + 1, c);
	else
		snprintf(out, n, "invalid JSON at column %zu near byte 0x%02x", col + 1, c);
}

int jsonl_next(struct jsonl_reader *r, cJSON **out)
{
	const char *line;
	size_t len;
	for (;;) {
		int got = jsonl_next_line(r, &line, &len);
		if (got <= 0)
			return got;
		const char *end = NULL;
		cJSON *v = cJSON_ParseWithLengthOpts(line, len, &end, false);
		if (v) {
			/* cJSON stops after one value: anything but blanks after it is bad. */
			const char *p = end;
			while (p < line + len && (*p == ' ' || *p == '\t'))
				p++;
			if (p < line + len) {
				cJSON_Delete(v);
				char why[128];
				snprintf(why, sizeof(why), "trailing data after the JSON value at column %zu",
					 (size_t)(p - line) + 1);
				if (reject_syntax(r, "%s", why) < 0)
					return -1;
				continue;
			}
			if (!(r->flags & JSONL_ANY_VALUE) && !cJSON_IsObject(v)) {
				cJSON_Delete(v);
				if (reject_syntax(r, "not a JSON object") < 0)
					return -1;
				continue;
			}
			r->good++;
			total_good++;
			*out = v;
			return 1;
		}
		char why[128];
		syntax_reason(line, len, cJSON_GetErrorPtr(), why, sizeof(why));
		if (reject_syntax(r, "%s", why) < 0)
			return -1;
	}
}

const char *jsonl_name(const struct jsonl_reader *r) { return r->name; }
int jsonl_fd(const struct jsonl_reader *r) { return r->fd; }
size_t jsonl_lineno(const struct jsonl_reader *r) { return r->lineno; }
size_t jsonl_good(const struct jsonl_reader *r) { return r->good; }
size_t jsonl_bad(const struct jsonl_reader *r) { return r->bad; }
size_t jsonl_total_good(void) { return total_good; }
size_t jsonl_total_bad(void) { return total_bad; }

int jsonl_exit_status(int status)
{
	if (total_io_errors)
		return EXIT_SYSTEM;
	if (total_open_errors && (status == EXIT_OK || status == EXIT_NO))
		return EXIT_USAGE;
	if (total_bad && status == EXIT_OK)
		return EXIT_REJECTED;
	return status;
}

void jsonl_close(struct jsonl_reader *r)
{
	if (!r)
		return;
	if (r->gz) {
		inflateEnd(&r->zs);
		free(r->zin);
	}
	if (r->fd > 0)
		close(r->fd);
	free(r->name);
	free(r->buf);
	free(r);
}
