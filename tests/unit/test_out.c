/*
 * test_out.c: record output lands whole in files and gzip files, a closed
 * reader ends the program quietly with status 0, and a failed write is
 * reported and exits 4.
 */
#include "common.h"
#include <signal.h>

#include "child.h"
#include "jsonl.h"
#include "out.h"
#include "tap.h"

static char dir[] = "/tmp/ofs-test-out-XXXXXX";

static void write_records(struct out *o, int n)
{
	struct strbuf sb = SB_INIT;
	for (int i = 0; i < n; i++) {
		sb_addf(&sb, "{\"n\":%d,\"pad\":\"%0100d\"}", i, i);
		out_record(o, &sb);
	}
	sb_release(&sb);
}

static int count_records(const char *path)
{
	struct strbuf e = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, 0, &e);
	int n = 0, in_order = 1;
	cJSON *o;
	while (r && jsonl_next(r, &o) == 1) {
		if (cJSON_GetObjectItem(o, "n")->valueint != n)
			in_order = 0;
		n++;
		cJSON_Delete(o);
	}
	jsonl_close(r);
	sb_release(&e);
	return in_order ? n : -1;
}

static void test_files(void)
{
	char *plain = xasprintf("%s/out.jsonl", dir), *gz = xasprintf("%s/out.jsonl.gz", dir);
	struct out *o = out_open(plain);
	write_records(o, 5000);
	out_close(o);
	is_int(count_records(plain), 5000, "5000 records written to a file read back in order");

	o = out_open(gz);
	write_records(o, 5000);
	out_close(o);
	struct strbuf raw = SB_INIT;
	sb_read_file(&raw, gz);
	ok(raw.len > 2 && (unsigned char)raw.buf[0] == 0x1f && (unsigned char)raw.buf[1] == 0x8b,
	   "a .gz name gives gzip output");
	ok(raw.len < 5000 * 100 / 4, "and it is compressed (%zu bytes)", raw.len);
	is_int(count_records(gz), 5000, "the gzip file reads back whole");
	sb_release(&raw);

	o = out_open(plain);
	out_set_line_flush(o, true);
	write_records(o, 1);
	struct strbuf now = SB_INIT;
	sb_read_file(&now, plain);
	ok(now.len > 0 && now.buf[now.len - 1] == '\n', "with line flushing a record is visible at once");
	sb_release(&now);
	out_close(o);
	free(plain);
	free(gz);
}

static int write_lots(void *arg)
{
	write_records(out_stdout(), *(int *)arg);
	return EXIT_OK;
}

static int write_lots_then_fail(void *arg)
{
	write_records(out_stdout(), *(int *)arg);
	return EXIT_NO;
}

static void test_failures(void)
{
	struct child_result r;
	int n = 10;
	child_run(&r, "/dev/full", write_lots, &n);
	is_int(r.status, EXIT_SYSTEM, ">/dev/full exits 4");
	is_str(r.err.buf, "test_out: write error on standard output: No space left on device\n",
	       "and says what failed");
	child_release(&r);

	n = 100000; /* far more than a pipe holds */
	child_run(&r, "/dev/full", write_lots, &n);
	is_int(r.status, EXIT_SYSTEM, "a failure in mid-stream also exits 4");
	child_release(&r);

	/* A reader that left: stdout is a pipe whose read end is closed. */
	int p[2];
	if (pipe(p) < 0)
		die_errno("pipe");
	char *path = xasprintf("/proc/self/fd/%d", p[1]);
	close(p[0]);
	child_run(&r, path, write_lots, &n);
	is_int(r.status, EXIT_OK, "a closed pipe ends the program with status 0");
	is_str(r.err.buf, "", "and quietly");
	child_release(&r);
	close(p[1]);

	if (pipe(p) < 0)
		die_errno("pipe");
	free(path);
	path = xasprintf("/proc/self/fd/%d", p[1]);
	close(p[0]);
	n = 1;
	child_run(&r, path, write_lots_then_fail, &n);
	is_int(r.status, EXIT_NO, "a closed pipe found at exit keeps the program's answer");
	is_str(r.err.buf, "", "quietly too");
	child_release(&r);
	close(p[1]);
	free(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		die_errno("mkdtemp");
	ofs_progname = "test_out";
	signal(SIGPIPE, SIG_IGN);
	test_files();
	test_failures();
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	free(cmd);
	return tap_done();
}
