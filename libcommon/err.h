/*
 * err.h: exit statuses and the die/error/warn helpers of every ofs tool.
 *
 * Messages go to stderr prefixed "ofs-NAME: " (the program's name), in
 * lowercase, with no full stop, naming what failed first and quoting the
 * subject: ofs-deploy: cannot open 'plan.json': No such file or directory
 */
#ifndef OFS_ERR_H
#define OFS_ERR_H

#include <stdarg.h>

/* Exit statuses shared by every tool (DESIGN.md section 3, ofs.7). */
enum {
	EXIT_OK = 0,        /* success; the answer is yes */
	EXIT_NO = 1,        /* the answer is no: unhealthy, deviated, rolled back */
	EXIT_USAGE = 2,     /* usage error or invalid config; nothing was done */
	EXIT_REJECTED = 3,  /* some input records were rejected */
	EXIT_SYSTEM = 4,    /* I/O error, dependency unreachable, no resources */
	EXIT_SIGNAL = 128   /* plus the signal number */
};

/* The program name used as message prefix; set by main() from argv[0]. */
extern const char *ofs_progname;

/* die: print the message and exit with EXIT_SYSTEM. Never returns. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* die_errno: like die, appending ": strerror(errno)". */
void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* die_status: print the message and exit with the given status. */
void die_status(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* die_usage: print the message and exit with EXIT_USAGE. */
void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* error: print the message; returns -1 so callers can `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* error_errno: like error, appending ": strerror(errno)". */
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * error_lines: print each line of text (len bytes, lines ending in '\n',
 * the last one may not) through error(), skipping empty lines: for the
 * lists of problems loaders gather, one per line.
 */
void error_lines(const char *text, size_t len);
/* warn: print "ofs-NAME: warning: ..." and go on. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vreport: the common body: prefix, optional kind, message, errno text. */
void vreport(const char *kind, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * exit_after_output: flush and close stdout, then exit with status. A
 * closed reader (EPIPE) ends quietly with status 0; any other write
 * failure (e.g. ENOSPC from >/dev/full) is reported and exits with
 * EXIT_SYSTEM. main() calls it with cmd_main's result.
 */
void exit_after_output(int status) __attribute__((noreturn));

#endif
