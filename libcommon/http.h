/*
 * http.h: the HTTP client of every ofs tool, over libcurl's multi interface.
 *
 * ofs-health probes a thousand endpoints, ofs-deploy polls analysis
 * gates and ofs-trace exports spans, all from one thread. So requests are
 * queued on a struct http_client, which runs at most max_concurrency
 * transfers at once, keeps one curl multi handle (and so its connection
 * cache) for its whole life, reuses its easy handles, and schedules each
 * retry on a timer queue after a backoff with full jitter, so a waiting
 * retry never holds up the other transfers. http_run drives everything to
 * completion; http_run_for does at most max_ms of work so an event loop
 * can interleave; http_do is the one-request convenience.
 *
 * Every transfer is bounded: a connect timeout, a total timeout per
 * attempt, a cap on the body kept and on the headers kept, and a limited
 * number of attempts. A failed transfer comes back with a plain reason
 * ("connection refused", "timed out after 2000 ms connecting", "TLS
 * certificate verify failed: ...") because a probe that says only "down"
 * is no help at 3 a.m.
 *
 * libcurl global state: the first http_client_new (or http_do) calls
 * curl_global_init(CURL_GLOBAL_DEFAULT) once; it is never cleaned up (the
 * process exit reclaims it). Transfers are made with CURLOPT_NOSIGNAL, so
 * the program must ignore SIGPIPE, as ofs's main() does. No threads.
 * Like curl(1), libcurl takes a proxy from the environment (http_proxy,
 * HTTPS_PROXY, ALL_PROXY, minus NO_PROXY).
 */
#ifndef OFS_HTTP_H
#define OFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#ifndef OFS_VERSION
#define OFS_VERSION "0.1.0"
#endif

/* The User-Agent sent unless the request sets its own header. */
#define HTTP_USER_AGENT "ofs/" OFS_VERSION

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define HTTP_DEFAULT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTP_DEFAULT_RETRY_BASE_MS 100
#define HTTP_DEFAULT_RETRY_CAP_MS 5000
#define HTTP_MAX_ATTEMPTS 100
/* The largest retry base_ms and cap_ms accepted: one hour. */
#define HTTP_MAX_RETRY_MS 3600000L
/* Redirects followed at most, when follow_redirects is set. */
#define HTTP_MAX_REDIRECTS 10
/* Response headers kept: at most this many, of at most this many bytes. */
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEADER_BYTES 16384

/*
 * Retry policy. max_attempts counts every attempt, the first included
 * (1 = never retry). After failed attempt k (1-based) the wait is a
 * uniform random whole number of ms in [0, min(cap_ms, base_ms * 2^(k-1))]
 * ("full jitter"), except that a 429 or 503 carrying Retry-After waits
 * that long instead, but never longer than cap_ms. What is retried is
 * decided by http_retryable. Retrying a request that is not idempotent
 * (most POSTs) may repeat its effect: enable retries only where that is
 * acceptable.
 */
struct http_retry {
	int max_attempts;
	long base_ms;
	long cap_ms;
};

/*
 * One request. Fill it with http_request_init (or HTTP_REQUEST_INIT) to
 * get the defaults, then set url and whatever else. http_add and http_do
 * copy everything the struct points to, so the caller may free or reuse
 * it as soon as they return.
 */
struct http_request {
	const char *method;            /* NULL: POST if body is set, else GET */
	const char *url;               /* http:// or https:// only */
	const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL;
	                                  "Name:" removes a header libcurl would send */
	const void *body;              /* request body (may hold NUL bytes), or NULL */
	size_t body_len;
	long connect_timeout_ms;       /* > 0; default 2000 */
	long timeout_ms;               /* > 0, whole attempt; default 10000 */
	size_t max_body;               /* response body bytes kept; default 1 MiB */
	bool follow_redirects;         /* default off; at most HTTP_MAX_REDIRECTS */
	/*
	 * tls_insecure: skip TLS certificate and host name verification.
	 * DANGEROUS: anyone on the path can then impersonate the server. Off
	 * by default; for a private CA set ca_file instead.
	 */
	bool tls_insecure;
	const char *ca_file;           /* PEM bundle to verify with, or NULL (system) */
	struct http_retry retry;
	void *user;                    /* handed back untouched to the callback */
};

#define HTTP_REQUEST_INIT                                                   \
	{ .connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS,            \
	  .timeout_ms = HTTP_DEFAULT_TIMEOUT_MS,                            \
	  .max_body = HTTP_DEFAULT_MAX_BODY,                                \
	  .retry = { 1, HTTP_DEFAULT_RETRY_BASE_MS, HTTP_DEFAULT_RETRY_CAP_MS } }

/* http_request_init: set *req to HTTP_REQUEST_INIT. */
void http_request_init(struct http_request *req);

/* One response header, name as the server spelled it, value trimmed. */
struct http_header {
	char *name;
	char *value;
};

