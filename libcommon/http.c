/*
 * http.c: the HTTP client over libcurl's multi interface (see http.h).
 *
 * A client owns one multi handle and max_concurrency slots; slot i owns
 * easy handle i, created on first use and reset (not destroyed) between
 * transfers, so connections and DNS answers stay cached in the multi
 * handle. A request (struct xfer) is in exactly one place: the FIFO of
 * requests never started, a slot while an attempt runs, or the timer
 * heap while it waits out a retry backoff. http_run_for starts what fits
 * in free slots (due retries first), lets libcurl work, reaps finished
 * attempts, and sleeps in curl_multi_poll until a socket is ready, the
 * next retry is due or its own deadline comes.
 */
#include "common.h"
#include <curl/curl.h>

#include "curlapi.h"
#include "http.h"
#include "rnd.h"
#include "timefmt.h"

/* libcurl, loaded on first use (curlapi.h). */
#define CURL_API (curl_api_get())

/* One request, through all its attempts. */
struct xfer {
	struct http_request req;       /* the copy; pointers lead to the fields below */
	char *method, *url, *ca_file;
	char **headers;                /* NULL-terminated copies, or NULL */
	void *body;
	struct curl_slist *slist;
	struct http_response resp;
	size_t headers_alloc;
	int slot;                      /* while an attempt runs, else -1 */
	int64_t first_ns;              /* the first attempt's start */
	int64_t due_ns;                /* when the next attempt may start */
	long retry_after_s;            /* Retry-After of the last attempt, or 0 */
	struct xfer *next;             /* in the queue of requests never started */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	CURLM *multi;
	int max;
	CURL **easy;                   /* [max], created lazily, reused */
	struct xfer **slot;            /* [max], what runs on easy[i], or NULL */
	int *free_slots;               /* stack of indexes of idle slots */
	int nfree;
	struct xfer *head, *tail;      /* never started, FIFO */
	int nqueued;
	struct xfer **timers;          /* min-heap on due_ns */
	size_t ntimers, timers_alloc;
	bool running;                  /* inside http_run_for */
};

static void global_init(void)
{
	static bool done;
	if (done)
		return;
	CURLcode rc = CURL_API->global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		die("cannot initialise libcurl: %s", CURL_API->easy_strerror(rc));
	done = true;
}

void http_request_init(struct http_request *req)
{
	struct http_request def = HTTP_REQUEST_INIT;
	*req = def;
}

void http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	sb_init(&resp->body, 0);
}

static void free_headers(struct http_response *resp)
{
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->nheaders = 0;
	resp->header_bytes = 0;
	resp->headers_truncated = false;
}

void http_response_release(struct http_response *resp)
{
	sb_release(&resp->body);
	free_headers(resp);
	http_response_init(resp);
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (!strcasecmp(resp->headers[i].name, name))
			return resp->headers[i].value;
	return NULL;
}

