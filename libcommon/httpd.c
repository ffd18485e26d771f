/*
 * httpd.c: the single-threaded poll(2) HTTP/1.1 server (see httpd.h).
 *
 * Each connection is a small state machine:
 *   READ   feeding received bytes to the parser (idle or read timeout)
 *   WRITE  a response is buffered; written as the socket accepts it
 *   DELAY  a response is buffered but held until its send time
 *   HANG   the handler chose never to answer; wait for the client to go
 *   LINGER we are closing: our side is shut, unread input is discarded
 *          for a moment so the client sees the response and not a reset
 * One request is handled at a time per connection; pipelined requests
 * wait, already read, in the connection's input buffer and are parsed
 * once the previous response is out, which keeps answers in order and
 * output bounded. Every wait (idle, read, write stall, delay, linger)
 * is a deadline that bounds the poll timeout, so there are no threads and
 * no signals. httpd_stop sets a flag and writes a byte to a self-pipe,
 * which wakes poll; both are async-signal-safe.
 */
#include "common.h"
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "httpd.h"

#define READ_CHUNK (64 * 1024)
#define IN_CAP (64 * 1024)   /* unparsed input held while a response is pending */
#define IN_KEEP 4096         /* larger idle input buffers are freed */
#define LINGER_MS 2000
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 100  /* after EMFILE and the like */

enum conn_state { CS_READ, CS_WRITE, CS_DELAY, CS_HANG, CS_LINGER };

struct conn {
	int fd;
	enum conn_state state;
	bool rd_eof;       /* the client sends nothing more */
	bool close_after;  /* close once the response is written */
	bool dead;         /* closed; freed at the end of the round */
	bool continue_sent;
	bool log_pending;  /* a request awaits its access-log entry */
	struct httpd_parser parser;
	struct strbuf in;
	size_t in_off;     /* bytes of in already parsed */
	struct strbuf out;
	size_t out_off;    /* bytes of out already written */
	int64_t idle_since;   /* ms: accept or end of the last response */
	int64_t write_since;  /* ms: entering WRITE or last write progress */
	int64_t send_at;      /* ms: when a DELAY ends */
	int64_t linger_since; /* ms */
	int64_t req_start_ns;
	size_t bytes_in;
	int resp_status;
	size_t resp_begin;    /* offset of the current response in out */
	size_t resp_len;
	char peer[INET6_ADDRSTRLEN + 24]; /* "[addr]:port" */
};

struct httpd {
	struct httpd_config cfg;
	char *bind_addr;
	int lfd;
	int port;
	int pipe[2];
	volatile sig_atomic_t stop;
	struct conn **conns;
	size_t nconns, conns_alloc;
	struct pollfd *pfds;
	struct conn **pconn; /* the connection of each pfds entry (NULL for pipe, listener) */
	size_t pfds_alloc, pconn_alloc;
	int64_t accept_pause_until;
	struct httpd_response resp;
	char scratch[READ_CHUNK]; /* every recv lands here first */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static void set_err(struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct strbuf *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
}

const char *httpd_reason(int status)
{
	static const struct {
		int status;
		const char *text;
	} reasons[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 412, "Precondition Failed" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 425, "Too Early" }, { 428, "Precondition Required" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("!#$%&'*+-.^_`|~", c))))
			return false;
	}
	return true;
}

int httpd_response_header(struct httpd_response *resp, const char *name, const char *value)
{
	static const char *const reserved[] = { "Content-Length", "Transfer-Encoding", "Connection",
						"Date" };
	if (!is_token(name))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return -1;
	for (const char *v = value; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	sb_addf(&resp->headers, "%s: %s\r\n", name, value);
	return 0;
}

static void add_date(struct strbuf *sb)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return;
	sb_addf(sb, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday % 7],
		tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		tm.tm_sec);
}

/* ---- server set-up ------------------------------------------------------ */

static void format_addr(char *buf, size_t cap, const struct sockaddr *sa, socklen_t len)
{
	char host[INET6_ADDRSTRLEN], serv[16];
	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, cap, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, cap, "[%s]:%s", host, serv);
	else
		snprintf(buf, cap, "%s:%s", host, serv);
}