/*
 * The outcome of a request after its last attempt.
 *
 * Timings are of the last attempt, in milliseconds, and are per-phase
 * durations, not libcurl's cumulative stamps:
 *   dns_ms         name resolution
 *   connect_ms     TCP connect, after resolution
 *   tls_ms         TLS handshake, after connect (0 for plain http)
 *   first_byte_ms  from connected to the first response byte: sending the
 *                  request and the server's think time (TTFB)
 *   transfer_ms    from the first response byte to the end
 *   total_ms       the whole attempt; the five phases add up to it
 * A reused connection has dns_ms and connect_ms near 0. With redirects
 * followed, libcurl adds up the hops' phases. elapsed_ms is the wall time
 * from the first attempt's start to the end of the last, backoff waits
 * included.
 */
struct http_response {
	long status;                   /* HTTP status, 0 if no response came */
	int curl_code;                 /* CURLcode of the last attempt, 0 = completed */
	char error[384];               /* why it failed, "" when curl_code is 0 */
	struct strbuf body;            /* the first max_body bytes of the body */
	uint64_t body_total;           /* body bytes received, kept or not */
	bool truncated;                /* body_total > body.len */
	struct http_header *headers;   /* the final response's headers */
	size_t nheaders;
	size_t header_bytes;
	bool headers_truncated;        /* some were dropped (HTTP_MAX_HEADERS/_BYTES) */
	double dns_ms, connect_ms, tls_ms, first_byte_ms, transfer_ms, total_ms;
	double elapsed_ms;
	int attempts;                  /* attempts made, >= 1 */
	char remote_ip[64];            /* "" if never connected */
	long remote_port;
};

/* http_response_init: an empty response (no allocation). */
void http_response_init(struct http_response *resp);
/* http_response_release: free the body and headers; leaves it empty. */
void http_response_release(struct http_response *resp);
/*
 * http_response_header: the value of the first header named name
 * (case-insensitive), or NULL. The string belongs to resp.
 */
const char *http_response_header(const struct http_response *resp, const char *name);

/*
 * The callback that receives each finished request, once, after its last
 * attempt. req is the client's copy (same fields and user pointer as
 * given to http_add). Both are valid only during the call, but the
 * callback may keep the response by copying the struct and then calling
 * http_response_init(resp) on the original. It may call http_add; it
 * must not call http_run, http_run_for or http_client_free.
 */
typedef void http_done_fn(const struct http_request *req, struct http_response *resp,
			  void *user);

struct http_client;

/*
 * http_client_new: a client running at most max_concurrency transfers at
 * once (values below 1 mean 1). Each transfer holds a socket, so mind
 * the open-file limit. Dies if libcurl cannot be initialised.
 */
struct http_client *http_client_new(int max_concurrency);
/*
 * http_client_free: abort whatever is still queued, running or waiting
 * to retry (no callbacks), close the connections and free the client.
 * NULL is ignored.
 */
void http_client_free(struct http_client *c);

/*
 * http_add: validate req, copy it and queue it. Nothing is sent until
 * http_run or http_run_for. Returns 0, or -1 with the reason appended to
 * err (e.g. "invalid header #2: contains CR or LF") and nothing queued.
 */
int http_add(struct http_client *c, const struct http_request *req, struct strbuf *err);

/*
 * http_run_for: drive the transfers for at most about max_ms (0: only
 * what is ready now, without waiting), calling cb (may be NULL) for each
 * request that finishes. Returns how many requests are still unfinished
 * (queued, running or waiting to retry); 0 when all are done. Dies on an
 * internal libcurl failure (out of memory), like the x* allocators.
 */
int http_run_for(struct http_client *c, long max_ms, http_done_fn *cb);
/* http_run: http_run_for until every queued request has finished. */
void http_run(struct http_client *c, http_done_fn *cb);
/* http_pending: requests queued, running or waiting to retry. */
int http_pending(const struct http_client *c);

/*
 * http_do: perform one request synchronously, with its retries, and fill
 * resp (which the caller then releases with http_response_release).
 * Returns 0 when an HTTP response arrived, whatever its status, and -1
 * when none did or req is invalid; resp->error then says why.
 */
int http_do(const struct http_request *req, struct http_response *resp);

/*
 * http_retryable: whether an attempt that ended with curl_code and
 * status deserves another: connection failures, resets and timeouts
 * (with no response), and HTTP 429, 502, 503 and 504. Never other 4xx,
 * never TLS verification failures or malformed URLs.
 */
bool http_retryable(int curl_code, long status);

/*
 * http_backoff_ms: the full-jitter wait before retry number retry_no
 * (0 for the first retry): uniform in [0, min(cap_ms, base_ms * 2^retry_no)],
 * drawn with rnd_below (rnd_seed makes it repeatable).
 */
long http_backoff_ms(const struct http_retry *r, int retry_no);

#endif