bool http_retryable(int curl_code, long status)
{
	if (status >= 400 && status < 500 && status != 429)
		return false;
	switch (curl_code) {
	case CURLE_OK:
		return status == 429 || status == 502 || status == 503 || status == 504;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

long http_backoff_ms(const struct http_retry *r, int retry_no)
{
	long base = r->base_ms > 0 ? r->base_ms : 0;
	long cap = r->cap_ms > 0 ? r->cap_ms : 0;
	long ceiling = base < cap ? base : cap;
	for (int i = 0; i < retry_no && ceiling < cap; i++)
		ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
	return (long)rnd_below((uint64_t)ceiling + 1);
}

/* ---- validation and copying -------------------------------------------- */

static bool is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Does s[0..len) consist of one or more HTTP token characters? */
static bool is_token(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Append s to err between quotes, control bytes as \xNN, at most 80 bytes. */
static void add_quoted(struct strbuf *err, const char *s)
{
	size_t len = strlen(s);
	sb_addch(err, '\'');
	for (size_t i = 0; i < len && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			sb_addf(err, "\\x%02x", c);
		else
			sb_addch(err, c);
	}
	sb_addstr(err, len > 80 ? "...'" : "'");
}

static int validate(const struct http_request *req, struct strbuf *err)
{
	if (!req->url || !*req->url) {
		sb_addstr(err, "missing url");
		return -1;
	}
	for (const char *p = req->url; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f) {
			sb_addstr(err, "invalid url ");
			add_quoted(err, req->url);
			sb_addstr(err, ": contains a space or control character");
			return -1;
		}
	}
	if (req->method && (strlen(req->method) > 32 || !is_token(req->method, strlen(req->method)))) {
		sb_addstr(err, "invalid method ");
		add_quoted(err, req->method);
		return -1;
	}
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		const char *h = req->headers[i];
		if (strpbrk(h, "\r\n")) {
			sb_addf(err, "invalid header #%zu: contains CR or LF", i + 1);
			return -1;
		}
		const char *colon = strchr(h, ':');
		if (!colon || !is_token(h, (size_t)(colon - h))) {
			sb_addstr(err, "invalid header ");
			add_quoted(err, h);
			sb_addstr(err, ": expected 'Name: value'");
			return -1;
		}
	}
	if (req->body_len && !req->body) {
		sb_addf(err, "body length %zu given without a body", req->body_len);
		return -1;
	}
	if (req->connect_timeout_ms <= 0) {
		sb_addf(err, "connect timeout must be positive, got %ld ms", req->connect_timeout_ms);
		return -1;
	}
	if (req->timeout_ms <= 0) {
		sb_addf(err, "timeout must be positive, got %ld ms", req->timeout_ms);
		return -1;
	}
	if (req->retry.max_attempts < 1 || req->retry.max_attempts > HTTP_MAX_ATTEMPTS) {
		sb_addf(err, "retry attempts must be 1..%d, got %d", HTTP_MAX_ATTEMPTS,
			req->retry.max_attempts);
		return -1;
	}
	if (req->retry.base_ms < 0 || req->retry.cap_ms < 0 ||
	    req->retry.base_ms > HTTP_MAX_RETRY_MS || req->retry.cap_ms > HTTP_MAX_RETRY_MS) {
		sb_addf(err, "retry base and cap must be 0..%ld ms, got %ld and %ld ms",
			(long)HTTP_MAX_RETRY_MS, req->retry.base_ms, req->retry.cap_ms);
		return -1;
	}
	return 0;
}

static bool has_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		if (!strncasecmp(req->headers[i], name, n) && req->headers[i][n] == ':')
			return true;
	return false;
}

static struct curl_slist *slist_add(struct curl_slist *list, const char *s)
{
	struct curl_slist *l = CURL_API->slist_append(list, s);
	if (!l)
		die("out of memory building request headers");
	return l;
}

static struct xfer *xfer_new(const struct http_request *req)
{
	struct xfer *x = xcalloc(1, sizeof(*x));
	x->req = *req;
	x->url = xstrdup(req->url);
	x->req.url = x->url;
	if (req->method) {
		x->method = xstrdup(req->method);
		x->req.method = x->method;
	}
	if (req->ca_file) {
		x->ca_file = xstrdup(req->ca_file);
		x->req.ca_file = x->ca_file;
	}
	if (req->body) {
		x->body = xmemdup(req->body, req->body_len);
		x->req.body = x->body;
	}
	if (req->headers) {
		size_t n = 0;
		while (req->headers[n])
			n++;
		x->headers = xcalloc(n + 1, sizeof(*x->headers));
		for (size_t i = 0; i < n; i++) {
			x->headers[i] = xstrdup(req->headers[i]);
			x->slist = slist_add(x->slist, x->headers[i]);
		}
		x->req.headers = (const char *const *)x->headers;
	}
	/* A body would otherwise make libcurl wait for "100 Continue". */
	if (!has_header(req, "Expect"))
		x->slist = slist_add(x->slist, "Expect:");
	http_response_init(&x->resp);
	x->slot = -1;
	return x;
}

