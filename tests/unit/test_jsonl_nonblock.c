/*
 * test_jsonl_nonblock.c: the JSON Lines reader with JSONL_NONBLOCK over a
 * pipe fed a piece at a time, as a live stream is (`capture | send`):
 * JSONL_AGAIN whenever no whole line is there yet, every record exactly
 * once with its line number whatever the cut, for plain text and for two
 * concatenated gzip members fed one byte at a time; a bad line is still
 * rejected and counted; the end of input still gives a last line without
 * a newline, then 0.
 */
#include "common.h"
#include <fcntl.h>
#include <zlib.h>

#include "jsonl.h"
#include "strbuf.h"
#include "tap.h"

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		die_errno("write to the pipe");
}

/* Drain what the reader can give now: each record's "n" and line number
 * appended to got as "n@line "; returns the last status. */
static int drain(struct jsonl_reader *r, struct strbuf *got)
{
	for (;;) {
		cJSON *rec;
		int rc = jsonl_next(r, &rec);
		if (rc != 1)
			return rc;
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, "n");
		sb_addf(got, "%d@%zu ", cJSON_IsNumber(n) ? n->valueint : -1, jsonl_lineno(r));
		cJSON_Delete(rec);
	}
}

static void gz_member(struct strbuf *out, const char *text)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2");
	size_t len = strlen(text), cap = deflateBound(&zs, len);
	sb_grow(out, cap);
	zs.next_in = (unsigned char *)(uintptr_t)text;
	zs.avail_in = (uInt)len;
	zs.next_out = (unsigned char *)out->buf + out->len;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		die("deflate");
	sb_setlen(out, out->len + (cap - zs.avail_out));
	deflateEnd(&zs);
}

int main(void)
{
	int p[2];

	/* Plain text, cut inside a line, between lines, and before the end. */
	if (pipe(p) < 0)
		die_errno("pipe");
	struct jsonl_reader *r = jsonl_open_fd(p[0], "live", JSONL_NONBLOCK | JSONL_QUIET);
	struct strbuf got = SB_INIT;
	is_int(drain(r, &got), JSONL_AGAIN, "nothing written: JSONL_AGAIN");
	is_int(jsonl_fd(r), p[0], "jsonl_fd is the descriptor read");
	put(p[1], "{", 1);
	is_int(drain(r, &got), JSONL_AGAIN, "one byte (the sniff needs two): JSONL_AGAIN");
	put(p[1], "\"n\":1", 5);
	is_int(drain(r, &got), JSONL_AGAIN, "half a line: JSONL_AGAIN");
	is_str(got.buf, "", "no record yet");
	put(p[1], "}\n\n{\"n\":2}\n{\"n\"", 16);
	is_int(drain(r, &got), JSONL_AGAIN, "two lines and a half: JSONL_AGAIN after them");
	is_str(got.buf, "1@1 2@3 ", "the two whole lines, with their line numbers");
	put(p[1], ":3}\nnot json\n{\"n\":4}", 20);
	is_int(drain(r, &got), JSONL_AGAIN, "a last line without newline waits for the end");
	is_int((long long)jsonl_bad(r), 1, "the bad line is counted");
	close(p[1]);
	is_int(drain(r, &got), 0, "then the end of input");
	is_str(got.buf, "1@1 2@3 3@4 4@6 ", "every record once, in order");
	jsonl_close(r);

	/* Two gzip members fed one byte at a time. */
	struct strbuf gz = SB_INIT;
	gz_member(&gz, "{\"n\":1}\n{\"n\":2}\n");
	gz_member(&gz, "{\"n\":3}\n");
	if (pipe(p) < 0)
		die_errno("pipe");
	r = jsonl_open_fd(p[0], "live.gz", JSONL_NONBLOCK);
	sb_reset(&got);
	int again = 0, last = 0;
	for (size_t i = 0; i < gz.len; i++) {
		put(p[1], gz.buf + i, 1);
		last = drain(r, &got);
		again += last == JSONL_AGAIN;
	}
	ok(last == JSONL_AGAIN && again == (int)gz.len, "JSONL_AGAIN after each byte (%d of %zu)",
	   again, gz.len);
	close(p[1]);
	is_int(drain(r, &got), 0, "the end between members ends the input");
	is_str(got.buf, "1@1 2@2 3@3 ", "the records of both members");
	is_int((long long)jsonl_bad(r), 0, "nothing rejected");
	jsonl_close(r);

	/* Without the flag the same reader waits: a regular read to the end. */
	if (pipe(p) < 0)
		die_errno("pipe");
	put(p[1], "{\"n\":5}\n{\"n\":6}", 15);
	close(p[1]);
	r = jsonl_open_fd(p[0], "blocking", 0);
	sb_reset(&got);
	is_int(drain(r, &got), 0, "blocking: records then the end");
	is_str(got.buf, "5@1 6@2 ", "blocking: both records");
	jsonl_close(r);

	sb_release(&got);
	sb_release(&gz);
	return tap_done();
}
