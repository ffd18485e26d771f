/*
 * out.c: buffered record output to stdout, files and gzip files (see
 * out.h). Keeps a list of open outputs so that exit paths (main's return,
 * die, a closed pipe) flush whatever complete records were buffered.
 */
#include "common.h"
#include <fcntl.h>
#include <zlib.h>

#include "out.h"

#define OUT_BUFSZ (64 * 1024)

struct out {
	int fd;
	gzFile gz;
	char *name;
	bool line_flush, failed;
	struct strbuf buf;
	struct out *next;
};

static struct out *outputs, *stdout_out;
static bool exiting;         /* exit handlers run: never call exit() again */
static int epipe_status = EXIT_OK; /* status when the reader has gone */

static void flush_at_exit(void)
{
	exiting = true;
	out_flush_all();
}

static struct out *new_out(int fd, gzFile gz, const char *name)
{
	static bool registered;
	if (!registered) {
		atexit(flush_at_exit);
		registered = true;
	}
	struct out *o = xcalloc(1, sizeof(*o));
	o->fd = fd;
	o->gz = gz;
	o->name = xstrdup(name);
	sb_init(&o->buf, OUT_BUFSZ);
	o->next = outputs;
	outputs = o;
	return o;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

struct out *out_open(const char *path)
{
	if (!path || !strcmp(path, "-"))
		return out_stdout();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		die_errno("cannot create '%s'", path);
	gzFile gz = NULL;
	if (ends_with(path, ".gz")) {
		gz = gzdopen(fd, "wb6");
		if (!gz)
			die("cannot start gzip output to '%s'", path);
	}
	return new_out(fd, gz, path);
}

struct out *out_stdout(void)
{
	if (!stdout_out) {
		/* Anything already in stdio's buffer goes first. */
		fflush(stdout);
		stdout_out = new_out(STDOUT_FILENO, NULL, "standard output");
	}
	return stdout_out;
}

void out_set_line_flush(struct out *o, bool on)
{
	o->line_flush = on;
}

static void write_failed(struct out *o, int e)
{
	o->failed = true;
	if (e == EPIPE) {
		/* The reader is gone: end quietly, letting exit handlers run. */
		if (!exiting) {
			exiting = true;
			exit(epipe_status);
		}
		return;
	}
	errno = e;
	if (o->fd == STDOUT_FILENO && !o->gz)
		error_errno("write error on standard output");
	else
		error_errno("write error on '%s'", o->name);
	_exit(EXIT_SYSTEM);
}

void out_flush(struct out *o)
{
	if (o->failed || !o->buf.len)
		return;
	const char *p = o->buf.buf;
	size_t n = o->buf.len;
	if (o->gz) {
		int w = gzwrite(o->gz, p, (unsigned)n);
		if (w <= 0 || (size_t)w != n) {
			int zerr;
			const char *msg = gzerror(o->gz, &zerr);
			sb_reset(&o->buf);
			write_failed(o, zerr == Z_ERRNO ? errno : EIO);
			(void)msg;
			return;
		}
	} else {
		while (n) {
			ssize_t w = write(o->fd, p, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				sb_reset(&o->buf);
				write_failed(o, errno);
				return;
			}
			p += w;
			n -= (size_t)w;
		}
	}
	sb_reset(&o->buf);
}

void out_write(struct out *o, const void *data, size_t len)
{
	if (o->buf.len + len > OUT_BUFSZ)
		out_flush(o);
	if (len >= OUT_BUFSZ) {
		sb_add(&o->buf, data, len);
		out_flush(o);
		return;
	}
	sb_add(&o->buf, data, len);
}

void out_record(struct out *o, struct strbuf *sb)
{
	sb_addch(sb, '\n');
	out_write(o, sb->buf, sb->len);
	sb_reset(sb);
	if (o->line_flush)
		out_flush(o);
}

void out_close(struct out *o)
{
	if (!o)
		return;
	out_flush(o);
	if (o == stdout_out)
		return;
	for (struct out **pp = &outputs; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	if (o->gz) {
		if (gzclose(o->gz) != Z_OK && !o->failed)
			write_failed(o, errno ? errno : EIO);
	} else if (close(o->fd) != 0 && !o->failed) {
		write_failed(o, errno);
	}
	sb_release(&o->buf);
	free(o->name);
	free(o);
}

void out_finish(int status)
{
	epipe_status = status;
	out_flush_all();
}

void out_flush_all(void)
{
	for (struct out *o = outputs; o; o = o->next)
		out_flush(o);
}
