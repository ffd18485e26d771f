/*
 * tap.h: a tiny Test Anything Protocol emitter for the C unit tests.
 *
 * Each tests/unit/test_*.c has its own main() that calls the checks below
 * and ends with `return tap_done();`, which prints the plan ("1..N") and
 * returns non-zero if anything failed. prove(1) reads the output.
 */
#ifndef OFS_TAP_H
#define OFS_TAP_H

#include <stddef.h>
#include <stdint.h>

/* ok: one test; returns cond so callers can skip dependent checks. */
int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line, const char *name);
int tap_is_str(const char *got, const char *want, const char *file, int line, const char *name);
int tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
	       const char *file, int line, const char *name);
int tap_is_double(double got, double want, double tol, const char *file, int line,
		  const char *name);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name) tap_is_int((got), (want), __FILE__, __LINE__, (name))
#define is_str(got, want, name) tap_is_str((got), (want), __FILE__, __LINE__, (name))
#define is_mem(g, gl, w, wl, name) tap_is_mem((g), (gl), (w), (wl), __FILE__, __LINE__, (name))
#define is_double(got, want, tol, name) \
	tap_is_double((got), (want), (tol), __FILE__, __LINE__, (name))
#define diag tap_diag

#endif