static void xfer_free(struct xfer *x)
{
	free(x->method);
	free(x->url);
	free(x->ca_file);
	for (size_t i = 0; x->headers && x->headers[i]; i++)
		free(x->headers[i]);
	free(x->headers);
	free(x->body);
	CURL_API->slist_free_all(x->slist);
	http_response_release(&x->resp);
	free(x);
}

/* ---- libcurl callbacks (they must not call back into the multi handle) */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	size_t room = x->req.max_body > x->resp.body.len ? x->req.max_body - x->resp.body.len : 0;
	size_t keep = n < room ? n : room;
	sb_add(&x->resp.body, data, keep);
	x->resp.body_total += n;
	if (keep < n)
		x->resp.truncated = true;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	struct http_response *resp = &x->resp;
	size_t n = size * nitems, len = n;

	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* A new response (after a redirect or a 100): forget the last. */
		free_headers(resp);
		x->headers_alloc = 0;
		return n;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	const char *colon = memchr(data, ':', len);
	if (!len || data[0] == ' ' || data[0] == '\t' || !colon)
		return n; /* end of headers, obsolete folding, or junk */
	if (resp->nheaders >= HTTP_MAX_HEADERS || resp->header_bytes + len > HTTP_MAX_HEADER_BYTES) {
		resp->headers_truncated = true;
		return n;
	}
	const char *v = colon + 1, *end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	ALLOC_GROW(resp->headers, resp->nheaders + 1, x->headers_alloc);
	struct http_header *h = &resp->headers[resp->nheaders++];
	h->name = xstrndup(data, (size_t)(colon - data));
	h->value = xstrndup(v, (size_t)(end - v));
	resp->header_bytes += len;
	return n;
}

/* ---- one attempt --------------------------------------------------------- */

/* Forget what a failed attempt left in the response, keeping the count. */
static void reset_response(struct xfer *x)
{
	struct http_response *r = &x->resp;
	int attempts = r->attempts;
	sb_reset(&r->body);
	free_headers(r);
	x->headers_alloc = 0;
	struct strbuf body = r->body;
	memset(r, 0, sizeof(*r));
	r->body = body;
	r->attempts = attempts;
	x->errbuf[0] = '\0';
	x->retry_after_s = 0;
}

#define SET(opt, val)                                   \
	do {                                            \
		if (rc == CURLE_OK)                     \
			rc = CURL_API->easy_setopt(e, opt, val); \
	} while (0)