struct httpd *httpd_new(const struct httpd_config *cfg, struct strbuf *err)
{
	if (!cfg->handler) {
		set_err(err, "no request handler given");
		return NULL;
	}
	if (cfg->port < 0 || cfg->port > 65535) {
		set_err(err, "invalid port '%d': must be 0..65535", cfg->port);
		return NULL;
	}
	const char *addr = cfg->bind_addr ? cfg->bind_addr : "127.0.0.1";
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", cfg->port);
	char where[300];
	snprintf(where, sizeof(where), strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, cfg->port);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(addr, portstr, &hints, &res);
	if (gai != 0) {
		set_err(err, "cannot resolve bind address '%s': %s", addr,
			gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return NULL;
	}
	int fd = -1, e = EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		set_err(err, "cannot listen on '%s': %s", where, strerror(e));
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		set_err(err, "cannot get the address of '%s': %s", where, strerror(errno));
		close(fd);
		return NULL;
	}
	struct httpd *srv = xcalloc(1, sizeof(*srv));
	if (pipe2(srv->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		set_err(err, "cannot create a pipe: %s", strerror(errno));
		close(fd);
		free(srv);
		return NULL;
	}
	srv->cfg = *cfg;
	srv->bind_addr = xstrdup(addr);
	srv->cfg.bind_addr = srv->bind_addr;
	if (srv->cfg.max_conns <= 0)
		srv->cfg.max_conns = HTTPD_DEFAULT_MAX_CONNS;
	if (srv->cfg.idle_timeout_ms <= 0)
		srv->cfg.idle_timeout_ms = HTTPD_DEFAULT_IDLE_TIMEOUT_MS;
	if (srv->cfg.read_timeout_ms <= 0)
		srv->cfg.read_timeout_ms = HTTPD_DEFAULT_READ_TIMEOUT_MS;
	srv->lfd = fd;
	srv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	sb_init(&srv->resp.headers, 0);
	sb_init(&srv->resp.body, 0);
	return srv;
}

int httpd_port(const struct httpd *srv)
{
	return srv->port;
}

size_t httpd_nconns(const struct httpd *srv)
{
	size_t n = 0;
	for (size_t i = 0; i < srv->nconns; i++)
		n += !srv->conns[i]->dead;
	return n;
}

void httpd_stop(struct httpd *srv)
{
	int e = errno;
	srv->stop = 1;
	ssize_t w = write(srv->pipe[1], "x", 1);
	(void)w; /* a full pipe already wakes poll */
	errno = e;
}

static void conn_free(struct conn *c)
{
	httpd_parser_release(&c->parser);
	sb_release(&c->in);
	sb_release(&c->out);
	free(c);
}

void httpd_free(struct httpd *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < srv->nconns; i++) {
		if (!srv->conns[i]->dead)
			close(srv->conns[i]->fd);
		conn_free(srv->conns[i]);
	}
	free(srv->conns);
	free(srv->pfds);
	free(srv->pconn);
	close(srv->lfd);
	close(srv->pipe[0]);
	close(srv->pipe[1]);
	sb_release(&srv->resp.headers);
	sb_release(&srv->resp.body);
	free(srv->bind_addr);
	free(srv);
}

/* ---- connections -------------------------------------------------------- */

static void conn_log(struct httpd *srv, struct conn *c, bool aborted)
{
	if (!c->log_pending)
		return;
	c->log_pending = false;
	if (!srv->cfg.log)
		return;
	struct httpd_log_entry e;
	memset(&e, 0, sizeof(e));
	e.peer = c->peer;
	e.method = c->parser.req.method;
	e.path = c->parser.req.path;
	e.status = c->resp_status;
	e.duration_ms = (double)(now_ns() - c->req_start_ns) / 1e6;
	e.bytes_in = c->bytes_in;
	e.aborted = aborted;
	if (!aborted)
		e.bytes_out = c->resp_len;
	else if (c->out_off > c->resp_begin)
		e.bytes_out = c->out_off - c->resp_begin < c->resp_len ? c->out_off - c->resp_begin
								     : c->resp_len;
	srv->cfg.log(&e, srv->cfg.log_user);
}

static void conn_end(struct httpd *srv, struct conn *c)
{
	if (c->dead)
		return;
	conn_log(srv, c, true);
	close(c->fd);
	c->dead = true;
}

