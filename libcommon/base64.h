/*
 * base64.h: standard base64 (RFC 4648 section 4, the "+/" alphabet),
 * for bodies that are not text (ofs-replay's "body_base64": written by
 * capture, read back by play and the HAR importer).
 *
 * Both directions append to a strbuf the caller owns; nothing else is
 * allocated. Encoding always pads. Decoding is lenient where captures
 * from other tools differ and strict where data would be lost: padding
 * is optional, white space (space, tab, CR, LF) anywhere is skipped, but
 * any other character outside the alphabet, a character after "=", or a
 * dangling group of one character is an error.
 */
#ifndef OFS_BASE64_H
#define OFS_BASE64_H

#include <stddef.h>

#include "strbuf.h"

/* b64_encode: append the padded base64 of len bytes at data to out
 * (data may be NULL when len is 0). Never fails. */
void b64_encode(struct strbuf *out, const void *data, size_t len);

/*
 * b64_decode: append the bytes that len characters of base64 text at s
 * stand for to out (see above for what is accepted; s need not be
 * NUL-terminated, a NUL byte is an invalid character). Returns 0, or -1
 * on invalid input; out may then hold part of the decoding, so a caller
 * that cares resets it.
 */
int b64_decode(struct strbuf *out, const char *s, size_t len);

#endif
