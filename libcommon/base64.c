/*
 * base64.c: the base64 codec of base64.h. Encoding works on whole
 * three-byte groups and pads the tail; decoding collects six bits per
 * character and writes a byte whenever a group of four is complete, then
 * the one or two bytes a short final group holds.
 */
#include "common.h"

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_encode(struct strbuf *out, const void *data, size_t len)
{
	const unsigned char *s = data;
	sb_grow(out, (len + 2) / 3 * 4);
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		sb_addch(out, alphabet[v >> 18]);
		sb_addch(out, alphabet[(v >> 12) & 63]);
		sb_addch(out, alphabet[(v >> 6) & 63]);
		sb_addch(out, alphabet[v & 63]);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)s[i] << 16;
		sb_addch(out, alphabet[v >> 18]);
		sb_addch(out, alphabet[(v >> 12) & 63]);
		sb_addstr(out, "==");
	} else if (len - i == 2) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		sb_addch(out, alphabet[v >> 18]);
		sb_addch(out, alphabet[(v >> 12) & 63]);
		sb_addch(out, alphabet[(v >> 6) & 63]);
		sb_addch(out, '=');
	}
}

int b64_decode(struct strbuf *out, const char *s, size_t len)
{
	unsigned v = 0;
	int n = 0;
	bool pad = false;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		const char *p = c ? strchr(alphabet, c) : NULL;
		if (!p || pad)
			return -1;
		v = v << 6 | (unsigned)(p - alphabet);
		if (++n == 4) {
			sb_addch(out, (int)(v >> 16 & 255));
			sb_addch(out, (int)(v >> 8 & 255));
			sb_addch(out, (int)(v & 255));
			v = 0;
			n = 0;
		}
	}
	if (n == 1)
		return -1;
	if (n == 2) {
		sb_addch(out, (int)(v >> 4 & 255));
	} else if (n == 3) {
		sb_addch(out, (int)(v >> 10 & 255));
		sb_addch(out, (int)(v >> 2 & 255));
	}
	return 0;
}
