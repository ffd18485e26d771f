/*
 * test_strbuf.c: unit tests for strbuf.c and alloc.c.
 */
#include "common.h"

#include "strbuf.h"
#include "tap.h"

int main(void)
{
	struct strbuf sb = SB_INIT;
	is_str(sb.buf, "", "a new buffer is an empty string");
	sb_addstr(&sb, "hello");
	sb_addch(&sb, ' ');
	sb_addf(&sb, "%s %d", "world", 42);
	is_str(sb.buf, "hello world 42", "add, addch and addf append");
	is_int((long long)sb.len, 14, "len counts the bytes");

	sb_reset(&sb);
	for (int i = 0; i < 10000; i++)
		sb_addf(&sb, "%04d", i % 10000);
	is_int((long long)sb.len, 40000, "growth across many appends");
	ok(memcmp(sb.buf + 39996, "9999", 4) == 0, "the last append is intact");

	sb_reset(&sb);
	sb_addstr(&sb, "line\r\n");
	sb_trim_eol(&sb);
	is_str(sb.buf, "line", "trim_eol removes CRLF");
	sb_addstr(&sb, "\n");
	sb_trim_eol(&sb);
	is_str(sb.buf, "line", "trim_eol removes LF");

	sb_reset(&sb);
	sb_add(&sb, "a\0b", 3);
	is_mem(sb.buf, sb.len, "a\0b", 3, "binary data with NUL bytes is kept");

	size_t len;
	char *s = sb_detach(&sb, &len);
	is_int((long long)len, 3, "detach reports the length");
	is_str(sb.buf, "", "detach leaves the buffer empty");
	free(s);

	char *big = xasprintf("%0*d", 5000, 7);
	is_int((long long)strlen(big), 5000, "xasprintf formats long strings");
	free(big);

	sb_reset(&sb);
	ok(sb_read_file(&sb, "/nonexistent/ofs") < 0 && errno == ENOENT,
	   "read_file reports a missing file through errno");
	sb_release(&sb);
	return tap_done();
}
