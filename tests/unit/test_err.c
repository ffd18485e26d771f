/*
 * test_err.c: messages carry the program name, read as DESIGN.md asks,
 * and each helper exits with its status.
 */
#include "common.h"

#include "child.h"
#include "tap.h"

static int do_die(void *a) { errno = ENOENT; die("cannot open '%s'", "plan.json"); }
static int do_die_errno(void *a) { errno = ENOENT; die_errno("cannot open '%s'", "plan.json"); }
static int do_usage(void *a) { die_usage("unknown option '%s'", "--x"); }
static int do_status(void *a) { die_status(3, "%d lines rejected", 2); }
static int do_error(void *a)
{
	errno = EACCES;
	int r = error_errno("cannot write '%s'", "state");
	warn("slow check: %d ms", 1200);
	return r == -1 ? 0 : 9;
}
static int do_lines(void *a)
{
	static const char text[] = "a.json: /x: bad\n\na.json: /y: worse\nlast without newline";
	error_lines(text, sizeof(text) - 1);
	error_lines("", 0);
	return 0;
}
static int do_long(void *a)
{
	char big[10000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	error("%s", big);
	return 0;
}

int main(void)
{
	ofs_progname = "ofs-deploy";
	static const struct {
		int (*fn)(void *);
		int status;
		const char *err;
	} cases[] = {
		{ do_die, 4, "ofs-deploy: cannot open 'plan.json'\n" },
		{ do_die_errno, 4, "ofs-deploy: cannot open 'plan.json': No such file or directory\n" },
		{ do_usage, 2, "ofs-deploy: unknown option '--x'\n" },
		{ do_status, 3, "ofs-deploy: 2 lines rejected\n" },
		{ do_error, 0,
		  "ofs-deploy: cannot write 'state': Permission denied\n"
		  "ofs-deploy: warning: slow check: 1200 ms\n" },
		{ do_lines, 0,
		  "ofs-deploy: a.json: /x: bad\n"
		  "ofs-deploy: a.json: /y: worse\n"
		  "ofs-deploy: last without newline\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct child_result r;
		child_run(&r, NULL, cases[i].fn, NULL);
		is_int(r.status, cases[i].status, "exit status");
		is_str(r.err.buf, cases[i].err, "message");
		child_release(&r);
	}
	struct child_result r;
	child_run(&r, NULL, do_long, NULL);
	ok(r.err.len > 1000 && r.err.len <= 4096 && r.err.buf[r.err.len - 1] == '\n',
	   "an overlong message is cut but still ends its line (%zu bytes)", r.err.len);
	child_release(&r);
	return tap_done();
}
