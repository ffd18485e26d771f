/*
 * tap.c: the TAP emitter behind tap.h. Output is unbuffered so a crash
 * leaves every earlier result visible to prove.
 */
#include "common.h"
#include <math.h>

#include "tap.h"

static int ntests, nfailed;

static int result(int cond, const char *file, int line, const char *name)
{
	ntests++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, name);
	if (!cond) {
		nfailed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	char name[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return result(cond, file, line, name);
}

int tap_is_int(long long got, long long want, const char *file, int line, const char *name)
{
	int r = result(got == want, file, line, name);
	if (!r)
		printf("#   got %lld, want %lld\n", got, want);
	return r;
}

static void show(const char *label, const char *s, size_t len)
{
	printf("#   %s '", label);
	for (size_t i = 0; i < len && i < 400; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 32 && c < 127)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("'%s\n", len > 400 ? "..." : "");
}

int tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
	       const char *file, int line, const char *name)
{
	int same = glen == wlen && (glen == 0 || memcmp(got, want, glen) == 0);
	int r = result(same, file, line, name);
	if (!r) {
		show("got ", got, glen);
		show("want", want, wlen);
	}
	return r;
}

int tap_is_str(const char *got, const char *want, const char *file, int line, const char *name)
{
	if (!got || !want) {
		int r = result(got == want, file, line, name);
		if (!r)
			printf("#   got %s, want %s\n", got ? got : "NULL", want ? want : "NULL");
		return r;
	}
	return tap_is_mem(got, strlen(got), want, strlen(want), file, line, name);
}

int tap_is_double(double got, double want, double tol, const char *file, int line,
		  const char *name)
{
	int r = result(fabs(got - want) <= tol || (isnan(got) && isnan(want)), file, line, name);
	if (!r)
		printf("#   got %.17g, want %.17g (tolerance %g)\n", got, want, tol);
	return r;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

int tap_done(void)
{
	printf("1..%d\n", ntests);
	fflush(stdout);
	return nfailed ? 1 : 0;
}
