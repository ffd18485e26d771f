/*
 * test_jsonl.c: the JSON Lines reader keeps every valid record and names
 * every bad line by file and line number, over plain, CRLF, gzip and huge
 * input.
 */
#include "common.h"
#include <fcntl.h>
#include <zlib.h>

#include "jsonl.h"
#include "strbuf.h"
#include "tap.h"

static char dir[] = "/tmp/ofs-test-jsonl-XXXXXX";

static char *write_file(const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die_errno("cannot write '%s'", path);
	return path;
}

static char *write_gz(const char *name, const char *const *members, size_t n)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		die_errno("cannot write '%s'", path);
	/* Each member is a complete gzip stream; concatenated they are one file. */
	for (size_t i = 0; i < n; i++) {
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		size_t len = strlen(members[i]);
		size_t cap = deflateBound(&zs, len);
		unsigned char *out = xmalloc(cap);
		zs.next_in = (unsigned char *)(uintptr_t)members[i];
		zs.avail_in = (uInt)len;
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		deflate(&zs, Z_FINISH);
		fwrite(out, 1, cap - zs.avail_out, f);
		deflateEnd(&zs);
		free(out);
	}
	fclose(f);
	return path;
}

/* Read every record of path; collect each record's "n" and stderr text. */
struct run {
	int status; /* last return of jsonl_next */
	size_t good, bad;
	struct strbuf ns, err;
};

static void read_all(const char *path, unsigned flags, struct run *r)
{
	char *errpath = xasprintf("%s/stderr", dir);
	int saved = dup(2);
	int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);

	sb_init(&r->ns, 0);
	sb_init(&r->err, 0);
	struct strbuf e = SB_INIT;
	struct jsonl_reader *rd = jsonl_open(path, flags, &e);
	if (!rd) {
		r->status = -2;
		sb_add(&r->err, e.buf, e.len);
	} else {
		cJSON *o;
		while ((r->status = jsonl_next(rd, &o)) == 1) {
			cJSON *n = cJSON_GetObjectItem(o, "n");
			sb_addf(&r->ns, "%d,", n ? n->valueint : -1);
			cJSON_Delete(o);
		}
		r->good = jsonl_good(rd);
		r->bad = jsonl_bad(rd);
		jsonl_close(rd);
	}
	sb_release(&e);
	dup2(saved, 2);
	close(saved);
	sb_read_file(&r->err, errpath);
	unlink(errpath);
	free(errpath);
}

static void release(struct run *r)
{
	sb_release(&r->ns);
	sb_release(&r->err);
}

