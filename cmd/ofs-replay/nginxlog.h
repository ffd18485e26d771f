/*
 * nginxlog.h: importing nginx access logs written as JSON, one object a
 * line (log_format ... escape=json), as replay.exchange records.
 */
#ifndef OFS_REPLAY_NGINXLOG_H
#define OFS_REPLAY_NGINXLOG_H

#include "capture.h"
#include "capture_input.h"

/*
 * nginx_import: one exchange per line. Fields read (values may be JSON
 * strings, as nginx writes them, or numbers; "" and "-" mean absent):
 *   time_iso8601 or msec   when nginx logged the request (its end);
 *                          ts is that minus request_time
 *   request_method, request_uri
 *                          method and path; or, without them, "request"
 *                          ("GET /path HTTP/1.1")
 *   status                 response status (required)
 *   body_bytes_sent        response "bytes" (0 when absent)
 *   request_time           seconds: latency_ms
 *   request_id             the id (else "nginx-LINE")
 *   request_body           the request body
 *   host                   the host header, unless http_host is there
 *   http_NAME              request header NAME ('_' becomes '-')
 * A line that is not a JSON object or lacks method, path or status is
 * rejected as FILE:LINE. Returns 0, 1 when --strict or a signal stopped,
 * -1 on a read error (reported).
 */
int nginx_import(struct cap_ctx *c, struct cin *in);

#endif
