/*
 * err.c: message and exit helpers (see err.h). Every message is written
 * with one write(2) so lines from concurrent processes do not interleave.
 */
#include "common.h"

const char *ofs_progname = "ofs";

/* Append formatted text to buf, never past cap - 2 (room for "\n"). */
static size_t vappend(char *buf, size_t len, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static size_t vappend(char *buf, size_t len, size_t cap, const char *fmt, va_list ap)
{
	if (len >= cap - 2)
		return len;
	int n = vsnprintf(buf + len, cap - 1 - len, fmt, ap);
	if (n < 0)
		return len;
	len += (size_t)n;
	return len < cap - 2 ? len : cap - 2;
}

static size_t append(char *buf, size_t len, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t len, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	len = vappend(buf, len, cap, fmt, ap);
	va_end(ap);
	return len;
}

void vreport(const char *kind, int errnum, const char *fmt, va_list ap)
{
	char buf[4096];
	size_t len = append(buf, 0, sizeof(buf), "%s: %s", ofs_progname, kind ? kind : "");
	len = vappend(buf, len, sizeof(buf), fmt, ap);
	if (errnum)
		len = append(buf, len, sizeof(buf), ": %s", strerror(errnum));
	buf[len++] = '\n';
	fflush(stdout);
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

#define REPORT(kind, errnum)                    \
	do {                                    \
		va_list ap;                     \
		va_start(ap, fmt);              \
		vreport(kind, errnum, fmt, ap); \
		va_end(ap);                     \
	} while (0)

void die(const char *fmt, ...)
{
	REPORT(NULL, 0);
	exit(EXIT_SYSTEM);
}

void die_errno(const char *fmt, ...)
{
	int e = errno;
	REPORT(NULL, e);
	exit(EXIT_SYSTEM);
}

void die_status(int status, const char *fmt, ...)
{
	REPORT(NULL, 0);
	exit(status);
}

void die_usage(const char *fmt, ...)
{
	REPORT(NULL, 0);
	exit(EXIT_USAGE);
}

int error(const char *fmt, ...)
{
	REPORT(NULL, 0);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int e = errno;
	REPORT(NULL, e);
	return -1;
}

void warn(const char *fmt, ...)
{
	REPORT("warning: ", 0);
}

void exit_after_output(int status)
{
	int failed = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (!failed && fclose(stdout) != 0) {
		failed = 1;
		e = errno;
	}
	if (failed) {
		if (e == EPIPE)
			_exit(status); /* the reader left: end quietly */
		errno = e;
		error_errno("write error on standard output");
		_exit(EXIT_SYSTEM);
	}
	exit(status);
}

void error_lines(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl > p)
			error("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}