static void test_table(void)
{
	static const struct {
		const char *name, *data, *want_ns, *want_err;
		size_t good, bad;
	} cases[] = {
		{ "empty", "", "", "", 0, 0 },
		{ "simple", "{\"n\":1}\n{\"n\":2}\n", "1,2,", "", 2, 0 },
		{ "no final newline", "{\"n\":1}\n{\"n\":2}", "1,2,", "", 2, 0 },
		{ "crlf", "{\"n\":1}\r\n{\"n\":2}\r\n", "1,2,", "", 2, 0 },
		{ "blank lines", "\n{\"n\":1}\n\n  \t\n{\"n\":2}\n\n", "1,2,", "", 2, 0 },
		{ "malformed", "{\"n\":1}\n{\"n\":\n{\"n\":3}\nnot json\n{\"n\":5}\n", "1,3,5,",
		  "test_jsonl: malformed:2: invalid JSON: unexpected end of line at column 6\n"
		  "test_jsonl: malformed:4: invalid JSON at column 1 near 'n'\n", 3, 2 },
		{ "not object", "[1,2]\n{\"n\":2}\n\"str\"\n", "2,",
		  "test_jsonl: not object:1: not a JSON object\n"
		  "test_jsonl: not object:3: not a JSON object\n", 1, 2 },
		{ "trailing", "{\"n\":1} {\"n\":2}\n{\"n\":3}  \n", "3,",
		  "test_jsonl: trailing:1: trailing data after the JSON value at column 9\n", 1, 1 },
		{ "binary", "\x01\xff\xfe\n{\"n\":2}\n", "2,",
		  "test_jsonl: binary:1: invalid JSON at column 2 near byte 0xff\n", 1, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = write_file(cases[i].name, cases[i].data, strlen(cases[i].data));
		struct run r;
		read_all(path, 0, &r);
		/* Messages name the file as given: strip the directory. */
		struct strbuf want = SB_INIT;
		const char *w = cases[i].want_err;
		while (*w) {
			const char *nl = strchr(w, '\n');
			const char *colon = strstr(w, ": ");
			sb_add(&want, w, (size_t)(colon - w) + 2);
			sb_addf(&want, "%s/", dir);
			sb_add(&want, colon + 2, (size_t)(nl - colon - 2) + 1);
			w = nl + 1;
		}
		is_str(r.ns.buf, cases[i].want_ns, cases[i].name);
		is_str(r.err.buf, want.buf, "stderr names file:line and the reason");
		is_int((long long)r.good, (long long)cases[i].good, "good count");
		is_int((long long)r.bad, (long long)cases[i].bad, "bad count");
		is_int(r.status, 0, "ends at end of input");
		sb_release(&want);
		release(&r);
		free(path);
	}
}

static void test_strict(void)
{
	char *path = write_file("strict", "{\"n\":1}\n{bad\n{\"n\":3}\n", 22);
	struct run r;
	read_all(path, JSONL_STRICT, &r);
	is_str(r.ns.buf, "1,", "strict: records before the bad line are returned");
	is_int(r.status, -1, "strict: the bad line stops reading with -1");
	ok(strstr(r.err.buf, "strict:2: ") != NULL, "strict: the bad line is still named");
	release(&r);
	free(path);
}

static void test_huge_line(void)
{
	/* A 10 MB string value on line 2, between two ordinary lines. */
	size_t big = 10 * 1024 * 1024;
	struct strbuf sb = SB_INIT;
	sb_addstr(&sb, "{\"n\":1}\n{\"n\":2,\"blob\":\"");
	sb_grow(&sb, big);
	memset(sb.buf + sb.len, 'x', big);
	sb_setlen(&sb, sb.len + big);
	sb_addstr(&sb, "\"}\n{\"n\":3}\n");
	char *path = write_file("huge", sb.buf, sb.len);
	struct strbuf e = SB_INIT;
	struct jsonl_reader *rd = jsonl_open(path, 0, &e);
	cJSON *o;
	size_t blob = 0;
	struct strbuf ns = SB_INIT;
	while (jsonl_next(rd, &o) == 1) {
		cJSON *b = cJSON_GetObjectItem(o, "blob");
		if (b)
			blob = strlen(b->valuestring);
		sb_addf(&ns, "%d,", cJSON_GetObjectItem(o, "n")->valueint);
		cJSON_Delete(o);
	}
	is_str(ns.buf, "1,2,3,", "a 10 MB line is read whole between ordinary lines");
	is_int((long long)blob, (long long)big, "the 10 MB value arrives intact");
	is_int((long long)jsonl_bad(rd), 0, "nothing is rejected");
	jsonl_close(rd);
	sb_release(&ns);
	sb_release(&e);
	sb_release(&sb);
	free(path);
}

static void test_gzip(void)
{
	static const char *one[] = { "{\"n\":1}\n{\"n\":2}\r\n\n{broken\n{\"n\":4}" };
	char *path = write_gz("in.jsonl.gz", one, 1);
	struct run r;
	read_all(path, 0, &r);
	is_str(r.ns.buf, "1,2,4,", "gzip input is inflated transparently");
	ok(strstr(r.err.buf, "in.jsonl.gz:4: invalid JSON") != NULL,
	   "a bad line inside gzip is named by its line number");
	release(&r);
	free(path);

	static const char *members[] = { "{\"n\":1}\n", "{\"n\":2}\n{\"n\":3}\n" };
	path = write_gz("multi.gz", members, 2);
	read_all(path, 0, &r);
	is_str(r.ns.buf, "1,2,3,", "concatenated gzip members are all read");
	release(&r);
	free(path);

	/* A gzip file detected by content, whatever its name. */
	path = write_gz("noext", members, 1);
	read_all(path, 0, &r);
	is_str(r.ns.buf, "1,", "gzip is detected by magic bytes, not by name");
	release(&r);

	/* Truncated gzip: the complete lines before the damage are kept. */
	struct strbuf gz = SB_INIT;
	sb_read_file(&gz, path);
	free(path);
	static const char *many[] = { "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n" };
	path = write_gz("trunc.gz", many, 1);
	sb_reset(&gz);
	sb_read_file(&gz, path);
	free(path);
	path = write_file("trunc2.gz", gz.buf, gz.len - 12);
	read_all(path, 0, &r);
	ok(strstr(r.err.buf, "truncated gzip input") != NULL, "truncated gzip is reported");
	is_int(r.status, -1, "and ends reading with an I/O error");
	release(&r);
	sb_release(&gz);
	free(path);
}

static void test_missing(void)
{
	struct strbuf e = SB_INIT;
	struct jsonl_reader *rd = jsonl_open("/nonexistent/x.jsonl", 0, &e);
	ok(rd == NULL, "a missing file cannot be opened");
	is_str(e.buf, "cannot open '/nonexistent/x.jsonl': No such file or directory",
	       "the error names the file and the reason");
	sb_release(&e);
}

static void test_reject_and_status(void)
{
	char *path = write_file("reject", "{\"n\":1}\n{\"n\":2}\n", 16);
	struct strbuf e = SB_INIT;
	struct jsonl_reader *rd = jsonl_open(path, JSONL_QUIET, &e);
	cJSON *o;
	size_t before = jsonl_total_bad();
	while (jsonl_next(rd, &o) == 1) {
		if (cJSON_GetObjectItem(o, "n")->valueint == 2)
			jsonl_reject(rd, "missing field 'service'");
		cJSON_Delete(o);
	}
	is_int((long long)jsonl_good(rd), 1, "a rejected record is not counted good");
	is_int((long long)jsonl_bad(rd), 1, "and is counted bad");
	is_int((long long)(jsonl_total_bad() - before), 1, "process totals follow");
	is_int(jsonl_exit_status(EXIT_OK), EXIT_REJECTED, "rejections make status 3");
	is_int(jsonl_exit_status(EXIT_NO), EXIT_NO, "a 'no' answer stays 1");
	jsonl_close(rd);
	sb_release(&e);
	free(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		die_errno("mkdtemp");
	ofs_progname = "test_jsonl";
	test_table();
	test_strict();
	test_huge_line();
	test_reject_and_status();
	test_gzip();
	is_int(jsonl_exit_status(EXIT_OK), EXIT_SYSTEM, "after a read error the status is 4");
	test_missing();
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	free(cmd);
	return tap_done();
}