/* Buffer a complete response in c->out. */
static void queue_response(struct conn *c, int status, const struct strbuf *headers,
			   const struct strbuf *body, bool head, bool close, int version)
{
	bool no_body = status == 204 || status == 304;
	c->resp_begin = c->out.len;
	c->resp_status = status;
	sb_addf(&c->out, "HTTP/1.1 %d %s\r\n", status, httpd_reason(status));
	add_date(&c->out);
	sb_add(&c->out, headers->buf, headers->len);
	if (!no_body)
		sb_addf(&c->out, "Content-Length: %zu\r\n", body->len);
	if (close)
		sb_addstr(&c->out, "Connection: close\r\n");
	else if (version == 10)
		sb_addstr(&c->out, "Connection: keep-alive\r\n");
	sb_addstr(&c->out, "\r\n");
	if (!head && !no_body)
		sb_add(&c->out, body->buf, body->len);
	c->resp_len = c->out.len - c->resp_begin;
	c->close_after = close;
	c->write_since = now_ms();
}

/* Answer an error ourselves and close afterwards. */
static void conn_fail(struct conn *c, int status, const char *why)
{
	struct strbuf headers = SB_INIT, body = SB_INIT;
	sb_addstr(&headers, "Content-Type: text/plain; charset=utf-8\r\n");
	sb_addf(&body, "%s\n", why);
	queue_response(c, status, &headers, &body, false, true, 11);
	sb_release(&headers);
	sb_release(&body);
	c->log_pending = true;
	c->state = CS_WRITE;
	sb_release(&c->in);
	c->in_off = 0;
}

static void conn_dispatch(struct httpd *srv, struct conn *c)
{
	struct httpd_request *req = &c->parser.req;
	struct httpd_response *resp = &srv->resp;
	req->peer = c->peer;
	resp->status = 200;
	sb_reset(&resp->headers);
	sb_reset(&resp->body);
	resp->delay_ms = 0;
	resp->hang = resp->close = false;
	srv->cfg.handler(req, resp, srv->cfg.user);
	c->log_pending = true;
	if (resp->hang) {
		c->state = CS_HANG;
		c->resp_status = 0;
		c->resp_begin = c->out.len;
		c->resp_len = 0;
		sb_release(&c->in);
		c->in_off = 0;
	} else {
		int status = resp->status;
		if (status < 200 || status > 599) {
			status = 500;
			sb_reset(&resp->headers);
			sb_reset(&resp->body);
			sb_addstr(&resp->body, "handler set an invalid status\n");
		}
		queue_response(c, status, &resp->headers, &resp->body,
			       strcmp(req->method, "HEAD") == 0, resp->close || !req->keep_alive,
			       req->version);
		if (resp->delay_ms > 0) {
			c->state = CS_DELAY;
			/* now_ms floors: one more ms so the delay is never short. */
			c->send_at = now_ms() + resp->delay_ms + 1;
		} else {
			c->state = CS_WRITE;
		}
	}
	if (resp->body.alloc > READ_CHUNK)
		sb_release(&resp->body);
}

/* Write what the socket takes; the connection may end. */
static void conn_flush(struct httpd *srv, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->write_since = now_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_end(srv, c);
		return;
	}
	if (c->out.alloc > IN_KEEP)
		sb_release(&c->out);
	else
		sb_reset(&c->out);
	c->out_off = 0;
	c->resp_begin = 0;
}

static void conn_read(struct httpd *srv, struct conn *c)
{
	if (c->state == CS_HANG || c->state == CS_LINGER) {
		for (int k = 0; k < 16; k++) { /* discard, a bounded amount per round */
			ssize_t n = recv(c->fd, srv->scratch, sizeof(srv->scratch), 0);
			if (n > 0)
				continue;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			conn_end(srv, c); /* the client left */
			return;
		}
		return;
	}
	ssize_t n = recv(c->fd, srv->scratch, sizeof(srv->scratch), 0);
	if (n > 0) {
		if (c->in_off > 0) { /* drop what was parsed */
			memmove(c->in.buf, c->in.buf + c->in_off, c->in.len - c->in_off);
			sb_setlen(&c->in, c->in.len - c->in_off);
			c->in_off = 0;
		}
		sb_add(&c->in, srv->scratch, (size_t)n);
	} else if (n == 0) {
		c->rd_eof = true;
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_end(srv, c);
	}
}

