/*
 * httpd.h: a small single-threaded HTTP/1.1 server for ofs tools that
 * must listen and for the example shop's services.
 *
 * One poll(2) loop serves every connection: sockets are non-blocking,
 * output is buffered per connection and written as the peer accepts it,
 * and timers in the same loop drive delayed responses and timeouts, so a
 * slow or silent client never holds up another. Requests are parsed by
 * httpparse.h (which shares the httpd_ prefix); a handler fills in a
 * response; the server adds Content-Length, Date and, when it will close,
 * "Connection: close". Pipelined requests are answered one at a time, in
 * order. Parser errors get a short text/plain answer with the parser's
 * status (400, 413, 414, 431, 501, 505) and the connection is closed.
 *
 * Protection: at most max_conns connections (beyond that the listening
 * socket is left unpolled, so new clients wait in the kernel's backlog);
 * a keep-alive connection idle for idle_timeout_ms is closed; a request
 * that has not fully arrived read_timeout_ms after its first byte gets 408
 * and the connection is closed (slowloris); a peer that stops reading for
 * read_timeout_ms is dropped. Sends use MSG_NOSIGNAL, so SIGPIPE never
 * fires here.
 */
#ifndef OFS_HTTPD_H
#define OFS_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "httpparse.h"
#include "strbuf.h"

#define HTTPD_DEFAULT_MAX_CONNS 1024
#define HTTPD_DEFAULT_IDLE_TIMEOUT_MS 5000
#define HTTPD_DEFAULT_READ_TIMEOUT_MS 10000

struct httpd;

/*
 * What a handler answers. The server resets it before each call: status
 * 200, no headers, empty body, no delay, hang and close false.
 */
struct httpd_response {
	int status;            /* 200..599; anything else becomes 500 */
	struct strbuf headers; /* "Name: value\r\n" lines; add with httpd_response_header */
	struct strbuf body;    /* not sent for HEAD, 204 and 304 */
	int delay_ms;          /* > 0: send the response this much later (other connections go on) */
	bool hang;             /* never answer; keep the connection until the client leaves */
	bool close;            /* close the connection after this response */
};

/*
 * The handler: called once per complete request. req (and its strings and
 * body, which it may take with sb_detach) is valid only during the call.
 * It may call httpd_stop.
 */
typedef void httpd_handler_fn(struct httpd_request *req, struct httpd_response *resp,
			      void *user);

/* One access-log entry, valid only during the log callback. */
struct httpd_log_entry {
	const char *peer;   /* client "addr:port" */
	const char *method; /* "" when the request line never parsed */
	const char *path;   /* still percent-encoded; "" as for method */
	int status;         /* status sent; 0 for a hung request */
	double duration_ms; /* first byte of the request to last byte of the response */
	size_t bytes_in;    /* request bytes taken by the parser */
	size_t bytes_out;   /* response bytes written, head included */
	bool aborted;       /* the connection ended before the response was fully sent */
};

/*
 * Called after each response is fully written, or once the connection
 * ends if it never was (aborted; a hang always ends so). Not called for
 * connections still open at httpd_free, nor for idle connections closed
 * without a request.
 */
typedef void httpd_log_fn(const struct httpd_log_entry *e, void *user);

/* Server settings; zero fields take the defaults. */
struct httpd_config {
	const char *bind_addr;      /* numeric address or host name; NULL: "127.0.0.1" */
	int port;                   /* 0: any free port (see httpd_port) */
	int max_conns;              /* 0: HTTPD_DEFAULT_MAX_CONNS */
	int idle_timeout_ms;        /* 0: HTTPD_DEFAULT_IDLE_TIMEOUT_MS */
	int read_timeout_ms;        /* 0: HTTPD_DEFAULT_READ_TIMEOUT_MS */
	struct httpd_limits limits; /* request limits (httpparse.h defaults) */
	httpd_handler_fn *handler;  /* required */
	void *user;                 /* passed to handler */
	httpd_log_fn *log;          /* optional access log */
	void *log_user;             /* passed to log */
};

/*
 * httpd_new: bind and listen (SO_REUSEADDR, non-blocking, close-on-exec).
 * cfg is copied. Returns the server, or NULL with a message appended to
 * err (which may be NULL): cannot listen on '127.0.0.1:8080': Address
 * already in use. Free with httpd_free.
 */
struct httpd *httpd_new(const struct httpd_config *cfg, struct strbuf *err);

/* httpd_port: the port actually bound (useful after port 0). */
int httpd_port(const struct httpd *srv);

/* httpd_nconns: connections currently open. */
size_t httpd_nconns(const struct httpd *srv);

/*
 * httpd_run: serve until httpd_stop is called, then return 0 (open
 * connections stay open; httpd_run may be called again). Returns -1 with
 * errno set if poll(2) fails for a reason other than EINTR.
 */
int httpd_run(struct httpd *srv);

/*
 * httpd_run_once: wait at most timeout_ms (-1: until something happens;
 * 0: not at all) for activity, then handle it and any due timers. For
 * embedding in another loop. Returns 1 if httpd_stop was called since the
 * last time it returned 1, 0 otherwise, -1 with errno set on poll failure.
 */
int httpd_run_once(struct httpd *srv, int timeout_ms);

/*
 * httpd_stop: ask httpd_run to return. Async-signal-safe (sets a flag and
 * writes to a self-pipe, keeping errno), so a SIGTERM handler may call it;
 * also callable from the request handler.
 */
void httpd_stop(struct httpd *srv);

/* httpd_free: close every connection and the listening socket; NULL is a no-op. */
void httpd_free(struct httpd *srv);

/*
 * httpd_response_header: add "name: value" to resp. Returns -1 (adding
 * nothing) if name is not a token, value holds a control character other
 * than tab, or name is one the server writes itself (Content-Length,
 * Transfer-Encoding, Connection, Date): use resp->close to close.
 */
int httpd_response_header(struct httpd_response *resp, const char *name, const char *value);

/* httpd_reason: the reason phrase of status ("Not Found"), "Unknown" if none. */
const char *httpd_reason(int status);

#endif