static CURLcode setup(CURL *e, struct xfer *x)
{
	const struct http_request *req = &x->req;
	CURLcode rc = CURLE_OK;

	SET(CURLOPT_URL, x->url);
	SET(CURLOPT_PRIVATE, (void *)x);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
	SET(CURLOPT_HTTPHEADER, x->slist);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)x);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (req->follow_redirects) {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
	}
	if (req->tls_insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (x->ca_file)
		SET(CURLOPT_CAINFO, x->ca_file);

	const char *method = x->method ? x->method : x->body ? "POST" : "GET";
	if (!strcmp(method, "HEAD")) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (x->body || !strcmp(method, "POST")) {
		SET(CURLOPT_POSTFIELDS, x->body ? (const char *)x->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(x->body ? x->req.body_len : 0));
		if (strcmp(method, "POST"))
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
	return rc;
}

#undef SET

static double us_to_ms(curl_off_t us)
{
	return us > 0 ? (double)us / 1000.0 : 0.0;
}

static curl_off_t info_time(CURL *e, CURLINFO what)
{
	curl_off_t t = 0;
	if (CURL_API->easy_getinfo(e, what, &t) != CURLE_OK || t < 0)
		t = 0;
	return t;
}

/* The part of a URL naming the host, for messages. */
static void url_host(const char *url, char *out, size_t n)
{
	snprintf(out, n, "%s", url);
	CURLU *u = CURL_API->url();
	char *host = NULL;
	if (u && CURL_API->url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    CURL_API->url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		snprintf(out, n, "%s", host);
	CURL_API->free(host);
	CURL_API->url_cleanup(u);
}

/*
 * Split libcurl's cumulative stamps into phases. Phase i ends at stamp i
 * (the transfer phase at the total). Phases up to the last stamp reached
 * get their share (0 if skipped, like TLS on plain http), the next phase
 * gets the rest of the time (the one a failed attempt died in, or the
 * body transfer), later ones 0: so the phases always add up to total.
 */
/* How far an attempt got, for the message when it timed out. */
enum stage { CONNECTING, HANDSHAKING, WAITING, READING };

static enum stage set_timings(struct xfer *x, CURL *e, bool tcp_up)
{
	bool tls = !strncasecmp(x->url, "https:", 6);
	curl_off_t stamp[4] = {
		info_time(e, CURLINFO_NAMELOOKUP_TIME_T),
		info_time(e, CURLINFO_CONNECT_TIME_T),
		tls ? info_time(e, CURLINFO_APPCONNECT_TIME_T) : 0,
		info_time(e, CURLINFO_STARTTRANSFER_TIME_T),
	};
	curl_off_t pretransfer = info_time(e, CURLINFO_PRETRANSFER_TIME_T);
	curl_off_t total = info_time(e, CURLINFO_TOTAL_TIME_T);
	double *phase[5] = { &x->resp.dns_ms, &x->resp.connect_ms, &x->resp.tls_ms,
			     &x->resp.first_byte_ms, &x->resp.transfer_ms };
	int last = -1;
	for (int i = 0; i < 4; i++)
		if (stamp[i] > 0)
			last = i;
	/*
	 * Newer libcurl stamps the connect only once TLS is up too; a known
	 * peer address still shows that TCP got through, so a stall in the
	 * handshake is charged to tls (connect_ms is then unknown, left 0).
	 */
	if (tls && tcp_up && last < 1)
		last = 1;
	curl_off_t prev = 0;
	for (int i = 0; i < 5; i++) {
		if (i == 2 && !tls)
			continue;
		if (i > last) {
			*phase[i] = us_to_ms(total - prev);
			break;
		}
		curl_off_t end = stamp[i] > prev ? stamp[i] : prev;
		*phase[i] = us_to_ms(end - prev);
		prev = end;
	}
	x->resp.total_ms = us_to_ms(total);
	if (stamp[3] > 0)
		return READING;
	if (pretransfer > 0 || last >= (tls ? 2 : 1))
		return WAITING;
	return tls && last >= 1 ? HANDSHAKING : CONNECTING;
}

static void describe(struct xfer *x, CURLcode rc, long os_errno, enum stage stage)
{
	char *out = x->resp.error;
	size_t n = sizeof(x->resp.error);
	const char *detail = x->errbuf[0] ? x->errbuf : CURL_API->easy_strerror(rc);
	char host[256];

	switch (rc) {
	case CURLE_OK:
		out[0] = '\0';
		break;
	case CURLE_COULDNT_CONNECT:
		if (os_errno == ECONNREFUSED)
			snprintf(out, n, "connection refused");
		else if (os_errno)
			snprintf(out, n, "cannot connect: %s", strerror((int)os_errno));
		else
			snprintf(out, n, "cannot connect: %s", detail);
		break;
	case CURLE_OPERATION_TIMEDOUT: {
		/* The connect timeout covers the TLS handshake too. */
		long t = x->req.timeout_ms;
		if (stage <= HANDSHAKING && x->req.connect_timeout_ms < t)
			t = x->req.connect_timeout_ms;
		snprintf(out, n, "timed out after %ld ms %s", t,
			 stage == CONNECTING    ? "connecting"
			 : stage == HANDSHAKING ? "in the TLS handshake"
			 : stage == WAITING     ? "waiting for the response"
						: "reading the response");
		break;
	}
	case CURLE_COULDNT_RESOLVE_HOST:
		url_host(x->url, host, sizeof(host));
		snprintf(out, n, "cannot resolve host '%s'", host);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(out, n, "TLS certificate verify failed: %s", detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(out, n, "TLS handshake failed: %s", detail);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(out, n, "cannot read CA file '%s'", x->ca_file ? x->ca_file : "");
		break;
	case CURLE_GOT_NOTHING:
		snprintf(out, n, "server closed the connection without a response");
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		snprintf(out, n, "connection lost %s: %s",
			 rc == CURLE_SEND_ERROR ? "sending the request" : "receiving the response",
			 os_errno ? strerror((int)os_errno) : detail);
		break;
	case CURLE_PARTIAL_FILE:
		snprintf(out, n, "connection closed before the whole body arrived");
		break;
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(out, n, "too many redirects (more than %d)", HTTP_MAX_REDIRECTS);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(out, n, "unsupported protocol in '%s' (only http and https)", x->url);
		break;
	case CURLE_URL_MALFORMAT:
		snprintf(out, n, "malformed url '%s'", x->url);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		snprintf(out, n, "invalid HTTP response: %s", detail);
		break;
	default:
		snprintf(out, n, "%s (curl error %d)", detail, (int)rc);
		break;
	}
}

/* Read everything the finished attempt on e tells about itself. */
static void collect(struct xfer *x, CURL *e, CURLcode rc)
{
	long status = 0, os_errno = 0, port = 0;
	char *ip = NULL;
	curl_off_t retry_after = 0;

	CURL_API->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	CURL_API->easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
	CURL_API->easy_getinfo(e, CURLINFO_PRIMARY_PORT, &port);
	if (CURL_API->easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
		snprintf(x->resp.remote_ip, sizeof(x->resp.remote_ip), "%s", ip);
	if (CURL_API->easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
		x->retry_after_s = retry_after > LONG_MAX / 1000 ? LONG_MAX / 1000 : (long)retry_after;
	x->resp.status = status;
	x->resp.remote_port = port;
	x->resp.curl_code = (int)rc;
	enum stage stage = set_timings(x, e, x->resp.remote_ip[0] != '\0');
	describe(x, rc, os_errno, stage);
}

static void deliver(struct xfer *x, http_done_fn *cb)
{
	x->resp.elapsed_ms = (double)(mono_ns() - x->first_ns) / 1e6;
	if (cb)
		cb(&x->req, &x->resp, x->req.user);
	xfer_free(x);
}

/* ---- the timer heap of retries ------------------------------------------ */

static void heap_swap(struct http_client *c, size_t i, size_t j)
{
	struct xfer *t = c->timers[i];
	c->timers[i] = c->timers[j];
	c->timers[j] = t;
}

static void heap_push(struct http_client *c, struct xfer *x)
{
	ALLOC_GROW(c->timers, c->ntimers + 1, c->timers_alloc);
	size_t i = c->ntimers++;
	c->timers[i] = x;
	while (i > 0 && c->timers[(i - 1) / 2]->due_ns > c->timers[i]->due_ns) {
		heap_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct xfer *heap_pop(struct http_client *c)
{
	struct xfer *top = c->timers[0];
	c->timers[0] = c->timers[--c->ntimers];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->ntimers && c->timers[l]->due_ns < c->timers[m]->due_ns)
			m = l;
		if (r < c->ntimers && c->timers[r]->due_ns < c->timers[m]->due_ns)
			m = r;
		if (m == i)
			break;
		heap_swap(c, i, m);
		i = m;
	}
	return top;
}

/* ---- the client ---------------------------------------------------------- */

struct http_client *http_client_new(int max_concurrency)
{
	global_init();
	struct http_client *c = xcalloc(1, sizeof(*c));
	c->max = max_concurrency < 1 ? 1 : max_concurrency;
	c->multi = CURL_API->multi_init();
	if (!c->multi)
		die("cannot create a curl multi handle");
	CURL_API->multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->max);
	c->easy = xcalloc((size_t)c->max, sizeof(*c->easy));
	c->slot = xcalloc((size_t)c->max, sizeof(*c->slot));
	c->free_slots = xcalloc((size_t)c->max, sizeof(*c->free_slots));
	for (int i = 0; i < c->max; i++)
		c->free_slots[i] = c->max - 1 - i;
	c->nfree = c->max;
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->max; i++) {
		if (c->slot[i]) {
			CURL_API->multi_remove_handle(c->multi, c->easy[i]);
			xfer_free(c->slot[i]);
		}
	}
	while (c->head) {
		struct xfer *x = c->head;
		c->head = x->next;
		xfer_free(x);
	}
	for (size_t i = 0; i < c->ntimers; i++)
		xfer_free(c->timers[i]);
	CURL_API->multi_cleanup(c->multi);
	for (int i = 0; i < c->max; i++)
		if (c->easy[i])
			CURL_API->easy_cleanup(c->easy[i]);
	free(c->easy);
	free(c->slot);
	free(c->free_slots);
	free(c->timers);
	free(c);
}

int http_pending(const struct http_client *c)
{
	return c->nqueued + (c->max - c->nfree) + (int)c->ntimers;
}

int http_add(struct http_client *c, const struct http_request *req, struct strbuf *err)
{
	if (validate(req, err) < 0)
		return -1;
	struct xfer *x = xfer_new(req);
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->nqueued++;
	return 0;
}

static struct xfer *queue_pop(struct http_client *c)
{
	struct xfer *x = c->head;
	c->head = x->next;
	if (!c->head)
		c->tail = NULL;
	x->next = NULL;
	c->nqueued--;
	return x;
}

/* Give the slot of x back, its easy handle reset for the next user. */
static void release_slot(struct http_client *c, struct xfer *x, bool in_multi)
{
	int i = x->slot;
	CURL *e = c->easy[i];
	if (in_multi) {
		CURLMcode mc = CURL_API->multi_remove_handle(c->multi, e);
		if (mc != CURLM_OK)
			die("cannot remove a curl transfer: %s", CURL_API->multi_strerror(mc));
	}
	CURL_API->easy_reset(e);
	c->slot[i] = NULL;
	c->free_slots[c->nfree++] = i;
	x->slot = -1;
}

/* An attempt of x ended with rc: retry it later or hand it over. */
static void finish_attempt(struct http_client *c, struct xfer *x, CURLcode rc, bool in_multi,
			   http_done_fn *cb)
{
	if (in_multi)
		collect(x, c->easy[x->slot], rc);
	release_slot(c, x, in_multi);
	const struct http_retry *r = &x->req.retry;
	if (x->resp.attempts < r->max_attempts && http_retryable(x->resp.curl_code, x->resp.status)) {
		long wait = http_backoff_ms(r, x->resp.attempts - 1);
		if (x->retry_after_s > 0 && (x->resp.status == 429 || x->resp.status == 503)) {
			long cap = r->cap_ms > 0 ? r->cap_ms : 0;
			wait = x->retry_after_s > cap / 1000 ? cap : x->retry_after_s * 1000;
		}
		x->due_ns = mono_ns() + (int64_t)wait * 1000000;
		heap_push(c, x);
		return;
	}
	deliver(x, cb);
}

static void start(struct http_client *c, struct xfer *x, http_done_fn *cb)
{
	int i = c->free_slots[--c->nfree];
	if (!c->easy[i] && !(c->easy[i] = CURL_API->easy_init()))
		die("cannot create a curl handle");
	c->slot[i] = x;
	x->slot = i;
	reset_response(x);
	x->resp.attempts++;
	if (x->resp.attempts == 1)
		x->first_ns = mono_ns();
	CURLcode rc = setup(c->easy[i], x);
	if (rc != CURLE_OK) {
		x->resp.curl_code = (int)rc;
		snprintf(x->resp.error, sizeof(x->resp.error), "cannot set up the transfer: %s",
			 CURL_API->easy_strerror(rc));
		finish_attempt(c, x, rc, false, cb);
		return;
	}
	CURLMcode mc = CURL_API->multi_add_handle(c->multi, c->easy[i]);
	if (mc != CURLM_OK)
		die("cannot start a curl transfer: %s", CURL_API->multi_strerror(mc));
}

/* Start due retries, then new requests, while slots are free. */
static void start_ready(struct http_client *c, http_done_fn *cb)
{
	int64_t now = mono_ns();
	while (c->nfree > 0) {
		if (c->ntimers && c->timers[0]->due_ns <= now)
			start(c, heap_pop(c), cb);
		else if (c->head)
			start(c, queue_pop(c), cb);
		else
			break;
	}
}

static void reap(struct http_client *c, http_done_fn *cb)
{
	CURLMsg *m;
	int left;
	while ((m = CURL_API->multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		char *priv = NULL;
		CURL_API->easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		struct xfer *x = (struct xfer *)(void *)priv;
		if (!x || x->slot < 0 || c->easy[x->slot] != e)
			die("curl reported a transfer this client does not know");
		finish_attempt(c, x, rc, true, cb);
	}
}

int http_run_for(struct http_client *c, long max_ms, http_done_fn *cb)
{
	if (c->running)
		die("http_run_for called from its own callback");
	c->running = true;
	if (max_ms > INT_MAX)
		max_ms = INT_MAX;
	int64_t deadline = mono_ns() + (max_ms > 0 ? (int64_t)max_ms * 1000000 : 0);
	for (;;) {
		start_ready(c, cb);
		int still;
		CURLMcode mc = CURL_API->multi_perform(c->multi, &still);
		if (mc != CURLM_OK)
			die("curl transfer machinery failed: %s", CURL_API->multi_strerror(mc));
		reap(c, cb);
		if (!http_pending(c))
			break;
		int64_t now = mono_ns();
		if (now >= deadline)
			break;
		if (c->nfree && (c->head || (c->ntimers && c->timers[0]->due_ns <= now)))
			continue;
		int64_t wait = deadline - now;
		if (c->ntimers && c->timers[0]->due_ns - now < wait)
			wait = c->timers[0]->due_ns - now;
		wait = (wait + 999999) / 1000000;
		mc = CURL_API->multi_poll(c->multi, NULL, 0, wait > INT_MAX ? INT_MAX : (int)wait, NULL);
		if (mc != CURLM_OK)
			die("curl transfer machinery failed: %s", CURL_API->multi_strerror(mc));
	}
	c->running = false;
	return http_pending(c);
}

void http_run(struct http_client *c, http_done_fn *cb)
{
	while (http_run_for(c, 60000, cb) > 0)
		;
}

static void take_response(const struct http_request *req, struct http_response *resp, void *user)
{
	struct http_response *out = user;
	*out = *resp;
	http_response_init(resp);
}

int http_do(const struct http_request *req, struct http_response *resp)
{
	http_response_init(resp);
	struct strbuf err = SB_INIT;
	if (validate(req, &err) < 0) {
		resp->curl_code = CURLE_BAD_FUNCTION_ARGUMENT;
		snprintf(resp->error, sizeof(resp->error), "%s", err.buf);
		sb_release(&err);
		return -1;
	}
	struct http_request r = *req;
	r.user = resp;
	struct http_client *c = http_client_new(1);
	if (http_add(c, &r, &err) < 0)
		die("http_do: %s", err.buf); /* validated above */
	http_run(c, take_response);
	http_client_free(c);
	sb_release(&err);
	return resp->curl_code == CURLE_OK && resp->status > 0 ? 0 : -1;
}