/* The response is out and we close: shut our side, drain theirs briefly. */
static void conn_linger(struct httpd *srv, struct conn *c)
{
	if (c->rd_eof || shutdown(c->fd, SHUT_WR) != 0) {
		conn_end(srv, c);
		return;
	}
	c->state = CS_LINGER;
	c->linger_since = now_ms();
	sb_release(&c->in);
	c->in_off = 0;
}

/* Tell a client waiting on "Expect: 100-continue" to send its body. */
static void maybe_continue(struct conn *c)
{
	struct httpd_parser *p = &c->parser;
	if (p->head_done && p->req.expect_continue && p->req.version == 11 && !c->continue_sent) {
		sb_addstr(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		c->continue_sent = true;
	}
}

/* Make all the progress possible without waiting. */
static void conn_advance(struct httpd *srv, struct conn *c)
{
	while (!c->dead) {
		switch (c->state) {
		case CS_READ:
			if (c->in_off < c->in.len) {
				if (!c->parser.started) {
					c->req_start_ns = now_ns();
					c->bytes_in = 0;
					c->continue_sent = false;
				}
				size_t used = 0;
				int r = httpd_parser_feed(&c->parser, c->in.buf + c->in_off,
							  c->in.len - c->in_off, &used);
				c->in_off += used;
				c->bytes_in += used;
				if (c->in_off == c->in.len) {
					if (c->in.alloc > IN_KEEP)
						sb_release(&c->in);
					else
						sb_reset(&c->in);
					c->in_off = 0;
				}
				if (r == HTTPD_PARSE_DONE) {
					conn_dispatch(srv, c);
					continue;
				}
				if (r == HTTPD_PARSE_ERROR) {
					conn_fail(c, c->parser.status, c->parser.error);
					continue;
				}
				maybe_continue(c);
			}
			if (c->rd_eof) {
				conn_end(srv, c);
				return;
			}
			if (c->out_off < c->out.len)
				conn_flush(srv, c);
			return;
		case CS_WRITE:
			conn_flush(srv, c);
			if (c->dead || c->out_off < c->out.len)
				return;
			conn_log(srv, c, false);
			httpd_parser_reset(&c->parser);
			c->idle_since = now_ms();
			if (c->close_after) {
				conn_linger(srv, c);
				return;
			}
			c->state = CS_READ;
			continue;
		case CS_DELAY:
		case CS_HANG:
		case CS_LINGER:
			return;
		}
	}
}

/* When the connection's current wait ends, in ms; -1 for never. */
static int64_t conn_deadline(const struct httpd *srv, const struct conn *c)
{
	switch (c->state) {
	case CS_READ:
		if (c->parser.started)
			return c->req_start_ns / 1000000 + srv->cfg.read_timeout_ms;
		return c->idle_since + srv->cfg.idle_timeout_ms;
	case CS_WRITE:
		return c->write_since + srv->cfg.read_timeout_ms;
	case CS_DELAY:
		return c->send_at;
	case CS_LINGER:
		return c->linger_since +
		       (srv->cfg.read_timeout_ms < LINGER_MS ? srv->cfg.read_timeout_ms : LINGER_MS);
	case CS_HANG:
		break;
	}
	return -1;
}

static void conn_timeout(struct httpd *srv, struct conn *c)
{
	switch (c->state) {
	case CS_READ:
		if (c->parser.started)
			conn_fail(c, 408, "request not received in time");
		else
			conn_end(srv, c);
		break;
	case CS_DELAY:
		c->state = CS_WRITE;
		c->write_since = now_ms();
		break;
	case CS_WRITE:
	case CS_LINGER:
		conn_end(srv, c);
		break;
	case CS_HANG:
		break;
	}
	conn_advance(srv, c);
}

static short conn_events(const struct conn *c)
{
	bool room = !c->rd_eof && c->in.len - c->in_off < IN_CAP;
	switch (c->state) {
	case CS_READ:
		return (short)((c->rd_eof ? 0 : POLLIN) | (c->out_off < c->out.len ? POLLOUT : 0));
	case CS_WRITE:
		return (short)((room ? POLLIN : 0) | POLLOUT);
	case CS_DELAY:
		return room ? POLLIN : 0;
	case CS_HANG:
	case CS_LINGER:
		return POLLIN;
	}
	return 0;
}

static void do_accept(struct httpd *srv)
{
	for (int k = 0; k < ACCEPT_BATCH && (int)srv->nconns < srv->cfg.max_conns; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(srv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				srv->accept_pause_until = now_ms() + ACCEPT_PAUSE_MS;
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->state = CS_READ;
		httpd_parser_init(&c->parser, &srv->cfg.limits);
		sb_init(&c->in, 0);
		sb_init(&c->out, 0);
		c->idle_since = now_ms();
		format_addr(c->peer, sizeof(c->peer), (struct sockaddr *)&ss, sl);
		ALLOC_GROW(srv->conns, srv->nconns + 1, srv->conns_alloc);
		srv->conns[srv->nconns++] = c;
	}
}

static int take_stop(struct httpd *srv)
{
	char buf[64];
	while (read(srv->pipe[0], buf, sizeof(buf)) > 0)
		;
	srv->stop = 0;
	return 1;
}

/* Free the connections that ended this round. */
static void sweep(struct httpd *srv)
{
	size_t j = 0;
	for (size_t i = 0; i < srv->nconns; i++) {
		if (srv->conns[i]->dead)
			conn_free(srv->conns[i]);
		else
			srv->conns[j++] = srv->conns[i];
	}
	srv->nconns = j;
}

int httpd_run_once(struct httpd *srv, int timeout_ms)
{
	if (srv->stop)
		return take_stop(srv);
	int64_t now = now_ms();
	ALLOC_GROW(srv->pfds, srv->nconns + 2, srv->pfds_alloc);
	ALLOC_GROW(srv->pconn, srv->nconns + 2, srv->pconn_alloc);
	size_t n = 0;
	int64_t due = -1;
	srv->pfds[n] = (struct pollfd){ .fd = srv->pipe[0], .events = POLLIN };
	srv->pconn[n++] = NULL;
	if ((int)srv->nconns < srv->cfg.max_conns) {
		if (now >= srv->accept_pause_until) {
			srv->pfds[n] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
			srv->pconn[n++] = NULL;
		} else {
			due = srv->accept_pause_until;
		}
	}
	size_t first_conn = n;
	for (size_t i = 0; i < srv->nconns; i++) {
		struct conn *c = srv->conns[i];
		int64_t d = conn_deadline(srv, c);
		if (d >= 0 && (due < 0 || d < due))
			due = d;
		srv->pfds[n] = (struct pollfd){ .fd = c->fd, .events = conn_events(c) };
		srv->pconn[n++] = c;
	}
	int wait = timeout_ms;
	if (due >= 0) {
		int64_t left = due > now ? due - now : 0;
		if (left > INT_MAX)
			left = INT_MAX;
		if (wait < 0 || left < wait)
			wait = (int)left;
	}
	/* The self-pipe (pfds[0]) only wakes poll; srv->stop is checked at the end. */
	int ready = poll(srv->pfds, (nfds_t)n, wait);
	if (ready < 0 && errno != EINTR)
		return -1;
	if (ready > 0) {
		if (first_conn == 2 && (srv->pfds[1].revents & POLLIN))
			do_accept(srv);
		for (size_t i = first_conn; i < n; i++) {
			struct conn *c = srv->pconn[i];
			short re = srv->pfds[i].revents;
			if (!re || c->dead)
				continue;
			if (re & (POLLERR | POLLNVAL)) {
				conn_end(srv, c);
				continue;
			}
			if (re & (POLLIN | POLLHUP)) {
				if (srv->pfds[i].events & POLLIN) {
					conn_read(srv, c);
				} else if (re & POLLHUP) {
					conn_end(srv, c);
					continue;
				}
			}
			if (!c->dead && (re & POLLOUT) && c->state != CS_DELAY)
				conn_flush(srv, c);
			conn_advance(srv, c);
		}
	}
	now = now_ms();
	for (size_t i = 0; i < srv->nconns; i++) {
		struct conn *c = srv->conns[i];
		if (c->dead)
			continue;
		int64_t d = conn_deadline(srv, c);
		if (d >= 0 && now >= d)
			conn_timeout(srv, c);
	}
	sweep(srv);
	if (srv->stop)
		return take_stop(srv);
	return 0;
}

int httpd_run(struct httpd *srv)
{
	for (;;) {
		int r = httpd_run_once(srv, -1);
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
	}
}
