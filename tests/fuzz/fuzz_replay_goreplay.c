/*
 * fuzz_replay_goreplay.c: libFuzzer target for libcommon/goreplay.c, the
 * parser of GoReplay capture records behind `ofs-replay import`.
 *
 * The input is split at separator lines the way import splits a file,
 * and every piece is parsed. A piece must either be rejected with a
 * reason and a line inside the piece, or give a record that keeps the
 * parser's promises: type 1 to 3, a lower-case hex id of 1 to
 * GOR_MAX_ID digits, a request with a method and a target without
 * blanks or a response with a status of 100 to 999, header names without
 * blanks or colons, and a body no longer than the piece. Everything is
 * freed.
 */
#include "common.h"
#include <ctype.h>

#include "goreplay.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *piece, size_t len)
{
	struct gor_record r;
	struct strbuf err = SB_INIT;
	size_t line = 0;
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += piece[i] == '\n';
	if (gor_parse(piece, len, &r, &err, &line)) {
		if (!err.len || line < 1 || line > lines)
			abort();
		gor_record_release(&r);
		sb_release(&err);
		return;
	}
	if (err.len || r.type < GOR_REQUEST || r.type > GOR_REPLAYED)
		abort();
	size_t idlen = strlen(r.id);
	if (!idlen || idlen > GOR_MAX_ID)
		abort();
	for (size_t i = 0; i < idlen; i++)
		if (!isxdigit((unsigned char)r.id[i]) || isupper((unsigned char)r.id[i]))
			abort();
	if (r.ts_ns < 0 || r.latency_ns < -1)
		abort();
	if (r.type == GOR_REQUEST) {
		if (!r.method || !*r.method || !r.target || !*r.target || strchr(r.target, ' '))
			abort();
	} else if (r.method || r.status < 100 || r.status > 999) {
		abort();
	}
	for (size_t i = 0; i < r.nheaders; i++) {
		const char *n = r.headers[i].name;
		if (!*n || strchr(n, ':') || strchr(n, ' '))
			abort();
	}
	if (r.body.len > len)
		abort();
	gor_record_release(&r);
	sb_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *piece = p;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (gor_is_separator(p, (size_t)(e - p))) {
			check(piece, (size_t)(p - piece));
			piece = nl ? nl + 1 : end;
		}
		p = nl ? nl + 1 : end;
	}
	if (piece < end)
		check(piece, (size_t)(end - piece));
	return 0;
}
