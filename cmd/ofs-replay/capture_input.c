/*
 * capture_input.c: buffered, gzip-transparent line reading for import
 * (see capture_input.h). One buffer holds the unread bytes; a line longer
 * than the buffer grows it, so any line length works and memory follows
 * the longest line.
 *
 * Bytes are read with read(2) as they come (zlib's gzread would wait for
 * a whole buffer, which stalls a live pipe); input that starts with the
 * gzip magic is inflated with zlib's stream interface, member after
 * member. A read interrupted by a signal ends the input: the tools'
 * signal handlers do not restart calls, so the caller sees the end, then
 * sig_pending(), and finishes cleanly.
 */
#include "common.h"
#include <fcntl.h>
#include <zlib.h>

#include "capture_input.h"

#define CIN_CHUNK (64 * 1024)

struct cin {
	int fd;
	char *name;
	char *buf;               /* data not yet taken: buf[start..end) */
	size_t alloc, start, end;
	bool eof;
	bool sniffed, gzip;
	bool in_member;          /* inside a gzip member not yet ended */
	z_stream z;
	unsigned char *zbuf;     /* compressed bytes read, not yet inflated */
	size_t lineno;
	char error[256];
};

struct cin *cin_open(const char *path)
{
	int fd = 0;
	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
	}
	struct cin *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->name = xstrdup(strcmp(path, "-") ? path : "stdin");
	r->alloc = CIN_CHUNK;
	r->buf = xmalloc(r->alloc);
	return r;
}

const char *cin_name(const struct cin *r)
{
	return r->name;
}

/* read(2) into p; >0 bytes, 0 at the end (or on a signal), -1 error. */
static ssize_t raw_read(struct cin *r, void *p, size_t n)
{
	ssize_t got = read(r->fd, p, n);
	if (got < 0 && errno == EINTR)
		return 0;
	if (got < 0)
		snprintf(r->error, sizeof(r->error), "%s", strerror(errno));
	return got;
}

/* Make room at the end of the buffer. */
static void room(struct cin *r)
{
	if (r->start && r->start == r->end)
		r->start = r->end = 0;
	if (r->end < r->alloc)
		return;
	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	} else {
		r->alloc *= 2;
		r->buf = xrealloc(r->buf, r->alloc);
	}
}

static int start_gzip(struct cin *r)
{
	r->gzip = true;
	r->zbuf = xmalloc(CIN_CHUNK);
	if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
		die("cannot start inflating '%s'", r->name);
	return 0;
}

/* Inflate into the buffer; 1 if bytes came, 0 at the end, -1 error. */
static int fill_gzip(struct cin *r)
{
	for (;;) {
		if (!r->z.avail_in) {
			ssize_t got = raw_read(r, r->zbuf, CIN_CHUNK);
			if (got < 0)
				return -1;
			if (got == 0) {
				r->eof = true;
				if (r->in_member) {
					snprintf(r->error, sizeof(r->error), "gzip data is truncated");
					return -1;
				}
				return 0;
			}
			r->z.next_in = r->zbuf;
			r->z.avail_in = (uInt)got;
		}
		room(r);
		r->z.next_out = (unsigned char *)r->buf + r->end;
		size_t space = r->alloc - r->end;
		r->z.avail_out = (uInt)(space > UINT_MAX ? UINT_MAX : space);
		uInt before = r->z.avail_out;
		r->in_member = true;
		int zr = inflate(&r->z, Z_NO_FLUSH);
		r->end += before - r->z.avail_out;
		if (zr == Z_STREAM_END) {
			inflateReset(&r->z); /* another member may follow */
			r->in_member = false;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			snprintf(r->error, sizeof(r->error), "gzip data is corrupt (%s)",
				 r->z.msg ? r->z.msg : "inflate failed");
			return -1;
		}
		if (before != r->z.avail_out)
			return 1;
	}
}

/* Read more at the end of the buffer; 1 if bytes came, 0 at the end, -1 error. */
static int fill(struct cin *r)
{
	if (r->eof)
		return 0;
	if (r->gzip)
		return fill_gzip(r);
	room(r);
	ssize_t got = raw_read(r, r->buf + r->end, r->alloc - r->end);
	if (got < 0)
		return -1;
	if (got == 0) {
		r->eof = true;
		return 0;
	}
	if (!r->sniffed) {
		r->sniffed = true;
		/* The magic may arrive split: wait for two bytes. */
		while (got == 1 && (unsigned char)r->buf[r->end] == 0x1f) {
			ssize_t more = raw_read(r, r->buf + r->end + 1, r->alloc - r->end - 1);
			if (more < 0)
				return -1;
			if (more == 0)
				break;
			got += more;
		}
		if (got >= 2 && (unsigned char)r->buf[r->end] == 0x1f &&
		    (unsigned char)r->buf[r->end + 1] == 0x8b) {
			start_gzip(r);
			memcpy(r->zbuf, r->buf + r->end, (size_t)got);
			r->z.next_in = r->zbuf;
			r->z.avail_in = (uInt)got;
			return fill_gzip(r);
		}
	}
	r->end += (size_t)got;
	return 1;
}

long cin_peek(struct cin *r, size_t max, const char **data)
{
	size_t i = 0;
	for (;;) {
		const char *p = r->buf + r->start;
		size_t have = r->end - r->start;
		while (i < have && i < max && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
			i++;
		const char *nl = i < have ? memchr(p + i, '\n', have - i) : NULL;
		if (nl || have >= max) {
			*data = p;
			size_t n = nl ? (size_t)(nl + 1 - p) : have;
			return (long)(n < max ? n : max);
		}
		int f = fill(r);
		if (f < 0)
			return -1;
		if (f == 0) {
			*data = r->buf + r->start;
			return (long)(r->end - r->start);
		}
	}
}

int cin_line(struct cin *r, const char **line, size_t *len)
{
	size_t scanned = 0;
	for (;;) {
		char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl + 1 - *line);
			r->start += *len;
			r->lineno++;
			return 1;
		}
		scanned = r->end - r->start;
		int f = fill(r);
		if (f < 0)
			return -1;
		if (f == 0) {
			if (r->end == r->start)
				return 0;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			r->lineno++;
			return 1;
		}
	}
}

size_t cin_lineno(const struct cin *r)
{
	return r->lineno;
}

const char *cin_error(const struct cin *r)
{
	return r->error;
}

void cin_close(struct cin *r)
{
	if (!r)
		return;
	if (r->gzip) {
		inflateEnd(&r->z);
		free(r->zbuf);
	}
	if (r->fd)
		close(r->fd);
	free(r->name);
	free(r->buf);
	free(r);
}
