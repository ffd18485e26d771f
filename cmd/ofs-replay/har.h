/*
 * har.h: importing HAR 1.2 files (HTTP Archive, as browsers' developer
 * tools and many proxies export them) as replay.exchange records.
 */
#ifndef OFS_REPLAY_HAR_H
#define OFS_REPLAY_HAR_H

#include "capture.h"
#include "capture_input.h"

/*
 * har_import: read one HAR document from in (the whole document is
 * parsed at once) and write an exchange per entry of log.entries, in
 * order. Read per entry: startedDateTime (ts), time (latency_ms, unless
 * negative), request.method, request.url (its path and query become
 * "path"; its host the "host" header when the headers have none),
 * request.headers, request.postData.text, response.status (0: no
 * response), response.headers, response.content.text (base64 when
 * content.encoding is "base64"). The id is "har-N", N the entry's index.
 * HTTP/2 pseudo-headers (":authority") are left out, and so are a
 * response's content-encoding and content-length, since HAR holds the
 * decoded body. A bad entry is rejected naming its JSON pointer
 * (FILE: /log/entries/3/request/url: ...); a document that is not JSON
 * is rejected at the line of the error. Returns 0, 1 when --strict
 * stopped, -1 on a read error (reported).
 */
int har_import(struct cap_ctx *c, struct cin *in);

/*
 * har_convert_entry: one entry into x (initialised by the caller).
 * Returns 0, or -1 with "/request/url: missing" (a pointer relative to
 * the entry) appended to err. Exposed for the fuzz target.
 */
int har_convert_entry(const cJSON *e, size_t index, struct exchange *x, struct strbuf *err);

#endif
