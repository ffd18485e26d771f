/*
 * test_base64.c: base64.c against the RFC 4648 section 10 vectors both
 * ways, then a table of decoder inputs: padding left out, white space
 * where captures put it, and the invalid inputs (characters outside the
 * alphabet, the URL-safe "-_", data after "=", a dangling character, a
 * NUL byte). Last, every byte value and every length up to 64 round-trip.
 */
#include "common.h"

#include "base64.h"
#include "tap.h"

/* RFC 4648, section 10. */
static const struct {
	const char *data, *text;
} rfc[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* Decoder inputs: want NULL means the input is invalid. */
static const struct {
	const char *text;
	const char *want;
	const char *name;
} dec[] = {
	{ "Zg", "f", "padding left out (one byte)" },
	{ "Zm8", "fo", "padding left out (two bytes)" },
	{ "Zg=", "f", "short padding" },
	{ "Zm9vYg==\n", "foob", "trailing newline" },
	{ "Zm9v\r\nYmFy\r\n", "foobar", "CRLF line breaks (MIME style)" },
	{ " Zm 9v\tYg = = ", "foob", "spaces and tabs anywhere" },
	{ "\n\t \r", "", "only white space" },
	{ "+/+/", "\xfb\xff\xbf", "the last two characters of the alphabet" },
	{ "Zg==Zg==", NULL, "data after padding" },
	{ "Z=g", NULL, "padding inside a group" },
	{ "Z", NULL, "a dangling character" },
	{ "Zm9vY", NULL, "a dangling character after a group" },
	{ "Zm9v!", NULL, "a character outside the alphabet" },
	{ "-_8=", NULL, "the URL-safe alphabet" },
	{ "%%", NULL, "percent signs" },
	{ "Zm\v9v", NULL, "a vertical tab is not white space here" },
};

int main(void)
{
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(rfc); i++) {
		sb_reset(&sb);
		b64_encode(&sb, rfc[i].data, strlen(rfc[i].data));
		is_str(sb.buf, rfc[i].text, "encode RFC 4648 vector");
		sb_reset(&sb);
		int r = b64_decode(&sb, rfc[i].text, strlen(rfc[i].text));
		is_int(r, 0, "decode RFC 4648 vector");
		is_mem(sb.buf, sb.len, rfc[i].data, strlen(rfc[i].data), "decoded RFC 4648 vector");
	}
	sb_reset(&sb);
	b64_encode(&sb, NULL, 0);
	is_int((long long)sb.len, 0, "encoding nothing appends nothing");

	for (size_t i = 0; i < ARRAY_SIZE(dec); i++) {
		sb_reset(&sb);
		int r = b64_decode(&sb, dec[i].text, strlen(dec[i].text));
		if (!dec[i].want) {
			is_int(r, -1, dec[i].name);
			continue;
		}
		is_int(r, 0, dec[i].name);
		is_mem(sb.buf, sb.len, dec[i].want, strlen(dec[i].want), dec[i].name);
	}

	/* Length counts, not NUL: a NUL inside the text is invalid, the
	 * text after len is not read. */
	sb_reset(&sb);
	is_int(b64_decode(&sb, "Zg\0=", 4), -1, "a NUL byte is invalid");
	sb_reset(&sb);
	is_int(b64_decode(&sb, "Zm9v!!", 4), 0, "only len characters are read");
	is_mem(sb.buf, sb.len, "foo", 3, "only len characters are decoded");

	/* Appends: what out held stays in front. */
	sb_reset(&sb);
	sb_addstr(&sb, "x=");
	b64_encode(&sb, "foo", 3);
	is_str(sb.buf, "x=Zm9v", "encode appends");
	sb_reset(&sb);
	sb_addstr(&sb, "x=");
	b64_decode(&sb, "Zm9v", 4);
	is_str(sb.buf, "x=foo", "decode appends");

	/* Every byte value, every length 0..64, there and back. */
	unsigned char bytes[256];
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(255 - i);
	int same = 1;
	struct strbuf back = SB_INIT;
	for (size_t n = 0; n <= 256; n += n < 64 ? 1 : 64) {
		sb_reset(&sb);
		sb_reset(&back);
		b64_encode(&sb, bytes, n);
		if (sb.len != (n + 2) / 3 * 4 || b64_decode(&back, sb.buf, sb.len) ||
		    back.len != n || memcmp(back.buf, bytes, n)) {
			diag("round trip of %zu bytes fails", n);
			same = 0;
		}
	}
	ok(same, "every length and byte value round-trips");
	sb_release(&back);
	sb_release(&sb);
	return tap_done();
}
