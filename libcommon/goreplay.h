/*
 * goreplay.h: the pure parsing part of GoReplay's capture file format,
 * kept in libcommon so a fuzz target can link it (ofs-replay import
 * does the reading, pairing and writing).
 *
 * A GoReplay file is a sequence of records, each followed by a line that
 * holds only the three monkey emoji (U+1F435 U+1F648 U+1F649, bytes
 * F0 9F 90 B5 F0 9F 99 88 F0 9F 99 89). A record is a header line
 *
 *	TYPE ID TIMESTAMP_NS [LATENCY_NS]
 *
 * (TYPE 1 request, 2 original response, 3 replayed response; ID hex,
 * 24 or 40 digits in files GoReplay writes; TIMESTAMP_NS epoch
 * nanoseconds; LATENCY_NS absent in old files) then the raw HTTP message
 * as seen on the wire. Between the message and the separator line comes
 * one "\n", which is not part of the message.
 *
 * gor_parse reads one record (without its separator line): the header
 * line, the start line, the header fields and the body. A chunked body
 * (Transfer-Encoding: chunked) is decoded (and the field dropped); a body
 * longer than its Content-Length is cut to it. Lines may end in CRLF or LF.
 */
#ifndef OFS_GOREPLAY_H
#define OFS_GOREPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* The separator line's bytes (without its "\n"). */
#define GOR_SEPARATOR "\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89"
#define GOR_SEPARATOR_LEN 12
/* The longest id accepted, in hex digits. */
#define GOR_MAX_ID 64

enum { GOR_REQUEST = 1, GOR_RESPONSE = 2, GOR_REPLAYED = 3 };

struct gor_header {
	char *name;  /* as sent */
	char *value; /* blanks around it removed */
};

struct gor_record {
	int type;                 /* GOR_REQUEST, GOR_RESPONSE or GOR_REPLAYED */
	char id[GOR_MAX_ID + 1];  /* lower case hex */
	int64_t ts_ns;            /* TIMESTAMP_NS */
	int64_t latency_ns;       /* LATENCY_NS, -1 when absent */
	char *method;             /* requests: "GET"; NULL for responses */
	char *target;             /* requests: the request-target as sent */
	int status;               /* responses: 100..999 */
	struct gor_header *headers;
	size_t nheaders;
	struct strbuf body;
};

/*
 * gor_is_separator: whether a line (without its "\n"; a trailing "\r" is
 * allowed) is the separator.
 */
bool gor_is_separator(const char *line, size_t len);

/*
 * gor_parse: parse one record of len bytes at data (no NUL needed) into r,
 * which gor_parse initialises (release it with gor_record_release even on
 * failure). Returns 0, or -1 with a short reason appended to err
 * ("bad header line: expected TYPE ID TIMESTAMP [LATENCY]") and, in
 * *err_line, the 1-based line of the record where it was found.
 */
int gor_parse(const char *data, size_t len, struct gor_record *r, struct strbuf *err,
	      size_t *err_line);

/* gor_record_release: free what r holds. */
void gor_record_release(struct gor_record *r);

#endif
